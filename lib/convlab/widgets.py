"""Interactive explorers for notebooks, each also drawable as a static PNG.

- :class:`ShapeExplorer`: sliders for W, F, S, P and dilation showing the output size
  ``(W - F_eff + 2P)/S + 1``, or why the setting is invalid and which S, P or F would fix it
  (only changes that work: :func:`convlab.shapes.tiling_fixes`), with the notes' 1-D picture
  of the filter positions.
- :class:`ConvStepper`: steps a convolution through every output position, highlighting
  the input window, the filter and the output cell, like the notes' animated demo.

The logic lives in pure functions (:func:`describe_conv`, :func:`stepper_frame`) and
matplotlib drawings (:meth:`figure`, :meth:`to_png`); ipywidgets is only imported by
:meth:`widget`. Displayed in a notebook, an explorer sends both the live widget and a
PNG of its current state, so a front end without widget support (nbconvert, a static
viewer) still shows the picture. Either view shows the explorer's :meth:`text` once: the
widget as a live line of text above a picture drawn without it, the PNG as the figure's
caption.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from convlab.shapes import conv_output_size, effective_kernel_size, tiling_fixes

__all__ = [
    "ConvSetting",
    "describe_conv",
    "ShapeExplorer",
    "StepFrame",
    "stepper_frame",
    "ConvStepper",
    "figure_png",
]


def figure_png(fig: Figure, path=None, dpi: int = 90) -> bytes:
    """PNG bytes of ``fig``; also written to ``path`` when given (parent folders created)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    data = buffer.getvalue()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return data


def _caption(fig: Figure, text: str) -> None:
    """Write ``text`` above the figure as its caption, wrapped to the figure's width."""
    fig.suptitle(textwrap.fill(text, width=int(fig.get_figwidth() * 15)), fontsize=8)


class _LiveMixin:
    """Shared display plumbing: a widget when a front end can show one, a PNG otherwise."""

    def to_png(self, path=None) -> bytes:
        """The current state drawn as PNG bytes, captioned with :meth:`text` (and written to ``path``)."""
        return figure_png(self.figure(caption=True), path)

    def _repr_png_(self):
        return self.to_png()

    def _repr_mimebundle_(self, include=None, exclude=None):
        try:
            bundle = dict(self.widget()._repr_mimebundle_(include=include, exclude=exclude) or {})
        except ImportError:  # no ipywidgets: the static picture alone
            bundle = {}
        bundle["image/png"] = self.to_png()
        bundle["text/plain"] = self.text()
        return bundle


# ---- shape explorer ----

class ConvSetting(NamedTuple):
    """A convolution setting along one axis and what it produces."""

    W: int
    F: int
    S: int
    P: int
    dilation: int
    f_eff: int  # F + (F - 1)(dilation - 1)
    out: int | None  # output size, None when invalid
    reason: str  # "" when valid, else why not (from convlab.shapes)
    fixes: dict  # when invalid: {"S": [...], "P": [...], "F": [...]}, the values that work (others kept)


def describe_conv(W: int, F: int, S: int = 1, P: int = 0, dilation: int = 1) -> ConvSetting:
    """Output size of a convolution along one axis, or the reason it is invalid and fixes.

    Uses :func:`convlab.shapes.conv_output_size`, whose message names only changes that work.
    ``fixes`` lists, keeping the other numbers, every stride, padding (0..F_eff-1) and filter
    size that makes the setting valid (:func:`convlab.shapes.tiling_fixes`).
    """
    f_eff = effective_kernel_size(F, dilation)
    try:
        return ConvSetting(W, F, S, P, dilation, f_eff, conv_output_size(W, F, S, P, dilation), "", {})
    except ValueError as exc:
        reason = str(exc)
    fixes = tiling_fixes(W, F, S, P, dilation)
    return ConvSetting(W, F, S, P, dilation, f_eff, None, reason,
                       {"S": list(fixes.strides), "P": list(fixes.pads), "F": list(fixes.kernels)})


def _setting_text(s: ConvSetting) -> str:
    """One line: the formula with the numbers filled in, or INVALID with the reason (which names the fixes)."""
    if s.out is not None:
        head = f"W={s.W}, F={s.F}, S={s.S}, P={s.P}"
        if s.dilation > 1:
            head += f", dilation={s.dilation} (F_eff={s.f_eff})"
        return f"{head}: output size (W - F + 2P)/S + 1 = ({s.W} - {s.f_eff} + {2 * s.P})/{s.S} + 1 = {s.out}"
    # the reason ("invalid convolution (W=..., F=..., ...): ...") names the setting and the fixes itself
    word = "invalid"
    return "INVALID" + s.reason[len(word):] if s.reason.startswith(word) else f"INVALID: {s.reason}"


