"""Sparse Bayesian learning with defaults only: no noise variance, no k.

The noise variance is learned (spec 2.7) and must not feed back into the
pruning: before, an over-estimated noise variance pruned true atoms and
SBL() stalled near -30 dB at 40 and 60 dB SNR where SBL given the true
noise variance reaches -44 / -64 dB.  Problems: A 100 x 200 Gaussian with
unit columns, 20 N(0, 1) non-zeros, fixed seeds (figures verified).
"""

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sparsecode import GGAMPSBL, MSBL, SBL, sbl
from sparsecode._base import ConvergenceWarning


def _problem(seed, snr_db, m=100, N=200, s=20):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m * 10 ** (-snr_db / 10)
    return A, x, y0 + np.sqrt(s2) * rng.standard_normal(m), s2


def _db(c, x):
    return 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))


@pytest.mark.parametrize("snr_db", [40, 60])
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_learned_noise_matches_known_noise(Est, seed, snr_db):
    """Defaults within 1.5 dB of SBL given the true noise variance
    (measured: -42 / -47 dB at 40 dB, -63 / -67 dB at 60 dB, both estimators,
    against -41 / -44 and -61 / -66 dB; before: about -25 / -30 dB), the
    learned noise variance within a factor 2 of the truth (measured 0.75 to
    1.0), and within 3 dB of least squares on the true support (measured
    within 2.2 dB)."""
    A, x, y, s2 = _problem(seed, snr_db)
    est = Est().fit(A, y)
    known = SBL(noise_variance=s2).fit(A, y)
    assert _db(est.coef_, x) < _db(known.coef_, x) + 1.5
    assert 0.5 * s2 < est.noise_variance_ < 2 * s2
    supp = np.flatnonzero(x)
    xls = np.zeros_like(x)
    xls[supp] = np.linalg.lstsq(A[:, supp], y, rcond=None)[0]
    assert _db(est.coef_, x) < _db(xls, x) + 3
    assert _db(est.coef_, x) < snr_db - 5 - 10  # the old stall (-25 / -30 dB) fails


@pytest.mark.parametrize("snr_db, margin", [(10, 1.5), (20, 0.75)])
@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_low_snr_noise_not_absorbed_by_atoms(Est, snr_db, margin):
    """Seed 0: the defaults close to SBL given the true noise variance
    (measured at 10 dB: SBL -7.7, GGAMPSBL -8.4 dB against -9.05 dB; at
    20 dB: -22.4 / -22.4 dB against -21.8 dB) with the learned noise
    variance within a factor 2 of the truth (measured 0.79 to 1.42).  EM
    from var(y)/100 alone ends in the optimum where many atoms absorb the
    noise: -4.5 / -5.9 dB at 10 dB (about 60 atoms, noise variance 0.01 /
    0.04 times the truth), -20.4 / -19.5 dB at 20 dB; the BIC choice
    between the two starts avoids it (the type-II likelihood alone prefers
    that optimum)."""
    A, x, y, s2 = _problem(0, snr_db)
    # one BLAS thread: the ~300 small EM iterations of the var(y)/100 start
    # are 100 times slower with threads on a loaded machine
    with threadpool_limits(1):
        est = Est().fit(A, y)
        known = SBL(noise_variance=s2).fit(A, y)
    assert _db(est.coef_, x) < _db(known.coef_, x) + margin
    assert 0.5 * s2 < est.noise_variance_ < 2 * s2
    if snr_db == 10:
        assert np.count_nonzero(est.coef_) < 40


