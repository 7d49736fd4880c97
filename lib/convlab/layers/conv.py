"""The convolution layer as im2col + one (batched) matrix multiply.

With ``cols = im2col(x)`` of shape (C*FH*FW, N*H_out*W_out) the whole forward
pass is ``w.reshape(K, C*FH*FW) @ cols``. Groups split the rows of ``cols`` and
the filters into ``g`` blocks, so the product becomes one batched matmul over
groups: (g, K/g, C/g*FH*FW) @ (g, C/g*FH*FW, N*H_out*W_out). The backward pass
is the same two products transposed, and ``col2im`` (the adjoint of ``im2col``)
carries the column gradient back to the input.
"""

from __future__ import annotations

from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._conv_args import ConvGeometry, conv_geometry
from convlab.layers.im2col import col2im, im2col

__all__ = ["ConvCache", "conv_forward", "conv_backward"]


class ConvCache(NamedTuple):
    """What :func:`conv_backward` needs."""

    x_shape: tuple  # (N, C, H, W)
    w: object  # (K, C/groups, FH, FW)
    cols: object  # (C*FH*FW, N*H_out*W_out), im2col of the input
    geometry: ConvGeometry


def conv_forward(x, w, b, *, stride=1, pad=0, dilation=1, groups=1):
    """Convolution forward pass (im2col + matmul).

    Inputs
    - x: (N, C, H, W) input; w: (K, C/groups, FH, FW) filters; b: (K,) biases,
      all of one floating dtype (float32 stays float32)
    - stride, pad, dilation: ints or (h, w) pairs; groups: int dividing C and K
      (groups == C is a depthwise convolution)

    Returns (out, cache) with out: (N, K, H_out, W_out), same dtype and device as x.
    """
    xp = get_array_module(x, w, b)
    geo = conv_geometry("conv_forward", x, w, b, stride=stride, pad=pad, dilation=dilation, groups=groups)
    N = x.shape[0]
    K, Cg, FH, FW = w.shape
    G = geo.groups
    Ho, Wo = geo.out_hw
    cols = im2col(x, FH, FW, stride=geo.stride, pad=geo.pad, dilation=geo.dilation)  # (C*FH*FW, N*Ho*Wo)
    cols_g = cols.reshape(G, Cg * FH * FW, N * Ho * Wo)  # (G, Cg*FH*FW, N*Ho*Wo)
    w_g = w.reshape(G, K // G, Cg * FH * FW)  # (G, K/G, Cg*FH*FW)
    out = xp.matmul(w_g, cols_g)  # (G, K/G, N*Ho*Wo)
    out = out.reshape(K, N, Ho, Wo).transpose(1, 0, 2, 3)  # (N, K, Ho, Wo)
    out = out + b.reshape(1, K, 1, 1)  # a fresh (N, K, Ho, Wo) array
    return out, ConvCache(tuple(x.shape), w, cols, geo)


def conv_backward(dout, cache: ConvCache):
    """Convolution backward pass.

    Inputs
    - dout: (N, K, H_out, W_out) upstream gradient
    - cache: from :func:`conv_forward`

    Returns (dx, dw, db) shaped like x (N, C, H, W), w (K, C/groups, FH, FW), b (K,).
    """
    xp = get_array_module(dout, cache.w)
    x_shape, w, cols, geo = cache
    N = x_shape[0]
    K, Cg, FH, FW = w.shape
    G = geo.groups
    Ho, Wo = geo.out_hw
    if tuple(dout.shape) != (N, K, Ho, Wo):
        raise ValueError(f"conv_backward: dout must have shape {(N, K, Ho, Wo)}, got {tuple(dout.shape)}")
    db = dout.sum(axis=(0, 2, 3))  # (K,)
    dout_g = dout.transpose(1, 0, 2, 3).reshape(G, K // G, N * Ho * Wo)  # (G, K/G, N*Ho*Wo)
    cols_g = cols.reshape(G, Cg * FH * FW, N * Ho * Wo)  # (G, Cg*FH*FW, N*Ho*Wo)
    w_g = w.reshape(G, K // G, Cg * FH * FW)  # (G, K/G, Cg*FH*FW)
    dw = xp.matmul(dout_g, cols_g.transpose(0, 2, 1))  # (G, K/G, Cg*FH*FW)
    dw = dw.reshape(K, Cg, FH, FW)  # (K, Cg, FH, FW)
    dcols = xp.matmul(w_g.transpose(0, 2, 1), dout_g)  # (G, Cg*FH*FW, N*Ho*Wo)
    dcols = dcols.reshape(G * Cg * FH * FW, N * Ho * Wo)  # (C*FH*FW, N*Ho*Wo)
    dx = col2im(dcols, x_shape, FH, FW, stride=geo.stride, pad=geo.pad, dilation=geo.dilation)
    return dx, dw, db
