"""nbgrader's ``Execute`` preprocessor, run in the sandbox, with hidden answers taken as they arrive.

:class:`SandboxExecute` (configured in place of ``Execute``, see :mod:`autograder.pipeline`):

- starts each kernel through :class:`SandboxKernelManager` (bubblewrap, an unprivileged user,
  limits, the grading build of the packages, ipc sockets locked once made) unless
  ``unsafe_no_sandbox`` is set;
- runs each hidden-test cell with its checks' inputs present (read-only) only while that cell
  runs, and takes the answers out of the cell's messages as they arrive (the trusted
  :class:`autograder.trusted.HiddenSession` keeps them): nothing later can change them;
- caps every byte of every output message of a cell (streams, rich data and its metadata,
  errors), and every single message the kernel sends;
- gives each cell at most ``min(cell limit, what is left of the notebook's budget)``; a cell that
  does not stop when interrupted has its kernel stopped, and the notebook says so;
- survives a dying kernel: the cell gets an error output, the remaining cells are marked as not
  run, and grading carries on.

What happened is written to ``resources["convlab"]["events"]`` for the feedback.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Instance, Unicode

from autograder.cells import SKIP_TAG, is_skipped, nbgrader_meta
from autograder.grading_build import GradingBuild, default_builds_dir, grading_build
from autograder.kernel.protocol import (ANSWER_MIME, INPUTS_ENV, OUTPUT_CAP_ENV, SANDBOX_HOME, SANDBOX_INPUTS)
from autograder.sandbox import KernelPlaces, Limits, kernel_uid, launch_command, sandbox_spec

__all__ = ["SandboxKernelManager", "SandboxExecute", "kernel_env", "SKIP_TAG", "KernelStopped"]

_TRUNCATED = "\n[output truncated by the grader: more than {what} in this cell]\n"
_SOCKET_WAIT = 60.0


class KernelStopped(RuntimeError):
    """The grader stopped the kernel (a cell ignored its interrupt)."""


def kernel_env(inputs_dir: str | None, limits: Limits | None = None, home: str = SANDBOX_HOME) -> dict:
    """The kernel's whole environment (nothing inherited from the grader).

    ``inputs_dir`` puts ``run_hidden`` in grading mode; with ``limits`` the kernel also cuts output
    floods itself (see :mod:`autograder.kernel.boot`).
    """
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{home}/matplotlib", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1",
        "JUPYTER_PLATFORM_DIRS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    if inputs_dir:
        env[INPUTS_ENV] = inputs_dir
    if limits is not None:
        env[OUTPUT_CAP_ENV] = f"{limits.output_lines}:{limits.output_bytes}"
    return env


def _capped_context(message_bytes: int) -> zmq.asyncio.Context:
    """A ZeroMQ context whose sockets drop a peer that sends a message over ``message_bytes``."""
    ctx = zmq.asyncio.Context()
    ctx.setsockopt(zmq.MAXMSGSIZE, int(message_bytes))
    return ctx


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs under bubblewrap, talking over ipc sockets."""

    sandbox_limits = Instance(Limits, args=())
    build = Instance(GradingBuild, allow_none=True)
    workdir_files = Dict(help="name in the kernel's working folder -> host file to copy there")
    inputs = Bool(False, help="Grading mode: the kernel reads hidden inputs from the inputs folder")
    unsafe_no_sandbox = Bool(False)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._uid = None if self.unsafe_no_sandbox else kernel_uid()
        self.places = KernelPlaces.create(self._uid)
        self.transport = "ipc"
        self.ip = str(self.places.sockets / "k")  # absolute: both sides resolve the same socket files
        self.connection_file = str(self.places.sockets / "connection.json")

    def _context_default(self):
        self._created_context = True
        return _capped_context(self.sandbox_limits.message_bytes)

    def client(self, **kwargs):
        client = super().client(context=_capped_context(self.sandbox_limits.message_bytes), **kwargs)
        client._created_context = True  # the client destroys it when it is done
        return client

    @property
    def kernel_spec(self):
        if self._kernel_spec is None:
            self._kernel_spec = KernelSpec(
                argv=[sys.executable, "-P", "-m", "autograder.kernel.boot", "-f", "{connection_file}"],
                display_name="ConvLab sandbox", language="python", interrupt_mode="message",
                env={}, metadata={})
        return self._kernel_spec

    async def _async_pre_start_kernel(self, **kw):
        kernel_cmd, kw = await super()._async_pre_start_kernel(**kw)
        os.chmod(self.connection_file, 0o644)  # the kernel's user reads it; its folder is private
        kw["stdin"] = kw["stdout"] = kw["stderr"] = subprocess.DEVNULL  # none of the grader's descriptors
        if self.unsafe_no_sandbox:
            workdir = self.places.root / "work"
            workdir.mkdir()
            (self.places.root / "home").mkdir()
            for name, src in self.workdir_files.items():
                shutil.copyfile(src, workdir / name)
            env = kernel_env(str(self.places.inputs) if self.inputs else None, self.sandbox_limits,
                             home=str(self.places.root / "home"))
            if self.build is not None:
                env["PYTHONPATH"] = str(self.build.root)  # ahead of the installed packages
            kw.update(env=env, cwd=str(workdir))
            return kernel_cmd, kw
        env = kernel_env(SANDBOX_INPUTS if self.inputs else None, self.sandbox_limits)
        spec = sandbox_spec(kernel_cmd, self.places, self.sandbox_limits, env,
                            overlays={v: k for k, v in (self.build.packages if self.build else {}).items()},
                            files=dict(self.workdir_files), uid=self._uid)
        kw.update(env={"PATH": env["PATH"], "LANG": "C.UTF-8"}, cwd=str(self.places.root))
        return launch_command(spec, self.places.root / "launch.json"), kw

    async def _async_post_start_kernel(self, **kw):
        if not self.unsafe_no_sandbox:
            await self._wait_for_sockets()
            if self._uid is not None:
                self.places.lock_sockets()
        await super()._async_post_start_kernel(**kw)

    async def _wait_for_sockets(self) -> None:
        """Until the kernel has made its five sockets (before any student code can run)."""
        names = [f"k-{port}" for port in (self.shell_port, self.iopub_port, self.stdin_port, self.hb_port,
                                          self.control_port)]
        deadline = time.monotonic() + _SOCKET_WAIT
        while not all((self.places.sockets / n).exists() for n in names):
            if time.monotonic() > deadline or not await self.is_alive():
                raise RuntimeError("the sandboxed kernel did not start (no sockets)")
            await asyncio.sleep(0.02)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                self.places.remove()


