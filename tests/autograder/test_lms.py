"""``collect`` of LMS exports (issue item 3): Canvas, Moodle and Blackboard names, attempts, lateness,
the roster, and hostile names in those layouts.

Each fixture names the real export it imitates:

- Canvas, Assignments > Download Submissions: ``<lastfirst>[_LATE]_<userId>_<submissionId>_<file>``, a
  re-uploaded file renamed ``<stem>-1<ext>``;
- Moodle (3.1+), Download all submissions: ``<Full Name>_<participantId>_assignsubmission_file_/<file>``
  (4.1+ without the trailing ``_``); Moodle before 3.1: flat ``<Full Name>_<id>_assignsubmission_file_<file>``;
- Blackboard Learn, Grade Center > Assignment File Download: ``<Assignment>_<username>_attempt_<Y-m-d-H-M-S>_<file>``
  with a ``<Assignment>_<username>_attempt_<Y-m-d-H-M-S>.txt`` receipt per attempt.
"""

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, new_fixture_course, notebook_bytes, zip_of  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.collect import NOT_A_NOTEBOOK, collect, read_lms_records, report_lines  # noqa: E402
from autograder.course import Course, CourseError  # noqa: E402
from autograder.lms import LmsEntry, notebook_name, parse_lms, student_id  # noqa: E402
from autograder.roster import import_roster, load_roster, read_roster_csv  # noqa: E402

NB = f"{AID}.ipynb"


def _files(course: Course) -> dict:
    return {str(p.relative_to(course.submitted)): p.read_bytes() for p in sorted(course.submitted.rglob("*"))
            if p.is_file()}


@pytest.fixture
def course(tmp_path) -> Course:
    return new_fixture_course(tmp_path / "course", released=False)


def _roster(course: Course, tmp_path: Path, rows: str) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("id,first_name,last_name,email,lms_user_id\n" + rows)
    import_roster(course, path)


# --- the issue's three files -------------------------------------------------------------------
ISSUE = {  # the issue's names, for the fixture course's notebook
    f"doejohn_12345_67890_{NB}": "canvas",                                     # Canvas
    f"roeann_LATE_12346_67891_{AID}-1.ipynb": "canvas, late, re-uploaded",    # Canvas
    f"Ann Lee_123456_assignsubmission_file_/{NB}": "moodle",                  # Moodle 3.1+
}


@pytest.mark.parametrize("aid", [None, AID])
def test_the_issue_three_lms_files_are_all_collected(course, tmp_path, aid, capsys):
    archive = zip_of(tmp_path / "export.zip", {name: notebook_bytes(name) for name in ISSUE})
    report = collect(course, archive, aid)
    assert report.placed == [("ann-lee", AID), ("doejohn", AID), ("roeann", AID)], "--aid is only a hint"
    assert (report.skipped, report.missed) == ([], 0)
    assert _files(course)[f"roeann/{AID}/{NB}"] == notebook_bytes(f"roeann_LATE_12346_67891_{AID}-1.ipynb"), \
        "the -1 suffix is removed: the notebook is graded under its own name"
    assert _files(course)[f"ann-lee/{AID}/{NB}"] == notebook_bytes(f"Ann Lee_123456_assignsubmission_file_/{NB}")
    records = read_lms_records(course, AID)
    assert records["roeann"]["late"] is True and records["doejohn"]["late"] is False, "the LATE marker is kept"
    assert records["ann-lee"] == {"layout": "moodle", "lms_id": "123456", "person": "Ann Lee", "file": NB,
                                  "prefix": "Ann Lee_123456_", "late": False, "submitted": None}
    # Canvas and Moodle give no time: no timestamp.txt, so nbgrader never counts the collection time as late
    assert not any(name.endswith("timestamp.txt") for name in _files(course))
    assert cli.main(["--course", str(course.root), "collect", str(archive)] + (["--aid", aid] if aid else [])) == 0
    assert f"collected roeann/{AID} (canvas 'roeann' id 12346, marked LATE by the LMS)" in capsys.readouterr().out


