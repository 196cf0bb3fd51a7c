"""K-SVD defaults: the ``subsample="auto"`` warm-up runs only on large
training sets (at least 16 times the smallest subset of about 20 users per
atom), starts from N / 16 signals, and replaces atoms only by signals it has
already coded."""

import warnings

import numpy as np
import pytest

from sparsecode import KSVD
from sparsecode._base import ConvergenceWarning
from sparsecode.datasets import make_sparse_coded_signal
from sparsecode.dictionary._common import _replace_atoms
from sparsecode.dictionary._ksvd import _RowCodes


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _sizes(N, K, k, **kw):
    est = KSVD(K, n_nonzero_coefs=k, **kw)
    est.n_components_, est.n_nonzero_coefs_ = K, k
    return est._warmup_sizes(N, True)


@pytest.mark.parametrize("K, k", [(256, 5), (48, 2), (50, 3), (16, 4)])
def test_default_warmup_engages_only_above_sixteen_smallest_subsets(K, k):
    assert KSVD().subsample == "auto" and KSVD().n_atom_iter == 1
    n0 = -(-20 * K // k)  # about 20 users per atom
    N = 16 * n0
    assert _sizes(N - 1, K, k) == [N - 1]  # plain K-SVD below the threshold
    assert _sizes(N, K, k) == [n0, 2 * n0, 4 * n0, 8 * n0, N]
    # four halvings at most, and fewer when max_iter leaves no room
    M = 100 * N + 37
    assert _sizes(M, K, k) == [M >> 4, M >> 3, M >> 2, M >> 1, M]
    assert _sizes(M, K, k, max_iter=3) == [M >> 2, M >> 1, M]
    # error-constrained coding: the sparsity is unknown, no warm-up
    assert _sizes(M, K, k, coding_tol=0.1) == [M]
    # an explicit size keeps its meaning: as many halvings as stay above it
    assert _sizes(M, K, k, subsample=M >> 6) == [M >> 6, M >> 5, M >> 4, M >> 3, M >> 2,
                                             M >> 1, M]


def test_default_below_threshold_is_plain_ksvd_above_warms_up():
    K, k = 16, 4  # warm-up from 16 * 80 = 1280 signals on
    X, _, _ = make_sparse_coded_signal(1280, n_components=K, n_features=12, n_nonzero_coefs=k,
                                       noise_level=0.05, random_state=0)
    kw = dict(n_nonzero_coefs=k, max_iter=6, tol=0.0, random_state=0)
    a = KSVD(K, **kw).fit(X[:1279])
    b = KSVD(K, subsample=None, **kw).fit(X[:1279])
    np.testing.assert_array_equal(a.error_, b.error_)
    np.testing.assert_array_equal(a.components_, b.components_)
    c = KSVD(K, **kw).fit(X)
    # the first iteration coded 80 of the 1280 signals: the others' zero codes
    # leave at least their share of ||X||^2 in the error
    unseen = 1 - 80 / 1280
    assert c.error_[0] ** 2 > 0.8 * unseen
    assert KSVD(K, subsample=None, **kw).fit(X).error_[0] < 0.5
    e, rep = c.error_, c.n_replaced_
    assert np.all((np.diff(e) <= 1e-12 * e[:-1]) | (rep[1:] > 0))
    assert e[-1] < 0.5


def test_warmup_replacement_candidates_are_coded_signals():
    X, D0, _ = make_sparse_coded_signal(400, n_components=16, n_features=10, n_nonzero_coefs=2,
                                        noise_level=0.1, random_state=2)
    D = np.ascontiguousarray(D0)
    D[3] = D[2]  # a duplicate: cleared between iterations
    codes = _RowCodes(np.ascontiguousarray(X), 16, 2, None, 1)
    codes.code(D, 100)  # the first 100 signals, as in the first warm-up iteration
    err = codes.row_errors()
    np.testing.assert_array_equal(err[100:], 0.0)  # uncoded: not candidates
    np.testing.assert_allclose(err[:100], np.sum(codes.R[:100] ** 2, axis=1))
    counts = np.bincount(codes.idx[:100][np.arange(2)[None, :] < codes.nnz[:100, None]],
                         minlength=16)
    D1 = D.copy()
    n_rep = _replace_atoms(D1, codes.C, codes.R, codes.X, counts, np.ones(16, dtype=bool),
                           np.random.default_rng(0), use_thresh=4, n_nonzero_coefs=2,
                           err=err, xn2=codes.x2)
    assert n_rep >= 1
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    for j in np.flatnonzero(np.any(D1 != D, axis=1)):
        # each new atom is one of the coded signals, normalised
        assert np.min(np.linalg.norm(Xn[:100] - D1[j], axis=1)) < 1e-12
    codes.code(D1, 400)  # all signals in: every residual counts
    np.testing.assert_array_equal(codes.row_errors(), codes.rn2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_defaults_recover_planted_one_sparse_dictionary(seed):
    # 32 unit atoms in R^32, one atom per signal: with the defaults the warm-up
    # runs (640, 1280, ..., 10240 signals) and every atom is found (measured on
    # seeds 0-23, as plain K-SVD does)
    X, D, _ = make_sparse_coded_signal(10240, n_components=32, n_features=32, n_nonzero_coefs=1,
                                       amplitude="uniform", random_state=seed)
    est = KSVD(32, n_nonzero_coefs=1, max_iter=30, tol=0.0, random_state=seed)
    assert _sizes(10240, 32, 1, max_iter=30) == [640, 1280, 2560, 5120, 10240]
    est.fit(X)
    assert np.all(np.max(np.abs(D @ est.components_.T), axis=1) > 0.99)
    assert est.error_[-1] < 1e-6