_SKIPPED = "(demo cell: not run during grading)\n"


def _message_bytes(content: dict) -> int:
    return len(json.dumps(content, default=str))


class SandboxExecute(Execute):
    """``Execute`` in the sandbox, with hidden inputs per cell, output caps, a notebook deadline and
    kernel-death recovery."""

    unsafe_no_sandbox = Bool(False, help="Run kernels without bubblewrap (trusted code only)").tag(config=True)
    limits = Dict({}, help="Overrides of autograder.sandbox.Limits fields").tag(config=True)
    assets_dir = Unicode("", help="Folder of <aid>/ folders whose data files (not notebooks, not checks.py) "
                                  "the kernel gets a copy of").tag(config=True)
    builds_dir = Unicode("", help="Cache of grading builds (default: a folder in the temp dir)").tag(config=True)

    def _limits(self) -> Limits:
        fields = dict(self.limits)
        fields.setdefault("cell_timeout", self.timeout or Limits.cell_timeout)
        return Limits(**fields)

    def _session(self):
        return (self.resources or {}).get("convlab", {}).get("session")

    def _workdir_files(self) -> dict:
        aid = (self.resources.get("nbgrader") or {}).get("assignment") or self.resources.get("convlab", {}).get("aid")
        folder = Path(self.assets_dir) / aid if self.assets_dir and aid else None
        if folder is None or not folder.is_dir():
            return {}
        return {p.name: str(p) for p in sorted(folder.iterdir())
                if p.is_file() and not p.is_symlink() and p.suffix != ".ipynb" and not p.name.startswith(".")
                and p.name != "checks.py"}

    def create_kernel_manager(self):
        session = self._session()
        build = session.build if session is not None else None
        if build is None and not self.unsafe_no_sandbox:
            build = grading_build("none", (), self.builds_dir or default_builds_dir())
        self.km = SandboxKernelManager(config=self.config, sandbox_limits=self._limits(), build=build,
                                       workdir_files=self._workdir_files(), inputs=session is not None,
                                       unsafe_no_sandbox=self.unsafe_no_sandbox)
        if session is not None:
            session.attach(self.km.places.inputs)
        return self.km

    # --- every message of the cell: answers out, the rest capped ----------------------------
    def output(self, outs, msg, display_id, cell_index):
        limits = self._run_limits  # every message passes here: the limits are resolved once per notebook
        content = msg.get("content", {})
        msg_type = msg.get("msg_type")
        data = content.get("data") if isinstance(content.get("data"), dict) else None
        if data is not None and ANSWER_MIME in data:
            payload = data.pop(ANSWER_MIME)
            session = self._session()
            if session is not None:
                session.take_answer(payload)
            if not data:
                return None
        if msg_type not in ("stream", "display_data", "execute_result", "update_display_data", "error"):
            return super().output(outs, msg, display_id, cell_index)
        used = self._out_used.setdefault(cell_index, [0, 0, False])  # bytes, lines, truncated
        if used[2]:
            return None
        text = content.get("text", "") if msg_type == "stream" else ""
        size = _message_bytes(content)
        room_bytes, room_lines = limits.output_bytes - used[0], limits.output_lines - used[1]
        used[0] += size
        used[1] += text.count("\n")
        if used[0] <= limits.output_bytes and used[1] <= limits.output_lines:
            return super().output(outs, msg, display_id, cell_index)
        used[2] = True
        what = f"{limits.output_lines} lines" if used[1] > limits.output_lines else f"{limits.output_bytes} bytes"
        self._event(f"cell {cell_index}: output truncated (more than {what})")
        if msg_type == "stream" and room_bytes > 0 and room_lines > 0:
            # keep the part of this message that still fits under the cap
            content["text"] = "".join(text.splitlines(keepends=True)[:room_lines])[:room_bytes]
            super().output(outs, msg, display_id, cell_index)
        elif msg_type == "error":
            # an error must still count as an error: keep a short one
            content.update(ename=str(content.get("ename", "Error"))[:100],
                           evalue=str(content.get("evalue", ""))[:1000], traceback=[])
            super().output(outs, msg, display_id, cell_index)
        outs.append(NotebookNode(output_type="stream", name="stdout", text=_TRUNCATED.format(what=what)))
        return None

    def on_cell_executed(self, **kwargs):
        # the execute reply comes over the shell channel, not through output(): nbgrader copies its
        # error into the cell when no error output recorded it, so it is capped here too
        content = (kwargs.get("execute_reply") or {}).get("content", {})
        if content.get("status") == "error":
            content["ename"] = str(content.get("ename", ""))[:100]
            content["evalue"] = str(content.get("evalue", ""))[:1000]
            content["traceback"] = [str(t)[:2000] for t in list(content.get("traceback") or [])[-40:]]
        return super().on_cell_executed(**kwargs)

    def _event(self, text: str) -> None:
        self.resources.setdefault("convlab", {}).setdefault("events", []).append(text)

    # --- time: per cell, bounded by the notebook's budget -------------------------------------
    def _get_timeout(self, cell):
        base = super()._get_timeout(cell)
        left = max(1, int(self._deadline - time.monotonic()))
        return left if base is None else min(base, left)

    async def _async_handle_timeout(self, timeout, cell=None):
        result = await super()._async_handle_timeout(timeout, cell)
        index = self._running_index
        self._event(f"cell {index} hit its time limit ({timeout} s) and was interrupted")
        grace = time.monotonic() + self._limits().interrupt_grace
        while time.monotonic() < grace:
            if await self.kc.shell_channel.msg_ready():
                return result
            await asyncio.sleep(0.1)
        self._dead = f"cell {index} did not stop when interrupted at its time limit, so the grader stopped the kernel"
        await self.km.shutdown_kernel(now=True)
        raise KernelStopped(self._dead)

    # --- the notebook: deadline, hidden cells, kernel death --------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._out_used = {}
        self._run_limits = self._limits()
        self._deadline = time.monotonic() + self._run_limits.notebook_timeout
        self._dead = None
        self._running_index = None
        resources.setdefault("convlab", {}).setdefault("events", [])
        try:
            return super().preprocess(nb, resources, km=km)
        except Exception as exc:  # noqa: BLE001 - kernel death or start-up failure: record, carry on
            started = resources["convlab"].get("cells_started", 0)
            if started == 0:
                resources["convlab"]["infrastructure_error"] = f"{type(exc).__name__}: {exc}"[:500]
                raise
            self._dead = self._dead or f"the kernel died ({type(exc).__name__})"
            resources["convlab"]["kernel_stopped" if isinstance(exc, KernelStopped) else "kernel_died"] = self._dead
            self._mark_unrun(nb, started - 1, self._dead)
            return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if is_skipped(cell):
            # a pure demo (e.g. a widget built on library functions this assignment withholds): it earns
            # nothing and would only show the student a withheld-function traceback in their feedback
            cell.outputs = [NotebookNode(output_type="stream", name="stdout", text=_SKIPPED)]
            return cell, resources
        if time.monotonic() > self._deadline - 1:
            if not resources["convlab"].get("notebook_timeout"):
                resources["convlab"]["notebook_timeout"] = True
                self._event(f"the notebook ran out of time at cell {index}")
            self._not_run(cell, "the whole-notebook time limit was reached before this cell")
            return cell, resources
        resources["convlab"]["cells_started"] = index + 1
        self._running_index = index
        session = self._session()
        meta = nbgrader_meta(cell)
        hidden = session is not None and meta.get("grade") and session.open_cell(meta.get("grade_id"))
        try:
            return super().preprocess_cell(cell, resources, index)
        finally:
            if hidden:
                session.close_cell()

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
