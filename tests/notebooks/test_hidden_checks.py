"""Properties of the trusted hidden checks themselves, over many grader seeds (fast, no notebooks).

- every check draws valid cases for any seed, and its reference only raises where it means to;
- convolution-style checks cover the geometries that expose real student bugs (GRADING_NOTES):
  stride 1, 2 and 3, pad 0 and >= 2, H != W and non-square kernels;
- a2's backward references (numeric gradients) agree with the library's analytic gradients, and
  the output sizes of a1's cases satisfy the tiling inequality of the notes.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.checks import check_rng, draw_cases, find_check, load_checks, reference_outcomes
from convlab.layers import conv_backward_naive, conv_forward_naive

from .notebook_support import assignment_ids, checks_file, solution_notebook

AIDS = assignment_ids()
SEEDS = st.integers(min_value=0, max_value=2**63 - 1)


def _checks(aid):
    return load_checks(checks_file(aid))


@pytest.mark.parametrize("aid", AIDS)
@settings(max_examples=8, deadline=None)
@given(seed=SEEDS)
def test_cases_are_valid_for_any_seed(aid, seed):
    for check in _checks(aid):
        cases = draw_cases(check, check_rng(seed, check.name))  # validates the entries' types
        for case, out in zip(cases, reference_outcomes(check, cases)):
            assert not out.raised or "builtins.ValueError" in out.raised, (
                f"{aid}/{check.name}: reference crashed ({out.exc_name}: {out.message}) for seed {seed}")


def _conv_like(check, cases):
    """Cases of a convolution-style check: a 4-D x, a 4-D w and stride/pad settings."""
    return [c for c in cases if {"x", "w", "stride", "pad"} <= set(c) and np.ndim(c["x"]) == 4
            and np.ndim(c["w"]) == 4]


CONV_AIDS = [aid for aid in AIDS
             if any(_conv_like(c, draw_cases(c, check_rng(0, c.name))) for c in _checks(aid))]


@pytest.mark.parametrize("aid", CONV_AIDS)
def test_convolution_cases_cover_the_bug_revealing_geometries(aid):
    for check in _checks(aid):
        cases = _conv_like(check, draw_cases(check, check_rng(0, check.name)))
        if not cases:
            continue
        strides = {c["stride"] for c in cases}
        pads = {c["pad"] for c in cases}
        assert {1, 2, 3} <= strides, f"{aid}/{check.name}: strides {sorted(strides)} miss one of 1, 2, 3"
        assert 0 in pads and max(pads) >= 2, f"{aid}/{check.name}: pads {sorted(pads)} need 0 and >= 2"
        assert any(c["x"].shape[2] != c["x"].shape[3] for c in cases), f"{aid}/{check.name}: all inputs square"
        assert any(c["w"].shape[2] != c["w"].shape[3] for c in cases), f"{aid}/{check.name}: all kernels square"


A2 = "a2_naive_conv"
needs_a2 = pytest.mark.skipif(not solution_notebook(A2).is_file(), reason="a2_naive_conv not present")


@needs_a2
@pytest.mark.parametrize("name", ["conv_backward", "conv_backward_dilated"])
def test_a2_numeric_references_match_analytic_gradients(name):
    check = find_check(_checks(A2), name)
    cases = draw_cases(check, check_rng(11, name))
    for case, ref in zip(cases, reference_outcomes(check, cases)):
        settings_ = dict(stride=case["stride"], pad=case["pad"], dilation=case.get("dilation", 1))
        _, cache = conv_forward_naive(case["x"], case["w"], case["b"], **settings_)
        analytic = conv_backward_naive(case["dout"], cache)
        for label, numeric, exact in zip(("dx", "dw", "db"), ref.value, analytic):
            assert np.allclose(numeric, exact, rtol=check.rtol / 10, atol=check.atol / 10), (
                f"{name} {label}: numeric reference and analytic gradient disagree ({settings_})")


@needs_a2
def test_a2_forward_cases_include_settings_that_must_raise():
    check = find_check(_checks(A2), "conv_forward")
    cases = draw_cases(check, check_rng(5, "conv_forward"))
    raised = [o for o in reference_outcomes(check, cases) if o.raised]
    assert len(raised) >= 2, "conv_forward needs invalid settings (not tiling, filter too large)"


A1 = "a1_volumes"
needs_a1 = pytest.mark.skipif(not solution_notebook(A1).is_file(), reason="a1_volumes not present")


@needs_a1
@settings(max_examples=25, deadline=None)
@given(seed=SEEDS)
def test_a1_output_sizes_tile_the_padded_input(seed):
    check = find_check(_checks(A1), "conv_output_size")
    cases = draw_cases(check, check_rng(seed, check.name))
    outcomes = reference_outcomes(check, cases)
    assert sum(bool(o.raised) for o in outcomes) >= 4, "several settings must be invalid"
    for case, out in zip(cases, outcomes):
        W, F, S, P = case["size"], case["kernel"], case["stride"], case["pad"]
        if out.raised:
            assert W + 2 * P < F or (W - F + 2 * P) % S, f"{case} was refused but tiles"
        else:
            assert (out.value - 1) * S + F == W + 2 * P, f"{case}: {out.value} windows do not tile exactly"
