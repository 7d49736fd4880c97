"""nbgrader's Validate button in JupyterLab must tell a student what ``convlab-grade check`` tells them.

The untouched release has every exercise unanswered: the dialog must not give a success verdict, and
must name every exercise (``Exercise N``, its heading's title or its function). A solved copy must get
the success verdict (``expectations.validate_problems``). The dialogs' screenshots go to ``out/browser/``.
"""

from __future__ import annotations

import pytest

from tests.notebooks.notebook_support import read_notebook

from .expectations import validate_problems
from .lab_page import open_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

AID = "a1_volumes"


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
    problems = validate_problems(read_notebook(lab_course / release), release_text, solved_text)
    assert not problems, ("\n".join(problems) + f"\n--- release dialog:\n{release_text}"
                          f"\n--- solved dialog:\n{solved_text}")
