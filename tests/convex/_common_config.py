import numpy as np

from sparsecode import (LADLasso, LADLassoCV, Lasso, LassoCV, LossOMP, PenalizedRegression,
                        SqrtLasso, SqrtLassoCV, WeightedLasso, WeightedLassoCV)
from sparsecode.convex import (L1, MCP, SPIRALTAP, ElasticNet, GroupLasso, MultiTaskLasso,
                               Quadratic)

INSTANCES = [
    Lasso(alpha=0.1),
    Lasso(alpha=0.1, positive=True),
    ElasticNet(alpha=0.1, l1_ratio=0.5),
    MultiTaskLasso(alpha=0.1),
    GroupLasso(alpha=0.1),
    GroupLasso(alpha=0.1, groups=2),
    WeightedLasso(alpha=0.1),
    SqrtLasso(alpha=0.1),
    LADLasso(alpha=0.1),
    LADLasso(),  # the pivotal default alpha
    PenalizedRegression(penalty=L1(alpha=0.1)),
    PenalizedRegression(Quadratic(), MCP(alpha=0.1)),
    LassoCV(n_alphas=5, cv=3),
    WeightedLassoCV(n_alphas=5, cv=3),
    SqrtLassoCV(n_alphas=5, cv=3),
    LADLassoCV(n_alphas=3, cv=3),
    # (n_nonzero_coefs above n_features raises: the checks fit 2-feature data)
    LossOMP(n_nonzero_coefs=2),
    LossOMP(),
    SPIRALTAP(),
]

_cv_sw = ("the folds of K-fold CV differ between repeated samples and integer sample "
          "weights, so the selected alpha can differ (scikit-learn's LassoCV has the same "
          "limitation)")
EXPECTED_FAILED_CHECKS = {
    name: {"check_sample_weight_equivalence_on_dense_data": _cv_sw,
           "check_sample_weight_equivalence_on_sparse_data": _cv_sw}
    for name in ("LassoCV", "WeightedLassoCV", "SqrtLassoCV", "LADLassoCV")
}
# complex data is supported: the complex Lasso (sum of moduli) on the matrix-free route
EXPECTED_FAILED_CHECKS["Lasso"] = {
    "check_complex_data": "complex X and y are supported (complex Lasso, solved matrix-free by "
                          "solve_operator); positive=True raises 'Complex data not supported'"}
# the Poisson model: A and y are photon-count data
EXPECTED_FAILED_CHECKS["SPIRALTAP"] = {
    "check_dtype_object": "A must be a numeric array, sparse matrix or LinearOperator (the "
                          "shared operator validation refuses object arrays)",
    "check_supervised_y_2d": "y is one vector of counts (one per row of A): a 2-D y is "
                             "refused with a ValueError naming y, not raveled",
}
