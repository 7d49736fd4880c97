"""Fixture of the autograder tests: the adversarial class graded ONCE per test run.

``graded`` grades the whole adversarial class through the real sandboxed pipeline a single time per
test run, even under ``pytest -n 2``: the first xdist worker that needs it grades into a folder
shared by the run while holding a file lock; every other worker waits for the lock and reads the
recorded reports. (xdist's ``--dist loadgroup`` cannot be relied on for this: under pytest 9 its
group suffix is not applied, and a module fixture ran once per worker.) Tests treat the shared
course as read-only; a test that changes it works on a copy (``ag_support.copy_course``).
"""

from __future__ import annotations

import fcntl
import os
import sys
import traceback
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, FOLDER_CASES, STUDENTS, build_and_grade  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.grading import read_report  # noqa: E402
from autograder.sandbox import bwrap_problem  # noqa: E402


def _shared_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def graded(tmp_path_factory):
    """``(course, {student: SubmissionResult})`` of the adversarial class, graded once per run."""
    if bwrap_problem():
        pytest.fail(f"the sandbox cannot run here: {bwrap_problem()}")
    shared = _shared_dir(tmp_path_factory)
    root = shared / "adversarial-course"
    done, failed = shared / "adversarial-course.done", shared / "adversarial-course.error"
    with open(shared / "adversarial-course.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not done.exists() and not failed.exists():
                try:
                    build_and_grade(root)
                    done.write_text("ok")
                except Exception:
                    failed.write_text(traceback.format_exc())
                    raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if failed.exists():
        pytest.fail("grading the adversarial class failed (in another worker):\n" + failed.read_text())
    course = Course(root)
    students = set(STUDENTS) | set(FOLDER_CASES)
    results = {s: read_report(course, AID, s) for s in students}
    missing = sorted(s for s, r in results.items() if r is None)
    assert not missing, f"no report for {missing}"
    return course, results
