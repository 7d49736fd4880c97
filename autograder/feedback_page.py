"""What a feedback page says, top to bottom: a summary per exercise, the grader's notes, and in place
of each hidden-test cell's raw outputs, its result in words.

:class:`FeedbackSummary` (a step of :data:`autograder.pipeline.FEEDBACK_PREPROCESSORS`, after nbgrader's
``GetGrades``) reads

- the exercises (number, points, title; the graded cells each owns) from the *solution* notebook, with
  :func:`autograder.exercises.graded_exercises` (a student may have edited the headings of their copy);
- each graded cell's score from the gradebook (``GetGrades`` puts it in the cell's metadata);
- the grader's notes from ``work/reports/<aid>/<student>.json`` and the per-case failures from the
  trusted step's report ``work/reports/<aid>/hidden/<student>__<notebook>.hidden.json``;

and puts two pieces of HTML in ``resources["convlab"]``, built here with every value escaped: the
``summary`` (a table with one row per exercise, linking to its result, then the notes) and one
``results[grade_id]`` block per hidden-test cell (which exercise, the score, the failed cases with
their inputs and what happened, the diagnosis of a diagnosed exercise's failures, and what to try).
The template ``convlab_feedback`` places them.

MathJax is served from the page's own folder (:func:`install_mathjax`): the page loads
``_mathjax/MathJax.js`` by a relative URL, so a copied or zipped folder typesets offline.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.cells import nbgrader_meta
from autograder.diagnosis.hidden import diagnosis_lines
from autograder.editions import DEFAULT, edition_notebook, notebook_edition
from autograder.exercises import GradedExercise, graded_exercises
from autograder.feedback_text import hints, words

__all__ = ["FeedbackSummary", "ExerciseRow", "exercise_rows", "summary_html", "notes_items", "result_html",
           "failure_kind", "HINTS", "install_mathjax", "MATHJAX_FOLDER", "solution_exercises",
           "TEMPLATE_NAME", "template_dirs"]

#: The folder, next to each page, that the page's one script loads MathJax 2.7 from (the template's
#: ``mathjax`` macro names it): TeX input, HTML-CSS output with its web fonts, the ``Safe`` extension
#: (no links or styles from the maths) and our settings (``templates/mathjax_config.js``).
MATHJAX_FOLDER = "_mathjax"
# What the pages load of jupyter-server-mathjax's copy of MathJax (measured: every file Chromium opened
# typesetting the course's notebooks is here; the on-demand TeX extensions and menus too).
_MATHJAX_PARTS = ("MathJax.js", "config/TeX-AMS-MML_HTMLorMML-full.js", "config/Safe.js", "extensions/Safe.js",
                  "extensions/MathMenu.js", "extensions/MathZoom.js", "extensions/TeX", "extensions/HTML-CSS",
                  "jax/element", "jax/input/TeX", "jax/output/HTML-CSS", "fonts/HTML-CSS/STIX-Web/woff",
                  "localization/en")
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE_NAME = "convlab_feedback"
_MATHJAX_CONFIG = TEMPLATES / "mathjax_config.js"
_MAX_CASES = 8
_CASE_RE = re.compile(r"case (\d+) \((.*?)\): (.*)", re.S)

#: What to try, per kind of failure (:func:`failure_kind`), in English (:mod:`autograder.feedback_text` has
#: every edition's).
HINTS = hints(DEFAULT)


def failure_kind(message: str) -> str:
    """One of :data:`HINTS`' keys for a failure message of the trusted step."""
    text = message.lower()
    if "withheld" in text:
        return "withheld"
    if "noanswer" in text or "no answer" in text:
        return "no_answer"
    if "keyboardinterrupt" in text or "time limit" in text or "timed out" in text:
        return "timeout"
    if "notimplementederror" in text:  # the release's stub is still there (whatever was expected)
        return "todo"
    if text.startswith("expected") and "to be raised" in text:
        return "must_raise"
    if text.startswith("raised"):
        return "raised"
    if "dtype" in text:
        return "dtype"
    if re.search(r"\bshape\b|values, expected|tuple|not an array|not a numeric|returned none", text):
        return "shape"
    return "value"


