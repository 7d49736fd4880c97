"""Diagnosis of assignment 3 (im2col): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a3_im2col/checks.py``); the visible
tests' own examples carry the tag ``"visible"``. References are the library's functions
(``convlab.layers.im2col``, ``col2im``, ``conv_forward_naive``, ``conv_backward_naive``,
``max_pool_forward``). The exercises built on ``im2col`` (and the backward pass on ``col2im``) are
probed with the library's function standing in, so each diagnosis names its own exercise's mistake.
"""

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import layers, shapes

__all__ = ["EXERCISES"]

_CONV = ("convlab.layers.conv_forward", "convlab.layers.conv_forward_naive")
_CONV_BACKWARD = _CONV + ("convlab.layers.conv_backward", "convlab.layers.conv_backward_naive")


def _tags(N, C, H, W, FH, FW, S, P, *extra):
    """The kinds of input a convolution geometry is (``pad!=1`` only where an exercise lists it)."""
    tags = ["stride>1" if S > 1 else "stride1", "pad>0" if P else "pad0",
            "square" if H == W and FH == FW else "nonsquare",
            "overlap" if max(FH, FW) > S else "no-overlap", *extra]
    if N > 1:
        tags.append("batch>1")
    if C > 1:
        tags.append("channels>1")
    return tuple(tags)


# --- exercise 1: im2col ---------------------------------------------------------------------------

_IM2COL = [  # (N, C, H, W, FH, FW, S, P)
    (2, 2, 6, 6, 3, 3, 1, 1), (1, 2, 7, 7, 3, 3, 2, 0), (2, 1, 5, 8, 2, 3, 1, 0), (1, 3, 8, 6, 2, 2, 2, 2),
    (2, 2, 9, 5, 3, 1, 2, 1), (1, 2, 6, 6, 2, 2, 2, 0), (1, 2, 4, 7, 2, 2, 1, 2),
]


def _im2col_probes(rng):
    grid = np.arange(12.0).reshape(1, 1, 3, 4)  # the visible tests' 3x4 image
    probes = [Probe(dict(x=grid, FH=FH, FW=FW, stride=S, pad=P),
                    ("visible", *_tags(1, 1, 3, 4, FH, FW, S, P, "pad!=1" if P != 1 else "pad1")))
              for FH, FW, S, P in [(2, 2, 1, 0), (1, 2, 2, 1)]]
    for N, C, H, W, FH, FW, S, P in _IM2COL:
        probes.append(Probe(dict(x=rng.standard_normal((N, C, H, W)), FH=FH, FW=FW, stride=S, pad=P),
                            _tags(N, C, H, W, FH, FW, S, P, "pad!=1" if P != 1 else "pad1")))
    probes.append(Probe(dict(x=rng.standard_normal((1, 2, 6, 5)).astype(np.float32), FH=3, FW=2, stride=1, pad=1),
                        _tags(1, 2, 6, 5, 3, 2, 1, 1, "pad1", "float32")))
    probes.append(Probe(dict(x=rng.standard_normal((1, 1, 9, 8)), FH=3, FW=3, stride=2, pad=0),  # W: 2.5 windows
                        ("invalid",)))
    return probes


def _taps_first(entries, got, want):
    """Rows ordered (filter row, filter column, channel) instead of (channel, row, column)."""
    C, FH, FW = entries["x"].shape[1], entries["FH"], entries["FW"]
    return np.array_equal(got, want.reshape(C, FH, FW, -1).transpose(1, 2, 0, 3).reshape(want.shape))


