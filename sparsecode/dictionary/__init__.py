"""Dictionary learning and sparse coding over a dictionary."""

from ._coder import SparseCoder
from ._sparse_encode import available_encoders, sparse_encode

__all__ = ["SparseCoder", "available_encoders", "sparse_encode"]
