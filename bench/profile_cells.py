"""Seconds per cell of graded notebooks: which cells cost a submission time, and what they earn.

Grades ``--students`` honest submissions of each assignment (default: every one with a ``checks.py``)
one after another through the real sandboxed pipeline (:func:`autograder.grading.grade_all` with one
worker), then reads each cell's time from the autograded notebooks (nbclient records when the kernel
started a cell and when it replied, ``record_timing``) and prints, per assignment, the cells that took
more than ``--over`` seconds on average: their index, their kind and their first line. The kinds:

- ``hidden``: a hidden-test cell (earns the points); ``test``: a visible-test cell (``grade_id``, no
  points: the student's feedback); ``answer``: a solution cell; ``demo``: any other code cell;
- ``skipped``: tagged ``skip-when-graded`` (not run, so no time).

The last line per assignment is the total seconds per submission: ``Autograde`` from the start of its
first cell to the reply of its last (kernel start and shutdown excluded), and the whole submission.
``--ignore-skip-tags`` removes the ``skip-when-graded`` tags from the copy of the course before it is
released: what each tagged cell costs, and the "before" of a before/after comparison.

Run: ``python bench/profile_cells.py [--students 2] [--over 0.3] [--ignore-skip-tags] [AID ...]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import REPO_ROOT, _course_copy, _timed, quiet_setup  # noqa: E402

from autograder.cells import SKIP_TAG, is_skipped, nbgrader_meta  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.grading import GradeOptions, grade_all  # noqa: E402


def cell_kind(cell) -> str:
    """What a code cell is for grading: hidden, test, answer, skipped or demo."""
    meta = nbgrader_meta(cell)
    if is_skipped(cell):
        return "skipped"
    if meta.get("grade") and not meta.get("solution"):
        return "hidden"
    if meta.get("solution"):
        return "answer"
    return "test" if meta.get("grade_id") else "demo"


def cell_seconds(cell) -> float | None:
    """Seconds between the kernel starting the cell and its reply, as nbclient recorded them (None: not run)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return None
    return (datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))).total_seconds()


def without_skip_tags(notebook: Path) -> None:
    """Remove every ``skip-when-graded`` tag from ``notebook`` in place."""
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags")
        if tags and SKIP_TAG in tags:
            tags.remove(SKIP_TAG)
    nbformat.write(nb, notebook)


def profile_cells(course: Course, aid: str, students: int) -> tuple[list, float, float]:
    """``([(index, kind, mean seconds or None, first line)], cells' seconds, submission's seconds)``
    per submission, averaged over the class."""
    results, seconds = _timed(lambda: grade_all(course, aid, GradeOptions(workers=1)))
    for result in results:
        if result.status != "graded" or result.score != result.max_score:
            raise RuntimeError(f"{aid} {result.student}: {result.status} {result.score}/{result.max_score}: "
                               f"{result.notes}")
    per_cell, span = defaultdict(list), 0.0
    cells = []
    for result in results:
        nb = nbformat.read(course.autograded / result.student / aid / f"{aid}.ipynb", as_version=4)
        cells = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
        times = [cell_seconds(c) for _, c in cells]
        for (i, _), t in zip(cells, times):
            per_cell[i].append(t)
        starts = [c.metadata["execution"]["iopub.execute_input"] for _, c in cells if cell_seconds(c) is not None]
        ends = [c.metadata["execution"]["shell.execute_reply"] for _, c in cells if cell_seconds(c) is not None]
        span += (datetime.fromisoformat(max(ends).replace("Z", "+00:00"))
                 - datetime.fromisoformat(min(starts).replace("Z", "+00:00"))).total_seconds()
    rows = []
    for i, cell in cells:
        got = [t for t in per_cell[i] if t is not None]
        first = next((line for line in cell.source.splitlines() if line.strip()), "")
        rows.append((i, cell_kind(cell), sum(got) / len(got) if got else None, first))
    return rows, span / len(results), seconds / len(results)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aids", nargs="*", help="assignments (default: every one with a checks.py)")
    parser.add_argument("--students", type=int, default=2, help="honest submissions per assignment")
    parser.add_argument("--over", type=float, default=0.3, help="list the cells slower than this (seconds)")
    parser.add_argument("--ignore-skip-tags", action="store_true",
                        help="run the cells tagged skip-when-graded too (the time they would cost)")
    args = parser.parse_args(argv)
    quiet_setup()
    source = Course(REPO_ROOT)
    aids = args.aids or [a for a in source.assignment_ids() if source.checks_file(a).is_file()]
    print(f"{args.students} honest submissions per assignment, one worker, sandboxed; "
          f"{'skip tags ignored' if args.ignore_skip_tags else 'skip tags honoured'} "
          f"(load average {os.getloadavg()[0]:.1f})")
    with tempfile.TemporaryDirectory(prefix="convlab-cells-") as tmp:
        for aid in aids:
            origin = source
            if args.ignore_skip_tags:  # a copy of the assignment's sources without the tags
                origin = Course(Path(tmp) / f"{aid}-untagged")
                shutil.copytree(source.solutions / aid, origin.solutions / aid,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
                shutil.copy(source.root / "nbgrader_config.py", origin.root / "nbgrader_config.py")
                without_skip_tags(origin.solutions / aid / f"{aid}.ipynb")
            course = _course_copy(origin, Path(tmp) / aid, [aid], args.students)
            rows, cells_s, total_s = profile_cells(course, aid, args.students)
            print(f"== {aid}")
            for index, kind, seconds, first in rows:
                if kind == "skipped" or (seconds is not None and seconds > args.over):
                    shown = "-" if seconds is None else f"{seconds:.2f}"
                    print(f"  cell {index:>3} {kind:<8} {shown:>6} s  {first[:70]}")
            print(f"  cells {cells_s:.2f} s, submission {total_s:.2f} s (per submission)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
