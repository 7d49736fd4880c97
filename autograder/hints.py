"""The hint ladder: three rungs per exercise, revealed one at a time, and the record of those taken.

Each assignment's ladder is ``hints.toml`` beside its notebook (``solutions/<aid>/``, released to
``assignments/<aid>/`` and copied to ``mywork/<aid>/`` with the notebook)::

    [exercise.2]
    title = "conv_backward_naive"
    idea = "..."   # rung 1: the idea
    plan = "..."   # rung 2: the plan, steps and the shapes of the intermediates
    line = "..."   # rung 3: the one line or expression that is hardest

Rungs are taken in order: asking again gives the next rung not yet taken; after the third the
ladder points at the worked solution. Two ways ask, and both record what they showed (exercise,
rung, time, how) without ever writing the notebook file while JupyterLab may hold it open (Lab
would then offer to "Revert" to the file on disk, its default button, and lose unsaved work):

- ``convlab-grade hint NOTEBOOK 2`` prints the rung and appends its record to the journal
  ``<notebook stem>.hints-taken.json`` beside the notebook, a file Lab never opens.
- ``hint(2)`` in a notebook cell does the same, and shows the rung as the cell's output, whose
  metadata carries every record known (the journal's included): Lab saves them with the notebook, as
  part of the learner's own save. So the notebook ends up holding every hint taken, and the journal
  remembers a hint shown but not saved yet. ``convlab-grade hint NOTEBOOK --into-notebook`` copies the
  records into the notebook's metadata (``metadata.convlab.hints_taken``); close the notebook in Lab first.

:func:`hints_taken` merges all three places: the notebook's metadata, its outputs' metadata and the
journal. The grader and ``check`` rerun notebooks, so these outputs are ordinary outputs to them, and
the release never sees a learner's notebook.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from autograder.hostfs import write_atomic

__all__ = ["RUNGS", "RUNG_NAMES", "LADDER_FILE", "OUTPUT_KEY", "HintError", "Ladder", "HintRecord", "Hint",
           "load_ladders", "ladder_path", "journal_path", "hints_taken", "take_hint", "taken_rungs",
           "save_into_notebook", "format_hint", "solution_hint", "command_hint", "hint"]

#: The keys of one exercise's table in ``hints.toml``, in the order they are revealed.
RUNGS = ("idea", "plan", "line")
RUNG_NAMES = {"idea": "the idea", "plan": "the plan", "line": "the hardest line"}
LADDER_FILE = "hints.toml"
#: The key of a hint output's metadata (and of the notebook metadata's ``convlab`` entry).
OUTPUT_KEY = "convlab_hints"
_JOURNAL_SUFFIX = ".hints-taken.json"


class HintError(ValueError):
    """No ladder for this notebook, or no such exercise in it."""


@dataclass(frozen=True)
class Ladder:
    """One exercise's rungs (``RUNGS`` order) and title."""

    number: int
    title: str
    rungs: tuple[str, ...]


@dataclass(frozen=True)
class HintRecord:
    """One rung shown: ``rung`` counts from 1, ``time`` is ISO 8601 UTC, ``via`` is ``notebook`` or ``command``."""

    exercise: int
    rung: int
    time: str
    via: str


@dataclass(frozen=True)
class Hint:
    """What one request shows: ``rungs`` are ``(number, text)`` pairs; ``new`` the record taken now, if any."""

    ladder: Ladder
    rungs: tuple[tuple[int, str], ...]
    new: HintRecord | None
    exhausted: bool


def ladder_path(notebook) -> Path:
    """Where the ladder of ``notebook`` lives: ``hints.toml`` in the notebook's folder."""
    return Path(notebook).resolve().parent / LADDER_FILE


def journal_path(notebook) -> Path:
    """The command's record beside ``notebook``: ``<stem>.hints-taken.json``."""
    notebook = Path(notebook).resolve()
    return notebook.with_name(notebook.stem + _JOURNAL_SUFFIX)


