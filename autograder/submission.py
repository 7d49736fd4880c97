"""A submitted folder made ready for nbgrader: copied safely, each notebook read once and written once.

:func:`stage_submission` copies ``work/submitted/<student>/<aid>/`` into the grader's staging folder
(regular files only, no links, size-capped: :mod:`autograder.hostfs`), then repairs what can be
repaired, in memory:

- a renamed notebook (the only one in the folder) is graded under its expected name;
- nbformat 3 is converted;
- every nbgrader cell gets the release's metadata back, and nbgrader metadata nobody released is
  stripped (raised points, answer cells turned into grade cells, copied or invented grade cells);
- deleted nbgrader cells are put back in their place (nbgrader then resets their source), and
  hidden-test cells left as released get their hidden tests back (so nbgrader's log keeps its
  "checksum changed" warnings for cells a student really edited);

and writes each notebook once. What cannot be read (not JSON, not a notebook, too large, nested too
deeply) is left out, so nbgrader scores it as missing; every step says what it did, in plain words.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from autograder.cells import grade_id, has_solution, nbgrader_meta
from autograder.hostfs import copy_regular_files, write_atomic

__all__ = ["MAX_NOTEBOOK_BYTES", "stage_submission", "parse_notebook", "reset_cell_metadata",
           "restore_missing_cells", "restore_hidden_sources"]

MAX_NOTEBOOK_BYTES = 50 * 2**20
MAX_SUBMISSION_BYTES = 200 * 2**20
_GRADING_KEYS = ("grade", "solution", "locked", "points", "task")


def parse_notebook(raw: bytes):
    """``(notebook, None, major)`` for a readable notebook (converted to nbformat 4, ``major`` its
    original version), else ``(None, why, None)``."""
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, "it is not a notebook file (not valid JSON)", None
    except RecursionError:
        return None, "it is nested too deeply to be a notebook", None
    if not isinstance(doc, dict) or ("cells" not in doc and "worksheets" not in doc):
        return None, "it is not a Jupyter notebook", None
    try:
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except RecursionError:
        return None, "it is nested too deeply to be a notebook", None
    except (nbformat.ValidationError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"the notebook format is invalid ({type(exc).__name__})", None
    return nb, None, doc.get("nbformat")


def _released_metadata(release_nb) -> dict:
    return {nbgrader_meta(c)["grade_id"]: dict(nbgrader_meta(c)) for c in release_nb.cells
            if nbgrader_meta(c).get("grade_id")}


def reset_cell_metadata(nb, release_nb) -> list[str]:
    """Give every nbgrader cell of ``nb`` the release's metadata; strip nbgrader metadata nobody released.

    A student may raise a cell's points, turn an answer cell into a grade cell, copy a graded cell,
    or add a grade cell of their own. nbgrader either trusts some of that or stops with an error
    (a grade cell it does not know). Resetting first makes every such submission grade normally.
    """
    released = _released_metadata(release_nb)
    changed, seen = [], set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        if gid in released and gid not in seen:
            seen.add(gid)
            if any(meta.get(k) != released[gid].get(k) for k in _GRADING_KEYS):
                changed.append(gid)
            cell.metadata["nbgrader"] = dict(released[gid])
        else:  # unknown, missing or duplicated grade_id: a plain cell from now on
            del cell.metadata["nbgrader"]
            changed.append(gid if gid else f"cell {index}")
    if not changed:
        return []
    return ["Grading metadata that differed from the assignment was reset before grading "
            f"(cells: {', '.join(str(c) for c in changed)})."]


def restore_missing_cells(nb, release_nb) -> list[str]:
    """Put back, in ``nb``, every nbgrader cell of the release that the student deleted, in its place.

    nbgrader's own ``add_missing_cells`` fails (KeyError) when the cell before a deleted grade cell
    is not itself a grade cell; restoring them here first sidesteps that. OverwriteCells then resets
    their source (hidden tests included) from the gradebook.
    """
    present = {grade_id(c) for c in nb.cells}
    restored = []
    for index, cell in enumerate(release_nb.cells):
        name = grade_id(cell)
        if not name or name in present:
            continue
        previous = [grade_id(c) for c in release_nb.cells[:index] if grade_id(c) in present]
        at = 0
        if previous:
            at = next(i for i, c in enumerate(nb.cells) if grade_id(c) == previous[-1]) + 1
        nb.cells.insert(at, cell)
        present.add(name)
        restored.append(name)
    if not restored:
        return []
    return [f"Cells you deleted were put back before grading: {', '.join(restored)}."]


def restore_hidden_sources(nb, release_nb, source_nb) -> None:
    """Put the hidden tests back into every hidden-test cell the student left as released.

    nbgrader puts them back anyway (``OverwriteCells``), but warns that the cell's checksum changed:
    doing it here keeps the instructor's log for real changes (a student editing a locked cell).
    """
    released = {grade_id(c): c.source for c in release_nb.cells if grade_id(c)}
    full = {grade_id(c): c.source for c in source_nb.cells if grade_id(c)}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in released and gid in full and released[gid] != full[gid] and cell.source.strip() == released[gid].strip() \
                and not has_solution(full[gid]):
            cell.source = full[gid]


def _repair(path: Path, release_path: Path, source_path: Path) -> list[str]:
    """Read ``path`` once, repair it in memory, write it once (or move it aside if unreadable)."""
    raw = path.read_bytes()  # our own staged copy
    nb, problem, major = parse_notebook(raw)
    if nb is None:
        rejected = path.parent / ".rejected"
        rejected.mkdir(exist_ok=True)
        shutil.move(path, rejected / path.name)
        return [f"{path.name} could not be read ({problem}): its questions score 0."]
    notes = []
    if major != 4:
        notes.append(f"{path.name}: converted from nbformat {major} to 4.")
    if release_path.is_file():
        release_nb = nbformat.read(release_path, as_version=4)
        notes += reset_cell_metadata(nb, release_nb)
        notes += restore_missing_cells(nb, release_nb)
        if source_path.is_file():
            restore_hidden_sources(nb, release_nb, nbformat.read(source_path, as_version=4))
    write_atomic(path, nbformat.writes(nb).encode("utf-8"))
    return notes


def stage_submission(submitted: Path, staged: Path, expected: list[str], release_dir: Path,
                     source_dir: Path) -> list[str]:
    """Copy ``submitted`` to the new folder ``staged`` and repair its notebooks; the notes for the student.

    ``release_dir`` and ``source_dir`` hold the assignment's released and source notebooks.
    """
    notes = [f"{why}: it was not graded." for why in
             copy_regular_files(submitted, staged, MAX_NOTEBOOK_BYTES, MAX_SUBMISSION_BYTES)]
    strays = sorted(p.name for p in staged.glob("*.ipynb") if p.name not in expected)
    for name in expected:
        path = staged / name
        if not path.exists() and len(strays) == 1 and len(expected) == 1:
            stray = strays.pop()
            (staged / stray).rename(path)
            notes.append(f"Your notebook was named {stray}; it was graded as {name}.")
        if not path.exists():
            notes.append(f"{name} was not submitted: its questions score 0.")
            continue
        notes += _repair(path, release_dir / name, source_dir / name)
    return notes
