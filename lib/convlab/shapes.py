"""Shape arithmetic of the lecture notes: output sizes, parameter and memory counts.

The one formula everything uses::

    W2 = (W1 - F_eff + 2P) / S + 1,   F_eff = F + (F - 1)(dilation - 1)

When ``(W1 - F_eff + 2P)`` is not a multiple of ``S`` the filter does not tile
the padded input and the setting is *invalid*: we raise instead of silently
cropping (e.g. W=10, F=3, P=0, S=2 gives 4.5).
"""

from __future__ import annotations

from numbers import Integral

__all__ = [
    "effective_kernel_size",
    "conv_output_size",
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
            f"the padded input ({size} + 2*{pad} = {size + 2 * pad})"
        )
    if span % stride:
        raise ValueError(
            f"invalid convolution ({desc}): ({axis} - F_eff + 2P)/S + 1 = ({size} - {f_eff} + {2 * pad})/{stride} + 1 "
            f"= {span / stride + 1:g} is not an integer; the filter does not tile the input "
            f"(change the padding or the stride)"
        )
    return span // stride + 1


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

