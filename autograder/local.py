"""Judging at once, outside the grader, against a ``checks.py`` of the course's own ``solutions/``.

Two callers share :func:`failures`:

- ``run_hidden`` when a solution notebook (``solutions/<aid>/<aid>.ipynb``) runs top to bottom on an
  author's machine (:func:`run_local`): its working folder is ``solutions/<aid>/``, its hidden cells
  draw their cases with a fixed seed from ``checks.py`` there, run the references and compare in the
  same process, and an ``AssertionError`` lists the failing cases by geometry. Only that one file is
  accepted: a notebook run anywhere else (a student's copy, ``nbgrader autograde`` in a course folder)
  finds no checks and its hidden cells fail, rather than looking for references in parent folders.
- ``convlab-grade check`` in a self-study checkout (:mod:`autograder.selfcheck`), which judges the
  answers of the understanding questions (:mod:`autograder.questions`) when
  :func:`course_checks_file` finds the course's ``solutions/<aid>/checks.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder.checks import LOCAL_SEED, check_rng, draw_cases, find_check, judge, load_checks, reference_outcomes
from autograder.course import Course, CourseError, find_course_root
from autograder.kernel.protocol import call_on_case

__all__ = ["find_checks_file", "course_checks_file", "failures", "run_local"]


def find_checks_file(aid: str, folder=None) -> Path:
    """``<folder>/checks.py`` when ``folder`` (default: the working folder) is ``solutions/<aid>/``."""
    folder = Path(folder or os.getcwd()).resolve()
    checks = folder / "checks.py"
    if folder.name != aid or folder.parent.name != "solutions" or not checks.is_file():
        raise FileNotFoundError(
            f"hidden tests of {aid} run only in solutions/{aid}/{aid}.ipynb (next to its checks.py) or "
            "inside the grader")
    return checks


def course_checks_file(notebook) -> Path | None:
    """``solutions/<aid>/checks.py`` of the course holding ``notebook`` (``<aid>.ipynb``), or None.

    The course is the nearest folder above the notebook with ``nbgrader_config.py``: a clone of the
    course repository, where a learner's ``mywork/<aid>/`` sits beside ``solutions/``.
    """
    notebook = Path(notebook).resolve()
    try:
        course = Course(find_course_root(notebook.parent))
    except CourseError:
        return None
    checks = course.checks_file(notebook.stem)
    return checks if checks.is_file() else None


def failures(check, answer_of) -> tuple[int, list[str]]:
    """Judge ``answer_of(case) -> Outcome`` on the check's cases drawn with :data:`LOCAL_SEED`.

    Returns the number of cases and one line per failing case (``case 2 (x: float64 (2, 3, 7, 9),
    stride=2, pad=1): ...``).
    """
    cases = draw_cases(check, check_rng(LOCAL_SEED, check.name))
    references = reference_outcomes(check, cases)
    results = judge(check, cases, [answer_of(case) for case in cases], references)
    return len(results), [f"case {r.index} ({r.geometry}): {r.message}" for r in results if not r.passed]


def run_local(aid: str, name: str, fn) -> None:
    """Judge ``fn`` on the cases of check ``name`` now; ``AssertionError`` listing failures."""
    check = find_check(load_checks(find_checks_file(aid)), name)
    total, failed = failures(check, lambda case: call_on_case(fn, case))
    if failed:
        lines = [f"hidden check {name}: {len(failed)} of {total} cases fail"]
        lines += [f"  {line}" for line in failed]
        raise AssertionError("\n".join(lines))
    print(f"hidden check {name}: all {total} cases pass")
