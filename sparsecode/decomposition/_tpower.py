"""Sparse PCA by the truncated power method, with deflation and adjusted variance.

Implements the truncated power iteration of Yuan & Zhang (JMLR 2013; spec
section 5.1), the initialisations of the authors' ``TPower.m`` /
``TPower_SPCA.m`` plus the leading-eigenvector start with the cardinality
cascade (spec 5.2; on large problems the eigenvector is the Ritz vector of
the deflated covariance on one Lanczos subspace shared by all components,
and on large data the cascade runs on a working set of features, certified
by full products), the deflation schemes of Mackey (NIPS 2008; spec 5.3)
applied to the data when the covariance is not formed, and the explained
variance of non-orthogonal loadings of Zou, Hastie & Tibshirani (2006;
spec 5.5).  The hot work is matrix-vector products (BLAS, and the one-pass
``X' (X q)`` kernel of ``_ext/_tpower.pyx``); the per-iteration selection is
an ``argpartition``.
"""

import numbers
import warnings

import numpy as np
import scipy.linalg
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import ConvergenceWarning, SolverResult
from .._parallel import blas_limited, effective_n_jobs
from .._ext._tpower import column_stats as _column_stats_kernel
from .._ext._tpower import column_stats_half as _column_stats_half
from .._ext._tpower import gram_matmat as _gram_matmat
from .._ext._tpower import gram_matvec as _gram_matvec
from .._ext._tpower import half_copy as _half_copy
from .._ext._tpower import half_gram_matvec as _half_gram_matvec
from .._ext._tpower import half_supported as _half_supported
from .._ext._tpower import rmatvec_gather as _rmatvec_gather
from .._validation import Interval, Options, check_matrix, validate_params

__all__ = ["TruncatedPowerPCA", "truncated_power_method"]

_INITS = ("eig", "maxdiag", "topk_diag")
_DEFLATIONS = ("schur", "projection", "orthogonal_projection", "hotelling")


# ---------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------
def _truncate(s, k):
    """``T_k(s)``: keep the k largest magnitudes, unit norm (ties: argpartition's order).

    Returns ``None`` when the kept part is zero (the operator annihilates x).
    """
    p = s.shape[0]
    if k < p:
        idx = np.argpartition(-np.abs(s), k - 1)[:k]  # O(p) selection, no sort
        x = np.zeros_like(s)
        x[idx] = s[idx]
    else:
        x = s.copy()
    nrm = np.linalg.norm(x)
    if not nrm > 0:
        return None
    return x / nrm


def _top_eigenpair(M):
    """Largest eigenvalue and its eigenvector of a symmetric matrix (LAPACK syevr)."""
    n = M.shape[0]
    return scipy.linalg.eigh(M, subset_by_index=[n - 1, n - 1], check_finite=False)


def _tpower_kernel(matvec, x0, k, max_iter, tol, quad=None, restricted=None, rayleigh=True):
    """Truncated power iterations from ``x0`` (spec 5.1, the authors' loop).

    Stops when the relative change of the objective cross-term
    ``x_new' A x_old`` falls below ``tol``.  Returns
    ``(x, rayleigh, n_iter, converged)``; ``x`` is ``None`` when ``A x = 0``.
    ``quad(x)``, when given, computes the final ``x' A x`` (from data:
    ``||X x||^2 / (n - 1)`` with the k-sparse x, no pass over all the data).

    ``restricted(idx)``, when given, returns the ``k x k`` block ``A[idx, idx]``
    (from data: ``O(N k^2)``, no pass over all the data).  Once two successive
    iterates share their support ``S``, the iteration restricted to ``S`` is the
    power method on that block, whose limit is its leading eigenvector: it is
    computed directly and one product with ``A`` checks that it is a fixed
    point of the truncated iteration (the ``k`` largest magnitudes of ``A x``
    are on ``S``).  That point is exactly where the authors' loop converges
    when the support settles, reached in one product instead of the many a
    small spectral gap on ``S`` would take; if the check fails, the iterations
    go on from ``T_k(A x)``.

    ``rayleigh=False`` skips the final ``x' A x`` (returned as NaN) of an
    iteration whose end point only starts the next one.
    """
    x = _truncate(x0, k)
    if x is None:
        return None, 0.0, 0, True
    s = matvec(x)
    f_old = float(x @ s)
    x = _truncate(s, k)
    if x is None:
        return None, 0.0, 0, True
    p = x.shape[0]
    polish = restricted is not None and k < p
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        s = matvec(x)
        x_new = _truncate(s, k)
        if x_new is None:
            return None, 0.0, n_iter, True
        f = float(x_new @ s)
        if (polish and n_iter < max_iter
                and np.array_equal(np.flatnonzero(x_new), np.flatnonzero(x))):
            idx = np.flatnonzero(x_new)
            w, U = _top_eigenpair(restricted(idx))
            if w[-1] > 0:
                x_pol = np.zeros_like(x_new)
                x_pol[idx] = U[:, -1] * (1.0 if U[:, -1] @ x_new[idx] >= 0 else -1.0)
                s = matvec(x_pol)
                n_iter += 1
                mag = np.abs(s)
                outside = np.delete(mag, idx)
                if outside.size == 0 or mag[idx].min() >= outside.max():
                    return x_pol, float(w[-1]), n_iter, True
                x_new = _truncate(s, k)  # not a fixed point: go on from T_k(A x)
                if x_new is None:
                    return None, 0.0, n_iter, True
                f = float(x_new @ s)
        x = x_new
        if abs(f - f_old) <= tol * max(abs(f), np.finfo(float).tiny):
            converged = True
            break
        f_old = f
    if polish:  # finish on the final support exactly (the products may be single precision)
        idx = np.flatnonzero(x)
        w, U = _top_eigenpair(restricted(idx))
        if w[-1] > 0:
            v = U[:, -1] if U[:, -1] @ x[idx] >= 0 else -U[:, -1]
            x = np.zeros_like(x)
            x[idx] = v
            return x, float(w[-1]), n_iter, converged
    if not rayleigh:
        return x, np.nan, n_iter, converged
    rq = quad(x) if quad is not None else float(x @ matvec(x))
    return x, rq, n_iter, converged


def _cascade(matvec, x0, k, p, max_iter, tol, quad=None, restricted=None, stages=None,
             stage_polish=True):
    """Authors' ``TPower_SPCA`` cascade: cardinality 8k -> 4k -> 2k -> k, warm-started.

    The intermediate stages only position the start of the next one, so they
    stop at a looser tolerance (``max(tol, 1e-3)``); the last stage uses ``tol``.
    ``stages``, when given, lists the cardinalities to run (ending with ``k``);
    ``stage_polish=False`` keeps the support eigen-solves (``restricted``) to
    the last stage (on a working set, where products cost less than solves).
    """
    ks = [k]
    if p >= 8 * k:
        ks = [8 * k, 4 * k, 2 * k, k]
    if stages is not None:
        ks = list(stages)
    x = x0
    total = 0
    for i, kk in enumerate(ks):
        last = i == len(ks) - 1
        stage_tol = tol if last else max(tol, 1e-3)
        polish = kk <= _POLISH_MAX_K and (last or stage_polish)
        x, f, n_it, conv = _tpower_kernel(matvec, x, kk, max_iter, stage_tol, quad,
                                          restricted if polish else None, rayleigh=last)
        total += n_it
        if x is None:
            break
    return x, f, total, conv


def _top(v, m):
    """Indices of the ``m`` largest magnitudes of ``v`` (unordered)."""
    if m <= 0:
        return np.zeros(0, dtype=np.intp)
    if m >= v.shape[0]:
        return np.arange(v.shape[0])
    return np.argpartition(-np.abs(v), m - 1)[:m]


def _first_products(op, krylov, ks):
    """The working sets' first products of all components, in one pass over the data.

    For the leading Ritz vectors ``v_i`` of the undeflated operator on the
    Lanczos subspace (one per component, ``k_i = ks[i]``), ``A T_8k_i(v_i)``
    by one block product (:meth:`_DataOperator.gram_matmat`).  Component
    ``c`` takes the product of the Ritz vector closest to its start: on
    data where the components are near the leading eigenvectors (spikes) it
    is close to the product with its own start, and it only chooses the
    working set -- the first stage's check and the certificate decide.
    Returns ``(V, S, ks)``.
    """
    W, XW, _ = krylov
    G = XW.T @ XW
    m = len(ks)
    _, U = np.linalg.eigh(0.5 * (G + G.T))
    V = W @ U[:, ::-1][:, :m]
    T = np.zeros_like(V)
    for i in range(V.shape[1]):
        t = _truncate(V[:, i], 8 * ks[i])
        if t is not None:
            T[:, i] = t
    return V, op.gram_matmat(T)[1], list(ks[:V.shape[1]])


