"""PredictiveSparseDecomposition: dictionary + tanh encoder trained jointly (spec section 1)."""

import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsecode.amortized._psd import (
    PredictiveSparseDecomposition,
    _fista,
    _gram_or_dict,
    _lasso_objective,
    _lipschitz,
    _predict,
    _psd_gradients,
)
from sparsecode.datasets import make_planted_features


@pytest.mark.parametrize("encoder", ["tanh", "tanh_shrink", "linear"])
def test_gradients_match_finite_differences(encoder):
    rng = np.random.default_rng(0)
    B, d, n, beta = 5, 4, 6, 0.7
    X = rng.standard_normal((B, d))
    Z = rng.standard_normal((B, n))
    C = rng.standard_normal((n, d))
    W = 0.3 * rng.standard_normal((n, d))
    b = 0.1 * rng.standard_normal(n)
    g = rng.standard_normal(n)

    def f(C, W, b, g):
        P, _ = _predict(X, W, b, g, encoder)
        return (0.5 * np.sum((X - Z @ C) ** 2) + 0.5 * beta * np.sum((Z - P) ** 2)) / B

    grads = _psd_gradients(X, Z, C, W, b, g, beta, encoder)
    args = [C, W, b, g]
    h = 1e-6
    for k, G in enumerate(grads):
        num = np.zeros_like(args[k])
        for ix in np.ndindex(args[k].shape):
            ap = [a.copy() for a in args]
            am = [a.copy() for a in args]
            ap[k][ix] += h
            am[k][ix] -= h
            num[ix] = (f(*ap) - f(*am)) / (2 * h)
        np.testing.assert_allclose(G, num, atol=1e-7)


def test_batched_fista_solves_the_lasso():
    # the FISTA kernel against scikit-learn's Lasso (objective scaled by 1/d)
    rng = np.random.default_rng(1)
    d, n, lam = 12, 20, 0.1
    C = rng.standard_normal((n, d))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    X = rng.standard_normal((4, d))
    Z, _, conv = _fista(X @ C.T, C @ C.T, np.zeros((4, n)), None, lam, 0.0,
                        _lipschitz(C, 0.0), 20000, tol=1e-12)
    assert conv
    for i in range(4):
        ref = Lasso(alpha=lam / d, fit_intercept=False, tol=1e-14, max_iter=100000)
        ref.fit(C.T, X[i])
        e_ref = _lasso_objective(X[i:i + 1], ref.coef_[None], C, lam)[0]
        e_ours = _lasso_objective(X[i:i + 1], Z[i:i + 1], C, lam)[0]
        assert abs(e_ours - e_ref) <= 1e-7 * e_ref
        np.testing.assert_allclose(Z[i], ref.coef_, atol=1e-4)


def test_joint_fista_minimises_three_term_energy():
    # joint coupling: still a lasso; its minimiser is a fixed point of the prox step
    rng = np.random.default_rng(2)
    d, n, lam, beta = 6, 9, 0.2, 1.5
    C = rng.standard_normal((n, d))
    X = rng.standard_normal((3, d))
    P = rng.standard_normal((3, n))
    L = _lipschitz(C, beta)
    Z, _, conv = _fista(X @ C.T, C @ C.T, P, P, lam, beta, L, 50000, tol=1e-13)
    assert conv
    grad = (Z @ C - X) @ C.T + beta * (Z - P)
    # subgradient optimality: |grad| <= lam off the support, grad = -lam sign(z) on it
    on = Z != 0
    np.testing.assert_allclose(grad[on], -lam * np.sign(Z[on]), atol=1e-8)
    assert np.all(np.abs(grad[~on]) <= lam + 1e-8)


@pytest.fixture(scope="module")
def planted():
    X, D, _ = make_planted_features(4000, 16, 24, 3, random_state=0)
    return X, D


@pytest.fixture(scope="module")
def fitted(planted):
    X, _ = planted
    return PredictiveSparseDecomposition(24, alpha=0.05, max_iter=6, batch_size=128,
                                         learning_rate=5e-3, random_state=0).fit(X)


