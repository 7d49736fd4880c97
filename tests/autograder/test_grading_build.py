"""The grading build: the library a graded notebook sees has no reference for what it withholds.

Checked in a fresh interpreter with the build first on the path (as the sandbox mounts it): every
withheld function refuses however it is reached (re-export, defining module, a module that bound
it at import, reload, exec of its source file, gc, unwrap), its body is nowhere in the build, the
grader's trusted code is absent, and no other library function answers a hidden check.
"""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from autograder.course import Course  # noqa: E402
from autograder.checks import (case_kinds, check_rng, draw_cases, judge, load_checks, reference_outcomes,
                               withheld_names)
from autograder.grading_build import (exclusive_helpers, grading_build, strip_functions, withheld_targets)
from autograder.kernel.protocol import read_answer_message, write_inputs
from autograder.sandbox import package_dir

REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
AIDS = [aid for aid in Course(REPO).assignment_ids() if Course(REPO).checks_file(aid).is_file()]


def _withheld(aid):
    return withheld_names(load_checks(REPO / "solutions" / aid / "checks.py"))


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    cache = tmp_path_factory.mktemp("builds")
    return {aid: grading_build(aid, _withheld(aid), cache) for aid in AIDS}


def _run(build, code, *args):
    env = {**os.environ, "PYTHONPATH": str(build.root), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, "-P", "-c", code, *args], capture_output=True, text=True, env=env,
                          timeout=300, cwd=build.root)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_targets_resolve_reexports_and_reject_non_functions():
    (t,) = withheld_targets(["convlab.layers.conv_forward_naive"])
    assert (t.module, t.qualname, t.path) == ("convlab.layers.conv_naive", "conv_forward_naive",
                                              "layers/conv_naive.py")
    with pytest.raises(ValueError, match="not a function"):
        withheld_targets(["convlab.layers.NaiveConvCache"])


def test_private_helpers_only_withheld_code_uses_are_withheld_too():
    lib = package_dir("convlab")
    naive = withheld_targets(["convlab.layers.conv_forward_naive", "convlab.layers.conv_backward_naive"])
    assert [h.qualname for h in exclusive_helpers(lib, naive)] == ["_window"]
    # _check_int serves every shape formula: withholding one of them must not take it away
    assert exclusive_helpers(lib, withheld_targets(["convlab.shapes.conv_output_size"])) == []


def test_withholding_conv_forward_withholds_its_winograd_path():
    """conv_forward runs F(2x2, 3x3) for some layers; that code is private to it and goes with it."""
    conv = withheld_targets(["convlab.layers.conv_forward", "convlab.layers.conv_backward"])
    stripped = {h.dotted for h in exclusive_helpers(package_dir("convlab"), conv)}
    winograd = {f"convlab.layers.winograd.{name}" for name in (
        "_winograd_forward", "_winograd_backward", "_filter_transform", "_input_transform", "_output_transform",
        "_filter_transform_adjoint", "_input_transform_adjoint", "_output_transform_adjoint")}
    assert winograd <= stripped


def test_a_helper_imported_by_another_module_goes_with_the_functions_it_serves():
    """_fill_columns/_add_columns (im2col.py) build the columns for im2col, col2im and conv.py's layer: a
    module-level import is not a use, so withholding all of their callers strips them, and withholding
    only some keeps them for the rest."""
    lib = package_dir("convlab")
    columns = {"convlab.layers.im2col._fill_columns", "convlab.layers.im2col._add_columns"}
    everything = withheld_targets(["convlab.layers.im2col", "convlab.layers.col2im", "convlab.layers.conv_forward",
                                   "convlab.layers.conv_backward"])
    assert columns <= {h.dotted for h in exclusive_helpers(lib, everything)}
    im2col_only = withheld_targets(["convlab.layers.im2col", "convlab.layers.col2im"])
    assert not columns & {h.dotted for h in exclusive_helpers(lib, im2col_only)}  # conv_forward still needs them


