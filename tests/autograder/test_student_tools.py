"""The student's side: `check` counts exercises, `start` fills mywork/ without overwriting, and the Lab's
Validate button (autograder.lab, enabled by lab-config/ as `make lab` does) answers what `check` answers."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, new_fixture_course  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.mutants import apply_mutant, mutants_of  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.mywork import start  # noqa: E402
from autograder.selfcheck import format_report, self_check, summarize  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
A1 = "a1_volumes"


# --- check: one line per exercise --------------------------------------------------------------
def _code(source, outputs=(), **nbgrader):
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = list(outputs)
    if nbgrader:
        cell.metadata["nbgrader"] = nbgrader
    return cell


def _error(ename, evalue):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[])


def test_summarize_reports_one_line_per_exercise_named_by_its_heading():
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# Assignment\n## 1. Forward"),
        md("## 1. The pass\n### Exercise 1 (30 points): `conv_forward_naive`"),
        _code("def f(): ...", solution=True, grade_id="f"),
        _code("assert f() is None", locked=True, grade_id="f_tests"),
        _code("# Hidden tests for this question run here when your notebook is graded.", locked=True,
              grade=True, grade_id="f_hidden", points=30),
        md("### Exercise 2 (10 points): dilation in both loops"),  # no answer cell of its own
        _code("assert f(d=2) == 1", [_error("AssertionError", "dilation 2 gives 1")], locked=True, grade_id="d_tests"),
        md("### Exercise 3 (15 points): two answers"),
        _code("def g(): ...", solution=True, grade_id="g"),
        _code("g()", locked=True, grade_id="g_tests"),
        _code("def h(): raise NotImplementedError()", solution=True, grade_id="h"),
        _code("h()", [_error("NotImplementedError", "")], locked=True, grade_id="h_tests"),
        md("### Exercise 4 (1 point): a plot"),
        _code("plot(g())"),  # a demo cell: neither answer nor test
    ]
    statuses = summarize(nb)
    assert [(s.question, s.state) for s in statuses] == [
        ("Exercise 1 (30 points) conv_forward_naive", "pass"),
        ("Exercise 2 (10 points) dilation in both loops", "fail"),
        ("Exercise 3 (15 points) two answers", "unanswered"),
        ("Exercise 4 (1 point) a plot", "pass")]
    report = format_report("a.ipynb", statuses).splitlines()
    assert report[0] == "a.ipynb: 2 of 4 exercises pass their visible tests"
    assert report[1] == "  Exercise 1 (30 points) conv_forward_naive: pass - 1 visible test cell(s)"
    assert report[2] == "  Exercise 2 (10 points) dilation in both loops: FAIL - AssertionError: dilation 2 gives 1"
    assert report[3] == "  Exercise 3 (15 points) two answers: todo - replace `raise NotImplementedError()`"
    assert report[4] == "  Exercise 4 (1 point) a plot: pass - no visible tests"


@pytest.mark.slow
def test_check_on_the_a2_release_counts_its_six_exercises(capsys):
    assert cli.main(["check", str(REPO / "assignments" / "a2_naive_conv" / "a2_naive_conv.ipynb")]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "a2_naive_conv.ipynb: 0 of 6 exercises pass their visible tests"
    assert [ln.split(":")[0].strip() for ln in lines[1:7]] == [
        "Exercise 1 (30 points) conv_forward_naive", "Exercise 2 (35 points) conv_backward_naive",
        "Exercise 3 (10 points) dilation in both loops", "Exercise 4 (10 points) conv1x1_matmul",
        "Exercise 5 (15 points) conv_backward_x_via_conv", "Exercise 6 (10 points) Check your understanding"]
    assert all(ln.split(": ")[1].startswith("todo") for ln in lines[1:7]), lines


# --- check: understanding questions are judged where the course's checks.py is beside the notebook ---
QUESTION_CHECKS = """\
from autograder.questions import question

