"""Huber and logistic datafits in the compiled coordinate descent (AndersonCD)."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SkLasso
from sklearn.linear_model import LogisticRegression

from sparsecode.convex import (L1, MCP, PDHG, AndersonCD, Huber, Logistic,
                               PenalizedRegression, WeightedL1, solve_operator)


def _regression(n=60, N=90, seed=0, outliers=6):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[:5] = rng.standard_normal(5) * 2
    y = X @ w + 0.3 * rng.standard_normal(n)
    y[:outliers] += 15.0
    return X, y


def _classification(n=80, N=120, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[:6] = rng.standard_normal(6) * 2
    y = np.where(X @ w + 0.5 * rng.standard_normal(n) + 0.3 > 0, 1.0, -1.0)
    return X, y


def huber_obj(X, y, w, b, alpha, delta):
    a = np.abs(y - X @ w - b)
    return np.mean(np.where(a <= delta, 0.5 * a * a, delta * a - 0.5 * delta ** 2)) + \
        alpha * np.abs(w).sum()


def logistic_obj(X, y, w, b, alpha):
    return np.mean(np.logaddexp(0.0, -y * (X @ w + b))) + alpha * np.abs(w).sum()


def test_huber_with_large_delta_is_the_lasso():
    """All residuals below delta: the Huber objective is the Lasso's (closed form)."""
    X, y = _regression(outliers=0)
    a = float(np.max(np.abs(X.T @ y))) / len(y) / 10
    m = PenalizedRegression(Huber(delta=1e4), L1(a), AndersonCD(tol=1e-12),
                            fit_intercept=False).fit(X, y)
    sk = SkLasso(alpha=a, fit_intercept=False, tol=1e-12, max_iter=100_000).fit(X, y)
    po = huber_obj(X, y, m.coef_, 0.0, a, 1e4)
    ps = huber_obj(X, y, sk.coef_, 0.0, a, 1e4)
    assert abs(po - ps) <= 1e-6 * ps
    np.testing.assert_allclose(m.coef_, sk.coef_, atol=1e-6)


@pytest.mark.parametrize("delta", [0.5, 1.35])
def test_huber_gap_certificate_and_kkt(delta):
    X, y = _regression()
    n = len(y)
    a = float(np.max(np.abs(X.T @ np.clip(y, -delta, delta)))) / n / 8
    m = PenalizedRegression(Huber(delta), L1(a), AndersonCD(tol=1e-10),
                            fit_intercept=False).fit(X, y)
    P0 = huber_obj(X, y, np.zeros(X.shape[1]), 0.0, a, delta)
    assert 0.0 <= m.dual_gap_ <= 1e-10 * P0 * 1.01
    # KKT, computed here: -x_j^T psi(r) / n in alpha d|w_j|
    g = -X.T @ np.clip(y - X @ m.coef_, -delta, delta) / n
    nz = m.coef_ != 0
    assert np.all(np.abs(g[~nz]) <= a * (1 + 1e-6))
    np.testing.assert_allclose(g[nz], -a * np.sign(m.coef_[nz]), atol=1e-5 * a)
    # the same objective as the matrix-free FISTA reference (a separate solver)
    ref, info = solve_operator(X, y, datafit="huber", penalty="l1", alpha=a, delta=delta,
                               tol=1e-12, max_iter=50_000)
    pr = huber_obj(X, y, np.asarray(ref).ravel(), 0.0, a, delta)
    po = huber_obj(X, y, m.coef_, 0.0, a, delta)
    assert abs(po - pr) <= 1e-6 * pr


