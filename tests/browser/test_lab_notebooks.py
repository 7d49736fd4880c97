"""Every notebook in JupyterLab, as a student runs it: open, Run > Run All Cells, read the page.

- The untouched release: Run All goes on past the unanswered exercises (their cells are tagged
  ``raises-exception``), so every code cell has run, and the only errors are in the cells that
  depend on an answer (``MAY_FAIL_IN_RELEASE``: answer cells, visible tests, ``needs-answer`` demos).
- A solved copy: every code cell has run and none shows an error.

Cells on the page are matched with the notebook file's cells in order (their nbgrader metadata says
what each is); a full-height screenshot of each notebook after Run All goes to ``out/browser/``.
"""

from __future__ import annotations

import pytest

from tests.notebooks.notebook_support import MAY_FAIL_IN_RELEASE, assignment_ids, cell_role, read_notebook

from .lab_page import open_notebook, read_cells, run_all, screenshot_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

AIDS = assignment_ids()


def run_in_lab(page, server, course, path, shot):
    """Open ``path`` in Lab, Run All, screenshot it; returns (file's cells, page's cells, seconds)."""
    nb = read_notebook(course / path)
    open_notebook(page, server, path)
    seconds = run_all(page)
    screenshot_notebook(page, shot)
    cells = read_cells(page)
    assert [c.kind for c in cells] == [c.cell_type for c in nb.cells], (
        f"{path}: the page's cells do not match the notebook's")
    return nb.cells, cells, seconds


def release_problems(file_cells, dom_cells) -> list[str]:
    """What is wrong with a Run All of the unanswered release, one line each (empty when right)."""
    problems, not_run = [], []
    for i, (cell, shown) in enumerate(zip(file_cells, dom_cells)):
        if shown.kind != "code":
            continue
        role = cell_role(cell)
        if not shown.ran:
            not_run.append(i)
        elif role not in MAY_FAIL_IN_RELEASE and shown.errors():
            problems.append(f"cell {i} ({role}) shows {', '.join(shown.errors())}: only cells that need an "
                            "answer may fail")
        elif role == "needs_answer" and not shown.outputs:
            problems.append(f"cell {i} (needs_answer) ran but shows nothing")
    if not_run:
        stopped = [i for i, s in enumerate(dom_cells[:not_run[0]]) if s.errors()]
        problems.append(f"{len(not_run)} code cells never ran (cells {', '.join(map(str, not_run))}): Run All "
                        f"stopped at the error of cell {stopped[-1] if stopped else '?'}")
    if not any(cell_role(c) == "visible_tests" and "NotImplementedError" in s.errors()
               for c, s in zip(file_cells, dom_cells)):
        problems.append("no visible-test cell shows NotImplementedError: the stubs were never reached")
    return problems


def solved_problems(dom_cells) -> list[str]:
    """What is wrong with a Run All of a solved copy, one line per cell (empty when right)."""
    return [f"cell {i} " + ("did not run" if not shown.ran else f"shows {', '.join(shown.errors())}")
            for i, shown in enumerate(dom_cells)
            if shown.kind == "code" and (not shown.ran or shown.errors())]


@pytest.mark.parametrize("aid", AIDS)
def test_release_runs_all_with_errors_only_where_answers_are_missing(aid, lab_course, lab_server, lab_page, shots):
    file_cells, dom_cells, seconds = run_in_lab(lab_page, lab_server, lab_course, f"assignments/{aid}/{aid}.ipynb",
                                                shots / f"release-{aid}.png")
    problems = release_problems(file_cells, dom_cells)
    assert not problems, f"{aid} release after Run All ({seconds:.0f} s):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("aid", AIDS)
def test_solved_copy_runs_all_without_errors(aid, lab_course, lab_server, lab_page, shots):
    _, dom_cells, seconds = run_in_lab(lab_page, lab_server, lab_course, f"solved/{aid}/{aid}.ipynb",
                                       shots / f"solved-{aid}.png")
    problems = solved_problems(dom_cells)
    assert not problems, f"{aid} solved copy after Run All ({seconds:.0f} s):\n  " + "\n  ".join(problems)
