"""A feedback page as a student opens it: from disk, in chromium, with no network at all.

The page is made by the real pipeline (a1 released in a throw-away course, one submission with the
demo's "one bug" mutant graded in the sandbox, ``generate_feedback``). In chromium, with every http(s)
request aborted, its summary (what comes before the notebook's first cell) must name each exercise
(``Exercise N``, its heading's title or its function) next to the score the grader gave it, and its
maths must be typeset (MathJax or MathML elements on the page, no ``$$`` left in the text): a page
that needs a CDN for its maths shows the raw TeX here. The screenshot goes to ``out/browser/``.
"""

from __future__ import annotations

import pytest

from autograder.course import Course
from autograder.demo import pick_mutants
from autograder.feedback import generate_feedback
from autograder.mutants import mutants_dir, replacements
from autograder.release import release
from autograder.testing import grade_notebook, make_submission
from tests.notebooks.notebook_support import SOLUTIONS, answer_cells, make_course, read_notebook, solution_notebook

from .expectations import MATH, expected_scores, feedback_problems
from .lab_page import offline

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

AID = "a1_volumes"


@pytest.fixture(scope="module")
def feedback_page(tmp_path_factory):
    """(the feedback page of a submission with one bug, the grader's result)."""
    course = Course(make_course(tmp_path_factory.mktemp("feedback-course"), AID))
    release(course, [AID])
    solution = solution_notebook(AID)
    bug = pick_mutants(mutants_dir(SOLUTIONS, AID), set(answer_cells(read_notebook(solution))))[0]
    make_submission(solution, replacements(solution, [bug]), course.root / "inbox" / f"{AID}.ipynb")
    result = grade_notebook(AID, course.root / "inbox" / f"{AID}.ipynb", course.root, student="cy")
    assert result.status == "graded" and result.score < result.max_score, result
    pages = generate_feedback(course, AID)["cy"]
    assert len(pages) == 1, pages
    return pages[0], result


def test_feedback_page_names_exercises_with_scores_and_typesets_maths(feedback_page, chromium, shots):
    page_path, result = feedback_page
    nb = read_notebook(solution_notebook(AID))
    context = chromium.new_context(viewport={"width": 1100, "height": 900})
    refused = offline(context)
    page = context.new_page()
    try:
        page.goto(page_path.as_uri())
        try:
            page.wait_for_selector(MATH, state="attached", timeout=20_000)
        except Exception:  # noqa: BLE001 - judged below, with the page's text in the message
            pass
        page.screenshot(path=str(shots / f"feedback-{AID}.png"), full_page=True)
        summary = page.evaluate(
            """() => {
                const first = document.querySelector('.cell, .jp-Cell');
                const rows = [...document.querySelectorAll('li, tr, p, dt, dd, h1, h2, h3, h4, h5, h6')];
                return rows.filter(e => !first || (e.compareDocumentPosition(first) & Node.DOCUMENT_POSITION_FOLLOWING))
                           .map(e => e.innerText);
            }""")
        typeset = page.locator(MATH).count()
        text = page.inner_text("body")
    finally:
        context.close()

    scores = expected_scores(nb, result.cells)
    assert scores, f"{AID} has no graded exercises"
    problems = feedback_problems(nb, scores, summary, typeset, text)
    assert not problems, (f"feedback page {page_path} (requests refused offline: {refused[:5]}):\n  "
                          + "\n  ".join(problems) + "\n--- summary lines:\n" + "\n".join(summary))
