"""Diagnosis of assignment 4 (pooling): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a4_pooling/checks.py``); the visible
tests' 4x4 example and their tie carry the tag ``"visible"``. References are the library's pooling
layers (``convlab.layers``). The notebook's max-pool cache is ``MaxPoolCache(x_shape, window,
stride, switches)``; the probes build that layout (:class:`_Cache`) for the backward pass, and the
right forward and backward passes in that layout stand in while ``discarded_fraction`` is probed.
"""

from typing import NamedTuple

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import layers

__all__ = ["EXERCISES"]

_MAX = ("convlab.layers.max_pool_forward", "convlab.layers.max_pool_backward")
_AVG = ("convlab.layers.avg_pool_forward", "convlab.layers.avg_pool_backward")
_L2 = ("convlab.layers.l2_pool_forward", "convlab.layers.l2_pool_backward")
_DEMO = np.array([[1.0, 1.5, 2.2, 0.3], [4.1, 0.6, 0.9, 3.8], [2.5, 3.3, 1.2, 0.4], [0.7, 1.9, 2.8, 2.6]])
_TIES = np.array([[1.0, 2.0], [2.0, 0.5]])

_GEOMETRIES = [  # (N, C, H, W, (PH, PW), S): each kind of input on its own
    (2, 2, 6, 6, (2, 2), 2), (1, 3, 9, 9, (3, 3), 2), (2, 2, 6, 10, (2, 2), 2), (1, 2, 9, 7, (3, 3), 2),
    (2, 1, 8, 8, (3, 2), 1), (1, 2, 7, 10, (3, 2), 2), (1, 2, 9, 9, (3, 3), 3), (2, 2, 8, 8, (2, 4), 2),
]
_INVALID = [(1, 1, 9, 9, (2, 2), 2), (1, 2, 7, 8, (2, 3), 2)]  # (9 - 2)/2 and (7 - 2)/2 windows

_KINDS = {"nonsquare-window": "only with non-square windows (PH != PW)"}


class _Cache(NamedTuple):
    """The notebook's max-pool cache layout."""

    x_shape: tuple
    window: tuple
    stride: int
    switches: np.ndarray


def _tags(N, C, H, W, size, S, *extra):
    PH, PW = size
    tags = ["overlap" if max(PH, PW) > S else "no-overlap", "nonsquare" if H != W else "square",
            "nonsquare-window" if PH != PW else "square-window", "stride>1" if S > 1 else "stride1", *extra]
    if N > 1:
        tags.append("batch>1")
    if C > 1:
        tags.append("channels>1")
    return tuple(tags)


def _visible(image):
    """A visible test's single-slice example, pooled 2x2/2."""
    H, W = image.shape
    return Probe(dict(x=image[None, None].copy(), size=(2, 2), stride=2), ("visible", *_tags(1, 1, H, W, (2, 2), 2)))


def _pool_probes(rng, dout=False):
    """The visible examples, every geometry, one float32 input, and (forward passes) the invalid settings;
    with ``dout``, an upstream gradient for each valid probe."""
    probes = [_visible(_DEMO)] + ([] if dout else [_visible(_TIES)])
    for N, C, H, W, size, S in _GEOMETRIES:
        probes.append(Probe(dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=S), _tags(N, C, H, W, size, S)))
    x = rng.standard_normal((1, 2, 7, 7)).astype(np.float32)
    probes.append(Probe(dict(x=x, size=(3, 3), stride=2), _tags(1, 2, 7, 7, (3, 3), 2, "float32"), 1e-5, 1e-6))
    if dout:
        probes = [Probe(dict(p.entries, dout=rng.standard_normal(_out_shape(p.entries))), p.tags, p.rtol, p.atol)
                  for p in probes]
    else:
        probes += [Probe(dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=S), ("invalid",))
                   for N, C, H, W, size, S in _INVALID]
    return probes


def _out_shape(entries):
    N, C, H, W = entries["x"].shape
    (PH, PW), S = entries["size"], entries["stride"]
    return N, C, (H - PH) // S + 1, (W - PW) // S + 1