def test_parse_each_layout():
    assert parse_lms([f"roeann_LATE_12346_67891_{AID}-1.ipynb"]) == LmsEntry(
        "canvas", "roeann", "12346", f"{AID}-1.ipynb", "roeann_12346_67891_", (67891, 1), None, True)
    moodle = parse_lms(["Ann Lee_123456_assignsubmission_file", "sub", NB])  # Moodle 4.1: no trailing _
    assert moodle is None, "only the folder right above the file names the student"
    assert parse_lms(["Ann Lee_123456_assignsubmission_file", NB]).person == "Ann Lee"
    flat = parse_lms([f"Ann Lee_123456_assignsubmission_file_{NB}"])  # Moodle before 3.1
    assert (flat.layout, flat.person, flat.lms_id, flat.file) == ("moodle", "Ann Lee", "123456", NB)
    bb = parse_lms([f"Assignment 1_jdoe7_attempt_2026-12-16-09-30-05_{NB}"])
    assert (bb.layout, bb.person, bb.file, bb.prefix) == ("blackboard", "jdoe7", NB, "Assignment 1_jdoe7_")
    assert bb.submitted == dt.datetime(2026, 12, 16, 9, 30, 5, tzinfo=dt.timezone.utc)
    zone = dt.timezone(dt.timedelta(hours=-5))
    assert parse_lms([bb.prefix + f"attempt_2026-12-16-09-30-05_{NB}"], zone).submitted.hour == 9
    assert parse_lms([f"A_u_attempt_2026-13-45-99-00-00_{NB}"]) is None, "no such time: not Blackboard's"
    for plain in ([f"alice_1_{NB}"], ["alice", AID, NB], [f"carol_12345_attempt_{NB}"]):
        assert parse_lms(plain) is None
    assert notebook_name(f"{AID} (2).ipynb") == (NB, 2) and notebook_name(NB) == (NB, 0)
    assert notebook_name("a-12345.ipynb") == ("a-12345.ipynb", 0), "only a short copy number is a suffix"


def test_student_ids_from_names():
    def sid(person, layout="moodle", lms_id="7"):
        return student_id(LmsEntry(layout, person, lms_id, NB, ""))

    assert sid("Ann Lee") == "ann-lee"
    assert sid("José  Núñez-García") == "jose-nunez-garcia"
    assert sid("O'Brien, Seán") == "o-brien-sean"
    assert sid("李雷") == "moodle-7" and sid("..") == "moodle-7" and sid("../../etc") == "etc"
    assert sid("doejohn", "canvas") == "doejohn"


# --- attempts and times ------------------------------------------------------------------------
def test_the_latest_attempt_wins_in_any_order(course, tmp_path):
    members = {  # Blackboard: two attempts and their receipts, the later one first in the archive
        f"HW 1_jdoe7_attempt_2026-12-16-09-30-05_{NB}": notebook_bytes("second"),
        "HW 1_jdoe7_attempt_2026-12-16-09-30-05.txt": b"Name: J Doe (jdoe7)\nDate Submitted: ...",
        f"HW 1_jdoe7_attempt_2026-12-15-08-00-00_{NB}": notebook_bytes("first"),
        "HW 1_jdoe7_attempt_2026-12-15-08-00-00.txt": b"receipt",
        # Canvas: the re-upload (-1) of the same submission
        f"smithann_55_900_{AID}-1.ipynb": notebook_bytes("canvas second"),
        f"smithann_55_900_{NB}": notebook_bytes("canvas first"),
    }
    report = collect(course, zip_of(tmp_path / "x.zip", members))
    assert report.placed == [("jdoe7", AID), ("smithann", AID)]
    assert report.skipped == [
        ("HW 1_jdoe7_attempt_2026-12-16-09-30-05.txt", NOT_A_NOTEBOOK),
        (f"HW 1_jdoe7_attempt_2026-12-15-08-00-00_{NB}",
         f"an earlier attempt than HW 1_jdoe7_attempt_2026-12-16-09-30-05_{NB}: the latest attempt is collected"),
        ("HW 1_jdoe7_attempt_2026-12-15-08-00-00.txt", NOT_A_NOTEBOOK),
        (f"smithann_55_900_{NB}", f"an earlier attempt than smithann_55_900_{AID}-1.ipynb: the latest attempt is "
                                  "collected")]
    assert report.missed == 2 and not report.complete, "a notebook not collected: exit status 1, as for any other"
    files = _files(course)
    assert files[f"jdoe7/{AID}/{NB}"] == notebook_bytes("second")
    assert files[f"smithann/{AID}/{NB}"] == notebook_bytes("canvas second")
    assert files[f"jdoe7/{AID}/timestamp.txt"] == b"2026-12-16 09:30:05.000000 UTC", "Blackboard's attempt time"

    from nbgrader.utils import parse_utc  # noqa: PLC0415 - what nbgrader's Autograde reads

    assert parse_utc(files[f"jdoe7/{AID}/timestamp.txt"].decode()) == dt.datetime(2026, 12, 16, 9, 30, 5)


