"""The secret seed of an assignment's hidden cases: drawn once, then kept.

Hidden checks judge a notebook on cases drawn from a seed (:func:`autograder.checks.draw_cases`). If
every grading run drew a new seed, a partly wrong answer (one that fails some inputs and not others)
could pass in one run and fail in the next, so a regrade, or the second half of a run resumed after a
crash, could change a grade that nothing else changed. So the first run that grades an assignment
draws its seed with :mod:`secrets` and keeps it in ``work/seeds/<aid>.seed`` (the instructor's git-ignored
work folder, mode 0600; nothing is released, exported or fed back from there), and every later run uses
it: ``convlab-grade grade`` on any number of workers or on Dask, and nbgrader's own Autograde through
``PrepareHidden``. The seed is part of the grader digest (:func:`autograder.resume.grader_digest`):
delete the file to draw new cases, and the next run grades every submission again under them.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

__all__ = ["assignment_seed"]


def _read(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd) as f:
        text = f.read(100)
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{path} does not hold a seed ({text[:40]!r}); delete it to draw a new one") from None


def assignment_seed(seeds_dir, aid: str) -> int:
    """The seed of ``aid``'s hidden cases kept in ``seeds_dir``, drawn and written on first use.

    The file appears whole or not at all (written aside, then hard-linked into place), so two runs
    starting together agree on one seed.
    """
    if not aid or "/" in aid or aid.startswith("."):
        raise ValueError(f"not an assignment id: {aid!r}")
    folder = Path(seeds_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{aid}.seed"
    if os.path.lexists(path):
        return _read(path)
    draft = folder / f".{aid}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"{secrets.randbits(63)}\n")
    try:
        os.link(draft, path)  # fails if another run kept its seed first: then that one is the seed
    except FileExistsError:
        pass
    finally:
        os.unlink(draft)
    return _read(path)
