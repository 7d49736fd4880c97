"""``grade AID --dask ADDRESS``: the same grading on the workers of an existing Dask cluster.

Every Dask worker needs bubblewrap and the course's environment (this package, nbgrader, the
library); it needs no shared folder and never opens the course's gradebook. :func:`grade_on_dask`:

1. ships the assignment's files (``solutions/<aid>/``, ``assignments/<aid>/``, ``nbgrader_config.py``)
   to one :class:`WorkerGrader` actor per Dask worker, which makes a private copy of the course with
   its own SQLite gradebook (released there: the same release, byte for byte) and sets the due date;
2. sends each submission's regular files (read without following links, sizes capped) to an actor,
   which hands it to its *grading process* (a child of the Dask worker, started once, under
   ``options.grader_memory`` as a local worker is, holding what the run's notebooks share, computed once); it
   grades with :func:`autograder.grading.grade_submission` in the private course, and the actor returns
   the result, the grades and comments nbgrader recorded, and the files written (the autograded
   notebook, the trusted hidden report);
3. writes, here and only here, the grades into the course's gradebook (SQLite or a database server),
   the files and the report: one writer. The report is written after the gradebook, and only if the
   gradebook then holds exactly the worker's cell scores; otherwise the submission is ``failed``.

A submission whose grading process dies, or whose Dask worker is lost, is graded once more (by another
actor when its worker is gone; a worker the cluster restarts gets a new actor); lost a second time, it
is recorded as ``failed`` with the reason, as :mod:`autograder.pool` does on one machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from multiprocessing.connection import Connection
from pathlib import Path

from autograder.course import Course
from autograder.hostfs import UnsafeFile, read_regular, write_atomic
from autograder.pool import ATTEMPTS, cap_memory, exit_text, serve

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


def _exit_when_orphaned(parent: int) -> None:
    """End this process once ``parent`` is gone (a lost Dask worker leaves no grader behind). Not
    ``PR_SET_PDEATHSIG``: that follows the thread that started the process, and Dask runs the actor
    in a pool thread."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _grade_one(course, aid, job, options, prepared):
    from autograder.grading import _worker_grade  # noqa: PLC0415

    student, fingerprint = job
    return _worker_grade(course, aid, student, options, prepared, fingerprint)


def grading_process_main() -> None:
    """A Dask worker's grading process (``sys.argv[1]``: the descriptor of its socket to the actor):
    capped as a local worker, what the run's notebooks share once, then one submission per message."""
    from autograder.trusted import shared_by_run  # noqa: PLC0415

    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    conn = Connection(int(sys.argv[1]))
    root, aid, options = conn.recv()
    cap_memory(options)
    prepared = shared_by_run(Course(Path(root)).checks_file(aid))
    conn.send("ready")
    serve(conn, root, aid, options, prepared, _grade_one)


