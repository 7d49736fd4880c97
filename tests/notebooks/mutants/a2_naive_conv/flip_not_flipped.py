# grade_id: conv_backward_x_via_conv
# loses: flipped_filters_hidden
def conv_backward_x_via_conv(dout, w, pad):
    """Swaps the filter axes but forgets to flip the filters in space."""
    K, C, FH, FW = w.shape
    ph, pw = FH - 1 - pad, FW - 1 - pad
    dout_pad = np.pad(dout, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    return conv_forward_naive(dout_pad, w.transpose(1, 0, 2, 3), np.zeros(C))[0]
