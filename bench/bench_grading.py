"""Per-notebook grading time: ``convlab-grade`` against plain ``nbgrader autograde``, same submissions.

For each assignment (default: every one under ``solutions/`` with a ``checks.py``) a class of
``--students`` honest submissions (the full solution, built with ``autograder.testing``) is graded
three ways, each in its own fresh copy of the course, in this one process:

- reference: stock nbgrader 0.9.6 ``Autograde`` (its own default preprocessors in place of the
  course's chain, the ordinary ``python3`` kernel, serial). Its hidden-test cells find no trusted
  checks there (``run_hidden`` judges only in ``solutions/<aid>/``) and fail at once, so its scores
  are not compared: it is the time of running the notebooks and recording grades, nothing more;
- ``convlab-grade``, one worker: sandboxed kernel, trusted checks, reports (the per-notebook cost);
- ``convlab-grade``, two workers (the default; throughput on a 2-core machine).

Prints seconds per notebook and the ratios to the reference, and checks that every way gave full
marks (a faster grader that grades wrongly would be no result). Exit status 1 if scores disagree.

Run: ``python bench/bench_grading.py [--students 2] [AID ...]`` (``make bench-grading`` runs it).
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import Course, ensure_tools_on_path
from autograder.grading import GradeOptions, grade_all
from autograder.release import release
from autograder.testing import make_submission

REPO_ROOT = Path(__file__).resolve().parent.parent


def _course_copy(source: Course, root: Path, aids: list[str], students: int) -> Course:
    """A released copy of the course at ``root`` with ``students`` honest submissions per assignment."""
    (root / "solutions").mkdir(parents=True)
    for aid in aids:
        shutil.copytree(source.solutions / aid, root / "solutions" / aid,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(source.root / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root)
    release(course, aids)
    for aid in aids:
        for i in range(students):
            make_submission(course.solutions / aid / f"{aid}.ipynb", None,
                            course.submitted / f"s{i:02d}" / aid / f"{aid}.ipynb")
    return course


def _stock_autograde(course: Course, aid: str) -> dict[str, float]:
    """Plain nbgrader ``autograde AID`` for every submitted student; returns ``{student: score}``."""
    from nbgrader.api import Gradebook  # noqa: PLC0415 - heavy
    from nbgrader.converters import Autograde  # noqa: PLC0415
    from nbgrader.converters.base import NbGraderException  # noqa: PLC0415
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    stock = Autograde.class_traits()["autograde_preprocessors"].default()
    cfg = course.config({"Autograde": {"create_student": True, "autograde_preprocessors": list(stock)}})
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = aid
    converter = Autograde(coursedir=coursedir, config=cfg)
    converter.force = True
    converter.log = logging.getLogger("bench.nbgrader")
    try:
        converter.start()
    except NbGraderException:  # some submission could not be graded (e.g. not a notebook): the rest were
        pass
    with Gradebook(course.db_url, "convlab") as gb:
        return {s.student.id: float(s.score) for s in gb.assignment_submissions(aid)}


def quiet_setup() -> None:
    """What every benchmark does first: only errors logged, warnings into the log, nbgrader's tools on PATH."""
    logging.basicConfig(level=logging.ERROR)
    logging.captureWarnings(True)
    ensure_tools_on_path()


def _timed(fn):
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aids", nargs="*", help="assignments (default: every one with a checks.py)")
    parser.add_argument("--students", type=int, default=2, help="honest submissions per assignment")
    args = parser.parse_args(argv)
    quiet_setup()
    source = Course(REPO_ROOT)
    aids = args.aids or [a for a in source.assignment_ids() if source.checks_file(a).is_file()]
    if not aids:
        print("no assignment with a checks.py under solutions/")
        return 1
    n = args.students
    ok = True
    totals = {"stock": 0.0, "ours1": 0.0, "ours2": 0.0}
    print(f"{n} honest submissions per assignment; seconds per notebook (load average "
          f"{os.getloadavg()[0]:.1f} at start)")
    print(f"{'assignment':<16} {'nbgrader':>9} {'ours x1':>9} {'ratio':>6} {'ours x2':>9} {'ratio':>6}")
    with tempfile.TemporaryDirectory(prefix="convlab-bench-") as tmp:
        for aid in aids:
            courses = {way: _course_copy(source, Path(tmp) / f"{aid}-{way}", [aid], n) for way in totals}
            stock, t_stock = _timed(lambda: _stock_autograde(courses["stock"], aid))  # noqa: B023
            ours1, t_ours1 = _timed(lambda: grade_all(courses["ours1"], aid, GradeOptions(workers=1)))  # noqa: B023
            ours2, t_ours2 = _timed(lambda: grade_all(courses["ours2"], aid, GradeOptions(workers=2)))  # noqa: B023
            top = max((r.max_score for r in ours1), default=0.0)
            assert len(stock) == n, f"{aid}: stock nbgrader graded {len(stock)} of {n}"
            scores = {"ours1": sorted(r.score for r in ours1), "ours2": sorted(r.score for r in ours2)}
            if any(v != [top] * n for v in scores.values()):
                ok = False
                print(f"{aid}: scores differ from full marks ({top:g}): {scores}")
            for way, seconds in zip(totals, (t_stock, t_ours1, t_ours2)):
                totals[way] += seconds
            print(f"{aid:<16} {t_stock / n:>9.2f} {t_ours1 / n:>9.2f} {t_ours1 / t_stock:>6.2f} "
                  f"{t_ours2 / n:>9.2f} {t_ours2 / t_stock:>6.2f}")
    count = n * len(aids)
    print(f"{'all':<16} {totals['stock'] / count:>9.2f} {totals['ours1'] / count:>9.2f} "
          f"{totals['ours1'] / totals['stock']:>6.2f} {totals['ours2'] / count:>9.2f} "
          f"{totals['ours2'] / totals['stock']:>6.2f}")
    print("ratio = convlab-grade time / plain nbgrader autograde time on the same submissions "
          "(sandboxed kernel, fresh hidden inputs judged outside it, reports)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
