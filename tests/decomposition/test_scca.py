"""SparseCCA and the exact l1-bounded step: references, planted supports, invariances, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cross_decomposition import CCA

from sparsecode import SparseCCA, l1_constrained_direction
from sparsecode.decomposition._scca import _l1_threshold


def _bisection_threshold(a, c, n=200):
    """PMA's BinarySearch, run to machine precision (the oracle of the exact solution)."""
    lo, hi = 0.0, float(np.max(np.abs(a)))
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        u = np.sign(a) * np.maximum(np.abs(a) - mid, 0.0)
        nrm = np.linalg.norm(u)
        if nrm == 0 or np.abs(u).sum() / nrm < c:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def _views(n, p, q, s=10, strength=1.0, seed=0, n_factors=1):
    """Views sharing latent factors on disjoint blocks of s coordinates each."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p))
    Y = rng.standard_normal((n, q))
    for f in range(n_factors):
        z = rng.standard_normal(n) * strength * (1.0 - 0.3 * f)
        X[:, f * s:(f + 1) * s] += z[:, None]
        Y[:, f * s:(f + 1) * s] += z[:, None]
    return X, Y


@settings(max_examples=40)
@given(seed=st.integers(0, 10_000), p=st.integers(2, 40), frac=st.floats(0.01, 0.99))
def test_exact_threshold_matches_bisection(seed, p, frac):
    a = np.random.default_rng(seed).standard_normal(p)
    ratio0 = np.abs(a).sum() / np.linalg.norm(a)
    c = 1.0 + frac * (ratio0 - 1.0)
    delta = _l1_threshold(a, c)
    if c >= ratio0:
        assert delta == 0.0
    else:
        assert delta == pytest.approx(_bisection_threshold(a, c), abs=1e-9)
        u = l1_constrained_direction(a, c)
        assert np.abs(u).sum() == pytest.approx(c, rel=1e-7)
        assert np.linalg.norm(u) == pytest.approx(1.0)


def test_l1_direction_edge_cases():
    assert np.flatnonzero(l1_constrained_direction(np.array([1.0, -3.0, 2.0]), 1.0)).tolist() == [1]
    np.testing.assert_array_equal(l1_constrained_direction(np.zeros(4), 1.5), np.zeros(4))
    a = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(l1_constrained_direction(a, 2.0), a / np.linalg.norm(a))
    with pytest.raises(ValueError, match="c must be"):
        l1_constrained_direction(a, 0.5)


def test_no_penalty_on_whitened_views_is_classical_cca():
    # With penalties 1 PMD is the top singular pair of X'Y; on whitened views
    # (X'X = Y'Y = (n-1) I) that is exactly the first canonical pair.
    rng = np.random.default_rng(0)
    n, p, q = 500, 6, 5
    X, Y = _views(n, p, q, s=3, seed=1)
    X = X @ rng.standard_normal((p, p))
    Y = Y @ rng.standard_normal((q, q))
    Xw = np.linalg.qr(X - X.mean(0))[0] * np.sqrt(n - 1)
    Yw = np.linalg.qr(Y - Y.mean(0))[0] * np.sqrt(n - 1)
    ours = SparseCCA(penalty_x=1.0, penalty_y=1.0).fit(Xw, Yw)
    ref = CCA(n_components=1, max_iter=5000, tol=1e-12).fit(Xw, Yw)
    u_ref = ref.x_weights_[:, 0] / np.linalg.norm(ref.x_weights_[:, 0])
    v_ref = ref.y_weights_[:, 0] / np.linalg.norm(ref.y_weights_[:, 0])
    assert abs(ours.x_weights_[:, 0] @ u_ref) == pytest.approx(1.0, abs=1e-8)
    assert abs(ours.y_weights_[:, 0] @ v_ref) == pytest.approx(1.0, abs=1e-8)
    xs, ys = ref.transform(Xw, Yw)
    rho_ref = abs(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1])
    assert ours.canonical_correlations_[0] == pytest.approx(rho_ref, rel=1e-8)


@pytest.mark.parametrize("seed", range(3))
def test_planted_supports_recovered(seed):
    # s = 10 shared coordinates, strong factor; the l1 bound is just below sqrt(s),
    # the l1/l2 ratio of a flat s-sparse weight (the spec's rule of thumb, R12).
    p, q, s = 200, 150, 10
    X, Y = _views(150, p, q, s=s, strength=2.0, seed=seed)
    cca = SparseCCA(penalty_x=np.sqrt(s / p) * 0.95, penalty_y=np.sqrt(s / q) * 0.95).fit(X, Y)
    assert np.flatnonzero(cca.x_weights_[:, 0]).tolist() == list(range(s))
    assert np.flatnonzero(cca.y_weights_[:, 0]).tolist() == list(range(s))
    Xt, Yt = _views(4000, p, q, s=s, strength=2.0, seed=seed + 100)
    xs, ys = cca.transform(Xt, Yt)
    # population first canonical correlation: 4s / (4s + 1) for this model
    rho = 4 * s / (4 * s + 1)
    assert abs(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1]) == pytest.approx(rho, abs=0.05)


def test_second_pair_finds_second_factor():
    X, Y = _views(300, 60, 50, s=5, strength=2.0, seed=4, n_factors=2)
    cca = SparseCCA(n_components=2, penalty_x=np.sqrt(5 / 60) * 0.95,
                    penalty_y=np.sqrt(5 / 50) * 0.95).fit(X, Y)
    assert set(np.flatnonzero(cca.x_weights_[:, 0])) == set(range(5))
    assert set(np.flatnonzero(cca.x_weights_[:, 1])) == set(range(5, 10))
    assert cca.canonical_correlations_[0] > cca.canonical_correlations_[1] > 0.5
    assert cca.transform(X).shape == (300, 2)


def test_primal_dual_finds_correlated_sparse_pair():
    X, Y = _views(60, 80, 40, s=8, strength=3.0, seed=0)
    cca = SparseCCA(method="primal_dual").fit(X, Y)
    w = cca.x_weights_[:, 0]
    nz = np.flatnonzero(w)
    assert 0 < nz.size < 40  # sparse, and mostly on the shared coordinates
    assert np.sum(np.abs(w[:8])) > 0.8 * np.sum(np.abs(w))
    assert cca.dual_weights_.shape == (60, 1) and np.all((cca.dual_weights_ >= 0)
                                                          & (cca.dual_weights_ <= 1))
    assert cca.canonical_correlations_[0] > 0.8


def test_transform_1d_y_float32_and_no_mutation():
    X, Y = _views(50, 12, 1, s=1, strength=2.0, seed=2)
    X = X.astype(np.float32)
    X0 = X.copy()
    cca = SparseCCA(penalty_x=0.5).fit(X, Y[:, 0])
    np.testing.assert_array_equal(X, X0)
    xs, ys = cca.transform(X, Y[:, 0])
    assert xs.dtype == np.float32 and xs.shape == ys.shape == (50, 1)
    np.testing.assert_allclose(cca.fit_transform(X, Y[:, 0]), xs, rtol=1e-5)


@pytest.mark.parametrize(
    "X, Y, kwargs, match",
    [
        (np.ones((10, 3)), np.ones((9, 3)), {}, "same number of samples"),
        (np.eye(10, 4), np.eye(10, 3), dict(n_components=4), "rank limit"),
        (np.eye(10, 4), None, {}, "requires y"),
        (np.eye(10, 4), np.eye(10, 3), dict(penalty_x=0.0), "penalty_x"),
        (np.eye(10, 4), np.eye(10, 3), dict(method="cvx"), "method"),
    ],
)
def test_bad_input(X, Y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        SparseCCA(**kwargs).fit(X, Y)


def test_nan_rejected():
    X, Y = _views(20, 5, 4, s=2)
    Y[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SparseCCA().fit(X, Y)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000))
def test_sample_and_feature_permutation_invariance(seed):
    rng = np.random.default_rng(seed)
    X, Y = _views(40, 15, 12, s=3, strength=1.5, seed=seed)
    rows, cx, cy = rng.permutation(40), rng.permutation(15), rng.permutation(12)
    a = SparseCCA(penalty_x=0.5, penalty_y=0.5).fit(X, Y)
    b = SparseCCA(penalty_x=0.5, penalty_y=0.5).fit(X[rows][:, cx], Y[rows][:, cy])
    # the same pair (up to a joint sign), re-indexed
    u, v = np.empty(15), np.empty(12)
    u[cx], v[cy] = b.x_weights_[:, 0], b.y_weights_[:, 0]
    sign = np.sign(u @ a.x_weights_[:, 0])
    np.testing.assert_allclose(sign * u, a.x_weights_[:, 0], atol=1e-6)
    np.testing.assert_allclose(sign * v, a.y_weights_[:, 0], atol=1e-6)
    np.testing.assert_allclose(b.canonical_correlations_, a.canonical_correlations_, atol=1e-8)
