"""Trusted check specifications: what a hidden test feeds in and what it expects.

Authors write ``solutions/<aid>/checks.py`` defining ``CHECKS``, a list of
:class:`Check`. That file never reaches ``assignments/`` and is never visible
inside the grading sandbox: the grader draws the cases and computes the
references outside, and only the inputs enter the student's kernel.
"""

from __future__ import annotations

import copy
import hashlib
import importlib.util
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.compare import CaseResult, judge_case, outcome_of
from autograder.kernel.protocol import Outcome

__all__ = [
    "Check",
    "CheckSpecError",
    "load_checks",
    "find_check",
    "check_dependencies",
    "dependency_notes",
    "draw_cases",
    "reference_outcomes",
    "judge",
    "check_rng",
    "case_kinds",
    "withheld_names",
    "score_check",
    "LOCAL_SEED",
]

#: Seed of the cases drawn when a notebook runs outside the grader (solution authors' runs).
LOCAL_SEED = 20240915
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_DOTTED_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


class CheckSpecError(ValueError):
    """A ``checks.py`` that does not follow the API (bad name, bad case entry, ...)."""


@dataclass(frozen=True)
class Check:
    """One hidden test: a case generator, a reference, and how to compare.

    - name: unique within the assignment; the hidden cell calls ``run_hidden(aid, name, fn)``
    - grade_id: the nbgrader grade cell that carries the points (several checks may share one;
      the cell's points are split by case count)
    - cases: ``cases(rng) -> iterable of dict`` (entries: NumPy arrays, Python int/float/bool/str,
      tuples of ints); ``rng`` is a ``numpy.random.Generator`` seeded by the grader
    - reference: called as ``reference(**case)``; returns an array, a number or a tuple of those,
      or raises (then the student must raise the same type or a subclass)
    - rtol, atol: tolerances of the default comparison
    - compare: optional ``compare(student, reference) -> (ok, message)`` replacing the default
    - withhold: dotted names of library functions the student must not call for this check
    - raise_share: the part of the check's points carried by its must-raise cases (cases whose
      reference raises); the exercise text states it. See :func:`score_check`
    - question: a value question (:func:`autograder.questions.question`): one fixed case whose
      reference is the answer; exempt from the fresh-cases rule of function checks
    - depends_on: for a check that cannot be judged without an earlier exercise's function (its
      hidden cell cannot stand in for it, see :mod:`autograder.kernel.stand_in`): the earlier
      checks by name, each with how the feedback names it, e.g.
      ``{"conv_forward": "conv_forward_naive (exercise 1)"}``. When both fail, this check's
      feedback names the earlier exercise (:func:`dependency_notes`)
    """

    name: str
    grade_id: str
    cases: Callable[[np.random.Generator], Iterable[dict]]
    reference: Callable[..., object]
    rtol: float = 1e-7
    atol: float = 1e-9
    compare: Callable[[object, object], tuple] | None = None
    withhold: Sequence[str] = field(default=())
    raise_share: float = 0.2
    question: bool = False
    depends_on: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if not 0 <= self.raise_share < 1:
            raise CheckSpecError(f"check {self.name}: raise_share must be in [0, 1)")
        if not _NAME_RE.match(self.name):
            raise CheckSpecError(f"check name {self.name!r}: use letters, digits, '_', '.', '-'")
        if not _NAME_RE.match(self.grade_id):
            raise CheckSpecError(f"check {self.name}: grade_id {self.grade_id!r} is not a valid cell id")
        object.__setattr__(self, "withhold", tuple(self.withhold))
        object.__setattr__(self, "depends_on", dict(self.depends_on))
        for earlier, label in self.depends_on.items():
            if earlier == self.name or not _NAME_RE.match(earlier) or not isinstance(label, str) or not label:
                raise CheckSpecError(f"check {self.name}: depends_on needs other checks' names, each with a label")
        for dotted in self.withhold:
            if not _DOTTED_RE.match(dotted):
                raise CheckSpecError(f"check {self.name}: withhold entry {dotted!r} is not module.function")


def withheld_names(checks: Sequence[Check]) -> list[str]:
    """Every library function some check withholds, sorted: what the grading build leaves out."""
    return sorted({dotted for check in checks for dotted in check.withhold})


