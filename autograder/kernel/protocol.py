"""What the grader and the sandboxed kernel agree on: names, places and the wire format of values.

The only module imported by both sides of the trust boundary. The grader (outside the sandbox)
writes one *inputs file* per hidden check just before the hidden-test cell that runs it, into a
folder the kernel can read but not write, and removes it when the cell ends. The kernel's
:func:`autograder.kernel.harness.run_hidden` reads it, calls the student's code on every case and
sends each answer back as a display message of type :data:`ANSWER_MIME`; the grader takes those
messages out of the cell's output stream as they arrive. Nothing the kernel writes to disk is read
by the grader.

A *value* (a case entry or an answer) is ``None``, a ``bool``/``int``/``float``/``str``, a NumPy
array or scalar of a numeric, bool or string dtype, or a tuple of values. :func:`encode` turns it
into plain JSON (arrays as base64 with dtype and shape); :func:`decode` turns it back, refusing
anything malformed and anything larger than a byte budget *before* allocating it, so a hostile
answer can at worst be a wrong answer.

Imports only NumPy and the standard library.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "INPUTS_ENV",
    "OUTPUT_CAP_ENV",
    "ANSWER_MIME",
    "SANDBOX_INPUTS",
    "SANDBOX_WORKDIR",
    "SANDBOX_HOME",
    "MAX_ANSWER_BYTES",
    "MAX_INPUTS_BYTES",
    "ValueFormatError",
    "Outcome",
    "Case",
    "call_on_case",
    "exception_names",
    "encode",
    "decode",
    "encoded_size",
    "inputs_path",
    "write_inputs",
    "read_inputs",
    "answer_message",
    "read_answer_message",
]

#: Environment variable naming the folder holding the inputs of the hidden cell being run. Its
#: presence puts ``run_hidden`` in grading mode.
INPUTS_ENV = "CONVLAB_HIDDEN_INPUTS"
#: Environment variable ``"<lines>:<bytes>"``: the kernel cuts a cell's output a little past it.
OUTPUT_CAP_ENV = "CONVLAB_OUTPUT_CAP"
#: MIME type of the display message carrying one answer from the kernel to the grader.
ANSWER_MIME = "application/vnd.convlab.answer+json"
#: Where the sandboxed kernel sees the inputs folder (read-only), its working folder and its home.
SANDBOX_INPUTS = "/run/convlab/inputs"
SANDBOX_WORKDIR = "/submission"
SANDBOX_HOME = "/tmp/.sandbox-home"
#: Largest encoded answer the kernel sends for one case (bytes of array data).
MAX_ANSWER_BYTES = 16 * 2**20
#: Largest inputs file the kernel reads.
MAX_INPUTS_BYTES = 256 * 2**20

_KINDS = "biufcUS"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_MESSAGE_CHARS = 300
_MAX_DEPTH = 8
_MAX_ITEMS = 64


class ValueFormatError(ValueError):
    """A value that cannot cross the boundary: unsupported type, malformed or over budget."""


@dataclass(frozen=True)
class Outcome:
    """What one call produced: ``value`` if ``raised`` is empty, else the exception.

    ``raised`` holds the qualified names of the exception's MRO (most derived first), e.g.
    ``("builtins.ValueError", "builtins.Exception", ...)``, so an exception crosses the boundary
    without pickling.
    """

    value: object = None
    raised: tuple = ()
    message: str = ""

    @property
    def exc_name(self) -> str:
        return self.raised[0].removeprefix("builtins.") if self.raised else ""


def exception_names(exc: BaseException) -> tuple:
    """Qualified names of ``type(exc).__mro__``, most derived first."""
    return tuple(f"{k.__module__}.{k.__qualname__}" for k in type(exc).__mro__)


def short_message(text) -> str:
    """One line of at most 300 characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 3] + "..."


# --- a case, as student code sees it ------------------------------------------------------------
class Case:
    """Read-only view of one hidden case: ``c.x`` and ``c["x"]`` give the entry ``x``."""

    __slots__ = ("_entries",)

    def __init__(self, entries: dict):
        object.__setattr__(self, "_entries", dict(entries))

    def __getattr__(self, key):
        try:
            return self._entries[key]
        except KeyError:
            raise AttributeError(f"this case has no entry {key!r}; it has {', '.join(self._entries)}") from None

    def __getitem__(self, key):
        return self._entries[key]

    def __setattr__(self, key, value):
        raise AttributeError("hidden cases are read-only")

    def __contains__(self, key):
        return key in self._entries

    def keys(self):
        return self._entries.keys()

    def __repr__(self):
        return "Case(" + ", ".join(self._entries) + ")"


