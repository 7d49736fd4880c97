"""Feedback pages never carry a submission's live markup (issue 8, item 7).

Two levels. Each attack vector alone: a one-notebook render through the feedback template, chain
and exporter (fast, no kernel). Then end to end: a class of two (``honest`` with a plot, ``mallory``
with every attack in her outputs, markdown, attachments and metadata) graded without the sandbox
(the attacks are in the outputs, not in what the code does) and given feedback; the written pages
are read back with the standard library's HTML parser, an oracle written here independently of
``autograder.page_check``.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from adversarial import RELU_WRONG  # noqa: E402
from ag_support import AID, LIMITS, copy_course, new_fixture_course  # noqa: E402

from autograder import feedback, pipeline  # noqa: E402
from autograder.exercises import GradedExercise, graded_exercises  # noqa: E402
from autograder.feedback import FeedbackUnsafeError, generate_feedback, template_baseline  # noqa: E402
from autograder.feedback_page import (HINTS, ExerciseRow, failure_kind, notes_items, result_html,  # noqa: E402
                                      summary_html)
from autograder.grading import GradeOptions, SubmissionResult, grade_all, report_path  # noqa: E402
from autograder.page_check import unsafe_markup  # noqa: E402
from autograder.safe_html import FeedbackHTMLExporter, SanitizeFeedback  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

NB = f"{AID}.ipynb"
ODD = "eve<img src=x onerror=alert(1)>"  # a student folder name with markup in it
MATHJAX_SRC = "_mathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe,local/convlab"
PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
_BAD_URL = re.compile(r"(?:java|vb)script:|data:(?!image/(?:png|jpeg|gif);base64,)")
_URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href", "srcset", "poster", "background", "style"}
_EMBEDDING = {"iframe", "frame", "object", "embed", "applet", "form", "base", "link", "svg", "math", "noscript",
              "textarea", "xmp", "noembed", "template"}


class Audit(HTMLParser):
    """What a page holds that could run: scripts, styles, event handlers, script URLs, embedding tags."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.scripts, self.styles, self.events, self.urls, self.embedding, self.text = [], [], [], [], [], []
        self.images, self.tags, self._inside = [], [], None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        self.events += [(tag, k, v) for k, v in attrs.items() if k.startswith("on")]
        self.urls += [(tag, k, v) for k, v in attrs.items()
                      if k in _URL_ATTRS and v and _BAD_URL.search(re.sub(r"[\x00-\x20]", "", v).lower())]
        if tag in _EMBEDDING or (tag == "meta" and "http-equiv" in attrs):
            self.embedding.append(tag)
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag in ("script", "style"):
            self._inside = (tag, attrs, [])

    def handle_endtag(self, tag):
        if self._inside and tag == self._inside[0]:
            kind, attrs, parts = self._inside
            (self.scripts if kind == "script" else self.styles).append((attrs, "".join(parts)))
            self._inside = None

    def handle_data(self, data):
        (self._inside[2] if self._inside else self.text).append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)

    def live(self) -> list:
        """Everything that could run (an empty list for a safe page); the template's scripts excepted."""
        own = [s for s in self.scripts if not _template_script(*s)]
        return [*own, *self.events, *self.urls, *self.embedding]


def _template_script(attrs, text) -> bool:
    """The one script the feedback template emits: MathJax from the page's own folder."""
    return attrs == {"src": MATHJAX_SRC} and text.strip() == ""


