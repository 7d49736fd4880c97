"""The course's live widgets in JupyterLab, moved with the keyboard as a student would, read from the page.

- a1's ShapeExplorer: each slider move must bring a new verdict whose output size is the notes'
  formula ``(W - F_eff + 2P)/S + 1`` of the sliders now on the page (computed here, not by convlab),
  or INVALID when that is not a whole number, and a new picture;
- a2's ConvStepper: stepping the slider with the keyboard must bring the caption of that step: its
  number, the output cell it fills, the input window, and the value of that dot product (computed
  with NumPy from the stepper's own data, ``expectations.stepper_problem``).

Screenshots of each widget state go to ``out/browser/``.
"""

from __future__ import annotations

import re

import pytest

from tests.notebooks.notebook_support import read_notebook

from .expectations import stepper_problem, verdict_problem
from .lab_page import cell_locator, open_notebook, press_slider, read_sliders, run_all, wait_idle

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]

UPDATE_MS = 60_000


def widget_cell(nb, call: str) -> int:
    """Index of the code cell whose whole source is an expression starting with ``call`` (``ShapeExplorer(``)."""
    found = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip().startswith(call)]
    assert len(found) == 1, f"expected one cell showing {call}...), found cells {found}"
    return found[0]


def shown_widget(page, server, course, path: str, call: str):
    """Open and Run All ``path``; returns (the widget's locator, the cell's source)."""
    nb = read_notebook(course / path)
    index = widget_cell(nb, call)
    open_notebook(page, server, path)
    run_all(page)
    page.set_viewport_size({"width": 1280, "height": 1400})  # room for the whole widget in its screenshots
    widget = cell_locator(page, index).locator(".jp-OutputArea-output .widget-vbox").first
    widget.wait_for(timeout=UPDATE_MS)
    return widget, nb.cells[index].source


def snapshot(widget, path) -> None:
    """Screenshot ``widget`` once the kernel has sent every update (the picture comes after the text)."""
    wait_idle(widget.page)
    widget.scroll_into_view_if_needed()
    widget.screenshot(path=str(path))


def changed(locator, before: str, prop: str = "innerText") -> str:
    """Wait until the element's ``prop`` (``innerText``, ``src``) is no longer ``before``; returns the new value."""
    locator.page.wait_for_function("([el, prop, old]) => el[prop] !== old",
                                   arg=[locator.element_handle(), prop, before], timeout=UPDATE_MS)
    return locator.evaluate(f"el => el.{prop}")


def test_shape_explorer_follows_its_sliders(lab_course, lab_server, lab_page, shots):
    widget, _ = shown_widget(lab_page, lab_server, lab_course, "solved/a1_volumes/a1_volumes.ipynb", "ShapeExplorer(")
    verdict = widget.locator(".widget-html-content")
    picture = widget.locator("img.widget-image")
    text = verdict.evaluate("el => el.innerText")
    problem = verdict_problem(text, read_sliders(widget))
    assert problem is None, problem
    snapshot(widget, shots / "widget-shape-explorer-0.png")
    # W+1 (valid), P+1, dilation+1: each move must change the verdict and the picture
    for n, label in enumerate(["W", "P", "dilation"], start=1):
        before, image = read_sliders(widget), picture.evaluate("el => el.src")
        press_slider(widget, label, "ArrowRight")
        text = changed(verdict, text)
        after = read_sliders(widget)
        assert after == {**before, label: before[label] + 1}, f"pressing -> on {label}: sliders {before} -> {after}"
        problem = verdict_problem(text, after)
        assert problem is None, problem
        changed(picture, image, "src")  # a new PNG of the new setting
        snapshot(widget, shots / f"widget-shape-explorer-{n}.png")


def test_conv_stepper_steps_through_the_output(lab_course, lab_server, lab_page, shots):
    from playwright.sync_api import expect  # noqa: PLC0415
    from convlab.widgets import ConvStepper  # noqa: PLC0415 - the stepper's data, made as the cell makes it

    widget, source = shown_widget(lab_page, lab_server, lab_course, "solved/a2_naive_conv/a2_naive_conv.ipynb",
                                  "ConvStepper(")
    stepper = eval(source.strip(), {"ConvStepper": ConvStepper})  # the cell is one ConvStepper(...) expression
    data = (stepper.x, stepper.w, stepper.b, stepper.stride, stepper.pad)
    total = stepper.num_steps
    caption = widget.locator(".widget-html-content")
    problem = stepper_problem(caption.inner_text(), 1, *data)
    assert problem is None, f"before stepping: {problem}"
    snapshot(widget, shots / "widget-conv-stepper-0.png")
    # four steps on with the arrow key, then End: the caption must follow, whatever the slider counts from
    for n, (key, presses, step) in enumerate([("ArrowRight", 4, 5), ("End", 1, total)], start=1):
        for _ in range(presses):
            press_slider(widget, "step", key)
        expect(caption).to_have_text(re.compile(rf"^step {step}/{total}:"), timeout=UPDATE_MS)
        problem = stepper_problem(caption.inner_text(), step, *data)
        assert problem is None, f"after {key} x{presses}: {problem}"
        snapshot(widget, shots / f"widget-conv-stepper-{n}.png")
