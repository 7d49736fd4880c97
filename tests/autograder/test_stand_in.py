"""One mistake is charged once: stand-ins for earlier exercises, and notes naming them where none fits."""

import numpy as np
import pytest

from autograder.checks import Check, CheckSpecError, check_dependencies, dependency_notes
from autograder.kernel.protocol import call_on_case
from autograder.kernel.stand_in import stand_in, table_calls


def _signature(size, kernel, stride=1, pad=0):
    """The documented signature of the earlier function (never called)."""


def _off_by_one(size, kernel, stride=1, pad=0):
    """A student's earlier function with a bug: forgets the + 1."""
    return (size - kernel + 2 * pad) // stride


def _layer(namespace, H, W, F, stride, pad):
    """A student's later function: looks the earlier one up in its namespace at call time, as a notebook does."""
    size = namespace["conv_output_size"]
    return size(H, F, stride, pad=pad), size(W, F, stride=stride, pad=pad)


ROWS = np.array([[7, 3, 2, 0, 3], [9, 3, 2, 0, 4], [10, 3, 2, 0, -1]])


def test_listed_calls_are_answered_however_the_arguments_are_passed():
    ns = {"conv_output_size": _off_by_one}
    with stand_in(ns, "conv_output_size", _signature, table_calls(ROWS, ("size", "kernel", "stride", "pad"),
                                                                   ValueError("does not tile"))):
        assert _layer(ns, 7, 9, 3, 2, 0) == (3, 4)  # positional and keyword calls, defaults filled in
        with pytest.raises(ValueError, match="does not tile"):
            ns["conv_output_size"](10, 3, 2)
        assert ns["conv_output_size"](11, 3, 2) == 4  # not listed: the student's own (wrong) answer
    assert ns["conv_output_size"] is _off_by_one  # restored


def test_the_later_function_is_still_judged_on_its_own_mistakes():
    def swapped_layer(namespace, H, W, F, stride, pad):
        size = namespace["conv_output_size"]
        return size(W, F, stride, pad), size(H, F, stride, pad)

    ns = {"conv_output_size": _off_by_one}
    calls = table_calls(ROWS, ("size", "kernel", "stride", "pad"), ValueError("does not tile"))
    with stand_in(ns, "conv_output_size", _signature, calls):
        assert swapped_layer(ns, 7, 9, 3, 2, 0) == (4, 3)  # the stand-in answers; the swap stays wrong


def test_arrays_are_matched_by_value_and_answers_are_private_copies():
    x = np.arange(12.0).reshape(3, 4)
    ns = {}
    with stand_in(ns, "forward", lambda x, *, size=2: None, [(dict(x=x, size=(2, 2)), (np.ones(2), 5))]) as fake:
        out, n = fake(x.copy(), size=(2, 2))
        out[:] = 7  # a student mutating the answer cannot spoil the next call
        assert np.array_equal(fake(x, size=(2, 2))[0], np.ones(2)) and n == 5
        with pytest.raises(NameError, match="forward"):  # not listed and no own function
            fake(x + 1, size=(2, 2))
        with pytest.raises(NameError):
            fake(x, (2, 2))  # does not fit the signature (size is keyword-only)
    assert "forward" not in ns


def test_the_name_is_restored_when_the_later_function_raises():
    ns = {"conv_output_size": _off_by_one}
    with pytest.raises(ZeroDivisionError):
        with stand_in(ns, "conv_output_size", _signature, []):
            raise ZeroDivisionError
    assert ns["conv_output_size"] is _off_by_one


def test_a_hidden_case_sees_the_stand_in_only_inside_its_own_call():
    ns = {"conv_output_size": _off_by_one}
    case = dict(H=7, W=9, F=3, stride=2, pad=0, output_sizes=ROWS)

    def hidden(c):
        calls = table_calls(c.output_sizes, ("size", "kernel", "stride", "pad"), ValueError("does not tile"))
        with stand_in(ns, "conv_output_size", _signature, calls):
            return _layer(ns, c.H, c.W, c.F, c.stride, c.pad)

    assert call_on_case(hidden, case).value == (3, 4)
    assert _layer(ns, 7, 9, 3, 2, 0) == (2, 3)  # afterwards the student's own function again


