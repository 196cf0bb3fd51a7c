"""Dask: chunk-wise coding and online learning give the in-memory numbers,
also on a dask.distributed LocalCluster."""

import warnings

import numpy as np
import pytest

from sparsecode import OnlineDictionaryLearning, SparseCoder, sparse_encode
from sparsecode._base import ConvergenceWarning
from sparsecode.datasets import make_sparse_coded_signal

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def data():
    X, D, _ = make_sparse_coded_signal(900, n_components=24, n_features=12, n_nonzero_coefs=2,
                                       noise_level=0.01, random_state=0)
    return X, D


def _online(**kw):
    return OnlineDictionaryLearning(24, n_nonzero_coefs=2, batch_size=64, max_iter=2,
                                    shuffle=False, tol=0.0, max_no_improvement=None,
                                    random_state=0, **kw)


def test_online_from_dask_chunks_equals_in_memory(data):
    X, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = _online().fit(X)
        # chunk sizes that are not multiples of batch_size: leftovers carry over
        got = _online().fit(da.from_array(X, chunks=(250, 12)))
    assert got.n_steps_ == ref.n_steps_
    np.testing.assert_allclose(got.components_, ref.components_, atol=1e-12)


def test_dask_on_local_cluster(data):
    X, D = data
    Xd = da.from_array(X, chunks=(200, 12))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        codes = sparse_encode(Xd, D, algorithm="omp", n_nonzero_coefs=2)
        assert isinstance(codes, da.Array)
        np.testing.assert_allclose(codes.compute(),
                                   sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=2))
        coder = SparseCoder(D, n_nonzero_coefs=2)
        np.testing.assert_allclose(coder.transform(Xd).compute(), coder.transform(X))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            learner = _online().fit(Xd)
            ref = _online().fit(X)
        np.testing.assert_allclose(learner.components_, ref.components_, atol=1e-12)
        # the learned transformer encodes dask input lazily, chunk by chunk
        lazy = learner.transform(Xd)
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(), learner.transform(X))


def test_dask_nan_chunk_is_rejected(data):
    X, _ = data
    Xn = X.copy()
    Xn[500, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        _online().fit(da.from_array(Xn, chunks=(200, 12)))
