"""``grade AID``: every collected submission gets a grade and an explanation.

Per submission (:func:`grade_submission`):

1. its old grades are zeroed first, so a failure can never leave stale grades;
2. the folder is inspected: missing, renamed, malformed or old-format notebooks are repaired where
   possible (a renamed notebook is graded under its expected name, nbformat 3 is converted) or
   scored 0 with the reason;
3. nbgrader's ``Autograde`` runs in-process with the sandboxed execution and the trusted hidden
   checks (:func:`grading_config`);
4. the recorded grade and the reasons are written to ``work/reports/<aid>/<student>.json``.

:func:`grade_all` grades many submissions on forked worker processes (:mod:`autograder.pool`, one
per core by default) that each grade several submissions (nbgrader's start-up costs seconds; a fresh
process per student would dominate the run). The hidden cases of a notebook come from its own seed,
derived from the assignment's kept secret and the student's code (:mod:`autograder.seeds`): the same
submission meets the same cases in every run. What all notebooks share (the library's sources for the
copy scan) is read once per run. One submission's failure
never stops the others; a worker that dies is replaced and its submission graded once more, and so
is one whose Autograde stopped (nbgrader turns a locked SQLite gradebook into its own exception).
Submissions already graded under the same fingerprint (:mod:`autograder.resume`) are skipped, so a
run killed halfway resumes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from autograder.course import Course, CourseError, ensure_tools_on_path
from autograder.hostfs import write_atomic
from autograder.sandbox import Limits, SandboxUnavailable, bwrap_problem
from autograder.submission import stage_submission

__all__ = [
    "points", "SubmissionResult", "GradeOptions", "grading_config", "grade_submission", "grade_all",
           "submitted_students", "report_path", "read_report", "zero_grades", "default_workers"]


def default_workers() -> int:
    """The cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: sandbox or not, limits, the seed each notebook's own is derived from (default: the
    assignment's kept secret, :mod:`autograder.seeds`)."""

    unsafe_no_sandbox: bool = False
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    workers: int = field(default_factory=default_workers)
    grader_memory: int = 8 * 2**30   # address space of each grading worker (references, judging, nbgrader)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str                        # "graded" or "failed" (could not be graded: see notes)
    notes: list = field(default_factory=list)
    cells: dict = field(default_factory=dict)   # grade_id -> [score, max_score]
    seconds: float = 0.0
    flags: list = field(default_factory=list)   # for the instructor only: code worth a look (never scored)
    score_before_penalty: float | None = None   # the cells' total; ``score`` is it minus ``late_penalty``
    late_penalty: float = 0.0                   # nbgrader's late penalty (AssignLatePenalties), in points
    seconds_late: float = 0.0                   # timestamp.txt after the gradebook's due date, in seconds
    fingerprint: str = ""                       # of the submission and the grader (autograder.resume)
    reused: bool = False                        # this run kept the report of an earlier run (same fingerprint)


def points(value: float) -> str:
    """A score as people read it: at most two decimals, no trailing zeros (56.6667 -> '56.67')."""
    return f"{round(float(value), 2):g}"


def report_path(course: Course, aid: str, student: str) -> Path:
    return course.work / "reports" / aid / f"{student}.json"


def read_report(course: Course, aid: str, student: str) -> SubmissionResult | None:
    path = report_path(course, aid, student)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    data.pop("grader_log", None)
    data.pop("traceback", None)
    return SubmissionResult(**data)


def submitted_students(course: Course, aid: str) -> list[str]:
    """Students with a folder ``work/submitted/<student>/<aid>/`` (real folders, not links), sorted."""
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir()
                  if not p.is_symlink() and not (p / aid).is_symlink() and (p / aid).is_dir())


def grading_config(course: Course, aid: str, options: GradeOptions, prepared=None):
    """nbgrader config for autograding ``aid``: the course's chain, with this run's options (and its
    hidden cases, ``prepared``, when they were computed once for the run)."""
    from autograder.pipeline import configure_course  # noqa: PLC0415 - heavy (nbgrader)

    cfg = course.config()
    configure_course(cfg, course.root)  # also for a course whose nbgrader_config.py predates it
    limits = options.limits
    cfg.merge(type(cfg)({
        "PrepareHidden": {"seed": options.seed, "prepared": prepared},
        # the kernel is killed after the last cell rather than asked to stop: no student code (atexit
        # handlers) runs after it, and no second is spent waiting for a polite exit
        "Execute": {"timeout": limits.cell_timeout, "shutdown_kernel": "immediate"},
        "SandboxExecute": {"unsafe_no_sandbox": options.unsafe_no_sandbox, "limits": limits.as_dict()},
        "Autograde": {"create_student": True},
    }))
    return cfg


