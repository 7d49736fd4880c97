"""nbgrader's cell markup, read one way everywhere: the cell metadata and the source markers.

A cell without nbgrader metadata reads as ``{}``. The markers are nbgrader's own:
``### BEGIN SOLUTION`` / ``### END SOLUTION`` around solution code and ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS`` around hidden tests; release, feedback, the test helpers and staging all
parse them through these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["nbgrader_meta", "grade_id", "graded_cells", "Exercise", "exercises", "exercise_headings", "MARKERS",
           "marked_lines", "hidden_test_lines", "strip_hidden_tests", "strip_solution_markers", "solution_regions",
           "has_solution", "SKIP_TAG", "is_skipped"]

#: Every marker text nbgrader knows (none may reach a student's release).
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME",
           "END MARK SCHEME")
_BEGIN_RE = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)")
_END_RE = re.compile(r"### END (SOLUTION|HIDDEN TESTS)")
_HIDDEN_BLOCK_RE = re.compile(r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.S)
_SOLUTION_MARK_RE = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.M)
_SOLUTION_REGION_RE = re.compile(r"^[ \t]*### BEGIN SOLUTION[ \t]*\n(.*?)^[ \t]*### END SOLUTION", re.M | re.S)
# "### Exercise 2 (20 points): title", and the Chinese edition's "### 练习 2（20 分）：title" (autograder.editions)
_EXERCISE_RE = re.compile(r"^###\s+(?:Exercise\s+(\d+)\s+\((\d+(?:\.\d+)?)\s+points?\)|练习\s*(\d+)\s*[（(]\s*"
                          r"(\d+(?:\.\d+)?)\s*分\s*[）)])(?:[:：][ \t]*(.*))?", re.M)


#: A code cell with this tag is not run when graded (a demo that earns nothing: :mod:`autograder.skips`).
SKIP_TAG = "skip-when-graded"


def is_skipped(cell) -> bool:
    """Whether the grader leaves this cell out (a code cell tagged :data:`SKIP_TAG`)."""
    return cell.get("cell_type") == "code" and SKIP_TAG in cell.get("metadata", {}).get("tags", [])


def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` dict (``{}`` for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or ``None``."""
    return nbgrader_meta(cell).get("grade_id")


def graded_cells(nb) -> list[str]:
    """The ``grade_id`` of every grade cell (``grade: true``) of the notebook ``nb``, in notebook order."""
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("grade") and grade_id(c)]


@dataclass(frozen=True)
class Exercise:
    """One ``### Exercise N (P points): title`` heading; ``cell`` is the index of its markdown cell.

    An exercise owns the cells from its heading to the next one: the notebook tests check that its
    graded cells carry ``points``, ``convlab-grade check`` reports one line per exercise.
    """

    cell: int
    number: int
    points: float
    title: str

    @property
    def label(self) -> str:
        """``Exercise 2 (35 points) conv_backward_naive``: the heading as plain text."""
        unit = "point" if self.points == 1 else "points"
        return f"Exercise {self.number} ({self.points:g} {unit})" + (f" {self.title}" if self.title else "")


def exercises(nb) -> list[Exercise]:
    """Every exercise heading of the notebook's markdown cells, in order (title without backticks), in
    either edition's words."""
    return [Exercise(i, int(en_number or zh_number), float(en_points or zh_points), title.replace("`", "").strip())
            for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
            for en_number, en_points, zh_number, zh_points, title in _EXERCISE_RE.findall(cell.source)]


def exercise_headings(nb) -> list[tuple[int, int, float]]:
    """``(cell index, N, P)`` of every exercise heading, in order."""
    return [(e.cell, e.number, e.points) for e in exercises(nb)]


def marked_lines(source: str) -> list[tuple[str | None, str]]:
    """``(region, stripped line)`` for every line that is not a marker; ``region`` is ``"SOLUTION"``,
    ``"HIDDEN TESTS"`` or ``None`` (outside any)."""
    out, stack = [], []
    for line in source.splitlines():
        text = line.strip()
        begin, end = _BEGIN_RE.search(text), _END_RE.search(text)
        if begin:
            stack.append(begin.group(1))
        elif end:
            stack = stack[:-1]
        else:
            out.append((stack[-1] if stack else None, text))
    return out


def hidden_test_lines(source: str) -> list[str]:
    """The stripped lines between the hidden-test markers."""
    return [text for region, text in marked_lines(source) if region == "HIDDEN TESTS"]


def strip_hidden_tests(source: str) -> str:
    """``source`` without its hidden-test blocks (markers included), as a release shows it."""
    return _HIDDEN_BLOCK_RE.sub("", source)


def strip_solution_markers(source: str) -> str:
    """``source`` with the solution markers removed and the solution code kept (a solved cell)."""
    return _SOLUTION_MARK_RE.sub("", source)


def solution_regions(source: str) -> list[str]:
    """The text between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` markers."""
    return _SOLUTION_REGION_RE.findall(source)


def has_solution(source: str) -> bool:
    """Whether ``source`` holds solution markers."""
    return bool(_SOLUTION_MARK_RE.search(source))
