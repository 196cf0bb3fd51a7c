"""Registered encoders: sparse_encode(algorithm=...) against the estimators."""

import numpy as np
import pytest
from sklearn.decomposition import sparse_encode as sk_sparse_encode

from sparsecode import LADLasso, SqrtLasso, sparse_encode
from sparsecode._registry import available_encoders


def _data(seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((30, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((12, 30))
    for i in range(12):
        C[i, rng.choice(30, 3, replace=False)] = rng.standard_normal(3)
    return C @ D + 0.01 * rng.standard_normal((12, 16)), D


def test_registered():
    assert {"lasso", "weighted_lasso", "sqrt_lasso", "lad_lasso", "mcp"} <= set(
        available_encoders())


def test_lasso_encoder_equals_sklearn():
    X, D = _data()
    ours = sparse_encode(X, D, algorithm="lasso", alpha=0.02, tol=1e-12)
    sk = sk_sparse_encode(X, D, algorithm="lasso_cd", alpha=0.02, max_iter=100_000)
    np.testing.assert_allclose(ours, sk, atol=1e-4)
    w = sparse_encode(X, D, algorithm="weighted_lasso", alpha=0.02, weights=np.ones(30),
                      tol=1e-12)
    np.testing.assert_allclose(w, ours, atol=1e-10)


def test_sqrt_and_lad_encoders_equal_estimators():
    X, D = _data(1)
    n = X.shape[1]
    A = D.T
    codes = sparse_encode(X, D, algorithm="sqrt_lasso", alpha=0.6, tol=1e-10)
    for i in range(3):
        # unnormalised ||x - A c|| + alpha||c||_1 == SqrtLasso(alpha / sqrt(n))
        ref = SqrtLasso(alpha=0.6 / np.sqrt(n), fit_intercept=False, tol=1e-10).fit(A, X[i])
        np.testing.assert_allclose(codes[i], ref.coef_, atol=1e-5)
    # batched PDHG: first-order, certified by its gap (1e-4 relative asked)
    lad = sparse_encode(X[:3], D, algorithm="lad_lasso", alpha=0.1, tol=1e-4, max_iter=50_000)
    for i in range(3):
        ref = LADLasso(alpha=0.1 / n, fit_intercept=False, tol=1e-10).fit(A, X[i])
        p = lambda c: np.abs(X[i] - A @ c).sum() + 0.1 * np.abs(c).sum()  # noqa: E731
        assert -1e-12 <= p(lad[i]) - p(ref.coef_) <= 1e-4 * np.abs(X[i]).sum()


def test_mcp_encoder_and_errors():
    X, D = _data(2)
    from sparsecode.convex._prox import prox_mcp

    codes = sparse_encode(X, D, algorithm="mcp", alpha=0.05, tol=1e-10)
    assert codes.shape == (12, 30)
    # each code is a coordinate-wise fixed point of 1/2||x - D^T c||^2 + sum MCP(c_k)
    G = D @ D.T
    for i in range(12):
        c = D @ X[i] - G @ codes[i]
        for k in range(30):
            z = prox_mcp(codes[i, k] + c[k] / G[k, k], 1 / G[k, k], 0.05, 3.0)
            assert G[k, k] * abs(z - codes[i, k]) <= 1e-8 * np.max(np.abs(D @ X[i]))
    with pytest.raises(ValueError, match="alpha"):
        sparse_encode(X, D, algorithm="lasso")
    with pytest.raises(ValueError, match="weights"):
        sparse_encode(X, D, algorithm="weighted_lasso", alpha=0.1, weights=np.ones(3))
