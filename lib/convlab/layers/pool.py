"""Pooling layers: max, average and L2-norm pooling over (FH, FW) windows.

Each depth slice is pooled independently: a window of ``size = (FH, FW)``
slides over H and W with ``stride = (SH, SW)``, and
``H_out = (H - FH) / SH + 1`` (:func:`convlab.shapes.pool_output_size`; a
window that does not tile the input is an error). Windows may overlap
(``stride < size``, e.g. 3x3 windows at stride 2): every backward pass here
*adds* into the input gradient, so a pixel shared by several windows gets the
sum of their contributions (max pooling writes each pixel's first contribution
and adds only the later ones, so windows that do not overlap are never added). All loops run over the
FH*FW window offsets and move strided slices, so the same code serves NumPy and
CuPy. The max-pool loops are branch-free arithmetic (a switch is updated as
``s += wins * (k - s)``, a gradient is ``dout * (switches == k)``), which NumPy
vectorises; a masked ``where`` was several times slower. One consequence: an
upstream gradient that is inf or NaN spreads NaN over its whole window
(``inf * 0``), where a masked copy would have kept it on the switch pixel.

Max-pool ties: the switch of a window is the *first* maximum in row-major
window order (top row first, left to right), as ``argmax`` returns it, and that
one pixel receives the window's whole gradient; the other tied pixels get none.
"""

from __future__ import annotations

from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._checks import as_pair, check_float_array, check_ndim
from convlab.layers._chunks import images_per_chunk
from convlab.shapes import pool_output_size

__all__ = [
    "PoolCache",
    "MaxPoolCache",
    "L2PoolCache",
    "max_pool_forward",
    "max_pool_backward",
    "avg_pool_forward",
    "avg_pool_backward",
    "l2_pool_forward",
    "l2_pool_backward",
]


class PoolCache(NamedTuple):
    """Geometry of a pooling pass (all average pooling needs)."""

    x_shape: tuple  # (N, C, H, W)
    size: tuple[int, int]  # (FH, FW)
    stride: tuple[int, int]  # (SH, SW)
    out_hw: tuple[int, int]  # (H_out, W_out)


class MaxPoolCache(NamedTuple):
    """Geometry plus the switches: the flat window index of each output's maximum."""

    geometry: PoolCache
    switches: object  # (N, C, H_out, W_out) ints in [0, FH*FW), row-major window order


class L2PoolCache(NamedTuple):
    """Geometry plus the input and the output (the gradient is ``x / out``)."""

    geometry: PoolCache
    x: object  # (N, C, H, W)
    out: object  # (N, C, H_out, W_out)


def _pool_geometry(func: str, x, size, stride) -> PoolCache:
    """Validate ``x`` and the window settings; compute the output size."""
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    check_float_array(func, "x", x)
    FH, FW = as_pair(func, "size", size, 1)
    SH, SW = as_pair(func, "stride", stride, 1)
    _, _, H, W = x.shape
    out_hw = []
    for axis, n, f, s in (("height (H)", H, FH, SH), ("width (W)", W, FW, SW)):
        try:
            out_hw.append(pool_output_size(n, f, s))
        except ValueError as exc:
            raise ValueError(f"{func}: along the {axis}: {exc}") from None
    return PoolCache(tuple(x.shape), (FH, FW), (SH, SW), (out_hw[0], out_hw[1]))


def _offsets(geo: PoolCache):
    """Yield ``(k, index)`` for each window offset: k = i*FW + j, index selects the strided slice.

    ``a[index]`` for an (N, C, H, W) array is the (N, C, H_out, W_out) array of
    the pixels at offset (i, j) of every window.
    """
    (FH, FW), (SH, SW), (Ho, Wo) = geo.size, geo.stride, geo.out_hw
    for i in range(FH):
        for j in range(FW):
            rows = slice(i, i + SH * (Ho - 1) + 1, SH)
            cols = slice(j, j + SW * (Wo - 1) + 1, SW)
            yield i * FW + j, (slice(None), slice(None), rows, cols)


