"""The instructor's and the student's commands: check, release, status, the sandbox refusal, demo.

``collect`` has its own module, ``test_collect.py``.
"""

import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
from ag_support import AID, copy_course, new_fixture_course  # noqa: E402

from autograder import cli  # noqa: E402
from autograder.course import Course  # noqa: E402
from autograder.demo import pick_mutants, run_demo  # noqa: E402
from autograder.mutants import MutantError, apply_mutant, mutants_of, parse_mutant, read_mutant  # noqa: E402
from autograder.grading import SubmissionResult, report_path  # noqa: E402
from autograder.release import RECORD, ReleaseOverwriteError, find_leaks, release  # noqa: E402
from autograder.reports import status_rows  # noqa: E402
from autograder.sandbox import bwrap_problem  # noqa: E402
from autograder.testing import make_submission  # noqa: E402

NB = f"{AID}.ipynb"


def _notebook_bytes(text: str) -> bytes:
    """A one-cell notebook holding ``text`` (same text, same bytes)."""
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(text, id="only-cell"))
    return nbformat.writes(nb).encode()


def _tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- the bare fixture course -------------------------------------------------------------------
@pytest.fixture
def bare_course(tmp_path) -> Course:
    """The fixture course, not released (status needs only solutions/)."""
    return new_fixture_course(tmp_path / "course", released=False)


# --- status ------------------------------------------------------------------------------------
def _write_report(course: Course, student: str, score: float, status: str) -> None:
    import json  # noqa: PLC0415
    from dataclasses import asdict  # noqa: PLC0415

    result = SubmissionResult(student, AID, score, 10.0, status, [f"note of {student}"],
                              flags=[f"flag of {student}"] if status == "graded" else [])
    path = report_path(course, AID, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(result)))


