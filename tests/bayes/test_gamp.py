"""GGAMP-SBL and GGAMP-TSBL: GAMP fixed points, agreement with EM-SBL, operators, errors."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.linalg import aslinearoperator

from sparsecode import GGAMPSBL, GGAMPTSBL, SBL, auto_damping, ggamp_sbl, sparse_encode
from sparsecode._base import ConvergenceWarning
from sparsecode.bayes._gamp import _Sq, gamp_estep
from sparsecode.bayes._tsbl_gamp import ar1_smoother

from .test_sbl import problem, ref_posterior


def ill_conditioned(m, N, kappa, seed):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((N, m)))
    A = U @ np.diag(np.geomspace(1, 1 / kappa, m)) @ V.T
    return A * np.sqrt(N / np.sum(A ** 2))


@pytest.mark.parametrize("operator", [False, True])
@pytest.mark.parametrize("complex_", [False, True])
def test_gamp_fixed_point_is_the_exact_posterior_mean(operator, complex_):
    """For a Gaussian prior the damped GAMP fixed point is the LMMSE mean (spec 5.2)."""
    A, X, S, Y, s2 = problem(30, 60, 4, 11, complex_=complex_)
    rng = np.random.default_rng(0)
    gam = 0.1 + rng.random(60)
    Aop = aslinearoperator(A) if operator else A
    Sq = _Sq(Aop, "auto", float(np.sum(np.abs(A) ** 2)))
    state = dict(x=np.zeros((60, 1), dtype=A.dtype), s=np.zeros((30, 1), dtype=A.dtype),
                 tx=np.ones((60, 1)))

    def denoise(r, tr):
        g = gam[:, None]
        return g * r / (g + tr), g * tr / (g + tr)

    k, delta, diverged, _, _ = gamp_estep(Aop, Sq, Y, np.array([s2]), state, denoise, 0.5,
                                          5000, 1e-12)
    assert not diverged and delta < 1e-12
    mu, _, _, _ = ref_posterior(A, Y, gam, s2)
    np.testing.assert_allclose(state["x"], mu, rtol=1e-7, atol=1e-9)


def test_auto_damping_matches_spec_values():
    # spec 5.2: about 0.59 at kappa = 1e2 and 0.44 at kappa = 1e4 (100 x 200)
    assert auto_damping(ill_conditioned(100, 200, 1e2, 0)) == pytest.approx(0.59, abs=0.01)
    assert auto_damping(ill_conditioned(100, 200, 1e4, 0)) == pytest.approx(0.44, abs=0.01)
    assert auto_damping(ill_conditioned(100, 200, 1, 0)) == 1.0


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_ggamp_matches_em_sbl_on_well_conditioned_A(seed):
    A, X, S, Y, s2 = problem(60, 120, 6, seed, snr_db=50)
    em = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    gg = GGAMPSBL(noise_variance=s2, update="mackay", tol=1e-7).fit(A, Y[:, 0])
    diff = np.sum((gg.coef_ - em.coef_) ** 2) / np.sum(em.coef_ ** 2)
    assert diff < 1e-4
    c = np.abs(gg.coef_)
    assert np.flatnonzero(c > 1e-2 * c.max()).tolist() == S.tolist()


def test_ggamp_robust_to_ill_conditioning():
    """Spec R4 (smaller): at kappa = 1e3 GGAMP-SBL is no more than 3 dB worse than EM-SBL."""
    rng = np.random.default_rng(3)
    m, N, k = 60, 120, 10
    A = ill_conditioned(m, N, 1e3, 3)
    x = np.zeros(N)
    x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 1e6
    y = y0 + np.sqrt(s2) * rng.standard_normal(m)
    em = SBL(noise_variance=s2, tol=1e-5).fit(A, y)
    gg = GGAMPSBL(noise_variance=s2, tol=1e-5).fit(A, y)
    assert gg.damping_ < 0.8  # the automatic damping reacts to the conditioning
    nmse = lambda c: 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))  # noqa: E731
    assert nmse(gg.coef_) <= nmse(em.coef_) + 3.0
    assert nmse(gg.coef_) < -35


@pytest.mark.parametrize("kind", ["dense", "sparse", "operator"])
def test_operators_give_the_same_estimate(kind):
    A, X, S, Y, s2 = problem(40, 80, 4, 12, snr_db=50)
    ref = ggamp_sbl(A, Y[:, 0], noise_variance=s2, update="mackay")
    Aop = {"dense": A, "sparse": csr_matrix(A), "operator": aslinearoperator(A)}[kind]
    res = ggamp_sbl(Aop, Y[:, 0], noise_variance=s2, update="mackay")
    # the operator path uses scalar variances (spec 5.2): same estimate up to the M-step
    assert np.sum((res.coef - ref.coef) ** 2) / np.sum(ref.coef ** 2) < 1e-4
    assert np.flatnonzero(np.abs(res.coef) > 1e-2).tolist() == S.tolist()


def test_operator_from_operators_family():
    """A KroneckerOperator gives the same GGAMP-SBL run as the dense Kronecker matrix."""
    ops = pytest.importorskip("sparsecode.operators")
    rng = np.random.default_rng(1)
    A1, A2 = rng.standard_normal((8, 12)) / 3, rng.standard_normal((9, 12)) / 3
    x = np.zeros(144)
    x[[5, 70, 130]] = [1.0, -1.0, 2.0]
    y = np.kron(A1, A2) @ x
    a = ggamp_sbl(ops.KroneckerOperator([A1, A2]), y, noise_variance=1e-8, max_iter=30)
    b = ggamp_sbl(aslinearoperator(np.kron(A1, A2)), y, noise_variance=1e-8, max_iter=30)
    np.testing.assert_allclose(a.coef, b.coef, rtol=1e-6, atol=1e-9)
    assert a.n_iter == b.n_iter


def test_complex_and_float32():
    A, X, S, Y, s2 = problem(40, 80, 4, 13, complex_=True, snr_db=50)
    est = GGAMPSBL(noise_variance=s2).fit(A.astype(np.complex64), Y[:, 0].astype(np.complex64))
    assert est.coef_.dtype == np.complex64
    assert np.flatnonzero(np.abs(est.coef_) > 1e-2).tolist() == S.tolist()
    A, X, S, Y, s2 = problem(40, 80, 4, 13, snr_db=50)
    est = GGAMPSBL(noise_variance=s2).fit(A.astype(np.float32), Y[:, 0].astype(np.float32))
    assert est.coef_.dtype == np.float32


def test_multi_target_and_encoder():
    A, X, S, Y, s2 = problem(40, 80, 3, 14, L=3, snr_db=50)
    est = GGAMPSBL(noise_variance=s2).fit(A, Y)
    assert est.coef_.shape == (3, 80)
    codes = sparse_encode(Y.T, A.T, algorithm="ggamp_sbl", noise_variance=s2)
    np.testing.assert_allclose(codes, est.coef_, rtol=1e-10, atol=1e-12)
    assert np.sum((est.coef_ - X.T) ** 2) / np.sum(X ** 2) < 1e-3


def test_divergence_is_detected_and_reported():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 100)) / np.sqrt(50) + 2.0  # non-zero mean: plain GAMP diverges
    x = np.zeros(100)
    x[[3, 30, 60]] = 1.0
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est = GGAMPSBL(noise_variance=1e-6, damping=1.0, max_iter=20,
                       e_step="gamp").fit(A, A @ x)
    assert np.all(np.isfinite(est.coef_)) and not est.converged_
    assert est.e_step_ == "gamp"


def test_far_from_iid_matrix_gets_the_exact_estep():
    """e_step="auto": a matrix whose spectrum is far from i.i.d. (here a
    non-zero mean: ||A||_2^2 min(m, N) / ||A||_F^2 = 50 > 12) is solved
    with the exact E-step, where plain GAMP diverges (above); the answer
    is SBL's."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 100)) / np.sqrt(50) + 2.0
    x = np.zeros(100)
    x[[3, 30, 60]] = 1.0
    est = GGAMPSBL(noise_variance=1e-6, damping=1.0).fit(A, A @ x)
    assert est.e_step_ == "exact" and est.converged_
    np.testing.assert_allclose(est.coef_, x, atol=1e-3)
    ref = SBL(noise_variance=1e-6, tol=1e-6).fit(A, A @ x)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6, atol=1e-9)
    # a Gaussian matrix keeps the GAMP E-step
    G = rng.standard_normal((50, 100))
    assert GGAMPSBL(noise_variance=1e-6).fit(G, G @ x).e_step_ == "gamp"


