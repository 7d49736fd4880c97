"""Feedback pages show a submission's content, never its live markup.

A graded notebook is the student's document: its outputs may be HTML, SVG, JavaScript or widgets,
its markdown may hold raw HTML and ``javascript:`` links, and its attachments and metadata reach the
page through nbconvert's templates. Two pieces, both named in nbgrader's config
(:mod:`autograder.pipeline`, ``nbgrader_config.py``):

- :class:`SanitizeFeedback`, nbconvert's ``SanitizeHTML`` preprocessor with feedback allowlists,
  plus what it misses: an output keeps only ``text/plain``, ``image/png``, ``image/jpeg`` (base64),
  ``text/latex`` (escaped by the template) and ``text/markdown`` (cleaned when rendered), and each
  removed type leaves a visible note (``[HTML output removed from feedback]``); output metadata
  keeps only numeric image sizes and alt text (the template writes ``width`` unquoted); attachments
  keep only PNG/JPEG/GIF data (an attachment left with none becomes a blank image); notebook and
  cell metadata keep only what the template needs, checked; the notebook's name is escaped (the
  template writes it raw); raw cells are cleaned as ``SanitizeHTML`` does.
- :class:`FeedbackHTMLExporter`, nbconvert's ``HTMLExporter`` whose markdown rendering (markdown
  cells, ``text/markdown`` outputs, grader comments) passes the resulting HTML through the same
  allowlist. Cleaning the rendered HTML rather than the markdown source (what ``SanitizeHTML``
  does with markdown cells) is deliberate: bleach on markdown source does not see markdown links
  (``[x](javascript:...)`` stays live: nbconvert's mistune renderer allows every URL scheme) and it
  escapes ``<``, ``>`` and ``&`` in code spans, blockquotes and math, which honest students would
  then read as ``&lt;``.

:mod:`autograder.page_check` checks every written page afterwards.
"""

from __future__ import annotations

import html
import re

import bleach
import jinja2
import nbformat
from bleach.css_sanitizer import CSSSanitizer
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Any, Bool, Instance, List, Set, Unicode, default

from autograder.feedback_text import localize_labels
from autograder.page_check import unsafe_url

__all__ = ["SanitizeFeedback", "FeedbackHTMLExporter", "allowed_attribute", "removed_note",
           "ALLOWED_TAGS", "ALLOWED_ATTRIBUTES", "ALLOWED_STYLES", "SAFE_OUTPUT_TYPES"]

