"""Winograd minimal filtering F(2x2, 3x3): a 3x3, stride-1 convolution with 2.25x fewer multiplications.

**The 1D identity F(2, 3).** Two outputs of a 3-tap filter ``g`` over four inputs ``d``,
``y0 = d0 g0 + d1 g1 + d2 g2`` and ``y1 = d1 g0 + d2 g1 + d3 g2``, take six multiplications
the direct way. Winograd (and Lavin & Gray 2015, "Fast Algorithms for Convolutional Neural
Networks") get them with four::

    m0 = (d0 - d2) g0                  m2 = (d2 - d1) (g0 - g1 + g2) / 2
    m1 = (d1 + d2) (g0 + g1 + g2) / 2  m3 = (d1 - d3) g2
    y0 = m0 + m1 + m2                  y1 = m1 - m2 - m3

(expand them: every cross term cancels). In matrices, ``y = A^T [(G g) * (B^T d)]`` with ``*``
the elementwise product and::

          | 1  0 -1  0 |          | 1    0    0   |
    B^T = | 0  1  1  0 |      G = | 1/2  1/2  1/2 |      A^T = | 1  1  1  0 |
          | 0 -1  1  0 |          | 1/2 -1/2  1/2 |            | 0  1 -1 -1 |
          | 0  1  0 -1 |          | 0    0    1   |

``B^T`` (4x4) transforms a 4-sample input tile, ``G`` (4x3) the filter, ``A^T`` (2x4) brings
the four products back to two outputs (the module constants :data:`B_T`, :data:`G`, :data:`A_T`).

**2D by nesting.** Applying the identity along rows and along columns gives F(2x2, 3x3):
a 4x4 input tile ``d`` and a 3x3 filter ``g`` make a 2x2 output tile::

    Y = A^T [ (G g G^T) * (B^T d B) ] A        U = G g G^T (4x4),  V = B^T d B (4x4)

That is 16 elementwise products per 2x2 output tile, where the direct convolution needs
4 * 9 = 36: 2.25x fewer. The transforms only add and subtract (and halve, for ``U``), and
each is paid once, not once per product: ``U`` once per filter (tiny), ``V`` once per input
tile and channel, the output transform once per output tile and filter.

**Tiles.** Output tile (th, tw) covers outputs ``2th..2th+1`` x ``2tw..2tw+1`` and reads the
4x4 input patch of the zero-padded input starting at ``(2th, 2tw)``: the patches overlap by two
rows and two columns (4x4 tiles with stride 2). An odd ``H_out`` or ``W_out`` is handled by
one extra zero row (column) at the bottom (right) of the padded input: the last tile then
computes one output row too many, which is cropped away.

**Channels make it a matmul.** A layer sums over C input channels, and the transforms are
linear, so the sum moves inside: for each of the 16 positions ``xi`` of the 4x4 transform
domain, ``M[xi][k, t] = sum_c U[xi][k, c] V[xi][c, t]`` over all tiles ``t``. That is 16
matrix products (K x C) @ (C x T), run as ONE batched ``xp.matmul`` over a stacked (16, ...)
array, and then ``Y = A^T M A`` per tile. The products carry the FLOPs, at 16 / 36 of im2col's.

**Backward.** Every step is linear, so the backward pass runs the adjoints in reverse order
(``Mhat`` is the gradient with respect to ``M``):

- ``Mhat = A dY A^T`` (the adjoint of the output transform; cropped outputs get zero gradient);
- ``dU[xi] = Mhat[xi] (K x T) @ V[xi]^T (T x C)`` and ``dw = G^T dU G``;
- ``dV[xi] = U[xi]^T (C x K) @ Mhat[xi] (K x T)``, then each tile's gradient ``B dV B^T`` is
  added back into the overlapping 4x4 patches (overlap-add: tile ``th`` and tile ``th + 1``
  share two rows, so they must be summed, never overwritten), and the padding is cropped off.

**In code.** NumPy pays for every inner loop it runs, so the layout is chosen to keep inner
loops long: inside the layer the data is channel-last. A chunk of ``n`` images is padded into
``x_pad`` (n, Hp, 2, Wp/2, C) by one transposing copy that also splits every row's columns by
parity (column ``2q + p`` is ``x_pad[:, :, p, q]``), the transformed tiles are
``V`` (4, 4, n, TH, TW, C), i.e. (16, T, C) with T = n*TH*TW tiles, the products are
``M = V @ U^T``, (16, T, C) @ (16, C, K) -> (16, T, K), and the output tiles are assembled in a
channel-last buffer that one transposing copy turns into the NCHW output. The transforms are
separable (rows, then columns) and are written as additions of strided slices, never as products
with the 4x4 matrices: ``B^T d`` along H is ``(d0 - d2, d1 + d2, d2 - d1, d1 - d3)`` with ``d_r``
the slice holding row ``r`` of every tile, ``x_pad[:, r:r + 2*TH:2]``, a run of whole rows. Along
W, sample ``r`` of tile ``t`` is column ``2t + r``: in the split layout that is ``[r % 2, t + r // 2]``,
so each sample is one run of TW*C numbers where the plain layout gives runs of C with gaps
(measured on B: the column step 1.58 -> 1.14 ms per batch). Images go through in chunks
(:func:`convlab.layers._chunks.images_per_chunk`) with scratch buffers reused from chunk to
chunk, except ``V``: the forward pass writes the whole batch's ``V`` (16*C numbers per 2x2 output
tile, four times the input) and the cache keeps it for ``dU``, so the backward pass does not
transform the input again (measured on issue 13's B, 64x32x16x16 -> 64: forward + backward 6%
faster than recomputing it; the peak extra memory grows from 0.37 to 0.82 column matrices).
The filter products are multiplied from a C-contiguous copy of ``U``: as a transposed view,
OpenBLAS ran the forward products 25-35% slower. The backward pass starts from ``dout`` itself:
its four samples per tile are copied into the corners of ``Mhat`` and the other twelve entries are
their sums and differences (:func:`_output_transform_adjoint`), with one sign folded into ``U``.

Everything that computes is private: :func:`convlab.layers.conv_forward` and
:func:`convlab.layers.conv_backward` call :func:`_winograd_forward` / :func:`_winograd_backward`,
and a grading build that withholds those two (the convolution exercises) strips these helpers
with them; public names would stay callable there.
"""

