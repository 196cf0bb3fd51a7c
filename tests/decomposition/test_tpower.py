"""TruncatedPowerPCA: eigh reference, spiked recovery, deflation, variance, bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode import TruncatedPowerPCA, truncated_power_method
from sparsecode._base import ConvergenceWarning
from sparsecode.decomposition._tpower import _CovOperator, _DataOperator


def _data(n=60, p=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, p)) @ rng.standard_normal((p, p))


def _spiked(n, p, k, theta, seed):
    """Samples of N(0, I + theta v v') with v flat +-1/sqrt(k) on a random support."""
    rng = np.random.default_rng(seed)
    support = np.sort(rng.choice(p, k, replace=False))
    v = np.zeros(p)
    v[support] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    X = rng.standard_normal((n, p)) + np.sqrt(theta) * rng.standard_normal((n, 1)) * v
    return X, support


def _align(V, W):
    """|<v_i, w_i>| for matching rows."""
    return np.abs(np.sum(V * W, axis=1))


@pytest.mark.parametrize("deflation", ["schur", "projection", "orthogonal_projection"])
@pytest.mark.parametrize("init", ["eig", "maxdiag", "topk_diag"])
def test_k_equals_p_gives_leading_eigenvectors(deflation, init):
    X = _data()
    C = np.cov(X.T)
    w, V = np.linalg.eigh(C)
    est = TruncatedPowerPCA(n_components=3, k=8, init=init, deflation=deflation,
                            max_iter=2000, tol=1e-14).fit(X)
    np.testing.assert_allclose(_align(est.components_, V[:, ::-1][:, :3].T), 1.0, atol=1e-6)
    # orthogonal loadings: the adjusted variance is the eigenvalue
    np.testing.assert_allclose(est.explained_variance_, w[::-1][:3], rtol=1e-6)
    np.testing.assert_allclose(est.explained_variance_ratio_, w[::-1][:3] / w.sum(), rtol=1e-6)


def test_covariance_input_equals_data_input():
    X = _data(n=80, p=12, seed=3)
    a = TruncatedPowerPCA(n_components=3, k=4).fit(X)
    b = TruncatedPowerPCA(n_components=3, k=4, covariance=True).fit(np.cov(X.T))
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)
    np.testing.assert_allclose(a.explained_variance_, b.explained_variance_, rtol=1e-8)


@pytest.mark.parametrize("scheme", ["schur", "projection", "orthogonal_projection"])
def test_data_space_deflation_equals_covariance_deflation(scheme):
    X = _data(n=50, p=10, seed=1)
    Xc = X - X.mean(0)
    dop, cop = _DataOperator(Xc.copy()), _CovOperator(np.cov(X.T))
    rng = np.random.default_rng(0)
    Qd, Qc = [], []
    for _ in range(3):
        x = rng.standard_normal(10)
        x[rng.choice(10, 6, replace=False)] = 0
        x /= np.linalg.norm(x)
        dop.deflate(x, scheme, Qd)
        cop.deflate(x, scheme, Qc)
    np.testing.assert_allclose(dop.X.T @ dop.X / 49, cop.A, atol=1e-10)


def test_schur_deflation_annihilates_every_previous_loading():
    # Mackey's table: Schur complement deflation gives A_t x_s = 0 for all s <= t.
    X = _data(n=60, p=15, seed=2)
    C = np.cov(X.T)
    est = TruncatedPowerPCA(n_components=3, k=4, deflation="schur", covariance=True).fit(C)
    op = _CovOperator(C.copy())
    for x in est.components_:
        op.deflate(x, "schur", [])
    np.testing.assert_allclose(op.A @ est.components_.T, 0.0, atol=1e-10)


