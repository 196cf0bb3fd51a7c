"""thresholding family (being built)."""

__all__ = []
