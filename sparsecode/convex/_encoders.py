"""Encoders registered in ``sparse_encode`` / ``SparseCoder``.

=================  ==============================================================
algorithm          problem solved for each signal x (row of X), dictionary D
=================  ==============================================================
"lasso"            ``1/2 ||x - D^T c||^2 + alpha ||c||_1``  (scikit-learn's "lasso_cd")
"weighted_lasso"   ``1/2 ||x - D^T c||^2 + alpha sum_k weights_k |c_k|``
"mcp"              ``1/2 ||x - D^T c||^2 + sum_k MCP_{alpha, gamma}(c_k)``
"sqrt_lasso"       ``||x - D^T c||_2 + alpha sum_k weights_k |c_k|``
"lad_lasso"        ``||x - D^T c||_1 + alpha sum_k weights_k |c_k|``
=================  ==============================================================

The objectives are per signal and unnormalised, as in scikit-learn's
``sparse_encode`` (which divides its alpha by n_features internally for
"lasso_cd"; we do not -- ours is the objective written above).  The first
four run a Gram coordinate-descent kernel (compiled, OpenMP ``prange`` over
signals, one GEMM ``D X^T`` shared by all); "lad_lasso" solves each signal's LP
exactly with the working-set interior point and crossover of ``LADLasso``
(about 10 ms per signal for a 128 x 512 dictionary; it was batched
Chambolle-Pock, which needed seconds and did not always reach its gap),
signals spread over ``n_jobs`` threads.
"""

import numpy as np

from .._base import warn_not_converged
from .._parallel import blas_limited, effective_n_jobs
from .._registry import register_encoder
from . import _prox as P
from .._ext import _convex as _C

__all__ = []


def _gram_cd_one(G, aty, ynorm2, code, alpha, gamma, weights, positive, sqrt_mode,
                 max_iter, tol, w):
    """Cyclic Gram CD for one signal (compiled: ``_ext._convex.gram_cd_one``);
    w (n_atoms,) in/out.  Returns (n_epochs, crit).

    Quadratic mode minimises 1/2||y - Aw||^2 + sum phi(w); sqrt mode the
    concomitant form of ||y - Aw|| + alpha sum w_j|w_j| (sigma = ||r|| updated
    after every epoch).  c = A^T y - G w is maintained.
    """
    return _C.gram_cd_one(G, aty, float(ynorm2), int(code), float(alpha), float(gamma),
                          weights, bool(positive), bool(sqrt_mode), int(max_iter), float(tol),
                          w)


def _gram_cd_batch(G, ATY, ynorm2, code, alpha, gamma, weights, positive, sqrt_mode,
                   max_iter, tol, W, crits, epochs, n_threads=None):
    """``_gram_cd_one`` for every row of ``ATY`` / ``W``, one signal per OpenMP
    task (compiled: ``_ext._convex.gram_cd_batch``)."""
    # default: one thread, the library's n_jobs=None convention (the signals
    # are independent; the result does not depend on the thread count)
    n_threads = 1 if n_threads is None else int(n_threads)
    _C.gram_cd_batch(G, ATY, np.ascontiguousarray(ynorm2, dtype=np.float64), int(code),
                     float(alpha), float(gamma), weights, bool(positive), bool(sqrt_mode),
                     int(max_iter), float(tol), W, crits, epochs, max(1, n_threads))


def _run_gram(X, D, code, alpha, gamma, weights, positive, sqrt_mode, tol, max_iter, n_jobs,
              name, init=None):
    # C-contiguous double-precision copies: the products (and so the codes)
    # do not depend on the memory order of the inputs
    Dw = np.ascontiguousarray(D, dtype=np.float64)
    Xw = np.ascontiguousarray(X, dtype=np.float64)
    with blas_limited(effective_n_jobs(n_jobs)):
        G = Dw @ Dw.T
        ATY = Xw @ Dw.T
    ynorm2 = np.einsum("ij,ij->i", Xw, Xw)
    W = np.zeros_like(ATY) if init is None else np.array(init, dtype=np.float64)
    crits = np.zeros(X.shape[0])
    epochs = np.zeros(X.shape[0], dtype=np.int64)
    wts = np.zeros(0) if weights is None else np.asarray(weights, dtype=np.float64)
    _gram_cd_batch(G, ATY, ynorm2, code, float(alpha), float(gamma), wts, bool(positive),
                   bool(sqrt_mode), int(max_iter), float(tol), W, crits, epochs,
                   n_threads=effective_n_jobs(n_jobs))
    failed = epochs >= max_iter
    if sqrt_mode:
        # the concomitant iteration cannot reach an optimum with a zero
        # residual (sigma -> 0: the inner Lasso penalty vanishes and CD
        # crawls); that optimum is the basis-pursuit solution, certified by
        # its LP multipliers
        failed = _sqrt_zero_residual(Xw, Dw, alpha, wts, positive, tol, W, crits, failed)
    failed = int(np.count_nonzero(failed))
    warn_not_converged(f"sparse_encode({name!r})", failed, X.shape[0],
                       "duality gap" if code in (P.L1, P.WL1) else "fixed-point residual",
                       float(crits.max()) if crits.size else 0.0, tol)
    return W


