"""``run_hidden``: what a hidden-test cell calls.

In a solution notebook (``solutions/<aid>/<aid>.ipynb``)::

    ### BEGIN HIDDEN TESTS
    from autograder.harness import run_hidden
    run_hidden("a2_naive_conv", "conv_forward",
               lambda c: conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad)[0])
    ### END HIDDEN TESTS

Two modes:

GRADING (the environment variable ``CONVLAB_GRADING_DIR`` names the
submission's scratch folder): the grader has written the check's fresh inputs
to ``<dir>/inputs/<name>.json|.npz``. Each case is passed to the callable and
the answer (or the exception raised) is saved to ``<dir>/answers/<name>/``
case by case, without pickling. Nothing is judged here: a trusted step
outside the sandbox compares the answers with the references.

LOCAL (no such variable): ``./checks.py`` (or ``solutions/<aid>/checks.py``
above the working folder) is imported, the cases are drawn with a fixed seed,
and each answer is compared at once; an ``AssertionError`` lists the failing
cases by geometry. This is how a solution notebook validates its own hidden
tests, and how a broken variant of it fails when run locally.

Imports only NumPy and the standard library (plus ``checks.py`` in LOCAL mode).
"""

from __future__ import annotations

import copy
import os
import re
from pathlib import Path

from autograder.compare import Outcome, exception_names, describe_case
from autograder.values import UnsupportedValueError, load_values, save_values
from autograder.withhold import install_guards, withholding

__all__ = [
    "GRADING_ENV",
    "Case",
    "run_hidden",
    "inputs_stem",
    "answers_dir",
    "answer_stem",
    "find_checks_file",
]

GRADING_ENV = "CONVLAB_GRADING_DIR"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_MESSAGE_CHARS = 300


class Case:
    """Read-only view of one hidden case: ``c.x`` and ``c["x"]`` give the entry ``x``."""

    __slots__ = ("_entries",)

    def __init__(self, entries: dict):
        object.__setattr__(self, "_entries", dict(entries))

    def __getattr__(self, key):
        try:
            return self._entries[key]
        except KeyError:
            raise AttributeError(f"this case has no entry {key!r}; it has {', '.join(self._entries)}") from None

    def __getitem__(self, key):
        return self._entries[key]

    def __setattr__(self, key, value):
        raise AttributeError("hidden cases are read-only")

    def __contains__(self, key):
        return key in self._entries

    def keys(self):
        return self._entries.keys()

    def __repr__(self):
        return f"Case({describe_case(self._entries)})"


def inputs_stem(grading_dir, name: str) -> Path:
    """Where the grader writes the inputs of check ``name``."""
    return Path(grading_dir) / "inputs" / name


def answers_dir(grading_dir, name: str) -> Path:
    """Folder of the answers to check ``name``, one file pair per case."""
    return Path(grading_dir) / "answers" / name


def answer_stem(grading_dir, name: str, index: int) -> Path:
    return answers_dir(grading_dir, name) / f"case{index:04d}"


def _call(fn, entries: dict, withheld_names) -> Outcome:
    """Call ``fn(Case)`` on a private copy of the entries with the withheld names blocked."""
    with withholding(withheld_names) as seen:
        try:
            value = fn(Case(copy.deepcopy(entries)))
            raised, message = (), ""
        except Exception as exc:  # noqa: BLE001 - the exception is this case's answer
            value, raised = None, exception_names(exc)
            message = " ".join(str(exc).split())[:_MESSAGE_CHARS]
    return Outcome(value=value, raised=raised, message=message, withheld=tuple(seen))


def run_hidden(aid: str, name: str, fn) -> None:
    """Run the hidden check ``name`` of assignment ``aid`` on ``fn``.

    ``fn`` receives a :class:`Case` and returns the student's answer (an array,
    a number, or a tuple of those); an exception it raises is that case's
    answer. See the module docstring for the two modes.
    """
    if not _NAME_RE.match(str(aid)) or not _NAME_RE.match(str(name)):
        raise ValueError(f"bad assignment or check name: {aid!r}, {name!r}")
    if not callable(fn):
        raise TypeError("run_hidden needs a callable taking one case")
    grading_dir = os.environ.get(GRADING_ENV)
    if grading_dir:
        _run_grading(Path(grading_dir), aid, name, fn)
    else:
        _run_local(aid, name, fn)


def _run_grading(grading_dir: Path, aid: str, name: str, fn) -> None:
    stem = inputs_stem(grading_dir, name)
    if not stem.with_suffix(".json").exists():
        raise RuntimeError(f"the grader prepared no inputs for hidden check {name!r}")
    rows, meta = load_values(stem)
    if meta.get("aid") != aid or meta.get("name") != name:
        raise RuntimeError(f"hidden inputs for {name!r} belong to another check")
    withheld = tuple(meta.get("withhold", ()))
    for i, (keys, row) in enumerate(zip(meta["keys"], rows, strict=True)):
        outcome = _call(fn, dict(zip(keys, row, strict=True)), withheld)
        _save_answer(answer_stem(grading_dir, name, i), outcome)
    print(f"hidden check {name}: {len(rows)} cases recorded for grading")


def _save_answer(stem: Path, outcome: Outcome) -> None:
    meta = {"raised": list(outcome.raised), "message": outcome.message, "withheld": list(outcome.withheld)}
    try:
        save_values(stem, [outcome.value], meta)
    except UnsupportedValueError as exc:
        meta = {"raised": ["autograder.UnsupportedAnswer"], "message": str(exc),
                "withheld": list(outcome.withheld)}
        save_values(stem, [None], meta)


def find_checks_file(aid: str, start=None) -> Path:
    """``./checks.py``, else ``solutions/<aid>/checks.py`` in the working folder or a parent."""
    start = Path(start or os.getcwd()).resolve()
    if (start / "checks.py").is_file():
        return start / "checks.py"
    for folder in (start, *start.parents):
        candidate = folder / "solutions" / aid / "checks.py"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"hidden tests of {aid} need solutions/{aid}/checks.py (they run only in the solution "
        "notebook or inside the grader)"
    )


def _run_local(aid: str, name: str, fn) -> None:
    from autograder.checks import (  # noqa: PLC0415 - LOCAL mode only; keeps the kernel import light
        LOCAL_SEED, check_rng, draw_cases, find_check, judge, load_checks, reference_outcomes)

    check = find_check(load_checks(find_checks_file(aid)), name)
    cases = draw_cases(check, check_rng(LOCAL_SEED, name))
    references = reference_outcomes(check, cases)
    with install_guards(check.withhold):
        answers = [_call(fn, case, check.withhold) for case in cases]
    results = judge(check, cases, answers, references)
    failed = [r for r in results if not r.passed]
    if failed:
        lines = [f"hidden check {name}: {len(failed)} of {len(results)} cases fail"]
        lines += [f"  case {r.index} ({r.geometry}): {r.message}" for r in failed]
        raise AssertionError("\n".join(lines))
    print(f"hidden check {name}: all {len(results)} cases pass")
