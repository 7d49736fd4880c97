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
