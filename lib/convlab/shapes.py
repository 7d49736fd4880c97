"""Shape arithmetic of the lecture notes: output sizes, parameter and memory counts.

The one formula everything uses::

    W2 = (W1 - F_eff + 2P) / S + 1,   F_eff = F + (F - 1)(dilation - 1)

When ``(W1 - F_eff + 2P)`` is not a multiple of ``S`` the filter does not tile
the padded input and the setting is *invalid*: we raise instead of silently
cropping (e.g. W=10, F=3, P=0, S=2 gives 4.5).
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

__all__ = [
    "effective_kernel_size",
    "conv_output_size",
    "TilingFixes",
    "tiling_fixes",
    "tiling_hint",
    "pool_output_size",
    "same_padding",
    "full_padding",
    "padding_for_mode",
    "conv_param_count",
    "grouped_conv_param_count",
    "depthwise_separable_param_count",
    "fc_param_count",
    "locally_connected_param_count",
    "receptive_field",
    "activation_bytes",
]


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def effective_kernel_size(kernel: int, dilation: int = 1) -> int:
    """Spatial extent of a dilated filter: ``F + (F - 1)(dilation - 1)``."""
    kernel = _check_int("kernel", kernel, 1)
    dilation = _check_int("dilation", dilation, 1)
    return kernel + (kernel - 1) * (dilation - 1)


def conv_output_size(size: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1, *,
                     axis: str = "W") -> int:
    """Output size along one spatial axis: ``(size - F_eff + 2*pad) // stride + 1``.

    Inputs
    - size: input extent W1 (or H1), >= 1
    - kernel: filter extent F, >= 1
    - stride: S >= 1; pad: P >= 0 zeros added on *each* side; dilation >= 1 (1 = contiguous)
    - axis: the name the error message gives the size ("W" or "H")

    Returns the integer output extent W2.

    Raises ``ValueError`` naming the numbers when the (dilated) filter is larger
    than the padded input, or when it does not tile the padded input exactly.
    """
    size = _check_int("size", size, 1)
    stride = _check_int("stride", stride, 1)
    pad = _check_int("pad", pad, 0)
    f_eff = effective_kernel_size(kernel, dilation)
    span = size - f_eff + 2 * pad
    desc = f"{axis}={size}, F={kernel}, S={stride}, P={pad}" + (f", dilation={dilation}" if dilation != 1 else "")
    if span < 0:
        raise ValueError(
            f"invalid convolution ({desc}): the filter (effective size {f_eff}) is larger than "
            f"the padded input ({size} + 2*{pad} = {size + 2 * pad}); "
            + tiling_hint(size, kernel, stride, pad, dilation, axis=axis)
        )
    if span % stride:
        raise ValueError(
            f"invalid convolution ({desc}): ({axis} - F_eff + 2P)/S + 1 = ({size} - {f_eff} + {2 * pad})/{stride} + 1 "
            f"= {span / stride + 1:g} is not an integer; the filter does not tile the input; "
            + tiling_hint(size, kernel, stride, pad, dilation, axis=axis)
        )
    return span // stride + 1


class TilingFixes(NamedTuple):
    """The single changes that make a convolution setting tile, the other numbers kept.

    Each field lists every value in its range that works, ascending.
    """

    strides: tuple  # S in 1..max(W + 2P - F_eff, 1)
    pads: tuple  # P in 0..F_eff - 1 (more padding only adds windows that see nothing but zeros)
    kernels: tuple  # F whose effective size fits the padded input
    no_pad_at_all: bool  # True when no padding whatever works: S is even and W - F_eff is odd


def _tiles(size: int, f_eff: int, stride: int, pad: int) -> bool:
    """Whether a filter of effective size ``f_eff`` fits the padded input and tiles it exactly."""
    span = size - f_eff + 2 * pad
    return span >= 0 and span % stride == 0


def tiling_fixes(size: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> TilingFixes:
    """Which strides, paddings and filter sizes make ``(W - F_eff + 2P)/S + 1`` an integer.

    Each list changes one number and keeps the others. Padding changes ``W - F_eff + 2P`` in
    steps of 2, so at an even stride it can never fix an odd ``W - F_eff``: ``no_pad_at_all``.
    Returns a :class:`TilingFixes`; a setting that already tiles appears in its own lists.
    """
    size = _check_int("size", size, 1)
    stride = _check_int("stride", stride, 1)
    pad = _check_int("pad", pad, 0)
    f_eff = effective_kernel_size(kernel, dilation)
    padded = size + 2 * pad
    strides = tuple(s for s in range(1, max(padded - f_eff, 1) + 1) if _tiles(size, f_eff, s, pad))
    pads = tuple(p for p in range(f_eff) if _tiles(size, f_eff, stride, p))
    kernels = tuple(f for f in range(1, padded + 1) if _tiles(size, effective_kernel_size(f, dilation), stride, pad))
    return TilingFixes(strides, pads, kernels, stride % 2 == 0 and (size - f_eff) % 2 == 1)


def _nearest(values, current: int, keep: int = 3) -> str:
    """The ``keep`` values closest to ``current``, ascending: '1, 2 or 4', or '8, 12, 16 (and 3 more)'."""
    chosen = sorted(sorted(values, key=lambda v: (abs(v - current), v))[:keep])
    if len(values) > keep:
        return ", ".join(map(str, chosen)) + f" (and {len(values) - keep} more)"
    return ", ".join(map(str, chosen[:-1])) + f" or {chosen[-1]}" if len(chosen) > 1 else str(chosen[0])


def tiling_hint(size: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1, *,
                axis: str = "W") -> str:
    """One sentence naming only the changes that would make this setting tile (from :func:`tiling_fixes`).

    E.g. W=10, F=3, S=2, P=0: 'no padding works with S=2 here (W - F_eff = 7 is odd and 2P is
    even); keeping the other numbers, S=1 or 7 would tile it, or F=2, 4, 6 (and 2 more)'.
    """
    fixes = tiling_fixes(size, kernel, stride, pad, dilation)
    f_eff = effective_kernel_size(kernel, dilation)
    would = [f"{name}={_nearest(values, current)}" for name, values, current in
             (("S", fixes.strides, stride), ("P", fixes.pads, pad), ("F", fixes.kernels, kernel)) if values]
    parts = []
    if fixes.no_pad_at_all:
        parts.append(f"no padding works with S={stride} here ({axis} - F_eff = {size - f_eff} is odd and 2P is even)")
    elif not fixes.pads:
        parts.append(f"no padding from 0 to F_eff - 1 = {f_eff - 1} works with S={stride} here")
    if would:
        parts.append("keeping the other numbers, " + would[0] + " would tile it"
                     + "".join(f", or {w}" for w in would[1:]))
    return "; ".join(parts) if parts else "no single change of S, P or F makes it tile"


def pool_output_size(size: int, pool: int, stride: int | None = None, pad: int = 0) -> int:
    """Output size of a pooling window ``pool`` with ``stride`` (default: ``pool``): ``(W - F)/S + 1``."""
    return conv_output_size(size, pool, stride if stride is not None else pool, pad)


def same_padding(kernel: int, dilation: int = 1) -> int:
    """Padding that keeps the size at stride 1: ``(F_eff - 1) / 2``; F_eff must be odd."""
    f_eff = effective_kernel_size(kernel, dilation)
    if f_eff % 2 == 0:
        raise ValueError(f"'same' padding needs an odd effective filter size, got {f_eff}")
    return (f_eff - 1) // 2


def full_padding(kernel: int, dilation: int = 1) -> int:
    """Padding for a 'full' convolution (every input pixel meets every tap): ``F_eff - 1``."""
    return effective_kernel_size(kernel, dilation) - 1


def padding_for_mode(mode: str, kernel: int, dilation: int = 1) -> int:
    """Padding for the named mode: ``"valid"`` (0), ``"same"`` or ``"full"``."""
    if mode == "valid":
        return 0
    if mode == "same":
        return same_padding(kernel, dilation)
    if mode == "full":
        return full_padding(kernel, dilation)
    raise ValueError(f"unknown padding mode {mode!r}; use 'valid', 'same' or 'full'")


def _pair(k):
    if isinstance(k, tuple):
        return k
    return (k, k)


def conv_param_count(kernel, in_depth: int, num_filters: int, bias: bool = True) -> int:
    """Parameters of a CONV layer with parameter sharing: ``F*F*D1*K (+ K biases)``.

    ``kernel`` is F or a tuple (FH, FW).
    """
    fh, fw = _pair(kernel)
    return fh * fw * in_depth * num_filters + (num_filters if bias else 0)


def grouped_conv_param_count(kernel, in_depth: int, num_filters: int, groups: int, bias: bool = True) -> int:
    """Parameters of a grouped CONV layer: ``F*F*(D1/g)*(K/g)*g (+ K)``.

    Both ``in_depth`` and ``num_filters`` must be divisible by ``groups``.
    """
    groups = _check_int("groups", groups, 1)
    if in_depth % groups or num_filters % groups:
        raise ValueError(
            f"groups={groups} must divide both the input depth {in_depth} and the number of filters {num_filters}"
        )
    fh, fw = _pair(kernel)
    return fh * fw * (in_depth // groups) * (num_filters // groups) * groups + (num_filters if bias else 0)


def depthwise_separable_param_count(kernel, in_depth: int, num_filters: int, bias: bool = False) -> int:
    """Depthwise (one FxF filter per input channel) then 1x1 pointwise: ``F*F*D1 + D1*K``.

    With ``bias=True`` adds D1 (depthwise) + K (pointwise) biases.
    """
    fh, fw = _pair(kernel)
    return fh * fw * in_depth + in_depth * num_filters + ((in_depth + num_filters) if bias else 0)


def fc_param_count(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully-connected layer: ``in * out (+ out)``."""
    return in_features * out_features + (out_features if bias else 0)


