"""``check NOTEBOOK``: a student's self-check, one readable line per exercise.

Runs the notebook top to bottom in a plain local kernel (the student's own machine: no sandbox,
no hidden tests, nothing graded) and reports, per exercise, whether its answer cells run and the
visible tests in it pass. An exercise is what a ``### Exercise N (P points): title`` heading starts
(:func:`autograder.cells.exercises`), up to the next one: its answers are the nbgrader solution cells
in it, its visible tests the locked code cells in it. A notebook without such headings has one
question per solution cell instead. Under an answered exercise, the diagnosis
(:mod:`autograder.diagnosis`, run in the same kernel on public probes) adds which kind of input
breaks it and a hint, also when the visible tests pass. The Lab's Validate button reports the same
lines (:mod:`autograder.lab`).

Understanding questions (:mod:`autograder.questions`) have only a form check among the visible
tests. Where the course's own ``solutions/<aid>/checks.py`` sits beside the notebook (a self-study
checkout, :func:`autograder.local.course_checks_file`), the check also judges their answers against
it, through the same local judging as a solution notebook's hidden cells, and says so; otherwise it
says that they are judged when the notebook is graded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat

from jupyter_core.utils import run_sync

from autograder.cells import exercises, nbgrader_meta
from autograder.diagnosis.runner import exercises_of, kernel_cell, note_lines, read_report, withheld_findings
from autograder.kernel.protocol import ANSWER_MIME, MAX_ANSWER_BYTES, Outcome, ValueFormatError, read_answer_message
from autograder.scan import student_sources

__all__ = ["QuestionStatus", "QUESTION_TAG", "self_check", "self_check_async", "format_report", "summarize",
           "with_diagnosis", "passed", "question_cells", "judge_questions"]

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TODO = "replace `raise NotImplementedError()`"
_MARKS = {"pass": "pass", "fail": "FAIL", "unanswered": "todo", "error": "ERROR"}


@dataclass(frozen=True)
class QuestionStatus:
    """``state`` is ``"pass"``, ``"fail"``, ``"unanswered"`` or ``"error"``; ``detail`` says why;
    ``notes`` are the diagnosis's lines (which kind of input breaks it, and a hint).

    ``question`` names it: the exercise heading as plain text (``Exercise 2 (35 points)
    conv_backward_naive``), or a solution cell's grade_id in a notebook without exercise headings.
    """

    question: str
    state: str
    detail: str = ""
    notes: tuple[str, ...] = ()

    @property
    def passes(self) -> bool:
        """Its visible tests pass and the diagnosis found nothing wrong."""
        return self.state == "pass" and not self.notes


def _first_error(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = _ANSI_RE.sub("", str(out.get("evalue", ""))).strip().splitlines()
            return out.get("ename", "Error"), (evalue[0] if evalue else "")
    return None


def _question_starts(nb) -> dict[int, str]:
    """``{cell index: name}`` of the cells where a question starts (exercise headings, else solution cells)."""
    found = exercises(nb)
    if found:
        return {e.cell: e.label for e in found}
    return {i: nbgrader_meta(c).get("grade_id", "?") for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and nbgrader_meta(c).get("solution")}


def _status(question, answer_error, test_errors, tests) -> QuestionStatus:
    if answer_error and answer_error[0] == "NotImplementedError":
        return QuestionStatus(question, "unanswered", _TODO)
    if answer_error:
        return QuestionStatus(question, "error", f"your cell raised {answer_error[0]}: {answer_error[1]}")
    if test_errors and test_errors[0][0] == "NotImplementedError":
        # nbgrader's stub sits inside the function body: calling it is what raises
        return QuestionStatus(question, "unanswered", _TODO)
    if test_errors:
        name, msg = test_errors[0]
        return QuestionStatus(question, "fail", f"{name}: {msg}" if msg else name)
    return QuestionStatus(question, "pass", f"{tests} visible test cell(s)" if tests else "no visible tests")


def summarize(nb) -> list[QuestionStatus]:
    """Read an executed notebook into one status per exercise (pure; no kernel)."""
    starts = _question_starts(nb)
    found = {}  # question -> [first answer error, test errors, visible test cells]
    question = None
    for index, cell in enumerate(nb.cells):
        question = starts.get(index, question)
        if question is None or cell.cell_type != "code":
            continue
        answer_error, test_errors, tests = found.setdefault(question, [None, [], 0])
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            found[question][0] = answer_error or _first_error(cell)
        elif meta.get("locked") and cell.source.strip():
            code = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            if not code:  # a hidden-test cell as released: only a comment
                continue
            found[question][2] = tests + 1
            err = _first_error(cell)
            if err:
                test_errors.append(err)
    return [_status(q, *found.get(q, (None, [], 0))) for q in starts.values()]


def passed(statuses: list[QuestionStatus]) -> bool:
    """The verdict: every exercise passes its visible tests and the diagnosis finds nothing wrong."""
    return all(s.passes for s in statuses)


def format_report(name: str, statuses: list[QuestionStatus]) -> str:
    """What ``convlab-grade check`` prints: the verdict, then one line per exercise."""
    count = sum(s.state == "pass" for s in statuses)
    lines = [f"{name}: {count} of {len(statuses)} exercises pass their visible tests"]
    for s in statuses:
        lines.append(f"  {s.question}: {_MARKS[s.state]}" + (f" - {s.detail}" if s.detail else ""))
        lines += [f"      {note}" for note in s.notes]
    lines.append("(Hidden tests run only when your notebook is graded.)")
    return "\n".join(lines)


# Appended to the executed copy: sends each question's answer out as the grading harness does
_ANSWERS_CELL = """\
from IPython.display import publish_display_data as _convlab_publish
from autograder.kernel.protocol import ANSWER_MIME as _convlab_mime, answer_message as _convlab_message, \\
    call_on_case as _convlab_call
