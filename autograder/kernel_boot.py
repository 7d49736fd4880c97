"""The kernel process inside the sandbox: guard withheld library functions, then start ipykernel.

Started as ``python -m autograder.kernel_boot -f CONNECTION_FILE`` inside bubblewrap. The grader
writes ``<CONVLAB_GRADING_DIR>/withhold.json`` (every function some check of the assignment
withholds) before the kernel starts; those functions refuse to run except inside the hidden check
that does not withhold them (see :mod:`autograder.withhold`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from autograder.harness import GRADING_ENV
from autograder.withhold import install_guards

__all__ = ["main"]


def main() -> None:
    grading_dir = os.environ.get(GRADING_ENV)
    names = []
    if grading_dir and (Path(grading_dir) / "withhold.json").is_file():
        names = json.loads((Path(grading_dir) / "withhold.json").read_text())
    install_guards(names, block_outside=True)  # kept for the kernel's whole life
    from ipykernel.kernelapp import launch_new_instance  # noqa: PLC0415 - after the guards

    launch_new_instance()


if __name__ == "__main__":
    main()
