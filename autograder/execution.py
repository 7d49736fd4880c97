"""nbgrader's ``Execute`` preprocessor, run in the sandbox and made robust.

:class:`SandboxExecute` (configure it in place of ``Execute``):

- starts each kernel through :class:`SandboxKernelManager` (bwrap, limits, ipc sockets,
  ``interrupt_mode: message``) unless ``unsafe_no_sandbox`` is set;
- caps each cell's output while it arrives (lines and bytes), so a flood never fills the grader's
  memory or the notebook;
- enforces a whole-notebook time limit on top of nbgrader's per-cell timeout with interrupt;
- survives a dying kernel (``os._exit``, segfault, memory kill): the cell gets an error output,
  the remaining cells are marked as not run, and grading carries on.

What happened is written to ``resources["convlab"]["events"]`` for the feedback.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Instance, Integer, List, Unicode

from autograder.harness import GRADING_ENV
from autograder.kernel_boot import OUTPUT_CAP_ENV
from autograder.sandbox import Limits, SandboxPaths, sandbox_command

__all__ = ["SandboxKernelManager", "SandboxExecute", "kernel_env"]

_TRUNCATED = "\n[output truncated by the grader: more than {what} in this cell]\n"


# Not /tmp itself: IPython prints paths under HOME as "~/...", and a course checked out under /tmp would
# then appear in tracebacks under a name the feedback sanitiser does not recognise.
SANDBOX_HOME = "/tmp/.sandbox-home"


def kernel_env(grading_dir: str | None, limits: Limits | None = None) -> dict:
    """The kernel's whole environment (nothing inherited from the grader).

    With ``limits``, the kernel also cuts output floods itself (see :mod:`autograder.kernel_boot`).
    """
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if grading_dir:
        env[GRADING_ENV] = grading_dir
    if limits is not None:
        env[OUTPUT_CAP_ENV] = f"{limits.output_lines}:{limits.output_bytes}"
    return env


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs under bubblewrap, talking over ipc sockets."""

    sandbox_limits = Instance(Limits, args=())
    sandbox_hide = List(Unicode())
    grading_dir = Unicode(None, allow_none=True)
    unsafe_no_sandbox = Bool(False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._ipc_dir = Path(tempfile.mkdtemp(prefix="convlab-kernel-"))
        self._ipc_dir.chmod(0o700)
        self.transport = "ipc"
        self.ip = str(self._ipc_dir / "k")  # absolute: both sides resolve the same socket files
        self.connection_file = str(self._ipc_dir / "connection.json")

    @property
    def kernel_spec(self):
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-m", "autograder.kernel_boot", "-f", "{connection_file}"],
                display_name="ConvLab sandbox", language="python", interrupt_mode="message",
                env={}, metadata={})
        return self._kernel_spec

    async def _async_pre_start_kernel(self, **kw):
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        env = kernel_env(self.grading_dir, self.sandbox_limits)
        workdir = Path(kw.get("cwd") or ".").resolve()
        if self.unsafe_no_sandbox:
            kw["env"] = {**env, "PATH": env["PATH"]}
            return kernel_cmd, kw
        paths = SandboxPaths(workdir=workdir, ipc_dir=self._ipc_dir, hide=tuple(self.sandbox_hide))
        kw["env"] = {"PATH": env["PATH"], "LANG": "C.UTF-8"}  # for the launcher; bwrap clears it
        kw["stdout"] = subprocess.DEVNULL  # ipykernel's start-up banner
        return sandbox_command(kernel_cmd, paths, self.sandbox_limits, env), kw

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)


SKIP_TAG = "skip-when-graded"
_SKIPPED = "(demo cell: not run during grading)\n"


