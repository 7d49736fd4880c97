# grade_id: conv_output_size
# loses: conv_output_size_hidden, conv_layer_shapes_hidden, conv_param_counts_hidden
def conv_output_size(size, kernel, stride=1, pad=0):
    """Forgets the + 1 (counts the steps between windows instead of the windows)."""
    span = size - kernel + 2 * pad
    if span < 0 or span % stride:
        raise ValueError("invalid convolution settings")
    return span // stride
