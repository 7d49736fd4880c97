"""Which cells may carry ``skip-when-graded``: a tag must never change what grading computes.

The grader does not run a cell tagged ``skip-when-graded`` (:data:`autograder.cells.SKIP_TAG`).
That is safe only for a cell that earns nothing and leaves nothing a later cell reads.
:func:`skip_problems` checks, from the source notebook's code alone (parsed with :mod:`ast` after
IPython's own transformation of magics), that every tagged cell:

- is no nbgrader cell: not a grade, solution or visible-test cell (those earn points or are the
  student's feedback);
- runs no line magic other than ``%time``/``%timeit`` and the autoreload extension's
  (``%load_ext autoreload``, ``%autoreload``): ``%matplotlib``, ``%env``, ``%cd`` and the like change the
  kernel for later cells. Autoreload changes a later cell only when a module's file changes between
  two cells, and a graded kernel's modules are a read-only build, so leaving it out changes nothing
  graded; on the other hand it re-checks every loaded module before each cell (about half a second
  of a graded a1 notebook);
- touches no name that a later cell run when graded reads. A cell *touches* every module-level name it
  binds (assignments, ``del``, imports, ``def``, ``class``, loop and ``with`` targets, ``:=``,
  ``global`` in its functions) and every *data* name it reads at all, since a method call, an argument
  or an alias may change the object behind it. Data names are those some cell of the notebook binds
  other than by ``import``, ``def`` or ``class``; reading a module, a function, a class or a builtin
  changes nothing. A later cell reads a name when its code loads it anywhere (function bodies
  included) or names it inside a magic's text (``%timeit f(x)``).

What it cannot see: state kept inside imported libraries (NumPy's legacy global random generator,
matplotlib's current figure) and files a cell writes. The grading of each honest solution (no error
output in its graded copy, full marks: ``tests/notebooks/test_notebook_grading.py``) covers those.
"""

from __future__ import annotations

import ast
import re
import symtable

from autograder.cells import is_skipped, nbgrader_meta

__all__ = ["skip_problems", "touched_names", "read_names", "bound_names", "data_names", "stale_reads"]

_HARMLESS_MAGICS = {"time", "timeit", "autoreload"}
_HARMLESS_EXTENSIONS = {"autoreload"}  # %load_ext of these is harmless too (see the module docstring)
_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*")
_MAGIC_CALLS = {"run_line_magic", "run_cell_magic"}


def _parse(source: str) -> ast.Module:
    """The cell as Python, magics turned into ``get_ipython()`` calls (raises ``SyntaxError``)."""
    from IPython.core.inputtransformer2 import TransformerManager  # noqa: PLC0415 - only where used

    return ast.parse(TransformerManager().transform_cell(source))


def _magic_calls(tree: ast.AST):
    """``(name, [text arguments])`` of every ``get_ipython().run_*_magic(...)`` call in ``tree``."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MAGIC_CALLS and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            yield node.args[0].value.lstrip("%"), [a.value for a in node.args[1:]
                                                  if isinstance(a, ast.Constant) and isinstance(a.value, str)]


def _tables(table: symtable.SymbolTable):
    """``table`` and every table nested in it (functions, classes, comprehensions, lambdas)."""
    yield table
    for child in table.get_children():
        yield from _tables(child)


def _python(source: str) -> str:
    """The cell as plain Python (raises ``SyntaxError``)."""
    return ast.unparse(_parse(source))


def _bound(code: str) -> set[str]:
    top = symtable.symtable(code, "<cell>", "exec")
    names = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    for table in _tables(top):
        if table is not top:
            names.update(s.get_name() for s in table.get_symbols() if s.is_declared_global() and s.is_assigned())
    return names


def _reads(code: str) -> set[str]:
    top = symtable.symtable(code, "<cell>", "exec")
    names = set()
    for table in _tables(top):
        names.update(s.get_name() for s in table.get_symbols()
                     if s.is_referenced() and (table is top or s.is_global()))
    for _, texts in _magic_calls(ast.parse(code)):
        for text in texts:
            names.update(_IDENTIFIER_RE.findall(text))
    return names


def bound_names(source: str) -> set[str]:
    """Every name the cell binds in the notebook's namespace: at module level (assignments, ``del``,
    imports, ``def``, ``class``, loop and ``with`` targets, ``:=``) and through ``global`` in its functions."""
    return _bound(_python(source))


def read_names(source: str) -> set[str]:
    """Every name of the notebook's namespace the cell reads: at module level, as a global inside its
    functions, classes, lambdas and comprehensions, or as an identifier in a magic's text."""
    return _reads(_python(source))


