"""The assignment-agnostic part of the diagnosis: run probes, describe each result, classify.

Three steps, each usable alone:

1. :func:`run_probes` calls the student's function and the library's reference on every public
   probe case (the student's through :class:`autograder.kernel.protocol.Case`, as hidden cells do)
   and judges each pair with :func:`autograder.compare.judge_case`, the grader's own rules;
2. :func:`probe_result` (called by 1) reduces one judged case to plain data: passed, tags, who
   raised, which output components are wrong, a constant factor or offset, transposed axes,
   inputs modified in place, the author's symptoms that match. A :class:`ProbeResult` holds no
   arrays, so results computed anywhere (the learner's kernel, or the grader on hidden cases) feed
3. :func:`classify`, a pure function from results to pattern ids, most specific first.

:func:`diagnose` chains them and adds the hint texts (:func:`findings`).
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from autograder.compare import default_compare, judge_case, outcome_of
from autograder.kernel.protocol import Case, Outcome

__all__ = ["Probe", "Symptom", "ExerciseProbes", "ProbeResult", "Finding", "TAG_KINDS", "GENERIC", "WithheldCall",
           "withholding", "run_probes", "probe_result", "classify", "findings", "diagnose"]


@dataclass(frozen=True)
class Probe:
    """One public case: ``entries`` (as a hidden case: arrays, numbers, strings, tuples) and ``tags``
    naming the kinds of input it is (``"stride>1"``, ``"pad0"``, ``"nonsquare"``, ``"visible"``...).
    ``rtol``/``atol`` override the exercise's tolerances for this case (e.g. float32 inputs)."""

    entries: Mapping
    tags: tuple[str, ...] = ()
    rtol: float | None = None
    atol: float | None = None


@dataclass(frozen=True)
class Symptom:
    """A known wrong answer: ``test(entries, got, want) -> bool`` says whether the student's value
    ``got`` is what this mistake gives on the case (``want`` is the reference's value). Reported as
    pattern ``id`` when it holds on every failing value case."""

    id: str
    test: Callable[[Mapping, object, object], bool]


@dataclass(frozen=True)
class ExerciseProbes:
    """What the diagnosis knows about one exercise (declared in ``autograder/diagnosis/<aid>.py``).

    - cell: grade_id of the solution cell (as in ``checks.py`` and the mutants)
    - function: the student's function's name in the notebook (default: ``cell``)
    - call: ``call(fn, c)`` calls the student's function on a :class:`Case` ``c``
    - reference: ``reference(c)``, the library's correct answer (or raises as the student should)
    - probes: ``probes(rng) -> list[Probe]``; ``rng`` is a seeded ``numpy.random.Generator``
    - hints: ``{pattern id: hint}`` written for this exercise; other patterns get :data:`GENERIC`'s
    - kinds: ``{tag: phrase}`` for tags :data:`TAG_KINDS` does not know
    - components: names of the elements of a tuple answer (``("dx", "dw", "db")``)
    - symptoms: known wrong answers (:class:`Symptom`)
    - stand_ins: ``{name: function}`` put in the notebook's namespace while probing, so an earlier
      exercise's mistake does not show up in this one
    - withhold: dotted names of library functions the exercise withholds (as in its ``checks.py``)
    - tags: ``tags(entries) -> tuple of tags`` of any case of this exercise, from its entries alone (the
      probes' own tags, and what the grader gives the hidden cases to classify them too)
    """

    cell: str
    call: Callable
    reference: Callable
    probes: Callable[[np.random.Generator], Sequence[Probe]]
    function: str = ""
    hints: Mapping[str, str] = field(default_factory=dict)
    kinds: Mapping[str, str] = field(default_factory=dict)
    components: tuple[str, ...] = ()
    symptoms: tuple[Symptom, ...] = ()
    stand_ins: Mapping[str, Callable] = field(default_factory=dict)
    withhold: tuple[str, ...] = ()
    tags: Callable[[Mapping], Sequence[str]] | None = None
    rtol: float = 1e-7
    atol: float = 1e-9

    def __post_init__(self):
        object.__setattr__(self, "function", self.function or self.cell)


