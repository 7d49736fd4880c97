"""``run_hidden``: what a hidden-test cell calls.

In a solution notebook (``solutions/<aid>/<aid>.ipynb``)::

    ### BEGIN HIDDEN TESTS
    from autograder.kernel.harness import run_hidden
    run_hidden("a2_naive_conv", "conv_forward",
               lambda c: conv_forward_naive(c.x, c.w, c.b, stride=c.stride, pad=c.pad)[0])
    ### END HIDDEN TESTS

Two modes:

GRADING (the environment variable ``CONVLAB_HIDDEN_INPUTS`` names a folder): the grader has put
the fresh inputs of this cell's checks there, read-only, for the duration of this cell. Each case
is passed to the callable and the answer (or the exception raised) is sent to the grader as a
display message (:func:`autograder.kernel.protocol.answer_message`), which the grader takes out of
the cell's output as it arrives. Nothing is judged here, and nothing here is trusted: the library
in the grading sandbox has no reference implementation of what the exercises ask for, so code in
this process can only send answers it computed itself.

LOCAL (no such variable: the notebook runs on an author's or a learner's machine):
:mod:`autograder.local` judges the answers at once against ``checks.py`` of the notebook's own
solutions folder.

Imports only NumPy and the standard library (IPython, to send a message, when grading).
"""

from __future__ import annotations

import os

from autograder.kernel.protocol import (INPUTS_ENV, MAX_ANSWER_BYTES, Outcome, ValueFormatError, answer_message,
                                        call_on_case, encoded_size, read_inputs)

__all__ = ["run_hidden"]


def _publish(payload: dict) -> None:
    from IPython.display import publish_display_data  # noqa: PLC0415 - only inside a kernel

    from autograder.kernel.protocol import ANSWER_MIME  # noqa: PLC0415

    publish_display_data({ANSWER_MIME: payload})


def run_hidden(aid: str, name: str, fn, *, publish=None) -> None:
    """Run the hidden check ``name`` of assignment ``aid`` on ``fn``.

    ``fn`` receives a :class:`Case` and returns the student's answer (an array, a number, or a
    tuple of those); an exception it raises is that case's answer. ``publish`` replaces the
    display message (tests). See the module docstring for the two modes.
    """
    if not callable(fn):
        raise TypeError("run_hidden needs a callable taking one case")
    folder = os.environ.get(INPUTS_ENV)
    if not folder:
        from autograder.local import run_local  # noqa: PLC0415 - outside the grader only

        run_local(aid, name, fn)
        return
    publish = publish or _publish
    cases = read_inputs(folder, aid, name)
    for index, entries in enumerate(cases):
        outcome = call_on_case(fn, entries)
        try:
            payload = answer_message(aid, name, index, outcome)
            if encoded_size(payload.get("value")) > MAX_ANSWER_BYTES:
                raise ValueFormatError(f"your answer holds more than {MAX_ANSWER_BYTES} bytes")
        except ValueFormatError as exc:
            payload = answer_message(aid, name, index, Outcome(raised=("autograder.UnsupportedAnswer",),
                                                               message=str(exc)))
        publish(payload)
    print(f"hidden check {name}: {len(cases)} cases recorded for grading")
