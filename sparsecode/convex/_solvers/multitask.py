"""Working-set block coordinate descent for the multi-task Lasso (L2,1 penalty).

Objective ``||Y - XW||_F^2 / (2n) + alpha sum_j ||W_j||_2`` (rows ``W_j`` of
``W``, one per feature).  The outer loop computes the full gradient, the
duality gap (scikit-learn's dual point ``Theta = const R``, divided by
``n``), applies the gap-safe sphere test (spec poisson-gamp-unmixing-lars
section 4: ``const ||X_j^T R|| / n + sqrt(2 gap L_j) < alpha`` certifies
``W*_j = 0``, ``L_j = ||x_j||^2 / n``) and picks a working set; the inner
loop is the compiled block-CD kernel ``_ext._convex.mtl_cd_inner`` (float32
and float64 from one fused-type source).
"""

import numpy as np

from ..._ext import _convex as _C
from .cd import _grown_size

__all__ = ["solve_multitask", "multitask_gap"]


def multitask_gap(Y, R, W, corr, alpha, n):
    """Duality gap of the multi-task Lasso from the residual ``R`` and ``corr = X^T R / n``.

    Returns ``(gap, primal, const)`` with ``const`` the dual scaling.
    """
    rn = float(np.einsum("ij,ij->", R, R))
    primal = rn / (2 * n) + alpha * float(np.sqrt(np.einsum("ij,ij->i", W, W)).sum())
    dn = float(np.sqrt(np.einsum("ij,ij->i", corr, corr)).max()) if corr.size else 0.0
    const = alpha / dn if dn > alpha else 1.0
    dual = (const * float(np.einsum("ij,ij->", R, Y)) - 0.5 * const * const * rn) / n
    return primal - dual, primal, const


def solve_multitask(X, Y, alpha, *, W0=None, tol=1e-4, max_iter=50, max_epochs=50_000, p0=10,
                    screening=True, verbose=0):
    """Multi-task Lasso by working-set block CD with gap-safe screening.

    Parameters
    ----------
    X : ndarray of shape (n, N), float32 or float64 (Fortran order is free)
    Y : ndarray of shape (n, T)
    alpha : float
    W0 : ndarray of shape (N, T) or None
    tol : float
        Stop when ``gap <= tol * ||Y||_F^2 / (2n)``.

    Returns
    -------
    dict(W (N, T) float64, gap, n_iter, converged, n_screened)
    """
    dt = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    n, N = X.shape
    T = Y.shape[1]
    XT = np.ascontiguousarray(np.asarray(X, dtype=dt).T)
    Yd = np.asarray(Y, dtype=np.float64)
    W = np.zeros((N, T), dtype=dt) if W0 is None else np.array(W0, dtype=dt, order="C")
    lips64 = np.einsum("ij,ij->i", XT, XT, dtype=np.float64) / n
    lips = lips64.astype(dt)
    excluded = lips64 == 0
    W[excluded] = 0.0
    if W.any():
        RT = np.ascontiguousarray((Yd - np.asarray(X, dtype=np.float64)
                                   @ W.astype(np.float64)).T, dtype=dt)
    else:
        RT = np.array(Yd.T, dtype=dt, order="C")  # a copy: the kernel updates it in place
    P0 = float(np.einsum("ij,ij->", Yd, Yd)) / (2 * n)
    if dt == np.float32:
        tol = max(tol, 1e-5)  # float32 gaps below ~1e-6 P(0) are rounding noise
    keep = np.flatnonzero(~excluded)  # unscreened features
    XT_keep = XT[keep]
    kept_idx = keep  # the rows of XT_keep
    keep_at_compact = keep.size
    gap = np.inf
    converged = False
    prev_size = 0
    it = 0
    for it in range(1, max_iter + 1):
        if it % 10 == 0 and W.any():  # rounding drift of the in-place residual
            RT = np.ascontiguousarray((Yd - np.asarray(X, dtype=np.float64)
                                       @ W.astype(np.float64)).T, dtype=dt)
        R = np.asarray(RT.T, dtype=np.float64)
        if XT_keep.shape[0] != keep.size:
            # rows screened since the last compaction: gather from the
            # compacted block (a mask, no copy of X)
            pos = np.searchsorted(kept_idx, keep)
            corr = (XT_keep[pos].astype(np.float64) @ R) / n
        else:
            corr = (XT_keep.astype(np.float64, copy=False) @ R) / n
        Wk = W[keep].astype(np.float64)
        gap, primal, const = multitask_gap(Yd, R, Wk, corr, alpha, n)
        gnorm = np.sqrt(np.einsum("ij,ij->i", corr, corr))
        wnorm = np.sqrt(np.einsum("ij,ij->i", Wk, Wk))
        nz = wnorm > 0
        score = np.where(nz, 0.0, np.maximum(0.0, gnorm - alpha))
        if nz.any():
            d = corr[nz] - alpha * Wk[nz] / wnorm[nz, None]
            score[nz] = np.sqrt(np.einsum("ij,ij->i", d, d))
        max_score = float(score.max()) if score.size else 0.0
        if verbose:
            print(f"[MultiTaskLasso] iter {it}: gap {gap:.3e}, nnz rows {int(nz.sum())}, "
                  f"unscreened {keep.size}")
        if gap <= tol * P0:
            converged = True
            break
        if screening and alpha > 0 and gap > 0:
            # gap-safe sphere test; a tiny relative margin covers rounding
            radius = np.sqrt(2.0 * gap * lips64[keep])
            drop = const * gnorm + radius < alpha * (1.0 - 1e-10)
            if drop.any():
                j_drop = keep[drop]
                for j in j_drop[nz[drop]]:  # certified zero: remove from the residual
                    RT += np.outer(W[j], XT[j])
                    W[j] = 0.0
                keep_mask = ~drop
                keep = keep[keep_mask]
                score, nz, wnorm = score[keep_mask], nz[keep_mask], wnorm[keep_mask]
                if keep.size <= 0.75 * keep_at_compact:
                    XT_keep = XT[keep]
                    kept_idx = keep
                    keep_at_compact = keep.size
        nnz = int(nz.sum())
        n_keep = keep.size
        ws_size = min(max(min(p0, n_keep), 2 * nnz, _grown_size(nnz, prev_size)), n_keep)
        if ws_size >= n_keep:
            ws = keep.astype(np.int64)
        else:
            prio = np.where(nz, np.inf, score)
            ws = np.sort(keep[np.argpartition(-prio, ws_size - 1)[:ws_size]]).astype(np.int64)
        prev_size = ws.size
        tol_in = 0.3 * max_score
        _C.mtl_cd_inner(XT, RT, W, ws, lips, float(alpha), int(max_epochs), float(tol_in))
    return dict(W=W.astype(np.float64), gap=float(gap), n_iter=it, converged=converged,
                n_screened=int(N - keep.size - np.count_nonzero(excluded)))