def test_readmission_returns_pruned_true_atoms():
    """The support found with the learned noise is the true one (the old
    code lost two to five of the 20 atoms on these seeds)."""
    A, x, y, _ = _problem(0, 60)
    est = SBL().fit(A, y)
    big = np.flatnonzero(np.abs(est.coef_) > 1e-2 * np.max(np.abs(est.coef_)))
    assert set(np.flatnonzero(np.abs(x) > 0.05)) <= set(big)
    res = sbl(A, y)
    np.testing.assert_allclose(res.coef, est.coef_)


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_return_std_is_the_posterior_predictive(Est):
    """predict(X, return_std=True) = sqrt(x_K^T Sigma x_K + sigma^2) with
    Sigma = (A_K^T A_K / sigma^2 + Gamma_K^-1)^-1 on the active atoms (as
    ARDRegression); sigma_ is that matrix and its diagonal is SBL's
    posterior_variance_ (GGAMP-SBL's GAMP variances agree within 15 % on a
    Gaussian matrix: measured 0.92 to 1.12)."""
    A, x, y, _ = _problem(1, 40)
    est = Est().fit(A, y)
    K = est.active_
    assert np.array_equal(K, np.flatnonzero(est.gamma_ > 0))
    s2 = est.noise_variance_
    Sigma = np.linalg.inv(A[:, K].T @ A[:, K] / s2 + np.diag(1 / est.gamma_[K]))
    np.testing.assert_allclose(est.sigma_, Sigma, rtol=1e-6, atol=1e-12 * np.abs(Sigma).max())
    X = np.random.default_rng(5).standard_normal((7, A.shape[1]))
    yp, sd = est.predict(X, return_std=True)
    assert yp.shape == sd.shape == (7,)
    np.testing.assert_allclose(yp, est.predict(X))
    ref = np.sqrt(np.einsum("ij,jk,ik->i", X[:, K], Sigma, X[:, K]) + s2)
    np.testing.assert_allclose(sd, ref, rtol=1e-6)
    assert np.all(sd >= np.sqrt(s2))
    ratio = est.posterior_variance_[K] / np.diag(Sigma)
    tol = 1e-6 if Est is SBL else 0.15
    assert np.all(np.abs(ratio - 1) <= tol)


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL, MSBL])
def test_return_std_shapes_several_targets(Est):
    A, x, y, _ = _problem(0, 30)
    Y = np.c_[y, A @ np.roll(x, 3) + 1e-2 * np.cos(np.arange(A.shape[0]))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est().fit(A, Y)
    yp, sd = est.predict(A[:4], return_std=True)
    assert yp.shape == sd.shape == (4, 2)
    assert np.all(np.isfinite(sd)) and np.all(sd > 0)
    if Est is MSBL:  # one gamma for both targets: one covariance
        assert est.sigma_.shape == (est.active_.size,) * 2
        np.testing.assert_allclose(sd[:, 0], sd[:, 1])
    else:
        assert len(est.sigma_) == 2


def test_return_std_refused_for_a_linear_operator_fit():
    from scipy.sparse.linalg import aslinearoperator

    A, x, y, _ = _problem(0, 40)
    est = GGAMPSBL().fit(aslinearoperator(A), y)
    assert est.sigma_ is None
    with pytest.raises(ValueError, match="return_std"):
        est.predict(A, return_std=True)


def test_nonfinite_gamma_is_reported_not_pruned(monkeypatch):
    """A non-finite gamma (here injected in the E-step's variances from the
    third iteration on) is a divergence: one ConvergenceWarning naming it,
    the last finite iterate returned; before, the atom was silently pruned
    (gamma set to 0) and the fit reported as converged."""
    import sparsecode.bayes._em as em

    real = em.estep
    calls = {"n": 0}

    def broken(*args, **kwargs):
        calls["n"] += 1
        mu, d, rho, logdet, quad = real(*args, **kwargs)
        if calls["n"] >= 3:
            d = d.copy()
            d[:, 0] = np.inf
        return mu, d, rho, logdet, quad

    monkeypatch.setattr(em, "estep", broken)
    A, x, y, s2 = _problem(0, 40)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est = SBL(noise_variance=s2).fit(A, y)
    assert not est.converged_
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.gamma_))
    assert est.gamma_[0] > 0  # not pruned
    Y = np.c_[y, y]
    with pytest.warns(ConvergenceWarning, match="diverged for 2 of 2"):
        res = sbl(A, Y, noise_variance=s2)
    assert np.all(np.isfinite(res.coef))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_low_snr_every_seed_within_1p5db_of_known_noise(Est, seed):
    """10 dB, seeds 0 to 3: within 1.5 dB of SBL given the true noise
    variance on every seed (measured SBL -7.7 / -13.2 / -12.3 / -12.4 dB,
    GGAMPSBL -8.4 / -14.1 / -12.3 / -12.4 dB against -9.1 / -12.3 / -10.2 /
    -10.8 dB).  Without the BIC test of the atoms (``_em.bic_keep``) the
    learned noise variance ended at 0.6 to 0.7 times the truth with 6 to 8
    noise-fitting atoms: SBL 1.9 dB behind on seed 2, GGAMPSBL 1.8 dB on
    seed 3."""
    A, x, y, s2 = _problem(seed, 10)
    with threadpool_limits(1):
        est = Est().fit(A, y)
        known = SBL(noise_variance=s2).fit(A, y)
    assert _db(est.coef_, x) < _db(known.coef_, x) + 1.5


