"""``roster import FILE.csv``: the class list in nbgrader's gradebook, and who an LMS file belongs to.

The roster is nbgrader's own ``student`` table (what ``nbgrader db student import`` fills, same
columns: ``id``, ``first_name``, ``last_name``, ``email``, ``lms_user_id``; ``student_id`` and
``lms_id`` are read as aliases). A course *has a roster* once a student in the gradebook has a
first or last name: grading creates students with an id only, so those never count as one.

:meth:`Roster.match` finds the roster student of one LMS file: by LMS user id (Canvas's user id,
Blackboard's username; Moodle's participant id changes with every assignment, so it is not used),
by student id (Blackboard's username), then by name (Canvas's ``lastfirst``, Moodle's full name in
either order), comparing letters and digits only, accents dropped, case ignored.
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course, CourseError
from autograder.lms import LmsEntry, id_problem, printable

__all__ = ["RosterStudent", "Roster", "read_roster_csv", "import_roster", "load_roster"]

FIELDS = ("id", "first_name", "last_name", "email", "lms_user_id")
_ALIASES = {"student_id": "id", "lms_id": "lms_user_id"}
_MAX_FIELD = 128  # nbgrader's column width


@dataclass(frozen=True)
class RosterStudent:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""


def _letters(text: str) -> str:
    """``text`` with accents dropped, lower case, letters and digits only (the name-matching key)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "".join(c for c in plain if c.isalnum())


def read_roster_csv(path) -> list[RosterStudent]:
    """The students of a roster CSV (header row with ``id`` and at least a first or last name column).

    Raises :class:`CourseError` naming the line of an unusable id, a missing name, an over-long field
    or a repeated id or LMS user id.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []]
        if "id" not in header or not {"first_name", "last_name"} & set(header):
            raise CourseError(f"{path}: the header needs an id column and first_name or last_name "
                              f"(columns: {', '.join(FIELDS)}); it has {', '.join(header) or 'nothing'}")
        students, ids, lms_ids = [], {}, {}
        for row in reader:
            line = reader.line_num
            values = {key: (value or "").strip() for key, value in zip(header, row.values()) if key in FIELDS}
            student = RosterStudent(**values)
            problem = id_problem(student.id)
            if problem:
                raise CourseError(f"{path} line {line}: {problem}")
            if not (student.first_name or student.last_name):
                raise CourseError(f"{path} line {line}: {student.id} has neither a first nor a last name")
            long = [k for k, v in values.items() if len(v) > _MAX_FIELD]
            if long:
                raise CourseError(f"{path} line {line}: {', '.join(long)} longer than {_MAX_FIELD} characters")
            for seen, key, what in ((ids, student.id, "id"), (lms_ids, student.lms_user_id, "lms_user_id")):
                if key and key in seen:
                    raise CourseError(f"{path} line {line}: {what} {key!r} already on line {seen[key]}")
                seen[key] = line
            students.append(student)
    return students


def import_roster(course: Course, path) -> list[RosterStudent]:
    """Add or update every student of the roster CSV ``path`` in the gradebook; returns them."""
    students = read_roster_csv(path)
    with course.open_gradebook() as gb:
        for s in students:
            gb.update_or_create_student(s.id, first_name=s.first_name or None, last_name=s.last_name or None,
                                        email=s.email or None, lms_user_id=s.lms_user_id or None)
    return students


def load_roster(course: Course) -> "Roster | None":
    """The gradebook's students when the course has a roster (see the module's docstring), else ``None``."""
    if not course.has_gradebook():
        return None
    with course.open_gradebook() as gb:
        students = [RosterStudent(s.id, s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
                    for s in gb.students]
    return Roster(tuple(students)) if any(s.first_name or s.last_name for s in students) else None


@dataclass(frozen=True)
class Roster:
    students: tuple[RosterStudent, ...]

    def knows(self, student: str) -> bool:
        return any(s.id == student for s in self.students)

    def match(self, entry: LmsEntry) -> tuple[str | None, str]:
        """``(roster id, how)`` of the person of ``entry``, or ``(None, why not)``."""
        if entry.layout != "moodle":
            hits = [s for s in self.students if s.lms_user_id and s.lms_user_id == entry.lms_id]
            if len(hits) == 1:
                return hits[0].id, "LMS user id"
        if entry.layout == "blackboard" and self.knows(entry.person):
            return entry.person, "username"
        key = _letters(entry.person)
        hits = [s for s in self.students if key and key in (_letters(s.last_name + s.first_name),
                                                             _letters(s.first_name + s.last_name))]
        if len(hits) == 1:
            return hits[0].id, "name"
        if hits:
            return None, (f"{entry.layout} name '{printable(entry.person, 80)}' matches {len(hits)} roster students "
                          f"({', '.join(s.id for s in hits)}): give them LMS user ids in the roster")
        return None, f"{entry.layout} user '{printable(entry.person, 80)}' (id {entry.lms_id}) is not on the roster"