def test_adjusted_variance_is_qr_of_scores():
    X = _data(n=70, p=12, seed=4)
    est = TruncatedPowerPCA(n_components=3, k=3, deflation="projection").fit(X)
    S = (X - X.mean(0)) @ est.components_.T
    R = np.linalg.qr(S, mode="r")
    np.testing.assert_allclose(est.explained_variance_, np.diag(R) ** 2 / 69, rtol=1e-8)
    # never more than the raw variance of each score
    assert np.all(est.explained_variance_ <= S.var(axis=0, ddof=1) * (1 + 1e-12))
    # subspace variance: the data projected on span(components)
    Qv = np.linalg.qr(est.components_.T)[0]
    proj = (X - X.mean(0)) @ Qv
    assert est.subspace_variance_ == pytest.approx(np.sum(proj ** 2) / 69, rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("init", ["eig", "maxdiag"])
def test_spiked_support_recovery(seed, init):
    # theta = 4, p = 200, k = 10, N = 600: far above the N ~ k^2 log p / theta^2
    # regime where the spec's runs (p = 500) already recover the support every time.
    X, support = _spiked(600, 200, 10, 4.0, seed)
    est = TruncatedPowerPCA(k=10, init=init).fit(X)
    np.testing.assert_array_equal(np.flatnonzero(est.components_[0]), support)


def test_function_matches_estimator_on_covariance():
    X, support = _spiked(400, 100, 5, 4.0, 7)
    C = np.cov(X.T)
    res = truncated_power_method(C, 5)
    est = TruncatedPowerPCA(k=5, covariance=True).fit(C)
    np.testing.assert_allclose(res.coef, est.components_[0])
    np.testing.assert_array_equal(np.flatnonzero(res.coef), support)
    assert res.converged and res.rayleigh == pytest.approx(res.coef @ C @ res.coef)


def test_cardinality_per_component_and_warm_start():
    X = _data(n=60, p=20, seed=5)
    tight = dict(max_iter=5000, tol=1e-15)  # run to the fixed point
    est = TruncatedPowerPCA(n_components=3, k=[2, 5, 7], **tight).fit(X)
    assert [np.count_nonzero(c) for c in est.components_] == [2, 5, 7]
    # a fixed point is a fixed point: warm-starting there returns it
    warm = TruncatedPowerPCA(n_components=3, k=[2, 5, 7], init=est.components_, **tight).fit(X)
    np.testing.assert_allclose(warm.components_, est.components_, atol=1e-8)
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0)


def test_transform_float32_and_no_mutation():
    X = _data(n=40, p=10, seed=6).astype(np.float32)
    X0 = X.copy()
    est = TruncatedPowerPCA(n_components=2, k=3).fit(X)
    Z = est.transform(X)
    assert Z.dtype == np.float32 and est.components_.dtype == np.float32
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_allclose(Z, (X - X.mean(0)) @ est.components_.T, rtol=1e-4, atol=1e-4)
    assert list(est.get_feature_names_out()) == ["truncatedpowerpca0", "truncatedpowerpca1"]


def test_hotelling_on_covariance_and_convergence_warning():
    X = _data(n=60, p=10, seed=7)
    est = TruncatedPowerPCA(n_components=2, k=10, deflation="hotelling", covariance=True,
                            max_iter=2000, tol=1e-14).fit(np.cov(X.T))
    w, V = np.linalg.eigh(np.cov(X.T))
    np.testing.assert_allclose(_align(est.components_, V[:, ::-1][:, :2].T), 1.0, atol=1e-6)
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        TruncatedPowerPCA(k=3, init="maxdiag", max_iter=1, tol=0.0).fit(X)


@pytest.mark.parametrize(
    "kwargs, X, match",
    [
        (dict(k=11), _data(p=10), "k=11 is larger than n_features=10"),
        (dict(k=[3, 3]), _data(p=10), "k has 2 entries but n_components=1"),
        (dict(k=0), _data(p=10), "k must be >= 1"),
        (dict(n_components=6), _data(n=6, p=10), "larger than the rank"),
        (dict(init="bogus"), _data(), "'init' parameter"),
        (dict(init=np.ones((2, 8))), _data(), "init as an array must have shape"),
        (dict(deflation="hotelling"), _data(), "hotelling"),
        (dict(covariance=True), _data(n=10, p=8), "square covariance"),
        (dict(covariance=True), np.triu(np.ones((4, 4))), "symmetric"),
        (dict(covariance=True), -np.eye(4), "positive semi-definite"),
    ],
)
def test_bad_input(kwargs, X, match):
    with pytest.raises(ValueError, match=match):
        TruncatedPowerPCA(**kwargs).fit(X)


def test_rank_deficient_data_raises_at_deflation():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 2)) @ rng.standard_normal((2, 10))  # rank 2
    with pytest.raises(ValueError, match="numerical rank"):
        TruncatedPowerPCA(n_components=4, k=10).fit(X)


