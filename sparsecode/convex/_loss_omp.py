"""Loss-function-based OMP: the greedy side of the (weighted) LASSO.

Mohammad-Taheri & Brugiapaglia (2023), "The greedy side of the LASSO: new
algorithms for weighted sparse recovery via loss function-based orthogonal
matching pursuit", arXiv:2303.00844; spec section 2.  Each iteration adds
the index whose coordinate-wise minimisation decreases the loss G most
(explicit gains of spec table 2.3, including the corrected SR-l1 rule of
2.6), then refits on the support (least squares for the LASSO and
square-root losses, least absolute deviations -- the working-set LP of this
family, a weighted median for one atom -- for LAD).
"""

import numbers

import numpy as np
from numba import njit, prange
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import SolverResult
from .._validation import (Interval, Options, check_matrix, check_targets, validate_params)
from ._penalties import check_weights

__all__ = ["LossOMP", "loss_omp"]


@njit(cache=True, nogil=True)
def _min_abs_1d(r, a, lam, p):
    """min_t sum_i |r_i - t a_i| + lam |t - p|  (weighted median, spec 0.2 kernel 5).

    Rows with |a_i| <= 1e-10 are constant in t (kept in the value, dropped
    from the median).  Returns (min value, argmin).
    """
    m = r.shape[0]
    v = np.empty(m + 1)
    wt = np.empty(m + 1)
    k = 0
    for i in range(m):
        if abs(a[i]) > 1e-10:
            v[k] = r[i] / a[i]
            wt[k] = abs(a[i])
            k += 1
    if lam > 0.0:
        v[k] = p
        wt[k] = lam
        k += 1
    if k == 0:
        t = 0.0
    else:
        order = np.argsort(v[:k])
        tot = 0.0
        for i in range(k):
            tot += wt[i]
        cum = 0.0
        t = v[order[k - 1]]
        for i in range(k):
            cum += wt[order[i]]
            if cum >= 0.5 * tot:
                t = v[order[i]]
                break
    val = lam * abs(t - p)
    for i in range(m):
        val += abs(r[i] - t * a[i])
    return val, t


@njit(cache=True, parallel=True)
def _lad_gains(A, r, x, in_S, lam, l1):
    """Gains of the LAD losses for every column (parallel over columns)."""
    N = A.shape[1]
    r1 = np.sum(np.abs(r))
    out = np.zeros(N)
    for j in prange(N):
        aj = A[:, j]
        if l1:
            p = -x[j] if in_S[j] else 0.0
            best, _ = _min_abs_1d(r, aj, lam[j], p)
            g = r1 + lam[j] * abs(x[j]) - best
        else:
            best, _ = _min_abs_1d(r, aj, 0.0, 0.0)
            g = r1 - best
            if in_S[j]:
                g2 = r1 + lam[j]
                s = 0.0
                for i in range(r.shape[0]):
                    s += abs(r[i] + x[j] * aj[i])
                g = max(g, g2 - s)
            else:
                g -= lam[j]
        out[j] = max(g, 0.0)
    return out


