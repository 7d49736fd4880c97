"""Grading processes on this machine that survive one of them dying.

:func:`run_pool` forks ``workers`` processes; each inherits from the parent what the run's notebooks
share, computed once (:func:`autograder.trusted.shared_by_run`), and grades one submission at a time, handed to it over its own pipe, so the parent always knows which submission
a process holds. A process that dies (killed, out of memory, a crash of the grader itself) has its
submission graded once more by a fresh process; dying a second time, the submission is recorded as
failed with the reason. Every process dies with the parent (``PR_SET_PDEATHSIG``): a grader killed
halfway leaves no process writing the gradebook behind it.
"""

from __future__ import annotations

import ctypes
import resource
import signal
from collections import deque
from multiprocessing import get_context
from multiprocessing.connection import wait
from pathlib import Path

__all__ = ["run_pool", "ATTEMPTS", "cap_memory", "serve", "exit_text"]

#: A submission is handed to a grading process at most this often.
ATTEMPTS = 2
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the process that forked it ends."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


def cap_memory(options) -> None:
    """Cap this grading process's address space at ``options.grader_memory`` (references, judging, nbgrader)."""
    resource.setrlimit(resource.RLIMIT_AS, (options.grader_memory, resource.getrlimit(resource.RLIMIT_AS)[1]))


def serve(conn, course_root: str, aid: str, options, prepared, grade_one) -> None:
    """A grading process's loop: ``grade_one`` of each submission received, sent back, until ``None``."""
    from autograder.course import Course  # noqa: PLC0415

    course = Course(Path(course_root))
    while (student := conn.recv()) is not None:
        conn.send(grade_one(course, aid, student, options, prepared))


def _worker(conn, course_root: str, aid: str, options, prepared, grade_one) -> None:
    """One grading process: one submission per message until ``None``."""
    _die_with_parent()
    cap_memory(options)
    serve(conn, course_root, aid, options, prepared, grade_one)


def exit_text(code) -> str:
    """How a process ended, for people: ``killed by SIGKILL`` or ``exit status 1``."""
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def run_pool(course, aid: str, options, prepared, students: list[str], grade_one, on_died, on_result) -> None:
    """Grade ``students`` on ``options.workers`` forked processes, all with the run's ``prepared``
    (:class:`autograder.trusted.RunShared`, inherited by the fork, never pickled).

    ``grade_one(course, aid, student, options, prepared)`` grades in a process and returns a picklable
    result, passed to ``on_result``. When a process dies holding a submission, that submission goes
    back to the queue once; the second time ``on_result(on_died(student, why))`` records it.
    """
    ctx = get_context("fork")
    pending = deque(students)
    attempts = dict.fromkeys(students, 0)
    busy: dict = {}   # connection -> [process, student]

    def hand_out(conn) -> None:
        if pending:
            student = pending.popleft()
            attempts[student] += 1
            busy[conn][1] = student
            conn.send(student)
        else:
            conn.send(None)
            busy.pop(conn)[0].join()

    def start_process() -> None:
        ours, theirs = ctx.Pipe()
        process = ctx.Process(target=_worker, args=(theirs, str(course.root), aid, options, prepared, grade_one),
                              name=f"convlab-grade-{aid}")
        process.start()
        theirs.close()
        busy[ours] = [process, None]
        hand_out(ours)

    for _ in range(max(1, min(options.workers, len(students)))):
        start_process()
    try:
        while busy:
            for conn in wait(list(busy)):
                process, student = busy[conn]
                try:
                    result = conn.recv()
                except (EOFError, OSError):  # the process died while grading ``student``
                    busy.pop(conn)
                    process.join()
                    conn.close()
                    why = f"the grading process died ({exit_text(process.exitcode)}) while grading it"
                    if attempts[student] < ATTEMPTS:
                        pending.appendleft(student)
                    else:
                        on_result(on_died(student, f"{why}, {ATTEMPTS} times"))
                    if pending:
                        start_process()
                    continue
                on_result(result)
                hand_out(conn)
    finally:
        for process, _ in busy.values():
            process.kill()
            process.join()
