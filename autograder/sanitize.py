"""Tracebacks fit for a student's feedback: no grader internals, no host paths.

A traceback recorded in the sandbox names files on the grading host (the virtualenv, the course
checkout, the submission's scratch folder) and may pass through the grader's own code (the guards
of withheld functions, the hidden-test harness). :func:`sanitize_traceback` keeps what helps the
student (their cells, the library frames, the error) and

- drops every frame inside the ``autograder`` package (one ``[grader frames hidden]`` line instead);
- shortens every known host folder to a neutral name (``<python>/``, ``<course>/``, ``<submission>/``);
- keeps at most ``max_frames`` frames (the last ones: where the error happened).

:class:`SanitizeTracebacks` applies it to every error output of a notebook (an nbgrader
preprocessor; ``convlab-grade feedback`` runs it before rendering).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Integer, List, Unicode

__all__ = ["sanitize_traceback", "host_prefixes", "SanitizeTracebacks", "GRADER_FRAMES"]

GRADER_FRAMES = "[grader frames hidden]"
_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FRAME_RE = re.compile(r"^\s*File\s+(?P<path>[^\s:]+)(?::\d+)?")
_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def host_prefixes(course_root=None, submission=None) -> list[tuple[str, str]]:
    """``(host folder, neutral name)`` pairs, longest first, for this interpreter and course."""
    pairs = {}
    for path in sys.path:
        if path and Path(path).is_dir() and ("site-packages" in path or "dist-packages" in path):
            pairs[str(Path(path).resolve())] = "<python>"
    for base in {sys.prefix, sys.base_prefix}:
        pairs.setdefault(str(Path(base).resolve()), "<python>")
    repo = Path(_PACKAGE_DIR).parent
    pairs[str(repo / "lib")] = "<library>"
    pairs[str(repo)] = "<course>"
    if course_root:
        pairs[str(Path(course_root).resolve())] = "<course>"
    if submission:
        pairs[str(Path(submission).resolve())] = "<submission>"
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def _is_grader_frame(entry: str, grader_dirs) -> bool:
    match = _FRAME_RE.match(_ANSI_RE.sub("", entry))
    return bool(match) and any(match.group("path").startswith(d + "/") for d in grader_dirs)


def sanitize_traceback(entries, prefixes, grader_dirs=(_PACKAGE_DIR,), max_frames: int = 12) -> list[str]:
    """The traceback (a list of IPython's entries: header, one entry per frame, the error line) cleaned."""
    out: list[str] = []
    frames = 0
    for entry in entries:
        if _is_grader_frame(entry, grader_dirs):
            if not out or out[-1] != GRADER_FRAMES:
                out.append(GRADER_FRAMES)
            continue
        for host, neutral in prefixes:
            entry = entry.replace(host + "/", neutral + "/")
        if _FRAME_RE.match(_ANSI_RE.sub("", entry)):
            frames += 1
        out.append(entry)
    if frames > max_frames:
        kept, seen = [], 0
        for entry in reversed(out):
            is_frame = bool(_FRAME_RE.match(_ANSI_RE.sub("", entry)))
            seen += is_frame
            if not is_frame or seen <= max_frames:
                kept.append(entry)
        out = list(reversed(kept))
        out.insert(min(2, len(out)), f"[{frames - max_frames} earlier frames hidden]")
    return out


class SanitizeTracebacks(NbGraderPreprocessor):
    """Sanitise the traceback (and message) of every error output in the notebook."""

    course_root = Unicode("", help="The course folder (shown as <course>/)").tag(config=True)
    extra_paths = List(Unicode(), help="More host folders to hide (shown as <submission>/)").tag(config=True)
    max_frames = Integer(12, help="Frames kept per traceback (the last ones)").tag(config=True)

    def preprocess(self, nb, resources):
        prefixes = host_prefixes(self.course_root or None)
        path = resources.get("metadata", {}).get("path")
        extra = [*self.extra_paths, *([path] if path else [])]
        prefixes = sorted(prefixes + [(str(Path(p).resolve()), "<submission>") for p in extra],
                          key=lambda kv: -len(kv[0]))
        for cell in nb.cells:
            for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
                if output.get("output_type") != "error":
                    continue
                output["traceback"] = sanitize_traceback(output.get("traceback", []), prefixes,
                                                         max_frames=self.max_frames)
                evalue = str(output.get("evalue", ""))
                for host, neutral in prefixes:
                    evalue = evalue.replace(host + "/", neutral + "/")
                output["evalue"] = evalue
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources
