"""OMP / Batch-OMP: equivalence with scikit-learn, theory-backed properties, bad input."""

import warnings

import numpy as np
import pytest
import scipy.linalg
import scipy.optimize
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import orthogonal_mp, orthogonal_mp_gram

from sparsecode import OrthogonalMatchingPursuit, batch_omp, omp
from sparsecode._base import ConvergenceWarning


def _problem(m=64, N=256, k=8, L=50, seed=0, noise=0.0, complex_=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = A + 1j * rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    X = np.zeros((N, L), dtype=A.dtype)
    for i in range(L):
        vals = rng.standard_normal(k) + (1j * rng.standard_normal(k) if complex_ else 0)
        X[rng.choice(N, k, replace=False), i] = vals
    Y = A @ X + noise * rng.standard_normal((m, L))
    return A, X, Y


@pytest.mark.parametrize("precompute", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 5, 8, 20])
def test_equals_sklearn_sparsity_mode(precompute, seed, k):
    A, _, Y = _problem(seed=seed, noise=0.1)
    ours = omp(A, Y, n_nonzero_coefs=k, precompute=precompute).coef
    ref = orthogonal_mp(A, Y, n_nonzero_coefs=k)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("precompute", [True, False])
def test_equals_sklearn_error_mode(precompute):
    A, _, Y = _problem(seed=3, noise=0.1)
    tol = 0.05 * np.mean(np.sum(Y**2, axis=0))
    ours = omp(A, Y, tol=tol, precompute=precompute)
    ref = orthogonal_mp(A, Y, tol=tol)
    np.testing.assert_allclose(ours.coef, ref, atol=1e-10)
    assert np.all(ours.residual_norm2 <= tol + 1e-12)


def test_batch_omp_equals_sklearn_gram():
    A, _, Y = _problem(m=256, N=1024, k=20, L=30, seed=4, noise=0.05)
    G, Aty = A.T @ A, A.T @ Y
    ours = batch_omp(G, Aty, n_nonzero_coefs=20)
    ref = orthogonal_mp_gram(G, Aty, n_nonzero_coefs=20)
    np.testing.assert_allclose(ours.coef, ref, atol=1e-10)
    norms = np.sum(Y**2, axis=0)
    ours = batch_omp(G, Aty, tol=1.0, norms_squared=norms)
    ref = orthogonal_mp_gram(G, Aty, tol=1.0, norms_squared=norms)
    np.testing.assert_allclose(ours.coef, ref, atol=1e-10)
    # the reported residual is the true one
    np.testing.assert_allclose(ours.residual_norm2, np.sum((Y - A @ ours.coef) ** 2, axis=0),
                               atol=1e-9)


def test_error_mode_is_minimal():
    # spec 1.9.2: ||r||^2 <= eps, and dropping the last atom violates it
    A, _, Y = _problem(seed=5, noise=0.2, L=20)
    eps = 0.01 * np.sum(Y**2, axis=0)
    res = omp(A, Y, tol=eps)
    for i in range(Y.shape[1]):
        assert res.residual_norm2[i] <= eps[i] * (1 + 1e-12)
        n = res.n_iter[i]
        prev = omp(A, Y[:, i], n_nonzero_coefs=int(n - 1)) if n > 1 else None
        if prev is not None:
            assert prev.residual_norm2 > eps[i]


def test_identical_for_any_n_jobs_and_chunking(monkeypatch):
    A, _, Y = _problem(L=301, seed=6, noise=0.1)
    G, Aty = A.T @ A, A.T @ Y
    one = batch_omp(G, Aty, n_nonzero_coefs=8, n_jobs=1).coef
    two = batch_omp(G, Aty, n_nonzero_coefs=8, n_jobs=2).coef
    np.testing.assert_array_equal(one, two)
    import sparsecode.greedy._omp as mod

    monkeypatch.setattr(mod, "chunk_size", lambda *a, **k: 7)
    chunked = batch_omp(G, Aty, n_nonzero_coefs=8, n_jobs=2).coef
    np.testing.assert_array_equal(one, chunked)


