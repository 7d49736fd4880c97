"""The diagnosis (autograder.diagnosis): every mutant gets the hint that names its bug, the correct
solution gets none, and the pure classifier recognises each pattern from plain results.

The notebook's functions are built without running the notebook: the setup cell (its imports), the cells
that only define things (a4's ``MaxPoolCache`` and ``window_shape``) and the solution cells are executed,
with a mutant's patch applied, in a fresh namespace (:func:`namespace`).
"""

import ast
import sys
from functools import cache
from pathlib import Path

import matplotlib
import nbformat
import pytest

from autograder.cells import nbgrader_meta
from autograder.checks import load_checks
from autograder.diagnosis import ExerciseProbes, Probe, ProbeResult, classify, diagnose
from autograder.diagnosis.runner import diagnose_namespace, exercises_of, note_lines, withheld_findings
from autograder.mutants import apply_mutant, mutants_of
from autograder.scan import student_sources
from autograder.selfcheck import question_cells
from autograder.testing import make_submission

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[2]
SOLUTIONS = REPO / "solutions"
AIDS = sorted(p.parent.name for p in SOLUTIONS.glob("*/checks.py"))
#: Assignments whose diagnosis module (autograder/diagnosis/<aid>.py) is still to be written.
NOT_YET: set[str] = set()


def _solution(aid):
    return SOLUTIONS / aid / f"{aid}.ipynb"


def _runnable(source: str) -> str:
    """A cell's source without IPython magics and shell escapes (blank lines keep the numbering)."""
    return "\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines())


@cache
def _submission(aid, patched=()):
    return make_submission(_solution(aid), dict(patched))


def _defines_only(source: str) -> bool:
    """Whether a cell only imports and defines (functions, classes): safe and quick to run."""
    try:
        body = ast.parse(_runnable(source)).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef))
                              or isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in body)


def namespace(aid, replacements=None):
    """The notebook's namespace after its first code cell (imports), every cell that only defines
    things and every solution cell ran, in the notebook's order."""
    nb = _submission(aid, tuple(sorted((replacements or {}).items())))
    code = [c for c in nb.cells if c.cell_type == "code"]
    ns = {"__name__": "__main__"}
    for cell in code[:1] + [c for c in code[1:] if nbgrader_meta(c).get("solution") or _defines_only(c.source)]:
        exec(compile(_runnable(cell.source), f"<{nbgrader_meta(cell).get('grade_id', 'setup')}>", "exec"), ns)
    return ns, nb


def _mutant_cases():
    # a mutant of an understanding question's answer cell has no probe to fail: check's question judging
    # catches it (tests/autograder/test_questions.py)
    for aid in AIDS:
        answers = question_cells(nbformat.read(_solution(aid), as_version=4))
        for mutant in mutants_of(SOLUTIONS, aid):
            if mutant.grade_id not in answers:
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


def test_a_cell_with_two_functions_names_the_one_each_finding_is_about():
    """a4's avg_pool cell holds the forward and the backward pass: only the backward one is broken here."""
    mutant = next(m for m in mutants_of(SOLUTIONS, "a4_pooling") if m.name == "avg_bwd_forgot_division")
    ns, _ = namespace("a4_pooling", {mutant.grade_id: apply_mutant(_solution("a4_pooling"), mutant)})
    found = diagnose_namespace("a4_pooling", ns)["avg_pool"]
    assert [f.pattern for f in found] == ["not-averaged"]
    assert found[0].hint.startswith("avg_pool_backward: an average weighs")


def test_unanswered_functions_and_classes_are_not_diagnosed():
    from autograder.diagnosis.runner import _unanswered

    def stub():
        raise NotImplementedError

    class Stub:
        def __init__(self):
            raise NotImplementedError

    class Answered:
        def __init__(self):
            self.params = {}

    assert _unanswered(stub) and _unanswered(Stub)
    assert not _unanswered(lambda: 1) and not _unanswered(Answered)


def test_not_yet_lists_only_assignments_without_a_module():
    assert NOT_YET <= set(AIDS)
    for aid in AIDS:
        assert (exercises_of(aid) is None) == (aid in NOT_YET), aid


@pytest.mark.parametrize("aid", sorted(set(AIDS) - NOT_YET))
def test_each_exercise_withholds_what_its_hidden_checks_withhold(aid):
    checks = load_checks(SOLUTIONS / aid / "checks.py")
    hidden, owner = {}, None  # solution cell -> the graded cells between it and the next solution cell
    for cell in make_submission(_solution(aid)).cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            owner = meta["grade_id"]
        elif meta.get("grade") and owner:
            hidden.setdefault(owner, set()).add(meta["grade_id"])
    for exercise in exercises_of(aid):
        assert hidden.get(exercise.cell), f"{exercise.cell}: no graded cell follows this solution cell"
        expected = {name for c in checks if c.grade_id in hidden[exercise.cell] for name in c.withhold}
        assert set(exercise.withhold) == expected, exercise.cell  # a3's column_matrix_size withholds nothing


# --- the pure classifier, on plain results --------------------------------------------------------
def _r(tags, passed, **kw):
    return ProbeResult(tags=tuple(tags), passed=passed, **kw)


def test_a_tag_that_every_failure_carries_is_the_diagnosis():
    results = [_r(["stride1", "pad0"], True), _r(["stride>1", "pad0"], False), _r(["stride>1", "pad>0"], False),
               _r(["stride1", "pad>0"], True)]
    assert classify(results) == ["stride>1"]
    # failing everywhere separates nothing
    assert classify([_r(["stride1"], False), _r(["stride>1"], False)]) == ["wrong"]
    # a tag most of whose cases pass explains nothing either
    assert "pad0" not in classify([_r(["pad0"], False), _r(["pad0"], True), _r(["pad0"], True), _r(["pad>0"], True)])


def test_answers_that_know_only_the_visible_examples_are_hardcoded():
    results = [_r(["visible"], True), _r(["visible"], True), _r([], False, raised="ValueError"), _r([], False)]
    assert classify(results)[:1] == ["hardcoded"]
    assert "hardcoded" not in classify([_r(["visible"], True), _r([], True), _r([], False)])


def test_factor_and_offset_must_be_the_same_in_every_failing_case():
    assert classify([_r([], False, factor=2.0), _r([], False, factor=2.0), _r(["x"], True)]) == ["factor"]
    # one number fits any factor and any offset: only the constant one is the diagnosis
    assert classify([_r([], False, factor=0.8, offset=-1.0), _r([], False, factor=0.5, offset=-1.0)]) == ["offset"]


def test_component_verdicts_name_the_wrong_output():
    parts = ("dx", "dw", "db")
    results = [_r(["pad0"], False, wrong=("dx",), parts=parts), _r(["pad>0"], False, wrong=("dx",), parts=parts)]
    assert classify(results) == ["wrong:dx"]
    assert classify([_r([], False, wrong=parts, parts=parts)]) == ["wrong"]


def test_raising_mutating_and_validating_patterns():
    assert classify([_r([], True), _r([], False, expects_raise=True)]) == ["no-raise"]
    assert classify([_r([], True), _r([], False, raised="IndexError")]) == ["raises"]
    assert classify([_r([], True, mutated=("x",))]) == ["mutates-input"]
    assert classify([_r([], True), _r([], True, expects_raise=True, raised="ValueError")]) == []


def test_probe_results_see_factor_transpose_mutation_and_symptoms():
    def reference(c):
        return c.x * 2

    exercise = ExerciseProbes(cell="double", call=lambda fn, c: fn(c.x), reference=reference,
                              probes=lambda rng: [Probe({"x": rng.standard_normal((2, 3))}, ("nonsquare",)),
                                                  Probe({"x": rng.standard_normal((3, 3))}, ("square",))],
                              symptoms=())

    def diagnosed(fn):
        return [f.pattern for f in diagnose(exercise, {"double": fn})]

    assert diagnosed(lambda x: x * 2) == []
    assert diagnosed(lambda x: x * 3)[0] == "factor"
    assert diagnosed(lambda x: (x * 2).T) == ["transposed"]

    def in_place(x):
        x *= 2
        return x

    assert diagnosed(in_place) == ["mutates-input"]


def test_a_withheld_library_function_called_at_run_time_is_reported():
    import convlab.shapes
    from autograder.diagnosis import withholding

    original = convlab.shapes.conv_output_size
    exercise = ExerciseProbes(
        cell="size", call=lambda fn, c: fn(c.n), reference=lambda c: c.n - 2,
        probes=lambda rng: [Probe({"n": 5}), Probe({"n": 7})])

    def guarded(fn, c):
        with withholding(["convlab.shapes.conv_output_size"]):
            return fn(c.n)

    guarded_exercise = ExerciseProbes(cell="size", call=guarded, reference=exercise.reference, probes=exercise.probes)

    def through_library(n):
        return convlab.shapes.conv_output_size(n, 3)

    assert [f.pattern for f in diagnose(exercise, {"size": through_library})] == []
    assert [f.pattern for f in diagnose(guarded_exercise, {"size": through_library})][:1] == ["withheld"]
    assert [f.pattern for f in diagnose(guarded_exercise, {"size": lambda n: n - 2})] == []
    assert convlab.shapes.conv_output_size is original, "the library is restored after the block"
    assert classify([_r([], False, raised="autograder.diagnosis.engine.WithheldCall")])[:1] == ["withheld"]


