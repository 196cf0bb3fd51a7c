"""Kronecker SBL: structured E-step vs the flattened dense posterior, M-steps, recovery."""

import warnings

import numpy as np
import pytest

from sparsecode import SBL, KroneckerSBL
from sparsecode._base import ConvergenceWarning
from sparsecode.bayes._kron import am_mstep, kron_estep, kron_vec, svd_mstep

from .test_sbl import ref_posterior


def _factors(shapes, seed, complex_=False):
    rng = np.random.default_rng(seed)
    out = []
    for m, n in shapes:
        F = rng.standard_normal((m, n))
        if complex_:
            F = F + 1j * rng.standard_normal((m, n))
        out.append(F)
    return out


def _kron(mats):
    out = mats[0]
    for M in mats[1:]:
        out = np.kron(out, M)
    return out


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("shapes", [[(4, 6), (5, 7)], [(3, 4), (4, 5), (2, 3)]])
def test_structured_estep_equals_flattened_posterior(complex_, shapes):
    facs = _factors(shapes, 0, complex_)
    rng = np.random.default_rng(1)
    gams = [0.1 + rng.random(n) for _, n in shapes]
    A = _kron(facs)
    y = rng.standard_normal(A.shape[0]) + (1j * rng.standard_normal(A.shape[0]) if complex_ else 0)
    s2 = 0.05
    mu, d, cost, trace = kron_estep(facs, gams, s2, y.reshape([m for m, _ in shapes]))
    gam = kron_vec(gams).reshape(-1)
    mu_ref, d_ref, cost_ref, Si = ref_posterior(A, y[:, None], gam, s2)
    np.testing.assert_allclose(mu.reshape(-1), mu_ref[:, 0], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(d.reshape(-1), d_ref, rtol=1e-8, atol=1e-12)
    assert cost == pytest.approx(cost_ref, rel=1e-10)
    assert trace == pytest.approx(np.real(np.trace(Si @ (A * gam) @ A.conj().T)), rel=1e-10)


def test_single_factor_is_em_sbl():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((20, 35))
    y = rng.standard_normal(20)
    n = 9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        k = KroneckerSBL(noise_variance=0.1, prune=0.0, tol=0.0, max_iter=n).fit(A, y)
        s = SBL(noise_variance=0.1, prune=0.0, tol=0.0, max_iter=n + 1).fit(A, y)
    np.testing.assert_allclose(k.coef_, s.coef_, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(k.gamma_, s.gamma_, rtol=1e-9)


@pytest.mark.parametrize("I", [2, 3])
def test_msteps_recover_a_kronecker_statistic(I):
    """If Lambda = kron(a_i) the constrained minimiser is gamma = Lambda (both M-steps)."""
    rng = np.random.default_rng(3)
    a = [0.1 + rng.random(n) for n in (4, 5, 3)[:I]]
    Lam = kron_vec(a)
    for gams in (am_mstep(Lam, [np.ones(x.size) for x in a], max_inner=500, inner_tol=1e-12),
                 svd_mstep(Lam)):
        np.testing.assert_allclose(kron_vec(gams), Lam, rtol=1e-6)


def test_am_mstep_decreases_its_objective():
    rng = np.random.default_rng(4)
    Lam = rng.random((5, 6)) + 0.01
    f = lambda gs: np.sum(np.log(kron_vec(gs)) + Lam / kron_vec(gs))  # noqa: E731
    g0 = [np.ones(5), np.ones(6)]
    g1 = am_mstep(Lam, g0)
    assert f(g1) <= f(g0)
    # a stationary point: one more sweep changes nothing
    g2 = am_mstep(Lam, g1, max_inner=1)
    np.testing.assert_allclose(kron_vec(g2), kron_vec(g1), rtol=1e-4)


def test_am_cost_decreases_without_pruning():
    facs = _factors([(6, 8), (7, 8)], 5)
    rng = np.random.default_rng(5)
    x1, x2 = np.zeros(8), np.zeros(8)
    x1[[1, 5]] = [1.0, -1.0]
    x2[[2, 6]] = [1.5, 0.7]
    y = _kron(facs) @ np.kron(x1, x2) + 0.05 * rng.standard_normal(42)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = KroneckerSBL(method="am", noise_variance=0.0025, prune=0.0, max_iter=40).fit(facs, y)
    obj = est.objective_
    assert np.all(np.diff(obj) <= 1e-7 * np.abs(obj[:-1]))


@pytest.mark.parametrize("method", ["svd", "am"])
@pytest.mark.parametrize("complex_", [False, True])
def test_recovery_of_kronecker_support(method, complex_):
    shapes = [(8, 12), (9, 12), (10, 12)]
    facs = _factors(shapes, 6, complex_)
    rng = np.random.default_rng(6)
    xs, sup = [], []
    for _ in shapes:
        v = np.zeros(12, dtype=facs[0].dtype)
        S = np.sort(rng.choice(12, 2, replace=False))
        v[S] = (1 + rng.random(2)) * rng.choice([-1, 1], 2)
        xs.append(v)
        sup.append(S.tolist())
    x = _kron(xs)
    y0 = _kron(facs) @ x
    s2 = np.sum(np.abs(y0) ** 2) / y0.size / 1e4
    y = y0 + np.sqrt(s2) * rng.standard_normal(y0.size)
    est = KroneckerSBL(method=method, noise_variance=s2).fit(facs, y)
    assert [s.tolist() for s in est.support_] == sup
    assert np.sum(np.abs(est.coef_ - x) ** 2) / np.sum(np.abs(x) ** 2) < 1e-3
    np.testing.assert_allclose(est.predict(facs), _kron(facs) @ est.coef_, rtol=1e-9, atol=1e-9)


def test_kronecker_operator_and_dtypes():
    ops = pytest.importorskip("sparsecode.operators")
    facs = _factors([(6, 9), (7, 9)], 7)
    x = np.zeros(81)
    x[[10, 12, 64, 66]] = [1.0, 2.0, -1.0, -2.0]  # rows {1, 7} x cols {1, 3}
    y = _kron(facs) @ x
    a = KroneckerSBL(noise_variance=1e-6).fit(ops.KroneckerOperator(facs), y)
    b = KroneckerSBL(noise_variance=1e-6).fit(facs, y)
    np.testing.assert_allclose(a.coef_, b.coef_)
    c = KroneckerSBL(noise_variance=1e-6).fit([F.astype(np.float32) for F in facs],
                                              y.astype(np.float32))
    assert c.coef_.dtype == np.float32
    np.testing.assert_allclose(c.coef_, b.coef_, atol=1e-3)


def test_bad_inputs():
    facs = _factors([(4, 5), (3, 5)], 8)
    y = np.ones(12)
    with pytest.raises(ValueError, match="y has 11 rows"):
        KroneckerSBL().fit(facs, y[:11])
    with pytest.raises(ValueError, match="noise_variance"):
        KroneckerSBL(noise_variance=0.0).fit(facs, y)
    with pytest.raises(ValueError, match="method"):
        KroneckerSBL(method="qr").fit(facs, y)
    with pytest.raises(ValueError, match="at least one factor"):
        KroneckerSBL().fit([], y)
    bad = [facs[0].copy(), facs[1]]
    bad[0][0, 0] = np.inf
    with pytest.raises(ValueError, match=r"X\[0\]"):
        KroneckerSBL().fit(bad, y)
    with pytest.raises(ValueError, match="factor 1 of X is zero"):
        KroneckerSBL().fit([facs[0], np.zeros((3, 5))], y)
    est = KroneckerSBL(noise_variance=1e-3).fit(facs, y)
    with pytest.raises(ValueError, match="expecting 25 features"):
        est.predict([facs[0], facs[1][:, :4]])
