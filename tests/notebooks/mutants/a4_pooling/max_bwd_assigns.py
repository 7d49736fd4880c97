# grade_id: max_pool_backward
# loses: max_pool_backward_hidden
def max_pool_backward(dout, cache):
    """Routes through the switches but assigns instead of adding: overlapping windows lose gradient."""
    N, C, H, W = cache.x_shape
    ph, pw = cache.window
    s = cache.stride
    _, _, Ho, Wo = dout.shape
    dx = np.zeros(cache.x_shape, dtype=dout.dtype)
    n_idx, c_idx = np.meshgrid(np.arange(N), np.arange(C), indexing="ij")
    for i in range(Ho):
        for j in range(Wo):
            r, q = np.divmod(cache.switches[:, :, i, j], pw)
            dx[n_idx, c_idx, i * s + r, j * s + q] = dout[:, :, i, j]
    return dx
