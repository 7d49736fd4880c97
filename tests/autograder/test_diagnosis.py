"""The diagnosis (autograder.diagnosis): every mutant gets the hint that names its bug, the correct
solution gets none, and the pure classifier recognises each pattern from plain results.

The notebook's functions are built without running the notebook: the setup cell (its imports) and the
solution cells are executed, with a mutant's patch applied, in a fresh namespace (:func:`namespace`).
"""

import sys
from functools import cache
from pathlib import Path

import matplotlib
import pytest

from autograder.cells import nbgrader_meta
from autograder.checks import load_checks
from autograder.diagnosis import ExerciseProbes, Probe, ProbeResult, classify, diagnose
from autograder.diagnosis.runner import diagnose_namespace, exercises_of, note_lines, withheld_findings
from autograder.mutants import apply_mutant, mutants_of
from autograder.scan import student_sources
from autograder.testing import make_submission

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
AIDS = sorted(p.parent.name for p in SOLUTIONS.glob("*/checks.py"))
#: Assignments whose diagnosis module (autograder/diagnosis/<aid>.py) is still to be written.
NOT_YET = {"a2_naive_conv", "a3_im2col", "a4_pooling", "a5_fc_to_conv", "a6_convnet", "a7_architectures"}


def _solution(aid):
    return SOLUTIONS / aid / f"{aid}.ipynb"


def _runnable(source: str) -> str:
    """A cell's source without IPython magics and shell escapes (blank lines keep the numbering)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


@cache
def _submission(aid, patched=()):
    return make_submission(_solution(aid), dict(patched))


def namespace(aid, replacements=None):
    """The notebook's namespace after its first code cell (imports) and every solution cell ran."""
    nb = _submission(aid, tuple(sorted((replacements or {}).items())))
    code = [c for c in nb.cells if c.cell_type == "code"]
    ns = {"__name__": "__main__"}
    for cell in code[:1] + [c for c in code[1:] if nbgrader_meta(c).get("solution")]:
        exec(compile(_runnable(cell.source), f"<{nbgrader_meta(cell).get('grade_id', 'setup')}>", "exec"), ns)
    return ns, nb


def _mutant_cases():
    for aid in AIDS:
        for mutant in mutants_of(SOLUTIONS, aid):
            yield pytest.param(aid, mutant, id=mutant.label)


def _patterns(aid, ns, nb, cell):
    found = withheld_findings(aid, student_sources(nb)).get(cell, []) + diagnose_namespace(aid, ns).get(cell, [])
    return [f.pattern for f in found]


@pytest.mark.parametrize("aid", AIDS)
def test_the_solution_gets_no_diagnosis(aid):
    if aid in NOT_YET:
        pytest.skip(f"{aid}: no diagnosis module yet (NOT_YET)")
    ns, nb = namespace(aid)
    exercises = exercises_of(aid)
    assert exercises, f"autograder/diagnosis/{aid}.py defines no EXERCISES"
    assert withheld_findings(aid, student_sources(nb)) == {}
    assert {cell: [f.pattern for f in found] for cell, found in diagnose_namespace(aid, ns).items()} == {
        e.cell: [] for e in exercises}


@pytest.mark.parametrize(("aid", "mutant"), list(_mutant_cases()))
def test_each_mutant_gets_the_hint_naming_its_bug(aid, mutant):
    if aid in NOT_YET:
        pytest.skip(f"{aid}: no diagnosis module yet (NOT_YET)")
    assert mutant.hint, f"{mutant.path}: a mutant of a diagnosed assignment needs a '# hint: <pattern>' line"
    ns, nb = namespace(aid, {mutant.grade_id: apply_mutant(_solution(aid), mutant)})
    patterns = _patterns(aid, ns, nb, mutant.grade_id)
    assert mutant.hint in patterns, f"{mutant.label}: diagnosis {patterns}, expected {mutant.hint!r} among them"


def test_not_yet_lists_only_assignments_without_a_module():
    assert NOT_YET <= set(AIDS)
    for aid in AIDS:
        assert (exercises_of(aid) is None) == (aid in NOT_YET), aid
