"""nbgrader configuration of the ConvLab course.

Read by nbgrader's own commands (``nbgrader generate_assignment ...`` run from this folder) and by
``convlab-grade``, which adds its sandboxed execution and trusted hidden checks on top.

Layout (relative to this file):
    solutions/<aid>/      nbgrader's source: solution notebooks, checks.py, small assets
    assignments/<aid>/    nbgrader's release: what students get (generated, never edited by hand)
    work/                 git-ignored course work folder: submitted/, autograded/, feedback/, gradebook.db
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

_ROOT = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.root = _ROOT
c.CourseDirectory.course_id = "convlab"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
c.CourseDirectory.submitted_directory = os.path.join("work", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("work", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("work", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_ROOT, "work", "gradebook.db")
# checks.py holds the trusted references: never released, never copied next to a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "checks.py", ".convlab*"]

# Release: deterministic stubs, no outputs, so CI can regenerate assignments/ and diff.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "execution", "ExecuteTime"]
c.GenerateAssignment.create_assignment = True

# Autograde: per-cell limit with interrupt; convlab-grade adds the sandbox and the notebook limit.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
# Warnings on stderr must not zero a test cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s)^(?:[^\n]*(?:Warning|warnings\.warn|warn\()[^\n]*\n?(?:[ \t]+[^\n]*\n?)*)+$"
# Deleted test cells come back (and score 0 rather than "needs manual grading").
c.OverwriteCells.add_missing_cells = True
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Feedback never shows hidden test source, and never a submission's live markup: the same chain and
# exporter as `convlab-grade feedback` (autograder.pipeline is the one home of the chain).
from autograder.pipeline import FEEDBACK_PREPROCESSORS  # noqa: E402
from autograder.safe_html import FeedbackHTMLExporter  # noqa: E402

c.GenerateFeedback.preprocessors = list(FEEDBACK_PREPROCESSORS)
c.GenerateFeedback.exporter_class = FeedbackHTMLExporter
