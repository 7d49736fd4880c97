"""Affine, ReLU and the two classification losses."""

from __future__ import annotations

import numpy as np
import pytest

from convlab.gradcheck import assert_gradients_ok, assert_loss_gradients_ok
from convlab.layers import affine_backward, affine_forward, relu_backward, relu_forward, softmax_loss, svm_loss


def away_from_zero(shape, seed, gap=0.1):
    """Standard normal values pushed at least ``gap`` away from 0 (no ReLU kinks near h)."""
    z = np.random.default_rng(seed).standard_normal(shape)
    return np.where(z >= 0, z + gap, z - gap)


@pytest.mark.parametrize("x_shape", [(3, 5), (2, 3, 2, 2)], ids=["2d", "4d-flattened"])
def test_affine_gradients_numeric(dev, x_shape):
    rng = np.random.default_rng(0)
    D = int(np.prod(x_shape[1:]))
    inputs = {"x": dev.put(rng.standard_normal(x_shape)), "w": dev.put(rng.standard_normal((D, 4))),
              "b": dev.put(rng.standard_normal(4))}
    assert_gradients_ok(affine_forward, affine_backward, inputs, tol=1e-7)


def test_affine_flattens_channel_major(dev):
    x_host = np.random.default_rng(1).standard_normal((2, 3, 2, 2))
    w_host = np.random.default_rng(2).standard_normal((12, 5))
    b_host = np.arange(5.0)
    out, _ = affine_forward(dev.put(x_host), dev.put(w_host), dev.put(b_host))
    np.testing.assert_allclose(dev.get(out), x_host.reshape(2, 12) @ w_host + b_host, rtol=1e-12)
    dx, _, _ = affine_backward(dev.put(np.ones((2, 5))), affine_forward(dev.put(x_host), dev.put(w_host),
                                                                         dev.put(b_host))[1])
    assert tuple(dx.shape) == (2, 3, 2, 2)


@pytest.mark.parametrize("x_shape,w_shape,b_shape,match", [
    ((2, 3, 2, 2), (10, 4), (4,), r"flattens to 12 features per example but w has shape \(10, 4\)"),
    ((2, 6), (6, 4), (3,), r"b must have shape \(4,\), got \(3,\)"),
    ((2, 6), (6,), (4,), r"w must be 2-D \(D, M\)"),
])
def test_affine_bad_shapes(dev, x_shape, w_shape, b_shape, match):
    with pytest.raises(ValueError, match=match):
        affine_forward(dev.put(np.ones(x_shape)), dev.put(np.ones(w_shape)), dev.put(np.ones(b_shape)))


def test_affine_rejects_ints_and_mixed_dtypes(dev):
    w, b = dev.put(np.ones((6, 4))), dev.put(np.ones(4))
    with pytest.raises(TypeError, match=r"x must have a floating-point dtype"):
        affine_forward(dev.put(np.ones((2, 6), dtype=np.int32)), w, b)
    with pytest.raises(TypeError, match=r"mixed dtypes \(x is float32, w is float64, b is float64\)"):
        affine_forward(dev.put(np.ones((2, 6)), dtype=np.float32), w, b)


def test_relu_values_and_gradients(dev):
    x_host = away_from_zero((3, 4, 2), seed=3)
    out, cache = relu_forward(dev.put(x_host))
    np.testing.assert_array_equal(dev.get(out), np.maximum(x_host, 0))
    assert_gradients_ok(relu_forward, relu_backward, {"x": dev.put(x_host)}, tol=1e-7)


def test_relu_kink_gets_zero_gradient(dev):
    _, cache = relu_forward(dev.put(np.array([-1.0, 0.0, 2.0])))
    np.testing.assert_array_equal(dev.get(relu_backward(dev.put(np.array([5.0, 5.0, 5.0])), cache)), [0.0, 0.0, 5.0])


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_loss_gradients_numeric(dev, loss_fn):
    rng = np.random.default_rng(4)
    scores = dev.put(rng.standard_normal((6, 5)))
    y = dev.put(rng.integers(0, 5, size=6))
    loss, dscores = loss_fn(scores, y)
    assert isinstance(loss, float)
    assert tuple(dscores.shape) == (6, 5)
    assert_loss_gradients_ok(loss_fn, {"scores": scores}, kwargs={"y": y}, tol=1e-7)


def test_softmax_loss_known_values_and_stability(dev):
    y = dev.put(np.array([0, 3, 1]))
    loss, dscores = softmax_loss(dev.put(np.zeros((3, 4))), y)
    assert loss == pytest.approx(np.log(4.0), rel=1e-12)  # uniform scores: log C
    np.testing.assert_allclose(dev.get(dscores).sum(axis=1), 0.0, atol=1e-15)
    # huge scores would overflow a naive exp; shifting by a constant must not change anything
    scores_host = np.random.default_rng(5).standard_normal((3, 4))
    base, dbase = softmax_loss(dev.put(scores_host), y)
    big, dbig = softmax_loss(dev.put(scores_host + 1000.0), y)
    assert np.isfinite(big) and big == pytest.approx(base, rel=1e-10)
    np.testing.assert_allclose(dev.get(dbig), dev.get(dbase), atol=1e-12)


def test_svm_loss_known_values(dev):
    y = dev.put(np.array([0, 2]))
    loss, _ = svm_loss(dev.put(np.zeros((2, 3))), y)
    assert loss == pytest.approx(2.0)  # (C - 1) * delta for all-equal scores
    scores = dev.put(np.array([[3.0, 1.0, 2.5], [0.0, 1.0, 0.5]]))
    loss, dscores = svm_loss(scores, y)
    # row 0: max(0, 1-3+1) + max(0, 2.5-3+1) = 0.5; row 1: max(0, 0-0.5+1) + max(0, 1-0.5+1) = 2.0
    assert loss == pytest.approx(1.25)
    np.testing.assert_allclose(dev.get(dscores), [[-0.5, 0.0, 0.5], [0.5, 0.5, -1.0]])
    loss, _ = svm_loss(scores, y, delta=0.0)
    assert loss == pytest.approx(0.25)  # only row 1, class 1 stays positive: max(0, 1 - 0.5) / 2


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
@pytest.mark.parametrize("scores_shape,y_values,y_dtype,exc,match", [
    ((3, 4), [0, 1, 4], np.int64, ValueError, r"labels must lie in \[0, 3\] for C=4 classes, got values in \[0, 4\]"),
    ((3, 4), [0, -1, 2], np.int64, ValueError, r"labels must lie in \[0, 3\]"),
    ((3, 4), [0, 1], np.int64, ValueError, r"scores has N=3 rows but y has 2 labels"),
    ((3, 4), [0.0, 1.0, 2.0], np.float64, TypeError, r"y must hold integer class labels, got dtype float64"),
    ((3,), [0, 1, 2], np.int64, ValueError, r"scores must be 2-D \(N, C\)"),
])
def test_loss_bad_input(dev, loss_fn, scores_shape, y_values, y_dtype, exc, match):
    with pytest.raises(exc, match=match):
        loss_fn(dev.put(np.zeros(scores_shape)), dev.put(np.array(y_values, dtype=y_dtype)))
