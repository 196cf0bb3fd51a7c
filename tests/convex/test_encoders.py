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
    # exact per-signal LP: the objective of a full HiGHS LP, to rounding
    lad = sparse_encode(X[:4], D, algorithm="lad_lasso", alpha=0.1)
    for i in range(4):
        p = lambda c: np.abs(X[i] - A @ c).sum() + 0.1 * np.abs(c).sum()  # noqa: E731
        ref = _lad_lp_value(A, X[i], 0.1, np.ones(A.shape[1]))
        assert abs(p(lad[i]) - ref) <= 1e-9 * max(ref, 1.0), (p(lad[i]), ref)


def _lad_lp_value(A, x, alpha, w):
    """min ||x - A c||_1 + alpha sum w|c| as a full LP (HiGHS)."""
    from scipy.optimize import linprog

    n, N = A.shape
    # variables c+, c-, u, v >= 0:  A c+ - A c- + u - v = x
    cost = np.concatenate([alpha * w, alpha * w, np.ones(n), np.ones(n)])
    A_eq = np.hstack([A, -A, np.eye(n), -np.eye(n)])
    res = linprog(cost, A_eq=A_eq, b_eq=x, bounds=(0, None), method="highs")
    assert res.status == 0
    return res.fun


def test_lad_encoder_exact_weights_positive_and_threads():
    X, D = _data(4)
    A = D.T
    rng = np.random.default_rng(5)
    w = rng.uniform(0.5, 2.0, D.shape[0])
    w[:2] = 0.0  # unpenalised atoms
    one = sparse_encode(X, D, algorithm="lad_lasso", alpha=0.3, weights=w, n_jobs=1)
    two = sparse_encode(X, D, algorithm="lad_lasso", alpha=0.3, weights=w, n_jobs=2)
    np.testing.assert_array_equal(one, two)
    for i in range(X.shape[0]):
        val = np.abs(X[i] - A @ one[i]).sum() + 0.3 * np.sum(w * np.abs(one[i]))
        ref = _lad_lp_value(A, X[i], 0.3, w)
        assert abs(val - ref) <= 1e-9 * max(ref, 1.0)
    pos = sparse_encode(X, D, algorithm="lad_lasso", alpha=0.3, positive=True)
    assert pos.min() >= 0.0
    # alpha above every |a_j^T sign(x)| bound: the zero code
    big = sparse_encode(X, D, algorithm="lad_lasso", alpha=1e3)
    assert not big.any()


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


def test_lasso_encoder_routes_to_lars_and_matches_gram_cd(monkeypatch):
    """The "lasso" encoder runs the LARS homotopy up to 8192 atoms (exact at
    alpha) and the Gram CD above; both minimise the same objective."""
    from sparsecode.convex import _encoders

    rng = np.random.default_rng(3)
    D = rng.standard_normal((30, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((6, 16))

    def obj(C):
        return 0.5 * ((X - C @ D) ** 2).sum(axis=1) + 0.1 * np.abs(C).sum(axis=1)

    lars = sparse_encode(X, D, algorithm="lasso", alpha=0.1)
    monkeypatch.setattr(_encoders, "_LARS_MAX_ATOMS", 0)
    cd = sparse_encode(X, D, algorithm="lasso", alpha=0.1, tol=1e-12)
    assert np.all(obj(lars) <= obj(cd) + 1e-9)
    np.testing.assert_allclose(lars, cd, atol=1e-6)
