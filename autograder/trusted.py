"""The trusted half of hidden tests: nbgrader preprocessors that run in the grader, not the kernel.

In ``Autograde.autograde_preprocessors``:

- :class:`PrepareHidden` (before execution) draws fresh cases for every check of the assignment,
  computes the references here, writes only the inputs into the submission's scratch folder, and
  scans the student's cells for withheld functions;
- :class:`JudgeHidden` (after execution) reads the answers (no unpickling, no symlinks), judges
  them, and *replaces* the outputs of each hidden-test grade cell with the verdict: a stream with
  the per-case report, plus an ``execute_result`` holding the partial score or an ``error`` output
  for zero, so nbgrader's own scoring records exactly that. Whatever the kernel printed in those
  cells is discarded. A JSON report per submission goes to a folder outside the sandbox.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path

from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, Unicode

from autograder.cells import nbgrader_meta
from autograder.checks import check_rng, draw_cases, judge, load_checks, reference_outcomes
from autograder.compare import Outcome
from autograder.harness import answer_stem, inputs_stem
from autograder.scan import scan_suspicious, scan_withheld, student_sources
from autograder.values import load_values, save_values

__all__ = ["PrepareHidden", "JudgeHidden", "SCRATCH_NAME", "prepare_hidden", "score_cells", "verdict_outputs",
           "clear_scratch"]

SCRATCH_NAME = ".convlab_hidden"
_MAX_LISTED = 8


def clear_scratch(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


class PrepareHidden(NbGraderPreprocessor):
    """Write fresh hidden inputs for every check; keep cases and references in the grader."""

    solutions_dir = Unicode("", help="The course's solutions/ folder (checks.py lives there)").tag(config=True)
    seed = Integer(None, allow_none=True, help="Fixed seed (tests); default: fresh per run").tag(config=True)

    def preprocess(self, nb, resources):
        aid = resources["nbgrader"]["assignment"]
        workdir = Path(resources["metadata"]["path"]).resolve()
        state = prepare_hidden(Path(self.solutions_dir) / aid / "checks.py", aid, workdir, nb, self.seed)
        resources.setdefault("convlab", {}).update(state)
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources


def prepare_hidden(checks_path: Path, aid: str, workdir: Path, nb, seed=None) -> dict:
    """Fresh inputs for every check into ``workdir/.convlab_hidden``; returns the grader's state.

    The state (cases, references, scan findings) never leaves the grader process.
    """
    scratch = workdir / SCRATCH_NAME
    clear_scratch(scratch)
    scratch.mkdir()
    (scratch / "answers").mkdir()
    state = {"grading_dir": str(scratch), "checks": {}, "withheld_hits": {}, "aid": aid}
    sources = student_sources(nb)
    state["suspicious"] = [f.__dict__ for f in scan_suspicious(sources)]
    if not Path(checks_path).is_file():
        (scratch / "withhold.json").write_text("[]")
        return state
    seed = seed if seed is not None else secrets.randbits(63)
    withheld_all = set()
    for check in load_checks(checks_path):
        cases = draw_cases(check, check_rng(seed, check.name))
        refs = reference_outcomes(check, cases)
        save_values(inputs_stem(scratch, check.name), [tuple(c.values()) for c in cases],
                    {"aid": aid, "name": check.name, "keys": [list(c) for c in cases],
                     "withhold": list(check.withhold)})
        state["checks"][check.name] = (check, cases, refs)
        withheld_all.update(check.withhold)
    (scratch / "withhold.json").write_text(json.dumps(sorted(withheld_all)))
    hits = scan_withheld(sources, sorted(withheld_all))
    state["withheld_hits"] = {d: [f.__dict__ for f in fs] for d, fs in hits.items()}
    return state


def _read_answer(scratch: Path, name: str, index: int) -> Outcome:
    """The kernel's answer for one case; anything odd becomes a failing outcome, never an exception."""
    stem = answer_stem(scratch, name, index)
    missing = Outcome(raised=("autograder.NoAnswer",), message="no answer was recorded for this case "
                      "(the cell did not run this far)")
    try:
        root = scratch.resolve()
        for suffix in (".json", ".npz"):
            p = stem.with_suffix(suffix)
            if p.is_symlink() or (p.exists() and (not p.is_file() or root not in p.resolve().parents)):
                return Outcome(raised=("autograder.BadAnswer",), message="answer file was tampered with")
        if not stem.with_suffix(".json").is_file():
            return missing
        (value,), meta = load_values(stem)
        raised = tuple(str(x) for x in meta.get("raised", []))[:20]
        return Outcome(value=None if raised else value, raised=raised, message=str(meta.get("message", ""))[:300],
                       withheld=tuple(str(x) for x in meta.get("withheld", []))[:10])
    except Exception as exc:  # noqa: BLE001 - an unreadable answer is a wrong answer
        return Outcome(raised=("autograder.BadAnswer",), message=f"answer file unreadable ({type(exc).__name__})")


