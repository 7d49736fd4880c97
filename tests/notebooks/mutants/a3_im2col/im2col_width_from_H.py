# grade_id: im2col
# loses: im2col_hidden, conv_forward_im2col_hidden, conv_backward_im2col_hidden, max_pool_im2col_hidden
def im2col(x, FH, FW, *, stride=1, pad=0):
    """Copy-paste bug: the output width is computed from H (invisible on square inputs)."""
    N, C, H, W = x.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(H, FW, stride, pad)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((C, FH, FW, N, Ho, Wo), dtype=x.dtype)
    for p in range(FH):
        for q in range(FW):
            taps = x_pad[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride]
            if taps.shape[3] != Wo:  # pad the short side so the copy "works"
                taps = np.pad(taps, ((0, 0), (0, 0), (0, 0), (0, Wo - taps.shape[3])))
            cols[:, p, q] = taps.transpose(1, 0, 2, 3)
    return cols.reshape(C * FH * FW, N * Ho * Wo)
