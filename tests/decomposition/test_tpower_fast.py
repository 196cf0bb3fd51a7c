"""TruncatedPowerPCA on large data: fused kernels, Lanczos start, screened cascade."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsecode.decomposition._tpower as tp
from sparsecode import TruncatedPowerPCA
from sparsecode._ext._tpower import column_stats, gram_matmat, gram_matvec, rmatvec_gather


def _spiked_several(n, p, k, thetas, seed):
    """Samples of N(0, I + sum_c theta_c v_c v_c'), v_c flat +-1/sqrt(k) on disjoint supports."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(p)
    X = rng.standard_normal((n, p))
    V = np.zeros((len(thetas), p))
    for c, th in enumerate(thetas):
        V[c, perm[c * k:(c + 1) * k]] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
        X += np.sqrt(th) * rng.standard_normal((n, 1)) * V[c]
    return X, V


def _covariance(X):
    Xc = X - X.mean(0)
    return Xc.T @ Xc / (X.shape[0] - 1)


@settings(max_examples=20)
@given(n=st.integers(1, 23), p=st.integers(1, 37), rows=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 1000))
def test_gram_matvec_is_two_products(n, p, rows, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    q = rng.standard_normal(p).astype(dtype)
    shift = rng.standard_normal(n).astype(dtype)
    X_before = X.copy()
    y, z = np.empty(n, dtype), np.empty(p, dtype)
    gram_matvec(X, q, shift, y, z, rows)
    y_ref = X.astype(float) @ q - shift
    z_ref = X.T.astype(float) @ y_ref
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    scale = np.abs(X).max() ** 2 * (np.abs(q).sum() + np.abs(shift).max()) * n + 1e-30
    np.testing.assert_allclose(y, y_ref, atol=rtol * scale)
    np.testing.assert_allclose(z, z_ref, atol=rtol * scale)
    np.testing.assert_array_equal(X, X_before)


@settings(max_examples=20)
@given(n=st.integers(1, 23), p=st.integers(1, 37), b=st.integers(1, 6), rows=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 1000))
def test_gram_matmat_is_two_products(n, p, b, rows, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    Q = rng.standard_normal((b, p)).astype(dtype)
    shift = rng.standard_normal((b, n)).astype(dtype)
    X_before, Q_before = X.copy(), Q.copy()
    Y, Z = np.empty((b, n), dtype), np.empty((b, p), dtype)
    gram_matmat(X, Q, shift, Y, Z, rows)
    Y_ref = Q.astype(float) @ X.T.astype(float) - shift
    Z_ref = Y_ref @ X.astype(float)
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    scale = np.abs(X).max() ** 2 * (np.abs(Q).sum(1).max() + np.abs(shift).max()) * n + 1e-30
    np.testing.assert_allclose(Y, Y_ref, atol=rtol * scale)
    np.testing.assert_allclose(Z, Z_ref, atol=rtol * scale)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(Q, Q_before)
    # one vector: the same as gram_matvec
    y, z = np.empty(n, dtype), np.empty(p, dtype)
    gram_matvec(X, Q[0], shift[0], y, z, rows)
    np.testing.assert_allclose(Z[0], z, atol=rtol * scale)
    with pytest.raises(ValueError, match="shapes"):
        gram_matmat(X, Q, shift, Y, np.empty((b, p + 1), dtype), rows)


@settings(max_examples=20)
@given(n=st.integers(1, 23), p=st.integers(1, 37), m=st.integers(0, 12), rows=st.integers(1, 9),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 1000))
def test_rmatvec_gather_is_a_product_and_a_gather(n, p, m, rows, dtype, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)).astype(dtype)
    y = rng.standard_normal(n).astype(dtype)
    cols = rng.integers(0, p, m).astype(np.intp)
    X_before = X.copy()
    z, out = np.empty(p, dtype), np.empty((n, m), dtype)
    rmatvec_gather(X, y, z, cols, out, rows)
    ref = X.T.astype(float) @ y
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(z, ref, atol=rtol * np.abs(X).max() * np.abs(y).sum() + 1e-30)
    np.testing.assert_array_equal(out, X[:, cols])
    np.testing.assert_array_equal(X, X_before)
    with pytest.raises(ValueError, match="out of range"):
        rmatvec_gather(X, y, z, np.array([p], dtype=np.intp), np.empty((n, 1), dtype), rows)


