"""``release``: generate ``assignments/<aid>`` from ``solutions/<aid>`` and prove nothing leaked.

nbgrader's ``GenerateAssignment`` does the work (stubs, locked cells, hidden tests stripped, cells
saved in the gradebook). Afterwards every released notebook is rewritten in a canonical form (no
outputs, no execution counts, sorted keys) so the release is byte-for-byte reproducible and CI can
regenerate it and diff, and :func:`find_leaks` checks that no solution code, no hidden-test text, no
``checks.py`` and no mutant (``mutants/``, ``*.mutant``) reached the release.

nbgrader replaces a release folder as a whole. So that no one's work is lost that way, every release
records in ``assignments/<aid>/.convlab-release.json`` the SHA-256 of each file it wrote, and the next
release refuses (:class:`ReleaseOverwriteError`), unless forced, while the folder holds a file that
differs from its record or that the release did not write. A folder without a record (released before
records existed) passes only if its notebooks are in the canonical form a release writes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import MARKERS, marked_lines
from autograder.course import Course, ensure_tools_on_path
from autograder.editions import DEFAULT, EDITION_FILES, EDITIONS, TRANSLATIONS, edition_notebook
from autograder.skips import skip_problems

__all__ = ["ReleaseLeakError", "ReleaseSkipError", "ReleaseOverwriteError", "ReleaseResult", "release", "release_to",
           "find_leaks", "canonicalize", "write_editions", "secret_lines", "changed_since_release", "released_files",
           "file_digest", "canonical_digest", "RECORD"]

#: In each released folder: ``{relative path: sha256}`` of every file the release wrote.
RECORD = ".convlab-release.json"
_NOT_RELEASED = {RECORD, ".ipynb_checkpoints", "__pycache__"}  # Lab's and Python's own litter is not work

_MARKERS = (*MARKERS, "run_hidden(")
_MIN_SECRET_CHARS = 10
_SECRET_FILES = ("checks.py", "mutants", "*.mutant")  # rglob patterns: files or folders


class ReleaseLeakError(RuntimeError):
    """The generated release contains something that must stay in ``solutions/``."""


class ReleaseSkipError(RuntimeError):
    """A cell tagged ``skip-when-graded`` could change grading (see :func:`autograder.skips.skip_problems`)."""


class ReleaseOverwriteError(RuntimeError):
    """Releasing would replace files someone changed (see :func:`changed_since_release`)."""


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


def _canonical_text(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
    nb.metadata.pop("widgets", None)
    return nbformat.writes(nb) + "\n"  # what nbformat.write puts in a file


def canonicalize(path: Path) -> None:
    """Rewrite a released notebook deterministically: no outputs or counts, sorted JSON keys."""
    path.write_text(_canonical_text(path), encoding="utf-8")


def released_files(folder: Path) -> dict[str, Path]:
    """``{path relative to folder: path}`` of the files a release of ``folder`` consists of (no record, no litter)."""
    return {str(p.relative_to(folder)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not _NOT_RELEASED & set(p.relative_to(folder).parts)}


def file_digest(path: Path) -> str:
    """SHA-256 of the file's bytes, in hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def canonical_digest(path: Path) -> str | None:
    """SHA-256 of the notebook at ``path`` in the form a release writes (outputs and counts dropped), so a
    copy that was only run matches its release's record; ``None`` when it is not a readable notebook."""
    try:
        return hashlib.sha256(_canonical_text(path).encode("utf-8")).hexdigest()
    except Exception:  # noqa: BLE001 - unreadable or not a notebook: it matches no release
        return None


def _write_record(folder: Path) -> None:
    record = {name: file_digest(p) for name, p in released_files(folder).items()}
    (folder / RECORD).write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def _is_canonical(path: Path) -> bool:
    try:
        return path.read_text(encoding="utf-8") == _canonical_text(path)
    except Exception:  # noqa: BLE001 - unreadable or not a notebook: not as a release writes it
        return False


