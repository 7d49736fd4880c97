# grade_id: max_pool_forward
# loses: max_pool_forward_hidden, max_pool_backward_hidden, discarded_fraction_hidden
def max_pool_forward(x, *, size=2, stride=2):
    """Max pooling; bug: output size (H - F) // S without the + 1 (and no validity check)."""
    N, C, H, W = x.shape
    ph, pw = window_shape(size)
    Ho, Wo = (H - ph) // stride, (W - pw) // stride
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    switches = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw].reshape(N, C, ph * pw)
            k = win.argmax(axis=2)
            switches[:, :, i, j] = k
            out[:, :, i, j] = np.take_along_axis(win, k[:, :, None], axis=2)[:, :, 0]
    return out, MaxPoolCache(x.shape, (ph, pw), stride, switches)
