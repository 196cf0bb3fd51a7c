"""The compiled GGAMP-SBL EM loop (``_gamp_kernels.em_segment``).

Reference: the NumPy loop of ``ggamp_sbl_kernel`` (``EM_SEGMENT = False``),
which runs the same operations one EM iteration at a time.  The compiled
loop must give the same fit: the same iteration counts and the same
estimate up to rounding (the re-admission step leaves the all-zero columns
out of the compiled loop, which only reorders sums of exact zeros).
"""

import warnings

import numpy as np
import pytest

from sparsecode import GGAMPSBL
from sparsecode.bayes import _gamp
from sparsecode.bayes._common import dense_lanczos_norm

from .test_sbl import problem


def _fit_both(monkeypatch, A, y, rows_min=None, **kw):
    if rows_min is not None:  # the compiled loop without the adjoint copy
        monkeypatch.setattr(_gamp, "ROWS_MIN_ENTRIES", rows_min)
    out = []
    for seg in (False, True):
        monkeypatch.setattr(_gamp, "EM_SEGMENT", seg)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            est = GGAMPSBL(**kw).fit(A, y)
        out.append((est, sorted({str(w.category.__name__) for w in rec})))
    return out


def _assert_same(ref, new):
    (r, wr), (n, wn) = ref, new
    assert wn == wr
    assert n.n_iter_ == r.n_iter_ and n.n_gamp_iter_ == r.n_gamp_iter_
    assert n.converged_ == r.converged_ and n.damping_ == r.damping_
    assert np.array_equal(n.gamma_ > 0, r.gamma_ > 0)
    scale = np.max(np.abs(r.coef_))
    np.testing.assert_allclose(n.coef_, r.coef_, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(n.gamma_, r.gamma_, rtol=1e-9, atol=1e-12 * np.max(r.gamma_))
    np.testing.assert_allclose(n.noise_variance_, r.noise_variance_, rtol=1e-9)


def _gauss(m, N, k, snr_db, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N)) / np.sqrt(m)
    x = np.zeros(N)
    x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 10 ** (snr_db / 10)
    return A, y0 + np.sqrt(s2) * rng.standard_normal(m)


def test_compiled_em_loop_matches_numpy_default(monkeypatch):
    """The benchmark problem (200 x 800, k = 20, 30 dB): learned noise, BIC
    test of the atoms and re-admission rounds (the full matrix restored)."""
    A, y = _gauss(200, 800, 20, 30.0, 0)
    ref, new = _fit_both(monkeypatch, A, y)
    # the re-admission path ran (pruned atoms came back at least once)
    assert ref[0].n_iter_ > 20
    _assert_same(ref, new)


@pytest.mark.parametrize("kw", [
    dict(noise_variance=1e-4),                        # known noise
    dict(update="mackay"),                            # fixed-point rule, numerical pruning
    dict(prune=1e-6),                                 # relative threshold
    dict(variances="scalar", damping=0.7),
    dict(max_iter=7),                                 # budget spent inside the loop
    dict(init="ones", tol=1e-4),
])
@pytest.mark.parametrize("rows_min", [None, 1])
def test_compiled_em_loop_matches_numpy_options(monkeypatch, kw, rows_min):
    A, _, _, Y, _ = problem(60, 150, 8, 3)
    ref, new = _fit_both(monkeypatch, A, Y[:, 0], rows_min=rows_min, **kw)
    _assert_same(ref, new)


@pytest.mark.parametrize("rows_min", [None, 1])
def test_compiled_em_loop_matches_numpy_complex(monkeypatch, rows_min):
    A, _, _, Y, _ = problem(48, 96, 5, 1, complex_=True)
    ref, new = _fit_both(monkeypatch, A, Y[:, 0], rows_min=rows_min)
    _assert_same(ref, new)


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("c", [0.0, 1.0])
def test_gamp_loop_rows_matches_gamp_loop(complex_, c):
    """The E-step without the adjoint copy: the same iterates as gamp_loop
    (up to the order of the sums over the rows)."""
    from sparsecode.bayes._gamp_kernels import gamp_loop, gamp_loop_rows

    A, _, _, Y, s2 = problem(40, 90, 6, 2, complex_=complex_)
    y = np.ascontiguousarray(Y[:, 0])
    gam = np.random.default_rng(0).random(90)
    c = c * float(np.sum(np.abs(A) ** 2)) / A.size
    out = []
    for f, args in ((gamp_loop, (A, np.ascontiguousarray(A.conj().T))), (gamp_loop_rows, (A,))):
        x, s, tx = np.zeros(90, dtype=A.dtype), np.zeros(40, dtype=A.dtype), np.ones(90)
        k, delta, status = f(*args, y, gam, float(s2), x, s, tx, 0.6, 500, 1e-9, c)
        out.append((k, status, x, tx))
    (k0, st0, x0, t0), (k1, st1, x1, t1) = out
    assert (k1, st1) == (k0, st0) and st0 == 0
    np.testing.assert_allclose(x1, x0, rtol=0, atol=1e-12 * np.max(np.abs(x0)))
    np.testing.assert_allclose(t1, t0, rtol=1e-12)


def test_compiled_em_loop_divergence_and_halving(monkeypatch):
    """Ill-conditioned A with the GAMP E-step forced: undamped GAMP diverges
    (status reported by both loops at the same EM iteration); with
    damping="auto" the damping is halved on divergence, by both loops alike."""
    rng = np.random.default_rng(0)
    m, N = 40, 100
    U, _ = np.linalg.qr(rng.standard_normal((m, m)))
    V, _ = np.linalg.qr(rng.standard_normal((N, m)))
    A = U @ np.diag(np.geomspace(1.0, 1e-4, m)) @ V.T
    x = np.zeros(N)
    x[rng.choice(N, 4, replace=False)] = 1.0
    y = A @ x + 1e-4 * rng.standard_normal(m)
    ref, new = _fit_both(monkeypatch, A, y, e_step="gamp", init="ones", damping=1.0)
    _assert_same(ref, new)
    assert "ConvergenceWarning" in ref[1] and not ref[0].converged_
    # damping="auto" starting from 1 (instead of the rule's 0.46): halved
    monkeypatch.setattr(_gamp, "auto_damping", lambda A, **kw: 1.0)
    ref, new = _fit_both(monkeypatch, A, y, e_step="gamp", init="ones")
    _assert_same(ref, new)
    assert ref[0].damping_ < 1.0


def test_lanczos_norm_dense_ritz_values():
    """The spectral norm used for the damping rule: within its tolerance of
    LAPACK's, a lower bound, on Gaussian and ill-conditioned matrices."""
    rng = np.random.default_rng(1)
    for A in (rng.standard_normal((200, 800)),
              rng.standard_normal((150, 300)) * np.geomspace(1, 1e-3, 300)):
        ref = np.linalg.norm(A, 2)
        est = dense_lanczos_norm(A, tol=1e-6)
        assert est <= ref * (1 + 1e-12)
        assert est >= ref * (1 - 1e-5)


def test_compiled_loop_constants_match():
    """The compiled loop keeps its own copies of the rule constants."""
    from sparsecode.bayes import _em, _gamp_kernels

    assert _gamp_kernels.AUTO_SNR == _em.AUTO_SNR
    assert (_gamp_kernels.EPS_FIRST, _gamp_kernels.EPS_FACTOR) == (_gamp.EPS_FIRST,
                                                                    _gamp.EPS_FACTOR)
