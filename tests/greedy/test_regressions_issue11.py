"""Issue 11 regressions for the greedy family: no silent wrong answers.

Each test failed on the code before the fix (noted per test) and checks what
the theory guarantees: exact recovery of a sparse vector whose support is
identifiable (small coherence, noise-free), exact equality with scikit-learn
where both compute the same iterates, and exact equivariance under
power-of-two-free rescaling (the answer of a scale-equivariant method scales).
"""

import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import OrthogonalMatchingPursuitCV as SkOMPCV
from sklearn.linear_model import orthogonal_mp

from sparsecode import (
    MatchingPursuit,
    OrthogonalMatchingPursuit,
    OrthogonalMatchingPursuitCV,
    batch_omp,
    matching_pursuit,
    omp,
    sparse_encode,
)
from sparsecode._base import ConvergenceWarning

SCALES = [1e-150, 1e-90, 1e80, 1e150]


def _unit_columns(m, N, seed, complex_=False):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = A + 1j * rng.standard_normal((m, N))
    return A / np.linalg.norm(A, axis=0)


def _sparse(N, support, values, dtype=float):
    x = np.zeros(N, dtype=dtype)
    x[support] = values
    return x


# --------------------------------------------------------------------------
# 1. complex OMP through the sparse_encode hub (the Gram lacked a conjugate:
#    residual ~160-290 x ||y|| before)
# --------------------------------------------------------------------------
def test_complex_omp_through_the_hub_is_exact():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 100)) + 1j * rng.standard_normal((40, 100))
    x = _sparse(100, [3, 50, 77], [1 + 1j, -2.0, 0.5j], complex)
    y = A @ x
    code = sparse_encode(y[None], A.T, algorithm="omp", n_nonzero_coefs=3)[0]
    ref = omp(A, y, n_nonzero_coefs=3).coef
    np.testing.assert_array_equal(np.flatnonzero(code), [3, 50, 77])
    np.testing.assert_allclose(code, ref, atol=1e-12 * np.abs(x).max())
    np.testing.assert_allclose(code, x, atol=1e-12 * np.abs(x).max())
    assert np.linalg.norm(y - A @ code) <= 1e-12 * np.linalg.norm(y)


def test_complex_hub_many_signals_matches_omp():
    A = _unit_columns(32, 64, 1, complex_=True)
    rng = np.random.default_rng(2)
    X = np.zeros((64, 50), complex)
    for i in range(50):
        X[rng.choice(64, 3, replace=False), i] = rng.standard_normal(3) + 1j
    Y = A @ X + 0.01 * (rng.standard_normal((32, 50)) + 1j * rng.standard_normal((32, 50)))
    codes = sparse_encode(Y.T, A.T, algorithm="omp", n_nonzero_coefs=3)
    ref = omp(A, Y, n_nonzero_coefs=3, precompute=False).coef
    np.testing.assert_allclose(codes, ref.T, atol=1e-10)


# --------------------------------------------------------------------------
# 2. scale: wrong support at 1e80, zeros at 1e-90 before (squared
#    correlations over/underflowed)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("precompute", [True, False])
def test_omp_scales_over_the_float_range(scale, precompute):
    A = _unit_columns(30, 60, 0)
    x = _sparse(60, [3, 17, 40], [1.0, -2.0, 1.5])
    y = A @ x
    # data at scale s (A and y): same coefficients
    res = omp(scale * A, scale * y, n_nonzero_coefs=3, precompute=precompute)
    np.testing.assert_array_equal(np.flatnonzero(res.coef), [3, 17, 40])
    np.testing.assert_allclose(res.coef, x, rtol=1e-12, atol=0)
    # signal at scale s only: coefficients scale with it
    res = omp(A, scale * y, n_nonzero_coefs=3, precompute=precompute)
    np.testing.assert_allclose(res.coef, scale * x, rtol=1e-12, atol=0)
    # error mode: the tolerance scales with ||y||^2
    res = omp(scale * A, scale * y, tol=1e-20 * (scale * np.linalg.norm(y)) ** 2,
              precompute=precompute)
    np.testing.assert_array_equal(np.flatnonzero(res.coef), [3, 17, 40])
    assert np.isfinite(res.residual_norm2)


