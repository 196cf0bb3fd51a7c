"""Sparse Bayesian learning: EM-SBL, GGAMP-SBL, M-SBL, T-MSBL, GGAMP-TSBL, Kronecker SBL.

Importing this package registers the "sbl" and "ggamp_sbl" encoders of
:func:`sparsecode.sparse_encode`.
"""

from . import _encoders  # noqa: F401  (registers the encoders)
from ._gamp import GGAMPSBL, auto_damping, ggamp_sbl
from ._kron import KroneckerSBL
from ._sbl import MSBL, SBL, TSBL, sbl
from ._tsbl_gamp import GGAMPTSBL

__all__ = ["SBL", "GGAMPSBL", "MSBL", "TSBL", "GGAMPTSBL", "KroneckerSBL", "sbl", "ggamp_sbl",
           "auto_damping"]
