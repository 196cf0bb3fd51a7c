"""Estimators: Lasso, WeightedLasso, SqrtLasso, LADLasso, PenalizedRegression.

Thin scikit-learn wrappers over ``_fit.penalized_fit`` (STYLE.md section 4):
parameters stored untouched, validated in ``fit``; fitted ``coef_``,
``intercept_``, ``n_iter_``, ``dual_gap_`` (convex penalties) and
``kkt_violation_`` (the stopping figure).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.extmath import safe_sparse_dot
from sklearn.utils.validation import check_is_fitted, validate_data

from .._validation import Interval, Options, validate_params
from . import _penalties as PEN
from ._datafits import AbsoluteDeviation, Quadratic, SqrtQuadratic
from ._fit import _check_sample_weight, penalized_fit

__all__ = ["Lasso", "ElasticNet", "MultiTaskLasso", "WeightedLasso", "SqrtLasso", "LADLasso",
           "PenalizedRegression"]

_COMMON = {
    "fit_intercept": ["boolean"],
    "positive": ["boolean"],
    "warm_start": ["boolean"],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
}


class _BasePenalized(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Shared fit/predict of the convex family's regressors."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # subclasses define _datafit(), _penalty(n_features), _solver(), _owner
    def _validate_data(self, X, y):
        X, y = validate_data(self, X, y, accept_sparse=("csc", "csr"),
                             dtype=[np.float64, np.float32], y_numeric=True, multi_output=True,
                             order="F")
        return X, y

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Design matrix (float32 is kept as float32).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights (rescaled to sum to n_samples).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        if _operator_or_complex(X, y):
            return self._fit_operator(X, y, sample_weight)
        X, y = self._validate_data(X, y)
        was_1d = y.ndim == 1
        Y = y.reshape(-1, 1) if was_1d else y
        n, N = X.shape
        sw = _check_sample_weight(sample_weight, n, X.dtype)
        self._resolve_params(X, sw)
        datafit = self._datafit()
        penalty = self._penalty(N)
        coef_init = intercept_init = None
        if self.warm_start and hasattr(self, "coef_") and \
                np.shape(self.coef_)[-1] == N and np.size(self.coef_) == N * Y.shape[1]:
            coef_init = np.asarray(self.coef_, dtype=np.float64).reshape(Y.shape[1], N).T
            intercept_init = np.atleast_1d(self.intercept_)
        res = penalized_fit(X, Y, datafit, penalty, self._solver(),
                            fit_intercept=self.fit_intercept, sample_weight=sw,
                            coef_init=coef_init, intercept_init=intercept_init,
                            tol=self._tol(), max_iter=self._max_iter(),
                            verbose=int(self.verbose), owner=type(self).__name__)
        coef = res.coef.T.astype(X.dtype)
        inter = res.intercept.astype(X.dtype)
        self.coef_ = coef[0] if was_1d else coef
        self.intercept_ = inter[0] if was_1d else inter
        if not self.fit_intercept:
            self.intercept_ = X.dtype.type(0.0) if was_1d else np.zeros(Y.shape[1], X.dtype)
        self.n_iter_ = int(res.n_iter[0]) if was_1d else res.n_iter
        self.dual_gap_ = float(res.dual_gap[0]) if was_1d else res.dual_gap
        self.kkt_violation_ = float(res.kkt[0]) if was_1d else res.kkt
        self._post_fit(res, was_1d)
        return self

    def _post_fit(self, res, was_1d):
        pass

    # penalty name of ``_operator_solvers.solve_operator`` (None: no matrix-free route)
    def _operator_penalty(self):
        return None

    def _fit_operator(self, X, y, sample_weight):
        """A ``scipy.sparse.linalg.LinearOperator`` or complex data: the
        matrix-free solvers (``_operator_solvers.solve_operator``: FISTA with
        restart, same objective)."""
        from scipy.sparse.linalg import LinearOperator

        name = type(self).__name__
        pen = self._operator_penalty()
        if pen is None:
            if _is_complex(X, y):
                raise ValueError(f"Complex data not supported by {name} (its penalty is "
                                 f"real-only); Lasso(positive=False) accepts complex data.")
            raise TypeError(f"{name} needs an explicit matrix X; got {type(X).__name__}. "
                            f"Lasso and ElasticNet accept LinearOperators.")
        if sample_weight is not None:
            raise ValueError(f"sample_weight is not supported by {name} on a LinearOperator "
                             f"or complex data; pass sample_weight=None.")
        from ._operator_solvers import solve_operator

        is_op = isinstance(X, LinearOperator)
        yv = np.asarray(y)
        if not np.all(np.isfinite(yv)):
            raise ValueError("y contains NaN or inf.")
        if yv.ndim not in (1, 2) or yv.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) or ({X.shape[0]}, n_targets); "
                             f"got {yv.shape}.")
        cplx = _is_complex(X, y)
        if cplx and pen != "l1":
            raise ValueError(f"Complex data not supported by {name} with positive=True or "
                             f"l1_ratio < 1 (real-only penalties); use Lasso(positive=False).")
        x_off = y_off = 0.0
        if not is_op:
            X = np.asarray(X)
            if not np.all(np.isfinite(X)):
                raise ValueError("X contains NaN or inf.")
        if self.fit_intercept:
            if is_op:
                raise ValueError(f"fit_intercept=True needs an explicit matrix X; with a "
                                 f"LinearOperator centre y (and the operator) and pass "
                                 f"fit_intercept=False.")
            x_off = X.mean(axis=0)
            y_off = yv.mean(axis=0)
            X = X - x_off
            yv = yv - y_off
        params = {}
        if pen == "l1_l2":
            params["l1_ratio"] = float(self.l1_ratio)
        coef, info = solve_operator(X, yv, datafit="squared", penalty=pen,
                                    alpha=float(self.alpha), tol=float(self.tol),
                                    max_iter=self._operator_max_iter(), **params)
        coef = np.asarray(coef)
        self.n_features_in_ = X.shape[1]
        self.coef_ = coef if coef.ndim == 1 else coef.T
        if self.fit_intercept:
            self.intercept_ = y_off - (x_off @ coef)
        else:
            self.intercept_ = 0.0 if yv.ndim == 1 else np.zeros(yv.shape[1], dtype=coef.dtype)
        self.n_iter_ = info.get("n_iter")
        self.dual_gap_ = info.get("duality_gap")
        self.kkt_violation_ = info.get("certificate")
        self._operator_fit_ = True
        return self

    def _operator_max_iter(self):
        return None

    def _resolve_params(self, X, sample_weight):
        pass

    def _tol(self):
        return getattr(self, "tol", None)

    def _max_iter(self):
        return getattr(self, "max_iter", None)

    @property
    def sparse_coef_(self):
        """The coefficients as a scipy.sparse CSR matrix."""
        return sp.csr_matrix(np.atleast_2d(self.coef_))

    def predict(self, X):
        """Predict with the linear model.

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
        if _operator_or_complex(X, None) or getattr(self, "_operator_fit_", False):
            from scipy.sparse.linalg import LinearOperator

            C = np.asarray(self.coef_)
            if isinstance(X, LinearOperator):
                out = X.matvec(C) if C.ndim == 1 else X.matmat(C.T)
            else:
                out = np.asarray(X) @ C.T
            return np.asarray(out) + self.intercept_
        X = validate_data(self, X, accept_sparse=("csc", "csr"),
                          dtype=[np.float64, np.float32], reset=False)
        return safe_sparse_dot(X, np.asarray(self.coef_).T, dense_output=True) + self.intercept_