from __future__ import annotations

from typing import NamedTuple

from convlab.backend import get_array_module
from convlab.layers._chunks import images_per_chunk
from convlab.layers._conv_args import conv_geometry

__all__ = ["A_T", "B_T", "G", "WinogradCache", "supports_winograd"]

B_T = ((1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1))
"""The input transform of F(2, 3) (4x4): ``V = B^T d B`` for a 4x4 input tile ``d``."""

G = ((1, 0, 0), (0.5, 0.5, 0.5), (0.5, -0.5, 0.5), (0, 0, 1))
"""The filter transform of F(2, 3) (4x3): ``U = G g G^T`` for a 3x3 filter ``g``."""

A_T = ((1, 1, 1, 0), (0, 1, -1, -1))
"""The output transform of F(2, 3) (2x4): ``Y = A^T M A`` for the 4x4 products ``M``."""


class WinogradCache(NamedTuple):
    """What :func:`_winograd_backward` needs."""

    x: object  # (N, C, H, W), the input
    w: object  # (K, C, 3, 3)
    U: object  # (4, 4, K, C), the transformed filters
    pad: tuple[int, int]
    out_hw: tuple[int, int]  # (H_out, W_out)
    V: object  # (16, N*TH*TW, C), the transformed input tiles of the whole batch (dU needs them)


def supports_winograd(w, geometry) -> bool:
    """Whether F(2x2, 3x3) computes this convolution: 3x3 filters, stride 1, dilation 1, one group."""
    return (tuple(w.shape[2:]) == (3, 3) and geometry.stride == (1, 1) and geometry.dilation == (1, 1)
            and geometry.groups == 1)


def _shaped(flat, shape):
    """A C-contiguous view of the first ``prod(shape)`` entries of a 1-D scratch buffer."""
    size = 1
    for s in shape:
        size *= s
    return flat[:size].reshape(shape)


