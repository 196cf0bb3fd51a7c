"""Batch-OMP with B = G[:, I] L^-T stored in panels of 32 rows: same pursuit as the
textbook OMP (argmax of |A^T r| / ||a_j||, least squares on the support)."""

import numpy as np
import pytest

from sparsecode import batch_omp, sparse_encode


def _reference_omp(A, y, k):
    """Textbook OMP: support and least-squares coefficients, in NumPy."""
    norms = np.linalg.norm(A, axis=0)
    r, support = y.copy(), []
    for _ in range(k):
        score = np.abs(A.T @ r) / norms
        score[support] = -1.0
        support.append(int(np.argmax(score)))
        coef, *_ = np.linalg.lstsq(A[:, support], y, rcond=None)
        r = y - A[:, support] @ coef
    x = np.zeros(A.shape[1])
    x[support] = coef
    return x


@pytest.mark.parametrize("N, k", [(33, 20), (64, 31), (95, 30), (130, 40), (257, 12)])
def test_panels_agree_with_reference_omp(N, k):
    # many columns of B (k up to m - 1) over full panels and a partial one
    rng = np.random.default_rng(N + k)
    m, L = 41, 6
    A = rng.standard_normal((m, N)) * rng.uniform(0.5, 2.0, N)  # unequal norms
    Y = rng.standard_normal((m, L))
    res = batch_omp(A.T @ A, A.T @ Y, n_nonzero_coefs=k, norms_squared=np.sum(Y**2, axis=0))
    for i in range(L):
        ref = _reference_omp(A, Y[:, i], k)
        np.testing.assert_array_equal(res.coef[:, i] != 0, ref != 0)
        np.testing.assert_allclose(res.coef[:, i], ref, rtol=0, atol=1e-10)


def test_sparse_encode_panels_threads_and_blocks():
    # the fused encoder (correlations per block of signals) gives the reference
    # codes, whatever the number of threads
    rng = np.random.default_rng(5)
    n_atoms, d, k = 70, 30, 25
    D = rng.standard_normal((n_atoms, d))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((150, d))
    c1 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k, n_jobs=1)
    c2 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k, n_jobs=2)
    np.testing.assert_array_equal(c1, c2)
    for i in (0, 77, 149):
        np.testing.assert_allclose(c1[i], _reference_omp(D.T, X[i], k), rtol=0, atol=1e-10)


@pytest.mark.parametrize("N, m, tile", [(300, 20, 256), (70, 9, 16), (5, 3, 256), (64, 1, 7)])
def test_tiled_gram_is_exact_symmetric_and_thread_independent(N, m, tile):
    from sparsecode.greedy._omp import _kernels

    rng = np.random.default_rng(N)
    D = rng.standard_normal((N, m))
    ref = None
    for n_threads in (1, 2, 3):
        G = np.full((N, N), np.nan)
        _kernels().gram_real(D, G, n_threads, tile)
        np.testing.assert_array_equal(G, G.T)
        np.testing.assert_allclose(G, D @ D.T, rtol=0, atol=1e-13 * m)
        if ref is None:
            ref = G
        np.testing.assert_array_equal(G, ref)


def test_sparse_encode_several_gram_tiles_any_threads():
    # more atoms than one Gram tile: same codes for 1 and 2 threads
    rng = np.random.default_rng(11)
    D = rng.standard_normal((300, 24))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((140, 24))
    c1 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=6, n_jobs=1)
    c2 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=6, n_jobs=2)
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_allclose(c1[3], _reference_omp(D.T, X[3], 6), rtol=0, atol=1e-10)


def test_sparse_encode_large_correlation_blocks_any_threads():
    # a dictionary large enough for blocks of more than 32 signals: same codes
    # for any n_jobs, and the textbook OMP codes
    from sparsecode.greedy._encoders import _corr_block

    rng = np.random.default_rng(12)
    D = rng.standard_normal((512, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((600, 64))
    assert _corr_block((64, 512), 600) == 64
    c1 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5, n_jobs=1)
    for n_jobs in (2, 3):
        np.testing.assert_array_equal(
            sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5, n_jobs=n_jobs), c1)
    for i in (0, 63, 64, 599):
        np.testing.assert_allclose(c1[i], _reference_omp(D.T, X[i], 5), rtol=0, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_row_scales_equal_the_exact_rule(dtype):
    from sparsecode.greedy._encoders import _row_scales
    from sparsecode.greedy._omp import _pow2_scale

    rng = np.random.default_rng(13)
    X = rng.standard_normal((12, 9)).astype(dtype)
    np.testing.assert_array_equal(_row_scales(X, _pow2_scale), _pow2_scale(X, axis=1))
    # rows at the edges of the unscaled range, zero, tiny and huge rows
    X = X.astype(np.float64)
    X[1] = 0.0
    X[2] *= 2.0**-70
    X[3] *= 2.0**70
    X[4, :] = 0.0
    X[4, 3] = 2.0**-64  # the largest entry exactly at the lower edge
    X[5, :] = 0.0
    X[5, 0] = np.nextafter(2.0**65, 0)  # just below the upper edge
    np.testing.assert_array_equal(_row_scales(X, _pow2_scale), _pow2_scale(X, axis=1))
    # and the codes of such rows scale with them
    D = rng.standard_normal((20, 9))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    ref = sparse_encode(X[[0]], D, algorithm="omp", n_nonzero_coefs=3)
    big = sparse_encode(X[[0]] * 2.0**80, D, algorithm="omp", n_nonzero_coefs=3)
    np.testing.assert_allclose(big, ref * 2.0**80, rtol=1e-12)
