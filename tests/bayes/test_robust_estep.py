"""The VAMP E-step of GGAMP-SBL and the automatic choice of the E-step.

Matrices ``U diag(s) V^T`` with Haar singular vectors and log-spaced
singular values (right-rotationally invariant, the class VAMP is built
for), unit mean column norm.
"""

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sparsecode import SBL, GGAMPSBL, ggamp_sbl
from sparsecode._base import ConvergenceWarning
from sparsecode.bayes import _vamp
from sparsecode.bayes._vamp import SVDFactors, vamp_estep


def _cond_matrix(m, N, kappa, rng):
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((N, m)))
    s = np.geomspace(1.0, 1.0 / kappa, m)
    s *= np.sqrt(N / np.sum(s ** 2))
    return (U * s) @ V.T


def _cond_problem(m, kappa, snr_db=40.0, seed=0):
    N = 4 * m
    rng = np.random.default_rng(seed)
    A = _cond_matrix(m, N, kappa, rng)
    x = np.zeros(N)
    x[rng.choice(N, m // 10, replace=False)] = rng.standard_normal(m // 10)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 10 ** (snr_db / 10)
    return A, x, y0 + np.sqrt(s2) * rng.standard_normal(m)


def _nmse_db(c, x):
    return 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))


@pytest.mark.parametrize("kappa", [1.0, 1e3, 1e6])
def test_vamp_estep_fixed_point_is_exact_posterior_mean(kappa):
    """At a VAMP fixed point the mean is the exact posterior mean
    ``(A^T A / s2 + Gamma^-1)^-1 A^T y / s2`` for any A (the two stages agree
    and their precisions add up), pruned atoms (gamma = 0) included."""
    rng = np.random.default_rng(1)
    m, N = 40, 100
    A = _cond_matrix(m, N, kappa, rng)
    gam = rng.uniform(0.1, 2.0, N)
    gam[rng.choice(N, 30, replace=False)] = 0.0
    y = A @ (np.sqrt(gam) * rng.standard_normal(N)) + 0.05 * rng.standard_normal(m)
    s2 = 0.05 ** 2
    F = SVDFactors(A)
    ty = F.U.T @ y[:, None]
    state = dict(r1=np.zeros((N, 1)), g1=np.ones(1))
    k, delta, diverged = vamp_estep(F, ty, gam[:, None], np.array([s2]), state,
                                    max_iter=5000, eps=1e-12)
    assert not diverged and delta < 1e-12 and k < 5000
    act = gam > 0
    Aa = A[:, act]
    mu = np.linalg.solve(Aa.T @ Aa / s2 + np.diag(1.0 / gam[act]), Aa.T @ y / s2)
    x = state["x2"][:, 0]
    assert np.all(x[~act] == 0.0)
    np.testing.assert_allclose(x[act], mu, rtol=0, atol=1e-8 * np.max(np.abs(mu)))
    # the variances are the denoiser's: positive, below the prior variance
    v = state["v2"][act, 0]
    assert np.all((v > 0) & (v < gam[act]))


def test_auto_uses_vamp_on_ill_conditioned_matrix_within_1db_of_sbl():
    """Condition number 1e4, 200 x 800, 40 dB: e_step="auto" takes the VAMP
    E-step (the spread ||A||_2^2 min(m, N) / ||A||_F^2 is about 18) and ends
    within 1 dB of the exact-E-step SBL()."""
    A, x, y = _cond_problem(200, 1e4)
    with threadpool_limits(1):
        gg = GGAMPSBL().fit(A, y)
        sb = SBL().fit(A, y)
    assert gg.e_step_ == "vamp" and gg.converged_
    assert _nmse_db(gg.coef_, x) <= _nmse_db(sb.coef_, x) + 1.0
    assert _nmse_db(gg.coef_, x) < -30.0


