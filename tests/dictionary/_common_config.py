import numpy as np

from sparsecode import (
    KSVD,
    MOD,
    FastTransformDictionary,
    MaskedDictionaryLearning,
    OnlineDictionaryLearning,
    SparseCoder,
)

_D = np.random.default_rng(0).standard_normal((8, 4))
_D /= np.linalg.norm(_D, axis=1, keepdims=True)

INSTANCES = [
    SparseCoder(_D, n_nonzero_coefs=2),
    KSVD(n_components=3, n_nonzero_coefs=1, max_iter=3, random_state=0),
    MOD(n_components=3, n_nonzero_coefs=1, max_iter=3, random_state=0),
    OnlineDictionaryLearning(n_components=3, n_nonzero_coefs=1, batch_size=8, max_iter=2,
                             random_state=0),
    MaskedDictionaryLearning(n_components=3, n_nonzero_coefs=1, max_iter=2, random_state=0),
    FastTransformDictionary(n_components=3, n_nonzero_coefs=1, max_iter=2, n_iter_palm=3,
                            constraints=[("splin", 2), ("splincol", 2)], random_state=0),
]

EXPECTED_FAILED_CHECKS = {
    "SparseCoder": {
        "check_estimators_dtypes": "the dictionary fixes n_features=4",
        "check_fit_score_takes_y": "the dictionary fixes n_features=4",
        "check_estimators_fit_returns_self": "the dictionary fixes n_features=4",
        "check_pipeline_consistency": "the dictionary fixes n_features=4",
        "check_estimators_overwrite_params": "the dictionary fixes n_features=4",
        "check_fit_idempotent": "the dictionary fixes n_features=4",
        "check_fit_check_is_fitted": "the dictionary fixes n_features=4",
        "check_n_features_in": "the dictionary fixes n_features=4",
        "check_fit2d_predict1d": "the dictionary fixes n_features=4",
        "check_fit2d_1sample": "the dictionary fixes n_features=4",
        "check_fit2d_1feature": "the dictionary fixes n_features=4",
        "check_estimators_nan_inf": "the dictionary fixes n_features=4",
        "check_estimators_pickle": "the dictionary fixes n_features=4",
        "check_transformer_general": "the dictionary fixes n_features=4",
        "check_transformer_data_not_an_array": "the dictionary fixes n_features=4",
        "check_transformer_preserve_dtypes": "the dictionary fixes n_features=4",
        "check_methods_sample_order_invariance": "the dictionary fixes n_features=4",
        "check_methods_subset_invariance": "the dictionary fixes n_features=4",
        "check_dict_unchanged": "the dictionary fixes n_features=4",
        "check_dont_overwrite_parameters": "the dictionary fixes n_features=4",
        "check_fit_non_negative": "the dictionary fixes n_features=4",
        "check_readonly_memmap_input": "the dictionary fixes n_features=4",
        "check_n_features_in_after_fitting": "the dictionary fixes n_features=4",
        "check_positive_only_tag_during_fit": "the dictionary fixes n_features=4",
        "check_transformers_unfitted_stateless": "the dictionary fixes n_features=4",
        "check_dtype_object": "the dictionary fixes n_features=4",
        "check_f_contiguous_array_estimator": "the dictionary fixes n_features=4",
        "check_transformer_n_iter": "the dictionary fixes n_features=4",
        "check_estimator_sparse_tag": "the dictionary fixes n_features=4",
        "check_estimator_sparse_array": "the dictionary fixes n_features=4",
        "check_estimator_sparse_matrix": "the dictionary fixes n_features=4",
        "check_complex_data": "complex data is supported by algorithm='omp' (as in sparse_encode)",
    }
}