def _gains(loss, penalty, A, r, x, in_S, lamw, lamw2):
    """Delta_j = G(x) - min_t G(x + t e_j), floored at 0 (spec table 2.3).

    lamw = lambda * w_j (l1 variants), lamw2 = lambda * w_j^2 (l0 variants).
    """
    if loss == "lad_lasso":
        lam = lamw if penalty == "l1" else lamw2
        return _lad_gains(A, r, x, in_S, lam, penalty == "l1")
    c = A.T @ r
    ac = np.abs(c)
    ax = np.abs(x)
    rho = float(np.linalg.norm(r))
    g = np.zeros(A.shape[1])
    out = ~in_S
    if loss == "lasso":
        if penalty == "l0":
            g[out] = c[out] ** 2 - lamw2[out]
            g[in_S] = lamw2[in_S] - x[in_S] ** 2
        else:
            g[out] = np.maximum(ac[out] - lamw[out] / 2, 0.0) ** 2
            li, xi = lamw[in_S], ax[in_S]
            g[in_S] = np.where(xi >= li / 2, li ** 2 / 4, xi * (li - xi))
    else:  # sqrt_lasso
        if penalty == "l0":
            g[out] = rho - np.sqrt(np.maximum(rho ** 2 - c[out] ** 2, 0.0)) - lamw2[out]
            g[in_S] = rho + lamw2[in_S] - np.sqrt(rho ** 2 + x[in_S] ** 2)
        else:
            lo, co = lamw[out], ac[out]
            valid = (lo < 1) & (co > lo * rho)
            with np.errstate(invalid="ignore"):
                val = rho - lo * co - np.sqrt(np.maximum((1 - lo ** 2) * (rho ** 2 - co ** 2), 0))
            g[out] = np.where(valid, val, 0.0)
            li, xi = lamw[in_S], ax[in_S]
            g1 = rho + li * xi - np.sqrt(rho ** 2 + xi ** 2)
            with np.errstate(invalid="ignore", divide="ignore"):
                ok = (li < 1) & (xi >= li * rho / np.sqrt(np.maximum(1 - li ** 2, 1e-300)))
                g2 = np.where(ok, rho * (1 - np.sqrt(np.maximum(1 - li ** 2, 0))), -np.inf)
            g[in_S] = np.maximum(g1, g2)
    return np.maximum(g, 0.0)


def _local_fit(loss, A_S, y):
    if loss != "lad_lasso":
        return np.linalg.lstsq(A_S, y, rcond=None)[0]
    if A_S.shape[1] == 1:
        _, t = _min_abs_1d(y, np.ascontiguousarray(A_S[:, 0]), 0.0, 0.0)
        return np.array([t])
    from ._solvers.lp import WorkingSetLP, solve_lad_lp

    k = A_S.shape[1]
    res = solve_lad_lp(A_S, y, 0.0, np.zeros(k), False, fit_intercept=False,
                       sample_weight=None, w0=None, solver=WorkingSetLP(tol=1e-10))
    return res["w"]


def _paper_lambda(loss, alpha, m):
    # spec 0.1: lambda_WLASSO = 2 m alpha, lambda_SR = sqrt(m) alpha, lambda_LAD = m alpha
    return {"lasso": 2 * m * alpha, "sqrt_lasso": np.sqrt(m) * alpha,
            "lad_lasso": m * alpha}[loss]


def _loss_omp_one(A, y, loss, penalty, lam, w, K, return_path):
    m, N = A.shape
    x = np.zeros(N)
    in_S = np.zeros(N, dtype=bool)
    S = []
    lamw = lam * w
    lamw2 = lam * w ** 2
    path = []
    reason = "n_nonzero_coefs"
    r = y.copy()
    for _ in range(K):
        gains = _gains(loss, penalty, A, r, x, in_S, lamw, lamw2)
        j = int(np.argmax(gains))  # first maximal index
        if gains[j] <= 0:
            reason = "zero_gain"
            break
        if in_S[j]:
            reason = "support_stagnation"
            break
        S.append(j)
        in_S[j] = True
        xs = _local_fit(loss, A[:, S], y)
        x = np.zeros(N)
        x[S] = xs
        r = y - A[:, S] @ xs
        if return_path:
            path.append(x.copy())
        if len(S) >= m:
            reason = "full_support"
            break
    return x, len(S), reason, path