IM2COL = ExerciseProbes(
    cell="im2col",
    call=lambda fn, c: fn(c.x, c.FH, c.FW, stride=c.stride, pad=c.pad),
    reference=lambda c: layers.im2col(c.x, c.FH, c.FW, stride=c.stride, pad=c.pad),
    probes=_im2col_probes,
    symptoms=(Symptom("tap-order", _taps_first),),
    kinds={"pad!=1": "unless pad = 1"},
    hints={
        "stride>1": "window (i, j) starts at row i*S and column j*S of the padded input: the slice that "
                    "gathers one filter tap must step by the stride, not by 1",
        "pad!=1": "pad the input with exactly `pad` zeros on each side (0, 1, 2 ...): a fixed amount only "
                  "suits one kind of layer",
        "pad0": "with pad = 0 nothing is added around x: check the padding step and the slices taken from it",
        "nonsquare": "Ho comes from H and FH, Wo from W and FW: check which one each size and each slice uses",
        "tap-order": "row (c*FH + p)*FW + q holds channel c, filter row p, filter column q: the channel is the "
                     "slowest index, as in w.reshape(K, -1); your rows put the filter position first",
        "channels>1": "with several channels the rows go channel by channel: row (c*FH + p)*FW + q holds "
                      "channel c, tap (p, q)",
        "batch>1": "the columns go image by image: column (n*Ho + i)*Wo + j is image n, position (i, j)",
        "no-raise": "get Ho and Wo from conv_output_size, which raises ValueError when the filter does not "
                    "tile the padded input; floor division silently crops",
        "withheld": "gather the windows yourself (one strided slice per filter tap); the library's im2col is "
                    "not in the grader's copy of the library",
    },
    withhold=("convlab.layers.im2col",),
)


# --- exercise 2: col2im ---------------------------------------------------------------------------

_COL2IM = [  # (N, C, H, W, FH, FW, S, P)
    (2, 2, 6, 6, 3, 3, 1, 1), (1, 2, 7, 7, 3, 3, 2, 0), (1, 3, 6, 8, 2, 2, 2, 0), (2, 1, 6, 6, 2, 2, 2, 1),
    (1, 2, 5, 8, 2, 3, 1, 2), (2, 2, 9, 5, 3, 1, 2, 1), (1, 2, 4, 6, 1, 1, 1, 0),
]


def _col2im_probes(rng):
    probes = [Probe(dict(cols=np.ones((4, 6)), x_shape=(1, 1, 3, 4), FH=2, FW=2, stride=1, pad=0),
                    ("visible", *_tags(1, 1, 3, 4, 2, 2, 1, 0)))]
    for N, C, H, W, FH, FW, S, P in _COL2IM:
        Ho, Wo = shapes.conv_output_size(H, FH, S, P), shapes.conv_output_size(W, FW, S, P)
        probes.append(Probe(dict(cols=rng.standard_normal((C * FH * FW, N * Ho * Wo)), x_shape=(N, C, H, W),
                                 FH=FH, FW=FW, stride=S, pad=P), _tags(N, C, H, W, FH, FW, S, P)))
    return probes


COL2IM = ExerciseProbes(
    cell="col2im",
    call=lambda fn, c: fn(c.cols, c.x_shape, c.FH, c.FW, stride=c.stride, pad=c.pad),
    reference=lambda c: layers.col2im(c.cols, c.x_shape, c.FH, c.FW, stride=c.stride, pad=c.pad),
    probes=_col2im_probes,
    hints={
        "overlap": "overlapping receptive fields share input pixels: each tap's block must be added into "
                   "x_pad (+=), not written over what earlier taps put there",
        "pad0": "how do you cut the padding off x_pad when pad = 0? x_pad[:, :, 0:-0] is empty: count the "
                "slice's end from the start of the axis, not from its end",
        "pad>0": "the columns index the padded input: scatter into an (H + 2P, W + 2P) array, then drop the "
                 "P rows and columns on each side",
        "stride>1": "tap (p, q) of window (i, j) is pixel (i*S + p, j*S + q) of the padded input: step the "
                    "scatter by the stride",
        "nonsquare": "Ho comes from H and FH, Wo from W and FW: check which one each size and each slice uses",
        "withheld": "scatter the columns back yourself (one strided slice per filter tap); the library's "
                    "col2im is not in the grader's copy of the library",
    },
    withhold=("convlab.layers.col2im",),
)


# --- exercises 3 and 4: the convolution through the columns --------------------------------------

_CONV_GEOMETRIES = [  # (N, C, H, W, K, FH, FW, S, P)
    (1, 2, 6, 6, 3, 3, 3, 1, 1), (2, 2, 5, 7, 2, 3, 2, 1, 1), (3, 1, 6, 6, 2, 2, 2, 2, 0),
    (1, 3, 7, 5, 2, 3, 3, 2, 0), (2, 3, 4, 4, 4, 1, 1, 1, 0),
]


