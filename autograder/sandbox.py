"""The sandbox a submission's kernel runs in: bubblewrap, an unprivileged user, limits, no forks.

:func:`sandbox_spec` describes one sandboxed kernel; :func:`launch_command` runs it through the
trusted launcher (:mod:`autograder.sandbox_launch`), which sets the limits, drops privileges and
execs bubblewrap. Inside, the kernel has

- its own user: when the grader is root, the launcher switches to a fresh unprivileged host uid
  before bubblewrap (so the kernel cannot read root's files, and RLIMIT_NPROC binds); inside a new
  user namespace it appears as uid 65534 with no capabilities, in a new session;
- private network (loopback only), pid, IPC and UTS namespaces;
- read-only: ``/usr`` (and the ``/bin``, ``/lib*`` links), the few ``/etc`` files a Python kernel
  reads, the interpreter and the virtualenv, and the *grading build* of the course's packages (the
  library without the functions the assignment withholds, the grader's ``kernel`` package only)
  over the places the real ones are installed; the hidden-test inputs folder;
- writable, all size-capped tmpfs: its working folder (a copy of the release's data files), ``/tmp``
  (its home inside) and ``/dev/shm``; plus its socket folder, which the grader locks (root-owned,
  read-only) as soon as the kernel has created its sockets, before any student code runs;
- nothing else of the host: no course, gradebook, ``solutions/``, other submissions, ``/root``,
  ``/home``, ``/var``, ``/etc/shadow``; none of the grader's file descriptors;
- rlimits (CPU seconds, address space, file size, open files, tasks, no core dumps) and a seccomp
  filter refusing ``fork``/``vfork``/process-creating ``clone`` (threads allowed), so a fork bomb
  gets ``BlockingIOError`` instead of the machine.

bwrap cannot forward SIGINT, so the kernelspec uses ``interrupt_mode: message``; TCP loopback is
unreachable across network namespaces, so the kernel talks over ``ipc`` sockets.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import platform
import secrets
import shutil
import struct
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.kernel.protocol import SANDBOX_HOME, SANDBOX_INPUTS, SANDBOX_WORKDIR

__all__ = [
    "Limits",
    "SandboxUnavailable",
    "KernelPlaces",
    "bwrap_problem",
    "seccomp_no_fork_program",
    "sandbox_spec",
    "launch_command",
    "python_dirs",
    "package_dir",
    "SANDBOX_UID_BASE",
]

#: Host uids handed to sandboxed kernels when the grader is root: a fresh one per kernel, far from
#: any real account (no passwd entry is needed).
SANDBOX_UID_BASE = 2_000_000_000


class SandboxUnavailable(RuntimeError):
    """bwrap (or user namespaces) cannot run here: grading refuses unless explicitly unsafe."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed kernel (see the README's table)."""

    cpu_seconds: int = 600            # RLIMIT_CPU: CPU time of the kernel process
    address_space: int = 3 * 2**30    # RLIMIT_AS: virtual memory, bytes
    file_size: int = 64 * 2**20       # RLIMIT_FSIZE: largest file it may write, bytes
    open_files: int = 256             # RLIMIT_NOFILE
    processes: int = 128              # RLIMIT_NPROC: tasks (threads included) of the kernel's user
    cell_timeout: int = 120           # seconds per cell, then interrupt
    notebook_timeout: int = 900       # seconds for the whole notebook; no cell runs past it
    interrupt_grace: int = 10         # seconds a timed-out cell has to stop after the interrupt
    output_bytes: int = 200_000       # per cell, every byte of every output message
    output_lines: int = 2_000         # per cell, lines of stream output
    message_bytes: int = 64 * 2**20   # largest single message the grader accepts from the kernel
    tmp_bytes: int = 64 * 2**20       # size of the private /tmp (the kernel's home is in it)
    workdir_bytes: int = 64 * 2**20   # size of the working folder
    shm_bytes: int = 16 * 2**20       # size of /dev/shm
    no_fork: bool = True              # seccomp filter against fork bombs (x86_64)

    def as_dict(self) -> dict:
        return asdict(self)


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


# --- what the kernel sees ----------------------------------------------------------------------
# /etc files a Python kernel reads (dynamic linker, time zone, user and host names, fonts); the
# rest of /etc (shadow, ssh keys, credentials of services) does not exist in the sandbox.
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "nsswitch.conf", "passwd", "group",
        "hosts", "host.conf", "fonts", "alternatives", "mime.types")
_TOP_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def python_dirs() -> list[Path]:
    """The interpreter and the virtualenv (read-only in the sandbox)."""
    dirs = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
            Path(sys.executable).resolve().parent.parent}
    return sorted(d for d in dirs if d.is_dir())


