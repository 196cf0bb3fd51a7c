"""Fused NMF sweep on every instruction set of the CPU: baseline vectors, AVX2/FMA, AVX-512.

The sweep's block kernel (``_ext/_nmf_sweep.h``) has one clone per instruction set,
chosen at run time (``simd_level``: 0 baseline vectors, 1 AVX2/FMA, 2 AVX-512); the
test hook ``_set_simd_level`` runs each level the CPU has.  Every level must equal
the reference step (``X F^T`` by BLAS, the row steps by the scalar ``mu_rows`` /
``hals_rows``, then ``W^T X`` and ``W^T W`` by BLAS) to rounding, and the levels
must agree with each other to a tight tolerance.  The shapes cover the tails of
the kernels: N not a multiple of the 4-row blocks, L not a multiple of the 2-, 4-
and 8-wide vectors, K beyond one pass of endmembers (2 per pass on 2- and 4-wide
vectors, 6 on 8-wide ones) and not a multiple of it.
"""

import numpy as np
import pytest

from sparsecode._ext import _nmf as kernels
from sparsecode._ext._nmf import fused_sweep, hals_rows, mu_rows

MAX_LEVEL = kernels._set_simd_level(None)
LEVELS = list(range(MAX_LEVEL + 1))


@pytest.fixture
def at_level(request):
    """Run the test body at instruction set level ``request.param`` (restored after)."""
    assert kernels._set_simd_level(request.param) == request.param
    yield request.param
    kernels._set_simd_level(None)


def _problem(N, L, K, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(N, L))
    W = rng.uniform(0.01, 1.0, size=(N, K))
    H = rng.uniform(0.01, 1.0, size=(K, L))
    omega = rng.uniform(0.5, 1.5, size=L)
    return X, W, H, omega


def _penalty(penalty, W, hals, seed):
    """(lam, p, L1, tau) of a penalty: none, l1, per-pixel l_p (MU) or per-entry l1 weights."""
    rng = np.random.default_rng(seed)
    N = W.shape[0]
    if penalty == "none":
        return 0.0, None, None, 0.0
    if penalty == "l1":
        return 0.05, None, None, 0.0
    if penalty == "lp":
        p = rng.uniform(0.3, 1.2, size=N)
        p[::3] = 0.5  # the 1/sqrt slope
        if hals:  # HALS takes l_p as per-entry weights (the caller's tangent)
            L1 = np.where(W > 1e-3, 0.05 * p[:, None] * W ** (p[:, None] - 1.0), 0.0)
            return 0.05, None, np.ascontiguousarray(L1), 1e-3
        return 0.05, p, None, 1e-3
    L1 = rng.uniform(0.0, 0.1, size=W.shape)  # "weights"
    return 0.0, None, L1, 0.0


def _reference(X, W, H, omega, delta2, hals, lam, p, L1, tau, eps=1e-9):
    X = np.asarray(X, dtype=np.float64)
    Hw = H.T * omega[:, None]
    Q = np.ascontiguousarray(X @ Hw)
    G = np.ascontiguousarray(H @ Hw)
    if hals:
        Wn = W.copy()
        hals_rows(Wn, Q, G, delta2, l1=lam, L1=L1)
    else:
        Wn = np.empty_like(W)
        if L1 is not None:  # per-entry denominator terms: mu_rows's P_extra
            mu_rows(W, Q, G, delta2, Wn, P_extra=L1, eps=eps)
        else:
            mu_rows(W, Q, G, delta2, Wn, lam=lam, p=p, tau=tau, eps=eps)
    return Wn, Wn.T @ X, Wn.T @ Wn


def _fused(X, W, H, omega, delta2, hals, lam, p, L1, tau, n_threads=1):
    K, L = H.shape
    Hw = H.T * omega[:, None]
    G = np.ascontiguousarray(H @ Hw)
    Wn = W.copy()
    WtX, WtW = np.full((K, L), np.nan), np.full((K, K), np.nan)
    fused_sweep(X, Wn, np.ascontiguousarray(Hw.T), G, delta2, hals, WtX, WtW, lam=lam, p=p,
                tau=tau, L1=L1, n_threads=n_threads)
    return Wn, WtX, WtW


SHAPES = [(601, 37, 5), (97, 8, 1), (1030, 21, 7), (50, 200, 13), (5, 3, 2), (259, 16, 6),
          (3, 12, 4), (64, 11, 3)]


def test_level_hook_clips_to_the_cpu():
    assert kernels.simd_level() == MAX_LEVEL
    assert kernels.simd_enabled() == (MAX_LEVEL > 0)
    try:
        assert kernels._set_simd_level(0) == 0
        assert kernels.simd_level() == 0 and not kernels.simd_enabled()
        assert kernels._set_simd_level(99) == MAX_LEVEL
        assert kernels._set_simd_level(-3) == 0
    finally:
        kernels._set_simd_level(None)
    assert kernels.simd_level() == MAX_LEVEL