@pytest.mark.parametrize("scale", SCALES)
def test_batch_omp_and_estimator_scale(scale):
    A = _unit_columns(30, 60, 3)
    X = np.zeros((60, 3))
    X[[1, 9], 0] = [1.0, 2.0]
    X[[5, 20, 33], 1] = [-1.0, 0.5, 3.0]
    X[[59], 2] = [4.0]
    As, Y = scale * A, scale * (A @ X)
    res = batch_omp(As.T @ As, As.T @ Y, n_nonzero_coefs=3,
                    norms_squared=np.sum(Y**2, axis=0))
    np.testing.assert_allclose(res.coef, X, rtol=1e-12, atol=1e-12 * np.abs(X).max())
    res = batch_omp(As.T @ As, As.T @ Y, n_nonzero_coefs=3)  # no norms
    np.testing.assert_allclose(res.coef, X, rtol=1e-12, atol=1e-12 * np.abs(X).max())
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=2).fit(As, Y[:, 0])
    np.testing.assert_allclose(est.coef_, X[:, 0], rtol=1e-12, atol=1e-12)
    codes = sparse_encode(Y.T, As.T, algorithm="omp", n_nonzero_coefs=3)
    np.testing.assert_allclose(codes, X.T, rtol=1e-12, atol=1e-12 * np.abs(X).max())


@pytest.mark.parametrize("scale", SCALES)
def test_matching_pursuit_is_scale_equivariant(scale):
    A = _unit_columns(20, 40, 4)
    y = A @ _sparse(40, [2, 30], [1.0, -0.7]) + 0.05 * np.random.default_rng(4).standard_normal(20)
    ref = matching_pursuit(A, y, n_nonzero_coefs=4, max_iter=30)
    res = matching_pursuit(scale * A, scale * y, n_nonzero_coefs=4, max_iter=30)
    np.testing.assert_array_equal(res.coef != 0, ref.coef != 0)
    np.testing.assert_allclose(res.coef, ref.coef, rtol=1e-12, atol=0)
    res = matching_pursuit(A, scale * y, n_nonzero_coefs=4, max_iter=30)
    np.testing.assert_allclose(res.coef, scale * ref.coef, rtol=1e-12, atol=0)
    np.testing.assert_allclose(res.residual_norm2, scale**2 * ref.residual_norm2, rtol=1e-10)
    est = MatchingPursuit(n_nonzero_coefs=4, max_iter=30).fit(scale * A, scale * y)
    np.testing.assert_allclose(est.coef_, ref.coef, rtol=1e-12, atol=0)


def test_atom_norms_beyond_the_float_range_are_refused():
    A = _unit_columns(10, 4, 5)
    A[:, 1] *= 1e-170  # its squared norm underflows once the largest atom is ~1
    with pytest.raises(ValueError, match="atom norms span more than the floating-point range"):
        omp(A, A[:, 0], n_nonzero_coefs=1)


# --------------------------------------------------------------------------
# 3. batch_omp without norms padded exact signals with noise atoms (5 atoms
#    for 2); 'all available atoms were used' at the user's k; no warning
#    when a duplicated atom stops the pursuit at the rank
# --------------------------------------------------------------------------
@pytest.mark.parametrize("positive", [False, True])
def test_batch_omp_without_norms_stops_on_exact_signals(positive):
    A = _unit_columns(20, 50, 0)
    x = _sparse(50, [4, 30], [1.0, 2.0 if positive else -2.0])
    y = A @ x
    res = batch_omp(A.T @ A, A.T @ y, n_nonzero_coefs=5, positive=positive)
    assert res.n_iter == 2
    np.testing.assert_array_equal(np.flatnonzero(res.coef), [4, 30])
    np.testing.assert_allclose(res.coef, x, atol=1e-12)


