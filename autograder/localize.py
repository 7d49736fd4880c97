"""Grading a submission of another edition: its visible tests speak its language again.

nbgrader's ``OverwriteCells`` restores every locked cell of a submission from the gradebook, which holds
the English release; a Chinese submission's visible-test cells would then run, and show in its feedback,
with English messages. :class:`LocalizeLockedCells` (first in :data:`autograder.pipeline.AUTOGRADE_PREPROCESSORS`)
translates them back with the translations of the trusted source notebook, ``solutions/<aid>/<nb>.ipynb``,
through :func:`autograder.editions.translate_cell`, which refuses any change beyond prose: the code that
runs is the gradebook's. Only locked cells without points (visible tests) are touched; hidden-test and
answer cells are left as they are. The edition is the notebook's stamp: changing it only changes the
language.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.cells import nbgrader_meta
from autograder.editions import DEFAULT, TRANSLATIONS, notebook_edition, translate_cell

__all__ = ["LocalizeLockedCells"]


class LocalizeLockedCells(NbGraderPreprocessor):
    """Put a non-English submission's visible-test cells back into its edition (see the module's text)."""

    solutions_dir = Unicode("", help="The course's solutions/ folder (the source notebooks)").tag(config=True)

    def preprocess(self, nb, resources):
        edition = notebook_edition(nb)
        grading = resources.get("nbgrader") or {}
        source = Path(self.solutions_dir) / str(grading.get("assignment", "")) / f"{grading.get('notebook', '')}.ipynb"
        if edition == DEFAULT or not self.solutions_dir or not source.is_file():
            return nb, resources
        texts = {nbgrader_meta(c).get("grade_id"): c.metadata[TRANSLATIONS]
                 for c in nbformat.read(source, as_version=4).cells if TRANSLATIONS in c.get("metadata", {})}
        for index, cell in enumerate(nb.cells):
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("locked") or meta.get("grade") or meta.get("solution") \
                    or meta.get("grade_id") not in texts:
                continue
            cell.metadata[TRANSLATIONS] = texts[meta["grade_id"]]
            nb.cells[index] = translate_cell(cell, edition, f"cell {index} ({meta['grade_id']})")
        return nb, resources

    def preprocess_cell(self, cell, resources, index):  # pragma: no cover - preprocess is overridden
        return cell, resources
