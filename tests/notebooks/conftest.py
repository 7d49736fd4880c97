"""Fixtures of the notebook tests: throw-away course folders with an assignment released."""

from __future__ import annotations

import pytest

from .notebook_support import make_course


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