@pytest.mark.parametrize("precompute", [True, False])
def test_stopping_at_the_users_k_with_tol_is_a_normal_stop(precompute):
    A = _unit_columns(20, 50, 1)
    y = A @ _sparse(50, [4, 30, 7], [1.0, -2.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = omp(A, y, n_nonzero_coefs=2, tol=1e-12, precompute=precompute)
        codes = sparse_encode(y[None], A.T, algorithm="omp", n_nonzero_coefs=2, tol=1e-12)
    assert res.n_iter == 2 and res.converged
    np.testing.assert_allclose(codes[0], res.coef, atol=1e-12)
    # the documented warning still fires when every possible atom was used
    B = _unit_columns(20, 3, 2)
    yb = np.random.default_rng(2).standard_normal(20)
    with pytest.warns(ConvergenceWarning, match="all available atoms were used"):
        omp(B, yb, tol=1e-12, precompute=precompute)


@pytest.mark.parametrize("precompute", [True, False])
def test_duplicated_atom_stops_at_the_rank_with_a_warning(precompute):
    rng = np.random.default_rng(12)
    B = rng.standard_normal((10, 5))
    A = np.hstack([B, B[:, :1]])  # exact duplicate: rank 5, 6 atoms
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(10)  # not in the span of A
    with pytest.warns(ConvergenceWarning, match="linear dependence"):
        res = omp(A, y, n_nonzero_coefs=6, precompute=precompute)
    assert res.n_iter == 5
    # the least-squares fit on the rank-5 span is what OMP must return
    x_ls = np.linalg.lstsq(B, y, rcond=None)[0]
    np.testing.assert_allclose(A @ res.coef, B @ x_ls, atol=1e-10)
    # a signal that is represented exactly with fewer atoms is no failure
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = omp(A, A[:, 2] - A[:, 4], n_nonzero_coefs=4, precompute=precompute)
    assert res.n_iter == 2


# --------------------------------------------------------------------------
# 4. fit_intercept with a constant column raised ("zero-norm column")
# --------------------------------------------------------------------------
@pytest.mark.parametrize("Est, kw", [(OrthogonalMatchingPursuit, {}),
                                     (OrthogonalMatchingPursuit, {"precompute": False}),
                                     (MatchingPursuit, {"max_iter": 500})])
def test_constant_columns_with_intercept_are_never_selected(Est, kw):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 8))
    X[:, 2] = 0.1  # centred: zero up to the rounding of its mean
    X[:, 5] = 3.0
    y = 2.0 * X[:, 0] - X[:, 3] + 1.0
    est = Est(n_nonzero_coefs=2, fit_intercept=True, **kw).fit(X, y)
    assert est.coef_[2] == 0 and est.coef_[5] == 0
    ref = Est(n_nonzero_coefs=2, fit_intercept=True, **kw).fit(np.delete(X, [2, 5], axis=1), y)
    np.testing.assert_allclose(np.delete(est.coef_, [2, 5]), ref.coef_, atol=1e-12)
    np.testing.assert_allclose(est.predict(X), y, atol=1e-8)
    # every column constant: the model is the mean
    est = Est(fit_intercept=True, **kw).fit(np.ones((5, 3)), [1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(est.coef_, 0)
    assert est.intercept_ == pytest.approx(3.0)


def test_zero_column_without_intercept_in_the_estimator():
    A = _unit_columns(20, 10, 6)
    A[:, 4] = 0
    y = A @ _sparse(10, [1, 7], [1.0, -1.0])
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=2).fit(A, y)
    np.testing.assert_array_equal(np.flatnonzero(est.coef_), [1, 7])


# --------------------------------------------------------------------------
# 5. compiled code: a failed malloc was a segfault; non-negative OMP ignored
#    n_jobs and called LAPACK inside prange without a BLAS cap
# --------------------------------------------------------------------------
def test_failed_workspace_allocation_raises_memory_error():
    # Run in a child whose address space is capped just above its current
    # size, so that the kernels' per-thread workspaces cannot be allocated.
    code = textwrap.dedent("""
        import re, resource
        import numpy as np
        from sparsecode._ext import _omp
        N, L = 3000, 2
        G = np.eye(N); Aty = np.ones((L, N)); A = np.asfortranarray(np.eye(N))
        Y = np.asfortranarray(np.ones((N, L))); X = np.ones((L, N))
        d = np.ones(N); yn = np.ones(L); e = np.zeros(L)
        i2 = lambda: np.zeros((L, N), np.intc)
        f2 = lambda: np.zeros((L, N))
        i1 = lambda: np.zeros(L, np.intc)
        calls = [
            lambda: _omp.batch_omp_gram(G, Aty, d, yn, e, N, False, 1e-10, 1, i2(), f2(), i1(),
                                        np.zeros(L), i1(), np.zeros((1, 1)), False),
            lambda: _omp.batch_omp_encode(X, G, G, d, e, N, False, 1e-10, 1, 32, i2(), f2(),
                                          i1(), np.zeros(L), i1(), np.zeros((1, 1)), False),
            lambda: _omp.omp_nogram(A, Y, d, e, N, False, 1e-10, 1, i2(), f2(), i1(),
                                    np.zeros(L), i1()),
        ]
        vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
        resource.setrlimit(resource.RLIMIT_AS, (vm * 1024 + 100 * 2**20, resource.RLIM_INFINITY))
        for call in calls:
            try:
                call()
            except MemoryError as exc:
                assert "could not allocate" in str(exc), exc
            else:
                raise SystemExit("no MemoryError")
        print("ok")
    """)
    if not sys.platform.startswith("linux"):
        pytest.skip("RLIMIT_AS and /proc are Linux features")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", (out.returncode, out.stderr[-2000:])


def test_kernel_refuses_kmax_larger_than_the_dictionary():
    from sparsecode._ext import _omp

    G = np.eye(4)
    with pytest.raises(ValueError, match="kmax"):
        _omp.batch_omp_gram(G, np.ones((1, 4)), np.ones(4), np.ones(1), np.zeros(1), 5, False,
                            1e-10, 1, np.zeros((1, 5), np.intc), np.zeros((1, 5)),
                            np.zeros(1, np.intc), np.zeros(1), np.zeros(1, np.intc),
                            np.zeros((1, 1)), False)


def test_nonnegative_omp_honours_n_jobs_and_caps_blas(monkeypatch):
    import numba
    from threadpoolctl import threadpool_info

    from sparsecode.greedy import _nnomp

    seen = []
    original = _nnomp.nnomp_gram

    def spy(*args):
        blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
        seen.append((numba.get_num_threads(), max(blas) if blas else 1))
        return original(*args)

    monkeypatch.setattr(_nnomp, "nnomp_gram", spy)
    A = np.abs(_unit_columns(20, 40, 7))
    Y = A @ np.abs(np.random.default_rng(7).standard_normal((40, 6)))
    before = numba.get_num_threads()
    r1 = omp(A, Y, n_nonzero_coefs=3, positive=True, n_jobs=1)
    n2 = min(2, numba.config.NUMBA_NUM_THREADS)
    r2 = omp(A, Y, n_nonzero_coefs=3, positive=True, n_jobs=2)
    assert seen == [(1, 1), (n2, 1)]
    assert numba.get_num_threads() == before
    np.testing.assert_array_equal(r1.coef, r2.coef)


# --------------------------------------------------------------------------
# 6. scikit-learn parity
# --------------------------------------------------------------------------
def test_return_path_equals_sklearn():
    A = _unit_columns(30, 60, 8)
    Y = np.random.default_rng(8).standard_normal((30, 3))
    ours = omp(A, Y[:, 0], n_nonzero_coefs=5, return_path=True)
    ref = orthogonal_mp(A, Y[:, 0], n_nonzero_coefs=5, return_path=True)
    assert ours.coef_path.shape == ref.shape == (60, 5)
    np.testing.assert_allclose(ours.coef_path, ref, atol=1e-12)
    np.testing.assert_allclose(ours.coef_path[:, -1], ours.coef, atol=1e-12)
    ours = omp(A, Y, n_nonzero_coefs=5, return_path=True)
    ref = orthogonal_mp(A, Y, n_nonzero_coefs=5, return_path=True)
    np.testing.assert_allclose(ours.coef_path, ref, atol=1e-12)
    # scaled data: the path scales too
    big = omp(1e120 * A, 1e120 * Y, n_nonzero_coefs=5, return_path=True)
    np.testing.assert_allclose(big.coef_path, ref, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="return_path"):
        omp(A, Y, n_nonzero_coefs=2, positive=True, return_path=True)


def test_omp_cv_matches_sklearn():
    # unit-norm columns: scikit-learn's selection (|a_j^T r|) and ours
    # (|a_j^T r| / ||a_j||) coincide, so the paths, the choice and the refit agree
    rng = np.random.default_rng(9)
    X = _unit_columns(80, 25, 9)
    w = _sparse(25, [1, 6, 13, 20], [3.0, -2.0, 1.5, 1.0])
    y = X @ w + 0.05 * rng.standard_normal(80)
    ours = OrthogonalMatchingPursuitCV(fit_intercept=False, cv=4).fit(X, y)
    ref = SkOMPCV(fit_intercept=False, cv=4).fit(X, y)
    assert ours.n_nonzero_coefs_ == ref.n_nonzero_coefs_
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-10)
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), atol=1e-9)
    assert ours.mse_path_.shape[1] == 4


