"""The browser tests' expectations catch wrong pages (fast: no browser, pages described as read back).

Each wrong page here is one a broken course would show: Run All stopping at the first unanswered
exercise (main before visible tests were tagged ``raises-exception``), a setup cell crashing, a solved
copy with an error, a widget with the formula off by one, a feedback page that says "Test cell" and
leaves its TeX raw (nbconvert's template loading MathJax from a CDN, offline).
"""

from __future__ import annotations

import nbformat.v4 as v4

from .expectations import (
    expected_scores,
    feedback_problems,
    notes_output_size,
    release_problems,
    solved_problems,
    stepper_problem,
    validate_problems,
    verdict_problem,
)
from .lab_page import DomCell, DomOutput, error_name

STDERR = "application/vnd.jupyter.stderr"
TRACEBACK = ("---------------------------------------------------------------------------\n"
             "NotImplementedError                       Traceback (most recent call last)\n"
             "Cell In[9], line 1\n----> 1 assert conv_output_size(5, 3) == 3\n\nNotImplementedError: ")
SYNTAX = "  Cell In[4], line 1\n    def f(:\n          ^\nSyntaxError: invalid syntax\n"
WARNING = "/x/y.py:3: UserWarning: careful\n  warnings.warn('careful')\n"


def graded(kind, gid=None, points=0, tags=()):
    meta = {"tags": list(tags)}
    if kind == "solution":
        meta["nbgrader"] = {"solution": True, "grade_id": gid, "locked": False}
    elif kind == "visible":
        meta["nbgrader"] = {"grade": False, "grade_id": gid, "locked": True, "solution": False}
    elif kind == "hidden":
        meta["nbgrader"] = {"grade": True, "grade_id": gid, "locked": True, "points": points, "solution": False}
    return v4.new_code_cell("pass", metadata=meta)


# setup, answer, its visible test, its hidden test, a needs-answer demo, a last setup cell
NB_CELLS = [v4.new_markdown_cell("# A1"), graded("setup"), graded("solution", "f"), graded("visible", "f_tests"),
            graded("hidden", "f_hidden", 10), graded("setup", tags=["needs-answer"]), graded("setup")]


def cell(n=None, *outputs):
    return DomCell("code", f"[{n}]:" if n else "[ ]:", tuple(outputs))


def err(text=TRACEBACK):
    return DomOutput(STDERR, text)


def test_error_name_reads_tracebacks_and_not_warnings():
    assert error_name(err()) == "NotImplementedError"
    assert error_name(err(SYNTAX)) == "SyntaxError"
    assert error_name(err(WARNING)) is None
    assert error_name(DomOutput("application/vnd.jupyter.stdout", TRACEBACK)) is None


def test_release_expectation_passes_run_all_past_the_unanswered():
    shown = [DomCell("markdown", "", ()), cell(1), cell(2), cell(3, err()), cell(4), cell(5, err()), cell(6)]
    assert release_problems(NB_CELLS, shown) == []


def test_release_expectation_catches_run_all_stopping_at_the_first_error():
    shown = [DomCell("markdown", "", ()), cell(1), cell(2), cell(3, err()), cell(), cell(), cell()]
    [problem] = release_problems(NB_CELLS, shown)
    assert "3 code cells never ran (cells 4, 5, 6)" in problem and "error of cell 3" in problem


def test_release_expectation_catches_a_crashing_setup_cell_and_a_silent_demo():
    shown = [DomCell("markdown", "", ()), cell(1), cell(2), cell(3, err()), cell(4), cell(5), cell(6, err())]
    problems = release_problems(NB_CELLS, shown)
    assert any("cell 6 (setup) shows NotImplementedError" in p for p in problems), problems
    assert any("cell 5 (needs_answer) ran but shows nothing" in p for p in problems), problems


def test_release_expectation_catches_stubs_never_reached():
    shown = [DomCell("markdown", "", ()), cell(1), cell(2), cell(3), cell(4), cell(5, err()), cell(6)]
    assert any("never reached" in p for p in release_problems(NB_CELLS, shown))


def test_solved_expectation_catches_errors_and_cells_not_run():
    assert solved_problems([cell(1), cell(2, DomOutput(STDERR, WARNING))]) == []
    assert solved_problems([cell(1), cell(2, err())]) == ["cell 1 shows NotImplementedError"]
    assert solved_problems([cell(1), cell()]) == ["cell 1 did not run"]


def test_shape_explorer_verdict_expectation():
    ok = {"W": 11, "F": 3, "S": 2, "P": 0, "dilation": 1}
    assert notes_output_size(11, 3, 2, 0, 1) == 5 and notes_output_size(10, 3, 2, 0, 1) is None
    assert notes_output_size(11, 3, 2, 1, 2) == 5  # F_eff = 5
    good = "W=11, F=3, S=2, P=0: output size (W - F + 2P)/S + 1 = (11 - 3 + 0)/2 + 1 = 5"
    assert verdict_problem(good, ok) is None
    assert "gives 5" in verdict_problem(good.replace("= 5", "= 6"), ok)  # formula off by one
    assert "does not name" in verdict_problem(good, {**ok, "W": 12})  # the verdict did not follow the slider
    assert "no whole number" in verdict_problem("W=10, F=3, S=2, P=0: output size 4", {**ok, "W": 10})
    assert verdict_problem("W=10, F=3, S=2, P=0: INVALID. 4.5 is not an integer", {**ok, "W": 10}) is None
    assert verdict_problem("INVALID convolution (W=10, F=3, S=2, P=0): 4.5", {**ok, "W": 10}) is None


