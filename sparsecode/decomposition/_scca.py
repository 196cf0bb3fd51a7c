"""Sparse canonical correlation analysis.

Two formulations:

- the penalized matrix decomposition (PMD) of Witten, Tibshirani & Hastie
  (Biostatistics 2009; spec section 6.2), as in R's ``PMA::CCA``: alternating
  soft-thresholded power steps on the cross-product ``X'Y`` of the
  standardised views, each threshold chosen so that the unit-norm weight
  vector meets an l1 bound.  The threshold is found exactly, by sorting
  (:func:`l1_constrained_direction`), instead of PMA's bisection;
- the primal-dual convex formulation of Hardoon & Shawe-Taylor (Machine
  Learning 2011; spec 6.1): a feature-sparse primal weight ``w`` for the
  first view and a sample-sparse dual weight ``e`` for the second view's
  (linear) kernel, solved jointly by FISTA.

Every product goes through the data (``X'(Yv)``), never forming ``X'Y``
when the views are wide.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import ConvergenceWarning
from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, Options, check_matrix, validate_params

__all__ = ["SparseCCA", "l1_constrained_direction"]

_N_SEEDS = 5  # primal-dual: seed samples tried per pair


# ---------------------------------------------------------------------------
# exact l1-bounded unit vector (spec 6.2, "exact O(p log p) solution by sorting")
# ---------------------------------------------------------------------------
def _l1_threshold(a, c):
    """Smallest ``delta >= 0`` with ``||ST(a, delta)||_1 / ||ST(a, delta)||_2 <= c``.

    The ratio is non-increasing in delta; between consecutive sorted |a_i|
    (m entries active, sums S1, S2 of the m largest |a_i| and their squares)
    ``ratio(delta) = c`` is the quadratic
    ``m(m - c^2) delta^2 - 2 S1 (m - c^2) delta + S1^2 - c^2 S2 = 0``.
    """
    b = np.sort(np.abs(a))[::-1]
    if b[0] == 0:
        return 0.0
    s2 = np.sqrt(np.sum(b * b))
    if np.sum(b) / s2 <= c:
        return 0.0
    cs1 = np.cumsum(b)
    cs2 = np.cumsum(b * b)
    p = b.shape[0]
    # ratio at delta = b[j] (entries 0..j-1 active, j = 1..p-1)
    j = np.arange(1, p)
    m = j.astype(float)
    S1 = cs1[j - 1] - m * b[j]
    S2 = cs2[j - 1] - 2 * b[j] * cs1[j - 1] + m * b[j] ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(S2 > 0, S1 / np.sqrt(np.maximum(S2, 0)), 1.0)
    # r is non-decreasing in j; the root lies in [b[m], b[m-1]] for the first m with r > c
    above = np.flatnonzero(r > c)
    mm = int(j[above[0]]) if above.size else p
    S1, S2 = cs1[mm - 1], cs2[mm - 1]
    lo = b[mm] if mm < p else 0.0
    hi = b[mm - 1]
    denom = mm - c * c
    if denom <= 0:
        return float(hi)
    disc = max(mm * S2 - S1 * S1, 0.0) / denom
    delta = (S1 - c * np.sqrt(disc)) / mm
    return float(min(max(delta, lo), hi))


def l1_constrained_direction(a, c):
    r"""Unit vector maximising :math:`u^\top a` s.t. :math:`\|u\|_2 \le 1`, :math:`\|u\|_1 \le c`.

    The solution is :math:`S(a, \Delta)/\|S(a, \Delta)\|_2` with :math:`S` the
    soft threshold and :math:`\Delta \ge 0` the smallest threshold meeting the
    l1 bound (Witten, Tibshirani & Hastie 2009, Lemma 2.2).  ``Delta`` is
    found exactly by sorting (:math:`O(p \log p)`), not by bisection.

    Parameters
    ----------
    a : array-like of shape (n_features,)
        Direction to follow.
    c : float
        l1 bound, ``c >= 1`` (``c >= sqrt(n_features)`` means no sparsity).

    Returns
    -------
    u : ndarray of shape (n_features,)
        The unit-norm (or zero, when ``a = 0``) solution.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import l1_constrained_direction
    >>> u = l1_constrained_direction(np.array([3.0, 2.0, 0.5, -0.1]), 1.2)
    >>> bool(abs(np.abs(u).sum() - 1.2) < 1e-9), int(np.count_nonzero(u))
    (True, 2)
    """
    a = np.asarray(a, dtype=float)
    if a.ndim != 1 or not np.all(np.isfinite(a)):
        raise ValueError("a must be a finite 1-D array.")
    if not (isinstance(c, numbers.Real) and c >= 1):
        raise ValueError(f"c must be a real number >= 1; got {c!r}.")
    return _l1_unit(a, float(c))


def _l1_unit(a, c):
    if c <= 1.0:  # only the largest entry can survive (ratio 1): the first one on ties
        u = np.zeros_like(a)
        j = int(np.argmax(np.abs(a)))
        if a[j] != 0:
            u[j] = np.sign(a[j])
        return u
    delta = _l1_threshold(a, c)
    u = np.sign(a) * np.maximum(np.abs(a) - delta, 0.0)
    nrm = np.linalg.norm(u)
    return u / nrm if nrm > 0 else u


# ---------------------------------------------------------------------------
# PMD sparse CCA
# ---------------------------------------------------------------------------
def _cross_products(X, Y, deflate):
    """``M v`` and ``M' u`` for ``M = X'Y - sum_j d_j u_j v_j'``, through the data."""

    def mv(v):
        a = X.T @ (Y @ v)
        for d, uj, vj in deflate:
            a -= d * uj * (vj @ v)
        return a

    def rmv(u):
        b = Y.T @ (X @ u)
        for d, uj, vj in deflate:
            b -= d * vj * (uj @ u)
        return b

    return mv, rmv


