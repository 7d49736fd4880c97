"""``collect DIR|ZIP``: bring submissions into ``work/submitted/<student>/<aid>/``.

Accepted layouts: the exports of Canvas, Moodle and Blackboard (:mod:`autograder.lms`: the student from
the LMS's name, the assignment from the notebook's own name, the latest attempt kept), a folder (or zip)
laid out ``<student>/<aid>/*.ipynb``, or a flat export whose files are named
``<student>_<anything><notebook>.ipynb`` (e.g. ``alice_1234_a2_naive_conv.ipynb``). With a roster
(:mod:`autograder.roster`), LMS users become roster ids and anyone not on it is reported, not collected.
A re-collected student's folder is replaced. ``timestamp.txt`` (nbgrader's submission time) holds the
LMS's time when it gives one (Blackboard), none for Canvas and Moodle (Canvas's ``LATE`` marker is
kept in ``work/lms/<aid>.json`` with the rest of the LMS origin), the time of the folder's own
``<student>/<aid>/timestamp.txt`` (nbgrader's exchange convention) when it brings one, and the
collection time otherwise.

Hostile or broken input is handled one entry (zip member or file) at a time, and every entry that is
not collected is reported with its reason (:class:`CollectReport`); only ``__MACOSX/``, dot files and
dot folders (``.ipynb_checkpoints/``) are skipped quietly, and counted. Safety rules:

- no path from the source is used as a path: a notebook lands in ``work/submitted/<student>/<aid>/<name>``
  where ``student`` matches a strict pattern, ``aid`` is a known assignment and ``name`` is one
  checked file name;
- sizes are counted while the data is read, never taken from a zip header (:class:`CollectLimits`);
  only stored and deflated zip members are read (zipfile decompresses bzip2 and lzma without a bound);
- a folder is read without following symlinks (``O_NOFOLLOW`` relative to an already opened parent),
  regular files only, so a FIFO cannot hang the collection;
- each file is written to a temporary name and renamed; each ``<aid>`` folder is built next to its
  place (``work/submitted/<student>/.<aid>.incoming-*``) and swapped in at the end, so a crash leaves
  the old folder or the new one, never a half-written student.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import itertools
import json
import os
import re
import secrets
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from autograder.course import Course, CourseError
from autograder.late import parse_time
from autograder.lms import LmsEntry, id_problem, notebook_name, parse_lms, student_id
from autograder.lms import printable as _printable
from autograder.roster import Roster, load_roster

__all__ = ["collect", "CollectError", "CollectLimits", "CollectReport", "report_lines", "NOT_A_NOTEBOOK",
           "read_lms_records", "lms_records_path"]

_MAX_NAME_BYTES = 255  # the longest file name ext4, xfs, btrfs and tmpfs accept
_CHUNK = 64 * 2**10
_READ_ONLY = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
NOT_A_NOTEBOOK = "not a notebook (.ipynb)"
_NO_MATCH = ("no student and assignment in the name "
             "(expected <student>/<aid>/*.ipynb or <student>_..._<notebook>.ipynb)")
_QUIET = "__MACOSX/, .ipynb_checkpoints/, dot files"
# What reading a broken zip member or an unreadable file raises; our own writes are not wrapped: their
# errors (disk full) stop the collection instead of being blamed on one student's entry.
_MEMBER_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError,
                  NotImplementedError, RuntimeError, ValueError)


@dataclass(frozen=True)
class CollectLimits:
    """Caps of one collection; every size is counted while reading, never taken from a zip header."""

    max_member_bytes: int = 50 * 2**20  # one notebook (zip member or file), uncompressed
    max_total_bytes: int = 2 * 2**30  # everything one collection writes, all notebooks together
    max_members: int = 20_000  # zip members, or files and folders of a folder source, looked at
    max_ratio: int = 200  # uncompressed / compressed size, per zip member and for the whole archive
    ratio_floor_bytes: int = 2**20  # a member may always expand to this size (small files compress well)
    max_depth: int = 16  # folder levels read below a folder source


@dataclass
class CollectReport:
    """What one collection did.

    ``placed``: ``(student, aid)`` pairs now in ``work/submitted/``, sorted. ``skipped``: ``(source name,
    reason)`` for every entry not collected, in source order (names made printable). ``missed``: how many
    of those could have been a submission (all but plain non-notebooks). ``ignored``: entries skipped
    quietly (``__MACOSX/``, dot files and folders). ``entries``: members or folder entries looked at.
    ``notebooks``: notebook files placed; ``bytes_written``: their bytes (replaced duplicates included).
    """

    placed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    missed: int = 0
    ignored: int = 0
    entries: int = 0
    notebooks: int = 0
    bytes_written: int = 0
    origins: dict = field(default_factory=dict)  # (student, aid) -> the LMS file it came from, in words

    @property
    def complete(self) -> bool:
        """True when nothing that could be a submission was skipped (CLI exit status 0)."""
        return self.missed == 0

    def skip(self, name: str, reason: str, relevant: bool = True) -> None:
        """Record one entry that was not collected; ``relevant``: it could have been a submission."""
        self.skipped.append((name, reason))
        self.missed += bool(relevant)


class CollectError(CourseError):
    """Nothing usable was found in the source; ``report`` (if any) says what was skipped and why."""

    def __init__(self, message: str, report: CollectReport | None = None):
        super().__init__(message)
        self.report = report


class _Target(NamedTuple):
    student: str
    aid: str
    name: str  # the file name inside work/submitted/<student>/<aid>/
    origin: LmsEntry | None = None  # the LMS file it came from (None: a plain folder or flat export)


class _Rejected(Exception):
    """One entry cannot be collected; ``str(exc)`` is the reason shown to the instructor."""


# --- names -------------------------------------------------------------------------------------
def _size(n: int) -> str:
    """``n`` bytes in words: ``'50 MiB'``, ``'1.5 KiB'``, ``'12 bytes'``."""
    for unit, name in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if n >= unit:
            return f"{n / unit:.3g} {name}"
    return f"{n} bytes"


def _split(name: str) -> list[str] | None:
    """The parts of an archive path (``\\`` read as ``/``, ``.`` and empty parts dropped), or ``None`` when it is
    absolute or climbs with ``..``."""
    name = name.replace("\\", "/")
    if name.startswith("/") or re.match(r"^[A-Za-z]:(/|$)", name):
        return None
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return None if ".." in parts or not parts else parts


def _is_quiet(parts) -> bool:
    """True for entries skipped without a message: ``__MACOSX/``, dot files, dot folders."""
    return any(p == "__MACOSX" or p.startswith(".") for p in parts)


def _looks_like_notebook(name: str) -> bool:
    """True for a name ending in ``.ipynb`` (any case): skipping it may lose a submission."""
    return name.lower().endswith(".ipynb")


def _file_name_problem(name: str) -> str | None:
    """Why ``name`` cannot be a notebook's file name in the student's folder, or ``None`` when it can."""
    try:
        too_long = len(name.encode("utf-8")) > _MAX_NAME_BYTES
    except UnicodeEncodeError:
        too_long = True
    if (too_long or name.startswith(".") or not name.isprintable() or "/" in name or "\\" in name
            or not name.endswith(".ipynb")):
        return f"file name '{_printable(name, 80)}' is not usable (control characters, a leading dot or over 255 bytes)"
    return None


def _target(student: str, aid: str, name: str, origin: LmsEntry | None = None) -> _Target | str:
    """The place of one notebook, or the reason its student id or file name is unusable."""
    return id_problem(student) or _file_name_problem(name) or _Target(student, aid, name, origin)


@dataclass(frozen=True)
class _Rules:
    """How names become places: ``known`` notebook file name -> aid; ``aid_hint``: ``--aid``; ``roster``:
    the course's roster (``None``: none); ``zone``: the time zone of Blackboard's attempt times."""

    known: dict
    aid_hint: str | None = None
    roster: Roster | None = None
    zone: _dt.tzinfo = _dt.timezone.utc


def _assignment_of(file: str, rules: _Rules) -> tuple[str, str] | str:
    """``(aid, file name in the student's folder)`` of an uploaded notebook ``file``, or why there is none.

    The notebook's own name decides (an LMS copy suffix such as ``-1`` removed); ``--aid`` only places
    a renamed notebook, and refuses a notebook of another assignment.
    """
    name = notebook_name(file)[0]
    aid = rules.known.get(name)
    if aid is not None:
        return (aid, name) if rules.aid_hint in (None, aid) else f"a notebook of {aid}, not of --aid {rules.aid_hint}"
    if rules.aid_hint:
        return rules.aid_hint, file
    names = ", ".join(sorted(rules.known)) or "none"
    return f"notebook '{_printable(file, 80)}' is no assignment's notebook ({names}); pass --aid AID for a renamed one"


def _classify_lms(entry: LmsEntry, rules: _Rules) -> _Target | str:
    """Where the notebook of one LMS file goes: the assignment from its name, the student from the roster
    (or :func:`autograder.lms.student_id` without one)."""
    where = _assignment_of(entry.file, rules)
    if isinstance(where, str):
        return where
    student = student_id(entry)
    if rules.roster is not None:
        student, why = rules.roster.match(entry)
        if student is None:
            return why
    return _target(student, *where, origin=entry)


def _on_roster(hit: _Target | str, rules: _Rules) -> _Target | str:
    """``hit`` unless a roster exists and does not hold its student."""
    if isinstance(hit, _Target) and rules.roster is not None and not rules.roster.knows(hit.student):
        return f"student '{hit.student}' is not on the roster"
    return hit


def _classify(parts: list[str], rules: _Rules) -> _Target | str:
    """Where one notebook-looking entry goes.

    parts: the entry's path parts (no ``..``, no dot parts). An LMS export's name (:mod:`autograder.lms`)
    is read as such; otherwise ``<student>/<aid>/<name>`` or a flat ``<student>_<anything><notebook>``.
    Returns a ``_Target(student, aid, name, origin)``, or the reason (a string) the entry cannot be placed.
    """
    entry = parse_lms(parts, rules.zone)
    if entry is not None:
        return _classify_lms(entry, rules)
    name, known, aid_hint = parts[-1], rules.known, rules.aid_hint
    aids = set(known.values())
    problem = None
    if len(parts) >= 3 and parts[-2] in aids:  # <student>/<aid>/<name>
        hit = _target(parts[-3], parts[-2], name)
        if isinstance(hit, _Target):
            return _on_roster(hit, rules)
        problem = hit
    for nb_name, nb_aid in sorted(known.items(), key=lambda kv: -len(kv[0])):  # <student>_..._<notebook>
        if name.endswith(nb_name) and name != nb_name:
            if aid_hint not in (None, nb_aid):
                problem = problem or f"a notebook of {nb_aid}, not of --aid {aid_hint}"
                continue
            hit = _target(name.split("_", 1)[0], nb_aid, nb_name)
            if isinstance(hit, _Target):
                return _on_roster(hit, rules)
            problem = problem or hit
    # a renamed notebook of a one-notebook assignment, <student>_<name>; never the notebook itself
    # ("a1_volumes-1.ipynb" under --aid a1_volumes is no student "a1")
    if aid_hint and "_" in name and notebook_name(name)[0] not in known and not name.startswith(aid_hint):
        student, rest = name.split("_", 1)
        hit = _target(student, aid_hint, rest)
        if isinstance(hit, _Target):
            return _on_roster(hit, rules)
        problem = problem or hit
    return problem or _NO_MATCH


def _notebook_names(course: Course) -> dict[str, str]:
    """``notebook file name -> aid`` for every assignment."""
    return {p.name: aid for aid in course.assignment_ids() for p in (course.solutions / aid).glob("*.ipynb")}


# --- reading with caps -------------------------------------------------------------------------
def _copy_capped(read: Callable[[int], bytes], write: Callable[[bytes], object], limit: int, reason: str) -> int:
    """Copy from ``read(n)`` to ``write`` until ``read`` returns ``b''``; returns the bytes copied.

    Reads at most ``limit + 1`` bytes in all, ``_CHUNK`` at a time, whatever the source claims;
    raises ``_Rejected(reason + ': not collected')`` as soon as more than ``limit`` bytes arrive.
    """
    done = 0
    while True:
        chunk = read(min(_CHUNK, limit + 1 - done))
        if not chunk:
            return done
        done += len(chunk)
        if done > limit:
            raise _Rejected(f"{reason}: not collected")
        write(chunk)


def _tightest(caps: list[tuple[int, str]]) -> tuple[int, str]:
    """The smallest ``(bytes, reason)`` cap of several."""
    return min(caps, key=lambda cap: cap[0])


def _corrupt(exc: Exception) -> str:
    """The reason shown for an entry whose reading raised ``exc``."""
    return f"corrupt or unreadable ({_printable(str(exc), 120)}): not collected"


def _reading(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """``read`` with the errors of a broken zip member or file turned into ``_Rejected``."""
    def guarded(n: int) -> bytes:
        try:
            return read(n)
        except _MEMBER_ERRORS as exc:
            raise _Rejected(_corrupt(exc)) from exc
    return guarded


# --- the staging area --------------------------------------------------------------------------
class _Stage:
    """Notebooks waiting in ``work/submitted/<student>/.<aid>.incoming-*`` until :meth:`commit` swaps them in."""

    def __init__(self, submitted: Path):
        self.submitted = submitted
        self.folders: dict[tuple[str, str], Path] = {}
        self.sources: dict[tuple[str, str, str], str] = {}  # (student, aid, name) -> the entry it came from
        self.targets: dict[tuple[str, str, str], _Target] = {}  # (student, aid, name) -> where it came from
        self.people: dict[tuple[str, str], dict] = {}  # (student, aid) -> {identity: first entry}, all attempts
        self.shared: dict[tuple[str, str], list] = {}  # (student, aid) -> entries of a second person, not staged
        self.times: dict[tuple[str, str], _dt.datetime] = {}  # (student, aid) -> time of its own timestamp.txt
        self.new_students: list[Path] = []  # student folders this collection created
        self.written = 0

    def _folder(self, student: str, aid: str) -> Path:
        """The staging folder of ``(student, aid)``, made on first use."""
        if (student, aid) not in self.folders:
            home = self.submitted / student
            if home.is_symlink() or (home.exists() and not home.is_dir()):
                raise _Rejected(f"work/submitted/{student} is not a plain folder: not collected")
            if not home.exists():
                home.mkdir(parents=True)
                self.new_students.append(home)
            folder = Path(tempfile.mkdtemp(prefix=f".{aid}.incoming-", dir=home))
            folder.chmod(0o755)
            self.folders[(student, aid)] = folder
        return self.folders[(student, aid)]

    def add(self, target: _Target, source: str, read: Callable[[int], bytes], limit: int, reason: str) -> str | None:
        """Stream one notebook (at most ``limit`` bytes) into the staging folder via a temporary file.

        Returns the source name of an earlier entry this one replaced (same student, aid and name), or
        ``None``. Raises ``_Rejected`` when the entry is too large or unreadable (nothing is kept then).
        """
        folder = self._folder(target.student, target.aid)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=folder)
        kept = False
        try:
            with os.fdopen(fd, "wb") as out:
                size = _copy_capped(read, out.write, limit, reason)
                out.flush()
                os.fchmod(out.fileno(), 0o644)
                os.fsync(out.fileno())
            os.replace(tmp, folder / target.name)
            kept = True
        finally:
            if not kept:
                Path(tmp).unlink(missing_ok=True)
        self.written += size
        key = target[:3]
        replaced, self.sources[key], self.targets[key] = self.sources.get(key), source, target
        return replaced

    def later_attempt(self, target: _Target) -> str | None:
        """The entry of a later LMS attempt already staged for ``target``'s notebook, or ``None``."""
        kept = self.targets.get(target[:3])
        if kept is None or kept.origin is None or target.origin is None:
            return None
        return self.sources[target[:3]] if kept.origin.attempt > target.origin.attempt else None

    def drop(self, student: str, aid: str) -> list[str]:
        """Forget the staged folder of ``(student, aid)``; returns the entries it held."""
        keys = [k for k in self.sources if k[:2] == (student, aid)]
        for key in keys:
            self.targets.pop(key)
        shutil.rmtree(self.folders.pop((student, aid)), ignore_errors=True)
        return [self.sources.pop(key) for key in keys]

    def latest(self, student: str, aid: str) -> LmsEntry | None:
        """The latest LMS file staged for ``(student, aid)`` (``None``: no LMS file)."""
        origins = [t.origin for k, t in self.targets.items() if k[:2] == (student, aid) and t.origin is not None]
        return max(origins, key=lambda o: o.attempt, default=None)

    def commit(self, now: _dt.datetime) -> list[tuple[str, str]]:
        """Write ``timestamp.txt`` and swap every staged folder holding a notebook into place; returns the
        ``(student, aid)`` pairs placed, sorted.

        ``timestamp.txt`` (nbgrader's submission time, which its late penalty compares with the due
        date) holds the time the LMS gives (Blackboard's attempt), none for an LMS export without times
        (Canvas, Moodle), and for a plain folder or flat export the time of the ``timestamp.txt`` it
        brought (nbgrader's ``<student>/<aid>/timestamp.txt``), else the collection time ``now``.
        """
        placed = []
        for student, aid in sorted({k[:2] for k in self.sources}):
            staged = self.folders[(student, aid)]
            origin = self.latest(student, aid)
            when = self.times.get((student, aid), now) if origin is None else origin.submitted
            if when is not None:
                _write_atomic(staged / "timestamp.txt", _stamp(when).encode())
            _swap_in(staged, self.submitted / student / aid)
            del self.folders[(student, aid)]  # swapped in: no longer ours to discard
            placed.append((student, aid))
        return placed

    def discard(self) -> None:
        """Remove every staging folder not swapped in, and student folders this collection left empty."""
        for folder in self.folders.values():
            shutil.rmtree(folder, ignore_errors=True)
        self.folders.clear()
        for home in self.new_students:
            try:
                home.rmdir()
            except OSError:  # not empty: a notebook was placed there
                pass


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            os.fchmod(out.fileno(), 0o644)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _swap_in(staged: Path, target: Path) -> None:
    """Put the folder ``staged`` at ``target``, replacing what was there.

    Two renames: a crash between them leaves ``target`` absent (the old folder sits in a dot folder
    next to it), never a mixture of the old and the new files; a failed second rename puts the old back.
    """
    old = None
    if target.exists() or target.is_symlink():
        old = target.with_name(f".{target.name}.replaced-{secrets.token_hex(4)}")
        os.rename(target, old)
    try:
        os.rename(staged, target)
    except OSError:
        if old is not None:
            os.rename(old, target)  # put the old folder back
        raise
    if old is not None:
        if old.is_symlink() or not old.is_dir():
            old.unlink()
        else:
            shutil.rmtree(old)


# --- sources -----------------------------------------------------------------------------------
def _identity(target: _Target) -> tuple[str, str]:
    """Who handed ``target`` in: ``(layout, LMS id)``, or ``("folder", student)`` for a plain layout."""
    return ("folder", target.student) if target.origin is None else (target.origin.layout, target.origin.lms_id)


def _take(stage: _Stage, report: CollectReport, target: _Target, source: str,
          read: Callable[[int], bytes], caps: list[tuple[int, str]]) -> None:
    """Stage one notebook under the tightest of ``caps``, recording in ``report`` what happened.

    Of two LMS attempts at one notebook the later is kept, whatever their order in the source.
    """
    stage.people.setdefault(target[:2], {}).setdefault(_identity(target), source)
    kept = stage.targets.get(target[:3])
    if kept is not None and _identity(kept) != _identity(target):  # two people, one id: see _refuse_shared_ids
        stage.shared.setdefault(target[:2], []).append(source)
        return
    later = stage.later_attempt(target)
    if later is not None:
        report.skip(source, f"an earlier attempt than {later}: the latest attempt is collected")
        return
    limit, reason = _tightest(caps)
    try:
        replaced = stage.add(target, source, read, limit, reason)
    except _Rejected as exc:
        report.skip(source, str(exc))
        return
    if replaced is not None and target.origin is not None:  # the same LMS user (checked above): a re-upload
        report.skip(replaced, f"an earlier attempt than {source}: the latest attempt is collected")
    elif replaced is not None:
        report.skip(replaced, f"replaced by {source}: same student, assignment and notebook name")


def _refuse_shared_ids(stage: _Stage, report: CollectReport, before: dict) -> None:
    """Leave out every student id that two people of the source would share (two LMS users whose
    names map to one id, or an LMS user and a plain folder), or that an earlier collection of the
    assignment gave another LMS user (``before``: ``aid -> student -> record``)."""
    for (student, aid), people in sorted(stage.people.items()):
        known = before.get(aid, {}).get(student)
        lms_people = {p for p in people if p[0] != "folder"}
        earlier = (known["layout"], known["lms_id"]) if known else None
        if len(people) < 2 and not (earlier and lms_people and earlier not in lms_people):
            continue
        if (student, aid) not in stage.folders:
            continue
        who = [f"{layout} {ident}" for layout, ident in sorted(people)]
        if earlier and earlier not in people:
            who.append(f"{earlier[0]} {earlier[1]} (collected before)")
        why = (f"student id '{student}' would be shared by {', '.join(who)}: not collected; import a roster "
               "(convlab-grade roster import) that tells them apart")
        for source in stage.drop(student, aid) + stage.shared.get((student, aid), []):
            report.skip(source, why)


def _total_cap(stage: _Stage, limits: CollectLimits, archive_bytes: int | None = None) -> tuple[int, str]:
    """What this collection may still write, as a ``(bytes, reason)`` cap (the archive's ratio included)."""
    caps = [(limits.max_total_bytes, f"over the {_size(limits.max_total_bytes)} cap for one collection")]
    if archive_bytes is not None:
        caps.append((max(limits.ratio_floor_bytes, limits.max_ratio * archive_bytes),
                     f"the archive would expand more than {limits.max_ratio} times its size (zip bomb?)"))
    total, reason = _tightest(caps)
    return max(0, total - stage.written), reason


def _member_caps(info: zipfile.ZipInfo, stage: _Stage, limits: CollectLimits, archive_bytes: int) -> list:
    """The ``(bytes, reason)`` caps of one zip member: its own size, its ratio, the collection's total."""
    return [(limits.max_member_bytes, f"over the {_size(limits.max_member_bytes)} per-notebook cap"),
            (max(limits.ratio_floor_bytes, limits.max_ratio * info.compress_size),
             f"expands more than {limits.max_ratio} times its compressed size (zip bomb?)"),
            _total_cap(stage, limits, archive_bytes)]


def _member_problem(info: zipfile.ZipInfo, caps: list) -> str | None:
    """Why a member is refused before reading a byte of it (encryption, method, declared size), or ``None``."""
    if info.flag_bits & 0x1:
        return "encrypted: not read"
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        method = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma"}.get(info.compress_type,
                                                                           f"method {info.compress_type}")
        return f"compressed with {method} (only stored and deflated members are read)"
    limit, reason = _tightest(caps)
    if info.file_size > limit:  # a lie is caught while reading; an honest size is refused right away
        return f"{reason} (declares {info.file_size} bytes): not read"
    return None


