"""The one compiled Matching Pursuit (greedy ``matching_pursuit`` and the MP-SAE encoder).

The kernel's selections, per-step trace, relative stop and float32 path are
checked against a plain NumPy pursuit written from the definitions.
"""

import numpy as np
import pytest

from sparsecode.greedy._mp import _mp_kernel


def _reference(A, Y, T, selection, rel_tol, unit=False):
    """T pursuit steps per column of Y (explicit residuals), atoms = columns of A.

    ``unit``: the atoms weighted as if of unit norm (step = plain correlation).
    """
    norms2 = np.ones(A.shape[1]) if unit else np.sum(A * A, axis=0)
    idx = np.zeros((Y.shape[1], T), dtype=np.int64)
    coef = np.zeros((Y.shape[1], T))
    for i in range(Y.shape[1]):
        r = Y[:, i].astype(np.float64).copy()
        E0 = r @ r
        for t in range(T):
            c = A.T @ r
            if selection == 0:
                j = int(np.argmax(c * c / norms2))
            else:
                j = int(np.argmax(c / np.sqrt(norms2)))
                if selection == 2 and c[j] <= 0:
                    break
            dec = c[j] ** 2 / norms2[j]
            if dec <= 1e-28 * E0:
                break
            if rel_tol >= 0 and (dec <= rel_tol * (r @ r) or dec <= np.finfo(float).eps * E0):
                break
            idx[i, t] = j
            coef[i, t] = c[j] / norms2[j]
            r -= coef[i, t] * A[:, j]
    return idx, coef


def _run(A, Y, T, selection, rel_tol, dtype, unit=False):
    A = A.astype(dtype)
    Y = Y.astype(dtype)
    N, L = A.shape[1], Y.shape[1]
    G = np.ascontiguousarray(A.T @ A)
    C = np.ascontiguousarray((A.T @ Y).T)
    dinv = np.ones(N) if unit else 1.0 / np.sum(A.astype(np.float64) ** 2, axis=0)
    yn = np.sum(Y.astype(np.float64) ** 2, axis=0)
    x = np.zeros((L, N), dtype=dtype)
    idx = np.full((L, T), -1, dtype=np.int64)
    coef = np.full((L, T), np.nan, dtype=dtype)
    n_iter = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L)
    status = np.zeros(L, dtype=np.intc)
    _mp_kernel()(G, C, dinv, yn, np.zeros(L), N, T, False, 1, x, n_iter, resid, status,
                 selection=selection, idx_out=idx, coef_out=coef, rel_tol=rel_tol)
    return x, idx, coef, n_iter, resid


@pytest.mark.parametrize("selection", [0, 1, 2])
@pytest.mark.parametrize("rel_tol", [-1.0, 0.25])
@pytest.mark.parametrize("unit", [False, True])
def test_trace_selection_and_relative_stop_match_reference(selection, rel_tol, unit):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((12, 30))
    if unit:  # unit-norm atoms, unit weights: the MP-SAE path (vectorised argmax)
        A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((12, 25))
    T = 8
    x, idx, coef, n_iter, resid = _run(A, Y, T, selection, rel_tol, np.float64, unit)
    ridx, rcoef = _reference(A, Y, T, selection, rel_tol, unit)
    np.testing.assert_array_equal(idx, ridx)
    np.testing.assert_allclose(coef, rcoef, rtol=1e-10, atol=1e-12)
    # the steps not run are zero-filled; n_iter counts the others
    np.testing.assert_array_equal(n_iter, np.count_nonzero(rcoef, axis=1))
    # dense codes are the per-step coefficients summed per atom
    dense = np.zeros_like(x)
    np.add.at(dense, (np.repeat(np.arange(Y.shape[1]), T), idx.ravel()), coef.ravel())
    np.testing.assert_allclose(x, dense, rtol=1e-12, atol=1e-14)
    # final squared residual = the explicit one
    R = Y - A @ x.T
    np.testing.assert_allclose(resid, np.sum(R * R, axis=0), rtol=1e-8, atol=1e-12)
    if selection == 2:
        assert np.all(coef >= 0)
    if rel_tol > 0:
        assert np.any(n_iter < T)  # the relative stop acted on some signals


def test_float32_follows_float64():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((16, 40))
    A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((16, 30))
    x64, idx64, c64, _, _ = _run(A, Y, 5, 2, -1.0, np.float64, unit=True)
    x32, idx32, c32, _, _ = _run(A, Y, 5, 2, -1.0, np.float32, unit=True)
    assert x32.dtype == np.float32 and c32.dtype == np.float32
    np.testing.assert_array_equal(idx32, idx64)
    np.testing.assert_allclose(c32, c64, rtol=1e-4, atol=1e-5)


def test_rejects_signed_selection_on_complex_and_bad_shapes():
    A = np.eye(3, dtype=np.complex128)
    G = A.conj().T @ A
    one = np.ones(1)
    args = (G, np.ones((1, 3), dtype=np.complex128), np.ones(3), one, np.zeros(1), 3, 2, False,
            1, np.zeros((1, 3), dtype=np.complex128), np.zeros(1, dtype=np.intc), np.zeros(1),
            np.zeros(1, dtype=np.intc))
    with pytest.raises(ValueError, match="real data"):
        _mp_kernel()(*args, selection=1)
    with pytest.raises(ValueError, match="selection"):
        _mp_kernel()(*args, selection=3)
    with pytest.raises(ValueError, match="idx_out"):
        _mp_kernel()(*args, idx_out=np.zeros((1, 1), dtype=np.int64),
                     coef_out=np.zeros((1, 1), dtype=np.complex128))
