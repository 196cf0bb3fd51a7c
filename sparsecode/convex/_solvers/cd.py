"""Working-set coordinate descent with Anderson acceleration (spec 3.2, S2).

Bertrand & Massias (2021), "Anderson acceleration of coordinate descent"
(AISTATS) and skglm's ``AndersonCD`` (Bertrand et al. 2022): an outer loop
picks a working set of the coordinates that violate optimality most (plus
the current support and the unpenalised ones), an inner loop runs cyclic CD
epochs on it, extrapolating every K+1 epochs (Anderson, accepted only if it
decreases the objective).  Convex penalties stop on the duality gap
(``gap <= tol * P(0)``, spec 3.2 S3); non-convex ones on the coordinate-wise
fixed-point residual (``max_j L_j |w_j - prox(w_j - g_j/L_j)| <= tol *
||X^T y||_inf / n``).

Two inner kernels: the compiled ``_ext._convex.cd_inner`` (one Cython source
with fused float32/float64 data and int32/int64 indices; the built-in
Quadratic datafit with a built-in penalty selected by an integer code, or a
user penalty compiled to C callbacks; dense Fortran-ordered or CSC
designs; wide CSR designs are not converted, their working-set columns are
gathered into a small CSC block before each inner solve) and
``_cd_inner_generic`` (Numba: any smooth user datafit, jitclass, compiled on
first use).  Gap-safe screening (``AndersonCD.screening``) removes the
features certified zero at every outer iteration.

Dual point (spec 3.1a): ``theta = R / (n s)`` with ``R`` projected so that
the unpenalised directions are feasible (``_DualProjector``; one-sided for
weight-0 features under ``positive=True``) and ``s`` the smallest scaling
making ``|x_j^T theta| <= alpha w_j`` (``x_j^T theta <= alpha w_j`` with
``positive``).
"""

import numpy as np
import scipy.sparse as sp
from numba import njit

from .. import _prox as P

from ..._ext import _convex as _C  # the compiled kernels (one source, fused types)

from .base import BaseSolver

__all__ = ["AndersonCD"]


def _inner(is_sparse, Xd, data, indices, indptr, R, w, b, ws, lips, code, alpha, gamma, wts,
           a2s, positive, icol, max_epochs, tol_in, K, early=0.0, user=None):
    """The compiled inner kernel ``_ext._convex.cd_inner`` (float32 or float64, int32 or
    int64 sparse indices).  ``user``: ``(prox address, value address,
    parameters)`` of a user penalty (``code == USER``, float64)."""
    if indptr.dtype != indices.dtype:
        indptr = indptr.astype(indices.dtype)
    if user is not None:
        return _C.cd_inner(is_sparse, Xd, data, indices, indptr, R, w, b, ws, lips, code,
                           alpha, gamma, wts, a2s, positive, icol, max_epochs, tol_in, K, early,
                           user[0], user[1], user[2])
    return _C.cd_inner(is_sparse, Xd, data, indices, indptr, R, w, b, ws, lips, code, alpha,
                       gamma, wts, a2s, positive, icol, max_epochs, tol_in, K, early)


@njit(cache=True, nogil=True)
def _solve_small(C, rhs):
    """``C^{-1} rhs`` for the Anderson weights of the user-datafit path; ok=False if
    ``C`` is (near) singular.  LAPACK's pivoted LU (the compiled kernel's Gaussian
    elimination lives in ``_ext/_convex.pyx`` only)."""
    k = C.shape[0]
    scale = 0.0
    for i in range(k):
        scale = max(scale, abs(C[i, i]))
    if scale == 0.0:
        return rhs.copy(), False
    # the smallest singular value against the scale: the same refusal rule as the
    # compiled kernel's pivot test (a pivot below 1e-14 of the largest diagonal)
    sv = np.linalg.svd(C)[1]  # (Numba has no compute_uv keyword)
    if sv[-1] <= 1e-14 * scale:
        return rhs.copy(), False
    return np.linalg.solve(C, rhs), True


def _sparse_col_sqnorms(data, indices, indptr, n_cols, by_row):
    """Squared column norms of a CSC (``by_row=False``) or CSR (``True``) matrix
    (compiled: ``_ext._convex.sparse_col_sqnorms``)."""
    return _C.sparse_col_sqnorms(data, indices, indptr, int(n_cols), bool(by_row))


def _csr_extract_columns(data, indices, indptr, slot, sub_indptr, sub_data, sub_indices):
    """Columns ``slot[j] >= 0`` of a CSR matrix into a CSC block, in one pass
    (compiled: ``_ext._convex.csr_extract_columns``)."""
    _C.csr_extract_columns(data, indices, indptr, slot, sub_indptr.astype(indices.dtype,
                                                                          copy=False),
                           sub_data, sub_indices)


def _csr_first_pass(data, indices, indptr, R, n_cols):
    """One pass over a CSR matrix: ``(X^T R, squared column norms, column counts)``
    (compiled: ``_ext._convex.csr_first_pass``)."""
    return _C.csr_first_pass(data, indices, indptr, np.ascontiguousarray(R, dtype=data.dtype),
                             int(n_cols))


def col_sqnorms(X):
    """``||x_j||^2`` for every column of a dense, CSC or CSR design (float64)."""
    if sp.issparse(X):
        fmt = X.format
        if fmt not in ("csc", "csr"):
            X = X.tocsc()
            fmt = "csc"
        return _sparse_col_sqnorms(X.data, X.indices, X.indptr, X.shape[1], fmt == "csr")
    if (X.flags.f_contiguous and X.dtype in (np.float32, np.float64) and X.ndim == 2
            and X.size):
        sq = np.empty(X.shape[1])
        _C.dense_col_stats(X, np.zeros(0), sq, np.zeros(0))
        return sq
    return np.einsum("ij,ij->j", X, X, dtype=np.float64)


