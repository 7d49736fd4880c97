"""Convolution layers: numeric gradients, fast vs naive agreement, dtypes, bad input.

Every test takes the ``dev`` fixture, so it runs on NumPy and on the device double.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convlab import devicedouble
from convlab.gradcheck import assert_gradients_ok, rel_error
from convlab.layers import conv_backward, conv_backward_naive, conv_forward, conv_forward_naive
from convlab.shapes import effective_kernel_size

# (N, C, H, W, K, FH, FW, stride, pad, dilation, groups): every geometry the brief names
GEOMETRIES = {
    "square-3x3-pad1": (2, 3, 5, 5, 4, 3, 3, 1, 1, 1, 1),
    "nonsquare-kernel-H!=W": (2, 3, 6, 5, 2, 3, 2, 1, 0, 1, 1),
    "stride2-pad1": (2, 2, 7, 9, 3, 3, 3, 2, 1, 1, 1),
    "stride3": (1, 2, 8, 11, 2, 2, 2, 3, 0, 1, 1),
    "dilation2-nonsquare": (2, 2, 7, 6, 3, 3, 2, 1, 1, 2, 1),
    "groups2": (2, 4, 5, 6, 6, 3, 3, 1, 1, 1, 2),
    "depthwise": (2, 3, 6, 6, 3, 3, 3, 1, 1, 1, 3),
    "depthwise-x2-pairs": (1, 2, 7, 5, 4, 3, 3, (2, 1), (1, 0), 1, 2),
    "stride2-dilation2-groups2": (2, 4, 9, 9, 4, 2, 3, 2, 1, 2, 2),
}
# the loops are slow: the naive numeric check uses fewer, smaller geometries
NAIVE_GEOMETRIES = {
    "nonsquare-stride2-pad1": (1, 2, 5, 6, 2, 3, 2, 2, 1, 1, 1),
    "dilation2-stride3": (1, 2, 7, 4, 2, 2, 2, 3, 1, 2, 1),
    "groups2": (1, 4, 4, 5, 4, 2, 3, 1, 1, 1, 2),
    "depthwise": (1, 3, 4, 4, 3, 3, 3, 1, 1, 1, 3),
}


def make_inputs(dev, geometry, seed=0, dtype=np.float64):
    """x, w, b on ``dev`` and the settings dict for one geometry."""
    N, C, H, W, K, FH, FW, stride, pad, dilation, groups = geometry
    rng = np.random.default_rng(seed)
    x = dev.put(rng.standard_normal((N, C, H, W)), dtype=dtype)
    w = dev.put(rng.standard_normal((K, C // groups, FH, FW)), dtype=dtype)
    b = dev.put(rng.standard_normal(K), dtype=dtype)
    return x, w, b, {"stride": stride, "pad": pad, "dilation": dilation, "groups": groups}


def expected_out_shape(geometry):
    N, C, H, W, K, FH, FW, stride, pad, dilation, groups = geometry
    pair = lambda v: v if isinstance(v, tuple) else (v, v)  # noqa: E731
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(pad), pair(dilation)
    Ho = (H + 2 * ph - effective_kernel_size(FH, dh)) // sh + 1
    Wo = (W + 2 * pw - effective_kernel_size(FW, dw)) // sw + 1
    return (N, K, Ho, Wo)


@pytest.mark.parametrize("geometry", list(GEOMETRIES.values()), ids=list(GEOMETRIES))
def test_conv_gradients_numeric(dev, geometry):
    x, w, b, settings_ = make_inputs(dev, geometry)
    report = assert_gradients_ok(conv_forward, conv_backward, {"x": x, "w": w, "b": b}, kwargs=settings_, tol=1e-7)
    assert set(report.errors) == {"dx", "dw", "db"}


@pytest.mark.parametrize("geometry", list(NAIVE_GEOMETRIES.values()), ids=list(NAIVE_GEOMETRIES))
def test_conv_naive_gradients_numeric(dev, geometry):
    x, w, b, settings_ = make_inputs(dev, geometry, seed=1)
    assert_gradients_ok(conv_forward_naive, conv_backward_naive, {"x": x, "w": w, "b": b}, kwargs=settings_, tol=1e-7)


@pytest.mark.parametrize("geometry", list(GEOMETRIES.values()), ids=list(GEOMETRIES))
def test_conv_fast_matches_naive(dev, geometry):
    x, w, b, settings_ = make_inputs(dev, geometry, seed=2)
    out, cache = conv_forward(x, w, b, **settings_)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **settings_)
    assert tuple(out.shape) == expected_out_shape(geometry)
    assert rel_error(dev.get(out), dev.get(out_naive)) < 1e-10
    dout = dev.randn(*out.shape, seed=3)
    grads, grads_naive = conv_backward(dout, cache), conv_backward_naive(dout, cache_naive)
    for name, fast, naive in zip(("dx", "dw", "db"), grads, grads_naive):
        assert rel_error(dev.get(fast), dev.get(naive)) < 1e-10, name


def test_conv_known_values(dev):
    """A hand-checkable case: a 2x2 all-ones filter sums each window; the bias is added once."""
    x = dev.put(np.arange(9.0).reshape(1, 1, 3, 3))
    w = dev.put(np.ones((1, 1, 2, 2)))
    b = dev.put(np.array([0.5]))
    for forward in (conv_forward, conv_forward_naive):
        out, _ = forward(x, w, b)
        np.testing.assert_array_equal(dev.get(out), [[[[8.5, 12.5], [20.5, 24.5]]]])
    # stride 3 with pad 1: the four corner windows of the padded 5x5 image see one pixel each
    for forward in (conv_forward, conv_forward_naive):
        out, _ = forward(x, w, b, stride=3, pad=1)
        np.testing.assert_array_equal(dev.get(out), [[[[0.5, 2.5], [6.5, 8.5]]]])


def test_grouped_conv_is_independent_convs(dev):
    """groups=2 equals two separate convolutions on the halves of the channels."""
    x, w, b, settings_ = make_inputs(dev, GEOMETRIES["groups2"], seed=4)
    out, _ = conv_forward(x, w, b, **settings_)
    halves = []
    for g in range(2):
        part, _ = conv_forward(x[:, 2 * g:2 * g + 2], w[3 * g:3 * g + 3], b[3 * g:3 * g + 3], pad=1)
        halves.append(dev.get(part))
    np.testing.assert_allclose(dev.get(out), np.concatenate(halves, axis=1), rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    N=st.integers(1, 2), Cg=st.integers(1, 2), Kg=st.integers(1, 2), groups=st.integers(1, 2),
    FH=st.integers(1, 3), FW=st.integers(1, 3), sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 1), pw=st.integers(0, 1), dh=st.integers(1, 2), dw=st.integers(1, 2),
    Ho=st.integers(1, 3), Wo=st.integers(1, 3), seed=st.integers(0, 2**16),
)
def test_conv_fast_matches_naive_random_geometry(dev, N, Cg, Kg, groups, FH, FW, sh, sw, ph, pw, dh, dw, Ho, Wo, seed):
    # choose H, W so that the filter tiles the padded input exactly
    H = (Ho - 1) * sh + effective_kernel_size(FH, dh) - 2 * ph
    W = (Wo - 1) * sw + effective_kernel_size(FW, dw) - 2 * pw
    if H < 1 or W < 1:
        return
    geometry = (N, Cg * groups, H, W, Kg * groups, FH, FW, (sh, sw), (ph, pw), (dh, dw), groups)
    x, w, b, settings_ = make_inputs(dev, geometry, seed=seed)
    out, cache = conv_forward(x, w, b, **settings_)
    out_naive, cache_naive = conv_forward_naive(x, w, b, **settings_)
    assert tuple(out.shape) == (N, Kg * groups, Ho, Wo)
    assert rel_error(dev.get(out), dev.get(out_naive)) < 1e-10
    dout = dev.randn(*out.shape, seed=seed + 1)
    for fast, naive in zip(conv_backward(dout, cache), conv_backward_naive(dout, cache_naive)):
        assert rel_error(dev.get(fast), dev.get(naive)) < 1e-10


@pytest.mark.parametrize("forward,backward", [(conv_forward, conv_backward), (conv_forward_naive, conv_backward_naive)],
                         ids=["fast", "naive"])
def test_conv_float32_in_float32_out(dev, forward, backward):
    geometry = (1, 2, 5, 4, 2, 3, 2, 2, 1, 1, 2)
    x, w, b, settings_ = make_inputs(dev, geometry, seed=5, dtype=np.float32)
    out, cache = forward(x, w, b, **settings_)
    assert out.dtype == np.float32
    grads = backward(dev.put(np.ones(out.shape), dtype=np.float32), cache)
    assert [g.dtype for g in grads] == [np.float32] * 3
    x64, w64, b64, _ = make_inputs(dev, geometry, seed=5)
    out64, _ = forward(x64, w64, b64, **settings_)
    assert rel_error(dev.get(out), dev.get(out64)) < 1e-6


def _bad(dev, shape_x=(1, 2, 5, 5), shape_w=(3, 2, 3, 3), shape_b=(3,), dtype=np.float64):
    rng = np.random.default_rng(0)
    return (dev.put(rng.standard_normal(shape_x), dtype=dtype), dev.put(rng.standard_normal(shape_w), dtype=dtype),
            dev.put(rng.standard_normal(shape_b), dtype=dtype))


@pytest.mark.parametrize("forward", [conv_forward, conv_forward_naive], ids=["fast", "naive"])
@pytest.mark.parametrize("case,exc,match", [
    (dict(shape_x=(2, 5, 5)), ValueError, r"x must be 4-D \(N, C, H, W\), got 3-D"),
    (dict(shape_w=(3, 2, 3)), ValueError, r"w must be 4-D"),
    (dict(shape_w=(3, 4, 3, 3)), ValueError, r"channel mismatch: x has C=2 channels"),
    (dict(shape_b=(4,)), ValueError, r"b must have shape \(3,\), got \(4,\)"),
    (dict(shape_b=(3, 1)), ValueError, r"b must be 1-D"),
    (dict(shape_w=(3, 2, 8, 3)), ValueError, r"along the height \(H\).*larger than the padded input"),
    (dict(shape_w=(3, 2, 3, 3), settings={"stride": 2, "pad": 0}, shape_x=(1, 2, 6, 6)), ValueError,
     r"along the height \(H\).*not an integer"),
    (dict(settings={"stride": 0}), ValueError, r"stride must be >= 1, got 0"),
    (dict(settings={"stride": -1}), ValueError, r"stride must be >= 1, got -1"),
    (dict(settings={"stride": 1.5}), TypeError, r"stride must be an int or a pair of ints"),
    (dict(settings={"pad": -1}), ValueError, r"pad must be >= 0"),
    (dict(settings={"dilation": 0}), ValueError, r"dilation must be >= 1"),
    (dict(settings={"stride": (1, 2, 3)}), ValueError, r"stride must be an int or a pair"),
    (dict(shape_x=(1, 3, 5, 5), shape_w=(3, 1, 3, 3), settings={"groups": 2}), ValueError,
     r"groups=2 does not divide the input channels C=3"),
    (dict(shape_x=(1, 4, 5, 5), shape_w=(3, 2, 3, 3), settings={"groups": 2}), ValueError,
     r"groups=2 does not divide the number of filters K=3"),
    (dict(settings={"groups": 0}), ValueError, r"groups must be >= 1"),
    (dict(dtype=np.int64), TypeError, r"x must have a floating-point dtype .* got int64"),
])
def test_conv_bad_input(dev, forward, case, exc, match):
    case = dict(case)
    settings_ = case.pop("settings", {})
    x, w, b = _bad(dev, **case)
    with pytest.raises(exc, match=match):
        forward(x, w, b, **settings_)


@pytest.mark.parametrize("forward", [conv_forward, conv_forward_naive], ids=["fast", "naive"])
def test_conv_mixed_dtypes_rejected(dev, forward):
    x, w, b = _bad(dev)
    w32 = dev.put(dev.get(w), dtype=np.float32)
    with pytest.raises(TypeError, match=r"mixed dtypes \(x is float64, w is float32, b is float64\)"):
        forward(x, w32, b)


def test_conv_backward_rejects_wrong_dout(dev):
    x, w, b = _bad(dev)
    for forward, backward in ((conv_forward, conv_backward), (conv_forward_naive, conv_backward_naive)):
        out, cache = forward(x, w, b, pad=1)
        with pytest.raises(ValueError, match=r"dout must have shape \(1, 3, 5, 5\), got \(1, 3, 3, 3\)"):
            backward(dev.put(np.ones((1, 3, 3, 3))), cache)


@pytest.mark.parametrize("forward", [conv_forward, conv_forward_naive], ids=["fast", "naive"])
def test_conv_refuses_arrays_from_two_devices(dev, forward):
    """x on this device, w on the other one: a TypeError up front, not a silent host copy."""
    other = np if dev.xp is not np else devicedouble.xp
    x, w, b = _bad(dev)
    w_elsewhere = other.asarray(dev.get(w))
    with pytest.raises(TypeError, match=r"device"):
        forward(x, w_elsewhere, b)
