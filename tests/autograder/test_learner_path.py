"""`progress`: each notebook's state, the verdicts kept per notebook digest, the time left and the next step.

The fast tests use a two-notebook course made here and a stand-in runner that reads the verdicts from
outputs the test wrote into the notebook (through the real `summarize`), counting its runs; the slow one
runs a real a1 notebook through `convlab-grade check` and `convlab-grade progress`.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder import cli
from autograder.check_cache import CACHE, cached, check, remember, work_folder
from autograder.cells import nbgrader_meta, strip_solution_markers
from autograder.course import Course, CourseError
from autograder.learner_path import NotebookProgress, course_progress, format_progress, next_step
from autograder.mywork import COPIED, start
from autograder.release import RECORD, file_digest
from autograder.selfcheck import QuestionStatus, summarize

REPO = Path(__file__).resolve().parents[2]
TODO = "raise NotImplementedError()"


def _md(text):
    return nbformat.v4.new_markdown_cell(text)


def _code(source, **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def _released(aid, hours, points):
    """A released notebook: an intro stating ``hours``, one exercise per entry of ``points``."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(_md(f"# {aid}\n\n**Time.** About {hours:g} hours, an estimate."))
    for n, p in enumerate(points, start=1):
        nb.cells += [_md(f"### Exercise {n} ({p} points): `f{n}`"),
                     _code(f"def f{n}():\n    {TODO}", solution=True, grade=False, locked=False, grade_id=f"f{n}"),
                     _code(f"assert f{n}() == {n}", solution=False, grade=False, locked=True, grade_id=f"f{n}_tests"),
                     _code("# Hidden tests for this question run here when your notebook is graded.", solution=False,
                           grade=True, locked=True, points=p, grade_id=f"f{n}_hidden")]
    return nb


def _course(tmp_path) -> Course:
    """x1 (2 hours; 20, 30 and 50 points) and x2 (1.5 hours; two exercises of 10), released with their record."""
    root = tmp_path / "course"
    (root / "solutions").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    for aid, hours, points in [("x1_first", 2, [20, 30, 50]), ("x2_second", 1.5, [10, 10])]:
        folder = root / "assignments" / aid
        folder.mkdir(parents=True)
        path = folder / f"{aid}.ipynb"
        nbformat.write(_released(aid, hours, points), path)
        (folder / RECORD).write_text(json.dumps({path.name: file_digest(path)}))
    return Course(root)