def _is_complex(X, y):
    from scipy.sparse.linalg import LinearOperator

    if isinstance(X, LinearOperator):
        xc = np.issubdtype(np.dtype(X.dtype), np.complexfloating) if X.dtype is not None \
            else False
    elif sp.issparse(X):
        xc = np.issubdtype(X.dtype, np.complexfloating)
    else:
        xc = np.iscomplexobj(X)
    return bool(xc or (y is not None and np.iscomplexobj(y)))


def _operator_or_complex(X, y):
    """Whether ``fit`` takes the matrix-free route: X a LinearOperator, or complex data."""
    from scipy.sparse.linalg import LinearOperator

    if isinstance(X, LinearOperator):
        return True
    if sp.issparse(X):
        return (np.issubdtype(X.dtype, np.complexfloating)
                or (y is not None and np.iscomplexobj(y)))
    if not hasattr(X, "dtype"):
        return False  # lists: validated as real by scikit-learn
    return _is_complex(X, y)


def _weights_or_ones(weights, n_features, name="weights"):
    if weights is None:
        return np.ones(n_features)
    return PEN.check_weights(weights, n_features, name)


class Lasso(_BasePenalized):
    r"""Lasso: least squares with an L1 penalty, solved by working-set Anderson CD.

    Minimises ``||y - Xw - b||^2 / (2 n_samples) + alpha ||w||_1`` (the same
    objective as scikit-learn's ``Lasso``).

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    tol : float, default=1e-4
        Stop when the duality gap is ``<= tol * P(0)``, with ``P(0) =
        ||y - mean(y)||^2 / (2 n)`` the objective at zero.
    max_iter : int, default=50
        Working-set (outer) iterations.
    verbose : int, default=0
        Print the gap at each outer iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    n_iter_ : int or ndarray
        Working-set (outer) iterations run, or Gram coordinate-descent epochs
        for dense multi-target fits and for single targets with
        ``n_features <= n_samples`` and ``n_samples * n_features**2 <= 1e6``.
    dual_gap_ : float or ndarray
        Final duality gap (in the normalised objective above).
    kkt_violation_ : float or ndarray
        Stopping figure (equal to ``dual_gap_`` here).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    WeightedLasso, SqrtLasso, LADLasso, PenalizedRegression, lasso_path, LassoCV

    Notes
    -----
    Algorithm (spec 3.2, S2): outer loop over working sets chosen by the
    subdifferential distance ``max(0, |x_j^T r|/n - alpha)``, inner cyclic CD
    ``w_j <- ST(w_j + x_j^T r / ||x_j||^2, n alpha / ||x_j||^2)`` with Anderson
    extrapolation every 6 epochs (kept only when the objective decreases).
    Dual point ``theta = r / max(n, ||X^T r||_inf / alpha)``; gap
    ``P(w) - (||y||^2 - ||y - n theta||^2)/(2n)``.  Dense designs are used in
    Fortran order, sparse ones in CSC (no densification; the intercept is an
    extra coordinate).

    References
    ----------
    .. [1] Tibshirani, R. (1996). Regression shrinkage and selection via the
       lasso. JRSS B.
    .. [2] Bertrand, Q. & Massias, M. (2021). Anderson acceleration of
       coordinate descent. AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import Lasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 100)); w = np.zeros(100); w[:3] = [2., -1., 1.5]
    >>> y = X @ w
    >>> reg = Lasso(alpha=0.05, tol=1e-8).fit(X, y)
    >>> np.flatnonzero(reg.coef_)[:3]
    array([0, 1, 2])
    >>> reg.dual_gap_ < 1e-8 * 0.5 * np.var(y)
    True
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              **_COMMON}

    def __init__(self, alpha=1.0, *, fit_intercept=True, positive=False, warm_start=False,
                 tol=1e-4, max_iter=50, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.warm_start = warm_start
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _datafit(self):
        return Quadratic()

    def _penalty(self, n_features):
        return PEN.L1(self.alpha, positive=self.positive)

    def _solver(self):
        return "cd"

    def _operator_penalty(self):
        return "nonneg_l1" if self.positive else "l1"



class ElasticNet(_BasePenalized):
    r"""Elastic net: least squares with a mixed L1 / squared-L2 penalty.

    Minimises ``||y - Xw - b||^2 / (2 n_samples) + alpha l1_ratio ||w||_1 +
    alpha (1 - l1_ratio) ||w||_2^2 / 2`` (the same objective as
    scikit-learn's ``ElasticNet``), by working-set Anderson CD with the
    duality-gap stop.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    l1_ratio : float, default=0.5
        Mix in ``[0, 1]`` (1: Lasso, 0: ridge).
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    tol : float, default=1e-4
        Stop when the duality gap is ``<= tol * P(0)`` (``l1_ratio > 0``) or,
        for ``l1_ratio = 0``, when the coordinate-wise fixed-point residual
        is ``<= tol * ||X^T y||_inf / n``.
    max_iter : int, default=50
        Working-set (outer) iterations.
    verbose : int, default=0
        Print the gap at each outer iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    n_iter_ : int or ndarray
        Working-set (outer) iterations run.
    dual_gap_ : float or ndarray
        Final duality gap (in the normalised objective above).
    kkt_violation_ : float or ndarray
        Stopping figure.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, MultiTaskLasso, sparsecode.convex.ElasticNetPenalty

    Notes
    -----
    Coordinate update ``w_j <- ST(w_j + x_j^T r / ||x_j||^2, n a / ||x_j||^2)
    / (1 + n b / ||x_j||^2)`` with ``a = alpha l1_ratio``, ``b = alpha (1 -
    l1_ratio)``.  Dual point and gap: scikit-learn's
    (``enet_coordinate_descent``), divided by ``n``.  Dense designs, CSC
    and CSR, float32 and float64.

    References
    ----------
    .. [1] Zou, H. & Hastie, T. (2005). Regularization and variable selection
       via the elastic net. JRSS B 67(2), 301-320.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import ElasticNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 100)); w = np.zeros(100); w[:3] = [2., -1., 1.5]
    >>> reg = ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-8).fit(X, X @ w)
    >>> np.flatnonzero(reg.coef_)[:3]
    array([0, 1, 2])
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              "l1_ratio": [Interval(numbers.Real, 0, 1, closed="both")],
                              **_COMMON}

    def __init__(self, alpha=1.0, *, l1_ratio=0.5, fit_intercept=True, positive=False,
                 warm_start=False, tol=1e-4, max_iter=50, verbose=0):
        self.alpha = alpha
        self.l1_ratio = l1_ratio
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.warm_start = warm_start
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _datafit(self):
        return Quadratic()

    def _penalty(self, n_features):
        return PEN.ElasticNetPenalty(self.alpha, l1_ratio=self.l1_ratio, positive=self.positive)

    def _solver(self):
        return "cd"

    def _operator_penalty(self):
        if self.positive:
            return "nonneg_l1" if self.l1_ratio == 1 else None
        return "l1" if self.l1_ratio == 1 else "l1_l2"


