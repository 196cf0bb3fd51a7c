"""Matrix-free linear operators for sparse recovery.

Partial orthonormal transforms (:class:`PartialDCT`, :class:`PartialFFT`)
with ``O(n log n)`` products, the :class:`KroneckerOperator` for separable
dictionaries, :func:`operator_norm` (spectral norm, exact for structured
operators) and :func:`as_operator`.  All are
:class:`scipy.sparse.linalg.LinearOperator` objects, accepted by every solver
that only needs products with ``A`` and ``A^H``.
"""

from ._kronecker import KroneckerOperator
from ._norm import as_operator, operator_norm
from ._transforms import PartialDCT, PartialFFT

__all__ = ["PartialDCT", "PartialFFT", "KroneckerOperator", "operator_norm", "as_operator"]
