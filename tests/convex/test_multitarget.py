"""Multi-target Lasso / WeightedLasso: one batched Gram-CD call, same results as per target.

References: the per-target fits (working-set AndersonCD, one column at a
time), scikit-learn's Lasso on each column, and the duality gap recomputed
here from the returned coefficients.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import Lasso as SkLasso

from sparsecode import Lasso, PenalizedRegression, WeightedLasso, alpha_max
from sparsecode.convex import L1, AndersonCD, Quadratic, lasso_path
from sparsecode.convex import _fit


def _problem(n=60, N=90, L=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    W = np.zeros((N, L))
    for t in range(L):
        W[rng.choice(N, 6, replace=False), t] = rng.standard_normal(6)
    Y = X @ W + 0.1 * rng.standard_normal((n, L)) + rng.uniform(-2, 2, L)
    return X, Y


def _obj(X, y, w, b, alpha, weights=None, sw=None):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    weights = np.ones(X.shape[1]) if weights is None else weights
    r = y - X @ w - b
    with np.errstate(invalid="ignore"):
        pen = np.where(w != 0, weights * np.abs(w), 0.0).sum()
    return float(sw @ r ** 2) / (2 * n) + alpha * float(pen)


def _gap(X, y, w, b, alpha, weights, positive, sw=None, fit_intercept=True):
    """Duality gap of one target computed from scratch (sqrt-weighted, centred)."""
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    s = np.sqrt(sw)
    r = s * (y - X @ w - b)
    cols = [s[:, None]] if fit_intercept else []
    free = weights == 0
    if free.any():
        cols.append(X[:, free] * s[:, None])
    rp = r
    if cols:
        B = np.hstack(cols)
        rp = r - B @ np.linalg.lstsq(B, r, rcond=None)[0]
        if positive and free.any():
            # one-sided constraints x_j^T theta <= 0 for the free features:
            # project only on the intercept and the active free columns,
            # then add any free column the point still violates
            Xs = X * s[:, None]
            keep = free & (w > 0)
            for _ in range(X.shape[1] + 1):
                cols2 = ([s[:, None]] if fit_intercept else []) + [Xs[:, keep]]
                B2 = np.hstack(cols2)
                rp = r - B2 @ np.linalg.lstsq(B2, r, rcond=None)[0] if B2.shape[1] else r
                viol = free & ~keep & (Xs.T @ rp > 0)
                if not viol.any():
                    break
                keep |= viol
            assert np.all(Xs[:, free].T @ rp <= 1e-10 * np.linalg.norm(r) + 1e-14)
    yw = s * y
    if fit_intercept:
        yw = s * (y - (sw @ y) / n)  # centred target, as Prepared builds it
    thr = alpha * weights
    m = np.isfinite(thr) & (thr > 0)
    c = (X * s[:, None]).T @ rp / n
    c = np.maximum(c, 0) if positive else np.abs(c)
    scale = max(1.0, float(np.max(c[m] / thr[m])))
    primal = _obj(X, y, w, b, alpha, weights, sw)
    d = yw - rp / scale
    dual = (yw @ yw - d @ d) / (2 * n)
    return primal - dual, (yw @ yw) / (2 * n)


@pytest.fixture
def spy(monkeypatch):
    calls = []
    real = _fit._fit_quadratic_batch

    def wrapped(prep, *a, **k):
        calls.append(prep.Y.shape[1])
        return real(prep, *a, **k)

    monkeypatch.setattr(_fit, "_fit_quadratic_batch", wrapped)
    return calls


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("weighted_samples", [False, True])
def test_lasso_multitarget_equals_per_target_and_sklearn(spy, fit_intercept, positive,
                                                         weighted_samples):
    X, Y = _problem(seed=1)
    sw = np.random.default_rng(2).uniform(0.2, 3.0, X.shape[0]) if weighted_samples else None
    a = alpha_max(X, Y, fit_intercept=fit_intercept, positive=positive, sample_weight=sw) / 15
    tol = 1e-12
    multi = Lasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=tol).fit(
        X, Y, sample_weight=sw)
    assert spy == [Y.shape[1]]  # one batched call for all the targets
    assert multi.coef_.shape == (Y.shape[1], X.shape[1])
    assert multi.n_iter_.shape == multi.dual_gap_.shape == (Y.shape[1],)
    for t in range(Y.shape[1]):
        y = Y[:, t]
        one = Lasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=tol).fit(
            X, y, sample_weight=sw)
        sk = SkLasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=1e-14,
                     max_iter=100_000).fit(X, y, sample_weight=sw)
        pm = _obj(X, y, multi.coef_[t], multi.intercept_[t], a, sw=sw)
        po = _obj(X, y, one.coef_, one.intercept_, a, sw=sw)
        ps = _obj(X, y, sk.coef_, sk.intercept_, a, sw=sw)
        assert abs(pm - po) <= 1e-8 * po
        assert abs(pm - ps) <= 1e-8 * ps
        np.testing.assert_allclose(multi.coef_[t], one.coef_, atol=1e-6)
        gap, P0 = _gap(X, y, multi.coef_[t], multi.intercept_[t], a, np.ones(X.shape[1]),
                       positive, sw, fit_intercept)
        assert gap <= tol * P0 + 1e-14 * P0
        assert multi.dual_gap_[t] <= tol * P0 * (1 + 1e-6)
        np.testing.assert_allclose(multi.dual_gap_[t], gap, atol=1e-12 * P0)
        assert multi.n_iter_[t] >= 1
        if positive:
            assert np.all(multi.coef_[t] >= 0)
    np.testing.assert_allclose(multi.predict(X)[:, 0],
                               X @ multi.coef_[0] + multi.intercept_[0], rtol=1e-12)


@pytest.mark.parametrize("positive", [False, True])
def test_weighted_lasso_multitarget_zero_and_inf_weights(spy, positive):
    X, Y = _problem(N=50, L=5, seed=3)
    rng = np.random.default_rng(4)
    weights = rng.uniform(0.5, 2.0, X.shape[1])
    weights[[0, 7]] = 0.0  # unpenalised (with positive: x_j^T theta <= 0, one-sided)
    weights[[3, 11]] = np.inf  # excluded
    a = alpha_max(X, Y, weights=weights, positive=positive) / 10
    tol = 1e-12
    multi = WeightedLasso(alpha=a, weights=weights, positive=positive, tol=tol).fit(X, Y)
    assert spy == [Y.shape[1]]
    assert np.all(multi.coef_[:, [3, 11]] == 0)
    for t in range(Y.shape[1]):
        y = Y[:, t]
        one = WeightedLasso(alpha=a, weights=weights, positive=positive, tol=tol).fit(X, y)
        pm = _obj(X, y, multi.coef_[t], multi.intercept_[t], a, weights)
        po = _obj(X, y, one.coef_, one.intercept_, a, weights)
        assert abs(pm - po) <= 1e-8 * po
        gap, P0 = _gap(X, y, multi.coef_[t], multi.intercept_[t], a, weights, positive)
        # the exact (projected) gap, not the kernel's in-loop figure
        assert gap <= tol * P0 * (1 + 1e-6) + 1e-14 * P0
        np.testing.assert_allclose(multi.dual_gap_[t], gap, atol=1e-12 * P0)
        np.testing.assert_allclose(multi.coef_[t], one.coef_, atol=1e-6)


def test_float32_multitarget(spy):
    X, Y = _problem(seed=5)
    a = alpha_max(X, Y) / 10
    m64 = Lasso(alpha=a, tol=1e-8).fit(X, Y)
    m32 = Lasso(alpha=a, tol=1e-8).fit(X.astype(np.float32), Y.astype(np.float32))
    assert spy == [Y.shape[1], Y.shape[1]]
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m32.predict(X.astype(np.float32)).dtype == np.float32
    for t in range(Y.shape[1]):
        y = Y[:, t]
        gap, P0 = _gap(X, y, m32.coef_[t].astype(float), float(m32.intercept_[t]), a,
                       np.ones(X.shape[1]), False)
        assert gap <= 2e-5 * P0  # float32: tol floored at 1e-5 (spec 3.4), plus rounding
        p32 = _obj(X, y, m32.coef_[t].astype(float), float(m32.intercept_[t]), a)
        p64 = _obj(X, y, m64.coef_[t], m64.intercept_[t], a)
        assert abs(p32 - p64) <= 2e-5 * P0


def test_sparse_design_stays_per_target_and_agrees(spy):
    X, Y = _problem(N=40, L=3, seed=6)
    a = alpha_max(X, Y) / 10
    dense = Lasso(alpha=a, tol=1e-12).fit(X, Y)
    csc = Lasso(alpha=a, tol=1e-12).fit(sp.csc_matrix(X), Y)
    assert spy == [Y.shape[1]]  # only the dense fit was batched
    for t in range(Y.shape[1]):
        po = _obj(X, Y[:, t], dense.coef_[t], dense.intercept_[t], a)
        ps = _obj(X, Y[:, t], csc.coef_[t], csc.intercept_[t], a)
        assert abs(po - ps) <= 1e-8 * po


def test_penalized_regression_and_path_batched(spy):
    X, Y = _problem(N=40, L=4, seed=7)
    a = alpha_max(X, Y) / 8
    pr = PenalizedRegression(Quadratic(), L1(a), AndersonCD(tol=1e-12)).fit(X, Y)
    la = Lasso(alpha=a, tol=1e-12).fit(X, Y)
    assert len(spy) == 2
    np.testing.assert_allclose(pr.coef_, la.coef_, atol=1e-8)
    # a path over several alphas: one batched call per alpha, warm-started
    alphas = a * np.array([4.0, 2.0, 1.0])
    spy.clear()
    _, coefs, gaps = lasso_path(X - X.mean(0), Y - Y.mean(0), alphas=alphas, tol=1e-12)[:3]
    assert spy == [Y.shape[1]] * alphas.size
    assert coefs.shape == (Y.shape[1], X.shape[1], alphas.size)
    np.testing.assert_allclose(coefs[:, :, -1], la.coef_, atol=1e-6)
    assert np.all(gaps[:, -1] <= 1e-12 * np.sum((Y - Y.mean(0)) ** 2, 0) / (2 * len(Y)))


def test_warm_start_and_zero_target(spy):
    X, Y = _problem(N=30, L=3, seed=8)
    Y[:, 1] = 0.0  # a zero target: coefficients 0, gap 0
    a = alpha_max(X, Y) / 10
    reg = Lasso(alpha=a, tol=1e-10, warm_start=True).fit(X, Y)
    assert np.all(reg.coef_[1] == 0) and reg.dual_gap_[1] == 0
    first = reg.coef_.copy()
    reg.fit(X, Y)  # restarts from the solution: converged at once
    assert np.all(reg.n_iter_ <= 2)
    np.testing.assert_allclose(reg.coef_, first, atol=1e-8)


def test_wide_design_keeps_working_set_path(spy):
    X, Y = _problem(n=20, N=90, L=3, seed=9)  # N > 3 n: the Gram kernel would lose
    a = alpha_max(X, Y) / 5
    multi = Lasso(alpha=a, tol=1e-12).fit(X, Y)
    assert spy == []
    for t in range(Y.shape[1]):
        one = Lasso(alpha=a, tol=1e-12).fit(X, Y[:, t])
        np.testing.assert_allclose(multi.coef_[t], one.coef_, atol=1e-10)
