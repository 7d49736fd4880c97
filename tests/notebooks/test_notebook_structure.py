"""Fast, static checks of every source notebook, its checks.py and its mutants (solutions/<aid>/mutants).

Nothing is executed here except the trusted case generators and references;
the slow tests (running notebooks, grading) live in test_notebook_runs.py and
test_notebook_grading.py.
"""

from __future__ import annotations

import ast
import importlib
import re
import shutil

import numpy as np
import pytest

from autograder.cells import SKIP_TAG
from autograder.checks import case_kinds, check_rng, draw_cases, load_checks, reference_outcomes
from autograder.editions import EDITIONS
from autograder.mutants import MUTANTS_DIR, SUFFIX, solution_source
from autograder.selfcheck import QUESTION_TAG, question_cells
from .notebook_support import (
    RELEASE,
    ROOT,
    estimated_hours,
    markdown_tables,
    stated_hours,
    SOLUTIONS,
    assignment_ids,
    cell_role,
    checks_file,
    exercise_headings,
    exercise_of,
    grade_cells,
    intro_points,
    mutant_source,
    mutants,
    nbgrader_meta,
    read_notebook,
    release_notebook,
    solution_notebook,
    solution_regions,
    validation_points,
)

AIDS = assignment_ids()
_RUN_HIDDEN_RE = re.compile(r"run_hidden\(\s*[\"']([\w.-]+)[\"']\s*,\s*[\"']([\w.-]+)[\"']")


def test_assignments_are_discovered():
    assert AIDS, "no solutions/<aid>/<aid>.ipynb found"


@pytest.fixture(scope="module", params=AIDS)
def aid(request):
    return request.param


@pytest.fixture(scope="module")
def nb(aid):
    return read_notebook(solution_notebook(aid))


@pytest.fixture(scope="module")
def checks(aid):
    return load_checks(checks_file(aid))