def test_auto_keeps_gamp_on_iid_and_exact_on_small_ill_conditioned():
    rng = np.random.default_rng(0)
    G = rng.standard_normal((150, 400)) / np.sqrt(150)
    x = np.zeros(400)
    x[[3, 50, 300]] = [1.0, -1.0, 2.0]
    assert GGAMPSBL(noise_variance=1e-6).fit(G, G @ x).e_step_ == "gamp"
    A, x, y = _cond_problem(64, 1e4)
    assert GGAMPSBL().fit(A, y).e_step_ == "exact"  # m <= 128: the exact E-step


def test_vamp_on_well_conditioned_matches_sbl_and_several_targets():
    """e_step="vamp" on a Gaussian matrix reaches SBL()'s estimate; two
    targets give the two single-target fits (independent hyperparameters)."""
    rng = np.random.default_rng(3)
    m, N = 80, 200
    A = rng.standard_normal((m, N)) / np.sqrt(m)
    X = np.zeros((N, 2))
    X[rng.choice(N, 8, replace=False), 0] = rng.standard_normal(8)
    X[rng.choice(N, 8, replace=False), 1] = rng.standard_normal(8)
    Y = A @ X + 1e-2 * rng.standard_normal((m, 2))
    with threadpool_limits(1):
        both = GGAMPSBL(e_step="vamp").fit(A, Y)
        for j in range(2):
            one = GGAMPSBL(e_step="vamp").fit(A, Y[:, j])
            sb = SBL().fit(A, Y[:, j])
            assert one.e_step_ == "vamp"
            np.testing.assert_allclose(both.coef_[j], one.coef_, atol=1e-3)
            assert _nmse_db(one.coef_, X[:, j]) <= _nmse_db(sb.coef_, X[:, j]) + 0.5


def test_vamp_divergence_reported_and_auto_falls_back(monkeypatch):
    """A VAMP E-step that fails (non-finite values) is reported with a
    ConvergenceWarning and a finite estimate; "auto" hands over to the exact
    E-step instead."""
    def failing(F, ty, gam, s2, state, max_iter, eps, damp=0.9):
        return 1, np.inf, True

    monkeypatch.setattr(_vamp, "vamp_estep", failing)
    A, x, y = _cond_problem(200, 1e4)
    with pytest.warns(ConvergenceWarning, match="VAMP produced non-finite"):
        res = ggamp_sbl(A, y, e_step="vamp")
    assert res.e_step == "vamp" and not res.converged and np.all(np.isfinite(res.coef))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = GGAMPSBL().fit(A, y)
    assert est.e_step_ == "exact" and est.converged_


def test_vamp_refuses_linear_operator():
    from scipy.sparse.linalg import aslinearoperator

    A, _, y = _cond_problem(64, 1.0)
    with pytest.raises(ValueError, match="e_step='vamp' needs an array"):
        ggamp_sbl(aslinearoperator(A), y, e_step="vamp")


def test_undamped_vamp_divergence_reported_not_overflowing():
    """Undamped VAMP (damping=1.0) oscillates with a growing amplitude at
    condition number 1e6: the blow-up is detected (residual of the extrinsic
    mean above 1e8 ||y||) and reported, the estimate stays finite; the
    default damping converges on the same problem.  One noise start (the
    first of the defaults, var(y)/100): with the defaults' further starts
    the one from var(y)/10^4 converges and is kept (a diverged start has an
    infinite criterion)."""
    A, x, y = _cond_problem(64, 1e6)
    with pytest.warns(ConvergenceWarning, match="VAMP produced non-finite or exploding"):
        est = GGAMPSBL(e_step="vamp", damping=1.0, noise_variance=np.var(y) / 100,
                       learn_noise=True).fit(A, y)
    assert not est.converged_ and np.all(np.isfinite(est.coef_))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        starts = GGAMPSBL(e_step="vamp", damping=1.0).fit(A, y)
    assert starts.converged_ and np.all(np.isfinite(starts.coef_))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        ok = GGAMPSBL(e_step="vamp").fit(A, y)
    assert ok.converged_ and ok.damping_ == 0.9