def loss_omp(X, y, *, loss="lasso", penalty="l1", alpha=0.0, weights=None,
             n_nonzero_coefs=None, return_path=False):
    r"""Loss-function-based OMP (greedy weighted LASSO / SR-LASSO / LAD-LASSO).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Design (columns are normalised internally; coefficients are returned
        for the original columns).
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    loss : {"lasso", "sqrt_lasso", "lad_lasso"}, default="lasso"
        Datafit of the loss G.
    penalty : {"l1", "l0"}, default="l1"
        Weighted l1 or weighted l0 term of G.
    alpha : float, default=0.0
        Regularisation in the convex estimators' normalisation (``Lasso``,
        ``SqrtLasso``, ``LADLasso``); the paper's ``lambda`` is ``2 n alpha``,
        ``sqrt(n) alpha`` and ``n alpha`` respectively.  ``alpha = 0`` gives
        OMP (l2 losses).
    weights : array-like of shape (n_features,), default=None
        Positive weights ``w_j`` of the normalised problem (None: ones).
    n_nonzero_coefs : int, default=None
        Maximal number of iterations (= support size), at most
        ``n_features`` (larger raises ``ValueError``); None: 10% of the
        features.
    return_path : bool, default=False
        Also return the iterates.

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) or (n_features, n_targets), ``n_iter``,
        ``stop_reason`` (list), ``path`` (list of arrays (n_iter, n_features))
        when ``return_path``.

    See Also
    --------
    LossOMP, omp, Lasso

    Notes
    -----
    Gains ``Delta_j = G(x) - min_t G(x + t e_j)`` have closed forms (spec
    2.3): e.g. LASSO-l1 ``(|a_j^T r| - lambda w_j / 2)_+^2`` outside the support;
    SR-l1 ``rho - lambda_j|c_j| - sqrt((1 - lambda_j^2)(rho^2 - c_j^2))`` when
    ``lambda_j < 1`` and ``|c_j| > lambda_j rho`` (0 otherwise; the reference
    code omits this condition); LAD variants use a weighted median per
    column (Numba, parallel over columns).  Stops when the best gain is 0,
    when the best index is already in the support (stagnation), or at
    ``n_nonzero_coefs``.  Cost per iteration ``2 n N + O(n k^2)`` (l2 losses),
    ``O(N n log n) + LP(n, k)`` (LAD).

    References
    ----------
    .. [1] Mohammad-Taheri, S. & Brugiapaglia, S. (2023). The greedy side of
       the LASSO: new algorithms for weighted sparse recovery via loss
       function-based orthogonal matching pursuit. arXiv:2303.00844.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import loss_omp
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 80)); x = np.zeros(80); x[[3, 10]] = [1.0, -2.0]
    >>> res = loss_omp(X, X @ x, loss="sqrt_lasso", alpha=0.05, n_nonzero_coefs=5)
    >>> np.flatnonzero(res.coef)
    array([ 3, 10])
    """
    validate_params(dict(loss=loss, penalty=penalty, alpha=alpha),
                    {"loss": [Options("lasso", "sqrt_lasso", "lad_lasso")],
                     "penalty": [Options("l1", "l0")],
                     "alpha": [Interval(numbers.Real, 0, None, closed="left")]}, "loss_omp")
    X = check_matrix(X, "X")
    Y, was_1d = check_targets(y, X.shape[0], "y", dtype=np.float64)
    m, N = X.shape
    norms = np.linalg.norm(X, axis=0)
    if np.any(norms == 0):
        raise ValueError(f"X has zero columns ({np.flatnonzero(norms == 0)[:5].tolist()}); "
                         "loss_omp needs columns that can be normalised.")
    A = np.asfortranarray(X / norms, dtype=np.float64)
    w = np.ones(N) if weights is None else check_weights(weights, N)
    if np.any(w == 0) or np.any(np.isinf(w)):
        raise ValueError("weights of loss_omp must be positive and finite.")
    if n_nonzero_coefs is None:
        K = max(int(0.1 * N), 1)
    else:
        if isinstance(n_nonzero_coefs, (bool, np.bool_)) or not isinstance(
                n_nonzero_coefs, numbers.Integral) or n_nonzero_coefs < 1:
            raise ValueError(f"n_nonzero_coefs must be a positive int; got {n_nonzero_coefs!r}.")
        K = int(n_nonzero_coefs)
        if K > N:
            raise ValueError(f"n_nonzero_coefs={K} exceeds n_features={N}: a pursuit over "
                             f"{N} columns selects at most {N}; pass n_nonzero_coefs <= {N}.")
    lam = _paper_lambda(loss, float(alpha), m)
    coefs = np.zeros((N, Y.shape[1]))
    n_iter = np.zeros(Y.shape[1], dtype=int)
    reasons, paths = [], []
    for t in range(Y.shape[1]):
        x, k, reason, path = _loss_omp_one(A, Y[:, t], loss, penalty, lam, w, K, return_path)
        coefs[:, t] = x / norms
        n_iter[t] = k
        reasons.append(reason)
        if return_path:
            paths.append(np.array(path).reshape(-1, N) / norms)
    res = SolverResult(coef=coefs[:, 0] if was_1d else coefs,
                       n_iter=int(n_iter[0]) if was_1d else n_iter,
                       stop_reason=reasons[0] if was_1d else reasons, converged=True,
                       lambda_=lam)
    if return_path:
        res.path = paths[0] if was_1d else paths
    return res


