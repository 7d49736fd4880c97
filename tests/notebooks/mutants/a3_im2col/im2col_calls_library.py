# grade_id: im2col
# loses: im2col_hidden
import convlab.layers


def im2col(x, FH, FW, *, stride=1, pad=0):
    """Hands the work to the library's im2col (withheld for this exercise): no credit."""
    return convlab.layers.im2col(x, FH, FW, stride=stride, pad=pad)
