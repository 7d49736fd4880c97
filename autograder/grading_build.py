"""The grading build: the course's packages as a graded notebook sees them.

A student must never get an exercise's answer from the library function that computes it. Rather
than guarding that function inside the student's process (where any guard can be unwrapped,
reloaded or walked to), the grader mounts, over the installed packages, a *build* in which:

- every function an assignment withholds, and every private helper only those functions use, has
  its body replaced by a call raising ``WithheldFunctionError`` (signature and docstring kept, so a
  traceback still reads well). No import, reload, file read, bytecode or object walk inside the
  sandbox can find the reference: it is not there;
- the ``autograder`` package holds only ``autograder/kernel/`` (the code that must run inside the
  kernel); the trusted checks, the grader and ``checks.py`` are not there either. One stand-in joins
  it: ``autograder.hints``, whose ``hint()`` only says that hints are not shown while grading, so a
  ``from autograder.hints import hint`` a learner left in an answer cell does not break that cell.

:func:`grading_build` makes (once, cached by content) the build of one assignment and returns its
folders; :func:`withheld_targets` resolves the dotted names of ``Check.withhold``.
"""

from __future__ import annotations

import ast
import compileall
import hashlib
import importlib
import inspect
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Target", "GradingBuild", "default_builds_dir", "library_sources", "withheld_targets", "exclusive_helpers", "strip_functions", "grading_build",
           "REFUSAL_MODULE"]

#: Module added to the library build; ``refuse(name)`` raises ``WithheldFunctionError``.
REFUSAL_MODULE = "_withheld"
_REFUSAL_SOURCE = '''"""Written by the grader: in this copy of the library some functions are withheld.

The assignment being graded asks you to write them yourself; here they only raise.
"""

ASSIGNMENT = {aid!r}
WITHHELD = {names!r}


class WithheldFunctionError(PermissionError):
    """A library function the graded exercise asks you to write yourself."""


def refuse(name):
    raise WithheldFunctionError(
        f"{{name}} is not available while {{ASSIGNMENT}} is graded: the exercise asks for your own implementation")
'''
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".ipynb_checkpoints")


@dataclass(frozen=True)
class Target:
    """One function to strip: ``qualname`` in the module file ``path`` (relative to the package)."""

    dotted: str       # as written in checks.py, e.g. convlab.layers.conv_forward_naive
    module: str       # defining module, e.g. convlab.layers.conv_naive
    qualname: str     # e.g. conv_forward_naive
    path: str         # e.g. layers/conv_naive.py


@dataclass(frozen=True)
class GradingBuild:
    """Folders of one build: ``packages`` maps the installed package folder to its stand-in."""

    root: Path
    packages: dict


def withheld_targets(names, package: str = "convlab") -> list[Target]:
    """Resolve dotted names (re-exports included) to the functions that define them.

    ``ValueError`` for a name that is not a function of ``package``.
    """
    pkg_dir = Path(importlib.import_module(package).__file__).resolve().parent
    targets = {}
    for dotted in sorted(set(names)):
        module_name, _, attr = dotted.rpartition(".")
        obj = getattr(importlib.import_module(module_name), attr, None)
        obj = inspect.unwrap(obj) if callable(obj) else obj
        if not inspect.isfunction(obj):
            raise ValueError(f"withheld name {dotted!r} is not a function")
        path = Path(inspect.getsourcefile(obj)).resolve()
        if pkg_dir not in path.parents:
            raise ValueError(f"withheld name {dotted!r} is defined outside {package} ({path})")
        targets[(obj.__module__, obj.__qualname__)] = Target(dotted, obj.__module__, obj.__qualname__,
                                                            str(path.relative_to(pkg_dir)))
    return list(targets.values())


def library_sources(names) -> dict[str, str]:
    """``{dotted name: source of the library's function}`` for withheld names (to spot copies)."""
    lib = Path(importlib.import_module("convlab").__file__).resolve().parent
    found = {}
    for t in withheld_targets(names):
        text = (lib / t.path).read_text()
        node = _find_def(ast.parse(text), t.qualname)
        found[t.dotted] = ast.get_source_segment(text, node)
    return found


def _module_functions(tree) -> dict[str, ast.AST]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _names_used(node) -> set[str]:
    used = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            used.add(sub.id)
        elif isinstance(sub, ast.Attribute):
            used.add(sub.attr)
        elif isinstance(sub, ast.alias):
            used.add(sub.name.rpartition(".")[2])
    return used


