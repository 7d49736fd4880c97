# grade_id: conv_forward_im2col
# loses: conv_forward_im2col_hidden
def conv_forward_im2col(x, w, b, *, stride=1, pad=0):
    """Bug: reshapes (K, N*Ho*Wo) straight to (N, K, Ho, Wo), mixing images and filters when N > 1."""
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    Ho = conv_output_size(H, FH, stride, pad)
    Wo = conv_output_size(W, FW, stride, pad)
    X_col = im2col(x, FH, FW, stride=stride, pad=pad)
    out = (w.reshape(K, -1) @ X_col + b[:, None]).reshape(N, K, Ho, Wo)
    return out, (x.shape, w, stride, pad, X_col)
