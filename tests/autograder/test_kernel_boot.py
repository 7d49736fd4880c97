"""The kernel's own output cap: parsed from the environment, cuts a flood, gives the stream back."""

import nbformat
import pytest

from autograder.execution import SandboxExecute, kernel_env
from autograder.kernel.boot import parse_output_cap
from autograder.kernel.protocol import OUTPUT_CAP_ENV
from autograder.sandbox import Limits


@pytest.mark.parametrize("text, expected", [
    ("2000:200000", (2050, 205000)),
    ("10:100", (60, 5100)),
    (None, None), ("", None), ("12", None), ("a:b", None), ("0:100", None), ("5:-1", None),
])
def test_parse_output_cap(text, expected):
    assert parse_output_cap(text) == expected


def test_kernel_env_carries_the_cap():
    env = kernel_env("/somewhere", Limits(output_lines=30, output_bytes=4000))
    assert env[OUTPUT_CAP_ENV] == "30:4000"
    assert OUTPUT_CAP_ENV not in kernel_env(None)


@pytest.mark.slow
def test_flood_is_cut_and_the_next_cell_prints_again(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import sys\nfor i in range(300_000):\n    print(i)\nprint('done', file=sys.stderr)"),
        nbformat.v4.new_code_cell("print('next cell:', type(sys.stdout).__name__, type(sys.stderr).__name__)"),
    ]
    limits = Limits(output_lines=100, output_bytes=100_000, cell_timeout=60)
    resources = {"metadata": {"path": str(tmp_path)}, "convlab": {}}
    SandboxExecute(unsafe_no_sandbox=True, timeout=60, limits=limits.as_dict()).preprocess(nb, resources)
    flood = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    head, note = flood.split("\n[output truncated by the grader: more than 100 lines in this cell]\n")
    assert head == "".join(f"{i}\n" for i in range(100)), "the first 100 lines are kept, in order"
    assert note == ""
    assert any("truncated" in e for e in resources["convlab"]["events"])
    assert nb.cells[1].outputs[0]["text"] == "next cell: CappedOutStream CappedOutStream\n"
