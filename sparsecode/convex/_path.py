"""Regularisation paths and cross-validated estimators (spec 3.3).

A geometric grid from ``alpha_max`` down to ``eps * alpha_max``; each solve is
warm-started from the previous solution (coefficients, intercept and, for the
working-set LP, the support).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.model_selection import check_cv
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import SolverResult, warn_not_converged
from .._validation import Interval, check_matrix, check_targets, validate_params
from . import _penalties as PEN
from ._datafits import AbsoluteDeviation, Quadratic, SqrtQuadratic
from ._fit import (_SCALE_EXP, Prepared, _alpha_max_one, _check_sample_weight, _ldexp, _max_exp,
                   datafit_kind, penalized_fit, resolve_solver)

__all__ = ["penalized_path", "lasso_path", "weighted_lasso_path", "sqrt_lasso_path",
           "lad_lasso_path", "LassoCV", "WeightedLassoCV", "SqrtLassoCV", "LADLassoCV"]

_PATH_CONSTRAINTS = {
    "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_alphas": [Interval(numbers.Integral, 1, None, closed="left")],
    "alphas": ["array-like", None],
    "fit_intercept": ["boolean"],
    "positive": ["boolean"],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
}


def _grid(amax, eps, n_alphas):
    if amax <= 0:
        return np.zeros(n_alphas)
    return np.geomspace(amax, amax * eps, n_alphas)


def penalized_path(X, y, *, datafit="quadratic", penalty=None, weights=None, eps=1e-3,
                   n_alphas=100, alphas=None, fit_intercept=False, positive=False,
                   sample_weight=None, solver="auto", tol=None, max_iter=None, verbose=0):
    r"""Solutions along a geometric alpha grid, warm-started (any datafit, L1-type penalty).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    datafit : {"quadratic", "sqrt", "lad"} or datafit object, default="quadratic"
        The datafit.
    penalty : penalty object or None, default=None
        A penalty whose ``alpha`` is replaced along the path (e.g. ``MCP``);
        ``None`` means ``WeightedL1(weights)``.
    weights : array-like of shape (n_features,), default=None
        L1 weights (0 = unpenalised, inf = excluded) when ``penalty`` is None.
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid (sorted decreasingly).
    fit_intercept : bool, default=False
        Fit an unpenalised intercept (scikit-learn's ``lasso_path`` assumes
        centred data and fits none).
    positive : bool, default=False
        Non-negativity.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    solver : str or solver object, default="auto"
        As in ``PenalizedRegression``.
    tol, max_iter : optional
        Solver tolerance and iterations.
    verbose : int, default=0
        Verbosity.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        Solutions.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
        Final gaps (NaN for non-convex penalties).

    See Also
    --------
    lasso_path, sqrt_lasso_path, lad_lasso_path, alpha_max

    Notes
    -----
    ``alpha_max`` is the closed form of spec 3.1 for the datafit;
    warm starts make a 100-point path cost a few cold solves.

    References
    ----------
    .. [1] Friedman, J., Hastie, T. & Tibshirani, R. (2010). Regularization
       paths for generalized linear models via coordinate descent. JSS 33.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import penalized_path
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 20)), rng.standard_normal(30)
    >>> alphas, coefs, gaps = penalized_path(X, y, datafit="sqrt", n_alphas=5)
    >>> coefs.shape, bool(np.all(coefs[:, 0] == 0))
    ((20, 5), True)
    """
    validate_params(dict(eps=eps, n_alphas=n_alphas, alphas=alphas, fit_intercept=fit_intercept,
                         positive=positive, tol=tol, max_iter=max_iter), _PATH_CONSTRAINTS,
                    "penalized_path")
    res = _path(X, y, datafit, penalty, weights, eps, n_alphas, alphas, fit_intercept, positive,
                sample_weight, solver, tol, max_iter, verbose)
    coefs = res.coefs
    gaps = res.gaps
    if res.was_1d:
        coefs = coefs[0]
        gaps = gaps[0]
    return res.alphas, coefs, gaps


def _path(X, y, datafit, penalty, weights, eps, n_alphas, alphas, fit_intercept, positive,
          sample_weight, solver, tol, max_iter, verbose, X_checked=False):
    """The path, on data brought to unit scale by exact powers of two when it is
    far from it (always for LAD, whose LP solvers use absolute tolerances)
    and the penalty is L1-type; the results are scaled back."""
    if not X_checked:
        X = check_matrix(X, "X", accept_sparse=("csc", "csr"))
    Y, was_1d = check_targets(y, X.shape[0], "y", dtype=np.float64)
    kind = datafit_kind(datafit)
    ea, eb = _max_exp(X), _max_exp(Y)
    limit = 0 if kind == "lad" else _SCALE_EXP
    l1 = penalty is None or type(penalty) in (PEN.L1, PEN.WeightedL1)
    if not l1 or kind == "generic" or (abs(ea) <= limit and abs(eb) <= limit):
        return _path_core(X, Y, datafit, penalty, weights, eps, n_alphas, alphas, fit_intercept,
                          positive, sample_weight, solver, tol, max_iter, verbose, was_1d)
    d = 2 if kind == "quad" else 1
    ealpha = (1 - d) * eb - ea  # alpha~ = alpha 2**ealpha
    if alphas is not None:
        alphas = np.ldexp(np.asarray(alphas, dtype=float), ealpha)
    res = _path_core(_ldexp(X, -ea), np.ldexp(Y, -eb), datafit, penalty, weights, eps,
                     n_alphas, alphas, fit_intercept, positive, sample_weight, solver, tol,
                     max_iter, verbose, was_1d)
    with np.errstate(over="ignore", under="ignore"):
        res.alphas = np.ldexp(res.alphas, -ealpha)
        res.coefs = np.ldexp(res.coefs, eb - ea)
        res.intercepts = np.ldexp(res.intercepts, eb)
        res.gaps = np.ldexp(res.gaps, d * eb)
    if not (np.all(np.isfinite(res.alphas)) and np.all(np.isfinite(res.coefs))
            and np.all(np.isfinite(res.intercepts))):
        raise ValueError(f"X and y: the alphas or coefficients of the path (scales 2**{ea} "
                         f"and 2**{eb}) leave the float64 range; rescale X or y.")
    return res


def _path_core(X, Y, datafit, penalty, weights, eps, n_alphas, alphas, fit_intercept, positive,
               sample_weight, solver, tol, max_iter, verbose, was_1d):
    n, N = X.shape
    kind = datafit_kind(datafit)
    df = {"quad": Quadratic(), "sqrt": SqrtQuadratic(), "lad": AbsoluteDeviation()}.get(
        kind, datafit)
    if penalty is None:
        wts = np.ones(N) if weights is None else PEN.check_weights(weights, N)
        penalty = PEN.WeightedL1(1.0, wts, positive=positive)
    else:
        PEN.validate_penalty(penalty, N)
    sw = _check_sample_weight(sample_weight, n, X.dtype)
    user_alphas = alphas is not None
    if not user_alphas:
        if kind == "generic":
            raise ValueError("give alphas explicitly for a user datafit.")
        wts = PEN.penalty_weights(penalty, N) if PEN.is_convex(penalty) else np.ones(N)
        Xd = X.astype(np.float64)
        amax = max(_alpha_max_one(Xd, Y[:, t], kind, wts, fit_intercept, sw,
                                  bool(getattr(penalty, "positive", False)))
                   for t in range(Y.shape[1]))
        alphas = _grid(amax, eps, n_alphas)
        # alpha_max = 0 (y = 0, X = 0, or y orthogonal to the penalised
        # columns): the zero solution is optimal for every alpha >= 0; the
        # grid is all zeros and each point is solved at a positive alpha,
        # where the duality gap is defined (at alpha = 0 it is not)
        zero_grid = amax <= 0
    else:
        zero_grid = False
    if user_alphas:
        alphas = np.sort(np.asarray(alphas, dtype=float))[::-1]
        if np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
            raise ValueError("alphas must be finite and >= 0.")
    solver = resolve_solver(solver, kind, penalty, tol=tol, max_iter=max_iter, verbose=verbose,
                            datafit=df)
    prep = Prepared(X, Y, kind, fit_intercept, sw)
    L = Y.shape[1]
    coefs = np.zeros((L, N, alphas.size))
    intercepts = np.zeros((L, alphas.size))
    gaps = np.full((L, alphas.size), np.nan)
    n_iter = np.zeros((L, alphas.size), dtype=int)
    W = None
    b = None
    n_failed = 0
    worst = 0.0
    for k, a in enumerate(alphas):
        pen = PEN.with_alpha(penalty, 1.0 if zero_grid else a)
        r = penalized_fit(X, Y, df, pen, solver, fit_intercept=fit_intercept, coef_init=W,
                          intercept_init=b, prepared=prep, warn=False)
        W, b = r.coef, r.intercept
        coefs[:, :, k] = W.T
        intercepts[:, k] = b
        gaps[:, k] = r.dual_gap
        n_iter[:, k] = r.n_iter
        if not r.converged:
            n_failed += 1
            worst = max(worst, float(np.nanmax(r.kkt)))
    warn_not_converged(f"path ({type(solver).__name__})", n_failed, alphas.size,
                       "stopping figure", worst, float(solver.tol))
    return SolverResult(alphas=alphas, coefs=coefs, intercepts=intercepts, gaps=gaps,
                        n_iter=n_iter, was_1d=was_1d, converged=n_failed == 0)


def lasso_path(X, y, *, eps=1e-3, n_alphas=100, alphas=None, fit_intercept=False,
               positive=False, tol=1e-4, max_iter=50, verbose=0):
    r"""Lasso regularisation path (warm-started Anderson CD).

    Objective ``||y - Xw||^2 / (2 n) + alpha ||w||_1`` (scikit-learn's).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=False
        Fit an intercept (scikit-learn's ``lasso_path`` does not).
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Duality-gap tolerance relative to ``P(0)``.
    max_iter : int, default=50
        Working-set iterations per alpha.
    verbose : int, default=0
        Verbosity.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        Solutions.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
        Final duality gaps.

    See Also
    --------
    Lasso, LassoCV, penalized_path

    Notes
    -----
    ``alpha_max = ||X^T y||_inf / n``; grid ``geomspace(alpha_max, eps
    alpha_max, n_alphas)``.

    References
    ----------
    .. [1] Friedman, J., Hastie, T. & Tibshirani, R. (2010). Regularization
       paths for generalized linear models via coordinate descent. JSS 33.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 20)), rng.standard_normal(30)
    >>> alphas, coefs, gaps = lasso_path(X, y, n_alphas=10)
    >>> coefs.shape
    (20, 10)
    """
    return penalized_path(X, y, datafit="quadratic", eps=eps, n_alphas=n_alphas, alphas=alphas,
                          fit_intercept=fit_intercept, positive=positive, tol=tol,
                          max_iter=max_iter, verbose=verbose)


def weighted_lasso_path(X, y, weights, *, eps=1e-3, n_alphas=100, alphas=None,
                        fit_intercept=False, positive=False, tol=1e-4, max_iter=50, verbose=0):
    r"""Weighted-Lasso path (weights 0 = unpenalised, inf = excluded).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    weights : array-like of shape (n_features,)
        Non-negative weights.
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=False
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Duality-gap tolerance relative to ``P(0)``.
    max_iter : int, default=50
        Working-set iterations per alpha.
    verbose : int, default=0
        Verbosity.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        Solutions.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
        Final duality gaps.

    See Also
    --------
    WeightedLasso, WeightedLassoCV, lasso_path

    Notes
    -----
    ``alpha_max = max_{w_j > 0} |x_j^T r0| / (n w_j)``, r0 the residual after
    the unpenalised features (spec 3.1a).

    References
    ----------
    .. [1] Zou, H. (2006). The adaptive lasso and its oracle properties. JASA.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import weighted_lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    >>> _, coefs, _ = weighted_lasso_path(X, y, [0, 1, 1, 1, 1], n_alphas=3)
    >>> bool(coefs[0, 0] != 0), bool(np.all(coefs[1:, 0] == 0))
    (True, True)
    """
    return penalized_path(X, y, datafit="quadratic", weights=weights, eps=eps,
                          n_alphas=n_alphas, alphas=alphas, fit_intercept=fit_intercept,
                          positive=positive, tol=tol, max_iter=max_iter, verbose=verbose)


def sqrt_lasso_path(X, y, *, weights=None, eps=1e-3, n_alphas=100, alphas=None,
                    fit_intercept=False, positive=False, tol=1e-4, max_iter=100, verbose=0):
    r"""Square-root Lasso path (concomitant CD, warm-started).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    weights : array-like of shape (n_features,), default=None
        Penalty weights.
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=False
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Gap tolerance relative to ``||y|| / sqrt(n)``.
    max_iter : int, default=100
        Concomitant alternations per alpha.
    verbose : int, default=0
        Verbosity.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        Solutions.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
        Final duality gaps.

    See Also
    --------
    SqrtLasso, SqrtLassoCV

    Notes
    -----
    ``alpha_max = ||X^T r0||_inf / (sqrt(n) ||r0||)`` (normalised form; spec
    3.1b).  Small alphas may make the solution interpolate (``r = 0``); the
    noise floor ``sigma_min`` then becomes active and a warning is emitted.

    References
    ----------
    .. [1] Belloni, A., Chernozhukov, V. & Wang, L. (2011). Square-root lasso.
       Biometrika.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import sqrt_lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 10)), rng.standard_normal(40)
    >>> alphas, coefs, gaps = sqrt_lasso_path(X, y, n_alphas=4, eps=0.1)
    >>> coefs.shape
    (10, 4)
    """
    return penalized_path(X, y, datafit="sqrt", weights=weights, eps=eps, n_alphas=n_alphas,
                          alphas=alphas, fit_intercept=fit_intercept, positive=positive,
                          tol=tol, max_iter=max_iter, verbose=verbose)


def lad_lasso_path(X, y, *, weights=None, eps=1e-2, n_alphas=20, alphas=None,
                   fit_intercept=False, positive=False, tol=1e-6, max_iter=100, verbose=0):
    r"""LAD-Lasso path (working-set LP, supports carried along the path).

    Parameters
    ----------
    X : {array-like, sparse matrix} of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets.
    weights : array-like of shape (n_features,), default=None
        Penalty weights.
    eps : float, default=1e-2
        ``alpha_min / alpha_max``.
    n_alphas : int, default=20
        Grid size (each point is an LP).
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=False
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-6
        Gap tolerance relative to ``P(0)``.
    max_iter : int, default=100
        Working-set enlargements per alpha.
    verbose : int, default=0
        Verbosity.

    Returns
    -------
    alphas : ndarray of shape (n_alphas,)
        The grid.
    coefs : ndarray of shape (n_features, n_alphas) or (n_targets, n_features, n_alphas)
        Solutions.
    dual_gaps : ndarray of shape (n_alphas,) or (n_targets, n_alphas)
        Final duality gaps.

    See Also
    --------
    LADLasso, LADLassoCV

    Notes
    -----
    ``alpha_max`` is the LP of spec 3.1c over the subgradient of the zero
    residuals.

    References
    ----------
    .. [1] Wang, H., Li, G. & Jiang, G. (2007). Robust regression shrinkage
       and consistent variable selection through the LAD-Lasso. JBES.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import lad_lasso_path
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 10)), rng.standard_normal(40)
    >>> alphas, coefs, gaps = lad_lasso_path(X, y, n_alphas=3)
    >>> coefs.shape
    (10, 3)
    """
    return penalized_path(X, y, datafit="lad", weights=weights, eps=eps, n_alphas=n_alphas,
                          alphas=alphas, fit_intercept=fit_intercept, positive=positive,
                          tol=tol, max_iter=max_iter, verbose=verbose)


# ---------------------------------------------------------------------------
# cross-validation
# ---------------------------------------------------------------------------
class _PenalizedCV(MultiOutputMixin, RegressorMixin, BaseEstimator):
    _kind = "quad"

    _parameter_constraints = {
        "eps": [Interval(numbers.Real, 0, 1, closed="neither")],
        "n_alphas": [Interval(numbers.Integral, 1, None, closed="left")],
        "alphas": ["array-like", None],
        "fit_intercept": ["boolean"],
        "positive": ["boolean"],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "cv": [Interval(numbers.Integral, 2, None, closed="left"), "array-like", None, object],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _weights(self, n_features):
        w = getattr(self, "weights", None)
        return None if w is None else PEN.check_weights(w, n_features)

    def fit(self, X, y, sample_weight=None):
        """Choose alpha by K-fold cross-validation, then refit on all data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Design.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        X, y = validate_data(self, X, y, accept_sparse=("csc", "csr"),
                             dtype=[np.float64, np.float32], y_numeric=True, multi_output=True)
        if sp.issparse(X):
            X = X.tocsr()
        was_1d = y.ndim == 1
        n, N = X.shape
        wts = self._weights(N)
        sw = _check_sample_weight(sample_weight, n, X.dtype)
        kw = dict(penalty=None, weights=wts, fit_intercept=self.fit_intercept,
                  positive=self.positive, solver="auto", tol=self.tol, max_iter=self.max_iter,
                  verbose=0)
        full = _path(X, y, self._kind, eps=self.eps, n_alphas=self.n_alphas, alphas=self.alphas,
                     sample_weight=sw, X_checked=True, **kw)
        alphas = full.alphas
        cv = check_cv(self.cv)
        errs = np.zeros((alphas.size, cv.get_n_splits(X, y)))
        Y2 = y.reshape(n, -1)
        for f, (tr, te) in enumerate(cv.split(X, y)):
            r = _path(X[tr], Y2[tr], self._kind, eps=self.eps, n_alphas=self.n_alphas,
                      alphas=alphas, sample_weight=None if sw is None else sw[tr],
                      X_checked=True, **kw)
            pred = np.stack([np.asarray(safe_sparse_dot(X[te], r.coefs[t]))
                             + r.intercepts[t] for t in range(Y2.shape[1])], axis=1)
            resid = pred - Y2[te][:, :, None]  # (n_te, L, n_alphas)
            if self._kind == "lad":
                errs[:, f] = np.mean(np.abs(resid), axis=(0, 1))
            else:
                errs[:, f] = np.mean(resid ** 2, axis=(0, 1))
        best = int(np.argmin(errs.mean(axis=1)))
        self.alphas_ = alphas
        self.mse_path_ = errs
        self.alpha_ = float(alphas[best])
        coef = full.coefs[:, :, best].astype(X.dtype)
        inter = full.intercepts[:, best].astype(X.dtype)
        self.coef_ = coef[0] if was_1d else coef
        self.intercept_ = inter[0] if was_1d else inter
        if not self.fit_intercept:
            self.intercept_ = X.dtype.type(0) if was_1d else np.zeros(coef.shape[0], X.dtype)
        self.dual_gap_ = float(full.gaps[0, best]) if was_1d else full.gaps[:, best]
        self.n_iter_ = int(full.n_iter[0, best]) if was_1d else full.n_iter[:, best]
        return self

    def predict(self, X):
        """Predict with the model refitted at ``alpha_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=("csc", "csr"), dtype=[np.float64, np.float32],
                          reset=False)
        return safe_sparse_dot(X, np.asarray(self.coef_).T, dense_output=True) + self.intercept_


class LassoCV(_PenalizedCV):
    r"""Lasso with alpha chosen by K-fold cross-validation (mean squared error).

    Parameters
    ----------
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=True
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Solver tolerance (relative duality gap).
    max_iter : int, default=50
        Solver iterations per alpha.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (None: 5-fold).
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    alpha_ : float
        Selected alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The grid (computed on all data).
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean squared error.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_`` (from the full-data path).
    intercept_ : float or ndarray
        Intercept.
    dual_gap_ : float or ndarray
        Duality gap at ``alpha_``.
    n_iter_ : int or ndarray
        Iterations at ``alpha_``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, lasso_path

    Notes
    -----
    Each fold runs a warm-started path on the full-data grid.

    References
    ----------
    .. [1] Friedman, J., Hastie, T. & Tibshirani, R. (2010). JSS 33.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import LassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 20)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
    >>> reg = LassoCV(n_alphas=10, cv=3).fit(X, y)
    >>> int(np.argmax(np.abs(reg.coef_)))
    0
    """

    _kind = "quad"

    def __init__(self, *, eps=1e-3, n_alphas=100, alphas=None, fit_intercept=True,
                 positive=False, tol=1e-4, max_iter=50, cv=None, verbose=0):
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.verbose = verbose


class WeightedLassoCV(_PenalizedCV):
    r"""Weighted Lasso with alpha chosen by K-fold cross-validation.

    Parameters
    ----------
    weights : array-like of shape (n_features,), default=None
        Penalty weights (0 = unpenalised, inf = excluded).
    eps : float, default=1e-3
        ``alpha_min / alpha_max``.
    n_alphas : int, default=100
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=True
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Solver tolerance.
    max_iter : int, default=50
        Solver iterations per alpha.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn.
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    alpha_ : float
        Selected alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The grid.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean squared error.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_``.
    intercept_ : float or ndarray
        Intercept.
    dual_gap_ : float or ndarray
        Duality gap at ``alpha_``.
    n_iter_ : int or ndarray
        Iterations at ``alpha_``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    WeightedLasso, weighted_lasso_path

    Notes
    -----
    Same procedure as ``LassoCV`` with the weighted penalty.

    References
    ----------
    .. [1] Zou, H. (2006). The adaptive lasso and its oracle properties. JASA.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import WeightedLassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
    >>> reg = WeightedLassoCV(weights=np.ones(8), n_alphas=5, cv=3).fit(X, y)
    >>> reg.mse_path_.shape
    (5, 3)
    """

    _kind = "quad"
    _parameter_constraints = {**_PenalizedCV._parameter_constraints,
                              "weights": ["array-like", None]}

    def __init__(self, *, weights=None, eps=1e-3, n_alphas=100, alphas=None, fit_intercept=True,
                 positive=False, tol=1e-4, max_iter=50, cv=None, verbose=0):
        self.weights = weights
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.verbose = verbose


class SqrtLassoCV(_PenalizedCV):
    r"""Square-root Lasso with alpha chosen by K-fold cross-validation.

    Parameters
    ----------
    weights : array-like of shape (n_features,), default=None
        Penalty weights.
    eps : float, default=0.05
        ``alpha_min / alpha_max`` (small alphas make the square-root Lasso
        interpolate; keep eps moderate).
    n_alphas : int, default=30
        Grid size.
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=True
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-4
        Solver tolerance.
    max_iter : int, default=100
        Concomitant alternations per alpha.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn.
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    alpha_ : float
        Selected alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The grid.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean squared error.
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_``.
    intercept_ : float or ndarray
        Intercept.
    dual_gap_ : float or ndarray
        Duality gap at ``alpha_``.
    n_iter_ : int or ndarray
        Iterations at ``alpha_``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    SqrtLasso, sqrt_lasso_path

    Notes
    -----
    Same procedure as ``LassoCV`` with the square-root datafit.

    References
    ----------
    .. [1] Belloni, A., Chernozhukov, V. & Wang, L. (2011). Biometrika.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SqrtLassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 8)); y = X[:, 0] + 0.1 * rng.standard_normal(60)
    >>> reg = SqrtLassoCV(n_alphas=5, cv=3).fit(X, y)
    >>> int(np.argmax(np.abs(reg.coef_)))
    0
    """

    _kind = "sqrt"
    _parameter_constraints = {**_PenalizedCV._parameter_constraints,
                              "weights": ["array-like", None]}

    def __init__(self, *, weights=None, eps=0.05, n_alphas=30, alphas=None, fit_intercept=True,
                 positive=False, tol=1e-4, max_iter=100, cv=None, verbose=0):
        self.weights = weights
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.verbose = verbose


class LADLassoCV(_PenalizedCV):
    r"""LAD-Lasso with alpha chosen by K-fold cross-validation (mean absolute error).

    Parameters
    ----------
    weights : array-like of shape (n_features,), default=None
        Penalty weights.
    eps : float, default=1e-2
        ``alpha_min / alpha_max``.
    n_alphas : int, default=10
        Grid size (each point is an LP per fold).
    alphas : array-like, default=None
        Explicit grid.
    fit_intercept : bool, default=True
        Fit an intercept.
    positive : bool, default=False
        Non-negativity.
    tol : float, default=1e-6
        Solver tolerance.
    max_iter : int, default=100
        Working-set enlargements per alpha.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn.
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    alpha_ : float
        Selected alpha.
    alphas_ : ndarray of shape (n_alphas,)
        The grid.
    mse_path_ : ndarray of shape (n_alphas, n_folds)
        Held-out mean absolute error (name kept for scikit-learn familiarity).
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients at ``alpha_``.
    intercept_ : float or ndarray
        Intercept.
    dual_gap_ : float or ndarray
        Duality gap at ``alpha_``.
    n_iter_ : int or ndarray
        Iterations at ``alpha_``.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    LADLasso, lad_lasso_path

    Notes
    -----
    The held-out error is the mean absolute error, consistent with the loss.

    References
    ----------
    .. [1] Wang, H., Li, G. & Jiang, G. (2007). JBES.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import LADLassoCV
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 6)); y = X[:, 0] + 0.1 * rng.standard_normal(40)
    >>> reg = LADLassoCV(n_alphas=4, cv=2).fit(X, y)
    >>> int(np.argmax(np.abs(reg.coef_)))
    0
    """

    _kind = "lad"
    _parameter_constraints = {**_PenalizedCV._parameter_constraints,
                              "weights": ["array-like", None]}

    def __init__(self, *, weights=None, eps=1e-2, n_alphas=10, alphas=None, fit_intercept=True,
                 positive=False, tol=1e-6, max_iter=100, cv=None, verbose=0):
        self.weights = weights
        self.eps = eps
        self.n_alphas = n_alphas
        self.alphas = alphas
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.verbose = verbose
