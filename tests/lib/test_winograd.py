"""Winograd F(2x2, 3x3) (:mod:`convlab.layers.winograd`) against the loops, and its dispatch in ``conv_forward``.

- the three slice-based transforms against the matrices B^T, G, A^T on single tiles;
- forward against ``conv_forward_naive`` in float64 (relative error < 1e-10): even and odd output
  sizes, pad 0/1/2, non-square inputs, several chunks of images with a partial last one;
- backward against ``conv_backward_naive`` and a float64 central-difference gradient check;
- float32 against float64;
- every scratch buffer starts out full of NaN (:func:`nan_scratch`), so an entry the code forgets
  to write (the cropped row of an odd size, say) shows up instead of passing on a lucky zero.

Wrong versions of the helpers are kept below as fixtures (overlap-add that overwrites, a sign error
in the output transform, an odd-size crop whose row keeps stale gradient, a filter transform that
forgets the halves, an output adjoint that keeps the signs the backward pass folds out), and each test shows its check rejects them. Every test runs on NumPy and on
the device double (``dev``).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab.backend import get_array_module
from convlab.gradcheck import assert_gradients_ok, rel_error
from convlab.layers import _chunks, conv, winograd
from convlab.layers import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive
from convlab.layers.winograd import A_T, B_T, G, _winograd_backward, _winograd_forward

# (N, C, H, W, K, pad, chunk_bytes or None for one chunk); H_out = H + 2*pad - 2
GEOMETRIES = {
    "even-out-pad1": (2, 3, 6, 6, 4, 1, None),
    "odd-out-pad1": (2, 2, 5, 5, 3, 1, None),
    "odd-H-even-W-pad0": (2, 3, 7, 8, 2, 0, None),
    "even-H-odd-W-pad2-nonsquare": (1, 2, 4, 9, 3, 2, None),
    "1x1-output": (2, 2, 3, 3, 2, 0, None),
    "one-image-chunks-odd": (5, 2, 5, 6, 3, 1, 1),
    "two-image-chunks-partial-last": (5, 3, 6, 5, 4, 1, 2 * 16 * 4 * 3 * 3 * 8),
}
ODD = "one-image-chunks-odd"
EVEN = "even-out-pad1"


@pytest.fixture
def nan_scratch(monkeypatch):
    """Winograd's scratch buffers start out full of NaN, so any entry read before it is written shows."""
    allocate = winograd._buffers

    def buffers_full_of_nan(*args):
        buf = allocate(*args)
        for a in buf:
            a.fill(np.nan)
        return buf

    monkeypatch.setattr(winograd, "_buffers", buffers_full_of_nan)


def make_inputs(dev, monkeypatch, geometry, seed=0):
    """x, w, b (float64) on ``dev`` and the pad of one geometry; sets its chunk size."""
    N, C, H, W, K, pad, chunk_bytes = geometry
    if chunk_bytes is not None:
        monkeypatch.setattr(_chunks, "CHUNK_BYTES", chunk_bytes)
    rng = np.random.default_rng(seed)
    x, w, b = (dev.put(rng.standard_normal(shape)) for shape in ((N, C, H, W), (K, C, 3, 3), (K,)))
    return x, w, b, pad


def forward_error(dev, monkeypatch, geometry) -> float:
    """Max-normalised relative error of _winograd_forward against the loops (float64)."""
    x, w, b, pad = make_inputs(dev, monkeypatch, geometry)
    out, _ = _winograd_forward(x, w, b, pad=pad)
    expected, _ = conv_forward_naive(x, w, b, pad=pad)
    assert out.shape == expected.shape and out.flags["C_CONTIGUOUS"]
    return rel_error(dev.get(out), dev.get(expected))


def backward_error(dev, monkeypatch, geometry) -> float:
    """Largest relative error of (dx, dw, db) of _winograd_backward against the loops (float64)."""
    x, w, b, pad = make_inputs(dev, monkeypatch, geometry)
    out, cache = _winograd_forward(x, w, b, pad=pad)
    _, cache_naive = conv_forward_naive(x, w, b, pad=pad)
    dout = dev.randn(*out.shape, seed=1)
    return max(rel_error(dev.get(a), dev.get(e))
               for a, e in zip(_winograd_backward(dout, cache), conv_backward_naive(dout, cache_naive)))


# --- the transforms against their matrices, one tile at a time ---------------------------------


