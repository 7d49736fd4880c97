"""Where one submission's grading seconds go: a table per phase, per submission.

Grades ``--students`` honest submissions of one assignment (default ``a2_naive_conv``) one after
another in this process, through the real sandboxed pipeline (``grade_submission`` with what the run's
notebooks share read once, as a worker of ``grade_all`` does; ``--per-notebook`` reads it for every
notebook instead; each notebook's cases and references are always its own), with timers wrapped around the grader's own
functions:

| phase | what is timed |
|---|---|
| stage + gradebook | copying the submission into staging, zeroing its old grades, reading the new ones |
| trusted: load checks | importing ``checks.py`` (and the library it imports) |
| trusted: cases + references | drawing the fresh cases and computing the references outside the sandbox |
| trusted: scan + build | static scan of the student's cells, finding the grading build |
| sandbox start | bubblewrap, the launcher, the kernel process until its sockets exist |
| kernel start | the kernel importing IPython and answering ``kernel_info`` |
| student cells | every code cell that is not a hidden-test cell |
| hidden-test cells | the hidden cells (inputs written, answers taken) |
| demo cells | cells tagged ``skip-when-graded`` (not run) |
| kernel shutdown | stopping the kernel, removing its folders |
| judging | comparing the answers with the references, writing the verdicts |
| nbgrader (rest) | nbgrader's own preprocessors, database writes, notebook I/O: ``Autograde`` minus the above |

Run: ``python bench/profile_grading.py [--students 4] [AID]``. Prints seconds per submission.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import REPO_ROOT, quiet_setup, _course_copy  # noqa: E402

from autograder import grading, trusted  # noqa: E402
from autograder.cells import is_skipped, nbgrader_meta  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.execution import SandboxExecute  # noqa: E402
from autograder.grading import GradeOptions, grade_submission  # noqa: E402

PHASES = ["stage + gradebook", "trusted: load checks", "trusted: cases + references", "trusted: scan + build",
          "sandbox start", "kernel start", "student cells", "hidden-test cells", "demo cells", "kernel shutdown",
          "judging", "nbgrader (rest)"]


class Timers:
    """Seconds per phase, summed over the submissions graded."""

    def __init__(self):
        self.seconds = defaultdict(float)

    def wrap(self, phase, fn, classify=None):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[classify(*args) if classify else phase] += time.perf_counter() - start
        return timed


def _cell_phase(executor, cell, resources, index) -> str:
    if cell.cell_type != "code":
        return "student cells"
    if is_skipped(cell):
        return "demo cells"
    session = resources.get("convlab", {}).get("session")
    meta = nbgrader_meta(cell)
    if session is not None and meta.get("grade") and session.checks_of_cell(meta.get("grade_id")):
        return "hidden-test cells"
    return "student cells"


def profile(course: Course, aid: str, students: list[str], options: GradeOptions, per_notebook: bool) -> tuple[dict, float]:
    """``({phase: seconds}, total seconds)`` of grading ``students`` one after another."""
    from nbgrader.converters import Autograde  # noqa: PLC0415 - heavy

    t = Timers()
    patches = [
        mock.patch.object(grading, "stage_submission", t.wrap("stage + gradebook", grading.stage_submission)),
        mock.patch.object(grading, "zero_grades", t.wrap("stage + gradebook", grading.zero_grades)),
        mock.patch.object(grading, "_cell_scores", t.wrap("stage + gradebook", grading._cell_scores)),
        mock.patch.object(trusted, "load_checks", t.wrap("trusted: load checks", trusted.load_checks)),
        mock.patch.object(trusted, "draw_cases", t.wrap("trusted: cases + references", trusted.draw_cases)),
        mock.patch.object(trusted, "reference_outcomes",
                          t.wrap("trusted: cases + references", trusted.reference_outcomes)),
        mock.patch.object(trusted, "prepare_hidden", t.wrap("prepare", trusted.prepare_hidden)),
        mock.patch.object(SandboxExecute, "start_new_kernel", t.wrap("sandbox start", SandboxExecute.start_new_kernel)),
        mock.patch.object(SandboxExecute, "start_new_kernel_client",
                          t.wrap("kernel start", SandboxExecute.start_new_kernel_client)),
        mock.patch.object(SandboxExecute, "preprocess_cell", t.wrap("cells", SandboxExecute.preprocess_cell,
                                                                    classify=_cell_phase)),
        mock.patch.object(SandboxExecute, "_cleanup_kernel", t.wrap("kernel shutdown", SandboxExecute._cleanup_kernel)),
        mock.patch.object(trusted.JudgeHidden, "preprocess", t.wrap("judging", trusted.JudgeHidden.preprocess)),
        mock.patch.object(Autograde, "start", t.wrap("autograde", Autograde.start)),
    ]
    start = time.perf_counter()
    with ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        prepared = None if per_notebook else trusted.shared_by_run(course.checks_file(aid))
        for student in students:
            result = grade_submission(course, aid, student, options, prepared)
            if result.status != "graded" or result.score != result.max_score:
                raise RuntimeError(f"{student}: {result.status} {result.score}/{result.max_score}: {result.notes}")
    total = time.perf_counter() - start
    s = t.seconds
    prepare_inner = s["trusted: load checks"] + s["trusted: cases + references"]
    s["trusted: scan + build"] = s.pop("prepare", 0.0) - prepare_inner
    inside = sum(s[p] for p in PHASES if p not in ("stage + gradebook", "nbgrader (rest)"))
    s["nbgrader (rest)"] = s.pop("autograde", 0.0) - inside
    return {p: s[p] for p in PHASES}, total


def format_profile(phases: dict, total: float, count: int) -> str:
    """The phases as a table: seconds per submission and share of the total."""
    lines = [f"{'phase':<30} {'s/submission':>13} {'share':>7}"]
    for phase, seconds in phases.items():
        lines.append(f"{phase:<30} {seconds / count:>13.3f} {seconds / total:>7.1%}")
    other = total - sum(phases.values())
    lines.append(f"{'other (imports, reports)':<30} {other / count:>13.3f} {other / total:>7.1%}")
    lines.append(f"{'total':<30} {total / count:>13.3f} {1:>7.1%}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aid", nargs="?", default="a2_naive_conv")
    parser.add_argument("--students", type=int, default=4, help="honest submissions, graded one after another")
    parser.add_argument("--per-notebook", action="store_true",
                        help="the library sources for the copy scan read for every notebook (not once for the run)")
    args = parser.parse_args(argv)
    quiet_setup()
    with tempfile.TemporaryDirectory(prefix="convlab-profile-") as tmp:
        course = _course_copy(Course(REPO_ROOT), Path(tmp) / "course", [args.aid], args.students)
        students = grading.submitted_students(course, args.aid)
        grade_submission(course, args.aid, students[0], GradeOptions(workers=1))  # warm: imports, grading build
        phases, total = profile(course, args.aid, students, GradeOptions(workers=1, seed=secrets.randbits(63)),
                                args.per_notebook)
    print(f"{args.aid}: {len(students)} honest submissions, one after another, sandboxed "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(format_profile(phases, total, len(students)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