def test_status_graded_failed_pending(bare_course, capsys):
    for student in ["gina", "fred", "pete", "nora"]:
        folder = bare_course.submitted / student / AID
        folder.mkdir(parents=True)
        (folder / NB).write_bytes(_notebook_bytes(student))
    _write_report(bare_course, "gina", 7.5, "graded")
    _write_report(bare_course, "fred", 0.0, "failed")
    _write_report(bare_course, "pete", 9.0, "graded")
    later = time.time() + 60  # pete re-submitted after his grading
    os.utime(bare_course.submitted / "pete" / AID / NB, (later, later))

    rows = {r["student"]: r for r in status_rows(bare_course)}
    assert {s: r["status"] for s, r in rows.items()} == {
        "fred": "failed", "gina": "graded", "nora": "pending", "pete": "pending"}
    assert rows["gina"]["score"] == "7.5" and rows["gina"]["max_score"] == "10.0"
    assert rows["gina"]["notes"] == "note of gina" and rows["gina"]["flags"] == "flag of gina"
    assert rows["pete"]["score"] == "" and rows["nora"]["score"] == ""

    assert cli.main(["--course", str(bare_course.root), "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["student", "assignment", "score", "max_score", "status"]
    assert [ln.split()[0] for ln in lines[1:]] == ["fred", "gina", "nora", "pete"]
    assert lines[2].split() == ["gina", AID, "7.5", "10", "graded"]
    assert lines[3].split() == ["nora", AID, "pending"]


# --- the sandbox refusal -------------------------------------------------------------------------
@pytest.fixture
def no_bwrap(monkeypatch, tmp_path):
    """A PATH on which bwrap cannot be found (bwrap_problem's cache is cleared both ways)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    bwrap_problem.cache_clear()
    yield
    monkeypatch.undo()
    bwrap_problem.cache_clear()


def test_grading_refuses_without_bwrap_and_says_why(bare_course, no_bwrap, capsys):
    assert bwrap_problem() is not None
    code = cli.main(["--course", str(bare_course.root), "grade", AID])
    err = capsys.readouterr().err
    assert code == 2
    assert "refusing to grade without the sandbox" in err
    assert "bubblewrap (bwrap) is not installed" in err and "apt-get install bubblewrap" in err
    assert "--unsafe-no-sandbox" in err
    assert not bare_course.gradebook.exists(), "nothing ran"
    # With the explicit flag the sandbox check is skipped (and the next problem is reported).
    code = cli.main(["--course", str(bare_course.root), "grade", AID, "--unsafe-no-sandbox"])
    captured = capsys.readouterr()
    assert code == 2 and "refusing" not in captured.err and "run `convlab-grade release" in captured.err
    assert "WARNING: grading without the sandbox" in captured.err


# --- release -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_release_is_byte_identical_when_run_again(graded, tmp_path, capsys):
    course = copy_course(graded[0], tmp_path / "course")  # released once, then graded
    first = _tree(course.assignments)
    assert first and all(not name.endswith("checks.py") for name in first)
    release(course)
    assert _tree(course.assignments) == first, "a second release changed bytes"
    assert find_leaks(course, AID) == []
    # Elsewhere (another root path, another gradebook), through the CLI into an outside folder.
    out = tmp_path / "elsewhere"
    gradebook_before = course.gradebook.read_bytes()
    assert cli.main(["--course", str(course.root), "release", "--out", str(out)]) == 0
    assert f"released {AID}" in capsys.readouterr().out
    assert _tree(out) == first
    assert course.gradebook.read_bytes() == gradebook_before, "release --out leaves the course alone"


def _with_output(path: Path) -> None:
    """What a student's run leaves in a released notebook: an output in its first code cell."""
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if c.cell_type == "code")
    cell.outputs = [nbformat.v4.new_output("stream", text="my work\n")]
    nbformat.write(nb, path)


def test_release_refuses_to_replace_changed_files_without_force(tmp_path, capsys):
    course = new_fixture_course(tmp_path / "course")  # released once: the record is written
    released = course.assignments / AID / NB
    fresh = released.read_bytes()
    assert json.loads((course.assignments / AID / RECORD).read_text()) == {NB: hashlib.sha256(fresh).hexdigest()}

    # unchanged: released again without a word
    assert cli.main(["--course", str(course.root), "release", AID]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and f"released {AID}" in captured.out and released.read_bytes() == fresh

    # a student's run (outputs), an edit without a run, a file of their own: each refused, nothing touched
    nb = nbformat.read(released, as_version=4)
    nb.cells[3].source += "\n# my answer"
    for change, why in [(_with_output, "was modified after the release wrote it"),
                        (lambda p: nbformat.write(nb, p), "was modified after the release wrote it"),
                        (lambda p: (p.parent / "notes.txt").write_text("mine"), "notes.txt was not written by the release")]:
        change(released)
        before = _tree(course.assignments)
        assert cli.main(["--course", str(course.root), "release", AID]) == 2
        err = capsys.readouterr().err
        assert "refusing to release over changed files" in err and why in err and "--force" in err, err
        assert _tree(course.assignments) == before, "a refused release writes nothing"
        (course.assignments / AID / "notes.txt").unlink(missing_ok=True)
    # --force replaces them with the release
    assert cli.main(["--course", str(course.root), "release", AID, "--force"]) == 0
    assert released.read_bytes() == fresh
    # a release folder from before records existed: canonical notebooks pass, a run one is refused
    (course.assignments / AID / RECORD).unlink()
    release(course, [AID])
    (course.assignments / AID / RECORD).unlink()
    _with_output(released)
    with pytest.raises(ReleaseOverwriteError, match="has outputs or edits"):
        release(course, [AID])
    # `--out` protects its target the same way
    out = tmp_path / "elsewhere"
    assert cli.main(["--course", str(course.root), "release", "--out", str(out)]) == 0
    _with_output(out / AID / NB)
    assert cli.main(["--course", str(course.root), "release", "--out", str(out)]) == 2
    assert "was modified after the release wrote it" in capsys.readouterr().err


def test_release_writes_every_edition_with_its_record_and_guards_it(tmp_path, capsys):
    course = new_fixture_course(tmp_path / "course")
    english, chinese = course.assignments / AID / NB, course.release_dir("zh") / AID / NB
    rc = chinese.parent / "matplotlibrc"  # the edition's own file: plot text in a CJK font
    assert json.loads((chinese.parent / RECORD).read_text()) == {
        NB: hashlib.sha256(chinese.read_bytes()).hexdigest(), rc.name: hashlib.sha256(rc.read_bytes()).hexdigest()}
    assert "Noto Sans CJK SC" in rc.read_text() and not (english.parent / rc.name).exists()
    en_nb, zh_nb = nbformat.read(english, as_version=4), nbformat.read(chinese, as_version=4)
    assert [c.id for c in en_nb.cells] == [c.id for c in zh_nb.cells] and zh_nb.metadata["convlab"] == {"edition": "zh"}
    zh_nb.cells[0].source += " 我的笔记"  # a student working in the Chinese release folder
    nbformat.write(zh_nb, chinese)
    assert cli.main(["--course", str(course.root), "release", AID]) == 2
    assert f"{chinese} was modified after the release wrote it" in capsys.readouterr().err
    assert cli.main(["--course", str(course.root), "release", AID, "--force"]) == 0
    out = tmp_path / "elsewhere"
    assert cli.main(["--course", str(course.root), "release", AID, "--out", str(out)]) == 0
    assert (out / AID / NB).read_bytes() == english.read_bytes()
    assert (tmp_path / "elsewhere-zh" / AID / NB).read_bytes() == chinese.read_bytes()


# --- check (the student's self-check) ----------------------------------------------------------
@pytest.mark.slow
def test_check_blank_release_lists_every_question_as_todo(graded, capsys):
    code = cli.main(["check", str(graded[0].assignments / AID / NB)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[0] == f"{NB}: 0 of 3 exercises pass their visible tests"
    assert [ln.split(": ", 1)[0].strip() for ln in lines[1:4]] == [
        "Exercise 1 (4 points) output size", "Exercise 2 (3 points) ReLU and its gradient",
        "Exercise 3 (3 points) 1-D max pooling"], "one line per exercise, named by its heading"
    assert [ln.split(": ", 1)[1].split()[0] for ln in lines[1:4]] == ["todo", "todo", "todo"]
    assert "NotImplementedError" in lines[1]
    assert lines[-1] == "(Hidden tests run only when your notebook is graded.)"


@pytest.mark.slow
def test_check_solved_notebook_pass_fail_todo(graded, tmp_path, capsys):
    solution = graded[0].solutions / AID / NB
    solved = make_submission(solution, None, tmp_path / "solved" / NB)
    assert solved is not None
    assert cli.main(["check", str(tmp_path / "solved" / NB)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{NB}: 3 of 3 exercises pass their visible tests"
    assert all(ln.split(": ", 1)[1].startswith("pass") for ln in lines[1:4]), lines

    mixed = {"relu": "def relu(x):\n    return x\n\n\ndef relu_grad(x, dout):\n    return dout * (x > 0)\n",
             "pool1d": "def pool1d(x, size, stride):\n    raise NotImplementedError()\n"}
    make_submission(solution, mixed, tmp_path / "mixed" / NB)
    before = (tmp_path / "mixed" / NB).read_bytes()
    assert cli.main(["check", str(tmp_path / "mixed" / NB)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{NB}: 1 of 3 exercises pass their visible tests"
    by_exercise = {ln.split()[1]: ln.split(": ", 1)[1] for ln in lines[1:4]}
    assert by_exercise["1"].startswith("pass")
    assert by_exercise["2"].startswith("FAIL")
    assert "AssertionError: relu([-1, 2, -3, 4]) should be [0, 2, 0, 4]" in by_exercise["2"]
    assert by_exercise["3"].startswith("todo")
    assert (tmp_path / "mixed" / NB).read_bytes() == before, "check never modifies the notebook"


# --- demo --------------------------------------------------------------------------------------
# Patches on the fixture course's answers: the bugs of fixtures/adversarial.py (OUT_SIZE_HARDCODED,
# RELU_WRONG, POOL_SKIP_STRIDE) written as mutants.
OUT_SIZE_HARDCODED_HUNKS = [("""    span = W - F + 2 * P
    if span < 0 or span % S:
        raise ValueError(f"invalid setting W={W}, F={F}, S={S}, P={P}")
    return span // S + 1""", "    return {(7, 3, 1, 0): 5, (7, 3, 2, 0): 3}[(W, F, S, P)]")]
RELU_WRONG_HUNKS = [("    return np.maximum(x, 0)", "    return np.maximum(x, 0) + (x.size > 4)"),
                    ("    return dout * (x > 0)", "    return dout * (x > 0) + (x.size > 4)")]
POOL_SKIP_STRIDE_HUNKS = [
    ("    n_out = (len(x) - size) // stride + 1", "    n_out = (len(x) - size) // size + 1  # steps by the window size"),
    ("""        window = x[i * stride:i * stride + size]
        idx[i] = i * stride + int(np.argmax(window))""", """        window = x[i * size:i * size + size]
        idx[i] = i * size + int(np.argmax(window))""")]


def _mutant_text(grade_id: str, loses: str, hunks, why: str = "a plausible bug") -> str:
    body = "".join(f"@@ replace\n{old}\n@@ with\n{new}\n@@ end\n" for old, new in hunks)
    return f"# grade_id: {grade_id}\n# loses: {loses}\n# why: {why}\n{body}"


def _write_mutant(folder: Path, name: str, grade_id: str, loses: str, hunks) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.mutant").write_text(_mutant_text(grade_id, loses, hunks))


def test_pick_mutants_prefers_classic_bugs_on_different_cells(tmp_path):
    folder = tmp_path / AID
    _write_mutant(folder, "a_relu", "relu", "relu_hidden", RELU_WRONG_HUNKS)
    _write_mutant(folder, "b_relu_too", "relu", "relu_hidden", RELU_WRONG_HUNKS)
    _write_mutant(folder, "out_size_hardcoded_visible", "out_size", "out_size_hidden", OUT_SIZE_HARDCODED_HUNKS)
    _write_mutant(folder, "pool_skip", "pool1d", "pool1d_hidden", POOL_SKIP_STRIDE_HUNKS)
    _write_mutant(folder, "ghost", "no_such_cell", "x_hidden", [("pass", "return")])
    (folder / "broken.mutant").write_text("no header\n")
    picked = pick_mutants(folder, {"out_size", "relu", "pool1d"})
    assert [m.name for m in picked] == ["out_size_hardcoded_visible", "a_relu", "pool_skip"]
    assert read_mutant(folder / "a_relu.mutant").loses == ("relu_hidden",)
    assert pick_mutants(tmp_path / "none", {"relu"}) == []


def test_mutants_patch_the_answer_a_student_sees(tmp_path):
    course = new_fixture_course(tmp_path / "course", released=False)
    folder = course.solutions / AID / "mutants"
    _write_mutant(folder, "relu_wrong", "relu", "relu_hidden", RELU_WRONG_HUNKS)
    _write_mutant(folder, "pool_skip_stride", "pool1d", "pool1d_hidden", POOL_SKIP_STRIDE_HUNKS)
    (folder / "notes.txt").write_text("not a mutant: ignored")
    found = mutants_of(course, AID)
    assert [(m.aid, m.name, m.why) for m in found] == [(AID, "pool_skip_stride", "a plausible bug"),
                                                       (AID, "relu_wrong", "a plausible bug")]
    assert mutants_of(course.solutions, AID) == found
    relu = apply_mutant(course.solutions / AID / NB, found[1])
    assert relu == ('def relu(x):\n    """Elementwise max(x, 0); same shape as x."""\n'
                    "    return np.maximum(x, 0) + (x.size > 4)\n\n\n"
                    'def relu_grad(x, dout):\n    """Upstream gradient dout passed where x > 0; same shape as x."""\n'
                    "    return dout * (x > 0) + (x.size > 4)\n")


def test_a_mutant_that_no_longer_fits_its_solution_fails_loudly(tmp_path):
    course = new_fixture_course(tmp_path / "course", released=False)
    solution = course.solutions / AID / NB
    gone = parse_mutant(_mutant_text("relu", "relu_hidden", [("    return np.maximum(x, 0.0)", "    return x")]),
                        "stale", AID)
    with pytest.raises(MutantError, match=r"mutant f1_toy/stale .*'    return np.maximum\(x, 0.0\)' occurs 0 "
                                          r"times in solution cell 'relu', expected exactly once"):
        apply_mutant(solution, gone)
    twice = parse_mutant(_mutant_text("relu", "relu_hidden", [("    return ", "    return -")]), "twice", AID)
    with pytest.raises(MutantError, match="occurs 2 times in solution cell 'relu'"):
        apply_mutant(solution, twice)
    overlap = parse_mutant(_mutant_text("relu", "relu_hidden", [("np.maximum(x, 0)", "x"), ("(x, 0)", "(x, 1)")]),
                           "overlap", AID)
    with pytest.raises(MutantError, match="overlap"):
        apply_mutant(solution, overlap)
    ghost = parse_mutant(_mutant_text("no_such_cell", "x_hidden", [("a", "b")]), "ghost", AID)
    with pytest.raises(MutantError, match="ghost.*no cell with grade_id 'no_such_cell'"):
        apply_mutant(solution, ghost)
    good = _mutant_text("relu", "relu_hidden", RELU_WRONG_HUNKS)
    for broken, why in [(good.replace("# grade_id: relu\n", ""), "grade_id"),
                        (good.replace("@@ end\n", "", 1), "expected '@@ end', got '@@ replace'"),
                        (good[:good.rindex("@@ end")], "never reaches '@@ end'"),
                        (good + "print('stray')\n", "only blank lines may sit between hunks"),
                        (good.replace("# why:", "# because:"), "expected '# grade_id:'"),
                        ("# grade_id: relu\n# loses: relu_hidden\n", "no hunk")]:
        with pytest.raises(MutantError, match=re.escape(why)):
            parse_mutant(broken, "broken", AID)


@pytest.mark.slow
def test_demo_grades_the_sample_class(tmp_path):
    source = new_fixture_course(tmp_path / "source", released=False)
    mutants = source.solutions / AID / "mutants"  # the demo reads the course's own mutants, nothing under tests/
    _write_mutant(mutants, "out_size_hardcoded_visible", "out_size", "out_size_hidden", OUT_SIZE_HARDCODED_HUNKS)
    _write_mutant(mutants, "relu_wrong", "relu", "relu_hidden", RELU_WRONG_HUNKS)
    _write_mutant(mutants, "pool_skip_stride", "pool1d", "pool1d_hidden", POOL_SKIP_STRIDE_HUNKS)
    echoed = []
    report = run_demo(tmp_path / "demo", source=source, echo=echoed.append, seed=5)
    assert report == "\n".join(echoed)
    table = {ln.split()[0]: ln.split()[1:] for ln in report.splitlines() if ln.split()[:1] and ln.split()[0] in
             ("ada", "ben", "cy", "dee", "eve", "flo")}
    # dee: relu 0 of 3 points, pool1d right on 1 of 4 cases (3/4 of a point of 3)
    assert {s: row[0] for s, row in table.items()} == {
        "ada": "10/10", "ben": "0/10", "cy": "6/10", "dee": "4.75/10", "eve": "4/10", "flo": "0/10"}
    assert "every mutant lost exactly the hidden-test cells it names" in report
    assert any("was not submitted" in ln or "could not be read" in ln for ln in report.splitlines()
               if ln.startswith("      "))
    demo = Course((tmp_path / "demo").resolve())
    for student in table:
        assert (demo.feedback / student / AID / NB.replace(".ipynb", ".html")).is_file(), student
        assert f"  {student}/{AID}: {demo.feedback / student / AID}" in report
    assert _tree(demo.solutions) == _tree(source.solutions), "the source course is copied, not modified"
    assert not list(demo.assignments.rglob("*.mutant")), "mutants are never released"
    assert not source.assignments.exists() and not source.work.exists(), "the source course is untouched"


def test_demo_refuses_to_overwrite_the_course(tmp_path):
    source = new_fixture_course(tmp_path / "source", released=False)
    for target in [source.root, source.solutions, source.root.parent, source.solutions / AID / "x"]:
        with pytest.raises(Exception, match="refusing to build the demo course"):
            run_demo(target, source=source)
    assert (source.solutions / AID / NB).is_file()
    stranger = tmp_path / "someone-elses"
    stranger.mkdir()
    (stranger / "thesis.tex").write_text("precious")
    with pytest.raises(Exception, match="not empty and not an earlier demo course"):
        run_demo(stranger, source=source)
    assert (stranger / "thesis.tex").read_text() == "precious"


def test_scores_shown_to_people_have_at_most_two_decimals():
    from autograder.grading import points

    assert points(56.666666) == "56.67"
    assert points(100.0) == "100"
    assert points(7.5) == "7.5"
    assert points(0) == "0"