@pytest.mark.parametrize("at_level", LEVELS, indirect=True)
@pytest.mark.parametrize("N,L,K", SHAPES)
@pytest.mark.parametrize("hals", [False, True])
def test_every_level_equals_the_reference_step(at_level, N, L, K, hals):
    X, W, H, omega = _problem(N, L, K, seed=N + 7 * K)
    for i, penalty in enumerate(["none", "l1", "lp", "weights"]):
        lam, p, L1, tau = _penalty(penalty, W, hals, seed=i)
        for delta2 in (0.0, 4.0):
            Wr, Ar, Gr = _reference(X, W, H, omega, delta2, hals, lam, p, L1, tau)
            Wf, Af, Gf = _fused(X, W, H, omega, delta2, hals, lam, p, L1, tau)
            np.testing.assert_allclose(Wf, Wr, rtol=1e-12, atol=1e-14)
            np.testing.assert_allclose(Af, Ar, rtol=1e-12, atol=1e-12 * np.abs(Ar).max())
            np.testing.assert_allclose(Gf, Gr, rtol=1e-12, atol=1e-12 * np.abs(Gr).max())


@pytest.mark.parametrize("at_level", LEVELS, indirect=True)
@pytest.mark.parametrize("N,L,K", [(601, 37, 5), (50, 200, 13), (3, 12, 4)])
@pytest.mark.parametrize("hals", [False, True])
def test_every_level_reads_float32_data_with_float64_products(at_level, N, L, K, hals):
    X, W, H, omega = _problem(N, L, K, seed=3)
    X32 = X.astype(np.float32)
    lam, p, L1, tau = _penalty("lp", W, hals, seed=1)
    a = _fused(X32, W, H, omega, 1.0, hals, lam, p, L1, tau)
    b = _fused(X32.astype(np.float64), W, H, omega, 1.0, hals, lam, p, L1, tau)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-14 * np.abs(v).max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("hals", [False, True])
def test_levels_agree_with_each_other(dtype, hals):
    X, W, H, omega = _problem(1030, 45, 9, seed=5)
    X = X.astype(dtype)
    lam, p, L1, tau = _penalty("lp", W, hals, seed=2)
    out = {}
    try:
        for level in LEVELS:
            kernels._set_simd_level(level)
            out[level] = _fused(X, W, H, omega, 0.25, hals, lam, p, L1, tau)
    finally:
        kernels._set_simd_level(None)
    for level in LEVELS[1:]:
        for u, v in zip(out[level], out[0]):
            np.testing.assert_allclose(u, v, rtol=1e-13, atol=1e-14 * np.abs(v).max())


@pytest.mark.parametrize("at_level", LEVELS, indirect=True)
@pytest.mark.parametrize("hals", [False, True])
def test_every_level_does_not_depend_on_threads(at_level, hals):
    X, W, H, omega = _problem(1500, 30, 7, seed=3)  # 6 chunks of 256 rows
    one = _fused(X, W, H, omega, 1.0, hals, 0.01, None, None, 0.0, n_threads=1)
    for n_threads in (2, 3):
        other = _fused(X, W, H, omega, 1.0, hals, 0.01, None, None, 0.0, n_threads=n_threads)
        for a, b in zip(one, other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("at_level", LEVELS, indirect=True)
def test_every_level_keeps_zero_rows_and_inputs(at_level):
    # zero abundance rows stay zero (MU) and the inputs other than W are not written
    X, W, H, omega = _problem(203, 19, 5, seed=8)
    W[::4] = 0.0
    X0, H0 = X.copy(), H.copy()
    Wn, A, G = _fused(X, W, H, omega, 0.0, False, 0.0, None, None, 0.0)
    assert np.all(Wn[::4] == 0.0)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(H, H0)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(G))


@pytest.mark.parametrize("at_level", LEVELS, indirect=True)
@pytest.mark.parametrize("N", [203, 6])
def test_every_level_half_power_slopes_only_above_tau(at_level, N):
    # MU with p = 1/2 (the l1/2 slope 0.5 lam / sqrt(z), four lanes at once): entries at
    # zero or at most tau take no slope, rows with p >= 1 take lam, other p take pow
    X, W, H, omega = _problem(N, 23, 5, seed=12)
    W[::3, 1] = 0.0
    W[1::3, 2] = 5e-4  # below tau
    W[2::5, 4] = 1e-3  # at tau
    p = np.full(N, 0.5)
    p[::4] = 1.0
    p[3::7] = 0.3
    lam, tau = 0.05, 1e-3
    Wr, Ar, Gr = _reference(X, W, H, omega, 1.0, False, lam, p, None, tau)
    Wf, Af, Gf = _fused(X, W, H, omega, 1.0, False, lam, p, None, tau)
    np.testing.assert_allclose(Wf, Wr, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Af, Ar, rtol=1e-12, atol=1e-12 * np.abs(Ar).max())
    np.testing.assert_allclose(Gf, Gr, rtol=1e-12, atol=1e-12 * np.abs(Gr).max())
    # the slopes matter here: without them the step differs
    W0, *_ = _fused(X, W, H, omega, 1.0, False, 0.0, None, None, tau)
    assert np.abs(W0 - Wf).max() > 1e-6
