"""Shared helpers of the notebook tests: discovery, nbgrader cell roles, running, releasing.

Every assignment is discovered from ``solutions/<aid>/<aid>.ipynb``; nothing here
names an assignment, so a new folder under ``solutions/`` (with its mutants in
``solutions/<aid>/mutants/``, read by :mod:`autograder.mutants`) is picked up by every test automatically.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat

from autograder.cells import exercise_headings, nbgrader_meta, solution_regions
from autograder.course import Course
from autograder.exercises import stated_hours

from autograder.checks import case_kinds, check_rng, draw_cases, reference_outcomes

from autograder.mutants import Mutant, apply_mutant, mutants_of

__all__ = [
    "ROOT",
    "SOLUTIONS",
    "RELEASE",
    "MAY_FAIL_IN_RELEASE",
    "make_course",
    "assignment_ids",
    "solution_notebook",
    "checks_file",
    "read_notebook",
    "answer_cells",
    "exercise_of",
    "nbgrader_meta",
    "cell_role",
    "grade_cells",
    "solution_regions",
    "exercise_headings",
    "markdown_tables",
    "intro_points",
    "Mutant",
    "mutants",
    "mutant_source",
    "run_notebook",
    "error_cells",
    "validation_points",
    "estimated_hours",
    "stated_hours",
    "NOT_YET_TRANSLATED",
    "TRANSLATED",
    "release_notebook",
    "edition_cases",
]

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = ROOT / "solutions"
RELEASE = ROOT / "assignments"

NEEDS_ANSWER = "needs-answer"


def assignment_ids() -> list[str]:
    """Every ``<aid>`` with a source notebook ``solutions/<aid>/<aid>.ipynb``, sorted (the course's own rule)."""
    return Course(ROOT).assignment_ids()


# Assignments whose Chinese edition (autograder.editions) is still being written: their missing
# translations are listed by test_notebook_editions.py but allowed (an expected failure). Remove an
# assignment once every markdown cell of it has its "zh" text; the release, run, glossary and grading tests
# then cover its Chinese edition too (a translated assignment left here fails: strict xfail).
NOT_YET_TRANSLATED: set[str] = set()


def translated(aid: str) -> bool:
    return aid not in NOT_YET_TRANSLATED


TRANSLATED = [aid for aid in Course(ROOT).assignment_ids() if translated(aid)]


def release_notebook(aid: str, edition: str = "en", root: Path = ROOT) -> Path:
    """The released notebook of ``aid`` in ``edition`` (``assignments/``, ``assignments-zh/``) under ``root``."""
    return Course(root).release_dir(edition) / aid / f"{aid}.ipynb"


def edition_cases(aids) -> list[tuple[str, str]]:
    """``(aid, edition)`` for every edition worth running: English always, other editions once translated."""
    from autograder.editions import EDITIONS  # noqa: PLC0415

    return [(aid, e) for aid in aids for e in EDITIONS if e == EDITIONS[0] or translated(aid)]


def make_course(root: Path, aid: str) -> Path:
    """A course folder at ``root`` holding a copy of the config and of ``solutions/<aid>/``."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(SOLUTIONS / aid, root / "solutions" / aid,
                    ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    return root


def solution_notebook(aid: str) -> Path:
    return SOLUTIONS / aid / f"{aid}.ipynb"


def checks_file(aid: str) -> Path:
    return SOLUTIONS / aid / "checks.py"


def read_notebook(path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


# cell roles (cell_role) that may show an error in the unanswered release: the answer cells, the
# visible tests calling them, and demo cells tagged needs-answer
MAY_FAIL_IN_RELEASE = frozenset({"solution", "visible_tests", "needs_answer"})


def cell_role(cell) -> str:
    """One of ``markdown``, ``setup`` (plain code), ``solution``, ``visible_tests``, ``hidden_tests``,
    ``needs_answer`` (a demo cell that calls the student's functions) or ``other_locked``."""
    if cell.cell_type != "code":
        return "markdown"
    meta = nbgrader_meta(cell)
    if meta.get("solution"):
        return "solution"
    if meta.get("grade"):
        return "hidden_tests"
    if meta.get("locked") and "grade_id" in meta:
        return "visible_tests"
    if NEEDS_ANSWER in cell.get("metadata", {}).get("tags", []):
        return "needs_answer"
    return "setup"


def grade_cells(nb) -> dict[str, tuple[int, float]]:
    """``{grade_id: (cell index, points)}`` of the graded (hidden-test) cells."""
    return {
        nbgrader_meta(c)["grade_id"]: (i, float(nbgrader_meta(c).get("points", 0)))
        for i, c in enumerate(nb.cells)
        if cell_role(c) == "hidden_tests"
    }


def markdown_tables(text: str) -> list[list[list[str]]]:
    """The pipe tables of a markdown text: each a list of rows (header first), each row a list of cells."""
    tables, current = [], []
    for line in text.splitlines() + [""]:
        if line.lstrip().startswith("|"):
            row = [x.strip() for x in line.strip().strip("|").split("|")]
            if not set("".join(row)) <= set("-: "):  # not the |---|---| rule
                current.append(row)
        elif current:
            tables.append(current)
            current = []
    return tables


def intro_points(nb) -> dict[str, float]:
    """``{exercise: points}`` from the first table with ``exercise`` and ``points`` columns in the intro
    (the first markdown cell); keys are the ``exercise`` column's text. ``{}`` when there is none."""
    intro = next((c.source for c in nb.cells if c.cell_type == "markdown"), "")
    for header, *rows in markdown_tables(intro):
        names = [x.lower() for x in header]
        if "exercise" in names and "points" in names:
            col, pts = names.index("exercise"), names.index("points")
            return {r[col]: float(r[pts]) for r in rows}
    return {}


# The course's time estimate (README, each intro): reading at about this many words a minute, plus this
# many minutes per line of the worked solution, rounded up to the half hour. Not measured on students.
READING_WORDS_PER_MINUTE = 100
MINUTES_PER_SOLUTION_LINE = 2


def estimated_hours(nb) -> float:
    """The time estimate of a notebook: its markdown words read at ``READING_WORDS_PER_MINUTE`` plus
    ``MINUTES_PER_SOLUTION_LINE`` per non-blank, non-comment line of its solutions, in half hours (rounded up)."""
    words = sum(len(c.source.split()) for c in nb.cells if c.cell_type == "markdown")
    lines = sum(1 for c in nb.cells if cell_role(c) == "solution"
                for region in solution_regions(c.source) for line in region.splitlines()
                if line.strip() and not line.strip().startswith("#"))
    minutes = words / READING_WORDS_PER_MINUTE + MINUTES_PER_SOLUTION_LINE * lines
    return -(-minutes // 30) / 2


def mutants() -> list[Mutant]:
    """Every mutant (``solutions/<aid>/mutants/*.mutant``) of every discovered assignment."""
    return [m for aid in assignment_ids() for m in mutants_of(SOLUTIONS, aid)]


def mutant_source(mutant: Mutant) -> str:
    """The mutant's cell: its solution cell as a student sees it, with the mutant's hunks applied."""
    return apply_mutant(solution_notebook(mutant.aid), mutant)


def run_notebook(nb, cwd, timeout: int = 120, *, run_all: bool = False) -> float:
    """Execute ``nb`` in place with ``cwd`` as working folder; returns seconds.

    By default every error is recorded and execution goes on. With ``run_all`` it behaves like
    JupyterLab's Run All: an error stops the run (``nbclient.exceptions.CellExecutionError``) unless
    its cell carries the tag ``raises-exception``, which both JupyterLab and nbclient honour.
    """
    from nbclient import NotebookClient  # noqa: PLC0415 - heavy import, slow tests only

    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=not run_all,
                            resources={"metadata": {"path": str(cwd)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def error_cells(nb) -> list[tuple[int, str, str]]:
    """``(cell index, role, 'Name: message')`` for every code cell with an error output."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                found.append((i, cell_role(cell), f"{out.get('ename')}: {out.get('evalue', '')[:300]}"))
    return found


def answer_cells(nb) -> list[str]:
    """The grade ids of the solution cells (the questions ``convlab-grade check`` reports), in order."""
    return [nbgrader_meta(c)["grade_id"] for c in nb.cells if cell_role(c) == "solution"]


def exercise_of(nb) -> dict[str, int | None]:
    """``{grade_id: N}``: the exercise of each graded cell, from the nearest ``### Exercise N`` heading above
    it (None for a graded cell above the first heading)."""
    headings = exercise_headings(nb)
    return {gid: next((n for i, n, _ in reversed(headings) if i < index), None)
            for gid, (index, _) in grade_cells(nb).items()}


def validation_points(nb, checks, seed) -> dict[str, float]:
    """``{grade_id: points carried by its must-raise cases}`` (see autograder.checks.score_check)."""
    cells: dict = {}
    for check in checks:
        cases = draw_cases(check, check_rng(seed, check.name))
        kinds = case_kinds(check, cases, reference_outcomes(check, cases), seed)
        cells.setdefault(check.grade_id, []).append((check, len(cases), "raise" in kinds))
    graded = grade_cells(nb)
    found = {}
    for gid, entries in cells.items():
        total = sum(n for _, n, _ in entries)
        share = sum(n / total * check.raise_share for check, n, raises in entries if raises)
        if share:
            found[gid] = round(graded[gid][1] * share, 6)
    return found
