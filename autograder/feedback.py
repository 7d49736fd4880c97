"""``feedback AID``: nbgrader's feedback HTML, with hidden test source removed, read top to bottom.

nbgrader's ``GenerateFeedback`` renders each autograded notebook with the chain
:data:`autograder.pipeline.FEEDBACK_PREPROCESSORS` (``ClearHiddenTests``; the summary per exercise,
the grader's notes and each hidden cell's result in words, :mod:`autograder.feedback_page`;
tracebacks without grader frames or host paths; the student's markup made inert by
:mod:`autograder.safe_html`) and :class:`autograder.safe_html.FeedbackHTMLExporter` with the
``convlab_feedback`` template. Then every file is scrubbed of any line of hidden-test source
(tracebacks can quote them), and two checks run on the final text: no hidden line remains
(:class:`FeedbackLeakError`), and nothing can run or load code (:mod:`autograder.page_check`,
:class:`FeedbackUnsafeError`). A page failing either check is deleted, not left half-written. A
submission that could not be rendered gets a short HTML page with the same summary and notes, naming
the student and the notebooks handed in, all escaped. Each student's folder gets the MathJax files
its pages load (``_mathjax/``, :func:`autograder.feedback_page.install_mathjax`).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import nbformat

from autograder.cells import hidden_test_lines
from autograder.course import Course, ensure_tools_on_path
from autograder.feedback_page import (MATHJAX_FOLDER, exercise_rows, install_mathjax, solution_exercises,
                                      summary_html)
from autograder.grading import read_report, submitted_students
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


def _fallback_page(course: Course, aid: str, student: str, report) -> str:
    """The page of a submission nbgrader could not render: the summary and notes, who, which notebooks,
    all escaped."""
    names = sorted(p.name for p in (course.submitted / student / aid).glob("*.ipynb"))
    handed_in = ", ".join(html.escape(n) for n in names) or "none"
    found = [ex for path in sorted((course.solutions / aid).glob("*.ipynb"))
             for ex in solution_exercises(course.root, aid, path.stem)]
    summary = summary_html(aid, exercise_rows(found, report.cells), report.notes, report.score, report.max_score,
                           links=False)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{html.escape(aid)}</title></head><body>'
            f"{summary}<h1>{html.escape(aid)}</h1><p>Student: {html.escape(student)}</p>"
            f"<p>Notebooks handed in: {handed_in}</p>"
            "<p>Your notebook could not be shown here; the grader's notes above say what happened.</p>"
            "</body></html>")


def _final_text(page: Path, secrets: set[str], allowed: frozenset) -> str:
    """The page as the student gets it: scrubbed and checked; raises if unfit."""
    text = scrub(page.read_text(), secrets)
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
        for stale in out_dir.glob("*.html"):  # an earlier run's page (nbgrader replaces only what it renders)
            stale.unlink()
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
            page.write_text(_fallback_page(course, aid, student, report))
            pages = [page]
        checked = 0
        try:
            for page in pages:
                page.write_text(_final_text(page, secrets, allowed))
                checked += 1
        finally:
            for page in pages[checked:]:  # nbgrader's unchecked output never stays on disk
                page.unlink(missing_ok=True)
        if any(MATHJAX_FOLDER in page.read_text() for page in pages):  # the fallback page has no maths
            install_mathjax(out_dir)
        files[student] = pages
    return files
