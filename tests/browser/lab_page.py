"""Driving JupyterLab in Debian's chromium with Playwright: open a notebook, Run All, read the cells back.

Everything is read from the page as a student sees it (the DOM of the notebook panel), never from
the server's files. JupyterLab shows an error and a stderr stream alike (``data-mime-type`` is
``application/vnd.jupyter.stderr`` for both), so :func:`error_name` tells them apart by IPython's
traceback text.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "launch_chromium",
    "offline",
    "DomOutput",
    "DomCell",
    "error_name",
    "open_notebook",
    "run_all",
    "wait_idle",
    "read_cells",
    "cell_locator",
    "read_sliders",
    "press_slider",
    "screenshot_notebook",
]

CHROMIUM = Path("/usr/bin/chromium")  # Debian's package (make browserdeps); Playwright never downloads one
# As root chromium needs --no-sandbox; the rest keep it from calling out (the network is closed here:
# without them it keeps retrying refused connections) and from doing first-run work.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

_ACTIVE_PANEL = "#jp-main-dock-panel .jp-NotebookPanel:not(.lm-mod-hidden)"
_TRACEBACK_RE = re.compile(r"^(\w[\w.]*)\s+Traceback \(most recent call last\)", re.M)
_SYNTAX_RE = re.compile(r"^\s*Cell In\[\d+\], line \d+", re.M)
_ENAME_RE = re.compile(r"^(\w[\w.]*(?:Error|Exception|Exit|Interrupt))\b", re.M)


def launch_chromium(playwright):
    """Headless Debian chromium (a fresh temporary profile, as Playwright gives every launch)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"{CHROMIUM} is missing: install Debian's chromium (`make browserdeps`)")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def offline(context, allowed_prefix: str | None = None) -> list[str]:
    """Abort every http(s) request of ``context`` except to ``allowed_prefix``; returns the refused URLs."""
    refused: list[str] = []
    pattern = re.compile(r"^https?://") if allowed_prefix is None else re.compile(
        rf"^https?://(?!{re.escape(allowed_prefix.split('://', 1)[1])})")

    def abort(route):
        refused.append(route.request.url)
        route.abort()

    context.route(pattern, abort)
    return refused


@dataclass(frozen=True)
class DomOutput:
    mime: str  # data-mime-type of the rendered output
    text: str  # its visible text


@dataclass(frozen=True)
class DomCell:
    kind: str  # "code", "markdown" or "raw"
    prompt: str  # "[3]:", "[ ]:", "[*]:" (code cells), "" otherwise
    outputs: tuple

    @property
    def ran(self) -> bool:
        """The cell's prompt shows an execution count."""
        return bool(re.search(r"\[\d+\]", self.prompt))

    def errors(self) -> list[str]:
        """The exception name of every error output (``NotImplementedError``), in order."""
        return [name for name in map(error_name, self.outputs) if name]


def error_name(output: DomOutput) -> str | None:
    """The exception an output shows (IPython's traceback or syntax-error layout), None for other outputs."""
    if output.mime != "application/vnd.jupyter.stderr":
        return None
    match = _TRACEBACK_RE.search(output.text)
    if match:
        return match.group(1)
    if _SYNTAX_RE.search(output.text):
        names = _ENAME_RE.findall(output.text)
        return names[-1] if names else "SyntaxError"
    return None


def open_notebook(page, server, path: str, timeout: float = 90) -> None:
    """Open ``path`` (relative to the server's root) alone in a new workspace; return once its kernel is idle."""
    page.goto(server.page_url(f"lab/workspaces/t{secrets.token_hex(4)}/tree/{path}", reset=""))
    page.wait_for_selector(f"{_ACTIVE_PANEL} .jp-Notebook .jp-Cell", timeout=timeout * 1000)
    page.wait_for_function(
        "() => /\\|\\s*Idle\\b/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')",
        timeout=timeout * 1000)
    page.keyboard.press("Control+b")  # fold the file browser away: the notebook gets the window's width
    page.wait_for_selector("#jp-left-stack", state="hidden")


