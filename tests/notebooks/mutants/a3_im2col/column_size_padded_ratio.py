# grade_id: column_matrix_size
# loses: column_matrix_size_hidden
def column_matrix_size(x_shape, FH, FW, *, stride=1, pad=0):
    """Bug: compares with the size of the padded input instead of the input itself."""
    N, C, H, W = x_shape
    rows = C * FH * FW
    columns = N * conv_output_size(H, FH, stride, pad) * conv_output_size(W, FW, stride, pad)
    return rows, columns, rows * columns / (N * C * (H + 2 * pad) * (W + 2 * pad))