def _screened_cascade(op, x0, k, max_iter, tol, first=None, ahead=None):
    """The cascade of :func:`_cascade` on a working set of features, certified.

    The truncated iterations run on a working set ``C`` of features, through
    the columns ``Xt[:, C]`` gathered once (a product costs ``O(N |C|)``
    instead of ``O(N p)``); full products with ``A`` check the end points and
    bring in the features that an iteration over all features would pick:

    - ``C`` starts as the ``8k`` largest magnitudes of the start ``x0`` and
      the ``_SCREEN_FACTOR * 8k`` largest of the first product ``A T_8k(x0)``
      (``first``, from :func:`_first_products`: the product of the truncated
      Ritz vector closest to ``x0``, made for all components in one pass);
      with ``ahead``, the previous component's check pass has gathered the
      columns of the ``_SCREEN_FACTOR * 8k`` largest of this product and of
      the ``8k`` largest of the Ritz vector (``ahead["gathered"]``): ``C``
      is then that set plus the ``8k`` largest of ``x0``, and this
      component's own check pass gathers the next one's (``ahead["next"]``);
    - the first stage (cardinality ``8k``, where the iterate still moves
      across the features) ends where the iteration over all features stops
      too: at its end point ``x``, one full product ``s = A x`` (``Xt x`` from
      the gathered columns, ``Xt' (Xt x)`` by one product with the data);
      the stage is
      over when ``T_8k(s)`` changes the objective ``x' A x`` by less than the
      stage tolerance, otherwise the support of ``T_8k(s)`` joins ``C`` and the
      stage goes on from it (after ``_SCREEN_ROUNDS`` such rounds, over all
      features);
    - the later stages (``4k``, ``2k``, ``k``) start from ``T_8k(s)``, with the
      ``_SCREEN_REFRESH * 4k`` (= ``8k``) largest magnitudes of ``s`` added to ``C``; the
      support eigen-solves are left to the last stage;
    - their end point ``x`` (the leading eigenvector of the covariance
      restricted to its support) is certified by one full product
      (:func:`_certificate_product`: through the single-precision copy with a
      rigorous error bound, in double precision wherever the bound cannot
      decide): ``x`` is a fixed point of the truncated iteration on all
      features when the ``k`` largest magnitudes of ``A x`` lie on its support.
      Otherwise the features of ``A x`` that beat the support join ``C`` and
      the iterations go on from ``T_k(A x)``; after ``_SCREEN_ROUNDS`` failed
      certificates they go on over all features (:func:`_tpower_kernel`).

    No working-set point is returned uncertified (the iterations over all
    features end as in :func:`_tpower_kernel`).  On spiked data the result
    is that of :func:`_cascade` over all features; where the supports are
    barely identifiable (weak spikes) the two may end at different fixed
    points, which found the true support about equally often in seeded
    trials.  Returns ``(x, rayleigh, n_iter, converged, image)`` with
    ``image = (Xt x, Xt' Xt x, bound)`` (unscaled; ``bound`` bounds the error
    of each entry of the second; ``None`` when the last iterations ran over
    all features), which the deflation reuses.
    """
    p = op.shape[0]
    kk = 8 * k
    stage_tol = max(tol, 1e-3)
    x = _truncate(x0, kk)
    if x is None:
        return None, 0.0, 0, True, None
    s = None
    if first is not None:  # the first product computed beside the other components'
        V, S, kks = first
        i = int(np.argmax(np.abs(V.T @ x0)))
        if kks[i] == k:
            s = S[:, i]
    if s is None:
        s = op.matvec(x)
    n_iter = 1
    C = np.sort(_top(s, min(p, _SCREEN_FACTOR * kk)))
    pre = None if ahead is None else ahead.pop("gathered", None)
    if pre is not None and np.all(np.isin(C, pre[0], assume_unique=True)):
        sub = _ColumnSubset(op, pre[0], pre[1])  # gathered by the previous component
        sub.extend(_top(x0, kk))
    else:
        sub = _ColumnSubset(op, np.union1d(_top(x0, kk), C))
    start = x0
    for _ in range(_SCREEN_ROUNDS):  # first stage on C, ended where a full iteration stops
        xc, _, it, _ = _tpower_kernel(sub.matvec, start[sub.C], kk, max_iter, stage_tol,
                                      restricted=_coarse_polisher(sub, kk), rayleigh=False)
        n_iter += it + 1
        if xc is None:
            start = None
            break
        x = sub.embed(xc)
        if ahead is not None and "next" in ahead:  # gather the next working set in this pass
            nxt = ahead.pop("next")
            s, cols = sub.full_matvec(xc, nxt)
            ahead["gathered"] = (nxt, cols)
        else:
            s = sub.full_matvec(xc)
        start = _truncate(s, kk)
        if start is None:
            break
        f, f_new = float(x @ s), float(start @ s)
        if abs(f_new - f) <= stage_tol * max(abs(f_new), np.finfo(float).tiny):
            break
        sub.extend(np.flatnonzero(start))
    else:  # the working set keeps missing features: the first stage over all of them
        last = [s]

        def matvec(v):
            last[0] = op.matvec(v)
            return last[0]

        x, _, it, _ = _tpower_kernel(matvec, start, kk, max_iter, stage_tol,
                                     restricted=_polisher(op, kk), rayleigh=False)
        n_iter += it
        start, s = x, last[0]
    if start is None:  # A annihilates the iterate: decide on all features
        x, f, it, conv = _tpower_kernel(op.matvec, x0, k, max_iter, tol, op.quad,
                                        _polisher(op, k))
        return x, f, n_iter + it, conv, None
    sub.extend(np.union1d(np.flatnonzero(start), _top(s, min(p, _SCREEN_REFRESH * 4 * k))))
    x, f, it, conv = _cascade(sub.matvec, start[sub.C], k, sub.C.size, max_iter, tol, sub.quad,
                              sub.restricted, stages=(4 * k, 2 * k, k),
                              stage_polish=False)
    n_iter += it
    for _ in range(_SCREEN_ROUNDS):
        if x is None:  # A annihilates the working set: decide on all features
            break
        xf = sub.embed(x)
        g, e, z = _certificate_product(op, xf)
        n_iter += 1
        S = np.flatnonzero(xf)
        mag = np.abs(g)
        low = mag[S].min()
        mag[S] = -1.0
        if not mag.max() > low:  # the k largest magnitudes of A x lie on S: a fixed point
            return xf, f, n_iter, conv, (z, g, e)
        # not a fixed point: the features that beat the support join C; go on from T_k(A x)
        sub.extend(np.flatnonzero(mag > low))
        x, f, it, conv = _tpower_kernel(sub.matvec, g[sub.C], k, max_iter, tol, sub.quad,
                                        sub.restricted)
        n_iter += it
    start = sub.embed(x) if x is not None else x0
    x, f, it, conv = _tpower_kernel(op.matvec, start, k, max_iter, tol, op.quad,
                                    _polisher(op, k))
    return x, f, n_iter + it, conv, None


def _certificate_product(op, x):
    """``(g, e, z)``: ``g = Xt' Xt x`` (unscaled) decided exactly where it matters.

    ``z = Xt x`` from the support's columns (double precision); ``g`` by one
    pass over the iteration copy with a rigorous error bound ``e``
    (:meth:`_DataOperator.rmatvec_bounded`), then recomputed in double
    precision on the support and on every feature whose bound lets it reach
    the smallest magnitude on the support (``e = 0`` there).  The comparison
    of the ``k`` largest magnitudes of ``g`` with the support is then exact:
    elsewhere ``|Xt' z| <= |g| + e`` lies below the support's smallest value.
    """
    S = np.flatnonzero(x)
    Z = op.columns(S)
    z = Z @ x[S]
    g, e = op.rmatvec_bounded(z)
    g[S] = Z.T @ z
    e[S] = 0.0
    low = np.abs(g[S]).min()
    hi = np.abs(g) + e
    hi[S] = -1.0
    cand = np.flatnonzero(hi >= low)
    for j in range(0, cand.size, 4096):  # exact where the bound cannot decide
        J = cand[j:j + 4096]
        g[J] = op.columns(J).T @ z
        e[J] = 0.0
    return g, e, z


def _coarse_polisher(sub, k):
    """Support eigen-solves of an intermediate stage on a working set (single precision)."""
    return sub.coarse_restricted if k <= _POLISH_MAX_K else None


def _lowrank_gram(Xf, U, B, q):
    """``(Xt q, Xt' Xt q)`` (float64) for ``Xt = Xf - U B``, reading ``Xf`` once.

    The fused kernel multiplies each block of rows of ``Xf`` by ``q`` and,
    while the block is in cache, adds its transpose times its part of
    ``Xt q``; the low-rank term enters as the shift ``U (B q)`` and the
    correction ``B' (U' Xt q)``.  ``U`` is None for no low-rank term.
    """
    qf = q.astype(Xf.dtype)
    shift = (np.zeros(Xf.shape[0]) if U is None else U @ (B @ q)).astype(Xf.dtype)
    if Xf.flags.c_contiguous and Xf.shape[0] > 0:
        y = np.empty(Xf.shape[0], dtype=Xf.dtype)
        z = np.empty(Xf.shape[1], dtype=Xf.dtype)
        _gram_matvec(Xf, qf, shift, y, z, _fused_rows(Xf))
    else:  # another layout: two products
        y = Xf @ qf - shift
        z = Xf.T @ y
    y = y.astype(np.float64)
    z = z.astype(np.float64)
    if U is not None:
        z -= B.T @ (U.T @ y)
    return y, z


