import numpy as np
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode.datasets import load_hyperspectral, make_hyperspectral_mixture
from sparsecode.metrics import abundance_rmse, match_components, spectral_angle_distance
from sparsecode.unmixing import pixel_graph
from sparsecode.unmixing._graph import _cosine_kmeans


# ---------------------------------------------------------------- metrics
def test_sad_known_angles_and_scale_invariance():
    T = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    E = np.array([[3.0, 3.0, 0.0], [0.0, 0.0, 5.0]])
    np.testing.assert_allclose(spectral_angle_distance(T, E), [np.pi / 4, np.pi / 2])
    np.testing.assert_allclose(spectral_angle_distance(T, E, degrees=True), [45.0, 90.0])
    assert spectral_angle_distance(T, 7 * T, multioutput="uniform_average") < 1e-7
    with pytest.raises(ValueError, match="differ in shape"):
        spectral_angle_distance(T, E[:1])
    with pytest.raises(ValueError, match="multioutput"):
        spectral_angle_distance(T, E, multioutput="bad")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(1, 6))
def test_match_components_recovers_permutation(seed, K):
    rng = np.random.default_rng(seed)
    T = rng.uniform(0.1, 1.0, (K, 20))
    perm = rng.permutation(K)
    E = T[perm] * rng.uniform(0.5, 2.0, (K, 1)) + 1e-3 * rng.uniform(size=(K, 20))
    for method in ("hungarian", "greedy"):
        for metric in ("sad", "euclidean"):
            p = match_components(T, E, method=method, metric=metric)
            np.testing.assert_array_equal(p, np.argsort(perm))
            assert spectral_angle_distance(T, E[p]).max() < 0.02


def test_match_components_hungarian_beats_greedy():
    # greedy takes the closest pair first, which forces a bad second pair
    T = np.array([[1.0, 0.0], [0.9, 0.1]])
    E = np.array([[0.95, 0.05], [0.0, 1.0]])
    ph = match_components(T, E)
    pg = match_components(T, E, method="greedy")
    assert spectral_angle_distance(T, E[ph]).sum() <= spectral_angle_distance(T, E[pg]).sum()
    with pytest.raises(ValueError, match="fewer than"):
        match_components(T, E[:1])