def test_convergence_warning_with_figure():
    A, X, S, Y, s2 = problem(30, 60, 3, 15)
    with pytest.warns(ConvergenceWarning, match="relative change of gamma reached"):
        GGAMPSBL(noise_variance=s2, max_iter=2).fit(A, Y[:, 0])


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.5, "fast"])
def test_bad_damping(bad):
    A, X, S, Y, s2 = problem(20, 30, 2, 0)
    for est in (GGAMPSBL(damping=bad), GGAMPTSBL(damping=bad)):
        with pytest.raises(ValueError, match="damping"):
            est.fit(A, Y)
    with pytest.raises(ValueError, match="damping"):
        ggamp_sbl(A, Y, damping=bad)


def test_bad_noise_variance_and_shapes():
    A, X, S, Y, s2 = problem(20, 30, 2, 0, L=2)
    for est in (GGAMPSBL(noise_variance=0.0), GGAMPTSBL(noise_variance=-1.0)):
        with pytest.raises(ValueError, match="noise_variance"):
            est.fit(A, Y)
    with pytest.raises(ValueError, match="rows|inconsistent"):
        GGAMPTSBL().fit(A, Y[:-3])
    with pytest.raises(ValueError, match="y has"):
        ggamp_sbl(aslinearoperator(A), Y[:-1])
    with pytest.raises(ValueError, match="LinearOperator"):
        ggamp_sbl(aslinearoperator(A), Y, variances="vector")


