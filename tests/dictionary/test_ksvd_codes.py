"""K-SVD on row-stored codes: the sparse atom sweep, the Batch-OMP coding
stage without an n_samples x n_atoms array, and the warm-up on nested subsets
(``subsample``)."""

import warnings

import numpy as np
import pytest

from sparsecode import KSVD, sparse_encode
from sparsecode._base import ConvergenceWarning
from sparsecode.datasets import make_sparse_coded_signal
from sparsecode.dictionary._common import _replace_atoms
from sparsecode.dictionary._kernels import ksvd_sweep, ksvd_sweep_codes


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _row_codes(C, width):
    """(idx, val, nnz) of a dense code matrix, rows padded to ``width``."""
    N = C.shape[0]
    idx = np.zeros((N, width), dtype=np.intc)
    val = np.zeros((N, width))
    nnz = np.zeros(N, dtype=np.intc)
    for i in range(N):
        s = np.flatnonzero(C[i])
        idx[i, :s.size], val[i, :s.size], nnz[i] = s, C[i, s], s.size
    return idx, val, nnz


def _dense(idx, val, nnz, K):
    C = np.zeros((idx.shape[0], K))
    for i in range(idx.shape[0]):
        C[i, idx[i, :nnz[i]]] = val[i, :nnz[i]]
    return C


def _problem(seed, N=300, K=24, n=12, k=3):
    X, D0, _ = make_sparse_coded_signal(N, n_components=K, n_features=n, n_nonzero_coefs=k,
                                        noise_level=0.1, random_state=seed)
    rng = np.random.default_rng(seed)
    D = D0 + 0.3 * rng.standard_normal(D0.shape)
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k)
    return X, np.ascontiguousarray(D), C