class MultiTaskLasso(MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""Multi-task Lasso: least squares with the row-sparsity (L2,1) penalty.

    Minimises ``||Y - XW - 1 b^T||_F^2 / (2 n_samples) + alpha sum_j
    ||W_j||_2`` (the same objective as scikit-learn's ``MultiTaskLasso``):
    every feature is selected for all tasks or for none.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept per task.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    tol : float, default=1e-4
        Stop when the duality gap is ``<= tol * P(0)``, ``P(0) = ||Y -
        mean(Y)||_F^2 / (2 n)``.
    max_iter : int, default=50
        Working-set (outer) iterations.
    verbose : int, default=0
        Print the gap at each outer iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_tasks, n_features)
        Coefficients.
    intercept_ : ndarray of shape (n_tasks,)
        Intercepts.
    n_iter_ : int
        Working-set (outer) iterations run.
    dual_gap_ : float
        Final duality gap (in the normalised objective above).
    n_screened_ : int
        Features removed by gap-safe screening (certified zero rows).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, ElasticNet, sparsecode.convex.L21

    Notes
    -----
    Working-set block coordinate descent: the working set holds the
    support and the rows with the largest ``max(0, ||X_j^T R|| / n -
    alpha)``; block update ``W_j <- BST(W_j + X_j^T R / ||x_j||^2, n alpha /
    ||x_j||^2)``; gap-safe screening (Ndiaye et al. 2017) removes rows
    certified zero.  Dual point and gap: scikit-learn's, divided by ``n``.
    Dense designs, float32 and float64.

    References
    ----------
    .. [1] Obozinski, G., Taskar, B. & Jordan, M. (2010). Joint covariate
       selection and joint subspace selection for multiple classification
       problems. Statistics and Computing 20(2), 231-252.
    .. [2] Ndiaye, E., Fercoq, O., Gramfort, A. & Salmon, J. (2017). Gap safe
       screening rules for sparsity enforcing penalties. JMLR 18.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import MultiTaskLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 100)); W = np.zeros((100, 3)); W[:2] = 1.0
    >>> reg = MultiTaskLasso(alpha=0.1, tol=1e-8).fit(X, X @ W)
    >>> np.flatnonzero(np.linalg.norm(reg.coef_, axis=0))
    array([0, 1])
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              **{k: v for k, v in _COMMON.items() if k != "positive"}}

    def __init__(self, alpha=1.0, *, fit_intercept=True, warm_start=False, tol=1e-4,
                 max_iter=50, verbose=0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.single_output = False
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Design matrix (float32 is kept as float32).
        y : array-like of shape (n_samples, n_tasks)
            Targets (two-dimensional).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        from ._solvers.multitask import solve_multitask

        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], y_numeric=True,
                             multi_output=True, order="F")
        if y.ndim != 2:
            raise ValueError(f"y must be two-dimensional (n_samples, n_tasks) for "
                             f"MultiTaskLasso; got shape {y.shape}. Use Lasso for one task.")
        dt = X.dtype
        Y = np.asarray(y, dtype=np.float64)
        n, N = X.shape
        if self.fit_intercept:
            x_off = X.mean(axis=0, dtype=np.float64)
            y_off = Y.mean(axis=0)
            Xc = np.asfortranarray(X - x_off.astype(dt))
            Yc = Y - y_off
        else:
            x_off, y_off = np.zeros(N), np.zeros(Y.shape[1])
            Xc, Yc = X, Y
        W0 = None
        if self.warm_start and hasattr(self, "coef_") and self.coef_.shape == (Y.shape[1], N):
            W0 = np.asarray(self.coef_, dtype=np.float64).T
        res = solve_multitask(Xc, Yc, float(self.alpha), W0=W0, tol=float(self.tol),
                              max_iter=int(self.max_iter), verbose=int(self.verbose))
        if not res["converged"]:
            from .._base import warn_not_converged

            warn_not_converged("MultiTaskLasso", 1, 1, "duality gap", res["gap"],
                               float(self.tol))
        W = res["W"]
        self.coef_ = np.ascontiguousarray(W.T).astype(dt)
        self.intercept_ = (y_off - x_off @ W).astype(dt) if self.fit_intercept \
            else np.zeros(Y.shape[1], dtype=dt)
        self.n_iter_ = int(res["n_iter"])
        self.dual_gap_ = float(res["gap"])
        self.n_screened_ = int(res["n_screened"])
        return self

    def predict(self, X):
        """Predict with the linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples, n_tasks)
            Predictions.
        """
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return X @ self.coef_.T + self.intercept_