# ---------------------------------------------------------------------------
# generic kernel: any smooth jitclass datafit x jitclass penalty (dense X)
# ---------------------------------------------------------------------------
@njit(nogil=True)
def _cd_inner_generic(X, y, w, Xw, ws, lips, datafit, penalty, max_epochs, tol_in, K):
    n = X.shape[0]
    nws = ws.shape[0]
    w_hist = np.zeros((K + 1, nws))
    Xw_hist = np.zeros((K + 1, n))
    n_stored = 0
    crit = np.inf
    epoch = 0
    for epoch in range(1, max_epochs + 1):
        for jj in range(nws):
            j = ws[jj]
            L = lips[j]
            if L == 0.0:
                continue
            old = w[j]
            g = datafit.gradient_scalar(X, y, w, Xw, j)
            new = penalty.prox_1d(old - g / L, 1.0 / L, j)
            if new != old:
                w[j] = new
                Xw += (new - old) * X[:, j]
        if K > 0:
            for jj in range(nws):
                w_hist[n_stored, jj] = w[ws[jj]]
            Xw_hist[n_stored] = Xw
            n_stored += 1
            if n_stored == K + 1:
                n_stored = 0
                U = np.empty((K, nws))
                for k in range(K):
                    for jj in range(nws):
                        U[k, jj] = w_hist[k + 1, jj] - w_hist[k, jj]
                z, ok = _solve_small(U @ U.T, np.ones(K))
                sz = np.sum(z)
                if ok and sz != 0.0 and np.isfinite(sz):
                    c = z / sz
                    w_new = w.copy()
                    Xw_acc = np.zeros(n)
                    for jj in range(nws):
                        w_new[ws[jj]] = 0.0
                    for k in range(K):
                        for jj in range(nws):
                            w_new[ws[jj]] += c[k] * w_hist[k + 1, jj]
                        Xw_acc += c[k] * Xw_hist[k + 1]
                    p_cur = datafit.value(y, w, Xw) + penalty.value(w)
                    p_acc = datafit.value(y, w_new, Xw_acc) + penalty.value(w_new)
                    if p_acc < p_cur:
                        w[:] = w_new
                        Xw[:] = Xw_acc
        if epoch % 10 == 0:
            crit = 0.0
            for jj in range(nws):
                j = ws[jj]
                L = lips[j]
                if L == 0.0:
                    continue
                g = datafit.gradient_scalar(X, y, w, Xw, j)
                s = L * abs(w[j] - penalty.prox_1d(w[j] - g / L, 1.0 / L, j))
                if s > crit:
                    crit = s
            if crit <= tol_in:
                break
    return epoch, crit


@njit(nogil=True)
def _generic_scores(w, grad, lips, penalty):
    out = np.zeros(w.shape[0])
    for j in range(w.shape[0]):
        L = lips[j]
        if L > 0.0:
            out[j] = L * abs(w[j] - penalty.prox_1d(w[j] - grad[j] / L, 1.0 / L, j))
    return out


# ---------------------------------------------------------------------------
# Python outer loop
# ---------------------------------------------------------------------------
class AndersonCD(BaseSolver):
    r"""Working-set coordinate descent with Anderson acceleration.

    For smooth datafits (the built-in ``Quadratic`` or a user datafit with
    ``gradient_scalar``) and any penalty with a ``prox_1d``.

    Parameters
    ----------
    tol : float, default=1e-4
        Convex penalties: stop when the duality gap is ``<= tol * P(0)``.
        Others: when the maximal fixed-point residual is ``<= tol *
        ||X^T y||_inf / n``.
    max_iter : int, default=50
        Outer (working-set) iterations.
    max_epochs : int, default=50_000
        CD epochs per inner solve.
    p0 : int or None, default=None
        Smallest working-set size (the first one).  ``None``: 10 for dense
        designs; ``max(10, n_features // 50)`` (at most 1000) for sparse ones,
        whose full passes (gradient, and gathering the working-set columns
        of a CSR design) cost more relative to the inner epochs, so fewer
        outer iterations pay.
    anderson_k : int, default=5
        Anderson memory K (0 disables extrapolation).
    screening : bool, default=True
        Gap-safe screening (float64, (weighted) L1 with the quadratic
        datafit): at every outer iteration the features certified zero at
        the optimum by the sphere test ``|x_j^T theta| + ||x_j|| r < alpha
        w_j`` (``r = sqrt(2 gap / n) / alpha``) leave the problem for good.
    verbose : int, default=0
        Print the gap/criterion at each outer iteration.

    See Also
    --------
    ConcomitantCD, WorkingSetLP, PDHG

    Notes
    -----
    The working set holds the support, the unpenalised features and the
    largest violators: ``max(p0, 2 nnz)`` features, ``4 nnz`` when the last
    one came back with ``nnz >= 0.75 |ws|``.  The inner solve stops when the
    working-set optimality score is ``<= 0.3`` times the outer one, checked
    every 10 epochs, and (on working sets of at least 5% of the features)
    also once an epoch's largest step ``L_j |dw_j|`` falls below a tenth of
    that tolerance.
    Per epoch ``O(n p_ws)`` (``O(nnz(X[:, ws]))`` for CSC designs);
    extrapolation ``O(p_ws K^2 + K^3)`` every K+1 epochs (spec 3.2, S2).

    References
    ----------
    .. [1] Bertrand, Q. & Massias, M. (2021). Anderson acceleration of
       coordinate descent. AISTATS.
    .. [2] Massias, M., Gramfort, A. & Salmon, J. (2018). Celer: a fast solver
       for the Lasso with dual extrapolation. ICML.

    Examples
    --------
    >>> from sparsecode.convex import AndersonCD
    >>> AndersonCD(tol=1e-6).tol
    1e-06
    """

    # requirements (``BaseSolver.validate``): the built-in least squares, or
    # any smooth datafit; any penalty with a prox and a value
    datafit_kinds = ("quadratic",)
    datafit_requires = BaseSolver._SMOOTH
    penalty_requires = ("prox_1d", "value")

    def __init__(self, tol=1e-4, max_iter=50, max_epochs=50_000, p0=None, anderson_k=5,
                 screening=True, verbose=0):
        self.tol = tol
        self.max_iter = max_iter
        self.max_epochs = max_epochs
        self.p0 = p0
        self.anderson_k = anderson_k
        self.screening = screening
        self.verbose = verbose


