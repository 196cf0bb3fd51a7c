"""The default noise-relative pruning rule (prune="auto")."""

import warnings

import numpy as np
import pytest

from sparsecode import GGAMPSBL, MSBL, SBL, ggamp_sbl
from sparsecode._base import ConvergenceWarning
from sparsecode.bayes._em import auto_prune_mask

from .test_gamp import ill_conditioned
from .test_sbl import problem, ref_posterior


def nmse_db(c, x):
    return 10 * np.log10(np.sum(np.abs(c - x) ** 2) / np.sum(np.abs(x) ** 2))


@pytest.mark.parametrize("Est", [SBL, GGAMPSBL])
@pytest.mark.parametrize("seed", [0, 1])
def test_30db_default_is_sparse_with_full_recall(Est, seed):
    """Learned noise, 30 dB: the default keeps the true support and little else,
    and is no less accurate than numerical-only pruning (prune=1e-8)."""
    A, X, S, Y, s2 = problem(100, 300, 8, 20 + seed, snr_db=30)
    y, x = Y[:, 0], X[:, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = Est().fit(A, y)
        dense = Est(prune=1e-8).fit(A, y)
    supp = np.flatnonzero(est.coef_)
    assert set(S) <= set(supp)  # recall 1
    assert supp.size <= 2 * S.size
    assert np.count_nonzero(dense.coef_) > 3 * S.size  # what the old default gave
    assert nmse_db(est.coef_, x) <= nmse_db(dense.coef_, x) + 0.5


def test_60db_ill_conditioned_keeps_previous_accuracy():
    """Known noise at 60 dB, condition number 1e3: the default does as well as
    numerical-only pruning (the case that forbade prune=1e-3 as a default)."""
    rng = np.random.default_rng(3)
    m, N, k = 60, 120, 10
    A = ill_conditioned(m, N, 1e3, 3)
    x = np.zeros(N)
    x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 1e6
    y = y0 + np.sqrt(s2) * rng.standard_normal(m)
    ref = SBL(noise_variance=s2, tol=1e-5, prune=1e-8).fit(A, y)
    auto = SBL(noise_variance=s2, tol=1e-5).fit(A, y)
    assert nmse_db(auto.coef_, x) <= nmse_db(ref.coef_, x) + 1.0
    assert nmse_db(auto.coef_, x) < -50


def test_msbl_default_matches_numerical_pruning():
    A, X, S, Y, s2 = problem(20, 50, 4, 31, snr_db=30, L=5)
    a = MSBL(noise_variance=s2).fit(A, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        b = MSBL(noise_variance=s2, prune=1e-8).fit(A, Y)
    supp = np.flatnonzero(a.gamma_)
    assert set(S) <= set(supp) and supp.size <= 2 * S.size
    assert a.n_iter_ < b.n_iter_
    assert nmse_db(a.coef_.T, X) <= nmse_db(b.coef_.T, X) + 0.5


def test_mask_is_the_coordinatewise_minimiser():
    """q_i^2 <= s_i part of the rule: the cost as a function of gamma_i alone
    is minimised at 0 exactly when the mask says so (Tipping & Faul 2003)."""
    A, X, S, Y, s2 = problem(15, 30, 3, 7, snr_db=10)
    rng = np.random.default_rng(0)
    gam = 0.05 + rng.random(30)
    mu, d, _, Si = ref_posterior(A, Y, gam, s2)
    rho = gam * np.einsum("ij,ik,kj->j", A, Si, A)
    musq = mu[:, 0] ** 2
    # SNR part disabled by a huge noise variance in the mask's SNR term
    mask = auto_prune_mask(gam[None], gam[None], musq[None], rho[None],
                           np.sum(A ** 2, axis=0), np.array([1e300]))[0]
    assert 0 < mask.sum() < 30
    grid = np.concatenate([[0.0], np.geomspace(1e-6, 1e3, 200)])
    for i in range(30):
        costs = []
        for g in grid:
            gi = gam.copy()
            gi[i] = g
            costs.append(ref_posterior(A, Y, gi, s2)[2])
        at_zero = costs[0] <= min(costs[1:]) + 1e-12
        assert at_zero == mask[i]


def test_everything_pruned_gives_zero_estimate():
    """Pure noise: every atom may be pruned; no crash, a zero estimate."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 200)) / np.sqrt(20)
    y = 1e-3 * rng.standard_normal(20)
    for kw in (dict(variances="scalar"), dict(variances="vector")):
        res = ggamp_sbl(A, y, noise_variance=1e-6, **kw)
        assert np.all(np.isfinite(res.coef))
    est = SBL(noise_variance=1e-6).fit(A, y)
    assert np.all(np.isfinite(est.coef_))


def test_mackay_auto_is_numerical_pruning_and_tsbl_gamp_rejects_auto():
    """Documented: with update="mackay", prune="auto" keeps the 1e-8 relative
    threshold; GGAMPTSBL only accepts a float."""
    from sparsecode import GGAMPTSBL

    A, X, S, Y, s2 = problem(30, 60, 4, 3)
    a = SBL(noise_variance=s2, update="mackay").fit(A, Y[:, 0])
    b = SBL(noise_variance=s2, update="mackay", prune=1e-8).fit(A, Y[:, 0])
    np.testing.assert_array_equal(a.coef_, b.coef_)
    with pytest.raises(ValueError, match="prune"):
        GGAMPTSBL(prune="auto").fit(A, Y)
    with pytest.raises(ValueError, match="prune"):
        SBL(prune="fast").fit(A, Y[:, 0])
