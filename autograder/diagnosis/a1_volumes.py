"""Diagnosis of assignment 1 (volumes and shapes): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a1_volumes/checks.py``); the probes a
visible test also uses carry the tag ``"visible"``, so an answer that only knows those is caught.
References are the library's own functions (``convlab.shapes``, ``convlab.layers``).
"""

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import layers, shapes

__all__ = ["EXERCISES"]

_SHAPE_FORMULAS = ("convlab.shapes.conv_output_size", "convlab.shapes.pool_output_size",
                   "convlab.shapes.tiling_fixes", "convlab.shapes.tiling_hint")


def _pair(kernel):
    return (kernel, kernel) if isinstance(kernel, int) else tuple(kernel)


def _tags(*tags, stride=None, pad=None, square=None):
    out = list(tags)
    if stride is not None:
        out.append("stride>1" if stride > 1 else "stride1")
    if pad is not None:
        out.append("pad>0" if pad > 0 else "pad0")
    if square is not None:
        out.append("square" if square else "nonsquare")
    return tuple(out)


# --- exercise 1: activation_map ----------------------------------------------------------------

def _activation_map_probes(rng):
    geometries = [  # (H, W, D, FH, FW, S, visible)
        (11, 11, 4, 5, 5, 2, True), (7, 10, 2, 3, 4, 3, True),
        (6, 6, 2, 3, 3, 1, False), (9, 9, 2, 3, 3, 2, False), (5, 8, 3, 2, 3, 1, False),
        (8, 5, 1, 2, 2, 1, False), (9, 13, 3, 3, 5, 2, False),
    ]
    return [Probe(dict(X=rng.standard_normal((H, W, D)), W=rng.standard_normal((FH, FW, D)),
                       b=float(rng.standard_normal()), stride=S),
                  _tags(*(["visible"] if visible else []), stride=S, square=H == W and FH == FW))
            for H, W, D, FH, FW, S, visible in geometries]


def _activation_map_reference(c):
    FH, FW, _ = c.W.shape
    H2, W2 = (c.X.shape[0] - FH) // c.stride + 1, (c.X.shape[1] - FW) // c.stride + 1
    X = c.X[:(H2 - 1) * c.stride + FH, :(W2 - 1) * c.stride + FW]  # the rows and columns windows reach
    x = X.transpose(2, 0, 1)[None]  # (1, D, H, W)
    w = c.W.transpose(2, 0, 1)[None]  # (1, D, FH, FW)
    return layers.conv_forward_naive(x, w, np.array([c.b]), stride=c.stride)[0][0, 0]  # (H2, W2)


ACTIVATION_MAP = ExerciseProbes(
    cell="activation_map",
    call=lambda fn, c: fn(c.X, c.W, c.b, c.stride),
    reference=_activation_map_reference,
    probes=_activation_map_probes,
    hints={
        "stride>1": "window (i, j) starts at row i*S and column j*S of X, not at row i and column j",
        "nonsquare": "rows go with H = X.shape[0] and FH, columns with W = X.shape[1] and FW: check which "
                     "one each output size and each slice uses",
        "withheld": "compute each entry as sum(window * W) + b yourself; the library's convolution is not in "
                    "the grader's copy of the library",
    },
    withhold=("convlab.layers.conv_forward_naive", "convlab.layers.conv_forward"),
)


# --- exercise 2: conv_output_size --------------------------------------------------------------

def _conv_output_size_probes(rng):
    settings = [  # (size, kernel, stride, pad, visible); the invalid ones must raise
        (7, 3, 1, 0, True), (7, 3, 2, 0, True), (5, 3, 1, 1, True), (5, 3, 2, 1, True),
        (5, 3, 3, 1, True), (10, 3, 2, 0, True), (4, 7, 1, 1, True),
        (9, 3, 1, 0, False), (11, 5, 2, 1, False), (32, 3, 1, 1, False), (13, 3, 2, 0, False),
        (6, 2, 2, 0, False), (8, 4, 2, 1, False), (20, 5, 3, 0, False),
        (8, 3, 2, 0, False), (3, 6, 1, 1, False), (12, 5, 3, 2, False),
    ]
    return [Probe(dict(size=n, kernel=f, stride=s, pad=p), _tags(*(["visible"] if v else []), stride=s, pad=p))
            for n, f, s, p, v in settings]