def _inline(markdown: str) -> str:
    """A heading's text as HTML: escaped, with ```code``` spans kept as ``<code>``."""
    parts = re.split(r"`([^`]*)`", markdown)
    return "".join(f"<code>{html.escape(p)}</code>" if i % 2 else html.escape(p) for i, p in enumerate(parts))


def _pts(value: float) -> str:
    return f"{round(float(value), 2):g}"


@dataclass(frozen=True)
class ExerciseRow:
    """One line of the summary: an exercise and what it earned (from the gradebook's cell scores)."""

    exercise: GradedExercise
    earned: float
    possible: float

    @property
    def status(self) -> str:
        if self.possible <= 0:
            return "not graded"
        if self.earned >= self.possible - 1e-9:
            return "full marks"
        return "partly right" if self.earned > 0 else "no points"

    @property
    def anchor(self) -> str:
        return f"result-{self.exercise.grade_ids[0]}" if self.exercise.grade_ids else ""


def exercise_rows(found: list[GradedExercise], cell_scores: dict) -> list[ExerciseRow]:
    """Per exercise: the sum of its graded cells' ``(score, points)`` (``cell_scores[grade_id]``, in the
    notebook's order); a graded cell no exercise heading owns gets a row of its own (number 0)."""
    rows = []
    for ex in found:
        owned = [cell_scores[g] for g in ex.grade_ids if g in cell_scores]
        rows.append(ExerciseRow(ex, sum(float(s) for s, _ in owned), sum(float(p) for _, p in owned)))
    owned_ids = {g for ex in found for g in ex.grade_ids}
    for gid, (score, points) in cell_scores.items():
        if gid not in owned_ids:
            rows.append(ExerciseRow(GradedExercise(0, float(points), "", f"`{gid}`", (gid,)), float(score), float(points)))
    return rows


def _label(ex: GradedExercise, edition: str = DEFAULT) -> str:
    text = words(edition)
    return text["exercise"].format(n=ex.number) if ex.number else text["hidden tests"]


def _linked(text: str, anchors: dict) -> str:
    """``text`` escaped, with each "Exercise N" it names (a note saying which earlier exercise broke
    this one) linked to that exercise's result."""
    return re.sub(r"\b(Exercise|exercise) (\d+)\b",
                  lambda m: (f'<a href="#{html.escape(anchors[int(m.group(2))])}">{m.group(0)}</a>'
                             if int(m.group(2)) in anchors else m.group(0)), html.escape(text))


def notes_items(notes: list[str], score: float, max_score: float, edition: str = DEFAULT) -> list[str]:
    """The grader's notes; with none, one plain sentence that fits the score (in ``edition``)."""
    if notes:
        return list(notes)
    if max_score > 0 and score >= max_score - 1e-9:
        return [words(edition)["all passed"]]
    return [words(edition)["some failed"]]


def summary_html(title: str, rows: list[ExerciseRow], notes: list[str], score: float, max_score: float,
                 late_penalty: float = 0.0, links: bool = True, edition: str = DEFAULT) -> str:
    """The top of the page: the total, one row per exercise (linked to its result unless ``links`` is
    false: a page without the notebook), the notes. Readable without the template's styles too. The
    fixed words are ``edition``'s (:mod:`autograder.feedback_text`)."""
    text = words(edition)
    lines = []
    for row in rows:
        ex = row.exercise
        label = _label(ex, edition)
        link = f'<a href="#{html.escape(row.anchor)}">{label}</a>' if row.anchor and links else label
        # the table's entry when it starts with the heading's title (it only adds to it), else both
        fuller = ex.function.replace("`", "").startswith(ex.name.replace("`", "").strip())
        name = _inline(ex.function if fuller else ex.name)
        detail = f"<br><small>{_inline(ex.function)}</small>" if ex.function and not fuller else ""
        status = row.status.replace(" ", "-")
        lines.append(f'<tr class="convlab-{status}"><td>{link}</td><td>{name}{detail}</td>'
                     f"<td>{_pts(row.earned)} / {_pts(row.possible)}</td><td>{html.escape(text[row.status])}</td></tr>")
    if late_penalty > 0:
        lines.append(f'<tr class="convlab-no-points"><td colspan="2">{text["late penalty"]}</td>'
                     f"<td>-{_pts(late_penalty)}</td><td></td></tr>")
    head = "".join(f"<th>{h}</th>" for h in text["summary head"])
    table = (f'<table class="convlab-summary" border="1" cellpadding="6"><thead><tr>{head}</tr></thead>'
             f'<tbody>{"".join(lines)}</tbody></table>') if lines else ""
    anchors = {r.exercise.number: r.anchor for r in rows if r.anchor and r.exercise.number} if links else {}
    items = "".join(f"<li>{_linked(n, anchors)}</li>" for n in notes_items(notes, score, max_score, edition))
    total = text["total"].format(title=html.escape(title), score=_pts(score), max=_pts(max_score))
    return (f'<div id="convlab-grader-notes" class="convlab-box"><h2>{total}</h2><div id="toc">{table}</div>'
            f"<h3>{text['notes']}</h3><ul>{items}</ul></div>")


