"""The last check of a written feedback page: nothing in it can run, load a frame, or navigate to code.

Run on the final text of every page (after rendering, scrubbing and the grader's notes box), with
the standard library's HTML parser and independently of how the page was sanitised:

- ``<script>``, ``<style>`` and comments must be exactly ones the feedback template itself emits
  (:func:`template_markup` of the template rendered with an empty notebook: the caller renders it,
  see ``autograder.feedback.template_baseline``);
- no ``on*=`` attribute, no ``srcdoc``, no ``<meta http-equiv>``;
- no ``javascript:``/``vbscript:`` URL, and no ``data:`` URL other than a PNG/JPEG/GIF/WebP image,
  in any URL-bearing attribute or ``style``; no CSS ``expression(``;
- none of the elements that embed, submit or redefine a page (``iframe``, ``object``, ``embed``,
  ``form``, ``base``, ``link``, ...), nor the ones browsers parse as raw text while this parser
  sees markup inside them (``noscript``, ``textarea``, ``xmp``, ...), nor markup inside ``<title>``.

:func:`unsafe_markup` lists what it found, one short phrase each; an empty list means the page is safe.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

__all__ = ["unsafe_markup", "unsafe_url", "template_markup", "signature"]

FORBIDDEN_TAGS = frozenset({
    "iframe", "frame", "frameset", "object", "embed", "applet", "portal", "form", "base", "link",
    "svg", "math", "noscript", "noembed", "noframes", "xmp", "plaintext", "textarea", "template",
})
URL_ATTRIBUTES = frozenset({
    "href", "src", "action", "formaction", "xlink:href", "srcset", "poster", "background", "data",
    "codebase", "cite", "longdesc", "usemap", "dynsrc", "lowsrc", "ping", "manifest", "profile",
    "classid", "archive", "content", "style",
})
_SCHEME = re.compile(r"(?:java|vb|live)script:|data:(?!image/(?:png|jpeg|gif|webp)[;,])")
_SPACE = re.compile(r"[\x00-\x20\x7f]+")
_TEMPLATE_OWNED = ("script", "style")


def unsafe_url(value: str) -> bool:
    """True if ``value`` (an attribute's decoded value) holds a script URL or a non-image ``data:`` URL.

    Whitespace and control characters are removed first (browsers ignore them inside a scheme).
    """
    text = _SPACE.sub("", value).lower()
    return bool(_SCHEME.search(text)) or "expression(" in text


def signature(kind: str, attrs, text: str) -> tuple:
    """How an element the template owns is identified: its kind, sorted attributes and exact text."""
    return (kind, tuple(sorted((k, v or "") for k, v in attrs)), text)


class _Scanner(HTMLParser):
    """Collects the template-owned elements and every finding, in document order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.owned: list[tuple] = []
        self.findings: list[str] = []
        self._open = None          # (kind, attrs, text parts) of the script/style being read
        self._in_title = False
        self._titles = 0

    def handle_starttag(self, tag, attrs):
        if self._in_title:
            self.findings.append(f"<{tag}> inside <title>")
        if tag in FORBIDDEN_TAGS:
            self.findings.append(f"<{tag}> element")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.findings.append("<meta http-equiv>")
        if tag == "title":
            self._titles += 1
            self._in_title = True
            if self._titles > 1:
                self.findings.append("a second <title>")
        for name, value in attrs:
            if name.startswith("on"):
                self.findings.append(f"{name}= on <{tag}>")
            elif name == "srcdoc":
                self.findings.append(f"srcdoc= on <{tag}>")
            elif name in URL_ATTRIBUTES and value and unsafe_url(value):
                self.findings.append(f"{name}={_excerpt(value)} on <{tag}>")
        if tag in _TEMPLATE_OWNED:
            self._open = (tag, attrs, [])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in _TEMPLATE_OWNED:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if self._open is not None and tag == self._open[0]:
            kind, attrs, parts = self._open
            self.owned.append(signature(kind, attrs, "".join(parts)))
            self._open = None

    def handle_data(self, data):
        if self._open is not None:
            self._open[2].append(data)

    def handle_comment(self, data):
        self.owned.append(signature("comment", (), data))

    def handle_decl(self, decl):
        if decl.lower() != "doctype html":
            self.findings.append(f"declaration <!{_excerpt(decl)}>")

    def unknown_decl(self, data):
        self.findings.append(f"declaration <![{_excerpt(data)}>")

    def handle_pi(self, data):
        self.findings.append(f"processing instruction <?{_excerpt(data)}>")

    def close(self):
        super().close()
        if self._open is not None:  # an unclosed <script> or <style>: judge what was read
            kind, attrs, parts = self._open
            self.owned.append(signature(kind, attrs, "".join(parts)))
            self._open = None


def _excerpt(text: str, limit: int = 40) -> str:
    text = " ".join(str(text).split())
    return repr(text if len(text) <= limit else text[:limit] + "...")


def template_markup(page: str) -> frozenset:
    """The signatures of the scripts, styles and comments in ``page`` (the template with no content)."""
    scanner = _Scanner()
    scanner.feed(page)
    scanner.close()
    return frozenset(scanner.owned)


def unsafe_markup(page: str, allowed: frozenset) -> list[str]:
    """What in ``page`` could run or load code; ``allowed`` is :func:`template_markup` of the empty page."""
    scanner = _Scanner()
    scanner.feed(page)
    scanner.close()
    found = list(scanner.findings)
    for kind, attrs, text in scanner.owned:
        if (kind, attrs, text) not in allowed:
            shown = " ".join(f"{k}={v!r}" for k, v in attrs)
            found.append(f"<{kind}{' ' + shown if shown else ''}> not emitted by the template: {_excerpt(text)}")
    return found
