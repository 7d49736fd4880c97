"""Tracebacks in feedback: grader frames dropped, host folders shortened, long tracebacks cut."""

from pathlib import Path

import nbformat
from hypothesis import given
from hypothesis import strategies as st

from autograder.sanitize import GRADER_FRAMES, SanitizeTracebacks, host_prefixes, sanitize_traceback

GRADER_DIR = str(Path(__import__("autograder").__file__).resolve().parent)
REPO = str(Path(GRADER_DIR).parent)
HEADER = ["\x1b[31m-----------\x1b[39m", "\x1b[31mValueError\x1b[39m     Traceback (most recent call last)"]
ERROR = "\x1b[31mValueError\x1b[39m: bad stride"


def frame(path: str, line: int = 3, func: str = "f") -> str:
    return f"\x1b[36mFile \x1b[39m\x1b[32m{path}:{line}\x1b[39m, in \x1b[36m{func}\x1b[39m()\n---> {line} x = 1\n"


STUDENT = "\x1b[36mCell \x1b[39m\x1b[32mIn[4]\x1b[39m, line 2\n----> 2 conv(x)\n"


def test_grader_frames_go_and_host_paths_are_shortened():
    tb = [*HEADER, STUDENT, frame(f"{REPO}/lib/convlab/layers/conv.py", 40, "conv_forward"),
          frame(f"{GRADER_DIR}/withhold.py", 65, "guard"), frame(f"{GRADER_DIR}/harness.py", 99, "_call"), ERROR]
    out = sanitize_traceback(tb, host_prefixes())
    text = "\n".join(out)
    assert out[:3] == [*HEADER, STUDENT] and out[-1] == ERROR
    assert "<library>/convlab/layers/conv.py:40" in text
    assert GRADER_DIR not in text and REPO not in text and "withhold.py" not in text
    assert out.count(GRADER_FRAMES) == 1, "consecutive grader frames collapse into one line"


def test_submission_and_course_folders_are_neutral(tmp_path):
    course, work = tmp_path / "course", tmp_path / "course" / "work" / "autograded" / "s" / "a"
    work.mkdir(parents=True)
    tb = [frame(f"{work}/helper.py"), frame(f"{course}/solutions/a/x.py")]
    out = sanitize_traceback(tb, sorted(host_prefixes(course) + [(str(work), "<submission>")], key=lambda kv: -len(kv[0])))
    assert "<submission>/helper.py" in out[0] and "<course>/solutions/a/x.py" in out[1]
    assert str(tmp_path) not in "".join(out)


def test_long_tracebacks_keep_the_last_frames():
    tb = [*HEADER] + [frame(f"/nowhere/m{i}.py", i, f"f{i}") for i in range(30)] + [ERROR]
    out = sanitize_traceback(tb, [], max_frames=5)
    assert out[-1] == ERROR and out[:2] == HEADER
    assert out[2] == "[25 earlier frames hidden]"
    kept = [e for e in out if e.startswith("\x1b[36mFile")]
    assert kept == tb[2 + 25:2 + 30]


@given(st.lists(st.sampled_from(["grader", "library", "student", "other"]), max_size=15))
def test_only_grader_frames_are_removed_and_order_is_kept(kinds):
    paths = {"grader": f"{GRADER_DIR}/harness.py", "library": f"{REPO}/lib/convlab/shapes.py",
             "other": "/opt/elsewhere/thing.py"}
    tb = [*HEADER] + [STUDENT if k == "student" else frame(paths[k], i) for i, k in enumerate(kinds)] + [ERROR]
    out = sanitize_traceback(tb, host_prefixes(), max_frames=100)
    assert GRADER_DIR not in "".join(out)
    kept = [e for e in out if e != GRADER_FRAMES]
    expected = [e.replace(f"{REPO}/lib/", "<library>/") for e in tb if GRADER_DIR not in e]
    assert kept == expected
    for a, b in zip(out, out[1:]):
        assert not (a == b == GRADER_FRAMES)


def test_preprocessor_cleans_error_outputs(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("conv(x)")
    cell.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue=f"see {tmp_path}/data.npy",
                                           traceback=[*HEADER, frame(f"{GRADER_DIR}/withhold.py"), ERROR]),
                    nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    nb.cells.append(cell)
    nb, _ = SanitizeTracebacks().preprocess(nb, {"metadata": {"path": str(tmp_path)}})
    error, stream = nb.cells[0].outputs
    assert error["traceback"] == [*HEADER, GRADER_FRAMES, ERROR]
    assert error["evalue"] == "see <submission>/data.npy"
    assert stream["text"] == "kept\n"
