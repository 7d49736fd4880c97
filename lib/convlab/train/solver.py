"""The training loop: minibatches, epochs, learning-rate decay, history, best checkpoint.

A model is anything with a ``params`` dict of arrays and a method
``loss(X, y=None)`` returning class scores (N, num_classes) without labels and
``(loss, grads)`` with labels, ``grads`` keyed like ``params``. A model may also
have a ``state`` dict of arrays that training changes without gradients
(batchnorm's running statistics); it is checkpointed with the parameters. The solver never
looks inside the arrays except through their own array module, so the same loop
runs on NumPy, CuPy or the device test double: give it data and parameters on
the same device.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from convlab.backend import get_array_module, to_numpy
from convlab.train.optim import get_update_rule
from convlab.train.threads import limit_blas_threads

__all__ = ["Solver", "check_accuracy"]


def check_accuracy(model, X, y, *, batch_size: int = 256) -> float:
    """Fraction of ``X`` (N, ...) whose arg-max score equals ``y`` (N,), in batches."""
    n = X.shape[0]
    if n == 0:
        raise ValueError("cannot measure accuracy on an empty set")
    xp = get_array_module(X, y)
    correct = 0
    for start in range(0, n, batch_size):
        scores = model.loss(X[start:start + batch_size])  # (b, num_classes)
        pred = xp.argmax(scores, axis=1)
        correct += int(xp.sum(pred == y[start:start + batch_size]))
    return correct / n


class Solver:
    """Train ``model`` on ``data`` with minibatch gradient descent.

    Inputs
    - model: object with ``params`` (dict name -> array) and ``loss(X, y=None)``
    - data: dict with ``X_train`` (N, C, H, W), ``y_train`` (N,), ``X_val``, ``y_val``,
      all on the same device as the model's parameters
    - update_rule: "sgd", "sgd_momentum", "rmsprop", "adam" or a function of that signature
    - optim_config: hyper-parameters for the rule (e.g. ``{"lr": 1e-3}``); each
      parameter gets its own copy, so state (momentum, Adam moments) is per parameter
    - lr_decay: ``lr`` is multiplied by this after every epoch
    - batch_size, num_epochs: minibatch size and passes over the training set
    - num_train_samples: training accuracy is measured on this many fixed random
      samples each epoch (None: all of them); num_val_samples likewise for validation
    - seed: seeds the NumPy Generator that shuffles the batches
    - progress: show a tqdm progress bar (a widget in JupyterLab, text in a terminal)
    - verbose: print one line per epoch (loss, accuracies, lr, seconds)
    - checkpoint_path: if given, the best parameters are also saved there as ``.npz``
    - blas_threads: run training with at most this many BLAS threads (1 is fastest for
      small nets on a busy 2-core machine); None leaves the thread pool alone

    After :meth:`train`, ``history`` holds ``loss`` (one per iteration), ``train_acc``,
    ``val_acc``, ``lr`` and ``epoch_time`` (one per epoch); the parameters with the best
    validation accuracy are written back into ``model.params`` (and ``model.state``).
    """

    def __init__(self, model, data, *, update_rule="sgd", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, num_train_samples=1000, num_val_samples=None,
                 seed=0, progress=True, verbose=True, checkpoint_path=None, blas_threads=None):
        for key in ("X_train", "y_train", "X_val", "y_val"):
            if key not in data:
                raise KeyError(f"data is missing {key!r}")
        if data["X_train"].shape[0] != data["y_train"].shape[0]:
            raise ValueError("X_train and y_train have different lengths")
        if batch_size < 1 or num_epochs < 0:
            raise ValueError("batch_size must be >= 1 and num_epochs >= 0")
        self.model = model
        self.X_train, self.y_train = data["X_train"], data["y_train"]
        self.X_val, self.y_val = data["X_val"], data["y_val"]
        self.update_rule = get_update_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        self.lr_decay = float(lr_decay)
        self.batch_size = int(batch_size)
        self.num_epochs = int(num_epochs)
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.seed = seed
        self.progress = progress
        self.verbose = verbose
        self.checkpoint_path = checkpoint_path
        self.blas_threads = blas_threads
        self._reset()

    def _reset(self):
        self.rng = np.random.default_rng(self.seed)
        self.epoch = 0
        self.best_val_acc = -1.0
        self.best_params = {}
        self.best_state = {}
        self.history = {"loss": [], "train_acc": [], "val_acc": [], "lr": [], "epoch_time": []}
        self.optim_configs = {name: dict(self.optim_config) for name in self.model.params}

    # CS231n's attribute names, for students who know them
    @property
    def loss_history(self):
        return self.history["loss"]

    @property
    def train_acc_history(self):
        return self.history["train_acc"]

    @property
    def val_acc_history(self):
        return self.history["val_acc"]

    def _device_index(self, idx):
        """Put a host index array on the data's device (CuPy and the double refuse NumPy indices)."""
        xp = get_array_module(self.X_train)
        return idx if xp is np else xp.asarray(idx)

    def _subset(self, X, y, num_samples):
        """A fixed random subset of (X, y) of ``num_samples`` (all when None or larger)."""
        n = X.shape[0]
        if num_samples is None or num_samples >= n:
            return X, y
        idx = self._device_index(np.sort(self.rng.choice(n, num_samples, replace=False)))
        return X[idx], y[idx]

    def _step(self, X_batch, y_batch) -> float:
        """One gradient step on a minibatch; returns the batch loss as a Python float."""
        loss, grads = self.model.loss(X_batch, y_batch)
        for name, w in self.model.params.items():
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.params[name] = next_w
        return float(loss)

    def _current_lr(self):
        configs = list(self.optim_configs.values())
        return configs[0].get("lr") if configs else None

    def _end_epoch(self, seconds, train_subset, val_subset, log):
        train_acc = check_accuracy(self.model, *train_subset)
        val_acc = check_accuracy(self.model, *val_subset)
        h = self.history
        h["train_acc"].append(train_acc)
        h["val_acc"].append(val_acc)
        h["lr"].append(self._current_lr())
        h["epoch_time"].append(seconds)
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = {k: v.copy() for k, v in self.model.params.items()}
            self.best_state = {k: v.copy() for k, v in getattr(self.model, "state", {}).items()}
            if self.checkpoint_path is not None:
                np.savez(self.checkpoint_path, **{k: to_numpy(v) for k, v in self.best_params.items()})
        if self.verbose:
            recent = h["loss"][-self.iterations_per_epoch:] or [float("nan")]
            lr = "" if h["lr"][-1] is None else f"lr {h['lr'][-1]:.3g}, "
            log(f"(Epoch {self.epoch} / {self.num_epochs}) loss {np.mean(recent):.4f}, "
                f"train acc {train_acc:.4f}, val acc {val_acc:.4f}, {lr}{seconds:.1f} s")
        for config in self.optim_configs.values():
            if "lr" in config:
                config["lr"] *= self.lr_decay

    @property
    def iterations_per_epoch(self) -> int:
        return max(-(-self.X_train.shape[0] // self.batch_size), 1)

    def train(self):
        """Run ``num_epochs`` epochs; return ``history``. Best-validation params end up in the model."""
        with limit_blas_threads(self.blas_threads):
            return self._train()

    def _train(self):
        n = self.X_train.shape[0]
        train_subset = self._subset(self.X_train, self.y_train, self.num_train_samples)
        val_subset = self._subset(self.X_val, self.y_val, self.num_val_samples)
        total = self.num_epochs * self.iterations_per_epoch
        with tqdm(total=total, disable=not self.progress, unit="batch", leave=False) as bar:
            log = bar.write if self.progress else print
            for _ in range(self.num_epochs):
                start = time.perf_counter()
                order = self.rng.permutation(n)
                for first in range(0, n, self.batch_size):
                    idx = self._device_index(order[first:first + self.batch_size])
                    loss = self._step(self.X_train[idx], self.y_train[idx])
                    self.history["loss"].append(loss)
                    bar.update(1)
                    bar.set_postfix(epoch=self.epoch + 1, loss=f"{loss:.3f}", refresh=False)
                self.epoch += 1
                self._end_epoch(time.perf_counter() - start, train_subset, val_subset, log)
        if self.best_params:
            self.model.params.update(self.best_params)
            if self.best_state:
                self.model.state.update(self.best_state)
        return self.history
