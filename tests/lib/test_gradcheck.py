"""convlab.gradcheck: numerical gradients, the relative error, and the layer/loss checkers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convlab.backend import get_array_module
from convlab.gradcheck import (
    GradientReport,
    assert_gradients_ok,
    assert_loss_gradients_ok,
    check_layer_gradients,
    check_loss_gradients,
    numeric_gradient,
    rel_error,
)

# --- small layers with known gradients, written device-agnostically ----------


def affine_forward(x, w, b):
    out = x @ w + b  # (N, M)
    return out, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def tanh_forward(x):
    xp = get_array_module(x)
    out = xp.tanh(x)
    return out, out


def tanh_backward(dout, cache):
    return dout * (1 - cache * cache)


def softmax_loss(scores, y):
    """Mean cross-entropy of (N, C) scores against labels y (N,); returns (loss, dscores)."""
    xp = get_array_module(scores)
    shifted = scores - scores.max(axis=1, keepdims=True)  # (N, C)
    probs = xp.exp(shifted)
    probs = probs / probs.sum(axis=1, keepdims=True)
    n = scores.shape[0]
    rows = xp.arange(n)
    loss = -float(xp.log(probs[rows, y]).sum()) / n
    dscores = probs.copy()
    dscores[rows, y] -= 1
    return loss, dscores / n


def _affine_inputs(dev, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x": dev.put(rng.standard_normal((4, 5))),
        "w": dev.put(rng.standard_normal((5, 3))),
        "b": dev.put(rng.standard_normal(3)),
    }


# --- numeric_gradient ----------------------------------------------------------


def test_numeric_gradient_of_elementwise_function_with_dout(dev):
    rng = np.random.default_rng(1)
    x_host = rng.standard_normal((3, 4))
    dout_host = rng.standard_normal((3, 4))
    x = dev.put(x_host)
    xp = dev.xp
    grad = numeric_gradient(lambda a: xp.sin(a) * a, x, dev.put(dout_host))
    expected = (np.cos(x_host) * x_host + np.sin(x_host)) * dout_host
    np.testing.assert_allclose(dev.get(grad), expected, rtol=1e-7, atol=1e-9)


def test_numeric_gradient_of_scalar_function(dev):
    x_host = np.random.default_rng(2).standard_normal((2, 3, 2))
    x = dev.put(x_host)
    grad = numeric_gradient(lambda a: float((a * a * a).sum()), x)
    np.testing.assert_allclose(dev.get(grad), 3 * x_host**2, rtol=1e-7, atol=1e-9)


def test_numeric_gradient_of_matrix_product(dev):
    rng = np.random.default_rng(3)
    x_host, w_host = rng.standard_normal((4, 5)), rng.standard_normal((5, 2))
    x, w = dev.put(x_host), dev.put(w_host)
    dout_host = rng.standard_normal((4, 2))
    dw = numeric_gradient(lambda _: x @ w, w, dev.put(dout_host))  # f closes over w
    np.testing.assert_allclose(dev.get(dw), x_host.T @ dout_host, rtol=1e-7, atol=1e-9)


def test_numeric_gradient_restores_input_and_returns_on_its_device(dev):
    x_host = np.random.default_rng(4).standard_normal((3, 3))
    x = dev.put(x_host)
    seen = []

    def f(a):
        seen.append(dev.owns(a))
        return (a**2).sum()

    grad = numeric_gradient(f, x)
    assert all(seen) and len(seen) == 2 * x_host.size
    np.testing.assert_array_equal(dev.get(x), x_host)  # restored bit for bit
    assert dev.owns(grad)
    assert grad.shape == x.shape


def test_numeric_gradient_restores_input_when_f_raises(dev):
    x_host = np.arange(4.0)
    x = dev.put(x_host)

    def boom(a):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        numeric_gradient(boom, x)
    np.testing.assert_array_equal(dev.get(x), x_host)


def test_numeric_gradient_rejects_integer_input_and_bad_dout(dev):
    with pytest.raises(TypeError, match="floating"):
        numeric_gradient(lambda a: a, dev.put(np.arange(3)))
    with pytest.raises(ValueError, match="shape"):
        numeric_gradient(lambda a: a * 2, dev.put(np.ones(3)), dev.put(np.ones(4)))


# --- rel_error -------------------------------------------------------------------

# no subnormals: below float64 tiny the denominator is clamped, so scale-freedom cannot hold there
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_subnormal=False)
arrays = hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=finite)


@given(arrays, st.data())
def test_rel_error_properties(a, data):
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=finite))
    e = rel_error(a, b)
    assert isinstance(e, float)
    assert 0.0 <= e <= 1.0
    assert e == rel_error(b, a)
    assert rel_error(a, a) == 0.0
    if not np.array_equal(a, b):
        assert e > 0.0
    # scale-free: multiplying both by a power of two changes nothing
    assert rel_error(a * 8.0, b * 8.0) == pytest.approx(e, rel=1e-12, abs=0)


def test_rel_error_values():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.5])) == pytest.approx(0.5 / 4.5)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1.0, -1.0]), np.array([-1.0, 1.0])) == 1.0
    assert rel_error(2.0, 2.0) == 0.0
    assert rel_error(np.zeros(0), np.zeros(0)) == 0.0


def test_rel_error_nonfinite_is_inf_and_shapes_must_match():
    assert rel_error(np.array([np.nan]), np.array([1.0])) == math.inf
    assert rel_error(np.array([1.0, np.inf]), np.array([1.0, 1.0])) == math.inf
    with pytest.raises(ValueError, match="shape"):
        rel_error(np.ones(3), np.ones((3, 1)))


def test_rel_error_on_device(dev):
    a, b = dev.put([1.0, 2.0]), dev.put([1.0, 2.5])
    assert rel_error(a, b) == pytest.approx(0.5 / 4.5)


# --- check_layer_gradients ------------------------------------------------------------


def test_correct_affine_backward_passes(dev):
    report = assert_gradients_ok(affine_forward, affine_backward, _affine_inputs(dev))
    assert isinstance(report, GradientReport) and report.ok
    assert set(report.errors) == {"dx", "dw", "db"}
    assert max(report.errors.values()) < 1e-8
    assert "passed" in str(report)


def test_single_gradient_layer_passes(dev):
    x = dev.put(np.random.default_rng(5).standard_normal((3, 4)))
    assert check_layer_gradients(tanh_forward, tanh_backward, {"x": x}).ok


def test_wrong_weight_gradient_is_flagged_by_name_and_index(dev):
    def bad_backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        xp = get_array_module(dw)
        bump = xp.zeros(dw.shape)
        bump[1, 2] = 1.0  # a bug in one entry only
        return dx, dw + bump, db

    report = check_layer_gradients(affine_forward, bad_backward, _affine_inputs(dev))
    assert not report.ok
    assert [r.name for r in report.failed] == ["dw"]
    assert report["dw"].worst_index == (1, 2)
    assert report["dx"].ok and report["db"].ok
    text = str(report)
    assert text.splitlines()[1].strip().startswith("dw: rel error")
    assert "> 1e-07 (worst at index (1,2))" in text
    with pytest.raises(AssertionError, match=r"dw: rel error .* > 1e-07"):
        assert_gradients_ok(affine_forward, bad_backward, _affine_inputs(dev))


def test_transposed_bias_gradient_sign_error_is_flagged(dev):
    def bad_backward(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, -db

    report = check_layer_gradients(affine_forward, bad_backward, _affine_inputs(dev))
    assert [r.name for r in report.failed] == ["db"]
    assert report["db"].error == pytest.approx(1.0)


def test_names_selects_inputs_and_kwargs_pass_through(dev):
    def scaled_forward(x, w, b, *, scale):
        out, cache = affine_forward(x, w, b)
        return out * scale, (cache, scale)

    def scaled_backward(dout, cache):
        inner, scale = cache
        return affine_backward(dout * scale, inner)

    report = check_layer_gradients(scaled_forward, scaled_backward, _affine_inputs(dev),
                                   kwargs={"scale": 3.0}, names=["w"])
    assert report.ok and list(report.errors) == ["dw"]
    with pytest.raises(KeyError):
        check_layer_gradients(scaled_forward, scaled_backward, _affine_inputs(dev),
                              kwargs={"scale": 3.0}, names=["nope"])


def test_wrong_shape_and_wrong_count_are_reported(dev):
    def flat_dw(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw.ravel(), db

    report = check_layer_gradients(affine_forward, flat_dw, _affine_inputs(dev))
    assert "dw: shape (15,) does not match the input's shape (5, 3)" in str(report)

    with pytest.raises(ValueError, match="2 gradient"):
        check_layer_gradients(affine_forward, lambda d, c: affine_backward(d, c)[:2], _affine_inputs(dev))


def test_gradient_returned_on_the_wrong_device_is_reported():
    from convlab.devicedouble import xp  # noqa: PLC0415

    inputs = {k: xp.asarray(v) for k, v in _affine_inputs_host().items()}

    def host_db(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx, dw, db.get()  # silently left the device

    report = check_layer_gradients(affine_forward, host_db, inputs)
    assert not report.ok
    assert "db: returned on numpy but the input lives on convlab.devicedouble.xp" in str(report)


def _affine_inputs_host():
    rng = np.random.default_rng(0)
    return {"x": rng.standard_normal((4, 5)), "w": rng.standard_normal((5, 3)), "b": rng.standard_normal(3)}


def test_mutating_inputs_or_dout_is_reported(dev):
    def mutating_forward(x, w, b):
        out, cache = affine_forward(x, w, b)
        x *= 1.0  # harmless
        b += 0.0
        return out, cache

    def mutating_backward(dout, cache):
        grads = affine_backward(dout, cache)
        dout *= 2.0
        return grads

    report = check_layer_gradients(affine_forward, mutating_backward, _affine_inputs(dev))
    assert "backward modified dout in place" in str(report) and not report.ok
    assert check_layer_gradients(mutating_forward, affine_backward, _affine_inputs(dev)).ok

    def clobbering_forward(x, w, b):
        out, cache = affine_forward(x, w, b)
        w[0, 0] = 0.0
        return out, cache

    report = check_layer_gradients(clobbering_forward, affine_backward, _affine_inputs(dev))
    assert "forward modified its input 'w' in place" in str(report)


def test_float32_inputs_are_refused(dev):
    inputs = {k: dev.put(dev.get(v).astype(np.float32)) for k, v in _affine_inputs(dev).items()}
    with pytest.raises(TypeError, match="float64"):
        check_layer_gradients(affine_forward, affine_backward, inputs)


def test_tolerance_and_seed_are_honoured(dev):
    def slightly_off(dout, cache):
        dx, dw, db = affine_backward(dout, cache)
        return dx * (1 + 1e-5), dw, db

    assert not check_layer_gradients(affine_forward, slightly_off, _affine_inputs(dev)).ok
    assert check_layer_gradients(affine_forward, slightly_off, _affine_inputs(dev), tol=1e-4, seed=7).ok


# --- losses ------------------------------------------------------------------------


def _scores_and_labels(dev, seed=0):
    rng = np.random.default_rng(seed)
    return dev.put(rng.standard_normal((6, 4))), dev.put(rng.integers(0, 4, size=6))


def test_softmax_loss_gradient_passes(dev):
    scores, y = _scores_and_labels(dev)
    report = assert_loss_gradients_ok(softmax_loss, {"scores": scores}, kwargs={"y": y})
    assert list(report.errors) == ["dscores"] and report.errors["dscores"] < 1e-8


def test_softmax_loss_missing_mean_is_flagged(dev):
    def unnormalised(scores, y):
        loss, dscores = softmax_loss(scores, y)
        return loss, dscores * scores.shape[0]

    scores, y = _scores_and_labels(dev)
    report = check_loss_gradients(unnormalised, {"scores": scores}, kwargs={"y": y})
    assert [r.name for r in report.failed] == ["dscores"]
    with pytest.raises(AssertionError, match="dscores: rel error"):
        report.assert_ok()


def test_loss_with_dict_of_gradients(dev):
    def quadratic(a, b):
        return float((a * b).sum() + (a * a).sum()), {"a": b + 2 * a, "b": a}

    rng = np.random.default_rng(9)
    inputs = {"a": dev.put(rng.standard_normal(5)), "b": dev.put(rng.standard_normal(5))}
    assert check_loss_gradients(quadratic, inputs).ok
