"""Fused NMF sweep and threaded FCLS (issue 17 speed): same results as the reference paths.

``fused_sweep`` performs the abundance step of a sweep (MU or HALS, row by row)
and accumulates ``W^T X`` and ``W^T W`` of the updated abundances in the same
pass over the data.  It must equal the separate steps (``X H^T`` by BLAS,
``mu_rows`` / ``hals_rows``, then ``W^T X`` and ``W^T W``) to rounding, and its
result must not depend on the thread count (fixed row chunks summed in order).
"""

import numpy as np
import pytest

from sparsecode import NMFUnmixing
from sparsecode._ext._nmf import fused_sweep, hals_rows, mu_rows
from sparsecode.datasets import make_hyperspectral_mixture
from sparsecode.unmixing import fcls
from sparsecode.unmixing._nmf import _hals_l1, _solve


def _problem(N, L, K, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, L))
    W = rng.uniform(0.01, 1.0, size=(N, K))
    H = rng.uniform(0.01, 1.0, size=(K, L))
    return X, W, H


def _reference(X, W, H, omega, delta2, hals, lam, p, tau, eps=1e-9):
    """One abundance step by BLAS products and the row kernels, then W^T X and W^T W."""
    Hw = H.T * omega[:, None]
    Q = np.ascontiguousarray(X @ Hw)
    G = np.ascontiguousarray(H @ Hw)
    if hals:
        Wn = W.copy()
        hals_rows(Wn, Q, G, delta2, l1=lam, L1=_hals_l1(W, lam, p, tau))
    else:
        Wn = np.empty_like(W)
        mu_rows(W, Q, G, delta2, Wn, lam=lam, p=p, tau=tau, eps=eps)
    return Wn, Wn.T @ X, Wn.T @ Wn


def _fused(X, W, H, omega, delta2, hals, lam, p, tau, n_threads=1):
    K, L = H.shape
    Hw = H.T * omega[:, None]
    G = np.ascontiguousarray(H @ Hw)
    Wn = W.copy()
    WtX, WtW = np.empty((K, L)), np.empty((K, K))
    fused_sweep(X, Wn, np.ascontiguousarray(Hw.T), G, delta2, hals, WtX, WtW, lam=lam,
                p=None if hals else p, tau=tau, L1=_hals_l1(W, lam, p, tau) if hals else None,
                n_threads=n_threads)
    return Wn, WtX, WtW