def test_readonly_and_memmap_inputs_are_not_modified(tmp_path):
    A, _, Y = _problem(L=10, seed=7)
    A_mm = np.lib.format.open_memmap(tmp_path / "A.npy", mode="w+", dtype=A.dtype, shape=A.shape)
    A_mm[:] = A
    A_mm.flush()
    A_ro = np.load(tmp_path / "A.npy", mmap_mode="r")
    Y_ro = Y.copy()
    Y_ro.setflags(write=False)
    before = (np.array(A_ro), Y_ro.copy())
    for pre in (True, False):
        omp(A_ro, Y_ro, n_nonzero_coefs=5, precompute=pre)
    G = A.T @ A
    G.setflags(write=False)
    batch_omp(G, (A.T @ Y_ro), n_nonzero_coefs=5)
    np.testing.assert_array_equal(before[0], A_ro)
    np.testing.assert_array_equal(before[1], Y_ro)


def test_float32_in_float32_out():
    A, _, Y = _problem(L=5)
    res = omp(A.astype(np.float32), Y.astype(np.float32), n_nonzero_coefs=4)
    assert res.coef.dtype == np.float32
    ref = omp(A, Y, n_nonzero_coefs=4).coef
    np.testing.assert_allclose(res.coef, ref, atol=1e-4)
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=4).fit(A.astype(np.float32), Y[:, 0].astype(np.float32))
    assert est.coef_.dtype == np.float32


@pytest.mark.parametrize("precompute", [True, False])
def test_complex_exact_recovery(precompute):
    A, X, Y = _problem(m=48, N=128, k=4, L=20, seed=8, complex_=True)
    res = omp(A, Y, n_nonzero_coefs=4, precompute=precompute)
    np.testing.assert_allclose(res.coef, X, atol=1e-10)


def test_complex_gram_and_nogram_agree_with_noise():
    A, _, Y = _problem(m=48, N=128, k=4, L=20, seed=9, complex_=True, noise=0.1)
    a = omp(A, Y, n_nonzero_coefs=6, precompute=True).coef
    b = omp(A, Y, n_nonzero_coefs=6, precompute=False).coef
    np.testing.assert_allclose(a, b, atol=1e-10)


def test_positive_omp_is_nnls_on_its_support():
    rng = np.random.default_rng(10)
    A = np.abs(rng.standard_normal((40, 100)))
    A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((40, 15))
    res = omp(A, Y, n_nonzero_coefs=5, positive=True)
    assert np.all(res.coef >= 0)
    for i in range(Y.shape[1]):
        S = np.flatnonzero(res.coef[:, i])
        if S.size == 0:  # only when no atom correlates positively with y
            assert np.max(A.T @ Y[:, i]) <= 0
            continue
        assert S.size <= 5
        # KKT of NNLS on the whole dictionary restricted to the support
        z, _ = scipy.optimize.nnls(A[:, S], Y[:, i])
        np.testing.assert_allclose(res.coef[S, i], z, atol=1e-8)


def test_positive_exact_recovery():
    rng = np.random.default_rng(11)
    A = rng.standard_normal((60, 120))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(120)
    x[[3, 50, 99]] = [1.0, 2.0, 0.5]
    res = omp(A, A @ x, n_nonzero_coefs=3, positive=True)
    np.testing.assert_allclose(res.coef, x, atol=1e-10)


def test_linear_dependence_warns_and_stops():
    rng = np.random.default_rng(12)
    A = rng.standard_normal((10, 5))
    # an exact duplicate atom: dependent to working precision (a near-duplicate,
    # 1e-7 away, is independent: tests/test_regressions_regimes_fixups.py)
    A = np.hstack([A, A[:, :1]])
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(10)
    # with 6 atoms in R^10 the last one to be picked is (nearly) dependent
    with pytest.warns(ConvergenceWarning, match="linear dependence"):
        res = omp(A, y, n_nonzero_coefs=6, precompute=True)
    assert res.n_iter == 5


def test_zero_signal_gives_zero_code():
    A, _, _ = _problem(L=1)
    res = omp(A, np.zeros(A.shape[0]), n_nonzero_coefs=3)
    assert np.all(res.coef == 0) and res.n_iter == 0


# --------------------------------------------------------------------------
# hypothesis: properties the theory guarantees
# --------------------------------------------------------------------------
def _incoherent_dictionary(m, seed):
    """[I, H/sqrt(m)] with random signs: mutual coherence 1/sqrt(m)."""
    rng = np.random.default_rng(seed)
    H = scipy.linalg.hadamard(m) / np.sqrt(m)
    A = np.hstack([np.eye(m), H * rng.choice([-1.0, 1.0], size=m)])
    return A[:, rng.permutation(2 * m)]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), log_m=st.sampled_from([4, 5, 6]), data=st.data())
