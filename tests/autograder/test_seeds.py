"""Each assignment's seed of hidden cases is drawn once and kept, so every run of the grader agrees.

With a fresh seed per run, a partly wrong answer could pass one run and fail the next (a regrade, or
the rest of a run resumed after a crash). The wrong version kept below (a fresh seed per call) shows
the run-to-run check can fail.
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

from autograder import seeds, trusted  # noqa: E402
from autograder.grading import GradeOptions, grade_all  # noqa: E402
from autograder.pipeline import configure_course  # noqa: E402
from autograder.seeds import assignment_seed  # noqa: E402


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
    """The seed each of two ``grade`` runs draws its hidden cases with (stopped right there)."""
    used = []

    def record(checks_path, seed):
        used.append(seed)
        raise _Stop

    monkeypatch.setattr(trusted, "hidden_cases", record)
    for _ in range(2):
        with pytest.raises(_Stop):
            grade_all(course, AID, GradeOptions(workers=1), students=["ana"])
    return used


def _a_course_with_one_submission(tmp_path):
    course = new_fixture_course(tmp_path / "course")
    out = course.submitted / "ana" / AID / f"{AID}.ipynb"
    out.parent.mkdir(parents=True)
    out.write_text((course.assignments / AID / f"{AID}.ipynb").read_text())
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


def test_nbgraders_autograde_uses_the_kept_seed_too(tmp_path, monkeypatch):
    """The formgrader's Autograde button runs PrepareHidden as configured by configure_course."""
    from traitlets.config import Config

    cfg = Config()
    configure_course(cfg, tmp_path)
    prep = trusted.PrepareHidden(config=cfg)
    used = []
    monkeypatch.setattr(trusted, "prepare_hidden", lambda path, aid, nb, seed, *rest: used.append(seed) or "session")
    for _ in range(2):
        prep.preprocess(nbformat.v4.new_notebook(), {"nbgrader": {"assignment": "a1_volumes"}})
    assert used == [assignment_seed(tmp_path / "work" / "seeds", "a1_volumes")] * 2
    assert os.listdir(tmp_path / "work" / "seeds") == ["a1_volumes.seed"]
