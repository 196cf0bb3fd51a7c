from sparsecode import OMPSelector, SparseCCA, TruncatedPowerPCA

INSTANCES = [
    TruncatedPowerPCA(),
    TruncatedPowerPCA(n_components=2, k=1, init="maxdiag", deflation="projection"),
    SparseCCA(),
    SparseCCA(method="primal_dual"),
    OMPSelector(),
    OMPSelector(n_features_to_select=1, criterion="ols"),
]

EXPECTED_FAILED_CHECKS = {}
