"""``start``: the student's own copies of the released notebooks, in ``mywork/<aid>/``.

``assignments/`` belongs to the release (``convlab-grade release`` regenerates it, ``git pull`` updates
it), so students work in ``mywork/`` (git-ignored), which neither ever writes. :func:`start` copies
into it every released file that is not there yet and never replaces one that is. It remembers, in
``mywork/.convlab-copied.json``, the digest of the release file each copy came from, so that when the
release changes later it says so (and how to take the new version) instead of touching the copy.
``start(course, edition="zh")`` (``convlab-grade start --lang zh``, ``make lab EDITION=zh``) copies the
Chinese edition, ``assignments-zh/<aid>/``, under the same names: both editions are graded alike.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from autograder.course import Course
from autograder.editions import DEFAULT, EDITIONS
from autograder.release import file_digest, released_files

__all__ = ["MYWORK", "COPIED", "StartLine", "start"]

MYWORK = "mywork"
COPIED = ".convlab-copied.json"  # {path under mywork/: sha256 of the release file it was copied from}


@dataclass(frozen=True)
class StartLine:
    """``action`` is ``"copied"``, ``"kept"`` or ``"kept, release updated"``; ``text`` is the line to print."""

    action: str
    text: str


def _release_files(course: Course, edition: str = DEFAULT) -> list[tuple[str, Path]]:
    """``(path under mywork/, released file)`` for every file of every released assignment of ``edition``."""
    release = course.release_dir(edition)
    folders = sorted(p for p in release.iterdir() if p.is_dir()) if release.is_dir() else []
    return [(f"{folder.name}/{name}", path) for folder in folders for name, path in released_files(folder).items()]


def _release_digests(course: Course, rel: str) -> set[str]:
    """The digests of ``rel`` in every edition's release: a copy of either edition is up to date."""
    return {file_digest(p) for p in (course.release_dir(e) / rel for e in EDITIONS) if p.is_file()}


def start(course: Course, dest=None, edition: str = DEFAULT) -> list[StartLine]:
    """Copy what is missing from ``edition``'s release (``assignments/``, ``assignments-zh/``) into ``dest``
    (default ``mywork/``); one line per file. Every edition has the same file names, so a notebook already
    there, in either language, is kept."""
    dest = Path(dest) if dest is not None else course.root / MYWORK
    dest.mkdir(parents=True, exist_ok=True)
    book = dest / COPIED
    copied = json.loads(book.read_text(encoding="utf-8")) if book.is_file() else {}
    lines = []
    for rel, source in _release_files(course, edition):
        target = dest / rel
        shown = target.relative_to(course.root) if target.is_relative_to(course.root) else target
        released = source.relative_to(course.root)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
            copied[rel] = file_digest(source)
            lines.append(StartLine("copied", f"copied {released} -> {shown}"))
        elif rel in copied and copied[rel] not in _release_digests(course, rel):
            lines.append(StartLine("kept, release updated", (
                f"kept {shown}: {released} was updated since you copied it; your copy is unchanged. To take "
                f"the new version, rename your copy (e.g. add -old to its name) and run this again")))
        else:
            lines.append(StartLine("kept", f"kept {shown} (yours; never overwritten)"))
    book.write_text(json.dumps(copied, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return lines