# --- exercises 1 and 2: max pooling ---------------------------------------------------------------

def _max_forward(x, *, size=2, stride=2):
    """The library's max pooling, returning the notebook's cache (what stands in for exercise 1)."""
    out, cache = layers.max_pool_forward(x, size=size, stride=stride)
    return out, _Cache(tuple(x.shape), tuple(cache.geometry.size), stride, cache.switches)


def _max_backward(dout, cache):
    """The library's backward pass on the notebook's cache (what stands in for exercise 2)."""
    geometry = layers.PoolCache(tuple(cache.x_shape), tuple(cache.window), (cache.stride, cache.stride),
                                tuple(dout.shape[2:]))
    return layers.max_pool_backward(dout, layers.MaxPoolCache(geometry, cache.switches))


def _one_window_short(entries, got, want):
    N, C, Ho, Wo = want[0].shape
    return np.shape(got[0]) == (N, C, Ho - 1, Wo - 1)


def _out_and_switches(forward, c):
    """What the max-pool forward check judges: the output and the switches of its cache."""
    out, cache = forward(c.x, size=c.size, stride=c.stride)
    return out, cache.switches


MAX_FORWARD = ExerciseProbes(
    cell="max_pool_forward",
    call=_out_and_switches,
    reference=lambda c: _out_and_switches(_max_forward, c),
    probes=_pool_probes,
    components=("out", "switches"),
    symptoms=(Symptom("one-window-short", _one_window_short),),
    kinds=_KINDS,
    hints={
        "one-window-short": "count the windows, not the steps between them: a window fits at rows 0, S, 2S ... "
                            "up to H - PH, one more than (H - PH) / S",
        "overlap": "window (i, j) starts at row i*S and column j*S: the stride sets the step between windows, "
                   "the window size only how far each one reaches (they differ when windows overlap)",
        "nonsquare": "Ho comes from H and PH, Wo from W and PW: check which one each size and each slice uses",
        "nonsquare-window": "size may be a pair (PH, PW): PH goes with the rows, PW with the columns",
        "wrong:switches": "the maxima are right but the switches are not: a switch is the winner's row-major "
                          "index inside its window, r * PW + s (row r, column s), the first maximum on a tie",
        "wrong:out": "the switches are right but the maxima are not: out must hold the value each switch points at",
        "no-raise": "take Ho and Wo from pool_output_size, which raises ValueError when the window does not tile "
                    "the input; floor division silently crops",
        "hardcoded": "compute the maxima from x; the 4x4 example and the tie are only two inputs",
        "withheld": "take each window's maximum yourself; the library's max pooling is not in the grader's copy "
                    "of the library",
    },
    withhold=_MAX,
)


def _backward_probes(rng):
    """``_pool_probes`` with the right switches, which the backward pass's cache holds."""
    out = []
    for p in _pool_probes(rng, dout=True):
        e = p.entries
        out.append(Probe(dict(e, switches=_max_forward(e["x"], size=e["size"], stride=e["stride"])[1].switches),
                         p.tags, p.rtol, p.atol))
    return out


def _whole_window(entries, got, want):
    """Every pixel a window covers gets gradient, not only the window's winner."""
    covered = layers.avg_pool_backward(np.ones(_out_shape(entries)), layers.avg_pool_forward(
        entries["x"], size=entries["size"], stride=entries["stride"])[1]) > 0
    return np.count_nonzero(want) < covered.sum() and np.all(np.asarray(got)[covered] != 0)


