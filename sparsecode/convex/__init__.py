"""Convex and non-convex penalised regression: datafits x penalties x solvers.

Datafits (``Quadratic``, ``SqrtQuadratic``, ``AbsoluteDeviation``, ``Huber``,
``Logistic``), separable
penalties (``L1``, ``WeightedL1``, ``MCP``, ``SCAD``, ``Lq``, ``CEL0``, ``L0``)
and solvers (``AndersonCD``, ``ConcomitantCD``, ``WorkingSetLP``, ``PDHG``)
combine freely through ``PenalizedRegression``; the usual models have named
estimators (``Lasso``, ``ElasticNet``, ``MultiTaskLasso``, ``WeightedLasso``,
``SqrtLasso``, ``LADLasso``), path functions and cross-validated versions.
Solvers declare what they need from datafits and penalties
(``BaseSolver.validate``); a user penalty (a small class) runs in the
compiled kernels.  ``fista`` / ``pdhg`` / ``solve_operator`` solve the same
problems matrix-free (any ``LinearOperator``, real or complex);
``SPIRALTAP`` is the Poisson intensity solver and ``tv1d_prox`` /
``tv2d_prox`` the total-variation proximal operators; ``lasso_lars_gram``
codes many signals by the LARS homotopy on a Gram matrix.  ``LossOMP`` is the greedy
counterpart (Mohammad-Taheri & Brugiapaglia 2023) and reuses the datafits.
"""

from ._datafits import AbsoluteDeviation, Huber, Logistic, Quadratic, SqrtQuadratic
from ._estimators import (ElasticNet, LADLasso, Lasso, MultiTaskLasso, PenalizedRegression,
                          SqrtLasso, WeightedLasso)
from ._fit import alpha_max
from ._group import GroupLasso
from ._lars import lasso_lars_gram
from ._loss_omp import LossOMP, loss_omp
from ._path import (LADLassoCV, LassoCV, SqrtLassoCV, WeightedLassoCV, lad_lasso_path,
                    lasso_path, penalized_path, sqrt_lasso_path, weighted_lasso_path)
from ._penalties import CEL0, L0, L1, L21, MCP, SCAD, ElasticNetPenalty, Lq, WeightedL1
from ._solvers import PDHG, AndersonCD, ConcomitantCD, WorkingSetLP
from ._operator_solvers import fista, pdhg, solve_operator
from ._spiral import SPIRALTAP, spiral_tap
from ._tv import tv1d_prox, tv2d_prox, tv_norm
from . import _encoders  # noqa: F401  (registers the sparse_encode algorithms)

__all__ = [
    "AbsoluteDeviation", "Huber", "Logistic", "AndersonCD", "ElasticNet", "ElasticNetPenalty", "L21",
    "MultiTaskLasso", "CEL0", "ConcomitantCD", "L0", "L1", "LADLasso",
    "Lasso", "Lq", "MCP", "PDHG", "PenalizedRegression", "Quadratic", "SCAD", "SqrtLasso",
    "SqrtQuadratic", "WeightedL1", "WeightedLasso", "WorkingSetLP", "alpha_max",
    "LossOMP", "loss_omp", "LassoCV", "WeightedLassoCV", "SqrtLassoCV", "LADLassoCV", "lasso_path",
    "weighted_lasso_path", "sqrt_lasso_path", "lad_lasso_path", "penalized_path",
    "fista", "pdhg", "solve_operator", "SPIRALTAP", "spiral_tap", "tv1d_prox", "tv2d_prox",
    "tv_norm", "GroupLasso", "lasso_lars_gram",
]