_REBINDS = (ast.Assign, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _code(statements) -> str:
    return ast.unparse(ast.Module(body=list(statements), type_ignores=[]))


def stale_reads(source: str, live: set[str]) -> set[str]:
    """The names of ``live`` the cell reads before it binds them anew; ``live`` loses the names the
    cell binds anew unconditionally (a top-level assignment, import, ``def`` or ``class``: later cells
    read the new object). A loop's body may read its own targets (they are bound before it runs)."""
    stale = set()
    for statement in _parse(source).body:
        if isinstance(statement, (ast.For, ast.AsyncFor)):
            targets = {n.id for n in ast.walk(statement.target) if isinstance(n, ast.Name)}
            reads = (_reads(ast.unparse(statement.iter)) | _reads(_code(statement.orelse))
                     | (_reads(_code(statement.body)) - targets))
        else:
            reads = _reads(_code([statement]))
        stale |= reads & live
        if isinstance(statement, _REBINDS) or (isinstance(statement, ast.AnnAssign) and statement.value is not None):
            live -= _bound(_code([statement]))
    return stale


def touched_names(source: str, data: frozenset[str] = frozenset()) -> set[str]:
    """Every name the cell binds, and every name of ``data`` (the notebook's data names,
    :func:`data_names`) it reads: it may change those objects."""
    return bound_names(source) | (read_names(source) & data)


def _definitions(tree: ast.Module) -> set[str]:
    """Names bound by ``import``, ``def`` or ``class`` anywhere in ``tree``."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
    return names


def _other_bindings(tree: ast.Module) -> set[str]:
    """Names bound any other way anywhere in ``tree`` (targets, ``:=``, ``except ... as``, ``match``)."""
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    names.update(n.name for n in ast.walk(tree) if isinstance(n, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar))
                 and n.name)
    names.update(n.rest for n in ast.walk(tree) if isinstance(n, ast.MatchMapping) and n.rest)
    return names


def data_names(nb) -> frozenset[str]:
    """Names the notebook binds other than only by ``import``, ``def`` or ``class`` (unparsable cells
    are left out here; :func:`skip_problems` reports them)."""
    bound, definitions, others = set(), set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            bound |= bound_names(cell.source)
            tree = _parse(cell.source)
        except SyntaxError:
            continue
        definitions |= _definitions(tree)
        others |= _other_bindings(tree)
    return frozenset(bound - (definitions - others))


def skip_problems(nb, name: str = "notebook") -> list[str]:
    """Why a ``skip-when-graded`` tag of ``nb`` could change grading (empty: every tag is safe)."""
    problems = []
    data = data_names(nb)
    cells = list(enumerate(nb.cells))
    for index, cell in cells:
        if not is_skipped(cell):
            continue
        meta = nbgrader_meta(cell)
        if meta.get("grade") or meta.get("solution") or meta.get("grade_id"):
            problems.append(f"{name} cell {index}: an nbgrader cell ({meta.get('grade_id')}) cannot be skipped")
            continue
        try:
            tree = _parse(cell.source)
            touched = touched_names(cell.source, data)
        except SyntaxError as exc:
            problems.append(f"{name} cell {index}: cannot be parsed ({exc.msg})")
            continue
        for magic, args in _magic_calls(tree):
            if magic not in _HARMLESS_MAGICS and not (magic == "load_ext" and set(" ".join(args).split())
                                                      <= _HARMLESS_EXTENSIONS):
                problems.append(f"{name} cell {index}: runs %{magic}, which changes the kernel for later cells")
        live = set(touched)
        for later, other in cells[index + 1:]:
            if other.cell_type != "code" or is_skipped(other):
                continue
            try:
                shared = stale_reads(other.source, live)
            except SyntaxError:
                problems.append(f"{name} cell {later}: cannot be parsed, so skipping cell {index} is unproven")
                continue
            if shared:
                problems.append(f"{name} cell {index} is skipped when graded but cell {later} reads "
                                f"{', '.join(sorted(shared))}, which it binds or may change")
    return problems
