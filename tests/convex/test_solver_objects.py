"""Solver objects: declared requirements, ``solve``, user penalties on the
compiled kernels (same result as the built-in penalty, KKT certificate),
declared convexity, and the matrix-free route of the estimators."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode.convex import (L1, MCP, PDHG, AbsoluteDeviation, AndersonCD, ConcomitantCD,
                               ElasticNet, Lasso, PenalizedRegression, Quadratic, SqrtLasso,
                               SqrtQuadratic, WorkingSetLP, alpha_max)
from sparsecode.convex._solvers.base import BaseSolver


class MyL1:
    """A user L1 penalty: a plain class whose methods Numba compiles."""

    is_convex = True

    def __init__(self, alpha):
        self.alpha = alpha

    def get_spec(self):
        from numba import float64
        return (("alpha", float64),)

    def params_to_dict(self):
        return dict(alpha=self.alpha)

    def value(self, w):
        return self.alpha * np.sum(np.abs(w))

    def prox_1d(self, value, stepsize, j):
        t = stepsize * self.alpha
        if value > t:
            return value - t
        if value < -t:
            return value + t
        return 0.0


class MyWeightedL1(MyL1):
    """Array parameter, per-feature prox (weight 0: unpenalised)."""

    def __init__(self, alpha, weights):
        self.alpha = alpha
        self.weights = weights

    def params_to_dict(self):
        return dict(alpha=self.alpha, weights=np.asarray(self.weights, dtype=float))

    def value(self, w):
        return self.alpha * np.sum(self.weights * np.abs(w))

    def prox_1d(self, value, stepsize, j):
        t = stepsize * self.alpha * self.weights[j]
        return np.sign(value) * max(abs(value) - t, 0.0)


class NotDeclaredL1(MyL1):
    is_convex = False


def _problem(n=50, N=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[:5] = rng.standard_normal(5)
    return X, X @ w + 0.1 * rng.standard_normal(n) + 1.0


def test_declared_requirements():
    assert issubclass(AndersonCD, BaseSolver) and issubclass(PDHG, BaseSolver)
    assert "prox_1d" in AndersonCD.penalty_requires
    assert "gradient_scalar" in AndersonCD.datafit_requires
    assert ConcomitantCD.requires_convex and ConcomitantCD.builtin_penalties_only
    AndersonCD().validate(Quadratic(), MyL1(0.1))
    PDHG().validate(SqrtQuadratic(), MyL1(0.1))
    with pytest.raises(ValueError, match="AndersonCD needs a smooth datafit"):
        AndersonCD().validate(AbsoluteDeviation(), L1(0.1))
    with pytest.raises(ValueError, match="not convex"):
        PDHG().validate(SqrtQuadratic(), NotDeclaredL1(0.1))
    with pytest.raises(ValueError, match="built-in penalties only"):
        WorkingSetLP().validate(AbsoluteDeviation(), MyL1(0.1))

    class NoProx:
        def value(self, w):
            return 0.0

    with pytest.raises(TypeError, match="lacks prox_1d"):
        AndersonCD().validate(Quadratic(), NoProx())


def test_solve_method_matches_estimator():
    X, y = _problem()
    a = alpha_max(X, y) / 5
    res = AndersonCD(tol=1e-10).solve(X, y, Quadratic(), L1(a), fit_intercept=True)
    est = Lasso(alpha=a, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(res.coef[:, 0], est.coef_, atol=1e-9)
    np.testing.assert_allclose(res.intercept[0], est.intercept_, atol=1e-9)
    assert res.converged and res.dual_gap[0] <= 1e-10 * np.var(y) / 2


@pytest.mark.parametrize("fmt", ["dense", "csc", "csr"])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_user_penalty_equals_builtin(fmt, fit_intercept):
    X, y = _problem(seed=1)
    a = alpha_max(X, y, fit_intercept=fit_intercept) / 8
    Xf = X if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(X)
    user = PenalizedRegression(Quadratic(), MyL1(a), AndersonCD(tol=1e-10),
                               fit_intercept=fit_intercept).fit(Xf, y)
    ref = Lasso(alpha=a, fit_intercept=fit_intercept, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(user.coef_, ref.coef_, atol=1e-7)
    np.testing.assert_allclose(user.intercept_, ref.intercept_, atol=1e-7)
    # KKT certificate: the fixed-point residual, below tol * ||X^T y||_inf / n
    assert user.kkt_violation_ <= 1e-10 * np.max(np.abs(X.T @ (y - fit_intercept * y.mean())))
    assert np.isnan(user.dual_gap_)


def test_user_penalty_array_parameter_and_float32():
    X, y = _problem(seed=2)
    wts = np.linspace(0.5, 2.0, X.shape[1])
    wts[0] = 0.0
    a = 0.05
    user = PenalizedRegression(Quadratic(), MyWeightedL1(a, wts), AndersonCD(tol=1e-10),
                               fit_intercept=False).fit(X, y)
    from sparsecode.convex import WeightedL1

    ref = PenalizedRegression(Quadratic(), WeightedL1(a, wts), AndersonCD(tol=1e-12),
                              fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(user.coef_, ref.coef_, atol=1e-7)
    u32 = PenalizedRegression(Quadratic(), MyL1(a), fit_intercept=False).fit(
        X.astype(np.float32), y.astype(np.float32))
    assert u32.coef_.dtype == np.float32


def test_user_convex_penalty_with_sqrt_and_lad():
    # convexity is declared: the square-root / LAD problems accept the user
    # penalty (the primal-dual solver runs its compiled prox)
    X, y = _problem(n=40, N=30, seed=3)
    a = 0.1
    for df, ref in ((SqrtQuadratic(), SqrtLasso(alpha=a, tol=1e-10, fit_intercept=False)),):
        user = PenalizedRegression(df, MyL1(a), PDHG(tol=1e-9, max_iter=200_000),
                                   fit_intercept=False).fit(X, y)
        ref.fit(X, y)
        np.testing.assert_allclose(user.coef_, ref.coef_, atol=1e-4)
    lad = PenalizedRegression(AbsoluteDeviation(), MyL1(0.02), fit_intercept=False).fit(X, y)
    assert lad.coef_.shape == (30,) and np.all(np.isfinite(lad.coef_))
    with pytest.raises(ValueError, match="not convex"):
        PenalizedRegression(SqrtQuadratic(), NotDeclaredL1(a)).fit(X, y)
    with pytest.raises(ValueError, match="not convex"):
        PenalizedRegression(SqrtQuadratic(), MCP(a)).fit(X, y)


def test_matrix_free_route():
    pytest.importorskip("sparsecode.convex._operator_solvers")
    from scipy.sparse.linalg import aslinearoperator

    X, y = _problem(n=40, N=60, seed=4)
    X = X - X.mean(axis=0)
    y = y - y.mean()
    a = alpha_max(X, y, fit_intercept=False) / 5
    for est in (Lasso(alpha=a, fit_intercept=False, tol=1e-10),
                ElasticNet(alpha=a, l1_ratio=0.6, fit_intercept=False, tol=1e-10)):
        dense = est.fit(X, y).coef_.copy()
        op = est.fit(aslinearoperator(X), y)
        np.testing.assert_allclose(op.coef_, dense, atol=1e-5)
        np.testing.assert_allclose(op.predict(aslinearoperator(X)), X @ dense, atol=1e-4)
    with pytest.raises(ValueError, match="fit_intercept"):
        Lasso(alpha=a).fit(aslinearoperator(X), y)
    Xc = X + 1j * np.random.default_rng(0).standard_normal(X.shape)
    r = Lasso(alpha=a, fit_intercept=False).fit(Xc, Xc[:, :2].sum(axis=1))
    assert np.iscomplexobj(r.coef_)
    with pytest.raises(ValueError, match="Complex data not supported"):
        ElasticNet(alpha=a, fit_intercept=False).fit(Xc, y)
    from sparsecode.convex import WeightedLasso

    with pytest.raises(ValueError, match="Complex data not supported"):
        WeightedLasso(alpha=a).fit(Xc, y)


class HalfQuadratic(Quadratic):
    """A user datafit: ``Quadratic`` with its own ``value`` (the generic kernel)."""

    def value(self, y, w, Xw):
        return np.sum((y - Xw) ** 2) / (2.0 * y.shape[0])


def test_user_datafit_fits_on_the_generic_kernel():
    from sparsecode.convex._fit import datafit_kind

    assert datafit_kind(HalfQuadratic()) == "generic"
    rng = np.random.default_rng(3)
    X = rng.standard_normal((40, 30))
    w = np.zeros(30)
    w[:5] = rng.standard_normal(5)
    y = X @ w + 0.1 * rng.standard_normal(40)
    y = y - y.mean()
    m = PenalizedRegression(HalfQuadratic(), L1(0.05), AndersonCD(tol=1e-8),
                            fit_intercept=False).fit(X, y)
    r = Lasso(alpha=0.05, fit_intercept=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(m.coef_, r.coef_, atol=1e-5)
    # and with a user penalty (its jitclass) on the same kernel
    u = PenalizedRegression(HalfQuadratic(), MyL1(0.05), AndersonCD(tol=1e-8),
                            fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(u.coef_, r.coef_, atol=1e-5)


def test_user_datafit_with_a_penalty_without_spec_names_what_to_add():
    class NoSpecL1:  # prox_1d reads an attribute that params_to_dict does not give
        def __init__(self, alpha):
            self.alpha = alpha
            self.scale = 1.0

        def params_to_dict(self):
            return dict(alpha=self.alpha)

        def value(self, w):
            return self.alpha * np.sum(np.abs(w))

        def prox_1d(self, value, stepsize, j):
            return np.sign(value) * max(abs(value) - stepsize * self.alpha * self.scale, 0.0)

    X, y = _problem()
    with pytest.raises(TypeError, match="get_spec"):
        PenalizedRegression(HalfQuadratic(), NoSpecL1(0.1), fit_intercept=False).fit(X, y)
