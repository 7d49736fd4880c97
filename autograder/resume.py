"""What is already graded: a fingerprint of each submission and of everything that grades it.

A submission's report records the fingerprint it was graded under: the bytes of every file the
student handed in (read without following links; a link, FIFO or device counts by its name and kind
only) and the *grader digest* of the run (the autograder and library sources, the assignment's
solution and release folders, ``nbgrader_config.py``, the due date, nbgrader's version and the
grading options). ``grade AID`` run again skips a submission whose report says ``graded`` under the
same fingerprint, so a grader killed halfway resumes where it stopped; anything else is graded again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import asdict
from pathlib import Path

__all__ = ["grader_digest", "submission_fingerprint"]

_CHUNK = 2**20


def _hash_file(digest, path: Path) -> None:
    """Feed the bytes of the regular file ``path`` (opened without following links) to ``digest``;
    anything else is fed its kind only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        digest.update(b"<unreadable or link>")
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            digest.update(f"<mode {stat.S_IFMT(info.st_mode):o}>".encode())
            return
        while chunk := os.read(fd, _CHUNK):
            digest.update(chunk)
    finally:
        os.close(fd)


def _hash_tree(digest, folder: Path, skip=("__pycache__", ".ipynb_checkpoints")) -> None:
    """Every entry under ``folder`` in name order: its relative path, then its bytes (links not followed)."""
    if not folder.is_dir() or folder.is_symlink():
        digest.update(f"<no folder {folder.name}>".encode())
        return
    for base, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for name in sorted(files + [d for d in dirs if Path(base, d).is_symlink()]):
            path = Path(base, name)
            digest.update(b"\0" + str(path.relative_to(folder)).encode() + b"\0")
            _hash_file(digest, path)


def submission_fingerprint(folder: Path, grader: str) -> str:
    """The fingerprint of the submission in ``folder`` graded under ``grader`` (a :func:`grader_digest`)."""
    digest = hashlib.sha256(grader.encode())
    _hash_tree(digest, Path(folder))
    return digest.hexdigest()


def grader_digest(course, aid: str, options, due=None) -> str:
    """One digest of everything besides the submission that decides its grade in this run."""
    import autograder  # noqa: PLC0415
    import convlab  # noqa: PLC0415
    import nbgrader  # noqa: PLC0415

    digest = hashlib.sha256()
    for folder in (Path(autograder.__file__).parent, Path(convlab.__file__).parent, course.solutions / aid,
                   course.assignments / aid):
        _hash_tree(digest, folder)
    _hash_file(digest, course.root / "nbgrader_config.py")
    settings = {"options": asdict(options), "due": str(due), "nbgrader": nbgrader.__version__}
    settings["options"].pop("workers", None)  # how many processes grade does not change a grade
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    return digest.hexdigest()