def _draw_setting(s: ConvSetting, caption: str | None = None) -> Figure:
    """The notes' 1-D picture: padded input cells, every filter position, the outputs (+ ``caption``)."""
    total = s.W + 2 * s.P
    fig = Figure(figsize=(max(4, 0.55 * total + 1.5), 3.2), layout="constrained")
    ax = fig.add_subplot()
    for i in range(total):
        pad = i < s.P or i >= s.P + s.W
        ax.add_patch(Rectangle((i, 0), 1, 1, facecolor="0.85" if pad else "white", edgecolor="black"))
        ax.text(i + 0.5, 0.5, "0" if pad else f"x{i - s.P}", ha="center", va="center", fontsize=8)
    if s.out is not None:
        for o in range(s.out):
            start = o * s.S
            taps = [start + t * s.dilation for t in range(s.F)]
            y = -0.4 - 0.35 * (o % 3)
            ax.plot([taps[0] + 0.5, taps[-1] + 0.5], [y, y], "-", color=f"C{o % 10}", lw=1)
            ax.plot([t + 0.5 for t in taps], [y] * len(taps), "o", color=f"C{o % 10}", ms=4)
            ax.add_patch(Rectangle((start + (s.f_eff - 1) / 2, -2.6), 1, 1, facecolor=f"C{o % 10}", alpha=0.35,
                                   edgecolor="black"))
            ax.text(start + (s.f_eff - 1) / 2 + 0.5, -2.1, f"y{o}", ha="center", va="center", fontsize=8)
    else:
        start, o = 0, 0
        while start + s.f_eff <= total and o < 30:  # show where the windows would fall
            ax.plot([start + 0.5, start + s.f_eff - 0.5], [-0.4 - 0.35 * (o % 3)] * 2, "-", color="C3", lw=1)
            start += s.S
            o += 1
        if start < total:  # the next window falls off the edge
            ax.add_patch(Rectangle((start, -0.1), total - start, 1.2, fill=False, edgecolor="C3", lw=2, ls="--"))
            ax.text(start, 1.2, f"next window needs {s.f_eff} cells, {total - start} left", color="C3",
                    fontsize=7, va="bottom")
    if caption:
        _caption(fig, caption)
    ax.set_xlim(-0.5, total + 0.5)
    ax.set_ylim(-2.9, 1.4)
    ax.set_aspect("equal")
    ax.set_axis_off()
    return fig


class ShapeExplorer(_LiveMixin):
    """Sliders for W, F, S, P and dilation; shows the output size or why it is invalid.

    ``ShapeExplorer(W=10, F=3, S=2, P=0)`` in a notebook cell shows the sliders; without
    a widget front end it shows :meth:`to_png`. ``state`` / :meth:`text` / :meth:`figure`
    give the same information as data, text and a matplotlib figure.
    """

    def __init__(self, W: int = 5, F: int = 3, S: int = 1, P: int = 1, dilation: int = 1, max_size: int = 32):
        self.values = {"W": W, "F": F, "S": S, "P": P, "dilation": dilation}
        self.max_size = max_size

    def set(self, **values):
        """Change some of W, F, S, P, dilation; returns self."""
        unknown = set(values) - set(self.values)
        if unknown:
            raise KeyError(f"unknown settings {sorted(unknown)}; use W, F, S, P, dilation")
        self.values.update(values)
        return self

    @property
    def state(self) -> ConvSetting:
        return describe_conv(**self.values)

    def text(self) -> str:
        return _setting_text(self.state)

    def figure(self, caption: bool = True) -> Figure:
        """The 1-D picture, with :meth:`text` as its caption unless ``caption=False``."""
        return _draw_setting(self.state, self.text() if caption else None)

    def widget(self):
        """The live ipywidgets view: five sliders, the verdict, and the 1-D picture."""
        import ipywidgets as widgets  # noqa: PLC0415 - only for live notebooks

        limits = {"W": (1, self.max_size), "F": (1, 11), "S": (1, 8), "P": (0, 8), "dilation": (1, 4)}
        sliders = {k: widgets.IntSlider(value=v, min=limits[k][0], max=limits[k][1], description=k,
                                        continuous_update=False) for k, v in self.values.items()}
        verdict = widgets.HTML()
        picture = widgets.Image(format="png")

        def refresh(_change=None):
            self.set(**{k: s.value for k, s in sliders.items()})
            state = self.state
            color = "green" if state.out is not None else "crimson"
            verdict.value = f"<span style='color:{color}'>{self.text()}</span>"
            picture.value = figure_png(self.figure(caption=False))  # the verdict above is its caption

        for s in sliders.values():
            s.observe(refresh, names="value")
        refresh()
        return widgets.VBox([widgets.HBox(list(sliders.values())[:3]), widgets.HBox(list(sliders.values())[3:]),
                             verdict, picture])


