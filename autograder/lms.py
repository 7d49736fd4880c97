"""The file names LMS exports give submissions, read into who handed in what, when.

:func:`parse_lms` recognises one entry of a "download all submissions" archive by its path:

========== =========================================================================================
layout     path (as the LMS writes it)
========== =========================================================================================
canvas     ``<lastfirst>[_LATE]_<userId>_<submissionId>_<file>``; a re-uploaded file name gets
           ``-1``, ``-2`` before its extension (``a1_volumes-1.ipynb``)
moodle     ``<Full Name>_<participantId>_assignsubmission_file[_]/<file>`` (a folder per student;
           Moodle 4.1 dropped the trailing ``_``); older Moodle: flat
           ``<Full Name>_<participantId>_assignsubmission_file_<file>``
blackboard ``<Assignment Name>_<username>_attempt_<YYYY-MM-DD-HH-MM-SS>_<file>`` (next to a
           ``.txt`` receipt per attempt, which is not a notebook)
========== =========================================================================================

:func:`student_id` maps the person an LMS names to an id usable as an nbgrader student id and as a
folder name: accents dropped, lower case, every run of other characters one ``-``
(``"Ann Lee" -> "ann-lee"``, ``"José Núñez" -> "jose-nunez"``); a name with nothing left
(``".."``, ``"李雷"``) becomes ``<layout>-<LMS id>``. :func:`notebook_name` strips the suffixes LMSs
and browsers add to a re-uploaded file (``-1``, `` (1)``).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["LmsEntry", "parse_lms", "student_id", "notebook_name", "id_problem", "printable", "BLACKBOARD_TIME"]

BLACKBOARD_TIME = "%Y-%m-%d-%H-%M-%S"
_CANVAS = re.compile(r"^(?P<person>[^_]+?)(?P<late>_LATE)?_(?P<uid>\d+)_(?P<sub>\d+)_(?P<file>.+)$")
_MOODLE_FOLDER = re.compile(r"^(?P<person>.+)_(?P<pid>\d+)_assignsubmission_file_?$")
_MOODLE_FLAT = re.compile(r"^(?P<person>.+?)_(?P<pid>\d+)_assignsubmission_file_(?P<file>.+)$")
_BLACKBOARD = re.compile(r"^(?P<assignment>.+)_(?P<user>[^_]+)_attempt_"
                         r"(?P<time>\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)_(?P<file>.+)$")
_COPY_SUFFIX = re.compile(r"^(?P<stem>.+?)(?:-(?P<dash>\d{1,4})| \((?P<paren>\d{1,4})\))(?P<ext>\.ipynb)$", re.I)
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_MAX_ID = 64


@dataclass(frozen=True)
class LmsEntry:
    """One file of an LMS export.

    layout: ``canvas``, ``moodle`` or ``blackboard``; person: the name as the LMS wrote it (Canvas's
    ``lastfirst``, Moodle's full name, Blackboard's username); lms_id: Canvas's user id, Moodle's
    participant id (per assignment), Blackboard's username; file: the uploaded file's name as the
    export shows it; prefix: what the LMS put before the file name (feedback for upload is named with
    it); attempt: orders two files of one person (larger is later); submitted: the submission time
    when the name gives one (Blackboard), else ``None``; late: the LMS marked it late (Canvas).
    """

    layout: str
    person: str
    lms_id: str
    file: str
    prefix: str
    attempt: tuple = ()
    submitted: _dt.datetime | None = None
    late: bool = False


def printable(text: str, limit: int = 200) -> str:
    """``text`` safe to print on a terminal: control and undecodable characters escaped, at most ``limit``
    characters."""
    safe = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return safe if len(safe) <= limit else safe[: limit - 3] + "..."


def id_problem(student: str) -> str | None:
    """Why ``student`` cannot be a student id (an nbgrader id and a folder name), or ``None`` when it can."""
    if len(student) > _MAX_ID:
        return f"student id '{printable(student, 80)}' is longer than {_MAX_ID} characters"
    if not _ID_RE.match(student):
        return (f"student id '{printable(student, 80)}' is not usable "
                "(letters, digits and . _ @ -, starting with a letter or digit)")
    return None


def notebook_name(file: str) -> tuple[str, int]:
    """``(name, copy number)``: ``a1_volumes-2.ipynb -> ("a1_volumes.ipynb", 2)``, ``x (1).ipynb ->
    ("x.ipynb", 1)``; a name without such a suffix has copy number 0."""
    m = _COPY_SUFFIX.match(file)
    if not m:
        return file, 0
    return m["stem"] + m["ext"], int(m["dash"] or m["paren"])


def parse_lms(parts: list[str], zone: _dt.tzinfo = _dt.timezone.utc) -> LmsEntry | None:
    """The LMS entry the path ``parts`` (already split, no ``..``) names, or ``None`` for no LMS layout.

    ``zone``: the time zone of Blackboard's attempt times (its server's local time).
    """
    name = parts[-1]
    if len(parts) >= 2:
        m = _MOODLE_FOLDER.match(parts[-2])
        if m:
            return LmsEntry("moodle", m["person"], m["pid"], name, f"{m['person']}_{m['pid']}_",
                            (notebook_name(name)[1],))
    m = _MOODLE_FLAT.match(name)
    if m:
        return LmsEntry("moodle", m["person"], m["pid"], m["file"], f"{m['person']}_{m['pid']}_",
                        (notebook_name(m["file"])[1],))
    m = _BLACKBOARD.match(name)
    if m:
        try:
            when = _dt.datetime.strptime(m["time"], BLACKBOARD_TIME).replace(tzinfo=zone)
        except ValueError:  # 2026-13-45-...: not a time, so not Blackboard's name
            return None
        return LmsEntry("blackboard", m["user"], m["user"], m["file"], f"{m['assignment']}_{m['user']}_",
                        (when.timestamp(), notebook_name(m["file"])[1]), submitted=when)
    m = _CANVAS.match(name)
    if m:
        return LmsEntry("canvas", m["person"], m["uid"], m["file"], f"{m['person']}_{m['uid']}_{m['sub']}_",
                        (int(m["sub"]), notebook_name(m["file"])[1]), late=bool(m["late"]))
    return None


def student_id(entry: LmsEntry) -> str:
    """The student id of ``entry``'s person (see the module's docstring); at most 64 characters
    unless the name itself is longer (then the caller refuses it)."""
    plain = unicodedata.normalize("NFKD", entry.person).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug or f"{entry.layout}-{entry.lms_id}"
