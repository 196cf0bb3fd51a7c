"""Learned noise at low SNR: the noise starts of SBL() and GGAMPSBL().

EM runs from var(y)/100 and var(y)/10 and, while the result kept so far has
more than 0.15 m active atoms (atoms absorbing the noise), from var(y) and
then from var(y)/10^4; the result with the lowest type-II cost plus BIC
penalty (log N per atom) is kept (``_sbl.select_by_evidence``).  Problems:
the Toeplitz(0.9) and Gaussian cells of the peers' accuracy grid
(asv_bench/peers/bayes.py ``grid_problem``).
"""

import warnings

import numpy as np
import pytest
from scipy.linalg import toeplitz
from threadpoolctl import threadpool_limits

from sparsecode import GGAMPSBL, SBL


def _toeplitz_problem(m, s, snr_db, N=256, seed=0, rho=0.9):
    """The grid's Toeplitz(rho) cell (rho=0: its Gaussian cell)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if rho:
        A = A @ np.linalg.cholesky(toeplitz(rho ** np.arange(N))).T
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 10 ** (snr_db / 10)
    return A, x, y0 + np.sqrt(s2) * rng.standard_normal(m), s2


def _db(c, x):
    return 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
@pytest.mark.parametrize("m, s, snr_db, seed, noise_band", [(192, 19, 10, 0, 2.0),
                                                           (64, 19, 80, 1, 10.0),
                                                           (64, 19, 60, 11, 10.0)])
def test_noise_starts_within_1p5db_of_known_noise(Est, m, s, snr_db, seed, noise_band):
    """Within 1.5 dB of SBL given the true noise variance, the learned noise
    within ``noise_band`` of the truth.

    * Toeplitz 192 x 256, 19 non-zeros, 10 dB (the start from var(y)):
      measured -9.4 dB for both against -7.1 dB; with the two lower starts
      only SBL -2.4 dB, GGAMPSBL -4.6 dB, the noise variance learned at
      0.4 / 0.6 times the truth with 64 / 41 atoms.
    * Toeplitz 64 x 256, 19 non-zeros, 80 dB, seed 1 (the start from
      var(y)/10^4): the three higher starts all end at a noise variance 3e5
      to 5e5 times the truth (true atoms pruned, SBL -8.3 dB, GGAMPSBL
      -10.3 dB); from below -76.2 dB (BIC -756 against -149), SBL given the
      true noise -76.8 dB.
    * Toeplitz 64 x 256, 19 non-zeros, 60 dB, seed 11 (the low start with
      more atoms): the three higher starts end at 12 atoms, the noise
      variance 1.8e4 times the truth (-5.2 dB); from below 22 atoms at 0.69
      times the truth (-54.1 dB, criterion -497 against -112), which a cap
      of 1.7 times the kept atoms used to refuse; SBL given the true noise
      -53.4 dB.
    """
    A, x, y, s2 = _toeplitz_problem(m, s, snr_db, seed=seed)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est().fit(A, y)
        known = SBL(noise_variance=s2).fit(A, y)
    assert _db(est.coef_, x) < _db(known.coef_, x) + 1.5
    assert s2 / noise_band < est.noise_variance_ < noise_band * s2


@pytest.mark.parametrize("snr_db, n_runs", [(10, 3), (40, 2)])
def test_top_noise_start_only_while_atoms_absorb_the_noise(monkeypatch, snr_db, n_runs):
    """Toeplitz 64 x 256, 6 non-zeros.  SBL(): the start from var(y) runs
    when the kept result has more than 0.15 m atoms (10 dB: 12 of 64) and
    not on a sparse fit (40 dB: 9 of 64); the starts are var(y)/100 times
    1, 10 and 100.  At 10 dB the third start is the one kept: -8.9 dB
    against -7.0 dB for SBL given the true noise variance (-5.2 dB from the
    two lower starts)."""
    import sparsecode.bayes._sbl as sbl_mod

    starts = []
    real = sbl_mod.em_sbl

    def counting(*args, **kwargs):
        starts.append(float(kwargs["sigma2"][0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(sbl_mod, "em_sbl", counting)
    A, x, y, s2 = _toeplitz_problem(64, 6, snr_db)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = SBL().fit(A, y)
    assert len(starts) == n_runs
    np.testing.assert_allclose(np.array(starts) / starts[0], [1.0, 10.0, 100.0][:n_runs])
    assert starts[0] == pytest.approx(np.var(y) / 100)
    if snr_db == 10:
        monkeypatch.setattr(sbl_mod, "em_sbl", real)
        with threadpool_limits(1):
            known = SBL(noise_variance=s2).fit(A, y)
        assert _db(est.coef_, x) < _db(known.coef_, x) + 1.5


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_noise_starts_chosen_per_target(Est):
    """Two targets in one call, one at 10 dB (a later start is kept) and one
    near 60 dB (the first start is kept): the coefficients are those of the
    two single-target fits (SBL: within 1e-14; GGAMPSBL: 3e-7)."""
    A, x, y1, _ = _toeplitz_problem(64, 6, 10)
    rng = np.random.default_rng(5)
    y2 = A @ x + 1e-3 * rng.standard_normal(A.shape[0])
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        both = Est().fit(A, np.c_[y1, y2])
        one = [Est().fit(A, y) for y in (y1, y2)]
    for j in range(2):
        # equal up to the stopping rule (GGAMPSBL stops the batch together;
        # a start chosen differently moves coefficients by 1e-2 to 1)
        np.testing.assert_allclose(both.coef_[j], one[j].coef_, rtol=0, atol=1e-4)
        assert both.noise_variance_[j] == pytest.approx(one[j].noise_variance_, rel=1e-3)


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
def test_noise_starts_cost_log_n_per_atom(monkeypatch, Est):
    """Gaussian 64 x 256, 6 non-zeros, 10 dB, seed 0.  Between noise starts
    each atom costs log N (``START_UNDERSAMPLING``): the start from var(y)/10
    ends at 4 atoms and the noise variance (-17.4 dB); the first start's
    19 atoms absorb the noise (sigma^2 0.14 times the truth, -8.9 dB) and
    have the lower plain BIC (-252.0 against -244.7), not the lower one with
    log N per atom.  SBL given the true noise: -14.5 dB."""
    import sparsecode.bayes._sbl as sbl_mod

    A, x, y, s2 = _toeplitz_problem(64, 6, 10, rho=0.0)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        known = _db(SBL(noise_variance=s2).fit(A, y).coef_, x)
        est = Est().fit(A, y)
        assert _db(est.coef_, x) < known + 1.5
        assert np.count_nonzero(est.coef_) < 8
        monkeypatch.setattr(sbl_mod, "START_UNDERSAMPLING", False)  # SBL's and GGAMPSBL's
        plain = Est().fit(A, y)
    assert _db(plain.coef_, x) > known + 1.5  # the plain BIC keeps the 19 atoms


def test_unconverged_gamp_start_solved_again_exactly(monkeypatch):
    """Gaussian 64 x 256, 19 non-zeros, 20 dB, seed 0: GGAMPSBL()'s GAMP EM
    from var(y)/100 does not converge in max_iter (34 atoms); at m <= 128 the
    start is solved again with the exact E-step (``GAMP_UNCONVERGED_EXACT``)
    and GGAMPSBL() keeps SBL()'s fit (25 atoms, -18.3 dB) instead of a fit
    at 6 times the true noise variance (-8.1 dB)."""
    import sparsecode.bayes._gamp as gamp_mod

    A, x, y, _ = _toeplitz_problem(64, 19, 20, rho=0.0)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb = SBL().fit(A, y)
        gg = GGAMPSBL().fit(A, y)
        monkeypatch.setattr(gamp_mod, "GAMP_UNCONVERGED_EXACT", False)
        monkeypatch.setattr(gamp_mod, "NOISE_STARTS_EXACT", False)
        gamp_only = GGAMPSBL().fit(A, y)
    assert gg.e_step_ == "exact" and gamp_only.e_step_ == "gamp"
    np.testing.assert_allclose(gg.coef_, sb.coef_, rtol=0, atol=1e-6 * np.max(np.abs(sb.coef_)))
    assert _db(gamp_only.coef_, x) > _db(gg.coef_, x) + 5.0


def test_further_noise_starts_take_the_exact_estep_at_small_m(monkeypatch):
    """Gaussian 64 x 256, 19 non-zeros, 60 dB, seed 7 (s/m = 0.3): every
    GAMP start of GGAMPSBL() ends at 20 atoms with the noise variance 2e4
    times the truth (-6.2 dB).  At m <= 128 the noise starts after the first
    take the exact E-step (``NOISE_STARTS_EXACT``), and the one from
    var(y)/10 reaches SBL()'s fit (-61.5 dB, type-II cost plus BIC -529
    against -67)."""
    import sparsecode.bayes._gamp as gamp_mod

    A, x, y, s2 = _toeplitz_problem(64, 19, 60, seed=7, rho=0.0)
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb = SBL().fit(A, y)
        gg = GGAMPSBL().fit(A, y)
        monkeypatch.setattr(gamp_mod, "NOISE_STARTS_EXACT", False)
        gamp_only = GGAMPSBL().fit(A, y)
    assert gg.e_step_ == "exact" and gamp_only.e_step_ == "gamp"
    assert _db(gg.coef_, x) < _db(sb.coef_, x) + 1.0
    assert gg.noise_variance_ < 10 * s2
    assert gamp_only.noise_variance_ > 100 * s2  # the GAMP fixed point
    assert _db(gamp_only.coef_, x) > _db(gg.coef_, x) + 30.0
