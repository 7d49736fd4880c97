# grade_id: conv_forward_naive
# loses: conv_dilation_hidden
def conv_forward_naive(x, w, b, *, stride=1, pad=0, dilation=1):
    """Uses the dilated output size but reads contiguous windows."""
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
                    window = x_pad[n, :, i * stride:i * stride + FH, j * stride:j * stride + FW]
                    out[n, k, i, j] = np.sum(window * w[k]) + b[k]
    return out, (x, w, b, stride, pad, dilation)
