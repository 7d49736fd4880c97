"""The adversarial class, graded once per test run through the real sandboxed pipeline (``graded``).

Every student has an exact expected grade; all are graded in one batch, so each test also proves
that the other submissions did not disturb it.
"""

import csv
import json
import sys
import time
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from adversarial import OUT_SIZE_OK, POOL_OK, RELU_OK  # noqa: E402
from ag_support import (AID, CANARY, FOLDER_CASES, LIMITS, REPO_ROOT, SPOOF, STUDENTS, copy_course,  # noqa: E402
                        new_fixture_course, report_json)

from autograder.collect import collect  # noqa: E402
from autograder.feedback import generate_feedback, hidden_lines  # noqa: E402
from autograder.feedback_package import package_feedback  # noqa: E402
from autograder.grading import GradeOptions, grade_all, read_report  # noqa: E402
from autograder.late import set_due_date  # noqa: E402
from autograder.release import find_leaks  # noqa: E402
from autograder.sandbox import Limits  # noqa: E402
from autograder.reports import export_csv, status_rows  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

pytestmark = [pytest.mark.slow]


@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_adversarial_grade(graded, student):
    course, results = graded
    result = results[student]
    assert result.max_score == 10.0
    why = (result.cells, result.notes, report_json(course, student).get("grader_log"))
    assert result.score == pytest.approx(STUDENTS[student][1], abs=1e-6), why
    assert result.status == "graded", why


@pytest.mark.parametrize("student", sorted(FOLDER_CASES))
def test_broken_folders_get_a_grade_and_a_reason(graded, student):
    course, results = graded
    result = results[student]
    assert result.score == pytest.approx(FOLDER_CASES[student][1]) and result.max_score == 10.0
    assert result.notes, "every repaired or rejected submission says what happened"


def test_partial_scores_are_carried_exactly(graded):
    course, results = graded
    for student in ("partial", "lenient", "late_answers"):
        hidden = json.loads((course.work / "reports" / AID / "hidden" / f"{student}__{AID}.hidden.json").read_text())
        cells = results[student].cells
        assert hidden["scores"] and all(cells[gid][0] == score for gid, score in hidden["scores"].items()), (
            student, cells, hidden["scores"])
    assert results["partial"].cells["relu_hidden"][0] == pytest.approx(3 * 3 / 5, abs=1e-12)
    assert results["partial"].cells["pool1d_hidden"][0] == pytest.approx(3 * 1 / 4, abs=1e-12)


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
    assert any("metadata" in n and "relu, relu_hidden, bonus" in n for n in results["forged_metadata"].notes)
    assert results["forged_metadata"].cells == {"out_size_hidden": [4.0, 4.0], "relu_hidden": [0.0, 3.0],
                                                "pool1d_hidden": [3.0, 3.0]}, "forged points and cells ignored"


def test_the_host_never_follows_a_submission(graded):
    course, results = graded
    assert CANARY.read_text() == "canary" and CANARY.stat().st_mode & 0o777 == 0o600, "a host file was touched"
    assert SPOOF not in (course.root / "grader-output.log").read_bytes(), "a kernel wrote into the grader's log"
    for student, why in [("symlinked", "link"), ("fifo", "not a regular file"), ("huge", "larger than"),
                         ("deep", "nested too deeply")]:
        assert any(why in n for n in results[student].notes), (student, results[student].notes)
    graded_nb = course.autograded / "symlinks" / AID / f"{AID}.ipynb"
    assert not graded_nb.is_symlink() and graded_nb.stat().st_size > 1000


def test_late_and_foreign_answers_are_refused(graded):
    course, _ = graded
    report = json.loads((course.work / "reports" / AID / "hidden" / f"late_answers__{AID}.hidden.json").read_text())
    assert report["answers_refused"] >= 3
    assert json.loads((course.work / "reports" / AID / "hidden" /
                       f"correct__{AID}.hidden.json").read_text())["answers_refused"] == 0


def test_a_cell_ignoring_its_interrupt_is_stopped_and_explained(graded):
    _, results = graded
    assert any("did not stop when interrupted" in n for n in results["ignores_interrupt"].notes), \
        results["ignores_interrupt"].notes


