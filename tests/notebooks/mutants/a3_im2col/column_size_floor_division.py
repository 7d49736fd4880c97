# grade_id: column_matrix_size
# loses: column_matrix_size_hidden
def column_matrix_size(x_shape, FH, FW, *, stride=1, pad=0):
    """Bug: its own output-size formula floors instead of rejecting settings that do not tile."""
    N, C, H, W = x_shape
    Ho, Wo = (H - FH + 2 * pad) // stride + 1, (W - FW + 2 * pad) // stride + 1
    rows, columns = C * FH * FW, N * Ho * Wo
    return rows, columns, rows * columns / (N * C * H * W)
