"""Hidden cases: one secret per assignment, drawn once and kept; one seed per notebook derived from it.

With a fresh seed per run, a partly wrong answer could pass one run and fail the next (a regrade, or
the rest of a run resumed after a crash); with one set of cases for everyone, answers hard-coded for
the failed cases a feedback page lists would pass a resubmission. Wrong versions kept below (a fresh
seed per run, one seed for every notebook) show the checks can fail.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import stat
import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, new_fixture_course  # noqa: E402

from autograder import pool, seeds, trusted  # noqa: E402
from autograder.grading import GradeOptions, grade_all  # noqa: E402
from autograder.pipeline import configure_course  # noqa: E402
from autograder.scan import student_sources  # noqa: E402
from autograder.seeds import assignment_seed, notebook_seed  # noqa: E402
from autograder.testing import make_submission  # noqa: E402


def test_the_seed_is_drawn_once_kept_privately_and_drawn_again_when_deleted(tmp_path):
    folder = tmp_path / "work" / "seeds"
    first = assignment_seed(folder, "a1_volumes")
    assert isinstance(first, int) and 0 <= first < 2**63
    assert assignment_seed(folder, "a1_volumes") == first
    assert assignment_seed(folder, "a2_naive_conv") != first  # one per assignment
    path = folder / "a1_volumes.seed"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == ["a1_volumes.seed", "a2_naive_conv.seed"]  # no drafts left
    path.unlink()
    assert assignment_seed(folder, "a1_volumes") != first


def test_a_damaged_or_linked_seed_file_is_refused(tmp_path):
    (tmp_path / "a1.seed").write_text("not a number")
    with pytest.raises(ValueError, match="delete it"):
        assignment_seed(tmp_path, "a1")
    (tmp_path / "elsewhere").write_text("42\n")
    (tmp_path / "a2.seed").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(OSError):
        assignment_seed(tmp_path, "a2")
    for aid in ("", "../a1", ".hidden"):
        with pytest.raises(ValueError, match="not an assignment id"):
            assignment_seed(tmp_path, aid)


def _seed_in(folder):
    return assignment_seed(folder, "a1")


def test_runs_starting_together_agree_on_one_seed(tmp_path):
    with multiprocessing.get_context("fork").Pool(6) as pool:
        found = pool.map(_seed_in, [tmp_path] * 24)
    assert len(set(found)) == 1 and found[0] == assignment_seed(tmp_path, "a1")


class _Stop(Exception):
    pass


def _seeds_of_two_runs(course, monkeypatch) -> list[int]:
    """The seed each of two ``grade`` runs hands its workers (stopped right there)."""
    used = []

    def record(course, aid, options, *rest):
        used.append(options.seed)
        raise _Stop

    monkeypatch.setattr(pool, "run_pool", record)
    for _ in range(2):
        with pytest.raises(_Stop):
            grade_all(course, AID, GradeOptions(workers=1), students=["ana"])
    return used


def _a_course_with_one_submission(tmp_path):
    course = new_fixture_course(tmp_path / "course")
    make_submission(course.solutions / AID / f"{AID}.ipynb", None, course.submitted / "ana" / AID / f"{AID}.ipynb")
    return course


def test_every_grade_run_uses_the_assignments_kept_seed(tmp_path, monkeypatch):
    course = _a_course_with_one_submission(tmp_path)
    first, second = _seeds_of_two_runs(course, monkeypatch)
    assert first == second == assignment_seed(course.work / "seeds", AID)


def test_the_run_to_run_check_fails_on_a_fresh_seed_per_run(tmp_path, monkeypatch):
    """WRONG version: a new seed at every call (what grading did before seeds were kept)."""
    course = _a_course_with_one_submission(tmp_path)
    monkeypatch.setattr(seeds, "assignment_seed", lambda folder, aid: secrets.randbits(63))
    first, second = _seeds_of_two_runs(course, monkeypatch)
    assert first != second


def _notebook(*answers):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(a) for a in answers]
    return nb


def _seeds_for(prep, notebooks, monkeypatch, aid="a1_volumes") -> list:
    used = []
    monkeypatch.setattr(trusted, "prepare_hidden", lambda path, aid, nb, seed, *rest: used.append(seed) or "session")
    for nb in notebooks:
        prep.preprocess(nb, {"nbgrader": {"assignment": aid}})
    return used


def test_each_notebook_gets_its_own_cases_and_keeps_them(tmp_path, monkeypatch):
    """nbgrader's Autograde (the formgrader's button, and every run of grade) runs PrepareHidden as
    configure_course sets it: the kept secret, then a seed per notebook from the student's own code."""
    from traitlets.config import Config

    cfg = Config()
    configure_course(cfg, tmp_path)
    prep = trusted.PrepareHidden(config=cfg)
    ana, ana_again, ana_with_output, ana_edited, bo = (
        _notebook("def f(x):\n    return x + 1"), _notebook("def f(x):\n    return x + 1"),
        _notebook("def f(x):\n    return x + 1"), _notebook("def f(x):\n    return x + 2"),
        _notebook("def f(x):\n    return 1 + x"))
    ana_with_output.cells[0].outputs = [nbformat.v4.new_output("stream", text="printed\n")]
    used = _seeds_for(prep, [ana, ana_again, ana_with_output, ana_edited, bo], monkeypatch)
    secret = assignment_seed(tmp_path / "work" / "seeds", "a1_volumes")
    assert used[0] == notebook_seed(secret, "a1_volumes", student_sources(ana)) != secret
    assert used[0] == used[1] == used[2], "the same code must meet the same cases (outputs do not count)"
    assert len({used[0], used[3], used[4]}) == 3, "an edited notebook, or another student's, meets other cases"
    assert os.listdir(tmp_path / "work" / "seeds") == ["a1_volumes.seed"]
    other = _seeds_for(prep, [ana], monkeypatch, aid="a3_im2col")[0]
    assert other != used[0]  # and per assignment


def test_the_per_notebook_check_fails_on_one_seed_for_every_notebook(tmp_path, monkeypatch):
    """WRONG version: the assignment's seed for every notebook (the cases a feedback page shows would
    be the cases of a resubmission)."""
    from traitlets.config import Config

    cfg = Config()
    configure_course(cfg, tmp_path)
    monkeypatch.setattr(trusted, "notebook_seed", lambda base, aid, sources: base)
    used = _seeds_for(trusted.PrepareHidden(config=cfg), [_notebook("x = 1"), _notebook("x = 2")], monkeypatch)
    assert used[0] == used[1]


def test_a_given_seed_is_the_base_of_every_notebooks_own(monkeypatch):
    prep = trusted.PrepareHidden(seed=7)
    nb = _notebook("y = 3")
    assert _seeds_for(prep, [nb, nb], monkeypatch) == [notebook_seed(7, "a1_volumes", student_sources(nb))] * 2