@dataclass(frozen=True)
class ProbeResult:
    """One judged probe, as plain data (no arrays): what :func:`classify` reads."""

    tags: tuple[str, ...]
    passed: bool
    expects_raise: bool = False     # the reference raised: the student must raise too
    raised: str = ""                # the student's exception, if any
    message: str = ""
    wrong: tuple[str, ...] = ()     # the names of the wrong components of a tuple answer
    factor: float | None = None     # the answer is the reference times this (not 1) ...
    offset: float | None = None     # ... or plus this (not 0); one number fits both
    transposed: bool = False        # the answer is the reference with its last two axes swapped
    shape: bool = False             # the answer has another shape (and is not a transpose)
    dtype: bool = False             # right values, wrong kind of number (float for int)
    mutated: tuple[str, ...] = ()   # inputs the student's function changed in place
    symptoms: tuple[str, ...] = ()  # ids of the exercise's symptoms that match
    parts: tuple[str, ...] = ()     # the names of all components (the exercise's ``components``)


@dataclass(frozen=True)
class Finding:
    """A recognised pattern: ``kind`` says which inputs break the function (``"at stride > 1"``;
    empty when the pattern is not about a kind of input), ``hint`` what to check."""

    pattern: str
    kind: str
    hint: str


#: Phrases for the common tags ("fails <phrase>").
TAG_KINDS = {
    "pad0": "only with no padding (pad = 0)",
    "pad>0": "only with padding (pad > 0)",
    "stride>1": "only at stride > 1",
    "stride1": "only at stride 1",
    "nonsquare": "only on non-square inputs or filters",
    "square": "only on square inputs and filters",
    "overlap": "only when pooling or filter windows overlap",
    "batch>1": "only for a batch of more than one image",
    "float32": "only on float32 inputs",
    "dilation>1": "only with dilation > 1",
    "channels>1": "only with more than one channel",
}

#: Fallback kind and hint of every pattern the engine itself finds.
GENERIC = {
    "withheld": ("", "it calls a library function this exercise asks you to write yourself; the "
                 "grader's copy of the library does not have it, so write the computation out"),
    "hardcoded": ("on inputs other than the visible tests' examples", "compute the answer from the "
                  "arguments; a table of the visible examples does not generalise"),
    "transposed": ("", "the answer has its last two axes swapped: check the order of H and W"),
    "factor": ("", "the answer is off by a constant factor"),
    "offset": ("", "the answer is off by a constant amount: look for a missing or extra term"),
    "no-raise": ("on settings it should reject", "it returns a value where it should raise ValueError"),
    "raises": ("on valid settings", "it raises an exception where it should return a value"),
    "shape": ("", "the answer has the wrong shape"),
    "dtype": ("", "right numbers, wrong kind: return an int (use //) where an int is asked"),
    "mutates-input": ("", "it changes its input arrays in place: work on a copy"),
    "wrong": ("on every probe", "the answer is wrong even on the simplest inputs: re-read the formula"),
}
_TAG_HINT = "compare your code with the formula for that case"


def _leaves(value, names: tuple[str, ...]):
    if isinstance(value, (tuple, list)) and names and len(value) == len(names):
        return list(zip(names, value))
    return [("", value)]


def _numeric(value):
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001 - not an array at all
        return None
    return arr if arr.dtype.kind in "biuf" else None


def _relation(got, want, rtol, atol) -> dict:
    """How one wrong leaf relates to the right one: factor, offset, transposed, shape or dtype."""
    s, r = _numeric(got), _numeric(want)
    if s is None or r is None:
        return {}
    if s.shape != r.shape:
        if r.ndim >= 2 and s.shape == r.swapaxes(-1, -2).shape and np.allclose(s, r.swapaxes(-1, -2), rtol, atol):
            return {"transposed": True}
        return {"shape": True}
    s, r = s.astype(float), r.astype(float)
    if np.allclose(s, r, rtol, atol):
        return {"dtype": True}  # default_compare refused the kind of number, not the values
    if r.ndim >= 2 and r.shape[-1] == r.shape[-2] and np.allclose(s, r.swapaxes(-1, -2), rtol, atol):
        return {"transposed": True}
    found = {}  # a single number fits both: classify wants the same factor or offset in every case
    norm = float(np.vdot(r, r))
    if norm > 0:
        k = float(np.vdot(s, r)) / norm
        if not np.isclose(k, 1) and not np.isclose(k, 0) and np.allclose(s, k * r, rtol, atol):  # 0: all zeros
            found["factor"] = k
    d = (s - r).ravel()
    if d.size and np.allclose(d, d[0], rtol, atol) and not np.isclose(d[0], 0):
        found["offset"] = float(d[0])
    return found


