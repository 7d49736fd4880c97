"""What the browser tests expect to see, as pure functions of what was read from the page.

Each returns the problems it finds (empty when the page is right), so the tests report every problem
at once, and ``test_expectations.py`` shows each one catching wrong pages without a browser.
"""

from __future__ import annotations

import re

from tests.notebooks.notebook_support import (
    MAY_FAIL_IN_RELEASE,
    cell_role,
    exercise_headings,
    exercise_of,
    markdown_tables,
)

__all__ = ["release_problems", "solved_problems", "notes_output_size", "verdict_problem", "MATH", "exercise_names",
           "expected_scores", "feedback_problems", "SUCCESS", "validate_problems", "stepper_problem"]

MATH = "mjx-container, .MathJax, .MathJax_CHTML, .mjx-chtml, math"  # typeset maths: MathJax 2/3 output, MathML
SUCCESS = re.compile(r"\bsuccess\b|passes all", re.I)  # nbgrader's "Success! Your notebook passes all the tests."
_SCORE_RE = re.compile(r"(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)")


def release_problems(file_cells, dom_cells) -> list[str]:
    """What is wrong with a Run All of the unanswered release, one line each (empty when right)."""
    problems, not_run = [], []
    for i, (cell, shown) in enumerate(zip(file_cells, dom_cells)):
        if shown.kind != "code":
            continue
        role = cell_role(cell)
        if not shown.ran:
            not_run.append(i)
        elif role not in MAY_FAIL_IN_RELEASE and shown.errors():
            problems.append(f"cell {i} ({role}) shows {', '.join(shown.errors())}: only cells that need an "
                            "answer may fail")
        elif role == "needs_answer" and not shown.outputs:
            problems.append(f"cell {i} (needs_answer) ran but shows nothing")
    if not_run:
        stopped = [i for i, s in enumerate(dom_cells[:not_run[0]]) if s.errors()]
        problems.append(f"{len(not_run)} code cells never ran (cells {', '.join(map(str, not_run))}): Run All "
                        f"stopped at the error of cell {stopped[-1] if stopped else '?'}")
    if not any(cell_role(c) == "visible_tests" and "NotImplementedError" in s.errors()
               for c, s in zip(file_cells, dom_cells)):
        problems.append("no visible-test cell shows NotImplementedError: the stubs were never reached")
    return problems


def solved_problems(dom_cells) -> list[str]:
    """What is wrong with a Run All of a solved copy, one line per cell (empty when right)."""
    return [f"cell {i} " + ("did not run" if not shown.ran else f"shows {', '.join(shown.errors())}")
            for i, shown in enumerate(dom_cells)
            if shown.kind == "code" and (not shown.ran or shown.errors())]


def notes_output_size(W, F, S, P, dilation):
    """(W - F_eff + 2P)/S + 1 with F_eff = F + (F - 1)(dilation - 1); None when it is not a whole number >= 1."""
    f_eff = F + (F - 1) * (dilation - 1)
    span = W - f_eff + 2 * P
    return span // S + 1 if span >= 0 and span % S == 0 else None


def verdict_problem(text: str, sliders: dict) -> str | None:
    """What is wrong with ShapeExplorer's verdict ``text`` for the ``sliders`` on the page (None when right)."""
    expected = notes_output_size(sliders["W"], sliders["F"], sliders["S"], sliders["P"], sliders["dilation"])
    if f"W={sliders['W']}, F={sliders['F']}, S={sliders['S']}, P={sliders['P']}" not in text:
        return f"the verdict {text!r} does not name the sliders' values {sliders}"
    if expected is None:
        return None if "INVALID" in text else (
            f"sliders {sliders}: the formula gives no whole number, the page says {text!r}")
    shown = re.search(r"output size .*= (\d+)$", text)
    if not shown or int(shown.group(1)) != expected:
        return f"sliders {sliders}: the formula gives {expected}, the page says {text!r}"
    return None


_STEP_RE = re.compile(r"^step (\d+)/(\d+): out\[(\d+), (\d+), (\d+)\] = "
                      r"sum\(x_pad\[:, (\d+):(\d+), (\d+):(\d+)\] \* w(\d+)\) \+ b(\d+) = (\S+)")


