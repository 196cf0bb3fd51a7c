"""Synthetic problem generators and loaders of shipped data.

:func:`make_sparse_coded_signal` (dictionary, codes and signals in
scikit-learn's layout) and :func:`make_compressed_sensing` (``y = A x + e``
for the matrix ensembles of the design specification, Section 0.3).
Hyperspectral loaders live in ``_hyperspectral`` (unmixing family).
"""

from . import _hyperspectral
from ._generators import make_compressed_sensing, make_sparse_coded_signal
from ._hyperspectral import *  # noqa: F401,F403
from ._planted import make_hierarchical_features, make_planted_features

__all__ = ["make_sparse_coded_signal", "make_compressed_sensing"]
__all__ += list(_hyperspectral.__all__)
__all__ += ["make_planted_features", "make_hierarchical_features"]