def test_the_grading_log_keeps_only_real_warnings(graded):
    # hidden-test cells the grader itself resets raise no "checksum changed" warning; a student's edit does
    course, _ = graded
    assert not [w for w in report_json(course, "correct")["grader_log"] if "checksum" in w]
    assert any("checksum" in w and "out_size_hidden" in w for w in report_json(course, "edited_test_cell")["grader_log"])


def test_nothing_written_outside(graded):
    course, _ = graded
    for folder in [course.root, course.work, course.autograded, course.autograded / "write_outside",
                   REPO_ROOT, Path("/tmp"), Path("/work")]:
        assert not (folder / "PWNED.txt").exists(), folder


@pytest.mark.parametrize("student", ["print_flood", "error_flood"])
def test_output_floods_are_capped_in_the_notebook(graded, student):
    # print_flood: a million lines; error_flood: 3 MB of display metadata, then a 20 MB exception message
    course, _ = graded
    nb = course.autograded / student / AID / f"{AID}.ipynb"
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
    assert "Check <code>relu_grad</code>: 0 of 2 cases pass." in pages["partial"][0].read_text()
    for student, files in pages.items():
        if student == "write_outside":
            continue  # its own source names /work/main
        text = files[0].read_text()
        assert str(REPO_ROOT) not in text and str(course.root) not in text, f"{student}: a host path in feedback"
        assert "autograder/withhold.py" not in text and "autograder/harness.py" not in text, student
    # the library's reference does not exist in the grading build: a visible test calling it says so
    assert "is not available while f1_toy is graded" in pages["calls_reference"][0].read_text()


def test_export_csv(graded, tmp_path):
    course, results = graded
    out = export_csv(course, tmp_path / "grades.csv")
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == ["student", "assignment", "score", "max_score", "status", "score_before_penalty",
                                     "late_penalty", "seconds_late", "submitted", "lms_late", "notes", "flags",
                                     f"{AID}:out_size_hidden", f"{AID}:relu_hidden", f"{AID}:pool1d_hidden"]
        rows = list(reader)
    assert [r["student"] for r in rows] == sorted(results), "one row per student, sorted"
    expected = {**{s: total for s, (_, total) in STUDENTS.items()}, **{s: t for s, (_, t) in FOLDER_CASES.items()}}
    for row in rows:
        assert row["assignment"] == AID and row["status"] == "graded" and float(row["max_score"]) == 10.0
        assert float(row["score"]) == pytest.approx(expected[row["student"]], abs=1e-9), row
        assert float(row["score"]) == results[row["student"]].score, "the CSV carries the gradebook's score exactly"
        assert row["notes"] == " | ".join(results[row["student"]].notes)
        cells = results[row["student"]].cells
        assert [row[f"{AID}:{g}"] for g in ("out_size_hidden", "relu_hidden", "pool1d_hidden")] == [
            repr(cells[g][0]) for g in ("out_size_hidden", "relu_hidden", "pool1d_hidden")], "exact, per question"
        assert (row["late_penalty"], row["seconds_late"], row["score_before_penalty"]) == ("0.0", "0.0", row["score"])
    by_student = {r["student"]: r for r in rows}
    assert "not a notebook" in by_student["malformed"]["notes"]
    assert by_student["correct"]["notes"] == ""


def test_suspicious_code_is_reported_to_the_instructor(graded):
    course, results = graded
    for student, what in [("numpy_patched", "assigns into numpy"), ("ast_transformer", "changes IPython"),
                          ("custom_exc", "changes IPython"), ("os_exit", "exits or uses the system"),
                          ("copied_library", "closely matches the library's convlab.shapes.conv_output_size")]:
        flags = results[student].flags
        assert any(what in f for f in flags), (student, flags)
        assert not any(what in n for n in results[student].notes), "flags are for the instructor"
    assert results["correct"].flags == []
    rows = {r["student"]: r for r in status_rows(course, [AID])}
    assert "assigns into numpy" in rows["numpy_patched"]["flags"]


