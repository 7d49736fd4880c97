"""Diagnosis of assignment 2 (naive convolution): public probes, known mistakes and their hints.

Every probe is public (none is a hidden case of ``solutions/a2_naive_conv/checks.py``); the visible
tests' hand-computed example carries the tag ``"visible"``. References are the library's loops
(``convlab.layers.conv_forward_naive`` / ``conv_backward_naive``).
"""

import numpy as np

from autograder.diagnosis.engine import ExerciseProbes, Probe, Symptom
from convlab import layers, shapes

__all__ = ["EXERCISES"]

_CONV = ("convlab.layers.conv_forward_naive", "convlab.layers.conv_forward")
_CONV_BACKWARD = ("convlab.layers.conv_backward_naive", "convlab.layers.conv_backward")
_TOY = dict(x=np.array([[[[1.0, 2.0, 0.0], [0.0, 1.0, 3.0], [2.0, 1.0, 1.0]]]]),  # the visible example
            w=np.array([[[[1.0, -1.0], [2.0, 0.5]]]]), b=np.array([0.5]), stride=1, pad=0, dilation=1)


def _tags(N, C, H, W, FH, FW, S, P, D):
    tags = ["stride>1" if S > 1 else "stride1", "pad>0" if P else "pad0",
            "square" if H == W and FH == FW else "nonsquare", "dilation>1" if D > 1 else "dilation1",
            "overlap" if max(FH, FW) + (max(FH, FW) - 1) * (D - 1) > S else "no-overlap"]
    if N > 1:
        tags.append("batch>1")
    if 1 in (C, FH, FW):
        tags.append("axis1")
    return tuple(tags)


def _conv_probe(rng, N, C, H, W, K, FH, FW, S=1, P=0, D=1, dout=False):
    entries = dict(x=rng.standard_normal((N, C, H, W)), w=rng.standard_normal((K, C, FH, FW)),
                   b=rng.standard_normal(K), stride=S, pad=P, dilation=D)
    if dout:
        Ho = shapes.conv_output_size(H, FH, S, P, D)
        Wo = shapes.conv_output_size(W, FW, S, P, D)
        entries["dout"] = rng.standard_normal((N, K, Ho, Wo))
    return Probe(entries, _tags(N, C, H, W, FH, FW, S, P, D))


# --- conv_forward_naive (exercises 1 and 3) -----------------------------------------------------

_FORWARD = [  # (N, C, H, W, K, FH, FW, S, P, D)
    (2, 3, 5, 5, 2, 3, 3, 1, 0, 1), (1, 2, 7, 7, 2, 3, 3, 2, 1, 1), (2, 2, 5, 7, 3, 3, 3, 1, 1, 1),
    (1, 3, 6, 6, 2, 2, 2, 2, 0, 1), (1, 1, 6, 5, 2, 4, 1, 1, 0, 1), (1, 2, 7, 7, 2, 3, 3, 1, 0, 2),
    (2, 2, 9, 8, 2, 3, 3, 1, 1, 2),
]


def _forward_probes(rng):
    probes = [Probe(_TOY, ("visible", *_tags(1, 1, 3, 3, 2, 2, 1, 0, 1)))]
    probes += [_conv_probe(rng, *g) for g in _FORWARD]
    invalid = _conv_probe(rng, 1, 2, 10, 10, 1, 3, 3, S=2)  # (10 - 3) / 2 + 1 = 4.5: must raise
    probes.append(Probe(invalid.entries, ("invalid",)))
    return probes


CONV_FORWARD = ExerciseProbes(
    cell="conv_forward_naive",
    call=lambda fn, c: fn(c.x, c.w, c.b, stride=c.stride, pad=c.pad, dilation=c.dilation)[0],
    reference=lambda c: layers.conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad,
                                                  dilation=c.dilation)[0],
    probes=_forward_probes,
    kinds={"axis1": "only when the filter has an axis of length 1 (one channel, or a 1-wide kernel)"},
    hints={
        "stride>1": "output (i, j) reads the window starting at row i*S and column j*S of the padded input",
        "nonsquare": "H_out comes from H and FH, W_out from W and FW: check which one each size and slice uses",
        "dilation>1": "with dilation r the taps are r pixels apart: slice the window with step r "
                      "(rows i*S : i*S + r*(FH - 1) + 1 : r)",
        "axis1": "squeeze() also drops a filter axis of length 1; multiply the (C, FH, FW) window by w[k] "
                 "as it is",
        "no-raise": "get H_out and W_out from conv_output_size, which raises ValueError when the filter does "
                    "not tile the padded input; floor division silently crops",
        "hardcoded": "compute every output from x, w and b; the hand-worked example is only one case",
    },
    withhold=_CONV,
)


# --- conv_backward_naive (exercises 2 and 3) ----------------------------------------------------

_BACKWARD = [  # (N, C, H, W, K, FH, FW, S, P, D)
    (2, 2, 5, 5, 2, 3, 3, 1, 1, 1), (1, 2, 5, 6, 2, 3, 3, 1, 0, 1), (1, 2, 7, 7, 3, 3, 3, 2, 1, 1),
    (2, 2, 6, 6, 1, 2, 2, 2, 0, 1), (1, 2, 7, 7, 2, 3, 3, 1, 1, 2),  # K = 1: nothing to overwrite without overlap
]


