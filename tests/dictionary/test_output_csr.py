"""``sparse_encode(..., output="csr")``, memory-mapped input and dask: CSR codes built block
by block, the same numbers as the dense call, bounded memory."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode import SparseCoder, sparse_encode
from sparsecode.dictionary import _sparse_encode as se


def _problem(n=600, d=32, k_atoms=96, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((k_atoms, d))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((n, d))
    return X.astype(dtype), D.astype(dtype)


@pytest.mark.parametrize("algorithm, kw", [("omp", dict(n_nonzero_coefs=5)),
                                           ("mp", dict(n_nonzero_coefs=5)),
                                           ("iht", dict(n_nonzero_coefs=5))])
def test_csr_equals_dense(algorithm, kw, monkeypatch):
    X, D = _problem()
    dense = sparse_encode(X, D, algorithm=algorithm, **kw)
    # force many blocks so that the block loop and the stacking are exercised
    monkeypatch.setattr(se, "_CODE_CHUNK_BYTES", 8 * 96 * 37)
    csr = sparse_encode(X, D, algorithm=algorithm, output="csr", **kw)
    assert isinstance(csr, sp.csr_array) and csr.shape == dense.shape
    np.testing.assert_allclose(csr.toarray(), dense, rtol=1e-10, atol=1e-12)
    assert csr.nnz == np.count_nonzero(dense)


def test_csr_float32_dtype_and_sparse_input():
    X, D = _problem(dtype=np.float32)
    csr = sparse_encode(X, D, n_nonzero_coefs=4, output="csr")
    assert csr.dtype == np.float32
    Xs = sp.csr_matrix(np.where(np.abs(X) > 1.0, X, 0))
    a = sparse_encode(Xs, D, n_nonzero_coefs=4)
    b = sparse_encode(Xs, D, n_nonzero_coefs=4, output="csr")
    np.testing.assert_allclose(b.toarray(), a, rtol=1e-4, atol=1e-5)


def test_output_argument_checked():
    X, D = _problem(n=5)
    with pytest.raises(ValueError, match="output"):
        sparse_encode(X, D, output="coo")


def test_nan_in_a_later_block_is_rejected(monkeypatch):
    X, D = _problem()
    X[-1, 3] = np.nan
    monkeypatch.setattr(se, "_CODE_CHUNK_BYTES", 8 * 96 * 50)
    with pytest.raises(ValueError, match="NaN|infinity"):
        sparse_encode(X, D, n_nonzero_coefs=3, output="csr")


def test_memmap_streams_with_bounded_memory(tmp_path, monkeypatch):
    """Peak traced memory does not grow with the number of rows of a memory-mapped X
    beyond the CSR output itself."""
    rng = np.random.default_rng(1)
    _, D = _problem(d=16, k_atoms=64)
    monkeypatch.setattr(se, "_CODE_CHUNK_BYTES", 1 << 20)
    monkeypatch.setattr(se, "_SPARSE_CHUNK_BYTES", 1 << 20)
    peaks, outs = [], []
    for n in (20_000, 200_000):
        path = tmp_path / f"x{n}.npy"
        m = np.lib.format.open_memmap(path, mode="w+", dtype=np.float64, shape=(n, 16))
        for s in range(0, n, 20_000):
            m[s:s + 20_000] = rng.standard_normal((min(20_000, n - s), 16))
        m.flush()
        del m
        X = np.load(path, mmap_mode="r")
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            base, _ = tracemalloc.get_traced_memory()
            C = sparse_encode(X, D, n_nonzero_coefs=2, output="csr")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        out_bytes = C.data.nbytes + C.indices.nbytes + C.indptr.nbytes
        peaks.append(peak - base - out_bytes)
        outs.append(C)
        dense_bytes = n * 64 * 8
        assert peak - base < dense_bytes / 2  # never the dense code matrix
    # the working memory beyond the output is the same at 10x the rows (stacking the
    # CSR blocks costs at most one more copy of the output)
    assert peaks[1] < peaks[0] + 2 * (outs[1].data.nbytes + outs[1].indices.nbytes)
    assert outs[1].nnz == 2 * 200_000


def test_memmap_dense_output_equals_in_memory(tmp_path):
    X, D = _problem(n=300)
    path = tmp_path / "x.npy"
    np.save(path, X)
    Xm = np.load(path, mmap_mode="r")
    np.testing.assert_allclose(sparse_encode(Xm, D, n_nonzero_coefs=4),
                               sparse_encode(X, D, n_nonzero_coefs=4), rtol=1e-12, atol=1e-14)


def test_dask_csr_on_local_cluster():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    X, D = _problem(n=400)
    Xd = da.from_array(X, chunks=(100, 32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cluster's own start-up chatter
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster):
            C = sparse_encode(Xd, D, n_nonzero_coefs=4, output="csr")
    assert isinstance(C, sp.csr_array)
    np.testing.assert_allclose(C.toarray(), sparse_encode(X, D, n_nonzero_coefs=4),
                               rtol=1e-10, atol=1e-12)


def test_sparse_coder_output_csr():
    X, D = _problem(n=50)
    coder = SparseCoder(D, algorithm="omp", n_nonzero_coefs=3, output="csr")
    C = coder.transform(X)
    assert sp.issparse(C) and C.format == "csr"
    np.testing.assert_allclose(C.toarray(), SparseCoder(D, n_nonzero_coefs=3).transform(X),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(coder.inverse_transform(C), C.toarray() @ coder.components_,
                               rtol=1e-12)
    with pytest.raises(ValueError, match="output"):
        SparseCoder(D, output="coo").fit(X)


def test_learner_transform_output_csr():
    from sparsecode import KSVD

    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 12))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a 3-iteration fit is enough to test transform
        model = KSVD(n_components=20, n_nonzero_coefs=3, max_iter=3, random_state=0).fit(X)
    dense = model.transform(X)
    C = model.transform(X, output="csr")
    assert sp.issparse(C) and C.format == "csr"
    np.testing.assert_allclose(C.toarray(), dense, rtol=1e-10, atol=1e-12)
    # scale-equivariant path (power-of-two rescaling) keeps CSR
    C2 = model.transform(1e-200 * X, output="csr")
    np.testing.assert_allclose(C2.toarray(), model.transform(1e-200 * X), rtol=1e-10)
    np.testing.assert_allclose(model.inverse_transform(C), dense @ model.components_,
                               rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="output"):
        model.transform(X, output="coo")


def test_dask_csr_complex_signals_over_real_dictionary_and_gram_checked():
    da = pytest.importorskip("dask.array")
    X, D = _problem(n=40)
    Xc = X + 1j * np.roll(X, 1, axis=1)
    ref = sparse_encode(Xc, D, n_nonzero_coefs=3)
    C = sparse_encode(da.from_array(Xc, chunks=(10, 32)), D, n_nonzero_coefs=3, output="csr")
    np.testing.assert_allclose(C.toarray(), ref, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="gram"):
        sparse_encode(da.from_array(X, chunks=(10, 32)), D, n_nonzero_coefs=3,
                      gram=-np.eye(D.shape[0]), output="csr")
