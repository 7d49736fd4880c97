"""The seeds of the hidden cases: one secret per assignment, drawn once and kept, and one seed per notebook.

Hidden checks judge a notebook on cases drawn from a seed (:func:`autograder.checks.draw_cases`).

- **Kept.** If every grading run drew a new seed, a partly wrong answer (one that fails some inputs and
  not others) could pass in one run and fail in the next, so a regrade, or the second half of a run
  resumed after a crash, could change a grade that nothing else changed. So the first run grading an
  assignment draws a secret with :mod:`secrets` and keeps it in ``work/seeds/<aid>.seed`` (the
  instructor's git-ignored work folder, mode 0600; nothing is released, exported or fed back from
  there), and every later run uses it (:func:`assignment_seed`): ``convlab-grade grade`` on any number
  of workers or on Dask, and nbgrader's own Autograde through ``PrepareHidden``.
- **Per notebook.** Feedback pages list the failed cases with their inputs. With one set of cases for
  the whole class, a student could hard-code the answers to those inputs and hand in again, or pass
  them to a classmate who hands in later. So each notebook's cases come from its own seed, an HMAC of
  the student's own code under the assignment's secret (:func:`notebook_seed`): the same notebook gets
  the same cases in every run, a changed one (or another student's) gets others.

The secret is part of the grader digest (:func:`autograder.resume.grader_digest`): delete the file to
draw new cases for everyone, and the next run grades every submission again under them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

__all__ = ["assignment_seed", "notebook_seed"]


def _read(path: Path) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    with os.fdopen(fd) as f:
        text = f.read(100)
    try:
        return int(text.strip())
    except ValueError:
        raise ValueError(f"{path} does not hold a seed ({text[:40]!r}); delete it to draw a new one") from None


def assignment_seed(seeds_dir, aid: str) -> int:
    """The secret of ``aid``'s hidden cases kept in ``seeds_dir``, drawn and written on first use.

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


def notebook_seed(base: int, aid: str, sources) -> int:
    """The seed of one notebook's hidden cases: an HMAC-SHA256, keyed by ``base`` (the assignment's
    secret, or a seed given for a run), of the assignment id and the sources of the student's own cells
    (``sources``: ``(cell name, source)`` pairs, :func:`autograder.scan.student_sources`). Outputs and
    the release's locked cells do not count; a changed line of the student's code changes the cases."""
    message = json.dumps([aid, [[name, source] for name, source in sources]]).encode()
    key = int(base).to_bytes(16, "big", signed=True)
    return int.from_bytes(hmac.new(key, message, hashlib.sha256).digest()[:8], "big") >> 1
