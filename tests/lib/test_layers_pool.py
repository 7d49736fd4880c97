"""Pooling layers: overlapping windows, numeric gradients, the documented tie policy, bad input.

Random inputs are a random permutation of well-separated values, so no window
holds two values closer than the finite-difference step (no ties, no kinks),
and the values sit in random order (a sorted or linspace input lets wrong
window arithmetic pass).
"""

from __future__ import annotations

import numpy as np
import pytest

from convlab.gradcheck import assert_gradients_ok, rel_error
from convlab.layers import (
    avg_pool_backward,
    avg_pool_forward,
    l2_pool_backward,
    l2_pool_forward,
    max_pool_backward,
    max_pool_forward,
)

# (x shape, size, stride, expected (H_out, W_out))
GEOMETRIES = {
    "2x2-s2": ((2, 3, 4, 6), 2, 2, (2, 3)),
    "3x3-s2-overlap": ((2, 2, 7, 5), 3, 2, (3, 2)),
    "3x3-s1-overlap": ((1, 3, 5, 6), 3, 1, (3, 4)),
    "2x3-s(1,2)-nonsquare": ((2, 2, 5, 7), (2, 3), (1, 2), (4, 3)),
    "3x2-s(2,1)-nonsquare": ((1, 2, 7, 4), (3, 2), (2, 1), (3, 3)),
}
PARAMS = [pytest.param(*g, id=name) for name, g in GEOMETRIES.items()]


def separated_values(shape, seed):
    """Distinct values in random order, at least 1/size apart (far above the step h=1e-5)."""
    size = int(np.prod(shape))
    rng = np.random.default_rng(seed)
    return (rng.permutation(size) / size - 0.5).reshape(shape) * 4.0


def reference_max_pool(x, size, stride):
    """Loop oracle: out, and dx for dout = ones routed to the first maximum of each window."""
    FH, FW = (size, size) if isinstance(size, int) else size
    SH, SW = (stride, stride) if isinstance(stride, int) else stride
    N, C, H, W = x.shape
    Ho, Wo = (H - FH) // SH + 1, (W - FW) // SW + 1
    out = np.empty((N, C, Ho, Wo))
    winners = np.zeros_like(x)  # how many windows each pixel wins
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    window = x[n, c, i * SH:i * SH + FH, j * SW:j * SW + FW]
                    out[n, c, i, j] = window.max()
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    winners[n, c, i * SH + a, j * SW + b] += 1
    return out, winners


@pytest.mark.parametrize("shape,size,stride,out_hw", PARAMS)
def test_max_pool_matches_loops(dev, shape, size, stride, out_hw):
    x_host = np.random.default_rng(0).standard_normal(shape)
    out, cache = max_pool_forward(dev.put(x_host), size=size, stride=stride)
    ref_out, winners = reference_max_pool(x_host, size, stride)
    assert tuple(out.shape) == shape[:2] + out_hw
    np.testing.assert_array_equal(dev.get(out), ref_out)
    dx = max_pool_backward(dev.put(np.ones(out.shape)), cache)
    np.testing.assert_array_equal(dev.get(dx), winners)


@pytest.mark.parametrize("shape,size,stride,out_hw", PARAMS)
@pytest.mark.parametrize("forward,backward", [
    (max_pool_forward, max_pool_backward),
    (avg_pool_forward, avg_pool_backward),
    (l2_pool_forward, l2_pool_backward),
], ids=["max", "avg", "l2"])
def test_pool_gradients_numeric(dev, forward, backward, shape, size, stride, out_hw):
    x = dev.put(separated_values(shape, seed=1))
    assert_gradients_ok(forward, backward, {"x": x}, kwargs={"size": size, "stride": stride}, tol=1e-7)


def test_max_pool_tie_policy_first_maximum_row_major(dev):
    """Ties: the first maximum in row-major window order receives the whole gradient."""
    x = dev.put(np.array([[[[1.0, 1.0], [1.0, 1.0]],     # all four tied: (0, 0) wins
                           [[0.0, 2.0], [2.0, 0.0]],     # (0, 1) and (1, 0) tied: (0, 1) wins
                           [[0.0, -1.0], [3.0, 3.0]]]]))  # bottom row tied: (1, 0) wins
    out, cache = max_pool_forward(x, size=2, stride=2)
    np.testing.assert_array_equal(dev.get(out).ravel(), [1.0, 2.0, 3.0])
    dx = dev.get(max_pool_backward(dev.put(np.array([5.0, 6.0, 7.0]).reshape(1, 3, 1, 1)), cache))
    np.testing.assert_array_equal(dx[0], [[[5.0, 0.0], [0.0, 0.0]],
                                          [[0.0, 6.0], [0.0, 0.0]],
                                          [[0.0, 0.0], [7.0, 0.0]]])