def test_the_column_helpers_refuse_in_the_im2col_build(builds):
    """a3 withholds im2col: the helper that fills the columns must not be callable under another name."""
    out = _run(builds["a3_im2col"], (
        "import numpy as np\n"
        "from convlab.layers import im2col as _\n"
        "import importlib\n"
        "m = importlib.import_module('convlab.layers.im2col')\n"
        "for name in ('_fill_columns', '_add_columns'):\n"
        "    try:\n"
        "        getattr(m, name)(np.zeros((1, 1, 1, 1, 1, 1)), np.zeros((1, 1, 1, 1)), (1, 1), (0, 0), (1, 1))\n"
        "    except PermissionError as exc:\n"
        "        print(name, type(exc).__name__)\n"))
    assert out.split("\n")[:2] == ["_fill_columns WithheldFunctionError", "_add_columns WithheldFunctionError"]


def test_strip_replaces_bodies_and_keeps_every_other_byte():
    source = (
        "import os\n\n\n"
        "def keep(a):\n    return a  # untouched\n\n\n"
        "@staticmethod\ndef gone(a, *, b=2):\n    \"\"\"Doc stays.\"\"\"\n    x = a + b\n    return x\n\n\n"
        "class K:\n    def method(self):\n        return 1\n\n    def other(self):\n        return 2\n\n\n"
        "def one_liner(a): return a * 2\n"
    )
    out = strip_functions(source, {"gone": "m.gone", "K.method": "m.K.method", "one_liner": "m.one_liner"})
    assert "x = a + b" not in out and "return 1\n" not in out and "a * 2" not in out
    assert '    """Doc stays."""\n    from convlab._withheld import refuse; refuse(\'m.gone\')\n' in out
    assert "def keep(a):\n    return a  # untouched\n" in out and "def other(self):\n        return 2\n" in out
    assert "def one_liner(a): from convlab._withheld import refuse; refuse('m.one_liner')\n" in out
    with pytest.raises(ValueError, match="no function"):
        strip_functions(source, {"missing": "m.missing"})


@pytest.mark.parametrize("aid", AIDS)
def test_the_reference_is_not_in_the_build(aid, builds):
    build = builds[aid]
    lib = package_dir("convlab")
    targets = withheld_targets(_withheld(aid))
    assert targets, f"{aid} withholds nothing"
    texts = "\n".join(p.read_text() for p in (build.root / "convlab").rglob("*.py"))
    originals = "\n".join(p.read_text() for p in lib.rglob("*.py"))
    for t in targets + exclusive_helpers(lib, targets):
        original = (lib / t.path).read_text()
        node = next(n for n in ast.walk(ast.parse(original)) if getattr(n, "name", None) == t.qualname.split(".")[-1])
        body = node.body[1:] if ast.get_docstring(node) else node.body
        lines = [ln.strip() for stmt in body for ln in ast.get_source_segment(original, stmt).splitlines()]
        distinctive = [ln for ln in lines if len(ln) >= 16 and not ln.startswith("#") and originals.count(ln) == 1]
        assert distinctive or len(lines) <= 2, f"{t.dotted}: nothing distinctive to look for"
        leaked = [ln for ln in distinctive if ln in texts]
        assert not leaked, f"{aid}: {t.dotted}'s body is still in the build: {leaked[:3]}"
    grader = sorted(str(p.relative_to(build.root / "autograder")) for p in (build.root / "autograder").rglob("*.py"))
    assert grader == ["__init__.py", "hints.py", "kernel/__init__.py", "kernel/boot.py", "kernel/harness.py",
                      "kernel/protocol.py", "kernel/stand_in.py"], "only the kernel package of the grader is in the build"


