"""The grader's own file access to what a submission handed in: no link followed, sizes capped.

Everything under ``work/submitted/<student>/`` came from a student. Before the grader reads, copies
or replaces any of it, it opens the file itself without following links (``O_NOFOLLOW``), checks
that it is a regular file (a FIFO or a device is never opened for reading: ``O_NONBLOCK`` plus
``fstat``), reads at most a fixed number of bytes, and writes through a temporary file and an atomic
rename.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["UnsafeFile", "read_regular", "write_atomic", "copy_regular_files"]


class UnsafeFile(OSError):
    """A path that is a link, not a regular file, or larger than allowed."""


def read_regular(path, max_bytes: int) -> bytes:
    """The bytes of the regular file ``path`` (not a link); ``UnsafeFile`` otherwise or when larger
    than ``max_bytes``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if Path(path).is_symlink():
            raise UnsafeFile(f"{Path(path).name} is a link, not a file") from None
        raise UnsafeFile(f"{Path(path).name} cannot be opened ({exc.strerror})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(f"{Path(path).name} is not a regular file")
        if info.st_size > max_bytes:
            raise UnsafeFile(f"{Path(path).name} is larger than {max_bytes // 2**20} MB")
        chunks, left = [], max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > max_bytes:
            raise UnsafeFile(f"{Path(path).name} is larger than {max_bytes // 2**20} MB")
        return data
    finally:
        os.close(fd)


def write_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a new temporary file in the same folder and a rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    done = False
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            tmp.unlink(missing_ok=True)


def copy_regular_files(src, dst, max_file_bytes: int, max_total_bytes: int) -> list[str]:
    """Copy the regular files directly inside ``src`` to the new folder ``dst``; what was left out, why.

    Sub-folders, links, special files and files over the caps are not copied.
    """
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True)
    skipped, total = [], 0
    with os.scandir(src) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False) and not entry.is_symlink():
                continue  # checkpoints and the like: never graded
            try:
                data = read_regular(entry.path, max_file_bytes)
            except UnsafeFile as exc:
                skipped.append(str(exc))
                continue
            total += len(data)
            if total > max_total_bytes:
                skipped.append(f"{entry.name}: the submission is larger than {max_total_bytes // 2**20} MB in all")
                continue
            write_atomic(dst / entry.name, data)
    return skipped