def test_huber_resists_outliers_where_least_squares_does_not():
    X, y = _regression(outliers=10)
    a = 0.05
    mh = PenalizedRegression(Huber(1.0), L1(a), fit_intercept=True).fit(X, y)
    ml = PenalizedRegression(penalty=L1(a), fit_intercept=True).fit(X, y)
    Xc, yc = _regression(outliers=0)  # same design and noise, no outliers
    mc = PenalizedRegression(Huber(1.0), L1(a), fit_intercept=True).fit(Xc, yc)
    assert np.linalg.norm(mh.coef_ - mc.coef_) < np.linalg.norm(ml.coef_ - mc.coef_)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_logistic_matches_sklearn_objective(fit_intercept):
    X, y = _classification()
    n = len(y)
    C = 0.5
    a = 1.0 / (C * n)
    m = PenalizedRegression(Logistic(), L1(a), AndersonCD(tol=1e-10),
                            fit_intercept=fit_intercept).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = LogisticRegression(C=C, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=200_000,
                                fit_intercept=fit_intercept).fit(X, y)
    bo = float(m.intercept_) if fit_intercept else 0.0
    bs = float(sk.intercept_[0]) if fit_intercept else 0.0
    po = logistic_obj(X, y, m.coef_, bo, a)
    ps = logistic_obj(X, y, sk.coef_.ravel(), bs, a)
    assert abs(po - ps) <= 1e-6 * ps
    if not fit_intercept:
        assert 0.0 <= m.dual_gap_ <= 1e-10 * np.log(2) * 1.01


def test_logistic_kkt_and_labels():
    X, y = _classification(seed=4)
    n = len(y)
    a = float(np.max(np.abs(X.T @ y))) / (2 * n) / 5  # alpha_max / 5
    m = PenalizedRegression(Logistic(), L1(a), AndersonCD(tol=1e-10),
                            fit_intercept=False).fit(X, y)
    s = 1.0 / (1.0 + np.exp(y * (X @ m.coef_)))
    g = -X.T @ (y * s) / n
    nz = m.coef_ != 0
    assert nz.any()
    assert np.all(np.abs(g[~nz]) <= a * (1 + 1e-6))
    np.testing.assert_allclose(g[nz], -a * np.sign(m.coef_[nz]), atol=1e-5 * a)
    # above alpha_max (|X^T y| / (2n)) the solution is exactly zero
    amax = float(np.max(np.abs(X.T @ y))) / (2 * n)
    m0 = PenalizedRegression(Logistic(), L1(1.01 * amax), fit_intercept=False).fit(X, y)
    assert not np.any(m0.coef_)


@pytest.mark.parametrize("fmt", ["csc", "csr"])
@pytest.mark.parametrize("datafit", [Huber(1.0), Logistic()])
def test_sparse_designs_same_solution(fmt, datafit):
    if isinstance(datafit, Logistic):
        X, y = _classification(n=70, N=50, seed=2)
    else:
        X, y = _regression(n=70, N=50, seed=2)
    X[np.abs(X) < 0.8] = 0.0
    a = 0.02
    kw = dict(fit_intercept=True)
    md = PenalizedRegression(datafit, L1(a), AndersonCD(tol=1e-10), **kw).fit(X, y)
    ms = PenalizedRegression(datafit, L1(a), AndersonCD(tol=1e-10), **kw).fit(
        sp.csr_matrix(X) if fmt == "csr" else sp.csc_matrix(X), y)
    np.testing.assert_allclose(ms.coef_, md.coef_, atol=1e-6)
    np.testing.assert_allclose(ms.intercept_, md.intercept_, atol=1e-6)


