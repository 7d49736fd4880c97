"""Judging one hidden case: the student's outcome against the reference's.

An :class:`~autograder.kernel.protocol.Outcome` is what a call produced: a
returned value, or a raised exception (recorded by the qualified names of its
class hierarchy, so it crosses the sandbox boundary without pickling).
:func:`judge_case` applies the rules of the hidden-test API:

- the reference raised ``E``: the student must raise ``E`` or a subclass;
- the reference returned: the student must return a value that ``compare``
  accepts (default :func:`default_compare`: same structure, same shape, same
  dtype kind, values within ``rtol``/``atol``).

Messages describe the case by its geometry (:func:`describe_case`), never by
code. Runs in the grader (and in a solution author's local run), never in the sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from autograder.kernel.protocol import Outcome, exception_names, short_message

__all__ = [
    "CaseResult",
    "outcome_of",
    "default_compare",
    "judge_case",
    "describe_case",
    "describe_value",
]

_KIND_GROUP = {"b": "bool", "i": "int", "u": "int", "f": "float", "c": "complex", "U": "str", "S": "bytes"}


@dataclass(frozen=True)
class CaseResult:
    """Verdict on one case: ``passed`` and a one-line ``message`` (empty when passed)."""

    index: int
    passed: bool
    message: str = ""
    geometry: str = ""


def outcome_of(fn, *args, **kwargs) -> Outcome:
    """Call ``fn`` and wrap what it returned or raised (``Exception`` only) as an Outcome."""
    try:
        return Outcome(value=fn(*args, **kwargs))
    except Exception as exc:  # noqa: BLE001 - any failure is the answer for this case
        return Outcome(raised=exception_names(exc), message=short_message(exc))


def describe_value(v) -> str:
    """Short description of a case entry: ``float64 (2, 3, 7, 9)`` for arrays, repr for scalars."""
    if isinstance(v, np.ndarray):
        return f"{v.dtype} {tuple(v.shape)}" if v.ndim else f"{v.dtype} {v.item()!r}"
    if isinstance(v, np.generic):
        return repr(v.item())
    if isinstance(v, tuple):
        return "(" + ", ".join(describe_value(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    return repr(v)


def describe_case(case: dict) -> str:
    """Geometry of a case, e.g. ``x: float64 (2, 3, 7, 9), stride=2, pad=1``."""
    parts = []
    for key, v in case.items():
        if isinstance(v, np.ndarray) and v.ndim:
            parts.append(f"{key}: {describe_value(v)}")
        else:
            parts.append(f"{key}={describe_value(v)}")
    return ", ".join(parts)


def _kind(arr: np.ndarray) -> str:
    return _KIND_GROUP.get(arr.dtype.kind, arr.dtype.kind)


def _compare_leaf(s, r, rtol, atol) -> tuple[bool, str]:
    if s is None or r is None:
        if s is None and r is None:
            return True, ""
        return False, f"returned {'None' if s is None else type(s).__name__}, expected " + (
            "None" if r is None else describe_value(np.asarray(r))
        )
    try:
        sa = np.asarray(s)
    except Exception:  # noqa: BLE001 - ragged lists and the like
        return False, f"returned a {type(s).__name__} that is not an array"
    ra = np.asarray(r)
    if sa.dtype.kind == "O":
        return False, f"returned a {type(s).__name__} that is not a numeric array"
    if sa.shape != ra.shape:
        return False, f"shape {tuple(sa.shape)}, expected {tuple(ra.shape)}"
    if _kind(sa) != _kind(ra):
        return False, f"dtype {sa.dtype} ({_kind(sa)}), expected {_kind(ra)} values"
    if _kind(ra) in ("float", "complex"):
        ok = np.isclose(sa, ra, rtol=rtol, atol=atol, equal_nan=False)
        if ok.all():
            return True, ""
        diff = np.abs(sa.astype(complex if _kind(ra) == "complex" else float) - ra)
        diff = np.where(np.isnan(diff), np.inf, diff)
        where = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.ndim else ()
        frac = 1 - ok.mean()
        return False, (
            f"{frac:.0%} of values differ; largest difference {float(np.max(diff)):.3g}"
            + (f" at index {tuple(int(i) for i in where)}" if where else "")
        )
    if np.array_equal(sa, ra):
        return True, ""
    if sa.ndim == 0:
        return False, f"returned {sa.item()!r}, expected {ra.item()!r}"
    return False, f"{int(np.sum(sa != ra))} of {sa.size} values differ"


def default_compare(student, reference, rtol: float = 1e-7, atol: float = 1e-9) -> tuple[bool, str]:
    """Compare like ``np.allclose``, per element of a tuple. Returns ``(ok, message)``.

    Shapes must match exactly (no broadcasting), dtype kinds must match
    (int and unsigned count as one kind), NaN never equals NaN.
    """
    if isinstance(reference, tuple):
        if not isinstance(student, (tuple, list)):
            return False, f"returned a {type(student).__name__}, expected a tuple of {len(reference)}"
        if len(student) != len(reference):
            return False, f"returned {len(student)} values, expected {len(reference)}"
        for i, (s, r) in enumerate(zip(student, reference)):
            ok, msg = default_compare(s, r, rtol, atol)
            if not ok:
                return False, f"element {i}: {msg}"
        return True, ""
    if isinstance(student, tuple):
        return False, f"returned a tuple of {len(student)}, expected a single value"
    return _compare_leaf(student, reference, rtol, atol)


def judge_case(index, case, student: Outcome, reference: Outcome, *, rtol=1e-7, atol=1e-9,
               compare=None) -> CaseResult:
    """Apply the hidden-test rules to one case; see the module docstring."""
    geometry = describe_case(case)
    if reference.raised:
        want = reference.raised[0]
        if student.raised and want in student.raised:
            return CaseResult(index, True, "", geometry)
        if student.raised:
            got = f"raised {student.exc_name}: {student.message}"
        else:
            got = "returned " + describe_value(student.value)
        return CaseResult(index, False, f"expected {reference.exc_name} to be raised, but {got}", geometry)
    if student.raised:
        return CaseResult(index, False, f"raised {student.exc_name}: {student.message}", geometry)
    try:
        if compare is None:
            ok, msg = default_compare(student.value, reference.value, rtol, atol)
        else:
            ok, msg = compare(student.value, reference.value)
    except Exception as exc:  # noqa: BLE001 - a weird answer must not crash the grader
        ok, msg = False, f"answer could not be compared ({type(exc).__name__}: {short_message(exc)})"
    return CaseResult(index, bool(ok), "" if ok else str(msg), geometry)
