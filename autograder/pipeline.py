"""The one home of the nbgrader preprocessor chains this course grades with.

``convlab-grade`` and ``nbgrader_config.py`` both use these lists (classes, not dotted strings), so
a plain ``nbgrader autograde`` run on this course runs the same sandboxed execution and trusted
hidden checks, or refuses (:class:`RequireConvlabGrade`) when it was not given what they need.
"""

from __future__ import annotations

from pathlib import Path

from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                    NbGraderPreprocessor, SaveAutoGrades)

from autograder.execution import SandboxExecute
from autograder.trusted import JudgeHidden, PrepareHidden

__all__ = ["AUTOGRADE_PREPROCESSORS", "RequireConvlabGrade", "configure_course"]


class RequireConvlabGrade(NbGraderPreprocessor):
    """First in the chain: refuse to autograde unless the hidden checks were configured.

    ``convlab-grade grade`` configures them (where ``checks.py`` and the grading builds live); a
    bare ``nbgrader autograde`` does not, and would otherwise score hidden cells without a trusted
    judge.
    """

    def preprocess(self, nb, resources):
        if not self.config.PrepareHidden.get("solutions_dir"):
            raise RuntimeError("this course is graded with `convlab-grade grade AID` (sandboxed, with the "
                               "trusted hidden checks); plain `nbgrader autograde` is refused")
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources


AUTOGRADE_PREPROCESSORS = [
    RequireConvlabGrade,
    PrepareHidden,
    SandboxExecute,
    IgnorePattern,
    JudgeHidden,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]


def configure_course(c, root) -> None:
    """Point nbgrader's autograding of the course at ``root`` to this chain and its places.

    Called by ``nbgrader_config.py`` (so ``nbgrader autograde`` and the formgrader's Autograde button
    run sandboxed, with the trusted checks) and by ``convlab-grade``, which adds only per-run options
    (seed, limits, ``--unsafe-no-sandbox``).
    """
    root = Path(root)
    work = root / "work"
    c.Autograde.autograde_preprocessors = list(AUTOGRADE_PREPROCESSORS)
    c.PrepareHidden.solutions_dir = str(root / "solutions")
    c.PrepareHidden.builds_dir = str(work / "builds")
    c.JudgeHidden.reports_root = str(work / "reports")
    c.SandboxExecute.assets_dir = str(root / "assignments")
    c.SandboxExecute.builds_dir = str(work / "builds")
    c.Execute.interrupt_on_timeout = True
    c.OverwriteCells.add_missing_cells = True
    c.IgnorePattern.enabled = True