def _conv_probe(rng, N, C, H, W, K, FH, FW, S, P, dout=False):
    entries = dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C, FH, FW)),
                   b=rng.standard_normal(K), stride=S, pad=P)
    if dout:
        Ho, Wo = shapes.conv_output_size(H, FH, S, P), shapes.conv_output_size(W, FW, S, P)
        entries["dout"] = rng.standard_normal((N, K, Ho, Wo))
    return Probe(entries, _tags(N, C, H, W, FH, FW, S, P))


def _forward_probes(rng):
    probes = [_conv_probe(rng, *g) for g in _CONV_GEOMETRIES]
    invalid = _conv_probe(rng, 1, 1, 8, 9, 2, 3, 2, 2, 0)  # H: (8 - 3)/2 + 1 = 3.5 windows
    return probes + [Probe(invalid.entries, ("invalid",))]


def _bias_missing(entries, got, want):
    return np.allclose(got, want - entries["b"][None, :, None, None])


CONV_FORWARD = ExerciseProbes(
    cell="conv_forward_im2col",
    call=lambda fn, c: fn(c.x, c.w, c.b, stride=c.stride, pad=c.pad)[0],
    reference=lambda c: layers.conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad)[0],
    probes=_forward_probes,
    symptoms=(Symptom("no-bias", _bias_missing),),
    hints={
        "no-bias": "every output of filter k gets the bias b[k]: check that b reaches the product, one value "
                   "per filter row",
        "batch>1": "the product is (K, N*Ho*Wo) with the filter first: reshape it to (K, N, Ho, Wo) and then "
                   "move the image axis to the front; a plain reshape to (N, K, Ho, Wo) mixes images and "
                   "filters",
        "no-raise": "im2col (or conv_output_size) must raise ValueError when the filter does not tile the "
                    "padded input; do not compute the output size by floor division",
        "withheld": "multiply the filters as rows, w.reshape(K, -1), by your own im2col columns; the library's "
                    "convolution is not in the grader's copy of the library",
    },
    stand_ins={"im2col": layers.im2col},
    withhold=_CONV,
)


def _backward_reference(c):
    _, cache = layers.conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad)
    return layers.conv_backward_naive(c.dout, cache)


CONV_BACKWARD = ExerciseProbes(
    cell="conv_backward_im2col",
    call=lambda fn, c: fn(c.dout, (c.x.shape, c.w, c.stride, c.pad,
                                   layers.im2col(c.x, *c.w.shape[2:], stride=c.stride, pad=c.pad))),
    reference=_backward_reference,
    probes=lambda rng: [_conv_probe(rng, *g, dout=True) for g in _CONV_GEOMETRIES],
    components=("dx", "dw", "db"),
    hints={
        "batch>1": "dout is (N, K, Ho, Wo) with the image first: bring the filter axis to the front before "
                   "flattening it to (K, N*Ho*Wo), so its columns line up with those of X_col",
        "stride>1": "the column gradients go back to windows S pixels apart: let col2im scatter them with the "
                    "forward pass's stride",
        "wrong:db": "db is dout summed over the batch and both spatial axes, one number per filter",
        "wrong:dw": "dw pairs each filter's row of dout with the columns of X_col: check which operand is "
                    "transposed, and that the result is reshaped like w",
        "wrong:dx": "dx is wrong while dw and db are right: check which matrix the column gradient transposes, "
                    "and the stride and pad you hand col2im",
        "withheld": "write the three gradients as matrix products on the columns; the library's backward pass "
                    "is not in the grader's copy of the library",
    },
    stand_ins={"col2im": layers.col2im},
    rtol=1e-6, atol=1e-7,
    withhold=_CONV_BACKWARD,
)


# --- exercise 5: column_matrix_size ---------------------------------------------------------------