class _ColumnSubset:
    """``A[C, C]`` of a data operator through the columns ``Xt[:, C]``, gathered once.

    Products go through the iteration copy's columns (contiguous, read once
    per product by the fused kernel); ``restricted`` and ``quad`` are the
    parent's (double precision) on the features ``C[idx]``.
    """

    def __init__(self, op, C, Xc=None):
        self.op = op
        self.C = np.asarray(C)
        self.Xc = np.take(op.Xf, self.C, axis=1) if Xc is None else Xc  # Xc: gathered before
        U, B = op._lowrank()
        self.U = U
        self.Bc = None if B is None else np.ascontiguousarray(B[:, self.C])

    def extend(self, features):
        """Add the features not yet in ``C`` (their columns gathered and appended)."""
        new = np.setdiff1d(features, self.C)
        if new.size:
            self.C = np.concatenate([self.C, new])
            self.Xc = np.concatenate([self.Xc, np.take(self.op.Xf, new, axis=1)], axis=1)
            if self.Bc is not None:
                self.Bc = np.concatenate([self.Bc, self.op._lowrank()[1][:, new]], axis=1)

    def full_matvec(self, xc, gather=None):
        """``A x`` over all features for ``x`` supported on ``C`` (``xc``: its values on ``C``).

        ``Xt x`` comes from the gathered columns; ``Xt' (Xt x)`` is one
        product with the iteration copy (a pass that reads the data once),
        which also gathers the columns ``gather`` when given
        (:meth:`_DataOperator.rmatvec_iter`).
        """
        y = (self.Xc @ xc.astype(self.Xc.dtype)).astype(np.float64)
        if self.U is not None:
            y -= self.U @ (self.Bc @ xc)
        return self.op.rmatvec_iter(y, gather)

    def embed(self, xc):
        """The vector over all features that is ``xc`` on ``C`` and zero elsewhere."""
        x = np.zeros(self.op.shape[0])
        x[self.C] = xc
        return x

    def matvec(self, x):
        return _lowrank_gram(self.Xc, self.U, self.Bc, x)[1] * self.op.scale

    def restricted(self, idx):
        return self.op.restricted(self.C[idx])

    def coarse_restricted(self, idx):
        """``A[C[idx], C[idx]]`` from the gathered columns (the iteration precision)."""
        Z = np.take(self.Xc, idx, axis=1)
        if self.U is not None:
            Z = Z - (self.U @ self.Bc[:, idx]).astype(Z.dtype)
        M = (Z.T @ Z).astype(np.float64)
        return 0.5 * (M + M.T) * self.op.scale

    def quad(self, x):
        return self.op.quad(self.embed(x))


# Largest support on which the truncated iterations are finished by an exact
# eigen-solve of the k x k block (O(N k^2 + k^3); above, plain iterations).
_POLISH_MAX_K = 256
# Data of at least this many entries iterate through a single-precision copy.
_FAST_MIN_SIZE = 1 << 22
# Rows whose centre and spread choose the half-precision copy's centre and scales.
_HALF_HEAD_ROWS = 64
# Rows of data kept in cache between the two products of the fused kernel.
_FUSED_BLOCK_BYTES = 1 << 19
# Gathered support columns X0[:, S] kept for reuse (eigen-solves, certificates, scores).
_COLUMN_CACHE_BYTES = 1 << 25
# Screened cascade (init="eig" on data of at least _SCREEN_MIN_SIZE entries with
# n_features >= _SCREEN_MIN_RATIO * k): the working set takes _SCREEN_FACTOR * 8k
# features of the first product and _SCREEN_REFRESH * 4k of the first stage's
# check; at most _SCREEN_ROUNDS failed checks before the iterations go on over
# all features.
_SCREEN_MIN_SIZE = 1 << 22
_SCREEN_MIN_RATIO = 32
_SCREEN_FACTOR = 2
_SCREEN_REFRESH = 2
_SCREEN_ROUNDS = 3


