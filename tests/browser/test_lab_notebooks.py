"""Every notebook in JupyterLab, as a student runs it: open, Run > Run All Cells, read the page.

- The untouched release: Run All must go on past the unanswered exercises (which needs the cells
  that fail there tagged ``raises-exception``), so every code cell has run, and the only errors are
  in the cells that depend on an answer (``MAY_FAIL_IN_RELEASE``: answer cells, visible tests,
  ``needs-answer`` demos), each ``needs-answer`` demo showing its error.
- A solved copy: every code cell has run and none shows an error.

Cells on the page are matched with the notebook file's cells in order (their nbgrader metadata says
what each is); a full-height screenshot of each notebook after Run All goes to ``out/browser/``.
"""

from __future__ import annotations

import pytest

from tests.notebooks.notebook_support import assignment_ids, read_notebook

from .expectations import release_problems, solved_problems
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
