"""Linear-algebra kernels shared by the thresholding family (spec 0.2, 0.4, 4.1, 4.6).

* :class:`_Op` wraps a dense array, a scipy.sparse matrix or a
  ``LinearOperator`` behind two *batched* products, ``A @ X`` and
  ``A^H @ R`` (one GEMM / one operator ``matmat`` for every target).
* :func:`top_s_mask` is the hard-thresholding operator ``H_s`` column by
  column (``argpartition``, ties broken towards the lowest index).
* :func:`ls_on_support` is the least-squares fit restricted to a support,
  ``argmin_{supp z ⊆ T} ||y - A z||``, for every target at once: stacked
  Householder QR of the gathered columns for explicit matrices, batched CGLS
  (warm-started, one ``matmat`` + one ``rmatmat`` per CG step for all
  targets) for operators.
* :class:`_NSTProjector` applies ``A^+ r = A^H (A A^H)^{-1} r`` (spec 4.1): a
  Cholesky factor of ``A A^H`` computed once and reused, or warm-started
  batched conjugate gradients for operators; a pseudo-inverse fallback (with
  a warning) when ``A A^H`` is singular.

Kernels take arrays and return arrays; the only Python objects are the
operator and projector wrappers built once per call.  Everything is done in
the working precision (float64 / complex128, spec 0.4).
"""

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from .._scaling import nearest_pow2

__all__ = []

_MEM_BUDGET = 128 * 2**20  # bytes of gathered columns per chunk of targets


# Scale range inside which A is used as given: outside it, A is divided by a
# power of two (exact) so that products, squared norms and Gram matrices of
# the iterations neither underflow nor overflow (scale equivariance over the
# whole float range).  Inside it nothing changes, not even a copy.
_SAFE_LOG2 = 64


pow2_scale = nearest_pow2  # the power of two nearest to v (> 0, finite), else 1; elementwise


def safe_col_norms(V):
    """Column 2-norms of V (m, L) without underflow or overflow of the squares."""
    a = np.max(np.abs(V), axis=0) if V.shape[0] else np.zeros(V.shape[1])
    a = np.asarray(a, dtype=np.float64)
    d = np.where(a > 0, a, 1.0)
    return a * np.linalg.norm(V / d, axis=0)


def _work_dtype(*dtypes):
    cplx = any(np.issubdtype(np.dtype(d), np.complexfloating) for d in dtypes)
    return np.dtype(np.complex128 if cplx else np.float64)