_MAX_STAMP_BYTES = 100
_STAMP_UNREAD = "timestamp.txt not read, the collection time is used"


def _timestamp_of(parts: list[str], rules: _Rules) -> tuple[str, str] | None:
    """``(student, aid)`` when ``parts`` is nbgrader's ``<student>/<aid>/timestamp.txt``, else ``None``."""
    if len(parts) >= 3 and parts[-1] == "timestamp.txt" and parts[-2] in set(rules.known.values()):
        if id_problem(parts[-3]) is None:
            return parts[-3], parts[-2]
    return None


def _take_timestamp(stage: _Stage, report: CollectReport, owner: tuple[str, str], name: str,
                    read: Callable[[int], bytes]) -> None:
    """Keep the submission time of nbgrader's ``timestamp.txt`` (at most 100 bytes, read by
    :func:`autograder.late.parse_time`) for ``owner``'s folder; anything else is reported and the
    collection time used."""
    data = bytearray()
    try:
        _copy_capped(read, data.extend, _MAX_STAMP_BYTES, f"over {_MAX_STAMP_BYTES} bytes")
        when = parse_time(data.decode("ascii").strip())
    except _Rejected as exc:
        report.skip(name, f"{_STAMP_UNREAD}: {exc}", relevant=False)
        return
    except (UnicodeDecodeError, CourseError):
        report.skip(name, f"{_STAMP_UNREAD}: not a time", relevant=False)
        return
    stage.times[owner] = when.replace(tzinfo=_dt.timezone.utc)


