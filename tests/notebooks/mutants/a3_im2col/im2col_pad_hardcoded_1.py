# grade_id: im2col
# loses: im2col_hidden, conv_forward_im2col_hidden, conv_backward_im2col_hidden, max_pool_im2col_hidden
def im2col(x, FH, FW, *, stride=1, pad=0):
    """Bug: the padding is hard-coded to 1 (right for the common 3x3 'same' layer only)."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    cols = np.zeros((C, FH, FW, N, Ho, Wo), dtype=x.dtype)
    for p in range(FH):
        for q in range(FW):
            taps = x_pad[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
            cols[:, p, q, :, :taps.shape[2], :taps.shape[3]] = taps.transpose(1, 0, 2, 3)
    return cols.reshape(C * FH * FW, N * Ho * Wo)
