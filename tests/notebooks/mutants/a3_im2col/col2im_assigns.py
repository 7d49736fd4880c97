# grade_id: col2im
# loses: col2im_hidden, conv_backward_im2col_hidden
def col2im(cols, x_shape, FH, FW, *, stride=1, pad=0):
    """Bug: assigns each offset's block instead of adding, so overlapping fields overwrite each other."""
    N, C, H, W = x_shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    cols6 = cols.reshape(C, FH, FW, N, Ho, Wo)
    x_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=cols.dtype)
    for p in range(FH):
        for q in range(FW):
            x_pad[:, :, p:p + stride * Ho:stride, q:q + stride * Wo:stride] = cols6[:, p, q].transpose(1, 0, 2, 3)
    return x_pad[:, :, pad:pad + H, pad:pad + W]
