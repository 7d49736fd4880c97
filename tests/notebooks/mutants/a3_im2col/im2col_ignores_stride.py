# grade_id: im2col
# loses: im2col_hidden, conv_forward_im2col_hidden, conv_backward_im2col_hidden, max_pool_im2col_hidden
def im2col(x, FH, FW, *, stride=1, pad=0):
    """Bug: the output size uses the stride but the windows are taken at stride 1."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, FH, FW, N, Ho, Wo), dtype=x.dtype)
    for p in range(FH):
        for q in range(FW):
            taps = x_pad[:, :, p:p + Ho, q:q + Wo]
            cols[:, p, q] = taps.transpose(1, 0, 2, 3)
    return cols.reshape(C * FH * FW, N * Ho * Wo)
