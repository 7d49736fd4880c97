"""The instructor's class admin: due dates and the late penalty, the CSV (per-question columns,
missing students, lateness), and feedback packaged for return through the LMS. Fast: no kernel."""

import csv
import datetime as dt
import io
import json
import sys
import zipfile
from dataclasses import asdict
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, new_fixture_course, notebook_bytes, zip_of  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.collect import collect  # noqa: E402
from autograder.course import Course, CourseError  # noqa: E402
from autograder.feedback_package import package_feedback  # noqa: E402
from autograder.grading import SubmissionResult, report_path  # noqa: E402
from autograder.late import PerDayPenalty, due_date, parse_due, set_due_date  # noqa: E402
from autograder.pipeline import configure_course  # noqa: E402
from autograder.reports import export_csv, question_ids  # noqa: E402
from autograder.roster import import_roster  # noqa: E402

NB = f"{AID}.ipynb"
DAY = 86400


@pytest.fixture
def course(tmp_path) -> Course:
    return new_fixture_course(tmp_path / "course", released=False)


# --- the late penalty --------------------------------------------------------------------------
@pytest.mark.parametrize("seconds, penalty", [
    (1, 0.8),              # one second late is a started day: 10% of the 8 points earned
    (DAY, 0.8),            # exactly one day
    (DAY + 1, 1.6),        # a second into day two
    (3.5 * DAY, 3.2),      # four started days
    (30 * DAY, 8.0),       # never more than the score
])
def test_per_day_penalty(seconds, penalty):
    plugin = PerDayPenalty()
    assert plugin.late_submission_penalty("s", 8.0, seconds) == pytest.approx(penalty, abs=1e-12)


def test_penalty_share_is_configurable_and_the_pipeline_uses_the_plugin(tmp_path):
    from traitlets.config import Config  # noqa: PLC0415

    cfg = Config()
    configure_course(cfg, tmp_path)
    assert cfg.AssignLatePenalties.plugin_class is PerDayPenalty
    cfg.PerDayPenalty.fraction_per_day = 0.25
    assert PerDayPenalty(config=cfg).late_submission_penalty("s", 8.0, DAY + 1) == 4.0
    course_cfg = Course(Path(__file__).resolve().parents[2]).config()
    assert course_cfg.PerDayPenalty.fraction_per_day == 0.1, "the course's nbgrader_config.py sets the share"


def test_parse_due():
    assert parse_due("2026-12-15 23:59 UTC") == dt.datetime(2026, 12, 15, 23, 59)
    assert parse_due("2026-12-15 23:59") == dt.datetime(2026, 12, 15, 23, 59), "no zone: UTC"
    assert parse_due("2026-12-15 23:59 Europe/Berlin") == dt.datetime(2026, 12, 15, 22, 59)
    assert parse_due("2026-12-15 23:59 -0500") == dt.datetime(2026, 12, 16, 4, 59)
    assert parse_due("none") is None
    with pytest.raises(CourseError, match="unknown time zone 'Mars/Olympus'"):
        parse_due("2026-12-15 23:59 Mars/Olympus")
    with pytest.raises(CourseError, match="not a date and time"):
        parse_due("next tuesday-ish")


def test_due_command(course, capsys):
    root = str(course.root)
    assert cli.main(["--course", root, "due", AID]) == 0
    assert capsys.readouterr().out == f"{AID} due never (no due date)\n"
    assert cli.main(["--course", root, "due", AID, "2026-12-15 23:59 Europe/Berlin"]) == 0
    assert capsys.readouterr().out == f"{AID} due 2026-12-15 22:59:00 UTC\n"
    assert due_date(course, AID) == dt.datetime(2026, 12, 15, 22, 59)
    assert cli.main(["--course", root, "due", "nope", "2026-12-15"]) == 2
    assert "unknown assignment 'nope'" in capsys.readouterr().err
    set_due_date(course, AID, "none")
    assert due_date(course, AID) is None


