"""Hyperspectral unmixing: NMF cores (MU, HALS), VCA, FCLS, robust and sparse NMF variants.

Data layout follows scikit-learn's NMF: ``Y`` (n_pixels, n_bands) or a cube
(rows, cols, n_bands), ``components_`` = endmembers (n_endmembers, n_bands),
``fit_transform`` returns the abundances.

The modules are imported lazily on first access (PEP 562), as the top-level
package does: ``import sparsecode.unmixing`` (and ``sparsecode --help``, which
loads the ``unmix`` subcommand) imports neither scikit-learn nor the compiled
kernels; ``from sparsecode.unmixing import X`` works as usual.
"""

import importlib

# public name -> defining module (the static table keeps attribute access from
# importing more than the module that defines the name)
_LAZY = {
    "CorrentropyNMF": "_cenmf",
    "L12NMF": "_l12nmf",
    "LibraryUnmixing": "_sunsal",
    "NMFUnmixing": "_nmf",
    "RobustGuidedNMF": "_rgnmf",
    "StructuredSparseNMF": "_ssnmf",
    "atgp": "_extraction",
    "clsunsal": "_sunsal",
    "fcls": "_fcls",
    "library_objective": "_sunsal",
    "estimate_n_endmembers": "_subspace",
    "estimate_noise": "_subspace",
    "hfc_vd": "_subspace",
    "hysime": "_subspace",
    "nfindr": "_extraction",
    "nmf_unmix": "_functions",
    "nndsvd": "_nmf",
    "pixel_graph": "_graph",
    "plot_abundance_maps": "_plotting",
    "plot_endmembers": "_plotting",
    "ppi": "_extraction",
    "sisal": "_extraction",
    "sparseness_lambda": "_l12nmf",
    "sunsal": "_sunsal",
    "sunsal_tv": "_sunsal",
    "vca": "_vca",
}

__all__ = [
    "estimate_n_endmembers",
    "estimate_noise",
    "hfc_vd",
    "hysime",
    "L12NMF",
    "CorrentropyNMF",
    "LibraryUnmixing",
    "NMFUnmixing",
    "RobustGuidedNMF",
    "StructuredSparseNMF",
    "atgp",
    "clsunsal",
    "fcls",
    "library_objective",
    "nfindr",
    "nmf_unmix",
    "nndsvd",
    "pixel_graph",
    "plot_abundance_maps",
    "plot_endmembers",
    "ppi",
    "sisal",
    "sparseness_lambda",
    "sunsal",
    "sunsal_tv",
    "vca",
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
