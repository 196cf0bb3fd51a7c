"""EM-SBL, M-SBL and T-MSBL against a plain dense reference implementation."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode import MSBL, SBL, TSBL, sbl, sparse_encode
from sparsecode._base import ConvergenceWarning


def ref_posterior(A, Y, gam, s2):
    """Dense textbook posterior: explicit inverse of Sigma_y (small problems only)."""
    m = A.shape[0]
    Sy = s2 * np.eye(m) + (A * gam) @ A.conj().T
    Si = np.linalg.inv(Sy)
    mu = gam[:, None] * (A.conj().T @ Si @ Y)
    d = gam - gam ** 2 * np.real(np.einsum("ij,ik,kj->j", A.conj(), Si, A))
    L = Y.shape[1]
    cost = L * np.linalg.slogdet(Sy)[1] + np.real(np.trace(Y.conj().T @ Si @ Y))
    return mu, d, cost, Si


def ref_em_sbl(A, Y, s2, n_iter, learn_noise=False, shared=False):
    """Plain EM-SBL / M-SBL (Wipf & Rao): n_iter M-steps from gamma = 1."""
    m, N = A.shape
    gam = np.ones(N)
    for _ in range(n_iter):
        mu, d, _, Si = ref_posterior(A, Y, gam, s2)
        rho = gam * np.real(np.einsum("ij,ik,kj->j", A.conj(), Si, A))
        L = Y.shape[1]
        new = np.sum(np.abs(mu) ** 2, axis=1) / L + d
        if learn_noise:
            s2 = (np.linalg.norm(Y - A @ mu) ** 2 / L + s2 * np.sum(rho)) / m
        gam = new
    mu, d, _, _ = ref_posterior(A, Y, gam, s2)
    return mu, gam, d, s2


def problem(m, N, k, seed, snr_db=40.0, complex_=False, L=1):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = (A + 1j * rng.standard_normal((m, N))) / np.sqrt(2)
    A /= np.sqrt(m)
    X = np.zeros((N, L), dtype=A.dtype)
    S = np.sort(rng.choice(N, k, replace=False))
    # amplitudes bounded away from 0 (|x| >= 0.5) so that "exact support" is well posed
    mag = 0.5 + np.abs(rng.standard_normal((k, L)))
    phase = np.exp(2j * np.pi * rng.random((k, L))) if complex_ else rng.choice([-1.0, 1.0], (k, L))
    X[S] = mag * phase
    Y0 = A @ X
    s2 = np.sum(np.abs(Y0) ** 2) / Y0.size / 10 ** (snr_db / 10)
    noise = rng.standard_normal(Y0.shape)
    if complex_:
        noise = (noise + 1j * rng.standard_normal(Y0.shape)) / np.sqrt(2)
    return A, X, S, Y0 + np.sqrt(s2) * noise, s2


@pytest.mark.parametrize("shape", [(20, 50), (40, 25)])  # m-space and K-space E-steps
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("learn_noise", [False, True])
def test_em_iterates_match_dense_reference(shape, complex_, learn_noise):
    m, N = shape
    A, X, S, Y, s2 = problem(m, N, 4, 0, complex_=complex_)
    y = Y[:, 0]
    n = 7
    mu, gam, d, s2_ref = ref_em_sbl(A, Y, s2, n, learn_noise=learn_noise)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SBL(noise_variance=s2, learn_noise=learn_noise, prune=0.0, tol=0.0,
                  max_iter=n + 1).fit(A, y)
    np.testing.assert_allclose(est.gamma_, gam, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(est.coef_, mu[:, 0], rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(est.posterior_variance_, d, rtol=1e-5, atol=1e-9 * gam.max())
    assert est.noise_variance_ == pytest.approx(s2_ref, rel=1e-8)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("layout", ["C", "F", "strided"])
def test_mspace_estep_any_layout_matches_dense_reference(complex_, layout):
    """The m-space E-step (syrk/herk + trtrs on a Fortran view of A^T) gives the
    textbook posterior whatever the memory layout of the active columns."""
    from sparsecode.bayes._em import _estep_single

    A, X, S, Y, s2 = problem(15, 40, 3, 5, complex_=complex_)
    gam = np.random.default_rng(1).random(40) + 0.1
    if layout == "C":
        A_K = np.ascontiguousarray(A)
    elif layout == "F":
        A_K = np.asfortranarray(A)
    else:
        A_K = np.ascontiguousarray(np.repeat(A, 2, axis=1))[:, ::2]
    A_K0 = A_K.copy()
    mu, d, rho, logdet, quad = _estep_single(A_K, None, gam, s2, Y, A.conj().T @ Y,
                                             float(np.sum(np.abs(Y) ** 2)))
    mu_r, d_r, cost, Si = ref_posterior(A, Y, gam, s2)
    np.testing.assert_allclose(mu, mu_r, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d, d_r, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(rho, 1.0 - d_r / gam, rtol=1e-8, atol=1e-10)
    assert logdet + quad == pytest.approx(cost, rel=1e-10)
    np.testing.assert_array_equal(A_K, A_K0)  # inputs untouched


def test_mspace_estep_reused_buffers_match_dense_reference():
    """The buffers kept in ``work`` across calls (active set shrinking, then a
    complex problem and another m) never leak values between calls."""
    from sparsecode.bayes._em import _estep_single

    work = {}
    rng = np.random.default_rng(3)
    for m, N, cplx, cols in [(15, 40, False, slice(None)), (15, 40, False, slice(3, 30)),
                             (15, 40, True, slice(None)), (12, 30, False, slice(None)),
                             (12, 30, False, slice(0, 20))]:
        A, X, S, Y, s2 = problem(m, N, 3, m + N, complex_=cplx)
        A = A[:, cols]
        gam = rng.random(A.shape[1]) + 0.1
        A_K = np.ascontiguousarray(A.T).T
        mu, d, rho, logdet, quad = _estep_single(A_K, None, gam, s2, Y, A.conj().T @ Y,
                                                 float(np.sum(np.abs(Y) ** 2)), work)
        mu_r, d_r, cost, _ = ref_posterior(A, Y, gam, s2)
        np.testing.assert_allclose(mu, mu_r, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(d, d_r, rtol=1e-8, atol=1e-12)
        assert logdet + quad == pytest.approx(cost, rel=1e-10)


@pytest.mark.parametrize("order", ["C", "F"])
def test_sbl_same_result_for_c_and_fortran_input(order):
    """Pruning (auto) path: the row-major copy of A^T makes the result
    independent of the layout of X (up to round-off of the products)."""
    A, X, S, Y, s2 = problem(30, 90, 4, 6)
    ref = SBL().fit(np.ascontiguousarray(A), Y[:, 0])
    est = SBL().fit(np.asarray(A, order=order), Y[:, 0])
    assert ref.n_iter_ == est.n_iter_
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.gamma_, ref.gamma_, rtol=1e-12, atol=1e-14)
    assert set(np.flatnonzero(est.coef_)) >= set(S)


@pytest.mark.parametrize("shape", [(20, 50), (40, 25)])
def test_fixed_point_is_exact_posterior(shape):
    """At convergence coef_/posterior_variance_ are the exact posterior of gamma_."""
    A, X, S, Y, s2 = problem(*shape, 4, 1)
    est = SBL(noise_variance=s2, update="mackay", tol=1e-10, max_iter=3000).fit(A, Y[:, 0])
    mu, d, cost, _ = ref_posterior(A, Y, est.gamma_, s2)
    np.testing.assert_allclose(est.coef_, mu[:, 0], rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(est.posterior_variance_, d, rtol=1e-5, atol=1e-12)
    assert est.objective_[-1] == pytest.approx(cost, rel=1e-9)
    # MacKay fixed point: gamma_i (1 - d_i / gamma_i) = mu_i^2 on the active set
    act = est.gamma_ > 1e-6 * est.gamma_.max()
    np.testing.assert_allclose(est.gamma_[act] - est.posterior_variance_[act],
                               est.coef_[act] ** 2, rtol=1e-3)


@pytest.mark.parametrize("learn_noise", [False, True])
@pytest.mark.parametrize("shape", [(25, 60), (60, 30)])
def test_em_cost_decreases_monotonically(learn_noise, shape):
    A, X, S, Y, s2 = problem(*shape, 5, 2, snr_db=25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = SBL(noise_variance=s2, learn_noise=learn_noise, update="em", prune=0.0,
                  max_iter=150).fit(A, Y[:, 0])
    obj = est.objective_
    assert obj.size > 10
    assert np.all(np.diff(obj) <= 1e-9 * np.abs(obj[:-1]) + 1e-10)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), complex_=st.booleans())
def test_exact_support_at_high_snr(seed, complex_):
    A, X, S, Y, s2 = problem(40, 100, 5, seed, snr_db=60, complex_=complex_)
    est = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    c = np.abs(est.coef_)
    assert np.flatnonzero(c > 1e-2 * c.max()).tolist() == S.tolist()
    nmse = np.sum(np.abs(est.coef_ - X[:, 0]) ** 2) / np.sum(np.abs(X) ** 2)
    assert nmse < 1e-4


def test_batch_equals_one_by_one_and_functional():
    A, X, S, Y, s2 = problem(30, 60, 4, 3, L=5)
    est = SBL(noise_variance=s2, update="mackay").fit(A, Y)
    assert est.coef_.shape == (5, 60) and est.gamma_.shape == (5, 60)
    for j in range(5):
        one = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, j])
        np.testing.assert_allclose(est.coef_[j], one.coef_, rtol=1e-10, atol=1e-12)
        assert est.n_iter_[j] == one.n_iter_
    res = sbl(A, Y, noise_variance=s2, update="mackay")
    np.testing.assert_allclose(res.coef, est.coef_.T)
    codes = sparse_encode(Y.T, A.T, algorithm="sbl", noise_variance=s2, update="mackay")
    np.testing.assert_allclose(codes, est.coef_, rtol=1e-10, atol=1e-12)


def test_float32_in_float32_out_and_input_untouched():
    A, X, S, Y, s2 = problem(30, 60, 4, 4)
    A32, y32 = A.astype(np.float32), Y[:, 0].astype(np.float32)
    A0, y0 = A32.copy(), y32.copy()
    est = SBL(noise_variance=s2, update="mackay").fit(A32, y32)
    assert est.coef_.dtype == np.float32
    np.testing.assert_array_equal(A32, A0)
    np.testing.assert_array_equal(y32, y0)
    ref = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-4)


def test_learned_noise_is_reasonable_at_moderate_snr():
    A, X, S, Y, s2 = problem(80, 120, 5, 5, snr_db=15)
    est = SBL(update="mackay").fit(A, Y[:, 0])
    assert 0.1 < est.noise_variance_ / s2 < 3  # SBL's noise estimate is biased low


def test_convergence_warning_reports_figure():
    A, X, S, Y, s2 = problem(30, 60, 4, 6)
    with pytest.warns(ConvergenceWarning, match=r"relative change of the posterior mean reached"):
        SBL(noise_variance=s2, max_iter=3).fit(A, Y[:, 0])


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_bad_noise_variance(bad):
    A, X, S, Y, s2 = problem(20, 30, 2, 0)
    for est in (SBL(noise_variance=bad), MSBL(noise_variance=bad), TSBL(noise_variance=bad)):
        with pytest.raises(ValueError, match="noise_variance"):
            est.fit(A, Y)
    with pytest.raises(ValueError, match="noise_variance"):
        sbl(A, Y, noise_variance=bad)


def test_bad_shapes_and_values():
    A, X, S, Y, s2 = problem(20, 30, 2, 0, L=3)
    for est in (SBL(), MSBL(), TSBL()):
        with pytest.raises(ValueError, match="inconsistent numbers of samples|rows"):
            est.fit(A, Y[:-1])
    Abad = A.copy()
    Abad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        SBL().fit(Abad, Y[:, 0])
    with pytest.raises(ValueError, match="update"):
        SBL(update="fast").fit(A, Y[:, 0])
    with pytest.raises(ValueError, match="y"):
        sbl(A, Y[:-2])


# ----------------------------------------------------------------------------- MMV
def test_msbl_matches_dense_reference():
    A, X, S, Y, s2 = problem(20, 40, 3, 7, L=4)
    n = 6
    mu, gam, d, _ = ref_em_sbl(A, Y, s2, n, shared=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MSBL(noise_variance=s2, prune=0.0, tol=0.0, max_iter=n + 1).fit(A, Y)
    np.testing.assert_allclose(est.gamma_, gam, rtol=1e-8)
    np.testing.assert_allclose(est.coef_, mu.T, rtol=1e-7, atol=1e-10)


def test_msbl_one_snapshot_is_sbl():
    A, X, S, Y, s2 = problem(25, 50, 3, 8)
    a = MSBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    b = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    np.testing.assert_allclose(a.coef_, b.coef_, rtol=1e-12, atol=1e-14)


def test_msbl_more_snapshots_help():
    """Joint sparsity: support recovery improves with L (Wipf & Rao 2007)."""
    hits = {1: 0, 8: 0}
    for seed in range(8):
        for L in hits:
            A, X, S, Y, s2 = problem(14, 40, 6, 100 + seed, snr_db=30, L=L)
            est = MSBL(noise_variance=s2, update="mackay").fit(A, Y)
            top = np.sort(np.argsort(est.gamma_)[::-1][:6])
            hits[L] += top.tolist() == S.tolist()
    assert hits[8] >= hits[1] + 3


def test_tsbl_correlated_sources():
    rng = np.random.default_rng(9)
    m, N, k, L, beta = 25, 60, 4, 8, 0.9
    A = rng.standard_normal((m, N)) / np.sqrt(m)
    S = np.sort(rng.choice(N, k, replace=False))
    Z = np.zeros((k, L))
    Z[:, 0] = rng.standard_normal(k)
    for t in range(1, L):
        Z[:, t] = beta * Z[:, t - 1] + np.sqrt(1 - beta ** 2) * rng.standard_normal(k)
    X = np.zeros((N, L))
    X[S] = Z
    Y = A @ X + 1e-3 * rng.standard_normal((m, L))
    est = TSBL(noise_variance=1e-6).fit(A, Y)
    assert np.flatnonzero(est.gamma_ > 1e-3 * est.gamma_.max()).tolist() == S.tolist()
    assert est.beta_ > 0.3  # a positive temporal correlation is detected
    B = est.correlation_
    np.testing.assert_allclose(B, est.beta_ ** np.abs(np.subtract.outer(np.arange(L), np.arange(L))))
    nmse = np.sum((est.coef_.T - X) ** 2) / np.sum(X ** 2)
    assert nmse < 1e-3


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), complex_=st.booleans())
def test_invariances(seed, complex_):
    """Permuting atoms permutes the estimate; a unitary change of the
    measurement basis (y, A) -> (Qy, QA) leaves the posterior unchanged."""
    A, X, S, Y, s2 = problem(25, 50, 4, seed, snr_db=30, complex_=complex_)
    y = Y[:, 0]
    rng = np.random.default_rng(seed)
    ref = SBL(noise_variance=s2, update="mackay").fit(A, y)
    perm = rng.permutation(50)
    p = SBL(noise_variance=s2, update="mackay").fit(A[:, perm], y)
    np.testing.assert_allclose(p.coef_, ref.coef_[perm], rtol=1e-6, atol=1e-9)
    Q, _ = np.linalg.qr(rng.standard_normal((25, 25)))
    q = SBL(noise_variance=s2, update="mackay").fit(Q @ A, Q @ y)
    np.testing.assert_allclose(q.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(q.gamma_, ref.gamma_, rtol=1e-6, atol=1e-12)