def test_nbgrader_counts_lateness_from_collects_timestamp(course, tmp_path):
    """Blackboard's attempt time, through ``timestamp.txt``, is what nbgrader compares with the due date."""
    from nbgrader.coursedir import CourseDirectory  # noqa: PLC0415

    set_due_date(course, AID, "2026-12-15 23:59 UTC")
    archive = zip_of(tmp_path / "bb.zip", {
        f"HW_early_attempt_2026-12-15-23-00-00_{NB}": notebook_bytes("on time"),
        f"HW_tardy_attempt_2026-12-17-12-00-00_{NB}": notebook_bytes("late"),
    })
    collect(course, archive)
    coursedir = CourseDirectory(config=course.config())
    with course.open_gradebook() as gb:
        for student in ("early", "tardy"):
            stamp = coursedir.get_existing_timestamp(str(course.submitted / student / AID))
            gb.update_or_create_student(student)  # as nbgrader's Autograde.init_assignment does
            gb.update_or_create_submission(AID, student, timestamp=stamp)
        late = {s: gb.find_submission(AID, s).total_seconds_late for s in ("early", "tardy")}
    assert late == {"early": 0, "tardy": 36 * 3600 + 60}
    assert PerDayPenalty().late_submission_penalty("tardy", 10.0, late["tardy"]) == 2.0


# --- the CSV -----------------------------------------------------------------------------------
def _graded(course: Course, student: str, cells: dict, penalty: float = 0.0, seconds: float = 0.0) -> None:
    """A submission of ``student`` and its grading report (as ``grade`` writes it)."""
    folder = course.submitted / student / AID
    folder.mkdir(parents=True, exist_ok=True)
    (folder / NB).write_bytes(notebook_bytes(student))
    raw = sum(cells.values())
    result = SubmissionResult(student, AID, max(0.0, raw - penalty), 10.0, "graded", [f"note of {student}"],
                              {g: [v, 1.0] for g, v in cells.items()}, score_before_penalty=raw,
                              late_penalty=penalty, seconds_late=seconds)
    path = report_path(course, AID, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result)))