# --- each vector alone ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def renderer(tmp_path_factory):
    """``render(nb, notebook_name)`` -> the feedback page of ``nb`` (template, sanitiser, exporter)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import ClearHiddenTests, GetGrades

    course = new_fixture_course(tmp_path_factory.mktemp("render") / "course", released=False)
    cfg = feedback.feedback_config(course)
    converter = GenerateFeedback(coursedir=CourseDirectory(config=cfg), config=cfg)

    def render(nb, name="f1_toy"):
        exporter = converter.exporter_class(parent=converter, config=converter.config)
        for step in pipeline.FEEDBACK_PREPROCESSORS:  # registered as nbgrader does; no gradebook here
            if step not in (GetGrades, ClearHiddenTests):
                exporter.register_preprocessor(step)
        resources = {"nbgrader": {"notebook": name, "score": 1, "max_score": 2, "late_penalty": 0},
                     "metadata": {"path": str(course.root)}}
        return exporter.from_notebook_node(nb, resources=resources)[0]

    render.allowed = template_baseline(converter)
    return render


def _notebook(*cells, **metadata):
    nb = nbformat.v4.new_notebook(metadata=metadata)
    nb.cells.extend(cells)
    return nb


def _display(data, metadata=None, kind="display_data"):
    extra = {"execution_count": 1} if kind == "execute_result" else {}
    return new_code_cell("shown()", outputs=[new_output(kind, data=data, metadata=metadata or {}, **extra)])


MARKDOWN_VECTORS = {
    "script": "<script>alert(1)</script>",
    "img onerror": "<img src=x onerror=alert(1)>",
    "iframe": '<iframe src="javascript:alert(1)"></iframe>',
    "iframe srcdoc": '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "style": "<style>#convlab-grader-notes{display:none}</style><style>*{background:url(javascript:alert(1))}</style>",
    "style attribute": '<div style="background:url(javascript:alert(1))">x</div>',
    "div onclick": "<div onclick=alert(1) onmouseover='alert(1)'>hi</div>",
    "markdown link": "[x](javascript:alert(1))",
    "mixed case link": "[x](JaVaScRiPt:alert(1))",
    "entity link": "[x](&#106;avascript:alert(1))",
    "autolink": "<javascript:alert(1)>",
    "reference link": "[x][r]\n\n[r]: javascript:alert(1)",
    "image link": "![i](javascript:alert(1))",
    "vbscript": "[x](vbscript:alert(1))",
    "data html link": '<a href="data:text/html,<script>alert(1)</script>">d</a> [m](data:text/html;base64,PHNjcmlwdD4=)',
    "files prefix": '[x](files/javascript:alert(1)) <a href="files/files/javascript:alert(1)">y</a>',
    "tab in scheme": '<a href="jav&#x09;ascript:alert(1)">x</a>',
    "svg": "<svg><script>alert(1)</script><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
    "math mxss": "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "noscript mxss": '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "comment mxss": "<!--><img src=x onerror=alert(1)>-->",
    "object embed": '<object data="javascript:alert(1)"></object><embed src="javascript:alert(1)">',
    "form": '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    "meta refresh": '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    "base": '<base href="javascript:alert(1)//">',
    "link": '<link rel="stylesheet" href="javascript:alert(1)">',
    "latex href": r"$\href{javascript:alert(1)}{x}$ <a href=javascript:alert(1)>$x$</a>",
}


@pytest.mark.parametrize("name", sorted(MARKDOWN_VECTORS))
def test_markdown_vector_is_inert(renderer, name):
    source = MARKDOWN_VECTORS[name]
    page = renderer(_notebook(new_markdown_cell(source)))
    audit = Audit(page)
    assert audit.live() == [], f"{name}: live markup in the page"
    assert unsafe_markup(page, renderer.allowed) == []


OUTPUT_VECTORS = {  # name -> (cell, what the page must show instead)
    "html": (_display({"text/html": "<b>hi</b><script>alert(1)</script><img src=x onerror=alert(1)>",
                       "text/plain": "<IPython.core.display.HTML object>"}), "[HTML output removed from feedback]"),
    "html only": (_display({"text/html": "<iframe src=javascript:alert(1)>"}), "[HTML output removed from feedback]"),
    "html isolated": (_display({"text/html": "<script>alert(1)</script>"}, {"text/html": {"isolated": True}}),
                      "[HTML output removed from feedback]"),
    "svg": (_display({"image/svg+xml": '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)'
                                       "</script></svg>"}), "[SVG image removed from feedback]"),
    "javascript": (_display({"application/javascript": "alert(1)"}), "[JavaScript output removed from feedback]"),
    "widget": (_display({"application/vnd.jupyter.widget-view+json":
                         {"model_id": "</script><script>alert(1)</script>", "version_major": 2, "version_minor": 0},
                         "text/plain": "IntSlider(value=3)"}), "[widget removed from feedback]"),
    "pdf": (_display({"application/pdf": "JVBERi0="}), "[application/pdf output removed from feedback]"),
    "markdown output": (_display({"text/markdown": "[x](javascript:alert(1)) <img src=x onerror=alert(1)> **ok**"},
                                 kind="execute_result"), "ok"),
    "png width": (_display({"image/png": PNG}, {"image/png": {"width": "1 onerror=alert(1)", "height": 5}}), None),
    "png filename": (_display({"image/png": PNG}, {"filenames": {"image/png": "javascript:alert(1)"}}), None),
    "png data": (_display({"image/png": 'x" onerror="alert(1)'}), "[image/png output removed from feedback]"),
}
# Channels nbconvert's template escapes by itself: these pin that (they fail if a template stops
# escaping), not the sanitiser.
ESCAPED_BY_TEMPLATE = {
    "latex output": (_display({"text/latex": "</div><script>alert(1)</script>$x$"}), "<script>alert(1)</script>"),
    "png alt": (_display({"image/png": PNG}, {"image/png": {"alt": 'x" onerror="alert(1)'}}), None),
    "stdout": (new_code_cell("p()", outputs=[new_output("stream", name="stdout", text="<script>alert(1)</script>")]),
               "<script>alert(1)</script>"),
    "traceback": (new_code_cell("e()", outputs=[new_output("error", ename="E", evalue="<img src=x onerror=alert(1)>",
                                                           traceback=["<img src=x onerror=alert(1)>"])]),
                  "<img src=x onerror=alert(1)>"),
}


def _check_output_vector(renderer, name, cell, visible):
    page = renderer(_notebook(cell))
    audit = Audit(page)
    assert audit.live() == [], f"{name}: live markup in the page"
    assert unsafe_markup(page, renderer.allowed) == []
    if visible:
        assert visible in audit.visible, f"{name}: {visible!r} is not shown"
    if name.startswith("png") and name != "png data":
        assert any(src.startswith("data:image/png;base64,iVBOR") for src in audit.images), "the image is still shown"


@pytest.mark.parametrize("name", sorted(OUTPUT_VECTORS))
def test_output_vector_is_inert_and_says_so(renderer, name):
    _check_output_vector(renderer, name, *OUTPUT_VECTORS[name])


@pytest.mark.parametrize("name", sorted(ESCAPED_BY_TEMPLATE))
def test_template_escaped_output_stays_inert(renderer, name):
    _check_output_vector(renderer, name, *ESCAPED_BY_TEMPLATE[name])


def test_metadata_attachments_and_names_are_inert(renderer):
    attachments = {"evil.html": {"text/html": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="},
                   "evil.svg": {"image/svg+xml": "PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+"},
                   "ok.png": {"image/png": PNG}}
    markdown = new_markdown_cell("![a](attachment:evil.html) ![b](attachment:evil.svg) ![c](attachment:ok.png)",
                                 attachments=attachments)
    code = new_code_cell("x = 1", metadata={"tags": ['x" onmouseover="alert(1)'], "alt": 'x" onerror="alert(1)'})
    graded = new_markdown_cell("My answer.", metadata={"nbgrader": {
        "grade": True, "solution": True, "grade_id": '"><img src=x onerror=alert(1)>', "points": 1, "score": 1,
        "comment": "[see](javascript:alert(1)) <img src=x onerror=alert(1)>"}})
    raw = new_raw_cell("<script>alert(1)</script><img src=x onerror=alert(1)>", metadata={"raw_mimetype": "text/html"})
    widgets = {"application/vnd.jupyter.widget-state+json": {"state": {"</script><script>alert(1)</script>": {}},
                                                            "version_major": 2, "version_minor": 0}}
    nb = _notebook(markdown, code, graded, raw, widgets=widgets, title="</title><script>alert(1)</script>")
    page = renderer(nb, name="<img src=x onerror=alert(1)>")
    audit = Audit(page)
    assert audit.live() == []
    assert unsafe_markup(page, renderer.allowed) == []
    sources = [s for s in audit.images if s.startswith("data:")]
    assert len(sources) == 3 and sources[2].startswith("data:image/png;base64,iVBOR"), sources
    assert "<img src=x onerror=alert(1)>" in audit.visible, "the notebook's name is shown as text"


def test_the_plain_exporter_and_chain_would_let_them_through(renderer):
    """The vectors above are real: nbconvert's HTMLExporter without our steps renders them live."""
    nb = _notebook(new_markdown_cell("[x](javascript:alert(1)) <img src=x onerror=alert(1)>"),
                   OUTPUT_VECTORS["html"][0], OUTPUT_VECTORS["png width"][0])
    page = HTMLExporter(template_name="classic").from_notebook_node(nb)[0]
    audit = Audit(page)
    assert len(audit.events) >= 3 and audit.urls and any("alert" in text for _, text in audit.scripts)


