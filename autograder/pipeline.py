"""The one home of the nbgrader preprocessor chains used by ``convlab-grade``.

Each chain is a list of classes in the order nbgrader runs them; ``nbgrader_config.py`` and the
commands import them from here, so stock ``nbgrader`` and ``convlab-grade`` run the same steps.
(The autograde chain will move here too.)

``FEEDBACK_PREPROCESSORS`` (``GenerateFeedback``, rendered by
:class:`autograder.safe_html.FeedbackHTMLExporter`): scores from the gradebook, hidden tests
cleared, tracebacks without grader frames or host paths, the student's markup made inert
(:class:`autograder.safe_html.SanitizeFeedback`), then nbconvert's CSS for the page header.
"""

from __future__ import annotations

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograder.safe_html import SanitizeFeedback
from autograder.sanitize import SanitizeTracebacks

__all__ = ["FEEDBACK_PREPROCESSORS"]

FEEDBACK_PREPROCESSORS = [
    GetGrades,
    ClearHiddenTests,
    SanitizeTracebacks,
    SanitizeFeedback,
    CSSHTMLHeaderPreprocessor,
]
