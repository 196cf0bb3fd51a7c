"""Hyperspectral unmixing: NMF cores (MU, HALS), VCA, FCLS, robust and sparse NMF variants.

Data layout follows scikit-learn's NMF: ``Y`` (n_pixels, n_bands) or a cube
(rows, cols, n_bands), ``components_`` = endmembers (n_endmembers, n_bands),
``fit_transform`` returns the abundances.
"""

from ._cenmf import CorrentropyNMF
from ._fcls import fcls
from ._graph import pixel_graph
from ._l12nmf import L12NMF, sparseness_lambda
from ._nmf import NMFUnmixing, nndsvd
from ._plotting import plot_abundance_maps, plot_endmembers
from ._rgnmf import RobustGuidedNMF
from ._ssnmf import StructuredSparseNMF
from ._vca import vca

__all__ = [
    "L12NMF",
    "CorrentropyNMF",
    "NMFUnmixing",
    "RobustGuidedNMF",
    "StructuredSparseNMF",
    "fcls",
    "nndsvd",
    "pixel_graph",
    "plot_abundance_maps",
    "plot_endmembers",
    "sparseness_lambda",
    "vca",
]
