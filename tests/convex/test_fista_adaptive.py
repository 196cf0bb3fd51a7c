"""FISTA's adaptive step for the squared datafit (double precision)."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from sparsecode.convex import _operator_solvers as OS
from sparsecode.convex import fista
from sparsecode.operators import PartialDCT


def _dct_problem(n=2048, m=256, k=3, div=50, seed=0):
    rng = np.random.default_rng(seed)
    A = PartialDCT(n, m, random_state=seed)
    x0 = np.zeros(n)
    x0[rng.choice(n, k, replace=False)] = rng.choice([-1, 1], k) * rng.uniform(1, 2, k)
    y = A @ x0 + 0.01 * rng.standard_normal(m)
    alpha = np.abs(A.rmatvec(y)).max() / m / div
    return A, y, alpha


def _objective(A, y, alpha, x):
    r = y - A @ x
    return r @ r / (2 * y.size) + alpha * np.abs(x).sum()


def test_adaptive_step_fewer_products_same_optimum():
    # the global constant of a partial orthonormal DCT is 1 (L = 1/m): giving it
    # runs the fixed-step (greedy) FISTA; the default adapts the step
    A, y, alpha = _dct_problem()
    m = y.size
    x_ad, inf_ad = fista(A, y, alpha=alpha, tol=1e-10, max_iter=5000)
    x_fx, inf_fx = fista(A, y, alpha=alpha, tol=1e-10, max_iter=5000, lipschitz=1.0 / m)
    assert inf_ad["converged"] and inf_fx["converged"]
    p_ad, p_fx = _objective(A, y, alpha, x_ad), _objective(A, y, alpha, x_fx)
    assert abs(p_ad - p_fx) <= 2e-10 * p_fx
    prod_ad = inf_ad["n_matvec"] + inf_ad["n_rmatvec"]
    prod_fx = inf_fx["n_matvec"] + inf_fx["n_rmatvec"]
    assert prod_ad < 0.8 * prod_fx
    # L never exceeds the global constant (the step is at least the safe 1/L), and
    # a failed sufficient-decrease test costs one product with A (no adjoint)
    assert inf_ad["n_matvec"] >= inf_ad["n_rmatvec"] - 1
    assert np.all(inf_ad["lipschitz"] <= 1.0 / m * (1 + 1e-12))


def test_adaptive_columns_independent():
    # each column keeps its own step: solving three right-hand sides together
    # gives the iterates of three separate solves
    rng = np.random.default_rng(2)
    A = rng.standard_normal((60, 150))
    X0 = np.zeros((150, 3))
    X0[rng.choice(150, 6, replace=False)] = rng.standard_normal((6, 3))
    Y = A @ X0 + 0.05 * rng.standard_normal((60, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        XJ, _ = fista(A, Y, alpha=0.02, tol=0.0, max_iter=60)
        for j in range(3):
            xj, _ = fista(A, Y[:, j], alpha=0.02, tol=0.0, max_iter=60)
            np.testing.assert_allclose(XJ[:, j], xj, rtol=0, atol=1e-12)


@pytest.mark.parametrize("penalty", ["l1", "nonneg_l1", "l1_l2"])
def test_adaptive_rejections_keep_the_optimum(penalty):
    # a dense Gaussian design: the local curvature is close to the global one, so
    # the decreasing step fails the test often; the result is still the optimum
    rng = np.random.default_rng(3)
    A = rng.standard_normal((80, 60))
    y = A @ rng.standard_normal(60) + 0.1 * rng.standard_normal(80)
    x, info = fista(A, y, penalty=penalty, alpha=0.05, tol=1e-10, max_iter=20000)
    assert info["converged"]
    assert info["n_matvec"] > info["n_rmatvec"]        # some steps were rejected
    x_ref, info_ref = fista(A, y, penalty=penalty, alpha=0.05, tol=1e-10, max_iter=20000,
                            lipschitz=float(np.linalg.norm(A, 2) ** 2 / 80))
    np.testing.assert_allclose(info["objective"], info_ref["objective"], rtol=1e-9)


def test_single_precision_keeps_the_fixed_step(monkeypatch):
    # float32: the sufficient-decrease test would read a cancelled A d; the fixed
    # step runs (identical to giving the constant) and float32 comes out
    A, y, alpha = _dct_problem(n=512, m=128)
    A32 = np.asarray(A @ np.eye(512), dtype=np.float32)
    y32 = y.astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        x1, i1 = fista(A32, y32, alpha=alpha, tol=0.0, max_iter=40)
        L = OS._lipschitz_norm2(OS._Op(A32)) / 128
        x2, i2 = fista(A32, y32, alpha=alpha, tol=0.0, max_iter=40, lipschitz=L)
    assert x1.dtype == np.float32
    np.testing.assert_array_equal(x1, x2)
    assert i1["n_matvec"] == i2["n_matvec"]


def test_kernel_dy2():
    rng = np.random.default_rng(1)
    Yk, G, X = (rng.standard_normal((50, 2)) for _ in range(3))
    step = np.array([0.3, 0.7])
    Xn = np.empty_like(X)
    dn2, rs, dy2 = np.zeros(2), np.zeros(2), np.zeros(2)
    OS._C.fista_l1_step(Yk, G, X, step, 0.4, False, Xn, dn2, rs, dy2)
    np.testing.assert_allclose(dy2, ((Xn - Yk) ** 2).sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(dn2, ((Xn - X) ** 2).sum(axis=0), rtol=1e-13)
