# grade_id: max_pool_forward
# loses: max_pool_forward_hidden, max_pool_backward_hidden, discarded_fraction_hidden
def max_pool_forward(x, *, size=2, stride=2):
    """Max pooling; bug: window starts are stepped by the window size instead of the stride."""
    N, C, H, W = x.shape
    ph, pw = window_shape(size)
    Ho, Wo = pool_output_size(H, ph, stride), pool_output_size(W, pw, stride)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    switches = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * ph:i * ph + ph, j * pw:j * pw + pw]
            if win.shape[2:] != (ph, pw):  # ran off the input: pad with -inf so it still "works"
                full = np.full((N, C, ph, pw), -np.inf)
                full[:, :, :win.shape[2], :win.shape[3]] = win
                win = full
            win = win.reshape(N, C, ph * pw)
            k = win.argmax(axis=2)
            switches[:, :, i, j] = k
            out[:, :, i, j] = np.take_along_axis(win, k[:, :, None], axis=2)[:, :, 0]
    return out, MaxPoolCache(x.shape, (ph, pw), stride, switches)
