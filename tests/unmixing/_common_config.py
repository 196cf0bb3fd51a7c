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
