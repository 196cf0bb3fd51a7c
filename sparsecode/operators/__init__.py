"""operators family (being built)."""

__all__ = []
