"""Spatial batch normalization and inverted dropout."""

from __future__ import annotations

import numpy as np
import pytest

from convlab import devicedouble
from convlab.gradcheck import assert_gradients_ok, rel_error
from convlab.layers import (
    BatchNormResult,
    dropout_backward,
    dropout_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)


def bn_inputs(dev, seed=0, shape=(3, 2, 4, 5)):
    rng = np.random.default_rng(seed)
    C = shape[1]
    return (dev.put(rng.standard_normal(shape) * 3.0 + 1.5), dev.put(rng.uniform(0.5, 2.0, C)),
            dev.put(rng.standard_normal(C)))


def test_batchnorm_train_normalises_per_channel(dev):
    x, gamma, beta = bn_inputs(dev)
    result = spatial_batchnorm_forward(x, gamma, beta, train=True)
    assert isinstance(result, BatchNormResult)
    out = dev.get(result.out)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), dev.get(beta), atol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), dev.get(gamma), rtol=1e-5)


def test_batchnorm_running_statistics_update_without_mutation(dev):
    x, gamma, beta = bn_inputs(dev, seed=1)
    rm_host, rv_host = np.array([0.5, -1.0]), np.array([2.0, 0.25])
    rm, rv = dev.put(rm_host), dev.put(rv_host)
    out, cache, new_mean, new_var = spatial_batchnorm_forward(x, gamma, beta, train=True, running_mean=rm,
                                                              running_var=rv, momentum=0.8)
    x_host = dev.get(x)
    np.testing.assert_allclose(dev.get(new_mean), 0.8 * rm_host + 0.2 * x_host.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(dev.get(new_var), 0.8 * rv_host + 0.2 * x_host.var(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_array_equal(dev.get(rm), rm_host)  # the arguments are untouched
    np.testing.assert_array_equal(dev.get(rv), rv_host)
    # a fresh layer starts from zeros and ones
    _, _, fresh_mean, fresh_var = spatial_batchnorm_forward(x, gamma, beta, train=True)
    np.testing.assert_allclose(dev.get(fresh_mean), 0.1 * x_host.mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(dev.get(fresh_var), 0.9 + 0.1 * x_host.var(axis=(0, 2, 3)), rtol=1e-12)


def test_batchnorm_test_mode_uses_running_statistics(dev):
    x, gamma, beta = bn_inputs(dev, seed=2)
    rm_host, rv_host = np.array([1.0, -2.0]), np.array([4.0, 0.5])
    out, _, same_mean, same_var = spatial_batchnorm_forward(
        x, gamma, beta, train=False, running_mean=dev.put(rm_host), running_var=dev.put(rv_host), eps=1e-5)
    expected = (dev.get(x) - rm_host.reshape(1, 2, 1, 1)) / np.sqrt(rv_host.reshape(1, 2, 1, 1) + 1e-5)
    expected = dev.get(gamma).reshape(1, 2, 1, 1) * expected + dev.get(beta).reshape(1, 2, 1, 1)
    np.testing.assert_allclose(dev.get(out), expected, rtol=1e-12)
    np.testing.assert_array_equal(dev.get(same_mean), rm_host)
    np.testing.assert_array_equal(dev.get(same_var), rv_host)


@pytest.mark.parametrize("train", [True, False], ids=["train", "test"])
def test_batchnorm_gradients_numeric(dev, train):
    x, gamma, beta = bn_inputs(dev, seed=3)
    running = {"running_mean": dev.put(np.array([0.3, -0.2])), "running_var": dev.put(np.array([1.5, 0.7]))}

    def forward(x, gamma, beta):
        result = spatial_batchnorm_forward(x, gamma, beta, train=train, **running)
        return result.out, result.cache

    assert_gradients_ok(forward, spatial_batchnorm_backward, {"x": x, "gamma": gamma, "beta": beta}, tol=1e-7)


def test_batchnorm_keeps_float32(dev):
    x, gamma, beta = (dev.put(dev.get(a), dtype=np.float32) for a in bn_inputs(dev, seed=4))
    out, cache, rm, rv = spatial_batchnorm_forward(x, gamma, beta, train=True)
    assert out.dtype == rm.dtype == rv.dtype == np.float32
    grads = spatial_batchnorm_backward(dev.put(np.ones(out.shape), np.float32), cache)
    assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"gamma_shape": (3,)}, ValueError, r"gamma must have shape \(2,\), got \(3,\)"),
    ({"x_shape": (3, 2, 4)}, ValueError, r"x must be 4-D \(N, C, H, W\)"),
    ({"train": 1}, TypeError, r"train must be True or False, got 1"),
    ({"train": False}, ValueError, r"train=False needs running_mean and running_var"),
    ({"momentum": 1.5}, ValueError, r"momentum must lie in \[0.0, 1.0\], got 1.5"),
    ({"eps": 0.0}, ValueError, r"eps must lie in \(0.0, inf\], got 0.0"),
    ({"running_mean": (3,)}, ValueError, r"running_mean must have shape \(2,\), got \(3,\)"),
])
def test_batchnorm_bad_input(dev, kwargs, exc, match):
    kwargs = dict(kwargs)
    x = dev.put(np.ones(kwargs.pop("x_shape", (3, 2, 4, 4))))
    gamma = dev.put(np.ones(kwargs.pop("gamma_shape", (2,))))
    if "running_mean" in kwargs:
        kwargs["running_mean"] = dev.put(np.zeros(kwargs["running_mean"]))
    kwargs.setdefault("train", True)
    with pytest.raises(exc, match=match):
        spatial_batchnorm_forward(x, gamma, dev.put(np.zeros(2)), **kwargs)


