# grade_id: conv_backward_im2col
# loses: conv_backward_im2col_hidden
def conv_backward_im2col(dout, cache):
    """Bug: the backward pass scatters the column gradients back at stride 1, whatever the stride."""
    x_shape, w, stride, pad, X_col = cache
    K, C, FH, FW = w.shape
    db = dout.sum(axis=(0, 2, 3))
    dout_row = dout.transpose(1, 0, 2, 3).reshape(K, -1)
    dw = (dout_row @ X_col.T).reshape(w.shape)
    dX_col = w.reshape(K, -1).T @ dout_row
    Ho, Wo = dout.shape[2:]
    N, C_, H, W = x_shape
    dx_cols = dX_col.reshape(C, FH, FW, N, Ho, Wo)
    x_pad = np.zeros((N, C, H + 2 * pad, W + 2 * pad))
    for p in range(FH):
        for q in range(FW):
            x_pad[:, :, p:p + Ho, q:q + Wo] += dx_cols[:, p, q].transpose(1, 0, 2, 3)
    dx = x_pad[:, :, pad:pad + H, pad:pad + W]
    return dx, dw, db