def test_table_calls_reads_rows_of_arguments_then_the_answer():
    err = ValueError("x")
    assert table_calls(np.array([[5, 3, 1, 1, 5], [4, 7, 1, 1, -1]]), ("size", "kernel", "stride", "pad"), err) == [
        (dict(size=5, kernel=3, stride=1, pad=1), 5), (dict(size=4, kernel=7, stride=1, pad=1), err)]
    with pytest.raises(ValueError):
        table_calls(np.array([[5, 3, 5]]), ("size", "kernel", "stride"), err)  # a row one column short


# --- where no stand-in fits: the verdict names the earlier exercise -----------------------------------

def _check(name, **kwargs):
    return Check(name=name, grade_id=f"{name}_hidden", cases=lambda rng: [dict(a=1)], reference=lambda a: a,
                 **kwargs)


def test_dependency_notes_name_the_failed_earlier_exercise_and_its_first_failure():
    later = _check("flip", depends_on={"forward": "conv_forward_naive (exercise 1)"})
    failed = {"forward": ["case 3 (x: float64 (2, 1, 5, 6)): raised ValueError: bad", "case 4 (...): x"], "flip": ["y"]}
    [note] = dependency_notes(later, failed)
    assert note.startswith("this exercise calls conv_forward_naive (exercise 1), which failed on case 3 (x: float64")
    assert "raised ValueError: bad (and 1 more)" in note
    assert dependency_notes(later, {"forward": [], "flip": ["y"]}) == []  # the earlier one passed: no note


def test_depends_on_must_name_known_checks_with_labels():
    with pytest.raises(CheckSpecError):
        _check("flip", depends_on={"forward": ""})
    with pytest.raises(CheckSpecError):
        _check("flip", depends_on={"flip": "itself"})
    with pytest.raises(CheckSpecError, match="unknown checks"):
        check_dependencies([_check("flip", depends_on={"fowrard": "conv_forward_naive (exercise 1)"})])
    check_dependencies([_check("forward"), _check("flip", depends_on={"forward": "conv_forward_naive (exercise 1)"})])
    hash(_check("flip", depends_on={"forward": "x"}))  # a Check stays hashable


def test_the_verdict_of_a_failing_later_check_carries_the_note():
    from autograder.checks import reference_outcomes  # noqa: PLC0415
    from autograder.kernel.protocol import Outcome  # noqa: PLC0415
    from autograder.trusted import CheckRun, HiddenSession, score_cells, verdict_outputs  # noqa: PLC0415

    forward, flip = _check("forward"), _check("flip", depends_on={"forward": "conv_forward_naive (exercise 1)"})
    runs = {c.name: CheckRun(c, [dict(a=1)], reference_outcomes(c, [dict(a=1)]), ["fresh"], {0: Outcome(value=2)})
            for c in (forward, flip)}
    cells = score_cells(HiddenSession("a0_toy", runs))
    assert cells["forward_hidden"]["checks"][0]["notes"] == []  # nothing earlier to blame
    [chk] = cells["flip_hidden"]["checks"]
    assert chk["fraction"] == 0 and chk["notes"] == [
        "this exercise calls conv_forward_naive (exercise 1), which failed on case 0 (a=1): returned 2, expected 1; "
        "fix that first, then this one"]
    text = verdict_outputs(cells["flip_hidden"], 10.0)[0][0].text
    assert "  note: this exercise calls conv_forward_naive (exercise 1)" in text
    runs["flip"].answers[0] = Outcome(value=1)  # the later check passes: no note, whatever failed before
    assert score_cells(HiddenSession("a0_toy", runs))["flip_hidden"]["checks"][0]["notes"] == []
