"""Problem generators: shapes, dtypes, scalings of spec 0.3, noise, errors."""

import numbers

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sparsecode
from sparsecode.datasets import make_compressed_sensing, make_sparse_coded_signal
from sparsecode.operators import PartialDCT, PartialFFT, operator_norm

DENSE = ["gaussian", "bernoulli", "toeplitz", "ill_conditioned", "low_rank", "nonzero_mean"]
AMPLITUDES = ["gaussian", "rademacher", "uniform", "bernoulli_gaussian"]


# --------------------------------------------------------------------------
# make_sparse_coded_signal
# --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amplitude", ["gaussian", "rademacher", "uniform"])
def test_sparse_coded_signal_layout(dtype, amplitude):
    X, D, code = make_sparse_coded_signal(
        40, n_components=25, n_features=12, n_nonzero_coefs=4, amplitude=amplitude,
        dtype=dtype, random_state=0)
    assert X.shape == (40, 12) and D.shape == (25, 12) and code.shape == (40, 25)
    assert X.dtype == D.dtype == code.dtype == dtype
    np.testing.assert_allclose(np.linalg.norm(D, axis=1), 1.0, rtol=1e-6)
    assert np.all(np.count_nonzero(code, axis=1) == 4)
    np.testing.assert_allclose(X, code @ D, rtol=1e-5, atol=1e-6)
    nz = np.abs(code[code != 0])
    if amplitude == "rademacher":
        np.testing.assert_allclose(nz, 1.0)
    if amplitude == "uniform":
        assert nz.min() >= 1.0 and nz.max() <= 2.0


def test_sparse_coded_signal_supports_are_uniform():
    # every atom should be used about n_samples * k / n_components times
    _, _, code = make_sparse_coded_signal(4000, n_components=10, n_features=5,
                                          n_nonzero_coefs=3, random_state=1)
    counts = np.count_nonzero(code, axis=0)
    expected = 4000 * 3 / 10
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(expected))


def test_sparse_coded_signal_noise_and_reproducibility():
    kw = dict(n_components=30, n_features=200, n_nonzero_coefs=3, noise_level=0.1)
    X, D, code = make_sparse_coded_signal(50, random_state=3, **kw)
    X2, D2, code2 = make_sparse_coded_signal(50, random_state=3, **kw)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(code, code2)
    X3, _, _ = make_sparse_coded_signal(50, random_state=4, **kw)
    assert not np.allclose(X, X3)
    resid = X - code @ D
    np.testing.assert_allclose(resid.std(), 0.1, rtol=0.05)
    # RandomState and Generator are accepted
    make_sparse_coded_signal(5, random_state=np.random.RandomState(0), **kw)
    make_sparse_coded_signal(5, random_state=np.random.default_rng(0), **kw)


@pytest.mark.parametrize("kw, match", [
    (dict(n_nonzero_coefs=11), "n_nonzero_coefs"),
    (dict(n_nonzero_coefs=0), "n_nonzero_coefs"),
    (dict(n_components=0), "n_components"),
    (dict(noise_level=-1.0), "noise_level"),
    (dict(noise_level=np.nan), "noise_level"),
    (dict(amplitude="bernoulli_gaussian"), "amplitude"),
    (dict(dtype=np.int32), "dtype"),
    (dict(random_state="seed"), "random_state"),
])
def test_sparse_coded_signal_bad_input(kw, match):
    args = dict(n_components=10, n_features=5, n_nonzero_coefs=2)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        make_sparse_coded_signal(3, **args)


