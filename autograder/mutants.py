"""Mutants: plausible wrong answers, kept as small patches on a solution cell.

A mutant lives next to the exercise it breaks, in ``solutions/<aid>/mutants/<name>.mutant`` (never
released). It names the solution cell it patches, the hidden-test cells it must lose points on, why
it is wrong, optionally (``# fails:``) the visible-test cells that must catch it and (``# hint:``) the
pattern its diagnosis must report (:mod:`autograder.diagnosis`), and one or more hunks, each replacing an exact snippet of that cell's source::

    # grade_id: conv_output_size
    # loses: conv_output_size_hidden
    # why: forgets the + 1 (counts the steps between windows instead of the windows)
    @@ replace
        return span // stride + 1
    @@ with
        return span // stride
    @@ end

The snippets are matched against the cell as a student sees it: solution markers and hidden tests
stripped exactly as :func:`autograder.testing.make_submission` strips them. Every ``replace`` snippet
must occur exactly once in that source (and hunks must not overlap), otherwise applying the mutant
raises :class:`MutantError` naming the mutant, the cell and the snippet: a solution edited under a
mutant makes it fail loudly instead of quietly testing something else. Lines between markers are
taken verbatim (blank lines included); the line break before ``@@ with`` / ``@@ end`` is not part
of the snippet. Only blank lines may sit between hunks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from autograder.cells import grade_id as cell_grade_id

__all__ = ["MUTANTS_DIR", "SUFFIX", "Hunk", "Mutant", "MutantError", "parse_mutant", "read_mutant",
           "mutants_dir", "mutant_files", "mutants_of", "patch_source", "solution_source", "apply_mutant",
           "replacements"]

MUTANTS_DIR = "mutants"
SUFFIX = ".mutant"
_HEADER_RE = re.compile(r"^# (grade_id|loses|fails|why|hint):(.*)$")
_REPLACE, _WITH, _END = "@@ replace", "@@ with", "@@ end"
_SHOWN_CHARS = 300


class MutantError(ValueError):
    """A mutant file that cannot be read, or a mutant that no longer fits its solution cell."""


@dataclass(frozen=True)
class Hunk:
    """Replace the exact snippet ``old`` (which must occur once) by ``new``."""

    old: str
    new: str


@dataclass(frozen=True)
class Mutant:
    """A plausible wrong answer: ``hunks`` patch solution cell ``grade_id``; it must lose ``loses``
    (hidden-test cells) and make the visible-test cells ``fails`` raise; ``hint`` is the pattern id
    its diagnosis must report (:mod:`autograder.diagnosis`)."""

    aid: str
    name: str
    grade_id: str
    loses: tuple[str, ...]
    why: str
    hunks: tuple[Hunk, ...]
    path: Path | None = None
    fails: tuple[str, ...] = ()
    hint: str = ""

    @property
    def label(self) -> str:
        """``<aid>/<name>``, how messages name the mutant."""
        return f"{self.aid}/{self.name}" if self.aid else self.name


def _header(lines: list[str], where: str) -> tuple[dict[str, str], int]:
    """The ``# key: value`` lines at the top and the index of the first line after them."""
    fields: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].startswith("#"):
        match = _HEADER_RE.match(lines[i])
        if not match:
            raise MutantError(f"{where}: line {i + 1}: expected '# grade_id:', '# loses:', '# fails:', "
                              f"'# why:' or '# hint:', got {lines[i]!r}")
        key, value = match.group(1), match.group(2).strip()
        if key in fields:
            raise MutantError(f"{where}: line {i + 1}: '# {key}:' given twice")
        fields[key] = value
        i += 1
    for key in ("grade_id", "loses"):
        if not fields.get(key):
            raise MutantError(f"{where}: a mutant starts with '# grade_id: <solution cell>' and "
                              f"'# loses: <hidden cells>' ('# {key}:' is missing or empty)")
    return fields, i


def _block(lines: list[str], start: int, until: str, where: str) -> tuple[str, int]:
    """The verbatim text from ``start`` up to the marker line ``until``, and the index after it."""
    for j in range(start, len(lines)):
        if lines[j] == until:
            return "\n".join(lines[start:j]), j + 1
        if lines[j].startswith("@@"):
            raise MutantError(f"{where}: line {j + 1}: expected {until!r}, got {lines[j]!r}")
    raise MutantError(f"{where}: a hunk opened before line {start + 1} never reaches {until!r}")


def _hunks(lines: list[str], start: int, where: str) -> tuple[Hunk, ...]:
    """The ``@@ replace`` / ``@@ with`` / ``@@ end`` hunks from ``start`` on."""
    hunks = []
    i = start
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        if lines[i] != _REPLACE:
            raise MutantError(f"{where}: line {i + 1}: expected {_REPLACE!r} (only blank lines may sit "
                              f"between hunks), got {lines[i]!r}")
        old, i = _block(lines, i + 1, _WITH, where)
        new, i = _block(lines, i, _END, where)
        if not old.strip():
            raise MutantError(f"{where}: hunk {len(hunks) + 1} has an empty 'replace' snippet")
        if old == new:
            raise MutantError(f"{where}: hunk {len(hunks) + 1} replaces a snippet by itself")
        hunks.append(Hunk(old, new))
    if not hunks:
        raise MutantError(f"{where}: no hunk ('{_REPLACE}' ... '{_WITH}' ... '{_END}')")
    return tuple(hunks)


