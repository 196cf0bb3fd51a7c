"""Paths and cross-validation."""

import numpy as np
import pytest
from sklearn.linear_model import lasso_path as sk_lasso_path

from sparsecode import (LADLassoCV, LassoCV, SqrtLassoCV, WeightedLassoCV, alpha_max,
                        lad_lasso_path, lasso_path, sqrt_lasso_path, weighted_lasso_path)


def _problem(n=60, N=100, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[:5] = [3, -2, 1.5, 2, -1]
    return X, X @ w + 0.1 * rng.standard_normal(n)


def test_lasso_path_equals_sklearn():
    X, y = _problem()
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=15, tol=1e-10)
    np.testing.assert_allclose(alphas[0], np.max(np.abs(X.T @ y)) / len(y))
    _, sk, _ = sk_lasso_path(X, y, alphas=alphas, tol=1e-14, max_iter=100_000)
    np.testing.assert_allclose(coefs, sk, atol=1e-6)
    assert np.all(coefs[:, 0] == 0) and np.all(gaps <= 1e-10 * (y @ y) / (2 * len(y)))


def test_multitarget_paths_and_grids():
    X, y = _problem(seed=1)
    Y = np.c_[y, -y]
    alphas, coefs, gaps = lasso_path(X, Y, n_alphas=5)
    assert coefs.shape == (2, 100, 5) and gaps.shape == (2, 5)
    np.testing.assert_allclose(coefs[0], -coefs[1], atol=1e-6)
    w = np.ones(100)
    w[0] = 0
    _, c, _ = weighted_lasso_path(X, y, w, n_alphas=4)
    assert c[0, 0] != 0 and np.all(c[1:, 0] == 0)
    for fn, kind in [(sqrt_lasso_path, "sqrt"), (lad_lasso_path, "lad")]:
        a, c, g = fn(X, y, n_alphas=4, eps=0.1)
        np.testing.assert_allclose(a[0], alpha_max(X, y, datafit=kind, fit_intercept=False))
        assert np.all(c[:, 0] == 0) and np.any(c[:, -1] != 0)


def test_cv_estimators_select_and_refit():
    X, y = _problem(80, 40, seed=2)
    for est in [LassoCV(n_alphas=8, cv=3), WeightedLassoCV(n_alphas=8, cv=3),
                SqrtLassoCV(n_alphas=8, cv=3), LADLassoCV(n_alphas=4, cv=3)]:
        est.fit(X, y)
        assert est.alpha_ in est.alphas_
        assert est.mse_path_.shape[1] == 3
        assert set(np.flatnonzero(np.abs(est.coef_) > 0.5)) == set(range(5))
        assert est.score(X, y) > 0.95


def test_path_bad_inputs():
    X, y = _problem()
    with pytest.raises(ValueError, match="eps"):
        lasso_path(X, y, eps=2.0)
    with pytest.raises(ValueError, match="alphas"):
        lasso_path(X, y, alphas=[-1.0, 0.1])
    with pytest.raises(ValueError, match="weights"):
        weighted_lasso_path(X, y, np.ones(3))
