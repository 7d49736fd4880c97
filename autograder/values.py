"""Pickle-free files for hidden-test inputs and answers.

A *value* is what a hidden case holds or what a student's code returns: a
NumPy array or scalar, a Python ``bool``/``int``/``float``/``str``, ``None``,
or a tuple of values. :func:`encode` splits a value into a JSON-able *spec*
plus named arrays; :func:`save_values` writes a list of values as
``<stem>.json`` + ``<stem>.npz`` and :func:`load_values` reads them back with
``allow_pickle=False``, so a file written by untrusted code can at worst hold
wrong numbers, never run code in the reader.

Imports only NumPy and the standard library (the student's kernel imports it).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = [
    "UnsupportedValueError",
    "encode",
    "decode",
    "save_values",
    "load_values",
    "MAX_SPEC_BYTES",
]

#: A spec file larger than this is refused (an answer file is untrusted input).
MAX_SPEC_BYTES = 4_000_000


class UnsupportedValueError(TypeError):
    """A value that cannot be stored without pickling (e.g. a dict, an object array)."""


def encode(value, arrays: dict, path: str = "value"):
    """Return the JSON-able spec of ``value``; arrays are added to ``arrays`` by key.

    ``path`` names the value in error messages. Lists are stored as arrays
    (``np.asarray``); a list that does not form a numeric/str array is refused.
    """
    if value is None:
        return {"t": "none"}
    if isinstance(value, bool):
        return {"t": "bool", "v": value}
    if isinstance(value, int):
        return {"t": "int", "v": str(value)}  # str: JSON ints lose precision elsewhere
    if isinstance(value, float):
        return {"t": "float", "v": repr(value)}
    if isinstance(value, str):
        return {"t": "str", "v": value}
    if isinstance(value, tuple):
        return {"t": "tuple", "items": [encode(v, arrays, f"{path}[{i}]") for i, v in enumerate(value)]}
    if isinstance(value, np.generic):
        key = f"a{len(arrays)}"
        arrays[key] = _plain_array(np.asarray(value), path)
        return {"t": "npscalar", "key": key}
    if isinstance(value, (np.ndarray, list)):
        key = f"a{len(arrays)}"
        arrays[key] = _plain_array(np.asarray(value), path)
        return {"t": "array", "key": key}
    raise UnsupportedValueError(
        f"{path}: cannot record a {type(value).__name__}; return a NumPy array, a number, "
        "a string, None or a tuple of these"
    )


def _plain_array(arr: np.ndarray, path: str) -> np.ndarray:
    if arr.dtype.kind not in "biufcUS":
        raise UnsupportedValueError(f"{path}: arrays of dtype {arr.dtype} cannot be recorded")
    return arr.copy(order="C")  # ascontiguousarray would turn 0-d into 1-d


def decode(spec, arrays):
    """Inverse of :func:`encode`; ``arrays`` maps keys to arrays (an open ``NpzFile`` works)."""
    t = spec["t"]
    if t == "none":
        return None
    if t == "bool":
        return bool(spec["v"])
    if t == "int":
        return int(spec["v"])
    if t == "float":
        return float(spec["v"])  # repr() text, incl. "nan" and "inf"
    if t == "str":
        return str(spec["v"])
    if t == "tuple":
        return tuple(decode(s, arrays) for s in spec["items"])
    if t == "array":
        return np.array(arrays[spec["key"]])  # a fresh, writable copy
    if t == "npscalar":
        return np.array(arrays[spec["key"]])[()]
    raise ValueError(f"unknown value tag {t!r}")


def save_values(stem, values, meta=None) -> None:
    """Write ``values`` (a list) to ``<stem>.json`` and ``<stem>.npz``.

    ``meta`` (JSON-able) is stored alongside. The JSON file is written last,
    through a temporary name, so a reader never sees a half-written pair.
    """
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict = {}
    specs = [encode(v, arrays, f"item {i}") for i, v in enumerate(values)]
    _savez(stem, arrays)
    tmp = stem.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"values": specs, "meta": meta}, allow_nan=True))
    os.replace(tmp, stem.with_suffix(".json"))


def _savez(stem: Path, arrays: dict) -> None:
    # np.savez never pickles plain numeric/str arrays; _plain_array guaranteed that.
    with open(stem.with_suffix(".npz"), "wb") as fh:
        np.savez(fh, **arrays)


def load_values(stem):
    """Read ``(values, meta)`` written by :func:`save_values` (no unpickling, size-capped)."""
    stem = Path(stem)
    spec_path = stem.with_suffix(".json")
    if spec_path.stat().st_size > MAX_SPEC_BYTES:
        raise ValueError(f"{spec_path.name} is larger than {MAX_SPEC_BYTES} bytes")
    doc = json.loads(spec_path.read_text())
    npz_path = stem.with_suffix(".npz")
    if not npz_path.exists():
        return [decode(s, {}) for s in doc["values"]], doc.get("meta")
    with np.load(npz_path, allow_pickle=False) as arrays:
        values = [decode(s, arrays) for s in doc["values"]]
    return values, doc.get("meta")