def _mutated(before: Mapping, after: Mapping) -> tuple[str, ...]:
    return tuple(k for k, v in before.items() if isinstance(v, np.ndarray)
                 and not (isinstance(after[k], np.ndarray) and np.array_equal(after[k], v, equal_nan=True)))


def probe_result(exercise: ExerciseProbes, probe: Probe, student: Outcome, reference: Outcome,
                 mutated: tuple[str, ...] = ()) -> ProbeResult:
    """Judge one probe (the grader's rules) and describe how the answer is wrong, as plain data."""
    rtol = exercise.rtol if probe.rtol is None else probe.rtol
    atol = exercise.atol if probe.atol is None else probe.atol
    verdict = judge_case(0, dict(probe.entries), student, reference, rtol=rtol, atol=atol)
    base = dict(tags=tuple(probe.tags), passed=verdict.passed, expects_raise=bool(reference.raised),
                raised=student.exc_name, message=verdict.message, mutated=mutated, parts=exercise.components)
    if verdict.passed or student.raised or reference.raised:
        return ProbeResult(**base)
    wrong, relation = [], {}
    got_leaves = _leaves(student.value, exercise.components)
    want_leaves = _leaves(reference.value, exercise.components)
    if len(got_leaves) == len(want_leaves):
        for (name, got), (_, want) in zip(got_leaves, want_leaves):
            if not default_compare(got, want, rtol, atol)[0]:
                wrong.append(name)
                relation = relation or _relation(got, want, rtol, atol)
    symptoms = []
    for symptom in exercise.symptoms:
        try:
            if symptom.test(dict(probe.entries), student.value, reference.value):
                symptoms.append(symptom.id)
        except Exception:  # noqa: BLE001 - a symptom that does not apply does not match
            pass
    return ProbeResult(**base, wrong=tuple(w for w in wrong if w), symptoms=tuple(symptoms), **relation)


class WithheldCall(Exception):  # noqa: N818 - named for what the learner's code did
    """Raised by a withheld library function called inside :func:`withholding`."""


@contextmanager
def withholding(dotted: Sequence[str]):
    """While the block runs, the library functions ``dotted`` (``"pkg.module.name"``) raise
    :class:`WithheldCall`, as they are missing from the grader's copy of the library. For code the
    static scan cannot see through (a library class whose methods call them); a probe whose student
    raises it is reported as ``withheld``. Library code holding its own reference is not affected."""
    saved = []
    for name in dotted:
        module_name, _, attr = name.rpartition(".")
        module = importlib.import_module(module_name)

        def refuse(*args, _name=name, **kwargs):
            raise WithheldCall(f"{_name} is withheld: the grader's copy of the library does not have it")

        saved.append((module, attr, getattr(module, attr)))
        setattr(module, attr, refuse)
    try:
        yield
    finally:
        for module, attr, original in reversed(saved):
            setattr(module, attr, original)


@contextmanager
def _standing_in(namespace: dict, functions: Mapping[str, Callable]):
    """Put ``functions`` in ``namespace`` while the block runs; restore what was there."""
    saved = {name: namespace[name] for name in functions if name in namespace}
    namespace.update(functions)
    try:
        yield
    finally:
        for name in functions:
            namespace.pop(name, None)
        namespace.update(saved)


def run_probes(exercise: ExerciseProbes, namespace: dict, seed: int = 0) -> list[ProbeResult]:
    """Run the student's ``namespace[exercise.function]`` and the reference on every probe."""
    fn = namespace[exercise.function]
    results = []
    with _standing_in(namespace, exercise.stand_ins):
        for probe in exercise.probes(np.random.default_rng(seed)):
            entries = copy.deepcopy(dict(probe.entries))
            student = outcome_of(exercise.call, fn, Case(entries))
            reference = outcome_of(exercise.reference, Case(copy.deepcopy(dict(probe.entries))))
            results.append(probe_result(exercise, probe, student, reference, _mutated(probe.entries, entries)))
    return results