@pytest.mark.parametrize("n_inner", [1, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_row_code_sweep_equals_dense_sweep(seed, n_inner):
    X, D, C = _problem(seed)
    K = D.shape[0]
    free = np.ones(K, dtype=bool)
    free[[2, 7]] = False  # fixed atoms are skipped by both
    R1, C1, D1 = X - C @ D, C.copy(), D.copy()
    cnt1 = ksvd_sweep(R1, C1, D1, free, np.zeros((1, 1)), False, n_inner)
    idx, val, nnz = _row_codes(C, 5)  # wider than the codes: padding is ignored
    R2, D2 = X - C @ D, D.copy()
    cnt2 = ksvd_sweep_codes(R2, idx, val, nnz, D2, free, n_inner)
    np.testing.assert_array_equal(cnt1, cnt2)
    np.testing.assert_allclose(D2, D1, atol=1e-12)
    np.testing.assert_allclose(_dense(idx, val, nnz, K), C1, atol=1e-12)
    np.testing.assert_allclose(R2, X - _dense(idx, val, nnz, K) @ D2, atol=1e-12)
    np.testing.assert_array_equal(D2[~free], D[~free])


@pytest.mark.parametrize("n_inner", [1, 2, 5])
def test_row_code_sweep_decreases_objective_atom_by_atom(n_inner):
    # for fixed supports every atom update is a minimisation: the objective
    # never increases, atom after atom
    X, D, C = _problem(2, N=200, K=16, n=10, k=3)
    idx, val, nnz = _row_codes(C, 3)
    R = X - C @ D
    f = [np.sum(R * R)]
    for k in range(D.shape[0]):
        free = np.zeros(D.shape[0], dtype=bool)
        free[k] = True
        ksvd_sweep_codes(R, idx, val, nnz, D, free, n_inner)
        f.append(np.sum(R * R))
        assert abs(np.linalg.norm(D[k]) - 1) < 1e-12
    f = np.asarray(f)
    assert np.all(np.diff(f) <= 1e-12 * f[:-1])
    assert f[-1] < f[0]
    np.testing.assert_allclose(R, X - _dense(idx, val, nnz, 16) @ D, atol=1e-12)


def test_row_codes_path_equals_dense_codes_path():
    # the unmasked K-SVD runs on row-stored codes; the dense-code loop (the
    # masked path's) must give the same model on the same data
    class DenseKSVD(KSVD):
        _row_codes = False

    X, _, _ = make_sparse_coded_signal(400, n_components=30, n_features=16, n_nonzero_coefs=3,
                                       noise_level=0.05, random_state=1)
    kw = dict(n_nonzero_coefs=3, max_iter=8, tol=0.0, random_state=1)
    a = KSVD(30, **kw).fit(X)
    b = DenseKSVD(30, **kw).fit(X)
    np.testing.assert_allclose(a.error_, b.error_, rtol=1e-9)
    np.testing.assert_array_equal(a.n_replaced_, b.n_replaced_)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)


@pytest.mark.parametrize("max_iter, sub, expected", [
    (5, "auto", [1250, 2500, 5000, 10000, 20000]),  # 20000 >= 16 * ceil(20 * 256 / 5)
    (3, "auto", [5000, 10000, 20000]),  # the last iteration uses every signal
    (1, "auto", [20000]),
    (10, 5000, [5000, 10000, 20000]),
    (10, 20001, [20000]),
    (10, None, [20000]),
])
def test_warmup_sizes(max_iter, sub, expected):
    est = KSVD(256, n_nonzero_coefs=5, max_iter=max_iter, subsample=sub)
    est.n_components_, est.n_nonzero_coefs_ = 256, 5
    assert est._warmup_sizes(20000, True) == expected
    assert est._warmup_sizes(20000, False) == [20000]  # no warm-up with a mask


def test_subsample_error_monotone_and_codes_describe_model():
    X, _, _ = make_sparse_coded_signal(1600, n_components=20, n_features=16,
                                       n_nonzero_coefs=3, noise_level=0.05, random_state=3)
    est = KSVD(20, n_nonzero_coefs=3, max_iter=8, tol=0.0, clear_dict=False, subsample=100,
               random_state=3)
    C = est._fit_loop(X, None)  # codes of the returned model, in the order of X
    e = est.error_
    assert np.all(np.diff(e) <= 1e-9 * e[:-1])
    # the first iterations saw 100, 200, ..., 800 of the 1600 signals (the others
    # have zero codes), so the error of the whole model starts high
    assert e[0] > 0.5 > e[-1]
    np.testing.assert_allclose(np.linalg.norm(X - C @ est.components_) / np.linalg.norm(X),
                               est.reconstruction_err_, rtol=1e-9)
    assert np.all(np.count_nonzero(C, axis=1) <= 3)
    assert np.count_nonzero(np.count_nonzero(C, axis=1)) > 0.99 * len(X)


def test_subsample_no_convergence_before_all_signals():
    X, _, _ = make_sparse_coded_signal(1600, n_components=20, n_features=16,
                                       n_nonzero_coefs=3, noise_level=0.05, random_state=3)
    # a tolerance every iteration meets: it stops at the first full iteration
    est = KSVD(20, n_nonzero_coefs=3, max_iter=10, tol=10.0, subsample=100,
               random_state=3).fit(X)
    assert est.n_iter_ == len(est._warmup_sizes(1600, True)) == 5


def test_subsample_recovers_planted_dictionary():
    X, D, _ = make_sparse_coded_signal(2000, n_components=48, n_features=32,
                                       n_nonzero_coefs=2, amplitude="uniform", random_state=0)
    est = KSVD(48, n_nonzero_coefs=2, max_iter=40, tol=0.0, subsample=480,
               random_state=0).fit(X)
    assert est._warmup_sizes(2000, True) == [500, 1000, 2000]
    matched = np.max(np.abs(D @ est.components_.T), axis=1) > 0.99
    assert matched.mean() >= 0.9
    assert est.error_[-1] < 0.15


def test_subsample_float32_and_threads():
    X, _, _ = make_sparse_coded_signal(800, n_components=20, n_features=16, n_nonzero_coefs=3,
                                       noise_level=0.05, random_state=4)
    kw = dict(n_nonzero_coefs=3, max_iter=6, tol=0.0, subsample=100, random_state=4)
    a = KSVD(20, n_jobs=1, **kw).fit(X)
    b = KSVD(20, n_jobs=2, **kw).fit(X)
    np.testing.assert_allclose(a.components_, b.components_, atol=1e-10)
    c = KSVD(20, **kw).fit(X.astype(np.float32))
    assert c.components_.dtype == np.float32
    assert c.transform(X.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("bad", [0, -3, "fast", 2.5])
def test_subsample_rejects_bad_values(bad):
    X = np.random.default_rng(0).standard_normal((50, 8))
    with pytest.raises((ValueError, TypeError), match="subsample"):
        KSVD(8, n_nonzero_coefs=2, subsample=bad).fit(X)


def test_replace_atoms_on_row_codes_equals_dense():
    X, D, C = _problem(5, N=120, K=16, n=10, k=2)
    D[3] = D[2]  # a duplicated atom
    C[:, 9] = 0.0  # an unused atom
    R = X - C @ D
    counts = np.count_nonzero(C, axis=0)
    free = np.ones(16, dtype=bool)
    D1, C1, R1 = D.copy(), C.copy(), R.copy()
    n1 = _replace_atoms(D1, C1, R1, X, counts, free, np.random.default_rng(0), use_thresh=4,
                        n_nonzero_coefs=2)
    idx, val, nnz = _row_codes(C, 2)
    D2, R2 = D.copy(), R.copy()
    n2 = _replace_atoms(D2, (idx, val, nnz), R2, X, counts, free, np.random.default_rng(0),
                        use_thresh=4, n_nonzero_coefs=2)
    assert n1 == n2 >= 2
    np.testing.assert_allclose(D2, D1)
    np.testing.assert_allclose(R2, R1)
    np.testing.assert_allclose(_dense(idx, val, nnz, 16), C1)
    np.testing.assert_allclose(R2, X - C1 @ D2, atol=1e-12)


@pytest.mark.parametrize("sub", [None, 100])
def test_error_constrained_coding_on_row_codes(sub):
    # coding_tol: OMP stops per signal at the tolerance (fewer non-zeros than
    # the cap, stale slots past nnz in the swapped buffers are ignored)
    class DenseKSVD(KSVD):
        _row_codes = False

    X, _, _ = make_sparse_coded_signal(800, n_components=24, n_features=16, n_nonzero_coefs=3,
                                       noise_level=0.05, random_state=6)
    tol = 0.05 * float(np.mean(np.sum(X * X, axis=1)))
    kw = dict(n_nonzero_coefs=6, coding_tol=tol, max_iter=6, tol=0.0, random_state=6)
    a = KSVD(24, subsample=sub, **kw)
    C = a._fit_loop(X, None)
    nnz = np.count_nonzero(C, axis=1)
    assert nnz.max() <= 6 and nnz.min() < 6
    np.testing.assert_allclose(np.linalg.norm(X - C @ a.components_) / np.linalg.norm(X),
                               a.reconstruction_err_, rtol=1e-9)
    if sub is None:
        b = DenseKSVD(24, **kw).fit(X)
        np.testing.assert_allclose(a.error_, b.error_, rtol=1e-9)
        np.testing.assert_allclose(a.components_, b.components_, atol=1e-8)


def test_row_code_sweep_many_steps_is_exact_ksvd():
    # n_atom_iter -> infinity: the leading singular pair of the error without the atom
    X, D, _ = make_sparse_coded_signal(100, n_components=8, n_features=6, n_nonzero_coefs=2,
                                       noise_level=0.3, random_state=4)
    D = np.ascontiguousarray(D)
    C = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=2)
    om = np.flatnonzero(C[:, 0])
    E = X[om] - C[om] @ D + np.outer(C[om, 0], D[0])
    u, s, vt = np.linalg.svd(E)
    idx, val, nnz = _row_codes(C, 2)
    R = X - C @ D
    free = np.zeros(8, dtype=bool)
    free[0] = True
    ksvd_sweep_codes(R, idx, val, nnz, D, free, 500)
    assert abs(abs(D[0] @ vt[0]) - 1) < 1e-8
    np.testing.assert_allclose(np.abs(_dense(idx, val, nnz, 8)[om, 0]), s[0] * np.abs(u[:, 0]),
                               atol=1e-6)
