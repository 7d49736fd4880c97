"""Runtime guards on library functions that an exercise withholds.

:func:`install_guards` replaces each named module attribute (e.g.
``convlab.layers.conv_forward_naive``) with a guard. Inside
:func:`withholding` the guard raises :class:`WithheldFunctionError` for the
names being withheld and records the attempt (so a student who catches the
error still gets no credit for that case). Outside any ``withholding`` block
the guard either passes through (a solution author's local run) or refuses
(inside the grading sandbox, so answers cannot be precomputed with the
reference before the hidden cell runs).

This is the in-kernel half of the protection; the trusted half is the static
scan in :mod:`autograder.scan`. Imports only the standard library.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib

__all__ = ["WithheldFunctionError", "install_guards", "withholding", "GuardSet"]


class WithheldFunctionError(PermissionError):
    """Raised when code calls a library function that the current exercise withholds."""


# Names withheld right now (None: outside any hidden-test call) and the calls seen.
_ACTIVE: contextvars.ContextVar = contextvars.ContextVar("convlab_withheld_active", default=None)
_SEEN: contextvars.ContextVar = contextvars.ContextVar("convlab_withheld_seen", default=None)


class GuardSet:
    """The guards installed by one :func:`install_guards` call; ``restore()`` undoes them."""

    def __init__(self):
        self._originals: list[tuple[object, str, object]] = []

    def add(self, module, attr: str, original) -> None:
        self._originals.append((module, attr, original))

    def restore(self) -> None:
        for module, attr, original in reversed(self._originals):
            setattr(module, attr, original)
        self._originals.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.restore()


def _make_guard(dotted: str, original, block_outside: bool):
    @functools.wraps(original)
    def guard(*args, **kwargs):
        active = _ACTIVE.get()
        blocked = block_outside if active is None else dotted in active
        if blocked:
            seen = _SEEN.get()
            if seen is not None and dotted not in seen:
                seen.append(dotted)
            raise WithheldFunctionError(f"{dotted} is withheld for this exercise: write your own")
        return original(*args, **kwargs)

    guard.__convlab_guard__ = dotted
    return guard


def install_guards(names, *, block_outside: bool = False) -> GuardSet:
    """Guard every ``module.attr`` in ``names``; unknown modules/attributes are skipped.

    Returns a :class:`GuardSet` (a context manager) that restores the originals.
    """
    guards = GuardSet()
    for dotted in sorted(set(names)):
        module_name, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        original = getattr(module, attr, None)
        if original is None or getattr(original, "__convlab_guard__", None):
            continue
        guard = _make_guard(dotted, original, block_outside)
        setattr(module, attr, guard)
        guards.add(module, attr, original)
        # a re-export (convlab.layers.conv_forward_naive) has a defining module
        # (convlab.layers.conv_naive) holding the same function: guard that name too
        home = _defining_module(original, module_name)
        if home is not None and getattr(home, original.__name__, None) is original:
            setattr(home, original.__name__, guard)
            guards.add(home, original.__name__, original)
    return guards


def _defining_module(function, through: str):
    """The module that defines ``function`` when it differs from ``through``, else ``None``."""
    name = getattr(function, "__module__", None)
    if not name or name == through or not hasattr(function, "__name__"):
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


@contextlib.contextmanager
def withholding(names):
    """Within the block, guarded functions in ``names`` raise; yields the list of attempted calls."""
    seen: list[str] = []
    token_active = _ACTIVE.set(frozenset(names))
    token_seen = _SEEN.set(seen)
    try:
        yield seen
    finally:
        _SEEN.reset(token_seen)
        _ACTIVE.reset(token_active)
