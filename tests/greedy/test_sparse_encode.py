"""The sparse-coding hub: registry, validation, dask, pipelines."""

import numpy as np
import pytest
from sklearn.decomposition import sparse_encode as sk_sparse_encode
from sklearn.pipeline import make_pipeline
from sklearn.linear_model import Ridge

from sparsecode import SparseCoder, available_encoders, sparse_encode


def _data(n=60, atoms=40, feats=20, seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((atoms, feats))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((n, feats))
    return X, D


def test_omp_matches_sklearn_sparse_encode():
    X, D = _data()
    ours = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5)
    ref = sk_sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5)
    np.testing.assert_allclose(ours, ref, atol=1e-10)


def test_registry_lists_greedy_and_errors():
    names = available_encoders()
    assert {"omp", "mp"} <= set(names)
    X, D = _data()
    with pytest.raises(ValueError, match="Unknown algorithm 'nope'"):
        sparse_encode(X, D, algorithm="nope")
    with pytest.raises(ValueError, match="does not use alpha"):
        sparse_encode(X, D, algorithm="omp", alpha=0.1)
    with pytest.raises(ValueError, match="features"):
        sparse_encode(X[:, :5], D)
    D0 = D.copy()
    D0[3] = 0
    with pytest.raises(ValueError, match="zero-norm atom"):
        sparse_encode(X, D0)
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        sparse_encode(Xn, D)


def test_dtype_and_inputs_untouched():
    X, D = _data()
    X32, D32 = X.astype(np.float32), D.astype(np.float32)
    Xc, Dc = X32.copy(), D32.copy()
    codes = sparse_encode(X32, D32, n_nonzero_coefs=3)
    assert codes.dtype == np.float32
    np.testing.assert_array_equal(X32, Xc)
    np.testing.assert_array_equal(D32, Dc)


def test_mp_encoder_and_error_mode():
    X, D = _data()
    codes = sparse_encode(X, D, algorithm="mp", n_nonzero_coefs=5)
    assert np.all((codes != 0).sum(axis=1) <= 5)
    codes = sparse_encode(X, D, algorithm="omp", tol=0.5)
    assert np.all(np.sum((X - codes @ D) ** 2, axis=1) <= 0.5 + 1e-9)


def test_dask_equals_in_memory():
    da = pytest.importorskip("dask.array")
    X, D = _data(n=103)
    lazy = sparse_encode(da.from_array(X, chunks=(25, 10)), D, n_nonzero_coefs=4)
    assert lazy.shape == (103, 40)
    np.testing.assert_allclose(lazy.compute(), sparse_encode(X, D, n_nonzero_coefs=4))


def test_sparse_coder_in_pipeline():
    X, D = _data()
    y = X @ np.arange(X.shape[1])
    pipe = make_pipeline(SparseCoder(D, n_nonzero_coefs=5), Ridge()).fit(X, y)
    assert pipe.predict(X).shape == (X.shape[0],)
    coder = SparseCoder(D, n_nonzero_coefs=5).fit(X)
    np.testing.assert_allclose(coder.inverse_transform(coder.transform(X)),
                               coder.transform(X) @ D)