class LossOMP(MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""Loss-function-based OMP (greedy weighted LASSO, SR-LASSO, LAD-LASSO).

    Parameters
    ----------
    loss : {"lasso", "sqrt_lasso", "lad_lasso"}, default="lasso"
        Datafit of the loss G (the same datafits as ``Lasso``, ``SqrtLasso``,
        ``LADLasso``).
    penalty : {"l1", "l0"}, default="l1"
        Weighted l1 or weighted l0 term of G.
    alpha : float, default=0.0
        Regularisation, normalised as in the convex estimators.
    weights : array-like of shape (n_features,), default=None
        Positive weights of the normalised problem.
    n_nonzero_coefs : int, default=None
        Maximal number of iterations / support size, at most ``n_features``
        (larger raises ``ValueError``; None: 10% of features).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float
        Always 0 (the paper's model has no intercept).
    n_iter_ : int or ndarray
        Iterations run (= support size).
    stop_reason_ : str or list
        "n_nonzero_coefs", "zero_gain", "support_stagnation" or "full_support".
    lambda_ : float
        The paper's lambda corresponding to ``alpha``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    loss_omp, OrthogonalMatchingPursuit, Lasso

    Notes
    -----
    See ``loss_omp`` for the gains and the stopping rules.

    References
    ----------
    .. [1] Mohammad-Taheri, S. & Brugiapaglia, S. (2023). arXiv:2303.00844.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import LossOMP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 80)); x = np.zeros(80); x[[3, 10]] = [1.0, -2.0]
    >>> reg = LossOMP(loss="lasso", alpha=1e-4, n_nonzero_coefs=6).fit(X, X @ x)
    >>> np.flatnonzero(reg.coef_), reg.stop_reason_
    (array([ 3, 10]), 'support_stagnation')
    """

    _parameter_constraints = {
        "loss": [Options("lasso", "sqrt_lasso", "lad_lasso")],
        "penalty": [Options("l1", "l0")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "weights": ["array-like", None],
        "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(self, loss="lasso", penalty="l1", *, alpha=0.0, weights=None,
                 n_nonzero_coefs=None):
        self.loss = loss
        self.penalty = penalty
        self.alpha = alpha
        self.weights = weights
        self.n_nonzero_coefs = n_nonzero_coefs

    def fit(self, X, y):
        """Run the greedy pursuit.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Design.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints, "LossOMP")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True,
                             multi_output=True)
        res = loss_omp(X, y, loss=self.loss, penalty=self.penalty, alpha=self.alpha,
                       weights=self.weights, n_nonzero_coefs=self.n_nonzero_coefs)
        coef = np.asarray(res.coef)
        self.coef_ = (coef if coef.ndim == 1 else coef.T).astype(X.dtype)
        self.intercept_ = X.dtype.type(0.0) if coef.ndim == 1 else np.zeros(coef.shape[1],
                                                                             X.dtype)
        self.n_iter_ = res.n_iter
        self.stop_reason_ = res.stop_reason
        self.lambda_ = float(res.lambda_)
        return self

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X @ np.asarray(self.coef_).T + self.intercept_
