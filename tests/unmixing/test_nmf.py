import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode import (
    L12NMF,
    CorrentropyNMF,
    NMFUnmixing,
    RobustGuidedNMF,
    StructuredSparseNMF,
)
from sparsecode.datasets import make_hyperspectral_mixture
from sparsecode.metrics import abundance_rmse, match_components, spectral_angle_distance
from sparsecode.unmixing import fcls, nndsvd, vca
from sparsecode.unmixing._nmf import _initialize, _solve

from .conftest import rel_change

ALL = [NMFUnmixing, L12NMF, CorrentropyNMF, RobustGuidedNMF, StructuredSparseNMF]


def _noisy_scene(seed=0, snr=30, n_bad=0):
    return make_hyperspectral_mixture(3, 40, (10, 10), smooth=1, snr=snr, n_corrupted_bands=n_bad,
                                      random_state=seed)


def _history(est, X, image_shape=None, **override):
    """Objective after every sweep, through the estimator's own solver settings."""
    K = est.n_components
    rng = np.random.RandomState(0)
    W, H = _initialize(X, K, "random", rng, None, None, None, est.delta, 1)
    kw = est._solver_kwargs(X, image_shape, K)
    kw.update(override)
    res = _solve(X, W, H, solver=est.solver, delta=est.delta, max_iter=60, tol=0.0,
                 history=True, **kw)
    return np.asarray(res["history"])


def _assert_monotone(h):
    assert np.all(np.diff(h) <= 1e-10 * np.abs(h[:-1])), np.diff(h).max()
    assert h[-1] < h[0]


@pytest.mark.parametrize("solver", ["mu", "hals"])
@pytest.mark.parametrize("delta", [0.0, 3.0])
def test_monotone_plain_and_l1(solver, delta):
    Y, *_ = _noisy_scene()
    for alpha in (0.0, 0.05):
        est = NMFUnmixing(3, solver=solver, delta=delta, alpha=alpha)
        _assert_monotone(_history(est, Y))


@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_monotone_l12(solver):
    # tau=0: every step minimises a majoriser (tangent of the concave a^(1/2))
    Y, *_ = _noisy_scene()
    _assert_monotone(_history(L12NMF(3, lam=0.05, tau=0.0, solver=solver, delta=15.0), Y))


@pytest.mark.parametrize("solver", ["mu", "hals"])
@pytest.mark.parametrize("sparsity", [None, "l1", "l1/2"])
def test_monotone_correntropy_fixed_sigma(solver, sparsity):
    # with a fixed kernel width, HQ + one MU/HALS sweep is an MM step on
    # sum_l sigma^2 (1 - exp(-r_l / 2 sigma^2)) + lam S(A)
    Y, *_ = _noisy_scene(n_bad=4)
    est = CorrentropyNMF(3, sigma=0.5, sparsity=sparsity, lam=0.01, tau=0.0, solver=solver,
                         delta=1.0)
    _assert_monotone(_history(est, Y))


def test_monotone_robust_guided_between_map_updates():
    # l2,1 loss by IRLS + per-pixel l_p MU; the guidance map (which changes the
    # objective) is frozen here by updating it less often than the run length
    Y, *_ = _noisy_scene(n_bad=4)
    est = RobustGuidedNMF(3, tau=0.0, guidance_every=1000)
    h = _history(est, Y, image_shape=(10, 10), p=np.full(100, 0.6))
    _assert_monotone(h)


def test_monotone_structured_sparse():
    Y, *_ = _noisy_scene()
    est = StructuredSparseNMF(3, lam=0.5, alpha=0.05, window=2, n_clusters=3, normalize_every=0,
                              random_state=0)
    _assert_monotone(_history(est, Y, image_shape=(10, 10)))