def test_export_questions_penalties_and_missing_students(course, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name\ns1,Ann,Lee\ns2,Bo,Yi\ns3,Cy,Do\n")
    import_roster(course, roster)
    _graded(course, "s1", {"pool1d_hidden": 0.1 + 0.2, "out_size_hidden": 4.0, "relu_hidden": 3.0})
    _graded(course, "s2", {"pool1d_hidden": 3.0, "out_size_hidden": 4.0, "relu_hidden": 3.0},
            penalty=2.0, seconds=float(DAY + 5))
    with course.open_gradebook() as gb:
        gb.update_or_create_assignment(AID)  # what release does
        gb.add_notebook(AID, AID)
        for gid, pts in (("out_size_hidden", 4), ("relu_hidden", 3), ("pool1d_hidden", 3)):
            gb.add_grade_cell(gid, AID, AID, max_score=pts, cell_type="code")
    assert question_ids(course, AID) == ["out_size_hidden", "relu_hidden", "pool1d_hidden"], "notebook order"

    out = export_csv(course, tmp_path / "grades.csv")
    with open(out, newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, {r["student"]: r for r in reader}
    assert header[-3:] == [f"{AID}:out_size_hidden", f"{AID}:relu_hidden", f"{AID}:pool1d_hidden"]
    assert rows["s1"][f"{AID}:pool1d_hidden"] == repr(0.1 + 0.2) == "0.30000000000000004", "exact"
    assert rows["s1"]["score"] == repr(0.1 + 0.2 + 7.0)
    assert (rows["s2"]["score"], rows["s2"]["score_before_penalty"], rows["s2"]["late_penalty"],
            rows["s2"]["seconds_late"]) == ("8.0", "10.0", "2.0", repr(float(DAY + 5)))
    assert rows["s3"]["status"] == "missing" and rows["s3"]["score"] == "0.0" and rows["s3"]["max_score"] == "10.0"
    assert [rows["s3"][f"{AID}:{g}"] for g in ("out_size_hidden", "relu_hidden", "pool1d_hidden")] == ["0.0"] * 3
    assert list(rows) == ["s1", "s2", "s3"]
    assert export_csv(course, tmp_path / "again.csv").read_bytes() == out.read_bytes(), "stable"


def test_export_marks_what_the_lms_called_late(course, tmp_path):
    archive = zip_of(tmp_path / "canvas.zip", {
        f"roeann_LATE_12346_67891_{AID}-1.ipynb": notebook_bytes("late"),
        f"doejohn_12345_67890_{NB}": notebook_bytes("on time"),
    })
    collect(course, archive)
    rows = {r["student"]: r for r in csv.DictReader(open(export_csv(course, tmp_path / "g.csv"), newline=""))}
    assert (rows["roeann"]["lms_late"], rows["doejohn"]["lms_late"]) == ("yes", "")
    assert rows["roeann"]["status"] == "pending" and rows["roeann"]["submitted"] == "", "Canvas gives no time"


# --- feedback for return -----------------------------------------------------------------------
def test_package_feedback_names_files_for_each_lms(course, tmp_path):
    archive = zip_of(tmp_path / "mixed.zip", {
        f"roeann_LATE_12346_67891_{AID}-1.ipynb": notebook_bytes("canvas"),
        f"Ann Lee_123456_assignsubmission_file_/{NB}": notebook_bytes("moodle"),
        f"Bo Yi_777_assignsubmission_file_/{NB}": notebook_bytes("moodle 2"),
        f"plain/{AID}/{NB}": notebook_bytes("folder"),
    })
    collect(course, archive)
    pages = {}
    for student in ("roeann", "ann-lee", "bo-yi", "plain"):
        page = course.feedback / student / AID / f"{AID}.html"
        page.parent.mkdir(parents=True)
        page.write_text(f"<html>feedback of {student}</html>")
        pages[student] = [page]
    mathjax = course.feedback / "roeann" / AID / "_mathjax"
    (mathjax / "config").mkdir(parents=True)
    (mathjax / "MathJax.js").write_text("/* mathjax */")
    (mathjax / "config" / "local.js").write_text("/* config */")
    (mathjax / "linked.js").symlink_to(tmp_path / "elsewhere.js")
    out = tmp_path / "return"
    written = package_feedback(course, AID, pages, out)
    assert sorted(p.name for p in written) == sorted([f"roeann_12346_67891_{AID}_feedback.zip",
                                                      f"plain_{AID}_feedback.zip", f"moodle_{AID}_feedback.zip"])
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in written)

    def unzip(data: bytes) -> dict:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return {n: zf.read(n).decode() for n in zf.namelist()}

    assert unzip((out / f"roeann_12346_67891_{AID}_feedback.zip").read_bytes()) == {
        f"{AID}_feedback.html": "<html>feedback of roeann</html>", "_mathjax/MathJax.js": "/* mathjax */",
        "_mathjax/config/local.js": "/* config */"}, "the page with the MathJax beside it, no link followed"
    assert unzip((out / f"plain_{AID}_feedback.zip").read_bytes()) == {
        f"{AID}_feedback.html": "<html>feedback of plain</html>"}
    with zipfile.ZipFile(out / f"moodle_{AID}_feedback.zip") as zf:
        inner = {n: unzip(zf.read(n)) for n in zf.namelist()}
    assert inner == {
        f"Ann Lee_123456_assignfeedback_file_/{AID}_feedback.zip": {f"{AID}_feedback.html": "<html>feedback of ann-lee</html>"},
        f"Bo Yi_777_assignfeedback_file_/{AID}_feedback.zip": {f"{AID}_feedback.html": "<html>feedback of bo-yi</html>"}}


def test_package_feedback_of_several_notebooks_and_odd_names(course, tmp_path):
    lms = course.work / "lms" / f"{AID}.json"
    lms.parent.mkdir(parents=True)
    lms.write_text(json.dumps({"odd": {"layout": "canvas", "lms_id": "1", "person": "x", "prefix": ".hidden\x1b_",
                                       "file": NB, "late": False, "submitted": None}}))
    pages = []
    for name in ("part1.html", "part2.html"):
        page = course.feedback / "odd" / AID / name
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(name)
        pages.append(page)
    (written,) = package_feedback(course, AID, {"odd": pages, "nobody": []}, tmp_path / "out")
    assert written.name == f"odd_{AID}_feedback.zip", "an unusable LMS prefix falls back to the student id"
    with zipfile.ZipFile(written) as zf:
        assert sorted(zf.namelist()) == ["part1.html", "part2.html"]
