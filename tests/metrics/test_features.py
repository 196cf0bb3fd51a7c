"""Learned-feature metrics: normalized_mse (FVU), l0_norm, dead_fraction, mean_max_cosine."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode.metrics import dead_fraction, l0_norm, mean_max_cosine, normalized_mse


def test_normalized_mse_is_fraction_of_variance_unexplained():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4)) + 3.0
    assert normalized_mse(X, X) == 0.0
    assert normalized_mse(X, np.tile(X.mean(axis=0), (50, 1))) == pytest.approx(1.0)
    noise = rng.standard_normal(X.shape) * 0.1
    expected = np.sum(noise ** 2) / np.sum((X - X.mean(0)) ** 2)
    assert normalized_mse(X, X + noise) == pytest.approx(expected)
    # not the relative MSE: a mean offset does not shrink the figure
    assert normalized_mse(X + 100, X + 100 + noise) == pytest.approx(expected)
    const = np.ones((3, 2))
    assert normalized_mse(const, const) == 0.0 and normalized_mse(const, 0 * const) == np.inf
    with pytest.raises(ValueError, match="same shape"):
        normalized_mse(X, X[:, :3])


def test_l0_dense_and_csr_agree():
    rng = np.random.default_rng(1)
    Z = rng.standard_normal((30, 12)) * (rng.random((30, 12)) < 0.3)
    assert l0_norm(Z) == pytest.approx(np.count_nonzero(Z) / 30)
    C = sp.csr_matrix(Z)
    C.data[:2] = 0.0                          # explicit zeros are not counted
    assert l0_norm(C) == pytest.approx(l0_norm(C.toarray()))


def test_dead_fraction_dense_and_sparse():
    Z = np.zeros((5, 4))
    Z[0, 1] = 2.0
    Z[3, 2] = -1.0
    Z[4, 3] = 1e-4                            # below the activity threshold
    assert dead_fraction(Z) == 0.5
    assert dead_fraction(sp.csr_matrix(Z)) == 0.5
    assert dead_fraction(Z, threshold=1e-5) == 0.25


def test_mean_max_cosine_invariances_and_recovery():
    rng = np.random.default_rng(2)
    P = rng.standard_normal((6, 10))
    L = -3.0 * P[rng.permutation(6)]          # sign, scale and order do not matter
    assert mean_max_cosine(L, P) == pytest.approx(1.0)
    L2 = np.vstack([L[:3], rng.standard_normal((3, 10))])
    mmc, rec = mean_max_cosine(L2, P, threshold=0.99)
    assert rec == pytest.approx(0.5, abs=1 / 6 + 1e-12) and mmc < 1.0
    with pytest.raises(ValueError, match="zero atom"):
        mean_max_cosine(L, np.zeros((2, 10)))
    with pytest.raises(ValueError, match="same length"):
        mean_max_cosine(L[:, :5], P)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_input_rejected_naming_the_argument(value):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((6, 4))
    bad = X.copy()
    bad[2, 1] = value
    with pytest.raises(ValueError, match="X_hat must be finite"):
        normalized_mse(X, bad)
    with pytest.raises(ValueError, match="^X must be finite"):
        normalized_mse(bad, X)
    for codes in (bad, sp.csr_matrix(bad), sp.csc_matrix(bad)):
        with pytest.raises(ValueError, match="codes must be finite"):
            l0_norm(codes)
        with pytest.raises(ValueError, match="codes must be finite"):
            dead_fraction(codes)
    with pytest.raises(ValueError, match="learned must be finite"):
        mean_max_cosine(bad, X)


def test_l0_norm_leaves_sparse_input_unchanged():
    C = sp.csr_matrix(np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]]))
    C.data[0] = 0.0                           # an explicit zero
    data, indices = C.data.copy(), C.indices.copy()
    assert l0_norm(C) == 1.0
    assert C.nnz == 3
    np.testing.assert_array_equal(C.data, data)
    np.testing.assert_array_equal(C.indices, indices)
