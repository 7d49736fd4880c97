"""Understanding questions (autograder.questions): one fixed case, judged by value, never revealed."""

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from autograder.cells import grade_id as cell_grade_id
from autograder.checks import CheckSpecError, case_kinds, check_rng, draw_cases, judge, load_checks, \
    reference_outcomes, score_check
from autograder.compare import outcome_of
from autograder.kernel.protocol import Outcome
from autograder.mutants import mutants_of, patch_source
from autograder.questions import compare_choice, compare_number, question
from autograder.selfcheck import QuestionStatus, judge_questions, question_cells
from autograder.testing import make_submission


def _grade(check, answer) -> tuple[float, str]:
    """The fraction of the question's points ``answer`` earns, and the verdict's message."""
    cases = draw_cases(check, check_rng(7, check.name))
    references = reference_outcomes(check, cases)
    results = judge(check, cases, [outcome_of(lambda: answer)], references)
    return score_check(check, [r.passed for r in results], case_kinds(check, cases, references, 7)), results[0].message


def test_a_question_is_one_fixed_case_whose_reference_is_the_answer():
    check = question("q_params", "q_params_hidden", 12_832)
    assert check.question and check.grade_id == "q_params_hidden"
    cases = draw_cases(check, check_rng(1, check.name))
    assert cases == draw_cases(check, check_rng(2, check.name)) == [{"question": "q_params"}]
    assert reference_outcomes(check, cases)[0].value == 12_832
    assert case_kinds(check, cases, reference_outcomes(check, cases), 1) == ["fixed"]


@pytest.mark.parametrize("answer, earned", [(12_832, 1.0), (np.int64(12_832), 1.0), (12_832.0, 1.0),
                                            (12_800, 0.0), ("12832", 0.0), (True, 0.0), (None, 0.0)])
def test_a_count_is_exact_and_a_number(answer, earned):
    assert _grade(question("q_params", "q_params_hidden", 12_832), answer)[0] == earned


def test_a_float_is_judged_to_the_stated_precision():
    check = question("q_ratio", "q_ratio_hidden", 6912 / 3267, rel_tol=5e-3)
    for answer, earned in [(2.12, 1.0), (2.11, 1.0), (2.116, 1.0), (2.13, 0.0), (9.0, 0.0), (float("nan"), 0.0)]:
        assert _grade(check, answer)[0] == earned, answer


def test_choices_are_letters_in_any_order_and_case():
    check = question("q_tiles", "q_tiles_hidden", "ACE", choices="ABCDE")
    for answer, earned in [("ACE", 1.0), ("eca", 1.0), ("A, C, E", 1.0), ("AC", 0.0), ("ABCDE", 0.0),
                           ("ACEF", 0.0), ("AACE", 0.0), ("", 0.0), (3, 0.0)]:
        assert _grade(check, answer)[0] == earned, answer


def test_the_verdict_never_reveals_the_answer():
    for check, wrong in [(question("q_depth", "q_depth_hidden", 32), 16),
                         (question("q_pick", "q_pick_hidden", "B", choices="ABCD"), "A")]:
        earned, message = _grade(check, wrong)
        assert earned == 0.0 and message == "not the expected answer"
    assert compare_number("12", 12) == (False, "answer with a number, not a str")
    assert compare_choice("AZ", "A", "ABC") == (False, "answer with letters among A, B, C, each at most once")


def test_a_malformed_question_is_refused():
    with pytest.raises(CheckSpecError, match="identifier"):
        question("q-depth", "q_depth_hidden", 32)
    with pytest.raises(CheckSpecError, match="letters among"):
        question("q", "q_hidden", "F", choices="ABCD")
    with pytest.raises(CheckSpecError, match="must be a number"):
        question("q", "q_hidden", "12")
    with pytest.raises(CheckSpecError, match="must be a number"):
        question("q", "q_hidden", 1.0, rel_tol=-1)


# ---- the course's questions: check's judging (autograder.selfcheck) on the solutions and their mutants ----

SOLUTIONS = Path(__file__).resolve().parents[2] / "solutions"
AIDS = sorted(p.parent.name for p in SOLUTIONS.glob("*/checks.py"))


@cache
def _answer_cells(aid):
    """The solved notebook of ``aid`` as a student sees it, and ``{answer variable: its cell's source}``."""
    nb = make_submission(SOLUTIONS / aid / f"{aid}.ipynb")
    owners = question_cells(nb)
    return nb, {cell_grade_id(c): c.source for c in nb.cells if cell_grade_id(c) in owners}


def _value(source: str, name: str):
    """The answer an answer cell's ``source`` assigns to ``name``."""
    namespace = {}
    exec(compile(source, f"<{name}>", "exec"), namespace)  # one assignment of a literal (the structure test)
    return namespace[name]


def _judged(aid, answers: dict) -> list[QuestionStatus]:
    """check's verdicts on the exercises of ``aid``'s questions, every one passing its form checks."""
    nb, _ = _answer_cells(aid)
    questions = [c for c in load_checks(SOLUTIONS / aid / "checks.py") if c.question]
    statuses = [QuestionStatus(exercise, "pass", "4 visible test cell(s)")
                for exercise in dict.fromkeys(question_cells(nb).values())]
    outcomes = {name: Outcome(value=value) for name, value in answers.items()}
    return judge_questions(nb, statuses, questions, outcomes, f"solutions/{aid}/checks.py")


def _question_mutants():
    for aid in AIDS:
        for mutant in mutants_of(SOLUTIONS, aid):
            if mutant.grade_id.startswith("q"):  # narrowed to the answer cells in the test
                yield pytest.param(aid, mutant, id=mutant.label)


@pytest.mark.parametrize("aid", AIDS)
def test_check_finds_every_solution_answer_right(aid):
    _, cells = _answer_cells(aid)
    assert cells, f"{aid}: no answer cell tagged 'question'"
    [status] = _judged(aid, {name: _value(source, name) for name, source in cells.items()})
    assert (status.state, status.detail) == (
        "pass", f"all {len(cells)} answers right (judged against solutions/{aid}/checks.py)")


@pytest.mark.parametrize(("aid", "mutant"), list(_question_mutants()))
def test_check_finds_each_question_mutant_wrong_without_saying_the_answer(aid, mutant):
    # a question mutant gets no diagnosis (tests/autograder/test_diagnosis.py exempts it): this is its verdict
    _, cells = _answer_cells(aid)
    if mutant.grade_id not in cells:
        pytest.skip(f"{mutant.label}: not a question's answer cell")
    answers = {name: _value(source, name) for name, source in cells.items()}
    answers[mutant.grade_id] = _value(patch_source(cells[mutant.grade_id], mutant), mutant.grade_id)
    number = list(cells).index(mutant.grade_id) + 1
    [status] = _judged(aid, answers)
    assert status.state == "fail"
    assert status.detail == (f"question {number} ({mutant.grade_id}): not the expected answer "
                             f"(judged against solutions/{aid}/checks.py)")