def _top_right_singular(X, Y, deflate):
    """First right singular vector of ``X'Y - sum_j d_j u_j v_j'`` (PMA's start).

    Small cross-products are decomposed densely; otherwise ARPACK works with
    products through the data, never forming ``X'Y`` (O(N(p + q)) each).
    """
    p, q = X.shape[1], Y.shape[1]
    if min(p, q) <= 64:
        M = X.T @ Y
        for d, u, v in deflate:
            M -= d * np.outer(u, v)
        return np.linalg.svd(M, full_matrices=False)[2][0]
    from scipy.sparse.linalg import LinearOperator, eigsh

    mv, rmv = _cross_products(X, Y, deflate)
    op = LinearOperator((q, q), matvec=lambda v: rmv(mv(v)), dtype=np.float64)
    _, V = eigsh(op, k=1, which="LA", v0=np.ones(q) / np.sqrt(q), tol=1e-10)
    return V[:, 0]


def _pmd_pair(X, Y, cx, cy, deflate, max_iter, tol):
    """One PMD canonical pair on standardised views with earlier pairs deflated."""
    v = _top_right_singular(X, Y, deflate)
    mv, rmv = _cross_products(X, Y, deflate)
    u = np.zeros(X.shape[1])
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        u = _l1_unit(mv(v), cx)
        b = rmv(u)
        v_new = _l1_unit(b, cy)
        change = np.sum(np.abs(v_new - v))
        v = v_new
        if change < tol:
            converged = True
            break
    return u, v, it, converged


def _corr(a, b):
    sa, sb = np.linalg.norm(a - a.mean()), np.linalg.norm(b - b.mean())
    if sa == 0 or sb == 0:
        return 0.0
    return float((a - a.mean()) @ (b - b.mean()) / (sa * sb))


# ---------------------------------------------------------------------------
# Hardoon & Shawe-Taylor primal-dual SCCA (spec 6.1), by FISTA on (w, e)
# ---------------------------------------------------------------------------
def _primal_dual_pair(X, K, seed, mu_scale, tau, max_iter, tol):
    """min ||tau X w - (1 - tau) K e||^2 + mu ||w||_1 + gamma sum_{i != seed} e_i,
    e_seed = 1, 0 <= e <= 1 (samples as rows here: X is (n, p), K is (n, n)).
    """
    n, p = X.shape
    c = X.T @ K[:, seed]
    mu = mu_scale * np.mean(np.abs(2 * tau * (1 - tau) * c))
    g = 2 * (1 - tau) ** 2 * (K.T @ K)[:, seed]
    g[seed] = 0.0
    gamma = np.mean(np.abs(g))
    # A zeta = tau X w - (1 - tau) K e; L = 2 ||A||_2^2
    A = np.hstack([tau * X, -(1 - tau) * K])
    L = 2 * np.linalg.norm(A, 2) ** 2
    zeta = np.zeros(p + n)
    zeta[p + seed] = 1.0

    def objective(z):
        r = A @ z
        return float(r @ r + mu * np.abs(z[:p]).sum() + gamma * (z[p:].sum() - z[p + seed]))

    def prox(z):
        w = np.sign(z[:p]) * np.maximum(np.abs(z[:p]) - mu / L, 0.0)
        e = np.clip(z[p:] - gamma / L, 0.0, 1.0)
        e[seed] = 1.0
        return np.concatenate([w, e])

    y = zeta.copy()
    t = 1.0
    f_old = objective(zeta)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        grad = 2 * A.T @ (A @ y)
        z_new = prox(y - grad / L)
        t_new = 0.5 * (1 + np.sqrt(1 + 4 * t * t))
        y = z_new + ((t - 1) / t_new) * (z_new - zeta)
        zeta, t = z_new, t_new
        f = objective(zeta)
        if abs(f_old - f) <= tol * max(abs(f), np.finfo(float).tiny):
            converged = True
            break
        f_old = f
    return zeta[:p], zeta[p:], it, converged


