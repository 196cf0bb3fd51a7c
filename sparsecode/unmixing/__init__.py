"""unmixing family (being built)."""

__all__ = []
