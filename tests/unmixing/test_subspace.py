"""HySime, HFC / NWHFC virtual dimensionality and estimate_n_endmembers (issue 16, spec
5.1-5.2). Synthetic scenes with a known number of endmembers (= dimension of the signal
subspace: sum-to-one abundances, uncentred data) at SNR 30 dB, white or band-coloured
Gaussian noise, sizes (N = 1600 pixels >> L = 100 bands) where the estimate is exact
with margin."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from sparsecode.datasets import make_hyperspectral_mixture
from sparsecode.unmixing import estimate_n_endmembers, estimate_noise, hfc_vd, hysime


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small matrices: BLAS threads only cost time on a loaded machine
    with threadpool_limits(1):
        yield


def _scene(K, snr=30.0, coloured=False, L=100, side=40, seed=0):
    """Noiseless mixture + Gaussian noise of power mean(Y0^2) / 10^(snr/10) on average,
    constant over the bands (white) or with a Gaussian profile (coloured, as in the
    HySime paper's experiments)."""
    Y0, M, A, _ = make_hyperspectral_mixture(K, L, (side, side), random_state=seed)
    rng = np.random.default_rng(seed + 100)
    prof = np.ones(L)
    if coloured:
        i = np.arange(L)
        prof = np.exp(-((i - L / 2) ** 2) / (2 * (L / 10) ** 2))
        prof /= prof.mean()
    s2 = np.mean(Y0 ** 2) / 10 ** (snr / 10) * prof
    return Y0 + rng.standard_normal(Y0.shape) * np.sqrt(s2), M, s2


def _loop_noise(Y):
    """The reference algorithm, band by band (spec 5.1 / pysptools est_additive_noise),
    with the same relative ridge."""
    X = Y.T  # bands x pixels
    L = X.shape[0]
    R = X @ X.T
    R[np.diag_indices(L)] += 1e-10 * np.trace(R) / L
    Ri = np.linalg.inv(R)
    W = np.empty_like(X)
    for i in range(L):
        Xi = Ri - np.outer(Ri[:, i], Ri[i, :]) / Ri[i, i]
        rho = R[:, i].copy()
        rho[i] = 0.0
        beta = Xi @ rho
        beta[i] = 0.0
        W[i] = X[i] - beta @ X
    return W.T


def test_vectorised_noise_equals_per_band_regression():
    Y, _, _ = _scene(4, L=30, side=20)
    W, Rn = estimate_noise(Y)
    Wl = _loop_noise(Y)
    np.testing.assert_allclose(W, Wl, rtol=1e-6, atol=1e-9 * np.abs(Y).max())
    np.testing.assert_allclose(np.diag(Rn), np.mean(Wl ** 2, axis=0), rtol=1e-6)
    assert np.count_nonzero(Rn - np.diag(np.diag(Rn))) == 0


@pytest.mark.parametrize("coloured", [False, True], ids=["white", "coloured"])
def test_gram_only_hysime_equals_explicit_noise_path(coloured):
    # the additive path never forms W (one N L^2 Gram product); it must agree with
    # HySime run on the explicit regression residual W
    Y, _, _ = _scene(5, coloured=coloured, seed=2)
    W, _ = estimate_noise(Y)
    k, E = hysime(Y)
    kw, Ew = hysime(Y, noise=W)
    assert k == kw == 5
    np.testing.assert_allclose(np.abs(E.T @ Ew), np.eye(k), atol=1e-8)


def test_noise_estimate_white():
    Y, _, s2 = _scene(5)
    _, Rn = estimate_noise(Y)
    ratio = np.diag(Rn) / s2
    # N = 1600 samples per band: sampling error ~ 3.5 %; regression leakage inflates a little
    assert 0.8 < ratio.min() and ratio.max() < 1.4


@pytest.mark.parametrize("coloured", [False, True], ids=["white", "coloured"])
@pytest.mark.parametrize("K", [3, 5, 8])
def test_hysime_recovers_the_dimension(K, coloured):
    Y, M, _ = _scene(K, coloured=coloured, seed=K)
    k, E = hysime(Y)
    assert k == K
    assert E.shape == (100, K)
    np.testing.assert_allclose(E.T @ E, np.eye(K), atol=1e-10)
    # the endmembers lie in the estimated subspace up to the noise level
    res = np.linalg.norm(M.T - E @ (E.T @ M.T)) / np.linalg.norm(M)
    assert res < 0.02


def test_hysime_cube_float32_scale_and_no_mutation():
    Y, _, _ = _scene(4)
    Y0 = Y.copy()
    k, E = hysime(Y)
    assert np.array_equal(Y, Y0)
    kc, Ec = hysime(Y.reshape(40, 40, 100))
    assert kc == k
    np.testing.assert_allclose(np.abs(Ec.T @ E), np.eye(k), atol=1e-8)
    k32, E32 = hysime(Y.astype(np.float32))
    assert k32 == k and E32.dtype == np.float32
    # relative ridge: tiny or huge units give the same answer (an absolute 1e-6 ridge, as in
    # the reference code, swamps data in units of 1e-8)
    assert hysime(Y * 1e-8)[0] == k and hysime(Y * 1e8)[0] == k


def test_hysime_poisson_counts_auto():
    Y0, _, _, _ = make_hyperspectral_mixture(4, 100, (40, 40), random_state=0)
    counts = np.random.default_rng(0).poisson(1e3 * Y0).astype(float)
    assert hysime(counts)[0] == 4                      # "auto" -> poisson on integer data
    assert hysime(counts, noise="poisson")[0] == 4


def test_hysime_given_noise_array():
    Y, _, s2 = _scene(3, seed=3)
    W, _ = estimate_noise(Y)
    assert hysime(Y, noise=W)[0] == 3
    # no noise at all: every direction with any energy is kept (at most rank(Y) = L)
    assert hysime(Y, noise=np.zeros_like(Y))[0] > 3


@pytest.mark.parametrize("K", [3, 4])
def test_hfc_white_noise(K):
    Y, _, _ = _scene(K, seed=K)
    assert hfc_vd(Y) == K
    vds = hfc_vd(Y, far=[1e-3, 1e-4, 1e-5])
    assert vds == sorted(vds, reverse=True)            # stricter test, fewer components
    assert estimate_n_endmembers(Y, method="hfc") == K


def test_nwhfc_coloured_noise():
    # plain HFC counts the strongly coloured noise bands as signal; whitening removes it
    Y, _, _ = _scene(3, coloured=True, seed=3)
    assert hfc_vd(Y) > 3 + 1
    assert abs(hfc_vd(Y, whiten=True) - 3) <= 1
    assert abs(estimate_n_endmembers(Y, method="nwhfc") - 3) <= 1


def test_estimate_n_endmembers_default_is_hysime():
    Y, _, _ = _scene(5, coloured=True, seed=5)
    assert estimate_n_endmembers(Y) == 5 == hysime(Y)[0]
    assert estimate_n_endmembers(Y.reshape(40, 40, 100), method="hysime") == 5


@pytest.mark.parametrize("call, match", [
    (lambda Y: hysime(Y, noise="gauss"), "noise must be"),
    (lambda Y: hysime(Y, noise=np.ones((3, 3))), "noise must be a str or an array"),
    (lambda Y: hfc_vd(Y, far=0.0), "far must be"),
    (lambda Y: hfc_vd(Y, far=[1e-3, 2.0]), "far must be"),
    (lambda Y: hfc_vd(Y, variant="x"), "variant must be"),
    (lambda Y: estimate_n_endmembers(Y, method="vd"), "method must be"),
    (lambda Y: estimate_n_endmembers(Y, method="hfc", far=[1e-3]), "far must be one"),
    (lambda Y: hysime(Y[:1]), "at least 2 pixels"),
    (lambda Y: hysime(Y[:, 0]), "must be a matrix"),
])
def test_bad_input(call, match):
    Y, _, _ = _scene(3, L=20, side=10)
    with pytest.raises(ValueError, match=match):
        call(Y)


def test_nan_rejected():
    Y, _, _ = _scene(3, L=20, side=10)
    Y[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN|infinity"):
        hysime(Y)
