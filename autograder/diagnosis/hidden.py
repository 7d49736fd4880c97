"""The diagnosis of a hidden check's failures, in the grader (the host), from the judged answers alone.

The trusted step (:func:`autograder.trusted.score_cells`) holds, per check, the hidden cases, the
student's answers (plain values read back from the kernel) and the references. :func:`diagnose_check`
describes each answered case as the learner's probes are described (:func:`engine.probe_result`,
tags from the case's entries by the exercise's ``tags``) and classifies them with the same pure
:func:`engine.classify`: nothing of the student's runs here, and the finding holds no case's values,
only a kind of input and the exercise's hint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from autograder.diagnosis.engine import TAG_KINDS, ExerciseProbes, Finding, Probe, classify, findings, probe_result
from autograder.diagnosis.runner import exercises_of, note_lines
from autograder.kernel.protocol import Outcome

__all__ = ["exercise_of_check", "diagnose_check", "diagnosis_lines"]

#: Answers that are no attempt: a case the kernel never answered, nbgrader's untouched stub.
_NOT_ATTEMPTED = ("autograder.NoAnswer", "builtins.NotImplementedError")


def exercise_of_check(aid: str, name: str) -> ExerciseProbes | None:
    """The diagnosed exercise whose function the hidden check ``name`` tests (``None``: none)."""
    return next((e for e in exercises_of(aid) or [] if e.function == name), None)


def diagnose_check(aid: str, check, cases: Sequence[dict], answers: Sequence[Outcome],
                   references: Sequence[Outcome], passed: Sequence[bool]) -> list[Finding]:
    """Findings that explain a hidden check's failed cases, most specific first (``[]``: no pattern, or
    no diagnosis module for ``aid``).

    ``passed`` are the grader's own verdicts (they win over the probe rules, e.g. a custom ``compare``).
    """
    exercise = exercise_of_check(aid, check.name)
    if exercise is None or all(passed):
        return []
    results = []
    for case, answer, reference, ok in zip(cases, answers, references, passed, strict=True):
        if answer.raised[:1] and answer.raised[0] in _NOT_ATTEMPTED:
            continue
        tags = tuple(exercise.tags(case)) if exercise.tags else ()
        probe = Probe(case, tags, rtol=check.rtol, atol=check.atol)
        results.append(dataclasses.replace(probe_result(exercise, probe, answer, reference), passed=ok))
    patterns = classify(results, list(exercise.kinds) + list(TAG_KINDS))
    return [] if patterns in ([], ["wrong"]) else findings(exercise, patterns)  # "wrong" adds nothing to the cases


def diagnosis_lines(check: dict) -> tuple[str, ...]:
    """The diagnosis of a judged check (``score_cells``' ``"diagnosis"``) as ``check`` prints it: which
    kind of input fails and the hint; ``()`` when there is none (or the report's entry is malformed)."""
    found = check.get("diagnosis")
    if not isinstance(found, dict):
        return ()
    try:
        return note_lines([Finding(**{k: str(found[k]) for k in ("pattern", "kind", "hint")})], passed=False)
    except KeyError:
        return ()
