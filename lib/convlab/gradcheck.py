"""Numerical gradient checking: central differences against analytic backward passes.

Everything here runs in float64 on the host, whatever device the arrays live on:
values are read with :func:`convlab.backend.to_numpy`, perturbations are written
back into the original (device) array, so the function under test always sees
arrays of its own device. Typical use in a test::

    from convlab.gradcheck import assert_gradients_ok
    assert_gradients_ok(conv_forward, conv_backward, {"x": x, "w": w, "b": b},
                        kwargs={"stride": 2, "pad": 1})

and for a loss that returns its own gradient::

    assert_loss_gradients_ok(softmax_loss, {"scores": scores}, kwargs={"y": y})

The error measure is the max-normalised relative error
``max|a - b| / max(max(|a| + |b|), tiny)``: one number per gradient, scale-free,
and zero only when the two agree everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .backend import get_array_module, to_numpy

__all__ = [
    "numeric_gradient",
    "rel_error",
    "GradientResult",
    "GradientReport",
    "check_layer_gradients",
    "check_loss_gradients",
    "assert_gradients_ok",
    "assert_loss_gradients_ok",
]

_TINY = np.finfo(np.float64).tiny


def _on_device_of(host, ref):
    """Put the NumPy array ``host`` on the device that ``ref`` lives on."""
    xp = get_array_module(ref)
    return host if xp is np else xp.asarray(host)


def _device_name(a) -> str:
    """A short name of the namespace owning ``a`` (``numpy``, ``cupy``, ...)."""
    xp = get_array_module(a)
    return getattr(xp, "__name__", type(xp).__name__)


def numeric_gradient(f: Callable, x, dout=None, h: float = 1e-5):
    """Central-difference gradient of ``f`` at ``x``.

    Inputs
    - f: function of one argument; called as ``f(x)`` with ``x`` perturbed in
      place, so ``f`` may also ignore its argument and close over ``x``.
      Returns a scalar (Python number or 0-d array) or an array of any shape.
    - x: floating array of shape (...) on any device (NumPy, CuPy, test double);
      modified during the call and restored exactly before returning.
    - dout: upstream gradient, same shape as ``f(x)``; the result is the gradient
      of ``sum(f(x) * dout)``. Defaults to ones (1 for a scalar output).
    - h: step; use float64 inputs, in float32 the differences are mostly rounding.

    Returns an array of the shape and device of ``x`` (dtype float64 on the host
    side, converted with ``x``'s namespace).
    """
    if not np.issubdtype(np.dtype(x.dtype), np.floating):
        raise TypeError(f"numeric_gradient needs a floating array, got dtype {x.dtype}")
    x_host = np.array(to_numpy(x), dtype=np.float64, copy=True)  # original values, never perturbed
    dout_host = None if dout is None else np.asarray(to_numpy(dout), dtype=np.float64)
    grad = np.zeros(x_host.shape, dtype=np.float64)

    def weighted(out):
        out = np.asarray(to_numpy(out), dtype=np.float64)
        if dout_host is None:
            return float(out.sum())
        if out.shape != dout_host.shape:
            raise ValueError(f"f(x) has shape {out.shape} but dout has shape {dout_host.shape}")
        return float(np.sum(out * dout_host))

    try:
        for idx in np.ndindex(x_host.shape):
            old = float(x_host[idx])
            x[idx] = old + h
            plus = weighted(f(x))
            x[idx] = old - h
            minus = weighted(f(x))
            x[idx] = old
            grad[idx] = (plus - minus) / (2 * h)
    finally:  # restore x even when f raises
        for idx in np.ndindex(x_host.shape):
            x[idx] = float(x_host[idx])
    return _on_device_of(grad, x)


def rel_error(a, b) -> float:
    """Max-normalised relative error ``max|a-b| / max(max(|a|+|b|), tiny)`` as a Python float.

    ``a`` and ``b`` are arrays (any device, same shape) or numbers. Returns 0.0
    when both are zero or empty, and ``inf`` when either holds NaN or inf, so
    that ``rel_error(a, b) <= tol`` is a safe test.
    """
    a = np.asarray(to_numpy(a), dtype=np.float64)
    b = np.asarray(to_numpy(b), dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs equal shapes, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    scale = max(float(np.max(np.abs(a) + np.abs(b))), _TINY)
    return float(np.max(np.abs(a - b)) / scale)


@dataclass(frozen=True)
class GradientResult:
    """The check of one gradient: its name (``"dx"``), error, tolerance and what went wrong.

    ``worst_index`` is the index of the largest absolute difference; ``problem``
    is set when the gradient could not be compared at all (wrong shape, wrong
    device, missing) or when the forward/backward pass mutated its inputs.
    """

    name: str
    error: float
    tol: float
    worst_index: tuple | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None and self.error <= self.tol

    def __str__(self) -> str:
        if self.problem is not None:
            return f"{self.name}: {self.problem}"
        where = ""
        if self.worst_index is not None and not self.ok:
            where = " (worst at index (" + ",".join(str(i) for i in self.worst_index) + "))"
        relation = "<=" if self.ok else ">"
        return f"{self.name}: rel error {self.error:.1e} {relation} {self.tol:.0e}{where}"


@dataclass(frozen=True)
class GradientReport:
    """All gradient checks of one call; ``ok`` when every one passed.

    ``str(report)`` lists failures first, one line each, e.g.
    ``dw: rel error 3.2e-01 > 1e-07 (worst at index (1,0,2,2))``.
    """

    results: tuple[GradientResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    @property
    def errors(self) -> dict[str, float]:
        """Relative error per gradient name."""
        return {r.name: r.error for r in self.results}

    @property
    def failed(self) -> tuple[GradientResult, ...]:
        return tuple(r for r in self.results if not r.ok)

    def __getitem__(self, name: str) -> GradientResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(name)

    def __str__(self) -> str:
        ordered = self.failed + tuple(r for r in self.results if r.ok)
        head = "gradient check passed" if self.ok else f"gradient check FAILED for {len(self.failed)} of {len(self.results)}"
        return "\n".join([head] + ["  " + str(r) for r in ordered])

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` with the readable report unless every check passed."""
        if not self.ok:
            raise AssertionError(str(self))


def _compare(name, analytic, numeric, x, tol) -> GradientResult:
    """Compare one analytic gradient with its numerical estimate for input ``x``."""
    if analytic is None:
        return GradientResult(name, float("inf"), tol, problem="backward returned None")
    if not hasattr(analytic, "shape") or tuple(analytic.shape) != tuple(x.shape):
        shape = getattr(analytic, "shape", type(analytic).__name__)
        return GradientResult(name, float("inf"), tol,
                              problem=f"shape {shape} does not match the input's shape {tuple(x.shape)}")
    if get_array_module(analytic) is not get_array_module(x):
        return GradientResult(name, float("inf"), tol,
                              problem=f"returned on {_device_name(analytic)} but the input lives on {_device_name(x)}")
    a = np.asarray(to_numpy(analytic), dtype=np.float64)
    n = np.asarray(to_numpy(numeric), dtype=np.float64)
    err = rel_error(a, n)
    worst = None
    if a.size:
        diff = np.abs(a - n)
        diff[~np.isfinite(diff)] = np.inf
        worst = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), a.shape))
    return GradientResult(name, err, tol, worst_index=worst)


