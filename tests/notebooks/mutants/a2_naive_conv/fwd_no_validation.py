# grade_id: conv_forward_naive
# loses: conv_forward_hidden
def conv_forward_naive(x, w, b, *, stride=1, pad=0, dilation=1):
    """Floor division instead of conv_output_size: settings that do not tile are silently cropped."""
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    H_out = (H - (FH + (FH - 1) * (dilation - 1)) + 2 * pad) // stride + 1
    W_out = (W - (FW + (FW - 1) * (dilation - 1)) + 2 * pad) // stride + 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, K, max(H_out, 0), max(W_out, 0)))
    for n in range(N):
        for k in range(K):
            for i in range(out.shape[2]):
                for j in range(out.shape[3]):
                    rows = slice(i * stride, i * stride + dilation * (FH - 1) + 1, dilation)
                    cols = slice(j * stride, j * stride + dilation * (FW - 1) + 1, dilation)
                    out[n, k, i, j] = np.sum(x_pad[n, :, rows, cols] * w[k]) + b[k]
    return out, (x, w, b, stride, pad, dilation)