def _switch_dtype(xp, geo: PoolCache):
    """The narrowest integer type holding every window offset (int8 up to 127 of them)."""
    FH, FW = geo.size
    return xp.int8 if FH * FW <= 127 else xp.int32


def _check_dout(func: str, dout, geo: PoolCache) -> None:
    expected = tuple(geo.x_shape[:2]) + tuple(geo.out_hw)
    if tuple(dout.shape) != expected:
        raise ValueError(f"{func}: dout must have shape {expected}, got {tuple(dout.shape)}")


def max_pool_forward(x, *, size=2, stride=2):
    """Max pooling forward pass.

    Inputs
    - x: (N, C, H, W) floating input
    - size: window (FH, FW) or an int; stride: (SH, SW) or an int (overlap allowed)

    Returns (out, cache) with out: (N, C, H_out, W_out); the cache keeps the
    switches (which pixel of each window won; ties go to the first maximum in
    row-major window order).
    """
    xp = get_array_module(x)
    geo = _pool_geometry("max_pool_forward", x, size, stride)
    N, C, _, _ = x.shape
    Ho, Wo = geo.out_hw
    out = xp.empty((N, C, Ho, Wo), dtype=x.dtype)
    switches = xp.empty((N, C, Ho, Wo), dtype=xp.intp)
    # scratch for one chunk of images, reused by every chunk and offset: the running switch in a
    # narrow integer type (faster to update), the pixels of one offset, their comparison, the update
    chunk = images_per_chunk(N, C * Ho * Wo * x.dtype.itemsize)
    running = xp.empty((chunk, C, Ho, Wo), dtype=_switch_dtype(xp, geo))
    pixels, wins, step = xp.empty((chunk, C, Ho, Wo), dtype=x.dtype), xp.empty(running.shape, dtype=bool), \
        xp.empty_like(running)
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        n = stop - start
        xs, best, switch = x[start:stop], out[start:stop], running[:n]
        offsets = _offsets(geo)
        _, first = next(offsets)
        best[...] = xs[first]  # the running maximum starts at window offset 0
        switch[...] = 0
        for k, index in offsets:
            pixels[:n] = xs[index]  # (n, C, Ho, Wo), offset k of every window: one strided copy
            xp.greater(pixels[:n], best, out=wins[:n])  # strictly: on a tie the earlier offset keeps it
            xp.subtract(switch.dtype.type(k), switch, out=step[:n])
            xp.multiply(wins[:n], step[:n], out=step[:n])
            switch += step[:n]  # switch = k where wins, without branches
            xp.maximum(best, pixels[:n], out=best)
        switches[start:stop] = switch
    return out, MaxPoolCache(geo, switches)


def max_pool_backward(dout, cache: MaxPoolCache):
    """Max pooling backward pass: each window's gradient goes to its switch pixel.

    Inputs
    - dout: (N, C, H_out, W_out) upstream gradient
    - cache: from :func:`max_pool_forward`

    Returns dx: (N, C, H, W); pixels that win several overlapping windows get the sum.
    """
    xp = get_array_module(dout, cache.switches)
    geo, switches = cache
    _check_dout("max_pool_backward", dout, geo)
    (FH, FW), (SH, SW) = geo.size, geo.stride
    N, C, Ho, Wo = dout.shape
    # Offsets (i, j) with i < SH and j < SW never share a pixel, within a window or across windows,
    # and in row-major order each pixel's first visit is one of them: they write, the rest add.
    # When the windows are at least as large as the stride, those offsets tile the top-left
    # (SH*Ho, SW*Wo) block, so only the strips outside it need zeros first.
    tiles = FH >= SH and FW >= SW
    dx = xp.empty(geo.x_shape, dtype=dout.dtype) if tiles else xp.zeros(geo.x_shape, dtype=dout.dtype)
    if tiles:
        dx[:, :, SH * Ho:] = 0
        dx[:, :, :SH * Ho, SW * Wo:] = 0
    # scratch for one chunk of images, reused: the switches in a narrow integer type (faster to
    # compare), which of them are offset k, and that offset's gradient
    chunk = images_per_chunk(N, C * Ho * Wo * dout.dtype.itemsize)
    narrow = xp.empty((chunk, C, Ho, Wo), dtype=_switch_dtype(xp, geo))
    won, grad = xp.empty(narrow.shape, dtype=bool), xp.empty((chunk, C, Ho, Wo), dtype=dout.dtype)
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        n = stop - start
        narrow[:n] = switches[start:stop]
        dxs, douts = dx[start:stop], dout[start:stop]
        for k, index in _offsets(geo):
            xp.equal(narrow[:n], k, out=won[:n])
            if k // FW < SH and k % FW < SW:
                xp.multiply(douts, won[:n], out=dxs[index])
            else:
                xp.multiply(douts, won[:n], out=grad[:n])
                dxs[index] += grad[:n]  # overlapping windows: a pixel that wins several gets the sum
    return dx