# ----------------------------------------------------------------- GGAMP-TSBL
def test_ar1_smoother_matches_dense_gaussian_posterior():
    rng = np.random.default_rng(2)
    N, T, beta = 3, 6, 0.7
    gam = np.array([0.5, 2.0, 1.0])
    r = rng.standard_normal((N, T))
    tr = 0.1 + rng.random((N, T))
    ms, Ps, C = ar1_smoother(r, tr, gam, beta)
    k = np.arange(T)
    for n in range(N):
        P = gam[n] * beta ** np.abs(np.subtract.outer(k, k))  # AR(1) prior covariance
        Sig = np.linalg.inv(np.linalg.inv(P) + np.diag(1 / tr[n]))
        mean = Sig @ (r[n] / tr[n])
        np.testing.assert_allclose(ms[n], mean, rtol=1e-10)
        np.testing.assert_allclose(Ps[n], np.diag(Sig), rtol=1e-10)
        np.testing.assert_allclose(C[n], np.diag(Sig, -1), rtol=1e-9)


def _ar1_problem(beta, seed, m=40, N=80, k=4, T=10, kappa=None):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N)) / np.sqrt(m) if kappa is None else \
        ill_conditioned(m, N, kappa, seed)
    S = np.sort(rng.choice(N, k, replace=False))
    Z = np.zeros((k, T))
    Z[:, 0] = rng.standard_normal(k)
    for t in range(1, T):
        Z[:, t] = beta * Z[:, t - 1] + np.sqrt(1 - beta ** 2) * rng.standard_normal(k)
    X = np.zeros((N, T))
    X[S] = Z
    Y0 = A @ X
    s2 = np.sum(Y0 ** 2) / Y0.size / 1e4
    return A, X, S, Y0 + np.sqrt(s2) * rng.standard_normal(Y0.shape), s2


def test_ggamp_tsbl_learns_correlation_and_support():
    A, X, S, Y, s2 = _ar1_problem(0.9, 4, m=30, N=60, T=16)
    est = GGAMPTSBL(noise_variance=s2, tol=1e-4).fit(A, Y)
    assert est.beta_ == pytest.approx(0.9, abs=0.1)
    assert np.flatnonzero(est.gamma_ > 1e-3 * est.gamma_.max()).tolist() == S.tolist()
    assert np.sum((est.coef_.T - X) ** 2) / np.sum(X ** 2) < 1e-3


def test_ggamp_tsbl_uncorrelated_is_close_to_msbl():
    from sparsecode import MSBL

    A, X, S, Y, s2 = _ar1_problem(0.0, 5)
    a = GGAMPTSBL(noise_variance=s2, tol=1e-4).fit(A, Y)
    b = MSBL(noise_variance=s2, update="mackay").fit(A, Y)
    na = np.sum((a.coef_.T - X) ** 2) / np.sum(X ** 2)
    nb = np.sum((b.coef_.T - X) ** 2) / np.sum(X ** 2)
    assert 10 * np.log10(na) <= 10 * np.log10(nb) + 3.0


def _example_problem(index, beta=0.95):
    """Problem ``index`` of ``examples/bayes/plot_tsbl_correlation.py``'s
    random stream (m = 16, N = 50, 6 AR(1) rows, 6 snapshots, SNR 25 dB);
    the full run draws beta = 0.95 for indices 80 to 99."""
    rng = np.random.default_rng(0)
    m, N, k, L = 16, 50, 6, 6
    for _ in range(index + 1):
        A = rng.standard_normal((m, N)) / np.sqrt(m)
        Z = np.zeros((k, L))
        Z[:, 0] = rng.standard_normal(k)
        for t in range(1, L):
            Z[:, t] = beta * Z[:, t - 1] + np.sqrt(1 - beta ** 2) * rng.standard_normal(k)
        X = np.zeros((N, L))
        X[rng.choice(N, k, replace=False)] = Z
        Y0 = A @ X
        s2 = np.sum(Y0 ** 2) / Y0.size / 10 ** 2.5
        Y = Y0 + np.sqrt(s2) * rng.standard_normal(Y0.shape)
    return A, X, Y, s2


