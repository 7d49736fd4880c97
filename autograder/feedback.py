"""``feedback AID``: nbgrader's feedback HTML, with hidden test source removed and the grader's notes.

nbgrader's ``GenerateFeedback`` renders each autograded notebook with the chain
:data:`autograder.pipeline.FEEDBACK_PREPROCESSORS` (``ClearHiddenTests``; tracebacks without grader
frames or host paths; the student's markup made inert by :mod:`autograder.safe_html`) and
:class:`autograder.safe_html.FeedbackHTMLExporter`. Then every file is scrubbed of any line of
hidden-test source (tracebacks can quote them), a box with the grader's notes (what happened, in
plain words) is put at the top, and two checks run on the final text: no hidden line remains
(:class:`FeedbackLeakError`), and nothing can run or load code (:mod:`autograder.page_check`,
:class:`FeedbackUnsafeError`). A page failing either check is deleted, not left half-written. A
submission that could not be rendered gets a short HTML page naming the student and the notebooks
handed in, all escaped.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import nbformat

from autograder.cells import hidden_test_lines
from autograder.course import Course, ensure_tools_on_path
from autograder.grading import points, read_report, submitted_students
from autograder.page_check import template_markup, unsafe_markup

__all__ = ["hidden_lines", "scrub", "generate_feedback", "feedback_config", "template_baseline",
           "FeedbackLeakError", "FeedbackUnsafeError"]

_HIDDEN_MIN_CHARS = 8


class FeedbackLeakError(RuntimeError):
    """A feedback file still contains hidden-test source after scrubbing."""


class FeedbackUnsafeError(RuntimeError):
    """A feedback file still contains markup that could run or load code after sanitising."""


def hidden_lines(course: Course, aid: str) -> set[str]:
    """Stripped lines between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` in the sources."""
    return {text for path in (course.solutions / aid).glob("*.ipynb")
            for cell in nbformat.read(path, as_version=4).cells
            for text in hidden_test_lines(cell.source) if len(text) >= _HIDDEN_MIN_CHARS}


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


def feedback_config(course: Course):
    """nbgrader's config for ``GenerateFeedback``: our preprocessor chain and exporter, pinned here.

    Pinned (:func:`autograder.pipeline.configure_course`) rather than left to ``nbgrader_config.py``,
    so an older course config cannot drop the sanitising steps.
    """
    from autograder.pipeline import configure_course  # noqa: PLC0415 - heavy (nbgrader)

    cfg = course.config()
    configure_course(cfg, course.root)
    cfg.SanitizeTracebacks.course_root = str(course.root)
    return cfg


def _converter(course: Course, cfg, aid: str, student: str, log=None):
    from nbgrader.converters import GenerateFeedback  # noqa: PLC0415 - heavy
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = aid
    coursedir.student_id = student
    converter = GenerateFeedback(coursedir=coursedir, config=cfg)
    converter.force = True
    if log is not None:
        converter.log = log
    return converter


def template_baseline(converter) -> frozenset:
    """The scripts, styles and comments the feedback template emits by itself (empty notebook).

    Rendered by the converter's own exporter class and config, with nbconvert's CSS step
    registered as nbgrader registers it, so the page's own ``<script>``/``<style>`` match exactly.
    """
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: PLC0415

    exporter = converter.exporter_class(parent=converter, config=converter.config)
    exporter.register_preprocessor(CSSHTMLHeaderPreprocessor)
    resources = {"nbgrader": {"notebook": "", "score": 0, "max_score": 0, "late_penalty": 0}}
    page, _ = exporter.from_notebook_node(nbformat.v4.new_notebook(), resources=resources)
    return template_markup(page)


def _fallback_page(course: Course, aid: str, student: str) -> str:
    """The page of a submission nbgrader could not render: who, which notebooks, all escaped."""
    names = sorted(p.name for p in (course.submitted / student / aid).glob("*.ipynb"))
    handed_in = ", ".join(html.escape(n) for n in names) or "none"
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(aid)}</title></head><body>'
            f"<h1>{html.escape(aid)}</h1><p>Student: {html.escape(student)}</p>"
            f"<p>Notebooks handed in: {handed_in}</p>"
            "<p>Your notebook could not be shown here; the grader's notes above say what happened.</p>"
            "</body></html>")


def _final_text(page: Path, report, secrets: set[str], allowed: frozenset) -> str:
    """The page as the student gets it: scrubbed, with the notes box, and checked; raises if unfit."""
    text = scrub(page.read_text(), secrets)
    box = _notes_box(report.notes, report.score, report.max_score)
    text, n = re.subn(r"(<body[^>]*>)", lambda m: m.group(1) + box, text, count=1)
    text = text if n else box + text
    leaked = [s for s in secrets if any(v in text for v in _variants(s))]
    if leaked:
        raise FeedbackLeakError(f"{page}: hidden lines remain: {leaked[:3]}")
    unsafe = unsafe_markup(text, allowed)
    if unsafe:
        raise FeedbackUnsafeError(f"{page}: not written, markup that could run code remains: {'; '.join(unsafe[:3])}")
    return text


def generate_feedback(course: Course, aid: str, log=None) -> dict[str, list[Path]]:
    """Write ``work/feedback/<student>/<aid>/*.html`` for every graded student; returns the files.

    Raises :class:`FeedbackLeakError` or :class:`FeedbackUnsafeError` naming the first page that
    fails its final check; that page and the student's other unchecked pages are deleted (pages of
    students before stay).
    """
    ensure_tools_on_path()
    secrets = hidden_lines(course, aid)
    cfg = feedback_config(course)
    allowed = template_baseline(_converter(course, cfg, aid, "*"))
    files: dict[str, list[Path]] = {}
    for student in submitted_students(course, aid):
        report = read_report(course, aid, student)
        if report is None:
            continue
        out_dir = course.feedback / student / aid
        if (course.autograded / student / aid).is_dir():
            from nbgrader.converters.base import NbGraderException  # noqa: PLC0415

            try:
                _converter(course, cfg, aid, student, log).start()
            except NbGraderException as exc:  # the plain page below, and the instructor is told why
                logging.getLogger("convlab-grade").warning("feedback of %s: nbgrader could not render the notebook "
                                                           "(%s); writing the plain page", student, exc)
        pages = sorted(out_dir.glob("*.html"))
        if not pages:
            out_dir.mkdir(parents=True, exist_ok=True)
            page = out_dir / f"{aid}.html"
            page.write_text(_fallback_page(course, aid, student))
            pages = [page]
        checked = 0
        try:
            for page in pages:
                page.write_text(_final_text(page, report, secrets, allowed))
                checked += 1
        finally:
            for page in pages[checked:]:  # nbgrader's unchecked output never stays on disk
                page.unlink(missing_ok=True)
        files[student] = pages
    return files
