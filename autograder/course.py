"""Where a course's files live, and the nbgrader configuration that goes with them.

A course root holds ``nbgrader_config.py``, ``solutions/`` (nbgrader's source), ``assignments/``
(its release) and the git-ignored ``work/`` folder (``submitted/``, ``autograded/``, ``feedback/``,
``gradebook.db``). :func:`find_course_root` locates the root from any folder inside it.

The gradebook is SQLite in ``work/gradebook.db`` unless ``nbgrader_config.py`` sets nbgrader's own
``c.CourseDirectory.db_url`` (e.g. ``postgresql://grader@db.example/course``, for a database server
that several grading machines write to).
"""

from __future__ import annotations

import copy
import os
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

__all__ = ["Course", "find_course_root", "CourseError", "ensure_tools_on_path"]


class CourseError(RuntimeError):
    """A course folder that cannot be used (no config, unknown assignment, ...)."""


def find_course_root(start=None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding ``nbgrader_config.py``."""
    start = Path(start or os.getcwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / "nbgrader_config.py").is_file():
            return folder
    raise CourseError(f"no nbgrader_config.py in {start} or its parents: pass --course ROOT")


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` by name: make the running interpreter's scripts folder visible."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *parts])


@dataclass(frozen=True)
class Course:
    """Paths of one course; ``config()`` gives nbgrader's config with the root pinned."""

    root: Path

    @classmethod
    def at(cls, root=None) -> "Course":
        return cls(find_course_root(root) if root is None else Path(root).resolve())

    @property
    def solutions(self) -> Path:
        return self.root / "solutions"

    @property
    def assignments(self) -> Path:
        return self.root / "assignments"

    def release_dir(self, edition: str = "en") -> Path:
        """The release folder of an edition (:mod:`autograder.editions`): ``assignments/``,
        ``assignments-zh/``; the same ``<aid>/<aid>.ipynb`` inside, so one grader grades both."""
        from autograder.editions import release_folder_name  # noqa: PLC0415 - editions imports IPython lazily

        return self.root / release_folder_name(edition)

    @property
    def work(self) -> Path:
        return self.root / "work"

    @property
    def submitted(self) -> Path:
        return self.work / "submitted"

    @property
    def autograded(self) -> Path:
        return self.work / "autograded"

    @property
    def feedback(self) -> Path:
        return self.work / "feedback"

    @property
    def gradebook(self) -> Path:
        return self.work / "gradebook.db"

    @cached_property
    def db_url(self) -> str:
        """``CourseDirectory.db_url`` of ``nbgrader_config.py`` when it sets one, else SQLite in ``work/``."""
        configured = self._file_config().CourseDirectory.get("db_url")
        return str(configured) if configured else f"sqlite:///{self.gradebook}"

    def has_gradebook(self) -> bool:
        """Whether the gradebook exists (a database server's is assumed to: nbgrader makes its tables)."""
        if self.db_url.startswith("sqlite:///"):
            return Path(self.db_url[len("sqlite:///"):]).is_file()
        return True

    def open_gradebook(self):
        """nbgrader's ``Gradebook`` of this course (a context manager; made on first use by nbgrader's alembic)."""
        from nbgrader.api import Gradebook  # noqa: PLC0415 - keep `import autograder.course` light

        ensure_tools_on_path()
        self.work.mkdir(parents=True, exist_ok=True)
        return Gradebook(self.db_url, "convlab")

    def assignment_ids(self) -> list[str]:
        """Every ``solutions/<aid>/`` holding ``<aid>.ipynb``, sorted."""
        if not self.solutions.is_dir():
            return []
        return sorted(p.name for p in self.solutions.iterdir() if (p / f"{p.name}.ipynb").is_file())

    def require_assignment(self, aid: str) -> str:
        if aid not in self.assignment_ids():
            raise CourseError(f"unknown assignment {aid!r}; known: {', '.join(self.assignment_ids()) or 'none'}")
        return aid

    def checks_file(self, aid: str) -> Path:
        return self.solutions / aid / "checks.py"

    def config(self, overrides=None):
        """nbgrader's traitlets Config from ``nbgrader_config.py``, with this root and work folder.

        ``overrides`` (a Config or dict of dicts) is merged last.
        """
        from traitlets.config import Config  # noqa: PLC0415 - keep `import autograder.course` light

        cfg = self._file_config()
        cfg.CourseDirectory.root = str(self.root)
        cfg.CourseDirectory.submitted_directory = str(self.submitted.relative_to(self.root))
        cfg.CourseDirectory.autograded_directory = str(self.autograded.relative_to(self.root))
        cfg.CourseDirectory.feedback_directory = str(self.feedback.relative_to(self.root))
        cfg.CourseDirectory.db_url = self.db_url
        if overrides:
            cfg.merge(Config(overrides))
        self.work.mkdir(parents=True, exist_ok=True)
        return cfg

    def _file_config(self):
        """``nbgrader_config.py`` as nbgrader reads it (an empty Config without one): a private copy of
        the file read once per ``Course`` (running it imports nbgrader, which costs a second)."""
        return copy.deepcopy(self._loaded_file_config)

    @cached_property
    def _loaded_file_config(self):
        from traitlets.config import Config  # noqa: PLC0415 - keep `import autograder.course` light
        from traitlets.config.loader import PyFileConfigLoader  # noqa: PLC0415

        cfg = Config()
        if (self.root / "nbgrader_config.py").is_file():
            cfg.merge(PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config())
        return cfg