class WeightedLasso(_BasePenalized):
    r"""Weighted Lasso: least squares with a weighted L1 penalty.

    Minimises ``||y - Xw - b||^2 / (2 n_samples) + alpha sum_j weights_j |w_j|``.
    A weight of 0 leaves a feature unpenalised; ``inf`` excludes it.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    weights : array-like of shape (n_features,), default=None
        Non-negative penalty weights; ``None`` means all ones.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    tol : float, default=1e-4
        Duality-gap tolerance relative to ``P(0)``.
    max_iter : int, default=50
        Working-set iterations.
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    n_iter_ : int or ndarray
        Working-set (outer) iterations run, or Gram coordinate-descent epochs
        for dense multi-target fits and for single targets with
        ``n_features <= n_samples`` and ``n_samples * n_features**2 <= 1e6``.
    dual_gap_ : float or ndarray
        Final duality gap.
    kkt_violation_ : float or ndarray
        Stopping figure.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, PenalizedRegression, weighted_lasso_path, WeightedLassoCV

    Notes
    -----
    KKT: ``x_j^T r / n = alpha w_j sign(w_j)`` on the support,
    ``|x_j^T r|/n <= alpha w_j`` elsewhere; ``alpha_max = max_{w_j > 0}
    |x_j^T r0| / (n w_j)`` with r0 the residual after fitting the unpenalised
    features (spec 3.1a).

    References
    ----------
    .. [1] Zou, H. (2006). The adaptive lasso and its oracle properties. JASA.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import WeightedLasso
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((40, 6)), rng.standard_normal(40)
    >>> reg = WeightedLasso(alpha=10.0, weights=[0, 1, 1, 1, 1, np.inf]).fit(X, y)
    >>> bool(reg.coef_[0] != 0), bool(np.all(reg.coef_[1:] == 0))
    (True, True)
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              "weights": ["array-like", None], **_COMMON}

    def __init__(self, alpha=1.0, *, weights=None, fit_intercept=True, positive=False,
                 warm_start=False, tol=1e-4, max_iter=50, verbose=0):
        self.alpha = alpha
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.warm_start = warm_start
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _datafit(self):
        return Quadratic()

    def _penalty(self, n_features):
        return PEN.WeightedL1(self.alpha, _weights_or_ones(self.weights, n_features),
                              positive=self.positive)

    def _solver(self):
        return "cd"


class SqrtLasso(_BasePenalized):
    r"""Square-root Lasso (pivotal): ``||y - Xw - b||_2 / sqrt(n) + alpha sum_j w_j |w_j|``.

    Its good alpha does not depend on the noise level (Belloni et al. 2011):
    ``alpha = 1.1 Phi^{-1}(1 - 0.05 / (2 n_features)) / sqrt(n)`` is a
    theory-driven default for standardised columns.

    Parameters
    ----------
    alpha : float, default=1.0
        Regularisation strength, >= 0.
    weights : array-like of shape (n_features,), default=None
        Penalty weights (0 = unpenalised, inf = excluded).
    fit_intercept : bool, default=True
        Fit an unpenalised intercept.
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    solver : {"concomitant", "pdhg"}, default="concomitant"
        Concomitant (scaled-Lasso) coordinate descent, or Chambolle-Pock.
    tol : float, default=1e-4
        Stop when the duality gap is ``<= tol * ||y - mean(y)|| / sqrt(n)``.
    max_iter : int, default=100
        Alternations (concomitant) or iterations (PDHG, times 200).
    sigma_min : float or None, default=None
        Floor on the noise estimate ``||r||/sqrt(n)`` (None: ``1e-4 P(0)``).
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    sigma_ : float or ndarray
        Noise-level estimate ``||r|| / sqrt(n)`` at the solution.
    n_iter_ : int or ndarray
        Iterations run.
    dual_gap_ : float or ndarray
        Final duality gap (spec 3.1b).
    kkt_violation_ : float or ndarray
        Stopping figure.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, LADLasso, sqrt_lasso_path, SqrtLassoCV

    Notes
    -----
    Solved through the concomitant form ``min_{w, sigma} ||r||^2/(2 n sigma) +
    sigma/2 + alpha Omega_w(w)`` (alternating exact sigma-steps and warm
    Lasso solves); dual point ``theta = r / max(sqrt(n)||r||, max_j
    |x_j^T r|/(alpha w_j))`` and gap ``P(w) - y^T theta``.

    References
    ----------
    .. [1] Belloni, A., Chernozhukov, V. & Wang, L. (2011). Square-root lasso:
       pivotal recovery of sparse signals via conic programming. Biometrika.
    .. [2] Sun, T. & Zhang, C.-H. (2012). Scaled sparse linear regression.
       Biometrika.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SqrtLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 100)); w = np.zeros(100); w[:3] = [2., -1., 1.5]
    >>> y = X @ w + 0.1 * rng.standard_normal(60)
    >>> reg = SqrtLasso(alpha=0.45, tol=1e-8).fit(X, y)
    >>> np.flatnonzero(reg.coef_)
    array([0, 1, 2])
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")],
                              "weights": ["array-like", None],
                              "solver": [Options("concomitant", "pdhg")],
                              "sigma_min": [Interval(numbers.Real, 0, None, closed="left"), None],
                              **_COMMON}

    def __init__(self, alpha=1.0, *, weights=None, fit_intercept=True, positive=False,
                 warm_start=False, solver="concomitant", tol=1e-4, max_iter=100,
                 sigma_min=None, verbose=0):
        self.alpha = alpha
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.warm_start = warm_start
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.sigma_min = sigma_min
        self.verbose = verbose

    def _datafit(self):
        return SqrtQuadratic()

    def _penalty(self, n_features):
        return PEN.WeightedL1(self.alpha, _weights_or_ones(self.weights, n_features),
                              positive=self.positive)

    def _solver(self):
        from ._solvers import PDHG, ConcomitantCD

        if self.solver == "pdhg":
            return PDHG(max_iter=200 * self.max_iter)
        return ConcomitantCD(sigma_min=self.sigma_min)

    def _max_iter(self):
        return 200 * self.max_iter if self.solver == "pdhg" else self.max_iter

    def _post_fit(self, res, was_1d):
        self.sigma_ = float(res.sigma[0]) if was_1d else res.sigma


