"""Unmixing metrics: spectral angle distance, abundance RMSE, component matching (to be filled by the unmixing family)."""

__all__ = []