def test_note_lines_say_what_breaks_and_the_hint():
    exercise = exercises_of("a1_volumes")[0]
    from autograder.diagnosis import findings

    found = findings(exercise, ["stride>1"])
    assert note_lines(found, False) == ("diagnosis: fails only at stride > 1", "hint: " + exercise.hints["stride>1"])
    assert note_lines(found, True)[0] == "diagnosis: passes the visible tests but fails only at stride > 1"
    assert note_lines([], False) == ()


@pytest.mark.slow
def test_check_prints_the_diagnosis_under_each_exercise(tmp_path, capsys):
    """Three real bugs in one a1 notebook, as `convlab-grade check` shows them."""
    import nbformat

    from autograder import cli

    solution = _solution("a1_volumes")
    bugs = {m.name: m for m in mutants_of(SOLUTIONS, "a1_volumes")}
    chosen = [bugs[n] for n in ("am_width_from_height", "cos_hardcoded_visible", "params_forgot_bias")]
    nb = make_submission(solution, {m.grade_id: apply_mutant(solution, m) for m in chosen})
    nbformat.write(nb, tmp_path / "a1_volumes.ipynb")
    assert cli.main(["check", str(tmp_path / "a1_volumes.ipynb")]) == 1
    lines = capsys.readouterr().out.splitlines()
    at = {ln.split(":")[0].strip(): i for i, ln in enumerate(lines) if ln.startswith("  Exercise")}
    ex1, ex2, ex3, ex6 = (at[k] for k in ("Exercise 1 (20 points) one activation map",
                                          "Exercise 2 (20 points) conv_output_size",
                                          "Exercise 3 (15 points) the shapes of a conv layer",
                                          "Exercise 6 (15 points) parameters with and without sharing"))
    assert lines[ex1 + 1] == "      diagnosis: fails only on non-square inputs or filters"
    assert lines[ex1 + 2].startswith("      hint: rows go with H = X.shape[0]")
    assert lines[ex2].endswith(": pass - 1 visible test cell(s)")
    assert lines[ex2 + 1] == ("      diagnosis: passes the visible tests but fails on inputs other than the visible "
                              "tests' examples")
    assert "passes every probe" in lines[ex3 + 1], "exercise 3 fails only through exercise 2's function"
    assert lines[ex6 + 1].startswith("      diagnosis: every filter has a bias")


# --- in the grader: the hidden cases' failures, from the judged answers alone ---------------------
def test_the_grader_diagnoses_hidden_failures_and_the_feedback_page_shows_it():
    """Memory estimates that count one copy of the parameters for Adam: the trusted step finds "Adam"
    from the hidden cases' entries, prints it under the failed cases and the page shows it there."""
    from autograder.feedback_page import result_html
    from autograder.kernel.protocol import Outcome
    from autograder.trusted import prepare_hidden, score_cells, verdict_outputs

    aid = "a7_architectures"
    session = prepare_hidden(SOLUTIONS / aid / "checks.py", aid, _submission(aid), seed=5)
    run = session.runs["memory_estimate"]
    for i, (case, right) in enumerate(zip(run.cases, run.references)):
        acts, act_grads, params, param_grads, state, batch = right.value
        run.answers[i] = Outcome(value=(acts, act_grads, params, param_grads,
                                        params if case["optimizer"] == "adam" else state, batch))
    costs = session.runs["conv_costs"]
    costs.answers.update(dict(enumerate(costs.references)))
    stub = Outcome(raised=("builtins.NotImplementedError", "builtins.RuntimeError"), message="")
    session.runs["stack_vs_single"].answers.update({i: stub for i in range(len(session.runs["stack_vs_single"].cases))})
    cells = score_cells(session)
    (memory,) = cells["memory_estimate_hidden"]["checks"]
    assert 0 < memory["passed"] < memory["total"]
    assert memory["diagnosis"]["pattern"] == "adam"
    assert "diagnosis" not in cells["conv_costs_hidden"]["checks"][0], "a check that passes has no diagnosis"
    assert "diagnosis" not in cells["layer_table_hidden"]["checks"][0], "unanswered cases are nobody's pattern"
    assert "diagnosis" not in cells["stack_vs_single_hidden"]["checks"][0], "nor is the untouched stub's raise"
    text = verdict_outputs(cells["memory_estimate_hidden"], 10)[0][0]["text"]
    assert "  diagnosis: fails only with Adam\n  hint: count the copies of the parameters" in text
    page = result_html(None, "memory_estimate_hidden", cells["memory_estimate_hidden"], 0, 10)
    assert page.index('<p class="convlab-diagnosis">diagnosis: fails only with Adam<br>hint: ') > page.index("</table>")
    # the finding holds no case's values, only the kind of input and the exercise's hint
    assert set(memory["diagnosis"]) == {"pattern", "kind", "hint"}
