"""``collect DIR|ZIP``: bring submissions into ``work/submitted/<student>/<aid>/``.

Accepted layouts: a folder (or zip) laid out ``<student>/<aid>/*.ipynb``, or a flat LMS export
whose files are named ``<student>_<anything><notebook>.ipynb`` (e.g. ``alice_1234_a2_naive_conv.ipynb``).
A re-collected student's folder is replaced, and ``timestamp.txt`` records the collection time.
Zip members are never extracted by their own paths (no ``../`` escapes) and sizes are capped.
"""

from __future__ import annotations

import datetime as _dt
import re
import shutil
import zipfile
from pathlib import Path

from autograder.course import Course, CourseError

__all__ = ["collect", "CollectError"]

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
_MAX_MEMBER_BYTES = 50 * 2**20


class CollectError(CourseError):
    """Nothing usable was found, or an entry is unsafe."""


def _notebook_names(course: Course) -> dict[str, str]:
    """``notebook file name -> aid`` for every assignment."""
    return {p.name: aid for aid in course.assignment_ids() for p in (course.solutions / aid).glob("*.ipynb")}


def _place(course: Course, entries: dict, stamp: str) -> list[tuple[str, str]]:
    placed = []
    for (student, aid), files in sorted(entries.items()):
        folder = course.submitted / student / aid
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in files:
            (folder / name).write_bytes(data)
        (folder / "timestamp.txt").write_text(stamp)
        placed.append((student, aid))
    return placed


def _classify(parts: list[str], known: dict[str, str], aid_hint: str | None):
    """``(student, aid, file name)`` for one entry path, or ``None`` to skip it."""
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts) or not parts[-1].endswith(".ipynb"):
        return None
    if len(parts) >= 3 and _ID_RE.match(parts[-3]) and parts[-2] in set(known.values()):
        return parts[-3], parts[-2], parts[-1]
    name = parts[-1]
    for nb_name, aid in sorted(known.items(), key=lambda kv: -len(kv[0])):
        if name.endswith(nb_name) and name != nb_name and (aid_hint in (None, aid)):
            student = name.split("_", 1)[0]
            if _ID_RE.match(student):
                return student, aid, nb_name
    if aid_hint and "_" in name:  # a renamed notebook of a one-notebook assignment
        student = name.split("_", 1)[0]
        if _ID_RE.match(student):
            return student, aid_hint, name.split("_", 1)[1]
    return None


def collect(course: Course, source, aid: str | None = None) -> list[tuple[str, str]]:
    """Copy submissions from a folder or a zip; returns the ``(student, aid)`` pairs placed."""
    source = Path(source)
    known = _notebook_names(course)
    if aid is not None:
        course.require_assignment(aid)
    entries: dict = {}
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                if info.is_dir() or info.file_size > _MAX_MEMBER_BYTES:
                    continue
                hit = _classify(info.filename.replace("\\", "/").split("/"), known, aid)
                if hit:
                    entries.setdefault(hit[:2], []).append((hit[2], zf.read(info)))
    elif source.is_dir():
        for path in sorted(source.rglob("*.ipynb")):
            if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_MEMBER_BYTES:
                continue
            hit = _classify(list(path.relative_to(source).parts), known, aid)
            if hit:
                entries.setdefault(hit[:2], []).append((hit[2], path.read_bytes()))
    else:
        raise CollectError(f"{source} is neither a folder nor a zip file")
    if not entries:
        raise CollectError(f"no submissions found in {source} (expected <student>/<aid>/*.ipynb or "
                           "<student>_..._<notebook>.ipynb)")
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    return _place(course, entries, stamp)
