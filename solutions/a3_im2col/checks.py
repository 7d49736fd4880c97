"""Hidden checks of assignment 3 (im2col): fresh random float64 inputs, references from convlab.

Geometries cover non-square filters, H != W, strides 1, 2 and 3, padding 0, 1 and 2, overlapping and
non-overlapping receptive fields, and settings that do not tile the input (ValueError expected).

The convolution and pooling cells are judged without the student's ``im2col`` (exercise 1): their
valid cases carry the right column matrix (``X_col``, ``cols``), computed here, which stands in for
the student's ``im2col`` on exactly the call the case needs (``autograder.kernel.stand_in``), and
the backward cell builds the documented cache ``(x.shape, w, stride, pad, X_col)`` from the case
instead of running the student's forward pass. The backward pass still calls the student's
``col2im`` (its answer for that call would be ``dx`` itself), so its verdict names exercise 2 when
``col2im`` failed too.
"""

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab.layers import col2im, conv_backward_naive, conv_forward_naive, im2col, max_pool_forward
from convlab.shapes import conv_output_size

__all__ = ["CHECKS"]

# (N, C, H, W, FH, FW, stride, pad)
VALID_GEOMETRIES = [
    (2, 3, 7, 10, 3, 2, 2, 2),
    (2, 2, 8, 5, 3, 3, 1, 0),   # pad 0 with overlapping fields
    (1, 3, 9, 7, 1, 3, 2, 2),
    (2, 2, 10, 8, 4, 2, 3, 0),  # stride 3, pad 0
    (2, 3, 5, 9, 3, 3, 2, 2),
    (1, 2, 12, 7, 2, 5, 2, 1),
    (2, 1, 6, 11, 2, 4, 3, 1),
]
INVALID_GEOMETRIES = [
    (1, 2, 10, 10, 3, 3, 2, 0),  # (10 - 3)/2 + 1 = 4.5
    (1, 2, 11, 6, 3, 2, 3, 2),   # W: (6 - 2 + 4)/3 + 1 is not an integer
]
NUM_FILTERS = [4, 3, 2, 3, 2, 3, 4]

# (N, C, H, W, (PH, PW), stride): same window set as assignment 4
POOL_GEOMETRIES = [
    (2, 3, 8, 6, (2, 2), 2), (2, 2, 7, 9, (3, 3), 2), (1, 3, 7, 8, (3, 2), 1),
    (2, 2, 8, 11, (2, 3), 2), (1, 2, 10, 7, (4, 1), 3), (1, 2, 10, 10, (3, 3), 2),
]

CONV_WITHHELD = ["convlab.layers.conv_forward", "convlab.layers.conv_forward_naive"]
CONV_BACK_WITHHELD = CONV_WITHHELD + ["convlab.layers.conv_backward", "convlab.layers.conv_backward_naive"]


def _out_hw(H, W, FH, FW, stride, pad):
    return conv_output_size(H, FH, stride, pad), conv_output_size(W, FW, stride, pad)


def im2col_cases(rng):
    for N, C, H, W, FH, FW, S, P in VALID_GEOMETRIES + INVALID_GEOMETRIES:
        yield dict(x=rng.standard_normal((N, C, H, W)), FH=FH, FW=FW, stride=S, pad=P)


def col2im_cases(rng):
    for N, C, H, W, FH, FW, S, P in VALID_GEOMETRIES:
        Ho, Wo = _out_hw(H, W, FH, FW, S, P)
        yield dict(cols=rng.standard_normal((C * FH * FW, N * Ho * Wo)), x_shape=(N, C, H, W),
                   FH=FH, FW=FW, stride=S, pad=P)


def _with_columns(case, FH, FW):
    """``case`` plus ``X_col``: the right ``im2col`` of its input (what stands in for exercise 1)."""
    return dict(case, X_col=im2col(case["x"], FH, FW, stride=case["stride"], pad=case["pad"]))


def conv_forward_cases(rng):
    """Valid cases carry ``X_col``; the invalid one has none (the student's own ``im2col`` answers)."""
    for (N, C, H, W, FH, FW, S, P), K in zip(VALID_GEOMETRIES, NUM_FILTERS):
        yield _with_columns(dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C, FH, FW)),
                                 b=rng.standard_normal(K), stride=S, pad=P), FH, FW)
    N, C, H, W, FH, FW, S, P = INVALID_GEOMETRIES[0]
    yield dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((2, C, FH, FW)),
               b=rng.standard_normal(2), stride=S, pad=P)


