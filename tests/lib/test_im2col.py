"""im2col / col2im: the documented column layout, the adjoint identity, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.layers import col2im, im2col
from convlab.shapes import effective_kernel_size


def test_im2col_layout_matches_docstring(dev):
    """cols[(c*FH + i)*FW + j, (n*Ho + ho)*Wo + wo] == x_pad[n, c, ho*SH + i*DH, wo*SW + j*DW]."""
    N, C, H, W, FH, FW = 2, 3, 7, 8, 2, 3
    (sh, sw), (ph, pw), (dh, dw) = (2, 1), (1, 2), (2, 1)
    x_host = np.random.default_rng(0).standard_normal((N, C, H, W))
    cols = dev.get(im2col(dev.put(x_host), FH, FW, stride=(sh, sw), pad=(ph, pw), dilation=(dh, dw)))
    Ho = (H + 2 * ph - effective_kernel_size(FH, dh)) // sh + 1
    Wo = (W + 2 * pw - effective_kernel_size(FW, dw)) // sw + 1
    assert cols.shape == (C * FH * FW, N * Ho * Wo)
    x_pad = np.pad(x_host, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    for n in range(N):
        for c in range(C):
            for i in range(FH):
                for j in range(FW):
                    for ho in range(Ho):
                        for wo in range(Wo):
                            assert cols[(c * FH + i) * FW + j, (n * Ho + ho) * Wo + wo] == \
                                x_pad[n, c, ho * sh + i * dh, wo * sw + j * dw]


def test_im2col_row_layout_matches_filter_reshape(dev):
    """w.reshape(K, C*FH*FW) @ cols is a valid (stride 1, no pad) convolution."""
    rng = np.random.default_rng(1)
    x_host, w_host = rng.standard_normal((1, 2, 4, 5)), rng.standard_normal((3, 2, 2, 3))
    cols = dev.get(im2col(dev.put(x_host), 2, 3))
    out = (w_host.reshape(3, -1) @ cols).reshape(3, 3, 3)  # (K, Ho, Wo) for N = 1
    for k in range(3):
        for i in range(3):
            for j in range(3):
                assert out[k, i, j] == pytest.approx(np.sum(x_host[0, :, i:i + 2, j:j + 3] * w_host[k]), rel=1e-12)


def test_col2im_accumulates_overlaps(dev):
    """3x3 windows at stride 1 on a 4x4 image: the centre pixels are in all four windows."""
    ones = dev.put(np.ones((9, 4)))  # C*FH*FW = 9 rows, N*Ho*Wo = 4 columns
    counts = dev.get(col2im(ones, (1, 1, 4, 4), 3, 3))
    expected = np.array([[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]], dtype=float)
    np.testing.assert_array_equal(counts[0, 0], expected)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    N=st.integers(1, 2), C=st.integers(1, 3), FH=st.integers(1, 3), FW=st.integers(1, 3),
    sh=st.integers(1, 3), sw=st.integers(1, 3), ph=st.integers(0, 2), pw=st.integers(0, 2),
    dh=st.integers(1, 2), dw=st.integers(1, 2), Ho=st.integers(1, 4), Wo=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_col2im_is_adjoint_of_im2col(dev, N, C, FH, FW, sh, sw, ph, pw, dh, dw, Ho, Wo, seed):
    """<im2col(x), y> == <x, col2im(y)> for random x, y over random valid geometries."""
    H = (Ho - 1) * sh + effective_kernel_size(FH, dh) - 2 * ph
    W = (Wo - 1) * sw + effective_kernel_size(FW, dw) - 2 * pw
    if H < 1 or W < 1:
        return
    rng = np.random.default_rng(seed)
    x_host = rng.standard_normal((N, C, H, W))
    y_host = rng.standard_normal((C * FH * FW, N * Ho * Wo))
    geo = {"stride": (sh, sw), "pad": (ph, pw), "dilation": (dh, dw)}
    cols = dev.get(im2col(dev.put(x_host), FH, FW, **geo))
    back = dev.get(col2im(dev.put(y_host), (N, C, H, W), FH, FW, **geo))
    assert cols.shape == y_host.shape and back.shape == x_host.shape
    lhs, rhs = float(np.sum(cols * y_host)), float(np.sum(x_host * back))
    assert lhs == pytest.approx(rhs, rel=1e-12, abs=1e-12)


def test_im2col_keeps_dtype(dev):
    x = dev.put(np.ones((1, 2, 3, 3)), dtype=np.float32)
    cols = im2col(x, 2, 2)
    assert cols.dtype == np.float32
    assert col2im(cols, (1, 2, 3, 3), 2, 2).dtype == np.float32


@pytest.mark.parametrize("call,exc,match", [
    (lambda dev: im2col(dev.put(np.ones((2, 3, 3))), 2, 2), ValueError, r"im2col: x must be 4-D"),
    (lambda dev: im2col(dev.put(np.ones((1, 1, 3, 3))), 4, 2), ValueError,
     r"along the height \(H\).*larger than the padded input"),
    (lambda dev: im2col(dev.put(np.ones((1, 1, 4, 4))), 2, 3, stride=2), ValueError,
     r"along the width \(W\).*not an integer"),
    (lambda dev: im2col(dev.put(np.ones((1, 1, 4, 4))), 2, 2, stride=0), ValueError, r"stride must be >= 1"),
    (lambda dev: col2im(dev.put(np.ones((4, 5))), (1, 1, 3, 3), 2, 2), ValueError,
     r"col2im: cols must have shape \(4, 4\), got \(4, 5\)"),
    (lambda dev: col2im(dev.put(np.ones((4, 4))), (1, 3, 3), 2, 2), ValueError, r"x_shape must be \(N, C, H, W\)"),
])
def test_im2col_bad_input(dev, call, exc, match):
    with pytest.raises(exc, match=match):
        call(dev)
