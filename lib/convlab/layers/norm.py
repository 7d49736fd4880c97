"""Spatial batch normalization for (N, C, H, W) volumes.

Each channel is normalised over the batch and both spatial axes (N*H*W values),
then scaled and shifted per channel: ``out = gamma * (x - mean) / sqrt(var + eps) + beta``.
Nothing is mutated: the forward pass returns the updated running statistics
instead of writing into an argument dict.
"""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._checks import check_float_array, check_ndim, check_same_dtype, check_shape

__all__ = ["BatchNormCache", "BatchNormResult", "spatial_batchnorm_forward", "spatial_batchnorm_backward"]

_AXES = (0, 2, 3)  # the statistics of channel c run over N, H and W


class BatchNormCache(NamedTuple):
    """What :func:`spatial_batchnorm_backward` needs."""

    xhat: object  # (N, C, H, W), the normalised input
    gamma: object  # (C,)
    inv_std: object  # (C,), 1 / sqrt(var + eps) of the statistics used
    train: bool  # batch statistics (depend on x) or running statistics (constants)


class BatchNormResult(NamedTuple):
    """Result of :func:`spatial_batchnorm_forward`; unpacks as a 4-tuple."""

    out: object  # (N, C, H, W)
    cache: BatchNormCache
    running_mean: object  # (C,), the new running mean
    running_var: object  # (C,), the new running variance


def _check_setting(name: str, value, low: float, high: float, *, low_open: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"spatial_batchnorm_forward: {name} must be a number, got {value!r}")
    too_low = value <= low if low_open else value < low
    if too_low or value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"spatial_batchnorm_forward: {name} must lie in {bracket}{low}, {high}], got {value}")
    return float(value)


def spatial_batchnorm_forward(x, gamma, beta, *, train: bool, running_mean=None, running_var=None,
                              momentum=0.9, eps=1e-5) -> BatchNormResult:
    """Spatial batch normalization forward pass.

    Inputs
    - x: (N, C, H, W); gamma, beta: (C,) scale and shift; one floating dtype
    - train: True normalises with this batch's mean and (biased) variance over
      N, H, W; False with the running statistics
    - running_mean, running_var: (C,) running statistics; None means a fresh
      layer (zeros and ones). Required when train is False.
    - momentum: weight of the old running value, ``new = momentum * old + (1 - momentum) * batch``
    - eps: added to the variance before the square root

    Returns a :class:`BatchNormResult` ``(out, cache, running_mean, running_var)``;
    out is (N, C, H, W). In training the running statistics are new arrays; at
    test time they are the ones passed in. The arguments are never modified.
    """
    xp = get_array_module(x, gamma, beta, running_mean, running_var)
    func = "spatial_batchnorm_forward"
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    for name, a in (("x", x), ("gamma", gamma), ("beta", beta)):
        check_float_array(func, name, a)
    check_same_dtype(func, x=x, gamma=gamma, beta=beta)
    C = x.shape[1]
    check_shape(func, "gamma", gamma, (C,))
    check_shape(func, "beta", beta, (C,))
    for name, a in (("running_mean", running_mean), ("running_var", running_var)):
        if a is not None:
            check_float_array(func, name, a)
            check_shape(func, name, a, (C,))
    if not isinstance(train, bool):
        raise TypeError(f"{func}: train must be True or False, got {train!r}")
    momentum = _check_setting("momentum", momentum, 0.0, 1.0, low_open=False)
    eps = _check_setting("eps", eps, 0.0, float("inf"), low_open=True)
    if not train and (running_mean is None or running_var is None):
        raise ValueError(f"{func}: train=False needs running_mean and running_var (from training)")
    if running_mean is None:
        running_mean = xp.zeros((C,), dtype=x.dtype)
    if running_var is None:
        running_var = xp.ones((C,), dtype=x.dtype)

    if train:
        mean = x.mean(axis=_AXES)  # (C,)
        var = x.var(axis=_AXES)  # (C,), biased (divides by N*H*W)
        new_mean = momentum * running_mean + (1.0 - momentum) * mean
        new_var = momentum * running_var + (1.0 - momentum) * var
    else:
        mean, var = running_mean, running_var
        new_mean, new_var = running_mean, running_var
    inv_std = 1.0 / xp.sqrt(var + eps)  # (C,)
    xhat = (x - mean.reshape(1, C, 1, 1)) * inv_std.reshape(1, C, 1, 1)  # (N, C, H, W)
    out = gamma.reshape(1, C, 1, 1) * xhat + beta.reshape(1, C, 1, 1)
    return BatchNormResult(out, BatchNormCache(xhat, gamma, inv_std, train), new_mean, new_var)


def spatial_batchnorm_backward(dout, cache: BatchNormCache):
    """Spatial batch normalization backward pass.

    Inputs: dout (N, C, H, W); cache from :func:`spatial_batchnorm_forward`.
    Returns (dx, dgamma, dbeta) shaped (N, C, H, W), (C,), (C,). In training the
    gradient flows through the batch mean and variance too.
    """
    xp = get_array_module(dout, cache.xhat)
    xhat, gamma, inv_std, train = cache
    if tuple(dout.shape) != tuple(xhat.shape):
        raise ValueError(
            f"spatial_batchnorm_backward: dout must have shape {tuple(xhat.shape)}, got {tuple(dout.shape)}"
        )
    N, C, H, W = xhat.shape
    dbeta = dout.sum(axis=_AXES)  # (C,)
    dgamma = (dout * xhat).sum(axis=_AXES)  # (C,)
    dxhat = dout * gamma.reshape(1, C, 1, 1)  # (N, C, H, W)
    scale = inv_std.reshape(1, C, 1, 1)
    if not train:
        return dxhat * scale, dgamma, dbeta
    M = N * H * W
    # d/dx of (x - mean) * inv_std with both statistics depending on x
    dx = scale / M * (
        M * dxhat
        - xp.sum(dxhat, axis=_AXES, keepdims=True)
        - xhat * xp.sum(dxhat * xhat, axis=_AXES, keepdims=True)
    )
    return dx, dgamma, dbeta
