"""``feedback AID``: nbgrader's feedback HTML, with hidden test source removed and the grader's notes.

nbgrader's ``GenerateFeedback`` (with ``ClearHiddenTests``, and :class:`autograder.sanitize.SanitizeTracebacks`
dropping grader frames and host paths from tracebacks) renders each autograded notebook; then
every file is scrubbed of any line of hidden-test source (tracebacks can quote them), a box with
the grader's notes (what happened, in plain words) is put at the top, and the absence of hidden
lines is checked. A submission that could not be executed gets a short HTML page saying why.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import nbformat

from autograder.course import Course, ensure_tools_on_path
from autograder.grading import points, read_report, submitted_students

__all__ = ["hidden_lines", "scrub", "generate_feedback", "FeedbackLeakError"]

_HIDDEN_MIN_CHARS = 8
# nbgrader's feedback preprocessors plus ours: tracebacks lose grader frames and host paths
_FEEDBACK_CONFIG = {"GenerateFeedback": {"preprocessors": [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "autograder.sanitize.SanitizeTracebacks",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]}}


class FeedbackLeakError(RuntimeError):
    """A feedback file still contains hidden-test source after scrubbing."""


def hidden_lines(course: Course, aid: str) -> set[str]:
    """Stripped lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in the sources."""
    found = set()
    for path in (course.solutions / aid).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            inside = False
            for line in cell.source.splitlines():
                text = line.strip()
                if "### BEGIN HIDDEN TESTS" in text:
                    inside = True
                elif "### END HIDDEN TESTS" in text:
                    inside = False
                elif inside and len(text) >= _HIDDEN_MIN_CHARS:
                    found.add(text)
    return found


def _variants(line: str) -> set[str]:
    escaped = html.escape(line, quote=False)
    return {line, escaped, html.escape(line, quote=True), escaped.replace("&#x27;", "&#39;")}


def scrub(text: str, secrets: set[str]) -> str:
    """Replace every occurrence of a secret line (raw or HTML-escaped) by ``[hidden test line]``."""
    for line in sorted(secrets, key=len, reverse=True):
        for variant in _variants(line):
            text = text.replace(variant, "[hidden test line]")
    return text


def _notes_box(notes: list[str], score: float, max_score: float) -> str:
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes) or "<li>Nothing unusual happened.</li>"
    return (f'<div id="convlab-grader-notes" style="border:2px solid #446;padding:8px;margin:8px">'
            f"<h2>Grader's notes: {points(score)} / {points(max_score)}</h2><ul>{items}</ul></div>")


def generate_feedback(course: Course, aid: str, log=None) -> dict[str, list[Path]]:
    """Write ``work/feedback/<student>/<aid>/*.html`` for every graded student; returns the files."""
    from nbgrader.converters import GenerateFeedback  # noqa: PLC0415 - heavy
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    ensure_tools_on_path()
    secrets = hidden_lines(course, aid)
    files: dict[str, list[Path]] = {}
    for student in submitted_students(course, aid):
        report = read_report(course, aid, student)
        if report is None:
            continue
        out_dir = course.feedback / student / aid
        if (course.autograded / student / aid).is_dir():
            cfg = course.config(_FEEDBACK_CONFIG | {"SanitizeTracebacks": {"course_root": str(course.root)}})
            coursedir = CourseDirectory(config=cfg)
            coursedir.assignment_id = aid
            coursedir.student_id = student
            converter = GenerateFeedback(coursedir=coursedir, config=cfg)
            converter.force = True
            if log is not None:
                converter.log = log
            try:
                converter.start()
            except Exception:  # noqa: BLE001 - fall back to the plain page below
                pass
        pages = sorted(out_dir.glob("*.html"))
        if not pages:
            out_dir.mkdir(parents=True, exist_ok=True)
            page = out_dir / f"{aid}.html"
            page.write_text(f"<html><body><h1>{html.escape(aid)}</h1></body></html>")
            pages = [page]
        for page in pages:
            text = scrub(page.read_text(), secrets)
            box = _notes_box(report.notes, report.score, report.max_score)
            text, n = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + box, text, count=1)
            text = text if n else box + text
            leaked = [s for s in secrets if any(v in text for v in _variants(s))]
            if leaked:
                raise FeedbackLeakError(f"{page}: hidden lines remain: {leaked[:3]}")
            page.write_text(text)
        files[student] = pages
    return files
