"""A notebook's exercises, read one way everywhere: the ``### Exercise N (P points): title`` headings
and the intro's table (columns ``exercise``, ``function``, ``points``).

An exercise owns the graded cells between its heading and the next heading. The notebook structure
tests check the headings and the table against the cells' points; the feedback pages name each
exercise with them (:mod:`autograder.feedback_page`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from autograder.cells import nbgrader_meta

__all__ = ["Exercise", "exercise_headings", "markdown_tables", "intro_table", "intro_points", "exercises",
           "graded_cell_ids"]

_EXERCISE_RE = re.compile(r"^###\s+Exercise\s+(\d+)\s+\((\d+(?:\.\d+)?)\s+points?\)(?::[ \t]*(.*))?$", re.M)


@dataclass(frozen=True)
class Exercise:
    """One exercise: its number, points and title (markdown, from the heading), the intro table's
    ``function`` entry (``""`` when the table has none) and the graded cells it owns, in order."""

    number: int
    points: float
    title: str
    function: str
    grade_ids: tuple

    @property
    def name(self) -> str:
        """What a student calls the exercise: the heading's title, else the table's function."""
        return self.title or self.function or f"Exercise {self.number}"


def exercise_headings(nb) -> list[tuple[int, int, float]]:
    """``(cell index, N, P)`` for every ``### Exercise N (P points)`` heading of a markdown cell, in order."""
    return [(i, number, points) for i, number, points, _ in _headings(nb)]


def _headings(nb) -> list[tuple[int, int, float, str]]:
    return [(i, int(number), float(points), title.strip())
            for i, cell in enumerate(nb.cells) if cell.cell_type == "markdown"
            for number, points, title in _EXERCISE_RE.findall(cell.source)]


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The pipe tables of a markdown text: each a list of rows (header first), each row a list of cells."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            row = [x.strip() for x in line.strip().strip("|").split("|")]
            if not set("".join(row)) <= set("-: "):  # not the |---|---| rule
                current.append(row)
        elif current:
            tables.append(current)
            current = []
    return tables


def intro_table(nb) -> list[dict[str, str]]:
    """The rows of the first table with ``exercise`` and ``points`` columns in the intro (the first
    markdown cell), each a dict keyed by the lower-cased column name; ``[]`` when there is none."""
    intro = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    for header, *rows in markdown_tables(intro):
        names = [x.lower() for x in header]
        if "exercise" in names and "points" in names:
            return [dict(zip(names, row)) for row in rows]
    return []


def intro_points(nb) -> dict[str, float]:
    """``{exercise: points}`` from the intro's table; keys are the ``exercise`` column's text."""
    return {row["exercise"]: float(row["points"]) for row in intro_table(nb)}


def graded_cell_ids(nb) -> list[tuple[int, str]]:
    """``(cell index, grade_id)`` of the hidden-test cells (graded code cells that are not answers)."""
    return [(i, nbgrader_meta(c)["grade_id"]) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
            and "grade_id" in nbgrader_meta(c)]


def exercises(nb) -> list[Exercise]:
    """The notebook's exercises in order, each with the graded cells between its heading and the next."""
    heads = _headings(nb)
    functions = {row["exercise"]: row.get("function", "") for row in intro_table(nb)}
    graded = graded_cell_ids(nb)
    out = []
    for k, (index, number, points, title) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(nb.cells)
        owned = tuple(gid for i, gid in graded if index < i < end)
        out.append(Exercise(number, points, title, functions.get(str(number), ""), owned))
    return out
