"""Trusted launcher: set resource limits and the seccomp filter, then exec bubblewrap.

Run as ``python -I -m autograder.sandbox_launch SPEC.json`` (written by
:func:`autograder.sandbox.sandbox_command`). Limits set here are inherited by bwrap and the kernel
and cannot be raised from inside (hard limit = soft limit).
"""

from __future__ import annotations

import json
import os
import resource
import sys

from autograder.sandbox import seccomp_no_fork_program

__all__ = ["apply_limits", "main"]


def _tasks_of_uid(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += len(os.listdir(f"/proc/{entry}/task"))
            except OSError:
                continue
    return count


def apply_limits(limits: dict, is_root: bool) -> None:
    """Set hard = soft limits on this process (and so on everything it execs)."""
    pairs = [
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_AS, limits["address_space"]),
        (resource.RLIMIT_FSIZE, limits["file_size"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if not is_root:  # RLIMIT_NPROC counts every task of the uid and never binds root
        pairs.append((resource.RLIMIT_NPROC, _tasks_of_uid(os.getuid()) + limits["processes"]))
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as fh:
        spec = json.load(fh)
    apply_limits(spec["limits"], spec["is_root"])
    args = [spec["bwrap"], *spec["args"]]
    if spec["limits"]["no_fork"]:
        program = seccomp_no_fork_program()
        if program is not None:
            read_end, write_end = os.pipe()
            os.write(write_end, program)
            os.close(write_end)
            os.set_inheritable(read_end, True)
            args += ["--seccomp", str(read_end)]
    os.execv(spec["bwrap"], [*args, *spec["command"]])


if __name__ == "__main__":
    main()
