"""nbgrader's Validate button in JupyterLab must tell a student what ``convlab-grade check`` tells them.

The untouched release has every question unanswered: the dialog must not give a success verdict,
and must name every question (the grade id of each answer cell, as ``convlab-grade check`` lists
them). A solved copy must get the success verdict. The dialogs' screenshots go to ``out/browser/``.
"""

from __future__ import annotations

import re

import pytest

from tests.notebooks.notebook_support import answer_cells, read_notebook

from .lab_page import open_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

AID = "a1_volumes"
SUCCESS = re.compile(r"\bsuccess\b|passes all", re.I)  # nbgrader's "Success! Your notebook passes all the tests."


def validate(page, server, path: str, shot) -> str:
    """Open ``path``, press the toolbar's Validate button, return the result dialog's text (and screenshot it)."""
    open_notebook(page, server, path)
    page.locator(".jp-NotebookPanel-toolbar .validate-button").click()
    dialog = page.locator(".jp-Dialog-content").filter(has_text="Validation Results")
    dialog.wait_for(timeout=300_000)  # the server runs the whole notebook first
    page.screenshot(path=str(shot))
    text = dialog.inner_text()
    dialog.get_by_role("button", name="Ok").click()
    return text


def test_validate_fails_the_untouched_release_and_passes_a_solved_copy(lab_course, lab_server, lab_page, shots):
    release, solved = f"assignments/{AID}/{AID}.ipynb", f"solved/{AID}/{AID}.ipynb"
    release_text = validate(lab_page, lab_server, release, shots / f"validate-release-{AID}.png")
    solved_text = validate(lab_page, lab_server, solved, shots / f"validate-solved-{AID}.png")
    problems = []
    if SUCCESS.search(release_text):
        problems.append("the untouched release gets a success verdict")
    missing = [q for q in answer_cells(read_notebook(lab_course / release)) if q not in release_text]
    if missing:
        problems.append(f"the untouched release's dialog does not name the unanswered {missing}")
    if not SUCCESS.search(solved_text):
        problems.append("the solved copy gets no success verdict")
    assert not problems, ("\n".join(problems) + f"\n--- release dialog:\n{release_text}"
                          f"\n--- solved dialog:\n{solved_text}")