_SIZES = [  # (x_shape, FH, FW, S, P, visible); the last two do not tile and must raise
    ((1, 1, 3, 4), 2, 2, 1, 0, True), ((1, 3, 227, 227), 11, 11, 4, 0, True), ((1, 64, 32, 32), 3, 3, 1, 1, True),
    ((2, 3, 8, 8), 3, 3, 1, 1, False), ((4, 2, 9, 7), 3, 1, 2, 0, False), ((1, 5, 10, 12), 2, 2, 2, 0, False),
    ((3, 1, 11, 11), 5, 5, 2, 2, False), ((2, 8, 16, 16), 3, 3, 1, 0, False), ((2, 3, 9, 8), 3, 3, 2, 0, False),
    ((1, 2, 7, 7), 4, 4, 2, 1, False),
]


def _size_probes(rng):
    return [Probe(dict(x_shape=shape, FH=FH, FW=FW, stride=S, pad=P),
                  (*(["visible"] if visible else []), "stride>1" if S > 1 else "stride1", "pad>0" if P else "pad0"))
            for shape, FH, FW, S, P, visible in _SIZES]


def _column_matrix_size(c):
    N, C, H, W = c.x_shape
    Ho, Wo = shapes.conv_output_size(H, c.FH, c.stride, c.pad), shapes.conv_output_size(W, c.FW, c.stride, c.pad)
    rows, columns = C * c.FH * c.FW, N * Ho * Wo
    return rows, columns, rows * columns / (N * C * H * W)


COLUMN_MATRIX_SIZE = ExerciseProbes(
    cell="column_matrix_size",
    call=lambda fn, c: fn(c.x_shape, c.FH, c.FW, stride=c.stride, pad=c.pad),
    reference=_column_matrix_size,
    probes=_size_probes,
    components=("rows", "columns", "duplication"),
    hints={
        "pad>0": "the duplication compares X_col with x itself, N*C*H*W values: the padding zeros are not "
                 "part of the input",
        "no-raise": "take Ho and Wo from conv_output_size, which raises ValueError when the filter does not "
                    "tile the padded input; floor division silently crops",
        "hardcoded": "compute rows = C*FH*FW and the number of columns from the arguments; the visible "
                     "examples are only three settings",
    },
)


# --- exercise 6: max_pool_im2col ------------------------------------------------------------------

_POOLS = [  # (N, C, H, W, (PH, PW), S)
    (1, 3, 6, 8, (2, 2), 2), (2, 2, 6, 6, (2, 2), 2), (3, 2, 6, 8, (2, 4), 2), (2, 1, 5, 5, (3, 3), 1),
    (1, 2, 8, 7, (2, 1), 3),
]


def _pool_probes(rng):
    def tags(N, C, H, W, size, S):
        return _tags(N, C, H, W, *size, S, 0)

    probes = [Probe(dict(x=rng.standard_normal((2, 3, 7, 9)), size=3, stride=2),
                    ("visible", *tags(2, 3, 7, 9, (3, 3), 2)))]
    probes += [Probe(dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=S), tags(N, C, H, W, size, S))
               for N, C, H, W, size, S in _POOLS]
    probes.append(Probe(dict(x=rng.standard_normal((1, 2, 8, 8)), size=3, stride=2), ("invalid",)))  # 6.5 / 2
    return probes


MAX_POOL_IM2COL = ExerciseProbes(
    cell="max_pool_im2col",
    call=lambda fn, c: fn(c.x, size=c.size, stride=c.stride),
    reference=lambda c: layers.max_pool_forward(c.x, size=c.size, stride=c.stride)[0],
    probes=_pool_probes,
    hints={
        "batch>1": "x.reshape(N*C, 1, H, W) stacks the slices image by image (slice n*C + c); the columns come "
                   "out in that order, so read them back as (N, C, Ho, Wo) without reordering the slices first",
        "nonsquare": "size may be a pair (PH, PW): PH goes with H and PW with W",
        "stride>1": "hand the stride to im2col: the windows start S pixels apart",
        "no-raise": "pool_output_size (or im2col) raises ValueError when the window does not tile the input: "
                    "let it",
        "withheld": "take the maximum of each column of your im2col of the slices; the library's max pooling "
                    "is not in the grader's copy of the library",
    },
    stand_ins={"im2col": layers.im2col},
    withhold=("convlab.layers.max_pool_forward",),
)

EXERCISES = [IM2COL, COL2IM, CONV_FORWARD, CONV_BACKWARD, COLUMN_MATRIX_SIZE, MAX_POOL_IM2COL]
