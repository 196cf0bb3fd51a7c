"""SqrtLasso and LADLasso: references (LP, PDHG, KKT), gaps, alpha_max, robustness."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from sklearn.linear_model import QuantileRegressor

from sparsecode import LADLasso, SqrtLasso, alpha_max


def _problem(n=50, N=80, seed=0, intercept=2.0, outliers=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[rng.choice(N, 5, replace=False)] = rng.uniform(1, 3, 5) * rng.choice([-1, 1], 5)
    y = X @ w + 0.1 * rng.standard_normal(n) + intercept
    if outliers:
        y[rng.choice(n, outliers, replace=False)] += 100 * rng.standard_normal(outliers)
    return X, y, w


def _lad_lp(X, y, alpha, weights=None, fit_intercept=True, sw=None):
    """Reference: the full LAD-LASSO LP (spec S7), solved by HiGHS."""
    n, N = X.shape
    weights = np.ones(N) if weights is None else weights
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    cols = [X, -X] + ([np.ones((n, 1)), -np.ones((n, 1))] if fit_intercept else []) + \
        [np.eye(n), -np.eye(n)]
    c = np.concatenate([alpha * weights, alpha * weights] + ([np.zeros(2)] if fit_intercept
                                                             else []) + [sw / n, sw / n])
    res = linprog(c, A_eq=np.hstack(cols), b_eq=y, bounds=(0, None), method="highs")
    return res.fun


def _lad_obj(X, y, w, b, alpha, weights=None, sw=None):
    n = len(y)
    weights = np.ones(X.shape[1]) if weights is None else weights
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    return float(sw @ np.abs(y - X @ w - b)) / n + alpha * float(weights @ np.abs(w))


def _sqrt_obj(X, y, w, b, alpha, weights=None):
    weights = np.ones(X.shape[1]) if weights is None else weights
    return np.linalg.norm(y - X @ w - b) / np.sqrt(len(y)) + alpha * float(weights @ np.abs(w))


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("fmt", ["dense", "csr"])
def test_lad_objective_equals_lp(fit_intercept, fmt):
    # N = 150 > 2 p0: the working set is seeded by the IRLS guess
    X, y, _ = _problem(N=150, outliers=5)
    a = alpha_max(X, y, datafit="lad", fit_intercept=fit_intercept) / 5
    Xf = X if fmt == "dense" else sp.csr_matrix(X)
    reg = LADLasso(alpha=a, fit_intercept=fit_intercept, tol=1e-10).fit(Xf, y)
    ref = _lad_lp(X, y, a, fit_intercept=fit_intercept)
    ours = _lad_obj(X, y, reg.coef_, reg.intercept_, a)
    assert abs(ours - ref) <= 1e-8 * ref
    assert reg.dual_gap_ <= 1e-10 * np.abs(y - (np.median(y) if fit_intercept else 0)).mean()


def test_lad_equals_quantile_regressor_and_weights():
    X, y, _ = _problem(seed=1, outliers=3)
    a = 0.05
    reg = LADLasso(alpha=a, tol=1e-10).fit(X, y)
    qr = QuantileRegressor(quantile=0.5, alpha=a / 2, solver="highs").fit(X, y)
    np.testing.assert_allclose(_lad_obj(X, y, reg.coef_, reg.intercept_, a),
                               _lad_obj(X, y, qr.coef_, qr.intercept_, a), rtol=1e-8)
    rng = np.random.default_rng(1)
    w = rng.uniform(0.5, 2, X.shape[1])
    sw = rng.uniform(0.5, 2, len(y))
    reg = LADLasso(alpha=a, weights=w, tol=1e-10).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(_lad_obj(X, y, reg.coef_, reg.intercept_, a, w, sw),
                               _lad_lp(X, y, a, w, sw=sw), rtol=1e-8)


def test_lad_pdhg_cross_check():
    X, y, _ = _problem(30, 40, seed=2, outliers=2)
    a = 0.1
    ref = LADLasso(alpha=a, tol=1e-10).fit(X, y)
    pd = LADLasso(alpha=a, solver="pdhg", tol=1e-4, max_iter=500).fit(X, y)
    p_ref = _lad_obj(X, y, ref.coef_, ref.intercept_, a)
    p_pd = _lad_obj(X, y, pd.coef_, pd.intercept_, a)
    assert p_ref <= p_pd + 1e-12
    assert p_pd - p_ref <= 1e-3 * p_ref  # PDHG's certificate is a valid upper bound
    assert pd.dual_gap_ >= p_pd - p_ref - 1e-9


@pytest.mark.parametrize("datafit, est", [("lad", LADLasso), ("sqrt", SqrtLasso)])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_alpha_max_zero_and_nonzero(datafit, est, fit_intercept):
    X, y, _ = _problem(seed=3)
    a = alpha_max(X, y, datafit=datafit, fit_intercept=fit_intercept)
    assert np.all(est(alpha=a, fit_intercept=fit_intercept).fit(X, y).coef_ == 0)
    assert np.any(est(alpha=0.99 * a, fit_intercept=fit_intercept, tol=1e-8)
                  .fit(X, y).coef_ != 0)


def test_lad_alpha_max_with_unpenalised_feature():
    X, y, _ = _problem(seed=4)
    w = np.ones(X.shape[1])
    w[0] = 0
    a = alpha_max(X, y, datafit="lad", weights=w)
    reg = LADLasso(alpha=a * (1 + 1e-7), weights=w, tol=1e-10).fit(X, y)
    assert np.all(reg.coef_[1:] == 0)
    reg = LADLasso(alpha=0.98 * a, weights=w, tol=1e-10).fit(X, y)
    assert np.any(reg.coef_[1:] != 0)


@pytest.mark.parametrize("fmt", ["dense", "csc"])
def test_sqrt_lasso_certificate_kkt_and_pdhg(fmt):
    X, y, _ = _problem(60, 100, seed=5)
    a = alpha_max(X, y, datafit="sqrt") / 4
    Xf = X if fmt == "dense" else sp.csc_matrix(X)
    reg = SqrtLasso(alpha=a, tol=1e-10).fit(Xf, y)
    yc = y - y.mean()
    assert reg.dual_gap_ <= 1e-10 * np.linalg.norm(yc) / np.sqrt(len(y))
    r = y - X @ reg.coef_ - reg.intercept_
    c = X.T @ r / (np.sqrt(len(y)) * np.linalg.norm(r))
    S = reg.coef_ != 0
    np.testing.assert_allclose(c[S], a * np.sign(reg.coef_[S]), atol=1e-5 * a)
    assert np.all(np.abs(c[~S]) <= a * (1 + 1e-5))
    np.testing.assert_allclose(reg.sigma_, np.linalg.norm(r) / np.sqrt(len(y)), rtol=1e-10)
    pd = SqrtLasso(alpha=a, solver="pdhg", tol=1e-6, max_iter=500).fit(X, y)
    p1, p2 = _sqrt_obj(X, y, reg.coef_, reg.intercept_, a), _sqrt_obj(X, y, pd.coef_,
                                                                       pd.intercept_, a)
    assert p1 <= p2 + 1e-12 and p2 - p1 <= 1e-5 * p1


def test_sqrt_lasso_pivotal():
    # spec 3.5.4: at a fixed theory-driven alpha, rel_err / sigma varies little with sigma
    from scipy.stats import norm
    rng = np.random.default_rng(6)
    from sparsecode import Lasso

    n, N = 100, 300
    X = rng.standard_normal((n, N))
    X /= np.linalg.norm(X, axis=0) / np.sqrt(n)
    x = np.zeros(N)
    x[:3] = rng.choice([-1, 1], 3) * 5
    e = rng.standard_normal(n)
    a = 1.1 * norm.ppf(1 - 0.05 / (2 * N)) / np.sqrt(n)
    ratios, ratios_lasso = [], []
    a_lasso = 0.1 * a  # the same theory value for the Lasso needs sigma: tuned at 0.1
    for sigma in (0.01, 0.1, 1.0):
        y = X @ x + sigma * e
        reg = SqrtLasso(alpha=a, fit_intercept=False, tol=1e-8).fit(X, y)
        ratios.append(np.linalg.norm(reg.coef_ - x) / np.linalg.norm(x) / sigma)
        las = Lasso(alpha=a_lasso, fit_intercept=False, tol=1e-8).fit(X, y)
        ratios_lasso.append(np.linalg.norm(las.coef_ - x) / np.linalg.norm(x) / sigma)
    assert max(ratios) / min(ratios) < 3
    assert max(ratios_lasso) / min(ratios_lasso) > 5  # the Lasso is not pivotal


def test_lad_robust_to_gross_errors():
    X, y, w = _problem(150, 300, seed=7, intercept=0.0, outliers=15)
    a = alpha_max(X, y, datafit="lad") / 10
    reg = LADLasso(alpha=a).fit(X, y)
    assert set(np.flatnonzero(np.abs(reg.coef_) > 0.1)) == set(np.flatnonzero(w))


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 5000), s=st.floats(0.1, 10.0))
def test_scaling_invariances(seed, s):
    # SqrtLasso and LADLasso are positively homogeneous in y at fixed alpha:
    # y -> s y gives w -> s w (this is what makes alpha noise-level free)
    X, y, _ = _problem(25, 30, seed=seed)
    a_sq = alpha_max(X, y, datafit="sqrt") / 3
    r1 = SqrtLasso(alpha=a_sq, tol=1e-12).fit(X, y)
    r2 = SqrtLasso(alpha=a_sq, tol=1e-12).fit(X, s * y)
    np.testing.assert_allclose(r2.coef_, s * r1.coef_, atol=1e-6 * max(1, s))
    a_l = alpha_max(X, y, datafit="lad") / 3
    l1 = LADLasso(alpha=a_l, tol=1e-12).fit(X, y)
    l2 = LADLasso(alpha=a_l, tol=1e-12).fit(X, s * y)
    p1 = _lad_obj(X, s * y, s * l1.coef_, s * l1.intercept_, a_l)
    p2 = _lad_obj(X, s * y, l2.coef_, l2.intercept_, a_l)
    np.testing.assert_allclose(p1, p2, rtol=1e-8)


def test_bad_solver_combination():
    from sparsecode import PenalizedRegression
    from sparsecode.convex import MCP, AbsoluteDeviation, SqrtQuadratic

    X, y, _ = _problem(20, 10)
    with pytest.raises(ValueError, match="not convex"):
        PenalizedRegression(SqrtQuadratic(), MCP(0.1)).fit(X, y)
    with pytest.raises(ValueError, match="AndersonCD needs a smooth datafit"):
        PenalizedRegression(AbsoluteDeviation(), solver="cd").fit(X, y)
    with pytest.raises(ValueError, match="solver"):
        SqrtLasso(solver="bogus").fit(X, y)
