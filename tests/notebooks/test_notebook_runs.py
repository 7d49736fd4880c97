"""Slow tests: solution and release notebooks run headless; assignments/ is the generated release.

The solution notebook runs in its own folder, so every hidden-test cell runs in
LOCAL mode and validates itself against ``checks.py`` (an AssertionError there
is a failing test here).
"""

from __future__ import annotations

import filecmp

import pytest
from nbclient.exceptions import CellExecutionError

from autograder.cells import nbgrader_meta
from autograder.editions import EDITIONS

from .notebook_support import (
    MAY_FAIL_IN_RELEASE,
    SOLUTIONS,
    assignment_ids,
    cell_role,
    edition_cases,
    error_cells,
    mutant_source,
    mutants,
    read_notebook,
    release_notebook,
    run_notebook,
    solution_notebook,
)

AIDS = assignment_ids()
SOLUTION_SECONDS = 60

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("aid", AIDS)
def test_solution_notebook_runs_clean_and_fast(aid):
    nb = read_notebook(solution_notebook(aid))
    seconds = run_notebook(nb, SOLUTIONS / aid, timeout=SOLUTION_SECONDS)
    errors = error_cells(nb)
    assert not errors, f"{aid}: cells failed:\n" + "\n".join(f"  cell {i} ({role}): {msg}" for i, role, msg in errors)
    hidden = [c for c in nb.cells if cell_role(c) == "hidden_tests"]
    for cell in hidden:
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert "cases pass" in text, f"{aid}: hidden cell {nbgrader_meta(cell)['grade_id']} did not validate"
    assert seconds < SOLUTION_SECONDS, f"{aid}: the solution notebook took {seconds:.1f} s (limit {SOLUTION_SECONDS} s)"



CAUGHT = [m for m in mutants() if m.fails]


@pytest.mark.parametrize("mutant", CAUGHT, ids=[f"{m.aid}/{m.name}" for m in CAUGHT])
def test_visible_tests_catch_the_mutants_that_name_them(mutant):
    # a mutant's '# fails:' cells are visible tests strong enough to catch it before grading does
    from autograder.testing import make_submission  # noqa: PLC0415

    nb = make_submission(solution_notebook(mutant.aid), {mutant.grade_id: mutant_source(mutant)})
    run_notebook(nb, SOLUTIONS / mutant.aid)
    failed = {nbgrader_meta(nb.cells[i]).get("grade_id") for i, role, _ in error_cells(nb) if role == "visible_tests"}
    missed = sorted(set(mutant.fails) - failed)
    assert not missed, f"{mutant.label}: the visible tests {missed} pass although the mutant is wrong"


@pytest.mark.parametrize("aid, edition", edition_cases(AIDS))
def test_release_notebook_fails_only_where_answers_are_missing(aid, edition, released_course):
    path = release_notebook(aid, edition, released_course(aid).root)
    nb = read_notebook(path)
    try:  # as Run All in JupyterLab: only cells tagged raises-exception may fail without stopping it
        run_notebook(nb, path.parent, run_all=True)
    except CellExecutionError as err:
        pytest.fail(f"{aid} release ({edition}): Run All stops at an error in a cell without the tag raises-exception:\n"
                    f"{str(err)[-600:]}")
    bad = [(i, role, msg) for i, role, msg in error_cells(nb) if role not in MAY_FAIL_IN_RELEASE]
    assert not bad, f"{aid} release: setup or hidden cells crashed:\n" + "\n".join(
        f"  cell {i} ({role}): {msg}" for i, role, msg in bad)
    stubs = [i for i, role, msg in error_cells(nb) if role == "visible_tests" and "NotImplementedError" in msg]
    assert stubs, f"{aid} release: the visible tests of an unanswered notebook should hit the stubs"


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("aid", AIDS)
def test_committed_release_matches_regeneration(aid, edition, released_course):
    committed = release_notebook(aid, edition).parent
    fresh = release_notebook(aid, edition, released_course(aid).root).parent
    assert committed.is_dir(), f"{committed} is missing: run `convlab-grade release {aid}` and commit it"
    cmp = filecmp.dircmp(committed, fresh, ignore=["__pycache__", ".ipynb_checkpoints"])
    assert not cmp.left_only and not cmp.right_only, (
        f"{committed} differs in files: only committed {cmp.left_only}, only regenerated {cmp.right_only}")
    for name in cmp.common_files:
        assert (committed / name).read_bytes() == (fresh / name).read_bytes(), (
            f"{committed}/{name} is not what `convlab-grade release` generates: regenerate it")


@pytest.mark.parametrize("edition", EDITIONS)
@pytest.mark.parametrize("aid", AIDS)
def test_committed_release_leaks_nothing(aid, edition):
    from autograder.course import Course  # noqa: PLC0415
    from autograder.release import find_leaks  # noqa: PLC0415

    from .notebook_support import ROOT  # noqa: PLC0415

    folder = release_notebook(aid, edition).parent
    assert folder.is_dir(), f"{folder} is missing: run `convlab-grade release {aid}`"
    assert not list(folder.rglob("checks.py")), f"{folder} holds a checks.py"
    problems = find_leaks(Course(ROOT), aid, edition)
    assert not problems, f"{folder} leaks:\n  " + "\n  ".join(problems)
    text = "".join(p.read_text(errors="replace") for p in folder.rglob("*") if p.is_file())
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "run_hidden", "autograder.harness"):
        assert marker not in text, f"{folder} contains {marker!r}"