# ---- convolution stepper ----

class StepFrame(NamedTuple):
    """One step of a convolution: output cell (k, i, j) and the numbers that make it."""

    k: int  # filter (output depth slice)
    i: int  # output row
    j: int  # output column
    rows: tuple  # (first, last + 1) rows of the window in the padded input
    cols: tuple  # (first, last + 1) columns of the window in the padded input
    value: float  # sum(window * w[k]) + b[k]
    filled: np.ndarray  # (K, Ho, Wo) outputs computed so far, NaN for the rest


def stepper_frame(x, w, b, *, stride: int = 1, pad: int = 0, step: int = 0) -> StepFrame:
    """Frame ``step`` of a convolution of x (C, H, W) with w (K, C, F, F), b (K,).

    Steps run over filters, then output rows, then columns: step = (k*Ho + i)*Wo + j.
    """
    x, w, b = np.asarray(x, float), np.asarray(w, float), np.asarray(b, float)
    C, H, W = x.shape
    K, _, FH, FW = w.shape
    Ho, Wo = conv_output_size(H, FH, stride, pad), conv_output_size(W, FW, stride, pad)
    total = K * Ho * Wo
    if not 0 <= step < total:
        raise ValueError(f"step must be in [0, {total}), got {step}")
    xp = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))  # (C, H+2P, W+2P)
    filled = np.full((K, Ho, Wo), np.nan)
    for s in range(step + 1):
        k, rest = divmod(s, Ho * Wo)
        i, j = divmod(rest, Wo)
        window = xp[:, i * stride:i * stride + FH, j * stride:j * stride + FW]  # (C, FH, FW)
        filled[k, i, j] = float(np.sum(window * w[k]) + b[k])
    return StepFrame(k, i, j, (i * stride, i * stride + FH), (j * stride, j * stride + FW),
                     filled[k, i, j], filled)


def _grid(ax, values, title, highlight=None, color="C0", fmt="{:g}"):
    """Numbers in cells; ``highlight`` = (rows, cols) ranges drawn as a coloured box."""
    n_rows, n_cols = values.shape
    ax.hlines(range(n_rows + 1), 0, n_cols, colors="0.6", lw=0.6)  # cell borders as two line collections
    ax.vlines(range(n_cols + 1), 0, n_rows, colors="0.6", lw=0.6)
    for r in range(n_rows):
        for c in range(n_cols):
            v = values[r, c]
            if not np.isnan(v):
                ax.text(c + 0.5, n_rows - 0.5 - r, fmt.format(v), ha="center", va="center", fontsize=7)
    if highlight is not None:
        (r0, r1), (c0, c1) = highlight
        ax.add_patch(Rectangle((c0, n_rows - r1), c1 - c0, r1 - r0, facecolor=color, alpha=0.25,
                               edgecolor=color, lw=2))
    ax.set_xlim(-0.1, n_cols + 0.1)
    ax.set_ylim(-0.1, n_rows + 0.1)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)


