"""Inverted dropout.

``p`` is the *drop* probability (as in PyTorch): in training each activation is
zeroed with probability ``p`` and the survivors are scaled by ``1 / (1 - p)``,
so the expected output equals the input and the test-time pass is the identity.
"""

from __future__ import annotations

from numbers import Real
from typing import NamedTuple

import numpy as np

from convlab.backend import get_array_module, to_device, to_numpy
from convlab.layers._checks import check_float_array

__all__ = ["DropoutCache", "dropout_forward", "dropout_backward"]


class DropoutCache(NamedTuple):
    """What :func:`dropout_backward` needs: the scaled mask (None at test time)."""

    mask: object  # shaped like x: 0 or 1/(1-p); None when train is False
    p: float


def _uniform_on(xp, rng, shape):
    """Uniform [0, 1) draws of ``shape`` from ``rng``, placed on the device of ``xp``.

    A NumPy Generator draws on the host and the values are moved explicitly; a
    device generator (``cupy.random.Generator``) draws on its device. The same
    seed gives the same mask on every device when the host generator is used.
    """
    u = rng.random(shape)
    on = get_array_module(u)
    if on is xp:
        return u
    if xp is np:
        return to_numpy(u)  # a device generator serving host arrays: copy back explicitly
    return to_device(u, xp)  # host draws for device arrays: move explicitly


def dropout_forward(x, *, p, train: bool, rng=None):
    """Inverted dropout forward pass.

    Inputs
    - x: any shape, floating
    - p: drop probability in [0, 1)
    - train: True drops and rescales; False returns x unchanged (out is x)
    - rng: a ``numpy.random.Generator`` (or a device generator with ``random(shape)``);
      required when train is True. Nothing global is touched.

    Returns (out, cache) with out shaped like x, of x's dtype and device.
    """
    xp = get_array_module(x)
    check_float_array("dropout_forward", "x", x)
    if isinstance(p, bool) or not isinstance(p, Real):
        raise TypeError(f"dropout_forward: p (the drop probability) must be a number, got {p!r}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout_forward: p is the drop probability and must lie in [0, 1), got {p}")
    if not isinstance(train, bool):
        raise TypeError(f"dropout_forward: train must be True or False, got {train!r}")
    if not train:
        return x, DropoutCache(None, float(p))
    if rng is None or not callable(getattr(rng, "random", None)):
        raise TypeError(
            "dropout_forward: train=True needs rng, a random generator such as numpy.random.default_rng(seed); "
            f"got {rng!r}"
        )
    keep = _uniform_on(xp, rng, tuple(x.shape)) >= p  # bool, P(keep) = 1 - p
    mask = keep.astype(x.dtype) / (1.0 - p)
    return x * mask, DropoutCache(mask, float(p))


def dropout_backward(dout, cache: DropoutCache):
    """Inverted dropout backward pass: ``dx = dout * mask`` (``dout`` at test time).

    Inputs: dout shaped like x; cache from :func:`dropout_forward`. Returns dx.
    """
    xp = get_array_module(dout, cache.mask)
    if cache.mask is None:
        return dout
    if tuple(dout.shape) != tuple(cache.mask.shape):
        raise ValueError(f"dropout_backward: dout must have shape {tuple(cache.mask.shape)}, got {tuple(dout.shape)}")
    return xp.multiply(dout, cache.mask)
