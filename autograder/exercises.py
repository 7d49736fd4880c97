"""What a notebook's exercises grade: each heading (:func:`autograder.cells.exercises`) with the
graded cells it owns and its entry in the intro's table (columns ``exercise``, ``function``, ``points``).

An exercise owns the graded cells between its heading and the next heading (the notebook structure
tests check their points against the heading). The feedback pages name and score each exercise
with these (:mod:`autograder.feedback_page`). The intro's table is read with mistune, the markdown
parser nbconvert renders with.
"""

from __future__ import annotations

from dataclasses import dataclass

import re

import mistune

from autograder.cells import exercises, nbgrader_meta

__all__ = ["GradedExercise", "graded_exercises", "intro_table", "graded_cell_ids", "stated_hours"]

_HOURS_RE = re.compile(r"\*\*Time(?: and how to work)?\.\*\*\s+About\s+(\d+(?:\.5)?)\s+hours?")

# The Chinese edition's column names (autograder.editions) read as the English ones
_COLUMNS = {"练习": "exercise", "函数": "function", "分值": "points"}


@dataclass(frozen=True)
class GradedExercise:
    """One exercise: its number, points and title (the heading's), the intro table's ``function``
    entry as markdown (``""`` when the table has none) and the graded cells it owns, in order."""

    number: int
    points: float
    title: str
    function: str
    grade_ids: tuple

    @property
    def name(self) -> str:
        """What a student calls the exercise: the heading's title, else the table's function."""
        return self.title or self.function or f"Exercise {self.number}"


def _text(tokens) -> str:
    """A table cell's inline tokens back as markdown text (code spans keep their backticks)."""
    out = []
    for token in tokens or []:
        if token.get("type") == "codespan":
            out.append(f"`{token.get('raw', '')}`")
        elif "raw" in token:
            out.append(token["raw"])
        else:
            out.append(_text(token.get("children")))
    return "".join(out)


def intro_table(nb) -> list[dict[str, str]]:
    """The rows of the first table with ``exercise`` and ``points`` columns in the intro (the first
    markdown cell), each a dict keyed by the lower-cased column name (the Chinese edition's ``练习``,
    ``函数``, ``分值`` read as these); ``[]`` when there is none."""
    intro = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    for token in mistune.create_markdown(renderer=None, plugins=["table"])(intro):
        if token.get("type") != "table":
            continue
        head = next((t for t in token["children"] if t["type"] == "table_head"), {"children": []})
        body = next((t for t in token["children"] if t["type"] == "table_body"), {"children": []})
        names = [_text(cell.get("children")).strip().lower() for cell in head["children"]]
        names = [_COLUMNS.get(name, name) for name in names]
        if "exercise" in names and "points" in names:
            return [dict(zip(names, (_text(cell.get("children")).strip() for cell in row["children"])))
                    for row in body["children"]]
    return []


def stated_hours(text: str) -> float | None:
    """The hours of a ``**Time.** About N hours`` (or ``**Time and how to work.**``) sentence, or None."""
    found = _HOURS_RE.search(text)
    return float(found.group(1)) if found else None


def graded_cell_ids(nb) -> list[tuple[int, str]]:
    """``(cell index, grade_id)`` of the hidden-test cells (graded code cells that are not answers)."""
    return [(i, nbgrader_meta(c)["grade_id"]) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
            and "grade_id" in nbgrader_meta(c)]


def graded_exercises(nb) -> list[GradedExercise]:
    """The notebook's exercises in order, each with the graded cells between its heading and the next."""
    heads = exercises(nb)
    functions = {row.get("exercise", ""): row.get("function", "") for row in intro_table(nb)}
    graded = graded_cell_ids(nb)
    out = []
    for k, head in enumerate(heads):
        end = heads[k + 1].cell if k + 1 < len(heads) else len(nb.cells)
        owned = tuple(gid for i, gid in graded if head.cell < i < end)
        out.append(GradedExercise(head.number, head.points, head.title, functions.get(str(head.number), ""), owned))
    return out
