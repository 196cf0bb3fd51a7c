"""bayes family (being built)."""

__all__ = []
