"""Due dates and the late penalty, both nbgrader's own.

The due date is the gradebook's ``Assignment.duedate`` (:func:`set_due_date`, ``convlab-grade due``);
a submission's time is its ``timestamp.txt`` (written by ``collect``); nbgrader's ``Autograde`` counts
``total_seconds_late`` from the two and its ``AssignLatePenalties`` step asks the plugin configured
as ``AssignLatePenalties.plugin_class`` (``autograder.pipeline.configure_course`` sets
:class:`PerDayPenalty`) for each notebook's penalty.
"""

from __future__ import annotations

import datetime as _dt
import math
import re

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

from autograder.course import Course, CourseError

__all__ = ["PerDayPenalty", "parse_time", "parse_due", "set_due_date", "due_date"]

DAY = 24 * 3600


class PerDayPenalty(LateSubmissionPlugin):
    """``fraction_per_day`` of the notebook's score per started day late (a second late counts as a day),
    at most the whole score. Set it in ``nbgrader_config.py``: ``c.PerDayPenalty.fraction_per_day = 0.1``."""

    fraction_per_day = Float(0.1, help="share of the score lost per started day late (0.1: 10% a day, "
                                       "nothing left after 10 days)").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        days = math.ceil(total_seconds_late / DAY)
        return min(score, score * self.fraction_per_day * days)


def parse_time(text: str) -> _dt.datetime:
    """``"2026-12-15 23:59 UTC"`` (or any zone dateutil knows, ``Europe/Berlin``, or an offset ``-0500``;
    none means UTC) as a naive UTC datetime, as nbgrader stores it. Raises :class:`CourseError`.
    (nbgrader's ``parse_utc`` would read ``-0500`` as 500 seconds.)"""
    import dateutil.parser  # noqa: PLC0415 - nbgrader's own dependency
    import dateutil.tz  # noqa: PLC0415
    from nbgrader.utils import parse_utc  # noqa: PLC0415

    parts = text.split()
    try:
        if len(parts) != 3:
            return parse_utc(dateutil.parser.parse(text))
        offset = re.fullmatch(r"([+-])(\d\d):?(\d\d)", parts[2])
        seconds = offset and (1 if offset[1] == "+" else -1) * (int(offset[2]) * 3600 + int(offset[3]) * 60)
        zone = dateutil.tz.tzoffset(None, seconds) if offset else dateutil.tz.gettz(parts[2])
        if zone is None:
            raise CourseError(f"unknown time zone {parts[2]!r} in {text!r}")
        return parse_utc(dateutil.parser.parse(" ".join(parts[:2])).replace(tzinfo=zone))
    except (ValueError, OverflowError) as exc:
        raise CourseError(f"not a date and time: {text!r} (write e.g. \"2026-12-15 23:59 UTC\")") from exc


def parse_due(text: str) -> _dt.datetime | None:
    """A due date as :func:`parse_time` reads it; ``"none"`` gives ``None`` (no due date)."""
    return None if text.strip().lower() == "none" else parse_time(text)


def set_due_date(course: Course, aid: str, text: str) -> _dt.datetime | None:
    """Store ``aid``'s due date (``text`` as :func:`parse_due` reads it) in the gradebook; returns it."""
    course.require_assignment(aid)
    when = parse_due(text)
    with course.open_gradebook() as gb:
        gb.update_or_create_assignment(aid, duedate=when)
    return when


def due_date(course: Course, aid: str) -> _dt.datetime | None:
    """``aid``'s due date (naive UTC) from the gradebook, or ``None``."""
    from nbgrader.api import MissingEntry  # noqa: PLC0415

    course.require_assignment(aid)
    if not course.has_gradebook():
        return None
    with course.open_gradebook() as gb:
        try:
            return gb.find_assignment(aid).duedate
        except MissingEntry:
            return None
