"""``grade AID --dask ADDRESS``: the same grading on the workers of an existing Dask cluster.

Every Dask worker needs bubblewrap and the course's environment (this package, nbgrader, the
library); it needs no shared folder and never opens the course's gradebook. :func:`grade_on_dask`:

1. ships the assignment's files (``solutions/<aid>/``, ``assignments/<aid>/``, ``nbgrader_config.py``)
   to one :class:`WorkerGrader` actor per Dask worker, which makes a private copy of the course with
   its own SQLite gradebook (released there: the same release, byte for byte), sets the due date and
   computes the run's hidden cases once;
2. sends each submission's regular files (read without following links, sizes capped) to an actor,
   which grades it with :func:`autograder.grading.grade_submission` in its private course and returns
   the result, the grades and comments nbgrader recorded, and the files written (the autograded
   notebook, the trusted hidden report);
3. writes, here and only here, the grades into the course's gradebook (SQLite or a database server),
   the files and the report: one writer. The report is written after the gradebook, and only if the
   gradebook then holds exactly the worker's cell scores; otherwise the submission is ``failed``.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

from autograder.course import Course
from autograder.hostfs import UnsafeFile, read_regular, write_atomic

__all__ = ["WorkerGrader", "grade_on_dask", "assignment_files"]

_MAX_FILE = 50 * 2**20     # as autograder.submission reads a notebook


def _files_under(folder: Path, base: Path) -> dict[str, bytes]:
    """``{path relative to base: bytes}`` of the regular files under ``folder`` (links not followed)."""
    out = {}
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and not path.is_symlink() and "__pycache__" not in path.parts:
            out[str(path.relative_to(base))] = path.read_bytes()
    return out


def assignment_files(course: Course, aid: str) -> dict[str, bytes]:
    """What a worker needs to grade ``aid``: the solution and release folders and ``nbgrader_config.py``."""
    files = {**_files_under(course.solutions / aid, course.root), **_files_under(course.assignments / aid, course.root)}
    files["nbgrader_config.py"] = (course.root / "nbgrader_config.py").read_bytes()
    return files


def _submission_files(course: Course, aid: str, student: str) -> dict[str, bytes]:
    """The regular files directly in the student's folder; a link, FIFO or oversized file is left out
    (the worker then grades the folder without it, as staging would)."""
    folder = course.submitted / student / aid
    files = {}
    for path in sorted(folder.iterdir()):
        try:
            files[path.name] = read_regular(path, _MAX_FILE)
        except UnsafeFile:
            continue
    return files


def _recorded(course: Course, aid: str, student: str) -> dict:
    """What nbgrader recorded for the submission: timestamp, and per notebook its grades, comments, penalty."""
    with course.open_gradebook() as gb:
        submission = gb.find_submission(aid, student)
        return {"timestamp": submission.timestamp, "notebooks": {
            nb.name: {"grades": {g.name: (g.auto_score, g.needs_manual_grade) for g in nb.grades},
                      "comments": {c.name: c.auto_comment for c in nb.comments},
                      "late_penalty": nb.late_submission_penalty} for nb in submission.notebooks}}


class WorkerGrader:
    """A Dask actor: a private copy of the course on one worker, grading one submission at a time."""

    def __init__(self, files: dict, aid: str, options, due):
        from autograder.late import set_due_date  # noqa: PLC0415
        from autograder.release import release  # noqa: PLC0415
        from autograder.trusted import hidden_cases  # noqa: PLC0415

        from autograder.sandbox import SandboxUnavailable, bwrap_problem  # noqa: PLC0415

        problem = None if options.unsafe_no_sandbox else bwrap_problem()
        if problem:
            raise SandboxUnavailable(f"refusing to grade on this Dask worker without the sandbox: {problem}")
        self.root = Path(tempfile.mkdtemp(prefix=f"convlab-dask-{aid}-"))
        for name, data in files.items():
            (self.root / name).parent.mkdir(parents=True, exist_ok=True)
            (self.root / name).write_bytes(data)
        with open(self.root / "nbgrader_config.py", "a") as fh:  # this copy's own gradebook, never the course's
            fh.write(f"\nc.CourseDirectory.db_url = {'sqlite:///' + str(self.root / 'work' / 'gradebook.db')!r}\n")
        self.course, self.aid, self.options = Course(self.root), aid, options
        shutil.rmtree(self.course.assignments / aid)
        release(self.course, [aid])
        if due is not None:
            set_due_date(self.course, aid, due.strftime("%Y-%m-%d %H:%M:%S UTC"))
        self.prepared = hidden_cases(self.course.checks_file(aid), options.seed)

    def grade(self, student: str, files: dict, fingerprint: str) -> dict:
        from autograder.grading import _worker_grade  # noqa: PLC0415

        folder = self.course.submitted / student / self.aid
        work = self.course.work
        for done in (folder, work / "autograded", work / "reports"):  # only this submission's files go back
            shutil.rmtree(done, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        result = _worker_grade(self.course, self.aid, student, self.options, self.prepared, fingerprint)
        written = {**_files_under(work / "autograded" / student / self.aid, work),
                   **_files_under(work / "reports" / self.aid / "hidden", work)}
        recorded = _recorded(self.course, self.aid, student) if result.status == "graded" else None
        return {"result": result, "recorded": recorded, "written": written}

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _write_grades(course: Course, aid: str, student: str, recorded: dict) -> None:
    """The one writer: the grades and comments a worker's nbgrader recorded, into the course's gradebook."""
    with course.open_gradebook() as gb:
        gb.update_or_create_student(student)
        submission = gb.update_or_create_submission(aid, student, timestamp=recorded["timestamp"])
        for notebook in submission.notebooks:
            got = recorded["notebooks"].get(notebook.name, {"grades": {}, "comments": {}, "late_penalty": None})
            for grade in notebook.grades:
                grade.auto_score, grade.needs_manual_grade = got["grades"].get(grade.name, (0, False))
                grade.manual_score = None
            for comment in notebook.comments:
                comment.auto_comment = got["comments"].get(comment.name)
            notebook.late_submission_penalty = got["late_penalty"]
        gb.db.commit()


def _accept(course: Course, aid: str, payload: dict):
    """Record one worker's payload in the course (gradebook first, the report last); the result."""
    from autograder.grading import _cell_scores, _failed, _write_report, report_path, zero_grades  # noqa: PLC0415

    result = payload["result"]
    student = result.student
    report_path(course, aid, student).unlink(missing_ok=True)
    zero_grades(course, aid, student)
    shutil.rmtree(course.autograded / student / aid, ignore_errors=True)
    for name, data in payload["written"].items():
        (course.work / name).parent.mkdir(parents=True, exist_ok=True)
        write_atomic(course.work / name, data)
    if payload["recorded"] is None:
        _write_report(course, result, {})
        return result
    _write_grades(course, aid, student, payload["recorded"])
    if _cell_scores(course, aid, student)[2] != result.cells:
        return _failed(course, aid, student, "the gradebook did not take the worker's grades")
    _write_report(course, result, {})
    return result