class LADLasso(_BasePenalized):
    r"""LAD-Lasso (robust): ``||y - Xw - b||_1 / n + alpha sum_j w_j |w_j|``.

    Robust to gross errors in a fraction of the samples (Wang, Li & Jiang
    2007).  Equal to scikit-learn's ``QuantileRegressor(quantile=0.5,
    alpha=alpha/2)`` (same objective to rounding), solved an order of
    magnitude faster (14-30x in the benchmarks) by a working-set LP whose
    restricted problems are solved by an interior point method followed by
    a crossover to the exact optimal vertex.

    Parameters
    ----------
    alpha : float or None, default=None
        Regularisation strength, >= 0.  None: the pivotal choice of Belloni
        & Chernozhukov (2011) for l1-penalised quantile regression,
        ``alpha_ = 1.1 * Phi^{-1}(1 - 0.05 / (2 p)) * max_j (s_j / w_j) /
        sqrt(n)`` with ``s_j`` the root-mean-square of column ``j``
        (centred when ``fit_intercept``) and ``p`` the penalised columns:
        with probability about 0.95 it dominates the score ``||X^T
        sign(noise)||_inf / n`` at the true coefficients whatever the noise
        distribution (the LAD score is pivotal), so noise-only columns stay
        out while strong effects enter.  It follows the scale of ``X``
        (``alpha`` has the units of ``X``, not of ``y``); about ``0.33`` for
        standardised columns at ``n = 100``, ``p = 20``.  (The former
        default 1.0 exceeds ``alpha_max <= max_j ||x_j||_1 / n`` on
        standardised data: every coefficient was 0.)
    weights : array-like of shape (n_features,), default=None
        Penalty weights (0 = unpenalised, inf = excluded).
    fit_intercept : bool, default=True
        Fit an unpenalised intercept (a weighted median when alone).
    positive : bool, default=False
        Constrain the coefficients to be non-negative.
    warm_start : bool, default=False
        Seed the working set with the previous support.
    solver : {"lp", "pdhg"}, default="lp"
        Working-set LP (exact vertex: interior point + crossover, HiGHS as
        fallback; see ``WorkingSetLP``) or Chambolle-Pock.
    tol : float, default=1e-6
        Stop when the duality gap is ``<= tol * P(0)``.
    max_iter : int, default=100
        Working-set enlargements (LP) or iterations / 200 (PDHG).
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    n_iter_ : int or ndarray
        Iterations run.
    alpha_ : float
        The regularisation used (``alpha``, or the pivotal default).
    dual_gap_ : float or ndarray
        Final duality gap, from the LP multipliers (spec S7).
    kkt_violation_ : float or ndarray
        Stopping figure.
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, SqrtLasso, lad_lasso_path

    Notes
    -----
    Dual: ``max y^T theta`` s.t. ``|theta_i| <= 1/n``, ``|x_j^T theta| <=
    alpha w_j`` (and ``1^T theta = 0`` with an intercept).  Residual-sign dual
    points are useless near the optimum (many residuals are exactly 0); the
    LP marginals give gaps at machine precision.

    References
    ----------
    .. [1] Wang, H., Li, G. & Jiang, G. (2007). Robust regression shrinkage
       and consistent variable selection through the LAD-Lasso. JBES 25(3).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import LADLasso
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((80, 30)); w = np.zeros(30); w[:2] = [3., -2.]
    >>> y = X @ w; y[:8] += 100 * rng.standard_normal(8)   # gross errors
    >>> reg = LADLasso(alpha=0.05).fit(X, y)
    >>> np.round(reg.coef_[:2], 1)
    array([ 3., -2.])
    """

    _parameter_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
                              "weights": ["array-like", None],
                              "solver": [Options("lp", "pdhg")], **_COMMON}

    def __init__(self, alpha=None, *, weights=None, fit_intercept=True, positive=False,
                 warm_start=False, solver="lp", tol=1e-6, max_iter=100, verbose=0):
        self.alpha = alpha
        self.weights = weights
        self.fit_intercept = fit_intercept
        self.positive = positive
        self.warm_start = warm_start
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose

    def _datafit(self):
        return AbsoluteDeviation()

    def _resolve_params(self, X, sample_weight):
        if self.alpha is not None:
            self.alpha_ = float(self.alpha)
            return
        self.alpha_ = lad_pivotal_alpha(X, _weights_or_ones(self.weights, X.shape[1]),
                                        fit_intercept=self.fit_intercept,
                                        sample_weight=sample_weight)

    def _penalty(self, n_features):
        return PEN.WeightedL1(self.alpha_, _weights_or_ones(self.weights, n_features),
                              positive=self.positive)

    def _solver(self):
        return self.solver

    def _max_iter(self):
        return 200 * self.max_iter if self.solver == "pdhg" else self.max_iter