def run_all(page, timeout: float = 180) -> float:
    """Run > Run All Cells from the menu bar; wait until no cell is queued or running. Returns seconds."""
    start = time.monotonic()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # done: the first code cell has run and no prompt shows [*] (a cell JupyterLab stopped at an
    # error leaves the rest unqueued, [ ]); then the kernel is idle
    page.wait_for_function(
        f"""() => {{
            const panel = document.querySelector("{_ACTIVE_PANEL}");
            if (!panel) return false;
            const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
            const idle = panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status === 'idle';
            return prompts.length > 0 && /\\d/.test(prompts[0]) && !prompts.some(p => p.includes('*')) && idle;
        }}""", timeout=timeout * 1000, polling=250)
    return time.monotonic() - start


def wait_idle(page, timeout: float = 60) -> None:
    """Wait until the notebook's kernel is idle (widget updates are kernel messages: then all have been sent)."""
    page.wait_for_function(
        f"""() => document.querySelector("{_ACTIVE_PANEL} .jp-Notebook-ExecutionIndicator")?.dataset.status === 'idle'""",
        timeout=timeout * 1000, polling=100)


def read_cells(page) -> list[DomCell]:
    """Every cell of the notebook on show, in order: kind, prompt, outputs as rendered."""
    raw = page.evaluate(
        f"""() => [...document.querySelector("{_ACTIVE_PANEL}").querySelectorAll('.jp-Notebook .jp-Cell')]
            .map(c => ({{
                kind: c.classList.contains('jp-CodeCell') ? 'code'
                      : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
                prompt: (c.querySelector('.jp-InputPrompt')?.textContent || '').trim(),
                outputs: [...c.querySelectorAll('.jp-OutputArea-output')]
                    .map(o => ({{mime: o.dataset.mimeType || '', text: o.innerText}})),
            }}))""")
    return [DomCell(c["kind"], c["prompt"] if c["kind"] == "code" else "",
                    tuple(DomOutput(o["mime"], o["text"]) for o in c["outputs"])) for c in raw]


def cell_locator(page, index: int):
    """The ``index``-th cell (0-based, as in the notebook file) of the notebook on show."""
    return page.locator(f"{_ACTIVE_PANEL} .jp-Notebook .jp-Cell").nth(index)


def read_sliders(widget) -> dict[str, int]:
    """``{label: value}`` of the ipywidgets integer sliders inside ``widget`` (a locator), from their readouts."""
    pairs = widget.evaluate(
        """w => [...w.querySelectorAll('.widget-slider')].map(s => [
            s.querySelector('.widget-label').textContent.trim(), s.querySelector('.widget-readout').textContent.trim()])""")
    return {label: int(value) for label, value in pairs}


def press_slider(widget, label: str, key: str) -> None:
    """Focus the handle of the slider called ``label`` inside ``widget`` and press ``key`` (``ArrowRight``, ``End``)."""
    handle = widget.locator(".widget-slider").filter(
        has=widget.page.locator(".widget-label", has_text=re.compile(rf"^{re.escape(label)}$"))).locator(".noUi-handle")
    handle.focus()
    handle.press(key)


def screenshot_notebook(page, path: Path, max_height: int = 30000) -> Path:
    """A PNG of the whole notebook: the window is made as tall as the notebook's content, then restored."""
    size = page.viewport_size
    height = page.evaluate(
        f"""() => {{
            const panel = document.querySelector("{_ACTIVE_PANEL}");
            const scroller = panel.querySelector('.jp-WindowedPanel-outer') || panel;
            scroller.scrollTop = 0;
            return scroller.scrollHeight + (window.innerHeight - scroller.clientHeight);
        }}""")
    page.set_viewport_size({"width": size["width"], "height": int(min(max(height, size["height"]), max_height))})
    try:
        page.wait_for_timeout(300)  # let Lab lay the taller panel out
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path))
    finally:
        page.set_viewport_size(size)
    return path
