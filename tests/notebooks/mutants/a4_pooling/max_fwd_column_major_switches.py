# grade_id: max_pool_forward
# loses: max_pool_backward_hidden, discarded_fraction_hidden
def max_pool_forward(x, *, size=2, stride=2):
    """Max pooling; the outputs are right but the switches are flattened column-major
    (transposed window), so the backward pass decodes them to the wrong pixel."""
    N, C, H, W = x.shape
    ph, pw = window_shape(size)
    Ho, Wo = pool_output_size(H, ph, stride), pool_output_size(W, pw, stride)
    out = np.empty((N, C, Ho, Wo), dtype=x.dtype)
    switches = np.empty((N, C, Ho, Wo), dtype=np.intp)
    for i in range(Ho):
        for j in range(Wo):
            win = x[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            win = win.transpose(0, 1, 3, 2).reshape(N, C, ph * pw)
            k = win.argmax(axis=2)
            switches[:, :, i, j] = k
            out[:, :, i, j] = np.take_along_axis(win, k[:, :, None], axis=2)[:, :, 0]
    return out, MaxPoolCache(x.shape, (ph, pw), stride, switches)