def test_objective_decreases_and_atoms_unit(fitted):
    curve = np.asarray(fitted.loss_curve_)
    assert curve[-1] < 0.8 * curve[0]
    assert np.all(np.diff(curve) < 0)
    np.testing.assert_allclose(np.linalg.norm(fitted.components_, axis=1), 1.0, rtol=1e-10)


def test_predictor_gap_shrinks_with_training(planted):
    X, _ = planted
    m = PredictiveSparseDecomposition(24, alpha=0.05, max_iter=1, batch_size=128,
                                      learning_rate=5e-3, random_state=0)
    m.partial_fit(X)
    gap1 = m.predictor_gap_
    for _ in range(5):
        m.partial_fit(X)
    assert 0 <= m.predictor_gap_ < gap1


def test_encoder_plus_ista_approaches_ista_codes(fitted, planted):
    X, _ = planted
    Xt = X[:300]
    lam = fitted.alpha
    C = fitted.components_
    e_star = _lasso_objective(Xt, fitted.transform(Xt, inference="ista"), C, lam).sum()
    gaps = []
    for steps in (0, 5, 50, 500):
        Z = fitted.transform(Xt, inference="encoder+ista", n_ista_steps=steps)
        gaps.append(_lasso_objective(Xt, Z, C, lam).sum() - e_star)
    np.testing.assert_allclose(gaps[0], _lasso_objective(
        Xt, fitted.transform(Xt, inference="encoder"), C, lam).sum() - e_star)
    assert gaps[0] > gaps[1] > gaps[2] >= -1e-8 * e_star
    assert gaps[3] <= 1e-4 * e_star


def test_warm_and_cold_ista_agree(fitted, planted):
    # convex problem: started from the prediction or from zero, same minimum
    X, _ = planted
    Xt = X[:200]
    C = fitted.components_
    P = fitted.transform(Xt, inference="encoder")
    cold = fitted.transform(Xt, inference="ista")
    warm, _, _ = _fista(Xt @ C.T, C @ C.T, P, None, fitted.alpha, 0.0, _lipschitz(C, 0.0),
                        5000, tol=1e-9)
    e_cold = _lasso_objective(Xt, cold, C, fitted.alpha).sum()
    e_warm = _lasso_objective(Xt, warm, C, fitted.alpha).sum()
    assert abs(e_cold - e_warm) <= 1e-3 * e_cold


def test_ista_mode_is_sparse_encoder_is_not_exactly(fitted, planted):
    X, _ = planted
    Z = fitted.transform(X[:100], inference="ista", output="csr")
    np.testing.assert_array_equal(Z.toarray(), fitted.transform(X[:100], inference="ista"))
    Zd = fitted.transform(X[:100], inference="encoder")
    assert np.count_nonzero(Zd) > Z.nnz


def test_decoupled_and_linear_variants_train(planted):
    X, _ = planted
    for kw in (dict(coupling="decoupled"), dict(encoder="linear"), dict(warm_start_ista=False),
               dict(prediction_weight=0.0)):
        m = PredictiveSparseDecomposition(24, alpha=0.05, max_iter=2, batch_size=256,
                                          learning_rate=5e-3, random_state=0, **kw).fit(X)
        assert m.loss_curve_[-1] < m.loss_curve_[0]
        assert np.isfinite(m.components_).all()


def test_recovers_planted_atoms():
    X, D, _ = make_planted_features(5000, 16, 24, 2, random_state=0)
    m = PredictiveSparseDecomposition(32, alpha=0.05, max_iter=8, batch_size=128,
                                      learning_rate=1e-2, lr_schedule="linear",
                                      random_state=0).fit(X)
    best = np.abs(D @ m.components_.T).max(axis=1)
    assert np.mean(best > 0.95) >= 0.9