def test_transforms_match_the_matrices(dev):
    """V = B^T d B, U = G g G^T, Y = A^T M A and A dY A^T, computed by the slice additions, on a single tile."""
    rng = np.random.default_rng(0)
    BT, Gm, AT = np.array(B_T, float), np.array(G, float), np.array(A_T, float)
    d, g, m = rng.standard_normal((4, 4)), rng.standard_normal((3, 3)), rng.standard_normal((4, 4))

    split = d.reshape(4, 2, 2).transpose(0, 2, 1)  # columns split by parity: split[r, p, q] = d[r, 2q + p]
    x_pad = dev.put(np.ascontiguousarray(split).reshape(1, 4, 2, 2, 1))  # (n, Hp, 2, Wp / 2, C): one 4x4 tile
    V = dev.put(np.zeros((4, 4, 1, 1, 1, 1)))
    winograd._input_transform(V, x_pad, dev.put(np.zeros((4, 1, 1, 2, 2, 1))))
    np.testing.assert_allclose(dev.get(V).reshape(4, 4), BT @ d @ BT.T, rtol=1e-14, atol=1e-14)

    U = winograd._filter_transform(dev.put(g.reshape(1, 1, 3, 3)))
    np.testing.assert_allclose(dev.get(U).reshape(4, 4), Gm @ g @ Gm.T, rtol=1e-14, atol=1e-14)

    y_pad = dev.put(np.zeros((1, 2, 2, 1)))
    winograd._output_transform(y_pad, dev.put(m.reshape(4, 4, 1, 1, 1, 1)), dev.put(np.zeros((2, 4, 1, 1, 1, 1))))
    np.testing.assert_allclose(dev.get(y_pad).reshape(2, 2), AT @ m @ AT.T, rtol=1e-14, atol=1e-14)

    dy = rng.standard_normal((2, 2))  # the adjoint, A dY A^T, is kept with the signs s_i s_j folded in
    Mhat = dev.put(np.full((4, 4, 1, 1, 1, 1), np.nan))
    winograd._output_transform_adjoint(Mhat, dev.put(dy.reshape(1, 1, 2, 2)))
    s = np.array(winograd._ADJOINT_SIGNS, float)
    np.testing.assert_allclose(dev.get(Mhat).reshape(4, 4) * np.outer(s, s), AT.T @ dy @ AT, rtol=1e-14, atol=1e-14)


def test_f23_identity_is_the_convolution():
    """The 1D identity behind it all: A^T [(G g) * (B^T d)] is the 2 outputs of a 3-tap filter."""
    rng = np.random.default_rng(1)
    d, g = rng.standard_normal(4), rng.standard_normal(3)
    y = np.array(A_T) @ ((np.array(G) @ g) * (np.array(B_T) @ d))
    np.testing.assert_allclose(y, [d[0:3] @ g, d[1:4] @ g], rtol=1e-14)


# --- the layer against the loops ---------------------------------------------------------------


@pytest.mark.parametrize("geometry", list(GEOMETRIES.values()), ids=list(GEOMETRIES))
def test_forward_matches_naive(dev, monkeypatch, nan_scratch, geometry):
    assert forward_error(dev, monkeypatch, geometry) < 1e-10


@pytest.mark.parametrize("geometry", list(GEOMETRIES.values()), ids=list(GEOMETRIES))
def test_backward_matches_naive(dev, monkeypatch, nan_scratch, geometry):
    assert backward_error(dev, monkeypatch, geometry) < 1e-10


@pytest.mark.parametrize("name", ["odd-out-pad1", "even-H-odd-W-pad2-nonsquare", "two-image-chunks-partial-last"])
def test_gradients_numeric(dev, monkeypatch, nan_scratch, name):
    x, w, b, pad = make_inputs(dev, monkeypatch, GEOMETRIES[name], seed=3)
    assert_gradients_ok(_winograd_forward, _winograd_backward, {"x": x, "w": w, "b": b}, kwargs={"pad": pad}, tol=1e-7)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(N=st.integers(1, 3), C=st.integers(1, 3), K=st.integers(1, 3), H=st.integers(1, 7), W=st.integers(1, 7),
       ph=st.integers(0, 2), pw=st.integers(0, 2), chunk_bytes=st.sampled_from([None, 1, 3000]))
def test_random_geometries_match_naive(dev, monkeypatch, nan_scratch, N, C, K, H, W, ph, pw, chunk_bytes):
    if H + 2 * ph < 3 or W + 2 * pw < 3:
        return
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", chunk_bytes or (1 << 20))
    rng = np.random.default_rng(N * 1000 + H * 10 + W)
    x, w, b = (dev.put(rng.standard_normal(s)) for s in ((N, C, H, W), (K, C, 3, 3), (K,)))
    out, cache = _winograd_forward(x, w, b, pad=(ph, pw))
    expected, cache_naive = conv_forward_naive(x, w, b, pad=(ph, pw))
    assert rel_error(dev.get(out), dev.get(expected)) < 1e-10
    dout = dev.randn(*out.shape, seed=2)
    for got, want in zip(_winograd_backward(dout, cache), conv_backward_naive(dout, cache_naive)):
        assert rel_error(dev.get(got), dev.get(want)) < 1e-10