def test_first_products_are_the_products_of_the_truncated_ritz_vectors():
    """The working sets' first products (one block pass) equal A T_8k(v_i), v_i the
    leading Ritz vectors of the Lanczos subspace."""
    X, _ = _spiked_several(400, 3000, 5, (8.0, 6.0, 4.0), seed=2)
    op = tp._DataOperator(X, mean=X.mean(0))
    krylov = tp._start_subspace(op, 3)
    V, S, ks = tp._first_products(op, krylov, [5, 5, 6])
    assert ks == [5, 5, 6] and V.shape == S.shape == (3000, 3)
    A = _covariance(X)
    W, XW, _ = krylov
    _, sv, Vt = np.linalg.svd(XW, full_matrices=False)
    for i, kk in enumerate(ks):
        assert abs(V[:, i] @ (W @ Vt[i])) == pytest.approx(1.0, abs=1e-8)
        t = tp._truncate(V[:, i], 8 * kk)
        np.testing.assert_allclose(S[:, i] * op.scale, A @ t, atol=1e-9 * np.abs(A @ t).max())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_stats_sums_squares_and_copy(dtype):
    X = np.random.default_rng(0).standard_normal((37, 11)).astype(dtype) * 3 + 1
    sums, sumsq = np.empty(11), np.empty(11)
    copy = np.empty(X.shape, np.float32)
    column_stats(X, sums, sumsq, copy)
    np.testing.assert_allclose(sums, X.astype(float).sum(0), rtol=1e-12)
    np.testing.assert_allclose(sumsq, (X.astype(float) ** 2).sum(0), rtol=1e-12)
    np.testing.assert_array_equal(copy, X.astype(np.float32))
    column_stats(X, sums, sumsq, np.empty((0, 0), np.float32))  # no copy asked
    np.testing.assert_allclose(sumsq, (X.astype(float) ** 2).sum(0), rtol=1e-12)
    X[3, 4] = np.nan
    column_stats(X, sums, sumsq, copy)
    assert not np.isfinite(sums[4]) and np.isfinite(np.delete(sums, 4)).all()


def test_infinite_data_rejected_on_the_large_data_path(monkeypatch):
    monkeypatch.setattr(tp, "_FAST_MIN_SIZE", 0)
    X = np.random.default_rng(1).standard_normal((40, 12))
    X[5, 7] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        TruncatedPowerPCA(k=3).fit(X)


def test_lanczos_start_residuals_meet_the_tolerance():
    """The Lanczos start stops once the leading Ritz pairs have residuals
    ||A w - theta w|| <= tol * theta_1: checked against the covariance itself."""
    X, _ = _spiked_several(300, 400, 10, (20.0, 12.0, 7.0), seed=1)
    op = tp._DataOperator(X, mean=X.mean(0))
    W, XW, r0 = tp._start_subspace(op, 3)
    assert W.shape[1] < tp._LANCZOS_STEPS_PER_COMPONENT * 3 + tp._LANCZOS_EXTRA_STEPS
    np.testing.assert_allclose(W.T @ W, np.eye(W.shape[1]), atol=1e-10)
    A = _covariance(X)
    _, sv, Vt = np.linalg.svd(XW, full_matrices=False)
    ritz_vectors = W @ Vt[:3].T
    theta = sv[:3] ** 2 / (X.shape[0] - 1)
    residuals = np.linalg.norm(A @ ritz_vectors - ritz_vectors * theta, axis=0)
    assert np.all(residuals <= tp._LANCZOS_TOL * theta[0] * (1 + 1e-6))
    # and the Ritz vectors are the leading eigenvectors (gaps >= 4.6, residuals <= 0.03)
    w, U = np.linalg.eigh(A)
    assert np.all(np.abs(np.sum(U[:, ::-1][:, :3] * ritz_vectors, axis=0)) > 0.999)


