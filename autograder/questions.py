"""Understanding questions: a number or a choice among lettered options, graded like an exercise.

A question is a :class:`~autograder.checks.Check` with a single case and a reference that returns the
answer, so it runs through the same hidden cells, sandbox and judging as every function check. In
``solutions/<aid>/checks.py``::

    CHECKS = [..., question("q_layer_params", "q_layer_params_hidden", 12_832),
              question("q_tiles", "q_tiles_hidden", "ACE", choices="ABCDE")]

and in the notebook an answer cell (a solution cell assigning ``q_layer_params = ...``), a visible
cell checking only the answer's form, and a hidden cell
``run_hidden("<aid>", "q_layer_params", lambda c: q_layer_params)``: the check's name is the answer's
variable. The judge never says what the right answer is (feedback pages and self-checks show only
"not the expected answer"), so a question can be asked again next term.
"""

from __future__ import annotations

import math
import numbers

from autograder.checks import Check, CheckSpecError

__all__ = ["question", "compare_number", "compare_choice"]

_WRONG = "not the expected answer"


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def compare_number(student, reference, rel_tol: float = 0.0) -> tuple[bool, str]:
    """An int or float answer within ``rel_tol`` of ``reference`` (exact when 0); ``(ok, message)``."""
    if not _is_number(student) or (hasattr(student, "shape") and getattr(student, "shape") != ()):
        return False, f"answer with a number, not a {type(student).__name__}"
    value = float(student)
    if not math.isfinite(value):
        return False, "answer with a finite number"
    if math.isclose(value, float(reference), rel_tol=rel_tol, abs_tol=0.0) or value == reference:
        return True, ""
    return False, _WRONG


def compare_choice(student, reference: str, choices: str) -> tuple[bool, str]:
    """A string of option letters (any order, any case) naming exactly the options of ``reference``."""
    if not isinstance(student, str):
        return False, f"answer with a string of letters, not a {type(student).__name__}"
    letters = student.replace(" ", "").replace(",", "").upper()
    if not letters or not set(letters) <= set(choices) or len(set(letters)) != len(letters):
        return False, f"answer with letters among {', '.join(choices)}, each at most once"
    return (True, "") if set(letters) == set(reference) else (False, _WRONG)


def question(name: str, grade_id: str, answer, *, choices: str = "", rel_tol: float = 0.0) -> Check:
    """A question check: the student's variable ``name`` must equal ``answer``.

    ``answer`` is a number (``rel_tol`` is the precision the question states; 0 for counts) or, with
    ``choices`` (the option letters, e.g. ``"ABCD"``), the letters of every right option.
    """
    if not name.isidentifier():
        raise CheckSpecError(f"question {name!r}: its name is the answer's variable, a Python identifier")
    if choices:
        if not isinstance(answer, str) or not answer or not set(answer) <= set(choices):
            raise CheckSpecError(f"question {name}: the answer must be letters among {choices!r}")

        def compare(student, reference):
            return compare_choice(student, reference, choices)
    else:
        if not _is_number(answer) or rel_tol < 0:
            raise CheckSpecError(f"question {name}: the answer must be a number (or give choices)")

        def compare(student, reference):
            return compare_number(student, reference, rel_tol)

    def cases(rng):
        yield {"question": name}  # one fixed case: the answer does not depend on any input

    def reference(question):
        return answer

    return Check(name=name, grade_id=grade_id, cases=cases, reference=reference, compare=compare, question=True)