def package_dir(name: str) -> Path:
    """Where the installed package ``name`` lives (the grading build is mounted over it)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SandboxUnavailable(f"the package {name!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations))).resolve()


@dataclass(frozen=True)
class KernelPlaces:
    """Host folders of one sandboxed kernel.

    - ``root``: a private folder of the grader (``0711``) holding the rest;
    - ``sockets``: connection file and ipc sockets (the kernel's uid may write until locked);
    - ``inputs``: hidden-test inputs, written by the grader (read-only inside);
    - ``stage``: empty mount point the launcher uses when it runs as root.
    """

    root: Path
    sockets: Path
    inputs: Path
    stage: Path

    @classmethod
    def create(cls, uid: int | None) -> "KernelPlaces":
        root = Path(tempfile.mkdtemp(prefix="convlab-kernel-"))
        root.chmod(0o711)
        places = cls(root, root / "sock", root / "inputs", root / "stage")
        for folder in (places.sockets, places.inputs, places.stage):
            folder.mkdir(mode=0o700 if folder is places.sockets else 0o755)
            folder.chmod(0o700 if folder is places.sockets else 0o755)
        if uid is not None:
            os.chown(places.sockets, uid, uid)
        return places

    def lock_sockets(self) -> None:
        """Freeze the socket folder: root-owned, read-only for the kernel (root grader only)."""
        os.chown(self.sockets, 0, 0)
        self.sockets.chmod(0o755)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def kernel_uid() -> int | None:
    """A fresh host uid for a kernel when the grader is root, else ``None`` (the grader's own)."""
    if os.geteuid() != 0:
        return None
    return SANDBOX_UID_BASE + secrets.randbelow(100_000_000)


def sandbox_spec(kernel_cmd: list[str], places: KernelPlaces, limits: Limits, env: dict, *,
                 overlays: dict[str, str], files: dict[str, str], uid: int | None) -> dict:
    """Everything the launcher needs to start ``kernel_cmd`` sandboxed (JSON-able, pure).

    ``overlays`` maps host folders (the grading build) to where the kernel sees them (over the
    installed packages); ``files`` maps names in the working folder to host files copied there.
    ``env`` is the kernel's whole environment.
    """
    ro, links = [], []
    for top in _TOP_LINKS:
        path = Path(top)
        if path.is_symlink():
            links.append([os.readlink(path), top])
        elif path.is_dir():
            ro.append([top, top])
    ro.append(["/usr", "/usr"])
    ro += [[f"/etc/{name}", f"/etc/{name}"] for name in _ETC if os.path.exists(f"/etc/{name}")]
    ro += [[str(d), str(d)] for d in python_dirs()]
    ro += [[str(src), str(dest)] for src, dest in overlays.items()]
    ro.append([str(places.inputs), SANDBOX_INPUTS])
    return {
        "bwrap": shutil.which("bwrap") or "bwrap",
        "links": links,
        "ro": ro,
        "rw": [[str(places.sockets), str(places.sockets)]],
        "tmpfs": [["/dev/shm", limits.shm_bytes], ["/tmp", limits.tmp_bytes],
                  [SANDBOX_WORKDIR, limits.workdir_bytes]],
        "home": env.get("HOME", SANDBOX_HOME),
        "files": [[str(src), f"{SANDBOX_WORKDIR}/{name}"] for name, src in sorted(files.items())],
        "chdir": SANDBOX_WORKDIR,
        "env": dict(env),
        "command": list(kernel_cmd),
        "limits": limits.as_dict(),
        "uid": uid,
        "stage": str(places.stage),
    }


def launch_command(spec: dict, spec_path: Path) -> list[str]:
    """Write ``spec`` to ``spec_path`` (grader-owned) and return the launcher's command line."""
    spec_path.write_text(json.dumps(spec))
    spec_path.chmod(0o600)
    return [sys.executable, "-I", "-m", "autograder.sandbox_launch", str(spec_path)]


@functools.cache
def bwrap_problem() -> str | None:
    """``None`` when the sandbox can start here (the real launcher, a trivial command); else why not."""
    if shutil.which("bwrap") is None:
        return "bubblewrap (bwrap) is not installed: apt-get install bubblewrap (or `make sysdeps`)"
    uid = kernel_uid()
    places = KernelPlaces.create(uid)
    try:
        spec = sandbox_spec(["/bin/true"], places, Limits(), {"PATH": "/usr/bin:/bin"}, overlays={}, files={},
                            uid=uid)
        command = launch_command(spec, places.root / "probe.json")
        proc = subprocess.run(command, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"the sandbox could not be started ({exc})"
    finally:
        places.remove()
    if proc.returncode != 0:
        return ("bwrap cannot create the sandbox here (" + " ".join(proc.stderr.split())[:300] + "); unprivileged "
                "user namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1)")
    return None
