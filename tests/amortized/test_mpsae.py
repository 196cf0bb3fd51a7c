"""MatchingPursuitAutoencoder: unrolled matching pursuit as the encoder (spec section 4)."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsecode.amortized._mpsae import (
    MatchingPursuitAutoencoder,
    _aux_dead,
    _mp_backward,
    _mp_codes,
    _mp_forward,
)
from sparsecode.amortized._optim import Adam, linear_decay, warmup
from sparsecode.datasets import make_hierarchical_features, make_planted_features
from sparsecode.greedy import matching_pursuit


def _unit_rows(rng, n, d):
    W = rng.standard_normal((n, d))
    return W / np.linalg.norm(W, axis=1, keepdims=True)


@pytest.mark.parametrize("selection", ["nonneg", "value", "abs"])
def test_backward_matches_finite_differences(selection):
    rng = np.random.default_rng(0)
    B, d, n, T = 6, 5, 8, 4
    X = rng.standard_normal((B, d))
    W = _unit_rows(rng, n, d)
    bpre = 0.1 * rng.standard_normal(d)

    def loss(W, bpre):
        idx, _, RT = _mp_forward(X - bpre, W, T, selection)
        return np.sum(RT * RT) / B, idx

    idx, coef, RT = _mp_forward(X - bpre, W, T, selection)
    dW, dR0 = _mp_backward(2 * RT / B, idx, coef, RT, W)
    h = 1e-6
    num = np.zeros_like(W)
    for i, j in np.ndindex(W.shape):
        Wp, Wm = W.copy(), W.copy()
        Wp[i, j] += h
        Wm[i, j] -= h
        (lp, ip), (lm, im) = loss(Wp, bpre), loss(Wm, bpre)
        assert np.array_equal(ip, idx) and np.array_equal(im, idx)  # choices fixed
        num[i, j] = (lp - lm) / (2 * h)
    np.testing.assert_allclose(dW, num, atol=1e-6)
    nb = np.array([(loss(W, bpre + h * e)[0] - loss(W, bpre - h * e)[0]) / (2 * h)
                   for e in np.eye(d)])
    np.testing.assert_allclose(-dR0.sum(axis=0), nb, atol=1e-6)


def test_forward_gram_equals_residual_correlations():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 7))
    W = _unit_rows(rng, 12, 7)
    idx, coef, RT = _mp_forward(X, W, 5, "abs")
    Z = _mp_codes(idx, coef, 12, X.dtype)
    np.testing.assert_allclose(X - Z @ W, RT, atol=1e-12)
    # re-run step by step with explicit residuals
    R = X.copy()
    rows = np.arange(30)
    for t in range(5):
        C = R @ W.T
        j = np.argmax(np.abs(C), axis=1)
        assert np.array_equal(j, idx[t])
        R -= C[rows, j][:, None] * W[j]
    np.testing.assert_allclose(R, RT, atol=1e-12)


def _fitted(X, **kw):
    params = dict(n_latents=16, n_steps=3, max_iter=1, batch_size=64, random_state=0)
    params.update(kw)
    return MatchingPursuitAutoencoder(**params).fit(X)


def test_encoder_equals_library_matching_pursuit():
    X, _, _ = make_planted_features(200, 10, 16, 3, nonnegative=False, random_state=0)
    model = _fitted(X, selection="abs", fit_pre_bias=False)
    for T in (1, 3, 6):
        codes = model.transform(X, n_steps=T)
        A = model.components_.T
        ref = matching_pursuit(A, X.T, n_nonzero_coefs=T, max_iter=T).coef.T
        np.testing.assert_allclose(codes, ref, atol=1e-10)


def test_residual_norm_non_increasing_and_reconstruction():
    X, _, _ = make_hierarchical_features(300, random_state=0)
    model = _fitted(X, n_latents=20, n_steps=2)
    errs = []
    for T in range(1, 7):
        codes = model.transform(X, n_steps=T)
        assert codes.min() >= 0
        assert np.all((codes != 0).sum(axis=1) <= T)
        Xh = model.inverse_transform(codes)
        errs.append(np.sum((X - Xh) ** 2, axis=1))
    errs = np.array(errs)
    assert np.all(np.diff(errs, axis=0) <= 1e-10)


def test_training_decreases_loss_and_keeps_unit_atoms():
    X, _, _ = make_hierarchical_features(4000, random_state=0)
    model = _fitted(X, n_latents=20, n_steps=2, max_iter=4, learning_rate=3e-3)
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    np.testing.assert_allclose(np.linalg.norm(model.components_, axis=1), 1.0, rtol=1e-10)
    assert model.n_steps_ == 4 * 63


def test_recovers_planted_flat_atoms_and_revives_dead_atoms():
    # d = 16, 24 planted atoms, 2 active, 32 latents.  Without the revival term
    # one atom stays unused; with it none is dead and every planted atom is found.
    X, D, _ = make_planted_features(8000, 16, 24, 2, random_state=0)
    res = {}
    for aux in (0.0, 1 / 32):
        opt = Adam(lr=1e-2, betas=(0.5, 0.9375), schedule=linear_decay(500, 0.1))
        model = MatchingPursuitAutoencoder(32, n_steps=2, fit_pre_bias=False, max_iter=8,
                                           aux_coef=aux, dead_after_n_samples=1000,
                                           optimizer=opt, batch_size=128,
                                           random_state=0).fit(X)
        best = np.abs(D @ model.components_.T).max(axis=1)
        res[aux] = (np.mean(best > 0.95), model.dead_fraction_)
    assert res[0.0][1] > 0
    assert res[1 / 32][1] == 0
    assert res[1 / 32][0] >= 0.95


def test_aux_term_gradient_matches_finite_differences():
    rng = np.random.default_rng(3)
    E = rng.standard_normal((7, 5))
    Wd = _unit_rows(rng, 6, 5)
    for sel in ("nonneg", "abs"):
        _, dWd = _aux_dead(E, Wd, 2, sel)
        num = np.zeros_like(Wd)
        h = 1e-6
        for ix in np.ndindex(Wd.shape):
            Wp, Wm = Wd.copy(), Wd.copy()
            Wp[ix] += h
            Wm[ix] -= h
            num[ix] = (_aux_dead(E, Wp, 2, sel)[0] - _aux_dead(E, Wm, 2, sel)[0]) / (2 * h)
        np.testing.assert_allclose(dWd, num, atol=1e-6)


def test_recovers_hierarchical_features():
    # spec 4.3 at intra-level cosine 0.4 with the toy optimiser (Adam 3e-2, betas
    # (0.5, 0.9375), warm-up then linear decay): mean best |cos| over the 20 features
    X, D, _ = make_hierarchical_features(10000, intra_cosine=0.4, random_state=0)
    opt = Adam(lr=3e-2, betas=(0.5, 0.9375), schedule=warmup(100, then=linear_decay(650, 0.1)))
    model = MatchingPursuitAutoencoder(20, n_steps=3, fit_pre_bias=False, max_iter=15,
                                       optimizer=opt, batch_size=200, random_state=1).fit(X)
    assert np.abs(D @ model.components_.T).max(axis=1).mean() >= 0.9


def test_float32_in_float32_out_and_csr():
    X, _, _ = make_planted_features(300, 8, 12, 2, dtype=np.float32, random_state=0)
    model = _fitted(X, n_latents=12, n_steps=2)
    assert model.components_.dtype == np.float32
    dense = model.transform(X)
    assert dense.dtype == np.float32
    csr = model.transform(X, output="csr")
    assert csr.dtype == np.float32 and csr.format == "csr"
    np.testing.assert_array_equal(csr.toarray(), dense)
    assert model.inverse_transform(csr).dtype == np.float32


def test_sklearn_api_clone_and_pipeline():
    X, _, _ = make_planted_features(200, 8, 12, 2, random_state=0)
    model = MatchingPursuitAutoencoder(12, n_steps=2, max_iter=1, random_state=0)
    c = clone(model)
    assert c.get_params() == model.get_params()
    pipe = make_pipeline(StandardScaler(), c).fit(X)
    assert pipe.transform(X).shape == (200, 12)
    # partial_fit continues, and checks the width
    m = MatchingPursuitAutoencoder(12, n_steps=2, random_state=0)
    m.partial_fit(X[:100]).partial_fit(X[100:])
    assert m.n_steps_ == 2
    with pytest.raises(ValueError, match="features"):
        m.partial_fit(X[:, :5])


@pytest.mark.parametrize("params, match", [
    (dict(n_steps=0), "n_steps"),
    (dict(selection="max"), "selection"),
    (dict(n_inference_steps=0), "n_inference_steps"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(learning_rate=-1.0), "learning_rate"),
    (dict(aux_coef=-0.1), "aux_coef"),
    (dict(k_aux=0), "k_aux"),
    (dict(dead_after_n_samples="never"), "dead_after_n_samples"),
])
def test_bad_parameters(params, match):
    X, _, _ = make_planted_features(50, 6, 8, 2, random_state=0)
    with pytest.raises(ValueError, match=match):
        MatchingPursuitAutoencoder(8, max_iter=1, **params).fit(X)


def test_bad_data_and_transform_steps():
    X, _, _ = make_planted_features(50, 6, 8, 2, random_state=0)
    Xn = X.copy()
    Xn[3, 2] = np.nan
    with pytest.raises(ValueError):
        MatchingPursuitAutoencoder(8, max_iter=1).fit(Xn)
    model = _fitted(X, n_latents=8)
    with pytest.raises(ValueError, match="n_steps"):
        model.transform(X, n_steps=-1)
    with pytest.raises(ValueError, match="features"):
        model.transform(X[:, :4])


def test_divergence_stops_with_error_and_no_nan_atoms():
    X, _, _ = make_planted_features(256, 6, 8, 2, random_state=0)
    X = X * 1e200  # trained at unit scale: the learning rate alone makes it diverge
    model = MatchingPursuitAutoencoder(8, n_steps=2, max_iter=1, batch_size=64,
                                       optimizer="sgd", learning_rate=1e300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="step"):
            model.fit(X)
    assert np.isfinite(model.components_).all()


def test_registered_encoder_equals_model_transform():
    from sparsecode import sparse_encode

    X, _, _ = make_hierarchical_features(300, random_state=0)
    model = _fitted(X, n_latents=20, n_steps=2)
    ref = model.transform(X, n_steps=3)
    codes = sparse_encode(X - model.decoder_bias_, model.components_, algorithm="mp_sae",
                          n_nonzero_coefs=3)
    np.testing.assert_allclose(codes, ref, atol=1e-12)
    with pytest.raises(ValueError, match="selection"):
        sparse_encode(X, model.components_, algorithm="mp_sae", n_nonzero_coefs=2,
                      selection="max")


def test_residual_tol_stops_each_sample_when_the_residual_stops_decreasing():
    rng = np.random.default_rng(5)
    d, n, T = 10, 16, 8
    W = _unit_rows(rng, n, d)
    # sample 0: one atom (the residual vanishes after one step); sample 1: generic
    X = np.vstack([1.5 * W[3], rng.standard_normal(d)])
    tol = 1e-3
    idx, coef, RT = _mp_forward(X, W, T, "abs", residual_tol=tol)
    ref_idx, ref_coef, ref_RT = _mp_forward(X, W, T, "abs")
    # sample 0 is done after its first step: the next would remove (almost) nothing
    assert coef[0, 0] == pytest.approx(1.5) and np.all(coef[1:, 0] == 0)
    assert np.abs(ref_coef[1:, 0]).max() < 1e-12          # without tol: dead steps
    # every active step lowered ||r||^2 by more than tol times its value then; the first
    # inactive one would not have
    E = np.sum(X * X, axis=1)
    for b in range(2):
        for t in range(T):
            if coef[t, b] == 0:
                assert ref_coef[t, b] ** 2 <= max(tol * E[b], 1e-15)
                assert np.all(coef[t:, b] == 0)
                break
            assert coef[t, b] ** 2 > tol * E[b]
            assert coef[t, b] == ref_coef[t, b] and idx[t, b] == ref_idx[t, b]
            E[b] -= coef[t, b] ** 2
    np.testing.assert_allclose(X - _mp_codes(idx, coef, n, X.dtype) @ W, RT, atol=1e-12)


def test_residual_tol_in_the_estimator():
    X, _, _ = make_hierarchical_features(600, random_state=0)
    kw = dict(n_latents=20, n_steps=6, max_iter=2, random_state=0)
    m = MatchingPursuitAutoencoder(residual_tol=0.05, **kw).fit(X)
    full = MatchingPursuitAutoencoder(**kw).fit(X)
    nnz = np.count_nonzero(m.transform(X), axis=1)
    assert nnz.max() <= 6 and nnz.mean() < np.count_nonzero(full.transform(X), axis=1).mean()
    with pytest.raises(ValueError, match="residual_tol"):
        MatchingPursuitAutoencoder(residual_tol=2.0).fit(X)


def test_residual_tol_of_one_is_refused():
    # c_j^2 <= ||r||^2 for unit atoms: residual_tol=1 would stop every sample at step 0
    X = np.random.default_rng(0).standard_normal((64, 8))
    with pytest.raises(ValueError, match="residual_tol"):
        MatchingPursuitAutoencoder(12, n_steps=4, residual_tol=1.0, max_iter=1).fit(X)
