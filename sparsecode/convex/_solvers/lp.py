"""Working-set linear programming for the LAD-LASSO (spec 3.2, S7 + working sets).

The LAD-LASSO ``min_w (1/n) sum_i s_i |y_i - x_i^T w - b| + alpha sum_j w_j |w_j|``
is the LP

    min (1/n) s^T (u + v) + alpha w^T (x+ + x-)
    s.t. X x+ - X x- + b+ - b- + u - v = y,   x+, x-, u, v, b+, b- >= 0,

whose dual is ``max y^T theta`` s.t. ``|theta_i| <= s_i / n``,
``|x_j^T theta| <= alpha w_j`` (and ``1^T theta = 0`` with an intercept).
We solve it by column generation: the LP restricted to a working set of
features gives a primal vertex and its multipliers ``theta`` -- by default
a primal-dual interior point method with a crossover to the exact vertex
(``lad_ipm.py``), else (fallback, or ``method="highs"``) HiGHS through
``scipy.optimize.linprog`` with the equality marginals as ``theta`` (spec
S7: no sign flip); features whose dual
constraint ``|x_j^T theta| <= alpha w_j`` is violated enter the working set;
no feature ever leaves it.  Each restricted LP is optimal for its columns, so
the objective decreases monotonically and the method terminates finitely
(at most n_features additions).  Stopping rule: the duality gap with
``theta`` rescaled to full feasibility, ``gap <= tol * P(0)``.
"""

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .base import BaseSolver
from .lad_ipm import solve_restricted

__all__ = ["WorkingSetLP"]


class WorkingSetLP(BaseSolver):
    r"""Column-generation LP (interior point + crossover, or HiGHS) for the LAD-LASSO.

    Parameters
    ----------
    tol : float, default=1e-6
        Stop when the duality gap is ``<= tol * P(0)``.
    max_iter : int, default=100
        Working-set enlargements.
    p0 : int, default=50
        First working-set size (plus unpenalised features) of the HiGHS
        method.
    verbose : int, default=0
        Print the gap at each iteration.
    method : {"ipm", "highs"}, default="ipm"
        Inner LP solver.  ``"ipm"``: Mehrotra's predictor-corrector interior
        point method with the Newton system reduced to the smaller of
        ``n x n`` and ``|ws| x |ws|`` (Cholesky), columns whose dual
        constraint is clearly inactive dropped after a few iterations, then
        a crossover to the exact optimal vertex (zero residuals and active
        features read off the complementarity pairs; the vertex is accepted
        only if its duality gap is at rounding level, else HiGHS takes
        over).  ``"highs"``: every restricted LP by HiGHS (dual simplex).
        Positive unpenalised features and problems with more free columns
        (unpenalised features, intercept; every feature when ``alpha = 0``)
        than half the rows always use HiGHS.

    See Also
    --------
    PDHG : matrix-free alternative.

    Notes
    -----
    Each restricted LP has ``2 n + 2 |ws|`` variables and n equality
    constraints; for ``|ws| << n_features`` it is much cheaper than the full
    LP that scikit-learn's ``QuantileRegressor`` builds.  The gap uses the
    LP multipliers, not the residual signs (which are useless near the
    optimum, spec S7).  An interior point iteration costs
    ``min(n^2 |ws|, n |ws|^2)`` flops (one BLAS ``syrk``), about 15 of them
    solve the LP to the accuracy at which the crossover finds the vertex.

    References
    ----------
    .. [1] Wang, H., Li, G. & Jiang, G. (2007). Robust regression shrinkage
       and consistent variable selection through the LAD-Lasso. JBES.
    .. [2] Huangfu, Q. & Hall, J. A. J. (2018). Parallelizing the dual revised
       simplex method. Math. Prog. Comp. (HiGHS).
    .. [3] Mehrotra, S. (1992). On the implementation of a primal-dual interior
       point method. SIAM J. Optim. 2(4).
    .. [4] Portnoy, S. & Koenker, R. (1997). The Gaussian hare and the
       Laplacian tortoise: computability of squared-error versus
       absolute-error estimators. Statist. Sci. 12(4).

    Examples
    --------
    >>> from sparsecode.convex import WorkingSetLP
    >>> WorkingSetLP().method
    'ipm'
    """

    datafit_kinds = ("lad",)
    penalty_requires = ()
    requires_convex = True
    builtin_penalties_only = True

    def __init__(self, tol=1e-6, max_iter=100, p0=50, verbose=0, method="ipm"):
        self.tol = tol
        self.max_iter = max_iter
        self.p0 = p0
        self.verbose = verbose
        if method not in ("ipm", "highs"):
            raise ValueError(f"method must be 'ipm' or 'highs'; got {method!r}.")
        self.method = method


def _restricted_lp(Xs, y, costs_x, cost_r, positive, intercept):
    n, k = Xs.shape
    blocks = [Xs]
    c = [costs_x]
    if not positive:
        blocks.append(-Xs)
        c.append(costs_x)
    if intercept:
        one = sp.csc_matrix(np.ones((n, 1)))
        blocks += [one, -one]
        c += [np.zeros(1), np.zeros(1)]
    eye = sp.identity(n, format="csc")
    blocks += [eye, -eye]
    c += [cost_r, cost_r]
    A = sp.hstack([sp.csc_matrix(b) if not sp.issparse(b) else b for b in blocks], format="csc")
    res = linprog(np.concatenate(c), A_eq=A, b_eq=y, bounds=(0, None), method="highs")
    if res.status != 0:
        raise RuntimeError(f"HiGHS failed on the LAD-LASSO LP: {res.message}")
    z = res.x
    xs = z[:k] - (0 if positive else z[k:2 * k])
    off = k if positive else 2 * k
    b = z[off] - z[off + 1] if intercept else 0.0
    return xs, b, np.asarray(res.eqlin.marginals)


def _irls_guess(Xc, y, alpha, wts, positive, fit_intercept, sw, b0, n_iter=12):
    """Approximate LAD-LASSO solution by iteratively reweighted Lasso solves.

    Majorisation-minimisation: ``|r| <= r^2 / (2|r0|) + |r0| / 2``, so each
    step is a weighted Lasso ``(1/2n) sum_i s_i r_i^2 + alpha Omega(w)`` with
    ``s_i = sw_i / max(|r0_i|, delta)`` solved (loosely, warm-started) by the
    Anderson CD kernels; ``delta`` decreases geometrically.  Used only to pick
    the first working set of the exact LP (a good guess makes the column
    generation finish in one or two LPs).
    """
    from .. import _prox as P
    from .cd import AndersonCD, solve_quadratic_builtin

    n, N = Xc.shape
    kp = (P.WL1, float(alpha), 0.0, np.asarray(wts, dtype=np.float64), np.zeros(0),
          bool(positive))
    Xd = Xc if sp.issparse(Xc) else np.asarray(Xc, dtype=np.float64)
    w = np.zeros(N)
    b = b0
    r = y - b
    scale = float(np.median(np.abs(r))) or float(np.max(np.abs(r))) or 1.0
    inner = AndersonCD(tol=1e-4, max_iter=20)
    for k in range(n_iter):
        delta = max(scale * 10.0 ** (-k - 1), 1e-9 * scale)
        s = sw / np.maximum(np.abs(r), delta)
        sq = np.sqrt(s)
        if sp.issparse(Xd):
            Xs = sp.csc_matrix(sp.diags(sq) @ Xd)
            Xs.sort_indices()
        else:
            Xs = np.asfortranarray(Xd * sq[:, None])
        ys = sq * y
        res = solve_quadratic_builtin(Xs, ys, kp, w0=w, b0=b, icol=sq if fit_intercept else None,
                                      solver=inner, convex=True, P0=float(ys @ ys) / (2 * n),
                                      crit_ref=1.0)
        w, b = res["w"], res["b"]
        r = y - np.asarray(Xd @ w).ravel() - b
    return w, b


def _dense_cols(Xc, rows, cols, keep_sparse=False):
    """``Xc[rows][:, cols]`` as a dense Fortran array (rows: a slice or an index
    array), or CSC when ``keep_sparse`` and ``Xc`` is sparse."""
    if sp.issparse(Xc):
        sub = Xc[:, cols]
        if not isinstance(rows, slice):
            sub = sub[rows]
        if keep_sparse:
            sub = sp.csc_matrix(sub)
            sub.sort_indices()
            return sub
        return np.asfortranarray(sub.toarray())
    return np.asfortranarray(Xc[rows][:, cols] if not isinstance(rows, slice)
                             else Xc[:, cols])


_TPC = []


def _one_blas_thread(active):
    """One BLAS thread while the interior point method runs on a small problem.

    Its BLAS calls are small (a ``syrk`` of a few milliseconds): threads gain
    little there and lose badly on a loaded machine (measured on the shared
    2-core machine, 300 x 1000: 0.5-1.5 s with 2 OpenBLAS threads against
    0.12-0.24 s with one).  The controller is built once (library discovery
    costs milliseconds; the limit itself microseconds).
    """
    import contextlib

    if not active:
        return contextlib.nullcontext()
    if not _TPC:
        from threadpoolctl import ThreadpoolController

        _TPC.append(ThreadpoolController())
    return _TPC[0].limit(limits=1, user_api="blas")


