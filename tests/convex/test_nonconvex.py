"""Non-convex penalties through PenalizedRegression: fixed points, recovery, relations."""

import numpy as np
import pytest

from sparsecode import Lasso, PenalizedRegression, alpha_max
from sparsecode.convex import CEL0, L0, MCP, SCAD, Lq, Quadratic
from sparsecode.convex import _prox as P


def _problem(seed=0, n=60, N=100, s=5, noise=0.01):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    S = rng.choice(N, s, replace=False)
    w[S] = rng.uniform(1, 3, s) * rng.choice([-1, 1], s)
    return X, X @ w + noise * rng.standard_normal(n), w


PENS = [MCP(0.1), SCAD(0.1), L0(0.01), Lq(0.05, 0.5), Lq(0.05, 2 / 3), CEL0(0.01)]


@pytest.mark.parametrize("pen", PENS, ids=lambda p: type(p).__name__)
def test_fixed_point_at_return_and_recovery(pen):
    X, y, w = _problem()
    reg = PenalizedRegression(Quadratic(), pen, fit_intercept=False).fit(X, y)
    # certificate: every coordinate is a fixed point of its prox step
    n = len(y)
    lips = (X ** 2).sum(0) / n
    g = X.T @ (X @ reg.coef_ - y) / n
    kp = __import__("sparsecode.convex._penalties", fromlist=["x"]).kernel_params(pen, X.shape[1])
    a2 = lips
    res = [lips[j] * abs(reg.coef_[j] - P.prox_scalar(kp[0], reg.coef_[j] - g[j] / lips[j],
                                                     1 / lips[j], kp[1], kp[2], 1.0, a2[j],
                                                     False)) for j in range(X.shape[1])]
    assert max(res) <= 1e-4 * np.max(np.abs(X.T @ y)) / n
    assert np.isnan(reg.dual_gap_)
    # sparse ground truth is recovered (support), with small bias
    assert set(np.flatnonzero(reg.coef_)) == set(np.flatnonzero(w))


def test_mcp_large_gamma_tends_to_lasso_and_is_unbiased():
    X, y, w = _problem(seed=1)
    a = alpha_max(X, y, fit_intercept=False) / 10
    lasso = Lasso(alpha=a, fit_intercept=False, tol=1e-12).fit(X, y)
    mcp_big = PenalizedRegression(Quadratic(), MCP(a, gamma=1e8), fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(mcp_big.coef_, lasso.coef_, atol=1e-4)
    mcp = PenalizedRegression(Quadratic(), MCP(a, gamma=3.0), fit_intercept=False).fit(X, y)
    # MCP removes the Lasso's shrinkage bias on large coefficients
    S = w != 0
    assert np.linalg.norm(mcp.coef_[S] - w[S]) < 0.5 * np.linalg.norm(lasso.coef_[S] - w[S])


def test_l0_and_cel0_agree_with_unit_step():
    # with coordinate steps 1/L_j the CEL0 prox is the l0 hard threshold:
    # the two runs must give the same iterates
    X, y, _ = _problem(seed=2)
    r0 = PenalizedRegression(Quadratic(), L0(0.02), fit_intercept=False).fit(X, y)
    r1 = PenalizedRegression(Quadratic(), CEL0(0.02), fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(r0.coef_, r1.coef_, atol=1e-10)


def test_sparse_design_nonconvex():
    import scipy.sparse as sp
    X, y, _ = _problem(seed=3)
    r_d = PenalizedRegression(Quadratic(), SCAD(0.1), fit_intercept=False).fit(X, y)
    r_s = PenalizedRegression(Quadratic(), SCAD(0.1), fit_intercept=False).fit(
        sp.csc_matrix(X), y)
    np.testing.assert_allclose(r_d.coef_, r_s.coef_, atol=1e-6)
