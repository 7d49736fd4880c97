"""environment.yml (conda) and pyproject.toml (pip) must list the same dependencies and constraints."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names that differ from the PyPI names (none needed yet; add pairs here when they are)
CONDA_TO_PYPI: dict[str, str] = {}
CONDA_ONLY = {"python", "pip"}


def normalise(name: str) -> str:
    """PEP 503 normalised project name: lower case, runs of ``-_.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def conda_spec(entry: str) -> tuple[str, SpecifierSet]:
    """Parse a conda match spec (``numpy>=1.26``, ``nbgrader=0.9.6``, ``tqdm 4.66.*``) as (name, specifiers).

    conda's single ``=`` pin is read as pip's ``==`` on the same version.
    """
    entry = entry.strip()
    match = re.fullmatch(r"([A-Za-z0-9_.\-]+)\s*(.*)", entry)
    if match is None:
        raise ValueError(f"cannot parse conda dependency {entry!r}")
    name, constraint = match.group(1), match.group(2).replace(" ", "")
    parts = []
    for part in filter(None, constraint.split(",")):
        if re.match(r"^=[^=]", part):
            part = "=" + part  # conda '=X' -> pip '==X'
        elif re.match(r"^[0-9]", part):
            part = "==" + part  # bare version ('tqdm 4.66.*')
        parts.append(part)
    name = CONDA_TO_PYPI.get(normalise(name), normalise(name))
    return name, SpecifierSet(",".join(parts))


def pip_spec(entry: str) -> tuple[str, SpecifierSet]:
    req = Requirement(entry)
    return normalise(req.name), req.specifier


def conda_dependencies(text: str) -> tuple[dict[str, SpecifierSet], dict[str, SpecifierSet], list[str]]:
    """(packages, conda-only entries such as python, pip-installed lines) of an environment.yml."""
    data = yaml.safe_load(text)
    packages, conda_only, pip_lines = {}, {}, []
    for entry in data.get("dependencies", []):
        if isinstance(entry, dict):
            pip_lines.extend(entry.get("pip", []))
            continue
        name, spec = conda_spec(str(entry))
        if name in packages or name in conda_only:
            raise ValueError(f"environment.yml lists {name!r} twice")
        (conda_only if name in CONDA_ONLY else packages)[name] = spec
    return packages, conda_only, pip_lines


def is_project_line(line: str) -> bool:
    """The pip line that installs the project itself (``-e .``, ``-e .[dev]``, ``.``)."""
    return line.replace(" ", "") in ("-e.", "-e.[dev]", ".")


def pyproject_extra(text: str, extra: str) -> dict[str, SpecifierSet]:
    """The requirements of one optional-dependencies extra of a pyproject.toml."""
    return dict(pip_spec(entry) for entry in tomllib.loads(text)["project"].get("optional-dependencies", {})
                .get(extra, []))


def pip_line_drift(pip_lines: list[str], dev: dict[str, SpecifierSet]) -> list[str]:
    """environment.yml's pip-installed tools that the ``dev`` extra lacks or constrains differently."""
    problems = []
    for line in pip_lines:
        if is_project_line(line):
            continue
        name, spec = pip_spec(line)
        if name not in dev:
            problems.append(f"{name}{spec} is pip-installed by environment.yml but missing from the dev extra")
        elif dev[name] != spec:
            problems.append(f"{name}: environment.yml's pip says '{spec or 'any'}', the dev extra says "
                            f"'{dev[name] or 'any'}'")
    return problems


def pyproject_dependencies(text: str) -> tuple[dict[str, SpecifierSet], SpecifierSet]:
    """(runtime dependencies, requires-python) of a pyproject.toml."""
    project = tomllib.loads(text)["project"]
    deps = {}
    for entry in project.get("dependencies", []):
        name, spec = pip_spec(entry)
        if name in deps:
            raise ValueError(f"pyproject.toml lists {name!r} twice")
        deps[name] = spec
    return deps, SpecifierSet(project.get("requires-python", ""))


def drift(conda: dict[str, SpecifierSet], pip: dict[str, SpecifierSet]) -> list[str]:
    """Human-readable differences between the two dependency lists (empty when in sync)."""
    problems = []
    for name in sorted(set(pip) - set(conda)):
        problems.append(f"{name}{pip[name]} is in pyproject.toml but missing from environment.yml")
    for name in sorted(set(conda) - set(pip)):
        problems.append(f"{name}{conda[name]} is in environment.yml but missing from pyproject.toml")
    for name in sorted(set(conda) & set(pip)):
        if conda[name] != pip[name]:
            problems.append(
                f"{name}: environment.yml says '{conda[name] or 'any'}', pyproject.toml says '{pip[name] or 'any'}'"
            )
    return problems


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_environment_yml_and_pyproject_list_the_same_dependencies():
    conda, _, _ = conda_dependencies(_read("environment.yml"))
    pip, _ = pyproject_dependencies(_read("pyproject.toml"))
    problems = drift(conda, pip)
    assert not problems, "environment.yml and pyproject.toml drifted:\n  " + "\n  ".join(problems)