def test_honest_markdown_still_reads_well(renderer):
    source = ("## Results\n\n> a quote\n\n`a < b && c`\n\n$a < b$ and **bold** <b>html bold</b> "
              "<span style=\"color:red\">red</span>\n\n```python\nif x < 3:\n    y = 1\n```\n\n"
              "| W | F |\n|---|---|\n| 7 | 3 |\n\n[notes](https://cs231n.github.io/convolutional-networks/) "
              "![fig](figure.png) [top](#Results)")
    audit = Audit(renderer(_notebook(new_markdown_cell(source))))
    assert audit.live() == []
    for tag in ["h2", "blockquote", "code", "table", "td", "strong", "b", "pre", "span"]:
        assert tag in audit.tags, f"<{tag}> lost"
    text = audit.visible
    assert "a < b && c" in text and "$a < b$" in text and "if x < 3:" in text and "&lt;" not in text
    assert "figure.png" in audit.images
    assert 'style="color:red;"' in renderer(_notebook(new_markdown_cell(source)))


# --- end to end: grade a class, write the feedback -----------------------------------------------
HONEST_CELLS = [
    "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\nimport matplotlib.pyplot as plt\n"
    "plt.plot([1, 2, 3], [3, 1, 2])\nplt.show()",
    "print('honest text output: 42')",
]
MALLORY_CELLS = [
    "from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
    "display(HTML('<b>bold</b><script>alert(1)</script><img src=x onerror=alert(1)>'))",
    "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script>"
    "<circle r=\"5\" onload=\"alert(1)\"/></svg>'))",
    "display(Javascript('alert(1)'))",
    "display({'application/vnd.jupyter.widget-view+json': {'model_id': '</script><script>alert(1)</script>',"
    " 'version_major': 2, 'version_minor': 0}, 'text/plain': 'W'}, raw=True)",
    "display(Markdown('[click](javascript:alert(1)) <img src=x onerror=alert(1)>'))",
    f"display({{'image/png': '{PNG}'}}, raw=True, metadata={{'image/png': {{'width': '1 onerror=alert(1)'}}}})",
    "print('<script>alert(1)</script>')",
]