CONV_OUTPUT_SIZE = ExerciseProbes(
    cell="conv_output_size",
    call=lambda fn, c: fn(c.size, c.kernel, stride=c.stride, pad=c.pad),
    reference=lambda c: shapes.conv_output_size(c.size, c.kernel, stride=c.stride, pad=c.pad),
    probes=_conv_output_size_probes,
    hints={
        "offset": "count the windows, not the steps between them: (W - F + 2P) / S + 1",
        "no-raise": "before dividing, check that the filter fits (W - F + 2P >= 0) and that S divides "
                    "W - F + 2P; raise ValueError when either fails",
        "hardcoded": "compute (W - F + 2P) / S + 1 from the arguments; a table of the visible examples "
                     "fails every other setting",
        "dtype": "return an int: once S divides W - F + 2P, use // instead of /",
        "pad>0": "the P zeros go on both sides: W - F + 2P",
    },
    withhold=_SHAPE_FORMULAS,
)


# --- exercise 3: conv_layer_shapes -------------------------------------------------------------

_LAYERS = [  # (input_shape, num_filters, kernel, stride, pad, visible)
    ((227, 227, 3), 96, 11, 4, 0, True), ((32, 32, 3), 12, 3, 1, 1, True), ((16, 20, 8), 5, (3, 5), 1, 0, True),
    ((10, 14, 4), 6, 3, 1, 1, False), ((9, 7, 2), 5, (3, 1), 2, 0, False), ((12, 12, 6), 4, 5, 1, 2, False),
    ((8, 8, 3), 2, 3, 1, 0, False), ((11, 9, 2), 3, (3, 5), 2, 1, False), ((224, 224, 3), 96, 11, 4, 0, False),
]


def _layer_probes(rng):
    return [Probe(dict(input_shape=shape, num_filters=k, kernel=f, stride=s, pad=p),
                  _tags(*(["visible"] if v else []), stride=s, pad=p,
                        square=shape[0] == shape[1] and isinstance(f, int)))
            for shape, k, f, s, p, v in _LAYERS]


def _layer_shapes(input_shape, num_filters, kernel, stride=1, pad=0):
    """The library's answer to exercise 3 (and what stands in for it in exercise 6)."""
    H, W, D = input_shape
    FH, FW = _pair(kernel)
    H2 = shapes.conv_output_size(H, FH, stride=stride, pad=pad)
    W2 = shapes.conv_output_size(W, FW, stride=stride, pad=pad)
    return (FH, FW, D), (H2, W2, num_filters)


def _depths_swapped(entries, got, want):
    (fh, fw, d), (h2, w2, k) = want
    return tuple(map(tuple, got)) == ((fh, fw, k), (h2, w2, d))


CONV_LAYER_SHAPES = ExerciseProbes(
    cell="conv_layer_shapes",
    call=lambda fn, c: fn(c.input_shape, c.num_filters, c.kernel, stride=c.stride, pad=c.pad),
    reference=lambda c: _layer_shapes(c.input_shape, c.num_filters, c.kernel, stride=c.stride, pad=c.pad),
    probes=_layer_probes,
    symptoms=(Symptom("depth-swap", _depths_swapped),),
    kinds={"depth-swap": "only when the input depth differs from the number of filters"},
    hints={
        "depth-swap": "a filter is as deep as its input (D); the output is as deep as the number of filters (K)",
        "nonsquare": "kernel may be a pair (FH, FW): FH goes with H and FW with W",
    },
    stand_ins={"conv_output_size": shapes.conv_output_size},
    withhold=_SHAPE_FORMULAS,
)


# --- exercise 4: padding_for_mode --------------------------------------------------------------

def _padding_probes(rng):
    settings = [("valid", 5, True), ("same", 5, True), ("same", 3, True), ("full", 5, True), ("same", 4, True),
                ("reflect", 3, True), ("valid", 3, False), ("same", 7, False), ("same", 1, False),
                ("full", 3, False), ("full", 1, False), ("same", 6, False), ("circular", 3, False)]
    return [Probe(dict(mode=m, kernel=f), (m, *(["visible"] if v else []))) for m, f, v in settings]


PADDING_FOR_MODE = ExerciseProbes(
    cell="padding_for_mode",
    call=lambda fn, c: fn(c.mode, c.kernel),
    reference=lambda c: shapes.padding_for_mode(c.mode, c.kernel),
    probes=_padding_probes,
    kinds={"same": "only for 'same' padding", "full": "only for 'full' padding", "valid": "only for 'valid' padding"},
    hints={
        "no-raise": "an even filter has no centre, so 'same' cannot pad it symmetrically, and an unknown mode "
                    "is an error: raise ValueError for both",
        "same": "'same' keeps the size at stride 1: W - F + 2P + 1 = W gives P = (F - 1) / 2",
        "full": "'full' lets the filter overlap the input by one pixel at each end: P = F - 1",
    },
    withhold=("convlab.shapes.padding_for_mode", "convlab.shapes.same_padding", "convlab.shapes.full_padding"),
)