def test_float32_stays_float32_and_is_close_to_float64(dev, monkeypatch, nan_scratch):
    """float32 against float64 on a layer-sized problem (C*9 = 288 terms per output).

    Bound: max-normalised relative error < 1e-6 for out, dx, dw and db. float32 rounds at 6e-8;
    a sum of a few hundred terms through transforms whose entries are 0, +-1/2 and +-1 stays far
    below 1e-6 (measured 6e-8 to 1.3e-7).
    """
    monkeypatch.setattr(_chunks, "CHUNK_BYTES", 64 * 1024)  # several chunks
    rng = np.random.default_rng(7)
    x, w, b = rng.standard_normal((6, 32, 9, 10)), rng.standard_normal((16, 32, 3, 3)) / 17, rng.standard_normal(16)
    dout = rng.standard_normal((6, 16, 9, 10))
    results = {}
    for dtype in (np.float32, np.float64):
        out, cache = _winograd_forward(dev.put(x, dtype), dev.put(w, dtype), dev.put(b, dtype), pad=1)
        grads = _winograd_backward(dev.put(dout, dtype), cache)
        results[dtype] = [dev.get(a) for a in (out, *grads)]
        assert all(a.dtype == dtype for a in results[dtype])
    for single, double in zip(results[np.float32], results[np.float64]):
        assert rel_error(single.astype(np.float64), double) < 1e-6


def test_rejects_filters_that_are_not_3x3(dev):
    x = dev.randn(1, 2, 5, 5)
    with pytest.raises(ValueError, match="3x3"):
        _winograd_forward(x, dev.randn(2, 2, 5, 5), dev.randn(2), pad=1)


# --- dispatch in conv_forward ------------------------------------------------------------------


def test_conv_forward_dispatch_and_backward_follows(dev, monkeypatch):
    """3x3 stride 1 with enough channels runs Winograd; the cache says so and backward matches the loops."""
    rng = np.random.default_rng(8)
    x, b = dev.put(rng.standard_normal((2, 32, 5, 6))), dev.put(rng.standard_normal(16))
    w = dev.put(rng.standard_normal((16, 32, 3, 3)))
    out, cache = conv_forward(x, w, b, pad=1)
    assert cache.winograd is not None
    expected, cache_naive = conv_forward_naive(x, w, b, pad=1)
    assert rel_error(dev.get(out), dev.get(expected)) < 1e-10
    dout = dev.randn(*out.shape, seed=9)
    for got, want in zip(conv_backward(dout, cache), conv_backward_naive(dout, cache_naive)):
        assert rel_error(dev.get(got), dev.get(want)) < 1e-10
    # the same numbers through the im2col path, forced
    monkeypatch.setattr(conv, "_winograd_is_faster", lambda w, geo: False)
    out_im2col, cache_im2col = conv_forward(x, w, b, pad=1)
    assert cache_im2col.winograd is None
    assert rel_error(dev.get(out_im2col), dev.get(expected)) < 1e-10
    for got, want in zip(conv_backward(dout, cache_im2col), conv_backward_naive(dout, cache_naive)):
        assert rel_error(dev.get(got), dev.get(want)) < 1e-10


