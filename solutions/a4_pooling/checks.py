"""Hidden checks of assignment 4 (pooling): fresh random inputs, references from convlab.layers.

Geometries cover non-overlapping (F=S) and overlapping (F>S) windows, non-square windows,
H != W, strides 1, 2 and 3, and one window that does not tile its input (ValueError expected).
All inputs are continuous standard normals in float64, so max-pool windows have no ties.

Each backward pass is judged on its own: its hidden cell builds the cache in the layout the
notebook documents, from case entries computed here (the max-pool switches, the L2 outputs),
never with the student's forward pass; the max-pool forward check judges the switches it
returns instead. ``discarded_fraction`` gets the right max-pool forward pass standing in for
the student's (``autograder.kernel.stand_in``); it still runs the student's backward pass, so
its verdict names exercise 2 when that failed too.
"""

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab.layers import (avg_pool_backward, avg_pool_forward, l2_pool_backward, l2_pool_forward,
                            max_pool_backward, max_pool_forward)
from convlab.shapes import pool_output_size

__all__ = ["CHECKS"]

# (N, C, H, W, (PH, PW), stride)
VALID_GEOMETRIES = [
    (2, 3, 8, 6, (2, 2), 2),    # the usual 2x2/2, H != W
    (2, 2, 7, 9, (3, 3), 2),    # overlapping 3x3/2
    (1, 3, 7, 8, (3, 2), 1),    # non-square window, stride 1, heavy overlap
    (2, 2, 8, 11, (2, 3), 2),   # non-square window, W overlaps only
    (1, 2, 10, 7, (4, 1), 3),   # tall window, stride 3
    (2, 3, 6, 9, (3, 3), 3),    # non-overlapping 3x3/3
]
INVALID_GEOMETRIES = [
    (1, 2, 10, 10, (3, 3), 2),  # (10 - 3)/2 + 1 = 4.5
    (1, 1, 6, 9, (2, 4), 2),    # H fine, W: (9 - 4)/2 + 1 = 3.5
]

MAX_WITHHELD = ["convlab.layers.max_pool_forward", "convlab.layers.max_pool_backward"]
AVG_WITHHELD = ["convlab.layers.avg_pool_forward", "convlab.layers.avg_pool_backward"]
L2_WITHHELD = ["convlab.layers.l2_pool_forward", "convlab.layers.l2_pool_backward"]
ALL_POOL_WITHHELD = MAX_WITHHELD + AVG_WITHHELD + L2_WITHHELD


def forward_cases(rng):
    """Valid geometries, then the invalid ones (the reference raises ValueError there)."""
    for N, C, H, W, size, stride in VALID_GEOMETRIES + INVALID_GEOMETRIES:
        yield dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=stride)


def backward_cases(rng):
    """Valid geometries with an upstream gradient of the output's shape (average pooling's cache,
    ``(x.shape, size, stride)``, is built from these entries)."""
    for N, C, H, W, size, stride in VALID_GEOMETRIES:
        Ho, Wo = pool_output_size(H, size[0], stride), pool_output_size(W, size[1], stride)
        yield dict(x=rng.standard_normal((N, C, H, W)), dout=rng.standard_normal((N, C, Ho, Wo)),
                   size=size, stride=stride)


def _switches(x, size, stride):
    """The switches of the right max-pool forward pass: row-major winner index per window, int64."""
    return np.asarray(max_pool_forward(x, size=size, stride=stride)[1].switches, dtype=np.int64)


def max_backward_cases(rng):
    """``backward_cases`` plus ``switches`` for the documented cache ``MaxPoolCache(x.shape, size,
    stride, switches)``."""
    for case in backward_cases(rng):
        yield dict(case, switches=_switches(case["x"], case["size"], case["stride"]))


def l2_backward_cases(rng):
    """``backward_cases`` plus ``out`` for the documented cache ``(x, out, size, stride)``."""
    for case in backward_cases(rng):
        yield dict(case, out=l2_forward_ref(case["x"], case["size"], case["stride"]))


def discarded_cases(rng):
    """Larger slices so the fraction is not a coincidence of a tiny input; ``out`` and ``switches``
    are the right max-pool forward pass on ``x`` (what stands in for exercise 1)."""
    for N, C, H, W, size, stride in [(2, 3, 12, 10, (2, 2), 2), (2, 2, 13, 11, (3, 3), 2),
                                     (1, 3, 9, 14, (3, 2), 1), (2, 2, 10, 13, (4, 1), 3)]:
        x = rng.standard_normal((N, C, H, W))
        yield dict(x=x, size=size, stride=stride, out=max_forward_ref(x, size, stride)[0],
                   switches=_switches(x, size, stride))


