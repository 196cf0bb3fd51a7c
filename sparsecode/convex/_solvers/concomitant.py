"""Concomitant coordinate descent for the square-root LASSO (spec 3.2, S4).

Solves ``min_w ||y - Xw||_2 / sqrt(n) + alpha * Omega_w(w)`` through the
jointly convex concomitant form (Owen 2007; Sun & Zhang 2012; Ndiaye et al.
2017)

    min_{w, sigma >= sigma_min}  ||y - Xw||^2 / (2 n sigma) + sigma / 2 + alpha Omega_w(w),

by alternating exact minimisation in sigma (``sigma = max(||r|| / sqrt(n),
sigma_min)``) with a warm-started working-set Anderson CD solve of the Lasso
with penalty ``alpha * sigma * Omega_w`` in w.  This is block coordinate
descent on a jointly convex function with a smooth coupling term, hence
convergent (Tseng 2001); with ``sigma_min`` inactive its fixed points are
exactly the square-root LASSO solutions (the w-KKT conditions become
``X^T r / (sqrt(n) ||r||) in alpha d Omega_w(w)``).  Stopping rule: the
square-root LASSO duality gap (spec 3.1b), ``gap <= tol * ||y|| / sqrt(n)``,
with the residual-based dual point ``theta = r / max(sqrt(n) ||r||,
max_j |x_j^T r| / (alpha w_j))``.
"""

import numpy as np
import scipy.sparse as sp

from .. import _prox as P
from .base import BaseSolver
from .cd import AndersonCD, solve_quadratic_builtin

__all__ = ["ConcomitantCD"]


class ConcomitantCD(BaseSolver):
    r"""Concomitant (scaled-Lasso) coordinate descent for the square-root LASSO.

    Parameters
    ----------
    tol : float, default=1e-4
        Stop when the square-root LASSO duality gap is ``<= tol * ||y|| /
        sqrt(n)`` (the objective at 0).
    max_iter : int, default=100
        Alternations between sigma and w.
    sigma_min : float or None, default=None
        Lower bound on ``sigma = ||r|| / sqrt(n)``; ``None`` means ``1e-4 *
        ||y|| / sqrt(n)``.  When active, the smoothed (not the exact)
        square-root LASSO was solved and the fit warns.
    max_epochs, p0, anderson_k : int (p0 also None, the automatic size)
        Passed to the inner AndersonCD.
    verbose : int, default=0
        Print the gap at each alternation.

    See Also
    --------
    AndersonCD, PDHG

    Notes
    -----
    Cost per alternation: one warm-started working-set Lasso solve; the
    sigma update is ``O(n)``.  Secant extrapolation of the fixed-point map
    ``sigma -> ||r(alpha sigma)|| / sqrt(n)`` is used once two iterates are
    known, and kept only when it decreases the objective.

    References
    ----------
    .. [1] Ndiaye, E., Fercoq, O., Gramfort, A., Leclere, V. & Salmon, J.
       (2017). Efficient smoothed concomitant Lasso estimation for high
       dimensional regression. J. Phys.: Conf. Ser.
    .. [2] Sun, T. & Zhang, C.-H. (2012). Scaled sparse linear regression.
       Biometrika 99(4).

    Examples
    --------
    >>> from sparsecode.convex import ConcomitantCD
    >>> ConcomitantCD(tol=1e-6).max_iter
    100
    """

    datafit_kinds = ("sqrt",)
    penalty_requires = ("prox_1d",)
    requires_convex = True
    builtin_penalties_only = True

    def __init__(self, tol=1e-4, max_iter=100, sigma_min=None, max_epochs=50_000, p0=None,
                 anderson_k=5, verbose=0):
        self.tol = tol
        self.max_iter = max_iter
        self.sigma_min = sigma_min
        self.max_epochs = max_epochs
        self.p0 = p0
        self.anderson_k = anderson_k
        self.verbose = verbose


