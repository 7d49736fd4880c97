"""``skip-when-graded`` is allowed only where skipping the cell cannot change what grading computes
(:mod:`autograder.skips`); ``release`` refuses a notebook where it could."""

from __future__ import annotations

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.cells import SKIP_TAG, is_skipped
from autograder.skips import bound_names, read_names, skip_problems, stale_reads


def _nb(*cells):
    """A notebook of code cells (a string) and tagged demo cells (``("skip", source)``)."""
    out = []
    for cell in cells:
        if isinstance(cell, tuple):
            out.append(new_code_cell(cell[1], metadata={"tags": [SKIP_TAG]}))
        else:
            out.append(new_code_cell(cell))
    return new_notebook(cells=out)


def test_bound_names_are_the_notebook_namespace_only():
    source = ("import numpy as np\nfrom pathlib import Path\nx, (y, z) = 1, (2, 3)\nfor i in range(3):\n    pass\n"
              "def f(a):\n    local = a\n    global g\n    g = 1\nclass C:\n    attr = 1\n"
              "with open('f') as fh:\n    pass\n[(w := k) for k in range(2)]\ndel old\n")
    assert bound_names(source) == {"np", "Path", "x", "y", "z", "i", "f", "g", "C", "fh", "w", "old"}


def test_read_names_follow_python_scoping_and_magics():
    source = ("def f(a):\n    b = a + G\n    return b\nlam = lambda q: q + L\n[k + M for k in range(3)]\n"
              "class C:\n    attr = N\n%timeit f(photo)\n")
    assert read_names(source) == {"G", "L", "M", "N", "range", "f", "photo", "get_ipython"}


def test_a_later_cell_that_rebinds_first_does_not_read_the_old_object():
    live = {"photo", "cls", "x"}
    assert stale_reads("photo = load()\nprint(photo)\nfor cls in (A, B):\n    print(cls)\n", live) == set()
    assert live == {"cls", "x"}  # rebound by an assignment: later cells read the new one; a loop may not bind
    assert stale_reads("print(cls)\n", live) == {"cls"}
    assert stale_reads("x = x + 1\n", {"x"}) == {"x"}   # read before it is bound anew


def test_demos_that_leave_nothing_behind_are_allowed():
    nb = _nb("import numpy as np\ndata = np.ones(3)\ndef answer(v):\n    return v * 2\n",
             ("skip", "photo = np.zeros((4, 4))\nprint(answer(photo).sum())\n"),
             ("skip", "print(photo.mean())\n"),
             "assert answer(data).sum() == 6\n")
    nb.cells.insert(2, new_markdown_cell("photo is only a demo"))
    assert skip_problems(nb) == []


@pytest.mark.parametrize("later, name", [
    ("print(photo.shape)\n", "photo"),                                 # a name it binds
    ("def check():\n    return photo\n", "photo"),                     # read when the function runs
    ("%timeit answer(photo)\n", "photo"),                              # named in a magic's text
    ("assert data.sum() == 0\n", "data"),                              # may have changed the object
])
def test_a_skipped_cell_a_later_cell_depends_on_is_refused(later, name):
    nb = _nb("import numpy as np\ndata = np.ones(3)\ndef answer(v):\n    return v * 2\n",
             ("skip", "photo = np.zeros((4, 4))\ndata[:] = 0\n"), later)
    problems = skip_problems(nb, "demo.ipynb")
    assert len(problems) == 1 and f"cell 2 reads {name}" in problems[0], problems


def test_reading_a_function_or_module_in_a_skipped_cell_is_fine_but_data_is_not():
    nb = _nb("import numpy as np\ndef answer(v):\n    return v\nnet = {'W': 1}\n",
             ("skip", "answer(np.ones(2))\ntrain(net)\n"), "print(answer(net), np.pi)\n")
    assert ["reads net" in p for p in skip_problems(nb)] == [True]


def test_nbgrader_cells_and_kernel_magics_cannot_be_skipped():
    nb = _nb(("skip", "%matplotlib inline\n"), ("skip", "%time print(1)\n"),
             ("skip", "%load_ext autoreload\n%autoreload 2\n"), ("skip", "%load_ext autoreload tensorboard\n"))
    hidden = {"grade": True, "grade_id": "h", "points": 1, "solution": False}
    tests = {"grade": False, "grade_id": "t", "solution": False}
    graded = new_code_cell("x = 1", metadata={"tags": [SKIP_TAG], "nbgrader": hidden})
    visible = new_code_cell("assert True", metadata={"tags": [SKIP_TAG], "nbgrader": tests})
    nb.cells += [graded, visible]
    problems = skip_problems(nb)
    assert len(problems) == 4, problems
    assert "%matplotlib" in problems[0] and "%load_ext" in problems[1] and "(h)" in problems[2] and "(t)" in problems[3]
    assert [is_skipped(c) for c in nb.cells] == [True] * 6


def test_release_refuses_a_tag_that_grading_depends_on(tmp_path):
    from autograder.course import Course  # noqa: PLC0415
    from autograder.release import ReleaseSkipError, release  # noqa: PLC0415

    course = Course(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("")
    folder = course.solutions / "demo"
    folder.mkdir(parents=True)
    nbformat.write(_nb(("skip", "photo = 1\n"), "print(photo)\n"), folder / "demo.ipynb")
    with pytest.raises(ReleaseSkipError, match="demo.ipynb cell 0 is skipped when graded but cell 1 reads photo"):
        release(course, ["demo"])
    assert not (course.assignments / "demo").exists()