MAX_BACKWARD = ExerciseProbes(
    cell="max_pool_backward",
    call=lambda fn, c: fn(c.dout, _Cache(c.x.shape, tuple(c.size), c.stride, c.switches)),
    reference=lambda c: _max_backward(c.dout, _Cache(c.x.shape, tuple(c.size), c.stride, c.switches)),
    probes=_backward_probes,
    symptoms=(Symptom("whole-window", _whole_window),),
    kinds=_KINDS,
    hints={
        "whole-window": "only the winner of each window (its switch) receives that window's gradient; the other "
                        "pixels of the window get nothing from it",
        "overlap": "a pixel that wins two overlapping windows receives both gradients: add into dx (+=), don't "
                   "overwrite what an earlier window put there",
        "nonsquare-window": "a switch k is row-major inside a PH x PW window: its row and column come from "
                            "dividing by the window's width, PW",
        "stride>1": "window (i, j) starts at row i*S and column j*S: add the switch's offset to that corner",
        "withheld": "route each gradient through its switch yourself; the library's backward pass is not in "
                    "the grader's copy of the library",
    },
    withhold=_MAX,
)


# --- exercises 3 and 4: average and L2-norm pooling ------------------------------------------------

_FORWARD_HINTS = {  # what the average and the L2 forward passes share
    "nonsquare": "Ho comes from H and PH, Wo from W and PW: check which one each size and each slice uses",
    "overlap": "window (i, j) starts at row i*S and column j*S: step by the stride, not by the window size",
    "no-raise": "take Ho and Wo from pool_output_size, which raises ValueError when the window does not tile "
                "the input",
}


def _forward_exercise(cell, library_forward, withhold, hints):
    """The forward pass of average or L2 pooling (named as the library's), judged on its output."""
    return ExerciseProbes(
        cell=cell,
        function=library_forward.__name__,
        call=lambda fn, c: fn(c.x, size=c.size, stride=c.stride)[0],
        reference=lambda c: library_forward(c.x, size=c.size, stride=c.stride)[0],
        probes=_pool_probes,
        kinds=_KINDS,
        hints={**_FORWARD_HINTS, **hints},
        withhold=withhold,
    )


# --- exercise 3: average pooling --------------------------------------------------------------------

def _avg_backward_reference(c):
    return layers.avg_pool_backward(c.dout, layers.avg_pool_forward(c.x, size=c.size, stride=c.stride)[1])


def _not_averaged(entries, got, want):
    PH, PW = entries["size"]
    return np.allclose(got, want * PH * PW)


AVG_FORWARD = _forward_exercise("avg_pool", layers.avg_pool_forward, _AVG, {
    "nonsquare-window": "size may be a pair (PH, PW): each window is PH rows by PW columns, and both set the "
                        "output size",
})

AVG_BACKWARD = ExerciseProbes(
    cell="avg_pool",
    function="avg_pool_backward",
    call=lambda fn, c: fn(c.dout, (c.x.shape, tuple(c.size), c.stride)),
    reference=_avg_backward_reference,
    probes=lambda rng: _pool_probes(rng, dout=True),
    symptoms=(Symptom("not-averaged", _not_averaged),),
    kinds=_KINDS,
    hints={
        "not-averaged": "an average weighs each of its PH*PW pixels by 1/(PH*PW): each pixel gets that share of "
                        "the window's gradient, not all of it",
        "overlap": "a pixel in two overlapping windows gets a share from each: add into dx (+=), don't overwrite",
        "nonsquare-window": "the window is PH rows by PW columns: check the slice and the area you divide by",
    },
    withhold=_AVG,
)


# --- exercise 4: L2-norm pooling --------------------------------------------------------------------

def _l2_backward_reference(c):
    return layers.l2_pool_backward(c.dout, layers.l2_pool_forward(c.x, size=c.size, stride=c.stride)[1])


L2_FORWARD = _forward_exercise("l2_pool", layers.l2_pool_forward, _L2, {
    "nonsquare-window": "size may be a pair (PH, PW): each window is PH rows by PW columns",
})

