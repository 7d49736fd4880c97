"""The one home of the nbgrader preprocessor chains this course grades with.

Each chain is a list of classes in the order nbgrader runs them. ``convlab-grade`` and
``nbgrader_config.py`` both take them from :func:`configure_course`, so a plain ``nbgrader
autograde`` (or the formgrader's Autograde button) on this course runs the same sandboxed execution
and trusted hidden checks, and ``nbgrader generate_feedback`` the same sanitised pages; a run that
was not given the hidden checks' places refuses (:class:`RequireConvlabGrade`).

- ``AUTOGRADE_PREPROCESSORS``: a Chinese submission's visible tests put back into Chinese after nbgrader
  restored them from the gradebook (:class:`~autograder.localize.LocalizeLockedCells`), fresh hidden cases and references drawn here
  (:class:`~autograder.trusted.PrepareHidden`), the notebook run in the sandbox with each hidden
  cell's inputs present only while it runs (:class:`~autograder.execution.SandboxExecute`),
  warnings ignored, the answers judged and written as each hidden cell's verdict
  (:class:`~autograder.trusted.JudgeHidden`), then nbgrader's own scoring steps (its late penalty
  from :class:`autograder.late.PerDayPenalty`).
- ``FEEDBACK_PREPROCESSORS`` (rendered by :class:`autograder.safe_html.FeedbackHTMLExporter`):
  scores from the gradebook, hidden tests cleared, the summary per exercise and each hidden cell's
  result in words (:class:`~autograder.feedback_page.FeedbackSummary`), tracebacks without grader frames or host paths,
  the student's markup made inert (:class:`autograder.safe_html.SanitizeFeedback`), then nbconvert's
  CSS for the page header.
"""

from __future__ import annotations

from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests, GetGrades,
                                    IgnorePattern, LimitOutput, NbGraderPreprocessor, SaveAutoGrades)

from autograder.execution import SandboxExecute
from autograder.feedback_page import TEMPLATE_NAME, FeedbackSummary, template_dirs
from autograder.late import PerDayPenalty
from autograder.localize import LocalizeLockedCells
from autograder.safe_html import FeedbackHTMLExporter, SanitizeFeedback
from autograder.sanitize import SanitizeTracebacks
from autograder.trusted import JudgeHidden, PrepareHidden

__all__ = ["AUTOGRADE_PREPROCESSORS", "FEEDBACK_PREPROCESSORS", "RequireConvlabGrade", "configure_course"]


class RequireConvlabGrade(NbGraderPreprocessor):
    """First in the autograde chain: refuse unless the hidden checks' places were configured.

    :func:`configure_course` configures them (``nbgrader_config.py`` calls it); an nbgrader run
    without it would otherwise score hidden cells without a trusted judge.
    """

    def preprocess(self, nb, resources):
        if not self.config.PrepareHidden.get("solutions_dir"):
            raise RuntimeError("this course is graded with its own chain (autograder.pipeline.configure_course, "
                               "called by nbgrader_config.py, or `convlab-grade grade AID`); refusing to autograde "
                               "without the sandbox and the trusted hidden checks")
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources


AUTOGRADE_PREPROCESSORS = [
    RequireConvlabGrade,
    LocalizeLockedCells,
    PrepareHidden,
    SandboxExecute,
    IgnorePattern,
    JudgeHidden,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

FEEDBACK_PREPROCESSORS = [
    GetGrades,
    ClearHiddenTests,
    FeedbackSummary,
    SanitizeTracebacks,
    SanitizeFeedback,
    CSSHTMLHeaderPreprocessor,
]


def configure_course(c, root) -> None:
    """Point nbgrader's autograding and feedback of the course at ``root`` to these chains.

    Called by ``nbgrader_config.py`` and by ``convlab-grade``, which adds only per-run options
    (seed, limits, ``--unsafe-no-sandbox``).
    """
    root = Path(root)
    work = root / "work"
    c.Autograde.autograde_preprocessors = list(AUTOGRADE_PREPROCESSORS)
    c.PrepareHidden.solutions_dir = str(root / "solutions")
    c.LocalizeLockedCells.solutions_dir = str(root / "solutions")
    c.PrepareHidden.builds_dir = str(work / "builds")
    c.PrepareHidden.seeds_dir = str(work / "seeds")
    c.JudgeHidden.reports_root = str(work / "reports")
    c.SandboxExecute.assets_dir = str(root / "assignments")
    c.SandboxExecute.builds_dir = str(work / "builds")
    c.Execute.interrupt_on_timeout = True
    c.OverwriteCells.add_missing_cells = True
    c.IgnorePattern.enabled = True
    c.AssignLatePenalties.plugin_class = PerDayPenalty
    c.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
    c.GenerateFeedback.exporter_class = FeedbackHTMLExporter
    c.FeedbackSummary.course_root = str(root)
    c.FeedbackHTMLExporter.template_name = TEMPLATE_NAME
    c.FeedbackHTMLExporter.template_file = f"{TEMPLATE_NAME}.html.j2"  # extends nbgrader's index.html.j2
    c.FeedbackHTMLExporter.extra_template_basedirs = template_dirs()
