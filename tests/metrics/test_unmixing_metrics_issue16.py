"""Issue 16 metrics (spec 5.7): SRE, aRMSE (HySUPP x100), AAD, SID, per-endmember SAD,
all through the shared endmember matching."""

import numpy as np
import pytest

from sparsecode.metrics import (aad, armse, match_components, sad_per_endmember, sid, sre,
                                spectral_angle_distance)


def test_sre_hand_value_and_scale_invariance():
    X = np.array([[3.0, 0.0], [0.0, 4.0]])          # ||X||_F = 5
    Xh = X + np.array([[0.5, 0.0], [0.0, 0.0]])     # ||E||_F = 0.5
    assert sre(X, Xh) == pytest.approx(20.0)
    assert sre(7 * X, 7 * Xh) == pytest.approx(20.0)
    assert sre(X, X) == np.inf
    # cube layout = flattened layout
    assert sre(X.reshape(1, 2, 2), Xh.reshape(1, 2, 2)) == pytest.approx(20.0)


def test_armse_hysupp_convention():
    A = np.array([[1.0, 0.0], [0.5, 0.5], [0.2, 0.8]])
    Ah = np.array([[0.8, 0.2], [0.5, 0.5], [0.2, 0.8]])
    # sqrt(mean over all 6 entries) = sqrt(2 * 0.04 / 6)
    assert armse(A, Ah) == pytest.approx(100 * np.sqrt(0.08 / 6))
    assert armse(A, Ah, percent=False) == pytest.approx(np.sqrt(0.08 / 6))


def test_aad_hand_value_and_skipped_pixels():
    A = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    Ah = np.array([[1.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
    val, n = aad(A, Ah, degrees=True, return_n_skipped=True)
    assert n == 1
    assert val == pytest.approx(22.5)
    assert aad(A[:2], Ah[:2]) == pytest.approx(np.pi / 8)
    assert np.isnan(aad(np.zeros((2, 2)), Ah[:2]))


def test_sid_hand_value_symmetry_and_scale():
    m, mh = np.array([[1.0, 1.0]]), np.array([[1.0, 3.0]])
    expect = 0.25 * np.log(2.0) - 0.25 * np.log(2.0 / 3.0)   # sum (p - q) log(p / q)
    assert sid(m, mh, match=None)[0] == pytest.approx(expect)
    assert sid(mh, m, match=None)[0] == pytest.approx(expect)
    assert sid(5 * m, 0.1 * mh, match=None)[0] == pytest.approx(expect)
    assert sid(m, m, match=None)[0] == 0.0
    with pytest.raises(ValueError, match="endmembers_pred has negative"):
        sid(m, -mh, match=None)


def test_sad_per_endmember_hand_value():
    T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    E = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]])
    np.testing.assert_allclose(sad_per_endmember(T, E, degrees=True), [45.0, 0.0])
    # match=None compares rows as given
    np.testing.assert_allclose(sad_per_endmember(T, E, match=None, degrees=True), [90.0, 90.0])


def test_permutation_invariance_through_the_shared_matching():
    rng = np.random.default_rng(0)
    M = rng.uniform(0.1, 1.0, (4, 30))
    A = rng.dirichlet(np.ones(4), size=50)
    Mh = M + 0.02 * rng.standard_normal(M.shape)
    Ah = np.clip(A + 0.01 * rng.standard_normal(A.shape), 0, None)
    ref_sad, ref_sid = sad_per_endmember(M, Mh, match=None), sid(M, np.abs(Mh), match=None)
    ref_a = (sre(A, Ah), armse(A, Ah), aad(A, Ah))
    p = np.array([2, 0, 3, 1])
    # an extra decoy estimate (an estimator returned more endmembers)
    Mp = np.vstack([Mh[p], rng.uniform(0.1, 1.0, (1, 30))])
    Ap = np.hstack([Ah[:, p], np.zeros((50, 1))])
    perm = match_components(M, Mp)
    np.testing.assert_array_equal(Mp[perm], Mh)
    np.testing.assert_allclose(sad_per_endmember(M, Mp), ref_sad)
    np.testing.assert_allclose(sid(M, np.abs(Mp)), ref_sid)
    assert sre(A, Ap, perm=perm) == pytest.approx(ref_a[0])
    assert armse(A, Ap, perm=perm) == pytest.approx(ref_a[1])
    assert aad(A, Ap, perm=perm) == pytest.approx(ref_a[2])
    np.testing.assert_allclose(spectral_angle_distance(M, Mp[perm]), ref_sad)
    # greedy matching agrees here (clear winner for each reference)
    np.testing.assert_allclose(sad_per_endmember(M, Mp, match="greedy"), ref_sad)


def test_sad_clipped_cosine_no_nan():
    # identical directions whose rounded cosine can exceed 1: arccos would give NaN
    rng = np.random.default_rng(1)
    m = rng.uniform(0.1, 1.0, (200, 7))
    v = sad_per_endmember(m, 3.0 * m, match=None)
    assert np.all(np.isfinite(v)) and np.all(v < 1e-7)


@pytest.mark.parametrize("bad, match", [
    (lambda: sre(np.ones((3, 2)), np.ones((3, 3))), "differ in shape"),
    (lambda: armse(np.ones((3, 2)), np.ones((3, 2)), perm=[0]), "perm must have"),
    (lambda: aad(np.ones((3, 2)), np.full((3, 2), np.nan)), "abundances_pred contains NaN"),
    (lambda: sad_per_endmember(np.ones((2, 3)), np.ones((2, 3)), match="x"), "match must be"),
    (lambda: sad_per_endmember(np.ones((2, 3)), np.ones((1, 3))), "fewer than"),
])
def test_bad_input_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