class _Op:
    """Batched products with A (dense, sparse or LinearOperator) in precision ``wdt``.

    Attributes
    ----------
    kind : {"dense", "sparse", "operator"}
    explicit : bool
        Whether columns can be gathered (dense or sparse).
    n_matvec : int
        Products applied so far, counted per column (for benchmarks).
    """

    def __init__(self, A, wdt):
        self.shape = tuple(A.shape)
        self.wdt = np.dtype(wdt)
        self.n_matvec = 0
        if isinstance(A, LinearOperator):
            self.kind = "operator"
            self.A = A
            self._real_op = not np.issubdtype(np.dtype(A.dtype), np.complexfloating)
        elif sp.issparse(A):
            self.kind = "sparse"
            self.A = sp.csc_array(A).astype(self.wdt)
            self.AH = self.A.conj().T.tocsr() if np.iscomplexobj(self.A) else self.A.T
        else:
            self.kind = "dense"
            self.A = np.asarray(A, dtype=self.wdt)
            # Conjugate transpose materialised once for complex data only: for
            # real data .T is a free view and BLAS handles the transposition.
            self.AH = self.A.conj().T if np.iscomplexobj(self.A) else self.A.T
        self.explicit = self.kind != "operator"
        self.scale = 1.0  # the operator applied is A / scale

    def equilibrate(self):
        """Divide A by a power of two when its entries are far from 1.

        Returns the factor ``scale`` (1.0 when A is used as given): the
        products are those of ``A / scale``, exactly.  For a LinearOperator
        the magnitude is probed with one product (not counted in n_matvec).
        """
        N = self.shape[1]
        if self.kind == "dense":
            amax = float(np.max(np.abs(self.A))) if self.A.size else 0.0
        elif self.kind == "sparse":
            amax = float(np.max(np.abs(self.A.data))) if self.A.nnz else 0.0
        else:
            z = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
            v = np.asarray(self.A.matvec(z.astype(self.A.dtype) if self._real_op else z))
            v = v.reshape(-1, 1)
            amax = float(safe_col_norms(v)[0]) / np.sqrt(max(N, 1)) if v.size else 0.0
        if not (np.isfinite(amax) and amax > 0):
            return 1.0
        if abs(np.log2(amax)) <= _SAFE_LOG2:
            return 1.0
        c = float(pow2_scale(amax))
        self.scale = c
        if self.kind == "dense":
            self.A = self.A / c
            self.AH = self.A.conj().T if np.iscomplexobj(self.A) else self.A.T
        elif self.kind == "sparse":
            self.A = self.A / c
            self.AH = self.A.conj().T.tocsr() if np.iscomplexobj(self.A) else self.A.T
        return c

    # -- products ----------------------------------------------------------
    def _apply_op(self, f, X):
        if self._real_op and np.iscomplexobj(X):
            # A real operator applied to complex vectors: real and imaginary
            # parts separately (user operators often refuse complex input).
            return (np.asarray(f(np.ascontiguousarray(X.real)), dtype=self.wdt)
                    + 1j * np.asarray(f(np.ascontiguousarray(X.imag)), dtype=self.wdt))
        return np.asarray(f(X), dtype=self.wdt)

    def matmat(self, X):
        """``A @ X`` for X of shape (N, L)."""
        self.n_matvec += X.shape[1]
        if self.kind == "operator":
            out = self._apply_op(self.A.matmat, X)
            return out / self.scale if self.scale != 1.0 else out
        return np.asarray(self.A @ X, dtype=self.wdt)

    def rmatmat(self, R):
        """``A^H @ R`` for R of shape (m, L)."""
        self.n_matvec += R.shape[1]
        if self.kind == "operator":
            out = self._apply_op(self.A.rmatmat, R)
            return out / self.scale if self.scale != 1.0 else out
        return np.asarray(self.AH @ R, dtype=self.wdt)

    def columns(self, idx):
        """Dense ``A[:, idx]`` (explicit matrices only) of shape (m, len(idx))."""
        if self.kind == "sparse":
            return self.A[:, idx].toarray()
        return self.A[:, idx]

    def norm2_squared(self, n_iter=100, rtol=1e-6, seed=0):
        """``||A||_2^2``: exact for small dense matrices, else power iteration."""
        if self.kind == "dense" and min(self.shape) <= 500:
            return float(sla.svdvals(self.A, check_finite=False)[0] ** 2)
        if self.kind == "operator":
            from ..operators import operator_norm

            # exact for the partial transforms and Kronecker operators
            return (float(operator_norm(self.A, n_iter=n_iter, tol=rtol, random_state=seed))
                    / self.scale) ** 2
        return _power(self, n_iter, rtol, seed)

    def orthogonal_rows_scale2(self):
        """``c`` when ``A A^H = c I`` is known without computation, else None."""
        from ..operators import PartialDCT, PartialFFT

        if isinstance(self.A, (PartialDCT, PartialFFT)):
            return (float(self.A.scale) / self.scale) ** 2
        return None

    def mean_col_norm2(self, n_probes=32, seed=0):
        """``||A||_F^2 / N``: exact for matrices, Hutchinson estimate for operators."""
        N = self.shape[1]
        if self.kind == "dense":
            return float(np.sum(np.abs(self.A) ** 2) / N)
        if self.kind == "sparse":
            return float(np.sum(np.abs(self.A.data) ** 2) / N)
        # E ||A z||^2 = ||A||_F^2 for Rademacher z (Hutchinson's estimator)
        rng = np.random.default_rng(seed)
        Z = rng.choice([-1.0, 1.0], size=(N, n_probes)).astype(self.wdt)
        return float(np.sum(np.abs(self.matmat(Z)) ** 2) / (n_probes * N))


