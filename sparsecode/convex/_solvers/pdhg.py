"""Chambolle-Pock primal-dual hybrid gradient (spec 3.2, S5).

For ``min_w F(Xw) + Omega(w)`` with ``F(u) = c * ||u - y||`` (square-root:
Euclidean norm, ``c = 1/sqrt(n)``; LAD: l1 norm, ``c_i = s_i/n``) and a
separable penalty with a prox:

    w     <- prox_{tau Omega}(w - tau X^T (2 z - z_old))
    z_old <- z
    z     <- prox_{sigma F*}(z + sigma X w)       (projection of z + sigma (Xw - y) on the dual ball)

with ``tau = sigma = 0.99 / ||X||_2`` (``tau sigma ||X||^2 < 1``; Chambolle
& Pock 2011, O(1/k) ergodic rate).  The iteration handles many right-hand
sides at once (columns of ``Y``): one GEMM per step, no loop over signals.
Stopping rule: duality gap with ``theta = -z`` rescaled to feasibility (and
the residual-based point for the square-root datafit; the better is kept),
checked every 20 iterations, ``gap <= tol * P(0)`` for every column.
"""

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from .. import _prox as P

from .base import BaseSolver

__all__ = ["PDHG"]


class PDHG(BaseSolver):
    r"""Chambolle-Pock primal-dual solver for non-smooth datafits.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when every column's duality gap is ``<= tol * P(0)``.
    max_iter : int, default=20_000
        Primal-dual iterations.
    verbose : int, default=0
        Print the worst gap every 500 iterations.

    See Also
    --------
    WorkingSetLP, ConcomitantCD

    Notes
    -----
    Cost per iteration: one product with X and one with X^T (4 n N flops per
    column).  Matrix-free by design; used as the cross-check solver and by
    the batch encoders.

    References
    ----------
    .. [1] Chambolle, A. & Pock, T. (2011). A first-order primal-dual
       algorithm for convex problems with applications to imaging. JMIV 40.

    Examples
    --------
    >>> from sparsecode.convex import PDHG
    >>> PDHG(tol=1e-6).max_iter
    20000
    """

    # the square-root and LAD datafits (their conjugates' prox); any convex
    # penalty with a prox (a user penalty runs through its compiled prox and
    # stops on the primal-dual residual)
    datafit_kinds = ("sqrt", "lad")
    penalty_requires = ("prox_1d",)
    requires_convex = True

    def __init__(self, tol=1e-4, max_iter=20_000, verbose=0):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose


def _spectral_norm(X):
    if min(X.shape) <= 200 and not sp.issparse(X):
        return float(np.linalg.norm(X, 2))
    try:
        return float(svds(X, k=1, return_singular_vectors=False, random_state=0)[0])
    except Exception:  # pragma: no cover - fall back to power iteration
        rng = np.random.default_rng(0)
        v = rng.standard_normal(X.shape[1])
        for _ in range(100):
            v = X.T @ (X @ v)
            v /= np.linalg.norm(v)
        return float(np.sqrt(np.linalg.norm(X.T @ (X @ v))))


def solve_pdhg(X, Y, kind, alpha, weights, positive, *, box, solver, W0=None, user=None,
               n_pen=None, crit_ref=1.0):
    """PDHG for kind in {"sqrt", "lad"} with an (weighted) L1 penalty.

    X: (n, N) dense or sparse (an intercept is an appended column of weight 0),
    Y: (n, L).  ``box``: the datafit scale ``c`` (scalar for "sqrt", per-row
    vector for "lad").  Returns dict(W, gap (L,), n_iter, converged).

    ``user``: the C callbacks of a user penalty (``_jit.penalty_callbacks``)
    applied to the first ``n_pen`` rows; no conjugate is known, so the stop
    is the primal-dual residual ``max(||(W' - W)/tau - X^T (Z' - Z)||_inf,
    ||(Z' - Z)/sigma - X (W' - W)||_inf) <= tol * crit_ref`` (``gap`` is
    then NaN and ``crit`` that residual).
    """
    if user is not None:
        return _solve_pdhg_user(X, Y, kind, box, solver, W0, user, n_pen, crit_ref)
    n, N = X.shape
    L = Y.shape[1]
    norm = _spectral_norm(X)
    tau = sigma = 0.99 / max(norm, 1e-300)
    W = np.zeros((N, L)) if W0 is None else np.array(W0, dtype=np.float64).reshape(N, L)
    Z = np.zeros((n, L))
    Z_old = Z.copy()
    thr = alpha * np.asarray(weights, dtype=np.float64)
    excluded = np.isinf(thr)
    tau_thr = np.where(excluded, 0.0, tau * thr)[:, None]
    mask = np.isfinite(thr) & (thr > 0)
    if kind == "sqrt":
        P0 = box * np.linalg.norm(Y, axis=0)
    else:
        P0 = np.asarray(box).reshape(-1) @ np.abs(Y)
    boxc = np.asarray(box, dtype=np.float64).reshape(-1, 1) if kind == "lad" else box
    gaps = np.full(L, np.inf)
    converged = False
    it = 0
    for it in range(1, int(solver.max_iter) + 1):
        V = W - tau * np.asarray(X.T @ (2 * Z - Z_old))
        W = np.sign(V) * np.maximum(np.abs(V) - tau_thr, 0.0)
        if positive:
            W = np.maximum(W, 0.0)
        W[excluded] = 0.0
        Z_old = Z
        XW = np.asarray(X @ W)
        Vz = Z + sigma * (XW - Y)
        if kind == "sqrt":
            nv = np.linalg.norm(Vz, axis=0)
            Z = Vz * np.minimum(1.0, box / np.maximum(nv, 1e-300))
        else:
            Z = np.clip(Vz, -boxc, boxc)
        if it % 20 == 0 or it == solver.max_iter:
            gaps = _gaps(X, Y, W, XW, Z, kind, thr, mask, positive, box, boxc)
            if solver.verbose and it % 500 == 0:
                print(f"[PDHG] iter {it}: max relative gap {np.max(gaps / P0):.3e}")
            if np.all(gaps <= solver.tol * P0):
                converged = True
                break
    return dict(W=W, gap=gaps, n_iter=it, converged=converged, P0=P0)


