"""Understanding questions (autograder.questions): one fixed case, judged by value, never revealed."""

import numpy as np
import pytest

from autograder.checks import CheckSpecError, case_kinds, check_rng, draw_cases, judge, reference_outcomes, \
    score_check
from autograder.compare import outcome_of
from autograder.questions import compare_choice, compare_number, question


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