SAFE_OUTPUT_TYPES = frozenset({"text/plain", "image/png", "image/jpeg", "text/latex", "text/markdown"})
# What rendered markdown needs: text structure, tables, images, and pygments' highlighted code.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details",
    "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul", "var",
})
ALLOWED_ATTRIBUTES = {
    "*": {"title", "style"},
    "a": {"href", "class"},                     # class: nbconvert's heading anchor link
    "img": {"src", "alt", "width", "height"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan"},
    **{tag: {"class"} for tag in ("code", "pre", "span", "div")},  # pygments and mistune code blocks
    **{f"h{n}": {"id"} for n in range(1, 7)},                     # nbconvert's heading anchors
}
ALLOWED_STYLES = ["text-align", "vertical-align", "color", "background-color", "font-weight",
                  "font-style", "text-decoration"]
_RASTER_DATA_URL = re.compile(r"data:image/(?:png|jpeg|gif);base64,[a-z0-9+/=]*$")
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
_GRADE_ID = re.compile(r"[A-Za-z0-9_\-]+")
_NAME = re.compile(r"[A-Za-z0-9_+\-]{1,40}")
_FILES_PREFIX = re.compile(r"^(?:/?files/)+")
# 1x1 transparent PNG: what an attachment becomes when none of its types may be shown (dropping it
# would make nbconvert fail on the markdown that names it, and the whole page with it)
_BLANK_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAAC0lEQVR4nGNgAAIAAAUAAXpeqz8AAAAASUVORK5CYII="
_NOTES = {"text/html": "HTML output", "image/svg+xml": "SVG image", "application/javascript": "JavaScript output",
          "application/vnd.jupyter.widget-view+json": "widget"}


def allowed_attribute(tag: str, name: str, value: str) -> bool:
    """bleach's attribute filter: allowlisted names, and URLs that cannot run or navigate to code.

    ``href``/``src`` are judged after removing any leading ``files/`` (the template's
    ``strip_files_prefix`` runs after this filter); ``data:`` URLs are allowed only as raster ``img``
    sources (embedded attachments).
    """
    if name not in ALLOWED_ATTRIBUTES["*"] and name not in ALLOWED_ATTRIBUTES.get(tag, ()):
        return False
    if name not in ("href", "src"):
        return True
    url = _FILES_PREFIX.sub("", re.sub(r"[\x00-\x20\x7f]+", "", value).lower())
    if url.startswith("data:"):
        return tag == "img" and bool(_RASTER_DATA_URL.match(url))
    return not unsafe_url(url)


def removed_note(mime: str) -> str:
    """The visible line that replaces an output type feedback does not show."""
    what = _NOTES.get(mime, f"{mime[:60]} output")
    return f"[{what} removed from feedback]"


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _clean_output_metadata(metadata) -> dict:
    """Per image type: numeric ``width``/``height``, boolean ``unconfined``, string ``alt``; nothing else."""
    clean = {}
    for mime in ("image/png", "image/jpeg"):
        meta = metadata.get(mime) if isinstance(metadata, dict) else None
        if not isinstance(meta, dict):
            continue
        kept = {k: meta[k] for k in ("width", "height") if _number(meta.get(k))}
        if isinstance(meta.get("unconfined"), bool):
            kept["unconfined"] = meta["unconfined"]
        if isinstance(meta.get("alt"), str):
            kept["alt"] = meta["alt"]
        if kept:
            clean[mime] = kept
    return clean


def _count(value):
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class SanitizeFeedback(SanitizeHTML):
    """``SanitizeHTML`` with the feedback allowlists, plus outputs' notes, metadata and attachments.

    Enabled by default: nbconvert's preprocessors are off unless enabled, and nbgrader registers
    the chain's classes without enabling them (stock ``SanitizeHTML`` in the chain would do nothing).
    """

    enabled = Bool(True, help="Run this preprocessor (nbgrader registers it without enabling it)").tag(config=True)

    safe_output_keys = Set(default_value=set(SAFE_OUTPUT_TYPES),
                           help="Output types shown as they are (text/latex is escaped by the template, "
                                "text/markdown is cleaned when rendered)").tag(config=True)
    sanitized_output_types = Set(default_value=set(), help="Output types cleaned with bleach").tag(config=True)
    tags = List(Unicode(), default_value=sorted(ALLOWED_TAGS), help="HTML tags kept").tag(config=True)
    attributes = Any(default_value=allowed_attribute, help="bleach attribute filter").tag(config=True)
    styles = List(Unicode(), default_value=ALLOWED_STYLES, help="CSS properties kept in style=").tag(config=True)
    protocols = List(Unicode(), default_value=["http", "https", "mailto", "data"],
                     help="URL schemes bleach lets through (data: is narrowed by the attribute filter)"
                     ).tag(config=True)
    strip = Bool(False, help="Escape (show) unsafe markup rather than drop it").tag(config=True)
    strip_comments = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        """Clean the notebook's metadata and name, then every cell."""
        info = nb.metadata.get("language_info")
        language = info.get("name") if isinstance(info, dict) else None
        keep = isinstance(language, str) and _NAME.fullmatch(language)
        nb.metadata = nbformat.from_dict({"language_info": {"name": language}} if keep else {})
        grading = resources.get("nbgrader")
        if isinstance(grading, dict) and "notebook" in grading:
            grading["notebook"] = html.escape(str(grading["notebook"]))
        for index, cell in enumerate(nb.cells):
            nb.cells[index], resources = self.preprocess_cell(cell, resources, index)
        return nb, resources

    def preprocess_cell(self, cell, resources, cell_index):
        """Outputs and attachments narrowed, raw cells cleaned, metadata reduced to what is checked."""
        cell.metadata = nbformat.from_dict(self._clean_cell_metadata(cell.get("metadata", {}), cell_index))
        if cell.cell_type == "code":
            cell.execution_count = _count(cell.get("execution_count"))
            cell.outputs = self.sanitize_code_outputs(cell.get("outputs", []))
        elif cell.cell_type == "markdown":
            if "attachments" in cell:
                cell.attachments = self._clean_attachments(cell.attachments)
        else:  # raw (or unknown) cells: only their cleaned text
            cell.source = self.sanitize_html_tags(str(cell.get("source", "")))
            cell.pop("attachments", None)
        return cell, resources

    def sanitize_code_outputs(self, outputs):
        """``SanitizeHTML``'s filtering, then a visible note per removed type and clean metadata."""
        shown = self.safe_output_keys | self.sanitized_output_types
        for output in outputs:
            kind = output.get("output_type")
            if kind not in ("display_data", "execute_result"):
                continue  # stream and error text is escaped by the template
            data = output.setdefault("data", nbformat.NotebookNode())
            removed = [key for key in data if key not in shown
                       or key.startswith("image/") and not _BASE64.fullmatch(str(data[key]))]
            super().sanitize_code_outputs([output])
            for key in removed:
                data.pop(key, None)
            if removed:
                notes = "\n".join(dict.fromkeys(removed_note(m) for m in removed))
                plain = data.get("text/plain")
                data["text/plain"] = f"{''.join(plain) if plain else ''}\n{notes}".lstrip("\n")
            output["metadata"] = nbformat.from_dict(_clean_output_metadata(output.get("metadata", {})))
            if kind == "execute_result":
                output["execution_count"] = _count(output.get("execution_count"))
        return outputs

    def sanitize_html_tags(self, html_str):
        """``SanitizeHTML.sanitize_html_tags`` with the URL schemes it does not pass to bleach."""
        return bleach.clean(html_str, tags=set(self.tags), attributes=self.attributes, protocols=set(self.protocols),
                            strip=self.strip, strip_comments=self.strip_comments,
                            css_sanitizer=CSSSanitizer(allowed_css_properties=self.styles))

    @staticmethod
    def _clean_attachments(attachments) -> dict:
        clean = {}
        for name, bundle in (attachments or {}).items():
            images = {m: d for m, d in (bundle or {}).items()
                      if m in ("image/png", "image/jpeg", "image/gif") and isinstance(d, str) and _BASE64.fullmatch(d)}
            clean[str(name)] = images or {"image/png": _BLANK_PNG}
        return clean

    @staticmethod
    def _clean_cell_metadata(metadata, index: int) -> dict:
        clean = {}
        tags = metadata.get("tags")
        if isinstance(tags, list):
            clean["tags"] = [t for t in tags if isinstance(t, str)]
        grading = metadata.get("nbgrader")
        if isinstance(grading, dict):
            grading = dict(grading)
            if not _GRADE_ID.fullmatch(str(grading.get("grade_id", ""))):
                grading["grade_id"] = f"cell-{index}"
            if "comment" in grading and not isinstance(grading["comment"], str):
                grading["comment"] = None
            clean["nbgrader"] = grading
        return clean


class FeedbackHTMLExporter(HTMLExporter):
    """``HTMLExporter`` for feedback: markdown's HTML goes through :class:`SanitizeFeedback`'s allowlist.

    ``sanitize_html`` defaults to on, so nbconvert's own templates never emit JavaScript or widget
    outputs and clean (with the same allowlist) any HTML output that reaches them.
    """

    sanitize_html = Bool(True, help="nbconvert's own HTML sanitising of outputs").tag(config=True)
    cleaner = Instance(SanitizeFeedback, help="Whose allowlist cleans markdown's HTML")

    @default("cleaner")
    def _default_cleaner(self):
        return SanitizeFeedback(parent=self)

    def default_filters(self):
        """nbconvert's filters, with ``clean_html`` using the feedback allowlist (nbconvert's own
        escapes ``<p>`` and ``<img>``, which would garble a cleaned markdown output)."""
        yield from super().default_filters()
        yield ("clean_html", lambda text: self.cleaner.sanitize_html_tags(str(text)))

    def from_notebook_node(self, nb, resources=None, **kw):
        """The page, with nbgrader's template labels in the notebook's edition (``FeedbackSummary`` puts
        it in ``resources["convlab"]``; :func:`autograder.feedback_text.localize_labels`)."""
        page, resources = super().from_notebook_node(nb, resources, **kw)
        return localize_labels(page, (resources or {}).get("convlab", {}).get("edition", "en")), resources

    @jinja2.pass_context
    def markdown2html(self, context, source):
        """nbconvert's markdown rendering (attachments, math, anchors), then the allowlist."""
        return self.cleaner.sanitize_html_tags(super().markdown2html(context, source))