def test_environment_python_satisfies_requires_python_and_installs_the_project():
    _, conda_only, pip_lines = conda_dependencies(_read("environment.yml"))
    _, requires_python = pyproject_dependencies(_read("pyproject.toml"))
    assert "python" in conda_only, "environment.yml does not pin python"
    pinned = [str(s.version).rstrip(".*") for s in conda_only["python"] if s.operator == "=="]
    assert pinned, f"environment.yml should pin one python version, got {conda_only['python']}"
    assert Version(pinned[0]) in requires_python, (
        f"environment.yml's python {pinned[0]} is outside pyproject's requires-python {requires_python}"
    )
    assert any(is_project_line(line) for line in pip_lines), (
        f"environment.yml should pip-install the project itself ('-e .'), got {pip_lines}"
    )


def test_environment_pip_tools_match_the_dev_extra():
    """Tools environment.yml adds with pip (playwright for the browser tests) are the dev extra's, same constraint."""
    _, _, pip_lines = conda_dependencies(_read("environment.yml"))
    problems = pip_line_drift(pip_lines, pyproject_extra(_read("pyproject.toml"), "dev"))
    assert not problems, "environment.yml's pip section and the dev extra drifted:\n  " + "\n  ".join(problems)


# --- the checker itself catches drift -----------------------------------------------------------

PYPROJECT = """
[project]
name = "x"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26", "scikit_learn>=1.4", "nbgrader==0.9.6", "jupyterlab>=4.6,<4.7"]
"""

ENV = """
name: x
dependencies:
  - python=3.11
  - pip
  - numpy>=1.26
  - scikit-learn>=1.4
  - nbgrader=0.9.6
  - jupyterlab >=4.6,<4.7
  - pip:
      - -e .
"""


def test_checker_accepts_equivalent_spellings():
    conda, conda_only, pip_lines = conda_dependencies(ENV)
    pip, requires = pyproject_dependencies(PYPROJECT)
    assert drift(conda, pip) == []
    assert set(conda_only) == {"python", "pip"} and pip_lines == ["-e ."]
    assert conda["nbgrader"] == SpecifierSet("==0.9.6")
    assert Version("3.11") in requires


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ("numpy>=1.26\n", "numpy>=1.25\n", "numpy: environment.yml says '>=1.25', pyproject.toml says '>=1.26'"),
        ("  - nbgrader=0.9.6\n", "", "nbgrader==0.9.6 is in pyproject.toml but missing from environment.yml"),
        ("  - pip:\n", "  - tqdm>=4.66\n  - pip:\n", "tqdm>=4.66 is in environment.yml but missing from pyproject.toml"),
        ("jupyterlab >=4.6,<4.7", "jupyterlab >=4.6", "jupyterlab: environment.yml says '>=4.6'"),
        ("nbgrader=0.9.6", "nbgrader", "nbgrader: environment.yml says 'any', pyproject.toml says '==0.9.6'"),
    ],
)
def test_checker_reports_drift(old, new, expected):
    assert old in ENV
    conda, _, _ = conda_dependencies(ENV.replace(old, new))
    pip, _ = pyproject_dependencies(PYPROJECT)
    problems = drift(conda, pip)
    assert any(expected in p for p in problems), problems


def test_checker_rejects_duplicates():
    with pytest.raises(ValueError, match="twice"):
        conda_dependencies(ENV + "  - NumPy\n")


@pytest.mark.parametrize(
    "lines, expected",
    [
        (["-e .", "playwright>=1.65"], []),
        (["-e .", "playwright>=1.50"], ["playwright: environment.yml's pip says '>=1.50', the dev extra says '>=1.65'"]),
        (["-e .", "selenium"], ["selenium is pip-installed by environment.yml but missing from the dev extra"]),
    ],
)
def test_checker_compares_pip_tools_with_the_dev_extra(lines, expected):
    dev = pyproject_extra('[project]\noptional-dependencies = {dev = ["playwright>=1.65", "pytest>=8"]}\n', "dev")
    assert pip_line_drift(lines, dev) == expected