def _fit_both(X, monkeypatch, **kwargs):
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 1 << 60)
    full = TruncatedPowerPCA(**kwargs).fit(X)
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 0)
    screened = TruncatedPowerPCA(**kwargs).fit(X)
    return full, screened


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_screened_cascade_equals_full_cascade_on_spiked_data(seed, monkeypatch):
    # 5 spikes above the detection threshold (theta >= 4, n = 400 >> k^2 log p / theta^2):
    # the working-set iterations end where the iterations over all features end.
    X, V = _spiked_several(400, 1200, 10, (8.0, 7.0, 6.0, 5.0, 4.0), seed)
    full, screened = _fit_both(X, monkeypatch, n_components=5, k=10)
    np.testing.assert_array_equal(screened.components_ != 0, full.components_ != 0)
    np.testing.assert_allclose(screened.components_, full.components_, atol=1e-10)
    np.testing.assert_allclose(screened.explained_variance_, full.explained_variance_,
                               rtol=1e-10)
    for v in V:  # and the supports are the spikes'
        assert any(np.array_equal(np.flatnonzero(c), np.flatnonzero(v))
                   for c in screened.components_)


@pytest.mark.parametrize("single_precision", [False, True])
def test_screened_components_are_certified_fixed_points(single_precision, monkeypatch):
    """Every screened component is the leading eigenvector of the deflated covariance
    on its support and a fixed point of the truncated iteration over all features
    (also when the certificates' products go through the single-precision copy)."""
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 0)
    if single_precision:
        monkeypatch.setattr(tp, "_FAST_MIN_SIZE", 0)
    X, _ = _spiked_several(300, 800, 8, (3.0, 2.5), seed=5)  # weak spikes
    est = TruncatedPowerPCA(n_components=2, k=8).fit(X)
    A = _covariance(X)
    for c, x in enumerate(est.components_):
        S = np.flatnonzero(x)
        w, U = np.linalg.eigh(A[np.ix_(S, S)])
        assert abs(U[:, -1] @ x[S]) == pytest.approx(1.0, abs=1e-10)
        Ax = A @ x
        assert np.abs(Ax[S]).min() >= np.abs(np.delete(Ax, S)).max()
        if c == 0:  # Schur deflation for the next component
            A = A - np.outer(Ax, Ax) / (x @ Ax)


def test_failed_certificate_brings_in_the_missed_support_feature(monkeypatch):
    """A working-set end point that misses a support feature is not returned: the
    full product shows the feature beats the support, it joins the working set, and
    the iterations end at the fixed point over all features."""
    X, V = _spiked_several(500, 600, 6, (10.0,), seed=3)
    support = np.flatnonzero(V[0])
    missed = int(support[0])
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 1 << 60)
    full = TruncatedPowerPCA(k=6).fit(X)
    np.testing.assert_array_equal(np.flatnonzero(full.components_[0]), support)

    real_cascade = tp._cascade
    seen = {}

    def cascade_missing_a_feature(matvec, x0, k, p, *args, **kwargs):
        sub = getattr(matvec, "__self__", None)
        if not isinstance(sub, tp._ColumnSubset):
            return real_cascade(matvec, x0, k, p, *args, **kwargs)
        # drop the feature from the working set, end at the eigenvector of a wrong support
        keep = sub.C != missed
        sub.C, sub.Xc = sub.C[keep], np.ascontiguousarray(sub.Xc[:, keep])
        if sub.Bc is not None:
            sub.Bc = np.ascontiguousarray(sub.Bc[:, keep])
        seen["missed_in_C"] = bool(np.any(sub.C == missed))
        wrong = np.concatenate([support[1:], [np.setdiff1d(sub.C, support)[0]]])
        idx = np.flatnonzero(np.isin(sub.C, wrong))
        w, U = np.linalg.eigh(sub.restricted(idx))
        x = np.zeros(sub.C.size)
        x[idx] = U[:, -1]
        return x, float(w[-1]), 1, True

    calls = []
    real_certificate = tp._certificate_product

    def counting_certificate(op, x):
        calls.append(1)
        return real_certificate(op, x)

    monkeypatch.setattr(tp, "_cascade", cascade_missing_a_feature)
    monkeypatch.setattr(tp, "_certificate_product", counting_certificate)
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 0)
    est = TruncatedPowerPCA(k=6).fit(X)
    assert seen["missed_in_C"] is False
    assert len(calls) >= 2  # a failed certificate, then the certified one
    np.testing.assert_array_equal(est.components_[0] != 0, full.components_[0] != 0)
    np.testing.assert_allclose(est.components_[0], full.components_[0], atol=1e-10)


