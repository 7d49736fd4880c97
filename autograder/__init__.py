"""ConvLab's autograder: nbgrader plus a sandboxed kernel and trusted hidden checks.

The trust boundary is a folder. What runs inside the student's sandboxed kernel is
``autograder/kernel/``, and nothing else of the grader is even visible there:

- :mod:`autograder.kernel.protocol` what both sides agree on: environment names, the places the
  sandbox sees, inputs files, answer messages, the pickle-free wire format of values
- :mod:`autograder.kernel.harness`  ``run_hidden``, called by hidden-test cells
- :mod:`autograder.kernel.boot`     the kernel's entry point (output cap, then ipykernel)

Everything else judges, outside the sandbox, and reaches the kernel only through the protocol:

- :mod:`autograder.checks`        the ``Check`` spec authors write in ``solutions/<aid>/checks.py``;
  drawing cases, case kinds, scoring a check
- :mod:`autograder.questions`     understanding questions (a number or option letters) as checks
- :mod:`autograder.compare`       judging one case (the student's outcome against the reference's)
- :mod:`autograder.trusted`       the hidden-test session of one notebook: references, answers as
  they arrive, verdicts (nbgrader preprocessors ``PrepareHidden`` / ``JudgeHidden``)
- :mod:`autograder.local`         judging at once: ``run_hidden`` in a solution author's own run, and
  the questions of ``check`` in a self-study checkout
- :mod:`autograder.seeds`         each assignment's secret seed of hidden cases, drawn once and kept
- :mod:`autograder.grading_build` the library as a graded notebook sees it (withheld functions absent)
- :mod:`autograder.execution`     nbgrader's ``Execute`` in the sandbox (``SandboxExecute``)
- :mod:`autograder.sandbox`       what the kernel sees and its limits; :mod:`autograder.sandbox_launch`
  the launcher that drops privileges and execs bubblewrap
- :mod:`autograder.pipeline`      the one home of the autograde and feedback chains
- :mod:`autograder.scan`          static scan of the student's cells (withheld names, flags)
- :mod:`autograder.hostfs`        reading what a submission handed in: no links, sizes capped
- :mod:`autograder.submission`    staging a submitted folder and repairing its notebooks
- :mod:`autograder.grading`       ``grade``: one submission in steps, a class on worker processes
- :mod:`autograder.collect`       ``collect``: submissions from a folder or an LMS zip
- :mod:`autograder.release`       ``release``: the student notebooks, checked for leaks
- :mod:`autograder.skips`         which cells may be tagged ``skip-when-graded`` (release refuses the others)
- :mod:`autograder.feedback`      ``feedback``: the students' pages; :mod:`autograder.feedback_page`
  what they say (summary per exercise, each hidden cell's result, MathJax beside the page);
  :mod:`autograder.safe_html` and :mod:`autograder.page_check` keep them free of live markup;
  :mod:`autograder.sanitize` cleans tracebacks
- :mod:`autograder.reports`       ``export`` and ``status`` from the trusted reports
- :mod:`autograder.selfcheck`     ``check``: the student's self-check
- :mod:`autograder.diagnosis`     which kind of input breaks a learner's function (public probes, hints)
- :mod:`autograder.lab`           the students' Lab (``make lab``): Validate answered by the self-check
- :mod:`autograder.mywork`        ``start``: the students' own copies in ``mywork/``, never overwritten
- :mod:`autograder.check_cache`   the self-check's verdicts per notebook of ``mywork/``, kept until it changes
- :mod:`autograder.learner_path`  ``progress``: the learner's path (per exercise, points, time left, next step)
- :mod:`autograder.hints`         ``hint`` and ``hint(N)`` in a notebook: the hint ladders, and the record
  of the hints taken
- :mod:`autograder.mutants`       plausible wrong answers (``solutions/<aid>/mutants``) as patches
- :mod:`autograder.testing`       helpers for test suites (submissions, grading one notebook, scoring)
- :mod:`autograder.demo`          ``demo``: a sample class graded end to end
- :mod:`autograder.course`, :mod:`autograder.cells` course paths and config; nbgrader cell metadata
- :mod:`autograder.exercises`     a notebook's exercises (headings, the intro's table, graded cells)

The command line is ``convlab-grade`` (:mod:`autograder.cli`); see ``autograder/README.md``.
Importing the package loads nothing heavy.
"""

__all__: list[str] = []
