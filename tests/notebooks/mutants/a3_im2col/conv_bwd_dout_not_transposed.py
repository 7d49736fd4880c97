# grade_id: conv_backward_im2col
# loses: conv_backward_im2col_hidden
def conv_backward_im2col(dout, cache):
    """Bug: reshapes dout (N, K, Ho, Wo) to (K, N*Ho*Wo) without the transpose."""
    x_shape, w, stride, pad, X_col = cache
    K, C, FH, FW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_row = dout.reshape(K, -1)
    dw = (dout_row @ X_col.T).reshape(w.shape)
    dX_col = w.reshape(K, -1).T @ dout_row
    dx = col2im(dX_col, x_shape, FH, FW, stride=stride, pad=pad)
    return dx, dw, db