def test_screened_cascade_without_rounds_runs_over_all_features(monkeypatch):
    # no check rounds allowed: both stages go over all features, still a fixed point
    monkeypatch.setattr(tp, "_SCREEN_ROUNDS", 0)
    X, V = _spiked_several(300, 640, 8, (8.0,), seed=4)
    full, screened = _fit_both(X, monkeypatch, k=8)
    np.testing.assert_array_equal(np.flatnonzero(screened.components_[0]),
                                  np.flatnonzero(V[0]))
    np.testing.assert_allclose(screened.components_, full.components_, atol=1e-10)


def test_scores_from_the_supports_match_dense_scores():
    X, _ = _spiked_several(200, 300, 5, (6.0, 5.0), seed=6)
    est = TruncatedPowerPCA(n_components=2, k=5).fit(X)
    S = (X - X.mean(0)) @ est.components_.T
    G = S.T @ S / (X.shape[0] - 1)
    assert est.explained_variance_[0] == pytest.approx(G[0, 0], rel=1e-12)
    np.testing.assert_allclose(est.transform(X), S, atol=1e-10)


def _deflated_by_hand(X, loadings):
    """Centred data deflated (Schur) by each loading in turn, in double precision."""
    Xt = X - X.mean(0)
    for x in loadings:
        z = Xt @ x
        Xt = Xt - np.outer(z, Xt.T @ z / (z @ z))
    return Xt


def test_single_precision_certificate_bound_holds_and_is_recomputed_exactly():
    """rmatvec_bounded's bound covers the single-precision copy and the deflation terms
    known to single precision only; columns() recomputes those terms exactly."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((300, 400)) * rng.uniform(0.1, 10.0, 400) + 5.0
    mean = X.mean(0)
    op = tp._DataOperator(X, mean=mean, colsq=np.einsum("ij,ij->j", X, X), fast=True)
    assert op.Xf.dtype == np.float32
    loadings = []
    for c in range(3):
        x = np.zeros(400)
        S = rng.choice(400, 6, replace=False)
        x[S] = rng.standard_normal(6)
        x /= np.linalg.norm(x)
        g, e, z = tp._certificate_product(op, x)
        exact = _deflated_by_hand(X, loadings)
        np.testing.assert_allclose(z, exact @ x, rtol=1e-10, atol=1e-10 * np.abs(z).max())
        truth = exact.T @ z
        assert np.all(np.abs(g - truth) <= e + 1e-9 * np.abs(truth).max())
        np.testing.assert_allclose(g[S], truth[S], rtol=1e-10)  # exact on the support
        assert np.all(e[S] == 0)
        if c:  # later terms carry single-precision error somewhere
            assert e.max() > 0
        op.deflate(x, "schur", [], (z, g, e))
        loadings.append(x)
    assert any(err is not None for err in op._Berr)
    exact = _deflated_by_hand(X, loadings)
    idx = rng.choice(400, 25, replace=False)
    np.testing.assert_allclose(op.columns(idx), exact[:, idx], atol=1e-9 * np.abs(exact).max())
    np.testing.assert_allclose(op.restricted(idx), exact[:, idx].T @ exact[:, idx] / 299,
                               rtol=1e-9, atol=1e-9)
    # the whole operator made exact on demand (dense products)
    w = rng.standard_normal(400)
    np.testing.assert_allclose(op.matmat(w), exact @ w, rtol=1e-9, atol=1e-8)
    assert all(err is None for err in op._Berr)


@pytest.mark.parametrize("fast", [False, True])
def test_working_set_full_product_equals_the_operator_product(fast):
    """The first stage's check product A x (x on the working set), from the gathered
    columns and one product with the data, equals the operator's product."""
    X, _ = _spiked_several(200, 500, 5, (6.0,), seed=9)
    op = tp._DataOperator(X, mean=X.mean(0), colsq=np.einsum("ij,ij->j", X, X), fast=fast)
    x0 = np.zeros(500)
    x0[:5] = 1 / np.sqrt(5)
    op.deflate(x0, "schur", [])  # a low-rank term beside the centring
    C = np.arange(3, 120)
    sub = tp._ColumnSubset(op, C)
    xc = np.random.default_rng(0).standard_normal(C.size)
    expected = _deflated_by_hand(X, [x0]).T @ (_deflated_by_hand(X, [x0]) @ sub.embed(xc)) / 199
    rtol = 1e-4 if fast else 1e-10
    np.testing.assert_allclose(sub.full_matvec(xc), expected, atol=rtol * np.abs(expected).max())