def load_ladders(path) -> dict[int, Ladder]:
    """Every exercise's ladder in the ``hints.toml`` at ``path``, by exercise number."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise HintError(f"no hint ladder at {path} (it comes with the release, next to the notebook)") from exc
    ladders = {}
    for key, table in data.get("exercise", {}).items():
        rungs = tuple(str(table.get(name, "")).strip() for name in RUNGS)
        ladders[int(key)] = Ladder(int(key), str(table.get("title", "")), rungs)
    return ladders


def _ladder(notebook, exercise: int) -> Ladder:
    ladders = load_ladders(ladder_path(notebook))
    if exercise not in ladders:
        known = ", ".join(str(n) for n in sorted(ladders)) or "none"
        raise HintError(f"{Path(notebook).name} has no exercise {exercise} (its exercises: {known})")
    return ladders[exercise]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _records(items, via=None) -> list[HintRecord]:
    """The well-formed records among ``items`` (anything else, e.g. a hand-edited entry, is skipped)."""
    out = []
    for item in items if isinstance(items, list) else []:
        try:
            out.append(HintRecord(int(item["exercise"]), int(item["rung"]), str(item["time"]),
                                  str(item.get("via", via or "notebook"))))
        except (TypeError, KeyError, ValueError):
            continue
    return out


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return None


def _notebook_records(notebook: Path) -> list[HintRecord]:
    nb = _read_json(notebook)
    if not isinstance(nb, dict):
        return []
    meta = nb.get("metadata", {}).get("convlab", {})
    found = _records(meta.get("hints_taken") if isinstance(meta, dict) else None)
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            if isinstance(output, dict) and isinstance(output.get("metadata"), dict):
                found += _records(output["metadata"].get(OUTPUT_KEY))
    return found


def hints_taken(notebook) -> list[HintRecord]:
    """Every rung taken for ``notebook``, oldest first, each (exercise, rung) once (its first time).

    Read from the notebook file (its metadata and the metadata of ``hint()`` outputs, as last saved)
    and from the command's journal beside it.
    """
    notebook = Path(notebook)
    found = _notebook_records(notebook) + _records(_read_json(journal_path(notebook)), via="command")
    first: dict[tuple[int, int], HintRecord] = {}
    for record in sorted(found, key=lambda r: r.time):
        first.setdefault((record.exercise, record.rung), record)
    return sorted(first.values(), key=lambda r: (r.time, r.exercise, r.rung))


def taken_rungs(records, exercise: int) -> int:
    """How many rungs of ``exercise`` are taken: rungs go in order, so the highest one taken."""
    return max((r.rung for r in records if r.exercise == exercise), default=0)


def take_hint(notebook, exercise: int, *, via: str, all_taken: bool = False) -> Hint:
    """The next rung of ``exercise`` not yet taken (with ``all_taken``: every rung taken so far, none new).

    Records nothing itself: the caller stores ``Hint.new``.
    """
    ladder = _ladder(notebook, exercise)
    done = min(taken_rungs(hints_taken(notebook), exercise), len(ladder.rungs))
    if all_taken or done == len(ladder.rungs):
        shown = tuple((k, ladder.rungs[k - 1]) for k in range(1, done + 1)) if all_taken else ()
        return Hint(ladder, shown, None, done == len(ladder.rungs))
    rung = done + 1
    new = HintRecord(exercise, rung, _now(), via)
    return Hint(ladder, ((rung, ladder.rungs[rung - 1]),), new, rung == len(ladder.rungs))


def _record_in_journal(notebook: Path, record: HintRecord) -> None:
    path = journal_path(notebook)
    kept = _read_json(path)
    entries = kept if isinstance(kept, list) else []
    write_atomic(path, (json.dumps([*entries, asdict(record)], indent=1) + "\n").encode("utf-8"))


def save_into_notebook(notebook) -> int:
    """Copy every hint taken into the notebook's ``metadata.convlab.hints_taken``; how many records.

    Writes the notebook file (atomically): close it in JupyterLab first, or Lab will offer to revert.
    """
    import nbformat  # noqa: PLC0415 - only this command writes a notebook

    notebook = Path(notebook)
    nb = nbformat.read(notebook, as_version=4)
    records = hints_taken(notebook)
    nb.metadata.setdefault("convlab", {})["hints_taken"] = [asdict(r) for r in records]
    write_atomic(notebook, (nbformat.writes(nb) + "\n").encode("utf-8"))
    return len(records)


def format_hint(hint_: Hint, solution: str) -> str:
    """The text a learner reads: each rung shown, then what comes next (or where the solution is)."""
    ladder, total = hint_.ladder, len(hint_.ladder.rungs)
    head = f"Exercise {ladder.number}" + (f" ({ladder.title})" if ladder.title else "")
    lines = []
    for k, text in hint_.rungs:
        lines += [f"{head}, hint {k} of {total}: {RUNG_NAMES[RUNGS[k - 1]]}", text, ""]
    if not hint_.rungs:
        lines += [f"{head}: all {total} hints taken (show them again with --all-taken, or hint(N, all_taken=True))."
                  if hint_.exhausted else f"{head}: no hint taken yet.", ""]
    if hint_.exhausted:
        last = "That was the last hint" if hint_.new is not None else "There are no more hints"
        lines.append(f"{last} of exercise {ladder.number}. If you are still stuck, the worked solution is "
                     f"{solution}.")
    elif hint_.new is not None or hint_.rungs:
        lines.append(f"Ask again for hint {hint_.rungs[-1][0] + 1} of {total}.")
    return "\n".join(lines).rstrip() + "\n"


def solution_hint(notebook) -> str:
    """Where the worked solution of ``notebook``'s assignment is, in words."""
    notebook = Path(notebook).resolve()
    aid = notebook.parent.name
    for folder in notebook.parents:
        candidate = folder / "solutions" / aid / f"{aid}.ipynb"
        if candidate.is_file():
            return f"in {os.path.relpath(candidate)} (the full answers, next to the hidden tests)"
    return f"solutions/{aid}/{aid}.ipynb in the course repository"