def lad_pivotal_alpha(X, weights, *, fit_intercept=True, sample_weight=None, level=0.05,
                      c=1.1):
    """Pivotal LAD-Lasso regularisation ``c Phi^{-1}(1 - level / (2 p)) max_j
    (s_j / w_j) / sqrt(n)`` (Belloni & Chernozhukov 2011; see ``LADLasso``)."""
    from scipy.stats import norm

    n, N = X.shape
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if sp.issparse(X):
        Xc = sp.csc_matrix(X, dtype=np.float64)
        m1 = np.asarray(Xc.T @ sw).ravel() / n
        m2 = np.asarray(Xc.multiply(Xc).T @ sw).ravel() / n
    else:
        Xd = np.asarray(X, dtype=np.float64)
        m1 = sw @ Xd / n
        m2 = sw @ (Xd * Xd) / n
    var = np.maximum(m2 - m1 ** 2, 0.0) if fit_intercept else m2
    wts = np.asarray(weights, dtype=np.float64)
    pen = (wts > 0) & np.isfinite(wts)
    if not np.any(pen):
        return 0.0
    p = int(np.count_nonzero(pen))
    z = float(norm.isf(level / (2 * p)))
    return float(c * z * np.max(np.sqrt(var[pen]) / wts[pen]) / np.sqrt(n))


