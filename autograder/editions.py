"""Editions: one source notebook, a release per language (English, Simplified Chinese).

The English text of a cell is its source, as always; another edition's text of the same cell lives in
the cell's metadata, under ``translations`` (:data:`TRANSLATIONS`), keyed by edition:

- a markdown cell: ``{"zh": "<the whole cell in Chinese>"}`` (a string, or its lines as a list, as
  nbformat stores a source: a diff then shows one changed line);
- a code cell: ``{"zh": [["<English snippet>", "<Chinese snippet>"], ...]}``: each English snippet must
  occur in the cell (as released: solution code replaced by the stub) and every occurrence is replaced.
  Snippets may only change prose: docstrings, comments, assert messages, what ``print`` and a raised
  error say, and plot or widget labels (:func:`code_skeleton` defines it; :func:`edition_notebook`
  refuses anything else).

:func:`edition_notebook` makes an edition from the source or from nbgrader's English release: it applies
the translations (a cell without one keeps its English text), removes every ``translations`` entry, and
stamps the notebook with ``metadata.convlab.edition`` (English is the default and is not stamped).
Code, cell ids, nbgrader metadata and cell order stay as they are, so one grader grades both editions;
the edition only decides the language of the feedback page (:func:`notebook_edition`).
"""

from __future__ import annotations

import ast
import copy
import hashlib

__all__ = ["EDITIONS", "DEFAULT", "TRANSLATIONS", "EDITION_FILES", "TranslationError", "notebook_edition", "edition_notebook",
           "translate_cell", "code_skeleton", "missing_translations", "stale_translations", "stamp_translations",
           "TRANSLATED_FROM", "release_folder_name"]

#: Every edition the release writes; the first is the source's own language.
EDITIONS = ("en", "zh")
DEFAULT = EDITIONS[0]
#: The cell metadata key holding the other editions' text.
TRANSLATIONS = "translations"
#: The cell metadata key recording, per edition, the digest of the English text a markdown translation was
#: written from (:func:`stamp_translations`): an English cell edited since shows as stale.
TRANSLATED_FROM = "translated_from"
_STAMP = "convlab"  # notebook metadata: {"edition": "zh"}
#: Files an edition's release folders carry besides the notebooks. Matplotlib reads ``matplotlibrc``
#: from the kernel's working folder (the notebook's), and falls back font by font along ``font.family``:
#: so the Chinese edition's plot titles take their CJK glyphs from Noto Sans CJK SC (Debian's
#: fonts-noto-cjk, installed by ``make browserdeps``; a free download elsewhere), with no code cell
#: differing between the editions.
EDITION_FILES = {
    "zh": {"matplotlibrc": "# ConvLab, Chinese edition: Chinese text in plots from Noto Sans CJK SC\n"
                           "font.family: sans-serif, Noto Sans CJK SC\n"},
}

# Where a code cell's strings are prose (see code_skeleton): calls whose arguments are text for a reader,
# and keyword arguments that label a plot or a widget.
_PROSE_CALLS = {"print", "set_title", "set_xlabel", "set_ylabel", "suptitle", "title", "xlabel", "ylabel"}
_PROSE_KEYWORDS = {"title", "titles", "label", "labels", "description", "xlabel", "ylabel"}


class TranslationError(ValueError):
    """A translation that cannot be applied, or that would change more than prose."""


def release_folder_name(edition: str) -> str:
    """The release folder of ``edition`` at the course root: ``assignments``, ``assignments-zh``."""
    if edition not in EDITIONS:
        raise TranslationError(f"unknown edition {edition!r}; known: {', '.join(EDITIONS)}")
    return "assignments" if edition == DEFAULT else f"assignments-{edition}"


def notebook_edition(nb) -> str:
    """The edition a notebook was released in (its stamp; the default for none or an unknown one)."""
    stamp = nb.get("metadata", {}).get(_STAMP, {})
    edition = stamp.get("edition") if isinstance(stamp, dict) else None
    return edition if edition in EDITIONS else DEFAULT


def _python(source: str) -> str:
    """A cell's source as plain Python (IPython's ``%magics`` turned into calls)."""
    from IPython.core.inputtransformer2 import TransformerManager  # noqa: PLC0415 - heavy, only when used

    return TransformerManager().transform_cell(source)