def _as_tuple(grads, inputs: Mapping):
    """Backward's gradients as a tuple aligned with ``inputs`` (a lone array, a tuple or a dict)."""
    if isinstance(grads, Mapping):
        return tuple(grads.get(k, grads.get("d" + k)) for k in inputs)
    if not isinstance(grads, (tuple, list)):
        grads = (grads,)
    if len(grads) != len(inputs):
        raise ValueError(
            f"backward returned {len(grads)} gradient(s) but forward has {len(inputs)} array input(s) "
            f"{list(inputs)}; pass non-differentiable arrays through kwargs"
        )
    return tuple(grads)


def _validate_inputs(inputs: Mapping, names):
    if not inputs:
        raise ValueError("inputs must name at least one array")
    for key, value in inputs.items():
        if not hasattr(value, "dtype"):
            raise TypeError(f"input {key!r} must be an array, got {type(value).__name__}; pass numbers through kwargs")
        dtype = np.dtype(value.dtype)
        if np.issubdtype(dtype, np.floating) and dtype != np.float64:
            raise TypeError(f"gradient checks need float64 inputs; {key!r} is {dtype}")
    names = tuple(inputs) if names is None else tuple(names)
    unknown = [n for n in names if n not in inputs]
    if unknown:
        raise KeyError(f"names {unknown} are not among the inputs {list(inputs)}")
    return names


def _snapshot(inputs: Mapping) -> dict:
    return {k: np.array(to_numpy(v), copy=True) for k, v in inputs.items()}


