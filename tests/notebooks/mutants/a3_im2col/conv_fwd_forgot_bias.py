# grade_id: conv_forward_im2col
# loses: conv_forward_im2col_hidden
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    """Bug: the bias is never added."""
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    X_col = im2col(x, FH, FW, stride=stride, pad=pad)
    out = (w.reshape(K, -1) @ X_col).reshape(K, N, Ho, Wo).transpose(1, 0, 2, 3)
    return out, (x.shape, w, stride, pad, X_col)