def test_max_pool_accumulates_a_pixel_winning_several_windows(dev):
    """Overlap: 3x3 windows at stride 1 on 4x4; one dominant pixel wins all four windows."""
    x_host = np.random.default_rng(2).uniform(-1, 0, (1, 1, 4, 4))
    x_host[0, 0, 1, 2] = 5.0  # inside every 3x3 window of a 4x4 image
    out, cache = max_pool_forward(dev.put(x_host), size=3, stride=1)
    dout = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    dx = dev.get(max_pool_backward(dev.put(dout), cache))
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, 1, 2] = 10.0  # the sum, not the last window's value
    np.testing.assert_array_equal(dx, expected)


def test_avg_and_l2_pool_known_values(dev):
    x = dev.put(np.array([[[[3.0, 4.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]]]]))
    out, _ = avg_pool_forward(x, size=2, stride=2)
    np.testing.assert_allclose(dev.get(out), [[[[1.75, 0.25]]]])
    out, _ = l2_pool_forward(x, size=2, stride=2)
    np.testing.assert_allclose(dev.get(out), [[[[5.0, 1.0]]]])


def test_l2_pool_all_zero_window_gets_zero_gradient(dev):
    """sqrt is not differentiable at 0: an all-zero window passes back 0, never NaN."""
    x_host = np.zeros((1, 1, 2, 4))
    x_host[0, 0, :, 2:] = [[3.0, 0.0], [0.0, 4.0]]  # left window all zero, right window norm 5
    out, cache = l2_pool_forward(dev.put(x_host), size=2, stride=2)
    np.testing.assert_allclose(dev.get(out), [[[[0.0, 5.0]]]])
    dx = dev.get(l2_pool_backward(dev.put(np.array([[[[7.0, 10.0]]]])), cache))
    assert np.all(np.isfinite(dx))
    np.testing.assert_allclose(dx[0, 0], [[0.0, 0.0, 6.0, 0.0], [0.0, 0.0, 0.0, 8.0]])


@pytest.mark.parametrize("forward", [max_pool_forward, avg_pool_forward, l2_pool_forward])
def test_pool_keeps_float32(dev, forward):
    x = dev.put(separated_values((1, 2, 4, 4), seed=3), dtype=np.float32)
    out, _ = forward(x, size=2, stride=2)
    assert out.dtype == np.float32
    out64, _ = forward(dev.put(separated_values((1, 2, 4, 4), seed=3)), size=2, stride=2)
    assert rel_error(dev.get(out), dev.get(out64)) < 1e-6


@pytest.mark.parametrize("forward", [max_pool_forward, avg_pool_forward, l2_pool_forward])
@pytest.mark.parametrize("shape,settings_,exc,match", [
    ((2, 4, 4), {}, ValueError, r"x must be 4-D \(N, C, H, W\), got 3-D"),
    ((1, 1, 5, 4), {"size": 2, "stride": 2}, ValueError, r"along the height \(H\).*not an integer"),
    ((1, 1, 4, 4), {"size": 5, "stride": 1}, ValueError, r"along the height \(H\).*larger than the padded input"),
    ((1, 1, 4, 4), {"size": 2, "stride": 0}, ValueError, r"stride must be >= 1, got 0"),
    ((1, 1, 4, 4), {"size": 0}, ValueError, r"size must be >= 1"),
    ((1, 1, 4, 4), {"size": 2.0}, TypeError, r"size must be an int or a pair of ints"),
])
def test_pool_bad_input(dev, forward, shape, settings_, exc, match):
    with pytest.raises(exc, match=match):
        forward(dev.put(np.ones(shape)), **settings_)


@pytest.mark.parametrize("forward", [max_pool_forward, avg_pool_forward, l2_pool_forward])
def test_pool_rejects_integer_input(dev, forward):
    with pytest.raises(TypeError, match=r"x must have a floating-point dtype .* got int64"):
        forward(dev.put(np.ones((1, 1, 4, 4), dtype=np.int64)))


@pytest.mark.parametrize("forward,backward", [
    (max_pool_forward, max_pool_backward),
    (avg_pool_forward, avg_pool_backward),
    (l2_pool_forward, l2_pool_backward),
], ids=["max", "avg", "l2"])
def test_pool_backward_rejects_wrong_dout(dev, forward, backward):
    _, cache = forward(dev.put(separated_values((1, 2, 4, 4), seed=4)))
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 2, 2, 2\), got \(1, 2, 4, 4\)"):
        backward(dev.put(np.ones((1, 2, 4, 4))), cache)