def call_on_case(fn, entries: dict) -> Outcome:
    """Call ``fn(Case)`` on a private copy of the entries; what it returned or raised.

    The one way student code meets a case, in grading and in an author's local run alike.
    """
    try:
        return Outcome(value=fn(Case(copy.deepcopy(entries))))
    except Exception as exc:  # noqa: BLE001 - the exception is this case's answer
        return Outcome(raised=exception_names(exc), message=str(exc))


# --- values -------------------------------------------------------------------------------------
def encode(value, path: str = "value"):
    """The JSON-able form of ``value`` (see the module docstring); ``ValueFormatError`` otherwise.

    Lists are stored as arrays (``np.asarray``); ``path`` names the value in error messages.
    """
    if value is None:
        return {"t": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"t": "bool", "v": bool(value)}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}  # str: JSON readers elsewhere lose big ints
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, tuple):
        if len(value) > _MAX_ITEMS:
            raise ValueFormatError(f"{path}: a tuple of more than {_MAX_ITEMS} values")
        return {"t": "tuple", "items": [encode(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, (np.ndarray, np.generic, list)):
        try:
            arr = np.asarray(value)
        except ValueError as exc:  # ragged lists
            raise ValueFormatError(f"{path}: {short_message(exc)}") from None
        if arr.dtype.kind not in _KINDS:
            raise ValueFormatError(f"{path}: arrays of dtype {arr.dtype} cannot be recorded")
        arr = np.ascontiguousarray(arr) if arr.ndim else arr.reshape(())
        return {"t": "scalar" if isinstance(value, np.generic) else "array", "dtype": arr.dtype.str,
                "shape": list(arr.shape), "data": base64.b64encode(arr.tobytes()).decode("ascii")}
    raise ValueFormatError(
        f"{path}: cannot record a {type(value).__name__}; return a NumPy array, a number, a string, "
        "None or a tuple of these")


def encoded_size(doc) -> int:
    """Bytes of array data a JSON form holds once decoded (from the length of its base64 text)."""
    if isinstance(doc, dict):
        if doc.get("t") in ("array", "scalar"):
            data = str(doc.get("data", ""))
            return len(data) * 3 // 4 - data[-2:].count("=")
        if doc.get("t") == "tuple" and isinstance(doc.get("items"), list):
            return sum(encoded_size(d) for d in doc["items"])
    return 0


def _dtype(text) -> np.dtype:
    try:
        dtype = np.dtype(str(text))
    except TypeError:
        raise ValueFormatError(f"unknown dtype {str(text)[:40]!r}") from None
    if dtype.kind not in _KINDS or dtype.hasobject or dtype.fields is not None:
        raise ValueFormatError(f"dtype {dtype} is not allowed")
    return dtype


def _shape(items) -> tuple:
    if not isinstance(items, list) or len(items) > 32:
        raise ValueFormatError("malformed shape")
    if not all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n < 2**40 for n in items):
        raise ValueFormatError("malformed shape")
    return tuple(items)


def decode(doc, max_bytes: int = MAX_ANSWER_BYTES, _depth: int = 0):
    """The value of a JSON form written by :func:`encode`.

    Refuses (``ValueFormatError``) malformed input, unknown tags and dtypes, and arrays whose
    declared size does not match their data or exceeds ``max_bytes`` (checked before decoding).
    """
    if _depth > _MAX_DEPTH or not isinstance(doc, dict):
        raise ValueFormatError("malformed value")
    t = doc.get("t")
    if t == "none":
        return None
    if t in ("bool", "int", "float", "str"):
        v = doc.get("v")
        if t == "bool" and isinstance(v, bool):
            return v
        if isinstance(v, str) and len(v) <= 10_000:
            try:
                return {"int": int, "float": float, "str": str}[t](v)
            except (KeyError, ValueError):
                pass
        raise ValueFormatError(f"malformed {t}")
    if t == "tuple":
        items = doc.get("items")
        if not isinstance(items, list) or len(items) > _MAX_ITEMS:
            raise ValueFormatError("malformed tuple")
        out = []
        for item in items:
            out.append(decode(item, max_bytes, _depth + 1))
            max_bytes -= encoded_size(item)
        return tuple(out)
    if t in ("array", "scalar"):
        dtype, shape = _dtype(doc.get("dtype")), _shape(doc.get("shape"))
        nbytes = math.prod(shape) * dtype.itemsize
        data = doc.get("data")
        if not isinstance(data, str) or nbytes > max_bytes or len(data) > (nbytes + 2) // 3 * 4 + 4:
            raise ValueFormatError(f"array of {nbytes} bytes is over the {max_bytes}-byte budget"
                                   if nbytes > max_bytes else "malformed array data")
        try:
            raw = base64.b64decode(data.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueFormatError("malformed array data") from None
        if len(raw) != nbytes:
            raise ValueFormatError("array data does not match its shape")
        arr = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
        return arr[()] if t == "scalar" else arr
    raise ValueFormatError(f"unknown value tag {str(t)[:20]!r}")


# --- inputs files ------------------------------------------------------------------------------
def _check_name(name: str) -> str:
    if not (1 <= len(str(name)) <= 80) or not set(str(name)) <= _NAME_CHARS:
        raise ValueError(f"bad assignment or check name: {name!r}")
    return str(name)


def inputs_path(folder, check: str) -> Path:
    """The inputs file of hidden check ``check`` in ``folder``."""
    return Path(folder) / f"{_check_name(check)}.json"


def write_inputs(folder, aid: str, check: str, cases: list[dict]) -> Path:
    """Write the cases of one check (grader side); atomic, readable by the kernel's user."""
    doc = {"aid": _check_name(aid), "check": _check_name(check),
           "cases": [{key: encode(v, f"case {i}: {key}") for key, v in case.items()} for i, case in enumerate(cases)]}
    path = inputs_path(folder, check)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc))
    tmp.chmod(0o644)
    os.replace(tmp, path)
    return path


