"""Benchmark of convlab.models / convlab.train against the targets of issue 3.

Prints one line per target, measured vs target, and exits 1 if any is missed:

- digits ConvNet (float32): test accuracy >= 98% with <= 60 s of training on 2 CPU cores
- whole-net gradient check (float64, 2 samples, tiny sizes): max-normalised error < 1e-6
- overfitting 50 training samples: 100% training accuracy within 30 epochs
- initial loss with small init and no regularisation: within 10% of log(num_classes)

Run: ``python bench/bench_models.py`` (``make bench`` runs it).
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np

from convlab.data import load_digits
from convlab.demo import DEMO_SPEC, train_digits
from convlab.gradcheck import numeric_gradient, rel_error
from convlab.models import ConvNet
from convlab.train import Solver, limit_blas_threads

GRAD_SPECS = ("conv3-3 relu res3-3 avgpool2 res3-4 maxpool2 fc5 relu fc3",
              "conv3-3 bn relu l2pool2 fc6 relu dropout0.3 fc3")


def digits_accuracy():
    result = train_digits(verbose=False)
    ok = result.test_acc >= 0.98 and result.seconds <= 60
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return ok, (f"digits test accuracy {result.test_acc:.2%} (target >= 98%) after {result.seconds:.1f} s "
                f"of training (target <= 60 s; CPU {result.cpu_seconds:.1f} s, load average {load:.1f}), "
                f"float32, {len(result.solver.history['val_acc'])} epochs")


def gradient_check():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((2, 2, 4, 4))
    y = np.array([0, 2])
    worst = 0.0
    for spec in GRAD_SPECS:
        net = ConvNet(spec, (2, 4, 4), dtype=np.float64, reg=0.1, seed=3)

        def loss(_=None, net=net):
            net.rng = np.random.default_rng(0)  # one dropout mask for every evaluation
            return net.loss(X, y)[0]

        net.rng = np.random.default_rng(0)
        _, grads = net.loss(X, y)
        for key, w in net.params.items():
            if key == "b1" and "bn" in spec:
                continue  # a bias right before batchnorm has gradient exactly 0 (tested separately)
            worst = max(worst, rel_error(grads[key], numeric_gradient(loss, w)))
    specs = " and ".join(repr(s) for s in GRAD_SPECS)
    return worst < 1e-6, f"whole-net gradient check max rel error {worst:.2e} (target < 1e-6), float64, {specs}"


def overfit_small():
    d = load_digits()
    small = {"X_train": d["X_train"][:50], "y_train": d["y_train"][:50],
             "X_val": d["X_val"][:50], "y_val": d["y_val"][:50]}
    net = ConvNet(DEMO_SPEC, (1, 8, 8), seed=0)
    history = Solver(net, small, update_rule="adam", optim_config={"lr": 2e-3}, batch_size=25,
                     num_epochs=30, progress=False, verbose=False).train()
    epochs = next((i + 1 for i, acc in enumerate(history["train_acc"]) if acc == 1.0), None)
    shown = "never" if epochs is None else f"after {epochs} epochs"
    return epochs is not None and epochs <= 30, f"overfit 50 samples: 100% train accuracy {shown} (target <= 30)"


def initial_loss():
    d = load_digits()
    net = ConvNet(DEMO_SPEC, (1, 8, 8), weight_scale=1e-3, reg=0.0, seed=0)
    loss, _ = net.loss(d["X_train"], d["y_train"])
    target = math.log(10)
    off = abs(loss - target) / target
    return off <= 0.1, f"initial loss {loss:.4f} vs log(10) = {target:.4f}: {off:.2%} off (target <= 10%)"


def main() -> int:
    missed = 0
    for check in (digits_accuracy, gradient_check, overfit_small, initial_loss):
        start = time.perf_counter()
        with limit_blas_threads(1):
            ok, line = check()
        missed += not ok
        print(f"[{'ok' if ok else 'MISSED'}] {line}  ({time.perf_counter() - start:.1f} s)", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