def test_omp_cv_with_intercept_chooses_the_best_path_step():
    # with an intercept each training fold is centred (column norms then
    # differ, so the selection is ours, normalised); the choice must be the
    # argmin of the fold-averaged test error of the per-fold OMP paths
    from sklearn.model_selection import KFold

    rng = np.random.default_rng(9)
    X = rng.standard_normal((80, 25))
    w = _sparse(25, [1, 6, 13, 20], [3.0, -2.0, 1.5, 1.0])
    y = X @ w + 4.0 + 0.3 * rng.standard_normal(80)
    est = OrthogonalMatchingPursuitCV(cv=4, max_iter=8).fit(X, y)
    mse = []
    for train, test in KFold(4).split(X):
        mu_x, mu_y = X[train].mean(axis=0), y[train].mean()
        path = omp(X[train] - mu_x, y[train] - mu_y, n_nonzero_coefs=8,
                   return_path=True).coef_path
        mse.append((((X[test] - mu_x) @ path - (y[test] - mu_y)[:, None]) ** 2).mean(axis=0))
    mse = np.array(mse).T
    np.testing.assert_allclose(est.mse_path_, mse, rtol=1e-10)
    assert est.n_nonzero_coefs_ == int(np.argmin(mse.mean(axis=1))) + 1
    ref = OrthogonalMatchingPursuit(n_nonzero_coefs=est.n_nonzero_coefs_,
                                    fit_intercept=True).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, atol=1e-12)
    assert set(np.flatnonzero(w)) <= set(np.flatnonzero(est.coef_))


