"""Sparse multivariate methods: truncated power sparse PCA, sparse CCA, OMP feature selection."""

from ._scca import SparseCCA, l1_constrained_direction
from ._selector import OMPSelector
from ._tpower import TruncatedPowerPCA, truncated_power_method

__all__ = [
    "OMPSelector",
    "SparseCCA",
    "TruncatedPowerPCA",
    "l1_constrained_direction",
    "truncated_power_method",
]