def test_exact_recovery_below_coherence_bound(seed, log_m, data):
    m = 2**log_m
    A = _incoherent_dictionary(m, seed)
    G = A.T @ A
    mu = np.max(np.abs(G - np.eye(G.shape[0])))
    k_max = int(np.ceil((1 + 1 / mu) / 2)) - 1  # k < (1 + 1/mu) / 2
    k = data.draw(st.integers(1, k_max))
    rng = np.random.default_rng(seed + 1)
    x = np.zeros(A.shape[1])
    S = rng.choice(A.shape[1], k, replace=False)
    x[S] = rng.choice([-1.0, 1.0], k) * rng.uniform(0.1, 10, k)
    for pre in (True, False):
        res = omp(A, A @ x, n_nonzero_coefs=k, precompute=pre)
        np.testing.assert_array_equal(np.flatnonzero(res.coef), np.sort(S))
        np.testing.assert_allclose(res.coef, x, atol=1e-9 * np.abs(x).max())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), k=st.integers(1, 10), scale=st.floats(1e-3, 1e3))
def test_residual_orthogonal_permutation_and_scaling(seed, k, scale):
    A, _, Y = _problem(m=32, N=64, k=3, L=3, seed=seed, noise=0.3)
    res = omp(A, Y, n_nonzero_coefs=k)
    R = Y - A @ res.coef
    for i in range(Y.shape[1]):
        S = np.flatnonzero(res.coef[:, i])
        np.testing.assert_allclose(A[:, S].T @ R[:, i], 0, atol=1e-10 * np.linalg.norm(Y[:, i]))
    perm = np.random.default_rng(seed).permutation(A.shape[1])
    res_p = omp(A[:, perm], Y, n_nonzero_coefs=k)
    np.testing.assert_allclose(res_p.coef, res.coef[perm], atol=1e-10)
    res_s = omp(A, scale * Y, n_nonzero_coefs=k)
    np.testing.assert_allclose(res_s.coef, scale * res.coef, rtol=1e-9, atol=1e-12 * scale)


# --------------------------------------------------------------------------
# bad input: clear errors naming the argument
# --------------------------------------------------------------------------
def test_bad_inputs():
    A, _, Y = _problem(m=20, N=40, L=3)
    y = Y[:, 0]
    A_nan = A.copy()
    A_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="A"):
        omp(A_nan, y, n_nonzero_coefs=2)
    y_inf = y.copy()
    y_inf[1] = np.inf
    with pytest.raises(ValueError, match="y"):
        omp(A, y_inf, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="y has 19 rows"):
        omp(A, y[:-1], n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="larger than the number of measurements"):
        omp(A, y, n_nonzero_coefs=21)
    A0 = A.copy()
    A0[:, 3] = 0
    with pytest.raises(ValueError, match="zero-norm column"):
        omp(A0, y, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="empty|0 sample|minimum"):
        omp(np.zeros((0, 4)), np.zeros(0), n_nonzero_coefs=1)
    with pytest.raises(ValueError, match="'tol' parameter"):
        omp(A, y, tol=-1.0)
    with pytest.raises(ValueError, match="'n_nonzero_coefs' parameter"):
        omp(A, y, n_nonzero_coefs=0)
    with pytest.raises(ValueError, match="real data"):
        omp(A + 1j, y, n_nonzero_coefs=2, positive=True)
    with pytest.raises(ValueError, match="gram must be square"):
        batch_omp(A, A.T @ y, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="norms_squared"):
        batch_omp(A.T @ A, A.T @ y, tol=0.1)
    with pytest.raises(ValueError, match="Aty has"):
        batch_omp(A.T @ A, y, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="'precompute' parameter"):
        OrthogonalMatchingPursuit(precompute="yes").fit(A, y)


def test_estimator_attributes_and_intercept():
    A, X, Y = _problem(m=50, N=100, k=3, L=2, seed=13)
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=3).fit(A, Y)
    assert est.coef_.shape == (2, 100)
    np.testing.assert_allclose(est.coef_, X.T, atol=1e-10)
    np.testing.assert_array_equal(est.support_, X.T != 0)
    np.testing.assert_array_equal(est.n_iter_, [3, 3])
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=3, fit_intercept=True).fit(A, Y[:, 0] + 5.0)
    assert abs(est.intercept_ - (5.0 + 0)) < 1.0
    np.testing.assert_allclose(est.predict(A), Y[:, 0] + 5.0, atol=1e-8)


def test_no_warning_on_clean_problems():
    A, _, Y = _problem(seed=14)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        omp(A, Y, n_nonzero_coefs=8)
