"""``stand_in``: judge a later exercise without the earlier exercise it is built on.

A hidden-test cell of a later exercise (a1's ``conv_layer_shapes``, which calls the student's
``conv_output_size`` of exercise 2) runs the student's later function with the earlier function
*standing in*: for exactly the calls the case needs, it answers with values the grader computed
outside the sandbox and sent along as case entries; any other call goes to the student's own
function. So a mistake in the earlier exercise costs that exercise's points once::

    ### BEGIN HIDDEN TESTS
    from autograder.kernel.harness import run_hidden
    from autograder.kernel.stand_in import stand_in

    def _shapes(c):
        calls = table_calls(c.output_sizes, ("size", "kernel", "stride", "pad"), ValueError("invalid"))
        with stand_in(globals(), "conv_output_size", lambda size, kernel, stride=1, pad=0: None, calls):
            return conv_layer_shapes(c.input_shape, c.num_filters, c.kernel, stride=c.stride, pad=c.pad)

    run_hidden("a1_volumes", "conv_layer_shapes", _shapes)
    ### END HIDDEN TESTS

The values handed over are answers of the earlier exercise for the later case's own geometry. By
the time the later cell runs, the earlier cell's answers have been recorded (the first answer to a
case counts) and its inputs removed, so they can only serve the call they stand in for.

Nothing here is trusted: like the rest of ``autograder/kernel/`` it only shapes what the kernel
sends. Imports only NumPy and the standard library.
"""

from __future__ import annotations

import copy
import inspect
from contextlib import contextmanager

import numpy as np

__all__ = ["stand_in", "table_calls"]

_MISSING = object()


def _same(a, b) -> bool:
    """Whether an argument of the student's call equals the one a listed call names."""
    try:
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            a, b = np.asarray(a), np.asarray(b)
            return a.shape == b.shape and bool(np.array_equal(a, b))
        return bool(a == b)
    except Exception:  # noqa: BLE001 - an argument that cannot be compared is not the listed one
        return False


def _listed(bound: dict, arguments: dict) -> bool:
    return bound.keys() == arguments.keys() and all(_same(bound[k], arguments[k]) for k in arguments)


@contextmanager
def stand_in(namespace: dict, name: str, signature, calls):
    """While the block runs, ``namespace[name]`` answers the listed ``calls`` itself.

    - namespace: where the later function looks the earlier one up (the notebook's ``globals()``)
    - signature: a function with the earlier function's documented signature (never called): a
      call is matched by its arguments bound to these parameters, defaults filled in
    - calls: ``(arguments, answer)`` pairs; ``arguments`` a dict by parameter name, ``answer`` the
      value to return (a copy each time) or an exception instance to raise

    A call that is not listed (or does not fit the signature) goes to the function the namespace
    held before (``NameError`` when there was none). The name is restored afterwards, however the
    block ends.
    """
    params = inspect.signature(signature)
    calls = list(calls)
    own = namespace.get(name, _MISSING)

    def answer(*args, **kwargs):
        try:
            bound = params.bind(*args, **kwargs)
        except TypeError:
            bound = None
        if bound is not None:
            bound.apply_defaults()
            for arguments, value in calls:
                if _listed(bound.arguments, arguments):
                    if isinstance(value, BaseException):
                        raise copy.copy(value)
                    return copy.deepcopy(value)
        if own is _MISSING:
            raise NameError(f"name {name!r} is not defined")
        return own(*args, **kwargs)

    answer.__name__ = answer.__qualname__ = name
    namespace[name] = answer
    try:
        yield answer
    finally:
        if own is _MISSING:
            namespace.pop(name, None)
        else:
            namespace[name] = own


def table_calls(rows, names, invalid: BaseException) -> list:
    """The calls of an integer function, from an int array with one row per call.

    A row holds the arguments in the order of ``names``, then the answer; a negative answer means
    the call raises ``invalid``. For :func:`stand_in`'s ``calls``.
    """
    calls = []
    for row in np.asarray(rows).tolist():
        *args, out = row
        calls.append((dict(zip(names, args, strict=True)), out if out >= 0 else invalid))
    return calls