# --- the three transforms and their adjoints, as additions of slices ---------------------------


def _along(axis: int, index) -> tuple:
    """An index applying ``index`` to axis ``axis`` (counted from 0) and taking the axes before it whole."""
    return (slice(None),) * axis + (index,)


def _filter_transform(w):
    """``U = G g G^T`` for every filter and channel: w (K, C, 3, 3) -> U (4, 4, K, C)."""
    xp = get_array_module(w)

    def along_first(g):  # G along axis 0: (g0, (g0 + g1 + g2) / 2, (g0 - g1 + g2) / 2, g2)
        return xp.stack([g[0], (g[0] + g[1] + g[2]) * 0.5, (g[0] - g[1] + g[2]) * 0.5, g[2]])

    rows = along_first(w.transpose(2, 3, 0, 1))  # (4, 3, K, C): filter rows transformed
    return along_first(rows.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)  # (4, 4, K, C)


def _filter_transform_adjoint(dU):
    """``dw = G^T dU G``: dU (4, 4, K, C) -> dw (K, C, 3, 3), the adjoint of :func:`_filter_transform`."""
    xp = get_array_module(dU)

    def along_first(u):  # G^T along axis 0; G's columns are (1, 1/2, 1/2, 0), (0, 1/2, -1/2, 0), (0, 1/2, 1/2, 1)
        half_sum = (u[1] + u[2]) * 0.5
        return xp.stack([u[0] + half_sum, (u[1] - u[2]) * 0.5, half_sum + u[3]])

    rows = along_first(dU)  # (3, 4, K, C)
    dw = along_first(rows.transpose(1, 0, 2, 3))  # (3, 3, K, C), indexed [q, p]
    return xp.ascontiguousarray(dw.transpose(2, 3, 1, 0))  # (K, C, 3, 3)


def _samples(a, axis: int, tiles: int) -> list:
    """The four samples of every tile along ``axis`` of ``a``: sample r of tile t is ``a[2t + r]``."""
    return [a[_along(axis, slice(r, r + 2 * tiles, 2))] for r in range(4)]


