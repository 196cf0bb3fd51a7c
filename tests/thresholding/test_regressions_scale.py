"""Regression tests (issue 11): scale equivariance of the thresholding family
over the whole float range, and refusal of schedules that return sizes <= 0.

Before the fix NIHT returned zeros at scale 1e-60 and 1e60 and NaN at 1e90
(the squared norms of its step-size rule under/overflowed), and every solver
returned x = 0 marked converged when ||y|| was below ~1e-154 (||y||^2
underflowed to 0, so the residual test passed at once).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import sparsecode as sc

from .conftest import gaussian_problem, rel_err

# every solver of the family at a size where it recovers x exactly
SOLVERS = {
    "iht": lambda A, y: sc.iht(A, y, n_nonzero_coefs=3, tol=1e-10, max_iter=5000),
    "niht": lambda A, y: sc.niht(A, y, n_nonzero_coefs=3, tol=1e-10),
    "htp": lambda A, y: sc.htp(A, y, n_nonzero_coefs=3),
    "cosamp": lambda A, y: sc.cosamp(A, y, n_nonzero_coefs=3),
    "subspace_pursuit": lambda A, y: sc.subspace_pursuit(A, y, n_nonzero_coefs=3),
    "nst_ht_fb": lambda A, y: sc.nst_ht_fb(A, y, n_nonzero_coefs=3),
    "adaptive_nst_ht_fb": lambda A, y: sc.adaptive_nst_ht_fb(A, y),
}
SCALES = [1e-150, 1e-60, 1e60, 1e90, 1e150]


def _problem():
    A, x, y = gaussian_problem(60, 100, 3, seed=0)
    return A, x, y


@pytest.mark.parametrize("name", list(SOLVERS))
@pytest.mark.parametrize("scale", SCALES)
def test_scale_equivariance(name, scale):
    A, x, y = _problem()
    solve = SOLVERS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow, no ConvergenceWarning
        ref = solve(A, y)
        if name != "iht":
            # (IHT's default step 1/||A||^2 may stop at a local fixed point
            # here; its iterates must still be scale equivariant)
            assert rel_err(ref.coef, x) < 1e-6
        # y scaled: x scaled by the same factor
        got = solve(A, scale * y)
        assert rel_err(got.coef / scale, ref.coef) < 1e-10
        assert got.converged
        assert np.isclose(got.residual_norm / scale, ref.residual_norm, rtol=1e-6,
                          atol=1e-12 * np.linalg.norm(y))
        # A and y scaled together: the same x
        got = solve(scale * A, scale * y)
        assert rel_err(got.coef, ref.coef) < 1e-10
        # A scaled alone: x scaled by the inverse (within the float range)
        if scale >= 1e-60 and scale <= 1e60:
            got = solve(scale * A, y)
            assert rel_err(got.coef * scale, ref.coef) < 1e-10


@pytest.mark.parametrize("kind", ["sparse", "operator"])
@pytest.mark.parametrize("scale", [1e-150, 1e150])
def test_scale_equivariance_sparse_and_operator(kind, scale):
    A, x, y = _problem()
    As = sp.csr_array(scale * A) if kind == "sparse" else aslinearoperator(scale * A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for f in (sc.niht, sc.htp, sc.nst_ht_fb):
            got = f(As, scale * y, n_nonzero_coefs=3)
            assert rel_err(got.coef, x) < 1e-6, f.__name__


def test_niht_estimator_tiny_and_huge():
    # the figures: zeros at 1e-60 and 1e60, NaN at 1e90
    A, x, y = _problem()
    for scale in (1e-60, 1e60, 1e90):
        est = sc.NIHT(n_nonzero_coefs=3, tol=1e-10).fit(scale * A, scale * y)
        assert np.all(np.isfinite(est.coef_))
        assert rel_err(est.coef_, x) < 1e-6


def test_user_step_keeps_its_units():
    # a user step mu is in the units of the A given: scaling A by c and mu by
    # 1/c^2 gives the same iterates
    A, x, y = _problem()
    mu = 0.9 / np.linalg.norm(A, 2) ** 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sc.iht(A, y, n_nonzero_coefs=3, step=mu, max_iter=50, tol=0)
    for c in (1e-100, 1e100):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tol=0: max_iter reached on purpose
            got = sc.iht(c * A, y, n_nonzero_coefs=3, step=mu / c**2, max_iter=50, tol=0)
            hg = sc.htp(c * A, y, n_nonzero_coefs=3, step=1.0 / c**2)
        assert rel_err(got.coef * c, ref.coef) < 1e-12
        assert np.isclose(got.step, mu / c**2, rtol=1e-12)
        assert rel_err(hg.coef * c, x) < 1e-8


def test_coefficients_beyond_float_range_raise():
    A, x, y = _problem()
    with pytest.raises(OverflowError, match="overflow"):
        sc.htp(1e-200 * A, 1e200 * y, n_nonzero_coefs=3)


@pytest.mark.parametrize("name", list(SOLVERS))
def test_tiny_y_is_not_zero(name):
    # ||y||^2 underflows for ||y|| < 1e-154: before the fix every solver
    # returned x = 0 "converged" (residual test 0 <= tol * 0)
    A, x, y = _problem()
    ref = SOLVERS[name](A, y)
    got = SOLVERS[name](A, 1e-200 * y)
    assert np.any(got.coef != 0)
    assert rel_err(got.coef * 1e200, ref.coef) < 1e-10