def test_vamp_budget_spent_reported_with_its_figure():
    """max_iter reached on the VAMP path: one ConvergenceWarning naming the
    quantity of the final (exact) phase, the relative change of the
    posterior mean, with the figure reached."""
    A, x, y = _cond_problem(200, 1e4)
    with pytest.warns(ConvergenceWarning, match="relative change of the posterior mean"):
        est = GGAMPSBL(e_step="vamp", max_iter=3).fit(A, y)
    assert not est.converged_ and est.delta_ > 1e-6 and np.all(np.isfinite(est.coef_))


def test_vamp_complex_and_single_precision():
    """Complex A (condition number 1e3) and complex64 data: the VAMP path
    keeps the precision and reaches SBL()'s estimate within 1 dB."""
    rng = np.random.default_rng(0)
    m, N = 100, 300
    U, _ = np.linalg.qr(rng.standard_normal((m, m)) + 1j * rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((N, m)) + 1j * rng.standard_normal((N, m)))
    A = (U * np.geomspace(1, 1e-3, m)) @ V.conj().T
    A *= np.sqrt(N) / np.linalg.norm(A)
    x = np.zeros(N, complex)
    x[rng.choice(N, 10, replace=False)] = rng.standard_normal(10) + 1j * rng.standard_normal(10)
    y0 = A @ x
    s2 = np.sum(np.abs(y0) ** 2) / m * 1e-4
    y = y0 + np.sqrt(s2 / 2) * (rng.standard_normal(m) + 1j * rng.standard_normal(m))
    with threadpool_limits(1):
        est = GGAMPSBL(e_step="vamp").fit(A.astype(np.complex64), y.astype(np.complex64))
        sb = SBL().fit(A, y)
    assert est.e_step_ == "vamp" and est.coef_.dtype == np.complex64
    err = 10 * np.log10(np.sum(np.abs(est.coef_ - x) ** 2) / np.sum(np.abs(x) ** 2))
    err_sb = 10 * np.log10(np.sum(np.abs(sb.coef_ - x) ** 2) / np.sum(np.abs(x) ** 2))
    assert err <= err_sb + 1.0 and err < -30.0


def test_vamp_route_keeps_the_fit_with_gentler_vamp_pruning_by_bic():
    """Condition number 1e6, 500 x 2000, 40 dB, seed 1: the VAMP route also
    fits with the VAMP phase pruning only atoms below 0.3 of the per-atom
    SNR threshold and keeps, by the BIC, that fit: -38.9 dB (SBL() -38.0,
    least squares on the true support -40.6); the one fit with the full
    rule in the VAMP phase, -27.4 dB, keeps 64 atoms and loses 2 true ones."""
    A, x, y = _cond_problem(500, 1e6, seed=1)
    S = np.flatnonzero(x)
    ls = np.zeros_like(x)
    ls[S] = np.linalg.lstsq(A[:, S], y, rcond=None)[0]
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gg = GGAMPSBL().fit(A, y)
    assert gg.e_step_ == "vamp"
    assert _nmse_db(gg.coef_, x) < _nmse_db(ls, x) + 3.0


def test_vamp_route_computes_the_svd_once_per_fit(monkeypatch):
    """The two VAMP fits (and the further noise starts) share one SVD of A;
    the estimate is the one obtained with a fresh SVD for every fit."""
    A, x, y = _cond_problem(200, 1e4)
    calls = []

    class Counting(SVDFactors):
        def __init__(self, A):
            calls.append(A.shape)
            super().__init__(A)

    monkeypatch.setattr(_vamp, "SVDFactors", Counting)
    with threadpool_limits(1):
        shared = GGAMPSBL().fit(A, y)
    assert shared.e_step_ == "vamp" and calls == [A.shape]
    original = _vamp.vamp_sbl

    def fresh(*args, factors=None, **kw):
        return original(*args, **kw)

    monkeypatch.setattr(_vamp, "vamp_sbl", fresh)
    with threadpool_limits(1):
        each = GGAMPSBL().fit(A, y)
    assert len(calls) >= 3  # one per VAMP fit: at least two more
    np.testing.assert_array_equal(shared.coef_, each.coef_)
