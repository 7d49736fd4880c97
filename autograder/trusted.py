"""The trusted half of hidden tests: everything that judges, in the grader and never in the kernel.

One :class:`HiddenSession` per graded notebook holds the fresh cases of every check, the
references (computed here, from ``checks.py``), the grading build the kernel gets, the static scan
of the student's cells and the answers as they arrive. In ``Autograde.autograde_preprocessors``:

- :class:`PrepareHidden` (before execution) makes the session;
- :class:`autograder.execution.SandboxExecute` writes a hidden cell's inputs just before that cell
  runs, removes them when it ends, and hands every answer message of the cell to
  :meth:`HiddenSession.take_answer` (the first answer to a case counts; nothing after the cell can
  change it);
- :class:`JudgeHidden` (after execution) judges, and *replaces* the outputs of each hidden-test
  grade cell with the verdict: a stream with the per-case report, plus an ``execute_result``
  holding the exact partial score or an ``error`` output for zero, so nbgrader's own scoring
  records exactly that. A JSON report per notebook goes to a folder outside the sandbox.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Any, Integer, Unicode

from autograder.cells import nbgrader_meta
from autograder.checks import Check, case_kinds, check_rng, dependency_notes, draw_cases, judge, load_checks, \
    reference_outcomes, score_check, withheld_names
from autograder.diagnosis.hidden import diagnose_check, diagnosis_lines
from autograder.grading_build import GradingBuild, grading_build, library_sources
from autograder.kernel.protocol import (MAX_ANSWER_BYTES, Outcome, ValueFormatError, read_answer_message,
                                        write_inputs)
from autograder.scan import scan_copied, scan_suspicious, scan_withheld, student_sources
from autograder.seeds import assignment_seed, notebook_seed

__all__ = ["PrepareHidden", "JudgeHidden", "HiddenSession", "CheckRun", "RunShared", "hidden_cases", "shared_by_run", "prepare_hidden", "score_cells",
           "verdict_outputs", "score_text"]

_MAX_LISTED = 8
_NO_ANSWER = Outcome(raised=("autograder.NoAnswer",),
                     message="no answer was recorded for this case (the cell did not run this far)")


def _nbytes(value) -> int:
    if isinstance(value, tuple):
        return sum(_nbytes(v) for v in value)
    return int(np.asarray(value).nbytes) if value is not None else 0


@dataclass
class CheckRun:
    """One check's cases, references and case kinds, and the answers received so far."""

    check: Check
    cases: list
    references: list
    kinds: list
    answers: dict = field(default_factory=dict)   # case index -> Outcome
    budgets: list = field(default_factory=list)   # case index -> largest answer accepted, bytes

    def __post_init__(self):
        self.budgets = [min(MAX_ANSWER_BYTES, max(2**20, 8 * _nbytes(r.value))) for r in self.references]


@dataclass
class HiddenSession:
    """The trusted state of one notebook's hidden tests (it never leaves the grader)."""

    aid: str
    runs: dict                      # check name -> CheckRun
    build: GradingBuild | None = None
    suspicious: list = field(default_factory=list)
    withheld_hits: dict = field(default_factory=dict)
    inputs_dir: Path | None = None
    open_checks: dict = field(default_factory=dict)   # name -> case count, for the cell now running
    refused: int = 0

    def attach(self, inputs_dir: Path) -> None:
        """The folder the kernel reads inputs from (made by the kernel manager)."""
        self.inputs_dir = Path(inputs_dir)

    def checks_of_cell(self, grade_id) -> list[str]:
        return [name for name, run in self.runs.items() if run.check.grade_id == grade_id]

    def open_cell(self, grade_id) -> bool:
        """Write the inputs of the checks graded in cell ``grade_id``; ``False`` when it has none."""
        names = self.checks_of_cell(grade_id)
        if not names or self.inputs_dir is None:
            return False
        for name in names:
            write_inputs(self.inputs_dir, self.aid, name, self.runs[name].cases)
        self.open_checks = {name: len(self.runs[name].cases) for name in names}
        return True

    def close_cell(self) -> None:
        """Remove the inputs of the cell that just ran; later answers are refused."""
        for name in self.open_checks:
            (self.inputs_dir / f"{name}.json").unlink(missing_ok=True)
        self.open_checks = {}

    def take_answer(self, payload) -> bool:
        """Record one answer message of the running cell; ``False`` when it is refused."""
        try:
            name, index, outcome = read_answer_message(payload, self.aid, self.open_checks,
                                                       max_bytes=MAX_ANSWER_BYTES)
        except ValueFormatError:
            self.refused += 1
            return False
        run = self.runs[name]
        if index in run.answers:
            self.refused += 1
            return False
        if not outcome.raised and _nbytes(outcome.value) > run.budgets[index]:
            outcome = Outcome(raised=("autograder.BadAnswer",), message="the answer is far larger than expected")
        run.answers[index] = outcome
        return True


