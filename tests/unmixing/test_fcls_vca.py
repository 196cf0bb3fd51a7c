import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import nnls

from sparsecode.metrics import match_components, spectral_angle_distance
from sparsecode.unmixing import fcls, vca


def _problem(seed, K=5, L=30, N=200):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.05, 1.0, size=(K, L))
    Y = rng.uniform(0.0, 1.0, size=(N, L))
    return E, Y


@pytest.mark.parametrize("delta", [0.0, 1.0, 10.0, 1e3])
def test_fcls_matches_augmented_nnls(delta):
    # reference: scipy's Lawson-Hanson on the augmented system, pixel by pixel
    E, Y = _problem(0)
    A = fcls(Y, E, delta=delta)
    Ea = np.vstack([E.T, delta * np.ones(E.shape[0])])
    ref = np.array([nnls(Ea, np.r_[y, delta])[0] for y in Y])
    np.testing.assert_allclose(A, ref, atol=1e-8, rtol=0)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(1, 7), delta=st.sampled_from([0.5, 5.0, 50.0]))
def test_fcls_matches_nnls_property(seed, K, delta):
    E, Y = _problem(seed, K=K, L=12, N=25)
    A = fcls(Y, E, delta=delta)
    Ea = np.vstack([E.T, delta * np.ones(K)])
    ref = np.array([nnls(Ea, np.r_[y, delta])[0] for y in Y])
    np.testing.assert_allclose(A, ref, atol=1e-8, rtol=0)


def test_fcls_exact_constraint_and_kkt():
    E, Y = _problem(1)
    A = fcls(Y, E)  # delta=None: exact sum-to-one
    assert A.min() >= 0
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=1e-12)
    # KKT of min 1/2||y - E^T a||^2, a >= 0, 1^T a = 1:  g = E(E^T a - y) = -mu 1 + lambda,
    # lambda >= 0, lambda_k a_k = 0  ->  g_k - min_j g_j over the support is 0
    G = E @ (A @ E - Y).T  # (K, N) gradients
    for n in range(Y.shape[0]):
        g, a = G[:, n], A[n]
        supp = a > 1e-12
        mu = -g[supp].mean()
        np.testing.assert_allclose(g[supp] + mu, 0, atol=1e-9)
        assert np.all(g[~supp] + mu >= -1e-9)


def test_fcls_noiseless_recovery(scene):
    Y, M, A = scene
    np.testing.assert_allclose(fcls(Y, M), A, atol=1e-10)


def test_fcls_threads_dtype_and_cube(scene):
    Y, M, _A = scene
    A1 = fcls(Y, M, n_jobs=1)
    A2 = fcls(Y, M, n_jobs=2)
    np.testing.assert_array_equal(A1, A2)
    A32 = fcls(Y.astype(np.float32), M.astype(np.float32))
    assert A32.dtype == np.float32
    cube = Y.reshape(12, 12, -1)
    np.testing.assert_allclose(fcls(cube, M).reshape(-1, 4), A1)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 1000))
def test_fcls_permutation_equivariant(seed):
    E, Y = _problem(seed, K=4, L=10, N=15)
    perm = np.random.default_rng(seed).permutation(4)
    np.testing.assert_allclose(fcls(Y, E[perm]), fcls(Y, E)[:, perm], atol=1e-10)


def test_fcls_bad_input():
    E, Y = _problem(2)
    with pytest.raises(ValueError, match="endmembers has 29 bands"):
        fcls(Y, E[:, :29])
    Yn = Y.copy()
    Yn[0, 0] = np.nan
    with pytest.raises(ValueError, match="Y"):
        fcls(Yn, E)
    with pytest.raises(ValueError, match="delta"):
        fcls(Y, E, delta=-1.0)
    with pytest.raises(ValueError, match="Y must be a matrix"):
        fcls(Y[0], E)


def test_vca_exact_recovery_pure_pixels(scene):
    Y, M, _A = scene
    for seed in range(3):
        E = vca(Y, 4, random_state=seed)
        perm = match_components(M, E)
        assert spectral_angle_distance(M, E[perm]).max() < 1e-6
        np.testing.assert_allclose(E[perm], M, atol=1e-8)


def test_vca_low_snr_branch_picks_pixels(scene):
    Y, _M, A = scene
    _E, idx = vca(Y, 4, random_state=0, snr_input=0.0, return_indices=True)
    # low-SNR branch: the chosen pixels are still the pure ones on noiseless data
    assert set(np.argmax(A[idx], axis=1)) == set(range(4))
    assert np.all(A[idx].max(axis=1) > 0.999)


def test_vca_bad_input(scene):
    Y, _M, _A = scene
    with pytest.raises(ValueError, match="larger than the number of bands"):
        vca(Y[:, :3], 4)
    with pytest.raises(ValueError, match="non-negative"):
        vca(Y - 1.0, 4)
    Yn = Y.copy()
    Yn[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        vca(Yn, 4)
    with pytest.raises(ValueError, match="4-D"):
        vca(Y.reshape(2, 6, 12, -1), 4)
    with pytest.raises(ValueError, match="n_endmembers"):
        vca(Y, 0)


def test_fcls_and_transform_accept_dask(scene):
    da = pytest.importorskip("dask.array")
    Y, M, _A = scene
    Yd = da.from_array(Y, chunks=(50, 20))
    out = fcls(Yd, M)
    assert isinstance(out, da.Array)
    np.testing.assert_allclose(out.compute(), fcls(Y, M), atol=1e-12)
    cube = da.from_array(Y.reshape(12, 12, -1), chunks=(5, 12, 40))
    np.testing.assert_allclose(fcls(cube, M).compute(), fcls(Y, M).reshape(12, 12, 4), atol=1e-12)
    from sparsecode import NMFUnmixing

    est = NMFUnmixing(4, max_iter=10, tol=0.0).fit(Y)
    np.testing.assert_allclose(est.transform(Yd).compute(), est.transform(Y), atol=1e-12)


def test_fcls_zero_pixel_and_plain_nnls():
    E, Y = _problem(3, K=4, L=10, N=5)
    Y[0] = 0.0
    A = fcls(Y, E, delta=0.0)        # plain NNLS: the zero pixel has zero abundances
    np.testing.assert_array_equal(A[0], 0.0)
    ref = np.array([nnls(E.T, y)[0] for y in Y])
    np.testing.assert_allclose(A, ref, atol=1e-10)
    Ae = fcls(Y, E)                  # exact ASC: still on the simplex
    np.testing.assert_allclose(Ae.sum(axis=1), 1.0, atol=1e-12)
