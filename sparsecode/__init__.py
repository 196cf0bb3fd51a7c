"""sparsecode: classical sparse coding and sparse recovery.

Every public estimator and function of the subpackages is importable from
the top level (``from sparsecode import OrthogonalMatchingPursuit``).  The
subpackages are imported lazily on first access (PEP 562), so
``import sparsecode`` costs almost nothing and compiles nothing.
"""

import importlib

__version__ = "0.1.0.dev0"

# Subpackages whose ``__all__`` is re-exported at the top level.  A family
# registers its public names in its own ``__init__.py``; nothing here needs
# to change when a family grows.
_SUBPACKAGES = (
    "greedy",
    "convex",
    "thresholding",
    "bayes",
    "unmixing",
    "dictionary",
    "amortized",
    "decomposition",
    "operators",
    "datasets",
    "metrics",
)
_MODULE_ONLY = ("datasets", "metrics", "operators", "plotting", "cli")

# Public names per subpackage.  A static table (checked against each
# subpackage's ``__all__`` by tests/test_import.py) so that resolving
# ``sparsecode.X`` imports only the subpackage that defines X.
_PUBLIC = {
    "greedy": (
        "MatchingPursuit",
        "OrthogonalMatchingPursuit",
        "OrthogonalMatchingPursuitCV",
        "batch_omp",
        "matching_pursuit",
        "omp",
    ),
    "convex": (
        "AbsoluteDeviation",
        "AndersonCD",
        "CEL0",
        "ConcomitantCD",
        "ElasticNet",
        "ElasticNetPenalty",
        "GroupLasso",
        "Huber",
        "L0",
        "L1",
        "L21",
        "LADLasso",
        "LADLassoCV",
        "Lasso",
        "LassoCV",
        "Logistic",
        "LossOMP",
        "Lq",
        "MCP",
        "MultiTaskLasso",
        "PDHG",
        "PenalizedRegression",
        "Quadratic",
        "SCAD",
        "SPIRALTAP",
        "SqrtLasso",
        "SqrtLassoCV",
        "SqrtQuadratic",
        "WeightedL1",
        "WeightedLasso",
        "WeightedLassoCV",
        "WorkingSetLP",
        "alpha_max",
        "fista",
        "lad_lasso_path",
        "lasso_lars_gram",
        "lasso_path",
        "loss_omp",
        "pdhg",
        "penalized_path",
        "solve_operator",
        "spiral_tap",
        "sqrt_lasso_path",
        "tv1d_prox",
        "tv2d_prox",
        "tv_norm",
        "weighted_lasso_path",
    ),
    "thresholding": (
        "AdaptiveNSTHTFB",
        "CoSaMP",
        "HTP",
        "IHT",
        "NIHT",
        "NSTHTFB",
        "SubspacePursuit",
        "adaptive_nst_ht_fb",
        "cosamp",
        "htp",
        "iht",
        "niht",
        "nst_ht_fb",
        "subspace_pursuit",
    ),
    "bayes": (
        "GGAMPSBL",
        "GGAMPTSBL",
        "KroneckerSBL",
        "MSBL",
        "SBL",
        "TSBL",
        "auto_damping",
        "ggamp_sbl",
        "sbl",
    ),
    "unmixing": (
        "CorrentropyNMF",
        "L12NMF",
        "LibraryUnmixing",
        "NMFUnmixing",
        "RobustGuidedNMF",
        "StructuredSparseNMF",
        "atgp",
        "clsunsal",
        "estimate_n_endmembers",
        "estimate_noise",
        "fcls",
        "hfc_vd",
        "hysime",
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
    ),
    "dictionary": (
        "FastTransformDictionary",
        "KSVD",
        "MOD",
        "MaskedDictionaryLearning",
        "OnlineDictionaryLearning",
        "SparseCoder",
        "available_encoders",
        "complex_encoders",
        "hierarchical_factorization",
        "image_patches",
        "overcomplete_dct",
        "palm4msa",
        "patches_to_image",
        "plot_dictionary",
        "sparse_encode",
    ),
    "amortized": (
        "Adam",
        "KSparseAutoencoder",
        "MatchingPursuitAutoencoder",
        "PredictiveSparseDecomposition",
        "SGD",
        "TrainingDivergedError",
        "constant",
        "cosine",
        "geometric_median",
        "linear_decay",
        "make_optimizer",
        "topk_encode",
        "warmup",
    ),
    "decomposition": (
        "OMPSelector",
        "SparseCCA",
        "TruncatedPowerPCA",
        "l1_constrained_direction",
        "truncated_power_method",
    ),
    "operators": (
        "KroneckerOperator",
        "PartialDCT",
        "PartialFFT",
        "as_operator",
        "operator_norm",
    ),
    "datasets": (
        "hyperspectral_data_home",
        "load_hyperspectral",
        "load_hyperspectral_file",
        "make_compressed_sensing",
        "make_hierarchical_features",
        "make_hyperspectral_mixture",
        "make_planted_features",
        "make_sparse_coded_signal",
    ),
    "metrics": (
        "aad",
        "abundance_rmse",
        "armse",
        "dead_fraction",
        "l0_norm",
        "match_components",
        "mean_max_cosine",
        "mutual_coherence",
        "nmse",
        "normalized_mse",
        "psnr",
        "relative_error",
        "sad_per_endmember",
        "sid",
        "spectral_angle_distance",
        "sre",
        "support_recovery",
    ),
}

_name_to_module = {name: sub for sub, names in _PUBLIC.items() for name in names}


def _index():
    return _name_to_module


def __getattr__(name):
    if name == "__all__":
        return sorted(_index()) + list(_SUBPACKAGES)
    if name in _SUBPACKAGES or name in _MODULE_ONLY:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    sub = _index().get(name)
    if sub is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{sub}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__getattr__("__all__")))
