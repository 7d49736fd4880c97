# grade_id: max_pool_im2col
# loses: max_pool_im2col_hidden
def max_pool_im2col(x, *, size=2, stride=2):
    """Bug: stacks the slices channel-major, then reshapes as if they were image-major."""
    N, C, H, W = x.shape
    ph, pw = (size, size) if np.isscalar(size) else size
    Ho, Wo = pool_output_size(H, ph, stride), pool_output_size(W, pw, stride)
    cols = im2col(x.transpose(1, 0, 2, 3).reshape(N * C, 1, H, W), ph, pw, stride=stride)
    return cols.max(axis=0).reshape(N, C, Ho, Wo)
