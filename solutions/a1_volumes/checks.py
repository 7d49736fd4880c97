"""Hidden checks for assignment 1 (volumes and shapes).

Trusted: this file stays in solutions/ and never enters the grading sandbox.
Each case generator draws fresh geometries from the grader's ``rng``; the
references are the library's shape formulas (or, for the activation map, a
direct slicing implementation of the notes' definition).

Exercises 3 and 6 are built on earlier ones (``conv_output_size``, and for 6 also
``conv_layer_shapes``). Their cases carry the earlier functions' answers for exactly
the geometries of the case (``output_sizes``, ``layer_shapes``), computed here, and
their hidden cells let those answers stand in for the student's earlier functions
(``autograder.kernel.stand_in``): a mistake in exercise 2 costs exercise 2's points only.
"""

import numpy as np

from autograder.checks import Check
from autograder.questions import question
from convlab import shapes

__all__ = ["CHECKS"]


# --- exercise 1: one activation map in the notes' depth-last notation -------------------------

def activation_map_cases(rng):
    """Depth-last volumes X (H, W, D) and one filter W (FH, FW, D); every geometry tiles."""
    geometries = [  # (H, W, D, FH, FW, S)
        (11, 11, 4, 5, 5, 2),  # the notes' worked example
        (9, 13, 3, 3, 5, 2),
        (10, 7, 2, 4, 1, 3),
        (8, 6, 5, 2, 3, 1),
        (7, 10, 1, 1, 4, 3),
        (6, 9, 3, 2, 3, 2),
    ]
    for H, W, D, FH, FW, S in geometries:
        yield dict(X=rng.standard_normal((H, W, D)), W=rng.standard_normal((FH, FW, D)),
                   b=float(rng.standard_normal()), stride=S)


def activation_map_reference(X, W, b, stride):
    FH, FW, _ = W.shape
    H2 = (X.shape[0] - FH) // stride + 1
    W2 = (X.shape[1] - FW) // stride + 1
    V = np.empty((H2, W2))
    for i in range(H2):
        for j in range(W2):
            window = X[i * stride:i * stride + FH, j * stride:j * stride + FW, :]  # (FH, FW, D)
            V[i, j] = np.sum(window * W) + b
    return V


# --- exercise 2: output size, raising on invalid settings -------------------------------------

_NOTES_SIZES = [  # (size, kernel, stride, pad): the lecture notes' numbers, valid and invalid
    (7, 3, 1, 0), (7, 3, 2, 0), (5, 3, 1, 1), (5, 3, 2, 1), (5, 3, 3, 1), (10, 3, 2, 0),
    (227, 11, 4, 0), (224, 11, 4, 0), (6, 8, 1, 0), (4, 7, 1, 1),
]


def _random_valid_geometry(rng):
    """(size, kernel, stride, pad) drawn so that the filter tiles the padded input."""
    while True:
        kernel, stride = int(rng.integers(1, 8)), int(rng.integers(1, 4))
        pad, out = int(rng.integers(0, 4)), int(rng.integers(1, 9))
        size = (out - 1) * stride + kernel - 2 * pad
        if size >= 1:
            return size, kernel, stride, pad


def conv_output_size_cases(rng):
    for size, kernel, stride, pad in _NOTES_SIZES:
        yield dict(size=size, kernel=kernel, stride=stride, pad=pad)
    for _ in range(8):
        size, kernel, stride, pad = _random_valid_geometry(rng)
        yield dict(size=size, kernel=kernel, stride=stride, pad=pad)
    for _ in range(4):  # off the grid by 1..S-1 pixels: does not tile
        size, kernel, _, pad = _random_valid_geometry(rng)
        stride = int(rng.integers(2, 4))
        yield dict(size=size + int(rng.integers(1, stride)), kernel=kernel, stride=stride, pad=pad)


def conv_output_size_reference(size, kernel, stride, pad):
    return shapes.conv_output_size(size, kernel, stride=stride, pad=pad)


# --- exercise 3: filter and output shapes of a conv layer -------------------------------------

