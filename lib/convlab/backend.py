"""Where arrays live: NumPy on the host, CuPy on a CUDA device.

This is the only module that mentions CuPy. Code elsewhere starts with
``xp = get_array_module(x)`` and lets the device follow the data; moving data
between devices is always explicit (:func:`to_device`, :func:`to_numpy`).

CuPy is imported lazily and guardedly: a machine without CuPy, or with CuPy but
no usable GPU, silently runs on NumPy. Asking for ``"cuda"`` explicitly where
there is none raises :class:`DeviceUnavailableError` saying why.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = [
    "DeviceUnavailableError",
    "cupy_or_none",
    "gpu_available",
    "get_array_module",
    "to_numpy",
    "to_device",
    "scatter_add",
]


class DeviceUnavailableError(RuntimeError):
    """Raised when a device is requested explicitly but cannot be used."""


@functools.cache
def _probe_cupy():
    """Return ``(cupy_module_or_None, reason)``; cached, so the probe runs once."""
    try:
        import cupy  # noqa: PLC0415 - guarded optional import
    except Exception as exc:  # ImportError, or a broken CUDA install raising anything
        return None, f"CuPy is not importable ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        return None, f"CuPy is installed but no CUDA device is usable ({exc})"
    if count < 1:
        return None, "CuPy is installed but reports no CUDA device"
    return cupy, ""


def cupy_or_none():
    """The ``cupy`` module when CuPy and a CUDA device are usable, else ``None``."""
    return _probe_cupy()[0]


def gpu_available() -> bool:
    """True when arrays can be placed on a CUDA device."""
    return cupy_or_none() is not None


def _namespace_of(a):
    """The array namespace that owns ``a``, or ``None`` for host/Python values."""
    owner = getattr(type(a), "__array_namespace_owner__", None)
    if owner is not None:  # the device test double (convlab.devicedouble)
        return owner
    mod = type(a).__module__
    if mod.startswith("cupy"):
        return cupy_or_none()
    return None


def get_array_module(*arrays):
    """Return the array module (``numpy``, ``cupy`` or the test double) for ``arrays``.

    Non-array arguments (None, Python numbers) are ignored. Mixing arrays of
    two different devices raises ``TypeError``: convert explicitly first.
    """
    found = None
    for a in arrays:
        ns = _namespace_of(a)
        if ns is None:
            continue
        if found is not None and ns is not found:
            raise TypeError("arrays live on different devices; move them with to_device() first")
        found = ns
    if found is not None:
        for a in arrays:
            if isinstance(a, np.ndarray) and a.ndim > 0:
                raise TypeError(
                    "a NumPy (host) array was mixed with device arrays; "
                    "move it with to_device() first"
                )
        return found
    return np


def to_numpy(a):
    """Copy ``a`` to the host as a NumPy array (a no-op for NumPy arrays)."""
    if isinstance(a, np.ndarray):
        return a
    getter = getattr(a, "get", None)  # CuPy arrays and the test double
    if callable(getter):
        return getter()
    return np.asarray(a)


def to_device(a, device: str | object = "cpu"):
    """Move ``a`` to ``device``: ``"cpu"``, ``"cuda"``, ``"auto"`` or an array namespace.

    ``"auto"`` means CUDA when available, else the CPU. Passing a namespace
    object (for example the test double from :mod:`convlab.devicedouble`)
    places the array there via its ``asarray``.
    """
    if device == "cpu":
        return to_numpy(a)
    if device == "auto":
        device = "cuda" if gpu_available() else "cpu"
        return to_device(a, device)
    if device == "cuda":
        cp, reason = _probe_cupy()
        if cp is None:
            raise DeviceUnavailableError(f"device 'cuda' was requested but {reason}")
        return cp.asarray(to_numpy(a))
    if isinstance(device, str):
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'auto'")
    return device.asarray(to_numpy(a))


def scatter_add(target, index, values):
    """Add ``values`` into ``target[index]`` in place, accumulating repeated indices.

    ``target[index] += values`` silently drops repeats (and is undefined on
    CuPy); this helper is the one place that does unbuffered add-at on any device.
    Returns ``target``.
    """
    xp = get_array_module(target, values)
    if xp is np:
        np.add.at(target, index, values)
    elif hasattr(xp, "add") and hasattr(xp.add, "at"):
        xp.add.at(target, index, values)
    else:  # older CuPy: add-at is cupyx.scatter_add
        import cupyx  # noqa: PLC0415 - only reached with CuPy arrays

        cupyx.scatter_add(target, index, values)
    return target
