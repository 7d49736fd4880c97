"""The adversarial class, graded once through the real sandboxed pipeline (module fixture).

Every student has an exact expected grade; all are graded in one batch, so each test also proves
that the other submissions did not disturb it.
"""

import json
import shutil
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import Course
from autograder.feedback import generate_feedback, hidden_lines
from autograder.grading import GradeOptions, grade_all, read_report
from autograder.release import find_leaks, release
from autograder.reports import export_csv, status_rows
from autograder.sandbox import Limits, bwrap_problem
from autograder.testing import make_submission

FIXTURES = Path(__file__).resolve().parent / "fixtures"
FIXTURE_COURSE = FIXTURES / "course"
FIXTURE_SOLUTIONS = FIXTURE_COURSE / "solutions"
REPO_ROOT = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(FIXTURES))
from adversarial import STUDENTS  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("autograder")]

AID = "f1_toy"
LIMITS = Limits(cell_timeout=60, notebook_timeout=150, cpu_seconds=150)
FOLDER_CASES = {  # student -> (how the folder is broken, expected total)
    "malformed": ("not json", 0.0),
    "missing": ("no notebook", 0.0),
    "renamed": ("renamed", 10.0),
    "nbformat3": ("nbformat 3", 10.0),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    if bwrap_problem():
        pytest.fail(f"the sandbox cannot run here: {bwrap_problem()}")
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(FIXTURE_COURSE / "solutions", root / "solutions")
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    course = Course(root)
    release(course)
    solution = course.solutions / AID / f"{AID}.ipynb"
    for student, (replacements, _) in STUDENTS.items():
        make_submission(solution, replacements, course.submitted / student / AID / f"{AID}.ipynb")
    folder = course.submitted
    (folder / "malformed" / AID).mkdir(parents=True)
    (folder / "malformed" / AID / f"{AID}.ipynb").write_text("this is not a notebook {")
    (folder / "missing" / AID).mkdir(parents=True)
    (folder / "missing" / AID / "notes.txt").write_text("I forgot the notebook")
    make_submission(solution, None, folder / "renamed" / AID / "my_work (1).ipynb")
    nb3 = nbformat.convert(make_submission(solution), 3)
    (folder / "nbformat3" / AID).mkdir(parents=True)
    nbformat.write(nb3, folder / "nbformat3" / AID / f"{AID}.ipynb", version=3)
    results = grade_all(course, AID, GradeOptions(limits=LIMITS, seed=5, workers=2))
    return course, {r.student: r for r in results}


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_adversarial_grade(graded, student):
    course, results = graded
    result = results[student]
    assert result.max_score == 10.0
    assert result.score == pytest.approx(STUDENTS[student][1], abs=1e-6), (result.cells, result.notes)
    assert result.status == "graded"


@pytest.mark.parametrize("student", sorted(FOLDER_CASES))
def test_broken_folders_get_a_grade_and_a_reason(graded, student):
    course, results = graded
    result = results[student]
    assert result.score == pytest.approx(FOLDER_CASES[student][1]) and result.max_score == 10.0
    if student != "nbformat3" or result.notes:
        assert result.notes, "every repaired or rejected submission says what happened"


def test_every_submission_is_accounted_for(graded):
    course, results = graded
    assert set(results) == set(STUDENTS) | set(FOLDER_CASES)
    rows = {r["student"]: r for r in status_rows(course, [AID])}
    assert all(rows[s]["status"] == "graded" for s in results)


def test_explanations(graded):
    _, results = graded
    assert any("kernel died" in n for n in results["os_exit"].notes)
    assert any("time limit" in n for n in results["infinite_loop"].notes)
    assert any("withholds" in n for n in results["calls_reference"].notes)
    assert any("truncated" in n for n in results["print_flood"].notes)
    assert any("was named my_work (1).ipynb" in n for n in results["renamed"].notes)
    assert any("not a notebook" in n for n in results["malformed"].notes)


def test_nothing_written_outside(graded):
    course, _ = graded
    for folder in [course.root, course.work, course.autograded, course.autograded / "write_outside",
                   REPO_ROOT, Path("/tmp"), Path("/work")]:
        assert not (folder / "PWNED.txt").exists(), folder


def test_output_flood_is_capped_in_the_notebook(graded):
    course, _ = graded
    nb = course.autograded / "print_flood" / AID / f"{AID}.ipynb"
    assert nb.stat().st_size < 1_000_000


def test_no_checks_or_scratch_left_next_to_submissions(graded):
    course, _ = graded
    assert not list(course.autograded.rglob("checks.py"))
    assert not list(course.autograded.rglob(".convlab_hidden"))
    assert find_leaks(course, AID) == []


def test_feedback_has_notes_and_no_hidden_source(graded):
    course, _ = graded
    pages = generate_feedback(course, AID)
    secrets = hidden_lines(course, AID)
    assert secrets
    for student in ["correct", "partial", "os_exit", "malformed"]:
        text = pages[student][0].read_text()
        assert "Grader's notes" in text
        assert not [s for s in secrets if s in text]
    assert "hidden check relu_grad: 0 of 2 cases pass" in pages["partial"][0].read_text()


def test_export_csv(graded, tmp_path):
    course, results = graded
    out = export_csv(course, tmp_path / "grades.csv")
    lines = out.read_text().splitlines()
    assert lines[0] == "student,assignment,score,max_score,status,notes"
    assert len(lines) == 1 + len(results)
    assert any(line.startswith("correct,f1_toy,10,10,graded") for line in lines)


def test_regrading_replaces_old_grades(graded):
    course, _ = graded
    student = "regrade"
    solution = course.solutions / AID / f"{AID}.ipynb"
    make_submission(solution, None, course.submitted / student / AID / f"{AID}.ipynb")
    (first,) = grade_all(course, AID, GradeOptions(limits=LIMITS, workers=1), students=[student])
    assert first.score == 10.0
    (course.submitted / student / AID / f"{AID}.ipynb").write_text("{broken")
    (second,) = grade_all(course, AID, GradeOptions(limits=LIMITS, workers=1), students=[student])
    assert second.score == 0.0 and read_report(course, AID, student).score == 0.0
    report = json.loads((course.work / "reports" / AID / f"{student}.json").read_text())
    assert report["score"] == 0.0
