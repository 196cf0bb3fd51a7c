"""The compiled (Cython) twin of the built-in CD kernels equals the Numba kernels.

``sparsecode._ext._convex`` runs the float64 hot path without Numba (whose
process start-up dominates the first fit); the Numba kernels stay for
float32, int64 indices and when the extension is not built.  Reference: the
Numba kernels themselves, run from the same state on the same problem, for
every built-in penalty code, dense and CSC designs, with and without the
intercept column, the sign constraint and Anderson extrapolation.
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode.convex import _prox as P
from sparsecode.convex._solvers import cd

C = pytest.importorskip("sparsecode._ext._convex")

CODES = [P.L1, P.WL1, P.MCP, P.SCAD, P.L0, P.LHALF, P.LTWOTHIRDS, P.CEL0]


def _problem(seed, n=40, N=25, sparse=False):
    rng = np.random.default_rng(seed)
    if sparse:
        X = sp.random(n, N, density=0.3, format="csc", random_state=seed,
                      data_rvs=rng.standard_normal)
        X.sort_indices()
        Xd = X.toarray()
    else:
        Xd = rng.standard_normal((n, N))
        X = np.asfortranarray(Xd)
    y = Xd[:, :4] @ rng.standard_normal(4) + 0.1 * rng.standard_normal(n)
    return X, Xd, y


def _args(X, Xd, y, code, positive, icol, K, seed):
    rng = np.random.default_rng(seed + 1)
    n, N = Xd.shape
    if sp.issparse(X):
        XT = np.zeros((1, 1))
        data, indices, indptr = X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)
    else:
        XT = np.ascontiguousarray(X.T)
        data, indices, indptr = np.zeros(1), np.zeros(1, np.int32), np.zeros(2, np.int32)
    lips = (Xd ** 2).sum(0) / n
    frac = 0.1 if code in (P.L1, P.WL1) else 0.005  # the non-convex ones threshold harder
    alpha = frac * float(np.max(np.abs(Xd.T @ y))) / n
    weights = rng.uniform(0.5, 2.0, N) if code == P.WL1 else np.zeros(0)
    if code == P.WL1:
        weights[0], weights[1] = 0.0, np.inf
    a2s = lips.copy() if code == P.CEL0 else np.zeros(0)
    gamma = 3.0 if code in (P.MCP, P.SCAD) else 0.0
    ws = np.sort(rng.choice(N, 15, replace=False)).astype(np.int64)
    ic = np.ones(n) if icol else np.zeros(0)
    R = y.copy()
    return [sp.issparse(X), XT, data, indices, indptr, R.copy(), np.zeros(N), np.zeros(1), ws,
            lips, code, alpha, gamma, weights, a2s, positive, ic]


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("sparse", [False, True])
def test_cd_inner_same_iterates(code, sparse):
    for positive in (False, True):
        for icol in (False, True):
            for K, max_epochs in ((5, 37), (0, 23), (3, 200)):
                X, Xd, y = _problem(code + 10 * sparse, sparse=sparse)
                a_num = _args(X, Xd, y, code, positive, icol, K, code)
                a_c = [a.copy() if isinstance(a, np.ndarray) else a for a in a_num]
                e1, c1 = cd._cd_inner(*a_num, max_epochs, -1.0, K)
                e2, c2 = C.cd_inner(*a_c, max_epochs, -1.0, K)
                assert e1 == e2
                # (the criterion at convergence is at rounding-noise level)
                np.testing.assert_allclose(c2, c1, rtol=1e-7, atol=1e-9)
                for i in (5, 6, 7):  # R, w, b
                    np.testing.assert_allclose(a_c[i], a_num[i], rtol=1e-7, atol=1e-9)
                assert np.any(a_c[6] != 0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), code=st.sampled_from(CODES),
       positive=st.booleans())
def test_scores_and_l1_stats_equal(seed, code, positive):
    rng = np.random.default_rng(seed)
    N = 30
    w = rng.standard_normal(N) * (rng.random(N) < 0.4)
    grad = rng.standard_normal(N)
    lips = rng.uniform(0.1, 2.0, N)
    lips[0] = 0.0
    weights = rng.uniform(0.5, 2.0, N) if code == P.WL1 else np.zeros(0)
    a2s = rng.uniform(0.5, 2.0, N) if code == P.CEL0 else np.zeros(0)
    gamma = 3.0 if code in (P.MCP, P.SCAD) else 0.0
    o1, o2 = np.zeros(N), np.zeros(N)
    P.scores_all(code, w, grad, lips, 0.3, gamma, weights, a2s, positive, o1)
    C.scores_all(code, w, grad, lips, 0.3, gamma, weights, a2s, positive, o2)
    np.testing.assert_allclose(o2, o1, rtol=1e-12, atol=1e-15)
    thr = 0.3 * rng.uniform(0.0, 2.0, N)
    thr[:2] = [0.0, np.inf]
    excluded = rng.random(N) < 0.1
    wz = np.where(np.isinf(thr), 0.0, w)
    p1, p2 = np.zeros(N), np.zeros(N)
    r1 = cd._l1_outer_stats(grad, grad * 0.9, wz, thr, positive, excluded, p1)
    r2 = C.l1_outer_stats(grad, grad * 0.9, wz, thr, positive, excluded.view(np.uint8), p2)
    np.testing.assert_allclose(r2, r1, rtol=1e-12)
    np.testing.assert_array_equal(p2, p1)


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("sqrt_mode", [False, True])
def test_gram_cd_one_equal(code, sqrt_mode):
    from sparsecode.convex._encoders import _gram_cd_one

    if sqrt_mode and code not in (P.L1, P.WL1):
        return
    rng = np.random.default_rng(code)
    A = rng.standard_normal((40, 12))
    y = A[:, :3] @ np.ones(3) + 0.1 * rng.standard_normal(40)
    G, aty = A.T @ A, A.T @ y
    frac = 0.1 if code in (P.L1, P.WL1) else 0.01
    alpha = frac * np.abs(aty).max() * (1 / np.linalg.norm(y) if sqrt_mode else 1)
    weights = rng.uniform(0.5, 2.0, 12) if code == P.WL1 else np.zeros(0)
    if code == P.WL1:
        weights[0], weights[1] = 0.0, np.inf
    gamma = 3.0 if code in (P.MCP, P.SCAD) else 0.0
    for positive in (False, True):
        for tol, max_iter in ((1e-10, 1000), (-1.0, 17)):
            w1, w2 = np.zeros(12), np.zeros(12)
            w1[2] = w2[2] = 0.5  # a warm start
            e1, c1 = _gram_cd_one(G, aty, y @ y, code, alpha, gamma, weights, positive,
                                  sqrt_mode, max_iter, tol, w1)
            e2, c2 = C.gram_cd_one(G, aty, y @ y, code, alpha, gamma, weights, positive,
                                   sqrt_mode, max_iter, tol, w2)
            assert e1 == e2
            np.testing.assert_allclose(w2, w1, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(c2, c1, rtol=1e-6, atol=1e-9)


def test_fit_takes_the_compiled_path(monkeypatch):
    """A float64 dense Lasso fit never calls the Numba CD kernel."""
    calls = []

    def boom(*a):
        calls.append(1)
        raise AssertionError("Numba kernel called")

    monkeypatch.setattr(cd, "_cd_inner", boom)
    monkeypatch.setattr(cd, "_l1_outer_stats", boom)
    from sparsecode import Lasso

    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 120))
    y = X[:, :3] @ np.ones(3)
    Lasso(alpha=0.05).fit(X, y)
    from sparsecode.convex import _encoders

    monkeypatch.setattr(_encoders, "_gram_cd_one", boom)
    X = rng.standard_normal((200, 10))  # small tall: the Gram route
    Lasso(alpha=0.05).fit(X, X[:, 0])
    assert calls == []
