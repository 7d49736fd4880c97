"""Tests of convlab.widgets: the state -> text / figure mapping, and the widget wiring."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from convlab.layers import conv_forward_naive
from convlab.widgets import ConvStepper, ShapeExplorer, describe_conv, stepper_frame

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("W, F, S, P, dilation, out", [
    (7, 3, 1, 0, 1, 5), (7, 3, 2, 0, 1, 3),  # the notes' 7x7 examples
    (5, 3, 1, 1, 1, 5), (5, 3, 2, 1, 1, 3),  # the notes' 1-D examples
    (227, 11, 4, 0, 1, 55),  # AlexNet conv1
    (7, 3, 1, 0, 2, 3),  # dilation 2: F_eff = 5
])
def test_describe_valid_settings(W, F, S, P, dilation, out):
    s = describe_conv(W, F, S, P, dilation)
    assert s.out == out and s.reason == "" and s.fixes == {}


def test_describe_invalid_explains_and_suggests():
    s = describe_conv(5, 3, 3, 1)  # the notes' S=3 case: 4 is not divisible by 3
    assert s.out is None and "not an integer" in s.reason
    assert s.fixes == {"S": [1, 2, 4], "P": [2]}
    s = describe_conv(10, 3, 2, 0)  # the notes' 4.5
    assert "4.5" in s.reason and s.fixes["P"] == [] and s.fixes["S"] == [1, 7]
    too_big = describe_conv(3, 5, 1, 0)
    assert "larger than" in too_big.reason and too_big.fixes["P"] == [1, 2, 3, 4, 5]


@given(W=st.integers(1, 40), F=st.integers(1, 9), S=st.integers(1, 6), P=st.integers(0, 5),
       dilation=st.integers(1, 3))
def test_describe_obeys_the_tiling_inequalities(W, F, S, P, dilation):
    s = describe_conv(W, F, S, P, dilation)
    if s.out is not None:
        assert (s.out - 1) * S + s.f_eff == W + 2 * P  # the last window ends exactly at the border
    else:
        assert s.reason
        for stride in s.fixes["S"]:
            assert describe_conv(W, F, stride, P, dilation).out is not None
        for pad in s.fixes["P"]:
            assert describe_conv(W, F, S, pad, dilation).out is not None
        if W + 2 * P >= s.f_eff:
            assert 1 in s.fixes["S"]  # stride 1 always tiles when the filter fits


def test_explorer_text_figure_and_png(tmp_path):
    e = ShapeExplorer(W=5, F=3, S=2, P=1)
    assert e.text().endswith("= 3")
    fig = e.figure()
    # 7 padded input cells + 3 output cells
    assert len(fig.axes[0].patches) == 7 + 3
    assert e.set(S=3).state.out is None and "INVALID" in e.text() and "strides that work: [1, 2, 4]" in e.text()
    assert (tmp_path / "e.png").exists() is False
    assert e.to_png(tmp_path / "e.png")[:8] == PNG_MAGIC and (tmp_path / "e.png").read_bytes()[:8] == PNG_MAGIC
    with pytest.raises(KeyError, match="stride"):
        e.set(stride=2)


def test_explorer_widget_follows_its_sliders():
    e = ShapeExplorer(W=10, F=3, S=2, P=0)
    box = e.widget()
    sliders = {s.description: s for row in box.children[:2] for s in row.children}
    verdict, picture = box.children[2], box.children[3]
    assert "INVALID" in verdict.value and "crimson" in verdict.value
    sliders["S"].value = 1  # what a user's drag does
    assert e.state.out == 8 and "= 8" in verdict.value and "green" in verdict.value
    assert bytes(picture.value[:8]) == PNG_MAGIC
    bundle = e._repr_mimebundle_()
    assert bundle["image/png"][:8] == PNG_MAGIC  # the static fallback
    assert "application/vnd.jupyter.widget-view+json" in bundle and "= 8" in bundle["text/plain"]


@pytest.mark.parametrize("shape, stride, pad", [((2, 5, 6), 1, 1), ((3, 5, 6), 2, 1), ((1, 9, 5), 3, 0)])
def test_stepper_frames_build_the_convolution(shape, stride, pad):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape)
    w = rng.standard_normal((2, shape[0], 3, 2))
    b = rng.standard_normal(2)
    ref, _ = conv_forward_naive(x[None], w, b, stride=stride, pad=pad)  # (1, K, Ho, Wo)
    K, Ho, Wo = ref.shape[1:]
    for step in range(K * Ho * Wo):
        f = stepper_frame(x, w, b, stride=stride, pad=pad, step=step)
        assert (f.k * Ho + f.i) * Wo + f.j == step
        assert f.rows == (f.i * stride, f.i * stride + 3) and f.cols == (f.j * stride, f.j * stride + 2)
        assert f.value == pytest.approx(ref[0, f.k, f.i, f.j], abs=1e-12)
        assert np.isnan(f.filled).sum() == K * Ho * Wo - step - 1
    np.testing.assert_allclose(f.filled, ref[0], atol=1e-12)
    with pytest.raises(ValueError, match="step"):
        stepper_frame(x, w, b, stride=stride, pad=pad, step=K * Ho * Wo)


def test_stepper_defaults_are_the_notes_demo():
    s = ConvStepper()
    assert s.x.shape == (3, 5, 5) and s.w.shape == (2, 3, 3, 3) and s.b.tolist() == [1.0, 0.0]
    assert s.out_shape == (2, 3, 3) and s.num_steps == 18
    s.go(17)
    assert "step 18/18" in s.text() and "x_pad[:, 4:7, 4:7]" in s.text()
    fig = s.figure()
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert texts.count("") == 0 and len(texts) == 3 * 49 + 2 * 27 + 18  # every number shown
    with pytest.raises(ValueError, match="step"):
        s.go(18)
    with pytest.raises(ValueError, match=r"w \(K, C, F, F\)"):
        ConvStepper(np.zeros((2, 4, 4)), np.zeros((1, 3, 3, 3)))


def test_stepper_widget_moves_with_its_slider():
    s = ConvStepper()
    box = s.widget()
    (play, slider), caption, picture = box.children[0].children, box.children[1], box.children[2]
    assert slider.max == 17 and play.max == 17
    slider.value = 4
    assert s.step == 4 and "step 5/18" in caption.value
    assert bytes(picture.value[:8]) == PNG_MAGIC
