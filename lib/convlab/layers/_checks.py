"""Argument checks shared by the layers: fail early, with a message naming the problem.

Every public layer validates its inputs with these helpers *before* computing
anything, so a wrong shape or dtype surfaces as a clear ``ValueError`` or
``TypeError`` instead of a broadcasting traceback from deep inside NumPy.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np

from convlab.shapes import conv_output_size

__all__ = [
    "as_pair",
    "check_float_array",
    "check_ndim",
    "check_same_dtype",
    "check_shape",
    "output_hw",
]


def check_ndim(func: str, name: str, a, ndim: int, layout: str) -> None:
    """Raise ``ValueError`` unless ``a`` has ``ndim`` dimensions (``layout`` names them)."""
    actual = getattr(a, "ndim", None)
    if actual is None:
        raise TypeError(f"{func}: {name} must be an array, got {type(a).__name__}")
    if actual != ndim:
        raise ValueError(
            f"{func}: {name} must be {ndim}-D {layout}, got {actual}-D array of shape {tuple(a.shape)}"
        )


def check_float_array(func: str, name: str, a) -> None:
    """Raise ``TypeError`` unless ``a`` is an array of a floating-point dtype."""
    dtype = getattr(a, "dtype", None)
    if dtype is None:
        raise TypeError(f"{func}: {name} must be an array, got {type(a).__name__}")
    if np.dtype(dtype).kind != "f":
        raise TypeError(
            f"{func}: {name} must have a floating-point dtype (float32 or float64), got {np.dtype(dtype)}; "
            f"convert it with .astype(np.float64)"
        )


def check_same_dtype(func: str, **arrays) -> None:
    """Raise ``TypeError`` when the named arrays do not share one dtype (no silent promotion)."""
    dtypes = {name: np.dtype(a.dtype) for name, a in arrays.items()}
    if len(set(dtypes.values())) > 1:
        listing = ", ".join(f"{name} is {dt}" for name, dt in dtypes.items())
        raise TypeError(f"{func}: mixed dtypes ({listing}); cast them to one dtype first")


def check_shape(func: str, name: str, a, expected: tuple) -> None:
    """Raise ``ValueError`` unless ``a.shape == expected``."""
    if tuple(a.shape) != tuple(expected):
        raise ValueError(f"{func}: {name} must have shape {tuple(expected)}, got {tuple(a.shape)}")


def as_pair(func: str, name: str, value, minimum: int) -> tuple[int, int]:
    """Turn an int or an ``(h, w)`` pair into ``(h, w)``, each an int ``>= minimum``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(items) != 2:
        raise ValueError(f"{func}: {name} must be an int or a pair (h, w), got {value!r}")
    for v in items:
        if isinstance(v, bool) or not isinstance(v, Integral):
            raise TypeError(f"{func}: {name} must be an int or a pair of ints, got {value!r}")
        if v < minimum:
            raise ValueError(f"{func}: {name} must be >= {minimum}, got {value!r}")
    return int(items[0]), int(items[1])


def output_hw(func: str, H: int, W: int, FH: int, FW: int, stride, pad, dilation) -> tuple[int, int]:
    """``(H_out, W_out)`` via :func:`convlab.shapes.conv_output_size`, naming the failing axis.

    ``stride``, ``pad`` and ``dilation`` are ``(h, w)`` pairs. The ``ValueError``
    from ``conv_output_size`` (filter larger than the padded input, or a stride
    that does not tile it) is re-raised with the function and the axis prepended.
    """
    sizes = []
    for axis, name, size, kernel, s, p, d in (
        ("height", "H", H, FH, stride[0], pad[0], dilation[0]),
        ("width", "W", W, FW, stride[1], pad[1], dilation[1]),
    ):
        try:
            sizes.append(conv_output_size(size, kernel, s, p, d, axis=name))
        except ValueError as exc:
            raise ValueError(f"{func}: along the {axis} ({name}): {exc}") from None
    return sizes[0], sizes[1]