def test_float32_in_float32_out():
    X, _, _ = make_planted_features(400, 8, 12, 2, dtype=np.float32, random_state=0)
    m = PredictiveSparseDecomposition(12, max_iter=1, random_state=0).fit(X)
    assert m.components_.dtype == np.float32 and m.encoder_weights_.dtype == np.float32
    for mode in ("encoder", "encoder+ista", "ista"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            assert m.transform(X, inference=mode).dtype == np.float32
    assert m.inverse_transform(m.transform(X)).dtype == np.float32


def test_sklearn_api_clone_pipeline_partial_fit():
    X, _, _ = make_planted_features(300, 8, 12, 2, random_state=0)
    m = PredictiveSparseDecomposition(12, max_iter=1, random_state=0)
    c = clone(m)
    assert c.get_params() == m.get_params()
    pipe = make_pipeline(StandardScaler(), c).fit(X)
    assert pipe.transform(X).shape == (300, 12)
    p = PredictiveSparseDecomposition(12, batch_size=100, random_state=0)
    p.partial_fit(X[:200]).partial_fit(X[200:])
    assert p.n_steps_ == 3
    with pytest.raises(ValueError, match="features"):
        p.partial_fit(X[:, :3])
    # same seed, same model
    a = PredictiveSparseDecomposition(12, max_iter=1, random_state=3).fit(X)
    b = PredictiveSparseDecomposition(12, max_iter=1, random_state=3).fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)


@pytest.mark.parametrize("params, match", [
    (dict(alpha=0.0), "alpha"),
    (dict(prediction_weight=-1.0), "prediction_weight"),
    (dict(encoder="relu"), "encoder"),
    (dict(coupling="both"), "coupling"),
    (dict(n_ista_steps=-1), "n_ista_steps"),
    (dict(inference="fast"), "inference"),
    (dict(learning_rate=0.0), "learning_rate"),
])
def test_bad_parameters(params, match):
    X, _, _ = make_planted_features(50, 6, 8, 2, random_state=0)
    with pytest.raises(ValueError, match=match):
        PredictiveSparseDecomposition(8, max_iter=1, **params).fit(X)


def test_bad_transform_arguments_and_data():
    X, _, _ = make_planted_features(60, 6, 8, 2, random_state=0)
    m = PredictiveSparseDecomposition(8, max_iter=1, random_state=0).fit(X)
    with pytest.raises(ValueError, match="inference"):
        m.transform(X, inference="lasso")
    with pytest.raises(ValueError, match="n_ista_steps"):
        m.transform(X, inference="encoder+ista", n_ista_steps=-2)
    Xn = X.copy()
    Xn[0, 0] = np.inf
    with pytest.raises(ValueError):
        m.transform(Xn)
    with pytest.raises(ValueError):
        PredictiveSparseDecomposition(8, max_iter=1).fit(Xn)