def _handed_in(solution: Path, code: list[str], markdown: list[str], out: Path):
    nb = make_submission(solution)
    nb.cells += [new_code_cell(s) for s in code] + [new_markdown_cell(s) for s in markdown]
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, out)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The fixture course with ``honest`` and ``mallory`` graded (no sandbox), plus a student with an
    odd name and no gradable notebook (a report written by hand)."""
    course = new_fixture_course(tmp_path_factory.mktemp("feedback") / "course")
    solution = course.solutions / AID / NB
    _handed_in(solution, HONEST_CELLS, ["> my *own* notes: `F < W`"], course.submitted / "honest" / AID / NB)
    markdown = [v for _, v in sorted(MARKDOWN_VECTORS.items())]
    nb = _handed_in(solution, MALLORY_CELLS, markdown, course.submitted / "mallory" / AID / NB)
    nb.cells[-1].attachments = {"evil.html": {"text/html": "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="}}
    nb.cells[-1].source += "\n\n![a](attachment:evil.html)"
    nb.cells[-len(markdown) - 1].metadata["tags"] = ['x" onmouseover="alert(1)']
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"</script><script>alert(1)</script>": {}}, "version_major": 2, "version_minor": 0}}
    nbformat.write(nb, course.submitted / "mallory" / AID / NB)
    results = grade_all(course, AID, GradeOptions(unsafe_no_sandbox=True, limits=LIMITS, seed=5, workers=2),
                        students=["honest", "mallory"])
    assert [r.score for r in results] == [10.0, 10.0], [r.notes for r in results]
    make_submission(solution, {"relu": RELU_WRONG}, course.submitted / "partial" / AID / NB)
    results = grade_all(course, AID, GradeOptions(unsafe_no_sandbox=True, limits=LIMITS, seed=5, workers=1),
                        students=["partial"])
    assert 0 < results[0].score < 10, results[0]
    (course.submitted / ODD / AID).mkdir(parents=True)
    (course.submitted / ODD / AID / "<img src=x onerror=alert(1)>.ipynb").write_text("{}")
    result = SubmissionResult(ODD, AID, 0.0, 10.0, "graded", ["<img src=x onerror=alert(1)>.ipynb was not read."])
    report_path(course, AID, ODD).write_text(json.dumps(asdict(result)))
    return course


@pytest.mark.slow
def test_the_attacks_reach_the_feedback_step(course):
    """Grading keeps them: what feedback renders holds each attack (else the tests below prove nothing)."""
    nb = nbformat.read(course.autograded / "mallory" / AID / NB, as_version=4)
    types = {k for c in nb.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
    assert {"text/html", "image/svg+xml", "application/javascript", "application/vnd.jupyter.widget-view+json",
            "text/markdown"} <= types
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "onerror=alert(1)" in markdown and "javascript:alert(1)" in markdown
    assert "widgets" in nb.metadata and any(c.get("attachments") for c in nb.cells)


@pytest.mark.slow
def test_attackers_page_has_no_live_markup(course):
    pages = generate_feedback(course, AID)
    mallory = Audit(pages["mallory"][0].read_text())
    honest = Audit(pages["honest"][0].read_text())
    assert mallory.live() == []
    assert len(mallory.scripts) == 1 and all(_template_script(*s) for s in mallory.scripts)
    assert mallory.scripts == honest.scripts and mallory.styles == honest.styles, "only the template's own"
    for note in ["[HTML output removed from feedback]", "[SVG image removed from feedback]",
                 "[JavaScript output removed from feedback]", "[widget removed from feedback]"]:
        assert note in mallory.visible
    assert "<script>alert(1)</script>" in mallory.visible, "neutralised markup is shown as text"
    assert "f1_toy: 10 / 10 points" in mallory.visible and "Grader's notes" in mallory.visible


@pytest.mark.slow
def test_honest_page_shows_plots_text_and_verdicts(course):
    page = generate_feedback(course, AID)["honest"][0]
    audit = Audit(page.read_text())
    assert audit.live() == []
    nb = nbformat.read(course.autograded / "honest" / AID / NB, as_version=4)
    plots = [o.data["image/png"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
             if "image/png" in o.get("data", {})]
    assert plots, "the plot cell made a PNG"
    assert f"data:image/png;base64,{plots[0]}" in [src.replace("\n", "") for src in audit.images]
    text = audit.visible
    assert "honest text output: 42" in text and "my own notes: F < W" in re.sub(r"\s+", " ", text)
    assert "blockquote" in audit.tags
    verdicts = re.findall(r"Check (\w+): (\d+) of (\d+) cases pass", text)
    assert sorted(v[0] for v in verdicts) == ["out_size", "pool1d", "relu", "relu_grad"], verdicts
    assert all(passed == total for _, passed, total in verdicts)
    assert "removed from feedback" not in text


@pytest.mark.slow
def test_fallback_page_escapes_student_and_notebook_names(course):
    stale = course.feedback / ODD / AID / f"{AID}.html"
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text("<p>an earlier run's page</p>")
    page = generate_feedback(course, AID)[ODD][0]
    assert "an earlier run" not in page.read_text(), "each run writes the page anew"
    assert not (page.parent / "_mathjax").exists(), "no maths, no MathJax"
    assert [r[0] for r in _summary(page.read_text())[1:]] == ["Exercise 1", "Exercise 2", "Exercise 3"]
    audit = Audit(page.read_text())
    assert audit.live() == [] and "img" not in audit.tags
    assert ODD in audit.visible and "<img src=x onerror=alert(1)>.ipynb" in audit.visible


@pytest.mark.slow
def test_final_check_refuses_a_page_tampered_by_hand(course, renderer):
    text = generate_feedback(course, AID)["honest"][0].read_text()
    allowed = renderer.allowed
    assert unsafe_markup(text, allowed) == []
    tampered = {
        "script": "<script>alert(1)</script>",
        "template script twice, changed": f'<script src="{MATHJAX_SRC}&x=1"></script>',
        "onerror": '<img src="x.png" onerror="alert(1)">',
        "javascript link": '<a href=" JaVa&#x09;Script:alert(1)">x</a>',
        "vbscript link": '<a href="vbscript:msgbox(1)">x</a>',
        "data html": '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "iframe": '<iframe src="https://example.org"></iframe>',
        "object": '<object data="x.swf"></object>',
        "embed": '<embed src="x.swf">',
        "form": '<form action="https://example.org"><input name="password"></form>',
        "meta refresh": '<meta http-equiv="refresh" content="0;url=https://example.org">',
        "base": '<base href="https://example.org/">',
        "style": "<style>#convlab-grader-notes{display:none}</style>",
        "noscript": '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
        "comment": "<!--><img src=x onerror=alert(1)>-->",
    }
    for name, markup in tampered.items():
        bad = text.replace("</main>", markup + "</main>", 1)
        assert bad != text
        assert unsafe_markup(bad, allowed), f"{name}: the final check missed it"


@pytest.mark.slow
def test_unsafe_page_is_deleted_and_reported(course, tmp_path, monkeypatch):
    """Without the sanitiser the final check still stops mallory's page (and only hers)."""
    private = copy_course(course, tmp_path / "course")
    shutil.rmtree(private.feedback, ignore_errors=True)
    monkeypatch.setattr(pipeline, "FEEDBACK_PREPROCESSORS",
                        [p for p in pipeline.FEEDBACK_PREPROCESSORS if p is not SanitizeFeedback])
    monkeypatch.setattr(FeedbackHTMLExporter, "markdown2html", HTMLExporter.markdown2html)
    with pytest.raises(FeedbackUnsafeError, match=r"mallory/f1_toy/f1_toy.html: not written") as error:
        generate_feedback(private, AID)
    assert "onerror=" in str(error.value) or "not emitted by the template" in str(error.value)
    assert not (private.feedback / "mallory" / AID / "f1_toy.html").exists(), "the unsafe page is deleted"
    assert Audit((private.feedback / "honest" / AID / "f1_toy.html").read_text()).live() == []


