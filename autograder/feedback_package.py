"""``feedback AID --package DIR``: the checked feedback pages, one file per student, named for the LMS.

Only the pages :func:`autograder.feedback.generate_feedback` has just written and checked (hidden
tests absent, nothing that runs code) are packaged, each student's own. A page embeds its images, so
one notebook is one HTML file; a student with several notebooks gets one zip of them.

============ ==================================================================================
collected as file(s) in ``DIR``
============ ==================================================================================
Canvas       ``<lastfirst>_<userId>_<submissionId>_<aid>_feedback.html``: the prefix of the
             Canvas download the student's notebook came from
Moodle       ``moodle_<aid>_feedback.zip`` holding ``<Full Name>_<participantId>_assignfeedback_file_/
             <aid>_feedback.html`` per student: the layout Moodle's "Upload multiple feedback files
             in a zip" reads (it matches students by the participant id after the first ``_``)
otherwise    ``<student>_<aid>_feedback.html`` (Blackboard, plain folders: upload by hand)
============ ==================================================================================
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from autograder.collect import read_lms_records
from autograder.course import Course

__all__ = ["package_feedback"]

_MAX_NAME_BYTES = 255


def _usable(name: str) -> bool:
    """True for a file name safe to create: not empty, printable, no separator, no leading dot, at most 255 bytes."""
    return (bool(name) and name.isprintable() and "/" not in name and "\\" not in name and not name.startswith(".")
            and len(name.encode("utf-8", "replace")) <= _MAX_NAME_BYTES)


def _student_file(pages: list[Path], out: Path) -> None:
    """``out``: the one page itself, or a zip of several pages (by their own names)."""
    if len(pages) == 1:
        out.write_bytes(pages[0].read_bytes())
        return
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for page in pages:
            zf.writestr(page.name, page.read_bytes())


def package_feedback(course: Course, aid: str, files: dict[str, list[Path]], out_dir) -> list[Path]:
    """Write the feedback of ``aid`` for return to students into ``out_dir`` (see the module's table).

    ``files``: what ``generate_feedback`` returned (``student -> pages``). Returns the files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = read_lms_records(course, aid)
    written, moodle = [], []
    for student, pages in sorted(files.items()):
        if not pages:
            continue
        record = records.get(student, {})
        suffix = ".html" if len(pages) == 1 else ".zip"
        if record.get("layout") == "moodle":
            folder = f"{record['person']}_{record['lms_id']}_assignfeedback_file_"
            if _usable(folder):
                moodle.append((folder, pages))
                continue
        name = f"{record['prefix']}{aid}_feedback{suffix}" if record.get("layout") == "canvas" else ""
        if not _usable(name):
            name = f"{student}_{aid}_feedback{suffix}"
        _student_file(pages, out_dir / name)
        written.append(out_dir / name)
    if moodle:
        bundle = out_dir / f"moodle_{aid}_feedback.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
            for folder, pages in moodle:
                for page in pages:
                    inner = f"{aid}_feedback.html" if len(pages) == 1 else page.name
                    zf.writestr(f"{folder}/{inner}", page.read_bytes())
        written.append(bundle)
    return written
