"""Total-variation proxes: exact 1-D (Condat) against a QP, 2-D FGP optimality."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear

from sparsecode._base import ConvergenceWarning
from sparsecode.convex._tv import _grad_adj, tv1d_prox, tv2d_prox, tv_norm


def _qp_reference(y, lam):
    """Dual QP: min_{|u| <= lam} 1/2 ||y - D^T u||^2, x = y - D^T u (bounded least squares)."""
    n = y.size
    if n == 1 or lam == 0:
        return y.copy()
    D = np.diff(np.eye(n), axis=0)
    u = lsq_linear(D.T, y, bounds=(-lam, lam), method="bvls", tol=1e-14).x
    return y - D.T @ u


@settings(max_examples=40)
@given(n=st.integers(1, 25), lam=st.floats(0.0, 3.0), seed=st.integers(0, 10**6),
       rounded=st.booleans())
def test_tv1d_matches_qp(n, lam, seed, rounded):
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n) * 2
    if rounded:          # ties and flat stretches
        y = np.round(y)
    np.testing.assert_allclose(tv1d_prox(y, lam), _qp_reference(y, lam), atol=1e-9)


def test_tv1d_brute_force_small():
    # n = 3: enumerate the partitions into constant segments; each candidate solves
    # the optimality conditions exactly, the best objective wins.
    rng = np.random.default_rng(0)
    for _ in range(50):
        y = rng.standard_normal(3)
        lam = rng.uniform(0, 1)
        x = tv1d_prox(y, lam)
        obj = 0.5 * np.sum((x - y) ** 2) + lam * np.abs(np.diff(x)).sum()
        g = np.linspace(-3, 3, 61)
        a, b, c = g[:, None, None], g[None, :, None], g[None, None, :]
        grid_obj = (0.5 * ((a - y[0]) ** 2 + (b - y[1]) ** 2 + (c - y[2]) ** 2)
                    + lam * (np.abs(b - a) + np.abs(c - b)))
        assert obj <= grid_obj.min() + 1e-12


def test_tv1d_limits_columns_and_dtype():
    y = np.array([3.0, -1.0, 2.0, 5.0])
    np.testing.assert_array_equal(tv1d_prox(y, 0.0), y)
    np.testing.assert_allclose(tv1d_prox(y, 100.0), np.full(4, y.mean()))
    Y = np.random.default_rng(1).standard_normal((30, 4))
    lams = np.array([0.1, 0.5, 1.0, 2.0])
    X = tv1d_prox(Y, lams)
    for j in range(4):
        np.testing.assert_allclose(X[:, j], tv1d_prox(Y[:, j], lams[j]), atol=0)
    X32 = tv1d_prox(Y.astype(np.float32), 0.5)
    assert X32.dtype == np.float32
    np.testing.assert_allclose(X32, tv1d_prox(Y, 0.5), atol=1e-5)
    with pytest.raises(ValueError, match="complex"):
        tv1d_prox(Y + 1j, 0.1)
    with pytest.raises(ValueError, match="lam"):
        tv1d_prox(Y, -1.0)


def _gap_2d(S, X, P, Q, lam, isotropic):
    # primal 1/2||X - S||^2 + lam TV(X); dual 1/2||S||^2 - 1/2||S - lam L(P,Q)||^2
    primal = 0.5 * np.sum((X - S) ** 2) + lam * tv_norm(X, isotropic=isotropic)
    V = S - lam * _grad_adj(P, Q, S.shape)
    dual = 0.5 * np.sum(S ** 2) - 0.5 * np.sum(V ** 2)
    return primal - dual, primal


@pytest.mark.parametrize("isotropic", [False, True])
def test_tv2d_duality_gap_closes(isotropic):
    rng = np.random.default_rng(2)
    S = np.zeros((16, 20))
    S[4:12, 5:15] = 1.0
    S += 0.3 * rng.standard_normal(S.shape)
    X, (P, Q), it = tv2d_prox(S, 0.2, isotropic=isotropic, max_iter=3000, tol=1e-8,
                              return_dual=True)
    gap, primal = _gap_2d(S, X, P, Q, 0.2, isotropic)
    assert -1e-9 <= gap <= 1e-5 * primal
    if isotropic:
        assert np.all(P[:, :-1] ** 2 + Q[:-1, :] ** 2 <= 1 + 1e-12)
    else:
        assert np.abs(P).max() <= 1 and np.abs(Q).max() <= 1


def test_tv2d_one_row_equals_condat():
    rng = np.random.default_rng(3)
    s = rng.standard_normal(40)
    X = tv2d_prox(s[None, :], 0.4, max_iter=5000, tol=1e-14)
    np.testing.assert_allclose(X[0], tv1d_prox(s, 0.4), atol=1e-6)


def test_tv2d_bounds_and_warm_start():
    rng = np.random.default_rng(4)
    S = rng.standard_normal((24, 24))
    X, dual, it_cold = tv2d_prox(S, 0.3, lower=0.0, max_iter=500, tol=1e-6,
                                 return_dual=True)
    assert X.min() >= 0
    S2 = S + 0.01 * rng.standard_normal(S.shape)
    _, _, it_warm = tv2d_prox(S2, 0.3, lower=0.0, max_iter=500, tol=1e-6,
                              dual_init=dual, return_dual=True)
    assert it_warm < it_cold
    with pytest.raises(ValueError, match="dual_init"):
        tv2d_prox(S, 0.3, dual_init=(np.zeros((2, 2)), np.zeros((2, 2))))


def test_tv2d_max_iter_warns_with_figure():
    rng = np.random.default_rng(5)
    S = rng.standard_normal((8, 8))
    with pytest.warns(ConvergenceWarning, match=r"tv2d_prox.*max_iter=2") as rec:
        X = tv2d_prox(S, 10.0, max_iter=2, tol=1e-14)
    assert X.shape == S.shape and np.all(np.isfinite(X))
    msg = str(rec[0].message)
    figure = float(msg.split("relative change of the image reached ")[1].split(" ")[0])
    assert figure > 1e-14
    # a call that meets its tolerance is silent
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        tv2d_prox(S, 0.1, max_iter=2000, tol=1e-6)