def test_nbgrader_config_names_the_same_chain_and_exporter(tmp_path):
    """``nbgrader_config.py`` imports the chain: stock nbgrader and convlab-grade run the same steps."""
    course = new_fixture_course(tmp_path / "course", released=False)
    cfg = course.config()
    assert cfg.GenerateFeedback.preprocessors == pipeline.FEEDBACK_PREPROCESSORS
    assert cfg.GenerateFeedback.exporter_class is FeedbackHTMLExporter
    pinned = feedback.feedback_config(course).GenerateFeedback
    assert pinned.preprocessors == pipeline.FEEDBACK_PREPROCESSORS and pinned.exporter_class is FeedbackHTMLExporter


@pytest.mark.slow
def test_stock_nbgrader_generate_feedback_is_sanitised_too(course, tmp_path):
    """nbgrader's own config loader accepts the import, and its pages are as inert as ours."""
    private = copy_course(course, tmp_path / "course")
    shutil.rmtree(private.feedback, ignore_errors=True)
    bindir = str(Path(sys.executable).parent)
    run = subprocess.run([str(Path(bindir) / "nbgrader"), "generate_feedback", AID, "--student", "mallory"],
                         cwd=private.root, env={**os.environ, "PATH": bindir + os.pathsep + os.environ["PATH"]},
                         capture_output=True, text=True, timeout=120)
    page = private.feedback / "mallory" / AID / "f1_toy.html"
    assert run.returncode == 0 and page.is_file(), run.stderr[-2000:]
    audit = Audit(page.read_text())
    assert audit.live() == [] and "[HTML output removed from feedback]" in audit.visible


