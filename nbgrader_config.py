"""nbgrader configuration of the ConvLab course.

Read by nbgrader's own commands (``nbgrader generate_assignment ...`` run from this folder) and by
``convlab-grade``, which adds its sandboxed execution and trusted hidden checks on top.

Layout (relative to this file):
    solutions/<aid>/      nbgrader's source: solution notebooks, checks.py, small assets
    assignments/<aid>/    nbgrader's release: what students get (generated, never edited by hand)
    mywork/<aid>/         git-ignored: the students' own copies (`convlab-grade start`, `make lab`)
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
# checks.py holds the trusted references and mutants/ the wrong answers the tests grade: never released,
# never copied next to a submission.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "checks.py", "mutants",
                            ".convlab*"]

# Release: deterministic stubs, no outputs, so CI can regenerate assignments/ and diff.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.ClearOutput.remove_metadata_fields = ["collapsed", "scrolled", "execution", "ExecuteTime"]
c.GenerateAssignment.create_assignment = True

# Autograde and feedback: the course's one pair of chains (autograder.pipeline), for convlab-grade and plain
# nbgrader alike: `nbgrader autograde` (and the formgrader's button) runs sandboxed with the trusted hidden
# checks, and re-inserts deleted test cells (they score 0 rather than "needs manual grading");
# `nbgrader generate_feedback` never shows hidden test source nor a submission's live markup.
from autograder.pipeline import configure_course  # noqa: E402 - needs the installed course package

configure_course(c, _ROOT)
c.Execute.timeout = 120
# Warnings on stderr must not zero a test cell.
c.IgnorePattern.pattern = r"(?s)^(?:[^\n]*(?:Warning|warnings\.warn|warn\()[^\n]*\n?(?:[ \t]+[^\n]*\n?)*)+$"
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# Late penalty (autograder.late.PerDayPenalty, nbgrader's LateSubmissionPlugin): this share of a notebook's
# score per started day after the due date (`convlab-grade due AID "2026-12-15 23:59 UTC"`).
c.PerDayPenalty.fraction_per_day = 0.1