def grade_on_dask(course: Course, aid: str, options, todo: dict, address: str, on_result) -> None:
    """Grade ``todo`` (``{student: fingerprint}``) on the Dask cluster at ``address`` (``options.seed``
    set: one seed for the run); ``on_result`` gets each result once it is in the course."""
    from distributed import Client  # noqa: PLC0415 - optional: only for --dask

    from autograder.grading import _failed  # noqa: PLC0415
    from autograder.late import due_date  # noqa: PLC0415

    files = assignment_files(course, aid)
    with Client(address) as client:
        workers = sorted(client.scheduler_info()["workers"])
        if not workers:
            raise RuntimeError(f"the Dask cluster at {address} has no workers")
        due = due_date(course, aid)
        actors = [client.submit(WorkerGrader, files, aid, options, due, actor=True, workers=[w]).result()
                  for w in workers[:max(1, len(todo))]]
        queue, idle, running = list(todo), list(actors), {}   # running: student -> (actor, future)
        try:
            while queue or running:
                while idle and queue:
                    student = queue.pop(0)
                    actor = idle.pop()
                    running[student] = (actor, actor.grade(student, _submission_files(course, aid, student),
                                                           todo[student]))
                finished = [s for s, (_, future) in running.items() if future.done()]
                if not finished:
                    time.sleep(0.05)
                for student in finished:
                    actor, future = running.pop(student)
                    idle.append(actor)
                    try:
                        result = _accept(course, aid, future.result())
                    except Exception as exc:  # noqa: BLE001 - a lost worker or actor: record why, go on
                        result = _failed(course, aid, student, f"the Dask worker failed: {type(exc).__name__}: {exc}")
                    on_result(result)
        finally:
            for actor in actors:
                try:
                    actor.close().result()
                except Exception:  # noqa: BLE001, S110 - a worker already gone took its folder with it
                    pass