def _power(op, n_iter, rtol, seed):
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((op.shape[1], 1)).astype(op.wdt)
    v /= np.linalg.norm(v)
    lam = 0.0
    for _ in range(n_iter):
        w = op.rmatmat(op.matmat(v))
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            return 0.0
        v = w / lam_new
        if abs(lam_new - lam) <= rtol * lam_new:
            lam = lam_new
            break
        lam = lam_new
    # Power iteration approaches sigma_max^2 from below: a 1 % margin keeps
    # step sizes 1/L on the safe side.
    return lam * 1.01


# --------------------------------------------------------------------------
# hard thresholding
# --------------------------------------------------------------------------
def top_s_mask(V, s):
    """Boolean mask (N, L) of the ``s`` largest ``|V|`` per column.

    Exactly ``s`` entries per column; ties at the threshold go to the lowest
    indices (spec 0.1), so that the "support repeats" test is meaningful.
    """
    N, L = V.shape
    if s >= N:
        return np.ones((N, L), dtype=bool)
    if s <= 0:
        return np.zeros((N, L), dtype=bool)
    a = np.abs(V)
    thr = -np.partition(-a, s - 1, axis=0)[s - 1]  # s-th largest per column
    above = a > thr
    n_above = above.sum(axis=0)
    at = a == thr
    # cumulative count of ties, by index: keep the first (s - n_above) of them
    keep_ties = at & (np.cumsum(at, axis=0) <= (s - n_above))
    return above | keep_ties


def mask_to_index(mask):
    """Sorted indices of a mask with the same count c per column -> (L, c)."""
    L = mask.shape[1]
    return np.nonzero(mask.T)[1].reshape(L, -1)


# --------------------------------------------------------------------------
# least squares on a support
# --------------------------------------------------------------------------
def ls_on_support(op, Y, mask, *, method, Z0=None, AhY=None, cg_tol=1e-12,
                  cg_max_iter=None):
    """Least-squares fit of each column of Y on the columns ``mask[:, l]`` of A.

    Parameters
    ----------
    op : _Op
    Y : ndarray (m, L)
    mask : ndarray of bool (N, L)
        Supports; sizes may differ between targets.
    method : {"cholesky", "qr", "cg"}
        ``"cholesky"``: normal equations of the gathered columns (one batched
        GEMM, Cholesky test of conditioning, one step of iterative
        refinement); targets whose restriction is ill-conditioned
        (``cond(A_T)^2 > 1e10`` by the Cholesky pivots) or singular fall back
        to Householder QR.  ``"qr"``: stacked Householder QR for all.
    Z0 : ndarray (N, L), optional
        Warm start for CGLS.
    AhY : ndarray (N, L), optional
        ``A^H Y`` (CGLS reference scale; saves one product per call).

    Returns
    -------
    Z : ndarray (N, L)
        Zero outside the support.
    R : ndarray (m, L)
        Residuals ``Y - A Z``.
    """
    if method in ("qr", "cholesky"):
        return _ls_qr(op, Y, mask, method)
    return _cgls(op, Y, mask, Z0, AhY, cg_tol, cg_max_iter)


