"""Fixtures of the browser tests: a course copy served by JupyterLab, Debian's chromium, the screenshot folder.

- ``lab_course``: a throw-away course folder: the config, ``assignments/`` (a copy of the committed
  release) and ``solved/<aid>/`` (the release folder with the notebook a student who answered
  everything would hand in: ``autograder.testing.make_submission`` of the solution), and
  ``solved-zh/a1_volumes/``, the same for the Chinese edition of a1;
- ``lab_server``: ``jupyter lab`` serving it (``lab_server.LabServer``), stopped at the end;
- ``chromium``: one headless browser; ``lab_context``: its context for Lab, in which every request that
  does not go to the Lab server is aborted; ``lab_page``: a new page per test; after the test every
  kernel is shut down;
- ``shots``: ``out/browser/`` (git-ignored: the CI artefacts), emptied once per test run.

The fixtures are per session and so per xdist worker. The tests carry ``xdist_group("browser")`` so
``--dist loadgroup`` keeps them on one worker once pytest-xdist applies groups again: with pytest 9
and pytest-xdist 3.8 it does not (pytest-xdist issue 1386), and each worker that draws a browser
test starts its own Lab server and chromium (a few seconds).
"""

from __future__ import annotations

import fcntl
import os
import shutil
from pathlib import Path

import pytest

import nbformat

from autograder.editions import edition_notebook
from autograder.testing import make_submission
from tests.notebooks.notebook_support import RELEASE, ROOT, assignment_ids, solution_notebook

from .lab_page import launch_chromium, offline
from .lab_server import LabServer

SHOTS = ROOT / "out" / "browser"
_IGNORE = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")


@pytest.fixture(scope="session")
def lab_course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("lab-course")
    shutil.copy(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    shutil.copytree(RELEASE, root / "assignments", ignore=_IGNORE)
    for aid in assignment_ids():
        solved = root / "solved" / aid
        shutil.copytree(RELEASE / aid, solved, ignore=_IGNORE)
        make_submission(solution_notebook(aid), None, solved / f"{aid}.ipynb")
    # the Chinese edition of a1, solved: what a student of that edition hands in
    solved_zh = root / "solved-zh" / "a1_volumes"
    shutil.copytree(ROOT / "assignments-zh" / "a1_volumes", solved_zh, ignore=_IGNORE)
    chinese = edition_notebook(nbformat.read(solution_notebook("a1_volumes"), as_version=4), "zh")
    nbformat.write(chinese, solved_zh / "solution-zh.ipynb")
    make_submission(solved_zh / "solution-zh.ipynb", None, solved_zh / "a1_volumes.ipynb")
    (solved_zh / "solution-zh.ipynb").unlink()
    return root


@pytest.fixture(scope="session")
def lab_server(lab_course, tmp_path_factory):
    """The Lab students get: with the course's own Jupyter configuration, ``lab-config/``, when it has one."""
    config = [ROOT / "lab-config"] if (ROOT / "lab-config").is_dir() else []
    with LabServer(lab_course, tmp_path_factory.mktemp("lab-state"), config_path=config) as server:
        yield server


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only the browser tests need it

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def lab_context(chromium, lab_server):
    """One browser context per session (Lab's scripts are cached across tests); only the Lab server is reachable."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    offline(context, allowed_prefix=lab_server.base)
    yield context
    context.close()


@pytest.fixture
def lab_page(lab_context, lab_server):
    page = lab_context.new_page()
    yield page
    page.close()
    lab_server.shut_down_kernels()


@pytest.fixture(scope="session")
def shots(request) -> Path:
    """``out/browser/``, emptied of the PNGs of earlier runs by the first worker of this run to get here."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    run = getattr(request.config, "workerinput", {}).get("testrunuid") or f"pid-{os.getpid()}"
    with open(SHOTS / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = SHOTS / ".run"
        if not marker.is_file() or marker.read_text() != run:
            for old in SHOTS.glob("*.png"):
                old.unlink()
            marker.write_text(run)
    return SHOTS
