"""``export`` and ``status``: grades and grading state per student, from the trusted reports."""

from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from autograder.cells import graded_cells
from autograder.collect import read_lms_records
from autograder.course import Course
from autograder.grading import points, read_report, submitted_students
from autograder.hostfs import UnsafeFile, read_regular

__all__ = ["COLUMNS", "status_rows", "missing_rows", "question_ids", "export_csv", "format_table"]


COLUMNS = ["student", "assignment", "score", "max_score", "status", "score_before_penalty", "late_penalty",
           "seconds_late", "submitted", "lms_late", "notes", "flags"]


def _empty_row(student: str, aid: str, status: str) -> dict:
    return {**dict.fromkeys(COLUMNS, ""), "student": student, "assignment": aid, "status": status}


def status_rows(course: Course, aids=None) -> list[dict]:
    """One row per (student, aid) submitted: ``graded`` / ``failed`` / ``pending`` (submitted, not graded
    since), with the columns of :data:`COLUMNS` and ``cells`` (``grade_id -> score``)."""
    rows = []
    for aid in aids or course.assignment_ids():
        lms = read_lms_records(course, aid)
        for student in submitted_students(course, aid):
            report = read_report(course, aid, student)
            stamp = course.submitted / student / aid
            newest = max((p.stat().st_mtime for p in stamp.rglob("*") if p.is_file()), default=0)
            path = course.work / "reports" / aid / f"{student}.json"
            row = _empty_row(student, aid, "pending")
            row["lms_late"] = "yes" if lms.get(student, {}).get("late") else ""
            row["submitted"] = _submitted(stamp)
            row["cells"] = {}
            if report is None or path.stat().st_mtime < newest:
                rows.append(row)
                continue
            before = report.score if report.score_before_penalty is None else report.score_before_penalty
            row.update({"status": report.status, "score": repr(report.score), "max_score": repr(report.max_score),
                        "score_before_penalty": repr(before), "late_penalty": repr(report.late_penalty),
                        "seconds_late": repr(report.seconds_late), "notes": " | ".join(report.notes),
                        "flags": " | ".join(report.flags), "cells": {g: v[0] for g, v in report.cells.items()}})
            rows.append(row)
    return rows


def _submitted(folder) -> str:
    """The submission time ``timestamp.txt`` holds (as written), or ``""``."""
    try:
        return read_regular(folder / "timestamp.txt", 200).decode("utf-8", "replace").strip()
    except UnsafeFile:  # none, or not a plain file
        return ""


def missing_rows(course: Course, rows: list[dict]) -> list[dict]:
    """A ``missing`` row (score 0) for every gradebook student (the roster, and everyone graded) without a
    row of an assignment that ``rows`` hold."""
    if not course.has_gradebook():
        return []
    with course.open_gradebook() as gb:
        students = [s.id for s in gb.students]
        maxima = {a.name: float(a.max_score) for a in gb.assignments}
    have = {(r["student"], r["assignment"]) for r in rows}
    out = []
    for aid in sorted({r["assignment"] for r in rows}):
        questions = question_ids(course, aid)
        for student in students:
            if (student, aid) not in have:
                row = _empty_row(student, aid, "missing")
                top = maxima.get(aid)
                row.update({"score": repr(0.0), "max_score": "" if top is None else repr(top),
                            "notes": "no submission", "cells": dict.fromkeys(questions, 0.0)})
                out.append(row)
    return out


def question_ids(course: Course, aid: str) -> list[str]:
    """The grade cells of ``aid``, notebook by notebook (sorted by name), in notebook order."""
    return [gid for path in sorted((course.solutions / aid).glob("*.ipynb"))
            for gid in graded_cells(nbformat.read(path, as_version=4))]


def export_csv(course: Course, out_path, aids=None) -> Path:
    """Write ``grades.csv``: one row per (student, assignment), sorted, columns :data:`COLUMNS` then one per
    question, ``<aid>:<grade_id>``, assignment by assignment in notebook order.

    Scores are written exactly (``repr`` of the float the gradebook holds), never rounded. ``score`` is
    after nbgrader's late penalty (``score_before_penalty - late_penalty``, at least 0); ``seconds_late``
    counts from the gradebook's due date to ``submitted`` (``timestamp.txt``); ``lms_late`` is ``yes``
    when the LMS marked the file late (Canvas's ``_LATE``), whatever the due date. Every gradebook
    student without a submission of an exported assignment gets a row with status ``missing`` and score 0.

    ``notes`` is what the student's feedback says; ``flags`` (for the instructor) lists code worth a
    look (tampering with IPython or numpy, exits, references to the grader), which costs no points.
    """
    out_path = Path(out_path)
    rows = status_rows(course, aids)
    rows = sorted(rows + missing_rows(course, rows), key=lambda r: (r["assignment"], r["student"]))
    questions = [(aid, gid) for aid in sorted({r["assignment"] for r in rows}) for gid in question_ids(course, aid)]
    with open(out_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS + [f"{aid}:{gid}" for aid, gid in questions])
        writer.writeheader()
        for row in rows:
            cells = row.pop("cells")
            writer.writerow({**row, **{f"{aid}:{gid}": repr(cells[gid]) for aid, gid in questions
                                       if aid == row["assignment"] and gid in cells}})
    return out_path


def format_table(rows: list[dict]) -> str:
    """The status rows as a text table; scores as people read them (two decimals at most)."""
    cols = ["student", "assignment", "score", "max_score", "status"]
    shown = [{**r, **{c: points(float(r[c])) for c in ("score", "max_score") if r[c] != ""}} for r in rows]
    widths = {c: max([len(c)] + [len(str(r[c])) for r in shown]) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in shown]
    return "\n".join(lines)
