# grade_id: conv_param_counts
# loses: conv_param_counts_hidden
def conv_param_counts(input_shape, num_filters, kernel, stride=1, pad=0):
    """Counts the weights but forgets the biases."""
    (FH, FW, D), (H2, W2, K) = conv_layer_shapes(input_shape, num_filters, kernel, stride=stride, pad=pad)
    return FH * FW * D * K, H2 * W2 * K * FH * FW * D