def _what_happened(failure: str) -> str:
    """A failure line of the trusted report (``case N (inputs): what happened``) without its case part."""
    match = _CASE_RE.fullmatch(failure)
    return match.group(3) if match else failure


def _case_rows(failures: list[str], anchors: dict, edition: str = DEFAULT) -> str:
    say = words(edition)
    rows = []
    for text in failures[:_MAX_CASES]:
        match = _CASE_RE.fullmatch(text)
        if match:
            case, inputs, what = match.groups()
            rows.append(f"<tr><td>{html.escape(case)}</td><td>{html.escape(inputs)}</td>"
                        f"<td>{_linked(what, anchors)}</td></tr>")
        else:
            rows.append(f'<tr><td></td><td colspan="2">{_linked(text, anchors)}</td></tr>')
    if len(failures) > _MAX_CASES:
        more = say["more"].format(n=len(failures) - _MAX_CASES)
        rows.append(f'<tr><td></td><td colspan="2">{more}</td></tr>')
    head = "".join(f"<th>{h}</th>" for h in say["cases head"])
    return f'<table class="convlab-cases"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'



def result_html(exercise: GradedExercise | None, grade_id: str, entry: dict | None, score: float, points: float,
                anchors: dict | None = None, edition: str = DEFAULT) -> str:
    """One hidden-test cell's result: its exercise, score, failed cases and what to try.

    ``entry`` is the cell's part of the trusted report (``{"checks": [{name, passed, total, fraction,
    failures, diagnosis}]}``; under a check's failed cases its diagnosis, which kind of input fails
    and a hint, as ``check`` words it); ``None`` when there is no report (the score alone is shown).
    ``anchors`` maps exercise numbers to their results' ids: an "Exercise N" a failure names becomes a link.
    The fixed words and hints are ``edition``'s (the diagnosis is in English, as ``check`` prints it).
    """
    text = words(edition)
    exercise = exercise or GradedExercise(0, points, "", f"`{grade_id}`", (grade_id,))
    row = ExerciseRow(exercise, score, points)
    what = f"<b>{_label(exercise, edition)}: {_inline(exercise.name)}</b>"
    head = text["result"].format(what=what, score=_pts(score), points=_pts(points),
                                 status=html.escape(text[row.status]))
    parts = [f'<p class="convlab-result-head">{head}</p>']
    kinds = []
    for check in (entry or {}).get("checks", []):
        passed, total, failures = check.get("passed", 0), check.get("total", 0), check.get("failures", [])
        name = html.escape(str(check.get("name", "")))
        parts.append(f"<p>{text['check'].format(name=name, passed=passed, total=total)}</p>")
        if passed and total and check.get("fraction", 1.0) < passed / total - 1e-12:
            parts.append(f"<p><small>{text['scaled']}</small></p>")
        if failures:
            parts.append(_case_rows(failures, anchors or {}, edition))
            kinds += [failure_kind(_what_happened(f)) for f in failures]
        found = diagnosis_lines(check)
        if found:
            parts.append('<p class="convlab-diagnosis">' + "<br>".join(html.escape(ln) for ln in found) + "</p>")
    if entry is None and score < points:
        parts.append(f"<p>{text['no report']}</p>")
    tips = "".join(f"<li>{hints(edition)[k]}</li>" for k in dict.fromkeys(kinds))
    if tips:
        parts.append(f'<div class="convlab-hint"><b>{text["try"]}</b><ul>{tips}</ul></div>')
    status = row.status.replace(" ", "-")
    return (f'<div class="convlab-result convlab-{status}" id="result-{html.escape(grade_id)}">'
            f'{"".join(parts)}</div>')


