# grade_id: effective_kernel_size
# loses: effective_kernel_size_hidden
def effective_kernel_size(kernel, dilation=1):
    """Multiplies instead of counting the gaps: F * r."""
    return kernel * dilation
