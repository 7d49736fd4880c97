# grade_id: activation_map
# loses: activation_map_hidden
def activation_map(X, W, b, stride):
    """Output width computed from the input height (a copy-paste slip, invisible on square inputs)."""
    FH, FW, _ = W.shape
    H2 = (X.shape[0] - FH) // stride + 1
    W2 = (X.shape[0] - FW) // stride + 1
    V = np.zeros((H2, W2))
    for i in range(H2):
        for j in range(W2):
            V[i, j] = np.sum(X[i * stride:i * stride + FH, j * stride:j * stride + FW, :] * W) + b
    return V
