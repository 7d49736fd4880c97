"""Diagnosis, not just a verdict: which *kind* of input breaks a learner's function, and a hint.

``convlab-grade check`` (and the Lab's Validate button) runs the learner's functions on public probe
cases, next to the library's correct reference, and recognises common failure patterns. Nothing here
reads ``solutions/<aid>/checks.py`` or draws a hidden case.

The engine (:mod:`autograder.diagnosis.engine`, assignment-agnostic):

- :class:`Probe` one public case: ``entries`` (like a hidden case's) and ``tags`` naming its kind of
  input (``"pad0"``, ``"pad>0"``, ``"stride>1"``, ``"nonsquare"``, ``"overlap"``, ``"batch>1"``,
  ``"float32"``, ... and ``"visible"`` for the visible tests' own examples)
- :class:`ExerciseProbes` one exercise: how to call the learner's function on a case, the library's
  reference, the probes, the hints per pattern, the names of a tuple answer's components
  (``("dx", "dw", "db")``), known wrong answers (:class:`Symptom`), functions of earlier exercises
  to stand in while probing, and the withheld library functions (as in ``checks.py``)
- :func:`run_probes` -> list of :class:`ProbeResult` (plain data) -> :func:`classify` (pure) -> pattern
  ids, most specific first -> :func:`findings` (:class:`Finding`: pattern, kind of input, hint).
  :func:`diagnose` does all three.

Patterns: a *tag* that every failing value case carries (``"stride>1"``: "fails only at stride > 1"),
``hardcoded`` (only the ``visible`` probes pass), a symptom's id, ``transposed``, ``factor``, ``offset``,
``wrong:<component>`` (e.g. ``wrong:dx`` while dw and db are right), ``no-raise``, ``raises``,
``shape``, ``dtype``, ``mutates-input``, ``withheld`` (from the grader's static scan, or a probe that
called a library function the module's call ran under :func:`withholding`), else ``wrong``.

One module per assignment, ``autograder/diagnosis/<aid>.py``, defines ``EXERCISES``, a list of
:class:`ExerciseProbes` (``a1_volumes.py`` is the example to copy). :mod:`autograder.diagnosis.runner`
finds it by the notebook's name and runs it in the learner's kernel for ``check``.
"""

from autograder.diagnosis.engine import (GENERIC, TAG_KINDS, ExerciseProbes, Finding, Probe, ProbeResult, Symptom,
                                         WithheldCall, classify, diagnose, findings, probe_result, run_probes,
                                         withholding)

__all__ = ["Probe", "Symptom", "ExerciseProbes", "ProbeResult", "Finding", "TAG_KINDS", "GENERIC", "WithheldCall",
           "withholding", "run_probes", "probe_result", "classify", "findings", "diagnose"]