class ConvStepper(_LiveMixin):
    """Step a small convolution through every output cell, as in the notes' demo.

    Defaults reproduce the notes' setting (their 5x5x3 input, 3x3x3 filters, 3x3x2 output),
    in the library's channels-first layout: x of 3 channels of 5x5 with P=1 (7x7 padded),
    two filters of 3 channels of 3x3, S=2, giving 2 output channels of 3x3; values are
    small integers drawn with ``seed``. Pass ``x`` (C, H, W), ``w`` (K, C, F, F), ``b`` (K,)
    to use your own. Steps are 0-based in :meth:`go` and :attr:`step`; the text and the
    widget's slider count from 1 ("step 1/18" is ``go(0)``).
    """

    def __init__(self, x=None, w=None, b=None, *, stride: int = 2, pad: int = 1, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.x = rng.integers(0, 3, size=(3, 5, 5)).astype(float) if x is None else np.asarray(x, float)
        C = self.x.shape[0]
        self.w = rng.integers(-1, 2, size=(2, C, 3, 3)).astype(float) if w is None else np.asarray(w, float)
        K = self.w.shape[0]
        if b is None:
            b = [1.0, 0.0] if K == 2 else np.zeros(K)  # the notes' demo uses b0 = 1, b1 = 0
        self.b = np.asarray(b, float)
        if self.x.ndim != 3 or self.w.ndim != 4 or self.w.shape[1] != C or self.b.shape != (K,):
            raise ValueError(f"need x (C, H, W), w (K, C, F, F), b (K,); got {self.x.shape}, "
                             f"{self.w.shape}, {self.b.shape}")
        self.stride, self.pad = stride, pad
        K, _, FH, FW = self.w.shape
        self.out_shape = (K, conv_output_size(self.x.shape[1], FH, stride, pad),
                          conv_output_size(self.x.shape[2], FW, stride, pad))
        self.step = 0

    @property
    def num_steps(self) -> int:
        return int(np.prod(self.out_shape))

    def go(self, step: int):
        """Move to ``step`` (0-based); returns self."""
        if not 0 <= step < self.num_steps:
            raise ValueError(f"step must be in [0, {self.num_steps}), got {step}")
        self.step = step
        return self

    @property
    def state(self) -> StepFrame:
        return stepper_frame(self.x, self.w, self.b, stride=self.stride, pad=self.pad, step=self.step)

    def text(self) -> str:
        """The current step (counted from 1) and the dot product it computes, channels first."""
        f = self.state
        _, C, FH, FW = self.w.shape
        return (f"step {self.step + 1}/{self.num_steps}: out[{f.k}, {f.i}, {f.j}] = "
                f"sum(x_pad[:, {f.rows[0]}:{f.rows[1]}, {f.cols[0]}:{f.cols[1]}] * w{f.k}) + b{f.k} "
                f"= {f.value:g}  (a dot product of {C} channels x {FH}x{FW} = {C * FH * FW} numbers, plus a bias)")

    def figure(self, caption: bool = True) -> Figure:
        """Every channel of x_pad, of each filter and of the output, with :meth:`text` as caption.

        A row per channel: column 0 the padded input, then one column per filter (its bias
        above channel 0), then the output, whose channel k is filter k's activation map.
        """
        f = self.state
        C = self.x.shape[0]
        K = self.w.shape[0]
        xp = np.pad(self.x, ((0, 0), (self.pad, self.pad), (self.pad, self.pad)))  # (C, H+2P, W+2P)
        rows = max(C, K)
        fig = Figure(figsize=(2.2 * (2 + K), 2.2 * rows + 0.6), layout="constrained")
        axes = fig.subplots(rows, 2 + K, squeeze=False)
        for ax in axes.flat:
            ax.set_axis_off()
        for c in range(C):
            _grid(axes[c, 0], xp[c], f"x_pad, channel {c}", (f.rows, f.cols), "C0")
            for k in range(K):
                active = ((0, self.w.shape[2]), (0, self.w.shape[3])) if k == f.k else None
                bias = f" (b{k} = {self.b[k]:g})" if c == 0 else ""
                _grid(axes[c, 1 + k], self.w[k, c], f"w{k}, channel {c}{bias}", active, "C1")
        for k in range(K):
            highlight = ((f.i, f.i + 1), (f.j, f.j + 1)) if k == f.k else None
            _grid(axes[k, 1 + K], f.filled[k], f"out, channel {k}", highlight, "C2")
        if caption:
            _caption(fig, self.text())
        return fig

    def widget(self):
        """The live view: a play button and a step slider (1..num_steps, as the caption counts) driving the picture."""
        import ipywidgets as widgets  # noqa: PLC0415 - only for live notebooks

        slider = widgets.IntSlider(value=self.step + 1, min=1, max=self.num_steps, description="step")
        play = widgets.Play(value=self.step + 1, min=1, max=self.num_steps, interval=900)
        widgets.jslink((play, "value"), (slider, "value"))
        caption = widgets.HTML()
        picture = widgets.Image(format="png")

        def refresh(_change=None):
            self.go(slider.value - 1)
            caption.value = self.text()
            picture.value = figure_png(self.figure(caption=False))  # the caption line above is its caption

        slider.observe(refresh, names="value")
        refresh()
        return widgets.VBox([widgets.HBox([play, slider]), caption, picture])