class _DataOperator:
    """``A = Xt' Xt / (n - 1)`` through products with the deflated data, never formed.

    ``Xt = X0 - U B'`` is kept implicitly: ``X0`` is the data (read, never
    written; not copied when it is C-ordered float64), the low-rank term holds
    the centring (``1 mean'``, when ``mean`` is given) and one rank-one term
    per deflation (spec 5.3, "never form I - xx'").  A product then costs one
    pass over ``X0`` plus ``O((N + p) r)`` for the ``r`` low-rank terms, and a
    deflation costs one product instead of an ``O(N p)`` update of a copy.

    A Schur deflation's ``b = Xt' z / z'z`` may come from a single-precision
    product (the certificate of a working-set component): its entries then
    carry an error bound (``_Berr``), and every exact use -- the columns
    ``Xt[:, idx]`` behind the support eigen-solves, the scores and the
    certificates -- first recomputes the entries it needs in double precision
    (``O(N |idx|)`` per term).  The iteration products use ``b`` as it is.
    """

    def __init__(self, X0, mean=None, colsq=None, fast=False, Xf=None, half=None):
        self.X0 = X0
        self._half = half  # (H, centre, scale) made by the caller beside Xf, or None
        self.scale = 1.0 / max(X0.shape[0] - 1, 1)
        self._U = []  # columns of U (length N)
        self._B = []  # rows of B' (length p)
        self._Berr = []  # per term: None (exact) or a bound on |B - exact B| per feature
        self._fro = None  # ||Xt||_F^2, computed on first use
        self._diag = None  # diag(Xt'Xt), kept up to date by Schur deflations
        self._centred = mean is not None  # term 0 is the centring 1 mean'
        # column norms of X0 (the certificates' error bounds): from the column sums
        self._colnorm = None if colsq is None or mean is None else np.sqrt(colsq)
        self._cache = {}  # columns X0[:, idx] gathered, keyed by idx (supports)
        if mean is not None:
            self._U.append(np.ones(X0.shape[0]))
            self._B.append(np.asarray(mean, dtype=np.float64))
            self._Berr.append(None)
            if colsq is not None:  # diag((X0 - 1 m')'(X0 - 1 m')) = colsq - N m^2
                self._diag = colsq - X0.shape[0] * np.asarray(mean, dtype=np.float64) ** 2
        # Single-precision copy for the iteration products (Lanczos start, A x of
        # the truncated iterations): half the memory traffic of each pass.  The
        # result does not depend on it beyond the choice of supports: every
        # component is finished by an exact double-precision eigen-solve on its
        # support, and deflations, variances and scores use the data itself.
        if not fast:
            self.Xf = X0
        elif Xf is not None:  # made by the caller in the same pass as the column sums
            self.Xf = Xf
        else:
            self.Xf = X0.astype(np.float32)

    @property
    def shape(self):
        return (self.X0.shape[1], self.X0.shape[1])

    @property
    def n_samples(self):
        return self.X0.shape[0]

    def _lowrank(self):
        if not self._U:
            return None, None
        return np.column_stack(self._U), np.vstack(self._B)

    @property
    def X(self):
        """The deflated data, materialised (small problems and tests only)."""
        U, B = self._lowrank()
        return self.X0 - U @ B if U is not None else np.array(self.X0)

    def _raw_columns(self, idx):
        """``X0[:, idx]`` (double precision), kept for the next call with the same ``idx``."""
        key = idx.tobytes()
        D = self._cache.get(key)
        if D is None:
            D = np.take(self.X0, idx, axis=1)
            if D.nbytes <= _COLUMN_CACHE_BYTES // 8:
                if sum(v.nbytes for v in self._cache.values()) + D.nbytes > _COLUMN_CACHE_BYTES:
                    self._cache.clear()
                self._cache[key] = D
        return D

    def columns(self, idx):
        """``Xt[:, idx]`` in double precision (exact low-rank terms), ``O(N |idx| r)``.

        Entries of Schur terms known only to single precision are recomputed
        first: ``b[idx] = Xt_r[:, idx]' z / z'z`` with ``Xt_r`` the data deflated
        by the earlier terms (exact by then).
        """
        idx = np.asarray(idx, dtype=np.intp)
        D = self._raw_columns(idx)
        for u, b, err in zip(self._U, self._B, self._Berr):
            if err is not None:
                need = err[idx] > 0
                if need.any():
                    sel = idx[need]
                    b[sel] = (D[:, need].T @ u) / float(u @ u)
                    err[sel] = 0.0
            D = D - np.outer(u, b[idx])
        return D

    def _exact_terms(self):
        """Make every low-rank term exact over all features (one double-precision pass each)."""
        for r, err in enumerate(self._Berr):
            if err is not None:
                u = self._U[r]
                g = self.X0.T @ u
                for ur, br in zip(self._U[:r], self._B[:r]):
                    g -= br * float(ur @ u)
                self._B[r][:] = g / float(u @ u)
                self._Berr[r] = None

    def matmat(self, W):
        """``Xt @ W`` for ``W`` of shape (p, L) (or a vector; a sparse one costs O(N nnz))."""
        if W.ndim == 1 and 4 * np.count_nonzero(W) < W.size:
            idx = np.flatnonzero(W)
            return self.columns(idx) @ W[idx]
        self._exact_terms()
        U, B = self._lowrank()
        Y = self.X0 @ W
        if U is not None:
            Y -= U @ (B @ W)
        return Y

    def rmatmat(self, Y):
        """``Xt' @ Y`` for ``Y`` of shape (N, L) (or a vector)."""
        self._exact_terms()
        U, B = self._lowrank()
        Z = self.X0.T @ Y
        if U is not None:
            Z -= B.T @ (U.T @ Y)
        return Z

    def rmatvec_iter(self, y, gather=None):
        """``Xt' y / (n - 1)`` through the iteration copy (one pass, its precision).

        ``gather`` (column indices), when given: also returns ``Xf[:, gather]``,
        gathered in the same pass (``(product, columns)``).
        """
        Xf = self.Xf
        yf = y.astype(Xf.dtype)
        cols = None
        if gather is None:
            out = Xf.T @ yf
        elif Xf.flags.c_contiguous and Xf.shape[0] > 0:
            gather = np.asarray(gather, dtype=np.intp)
            out = np.empty(Xf.shape[1], dtype=Xf.dtype)
            cols = np.empty((Xf.shape[0], gather.size), dtype=Xf.dtype)
            _rmatvec_gather(Xf, yf, out, gather, cols, _fused_rows(Xf))
        else:
            out, cols = Xf.T @ yf, np.take(Xf, gather, axis=1)
        out = out.astype(np.float64)
        for ur, br in zip(self._U, self._B):
            out -= br * float(ur @ y)
        out *= self.scale
        return out if gather is None else (out, cols)

    def rmatvec_bounded(self, z):
        """``(g, e)``: ``g ~ Xt' z`` through the iteration copy, ``|g - Xt' z| <= e``.

        One pass over the single-precision copy (half the memory traffic of
        the data).  The bound is rigorous: rounding ``X`` and ``z`` to single
        precision and summing ``N`` products in any order err by at most
        ``(N + 3) u ||X0[:, j]|| ||z||`` per feature (``u = 2^-24``, with a
        1 % margin), plus the bounds of the low-rank terms known to single
        precision only.  With double-precision products ``e`` holds those
        terms only.
        """
        Xf = self.Xf
        e = np.zeros(self.X0.shape[1])
        if Xf.dtype == np.float64:
            g = self.X0.T @ z
        else:
            if self._colnorm is None:
                self._colnorm = np.sqrt(np.einsum("ij,ij->j", self.X0, self.X0))
            u = float(np.finfo(Xf.dtype).eps) / 2
            g = (Xf.T @ z.astype(Xf.dtype)).astype(np.float64)
            e += 1.01 * (Xf.shape[0] + 3) * u * float(np.linalg.norm(z)) * self._colnorm
        for ur, br, err in zip(self._U, self._B, self._Berr):
            c = float(ur @ z)
            g -= br * c
            if err is not None:
                e += err * abs(c)
        return g, e

    def matvec(self, x):
        """``A x`` through the iteration copy; a k-sparse x gathers its k columns."""
        idx = np.flatnonzero(x)
        if 32 * idx.size >= x.size:  # gathering the columns would read most of the data
            return self.gram_matvec(x)[1] * self.scale
        U, B = self._lowrank()
        Xf = self.Xf
        z = (np.take(Xf, idx, axis=1) @ x[idx].astype(Xf.dtype)).astype(np.float64)
        if U is not None:
            z -= U @ (B[:, idx] @ x[idx])
        out = (Xf.T @ z.astype(Xf.dtype)).astype(np.float64)
        if U is not None:
            out -= B.T @ (U.T @ z)
        return out * self.scale

    def gram_matvec(self, q):
        """``(Xt q, Xt' Xt q)`` (unscaled) through the iteration copy, reading it once.

        The fused kernel multiplies each block of rows of ``X`` by ``q`` and,
        while the block is in cache, adds its transpose times its part of
        ``Xt q`` to the result: one pass over the data instead of two.
        """
        U, B = self._lowrank()
        return _lowrank_gram(self.Xf, U, B, q)

    def half_start(self):
        """The half-precision copy of the Lanczos start, or None where it does not apply.

        ``(H, inv, d)``: ``H = float16((Xf - 1 c') diag(s))`` (uint16 bit
        patterns), ``inv = 1 / s`` and ``d = c - mean``, so that
        ``Xt ~ H diag(inv) + 1 d'``.  Each column is scaled by a power of two
        (its centred norm to at most ``2^14``: no entry overflows, and every
        entry has float16's relative precision, 2^-11, whatever the column's
        scale).  Made by the caller in the column-statistics pass (centre and
        scale from the first rows, checked against the whole columns) or here
        from the single-precision copy in one pass (exact centre and scale).
        CPUs with AVX-512 only, before any deflation (the start is on the
        undeflated operator).
        """
        if (self.Xf is self.X0 or self.Xf.dtype != np.float32 or not self.Xf.flags.c_contiguous
                or len(self._U) != int(self._centred) or not _half_supported()):
            return None
        mean = self._B[0] if self._centred else np.zeros(self.X0.shape[1])
        if self._half is not None:
            H, c, s = self._half
        else:
            d = self.diag() / self.scale  # centred column sums of squares
            c = mean.astype(np.float32)
            s = _half_scales(np.sqrt(d), 2.0 ** 14)
            H = np.empty(self.Xf.shape, dtype=np.uint16)
            _half_copy(self.Xf, c, s, H)
        self._half = None  # the start runs once: the copy goes with it
        inv = np.divide(1.0, s, out=np.zeros(s.shape), where=s > 0).astype(np.float32)
        return H, inv, c.astype(np.float64) - mean

    @staticmethod
    def half_gram_matvec(half, q):
        """``(Xt q, Xt' Xt q)`` (unscaled) through the half copy of :meth:`half_start`."""
        H, inv, d = half
        v = q.astype(np.float32) * inv
        y = np.empty(H.shape[0], dtype=np.float32)
        z = np.empty(H.shape[1], dtype=np.float32)
        _half_gram_matvec(H, v, float(d @ q), y, z)
        y = y.astype(np.float64)
        return y, (z * inv).astype(np.float64) + d * float(np.sum(y))

    def gram_matmat(self, Q):
        """``Xt' Xt Q`` (unscaled) for ``Q`` of shape (p, b), one pass over the iteration copy."""
        U, B = self._lowrank()
        Xf = self.Xf
        Qt = np.ascontiguousarray(Q.T, dtype=Xf.dtype)
        if U is not None:
            shift = np.ascontiguousarray((U @ (B @ Q)).T, dtype=Xf.dtype)
        else:
            shift = np.zeros((Q.shape[1], Xf.shape[0]), dtype=Xf.dtype)
        if Xf.flags.c_contiguous and Xf.shape[0] > 0:
            Y = np.empty((Q.shape[1], Xf.shape[0]), dtype=Xf.dtype)
            Z = np.empty((Q.shape[1], Xf.shape[1]), dtype=Xf.dtype)
            _gram_matmat(Xf, Qt, shift, Y, Z, _fused_rows(Xf))
        else:  # another layout: two products
            Y = Qt @ Xf.T - shift
            Z = Y @ Xf
        Y = Y.T.astype(np.float64)
        Z = Z.T.astype(np.float64)
        if U is not None:
            Z -= B.T @ (U.T @ Y)
        return Y, Z

    def quad(self, x):
        """``x' A x = ||Xt x||^2 / (n - 1)`` (a k-sparse x: O(N k))."""
        idx = np.flatnonzero(x)
        z = self.columns(idx) @ x[idx]
        return float(z @ z) * self.scale

    def restricted(self, idx):
        """``A[idx, idx] = Xt[:, idx]' Xt[:, idx] / (n - 1)`` (O(N k^2))."""
        Z = self.columns(idx)
        M = Z.T @ Z
        return 0.5 * (M + M.T) * self.scale

    def scores(self, V):
        """Centred scores ``(X - 1 mean') V'`` of sparse loadings, from their supports."""
        S = np.empty((self.X0.shape[0], V.shape[0]))
        for c, v in enumerate(V):
            idx = np.flatnonzero(v)
            S[:, c] = self._raw_columns(idx) @ v[idx]
            if self._centred:
                S[:, c] -= float(self._B[0][idx] @ v[idx])
        return S

    def diag(self):
        if self._diag is None:
            X0 = self.X0
            d = np.einsum("ij,ij->j", X0, X0)
            U, B = self._lowrank()
            if U is not None:  # diag(Xt'Xt) = diag(X0'X0) - 2 diag(X0'U B') + diag(B U'U B')
                G = X0.T @ U
                d = d - 2.0 * np.einsum("pi,ip->p", G, B) + np.einsum("ip,ij,jp->p", B,
                                                                       U.T @ U, B)
            self._diag = d
        return np.maximum(self._diag, 0.0) * self.scale

    def trace(self):
        # ||Xt||_F^2 once, then updated by each deflation (no pass over the data)
        if self._fro is None:
            self._fro = float(np.sum(self.diag())) / self.scale
        return max(self._fro, 0.0) * self.scale

    def deflate(self, x, scheme, Q, image=None):
        """Deflate by the loading ``x``; ``image``: ``(Xt x, Xt' Xt x, bound)`` when known.

        ``bound`` (or ``None``) bounds the error of each entry of ``Xt' Xt x``.
        """
        self.trace()  # make sure ||Xt||_F^2 is known before the update
        if scheme != "schur":
            self._diag = None  # recomputed (one pass) when next asked for
        if scheme == "projection":  # Xt - z x', z = Xt x: ||.||_F^2 drops by ||z||^2
            z = self.matmat(x) if image is None else image[0]
            self._U.append(z)
            self._B.append(np.array(x, dtype=np.float64))
            self._Berr.append(None)
            self._fro -= float(z @ z)
        elif scheme == "schur":  # Xt - z b', b = Xt'z / z'z: drops by z'z ||b||^2
            z = self.matmat(x) if image is None else image[0]
            zz = float(z @ z)
            if zz > 0:
                b = (self.rmatmat(z) if image is None else image[1]) / zz
                err = None if image is None or image[2] is None else image[2] / zz
                self._U.append(z)
                self._B.append(b)
                self._Berr.append(err if err is not None and err.any() else None)
                self._fro -= zz * float(b @ b)
                if self._diag is not None:  # Xt'z = zz b: diag drops by zz b^2
                    self._diag = self._diag - zz * b * b
        elif scheme == "orthogonal_projection":
            q = _orth_direction(x, Q)
            if q is not None:
                z = self.matmat(q)
                self._U.append(z)
                self._B.append(q)
                self._Berr.append(None)
                self._fro -= float(z @ z)
        else:  # hotelling has no data form: A - (x'Ax) xx' may be indefinite
            raise ValueError("deflation='hotelling' needs the covariance; it has no data form.")


