"""The convolution layer written as explicit loops: slow, readable, the oracle.

Every output neuron ``out[n, k, ho, wo]`` is the dot product of filter ``k`` with
the receptive field whose top-left corner sits at ``(ho * SH, wo * SW)`` of the
zero-padded input, taking every ``dilation``-th pixel, plus the bias ``b[k]``.
With ``groups = g`` the C input channels and K filters are split into g equal
groups and filter ``k`` only sees the channels of its own group.
"""

from __future__ import annotations

from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._conv_args import ConvGeometry, conv_geometry
from convlab.layers.im2col import pad_hw

__all__ = ["NaiveConvCache", "conv_forward_naive", "conv_backward_naive"]


class NaiveConvCache(NamedTuple):
    """What :func:`conv_backward_naive` needs: the padded input, the weights, the settings."""

    x_pad: object  # (N, C, H + 2PH, W + 2PW)
    w: object  # (K, C/groups, FH, FW)
    geometry: ConvGeometry


def _window(n, c0, c1, top, left, FH, FW, rh, rw):
    """Index of the dilated receptive field ``[n, c0:c1, top + i*rh, left + j*rw]``: (c1 - c0, FH, FW)."""
    return (n, slice(c0, c1), slice(top, top + rh * (FH - 1) + 1, rh), slice(left, left + rw * (FW - 1) + 1, rw))


def conv_forward_naive(x, w, b, *, stride=1, pad=0, dilation=1, groups=1):
    """Convolution forward pass with explicit loops.

    Inputs
    - x: (N, C, H, W) input; w: (K, C/groups, FH, FW) filters; b: (K,) biases
    - stride, pad, dilation: ints or (h, w) pairs; groups: int dividing C and K

    Returns (out, cache) with out: (N, K, H_out, W_out), where
    ``H_out = (H - FH_eff + 2PH) / SH + 1`` (see :func:`convlab.shapes.conv_output_size`).
    """
    xp = get_array_module(x, w, b)
    geo = conv_geometry("conv_forward_naive", x, w, b, stride=stride, pad=pad, dilation=dilation, groups=groups)
    (sh, sw), (ph, pw), (rh, rw) = geo.stride, geo.pad, geo.dilation
    Ho, Wo = geo.out_hw
    N = x.shape[0]
    K, Cg, FH, FW = w.shape
    Kg = K // geo.groups
    x_pad = pad_hw(x, ph, pw)
    out = xp.zeros((N, K, Ho, Wo), dtype=x.dtype)
    for n in range(N):
        for k in range(K):
            c0 = (k // Kg) * Cg  # first input channel of filter k's group
            for i in range(Ho):
                for j in range(Wo):
                    field = x_pad[_window(n, c0, c0 + Cg, i * sh, j * sw, FH, FW, rh, rw)]
                    out[n, k, i, j] = (field * w[k]).sum() + b[k]
    return out, NaiveConvCache(x_pad, w, geo)


def conv_backward_naive(dout, cache: NaiveConvCache):
    """Convolution backward pass with explicit loops.

    Inputs
    - dout: (N, K, H_out, W_out) upstream gradient
    - cache: from :func:`conv_forward_naive`

    Returns (dx, dw, db) shaped like x (N, C, H, W), w (K, C/groups, FH, FW), b (K,).
    """
    xp = get_array_module(dout, cache.w)
    x_pad, w, geo = cache
    (sh, sw), (ph, pw), (rh, rw) = geo.stride, geo.pad, geo.dilation
    Ho, Wo = geo.out_hw
    N, _, Hp, Wp = x_pad.shape
    K, Cg, FH, FW = w.shape
    if tuple(dout.shape) != (N, K, Ho, Wo):
        raise ValueError(f"conv_backward_naive: dout must have shape {(N, K, Ho, Wo)}, got {tuple(dout.shape)}")
    Kg = K // geo.groups
    dx_pad = xp.zeros_like(x_pad)
    dw = xp.zeros_like(w)
    db = dout.sum(axis=(0, 2, 3))  # (K,)
    for n in range(N):
        for k in range(K):
            c0 = (k // Kg) * Cg
            for i in range(Ho):
                for j in range(Wo):
                    g = dout[n, k, i, j]
                    field = _window(n, c0, c0 + Cg, i * sh, j * sw, FH, FW, rh, rw)
                    dw[k] += g * x_pad[field]
                    # a basic strided slice holds each pixel once, so += accumulates overlaps
                    dx_pad[field] += g * w[k]
    dx = dx_pad[:, :, ph:Hp - ph, pw:Wp - pw]
    return dx, dw, db
