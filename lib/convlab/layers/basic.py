"""Fully-connected (affine) and ReLU layers."""

from __future__ import annotations

import math
from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._checks import check_float_array, check_ndim, check_same_dtype, check_shape

__all__ = ["AffineCache", "ReluCache", "affine_forward", "affine_backward", "relu_forward", "relu_backward"]


class AffineCache(NamedTuple):
    """What :func:`affine_backward` needs."""

    x: object  # (N, d1, ..., dk), as given
    w: object  # (D, M)


class ReluCache(NamedTuple):
    """What :func:`relu_backward` needs: the input."""

    x: object  # any shape


def affine_forward(x, w, b):
    """Fully-connected forward pass: ``out = x.reshape(N, D) @ w + b``.

    Inputs
    - x: (N, d1, ..., dk), flattened to (N, D) with D = d1 * ... * dk
      (an (N, C, H, W) volume is flattened channel-major)
    - w: (D, M) weights; b: (M,) biases; one floating dtype for all three

    Returns (out, cache) with out: (N, M).
    """
    xp = get_array_module(x, w, b)
    func = "affine_forward"
    check_ndim(func, "w", w, 2, "(D, M)")
    check_ndim(func, "b", b, 1, "(M,)")
    if getattr(x, "ndim", 0) < 1:
        shape = getattr(x, "shape", None)
        raise ValueError(f"affine_forward: x must have a batch axis (N, d1, ..., dk), got shape {shape}")
    for name, a in (("x", x), ("w", w), ("b", b)):
        check_float_array(func, name, a)
    check_same_dtype(func, x=x, w=w, b=b)
    N, features = x.shape[0], math.prod(x.shape[1:])
    D, M = w.shape
    if features != D:
        raise ValueError(
            f"affine_forward: x of shape {tuple(x.shape)} flattens to {features} features per "
            f"example but w has shape {tuple(w.shape)} (D={D})"
        )
    check_shape(func, "b", b, (M,))
    out = xp.matmul(x.reshape(N, D), w) + b  # (N, D) @ (D, M) -> (N, M)
    return out, AffineCache(x, w)


def affine_backward(dout, cache: AffineCache):
    """Fully-connected backward pass.

    Inputs: dout (N, M); cache from :func:`affine_forward`.
    Returns (dx, dw, db) shaped like x (N, d1, ..., dk), w (D, M), b (M,).
    """
    xp = get_array_module(dout, cache.w)
    x, w = cache
    N = x.shape[0]
    if tuple(dout.shape) != (N, w.shape[1]):
        raise ValueError(f"affine_backward: dout must have shape {(N, w.shape[1])}, got {tuple(dout.shape)}")
    D = w.shape[0]
    dx = xp.matmul(dout, w.T).reshape(x.shape)  # (N, D) -> (N, d1, ..., dk)
    dw = xp.matmul(x.reshape(N, D).T, dout)  # (D, N) @ (N, M) -> (D, M)
    db = dout.sum(axis=0)  # (M,)
    return dx, dw, db


def relu_forward(x):
    """ReLU forward pass: ``out = max(x, 0)`` elementwise.

    Inputs: x of any shape, floating. Returns (out, cache) with out shaped like x.
    """
    xp = get_array_module(x)
    check_float_array("relu_forward", "x", x)
    return xp.maximum(x, 0), ReluCache(x)


def relu_backward(dout, cache: ReluCache):
    """ReLU backward pass: ``dx = dout`` where x > 0, else 0 (0 at the kink x == 0).

    Inputs: dout shaped like x; cache from :func:`relu_forward`. Returns dx.
    """
    xp = get_array_module(dout, cache.x)
    x = cache.x
    if tuple(dout.shape) != tuple(x.shape):
        raise ValueError(f"relu_backward: dout must have shape {tuple(x.shape)}, got {tuple(dout.shape)}")
    return xp.where(x > 0, dout, 0)
