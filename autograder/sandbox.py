"""The sandbox a submission's kernel runs in: bubblewrap + resource limits + a no-fork filter.

:func:`sandbox_command` turns a kernel command into one that runs it, via the trusted launcher
(:mod:`autograder.sandbox_launch`), under bubblewrap with

- an unprivileged uid in a fresh user namespace, all capabilities dropped, a new session;
- private network (no interfaces but loopback), pid, IPC and UTS namespaces;
- only the system folders (``/usr``, ``/etc``, ``/lib*``, ``/bin``) read-only, the interpreter and
  the installed packages read-only, a private ``/tmp``, and this submission's own folder (writable):
  the course (solutions, checks.py, gradebook, other submissions), the repository's ``.git``,
  ``/root``, ``/home`` and ``/work`` do not exist inside;
- a clean environment (no inherited secrets);
- rlimits: CPU seconds, address space, file size, open files, core dumps (and processes when the
  grader is not root: RLIMIT_NPROC does not bind root-owned processes);
- a seccomp filter refusing ``fork``/``vfork`` and process-creating ``clone`` (threads stay
  allowed), so a fork bomb gets ``BlockingIOError`` instead of the machine.

bwrap cannot forward SIGINT, so the kernelspec uses ``interrupt_mode: message``; TCP loopback is
unreachable across network namespaces, so the kernel talks over ``ipc`` sockets in a folder that
is bound into the sandbox.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = [
    "Limits",
    "SandboxUnavailable",
    "bwrap_problem",
    "seccomp_no_fork_program",
    "sandbox_command",
    "package_dirs",
]


class SandboxUnavailable(RuntimeError):
    """bwrap (or user namespaces) cannot run here: grading refuses unless explicitly unsafe."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (see the README's table)."""

    cpu_seconds: int = 600            # RLIMIT_CPU: CPU time of the kernel process
    address_space: int = 3 * 2**30    # RLIMIT_AS: virtual memory, bytes
    file_size: int = 64 * 2**20       # RLIMIT_FSIZE: largest file it may write, bytes
    open_files: int = 256             # RLIMIT_NOFILE
    processes: int = 128              # RLIMIT_NPROC (only when the grader is not root)
    cell_timeout: int = 120           # seconds per cell, then interrupt
    notebook_timeout: int = 900       # seconds for the whole notebook, then the rest is skipped
    output_bytes: int = 200_000       # per cell, while produced
    output_lines: int = 2_000         # per cell, while produced
    tmp_bytes: int = 64 * 2**20       # size of the private /tmp
    no_fork: bool = True              # seccomp filter against fork bombs (x86_64)

    def as_dict(self) -> dict:
        return asdict(self)


@functools.cache
def bwrap_problem() -> str | None:
    """``None`` when bubblewrap runs here; otherwise why not, in plain words."""
    exe = shutil.which("bwrap")
    if exe is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (or `make sysdeps`)"
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--unshare-user", "--unshare-net", "--unshare-pid",
                               "--die-with-parent", "true"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap could not be started ({exc})"
    if proc.returncode != 0:
        return ("bwrap cannot create namespaces here (" + proc.stderr.strip()[:200] + "); unprivileged "
                "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)")
    return None


# --- seccomp ----------------------------------------------------------------------------------
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_BIT = 0x40000000
_NR = {"clone": 56, "fork": 57, "vfork": 58, "clone3": 435}
_CLONE_THREAD = 0x00010000
_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_EAGAIN, _ENOSYS = 11, 38
_LD_W_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06


