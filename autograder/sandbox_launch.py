"""Trusted launcher: limits, privilege drop, then bubblewrap.

Run as ``python -I -m autograder.sandbox_launch SPEC.json`` (the spec comes from
:func:`autograder.sandbox.sandbox_spec`). In order:

1. resource limits on this process (hard = soft, inherited by bwrap and the kernel);
2. when running as root: a private mount namespace in which every folder the kernel needs is
   bind-mounted under a staging tmpfs (so an unprivileged bwrap can reach folders root alone may
   traverse, such as an interpreter under ``/root``), then ``setgroups``/``setgid``/``setuid`` to
   the kernel's fresh uid; RLIMIT_NPROC then binds;
3. the working folder's files are opened (before the privilege drop) and handed to bwrap by
   descriptor; the seccomp program goes through a pipe;
4. ``exec`` bwrap. Nothing else of the grader is inherited: Python's ``-I`` and close-on-exec leave
   only the descriptors passed on purpose.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import sys

from autograder.sandbox import seccomp_no_fork_program

__all__ = ["apply_limits", "bwrap_args", "main"]

_CLONE_NEWNS = 0x00020000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 1, 2, 4, 4096, 16384, 1 << 18


def apply_limits(limits: dict, uid) -> None:
    """Set hard = soft limits on this process (and so on everything it execs)."""
    pairs = [
        (resource.RLIMIT_CPU, limits["cpu_seconds"]),
        (resource.RLIMIT_AS, limits["address_space"]),
        (resource.RLIMIT_FSIZE, limits["file_size"]),
        (resource.RLIMIT_NOFILE, limits["open_files"]),
        (resource.RLIMIT_CORE, 0),
    ]
    if uid is not None:  # a fresh uid has no other tasks: the limit is the kernel's own
        pairs.append((resource.RLIMIT_NPROC, limits["processes"]))
    elif os.geteuid() != 0:  # our own uid: count what it already runs
        pairs.append((resource.RLIMIT_NPROC, _tasks_of_uid(os.getuid()) + limits["processes"]))
    for which, value in pairs:
        resource.setrlimit(which, (value, value))


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


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _stage(spec: dict) -> dict:
    """Bind every source folder/file under ``spec['stage']`` in a private mount namespace.

    Returns ``{host path: staged path}``. Runs as root, before the privilege drop.
    """
    libc = _libc()
    _check(libc.unshare(_CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(libc.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None), "make / private")
    stage = spec["stage"]
    _check(libc.mount(b"tmpfs", stage.encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"mode=0755,size=1m"),
           "mount the staging tmpfs")
    staged = {}
    sources = [src for src, _ in spec["ro"] + spec["rw"]]
    for i, src in enumerate(sources):
        target = f"{stage}/{i}"
        if os.path.isdir(src):
            os.mkdir(target, 0o755)
        else:
            os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o644))
        _check(libc.mount(src.encode(), target.encode(), None, _MS_BIND | _MS_REC, None), f"bind {src}")
        staged[src] = target
    return staged


def _drop_privileges(uid: int) -> None:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    if os.getuid() != uid or os.geteuid() != uid:
        raise OSError("could not drop privileges")


def bwrap_args(spec: dict, staged: dict, file_fds: list[int]) -> list[str]:
    """bubblewrap's arguments for ``spec`` (sources replaced by their staged paths)."""
    args = ["--die-with-parent", "--new-session", "--unshare-user", "--uid", "65534", "--gid", "65534",
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", "sandbox", "--cap-drop", "ALL", "--disable-userns", "--clearenv"]
    for key, value in sorted(spec["env"].items()):
        args += ["--setenv", key, value]
    for target, link in spec["links"]:
        args += ["--symlink", target, link]
    args += ["--dev", "/dev", "--proc", "/proc"]
    for dest, size in spec["tmpfs"]:
        args += ["--size", str(size), "--perms", "1777" if dest == "/tmp" else "0755", "--tmpfs", dest]
    args += ["--perms", "0700", "--dir", spec["home"]]
    # binds after the tmpfs mounts: a folder under /tmp (a course checked out there) stays visible
    for src, dest in spec["ro"]:
        args += ["--ro-bind", staged.get(src, src), dest]
    for src, dest in spec["rw"]:
        args += ["--bind", staged.get(src, src), dest]
    for (_, dest), fd in zip(spec["files"], file_fds):
        args += ["--perms", "0644", "--file", str(fd), dest]
    args += ["--chdir", spec["chdir"]]
    return args


def _open_files(spec: dict) -> list[int]:
    fds = []
    for src, _ in spec["files"]:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW)
        os.set_inheritable(fd, True)
        fds.append(fd)
    return fds


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as fh:
        spec = json.load(fh)
    uid = spec["uid"]
    file_fds = _open_files(spec)
    staged = _stage(spec) if uid is not None else {}
    apply_limits(spec["limits"], uid)
    if uid is not None:
        _drop_privileges(uid)
    args = [spec["bwrap"], *bwrap_args(spec, staged, file_fds)]
    if spec["limits"]["no_fork"]:
        program = seccomp_no_fork_program()
        if program is not None:
            read_end, write_end = os.pipe()
            os.write(write_end, program)
            os.close(write_end)
            os.set_inheritable(read_end, True)
            args += ["--seccomp", str(read_end)]
    os.execv(spec["bwrap"], [*args, "--", *spec["command"]])


if __name__ == "__main__":
    main()
