"""The Jupyter server extension of the students' JupyterLab (``make lab``): a Validate button that tells the truth.

nbgrader's Lab extension puts a *Validate* button on every notebook's toolbar. Pressed, it saves the
notebook, asks ``GET nbgrader_version?version=...`` and then ``POST assignments/validate?path=...``,
and shows the JSON answer in a dialog. nbgrader's own handler counts errors in graded cells; in this
course the points sit on hidden-test cells, which are only a comment in the release, so it said
"Success!" on an untouched notebook. This extension answers the same two requests: the version check
with nbgrader's handler, the validation with :mod:`autograder.selfcheck`, the code behind
``convlab-grade check`` (same run, same verdict, same per-exercise lines).

What nbgrader's dialog (0.9.6) can show is fixed by its JavaScript: an empty ``value`` shows
"Success! Your notebook passes all the tests.", a ``failed`` list shows each entry's ``source`` as
text under "The following cell failed:" and its ``error`` as HTML, and ``success: false`` shows the
``value`` under "There was an error running the validate command:". So a passing notebook (every
exercise passes its visible tests and the diagnosis finds nothing) gets the first, anything else one
``failed`` entry holding the whole ``convlab-grade check`` report (with the diagnosis's lines), and a
notebook that cannot be run the third.

Enabled by ``lab-config/jupyter_server_config.json``, which ``make lab`` puts on
``JUPYTER_CONFIG_PATH`` and which also turns nbgrader's own validate extension off.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from nbgrader.server_extensions.validate_assignment.handlers import NbGraderVersionHandler
from tornado import web

from autograder.check_cache import check_async
from autograder.selfcheck import format_report, passed

__all__ = ["validate_reply", "ValidateHandler"]

_HINT = "Fix the exercises not marked pass, then press Validate again."


async def validate_reply(path: Path) -> dict:
    """The answer to the Validate button for the notebook at ``path`` (nbgrader's reply format)."""
    try:
        statuses, _ = await check_async(path)  # in mywork/ it also refreshes what `progress` shows
    except Exception as exc:  # noqa: BLE001 - any failure to run becomes the dialog's error text
        first = " ".join(str(exc).split())[:500]
        return {"success": False, "value": f"convlab-grade check could not run {path.name}: "
                                           f"{type(exc).__name__}: {first}"}
    if passed(statuses):
        return {"success": True, "value": {}}
    return {"success": True,
            "value": {"failed": [{"source": format_report(path.name, statuses), "error": html.escape(_HINT)}]}}


class ValidateHandler(JupyterHandler):
    """``POST assignments/validate`` with ``path`` (relative to the server's root) as a query or JSON field."""

    def initialize(self, root_dir: str) -> None:
        self.root = Path(root_dir).resolve()

    @web.authenticated
    async def post(self):
        path = self.get_argument("path", None)
        if path is None:
            path = (self.get_json_body() or {}).get("path")
        if not path:
            raise web.HTTPError(400, "the notebook's path is missing")
        target = (self.root / path).resolve()
        if not target.is_relative_to(self.root):
            raise web.HTTPError(403, "the notebook is outside the server's folder")
        if not target.is_file():
            raise web.HTTPError(404, f"no notebook {path}")
        self.finish(json.dumps(await validate_reply(target)))


def _jupyter_server_extension_points():
    return [{"module": "autograder.lab"}]


def _load_jupyter_server_extension(serverapp) -> None:
    base = serverapp.web_app.settings["base_url"]
    serverapp.web_app.add_handlers(".*$", [
        (url_path_join(base, "assignments/validate"), ValidateHandler, {"root_dir": serverapp.root_dir}),
        (url_path_join(base, "nbgrader_version"), NbGraderVersionHandler),
    ])
