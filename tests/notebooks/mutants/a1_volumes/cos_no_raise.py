# grade_id: conv_output_size
# loses: conv_output_size_hidden, conv_layer_shapes_hidden
def conv_output_size(size, kernel, stride=1, pad=0):
    """Floor division without checking: silently crops settings that do not tile."""
    return (size - kernel + 2 * pad) // stride + 1