def test_a_plain_folder_keeps_the_collection_time(course, tmp_path):
    src = tmp_path / "inbox"
    (src / "alice" / AID).mkdir(parents=True)
    (src / "alice" / AID / NB).write_bytes(notebook_bytes("a"))
    collect(course, src)
    assert "UTC" in (course.submitted / "alice" / AID / "timestamp.txt").read_text()
    assert not (course.work / "lms").exists()


# --- collisions --------------------------------------------------------------------------------
def test_two_people_mapping_to_one_id_are_refused(course, tmp_path):
    archive = zip_of(tmp_path / "x.zip", {
        f"Ann Lee_101_assignsubmission_file_/{NB}": notebook_bytes("ann 1"),
        f"Ann  Lee_202_assignsubmission_file_/{NB}": notebook_bytes("ann 2"),   # another Ann Lee (two spaces)
        f"ann-lee/{AID}/{NB}": notebook_bytes("a folder of that name"),
        f"Bo Yi_303_assignsubmission_file_/{NB}": notebook_bytes("bo"),
    })
    report = collect(course, archive)
    assert report.placed == [("bo-yi", AID)]
    why = ("student id 'ann-lee' would be shared by folder ann-lee, moodle 101, moodle 202: not collected; "
           "import a roster (convlab-grade roster import) that tells them apart")
    assert sorted(report.skipped) == sorted([(f"Ann Lee_101_assignsubmission_file_/{NB}", why),
                                             (f"Ann  Lee_202_assignsubmission_file_/{NB}", why),
                                             (f"ann-lee/{AID}/{NB}", why)])
    assert report.missed == 3 and not (course.submitted / "ann-lee").exists()


def test_an_id_collected_before_from_another_lms_user_is_refused(course, tmp_path):
    def moodle(participant: str, name: str = "Ann Lee") -> str:
        return f"{name}_{participant}_assignsubmission_file_/{NB}"

    collect(course, zip_of(tmp_path / "1.zip", {moodle("101"): notebook_bytes("first ann")}))
    report = collect(course, zip_of(tmp_path / "2.zip", {moodle("202"): notebook_bytes("other"),
                                                       moodle("303", "Bo Yi"): notebook_bytes("bo")}))
    assert report.placed == [("bo-yi", AID)]
    assert report.skipped == [(f"Ann Lee_202_assignsubmission_file_/{NB}",
                               "student id 'ann-lee' would be shared by moodle 202, moodle 101 (collected before): "
                               "not collected; import a roster (convlab-grade roster import) that tells them apart")]
    assert _files(course)[f"ann-lee/{AID}/{NB}"] == notebook_bytes("first ann")
    again = collect(course, zip_of(tmp_path / "3.zip", {moodle("101"): notebook_bytes("ann v2")}))
    assert again.placed == [("ann-lee", AID)], "the same person re-collected"


