# grade_id: conv_backward_naive
# loses: conv_backward_hidden, conv_dilation_hidden
def conv_backward_naive(dout, cache):
    """Forgets the bias gradient (returns zeros for db)."""
    x, w, b, stride, pad, dilation = cache
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.zeros_like(b)
    for n in range(N):
        for k in range(K):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + dilation * (FH - 1) + 1, dilation)
                    cols = slice(j * stride, j * stride + dilation * (FW - 1) + 1, dilation)
                    dw[k] += dout[n, k, i, j] * x_pad[n, :, rows, cols]
                    dx_pad[n, :, rows, cols] += dout[n, k, i, j] * w[k]
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db
