"""run_hidden in both modes, the Check spec, the comparison rules and the answer files."""

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder import harness
from autograder.checks import Check, CheckSpecError, check_rng, draw_cases, load_checks
from autograder.compare import Outcome, default_compare, judge_case
from autograder.harness import GRADING_ENV, answer_stem, inputs_stem, run_hidden
from autograder.values import UnsupportedValueError, load_values, save_values
from autograder.withhold import WithheldFunctionError, install_guards, withholding

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_COURSE = FIXTURES / "course"
FIXTURE_SOLUTIONS = FIXTURE_COURSE / "solutions"
REPO_ROOT = Path(__file__).resolve().parents[2]

F1 = FIXTURE_SOLUTIONS / "f1_toy"


def out_size_ok(W, F, S, P):
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError("invalid")
    return span // S + 1


@pytest.fixture
def in_f1(monkeypatch):
    monkeypatch.chdir(F1)
    monkeypatch.delenv(GRADING_ENV, raising=False)


# ---- LOCAL mode -------------------------------------------------------------------------------

def test_local_mode_passes_correct_code(in_f1, capsys):
    run_hidden("f1_toy", "out_size", lambda c: out_size_ok(c.W, c.F, c.S, c.P))
    assert "all 9 cases pass" in capsys.readouterr().out


def test_local_mode_lists_failing_cases_by_geometry(in_f1):
    def never_raises(W, F, S, P):
        return (W - F + 2 * P) // S + 1

    with pytest.raises(AssertionError) as info:
        run_hidden("f1_toy", "out_size", lambda c: never_raises(c.W, c.F, c.S, c.P))
    text = str(info.value)
    assert "3 of 9 cases fail" in text
    assert "W=10, F=3, S=2, P=0" in text and "expected ValueError to be raised" in text
    assert "never_raises" not in text  # geometry, not code


def test_local_mode_blocks_the_withheld_reference(in_f1):
    import convlab.shapes

    with pytest.raises(AssertionError, match="withholds"):
        run_hidden("f1_toy", "out_size",
                   lambda c: convlab.shapes.conv_output_size(c.W, c.F, stride=c.S, pad=c.P))
    # the guard is removed afterwards: the library works normally again
    assert convlab.shapes.conv_output_size(7, 3, stride=2) == 3


def test_local_mode_catches_a_caught_withheld_call(in_f1):
    import convlab.shapes

    def sneaky(c):
        try:
            return convlab.shapes.conv_output_size(c.W, c.F, stride=c.S, pad=c.P)
        except WithheldFunctionError:
            return out_size_ok(c.W, c.F, c.S, c.P)

    with pytest.raises(AssertionError, match="9 of 9 cases fail"):
        run_hidden("f1_toy", "out_size", sneaky)


def test_local_mode_gives_a_private_copy_of_the_inputs(in_f1):
    def mutating_relu(x):
        np.maximum(x, 0, out=x)  # in place: the reference must not see this
        return x

    run_hidden("f1_toy", "relu", lambda c: mutating_relu(c.x))


def test_local_mode_tuple_answers(in_f1):
    with pytest.raises(AssertionError, match="element 1"):
        run_hidden("f1_toy", "pool1d",
                   lambda c: (lambda out, idx: (out, idx + 1))(*_pool_ok(c.x, c.size, c.stride)))


def _pool_ok(x, size, stride):
    starts = np.arange(0, len(x) - size + 1, stride)
    win = np.stack([x[s:s + size] for s in starts])
    return win.max(axis=1), starts + win.argmax(axis=1)


def test_local_mode_finds_checks_from_repo_root(monkeypatch, tmp_path):
    monkeypatch.delenv(GRADING_ENV, raising=False)
    monkeypatch.chdir(FIXTURE_SOLUTIONS.parent)
    run_hidden("f1_toy", "relu", lambda c: np.maximum(c.x, 0))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="checks.py"):
        run_hidden("f1_toy", "relu", lambda c: c.x)


def test_unknown_check_name(in_f1):
    with pytest.raises(KeyError, match="known: out_size, relu"):
        run_hidden("f1_toy", "nope", lambda c: 0)


# ---- GRADING mode -----------------------------------------------------------------------------

def _prepare(tmp_path, check, seed=7):
    cases = draw_cases(check, check_rng(seed, check.name))
    save_values(inputs_stem(tmp_path, check.name), [tuple(c.values()) for c in cases],
                {"aid": "f1_toy", "name": check.name, "keys": [list(c) for c in cases],
                 "withhold": list(check.withhold)})
    return cases


def test_grading_mode_records_answers_and_exceptions(tmp_path, monkeypatch):
    check = {c.name: c for c in load_checks(F1 / "checks.py")}["out_size"]
    cases = _prepare(tmp_path, check)
    monkeypatch.setenv(GRADING_ENV, str(tmp_path))
    run_hidden("f1_toy", "out_size", lambda c: out_size_ok(c.W, c.F, c.S, c.P))
    for i, case in enumerate(cases):
        (value,), meta = load_values(answer_stem(tmp_path, "out_size", i))
        try:
            expected = out_size_ok(**case)
            assert value == expected and meta["raised"] == []
        except ValueError:
            assert value is None and meta["raised"][0] == "builtins.ValueError"


def test_grading_mode_refuses_foreign_inputs(tmp_path, monkeypatch):
    check = {c.name: c for c in load_checks(F1 / "checks.py")}["relu"]
    _prepare(tmp_path, check)
    monkeypatch.setenv(GRADING_ENV, str(tmp_path))
    with pytest.raises(RuntimeError, match="another check"):
        run_hidden("other_aid", "relu", lambda c: c.x)
    with pytest.raises(RuntimeError, match="no inputs"):
        run_hidden("f1_toy", "pool1d", lambda c: c.x)


def test_grading_mode_unsupported_answer_is_recorded_not_raised(tmp_path, monkeypatch):
    check = {c.name: c for c in load_checks(F1 / "checks.py")}["relu"]
    _prepare(tmp_path, check)
    monkeypatch.setenv(GRADING_ENV, str(tmp_path))
    run_hidden("f1_toy", "relu", lambda c: {"not": "an array"})
    (value,), meta = load_values(answer_stem(tmp_path, "relu", 0))
    assert value is None and meta["raised"] == ["autograder.UnsupportedAnswer"]


def test_case_view_is_read_only():
    c = harness.Case({"x": 1, "stride": 2})
    assert c.x == 1 and c["stride"] == 2 and "x" in c
    with pytest.raises(AttributeError, match="no entry 'pad'"):
        c.pad
    with pytest.raises(AttributeError):
        c.x = 3


# ---- Check spec, comparison, value files ------------------------------------------------------

def test_check_spec_validation():
    with pytest.raises(CheckSpecError):
        Check(name="bad name", grade_id="g", cases=lambda r: [], reference=lambda: 0)
    with pytest.raises(CheckSpecError):
        Check(name="n", grade_id="g", cases=lambda r: [], reference=lambda: 0, withhold=["nodots"])
    bad = Check(name="n", grade_id="g", cases=lambda r: [dict(x=[1, 2])], reference=lambda x: 0)
    with pytest.raises(CheckSpecError, match="list"):
        draw_cases(bad, np.random.default_rng(0))


def test_fresh_seeds_give_fresh_cases():
    check = {c.name: c for c in load_checks(F1 / "checks.py")}["relu"]
    a = draw_cases(check, check_rng(1, "relu"))
    b = draw_cases(check, check_rng(2, "relu"))
    a2 = draw_cases(check, check_rng(1, "relu"))
    assert not np.allclose(a[0]["x"], b[0]["x"])
    assert np.array_equal(a[0]["x"], a2[0]["x"])


@pytest.mark.parametrize("student, reference, ok, fragment", [
    (np.ones(3), np.ones(3), True, ""),
    (np.ones(3), np.ones((3, 1)), False, "shape (3,), expected (3, 1)"),
    (np.ones(3, dtype=int), np.ones(3), False, "dtype int64"),
    (5, np.int64(5), True, ""),
    (np.uint8(5), 5, True, ""),
    (5.0, 5, False, "expected int"),
    ([1.0, 2.0], np.array([1.0, 2.0]), True, ""),
    ((np.ones(2), 3), (np.ones(2), 3), True, ""),
    ((np.ones(2),), (np.ones(2), 3), False, "returned 1 values, expected 2"),
    (np.ones(2), (np.ones(2), 3), False, "expected a tuple"),
    ((np.ones(2), 3), np.ones(2), False, "single value"),
    (np.array([np.nan]), np.array([np.nan]), False, "differ"),
    (None, np.ones(2), False, "returned None"),
    (np.ones(4) + 1e-3, np.ones(4), False, "100% of values differ; largest difference 0.001"),
])
def test_default_compare(student, reference, ok, fragment):
    got_ok, msg = default_compare(student, reference, rtol=1e-7, atol=1e-9)
    assert got_ok is ok and fragment in msg


def test_judge_exception_rules():
    case = {"W": 10}
    want = Outcome(raised=("builtins.ValueError", "builtins.Exception"))
    sub = Outcome(raised=("convlab.X", "builtins.ValueError", "builtins.Exception"))
    other = Outcome(raised=("builtins.TypeError", "builtins.Exception"), message="boom")
    assert judge_case(0, case, sub, want).passed
    assert not judge_case(0, case, Outcome(value=4), want).passed
    res = judge_case(0, case, other, Outcome(value=4))
    assert not res.passed and res.message == "raised TypeError: boom" and res.geometry == "W=10"


def test_custom_compare_is_used_and_errors_contained():
    res = judge_case(0, {}, Outcome(value=1), Outcome(value=2), compare=lambda s, r: (True, ""))
    assert res.passed
    res = judge_case(0, {}, Outcome(value=1), Outcome(value=2), compare=lambda s, r: 1 / 0)
    assert not res.passed and "ZeroDivisionError" in res.message


values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=5)
    | st.builds(lambda s, seed: np.random.default_rng(seed).standard_normal(s),
                st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 9)),
    lambda inner: st.tuples(inner, inner), max_leaves=6)


@settings(max_examples=60, deadline=None)
@given(v=values)
def test_values_round_trip(tmp_path_factory, v):
    stem = tmp_path_factory.mktemp("v") / "x"
    save_values(stem, [v], {"k": 1})
    (back,), meta = load_values(stem)
    assert meta == {"k": 1}
    ok, msg = default_compare(back, v, rtol=0, atol=0) if v is not None else (back is None, "")
    assert ok, msg


def test_values_refuse_objects(tmp_path):
    with pytest.raises(UnsupportedValueError):
        save_values(tmp_path / "x", [np.array([{}], dtype=object)])
    with pytest.raises(UnsupportedValueError):
        save_values(tmp_path / "x", [{"a": 1}])


def test_load_values_never_unpickles(tmp_path):
    stem = tmp_path / "evil"
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    (tmp_path / "obj.npy").rename(stem.with_suffix(".npz"))
    stem.with_suffix(".json").write_text(json.dumps({"values": [{"t": "array", "key": "a0"}]}))
    with pytest.raises(Exception) as info:
        load_values(stem)
    assert not isinstance(info.value, AssertionError)


def test_guards_block_only_inside_withholding():
    import convlab.shapes

    with install_guards(["convlab.shapes.conv_output_size", "nonexistent_mod.f"]):
        assert convlab.shapes.conv_output_size(5, 3) == 3
        with withholding(["convlab.shapes.conv_output_size"]) as seen:
            with pytest.raises(WithheldFunctionError):
                convlab.shapes.conv_output_size(5, 3)
        assert seen == ["convlab.shapes.conv_output_size"]
        with withholding(["convlab.shapes.other"]):
            assert convlab.shapes.conv_output_size(5, 3) == 3
    assert not hasattr(convlab.shapes.conv_output_size, "__convlab_guard__")
    with install_guards(["convlab.shapes.conv_output_size"], block_outside=True):
        with pytest.raises(WithheldFunctionError):
            convlab.shapes.conv_output_size(5, 3)


def test_guards_cover_the_defining_module_of_a_reexport():
    # convlab.layers re-exports conv_forward_naive from convlab.layers.conv_naive: reaching it through
    # the defining module must be blocked too, and both names restored afterwards
    import convlab.layers
    import convlab.layers.conv_naive as defining

    original = defining.conv_forward_naive
    x, w, b = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), np.zeros(1)
    with install_guards(["convlab.layers.conv_forward_naive"]):
        with withholding(["convlab.layers.conv_forward_naive"]) as seen:
            with pytest.raises(WithheldFunctionError):
                defining.conv_forward_naive(x, w, b)
            with pytest.raises(WithheldFunctionError):
                convlab.layers.conv_forward_naive(x, w, b)
        assert seen == ["convlab.layers.conv_forward_naive"]
    assert defining.conv_forward_naive is original and convlab.layers.conv_forward_naive is original