class WorkerGrader:
    """A Dask actor: a private copy of the course on one worker, grading one submission at a time in
    its grading process."""

    def __init__(self, files: dict, aid: str, options, due):
        from autograder.late import set_due_date  # noqa: PLC0415
        from autograder.release import release  # noqa: PLC0415

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
        self._process = self._conn = None

    def _start(self) -> None:
        """The grading process: a new interpreter (Dask's worker processes are daemonic, so
        ``multiprocessing`` may not start children there; a fork of a threaded worker could inherit
        held locks), talking over a socket pair."""
        ours, theirs = socket.socketpair()
        self._process = subprocess.Popen(
            [sys.executable, "-P", "-c", "from autograder.cluster import grading_process_main; grading_process_main()",
             str(theirs.fileno())], pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        theirs.close()
        self._conn = Connection(ours.detach())
        self._conn.send((str(self.root), self.aid, self.options))
        self._conn.recv()  # "ready": capped, hidden cases computed (EOFError if it died first)

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            self._conn.close()
            self._process = self._conn = None

    def memory_cap(self) -> int:
        """The address-space limit of the grading process (what a test checks)."""
        if self._process is None:
            self._start()
        with open(f"/proc/{self._process.pid}/limits") as fh:
            line = next(line for line in fh if line.startswith("Max address space"))
        return int(line.split()[3]) if line.split()[3].isdigit() else -1

    def grade(self, student: str, files: dict, fingerprint: str) -> dict:
        """Grade one submission in the grading process: ``{"result", "recorded", "written"}``, or
        ``{"died": why}`` when the process died holding it (a fresh one grades the next)."""
        folder = self.course.submitted / student / self.aid
        work = self.course.work
        for done in (folder, work / "autograded", work / "reports"):  # only this submission's files go back
            shutil.rmtree(done, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        try:
            if self._process is None:
                self._start()
            self._conn.send((student, fingerprint))
            result = self._conn.recv()
        except (EOFError, OSError):
            ended = exit_text(self._process.wait()) if self._process is not None else "it did not start"
            why = f"the grading process died ({ended}) while grading it"
            self._stop()
            return {"died": why}
        written = {**_files_under(work / "autograded" / student / self.aid, work),
                   **_files_under(work / "reports" / self.aid / "hidden", work)}
        recorded = _recorded(self.course, self.aid, student) if result.status == "graded" else None
        return {"result": result, "recorded": recorded, "written": written}

    def close(self) -> None:
        self._stop()
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


_REPLACE_WAIT = 120.0   # seconds to wait for the cluster to replace lost workers before giving up


def grade_on_dask(course: Course, aid: str, options, todo: dict, address: str, on_result) -> None:
    """Grade ``todo`` (``{student: fingerprint}``) on the Dask cluster at ``address`` (``options.seed``
    set: one seed for the run); ``on_result`` gets each result once it is in the course."""
    from distributed import Client  # noqa: PLC0415 - optional: only for --dask

    from autograder.grading import _failed  # noqa: PLC0415
    from autograder.late import due_date  # noqa: PLC0415

    files, due = assignment_files(course, aid), due_date(course, aid)
    wanted = max(1, len(todo))
    with Client(address) as client:
        def live_workers() -> list[str]:
            return sorted(client.scheduler_info()["workers"])

        def start_actor(worker: str):
            return client.submit(WorkerGrader, files, aid, options, due, actor=True, workers=[worker], pure=False)

        if not live_workers():
            raise RuntimeError(f"the Dask cluster at {address} has no workers")
        actors = {w: start_actor(w).result() for w in live_workers()[:wanted]}   # worker -> actor
        starting: dict = {}                                       # worker -> future of its new actor
        queue, attempts = deque(todo), dict.fromkeys(todo, 0)
        idle, running = list(actors), {}                          # running: student -> (worker, future)
        lost_since = None                                         # when the last actor was lost
        next_look = 0.0                                           # when to look for workers without an actor

        def retire(worker: str) -> None:
            """An actor whose call failed: dropped (its worker gets a new one if the cluster still has it)."""
            actor = actors.pop(worker)
            try:
                actor.close()   # fire and forget: on a lost worker there is nothing to close
            except Exception:  # noqa: BLE001, S110
                pass

        def give_back(student: str, why: str) -> None:
            if attempts[student] < ATTEMPTS:
                queue.appendleft(student)
            else:
                on_result(_failed(course, aid, student, f"{why}, {ATTEMPTS} times"))

        try:
            while queue or running:
                while idle and queue:
                    student, worker = queue.popleft(), idle.pop()
                    attempts[student] += 1
                    running[student] = (worker, actors[worker].grade(
                        student, _submission_files(course, aid, student), todo[student]))
                finished = [s for s, (_, future) in running.items() if future.done()]
                for student in finished:
                    worker, future = running.pop(student)
                    try:
                        payload = future.result()
                    except Exception as exc:  # noqa: BLE001 - the worker or its actor is gone: never use it again
                        retire(worker)
                        give_back(student, f"the Dask worker was lost or failed while grading it "
                                           f"({type(exc).__name__}: {str(exc)[:200]})")
                        continue
                    idle.append(worker)
                    if "died" in payload:
                        give_back(student, payload["died"])
                        continue
                    try:
                        result = _accept(course, aid, payload)
                    except Exception as exc:  # noqa: BLE001 - record why, go on
                        result = _failed(course, aid, student, f"the Dask worker failed: {type(exc).__name__}: {exc}")
                    on_result(result)
                if queue and time.monotonic() >= next_look:   # lost workers: actors on those the cluster has now
                    next_look = time.monotonic() + 1.0
                    live = live_workers()
                    for worker in [w for w in starting if w not in live]:  # gone before its actor started
                        starting.pop(worker).cancel()
                    for worker in live:
                        if worker not in actors and worker not in starting and len(actors) + len(starting) < wanted:
                            starting[worker] = start_actor(worker)
                for worker in [w for w, f in starting.items() if f.done()]:
                    try:
                        actors[worker] = starting.pop(worker).result()
                        idle.append(worker)
                    except Exception:  # noqa: BLE001, S112 - lost before it started: the next look retries
                        continue
                if actors or starting or not queue:
                    lost_since = None
                elif lost_since is None:
                    lost_since = time.monotonic()
                elif time.monotonic() - lost_since > _REPLACE_WAIT:
                    while queue:
                        on_result(_failed(course, aid, queue.popleft(), "every Dask worker was lost, and none "
                                          f"came back within {_REPLACE_WAIT:.0f} s"))
                if not finished:
                    time.sleep(0.05)
        finally:
            for actor in actors.values():
                try:
                    actor.close().result()
                except Exception:  # noqa: BLE001, S110 - a worker already gone took its folder with it
                    pass