def test_omp_cv_with_a_constant_column_and_max_iter():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((40, 12))
    X[:, 3] = 7.0
    y = X[:, [0, 5]] @ np.array([2.0, -1.0]) + 0.01 * rng.standard_normal(40)
    est = OrthogonalMatchingPursuitCV(max_iter=6, cv=3).fit(X, y)
    assert est.coef_[3] == 0
    assert 2 <= est.n_nonzero_coefs_ <= 6
    np.testing.assert_array_equal(np.flatnonzero(est.coef_)[:2], [0, 5])


@pytest.mark.parametrize("precompute", [True, False])
def test_tol_and_n_nonzero_coefs_semantics(precompute):
    # documented difference from scikit-learn: both given -> whichever first;
    # tol alone -> scikit-learn's answer
    A = _unit_columns(30, 60, 11)
    Y = A[:, :8] @ np.random.default_rng(11).standard_normal((8, 3))
    tol = 1e-3 * np.min(np.sum(Y**2, axis=0))
    both = omp(A, Y, n_nonzero_coefs=3, tol=tol, precompute=precompute)
    np.testing.assert_array_equal(both.n_iter, 3)
    np.testing.assert_allclose(both.coef, orthogonal_mp(A, Y, n_nonzero_coefs=3), atol=1e-10)
    alone = omp(A, Y, tol=tol, precompute=precompute)
    np.testing.assert_allclose(alone.coef, orthogonal_mp(A, Y, tol=tol), atol=1e-10)
    assert np.all(alone.n_iter > 3)
    est = OrthogonalMatchingPursuit(tol=tol).fit(A, Y[:, 0])
    np.testing.assert_allclose(est.coef_, orthogonal_mp(A, Y[:, 0], tol=tol), atol=1e-10)


