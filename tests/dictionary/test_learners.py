"""K-SVD, MOD, online and masked dictionary learning: recovery, monotonicity,
conventions, missing data, fixed atoms and bad input."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode import (
    KSVD,
    MOD,
    MaskedDictionaryLearning,
    OnlineDictionaryLearning,
    omp,
    overcomplete_dct,
    sparse_encode,
)
from sparsecode._base import ConvergenceWarning
from sparsecode.datasets import make_sparse_coded_signal
from sparsecode.dictionary._common import _dct_1d
from sparsecode.dictionary._kernels import ksvd_sweep, masked_omp
from sparsecode.dictionary._masked import masked_loss_grad


def recovered(D_true, D_hat, thresh=0.99):
    """Fraction of true atoms matched by a learned atom with |cos| > thresh (spec B6)."""
    return float(np.mean(np.max(np.abs(D_true @ D_hat.T), axis=1) > thresh))


@pytest.fixture(scope="module")
def easy():
    # noiseless, 48 atoms in R^32, 2 atoms per signal, |coefs| in [1, 2]
    X, D, code = make_sparse_coded_signal(1000, n_components=48, n_features=32,
                                          n_nonzero_coefs=2, amplitude="uniform",
                                          random_state=0)
    return X, D, code


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# --------------------------------------------------------------------------- recovery
def test_ksvd_recovers_noiseless_dictionary(easy):
    X, D, _ = easy
    est = KSVD(48, n_nonzero_coefs=2, max_iter=30, random_state=0).fit(X)
    assert recovered(D, est.components_) >= 0.95
    assert est.error_[-1] < 0.05


@pytest.mark.parametrize("cls, kw, floor", [
    # MOD and online DL are known to recover fewer atoms than K-SVD (Aharon et
    # al. 2006, Fig. 3); floors measured over seeds 0-3: MOD >= 0.73, online >= 0.79
    (MOD, dict(max_iter=30), 0.85),
    (OnlineDictionaryLearning, dict(batch_size=64, max_iter=20), 0.75),
])
def test_other_learners_recover_most_atoms(easy, cls, kw, floor):
    X, D, _ = easy
    est = cls(48, n_nonzero_coefs=2, random_state=0, **kw).fit(X)
    assert recovered(D, est.components_) >= floor


@pytest.mark.parametrize("cls", [KSVD, MOD])
@pytest.mark.parametrize("masked", [False, True])
def test_error_non_increasing_between_iterations(cls, masked):
    X, _, _ = make_sparse_coded_signal(400, n_components=30, n_features=16, n_nonzero_coefs=3,
                                       noise_level=0.05, random_state=1)
    mask = None
    if masked:
        mask = np.random.default_rng(1).random(X.shape) > 0.2
    est = cls(30, n_nonzero_coefs=3, max_iter=15, tol=0.0, random_state=1).fit(X, mask=mask)
    e = est.error_
    steps = np.diff(e)
    # the objective can only rise in an iteration that replaced atoms
    no_rep = est.n_replaced_[1:] == 0
    assert no_rep.sum() >= 5
    assert np.all(steps[no_rep] <= 1e-9 * e[:-1][no_rep])
    # and without replacement at all it is monotone from start to end
    est2 = cls(30, n_nonzero_coefs=3, max_iter=10, tol=0.0, clear_dict=False,
               random_state=1).fit(X, mask=mask)
    assert np.all(np.diff(est2.error_) <= 1e-9 * est2.error_[:-1])
    assert est2.n_replaced_.sum() == 0


# -------------------------------------------------------------------------- kernels
def _approx_ksvd_reference(X, C, D):
    """Rubinstein et al. TR CS-2008-08, Alg. 5, written with dense numpy."""
    C, D = C.copy(), D.copy()
    for k in range(D.shape[0]):
        om = np.flatnonzero(C[:, k])
        if om.size == 0:
            continue
        g = C[om, k]
        E = X[om] - C[om] @ D + np.outer(g, D[k])
        d = E.T @ g
        d /= np.linalg.norm(d)
        C[om, k] = E @ d
        D[k] = d
    return C, D


def test_ksvd_sweep_matches_reference_formula():
    X, D0, _ = make_sparse_coded_signal(200, n_components=20, n_features=10,
                                        n_nonzero_coefs=3, noise_level=0.1, random_state=3)
    rng = np.random.default_rng(3)
    D = D0 + 0.3 * rng.standard_normal(D0.shape)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=3)
    C_ref, D_ref = _approx_ksvd_reference(X, C, D)
    R, C1, D1 = X - C @ D, C.copy(), D.copy()
    ksvd_sweep(R, C1, D1, np.ones(20, dtype=bool), np.zeros((1, 1)), False, 1)
    np.testing.assert_allclose(D1, D_ref, atol=1e-10)
    np.testing.assert_allclose(C1, C_ref, atol=1e-10)
    np.testing.assert_allclose(R, X - C1 @ D1, atol=1e-10)


def test_ksvd_sweep_many_steps_is_exact_ksvd():
    # power-iteration steps converge to the leading singular pair of E
    X, D, _ = make_sparse_coded_signal(100, n_components=8, n_features=6, n_nonzero_coefs=2,
                                       noise_level=0.3, random_state=4)
    C = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=2)
    om = np.flatnonzero(C[:, 0])
    E = X[om] - C[om] @ D + np.outer(C[om, 0], D[0])
    u, s, vt = np.linalg.svd(E)
    R, C1, D1 = X - C @ D, C.copy(), D.copy()
    free = np.zeros(8, dtype=bool)
    free[0] = True
    ksvd_sweep(R, C1, D1, free, np.zeros((1, 1)), False, 500)
    assert abs(abs(D1[0] @ vt[0]) - 1) < 1e-8
    np.testing.assert_allclose(np.abs(C1[om, 0]), s[0] * np.abs(u[:, 0]), atol=1e-6)


def test_masked_omp_all_observed_equals_batch_omp():
    X, D, _ = make_sparse_coded_signal(50, n_components=30, n_features=15, n_nonzero_coefs=4,
                                       noise_level=0.05, random_state=5)
    out = np.zeros((50, 30))
    masked_omp(D, X, np.ones_like(X), 4, 0.0, False, out)
    np.testing.assert_allclose(out, sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=4),
                               atol=1e-9)


def test_masked_omp_equals_omp_on_observed_rows():
    X, D, _ = make_sparse_coded_signal(20, n_components=30, n_features=15, n_nonzero_coefs=3,
                                       noise_level=0.05, random_state=6)
    M = np.random.default_rng(6).random(X.shape) > 0.3
    out = np.zeros((20, 30))
    masked_omp(D, X, M.astype(float), 3, 0.0, False, out)
    for i in range(20):
        A = D[:, M[i]].T  # atoms restricted to the observed entries, as columns
        ref = omp(A, X[i, M[i]], n_nonzero_coefs=3).coef
        np.testing.assert_allclose(out[i], ref, atol=1e-8)


def test_masked_grad_matches_finite_differences():
    rng = np.random.default_rng(7)
    D = rng.standard_normal((6, 5))
    X = rng.standard_normal((9, 5))
    H = (rng.random(X.shape) < 0.4).astype(float)
    S = 1.0 - H
    for enc, kw in (("topk", dict(k=2)), ("soft", dict(tau=0.3))):
        _, g = masked_loss_grad(D, X, S, H, enc, **kw)
        num = np.zeros_like(D)
        h = 1e-6
        for i in range(6):
            for j in range(5):
                Dp, Dm = D.copy(), D.copy()
                Dp[i, j] += h
                Dm[i, j] -= h
                num[i, j] = (masked_loss_grad(Dp, X, S, H, enc, **kw)[0]
                             - masked_loss_grad(Dm, X, S, H, enc, **kw)[0]) / (2 * h)
        np.testing.assert_allclose(g, num, rtol=1e-5, atol=1e-7)


def _noisy_signals(seed, snr_db=10.0):
    Xc, D, _ = make_sparse_coded_signal(3000, n_components=16, n_features=32,
                                        n_nonzero_coefs=3, amplitude="uniform",
                                        random_state=seed)
    sigma = np.sqrt(np.mean(Xc**2) / 10 ** (snr_db / 10))
    return Xc + sigma * np.random.default_rng(seed).standard_normal(Xc.shape), D


def _mmc(D, D_hat):
    return float(np.mean(np.max(np.abs(D @ D_hat.T), axis=1)))


@pytest.mark.parametrize("seed", [0, 2])
def test_masking_helps_over_realised_noisy(seed):
    # spec B2.3 (scaled down): SNR 10 dB, K' = 4K, same encoder and budget;
    # measured gaps on seeds 0-2: 0.094, 0.050, 0.066
    X, D = _noisy_signals(seed)
    std = MaskedDictionaryLearning(64, mask_fraction=0.0, max_iter=30, random_state=seed).fit(X)
    msk = MaskedDictionaryLearning(64, mask_fraction=0.5, max_iter=30, random_state=seed).fit(X)
    assert _mmc(D, msk.components_) - _mmc(D, std.components_) >= 0.05
    assert msk.error_[-1] < msk.error_[0]


def test_masked_learner_at_exact_size():
    X, D = _noisy_signals(0)
    est = MaskedDictionaryLearning(16, mask_fraction=0.5, max_iter=30, random_state=0).fit(X)
    assert _mmc(D, est.components_) > 0.9


# ------------------------------------------------------------------------ conventions
ALL = [
    lambda: KSVD(10, n_nonzero_coefs=2, max_iter=3, random_state=0),
    lambda: MOD(10, n_nonzero_coefs=2, max_iter=3, random_state=0),
    lambda: OnlineDictionaryLearning(10, n_nonzero_coefs=2, batch_size=20, max_iter=2,
                                     random_state=0),
    lambda: MaskedDictionaryLearning(10, n_nonzero_coefs=2, max_iter=2, random_state=0),
]


@pytest.mark.parametrize("make", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_unit_norm_atoms_dtype_and_inputs_untouched(make, dtype):
    X = np.random.default_rng(0).standard_normal((60, 8)).astype(dtype)
    X0 = X.copy()
    est = make().fit(X)
    assert est.components_.dtype == dtype
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-5)
    code = est.transform(X)
    assert code.dtype == dtype and code.shape == (60, 10)
    assert np.all(np.count_nonzero(code, axis=1) <= 2)
    assert est.n_iter_ >= 1 and len(est.error_) >= 1
    np.testing.assert_array_equal(X, X0)


@pytest.mark.parametrize("make", ALL)
def test_fixed_atoms_are_kept(make):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 8))
    F = rng.standard_normal((3, 8)) * 2.0
    est = make().set_params(fixed_atoms=F).fit(X)
    np.testing.assert_allclose(est.components_[:3], F / np.linalg.norm(F, axis=1)[:, None],
                               atol=1e-12)
    assert est.components_.shape == (10, 8)


def test_transform_any_registered_encoder(easy):
    X, _, _ = easy
    est = KSVD(48, n_nonzero_coefs=2, max_iter=2, random_state=0).fit(X)
    mp = est.set_params(transform_algorithm="mp", transform_n_nonzero_coefs=5).transform(X[:10])
    ref = sparse_encode(X[:10], est.components_, algorithm="mp", n_nonzero_coefs=5)
    np.testing.assert_allclose(mp, ref)
    with pytest.raises(ValueError, match="transform_algorithm"):
        KSVD(4, transform_algorithm="nope").fit(X[:, :8])


def test_verbose_prints_progress(capsys, easy):
    X, _, _ = easy
    KSVD(48, n_nonzero_coefs=2, max_iter=2, tol=0.0, verbose=1, random_state=0).fit(X)
    out = capsys.readouterr().out
    assert "[KSVD] iteration 1" in out and "iteration 2" in out


def test_budget_exhausted_warns_with_figure():
    X = np.random.default_rng(0).standard_normal((100, 8))
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2.*reached"):
        warnings.simplefilter("always")
        KSVD(12, n_nonzero_coefs=2, max_iter=2, tol=1e-12, random_state=0).fit(X)


def test_duplicated_atoms_are_replaced():
    X, D, _ = make_sparse_coded_signal(300, n_components=10, n_features=12, n_nonzero_coefs=2,
                                       random_state=2)
    init = np.vstack([D[:9], D[0]])  # atom 9 duplicates atom 0
    # atoms are replaced between iterations (never after the last one)
    est = KSVD(10, n_nonzero_coefs=2, max_iter=2, tol=0.0, init=init, random_state=0).fit(X)
    assert est.n_replaced_[0] == 0 and est.n_replaced_[1] >= 1
    G = np.abs(est.components_ @ est.components_.T) - np.eye(10)
    assert G.max() < 0.99


# ------------------------------------------------------------------------ missing data
def test_missing_data_fit_and_inpainting(easy):
    X, D, _ = easy
    rng = np.random.default_rng(0)
    M = rng.random(X.shape) > 0.25  # 25% of the entries missing
    Xn = np.where(M, X, np.nan)
    est = KSVD(48, n_nonzero_coefs=2, max_iter=30, random_state=0).fit(Xn, mask=M)
    assert recovered(D, est.components_, 0.98) >= 0.85
    code = est.transform(Xn, mask=M)
    Xh = code @ est.components_
    # the missing entries are predicted from the observed ones
    rel = np.linalg.norm((Xh - X)[~M]) / np.linalg.norm(X[~M])
    assert rel < 0.2
    mod = MOD(48, n_nonzero_coefs=2, max_iter=10, random_state=0).fit(Xn, mask=M)
    assert mod.error_[-1] < mod.error_[0]


def test_mask_input_errors(easy):
    X, _, _ = easy
    est = KSVD(48, n_nonzero_coefs=2, max_iter=1).fit(X)
    with pytest.raises(ValueError, match="mask must have the shape"):
        est.transform(X, mask=np.ones((3, 3), dtype=bool))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="observed entries"):
        est.transform(Xn, mask=np.ones(X.shape, dtype=bool))
    with pytest.raises(ValueError, match="masked OMP"):
        est.set_params(transform_algorithm="mp").transform(X, mask=np.ones(X.shape, bool))


# -------------------------------------------------------------------------- online
def test_partial_fit_over_chunks_equals_one_pass_fit(easy):
    X, _, _ = easy
    init = overcomplete_dct(32, 48)
    kw = dict(n_nonzero_coefs=2, batch_size=50, init=init, random_state=3)
    full = OnlineDictionaryLearning(48, max_iter=1, shuffle=False, tol=0.0,
                                    max_no_improvement=None, **kw).fit(X)
    part = OnlineDictionaryLearning(48, **kw)
    for start in range(0, 1000, 200):
        part.partial_fit(X[start:start + 200])
    assert part.n_steps_ == full.n_steps_ == 20
    np.testing.assert_allclose(part.components_, full.components_, atol=1e-12)
    np.testing.assert_allclose(part.A_, full.A_, atol=1e-12)
    np.testing.assert_allclose(part.B_, full.B_, atol=1e-12)


def test_online_statistics_follow_forgetting_rule():
    X = np.random.default_rng(0).standard_normal((30, 6))
    est = OnlineDictionaryLearning(8, n_nonzero_coefs=2, batch_size=10, init="odct",
                                   random_state=0)
    est.partial_fit(X[:10])
    D0 = est._D.copy()
    A1 = est.A_.copy()
    est2 = OnlineDictionaryLearning(8, n_nonzero_coefs=2, batch_size=10, init="odct",
                                    random_state=0).partial_fit(X[:10])
    # the statistics are those of the signals scaled by 2**-scale_exponent_ (exact)
    Xs = np.ldexp(X[10:20], -est2.scale_exponent_)
    code = sparse_encode(Xs, D0, algorithm="omp", n_nonzero_coefs=2)
    est2.partial_fit(X[10:20])
    theta = 2 * 10  # step 1 < eta - 1: theta = (s + 1) * eta
    beta = (theta + 1 - 10) / (theta + 1)
    np.testing.assert_allclose(est2.A_, beta * A1 + code.T @ code / 10, atol=1e-10)


def test_partial_fit_checks_features():
    est = OnlineDictionaryLearning(4, n_nonzero_coefs=1).partial_fit(np.ones((5, 3)) +
                                                                     np.eye(5, 3))
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(np.ones((5, 4)))


# ------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("cls", [KSVD, MOD, OnlineDictionaryLearning, MaskedDictionaryLearning])
def test_bad_input_errors(cls):
    X = np.random.default_rng(0).standard_normal((30, 6))
    with pytest.raises(ValueError, match="n_components"):
        cls(0).fit(X)
    with pytest.raises(ValueError, match="init has 1 zero-norm atom"):
        bad = np.ones((4, 6))
        bad[2] = 0.0
        cls(4, n_nonzero_coefs=1, init=bad).fit(X)
    with pytest.raises(ValueError, match="init must have shape"):
        cls(4, n_nonzero_coefs=1, init=np.ones((3, 6))).fit(X)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        cls(4, n_nonzero_coefs=1).fit(Xn)
    with pytest.raises(ValueError, match="n_nonzero_coefs=7"):
        cls(8, n_nonzero_coefs=7).fit(X)
    with pytest.raises(ValueError, match="at least one atom must be left"):
        cls(3, n_nonzero_coefs=1, fixed_atoms=np.eye(3, 6)).fit(X)


# ------------------------------------------------------------------------ properties
@settings(max_examples=15, deadline=None)
@given(scale=st.floats(1e-3, 1e3), seed=st.integers(0, 1000))
def test_ksvd_is_scale_invariant(scale, seed):
    # data init normalises the signals and OMP supports do not depend on the
    # scale, so the learned atoms are identical and the relative error too
    X = np.random.default_rng(seed).standard_normal((40, 6))
    a = KSVD(8, n_nonzero_coefs=2, max_iter=3, tol=0.0, random_state=seed).fit(X)
    b = KSVD(8, n_nonzero_coefs=2, max_iter=3, tol=0.0, random_state=seed).fit(scale * X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-7)
    np.testing.assert_allclose(a.error_, b.error_, rtol=1e-7, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(p=st.integers(1, 6), q=st.integers(1, 8))
def test_overcomplete_dct_unit_atoms(p, q):
    D = overcomplete_dct(p * p, q * q)
    assert D.shape == (q * q, p * p)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0)
    if p > 1 and q > 1:
        # 2-D atoms are Kronecker products of the 1-D ones
        d1 = _dct_1d(p, q)
        np.testing.assert_allclose(D[1], np.kron(d1[0], d1[1]), atol=1e-12)


def test_bcd_and_sparse_statistics_match_dense_reference():
    from sparsecode.dictionary._kernels import bcd_update, online_stats

    rng = np.random.default_rng(9)
    X, D, _ = make_sparse_coded_signal(64, n_components=20, n_features=10, n_nonzero_coefs=3,
                                       noise_level=0.1, random_state=9)
    D = D + 0.2 * rng.standard_normal(D.shape)
    code = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=3)
    A0, B0 = rng.random((20, 20)), rng.random((20, 10))
    A0 = A0 @ A0.T
    A, B = A0.copy(), B0.copy()
    ss = online_stats(code, X, D, A, B, 0.7, 1 / 64)
    np.testing.assert_allclose(A, 0.7 * A0 + code.T @ code / 64, atol=1e-12)
    np.testing.assert_allclose(B, 0.7 * B0 + code.T @ X / 64, atol=1e-12)
    assert ss == pytest.approx(np.sum((X - code @ D) ** 2))
    # Mairal et al. Alg. 2 / scikit-learn's _update_dict, one pass in numpy
    ref = D.copy()
    for j in range(20):
        u = ref[j] + (B[j] - A[j] @ ref) / A[j, j]
        ref[j] = u / max(np.linalg.norm(u), 1.0)
    free = np.ones(20, dtype=bool)
    bcd_update(D, A, B, free, 1e-12)
    np.testing.assert_allclose(D, ref, atol=1e-10)


def test_online_missing_data(easy):
    X, D, _ = easy
    M = np.random.default_rng(0).random(X.shape) > 0.25
    Xn = np.where(M, X, np.nan)
    est = OnlineDictionaryLearning(48, n_nonzero_coefs=2, batch_size=64, max_iter=20,
                                   random_state=0).fit(Xn, mask=M)
    assert est.A_.shape == (32, 48, 48)  # one statistic per feature
    assert recovered(D, est.components_, 0.98) >= 0.75  # measured 0.83
    # an all-observed mask is the unmasked algorithm (same numbers)
    kw = dict(n_nonzero_coefs=2, batch_size=50, init=overcomplete_dct(32, 48), max_iter=1,
              shuffle=False, tol=0.0, max_no_improvement=None, random_state=3)
    a = OnlineDictionaryLearning(48, **kw).fit(X, mask=np.ones(X.shape, dtype=bool))
    b = OnlineDictionaryLearning(48, **kw).fit(X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-12)
    # partial_fit with masks over chunks equals one pass of fit
    part = OnlineDictionaryLearning(48, **{k: v for k, v in kw.items()
                                           if k in ("n_nonzero_coefs", "batch_size", "init",
                                                    "random_state")})
    for s in range(0, 1000, 200):
        part.partial_fit(Xn[s:s + 200], mask=M[s:s + 200])
    full = OnlineDictionaryLearning(48, **kw).fit(Xn, mask=M)
    np.testing.assert_allclose(part.components_, full.components_, atol=1e-12)
    with pytest.raises(ValueError, match="started without one"):
        b.partial_fit(X[:50], mask=M[:50])


def test_masked_bcd_reduces_to_bcd_and_minimises_block():
    from sparsecode.dictionary._kernels import bcd_update, bcd_update_masked

    rng = np.random.default_rng(10)
    K, n = 6, 5
    D = rng.standard_normal((K, n))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = rng.standard_normal((40, K)) * (rng.random((40, K)) < 0.4)
    X = rng.standard_normal((40, n))
    W = (rng.random((40, n)) < 0.7).astype(float)
    A, B = C.T @ C, C.T @ X
    D1, D2 = D.copy(), D.copy()
    free = np.ones(K, dtype=bool)
    bcd_update(D1, A, B, free, 1e-12)
    bcd_update_masked(D2, np.repeat(A[None], n, 0), B, free, 1e-12)
    np.testing.assert_allclose(D1, D2, atol=1e-12)
    # with a mask, each block step minimises the masked loss over the unit ball
    Ar = np.einsum("ir,ij,ik->rjk", W, C, C)
    Bm = C.T @ (W * X)

    def loss(Dm):
        return 0.5 * np.sum(W * (X - C @ Dm) ** 2)

    D3 = D.copy()
    only0 = np.zeros(K, dtype=bool)
    only0[0] = True
    bcd_update_masked(D3, Ar, Bm, only0, 1e-12)
    assert np.linalg.norm(D3[0]) <= 1 + 1e-9
    for _ in range(200):  # no feasible perturbation of atom 0 does better
        trial = D3.copy()
        v = D3[0] + 0.05 * rng.standard_normal(n)
        trial[0] = v / max(np.linalg.norm(v), 1.0)
        assert loss(trial) >= loss(D3) - 1e-10