# --- exercise 5: effective_kernel_size ---------------------------------------------------------

def _dilation_probes(rng):
    settings = [(3, 1, True), (3, 2, True), (1, 4, True), (5, 1, False), (2, 3, False), (4, 2, False),
                (7, 3, False), (1, 1, False)]
    return [Probe(dict(kernel=f, dilation=r), ("dilation>1" if r > 1 else "dilation1",
                                               *(["visible"] if v else [])))
            for f, r, v in settings]


EFFECTIVE_KERNEL_SIZE = ExerciseProbes(
    cell="effective_kernel_size",
    call=lambda fn, c: fn(c.kernel, c.dilation),
    reference=lambda c: shapes.effective_kernel_size(c.kernel, c.dilation),
    probes=_dilation_probes,
    symptoms=(Symptom("times-dilation", lambda e, got, want: got == e["kernel"] * e["dilation"]),),
    kinds={"times-dilation": "only with dilation > 1"},
    hints={
        "times-dilation": "F taps leave F - 1 gaps and only the gaps stretch: F + (F - 1)(r - 1), not F * r",
        "dilation>1": "F taps leave F - 1 gaps, each r - 1 pixels wider: F + (F - 1)(r - 1)",
    },
    withhold=("convlab.shapes.effective_kernel_size",),
)


# --- exercise 6: conv_param_counts -------------------------------------------------------------

def _param_probes(rng):
    return [probe for probe in _layer_probes(rng) if probe.entries["input_shape"] != (224, 224, 3)]


def _param_counts(c):
    (FH, FW, D), (H2, W2, K) = _layer_shapes(c.input_shape, c.num_filters, c.kernel, stride=c.stride, pad=c.pad)
    return (shapes.conv_param_count((FH, FW), D, K),
            shapes.locally_connected_param_count(H2, W2, (FH, FW), D, K))


def _forgot_bias(entries, got, want):
    FH, FW = _pair(entries["kernel"])
    per_filter = FH * FW * entries["input_shape"][2]
    neurons = want[1] // (per_filter + 1)
    return tuple(got) == (want[0] - entries["num_filters"], want[1] - neurons)


CONV_PARAM_COUNTS = ExerciseProbes(
    cell="conv_param_counts",
    call=lambda fn, c: fn(c.input_shape, c.num_filters, c.kernel, stride=c.stride, pad=c.pad),
    reference=_param_counts,
    probes=_param_probes,
    symptoms=(Symptom("no-bias", _forgot_bias),),
    hints={
        "no-bias": "every filter has a bias (+ K with sharing), and without sharing every neuron has its own",
        "pad>0": "the output size depends on the padding: take H2 and W2 from conv_layer_shapes",
        "stride>1": "the output size depends on the stride: take H2 and W2 from conv_layer_shapes",
    },
    stand_ins={"conv_output_size": shapes.conv_output_size, "conv_layer_shapes": _layer_shapes},
    withhold=("convlab.shapes.conv_param_count", "convlab.shapes.locally_connected_param_count", *_SHAPE_FORMULAS),
)


# --- exercise 7: stacked_receptive_field -------------------------------------------------------

def _receptive_probes(rng):
    stacks = [([3, 3], [1, 1], True), ([3, 3, 3], [1, 1, 1], True), ([7], [2], True), ([3, 3], [2, 1], True),
              ([5, 3], [1, 1], False), ([3, 3, 3], [2, 2, 1], False), ([3, 5], [1, 2], False),
              ([2, 2, 2, 2], [1, 1, 1, 1], False), ([7, 3], [3, 1], False)]
    return [Probe(dict(kernels=tuple(k), strides=tuple(s)),
                  ("stride>1" if max(s) > 1 else "stride1", *(["visible"] if v else [])))
            for k, s, v in stacks]


STACKED_RECEPTIVE_FIELD = ExerciseProbes(
    cell="stacked_receptive_field",
    call=lambda fn, c: fn(list(c.kernels), list(c.strides)),
    reference=lambda c: shapes.receptive_field(list(c.kernels), list(c.strides)),
    probes=_receptive_probes,
    kinds={"stride>1": "only when a layer has stride > 1"},
    hints={"stride>1": "a layer's stride spreads out the neurons of the layers above it, not its own filter: "
                       "add (F_i - 1) * jump first, then multiply jump by S_i"},
    withhold=("convlab.shapes.receptive_field",),
)

EXERCISES = [ACTIVATION_MAP, CONV_OUTPUT_SIZE, CONV_LAYER_SHAPES, PADDING_FOR_MODE, EFFECTIVE_KERNEL_SIZE,
             CONV_PARAM_COUNTS, STACKED_RECEPTIVE_FIELD]
