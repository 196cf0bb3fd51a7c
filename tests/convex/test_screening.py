"""Gap-safe screening (spec poisson-gamp-unmixing-lars section 4): safety of the
sphere test at any point, power near the optimum, same solutions with and
without screening."""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sparsecode.convex import L1, AndersonCD, MultiTaskLasso, PenalizedRegression, Quadratic, \
    WeightedL1, alpha_max
from sparsecode.convex._solvers.cd import gap_safe_screen


def _design(n, N, seed, rho=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    if rho:
        X = np.sqrt(1 - rho) * X + np.sqrt(rho) * rng.standard_normal((n, 1))
    w = np.zeros(N)
    w[rng.choice(N, 10, replace=False)] = rng.standard_normal(10)
    return X, X @ w + 0.2 * rng.standard_normal(n)


def _gap_and_screen(X, y, w, alpha, positive=False, weights=None):
    n, N = X.shape
    thr = alpha * (np.ones(N) if weights is None else weights)
    R = y - X @ w
    corr = X.T @ R / n
    c = np.maximum(corr, 0) if positive else np.abs(corr)
    fin = np.isfinite(thr) & (thr > 0)
    scale = max(1.0, float(np.max(c[fin] / thr[fin])))
    primal = R @ R / (2 * n) + float(np.sum(thr[w != 0] * np.abs(w[w != 0])))
    d = y - R / scale
    gap = primal - (y @ y - d @ d) / (2 * n)
    lips = (X ** 2).sum(axis=0) / n
    return gap, gap_safe_screen(corr, scale, gap, lips, thr, positive)


def _reference(X, y, alpha, positive=False, weights=None):
    pen = L1(alpha, positive=positive) if weights is None else \
        WeightedL1(alpha, weights, positive=positive)
    return PenalizedRegression(Quadratic(), pen, AndersonCD(tol=1e-14, screening=False,
                                                            max_iter=500),
                               fit_intercept=False).fit(X, y).coef_


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 10_000), frac=st.floats(0.02, 0.9), corr=st.sampled_from([0.0, 0.8]),
       positive=st.booleans(), noise=st.floats(0.0, 1.0))
def test_screening_never_discards_an_active_feature(seed, frac, corr, positive, noise):
    X, y = _design(40, 120, seed, corr)
    a = alpha_max(X, y, fit_intercept=False, positive=positive) * frac
    assume(a > 0)
    ref = _reference(X, y, a, positive)
    # any primal point: the optimum perturbed, or far from it
    rng = np.random.default_rng(seed + 1)
    w = ref + noise * rng.standard_normal(ref.size) * (rng.random(ref.size) < 0.2)
    if positive:
        w = np.maximum(w, 0)
    gap, drop = _gap_and_screen(X, y, w, a, positive)
    assert gap >= -1e-10
    assert not np.any(drop & (np.abs(ref) > 1e-10))


def test_screening_weighted_safety():
    X, y = _design(50, 150, 3, 0.5)
    wts = np.random.default_rng(0).uniform(0.2, 3.0, 150)
    wts[:3] = 0.0
    a = alpha_max(X, y, fit_intercept=False, weights=wts) / 4
    ref = _reference(X, y, a, weights=wts)
    for noise in (0.0, 0.05, 0.5):
        w = ref + noise * np.random.default_rng(1).standard_normal(ref.size)
        w[:3] = ref[:3]  # the unpenalised coordinates at their optimal values
        gap, drop = _gap_and_screen(X, y, w, a, weights=wts)
        assert not drop[:3].any()
        assert not np.any(drop & (ref != 0))


def test_screening_power_near_the_optimum():
    # spec 4: lambda = lambda_max / 2, gap <= 1e-6 P(0): >= 80 % of the zeros screened
    for seed, rho in ((0, 0.0), (1, 0.8)):
        X, y = _design(100, 500, seed, rho)
        a = alpha_max(X, y, fit_intercept=False) / 2
        w = PenalizedRegression(Quadratic(), L1(a), AndersonCD(tol=1e-6, screening=False),
                                fit_intercept=False).fit(X, y).coef_
        gap, drop = _gap_and_screen(X, y, w, a)
        assert gap <= 1e-6 * (y @ y) / (2 * len(y))
        zeros = w == 0
        assert drop[zeros].mean() >= 0.8
        assert not drop[~zeros].any()


def test_screened_solver_same_solution_and_certificate():
    X, y = _design(80, 400, 5, 0.6)
    X = np.asfortranarray(X)
    for div in (2, 10, 50):
        a = alpha_max(X, y) / div
        fits = [PenalizedRegression(Quadratic(), L1(a), AndersonCD(tol=1e-10, screening=s))
                .fit(X, y) for s in (True, False)]
        np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, atol=1e-6)
        P0 = np.var(y) / 2
        assert fits[0].dual_gap_ <= 1e-10 * P0


def test_multitask_screening_same_solution():
    from sparsecode.convex._solvers.multitask import solve_multitask

    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 300))
    W = np.zeros((300, 3))
    W[:5] = rng.standard_normal((5, 3))
    Y = X @ W + 0.1 * rng.standard_normal((60, 3))
    a = np.sqrt(((X.T @ Y) ** 2).sum(axis=1)).max() / 60 / 4
    on = solve_multitask(X, Y, a, tol=1e-12, screening=True)
    off = solve_multitask(X, Y, a, tol=1e-12, screening=False)
    np.testing.assert_allclose(on["W"], off["W"], atol=1e-8)
    assert on["n_screened"] > 0 and off["n_screened"] == 0
    # every screened row is zero in the unscreened solution
    assert MultiTaskLasso(alpha=a, fit_intercept=False, tol=1e-12).fit(X, Y).n_screened_ > 0
