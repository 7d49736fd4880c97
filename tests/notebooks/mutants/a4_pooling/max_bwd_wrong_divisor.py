# grade_id: max_pool_backward
# loses: max_pool_backward_hidden, discarded_fraction_hidden
def max_pool_backward(dout, cache):
    """Decodes the switch with the window height instead of its width (fine on square windows)."""
    N, C, H, W = cache.x_shape
    ph, pw = cache.window
    s = cache.stride
    _, _, Ho, Wo = dout.shape
    dx = np.zeros(cache.x_shape, dtype=dout.dtype)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(Ho):
        for j in range(Wo):
            r, q = np.divmod(cache.switches[:, :, i, j], ph)
            r, q = np.minimum(r, ph - 1), np.minimum(q, pw - 1)  # keep the indices inside the window
            dx[n_idx, c_idx, i * s + r, j * s + q] += dout[:, :, i, j]
    return dx
