# grade_id: max_pool_im2col
# loses: max_pool_im2col_hidden
import convlab.layers


def max_pool_im2col(x, *, size=2, stride=2):
    """Hands the work to the library's max pooling (withheld): no credit."""
    return convlab.layers.max_pool_forward(x, size=size, stride=stride)[0]