@pytest.mark.slow
def test_a_leaking_page_is_deleted_too(course, tmp_path, monkeypatch):
    """The hidden-line check also deletes the page nbgrader wrote, instead of leaving it unscrubbed."""
    private = copy_course(course, tmp_path / "course")
    monkeypatch.setattr(feedback, "hidden_lines", lambda *_: {"honest text output: 42"})
    monkeypatch.setattr(feedback, "scrub", lambda text, secrets: text)
    with pytest.raises(feedback.FeedbackLeakError, match=r"honest/f1_toy/f1_toy.html: hidden lines remain"):
        generate_feedback(private, AID)
    assert not (private.feedback / "honest" / AID / "f1_toy.html").exists()


# --- a page a student reads top to bottom (issue 12, item 6) -------------------------------------
class Table(HTMLParser):
    """The rows (lists of cell texts) of the first ``<table>`` with class ``wanted``."""

    def __init__(self, text, wanted):
        super().__init__(convert_charrefs=True)
        self.wanted, self.rows, self._depth, self._cell = wanted, [], 0, None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag == "br" and self._cell is not None:
            self._cell.append(" | ")
        if tag == "table" and (self._depth or self.wanted in (dict(attrs).get("class") or "").split()):
            self._depth += 1
        elif self._depth and tag == "tr":
            self.rows.append([])
        elif self._depth and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self._depth:
            self._depth = -1 if self._depth == 1 else self._depth - 1  # -1: done, read no further tables
        elif self._depth > 0 and tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._depth > 0 and self._cell is not None:
            self._cell.append(data)


