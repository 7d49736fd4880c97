"""``export`` and ``status``: grades and grading state per student, from the trusted reports."""

from __future__ import annotations

import csv
from pathlib import Path

from autograder.course import Course
from autograder.grading import points, read_report, submitted_students

__all__ = ["status_rows", "export_csv", "format_table"]


def status_rows(course: Course, aids=None) -> list[dict]:
    """One row per (student, aid): ``graded`` / ``failed`` / ``pending`` (submitted, not graded since)."""
    rows = []
    for aid in aids or course.assignment_ids():
        for student in submitted_students(course, aid):
            report = read_report(course, aid, student)
            stamp = course.submitted / student / aid
            newest = max((p.stat().st_mtime for p in stamp.rglob("*") if p.is_file()), default=0)
            path = course.work / "reports" / aid / f"{student}.json"
            if report is None or path.stat().st_mtime < newest:
                rows.append({"student": student, "assignment": aid, "status": "pending", "score": "",
                             "max_score": "", "notes": "", "flags": ""})
                continue
            rows.append({"student": student, "assignment": aid, "status": report.status,
                         "score": repr(report.score), "max_score": repr(report.max_score),
                         "notes": " | ".join(report.notes), "flags": " | ".join(report.flags)})
    return rows


def export_csv(course: Course, out_path, aids=None) -> Path:
    """Write ``grades.csv`` (student, assignment, score, max_score, status, notes, flags); sorted rows.

    Scores are written exactly (``repr`` of the float the gradebook holds), never rounded.

    ``notes`` is what the student's feedback says; ``flags`` (for the instructor) lists code worth a
    look (tampering with IPython or numpy, exits, references to the grader), which costs no points.
    """
    out_path = Path(out_path)
    rows = sorted(status_rows(course, aids), key=lambda r: (r["assignment"], r["student"]))
    with open(out_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["student", "assignment", "score", "max_score", "status", "notes",
                                                "flags"])
        writer.writeheader()
        writer.writerows(rows)
    return out_path


def format_table(rows: list[dict]) -> str:
    """The status rows as a text table; scores as people read them (two decimals at most)."""
    cols = ["student", "assignment", "score", "max_score", "status"]
    shown = [{**r, **{c: points(float(r[c])) for c in ("score", "max_score") if r[c] != ""}} for r in rows]
    widths = {c: max([len(c)] + [len(str(r[c])) for r in shown]) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in cols) for r in shown]
    return "\n".join(lines)
