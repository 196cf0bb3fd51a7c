"""Regressions found by the regime matrix (tests/regimes), issue 11.

1. ``sparse_encode(algorithm="sqrt_lasso")`` warned at scaled inputs although
   its codes were right: the basis-pursuit LP that certifies a zero-residual
   optimum ran with HiGHS's absolute tolerances on unnormalised data.
2. ``KroneckerSBL().fit(A, zeros)`` warned "relative change of gamma reached 0.5".
3. OMP on a full-rank, ill-conditioned (condition 1e8) overdetermined system
   returned coefficients 110 % off and warned about linear dependence.
"""

import warnings

import numpy as np
import pytest
from scipy.linalg import lstsq

from sparsecode import KroneckerSBL, OrthogonalMatchingPursuit, omp, sparse_encode


def _no_warnings(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn()


# ---------------------------------------------------------------- sqrt_lasso
def _sqrt_problem(seed=1):
    # noise-free 30 x 60, 3-sparse: the square-root Lasso optimum interpolates
    # (zero residual), the case certified by the basis-pursuit LP (seed 1:
    # every scale below warned before the fix)
    r = np.random.default_rng(seed)
    D = r.standard_normal((60, 30))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((4, 60))
    for i in range(4):
        C[i, r.choice(60, 3, replace=False)] = r.uniform(1, 2, 3) * r.choice([-1, 1], 3)
    X = C @ D
    alpha = 0.3 * np.min(np.abs(X @ D.T).max(1) / np.linalg.norm(X, axis=1))
    return X, D, alpha


@pytest.mark.parametrize("c", [1e-150, 1e-20, 1e20, 1e150])
def test_sqrt_lasso_encoder_signal_scale_no_false_warning(c):
    X, D, alpha = _sqrt_problem()
    ref = _no_warnings(lambda: sparse_encode(X, D, algorithm="sqrt_lasso", alpha=alpha))
    got = _no_warnings(lambda: sparse_encode(c * X, D, algorithm="sqrt_lasso", alpha=alpha))
    assert np.linalg.norm(got / c - ref) <= 1e-6 * np.linalg.norm(ref)


@pytest.mark.parametrize("c", [1e-150, 1e-20, 1e20, 1e150])
def test_sqrt_lasso_encoder_dictionary_scale_no_false_warning(c):
    X, D, alpha = _sqrt_problem()
    ref = _no_warnings(lambda: sparse_encode(X, D, algorithm="sqrt_lasso", alpha=alpha))
    got = _no_warnings(lambda: sparse_encode(X, c * D, algorithm="sqrt_lasso",
                                             alpha=c * alpha))
    assert np.linalg.norm(got * c - ref) <= 1e-6 * np.linalg.norm(ref)


def test_sqrt_lasso_encoder_still_warns_when_not_converged():
    # overdetermined and noisy: the optimum has a nonzero residual, CD has to get there
    r = np.random.default_rng(0)
    D = r.standard_normal((20, 40))
    X = r.standard_normal((4, 20)) @ D + 0.3 * r.standard_normal((4, 40))
    alpha = 0.3 * np.min(np.abs(X @ D.T).max(1) / np.linalg.norm(X, axis=1))
    for c in (1e-150, 1.0, 1e150):
        with pytest.warns(Warning, match="did not converge"):
            sparse_encode(c * X, D, algorithm="sqrt_lasso", alpha=alpha, max_iter=1)
        _no_warnings(lambda: sparse_encode(c * X, D, algorithm="sqrt_lasso", alpha=alpha))


# ---------------------------------------------------------------- KroneckerSBL
@pytest.mark.parametrize("factors", ["one", "two"])
def test_kronecker_sbl_zero_y_silent_zero(factors):
    r = np.random.default_rng(0)
    if factors == "one":
        X, m = r.standard_normal((30, 60)), 30
    else:
        X, m = [r.standard_normal((5, 8)), r.standard_normal((4, 6))], 20
    est = _no_warnings(lambda: KroneckerSBL().fit(X, np.zeros(m)))
    assert np.all(est.coef_ == 0)
    assert est.converged_
    assert np.all(est.gamma_ == 0)


# ---------------------------------------------------------------- OMP
def _overdetermined(cond, seed=9):
    r = np.random.default_rng(seed)
    U, _ = np.linalg.qr(r.standard_normal((40, 10)))
    V, _ = np.linalg.qr(r.standard_normal((10, 10)))
    A = (U * np.logspace(0, -np.log10(cond), 10)) @ V.T
    x = r.uniform(1, 2, 10) * r.choice([-1.0, 1.0], 10)
    return A, x


@pytest.mark.parametrize("unit", [False, True])
@pytest.mark.parametrize("precompute", [True, False])
def test_omp_ill_conditioned_full_rank_is_lstsq(precompute, unit):
    """Condition 1e8, k = n_features: the least-squares solution, silently (was 110 % off
    with a "linear dependence" warning; scikit-learn's orthogonal_mp is 40 % off)."""
    A, x = _overdetermined(1e8)
    if unit:
        A = A / np.linalg.norm(A, axis=0)
    y = A @ x
    ref = lstsq(A, y)[0]
    coef = _no_warnings(lambda: omp(A, y, n_nonzero_coefs=10, precompute=precompute).coef)
    assert np.linalg.norm(coef - ref) <= 1e-6 * np.linalg.norm(ref)


def test_omp_ill_conditioned_estimator_path_and_encoder():
    A, x = _overdetermined(1e8)
    y = A @ x
    ref = lstsq(A, y)[0]
    tol = 1e-6 * np.linalg.norm(ref)
    est = _no_warnings(lambda: OrthogonalMatchingPursuit(n_nonzero_coefs=10,
                                                         fit_intercept=False).fit(A, y))
    assert np.linalg.norm(est.coef_ - ref) <= tol
    path = _no_warnings(lambda: omp(A, y, n_nonzero_coefs=10, return_path=True).coef_path)
    assert np.linalg.norm(path[:, -1] - ref) <= tol
    codes = _no_warnings(lambda: sparse_encode(np.vstack([y, -y]), A.T, algorithm="omp",
                                               n_nonzero_coefs=10))
    assert np.linalg.norm(codes[0] - ref) <= tol and np.linalg.norm(codes[1] + ref) <= tol


@pytest.mark.parametrize("precompute", [True, False])
def test_omp_duplicated_atom_still_warns(precompute):
    """Columns dependent to working precision still stop the pursuit with the warning."""
    r = np.random.default_rng(0)
    B = r.standard_normal((20, 5))
    A = np.hstack([B, B[:, :1]])
    y = A[:, [0, 1, 2]] @ np.array([1.0, 2.0, -1.0]) + 0.01 * r.standard_normal(20)
    with pytest.warns(Warning, match="linear dependence"):
        res = omp(A[:, [0, 5, 1, 2]], y, n_nonzero_coefs=4, precompute=precompute)
    assert res.n_iter < 4
    with pytest.warns(Warning, match="linear dependence"):
        sparse_encode(y[None], A[:, [0, 5, 1, 2]].T, algorithm="omp", n_nonzero_coefs=4)


def test_omp_near_duplicate_atom_is_independent():
    """An atom 1e-7 off another is independent to working precision (sin of the angle
    ~1e-7 >> eps): OMP with k = n_features gives the least-squares fit silently (the
    Cholesky pivot test used to stop at 5 atoms with the dependence warning); an exact
    duplicate still stops there with the warning."""
    rng = np.random.default_rng(12)
    A = rng.standard_normal((10, 5))
    near = np.hstack([A, A[:, :1] + 1e-7 * rng.standard_normal((10, 1))])
    near /= np.linalg.norm(near, axis=0)
    y = rng.standard_normal(10)
    for pc in (True, False):
        res = _no_warnings(lambda: omp(near, y, n_nonzero_coefs=6, precompute=pc))
        ref = lstsq(near, y)[0]
        assert res.n_iter == 6
        assert np.linalg.norm(res.coef - ref) <= 1e-6 * np.linalg.norm(ref)
    dup = np.hstack([A, A[:, :1]])
    with pytest.warns(Warning, match="linear dependence"):
        res = omp(dup, y, n_nonzero_coefs=6, precompute=True)
    assert res.n_iter == 5
