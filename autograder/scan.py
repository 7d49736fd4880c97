"""Trusted static scan of a submission's own code (the cells a student may edit).

Finds uses of withheld library functions (imports of the name, attribute access, the name in a
string for ``getattr``), functions copied from the library's implementation of them (normalised AST
similarity: names renamed, docstrings and strings dropped), and constructs worth an instructor's look
(tampering with IPython, ``numpy`` or the grader). Pure: takes sources, returns findings.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass

from autograder.cells import nbgrader_meta

__all__ = ["Finding", "scan_withheld", "scan_suspicious", "scan_copied", "similarity", "student_sources",
           "COPY_THRESHOLD"]

#: Similarity (0..1) of normalised function bodies from which a student's function is flagged as
#: copied from the library. Honest solutions of assignments 1-4 stay below 0.7; a renamed copy is 1.
COPY_THRESHOLD = 0.85
_MIN_TOKENS = 60  # shorter functions (a one-line formula) look alike however they were written

_SUSPICIOUS = [
    (re.compile(r"get_ipython|ast_transformers|input_transformers|set_custom_exc|showtraceback"),
     "changes IPython's behaviour"),
    (re.compile(r"\bnp\.\w+\s*=[^=]|\bnumpy\.\w+\s*=[^=]|setattr\(\s*(np|numpy)\b"), "assigns into numpy"),
    (re.compile(r"__closure__|__wrapped__|cell_contents|importlib|sys\.modules|__import__"),
     "digs into modules or functions"),
    (re.compile(r"CONVLAB_GRADING_DIR|autograder|run_hidden|gradebook"), "refers to the grader"),
    (re.compile(r"os\._exit|\bsys\.exit|\bexit\(|quit\(|signal\.|ctypes|socket"), "exits or uses the system"),
]


@dataclass(frozen=True)
class Finding:
    cell: str        # grade_id or cell index of the student's cell
    line: int
    what: str


def student_sources(nb) -> list[tuple[str, str]]:
    """``(cell name, source)`` of every code cell a student may edit (not locked by nbgrader)."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        locked = meta.get("locked", False) or (meta.get("grade", False) and not meta.get("solution", False))
        if not locked or meta.get("solution", False):
            out.append((meta.get("grade_id") or f"cell {index}", cell.source))
    return out


def _parse(source: str):
    # IPython magics and shell escapes are not Python: blank those lines, keep the numbering.
    lines = ["" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _names(text: str, name: str) -> bool:
    """True when the string constant ``text`` spells the function ``name`` as an identifier."""
    text = text.strip()
    return text == name or text.endswith("." + name) and text.replace(".", "").replace("_", "").isalnum()


def scan_withheld(sources, withheld) -> dict[str, list[Finding]]:
    """For each withheld dotted name, where the student's code reaches the library's function.

    Flagged: ``from <module> import <name>`` (also ``*`` from that module), ``anything.<name>``,
    and a string constant that *is* the name (``"<name>"`` or ``"<module>.<name>"``, as ``getattr`` and
    ``importlib`` need it). Prose that merely mentions the name (``print("im2col ok")``, a docstring)
    is not flagged; dynamic spellings are left to the in-kernel guards. A bare ``<name>`` is the student's own function
    (the exercise asks them to write it) and is not flagged.
    """
    found: dict[str, list[Finding]] = {d: [] for d in withheld}
    for cell, source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            for dotted in withheld:
                module, _, name = dotted.rpartition(".")
                hit = None
                if isinstance(node, ast.ImportFrom) and node.module and (
                        node.module == module or module.startswith(node.module + ".")
                        or node.module.startswith(module.split(".")[0])):
                    if any(a.name in (name, "*") for a in node.names):
                        hit = f"imports {name} from {node.module}"
                elif isinstance(node, ast.Import) and any(a.name == dotted for a in node.names):
                    hit = f"imports {dotted}"
                elif isinstance(node, ast.Attribute) and node.attr == name:
                    hit = f"uses .{name}"
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) and _names(node.value, name):
                    hit = f"names {name!r} in a string"
                if hit:
                    found[dotted].append(Finding(cell, getattr(node, "lineno", 0), hit))
    return {d: f for d, f in found.items() if f}


def scan_suspicious(sources) -> list[Finding]:
    """Lines an instructor may want to read (reported, never penalised by themselves)."""
    findings = []
    for cell, source in sources:
        for lineno, line in enumerate(source.splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in _SUSPICIOUS:
                if pattern.search(code):
                    findings.append(Finding(cell, lineno, what))
    return findings


class _Normalise(ast.NodeTransformer):
    """Names become ``v0, v1, ...`` in order of first use; strings become one token."""

    def __init__(self):
        self.names: dict[str, str] = {}

    def _name(self, name: str) -> str:
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_arg(self, node):
        node.arg, node.annotation = self._name(node.arg), None
        return node

    def visit_Name(self, node):
        node.id = self._name(node.id)
        return node

    def visit_Constant(self, node):
        if isinstance(node.value, str):
            node.value = "S"
        return node


def _tokens(function: ast.FunctionDef) -> list[str]:
    """The function's body as a sequence of node kinds, normalised names, attributes and numbers."""
    copy = ast.parse(ast.unparse(function)).body[0]
    body = copy.body[1:] if ast.get_docstring(copy) else copy.body
    copy.body, copy.name, copy.returns, copy.decorator_list = body or [ast.Pass()], "f", None, []
    out = []
    for node in ast.walk(_Normalise().visit(copy)):
        out.append(type(node).__name__)
        out += [str(getattr(node, f)) for f in ("id", "arg", "attr") if hasattr(node, f)]
        if isinstance(node, ast.Constant):
            out.append(repr(node.value))
    return out


def similarity(a: ast.FunctionDef, b: ast.FunctionDef) -> float:
    """How alike two functions are once renamed and stripped of docstrings and strings (0 to 1)."""
    return difflib.SequenceMatcher(None, _tokens(a), _tokens(b), autojunk=False).ratio()


def scan_copied(sources, references: dict[str, str], threshold: float = COPY_THRESHOLD) -> list[Finding]:
    """Student functions that closely match the library's implementation of a withheld function.

    ``references`` maps dotted names to the source of the library's function. Reported to the
    instructor (a flag), never scored by itself. Each function is tokenised once, and a pair whose
    cheap upper bound (``SequenceMatcher.quick_ratio``) is under ``threshold`` is not compared in full:
    the findings are those of :func:`similarity` on every pair, at a fraction of the cost.
    """
    matchers = {}  # dotted name -> a SequenceMatcher holding the library function as its indexed side
    for dotted, text in references.items():
        tree = _parse(text)
        functions = [n for n in (tree.body if tree else []) if isinstance(n, ast.FunctionDef)]
        if functions:
            matchers[dotted] = difflib.SequenceMatcher(None, b=_tokens(functions[0]), autojunk=False)
    findings = []
    for cell, source in sources:
        tree = _parse(source)
        for node in (n for n in (tree.body if tree else []) if isinstance(n, ast.FunctionDef)):
            tokens = _tokens(node)
            if len(tokens) < _MIN_TOKENS:
                continue
            scored = []
            for dotted, matcher in matchers.items():
                matcher.set_seq1(tokens)
                if matcher.real_quick_ratio() >= threshold and matcher.quick_ratio() >= threshold:
                    scored.append((matcher.ratio(), dotted))
            best, dotted = max(scored, default=(0.0, ""))
            if best >= threshold:
                findings.append(Finding(cell, node.lineno, f"{node.name} closely matches the library's {dotted} "
                                                            f"({best:.0%} alike once renamed)"))
    return findings