def test_support_column_cache_stays_bounded(monkeypatch):
    monkeypatch.setattr(tp, "_COLUMN_CACHE_BYTES", 64 * 50 * 8 * 3)
    X = np.random.default_rng(3).standard_normal((50, 200))
    op = tp._DataOperator(X, mean=X.mean(0))
    for start in range(0, 190, 10):
        idx = np.arange(start, start + 8)
        np.testing.assert_array_equal(op.columns(idx), (X - X.mean(0))[:, idx])
        assert sum(v.nbytes for v in op._cache.values()) <= tp._COLUMN_CACHE_BYTES


def test_next_working_set_is_gathered_during_the_check_pass(monkeypatch):
    """Components after the first take their working set's columns gathered during
    the previous component's check product; the components are unchanged."""
    X, V = _spiked_several(400, 1200, 10, (8.0, 7.0, 6.0), seed=1)
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 1 << 60)
    full = TruncatedPowerPCA(n_components=3, k=10).fit(X)
    monkeypatch.setattr(tp, "_SCREEN_MIN_SIZE", 0)
    real_init = tp._ColumnSubset.__init__
    pregathered = []

    def init(self, op, C, Xc=None):
        pregathered.append(Xc is not None)
        if Xc is not None:  # the columns handed over are those of the data
            np.testing.assert_array_equal(Xc, np.take(op.Xf, C, axis=1))
        real_init(self, op, C, Xc)

    monkeypatch.setattr(tp._ColumnSubset, "__init__", init)
    est = TruncatedPowerPCA(n_components=3, k=10).fit(X)
    assert pregathered[0] is False and sum(pregathered) >= 1
    np.testing.assert_allclose(est.components_, full.components_, atol=1e-10)


# --- half-precision copy of the Lanczos start (CPUs with AVX-512) -----------------------

_half = pytest.mark.skipif(not tp._half_supported(), reason="CPU without AVX-512 F/BW/VL")


@_half
@settings(max_examples=20)
@given(n=st.integers(1, 19), p=st.integers(1, 53), seed=st.integers(0, 1000))
def test_half_copy_rounds_as_numpy(n, p, seed):
    from sparsecode._ext._tpower import half_copy

    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, p)) * 10.0 ** rng.uniform(-3, 2, p)).astype(np.float32)
    mean = X.mean(0)
    scale = np.exp2(rng.integers(-4, 6, p)).astype(np.float32)
    X_before = X.copy()
    H = np.empty((n, p), dtype=np.uint16)
    half_copy(X, mean, scale, H)
    ref = ((X - mean) * scale).astype(np.float16)  # round to nearest even, subnormals kept
    np.testing.assert_array_equal(H.view(np.float16), ref)
    np.testing.assert_array_equal(X, X_before)


