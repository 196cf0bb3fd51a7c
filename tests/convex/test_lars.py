"""Batched LARS-homotopy Lasso coder (sparsecode.convex._lars.lasso_lars_gram).

Oracles: the KKT conditions of 1/2||x - D^T c||^2 + alpha||c||_1, scikit-learn's
``lars_path_gram`` end point, the Gram coordinate-descent encoder's objective.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import lars_path_gram

from sparsecode import sparse_encode
from sparsecode._base import ConvergenceWarning
from sparsecode.convex._lars import lasso_lars_gram


def _problem(n_atoms=40, n_features=16, n_signals=25, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((n_signals, n_features))
    return X.astype(dtype), D.astype(dtype)


def _kkt(X, D, code, alpha, positive=False):
    """Largest violation of the Lasso KKT conditions (absolute)."""
    X, D, code = (np.asarray(a, dtype=np.float64) for a in (X, D, code))
    corr = (X - code @ D) @ D.T
    sup = code != 0
    off = np.max(corr if positive else np.abs(corr)) - alpha
    on = np.max(np.abs(corr[sup] - alpha * np.sign(code[sup])), initial=0.0)
    return max(off, on)


def _obj(X, D, code, alpha):
    R = X - code @ D
    return 0.5 * np.einsum("ij,ij->i", R, R) + alpha * np.abs(code).sum(axis=1)


@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("alpha", [2.0, 0.5, 0.1, 1e-3])
def test_kkt(alpha, positive):
    X, D = _problem()
    code = lasso_lars_gram(X, D, alpha, positive=positive)
    assert _kkt(X, D, code, alpha, positive) <= 1e-10
    if positive:
        assert np.all(code >= 0)


@pytest.mark.parametrize("shape", [(30, 40), (100, 100), (256, 64)])
def test_kkt_along_the_path(shape):
    # many penalties on one problem: every drop/rejoin pattern of the paths
    X, D = _problem(*shape, n_signals=20, seed=3)
    for alpha in np.geomspace(3.0, 1e-4, 12):
        code = lasso_lars_gram(X, D, alpha)
        assert _kkt(X, D, code, alpha) <= 1e-10 * max(1.0, np.abs(code).max())


def test_rejoin_with_opposite_sign():
    # signal 4 of this problem drops atom 6 at lambda ~ 0.080 and takes it back
    # with the opposite sign at ~ 0.059 (scikit-learn's path shows the same);
    # a kernel that keeps a dropped atom out for a whole step misses the rejoin
    rng = np.random.default_rng(0)
    for _ in range(3):
        D = rng.standard_normal((30, 40))
        D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((300, 40))[4:5]
    for alpha in (0.057, 0.0278, 0.01):
        code = lasso_lars_gram(X, D, alpha)
        assert _kkt(X, D, code, alpha) <= 1e-10


@pytest.mark.parametrize("positive", [False, True])
def test_matches_sklearn_lars_path_gram(positive):
    X, D = _problem(30, 12, 10, seed=1)
    G = D @ D.T
    alpha = 0.05
    code = lasso_lars_gram(X, D, alpha, positive=positive)
    n_equal = 0
    for i in range(len(X)):
        _, _, coefs = lars_path_gram(D @ X[i], G, n_samples=1, alpha_min=alpha,
                                     method="lasso", positive=positive)
        sk = coefs[:, -1]
        # never a worse objective than scikit-learn's end point ...
        assert _obj(X[i:i + 1], D, code[i:i + 1], alpha)[0] <= (
            _obj(X[i:i + 1], D, sk[None], alpha)[0] + 1e-12)
        # ... and the same code wherever scikit-learn's is optimal (its positive
        # path can stop at a point that violates the KKT conditions: signal 7)
        if _kkt(X[i:i + 1], D, sk[None], alpha, positive) <= 1e-10:
            np.testing.assert_allclose(code[i], sk, atol=1e-8)
            np.testing.assert_array_equal(code[i] != 0, np.abs(sk) > 1e-12)
            n_equal += 1
    assert n_equal >= len(X) - 1


def test_objective_not_above_cd_encoder():
    X, D = _problem(64, 16, 30, seed=2)
    alpha = 0.1
    ours = lasso_lars_gram(X, D, alpha)
    cd = sparse_encode(X, D, algorithm="lasso", alpha=alpha, tol=1e-12, max_iter=100_000)
    f_ours, f_cd = _obj(X, D, ours, alpha), _obj(X, D, cd, alpha)
    assert np.all(f_ours <= f_cd * (1 + 1e-10))
    np.testing.assert_allclose(f_ours, f_cd, rtol=1e-8)


def test_float32_in_float32_out():
    X, D = _problem(dtype=np.float32)
    code = lasso_lars_gram(X, D, 0.2)
    assert code.dtype == np.float32
    ref = lasso_lars_gram(X.astype(np.float64), D.astype(np.float64), 0.2)
    assert ref.dtype == np.float64
    np.testing.assert_allclose(code, ref, atol=1e-4)
    assert _kkt(X, D, code, 0.2) <= 1e-4


def test_alpha_above_max_correlation_gives_zeros():
    X, D = _problem()
    amax = np.abs(X @ D.T).max()
    np.testing.assert_array_equal(lasso_lars_gram(X, D, amax), 0.0)
    np.testing.assert_array_equal(lasso_lars_gram(X, D, 2 * amax), 0.0)
    # positive: only positive correlations matter
    pmax = (X @ D.T).max()
    np.testing.assert_array_equal(lasso_lars_gram(X, D, pmax, positive=True), 0.0)
    # zero signals
    np.testing.assert_array_equal(lasso_lars_gram(np.zeros((3, 16)), D, 0.1), 0.0)


def test_duplicate_atom_warns_once_no_nan():
    X, D = _problem(20, 10, 30, seed=4)
    D2 = np.vstack([D, D[3]])  # atom 20 duplicates atom 3
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        code = lasso_lars_gram(X, D2, 0.01)
    dup = [w for w in rec if "parallel" in str(w.message)]
    assert len(dup) == 1 and "atoms 3 and 20" in str(dup[0].message)
    assert np.all(np.isfinite(code))
    # the two copies share one coefficient: the KKT conditions still hold
    assert _kkt(X, D2, code, 0.01) <= 1e-10
    assert not np.any((code[:, 3] != 0) & (code[:, 20] != 0))


def test_as_many_atoms_as_features_and_tiny_alpha():
    # K = n: the code tends to D^{-T} x as alpha -> 0
    X, D = _problem(12, 12, 10, seed=5)
    code = lasso_lars_gram(X, D, 1e-9)
    assert _kkt(X, D, code, 1e-9) <= 1e-10
    assert np.all(np.count_nonzero(code, axis=1) == 12)
    # all atoms active: D r = alpha sign(code), so ||r|| <= alpha ||D^{-1}|| sqrt(K)
    bound = 1e-9 * np.linalg.norm(np.linalg.inv(D), 2) * np.sqrt(12)
    assert np.max(np.linalg.norm(X - code @ D, axis=1)) <= 1.01 * bound + 1e-12


def test_alpha_zero_interpolates():
    X, D = _problem(12, 12, 5, seed=6)
    code = lasso_lars_gram(X, D, 0.0)
    np.testing.assert_allclose(code @ D, X, atol=1e-8)


def test_max_nonzeros_stops_on_the_path():
    X, D = _problem(50, 20, 20, seed=7)
    with pytest.warns(ConvergenceWarning, match="max_nonzeros=3"):
        code = lasso_lars_gram(X, D, 1e-3, max_nonzeros=3)
    nnz = np.count_nonzero(code, axis=1)
    assert np.all(nnz <= 3)
    # each code is the Lasso solution at its own (larger) penalty
    for i in range(len(X)):
        corr = (X[i] - code[i] @ D) @ D.T
        lam = np.abs(corr).max()
        assert lam >= 1e-3
        sup = code[i] != 0
        np.testing.assert_allclose(corr[sup], lam * np.sign(code[i][sup]), atol=1e-10)


def test_max_nonzeros_cap_warns_once_with_count():
    X, D = _problem(50, 20, 20, seed=8)
    alpha = 1.5
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        code = lasso_lars_gram(X, D, alpha, max_nonzeros=2)
    conv = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(conv) == 1
    # the signals that stopped early are those whose KKT bound exceeds alpha
    lam = np.abs((X - code @ D) @ D.T).max(axis=1)
    n_early = int(np.count_nonzero(lam > alpha * (1 + 1e-8)))
    assert 0 < n_early < len(X)
    msg = str(conv[0].message)
    assert f"{n_early} of {len(X)} signals" in msg and "max_nonzeros=2" in msg
    assert "Raise max_nonzeros" in msg
    # no cap reached: silent, and the codes solve the Lasso at alpha
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        full = lasso_lars_gram(X, D, alpha, max_nonzeros=20)
    assert _kkt(X, D, full, alpha) <= 1e-10


def test_gram_threads_and_no_mutation():
    X, D = _problem(60, 16, 50, seed=8)
    X0, D0 = X.copy(), D.copy()
    a = lasso_lars_gram(X, D, 0.1)
    b = lasso_lars_gram(X, D, 0.1, gram=D @ D.T, n_jobs=2)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(D, D0)
    # memory order does not matter
    np.testing.assert_allclose(lasso_lars_gram(np.asfortranarray(X), np.asfortranarray(D), 0.1),
                               a, atol=1e-12)


def test_unnormalised_atoms():
    X, D = _problem(30, 12, 10, seed=9)
    D = D * np.linspace(0.5, 3.0, 30)[:, None]
    code = lasso_lars_gram(X, D, 0.2)
    assert _kkt(X, D, code, 0.2) <= 1e-10


def test_bad_input():
    X, D = _problem()
    with pytest.raises(ValueError, match="alpha"):
        lasso_lars_gram(X, D, -1.0)
    with pytest.raises(ValueError, match="alpha"):
        lasso_lars_gram(X, D, np.nan)
    with pytest.raises(TypeError, match="alpha"):
        lasso_lars_gram(X, D, "0.1")
    with pytest.raises(ValueError, match="features"):
        lasso_lars_gram(X[:, :5], D, 0.1)
    with pytest.raises(ValueError, match="max_nonzeros"):
        lasso_lars_gram(X, D, 0.1, max_nonzeros=0)
    with pytest.raises(TypeError, match="max_nonzeros"):
        lasso_lars_gram(X, D, 0.1, max_nonzeros=2.5)
    with pytest.raises(ValueError, match="gram"):
        lasso_lars_gram(X, D, 0.1, gram=np.eye(3))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError):
        lasso_lars_gram(Xn, D, 0.1)


@settings(max_examples=25, deadline=None)
@given(n_atoms=st.integers(1, 24), n_features=st.integers(1, 12), seed=st.integers(0, 2**16),
       log_alpha=st.floats(-4, 1), positive=st.booleans())
def test_kkt_property(n_atoms, n_features, seed, log_alpha, positive):
    X, D = _problem(n_atoms, n_features, 4, seed=seed)
    alpha = 10.0 ** log_alpha
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # dependent atoms (K > n)
        code = lasso_lars_gram(X, D, alpha, positive=positive)
    assert np.all(np.isfinite(code))
    if positive:
        assert np.all(code >= 0)
    assert _kkt(X, D, code, alpha, positive) <= 1e-9 * max(1.0, np.abs(code).max())
