"""Helpers for test suites: build a student's submission from a solution, grade it, score it fast.

- :func:`make_submission`: what a student would hand in (solutions filled in, hidden tests
  stripped as in the release), with chosen cells replaced (``None`` deletes the cell);
- :func:`grade_notebook`: the real pipeline (release if needed, sandboxed kernel, trusted checks,
  gradebook) on one notebook, in a course folder you give;
- :func:`score_locally`: in-process and fast, for mutant tests: the solution notebook with
  replacements runs under nbclient without the sandbox, and the trusted comparison scores it
  exactly as grading would (partial credit included).

Mutants (plausible wrong answers to score with these) are read and applied by :mod:`autograder.mutants`.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from autograder.cells import grade_id, nbgrader_meta, strip_hidden_tests, strip_solution_markers
from autograder.course import Course
from autograder.grading import GradeOptions, SubmissionResult, grade_submission
from autograder.grading_build import default_builds_dir
from autograder.trusted import prepare_hidden, score_cells, verdict_outputs

__all__ = ["make_submission", "grade_notebook", "score_locally"]



def _apply(nb, replacements):
    replacements = dict(replacements or {})
    unknown = set(replacements) - {grade_id(c) for c in nb.cells}
    if unknown:
        raise KeyError(f"no cells with grade_id {sorted(unknown)}")
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in replacements:
            if replacements[gid] is None:
                continue
            cell.source = replacements[gid]
        cells.append(cell)
    nb.cells = cells
    return nb


def make_submission(solution_nb_path, replacements=None, out_path=None):
    """The notebook a student would submit; written to ``out_path`` if given, and returned."""
    nb = nbformat.read(solution_nb_path, as_version=4)
    for cell in nb.cells:
        cell.source = strip_solution_markers(strip_hidden_tests(cell.source))
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb = _apply(nb, replacements)
    if out_path is not None:
        Path(out_path).parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_path)
    return nb


def grade_notebook(aid, notebook_path, course_root, student="student",
                   options: GradeOptions | None = None) -> SubmissionResult:
    """Grade one notebook file through the real pipeline in ``course_root`` (released beforehand)."""
    course = Course(Path(course_root).resolve())
    folder = course.submitted / student / aid
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    shutil.copy(notebook_path, folder / f"{aid}.ipynb")
    return grade_submission(course, aid, student, options or GradeOptions())


def score_locally(aid, solution_nb_path, replacements=None, *, seed=1, timeout=60) -> dict:
    """``{grade_id: (score, max)}`` of the solution notebook with ``replacements``, no sandbox.

    The kernel runs on this machine without bubblewrap, but with the grading build of the library
    first on its path (withheld functions refuse), hidden inputs per cell and answers taken from its
    messages, exactly as in grading.
    """
    from autograder.execution import SandboxExecute  # noqa: PLC0415 - needs nbgrader

    solution_nb_path = Path(solution_nb_path).resolve()
    nb = _apply(nbformat.read(solution_nb_path, as_version=4), replacements)
    session = prepare_hidden(solution_nb_path.parent / "checks.py", aid, nb, seed, default_builds_dir())
    resources = {"metadata": {"path": str(solution_nb_path.parent)}, "convlab": {"session": session, "aid": aid}}
    executor = SandboxExecute(unsafe_no_sandbox=True, timeout=timeout, assets_dir=str(solution_nb_path.parent.parent))
    executor.preprocess(nb, resources)
    cells = score_cells(session)
    scores = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            points = float(meta.get("points", 0))
            entry = cells.get(meta.get("grade_id"))
            if entry is None:
                failed = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
                scores[meta["grade_id"]] = (0.0 if failed else points, points)
            else:  # the score grading writes for this cell
                scores[meta["grade_id"]] = (verdict_outputs(entry, points)[1], points)
    return scores