# --------------------------------------------------------------------------
# make_compressed_sensing: matrices
# --------------------------------------------------------------------------
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("matrix", DENSE)
def test_dense_matrices_shapes_dtypes_unit_columns(matrix, dtype, complex_):
    d = make_compressed_sensing(30, 60, 4, matrix=matrix, complex=complex_, dtype=dtype,
                                random_state=0)
    out = (np.complex64 if dtype == np.float32 else np.complex128) if complex_ else dtype
    assert isinstance(d.A, np.ndarray) and d.A.shape == (30, 60)
    for key in ("A", "x", "y", "noise"):
        assert d[key].dtype == out, key
    assert d.x.shape == (60,) and d.y.shape == (30,) and d.noise.shape == (30,)
    np.testing.assert_allclose(np.linalg.norm(d.A, axis=0), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(np.flatnonzero(d.x), d.support)
    assert d.support.size == 4
    np.testing.assert_allclose(d.y, d.A @ d.x, rtol=1e-5, atol=1e-6)  # noiseless
    assert d.noise_std == 0.0 and not np.any(d.noise)


def test_gaussian_unnormalized_scaling_and_bernoulli_entries():
    d = make_compressed_sensing(400, 300, 3, normalize=False, random_state=0)
    # entries N(0, 1/m): column norms concentrate around 1
    np.testing.assert_allclose(np.mean(np.linalg.norm(d.A, axis=0) ** 2), 1.0, rtol=0.02)
    assert not np.allclose(np.linalg.norm(d.A, axis=0), 1.0)
    b = make_compressed_sensing(25, 40, 3, matrix="bernoulli", random_state=0)
    np.testing.assert_allclose(np.abs(b.A), 1 / 5)
    bc = make_compressed_sensing(25, 40, 3, matrix="bernoulli", complex=True, random_state=0)
    np.testing.assert_allclose(np.abs(bc.A.real), np.abs(bc.A.imag))
    np.testing.assert_allclose(np.abs(bc.A), 1 / 5)


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e4])
@pytest.mark.parametrize("shape", [(40, 80), (60, 30)])
def test_ill_conditioned_condition_number(kappa, shape):
    m, N = shape
    d = make_compressed_sensing(m, N, 3, matrix="ill_conditioned", kappa=kappa,
                                normalize=False, random_state=0)
    np.testing.assert_allclose(np.linalg.cond(d.A), kappa, rtol=1e-8)
    s = np.linalg.svd(d.A, compute_uv=False)
    np.testing.assert_allclose(s[1:] / s[:-1], s[1] / s[0], rtol=1e-6)  # geometric
    np.testing.assert_allclose(np.sum(d.A**2), N, rtol=1e-10)  # ||A||_F^2 = N
    # column normalisation keeps the condition number of the same size
    dn = make_compressed_sensing(m, N, 3, matrix="ill_conditioned", kappa=kappa,
                                 random_state=0)
    assert kappa / 2 <= np.linalg.cond(dn.A) <= 2 * kappa


def test_ill_conditioned_complex_is_unitary_based():
    d = make_compressed_sensing(20, 40, 3, matrix="ill_conditioned", kappa=50.0,
                                complex=True, normalize=False, random_state=2)
    assert np.iscomplexobj(d.A) and np.abs(d.A.imag).max() > 0.1
    np.testing.assert_allclose(np.linalg.cond(d.A), 50.0, rtol=1e-8)


@pytest.mark.parametrize("rho", [0.0, 0.6, 0.9, -0.5])
def test_toeplitz_ar1_correlation(rho):
    d = make_compressed_sensing(3000, 6, 1, matrix="toeplitz", rho=rho, normalize=False,
                                random_state=0)
    A = d.A
    np.testing.assert_allclose(np.sum(A**2), 6, rtol=1e-10)
    C = A.T @ A / np.mean(np.sum(A**2, axis=0))
    # empirical column covariance ~ rho^{|j-l|} (3000 rows: error ~ 0.02)
    expected = rho ** np.abs(np.subtract.outer(np.arange(6), np.arange(6)))
    np.testing.assert_allclose(C, expected, atol=0.07)
    # stationary: every column has the same variance
    np.testing.assert_allclose(np.sum(A**2, axis=0), 1.0, rtol=0.1)


def test_low_rank_and_nonzero_mean():
    d = make_compressed_sensing(30, 50, 3, matrix="low_rank", rank=7, random_state=0)
    assert np.linalg.matrix_rank(d.A) == 7
    d = make_compressed_sensing(30, 50, 3, matrix="low_rank", normalize=False,
                                random_state=0)
    assert np.linalg.matrix_rank(d.A) == 15  # default rank = min(m, N) // 2
    np.testing.assert_allclose(np.sum(d.A**2), 50, rtol=1e-10)
    d = make_compressed_sensing(2000, 40, 3, matrix="nonzero_mean", mean=0.7,
                                normalize=False, random_state=0)
    np.testing.assert_allclose(d.A.mean(), 0.7, atol=0.01)
    np.testing.assert_allclose(d.A.std(), 1 / np.sqrt(2000), rtol=0.02)