def _output_size_rows(*geometries):
    """``conv_output_size`` for each (size, kernel, stride, pad), as int rows
    ``(size, kernel, stride, pad, out)`` with ``out = -1`` where the setting is invalid (raises)."""
    rows = []
    for geometry in dict.fromkeys(geometries):  # each geometry once, in order
        try:
            out = shapes.conv_output_size(*geometry[:2], stride=geometry[2], pad=geometry[3])
        except ValueError:
            out = -1
        rows.append((*geometry, out))
    return np.array(rows, dtype=np.int64)


def _with_output_sizes(case):
    """``case`` plus the output sizes its two spatial axes need (what stands in for exercise 2)."""
    (H, W, _), kernel = case["input_shape"], case["kernel"]
    FH, FW = (kernel, kernel) if isinstance(kernel, int) else kernel
    S, P = case["stride"], case["pad"]
    return dict(case, output_sizes=_output_size_rows((H, FH, S, P), (W, FW, S, P)))


def conv_layer_shapes_cases(rng):
    for _ in range(6):
        h, fh, s, p = _random_valid_geometry(rng)
        out_h = (h - fh + 2 * p) // s + 1
        fw = int(rng.integers(1, 8))
        out_w = out_h + int(rng.integers(1, 4))  # W != H
        w = (out_w - 1) * s + fw - 2 * p
        if w < 1:
            fw, p_w = fh, p
            w = (out_w - 1) * s + fw - 2 * p_w
        depth, filters = int(rng.integers(1, 33)), int(rng.integers(1, 65))
        kernel = fh if fh == fw else (fh, fw)
        yield _with_output_sizes(dict(input_shape=(h, w, depth), num_filters=filters, kernel=kernel, stride=s,
                                      pad=p))
    yield _with_output_sizes(dict(input_shape=(227, 227, 3), num_filters=96, kernel=11, stride=4, pad=0))
    yield _with_output_sizes(dict(input_shape=(32, 32, 3), num_filters=12, kernel=(5, 3), stride=1,
                                  pad=2))  # 32 x 34: fine
    yield _with_output_sizes(dict(input_shape=(224, 224, 3), num_filters=96, kernel=11, stride=4,
                                  pad=0))  # invalid


def conv_layer_shapes_reference(input_shape, num_filters, kernel, stride, pad, output_sizes=None):
    H, W, D = input_shape
    FH, FW = (kernel, kernel) if isinstance(kernel, int) else kernel
    H2 = shapes.conv_output_size(H, FH, stride=stride, pad=pad)
    W2 = shapes.conv_output_size(W, FW, stride=stride, pad=pad)
    return ((FH, FW, D), (H2, W2, num_filters))


# --- exercise 4: padding modes ----------------------------------------------------------------

def padding_cases(rng):
    for mode in ("valid", "same", "full"):
        for kernel in rng.choice(np.arange(1, 10, 2), size=2, replace=False):
            yield dict(mode=mode, kernel=int(kernel))
    yield dict(mode="full", kernel=int(rng.choice([2, 4, 6])))
    yield dict(mode="valid", kernel=int(rng.choice([2, 4, 6])))
    yield dict(mode="same", kernel=int(rng.choice([2, 4, 6])))  # even: no symmetric 'same' pad
    yield dict(mode="circular", kernel=3)  # unknown mode


def padding_reference(mode, kernel):
    return shapes.padding_for_mode(mode, kernel)


# --- exercise 5: dilation ---------------------------------------------------------------------

def effective_kernel_cases(rng):
    yield dict(kernel=3, dilation=1)
    yield dict(kernel=3, dilation=2)
    yield dict(kernel=1, dilation=3)
    for _ in range(5):
        yield dict(kernel=int(rng.integers(2, 8)), dilation=int(rng.integers(2, 6)))


def effective_kernel_reference(kernel, dilation):
    return shapes.effective_kernel_size(kernel, dilation)


# --- exercise 6: parameters with and without sharing ------------------------------------------

def _with_layer_shapes(case):
    """``case`` plus what stands in for exercises 2 and 3: the output sizes of its two axes and
    ``layer_shapes = (FH, FW, D, H2, W2, K)``, the answer of ``conv_layer_shapes`` for its layer."""
    case = _with_output_sizes(case)
    filter_shape, output_shape = conv_layer_shapes_reference(**case)
    return dict(case, layer_shapes=tuple(int(v) for v in filter_shape + output_shape))