def seccomp_no_fork_program() -> bytes | None:
    """Classic-BPF seccomp program (bytes for ``bwrap --seccomp FD``), ``None`` if not x86_64.

    Allows everything except: ``fork``/``vfork`` and ``clone`` without ``CLONE_THREAD`` (EAGAIN),
    ``clone3`` (ENOSYS, so glibc falls back to ``clone`` for threads), and any non-x86_64 or
    x32 system call (ENOSYS: no way around the filter through ``int 0x80``).
    """
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    # (code, jump-true label, jump-false label, k); labels resolve to relative offsets below.
    prog = [
        ("ld_arch", _LD_W_ABS, None, None, 4),
        ("", _JEQ, None, "enosys", _AUDIT_ARCH_X86_64),
        ("", _LD_W_ABS, None, None, 0),
        ("", _JGE, "enosys", None, _X32_BIT),
        ("", _JEQ, "eagain", None, _NR["fork"]),
        ("", _JEQ, "eagain", None, _NR["vfork"]),
        ("", _JEQ, "enosys", None, _NR["clone3"]),
        ("", _JEQ, None, "allow", _NR["clone"]),
        ("", _LD_W_ABS, None, None, 16),  # args[0] low word: the clone flags
        ("", _JSET, "allow", "eagain", _CLONE_THREAD),
        ("allow", _RET, None, None, _RET_ALLOW),
        ("eagain", _RET, None, None, _RET_ERRNO | _EAGAIN),
        ("enosys", _RET, None, None, _RET_ERRNO | _ENOSYS),
    ]
    where = {label: i for i, (label, *_rest) in enumerate(prog) if label}
    out = bytearray()
    for i, (_label, code, jt, jf, k) in enumerate(prog):
        jt_off = where[jt] - i - 1 if jt else 0
        jf_off = where[jf] - i - 1 if jf else 0
        out += struct.pack("=HBBI", code, jt_off, jf_off, k)
    return bytes(out)


# --- command line ------------------------------------------------------------------------------
def package_dirs() -> list[Path]:
    """Folders the kernel must see: the venv, the base interpreter, convlab and autograder sources."""
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent}
    for name in ("convlab", "autograder"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs.update(Path(p).resolve() for p in spec.submodule_search_locations if Path(p).is_dir())
    return sorted(d for d in dirs if d.is_dir())


_SYSTEM_DIRS = ("/usr", "/etc", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@dataclass(frozen=True)
class SandboxPaths:
    """What one sandboxed kernel sees: its writable folder, the socket folder, what to hide."""

    workdir: Path                     # the submission's autograded folder (writable, cwd)
    ipc_dir: Path                     # connection file + ipc sockets (writable)
    hide: tuple = field(default=())   # folders never bound in, even if a package lives there


def sandbox_command(kernel_cmd: list[str], paths: SandboxPaths, limits: Limits, env: dict) -> list[str]:
    """The launcher command running ``kernel_cmd`` sandboxed; ``env`` is the kernel's whole environment."""
    # Only the system folders are visible (read-only); the rest of the host (/work, /root, /home,
    # /srv, /var, other checkouts) does not exist in the sandbox.
    args = []
    for top in _SYSTEM_DIRS:
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    args += ["--dev", "/dev", "--proc", "/proc", "--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    if env.get("HOME", "").startswith("/tmp/"):
        args += ["--perms", "0777", "--dir", env["HOME"]]  # a writable home inside the private /tmp
    hidden = {Path(p).resolve() for p in paths.hide}
    for folder in package_dirs():
        if folder not in hidden:
            args += ["--ro-bind", str(folder), str(folder)]
    args += ["--bind", str(paths.ipc_dir), str(paths.ipc_dir),
             "--bind", str(paths.workdir), str(paths.workdir), "--chdir", str(paths.workdir),
             "--unshare-user", "--uid", "65534", "--gid", "65534",
             "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
             "--hostname", "sandbox", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
             "--disable-userns", "--clearenv"]
    for key, value in sorted(env.items()):
        args += ["--setenv", key, value]
    spec = {"bwrap": shutil.which("bwrap") or "bwrap", "args": args, "command": list(kernel_cmd),
            "limits": limits.as_dict(), "is_root": os.geteuid() == 0}
    spec_path = paths.ipc_dir / "launch.json"
    spec_path.write_text(json.dumps(spec))
    return [sys.executable, "-I", "-m", "autograder.sandbox_launch", str(spec_path)]
