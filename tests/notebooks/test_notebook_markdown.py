"""The text of every notebook, rendered: no products turned into italics, no stray `$`.

Markdown cells are rendered with nbconvert's ``markdown2html_mistune``, the renderer behind nbconvert's
HTML export and so behind the feedback pages nbgrader writes (a feedback page shows the same markdown
cells as the release). It protects ``$...$`` and ``$$...$$`` maths from the Markdown rules, as JupyterLab
does. A bare ``*`` in prose is not protected: ``3*3*C`` renders as ``3<em>3</em>C``. Each check runs on the
solution notebooks and on the committed releases (``assignments/``, and ``assignments-zh/`` once translated).
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup, NavigableString
from nbconvert.filters.markdown_mistune import markdown2html_mistune

from .notebook_support import assignment_ids, edition_cases, read_notebook, release_notebook, solution_notebook

AIDS = assignment_ids()
# Characters that belong to arithmetic, not to words; a hyphen is a minus only with spaces around it.
_OPERATORS = set("*+=/^<>%\u00d7\u00b7\u2212")
_SPANNED = set("*+=^\u00d7\u00b7\u2212")  # inside emphasis these are maths; "/" and ">" also occur in titles
_MINUS = re.compile(r"\s-\s")
_MATH = re.compile(r"\$\$.*?\$\$|\$.+?\$", re.S)


def _glued(ch: str) -> bool:
    """Emphasis glued to a letter, digit or operator outside it is an accident of ``a*b*c`` in this course."""
    return ch.isalnum() or ch in _OPERATORS or ch == "-"


def _neighbour(node, forward: bool) -> str:
    """The character just outside ``node`` in its text (``""`` at a block edge or next to another tag)."""
    sibling = node.next_sibling if forward else node.previous_sibling
    if isinstance(sibling, NavigableString) and sibling:
        return sibling[0] if forward else sibling[-1]
    return ""


def markdown_problems(markdown: str) -> list[str]:
    """What is wrong with ``markdown`` once rendered: emphasis next to, around or across arithmetic,
    and ``$`` signs that open no maths."""
    soup = BeautifulSoup(markdown2html_mistune(markdown), "html.parser")
    for literal in soup.find_all(["code", "pre"]):
        literal.replace_with("code")  # code spans keep their * and $ as written; they read as a word here
    problems = []
    for tag in soup.find_all(["em", "strong"]):
        text = tag.get_text()
        inner = text.strip()
        before, after = _neighbour(tag, False), _neighbour(tag, True)
        spans = any(ch in _SPANNED for ch in inner) or _MINUS.search(inner)
        if (not inner or any(ch in _OPERATORS for ch in (inner[:1], inner[-1:]))
                or any(_glued(ch) for ch in (before, after) if ch) or spans):
            problems.append(f"<{tag.name}> around arithmetic: {before!r} + <{tag.name}>{text}</{tag.name}> + {after!r}")
    stray = _MATH.sub("", soup.get_text()).count("$")
    if stray:
        problems.append(f"{stray} '$' outside any $...$ maths (unbalanced)")
    return problems


def _markdown_cells(path):
    return [(i, c.source) for i, c in enumerate(read_notebook(path).cells) if c.cell_type == "markdown"]


NOTEBOOKS = [(f"solutions/{aid}", solution_notebook(aid)) for aid in AIDS] + [
    (f"{release_notebook(aid, edition).parent.parent.name}/{aid}", release_notebook(aid, edition))
    for aid, edition in edition_cases(AIDS)]


@pytest.mark.parametrize("path", [p for _, p in NOTEBOOKS], ids=[name for name, _ in NOTEBOOKS])
def test_markdown_renders_without_accidental_emphasis(path):
    assert path.is_file(), f"{path} is missing"
    bad = [f"  cell {i}: {problem}" for i, source in _markdown_cells(path) for problem in markdown_problems(source)]
    assert not bad, (f"{path}: markdown that renders wrong (write products as LaTeX, $3 \\times 3 \\times C$, "
                     "or as code):\n" + "\n".join(bad))


# Wrong text the check must catch: the first five are assignment 1's sentences before they were fixed.
WRONG = [
    "Three 3x3 layers on C channels hold 3 * (3*3*C) * C = 27C^2 weights",
    "one neuron on a 32x32x3 input with F = 5 has 5*5*3 weights plus a bias",
    "computes w0*x0 + w1*x1 + w2*x2; with r = 2 it computes w0*x0 + w1*x2 + w2*x4",
    "290,400 * 364 = 105,705,600 parameters, holds F*F*D1 weights per filter: (F*F*D1)*K weights",
    "so a k x k layer holds k*k*(c1/g)*(c2/g)*g weights",
    "the product a*b*c of three numbers",
    "in *Part 3*of the notes",
    "the sum **a + b** of both",
    "costs $5 and more",
    "the window $F \\times F$ and $P",
]
RIGHT = [
    "Three 3x3 layers on C channels hold $3 \\cdot (3 \\cdot 3 \\cdot C) \\cdot C = 27C^2$ weights",
    "one neuron has `5 * 5 * 3` weights, and **parameter sharing** means *summed* gradients",
    "a **depthwise-separable** block; the *switches* go in the cache; *Run All Cells* (*Run > Run All*)",
    "the CS231n notes *Neural Networks Part 3*, and *The CIFAR-10 dataset*: a loss of **2.3** at the start",
    "$$r = 1 + \\sum_i (F_i - 1) \\prod_{j < i} S_j$$",
    "the mean and the variance: $\\mu_c$ and $\\sigma_c^2$, over $M = NHW$ values",
]


@pytest.mark.parametrize("text", WRONG)
def test_the_check_catches_wrong_markdown(text):
    assert markdown_problems(text), f"not caught: {text!r}"


@pytest.mark.parametrize("text", RIGHT)
def test_the_check_passes_right_markdown(text):
    assert not markdown_problems(text), markdown_problems(text)
