"""The fast paths of the convolution and pooling layers, each against a definition by loops.

- columns of stride-1 same-width convolutions, built as one shift of the flattened image
  (``_fill_columns``/``_add_columns`` in :mod:`convlab.layers.im2col`); the wrapped pixels of that
  shift must read as padding;
- the convolution in several chunks of images (a partial last chunk included), with a float64
  central-difference gradient check;
- max pooling whose windows overlap along one axis only, or leave gaps (stride > size), in one
  chunk of images or several.

Wrong versions of the flat shifts are kept below as fixtures, and each test shows its check
rejects them.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.gradcheck import assert_gradients_ok, rel_error
from convlab.layers import _chunks
from convlab.layers import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive
from convlab.layers import max_pool_backward, max_pool_forward
from convlab.layers.im2col import _flat_shift, _offsets, _add_columns, _fill_columns
from convlab.shapes import effective_kernel_size


def columns_by_definition(x, FH, FW, stride, pad, dilation):
    """(n, C, FH, FW, Ho, Wo) with entry x_pad[n, c, ho*SH + i*DH, wo*SW + j*DW], by loops."""
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dilation
    N, C, H, W = x.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho = (H + 2 * ph - effective_kernel_size(FH, dh)) // sh + 1
    Wo = (W + 2 * pw - effective_kernel_size(FW, dw)) // sw + 1
    cols = np.empty((N, C, FH, FW, Ho, Wo))
    for i in range(FH):
        for j in range(FW):
            for ho in range(Ho):
                for wo in range(Wo):
                    cols[:, :, i, j, ho, wo] = x_pad[:, :, ho * sh + i * dh, wo * sw + j * dw]
    return cols


def fill_flat_unmasked(cols6, x, stride, pad, dilation):
    """WRONG: the flat shift without clearing the wrapped pixels (they belong to the next row)."""
    n, C, FH, FW, Ho, Wo = cols6.shape
    cols6[...] = 0
    for i, j, box, _ in _offsets(x.shape[2:], (Ho, Wo), FH, FW, stride, pad, dilation):
        if box[0] < box[1] and box[2] < box[3]:
            lo, hi, shift = _flat_shift(x.shape[2:], (Ho, Wo), stride, pad, dilation, i, j, box)
            cols6[:, :, i, j].reshape(n, C, Ho * Wo)[:, :, lo:hi] = x.reshape(n, C, -1)[:, :, lo + shift:hi + shift]


def add_flat_unmasked(dx, cols6, stride, pad, dilation):
    """WRONG: the flat shift of the adjoint without dropping the wrapped entries."""
    n, C, FH, FW, Ho, Wo = cols6.shape
    H, W = dx.shape[2:]
    for i, j, box, _ in _offsets((H, W), (Ho, Wo), FH, FW, stride, pad, dilation):
        if box[0] < box[1] and box[2] < box[3]:
            lo, hi, shift = _flat_shift((H, W), (Ho, Wo), stride, pad, dilation, i, j, box)
            dx.reshape(n, C, -1)[:, :, lo + shift:hi + shift] += cols6[:, :, i, j].reshape(n, C, -1)[:, :, lo:hi]


def fill_by_library(cols6, x, stride, pad, dilation):
    _fill_columns(cols6, x, stride, pad, dilation)


def add_by_library(dx, cols6, stride, pad, dilation):
    _add_columns(dx, cols6, stride, pad, dilation, scratch=True)


# stride 1 and W_out == W, so the flat path runs: (N, C, H, W, FH, FW, pad, dilation)
SAME_WIDTH = {
    "3x3-pad1": (2, 3, 5, 6, 3, 3, (1, 1), (1, 1)),
    "3x2-dilation2-pad(2,1)": (1, 2, 6, 5, 3, 2, (2, 1), (2, 2)),
    "5x5-pad(0,2)": (2, 1, 7, 4, 5, 5, (0, 2), (1, 1)),
    "1x3-pad(1,1)-taps-in-padding": (1, 2, 3, 4, 1, 3, (1, 1), (1, 1)),
}


def _same_width_case(geometry, seed):
    N, C, H, W, FH, FW, pad, dilation = geometry
    x = np.random.default_rng(seed).standard_normal((N, C, H, W))
    expected = columns_by_definition(x, FH, FW, (1, 1), pad, dilation)
    assert expected.shape[-1] == W and _flat_shift((H, W), expected.shape[-2:], (1, 1), pad, dilation, 0, 0,
                                                   (0, 1, 0, 1)) is not None
    return x, expected, pad, dilation


def fill_agrees(fill, dev, geometry) -> bool:
    x, expected, pad, dilation = _same_width_case(geometry, seed=0)
    cols = dev.put(np.full(expected.shape, np.nan))  # every entry must be written
    fill(cols, dev.put(x), (1, 1), pad, dilation)
    return np.array_equal(dev.get(cols), expected)


def add_agrees(add, dev, geometry) -> bool:
    """``add`` must be the adjoint of the definition: <cols(x), y> == <x, add(y)>, for every pixel."""
    x, expected, pad, dilation = _same_width_case(geometry, seed=1)
    y = np.random.default_rng(2).standard_normal(expected.shape)
    dx = dev.put(np.zeros(x.shape))
    add(dx, dev.put(y), (1, 1), pad, dilation)
    # the adjoint, pixel by pixel: d<cols(x), y>/dx, from the definition's linearity
    reference = np.zeros(x.shape)
    for index in np.ndindex(*x.shape):
        unit = np.zeros(x.shape)
        unit[index] = 1.0
        reference[index] = np.sum(columns_by_definition(unit, *expected.shape[2:4], (1, 1), pad, dilation) * y)
    return np.allclose(dev.get(dx), reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("geometry", list(SAME_WIDTH.values()), ids=list(SAME_WIDTH))
def test_fill_columns_flat_path_matches_definition(dev, geometry):
    assert fill_agrees(fill_by_library, dev, geometry)


@pytest.mark.parametrize("geometry", list(SAME_WIDTH.values()), ids=list(SAME_WIDTH))
def test_add_columns_flat_path_is_the_adjoint(dev, geometry):
    assert add_agrees(add_by_library, dev, geometry)


def test_flat_path_checks_reject_the_unmasked_shifts(dev):
    """The wrong fixtures above copy or add the wrapped pixels: the checks must catch them."""
    geometry = SAME_WIDTH["3x3-pad1"]
    assert not fill_agrees(fill_flat_unmasked, dev, geometry)
    assert not add_agrees(add_flat_unmasked, dev, geometry)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(N=st.integers(1, 2), C=st.integers(1, 2), H=st.integers(1, 5), FH=st.integers(1, 3), FW=st.integers(1, 3),
       ph=st.integers(0, 2), dh=st.integers(1, 2), dw=st.integers(1, 2), seed=st.integers(0, 2**16))
def test_flat_path_random_same_width_geometries(dev, N, C, H, FH, FW, ph, dh, dw, seed):
    """W chosen so that W_out == W: 2*pw == (FW - 1)*dw, i.e. an even effective width minus one."""
    if (FW - 1) * dw % 2 or H + 2 * ph < effective_kernel_size(FH, dh):
        return
    W = 4
    pw = (FW - 1) * dw // 2
    geometry = (N, C, H, W, FH, FW, (ph, pw), (dh, dw))
    assert fill_agrees(fill_by_library, dev, geometry)
    x = np.random.default_rng(seed).standard_normal((N, C, H, W))
    cols = columns_by_definition(x, FH, FW, (1, 1), (ph, pw), (dh, dw))
    y = np.random.default_rng(seed + 1).standard_normal(cols.shape)
    dx = dev.put(np.zeros(x.shape))
    _add_columns(dx, dev.put(y), (1, 1), (ph, pw), (dh, dw), scratch=True)
    assert float(np.sum(cols * y)) == pytest.approx(float(np.sum(x * dev.get(dx))), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("chunk_bytes", [1, 2 * 2 * 3 * 3 * 5 * 6 * 8], ids=["one-image-chunks", "two-image-chunks"])
def test_conv_in_chunks_matches_naive_and_gradients(dev, monkeypatch, chunk_bytes):
    """N = 5 images in chunks of 1 or 2 (the last one partial): same results as one chunk and as the loops."""
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(4)
    x = dev.put(rng.standard_normal((5, 2, 5, 6)))
    w = dev.put(rng.standard_normal((4, 1, 3, 3)))
    b = dev.put(rng.standard_normal(4))
    settings_ = {"stride": 1, "pad": 1, "dilation": 1, "groups": 2}
    out, cache = conv_forward(x, w, b, **settings_)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **settings_)
    assert out.flags["C_CONTIGUOUS"]
    assert rel_error(dev.get(out), dev.get(out_naive)) < 1e-10
    dout = dev.randn(*out.shape, seed=5)
    for fast, naive in zip(conv_backward(dout, cache), conv_backward_naive(dout, cache_naive)):
        assert rel_error(dev.get(fast), dev.get(naive)) < 1e-10
    strided = {"stride": 2, "pad": (1, 0), "dilation": (1, 3), "groups": 1}
    w2 = dev.put(rng.standard_normal((3, 2, 3, 2)))
    assert_gradients_ok(conv_forward, conv_backward, {"x": x, "w": w2, "b": dev.put(rng.standard_normal(3))},
                        kwargs=strided, tol=1e-7)


def reference_max_pool_dx(x, dout, size, stride):
    """Loops: each window's dout added to its first maximum (row-major)."""
    (FH, FW), (SH, SW) = size, stride
    N, C, H, W = x.shape
    dx = np.zeros_like(x)
    for n in range(N):
        for c in range(C):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * SH:i * SH + FH, j * SW:j * SW + FW]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * SH + a, j * SW + b] += dout[n, c, i, j]
    return dx


