# grade_id: padding_for_mode
# loses: padding_for_mode_hidden
def padding_for_mode(mode, kernel):
    """Floors (F - 1) / 2 for even filters instead of refusing them; unknown modes fall back to valid."""
    if mode == "same":
        return (kernel - 1) // 2
    if mode == "full":
        return kernel - 1
    return 0