for _convlab_name in {names!r}:
    _convlab_publish({{_convlab_mime: _convlab_message({aid!r}, _convlab_name, 0, _convlab_call(
        lambda case: globals()[case["question"]], {{"question": _convlab_name}}))}})
"""


def _questions(path: Path):
    """``(checks file, the question checks in it)`` of the course beside ``path``; ``(None, [])`` when none."""
    from autograder.checks import load_checks  # noqa: PLC0415
    from autograder.local import course_checks_file  # noqa: PLC0415

    checks_file = course_checks_file(path)
    if checks_file is None:
        return None, []
    return checks_file, [c for c in load_checks(checks_file) if c.question]


def _answers(cell, aid: str, questions) -> dict[str, Outcome]:
    """The answers the appended cell sent, by question name (a missing one: not sent)."""
    expected = {q.name: 1 for q in questions}
    found = {}
    for out in cell.get("outputs", []):
        doc = out.get("data", {}).get(ANSWER_MIME) if out.get("output_type") == "display_data" else None
        if doc is None:
            continue
        try:
            name, _, outcome = read_answer_message(doc, aid, expected, MAX_ANSWER_BYTES)
        except ValueFormatError:
            continue
        found[name] = outcome
    return found


#: The tag of a question's answer cell (released with it), so the check knows its questions without checks.py.
QUESTION_TAG = "question"


def question_cells(nb) -> dict[str, str]:
    """``{answer cell's grade_id: name of its exercise}`` of the understanding questions (cells tagged
    :data:`QUESTION_TAG`); the grade_id is the answer's variable and its check's name."""
    starts = _question_starts(nb)
    owners, current = {}, None
    for index, cell in enumerate(nb.cells):
        current = starts.get(index, current)
        if QUESTION_TAG in cell.get("metadata", {}).get("tags", []) and nbgrader_meta(cell).get("solution"):
            owners[nbgrader_meta(cell).get("grade_id")] = current
    return owners


def judge_questions(nb, statuses: list[QuestionStatus], questions, answers: dict[str, Outcome],
                    source: str) -> list[QuestionStatus]:
    """``statuses`` with the exercises holding ``questions`` judged on ``answers``: ``fail`` naming the
    wrong answers, or ``pass`` saying that all are right; an exercise not passing its visible tests
    (an answer missing or of the wrong form) stays as it is."""
    from autograder.local import failures  # noqa: PLC0415

    owners = question_cells(nb)
    missing = Outcome(raised=("builtins.NameError",), message="no answer was recorded")
    out = []
    for status in statuses:
        mine = sorted((q for q in questions if owners.get(q.name) == status.question),
                      key=lambda q: list(owners).index(q.name))  # in notebook order: question 1, 2, ...
        if not mine or status.state != "pass":
            out.append(status)
            continue
        wrong = []
        for number, q in enumerate(mine, 1):
            _, failed = failures(q, lambda case, name=q.name: answers.get(name, missing))
            if failed:
                wrong.append(f"question {number} ({q.name}): {failed[0].split('): ', 1)[-1]}")
        state, detail = ("fail", "; ".join(wrong)) if wrong else ("pass", f"all {len(mine)} answers right")
        out.append(replace(status, state=state, detail=f"{detail} (judged against {source})"))
    return out


def _judged_when_graded(nb, statuses: list[QuestionStatus]) -> list[QuestionStatus]:
    """``statuses`` where each passing exercise with questions says when its answers are judged."""
    owners = set(question_cells(nb).values())
    return [replace(s, detail=f"{s.detail}; the answers are judged when your notebook is graded")
            if s.question in owners and s.state == "pass" else s for s in statuses]


def with_diagnosis(nb, statuses: list[QuestionStatus], found: dict) -> list[QuestionStatus]:
    """``statuses`` with the diagnosis lines of each answered exercise added as ``notes``.

    ``found`` maps a solution cell's grade_id to its findings (:mod:`autograder.diagnosis`; ``[]``:
    probed, nothing wrong); an exercise shows the findings of its first solution cell that has any. A
    failing exercise whose own function passes every probe is told so (an earlier one is to blame).
    """
    cells: dict[str, list[str]] = {}
    starts = _question_starts(nb)
    question = None
    for index, cell in enumerate(nb.cells):
        question = starts.get(index, question)
        if question is not None and cell.cell_type == "code" and nbgrader_meta(cell).get("solution"):
            cells.setdefault(question, []).append(nbgrader_meta(cell).get("grade_id", ""))
    out = []
    for s in statuses:
        mine = [c for c in cells.get(s.question, []) if c in found]
        first = next((found[c] for c in mine if found[c]), [])
        notes = note_lines(first, s.state == "pass") if s.state != "unanswered" else ()
        if s.state in ("fail", "error") and mine and not first:
            notes = (f"diagnosis: your {', '.join(mine)} passes every probe; the failing line may call an earlier "
                     "exercise's function: fix that one first",)
        out.append(replace(s, notes=notes))
    return out


async def _diagnose_in_kernel(client, aid: str) -> dict:
    """Run the diagnosis cell after the notebook, in its kernel; ``{}`` if it fails or times out."""
    client.nb.cells.append(nbformat.v4.new_code_cell(kernel_cell(aid)))  # nbclient writes the cell back there
    try:
        await client.async_execute_cell(client.nb.cells[-1], len(client.nb.cells) - 1)
    except Exception:  # noqa: BLE001 - a diagnosis that cannot run leaves the verdict as it is
        return {}
    finally:
        cell = client.nb.cells.pop()
    return read_report(cell.get("outputs", []))


async def self_check_async(path, timeout: int = 120) -> list[QuestionStatus]:
    """Execute ``path`` (a copy in memory; the file is not modified), diagnose it and summarise it; judge
    the understanding questions when the course's ``checks.py`` is beside it (module docstring).

    The assignment is the notebook's name (``a1_volumes.ipynb``); when ``autograder/diagnosis`` has a
    module for it, its probes run in the same kernel after the last cell.
    """
    from nbclient import NotebookClient  # noqa: PLC0415 - only when a notebook actually runs

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    aid = path.stem
    checks_file, questions = _questions(path)
    questions = [q for q in questions if q.name in question_cells(nb)]
    if questions:
        nb.cells.append(nbformat.v4.new_code_cell(_ANSWERS_CELL.format(names=[q.name for q in questions], aid=aid)))
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            # the kernel's own start-up log (e.g. "running over TCP") means nothing to a student
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    found = {}
    client.reset_execution_trackers()
    async with client.async_setup_kernel():
        for index, cell in enumerate(nb.cells):  # as NotebookClient.async_execute does
            await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
        if exercises_of(aid) is not None:
            found = await _diagnose_in_kernel(client, aid)
    if found or exercises_of(aid) is not None:
        for cell, scanned in withheld_findings(aid, student_sources(nb)).items():
            found[cell] = scanned + found.get(cell, [])
    if questions:
        answers = _answers(nb.cells.pop(), aid, questions)
        source = "/".join(checks_file.parts[-3:])  # solutions/<aid>/checks.py
        statuses = judge_questions(nb, summarize(nb), questions, answers, source)
    else:
        statuses = _judged_when_graded(nb, summarize(nb))
    return with_diagnosis(nb, statuses, found)


def self_check(path, timeout: int = 120) -> list[QuestionStatus]:
    """:func:`self_check_async`, for callers without an event loop (the command line)."""
    return run_sync(self_check_async)(path, timeout=timeout)
