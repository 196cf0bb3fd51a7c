"""Metrics against hand-computed values, and their properties."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import aslinearoperator

from sparsecode.metrics import mutual_coherence, nmse, psnr, relative_error, support_recovery
from sparsecode.operators import PartialDCT


# --------------------------------------------------------------------------
# nmse / relative_error
# --------------------------------------------------------------------------
def test_nmse_hand_computed():
    # ||(0, 1, 0)||^2 / ||(1, 0, 2)||^2 = 1 / 5
    assert nmse([1.0, 0.0, 2.0], [1.0, 1.0, 2.0]) == pytest.approx(0.2)
    assert nmse([1.0, 0.0, 2.0], [1.0, 1.0, 2.0], db=True) == pytest.approx(
        10 * np.log10(0.2))
    assert relative_error([3.0, 4.0], [3.0, 4.5]) == pytest.approx(0.1)
    assert nmse([1 + 1j, 0], [1, 1j]) == pytest.approx(1.0)  # |1j|^2 + |-1j|^2 / 2
    assert isinstance(nmse([1.0], [2.0]), float)


def test_integer_bool_and_float32_inputs():
    # unsigned differences must not wrap around
    assert nmse(np.array([2, 0], dtype=np.uint8), np.array([1, 0], dtype=np.uint8)) == 0.25
    assert nmse([True, False], [True, True]) == 1.0
    x32 = np.array([1.0, 2.0], dtype=np.float32)
    assert nmse(x32, x32 * 2) == pytest.approx(1.0, rel=1e-12)
    assert psnr(np.array([0, 255], dtype=np.uint8), np.array([5, 250], dtype=np.uint8)) \
        == pytest.approx(10 * np.log10(255**2 / 25))
    assert support_recovery(np.array([0, 3], dtype=np.uint8), [0, 1]).exact


def test_nmse_axis_and_2d():
    x = np.array([[1.0, 2.0], [0.0, 0.0], [1.0, 0.0]])
    e = np.array([[1.0, 2.0], [1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(nmse(x, e), [1 / 2, 1 / 4])
    np.testing.assert_allclose(nmse(x, e, axis=1), [0.0, np.inf, 1.0])
    assert nmse(x, e, axis=None) == pytest.approx(2 / 6)
    np.testing.assert_allclose(relative_error(x, e), np.sqrt([1 / 2, 1 / 4]))
    np.testing.assert_allclose(nmse(x, e, db=True), 10 * np.log10([1 / 2, 1 / 4]))


def test_nmse_zero_reference():
    assert nmse([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert nmse([0.0, 0.0], [1.0, 0.0]) == np.inf
    assert nmse([0.0, 0.0], [0.0, 0.0], db=True) == -np.inf
    assert nmse([1.0, 2.0], [1.0, 2.0], db=True) == -np.inf


@pytest.mark.parametrize("func", [nmse, relative_error])
def test_nmse_bad_input(func):
    with pytest.raises(ValueError, match="same shape"):
        func([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="x_est.*NaN"):
        func([1.0, 2.0], [np.nan, 2.0])
    with pytest.raises(ValueError, match="x_true.*NaN"):
        func([np.inf, 2.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="empty"):
        func([], [])
    with pytest.raises(ValueError, match="numeric"):
        func(["a"], ["b"])
    with pytest.raises(ValueError, match="axis"):
        func([1.0], [1.0], axis=0.5)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20),
       scale=st.floats(1e-3, 1e3), complex_=st.booleans())
def test_nmse_scale_invariance_and_relations(seed, n, scale, complex_):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n) + (1j * rng.standard_normal(n) if complex_ else 0)
    e = x + 0.3 * rng.standard_normal(n)
    v = nmse(x, e)
    assert nmse(scale * x, scale * e) == pytest.approx(v, rel=1e-9)
    if complex_:  # invariant to a common phase too
        assert nmse(1j * x, 1j * e) == pytest.approx(v, rel=1e-9)
    assert relative_error(x, e) == pytest.approx(np.sqrt(v), rel=1e-12)
    assert nmse(x, e, db=True) == pytest.approx(10 * np.log10(v), rel=1e-9, abs=1e-9)
    assert nmse(x, x) == 0.0
    assert v >= 0


# --------------------------------------------------------------------------
# support_recovery
# --------------------------------------------------------------------------
def test_support_recovery_hand_computed():
    r = support_recovery([0.0, 1.0, 0.0, -2.0], [0.1, 0.9, 0.0, -2.1])
    assert (r.n_true, r.n_estimated, r.n_correct) == (2, 3, 2)
    assert r.precision == pytest.approx(2 / 3) and r.recall == 1.0 and not r.exact
    assert r.f1 == pytest.approx(0.8)
    np.testing.assert_array_equal(r.true_support, [False, True, False, True])
    r = support_recovery([0.0, 1.0, 0.0, -2.0], [0.0, 0.0, 3.0, -2.1])
    assert r.precision == 0.5 and r.recall == 0.5 and not r.exact


def test_support_recovery_thresholds():
    x = np.array([0.0, 1.0, 0.0, -2.0])
    # tiny entries are not counted by the default relative rule
    assert support_recovery(x, x + 1e-9).exact
    assert not support_recovery(x, x + 1e-3).exact
    assert support_recovery(x, x + 1e-3, rtol=1e-2).exact
    # absolute tolerance
    assert support_recovery(x, x + 0.05, tol=0.1).exact
    assert not support_recovery(x, x + 0.05, tol=0.01).exact
    # top-k estimated support
    est = np.array([0.3, 0.9, 0.2, -2.1])
    assert support_recovery(x, est, n_nonzero_coefs=2).exact
    r = support_recovery(x, est, n_nonzero_coefs=3)
    assert r.n_estimated == 3 and r.recall == 1.0 and not r.exact
    # ties: lowest index wins
    r = support_recovery([1.0, 0.0, 0.0], [1.0, 1.0, 1.0], n_nonzero_coefs=1)
    assert r.exact


def test_support_recovery_degenerate():
    r = support_recovery([0.0, 0.0], [0.0, 0.0])
    assert r.exact and r.precision == 1.0 and r.recall == 1.0
    r = support_recovery([1.0, 0.0], [0.0, 0.0])
    assert not r.exact and r.precision == 1.0 and r.recall == 0.0 and r.f1 == 0.0


def test_support_recovery_2d_per_column_thresholds():
    x = np.array([[1.0, 0.0], [0.0, 1e-3], [0.0, 0.0]])
    e = np.array([[1.0, 0.0], [0.0, 1e-3], [1e-4, 0.0]])
    # column 2 has scale 1e-3: its entry counts; column 1's 1e-4 is 1e-4 relative
    r = support_recovery(x, e)
    assert r.n_true == 2 and r.n_estimated == 3 and not r.exact
    assert support_recovery(x, e, rtol=1e-3).exact
    assert support_recovery(x, e + 0.0, n_nonzero_coefs=1).exact


def test_support_recovery_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        support_recovery([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="x_est.*NaN"):
        support_recovery([1.0, 0.0], [np.nan, 0.0])
    with pytest.raises(ValueError, match="tol"):
        support_recovery([1.0], [1.0], tol=-1.0)
    with pytest.raises(ValueError, match="rtol"):
        support_recovery([1.0], [1.0], rtol=1.5)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        support_recovery([1.0, 0.0], [1.0, 0.0], n_nonzero_coefs=3)
    with pytest.raises(ValueError, match="at most 2-D"):
        support_recovery(np.ones((2, 2, 2)), np.ones((2, 2, 2)))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 30), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_support_recovery_exact_iff_supports_equal(n, data, seed):
    s_true = data.draw(st.sets(st.integers(0, n - 1)))
    s_est = data.draw(st.sets(st.integers(0, n - 1)))
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    e = np.zeros(n)
    # non-zero magnitudes within two decades: well above the relative threshold
    x[list(s_true)] = rng.choice([-1, 1], len(s_true)) * rng.uniform(0.01, 1, len(s_true))
    e[list(s_est)] = rng.choice([-1, 1], len(s_est)) * rng.uniform(0.01, 1, len(s_est))
    r = support_recovery(x, e)
    assert r.exact == (s_true == s_est)
    assert r.n_correct == len(s_true & s_est)
    assert (r.precision == 1.0 and r.recall == 1.0) == r.exact
    assert 0.0 <= r.precision <= 1.0 and 0.0 <= r.recall <= 1.0
    # scaling either vector changes nothing
    assert support_recovery(3.0 * x, 1e-3 * e).exact == r.exact


# --------------------------------------------------------------------------
# mutual_coherence
# --------------------------------------------------------------------------
def test_mutual_coherence_hand_computed():
    assert mutual_coherence(np.eye(4)) == 0.0
    # columns (1,0) and (1,1)/sqrt(2): cos = 1/sqrt(2)
    assert mutual_coherence([[1.0, 1.0], [0.0, 1.0]]) == pytest.approx(1 / np.sqrt(2))
    # column scaling is irrelevant; sign too
    assert mutual_coherence([[5.0, -1.0], [0.0, -1.0]]) == pytest.approx(1 / np.sqrt(2))
    # identity + Hadamard/2 in R^4: mu = 1/2
    H = np.array([[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]) / 2.0
    assert mutual_coherence(np.hstack([np.eye(4), H])) == pytest.approx(0.5)
    assert mutual_coherence([[1.0], [2.0]]) == 0.0
    # complex: columns (1, 0) and (1, 1j)/sqrt(2)
    assert mutual_coherence(np.array([[1, 1], [0, 1j]])) == pytest.approx(1 / np.sqrt(2))


def test_mutual_coherence_matches_brute_force_and_welch_bound():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((10, 25))
    best = max(abs(A[:, i] @ A[:, j]) / np.linalg.norm(A[:, i]) / np.linalg.norm(A[:, j])
               for i in range(25) for j in range(25) if i != j)
    assert mutual_coherence(A) == pytest.approx(best, rel=1e-12)
    assert mutual_coherence(sp.csr_matrix(A)) == pytest.approx(best, rel=1e-12)
    assert mutual_coherence(aslinearoperator(A)) == pytest.approx(best, rel=1e-12)
    assert mutual_coherence(A) >= np.sqrt((25 - 10) / (10 * 24))
    # a full orthonormal transform is incoherent
    assert mutual_coherence(PartialDCT(16, np.arange(16))) < 1e-12


def test_mutual_coherence_bad_input():
    with pytest.raises(ValueError, match="zero-norm column"):
        mutual_coherence([[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="2-D"):
        mutual_coherence([1.0, 2.0])
    with pytest.raises(ValueError, match="NaN"):
        mutual_coherence([[1.0, np.nan]])


# --------------------------------------------------------------------------
# psnr
# --------------------------------------------------------------------------
def test_psnr_hand_computed():
    ref = np.array([0.0, 1.0, 0.5, 0.25])
    # MSE = 0.01, range 1 -> 20 dB
    assert psnr(ref, ref + 0.1) == pytest.approx(20.0)
    assert psnr(ref, ref + 0.1, data_range=255) == pytest.approx(10 * np.log10(255**2 / 0.01))
    assert psnr(ref, ref) == np.inf
    img = np.random.default_rng(0).random((8, 8))
    noisy = img + 0.05
    assert psnr(img, noisy, data_range=1.0) == pytest.approx(10 * np.log10(1 / 0.0025))


def test_psnr_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        psnr(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError, match="constant"):
        psnr(np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="data_range"):
        psnr(np.arange(3.0), np.zeros(3), data_range=0.0)
    with pytest.raises(ValueError, match="est.*NaN"):
        psnr(np.arange(3.0), np.array([0.0, np.nan, 1.0]))
    with pytest.raises(ValueError, match="real"):
        psnr(np.arange(3.0) + 1j, np.arange(3.0))