@dataclass(frozen=True)
class RunShared:
    """What a grading run reads once for all its notebooks (:func:`shared_by_run`). Cases are not
    shared: each notebook draws its own from its own seed (:mod:`autograder.seeds`)."""

    checks_digest: str              # sha256 of the checks.py it was read for
    library: dict                   # withheld dotted name -> the library's source of it (to spot copies)


def _file_digest(path) -> str:
    path = Path(path)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""


def _checks(checks_path) -> list:
    return load_checks(checks_path) if Path(checks_path).is_file() else []


def hidden_cases(checks_path, seed: int) -> dict:
    """``{check name: CheckRun}``: the cases of every check of ``checks_path`` drawn with ``seed``, and
    their references and case kinds (no answers yet)."""
    runs = {}
    for check in _checks(checks_path):
        cases = draw_cases(check, check_rng(seed, check.name))
        references = reference_outcomes(check, cases)
        runs[check.name] = CheckRun(check, cases, references, case_kinds(check, cases, references, seed))
    return runs


def shared_by_run(checks_path) -> RunShared:
    """The library's sources of the functions ``checks_path`` withholds, read once for a grading run."""
    return RunShared(_file_digest(checks_path), library_sources(withheld_names(_checks(checks_path))))


def prepare_hidden(checks_path, aid: str, nb, seed=None, builds_dir=None, prepared=None) -> HiddenSession:
    """Fresh cases and references for every check, the grading build and the static scan.

    ``builds_dir`` caches grading builds (``None``: no build, for in-process use). ``prepared`` (the
    run's :class:`RunShared`) gives the library's sources of the withheld functions for the copy scan
    when it was read for this very ``checks.py``; otherwise they are read here.
    """
    sources = student_sources(nb)
    seed = seed if seed is not None else secrets.randbits(63)
    runs = hidden_cases(checks_path, seed)
    checks = [run.check for run in runs.values()]
    withheld = withheld_names(checks)
    if prepared is None or prepared.checks_digest != _file_digest(checks_path):
        prepared = RunShared(_file_digest(checks_path), library_sources(withheld))
    build = grading_build(aid, withheld, builds_dir) if builds_dir else None
    hits = scan_withheld(sources, withheld)
    flags = scan_suspicious(sources) + scan_copied(sources, prepared.library)
    return HiddenSession(aid, runs, build, [f.__dict__ for f in flags],
                         {d: [f.__dict__ for f in fs] for d, fs in hits.items()})


class PrepareHidden(NbGraderPreprocessor):
    """Draw fresh hidden cases and compute their references, here in the grader."""

    solutions_dir = Unicode("", help="The course's solutions/ folder (checks.py lives there)").tag(config=True)
    builds_dir = Unicode("", help="Cache of grading builds").tag(config=True)
    seed = Integer(None, allow_none=True, help="Seed of this grading run, from which each notebook's own is "
                   "derived; default: the assignment's kept secret in seeds_dir, or fresh per notebook "
                   "without one").tag(config=True)
    seeds_dir = Unicode("", help="Where each assignment's seed is kept (autograder.seeds)").tag(config=True)
    prepared = Any(None, allow_none=True, help="RunShared of this run (used only when read for this "
                                              "checks.py)").tag(config=True)

    def preprocess(self, nb, resources):
        aid = resources["nbgrader"]["assignment"]
        base = self.seed
        if base is None and self.seeds_dir:
            base = assignment_seed(self.seeds_dir, aid)
        seed = None if base is None else notebook_seed(base, aid, student_sources(nb))  # its own cases
        session = prepare_hidden(Path(self.solutions_dir) / aid / "checks.py", aid, nb, seed,
                                 self.builds_dir or None, self.prepared)
        resources.setdefault("convlab", {}).update(session=session, aid=aid)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources


def score_cells(session: HiddenSession) -> dict:
    """Per grade cell: ``{"fraction", "cases", "checks": [{name, passed, total, fraction, failures, notes}]}``,
    and ``diagnosis`` (``{pattern, kind, hint}``, :func:`autograder.diagnosis.hidden.diagnose_check`) in a
    failing check of a diagnosed exercise when its failed cases share a pattern.

    A cell's fraction weighs its checks by case count; a check's fraction follows
    :func:`autograder.checks.score_check` (must-raise and fixed cases count only together with the
    fresh value cases). ``notes`` name the earlier exercises a failing check is built on that failed
    too (:func:`autograder.checks.dependency_notes`).
    """
    judged = {}
    for name, run in session.runs.items():
        check = run.check
        answers = [run.answers.get(i, _NO_ANSWER) for i in range(len(run.cases))]
        results = judge(check, run.cases, answers, run.references)
        hits = [h for d in check.withhold for h in session.withheld_hits.get(d, [])]
        if hits:
            first = hits[0]
            failures = [f"your code reaches a withheld library function ({first['what']}, {first['cell']} "
                        f"line {first['line']}); this exercise asks for your own implementation"]
            passed, fraction = 0, 0.0
        else:
            failures = [f"case {r.index} ({r.geometry}): {r.message}" for r in results if not r.passed]
            passed = sum(r.passed for r in results)
            fraction = score_check(check, [r.passed for r in results], run.kinds)
        judged[name] = {"name": name, "passed": passed, "total": len(results), "fraction": fraction,
                        "failures": failures}
        found = [] if hits else diagnose_check(session.aid, check, run.cases, answers, run.references,
                                               [r.passed for r in results])
        if found:  # the first finding: a kind of input and the exercise's hint, no case's values
            judged[name]["diagnosis"] = dataclasses.asdict(found[0])
    failed = {name: chk["failures"] for name, chk in judged.items()}
    cells: dict = {}
    for name, chk in judged.items():
        check = session.runs[name].check
        chk["notes"] = dependency_notes(check, failed) if chk["failures"] else []
        entry = cells.setdefault(check.grade_id, {"weighted": 0.0, "cases": 0, "checks": []})
        entry["weighted"] += chk["fraction"] * chk["total"]
        entry["cases"] += chk["total"]
        entry["checks"].append(chk)
    for entry in cells.values():
        entry["fraction"] = entry.pop("weighted") / entry["cases"] if entry["cases"] else 0.0
    return cells


def score_text(score: float) -> str:
    """The score as nbgrader reads it back (``float(text)``), exactly: ``repr`` of the float."""
    return repr(float(score))


def verdict_outputs(entry: dict, points: float) -> tuple[list, float]:
    """The outputs that make nbgrader record ``points * fraction`` for one grade cell, exactly."""
    lines = []
    for chk in entry["checks"]:
        lines.append(f"hidden check {chk['name']}: {chk['passed']} of {chk['total']} cases pass")
        lines += [f"  note: {n}" for n in chk.get("notes", [])]
        if chk["passed"] and chk["fraction"] < chk["passed"] / chk["total"] - 1e-12:
            lines.append("  (cases that must raise, and the examples printed in the notebook, count only "
                         "together with the fresh cases)")
        lines += [f"  {f}" for f in chk["failures"][:_MAX_LISTED]]
        if len(chk["failures"]) > _MAX_LISTED:
            lines.append(f"  ... and {len(chk['failures']) - _MAX_LISTED} more")
        lines += [f"  {ln}" for ln in diagnosis_lines(chk)]
    score = points * entry["fraction"]
    outputs = [NotebookNode(output_type="stream", name="stdout", text="\n".join(lines) + "\n")]
    if score <= 0:
        outputs.append(NotebookNode(output_type="error", ename="HiddenTestsFailed",
                                    evalue=f"0 of {points:g} points",
                                    traceback=[f"HiddenTestsFailed: 0 of {points:g} points"]))
    elif score < points:
        outputs.append(NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                                    data={"text/plain": score_text(score)}))
    return outputs, (score if score > 0 else 0.0)


class JudgeHidden(NbGraderPreprocessor):
    """Judge the recorded answers outside the sandbox and write each hidden cell's verdict."""

    reports_root = Unicode("", help="Trusted folder of reports: <root>/<aid>/hidden/<student>__<nb>.hidden.json").tag(
        config=True)

    def preprocess(self, nb, resources):
        state = resources.get("convlab", {})
        session = state.get("session")
        if session is None:
            return nb, resources
        cells = score_cells(session)
        scores = {}
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if cell.cell_type == "code" and meta.get("grade") and gid in cells:
                cell.outputs, scores[gid] = verdict_outputs(cells[gid], float(meta.get("points", 0)))
        self._write_report(resources, session, cells, scores)
        return nb, resources

    def _write_report(self, resources, session, cells, scores) -> None:
        if not self.reports_root:
            return
        state = resources["convlab"]
        student = resources["nbgrader"]["student"]
        notebook = resources["nbgrader"]["notebook"]
        report = {
            "student": student, "assignment": session.aid, "notebook": notebook,
            "hidden": cells, "scores": scores, "events": state.get("events", []),
            "kernel_died": state.get("kernel_died"), "kernel_stopped": state.get("kernel_stopped"),
            "notebook_timeout": state.get("notebook_timeout", False),
            "withheld_hits": session.withheld_hits, "suspicious": session.suspicious,
            "answers_refused": session.refused,
        }
        out = Path(self.reports_root) / session.aid / "hidden" / f"{student}__{notebook}.hidden.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(report, indent=1, default=str))
        os.replace(tmp, out)

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources
