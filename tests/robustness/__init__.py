"""Robustness suite: bad inputs, interrupted builds, changed inputs, numerical edge cases."""
