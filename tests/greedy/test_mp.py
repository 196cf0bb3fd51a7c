"""Matching Pursuit: orthonormal closed form, monotone residual, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

from sparsecode import MatchingPursuit, matching_pursuit, omp


def _hard_threshold(v, s):
    out = np.zeros_like(v)
    idx = np.argsort(-np.abs(v), kind="stable")[:s]
    out[idx] = v[idx]
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), s=st.integers(1, 8))
def test_orthonormal_dictionary_gives_hard_threshold(seed, s):
    # spec 1.9.4: for orthonormal A, MP and OMP return H_s(A^T y) after s steps
    A = ortho_group.rvs(16, random_state=seed)
    y = np.random.default_rng(seed).standard_normal(16)
    expected = _hard_threshold(A.T @ y, s)
    np.testing.assert_allclose(matching_pursuit(A, y, n_nonzero_coefs=s, max_iter=s).coef,
                               expected, atol=1e-12)
    np.testing.assert_allclose(omp(A, y, n_nonzero_coefs=s).coef, expected, atol=1e-12)


def test_residual_non_increasing_and_reported():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 60))
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(30)
    prev = np.inf
    for it in range(1, 40, 3):
        res = matching_pursuit(A, y, n_nonzero_coefs=30, max_iter=it)
        true = np.sum((y - A @ res.coef) ** 2)
        np.testing.assert_allclose(res.residual_norm2, true, rtol=1e-9)
        assert true <= prev + 1e-12
        prev = true


def test_error_mode_and_complex():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((20, 40)) + 1j * rng.standard_normal((20, 40))
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(20) + 1j * rng.standard_normal(20)
    res = matching_pursuit(A, y, tol=0.5, max_iter=2000)
    assert res.residual_norm2 <= 0.5
    np.testing.assert_allclose(np.sum(np.abs(y - A @ res.coef) ** 2), res.residual_norm2,
                               rtol=1e-9)


def test_estimator_multi_target_and_errors():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((25, 50))
    Y = rng.standard_normal((25, 3))
    est = MatchingPursuit(n_nonzero_coefs=5).fit(A, Y)
    assert est.coef_.shape == (3, 50)
    assert np.all(est.support_.sum(axis=1) <= 5)
    with pytest.raises(ValueError, match="'max_iter' parameter"):
        MatchingPursuit(max_iter=0).fit(A, Y)
    A0 = A.copy()
    A0[:, 0] = 0
    with pytest.raises(ValueError, match="zero-norm column"):
        matching_pursuit(A0, Y[:, 0], n_nonzero_coefs=2)
