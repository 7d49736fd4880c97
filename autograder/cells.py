"""nbgrader's per-cell metadata, read one way everywhere (a cell without it reads as ``{}``)."""

from __future__ import annotations

__all__ = ["nbgrader_meta", "grade_id"]


def nbgrader_meta(cell) -> dict:
    """The cell's ``metadata.nbgrader`` dict (``{}`` for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    """The cell's nbgrader ``grade_id``, or ``None``."""
    return nbgrader_meta(cell).get("grade_id")