def test_bic_gain_is_the_type2_cost_change_of_deleting_the_atom():
    """The deletion loss of ``bic_keep``, written with the E-step moments,
    is the exact change of the type-II cost when one gamma_i is set to 0
    (Tipping and Faul's identity, at any gamma), and the atom it removes is
    the one with the smallest change, only when that change is below
    log m."""
    from sparsecode.bayes._em import bic_keep, type2_cost

    A, x, y, s2 = _problem(2, 10)
    rng = np.random.default_rng(0)
    gam = np.zeros(200)
    act = np.flatnonzero(x)[:12]
    gam[act] = rng.uniform(0.01, 2.0, act.size)
    gam[rng.choice(np.flatnonzero(x == 0), 8, replace=False)] = 1e-3
    act = np.flatnonzero(gam)
    Aa = A[:, act]
    Sig = np.linalg.inv(Aa.T @ Aa / s2 + np.diag(1.0 / gam[act]))
    mu = Sig @ Aa.T @ y / s2
    rho = 1.0 - np.diag(Sig) / gam[act]
    base = type2_cost(A, y[:, None], gam, s2)
    change = []
    for i in act:
        g = gam.copy()
        g[i] = 0.0
        change.append(type2_cost(A, y[:, None], g, s2) - base)
    change = np.array(change)
    gain2 = np.abs(mu) ** 2 / (gam[act] * (1 - rho)) + np.log(1 - rho)
    np.testing.assert_allclose(gain2, change, rtol=1e-7, atol=1e-8)
    keep = bic_keep(mu, gam[act], rho, A.shape[0])
    assert np.min(change) < np.log(A.shape[0])  # the weak atoms pay less than log m
    assert np.flatnonzero(~keep).tolist() == [int(np.argmin(change))]
    assert np.all(bic_keep(mu, gam[act], rho, 1) | (change < 0))  # log 1 = 0


def test_bic_atoms_correlated_columns_high_snr():
    """Toeplitz(0.9)-correlated columns, 64 x 256, 19 non-zeros, 40 dB
    (asv_bench/peers/bayes.py grid cell): SBL() within 1.5 dB of SBL given
    the true noise variance (measured -35.5 dB against -31.5 dB; without
    the BIC test of the atoms -23.9 dB, with noise-fitting atoms kept)."""
    from scipy.linalg import toeplitz

    rng = np.random.default_rng(0)
    m, N, s = 64, 256, 19
    C = np.linalg.cholesky(toeplitz(0.9 ** np.arange(N)))
    A = rng.standard_normal((m, N)) @ C.T
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 1e4
    y = y0 + np.sqrt(s2) * rng.standard_normal(m)
    with threadpool_limits(1):
        est = SBL().fit(A, y)
        known = SBL(noise_variance=s2).fit(A, y)
    assert _db(est.coef_, x) < _db(known.coef_, x) + 1.5
