"""The diagnosis of a whole notebook: in the learner's kernel, and read back by ``convlab-grade check``.

``check`` runs the notebook, then one more cell (:func:`kernel_cell`) in the same kernel: it calls
:func:`kernel_report`, which diagnoses every exercise of the assignment's diagnosis module whose
function the notebook defines and publishes the findings as one display message
(:data:`DIAGNOSIS_MIME`). ``check`` reads them back (:func:`read_report`), adds what the static scan
finds (:func:`withheld_findings`: withheld library functions) and prints :func:`note_lines` under
each exercise.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace

from autograder.diagnosis.engine import ExerciseProbes, Finding, diagnose, findings
from autograder.scan import scan_withheld

__all__ = ["DIAGNOSIS_MIME", "exercises_of", "diagnose_namespace", "kernel_cell", "kernel_report", "read_report",
           "withheld_findings", "note_lines"]

#: MIME type of the display message carrying a notebook's diagnosis out of the kernel.
DIAGNOSIS_MIME = "application/vnd.convlab.diagnosis+json"


def exercises_of(aid: str) -> list[ExerciseProbes] | None:
    """``EXERCISES`` of ``autograder/diagnosis/<aid>.py``; ``None`` when there is no such module."""
    if not aid.isidentifier():
        return None
    name = f"autograder.diagnosis.{aid}"
    if importlib.util.find_spec(name) is None:
        return None
    return list(importlib.import_module(name).EXERCISES)


def _unanswered(fn) -> bool:
    """Whether ``fn`` is still nbgrader's stub (its body raises ``NotImplementedError``); for a class,
    whether its ``__init__`` is."""
    code = getattr(fn.__init__ if isinstance(fn, type) else fn, "__code__", None)
    return code is not None and "NotImplementedError" in code.co_names


def diagnose_namespace(aid: str, namespace: dict) -> dict[str, list[Finding]]:
    """``{solution cell: findings}`` for every exercise whose function ``namespace`` defines
    (stubs skipped); an exercise diagnosed correct maps to ``[]``. A cell holding several functions
    (a forward and a backward pass) gets the findings of each in turn, every hint led by its
    function's name."""
    exercises = exercises_of(aid) or []
    shared = Counter(e.cell for e in exercises)
    out: dict[str, list[Finding]] = {}
    for exercise in exercises:
        fn = namespace.get(exercise.function)
        if callable(fn) and not _unanswered(fn):
            found = diagnose(exercise, namespace)
            if shared[exercise.cell] > 1:
                found = [replace(f, hint=f"{exercise.function}: {f.hint}") for f in found]
            out.setdefault(exercise.cell, []).extend(found)
    return out


def kernel_cell(aid: str) -> str:
    """The source of the cell ``check`` runs after the notebook, in the same kernel."""
    return f"from autograder.diagnosis.runner import kernel_report\nkernel_report({aid!r}, globals())\n"


def kernel_report(aid: str, namespace: dict, publish=None) -> None:
    """Diagnose the notebook's functions and publish the findings as one display message."""
    doc = {cell: [[f.pattern, f.kind, f.hint] for f in found]
           for cell, found in diagnose_namespace(aid, namespace).items()}
    if publish is None:
        from IPython.display import publish_display_data  # noqa: PLC0415 - only inside a kernel

        publish = publish_display_data
    publish({DIAGNOSIS_MIME: doc})


def read_report(outputs: Sequence[Mapping]) -> dict[str, list[Finding]]:
    """The findings of :func:`kernel_report` from the outputs of its cell (``{}`` if it published none)."""
    for out in outputs:
        doc = out.get("data", {}).get(DIAGNOSIS_MIME)
        if isinstance(doc, dict):
            return {str(cell): [Finding(*map(str, f)) for f in found if isinstance(f, list) and len(f) == 3]
                    for cell, found in doc.items() if isinstance(found, list)}
    return {}


def withheld_findings(aid: str, sources) -> dict[str, list[Finding]]:
    """``{solution cell: [the "withheld" finding]}`` for every exercise whose withheld library
    functions the student's cells reach (the grader's own scan, :func:`autograder.scan.scan_withheld`)."""
    out = {}
    for exercise in exercises_of(aid) or []:
        if exercise.cell not in out and exercise.withhold and scan_withheld(sources, exercise.withhold):
            out[exercise.cell] = findings(exercise, ["withheld"])
    return out


def note_lines(found: Sequence[Finding], passed: bool) -> tuple[str, ...]:
    """What ``check`` prints under an exercise: the first finding in one or two lines."""
    if not found:
        return ()
    first = found[0]
    lead = "passes the visible tests but " if passed else ""
    if not first.kind:
        return (f"diagnosis: {lead}{first.hint}",)
    return (f"diagnosis: {lead}fails {first.kind}", f"hint: {first.hint}")
