"""RobustGuidedNMF fast paths give the results of the direct computations.

The window graph is built from slices of the cube (not from gathered pixel
pairs and ``coo -> csr``), the guidance solve runs its own conjugate gradient on
``I + beta L`` formed once (not ``scipy.sparse.linalg.cg`` on a matrix formed at
every call) and the purity uses ``||a|| / 1^T a``.  Each is compared here with
the straightforward computation it replaces, and a whole fit with both.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import cg

from sparsecode.unmixing import RobustGuidedNMF, pixel_graph
from sparsecode.unmixing import _rgnmf
from sparsecode.unmixing._rgnmf import _Guidance, _purity


def _graph_direct(cube, kind, w):
    """Window graph from gathered pixel pairs, one coo list per offset."""
    rows, cols, L = cube.shape
    X = cube.reshape(-1, L)
    X = X / 2.0 ** np.round(np.log2(np.abs(X).max()))
    N = rows * cols
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    I, J, V = [], [], []
    for dr in range(-w, w + 1):
        for dc in range(-w, w + 1):
            if dr == 0 and dc == 0:
                continue
            ok = (rr + dr >= 0) & (rr + dr < rows) & (cc + dc >= 0) & (cc + dc < cols)
            i = np.flatnonzero(ok)
            j = (rr[i] + dr) * cols + (cc[i] + dc)
            I.append(i)
            J.append(j)
            V.append(np.sum((X[i] - X[j]) ** 2, axis=1) if kind == "heat" else np.ones(i.size))
    I, J, V = np.concatenate(I), np.concatenate(J), np.concatenate(V)
    if kind == "heat":
        V = np.exp(-V / max(float(V.mean()), 1e-300))
    return sp.coo_matrix((V, (I, J)), shape=(N, N)).tocsr()


def _purity_direct(W):
    K = W.shape[1]
    nrm = np.linalg.norm(W / np.maximum(W.sum(axis=1, keepdims=True), 1e-300), axis=1)
    return np.clip((np.sqrt(K) * nrm - 1.0) / (np.sqrt(K) - 1.0), 0.0, 1.0)


class _GuidanceDirect:
    """scipy's cg on I + beta L formed at each call, from the previous map."""

    def __init__(self, lap, beta, tau_h, h_max):
        self.lap, self.beta, self.tau_h, self.h_max = lap, beta, tau_h, h_max
        self.h = None

    def __call__(self, W):
        pi = _purity_direct(W)
        if self.lap is not None and self.beta > 0:
            A = sp.identity(pi.size, format="csr") + self.beta * self.lap
            h, _ = cg(A, pi, x0=pi if self.h is None else self.h, rtol=1e-6, maxiter=200)
        else:
            h = pi
        h = np.clip(np.sign(h) * np.maximum(np.abs(h) - self.tau_h, 0.0), 0.0, self.h_max)
        self.h = h
        return 1.0 - h


@pytest.mark.parametrize("shape,w", [((7, 9), 1), ((5, 6), 2), ((1, 8), 1), ((3, 2), 3),
                                     ((2, 2), 1)])
@pytest.mark.parametrize("kind", ["heat", "binary"])
def test_window_graph_matches_pairwise_construction(shape, w, kind):
    cube = np.random.default_rng(0).uniform(0.1, 2.0, size=shape + (11,))
    A = _graph_direct(cube, kind, w)
    B = pixel_graph(cube, kind=kind, window=w)
    assert B.format == "csr" and B.shape == A.shape
    np.testing.assert_array_equal(B.indptr, A.indptr)
    np.testing.assert_array_equal(B.indices, A.indices)
    np.testing.assert_allclose(B.data, A.data, rtol=1e-13, atol=0)


def test_purity_matches_normalised_rows():
    rng = np.random.default_rng(1)
    W = np.vstack([rng.dirichlet(0.4 * np.ones(4), size=50) * rng.uniform(1e-3, 1e3, (50, 1)),
                   np.zeros((1, 4)), np.full((1, 4), 1e300)])
    np.testing.assert_allclose(_purity(W), _purity_direct(W), rtol=1e-13, atol=1e-15)


def test_guidance_matches_scipy_cg_over_successive_calls():
    # warm starts from the previous map, as in a fit
    rng = np.random.default_rng(2)
    cube = rng.uniform(size=(12, 10, 6))
    Wg = pixel_graph(cube, kind="heat", window=1)
    lap = sp.diags(np.asarray(Wg.sum(axis=1)).ravel()) - Wg
    new, old = _Guidance(lap, 1.0, 0.1, 0.9), _GuidanceDirect(lap, 1.0, 0.1, 0.9)
    for _ in range(4):
        W = rng.dirichlet(0.3 * np.ones(3), size=120)
        np.testing.assert_allclose(new(W), old(W), rtol=0, atol=1e-12)
        np.testing.assert_allclose(new.h, old.h, rtol=0, atol=1e-12)


@pytest.mark.parametrize("delta", [15.0, 0.0])
def test_fit_matches_direct_graph_and_guidance(monkeypatch, delta):
    rng = np.random.default_rng(3)
    E = rng.uniform(0.1, 1.0, size=(3, 20))
    cube = rng.dirichlet(0.4 * np.ones(3), size=(9, 8)) @ E + 1e-3 * rng.uniform(size=(9, 8, 20))
    kw = dict(n_components=3, max_iter=40, tol=0, guidance_every=5, init="vca",
              random_state=0, delta=delta)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = RobustGuidedNMF(**kw).fit(cube)
        monkeypatch.setattr(_rgnmf, "_Guidance", _GuidanceDirect)
        monkeypatch.setattr(_rgnmf, "pixel_graph",
                            lambda X, shape, kind, window: _graph_direct(
                                np.asarray(X).reshape(shape + (-1,)), kind, window))
        slow = RobustGuidedNMF(**kw).fit(cube)
    scale = np.abs(slow.components_).max()
    np.testing.assert_allclose(fast.components_, slow.components_, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(fast.guidance_map_, slow.guidance_map_, rtol=0, atol=1e-10)
    # band weights are 1 / residual norms: round-off of the two graph paths, amplified
    # over 40 sweeps, reaches a few 1e-10 here
    np.testing.assert_allclose(fast.band_weights_, slow.band_weights_, rtol=1e-9)
    np.testing.assert_allclose(fast.objective_, slow.objective_, rtol=1e-10)