# N: tails of the 4-row blocks and several 256-row chunks; L: tails of the 4-wide
# vectors; K: odd and even (pairs of endmembers per pass), K = 1
@pytest.mark.parametrize("N,L,K", [(601, 37, 5), (97, 8, 1), (1030, 21, 4), (5, 3, 2)])
@pytest.mark.parametrize("hals", [False, True])
@pytest.mark.parametrize("penalty", ["none", "l1", "lp"])
def test_fused_sweep_equals_reference_update(N, L, K, hals, penalty):
    X, W, H = _problem(N, L, K, seed=N + K)
    rng = np.random.default_rng(1)
    omega = rng.uniform(0.5, 1.5, size=L)  # band weights enter the abundance step only
    lam = 0.0 if penalty == "none" else 0.05
    p = rng.uniform(0.3, 1.2, size=N) if penalty == "lp" else None
    for delta2 in (0.0, 4.0):
        Wr, Ar, Gr = _reference(X, W, H, omega, delta2, hals, lam, p, 1e-3)
        Wf, Af, Gf = _fused(X, W, H, omega, delta2, hals, lam, p, 1e-3)
        np.testing.assert_allclose(Wf, Wr, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(Af, Ar, rtol=1e-12, atol=1e-12 * np.abs(Ar).max())
        np.testing.assert_allclose(Gf, Gr, rtol=1e-12, atol=1e-12 * np.abs(Gr).max())


@pytest.mark.parametrize("hals", [False, True])
def test_fused_sweep_does_not_depend_on_threads(hals):
    X, W, H = _problem(1500, 30, 3, seed=3)  # 6 chunks of 256 rows
    one = _fused(X, W, H, np.ones(30), 1.0, hals, 0.01, None, 0.0, n_threads=1)
    for n_threads in (2, 3):
        other = _fused(X, W, H, np.ones(30), 1.0, hals, 0.01, None, 0.0, n_threads=n_threads)
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


def test_fused_sweep_shape_errors():
    X, W, H = _problem(10, 6, 2)
    G = H @ H.T
    with pytest.raises(ValueError, match="WtX"):
        fused_sweep(X, W, H, G, 0.0, False, np.empty((2, 5)), np.empty((2, 2)))
    with pytest.raises(ValueError, match="disagree"):
        fused_sweep(X, W[:9], H, G, 0.0, False, np.empty((2, 6)), np.empty((2, 2)))
    with pytest.raises(ValueError, match="p must"):
        fused_sweep(X, W, H, G, 0.0, False, np.empty((2, 6)), np.empty((2, 2)), lam=1.0,
                    p=np.ones(3))


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_solver_with_fused_sweep_equals_separate_steps(solver):
    # 40 sweeps of the driver against the same sweeps written with BLAS products
    # and the row kernels (the pre-fusion code path), sum-to-one row and l1 on
    Y, *_ = make_hyperspectral_mixture(3, 24, (20, 20), snr=30, random_state=0)
    X = np.ascontiguousarray(Y / Y.max())
    rng = np.random.default_rng(0)
    W0 = rng.uniform(0.1, 1.0, (400, 3))
    H0 = rng.uniform(0.1, 1.0, (3, 24))
    delta, lam, n_sweeps = 0.5, 0.01, 40
    res = _solve(X, W0.copy(), H0.copy(), solver=solver, delta=delta, lam=lam,
                 max_iter=n_sweeps, tol=0.0)
    W, Ht = W0.copy(), np.ascontiguousarray(H0.T)
    for _ in range(n_sweeps):
        W, WtX, WtW = _reference(X, W, Ht.T, np.ones(24), delta**2, solver == "hals", lam,
                                 None, 0.0)
        Qh, Gh = np.ascontiguousarray(WtX.T), np.ascontiguousarray(WtW)
        if solver == "hals":
            hals_rows(Ht, Qh, Gh, 0.0)
        else:
            Hn = np.empty_like(Ht)
            mu_rows(Ht, Qh, Gh, 0.0, Hn)
            Ht = Hn
    np.testing.assert_allclose(res["W"], W, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res["H"], Ht.T, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", ["mu", "hals"])
@pytest.mark.parametrize("weighting", [None, "correntropy"])
def test_fused_and_blas_sweeps_agree(solver, weighting, monkeypatch):
    # large K * L runs the two BLAS products instead of the fused sweep: same iterates
    import sparsecode.unmixing._nmf as nmf

    Y, *_ = make_hyperspectral_mixture(3, 24, (15, 20), snr=30, random_state=4)
    X = np.ascontiguousarray(Y / Y.max())
    rng = np.random.default_rng(2)
    W0, H0 = rng.uniform(0.1, 1.0, (300, 3)), rng.uniform(0.1, 1.0, (3, 24))
    kw = dict(solver=solver, delta=0.7, lam=0.01, max_iter=25, tol=0.0, weighting=weighting)
    fused = _solve(X, W0.copy(), H0.copy(), **kw)
    monkeypatch.setattr(nmf, "_FUSED_MAX_KL", 0)
    blas = _solve(X, W0.copy(), H0.copy(), **kw)
    np.testing.assert_allclose(fused["W"], blas["W"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fused["H"], blas["H"], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_fit_does_not_depend_on_threads_across_chunks(solver):
    Y, *_ = make_hyperspectral_mixture(3, 20, (20, 30), snr=30, random_state=1)  # 600 pixels
    kw = dict(solver=solver, init="random", max_iter=8, tol=0.0, random_state=0, delta=1.0)
    e1 = NMFUnmixing(3, n_jobs=1, **kw)
    e2 = NMFUnmixing(3, n_jobs=2, **kw)
    A1, A2 = e1.fit_transform(Y), e2.fit_transform(Y)
    np.testing.assert_array_equal(A1, A2)
    np.testing.assert_array_equal(e1.components_, e2.components_)


@pytest.mark.parametrize("hals", [False, True])
def test_fused_sweep_reads_float32_data_with_float64_products(hals):
    X, W, H = _problem(301, 19, 3, seed=5)
    X32 = X.astype(np.float32)
    a = _fused(X32, W, H, np.ones(19), 1.0, hals, 0.01, None, 0.0)
    b = _fused(X32.astype(np.float64), W, H, np.ones(19), 1.0, hals, 0.01, None, 0.0)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-14 * np.abs(v).max())


def test_float32_fit_sweeps_on_float32_data(monkeypatch):
    import sparsecode._ext._nmf as kernels

    seen = []
    real = kernels.fused_sweep

    def spy(X, *args, **kwargs):
        seen.append(X.dtype)
        return real(X, *args, **kwargs)

    monkeypatch.setattr(kernels, "fused_sweep", spy)
    Y, *_ = make_hyperspectral_mixture(3, 20, (8, 8), snr=30, random_state=2)
    NMFUnmixing(3, max_iter=3, tol=0.0).fit(Y.astype(np.float32))
    NMFUnmixing(3, max_iter=3, tol=0.0).fit(Y)
    assert seen == [np.float32] * 3 + [np.float64] * 3


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_float32_data_gives_float32_and_the_float64_answer(solver):
    Y, *_ = make_hyperspectral_mixture(3, 20, (16, 16), snr=30, random_state=2)
    Y32 = Y.astype(np.float32)
    kw = dict(solver=solver, init="nfindr", max_iter=30, tol=0.0, delta=1.0)
    A32 = NMFUnmixing(3, **kw).fit_transform(Y32)
    est64 = NMFUnmixing(3, **kw)
    A64 = est64.fit_transform(Y32.astype(np.float64))  # the same values, in float64
    assert A32.dtype == np.float32
    # the same iterates up to rounding: float32 data, products in float64
    np.testing.assert_allclose(A32, A64.astype(np.float32), rtol=1e-6, atol=1e-7)


def test_fcls_does_not_depend_on_threads():
    rng = np.random.default_rng(0)
    E = rng.uniform(0.05, 1.0, size=(4, 30))
    # many pixels on the boundary; 6,000 pixels: fcls uses a thread per 2,048 at most
    A = rng.dirichlet(np.full(4, 0.3), size=6000)
    Y = A @ E + 0.05 * rng.standard_normal((6000, 30))
    A1 = fcls(Y, E, delta=10.0, n_jobs=1)
    for n_jobs in (2, 3):
        np.testing.assert_array_equal(fcls(Y, E, delta=10.0, n_jobs=n_jobs), A1)
        np.testing.assert_array_equal(fcls(Y, E, n_jobs=n_jobs), fcls(Y, E, n_jobs=1))


@pytest.mark.parametrize("pval", [0.5, 0.3])
def test_mu_slopes_passed_per_entry_equal_the_kernel_lp_slope(pval):
    """MU with per-pixel exponents p < 1: the caller's slopes lam p z^(p-1) (computed by
    NumPy for the whole block) passed as L1 give the kernel's own l_p step to rounding."""
    X, W, H = _problem(403, 19, 5, seed=11)
    W[::7, 2] = 0.0  # entries at zero keep a zero slope
    omega = np.ones(19)
    lam, tau = 0.05, 1e-8
    p = np.full(403, pval)
    p[::5] = 1.0  # rows with p >= 1 take the plain l1 slope
    ref = _fused(X, W, H, omega, 0.0, False, lam, p, tau)
    K, L = H.shape
    Hw = H.T * omega[:, None]
    G = np.ascontiguousarray(H @ Hw)
    P = p[:, None]
    with np.errstate(divide="ignore"):
        L1 = np.where((W > tau) & (W > 0), lam * P * np.power(W, P - 1.0), 0.0)
    L1 = np.ascontiguousarray(np.where(P >= 1, lam, L1))
    Wn = W.copy()
    WtX, WtW = np.empty((K, L)), np.empty((K, K))
    fused_sweep(X, Wn, np.ascontiguousarray(Hw.T), G, 0.0, False, WtX, WtW, lam=lam, p=None,
                tau=tau, L1=L1)
    np.testing.assert_allclose(Wn, ref[0], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(WtX, ref[1], rtol=1e-12)