def changed_since_release(folder: Path) -> list[str]:
    """Why replacing the released ``folder`` would lose work: one line per file (empty: safe).

    A file differing from the release's record, or not written by the release, counts; without a
    record, a notebook not in canonical form (outputs, execution counts, another layout) does.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    record_file = folder / RECORD
    record = json.loads(record_file.read_text(encoding="utf-8")) if record_file.is_file() else None
    problems = []
    for name, path in released_files(folder).items():
        if record is None:
            if path.suffix == ".ipynb" and not _is_canonical(path):
                problems.append(f"{path} has outputs or edits: it is not a notebook as the release writes it")
        elif name not in record:
            problems.append(f"{path} was not written by the release")
        elif file_digest(path) != record[name]:
            problems.append(f"{path} was modified after the release wrote it")
    return problems


def _refuse_to_overwrite(folders) -> None:
    problems = [line for folder in folders for line in changed_since_release(folder)]
    if problems:
        raise ReleaseOverwriteError(
            "refusing to release over changed files (students work in mywork/, see README.md):\n  "
            + "\n  ".join(problems)
            + "\nmove them elsewhere, or run the release again with --force to replace them")


def find_leaks(course: Course, aid: str, edition: str = DEFAULT) -> list[str]:
    """Every problem of the ``edition``'s release of ``aid`` (``assignments/<aid>``, ``assignments-zh/<aid>``;
    empty when the release is clean)."""
    problems = []
    released = course.release_dir(edition) / aid
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
            if TRANSLATIONS in cell.get("metadata", {}):
                problems.append(f"{out.name} cell {index}: still holds the source's {TRANSLATIONS!r}")
    return problems


def write_editions(course: Course, aid: str) -> None:
    """Turn nbgrader's release of ``aid`` into one folder per edition (:mod:`autograder.editions`).

    Each released notebook gets its cells' translations back from the source notebook (by cell id, the
    one thing nbgrader keeps of a cell besides its text and markup), then every edition is written
    canonically, under the same file name: ``assignments/<aid>/`` without translations,
    ``assignments-zh/<aid>/`` in Chinese. The other files of the release are copied to every edition, and
    an edition's own files (``EDITION_FILES``) added.
    """
    english = course.release_dir(DEFAULT) / aid
    for edition in EDITIONS[1:]:
        folder = course.release_dir(edition) / aid
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(english, folder, ignore=shutil.ignore_patterns(RECORD, "*.ipynb", *_NOT_RELEASED))
        for name, text in EDITION_FILES.get(edition, {}).items():
            (folder / name).write_text(text, encoding="utf-8")
    for path in sorted(english.glob("*.ipynb")):
        source = nbformat.read(course.solutions / aid / path.name, as_version=4)
        texts = {c.get("id"): c.metadata[TRANSLATIONS] for c in source.cells if TRANSLATIONS in c.get("metadata", {})}
        released = nbformat.read(path, as_version=4)
        for cell in released.cells:
            cell.metadata.pop(TRANSLATIONS, None)
            if cell.get("id") in texts:
                cell.metadata[TRANSLATIONS] = texts[cell.get("id")]
        for edition in EDITIONS:
            target = course.release_dir(edition) / aid / path.name
            nbformat.write(edition_notebook(released, edition), target)
            canonicalize(target)


def release(course: Course, aids=None, log=None, force: bool = False) -> list[ReleaseResult]:
    """Generate the release of ``aids`` (default: every assignment) and verify it.

    Raises :class:`ReleaseOverwriteError`, before anything is written, when a released folder holds
    changed files (unless ``force``), :class:`ReleaseSkipError` when a ``skip-when-graded`` tag could
    change grading, and :class:`ReleaseLeakError` listing every leak found.
    """
    from nbgrader.converters import GenerateAssignment  # noqa: PLC0415 - heavy import, only when used
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    ensure_tools_on_path()
    aids = [course.require_assignment(a) for a in aids] if aids else course.assignment_ids()
    if not force:
        _refuse_to_overwrite(course.release_dir(edition) / aid for edition in EDITIONS for aid in aids)
    unsafe = [problem for aid in aids for src in sorted((course.solutions / aid).glob("*.ipynb"))
              for problem in skip_problems(nbformat.read(src, as_version=4), src.name)]
    if unsafe:
        raise ReleaseSkipError("cells tagged skip-when-graded that grading needs:\n  " + "\n  ".join(unsafe))
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
        write_editions(course, aid)
        problems = []
        for edition in EDITIONS:
            _write_record(course.release_dir(edition) / aid)
            problems += find_leaks(course, aid, edition)
        if problems:
            raise ReleaseLeakError(f"release of {aid} is not clean:\n  " + "\n  ".join(problems))
        results.append(ReleaseResult(aid, notebooks))
    return results


def release_to(course: Course, aids, out_dir, log=None, force: bool = False) -> list[ReleaseResult]:
    """Release ``aids`` (default: all) into ``out_dir/<aid>/``, leaving the course untouched.

    The release is generated in a throw-away copy of the course (its own gradebook), verified like
    :func:`release`, then copied; an existing ``out_dir/<aid>/`` is replaced, under the same rule. The
    other editions go beside it as the course's do: ``<out_dir>-zh/<aid>/``.
    """
    aids = [course.require_assignment(a) for a in aids] if aids else course.assignment_ids()
    out_dir = Path(out_dir).resolve()
    # each edition beside the English one, as assignments-zh/ beside assignments/: DIR/<aid>, DIR-zh/<aid>
    outs = {e: out_dir.with_name(out_dir.name + Course(out_dir).release_dir(e).name[len("assignments"):])
            for e in EDITIONS}
    if not force:
        _refuse_to_overwrite(outs[e] / aid for e in EDITIONS for aid in aids)
    results = []
    with tempfile.TemporaryDirectory(prefix="convlab-release-") as tmp:
        scratch = Course(Path(tmp))
        for aid in aids:
            shutil.copytree(course.solutions / aid, scratch.solutions / aid,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
        shutil.copy(course.root / "nbgrader_config.py", scratch.root / "nbgrader_config.py")
        for result in release(scratch, aids, log=log):
            for edition in EDITIONS:
                target = outs[edition] / result.aid
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(scratch.release_dir(edition) / result.aid, target)
            results.append(ReleaseResult(result.aid, tuple(out_dir / result.aid / p.name for p in result.notebooks)))
    return results