@pytest.mark.parametrize("shape,size,stride", [
    pytest.param((2, 2, 7, 6), (3, 2), (2, 2), id="overlap-in-H-only"),
    pytest.param((1, 2, 6, 7), (2, 3), (2, 2), id="overlap-in-W-only"),
    pytest.param((2, 2, 8, 11), (2, 2), (3, 3), id="gaps-stride3-size2"),
    pytest.param((1, 3, 6, 9), (2, 3), (2, 3), id="tiled-nonsquare"),
])
@pytest.mark.parametrize("chunk_bytes", [None, 1], ids=["one-chunk", "one-image-chunks"])
def test_max_pool_backward_overlap_and_gaps(dev, monkeypatch, shape, size, stride, chunk_bytes):
    """A pixel winning windows that overlap along one axis gets their sum; pixels in no window get 0.

    Also in chunks of one image, so that each chunk reuses the scratch buffers of the one before.
    """
    if chunk_bytes is not None:
        monkeypatch.setattr(_chunks, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(6)
    x_host = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0
    x_host[..., ::2, ::2] += 100.0  # pixels that win several overlapping windows
    out, cache = max_pool_forward(dev.put(x_host), size=size, stride=stride)
    dout = rng.standard_normal(tuple(out.shape))
    dx = dev.get(max_pool_backward(dev.put(dout), cache))
    np.testing.assert_allclose(dx, reference_max_pool_dx(x_host, dout, size, stride), rtol=1e-12, atol=1e-12)
    assert_gradients_ok(max_pool_forward, max_pool_backward, {"x": dev.put(x_host)},
                        kwargs={"size": size, "stride": stride}, tol=1e-7)
