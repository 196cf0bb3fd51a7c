"""Group Lasso: least squares with the group (L2,1 over feature groups) penalty.

Objective ``||y - Xw||^2 / (2n) + alpha sum_g weight_g ||w_g||_2`` over a
partition of the features into groups.  Working-set block coordinate descent:
the outer loop computes ``X^T r / n``, the duality gap (dual point: the
residual rescaled so that ``max_g ||X_g^T theta|| / weight_g <= alpha``),
the gap-safe sphere test and the working set; the inner loop is the
compiled block-CD kernel ``_ext._convex.group_cd_inner`` (float32 and
float64 from one fused-type source).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Interval, validate_params
from .._ext import _convex as _C
from ._solvers.cd import _grown_size

__all__ = ["GroupLasso", "solve_group_lasso", "group_lasso_gap"]


def _check_groups(groups, n_features):
    """A list of index arrays (a partition of ``range(n_features)``) from ``groups``."""
    if isinstance(groups, numbers.Integral) and not isinstance(groups, bool):
        size = int(groups)
        if size < 1:
            raise ValueError(f"groups must be a positive group size or a list of index arrays; "
                             f"got {groups}.")
        return [np.arange(s, min(s + size, n_features)) for s in range(0, n_features, size)]
    lab = np.asarray(groups) if not isinstance(groups, (list, tuple)) or all(
        isinstance(g, numbers.Integral) for g in groups) else None
    if lab is not None and lab.ndim == 1 and lab.size > 0 and np.issubdtype(lab.dtype,
                                                                             np.integer):
        if lab.shape != (n_features,):
            raise ValueError(f"groups, given as one integer label per feature, must have "
                             f"n_features={n_features} entries; got {lab.size}.")
        _, inv = np.unique(lab, return_inverse=True)
        return [np.flatnonzero(inv == k) for k in range(inv.max() + 1)]
    try:
        out = [np.asarray(g) for g in groups]
    except TypeError:
        raise TypeError(f"groups must be an int (group size) or a list of index arrays; got "
                        f"{type(groups).__name__}.") from None
    seen = np.zeros(n_features, dtype=np.int64)
    for i, g in enumerate(out):
        if g.ndim != 1 or g.size == 0 or not (np.issubdtype(g.dtype, np.integer)):
            raise ValueError(f"groups[{i}] must be a non-empty 1-D array of integer feature "
                             f"indices; got {g!r}.")
        if g.min() < 0 or g.max() >= n_features:
            raise ValueError(f"groups[{i}] holds indices outside [0, {n_features}) "
                             f"(n_features={n_features}).")
        np.add.at(seen, g, 1)
    if (seen > 1).any():
        raise ValueError(f"groups overlap: feature(s) {np.flatnonzero(seen > 1)[:10].tolist()} "
                         f"belong to more than one group; give a partition of the features.")
    if (seen == 0).any():
        raise ValueError(f"groups do not cover feature(s) "
                         f"{np.flatnonzero(seen == 0)[:10].tolist()} of {n_features}; every "
                         f"feature must belong to exactly one group.")
    return [g.astype(np.int64) for g in out]


def group_lasso_gap(y, r, w, gnorm, alpha, weights, sizes, n):
    """Duality gap from the residual ``r`` and the group norms ``gnorm = ||X_g^T r|| / n``.

    ``w`` is in group order (``sizes`` entries per group).  Returns
    ``(gap, primal, const)``, ``const`` the dual scaling of ``r``.
    """
    rn = float(r @ r)
    wn = np.sqrt(np.add.reduceat(w * w, np.r_[0, np.cumsum(sizes)[:-1]])) if w.size else w
    primal = rn / (2 * n) + alpha * float(weights @ wn)
    dn = float((gnorm / weights).max()) if gnorm.size else 0.0
    const = alpha / dn if dn > alpha else 1.0
    dual = (const * float(r @ y) - 0.5 * const * const * rn) / n
    return primal - dual, primal, const


def _largest_sq_singular(M):
    """``||M||_2^2`` by Lanczos (``eigsh``) on the smaller of ``M M^T`` and ``M^T M``."""
    from scipy.sparse.linalg import LinearOperator, eigsh

    M = np.asarray(M, dtype=np.float64)
    k = min(M.shape)
    if M.shape[0] <= M.shape[1]:
        op = LinearOperator((k, k), matvec=lambda v: M @ (M.T @ v), dtype=np.float64)
    else:
        op = LinearOperator((k, k), matvec=lambda v: M.T @ (M @ v), dtype=np.float64)
    v0 = np.ones(k) / np.sqrt(k)
    return float(eigsh(op, k=1, which="LA", tol=1e-12, v0=v0, return_eigenvectors=False)[0])


def _group_lipschitz(A, gptr, sizes, n, is_sparse, chunk=1 << 21):
    """``||X_g||_2^2 / n`` for every group (features ordered group by group).

    ``A`` is X^T (dense, C order) or X (CSC).  Consecutive groups are taken
    in chunks of about ``chunk`` entries; within a chunk the groups of equal
    size share one batched Gram product and one batched ``eigvalsh``.
    """
    G = sizes.size
    lips = np.zeros(G)
    g0 = 0
    while g0 < G:
        # the most consecutive groups within ``chunk`` entries (at least one)
        g1 = max(g0 + 1, int(np.searchsorted(gptr, gptr[g0] + chunk // max(n, 1),
                                             side="right")) - 1)
        c0, c1 = gptr[g0], gptr[g1]
        B = A[:, c0:c1].toarray().T if is_sparse else np.asarray(A[c0:c1], dtype=np.float64)
        loc = gptr[g0:g1] - c0
        sz = sizes[g0:g1]
        if sz.size > 1 and sz[0] > 1 and (sz == sz[0]).all():  # equal sizes: a free reshape
            blk = B.reshape(sz.size, sz[0], n)
            lips[g0:g1] = np.linalg.eigvalsh(np.matmul(blk, blk.transpose(0, 2, 1)))[:, -1]
            g0 = g1
            continue
        for s in np.unique(sz):
            k = np.flatnonzero(sz == s)
            if s == 1:
                rows = B[loc[k]]
                lips[g0 + k] = np.einsum("ij,ij->i", rows, rows)
                continue
            if min(s, n) > 128:  # large groups: Lanczos on the smaller Gram operator
                for kk in k:
                    lips[g0 + kk] = _largest_sq_singular(B[loc[kk]:loc[kk] + s])
                continue
            blk = B[loc[k][:, None] + np.arange(s)]  # (groups, s, n)
            gram = np.matmul(blk, blk.transpose(0, 2, 1))
            lips[g0 + k] = np.linalg.eigvalsh(gram)[:, -1]
        g0 = g1
    return np.maximum(lips, 0.0) / n


def solve_group_lasso(X, y, groups, alpha, weights=None, *, w0=None, b0=0.0,
                      fit_intercept=False, tol=1e-4, max_iter=50, max_epochs=50_000, p0=10,
                      screening=True, verbose=0):
    """Group Lasso by working-set block CD with gap-safe screening.

    Parameters
    ----------
    X : ndarray or CSC/CSR matrix of shape (n, N), float32 or float64
    y : ndarray of shape (n,)
    groups : list of int64 index arrays (a partition of the features)
    alpha : float
    weights : ndarray of shape (n_groups,) or None
        Positive group weights; ``None`` means ``sqrt(|g|)``.
    w0 : ndarray of shape (N,) or None
    b0 : float
        Starting intercept (``fit_intercept``).
    fit_intercept : bool
        Fit an unpenalised intercept inside the solver (used for sparse
        ``X``; a dense ``X`` is centred by the caller instead).
    tol : float
        Stop when ``gap <= tol * ||y - b||^2 / (2n)`` (``b`` the mean of
        ``y`` with an intercept, else 0).

    Returns
    -------
    dict(w (N,) float64, intercept, gap, n_iter, converged, n_screened)
    """
    is_sparse = sp.issparse(X)
    dt = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
    n, N = X.shape
    G = len(groups)
    sizes = np.array([g.size for g in groups], dtype=np.int64)
    gptr = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    starts = gptr[:-1]
    perm = np.concatenate(groups) if G else np.zeros(0, dtype=np.int64)
    weights = np.sqrt(sizes.astype(np.float64)) if weights is None \
        else np.asarray(weights, dtype=np.float64)
    yd = np.asarray(y, dtype=np.float64)
    identity = bool(np.array_equal(perm, np.arange(N)))
    if is_sparse:
        Xp = sp.csc_matrix(X if identity else X[:, perm], dtype=dt)
        if not Xp.has_sorted_indices:
            Xp = Xp.sorted_indices()  # a copy: the caller's matrix is left as it is
        Xp64 = Xp.astype(np.float64)
        XT = np.zeros((1, 1), dtype=dt)
        data, indices = Xp.data, Xp.indices
        indptr = Xp.indptr.astype(indices.dtype)
    else:
        Xp = np.asarray(X) if identity else np.asarray(X)[:, perm]
        XT = np.ascontiguousarray(Xp.T, dtype=dt)  # a free view of a Fortran-ordered X
        Xp64 = np.asarray(Xp, dtype=np.float64)
        data = np.zeros(1, dtype=dt)
        indices = indptr = np.zeros(1, dtype=np.int32)
    lips = _group_lipschitz(Xp64 if is_sparse else XT, gptr, sizes, n, is_sparse)
    w = np.zeros(N, dtype=dt) if w0 is None else np.asarray(w0, dtype=dt)[perm].copy()
    b = np.array([float(b0) if fit_intercept else 0.0])
    excluded = lips == 0
    for g in np.flatnonzero(excluded):
        w[gptr[g]:gptr[g + 1]] = 0.0

    def residual():
        return np.array(yd - Xp64 @ w.astype(np.float64) - b[0], dtype=dt)

    R = residual()
    yc = yd - yd.mean() if fit_intercept else yd
    P0 = float(yc @ yc) / (2 * n)
    if dt == np.float32:
        tol = max(tol, 1e-5)  # float32 gaps below ~1e-6 P(0) are rounding noise
    keep = ~excluded  # unscreened groups
    gap = np.inf
    converged = False
    prev_size = 0
    it = 0
    for it in range(1, max_iter + 1):
        if it % 10 == 0 and w.any():  # rounding drift of the in-place residual
            R = residual()
        if fit_intercept:  # exact intercept step: the residual sums to zero (dual constraint)
            m = float(R.sum(dtype=np.float64)) / n
            b[0] += m
            R -= dt.type(m)
        r = R.astype(np.float64)
        corr = (Xp64.T @ r) / n
        gnorm = np.sqrt(np.add.reduceat(corr * corr, starts)) if N else np.zeros(0)
        w64 = w.astype(np.float64)
        wnorm = np.sqrt(np.add.reduceat(w64 * w64, starts)) if N else np.zeros(0)
        gap, primal, const = group_lasso_gap(yc, r, w64, gnorm, alpha, weights, sizes, n)
        nz = wnorm > 0
        score = np.maximum(0.0, gnorm - alpha * weights)
        if nz.any():
            d = corr - np.repeat(np.where(nz, alpha * weights / np.where(nz, wnorm, 1.0), 0.0),
                                 sizes) * w64
            score[nz] = np.sqrt(np.add.reduceat(d * d, starts))[nz]
        score[~keep] = 0.0
        max_score = float(score.max()) if score.size else 0.0
        if verbose:
            print(f"[GroupLasso] iter {it}: gap {gap:.3e}, nonzero groups {int(nz.sum())}, "
                  f"unscreened {int(keep.sum())}")
        if gap <= tol * P0:
            converged = True
            break
        if screening and alpha > 0 and gap > 0:
            # gap-safe sphere test (||X_g^T theta*|| <= ||X_g^T theta|| + ||X_g||_2 ||theta -
            # theta*||); a tiny relative margin covers rounding
            drop = keep & (const * gnorm + np.sqrt(2.0 * gap * lips)
                           < alpha * weights * (1.0 - 1e-10))
            if drop.any():
                for g in np.flatnonzero(drop & nz):  # certified zero: remove from the residual
                    s0, s1 = gptr[g], gptr[g + 1]
                    R += np.asarray(Xp64[:, s0:s1] @ w64[s0:s1], dtype=dt).ravel()
                    w[s0:s1] = 0.0
                keep &= ~drop
                nz &= keep
        n_keep = int(keep.sum())
        nnz = int(nz.sum())
        ws_size = min(max(min(p0, n_keep), 2 * nnz, _grown_size(nnz, prev_size)), n_keep)
        kept = np.flatnonzero(keep)
        if ws_size >= n_keep:
            ws = kept.astype(np.int64)
        else:
            prio = np.where(nz[kept], np.inf, score[kept])
            ws = np.sort(kept[np.argpartition(-prio, ws_size - 1)[:ws_size]]).astype(np.int64)
        prev_size = ws.size
        if ws.size == 0 and not fit_intercept:
            continue
        _C.group_cd_inner(is_sparse, XT, data, indices, indptr, R, w, b, gptr, ws, lips,
                          weights, float(alpha), bool(fit_intercept), int(max_epochs),
                          float(0.3 * max_score))
    out = np.empty(N)
    out[perm] = w.astype(np.float64)
    return dict(w=out, intercept=float(b[0]), gap=float(gap), n_iter=it, converged=converged,
                n_screened=int(G - keep.sum() - np.count_nonzero(excluded)))


class GroupLasso(RegressorMixin, BaseEstimator):
    r"""Group Lasso: least squares with a penalty on the norms of feature groups.

    Minimises ``||y - Xw - b||^2 / (2 n_samples) + alpha sum_g weight_g
    ||w_g||_2`` over a partition of the features into groups: the features
    of a group are selected together or not at all.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    groups : int, list of array-like of int or array-like of shape (n_features,), default=1
        The groups: an int is a group size (consecutive features, the last
        group holds the remainder); a list of index arrays must be a
        partition of ``range(n_features)``; a 1-D integer array holds one
        group label per feature (groups in the order of the sorted labels).
    weights : array-like of shape (n_groups,), default=None
        Positive group weights; ``None`` means ``sqrt(|g|)``.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    tol : float, default=1e-4
        Stop when the duality gap is ``<= tol * P(0)``, ``P(0) = ||y -
        mean(y)||^2 / (2 n)`` (as ``Lasso``).
    max_iter : int, default=50
        Working-set (outer) iterations.
    verbose : int, default=0
        Print the gap at each outer iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Coefficients.
    intercept_ : float
        Intercept.
    n_iter_ : int
        Working-set (outer) iterations run.
    dual_gap_ : float
        Final duality gap (in the objective above).
    n_screened_ : int
        Groups removed by gap-safe screening (certified zero).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, MultiTaskLasso

    Notes
    -----
    Working-set block coordinate descent: the working set holds the active
    groups and those with the largest ``max(0, ||X_g^T r|| / n - alpha
    weight_g)``; block update ``w_g <- BST(w_g + X_g^T r / (n L_g), alpha
    weight_g / L_g)`` with ``L_g = ||X_g||_2^2 / n`` (exact spectral norm).
    Dual point ``theta = c r`` with ``c`` the largest factor <= 1 such that
    ``max_g ||X_g^T theta|| / (n weight_g) <= alpha``; gap-safe screening
    (Ndiaye et al. 2017) removes groups certified zero.  Dense, CSC and CSR
    designs (a sparse design is not centred: the intercept is a coordinate
    of the solver), float32 and float64.

    References
    ----------
    .. [1] Yuan, M. & Lin, Y. (2006). Model selection and estimation in
       regression with grouped variables. JRSS B 68(1), 49-67.
    .. [2] Ndiaye, E., Fercoq, O., Gramfort, A. & Salmon, J. (2017). Gap safe
       screening rules for sparsity enforcing penalties. JMLR 18.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import GroupLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 30)); w = np.zeros(30); w[3:6] = 1.0
    >>> reg = GroupLasso(alpha=0.1, groups=3, tol=1e-8).fit(X, X @ w)
    >>> np.flatnonzero(reg.coef_)
    array([3, 4, 5])
    """

    _parameter_constraints = {
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "groups": [Interval(numbers.Integral, 1, None, closed="left"), "array-like"],
        "weights": ["array-like", None],
        "fit_intercept": ["boolean"],
        "warm_start": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
    }

    def __init__(self, alpha=1.0, *, groups=1, weights=None, fit_intercept=True,
                 warm_start=False, tol=1e-4, max_iter=50, verbose=0):
        self.alpha = alpha
        self.groups = groups
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Design matrix (float32 is kept as float32; CSC and CSR stay sparse).
        y : array-like of shape (n_samples,)
            Target.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        X, y = validate_data(self, X, y, accept_sparse=("csc", "csr"),
                             dtype=[np.float64, np.float32], y_numeric=True, order="F")
        dt = X.dtype
        n, N = X.shape
        groups = _check_groups(self.groups, N)
        weights = None
        if self.weights is not None:
            weights = np.asarray(self.weights, dtype=np.float64)
            if weights.shape != (len(groups),):
                raise ValueError(f"weights must have one entry per group ({len(groups)}); got "
                                 f"shape {weights.shape}.")
            if not (np.isfinite(weights).all() and (weights > 0).all()):
                raise ValueError("weights must be positive and finite.")
        Y = np.asarray(y, dtype=np.float64)
        w0, b0 = None, 0.0
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (N,):
            w0, b0 = np.asarray(self.coef_, dtype=np.float64), float(self.intercept_)
        common = dict(tol=float(self.tol), max_iter=int(self.max_iter), verbose=int(self.verbose))
        if sp.issparse(X):  # the intercept is a coordinate of the solver: X stays sparse
            res = solve_group_lasso(X, Y, groups, float(self.alpha), weights, w0=w0, b0=b0,
                                    fit_intercept=bool(self.fit_intercept), **common)
            w, b = res["w"], res["intercept"]
        else:
            if self.fit_intercept:
                x_off = X.mean(axis=0, dtype=np.float64)
                y_off = float(Y.mean())
                Xc, Yc = X - x_off.astype(dt), Y - y_off
            else:
                x_off, y_off = np.zeros(N), 0.0
                Xc, Yc = X, Y
            res = solve_group_lasso(Xc, Yc, groups, float(self.alpha), weights, w0=w0, **common)
            w = res["w"]
            b = y_off - x_off @ w if self.fit_intercept else 0.0
        if not res["converged"]:
            from .._base import warn_not_converged

            warn_not_converged("GroupLasso", 1, 1, "duality gap", res["gap"], float(self.tol))
        self.coef_ = w.astype(dt)
        self.intercept_ = dt.type(b)
        self.n_iter_ = int(res["n_iter"])
        self.dual_gap_ = float(res["gap"])
        self.n_screened_ = int(res["n_screened"])
        return self

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csc", "csr"), dtype=[np.float64, np.float32],
                          reset=False)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_