def _ipm_applies(solver, alpha, positive, forced, excluded, fit_intercept, n_rows):
    """Whether the interior-point + crossover inner solver is used (else HiGHS)."""
    if getattr(solver, "method", "ipm") != "ipm":
        return False
    n_free = int(np.count_nonzero(forced & ~excluded)) + int(fit_intercept)
    # positive unpenalised features are bounded, not free: left to HiGHS; so
    # are problems whose free columns nearly fill the rows
    return not (positive and np.any(forced & ~excluded)) and 2 * n_free <= n_rows


def solve_lad_lp(X, y, alpha, weights, positive, *, fit_intercept, sample_weight, w0, solver):
    n, N = X.shape
    Xc = X.tocsc() if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    cost_r = sw / n
    wts = np.asarray(weights, dtype=np.float64)
    excluded = np.isinf(wts)
    forced = (wts == 0) | (alpha == 0)  # unpenalised (every feature when alpha = 0)
    pen_thr = alpha * wts

    def primal_value(w, b):
        r = y - np.asarray(Xc @ w).ravel() - b
        nz = w != 0
        return float(cost_r @ np.abs(r)) + alpha * float(np.sum(wts[nz] * np.abs(w[nz])))

    # P(0): the LAD fit of the intercept alone (weighted median) or of nothing
    b0 = _weighted_median(y, sw) if fit_intercept else 0.0
    P0 = float(cost_r @ np.abs(y - b0))
    if P0 <= 0.0:
        # y is fitted exactly by the intercept alone (or is 0): the objective
        # is >= 0, so w = 0 is optimal with a zero gap
        return dict(w=np.zeros(N), b=float(b0), gap=0.0, crit=0.0, n_iter=0, converged=True,
                    primal=0.0, P0=0.0)
    xmax = float(abs(Xc).max()) if Xc.shape[0] * Xc.shape[1] else 0.0
    coef_scale = float(np.max(np.abs(y))) / xmax if xmax > 0 else 0.0
    use_ipm = _ipm_applies(solver, alpha, positive, forced, excluded, fit_intercept,
                           int(np.count_nonzero(sw > 0)))
    if alpha == 0:
        ws = np.flatnonzero(~excluded)
    elif use_ipm:
        ws = _ipm_first_ws(Xc, y, b0, cost_r, wts, excluded, forced, w0, n, solver)
    else:
        r0 = y - b0
        u = np.sign(r0) * cost_r
        score = np.abs(np.asarray(Xc.T @ u).ravel())
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where(wts > 0, score / np.where(wts > 0, wts, 1.0), np.inf)
        score[excluded] = -np.inf
        sel = set(np.flatnonzero(forced & ~excluded).tolist())
        if w0 is not None:
            sel |= set(np.flatnonzero(np.asarray(w0) != 0).tolist())
        k0 = min(int(solver.p0), int(np.count_nonzero(~excluded)))
        if w0 is None and N > 2 * int(solver.p0):
            guess, _ = _irls_guess(Xc, y, alpha, wts, positive, fit_intercept, sw, b0)
            sel |= set(np.flatnonzero(guess != 0).tolist())
            k0 = min(k0, 10)
        if k0 > 0:
            sel |= set(np.argpartition(-score, k0 - 1)[:k0].tolist())
        sel -= set(np.flatnonzero(excluded).tolist())
        ws = np.array(sorted(sel), dtype=np.int64)
    rows = np.flatnonzero(sw > 0)
    if rows.size == n:
        rows = slice(None)
    yr, cr = y[rows], cost_r[rows]
    free_idx = np.flatnonzero(forced & ~excluded)
    w = np.zeros(N)
    b = b0
    gap = np.inf
    converged = False
    it = 0
    n_ipm = 0
    for it in range(1, int(solver.max_iter) + 1):
        out = None
        if use_ipm:
            pen_ws = ws[~forced[ws]]
            Xk = _dense_cols(Xc, rows, pen_ws, keep_sparse=True)
            F = _dense_cols(Xc, rows, free_idx)
            if fit_intercept:
                F = np.hstack([F, np.ones((yr.size, 1))])
            # columns are dropped inside the IPM in the first round only:
            # later rounds keep every column they are given
            with _one_blas_thread(yr.size <= 2000):
                try:
                    out = solve_restricted(Xk, F, yr, pen_thr[pen_ws], cr, positive, 1e-11,
                                           drop=n_ipm == 0)
                except np.linalg.LinAlgError:
                    # a singular Newton matrix (e.g. zero or dependent
                    # unpenalised columns): HiGHS solves this set instead
                    out = None
                    use_ipm = False
        if out is not None:
            wk, fk, th_r, n_in, kept = out
            n_ipm += n_in
            xs_full = np.zeros(N)
            xs_full[pen_ws] = wk
            xs_full[free_idx] = fk[:free_idx.size]
            b = float(fk[-1]) if fit_intercept else 0.0
            theta = np.zeros(n)
            theta[rows] = th_r
            xs = xs_full[ws]
        else:
            Xs = Xc[:, ws]
            if sp.issparse(Xs):
                Xs = Xs.tocsc()
            xs, b, theta = _restricted_lp(Xs, y, pen_thr[ws], cost_r, positive, fit_intercept)
        w = np.zeros(N)
        w[ws] = xs
        # rounding-level entries of the vertex are zeros (relative to the
        # largest coefficient, or to the coefficient scale max|y| / max|x_ij|
        # when all are tiny: never an absolute threshold)
        w[np.abs(w) < 1e-14 * max(float(np.max(np.abs(xs))) if xs.size else 0.0,
                                  coef_scale)] = 0.0
        corr = np.asarray(Xc.T @ theta).ravel()
        mask = np.isfinite(pen_thr) & (pen_thr > 0)
        c = np.maximum(corr, 0.0) if positive else np.abs(corr)
        ratio = np.zeros(N)
        ratio[mask] = c[mask] / pen_thr[mask]
        pos = cost_r > 0
        s = max(1.0, float(ratio.max()), float(np.max(np.abs(theta[pos]) / cost_r[pos])))
        primal = primal_value(w, b)
        dual = float(y @ theta) / s
        gap = primal - dual
        if solver.verbose:
            print(f"[WorkingSetLP] iter {it}: ws {ws.size}, gap {gap:.3e}"
                  + (f", IPM iterations {n_ipm}" if use_ipm else ""))
        if gap <= solver.tol * P0:
            converged = True
            break
        viol = np.flatnonzero((ratio > 1.0 + 1e-9) & ~excluded)
        if out is not None:
            # the next IPM round works on the columns kept by this one
            ws = np.union1d(pen_ws[kept], free_idx).astype(np.int64)
        viol = np.setdiff1d(viol, ws)
        if viol.size == 0:
            if out is not None:
                # the IPM vertex failed the full check without any violated
                # column (rounding): finish with the simplex on this set
                use_ipm = False
                continue
            # LP solved to HiGHS accuracy on every column: nothing left to add
            converged = gap <= max(solver.tol, 1e-9) * P0 * 10
            break
        n_add = max(10, ws.size // 4)
        if use_ipm:
            # an IPM round restarts from scratch: add many violators at once
            # (the IPM drops the inactive columns of ws again by itself)
            n_add = max(100, 2 * yr.size if yr.size <= 1500 else yr.size // 2)
        if viol.size > n_add:
            viol = viol[np.argpartition(-ratio[viol], n_add - 1)[:n_add]]
        ws = np.union1d(ws, viol).astype(np.int64)
    if not forced.any() and np.any(w != 0) and P0 <= primal + 1e-13 * P0:
        # alpha >= alpha_max: the LP may return another vertex of a tied
        # optimal face; the zero solution is optimal, return it (spec 3.5.1)
        w = np.zeros(N)
        b = b0
        primal = P0
    return dict(w=w, b=float(b), gap=float(gap), crit=float(gap), n_iter=it,
                converged=converged, primal=primal, P0=P0)


def _ipm_first_ws(Xc, y, b0, cost_r, wts, excluded, forced, w0, n, solver):
    """First working set of the IPM rounds.

    Every admissible feature while ``n^2 |ws|`` stays moderate (the IPM
    itself drops the columns that are clearly inactive after a few
    iterations); otherwise the previous support (warm start) plus the
    ``4 n`` (``max(100, n / 2)`` when ``n > 1500``) features most correlated
    with the signs of the initial residual.
    """
    ok = np.flatnonzero(~excluded)
    if n <= 1500 and (ok.size <= 4 * n or (sp.issparse(Xc) and Xc.nnz <= 2e6)):
        # (sparse: the Newton matrix is a sparse product, cheap whatever p)
        return ok
    limit = min(ok.size, 4 * n if n <= 1500 else max(100, n // 2))
    r0 = y - b0 if w0 is None else y - np.asarray(Xc @ w0).ravel()
    u = np.sign(r0) * cost_r
    score = np.abs(np.asarray(Xc.T @ u).ravel())
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(wts > 0, score / np.where(wts > 0, wts, 1.0), np.inf)
    score[excluded] = -np.inf
    sel = np.argpartition(-score, limit - 1)[:limit]
    if w0 is not None:
        sel = np.union1d(sel, np.flatnonzero(np.asarray(w0) != 0))
    sel = np.union1d(sel, np.flatnonzero(forced & ~excluded))
    return np.setdiff1d(sel, np.flatnonzero(excluded)).astype(np.int64)


def _weighted_median(v, weights):
    """Minimiser of ``sum_i weights_i |v_i - t|`` (spec 0.2, kernel 5)."""
    order = np.argsort(v, kind="stable")
    cw = np.cumsum(weights[order])
    k = int(np.searchsorted(cw, 0.5 * cw[-1]))
    return float(v[order][min(k, v.size - 1)])