@pytest.mark.parametrize("normalize", [True, False])
def test_partial_dct_is_matrix_free(normalize):
    d = make_compressed_sensing(64, 256, 5, matrix="partial_dct", normalize=normalize,
                                snr=40.0, random_state=0)
    assert isinstance(d.A, PartialDCT) and d.A.shape == (64, 256)
    scale = 2.0 if normalize else 1.0
    assert d.A.scale == scale and operator_norm(d.A) == scale
    M = d.A.toarray()
    np.testing.assert_allclose(np.sum(M**2), 256 * (scale**2) * 64 / 256, rtol=1e-10)
    np.testing.assert_allclose(d.y, M @ d.x + d.noise, atol=1e-12)
    assert np.issubdtype(d.x.dtype, np.floating)


def test_partial_dct_float32_and_complex_signal():
    d = make_compressed_sensing(32, 128, 4, matrix="partial_dct", dtype=np.float32,
                                random_state=0)
    assert d.A.dtype == np.float32 and d.y.dtype == np.float32
    d = make_compressed_sensing(32, 128, 4, matrix="partial_dct", complex=True,
                                random_state=0)
    assert d.x.dtype == np.complex128 and d.y.dtype == np.complex128
    np.testing.assert_allclose(d.y, d.A.toarray() @ d.x, atol=1e-12)