def stepper_problem(text: str, step: int, x, w, b, stride: int, pad: int) -> str | None:
    """What is wrong with ConvStepper's caption ``text`` for step ``step`` (1-based) of the convolution of
    x (C, H, W) with w (K, C, F, F), b (K,): steps run over filters, then output rows, then columns."""
    import numpy as np  # noqa: PLC0415 - only this check computes

    K, _, F, _ = w.shape
    Ho, Wo = (x.shape[1] - F + 2 * pad) // stride + 1, (x.shape[2] - F + 2 * pad) // stride + 1
    k, rest = divmod(step - 1, Ho * Wo)
    i, j = divmod(rest, Wo)
    r0, c0 = i * stride, j * stride
    x_pad = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    value = float(np.sum(x_pad[:, r0:r0 + F, c0:c0 + F] * w[k]) + b[k])
    expected = (step, K * Ho * Wo, k, i, j, r0, r0 + F, c0, c0 + F, k, k)
    shown = _STEP_RE.match(text)
    if not shown or tuple(int(g) for g in shown.groups()[:-1]) != expected:
        return (f"step {step}/{K * Ho * Wo} fills out[{k}, {i}, {j}] from x_pad[:, {r0}:{r0 + F}, {c0}:{c0 + F}] "
                f"and w{k}, b{k}; the page says {text!r}")
    if abs(float(shown.group(12)) - value) > 1e-9 * max(1.0, abs(value)):
        return f"step {step}: the dot product is {value:g}, the page says {text!r}"
    return None


def exercise_names(nb) -> dict[int, list[str]]:
    """``{N: [ways the page may name exercise N]}``: ``Exercise N``, its heading's title, its function."""
    names = {n: [f"Exercise {n}"] for _, n, _ in exercise_headings(nb)}
    for i, n, _ in exercise_headings(nb):
        title = re.search(rf"Exercise\s+{n}\s+\([^)]*\):?\s*(.+)", nb.cells[i].source)
        if title:
            names[n].append(title.group(1).strip().replace("`", ""))
    intro = next(c.source for c in nb.cells if c.cell_type == "markdown")
    for header, *rows in markdown_tables(intro):
        columns = [x.lower() for x in header]
        if "exercise" in columns and "function" in columns:
            for row in rows:
                function = row[columns.index("function")].replace("`", "").split()[0]
                names[int(row[columns.index("exercise")])].append(function)
    return names


def expected_scores(nb, cells: dict) -> dict[int, tuple[float, float]]:
    """``{N: (score, max)}`` of each exercise, adding up the grader's scores of its graded cells."""
    totals: dict[int, list[float]] = {}
    for gid, number in exercise_of(nb).items():
        score, top = cells[gid]
        entry = totals.setdefault(number, [0.0, 0.0])
        entry[0] += score
        entry[1] += top
    return {n: (s, m) for n, (s, m) in totals.items()}


def names_exercise(text: str, names: list[str], number: int) -> bool:
    return bool(re.search(rf"\bExercise {number}\b", text)) or any(name in text for name in names[1:])


def feedback_problems(nb, scores: dict, summary: list[str], typeset: int, text: str) -> list[str]:
    """What is wrong with a feedback page of notebook ``nb`` (empty when right), from what chromium shows.

    ``scores``: ``{N: (score, max)}`` the grader gave each exercise; ``summary``: the texts of the
    page's lines before the notebook's first cell; ``typeset``: how many maths elements (:data:`MATH`)
    it has; ``text``: all its visible text.
    """
    problems = []
    names = exercise_names(nb)
    for number, (score, top) in scores.items():
        rows = [r for r in summary if names_exercise(r, names[number], number)]
        scored = [r for r in rows if any(abs(float(a) - score) < 0.01 and abs(float(b) - top) < 0.01
                                         for a, b in _SCORE_RE.findall(r))]
        if not scored:
            problems.append(f"Exercise {number} ({' / '.join(dict.fromkeys(names[number][1:]))}): no line of the "
                            f"summary names it with its score {score:g} / {top:g}"
                            + (f" (lines naming it: {rows})" if rows else ""))
    displays = sum(len(re.findall(r"\$\$.+?\$\$", c.source, re.S)) for c in nb.cells if c.cell_type == "markdown")
    if typeset < max(displays, 1):
        problems.append(f"{typeset} typeset maths elements ({MATH}) for {displays} displayed formulas")
    if "$$" in text:
        problems.append("raw TeX ($$) left in the page's text")
    return problems


def validate_problems(nb, release_text: str, solved_text: str) -> list[str]:
    """What is wrong with the Validate dialogs of notebook ``nb``: untouched (``release_text``) and solved."""
    problems = []
    if SUCCESS.search(release_text):
        problems.append("the untouched release gets a success verdict")
    names = exercise_names(nb)
    missing = [n for n in names if not names_exercise(release_text, names[n], n)]
    if missing:
        problems.append(f"the untouched release's dialog does not name the unanswered exercises {missing}")
    if not SUCCESS.search(solved_text):
        problems.append("the solved copy gets no success verdict")
    return problems