def _gaps(X, Y, W, XW, Z, kind, thr, mask, positive, box, boxc):
    R = Y - XW
    pen = np.abs(W[mask]).T @ thr[mask] if mask.any() else np.zeros(W.shape[1])
    if kind == "sqrt":
        primal = box * np.linalg.norm(R, axis=0) + pen
    else:
        primal = np.asarray(boxc).reshape(-1) @ np.abs(R) + pen
    cands = [-Z]
    if kind == "sqrt":
        cands.append(R)
    best = np.full(Y.shape[1], -np.inf)
    unpen = np.isfinite(thr) & (thr == 0)
    U = None
    if unpen.any():
        U = X[:, np.flatnonzero(unpen)]
        U = U.toarray() if sp.issparse(U) else np.asarray(U)
    for Th in cands:
        if U is not None:
            # unpenalised columns (weight 0, e.g. an intercept) need
            # x_j^T theta = 0: project theta on their orthogonal complement.
            Th = Th - U @ np.linalg.lstsq(U, Th, rcond=None)[0]
        C = np.asarray(X.T @ Th)
        C = np.maximum(C, 0.0) if positive else np.abs(C)
        s = np.ones(Y.shape[1])
        if mask.any():
            s = np.maximum(s, np.max(C[mask] / thr[mask, None], axis=0))
        if kind == "sqrt":
            s = np.maximum(s, np.linalg.norm(Th, axis=0) / box)
        else:
            s = np.maximum(s, np.max(np.abs(Th) / boxc, axis=0))
        dual = np.sum(Y * Th, axis=0) / s
        best = np.maximum(best, dual)
    return primal - best


def _solve_pdhg_user(X, Y, kind, box, solver, W0, user, n_pen, crit_ref):
    """``solve_pdhg`` with a user penalty's compiled prox (primal-dual residual stop)."""
    from ..._ext import _convex as _C

    n, N = X.shape
    L = Y.shape[1]
    norm = _spectral_norm(X)
    tau = sigma = 0.99 / max(norm, 1e-300)
    W = np.zeros((N, L)) if W0 is None else np.array(W0, dtype=np.float64).reshape(N, L)
    W = np.ascontiguousarray(W)
    Z = np.zeros((n, L))
    Z_old = Z.copy()
    boxc = np.asarray(box, dtype=np.float64).reshape(-1, 1) if kind == "lad" else box
    n_pen = N if n_pen is None else n_pen
    crit = np.inf
    converged = False
    it = 0
    for it in range(1, int(solver.max_iter) + 1):
        V = np.ascontiguousarray(W - tau * np.asarray(X.T @ (2 * Z - Z_old)))
        W_new = np.empty_like(V)
        _C.user_prox_all(user[0], user[2], V, tau, n_pen, W_new)
        Z_old = Z
        XW = np.asarray(X @ W_new)
        Vz = Z + sigma * (XW - Y)
        if kind == "sqrt":
            nv = np.linalg.norm(Vz, axis=0)
            Z = Vz * np.minimum(1.0, box / np.maximum(nv, 1e-300))
        else:
            Z = np.clip(Vz, -boxc, boxc)
        if it % 20 == 0 or it == solver.max_iter:
            dW = W - W_new
            dZ = Z_old - Z
            p_res = np.max(np.abs(dW / tau - np.asarray(X.T @ dZ))) if N else 0.0
            d_res = np.max(np.abs(dZ / sigma - np.asarray(X @ dW)))
            crit = float(max(p_res, d_res))
            if solver.verbose and it % 500 == 0:
                print(f"[PDHG] iter {it}: primal-dual residual {crit:.3e}")
            if crit <= solver.tol * crit_ref:
                W = W_new
                converged = True
                break
        W = W_new
    return dict(W=W, gap=np.full(L, np.nan), crit=crit, n_iter=it, converged=converged,
                P0=np.full(L, np.nan))