def _collect_zip(source: Path, rules: _Rules, limits: CollectLimits,
                 stage: _Stage, report: CollectReport) -> None:
    """Stage every usable member of the zip ``source``, each on its own."""
    try:
        zf = zipfile.ZipFile(source)
    except _MEMBER_ERRORS as exc:
        raise CollectError(f"{source} is not a readable zip file: {exc}", report) from exc
    archive_bytes = source.stat().st_size
    with zf:
        infos = zf.infolist()
        for info in infos[: limits.max_members]:
            report.entries += 1
            if info.is_dir():
                continue
            name, parts = _printable(info.filename), _split(info.filename)
            if parts is None:
                report.skip(name, "unsafe path in the archive (absolute or with ..): not used",
                            relevant=_looks_like_notebook(info.filename))
            elif _is_quiet(parts):
                report.ignored += 1
            elif _timestamp_of(parts, rules):
                if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    report.skip(name, f"{_STAMP_UNREAD}: encrypted or compressed with another method", relevant=False)
                    continue
                try:
                    with zf.open(info) as member:
                        _take_timestamp(stage, report, _timestamp_of(parts, rules), name, _reading(member.read))
                except _MEMBER_ERRORS as exc:
                    report.skip(name, f"{_STAMP_UNREAD}: {_corrupt(exc)}", relevant=False)
            elif not _looks_like_notebook(parts[-1]):
                report.skip(name, NOT_A_NOTEBOOK, relevant=False)
            else:
                _zip_member(zf, info, name, _classify(parts, rules), limits, archive_bytes, stage, report)
        if len(infos) > limits.max_members:
            report.skip(_printable(source.name), f"{len(infos) - limits.max_members} more members not read: "
                        f"over the {limits.max_members}-member cap")