def _mutations(before: dict, inputs: Mapping, when: str) -> list[GradientResult]:
    found = []
    for k, old in before.items():
        if not np.array_equal(old, to_numpy(inputs[k]), equal_nan=True):
            found.append(GradientResult(k, float("inf"), 0.0, problem=f"{when} modified its input {k!r} in place"))
    return found


def check_layer_gradients(forward: Callable, backward: Callable, inputs: Mapping, *, kwargs=None, names=None,
                          h: float = 1e-5, tol: float = 1e-7, seed: int = 0) -> GradientReport:
    """Check every gradient of a ``forward``/``backward`` pair against central differences.

    Inputs
    - forward: ``forward(**inputs, **kwargs) -> (out, cache)``
    - backward: ``backward(dout, cache) -> gradients`` in the order of ``inputs``
      (one array, a tuple, or a dict keyed by input name or ``"d" + name``)
    - inputs: ordered mapping name -> float64 array (any device), the array
      arguments that backward differentiates; everything else goes in ``kwargs``
    - names: the inputs to check (default: all of them)
    - h, tol: finite-difference step and the largest accepted relative error
    - seed: seeds the random upstream gradient ``dout`` (standard normal, shape of out)

    Returns a :class:`GradientReport` naming each gradient ``"d" + name``. The
    report also fails a gradient of the wrong shape or device, and a forward or
    backward pass that modifies its inputs or ``dout``.
    """
    inputs = dict(inputs)
    kwargs = dict(kwargs or {})
    names = _validate_inputs(inputs, names)
    before = _snapshot(inputs)

    out, cache = forward(**inputs, **kwargs)
    problems = _mutations(before, inputs, "forward")
    dout_host = np.random.default_rng(seed).standard_normal(tuple(out.shape))
    dout = _on_device_of(dout_host.copy(), out)  # backward gets its own copy; dout_host stays pristine
    grads = _as_tuple(backward(dout, cache), inputs)
    problems += _mutations(before, inputs, "backward")
    if not np.array_equal(to_numpy(dout), dout_host):
        problems.append(GradientResult("dout", float("inf"), 0.0, problem="backward modified dout in place"))
    dout = _on_device_of(dout_host, out)

    def output_of(_):
        return forward(**inputs, **kwargs)[0]

    results = [
        _compare("d" + k, grads[list(inputs).index(k)], numeric_gradient(output_of, inputs[k], dout, h=h),
                 inputs[k], tol)
        for k in names
    ]
    return GradientReport(tuple(problems + results))


def check_loss_gradients(loss_fn: Callable, inputs: Mapping, *, kwargs=None, names=None,
                         h: float = 1e-5, tol: float = 1e-7) -> GradientReport:
    """Check a loss that returns its own gradient: ``loss_fn(**inputs, **kwargs) -> (loss, grads)``.

    ``grads`` is one array (e.g. ``dscores`` of ``softmax_loss(scores, y)``), a
    tuple in the order of ``inputs``, or a dict keyed by input name. Labels and
    settings go in ``kwargs``: ``check_loss_gradients(softmax_loss, {"scores": s}, kwargs={"y": y})``.
    Returns a :class:`GradientReport` as :func:`check_layer_gradients` does.
    """
    inputs = dict(inputs)
    kwargs = dict(kwargs or {})
    names = _validate_inputs(inputs, names)
    before = _snapshot(inputs)
    _, grads = loss_fn(**inputs, **kwargs)
    problems = _mutations(before, inputs, "the loss")
    grads = _as_tuple(grads, inputs)

    def loss_of(_):
        return loss_fn(**inputs, **kwargs)[0]

    results = [
        _compare("d" + k, grads[list(inputs).index(k)], numeric_gradient(loss_of, inputs[k], h=h), inputs[k], tol)
        for k in names
    ]
    return GradientReport(tuple(problems + results))


def assert_gradients_ok(forward: Callable, backward: Callable, inputs: Mapping, **options) -> GradientReport:
    """:func:`check_layer_gradients`, raising ``AssertionError`` with the report when a check fails."""
    report = check_layer_gradients(forward, backward, inputs, **options)
    report.assert_ok()
    return report


def assert_loss_gradients_ok(loss_fn: Callable, inputs: Mapping, **options) -> GradientReport:
    """:func:`check_loss_gradients`, raising ``AssertionError`` with the report when a check fails."""
    report = check_loss_gradients(loss_fn, inputs, **options)
    report.assert_ok()
    return report