def load_checks(path) -> list[Check]:
    """Import ``checks.py`` at ``path`` (a fresh module each call) and return its ``CHECKS``."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    mod_name = f"_convlab_checks_{digest}"
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise CheckSpecError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # dataclasses and pickling-free helpers look modules up here
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(mod_name, None)
    checks = getattr(module, "CHECKS", None)
    if not isinstance(checks, (list, tuple)) or not all(isinstance(c, Check) for c in checks):
        raise CheckSpecError(f"{path}: CHECKS must be a list of autograder.checks.Check")
    names = [c.name for c in checks]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CheckSpecError(f"{path}: duplicate check names {dupes}")
    check_dependencies(checks)
    return list(checks)


def find_check(checks: Sequence[Check], name: str) -> Check:
    """The check called ``name``; ``KeyError`` listing the known names otherwise."""
    for c in checks:
        if c.name == name:
            return c
    raise KeyError(f"no check named {name!r}; known: {', '.join(c.name for c in checks)}")


def check_dependencies(checks: Sequence[Check]) -> None:
    """``CheckSpecError`` when a ``depends_on`` names a check that is not in ``checks``."""
    names = {c.name for c in checks}
    for check in checks:
        unknown = sorted(set(check.depends_on) - names)
        if unknown:
            raise CheckSpecError(f"check {check.name}: depends_on names unknown checks {unknown}")


def check_rng(seed, name: str) -> np.random.Generator:
    """The generator for one check: independent streams per check name for one seed."""
    salt = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.default_rng([int(seed), salt])


def _validate_entry(check: Check, i: int, key: str, v):
    if isinstance(v, np.ndarray):
        if v.dtype.kind not in "biufc":
            raise CheckSpecError(f"{check.name} case {i}: {key} has unsupported dtype {v.dtype}")
        return
    if isinstance(v, (bool, int, float, str, np.generic)):
        return
    if isinstance(v, tuple) and all(isinstance(t, int) and not isinstance(t, bool) for t in v):
        return
    raise CheckSpecError(f"{check.name} case {i}: {key} is a {type(v).__name__}; "
                         "use arrays, int/float/bool/str or tuples of ints")


def draw_cases(check: Check, rng: np.random.Generator) -> list[dict]:
    """Materialise ``check.cases(rng)`` into a list of validated dicts."""
    cases = []
    for i, case in enumerate(check.cases(rng)):
        if not isinstance(case, dict) or not case:
            raise CheckSpecError(f"{check.name} case {i}: cases must yield non-empty dicts")
        for key, v in case.items():
            if not isinstance(key, str) or not key.isidentifier():
                raise CheckSpecError(f"{check.name} case {i}: key {key!r} is not an identifier")
            _validate_entry(check, i, key, v)
        cases.append(case)
    if not cases:
        raise CheckSpecError(f"{check.name}: cases(rng) yielded nothing")
    return cases


def reference_outcomes(check: Check, cases: Sequence[dict]) -> list[Outcome]:
    """Run the reference on a deep copy of every case (a reference may not mutate the cases)."""
    return [outcome_of(check.reference, **copy.deepcopy(case)) for case in cases]


def _same_case(a: dict, b: dict) -> bool:
    if list(a) != list(b):
        return False
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.dtype == y.dtype
                    and np.array_equal(x, y)):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def case_kinds(check: Check, cases: Sequence[dict], references: Sequence[Outcome], seed) -> list[str]:
    """``"raise"`` (the reference raises), ``"fixed"`` (the same under another seed: an example the
    notebook may print) or ``"fresh"``, per case.

    ``CheckSpecError`` when a check has no case whose reference returns a value.
    """
    other = draw_cases(check, check_rng(int(seed) + 1, check.name))
    kinds = []
    for i, (case, ref) in enumerate(zip(cases, references, strict=True)):
        if ref.raised:
            kinds.append("raise")
        elif i < len(other) and _same_case(case, other[i]):
            kinds.append("fixed")
        else:
            kinds.append("fresh")
    if kinds and all(k == "raise" for k in kinds):
        raise CheckSpecError(f"check {check.name}: every case must raise; add cases with values")
    return kinds


def score_check(check: Check, passed: Sequence[bool], kinds: Sequence[str]) -> float:
    """The fraction of a check's points earned, in [0, 1].

    Fresh value cases count as they are. Fixed cases (examples the notebook may print) and
    must-raise cases count only *together with* them: each is scaled by the fraction of fresh value
    cases passed, so memorising the printed examples or raising on everything earns nothing. The
    must-raise cases carry ``check.raise_share`` of the points, so a correct function that does not
    validate loses exactly that share.
    """
    fresh = [p for p, k in zip(passed, kinds) if k == "fresh"]
    fixed = [p for p, k in zip(passed, kinds) if k == "fixed"]
    raises = [p for p, k in zip(passed, kinds) if k == "raise"]
    values = fresh + fixed
    if not values:
        return 0.0
    gate = sum(fresh) / len(fresh) if fresh else sum(fixed) / len(fixed)
    value_score = (sum(fresh) + gate * sum(fixed)) / len(values)
    if not raises:
        return value_score
    return (1 - check.raise_share) * value_score + check.raise_share * gate * sum(raises) / len(raises)


def judge(check: Check, cases: Sequence[dict], student: Sequence[Outcome],
          reference: Sequence[Outcome]) -> list[CaseResult]:
    """Verdict per case, in order."""
    return [
        judge_case(i, case, s, r, rtol=check.rtol, atol=check.atol, compare=check.compare)
        for i, (case, s, r) in enumerate(zip(cases, student, reference, strict=True))
    ]


def dependency_notes(check: Check, failed: Mapping[str, Sequence[str]]) -> list[str]:
    """What this check's feedback says about the earlier exercises it is built on.

    ``failed`` maps a check's name to its failure lines (empty or absent: it passed). One line per
    earlier check in ``check.depends_on`` that failed, naming it and its first failure, e.g.
    ``this exercise calls conv_forward_naive (exercise 1), which failed on case 3 (...): ...``.
    """
    notes = []
    for earlier, label in check.depends_on.items():
        lines = failed.get(earlier) or []
        if lines:
            more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
            notes.append(f"this exercise calls {label}, which failed on {lines[0]}{more}; "
                         "fix that first, then this one")
    return notes