def test_sparse_input_is_refused_with_toarray_hint():
    A = _unit_columns(12, 20, 12)
    y = A[:, 3].copy()
    A_csr = sp.csr_matrix(A)
    for call in (lambda: omp(A_csr, y, n_nonzero_coefs=1),
                 lambda: matching_pursuit(A_csr, y, n_nonzero_coefs=1),
                 lambda: batch_omp(sp.csr_matrix(A.T @ A), A.T @ y, n_nonzero_coefs=1),
                 lambda: OrthogonalMatchingPursuit(n_nonzero_coefs=1).fit(A_csr, y),
                 lambda: MatchingPursuit(n_nonzero_coefs=1).fit(A_csr, y),
                 lambda: OrthogonalMatchingPursuitCV(cv=2).fit(A_csr, y)):
        with pytest.raises(TypeError, match="toarray"):
            call()


# --------------------------------------------------------------------------
# 7. NaN/inf and n_jobs=0
# --------------------------------------------------------------------------
def test_nan_and_inf_are_refused():
    A = _unit_columns(12, 20, 13)
    y = A[:, 3].copy()
    A_nan = A.copy()
    A_nan[1, 1] = np.nan
    y_inf = y.copy()
    y_inf[0] = np.inf
    G, c = A.T @ A, A.T @ y
    G_nan = G.copy()
    G_nan[0, 1] = np.nan
    c_inf = c.copy()
    c_inf[2] = -np.inf
    cases = [
        (lambda: matching_pursuit(A_nan, y, n_nonzero_coefs=1), "A"),
        (lambda: matching_pursuit(A, y_inf, n_nonzero_coefs=1), "y"),
        (lambda: batch_omp(G_nan, c, n_nonzero_coefs=1), "gram"),
        (lambda: batch_omp(G, c_inf, n_nonzero_coefs=1), "Aty"),
        (lambda: batch_omp(G, c, tol=0.1, norms_squared=[np.nan]), "norms_squared"),
        (lambda: omp(A, y, tol=np.nan), "tol"),
        (lambda: OrthogonalMatchingPursuitCV(cv=2).fit(A_nan, y), "NaN"),
        (lambda: MatchingPursuit().fit(A, y_inf), "y"),
    ]
    for call, name in cases:
        with pytest.raises(ValueError, match=name):
            call()


def test_n_jobs_zero_is_refused():
    A = _unit_columns(12, 20, 14)
    y = A[:, 3].copy()
    for call in (lambda: omp(A, y, n_nonzero_coefs=1, n_jobs=0),
                 lambda: batch_omp(A.T @ A, A.T @ y, n_nonzero_coefs=1, n_jobs=0),
                 lambda: matching_pursuit(A, y, n_nonzero_coefs=1, n_jobs=0),
                 lambda: OrthogonalMatchingPursuit(n_jobs=0).fit(A, y),
                 lambda: OrthogonalMatchingPursuitCV(n_jobs=0, cv=2).fit(A, y)):
        with pytest.raises(ValueError, match="n_jobs"):
            call()