def test_notebook_is_committed_without_outputs(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"cell {i} has outputs: strip them"


RUN_ALL_TAG = "raises-exception"


@pytest.mark.parametrize("where", ["solutions", *EDITIONS])
def test_run_all_goes_on_past_unanswered_exercises(aid, where):
    # JupyterLab's Run All (and nbclient) stop at the first error unless its cell carries this tag; every
    # visible-test and needs-answer cell fails until its exercise is answered, and must not blank the rest.
    path = solution_notebook(aid) if where == "solutions" else release_notebook(aid, where)
    cells = read_notebook(path).cells
    untagged = [i for i, c in enumerate(cells) if cell_role(c) in ("visible_tests", "needs_answer")
                and RUN_ALL_TAG not in c.get("metadata", {}).get("tags", [])]
    assert not untagged, f"{where}/{aid}: cells {untagged} can fail unanswered but lack the tag {RUN_ALL_TAG!r}"
    assert not [i for i, c in enumerate(cells) if cell_role(c) in ("setup", "hidden_tests")
                and RUN_ALL_TAG in c.get("metadata", {}).get("tags", [])], (
        f"{where}/{aid}: a setup or hidden-test cell must never fail, so it carries no {RUN_ALL_TAG!r} tag")


def test_first_code_cell_loads_autoreload_and_the_next_imports(nb):
    first, second = [c for c in nb.cells if c.cell_type == "code"][:2]
    assert first.source.split("\n") == ["%load_ext autoreload", "%autoreload 2"]
    assert SKIP_TAG in first.metadata.get("tags", []), "autoreload only slows a graded kernel down"
    assert re.search(r"^(import|from) ", second.source, re.M), "the second code cell holds the imports"


def test_no_sys_path_hacks_or_star_imports(nb):
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert "sys.path" not in cell.source, f"cell {i}: import the installed package, no sys.path"
            assert not re.search(r"^\s*from \S+ import \*", cell.source, re.M), f"cell {i}: star import"


def _question_names(aid) -> set[str]:
    """The answer variables of the notebook's understanding questions (autograder.questions)."""
    return {c.name for c in load_checks(checks_file(aid)) if c.question}


def test_nbgrader_metadata_is_well_formed(aid, nb):
    ids = []
    questions = _question_names(aid)
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if not meta:
            continue
        assert meta.get("schema_version") == 3, f"cell {i}: nbgrader schema_version must be 3"
        assert meta.get("grade_id"), f"cell {i}: nbgrader cells need a grade_id"
        ids.append(meta["grade_id"])
        role = cell_role(cell)
        if role == "solution":
            assert not meta.get("grade") and not meta.get("locked"), f"cell {i}: solution cells are unlocked, no points"
            regions = solution_regions(cell.source)
            assert regions, f"cell {i}: a solution cell needs a ### BEGIN/END SOLUTION region"
            assert "NotImplementedError" not in cell.source, f"cell {i}: nbgrader writes the stub itself"
            head = cell.source.split("### BEGIN SOLUTION")[0]
            if meta["grade_id"] in questions:
                # a question's answer cell: the form stated in a comment above, one assignment of a literal
                body = ast.parse(regions[0]).body
                assert head.strip().startswith("#") and len(body) == 1 and isinstance(body[0], ast.Assign), (
                    f"cell {i}: an answer cell states the form in a comment and assigns {meta['grade_id']} once")
                assert [t.id for t in body[0].targets] == [meta["grade_id"]], f"cell {i}: assign {meta['grade_id']}"
                assert isinstance(body[0].value, ast.Constant), f"cell {i}: the answer is a literal"
                continue
            assert re.search(r"^def \w+\(", head, re.M) and '"""' in head, (
                f"cell {i}: the signature and docstring sit outside the solution region")
        elif role == "visible_tests":
            assert meta.get("locked") and "points" not in meta, f"cell {i}: visible tests are locked, no points"
            assert "HIDDEN TESTS" not in cell.source, f"cell {i}: hidden tests belong in graded cells"
        elif role == "hidden_tests":
            assert meta.get("locked") and meta.get("points", 0) > 0, f"cell {i}: hidden-test cells are locked with points"
    assert len(ids) == len(set(ids)), "grade_ids must be unique"


def test_cells_skipped_when_graded_leave_nothing_grading_needs(aid, nb):
    """Every ``skip-when-graded`` cell earns nothing and binds or changes nothing a later cell run when
    graded reads (``release`` refuses otherwise; see autograder/skips.py)."""
    from autograder.skips import skip_problems  # noqa: PLC0415

    assert skip_problems(nb, aid) == []


def test_hidden_cells_hold_only_the_hidden_block(nb):
    for gid, (i, _) in grade_cells(nb).items():
        source = nb.cells[i].source
        begin, end = source.find("### BEGIN HIDDEN TESTS"), source.find("### END HIDDEN TESTS")
        assert 0 <= begin < end, f"{gid}: missing ### BEGIN/END HIDDEN TESTS"
        outside = source[:begin] + source[end + len("### END HIDDEN TESTS"):]
        for line in outside.splitlines():
            assert not line.strip() or line.lstrip().startswith("#"), (
                f"{gid}: only comments may sit outside the hidden block (the release shows them): {line!r}")


def test_points_add_up_to_about_100(nb):
    total = sum(points for _, points in grade_cells(nb).values())
    assert 90 <= total <= 110, f"about 100 points per assignment, got {total}"


def test_points_are_stated_once_per_exercise(nb):
    # The intro's table and each "### Exercise N (P points)" heading restate the nbgrader points; an
    # exercise owns the graded cells between its heading and the next one.
    headings = exercise_headings(nb)
    numbers = [n for _, n, _ in headings]
    assert headings, "each exercise needs a heading '### Exercise N (P points)'"
    assert numbers == list(range(1, len(numbers) + 1)), (
        f"exercise headings '### Exercise N (P points)' must number 1, 2, ... in order, got {numbers}")
    assert len({i for i, _, _ in headings}) == len(headings), "one exercise heading per markdown cell"
    graded = grade_cells(nb)
    earned = dict.fromkeys(numbers, 0.0)
    for gid, number in exercise_of(nb).items():
        assert number is not None, f"{gid}: graded cell above the first exercise heading"
        earned[number] += graded[gid][1]
    for _, number, stated in headings:
        assert stated == earned[number], (
            f"Exercise {number} says {stated:g} points, its hidden-test cells carry {earned[number]:g}")
    table = intro_points(nb)
    assert table == {str(n): p for _, n, p in headings}, (
        f"the intro's table (exercise -> points) {table} disagrees with the exercise headings {headings}")
    total = sum(points for _, points in graded.values())
    assert sum(table.values()) == total, f"the intro's table adds up to {sum(table.values()):g}, the cells to {total:g}"
    intro = next(c.source for c in nb.cells if c.cell_type == "markdown")
    for said in re.findall(r"(\d+) points in total", intro):
        assert float(said) == total, f"the intro says {said} points in total, the cells carry {total:g}"


def test_the_time_estimate_is_stated_and_follows_the_rule(aid, nb):
    # The intro and the README's course table give the same estimate, within half an hour of the rule
    # (reading speed and minutes per solution line, notebook_support.estimated_hours) for the text as it is.
    said = stated_hours(nb.cells[0].source)
    assert said is not None, f"{aid}: the intro needs a '**Time.** About N hours' (or '**Time and how to work.**') sentence"
    rule = estimated_hours(nb)
    assert abs(said - rule) <= 0.5, f"{aid}: the intro says about {said:g} hours, the rule gives {rule:g}: update it"
    rows = [dict(zip([h.lower() for h in table[0]], row)) for table in markdown_tables((ROOT / "README.md").read_text())
            if "time" in [h.lower() for h in table[0]] for row in table[1:]]
    readme = [r["time"] for r in rows if r.get("notebook") == f"`{aid}`"]
    assert readme == [f"~{said:g} h"], f"README's course table gives {readme} for {aid}, the intro about {said:g} hours"


@pytest.mark.parametrize("seed", [1, 2])
def test_the_exercise_says_what_validation_is_worth(nb, checks, seed):
    # a correct function that never raises loses exactly this (autograder.checks.score_check): the
    # exercise must say so, next to its heading, in the same words everywhere
    headings = exercise_headings(nb)
    graded = grade_cells(nb)
    for gid, points in validation_points(nb, checks, seed).items():
        index, total = graded[gid]
        heading = max(i for i, _, _ in headings if i < index)
        phrase = f"worth {points:g} of these {total:g} points"
        assert phrase in " ".join(nb.cells[heading].source.split()), (
            f"{gid}: its exercise text must say that raising for invalid settings is '{phrase}'")


def test_every_check_has_fresh_value_cases(checks):
    # fixed cases (the examples a notebook prints) and must-raise cases count only with fresh ones
    for check in (c for c in checks if not c.question):
        for seed in (1, 2, 3):
            cases = draw_cases(check, check_rng(seed, check.name))
            kinds = case_kinds(check, cases, reference_outcomes(check, cases), seed)
            assert kinds.count("fresh") >= 2, f"{check.name}: needs fresh value cases (seed {seed}: {kinds})"


def test_every_check_has_a_grade_cell_and_a_call(aid, nb, checks):
    cells = grade_cells(nb)
    calls: dict[str, str] = {}
    for gid, (i, _) in cells.items():
        for called_aid, name in _RUN_HIDDEN_RE.findall(nb.cells[i].source):
            assert called_aid == aid, f"{gid}: run_hidden names assignment {called_aid!r}, expected {aid!r}"
            calls[name] = gid
    for check in checks:
        assert check.grade_id in cells, f"check {check.name}: no graded cell {check.grade_id!r}"
        assert calls.get(check.name) == check.grade_id, (
            f"check {check.name} must be run (run_hidden) in its own grade cell {check.grade_id}")
    assert set(calls) <= {c.name for c in checks}, f"run_hidden calls unknown checks: {set(calls) - {c.name for c in checks}}"
    assert {c.grade_id for c in checks} == set(cells), "every graded cell needs at least one check"


def test_questions_have_one_case_and_keep_their_answer_out_of_the_release(aid, nb, checks):
    # A question (autograder.questions) is judged on one fixed case: its answer cell assigns the check's
    # name, a locked cell checks only the form, and no released cell holds the answer.
    released = read_notebook(RELEASE / aid / f"{aid}.ipynb")
    released_code = "\n".join(c.source for c in released.cells if c.cell_type == "code")
    solutions = {nbgrader_meta(c)["grade_id"]: c.source for c in nb.cells if cell_role(c) == "solution"}
    for check in (c for c in checks if c.question):
        cases = [draw_cases(check, check_rng(seed, check.name)) for seed in (1, 2)]
        assert len(cases[0]) == 1 and cases[0] == cases[1], f"{check.name}: a question has one fixed case"
        assert check.name in solutions, f"{check.name}: no answer cell with grade_id {check.name!r}"
        answer = reference_outcomes(check, cases[0])[0].value
        solved = next(r.strip() for r in solution_regions(solutions[check.name]))
        assert solved.startswith(f"{check.name} = ") and solved not in released_code, (
            f"{check.name}: the answer {answer!r} reaches the release")
        assert check.name in released_code and f"{check.name}_form" in {
            nbgrader_meta(c).get("grade_id") for c in released.cells}, f"{check.name}: no form check released"
    # `convlab-grade check` finds the questions by this tag (autograder.selfcheck.question_cells); an
    # unanswered one raises NotImplementedError where it stands, so Run All must go on past it
    questions = {c.name for c in checks if c.question}
    for where, notebook in [("solutions", nb), ("assignments", released)]:
        assert set(question_cells(notebook)) == questions, (
            f"{where}/{aid}: the cells tagged {QUESTION_TAG!r} must be exactly the questions' answer cells")
        untagged = [gid for gid in questions for c in notebook.cells if nbgrader_meta(c).get("grade_id") == gid
                    and RUN_ALL_TAG not in c.metadata.get("tags", [])]
        assert not untagged, f"{where}/{aid}: answer cells {untagged} need the tag {RUN_ALL_TAG!r}"


def test_withheld_names_are_real_library_functions(checks):
    # a misspelt name would silently withhold nothing
    for check in checks:
        for dotted in check.withhold:
            module_name, _, attr = dotted.rpartition(".")
            assert module_name.startswith("convlab"), f"{check.name}: {dotted} is not a convlab function"
            module = importlib.import_module(module_name)
            assert callable(getattr(module, attr, None)), f"{check.name}: {dotted} does not exist"


def test_cases_are_fresh_per_seed_and_references_run(checks):
    for check in (c for c in checks if not c.question):
        first = draw_cases(check, check_rng(1, check.name))
        second = draw_cases(check, check_rng(2, check.name))
        assert len(first) >= 3, f"{check.name}: use several configurations"
        differs = any(
            set(a) != set(b) or any(not np.array_equal(np.asarray(a[k]), np.asarray(b[k])) for k in a)
            for a, b in zip(first, second)
        )
        assert differs, f"{check.name}: the cases ignore the grader's seed"
        outcomes = reference_outcomes(check, first)
        for case, out in zip(first, outcomes):
            # a reference may raise on purpose (invalid settings) but only ValueError-like errors
            assert not out.raised or "builtins.ValueError" in out.raised, (
                f"{check.name}: reference crashed with {out.exc_name}: {out.message}")


def test_array_inputs_are_continuous_and_float64(checks):
    for check in checks:
        for case in draw_cases(check, check_rng(3, check.name)):
            for key, v in case.items():
                if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size > 4:
                    assert v.dtype == np.float64, f"{check.name}: {key} should be float64"
                    # values picked from another entry (a max-pool output or a column matrix standing in for the
                    # student's, zero padding included) repeat by construction: not a tie in a random draw
                    picked = any(k != key and isinstance(o, np.ndarray) and (np.isin(v, o) | (v == 0)).all()
                                 for k, o in case.items())
                    assert picked or len(np.unique(v)) == v.size, (
                        f"{check.name}: {key} has ties; use continuous random inputs")


# --- mutants (solutions/<aid>/mutants/*.mutant) -----------------------------------------------------

MUTANTS = mutants()


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.aid}/{m.name}" for m in MUTANTS])
def test_mutant_fixture_is_well_formed(mutant):
    nb = read_notebook(solution_notebook(mutant.aid))
    solution_ids = {nbgrader_meta(c)["grade_id"] for c in nb.cells if cell_role(c) == "solution"}
    assert mutant.grade_id in solution_ids, f"{mutant.path}: {mutant.grade_id} is not a solution cell"
    assert mutant.loses, f"{mutant.path}: name the hidden checks it must lose"
    assert set(mutant.loses) <= set(grade_cells(nb)), f"{mutant.path}: unknown grade cells {mutant.loses}"
    assert mutant.why, f"{mutant.path}: say what the bug is in a '# why:' line"
    visible = {nbgrader_meta(c)["grade_id"] for c in nb.cells if cell_role(c) == "visible_tests"}
    assert set(mutant.fails) <= visible, f"{mutant.path}: '# fails:' names cells that are not visible tests"
    source = mutant_source(mutant)  # raises MutantError when a snippet no longer occurs exactly once
    ast.parse(source)  # the patched cell is valid Python
    original = solution_source(solution_notebook(mutant.aid), mutant.grade_id)
    assert source.strip() != original.strip(), f"{mutant.path}: identical to the solution"