_FULL_WS_FACTOR = 0.3


def _resolve_p0(p0, n_features, is_sparse):
    """The smallest working-set size (``AndersonCD.p0``, None = automatic)."""
    if p0 is not None:
        return int(p0)
    return max(10, min(n_features // 50, 1000)) if is_sparse else 10


def _ws_select(scores, w, forced, excluded, p0, n_incl, prev_size=0):
    nnz = int(np.count_nonzero(w))
    n_forced = int(np.count_nonzero(forced))
    ws_size = max(min(p0 + n_forced, n_incl), min(max(2 * nnz, _grown_size(nnz, prev_size)),
                                                  n_incl))
    if ws_size >= n_incl:
        return np.flatnonzero(~excluded).astype(np.int64)
    s = scores.copy()
    s[w != 0] = np.inf
    s[forced] = np.inf
    s[excluded] = -np.inf
    ws = np.argpartition(-s, ws_size - 1)[:ws_size]
    return np.sort(ws).astype(np.int64)


# early inner stop: the exact working-set check also runs (at most every 5
# epochs) once an epoch's largest step L_j |dw_j| is below _EARLY * tol_in --
# used when the working set holds at least _EARLY_FRACTION of the features
_EARLY = 0.1
_EARLY_FRACTION = 0.05
_WS_SAT = 0.75
_WS_GROW = 4


def _grown_size(nnz, prev_size):
    """Working-set size floor from the last round: ``_WS_GROW * nnz`` when the
    last working set came back (nearly) saturated (``nnz >= _WS_SAT *
    prev_size``: most of its features became active, so the support is
    likely larger still), else 0.  Doubling alone (``2 nnz``) takes
    ``log2(support / p0)`` rounds, each with a full gradient pass."""
    if prev_size > 0 and nnz >= _WS_SAT * prev_size:
        return _WS_GROW * nnz
    return 0


def _ws_select_prio(prio, nnz, n_forced, excluded, p0, n_incl, prev_size=0):
    """``_ws_select`` from priorities already set (inf: support / unpenalised,
    -inf: excluded; ``_l1_outer_stats`` writes them)."""
    ws_size = max(min(p0 + n_forced, n_incl), min(max(2 * nnz, _grown_size(nnz, prev_size)),
                                                  n_incl))
    if ws_size >= n_incl:
        return np.flatnonzero(~excluded).astype(np.int64)
    # compiled: the positive priorities ranked by a quickselect, the zeros
    # (features inside the dual constraint) filling the rest in index order
    # (any order of equal priorities is valid)
    return _C.ws_select_prio(np.ascontiguousarray(prio, dtype=np.float64), int(ws_size))


def _l1_scores(w, grad, thr, positive):
    """Subdifferential distance of the (weighted, non-negative) L1 problem (NumPy)."""
    nz = w != 0
    if positive:
        out = np.where(nz, np.abs(grad + thr), np.maximum(0.0, -grad - thr))
    else:
        out = np.where(nz, np.abs(grad + thr * np.sign(w)), np.maximum(0.0, np.abs(grad) - thr))
    out[np.isinf(thr)] = 0.0
    return out


class _DualProjector:
    """Makes the dual point feasible for the unpenalised directions.

    The intercept column ``icol`` and the weight-0 features impose
    ``icol^T theta = 0`` and ``x_j^T theta = 0`` -- or, with
    ``positive=True``, only ``x_j^T theta <= 0`` for a weight-0 feature
    (its coefficient is constrained to ``w_j >= 0``, so the dual constraint
    is one-sided).  Without the sign constraint the residual is projected on
    the orthogonal complement of all these columns (orthonormal basis
    ``Q``).  With it, only on that of the intercept and of the weight-0
    columns that are active (``w_j > 0``, where the constraint is tight at
    the optimum) or that the projected point would violate
    (``x_j^T r > 0``), added until none is violated; an inactive feature
    with ``x_j^T r < 0`` is left alone, so that the dual point tends to the
    optimal one and the gap closes (projecting on it as well, as for the
    two-sided constraint, biases the dual point and leaves a gap).
    """

    def __init__(self, X, icol, forced_idx, positive, n):
        cols = [] if icol is None else [np.asarray(icol, dtype=np.float64)[:, None]]
        if forced_idx.size:
            U = X[:, forced_idx]
            cols.append(U.toarray() if sp.issparse(U) else np.asarray(U, dtype=np.float64))
        B = np.hstack(cols)
        self.n = n
        self.positive = bool(positive) and forced_idx.size > 0
        self.forced_idx = forced_idx
        self.n_icol = 0 if icol is None else 1
        if self.positive:
            self.B = B
            self.XtB = np.asarray(X.T @ B, dtype=np.float64)
        else:
            self.Q, _ = np.linalg.qr(B)
            self.XtQ = np.asarray(X.T @ self.Q, dtype=np.float64)

    def project(self, R, corr, w):
        """(R, corr = X^T R / n) -> projected (R, X^T R / n)."""
        n = self.n
        if not self.positive:
            coefQ = self.Q.T @ R
            return R - self.Q @ coefQ, corr - (self.XtQ @ coefQ) / n
        k = self.B.shape[1]
        ic = self.n_icol
        S = np.zeros(k, dtype=bool)
        S[:ic] = True
        S[ic:] = w[self.forced_idx] != 0
        Rp, cp = R, corr
        for _ in range(k + 1):
            if S.any():
                c = np.linalg.lstsq(self.B[:, S], R, rcond=None)[0]
                Rp = R - self.B[:, S] @ c
                cp = corr - (self.XtB[:, S] @ c) / n
            viol = ~S[ic:] & (cp[self.forced_idx] > 0)
            if not viol.any():
                break
            S[ic:] |= viol
        return Rp, cp


def quadratic_gap(y, R, w, corr, pen_value, penalty_kind, alpha, weights, positive, n,
                  proj=None):
    """Duality gap of the (weighted, non-negative) Lasso from the residual.

    ``corr = X^T R / n``; theta = R / (n s) with s making it feasible
    (spec 3.1a).  The unpenalised directions (intercept, weight-0 features)
    are handled by ``proj`` (a ``_DualProjector``).  Returns (gap, primal).
    """
    primal = float(R @ R) / (2 * n) + pen_value
    if proj is not None:
        R, corr = proj.project(R, corr, w)
    thr = alpha * weights
    mask = np.isfinite(thr) & (thr > 0)
    c = corr[mask]
    if positive:
        c = np.maximum(c, 0.0)
    else:
        c = np.abs(c)
    s = max(1.0, float(np.max(c / thr[mask])) if c.size else 1.0)
    d = y - R / s
    dual = (float(y @ y) - float(d @ d)) / (2 * n)
    return primal - dual, primal


def enet_gap(y, R, w, corr, l1, l2, positive, n, proj=None):
    """Duality gap of ``||R||^2 / (2n) + l1 ||w||_1 + l2 ||w||^2 / 2`` (scikit-learn's
    elastic-net dual point, divided by ``n``); ``corr = X^T R / n``.  Returns (gap, primal)."""
    w = np.asarray(w, dtype=np.float64)
    ww = float(w @ w)
    primal = float(R @ R) / (2 * n) + l1 * float(np.abs(w).sum()) + 0.5 * l2 * ww
    if proj is not None:
        R, corr = proj.project(R, corr, w)
    xta = corr - l2 * w
    dn = float(np.max(xta)) if positive else float(np.max(np.abs(xta)))
    const = l1 / dn if dn > l1 else 1.0
    dual = (const * float(R @ y) - 0.5 * const * const * float(R @ R)) / n \
        - 0.5 * l2 * const * const * ww
    return primal - dual, primal


def _cd_inner_csr_ws(X, col_nnz, slot, ws, R, w, b, lips, code, alpha, gamma, wts, a2s,
                     positive, icol, max_epochs, tol_in, K, early=0.0, user=None):
    """``_cd_inner`` on the working-set columns of a CSR design (gathered to CSC)."""
    k = ws.size
    sub_indptr = np.zeros(k + 1, dtype=X.indptr.dtype)
    np.cumsum(col_nnz[ws], out=sub_indptr[1:])
    nnz = int(sub_indptr[-1])
    sub_data = np.empty(nnz, dtype=X.data.dtype)
    sub_indices = np.empty(nnz, dtype=X.indices.dtype)
    slot[ws] = np.arange(k)
    _csr_extract_columns(X.data, X.indices, X.indptr, slot, sub_indptr, sub_data, sub_indices)
    slot[ws] = -1
    if user is not None:
        # the user callbacks take the global feature index and the whole
        # coefficient vector: the gathered block is solved in global indices
        nb = np.zeros(X.shape[1] + 1, dtype=sub_indptr.dtype)
        nb[ws + 1] = col_nnz[ws]
        np.cumsum(nb, out=nb)
        return _inner(True, np.zeros((1, 1), dtype=w.dtype), sub_data, sub_indices, nb,
                      R, w, b, ws, lips, code, alpha, gamma, wts, a2s, positive, icol,
                      max_epochs, tol_in, K, early, user)
    w_loc = w[ws]
    out = _inner(True, np.zeros((1, 1), dtype=w.dtype), sub_data, sub_indices, sub_indptr,
                 R, w_loc, b, np.arange(k, dtype=np.int64), lips[ws], code, alpha, gamma,
                 wts[ws] if wts.shape[0] else wts, a2s[ws] if a2s.shape[0] else a2s,
                 positive, icol, max_epochs, tol_in, K, early)
    w[ws] = w_loc
    return out


# a residual handed from one fit of a path to the next is recomputed from
# scratch after this many hand-overs in a row (rounding drift of the in-place
# updates)
_MAX_CHAIN = 4


def _residual(X, y, w, b, icol, icol_arr, dt):
    R = y - (X @ w) if w.any() else y.copy()
    if icol is not None:
        R = R - b * icol_arr
    return np.ascontiguousarray(R, dtype=dt)


def solve_quadratic_builtin(X, y, penalty_kp, *, w0=None, b0=0.0, icol=None, solver, lips=None,
                            convex, P0, crit_ref, user=None, xty=None, xtr0=None):
    """Run AndersonCD on Quadratic x built-in penalty (X dense F-order, CSC or CSR).

    ``xty``: ``X^T y`` when already known (float64; used when the start is 0).
    ``xtr0``: ``(w_ref, b_ref, X^T R or None, R, n_chained)`` from an earlier fit on
    the same design and targets (its ``handover`` output), used when the start is
    exactly ``(w_ref, b_ref)``: the residual is not recomputed (unless it was
    handed over ``_MAX_CHAIN`` times in a row) and ``X^T R``, when given, is the
    first check's.  The output ``handover`` holds the returned solution, its
    residual and ``X^T R`` (float64) when the last check read it over every
    feature (none screened), else None in that slot.

    Returns dict(w, b, crit, n_iter, converged, gap, primal).
    """
    code, alpha, gamma, weights, a2s, positive = penalty_kp
    n, N = X.shape
    dt = X.dtype
    is_sparse = sp.issparse(X)
    is_csr = is_sparse and X.format == "csr"
    is_csc = is_sparse and not is_csr
    if is_sparse:
        Xd = np.zeros((1, 1), dtype=dt)
        data, indices, indptr = X.data, X.indices, X.indptr.astype(X.indices.dtype, copy=False)
    else:
        Xd = np.ascontiguousarray(X.T)  # free view when X is Fortran-ordered
        data, indices, indptr = (np.zeros(1, dtype=dt), np.zeros(1, np.int32),
                                 np.zeros(2, np.int32))
    w = np.zeros(N, dtype=dt) if w0 is None else np.array(w0, dtype=dt)
    b = np.array([b0], dtype=np.float64)
    icol_arr = np.zeros(0, dtype=dt) if icol is None else icol.astype(dt)
    y = y.astype(dt, copy=False)
    R = None
    xtr_first = None
    if is_csr:
        # CSR design: no CSC copy of the whole matrix; the working-set
        # columns are gathered into a small CSC block (one pass over the
        # nonzeros) before each inner solve.  One first pass gives X^T R,
        # the column norms and the column counts together.
        R = _residual(X, y, w, b[0], icol, icol_arr, dt)
        xtr_first, sq, col_nnz = _csr_first_pass(data, indices, indptr, R, N)
        if lips is None:
            lips = sq / n
        slot = np.full(N, -1, dtype=np.int64)
    elif lips is None:
        lips = col_sqnorms(X) / n
    if xty is not None and b0 == 0.0 and not w.any():
        xtr_first = np.asarray(xty, dtype=np.float64)
    n_chained = 0
    if (xtr0 is not None and not is_csr and w0 is not None and xtr0[3].shape == (n,)
            and xtr0[3].dtype == dt and float(xtr0[1]) == float(b0)
            and np.array_equal(xtr0[0], w)):
        if xtr0[2] is not None and xtr_first is None:
            xtr_first = xtr0[2]
        if xtr0[4] < _MAX_CHAIN:
            # the kernel's residual at this start (exact up to its in-place updates;
            # recomputed from scratch every _MAX_CHAIN fits and every 10 rounds)
            R = xtr0[3].copy()
            n_chained = xtr0[4] + 1
    lips_out = lips
    lips = lips.astype(dt)
    y64 = y.astype(np.float64)
    yy = float(y64 @ y64)
    wts = weights.astype(dt)
    a2s_ = a2s.astype(dt)
    excluded = np.zeros(N, dtype=bool)
    forced = np.zeros(N, dtype=bool)
    if code == P.WL1:
        excluded = np.isinf(weights)
        forced = weights == 0
        w[excluded] = 0.0
    excluded |= lips == 0
    n_incl = int(np.count_nonzero(~excluded))
    n_forced = int(np.count_nonzero(forced))
    proj = None
    if n_forced or icol is not None:
        proj = _DualProjector(X, icol, np.flatnonzero(forced), positive, n)
    tol = float(solver.tol)
    if dt == np.float32:
        tol = max(tol, 1e-5)  # spec 3.4: float32 gaps below ~1e-6 P(0) are noise
    p0 = _resolve_p0(solver.p0, N, is_sparse)
    if user is not None and dt != np.float64:
        raise TypeError("a user penalty on the compiled kernel needs float64 data")
    excluded_u8 = excluded.view(np.uint8)
    scores = np.zeros(N, dtype=dt)
    use_gap = convex and alpha > 0
    l1_thr = None
    if code in (P.L1, P.WL1):
        l1_thr = alpha * (np.asarray(weights, dtype=np.float64) if code == P.WL1
                          else np.ones(N))
        prio = np.empty(N)
    crit = np.inf
    gap = np.nan
    primal = np.nan
    converged = False
    it = 0
    prev_size = 0
    # gap-safe screening (spec poisson-gamp-unmixing-lars section 4): float64
    # only (the sphere test needs a gap that is not below the true one)
    screen = (bool(getattr(solver, "screening", True)) and use_gap and l1_thr is not None
              and dt == np.float64)
    screened = np.zeros(N, dtype=bool)
    n_screened = 0
    lips64 = np.asarray(lips_out, dtype=np.float64)
    if screen:
        pos_l = lips64[lips64 > 0]
        lip_min = float(pos_l.min()) if pos_l.size else 0.0
        fin_t = l1_thr[np.isfinite(l1_thr)]
        thr_max = float(fin_t.max()) if fin_t.size else 0.0
    keep = Xk = None  # dense design restricted to the unscreened columns
    n_at_compact = N
    xtr_last = None
    for it in range(1, int(solver.max_iter) + 1):
        if R is None or it % 10 == 0:
            # the kernel keeps R = y - Xw - b icol up to date in place; it is
            # recomputed from scratch only now and then (rounding drift)
            R = _residual(X, y, w, b[0], icol, icol_arr, dt)
        if it == 1 and xtr_first is not None:
            corr = xtr_first / n
        elif is_csc:
            # compiled X^T R over the columns still in the problem (the
            # screened ones are never read again)
            corr = np.empty(N)
            _C.csc_xtr(data, indices, indptr, R, screened.view(np.uint8), 1.0 / n, corr)
        elif Xk is not None:
            corr = np.zeros(N)
            corr[keep] = np.asarray(Xk.T @ R, dtype=np.float64) / n
        else:
            corr = np.asarray(X.T @ R, dtype=np.float64).ravel() / n
        if n_screened:
            corr[screened] = 0.0  # the reduced problem: same solution
        if l1_thr is not None:
            R64 = R.astype(np.float64, copy=False)
            Rg, corr_g = (R64, corr) if proj is None or not use_gap else \
                proj.project(R64, corr, w)
            if n_screened and corr_g is not corr:
                corr_g = corr_g.copy()
                corr_g[screened] = 0.0
            max_score, pen, ratio, nnz = _C.l1_outer_stats(
                corr, np.ascontiguousarray(corr_g), w, l1_thr, positive, excluded_u8, prio)
            if use_gap:
                # dual (||y||^2 - ||y - Rg / s||^2) / (2n) from two dot products
                s_ = max(1.0, ratio)
                rr = float(R64 @ R64)
                rg2 = rr if Rg is R64 else float(Rg @ Rg)
                primal = rr / (2 * n) + pen
                gap = primal - (2.0 * float(y64 @ Rg) / s_ - rg2 / (s_ * s_)) / (2 * n)
        else:
            if user is not None:
                _C.scores_all(code, w, -corr, lips, alpha, gamma, wts, a2s_, positive, scores,
                              user[0], user[2])
            else:
                _C.scores_all(code, w, (-corr).astype(dt), lips, alpha, gamma, wts, a2s_,
                              positive, scores)
            scores[excluded] = 0.0
            max_score = float(scores.max()) if N else 0.0
            if use_gap and code == P.ENET:
                gap, primal = enet_gap(y64, R.astype(np.float64, copy=False), w, corr, alpha,
                                       gamma, positive, n, proj)
        if use_gap:
            crit = gap
            stop = gap <= tol * P0
        else:
            crit = max_score
            stop = max_score <= tol * crit_ref
        if solver.verbose:
            print(f"[AndersonCD] iter {it}: {'gap' if use_gap else 'kkt'} {crit:.3e}, "
                  f"nnz {np.count_nonzero(w)}")
        if stop:
            converged = True
            if not is_csr and n_screened == 0 and Xk is None:
                xtr_last = corr * n
            break
        if screen and gap > 0 and np.sqrt(2.0 * gap * lip_min) < thr_max:
            # (the sphere test cannot drop a feature while its radius term
            # alone exceeds every threshold: skipped then)
            drop = gap_safe_screen(corr_g, max(1.0, ratio), gap, lips64, l1_thr, positive)
            drop &= ~excluded
            if drop.any():
                nzd = np.flatnonzero(drop & (w != 0))
                if nzd.size:  # certified zero at the optimum: leave the residual
                    R += np.asarray(X[:, nzd] @ w[nzd], dtype=dt).ravel()
                    w[nzd] = 0.0
                    nnz -= nzd.size
                k = int(drop.sum())
                excluded |= drop
                screened |= drop
                prio[drop] = -np.inf
                n_incl -= k
                n_screened += k
                if not is_sparse and N - n_screened <= 0.5 * n_at_compact:
                    keep = np.flatnonzero(~screened)
                    Xk = np.asfortranarray(X[:, keep])
                    n_at_compact = keep.size
        if l1_thr is not None:
            if n_incl == 0:
                break
            ws = _ws_select_prio(prio, nnz, n_forced, excluded, p0, n_incl, prev_size)
        else:
            ws = _ws_select(scores, w, forced, excluded, p0, n_incl, prev_size)
        prev_size = ws.size
        tol_in = (_FULL_WS_FACTOR if ws.size == n_incl else 0.3) * max_score
        if not use_gap:
            tol_in = min(tol_in, 0.3 * tol * crit_ref) if ws.size == n_incl else tol_in
        # early inner stop only when the working set is a large part of the
        # design: there the (up to 9) epochs before the 10-epoch check cost
        # more than the extra outer round a looser inner solve may need
        early = _EARLY if ws.size >= _EARLY_FRACTION * n_incl else 0.0
        if is_csr:
            _cd_inner_csr_ws(X, col_nnz, slot, ws, R, w, b, lips, code, alpha, gamma, wts,
                             a2s_, positive, icol_arr, int(solver.max_epochs), tol_in,
                             int(solver.anderson_k), early, user)
        else:
            _inner(is_sparse, Xd, data, indices, indptr, R, w, b, ws, lips, code, alpha, gamma,
                   wts, a2s_, positive, icol_arr, int(solver.max_epochs), tol_in,
                   int(solver.anderson_k), early, user)
    handover = None if is_csr else (w.copy(), float(b[0]), xtr_last, R, n_chained)
    return dict(w=w, b=float(b[0]), crit=float(crit), n_iter=it, converged=converged,
                gap=float(gap), primal=float(primal), lips=lips_out, n_screened=n_screened,
                xtr=xtr_last, handover=handover)


def gap_safe_screen(corr, scale, gap, lips, thr, positive):
    """Gap-safe sphere test (Fercoq et al. 2015; Ndiaye et al. 2017) for the
    (weighted, non-negative) Lasso ``||y - Xw||^2 / (2n) + sum_j thr_j |w_j|``.

    ``corr = X^T R / n`` at a dual-feasible-up-to-``scale`` residual
    (``theta = R / (n alpha scale)``), ``gap`` the duality gap of that
    point, ``lips = ||x_j||^2 / n``.  Returns the mask of the features
    certified zero at the optimum: ``c_j / scale + sqrt(2 gap lips_j) <
    thr_j`` with ``c_j = |corr_j|`` (``max(corr_j, 0)`` if ``positive``); a
    relative margin of ``1e-10`` covers rounding.
    """
    c = np.maximum(corr, 0.0) if positive else np.abs(corr)
    with np.errstate(invalid="ignore"):
        return (c / scale + np.sqrt(2.0 * max(gap, 0.0) * lips)
                < thr * (1.0 - 1e-10)) & np.isfinite(thr)


def solve_generic(X, y, datafit, penalty, *, w0=None, solver, crit_ref):
    """AndersonCD on a user (jitclass) datafit/penalty pair, dense X.

    Stops on the fixed-point residual.  Returns the same dict as the built-in.
    """
    from .._jit import compiled_clone

    missing = [a for a in AndersonCD.datafit_requires if not hasattr(datafit, a)]
    if missing:
        raise AttributeError(
            f"AndersonCD needs a smooth datafit; {type(datafit).__name__} lacks "
            f"{', '.join(missing)}.")
    missing = [a for a in AndersonCD.penalty_requires if not hasattr(penalty, a)]
    if missing:
        raise AttributeError(f"AndersonCD: penalty {type(penalty).__name__} lacks "
                             f"{', '.join(missing)}.")
    if sp.issparse(X):
        X = X.toarray()
    X = np.asfortranarray(X, dtype=np.float64)
    y = np.ascontiguousarray(y, dtype=np.float64)
    n, N = X.shape
    df = compiled_clone(datafit)
    df.initialize(X, y)
    pen = compiled_clone(penalty)
    lips = np.asarray(df.lipschitz, dtype=np.float64)
    w = np.zeros(N) if w0 is None else np.array(w0, dtype=np.float64)
    Xw = X @ w
    excluded = lips == 0
    forced = np.zeros(N, dtype=bool)
    if hasattr(penalty, "is_penalized"):
        forced = ~np.asarray(pen.is_penalized(N), dtype=bool)
    n_incl = int(np.count_nonzero(~excluded))
    converged = False
    crit = np.inf
    it = 0
    for it in range(1, int(solver.max_iter) + 1):
        grad = X.T @ np.asarray(df.raw_grad(y, Xw))
        scores = _generic_scores(w, grad, lips, pen)
        crit = float(scores.max())
        if solver.verbose:
            print(f"[AndersonCD] iter {it}: kkt {crit:.3e}")
        if crit <= solver.tol * crit_ref:
            converged = True
            break
        ws = _ws_select(scores, w, forced, excluded, _resolve_p0(solver.p0, N, False), n_incl)
        tol_in = 0.3 * crit if ws.size < n_incl else 0.3 * solver.tol * crit_ref
        _cd_inner_generic(X, y, w, Xw, ws, lips, df, pen, int(solver.max_epochs), tol_in,
                          int(solver.anderson_k))
    primal = float(df.value(y, w, Xw) + pen.value(w))
    return dict(w=w, b=0.0, crit=crit, n_iter=it, converged=converged, gap=np.nan,
                primal=primal)


# ---------------------------------------------------------------------------
# smooth GLM datafits (Huber, logistic): compiled kernel glm_cd_inner
# ---------------------------------------------------------------------------
_GLM_CODES = {"huber": 0, "logistic": 1, "user": 2}
_GLM_CURV = {"huber": 1.0, "logistic": 0.25}


def _glm_value(kind, y, Z, delta):
    if kind == "huber":
        a = np.abs(y - Z)
        return float(np.sum(np.where(a <= delta, 0.5 * a * a, delta * a - 0.5 * delta * delta)))
    return float(np.sum(np.logaddexp(0.0, -y * Z)))


def _glm_minus_deriv(kind, y, Z, delta):
    """``-d loss_i / d z_i`` (the unnormalised dual direction)."""
    if kind == "huber":
        return np.clip(y - Z, -delta, delta)
    t = -y * Z
    return y * np.where(t >= 0, 1.0 / (1.0 + np.exp(-np.abs(t))),
                        np.exp(-np.abs(t)) / (1.0 + np.exp(-np.abs(t))))


def _glm_dual(kind, y, u, delta):
    """Dual objective times n at the feasible point ``u`` (Huber: ``|u| <= delta``;
    logistic: ``y u`` in ``[0, 1]``)."""
    if kind == "huber":
        return float(y @ u - 0.5 * (u @ u))
    t = np.clip(y * u, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.where(t > 0, t * np.log(t), 0.0) - np.where(t < 1, (1 - t) * np.log1p(-t), 0.0)
    return float(h.sum())


def solve_glm_builtin(X, y, kind, delta, penalty_kp, *, w0=None, b0=0.0, fit_intercept,
                      solver, lips=None, convex, user=None, user_pen=None):
    """Working-set CD for the Huber or logistic datafit with a built-in penalty
    (X dense Fortran-ordered or CSC; float32 or float64).

    ``kind="user"``: a user datafit through its C callbacks ``user = (raw_grad
    address, value address, parameters, keepalive)``
    (:func:`sparsecode.convex._jit.datafit_callbacks`), float64, with its
    coordinate-wise Lipschitz constants ``lips`` (from its ``initialize``), no
    intercept; it stops on the subdifferential distance.  ``user_pen``: a user
    penalty's callbacks (``_jit.penalty_callbacks``; ``penalty_kp`` then has
    the code ``USER``).

    Stops on the relative duality gap ``gap <= tol * P(0)`` for the (weighted,
    non-negative) L1 penalty without an intercept (all weights positive), else
    on the subdifferential distance ``<= tol * max_j |grad_j F(0)|`` (the
    intercept's gradient included).  Returns the dict of
    ``solve_quadratic_builtin``.
    """
    code, alpha, gamma, weights, a2s, positive = penalty_kp
    n, N = X.shape
    dt = X.dtype
    is_sparse = sp.issparse(X)
    if is_sparse:
        Xd = np.zeros((1, 1), dtype=dt)
        data, indices = X.data, X.indices
        indptr = X.indptr.astype(indices.dtype, copy=False)
    else:
        Xd = np.ascontiguousarray(X.T)
        data, indices, indptr = (np.zeros(1, dtype=dt), np.zeros(1, np.int32),
                                 np.zeros(2, np.int32))
    sq = col_sqnorms(X)
    upen = () if user_pen is None else (user_pen[0], user_pen[2])
    curv = _GLM_CURV.get(kind, 1.0)
    dfc = _GLM_CODES[kind]
    if kind == "user":
        if user is None or lips is None or fit_intercept or dt != np.float64:
            raise ValueError("a user datafit on the GLM kernel needs its callbacks, its "
                             "Lipschitz constants, float64 data and no intercept")
        ugrad, uvalue, upar = user[0], user[1], user[2]

        def loss_sum(yv, Zv, wv):
            return n * _C.user_datafit_value(uvalue, yv, np.ascontiguousarray(Zv), wv, upar)

        def minus_deriv(yv, Zv):
            out = np.empty(n)
            _C.user_datafit_grad(ugrad, yv, np.ascontiguousarray(Zv), out, upar)
            return -n * out
    else:
        ugrad, upar = 0, None

        def loss_sum(yv, Zv, wv):
            return _glm_value(kind, yv, Zv, delta)

        def minus_deriv(yv, Zv):
            return _glm_minus_deriv(kind, yv, Zv, delta)
    if lips is None:
        lips = curv * sq / n
    lips_out = lips
    lips = np.asarray(lips, dtype=dt)
    y = np.ascontiguousarray(y, dtype=dt)
    y64 = y.astype(np.float64)
    w = np.zeros(N, dtype=dt) if w0 is None else np.array(w0, dtype=dt)
    b = np.array([b0], dtype=np.float64)
    wts = np.asarray(weights, dtype=dt)
    a2s_ = np.asarray(a2s, dtype=dt)
    excluded = lips == 0
    forced = np.zeros(N, dtype=bool)
    if code == P.WL1:
        excluded |= np.isinf(weights)
        forced = np.asarray(weights) == 0
        w[np.isinf(weights)] = 0.0
    n_incl = int(np.count_nonzero(~excluded))
    tol = float(solver.tol)
    if dt == np.float32:
        tol = max(tol, 1e-5)
    use_gap = (convex and alpha > 0 and code in (P.L1, P.WL1) and not fit_intercept
               and not forced.any() and kind != "user")  # (no dual for a user datafit)
    thr = alpha * (np.asarray(weights, dtype=np.float64) if code == P.WL1 else np.ones(N))
    p0 = _resolve_p0(solver.p0, N, is_sparse)
    Z = np.zeros(n, dtype=dt)
    if w.any():
        Z += np.asarray(X @ w, dtype=dt).ravel()
    Z += dt.type(b[0])
    # references: P(0) for the gap, the largest gradient at 0 for the KKT stop
    z0 = np.full(n, b[0])
    P0 = loss_sum(y64, z0, np.zeros(N)) / n
    g0 = minus_deriv(y64, z0)
    crit_ref = float(np.max(np.abs(np.asarray(X.T @ g0, dtype=np.float64)))) / n or 1.0
    scores = np.zeros(N, dtype=dt)
    prio = np.empty(N)
    excluded_u8 = excluded.view(np.uint8)
    crit = np.inf
    gap = primal = np.nan
    converged = False
    prev_size = 0
    it = 0
    lip_b = curv
    # the kernel's sigmoid cache (logistic) or the user datafit's gradient
    S = np.empty(n if kind in ("logistic", "user") else 0)
    cubes = None
    if kind == "logistic":
        # max |sigma''| = 1 / (6 sqrt 3): third-derivative bound per coordinate
        # (and the intercept, last), so most Newton steps need no loss evaluation
        a3 = (np.asarray(abs(X).power(3).sum(axis=0)).ravel() if is_sparse
              else np.einsum("ij,ij,ij->j", np.abs(X), X, X, dtype=np.float64))
        cubes = np.append(a3 / n, 1.0) / (6.0 * np.sqrt(3.0))
    for it in range(1, int(solver.max_iter) + 1):
        if it % 10 == 0:
            Z = np.asarray(X @ w, dtype=np.float64).ravel().astype(dt) + dt.type(b[0])
        Z64 = Z.astype(np.float64)
        u = minus_deriv(y64, Z64)   # -n * raw gradient
        if is_sparse:
            corr = np.empty(N)
            _C.csc_xtr(data, indices, indptr, u.astype(dt), np.zeros(0, np.uint8), 1.0 / n,
                       corr)
        else:
            corr = np.asarray(X.T @ u.astype(dt), dtype=np.float64) / n
        gb = abs(float(u.sum())) / n if fit_intercept else 0.0
        if code in (P.L1, P.WL1):
            max_score, pen, ratio, nnz = _C.l1_outer_stats(
                corr, corr, w, thr, positive, excluded_u8, prio)
        else:
            _C.scores_all(code, w, (-corr).astype(dt), lips, alpha, gamma, wts, a2s_,
                          positive, scores, *upen)
            scores[excluded] = 0.0
            max_score = float(scores.max()) if N else 0.0
            nnz = int(np.count_nonzero(w))
        max_score = max(max_score, gb)
        if use_gap:
            s_ = max(1.0, ratio)
            primal = loss_sum(y64, Z64, w) / n + pen
            gap = primal - _glm_dual(kind, y64, u / s_, delta) / n
            crit = gap
            stop = gap <= tol * P0
        else:
            crit = max_score
            stop = max_score <= tol * crit_ref
        if solver.verbose:
            print(f"[AndersonCD] iter {it}: {'gap' if use_gap else 'kkt'} {crit:.3e}, "
                  f"nnz {np.count_nonzero(w)}")
        if stop:
            converged = True
            break
        if n_incl == 0:
            ws = np.zeros(0, dtype=np.int64)
        elif code in (P.L1, P.WL1):
            ws = _ws_select_prio(prio, nnz, int(forced.sum()), excluded, p0, n_incl, prev_size)
        else:
            ws = _ws_select(scores, w, forced, excluded, p0, n_incl, prev_size)
        prev_size = ws.size
        tol_in = 0.3 * max_score
        if ws.size == n_incl and not use_gap:
            tol_in = min(tol_in, 0.3 * tol * crit_ref)
        _C.glm_cd_inner(is_sparse, Xd, data, indices, indptr, y, Z, w, b, ws, lips, dfc,
                        float(delta), code, alpha, gamma, wts, a2s_, positive,
                        bool(fit_intercept), lip_b, int(solver.max_epochs), tol_in, S, cubes,
                        ugrad, upar, *upen)
    if not use_gap and convex:
        primal = loss_sum(y64, Z.astype(np.float64), w) / n
    return dict(w=w, b=float(b[0]), crit=float(crit), n_iter=it, converged=converged,
                gap=float(gap), primal=float(primal), lips=lips_out, n_screened=0)