def command_hint(notebook, exercise: int, *, all_taken: bool = False) -> str:
    """``convlab-grade hint``: the next rung (recorded in the journal), as text to print."""
    notebook = Path(notebook)
    if not notebook.is_file():
        raise HintError(f"no notebook at {notebook}")
    shown = take_hint(notebook, exercise, via="command", all_taken=all_taken)
    if shown.new is not None:
        _record_in_journal(notebook, shown.new)
    return format_hint(shown, solution_hint(notebook))


def _session_notebook() -> Path | None:
    """The notebook this kernel serves (Jupyter's ``JPY_SESSION_NAME``), or ``None`` outside a Jupyter session.

    ``convlab-grade check`` and Validate run notebooks without a session: there a ``hint()`` left in a
    cell takes nothing, so checking a notebook never climbs its ladders. (The grading sandbox has only
    a stand-in of this module, written by ``autograder.grading_build``.)
    """
    named = os.environ.get("JPY_SESSION_NAME")
    if named and Path(named).suffix == ".ipynb" and Path(named).is_file():
        return Path(named)
    return None


def hint(exercise: int, *, notebook=None, all_taken: bool = False) -> None:
    """In a notebook cell: show the next hint of ``exercise`` (``all_taken=True``: those taken so far).

    The output's metadata carries every hint taken, this one included, so saving the notebook records
    them. A hint shown but not yet saved counts as taken too: it is also written to the journal beside
    the notebook (never to the notebook file itself, which JupyterLab holds). ``notebook`` defaults to
    the notebook of this Jupyter session; without one (a notebook run by ``check``) nothing is taken.
    """
    from IPython.display import display  # noqa: PLC0415 - only in a kernel

    path = Path(notebook) if notebook is not None else _session_notebook()
    if path is None:
        print(f"hint({exercise}): not in a JupyterLab session (a check run): no hint taken")
        return
    shown = take_hint(path, exercise, via="notebook", all_taken=all_taken)
    if shown.new is not None:
        _record_in_journal(path, shown.new)
    records = hints_taken(path)
    text = format_hint(shown, solution_hint(path))
    display({"text/plain": text, "text/markdown": _markdown(text)}, raw=True,
            metadata={OUTPUT_KEY: [asdict(r) for r in records]})


def _markdown(text: str) -> str:
    """The hint as Markdown: plain paragraphs, code kept in its backticks."""
    return "\n\n".join(block.replace("\n", "  \n") for block in text.split("\n\n"))
