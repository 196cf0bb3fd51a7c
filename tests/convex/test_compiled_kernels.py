"""The compiled CD kernels (``sparsecode._ext._convex``, one Cython source with
fused float32/float64 data and int32/int64 indices).

The same iterates from the same state for every built-in penalty code:
dense against CSC storage of the same matrix, int32 against int64 indices
(bit for bit), float32 against float64 (to float32 rounding); with and
without the intercept column, the sign constraint and Anderson
extrapolation.  The scores equal the reference scalar formulas of
``_prox.py`` (which back the penalties' ``prox_1d`` methods).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode.convex import _prox as P
from sparsecode.convex._solvers import cd

C = pytest.importorskip("sparsecode._ext._convex")

CODES = [P.L1, P.WL1, P.MCP, P.SCAD, P.L0, P.LHALF, P.LTWOTHIRDS, P.CEL0, P.ENET]


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
    gamma = 3.0 if code in (P.MCP, P.SCAD) else (0.5 * alpha if code == P.ENET else 0.0)
    ws = np.sort(rng.choice(N, 15, replace=False)).astype(np.int64)
    ic = np.ones(n) if icol else np.zeros(0)
    R = y.copy()
    return [sp.issparse(X), XT, data, indices, indptr, R.copy(), np.zeros(N), np.zeros(1), ws,
            lips, code, alpha, gamma, weights, a2s, positive, ic]


def _cast(args, dt=None, idt=None):
    out = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    for i in (1, 2, 5, 6, 9, 13, 14, 16):  # XT, data, R, w, lips, weights, a2s, icol
        if dt is not None:
            out[i] = out[i].astype(dt)
    if idt is not None:
        out[3], out[4] = out[3].astype(idt), out[4].astype(idt)
    return out


@pytest.mark.parametrize("code", CODES)
def test_cd_inner_same_iterates(code):
    for positive in (False, True):
        for icol in (False, True):
            for K, max_epochs in ((5, 37), (0, 23), (3, 200)):
                X, Xd, y = _problem(code)
                Xs = sp.csc_matrix(Xd)
                Xs.sort_indices()
                a_dense = _args(X, Xd, y, code, positive, icol, K, code)
                a_csc = _args(Xs, Xd, y, code, positive, icol, K, code)
                a_64 = _cast(a_csc, idt=np.int64)
                a_32 = _cast(a_dense, dt=np.float32)
                e1, c1 = C.cd_inner(*a_dense, max_epochs, -1.0, K)
                e2, c2 = C.cd_inner(*a_csc, max_epochs, -1.0, K)
                e3, c3 = C.cd_inner(*a_64, max_epochs, -1.0, K)
                e4, c4 = C.cd_inner(*a_32, max_epochs, -1.0, K)
                assert e1 == e2 == e3 == e4 == max_epochs
                np.testing.assert_allclose(c2, c1, rtol=1e-7, atol=1e-9)
                for i in (5, 6, 7):  # R, w, b
                    np.testing.assert_allclose(a_csc[i], a_dense[i], rtol=1e-7, atol=1e-9)
                    np.testing.assert_array_equal(a_64[i], a_csc[i])
                assert np.any(a_dense[6] != 0)
                assert a_32[6].dtype == np.float32
                if code in (P.L1, P.WL1, P.ENET):  # continuous prox: float32 tracks float64
                    np.testing.assert_allclose(a_32[6], a_dense[6], atol=2e-3)


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
    # reference: the scalar score of every coordinate (defaults: weight 1,
    # CEL0 curvature = the Lipschitz constant)
    for j in range(N):
        o1[j] = P.score_scalar(code, w[j], grad[j], lips[j], 0.3, gamma,
                               weights[j] if weights.size else 1.0,
                               a2s[j] if a2s.size else lips[j], positive)
    C.scores_all(code, w, grad, lips, 0.3, gamma, weights, a2s, positive, o2)
    np.testing.assert_allclose(o2, o1, rtol=1e-12, atol=1e-15)
    thr = 0.3 * rng.uniform(0.0, 2.0, N)
    thr[:2] = [0.0, np.inf]
    excluded = rng.random(N) < 0.1
    wz = np.where(np.isinf(thr), 0.0, w)
    p2 = np.zeros(N)
    r2 = C.l1_outer_stats(grad, grad * 0.9, wz, thr, positive, excluded.view(np.uint8), p2)
    # reference: the subdifferential distances and the dual scaling in NumPy
    keep = ~excluded & np.isfinite(thr)
    with np.errstate(invalid="ignore"):  # inf * 0 on the excluded features
        sc = cd._l1_scores(wz, -grad, thr, positive)
    cg = np.maximum(0.9 * grad, 0) if positive else np.abs(0.9 * grad)
    fin = np.isfinite(thr) & (thr > 0)
    np.testing.assert_allclose(r2[0], sc[keep].max() if keep.any() else 0.0, rtol=1e-12)
    np.testing.assert_allclose(r2[1], np.sum(thr[keep] * np.abs(wz[keep])), rtol=1e-12)
    np.testing.assert_allclose(r2[2], np.max(cg[fin] / thr[fin]), rtol=1e-12)
    assert r2[3] == np.count_nonzero(wz[keep])
    assert np.all(p2[~keep] == -np.inf)
    assert np.all(p2[keep & (wz != 0)] == np.inf)


@pytest.mark.parametrize("code", CODES)
@pytest.mark.parametrize("sqrt_mode", [False, True])
def test_gram_cd_batch_equals_one(code, sqrt_mode):
    """The batched Gram kernel (OpenMP over signals) gives each signal the
    iterates of the single-signal kernel, whatever the thread count; at the
    convex codes' stop the Gram gap certifies the working-set solution."""
    from sparsecode.convex._encoders import _gram_cd_batch, _gram_cd_one

    if sqrt_mode and code not in (P.L1, P.WL1):
        return
    rng = np.random.default_rng(code)
    A = rng.standard_normal((40, 12))
    Y = A[:, :3] @ rng.standard_normal((3, 5)) + 0.1 * rng.standard_normal((40, 5))
    G, ATY = A.T @ A, np.ascontiguousarray((A.T @ Y).T)
    yn = np.einsum("ij,ij->j", Y, Y)
    frac = 0.1 if code in (P.L1, P.WL1) else 0.01
    alpha = frac * np.abs(ATY).max() * (1 / np.linalg.norm(Y[:, 0]) if sqrt_mode else 1)
    weights = rng.uniform(0.5, 2.0, 12) if code == P.WL1 else np.zeros(0)
    if code == P.WL1:
        weights[0], weights[1] = 0.0, np.inf
    gamma = 3.0 if code in (P.MCP, P.SCAD) else (0.3 * alpha if code == P.ENET else 0.0)
    for positive in (False, True):
        for tol, max_iter in ((1e-10, 1000), (-1.0, 17)):
            W1 = np.zeros((5, 12))
            W1[:, 2] = 0.5  # a warm start
            e1 = np.zeros(5, dtype=np.int64)
            c1 = np.zeros(5)
            for i in range(5):
                e1[i], c1[i] = _gram_cd_one(G, ATY[i], yn[i], code, alpha, gamma, weights,
                                            positive, sqrt_mode, max_iter, tol, W1[i])
            for threads in (1, 2):
                W2 = np.zeros((5, 12))
                W2[:, 2] = 0.5
                e2, c2 = np.zeros(5, dtype=np.int64), np.zeros(5)
                _gram_cd_batch(G, ATY, yn, code, alpha, gamma, weights, positive, sqrt_mode,
                               max_iter, tol, W2, c2, e2, n_threads=threads)
                np.testing.assert_array_equal(e2, e1)
                np.testing.assert_array_equal(W2, W1)
                np.testing.assert_array_equal(c2, c1)
            if code == P.L1 and not sqrt_mode and tol > 0 and not positive:
                # the gap certificate: the working-set solver agrees
                from sparsecode.convex import L1, AndersonCD, PenalizedRegression, Quadratic

                n = A.shape[0]
                ref = PenalizedRegression(Quadratic(), L1(alpha / n), AndersonCD(tol=1e-13),
                                          fit_intercept=False).fit(A, Y[:, 0]).coef_
                np.testing.assert_allclose(W1[0], ref, atol=1e-6)


def test_fit_takes_the_compiled_path(monkeypatch):
    """A float64 dense Lasso fit never calls a Numba kernel."""
    calls = []

    def boom(*a):
        calls.append(1)
        raise AssertionError("Numba kernel called")

    assert not hasattr(cd, "_cd_inner")  # one source: the Numba twin is gone
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