def _backward_reference(c):
    _, cache = layers.conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad, dilation=c.dilation)
    return layers.conv_backward_naive(c.dout, cache)


CONV_BACKWARD = ExerciseProbes(
    cell="conv_backward_naive",
    call=lambda fn, c: fn(c.dout, (c.x, c.w, c.b, c.stride, c.pad, c.dilation)),
    reference=_backward_reference,
    probes=lambda rng: [_conv_probe(rng, *g, dout=True) for g in _BACKWARD],
    components=("dx", "dw", "db"),
    hints={
        "pad0": "how do you cut the padding off dx_pad when P = 0? dx_pad[:, :, 0:-0] is empty: slice "
                "pad:pad + H instead",
        "overlap": "overlapping windows share input pixels: add each window's gradient into dx_pad (+=), "
                   "don't overwrite it",
        "stride>1": "window (i, j) starts at row i*S and column j*S: route the gradient to that window",
        "dilation>1": "with dilation r the window's taps are r pixels apart: route the gradient with the "
                      "forward pass's dilated slices",
        "wrong:db": "db is dout summed over the batch and both spatial axes, one number per filter",
        "wrong:dx": "dx is wrong while dw and db are right: check how each window's gradient reaches dx_pad",
    },
    rtol=1e-6, atol=1e-7,
    withhold=_CONV + _CONV_BACKWARD,
)


# --- conv1x1_matmul (exercise 4) ----------------------------------------------------------------

def _conv1x1_probes(rng):
    return [_conv_probe(rng, N, C, H, W, K, 1, 1)
            for N, C, H, W, K in [(2, 3, 4, 5, 4), (1, 1, 3, 3, 1), (1, 2, 1, 1, 3), (3, 4, 2, 3, 2)]]


def _channels_not_moved(entries, got, want):
    x, w, b = entries["x"], entries["w"], entries["b"]
    N, C, H, W = x.shape
    K = w.shape[0]
    return np.allclose(got, (x.reshape(N * H * W, C) @ w.reshape(K, C).T + b).reshape(N, K, H, W))


CONV1X1 = ExerciseProbes(
    cell="conv1x1_matmul",
    call=lambda fn, c: fn(c.x, c.w, c.b),
    reference=lambda c: layers.conv_forward_naive(c.x, c.w, c.b)[0],
    probes=_conv1x1_probes,
    symptoms=(Symptom("channels-not-last", _channels_not_moved),),
    hints={"channels-not-last": "x.reshape(N*H*W, C) mixes pixels and channels: move the channels last first "
                                "(transpose(0, 2, 3, 1)), and back to (N, K, H, W) at the end"},
    withhold=_CONV,
)


# --- conv_backward_x_via_conv (exercise 5) --------------------------------------------------------

def _flip_probes(rng):
    out = []
    for N, C, H, W, K, FH, FW, P in [(2, 2, 5, 5, 3, 3, 3, 1), (1, 3, 6, 4, 2, 3, 2, 0), (1, 2, 5, 5, 2, 2, 2, 1)]:
        Ho, Wo = H - FH + 2 * P + 1, W - FW + 2 * P + 1
        out.append(Probe(dict(dout=rng.standard_normal((N, K, Ho, Wo)), w=rng.standard_normal((K, C, FH, FW)),
                              pad=P), ("pad>0" if P else "pad0", "square" if FH == FW and H == W else "nonsquare")))
    return out


def _via_conv_reference(c):
    N, K, Ho, Wo = c.dout.shape
    _, C, FH, FW = c.w.shape
    x = np.zeros((N, C, Ho + FH - 1 - 2 * c.pad, Wo + FW - 1 - 2 * c.pad))
    _, cache = layers.conv_forward_naive(x, c.w, np.zeros(K), pad=c.pad)
    return layers.conv_backward_naive(c.dout, cache)[0]


def _not_flipped(entries, got, want):
    w, pad = entries["w"], entries["pad"]
    _, C, FH, FW = w.shape
    ph, pw = FH - 1 - pad, FW - 1 - pad
    dout_pad = np.pad(entries["dout"], ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return np.allclose(got, layers.conv_forward_naive(dout_pad, w.transpose(1, 0, 2, 3), np.zeros(C))[0])


CONV_BACKWARD_X_VIA_CONV = ExerciseProbes(
    cell="conv_backward_x_via_conv",
    call=lambda fn, c: fn(c.dout, c.w, c.pad),
    reference=_via_conv_reference,
    probes=_flip_probes,
    symptoms=(Symptom("not-flipped", _not_flipped),),
    hints={"not-flipped": "swapping the filters' in and out axes is half of it: flip them in space too "
                          "(w[:, :, ::-1, ::-1])",
           "withheld": "write dx as a convolution of the padded dout with the flipped filters; the library's "
                       "backward pass is not in the grader's copy of the library"},
    stand_ins={"conv_forward_naive": layers.conv_forward_naive},
    withhold=_CONV + _CONV_BACKWARD,
)

EXERCISES = [CONV_FORWARD, CONV_BACKWARD, CONV1X1, CONV_BACKWARD_X_VIA_CONV]