def locally_connected_param_count(out_h: int, out_w: int, kernel, in_depth: int, num_filters: int,
                                  bias: bool = True) -> int:
    """Parameters *without* sharing: every output neuron has its own weights and bias.

    AlexNet conv1: 55*55*96 neurons * (11*11*3 + 1) = 105,705,600.
    """
    fh, fw = _pair(kernel)
    return out_h * out_w * num_filters * (fh * fw * in_depth + (1 if bias else 0))


def receptive_field(kernels, strides=None, dilations=None) -> int:
    """Receptive field (in input pixels) of a stack of layers, along one axis.

    ``r = 1 + sum_i (F_eff_i - 1) * prod_{j<i} S_j``. Three stacked 3x3 stride-1
    layers see 7; two see 5.
    """
    n = len(kernels)
    strides = [1] * n if strides is None else list(strides)
    dilations = [1] * n if dilations is None else list(dilations)
    if len(strides) != n or len(dilations) != n:
        raise ValueError(
            f"receptive_field needs one stride and one dilation per layer: {n} kernels, "
            f"{len(strides)} strides, {len(dilations)} dilations"
        )
    r, jump = 1, 1
    for k, s, d in zip(kernels, strides, dilations):
        r += (effective_kernel_size(k, d) - 1) * jump
        jump *= s
    return r


def activation_bytes(num_values: int, dtype_bytes: int = 4) -> int:
    """Memory of ``num_values`` numbers (4 bytes for float32, 8 for float64)."""
    return int(num_values) * int(dtype_bytes)