def zero_grades(course: Course, aid: str, student: str) -> None:
    """Create the submission if needed and set every auto score and late penalty of it to 0 (no stale grades)."""
    with course.open_gradebook() as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(aid, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.manual_score = None
                grade.needs_manual_grade = False
            notebook.late_submission_penalty = None
        gb.db.commit()


def _cell_scores(course: Course, aid: str, student: str) -> tuple[float, float, dict, float, float]:
    """``(cells' total, max score, {grade_id: [score, max]}, late penalty, seconds late)`` from the gradebook."""
    with course.open_gradebook() as gb:
        submission = gb.find_submission(aid, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = [float(grade.score or 0.0), float(grade.max_score)]
        return (float(submission.score), float(submission.max_score), cells,
                float(submission.late_submission_penalty or 0.0), float(submission.total_seconds_late))


def _late_note(penalty: float, seconds: float) -> list[str]:
    """What the student reads about lateness (nothing when on time)."""
    if seconds <= 0:
        return []
    late = f"{seconds / 3600:.1f} hours" if seconds < 2 * 86400 else f"{seconds / 86400:.1f} days"
    return [f"Submitted {late} after the due date: late penalty {points(penalty)} points."]


def _expected_notebooks(course: Course, aid: str) -> list[str]:
    return sorted(p.name for p in (course.solutions / aid).glob("*.ipynb"))


def _autograde(course: Course, aid: str, student: str, options: GradeOptions, log: list, prepared=None) -> list[str]:
    """nbgrader's Autograde on the staged folder, in this process; notes when it could not finish."""
    from nbgrader.converters import Autograde  # noqa: PLC0415 - heavy
    from nbgrader.converters.base import NbGraderException  # noqa: PLC0415
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    cfg = grading_config(course, aid, options, prepared)
    cfg.CourseDirectory.submitted_directory = str((course.work / "staging").relative_to(course.root))
    coursedir = CourseDirectory(config=cfg)
    coursedir.assignment_id = aid
    coursedir.student_id = student
    converter = Autograde(coursedir=coursedir, config=cfg)
    converter.force = True
    converter.log = _capturing_logger(log)
    try:
        converter.start()
    except NbGraderException:
        return [f"The grader could not finish this submission ({_stop_reason(log)}); its grade is 0 until "
                "it is re-graded."]
    return []


def _stop_reason(log: list[str]) -> str:
    """Why nbgrader's Autograde stopped: the last line of the last traceback it logged."""
    for entry in reversed(log):
        if "Traceback (most recent call last)" in entry:
            lines = [ln.strip() for ln in entry.splitlines() if ln.strip()]
            return lines[-1][:300]
    return "NbGraderException"


class _AutogradeStopped(Exception):
    """nbgrader's Autograde stopped on this try (a busy gradebook, a kernel that did not start): try again."""


def grade_submission(course: Course, aid: str, student: str, options: GradeOptions, prepared=None,
                     fingerprint: str = "", *, last_try: bool = True) -> SubmissionResult:
    """Grade one submission in four steps (stage, autograde, judge, report); never raises for a
    problem of the submission itself. ``prepared``: what the run's notebooks share, computed once;
    ``fingerprint`` is recorded in the report (what a later run compares to skip it). Unless
    ``last_try``, an Autograde that stops raises ``_AutogradeStopped`` instead of recording a failure."""
    started = time.monotonic()
    ensure_tools_on_path()
    report_path(course, aid, student).unlink(missing_ok=True)  # never a report of older grades than the gradebook's
    zero_grades(course, aid, student)
    hidden_reports = course.work / "reports" / aid / "hidden"
    for stale in hidden_reports.glob(f"{student}__*.hidden.json"):
        stale.unlink()
    staged = course.work / "staging" / student / aid
    shutil.rmtree(staged, ignore_errors=True)
    expected = _expected_notebooks(course, aid)
    notes = stage_submission(course.submitted / student / aid, staged, expected, course.assignments / aid,
                             course.solutions / aid)
    status, log = "graded", []
    if any((staged / n).exists() for n in expected):
        failed = _autograde(course, aid, student, options, log, prepared)
        if failed and not last_try:
            raise _AutogradeStopped(failed[0])
        if failed:
            status, notes = "failed", notes + failed
            zero_grades(course, aid, student)
    reports = [json.loads(p.read_text()) for p in sorted(hidden_reports.glob(f"{student}__*.hidden.json"))]
    notes += _hidden_notes(reports)
    raw, max_score, cells, penalty, seconds_late = _cell_scores(course, aid, student)
    notes += _late_note(penalty, seconds_late)
    score = max(0.0, raw - penalty)  # as nbgrader's own export computes it
    disagree = _disagreements(cells, reports)
    if disagree:  # the gradebook must hold exactly what the trusted step decided
        status = "failed"
        notes.append(f"The gradebook disagrees with the trusted verdict on {', '.join(disagree)}; re-grade.")
    result = SubmissionResult(student, aid, score, max_score, status, notes, cells,
                              round(time.monotonic() - started, 2), _hidden_flags(reports), raw, penalty, seconds_late,
                              fingerprint)
    _write_report(course, result, {"grader_log": log[-50:]})
    shutil.rmtree(staged, ignore_errors=True)
    return result


def _disagreements(cells: dict, reports: list[dict]) -> list[str]:
    """Hidden-test cells whose gradebook score is not exactly the trusted step's score."""
    return sorted(gid for report in reports for gid, score in report.get("scores", {}).items()
                  if gid in cells and cells[gid][0] != float(score))


def _capturing_logger(sink: list) -> logging.Logger:
    """A private logger keeping nbgrader's warnings and errors for the instructor's report."""
    logger = logging.getLogger(f"convlab-grade.submission.{id(sink)}")
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    handler = logging.Handler()
    handler.emit = lambda record: sink.append(f"{record.levelname}: {record.getMessage()}"[-3000:])
    logger.handlers = [handler]
    return logger


def _hidden_notes(reports: list[dict]) -> list[str]:
    notes = []
    for report in reports:
        if report.get("kernel_died"):
            notes.append(f"{report['notebook']}: {report['kernel_died']} (for example os._exit, a crash or "
                         "running out of memory); cells after that were not run and score 0.")
        if report.get("kernel_stopped"):
            notes.append(f"{report['notebook']}: {report['kernel_stopped']}; cells after that were not run and "
                         "score 0.")
        if report.get("notebook_timeout"):
            notes.append(f"{report['notebook']}: the notebook ran out of time; cells after that were not run.")
        for event in report.get("events", []):
            if "time limit" in event and "interrupted" in event:
                notes.append(f"{report['notebook']}: {event}.")
            elif "truncated" in event:
                notes.append(f"{report['notebook']}: {event}.")
        for dotted, hits in report.get("withheld_hits", {}).items():
            first = hits[0]
            notes.append(f"{report['notebook']}: your code uses the library's {dotted} ({first['what']} in "
                         f"{first['cell']}), which the exercise withholds: no credit for that exercise.")
    return notes


def _hidden_flags(reports: list[dict]) -> list[str]:
    """The static scan's findings (``scan_suspicious``) as ``"<notebook> <cell> line N: what"``."""
    flags = []
    for report in reports:
        for finding in report.get("suspicious", []):
            flag = f"{report['notebook']} {finding['cell']} line {finding['line']}: {finding['what']}"
            if flag not in flags:
                flags.append(flag)
    return flags


def _write_report(course: Course, result: SubmissionResult, extra: dict) -> None:
    """The report, written whole or not at all (a grader killed while writing leaves no half report)."""
    out = report_path(course, result.assignment, result.student)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, json.dumps({**asdict(result), **extra}, indent=1).encode())


def _worker_grade(course: Course, aid: str, student: str, options: GradeOptions, prepared=None,
                  fingerprint: str = "") -> SubmissionResult:
    """:func:`grade_submission` as a worker runs it: a busy gradebook is waited for, an Autograde that
    stopped (nbgrader turns a locked gradebook into its own exception) is tried once more, a grader
    error recorded."""
    from sqlalchemy.exc import OperationalError  # noqa: PLC0415 - the gradebook's own error type

    for attempt in range(3):
        try:
            return grade_submission(course, aid, student, options, prepared, fingerprint, last_try=attempt > 0)
        except _AutogradeStopped:
            time.sleep(1)
            continue
        except OperationalError:  # a busy database (SQLite's "database is locked"): wait, try again
            if attempt < 2:
                time.sleep(1 + attempt)
                continue
            return _failed(course, aid, student, "the gradebook stayed busy")
        except Exception as exc:  # noqa: BLE001 - a grader bug: isolate it, record it, go on
            return _failed(course, aid, student, f"{type(exc).__name__}: {exc}")
    raise AssertionError("unreachable")


def _failed(course: Course, aid: str, student: str, why: str) -> SubmissionResult:
    """Record a submission the grader itself could not grade (grades zeroed; the traceback goes to the report)."""
    zero_grades(course, aid, student)
    result = SubmissionResult(student, aid, 0.0, 0.0, "failed",
                              [f"The grader failed on this submission ({why[:300]}); its grade is 0 until it is "
                               "re-graded."], seconds=0.0)
    _write_report(course, result, {"traceback": traceback.format_exc()[-4000:]})
    return result


def _already_graded(course: Course, aid: str, students: list[str], grader: str) -> tuple[dict, dict]:
    """``({student: fingerprint} to grade, {student: report} graded before under the same fingerprint)``."""
    from autograder.resume import submission_fingerprint  # noqa: PLC0415

    todo, done = {}, {}
    for student in students:
        fingerprint = submission_fingerprint(course.submitted / student / aid, grader)
        try:
            report = read_report(course, aid, student)
        except (ValueError, TypeError):  # an unreadable report: grade again
            report = None
        if report is not None and report.status == "graded" and report.fingerprint == fingerprint:
            done[student] = replace(report, reused=True)
        else:
            todo[student] = fingerprint
    return todo, done


def grade_all(course: Course, aid: str, options: GradeOptions, students=None, progress=None,
              regrade: bool = False, dask: str | None = None) -> list[SubmissionResult]:
    """Grade ``students`` (default: everyone who submitted ``aid``) on ``options.workers`` processes.

    Each worker process grades many submissions (nbgrader's start-up costs seconds) under
    ``options.grader_memory``. A submission whose report says ``graded`` under the fingerprint it has
    now (same files, same grader: :mod:`autograder.resume`) is not graded again unless ``regrade``;
    its result comes back with ``reused`` set. Results are in the order of ``students``; ``progress``
    is called with each as it is known. With ``dask`` (a scheduler's address) the submissions are
    graded on that cluster's workers and written to the course here (:mod:`autograder.cluster`).
    Refuses (``SandboxUnavailable``) when the sandbox cannot start where it is needed, unless
    ``options.unsafe_no_sandbox``.
    """
    course.require_assignment(aid)
    if not options.unsafe_no_sandbox and not dask:
        problem = bwrap_problem()
        if problem:
            raise SandboxUnavailable(
                f"refusing to grade without the sandbox: {problem}. Student code would run with your "
                "permissions; pass --unsafe-no-sandbox only for code you trust.")
    if not course.has_gradebook():
        raise CourseError(f"no gradebook at {course.gradebook}: run `convlab-grade release {aid}` first")
    students = list(dict.fromkeys(students)) if students else submitted_students(course, aid)
    import nbgrader.converters  # noqa: F401, PLC0415 - import once in the parent, inherited by forked workers
    import nbgrader.preprocessors  # noqa: F401, PLC0415

    from autograder.checks import load_checks, withheld_names  # noqa: PLC0415
    from autograder.grading_build import grading_build  # noqa: PLC0415
    from autograder.late import due_date  # noqa: PLC0415
    from autograder.pool import run_pool  # noqa: PLC0415
    from autograder.resume import grader_digest  # noqa: PLC0415
    from autograder.seeds import assignment_seed  # noqa: PLC0415
    from autograder.trusted import shared_by_run  # noqa: PLC0415

    checks = load_checks(course.checks_file(aid)) if course.checks_file(aid).is_file() else []
    if options.seed is None:  # before the digest: a new kept seed grades everyone again
        options = replace(options, seed=assignment_seed(course.work / "seeds", aid))
    grading_build(aid, withheld_names(checks), course.work / "builds")  # made once, as PrepareHidden asks it
    todo, done = _already_graded(course, aid, students, grader_digest(course, aid, options, due_date(course, aid)))
    if regrade:
        todo, done = {**todo, **{s: r.fingerprint for s, r in done.items()}}, {}
    results = {}

    def record(result):
        results[result.student] = result
        if progress:
            progress(result)

    for result in done.values():
        record(result)
    if todo:
        run = options
        if dask:
            from autograder.cluster import grade_on_dask  # noqa: PLC0415

            grade_on_dask(course, aid, run, todo, dask, record)
            return [results[s] for s in students]
        prepared = shared_by_run(course.checks_file(aid))  # once per run, inherited by the workers

        def grade_one(course, aid, student, options, prepared):
            return _worker_grade(course, aid, student, options, prepared, todo[student])

        run_pool(course, aid, run, prepared, [s for s in students if s in todo], grade_one,
                 lambda student, why: _failed(course, aid, student, why), record)
    return [results[s] for s in students]
