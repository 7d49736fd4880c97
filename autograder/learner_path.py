"""``progress [FOLDER]``: where a learner stands in the course, read from their own notebooks.

For every released notebook, in course order (``assignments/`` sorted: a1 ... a7), the learner's copy
in the work folder (``mywork/<aid>/<name>.ipynb``) is one of:

- ``missing``: no copy yet (``make lab`` / ``convlab-grade start`` makes one);
- ``untouched``: a copy of the release as released, or only run since (its canonical form still matches
  the digest in ``assignments/<aid>/.convlab-release.json``, or the one ``start`` copied it from);
- ``checked``: self-checked (:func:`autograder.check_cache.check`, reusing the verdict recorded for the
  same bytes): one status per exercise, as ``convlab-grade check`` prints them;
- ``broken``: it could not be read or run (the reason is kept).

Time left is the intro's estimate (``**Time.** About N hours``) scaled by the share of the notebook's
points whose exercises do not pass yet; the next step is the first exercise in course order that does
not pass. Pure functions of those rows do the printing, so tests call them directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from autograder.cells import exercises
from autograder.check_cache import check
from autograder.course import Course, CourseError
from autograder.exercises import stated_hours
from autograder.mywork import COPIED, MYWORK
from autograder.release import RECORD, canonical_digest, file_digest
from autograder.selfcheck import QuestionStatus, self_check_async, summarize

__all__ = ["NotebookProgress", "course_notebooks", "notebook_state", "course_progress", "format_progress",
           "next_step"]

_MARKS = {"pass": "pass", "fail": "FAIL", "unanswered": "todo", "error": "ERROR"}


@dataclass(frozen=True)
class NotebookProgress:
    """One notebook of the course as the learner has it; ``statuses`` hold one entry per exercise
    (all ``unanswered`` unless ``checked``) and ``points`` the weight of each (its heading's points)."""

    aid: str
    notebook: Path
    state: str
    statuses: tuple[QuestionStatus, ...]
    points: tuple[float, ...]
    numbers: tuple[int | None, ...]
    hours: float | None
    detail: str = ""
    reused: bool = False

    @property
    def total_points(self) -> float:
        return sum(self.points)

    @property
    def passed_points(self) -> float:
        return sum(p for s, p in zip(self.statuses, self.points) if s.passes)

    @property
    def passed(self) -> int:
        return sum(s.passes for s in self.statuses)

    @property
    def hours_left(self) -> float | None:
        """The estimate times the share of points not passing yet (all of it unless checked)."""
        if self.hours is None:
            return None
        if not self.total_points:
            return 0.0 if self.statuses and self.passed == len(self.statuses) else self.hours
        return self.hours * (self.total_points - self.passed_points) / self.total_points


def course_notebooks(course: Course) -> list[tuple[str, Path]]:
    """``(aid, released notebook)`` of every released notebook, in course order."""
    if not course.assignments.is_dir():
        return []
    return [(folder.name, nb) for folder in sorted(p for p in course.assignments.iterdir() if p.is_dir())
            for nb in sorted(folder.glob("*.ipynb"))]


def _json(path: Path) -> dict:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def notebook_state(released: Path, mine: Path, copied_from: str | None = None) -> str:
    """``missing``, ``untouched`` (as released, or only run since) or ``started``.

    ``copied_from`` is the digest of the release file ``start`` copied ``mine`` from, when it recorded one.
    """
    if not mine.is_file():
        return "missing"
    releases = {_json(released.parent / RECORD).get(released.name), copied_from} - {None}
    if file_digest(mine) in releases or canonical_digest(mine) in releases:
        return "untouched"
    return "started"


def _questions(nb, statuses: list[QuestionStatus]) -> tuple[tuple[float, ...], tuple[int | None, ...]]:
    """Each question's weight and exercise number: the headings' when they match the questions, else 1 and None."""
    heads = exercises(nb)
    if heads and len(heads) == len(statuses):
        return tuple(e.points for e in heads), tuple(e.number for e in heads)
    return tuple(1.0 for _ in statuses), tuple(None for _ in statuses)


def _not_started(aid: str, released_nb, mine: Path, state: str, hours) -> NotebookProgress:
    statuses = [QuestionStatus(s.question, "unanswered", "not started") for s in summarize(released_nb)]
    return NotebookProgress(aid, mine, state, tuple(statuses), *_questions(released_nb, statuses), hours)


def course_progress(course: Course, folder=None, *, recheck: bool = False, timeout: int = 120,
                    runner=self_check_async, bar=None) -> list[NotebookProgress]:
    """Every released notebook as the learner has it in ``folder`` (default ``mywork/``), in course order.

    Started notebooks are self-checked unless the record holds a verdict for the same bytes (``recheck``
    runs them all again); ``bar`` (a tqdm) counts them. ``CourseError`` when ``folder`` does not exist.
    """
    folder = Path(folder) if folder is not None else course.root / MYWORK
    if not folder.is_dir():
        shown = MYWORK + "/" if folder == course.root / MYWORK else str(folder)
        raise CourseError(f"no work folder {shown}: run `make lab` (or `convlab-grade start`) to copy the notebooks "
                          "into mywork/, or name your folder: convlab-grade progress FOLDER")
    copied = _json(folder / COPIED)
    plan = []
    for aid, released in course_notebooks(course):
        mine = folder / aid / released.name
        plan.append((aid, released, mine, notebook_state(released, mine, copied.get(f"{aid}/{released.name}"))))
    if bar is not None:
        bar.reset(total=sum(state == "started" for *_, state in plan))
    rows = []
    for aid, released, mine, state in plan:
        released_nb = nbformat.read(released, as_version=4)
        hours = stated_hours(next((c.source for c in released_nb.cells if c.cell_type == "markdown"), ""))
        if state != "started":
            rows.append(_not_started(aid, released_nb, mine, state, hours))
            continue
        if bar is not None:
            bar.set_description(aid)
        try:
            nb = nbformat.read(mine, as_version=4)
            statuses, reused = check(mine, timeout=timeout, reuse=not recheck, folder=folder, runner=runner)
        except Exception as exc:  # noqa: BLE001 - one notebook that cannot run must not hide the others
            why = f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
            rows.append(replace(_not_started(aid, released_nb, mine, "broken", hours), detail=why))
        else:
            rows.append(NotebookProgress(aid, mine, "checked", tuple(statuses), *_questions(nb, statuses), hours,
                                         reused=reused))
        if bar is not None:
            bar.update(1)
    return rows


def _hours(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f} h"


def format_progress(rows: list[NotebookProgress], folder_label: str = "mywork/") -> str:
    """The table: per notebook, exercises and points passing and the time left; then each exercise's mark."""
    head = f"{'assignment':<20} {'exercises':>9} {'points':>11} {'time left':>10}"
    lines = [f"Your progress in {folder_label} (visible tests only; hidden tests run when a notebook is graded)",
             "", head]
    for row in rows:
        name = row.aid if row.notebook.name == f"{row.aid}.ipynb" else f"{row.aid}/{row.notebook.name}"
        points = f"{row.passed_points:g} / {row.total_points:g}"
        lines.append(f"{name:<20} {f'{row.passed} / {len(row.statuses)}':>9} {points:>11} {_hours(row.hours_left):>10}")
        if row.state == "missing":
            lines.append("    not started (no copy in your folder yet)")
        elif row.state == "untouched":
            lines.append("    not started (your copy is as released)")
        elif row.state == "broken":
            lines.append(f"    could not run: {row.detail}")
        else:
            marks = [f"{n if n is not None else k + 1} {_MARKS[s.state]}{'?' if s.state == 'pass' and s.notes else ''}"
                     for k, (n, s) in enumerate(zip(row.numbers, row.statuses))]
            lines.append("    " + "   ".join(marks) + ("   (unchanged since its last check)" if row.reused else ""))
    passed = sum(r.passed for r in rows)
    total = sum(len(r.statuses) for r in rows)
    points = f"{sum(r.passed_points for r in rows):g} / {sum(r.total_points for r in rows):g}"
    left = [r.hours_left for r in rows]
    hours = _hours(sum(h for h in left if h is not None)) + (" + ?" if None in left else "")
    lines += [f"{'course':<20} {f'{passed} / {total}':>9} {points:>11} {hours:>10}"]
    return "\n".join(lines)


def _shown(path: Path, root: Path) -> str:
    path = path.resolve() if path.exists() else path
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def next_step(rows: list[NotebookProgress], root: Path) -> str:
    """One suggested step: the first exercise in course order that does not pass, and what to run."""
    for row in rows:
        where = _shown(row.notebook, Path(root).resolve())
        if row.state == "missing":
            return (f"Next: start {row.aid}: run `make lab` (or `convlab-grade start`) to copy it into your folder, "
                    f"then open {where}")
        if row.state == "broken":
            return (f"Next: {where} could not be run ({row.detail}). Open it in JupyterLab, fix what stops it, "
                    f"then run `convlab-grade check {where}`")
        for number, status in zip(row.numbers, row.statuses):
            if status.passes:
                continue
            title = status.question
            hint = f"; stuck? `convlab-grade hint {where} {number}`" if number is not None else ""
            if row.state == "untouched":
                return (f"Next: open {where} and start with {title}; then run `convlab-grade check {where}`")
            if status.state == "unanswered":
                return f"Next: write {title} in {where}, then run `convlab-grade check {where}`{hint}"
            verdict = {"fail": "fails its visible tests", "error": "raises an error"}.get(
                status.state, "passes its visible tests, but the diagnosis finds a problem")
            why = status.notes[0].strip() if status.state == "pass" else status.detail
            return (f"Next: {title} in {where} {verdict} ({why}). Fix it, then run "
                    f"`convlab-grade check {where}`{hint}")
    return "Next: nothing left: every exercise passes its visible tests. Hidden tests run when your notebooks are graded."