def sqrt_gap(y, R, corr_raw, pen_value, alpha, weights, positive, n):
    """Square-root LASSO gap from the residual (spec 3.1b), normalised form.

    ``corr_raw = X^T R``.  Returns (gap, primal).
    """
    nr = float(np.sqrt(R @ R))
    primal = nr / np.sqrt(n) + pen_value
    thr = alpha * weights
    mask = np.isfinite(thr) & (thr > 0)
    c = np.maximum(corr_raw[mask], 0.0) if positive else np.abs(corr_raw[mask])
    denom = max(np.sqrt(n) * nr, float(np.max(c / thr[mask])) if c.size else 0.0)
    if denom == 0.0:
        return primal, primal
    dual = float(y @ R) / denom
    return primal - dual, primal


def _polish(X, y, w, b, icol, alpha, wts, positive, n):
    """Exact square-root LASSO solution for the support and signs of ``w``.

    On a fixed support S with sign pattern s the optimality conditions are
    those of the Lasso with penalty ``alpha sigma``: ``w_S = G^{-1}(X_S^T y -
    n alpha sigma s)``, so ``r = r_LS + sigma v`` with ``r_LS`` the
    least-squares residual and ``v = n alpha X_S G^{-1} s`` orthogonal to it;
    ``n sigma^2 = ||r||^2`` then gives ``sigma^2 = ||r_LS||^2 / (n - ||v||^2)``.
    The concomitant alternation converges only linearly in sigma (its inner
    gaps are quadratic in the coefficient error), so the final digits come
    from this closed form.  Returns (w, b) or None when inconsistent.
    """
    S = np.flatnonzero(w != 0)
    cols = []
    svec = []
    if S.size:
        XS = X[:, S]
        cols.append(XS.toarray() if sp.issparse(XS) else np.asarray(XS, dtype=np.float64))
        svec.append(wts[S] * np.sign(w[S]))
    if icol is not None:
        cols.append(np.asarray(icol, dtype=np.float64)[:, None])
        svec.append(np.zeros(1))
    if not cols:
        return None
    B = np.hstack(cols)
    sv = np.concatenate(svec)
    G = B.T @ B
    try:
        coef_ls = np.linalg.solve(G, B.T @ y)
        u = np.linalg.solve(G, sv)
    except np.linalg.LinAlgError:
        return None
    r_ls = y - B @ coef_ls
    v = n * alpha * (B @ u)
    den = n - float(v @ v)
    if den <= 0:
        return None
    sigma = np.sqrt(float(r_ls @ r_ls) / den)
    z = coef_ls - n * alpha * sigma * u
    k = S.size
    if k and (np.any(np.sign(z[:k]) != np.sign(w[S])) or (positive and np.any(z[:k] < 0))):
        return None
    w_new = np.zeros_like(w)
    w_new[S] = z[:k]
    b_new = float(z[k]) if icol is not None else b
    return w_new, b_new


