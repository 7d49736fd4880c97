"""Validation of convolution arguments, shared by the naive and the im2col layer."""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

from convlab.layers._checks import (
    as_pair,
    check_float_array,
    check_ndim,
    check_same_dtype,
    check_shape,
    output_hw,
)

__all__ = ["ConvGeometry", "conv_geometry"]


class ConvGeometry(NamedTuple):
    """Settings of one convolution, every spatial one as an ``(h, w)`` pair."""

    stride: tuple[int, int]
    pad: tuple[int, int]
    dilation: tuple[int, int]
    groups: int
    out_hw: tuple[int, int]  # (H_out, W_out)


def conv_geometry(func: str, x, w, b, *, stride, pad, dilation, groups) -> ConvGeometry:
    """Check ``x`` (N, C, H, W), ``w`` (K, C/groups, FH, FW), ``b`` (K,) and the settings.

    Raises ``TypeError`` for non-arrays, non-floating or mixed dtypes and
    non-integer settings; ``ValueError`` for wrong ranks, channel or bias
    mismatches, groups not dividing C or K, and filters that do not fit or tile
    the padded input (the message names the axis and the numbers).
    """
    check_ndim(func, "x", x, 4, "(N, C, H, W)")
    check_ndim(func, "w", w, 4, "(K, C/groups, FH, FW)")
    check_ndim(func, "b", b, 1, "(K,)")
    for name, a in (("x", x), ("w", w), ("b", b)):
        check_float_array(func, name, a)
    check_same_dtype(func, x=x, w=w, b=b)
    if isinstance(groups, bool) or not isinstance(groups, Integral):
        raise TypeError(f"{func}: groups must be an int, got {groups!r}")
    if groups < 1:
        raise ValueError(f"{func}: groups must be >= 1, got {groups}")
    N, C, H, W = x.shape
    K, Cg, FH, FW = w.shape
    if C % groups:
        raise ValueError(f"{func}: groups={groups} does not divide the input channels C={C}")
    if K % groups:
        raise ValueError(f"{func}: groups={groups} does not divide the number of filters K={K}")
    if Cg * groups != C:
        raise ValueError(
            f"{func}: channel mismatch: x has C={C} channels but w has shape {tuple(w.shape)}, "
            f"i.e. w.shape[1] * groups = {Cg} * {groups} = {Cg * groups}"
        )
    check_shape(func, "b", b, (K,))
    stride = as_pair(func, "stride", stride, 1)
    pad = as_pair(func, "pad", pad, 0)
    dilation = as_pair(func, "dilation", dilation, 1)
    out_hw = output_hw(func, H, W, FH, FW, stride, pad, dilation)
    return ConvGeometry(stride, pad, dilation, int(groups), out_hw)