def test_dropout_drops_with_probability_p_and_rescales(dev):
    x_host = np.random.default_rng(5).uniform(1.0, 2.0, (40, 50))
    out, cache = dropout_forward(dev.put(x_host), p=0.3, train=True, rng=np.random.default_rng(6))
    out = dev.get(out)
    kept = out != 0
    assert abs(kept.mean() - 0.7) < 0.03  # 2000 draws: 3 standard deviations is about 0.03
    np.testing.assert_allclose(out[kept], x_host[kept] / 0.7, rtol=1e-12)
    # the mask follows the documented rule: keep where the uniform draw u >= p
    u = np.random.default_rng(6).random(x_host.shape)
    np.testing.assert_array_equal(kept, u >= 0.3)


def test_dropout_same_seed_same_mask_on_every_device(dev):
    x_host = np.random.default_rng(7).standard_normal((4, 3, 5, 5))
    out, _ = dropout_forward(dev.put(x_host), p=0.5, train=True, rng=np.random.default_rng(8))
    host_out, _ = dropout_forward(x_host, p=0.5, train=True, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(dev.get(out), host_out)


def test_dropout_accepts_a_device_generator(dev):
    """A generator of the device double works on either device; draws move explicitly."""
    x = dev.put(np.ones((10, 10)))
    out_device_rng, _ = dropout_forward(x, p=0.5, train=True, rng=devicedouble.xp.random.default_rng(0))
    out_host_rng, _ = dropout_forward(x, p=0.5, train=True, rng=np.random.default_rng(0))
    values = dev.get(out_device_rng)
    assert set(np.unique(values).tolist()) == {0.0, 2.0}
    np.testing.assert_array_equal(values, dev.get(out_host_rng))  # the double wraps the same bit generator


def test_dropout_test_mode_is_identity(dev):
    x = dev.put(np.random.default_rng(9).standard_normal((3, 4)))
    out, cache = dropout_forward(x, p=0.9, train=False)
    np.testing.assert_array_equal(dev.get(out), dev.get(x))
    dout = dev.put(np.arange(12.0).reshape(3, 4))
    np.testing.assert_array_equal(dev.get(dropout_backward(dout, cache)), np.arange(12.0).reshape(3, 4))


def test_dropout_gradients_numeric(dev):
    def forward(x):  # a fresh, equally seeded generator per call: the same mask every time
        return dropout_forward(x, p=0.4, train=True, rng=np.random.default_rng(10))

    assert_gradients_ok(forward, dropout_backward, {"x": dev.put(np.random.default_rng(11).standard_normal((3, 2, 4)))},
                        tol=1e-7)


def test_dropout_keeps_float32(dev):
    x = dev.put(np.ones((4, 4)), dtype=np.float32)
    out, cache = dropout_forward(x, p=0.25, train=True, rng=np.random.default_rng(0))
    assert out.dtype == np.float32
    assert dropout_backward(dev.put(np.ones((4, 4)), dtype=np.float32), cache).dtype == np.float32
    assert rel_error(dev.get(out)[dev.get(out) != 0], np.full(int((dev.get(out) != 0).sum()), 1 / 0.75)) < 1e-7


@pytest.mark.parametrize("kwargs,exc,match", [
    ({"p": 1.0, "train": True}, ValueError, r"p is the drop probability and must lie in \[0, 1\), got 1.0"),
    ({"p": -0.1, "train": True}, ValueError, r"must lie in \[0, 1\)"),
    ({"p": "0.5", "train": True}, TypeError, r"p \(the drop probability\) must be a number"),
    ({"p": 0.5, "train": "yes"}, TypeError, r"train must be True or False"),
    ({"p": 0.5, "train": True}, TypeError, r"train=True needs rng"),
])
def test_dropout_bad_input(dev, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dropout_forward(dev.put(np.ones((2, 2))), **kwargs)
