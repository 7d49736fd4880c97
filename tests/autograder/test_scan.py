"""The trusted static scan flags reaching a withheld function, never prose that mentions it."""

from autograder.scan import scan_withheld

WITHHELD = ["convlab.layers.im2col"]


def _flags(source):
    return bool(scan_withheld([("cell", source)], WITHHELD))


def test_reaching_the_library_function_is_flagged():
    assert _flags("from convlab.layers import im2col\n")
    assert _flags("import convlab.layers as L\ncols = L.im2col(x, 3, 3)\n")
    assert _flags("import convlab.layers as L\nf = getattr(L, 'im2col')\n")
    assert _flags("import importlib\nf = importlib.import_module('convlab.layers').__dict__['convlab.layers.im2col']\n")


def test_own_function_and_prose_are_not_flagged():
    own = '''
def im2col(x, FH, FW, *, stride=1, pad=0):
    """My im2col: stretch each receptive field into a column (like convlab.layers.im2col does)."""
    print("im2col ok")
    return x
cols = im2col(x, 3, 3)
'''
    assert not _flags(own)


# --- copies of the library's implementation (flagged for the instructor) --------------------------

import ast  # noqa: E402
import inspect  # noqa: E402
import re  # noqa: E402

import nbformat  # noqa: E402
import pytest  # noqa: E402

from autograder.course import Course  # noqa: E402
from autograder.checks import load_checks, withheld_names  # noqa: E402
from autograder.grading_build import library_sources  # noqa: E402
from autograder.scan import COPY_THRESHOLD, scan_copied, student_sources  # noqa: E402

REPO = __import__("pathlib").Path(__file__).resolve().parents[2]
AIDS = [aid for aid in Course(REPO).assignment_ids() if Course(REPO).checks_file(aid).is_file()]


def _renamed(source: str, names: dict[str, str]) -> str:
    for old, new in names.items():
        source = re.sub(rf"\b{old}\b", new, source)
    return source


def test_a_renamed_copy_of_the_library_is_flagged():
    import convlab.layers.conv_naive as naive

    refs = library_sources(["convlab.layers.conv_backward_naive", "convlab.layers.conv_forward_naive"])
    copy = _renamed(inspect.getsource(naive.conv_backward_naive),
                    {"conv_backward_naive": "my_backward", "dout": "g", "cache": "saved", "dx": "grad_in"})
    copy = copy.replace('"""', '"""My own work. ', 1)
    (finding,) = scan_copied([("answer", copy)], refs)
    assert finding.cell == "answer" and "convlab.layers.conv_backward_naive" in finding.what
    assert int(re.search(r"\((\d+)% alike", finding.what).group(1)) >= 95


def test_a_lightly_edited_copy_is_still_flagged_and_unrelated_code_is_not():
    import convlab.layers.conv_naive as naive

    refs = library_sources(["convlab.layers.conv_forward_naive"])
    lines = inspect.getsource(naive.conv_forward_naive).splitlines()
    edited = "\n".join(line for i, line in enumerate(lines) if i != len(lines) - 2) + "\n"  # one line dropped
    assert scan_copied([("c", edited)], refs)
    other = inspect.getsource(__import__("convlab.layers.pool", fromlist=["x"]).max_pool_backward)
    assert scan_copied([("c", other)], refs) == []
    assert scan_copied([("c", "def tiny(x):\n    return x + 1\n")], refs) == []


@pytest.mark.parametrize("aid", AIDS)
def test_the_honest_solutions_are_not_flagged_as_copies(aid):
    nb = nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
    names = withheld_names(load_checks(REPO / "solutions" / aid / "checks.py"))
    sources = [(cell, re.sub(r"^\s*### (BEGIN|END) SOLUTION\s*$", "", src, flags=re.M))
               for cell, src in student_sources(nb)]
    assert scan_copied(sources, library_sources(names), threshold=COPY_THRESHOLD) == []


def _copied_by_every_pair(sources, references, threshold):
    """The copy scan by definition: the full similarity ratio of every student function with every
    reference (what :func:`similarity` computes, on tokens computed once)."""
    from difflib import SequenceMatcher

    from autograder.scan import _MIN_TOKENS, _parse, _tokens

    library = {d: _tokens(_parse(t).body[0]) for d, t in references.items()}
    found = []
    for cell, source in sources:
        for node in (n for n in _parse(source).body if isinstance(n, ast.FunctionDef)):
            tokens = _tokens(node)
            if len(tokens) >= _MIN_TOKENS:
                best, dotted = max((SequenceMatcher(None, tokens, ref, autojunk=False).ratio(), d)
                                   for d, ref in library.items())
                if best >= threshold:
                    found.append((cell, node.lineno, dotted, f"{best:.0%}"))
    return found


def _as_tuples(findings):
    return [(f.cell, f.line, re.search(r"library's (\S+)", f.what).group(1),
             re.search(r"\((\d+%) alike", f.what).group(1)) for f in findings]


@pytest.mark.parametrize("threshold", [0.5, COPY_THRESHOLD])
def test_the_pruned_copy_scan_finds_what_comparing_every_pair_finds(threshold):
    """``scan_copied`` skips pairs by an upper bound of their similarity: at any threshold, the findings
    (cell, line, library function, percentage) are those of comparing every pair in full, on the
    solutions of every assignment and on functions copied from the library."""
    import convlab.layers.conv_naive as naive

    sources = [("copy", inspect.getsource(naive.conv_backward_naive))]
    for aid in AIDS:
        nb = nbformat.read(REPO / "solutions" / aid / f"{aid}.ipynb", as_version=4)
        sources += [(f"{aid}:{cell}", re.sub(r"^\s*(%|!).*$", "", src, flags=re.M)) for cell, src in student_sources(nb)]
    names = sorted({n for aid in AIDS for n in withheld_names(load_checks(REPO / "solutions" / aid / "checks.py"))})
    references = library_sources(names)
    expected = _copied_by_every_pair(sources, references, threshold)
    assert expected, "the comparison needs at least one finding to mean something"
    assert _as_tuples(scan_copied(sources, references, threshold=threshold)) == expected