class _BlankProse(ast.NodeTransformer):
    """Replace every string in a prose position by ``"…"``; keep the expressions inside f-strings
    (sorted, so a translation may reorder them) and everything else as it is."""

    def _blank(self, node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return ast.Constant("…")
        if isinstance(node, ast.JoinedStr):
            values = sorted((v.value for v in node.values if isinstance(v, ast.FormattedValue)), key=ast.dump)
            return ast.Tuple([ast.Constant("f…"), *values], ast.Load())
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):  # "a" + "b", "%s" % x
            node.left, node.right = self._blank(node.left), self._blank(node.right)
        return node

    def _docstring(self, node):
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body[0].value = ast.Constant("…")

    def visit_Module(self, node):
        self._docstring(node)
        return self.generic_visit(node)

    def visit_FunctionDef(self, node):
        self._docstring(node)
        return self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Assert(self, node):
        self.generic_visit(node)
        if node.msg is not None:
            node.msg = self._blank(node.msg)
        return node

    def visit_Raise(self, node):
        self.generic_visit(node)
        if isinstance(node.exc, ast.Call):
            node.exc.args = [self._blank(a) for a in node.exc.args]
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if name in _PROSE_CALLS:
            node.args = [self._blank(a) for a in node.args]
        for kw in node.keywords:
            if kw.arg in _PROSE_KEYWORDS:
                kw.value = self._blank_deep(kw.value)
        return node

    def _blank_deep(self, node):
        """Labels may be a list or a comprehension of (f-)strings: blank the strings anywhere in it."""
        if isinstance(node, (ast.Constant, ast.JoinedStr)):
            return self._blank(node)
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                setattr(node, field, [self._blank_deep(v) if isinstance(v, ast.AST) else v for v in value])
            elif isinstance(value, ast.AST):
                setattr(node, field, self._blank_deep(value))
        return node


def code_skeleton(source: str) -> str:
    """What must be identical between two editions of a code cell: its syntax tree with comments and the
    strings in prose positions (docstrings, assert messages, ``print`` and raised-error arguments, plot
    and widget labels) blanked. Two editions of a cell differ only in prose iff their skeletons match."""
    return ast.dump(_BlankProse().visit(ast.parse(_python(source))))


def translate_cell(cell, edition: str, where: str = "cell"):
    """A copy of ``cell`` in ``edition`` (its English text when it has no translation), without any
    ``translations`` entry. Raises :class:`TranslationError` for a snippet that is not in the cell or a
    translation that changes more than prose (``where`` names the cell in the message)."""
    out = copy.deepcopy(cell)
    out.get("metadata", {}).pop(TRANSLATED_FROM, None)
    text = out.get("metadata", {}).pop(TRANSLATIONS, {}).get(edition)
    if edition == DEFAULT or text is None:
        return out
    if out.cell_type == "markdown":
        if isinstance(text, list) and all(isinstance(line, str) for line in text):
            text = "".join(text)  # stored as lines, as nbformat stores a source: diffs stay readable
        if not isinstance(text, str):
            raise TranslationError(f"{where}: a markdown cell's translation is its whole text, a string or lines")
        out.source = text
        return out
    if out.cell_type != "code" or not isinstance(text, list):
        raise TranslationError(f"{where}: a code cell's translation is a list of [English, {edition}] pairs")
    source = out.source
    for pair in text:
        english, translated = pair
        if english not in source:
            raise TranslationError(f"{where}: the snippet {english[:60]!r} is not in the cell")
        source = source.replace(english, translated)
    if code_skeleton(source) != code_skeleton(out.source):
        raise TranslationError(f"{where}: the {edition} translation changes code, not only prose")
    out.source = source
    return out


def edition_notebook(nb, edition: str):
    """A copy of ``nb`` in ``edition``: every cell translated (:func:`translate_cell`), no
    ``translations`` left, stamped with the edition unless it is the default."""
    if edition not in EDITIONS:
        raise TranslationError(f"unknown edition {edition!r}; known: {', '.join(EDITIONS)}")
    out = copy.deepcopy(nb)
    out.cells = [translate_cell(c, edition, f"cell {i} ({c.get('id', 'no id')})") for i, c in enumerate(nb.cells)]
    out.metadata.pop(_STAMP, None)
    if edition != DEFAULT:
        out.metadata[_STAMP] = {"edition": edition}
    return out


def missing_translations(nb, edition: str) -> list[str]:
    """One line per student-facing markdown cell without a translation into ``edition``:
    ``cell 12 (id 43b59fe87ce9): ## 3. A filter spans the whole depth``."""
    missing = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and cell.source.strip() \
                and edition not in cell.get("metadata", {}).get(TRANSLATIONS, {}):
            first = cell.source.strip().splitlines()[0][:70]
            missing.append(f"cell {i} (id {cell.get('id', '?')}): {first}")
    return missing


def _english_digest(cell) -> str:
    return hashlib.sha256(cell.source.encode("utf-8")).hexdigest()[:16]


def stamp_translations(nb, edition: str) -> int:
    """Record, on every markdown cell translated into ``edition``, the digest of its English text now
    (what a translator runs after writing or checking a translation); returns how many were stamped."""
    count = 0
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if cell.cell_type == "markdown" and edition in meta.get(TRANSLATIONS, {}):
            meta.setdefault(TRANSLATED_FROM, {})[edition] = _english_digest(cell)
            count += 1
    return count


def stale_translations(nb, edition: str) -> list[str]:
    """One line per markdown cell whose ``edition`` text was written from other English than the cell
    holds now (or was never stamped): ``cell 3 (id 46e8dbf22ea6): | # | notebook | ...``."""
    stale = []
    for i, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {})
        if cell.cell_type == "markdown" and edition in meta.get(TRANSLATIONS, {}) \
                and meta.get(TRANSLATED_FROM, {}).get(edition) != _english_digest(cell):
            first = cell.source.strip().splitlines()[0][:70] if cell.source.strip() else ""
            stale.append(f"cell {i} (id {cell.get('id', '?')}): {first}")
    return stale
