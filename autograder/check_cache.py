"""The self-check's verdicts on a learner's notebooks, kept until a notebook changes.

Running the visible checks of all seven notebooks takes minutes (a6 trains networks), so
``convlab-grade progress`` keeps each notebook's statuses in ``.convlab-progress.json`` at the top of
the learner's work folder (``mywork/``), under the notebook's path in that folder and the SHA-256 of its
bytes: an unchanged notebook reuses them, an edited one is checked again. :func:`check` is the one way
a notebook is self-checked with this record in mind: ``convlab-grade check``, the Lab's Validate button
and ``progress`` all go through it, so whichever ran last left its verdict for the others.

A work folder is one that ``start`` made (it holds ``.convlab-copied.json``) or that ``progress`` has
already looked at (it holds the record); a notebook checked anywhere else (``assignments/``,
``solutions/``) leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from jupyter_core.utils import run_sync

from autograder.mywork import COPIED
from autograder.release import file_digest
from autograder.selfcheck import QuestionStatus, self_check_async

__all__ = ["CACHE", "work_folder", "cached", "remember", "check", "check_async"]

CACHE = ".convlab-progress.json"
_FORMAT = 2  # bump when what a status means changes: older records are then ignored


def work_folder(notebook) -> Path | None:
    """The learner's work folder holding ``notebook`` as ``FOLDER/<aid>/<name>.ipynb``, or ``None``."""
    folder = Path(notebook).resolve().parent.parent
    return folder if (folder / COPIED).is_file() or (folder / CACHE).is_file() else None


def _entries(folder: Path) -> dict:
    try:
        record = json.loads((folder / CACHE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or torn by hand: start afresh
        return {}
    if not isinstance(record, dict) or record.get("format") != _FORMAT:
        return {}
    notebooks = record.get("notebooks")
    return notebooks if isinstance(notebooks, dict) else {}


def cached(folder: Path, name: str, digest: str) -> list[QuestionStatus] | None:
    """The statuses recorded for ``folder/name`` when its bytes still have ``digest``, else ``None``."""
    entry = _entries(Path(folder)).get(name)
    if not isinstance(entry, dict) or entry.get("sha256") != digest:
        return None
    try:
        return [QuestionStatus(s["question"], s["state"], s.get("detail", ""), tuple(s.get("notes", ())))
                for s in entry["statuses"]]
    except (KeyError, TypeError):
        return None


def remember(folder: Path, name: str, digest: str, statuses: list[QuestionStatus]) -> None:
    """Record ``statuses`` for ``folder/name`` as it was with ``digest`` (the file is replaced atomically)."""
    folder = Path(folder)
    notebooks = _entries(folder)
    notebooks[name] = {"sha256": digest,
                       "statuses": [{"question": s.question, "state": s.state, "detail": s.detail,
                                     "notes": list(s.notes)} for s in statuses]}
    text = json.dumps({"format": _FORMAT, "notebooks": notebooks}, indent=1, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=CACHE, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, folder / CACHE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


async def check_async(path, timeout: int = 120, *, reuse: bool = False, folder=None,
                      runner=self_check_async) -> tuple[list[QuestionStatus], bool]:
    """Self-check the notebook at ``path``: ``(statuses, reused)``.

    ``folder`` is its work folder (default: :func:`work_folder`); in one, a run's statuses are recorded
    and, with ``reuse``, a notebook whose bytes match the record is not run at all (``reused`` is then
    true). ``runner`` runs the notebook (tests pass a stand-in). A notebook edited while it ran is not
    recorded: the verdict belongs to neither version.
    """
    path = Path(path)
    folder = Path(folder) if folder is not None else work_folder(path)
    name = path.resolve().relative_to(folder.resolve()).as_posix() if folder is not None else None
    digest = file_digest(path)
    if reuse and name is not None:
        statuses = cached(folder, name, digest)
        if statuses is not None:
            return statuses, True
    statuses = await runner(path, timeout=timeout)
    if name is not None and file_digest(path) == digest:
        remember(folder, name, digest, statuses)
    return statuses, False


def check(path, timeout: int = 120, *, reuse: bool = False, folder=None,
          runner=self_check_async) -> tuple[list[QuestionStatus], bool]:
    """:func:`check_async`, for callers without an event loop (the command line)."""
    return run_sync(check_async)(path, timeout=timeout, reuse=reuse, folder=folder, runner=runner)
