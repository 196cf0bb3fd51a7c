"""LAD-LASSO: interior-point + crossover inner solver of the working-set LP.

References: the full LP solved independently here by scipy ``linprog``
(HiGHS), scikit-learn's ``QuantileRegressor(quantile=0.5)``, the LP duality
gap and the KKT conditions of the vertex.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sparsecode import LADLasso
from sparsecode.convex._solvers import lp as LP
from sparsecode.convex._solvers.lad_ipm import lad_ipm, solve_restricted


def lad_objective(X, y, w, b, alpha, weights=None, sw=None):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else np.asarray(sw, float) * n / np.sum(sw)
    weights = np.ones(X.shape[1]) if weights is None else np.asarray(weights, float)
    r = y - X @ w - b
    nz = w != 0
    return float(sw @ np.abs(r)) / n + alpha * float(np.sum(weights[nz] * np.abs(w[nz])))


def reference_lp(X, y, alpha, weights=None, sw=None, fit_intercept=False, positive=False):
    """The full LAD-LASSO LP, built here from scratch and solved by HiGHS."""
    n, p = X.shape
    sw = np.ones(n) if sw is None else np.asarray(sw, float) * n / np.sum(sw)
    weights = np.ones(p) if weights is None else np.asarray(weights, float)
    keep = np.flatnonzero(np.isfinite(weights))
    Xk = X[:, keep]
    lam = alpha * weights[keep]
    blocks, cost = [Xk], [lam]
    if not positive:
        blocks.append(-Xk)
        cost.append(lam)
    if fit_intercept:
        blocks += [np.ones((n, 1)), -np.ones((n, 1))]
        cost += [np.zeros(1), np.zeros(1)]
    blocks += [np.eye(n), -np.eye(n)]
    cost += [sw / n, sw / n]
    res = linprog(np.concatenate(cost), A_eq=np.hstack(blocks), b_eq=y, bounds=(0, None),
                  method="highs")
    assert res.status == 0
    k = keep.size
    z = res.x
    w = np.zeros(p)
    w[keep] = z[:k] - (0 if positive else z[k:2 * k])
    off = k if positive else 2 * k
    b = z[off] - z[off + 1] if fit_intercept else 0.0
    return w, b, res.fun


def problem(n, p, seed, k=5, outliers=0.1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    w = np.zeros(p)
    w[rng.choice(p, min(k, p), replace=False)] = rng.standard_normal(min(k, p)) * 3
    y = X @ w + 0.3 * rng.standard_normal(n)
    bad = rng.random(n) < outliers
    y[bad] += 20 * rng.standard_normal(bad.sum())
    return X, y


def amax(X, y):
    return float(np.max(np.abs(X.T @ np.sign(y)))) / X.shape[0]


@pytest.fixture
def no_simplex(monkeypatch):
    """Fail if the HiGHS fallback is used: the IPM + crossover must do the work."""
    def boom(*args, **kwargs):
        raise AssertionError("HiGHS fallback used")
    monkeypatch.setattr(LP, "_restricted_lp", boom)


@pytest.mark.parametrize("n,p,frac,icpt", [(60, 200, 0.2, False), (60, 200, 0.05, True),
                                           (150, 40, 0.1, True), (40, 40, 0.3, False),
                                           (80, 500, 0.02, False)])
def test_equals_full_lp(n, p, frac, icpt, no_simplex):
    X, y = problem(n, p, seed=n + p)
    alpha = frac * amax(X, y)
    reg = LADLasso(alpha=alpha, fit_intercept=icpt, tol=1e-10).fit(X, y)
    _, _, fref = reference_lp(X, y, alpha, fit_intercept=icpt)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, alpha)
    assert abs(f - fref) <= 1e-9 * fref
    assert reg.dual_gap_ <= 1e-10 * lad_objective(X, y, 0 * reg.coef_, 0.0, alpha) + 1e-15
    # exact vertex: at most n - (intercept) nonzero coefficients, zero residuals
    # on at least as many rows as there are nonzeros (plus the intercept)
    r = y - X @ reg.coef_ - reg.intercept_
    nnz = np.count_nonzero(reg.coef_)
    assert np.count_nonzero(np.abs(r) <= 1e-9 * np.max(np.abs(y))) >= nnz + icpt


def test_weights_sample_weight_intercept(no_simplex):
    X, y = problem(70, 120, seed=3)
    rng = np.random.default_rng(3)
    wts = rng.uniform(0.5, 2.0, 120)
    wts[:3] = 0.0        # unpenalised
    wts[3:6] = np.inf    # excluded
    sw = rng.uniform(0.2, 3.0, 70)
    sw[:4] = 0.0         # rows that do not count
    alpha = 0.1 * amax(X, y)
    reg = LADLasso(alpha=alpha, weights=wts, tol=1e-10).fit(X, y, sample_weight=sw)
    wref, bref, _ = reference_lp(X, y, alpha, weights=wts, sw=sw, fit_intercept=True)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, alpha, wts, sw)
    fref = lad_objective(X, y, wref, bref, alpha, wts, sw)
    assert abs(f - fref) <= 1e-9 * fref
    assert np.all(reg.coef_[3:6] == 0)


def test_matches_quantile_regressor():
    from sklearn.linear_model import QuantileRegressor

    X, y = problem(50, 80, seed=7)
    alpha = 0.15 * amax(X, y)
    reg = LADLasso(alpha=alpha).fit(X, y)
    qr = QuantileRegressor(quantile=0.5, alpha=alpha / 2, solver="highs").fit(X, y)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, alpha)
    fq = lad_objective(X, y, qr.coef_, qr.intercept_, alpha)
    assert abs(f - fq) <= 1e-9 * fq


def test_positive_and_sparse():
    X, y = problem(60, 150, seed=11)
    alpha = 0.1 * amax(X, y)
    reg = LADLasso(alpha=alpha, positive=True, tol=1e-10).fit(X, y)
    w, b, _ = reference_lp(X, y, alpha, fit_intercept=True, positive=True)
    assert np.all(reg.coef_ >= 0)
    f, fref = (lad_objective(X, y, reg.coef_, reg.intercept_, alpha),
               lad_objective(X, y, w, b, alpha))
    assert abs(f - fref) <= 1e-9 * fref
    Xs = sp.random(60, 150, density=0.2, random_state=1, format="csr",
                   data_rvs=np.random.default_rng(1).standard_normal)
    ys = np.asarray(Xs[:, :3].sum(axis=1)).ravel()
    ys += 0.1 * np.random.default_rng(2).standard_normal(60)
    a = 0.1 * amax(Xs.toarray(), ys)
    regs = LADLasso(alpha=a, tol=1e-10).fit(Xs, ys)
    w, b, _ = reference_lp(Xs.toarray(), ys, a, fit_intercept=True)
    fs, fref = (lad_objective(Xs.toarray(), ys, regs.coef_, regs.intercept_, a),
                lad_objective(Xs.toarray(), ys, w, b, a))
    assert abs(fs - fref) <= 1e-9 * fref


@pytest.mark.parametrize("case", ["duplicated", "ties", "centred", "interpolating"])
def test_degenerate_problems(case, no_simplex):
    rng = np.random.default_rng(5)
    n, p = 40, 60
    X, y = problem(n, p, seed=5)
    icpt = True
    frac = 0.1
    if case == "duplicated":
        X[:, 10:20] = X[:, :10]
    elif case == "ties":
        X = rng.integers(-2, 3, size=(n, p)).astype(float)
        y = rng.integers(-3, 4, size=n).astype(float)
    elif case == "centred":
        # 1^T X = 0 and 1^T y = 0: every basis touching all rows is singular
        X -= X.mean(0)
        y -= y.mean()
        icpt = False
    else:
        X -= X.mean(0)
        y -= y.mean()
        icpt, frac = False, 0.01
    alpha = frac * amax(X, y)
    reg = LADLasso(alpha=alpha, fit_intercept=icpt, tol=1e-10).fit(X, y)
    _, _, fref = reference_lp(X, y, alpha, fit_intercept=icpt)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, alpha)
    assert abs(f - fref) <= 1e-9 * max(fref, 1e-12)


def test_zero_target_and_alpha_max():
    X, y = problem(30, 50, seed=2)
    reg = LADLasso(alpha=0.3).fit(X, np.zeros(30))
    assert np.all(reg.coef_ == 0) and reg.intercept_ == 0
    am = amax(X, y - np.median(y))
    reg = LADLasso(alpha=1.0001 * am).fit(X, y)
    assert np.all(reg.coef_ == 0)
    # the intercept is a median of y (any point between the middle values)
    assert np.mean(np.abs(y - reg.intercept_)) == pytest.approx(np.mean(np.abs(y - np.median(y))),
                                                                 rel=1e-12)


@pytest.mark.parametrize("drop", [False, True])
def test_k_form_and_n_form_agree(drop):
    # the two reductions of the Newton system reach the same optimal vertex,
    # with a dual certificate of zero gap
    X, y = problem(120, 60, seed=9)
    n, p = X.shape
    lam = np.full(p, 0.1 * amax(X, y))
    c = np.full(n, 1.0 / n)
    F = np.ones((n, 1))
    outs = []
    for form in "nk":
        got = solve_restricted(np.asfortranarray(X), F, y, lam, c, False, 1e-11, form=form,
                               drop=drop)
        assert got is not None
        w, f, theta = got[:3]
        assert np.max(np.abs(X.T @ theta) / lam) <= 1 + 1e-9
        assert np.max(np.abs(theta) / c) <= 1 + 1e-9
        assert abs(F.T @ theta)[0] <= 1e-12
        primal = c @ np.abs(y - X @ w - f[0]) + lam @ np.abs(w)
        assert primal - y @ theta <= 1e-12 * primal
        outs.append(w)
    np.testing.assert_allclose(outs[0], outs[1], atol=1e-10)
    # the raw interior point (no crossover) is close to it
    res = lad_ipm(np.asfortranarray(X), F, y, lam, c, False, drop=False, tol=1e-7)
    np.testing.assert_allclose(res["a"] - res["g"], outs[0], atol=1e-4)


def test_fallback_without_ipm_same_answer():
    X, y = problem(50, 90, seed=4)
    alpha = 0.1 * amax(X, y)
    from sparsecode.convex import WorkingSetLP, PenalizedRegression, AbsoluteDeviation, L1

    ipm = PenalizedRegression(AbsoluteDeviation(), L1(alpha), solver=WorkingSetLP(tol=1e-10))
    hig = PenalizedRegression(AbsoluteDeviation(), L1(alpha),
                              solver=WorkingSetLP(tol=1e-10, method="highs"))
    f1 = lad_objective(X, y, ipm.fit(X, y).coef_, ipm.intercept_, alpha)
    f2 = lad_objective(X, y, hig.fit(X, y).coef_, hig.intercept_, alpha)
    assert abs(f1 - f2) <= 1e-9 * f2


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10 ** 6), sx=st.floats(0.1, 10.0), sy=st.floats(0.1, 10.0))
def test_scaling_invariance(seed, sx, sy):
    # w(s_x X, s_y y, alpha s_y / ... ): coefficients scale by s_y / s_x when
    # alpha is scaled by s_y (the datafit scales by s_y, the penalty by s_y)
    X, y = problem(30, 45, seed=seed)
    alpha = 0.1 * amax(X, y)
    r1 = LADLasso(alpha=alpha, tol=1e-10).fit(X, y)
    r2 = LADLasso(alpha=alpha * sx, tol=1e-10).fit(X * sx, y * sy)
    f1 = lad_objective(X, y, r1.coef_, r1.intercept_, alpha)
    f2 = lad_objective(X * sx, y * sy, r2.coef_, r2.intercept_, alpha * sx)
    assert abs(f2 - sy * f1) <= 1e-9 * sy * f1


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_permutation_equivariance(seed):
    X, y = problem(30, 45, seed=seed)
    rng = np.random.default_rng(seed)
    pc, pr = rng.permutation(45), rng.permutation(30)
    alpha = 0.1 * amax(X, y)
    r1 = LADLasso(alpha=alpha, tol=1e-10).fit(X, y)
    r2 = LADLasso(alpha=alpha, tol=1e-10).fit(X[pr][:, pc], y[pr])
    f1 = lad_objective(X, y, r1.coef_, r1.intercept_, alpha)
    f2 = lad_objective(X, y, r2.coef_[np.argsort(pc)], r2.intercept_, alpha)
    assert abs(f1 - f2) <= 1e-9 * f1


@pytest.mark.parametrize("icpt", [False, True])
def test_sparse_design_by_ipm(icpt, no_simplex):
    # scipy.sparse designs keep a sparse Newton product (no densification)
    rng = np.random.default_rng(8)
    X = sp.random(60, 400, density=0.1, random_state=8, format="csc",
                  data_rvs=rng.standard_normal)
    y = np.asarray(X[:, :4].sum(axis=1)).ravel() + 0.2 * rng.standard_t(2, 60)
    alpha = 0.05 * amax(X.toarray(), y)
    reg = LADLasso(alpha=alpha, fit_intercept=icpt, tol=1e-10).fit(X, y)
    w, b, _ = reference_lp(X.toarray(), y, alpha, fit_intercept=icpt)
    f = lad_objective(X.toarray(), y, reg.coef_, reg.intercept_, alpha)
    fref = lad_objective(X.toarray(), y, w, b, alpha)
    assert abs(f - fref) <= 1e-9 * fref


def test_wide_design_column_generation(no_simplex):
    # p > 4 n: the first working set is a screened subset, violated columns
    # enter round after round until the certificate holds on every column
    X, y = problem(25, 400, seed=12)
    alpha = 0.02 * amax(X, y)
    reg = LADLasso(alpha=alpha, tol=1e-10).fit(X, y)
    w, b, fref = reference_lp(X, y, alpha, fit_intercept=True)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, alpha)
    assert abs(f - fref) <= 1e-9 * fref
    assert reg.n_iter_ >= 2  # several column-generation rounds were needed


@pytest.mark.parametrize("icpt", [False, True])
def test_pure_lad_alpha_zero(icpt, no_simplex):
    # alpha = 0: least absolute deviations, every column free (as used by the
    # LAD loss-function OMP on its support)
    X, y = problem(90, 12, seed=13, outliers=0.2)
    sw = np.random.default_rng(13).uniform(0.5, 2.0, 90)
    reg = LADLasso(alpha=0.0, fit_intercept=icpt, tol=1e-10).fit(X, y, sample_weight=sw)
    w, b, _ = reference_lp(X, y, 0.0, sw=sw, fit_intercept=icpt)
    f = lad_objective(X, y, reg.coef_, reg.intercept_, 0.0, sw=sw)
    fref = lad_objective(X, y, w, b, 0.0, sw=sw)
    assert abs(f - fref) <= 1e-9 * fref
    # an exact LAD fit interpolates at least as many points as it has columns
    r = y - X @ reg.coef_ - reg.intercept_
    assert np.count_nonzero(np.abs(r) <= 1e-9 * np.max(np.abs(y))) >= 12 + icpt
