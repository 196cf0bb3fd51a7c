"""Hyperspectral unmixing data: loaders and synthetic mixtures (to be filled by the unmixing family)."""

__all__ = []
