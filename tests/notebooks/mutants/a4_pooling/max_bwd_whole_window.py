# grade_id: max_pool_backward
# loses: max_pool_backward_hidden, discarded_fraction_hidden
def max_pool_backward(dout, cache):
    """Ignores the switches: every pixel of the window gets the window's gradient (assigned, not added)."""
    N, C, H, W = cache.x_shape
    ph, pw = cache.window
    s = cache.stride
    _, _, Ho, Wo = dout.shape
    dx = np.zeros(cache.x_shape, dtype=dout.dtype)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] = dout[:, :, i, j, None, None]
    return dx
