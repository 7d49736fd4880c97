# grade_id: discarded_fraction
# loses: discarded_fraction_hidden
def discarded_fraction(x, *, size=2, stride=2):
    """Bug: the share discarded inside one window, ignoring overlaps (right only when F == S)."""
    ph, pw = window_shape(size)
    return 1.0 - 1.0 / (ph * pw)