def read_inputs(folder, aid: str, check: str) -> list[dict]:
    """The cases of check ``check`` of assignment ``aid`` (kernel side).

    ``RuntimeError`` when the grader prepared no inputs for it (the cell is not run by the grader,
    or runs another assignment's check).
    """
    path = inputs_path(folder, check)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_INPUTS_BYTES + 1)
    except FileNotFoundError:
        raise RuntimeError(f"the grader prepared no inputs for hidden check {check!r} here") from None
    doc = json.loads(raw)
    if doc.get("aid") != aid or doc.get("check") != check:
        raise RuntimeError(f"hidden inputs for {check!r} belong to another check")
    return [{key: decode(v, MAX_INPUTS_BYTES) for key, v in case.items()} for case in doc["cases"]]


# --- answer messages ---------------------------------------------------------------------------
def answer_message(aid: str, check: str, index: int, outcome: Outcome) -> dict:
    """The display-data payload carrying one case's answer (kernel side)."""
    doc = {"aid": aid, "check": check, "case": int(index), "raised": list(outcome.raised),
           "message": short_message(outcome.message) if outcome.message else ""}
    if not outcome.raised:
        doc["value"] = encode(outcome.value, "your answer")
    return doc


def read_answer_message(doc, aid: str, checks: dict, max_bytes: int) -> tuple[str, int, Outcome]:
    """``(check, case index, Outcome)`` from an answer payload (grader side).

    ``checks`` maps the names of the checks this cell may answer to their case counts. Raises
    ``ValueFormatError`` for a payload that is malformed, for another check or case, or over
    ``max_bytes``; a value that cannot be decoded becomes a failing outcome, not an error.
    """
    if not isinstance(doc, dict) or doc.get("aid") != aid or doc.get("check") not in checks:
        raise ValueFormatError("an answer for no check of this cell")
    index = doc.get("case")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < checks[doc["check"]]:
        raise ValueFormatError("an answer for no case of this check")
    raised = doc.get("raised", [])
    if not isinstance(raised, list) or not all(isinstance(r, str) and len(r) < 200 for r in raised[:20]):
        raise ValueFormatError("malformed exception names")
    message = short_message(doc.get("message", ""))
    if raised:
        return doc["check"], index, Outcome(raised=tuple(raised[:20]), message=message)
    try:
        value = decode(doc.get("value"), max_bytes)
    except ValueFormatError as exc:
        return doc["check"], index, Outcome(raised=("autograder.BadAnswer",), message=f"answer refused: {exc}")
    return doc["check"], index, Outcome(value=value)