def _ls_qr(op, Y, mask, method="qr"):
    m, L = Y.shape
    N = mask.shape[0]
    counts = mask.sum(axis=0)
    t = int(counts.max()) if L else 0
    Z = np.zeros((N, L), dtype=op.wdt)
    R = Y.copy()
    if t == 0:
        return Z, R
    # index matrix (L, t): the support first (in index order), then padding
    order = np.argsort(~mask.T, axis=1, kind="stable")[:, :t]
    valid = np.arange(t)[None, :] < counts[:, None]
    per = max(1, int(_MEM_BUDGET // (16 * (m + t) * t)))
    for start in range(0, L, per):
        sl = slice(start, min(start + per, L))
        Zc, Rc = _ls_qr_chunk(op, Y[:, sl], order[sl], valid[sl], m, t, method)
        Zfull = np.zeros((N, Zc.shape[0]), dtype=op.wdt)
        np.put_along_axis(Zfull.T, order[sl], Zc, axis=1)
        # padded slots carry exactly zero (see below), so put order is harmless
        Z[:, sl] = Zfull
        R[:, sl] = Rc
    return Z, R


class _SupportLS:
    """Least squares on a support that changes little between calls, for one target.

    Keeps the gathered columns ``A_T`` and their Gram ``G_T = A_T^H A_T``
    from the previous call: for a new support only the columns that entered
    are gathered and only their rows of the Gram are formed
    (``m |T| |added|`` flops instead of ``m |T|^2``); ``G_T`` is then
    factorised by LAPACK (``|T|^3 / 3``) and the fit refined once on the
    least-squares residual, as :func:`_ls_qr_chunk` does.  The right-hand
    side ``A_T^H y`` is read off ``A^H y``, computed once.

    :meth:`solve` returns None when the Cholesky pivots flag the restriction
    as ill-conditioned (``cond(A_T)^2 > 1e10``) or singular: the caller then
    uses :func:`ls_on_support` (QR), the same test and fallback as the
    batched solver.
    """

    def __init__(self, op, y, aty):
        self.op = op
        self.y = y
        self.aty = aty
        self.idx = None
        self.AT = None
        self.G = None

    def solve(self, idx_new):
        """``(z, r)``: the fit on the columns ``idx_new`` (full length N) and ``y - A z``."""
        op = self.op
        if self.idx is None or self.idx.size == 0:
            order = np.asarray(idx_new, dtype=np.intp)
            AT = np.asarray(op.columns(order), dtype=op.wdt)
            G = AT.conj().T @ AT
        else:
            keep = np.flatnonzero(np.isin(self.idx, idx_new, assume_unique=True))
            add = np.setdiff1d(idx_new, self.idx, assume_unique=True)
            order = np.concatenate([self.idx[keep], add])
            Ak = self.AT[:, keep]
            Aa = np.asarray(op.columns(add), dtype=op.wdt)
            n_k = keep.size
            G = np.empty((order.size, order.size), dtype=op.wdt)
            G[:n_k, :n_k] = self.G[np.ix_(keep, keep)]
            if add.size:
                G_ka = Ak.conj().T @ Aa
                G[:n_k, n_k:] = G_ka
                G[n_k:, :n_k] = G_ka.conj().T
                G[n_k:, n_k:] = Aa.conj().T @ Aa
            AT = np.concatenate([Ak, Aa], axis=1) if add.size else Ak
        self.idx, self.AT, self.G = None, None, None
        t = order.size
        z_full = np.zeros(op.shape[1], dtype=op.wdt)
        if t == 0:
            return z_full, self.y.copy()
        if t > op.shape[0]:
            return None
        # LAPACK directly (potrf / potrs): the scipy wrappers' checks cost
        # as much as the factorisation at these sizes
        potrf, potrs = sla.lapack.get_lapack_funcs(("potrf", "potrs"), (G,))
        Lc, info = potrf(G, lower=1, clean=0)
        if info != 0:
            return None
        d = np.abs(np.diagonal(Lc))
        if not (np.isfinite(d).all() and d.min() ** 2 > 1e-10 * d.max() ** 2):
            return None
        z = potrs(Lc, self.aty[order], lower=1)[0]
        r = self.y - AT @ z
        z = z + potrs(Lc, AT.conj().T @ r, lower=1)[0]
        r = self.y - AT @ z
        self.idx, self.AT, self.G = order, AT, G
        z_full[order] = z
        return z_full, r


def _bmv(M, v):
    """Batched matrix-vector product ``M[l] @ v[l]`` through matmul (BLAS)."""
    return np.matmul(M, v[..., None])[..., 0]


def _ls_qr_chunk(op, Y, order, valid, m, t, method):
    Lc = order.shape[0]
    cols = op.columns(order.ravel())  # (m, Lc*t): one gather for the chunk
    As = np.ascontiguousarray(cols.reshape(m, Lc, t).transpose(1, 0, 2))
    As *= valid[:, None, :]
    pad = ~valid
    if pad.any():
        # Targets with fewer than t indices: padded columns become unit vectors
        # e_{m+j} in t extra rows (y padded with zeros).  The extra rows are
        # orthogonal to everything else, so the padded coefficients are exactly
        # zero and the real ones are the LS fit on the true support.
        aug = np.zeros((Lc, t, t), dtype=As.dtype)
        li, ji = np.nonzero(pad)
        aug[li, ji, ji] = 1.0
        As = np.concatenate([As, aug], axis=1)
    Yc = Y.T  # (Lc, m)
    rows = As.shape[1]
    AsH = As[:, :m].conj().transpose(0, 2, 1)
    b = _bmv(AsH, Yc)  # A_T^H y, batched GEMV
    Z = np.zeros((Lc, t), dtype=As.dtype)
    todo_qr = np.ones(Lc, dtype=bool)
    if method == "cholesky" and rows >= t:
        # normal equations, BLAS-3: G = A_T^H A_T (padding adds identity rows)
        G = np.matmul(As.conj().transpose(0, 2, 1), As)
        ok = np.zeros(Lc, dtype=bool)
        try:
            Lf = np.linalg.cholesky(G)
            d = np.abs(np.diagonal(Lf, axis1=1, axis2=2))
            # pivot ratio^2 estimates cond(A_T)^2: beyond 1e10 the normal
            # equations lose digits, so those targets go to QR
            ok = np.all(np.isfinite(d), axis=1) & (
                np.min(d, axis=1) ** 2 > 1e-10 * np.max(d, axis=1) ** 2)
        except np.linalg.LinAlgError:
            pass
        if ok.any():
            Gk = G[ok]
            z = np.linalg.solve(Gk, b[ok][..., None])[..., 0]
            # one step of iterative refinement on the LS residual
            r = Yc[ok] - _bmv(As[ok, :m], z)
            z += np.linalg.solve(Gk, _bmv(AsH[ok], r)[..., None])[..., 0]
            Z[ok] = z
            todo_qr = ~ok
    idx = np.flatnonzero(todo_qr)
    if idx.size and rows >= t:
        Q, Rf = np.linalg.qr(As[idx])  # stacked Householder QR
        c = _bmv(Q[:, :m].conj().transpose(0, 2, 1), Yc[idx])
        d = np.abs(np.diagonal(Rf, axis1=1, axis2=2))
        dmax = d.max(axis=1, keepdims=True)
        bad = np.any(d <= 1e-11 * np.maximum(dmax, 1e-300), axis=1)
        good = ~bad
        if good.any():
            Z[idx[good]] = np.linalg.solve(Rf[good], c[good][..., None])[..., 0]
        idx = idx[bad]
    for lidx in idx:
        if np.count_nonzero(valid[lidx]) > m:
            # under-determined restriction (e.g. CoSaMP's 3s > m): the
            # minimum-norm solution A_T^+ y of the reference algorithms
            Z[lidx] = np.linalg.lstsq(As[lidx, :m], Yc[lidx], rcond=None)[0]
            Z[lidx][pad[lidx]] = 0.0
        else:
            # rank-deficient restriction (dependent or duplicated atoms): a
            # *basic* LS solution (QR with column pivoting, at most rank
            # nonzeros).  The minimum-norm one splits a coefficient between
            # copies of an atom and the pruning to s that follows drops half
            # of it: a wrong answer marked converged (CoSaMP, residual
            # 0.5 ||a|| on a dictionary with a repeated atom).
            Z[lidx] = _basic_lstsq(As[lidx, :m], Yc[lidx], valid[lidx])
    R = Yc - _bmv(As[:, :m], Z)
    return Z, R.T


def _basic_lstsq(M, y, valid, rcond=1e-11):
    """Basic least-squares solution of ``M z = y`` over the columns ``valid``:
    QR with column pivoting, the numerically independent leading columns
    solved for, the others set to zero."""
    z = np.zeros(M.shape[1], dtype=np.result_type(M, y))
    cols = np.flatnonzero(valid)
    if cols.size == 0:
        return z
    Q, R, P = sla.qr(M[:, cols], mode="economic", pivoting=True, check_finite=False)
    d = np.abs(np.diag(R))
    r = int(np.count_nonzero(d > rcond * max(float(d[0]) if d.size else 0.0, 1e-300)))
    if r == 0:
        return z
    c = Q[:, :r].conj().T @ y
    z[cols[P[:r]]] = sla.solve_triangular(R[:r, :r], c, check_finite=False)
    return z


def _cgls(op, Y, mask, Z0, AhY, tol, max_iter):
    """Batched CGLS on ``min ||y_l - A P_l z||`` (P_l = mask column l).

    One ``matmat`` and one ``rmatmat`` per step for all targets; a target
    stops when its normal-equation residual is below ``tol * ||P_l A^H y_l||``
    (its step length is then zero).
    """
    N, L = mask.shape
    maskf = mask.astype(np.float64)
    if max_iter is None:
        max_iter = max(50, min(int(mask.sum(axis=0).max()) + 10, 1000))
    X = np.zeros((N, L), dtype=op.wdt) if Z0 is None else Z0 * maskf
    R = Y - op.matmat(X) if np.any(X) else Y.copy()
    S = op.rmatmat(R) * maskf
    gamma = np.sum(np.abs(S) ** 2, axis=0)
    # reference scale: ||P A^H y|| (equal to ||S|| for a cold start)
    if AhY is not None:
        bnorm2 = np.sum(np.abs(AhY * maskf) ** 2, axis=0)
    elif Z0 is None or not np.any(X):
        bnorm2 = gamma.copy()
    else:
        bnorm2 = np.sum(np.abs(op.rmatmat(Y) * maskf) ** 2, axis=0)
    target = (np.asarray(tol, dtype=np.float64) ** 2) * bnorm2  # tol: scalar or (L,)
    P = S.copy()
    active = gamma > target
    for _ in range(max_iter):
        if not active.any():
            break
        a = np.flatnonzero(active)
        Q = op.matmat(P[:, a])
        delta = np.sum(np.abs(Q) ** 2, axis=0)
        alpha = np.where(delta > 0, gamma[a] / np.where(delta > 0, delta, 1.0), 0.0)
        X[:, a] += alpha * P[:, a]
        R[:, a] -= alpha * Q
        Sa = op.rmatmat(R[:, a]) * maskf[:, a]
        gnew = np.sum(np.abs(Sa) ** 2, axis=0)
        beta = np.where(gamma[a] > 0, gnew / np.where(gamma[a] > 0, gamma[a], 1.0), 0.0)
        P[:, a] = Sa + beta * P[:, a]
        gamma[a] = gnew
        active[a] = (gnew > target[a]) & (delta > 0)
    return X, R


# --------------------------------------------------------------------------
# the NST projection  A^+ r = A^H (A A^H)^{-1} r
# --------------------------------------------------------------------------
class _NSTProjector:
    """Applies ``A^+`` to residuals: ``V = A^H W`` with ``(A A^H) W = R``.

    ``method="cholesky"`` factorises ``A A^H = L L^H`` once (m^2 N + m^3/3
    flops) and reuses it for every iteration and target; if ``A A^H`` is
    numerically singular (rank r < m) it switches to the eigen-decomposition
    pseudo-inverse with relative cut-off ``rcond`` (spec 4.6) and records it in
    ``rank_deficient`` so the caller can warn.  ``method="cg"`` runs batched
    conjugate gradients (CGLS on ``A v = r``), warm-started from the previous
    solution (spec 0.4).  ``warm_rows`` is the row count of the warm-start
    state the kernel keeps between calls.
    """

    def __init__(self, op, method, *, cg_tol=1e-12, cg_max_iter=None, rcond=1e-12):
        self.op = op
        self.method = method
        self.cg_tol = cg_tol
        self.cg_max_iter = cg_max_iter
        self.rank_deficient = False
        self.rank = None
        self.cg_failed = 0
        self.inconsistent = 0
        self._pinv = None
        m = op.shape[0]
        self._scale2 = op.orthogonal_rows_scale2() if method == "cg" else None
        self.warm_rows = op.shape[1] if method == "cg" else m
        if method == "cholesky":
            if op.kind == "dense":
                G = op.A @ op.AH
            else:
                G = (op.A @ op.AH).toarray()
            G = np.asarray(G, dtype=op.wdt)
            scale = float(np.max(np.real(np.diag(G)))) if m else 0.0
            ok = False
            if scale > 0:
                try:
                    # LAPACK's blocked potrf (scipy) is several times faster
                    # than numpy's batched cholesky on one large matrix
                    Lc = sla.cholesky(G, lower=True, check_finite=False)
                    d = np.real(np.diag(Lc)) ** 2
                    # a pivot below rcond * max: A A^H is numerically singular
                    ok = bool(np.min(d) > rcond * 1e2 * scale)
                    if ok:
                        self._chol = (Lc, True)
                except (np.linalg.LinAlgError, ValueError):
                    ok = False
            if not ok:
                w, U = np.linalg.eigh(G)
                keep = w > rcond * max(float(w[-1]), 1e-300) * m
                self.rank = int(keep.sum())
                self.rank_deficient = True
                self._pinv = (U[:, keep], w[keep])
            else:
                self.rank = m

    def solve(self, R, W0=None):
        """Return ``(W, V)`` with ``V = A^+ R`` and W the warm-start state
        (``(A A^H)^{-1} R`` for Cholesky, V itself for CG)."""
        if self.method == "cholesky":
            if self._pinv is not None:
                U, w = self._pinv
                W = U @ ((U.conj().T @ R) / w[:, None])
            else:
                Lc = self._chol[0]
                W, info = sla.lapack.get_lapack_funcs("potrs", (Lc,))(Lc, R, lower=1)
                if info != 0:  # pragma: no cover - a valid factor and finite R
                    W = sla.cho_solve(self._chol, R, check_finite=False)
            return W, self.op.rmatmat(W)
        if self._scale2 is not None:
            # partial orthonormal transform: A A^H = scale^2 I, A^+ = A^H / scale^2
            W = R / self._scale2
            return W, self.op.rmatmat(W)
        return self._cg(R, W0)

    def _cg(self, R, V0):
        """CGLS on ``A v = r`` from ``v0`` in range(A^H): converges to the
        minimum-norm least-squares solution ``v = A^+ r`` whether or not
        ``A A^H`` is singular (the warm start keeps v in range(A^H)).

        Stops a column when ``||r - A v|| <= tol ||r||`` (consistent system)
        or ``||A^H (r - A v)|| <= tol ||A|| ||r - A v||`` (LSQR's test for an
        inconsistent one: r not in range(A), so A A^H is singular).
        """
        op = self.op
        m, L = R.shape
        N = op.shape[1]
        max_iter = self.cg_max_iter or max(100, min(m, 1000))
        if V0 is None or not np.any(V0):
            V = np.zeros((N, L), dtype=op.wdt)
            Res = R.copy()
        else:
            V = V0.copy()
            Res = R - op.matmat(V)
        tol = self.cg_tol
        rnorm = np.linalg.norm(R, axis=0)
        S = op.rmatmat(Res)
        gamma = np.sum(np.abs(S) ** 2, axis=0)
        P = S.copy()
        anorm = 0.0  # running lower estimate of ||A|| from ||A p|| / ||p||
        res_n = np.linalg.norm(Res, axis=0)
        done = (res_n <= tol * rnorm) | (gamma == 0)
        it = 0
        while not done.all() and it < max_iter:
            it += 1
            a = np.flatnonzero(~done)
            Q = op.matmat(P[:, a])
            delta = np.sum(np.abs(Q) ** 2, axis=0)
            pn = np.sum(np.abs(P[:, a]) ** 2, axis=0)
            anorm = max(anorm, float(np.sqrt(np.max(delta / np.maximum(pn, 1e-300)))))
            okd = delta > 0
            alpha = np.where(okd, gamma[a] / np.where(okd, delta, 1.0), 0.0)
            V[:, a] += alpha * P[:, a]
            Res[:, a] -= alpha * Q
            Sa = op.rmatmat(Res[:, a])
            gnew = np.sum(np.abs(Sa) ** 2, axis=0)
            beta = np.where(gamma[a] > 0, gnew / np.where(gamma[a] > 0, gamma[a], 1.0), 0.0)
            P[:, a] = Sa + beta * P[:, a]
            gamma[a] = gnew
            res_n[a] = np.linalg.norm(Res[:, a], axis=0)
            consistent = res_n[a] <= tol * rnorm[a]
            stalled = np.sqrt(gnew) <= tol * anorm * res_n[a]
            self.inconsistent += int(np.count_nonzero(stalled & ~consistent))
            done[a] = consistent | stalled | ~okd
        self.cg_failed += int(np.count_nonzero(~done))
        return V, V