def _split_samples(a, axis: int, tiles: int) -> list:
    """:func:`_samples` for an axis stored split by parity: position ``2q + p`` of it is ``a[p, q]``
    (``axis`` is the parity axis, the next one ``q``), so sample r of tile t is ``a[r % 2, t + r // 2]``
    and each sample is a run of whole tiles, not every other entry."""
    return [a[_along(axis, r % 2) + (slice(r // 2, r // 2 + tiles),)] for r in range(4)]


def _input_transform_1d(v, d) -> None:
    """``v[0..3] = B^T d`` for every tile, ``d`` the four samples of the tiles (:func:`_samples`)."""
    xp = get_array_module(v[0], d[0])
    xp.subtract(d[0], d[2], out=v[0])  # the rows of B^T: (1, 0, -1, 0), (0, 1, 1, 0), (0, -1, 1, 0), (0, 1, 0, -1)
    xp.add(d[1], d[2], out=v[1])
    xp.subtract(d[2], d[1], out=v[2])
    xp.subtract(d[1], d[3], out=v[3])


def _input_transform_adjoint_1d(even, odd, dv, axis: int, tiles: int) -> None:
    """The adjoint of :func:`_input_transform_1d`: ``B dv`` per tile, overlap-added into the target.

    ``even`` and ``odd`` are the target's even and odd positions (tiles + 1 of each along ``axis``;
    every entry is written); ``dv`` (4, ...) is the gradient of ``v``, its tile axis at ``axis`` too,
    and its entry 2 is used as scratch. ``B dv`` is ``(dv0, dv1 - dv2 + dv3, dv1 + dv2 - dv0, -dv3)``,
    tile t's four samples land on 2t .. 2t + 3, so samples 0 and 2 fill the even positions (of tiles
    t and t - 1) and samples 1 and 3 the odd ones.
    """
    xp = get_array_module(even, dv)
    own, last, next_ = (_along(axis, slice(0, tiles)), _along(axis, slice(tiles, None)),
                        _along(axis, slice(1, None)))
    even[own] = dv[0]
    even[last] = 0
    xp.subtract(dv[1], dv[2], out=odd[own])
    odd[own] += dv[3]
    odd[last] = 0
    dv[2] += dv[1]  # sample 2: dv1 + dv2 - dv0, in place
    dv[2] -= dv[0]
    even[next_] += dv[2]  # tile t - 1's samples 2 and 3 are tile t's 0 and 1: add, never overwrite
    odd[next_] -= dv[3]


def _output_transform_1d(y, m) -> None:
    """``y[0..1] = A^T m``: ``y0 = m0 + m1 + m2``, ``y1 = m1 - m2 - m3`` (``y`` holds the arrays to write)."""
    xp = get_array_module(y[0], m[0])
    xp.add(m[0], m[1], out=y[0])
    y[0] += m[2]
    xp.subtract(m[1], m[2], out=y[1])
    y[1] -= m[3]


def _interleaved(y_pad):
    """The two columns of every 2x2 output tile: y_pad (n, 2TH, 2TW, K) -> [b] of (2_a, n, TH, TW, K) views."""
    n, H2, W2, K = y_pad.shape
    y6 = y_pad.reshape(n, H2 // 2, 2, W2 // 2, 2, K)  # (n, TH, a, TW, b, K)
    return [y6[:, :, :, :, b].transpose(2, 0, 1, 3, 4) for b in range(2)]  # (a, n, TH, TW, K)


def _input_transform(V, x_pad, rows) -> None:
    """``V = B^T d B`` for every 4x4 tile ``d`` of ``x_pad`` (tiles of 4x4 with stride 2).

    - x_pad: (n, Hp, 2, Wp / 2, C), padded and channel-last, columns split by parity: column ``2q + p``
      of row h is ``x_pad[:, h, p, q]`` (Hp = 2*TH + 2, Wp = 2*TW + 2)
    - rows: scratch (4, n, TH, 2, Wp / 2, C) for ``B^T d`` (along H), columns split the same way
    - V: output (4, 4, n, TH, TW, C); ``V[i, j, m, th, tw]`` is entry (i, j) of tile (th, tw) of image m
    """
    TH, TW = V.shape[3:5]
    _input_transform_1d(rows, _samples(x_pad, 1, TH))  # along H: every sample a run of whole rows
    _input_transform_1d(V.transpose(1, 0, 2, 3, 4, 5), _split_samples(rows, 3, TW))  # along W: V[:, j]


def _input_transform_adjoint(dx_pad, dV, rows) -> None:
    """The adjoint of :func:`_input_transform`: ``B dV B^T`` per tile, overlap-added into ``dx_pad``.

    - dV: (4, 4, n, TH, TW, C), overwritten (used as scratch)
    - rows: scratch (4, n, TH, 2, Wp / 2, C)
    - dx_pad: output (n, Hp, 2, Wp / 2, C), columns split by parity as in :func:`_input_transform`;
      every entry written
    """
    TH, TW = dV.shape[3:5]
    _input_transform_adjoint_1d(rows[:, :, :, 0], rows[:, :, :, 1], dV.transpose(1, 0, 2, 3, 4, 5), 3, TW)  # along W
    _input_transform_adjoint_1d(dx_pad[:, 0::2], dx_pad[:, 1::2], rows, 1, TH)  # then along H


def _output_transform(y_pad, M, rows) -> None:
    """``Y = A^T M A`` for every tile, written into ``y_pad`` (n, 2*TH, 2*TW, K), channel-last.

    - M: (4, 4, n, TH, TW, K) the products; rows: scratch (2, 4, n, TH, TW, K)
    - y_pad: output tile (th, tw) lands on rows 2th, 2th + 1 and columns 2tw, 2tw + 1; with an odd
      H_out or W_out the last row or column is the extra one the caller crops
    """
    _output_transform_1d(rows, M)  # along H: rows[a] (4, n, TH, TW, K)
    _output_transform_1d(_interleaved(y_pad), rows.transpose(1, 0, 2, 3, 4, 5))  # along W, into place


_ADJOINT_SIGNS = (1, 1, 1, -1)
"""``s``: the backward pass keeps ``s_i s_j Mhat[i, j]`` instead of ``Mhat[i, j]`` (see :func:`_output_transform_adjoint`)."""


def _output_corners_into(corners, dout) -> None:
    """The adjoint of interleaving and cropping: ``corners[a, b]`` (n, TH, TW, K) gets output (a, b) of every tile.

    - dout: (n, K, H_out, W_out), the gradient of the output
    - corners: (2, 2, n, TH, TW, K), any view; ``corners[a, b, m, th, tw] = dout[m, :, 2th + a, 2tw + b]``,
      zero where an odd H_out or W_out was cropped (the extra output had no effect, so no gradient)
    """
    Ho, Wo = dout.shape[2:]
    for a in (0, 1):
        for b in (0, 1):
            rows, cols = (Ho - a + 1) // 2, (Wo - b + 1) // 2
            corner = corners[a, b]
            corner[:, :rows, :cols] = dout[:, :, a::2, b::2].transpose(0, 2, 3, 1)  # (n, rows, cols, K)
            corner[:, rows:] = 0
            corner[:, :rows, cols:] = 0


def _output_transform_adjoint(Mhat, dout) -> None:
    """The adjoint of :func:`_output_transform` and the crop: ``A dY A^T`` for every tile, with signs folded in.

    Along one axis the adjoint is ``A dy = (dy0, dy0 + dy1, dy0 - dy1, -dy1)``. With the sign of entry 3
    folded out (:data:`_ADJOINT_SIGNS`) it is ``(dy0, dy0 + dy1, dy0 - dy1, dy1)``: entries 0 and 3 are the
    two samples themselves, 1 and 2 their sum and difference. So ``Mhat`` (4, 4, n, TH, TW, K) gets
    ``s_i s_j (A dY A^T)[i, j]``: dY's four samples are copied into the corners (i, j in {0, 3}), then two
    sums and two differences fill the rest. The caller multiplies ``U`` by the same signs (the products
    with ``U`` give ``dV`` unchanged) and ``dU`` by them at the end.
    """
    xp = get_array_module(Mhat, dout)
    _output_corners_into(Mhat[::3, ::3], dout)  # entries (0 | 3, 0 | 3)
    edges = Mhat[::3]  # rows 0 and 3: along W
    xp.add(edges[:, 0], edges[:, 3], out=edges[:, 1])
    xp.subtract(edges[:, 0], edges[:, 3], out=edges[:, 2])
    xp.add(Mhat[0], Mhat[3], out=Mhat[1])  # then along H, every column at once
    xp.subtract(Mhat[0], Mhat[3], out=Mhat[2])


# --- the layer ----------------------------------------------------------------------------------


class _Buffers(NamedTuple):
    """Flat scratch buffers for one chunk of images; :func:`_shaped` views them for ``n`` images."""

    x_pad: object  # (n, Hp, 2, Wp / 2, C), columns split by parity; also dx_pad
    rows: object  # the first (row) stage of each transform
    dV: object  # (4, 4, n, TH, TW, C), the backward pass's gradient of V
    M: object  # (4, 4, n, TH, TW, K), also Mhat (signed, see _output_transform_adjoint)
    y_pad: object  # (n, 2*TH, 2*TW, K), the forward pass's output tiles


def _buffers(xp, dtype, chunk, C, K, tiles):
    """Empty scratch buffers for ``chunk`` images (each sized for the largest view taken of it)."""
    TH, TW = tiles
    T = TH * TW
    return _Buffers(
        x_pad=xp.empty(chunk * (2 * TH + 2) * (2 * TW + 2) * C, dtype=dtype),
        rows=xp.empty(chunk * 8 * max(TH * (TW + 1) * C, T * K), dtype=dtype),
        dV=xp.empty(chunk * 16 * T * C, dtype=dtype),
        M=xp.empty(chunk * 16 * T * K, dtype=dtype),
        y_pad=xp.empty(chunk * 4 * T * K, dtype=dtype),
    )


def _chunk_and_tiles(x, w, out_hw):
    """Chunk length and the number of 2x2 output tiles (TH, TW) = (ceil(H_out / 2), ceil(W_out / 2))."""
    N, C = x.shape[:2]
    K = w.shape[0]
    TH, TW = (out_hw[0] + 1) // 2, (out_hw[1] + 1) // 2
    return images_per_chunk(N, 16 * max(C, K) * TH * TW * x.dtype.itemsize), (TH, TW)


def _split_columns(W: int, pw: int):
    """Where the columns of an input of width ``W`` go in a padded row split by parity (left padding ``pw``):
    ``(p, first, lo, count)`` per parity ``p``, input columns ``first, first + 2, ...`` (``count`` of them)
    landing on ``q = lo, lo + 1, ...`` of half ``p``."""
    out = []
    for p in (0, 1):
        first = (p - pw) % 2  # input column c sits at padded column c + pw = 2q + p
        count = len(range(first, W, 2))
        out.append((p, first, (first + pw) // 2, count))
    return out


def _transform_input_into(V, buf, x, pad, tiles) -> None:
    """``V`` (16, n*TH*TW, C), a view, gets the transformed tiles of a chunk ``x`` (n, C, H, W)."""
    n, C, H, W = x.shape
    TH, TW = tiles
    (ph, pw), Hp, half = pad, 2 * TH + 2, TW + 1
    x_pad = _shaped(buf.x_pad, (n, Hp, 2, half, C))
    x_pad[:, :ph] = 0  # the padding, and the extra bottom row / right column of odd output sizes
    x_pad[:, ph + H:] = 0
    for p, first, lo, count in _split_columns(W, pw):  # the transposing copy also splits the columns
        x_pad[:, ph:ph + H, p, :lo] = 0
        x_pad[:, ph:ph + H, p, lo + count:] = 0
        x_pad[:, ph:ph + H, p, lo:lo + count] = x[:, :, :, first::2].transpose(0, 2, 3, 1)  # (n, H, count, C)
    _input_transform(V.reshape(4, 4, n, TH, TW, C), x_pad, _shaped(buf.rows, (4, n, TH, 2, half, C)))


def _winograd_forward(x, w, b, *, pad=0):
    """Convolution forward pass by F(2x2, 3x3): 3x3 filters, stride 1, no dilation, one group.

    Inputs
    - x: (N, C, H, W); w: (K, C, 3, 3); b: (K,), all of one floating dtype
    - pad: int or (h, w) pair of zero padding

    Returns (out, cache) with out: (N, K, H_out, W_out), C-contiguous, same dtype and
    device as x; the same numbers as :func:`convlab.layers.conv_forward` up to rounding.
    """
    xp = get_array_module(x, w, b)
    geo = conv_geometry("_winograd_forward", x, w, b, stride=1, pad=pad, dilation=1, groups=1)
    if not supports_winograd(w, geo):
        raise ValueError(f"_winograd_forward: needs 3x3 filters, got w of shape {tuple(w.shape)}")
    N = x.shape[0]
    K, C = w.shape[:2]
    Ho, Wo = geo.out_hw
    chunk, (TH, TW) = _chunk_and_tiles(x, w, geo.out_hw)
    U = _filter_transform(w)  # (4, 4, K, C)
    # (16, C, K), copied C-contiguous (see the module docstring)
    U_t = xp.ascontiguousarray(U.reshape(16, K, C).transpose(0, 2, 1))
    out = xp.empty((N, K, Ho, Wo), dtype=x.dtype)
    buf = _buffers(xp, x.dtype, chunk, C, K, (TH, TW))
    V_all = xp.empty((16, N * TH * TW, C), dtype=x.dtype)  # written chunk by chunk, kept for the backward pass
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        n = stop - start
        T = n * TH * TW
        V = V_all[:, start * TH * TW:stop * TH * TW]  # (16, T, C), each (T, C) slice C-contiguous
        _transform_input_into(V, buf, x[start:stop], geo.pad, (TH, TW))
        M = _shaped(buf.M, (16, T, K))
        xp.matmul(V, U_t, out=M)  # the 16 products, one batched matmul: (16, T, C) @ (16, C, K)
        # A^T's column 1 is (1, 1): entry (1, 1) of a tile's M reaches its four outputs with
        # weight 1, so adding the bias there adds it to every output pixel
        M[5] += b
        y_pad = _shaped(buf.y_pad, (n, 2 * TH, 2 * TW, K))
        _output_transform(y_pad, M.reshape(4, 4, n, TH, TW, K), _shaped(buf.rows, (2, 4, n, TH, TW, K)))
        out[start:stop] = y_pad[:, :Ho, :Wo].transpose(0, 3, 1, 2)  # crop an odd size; (n, K, Ho, Wo)
    return out, WinogradCache(x, w, U, geo.pad, geo.out_hw, V_all)


def _winograd_backward(dout, cache: WinogradCache):
    """Convolution backward pass by F(2x2, 3x3).

    Inputs
    - dout: (N, K, H_out, W_out) upstream gradient
    - cache: from :func:`_winograd_forward`

    Returns (dx, dw, db) shaped like x (N, C, H, W), w (K, C, 3, 3), b (K,).
    """
    xp = get_array_module(dout, cache.w)
    x, w, U, pad, out_hw, V_all = cache
    N, C, H, W = x.shape
    K = w.shape[0]
    Ho, Wo = out_hw
    if tuple(dout.shape) != (N, K, Ho, Wo):
        raise ValueError(f"_winograd_backward: dout must have shape {(N, K, Ho, Wo)}, got {tuple(dout.shape)}")
    chunk, (TH, TW) = _chunk_and_tiles(x, w, out_hw)
    ph, pw = pad
    s = xp.asarray(_ADJOINT_SIGNS, dtype=w.dtype)
    signs = (s[:, None] * s[None, :]).reshape(16, 1, 1)  # s_i s_j for position xi = 4i + j
    U16 = U.reshape(16, K, C) * signs  # so that Mhat_signed @ U16 is dV
    db = xp.zeros(K, dtype=dout.dtype)
    dU = xp.zeros((16, C, K), dtype=w.dtype)  # dU[xi] transposed, to match (16, T, C) and (16, T, K)
    dx = xp.empty(x.shape, dtype=dout.dtype)
    buf = _buffers(xp, x.dtype, chunk, C, K, (TH, TW))
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        n = stop - start
        T = n * TH * TW
        Mhat = _shaped(buf.M, (4, 4, n, TH, TW, K))
        _output_transform_adjoint(Mhat, dout[start:stop])  # signed: s_i s_j Mhat[i, j]
        Mhat = Mhat.reshape(16, T, K)
        # entry (1, 1) of a tile's Mhat is the sum of its four output gradients (the adjoint of adding
        # the bias to M's entry (1, 1) in the forward pass): db is its sum over the tiles
        db += Mhat[5].sum(axis=0)
        V = V_all[:, start * TH * TW:stop * TH * TW]  # from the forward pass
        dU += xp.matmul(V.transpose(0, 2, 1), Mhat)  # (16, C, T) @ (16, T, K)
        dV = _shaped(buf.dV, (16, T, C))
        xp.matmul(Mhat, U16, out=dV)  # (16, T, K) @ (16, K, C)
        dx_pad = _shaped(buf.x_pad, (n, 2 * TH + 2, 2, TW + 1, C))
        _input_transform_adjoint(dx_pad, dV.reshape(4, 4, n, TH, TW, C), _shaped(buf.rows, (4, n, TH, 2, TW + 1, C)))
        for p, first, lo, count in _split_columns(W, pw):  # crop the padding, join the columns again
            dx[start:stop, :, :, first::2] = dx_pad[:, ph:ph + H, p, lo:lo + count].transpose(0, 3, 1, 2)
    dU *= signs  # the signs of Mhat out again
    dw = _filter_transform_adjoint(dU.transpose(0, 2, 1).reshape(4, 4, K, C))
    return dx, dw, db
