"""Fixtures of the notebook tests: throw-away course folders with an assignment released."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .notebook_support import ROOT, SOLUTIONS


def make_course(root: Path, aid: str) -> Path:
    """A course folder at ``root`` holding a copy of the config and of ``solutions/<aid>/``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(SOLUTIONS / aid, root / "solutions" / aid,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return root


@pytest.fixture(scope="session")
def released_course(tmp_path_factory):
    """``released_course(aid)``: a fresh course holding ``aid`` and its release, made by the
    project's release code (what ``convlab-grade release`` runs); one course per assignment, so a
    broken assignment cannot break the tests of another. Built once per session and assignment."""
    from autograder.course import Course  # noqa: PLC0415 - only the slow tests need nbgrader
    from autograder.release import release  # noqa: PLC0415

    courses = {}

    def get(aid: str) -> Course:
        if aid not in courses:
            course = Course(make_course(tmp_path_factory.mktemp(f"course-{aid}"), aid))
            release(course, [aid])
            courses[aid] = course
        return courses[aid]

    return get