@pytest.mark.parametrize("Est", ALL)
def test_noiseless_exact_recovery_with_pure_pixels(Est, scene):
    # VCA finds the pure pixels exactly; the exact factorisation is a fixed point
    # of every update with the penalties switched off
    Y, M, A = scene
    params = {"n_components": 4, "max_iter": 50, "tol": 0.0, "random_state": 0}
    extra = {NMFUnmixing: {}, L12NMF: {"lam": 0.0}, CorrentropyNMF: {"sparsity": None},
             RobustGuidedNMF: {"lam": 0.0},
             StructuredSparseNMF: {"lam": 0.0, "alpha": 0.0, "normalize_every": 0}}[Est]
    est = Est(**params, **extra)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Ahat = est.fit_transform(Y)
    perm = match_components(M, est.components_)
    assert spectral_angle_distance(M, est.components_[perm]).max() < 1e-6
    assert abundance_rmse(A, Ahat[:, perm], normalize=True).max() < 1e-6


@pytest.mark.parametrize("init", ["nndsvd", "random"])
def test_mu_and_hals_fit_noiseless_data(scene, init):
    # both cores drive the residual of an exact rank-4 mixture towards zero
    Y, _M, _A = scene
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver, tol in (("hals", 2e-3), ("mu", 2e-2)):
            est = NMFUnmixing(4, solver=solver, init=init, max_iter=400, tol=0.0, random_state=0)
            est.fit(Y)
            assert est.reconstruction_err_ / np.linalg.norm(Y) < tol


def test_reduction_correntropy_large_theta_equals_weighted_free_model():
    # theta -> inf: all band weights -> 1, CENMF is the same sparse NMF
    Y, *_ = _noisy_scene()
    kw = {"n_components": 3, "sparsity": "l1/2", "lam": 0.02, "max_iter": 40, "tol": 0.0, "random_state": 0,
              "delta": 1.0}
    A1 = CorrentropyNMF(theta=1e12, **kw).fit_transform(Y)
    est2 = L12NMF(3, lam=0.02, tau=1e-3, delta=1.0, max_iter=40, tol=0.0, random_state=0)
    A2 = est2.fit_transform(Y)
    assert rel_change(A1, A2) < 1e-8


def _corrupted(seed):
    # 15 % of the bands get |x + N(0, (2 rms)^2)| (spec A1.5), clean bands at 40 dB
    Y, M, A, bad = make_hyperspectral_mixture(3, 60, (16, 16), dirichlet_alpha=0.3, snr=40,
                                              n_corrupted_bands=9, corruption_scale=2.0,
                                              random_state=seed)
    return Y, M, A, bad


def _auc(scores, positives):
    # probability that a corrupted band has a lower weight than a clean band
    pos, neg = scores[positives], scores[~positives]
    return np.mean(pos[:, None] < neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])


@pytest.mark.parametrize("Est", [CorrentropyNMF, RobustGuidedNMF])
def test_robust_weights_identify_bad_bands(Est):
    Y, _M, _A, bad = _corrupted(0)
    is_bad = np.zeros(Y.shape[1], bool)
    is_bad[bad] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = Est(3, max_iter=100, random_state=0).fit(Y)
    assert _auc(est.band_weights_, is_bad) >= 0.95


def test_robust_beats_plain_nmf_on_corrupted_bands():
    # spec A1.5 acceptance: same VCA-FCLS init on the corrupted data, SAD on clean bands
    sad = {"nmf": [], "cenmf": []}
    rmse = {"nmf": [], "cenmf": []}
    for seed in range(4):
        Y, M, A, bad = _corrupted(seed)
        clean = np.setdiff1d(np.arange(Y.shape[1]), bad)
        for name, est in [("nmf", NMFUnmixing(3, max_iter=200, random_state=seed)),
                          ("cenmf", CorrentropyNMF(3, sparsity=None, max_iter=200,
                                                   random_state=seed))]:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Ahat = est.fit_transform(Y)
            perm = match_components(M[:, clean], est.components_[:, clean])
            sad[name].append(spectral_angle_distance(M[:, clean],
                                                     est.components_[perm][:, clean]).mean())
            rmse[name].append(abundance_rmse(A, Ahat[:, perm], normalize=True).mean())
    assert np.mean(rmse["cenmf"]) <= np.mean(rmse["nmf"]) - 0.02
    assert np.mean(sad["cenmf"]) <= np.mean(sad["nmf"]) + 0.01


def test_fixed_components_are_held(scene):
    Y, M, _A = scene
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for solver in ("mu", "hals"):
            est = NMFUnmixing(4, solver=solver, init="random", max_iter=30, random_state=0)
            est.fit(Y, fixed_components=M[:2])
            np.testing.assert_array_equal(est.components_[:2], M[:2])
            assert not np.allclose(est.components_[2:], 0)


