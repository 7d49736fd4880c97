# grade_id: conv_layer_shapes
# loses: conv_layer_shapes_hidden, conv_param_counts_hidden
def conv_layer_shapes(input_shape, num_filters, kernel, stride=1, pad=0):
    """The classic confusion: filter depth = number of filters, output depth = input depth."""
    H, W, D = input_shape
    FH, FW = (kernel, kernel) if isinstance(kernel, int) else kernel
    H2 = conv_output_size(H, FH, stride=stride, pad=pad)
    W2 = conv_output_size(W, FW, stride=stride, pad=pad)
    return (FH, FW, num_filters), (H2, W2, D)
