"""A whole class of one assignment, graded each way: submissions per minute and ratios.

Generates ``--students`` submissions (default 100) of one assignment (default ``a1_volumes``), mixed:
half correct, a quarter partly wrong (one of the assignment's mutants from ``solutions/<aid>/mutants/``
each, in turn), 15% broken (not a notebook) and 10% hanging (the first answer cell sleeps past the
cell limit); from 4 submissions on, at least one of each kind. The same class is graded, each in a
fresh copy of the course:

- ``nbgrader``: stock sequential ``nbgrader autograde`` (its own chain, the ordinary kernel; its hidden
  cells find no trusted checks and fail at once, so its scores are not compared);
- ``ours x1``: ``convlab-grade`` with one worker (sandboxed, trusted checks, reports);
- ``ours xN``: with ``--workers`` (default: the cores);
- ``dask xN``: ``grade --dask`` on a local Dask cluster of ``--workers`` worker processes (started
  before the clock starts, as an instructor's cluster would be).

Both use ``--cell-timeout`` seconds per cell (default 10), so a hanging notebook costs the same to
each. Prints wall time, submissions per minute and the ratio to stock nbgrader, and checks that the
runs of ours gave every student the same grade (exit status 1 otherwise, with the students whose
grades differ). Every run of ours gets one base seed, drawn once here (each notebook's cases are
derived from it and the student's code, :mod:`autograder.seeds`): each way grades its own copy of the
course, which would otherwise draw its own secret, and a partly wrong answer may fail on one draw of
cases and pass on another.
``--no-stock`` leaves stock nbgrader out (to check the grades alone, faster).

Run: ``python bench/bench_class.py [--students 100] [--workers N] [AID]``: ``make bench-class`` runs it
with 100 submissions (allow about half an hour on a 2-core machine, idle), ``make bench`` with 8.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_grading import REPO_ROOT, quiet_setup, _stock_autograde, _timed  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.grading import GradeOptions, default_workers, grade_all  # noqa: E402
from autograder.mutants import mutants_of, replacements  # noqa: E402
from autograder.release import release  # noqa: E402
from autograder.sandbox import Limits  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

HANG = "import time\ntime.sleep(10 ** 6)\n"


def kind_of(i: int, n: int) -> str:
    """The kind of submission ``i`` of ``n``: correct, partial, broken or hanging (50/25/15/10 %; from
    ``n`` = 4 on, at least one of each)."""
    least = 1 if n >= 4 else 0
    hanging, broken, partial = max(least, n // 10), max(least, round(0.15 * n)), max(least, n // 4)
    correct = n - hanging - broken - partial
    return "correct" if i < correct else "partial" if i < correct + partial else (
        "broken" if i < n - hanging else "hanging")


def build_class(source: Course, root: Path, aid: str, n: int, cell_timeout: int) -> Course:
    """A released copy of the course at ``root`` holding the generated class of ``aid``."""
    (root / "solutions").mkdir(parents=True)
    shutil.copytree(source.solutions / aid, root / "solutions" / aid,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copy(source.root / "nbgrader_config.py", root / "nbgrader_config.py")
    with open(root / "nbgrader_config.py", "a") as fh:
        fh.write(f"\nc.Execute.timeout = {cell_timeout}\n")  # stock nbgrader's cell limit, as ours
    course = Course(root)
    release(course, [aid])
    solution = course.solutions / aid / f"{aid}.ipynb"
    mutants = mutants_of(course, aid)
    first_answer = mutants[0].grade_id if mutants else None  # a cell holding an answer
    for i in range(n):
        out = course.submitted / f"s{i:03d}" / aid / f"{aid}.ipynb"
        kind = kind_of(i, n)
        if kind == "broken":
            out.parent.mkdir(parents=True)
            out.write_text("{ this is not a notebook")
        elif kind == "partial" and mutants:
            make_submission(solution, replacements(solution, [mutants[i % len(mutants)]]), out)
        elif kind == "hanging" and first_answer:
            make_submission(solution, {first_answer: HANG}, out)
        else:
            make_submission(solution, None, out)
    return course


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("aid", nargs="?", default="a1_volumes")
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--cell-timeout", type=int, default=10)
    parser.add_argument("--no-stock", action="store_true", help="leave stock nbgrader out")
    args = parser.parse_args(argv)
    seed = secrets.randbits(63)
    quiet_setup()
    source, n = Course(REPO_ROOT), args.students
    limits = Limits(cell_timeout=args.cell_timeout)
    ways = {"ours x1": GradeOptions(limits=limits, workers=1, seed=seed),
            f"ours x{args.workers}": GradeOptions(limits=limits, workers=args.workers, seed=seed)}
    mix = ", ".join(f"{k} {sum(kind_of(i, n) == k for i in range(n))}" for k in ("correct", "partial", "broken", "hanging"))
    print(f"{args.aid}: {n} submissions ({mix}), {args.cell_timeout} s per cell, load average "
          f"{os.getloadavg()[0]:.1f} at start")
    times, grades = {}, {}
    with tempfile.TemporaryDirectory(prefix="convlab-bench-class-") as tmp:
        if not args.no_stock:
            stock_course = build_class(source, Path(tmp) / "stock", args.aid, n, args.cell_timeout)
            stock, times["nbgrader"] = _timed(lambda: _stock_autograde(stock_course, args.aid))
            print(f"stock nbgrader: {len(stock)} of {n} submissions in its gradebook")
        for way, options in ways.items():
            course = build_class(source, Path(tmp) / way.replace(" ", "-"), args.aid, n, args.cell_timeout)
            results, times[way] = _timed(lambda: grade_all(course, args.aid, options))  # noqa: B023
            grades[way] = {r.student: (r.status, r.score, r.cells) for r in results}
        from distributed import LocalCluster  # noqa: PLC0415 - the dev extra

        way = f"dask x{args.workers}"
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster:
            course = build_class(source, Path(tmp) / "dask", args.aid, n, args.cell_timeout)
            results, times[way] = _timed(lambda: grade_all(course, args.aid, GradeOptions(limits=limits, seed=seed),
                                                           dask=cluster.scheduler_address))
        grades[way] = {r.student: (r.status, r.score, r.cells) for r in results}
    print(f"{'way':<12} {'seconds':>9} {'per minute':>11} {'x nbgrader':>11}")
    for way, seconds in times.items():
        ratio = f"{times['nbgrader'] / seconds:>11.2f}" if "nbgrader" in times else ""
        print(f"{way:<12} {seconds:>9.1f} {60 * n / seconds:>11.1f} {ratio}")
    first, *rest = grades.values()
    differ = sorted(s for g in rest for s in set(first) | set(g) if first.get(s) != g.get(s))
    print("grades: " + ("identical on every path of ours" if not differ else "DIFFER between paths"))
    for student in dict.fromkeys(differ):
        print(f"  {student}: " + "; ".join(f"{way} {g.get(student)}" for way, g in grades.items()))
    same = not differ
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
