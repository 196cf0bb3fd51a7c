"""init= choices from the extraction methods and n_components="auto" in every NMF estimator."""

import warnings

import numpy as np
import pytest

from sparsecode.unmixing import (
    L12NMF,
    CorrentropyNMF,
    NMFUnmixing,
    RobustGuidedNMF,
    StructuredSparseNMF,
    atgp,
    fcls,
    nfindr,
    sisal,
)
from sparsecode.unmixing._nmf import _initialize

ESTIMATORS = [NMFUnmixing, L12NMF, CorrentropyNMF, RobustGuidedNMF, StructuredSparseNMF]
EXTRACTION = ["nfindr", "atgp", "ppi", "sisal"]


def _scene(p=3, L=30, rows=12, cols=12, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, size=(p, L))
    N = rows * cols
    A = np.vstack([np.eye(p), rng.dirichlet(np.ones(p), size=N - p)])
    A = A[rng.permutation(N)]
    return (A @ E).reshape(rows, cols, L), E, A


def _max_sad(E, M):
    En = E / np.linalg.norm(E, axis=1, keepdims=True)
    Mn = M / np.linalg.norm(M, axis=1, keepdims=True)
    return float(np.max(np.arccos(np.clip((Mn @ En.T).max(axis=0), -1, 1))))


@pytest.mark.parametrize("init", ["nfindr", "atgp"])
def test_first_iterate_is_the_extraction_and_fcls(init):
    cube, _E, _ = _scene()
    X = cube.reshape(-1, cube.shape[-1])
    rng = np.random.RandomState(0)
    W0, H0 = _initialize(X, 3, init, rng, None, None, None, 1.0, 1)
    M = (nfindr if init == "nfindr" else atgp)(X, 3, projected=True)[0]
    np.testing.assert_allclose(H0, np.maximum(M, 1e-6 * M.max()), rtol=1e-10)
    A = fcls(X, M)
    np.testing.assert_allclose(W0, np.maximum(A, 1e-6), atol=1e-8)


def test_first_iterate_sisal():
    cube, _E, _ = _scene()
    X = cube.reshape(-1, cube.shape[-1])
    _W0, H0 = _initialize(X, 3, "sisal", np.random.RandomState(0), None, None, None, 0.0, 1)
    M = np.clip(sisal(X, 3, random_state=np.random.RandomState(0)), 0, None)
    np.testing.assert_allclose(H0, np.maximum(M, 1e-6 * X.max()), rtol=1e-10)


@pytest.mark.parametrize("init", EXTRACTION + ["vca"])
def test_one_sweep_from_exact_vertices_stays_there(init):
    # noiseless data with pure pixels: the extraction start is the exact
    # factorisation, a fixed point of the multiplicative updates
    cube, E, _ = _scene()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = NMFUnmixing(3, init=init, max_iter=1, tol=0, random_state=0).fit(cube)
    assert _max_sad(E, est.components_) < (5e-3 if init == "sisal" else 1e-5)


def test_random_start_is_not_the_solution():
    # the previous test can fail: a start away from the vertices is not a fixed point
    cube, E, _ = _scene()
    est = NMFUnmixing(3, init="random", max_iter=1, tol=0, random_state=0).fit(cube)
    assert _max_sad(E, est.components_) > 1e-2


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("init", EXTRACTION)
def test_every_estimator_accepts_the_extraction_inits(cls, init):
    cube, E, _ = _scene()
    kw = {"image_shape": cube.shape[:2]} if cls is RobustGuidedNMF else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = cls(3, init=init, max_iter=5, random_state=0, **kw).fit(cube)
    assert est.components_.shape == (3, cube.shape[-1])
    assert _max_sad(E, est.components_) < 0.05


def test_bad_init_and_auto_spelling():
    cube, _E, _ = _scene()
    with pytest.raises(ValueError, match="init"):
        NMFUnmixing(3, init="n-findr").fit(cube)
    with pytest.raises(ValueError, match="n_components"):
        NMFUnmixing("Auto").fit(cube)


@pytest.mark.parametrize("init", ["nfindr", "sisal"])
def test_n_components_above_the_data_dimension(init):
    cube, _E, _ = _scene(p=3)
    # 3 endmembers span a plane: 5 simplex vertices are not identifiable
    with pytest.raises(ValueError, match=r"n_components=5 is larger than the data allow"):
        NMFUnmixing(5, init=init).fit(cube)


def test_n_components_auto_uses_the_subspace_estimate():
    from sparsecode.datasets import make_hyperspectral_mixture
    from sparsecode.unmixing import estimate_n_endmembers

    Y, _M, _A, _ = make_hyperspectral_mixture(3, 50, (30, 30), snr=40, random_state=1)
    k = estimate_n_endmembers(Y)
    assert k == 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = CorrentropyNMF("auto", init="nfindr", max_iter=5, random_state=0).fit(Y)
    assert est.n_components_ == k
    assert est.components_.shape == (k, Y.shape[-1])
    assert est.get_params()["n_components"] == "auto"


def test_n_components_auto_with_masked_nan_entries():
    from sparsecode.datasets import make_hyperspectral_mixture
    from sparsecode.unmixing import estimate_n_endmembers

    Y, _M, _A, _ = make_hyperspectral_mixture(3, 50, (30, 30), snr=40, random_state=1)
    Y = Y.reshape(-1, 50)
    Yn = Y.copy()
    Yn[5, 7] = np.nan
    mask = np.isnan(Yn)
    filled = Yn.copy()
    filled[5, 7] = np.nanmean(Yn[:, 7])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = NMFUnmixing("auto", max_iter=5, random_state=0).fit(Yn, mask=mask)
    assert est.n_components_ == estimate_n_endmembers(filled) == 3