def param_count_cases(rng):
    yield _with_layer_shapes(dict(input_shape=(227, 227, 3), num_filters=96, kernel=11, stride=4, pad=0))
    for _ in range(5):
        h, f, s, p = _random_valid_geometry(rng)
        w = h + s * int(rng.integers(1, 4))  # still tiles, W != H
        kernel = f if rng.random() < 0.5 else (f, f)
        yield _with_layer_shapes(dict(input_shape=(h, w, int(rng.integers(1, 17))),
                                      num_filters=int(rng.integers(1, 33)), kernel=kernel, stride=s, pad=p))


def param_count_reference(input_shape, num_filters, kernel, stride, pad, output_sizes=None, layer_shapes=None):
    H, W, D = input_shape
    FH, FW = (kernel, kernel) if isinstance(kernel, int) else kernel
    H2 = shapes.conv_output_size(H, FH, stride=stride, pad=pad)
    W2 = shapes.conv_output_size(W, FW, stride=stride, pad=pad)
    shared = shapes.conv_param_count((FH, FW), D, num_filters)
    unshared = shapes.locally_connected_param_count(H2, W2, (FH, FW), D, num_filters)
    return (shared, unshared)


# --- exercise 7: receptive field of a stack ---------------------------------------------------

def receptive_field_cases(rng):
    yield dict(kernels=(3, 3), strides=(1, 1))
    yield dict(kernels=(3, 3, 3), strides=(1, 1, 1))
    for _ in range(6):
        n = int(rng.integers(2, 6))
        yield dict(kernels=tuple(int(k) for k in rng.integers(1, 8, size=n)),
                   strides=tuple(int(s) for s in rng.integers(1, 4, size=n)))


def receptive_field_reference(kernels, strides):
    return shapes.receptive_field(list(kernels), list(strides))


# tiling_fixes / tiling_hint say whether a setting tiles: the validation half of conv_output_size
_SHAPE_FORMULAS = ["convlab.shapes.conv_output_size", "convlab.shapes.pool_output_size",
                   "convlab.shapes.tiling_fixes", "convlab.shapes.tiling_hint"]

CHECKS = [
    Check(name="activation_map", grade_id="activation_map_hidden", cases=activation_map_cases,
          reference=activation_map_reference, rtol=1e-7, atol=1e-9,
          withhold=["convlab.layers.conv_forward_naive", "convlab.layers.conv_forward"]),
    Check(name="conv_output_size", grade_id="conv_output_size_hidden", cases=conv_output_size_cases,
          reference=conv_output_size_reference, rtol=0, atol=0, withhold=_SHAPE_FORMULAS),
    Check(name="conv_layer_shapes", grade_id="conv_layer_shapes_hidden", cases=conv_layer_shapes_cases,
          reference=conv_layer_shapes_reference, rtol=0, atol=0, withhold=_SHAPE_FORMULAS),
    Check(name="padding_for_mode", grade_id="padding_for_mode_hidden", cases=padding_cases,
          reference=padding_reference, rtol=0, atol=0,
          withhold=["convlab.shapes.padding_for_mode", "convlab.shapes.same_padding",
                    "convlab.shapes.full_padding"]),
    Check(name="effective_kernel_size", grade_id="effective_kernel_size_hidden", cases=effective_kernel_cases,
          reference=effective_kernel_reference, rtol=0, atol=0,
          withhold=["convlab.shapes.effective_kernel_size"]),
    Check(name="conv_param_counts", grade_id="conv_param_counts_hidden", cases=param_count_cases,
          reference=param_count_reference, rtol=0, atol=0,
          withhold=["convlab.shapes.conv_param_count", "convlab.shapes.locally_connected_param_count",
                    *_SHAPE_FORMULAS]),
    Check(name="stacked_receptive_field", grade_id="receptive_field_hidden", cases=receptive_field_cases,
          reference=receptive_field_reference, rtol=0, atol=0,
          withhold=["convlab.shapes.receptive_field"]),
]

# Exercise 8: check your understanding (autograder.questions: one fixed case each)
CHECKS += [
    question("q_tiles", "q_tiles_hidden", "ACE", choices="ABCDE"),
    question("q_layer_params", "q_layer_params_hidden", 12_832),
    question("q_output_depth", "q_output_depth_hidden", 32),
    question("q_receptive_field", "q_receptive_field_hidden", 13),
]
