# grade_id: conv1x1_matmul
# loses: conv1x1_hidden
def conv1x1_matmul(x, w, b):
    """Reshapes NCHW straight to (pixels, C) without moving the channels last: mixes pixels and channels."""
    N, C, H, W = x.shape
    K = w.shape[0]
    pixels = x.reshape(N * H * W, C)  # wrong: rows are not depth columns
    out = pixels @ w.reshape(K, C).T + b  # (N*H*W, K)
    return out.reshape(N, K, H, W)
