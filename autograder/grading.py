"""``grade AID``: every collected submission gets a grade and an explanation.

Per submission (:func:`grade_submission`):

1. its old grades are zeroed first, so a failure can never leave stale grades;
2. the folder is inspected: missing, renamed, malformed or old-format notebooks are repaired where
   possible (a renamed notebook is graded under its expected name, nbformat 3 is converted) or
   scored 0 with the reason;
3. nbgrader's ``Autograde`` runs in-process with the sandboxed execution and the trusted hidden
   checks (:func:`grading_config`);
4. the recorded grade and the reasons are written to ``work/reports/<aid>/<student>.json``.

:func:`grade_all` grades many submissions on a small pool of forked worker processes that each
grade several submissions (nbgrader's start-up costs seconds; a fresh process per student would
dominate the run). One submission's failure never stops the others.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import nbformat

from autograder.cells import grade_id
from autograder.course import Course, CourseError, ensure_tools_on_path
from autograder.sandbox import Limits, SandboxUnavailable, bwrap_problem

__all__ = [
    "points", "SubmissionResult", "GradeOptions", "grading_config", "grade_submission", "grade_all",
           "submitted_students", "report_path", "read_report", "zero_grades", "reset_cell_metadata",
           "restore_missing_cells", "inspect_submission"]


@dataclass(frozen=True)
class GradeOptions:
    """How to grade: sandbox or not, limits, a fixed seed (tests only)."""

    unsafe_no_sandbox: bool = False
    limits: Limits = field(default_factory=Limits)
    seed: int | None = None
    workers: int = 2


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
    """Students with a folder ``work/submitted/<student>/<aid>/``, sorted."""
    if not course.submitted.is_dir():
        return []
    return sorted(p.name for p in course.submitted.iterdir() if (p / aid).is_dir())


def grading_config(course: Course, aid: str, options: GradeOptions):
    """nbgrader config for autograding ``aid`` with the sandbox and the trusted checks."""
    limits = options.limits
    overrides = {
        "Autograde": {
            "autograde_preprocessors": [
                "autograder.trusted.PrepareHidden",
                "autograder.execution.SandboxExecute",
                "nbgrader.preprocessors.IgnorePattern",
                "autograder.trusted.JudgeHidden",
                "nbgrader.preprocessors.LimitOutput",
                "nbgrader.preprocessors.SaveAutoGrades",
                "nbgrader.preprocessors.AssignLatePenalties",
                "nbgrader.preprocessors.CheckCellMetadata",
            ],
            "create_student": True,
        },
        "PrepareHidden": {"solutions_dir": str(course.solutions), "seed": options.seed},
        "JudgeHidden": {"reports_dir": str(course.work / "reports" / aid / "hidden")},
        "Execute": {"timeout": limits.cell_timeout, "interrupt_on_timeout": True},
        "SandboxExecute": {"unsafe_no_sandbox": options.unsafe_no_sandbox, "limits": limits.as_dict(),
                           "hide_paths": [str(course.root), str(course.work)]},
        "OverwriteCells": {"add_missing_cells": True},
        "IgnorePattern": {"enabled": True},
    }
    return course.config(overrides)


def _gradebook(course: Course):
    from nbgrader.api import Gradebook  # noqa: PLC0415 - heavy

    return Gradebook(course.db_url, "convlab")


def zero_grades(course: Course, aid: str, student: str) -> None:
    """Create the submission if needed and set every auto score of it to 0 (no stale grades)."""
    with _gradebook(course) as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(aid, student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                grade.auto_score = 0
                grade.manual_score = None
                grade.needs_manual_grade = False
        gb.db.commit()


def _cell_scores(course: Course, aid: str, student: str) -> tuple[float, float, dict]:
    with _gradebook(course) as gb:
        submission = gb.find_submission(aid, student)
        cells = {}
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                cells[grade.name] = [float(grade.score or 0.0), float(grade.max_score)]
        return float(submission.score), float(submission.max_score), cells


def _expected_notebooks(course: Course, aid: str) -> list[str]:
    return sorted(p.name for p in (course.solutions / aid).glob("*.ipynb"))


def inspect_submission(folder: Path, expected: list[str]) -> list[str]:
    """Repair what can be repaired in a submitted folder; return plain-words notes.

    Unusable notebooks are moved into ``<folder>/.rejected/`` so nbgrader scores them as missing.
    """
    notes = []
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    strays = [n for n in present if n not in expected]
    for name in expected:
        path = folder / name
        if not path.exists() and len(strays) == 1 and len(expected) == 1:
            stray = strays.pop()
            shutil.move(folder / stray, path)
            notes.append(f"Your notebook was named {stray}; it was graded as {name}.")
        if not path.exists():
            notes.append(f"{name} was not submitted: its questions score 0.")
            continue
        reason = _notebook_problem(path)
        if reason is None:
            continue
        if reason.startswith("converted"):
            notes.append(f"{name}: {reason}.")
            continue
        rejected = folder / ".rejected"
        rejected.mkdir(exist_ok=True)
        shutil.move(path, rejected / name)
        notes.append(f"{name} could not be read ({reason}): its questions score 0.")
    return notes


def restore_missing_cells(path: Path, release_path: Path) -> list[str]:
    """Put back every nbgrader cell of the release that the student deleted, in its place.

    nbgrader's own ``add_missing_cells`` fails (KeyError) when the cell before a deleted grade cell
    is not itself a grade cell; restoring them here first sidesteps that. OverwriteCells then resets
    their source (hidden tests included) from the gradebook.
    """
    if not release_path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    release_nb = nbformat.read(release_path, as_version=4)
    present = {grade_id(c) for c in nb.cells}
    restored = []
    for index, cell in enumerate(release_nb.cells):
        name = grade_id(cell)
        if not name or name in present:
            continue
        previous = [grade_id(c) for c in release_nb.cells[:index] if grade_id(c) in present]
        at = 0
        if previous:
            at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == previous[-1]) + 1
        nb.cells.insert(at, cell)
        present.add(name)
        restored.append(name)
    if restored:
        nbformat.write(nb, path)
        return [f"Cells you deleted were put back before grading: {', '.join(restored)}."]
    return []


_GRADING_KEYS = ("grade", "solution", "locked", "points", "task")


def reset_cell_metadata(path: Path, release_path: Path) -> list[str]:
    """Give every nbgrader cell back the release's metadata; strip nbgrader metadata nobody released.

    A student may raise a cell's points, turn an answer cell into a grade cell, copy a graded cell,
    or add a grade cell of their own. nbgrader either trusts some of that or stops with an error
    (a grade cell it does not know). Resetting first makes every such submission grade normally.
    """
    if not release_path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    released = {}
    for cell in nbformat.read(release_path, as_version=4).cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and meta.get("grade_id"):
            released[meta["grade_id"]] = dict(meta)
    changed, seen = [], set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id")
        if gid in released and gid not in seen:
            seen.add(gid)
            if any(meta.get(k) != released[gid].get(k) for k in _GRADING_KEYS):
                changed.append(gid)
            cell.metadata["nbgrader"] = dict(released[gid])
        else:  # unknown, missing or duplicated grade_id: a plain cell from now on
            del cell.metadata["nbgrader"]
            changed.append(gid if gid else f"cell {index}")
    nbformat.write(nb, path)
    if not changed:
        return []
    return ["Grading metadata that differed from the assignment was reset before grading "
            f"(cells: {', '.join(str(c) for c in changed)})."]


def _notebook_problem(path: Path) -> str | None:
    """``None`` if fine; ``"converted ..."`` if repaired in place; otherwise why it is unusable."""
    try:
        raw = path.read_bytes()
        if len(raw) > 50 * 2**20:
            return "larger than 50 MB"
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "it is not a notebook file (not valid JSON)"
    if not isinstance(doc, dict) or "cells" not in doc and "worksheets" not in doc:
        return "it is not a Jupyter notebook"
    major = doc.get("nbformat")
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - nbformat raises many kinds
        return f"the notebook format is invalid ({type(exc).__name__})"
    if major != 4:
        nbformat.write(nb, path)
        return f"converted from nbformat {major} to 4"
    return None


def grade_submission(course: Course, aid: str, student: str, options: GradeOptions) -> SubmissionResult:
    """Grade one submission; never raises for a problem of the submission itself."""
    from nbgrader.converters import Autograde  # noqa: PLC0415 - heavy
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    started = time.monotonic()
    ensure_tools_on_path()
    zero_grades(course, aid, student)
    for stale in (course.work / "reports" / aid / "hidden").glob(f"{student}__*.hidden.json"):
        stale.unlink()
    folder = course.submitted / student / aid
    staged = course.work / "staging" / student / aid
    shutil.rmtree(staged, ignore_errors=True)
    shutil.copytree(folder, staged, symlinks=True, ignore=shutil.ignore_patterns(".rejected"))
    for link in [p for p in staged.rglob("*") if p.is_symlink()]:
        link.unlink()  # never let a submitted symlink point the grader at other files
    expected = _expected_notebooks(course, aid)
    notes = inspect_submission(staged, expected)
    for name in expected:
        if (staged / name).exists():
            notes += reset_cell_metadata(staged / name, course.assignments / aid / name)
            notes += restore_missing_cells(staged / name, course.assignments / aid / name)
    status = "graded"
    grader_log: list[str] = []
    if any((staged / n).exists() for n in expected):
        cfg = grading_config(course, aid, options)
        cfg.CourseDirectory.submitted_directory = str((course.work / "staging").relative_to(course.root))
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = aid
        coursedir.student_id = student
        converter = Autograde(coursedir=coursedir, config=cfg)
        converter.force = True
        converter.log = _capturing_logger(grader_log)
        try:
            converter.start()
        except BaseException as exc:  # noqa: BLE001 - NbGraderException, or worse: isolate it
            if isinstance(exc, KeyboardInterrupt):
                raise
            status = "failed"
            notes.append("The grader could not finish this submission "
                         f"({type(exc).__name__}); its grade is 0 until it is re-graded.")
            zero_grades(course, aid, student)
    notes += _hidden_notes(course, aid, student)
    score, max_score, cells = _cell_scores(course, aid, student)
    result = SubmissionResult(student, aid, score, max_score, status, notes, cells,
                              round(time.monotonic() - started, 2), _hidden_flags(course, aid, student))
    out = report_path(course, aid, student)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**asdict(result), "grader_log": grader_log[-50:]}, indent=1))
    shutil.rmtree(staged, ignore_errors=True)
    return result


def _capturing_logger(sink: list) -> logging.Logger:
    """A private logger keeping nbgrader's warnings and errors for the instructor's report."""
    logger = logging.getLogger(f"convlab-grade.submission.{id(sink)}")
    logger.propagate = False
    logger.setLevel(logging.WARNING)
    handler = logging.Handler()
    handler.emit = lambda record: sink.append(f"{record.levelname}: {record.getMessage()}"[-3000:])
    logger.handlers = [handler]
    return logger


def _hidden_notes(course: Course, aid: str, student: str) -> list[str]:
    notes = []
    for path in sorted((course.work / "reports" / aid / "hidden").glob(f"{student}__*.hidden.json")):
        report = json.loads(path.read_text())
        if report.get("kernel_died"):
            notes.append(f"{report['notebook']}: {report['kernel_died']} (for example os._exit, a crash or "
                         "running out of memory); cells after that were not run and score 0.")
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


def _hidden_flags(course: Course, aid: str, student: str) -> list[str]:
    """The static scan's findings (``scan_suspicious``) as ``"<notebook> <cell> line N: what"``."""
    flags = []
    for path in sorted((course.work / "reports" / aid / "hidden").glob(f"{student}__*.hidden.json")):
        report = json.loads(path.read_text())
        for finding in report.get("suspicious", []):
            flag = f"{report['notebook']} {finding['cell']} line {finding['line']}: {finding['what']}"
            if flag not in flags:
                flags.append(flag)
    return flags


