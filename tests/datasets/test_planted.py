"""Planted-feature generators: flat supports and the MP-SAE hierarchical construction."""

import numpy as np
import pytest

from sparsecode.datasets import make_hierarchical_features, make_planted_features
from sparsecode.datasets._planted import _CHILDREN, _PARENTS, _SINGLETONS, _mixing_eps


def test_planted_shapes_support_and_model():
    X, D, C = make_planted_features(500, 12, 40, 4, random_state=0)
    assert X.shape == (500, 12) and D.shape == (40, 12) and C.shape == (500, 40)
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-12)
    assert np.all((C != 0).sum(axis=1) == 4)
    assert C.min() >= 0 and C[C != 0].min() >= 0.5 and C.max() <= 1.5
    np.testing.assert_allclose(X, C @ D, atol=1e-12)
    # supports are spread over all atoms (uniform draw)
    counts = (C != 0).sum(axis=0)
    assert counts.min() > 0


def test_planted_options_reproducible_dtype():
    a = make_planted_features(50, 8, 10, 2, nonnegative=False, amplitude="gaussian",
                              noise_level=0.1, offset=3.0, dtype=np.float32, random_state=3)
    b = make_planted_features(50, 8, 10, 2, nonnegative=False, amplitude="gaussian",
                              noise_level=0.1, offset=3.0, dtype=np.float32, random_state=3)
    for u, v in zip(a, b):
        assert u.dtype == np.float32
        np.testing.assert_array_equal(u, v)
    X, D, C = a
    assert (C < 0).any()
    # the offset has norm 3: the mean of X - C D is that offset up to the noise
    off = (X - C @ D).mean(axis=0)
    assert abs(np.linalg.norm(off) - 3.0) < 0.1


@pytest.mark.parametrize("kwargs, match", [
    (dict(k=11), "k must be at most n_atoms"),
    (dict(noise_level=-1.0), "noise_level"),
    (dict(noise_level=np.inf), "noise_level"),
    (dict(amplitude="bimodal"), "amplitude"),
    (dict(n_samples=0), "n_samples"),
])
def test_planted_bad_input(kwargs, match):
    args = dict(n_samples=10, n_features=5, n_atoms=10, k=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        make_planted_features(**args)


def test_planted_bad_dtype():
    with pytest.raises(ValueError, match="dtype"):
        make_planted_features(10, 5, 10, 2, dtype=np.int64)


def test_mixing_eps_matches_spec_table():
    # spec 4.3, tabulated eps for within-group cosine 0.1 l
    children = (0, .0895, .163, .226, .282, .3335, .3825, .431, .482)
    parents = (0, .3, .44, .529, .594, .6467, .692, .733, .7739)
    for ell in range(9):
        assert abs(_mixing_eps(0.1 * ell, 3) - children[ell]) < 2.5e-3
        assert abs(_mixing_eps(0.1 * ell, 11) - parents[ell]) < 2.5e-3


@pytest.mark.parametrize("cos", [0.0, 0.3, 0.7])
@pytest.mark.parametrize("rotate", [False, True])
def test_hierarchical_geometry(cos, rotate):
    X, D, C, groups = make_hierarchical_features(10, n_features=24, intra_cosine=cos,
                                                 rotate=rotate, return_groups=True,
                                                 random_state=1)
    assert D.shape == (20, 24)
    G = D @ D.T
    np.testing.assert_allclose(np.diag(G), 1.0, atol=1e-12)
    roots = list(_PARENTS) + list(_SINGLETONS)
    for triple in _CHILDREN:
        t = list(triple)
        off = G[np.ix_(t, t)][~np.eye(3, dtype=bool)]
        np.testing.assert_allclose(off, cos, atol=1e-9)
    off = G[np.ix_(roots, roots)][~np.eye(11, dtype=bool)]
    np.testing.assert_allclose(off, cos, atol=1e-9)
    # conditional orthogonality: parents orthogonal to every child
    kids = [c for t in _CHILDREN for c in t]
    np.testing.assert_allclose(G[np.ix_(list(_PARENTS), kids)], 0.0, atol=1e-12)
    assert groups["parents"] == list(_PARENTS)


def test_hierarchical_sampling_law():
    X, D, C = make_hierarchical_features(40000, random_state=0)
    active = C > 0
    roots = list(_PARENTS) + list(_SINGLETONS)
    # exactly one root-level feature per signal
    assert np.all(active[:, roots].sum(axis=1) == 1)
    # a child only with its parent, at most one child
    for p, triple in zip(_PARENTS, _CHILDREN):
        kids = active[:, list(triple)]
        assert np.all(kids.sum(axis=1) <= 1)
        assert np.all(active[kids.any(axis=1), p])
    # mean L0 = 1 + 0.6 * 0.6 = 1.36 (standard error ~ 0.0024)
    assert abs(active.sum(axis=1).mean() - 1.36) < 0.015
    np.testing.assert_allclose(X, C @ D, atol=1e-12)


def test_hierarchical_bad_input():
    with pytest.raises(ValueError, match="n_features"):
        make_hierarchical_features(10, n_features=10)
    with pytest.raises(ValueError, match="intra_cosine"):
        make_hierarchical_features(10, intra_cosine=0.95)