def test_a_hint_left_in_a_cell_runs_in_the_build_and_reads_nothing(builds):
    build = builds[AIDS[0]]
    source = (build.root / "autograder" / "hints.py").read_text()
    assert "import" not in source and "open(" not in source  # no file, no module: nothing to reach from here
    out = _run(build, "from autograder.hints import hint\nhint(2)\nhint(2, all_taken=True)")
    assert out == "hint(2): hints are not shown while the notebook is graded\n" * 2


_ATTACKS = r'''
import gc, importlib, inspect, sys, types
import convlab, convlab.layers, convlab.shapes
names = sys.argv[1:]

def blank_args(fn):
    sig = inspect.signature(fn)
    return {n: None for n, p in sig.parameters.items()
            if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}

def refuses(fn):
    try:
        fn(**blank_args(fn))
    except PermissionError as exc:
        return type(exc).__name__ == "WithheldFunctionError"
    except Exception:
        return False
    return False

report = {}
for dotted in names:
    module_name, _, attr = dotted.rpartition(".")
    fn = getattr(importlib.import_module(module_name), attr)
    home = importlib.import_module(fn.__module__)
    routes = {"attribute": fn, "defining module": getattr(home, attr), "unwrap": inspect.unwrap(fn)}
    routes["reload"] = getattr(importlib.reload(home), attr)
    scope = {"__name__": "copy_of_" + home.__name__.replace(".", "_"), "__package__": home.__package__}
    exec(compile(open(home.__file__).read(), home.__file__, "exec"), scope)
    routes["exec of the source file"] = scope[attr]
    for i, obj in enumerate(o for o in gc.get_objects() if isinstance(o, types.FunctionType) and o.__name__ == attr):
        routes[f"gc object {i}"] = obj
    for mod in list(sys.modules.values()):
        bound = getattr(mod, attr, None) if isinstance(mod, types.ModuleType) and mod.__name__.startswith("convlab") else None
        if inspect.isfunction(bound):
            routes[f"bound in {mod.__name__}"] = bound
    report[dotted] = {route: refuses(f) for route, f in routes.items()}
import json
print(json.dumps(report))
'''


@pytest.mark.parametrize("aid", AIDS)
def test_every_route_to_a_withheld_function_refuses(aid, builds):
    report = json.loads(_run(builds[aid], _ATTACKS, *_withheld(aid)))
    assert set(report) == set(_withheld(aid))
    open_routes = {(d, route) for d, routes in report.items() for route, refused in routes.items() if not refused}
    assert not open_routes, f"{aid}: withheld functions reachable: {sorted(open_routes)}"
    assert all(len(routes) >= 5 for routes in report.values()), report


@pytest.mark.parametrize("aid", AIDS)
def test_no_library_function_answers_a_hidden_check(aid, builds, tmp_path):
    """Every public function whose parameters match a check's case entries, called on fresh cases
    in the build, fails at least one value case of that check: the library cannot do the exercise."""
    checks = {c.name: c for c in load_checks(REPO / "solutions" / aid / "checks.py")}
    state = {}
    for name, check in checks.items():
        cases = draw_cases(check, check_rng(99, name))
        refs = reference_outcomes(check, cases)
        state[name] = (cases, refs, case_kinds(check, cases, refs, 99))
        write_inputs(tmp_path, aid, name, cases)
    out = _run(builds[aid], (FIXTURES / "library_probe.py").read_text(), str(tmp_path), aid, *checks)
    answering = []
    probed = 0
    for line in out.splitlines():
        row = json.loads(line)
        cases, refs, kinds = state[row["check"]]
        answers = [read_answer_message(doc, aid, {row["check"]: len(cases)}, 2**26)[2] for doc in row["answers"]]
        results = judge(checks[row["check"]], cases, answers, refs)
        probed += 1
        if all(r.passed for r, kind in zip(results, kinds) if kind != "raise"):
            answering.append(f"{row['function']} ({row['variant']}) answers {row['check']}")
    assert probed > 0, "the probe found no function to try"
    assert not answering, f"{aid}: library functions answer hidden checks: {answering}"