L2_BACKWARD = ExerciseProbes(
    cell="l2_pool",
    function="l2_pool_backward",
    call=lambda fn, c: fn(c.dout, (c.x, layers.l2_pool_forward(c.x, size=c.size, stride=c.stride)[0],
                                   tuple(c.size), c.stride)),
    reference=_l2_backward_reference,
    probes=lambda rng: _pool_probes(rng, dout=True),
    kinds=_KINDS,
    hints={
        "overlap": "a pixel in two overlapping windows gets a gradient from each: add into dx (+=), don't "
                   "overwrite what an earlier window put there",
        "nonsquare-window": "the window is PH rows by PW columns: check the slices of x and of dx",
    },
    withhold=_L2,
)


# --- exercise 5: discarded_fraction -----------------------------------------------------------------

def _discarded_probes(rng):
    probes = [_visible(_DEMO)]
    for N, C, H, W, size, S in [(2, 3, 10, 10, (2, 2), 2), (1, 2, 11, 11, (3, 3), 2), (2, 2, 9, 12, (3, 3), 3),
                                (1, 3, 8, 9, (2, 3), 1), (1, 2, 12, 10, (4, 2), 2), (2, 2, 8, 12, (2, 2), 2)]:
        probes.append(Probe(dict(x=rng.standard_normal((N, C, H, W)), size=size, stride=S), _tags(N, C, H, W, size, S)))
    return probes


def _discarded_reference(c):
    out, cache = _max_forward(c.x, size=c.size, stride=c.stride)
    return float(np.mean(_max_backward(np.ones_like(out), cache) == 0))


DISCARDED_FRACTION = ExerciseProbes(
    cell="discarded_fraction",
    call=lambda fn, c: fn(c.x, size=c.size, stride=c.stride),
    reference=_discarded_reference,
    probes=_discarded_probes,
    kinds=_KINDS,
    hints={
        "overlap": "when windows overlap, one entry can win several windows and others lie in several windows "
                   "but win none: count the entries that win no window at all, not 1 - 1/(PH*PW)",
        "hardcoded": "compute the fraction from x's own windows; the 4x4 example is only one input",
        "withheld": "use your own max_pool_forward and max_pool_backward; the library's are not in the grader's "
                    "copy of the library",
    },
    stand_ins={"max_pool_forward": _max_forward, "max_pool_backward": _max_backward},
    withhold=_MAX,
)


# --- exercise 6: avg_pool_as_conv -------------------------------------------------------------------

def _as_conv_probes(rng):
    settings = [(5, (2, 2)), (1, (2, 2)), (3, (2, 3)), (2, (3, 3)), (1, (1, 4)), (4, (2, 1))]
    return [Probe(dict(C=C, size=size), ("channels>1" if C > 1 else "channels1",
                                         "nonsquare-window" if size[0] != size[1] else "square-window"))
            for C, size in settings]


def _as_conv_reference(c):
    """Recovered from the library's average pooling: pooling a one-hot window gives that tap's weight."""
    PH, PW = c.size
    taps = np.eye(c.C * PH * PW).reshape(c.C * PH * PW, c.C, PH, PW)  # every (channel, row, column) one-hot
    pooled = layers.avg_pool_forward(taps, size=(PH, PW), stride=1)[0][:, :, 0, 0]  # (C*PH*PW, C)
    return pooled.T.reshape(c.C, c.C, PH, PW), np.zeros(c.C)


AVG_POOL_AS_CONV = ExerciseProbes(
    cell="avg_pool_as_conv",
    call=lambda fn, c: fn(c.C, c.size),
    reference=_as_conv_reference,
    probes=_as_conv_probes,
    components=("w", "b"),
    kinds=_KINDS,
    hints={
        "channels>1": "pooling never mixes channels: filter k reads channel k only, so w[k, c] is zero for c != k",
        "nonsquare-window": "the filters are PH x PW: both the shape and the weight 1/(PH*PW) use the two sides",
        "wrong:b": "pooling adds nothing: the biases are zero",
        "withheld": "write the weights down from what an average is; the library's average pooling is not in "
                    "the grader's copy of the library",
    },
    withhold=_AVG,
)

EXERCISES = [MAX_FORWARD, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD, L2_FORWARD, L2_BACKWARD, DISCARDED_FRACTION,
             AVG_POOL_AS_CONV]