class _CovOperator:
    """A dense symmetric PSD matrix (deflated in place)."""

    def __init__(self, A):
        self.A = A

    @property
    def shape(self):
        return self.A.shape

    def matvec(self, x):
        return self.A @ x

    def quad(self, x):
        idx = np.flatnonzero(x)
        return float(x[idx] @ self.A[np.ix_(idx, idx)] @ x[idx])

    def restricted(self, idx):
        return self.A[np.ix_(idx, idx)]

    def diag(self):
        return np.diag(self.A).copy()

    def trace(self):
        return float(np.trace(self.A))

    def deflate(self, x, scheme, Q, image=None):
        A = self.A
        if scheme == "hotelling":
            A -= float(x @ A @ x) * np.outer(x, x)
        elif scheme == "projection":
            _project_both_sides(A, x)
        elif scheme == "schur":
            Ax = A @ x
            xAx = float(x @ Ax)
            if xAx > 0:
                A -= np.outer(Ax, Ax) / xAx
        else:  # orthogonal_projection
            q = _orth_direction(x, Q)
            if q is not None:
                _project_both_sides(A, q)
        A += A.T
        A *= 0.5  # keep exact symmetry against round-off


def _project_both_sides(A, x):
    # (I - xx') A (I - xx') = A - x(x'A) - (Ax)x' + (x'Ax) xx', without forming I - xx'
    Ax = A @ x
    xAx = float(x @ Ax)
    A -= np.outer(x, Ax) + np.outer(Ax, x) - xAx * np.outer(x, x)


def _orth_direction(x, Q):
    """``(I - QQ')x / ||.||`` with Q the orthonormal basis of the previous loadings."""
    q = x.copy()
    for _ in range(2):  # Gram-Schmidt twice is enough (Kahan)
        if Q:
            B = np.array(Q).T
            q -= B @ (B.T @ q)
    nrm = np.linalg.norm(q)
    if nrm <= 1e-12:
        return None
    q /= nrm
    Q.append(q)
    return q


# Lanczos start: residual tolerance of the leading Ritz pairs (relative to the
# largest Ritz value) and the most steps, ``_LANCZOS_STEPS_PER_COMPONENT`` per
# component plus ``_LANCZOS_EXTRA_STEPS``.
_LANCZOS_TOL = 1e-3
_LANCZOS_STEPS_PER_COMPONENT = 4
_LANCZOS_EXTRA_STEPS = 40


def _exact_start_available(op):
    """Small problems: the exact leading eigenvector is cheaper than a Lanczos start."""
    if isinstance(op, _CovOperator):
        return op.shape[0] <= 1000
    return min(op.X0.shape) <= 300


def _start_subspace(op, n_components):
    """Orthonormal basis (p, m) of a Krylov subspace holding the leading eigenvectors.

    Lanczos iteration with full reorthogonalisation on the undeflated
    operator, computed once for all components, from a Gaussian vector with
    a fixed seed (the start is deterministic).  Each step is one product with
    the operator: from data, ``Xt' (Xt q)`` by the fused kernel, one pass over
    the data; on large data and CPUs with AVX-512, a pass over a half-precision
    copy of the centred data (:meth:`_DataOperator.half_start`: half the bytes
    of the single-precision copy; the start only chooses where the truncated
    iterations begin, every component is certified and finished in double
    precision).  It stops once the ``n_components`` leading Ritz pairs have
    residuals ``||A w - theta w|| <= _LANCZOS_TOL * theta_1`` (read from the
    tridiagonal matrix, no extra product), when the Krylov space is exhausted,
    or after ``4 n_components + 40`` steps.  A single Krylov sequence of
    degree m resolves the small gaps of weak spikes (eigenvalues just above
    the noise bulk) far better than a block of the same number of products.
    Returns ``(W, XW, r0)``: the Lanczos basis, from data also ``Xt W`` (the
    first factor of every step, kept) and the number ``r0`` of low-rank terms
    of ``Xt`` at that time.
    """
    p = op.shape[0]
    data = isinstance(op, _DataOperator)
    m_max = p
    if data:
        m_max = min(m_max, op.n_samples)
    m_max = min(m_max, _LANCZOS_STEPS_PER_COMPONENT * n_components + _LANCZOS_EXTRA_STEPS)
    Q = np.zeros((m_max, p))  # rows: the Lanczos vectors
    images = []
    alpha, beta = [], []
    q = np.random.default_rng(0).standard_normal(p)
    Q[0] = q / np.linalg.norm(q)
    half = op.half_start() if data else None
    m = 0
    while m < m_max:
        if half is not None:
            y, w = op.half_gram_matvec(half, Q[m])
            images.append(y)
        elif data:
            y, w = op.gram_matvec(Q[m])
            images.append(y)
        else:
            w = op.A @ Q[m]
        m += 1
        a = float(Q[m - 1] @ w)
        alpha.append(a)
        for _ in range(2):  # full reorthogonalisation, twice (Kahan)
            w -= Q[:m].T @ (Q[:m] @ w)
        b = float(np.linalg.norm(w))
        T = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        theta, S = np.linalg.eigh(T)
        top = max(theta[-1], 0.0)
        nc = min(n_components, m)
        residuals = b * np.abs(S[-1, ::-1][:nc])
        if (m >= n_components and np.all(residuals <= _LANCZOS_TOL * top)) or m == m_max:
            break
        if not b > 1e-10 * max(top, np.finfo(float).tiny):
            break  # invariant subspace: the Krylov space holds the whole spectrum it can reach
        beta.append(b)
        Q[m] = w / b
    W = Q[:m].T
    if data:
        return W, np.column_stack(images), len(op._U)
    return W, None, 0


def _ritz_start(op, W, XW=None, r0=0):
    """Leading Ritz vector of the (deflated) operator on ``span(W)``: ``W u``.

    Rayleigh-Ritz on the current operator, so that every component starts
    from the leading eigenvector of its *deflated* covariance restricted to
    the Lanczos subspace (data: top eigenvector of ``M' M`` with ``M = Xt W``,
    from the Lanczos ``X W`` less the deflations made since; covariance:
    ``eigh`` of ``W' A W``).
    """
    if isinstance(op, _DataOperator):
        if XW is None:
            M = op.matmat(W)
        else:
            M = XW
            if len(op._U) > r0:
                U = np.column_stack(op._U[r0:])
                M = M - U @ (np.vstack(op._B[r0:]) @ W)
        G = M.T @ M  # leading right singular vector of M = top eigenvector of M'M
        u = _top_eigenpair(0.5 * (G + G.T))[1][:, 0]
    else:
        H = W.T @ (op.A @ W)
        u = np.linalg.eigh(0.5 * (H + H.T))[1][:, -1]
    return W @ u


def _leading_eigenvector(op, krylov=None):
    """Leading eigenvector of the operator: exact when small, else a Ritz vector.

    Small problems use dense ``eigh`` / ``svd``; large ones the leading Ritz
    vector on the Lanczos subspace (``krylov``: the output of
    :func:`_start_subspace`, computed here when not given).  It is only a
    start: the truncated iterations (and the cascade) refine it.
    """
    if isinstance(op, _CovOperator) and op.shape[0] <= 1000:
        w, V = np.linalg.eigh(op.A)
        return V[:, -1]
    if isinstance(op, _DataOperator) and min(op.X0.shape) <= 300:
        _, _, Vt = np.linalg.svd(op.X, full_matrices=False)
        return Vt[0]
    if krylov is None:
        krylov = _start_subspace(op, 1)
    return _ritz_start(op, *krylov)


