"""A throw-away JupyterLab server for the browser tests: the venv's ``jupyter lab``, offline and isolated.

:class:`LabServer` starts ``python -m jupyterlab`` (the interpreter running the tests, so the venv's Lab,
nbgrader extension and ipywidgets) on 127.0.0.1 and a free port, with a random token, no browser, and
every Jupyter folder (config, data, runtime, settings, workspaces, IPython profile) inside a folder of
its own, so nothing from the user's ``~/.jupyter`` changes what the tests see. It makes no request
outside the machine: no news feed, no update check (server side, and the client's settings say never
to ask). The server's working folder is the course root it serves, because nbgrader's Validate
handler reads ``nbgrader_config.py`` from there.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

__all__ = ["LabServer", "LabServerError", "LAB_SETTINGS"]

# JupyterLab user settings written before start: {plugin id: settings}
LAB_SETTINGS = {
    # every cell stays in the DOM (the tests read all of them; full-height screenshots show all)
    "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
    # never fetch news or look for updates, and do not ask
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
    # a notebook is written only when a test saves it (Validate does): the release copies stay untouched
    "@jupyterlab/docmanager-extension:plugin": {"autosave": False},
}


class LabServerError(RuntimeError):
    """The server did not come up (its log is in the message)."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_settings(settings_dir: Path, settings: dict) -> None:
    """Write ``{plugin id: values}`` as JupyterLab user settings files under ``settings_dir``."""
    for plugin, values in settings.items():
        package, name = plugin.split(":")
        path = settings_dir / package / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


class LabServer:
    """``jupyter lab`` serving ``root``; ``state`` is a folder for its config, logs and settings; the
    folders of ``config_path`` (and no others from the environment) are on ``JUPYTER_CONFIG_PATH``.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``url(path)`` gives a page's
    address, ``page_url(path)`` the same with the token; :meth:`api` calls the REST API.
    """

    def __init__(self, root: Path, state: Path, startup_timeout: float = 90, config_path=()):
        self.root, self.state = Path(root).resolve(), Path(state).resolve()
        self.config_path = [Path(p).resolve() for p in config_path]  # extra config folders (JUPYTER_CONFIG_PATH)
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = None
        self.proc = None
        self.log_path = self.state / "jupyter-lab.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}/{path.lstrip('/')}"

    def page_url(self, path: str, **query) -> str:
        """A page's address carrying the token (a browser that opens it is logged in)."""
        return self.url(path) + "?" + urllib.parse.urlencode({**query, "token": self.token})

    def _environment(self) -> dict:
        env = dict(os.environ)
        for var, sub in [("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                         ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython")]:
            env[var] = str(self.state / sub)
        env.pop("JUPYTER_PATH", None)
        env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(map(str, self.config_path))
        return env

    def command(self) -> list[str]:
        return [
            sys.executable, "-m", "jupyterlab",
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--LabApp.user_settings_dir={self.state / 'settings'}",
            f"--LabApp.workspaces_dir={self.state / 'workspaces'}",
        ]

    def start(self) -> LabServer:
        self.state.mkdir(parents=True, exist_ok=True)
        write_settings(self.state / "settings", LAB_SETTINGS)
        self.port = free_port()
        with open(self.log_path, "wb") as log:
            # its own session: stop() can end the server and the kernels it started, and nothing else
            self.proc = subprocess.Popen(self.command(), cwd=self.root, env=self._environment(), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise LabServerError(f"jupyter lab exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                self.api("GET", "api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.3)
        self.stop()
        raise LabServerError(f"jupyter lab did not answer within {self.startup_timeout:.0f} s:\n{self.log_tail()}")

    def api(self, method: str, path: str, timeout: float = 10):
        """Call the server's REST API; returns the decoded JSON reply (None when empty)."""
        request = urllib.request.Request(self.url(path), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self) -> None:
        """End every session and its kernel (the next test opening the same notebook starts afresh)."""
        for session in self.api("GET", "api/sessions"):
            self.api("DELETE", f"api/sessions/{session['id']}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 15) -> None:
        """SIGTERM (the server shuts its kernels down), then SIGKILL to its process group if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(grace)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