def _tsbl_type2_cost(A, Y, gamma, beta, s2):
    """Exact negative log marginal likelihood (up to a constant) of the AR(1)
    model: vec(Y) ~ N(0, B kron (A Gamma A^T) + s2 I), B_tt' = beta^|t-t'|."""
    T = Y.shape[1]
    B = beta ** np.abs(np.subtract.outer(np.arange(T), np.arange(T)))
    S = np.kron(B, (A * gamma) @ A.T) + s2 * np.eye(A.shape[0] * T)
    y = Y.reshape(-1, order="F")
    _, logdet = np.linalg.slogdet(S)
    return 0.5 * (logdet + y @ np.linalg.solve(S, y))


def test_ggamp_tsbl_msbl_warm_start_avoids_poor_local_optimum():
    """Regression: trials 0 and 16 at beta = 0.95 of the full T-SBL example.
    From gamma = 1 the GAMP E-step's approximate variances (m = 16) lead the
    EM to a worse local optimum of the exact type-II cost (-7.7 / -1.9 dB;
    T-MSBL: -27.6 / -31.1 dB).  The default exact M-SBL warm start reaches
    a lower cost and a good estimate on both."""
    for index, cold_db in [(80, -7.7), (96, -1.9)]:
        A, X, Y, s2 = _example_problem(index)
        warm = GGAMPTSBL(noise_variance=s2, tol=1e-4, gamp_tol=1e-6).fit(A, Y)
        nmse = 10 * np.log10(np.sum((warm.coef_.T - X) ** 2) / np.sum(X ** 2))
        assert nmse < -25
        assert warm.beta_ == pytest.approx(0.95, abs=0.1)
        if index == 96:   # the cold start is the old behaviour: poor, higher cost
            cold = GGAMPTSBL(noise_variance=s2, tol=1e-4, gamp_tol=1e-6, init="ones").fit(A, Y)
            nmse_cold = 10 * np.log10(np.sum((cold.coef_.T - X) ** 2) / np.sum(X ** 2))
            assert nmse_cold == pytest.approx(cold_db, abs=3.0)
            c_warm = _tsbl_type2_cost(A, Y, warm.gamma_, warm.beta_, s2)
            c_cold = _tsbl_type2_cost(A, Y, cold.gamma_, cold.beta_, s2)
            assert c_warm < c_cold - 10


