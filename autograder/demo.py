"""``convlab-grade demo``: release the course's assignments, grade a small sample class, report.

The demo course is built in a fresh folder (default ``out/grading-demo``) from the course's own
``solutions/``, so the instructor's ``work/`` folder and gradebook are never touched. The sample class
is made at demo time from the solution notebooks (no copies of solution code are kept anywhere):

| student | what they hand in |
|---|---|
| ``ada``   | the full solution |
| ``ben``   | the blank release, unchanged |
| ``cy``    | the solution with one plausible bug (a mutant from ``solutions/<aid>/mutants/``) |
| ``dee``   | the solution with two bugs in two different answers |
| ``eve``   | a notebook whose kernel dies half-way (``os._exit``) |
| ``flo``   | a file that is not a notebook |

Each mutant (a small patch on a solution cell, see :mod:`autograder.mutants`) names the hidden-test
cells it must lose (``# loses: ...``); the demo prints which cells lost points next to that
expectation, so it doubles as a smoke test of the grader. The demo course is a copy of the course's
``solutions/``, mutants included; nothing is read from the tests.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat

from autograder.cells import grade_id, nbgrader_meta
from autograder.collect import collect
from autograder.course import Course, CourseError
from autograder.feedback import generate_feedback
from autograder.grading import GradeOptions, grade_all, points
from autograder.release import release
from autograder.mutants import Mutant, MutantError, mutant_files, mutants_dir, read_mutant, replacements
from autograder.testing import make_submission

__all__ = ["run_demo", "pick_mutants", "build_sample_class", "REPO_ROOT",
           "STUDENTS"]

REPO_ROOT = Path(__file__).resolve().parent.parent
STUDENTS = {
    "ada": "full solution",
    "ben": "blank release",
    "cy": "one bug",
    "dee": "two bugs",
    "eve": "kernel dies half-way",
    "flo": "not a notebook",
}
_PREFERRED = ("hardcoded_visible", "stride_ignored", "width_from")
_MARKER = ".convlab-demo"


def pick_mutants(folder: Path, cell_ids: set[str]) -> list[Mutant]:
    """Up to three mutants of existing cells: one for ``cy``, two on different cells for ``dee``.

    ``folder`` holds ``*.mutant`` files (``solutions/<aid>/mutants``); unreadable ones are skipped.
    Deterministic: mutants whose name shows a classic bug (hard-coded visible answers, stride
    ignored, width from height) come first, then alphabetical order.
    """
    found = []
    for path in mutant_files(folder):
        try:
            mutant = read_mutant(path)
        except MutantError:
            continue
        if mutant.grade_id in cell_ids:
            found.append(mutant)

    def rank(m):
        hits = [i for i, key in enumerate(_PREFERRED) if key in m.name]
        return (hits[0] if hits else len(_PREFERRED), m.name)

    found.sort(key=rank)
    if not found:
        return []
    picked = [found[0]]
    others = [m for m in found[1:] if m.grade_id != found[0].grade_id]
    if others:
        second = others[0]
        third = next((m for m in others[1:] if m.grade_id != second.grade_id), None)
        picked += [second] + ([third] if third else [])
    return picked


def _solution_cells(nb) -> list[str]:
    return [grade_id(c) for c in nb.cells
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")]


def build_sample_class(course: Course, aid: str, inbox: Path) -> dict[str, tuple]:
    """Write the sample class's submissions of ``aid`` to ``inbox/<student>/<aid>/``.

    The buggy students' answers are the course's mutants of ``aid`` applied to its solution (a mutant
    that no longer fits its solution cell raises :class:`autograder.mutants.MutantError`).
    Returns ``{student: expected cells to lose (tuple) or None when not predicted}``.
    """
    solution = course.solutions / aid / f"{aid}.ipynb"
    nb = nbformat.read(solution, as_version=4)
    answers = _solution_cells(nb)
    target = f"{aid}.ipynb"
    expected: dict[str, tuple | None] = {}

    def out(student):
        return inbox / student / aid / target

    make_submission(solution, None, out("ada"))
    expected["ada"] = ()
    out("ben").parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(course.assignments / aid / target, out("ben"))
    expected["ben"] = None
    mutants = pick_mutants(mutants_dir(course.solutions, aid), set(answers))
    if mutants:
        make_submission(solution, replacements(solution, mutants[:1]), out("cy"))
        expected["cy"] = mutants[0].loses
    if len(mutants) > 1:
        pair = mutants[1:3] if len(mutants) > 2 else mutants[:2]
        make_submission(solution, replacements(solution, pair), out("dee"))
        expected["dee"] = tuple(sorted({g for m in pair for g in m.loses}))
    if answers:
        crash_at = answers[len(answers) // 2]
        make_submission(solution, {crash_at: "import os\nos._exit(1)\n"}, out("eve"))
        expected["eve"] = None
    out("flo").parent.mkdir(parents=True, exist_ok=True)
    out("flo").write_text("I could not get Jupyter to start, so here are my answers in words.\n")
    expected["flo"] = None
    return expected


def _demo_course(source: Course, out: Path, aids) -> Course:
    out = Path(out).resolve()
    protected = (source.root, source.solutions, source.assignments, source.work)
    if any(out == p or out in p.parents for p in protected) or any(
            p in out.parents for p in (source.solutions, source.assignments)):
        raise CourseError(f"refusing to build the demo course in {out}: it would overwrite course files")
    if out.exists() and any(out.iterdir()) and not (out / _MARKER).is_file():
        raise CourseError(f"refusing to build the demo course in {out}: it is not empty and not an earlier "
                          "demo course; pick another --out")
    shutil.rmtree(out, ignore_errors=True)
    (out / "solutions").mkdir(parents=True)
    (out / _MARKER).write_text("made by convlab-grade demo; replaced by the next demo run\n")
    for aid in aids:
        shutil.copytree(source.solutions / aid, out / "solutions" / aid,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc"))
    shutil.copy(REPO_ROOT / "nbgrader_config.py", out / "nbgrader_config.py")
    return Course(out)


def _lost_cells(cells: dict) -> tuple:
    return tuple(sorted(g for g, (score, top) in cells.items() if score < top - 1e-9))


def run_demo(out: Path, source: Course | None = None, aids=None, unsafe_no_sandbox: bool = False,
             workers: int = 2, echo=None, seed: int | None = None) -> str:
    """Release ``aids`` (default: every assignment with a ``checks.py``) into a demo course at ``out``,
    grade the sample class, write feedback; returns the report (also passed line by line to ``echo``).

    ``seed`` fixes the hidden cases (tests); by default they are fresh, as in real grading.
    """
    started = time.monotonic()
    source = source or Course(REPO_ROOT)
    aids = list(aids) if aids else [a for a in source.assignment_ids() if source.checks_file(a).is_file()]
    if not aids:
        raise CourseError(f"no assignment with a checks.py under {source.solutions}")
    lines: list[str] = []

    def say(text=""):
        lines.append(text)
        if echo:
            echo(text)

    course = _demo_course(source, out, aids)
    say(f"demo course: {course.root}")
    for result in release(course, aids):
        say(f"released {result.aid}: " + ", ".join(str(p.relative_to(course.root)) for p in result.notebooks))
    inbox = course.root / "inbox"
    expected = {aid: build_sample_class(course, aid, inbox) for aid in aids}
    collect(course, inbox)
    say(f"sample class: {', '.join(f'{s} ({why})' for s, why in STUDENTS.items())}")
    options = GradeOptions(unsafe_no_sandbox=unsafe_no_sandbox, workers=workers, seed=seed)
    results, pages, surprises = {}, {}, []

    def show(r):
        lost = _lost_cells(r.cells)
        lost = "nothing" if not lost else "every question" if len(lost) == len(r.cells) else ", ".join(lost)
        say(f"  {r.student}/{r.assignment}: {points(r.score)}/{points(r.max_score)} {r.status} in {r.seconds:.1f} s; "
            f"points lost on: {lost}")
        for note in r.notes[:3]:
            say(f"      {note}")

    say("")
    say("grading (each notebook in the sandbox; what happened, from the grader's reports):")
    for aid in aids:
        for r in grade_all(course, aid, options, progress=show):
            results[(r.student, aid)] = r
            want = expected[aid].get(r.student)
            if want is not None and _lost_cells(r.cells) != tuple(sorted(want)):
                surprises.append(f"{r.student}/{aid}: lost {list(_lost_cells(r.cells))}, expected {list(want)}")
        pages[aid] = generate_feedback(course, aid)
    say("")
    say(_grade_table(results, aids))
    say("")
    say("feedback files:")
    for aid in aids:
        for student, files in sorted(pages[aid].items()):
            for page in files:
                say(f"  {student}/{aid}: {page}")
    say("")
    if surprises:
        say("UNEXPECTED (a mutant did not lose exactly the cells its file names):")
        for s in surprises:
            say(f"  {s}")
    else:
        say("every mutant lost exactly the hidden-test cells it names")
    say(f"demo done in {time.monotonic() - started:.0f} s")
    return "\n".join(lines)


def _grade_table(results: dict, aids: list[str]) -> str:
    students = sorted({s for s, _ in results})
    header = ["student", *aids, "total"]
    rows = []
    for s in students:
        row, got, top = [s], 0.0, 0.0
        for aid in aids:
            r = results.get((s, aid))
            if r is None:
                row.append("-")
                continue
            row.append(f"{points(r.score)}/{points(r.max_score)}" + ("" if r.status == "graded" else " (failed)"))
            got, top = got + r.score, top + r.max_score
        row.append(f"{points(got)}/{points(top)}")
        rows.append(row)
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    return "\n".join("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip() for r in [header, *rows])
