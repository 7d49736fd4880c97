"""Slow tests: scores. Every mutant (``solutions/<aid>/mutants``) loses points on exactly the hidden
checks it names; the solutions earn full marks in the fast in-process scorer and through the real
sandboxed grader, in the Chinese edition too (with a Chinese feedback page).
"""

from __future__ import annotations

import pytest

from .notebook_support import (TRANSLATED, assignment_ids, checks_file, mutant_source, mutants, read_notebook,
                               solution_notebook, validation_points)

AIDS = assignment_ids()
MUTANTS = mutants()
SEED = 7  # any seed: the cases are random but the verdicts must not depend on it

pytestmark = pytest.mark.slow


def _lost(scores: dict) -> set[str]:
    return {gid for gid, (score, maximum) in scores.items() if score < maximum}


@pytest.mark.parametrize("aid", AIDS)
def test_solution_scores_full_marks_locally(aid):
    from autograder.testing import score_locally  # noqa: PLC0415

    scores = score_locally(aid, solution_notebook(aid), seed=SEED)
    assert scores and not _lost(scores), f"{aid}: the solution loses points: {scores}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[f"{m.aid}/{m.name}" for m in MUTANTS])
def test_mutant_loses_exactly_its_checks(mutant):
    from autograder.testing import score_locally  # noqa: PLC0415

    scores = score_locally(mutant.aid, solution_notebook(mutant.aid), {mutant.grade_id: mutant_source(mutant)},
                           seed=SEED)
    lost = _lost(scores)
    assert lost == set(mutant.loses), (
        f"{mutant.aid}/{mutant.name} should lose exactly {sorted(mutant.loses)}, lost {sorted(lost)}: {scores}")


LENIENT = [m for m in MUTANTS if "no_raise" in m.name or "no_validation" in m.name]


@pytest.mark.parametrize("mutant", LENIENT, ids=[f"{m.aid}/{m.name}" for m in LENIENT])
def test_a_correct_function_that_never_raises_loses_exactly_what_the_text_says(mutant):
    from autograder.checks import load_checks  # noqa: PLC0415
    from autograder.testing import score_locally  # noqa: PLC0415

    scores = score_locally(mutant.aid, solution_notebook(mutant.aid), {mutant.grade_id: mutant_source(mutant)},
                           seed=SEED)
    stated = validation_points(read_notebook(solution_notebook(mutant.aid)), load_checks(checks_file(mutant.aid)), SEED)
    for gid in mutant.loses:
        score, maximum = scores[gid]
        assert maximum - score == pytest.approx(stated[gid], abs=1e-9), (
            f"{mutant.name} loses {maximum - score:g} of {gid}, its exercise says {stated[gid]:g}")


@pytest.mark.parametrize("aid", AIDS)
def test_solution_earns_full_marks_through_the_sandboxed_grader(aid, released_course, tmp_path):
    from autograder.testing import grade_notebook, make_submission  # noqa: PLC0415

    submission = tmp_path / f"{aid}.ipynb"
    make_submission(solution_notebook(aid), None, submission)
    result = grade_notebook(aid, submission, released_course(aid).root, student=f"honest_{aid}")
    assert result.status == "graded", f"{aid}: grading failed: {result.notes}"
    assert result.max_score > 0 and result.score == result.max_score, (
        f"{aid}: {result.score}/{result.max_score} through the sandbox; cells {result.cells}; notes {result.notes}")
    # an honest solution's feedback shows no traceback anywhere, demo cells included (a demo that trips a
    # withheld library function must be tagged skip-when-graded)
    import nbformat  # noqa: PLC0415

    from autograder.course import Course  # noqa: PLC0415

    graded = Course(released_course(aid).root).autograded / f"honest_{aid}" / aid / f"{aid}.ipynb"
    errors = [(i, out.get("ename"), out.get("evalue", "")[:120])
              for i, cell in enumerate(nbformat.read(graded, as_version=4).cells) if cell.cell_type == "code"
              for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors, f"{aid}: error outputs in the graded honest solution (cell, error, message): {errors}"


@pytest.mark.parametrize("aid", TRANSLATED)
def test_chinese_solution_earns_full_marks_and_chinese_feedback(aid, released_course, tmp_path):
    # the same grader, hidden tests and points for a submission of the Chinese edition; its feedback page
    # speaks Chinese (the edition is read from the notebook's metadata, stamped by the release)
    import nbformat  # noqa: PLC0415

    from autograder.course import Course  # noqa: PLC0415
    from autograder.editions import edition_notebook, notebook_edition  # noqa: PLC0415
    from autograder.feedback import generate_feedback  # noqa: PLC0415
    from autograder.testing import grade_notebook, make_submission  # noqa: PLC0415

    chinese = tmp_path / "zh" / f"{aid}.ipynb"
    chinese.parent.mkdir()
    nbformat.write(edition_notebook(read_notebook(solution_notebook(aid)), "zh"), chinese)
    submission = tmp_path / f"{aid}.ipynb"
    make_submission(chinese, None, submission)
    student = f"honest_zh_{aid}"
    result = grade_notebook(aid, submission, released_course(aid).root, student=student)
    assert result.status == "graded", f"{aid} (zh): grading failed: {result.notes}"
    assert result.max_score > 0 and result.score == result.max_score, (
        f"{aid} (zh): {result.score}/{result.max_score} through the sandbox; cells {result.cells}; notes {result.notes}")
    course = Course(released_course(aid).root)
    graded = nbformat.read(course.autograded / student / aid / f"{aid}.ipynb", as_version=4)
    assert notebook_edition(graded) == "zh"
    # nbgrader restored the locked visible tests from the (English) gradebook; the grader put their Chinese back
    visible = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("locked")
               and not c.metadata["nbgrader"].get("grade")]
    assert visible and all("可见测试全部通过" in c.source for c in visible if "all visible tests passed" in
                           read_notebook(solution_notebook(aid)).cells[graded.cells.index(c)].source)
    assert any("可见测试全部通过" in out.get("text", "") for c in visible for out in c.outputs)
    page = generate_feedback(course, aid)[student][0].read_text(encoding="utf-8")
    for chinese_words in ("批改说明", "满分", "练习 1", "你的答案", "所有隐藏测试都通过了", "数据体"):
        assert chinese_words in page, f"{aid} (zh): the feedback page lacks {chinese_words!r}"
    for english_words in ("Grader's notes", "full marks", "Student's answer", "hidden tests:"):
        assert english_words not in page, f"{aid} (zh): the feedback page still says {english_words!r}"


def test_a_hint_left_in_an_answer_cell_costs_nothing_in_the_sandbox(released_course, tmp_path):
    # the sandbox holds no autograder.hints but the grading build's stand-in; without it this import fails
    # and the answer cell's function is never defined
    import nbformat  # noqa: PLC0415

    from autograder.cells import grade_id, strip_solution_markers  # noqa: PLC0415
    from autograder.testing import grade_notebook, make_submission  # noqa: PLC0415

    aid = "a1_volumes"
    cell = next(c for c in nbformat.read(solution_notebook(aid), as_version=4).cells
                if c.cell_type == "code" and "def effective_kernel_size" in c.source)
    source = "from autograder.hints import hint\nhint(5)\n" + strip_solution_markers(cell.source)
    submission = tmp_path / f"{aid}.ipynb"
    make_submission(solution_notebook(aid), {grade_id(cell): source}, submission)
    result = grade_notebook(aid, submission, released_course(aid).root, student="hint_in_answer")
    assert result.status == "graded" and result.score == result.max_score > 0, (result.cells, result.notes)