def test_divergence_stops_with_error_and_no_nan_atoms():
    X, _, _ = make_planted_features(256, 6, 8, 2, random_state=0)
    m = PredictiveSparseDecomposition(8, max_iter=1, batch_size=64, optimizer="sgd",
                                      learning_rate=1e300, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(FloatingPointError, match="step"):
            m.fit(X * 1e150)
    assert np.isfinite(m.components_).all()
    assert np.isfinite(m.encoder_weights_).all()


def test_fista_through_dictionary_equals_through_gram():
    # n > 2d: the gradient goes through C twice instead of the n x n Gram matrix
    rng = np.random.default_rng(4)
    C = rng.standard_normal((30, 6))
    X = rng.standard_normal((5, 6))
    P = rng.standard_normal((5, 30))
    L = _lipschitz(C, 0.5)
    a, _, _ = _fista(X @ C.T, C @ C.T, P, P, 0.1, 0.5, L, 40)
    b, _, _ = _fista(X @ C.T, _gram_or_dict(C), P, P, 0.1, 0.5, L, 40)
    assert _gram_or_dict(C) is C
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_ista_codes_match_registered_lasso_over_the_dictionary(fitted, planted):
    # same objective 1/2||x - zB||^2 + alpha||z||_1: sparse_encode(algorithm="lasso")
    from sparsecode import sparse_encode

    X, _ = planted
    Xt = X[:100]
    C = fitted.components_
    ours = fitted.transform(Xt, inference="ista")
    # inference="ista" is that coder (one source for the lasso codes)
    np.testing.assert_array_equal(ours, sparse_encode(Xt, C, algorithm="lasso",
                                                      alpha=fitted.alpha))
    ref = sparse_encode(Xt, C, algorithm="lasso", alpha=fitted.alpha, tol=1e-10,
                        max_iter=10000)
    e_ours = _lasso_objective(Xt, ours, C, fitted.alpha).sum()
    e_ref = _lasso_objective(Xt, ref, C, fitted.alpha).sum()
    assert abs(e_ours - e_ref) <= 1e-5 * e_ref


def test_float64_tanh_matches_numpy():
    from sparsecode.amortized._psd import _tanh_inplace

    x = np.concatenate([np.linspace(-30, 30, 2001), [0.0, 1e-300, -1e-12, 700.0, -800.0]])
    np.testing.assert_allclose(_tanh_inplace(x.copy()), np.tanh(x), rtol=0, atol=4e-16)
    x32 = x.astype(np.float32)
    np.testing.assert_array_equal(_tanh_inplace(x32.copy()), np.tanh(x32))


@pytest.mark.parametrize("encoder", ["tanh", "tanh_shrink", "linear"])
@pytest.mark.parametrize("c", [2.0 ** -50, 2.0 ** -500, 2.0 ** 400])
def test_training_is_scale_equivariant(encoder, c):
    """Training runs on X / 2**e with alpha / 2**e: fitting c X with alpha is fitting X
    with alpha / c, codes scaled by c (c a power of two) -- the learning rate does not
    depend on the data scale (an Adam step on absolute biases would make the codes of
    1e-15 X 1e12 times too large)."""
    from sparsecode.amortized import PredictiveSparseDecomposition as PSD

    X, _, _ = make_planted_features(64, 8, 12, 2, random_state=0)
    kw = dict(n_latents=12, encoder=encoder, max_iter=2, batch_size=32, random_state=0)
    m1 = PSD(alpha=0.1 / c, **kw).fit(X)
    mc = PSD(alpha=0.1, **kw).fit(X * c)
    np.testing.assert_array_equal(mc.components_, m1.components_)
    np.testing.assert_array_equal(mc.transform(X * c), m1.transform(X) * c)
    np.testing.assert_array_equal(mc.transform(X * c, inference="encoder+ista"),
                                  m1.transform(X, inference="encoder+ista") * c)
    assert mc.predictor_gap_ == m1.predictor_gap_


def test_tanh_shrink_encoder_is_g_times_s_minus_tanh_s():
    # F(y) = g (s - tanh s), s = W y + b: a smooth shrinkage (~ s^3 / 3 near 0, s - sign(s)
    # far out)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((7, 5))
    W = rng.standard_normal((4, 5))
    b = rng.standard_normal(4)
    g = rng.standard_normal(4)
    P, (H, T) = _predict(X, W, b, g, "tanh_shrink")
    s = X @ W.T + b
    np.testing.assert_allclose(P, g * (s - np.tanh(s)), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(T, np.tanh(s), atol=4e-16)
    Xp, _, _ = make_planted_features(3000, 16, 24, 2, random_state=0)
    m = PredictiveSparseDecomposition(24, alpha=0.05, encoder="tanh_shrink", max_iter=3,
                                      learning_rate=1e-2, random_state=0).fit(Xp)
    assert m.loss_curve_[-1] < m.loss_curve_[0]
    assert m.predictor_gap_ < 0.5


def test_batched_fista_keeps_float32():
    # the momentum step runs in the data's precision: float32 codes stay float32 and
    # follow the float64 ones to float32 round-off
    rng = np.random.default_rng(5)
    C = rng.standard_normal((12, 8))
    C /= np.linalg.norm(C, axis=1, keepdims=True)
    X = rng.standard_normal((6, 8))
    P = 0.1 * rng.standard_normal((6, 12))
    L = _lipschitz(C, 0.5)
    z64, _, _ = _fista(X @ C.T, C @ C.T, P, P, 0.1, 0.5, L, 25)
    C32, X32, P32 = C.astype(np.float32), X.astype(np.float32), P.astype(np.float32)
    z32, _, _ = _fista(X32 @ C32.T, C32 @ C32.T, P32, P32, 0.1, 0.5, L, 25)
    assert z32.dtype == np.float32
    np.testing.assert_allclose(z32, z64, atol=1e-4)