@_half
@settings(max_examples=20)
@given(n=st.integers(1, 29), p=st.integers(1, 53), seed=st.integers(0, 1000))
def test_half_gram_matvec_is_two_products(n, p, seed):
    from sparsecode._ext._tpower import half_gram_matvec

    rng = np.random.default_rng(seed)
    H16 = rng.standard_normal((n, p)).astype(np.float16)
    H = H16.view(np.uint16)
    v = rng.standard_normal(p).astype(np.float32)
    shift = float(rng.standard_normal())
    y, z = np.empty(n, np.float32), np.empty(p, np.float32)
    half_gram_matvec(H, v, shift, y, z)
    Hd = H16.astype(np.float64)
    y_ref = Hd @ v + np.float32(shift)
    z_ref = Hd.T @ y.astype(np.float64)  # the second product of the y computed
    # single-precision accumulation: |error| <= (length) 2^-24 sum |terms| (+ slack)
    tol_y = 2.0 * (p + 1) * 2.0 ** -24 * (np.abs(Hd) @ np.abs(v) + abs(shift)) + 1e-30
    tol_z = 2.0 * n * 2.0 ** -24 * (np.abs(Hd).T @ np.abs(y.astype(np.float64))) + 1e-30
    assert np.all(np.abs(y - y_ref) <= tol_y)
    assert np.all(np.abs(z - z_ref) <= tol_z)


@_half
def test_half_start_copy_scales_columns_by_powers_of_two(monkeypatch):
    monkeypatch.setattr(tp, "_FAST_MIN_SIZE", 0)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((50, 40)) * 10.0 ** rng.uniform(-4, 4, 40) + 7.0
    X[:, 5] = 3.25  # zero variance
    _, colsq, Xf, _ = tp._column_stats(X, True)
    mean = X.mean(0)
    op = tp._DataOperator(X, mean=mean, colsq=colsq, fast=True, Xf=Xf)
    H, inv, d = op.half_start()
    assert np.abs(d).max() <= 1e-6 * np.abs(X).max()  # centred at the (float32) mean
    Hd = H.view(np.float16).astype(np.float64)
    assert np.all(np.abs(Hd) <= 2.0 ** 14)  # centred column norms mapped to <= 2^14
    assert np.all(Hd[:, 5] == 0)
    scale = np.divide(1.0, inv, out=np.zeros(40), where=inv > 0)
    assert np.all(np.log2(scale[inv > 0]) == np.round(np.log2(scale[inv > 0])))
    # every entry to float16's relative precision (and the float32 centring)
    Xc = X - mean
    err = np.abs(Hd * inv - Xc)
    assert np.all(err <= 2.0 ** -11 * np.abs(Xc) + 1e-6 * np.abs(X) + 2.0 ** -24 * inv)
    op.deflate(np.eye(40)[0], "schur", [])  # after a deflation the start does not apply
    assert op.half_start() is None


@_half
def test_lanczos_start_through_the_half_copy(monkeypatch):
    """The start's Ritz pairs have residuals within the tolerance plus the float16
    perturbation of the operator, ||A16 - A|| <= (2 e ||X||_2 ||X||_F + e^2 ||X||_F^2) / (n - 1),
    e = 2^-11 (plus single-precision accumulation), and the fit ends at the same components."""
    monkeypatch.setattr(tp, "_FAST_MIN_SIZE", 0)
    X, _ = _spiked_several(400, 600, 10, (20.0, 12.0, 7.0), seed=1)
    assert not tp._exact_start_available(tp._DataOperator(X))  # the fit starts from Lanczos
    sums, colsq, Xf, half = tp._column_stats(X, True)
    assert half is not None  # made in the statistics pass
    op = tp._DataOperator(X, mean=sums / 400, colsq=colsq, fast=True, Xf=Xf, half=half)
    W, XW, _ = tp._start_subspace(op, 3)
    np.testing.assert_allclose(W.T @ W, np.eye(W.shape[1]), atol=1e-10)
    A = _covariance(X)
    _, sv, Vt = np.linalg.svd(XW, full_matrices=False)
    ritz = W @ Vt[:3].T
    theta = sv[:3] ** 2 / 399
    Xc = X - X.mean(0)
    e = 2.0 ** -11 + 4e-6
    n2, nf = np.linalg.norm(Xc, 2), np.linalg.norm(Xc)
    pert = (2 * e * n2 * nf + e * e * nf * nf) / 399
    residuals = np.linalg.norm(A @ ritz - ritz * theta, axis=0)
    assert np.all(residuals <= tp._LANCZOS_TOL * theta[0] * (1 + 1e-6) + 2 * pert)
    half = TruncatedPowerPCA(n_components=3, k=10).fit(X)
    monkeypatch.setattr(tp, "_half_supported", lambda: False)
    single = TruncatedPowerPCA(n_components=3, k=10).fit(X)
    np.testing.assert_allclose(half.components_, single.components_, atol=1e-10)


