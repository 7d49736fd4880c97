"""Tests of convlab.widgets: the state -> text / figure mapping, and the widget wiring."""

import re

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from convlab import shapes, widgets
from convlab.layers import conv_forward_naive
from convlab.shapes import conv_output_size, effective_kernel_size
from convlab.widgets import ConvStepper, ShapeExplorer, describe_conv, figure_png, stepper_frame

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
    assert s.fixes == {"S": [1, 2, 4], "P": [2], "F": [1, 4, 7]}
    assert "S=1, 2 or 4 would tile it, or P=2, or F=1, 4 or 7" in s.reason
    s = describe_conv(10, 3, 2, 0)  # the notes' 4.5: 7 + 2P is odd for every P
    assert "4.5" in s.reason and s.fixes["P"] == [] and s.fixes["S"] == [1, 7]
    assert "no padding works with S=2 here (W - F_eff = 7 is odd" in s.reason and "P=" not in _suggested(s.reason)
    assert "S=1 or 7 would tile it" in s.reason
    odd_stride = describe_conv(10, 3, 5, 0)  # 7 + 2P: only P=4 (beyond full padding) is a multiple of 5
    assert odd_stride.fixes["P"] == [] and "no padding from 0 to F_eff - 1 = 2 works with S=5" in odd_stride.reason
    too_big = describe_conv(3, 5, 1, 0)
    assert "larger than" in too_big.reason and too_big.fixes["P"] == [1, 2, 3, 4] and too_big.fixes["S"] == []


def _suggested(reason: str) -> str:
    """The part of a message that proposes changes (after 'keeping the other numbers')."""
    return reason.partition("keeping the other numbers, ")[2]


def _named_values(reason: str) -> dict:
    """{'S': [1, 7], 'F': [2, 4, 6]} from '... S=1 or 7 would tile it, or F=2, 4, 6 (and 2 more)'."""
    return {name: [int(v) for v in re.findall(r"\d+", values)]
            for name, values in re.findall(r"\b([SPF])=((?:\d+(?:, | or )?)+)", _suggested(reason))}


def _works(W, F, S, P, dilation) -> bool:
    try:
        conv_output_size(W, F, S, P, dilation)
    except ValueError:
        return False
    return True


def check_suggestions(W, F, S, P, dilation):
    """What the explorer says about an invalid setting is true: every change it names works
    (checked with the library's conv_output_size), the fix lists hold every value in their
    ranges that works, and 'no padding works' is said exactly when none does."""
    s = ShapeExplorer(W=W, F=F, S=S, P=P, dilation=dilation)
    state, text = s.state, s.text()
    f_eff = effective_kernel_size(F, dilation)
    ranges = {"S": range(1, max(W + 2 * P - f_eff, 1) + 1), "P": range(f_eff), "F": range(1, W + 2 * P + 1)}
    for name, change in (("S", lambda v: (W, F, v, P)), ("P", lambda v: (W, F, S, v)), ("F", lambda v: (W, v, S, P))):
        works = [v for v in ranges[name] if _works(*change(v), dilation)]
        assert state.fixes[name] == works, f"{name}: listed {state.fixes[name]}, works {works}"
        for v in _named_values(text).get(name, []):
            assert _works(*change(v), dilation), f"the text suggests {name}={v}, which does not tile: {text}"
    assert "change the padding" not in text
    pads_named = "P" in _named_values(text)
    assert pads_named == bool(state.fixes["P"]), text
    if "no padding works" in text:  # any padding at all: none of a generous range may work
        assert not any(_works(W, F, S, p, dilation) for p in range(0, 4 * (f_eff + S) + 8)), text
    elif "no padding from 0 to" in text:
        assert not any(_works(W, F, S, p, dilation) for p in range(f_eff)), text
    else:
        assert pads_named, f"the text must name a padding that works or say none does: {text}"


@given(W=st.integers(1, 40), F=st.integers(1, 9), S=st.integers(1, 6), P=st.integers(0, 5),
       dilation=st.integers(1, 3))
@example(W=10, F=3, S=2, P=0, dilation=1).via("the issue's W=10, F=3, S=2")
@example(W=10, F=3, S=5, P=0, dilation=1).via("a padding works, but only beyond F_eff - 1")
def test_explorer_suggests_only_changes_that_work(W, F, S, P, dilation):
    if not _works(W, F, S, P, dilation):
        check_suggestions(W, F, S, P, dilation)


