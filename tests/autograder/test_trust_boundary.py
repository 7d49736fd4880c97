"""The trust boundary is a folder: ``autograder/kernel/`` runs in the sandbox, the rest judges outside.

- importing the kernel package in a fresh interpreter loads none of nbgrader, traitlets, the trusted
  checks or the grader's other modules;
- kernel modules import only the standard library, NumPy, IPython/ipykernel and each other (the one
  exception: ``run_hidden`` outside the grader hands over to ``autograder.local``, a module the
  sandbox's build of the package does not hold);
- grader modules use the kernel package only through its protocol module.
"""

import ast
import json
import subprocess
import sys
from pathlib import Path

import autograder

PACKAGE = Path(autograder.__file__).resolve().parent
KERNEL = PACKAGE / "kernel"
_STDLIB = set(sys.stdlib_module_names)
_KERNEL_MAY_IMPORT = {"numpy", "IPython", "ipykernel", "autograder"}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_importing_the_kernel_package_loads_nothing_of_the_grader():
    code = ("import json, sys\nimport autograder.kernel, autograder.kernel.protocol, autograder.kernel.harness, "
            "autograder.kernel.boot\nprint(json.dumps(sorted(sys.modules)))")
    loaded = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                       check=True).stdout)
    forbidden = [m for m in loaded if m.split(".")[0] in ("nbgrader", "traitlets", "nbformat", "nbclient",
                                                         "jupyter_client", "sqlalchemy")
                 or (m.startswith("autograder.") and not m.startswith("autograder.kernel"))]
    assert forbidden == [], f"the kernel package pulls in grader code: {forbidden}"


def test_kernel_modules_import_only_what_the_sandbox_holds():
    for path in sorted(KERNEL.glob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top in _STDLIB or top in _KERNEL_MAY_IMPORT, f"{path.name} imports {name}"
            if top == "autograder" and (path.name, name) != ("harness.py", "autograder.local"):
                assert name.startswith("autograder.kernel"), f"{path.name} imports {name}"


def test_grader_modules_reach_the_kernel_only_through_the_protocol():
    for path in sorted(PACKAGE.glob("*.py")):
        for name in _imports(path):
            if name.startswith("autograder.kernel"):
                assert name == "autograder.kernel.protocol", f"{path.name} imports {name}"
