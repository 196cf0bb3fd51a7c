"""Least squares updated between iterations (_SupportLS) equals the refit from scratch."""

import numpy as np
import pytest

from sparsecode import htp, nst_ht_fb
from sparsecode.thresholding import _htp
from sparsecode.thresholding._linalg import _Op, _SupportLS, ls_on_support


def _op(m, N, seed, complex_=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = A + 1j * rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(m) + (1j * rng.standard_normal(m) if complex_ else 0)
    return A, y, rng


@pytest.mark.parametrize("complex_", [False, True])
def test_updated_ls_equals_refit_over_a_sequence_of_supports(complex_):
    m, N, s = 60, 150, 20
    A, y, rng = _op(m, N, 0, complex_)
    op = _Op(A, A.dtype)
    ls = _SupportLS(op, y, A.conj().T @ y)
    T = np.sort(rng.choice(N, s, replace=False))
    for step in range(8):
        if step:
            # swap a few atoms, as between thresholding iterations; sometimes
            # none (a repeated support) and sometimes the size changes
            n_swap = [0, 1, 3, 7, 2, 5, 0, 4][step]
            out = rng.choice(T, n_swap, replace=False)
            cand = np.setdiff1d(np.arange(N), T)
            new = rng.choice(cand, n_swap + (step == 5), replace=False)
            T = np.sort(np.concatenate([np.setdiff1d(T, out), new]))
        z, r = ls.solve(T)
        mask = np.zeros((N, 1), dtype=bool)
        mask[T] = True
        Z, R = ls_on_support(op, y[:, None], mask, method="qr")
        np.testing.assert_allclose(z, Z[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(r, R[:, 0], rtol=0, atol=1e-12)
        assert np.all(z[np.setdiff1d(np.arange(N), T)] == 0)
        # optimality: the residual is orthogonal to the chosen columns
        assert np.max(np.abs(A[:, T].conj().T @ r)) < 1e-12 * np.linalg.norm(y)


def test_ill_conditioned_support_is_refused():
    # a repeated atom makes A_T singular: solve returns None (the caller uses QR)
    A, y, _ = _op(30, 60, 1)
    A[:, 7] = A[:, 3]
    op = _Op(A, A.dtype)
    ls = _SupportLS(op, y, A.T @ y)
    assert ls.solve(np.array([1, 3, 5])) is not None
    assert ls.solve(np.array([1, 3, 5, 7])) is None
    # the state was reset: the next support starts from scratch, correctly
    z, r = ls.solve(np.array([2, 4]))
    ref = np.linalg.lstsq(A[:, [2, 4]], y, rcond=None)[0]
    np.testing.assert_allclose(z[[2, 4]], ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("solver", [nst_ht_fb, htp])
def test_incremental_and_batched_solvers_agree(solver, monkeypatch):
    rng = np.random.default_rng(3)
    m, N, s = 80, 200, 12
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    X = np.zeros((N, 3))
    for j in range(3):
        X[rng.choice(N, s, replace=False), j] = rng.standard_normal(s)
    Y = A @ X + 1e-3 * rng.standard_normal((m, 3))
    inc = solver(A, Y, n_nonzero_coefs=s, tol=1e-10)
    monkeypatch.setattr(_htp, "_INCREMENTAL_MAX_L", 0)  # force the batched refit
    bat = solver(A, Y, n_nonzero_coefs=s, tol=1e-10)
    np.testing.assert_array_equal(inc.coef != 0, bat.coef != 0)
    np.testing.assert_allclose(inc.coef, bat.coef, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(inc.n_iter, bat.n_iter)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nst_exact_recovery_dtypes(dtype):
    rng = np.random.default_rng(4)
    m, N, s = 100, 200, 15
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    res = nst_ht_fb(A.astype(dtype), (A @ x).astype(dtype), n_nonzero_coefs=s)
    assert res.coef.dtype == dtype
    np.testing.assert_array_equal(res.coef != 0, x != 0)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(res.coef, x, rtol=0, atol=tol)