def _zip_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, hit: _Target | str, limits: CollectLimits,
                archive_bytes: int, stage: _Stage, report: CollectReport) -> None:
    """Stage one classified zip member, or record why not."""
    if not isinstance(hit, _Target):
        report.skip(name, hit)
        return
    caps = _member_caps(info, stage, limits, archive_bytes)
    problem = _member_problem(info, caps)
    if problem:
        report.skip(name, problem)
        return
    try:
        member = zf.open(info)
    except _MEMBER_ERRORS as exc:
        report.skip(name, _corrupt(exc))
        return
    with member:
        _take(stage, report, hit, name, _reading(member.read), caps)


class _Entry(NamedTuple):
    parts: tuple[str, ...]
    kind: str  # file, dir, quiet, symlink, special, too-deep, unreadable
    dir_fd: int  # the open parent folder (valid until the walk moves on)


def _walk(dir_fd: int, prefix: tuple[str, ...], depth_left: int, max_entries: int) -> Iterator[_Entry]:
    """Every entry below the open folder ``dir_fd``, depth first and sorted by name, following no symlink.

    Quiet entries (dot files and folders, ``__MACOSX``) are yielded but not entered; folders deeper than
    ``depth_left`` are yielded as ``too-deep``. At most ``max_entries`` names are read per folder.
    """
    with os.scandir(dir_fd) as listing:
        entries = sorted(itertools.islice(listing, max_entries), key=lambda e: e.name)
    for entry in entries:
        parts = (*prefix, entry.name)
        if _is_quiet(parts[-1:]):
            yield _Entry(parts, "quiet", dir_fd)
        elif entry.is_symlink():
            yield _Entry(parts, "symlink", dir_fd)
        elif entry.is_dir(follow_symlinks=False):
            if depth_left <= 0:
                yield _Entry(parts, "too-deep", dir_fd)
                continue
            yield _Entry(parts, "dir", dir_fd)
            try:
                sub = os.open(entry.name, _READ_ONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd)
            except OSError:
                yield _Entry(parts, "unreadable", dir_fd)
                continue
            try:
                yield from _walk(sub, parts, depth_left - 1, max_entries)
            finally:
                os.close(sub)
        elif entry.is_file(follow_symlinks=False):
            yield _Entry(parts, "file", dir_fd)
        else:
            yield _Entry(parts, "special", dir_fd)


