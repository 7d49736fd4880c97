# grade_id: avg_pool
# loses: avg_pool_hidden
def avg_pool_forward(x, *, size=2, stride=2):
    """Bug: uses the window height for both sides (a hard-coded square window)."""
    N, C, H, W = x.shape
    ph, pw = window_shape(size)
    pw = ph
    Ho, Wo = pool_output_size(H, ph, stride), pool_output_size(W, pw, stride)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].mean(axis=(2, 3))
    return out, (x.shape, (ph, pw), stride)


def avg_pool_backward(dout, cache):
    """Same square-window bug in the backward pass."""
    x_shape, (ph, pw), s = cache
    _, _, Ho, Wo = dout.shape
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for i in range(Ho):
        for j in range(Wo):
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] += dout[:, :, i, j, None, None] / (ph * pw)
    return dx