def test_partial_fft_unit_columns():
    d = make_compressed_sensing(16, 64, 3, matrix="partial_fft", complex=True,
                                random_state=0)
    assert isinstance(d.A, PartialFFT)
    np.testing.assert_allclose(np.linalg.norm(d.A.toarray(), axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose(d.y, d.A.toarray() @ d.x, atol=1e-12)


# --------------------------------------------------------------------------
# signals and noise
# --------------------------------------------------------------------------
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("amplitude", AMPLITUDES)
def test_amplitudes(amplitude, complex_):
    d = make_compressed_sensing(20, 2000, 400, amplitude=amplitude, complex=complex_,
                                random_state=0)
    nz = d.x[d.x != 0]
    if amplitude == "bernoulli_gaussian":
        # random support with expected size k = 400 (std ~ 18)
        assert abs(nz.size - 400) < 80
    else:
        assert nz.size == 400
    mag = np.abs(nz)
    if amplitude == "rademacher":
        np.testing.assert_allclose(mag, 1.0)
        if not complex_:
            assert 150 < np.sum(nz > 0) < 250
    elif amplitude == "uniform":
        assert mag.min() >= 1.0 and mag.max() <= 2.0 and abs(mag.mean() - 1.5) < 0.05
    else:
        np.testing.assert_allclose(np.mean(mag**2), 1.0, atol=0.2)
    if complex_:
        assert np.iscomplexobj(nz) and np.abs(nz.imag).max() > 0.1


@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("snr", [-5.0, 0.0, 20.0, 60.0])
def test_snr_achieved(snr, complex_):
    m = 4000
    d = make_compressed_sensing(m, 400, 20, snr=snr, complex=complex_, random_state=1)
    clean = d.y - d.noise
    achieved = 10 * np.log10(np.sum(np.abs(clean) ** 2) / np.sum(np.abs(d.noise) ** 2))
    assert abs(achieved - snr) < 0.3  # chi^2_m spread: ~0.1 dB at m = 4000
    np.testing.assert_allclose(d.noise_std, np.sqrt(np.sum(np.abs(clean) ** 2) / m)
                               * 10 ** (-snr / 20))
    np.testing.assert_allclose(np.std(d.noise), d.noise_std, rtol=0.05)
    if complex_:
        # circular noise: real and imaginary parts carry half the variance each
        np.testing.assert_allclose(np.var(d.noise.real), np.var(d.noise.imag), rtol=0.15)


def test_fixed_norm_noise():
    d = make_compressed_sensing(50, 100, 5, noise_norm=0.3, n_targets=3, random_state=0)
    np.testing.assert_allclose(np.linalg.norm(d.noise, axis=0), 0.3, rtol=1e-12)
    np.testing.assert_allclose(d.noise_std, 0.3 / np.sqrt(50))
    np.testing.assert_allclose(d.y, d.A @ d.x + d.noise)


def test_multiple_targets_shared_and_independent_supports():
    d = make_compressed_sensing(30, 80, 5, n_targets=4, snr=20.0, random_state=0)
    assert d.x.shape == (80, 4) and d.y.shape == (30, 4) and d.noise_std.shape == (4,)
    for t in range(4):
        np.testing.assert_array_equal(np.flatnonzero(d.x[:, t]), d.support)
    d = make_compressed_sensing(30, 80, 5, n_targets=4, shared_support=False,
                                random_state=0)
    assert isinstance(d.support, list) and len(d.support) == 4
    for t in range(4):
        np.testing.assert_array_equal(np.flatnonzero(d.x[:, t]), d.support[t])
    assert len({tuple(s) for s in d.support}) > 1


def test_reproducibility():
    for matrix in DENSE + ["partial_dct"]:
        a = make_compressed_sensing(20, 40, 3, matrix=matrix, snr=10.0, random_state=5)
        b = make_compressed_sensing(20, 40, 3, matrix=matrix, snr=10.0, random_state=5)
        c = make_compressed_sensing(20, 40, 3, matrix=matrix, snr=10.0, random_state=6)
        np.testing.assert_array_equal(a.y, b.y)
        np.testing.assert_array_equal(a.x, b.x)
        assert not np.array_equal(a.y, c.y)


def test_top_level_export():
    assert sparsecode.make_compressed_sensing is make_compressed_sensing
    assert sparsecode.make_sparse_coded_signal is make_sparse_coded_signal


@pytest.mark.parametrize("kw, match", [
    (dict(n_nonzero_coefs=41), "n_nonzero_coefs"),
    (dict(n_nonzero_coefs=0), "n_nonzero_coefs"),
    (dict(n_measurements=0), "n_measurements"),
    (dict(n_features=2.5), "n_features"),
    (dict(matrix="gauss"), "'matrix'"),
    (dict(amplitude="laplace"), "'amplitude'"),
    (dict(snr=np.nan), "'snr'"),
    (dict(snr=np.inf), "'snr'"),
    (dict(noise_norm=-1.0), "'noise_norm'"),
    (dict(snr=10.0, noise_norm=0.1), "at most one of 'snr' and 'noise_norm'"),
    (dict(matrix="toeplitz", rho=1.0), "'rho'"),
    (dict(matrix="ill_conditioned", kappa=0.5), "'kappa'"),
    (dict(matrix="low_rank", rank=21), "'rank'"),
    (dict(matrix="partial_fft"), "'complex'"),
    (dict(matrix="partial_dct", n_measurements=41), "'n_measurements'"),
    (dict(n_targets=0), "'n_targets'"),
    (dict(complex=1), "'complex'"),
    (dict(dtype=np.complex128), "'dtype'"),
    (dict(random_state="x"), "'random_state'"),
])
def test_compressed_sensing_bad_input(kw, match):
    args = dict(n_measurements=20, n_features=40, n_nonzero_coefs=3)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        make_compressed_sensing(**args)


def test_negative_snr_allowed_and_k_above_m_allowed():
    d = make_compressed_sensing(10, 40, 15, snr=-10.0, random_state=0)
    assert np.linalg.norm(d.noise) > np.linalg.norm(d.y - d.noise)


@settings(max_examples=20, deadline=None)
@given(m=st.integers(1, 30), N=st.integers(1, 60), data=st.data(),
       seed=st.integers(0, 2**32 - 1), matrix=st.sampled_from(DENSE))
def test_generator_invariants(m, N, data, seed, matrix):
    k = data.draw(st.integers(1, N))
    d = make_compressed_sensing(m, N, k, matrix=matrix, random_state=seed)
    assert d.A.shape == (m, N)
    assert np.all(np.isfinite(d.A))
    assert np.count_nonzero(d.x) == k
    assert isinstance(d.noise_std, numbers.Real)
    np.testing.assert_allclose(np.linalg.norm(d.A, axis=0), 1.0, rtol=1e-10)
