"""im2col / col2im: convolution as one matrix multiply.

Column layout (the lecture notes' ``X_col``, with the images of the batch side
by side)::

    cols.shape == (C * FH * FW, N * H_out * W_out)
    cols[(c * FH + i) * FW + j, (n * H_out + ho) * W_out + wo]
        == x_pad[n, c, ho * SH + i * DH, wo * SW + j * DW]

Each column is one receptive field stretched out (channel-major, then filter
row, then filter column, matching ``w.reshape(K, C * FH * FW)``); the columns run
over images, then output rows, then output columns. For a 227x227x3 input with
11x11 filters at stride 4 this gives 363 rows and 55*55 = 3025 columns per image.

``col2im`` is the exact adjoint of ``im2col``: it scatters each column entry back
to the input pixel it was copied from, *adding* where receptive fields overlap,
so ``<im2col(x), y> == <x, col2im(y)>``. Both loop over the FH*FW filter offsets
and move strided slices, which works on any device and never writes twice into
the same slot with fancy indexing.
"""

from __future__ import annotations

from convlab.backend import get_array_module
from convlab.layers._checks import as_pair, check_ndim, check_shape, output_hw

__all__ = ["im2col", "col2im", "pad_hw"]


def pad_hw(x, ph: int, pw: int):
    """Zero-pad the two spatial axes of ``x`` (N, C, H, W) -> (N, C, H + 2ph, W + 2pw)."""
    xp = get_array_module(x)
    if ph == 0 and pw == 0:
        return x
    N, C, H, W = x.shape
    x_pad = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=x.dtype)
    x_pad[:, :, ph:ph + H, pw:pw + W] = x
    return x_pad


def _geometry(func, x_shape, FH, FW, stride, pad, dilation):
    """Validated ``(stride, pad, dilation, H_out, W_out)`` with pairs for the first three."""
    FH, FW = as_pair(func, "filter size (FH, FW)", (FH, FW), 1)
    stride = as_pair(func, "stride", stride, 1)
    pad = as_pair(func, "pad", pad, 0)
    dilation = as_pair(func, "dilation", dilation, 1)
    _, _, H, W = x_shape
    Ho, Wo = output_hw(func, H, W, FH, FW, stride, pad, dilation)
    return stride, pad, dilation, Ho, Wo


def im2col(x, FH: int, FW: int, *, stride=1, pad=0, dilation=1):
    """Stretch every receptive field of ``x`` into a column.

    Inputs
    - x: (N, C, H, W) input volume
    - FH, FW: filter height and width
    - stride, pad, dilation: ints or (h, w) pairs (S, P and the gap between taps)

    Returns cols: (C * FH * FW, N * H_out * W_out), laid out as the module
    docstring describes; same dtype and device as ``x``.
    """
    xp = get_array_module(x)
    check_ndim("im2col", "x", x, 4, "(N, C, H, W)")
    (sh, sw), (ph, pw), (rh, rw), Ho, Wo = _geometry("im2col", x.shape, FH, FW, stride, pad, dilation)
    N, C, _, _ = x.shape
    x_pad = pad_hw(x, ph, pw)
    cols = xp.empty((C, FH, FW, N, Ho, Wo), dtype=x.dtype)
    for i in range(FH):
        r0 = i * rh
        for j in range(FW):
            c0 = j * rw
            patch = x_pad[:, :, r0:r0 + sh * (Ho - 1) + 1:sh, c0:c0 + sw * (Wo - 1) + 1:sw]  # (N, C, Ho, Wo)
            cols[:, i, j] = patch.transpose(1, 0, 2, 3)  # (C, N, Ho, Wo)
    return cols.reshape(C * FH * FW, N * Ho * Wo)  # (C*FH*FW, N*Ho*Wo)


def col2im(cols, x_shape, FH: int, FW: int, *, stride=1, pad=0, dilation=1):
    """Adjoint of :func:`im2col`: sum every column entry back into its input pixel.

    Inputs
    - cols: (C * FH * FW, N * H_out * W_out), e.g. the gradient w.r.t. im2col's output
    - x_shape: (N, C, H, W) of the original input
    - FH, FW, stride, pad, dilation: as given to :func:`im2col`

    Returns an (N, C, H, W) array; entries where receptive fields overlap receive
    the sum of all their column entries (padding positions are dropped).
    """
    xp = get_array_module(cols)
    x_shape = tuple(int(s) for s in x_shape)
    if len(x_shape) != 4:
        raise ValueError(f"col2im: x_shape must be (N, C, H, W), got {x_shape}")
    check_ndim("col2im", "cols", cols, 2, "(C*FH*FW, N*H_out*W_out)")
    (sh, sw), (ph, pw), (rh, rw), Ho, Wo = _geometry("col2im", x_shape, FH, FW, stride, pad, dilation)
    N, C, H, W = x_shape
    check_shape("col2im", "cols", cols, (C * FH * FW, N * Ho * Wo))
    cols6 = cols.reshape(C, FH, FW, N, Ho, Wo)  # (C, FH, FW, N, Ho, Wo)
    x_pad = xp.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=cols.dtype)
    for i in range(FH):
        r0 = i * rh
        for j in range(FW):
            c0 = j * rw
            # one strided slice per offset: no slot appears twice, so += accumulates correctly
            x_pad[:, :, r0:r0 + sh * (Ho - 1) + 1:sh, c0:c0 + sw * (Wo - 1) + 1:sw] += (
                cols6[:, i, j].transpose(1, 0, 2, 3)  # (N, C, Ho, Wo)
            )
    return x_pad[:, :, ph:ph + H, pw:pw + W]
