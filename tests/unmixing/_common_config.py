from sparsecode import (
                        L12NMF,
                        CorrentropyNMF,
                        NMFUnmixing,
                        RobustGuidedNMF,
                        StructuredSparseNMF,
)

INSTANCES = [
    NMFUnmixing(n_components=2, max_iter=30, random_state=0),
    NMFUnmixing(n_components=2, solver="hals", init="nndsvd", max_iter=30, random_state=0),
    L12NMF(n_components=2, max_iter=30, random_state=0),
    CorrentropyNMF(n_components=2, max_iter=30, random_state=0),
    RobustGuidedNMF(n_components=2, max_iter=30, random_state=0),
    StructuredSparseNMF(n_components=2, max_iter=30, random_state=0),
]

_graph = (
    "StructuredSparseNMF's abundance problem has a graph term over the pixels passed: the "
    "abundances of a pixel depend on the other pixels of the batch (use "
    "transform_method='fcls' for a pixel-wise transform)"
)
EXPECTED_FAILED_CHECKS = {
    "StructuredSparseNMF": {
        "check_methods_subset_invariance": _graph,
    },
}

# LibraryUnmixing holds a FIXED spectral library (10 bands here): data with
# another number of bands is refused by design with a ValueError naming the
# library (issue 16), and scikit-learn's checks draw data with 1-5 features.
# Its behaviour on valid data is checked in tests/unmixing/test_sunsal.py.
import numpy as np  # noqa: E402

from sparsecode import LibraryUnmixing  # noqa: E402

INSTANCES += [LibraryUnmixing(np.random.default_rng(0).uniform(size=(3, 10)))]
_fixed_library = (
    "LibraryUnmixing holds a fixed spectral library of 10 bands; data with another number "
    "of bands is refused with a ValueError naming the library, and the checks draw data "
    "with 1-5 features"
)
EXPECTED_FAILED_CHECKS["LibraryUnmixing"] = {name: _fixed_library for name in (
    "check_complex_data",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimators_dtypes",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_n_iter",
    "check_transformer_preserve_dtypes",
)}
