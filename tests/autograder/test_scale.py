"""Grading a class: workers per core, the progress bar and summary, resuming after SIGKILL, dying workers.

The slow tests grade the fixture course (f1_toy) through the real sandboxed pipeline.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, LIMITS, SMALL_CLASS, new_fixture_course, small_class  # noqa: E402

from autograder import grading  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.grading import GradeOptions, SubmissionResult, default_workers, grade_all, read_report  # noqa: E402
from autograder.progress import GradingProgress  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

NB = f"{AID}.ipynb"
GRADER = Path(sys.executable).parent / "convlab-grade"
CLASS = SMALL_CLASS


def _cli(course: Course, *args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen([str(GRADER), "--course", str(course.root), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kwargs)


def _finish(proc: subprocess.Popen, timeout: float = 600) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode in (0, 2), err[-3000:]
    return out


# --- workers and the closing table ---------------------------------------------------------------
def test_default_workers_are_the_usable_cores(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 2, 5})
    assert default_workers() == 3
    assert GradeOptions().workers == 3
    assert GradeOptions(workers=1).workers == 1


def _result(student, status, score, notes=(), reused=False):
    return SubmissionResult(student, AID, score, 10.0, status, list(notes), reused=reused)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal_and_summary_counts_every_outcome():
    results = [_result("a", "graded", 10.0), _result("b", "failed", 0.0, ["The grader failed: X"]),
               _result("c", "graded", 7.0, reused=True), _result("d", "failed", 0.0, ["The grader failed: X"])]
    for stream, quiet, drawn in ((io.StringIO(), False, False), (_Terminal(), True, False), (_Terminal(), False, True)):
        shown = []
        with GradingProgress(len(results), 2, quiet=quiet, echo=shown.append, stream=stream) as bar:
            for r in results:
                bar.update(r)
        assert shown == results
        assert ("4/4" in stream.getvalue()) is drawn, (quiet, stream.getvalue())
    table = bar.summary()
    assert "graded now                 1" in table
    assert "already graded (kept)      1" in table
    assert "failed                     2" in table
    assert "  2 x The grader failed: X" in table
    assert "on 2 worker(s)" in table and "submissions/min" in table


# --- crash safety ----------------------------------------------------------------------------------
def _export(course: Course, out: Path) -> bytes:
    subprocess.run([str(GRADER), "--course", str(course.root), "export", str(out)], check=True,
                   capture_output=True)
    return out.read_bytes()


def _gradebook_rows(course: Course) -> list:
    with course.open_gradebook() as gb:
        return sorted((s.student.id, len(s.notebooks), [(g.name, g.score) for n in s.notebooks for g in n.grades])
                      for s in gb.assignment_submissions(AID))


@pytest.mark.slow
def test_sigkill_halfway_then_rerun_gives_the_uninterrupted_gradebook_and_csv(tmp_path):
    whole = small_class(tmp_path / "whole")
    out_whole = _finish(_cli(whole, "grade", AID, "--workers", "2"))
    assert "graded now                 6" in out_whole, out_whole

    killed = small_class(tmp_path / "killed")
    reports = killed.work / "reports" / AID
    proc = _cli(killed, "grade", AID, "--workers", "1")
    deadline = time.monotonic() + 300
    while len(list(reports.glob("*.json"))) < 2:
        assert proc.poll() is None, "the grader ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # the grader only: its workers must die with it
    proc.communicate()
    time.sleep(1)
    done_before = sorted(p.stem for p in reports.glob("*.json"))
    assert 2 <= len(done_before) < len(CLASS), done_before
    out_again = _finish(_cli(killed, "grade", AID, "--workers", "1"))
    kept = sorted(line.split()[0] for line in out_again.splitlines() if "already graded)" in line)
    assert kept == done_before, out_again
    assert f"graded now                 {len(CLASS) - len(done_before)}" in out_again, out_again

    assert _export(killed, tmp_path / "killed.csv") == _export(whole, tmp_path / "whole.csv")
    assert _gradebook_rows(killed) == _gradebook_rows(whole)
    for student, (_, total) in CLASS.items():
        assert read_report(killed, AID, student).score == total, student

    # a changed submission is graded again, an unchanged one is not
    (killed.submitted / "ana" / AID / NB).write_text("{ broken now")
    out_third = _finish(_cli(killed, "grade", AID, "--workers", "1"))
    assert "graded now                 1" in out_third, out_third
    assert read_report(killed, AID, "ana").score == 0.0


def _doomed_flaky_steady(tmp_path):
    """The fixture course with three right submissions, and a folder where each try of one is counted."""
    course = new_fixture_course(tmp_path / "course")
    solution = course.solutions / AID / NB
    for student in ("doomed", "flaky", "steady"):
        make_submission(solution, None, course.submitted / student / AID / NB)
    tries = tmp_path / "tries"
    tries.mkdir()
    return course, tries


def _fails_this_try(tries, student: str) -> bool:
    """Count one more try of ``student`` (an ``x`` per try): "doomed" fails every try, "flaky" its first."""
    log = tries / student
    log.write_text(log.read_text() + "x" if log.exists() else "x")
    return student == "doomed" or (student == "flaky" and log.read_text() == "x")


@pytest.mark.slow
def test_a_worker_dying_mid_notebook_is_retried_once_then_recorded_as_failed(tmp_path, monkeypatch):
    course, tries = _doomed_flaky_steady(tmp_path)
    real = grading.grade_submission

    def dies_in_the_middle(course, aid, student, *args, **kwargs):  # runs in the forked workers
        if _fails_this_try(tries, student):
            grading.zero_grades(course, aid, student)  # it got as far as the gradebook
            os.kill(os.getpid(), signal.SIGKILL)
        return real(course, aid, student, *args, **kwargs)

    monkeypatch.setattr(grading, "grade_submission", dies_in_the_middle)
    results = {r.student: r for r in grade_all(course, AID, GradeOptions(limits=LIMITS, workers=2))}
    assert {s: (r.status, r.score) for s, r in results.items()} == {
        "doomed": ("failed", 0.0), "flaky": ("graded", 10.0), "steady": ("graded", 10.0)}
    assert (tries / "doomed").read_text() == "xx", "retried exactly once"
    assert (tries / "flaky").read_text() == "xx"
    why = results["doomed"].notes[0]
    assert "the grading process died (killed by SIGKILL) while grading it, 2 times" in why, why
    assert read_report(course, AID, "doomed").status == "failed"


@pytest.mark.slow
def test_an_autograde_that_stops_is_tried_once_more_then_failed_with_its_reason(tmp_path, monkeypatch):
    """nbgrader turns a locked SQLite gradebook into its own NbGraderException: the submission is graded
    once more; stopping twice, it is recorded as failed with the reason nbgrader logged."""
    from nbgrader.converters import Autograde  # noqa: PLC0415
    from nbgrader.converters.base import NbGraderException  # noqa: PLC0415

    course, tries = _doomed_flaky_steady(tmp_path)
    real = Autograde.start

    def stops(self):  # runs in the forked workers
        if _fails_this_try(tries, self.coursedir.student_id):
            self.log.error("Traceback (most recent call last):\n  File \"x.py\", line 1\n"
                           "sqlite3.OperationalError: database is locked\n")
            raise NbGraderException("There was an error accessing the nbgrader database.")
        return real(self)

    monkeypatch.setattr(Autograde, "start", stops)
    results = {r.student: r for r in grade_all(course, AID, GradeOptions(limits=LIMITS, workers=2))}
    assert {s: (r.status, r.score) for s, r in results.items()} == {
        "doomed": ("failed", 0.0), "flaky": ("graded", 10.0), "steady": ("graded", 10.0)}
    assert [(tries / s).read_text() for s in ("doomed", "flaky", "steady")] == ["xx", "xx", "x"]
    assert "could not finish this submission (sqlite3.OperationalError: database is locked)" in \
        results["doomed"].notes[0], results["doomed"].notes
    assert results["flaky"].notes == [] and read_report(course, AID, "doomed").status == "failed"
