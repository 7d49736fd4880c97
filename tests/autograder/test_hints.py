"""The hint ladder: every exercise has three rungs that never give the answer away; the command and the
notebook helper reveal them one at a time and record them without writing a notebook Lab may hold."""

import json
import os
import re
import shutil
import tomllib
from pathlib import Path

import nbformat
import pytest

from autograder import cli, hints
from autograder.cells import exercises, solution_regions
from autograder.course import Course
from autograder.mywork import start
from autograder.selfcheck import self_check

REPO = Path(__file__).resolve().parents[2]
AIDS = sorted(p.name for p in (REPO / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
_MIN_CHARS = 12  # shorter lines (`return V`, `P = F - 1`) give nothing away
_ALIAS = re.compile(r"^[\w, ]+ = [\w.\[\]\"']+$")  # `N, C, H, W = x.shape`, `S = net.total_stride`: unpacking


# --- the ladders: one per exercise, three rungs, no whole answer ----------------------------------
def _exercise_solutions(aid) -> dict[int, list[str]]:
    """{exercise number: the solution regions of the cells under its heading}."""
    nb = nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    found = exercises(nb)
    ends = [e.cell for e in found[1:]] + [len(nb.cells)]
    return {e.number: [region for cell in nb.cells[e.cell + 1:end] if cell.cell_type == "code"
                       for region in solution_regions(cell.source)]
            for e, end in zip(found, ends)}


def _flat(text: str) -> str:
    return " ".join(text.replace("`", " ").split())


def _solution_lines(region: str) -> list[str]:
    """The region's lines that say something: comments cut off, ``return`` dropped, short lines skipped."""
    lines = []
    for line in region.splitlines():
        code = _flat(re.sub(r"\s#\s.*$", "", line.strip()))
        code = code.removeprefix("return ").strip()
        if len(code) >= _MIN_CHARS and not code.startswith(("#", '"""')) and not _ALIAS.match(code):
            lines.append(code)
    return lines


def solution_lines_in(rung: str, region: str) -> list[str]:
    """The solution lines of ``region`` that ``rung`` spells out (whitespace and backticks ignored)."""
    flat = _flat(rung)
    return [line for line in _solution_lines(region) if line in flat]


@pytest.mark.parametrize("aid", AIDS)
def test_every_exercise_has_exactly_three_non_empty_rungs(aid):
    raw = tomllib.loads((REPO / "solutions" / aid / hints.LADDER_FILE).read_text(encoding="utf-8"))
    assert sorted(int(n) for n in raw["exercise"]) == sorted(_exercise_solutions(aid)), \
        "hints.toml must have one ladder per '### Exercise N' heading, and no other"
    for number, table in raw["exercise"].items():
        assert set(table) == {"title", *hints.RUNGS}, f"exercise {number}: keys {sorted(table)}"
        for name in hints.RUNGS:
            assert table[name].strip(), f"exercise {number}: rung {name!r} is empty"


@pytest.mark.parametrize("aid", AIDS)
def test_no_rung_gives_a_solution_cell_away(aid):
    ladders = hints.load_ladders(REPO / "solutions" / aid / hints.LADDER_FILE)
    for number, regions in _exercise_solutions(aid).items():
        for region in regions:
            lines = _solution_lines(region)
            for name, rung in zip(hints.RUNGS, ladders[number].rungs):
                shared = solution_lines_in(rung, region)
                assert len(shared) <= 1, f"exercise {number}, rung {name!r} spells out {shared}"
                assert not lines or len(shared) < len(lines), \
                    f"exercise {number}, rung {name!r} is the whole solution: {shared}"


def test_the_check_catches_a_rung_that_pastes_the_solution():
    region = "    H2 = (H - FH) // S + 1\n    W2 = (W - FW) // S + 1  # width\n    return V\n"
    assert solution_lines_in("Use `H2 = (H - FH) // S + 1` and\n`W2 = (W - FW) //  S + 1`.", region) == [
        "H2 = (H - FH) // S + 1", "W2 = (W - FW) // S + 1"]
    one_liner = "    return kernel + (kernel - 1) * (dilation - 1)\n"
    assert solution_lines_in("`kernel + (kernel - 1) * (dilation - 1)`", one_liner)  # a whole one-line answer


@pytest.mark.parametrize("aid", AIDS)
def test_the_release_ships_the_ladder(aid):
    released = REPO / "assignments" / aid / hints.LADDER_FILE
    assert released.read_bytes() == (REPO / "solutions" / aid / hints.LADDER_FILE).read_bytes()
    record = json.loads((REPO / "assignments" / aid / ".convlab-release.json").read_text())
    assert hints.LADDER_FILE in record


def test_start_copies_the_ladders_into_mywork(tmp_path):
    lines = start(Course(REPO), dest=tmp_path / "mywork")
    for aid in AIDS:
        assert (tmp_path / "mywork" / aid / hints.LADDER_FILE).is_file()
    assert any(line.text.endswith(f"mywork/{AIDS[0]}/hints.toml") for line in lines if line.action == "copied")


# --- the command -----------------------------------------------------------------------------------
@pytest.fixture
def mywork(tmp_path):
    """A learner's copy of the a2 release, as `make lab` lays it out."""
    folder = tmp_path / "mywork" / "a2_naive_conv"
    folder.mkdir(parents=True)
    for name in ("a2_naive_conv.ipynb", hints.LADDER_FILE):
        shutil.copy(REPO / "assignments" / "a2_naive_conv" / name, folder / name)
    return folder / "a2_naive_conv.ipynb"


def _run(capsys, *argv):
    code = cli.main(["hint", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_climbs_one_rung_per_call_then_points_at_the_solution(mywork, capsys):
    ladder = hints.load_ladders(mywork.with_name(hints.LADDER_FILE))[2]
    before = mywork.read_bytes()
    for rung, name in enumerate(("the idea", "the plan", "the hardest line"), start=1):
        code, out, _ = _run(capsys, mywork, 2)
        assert code == 0
        assert f"Exercise 2 (conv_backward_naive), hint {rung} of 3: {name}" in out
        assert ladder.rungs[rung - 1] in out
        assert ("solutions/a2_naive_conv/a2_naive_conv.ipynb" in out) == (rung == 3)  # only at the end
    code, out, _ = _run(capsys, mywork, 2)
    assert code == 0 and "all 3 hints taken" in out and "solutions/a2_naive_conv" in out
    assert not any(rung in out for rung in ladder.rungs)
    assert [(r.exercise, r.rung, r.via) for r in hints.hints_taken(mywork)] == [(2, 1, "command"), (2, 2, "command"),
                                                                                  (2, 3, "command")]
    assert mywork.read_bytes() == before  # the notebook itself is never written by a plain hint


def test_all_taken_shows_again_what_was_taken_and_takes_nothing(mywork, capsys):
    _run(capsys, mywork, 1)
    code, out, _ = _run(capsys, mywork, 1, "--all-taken")
    assert code == 0 and "hint 1 of 3:" in out and "hint 2 of 3:" not in out and "Ask again for hint 2 of 3" in out
    assert len(hints.hints_taken(mywork)) == 1
    _, out, _ = _run(capsys, mywork, 1)
    assert "hint 2 of 3: the plan" in out  # exercises keep their own place on the ladder
    _, out, _ = _run(capsys, mywork, 4)
    assert "Exercise 4 (conv1x1_matmul), hint 1 of 3" in out


def test_an_unknown_exercise_is_one_line_of_error(mywork, capsys):
    code, out, err = _run(capsys, mywork, 9)
    assert code == 2 and out == ""
    assert err == "convlab-grade: a2_naive_conv.ipynb has no exercise 9 (its exercises: 1, 2, 3, 4, 5, 6)\n"
    assert hints.hints_taken(mywork) == []


def test_a_notebook_without_a_ladder_says_where_it_should_be(tmp_path, capsys):
    nb = tmp_path / "x.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    code, _, err = _run(capsys, nb, 1)
    assert code == 2 and "no hint ladder at" in err and err.count("\n") == 1


def test_into_notebook_copies_the_record_into_the_notebook_metadata(mywork, capsys):
    _run(capsys, mywork, 3)
    code, out, _ = _run(capsys, mywork, "--into-notebook")
    assert code == 0 and "recorded 1 hint(s)" in out
    nb = nbformat.read(mywork, as_version=4)  # still a valid notebook
    nbformat.validate(nb)
    [entry] = nb.metadata["convlab"]["hints_taken"]
    assert (entry["exercise"], entry["rung"], entry["via"]) == (3, 1, "command")
    hints.journal_path(mywork).unlink()  # the notebook alone now remembers it
    assert [(r.exercise, r.rung) for r in hints.hints_taken(mywork)] == [(3, 1)]
    _, out, _ = _run(capsys, mywork, 3)
    assert "hint 2 of 3" in out


# --- the notebook helper and the record it leaves in the notebook ----------------------------------
@pytest.fixture
def shown(monkeypatch):
    """What ``hint()`` displays: (data, metadata) per call, as the kernel would publish it."""
    calls = []
    monkeypatch.setattr("IPython.display.display",
                        lambda data, raw, metadata: calls.append((data, metadata)))
    return calls


def _save_output(notebook: Path, data, metadata) -> None:
    """What JupyterLab writes when the learner saves: the hint cell with its output."""
    nb = nbformat.read(notebook, as_version=4)
    cell = nbformat.v4.new_code_cell("from autograder.hints import hint\nhint(2)")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    nb.cells.append(cell)
    nbformat.write(nb, notebook)


def test_the_helper_shows_the_next_rung_and_its_output_carries_the_record(mywork, shown, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(mywork))  # what Jupyter sets for the notebook's kernel
    hints.hint(2)
    hints.hint(2)  # before any save: the journal remembers the first
    (data1, meta1), (data2, meta2) = shown
    assert "hint 1 of 3: the idea" in data1["text/plain"] and "hint 2 of 3: the plan" in data2["text/plain"]
    assert data2["text/markdown"]
    assert [(r["exercise"], r["rung"], r["via"]) for r in meta2[hints.OUTPUT_KEY]] == [(2, 1, "notebook"),
                                                                                     (2, 2, "notebook")]
    _save_output(mywork, data2, meta2)
    hints.journal_path(mywork).unlink()  # the saved notebook alone holds the record
    assert [(r.exercise, r.rung) for r in hints.hints_taken(mywork)] == [(2, 1), (2, 2)]
    hints.hint(2)
    assert "hint 3 of 3" in shown[-1][0]["text/plain"] and "solutions/a2_naive_conv" in shown[-1][0]["text/plain"]


def test_records_from_the_command_reach_the_notebook_through_the_next_helper_output(mywork, shown, capsys):
    _run(capsys, mywork, 1)
    hints.hint(5, notebook=mywork)
    carried = [(r["exercise"], r["rung"], r["via"]) for r in shown[-1][1][hints.OUTPUT_KEY]]
    assert carried == [(1, 1, "command"), (5, 1, "notebook")]


def test_outside_a_jupyter_session_the_helper_takes_nothing(mywork, shown, monkeypatch, capsys):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.chdir(mywork.parent)
    hints.hint(2)
    assert shown == [] and "no hint taken" in capsys.readouterr().out
    assert hints.hints_taken(mywork) == []


def test_hints_taken_merges_every_place_once_and_skips_what_it_cannot_read(mywork):
    nb = nbformat.read(mywork, as_version=4)
    nb.metadata["convlab"] = {"hints_taken": [{"exercise": 1, "rung": 1, "time": "2026-01-01T10:00:00+00:00",
                                               "via": "command"}, {"exercise": "x"}]}
    cell = nbformat.v4.new_code_cell("hint(1)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "..."}, metadata={hints.OUTPUT_KEY: [
        {"exercise": 1, "rung": 1, "time": "2026-01-01T10:00:00+00:00", "via": "command"},
        {"exercise": 1, "rung": 2, "time": "2026-01-02T10:00:00+00:00", "via": "notebook"}]})]
    nb.cells.append(cell)
    nbformat.write(nb, mywork)
    hints.journal_path(mywork).write_text("not json")
    assert [(r.exercise, r.rung, r.time[:10]) for r in hints.hints_taken(mywork)] == [
        (1, 1, "2026-01-01"), (1, 2, "2026-01-02")]


def test_check_runs_a_notebook_with_hint_records_without_taking_or_writing_anything(mywork, capsys):
    _run(capsys, mywork, 1)  # a record in the journal
    nb = nbformat.read(mywork, as_version=4)
    cell = nbformat.v4.new_code_cell("from autograder.hints import hint\nhint(1)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": "hint"}, metadata={
        hints.OUTPUT_KEY: [{"exercise": 1, "rung": 1, "time": "2026-01-01T10:00:00+00:00", "via": "notebook"}]})]
    nb.cells.insert(1, cell)
    nb.metadata["convlab"] = {"hints_taken": []}
    nbformat.write(nb, mywork)
    before, journal = mywork.read_bytes(), hints.journal_path(mywork).read_bytes()
    statuses = self_check(mywork, timeout=60)
    assert [s.state for s in statuses] == ["unanswered"] * 6  # the untouched release, judged as usual
    assert mywork.read_bytes() == before and hints.journal_path(mywork).read_bytes() == journal


def test_in_a_real_kernel_the_hint_output_keeps_its_record_when_saved(mywork):
    from nbclient import NotebookClient  # noqa: PLC0415

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("from autograder.hints import hint\nhint(4)")]
    env = {**os.environ, "JPY_SESSION_NAME": str(mywork)}  # as jupyter_server starts the kernel
    NotebookClient(nb, timeout=60, kernel_name="python3",
                   resources={"metadata": {"path": str(mywork.parent)}}).execute(env=env)
    [output] = nb.cells[0].outputs
    assert output.output_type == "display_data" and "hint 1 of 3: the idea" in output.data["text/plain"]
    nbformat.write(nb, mywork)  # Lab's save
    hints.journal_path(mywork).unlink()
    [record] = hints.hints_taken(mywork)
    assert (record.exercise, record.rung, record.via) == (4, 1, "notebook")
