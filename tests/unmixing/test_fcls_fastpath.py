"""FCLS fast path (issue 16 speed): closed-form pass, warm-started kernel, cached BLAS limits.

``fcls`` solves the equality-constrained least squares of every pixel in closed form
first (optimal where it is non-negative) and runs the active-set kernel, warm-started,
only on the other pixels. The result must be the one of the cold-started kernel on
every pixel and of a scipy ``nnls`` loop on the sum-to-one augmented system.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.exceptions import ConvergenceWarning

from sparsecode import _parallel
from sparsecode._ext._fcls import fcls_gram
from sparsecode.unmixing import fcls
from sparsecode.unmixing._fcls import _closed_form


def _mixture(seed, K=5, L=40, N=300, noise=0.05):
    """Abundances on the simplex, some with zeros, plus noise: both paths occur."""
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 1.0, size=(K, L))
    A = rng.dirichlet(np.full(K, 0.5), size=N)
    A[rng.random((N, K)) < 0.2] = 0.0
    A /= np.maximum(A.sum(1, keepdims=True), 1e-12)
    Y = A @ E + noise * rng.standard_normal((N, L))
    return E, Y


def _nnls_loop(Y, E, delta):
    aug = np.vstack([E.T, delta * np.ones(E.shape[0])])
    return np.array([nnls(aug, np.r_[y, delta])[0] for y in Y])


def _cold(Y, E, delta2, max_iter=None):
    """The active-set kernel alone, every pixel from the empty set (previous behaviour)."""
    K = E.shape[0]
    s = np.max(np.abs(E))  # the same scaling as fcls (problem solved for Y / s, E / s)
    G = np.ascontiguousarray((E / s) @ (E / s).T)
    C = np.ascontiguousarray((Y / s) @ (E / s).T)
    out = np.empty((Y.shape[0], K))
    fcls_gram(G, C, (np.sqrt(delta2) / s) ** 2, out, 3 * K + 5 if max_iter is None else max_iter,
              1e-12 * float(np.max(np.diag(G))))
    return out


def _paths(Y, E, delta2):
    s = np.max(np.abs(E))
    Es = E / s
    A0 = _closed_form(Es @ Es.T, (Y / s) @ Es.T, delta2 / s**2)
    return None if A0 is None else np.any(A0 < 0, axis=1)


@pytest.mark.parametrize("delta", [0.0, 1.0, 1e3])
@pytest.mark.parametrize("seed", [0, 1])
def test_fast_path_matches_nnls_loop_with_sum_to_one_row(seed, delta):
    E, Y = _mixture(seed)
    bad = _paths(Y, E, delta**2)
    assert bad is not None and 0 < bad.sum() < len(bad)  # both paths are exercised
    np.testing.assert_allclose(fcls(Y, E, delta=delta), _nnls_loop(Y, E, delta),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("delta", [None, 0.0, 0.3, 1e3])
@pytest.mark.parametrize("K", [2, 4, 10])
def test_fast_path_matches_cold_kernel(K, delta):
    E, Y = _mixture(K, K=K, L=60, N=400)
    delta2 = np.inf if delta is None else delta**2
    got = fcls(Y, E, delta=delta)
    np.testing.assert_allclose(got, _cold(Y, E, delta2), atol=1e-10, rtol=0)
    assert np.all(got >= 0)
    if delta is None:
        np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-12)
    got2 = fcls(Y, E, delta=delta, n_jobs=2)
    np.testing.assert_allclose(got2, got, atol=1e-12, rtol=0)


def test_exact_constraint_matches_large_delta_nnls():
    # delta=None is the limit delta -> inf of the augmented nnls problem
    E, Y = _mixture(3, K=4, L=30, N=200)
    np.testing.assert_allclose(fcls(Y, E), _nnls_loop(Y, E, 1e4), atol=1e-6, rtol=0)
    np.testing.assert_allclose(fcls(Y, E), _cold(Y, E, np.inf), atol=1e-10, rtol=0)


@pytest.mark.parametrize("kind", ["duplicated", "rank_deficient"])
@pytest.mark.parametrize("delta", [None, 10.0])
def test_degenerate_endmembers_use_the_kernel(kind, delta):
    rng = np.random.default_rng(7)
    if kind == "duplicated":
        E0 = rng.uniform(0.1, 1.0, size=(3, 20))
        E = np.vstack([E0, E0[1]])  # a repeated endmember: G singular
    else:
        E = rng.uniform(0.1, 1.0, size=(6, 4))  # more endmembers than bands
    Y = rng.dirichlet(np.ones(E.shape[0]), size=100) @ E + 0.01 * rng.standard_normal(
        (100, E.shape[1]))
    delta2 = np.inf if delta is None else delta**2
    assert _paths(Y, E, delta2) is None  # no closed form for a singular Gram matrix
    got = fcls(Y, E, delta=delta)
    np.testing.assert_allclose(got, _cold(Y, E, delta2), atol=1e-10, rtol=0)
    if delta is not None:  # abundances not unique; the objective is
        def obj(A):
            return (np.sum((Y - A @ E) ** 2, 1) + delta**2 * (A.sum(1) - 1) ** 2)
        np.testing.assert_allclose(obj(got), obj(_nnls_loop(Y, E, delta)), atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize("scale", [1e-150, 1e-120, 1e-50, 1e50, 1e120, 1e200])
@pytest.mark.parametrize("delta", [None, 2.0])
def test_fast_path_scale_equivariant(scale, delta):
    # both branches of the 1/s folding (|E| inside and outside 1e-100..1e100)
    E, Y = _mixture(4, K=5, L=30, N=150)
    ref = fcls(Y, E, delta=delta)
    got = fcls(scale * Y, scale * E, delta=None if delta is None else scale * delta)
    np.testing.assert_allclose(got, ref, atol=1e-10, rtol=0)


def test_float32_in_float32_out_same_abundances():
    E, Y = _mixture(5, K=6, L=50, N=300)
    E32, Y32 = E.astype(np.float32), Y.astype(np.float32)
    got = fcls(Y32, E32)
    assert got.dtype == np.float32
    ref = fcls(Y32.astype(np.float64), E32.astype(np.float64))
    np.testing.assert_allclose(got, ref.astype(np.float32), atol=1e-7, rtol=0)
    np.testing.assert_allclose(ref, _cold(Y32.astype(float), E32.astype(float), np.inf),
                               atol=1e-10, rtol=0)


@pytest.mark.parametrize("delta2", [np.inf, 0.0, 4.0])
def test_warm_kernel_any_start_gives_the_optimum(delta2):
    # the warm start only picks the first passive set: any guess with a negative
    # entry (so that the pixel is solved) ends at the cold kernel's optimum
    E, Y = _mixture(6, K=7, L=30, N=250)
    G = np.ascontiguousarray(E @ E.T)
    C = Y @ E.T
    rng = np.random.default_rng(0)
    guess = rng.standard_normal(C.shape)
    guess[np.arange(len(guess)), rng.integers(0, 7, len(guess))] = -1.0
    ref = _cold(Y, E, delta2)
    tol = 1e-12 * float(np.max(np.diag(G)))
    out = guess.copy()
    assert fcls_gram(G, np.ascontiguousarray(C), delta2, out, 26, tol, 1, True) == 0
    np.testing.assert_allclose(out, ref, atol=1e-10, rtol=0)
    out = guess.copy()  # strided C (the transpose of a (K, N) array) reads the same
    assert fcls_gram(G, np.ascontiguousarray(C.T).T, delta2, out, 26, tol, 1, True) == 0
    np.testing.assert_allclose(out, ref, atol=1e-10, rtol=0)
    keep = np.abs(rng.standard_normal(C.shape))  # non-negative rows: kept as given
    out = keep.copy()
    fcls_gram(G, np.ascontiguousarray(C), delta2, out, 26, tol, 1, True)
    np.testing.assert_array_equal(out, keep)


def test_small_max_iter_still_warns_as_before():
    # the closed form is used only when max_iter > K, so a max_iter too small for the
    # active set keeps its ConvergenceWarning and its result
    E, Y = _mixture(8, K=5, L=30, N=100)
    with pytest.warns(ConvergenceWarning):
        got = fcls(Y, E, max_iter=3)
    np.testing.assert_allclose(got, _cold(Y, E, np.inf, max_iter=3), atol=1e-12, rtol=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fcls(Y, E)


def test_blas_limited_caches_controller_and_restores_limits():
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [d["num_threads"] for d in threadpoolctl.threadpool_info()
                if d["user_api"] == "blas"]

    before = blas_threads()
    with _parallel.blas_limited(1):
        assert all(n == 1 for n in blas_threads())
        first = _parallel._CONTROLLER
    with _parallel.blas_limited(1):
        assert _parallel._CONTROLLER is first  # no rescan of the loaded libraries
    assert first is not None
    assert blas_threads() == before


@pytest.mark.parametrize("K", [3, 8])
@pytest.mark.parametrize("warm", [False, True])
def test_kernel_factor_cache_matches_per_pixel_factorization(K, warm):
    # with N >= 2**K the kernel factors every passive set's Gram block once; a
    # single pixel (N = 1) takes the uncached path: same abundances
    E, Y = _mixture(9 + K, K=K, L=25, N=2**K + 50)
    G = np.ascontiguousarray(E @ E.T)
    C = np.ascontiguousarray(Y @ E.T)
    tol = 1e-12 * float(np.max(np.diag(G)))
    start = np.random.default_rng(1).standard_normal(C.shape)
    start[:, 0] = -1.0
    for delta2 in (np.inf, 2.0):
        out = start.copy()
        fcls_gram(G, C, delta2, out, 3 * K + 5, tol, 1, warm)
        one = np.empty((1, K))
        for n in range(0, len(C), 17):
            one[:] = start[n]
            fcls_gram(G, C[n:n + 1], delta2, one, 3 * K + 5, tol, 1, warm)
            np.testing.assert_allclose(one[0], out[n], atol=1e-12, rtol=0)


def test_huge_delta_is_the_exact_constraint_not_an_overflow():
    # (delta / s)**2 past the float range raised OverflowError (Python float power);
    # it is the limit delta -> inf, the exact sum-to-one
    E, Y = _mixture(10, K=4, L=20, N=60)
    np.testing.assert_allclose(fcls(Y, E, delta=1e300), fcls(Y, E), atol=1e-12, rtol=0)


def test_fused_pass_equals_the_gram_path_and_does_not_depend_on_threads():
    # the one-pass kernel (correlations + closed-form start, OpenMP over pixels) runs for
    # data of ordinary scale; the BLAS path for data scaled past 1e100.  Abundances do not
    # depend on a common scale, so both must agree
    rng = np.random.default_rng(4)
    E = rng.uniform(0.05, 1.0, size=(5, 40))
    Y = rng.dirichlet(0.3 * np.ones(5), size=5000) @ E + 0.02 * rng.standard_normal((5000, 40))
    fused1 = fcls(Y, E, n_jobs=1)
    np.testing.assert_array_equal(fcls(Y, E, n_jobs=2), fused1)
    assert (fused1 == 0).any() and (fused1 > 0).all(axis=1).any()  # both kinds of pixels
    c = 2.0 ** 400
    np.testing.assert_allclose(fcls(Y * c, E * c), fused1, rtol=0, atol=1e-10)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fused_pass_refuses_non_finite_pixels(bad):
    rng = np.random.default_rng(5)
    E = rng.uniform(0.05, 1.0, size=(3, 12))
    Y = rng.dirichlet(np.ones(3), size=300) @ E
    Y[17, 4] = bad
    with pytest.raises(ValueError, match="NaN or infinity"):
        fcls(Y, E)
    E0 = E.copy()
    E0[:, 4] = 0.0  # inf * 0 and NaN * 0 are NaN: still detected through a zero band
    with pytest.raises(ValueError, match="NaN or infinity"):
        fcls(Y, E0)
