"""RobustGuidedNMF guidance map (spec A2.2): purity, smoothing, and what the
sum-to-one constraint (the default, spec A2.2 ``asc=True, delta=15``) does to it."""

import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve

from sparsecode.unmixing import RobustGuidedNMF
from sparsecode.unmixing._rgnmf import _Guidance, _purity


def _fit(Y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return RobustGuidedNMF(3, max_iter=50, random_state=0, **kw).fit(Y)


def _block_scene(shade=False, seed=0):
    """24 x 24 image: top half three pure blocks, bottom half Dirichlet(2) mixtures.

    Endmember 2 is dark (15 % of the others' level).  ``shade``: every pixel is
    multiplied by a brightness in [0.6, 1] (illumination), which sum-to-one
    abundances of fixed endmembers cannot express.
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 40)
    E = np.stack([0.2 + 0.6 * np.exp(-(((t - c) / 0.15) ** 2)) for c in (0.2, 0.5, 0.8)])
    E[2] *= 0.15
    A = np.zeros((24, 24, 3))
    for k in range(3):
        A[:12, 8 * k:8 * (k + 1), k] = 1.0
    A[12:] = rng.dirichlet(2.0 * np.ones(3), size=(12, 24))
    A = A.reshape(-1, 3)
    Y = A @ E
    if shade:
        Y = Y * rng.uniform(0.6, 1.0, size=(Y.shape[0], 1))
    return Y.reshape(24, 24, 40), A


def test_purity_formula():
    # pi_n = (sqrt(K) ||a_n / 1^T a_n|| - 1) / (sqrt(K) - 1): 1 on a vertex, 0 at
    # the centre, invariant to the pixel's scale (computed on a_n / 1^T a_n)
    rng = np.random.default_rng(0)
    W = np.vstack([np.eye(3) * 0.7, np.full((1, 3), 0.2), rng.uniform(size=(20, 3))])
    pi = _purity(W)
    np.testing.assert_allclose(pi[:3], 1.0)
    np.testing.assert_allclose(pi[3], 0.0, atol=1e-15)
    abar = W[4:] / W[4:].sum(axis=1, keepdims=True)
    expect = (np.sqrt(3) * np.linalg.norm(abar, axis=1) - 1) / (np.sqrt(3) - 1)
    np.testing.assert_allclose(pi[4:], expect, rtol=1e-12)
    np.testing.assert_allclose(_purity(W * rng.uniform(0.1, 10, size=(W.shape[0], 1))), pi,
                               rtol=1e-12, atol=1e-15)


def test_guidance_step_is_smoothed_thresholded_purity():
    # h = clip(soft((I + beta L)^-1 pi, tau_h), 0, h_max), returned as p = 1 - h
    rng = np.random.default_rng(1)
    n = 30
    S = sp.random(n, n, density=0.2, random_state=1)
    S = (S + S.T).tocsr()
    lap = (sp.diags(np.asarray(S.sum(axis=1)).ravel()) - S).tocsr()
    W = rng.dirichlet(0.3 * np.ones(3), size=n)
    g = _Guidance(lap, 1.5, 0.1, 0.9)
    p = g(W)
    h = spsolve((sp.identity(n) + 1.5 * lap).tocsc(), _purity(W))
    h = np.clip(np.maximum(h - 0.1, 0.0), 0.0, 0.9)
    np.testing.assert_allclose(g.h, h, atol=1e-5)
    np.testing.assert_allclose(p, 1.0 - g.h)


def test_guidance_map_highlights_pure_pixels_under_sum_to_one():
    # spec A2.4 (2) where the linear model with sum-to-one holds exactly
    # (noiseless, pure pixels present): with the default sum-to-one row the map
    # is larger on the pure blocks than on the mixtures (measured 0.83)
    Y, A = _block_scene()
    est = _fit(Y)
    assert est.delta == 15.0
    h = est.guidance_map_.ravel()
    amax = A.max(axis=1)
    assert h[amax > 0.9].mean() - h[amax < 0.6].mean() > 0.5


def test_sum_to_one_turns_shade_into_the_dark_endmember():
    # With per-pixel brightness b in [0.6, 1], a shaded pure pixel b m_k has
    # abundances (b, 0, 0) without the sum-to-one row (purity 1 after
    # normalisation), but about (b, 0, 1 - b) with it (the dark endmember m_2 ~ 0
    # stands in for the missing brightness; purity ~0.6 at b = 0.8).  This is
    # what lowers the guidance contrast of the sum-to-one default on Samson.
    Y, A = _block_scene(shade=True)
    h_asc = _fit(Y).guidance_map_.ravel()
    h_free = _fit(Y, delta=0.0).guidance_map_.ravel()
    bright = (A[:, 0] > 0.9) | (A[:, 1] > 0.9)
    dark = A[:, 2] > 0.9
    assert h_free[bright].mean() - h_asc[bright].mean() > 0.1   # measured 0.20
    assert h_asc[dark].mean() > 0.7                             # measured 0.88
    mixed = A.max(axis=1) < 0.6
    assert h_free[bright].mean() - h_free[mixed].mean() > 0.5


def test_delta_is_in_the_data_units():
    # spec 0.4: the delta row is a row of the augmented data.  The l2,1 IRLS band
    # weights are normalised to mean 1 (their overall scale only balances the data
    # term against delta^2 and lam), so the abundance step is a weighted
    # least-squares problem like the other NMF estimators' and fitting c Y with
    # (lam, delta) is fitting Y with (lam / c^2, delta / c); the internal
    # power-of-two rescaling keeps it.  Before, the raw weights 1 / ||e^l|| (mean
    # 0.19 on Jasper Ridge, 0.08 on 10,000 synthetic pixels) divided delta^2 and
    # the equivalence was (lam / c, delta / sqrt(c)).
    Y, _ = _block_scene(shade=True)
    a = _fit(4.0 * Y, lam=1.6, delta=6.0)
    b = _fit(Y, lam=0.1, delta=1.5)
    np.testing.assert_allclose(a.band_weights_.mean(), 1.0, rtol=1e-12)
    np.testing.assert_allclose(a.band_weights_, b.band_weights_, rtol=1e-10)
    np.testing.assert_allclose(a.guidance_map_, b.guidance_map_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(a.components_, 4.0 * b.components_, rtol=1e-10)