def _fixes_with_p_counted_once(size, kernel, stride=1, pad=0, dilation=1):
    """Wrong: pads that make W - F_eff + P (not + 2P) a multiple of S."""
    right = _real_tiling_fixes(size, kernel, stride, pad, dilation)
    f_eff = effective_kernel_size(kernel, dilation)
    return right._replace(pads=tuple(p for p in range(f_eff) if size - f_eff + p >= 0
                                     and (size - f_eff + p) % stride == 0))


def _fixes_saying_no_pad_whenever_none_is_small(size, kernel, stride=1, pad=0, dilation=1):
    """Wrong: claims no padding at all works whenever none up to F_eff - 1 does."""
    right = _real_tiling_fixes(size, kernel, stride, pad, dilation)
    return right._replace(no_pad_at_all=not right.pads)


_real_tiling_fixes = shapes.tiling_fixes


@pytest.mark.parametrize("wrong, setting", [
    (_fixes_with_p_counted_once, (10, 3, 3, 0, 1)),  # would suggest P=2: 7 + 4 = 11 is no multiple of 3
    (_fixes_saying_no_pad_whenever_none_is_small, (10, 3, 5, 0, 1)),  # P=4 works
    (lambda *a, **k: "change the padding or the stride", (10, 3, 2, 0, 1)),  # the old advice: no padding works
])
def test_suggestion_check_catches_wrong_advice(monkeypatch, wrong, setting):
    target = "tiling_hint" if wrong.__name__ == "<lambda>" else "tiling_fixes"
    monkeypatch.setattr(shapes, target, wrong)
    if target == "tiling_fixes":
        monkeypatch.setattr(widgets, "tiling_fixes", wrong)
    with pytest.raises(AssertionError):
        check_suggestions(*setting)


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
    assert e.set(S=3).state.out is None and "INVALID" in e.text() and "S=1, 2 or 4 would tile it" in e.text()
    assert e.text().startswith("INVALID convolution (") and "invalid" not in e.text().lower()[7:], e.text()
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


def _words(text: str) -> str:
    return " ".join(text.split())  # a wrapped caption reads as one line


def _figure_texts(fig):
    """Every string drawn in ``fig``: its caption (suptitle), axes titles and texts."""
    texts = [fig.get_suptitle()] + [t.get_text() for ax in fig.axes for t in (ax.title, *ax.texts)]
    return [_words(t) for t in texts if t]


def test_stepper_widget_slider_and_caption_count_alike_and_caption_shows_once():
    s = ConvStepper()
    box = s.widget()
    (play, slider), caption, picture = box.children[0].children, box.children[1], box.children[2]
    assert (slider.min, slider.max, play.min, play.max) == (1, 18, 1, 18)
    for value in (18, 1, 5):
        slider.value = value  # what a user's drag (or the play button) does
        assert s.step == value - 1 and f"step {value}/18" in caption.value and caption.value == s.text()
    # the picture under the caption is the figure without it: the caption shows once
    bare = s.figure(caption=False)
    assert bytes(picture.value) == figure_png(bare) and not any("step" in t for t in _figure_texts(bare))
    # the static picture (no widget front end) carries the caption itself, once
    captioned = s.figure()
    assert _figure_texts(captioned).count(_words(s.text())) == 1
    assert s._repr_mimebundle_()["image/png"] == figure_png(captioned)


def test_stepper_speaks_channels_first_like_the_library():
    s = ConvStepper().go(4)
    titles = [ax.get_title() for ax in s.figure().axes if ax.get_title()]
    assert len(titles) == 3 + 2 * 3 + 2  # x_pad, w0, w1 per input channel; out per output channel
    for title in titles:
        assert re.search(r"\bchannel \d\b", title) and "[:, :," not in title, title  # no depth-last x[:, :, c]
    assert {t.split(",")[0] for t in titles} == {"x_pad", "w0", "w1", "out"}
    # the caption indexes the same way: channel first, then rows and columns
    assert "out[0, 1, 1] = sum(x_pad[:, 2:5, 2:5] * w0) + b0" in s.text() and "3 channels x 3x3" in s.text()


def test_explorer_widget_shows_its_verdict_once():
    e = ShapeExplorer(W=10, F=3, S=2, P=0)
    box = e.widget()
    verdict, picture = box.children[2], box.children[3]
    assert e.text() in verdict.value
    assert bytes(picture.value) == figure_png(e.figure(caption=False))
    assert not any("INVALID" in t or "W=10" in t for t in _figure_texts(e.figure(caption=False)))
    assert [t for t in _figure_texts(e.figure()) if "W=10" in t] == [_words(e.text())]
