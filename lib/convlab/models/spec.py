"""A short, readable language for ConvNet architectures.

The lecture notes' pattern ``INPUT -> [[CONV -> RELU]*N -> POOL?]*M -> [FC -> RELU]*K -> FC``
is written as whitespace-separated tokens, e.g.::

    "[conv3-16 relu]x2 pool2 [conv3-32 relu]x2 pool2 fc64 relu fc10"

Grammar (tokens are case-insensitive)::

    spec   := item+
    item   := token | "[" item+ "]x" N         repeat the bracketed items N times (nestable)
    token  := conv | pool | "relu" | fc | res | "bn" | dropout
    conv   := "conv" F "-" K ["s" S] ["p" P]     F x F filters (or FHxFW, e.g. conv3x5-8), K of them,
                                                stride S (default 1), zero padding P per side
                                                (default (F-1)/2 for odd F -- "same" -- and 0 for even F;
                                                P may be PHxPW)
    pool   := ["avg" | "l2"] "pool" F ["s" S]    max (default), average or L2 pooling, F x F windows,
                                                stride S (default F: non-overlapping)
    fc     := "fc" K                             fully-connected layer with K outputs
    res    := "res" F "-" K                      residual block: relu(conv(relu(conv(x))) + x),
                                                F x F 'same' convs with K filters; 1x1 projection
                                                on the skip path when the depth changes
    "bn"                                        spatial batch normalisation (on a (C, H, W) volume)
    dropout := "dropout" [p]                    inverted dropout, drop probability p (default 0.5)

CONV and POOL layers must come before the first FC layer (an FC output has no
spatial extent). :func:`parse_spec` returns a tuple of blocks from
:mod:`convlab.models.blocks`; :func:`format_spec` writes blocks back as a spec.
"""

from __future__ import annotations

import re

from convlab.models.blocks import FC, BatchNorm, Conv, Dropout, Pool, ReLU, Residual

__all__ = ["parse_spec", "format_spec", "SpecError"]


class SpecError(ValueError):
    """A spec string that does not follow the grammar; the message points at the problem."""


_PAIR = r"(\d+)(?:x(\d+))?"
_PATTERNS = (
    (re.compile(rf"conv{_PAIR}-(\d+)(?:s(\d+))?(?:p{_PAIR})?"), "conv"),
    (re.compile(r"(max|avg|l2)?pool(\d+)(?:s(\d+))?"), "pool"),
    (re.compile(r"relu"), "relu"),
    (re.compile(r"fc(\d+)"), "fc"),
    (re.compile(r"res(\d+)-(\d+)"), "res"),
    (re.compile(r"bn"), "bn"),
    (re.compile(r"dropout(\d*\.?\d*)"), "dropout"),
)
_LEX = re.compile(r"\s*(?:(\[)|(\])\s*x\s*(\d+)|([^\s\[\]]+))")


def _positive(text: str, what: str, token: str) -> int:
    value = int(text)
    if value < 1:
        raise SpecError(f"in {token!r}: {what} must be >= 1, got {value}")
    return value


def _make_block(token: str):
    low = token.lower()
    for pattern, kind in _PATTERNS:
        m = pattern.fullmatch(low)
        if m is None:
            continue
        if kind == "conv":
            fh = _positive(m[1], "filter size", token)
            fw = _positive(m[2], "filter width", token) if m[2] else fh
            k = _positive(m[3], "number of filters", token)
            stride = _positive(m[4], "stride", token) if m[4] else 1
            pad = None
            if m[5] is not None:
                pad = (int(m[5]), int(m[6]) if m[6] else int(m[5]))
            return Conv(fh, fw, k, stride, pad)
        if kind == "pool":
            size = _positive(m[2], "window size", token)
            stride = _positive(m[3], "stride", token) if m[3] else size
            return Pool(size, stride, m[1] or "max")
        if kind == "relu":
            return ReLU()
        if kind == "fc":
            return FC(_positive(m[1], "number of outputs", token))
        if kind == "bn":
            return BatchNorm()
        if kind == "dropout":
            try:
                return Dropout(float(m[1]) if m[1] else 0.5)
            except ValueError as exc:
                raise SpecError(f"in {token!r}: {exc}") from None
        try:
            return Residual(_positive(m[1], "filter size", token), _positive(m[2], "number of filters", token))
        except ValueError as exc:
            raise SpecError(str(exc)) from None
    raise SpecError(
        f"unknown layer {token!r}; use convF-K[sS][pP], [avg|l2]poolF[sS], relu, fcK, resF-K, bn or dropoutP "
        f"(see convlab.models.spec)"
    )


def _lex(spec: str):
    """Yield ("open", None), ("close", N) and ("token", text) items."""
    pos = 0
    spec = spec.rstrip()
    while pos < len(spec):
        m = _LEX.match(spec, pos)
        if m is None or m.end() == pos:
            raise SpecError(f"cannot read the spec at position {pos}: {spec[pos:pos + 20]!r} "
                            f"(a ']' must be followed by xN, e.g. ']x2')")
        if m[1]:
            yield "open", None
        elif m[2]:
            yield "close", int(m[3])
        else:
            yield "token", m[4]
        pos = m.end()


def parse_spec(spec: str) -> tuple:
    """Parse a spec string into a flat tuple of blocks (repetitions expanded).

    Raises :class:`SpecError` naming the offending token for unknown layers,
    unbalanced brackets, ``x0`` repeats, or an empty spec.
    """
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a string, got {type(spec).__name__}")
    stack = [[]]
    for kind, value in _lex(spec):
        if kind == "open":
            stack.append([])
        elif kind == "close":
            if len(stack) == 1:
                raise SpecError(f"unbalanced ']x{value}' in {spec!r}")
            if value < 1:
                raise SpecError(f"a repeat count must be >= 1, got ']x{value}' in {spec!r}")
            group = stack.pop()
            if not group:
                raise SpecError(f"empty brackets in {spec!r}")
            stack[-1].extend(group * value)
        else:
            stack[-1].append(_make_block(value))
    if len(stack) != 1:
        raise SpecError(f"unclosed '[' in {spec!r}")
    if not stack[0]:
        raise SpecError("the spec is empty; e.g. 'conv3-8 relu pool2 fc10'")
    return tuple(stack[0])


def format_spec(blocks) -> str:
    """The canonical spec of ``blocks`` (no repeat brackets): ``parse_spec(format_spec(b)) == b``."""
    return " ".join(block.token for block in blocks)