def _basis_pursuit(A, y, wts, positive):
    """``min sum_k wts_k |c_k|  s.t.  A c = y`` by HiGHS; ``wts``: 0 = free,
    inf = excluded.  Returns ``(c, u)`` (``u`` the multipliers of ``A c = y``,
    signed so that ``y^T u`` is the optimal value) or None when infeasible."""
    from scipy.optimize import linprog

    N = A.shape[1]
    keep = np.flatnonzero(~np.isinf(wts))
    Ak, wk = A[:, keep], wts[keep]
    # HiGHS's feasibility and optimality tolerances are absolute (1e-7): solve
    # the LP for y / ||y|| and A / max_k ||a_k||, so that its answer does not
    # depend on the scale of the data (at ||y|| = 1e-150 the zero vector is
    # "feasible"; at 1e15 the multipliers are lost), and scale back:
    # c = c' ||y|| / s_A, u = u' / s_A.
    sy = float(np.sqrt(y @ y))
    sa = float(np.sqrt(np.max(np.einsum("ij,ij->j", Ak, Ak), initial=0.0)))
    if sy == 0 or sa == 0 or not np.isfinite(sy) or not np.isfinite(sa):
        return None
    Ak = Ak / sa
    if positive:
        A_eq, cost = Ak, wk
    else:
        A_eq, cost = np.hstack([Ak, -Ak]), np.concatenate([wk, wk])
    res = linprog(cost, A_eq=A_eq, b_eq=y / sy, bounds=(0, None), method="highs")
    if res.status != 0:
        return None
    c = np.zeros(N)
    k = keep.size
    c[keep] = (res.x[:k] if positive else res.x[:k] - res.x[k:]) * (sy / sa)
    u = np.asarray(res.eqlin.marginals, dtype=np.float64) / sa
    if float(y @ u) < 0:
        u = -u
    return c, u


def _sqrt_gap(A, y, c, theta_dir, alpha, wts, positive):
    """Square-root Lasso gap ``||y - Ac|| + alpha sum w|c| - y^T theta`` with
    ``theta`` the direction ``theta_dir`` scaled to the dual feasible set
    ``||theta|| <= 1, |a_k^T theta| <= alpha w_k``; -> (primal, dual)."""
    r = y - A @ c
    nz = c != 0
    primal = float(np.sqrt(r @ r)) + alpha * float(np.sum(wts[nz] * np.abs(c[nz])))
    corr = A.T @ theta_dir
    t = alpha * wts
    ok = (t > 0) & np.isfinite(t)
    cc = np.maximum(corr[ok], 0.0) if positive else np.abs(corr[ok])
    s = max(float(np.sqrt(theta_dir @ theta_dir)), float(np.max(cc / t[ok], initial=0.0)))
    dual = float(y @ theta_dir) / s if s > 0 else 0.0
    return primal, dual


