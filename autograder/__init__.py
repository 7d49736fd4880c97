"""ConvLab's autograder: nbgrader plus a sandboxed kernel and trusted hidden checks.

Modules (each with one job):

- :mod:`autograder.checks`   the ``Check`` spec authors write in ``solutions/<aid>/checks.py``
- :mod:`autograder.harness`  ``run_hidden``, called by hidden-test cells (NumPy + stdlib only)
- :mod:`autograder.compare`  judging one case; :mod:`autograder.values` pickle-free answer files
- :mod:`autograder.withhold` runtime guards on withheld library functions

The command line is ``convlab-grade`` (:mod:`autograder.cli`); see ``autograder/README.md``.
Importing the package loads nothing heavy.
"""

__all__: list[str] = []
