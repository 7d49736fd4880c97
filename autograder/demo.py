"""``convlab-grade demo``: release, collect and grade a bundled sample class, print the results.

The sample class is the autograder's fixture course (``tests/autograder/fixtures``): a tiny
assignment and a few students (correct, partial, blank, cheating, crashing).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from autograder.collect import collect
from autograder.course import Course
from autograder.feedback import generate_feedback
from autograder.grading import GradeOptions, grade_all
from autograder.release import release
from autograder.reports import format_table, status_rows

__all__ = ["run_demo", "FIXTURES"]

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "autograder" / "fixtures"


def run_demo(out: Path, unsafe_no_sandbox: bool = False) -> str:
    """Build ``out`` as a course, grade the sample class there; returns the printed report."""
    out = Path(out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copytree(FIXTURES / "course" / "solutions", out / "solutions")
    shutil.copy(Path(__file__).resolve().parent.parent / "nbgrader_config.py", out / "nbgrader_config.py")
    course = Course(out)
    release(course)
    collect(course, FIXTURES / "class")
    lines = []
    for aid in course.assignment_ids():
        grade_all(course, aid, GradeOptions(unsafe_no_sandbox=unsafe_no_sandbox))
        pages = generate_feedback(course, aid)
        lines.append(format_table(status_rows(course, [aid])))
        lines.append("feedback files:")
        lines += [f"  {student}: {p}" for student, ps in sorted(pages.items()) for p in ps]
    return "\n".join(lines)
