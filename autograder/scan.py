"""Trusted static scan of a submission's own code (the cells a student may edit).

Finds uses of withheld library functions that bypass the in-kernel guards (imports of the name,
attribute access, the name in a string for ``getattr``) and constructs worth an instructor's look
(tampering with IPython, ``numpy`` or the grader). Pure: takes sources, returns findings.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from autograder.cells import nbgrader_meta

__all__ = ["Finding", "scan_withheld", "scan_suspicious", "student_sources"]

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