def test_mask_of_bad_bands_equals_fit_on_good_bands(scene):
    Y, _M, _A = scene
    mask = np.zeros(Y.shape[1], bool)
    mask[[3, 17, 30]] = True
    Yn = Y.copy()
    Yn[:, mask] = np.nan
    H0 = vca(Y, 4, random_state=0) * 1.1 + 0.01
    kw = {"n_components": 4, "init": "custom", "max_iter": 30, "tol": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        A1 = NMFUnmixing(**kw).fit_transform(Yn, H=H0, mask=mask)
        A2 = NMFUnmixing(**kw).fit_transform(Y[:, ~mask], H=H0[:, ~mask])
    np.testing.assert_allclose(A1, A2, rtol=1e-9, atol=1e-12)


def test_mask_shapes_and_errors(scene):
    Y, _M, _A = scene
    est = NMFUnmixing(4, max_iter=5, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad_pixels = np.zeros(Y.shape[0], bool)
        bad_pixels[5] = True
        est.fit(Y, mask=bad_pixels)
        cube_mask = np.zeros((12, 12, 40), bool)
        cube_mask[1, 2, 3] = True
        est.fit(Y.reshape(12, 12, -1), mask=cube_mask)
    Yn = Y.copy()
    Yn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN outside"):
        est.fit(Yn, mask=np.eye(*Y.shape, k=3, dtype=bool))
    with pytest.raises(ValueError, match="mask has shape"):
        est.fit(Y, mask=np.zeros(7, bool))
    with pytest.raises(ValueError, match="boolean"):
        est.fit(Y, mask=np.zeros(Y.shape))
    with pytest.raises(ValueError, match="solver='mu'"):
        NMFUnmixing(4, solver="hals").fit(Y, mask=np.eye(144, 40, dtype=bool))


@pytest.mark.parametrize("Est", ALL)
def test_bad_input(Est, scene):
    Y, _M, _A = scene
    est = Est(n_components=4, max_iter=5)
    with pytest.raises(ValueError, match="non-negative"):
        est.fit(Y - 0.5)
    Yn = Y.copy()
    Yn[2, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(Yn)
    with pytest.raises(ValueError, match="larger than the number of bands"):
        Est(n_components=5).fit(Y[:, :4])
    with pytest.raises(ValueError, match="cube"):
        est.fit(Y.reshape(2, 6, 12, 40))
    with pytest.raises(ValueError, match="n_components"):
        Est(n_components=0).fit(Y)


def test_cube_dtype_transform_and_attributes(scene):
    Y, _M, _A = scene
    cube = Y.reshape(12, 12, -1).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CorrentropyNMF(4, max_iter=20, random_state=0, transform_method="fcls")
        Acube = est.fit_transform(cube)
    assert Acube.shape == (12, 12, 4) and Acube.dtype == np.float32
    assert est.components_.dtype == np.float32 and est.image_shape_ == (12, 12)
    assert est.band_weights_.shape == (40,)
    At = est.transform(cube)
    assert At.shape == (12, 12, 4) and At.dtype == np.float32
    np.testing.assert_allclose(At.reshape(-1, 4), fcls(Y.astype(np.float32), est.components_),
                               atol=1e-6)
    np.testing.assert_allclose(At.sum(axis=2), 1.0, atol=1e-5)
    assert est.inverse_transform(At).shape == cube.shape
    assert np.isfinite(est.reconstruction_err_) and est.n_iter_ == 20


def test_guidance_map_shape_and_range():
    Y, _M, A, _ = make_hyperspectral_mixture(3, 30, (10, 10), smooth=1, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = RobustGuidedNMF(3, max_iter=40, random_state=0, image_shape=(10, 10)).fit(Y)
    h = est.guidance_map_
    assert h.shape == (10, 10) and h.min() >= 0 and h.max() <= 0.9
    # purer pixels get larger guidance values
    purity = A.max(axis=1).reshape(10, 10)
    assert np.corrcoef(h.ravel(), purity.ravel())[0, 1] > 0.3


def test_convergence_warning_and_verbose(scene, capsys):
    Y, _M, _A = scene
    from sklearn.exceptions import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="relative objective change"):
        NMFUnmixing(4, init="random", max_iter=10, tol=1e-12, verbose=1, random_state=0).fit(Y)
    assert "objective" in capsys.readouterr().out


def test_nndsvd_exact_for_rank_one():
    rng = np.random.default_rng(0)
    X = np.outer(rng.uniform(0.1, 1, 20), rng.uniform(0.1, 1, 8))
    W, H = nndsvd(X, 1)
    np.testing.assert_allclose(W @ H, X, rtol=1e-10)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000))
def test_scale_invariance_of_plain_nmf(seed):
    # multiplying the data by c multiplies the endmembers by c, abundances unchanged
    Y, *_ = make_hyperspectral_mixture(3, 15, (5, 5), snr=30, random_state=seed)
    kw = {"n_components": 3, "max_iter": 20, "tol": 0.0, "random_state": 0}
    est1 = NMFUnmixing(**kw)
    A1 = est1.fit_transform(Y)
    est2 = NMFUnmixing(**kw)
    A2 = est2.fit_transform(7.0 * Y)
    np.testing.assert_allclose(A1, A2, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(7.0 * est1.components_, est2.components_, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("solver,sk_solver", [("mu", "mu"), ("hals", "cd")])
def test_cores_match_scikit_learn_iterates(solver, sk_solver):
    # same start, no constraint/penalty: our MU is Lee-Seung like scikit-learn's 'mu',
    # our HALS sweeps coordinates in the order of scikit-learn's 'cd' (shuffle=False)
    from sklearn.decomposition import NMF

    Y, _M, _A, _ = make_hyperspectral_mixture(4, 30, (10, 10), snr=30, random_state=0)
    rng = np.random.default_rng(1)
    W0 = rng.uniform(0.1, 1, (100, 4))
    H0 = rng.uniform(0.1, 1, (4, 30))
    res = _solve(np.ascontiguousarray(Y), W0.copy(), H0.copy(), solver=solver, max_iter=50,
                 tol=0.0)
    sk = NMF(4, solver=sk_solver, init="custom", max_iter=50, tol=0.0,
             **({"shuffle": False} if sk_solver == "cd" else {}))
    ours = NMFUnmixing(4, solver=solver, init="custom", max_iter=50, tol=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        Ws = sk.fit_transform(Y, W=W0.copy(), H=H0.copy())
        ours.fit(Y, W=W0, H=H0)
    np.testing.assert_allclose(res["H"], sk.components_, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(res["W"], Ws, rtol=1e-6, atol=1e-9)
    # the estimator runs the same core; its endmembers differ from scikit-learn's only
    # by the per-endmember scale of the sum-to-one convention (W H is the same)
    c = np.linalg.norm(ours.components_, axis=1) / np.linalg.norm(sk.components_, axis=1)
    np.testing.assert_allclose(ours.components_, c[:, None] * sk.components_, rtol=1e-6,
                               atol=1e-9)
    assert abs(ours.reconstruction_err_ - sk.reconstruction_err_) < 1e-8 * np.linalg.norm(Y)


def test_image_shape_and_full_mask_errors(scene):
    Y, _M, _A = scene
    with pytest.raises(ValueError, match="image_shape"):
        RobustGuidedNMF(4, image_shape=(5, 5)).fit(Y)
    with pytest.raises(ValueError, match="image_shape"):
        StructuredSparseNMF(4, image_shape=(12,)).fit(Y)
    with pytest.raises(ValueError, match="masks every entry"):
        NMFUnmixing(4).fit(Y, mask=np.ones(Y.shape, bool))


@pytest.mark.parametrize("Est", [NMFUnmixing, CorrentropyNMF])
@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_results_do_not_depend_on_threads(Est, solver, scene):
    Y, _, _ = scene
    kw = {"n_components": 4, "solver": solver, "init": "random", "max_iter": 20, "tol": 0.0, "random_state": 0}
    A1 = Est(n_jobs=1, **kw).fit_transform(Y)
    A2 = Est(n_jobs=2, **kw).fit_transform(Y)
    np.testing.assert_array_equal(A1, A2)