def test_nan_rejected():
    X = _data()
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        TruncatedPowerPCA().fit(X)
    with pytest.raises(ValueError):
        truncated_power_method(np.full((3, 3), np.nan), 1)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_permutation_and_sign_invariance(seed, k):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 12)) * rng.uniform(0.5, 3.0, 12)
    perm = rng.permutation(12)
    signs = rng.choice([-1.0, 1.0], 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = TruncatedPowerPCA(n_components=2, k=k, max_iter=500).fit(X).components_
        b = TruncatedPowerPCA(n_components=2, k=k, max_iter=500).fit(
            X[:, perm] * signs).components_
    # the loading of the transformed data is the transformed loading (up to a global sign)
    back = np.empty_like(b)
    back[:, perm] = b * signs
    np.testing.assert_allclose(_align(a, back), 1.0, atol=1e-6)


def test_n_jobs_does_not_change_the_result():
    X, _ = _spiked(60, 40, 5, 4.0, 11)
    a = TruncatedPowerPCA(n_components=2, k=5).fit(X)
    b = TruncatedPowerPCA(n_components=2, k=5, n_jobs=2).fit(X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    with pytest.raises(ValueError, match="n_jobs=0"):
        TruncatedPowerPCA(n_jobs=0).fit(X)


def _loud_feature_spike(n, p, k, theta, loud_var, seed):
    """A k-sparse spike (variance 1 + theta) plus one independent off-support feature of
    variance ``loud_var``: the largest diagonal entry is the loud feature
    (``loud_var > 1 + theta / k``) while the leading eigenvector is the spike
    (``1 + theta > loud_var``)."""
    X, support = _spiked(n, p, k, theta, seed)
    loud = int(np.setdiff1d(np.arange(p), support)[0])
    X[:, loud] *= np.sqrt(loud_var)
    return X, support, loud


def test_eig_start_recovers_spike_when_the_largest_variance_is_off_support():
    # n, p > 300: the default start is the sketched (block Krylov) Ritz vector.
    # Spike variance 9 against a loud feature of variance 3 (diagonal 1.4 on the
    # support, so the largest diagonal entry is off the support); the leading
    # eigenvector is the spike (gap 9 : 3), and n is far above k^2 log p / theta^2.
    for seed in range(3):
        X, support, loud = _loud_feature_spike(400, 1000, 20, 8.0, 3.0, seed=seed)
        assert int(np.argmax(X.var(axis=0))) == loud
        est = TruncatedPowerPCA(k=20).fit(X)
        np.testing.assert_array_equal(np.flatnonzero(est.components_[0]), support)


def test_eig_start_on_large_covariance_recovers_spike():
    # p > 1000: the covariance path sketches too.  Population covariance with the
    # same loud-feature trap: e_loud is an eigenvector (eigenvalue 3), so the
    # largest-diagonal start stays there; the eigenvector start finds the spike.
    p, k = 1001, 20
    rng = np.random.default_rng(1)
    support = np.sort(rng.choice(p, k, replace=False))
    v = np.zeros(p)
    v[support] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    A = np.eye(p) + 8.0 * np.outer(v, v)
    loud = int(np.setdiff1d(np.arange(p), support)[0])
    A[loud, loud] = 3.0
    res = truncated_power_method(A, k)
    np.testing.assert_array_equal(np.flatnonzero(res.coef), support)
    assert res.rayleigh == pytest.approx(9.0)
    assert truncated_power_method(A, k, init="maxdiag").coef[loud] != 0


def test_sketched_start_matches_exact_leading_eigenvector_and_is_deterministic():
    from sparsecode.decomposition._tpower import _ritz_start, _start_subspace

    X, _, _ = _loud_feature_spike(400, 1000, 20, 8.0, 3.0, seed=2)
    Xc = X - X.mean(0)
    op = _DataOperator(X, mean=X.mean(0))
    W, XW, r0 = _start_subspace(op, 3)
    np.testing.assert_allclose(W.T @ W, np.eye(W.shape[1]), atol=1e-10)
    np.testing.assert_allclose(XW, Xc @ W, atol=1e-8)
    exact = np.linalg.svd(Xc, full_matrices=False)[2][0]
    # eigenvalue gap ~ 11.8 : 6.7 (bulk edge): the Krylov Ritz vector is converged
    assert abs(_ritz_start(op, W, XW, r0) @ exact) > 1 - 1e-6
    # after a deflation the Ritz step uses the deflated data (X W less the deflation)
    op.deflate(exact, "schur", [])
    np.testing.assert_allclose(_ritz_start(op, W, XW, r0), _ritz_start(op, W), atol=1e-8)
    a = TruncatedPowerPCA(n_components=2, k=20).fit(X)
    b = TruncatedPowerPCA(n_components=2, k=20).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("scheme", ["schur", "projection", "orthogonal_projection"])
def test_implicit_centring_and_deflation_match_explicit(scheme):
    X = _data(n=50, p=10, seed=8) + 3.0
    implicit = _DataOperator(X, mean=X.mean(0))
    explicit = _CovOperator(np.cov(X.T))
    rng = np.random.default_rng(1)
    Qi, Qe = [], []
    for _ in range(3):
        x = rng.standard_normal(10)
        x /= np.linalg.norm(x)
        np.testing.assert_allclose(implicit.matvec(x), explicit.matvec(x), atol=1e-10)
        assert implicit.quad(x) == pytest.approx(x @ explicit.A @ x, rel=1e-10)
        np.testing.assert_allclose(implicit.diag(), explicit.diag(), atol=1e-10)
        assert implicit.trace() == pytest.approx(explicit.trace(), rel=1e-10)
        implicit.deflate(x, scheme, Qi)
        explicit.deflate(x, scheme, Qe)
    np.testing.assert_allclose(implicit.X.T @ implicit.X / 49, explicit.A, atol=1e-10)
    # the data are read, never written
    np.testing.assert_array_equal(X, _data(n=50, p=10, seed=8) + 3.0)


def test_large_offset_means_are_centred_explicitly():
    # means 1e6 x the spread: products with the uncentred data would cancel; the
    # result must equal the fit on pre-centred data.
    X = _data(n=80, p=12, seed=9)
    a = TruncatedPowerPCA(n_components=2, k=4).fit(X - X.mean(0))
    b = TruncatedPowerPCA(n_components=2, k=4).fit(X + 1e8)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-6)


@pytest.mark.parametrize("init", ["eig", "maxdiag"])
def test_components_are_support_eigenvectors_and_truncation_fixed_points(init):
    """Each converged component is the leading eigenvector of the (deflated) covariance
    restricted to its support, and a fixed point of x -> T_k(A x): the k largest
    magnitudes of A x lie on that support."""
    X, _ = _spiked(300, 400, 10, 6.0, seed=3)
    est = TruncatedPowerPCA(n_components=2, k=10, init=init).fit(X)
    Xc = X - X.mean(0)
    A = Xc.T @ Xc / (X.shape[0] - 1)
    for c, x in enumerate(est.components_):
        S = np.flatnonzero(x)
        w, U = np.linalg.eigh(A[np.ix_(S, S)])
        assert abs(U[:, -1] @ x[S]) == pytest.approx(1.0, abs=1e-10)
        Ax = A @ x
        assert np.abs(Ax[S]).min() >= np.abs(np.delete(Ax, S)).max()
        if c == 0:  # Schur deflation for the next component
            Ax = A @ x
            A = A - np.outer(Ax, Ax) / (x @ Ax)


def test_single_precision_products_give_the_double_precision_result(monkeypatch):
    """Large data iterate through a float32 copy; every component is finished by an exact
    float64 eigen-solve on its support, so the result matches the float64 iterations."""
    import sparsecode.decomposition._tpower as tp

    X, support = _spiked(300, 600, 12, 6.0, seed=4)
    ref = TruncatedPowerPCA(n_components=2, k=12).fit(X)
    monkeypatch.setattr(tp, "_FAST_MIN_SIZE", 0)
    fast = TruncatedPowerPCA(n_components=2, k=12).fit(X)
    np.testing.assert_array_equal(fast.components_ != 0, ref.components_ != 0)
    np.testing.assert_allclose(fast.components_, ref.components_, atol=1e-10)
    np.testing.assert_allclose(fast.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_array_equal(np.flatnonzero(ref.components_[0]), support)