_FOLDER_REASONS = {"symlink": "symbolic link: not followed", "special": "not a regular file: not read",
                   "unreadable": "folder not readable: not read"}


def _open_regular(entry: _Entry, cap: int, reason: str) -> int:
    """An fd open on the regular file ``entry`` (no symlink followed, no FIFO waited on), at most ``cap`` bytes."""
    try:
        fd = os.open(entry.parts[-1], _READ_ONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=entry.dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _Rejected(_FOLDER_REASONS["symlink"]) from exc
        raise _Rejected(f"not readable ({exc.strerror}): not collected") from exc
    info = os.fstat(fd)
    problem = (_FOLDER_REASONS["special"] if not stat.S_ISREG(info.st_mode)
               else f"{reason} ({info.st_size} bytes): not read" if info.st_size > cap else None)
    if problem:
        os.close(fd)
        raise _Rejected(problem)
    return fd


def _collect_folder(source: Path, rules: _Rules, limits: CollectLimits,
                    stage: _Stage, report: CollectReport) -> None:
    """Stage every usable notebook below the folder ``source``, each on its own."""
    root = os.open(source, _READ_ONLY | os.O_DIRECTORY)
    try:
        with contextlib.closing(_walk(root, (), limits.max_depth, limits.max_members + 1)) as walk:
            for entry in walk:
                if report.entries >= limits.max_members:
                    report.skip(_printable(source.name), f"entries after the first {limits.max_members} not read: "
                                f"over the {limits.max_members}-member cap")
                    break
                report.entries += 1
                _folder_entry(entry, rules, limits, stage, report)
    finally:
        os.close(root)


def _folder_entry(entry: _Entry, rules: _Rules, limits: CollectLimits,
                  stage: _Stage, report: CollectReport) -> None:
    """Stage one entry of a folder source, or record why not."""
    name = _printable("/".join(entry.parts))
    if entry.kind == "dir":
        return
    if entry.kind == "quiet":
        report.ignored += 1
    elif entry.kind == "too-deep":
        report.skip(name, f"folder nested deeper than {limits.max_depth} levels: not read")
    elif entry.kind in _FOLDER_REASONS:
        report.skip(name, _FOLDER_REASONS[entry.kind])
    elif _timestamp_of(list(entry.parts), rules):
        try:
            fd = _open_regular(entry, _MAX_STAMP_BYTES, f"over {_MAX_STAMP_BYTES} bytes")
        except _Rejected as exc:
            report.skip(name, f"{_STAMP_UNREAD}: {exc}", relevant=False)
            return
        try:
            _take_timestamp(stage, report, _timestamp_of(list(entry.parts), rules), name,
                            _reading(lambda n: os.read(fd, n)))
        finally:
            os.close(fd)
    elif not _looks_like_notebook(entry.parts[-1]):
        report.skip(name, NOT_A_NOTEBOOK, relevant=False)
    else:
        hit = _classify(list(entry.parts), rules)
        if not isinstance(hit, _Target):
            report.skip(name, hit)
            return
        caps = [(limits.max_member_bytes, f"over the {_size(limits.max_member_bytes)} per-notebook cap"),
                _total_cap(stage, limits)]
        limit, reason = _tightest(caps)
        try:
            fd = _open_regular(entry, limit, reason)
        except _Rejected as exc:
            report.skip(name, str(exc))
            return
        try:
            _take(stage, report, hit, name, _reading(lambda n: os.read(fd, n)), caps)
        finally:
            os.close(fd)


# --- the command -------------------------------------------------------------------------------
def _stamp(when: _dt.datetime) -> str:
    """``when`` as ``timestamp.txt`` holds it (UTC, the form nbgrader's ``parse_utc`` reads)."""
    return when.astimezone(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def lms_records_path(course: Course, aid: str) -> Path:
    """``work/lms/<aid>.json``: per student, the LMS file collected last (see :func:`read_lms_records`)."""
    return course.work / "lms" / f"{aid}.json"


def read_lms_records(course: Course, aid: str) -> dict[str, dict]:
    """``student -> {layout, lms_id, person, prefix, file, late, submitted}`` of the students whose last
    collection of ``aid`` came from an LMS export (``submitted``: ISO time or ``None``)."""
    path = lms_records_path(course, aid)
    return json.loads(path.read_text()) if path.is_file() else {}


def _record(entry: LmsEntry) -> dict:
    return {"layout": entry.layout, "lms_id": entry.lms_id, "person": entry.person, "prefix": entry.prefix,
            "file": entry.file, "late": entry.late,
            "submitted": entry.submitted.astimezone(_dt.timezone.utc).isoformat() if entry.submitted else None}


def _origin_note(entry: LmsEntry) -> str:
    """How ``collect`` describes the LMS file a student's folder came from."""
    when = f", submitted {_stamp(entry.submitted)}" if entry.submitted else ""
    late = ", marked LATE by the LMS" if entry.late else ""
    return f"{entry.layout} '{_printable(entry.person, 80)}' id {entry.lms_id}{when}{late}"


def collect(course: Course, source, aid: str | None = None, limits: CollectLimits = CollectLimits(),
            zone: _dt.tzinfo = _dt.timezone.utc) -> CollectReport:
    """Copy submissions from a folder or a zip into ``work/submitted/<student>/<aid>/``.

    course: the course; source: a folder or a zip file; aid: the assignment of a flat export (``--aid``;
    a hint: a notebook's own name decides); limits: the caps; zone: the time zone of Blackboard's
    attempt times. With a roster (:mod:`autograder.roster`) every student must be on it, and LMS users
    are mapped to roster ids. Returns a :class:`CollectReport` (students placed, entries skipped with
    reasons). Raises :class:`CollectError` when the source is unusable or nothing in it could be collected.
    """
    source = Path(source)
    if aid is not None:
        course.require_assignment(aid)
    rules = _Rules(_notebook_names(course), aid, load_roster(course), zone)
    report = CollectReport()
    stage = _Stage(course.submitted)
    try:
        if source.is_dir():
            _collect_folder(source, rules, limits, stage, report)
        elif source.is_file() and zipfile.is_zipfile(source):
            _collect_zip(source, rules, limits, stage, report)
        else:
            raise CollectError(f"{source} is neither a folder nor a zip file")
        aids = {k[1] for k in stage.sources}
        _refuse_shared_ids(stage, report, {a: read_lms_records(course, a) for a in aids})
        if not stage.sources:
            first = f"; {len(report.skipped)} skipped, first {report.skipped[0][0]}: {report.skipped[0][1]}" \
                if report.skipped else ""
            raise CollectError(f"no submissions found in {source} (expected <student>/<aid>/*.ipynb, "
                               f"<student>_..._<notebook>.ipynb or a Canvas, Moodle or Blackboard export){first}",
                               report)
        report.notebooks, report.bytes_written = len(stage.sources), stage.written
        report.placed = stage.commit(_dt.datetime.now(_dt.timezone.utc))
        _save_lms_records(course, stage, report)
    finally:
        stage.discard()
    return report


def _save_lms_records(course: Course, stage: _Stage, report: CollectReport) -> None:
    """Update ``work/lms/<aid>.json`` for the students placed, and note their LMS origin in ``report``."""
    for aid in sorted({a for _, a in report.placed}):
        records = read_lms_records(course, aid)
        for student in [s for s, a in report.placed if a == aid]:
            entry = stage.latest(student, aid)
            records.pop(student, None)
            if entry is not None:
                records[student] = _record(entry)
                report.origins[(student, aid)] = _origin_note(entry)
        path = lms_records_path(course, aid)
        if not records and not path.exists():
            continue  # no LMS export of this assignment yet
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(path, json.dumps(records, indent=1, sort_keys=True).encode())


def report_lines(report: CollectReport) -> list[str]:
    """The lines the CLI prints: one per student placed, one per entry skipped, then a summary."""
    lines = [f"collected {student}/{aid}" + (f" ({report.origins[(student, aid)]})" if (student, aid) in report.origins
                                              else "") for student, aid in report.placed]
    lines += [f"skipped {name}: {reason}" for name, reason in report.skipped]
    lines.append(f"summary: {len(report.placed)} collected ({report.notebooks} notebook files, "
                 f"{_size(report.bytes_written)}), {len(report.skipped)} skipped ({report.missed} could be "
                 f"submissions), {report.ignored} ignored ({_QUIET}), {report.entries} entries read")
    return lines
