"""``check NOTEBOOK``: a student's self-check, one readable line per question.

Runs the notebook top to bottom in a plain local kernel (the student's own machine: no sandbox,
no hidden tests, nothing graded) and reports, per answer cell, whether the visible tests that follow
it pass. A question is an nbgrader solution cell; its visible tests are the locked code cells after
it, up to the next solution cell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import nbgrader_meta

__all__ = ["QuestionStatus", "self_check", "format_report", "summarize"]

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class QuestionStatus:
    """``state`` is ``"pass"``, ``"fail"``, ``"unanswered"`` or ``"error"``; ``detail`` says why."""

    question: str
    state: str
    detail: str = ""


def _first_error(cell):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            evalue = _ANSI_RE.sub("", str(out.get("evalue", ""))).strip().splitlines()
            return out.get("ename", "Error"), (evalue[0] if evalue else "")
    return None


def summarize(nb) -> list[QuestionStatus]:
    """Read an executed notebook into one status per question (pure; no kernel)."""
    statuses = []
    question, answer_error, test_errors, tests = None, None, [], 0

    def close():
        if question is None:
            return
        if answer_error and answer_error[0] == "NotImplementedError":
            statuses.append(QuestionStatus(question, "unanswered", "replace `raise NotImplementedError()`"))
        elif answer_error:
            statuses.append(QuestionStatus(question, "error", f"your cell raised {answer_error[0]}: {answer_error[1]}"))
        elif test_errors and test_errors[0][0] == "NotImplementedError":
            # nbgrader's stub sits inside the function body: calling it is what raises
            statuses.append(QuestionStatus(question, "unanswered", "replace `raise NotImplementedError()`"))
        elif test_errors:
            name, msg = test_errors[0]
            statuses.append(QuestionStatus(question, "fail", f"{name}: {msg}" if msg else name))
        else:
            statuses.append(QuestionStatus(question, "pass", f"{tests} visible test cell(s)" if tests else
                                           "no visible tests"))

    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            close()
            question, answer_error, test_errors, tests = meta.get("grade_id", "?"), _first_error(cell), [], 0
        elif question is not None and meta.get("locked") and cell.source.strip():
            code = [ln for ln in cell.source.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            if not code:  # a hidden-test cell as released: only a comment
                continue
            tests += 1
            err = _first_error(cell)
            if err:
                test_errors.append(err)
    close()
    return statuses


def format_report(name: str, statuses: list[QuestionStatus]) -> str:
    passed = sum(s.state == "pass" for s in statuses)
    width = max([len(s.question) for s in statuses] + [8])
    lines = [f"{name}: {passed} of {len(statuses)} questions pass their visible tests"]
    marks = {"pass": "pass", "fail": "FAIL", "unanswered": "todo", "error": "ERROR"}
    for s in statuses:
        lines.append(f"  {s.question:<{width}}  {marks[s.state]:<5}  {s.detail}".rstrip())
    lines.append("(Hidden tests run only when your notebook is graded.)")
    return "\n".join(lines)


def self_check(path, timeout: int = 120) -> list[QuestionStatus]:
    """Execute ``path`` (a copy in memory; the file is not modified) and summarise it."""
    from nbclient import NotebookClient  # noqa: PLC0415 - only when a notebook actually runs

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            # the kernel's own start-up log (e.g. "running over TCP") means nothing to a student
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute()
    return summarize(nb)