def test_abundance_rmse():
    A = np.array([[1.0, 0.0], [0.5, 0.5]])
    P = np.array([[2.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(abundance_rmse(A, P, normalize=True), 0.0)
    np.testing.assert_allclose(abundance_rmse(A, P), [np.sqrt((1 + 0.25) / 2), np.sqrt(0.25 / 2)])
    assert abundance_rmse(A.reshape(1, 2, 2), P.reshape(1, 2, 2), normalize=True,
                          multioutput="uniform_average") == 0.0


# ---------------------------------------------------------------- generator
def test_make_hyperspectral_mixture_properties():
    Y, M, A, bad = make_hyperspectral_mixture(4, 50, (10, 10), smooth=1, random_state=0)
    assert Y.shape == (100, 50) and M.shape == (4, 50) and A.shape == (100, 4) and bad.size == 0
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    assert A.min() >= 0 and M.min() >= 0.05 - 1e-12 and M.max() <= 0.9 + 1e-12
    assert np.all(A.max(axis=0) == 1.0)                      # one pure pixel each
    np.testing.assert_allclose(Y, A @ M)


def test_make_hyperspectral_mixture_noise_and_corruption():
    Y0, M, _A, _ = make_hyperspectral_mixture(3, 80, (30, 30), random_state=1)
    Y, M1, _A1, _ = make_hyperspectral_mixture(3, 80, (30, 30), snr=20, random_state=1)
    np.testing.assert_array_equal(M, M1)
    snr = 10 * np.log10(np.mean(Y0 ** 2) / np.mean((Y - Y0) ** 2))
    assert abs(snr - 20) < 0.5 and Y.min() >= 0
    Yc, *_, bad = make_hyperspectral_mixture(3, 80, (30, 30), n_corrupted_bands=8, random_state=1)
    assert bad.size == 8
    good = np.setdiff1d(np.arange(80), bad)
    np.testing.assert_array_equal(Yc[:, good], Y0[:, good])
    assert np.all(np.abs(Yc[:, bad] - Y0[:, bad]).mean(axis=0) > 0.1 * Y0[:, bad].mean(axis=0))


def test_make_hyperspectral_mixture_library():
    lib = np.random.default_rng(0).uniform(size=(10, 25))
    _Y, M, _A, _ = make_hyperspectral_mixture(3, library=lib, image_shape=(5, 5), random_state=0)
    assert all(any(np.array_equal(m, row) for row in lib) for m in M)
    with pytest.raises(ValueError, match="library"):
        make_hyperspectral_mixture(30, library=lib)


# ---------------------------------------------------------------- loaders
def test_load_mat_layouts(tmp_path):
    rng = np.random.default_rng(0)
    rows, cols, L, K = 3, 4, 6, 2
    M = rng.uniform(size=(L, K))
    A = rng.dirichlet(np.ones(K), size=rows * cols).T           # K x N, column-major pixels
    Y = M @ A
    scipy.io.savemat(tmp_path / "a.mat", {"Y": Y, "nRow": rows, "nCol": cols, "M": M, "A": A})
    d = load_hyperspectral(tmp_path / "a.mat")
    # pixel (i, j) is column i + j * rows in MATLAB order
    np.testing.assert_allclose(d.cube[1, 2], Y[:, 1 + 2 * rows])
    np.testing.assert_allclose(d.Y, d.abundances @ d.endmembers)
    # GT (K x L) + S_GT image layout, integer data with maxValue
    S = A.T.reshape(rows, cols, K, order="F")
    raw = np.round(Y * 1000).astype(np.uint16)
    scipy.io.savemat(tmp_path / "b.mat", {"Y": raw, "maxValue": 1000, "GT": M.T, "S_GT": S,
                                         "lines": rows, "cols": cols})
    d2 = load_hyperspectral(tmp_path / "b.mat")
    np.testing.assert_allclose(d2.abundances, d.abundances)
    np.testing.assert_allclose(d2.Y, d.Y, atol=1e-3)
    # a cube 'im' without ground truth
    scipy.io.savemat(tmp_path / "c.mat", {"im": d.cube})
    np.testing.assert_allclose(load_hyperspectral(tmp_path / "c.mat").cube, d.cube)
    with pytest.raises(FileNotFoundError):
        load_hyperspectral(tmp_path / "missing.mat")


def test_load_shipped_scenes(real_data_dir):
    for name, K in (("samson", 3), ("jasper_ridge", 4), ("moffett", 3)):
        d = load_hyperspectral(name, data_home=real_data_dir)
        assert d.endmembers.shape[0] == K and d.abundances.shape == (d.Y.shape[0], K)
        np.testing.assert_allclose(d.abundances.sum(axis=1), 1.0, atol=1e-6)
    # README: relative model error 0.056 on Moffett (only with the right pixel order)
    d = load_hyperspectral("moffett", data_home=real_data_dir)
    rel = np.linalg.norm(d.Y - d.abundances @ d.endmembers) / np.linalg.norm(d.Y)
    assert abs(rel - 0.056) < 0.002


# ---------------------------------------------------------------- graph
def _reference_correlation_graph(X, rows, cols, labels, w, q, rho_min):
    # the loop of spec A3.2, pixel by pixel
    Z = X - X.mean(axis=1, keepdims=True)
    Z /= np.linalg.norm(Z, axis=1, keepdims=True)
    W = np.zeros((rows * cols, rows * cols))
    for r in range(w, rows - w):
        for c in range(w, cols - w):
            m = r * cols + c
            nbs = [(r + dr) * cols + (c + dc) for dr in range(-w, w + 1) for dc in range(-w, w + 1)]
            nbs = [j for j in nbs if labels[j] == labels[m]]
            rho = np.array([Z[m] @ Z[j] for j in nbs])
            kth = max(int(np.ceil(q / 100 * len(nbs))), 1)
            thr = max(np.sort(rho)[::-1][kth - 1], rho_min)
            for j, v in zip(nbs, rho):
                if v >= thr:
                    W[m, j] += v
                    W[j, m] += v
    return W


def test_correlation_graph_matches_reference_loop():
    Y, _M, _A, _ = make_hyperspectral_mixture(3, 20, (9, 10), smooth=1, snr=30, random_state=0)
    W = pixel_graph(Y, (9, 10), window=2, percent=30, rho_min=0.5, n_clusters=3, random_state=0)
    labels = _cosine_kmeans(Y, 3, 0)
    ref = _reference_correlation_graph(Y, 9, 10, labels, 2, 30, 0.5)
    np.testing.assert_allclose(W.toarray(), ref, atol=1e-12)
    assert abs(W - W.T).max() == 0


@pytest.mark.parametrize("kind", ["heat", "binary", "knn"])
def test_other_graphs_symmetric_sparse(kind):
    Y, *_ = make_hyperspectral_mixture(3, 10, (8, 8), random_state=0)
    W = pixel_graph(Y, (8, 8), kind=kind, window=1)
    assert W.shape == (64, 64) and abs(W - W.T).max() < 1e-15 and W.diagonal().sum() == 0
    assert W.nnz <= 64 * 9
    if kind == "binary":
        assert W[9].nnz == 8 and W[0].nnz == 3   # interior pixel / corner pixel
    with pytest.raises(ValueError, match="kind"):
        pixel_graph(Y, (8, 8), kind="nope")
    if kind != "knn":
        with pytest.raises(ValueError, match="image shape"):
            pixel_graph(Y, None, kind=kind)