# ---------------------------------------------------------------------------
# estimator
# ---------------------------------------------------------------------------
def _n_rows(A):
    shape = getattr(A, "shape", None)
    if shape is not None and len(shape) > 0:
        return shape[0]
    if isinstance(A, (list, tuple)):
        return len(A)
    return None


def _standardise(A, scale):
    mean = A.mean(axis=0)
    std = A.std(axis=0, ddof=1) if A.shape[0] > 1 else np.ones(A.shape[1])
    if not scale:
        std = np.ones(A.shape[1])
    std = np.where(std > 0, std, 1.0)
    return (A - mean) / std, mean, std


class SparseCCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    r"""Sparse canonical correlation analysis of two views.

    Finds weight vectors ``u`` (first view, ``X``) and ``v`` (second view,
    ``Y``) with few non-zeros such that the canonical variates ``X u`` and
    ``Y v`` are highly correlated.  ``method="pmd"`` (default) is the
    penalized matrix decomposition of Witten, Tibshirani & Hastie (R's
    ``PMA::CCA``); ``method="primal_dual"`` is the convex primal-dual form
    of Hardoon & Shawe-Taylor, with a sparse weight on the first view's
    features and a sparse combination of samples of the second view's
    linear kernel.

    Parameters
    ----------
    n_components : int, default=1
        Number of canonical pairs.
    penalty_x, penalty_y : float in (0, 1], default=0.3
        PMD l1 bounds as a fraction of the largest useful bound:
        :math:`\|u\|_1 \le \max(1, \text{penalty\_x}\sqrt{p})`, likewise
        for ``v``; 1 means no sparsity.  A flat s-sparse weight needs
        about :math:`\sqrt{s/p}`.
    method : {"pmd", "primal_dual"}, default="pmd"
        Formulation.
    mu_scale : float, default=1.0
        ``primal_dual`` only: Hardoon's sparsity level :math:`s_k` scaling
        the l1 weight :math:`\mu` (0.1 few zeros, 1.5 many).
    scale : bool, default=True
        Divide each column by its standard deviation (after centring).
    max_iter : int, default=100
        PMD alternations (``primal_dual``: FISTA iterations x 50) per pair.
    tol : float, default=1e-6
        PMD: stop when :math:`\sum|v - v_{old}|` falls below ``tol``;
        ``primal_dual``: relative objective change.
    n_jobs : int, default=None
        Threads for the BLAS products (scikit-learn meaning: None = 1,
        -1 = all cores).  The products are memory-bound matrix-vector
        products, for which one thread is usually fastest and never
        oversubscribes a shared machine.

    Attributes
    ----------
    x_weights_ : ndarray of shape (n_features, n_components)
        Sparse unit-norm weights of the standardised first view.
    y_weights_ : ndarray of shape (n_targets, n_components)
        Weights of the standardised second view (unit norm for ``pmd``).
    canonical_correlations_ : ndarray of shape (n_components,)
        Pearson correlation of each pair of training canonical variates.
    x_mean_, x_std_ : ndarray of shape (n_features,)
        Standardisation of ``X``.
    y_mean_, y_std_ : ndarray of shape (n_targets,)
        Standardisation of ``Y``.
    dual_weights_ : ndarray of shape (n_samples, n_components)
        ``primal_dual`` only: the sample-sparse dual weights ``e`` with
        ``y_weights_ = Y_std' e`` (linear kernel).
    n_iter_ : ndarray of shape (n_components,)
        Iterations per pair.
    n_features_in_ : int
        Number of features of ``X`` seen in ``fit``.

    See Also
    --------
    sklearn.cross_decomposition.CCA : dense CCA (overfits when p > n).
    l1_constrained_direction : the exact l1-bounded step of PMD.

    Notes
    -----
    PMD problem for one pair, with standardised views:

    .. math::

       \max_{u, v} u^\top X^\top Y v \ \text{s.t.}\ \|u\|_2 \le 1,
       \|v\|_2 \le 1, \|u\|_1 \le c_1, \|v\|_1 \le c_2,

    solved by alternating :math:`u \leftarrow S(X^\top Y v, \Delta_1)/\|\cdot\|`
    and :math:`v \leftarrow S(Y^\top X u, \Delta_2)/\|\cdot\|`, each an
    :math:`O(N(p + q))` pass through the data plus a sort; the
    within-view covariances are treated as the identity, so with
    penalties 1 and whitened views the first pair is the classical
    canonical pair.  Further pairs deflate the cross-product,
    :math:`X^\top Y - d\,u v^\top` (PMA's rule).

    Primal-dual problem (Hardoon & Shawe-Taylor), ``K = Y Y'``, a seed
    sample ``k`` pinned at ``e_k = 1``:

    .. math::

       \min_{w, e} \|\tau X w - (1-\tau) K e\|^2 + \mu\|w\|_1 +
       \gamma \sum_{i \ne k} e_i,\ 0 \le e \le 1,

    with :math:`\tau = 1/2` and Hardoon's default :math:`\mu`,
    :math:`\gamma`.  The seed is chosen among the five samples with the
    largest kernel rows, keeping the pair with the best correlation
    computed without the seed sample (Hardoon's rule); later pairs deflate
    both views by the previous variates.

    References
    ----------
    .. [1] D. M. Witten, R. Tibshirani and T. Hastie, "A penalized matrix
       decomposition, with applications to sparse principal components and
       canonical correlation analysis", Biostatistics 10(3) (2009) 515-534.
    .. [2] D. R. Hardoon and J. Shawe-Taylor, "Sparse canonical correlation
       analysis", Machine Learning 83(3) (2011) 331-353.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SparseCCA
    >>> rng = np.random.default_rng(0)
    >>> z = rng.standard_normal((100, 1))
    >>> X = rng.standard_normal((100, 40)); X[:, :4] += z
    >>> Y = rng.standard_normal((100, 30)); Y[:, :4] += z
    >>> cca = SparseCCA(penalty_x=0.3, penalty_y=0.35).fit(X, Y)
    >>> np.flatnonzero(cca.x_weights_[:, 0]).tolist()
    [0, 1, 2, 3]
    >>> xs, ys = cca.transform(X, Y)
    >>> xs.shape, ys.shape
    ((100, 1), (100, 1))
    """

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None)],
        "penalty_x": [Interval(numbers.Real, 0, 1, closed="right")],
        "penalty_y": [Interval(numbers.Real, 0, 1, closed="right")],
        "method": [Options("pmd", "primal_dual")],
        "mu_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "scale": ["boolean"],
        "max_iter": [Interval(numbers.Integral, 1, None)],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
    }

    def __init__(self, n_components=1, *, penalty_x=0.3, penalty_y=0.3, method="pmd",
                 mu_scale=1.0, scale=True, max_iter=100, tol=1e-6, n_jobs=None):
        self.n_components = n_components
        self.penalty_x = penalty_x
        self.penalty_y = penalty_y
        self.method = method
        self.mu_scale = mu_scale
        self.scale = scale
        self.max_iter = max_iter
        self.tol = tol
        self.n_jobs = n_jobs

    def fit(self, X, Y):
        """Fit the sparse canonical pairs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            First view.
        Y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Second view, paired row by row with ``X``.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        n_x, n_y = _n_rows(X), _n_rows(Y)
        if n_x is not None and n_y is not None and n_x != n_y:
            raise ValueError(
                f"X and Y must have the same number of samples (paired rows); got "
                f"{n_x} and {n_y}.")
        X, Y = validate_data(self, X, Y, multi_output=True, y_numeric=True,
                             dtype=[np.float64, np.float32], ensure_min_samples=2)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        dtype = np.result_type(X.dtype, np.float32 if Y.dtype == np.float32 else np.float64)
        n, p = X.shape
        q = Y.shape[1]
        max_pairs = min(p, q, n - 1)
        if self.n_components > max_pairs:
            raise ValueError(
                f"n_components={self.n_components} is larger than the rank limit "
                f"min(n_features, n_targets, n_samples - 1) = {max_pairs}; lower it.")
        Xs, self.x_mean_, self.x_std_ = _standardise(np.asarray(X, dtype=np.float64),
                                                     self.scale)
        Ys, self.y_mean_, self.y_std_ = _standardise(np.asarray(Y, dtype=np.float64),
                                                     self.scale)
        with blas_limited(effective_n_jobs(self.n_jobs)):
            self._fit_pairs(Xs, Ys, dtype)
        return self

    def _fit_pairs(self, Xs, Ys, dtype):
        n, p = Xs.shape
        q = Ys.shape[1]
        U = np.zeros((p, self.n_components))
        V = np.zeros((q, self.n_components))
        corr = np.zeros(self.n_components)
        n_iter = np.zeros(self.n_components, dtype=int)
        converged = np.ones(self.n_components, dtype=bool)
        if self.method == "pmd":
            cx = max(1.0, self.penalty_x * np.sqrt(p))
            cy = max(1.0, self.penalty_y * np.sqrt(q))
            deflate = []
            for c in range(self.n_components):
                u, v, it, conv = _pmd_pair(Xs, Ys, cx, cy, deflate, self.max_iter, self.tol)
                d = float((Xs @ u) @ (Ys @ v))
                deflate.append((d, u, v))
                U[:, c], V[:, c], n_iter[c], converged[c] = u, v, it, conv
                corr[c] = _corr(Xs @ u, Ys @ v)
        else:
            E = np.zeros((n, self.n_components))
            Xd, Yd = Xs.copy(), Ys.copy()
            for c in range(self.n_components):
                K = Yd @ Yd.T
                # Hardoon's seed search: candidates = the samples with the largest kernel
                # rows; keep the pair whose correlation, computed without the seed
                # sample, is largest (the seed is pinned at e_k = 1, so it would flatter).
                cands = np.argsort(-np.linalg.norm(K, axis=1), kind="stable")[:_N_SEEDS]
                best = None
                for seed in cands:
                    w, e, it, conv = _primal_dual_pair(Xd, K, int(seed), self.mu_scale, 0.5,
                                                       50 * self.max_iter,
                                                       min(self.tol, 1e-8))
                    keep = np.arange(n) != seed
                    r = abs(_corr((Xd @ w)[keep], (K @ e)[keep]))
                    if best is None or r > best[0]:
                        best = (r, w, e, it, conv)
                _, w, e, it, conv = best
                v = Yd.T @ e
                # scale so that ||X w|| = ||K e|| = 1 (Hardoon's post-processing)
                nx = np.linalg.norm(Xd @ w)
                ny = np.linalg.norm(Yd @ v)
                u = w / nx if nx > 0 else w
                v = v / ny if ny > 0 else v
                U[:, c], V[:, c], E[:, c] = u, v, e
                n_iter[c], converged[c] = it, conv
                corr[c] = _corr(Xd @ u, Yd @ v)
                # deflate both views by their variates (projection deflation of the samples)
                for M, t in ((Xd, Xd @ u), (Yd, Yd @ v)):
                    tt = float(t @ t)
                    if tt > 0:
                        M -= np.outer(t, t @ M) / tt
            self.dual_weights_ = E
        bad = np.flatnonzero(~converged)
        if bad.size:
            warnings.warn(
                f"SparseCCA ({self.method}): {bad.size} of {self.n_components} pair(s) reached "
                f"the iteration limit before converging; increase max_iter or tol.",
                ConvergenceWarning, stacklevel=3)
        self.x_weights_ = U.astype(dtype)
        self.y_weights_ = V.astype(dtype)
        self.canonical_correlations_ = corr
        self.n_iter_ = n_iter
        self._n_features_out = self.n_components

    def transform(self, X, Y=None):
        """Canonical variates of new data.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            First view.
        Y : array-like of shape (n_samples,) or (n_samples, n_targets), default=None
            Second view.

        Returns
        -------
        x_scores : ndarray of shape (n_samples, n_components)
            ``((X - x_mean_) / x_std_) @ x_weights_``.
        y_scores : ndarray of shape (n_samples, n_components)
            Returned only when ``Y`` is given.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        xs = (((X - self.x_mean_) / self.x_std_) @ self.x_weights_).astype(X.dtype, copy=False)
        if Y is None:
            return xs
        Y = check_matrix(np.asarray(Y).reshape(-1, 1) if np.ndim(Y) == 1 else Y, "Y")
        if Y.shape[0] != X.shape[0]:
            raise ValueError(
                f"X and Y must have the same number of samples; got {X.shape[0]} and "
                f"{Y.shape[0]}.")
        if Y.shape[1] != self.y_weights_.shape[0]:
            raise ValueError(
                f"Y has {Y.shape[1]} columns, but SparseCCA was fitted with "
                f"{self.y_weights_.shape[0]}.")
        ys = (((Y - self.y_mean_) / self.y_std_) @ self.y_weights_).astype(Y.dtype, copy=False)
        return xs, ys

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        return tags