CHECKS = [question("q_depth", "q_depth_hidden", 32), question("q_pick", "q_pick_hidden", "B", choices="ABC")]
"""


def _question_notebook(depth: str, pick: str):
    """A released notebook with one function exercise and an exercise of two questions, answered as given."""
    md = nbformat.v4.new_markdown_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("# T1"), md("### Exercise 1 (5 points): `f`"), _code("def f():\n    return 1", solution=True,
                                                                      grade_id="f"),
                _code("assert f() == 1", locked=True, grade_id="f_tests"),
                md("### Exercise 2 (4 points): Check your understanding\n\n**Question 1.** The depth?")]
    for name, answer, form in [("q_depth", depth, "isinstance(q_depth, int)"), ("q_pick", pick, "q_pick.upper() in 'ABC'")]:
        answer_cell = _code(answer, solution=True, grade_id=name)
        answer_cell.metadata["tags"] = ["question"]
        nb.cells += [answer_cell, _code(f"assert {form}, 'the form'", locked=True, grade_id=f"{name}_form"),
                     _code("# The hidden test runs here when your notebook is graded.", locked=True, grade=True,
                           grade_id=f"{name}_hidden", points=2)]
    return nb


@pytest.mark.slow
def test_check_judges_the_questions_against_the_course_checks_beside_the_notebook(tmp_path):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    (tmp_path / "solutions" / "t1").mkdir(parents=True)
    (tmp_path / "solutions" / "t1" / "checks.py").write_text(QUESTION_CHECKS)
    path = tmp_path / "mywork" / "t1" / "t1.ipynb"
    path.parent.mkdir(parents=True)
    judged = "(judged against solutions/t1/checks.py)"
    for depth, pick, state, detail in [
            ("q_depth = 32", "q_pick = 'b'", "pass", f"all 2 answers right {judged}"),
            ("q_depth = 16", "q_pick = 'B'", "fail", f"question 1 (q_depth): not the expected answer {judged}"),
            ("q_depth = 16", "q_pick = 'C'", "fail", "question 1 (q_depth): not the expected answer; "
                                                     f"question 2 (q_pick): not the expected answer {judged}"),
            ("q_depth = 16.5", "q_pick = 'B'", "fail", "AssertionError: the form"),  # the form first, unjudged
            ("raise NotImplementedError()", "q_pick = 'B'", "unanswered", "replace `raise NotImplementedError()`")]:
        nbformat.write(_question_notebook(depth, pick), path)
        statuses = self_check(path)
        assert [s.state for s in statuses] == ["pass", state], (depth, pick, statuses)
        assert statuses[1].detail == detail
        assert "32" not in format_report(path.name, statuses), "the right answer is never shown"
    # the release alone (no solutions/ beside it): the answers wait for grading
    (tmp_path / "solutions" / "t1" / "checks.py").unlink()
    nbformat.write(_question_notebook("q_depth = 16", "q_pick = 'B'"), path)
    statuses = self_check(path)
    assert [(s.state, s.detail) for s in statuses] == [
        ("pass", "1 visible test cell(s)"),
        ("pass", "2 visible test cell(s); the answers are judged when your notebook is graded")]


# --- start: mywork/ is filled, never overwritten ---------------------------------------------------
def test_start_copies_what_is_missing_and_never_overwrites(tmp_path):
    course = new_fixture_course(tmp_path / "course")
    released = course.assignments / AID / f"{AID}.ipynb"
    mine = course.root / "mywork" / AID / f"{AID}.ipynb"

    lines = start(course)
    assert [(ln.action, ln.text) for ln in lines] == [
        ("copied", f"copied assignments/{AID}/{AID}.ipynb -> mywork/{AID}/{AID}.ipynb")]
    assert mine.read_bytes() == released.read_bytes()
    assert not (course.root / "mywork" / AID / ".convlab-release.json").exists(), "the release's record stays there"

    mine.write_text(mine.read_text() + " ")  # the student's work
    work = mine.read_bytes()
    assert [ln.action for ln in start(course)] == ["kept"]
    assert mine.read_bytes() == work

    released.write_text(released.read_text().replace("tiny assignment", "tiny updated assignment"))
    lines = start(course)
    assert [ln.action for ln in lines] == ["kept, release updated"]
    assert f"assignments/{AID}/{AID}.ipynb was updated since you copied it" in lines[0].text
    assert "rename your copy" in lines[0].text
    assert mine.read_bytes() == work, "an updated release is reported, not applied"

    mine.rename(mine.with_name("old.ipynb"))  # what the message says to do
    assert [ln.action for ln in start(course)] == ["copied"]  # old.ipynb is yours: not listed, not touched
    assert mine.read_bytes() == released.read_bytes() and mine.with_name("old.ipynb").read_bytes() == work


def test_mywork_is_git_ignored():
    probe = subprocess.run(["git", "check-ignore", "-q", "mywork/a1_volumes/a1_volumes.ipynb"], cwd=REPO)
    assert probe.returncode == 0, "mywork/ must be git-ignored: git pull must never touch it"


# --- the Lab's Validate button --------------------------------------------------------------------
TOKEN = "convlab-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(port, path, method="GET", body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", method=method, data=body,
                                 headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(req, timeout=300) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab with the repository's lab-config/ (as `make lab` starts it) on three copies of a1:
    the untouched release, the solution as a student would hand it in, and one wrong answer."""
    tmp = tmp_path_factory.mktemp("lab")
    root = tmp / "mywork"
    solution = REPO / "solutions" / A1 / f"{A1}.ipynb"
    (root / "untouched").mkdir(parents=True)
    (root / "untouched" / f"{A1}.ipynb").write_bytes((REPO / "assignments" / A1 / f"{A1}.ipynb").read_bytes())
    make_submission(solution, None, root / "solved" / f"{A1}.ipynb")
    no_bias = next(m for m in mutants_of(Course(REPO), A1) if m.name == "params_forgot_bias")  # Exercise 6 only
    make_submission(solution, {no_bias.grade_id: apply_mutant(solution, no_bias)}, root / "wrong" / f"{A1}.ipynb")
    port = _free_port()
    env = dict(os.environ, JUPYTER_CONFIG_PATH=str(REPO / "lab-config"), JUPYTER_CONFIG_DIR=str(tmp / "home-config"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"))
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", f"--ServerApp.port={port}",
           "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root}", f"--IdentityProvider.token={TOKEN}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = (tmp / "lab.log").open("w")
    server = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if _request(port, "api/status")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp / "lab.log").read_text()
            time.sleep(0.5)
        yield port, root, tmp / "lab.log"
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def _validate(port, notebook):
    """What the toolbar's Validate button sends (after its version check): POST with the path as a query."""
    assert _request(port, "nbgrader_version?version=0.9.6") == (200, json.dumps({"success": True}))
    status, text = _request(port, f"assignments/validate?path={notebook}", method="POST", body=b"")
    assert status == 200, text
    return json.loads(text)


def _check_output(capsys, path) -> str:
    cli.main(["check", str(path)])
    return capsys.readouterr().out.rstrip("\n")


@pytest.mark.slow
def test_validate_on_the_untouched_release_lists_every_exercise_as_todo(lab, capsys):
    port, root, _ = lab
    reply = _validate(port, f"untouched/{A1}.ipynb")
    assert reply["success"] is True and reply["value"] != {}, "an untouched release must not be a success"
    [failed] = reply["value"]["failed"]
    report = failed["source"].splitlines()
    assert report[0] == f"{A1}.ipynb: 0 of 8 exercises pass their visible tests"
    assert len(report) == 10 and all(": todo - " in ln for ln in report[1:9]), report
    assert "Exercise 2 (20 points) conv_output_size: todo" in failed["source"]
    assert failed["source"] == _check_output(capsys, root / "untouched" / f"{A1}.ipynb"), "the same lines as check"


@pytest.mark.slow
def test_validate_on_a_solved_copy_is_a_success(lab):
    port, _, _ = lab
    assert _validate(port, f"solved/{A1}.ipynb") == {"success": True, "value": {}}


@pytest.mark.slow
def test_validate_with_one_wrong_answer_names_that_exercise(lab, capsys):
    port, root, _ = lab
    reply = _validate(port, f"wrong/{A1}.ipynb")
    [failed] = reply["value"]["failed"]
    lines = failed["source"].splitlines()
    assert lines[0] == f"{A1}.ipynb: 7 of 8 exercises pass their visible tests"
    assert [ln for ln in lines[1:10] if ": pass - " not in ln] == [
        "  Exercise 6 (15 points) parameters with and without sharing: FAIL - AssertionError: AlexNet conv1 with "
        "sharing has 34,944 parameters, got 34,848",
        "      diagnosis: every filter has a bias (+ K with sharing), and without sharing every neuron has its own"]
    assert failed["source"] == _check_output(capsys, root / "wrong" / f"{A1}.ipynb")


@pytest.mark.slow
def test_the_student_lab_is_local_offline_and_has_no_instructor_panels(lab):
    port, _, log = lab
    assert _request(port, "assignments/validate?path=../outside.ipynb", method="POST", body=b"")[0] == 403
    assert _request(port, "formgrader")[0] == 404, "nbgrader's formgrader server extension is off"
    status, page = _request(port, "lab")
    assert status == 200
    config = json.loads(page.split('id="jupyter-config-data" type="application/json">')[1].split("</script>")[0])
    assert config["news"] == {"disabled": True}
    assert config["extensionManager"]["can_install"] is False
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
            "@jupyterlab/extensionmanager-extension"} <= set(config["disabledExtensions"])
    assert "@jupyter/nbgrader:validate-assignment" not in config["disabledExtensions"]
    assert "@jupyter-widgets/jupyterlab-manager" in {e["name"] for e in config["federated_extensions"]}
    assert _request(port, "lab/api/update")[1] in ("null", '{"notification": null}'), "no update check"
    assert f"http://127.0.0.1:{port}/lab" in log.read_text(), "bound to loopback by lab-config/"


def test_start_lang_zh_copies_the_chinese_edition_under_the_same_names(tmp_path):
    from autograder.editions import notebook_edition  # noqa: PLC0415

    mywork = tmp_path / "mywork"
    lines = start(Course(REPO), dest=mywork, edition="zh")
    assert f"copied assignments-zh/{A1}/{A1}.ipynb -> {mywork}/{A1}/{A1}.ipynb" in [ln.text for ln in lines]
    mine = nbformat.read(mywork / A1 / f"{A1}.ipynb", as_version=4)
    assert notebook_edition(mine) == "zh" and "数据体（volume）" in mine.cells[0].source
    # the English edition has the same names: a copy in either language is the student's and is kept
    assert {ln.action for ln in start(Course(REPO), dest=mywork)} == {"kept"}
    assert cli.build_parser().parse_args(["start", "--lang", "zh"]).lang == "zh"
