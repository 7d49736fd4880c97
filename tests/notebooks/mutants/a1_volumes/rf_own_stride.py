# grade_id: stacked_receptive_field
# loses: receptive_field_hidden
def stacked_receptive_field(kernels, strides):
    """Multiplies in a layer's own stride before adding its filter (one layer too early)."""
    r, jump = 1, 1
    for kernel, stride in zip(kernels, strides):
        jump *= stride
        r += (kernel - 1) * jump
    return r
