# grade_id: im2col
# loses: im2col_hidden, conv_forward_im2col_hidden, conv_backward_im2col_hidden
def im2col(x, FH, FW, *, stride=1, pad=0):
    """Bug: rows ordered (filter row, filter column, channel), not the (channel, row, column) of w.reshape(K, -1)."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((FH, FW, C, N, Ho, Wo), dtype=x.dtype)
    for p in range(FH):
        for q in range(FW):
            cols[p, q] = x_pad[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride].transpose(1, 0, 2, 3)
    return cols.reshape(C * FH * FW, N * Ho * Wo)