def test_a_notebook_cannot_hold_a_worker_past_its_budget(tmp_path):
    # every answer cell sleeps just under the cell limit: the notebook's budget still ends it
    course = new_fixture_course(tmp_path / "course")
    solution = course.solutions / AID / f"{AID}.ipynb"
    nap = "import time\ntime.sleep(25)\n"
    make_submission(solution, {"out_size": nap + OUT_SIZE_OK, "relu": nap + RELU_OK, "pool1d": nap + POOL_OK},
                    course.submitted / "sleepy" / AID / f"{AID}.ipynb")
    limits = Limits(cell_timeout=30, notebook_timeout=12, cpu_seconds=60)
    started = time.monotonic()
    (result,) = grade_all(course, AID, GradeOptions(limits=limits, workers=1), students=["sleepy"])
    elapsed = time.monotonic() - started
    assert elapsed < 40, f"the worker was held {elapsed:.0f} s for a 12 s budget (three 25 s cells: 75 s unbounded)"
    assert result.score == 0.0 and any("ran out of time" in n or "time limit" in n for n in result.notes), result.notes


def test_regrading_replaces_old_grades(graded, tmp_path):
    course = copy_course(graded[0], tmp_path / "course")
    student = "regrade"
    solution = course.solutions / AID / f"{AID}.ipynb"
    make_submission(solution, None, course.submitted / student / AID / f"{AID}.ipynb")
    (first,) = grade_all(course, AID, GradeOptions(limits=LIMITS, workers=1), students=[student])
    assert first.score == 10.0
    (course.submitted / student / AID / f"{AID}.ipynb").write_text("{broken")
    (second,) = grade_all(course, AID, GradeOptions(limits=LIMITS, workers=1), students=[student])
    assert second.score == 0.0 and read_report(course, AID, student).score == 0.0
    assert report_json(course, student)["score"] == 0.0
    assert read_report(course, AID, "correct").score == 10.0, "re-grading one student leaves the others alone"


def test_late_penalty_and_returned_feedback_end_to_end(tmp_path):
    """Blackboard attempt times -> timestamp.txt -> nbgrader's late penalty (PerDayPenalty, 10% a started
    day) -> report, CSV and feedback; the packaged feedback holds no hidden-test line."""
    course = new_fixture_course(tmp_path / "course")
    set_due_date(course, AID, "2026-12-15 23:59 UTC")
    solution = course.solutions / AID / f"{AID}.ipynb"
    make_submission(solution, None, tmp_path / "right.ipynb")
    archive = tmp_path / "blackboard.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr(f"HW 1_prompt_attempt_2026-12-15-23-00-00_{AID}.ipynb", (tmp_path / "right.ipynb").read_bytes())
        zf.writestr(f"HW 1_tardy_attempt_2026-12-17-12-00-00_{AID}.ipynb", (tmp_path / "right.ipynb").read_bytes())
    assert collect(course, archive).placed == [("prompt", AID), ("tardy", AID)]
    results = {r.student: r for r in grade_all(course, AID, GradeOptions(limits=LIMITS, workers=1))}
    late_by = 36 * 3600 + 60.0  # 1.5 days and a minute: two started days
    assert (results["tardy"].score, results["tardy"].score_before_penalty, results["tardy"].late_penalty,
            results["tardy"].seconds_late) == (8.0, 10.0, 2.0, late_by)
    assert (results["prompt"].score, results["prompt"].late_penalty, results["prompt"].seconds_late) == (10.0, 0.0, 0.0)
    assert "Submitted 36.0 hours after the due date: late penalty 2 points." in results["tardy"].notes
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(course, tmp_path / "g.csv"), newline=""))}
    assert (rows["tardy"]["score"], rows["tardy"]["late_penalty"], rows["tardy"]["submitted"]) == (
        "8.0", "2.0", "2026-12-17 12:00:00.000000 UTC")

    files = generate_feedback(course, AID)
    written = package_feedback(course, AID, files, tmp_path / "return")
    assert sorted(p.name for p in written) == [f"prompt_{AID}_feedback.zip", f"tardy_{AID}_feedback.zip"]
    secrets = hidden_lines(course, AID)
    pages = {}
    for path in written:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            assert "_mathjax/MathJax.js" in names, f"{path.name}: the page's maths needs the MathJax beside it"
            text = pages[path.name] = zf.read(f"{AID}_feedback.html").decode()
        assert secrets and not [s for s in secrets if s in text], path
    assert "late penalty 2 points" in pages[f"tardy_{AID}_feedback.zip"]
    assert "late penalty" not in pages[f"prompt_{AID}_feedback.zip"].split("convlab-grader-notes")[1][:2000]