def exclusive_helpers(pkg_dir: Path, targets: list[Target]) -> list[Target]:
    """Private module-level functions used only by withheld functions (directly or through others).

    A helper such as ``_window`` in the naive convolution computes part of the answer; withholding
    the public function alone would leave it callable. Name-based and conservative: any other use
    of the name anywhere in the package keeps the helper. A module-level import is not a use (what it
    binds is the stripped function itself), so a helper in one module may serve withheld functions of
    another: ``_fill_columns`` in ``im2col.py`` goes when ``im2col`` and ``conv_forward`` both go.
    """
    trees = {p.relative_to(pkg_dir).as_posix(): ast.parse(p.read_text()) for p in sorted(pkg_dir.rglob("*.py"))}
    users: dict[str, set] = {}  # name -> {(path, top-level function or None)}
    for path, tree in trees.items():
        for node in tree.body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            owner = node.name if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
            for name in _names_used(node):
                users.setdefault(name, set()).add((path, owner))
    stripped = {(t.path, t.qualname) for t in targets}
    found = []
    changed = True
    while changed:
        changed = False
        for path, tree in trees.items():
            for name, node in _module_functions(tree).items():
                if not name.startswith("_") or (path, name) in stripped:
                    continue
                who = users.get(name, set()) - {(path, name)}
                if who and all(owner is not None and (p, owner) in stripped for p, owner in who):
                    stripped.add((path, name))
                    module = "convlab." + path.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
                    found.append(Target(f"{module}.{name}", module, name, path))
                    changed = True
    return found


def _find_def(tree, qualname: str):
    nodes = tree.body
    found = None
    for part in qualname.split("."):
        found = next((n for n in nodes if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and n.name == part), None)
        if found is None:
            return None
        nodes = found.body
    return found


def strip_functions(source: str, qualnames: dict[str, str]) -> str:
    """``source`` with the body of each function in ``qualnames`` (qualname -> dotted name) replaced.

    The docstring and every other line stay as they are; the body becomes one statement calling
    ``convlab._withheld.refuse(dotted name)``.
    """
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    spans = []
    for qualname, dotted in qualnames.items():
        node = _find_def(tree, qualname)
        if node is None or isinstance(node, ast.ClassDef):
            raise ValueError(f"no function {qualname} to withhold")
        body = node.body
        if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            body = body[1:]
        spans.append((body[0].lineno, body[0].col_offset, node.end_lineno, node.end_col_offset, dotted))
    for start, col, end, end_col, dotted in sorted(spans, reverse=True):
        head = lines[start - 1][:col]
        tail = lines[end - 1][end_col:]
        statement = f"from convlab.{REFUSAL_MODULE} import refuse; refuse({dotted!r})"
        lines[start - 1:end] = [head + statement + (tail if tail.strip() else "\n")]
    text = "".join(lines)
    ast.parse(text)  # the rewrite must stay valid Python
    return text


#: ``autograder/hints.py`` in the build: the learner's hint helper, showing and recording nothing.
_HINTS_STAND_IN = '''"""The hint helper as a graded notebook sees it: no ladders, no record, no files."""


def hint(exercise, *, notebook=None, all_taken=False):
    """Show nothing: hints are for learning, and a hint(N) left in a cell must not break its grading."""
    print(f"hint({exercise}): hints are not shown while the notebook is graded")
'''


def _digest(aid: str, names, folders) -> str:
    h = hashlib.sha256(repr((aid, sorted(names), _HINTS_STAND_IN)).encode())
    for folder in folders:
        for path in sorted(Path(folder).rglob("*.py")):
            if "__pycache__" not in path.parts:
                h.update(str(path.relative_to(folder)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def default_builds_dir() -> Path:
    """A cache of grading builds for runs outside a course (tests, ``score_locally``)."""
    return Path(tempfile.gettempdir()) / f"convlab-builds-{os.geteuid()}"


def grading_build(aid: str, withheld, cache_dir) -> GradingBuild:
    """The build for assignment ``aid`` withholding ``withheld`` (dotted names), made once per content.

    ``cache_dir`` holds builds (``<cache_dir>/<aid>-<digest>/``); a build is written to a temporary
    folder and renamed into place, so concurrent graders never see half a build.
    """
    from autograder.sandbox import package_dir  # noqa: PLC0415 - avoid an import cycle at load time

    lib, grader = package_dir("convlab"), package_dir("autograder")
    digest = _digest(aid, withheld, [lib, grader / "kernel"])
    root = Path(cache_dir) / f"{aid}-{digest}"
    build = GradingBuild(root, {str(lib): str(root / "convlab"), str(grader): str(root / "autograder")})
    if root.is_dir():
        return build
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{aid}-", dir=cache_dir))
    try:
        shutil.copytree(lib, tmp / "convlab", ignore=_SKIP)
        targets = withheld_targets(withheld)
        targets += exclusive_helpers(lib, targets)
        by_file: dict[str, dict] = {}
        for t in targets:
            by_file.setdefault(t.path, {})[t.qualname] = t.dotted
        for rel, qualnames in by_file.items():
            path = tmp / "convlab" / rel
            path.write_text(strip_functions(path.read_text(), qualnames))
        (tmp / "convlab" / f"{REFUSAL_MODULE}.py").write_text(
            _REFUSAL_SOURCE.format(aid=aid, names=tuple(sorted(t.dotted for t in targets))))
        (tmp / "autograder").mkdir()
        shutil.copy(grader / "__init__.py", tmp / "autograder" / "__init__.py")
        shutil.copytree(grader / "kernel", tmp / "autograder" / "kernel", ignore=_SKIP)
        (tmp / "autograder" / "hints.py").write_text(_HINTS_STAND_IN)
        compileall.compile_dir(str(tmp), quiet=1, workers=1)
        for path in [tmp, *tmp.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        os.replace(tmp, root)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not root.is_dir():
            raise
    except Exception:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return build