class Loads(HTMLParser):
    """Every URL a page loads by itself: scripts, stylesheets, fonts, images, frames, CSS ``url()``/``@import``."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.urls, self._style = [], False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "data", "poster", "srcset", "background"):
            if attrs.get(key):
                self.urls.append((tag, attrs[key]))
        if tag == "link" and attrs.get("href"):
            self.urls.append((tag, attrs["href"]))
        self.urls += [(tag, u) for u in _css_urls(attrs.get("style") or "")]
        self._style = tag == "style"

    def handle_endtag(self, tag):
        self._style = False

    def handle_data(self, data):
        if self._style:
            self.urls += [("style", u) for u in _css_urls(data)]


def _css_urls(css: str) -> list[str]:
    return [m.strip("'\" ") for m in re.findall(r"url\(([^)]*)\)|@import\s+['\"]([^'\"]+)", css) for m in m if m]


def _network(text: str) -> list:
    return [(tag, url) for tag, url in Loads(text).urls if re.match(r"\s*(?:https?:)?//", url, re.I)]


def test_network_url_finder_finds_them():
    """The oracle below is real: nbgrader's stock template (main's page) loads MathJax from a CDN."""
    page = ('<script src="https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/latest.js"></script>'
            '<link rel="stylesheet" href="//fonts.example.org/a.css"><style>@font-face{src:url("https://f.example/x.woff")}'
            '</style><a href="https://cs231n.github.io/">notes</a>')
    assert [tag for tag, _ in _network(page)] == ["script", "link", "style"]


def test_a_rendered_page_with_maths_loads_nothing_from_the_network(renderer):
    page = renderer(_notebook(new_markdown_cell("$$O = \\left\\lfloor \\frac{W - F + 2P}{S} \\right\\rfloor + 1$$ "
                                                "and [the notes](https://cs231n.github.io/convolutional-networks/)")))
    assert _network(page) == []
    assert [url for tag, url in Loads(page).urls if tag == "script"] == [MATHJAX_SRC]


@pytest.mark.slow
def test_no_feedback_page_loads_anything_from_the_network(course):
    """Every page the tests write: no http(s) script, style, font or image; MathJax is in the page's folder."""
    pages = [p for files in generate_feedback(course, AID).values() for p in files]
    assert len(pages) == 4
    for page in pages:
        text = page.read_text()
        assert _network(text) == [], page
        scripts = [url for tag, url in Loads(text).urls if tag == "script"]
        assert scripts == ([] if "could not be shown" in text else [MATHJAX_SRC]), page
        for url in scripts:
            assert (page.parent / url.split("?")[0]).is_file(), url
            assert (page.parent / "_mathjax" / "config" / "local" / "convlab.js").is_file()
            assert (page.parent / "_mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()


def _summary(text: str) -> list[list[str]]:
    return Table(text, "convlab-summary").rows


@pytest.mark.slow
def test_summary_rows_match_the_gradebook(course):
    """One row per exercise (number, name, earned / possible, status), the earned points the gradebook's."""
    from nbgrader.api import Gradebook

    text = generate_feedback(course, AID)["partial"][0].read_text()
    found = graded_exercises(nbformat.read(course.solutions / AID / NB, as_version=4))
    with Gradebook(course.db_url, "convlab") as gb:
        grades = {g.name: (g.score, g.max_score) for nb in gb.find_submission(AID, "partial").notebooks
                  for g in nb.grades}
        total = gb.find_submission(AID, "partial").score
    want = []
    for ex in found:
        earned, possible = (sum(grades[g][k] for g in ex.grade_ids) for k in (0, 1))
        status = "full marks" if earned == possible else "partly right" if earned else "no points"
        want.append([f"Exercise {ex.number}", ex.title, f"{earned:g} / {possible:g}", status])
    rows = _summary(text)
    assert rows[0] == ["exercise", "what", "points", "status"]
    assert [[r[0], r[1].split(" | ")[0], r[2], r[3]] for r in rows[1:]] == want, rows
    assert [r[3] for r in want] == ["full marks", "no points", "full marks"], "the fixture loses exercise 2"
    assert f"f1_toy: {total:g} / 10 points" in Audit(text).visible


@pytest.mark.slow
def test_partial_page_reads_top_to_bottom(course):
    """Exercises by name (no "Test cell" list), the failed cases with their inputs, what to try, no raw
    ``Out[n]:`` of the hidden cell, and never "Nothing unusual happened" for lost points."""
    text = generate_feedback(course, AID)["partial"][0].read_text()
    visible = " ".join(Audit(text).visible.split())
    assert "Test cell" not in visible and "Nothing unusual happened" not in visible
    assert "Out[" not in visible, "the hidden cell's score is shown in words, not as a raw result"
    assert "Exercise 2: ReLU and its gradient, hidden tests:" in visible
    cases = Table(text.split('id="result-relu_hidden"')[1], "convlab-cases").rows
    assert cases[0] == ["case", "inputs", "what happened"] and len(cases) > 1
    assert all(re.fullmatch(r"\d+", r[0]) and r[1].startswith("x: float64 (") and r[2] for r in cases[1:]), cases
    assert "What to try" in visible and HINTS["value"].split(":")[0] in visible
    assert visible.index("Grader's notes") < visible.index("f1_toy: a tiny assignment"), "summary first"
    honest = " ".join(Audit(generate_feedback(course, AID)["honest"][0].read_text()).visible.split())
    assert notes_items([], 10, 10)[0] in honest and "What to try" not in honest


def test_lost_points_never_read_as_nothing_unusual():
    full, partial, zero = notes_items([], 10, 10), notes_items([], 4.5, 10), notes_items([], 0, 10)
    assert partial == zero != full and all("unusual" not in n.lower() for n in full + partial)
    assert "passed" in full[0] and "failed" in partial[0]
    assert notes_items(["the kernel died"], 4, 10) == ["the kernel died"]


def test_a_note_naming_an_earlier_exercise_links_to_it():
    """Item 7: a later exercise that could not be judged on its own names the one that broke it."""
    rows = [ExerciseRow(GradedExercise(1, 4, "`conv_forward`", "", ("fwd_hidden",)), 0, 4),
            ExerciseRow(GradedExercise(2, 6, "<b>back</b>", "", ("bwd_hidden",)), 0, 6)]
    page = summary_html("a9", rows, ["Exercise 2 could not be judged: it calls Exercise 1, which fails <x>",
                                     "Exercise 7 is not on this page"], 0, 10)
    assert '<a href="#result-fwd_hidden">Exercise 1</a>, which fails &lt;x&gt;' in page
    assert '<a href="#result-bwd_hidden">Exercise 2</a> could not' in page and "&lt;b&gt;back&lt;/b&gt;" in page
    assert "<li>Exercise 7 is not on this page</li>" in page
    assert Table(page, "convlab-summary").rows[1:] == [["Exercise 1", "conv_forward", "0 / 4", "no points"],
                                                       ["Exercise 2", "<b>back</b>", "0 / 6", "no points"]]
    entry = {"checks": [{"name": "bwd", "passed": 0, "total": 1, "fraction": 0.0, "failures": [
        "case 0 (x: float64 (2, 3)): not judged: it needs Exercise 1's answer, which fails"]}]}
    block = result_html(rows[1].exercise, "bwd_hidden", entry, 0, 6, {1: "result-fwd_hidden"})
    assert 'it needs <a href="#result-fwd_hidden">Exercise 1</a>&#x27;s answer' in block


@pytest.mark.parametrize("message, kind", [
    ("raised NotImplementedError: ", "todo"),
    ("expected ValueError to be raised, but raised NotImplementedError: ", "todo"),
    ("expected ValueError to be raised, but returned 4", "must_raise"),
    ("expected ValueError to be raised, but raised TypeError: bad", "must_raise"),
    ("raised IndexError: index 7 is out of bounds", "raised"),
    ("raised autograder.NoAnswer: no answer was recorded for this case (the cell did not run this far)",
     "no_answer"),
    ("raised KeyboardInterrupt: ", "timeout"),
    ("shape (2, 4, 3, 4), expected (2, 4, 4, 5)", "shape"),
    ("returned 2 values, expected 3", "shape"),
    ("dtype int64 (int), expected float values", "dtype"),
    ("100% of values differ; largest difference 19 at index (0, 3, 0, 6)", "value"),
    ("element 0: 77% of values differ; largest difference 3.1", "value"),
    ("your code reaches a withheld library function (import, cell 4 line 2); this exercise asks for your "
     "own implementation", "withheld"),
])
def test_each_failure_kind_gets_its_own_hint(message, kind):
    assert failure_kind(message) == kind
    assert HINTS[kind]


def _hidden_cell(score, points=10):
    return new_code_cell("# Hidden tests for this question run here when your notebook is graded.",
                         execution_count=14, metadata={"nbgrader": {
                             "grade": True, "solution": False, "locked": True, "grade_id": "q_hidden",
                             "points": points, "score": score}},
                         outputs=[new_output("stream", name="stdout", text="hidden check q: 3 of 9 cases pass\n"),
                                  new_output("execute_result", execution_count=14,
                                             data={"text/plain": "11.818182"})])


def test_hidden_cell_shows_its_result_not_a_raw_out_prompt(renderer):
    audit = Audit(renderer(_notebook(_hidden_cell(11.818182, 30))))
    text = " ".join(audit.visible.split())
    assert "Out[" not in text and "11.818182" not in text
    assert "hidden tests: 11.82 / 30 points (partly right)" in text


def test_markdown_tables_get_cell_padding(renderer):
    """bootstrap's reset leaves table cells unpadded and nbgrader's page lacks the notebook's table
    styles: the header "exercise | function" read "exercisefunction"."""
    page = renderer(_notebook(new_markdown_cell("| exercise | function |\n|---|---|\n| 1 | `f` |")))
    styles = " ".join(text for _, text in Audit(page).styles)
    rule = re.search(r"\.rendered_html th[^{]*\{([^}]*)\}", styles)
    assert rule and re.search(r"padding:\s*[0-9.]+em\s+[0-9.]+em", rule.group(1)), "no padding for markdown tables"
