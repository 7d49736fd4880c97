# grade_id: activation_map
# loses: activation_map_hidden
def activation_map(X, W, b, stride):
    """Windows start at every output index instead of every stride-th input position."""
    FH, FW, _ = W.shape
    H2 = (X.shape[0] - FH) // stride + 1
    W2 = (X.shape[1] - FW) // stride + 1
    V = np.zeros((H2, W2))
    for i in range(H2):
        for j in range(W2):
            V[i, j] = np.sum(X[i:i + FH, j:j + FW, :] * W) + b
    return V
