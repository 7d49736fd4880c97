# grade_id: conv_forward_naive
# loses: conv_forward_hidden, conv_dilation_hidden
def conv_forward_naive(x, w, b, *, stride=1, pad=0, dilation=1):
    """Windows start at every output index: the stride only shrinks the output."""
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    H_out = conv_output_size(H, FH, stride, pad, dilation)
    W_out = conv_output_size(W, FW, stride, pad, dilation)
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, K, H_out, W_out))
    for n in range(N):
        for k in range(K):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i, i + dilation * (FH - 1) + 1, dilation)
                    cols = slice(j, j + dilation * (FW - 1) + 1, dilation)
                    out[n, k, i, j] = np.sum(x_pad[n, :, rows, cols] * w[k]) + b[k]
    return out, (x, w, b, stride, pad, dilation)