def test_mutant_folders_hold_only_mutants(aid):
    # a stray file (an old full-copy .py, a typo in the suffix) would be silently skipped
    folder = SOLUTIONS / aid / MUTANTS_DIR
    stray = sorted(p.name for p in folder.iterdir() if p.suffix != SUFFIX) if folder.is_dir() else []
    assert not stray, f"{folder} holds files that are not {SUFFIX} patches: {stray}"


def test_release_leak_check_catches_mutants(tmp_path):
    # nbgrader_config.py ignores mutants/; if one reached assignments/ anyway, the release must fail
    from autograder.course import Course  # noqa: PLC0415
    from autograder.release import find_leaks  # noqa: PLC0415

    aid = AIDS[0]
    course = Course(tmp_path)
    shutil.copytree(SOLUTIONS / aid, course.solutions / aid)
    shutil.copytree(RELEASE / aid, course.assignments / aid)
    assert find_leaks(course, aid) == []
    (course.assignments / aid / "bug.mutant").write_text("# grade_id: x\n")
    shutil.copytree(SOLUTIONS / aid / MUTANTS_DIR, course.assignments / aid / "extra" / MUTANTS_DIR)
    problems = find_leaks(course, aid)
    assert any("bug.mutant must not be released" in p for p in problems), problems
    assert any(f"extra/{MUTANTS_DIR} must not be released" in p for p in problems), problems


def test_every_hidden_cell_has_a_mutant(aid, nb):
    lost = {gid for m in MUTANTS if m.aid == aid for gid in m.loses}
    missing = set(grade_cells(nb)) - lost
    assert not missing, f"{aid}: no mutant fixture loses {sorted(missing)}"


def test_solution_cells_do_not_trip_the_withheld_scan(nb, checks):
    # The grader's static scan reads every cell a student may edit (docstrings and strings
    # included): the solution itself must not name a withheld function there.
    from autograder.scan import scan_withheld, student_sources  # noqa: PLC0415

    withheld = sorted({dotted for check in checks for dotted in check.withhold})
    hits = scan_withheld(student_sources(nb), withheld)
    assert not hits, f"the solution notebook trips the withheld-function scan: {hits}"


@pytest.mark.parametrize("edition", EDITIONS)
def test_release_folder_has_no_stale_assignments(edition):
    folder = release_notebook("x", edition).parent.parent
    released = {p.name for p in folder.iterdir() if p.is_dir()} if folder.is_dir() else set()
    stale = released - set(AIDS)
    assert not stale, f"{folder.name}/ holds releases without a source in solutions/: {sorted(stale)}"