def _init_vector(op, init, k, krylov=None):
    p = op.shape[0]
    if init == "maxdiag":  # the authors' initType = 1
        x0 = np.zeros(p)
        x0[int(np.argmax(op.diag()))] = 1.0
        return x0
    if init == "topk_diag":  # the authors' initType = 2
        x0 = np.zeros(p)
        d = op.diag()
        x0[np.argsort(-d, kind="stable")[:k]] = 1.0
        return x0 / np.sqrt(k)
    return _leading_eigenvector(op, krylov)


def _screened(op, k):
    """Whether the eigenvector start's cascade runs on a working set (large data only)."""
    return (isinstance(op, _DataOperator) and op.X0.size >= _SCREEN_MIN_SIZE
            and op.shape[0] >= _SCREEN_MIN_RATIO * k and k <= _POLISH_MAX_K)


def _fused_rows(X):
    """Rows per block of the fused kernel: about ``_FUSED_BLOCK_BYTES`` of ``X``.

    A multiple of 4 when there are at least 4 (the BLAS kernels take the
    columns of a row-major block four at a time; a remainder costs as much
    as a pass).  On 2,000 x 10,000 single precision, blocks of 12 rows
    (480 KiB) take 3.3 ms per pass against 3.8 ms for blocks of 4 rows.
    """
    rows = max(1, _FUSED_BLOCK_BYTES // max(X.shape[1] * X.itemsize, 1))
    return rows - rows % 4 if rows >= 4 else rows


def _half_scales(norms, top):
    """Powers of two ``s`` with ``norms * s <= top`` (``s = 1`` where a norm is zero)."""
    e = np.floor(np.log2(top / np.where(norms > 0, norms, top)))
    return np.exp2(e).astype(np.float32)


def _column_stats(X, copy):
    """Column sums, column sums of squares and (``copy``) the single-precision copy of X.

    One pass over a C-ordered X (compiled kernel); NumPy otherwise.  With
    ``copy`` on CPUs with AVX-512 the same pass also makes the half-precision
    copy of the Lanczos start (:meth:`_DataOperator.half_start`), centred and
    scaled by estimates from the first rows; returns ``(sums, sumsq, Xf,
    half)`` with ``half = (H, centre, scale)``, or None where the first rows
    misjudge a column (an entry out of float16's range, a scaled norm near
    its subnormals, a centre far from the mean): the start then makes its
    copy from ``Xf`` with the exact centre and scales.
    """
    n, p = X.shape
    if not (X.flags.c_contiguous and X.size):
        return (X.sum(axis=0), np.einsum("ij,ij->j", X, X),
                X.astype(np.float32) if copy else None, None)
    sums, sumsq = np.empty(p), np.empty(p)
    Xf = np.empty((n, p) if copy else (0, 0), dtype=np.float32)
    if not (copy and X.dtype == np.float64 and _half_supported()):
        _column_stats_kernel(X, sums, sumsq, Xf)
        return sums, sumsq, (Xf if copy else None), None
    with np.errstate(all="ignore"):  # non-finite data: rejected by the caller
        head = X[:min(n, _HALF_HEAD_ROWS)]
        centre = head.mean(axis=0)
        est = np.sqrt(np.einsum("ij,ij->j", head - centre, head - centre) * (n / head.shape[0]))
        centre = centre.astype(np.float32)
        scale = _half_scales(est, 2.0 ** 12)
        H = np.empty((n, p), dtype=np.uint16)
        big = _column_stats_half(X, sums, sumsq, Xf, centre, scale, H)
        # the estimates must hold for the whole columns: entries in range (|h| <= 2^15),
        # centred norms scaled to [2^4, 2^15] (precision far from float16's subnormals)
        # and the centre within 2^4 centred norms of the mean (precision of |x - c|)
        mean = sums / n
        norm = np.sqrt(np.maximum(sumsq - n * mean ** 2, 0.0))
        sn = norm * scale
        live = norm > 0
        ok = (big <= 2.0 ** 15 and np.all((sn[live] >= 2.0 ** 4) & (sn[live] <= 2.0 ** 15))
              and np.all(np.abs(centre - mean)[live] <= 2.0 ** 4 * norm[live])
              and np.all(np.abs(centre - mean)[~live] == 0))
    return sums, sumsq, Xf, ((H, centre, scale) if ok else None)


def _polisher(op, k):
    """``op.restricted`` when the support is small enough for an exact eigen-solve."""
    return op.restricted if k <= _POLISH_MAX_K else None


def _sign_flip(x):
    """Make the largest-magnitude entry positive (deterministic output)."""
    j = int(np.argmax(np.abs(x)))
    return -x if x[j] < 0 else x


def _adjusted_variance(G):
    """Zou-Hastie-Tibshirani adjusted variance from the score Gram ``G = V A V'``.

    ``R_jj^2`` of the thin QR of the scores equals ``G_jj - g_j' G_<j^+ g_j``
    (the part of component j's score not explained by the previous ones).
    """
    m = G.shape[0]
    out = np.empty(m)
    for j in range(m):
        if j == 0:
            out[j] = G[0, 0]
        else:
            g = G[:j, j]
            out[j] = G[j, j] - g @ np.linalg.pinv(G[:j, :j], hermitian=True) @ g
    return np.maximum(out, 0.0)


def _check_ks(k, n_components, n_features):
    if k is None:
        return [min(10, n_features)] * n_components
    if isinstance(k, numbers.Integral) and not isinstance(k, (bool, np.bool_)):
        ks = [int(k)] * n_components
    else:
        try:
            ks = [int(v) for v in k]
        except TypeError as exc:
            raise ValueError(f"k must be an int or a sequence of ints; got {k!r}.") from exc
        if any(not float(v).is_integer() for v in k):
            raise ValueError(f"k must hold integers; got {k!r}.")
        if len(ks) != n_components:
            raise ValueError(
                f"k has {len(ks)} entries but n_components={n_components}; give one "
                "cardinality per component or a single int.")
    for kk in ks:
        if kk < 1:
            raise ValueError(f"k must be >= 1; got {kk}.")
        if kk > n_features:
            raise ValueError(
                f"k={kk} is larger than n_features={n_features}; a loading has at most "
                "n_features non-zeros.")
    return ks


def _tpower_components(op, *, n_components, ks, init, deflation, max_iter, tol, rank,
                       x_init=None):
    """Several components by deflation; returns ``(V, rayleigh, n_iter, converged)``."""
    p = op.shape[0]
    if n_components > rank:
        raise ValueError(
            f"n_components={n_components} is larger than the rank of the data ({rank}); "
            f"at most {rank} components can be extracted.")
    trace0 = op.trace()
    V = np.zeros((n_components, p))
    rayleigh = np.zeros(n_components)
    n_iter = np.zeros(n_components, dtype=int)
    converged = np.ones(n_components, dtype=bool)
    Q = []
    krylov = None  # Lanczos start subspace, shared by all components (init="eig", large)
    first = None  # the working sets' first products (several screened components)
    ahead = {}  # the next component's working-set columns, gathered during this one's pass
    if x_init is None and init == "eig" and not _exact_start_available(op):
        krylov = _start_subspace(op, n_components)
        if n_components > 1 and all(_screened(op, kk) for kk in ks):
            first = _first_products(op, krylov, ks)
    for c in range(n_components):
        image = None  # (Xt x, Xt' Xt x) of the component, when its search computed them
        if op.trace() <= 1e-12 * max(trace0, np.finfo(float).tiny):
            raise ValueError(
                f"n_components={n_components} is larger than the numerical rank of the data: "
                f"nothing is left after {c} component(s); lower n_components.")
        if x_init is not None:
            x, f, it, conv = _tpower_kernel(op.matvec, x_init[c], ks[c], max_iter, tol,
                                            op.quad, _polisher(op, ks[c]))
        elif init == "eig" and _screened(op, ks[c]):
            if first is not None and c + 1 < n_components:  # the next working set's columns
                nxt = 8 * ks[c + 1]
                ahead["next"] = np.union1d(_top(first[1][:, c + 1], min(p, _SCREEN_FACTOR * nxt)),
                                           _top(first[0][:, c + 1], nxt))
            x, f, it, conv, image = _screened_cascade(op, _init_vector(op, "eig", ks[c], krylov),
                                                      ks[c], max_iter, tol, first, ahead)
        elif init == "eig":
            x, f, it, conv = _cascade(op.matvec, _init_vector(op, "eig", ks[c], krylov), ks[c],
                                      p, max_iter, tol, op.quad, op.restricted)
        else:
            x, f, it, conv = _tpower_kernel(op.matvec, _init_vector(op, init, ks[c]), ks[c],
                                            max_iter, tol, op.quad, _polisher(op, ks[c]))
        if x is None:  # the start was annihilated: fall back to the largest diagonal
            image = None
            x, f, it, conv = _tpower_kernel(op.matvec, _init_vector(op, "maxdiag", ks[c]),
                                            ks[c], max_iter, tol, op.quad, _polisher(op, ks[c]))
        if x is None:
            raise ValueError(
                f"n_components={n_components} is larger than the numerical rank of the data: "
                f"component {c + 1} has no variance left; lower n_components.")
        if _sign_flip(x) is not x and image is not None:
            image = (-image[0], -image[1], image[2])
        x = _sign_flip(x)
        V[c], rayleigh[c], n_iter[c], converged[c] = x, f, it, conv
        if c + 1 < n_components:
            op.deflate(x, deflation, Q, image)
    return V, rayleigh, n_iter, converged


def _warn(converged, n_iter, max_iter):
    bad = np.flatnonzero(~converged)
    if bad.size:
        warnings.warn(
            f"Truncated power method: {bad.size} of {converged.size} component(s) reached "
            f"max_iter={max_iter} before the objective settled (components "
            f"{(bad + 1).tolist()}); increase max_iter or tol.", ConvergenceWarning,
            stacklevel=3)


_TP_CONSTRAINTS = {
    "init": [Options(*_INITS)],
    "max_iter": [Interval(numbers.Integral, 1, None)],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
}


# ---------------------------------------------------------------------------
# function
# ---------------------------------------------------------------------------
def truncated_power_method(A, k, *, x0=None, init="eig", max_iter=50, tol=1e-6):
    r"""Leading k-sparse eigenvector of a symmetric PSD matrix (truncated power method).

    Approximately solves :math:`\max_x x^\top A x` s.t. :math:`\|x\|_2 = 1`,
    :math:`\|x\|_0 \le k` by the iteration :math:`x \leftarrow T_k(A x)`, where
    :math:`T_k` keeps the k largest magnitudes and renormalises.

    Parameters
    ----------
    A : array-like of shape (n_features, n_features)
        Symmetric positive semi-definite matrix (e.g. a covariance).
    k : int
        Cardinality of the solution, ``1 <= k <= n_features``.
    x0 : array-like of shape (n_features,), default=None
        Warm start (overrides ``init``); truncated to k entries first.
    init : {"eig", "maxdiag", "topk_diag"}, default="eig"
        ``"eig"``: the leading eigenvector (dense ``eigh`` up to 1,000
        features, else the leading Ritz vector of a Lanczos iteration from a
        fixed seed: deterministic), then the cardinality cascade
        8k -> 4k -> 2k -> k of the authors' ``TPower_SPCA`` when
        ``n_features >= 8k``; ``"maxdiag"``: unit vector on the largest
        diagonal entry (the authors' code default); ``"topk_diag"``: the
        normalised indicator of the k largest diagonal entries.
    max_iter : int, default=50
        Maximum iterations (per cascade stage).
    tol : float, default=1e-6
        Stop when the relative change of the objective falls below ``tol``.

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) unit-norm k-sparse vector (largest entry
        positive), ``rayleigh`` (:math:`x^\top A x`), ``n_iter``,
        ``converged``.

    See Also
    --------
    TruncatedPowerPCA : several components by deflation, from data or a covariance.

    Notes
    -----
    One iteration costs a matrix-vector product (:math:`O(p^2)`) plus an
    :math:`O(p)` selection.  The method is monotone for PSD ``A`` (Yuan &
    Zhang, Theorem 1); the result is a local solution that depends on the
    start.

    References
    ----------
    .. [1] X.-T. Yuan and T. Zhang, "Truncated power method for sparse
       eigenvalue problems", JMLR 14 (2013) 899-925.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import truncated_power_method
    >>> v = np.zeros(20); v[[2, 5, 11]] = [0.6, 0.6, 0.529]
    >>> A = np.eye(20) + 10 * np.outer(v, v)
    >>> res = truncated_power_method(A, 3)
    >>> np.flatnonzero(res.coef).tolist()
    [2, 5, 11]
    """
    validate_params(dict(init=init, max_iter=max_iter, tol=tol), _TP_CONSTRAINTS,
                    "truncated_power_method")
    A = check_matrix(A, "A", dtype=np.float64)
    if A.shape[0] != A.shape[1]:
        raise ValueError(f"A must be square (n_features, n_features); got shape {A.shape}.")
    if not np.allclose(A, A.T, rtol=1e-8, atol=1e-10 * np.abs(A).max()):
        raise ValueError("A must be symmetric; pass a covariance matrix (symmetrise it).")
    p = A.shape[0]
    (kk,) = _check_ks(k, 1, p)
    op = _CovOperator(A.copy())
    if x0 is not None:
        x0 = check_matrix(np.asarray(x0, dtype=float).reshape(1, -1), "x0")[0]
        if x0.shape[0] != p:
            raise ValueError(f"x0 must have {p} entries; got {x0.shape[0]}.")
        x, f, it, conv = _tpower_kernel(op.matvec, x0, kk, max_iter, tol, op.quad,
                                        _polisher(op, kk))
    elif init == "eig":
        x, f, it, conv = _cascade(op.matvec, _init_vector(op, "eig", kk), kk, p, max_iter, tol,
                                  op.quad, op.restricted)
    else:
        x, f, it, conv = _tpower_kernel(op.matvec, _init_vector(op, init, kk), kk, max_iter,
                                        tol, op.quad, _polisher(op, kk))
    if x is None:
        raise ValueError("A annihilates every start vector (A = 0?); nothing to extract.")
    _warn(np.array([conv]), it, max_iter)
    return SolverResult(coef=_sign_flip(x), rayleigh=f, n_iter=it, converged=bool(conv))


# ---------------------------------------------------------------------------
# estimator
# ---------------------------------------------------------------------------
class TruncatedPowerPCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Sparse PCA by the truncated power method with deflation.

    Each component is a unit-norm loading with at most ``k`` non-zeros that
    approximately maximises the variance :math:`x^\top A x` of the (deflated)
    covariance :math:`A`; further components come from the deflated
    covariance.  From data the covariance is never formed: every iteration
    is two products with the centred data, :math:`X^\top (X x)/(n - 1)`, and
    the deflation acts on the data (the centring and the deflations are kept
    as low-rank terms: the data are neither copied nor written).

    Parameters
    ----------
    n_components : int, default=1
        Number of sparse components.
    k : int or sequence of int, default=None
        Cardinality of each loading (one int for all, or one per component).
        Default ``min(10, n_features)`` (the authors' default 10).
    init : {"eig", "maxdiag", "topk_diag"} or array-like, default="eig"
        Start of each component: ``"eig"``, the leading eigenvector of the
        deflated covariance followed by the cascade 8k -> 4k -> 2k -> k when
        ``n_features >= 8k`` (exact on small problems; otherwise the leading
        Ritz vector of the deflated covariance on a Krylov subspace built
        once for all components by Lanczos iteration from a fixed seed, so
        the fit is deterministic); ``"maxdiag"``, the largest diagonal entry
        (the authors' code); ``"topk_diag"``, the k largest diagonal
        entries; an array of shape (n_components, n_features): warm starts,
        one row per component.
    deflation : {"schur", "projection", "orthogonal_projection", "hotelling"}, default="schur"
        Deflation between components (Mackey 2008).  ``"hotelling"`` is
        only valid for eigenvectors and only available with
        ``covariance=True``.
    covariance : bool, default=False
        If True, ``fit`` takes a covariance matrix of shape
        (n_features, n_features) instead of data; ``transform`` then does
        not centre.
    max_iter : int, default=50
        Maximum truncated power iterations per component (and cascade stage).
    tol : float, default=1e-6
        Relative change of the objective that stops the iterations.
    n_jobs : int, default=None
        Threads for the BLAS products (scikit-learn meaning: None = 1,
        -1 = all cores).  The products are memory-bound matrix-vector
        products, for which one thread is usually fastest and never
        oversubscribes a shared machine.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Unit-norm sparse loadings (largest entry of each positive).
    explained_variance_ : ndarray of shape (n_components,)
        Adjusted variance of each component (Zou, Hastie & Tibshirani): the
        squared diagonal of R in the QR factorisation of the scores, so that
        variance shared with earlier components is not counted twice.
    explained_variance_ratio_ : ndarray of shape (n_components,)
        ``explained_variance_`` divided by the total variance.
    subspace_variance_ : float
        Variance of the data projected on the span of the loadings,
        :math:`\operatorname{tr}(P A)` with P the orthogonal projector on
        that span (order-independent).
    rayleigh_quotients_ : ndarray of shape (n_components,)
        :math:`x^\top A_t x` on the deflated covariance of each step.
    mean_ : ndarray of shape (n_features,)
        Feature means (zeros with ``covariance=True``).
    n_iter_ : int
        Largest number of iterations over the components.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    truncated_power_method : one component of a PSD matrix.
    sklearn.decomposition.SparsePCA : the l1-penalised (dictionary learning) sparse PCA.

    Notes
    -----
    Problem per component: :math:`\max_x x^\top A x` s.t. :math:`\|x\|_2=1`,
    :math:`\|x\|_0 \le k`.  Cost per iteration: :math:`O(Np)` from data,
    :math:`O(p^2)` from a covariance; deflation :math:`O(Np)` or
    :math:`O(p^2)` per component.  The default start on large problems costs
    one Lanczos iteration for all components (one pass over the data per
    step, about 30 steps for 5 components; it stops once the leading
    ``n_components`` Ritz pairs have residuals below :math:`10^{-3}` of the
    largest Ritz value) and an ``m x m`` eigen-solve per component (``m``
    Lanczos steps), instead of a large eigen-solve per component.  Schur and
    orthogonalised projection deflation keep every later component's variance free of the earlier
    loadings (Mackey's table, spec 5.3).

    Once two successive iterates share their support (``k <= 256``), the
    iteration is finished by the leading eigenvector of the covariance
    restricted to that support (an ``O(N k^2)`` solve) and one product that
    checks it is a fixed point of the truncated iteration; each component is
    therefore exact on its support, typically after 2-4 passes over the
    data.  From data of at least 4M entries, the iteration products (and
    the Lanczos start) go through a single-precision copy of ``X`` (half the
    memory traffic per pass, 50 % more memory); the supports they select
    are finished in double precision, so the result is that of the
    double-precision iteration.

    From data of at least 4M entries with ``n_features >= 32 k`` and the
    default start, the cascade iterates on a working set of features (the
    largest entries of the start and of full products with the covariance,
    their columns gathered once: a product costs :math:`O(N |C|)` instead of
    :math:`O(Np)`; the first products of all components come from one
    pass over the data, by products with several vectors at once, and each
    component's working set is gathered during the previous component's
    check product).  Full
    products decide where the first stage ends (where
    the iteration over all features would stop too) and certify each
    component: the k largest magnitudes of :math:`A x` lie on the support of
    ``x`` (a single-precision product with a rigorous error bound, double
    precision wherever the bound cannot decide), so ``x`` is a fixed point of
    the truncated iteration over all features; otherwise the features that beat the
    support join the working set and the iterations go on (after three
    failed checks, over all features).  On spiked data the components are
    those of the iteration over all features; about two products with the
    data per component, each reading the single-precision copy once (the
    first also gathers the next component's working set).  On 2,000 x 10,000 data (5 components, k = 50,
    one BLAS thread; 2-core AMD EPYC, Zen 4 at 2.6 GHz, OpenBLAS 0.3.31) a
    fit takes about 0.23 s: 0.10 s of Lanczos start (28 passes), 0.09 s of
    cascades, 0.015 s of column statistics.

    References
    ----------
    .. [1] X.-T. Yuan and T. Zhang, "Truncated power method for sparse
       eigenvalue problems", JMLR 14 (2013) 899-925.
    .. [2] L. Mackey, "Deflation methods for sparse PCA", NIPS 21 (2008).
    .. [3] H. Zou, T. Hastie and R. Tibshirani, "Sparse principal component
       analysis", JCGS 15 (2006) 265-286.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import TruncatedPowerPCA
    >>> rng = np.random.default_rng(0)
    >>> v = np.zeros(50); v[:5] = 1 / np.sqrt(5)
    >>> X = rng.standard_normal((300, 50)) + 3 * rng.standard_normal((300, 1)) * v
    >>> est = TruncatedPowerPCA(n_components=1, k=5).fit(X)
    >>> np.flatnonzero(est.components_[0]).tolist()
    [0, 1, 2, 3, 4]
    >>> est.transform(X).shape
    (300, 1)
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "init": [Options(*_INITS), "array-like"],
        "deflation": [Options(*_DEFLATIONS)],
        "covariance": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, n_components=1, *, k=None, init="eig", deflation="schur",
                 covariance=False, max_iter=50, tol=1e-6, n_jobs=None):
        self.n_components = n_components
        self.k = k
        self.init = init
        self.deflation = deflation
        self.covariance = covariance
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        """Fit the sparse loadings.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or (n_features, n_features)
            Data, or a covariance matrix when ``covariance=True``.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        if isinstance(self.init, str) and self.init not in _INITS:
            raise ValueError(
                f"The 'init' parameter of {type(self).__name__} must be one of {_INITS} or an "
                f"array of warm starts; got {self.init!r}.")
        # From data the finiteness check comes from the column sums (one pass, below).
        X = validate_data(self, X, dtype=[np.float64, np.float32],
                          ensure_min_samples=1 if self.covariance else 2,
                          ensure_all_finite=bool(self.covariance))
        dtype = X.dtype
        n, p = X.shape
        ks = _check_ks(self.k, self.n_components, p)
        x_init = None
        if not isinstance(self.init, str):
            x_init = check_matrix(self.init, "init", dtype=np.float64)
            if x_init.shape != (self.n_components, p):
                raise ValueError(
                    f"init as an array must have shape (n_components, n_features) = "
                    f"({self.n_components}, {p}); got {x_init.shape}.")
        if self.covariance:
            if n != p:
                raise ValueError(
                    f"With covariance=True, X must be a square covariance matrix; got shape "
                    f"{X.shape}.")
            A = np.array(X, dtype=np.float64)
            scale = max(np.abs(A).max(), np.finfo(float).tiny)
            if not np.allclose(A, A.T, rtol=1e-6, atol=1e-8 * scale):
                raise ValueError("With covariance=True, X must be symmetric.")
            A = 0.5 * (A + A.T)
            if np.any(np.diag(A) < 0):
                raise ValueError(
                    "With covariance=True, X must be positive semi-definite; it has negative "
                    "diagonal entries.")
            if p <= 1000:  # full spectrum: O(p^3), affordable
                w = np.linalg.eigvalsh(A)
                if w[0] < -1e-8 * max(w[-1], 0.0) - 1e-12 * scale:
                    raise ValueError(
                        f"With covariance=True, X must be positive semi-definite; its smallest "
                        f"eigenvalue is {w[0]:.3g}. Add a multiple of the identity.")
                rank = int(np.sum(w > w[-1] * p * np.finfo(float).eps)) if w[-1] > 0 else 0
            else:  # large: the deflation loop detects an exhausted matrix instead
                rank = p
            op = _CovOperator(A.copy())
            self.mean_ = np.zeros(p, dtype=dtype)
            cov_for_var = A
        else:
            if self.deflation == "hotelling":
                raise ValueError(
                    "deflation='hotelling' has no data form (the deflated matrix may be "
                    "indefinite); use 'schur' or 'projection', or pass covariance=True.")
            X64 = np.asarray(X, dtype=np.float64)  # no copy for float64 input; never written
            fast = (X64.size >= _FAST_MIN_SIZE and max(ks) <= _POLISH_MAX_K
                     and x_init is None)
            sums, colsq, Xf, half = _column_stats(X64, fast)
            if not (np.all(np.isfinite(sums)) and np.all(np.isfinite(colsq))):
                assert_all_finite(X64, input_name="X")  # NaN or inf (else: huge squares)
            mean = sums / n
            # Centre implicitly (X - 1 mean', a rank-one term of the operator: no
            # N x p copy) unless the means dwarf the spread, where products with
            # the uncentred data would lose digits to cancellation.
            spread = np.maximum(colsq - n * mean ** 2, 0.0)
            if np.all(n * mean ** 2 <= 1e6 * spread):
                op = _DataOperator(X64, mean=mean, colsq=colsq, fast=fast, Xf=Xf, half=half)
            else:
                op = _DataOperator(X64 - mean, fast=fast)
            rank = min(n - 1, p)
            total = op.trace()
            self.mean_ = mean.astype(dtype)
            cov_for_var = None
        with blas_limited(effective_n_jobs(self.n_jobs)):
            V, rq, n_iter, conv = _tpower_components(
                op, n_components=self.n_components, ks=ks, init=self.init if x_init is None
                else None, deflation=self.deflation, max_iter=self.max_iter, tol=self.tol,
                rank=rank, x_init=x_init)
        _warn(conv, n_iter, self.max_iter)
        # adjusted variance on the undeflated covariance (spec 5.5)
        if cov_for_var is not None:
            G = V @ cov_for_var @ V.T
            total = float(np.trace(cov_for_var))
        else:
            S = op.scores(V)  # from the loadings' supports (columns kept from the fit)
            G = S.T @ S / (n - 1)
        ev = _adjusted_variance(G)
        # variance of the data projected on span(components): tr((V V')^+ V A V')
        self.subspace_variance_ = float(np.trace(np.linalg.pinv(V @ V.T, hermitian=True) @ G))
        self.components_ = V.astype(dtype)
        self.explained_variance_ = ev.astype(dtype)
        self.explained_variance_ratio_ = (ev / total if total > 0 else ev * 0).astype(dtype)
        self.rayleigh_quotients_ = rq.astype(dtype)
        self.n_iter_ = int(n_iter.max())
        self._n_features_out = self.n_components
        return self

    def transform(self, X):
        """Project data on the sparse loadings.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            Scores ``(X - mean_) @ components_.T``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return ((X - self.mean_) @ self.components_.T).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
