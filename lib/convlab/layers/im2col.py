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

``col2im`` is the exact adjoint of ``im2col``: it sends each column entry back
to the input pixel it was copied from, *adding* where receptive fields overlap,
so ``<im2col(x), y> == <x, col2im(y)>``. Both loop over the FH*FW filter offsets
and move strided slices, which works on any device and never writes twice into
the same slot with fancy indexing. Padding is never built: each offset copies
(or adds) only the box of outputs whose tap falls inside the input, and the
entries outside it are zeros.

The work is done by :func:`_fill_columns` and :func:`_add_columns`, which take the
columns as an (n, C, FH, FW, H_out, W_out) view. The convolution layer
(:mod:`.conv`) calls them on the batch-major layout (n, C*FH*FW, H_out*W_out), in
which the product with the filters comes out in NCHW order without a transpose;
``im2col``/``col2im`` call them on a transposed view of the layout above.
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


def _taps(size: int, out: int, stride: int, pad: int, dilation: int, tap: int):
    """Along one axis, which outputs see filter tap ``tap`` inside the (unpadded) input.

    Output ``o`` reads input position ``o * stride + tap * dilation - pad``. Returns
    ``(lo, hi, start)``: outputs ``lo <= o < hi`` land inside ``[0, size)``, starting at
    input position ``start`` and stepping by ``stride``; the others read padding.
    """
    shift = tap * dilation - pad
    lo = min(out, max(0, -(shift // stride)))  # first o with o * stride + shift >= 0
    hi = max(lo, min(out, (size - 1 - shift) // stride + 1))  # first o past the last inside
    return lo, hi, lo * stride + shift


def _offsets(x_hw, out_hw, FH, FW, stride, pad, dilation):
    """Yield ``(i, j, (rlo, rhi, clo, chi), x_index)`` for every filter offset.

    ``x_index`` selects, from an (n, C, H, W) array, the input pixels that filter
    tap (i, j) meets for the outputs ``rlo <= ho < rhi``, ``clo <= wo < chi``; the
    outputs outside that box read zero padding.
    """
    (H, W), (Ho, Wo) = x_hw, out_hw
    for i in range(FH):
        rlo, rhi, r0 = _taps(H, Ho, stride[0], pad[0], dilation[0], i)
        for j in range(FW):
            clo, chi, c0 = _taps(W, Wo, stride[1], pad[1], dilation[1], j)
            x_index = (slice(None), slice(None),
                       slice(r0, r0 + stride[0] * (rhi - rlo - 1) + 1, stride[0]),
                       slice(c0, c0 + stride[1] * (chi - clo - 1) + 1, stride[1]))
            yield i, j, (rlo, rhi, clo, chi), x_index


def _flat_shift(x_hw, out_hw, stride, pad, dilation, i, j, box):
    """For rows that line up (stride 1 and W_out == W), tap (i, j) as one shift of the flattened image.

    Then output ``m = ho * W + wo`` reads input pixel ``m + shift`` of the image
    flattened to H*W, so a whole tap is one unit-stride slice instead of H_out
    short rows. Returns ``(lo, hi, shift)`` with ``lo <= m < hi`` the outputs of the
    box's rows whose ``m + shift`` lies in the image; the outputs of those rows
    outside the box's columns wrap around to a neighbouring row and must be
    masked by the caller. Returns ``None`` when the rows do not line up.
    """
    (H, W), (Ho, Wo) = x_hw, out_hw
    if stride != (1, 1) or Wo != W:
        return None
    rlo, rhi, _, _ = box
    shift = (i * dilation[0] - pad[0]) * W + (j * dilation[1] - pad[1])
    return max(rlo * W, -shift), min(rhi * W, H * W - shift), shift


def _fill_columns(cols6, x, stride, pad, dilation) -> None:
    """Write the receptive fields of ``x`` (n, C, H, W) into ``cols6`` (n, C, FH, FW, H_out, W_out).

    ``cols6`` may be any view of that shape (the two public layouts are transposes
    of each other); padding is never materialised: entries that read padding are
    set to zero, the rest are copied with one slice per filter offset (one
    unit-stride slice of the flattened image where rows line up, see
    :func:`_flat_shift`; a strided box otherwise).
    """
    n, C, FH, FW, Ho, Wo = cols6.shape
    H, W = x.shape[2:]
    for i, j, box, x_index in _offsets((H, W), (Ho, Wo), FH, FW, stride, pad, dilation):
        rlo, rhi, clo, chi = box
        tap = cols6[:, :, i, j]  # (n, C, Ho, Wo)
        if rhi == rlo or chi == clo:
            tap[...] = 0
            continue
        flat = _flat_shift((H, W), (Ho, Wo), stride, pad, dilation, i, j, box)
        if flat is None:
            tap[:, :, rlo:rhi, clo:chi] = x[x_index]
            tap[:, :, :rlo] = 0  # rows above and below the box read padding
            tap[:, :, rhi:] = 0
        else:
            lo, hi, shift = flat
            tap_flat = tap.reshape(n, C, Ho * Wo)  # a view: the last two axes are contiguous
            tap_flat[:, :, lo:hi] = x.reshape(n, C, H * W)[:, :, lo + shift:hi + shift]
            tap_flat[:, :, :lo] = 0
            tap_flat[:, :, hi:] = 0
        # left and right of the box read padding (on the flat path they hold wrapped pixels)
        if clo > 0:
            tap[:, :, rlo:rhi, :clo] = 0
        if chi < Wo:
            tap[:, :, rlo:rhi, chi:] = 0


def _add_columns(dx, cols6, stride, pad, dilation, *, scratch=False) -> None:
    """The adjoint of :func:`_fill_columns`: add every entry of ``cols6`` into the pixel of ``dx`` it came from.

    ``dx`` (n, C, H, W), C-contiguous, is updated in place; entries that came
    from padding are dropped. Each filter offset is one slice ``+=``: within one
    offset no pixel appears twice, so the adds are exact without a scatter. With
    ``scratch=True`` the caller gives ``cols6`` up: where rows line up, the
    entries that came from padding are zeroed in it so that the whole tap can be
    added as one unit-stride slice of the flattened image.
    """
    n, C, FH, FW, Ho, Wo = cols6.shape
    H, W = dx.shape[2:]
    for i, j, box, x_index in _offsets((H, W), (Ho, Wo), FH, FW, stride, pad, dilation):
        rlo, rhi, clo, chi = box
        if rhi == rlo or chi == clo:
            continue
        flat = _flat_shift((H, W), (Ho, Wo), stride, pad, dilation, i, j, box) if scratch else None
        if flat is None:
            dx[x_index] += cols6[:, :, i, j, rlo:rhi, clo:chi]
            continue
        lo, hi, shift = flat
        tap = cols6[:, :, i, j]  # (n, C, Ho, Wo)
        tap[:, :, rlo:rhi, :clo] = 0  # would wrap to the neighbouring row
        tap[:, :, rlo:rhi, chi:] = 0
        dx.reshape(n, C, H * W)[:, :, lo + shift:hi + shift] += tap.reshape(n, C, Ho * Wo)[:, :, lo:hi]


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
    stride, pad, dilation, Ho, Wo = _geometry("im2col", x.shape, FH, FW, stride, pad, dilation)
    N, C, _, _ = x.shape
    cols = xp.empty((C, FH, FW, N, Ho, Wo), dtype=x.dtype)
    _fill_columns(cols.transpose(3, 0, 1, 2, 4, 5), x, stride, pad, dilation)  # written through the view
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
    stride, pad, dilation, Ho, Wo = _geometry("col2im", x_shape, FH, FW, stride, pad, dilation)
    N, C, H, W = x_shape
    check_shape("col2im", "cols", cols, (C * FH * FW, N * Ho * Wo))
    dx = xp.zeros(x_shape, dtype=cols.dtype)
    _add_columns(dx, cols.reshape(C, FH, FW, N, Ho, Wo).transpose(3, 0, 1, 2, 4, 5), stride, pad, dilation)
    return dx
