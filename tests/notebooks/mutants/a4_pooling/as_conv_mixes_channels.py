# grade_id: avg_pool_as_conv
# loses: avg_pool_as_conv_hidden
def avg_pool_as_conv(C, size):
    """Bug: every filter averages over all channels too, mixing the depth slices."""
    ph, pw = window_shape(size)
    return np.full((C, C, ph, pw), 1.0 / (C * ph * pw)), np.zeros(C)