def avg_pool_forward(x, *, size=2, stride=2):
    """Average pooling forward pass.

    Inputs: x (N, C, H, W); size and stride as for :func:`max_pool_forward`.
    Returns (out, cache) with out: (N, C, H_out, W_out), the mean of each window.
    """
    xp = get_array_module(x)
    geo = _pool_geometry("avg_pool_forward", x, size, stride)
    N, C, _, _ = x.shape
    (FH, FW), (Ho, Wo) = geo.size, geo.out_hw
    total = xp.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for _, index in _offsets(geo):
        total += x[index]
    return total / (FH * FW), geo


def avg_pool_backward(dout, cache: PoolCache):
    """Average pooling backward pass.

    Inputs: dout (N, C, H_out, W_out); cache from :func:`avg_pool_forward`.
    Returns dx: (N, C, H, W); each window spreads dout / (FH*FW) over its pixels.
    """
    xp = get_array_module(dout)
    _check_dout("avg_pool_backward", dout, cache)
    FH, FW = cache.size
    share = dout / (FH * FW)
    dx = xp.zeros(cache.x_shape, dtype=dout.dtype)
    for _, index in _offsets(cache):
        dx[index] += share
    return dx


def l2_pool_forward(x, *, size=2, stride=2):
    """L2-norm pooling forward pass: ``out = sqrt(sum of squares over the window)``.

    Inputs: x (N, C, H, W); size and stride as for :func:`max_pool_forward`.
    Returns (out, cache) with out: (N, C, H_out, W_out), non-negative.
    """
    xp = get_array_module(x)
    geo = _pool_geometry("l2_pool_forward", x, size, stride)
    N, C, _, _ = x.shape
    Ho, Wo = geo.out_hw
    sumsq = xp.zeros((N, C, Ho, Wo), dtype=x.dtype)
    for _, index in _offsets(geo):
        sumsq += x[index] * x[index]
    out = xp.sqrt(sumsq)
    return out, L2PoolCache(geo, x, out)


def l2_pool_backward(dout, cache: L2PoolCache):
    """L2-norm pooling backward pass: ``dx = dout * x / out`` summed over windows.

    The norm is not differentiable where a window is all zeros (out == 0). There
    we return the zero gradient (the smallest subgradient), so all-zero windows,
    e.g. after a ReLU, pass nothing back instead of NaN.

    Inputs: dout (N, C, H_out, W_out); cache from :func:`l2_pool_forward`.
    Returns dx: (N, C, H, W).
    """
    xp = get_array_module(dout, cache.x)
    geo, x, out = cache
    _check_dout("l2_pool_backward", dout, geo)
    nonzero = out > 0
    scale = xp.where(nonzero, dout / xp.where(nonzero, out, 1), 0)  # (N, C, Ho, Wo); 0 for all-zero windows
    dx = xp.zeros(geo.x_shape, dtype=dout.dtype)
    for _, index in _offsets(geo):
        dx[index] += x[index] * scale
    return dx