def solve_sqrt_builtin(X, y, penalty_kp, *, w0=None, b0=0.0, icol=None, solver, lips=None):
    code, alpha, gamma, weights, a2s, positive = penalty_kp
    n, N = X.shape
    if X.dtype != np.float64:
        # single precision is not enough for the alternation: when the noise
        # level is small, the inner Lasso solves (penalty alpha * sigma)
        # need residuals accurate beyond float32 eps, and a float32 w-step
        # stalls at a gap ~1e-3 P(0) (measured: 100 alternations against 4
        # in float64 on a 120 x 40 problem).  Solve in double precision;
        # the caller returns the coefficients in the input precision.
        X = X.astype(np.float64)
        if icol is not None:
            icol = np.asarray(icol, dtype=np.float64)
        lips = None if lips is None else np.asarray(lips, dtype=np.float64)
    y64 = np.asarray(y, dtype=np.float64)
    ynorm = float(np.sqrt(y64 @ y64))
    P0 = ynorm / np.sqrt(n)
    sigma_min = solver.sigma_min if solver.sigma_min is not None else 1e-4 * P0
    wts = weights if code == P.WL1 else np.ones(N)
    w = np.zeros(N, dtype=X.dtype) if w0 is None else np.array(w0, dtype=X.dtype)
    b = float(b0)
    tol = float(solver.tol)
    if lips is None:
        lips = (np.asarray(X.multiply(X).sum(axis=0)).ravel() if sp.issparse(X)
                else np.einsum("ij,ij->j", X, X)) / n
    inner = AndersonCD(tol=tol, max_iter=int(solver.max_iter), max_epochs=solver.max_epochs,
                       p0=solver.p0, anderson_k=solver.anderson_k)

    def residual(w, b):
        R = y64 - np.asarray(X @ w, dtype=np.float64)
        if icol is not None:
            R = R - b * icol
        return R

    def objective(R, w):
        return float(np.sqrt(R @ R)) / np.sqrt(n) + alpha * float(np.sum(wts[w != 0] *
                                                                           np.abs(w[w != 0])))

    R = residual(w, b)
    hist = []
    gap = np.inf
    converged = False
    it = 0
    sigma = max(float(np.sqrt(R @ R)) / np.sqrt(n), sigma_min)
    floor_active = False
    for it in range(1, int(solver.max_iter) + 1):
        corr = np.asarray(X.T @ R).ravel()
        pen = alpha * float(np.sum(wts[w != 0] * np.abs(w[w != 0])))
        gap, primal = sqrt_gap(y64, R, corr, pen, alpha, wts, positive, n)
        if solver.verbose:
            print(f"[ConcomitantCD] iter {it}: gap {gap:.3e}, sigma {sigma:.3e}")
        if gap <= tol * P0:
            converged = True
            break
        if it > 1 and not floor_active:
            pol = _polish(X, y64, w, b, icol, alpha, wts, positive, n)
            if pol is not None:
                Rp = residual(*pol)
                pen_p = alpha * float(np.sum(wts[pol[0] != 0] * np.abs(pol[0][pol[0] != 0])))
                gp, _ = sqrt_gap(y64, Rp, np.asarray(X.T @ Rp).ravel(), pen_p, alpha, wts,
                                 positive, n)
                if gp < gap:
                    w, b = pol[0].astype(X.dtype), pol[1]
                    R, gap = Rp, gp
                    sigma = max(float(np.sqrt(R @ R)) / np.sqrt(n), sigma_min)
                    if gap <= tol * P0:
                        converged = True
                        break
        # w-step: Lasso with penalty alpha * sigma, solved a bit beyond the
        # accuracy needed by the outer gap (relative to its own P(0)).
        kp = (code, alpha * sigma, gamma, weights, a2s, positive)
        P0_in = float(y64 @ y64) / (2 * n)
        # the Lasso objective is sigma times the concomitant one: ask the inner
        # solve for a gap well below the outer target, in its own scale
        inner.tol = max(min(tol, 0.1 * tol * P0 * sigma / max(P0_in, 1e-300),
                            1e-2 * gap * sigma / max(P0_in, 1e-300)), 1e-15)
        res = solve_quadratic_builtin(X, y, kp, w0=w, b0=b, icol=icol, solver=inner,
                                      lips=lips, convex=True, P0=P0_in, crit_ref=1.0)
        w, b = res["w"], res["b"]
        R = residual(w, b)
        s_new = float(np.sqrt(R @ R)) / np.sqrt(n)
        hist.append((sigma, s_new))
        # secant step on f(s) = g(s) - s (fixed point of the sigma map)
        s_next = s_new
        if len(hist) >= 2:
            (s0, g0), (s1, g1) = hist[-2], hist[-1]
            f0, f1 = g0 - s0, g1 - s1
            if f1 != f0:
                cand = s1 - f1 * (s1 - s0) / (f1 - f0)
                if np.isfinite(cand) and cand > 0 and abs(cand - s1) < 10 * abs(s_new - s1):
                    s_next = cand
        if floor_active and s_next < sigma_min:
            # the floor was already active for this w-step: the smoothed
            # concomitant problem (sigma = sigma_min) is solved; stop.
            converged = True
            break
        floor_active = s_next < sigma_min
        sigma = max(s_next, sigma_min)
    return dict(w=w, b=b, crit=float(gap), gap=float(gap), n_iter=it, converged=converged,
                sigma=float(np.sqrt(R @ R) / np.sqrt(n)), sigma_floor=floor_active,
                primal=objective(R, w))