def test_float32_kept_and_weighted_and_nonconvex_penalties():
    X, y = _regression(n=50, N=40, seed=5)
    m32 = PenalizedRegression(Huber(1.0), L1(0.05), fit_intercept=False).fit(
        X.astype(np.float32), y.astype(np.float32))
    m64 = PenalizedRegression(Huber(1.0), L1(0.05), fit_intercept=False).fit(X, y)
    assert m32.coef_.dtype == np.float32
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=1e-3)
    # weighted L1 with an unpenalised feature: KKT stop; that feature is nonzero
    wts = np.ones(40)
    wts[7] = 0.0
    mw = PenalizedRegression(Huber(1.0), WeightedL1(0.05, wts), AndersonCD(tol=1e-8),
                             fit_intercept=False).fit(X, y)
    g = -X.T @ np.clip(y - X @ mw.coef_, -1.0, 1.0) / len(y)
    assert abs(g[7]) <= 1e-6 and np.all(np.abs(g) <= 0.05 * wts + 1e-6)
    # MCP (non-convex): a fixed point of the coordinate-wise prox
    mm = PenalizedRegression(Huber(1.0), MCP(0.05, gamma=3.0), AndersonCD(tol=1e-8),
                             fit_intercept=False).fit(X, y)
    assert np.isnan(mm.dual_gap_) and mm.kkt_violation_ <= 1e-6


def test_solver_object_solve_and_errors():
    X, y = _classification(n=40, N=30, seed=3)
    res = AndersonCD(tol=1e-8).solve(X, y, Logistic(), L1(0.02))
    assert res.converged and res.coef.shape == (30, 1)
    with pytest.raises(ValueError, match="y must hold labels -1 and \\+1"):
        PenalizedRegression(Logistic(), L1(0.02)).fit(X, (y > 0).astype(float) * 2.0)
    with pytest.raises(ValueError, match="sample_weight"):
        PenalizedRegression(Huber(), L1(0.02)).fit(X, y, sample_weight=np.ones(40))
    with pytest.raises(ValueError, match="PDHG"):
        PenalizedRegression(Huber(), L1(0.02), PDHG()).fit(X, y)


def test_max_iter_warns_with_the_figure():
    X, y = _classification(n=60, N=80, seed=6)
    with pytest.warns(ConvergenceWarning):
        PenalizedRegression(Logistic(), L1(1e-4), AndersonCD(tol=1e-14, max_iter=2),
                            fit_intercept=False).fit(X, y)


def test_inputs_not_modified():
    X, y = _regression(n=30, N=20, seed=7)
    X0, y0 = X.copy(), y.copy()
    PenalizedRegression(Huber(1.0), L1(0.05)).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_logistic_epochs_never_increase_the_objective(fit_intercept):
    """Each coordinate step (Newton kept on a certified or measured decrease, else
    the Lipschitz step) decreases the objective: epoch by epoch it never grows."""
    from sparsecode.convex._solvers.cd import _C

    X, y = _classification(n=60, N=40, seed=8)
    n, N = X.shape
    a = 0.01
    XT = np.ascontiguousarray(X.T)
    lips = (X ** 2).sum(axis=0) / (4 * n)
    cubes = np.append(np.abs(X ** 3).sum(axis=0) / n, 1.0) / (6 * np.sqrt(3))
    w, b, Z, S = np.zeros(N), np.zeros(1), np.zeros(n), np.empty(n)
    e = np.zeros(0)
    ws = np.arange(N, dtype=np.int64)
    prev = logistic_obj(X, y, w, 0.0, a)
    for _ in range(15):
        _C.glm_cd_inner(False, XT, np.zeros(1), np.zeros(1, np.int32), np.zeros(2, np.int32),
                        y, Z, w, b, ws, lips, 1, 0.0, 0, a, 0.0, e, e, False, fit_intercept,
                        0.25, 1, 0.0, S, cubes)
        cur = logistic_obj(X, y, w, b[0], a)
        assert cur <= prev + 1e-15
        np.testing.assert_allclose(Z, X @ w + b[0], atol=1e-12)
        prev = cur


@pytest.mark.parametrize("delta", [0.0, -1.0, np.inf, np.nan, True, "1"])
def test_huber_delta_validated(delta):
    X, y = _regression(n=20, N=10, seed=9)
    with pytest.raises(ValueError, match="delta of Huber"):
        PenalizedRegression(Huber(delta=delta), L1(0.1)).fit(X, y)
