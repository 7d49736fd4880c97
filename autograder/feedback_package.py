"""``feedback AID --package DIR``: the checked feedback pages, one file per student, named for the LMS.

Only the pages :func:`autograder.feedback.generate_feedback` has just written and checked (hidden
tests absent, nothing that runs code) are packaged, each student's own. A page embeds its images but
typesets its maths with the MathJax copy beside it (``_mathjax/``, see :mod:`autograder.feedback_page`),
so each student gets one zip: their page(s) and that folder, which typeset offline once unpacked.

============ ==================================================================================
collected as file(s) in ``DIR``
============ ==================================================================================
Canvas       ``<lastfirst>_<userId>_<submissionId>_<aid>_feedback.zip``: the prefix of the
             Canvas download the student's notebook came from
Moodle       ``moodle_<aid>_feedback.zip`` holding ``<Full Name>_<participantId>_assignfeedback_file_/
             <aid>_feedback.zip`` per student: the layout Moodle's "Upload multiple feedback files
             in a zip" reads (it matches students by the participant id after the first ``_``)
otherwise    ``<student>_<aid>_feedback.zip`` (Blackboard, plain folders: upload by hand)
============ ==================================================================================
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from autograder.collect import read_lms_records
from autograder.course import Course
from autograder.feedback_page import MATHJAX_FOLDER

__all__ = ["package_feedback"]

_MAX_NAME_BYTES = 255


def _usable(name: str) -> bool:
    """True for a file name safe to create: not empty, printable, no separator, no leading dot, at most 255 bytes."""
    return (bool(name) and name.isprintable() and "/" not in name and "\\" not in name and not name.startswith(".")
            and len(name.encode("utf-8", "replace")) <= _MAX_NAME_BYTES)


def _student_zip(pages: list[Path], aid: str) -> bytes:
    """One zip of a student's pages (one page: ``<aid>_feedback.html``; several: their own names) and the
    ``_mathjax/`` folder beside them, which the grader wrote (nothing of the submission's choosing)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for page in pages:
            zf.writestr(f"{aid}_feedback.html" if len(pages) == 1 else page.name, page.read_bytes())
        mathjax = pages[0].parent / MATHJAX_FOLDER
        for path in sorted(mathjax.rglob("*")) if mathjax.is_dir() else ():
            if path.is_file() and not path.is_symlink():
                zf.writestr(f"{MATHJAX_FOLDER}/{path.relative_to(mathjax).as_posix()}", path.read_bytes())
    return buffer.getvalue()


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
        if record.get("layout") == "moodle":
            folder = f"{record['person']}_{record['lms_id']}_assignfeedback_file_"
            if _usable(folder):
                moodle.append((folder, pages))
                continue
        name = f"{record['prefix']}{aid}_feedback.zip" if record.get("layout") == "canvas" else ""
        if not _usable(name):
            name = f"{student}_{aid}_feedback.zip"
        (out_dir / name).write_bytes(_student_zip(pages, aid))
        written.append(out_dir / name)
    if moodle:
        bundle = out_dir / f"moodle_{aid}_feedback.zip"
        with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as zf:
            for folder, pages in moodle:
                zf.writestr(f"{folder}/{aid}_feedback.zip", _student_zip(pages, aid))
        written.append(bundle)
    return written