def _sqrt_zero_residual(X, D, alpha, wts, positive, tol, W, crits, failed):
    """Replace the codes of the signals whose square-root Lasso optimum
    interpolates them (zero residual) by the basis-pursuit solution.

    Tried on the signals that did not converge or whose residual is at
    rounding level; the basis-pursuit code is kept when its objective is
    lower, and its gap (dual point: the LP multipliers times alpha, scaled
    to feasibility) is certified: exactly zero when ``alpha ||u|| <= 1``,
    which is the condition for the zero-residual optimum.
    Returns the updated ``failed`` mask; ``W`` and ``crits`` are updated in
    place.
    """
    A = D.T
    w = np.ones(D.shape[0]) if wts.size == 0 else wts
    R = X - W @ D
    rn = np.sqrt(np.einsum("ij,ij->i", R, R))
    yn = np.sqrt(np.einsum("ij,ij->i", X, X))
    todo = np.flatnonzero(failed | (rn <= 1e-6 * yn)) if alpha > 0 else []
    failed = failed.copy()
    for i in todo:
        if yn[i] == 0:
            continue
        bp = _basis_pursuit(A, X[i], w, positive)
        if bp is None:
            continue
        c, u = bp
        p_bp, d_bp = _sqrt_gap(A, X[i], c, alpha * u, alpha, w, positive)
        p_cd, d_cd = _sqrt_gap(A, X[i], W[i], R[i], alpha, w, positive)
        if p_bp < p_cd:
            W[i] = c
        gap = max(min(p_bp, p_cd) - max(d_bp, d_cd), 0.0)
        crits[i] = gap
        failed[i] = gap > tol * yn[i]
    return failed


def _check_alpha(alpha, name):
    if alpha is None:
        raise ValueError(f"algorithm={name!r} needs alpha (>= 0).")
    return float(alpha)


def _check_w(weights, n_atoms):
    from ._penalties import check_weights

    return None if weights is None else check_weights(weights, n_atoms)


@register_encoder("lasso", description="Lasso by the LARS homotopy on the Gram matrix (exact; "
                  "Gram coordinate descent above 8192 atoms); objective 1/2||x - D^T c||^2 + "
                  "alpha||c||_1",
                  params=("alpha", "tol", "max_iter", "positive"))
def _encode_lasso(X, D, *, alpha=None, tol=None, max_iter=None, positive=False, n_jobs=None):
    import scipy.sparse as sp

    alpha = _check_alpha(alpha, "lasso")
    if D.shape[0] <= _LARS_MAX_ATOMS and not sp.issparse(X):
        # exact at alpha (no tolerance): the LARS homotopy on the Gram matrix,
        # faster than the Gram CD in every case measured (perf-lars: 10-300x)
        from ._lars import lasso_lars_gram

        return lasso_lars_gram(X, D, alpha, positive=positive, n_jobs=n_jobs)
    return _run_gram(X, D, P.L1, alpha, 0.0, None, positive, False,
                     1e-6 if tol is None else tol, 10_000 if max_iter is None else max_iter,
                     n_jobs, "lasso")


# above this many atoms the (float64) Gram matrix passes 512 MiB: Gram CD
_LARS_MAX_ATOMS = 8192


@register_encoder("weighted_lasso", description="weighted Lasso by Gram coordinate descent "
                  "(weights per atom: 0 = unpenalised, inf = excluded)",
                  params=("alpha", "tol", "max_iter", "positive", "weights"))
def _encode_wlasso(X, D, *, alpha=None, weights=None, tol=None, max_iter=None, positive=False,
                   n_jobs=None):
    w = _check_w(weights, D.shape[0])
    w = np.ones(D.shape[0]) if w is None else w
    return _run_gram(X, D, P.WL1, _check_alpha(alpha, "weighted_lasso"), 0.0, w, positive,
                     False, 1e-6 if tol is None else tol,
                     10_000 if max_iter is None else max_iter, n_jobs, "weighted_lasso")


@register_encoder("mcp", description="MCP-penalised least squares by Gram coordinate descent "
                  "(gamma default 3) started from the Lasso solution; a coordinate-wise "
                  "minimiser",
                  params=("alpha", "tol", "max_iter", "positive", "gamma"))
def _encode_mcp(X, D, *, alpha=None, gamma=3.0, tol=None, max_iter=None, positive=False,
                n_jobs=None):
    if not gamma > 1:
        raise ValueError(f"gamma must be > 1; got {gamma!r}.")
    alpha = _check_alpha(alpha, "mcp")
    tol = 1e-6 if tol is None else tol
    max_iter = 10_000 if max_iter is None else max_iter
    # Coordinate descent on a nonconvex penalty stops at the first
    # coordinate-wise minimiser it meets; from zero that is often a dense one
    # (every atom correlated above alpha enters in the first sweep and MCP
    # never shrinks it back).  Start from the Lasso solution at the same
    # alpha instead, as pathwise nonconvex solvers do (ncvreg, SparseNet):
    # MCP then removes the Lasso's shrinkage bias.
    start = _run_gram(X, D, P.L1, alpha, 0.0, None, positive, False, tol, max_iter, n_jobs,
                      "mcp (Lasso start)")
    return _run_gram(X, D, P.MCP, alpha, float(gamma), None, positive, False, tol, max_iter,
                     n_jobs, "mcp", init=start)