def parse_mutant(text: str, name: str, aid: str = "", path: Path | None = None) -> Mutant:
    """Parse the text of a mutant file (format in the module docstring); raises :class:`MutantError`."""
    where = str(path) if path is not None else name
    lines = text.splitlines()
    fields, start = _header(lines, where)
    loses, fails = (tuple(x.strip() for x in fields.get(key, "").split(",") if x.strip())
                    for key in ("loses", "fails"))
    return Mutant(aid, name, fields["grade_id"], loses, fields.get("why", ""), _hunks(lines, start, where), path,
                  fails, fields.get("hint", ""))


def read_mutant(path, aid: str | None = None) -> Mutant:
    """Read one mutant file; ``aid`` defaults to the ``<aid>`` of ``solutions/<aid>/mutants/``."""
    path = Path(path)
    if aid is None:
        aid = path.parent.parent.name if path.parent.name == MUTANTS_DIR else ""
    return parse_mutant(path.read_text(), path.stem, aid, path)


def mutants_dir(solutions_dir, aid: str) -> Path:
    """``<solutions_dir>/<aid>/mutants``, where the mutants of ``aid`` live."""
    return Path(solutions_dir) / aid / MUTANTS_DIR


def mutant_files(folder) -> list[Path]:
    """The ``*.mutant`` files of ``folder``, sorted by name (none when the folder does not exist)."""
    folder = Path(folder)
    return sorted(folder.glob(f"*{SUFFIX}")) if folder.is_dir() else []


def mutants_of(course_or_solutions_dir, aid: str) -> list[Mutant]:
    """Every mutant of ``aid``, sorted by name; a malformed file raises :class:`MutantError`.

    ``course_or_solutions_dir`` is a :class:`autograder.course.Course` or its ``solutions/`` folder.
    """
    solutions = getattr(course_or_solutions_dir, "solutions", course_or_solutions_dir)
    return [read_mutant(p, aid) for p in mutant_files(mutants_dir(solutions, aid))]


def _shown(snippet: str) -> str:
    """A snippet for an error message: its repr, cut after a few hundred characters."""
    text = snippet if len(snippet) <= _SHOWN_CHARS else snippet[:_SHOWN_CHARS] + "..."
    return repr(text)


def _occurrences(source: str, snippet: str) -> list[int]:
    """Start of every occurrence of ``snippet`` in ``source``, overlapping ones included."""
    starts, at = [], source.find(snippet)
    while at != -1:
        starts.append(at)
        at = source.find(snippet, at + 1)
    return starts


def patch_source(source: str, mutant: Mutant) -> str:
    """``source`` (the solution cell as a student sees it) with every hunk of ``mutant`` applied.

    Each snippet is located in the unpatched ``source``; it must occur exactly once and hunks must
    not overlap, otherwise :class:`MutantError` names the mutant, the cell and the snippet.
    """
    spans = []
    for hunk in mutant.hunks:
        found = _occurrences(source, hunk.old)
        if len(found) != 1:
            raise MutantError(
                f"mutant {mutant.label} ({mutant.path or 'no file'}): its snippet {_shown(hunk.old)} occurs "
                f"{len(found)} times in solution cell {mutant.grade_id!r}, expected exactly once; update the "
                "mutant to the current solution")
        start = found[0]
        spans.append((start, start + len(hunk.old), hunk))
    spans.sort(key=lambda s: s[0])
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise MutantError(f"mutant {mutant.label}: in solution cell {mutant.grade_id!r} the snippets "
                              f"{_shown(first.old)} and {_shown(second.old)} overlap")
    pieces, done = [], 0
    for start, end, hunk in spans:
        pieces += [source[done:start], hunk.new]
        done = end
    return "".join(pieces) + source[done:]


def solution_source(solution_nb, grade_id: str) -> str:
    """The source of cell ``grade_id`` of the solution notebook as a student sees it (markers stripped)."""
    from autograder.testing import make_submission  # noqa: PLC0415 - heavy import (nbgrader)

    for cell in make_submission(solution_nb).cells:
        if cell_grade_id(cell) == grade_id:
            return cell.source
    raise MutantError(f"{solution_nb} has no cell with grade_id {grade_id!r}")


def apply_mutant(solution_nb, mutant: Mutant) -> str:
    """The new source of the mutant's cell: its solution cell (markers stripped) with the hunks applied."""
    try:
        source = solution_source(solution_nb, mutant.grade_id)
    except MutantError as err:
        raise MutantError(f"mutant {mutant.label}: {err}") from None
    return patch_source(source, mutant)


def replacements(solution_nb, mutants) -> dict[str, str]:
    """``{grade_id: patched source}`` of ``mutants`` (on different cells), for
    :func:`autograder.testing.make_submission` and :func:`autograder.testing.score_locally`."""
    mutants = list(mutants)
    cells = [m.grade_id for m in mutants]
    if len(set(cells)) != len(cells):
        raise MutantError(f"mutants {[m.label for m in mutants]} patch the same cell twice: {cells}")
    return {m.grade_id: apply_mutant(solution_nb, m) for m in mutants}