def _separating_tag(values: Sequence[ProbeResult], order: Sequence[str]) -> str | None:
    """The tag every failing case carries that fails most often where it appears (ties: ``order``)."""
    failing = [r for r in values if not r.passed]
    if not failing or len(failing) == len(values):
        return None
    common = set.intersection(*(set(r.tags) for r in failing)) - {"visible"}
    best, best_rate = None, 0.5
    for tag in sorted(common, key=lambda t: (order.index(t) if t in order else len(order), t)):
        carriers = [r for r in values if tag in r.tags]
        rate = sum(not r.passed for r in carriers) / len(carriers)
        if rate > best_rate:
            best, best_rate = tag, rate
    return best


def classify(results: Sequence[ProbeResult], tag_order: Sequence[str] = ()) -> list[str]:
    """Pattern ids that explain the failures, most specific first; ``[]`` when every probe passes.

    Pure: reads only the results. Tag patterns are the tag itself (``"stride>1"``); component
    patterns ``"wrong:<name>"``; symptoms their own id; the rest are :data:`GENERIC`'s keys.
    """
    patterns = ["withheld"] if any(r.raised.rpartition(".")[2] == WithheldCall.__name__ for r in results) else []
    mutates = ["mutates-input"] if any(r.mutated for r in results) else []
    values = [r for r in results if not r.expects_raise]
    failing = [r for r in values if not r.passed]
    if not failing and all(r.passed for r in results):
        return mutates
    if failing:
        passing = [r for r in values if r.passed]
        if passing and all("visible" in r.tags for r in passing) and all("visible" not in r.tags for r in failing):
            patterns.append("hardcoded")
        shared = set.intersection(*(set(r.symptoms) for r in failing))
        patterns += [s for r in failing[:1] for s in r.symptoms if s in shared]
        tag = _separating_tag(values, list(tag_order or TAG_KINDS))
        if tag:
            patterns.append(tag)
        if all(r.transposed for r in failing):
            patterns.append("transposed")
        for key in ("factor", "offset"):
            found = [getattr(r, key) for r in failing]
            if None not in found and np.allclose(found, found[0]):
                patterns.append(key)
        wrong = {w for r in failing for w in r.wrong}
        if wrong and wrong < set(failing[0].parts):  # some outputs right, others wrong
            patterns += [f"wrong:{w}" for w in failing[0].parts if w in wrong]
    if any(r.expects_raise and not r.passed and not r.raised for r in results):
        patterns.append("no-raise")
    if any(not r.expects_raise and r.raised for r in results):
        patterns.append("raises")
    for key in ("shape", "dtype"):
        if any(getattr(r, key) for r in failing):
            patterns.append(key)
    return patterns + mutates if patterns or mutates else ["wrong"]


def findings(exercise: ExerciseProbes, patterns: Sequence[str]) -> list[Finding]:
    """Each pattern with its kind of input and the exercise's hint (or the generic one)."""
    out = []
    for pattern in patterns:
        if pattern in GENERIC:
            kind, hint = GENERIC[pattern]
        elif pattern.startswith("wrong:"):
            kind, hint = "", f"{pattern[6:]} is wrong while the other outputs are right"
        elif pattern in exercise.kinds or pattern in TAG_KINDS:
            kind, hint = exercise.kinds.get(pattern) or TAG_KINDS[pattern], _TAG_HINT
        elif any(s.id == pattern for s in exercise.symptoms):
            kind, hint = "", pattern  # a symptom without a kind of input: its hint says it all
        else:
            kind, hint = f"only on inputs tagged {pattern!r}", _TAG_HINT
        out.append(Finding(pattern, kind, exercise.hints.get(pattern, hint)))
    return out


def diagnose(exercise: ExerciseProbes, namespace: dict, seed: int = 0) -> list[Finding]:
    """Probe the student's function in ``namespace`` and explain its failures (``[]``: none found)."""
    results = run_probes(exercise, namespace, seed)
    order = list(exercise.kinds) + list(TAG_KINDS)
    return findings(exercise, classify(results, order))
