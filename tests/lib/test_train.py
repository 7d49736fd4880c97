"""Tests of convlab.train: update rules and the Solver, on NumPy and on the device double."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convlab.backend import get_array_module
from convlab.train import Solver, adam, check_accuracy, get_update_rule, rmsprop, sgd, sgd_momentum

W0 = np.array([1.0, -2.0])
DW = np.array([0.5, 1.0])


# ---- update rules: one step against values worked out by hand ----

def test_sgd_one_step(dev):
    w, config = sgd(dev.put(W0), dev.put(DW), {"lr": 0.1})
    np.testing.assert_allclose(dev.get(w), [0.95, -2.1], rtol=0, atol=1e-15)
    assert config == {"lr": 0.1}


def test_momentum_one_step(dev):
    config = {"lr": 0.1, "momentum": 0.9, "velocity": dev.put(np.array([1.0, 0.0]))}
    w, new = sgd_momentum(dev.put(W0), dev.put(DW), config)
    # v = 0.9 * [1, 0] - 0.1 * [0.5, 1] = [0.85, -0.1]
    np.testing.assert_allclose(dev.get(new["velocity"]), [0.85, -0.1], atol=1e-15)
    np.testing.assert_allclose(dev.get(w), [1.85, -2.1], atol=1e-15)


def test_rmsprop_one_step(dev):
    w, new = rmsprop(dev.put(W0), dev.put(DW), {"lr": 0.1, "decay_rate": 0.9, "epsilon": 0.0})
    # cache = 0.1 * dw^2, so dw / sqrt(cache) = sign(dw) * sqrt(10)
    np.testing.assert_allclose(dev.get(new["cache"]), [0.025, 0.1], atol=1e-15)
    np.testing.assert_allclose(dev.get(w), [1 - 0.1 * math.sqrt(10), -2 - 0.1 * math.sqrt(10)], atol=1e-14)


def test_adam_two_steps(dev):
    cfg = {"lr": 0.1, "epsilon": 0.0}
    w1, cfg1 = adam(dev.put(W0), dev.put(DW), cfg)
    # first bias-corrected step is lr * sign(dw)
    np.testing.assert_allclose(dev.get(w1), [0.9, -2.1], atol=1e-15)
    assert cfg1["t"] == 1
    w2, cfg2 = adam(w1, dev.put(np.array([-0.5, 3.0])), cfg1)
    # by hand: m_hat = [-0.005, 0.39] / 0.19, v_hat = [0.00049975, 0.009999] / 0.001999
    np.testing.assert_allclose(dev.get(w2), [0.90526315789, -2.19177811], atol=1e-8)
    assert cfg2["t"] == 2 and cfg1["t"] == 1


@pytest.mark.parametrize("rule", [sgd_momentum, rmsprop, adam])
def test_rules_do_not_mutate_config_and_keep_state_on_device(dev, rule):
    config = {"lr": 0.05}
    w, new = rule(dev.put(W0), dev.put(DW), config)
    assert config == {"lr": 0.05}
    w2, newer = rule(w, dev.put(DW), new)
    state = {k: v for k, v in new.items() if hasattr(v, "shape")}
    assert state, "a stateful rule must return its state"
    snapshot = {k: dev.get(v).copy() for k, v in state.items()}
    assert all(get_array_module(v) is dev.xp for v in state.values())
    for k, v in state.items():  # the first step's state is untouched by the second step
        np.testing.assert_array_equal(dev.get(new[k]), snapshot[k])
        assert not np.array_equal(dev.get(newer[k]), snapshot[k])


@pytest.mark.parametrize("name, config, steps", [
    ("sgd", {"lr": 0.2}, 300),
    ("sgd_momentum", {"lr": 0.05, "momentum": 0.9}, 300),
    ("rmsprop", {"lr": 0.01, "decay_rate": 0.9}, 1500),
    ("adam", {"lr": 0.05}, 1500),
])
def test_rules_minimise_a_quadratic(dev, name, config, steps):
    """f(w) = 1/2 sum a (w - c)^2 with a badly conditioned diagonal."""
    rng = np.random.default_rng(1)
    a = dev.put(np.array([1.0, 4.0, 0.5, 2.0]))
    c = rng.normal(size=4)
    w = dev.put(np.zeros(4))
    update = get_update_rule(name)
    cfg = dict(config)
    for _ in range(steps):
        w, cfg = update(w, a * (w - dev.put(c)), cfg)
    np.testing.assert_allclose(dev.get(w), c, atol=2e-2)


@settings(max_examples=30, deadline=None)
@given(w=st.lists(st.floats(-10, 10), min_size=1, max_size=6),
       lr=st.floats(1e-4, 1.0), momentum=st.floats(0.0, 0.99))
def test_momentum_from_rest_equals_sgd(w, lr, momentum):
    """Property: the first momentum step from zero velocity is exactly an SGD step."""
    w = np.array(w)
    dw = np.cos(w)  # any gradient
    a, _ = sgd(w, dw, {"lr": lr})
    b, _ = sgd_momentum(w, dw, {"lr": lr, "momentum": momentum})
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_unknown_rule():
    with pytest.raises(ValueError, match="adam"):
        get_update_rule("adamw")


# ---- the Solver ----

class Softmax:
    """A linear softmax classifier on flattened inputs: scores = X W + b."""

    def __init__(self, dim, classes, put, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": put(1e-3 * rng.normal(size=(dim, classes))), "b": put(np.zeros(classes))}

    def loss(self, X, y=None):
        xp = get_array_module(X)
        Xf = X.reshape(X.shape[0], -1)  # (N, D)
        scores = Xf @ self.params["W"] + self.params["b"]  # (N, C)
        if y is None:
            return scores
        shifted = scores - scores.max(axis=1, keepdims=True)
        p = xp.exp(shifted)
        p /= p.sum(axis=1, keepdims=True)
        n = X.shape[0]
        rows = xp.arange(n)
        loss = -float(xp.log(p[rows, y]).mean())
        p[rows, y] -= 1
        dscores = p / n
        return float(loss), {"W": Xf.T @ dscores, "b": dscores.sum(axis=0)}


def blobs(n, put, seed=0):
    """Three well separated Gaussian blobs in 4-D, as (n, 1, 2, 2) images."""
    rng = np.random.default_rng(seed)
    centres = np.array([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], dtype=float)
    y = rng.integers(0, 3, size=n)
    X = centres[y] + 0.5 * rng.normal(size=(n, 4))
    return put(X.reshape(n, 1, 2, 2)), put(y)


def make_data(dev):
    Xtr, ytr = blobs(120, dev.put, seed=1)
    Xva, yva = blobs(60, dev.put, seed=2)
    return {"X_train": Xtr, "y_train": ytr, "X_val": Xva, "y_val": yva}


def test_solver_learns_and_records_history(dev):
    model = Softmax(4, 3, dev.put)
    solver = Solver(model, make_data(dev), update_rule="sgd_momentum", optim_config={"lr": 0.1},
                    lr_decay=0.5, batch_size=32, num_epochs=3, progress=False, verbose=False)
    history = solver.train()
    assert len(history["loss"]) == 3 * 4  # ceil(120 / 32) = 4 iterations per epoch
    assert len(history["train_acc"]) == len(history["val_acc"]) == 3
    assert history["lr"] == pytest.approx([0.1, 0.05, 0.025])
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert solver.best_val_acc >= 0.95 and max(history["val_acc"]) == solver.best_val_acc
    assert all(get_array_module(v) is dev.xp for v in model.params.values())
    assert solver.loss_history is history["loss"]


def test_solver_is_seeded(dev):
    runs = []
    for seed in (3, 3, 4):
        model = Softmax(4, 3, dev.put)
        solver = Solver(model, make_data(dev), optim_config={"lr": 0.05}, batch_size=16,
                        num_epochs=2, seed=seed, progress=False, verbose=False)
        runs.append(solver.train()["loss"])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


class Dial:
    """A stub whose validation accuracy is the fraction of X_val rows equal to its one weight."""

    def __init__(self, put):
        self.params = {"w": put(np.zeros(1))}

    def loss(self, X, y=None):
        xp = get_array_module(X)
        hit = (X[:, 0] == self.params["w"][0]).astype(X.dtype)  # (N,)
        scores = xp.stack([1 - hit, hit], axis=1)  # (N, 2): class 1 iff hit
        if y is None:
            return scores
        return 0.0, {"w": xp.zeros_like(self.params["w"])}


def step_up(w, dw, config):
    """An 'update rule' that adds 1 each step, so the epoch fixes the weight."""
    return w + 1, dict(config or {})


def test_solver_restores_best_checkpoint(dev, tmp_path):
    X_val = dev.put(np.array([[1.0], [2.0], [2.0], [2.0], [3.0], [3.0], [4.0]]))
    data = {"X_train": dev.put(np.zeros((5, 1))), "y_train": dev.put(np.ones(5, dtype=np.int64)),
            "X_val": X_val, "y_val": dev.put(np.ones(7, dtype=np.int64))}
    model = Dial(dev.put)
    path = tmp_path / "best.npz"
    solver = Solver(model, data, update_rule=step_up, batch_size=5, num_epochs=5,
                    progress=False, verbose=True, checkpoint_path=path)
    history = solver.train()
    assert history["val_acc"] == pytest.approx([1 / 7, 3 / 7, 2 / 7, 1 / 7, 0.0])
    assert solver.best_val_acc == pytest.approx(3 / 7)
    assert dev.get(model.params["w"]).tolist() == [2.0]  # epoch 2's weights, not the last (5)
    with np.load(path) as saved:
        assert saved["w"].tolist() == [2.0]


def test_solver_verbose_and_progress_output(dev, capsys):
    model = Softmax(4, 3, dev.put)
    Solver(model, make_data(dev), optim_config={"lr": 0.05}, batch_size=40, num_epochs=2,
           progress=False, verbose=True).train()
    out = capsys.readouterr()
    assert "(Epoch 1 / 2)" in out.out and "(Epoch 2 / 2)" in out.out and "val acc" in out.out
    assert out.err == ""
    Solver(Softmax(4, 3, dev.put), make_data(dev), batch_size=40, num_epochs=1,
           progress=True, verbose=False).train()
    assert "batch" in capsys.readouterr().err  # the tqdm bar, on stderr in a terminal


def test_solver_rejects_bad_data(dev):
    data = make_data(dev)
    del data["y_val"]
    with pytest.raises(KeyError, match="y_val"):
        Solver(Softmax(4, 3, dev.put), data)


def test_check_accuracy_in_batches(dev):
    X, y = blobs(50, dev.put)
    model = Softmax(4, 3, dev.put)
    model.params["W"] = dev.put(np.eye(4)[:, :3])  # the blob centres point along axes 0..2
    model.params["b"] = dev.put(np.zeros(3))
    full = check_accuracy(model, X, y, batch_size=50)
    assert check_accuracy(model, X, y, batch_size=7) == full
    Xn, yn = dev.get(X).reshape(50, 4), dev.get(y)
    assert full == pytest.approx(np.mean(Xn[:, :3].argmax(1) == yn))


def _blas_threads():
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def test_limit_blas_threads_is_scoped():
    from convlab.train import limit_blas_threads

    np.ones((2, 2)) @ np.ones((2, 2))  # make sure BLAS is loaded
    before = _blas_threads()
    assert before, "NumPy's BLAS should be visible to threadpoolctl"
    with limit_blas_threads(1):
        assert _blas_threads() == [1] * len(before)
    assert _blas_threads() == before
    with limit_blas_threads(None):
        assert _blas_threads() == before


def test_solver_trains_under_the_thread_limit(dev):
    seen = []

    class Spy(Softmax):
        def loss(self, X, y=None):
            seen.append(tuple(_blas_threads()))
            return super().loss(X, y)

    Solver(Spy(4, 3, dev.put), make_data(dev), batch_size=60, num_epochs=1, progress=False,
           verbose=False, blas_threads=1).train()
    assert seen and all(set(s) == {1} for s in seen)


class DialWithState(Dial):
    """Dial whose training passes record the weight they saw in ``state`` (like running statistics)."""

    def __init__(self, put):
        super().__init__(put)
        self.state = {"seen": put(np.full(1, -1.0))}

    def loss(self, X, y=None):
        if y is not None:
            self.state["seen"] = self.params["w"].copy()
        return super().loss(X, y)


def test_solver_checkpoints_model_state_with_params(dev):
    X_val = dev.put(np.array([[1.0], [2.0], [2.0], [3.0]]))
    data = {"X_train": dev.put(np.zeros((5, 1))), "y_train": dev.put(np.ones(5, dtype=np.int64)),
            "X_val": X_val, "y_val": dev.put(np.ones(4, dtype=np.int64))}
    model = DialWithState(dev.put)
    Solver(model, data, update_rule=step_up, batch_size=5, num_epochs=4, progress=False, verbose=False).train()
    # best at epoch 2: w = 2, and the one training pass of epoch 2 saw w = 1
    assert dev.get(model.params["w"]).tolist() == [2.0]
    assert dev.get(model.state["seen"]).tolist() == [1.0]