def test_conv_stepper_caption_expectation():
    import numpy as np  # noqa: PLC0415

    x = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3)  # (C, H, W)
    w = np.ones((2, 2, 3, 3))  # (K, C, F, F)
    b = np.array([1.0, -1.0])
    # S=2, P=1: 5x5 padded, 2x2 outputs per filter; step 6 = filter 1, row 0, column 1: columns 2:5
    window = np.pad(x, ((0, 0), (1, 1), (1, 1)))[:, 0:3, 2:5].sum() - 1
    right = f"step 6/8: out[1, 0, 1] = sum(x_pad[:, 0:3, 2:5] * w1) + b1 = {window:g}  (a dot product)"
    assert stepper_problem(right, 6, x, w, b, 2, 1) is None
    assert "fills out[1, 0, 1]" in stepper_problem(right.replace("step 6/8", "step 5/8"), 6, x, w, b, 2, 1)
    assert "fills" in stepper_problem(right.replace("2:5]", "1:4]"), 6, x, w, b, 2, 1)  # window ignores stride
    assert "dot product is" in stepper_problem(right.replace(f"= {window:g}", "= 0"), 6, x, w, b, 2, 1)


FEEDBACK_NB = v4.new_notebook(cells=[
    v4.new_markdown_cell("| exercise | function | points |\n|---|---|---|\n| 1 | `conv_output_size` | 10 |\n"
                         "| 2 | `padding_for_mode` | 10 |"),
    v4.new_markdown_cell("### Exercise 1 (10 points): `conv_output_size`\n$$W_2 = (W_1 - F)/S + 1$$"),
    graded("hidden", "a_hidden", 10),
    v4.new_markdown_cell("### Exercise 2 (10 points): valid and same padding"),
    graded("hidden", "b_hidden", 10),
])


def test_feedback_expectation_passes_a_page_naming_exercises_with_typeset_maths():
    scores = expected_scores(FEEDBACK_NB, {"a_hidden": [4, 10], "b_hidden": [10, 10]})
    assert scores == {1: (4, 10), 2: (10, 10)}
    summary = ["Grader's notes: 14 / 20", "Exercise 1: conv_output_size 4 / 10",
               "valid and same padding (Score: 10.0 / 10.0)"]
    assert feedback_problems(FEEDBACK_NB, scores, summary, typeset=1, text="W2 = ...") == []


def test_feedback_expectation_catches_test_cell_labels_wrong_scores_and_raw_tex():
    scores = {1: (4, 10), 2: (10, 10)}
    nbgrader_stock = ["a1 (Score: 14.0 / 20.0)", "Test cell (Score: 4.0 / 10.0)", "Test cell (Score: 10.0 / 10.0)"]
    problems = feedback_problems(FEEDBACK_NB, scores, nbgrader_stock, typeset=0, text="$$W_2 = (W_1 - F)/S + 1$$")
    assert len(problems) == 4, problems
    assert problems[0].startswith("Exercise 1 (conv_output_size): no line of the summary names it")
    assert problems[1].startswith("Exercise 2 (valid and same padding / padding_for_mode): no line")
    assert "0 typeset maths elements" in problems[2] and "raw TeX" in problems[3]
    wrong_score = ["Exercise 1: 10 / 10", "Exercise 2: 10 / 10"]
    assert [p[:10] for p in feedback_problems(FEEDBACK_NB, scores, wrong_score, 1, "")] == ["Exercise 1"]


STOCK_SUCCESS = "Validation Results\n\nSuccess! Your notebook passes all the tests.\n\nOk"


def test_validate_expectation_passes_a_report_per_exercise():
    report = ("Validation Results\nThe following cell failed:\na1.ipynb: 0 of 2 exercises pass their visible tests\n"
              "  Exercise 1 (10 points) conv_output_size: todo - replace `raise NotImplementedError()`\n"
              "  Exercise 2 (10 points) valid and same padding: todo - replace `raise NotImplementedError()`\nOk")
    assert validate_problems(FEEDBACK_NB, report, STOCK_SUCCESS) == []


def test_validate_expectation_catches_stock_success_and_a_report_missing_an_exercise():
    assert validate_problems(FEEDBACK_NB, STOCK_SUCCESS, STOCK_SUCCESS) == [
        "the untouched release gets a success verdict",
        "the untouched release's dialog does not name the unanswered exercises [1, 2]"]
    first_only = "The following cell failed:\nExercise 1 (10 points) conv_output_size: todo"
    assert validate_problems(FEEDBACK_NB, first_only, first_only) == [
        "the untouched release's dialog does not name the unanswered exercises [2]",
        "the solved copy gets no success verdict"]