def conv_backward_cases(rng):
    for (N, C, H, W, FH, FW, S, P), K in zip(VALID_GEOMETRIES, NUM_FILTERS):
        Ho, Wo = _out_hw(H, W, FH, FW, S, P)
        yield _with_columns(dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C, FH, FW)),
                                 b=rng.standard_normal(K), dout=rng.standard_normal((N, K, Ho, Wo)), stride=S,
                                 pad=P), FH, FW)


def size_cases(rng):
    """The fixed geometries, the notes' AlexNet layer, and random valid geometries."""
    for N, C, H, W, FH, FW, S, P in VALID_GEOMETRIES + INVALID_GEOMETRIES:
        yield dict(x_shape=(N, C, H, W), FH=FH, FW=FW, stride=S, pad=P)
    yield dict(x_shape=(16, 3, 227, 227), FH=11, FW=11, stride=4, pad=0)
    for _ in range(6):
        FH, FW = (int(v) for v in rng.integers(1, 6, size=2))
        S, P = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        Ho, Wo = (int(v) for v in rng.integers(1, 40, size=2))
        H, W = (Ho - 1) * S + FH - 2 * P, (Wo - 1) * S + FW - 2 * P
        if H < 1 or W < 1:
            H, W, P = (Ho - 1) * S + FH, (Wo - 1) * S + FW, 0
        yield dict(x_shape=(int(rng.integers(1, 65)), int(rng.integers(1, 257)), H, W),
                   FH=FH, FW=FW, stride=S, pad=P)


def pool_cases(rng):
    """Valid cases carry ``cols``, the right ``im2col`` of the slices as single-channel images
    (``x.reshape(N*C, 1, H, W)``, the exercise's route); the invalid one has none."""
    for N, C, H, W, size, S in POOL_GEOMETRIES:
        case = dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=S)
        try:
            case["cols"] = im2col(case["x"].reshape(N * C, 1, H, W), *size, stride=S)
        except ValueError:
            pass
        yield case


def im2col_ref(x, FH, FW, stride, pad):
    return im2col(x, FH, FW, stride=stride, pad=pad)


def col2im_ref(cols, x_shape, FH, FW, stride, pad):
    return col2im(cols, x_shape, FH, FW, stride=stride, pad=pad)


def conv_forward_ref(x, w, b, stride, pad, X_col=None):
    return conv_forward_naive(x, w, b, stride=stride, pad=pad)[0]


def conv_backward_ref(x, w, b, dout, stride, pad, X_col):
    return conv_backward_naive(dout, conv_forward_naive(x, w, b, stride=stride, pad=pad)[1])


def size_ref(x_shape, FH, FW, stride, pad):
    N, C, H, W = x_shape
    Ho, Wo = _out_hw(H, W, FH, FW, stride, pad)
    rows, columns = C * FH * FW, N * Ho * Wo
    return rows, columns, rows * columns / (N * C * H * W)


def pool_ref(x, size, stride, cols=None):
    return max_pool_forward(x, size=size, stride=stride)[0]


CHECKS = [
    Check(name="im2col", grade_id="im2col_hidden", cases=im2col_cases, reference=im2col_ref,
          withhold=["convlab.layers.im2col"]),
    Check(name="col2im", grade_id="col2im_hidden", cases=col2im_cases, reference=col2im_ref,
          withhold=["convlab.layers.col2im"]),
    Check(name="conv_forward_im2col", grade_id="conv_forward_im2col_hidden", cases=conv_forward_cases,
          reference=conv_forward_ref, withhold=CONV_WITHHELD),
    Check(name="conv_backward_im2col", grade_id="conv_backward_im2col_hidden", cases=conv_backward_cases,
          reference=conv_backward_ref, withhold=CONV_BACK_WITHHELD, depends_on={"col2im": "col2im (exercise 2)"}),
    Check(name="column_matrix_size", grade_id="column_matrix_size_hidden", cases=size_cases,
          reference=size_ref, rtol=1e-12, atol=0),
    Check(name="max_pool_im2col", grade_id="max_pool_im2col_hidden", cases=pool_cases, reference=pool_ref,
          withhold=["convlab.layers.max_pool_forward"]),
]

# Exercise 7: check your understanding (autograder.questions: one fixed case each)
CHECKS += [
    question("q_col_entries", "q_col_entries_hidden", 614_400),
    question("q_duplication", "q_duplication_hidden", 6912 / 3267, rel_tol=0.005),
    question("q_col2im_overlap", "q_col2im_overlap_hidden", "B", choices="ABCD"),
    question("q_fft_filters", "q_fft_filters_hidden", "C", choices="ABC"),
]
