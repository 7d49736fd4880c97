"""``release``: generate ``assignments/<aid>`` from ``solutions/<aid>`` and prove nothing leaked.

nbgrader's ``GenerateAssignment`` does the work (stubs, locked cells, hidden tests stripped, cells
saved in the gradebook). Afterwards every released notebook is rewritten in a canonical form (no
outputs, no execution counts, sorted keys) so the release is byte-for-byte reproducible and CI can
regenerate it and diff, and :func:`find_leaks` checks that no solution code, no hidden-test text, no
``checks.py`` and no mutant (``mutants/``, ``*.mutant``) reached the release.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import MARKERS, marked_lines
from autograder.course import Course, ensure_tools_on_path

__all__ = ["ReleaseLeakError", "ReleaseResult", "release", "release_to", "find_leaks", "canonicalize",
           "secret_lines"]

_MARKERS = (*MARKERS, "run_hidden(")
_MIN_SECRET_CHARS = 10
_SECRET_FILES = ("checks.py", "mutants", "*.mutant")  # rglob patterns: files or folders


class ReleaseLeakError(RuntimeError):
    """The generated release contains something that must stay in ``solutions/``."""


@dataclass(frozen=True)
class ReleaseResult:
    aid: str
    notebooks: tuple[Path, ...]


def secret_lines(nb) -> set[str]:
    """Stripped lines inside solution / hidden-test regions that appear nowhere outside them.

    Short lines (``return out``) and comments are skipped: they are too common to prove a leak.
    """
    inside, outside = set(), set()
    for cell in nb.cells:
        for region, text in marked_lines(cell.source):
            (inside if region else outside).add(text)
    return {t for t in inside - outside if len(t) >= _MIN_SECRET_CHARS and not t.startswith("#")}


def canonicalize(path: Path) -> None:
    """Rewrite a released notebook deterministically: no outputs or counts, sorted JSON keys."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)


def find_leaks(course: Course, aid: str) -> list[str]:
    """Every problem of ``assignments/<aid>`` (empty when the release is clean)."""
    problems = []
    released = course.assignments / aid
    for secret in _SECRET_FILES:
        for hit in sorted(released.rglob(secret)):
            problems.append(f"{hit.relative_to(course.root)} must not be released")
    for src in sorted((course.solutions / aid).glob("*.ipynb")):
        out = released / src.name
        if not out.exists():
            problems.append(f"{out.relative_to(course.root)} is missing")
            continue
        secrets = secret_lines(nbformat.read(src, as_version=4))
        nb = nbformat.read(out, as_version=4)
        for index, cell in enumerate(nb.cells):
            for marker in _MARKERS:
                if marker in cell.source:
                    problems.append(f"{out.name} cell {index}: contains {marker!r}")
            for line in cell.source.splitlines():
                if line.strip() in secrets:
                    problems.append(f"{out.name} cell {index}: solution or hidden line {line.strip()[:60]!r}")
            if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
                problems.append(f"{out.name} cell {index}: has outputs")
    return problems


def release(course: Course, aids=None, log=None) -> list[ReleaseResult]:
    """Generate the release of ``aids`` (default: every assignment) and verify it.

    Raises :class:`ReleaseLeakError` listing every problem found.
    """
    from nbgrader.converters import GenerateAssignment  # noqa: PLC0415 - heavy import, only when used
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    ensure_tools_on_path()
    aids = [course.require_assignment(a) for a in aids] if aids else course.assignment_ids()
    results = []
    for aid in aids:
        cfg = course.config()
        coursedir = CourseDirectory(config=cfg)
        coursedir.assignment_id = aid
        converter = GenerateAssignment(coursedir=coursedir, config=cfg)
        converter.force = True
        if log is not None:
            converter.log = log
        converter.start()
        notebooks = tuple(sorted((course.assignments / aid).glob("*.ipynb")))
        for path in notebooks:
            canonicalize(path)
        problems = find_leaks(course, aid)
        if problems:
            raise ReleaseLeakError(f"release of {aid} is not clean:\n  " + "\n  ".join(problems))
        results.append(ReleaseResult(aid, notebooks))
    return results


def release_to(course: Course, aids, out_dir, log=None) -> list[ReleaseResult]:
    """Release ``aids`` (default: all) into ``out_dir/<aid>/``, leaving the course untouched.

    The release is generated in a throw-away copy of the course (its own gradebook), verified like
    :func:`release`, then copied; an existing ``out_dir/<aid>/`` is replaced.
    """
    aids = [course.require_assignment(a) for a in aids] if aids else course.assignment_ids()
    out_dir = Path(out_dir).resolve()
    results = []
    with tempfile.TemporaryDirectory(prefix="convlab-release-") as tmp:
        scratch = Course(Path(tmp))
        for aid in aids:
            shutil.copytree(course.solutions / aid, scratch.solutions / aid,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
        shutil.copy(course.root / "nbgrader_config.py", scratch.root / "nbgrader_config.py")
        for result in release(scratch, aids, log=log):
            target = out_dir / result.aid
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(scratch.assignments / result.aid, target)
            results.append(ReleaseResult(result.aid, tuple(target / p.name for p in result.notebooks)))
    return results