class PenalizedRegression(_BasePenalized):
    r"""General sparse regression: any datafit x any penalty x a compatible solver.

    Minimises ``F(y - Xw - b) + Omega(w)``.

    Parameters
    ----------
    datafit : datafit object, default=None
        ``Quadratic()``, ``SqrtQuadratic()``, ``AbsoluteDeviation()`` or a user
        class (see the user guide); ``None`` means ``Quadratic()``.
    penalty : penalty object, default=None
        ``L1``, ``WeightedL1``, ``ElasticNetPenalty``, ``MCP``, ``SCAD``,
        ``Lq``, ``CEL0``, ``L0`` or a user class (methods ``prox_1d``,
        ``value``, ``params_to_dict``; ``is_convex = True`` declares it
        convex); ``None`` means ``L1(alpha=1.0)``.
    solver : {"auto", "cd", "concomitant", "lp", "pdhg"} or solver object, default="auto"
        ``"auto"``: AndersonCD (smooth datafits), ConcomitantCD (square root),
        WorkingSetLP (LAD); PDHG for a user penalty with the square-root or
        LAD datafit.  A solver object carries its own ``tol`` and
        ``max_iter``; its declared requirements (``BaseSolver.validate``)
        are checked against the datafit and the penalty.
    fit_intercept : bool, default=True
        Fit an unpenalised intercept (built-in datafits only).
    warm_start : bool, default=False
        Start from the previous ``coef_``.
    verbose : int, default=0
        Verbosity.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept.
    n_iter_ : int or ndarray
        Iterations run.
    dual_gap_ : float or ndarray
        Final duality gap (convex penalties; NaN otherwise).
    kkt_violation_ : float or ndarray
        Stopping figure: the gap (built-in convex penalties) or the
        coordinate-wise fixed-point residual ``max_j L_j |w_j - prox(w_j - g_j
        / L_j)|`` (non-convex and user penalties; PDHG with a user penalty:
        the primal-dual residual).
    n_features_in_ : int
        Number of features seen in fit.

    See Also
    --------
    Lasso, WeightedLasso, SqrtLasso, LADLasso, penalized_path

    Notes
    -----
    Non-convex penalties (MCP, SCAD, Lq, CEL0, L0) are solved by the same
    working-set CD; the result is a coordinate-wise minimiser (a critical
    point), which depends on the starting point.  An unsupported combination
    fails with a message naming what the solver needs.

    References
    ----------
    .. [1] Bertrand, Q. et al. (2022). Beyond L1: faster and better sparse
       models with skglm. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import PenalizedRegression
    >>> from sparsecode.convex import Quadratic, MCP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 80)); w = np.zeros(80); w[:3] = [2., -1., 1.5]
    >>> y = X @ w + 0.01 * rng.standard_normal(50)
    >>> reg = PenalizedRegression(Quadratic(), MCP(alpha=0.1, gamma=3.0)).fit(X, y)
    >>> np.flatnonzero(reg.coef_)
    array([0, 1, 2])
    """

    _parameter_constraints = {"fit_intercept": ["boolean"], "warm_start": ["boolean"],
                              "verbose": [Interval(numbers.Integral, 0, None, closed="left"),
                                          "boolean"]}

    def __init__(self, datafit=None, penalty=None, solver="auto", *, fit_intercept=True,
                 warm_start=False, verbose=0):
        self.datafit = datafit
        self.penalty = penalty
        self.solver = solver
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.verbose = verbose

    def _datafit(self):
        return Quadratic() if self.datafit is None else self.datafit

    def _penalty(self, n_features):
        return PEN.L1(1.0) if self.penalty is None else self.penalty

    def _solver(self):
        return self.solver

    def _tol(self):
        return None

    def _max_iter(self):
        return None