def _worker_grade(args):
    course_root, aid, student, options = args
    course = Course(Path(course_root))
    for attempt in range(3):
        try:
            return grade_submission(course, aid, student, options)
        except Exception as exc:  # noqa: BLE001 - database contention, or a grader bug: isolate
            if "database is locked" in str(exc) and attempt < 2:
                time.sleep(1 + attempt)
                continue
            result = SubmissionResult(student, aid, 0.0, 0.0, "failed",
                                      [f"The grader failed on this submission ({type(exc).__name__}: {exc}); "
                                       "its grade is 0 until it is re-graded."],
                                      seconds=0.0)
            out = report_path(course, aid, student)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({**asdict(result), "traceback": traceback.format_exc()[-4000:]}, indent=1))
            return result
    raise AssertionError("unreachable")


def grade_all(course: Course, aid: str, options: GradeOptions, students=None, progress=None) -> list[SubmissionResult]:
    """Grade ``students`` (default: everyone who submitted ``aid``) on ``options.workers`` processes.

    Refuses (``SandboxUnavailable``) when bwrap cannot run, unless ``options.unsafe_no_sandbox``.
    """
    course.require_assignment(aid)
    if not options.unsafe_no_sandbox:
        problem = bwrap_problem()
        if problem:
            raise SandboxUnavailable(
                f"refusing to grade without the sandbox: {problem}. Student code would run with your "
                "permissions; pass --unsafe-no-sandbox only for code you trust.")
    if not course.gradebook.exists():
        raise CourseError(f"no gradebook at {course.gradebook}: run `convlab-grade release {aid}` first")
    students = list(students) if students else submitted_students(course, aid)
    import nbgrader.converters  # noqa: F401, PLC0415 - import once in the parent, inherited by forked workers
    import nbgrader.preprocessors  # noqa: F401, PLC0415

    jobs = [(str(course.root), aid, s, options) for s in students]
    results = []
    if options.workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            results.append(_worker_grade(job))
            if progress:
                progress(results[-1])
        return results
    with ProcessPoolExecutor(max_workers=options.workers, mp_context=get_context("fork")) as pool:
        for result in pool.map(_worker_grade, jobs):
            results.append(result)
            if progress:
                progress(result)
    return results
