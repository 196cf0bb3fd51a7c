"""Matrix-free FISTA / PDHG: agreement with coordinate descent, complex Lasso, operators."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from sklearn.exceptions import ConvergenceWarning

from sparsecode.convex import Lasso
from sparsecode.convex._operator_solvers import fista, pdhg, solve_operator
from sparsecode.operators import PartialDCT, PartialFFT


def _problem(m=40, n=80, k=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = np.zeros(n)
    x[rng.choice(n, k, replace=False)] = rng.standard_normal(k) * 3
    y = A @ x + 0.05 * rng.standard_normal(m)
    return A.astype(dtype), y.astype(dtype)


def _lasso_obj(A, y, w, alpha):
    r = y - A @ w
    return np.vdot(r, r).real / (2 * A.shape[0]) + alpha * np.abs(w).sum()


def _cd(A, y, alpha, positive=False):
    est = Lasso(alpha=alpha, fit_intercept=False, positive=positive, tol=1e-14,
                max_iter=100000).fit(A, y)
    return est.coef_


@pytest.mark.parametrize("solver", [fista, pdhg])
def test_lasso_matches_coordinate_descent(solver):
    A, y = _problem()
    alpha = 0.05 * np.abs(A.T @ y).max() / A.shape[0]
    w_cd = _cd(A, y, alpha)
    w, info = solver(A, y, alpha=alpha, datafit="squared", tol=1e-12, max_iter=50000)
    assert info["converged"]
    p_cd, p = _lasso_obj(A, y, w_cd, alpha), _lasso_obj(A, y, w, alpha)
    assert abs(p - p_cd) <= 1e-10 * p_cd
    np.testing.assert_allclose(w, w_cd, atol=1e-6)
    assert info["certificate_kind"] == "relative_duality_gap"
    assert info["duality_gap"] >= -1e-12 * p


def test_nonneg_matches_positive_lasso():
    A, y = _problem(seed=1)
    alpha = 0.02 * np.abs(A.T @ y).max() / A.shape[0]
    w_cd = _cd(A, y, alpha, positive=True)
    w, info = fista(A, y, penalty="nonneg_l1", alpha=alpha, tol=1e-12, max_iter=50000)
    assert w.min() >= 0
    np.testing.assert_allclose(w, w_cd, atol=1e-6)


def test_elastic_net_matches_sklearn():
    from sklearn.linear_model import ElasticNet

    A, y = _problem(seed=2)
    alpha = 0.1
    ref = ElasticNet(alpha=alpha, l1_ratio=0.3, fit_intercept=False, tol=1e-14,
                     max_iter=100000).fit(A, y).coef_
    w, info = fista(A, y, penalty="l1_l2", alpha=alpha, l1_ratio=0.3, tol=1e-13,
                    max_iter=50000)
    assert info["converged"]

    def obj(v):
        r = y - A @ v
        return r @ r / (2 * len(y)) + alpha * (0.3 * np.abs(v).sum() + 0.35 * v @ v)

    assert abs(obj(w) - obj(ref)) <= 1e-12 * obj(ref)
    # strong convexity (modulus alpha * 0.7): ||w - w*||^2 <= 2 gap / (0.7 alpha)
    np.testing.assert_allclose(w, ref, atol=np.sqrt(2e-13 * obj(w) / 0.07) + 1e-8)


def test_linear_operator_equals_dense_matrix():
    A, y = _problem(seed=3)
    alpha = 0.1
    w_dense, i_dense = fista(A, y, alpha=alpha, tol=1e-10, lipschitz=300.0 / A.shape[0])
    w_op, i_op = fista(aslinearoperator(A), y, alpha=alpha, tol=1e-10,
                       lipschitz=300.0 / A.shape[0])
    w_sp, _ = fista(sp.csr_matrix(A), y, alpha=alpha, tol=1e-10, lipschitz=300.0 / A.shape[0])
    assert i_dense["n_iter"] == i_op["n_iter"]
    np.testing.assert_allclose(w_op, w_dense, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w_sp, w_dense, rtol=0, atol=1e-12)


def test_partial_dct_equals_its_matrix_and_batches():
    A = PartialDCT(128, 48, random_state=0)
    rng = np.random.default_rng(0)
    X = np.zeros((128, 3))
    for j in range(3):
        X[rng.choice(128, 4, replace=False), j] = rng.standard_normal(4)
    Y = A @ X
    W, info = fista(A, Y, alpha=1e-3, tol=1e-11, max_iter=20000)
    Wd, _ = fista(A.toarray(), Y, alpha=1e-3, tol=1e-11, max_iter=20000)
    np.testing.assert_allclose(W, Wd, atol=1e-8)
    # batched columns == one column at a time
    for j in range(3):
        wj, _ = fista(A, Y[:, j], alpha=1e-3, tol=1e-11, max_iter=20000)
        np.testing.assert_allclose(W[:, j], wj, atol=1e-8)
    assert info["objective"].shape == (3,)


def _embed(A, y):
    Ar, Ai = A.real, A.imag
    return np.block([[Ar, -Ai], [Ai, Ar]]), np.concatenate([y.real, y.imag])


@pytest.mark.parametrize("solver", [fista, pdhg])
def test_complex_lasso_equals_real_group_embedding(solver):
    rng = np.random.default_rng(4)
    m, n = 30, 50
    A = rng.standard_normal((m, n)) + 1j * rng.standard_normal((m, n))
    x = np.zeros(n, complex)
    x[[2, 9, 30]] = [1 + 2j, -1j, 2.0]
    y = A @ x + 0.05 * (rng.standard_normal(m) + 1j * rng.standard_normal(m))
    alpha = 0.3
    w, info = solver(A, y, alpha=alpha, datafit="squared", tol=1e-12, max_iter=50000)
    assert np.iscomplexobj(w) and info["converged"]
    # real embedding: 2m rows (the 1/(2m) scaling halves), groups = (re_j, im_j)
    Ab, yb = _embed(A, y)
    labels = np.concatenate([np.arange(n), np.arange(n)])
    v, _ = fista(Ab, yb, penalty="group", groups=labels, alpha=alpha / 2, tol=1e-13,
                 max_iter=50000)
    np.testing.assert_allclose(w, v[:n] + 1j * v[n:], atol=1e-7)
    assert abs(_lasso_obj(A, y, w, alpha) - info["objective"]) <= 1e-12 * info["objective"]


def test_complex_partial_fft_recovers_support():
    A = PartialFFT(256, 80, random_state=1)
    x = np.zeros(256, complex)
    x[[7, 100, 200]] = [2.0, 1j, -1 - 1j]
    w, info = solve_operator(A, A @ x, alpha=1e-4, tol=1e-10, max_iter=5000)
    assert info["solver"] == "fista" and info["converged"]
    # the l1 shrinkage of each coefficient is alpha * m / ||a_j||^2 = alpha * n = 0.0256
    np.testing.assert_allclose(w, x, atol=0.03)
    assert set(np.flatnonzero(np.abs(w) > 0.1)) == {7, 100, 200}


def test_lad_pdhg_matches_linear_program():
    rng = np.random.default_rng(5)
    m, n = 40, 10
    A = rng.standard_normal((m, n))
    y = A @ rng.standard_normal(n)
    y[:4] += 10
    alpha = 0.02
    w, info = solve_operator(A, y, datafit="lad", alpha=alpha, tol=1e-9, max_iter=50000)
    assert info["solver"] == "pdhg" and info["converged"]
    # LP: min 1/m sum(u+ + u-) + alpha sum(w+ + w-), A(w+ - w-) + u+ - u- = y
    c = np.concatenate([np.full(2 * m, 1 / m), np.full(2 * n, alpha)])
    Aeq = np.hstack([np.eye(m), -np.eye(m), A, -A])
    lp = linprog(c, A_eq=Aeq, b_eq=y, bounds=(0, None), method="highs")
    obj = np.abs(y - A @ w).sum() / m + alpha * np.abs(w).sum()
    assert abs(obj - lp.fun) <= 1e-7 * lp.fun


def test_group_lasso_kkt():
    A, y = _problem(m=50, n=60, seed=6)
    alpha = 0.2
    w, info = fista(A, y, penalty="group", groups=3, alpha=alpha, tol=1e-13, max_iter=50000)
    g = A.T @ (A @ w - y) / A.shape[0]
    for s in range(0, 60, 3):
        wg, gg = w[s:s + 3], g[s:s + 3]
        if np.linalg.norm(wg) > 1e-10:
            np.testing.assert_allclose(-gg, alpha * wg / np.linalg.norm(wg), atol=1e-6)
        else:
            assert np.linalg.norm(gg) <= alpha * (1 + 1e-6)


def test_tv1d_penalty_pdhg_and_fista_agree():
    rng = np.random.default_rng(7)
    n = 60
    x = np.repeat([0.0, 2.0, -1.0], 20)
    A = rng.standard_normal((40, n))
    y = A @ x + 0.1 * rng.standard_normal(40)
    w1, i1 = fista(A, y, penalty="tv1d", alpha=0.05, tol=1e-11, max_iter=50000)
    w2, i2 = pdhg(A, y, datafit="squared", penalty="tv1d", alpha=0.05, tol=1e-11,
                  max_iter=50000)
    assert i1["certificate_kind"] == "relative_change"
    assert abs(i1["objective"] - i2["objective"]) <= 1e-8 * i1["objective"]


def test_tv2d_penalty_denoises_image():
    rng = np.random.default_rng(8)
    img = np.zeros((12, 12))
    img[3:9, 4:10] = 1.0
    y = img.ravel() + 0.2 * rng.standard_normal(144)
    w, info = fista(np.eye(144), y, penalty="tv2d", shape=(12, 12), alpha=0.1 / 144,
                    tol=1e-9, max_iter=2000)
    assert np.linalg.norm(w - img.ravel()) < 0.5 * np.linalg.norm(y - img.ravel())


def test_huber_and_logistic_certificates_close():
    A, y = _problem(seed=9)
    w, info = fista(A, y, datafit="huber", delta=0.5, alpha=0.05, tol=1e-10, max_iter=50000)
    assert info["converged"] and info["duality_gap"] >= -1e-10
    lab = np.sign(y)
    w, info = fista(A, lab, datafit="logistic", alpha=0.01, tol=1e-10, max_iter=50000)
    assert info["converged"]


def test_poisson_fista_gap_certified():
    rng = np.random.default_rng(10)
    A = rng.integers(0, 2, size=(60, 100)) / 10.0
    f = np.zeros(100)
    f[[3, 50]] = [80.0, 120.0]
    y = rng.poisson(A @ f).astype(float)
    w, info = fista(A, y, datafit="poisson", penalty="nonneg_l1", alpha=0.1, tol=1e-9,
                    max_iter=20000)
    assert info["converged"] and w.min() >= 0
    assert 0 <= info["duality_gap"] <= 1e-9 * abs(info["objective"]) * 1.0001


def test_float32_kept_and_inputs_not_mutated():
    A, y = _problem(dtype=np.float32)
    A0, y0 = A.copy(), y.copy()
    w, info = fista(A, y, alpha=0.1, tol=1e-4)
    assert w.dtype == np.float32
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("datafit", ["squared", "huber", "lad"])
@pytest.mark.parametrize("step_ratio", [None, "adaptive"])
def test_pdhg_single_precision_kept(datafit, step_ratio):
    # float32 in -> float32 out (and complex64 -> complex64), primal and dual, for pdhg
    # itself and through solve_operator(solver="pdhg"); the float32 solution agrees with
    # the float64 one to single-precision accuracy.
    A, y = _problem(dtype=np.float32)
    kw = dict(datafit=datafit, alpha=0.1, max_iter=3000, tol=1e-5, step_ratio=step_ratio)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w, info = pdhg(A, y, **kw)
        w_so, info_so = solve_operator(A, y, solver="pdhg", **kw)
        w64, _ = pdhg(A.astype(np.float64), y.astype(np.float64), **kw)
        Ac, yc = A.astype(np.complex64), y.astype(np.complex64)
        wc, infoc = pdhg(Ac, yc, datafit=datafit, alpha=0.1, max_iter=20)
    assert w.dtype == np.float32 and info["dual_coef"].dtype == np.float32
    assert w_so.dtype == np.float32 and info_so["solver"] == "pdhg"
    assert wc.dtype == np.complex64 and infoc["dual_coef"].dtype == np.complex64
    assert np.abs(w - w64).max() <= 1e-2 * max(np.abs(w64).max(), 1.0)


def test_convergence_warning_reports_figure():
    A, y = _problem()
    with pytest.warns(ConvergenceWarning, match="relative duality gap reached"):
        _, info = fista(A, y, alpha=0.01, max_iter=3, tol=1e-12)
    assert not info["converged"]


def test_bad_input():
    A, y = _problem()
    with pytest.raises(ValueError, match="y holds negative"):
        fista(np.abs(A), y, datafit="poisson", penalty="nonneg_l1")
    no_adj = LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=np.float64)
    with pytest.raises(ValueError, match="A is a LinearOperator without an adjoint"):
        fista(no_adj, y, alpha=0.1)
    Ac = A + 1j * A
    with pytest.raises(ValueError, match="datafit='poisson'.*real data only"):
        fista(Ac, np.abs(y), datafit="poisson")
    with pytest.raises(ValueError, match="penalty='nonneg_l1'.*real data only"):
        fista(Ac, y, penalty="nonneg_l1")
    with pytest.raises(ValueError, match="penalty='tv1d'"):
        pdhg(A, y + 0j, penalty="tv1d")
    with pytest.raises(ValueError, match="datafit of fista must be one of"):
        solve_operator(A, y, datafit="hinge")
    with pytest.raises(ValueError, match="not differentiable"):
        fista(A, y, datafit="lad")
    with pytest.raises(ValueError, match="y has 3 rows"):
        fista(A, y[:3])
    with pytest.raises(ValueError, match="shape=\\(rows, cols\\)"):
        fista(A, y, penalty="tv2d", shape=(3, 3))
    with pytest.raises(ValueError, match="NaN"):
        fista(A, np.full_like(y, np.nan))


@settings(max_examples=8)
@given(c=st.floats(0.1, 10.0), seed=st.integers(0, 3))
def test_scaling_invariance(c, seed):
    # x(c y, c alpha) = c x(y, alpha) for the Lasso
    A, y = _problem(m=20, n=30, seed=seed)
    alpha = 0.1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        w1, _ = fista(A, y, alpha=alpha, tol=1e-12, max_iter=20000)
        w2, _ = fista(A, c * y, alpha=c * alpha, tol=1e-12, max_iter=20000)
    np.testing.assert_allclose(w2, c * w1, atol=1e-6 * max(1.0, c))


@settings(max_examples=6)
@given(seed=st.integers(0, 1000))
def test_column_permutation_equivariance(seed):
    A, y = _problem(m=20, n=30, seed=seed % 4)
    perm = np.random.default_rng(seed).permutation(30)
    w1, _ = fista(A, y, alpha=0.1, tol=1e-12, max_iter=20000)
    w2, _ = fista(A[:, perm], y, alpha=0.1, tol=1e-12, max_iter=20000)
    np.testing.assert_allclose(w2, w1[perm], atol=1e-7)


def test_support_polish_gives_exact_minimiser_per_column():
    # once the sign pattern settles, CG on the support solves the reduced problem exactly;
    # the polished point must be the Lasso minimiser (same as CD) for every column
    A = PartialDCT(512, 128, random_state=2)
    rng = np.random.default_rng(2)
    X = np.zeros((512, 2))
    for j in range(2):
        X[rng.choice(512, 5, replace=False), j] = rng.choice([-1, 1], 5) * 2.0
    Y = A @ X + 0.01 * rng.standard_normal((128, 2))
    alpha = 0.1 * np.abs(A.rmatmat(Y)).max() / 128
    W, info = fista(A, Y, alpha=alpha, tol=1e-12, max_iter=5000)
    assert info["n_polish"] >= 1 and info["converged"]
    for j in range(2):
        w_cd = _cd(A.toarray(), Y[:, j], alpha)
        np.testing.assert_allclose(W[:, j], w_cd, atol=1e-8)