@pytest.mark.parametrize("settings_,C", [
    ({"pad": 1}, 16),  # too few channels: im2col is faster
    ({"pad": 1, "stride": 2}, 32),
    ({"pad": 2, "dilation": 2}, 32),
    ({"pad": 1, "groups": 2}, 64),
])
def test_conv_forward_keeps_im2col_elsewhere(dev, settings_, C):
    groups = settings_.get("groups", 1)
    x = dev.randn(1, C, 7, 7)
    w = dev.randn(16, C // groups, 3, 3, seed=1)
    _, cache = conv_forward(x, w, dev.randn(16, seed=2), **settings_)
    assert cache.winograd is None


# --- wrong versions, and the checks that catch them --------------------------------------------


def overlap_add_overwrites(even, odd, dv, axis, tiles):
    """WRONG: tile t's samples 0 and 1 overwrite tile t - 1's samples 2 and 3 instead of adding to them."""
    xp = get_array_module(even, dv)
    tail, head = winograd._along(axis, slice(1, None)), winograd._along(axis, slice(0, tiles))
    even[tail] = dv[1] + dv[2] - dv[0]
    odd[tail] = -dv[3]
    even[head] = dv[0]
    xp.subtract(dv[1], dv[2], out=odd[head])
    odd[head] += dv[3]


def output_sign_error(y, m):
    """WRONG: y1 = m1 - m2 + m3 (A^T's last entry with the wrong sign)."""
    xp = get_array_module(y[0], m[0])
    xp.add(m[0], m[1], out=y[0])
    y[0] += m[2]
    xp.subtract(m[1], m[2], out=y[1])
    y[1] += m[3]


REAL_OUTPUT_ADJOINT = winograd._output_transform_adjoint


def corners_keep_stale_rows(corners, dout):
    """WRONG: copies dout into the corners but leaves the extra row / column of an odd size as it was."""
    Ho, Wo = dout.shape[2:]
    for a in (0, 1):
        for b in (0, 1):
            rows, cols = (Ho - a + 1) // 2, (Wo - b + 1) // 2
            corners[a, b][:, :rows, :cols] = dout[:, :, a::2, b::2].transpose(0, 2, 3, 1)


def adjoint_with_its_signs(Mhat, dout):
    """WRONG: the true A dY A^T (entry 3 negated) where the backward pass expects the signs folded out."""
    REAL_OUTPUT_ADJOINT(Mhat, dout)
    Mhat[3] *= -1
    Mhat[:, 3] *= -1


def filter_transform_without_halves(w):
    """WRONG: G's middle rows as (1, 1, 1) and (1, -1, 1), forgetting the 1/2."""
    xp = get_array_module(w)

    def along_first(g):
        return xp.stack([g[0], g[0] + g[1] + g[2], g[0] - g[1] + g[2], g[2]])

    rows = along_first(w.transpose(2, 3, 0, 1))
    return along_first(rows.transpose(1, 0, 2, 3)).transpose(1, 0, 2, 3)


@pytest.mark.parametrize("helper,wrong,check,geometry", [
    pytest.param("_input_transform_adjoint_1d", overlap_add_overwrites, backward_error, EVEN,
                 id="overlap-add-overwrites"),
    pytest.param("_output_transform_1d", output_sign_error, forward_error, EVEN, id="output-sign-error"),
    pytest.param("_output_corners_into", corners_keep_stale_rows, backward_error, ODD, id="odd-crop-stale"),
    pytest.param("_output_transform_adjoint", adjoint_with_its_signs, backward_error, EVEN, id="adjoint-signs-twice"),
    pytest.param("_filter_transform", filter_transform_without_halves, forward_error, EVEN, id="filter-no-halves"),
])
def test_checks_reject_the_wrong_versions(dev, monkeypatch, nan_scratch, helper, wrong, check, geometry):
    """Each wrong helper, swapped in, must fail the check that guards it."""
    assert check(dev, monkeypatch, GEOMETRIES[geometry]) < 1e-10  # the real helper passes
    monkeypatch.setattr(winograd, helper, wrong)
    error = check(dev, monkeypatch, GEOMETRIES[geometry])
    assert not error < 1e-10  # NaN counts as a failure too


def test_stale_crop_only_shows_on_odd_sizes(dev, monkeypatch, nan_scratch):
    """Why the odd geometries are needed: with even output sizes there is nothing to crop."""
    monkeypatch.setattr(winograd, "_output_corners_into", corners_keep_stale_rows)
    assert backward_error(dev, monkeypatch, GEOMETRIES[EVEN]) < 1e-10
    assert not backward_error(dev, monkeypatch, GEOMETRIES[ODD]) < 1e-10


def scratch_in_the_cache(cache):
    """WRONG: _buffers whose dV scratch is the memory of the cached V (the backward pass overwrites it)."""
    allocate = winograd._buffers

    def buffers(*args):
        return allocate(*args)._replace(dV=cache.V.reshape(-1))

    return buffers


def backward_twice_error(dev, monkeypatch, geometry, wrong_buffers=False) -> float:
    """How far a second backward pass on the same cache, and the cached V, drift from the first."""
    x, w, b, pad = make_inputs(dev, monkeypatch, geometry)
    _, cache = _winograd_forward(x, w, b, pad=pad)
    V = dev.get(cache.V).copy()
    if wrong_buffers:
        monkeypatch.setattr(winograd, "_buffers", scratch_in_the_cache(cache))
    dout = dev.randn(x.shape[0], w.shape[0], *cache.out_hw, seed=1)
    first = [dev.get(g).copy() for g in _winograd_backward(dout, cache)]
    second = [dev.get(g) for g in _winograd_backward(dout, cache)]
    return max([rel_error(a, e) for a, e in zip(second, first)] + [rel_error(dev.get(cache.V), V)])


@pytest.mark.parametrize("geometry", [EVEN, "two-image-chunks-partial-last"])
def test_backward_leaves_the_cache_as_it_found_it(dev, monkeypatch, nan_scratch, geometry):
    """The forward pass keeps V for dU; the backward pass must read it, never use it as scratch."""
    assert backward_twice_error(dev, monkeypatch, GEOMETRIES[geometry]) == 0
    assert backward_twice_error(dev, monkeypatch, GEOMETRIES[geometry], wrong_buffers=True) > 1e-3