@_half
def test_statistics_pass_makes_the_half_copy_or_declines(monkeypatch):
    """The half copy from the statistics pass (centre and scales from the first rows)
    represents the centred data to float16's precision; where the first rows misjudge a
    column it is declined and the start makes it from the single-precision copy."""
    from sparsecode._ext._tpower import column_stats_half

    rng = np.random.default_rng(4)
    X = rng.standard_normal((300, 70)) * 10.0 ** rng.uniform(-3, 3, 70) + 5.0
    sums, sumsq, Xf, half = tp._column_stats(X, True)
    np.testing.assert_allclose(sums, X.sum(0), rtol=1e-12, atol=1e-9 * np.abs(X).max())
    np.testing.assert_allclose(sumsq, (X ** 2).sum(0), rtol=1e-12)
    np.testing.assert_array_equal(Xf, X.astype(np.float32))
    assert half is not None
    H, c, s = half
    np.testing.assert_array_equal(H.view(np.float16), ((Xf - c) * s).astype(np.float16))
    op = tp._DataOperator(X, mean=sums / 300, colsq=sumsq, fast=True, Xf=Xf, half=half)
    Hh, inv, d = op.half_start()
    Xc = X - X.mean(0)
    approx = Hh.view(np.float16).astype(np.float64) * inv + d
    assert np.all(np.abs(approx - Xc) <= 2.0 ** -11 * np.abs(Xc - d) + 1e-6 * np.abs(X)
                  + 2.0 ** -24 * inv)
    q = rng.standard_normal(70)
    y, z = op.half_gram_matvec((Hh, inv, d), q)
    assert np.all(np.abs(y - Xc @ q) <= 3e-3 * np.abs(Xc) @ np.abs(q))
    assert np.all(np.abs(z - Xc.T @ (Xc @ q)) <= 6e-3 * np.abs(Xc).T @ (np.abs(Xc) @ np.abs(q)))
    # first 64 rows constant in one column, or far smaller than the rest: declined
    for bad in (np.r_[np.zeros(64), rng.standard_normal(236)],
                np.r_[1e-6 * rng.standard_normal(64), 1e3 * rng.standard_normal(236)],
                np.r_[rng.standard_normal(64), 1e3 + rng.standard_normal(236)]):
        Xb = X.copy()
        Xb[:, 3] = bad
        assert tp._column_stats(Xb, True)[3] is None
    # and the copy made from the single-precision copy instead is exact-centred
    opb = tp._DataOperator(Xb, mean=Xb.mean(0), colsq=(Xb ** 2).sum(0), fast=True,
                           Xf=Xb.astype(np.float32))
    H2, inv2, d2 = opb.half_start()
    assert np.all(np.abs(H2.view(np.float16).astype(np.float64)) <= 2.0 ** 14)
    H3 = np.empty_like(H2)
    big = column_stats_half(Xb, np.empty(70), np.empty(70), np.empty((300, 70), np.float32),
                            Xb.mean(0).astype(np.float32),
                            np.divide(1.0, inv2, out=np.zeros(70), where=inv2 > 0).astype(
                                np.float32), H3)
    np.testing.assert_array_equal(H3, H2)  # the two makers of the copy agree
    assert big <= 2.0 ** 14