def test_ggamp_tsbl_init_rules():
    """init="auto" is the M-SBL warm start only for m <= 64; above it is the
    cold start (identical estimates); init="msbl" forces the warm start,
    which on this easy problem reaches the same estimate; a bad init value
    is refused with an error naming it."""
    A, X, _, Y, s2 = _ar1_problem(0.9, 4, m=70, N=100, T=4)
    a = GGAMPTSBL(noise_variance=s2, tol=1e-3).fit(A, Y)
    b = GGAMPTSBL(noise_variance=s2, tol=1e-3, init="ones").fit(A, Y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    c = GGAMPTSBL(noise_variance=s2, tol=1e-3, init="msbl").fit(A, Y)
    assert c.n_gamp_iter_ != b.n_gamp_iter_ or not np.array_equal(c.coef_, b.coef_)
    np.testing.assert_allclose(c.coef_, b.coef_, atol=1e-2 * np.abs(X).max())
    with pytest.raises(ValueError, match="init"):
        GGAMPTSBL(init="exact").fit(A, Y)


def _robustness_problem(trial, kappa_index=4):
    """Trial ``trial`` at kappa = 1e4 (index 4) of the full-size
    ``examples/bayes/plot_ggamp_sbl_robustness.py`` stream (m = 100,
    N = 200, 20 non-zeros, SNR 60 dB)."""
    rng = np.random.default_rng(0)
    m, N, s = 100, 200, 20
    kappas = [1, 10, 1e2, 1e3, 1e4]
    for i in range(kappa_index * 10 + trial + 1):
        kappa = kappas[i // 10]
        U, _ = np.linalg.qr(rng.standard_normal((m, m)))
        V, _ = np.linalg.qr(rng.standard_normal((N, m)))
        A = U @ np.diag(np.geomspace(1, 1 / kappa, m)) @ V.T
        A *= np.sqrt(N / np.sum(A ** 2))
        x = np.zeros(N)
        x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
        y0 = A @ x
        s2 = np.sum(y0 ** 2) / m / 1e6
        y = y0 + np.sqrt(s2) * rng.standard_normal(m)
    return A, x, y, s2


def _sbl_type2_cost(A, y, gamma, s2):
    S = (A * gamma) @ A.T + s2 * np.eye(A.shape[0])
    return 0.5 * (np.linalg.slogdet(S)[1] + y @ np.linalg.solve(S, y))


@pytest.mark.parametrize("trial", [2, 8])
def test_ggamp_sbl_warm_start_on_ill_conditioned_A(trial):
    """Regression: two of the three failing trials at kappa = 1e4 of the
    robustness example.  From gamma = 1, GAMP's posterior variances (about
    100 times too small there) led the EM to a poor local optimum (47-48
    atoms, -18 / -20 dB, higher exact type-II cost).  The default exact-SBL
    warm start reaches EM-SBL's accuracy (-49 / -55 dB; EM-SBL -43 / -52),
    and so does the cold start now that pruned atoms are re-admitted by
    Tipping and Faul's test (-47 dB on trial 2)."""
    A, x, y, s2 = _robustness_problem(trial)
    warm = GGAMPSBL(noise_variance=s2, tol=1e-5).fit(A, y)
    cold = GGAMPSBL(noise_variance=s2, tol=1e-5, init="ones").fit(A, y)
    em = SBL(noise_variance=s2, tol=1e-5).fit(A, y)

    def db(c):
        return 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))

    assert db(warm.coef_) < -40
    assert db(warm.coef_) < db(em.coef_) + 3
    assert db(cold.coef_) < db(em.coef_) + 3
    assert (_sbl_type2_cost(A, y, cold.gamma_, s2)
            < _sbl_type2_cost(A, y, warm.gamma_, s2) + 5)
    # the functional form and the encoder share the warm start
    np.testing.assert_allclose(ggamp_sbl(A, y, noise_variance=s2, tol=1e-5).coef,
                               warm.coef_, rtol=1e-10, atol=1e-12)


def test_ggamp_sbl_init_rules():
    """init="auto" is the warm start only up to 128 rows and for one target;
    otherwise equal gammas at the moment-matched value (not ones: other
    iterates, the same estimate); init="sbl" refuses a LinearOperator; bad
    values are refused naming the argument."""
    from sparsecode.bayes._gamp import moment_gamma

    A, X, S, Y, s2 = problem(130, 260, 5, 3, snr_db=40)
    y = Y[:, 0] if Y.ndim == 2 else Y
    a = GGAMPSBL(noise_variance=s2).fit(A, y)
    b = GGAMPSBL(noise_variance=s2, init="ones").fit(A, y)
    assert a.n_gamp_iter_ != b.n_gamp_iter_
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-2 * np.abs(b.coef_).max())
    c = GGAMPSBL(noise_variance=s2, init="sbl").fit(A, y)
    assert c.n_gamp_iter_ != b.n_gamp_iter_ or not np.array_equal(c.coef_, b.coef_)
    # the moment-matched start: ||y||^2 = gamma ||A||_F^2 + m sigma^2
    g0 = moment_gamma(y[:, None], np.array([s2]), np.sum(A ** 2))[0]
    np.testing.assert_allclose(g0 * np.sum(A ** 2) + A.shape[0] * s2, np.sum(y ** 2))
    # several targets: "auto" is the plain (moment) start (batch speed), "sbl" is not
    A2, _, _, Y2, s22 = problem(40, 80, 3, 14, L=3, snr_db=50)
    d = ggamp_sbl(A2, Y2, noise_variance=s22)
    e = ggamp_sbl(A2, Y2, noise_variance=s22, init="ones")
    f = ggamp_sbl(A2, Y2, noise_variance=s22, init="sbl")
    np.testing.assert_allclose(d.coef, e.coef, atol=1e-2 * np.abs(e.coef).max())
    assert not np.array_equal(f.coef, e.coef)
    np.testing.assert_allclose(f.coef, e.coef, atol=1e-2 * np.abs(e.coef).max())
    with pytest.raises(ValueError, match="init='sbl'"):
        ggamp_sbl(aslinearoperator(A), y, noise_variance=s2, init="sbl")
    with pytest.raises(ValueError, match="init"):
        GGAMPSBL(init="exact").fit(A, y)
    with pytest.raises(ValueError, match="init"):
        ggamp_sbl(A, y, init="exact")