@register_encoder("sqrt_lasso", description="square-root Lasso ||x - D^T c||_2 + alpha "
                  "sum w_k|c_k| by concomitant Gram coordinate descent",
                  params=("alpha", "tol", "max_iter", "positive", "weights"))
def _encode_sqrt(X, D, *, alpha=None, weights=None, tol=None, max_iter=None, positive=False,
                 n_jobs=None):
    w = _check_w(weights, D.shape[0])
    w = np.ones(D.shape[0]) if w is None else w
    return _run_gram(X, D, P.WL1, _check_alpha(alpha, "sqrt_lasso"), 0.0, w, positive, True,
                     1e-6 if tol is None else tol, 10_000 if max_iter is None else max_iter,
                     n_jobs, "sqrt_lasso")


@register_encoder("lad_lasso", description="LAD-Lasso ||x - D^T c||_1 + alpha sum w_k|c_k| "
                  "solved exactly per signal (working-set interior point + crossover, "
                  "duality-gap certificate); threads over signals",
                  params=("alpha", "tol", "max_iter", "positive", "weights"))
def _encode_lad(X, D, *, alpha=None, weights=None, tol=None, max_iter=None, positive=False,
                n_jobs=None):
    from concurrent.futures import ThreadPoolExecutor

    from ._solvers.lp import WorkingSetLP, solve_lad_lp

    w = _check_w(weights, D.shape[0])
    w = np.ones(D.shape[0]) if w is None else w
    alpha = _check_alpha(alpha, "lad_lasso")
    solver = WorkingSetLP(tol=1e-6 if tol is None else tol,
                          max_iter=100 if max_iter is None else max_iter)
    A = np.ascontiguousarray(np.asarray(D, dtype=np.float64).T)
    Xd = np.asarray(X, dtype=np.float64)
    n = A.shape[0]
    # The LP solvers work with absolute tolerances (HiGHS: 1e-7): the
    # dictionary and each signal are brought to unit scale by powers of two
    # (exact), A = 2**ea A~, x = 2**eb x~, c = 2**(eb - ea) c~, and the
    # objective is 2**eb times the one with alpha~ = alpha 2**-ea.
    amax = float(np.max(np.abs(A))) if A.size else 0.0
    ea = int(np.frexp(amax)[1]) if amax > 0 else 0
    A = np.ldexp(A, -ea)
    # ||x - A c||_1 + alpha sum w|c|  =  n [ (1/n)||x - A c||_1 + (alpha/n) sum w|c| ]
    a_n = float(np.ldexp(alpha, -ea)) / n

    def one(i):
        xm = float(np.max(np.abs(Xd[i]))) if Xd.shape[1] else 0.0
        eb = int(np.frexp(xm)[1]) if xm > 0 else 0
        r = solve_lad_lp(A, np.ldexp(Xd[i], -eb), a_n, w, positive, fit_intercept=False,
                         sample_weight=None, w0=None, solver=solver)
        with np.errstate(over="ignore", under="ignore"):
            return (np.ldexp(r["w"], eb - ea), float(np.ldexp(r["gap"], eb)),
                    float(np.ldexp(r["P0"], eb)))

    n_sig = Xd.shape[0]
    n_threads = min(effective_n_jobs(n_jobs), max(n_sig, 1))
    if n_threads > 1:
        with ThreadPoolExecutor(n_threads) as ex:
            results = list(ex.map(one, range(n_sig)))
    else:
        results = [one(i) for i in range(n_sig)]
    codes = np.zeros((n_sig, A.shape[1]))
    gaps = np.zeros(n_sig)
    P0 = np.zeros(n_sig)
    for i, (c, g, p0) in enumerate(results):
        codes[i], gaps[i], P0[i] = c, g, p0
    warn_not_converged("sparse_encode('lad_lasso')",
                       int(np.count_nonzero(gaps > solver.tol * np.maximum(P0, 1e-300))),
                       n_sig, "duality gap", float(np.max(gaps, initial=0.0)), solver.tol)
    return codes
