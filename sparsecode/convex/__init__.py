"""convex family (being built)."""

__all__ = []
