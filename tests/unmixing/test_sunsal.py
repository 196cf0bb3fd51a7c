"""SUnSAL, CLSUnSAL, SUnSAL-TV and LibraryUnmixing: objectives vs per-pixel references, KKT."""

import warnings

import numpy as np
import pytest
from scipy.optimize import nnls
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso

from sparsecode.unmixing import (
    LibraryUnmixing,
    clsunsal,
    fcls,
    library_objective,
    sunsal,
    sunsal_tv,
)


def _problem(n=30, k=12, bands=40, seed=0, snr_db=30.0, rows=None):
    rng = np.random.default_rng(seed)
    library = rng.uniform(0.05, 1.0, size=(k, bands))
    X = np.zeros((n, k))
    support = rng.choice(k, 3, replace=False)
    X[:, support] = rng.dirichlet(np.ones(3), size=n)
    Y0 = X @ library
    sigma = np.sqrt(np.mean(Y0**2) / 10 ** (snr_db / 10))
    Y = Y0 + sigma * rng.standard_normal(Y0.shape)
    return Y, library, X


def _rel(a, b):
    return abs(a - b) / abs(b)


@pytest.mark.parametrize("solver", ["active_set", "admm"])
def test_sunsal_lambda0_matches_nnls(solver):
    Y, L, _ = _problem()
    ref = np.array([nnls(L.T, y)[0] for y in Y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        A = sunsal(Y, L, alpha=0.0, solver=solver, tol=1e-9, max_iter=20000)
    f, f_ref = library_objective(Y, L, A), library_objective(Y, L, ref)
    assert _rel(f, f_ref) < (1e-10 if solver == "active_set" else 1e-4)
    assert A.min() >= 0


@pytest.mark.parametrize("alpha", [1e-3, 3e-2])
def test_sunsal_matches_positive_lasso(alpha):
    Y, L, _ = _problem(seed=1)
    lam = alpha * np.mean(Y**2)                    # unscaled weight of 1/2||y - L^T a||^2
    # scikit-learn's Lasso minimises 1/(2 n_bands) ||y - L^T a||^2 + a_sk ||a||_1
    ref = np.array([Lasso(alpha=lam / L.shape[1], positive=True, fit_intercept=False,
                          tol=1e-12, max_iter=100000).fit(L.T, y).coef_ for y in Y])
    A = sunsal(Y, L, alpha=alpha)
    f, f_ref = (library_objective(Y, L, Z, alpha=alpha) for Z in (A, ref))
    assert f <= f_ref * (1 + 1e-8)
    assert _rel(f, f_ref) < 1e-6
    A2 = sunsal(Y, L, alpha=alpha, solver="admm", tol=1e-8, max_iter=20000)
    assert _rel(library_objective(Y, L, A2, alpha=alpha), f_ref) < 1e-4


def test_sunsal_kkt():
    Y, L, _ = _problem(seed=2)
    alpha = 1e-2
    A = sunsal(Y, L, alpha=alpha)
    s2 = np.mean(Y**2)
    grad = -(Y - A @ L) @ L.T / s2 + alpha         # gradient of the smooth part + alpha
    scale = np.abs(L @ L.T).max() / s2
    on = A > 0
    assert np.all(np.abs(grad[on]) < 1e-7 * scale)
    assert np.all(grad[~on] > -1e-7 * scale)


def test_sunsal_unconstrained_admm_kkt():
    Y, L, _ = _problem(seed=3)
    alpha = 1e-2
    A = sunsal(Y, L, alpha=alpha, positive=False, tol=1e-9, max_iter=20000)
    s2 = np.mean(Y**2)
    g = (Y - A @ L) @ L.T / s2                     # = alpha * sign(A) on the support
    on = A != 0
    assert np.allclose(g[on], alpha * np.sign(A[on]), atol=1e-4)
    assert np.all(np.abs(g[~on]) <= alpha + 1e-4)


def test_sum_to_one():
    Y, L, _ = _problem(seed=4)
    A = sunsal(Y, L, alpha=1e-2, sum_to_one=True)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-10)
    assert A.min() >= 0
    np.testing.assert_allclose(A, fcls(Y, L), atol=1e-8)      # same problem (||A||_1 = 1)
    B = sunsal(Y, L, alpha=0.0, sum_to_one=True, positive=False, solver="admm", tol=1e-9,
               max_iter=5000)
    np.testing.assert_allclose(B.sum(axis=1), 1.0, atol=1e-6)


def test_cube_in_cube_out_and_float32():
    Y, L, _ = _problem(n=12)
    cube = Y.reshape(3, 4, -1)
    A = sunsal(cube, L)
    assert A.shape == (3, 4, L.shape[0])
    np.testing.assert_allclose(A.reshape(12, -1), sunsal(Y, L), atol=1e-12)
    A32 = sunsal(cube.astype(np.float32), L.astype(np.float32))
    assert A32.dtype == np.float32
    C = clsunsal(cube, L)
    assert C.shape == (3, 4, L.shape[0])
    T = sunsal_tv(cube, L)
    assert T.shape == (3, 4, L.shape[0])


def test_inputs_not_mutated():
    Y, L, _ = _problem(n=10)
    Y0, L0 = Y.copy(), L.copy()
    sunsal(Y, L)
    clsunsal(Y, L)
    sunsal_tv(Y, L, image_shape=(2, 5))
    assert np.array_equal(Y, Y0) and np.array_equal(L, L0)


@pytest.mark.parametrize("func", [sunsal, clsunsal, sunsal_tv])
def test_bad_inputs(func):
    Y, L, _ = _problem(n=12)
    kw = {"image_shape": (3, 4)} if func is sunsal_tv else {}
    with pytest.raises(ValueError, match="library has 39 bands"):
        func(Y, L[:, :-1], **kw)
    with pytest.raises(ValueError, match="transposed"):
        func(Y[:, :20], L[:, :20].T.copy(), **kw)
    Lneg = L.copy()
    Lneg[2, 3] = -0.1
    with pytest.raises(ValueError, match="library has 1 negative"):
        func(Y, Lneg, **kw)
    Ynan = Y.copy()
    Ynan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y"):
        func(Ynan, L, **kw)
    Lnan = L.copy()
    Lnan[0, 0] = np.nan
    with pytest.raises(ValueError, match="library"):
        func(Y, Lnan, **kw)
    with pytest.raises(ValueError, match="alpha"):
        func(Y, L, alpha=-1.0, **kw)


def test_sunsal_tv_needs_image_shape():
    Y, L, _ = _problem(n=12)
    with pytest.raises(ValueError, match="image_shape"):
        sunsal_tv(Y, L)
    with pytest.raises(ValueError, match="image_shape"):
        sunsal_tv(Y, L, image_shape=(5, 5))
    with pytest.raises(ValueError, match="alpha_tv"):
        sunsal_tv(Y, L, image_shape=(3, 4), alpha_tv=-1.0)


def test_sunsal_tv_with_zero_tv_weight_is_sunsal():
    Y, L, _ = _problem(n=16, seed=5)
    alpha = 1e-2
    A = sunsal(Y, L, alpha=alpha)                  # exact (active set)
    T = sunsal_tv(Y.reshape(4, 4, -1), L, alpha=alpha, alpha_tv=0.0, tol=1e-9,
                  max_iter=20000).reshape(16, -1)
    f, f_ref = (library_objective(Y, L, Z, alpha=alpha) for Z in (T, A))
    assert _rel(f, f_ref) < 1e-5
    np.testing.assert_allclose(T, A, atol=1e-3)


@pytest.mark.parametrize("tv", ["anisotropic", "isotropic"])
def test_sunsal_tv_minimises_its_objective(tv):
    rng = np.random.default_rng(6)
    Y, L, X = _problem(n=36, seed=6, snr_db=15)
    kw = {"alpha": 1e-3, "alpha_tv": 1e-2, "image_shape": (6, 6), "tv": tv}
    T = sunsal_tv(Y, L, tol=1e-7, max_iter=5000, **kw)
    f = library_objective(Y, L, T, **kw)
    A = sunsal(Y, L, alpha=1e-3)
    assert f <= library_objective(Y, L, A, **kw)
    assert f <= library_objective(Y, L, X, **kw)
    for _ in range(5):                             # feasible random perturbations do not improve
        P = np.maximum(T + 1e-3 * rng.standard_normal(T.shape), 0)
        assert f <= library_objective(Y, L, P, **kw) + 1e-9
    assert T.min() >= 0


def test_clsunsal_lambda0_is_nnls_and_row_sparse():
    Y, L, X = _problem(seed=7)
    ref = np.array([nnls(L.T, y)[0] for y in Y])
    A0 = clsunsal(Y, L, alpha=0.0, tol=1e-9, max_iter=20000)
    assert _rel(library_objective(Y, L, A0), library_objective(Y, L, ref)) < 1e-4
    alpha = 0.5
    A = clsunsal(Y, L, alpha=alpha, tol=1e-9, max_iter=20000)
    grad = -(Y - A @ L) @ L.T / np.mean(Y**2)
    norms = np.linalg.norm(A, axis=0)
    assert 0 < np.count_nonzero(norms) < L.shape[0]            # row (library) sparsity
    for k in range(L.shape[0]):                 # KKT of the l2,1 penalty with A >= 0
        if norms[k] > 0:
            on = A[:, k] > 0
            np.testing.assert_allclose(grad[on, k], -alpha * A[on, k] / norms[k], atol=1e-4)
            assert np.all(grad[~on, k] >= -1e-4)
        else:
            assert np.linalg.norm(np.maximum(-grad[:, k], 0)) <= alpha + 1e-4


def test_library_unmixing_estimator():
    Y, L, _ = _problem(n=12)
    cube = Y.reshape(3, 4, -1)
    for method in ("sunsal", "clsunsal", "sunsal_tv"):
        est = LibraryUnmixing(L, method=method)
        A = est.fit_transform(cube)
        assert A.shape == (3, 4, L.shape[0])
        assert est.abundances_ is A
        assert est.components_.shape == L.shape and est.n_features_in_ == L.shape[1]
        np.testing.assert_allclose(clone(est).fit(cube).transform(cube), A)
    np.testing.assert_allclose(LibraryUnmixing(L, alpha=1e-2).fit_transform(Y),
                               sunsal(Y, L, alpha=1e-2))
    with pytest.raises(ValueError, match="method"):
        LibraryUnmixing(L, method="lasso").fit(Y)
    with pytest.raises(ValueError, match="library"):
        LibraryUnmixing(L[:, :5]).fit(Y)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        LibraryUnmixing(L).transform(Y)


def test_admm_max_iter_warns():
    Y, L, _ = _problem()
    with pytest.warns(ConvergenceWarning, match="sunsal did not converge"):
        sunsal(Y, L, solver="admm", max_iter=3, tol=1e-12)


def _usgs():
    from pathlib import Path

    p = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hyperspectral" \
        / "usgs_library_aviris224.npz"
    if not p.exists():
        pytest.skip("USGS library not available")
    return np.load(p)["D"].T.astype(float)


@pytest.mark.parametrize("alpha", [0.0, 1e-3])
def test_active_set_on_ill_conditioned_usgs_library(alpha):
    # cond(library) ~ 1e9: the incremental-Cholesky kernel must still reach nnls/Lasso's objective
    L = _usgs()
    rng = np.random.default_rng(8)
    X = np.zeros((20, L.shape[0]))
    X[:, rng.choice(L.shape[0], 5, replace=False)] = rng.dirichlet(np.ones(5), size=20)
    # every other pixel from other spectra: the kernel's warm start (previous pixel's
    # support) must not change the answer
    X[1::2] = 0
    X[1::2, rng.choice(L.shape[0], 5, replace=False)] = rng.dirichlet(np.ones(5), size=10)
    Y0 = X @ L
    Y = Y0 + np.sqrt(np.mean(Y0**2) / 1e3) * rng.standard_normal(Y0.shape)
    A = sunsal(Y, L, alpha=alpha)
    f = library_objective(Y, L, A, alpha=alpha)
    if alpha == 0:
        ref = np.array([nnls(L.T, y, maxiter=5000)[0] for y in Y])
        assert _rel(f, library_objective(Y, L, ref)) < 1e-8
    # KKT in the rescaled units
    grad = -(Y - A @ L) @ L.T / np.mean(Y**2) + alpha
    scale = np.abs(L @ L.T).max() / np.mean(Y**2)
    assert np.all(np.abs(grad[A > 0]) < 1e-8 * scale)
    assert np.all(grad[A == 0] > -1e-8 * scale)


def test_nnls_gram_kernel_contract():
    from sparsecode._ext._sunsal import nnls_gram

    rng = np.random.default_rng(9)
    M = rng.standard_normal((8, 5))
    G = M @ M.T                                    # rank 5: singular Gram
    C = rng.standard_normal((4, 5)) @ M.T          # c = M y: a bounded NNLS problem
    out = np.full((4, 8), np.nan)
    assert nnls_gram(G, C, out, 100, 1e-12, 1e-14, 1) == 0
    for c, a in zip(C, out):                       # KKT of min 1/2 a^T G a - c^T a, a >= 0
        w = c - G @ a
        assert a.min() >= 0 and np.all(w <= 1e-9) and np.all(np.abs(w[a > 0]) < 1e-9)
    assert nnls_gram(G, C, out, 1, 0.0, 1e-14, 1) > 0          # max_iter reported
    with pytest.raises(ValueError):
        nnls_gram(G, C[:, :3], out, 10, 0.0, 0.0, 1)


def test_per_pixel_alpha():
    Y, L, _ = _problem(n=6, seed=10)
    alphas = np.array([0.0, 1e-3, 1e-2, 3e-2, 1e-1, 0.0])
    A = sunsal(Y, L, alpha=alphas)
    s2 = np.mean(Y**2)
    for i, a in enumerate(alphas):   # each row solves its own problem (same s^2 = mean(Y^2))
        grad = -(Y[i] - A[i] @ L) @ L.T / s2 + a
        assert np.all(np.abs(grad[A[i] > 0]) < 1e-8) and np.all(grad[A[i] == 0] > -1e-8)
    with pytest.raises(ValueError, match="alpha"):
        sunsal(Y, L, alpha=alphas[:3])


def test_nnls_gram_kernel_float32():
    # the kernel is fused: float32 arrays are solved in float32 (KKT to float32 precision)
    from sparsecode._ext._sunsal import nnls_gram

    rng = np.random.default_rng(11)
    M = rng.uniform(0.05, 1.0, size=(10, 40))
    G = (M @ M.T).astype(np.float32)               # cond ~ 1e2: float32 is accurate
    C = (rng.uniform(size=(6, 10)) @ M @ M.T / 3 - 0.3 * G.max()).astype(np.float32)
    out = np.full((6, 10), np.nan, dtype=np.float32)
    assert nnls_gram(G, C, out, 200, 1e-6 * float(G.max()), 1e-5, 1) == 0
    G64, C64 = G.astype(float), C.astype(float)
    ref = np.empty((6, 10))
    nnls_gram(G64, C64, ref, 200, 1e-12 * float(G.max()), 1e-14, 1)
    for c, a, r in zip(C64, out.astype(float), ref):
        w = c - G64 @ a
        assert a.min() >= 0 and np.all(w <= 1e-4 * G.max())
        fa, fr = (0.5 * v @ G64 @ v - c @ v for v in (a, r))
        assert abs(fa - fr) <= 1e-5 * abs(fr)
        np.testing.assert_array_equal(a > 0, r > 0)
    with pytest.raises((TypeError, ValueError)):   # one dtype for all arrays
        nnls_gram(G, C64, ref, 10, 0.0, 0.0, 1)


def test_sunsal_float32_well_conditioned_matches_float64():
    # cond(L L^T) ~ 1e2: float32 in, solved by the float32 kernel; same supports (up to
    # coefficients at float32 rounding level) and objective within 1e-7 relative
    from sparsecode.unmixing._sunsal import _float32_accurate

    Y, L, _ = _problem(n=200, seed=12)
    Ls = L / np.sqrt(np.mean(Y**2))
    assert _float32_accurate(Ls @ Ls.T)
    for alpha in (0.0, 1e-2):
        A64 = sunsal(Y, L, alpha=alpha)
        A32 = sunsal(Y.astype(np.float32), L.astype(np.float32), alpha=alpha)
        assert A32.dtype == np.float32
        f64, f32 = (library_objective(Y, L, A, alpha=alpha) for A in (A64, A32.astype(float)))
        assert _rel(f32, f64) < 1e-7
        differ = (A32 > 0) != (A64 > 0)
        assert np.all(np.maximum(A64, A32)[differ] < 1e-4)
        assert differ.mean() < 1e-3


def test_sunsal_float32_ill_conditioned_promoted():
    # USGS library (cond(L L^T) ~ 1e20): float32 inputs are solved in float64, float32 out
    from sparsecode.unmixing._sunsal import _float32_accurate

    L = _usgs()
    rng = np.random.default_rng(13)
    X = np.zeros((30, L.shape[0]))
    X[:, rng.choice(L.shape[0], 5, replace=False)] = rng.dirichlet(np.ones(5), size=30)
    Y0 = X @ L
    Y = (Y0 + np.sqrt(np.mean(Y0**2) / 1e3) * rng.standard_normal(Y0.shape)).astype(np.float32)
    L32 = L.astype(np.float32)
    Y64, L64 = Y.astype(float), L32.astype(float)
    assert not _float32_accurate(L64 @ L64.T / np.mean(Y64**2))
    A32 = sunsal(Y, L32, alpha=0.0)
    A64 = sunsal(Y64, L64, alpha=0.0)
    assert A32.dtype == np.float32
    np.testing.assert_array_equal(A32, A64.astype(np.float32))


def test_active_set_threads_and_dtypes_agree_on_usgs():
    # each thread warm-starts from its own previous pixel and drops by Givens downdates:
    # the minimiser must not depend on the thread count (objective to 1e-10, KKT)
    L = _usgs()
    rng = np.random.default_rng(14)
    X = np.zeros((40, L.shape[0]))
    X[:, rng.choice(L.shape[0], 5, replace=False)] = rng.dirichlet(np.ones(5), size=40)
    Y0 = X @ L
    Y = Y0 + np.sqrt(np.mean(Y0**2) / 1e2) * rng.standard_normal(Y0.shape)   # 20 dB
    A1 = sunsal(Y, L, alpha=0.0, n_jobs=1)
    A2 = sunsal(Y, L, alpha=0.0, n_jobs=2)
    f1, f2 = (library_objective(Y, L, A) for A in (A1, A2))
    assert _rel(f2, f1) < 1e-10
    grad = -(Y - A2 @ L) @ L.T / np.mean(Y**2)
    scale = np.abs(L @ L.T).max() / np.mean(Y**2)
    assert np.all(np.abs(grad[A2 > 0]) < 1e-8 * scale)
    assert np.all(grad[A2 == 0] > -1e-8 * scale)