def _error(ename, evalue=""):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def _work(path, answers):
    """Edit the learner's notebook at ``path`` as if run: ``answers`` maps exercise number to
    ``"pass"``, ``"fail"``, ``"error"`` or ``"todo"`` (the outputs a run would leave)."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id", "")
        if not gid.startswith("f") or cell.cell_type != "code":
            continue
        n = int(gid[1:].split("_")[0])
        state = answers.get(n, "todo")
        if gid == f"f{n}" and state != "todo":
            cell.source = f"def f{n}():\n    return {n if state == 'pass' else 0}"
            cell.outputs = [_error("NameError", "name 'np' is not defined")] if state == "error" else []
        elif gid == f"f{n}_tests":
            cell.outputs = ({"todo": [_error("NotImplementedError")], "fail": [_error("AssertionError", "f gives 0")]}
                            .get(state, []))
    nbformat.write(nb, path)


class Runner:
    """Stands in for the self-check: the verdicts of the outputs already in the notebook; counts runs."""

    def __init__(self):
        self.runs = []

    async def __call__(self, path, timeout=120):
        self.runs.append(Path(path).parent.name)
        return summarize(nbformat.read(path, as_version=4))


@pytest.fixture
def course(tmp_path):
    course = _course(tmp_path)
    start(course)
    return course


def _mine(course, aid):
    return course.root / "mywork" / aid / f"{aid}.ipynb"


# --- states ------------------------------------------------------------------------------------
def test_a_copy_as_released_is_not_started_and_is_not_run(course):
    runner = Runner()
    rows = course_progress(course, runner=runner)
    assert [(r.aid, r.state) for r in rows] == [("x1_first", "untouched"), ("x2_second", "untouched")]
    assert runner.runs == []
    assert [s.state for s in rows[0].statuses] == ["unanswered"] * 3
    assert rows[0].points == (20.0, 30.0, 50.0) and rows[0].numbers == (1, 2, 3)


def test_a_copy_only_run_is_still_not_started(course):
    # Run All on an untouched copy leaves outputs and counts but no work: its canonical form is the release's
    nb = nbformat.read(_mine(course, "x1_first"), as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.execution_count = 3
            cell.outputs = [_error("NotImplementedError")]
    nbformat.write(nb, _mine(course, "x1_first"))
    assert course_progress(course, runner=Runner())[0].state == "untouched"


def test_a_copy_of_an_older_release_is_not_started(course):
    # the release changed after `start` copied it: the digest start recorded still says "untouched"
    released = course.assignments / "x1_first" / "x1_first.ipynb"
    nbformat.write(_released("x1_first", 2.5, [20, 30, 50]), released)
    (released.parent / RECORD).write_text(json.dumps({released.name: file_digest(released)}))
    assert course_progress(course, runner=Runner())[0].state == "untouched"
    _work(_mine(course, "x1_first"), {1: "pass"})
    assert course_progress(course, runner=Runner())[0].state == "checked"


def test_a_missing_copy_is_not_started(course):
    shutil.rmtree(course.root / "mywork" / "x2_second")
    row = course_progress(course, runner=Runner())[1]
    assert (row.state, row.passed, len(row.statuses), row.hours_left) == ("missing", 0, 2, 1.5)


def test_each_exercise_of_a_started_notebook_gets_its_verdict(course):
    _work(_mine(course, "x1_first"), {1: "pass", 2: "fail", 3: "error"})
    _work(_mine(course, "x2_second"), {1: "pass"})
    runner = Runner()
    x1, x2 = course_progress(course, runner=runner)
    assert runner.runs == ["x1_first", "x2_second"]
    assert [s.state for s in x1.statuses] == ["pass", "fail", "error"]
    assert [s.state for s in x2.statuses] == ["pass", "unanswered"]
    table = format_progress([x1, x2])
    assert "    1 pass   2 FAIL   3 ERROR" in table
    assert "    1 pass   2 todo" in table


def test_a_notebook_that_cannot_be_read_is_reported_and_the_others_still_are(course):
    _mine(course, "x1_first").write_text("{ not a notebook")
    _work(_mine(course, "x2_second"), {1: "pass", 2: "pass"})
    x1, x2 = course_progress(course, runner=Runner())
    assert x1.state == "broken" and "JSON" in x1.detail
    assert x1.hours_left == 2.0
    assert x2.state == "checked" and x2.passed == 2
    assert "could not run" in format_progress([x1, x2])


# --- the record: reused while the bytes are the same ---------------------------------------------
def test_an_unchanged_notebook_reuses_its_verdicts_and_an_edited_one_is_checked_again(course):
    _work(_mine(course, "x1_first"), {1: "pass"})
    first = Runner()
    assert course_progress(course, runner=first)[0].reused is False
    assert first.runs == ["x1_first"]
    record = json.loads((course.root / "mywork" / CACHE).read_text())
    assert record["notebooks"]["x1_first/x1_first.ipynb"]["sha256"] == file_digest(_mine(course, "x1_first"))

    again = Runner()
    row = course_progress(course, runner=again)[0]
    assert again.runs == [] and row.reused and [s.state for s in row.statuses] == ["pass", "unanswered", "unanswered"]
    assert "(unchanged since its last check)" in format_progress([row])

    _work(_mine(course, "x1_first"), {1: "pass", 2: "pass"})
    edited = Runner()
    row = course_progress(course, runner=edited)[0]
    assert edited.runs == ["x1_first"] and not row.reused and row.passed == 2

    forced = Runner()
    course_progress(course, runner=forced, recheck=True)
    assert forced.runs == ["x1_first"]


def test_a_torn_record_is_ignored_and_rewritten_whole(course):
    _work(_mine(course, "x1_first"), {1: "pass"})
    (course.root / "mywork" / CACHE).write_text('{"format": 2, "notebooks": {"x1_first/x1_')
    runner = Runner()
    course_progress(course, runner=runner)
    assert runner.runs == ["x1_first"]
    assert json.loads((course.root / "mywork" / CACHE).read_text())["format"] == 2
    assert sorted(p.name for p in (course.root / "mywork").iterdir() if p.is_file()) == [COPIED, CACHE]


def test_check_refreshes_the_record_progress_reads(course):
    # `convlab-grade check` and Validate go through check_cache.check: their verdict is what progress reuses
    mine = _mine(course, "x1_first")
    _work(mine, {1: "pass", 2: "fail"})
    assert work_folder(mine) == (course.root / "mywork").resolve()
    statuses, reused = check(mine, runner=Runner())
    assert not reused
    assert cached(course.root / "mywork", "x1_first/x1_first.ipynb", file_digest(mine)) == statuses
    runner = Runner()
    assert course_progress(course, runner=runner)[0].reused and runner.runs == []


def test_check_outside_a_work_folder_leaves_nothing(course):
    released = course.assignments / "x1_first" / "x1_first.ipynb"
    assert work_folder(released) is None
    check(released, runner=Runner())
    assert not (course.assignments / CACHE).exists()


def test_a_record_for_other_bytes_is_not_used(tmp_path):
    remember(tmp_path, "a/a.ipynb", "0" * 64, [QuestionStatus("Exercise 1 (5 points) f", "pass", "ok")])
    assert cached(tmp_path, "a/a.ipynb", "0" * 64) == [QuestionStatus("Exercise 1 (5 points) f", "pass", "ok")]
    assert cached(tmp_path, "a/a.ipynb", "1" * 64) is None
    assert cached(tmp_path, "b/b.ipynb", "0" * 64) is None


# --- time left ---------------------------------------------------------------------------------
def _row(states, points, hours, state="checked"):
    statuses = tuple(QuestionStatus(f"Exercise {n} ({p:g} points) f{n}", s) for n, (s, p) in
                     enumerate(zip(states, points), start=1))
    return NotebookProgress("x1_first", Path("mywork/x1_first/x1_first.ipynb"), state, statuses,
                            tuple(float(p) for p in points), tuple(range(1, len(points) + 1)), hours)


def test_time_left_is_the_estimate_scaled_by_the_points_not_passing():
    row = _row(["pass", "fail", "pass"], [20, 30, 50], 2.0)
    assert row.passed_points == 70 and row.total_points == 100
    assert row.hours_left == pytest.approx(0.6)
    assert _row(["pass", "pass"], [10, 10], 1.5).hours_left == 0
    assert _row(["unanswered", "error"], [10, 10], 1.5).hours_left == 1.5
    course = format_progress([_row(["pass", "fail", "pass"], [20, 30, 50], 2.0),
                              _row(["pass", "unanswered"], [10, 10], 1.5)]).splitlines()[-1]
    assert course.split() == ["course", "3", "/", "5", "80", "/", "120", "1.4", "h"]  # 0.6 + 0.75


def test_a_notebook_without_an_estimate_shows_a_question_mark():
    lines = format_progress([_row(["fail"], [10], None), _row(["fail"], [10], 2.0)]).splitlines()
    assert lines[3].split()[-1] == "?"
    assert lines[-1].endswith("2.0 h + ?")


# --- the next step -----------------------------------------------------------------------------
def test_the_next_step_is_the_first_exercise_in_course_order_that_does_not_pass(course):
    _work(_mine(course, "x1_first"), {1: "pass", 2: "fail", 3: "pass"})
    _work(_mine(course, "x2_second"), {1: "pass"})
    step = next_step(course_progress(course, runner=Runner()), course.root)
    where = "mywork/x1_first/x1_first.ipynb"
    assert step == (f"Next: Exercise 2 (30 points) f2 in {where} fails its visible tests (AssertionError: f gives 0). "
                    f"Fix it, then run `convlab-grade check {where}`; stuck? `convlab-grade hint {where} 2`")


def test_the_next_step_for_each_kind_of_exercise(course):
    _work(_mine(course, "x1_first"), {1: "pass", 2: "pass", 3: "error"})
    step = next_step(course_progress(course, runner=Runner()), course.root)
    assert step.startswith("Next: Exercise 3 (50 points) f3 in mywork/x1_first/x1_first.ipynb raises an error "
                           "(your cell raised NameError: name 'np' is not defined)")
    _work(_mine(course, "x1_first"), {1: "pass", 2: "pass", 3: "pass"})
    _work(_mine(course, "x2_second"), {1: "pass"})
    step = next_step(course_progress(course, runner=Runner()), course.root)
    assert step.startswith("Next: write Exercise 2 (10 points) f2 in mywork/x2_second/x2_second.ipynb, then run "
                           "`convlab-grade check mywork/x2_second/x2_second.ipynb`")
    _work(_mine(course, "x2_second"), {1: "pass", 2: "pass"})
    assert next_step(course_progress(course, runner=Runner()), course.root).startswith("Next: nothing left")


def test_the_next_step_of_a_course_not_begun_opens_the_first_notebook(course):
    step = next_step(course_progress(course, runner=Runner()), course.root)
    assert step == ("Next: open mywork/x1_first/x1_first.ipynb and start with Exercise 1 (20 points) f1; then run "
                    "`convlab-grade check mywork/x1_first/x1_first.ipynb`")
    shutil.rmtree(course.root / "mywork" / "x1_first")
    assert next_step(course_progress(course, runner=Runner()), course.root).startswith(
        "Next: start x1_first: run `make lab` (or `convlab-grade start`)")


# --- the command -------------------------------------------------------------------------------
def test_progress_without_a_work_folder_says_how_to_make_one_in_one_line(tmp_path, capsys):
    course = _course(tmp_path)
    assert cli.main(["--course", str(course.root), "progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("convlab-grade: no work folder mywork/: run `make lab` (or `convlab-grade start`)")
    assert cli.main(["--course", str(course.root), "progress", str(tmp_path / "elsewhere")]) == 2
    assert f"no work folder {tmp_path / 'elsewhere'}" in capsys.readouterr().err
    with pytest.raises(CourseError):
        course_progress(course)


def test_progress_prints_the_table_and_the_next_step_and_exits_0(course, capsys):
    # nothing started: nothing runs, so this needs no kernel
    assert cli.main(["--course", str(course.root), "progress"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[2].split() == ["assignment", "exercises", "points", "time", "left"]
    assert out[3].split() == ["x1_first", "0", "/", "3", "0", "/", "100", "2.0", "h"]
    assert out[-3].split() == ["course", "0", "/", "5", "0", "/", "120", "3.5", "h"]
    assert out[-1].startswith("Next: open mywork/x1_first/x1_first.ipynb")


# --- a real notebook ---------------------------------------------------------------------------
@pytest.mark.slow
def test_check_and_progress_on_a_real_a1(tmp_path, capsys):
    # a course holding only a1, worked through with the solution's answers except the last (7)
    aid = "a1_volumes"
    root = tmp_path / "course"
    shutil.copytree(REPO / "assignments" / aid, root / "assignments" / aid)
    shutil.copy(REPO / "nbgrader_config.py", root)
    course = Course(root)
    start(course)
    mine = _mine(course, aid)
    solved = {nbgrader_meta(c).get("grade_id"): c.source for c in
              nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4).cells}
    nb = nbformat.read(mine, as_version=4)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and gid != "stacked_receptive_field":
            cell.source = strip_solution_markers(solved[gid])
    nbformat.write(nb, mine)

    assert cli.main(["--course", str(root), "progress"]) == 0
    out = capsys.readouterr().out
    assert "1 pass   2 pass   3 pass   4 pass   5 pass   6 pass   7 todo" in out
    assert "Next: write Exercise 7 (10 points) stacked_receptive_field in mywork/a1_volumes/a1_volumes.ipynb" in out

    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == "stacked_receptive_field":
            cell.source = strip_solution_markers(solved["stacked_receptive_field"])
    nbformat.write(nb, mine)
    assert cli.main(["check", str(mine)]) == 0  # check records its verdict for these bytes ...
    capsys.readouterr()

    async def must_not_run(path, timeout=120):
        raise AssertionError("progress ran a notebook check had just checked")

    row = course_progress(course, runner=must_not_run)[0]  # ... and progress reuses it
    assert row.reused and row.passed == 8 and row.hours_left == 0
    assert next_step([row], root).startswith("Next: nothing left")


def test_a_pass_the_diagnosis_doubts_is_not_counted_and_is_the_next_step(tmp_path):
    """A hard-coded answer passes its visible tests; the diagnosis says so, and progress does not count it."""
    doubted = QuestionStatus("Exercise 1 (4 points) out_size", "pass", "1 visible test cell(s)",
                             ("diagnosis: passes the visible tests but fails on other inputs",))
    assert not doubted.passes and QuestionStatus("Exercise 1 (4 points) out_size", "pass").passes
    cache = tmp_path / "mywork"
    cache.mkdir()
    remember(cache, "x.ipynb", "d1", [doubted])
    assert cached(cache, "x.ipynb", "d1") == [doubted], "the diagnosis survives the cache"
    row = NotebookProgress("x1_first", Path("mywork/x1_first/x1_first.ipynb"), "checked",
                           (QuestionStatus("Exercise 1 (4 points) f1", "pass"), doubted), (4.0, 6.0), (1, 2), 1.0)
    assert row.passed == 1 and row.passed_points == 4 and row.hours_left == pytest.approx(0.6)
    assert "2 pass?" in format_progress([row])
    step = next_step([row], Path.cwd())
    assert step.startswith("Next: Exercise 1 (4 points) out_size in mywork/x1_first/x1_first.ipynb passes its visible "
                           "tests, but the diagnosis finds a problem (diagnosis: passes the visible tests but fails "
                           "on other inputs). Fix it"), step
