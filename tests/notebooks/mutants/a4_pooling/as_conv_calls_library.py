# grade_id: avg_pool_as_conv
# loses: avg_pool_as_conv_hidden, avg_pool_hidden
import convlab.layers


def avg_pool_as_conv(C, size):
    """Recovers the weights by probing the library's average pooling (withheld) with unit impulses."""
    ph, pw = window_shape(size)
    w = np.zeros((C, C, ph, pw))
    for c in range(C):
        for r in range(ph):
            for q in range(pw):
                probe = np.zeros((1, C, ph, pw))
                probe[0, c, r, q] = 1.0
                w[:, c, r, q] = convlab.layers.avg_pool_forward(probe, size=(ph, pw), stride=1)[0][0, :, 0, 0]
    return w, np.zeros(C)
