"""``convlab-grade``: release, start, check, progress, hint, collect, roster, due, grade, feedback, export, status,
demo.

Thin: parses arguments and calls the module doing the work. Run ``convlab-grade -h``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from autograder.editions import DEFAULT, EDITIONS

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="convlab-grade", description="ConvLab's autograder (on nbgrader 0.9.6)")
    p.add_argument("--course", default=None, help="course root (default: nearest folder with nbgrader_config.py)")
    p.add_argument("-v", "--verbose", action="store_true", help="show nbgrader's log")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("release", help="generate assignments/ from solutions/ and verify nothing leaked")
    r.add_argument("aids", nargs="*", help="assignments (default: all)")
    r.add_argument("--out", default=None,
                   help="write the release to OUT/<aid>/ instead of assignments/ (course gradebook untouched)")
    r.add_argument("--force", action="store_true",
                   help="replace released folders even when files in them changed since their release")
    st = sub.add_parser("start", help="student: copy the released notebooks you do not have yet into mywork/ "
                                      "(never overwrites; says when a release changed)")
    st.add_argument("--lang", choices=EDITIONS, default=DEFAULT,
                    help="the edition to copy: en (assignments/) or zh, 中文版 (assignments-zh/); same file names")
    c = sub.add_parser("check", help="student self-check: run the visible tests of a notebook")
    c.add_argument("notebook")
    c.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    pr = sub.add_parser("progress", help="student: which exercises pass in your notebooks, the time left and "
                                         "what to do next (visible tests; unchanged notebooks are not run again)")
    pr.add_argument("folder", nargs="?", default=None, help="your work folder (default: mywork/)")
    pr.add_argument("--recheck", action="store_true", help="run every started notebook again, changed or not")
    pr.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    h = sub.add_parser("hint", help="student: the next hint for an exercise (the idea, the plan, the hardest line)",
                       description="Show the next rung of an exercise's hint ladder not yet taken and record it in "
                                   "NOTEBOOK.hints-taken.json beside the notebook (never in the notebook itself, "
                                   "which JupyterLab may hold open).")
    h.add_argument("notebook")
    h.add_argument("exercise", type=int, nargs="?", default=None, help="the exercise number N of '### Exercise N'")
    h.add_argument("--all-taken", action="store_true", help="show again the hints already taken, take none")
    h.add_argument("--into-notebook", action="store_true",
                   help="copy the record of the hints taken into the notebook's metadata (close it in JupyterLab "
                        "first: Lab would offer to revert to the file on disk)")
    co = sub.add_parser(
        "collect", help="collect submissions from a folder or an LMS zip",
        description="Copy a Canvas, Moodle or Blackboard export, <student>/<aid>/*.ipynb or a flat "
                    "<student>_..._<notebook>.ipynb into work/submitted/, one line per student collected and per "
                    "file skipped (with the reason). "
                    "Exit status: 0 when every notebook was collected, 1 when some notebook-looking files "
                    "were skipped, 2 when nothing usable was found.")
    co.add_argument("source", help="a folder or a zip file")
    co.add_argument("--aid", default=None, help="assignment of a flat export (a hint: a notebook's own name decides)")
    co.add_argument("--timezone", default="UTC", help="time zone of Blackboard's attempt times (IANA name)")
    ro = sub.add_parser("roster", help="the class list in the gradebook")
    ro_sub = ro.add_subparsers(dest="roster_command", required=True)
    ri = ro_sub.add_parser("import", help="add or update students from a CSV: id, first_name, last_name, email, "
                                          "lms_user_id (nbgrader's columns)")
    ri.add_argument("csv")
    du = sub.add_parser("due", help="show or set an assignment's due date (nbgrader's late penalty counts from it)")
    du.add_argument("aid")
    du.add_argument("when", nargs="?", default=None,
                    help='e.g. "2026-12-15 23:59 UTC" (a time without zone is UTC); "none" clears it')
    g = sub.add_parser("grade", help="grade every collected submission of an assignment (sandboxed)")
    g.add_argument("aid")
    g.add_argument("--student", action="append", help="grade only these students")
    g.add_argument("--workers", type=int, default=None,
                   help="grading processes (default: the cores this process may use)")
    g.add_argument("--regrade", action="store_true",
                   help="grade again submissions already graded with the same files and grader (default: skip them)")
    g.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="grade on the workers of this Dask scheduler (e.g. tcp://10.0.0.5:8786); each worker needs "
                        "bubblewrap and the course's environment; grades are written here")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar (it is shown only on a terminal)")
    g.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell")
    g.add_argument("--notebook-timeout", type=int, default=None, help="seconds per notebook")
    g.add_argument("--unsafe-no-sandbox", action="store_true",
                   help="run student code WITHOUT bubblewrap (only for code you trust)")
    f = sub.add_parser("feedback", help="write feedback HTML (hidden tests removed)")
    f.add_argument("aid")
    f.add_argument("--package", default=None, metavar="DIR",
                   help="also write one file per student into DIR, named for upload to the LMS it came from")
    e = sub.add_parser("export", help="write grades.csv (one row per student and assignment, one column per question)")
    e.add_argument("out", nargs="?", default="grades.csv")
    e.add_argument("--aid", action="append", help="only these assignments (default: all)")
    s = sub.add_parser("status", help="graded / failed / pending per student")
    s.add_argument("aids", nargs="*")
    d = sub.add_parser("demo", help="release the assignments, grade a sample class made from the solutions")
    d.add_argument("--out", default="out/grading-demo", help="folder for the demo course (replaced)")
    d.add_argument("aids", nargs="*", help="assignments (default: every one with a checks.py)")
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--unsafe-no-sandbox", action="store_true")
    return p


def _log(verbose: bool):
    logger = logging.getLogger("convlab-grade")
    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(message)s")
    logging.captureWarnings(True)
    return logger


def _zone(name: str):
    """The time zone called ``name`` (IANA), or ``CourseError``."""
    import zoneinfo  # noqa: PLC0415

    from autograder.course import CourseError  # noqa: PLC0415

    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise CourseError(f"unknown time zone {name!r}") from exc


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    log = _log(args.verbose)
    from autograder.course import Course, CourseError  # noqa: PLC0415 - fast --help
    from autograder.release import ReleaseLeakError, ReleaseOverwriteError, ReleaseSkipError  # noqa: PLC0415
    from autograder.sandbox import Limits, SandboxUnavailable  # noqa: PLC0415

    try:
        if args.command == "check":
            from autograder.check_cache import check  # noqa: PLC0415
            from autograder.selfcheck import format_report, passed  # noqa: PLC0415

            statuses, _ = check(args.notebook, timeout=args.timeout)
            print(format_report(Path(args.notebook).name, statuses))
            return 0 if passed(statuses) else 1
        if args.command == "hint":
            from autograder.hints import HintError, command_hint, save_into_notebook  # noqa: PLC0415

            try:
                if args.into_notebook:
                    count = save_into_notebook(args.notebook)
                    print(f"recorded {count} hint(s) taken in the metadata of {args.notebook}")
                if args.exercise is not None:
                    print(command_hint(args.notebook, args.exercise, all_taken=args.all_taken), end="")
                elif not args.into_notebook:
                    raise HintError("name the exercise: convlab-grade hint NOTEBOOK N")
            except HintError as exc:
                print(f"convlab-grade: {exc}", file=sys.stderr)
                return 2
            return 0
        if args.command == "demo":
            from autograder.demo import REPO_ROOT, run_demo  # noqa: PLC0415

            source = Course.at(args.course) if args.course else Course(REPO_ROOT)
            run_demo(Path(args.out), source=source, aids=args.aids, unsafe_no_sandbox=args.unsafe_no_sandbox,
                     workers=args.workers, echo=lambda line: print(line, flush=True))
            return 0
        course = Course.at(args.course)
        if args.command == "release":
            from autograder.release import release, release_to  # noqa: PLC0415

            if args.out:
                for result in release_to(course, args.aids, Path(args.out), log=log, force=args.force):
                    print(f"released {result.aid}: " + ", ".join(str(p) for p in result.notebooks))
                return 0
            for result in release(course, args.aids, log=log, force=args.force):
                print(f"released {result.aid}: " + ", ".join(str(p.relative_to(course.root)) for p in result.notebooks))
            return 0
        if args.command == "start":
            from autograder.mywork import start  # noqa: PLC0415

            for line in start(course, edition=args.lang):
                print(line.text)
            return 0
        if args.command == "progress":
            from tqdm import tqdm  # noqa: PLC0415

            from autograder.learner_path import course_progress, format_progress, next_step  # noqa: PLC0415

            with tqdm(unit="notebook", file=sys.stderr, disable=not sys.stderr.isatty(), leave=False) as bar:
                rows = course_progress(course, args.folder, recheck=args.recheck, timeout=args.timeout, bar=bar)
            print(format_progress(rows, args.folder or "mywork/"))
            print()
            print(next_step(rows, course.root))
            return 0
        if args.command == "collect":
            from autograder.collect import CollectError, collect, report_lines  # noqa: PLC0415

            try:
                report = collect(course, args.source, args.aid, zone=_zone(args.timezone))
            except CollectError as exc:
                for line in report_lines(exc.report) if exc.report else []:
                    print(line)
                raise
            for line in report_lines(report):
                print(line)
            return 0 if report.complete else 1
        if args.command == "roster":
            from autograder.roster import import_roster  # noqa: PLC0415

            print(f"imported {len(import_roster(course, args.csv))} students into the gradebook")
            return 0
        if args.command == "due":
            from autograder.late import due_date, set_due_date  # noqa: PLC0415

            when = set_due_date(course, args.aid, args.when) if args.when else due_date(course, args.aid)
            print(f"{args.aid} due {when.strftime('%Y-%m-%d %H:%M:%S UTC') if when else 'never (no due date)'}")
            return 0
        if args.command == "grade":
            from autograder.grading import GradeOptions, grade_all, points, submitted_students  # noqa: PLC0415
            from autograder.progress import GradingProgress  # noqa: PLC0415

            fields = {}
            if args.cell_timeout:
                fields["cell_timeout"] = args.cell_timeout
            if args.notebook_timeout:
                fields["notebook_timeout"] = args.notebook_timeout
            workers = {} if args.workers is None else {"workers": max(1, args.workers)}
            options = GradeOptions(unsafe_no_sandbox=args.unsafe_no_sandbox, limits=Limits(**fields), **workers)
            if args.unsafe_no_sandbox:
                print("WARNING: grading without the sandbox: student code runs with your permissions", file=sys.stderr)

            def show(r):
                kept = ", already graded" if r.reused else ""
                print(f"{r.student:<20} {points(r.score)}/{points(r.max_score)}  {r.status}  ({r.seconds:.1f} s{kept})")
                for note in r.notes:
                    print(f"    {note}")
                for flag in r.flags:
                    print(f"    flag (for you, not scored): {flag}")

            students = args.student or submitted_students(course, args.aid)
            with GradingProgress(len(students), options.workers, quiet=args.quiet, echo=show) as bar:
                results = grade_all(course, args.aid, options, students=students, progress=bar.update,
                                    regrade=args.regrade, dask=args.dask)
            print(bar.summary())
            return 0 if all(r.status == "graded" for r in results) else 2
        if args.command == "feedback":
            from autograder.feedback import generate_feedback  # noqa: PLC0415

            files = generate_feedback(course, args.aid, log=log)
            for student, pages in files.items():
                for page in pages:
                    print(f"{student}: {page.relative_to(course.root)}")
            if args.package:
                from autograder.feedback_package import package_feedback  # noqa: PLC0415

                for path in package_feedback(course, args.aid, files, args.package):
                    print(f"packaged {path}")
            return 0
        if args.command == "export":
            from autograder.reports import export_csv  # noqa: PLC0415

            print(f"wrote {export_csv(course, args.out, args.aid)}")
            return 0
        if args.command == "status":
            from autograder.reports import format_table, status_rows  # noqa: PLC0415

            print(format_table(status_rows(course, args.aids or None)))
            return 0
    except (CourseError, SandboxUnavailable, ReleaseLeakError, ReleaseOverwriteError, ReleaseSkipError) as exc:
        print(f"convlab-grade: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - any other grader error: one clear line (the traceback with -v)
        if args.verbose:
            raise
        first = " ".join(str(exc).split())[:500]
        print(f"convlab-grade: {args.command} failed: {type(exc).__name__}: {first} (run with -v for the traceback)",
              file=sys.stderr)
        return 3
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