class SandboxExecute(Execute):
    """``Execute`` in the sandbox, with output caps, a notebook deadline and kernel-death recovery."""

    unsafe_no_sandbox = Bool(False, help="Run kernels without bubblewrap (trusted code only)").tag(config=True)
    limits = Dict({}, help="Overrides of autograder.sandbox.Limits fields").tag(config=True)
    hide_paths = List(Unicode(), help="Folders hidden from the kernel (course root, ...)").tag(config=True)
    notebook_timeout = Integer(0, help="Seconds for the whole notebook (0: from limits)").tag(config=True)

    def _limits(self) -> Limits:
        fields = dict(self.limits)
        fields.setdefault("cell_timeout", self.timeout or Limits.cell_timeout)
        return Limits(**fields)

    def create_kernel_manager(self):
        limits = self._limits()
        grading = (self.resources or {}).get("convlab", {}).get("grading_dir")
        self.km = SandboxKernelManager(config=self.config, sandbox_limits=limits, sandbox_hide=list(self.hide_paths),
                                       grading_dir=grading, unsafe_no_sandbox=self.unsafe_no_sandbox)
        return self.km

    # --- output cap, applied to every iopub message as it arrives ----------------------------
    def output(self, outs, msg, display_id, cell_index):
        limits = self._limits()
        used = self._out_used.setdefault(cell_index, [0, 0, False])  # bytes, lines, truncated
        content = msg.get("content", {})
        msg_type = msg.get("msg_type")
        if msg_type == "stream":
            text = content.get("text", "")
        elif msg_type in ("display_data", "execute_result", "update_display_data"):
            text = json.dumps(content.get("data", {}))[: limits.output_bytes + 1]
        elif msg_type == "error":
            content["traceback"] = content.get("traceback", [])[-40:]
            return super().output(outs, msg, display_id, cell_index)
        else:
            return super().output(outs, msg, display_id, cell_index)
        if used[2]:
            return None
        room_bytes, room_lines = limits.output_bytes - used[0], limits.output_lines - used[1]
        used[0] += len(text)
        used[1] += text.count("\n")
        if used[0] > limits.output_bytes or used[1] > limits.output_lines:
            used[2] = True
            what = f"{limits.output_lines} lines" if used[1] > limits.output_lines else f"{limits.output_bytes} bytes"
            self._event(f"cell {cell_index}: output truncated (more than {what})")
            if msg_type == "stream" and room_bytes > 0 and room_lines > 0:
                # keep the part of this message that still fits under the cap
                content["text"] = "".join(text.splitlines(keepends=True)[:room_lines])[:room_bytes]
                super().output(outs, msg, display_id, cell_index)
            note = NotebookNode(output_type="stream", name="stdout", text=_TRUNCATED.format(what=what))
            outs.append(note)
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _event(self, text: str) -> None:
        self.resources.setdefault("convlab", {}).setdefault("events", []).append(text)

    # --- notebook deadline and kernel death --------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._out_used = {}
        self._deadline = time.monotonic() + (self.notebook_timeout or self._limits().notebook_timeout)
        self._dead = None
        resources.setdefault("convlab", {}).setdefault("events", [])
        try:
            return super().preprocess(nb, resources, km=km)
        except Exception as exc:  # noqa: BLE001 - kernel death or start-up failure: record, carry on
            started = resources["convlab"].get("cells_started", 0)
            if started == 0:
                resources["convlab"]["infrastructure_error"] = f"{type(exc).__name__}: {exc}"[:500]
                raise
            self._dead = self._dead or f"the kernel died ({type(exc).__name__})"
            resources["convlab"]["kernel_died"] = self._dead
            self._mark_unrun(nb, started - 1, self._dead)
            return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if SKIP_TAG in cell.get("metadata", {}).get("tags", []):
            # a pure demo (e.g. a widget built on library functions this assignment withholds): it earns
            # nothing and would only show the student a blocked-call traceback in their feedback
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=_SKIPPED)]
            return cell, resources
        if time.monotonic() > self._deadline:
            if not resources["convlab"].get("notebook_timeout"):
                resources["convlab"]["notebook_timeout"] = True
                self._event(f"the notebook ran out of time at cell {index}")
            self._not_run(cell, "the whole-notebook time limit was reached before this cell")
            return cell, resources
        resources["convlab"]["cells_started"] = index + 1
        started = time.monotonic()
        cell, resources = super().preprocess_cell(cell, resources, index)
        if time.monotonic() - started >= (self.timeout or 1e9):
            self._event(f"cell {index} hit the per-cell time limit ({self.timeout} s) and was interrupted")
        return cell, resources

    @staticmethod
    def _not_run(cell, why: str) -> None:
        cell.outputs = [NotebookNode(output_type="error", ename="NotRun", evalue=why,
                                     traceback=[f"NotRun: {why}"])]

    def _mark_unrun(self, nb, died_at: int, why: str) -> None:
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if index == died_at:
                cell.outputs = list(cell.get("outputs", [])) + [NotebookNode(
                    output_type="error", ename="KernelDied", evalue=why, traceback=[f"KernelDied: {why}"])]
            elif index > died_at:
                self._not_run(cell, "the kernel had died in an earlier cell")
        self._event(f"{why} in cell {died_at}; later cells were not run")
