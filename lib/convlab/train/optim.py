"""First-order update rules: ``update(w, dw, config) -> (next_w, next_config)``.

Each rule reads its hyper-parameters and state from ``config`` (missing keys get
the defaults listed below) and returns a *new* config dict holding the updated
state; the caller's dict is never modified, so one config can seed many runs.
State arrays are created with the array module of ``w``, so they live on the
same device as the weights.

| rule           | keys (defaults)                                                         |
|----------------|-------------------------------------------------------------------------|
| sgd            | lr (1e-2)                                                               |
| sgd_momentum   | lr (1e-2), momentum (0.9), velocity (zeros)                             |
| rmsprop        | lr (1e-2), decay_rate (0.99), epsilon (1e-8), cache (zeros)             |
| adam           | lr (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m, v (zeros), t (0) |
"""

from __future__ import annotations

from types import MappingProxyType

from convlab.backend import get_array_module

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "UPDATE_RULES", "get_update_rule"]


def _with_defaults(config, **defaults):
    """A new dict: ``defaults`` overridden by ``config`` (which may be None)."""
    merged = dict(defaults)
    merged.update(config or {})
    return merged


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: ``w - lr * dw``.

    Inputs: w, dw arrays of the same shape; config dict (lr). Returns (next_w, config).
    """
    config = _with_defaults(config, lr=1e-2)
    return w - config["lr"] * dw, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: ``v = momentum * v - lr * dw; w + v``.

    Inputs: w, dw arrays of the same shape; config dict (lr, momentum, velocity).
    Returns (next_w, config) with the new velocity in ``config["velocity"]``.
    """
    xp = get_array_module(w, dw)
    config = _with_defaults(config, lr=1e-2, momentum=0.9)
    v = config.get("velocity")
    if v is None:
        v = xp.zeros_like(w)
    v = config["momentum"] * v - config["lr"] * dw
    config["velocity"] = v
    return w + v, config


def rmsprop(w, dw, config=None):
    """RMSProp: a leaky average of squared gradients scales each step.

    ``cache = decay * cache + (1 - decay) * dw**2; w - lr * dw / (sqrt(cache) + eps)``.
    Returns (next_w, config) with the new ``cache``.
    """
    xp = get_array_module(w, dw)
    config = _with_defaults(config, lr=1e-2, decay_rate=0.99, epsilon=1e-8)
    cache = config.get("cache")
    if cache is None:
        cache = xp.zeros_like(w)
    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw * dw
    config["cache"] = cache
    return w - config["lr"] * dw / (xp.sqrt(cache) + config["epsilon"]), config


def adam(w, dw, config=None):
    """Adam: momentum on the gradient and RMSProp scaling, both bias-corrected.

    With ``t`` counting steps from 1: ``m = b1 m + (1-b1) dw``, ``v = b2 v + (1-b2) dw**2``,
    ``w - lr * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + eps)``.
    Returns (next_w, config) with the new ``m``, ``v`` and ``t``.
    """
    xp = get_array_module(w, dw)
    config = _with_defaults(config, lr=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, t=0)
    m = config.get("m")
    v = config.get("v")
    if m is None:
        m = xp.zeros_like(w)
    if v is None:
        v = xp.zeros_like(w)
    b1, b2 = config["beta1"], config["beta2"]
    t = int(config["t"]) + 1
    m = b1 * m + (1 - b1) * dw
    v = b2 * v + (1 - b2) * dw * dw
    m_hat = m / (1 - b1**t)
    v_hat = v / (1 - b2**t)
    config.update(m=m, v=v, t=t)
    return w - config["lr"] * m_hat / (xp.sqrt(v_hat) + config["epsilon"]), config


UPDATE_RULES = MappingProxyType(
    {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
)


def get_update_rule(rule):
    """Return the update function for a name in UPDATE_RULES, or ``rule`` itself if callable."""
    if callable(rule):
        return rule
    try:
        return UPDATE_RULES[rule]
    except KeyError:
        raise ValueError(f"unknown update rule {rule!r}; choose one of {sorted(UPDATE_RULES)}") from None
