"""The Chinese edition of a1 as its student meets it in JupyterLab: Chinese text with glyphs, typeset
maths, Run All without errors, and a ShapeExplorer that follows its sliders.

The solved copy is the Chinese edition of the solution (``conftest.lab_course``). Screenshots of the
top of the notebook and of the widget go to ``out/browser/`` (CI artefacts).
"""

from __future__ import annotations

import pytest

from .expectations import MATH, solved_problems, verdict_problem
from .lab_page import press_slider, read_cells, read_sliders, screenshot_notebook
from .test_lab_widgets import changed, shown_widget, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

NOTEBOOK = "solved-zh/a1_volumes/a1_volumes.ipynb"


def test_chinese_a1_reads_in_chinese_runs_and_its_widget_works(lab_course, lab_server, lab_page, shots):
    widget, _ = shown_widget(lab_page, lab_server, lab_course, NOTEBOOK, "ShapeExplorer(")
    cells = read_cells(lab_page)
    problems = solved_problems(cells)
    assert not problems, problems
    # the edition's matplotlibrc gives plots a CJK fallback font: no "Glyph ... missing from font(s)" warning
    missing = [o.text[:200] for c in cells for o in c.outputs if "missing from font" in o.text]
    assert not missing, missing
    markdown = lab_page.locator(".jp-MarkdownCell .jp-RenderedMarkdown")
    text = "\n".join(markdown.all_inner_texts())
    for term in ("感受野", "步长", "零填充", "练习 1"):
        assert term in text, f"the rendered Chinese a1 lacks {term!r}"
    assert lab_page.locator(f".jp-MarkdownCell {MATH}").count() > 0, "no typeset maths in the Chinese a1"
    assert "$$" not in text, "raw TeX left in the rendered markdown"
    # glyphs, not boxes: the page's font renders a CJK character wider than a Latin letter
    widths = lab_page.evaluate("""() => {
        const c = document.createElement('canvas').getContext('2d');
        c.font = getComputedStyle(document.querySelector('.jp-RenderedMarkdown')).font;
        return [c.measureText('感').width, c.measureText('i').width];
    }""")
    assert widths[0] > 1.5 * widths[1], f"CJK glyph width {widths}: no Chinese font?"
    verdict = widget.locator(".widget-html-content")
    before = verdict.evaluate("el => el.innerText")
    sliders = read_sliders(widget)
    press_slider(widget, "W", "ArrowRight")
    after = changed(verdict, before)
    problem = verdict_problem(after, {**sliders, "W": sliders["W"] + 1})
    assert problem is None, problem
    snapshot(widget, shots / "zh-a1-shape-explorer.png")
    lab_page.set_viewport_size({"width": 1280, "height": 900})
    screenshot_notebook(lab_page, shots / "zh-a1-notebook.png", max_height=6000)
