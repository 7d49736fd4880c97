# grade_id: l2_pool
# loses: l2_pool_hidden
def l2_pool_forward(x, *, size=2, stride=2):
    """L2-norm pooling (correct)."""
    N, C, H, W = x.shape
    ph, pw = window_shape(size)
    Ho, Wo = pool_output_size(H, ph, stride), pool_output_size(W, pw, stride)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = np.sqrt((win ** 2).sum(axis=(2, 3)))
    return out, (x, out, (ph, pw), stride)


def l2_pool_backward(dout, cache):
    """Bug: assigns each window's gradient, so overlapping windows overwrite each other."""
    x, out, (ph, pw), s = cache
    _, _, Ho, Wo = dout.shape
    dx = np.zeros(x.shape, dtype=dout.dtype)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * s:i * s + ph, j * s:j * s + pw]
            dx[:, :, i * s:i * s + ph, j * s:j * s + pw] = win * (dout[:, :, i, j] / out[:, :, i, j])[:, :, None, None]
    return dx