def score_cells(state: dict) -> dict:
    """Per grade cell: ``{"passed", "total", "checks": [{name, passed, total, failures}]}``."""
    scratch = Path(state["grading_dir"])
    cells: dict = {}
    for name, (check, cases, refs) in state["checks"].items():
        answers = [_read_answer(scratch, name, i) for i in range(len(cases))]
        results = judge(check, cases, answers, refs)
        hits = [h for d in check.withhold for h in state["withheld_hits"].get(d, [])]
        if hits:
            first = hits[0]
            why = (f"your code reaches a withheld library function ({first['what']}, {first['cell']} "
                   f"line {first['line']}); this exercise asks for your own implementation")
            failures = [why]
            passed = 0
        else:
            failures = [f"case {r.index} ({r.geometry}): {r.message}" for r in results if not r.passed]
            passed = sum(r.passed for r in results)
        entry = cells.setdefault(check.grade_id, {"passed": 0, "total": 0, "checks": []})
        entry["passed"] += passed
        entry["total"] += len(results)
        entry["checks"].append({"name": name, "passed": passed, "total": len(results), "failures": failures})
    return cells


def verdict_outputs(entry: dict, points: float) -> tuple[list, float]:
    """The outputs that make nbgrader record ``points * passed / total`` for one grade cell."""
    lines = []
    for chk in entry["checks"]:
        lines.append(f"hidden check {chk['name']}: {chk['passed']} of {chk['total']} cases pass")
        lines += [f"  {f}" for f in chk["failures"][:_MAX_LISTED]]
        if len(chk["failures"]) > _MAX_LISTED:
            lines.append(f"  ... and {len(chk['failures']) - _MAX_LISTED} more")
    score = points * entry["passed"] / entry["total"] if entry["total"] else 0.0
    outputs = [NotebookNode(output_type="stream", name="stdout", text="\n".join(lines) + "\n")]
    if entry["passed"] == 0:
        outputs.append(NotebookNode(output_type="error", ename="HiddenTestsFailed",
                                    evalue=f"0 of {entry['total']} hidden cases pass",
                                    traceback=[f"HiddenTestsFailed: 0 of {entry['total']} hidden cases pass"]))
    elif entry["passed"] < entry["total"]:
        outputs.append(NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                                    data={"text/plain": repr(round(score, 6))}))
    return outputs, score


class JudgeHidden(NbGraderPreprocessor):
    """Judge the recorded answers outside the sandbox and write each hidden cell's verdict."""

    reports_dir = Unicode("", help="Trusted folder for per-submission JSON reports").tag(config=True)

    def preprocess(self, nb, resources):
        state = resources.get("convlab", {})
        if "grading_dir" not in state:
            return nb, resources
        cells = score_cells(state)
        scores = {}
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if cell.cell_type == "code" and meta.get("grade") and gid in cells:
                cell.outputs, scores[gid] = verdict_outputs(cells[gid], float(meta.get("points", 0)))
        self._write_report(resources, cells, scores)
        clear_scratch(Path(state["grading_dir"]))
        return nb, resources

    def _write_report(self, resources, cells, scores) -> None:
        if not self.reports_dir:
            return
        state = resources["convlab"]
        student = resources["nbgrader"]["student"]
        notebook = resources["nbgrader"]["notebook"]
        report = {
            "student": student, "assignment": state.get("aid"), "notebook": notebook,
            "hidden": cells, "scores": scores, "events": state.get("events", []),
            "kernel_died": state.get("kernel_died"), "notebook_timeout": state.get("notebook_timeout", False),
            "withheld_hits": state.get("withheld_hits", {}), "suspicious": state.get("suspicious", []),
        }
        out = Path(self.reports_dir) / f"{student}__{notebook}.hidden.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(report, indent=1, default=str))
        os.replace(tmp, out)

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources
