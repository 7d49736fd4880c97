"""run_hidden in both modes, the Check spec, scoring and the comparison rules."""

import json

import numpy as np
import pytest

from autograder.checks import Check, CheckSpecError, case_kinds, check_rng, draw_cases, load_checks, \
    reference_outcomes, score_check
from autograder.compare import default_compare, judge_case
from autograder.kernel import harness
from autograder.kernel.harness import run_hidden
from autograder.kernel.protocol import ANSWER_MIME, INPUTS_ENV, Case, Outcome, decode, write_inputs
from autograder.local import find_checks_file

from ag_support import FIXTURE_COURSE  # noqa: E402 - fixtures folder on sys.path (conftest)

FIXTURE_SOLUTIONS = FIXTURE_COURSE / "solutions"
F1 = FIXTURE_SOLUTIONS / "f1_toy"


def out_size_ok(W, F, S, P):
    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError("invalid")
    return span // S + 1


@pytest.fixture
def in_f1(monkeypatch):
    monkeypatch.chdir(F1)
    monkeypatch.delenv(INPUTS_ENV, raising=False)


def _checks():
    return {c.name: c for c in load_checks(F1 / "checks.py")}


# ---- LOCAL mode (a solution author's run) ------------------------------------------------------

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


def test_local_mode_accepts_only_the_notebooks_own_solutions_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(INPUTS_ENV, raising=False)
    assert find_checks_file("f1_toy", F1) == F1 / "checks.py"
    # a student's copy, an autograded folder, the course root: no walking up to a checks.py
    for folder in [FIXTURE_SOLUTIONS, FIXTURE_COURSE, F1.parent.parent]:
        with pytest.raises(FileNotFoundError, match="solutions/f1_toy/f1_toy.ipynb"):
            find_checks_file("f1_toy", folder)
    copy = tmp_path / "work" / "autograded" / "s" / "f1_toy"
    copy.mkdir(parents=True)
    (tmp_path / "solutions" / "f1_toy").mkdir(parents=True)
    (tmp_path / "solutions" / "f1_toy" / "checks.py").write_text((F1 / "checks.py").read_text())
    monkeypatch.chdir(copy)
    with pytest.raises(FileNotFoundError):
        run_hidden("f1_toy", "relu", lambda c: c.x)
    with pytest.raises(FileNotFoundError):  # a folder of another assignment's name
        find_checks_file("a1_volumes", F1)


def test_unknown_check_name(in_f1):
    with pytest.raises(KeyError, match="known: out_size, relu"):
        run_hidden("f1_toy", "nope", lambda c: 0)


# ---- GRADING mode ---------------------------------------------------------------------------

def _prepare(folder, check, seed=7, aid="f1_toy"):
    cases = draw_cases(check, check_rng(seed, check.name))
    write_inputs(folder, aid, check.name, cases)
    return cases


def _grade(monkeypatch, folder, aid, name, fn):
    sent = []
    monkeypatch.setenv(INPUTS_ENV, str(folder))
    run_hidden(aid, name, fn, publish=sent.append)
    return sent


def test_grading_mode_sends_answers_and_exceptions(tmp_path, monkeypatch):
    cases = _prepare(tmp_path, _checks()["out_size"])
    sent = _grade(monkeypatch, tmp_path, "f1_toy", "out_size", lambda c: out_size_ok(c.W, c.F, c.S, c.P))
    assert [m["case"] for m in sent] == list(range(len(cases)))
    for case, msg in zip(cases, sent):
        assert msg["aid"] == "f1_toy" and msg["check"] == "out_size"
        try:
            expected = out_size_ok(**case)
            assert decode(msg["value"]) == expected and msg["raised"] == []
        except ValueError:
            assert "value" not in msg and msg["raised"][0] == "builtins.ValueError"
    assert not list(tmp_path.glob("answers*")), "nothing is written to disk"


def test_grading_mode_refuses_foreign_inputs(tmp_path, monkeypatch):
    _prepare(tmp_path, _checks()["relu"])
    with pytest.raises(RuntimeError, match="another check"):
        _grade(monkeypatch, tmp_path, "other_aid", "relu", lambda c: c.x)
    with pytest.raises(RuntimeError, match="no inputs"):
        _grade(monkeypatch, tmp_path, "f1_toy", "pool1d", lambda c: c.x)


def test_grading_mode_unsupported_answer_is_sent_as_a_failure(tmp_path, monkeypatch):
    _prepare(tmp_path, _checks()["relu"])
    sent = _grade(monkeypatch, tmp_path, "f1_toy", "relu", lambda c: {"not": "an array"})
    assert sent[0]["raised"] == ["autograder.UnsupportedAnswer"] and "dict" in sent[0]["message"]


def test_grading_mode_oversized_answer_is_not_sent(tmp_path, monkeypatch):
    _prepare(tmp_path, _checks()["relu"])
    monkeypatch.setattr(harness, "MAX_ANSWER_BYTES", 1000)
    sent = _grade(monkeypatch, tmp_path, "f1_toy", "relu", lambda c: np.zeros(10_000))
    assert sent[0]["raised"] == ["autograder.UnsupportedAnswer"] and "value" not in sent[0]


def test_grading_mode_publishes_a_display_message(tmp_path, monkeypatch):
    import IPython.display

    _prepare(tmp_path, _checks()["relu"])
    seen = []
    monkeypatch.setattr(IPython.display, "publish_display_data", lambda data, **kw: seen.append(data))
    monkeypatch.setenv(INPUTS_ENV, str(tmp_path))
    run_hidden("f1_toy", "relu", lambda c: np.maximum(c.x, 0))
    assert len(seen) == 3 and all(list(d) == [ANSWER_MIME] for d in seen)
    json.dumps(seen)  # plain JSON: nothing pickled


def test_case_view_is_read_only():
    c = Case({"x": 1, "stride": 2})
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




# ---- scoring: must-raise and printed cases count only with the fresh ones ----------------------

def _kinds_and_flags(check, passes):
    seed = 11
    cases = draw_cases(check, check_rng(seed, check.name))
    refs = reference_outcomes(check, cases)
    kinds = case_kinds(check, cases, refs, seed)
    return kinds, [passes(case, ref) for case, ref in zip(cases, refs)]


def test_case_kinds_find_fixed_and_raising_cases():
    check = _checks()["out_size"]
    kinds, _ = _kinds_and_flags(check, lambda c, r: True)
    assert kinds == ["fresh"] * 6 + ["raise"] * 3


def test_always_raising_earns_nothing_and_lenient_loses_the_stated_share():
    check = _checks()["out_size"]
    kinds, always_raises = _kinds_and_flags(check, lambda c, r: bool(r.raised))
    assert sum(always_raises) == 3 and score_check(check, always_raises, kinds) == 0.0
    _, lenient = _kinds_and_flags(check, lambda c, r: not r.raised)
    assert score_check(check, lenient, kinds) == pytest.approx(1 - check.raise_share)
    _, honest = _kinds_and_flags(check, lambda c, r: True)
    assert score_check(check, honest, kinds) == 1.0


def test_fixed_cases_count_only_with_fresh_ones():
    check = Check(name="c", grade_id="g", reference=lambda v: v,
                  cases=lambda rng: [dict(v=1), dict(v=2), dict(v=float(rng.random())), dict(v=float(rng.random()))])
    kinds = ["fixed", "fixed", "fresh", "fresh"]
    assert score_check(check, [True, True, False, False], kinds) == 0.0  # memorised the printed examples
    assert score_check(check, [True, True, True, False], kinds) == pytest.approx((1 + 0.5 * 2) / 4)
    assert score_check(check, [False, False, True, True], kinds) == pytest.approx(0.5)
    seed = 3
    cases = draw_cases(check, check_rng(seed, "c"))
    assert case_kinds(check, cases, reference_outcomes(check, cases), seed) == kinds


def test_a_check_of_only_raising_cases_is_refused():
    check = Check(name="c", grade_id="g", cases=lambda rng: [dict(v=1)], reference=lambda v: 1 / 0)
    cases = draw_cases(check, check_rng(1, "c"))
    with pytest.raises(CheckSpecError, match="every case must raise"):
        case_kinds(check, cases, reference_outcomes(check, cases), 1)
    with pytest.raises(CheckSpecError, match="raise_share"):
        Check(name="c", grade_id="g", cases=lambda rng: [], reference=lambda: 0, raise_share=1.0)
