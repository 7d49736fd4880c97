# grade_id: max_pool_forward
# loses: max_pool_forward_hidden, max_pool_backward_hidden, discarded_fraction_hidden
import convlab.layers


def max_pool_forward(x, *, size=2, stride=2):
    """Hands the work to the library's reference (withheld): no credit."""
    out, ref_cache = convlab.layers.max_pool_forward(x, size=size, stride=stride)
    ph, pw = window_shape(size)
    return out, MaxPoolCache(x.shape, (ph, pw), stride, ref_cache.switches)
