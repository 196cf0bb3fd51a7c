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

_transform = {
    "check_transformer_general": (
        "transform() of new pixels solves FCLS (exact sum-to-one) with the learned endmembers; "
        "fit_transform returns the abundances of the (penalised, softly constrained) "
        "factorisation itself, so the two differ by design"
    ),
}
_transform["check_transformer_data_not_an_array"] = _transform["check_transformer_general"]
EXPECTED_FAILED_CHECKS = {
    name: dict(_transform)
    for name in ("NMFUnmixing", "L12NMF", "CorrentropyNMF", "RobustGuidedNMF",
                 "StructuredSparseNMF")
}