def solution_exercises(course_root: Path, aid: str, notebook: str, edition: str = DEFAULT) -> list[GradedExercise]:
    """The exercises of ``solutions/<aid>/<notebook>.ipynb`` in ``edition``'s words (``[]`` when it is not there)."""
    path = Path(course_root) / "solutions" / aid / f"{notebook}.ipynb"
    if not path.is_file():
        return []
    return graded_exercises(edition_notebook(nbformat.read(path, as_version=4), edition))


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


class FeedbackSummary(NbGraderPreprocessor):
    """Build the page's summary and each hidden-test cell's result (see the module's text)."""

    course_root = Unicode("", help="The course folder (solutions/ and work/reports/ are read)").tag(config=True)

    def preprocess(self, nb, resources):
        grading = resources.get("nbgrader") or {}
        aid, student, notebook = (str(grading.get(k, "")) for k in ("assignment", "student", "notebook"))
        root = Path(self.course_root) if self.course_root else None
        edition = notebook_edition(nb)  # stamped by the release; it only chooses the page's language
        found = solution_exercises(root, aid, notebook, edition) if root and aid else []
        reports = root / "work" / "reports" / aid if root else None
        report = (_read_json(reports / f"{student}.json") if reports and student else None) or {}
        hidden = (_read_json(reports / "hidden" / f"{student}__{notebook}.hidden.json")
                  if reports and student else None) or {}
        owner = {g: ex for ex in found for g in ex.grade_ids}
        anchors = {ex.number: ExerciseRow(ex, 0, 0).anchor for ex in found if ex.grade_ids}
        scores, results = {}, {}
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id")
            if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution") or not gid:
                continue
            score, points = float(meta.get("score") or 0.0), float(meta.get("points") or 0.0)
            scores[gid] = (score, points)
            results[gid] = result_html(owner.get(gid), gid, hidden.get("hidden", {}).get(gid), score, points,
                                       anchors, edition)
            # the template shows results[gid] here; the plain text stays for any other renderer
            plain = words(edition)["cell score"].format(score=_pts(score), points=_pts(points))
            cell.outputs = [new_output("stream", name="stdout", text=plain + "\n")]
        notes = [str(n) for n in report.get("notes", [])] if isinstance(report.get("notes"), list) else []
        summary = summary_html(notebook or aid, exercise_rows(found, scores), notes,
                               float(grading.get("score") or 0.0), float(grading.get("max_score") or 0.0),
                               float(grading.get("late_penalty") or 0.0), edition=edition)
        resources["convlab"] = {"summary": summary, "results": results, "edition": edition}
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources


def template_dirs() -> list[str]:
    """Where the exporter finds ``convlab_feedback`` and the nbgrader template it extends."""
    import nbgrader  # noqa: PLC0415 - heavy

    return [str(TEMPLATES), str(Path(nbgrader.__file__).resolve().parent / "server_extensions" / "formgrader"
                                / "templates")]


def install_mathjax(folder: Path) -> Path:
    """Copy the MathJax files a page loads into ``folder/_mathjax`` (replaced); returns that folder."""
    import jupyter_server_mathjax  # noqa: PLC0415 - only feedback needs it

    source = Path(jupyter_server_mathjax.__file__).resolve().parent / "static"
    target = Path(folder) / MATHJAX_FOLDER
    shutil.rmtree(target, ignore_errors=True)
    for part in _MATHJAX_PARTS:
        src, dst = source / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)
    (target / "config" / "local").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_MATHJAX_CONFIG, target / "config" / "local" / "convlab.js")
    return target
