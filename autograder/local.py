"""``run_hidden`` outside the grader: judge at once against the notebook's own ``checks.py``.

When a solution notebook (``solutions/<aid>/<aid>.ipynb``) runs top to bottom on an author's
machine, its working folder is ``solutions/<aid>/``: the hidden cells draw their cases with a
fixed seed from ``checks.py`` there, run the references and compare in the same process, and an
``AssertionError`` lists the failing cases by geometry. Only that one file is accepted: a notebook
run anywhere else (a student's copy, ``nbgrader autograde`` in a course folder) finds no checks
and its hidden cells fail, rather than looking for references in parent folders.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder.checks import LOCAL_SEED, check_rng, draw_cases, find_check, judge, load_checks, reference_outcomes
from autograder.kernel.protocol import call_on_case

__all__ = ["find_checks_file", "run_local"]


def find_checks_file(aid: str, folder=None) -> Path:
    """``<folder>/checks.py`` when ``folder`` (default: the working folder) is ``solutions/<aid>/``."""
    folder = Path(folder or os.getcwd()).resolve()
    checks = folder / "checks.py"
    if folder.name != aid or folder.parent.name != "solutions" or not checks.is_file():
        raise FileNotFoundError(
            f"hidden tests of {aid} run only in solutions/{aid}/{aid}.ipynb (next to its checks.py) or "
            "inside the grader")
    return checks


def run_local(aid: str, name: str, fn) -> None:
    """Judge ``fn`` on the cases of check ``name`` now; ``AssertionError`` listing failures."""
    check = find_check(load_checks(find_checks_file(aid)), name)
    cases = draw_cases(check, check_rng(LOCAL_SEED, name))
    references = reference_outcomes(check, cases)
    answers = [call_on_case(fn, case) for case in cases]
    results = judge(check, cases, answers, references)
    failed = [r for r in results if not r.passed]
    if failed:
        lines = [f"hidden check {name}: {len(failed)} of {len(results)} cases fail"]
        lines += [f"  case {r.index} ({r.geometry}): {r.message}" for r in failed]
        raise AssertionError("\n".join(lines))
    print(f"hidden check {name}: all {len(results)} cases pass")