# --- hostile names in LMS layouts --------------------------------------------------------------
def test_hostile_lms_names(course, tmp_path):
    long_name = "N" * 300
    archive = zip_of(tmp_path / "x.zip", {
        f"../Ann Lee_1_assignsubmission_file_/{NB}": notebook_bytes("climb"),
        f"Ann Lee_2_assignsubmission_file_/../../{NB}": notebook_bytes("climb inside"),
        f"..\\..\\evil_3_4_{NB}": notebook_bytes("backslashes"),
        f"_.._5_assignsubmission_file_/{NB}": notebook_bytes("dots as a name"),
        f"Zoë Ω_6_assignsubmission_file_/{NB}": notebook_bytes("unicode"),
        f"{long_name}_7_assignsubmission_file_/{NB}": notebook_bytes("long"),
        f"eve\x1b[2J_8_assignsubmission_file_/{NB}": notebook_bytes("escape"),
        f"HW_mal/lory_attempt_2026-01-01-00-00-00_{NB}": notebook_bytes("slash in a username"),
        f"Cy Do_9_assignsubmission_file_/x\x07.ipynb": notebook_bytes("bell in the file"),
        f"Cy Do_9_assignsubmission_file_/{'y' * 300}.ipynb": notebook_bytes("file name too long"),
    })
    report = collect(course, archive, AID)
    unsafe = "unsafe path in the archive (absolute or with ..): not used"
    # a slash splits the path: folder "HW_mal", then the old flat layout <student>_..._<notebook>
    assert report.placed == [("eve-2j", AID), ("lory", AID), ("moodle-5", AID), ("zoe", AID)]
    skipped = dict(report.skipped)
    assert skipped[f"../Ann Lee_1_assignsubmission_file_/{NB}"] == unsafe
    assert skipped[f"Ann Lee_2_assignsubmission_file_/../../{NB}"] == unsafe
    assert skipped[f"..\\..\\evil_3_4_{NB}"] == unsafe
    long_entry = ("N" * 197 + "...", f"student id '{'n' * 77}...' is longer than 64 characters")
    assert long_entry in report.skipped, "a name over 64 characters is refused, never cut (two could then collide)"
    assert skipped["Cy Do_9_assignsubmission_file_/x\\x07.ipynb"].startswith("file name 'x\\x07.ipynb' is not usable")
    assert skipped[f"Cy Do_9_assignsubmission_file_/{'y' * 166}..."].endswith("or over 255 bytes)")
    assert report.missed == len(report.skipped)
    assert sorted(p.name for p in course.submitted.iterdir()) == ["eve-2j", "lory", "moodle-5", "zoe"]
    assert not list(tmp_path.glob(f"*{NB}")) and not (course.root.parent / NB).exists()


# --- the roster --------------------------------------------------------------------------------
def test_roster_maps_lms_users_and_refuses_strangers(course, tmp_path):
    _roster(course, tmp_path, "s001,John,Doe,jd@example.org,12345\n"
                              "s002,Ann,Lee,al@example.org,\n"
                              "s003,Ann,Roe,,\n"
                              "s004,Jo,Kim,,\n")
    archive = zip_of(tmp_path / "x.zip", {
        f"doejohn_12345_67890_{NB}": notebook_bytes("john by canvas id"),
        f"roeann_LATE_77777_67891_{AID}-1.ipynb": notebook_bytes("ann roe by name"),
        f"Ann Lee_123456_assignsubmission_file_/{NB}": notebook_bytes("ann lee by name"),
        f"HW_s004_attempt_2026-12-16-09-30-05_{NB}": notebook_bytes("jo by username"),
        f"strangerx_999_1_{NB}": notebook_bytes("not on the roster"),
        f"zed/{AID}/{NB}": notebook_bytes("plain folder, not on the roster"),
    })
    report = collect(course, archive)
    assert report.placed == [("s001", AID), ("s002", AID), ("s003", AID), ("s004", AID)]
    assert report.skipped == [(f"strangerx_999_1_{NB}", "canvas user 'strangerx' (id 999) is not on the roster"),
                              (f"zed/{AID}/{NB}", "student 'zed' is not on the roster")]
    assert not report.complete
    assert read_lms_records(course, AID)["s003"]["late"] is True


def test_roster_csv_is_checked(tmp_path):
    def read(text):
        path = tmp_path / "r.csv"
        path.write_text(text)
        return read_roster_csv(path)

    assert read("student_id,last_name,lms_id\nx1,Lee,9\n")[0].lms_user_id == "9", "aliases"
    for text, message in [("id,email\nx1,a@b\n", "the header needs"),
                          ("id,last_name\n../x,Lee\n", "line 2: student id '../x' is not usable"),
                          ("id,last_name\nx1,\n", "line 2: x1 has neither"),
                          ("id,last_name\nx1,A\nx1,B\n", "line 3: id 'x1' already on line 2"),
                          ("id,last_name,lms_user_id\nx1,A,5\nx2,B,5\n", "lms_user_id '5' already on line 2"),
                          (f"id,last_name\nx1,{'L' * 129}\n", "last_name longer than 128")]:
        with pytest.raises(CourseError, match=message.replace("(", r"\(").replace(".", r"\.")):
            read(text)