def as_conv_cases(rng):
    """A few fixed channel counts and windows, then random ones drawn from the grader's seed."""
    for C, size in [(3, (2, 2)), (2, (3, 2)), (4, (1, 3))]:
        yield dict(C=C, size=size)
    for _ in range(3):
        yield dict(C=int(rng.integers(1, 7)), size=(int(rng.integers(1, 5)), int(rng.integers(1, 5))))


def max_forward_ref(x, size, stride):
    """The output and the switches (the forward pass's cache is judged: the backward pass gets the
    right switches in its own check)."""
    return max_pool_forward(x, size=size, stride=stride)[0], _switches(x, size, stride)


def max_backward_ref(x, dout, size, stride, switches):
    return max_pool_backward(dout, max_pool_forward(x, size=size, stride=stride)[1])


def avg_forward_ref(x, size, stride):
    return avg_pool_forward(x, size=size, stride=stride)[0]


def avg_backward_ref(x, dout, size, stride):
    return avg_pool_backward(dout, avg_pool_forward(x, size=size, stride=stride)[1])


def l2_forward_ref(x, size, stride):
    return l2_pool_forward(x, size=size, stride=stride)[0]


def l2_backward_ref(x, dout, size, stride, out):
    return l2_pool_backward(dout, l2_pool_forward(x, size=size, stride=stride)[1])


def discarded_ref(x, size, stride, out, switches):
    out, cache = max_pool_forward(x, size=size, stride=stride)
    return float(np.mean(max_pool_backward(np.ones_like(out), cache) == 0))


def as_conv_ref(C, size):
    w = np.zeros((C, C) + tuple(size))
    w[np.arange(C), np.arange(C)] = 1.0 / (size[0] * size[1])
    return w, np.zeros(C)


# the forward pass shares its cell with the backward pass (8 + 6 cases): 7/30 of the forward's share
# makes invalid settings worth 2 of the cell's 15 points, as the notebook says
VALIDATION_SHARE_OF_PAIR = 7 / 30

CHECKS = [
    Check(name="max_pool_forward", grade_id="max_pool_forward_hidden", cases=forward_cases,
          reference=max_forward_ref, withhold=MAX_WITHHELD),
    Check(name="max_pool_backward", grade_id="max_pool_backward_hidden", cases=max_backward_cases,
          reference=max_backward_ref, withhold=MAX_WITHHELD),
    Check(name="avg_pool_forward", grade_id="avg_pool_hidden", cases=forward_cases,
          reference=avg_forward_ref, withhold=AVG_WITHHELD, raise_share=VALIDATION_SHARE_OF_PAIR),
    Check(name="avg_pool_backward", grade_id="avg_pool_hidden", cases=backward_cases,
          reference=avg_backward_ref, withhold=AVG_WITHHELD),
    Check(name="l2_pool_forward", grade_id="l2_pool_hidden", cases=forward_cases,
          reference=l2_forward_ref, withhold=L2_WITHHELD, raise_share=VALIDATION_SHARE_OF_PAIR),
    Check(name="l2_pool_backward", grade_id="l2_pool_hidden", cases=l2_backward_cases,
          reference=l2_backward_ref, withhold=L2_WITHHELD),
    Check(name="discarded_fraction", grade_id="discarded_fraction_hidden", cases=discarded_cases,
          reference=discarded_ref, rtol=0, atol=1e-12, withhold=MAX_WITHHELD,
          depends_on={"max_pool_backward": "max_pool_backward (exercise 2)"}),
    Check(name="avg_pool_as_conv", grade_id="avg_pool_as_conv_hidden", cases=as_conv_cases,
          reference=as_conv_ref, withhold=AVG_WITHHELD),
]

# Exercise 7: check your understanding (autograder.questions: one fixed case each)
CHECKS += [
    question("q_pool_values", "q_pool_values_hidden", 9_216),
    question("q_pool_params", "q_pool_params_hidden", 0),
    question("q_dx_nonzero", "q_dx_nonzero_hidden", 9),
    question("q_overlap_gradient", "q_overlap_gradient_hidden", "C", choices="ABCD"),
]