def test_roster_command_and_a_name_two_share(course, tmp_path, capsys):
    path = tmp_path / "roster.csv"
    path.write_text("id,first_name,last_name\nk1,Ann,Lee\nk2,Ann,Lee\nk3,Bo,Yi\n")
    assert cli.main(["--course", str(course.root), "roster", "import", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == ["imported 3 students into the gradebook"]
    assert [s.id for s in load_roster(course).students] == ["k1", "k2", "k3"]
    archive = zip_of(tmp_path / "x.zip", {f"Ann Lee_1_assignsubmission_file_/{NB}": notebook_bytes("?"),
                                        f"Bo Yi_2_assignsubmission_file_/{NB}": notebook_bytes("bo")})
    report = collect(course, archive)
    assert report.placed == [("k3", AID)]
    assert report.skipped == [(f"Ann Lee_1_assignsubmission_file_/{NB}", "moodle name 'Ann Lee' matches 2 roster "
                                                                          "students (k1, k2): give them LMS user ids "
                                                                          "in the roster")]


def test_aid_hint_never_makes_a_student_of_the_notebook_name(course, tmp_path):
    """The issue's second symptom: under --aid, a notebook named after the assignment was filed as student "f1"."""
    archive = zip_of(tmp_path / "x.zip", {f"{AID}-1.ipynb": notebook_bytes("whose?"),
                                         f"{AID} (2).ipynb": notebook_bytes("whose? (2)"),
                                         f"ann_{AID}-1.ipynb": notebook_bytes("ann's")})
    report = collect(course, archive, AID)
    assert report.placed == [("ann", AID)]
    no_match = ("no student and assignment in the name "
                "(expected <student>/<aid>/*.ipynb or <student>_..._<notebook>.ipynb)")
    assert report.skipped == [(f"{AID}-1.ipynb", no_match), (f"{AID} (2).ipynb", no_match)]
    assert sorted(p.name for p in course.submitted.iterdir()) == ["ann"]


def test_nbgraders_own_timestamp_in_a_folder_is_kept(course, tmp_path):
    """nbgrader's exchange (and ``nbgrader collect``) leaves ``<student>/<aid>/timestamp.txt``: its time, not
    the collection's, is the submission time; a broken one is reported and the collection time used."""
    stamps = {"alice": b"2026-12-15 10:00:00.123456 UTC", "bob": b"2026-12-15 11:00:00 +0100",
              "cid": b"yesterday-ish", "dan": b"2026-12-15 10:00:00 UTC" + b" " * 200, "eve": b"\xff\xfe"}
    members = {f"{s}/{AID}/{NB}": notebook_bytes(s) for s in stamps}
    members.update({f"{s}/{AID}/timestamp.txt": data for s, data in stamps.items()})
    report = collect(course, zip_of(tmp_path / "x.zip", members))
    assert report.complete and len(report.placed) == 5
    files = _files(course)
    assert files[f"alice/{AID}/timestamp.txt"] == b"2026-12-15 10:00:00.123456 UTC"
    assert files[f"bob/{AID}/timestamp.txt"] == b"2026-12-15 10:00:00.000000 UTC"
    unread = "timestamp.txt not read, the collection time is used"
    assert report.skipped == [(f"cid/{AID}/timestamp.txt", f"{unread}: not a time"),
                              (f"dan/{AID}/timestamp.txt", f"{unread}: over 100 bytes: not collected"),
                              (f"eve/{AID}/timestamp.txt", f"{unread}: not a time")]
    for student in ("cid", "dan", "eve"):
        assert files[f"{student}/{AID}/timestamp.txt"].startswith(b"20") and files[
            f"{student}/{AID}/timestamp.txt"] != b"2026-12-15 10:00:00.000000 UTC"

    src = tmp_path / "inbox"  # the same from a folder
    (src / "fay" / AID).mkdir(parents=True)
    (src / "fay" / AID / NB).write_bytes(notebook_bytes("fay"))
    (src / "fay" / AID / "timestamp.txt").write_bytes(b"2026-12-14 09:00:00 UTC")
    assert collect(course, src).skipped == []
    assert _files(course)[f"fay/{AID}/timestamp.txt"] == b"2026-12-14 09:00:00.000000 UTC"
