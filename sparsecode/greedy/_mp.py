"""Matching Pursuit (Mallat & Zhang 1993), batch over signals with the Gram update.

Spec section 1.2: ``c <- c - t G[:, j]`` keeps the correlations with the
residual without forming it; ``||r||^2`` decreases by ``|t|^2 ||a_j||^2``.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import SolverResult, warn_not_converged
from .._parallel import blas_limited, chunk_size, effective_n_jobs, iter_chunks
from .._validation import (
    Interval,
    check_matrix,
    check_n_nonzero_coefs,
    check_targets,
    validate_params,
    validate_X,
    validate_Xy,
)
from ._omp import (
    _atom_dinv,
    _check_no_zero_columns,
    _check_tol,
    _default_k,
    _fit_pursuit,
    _pow2_scale,
    _rescale_rows,
    _work_dtype,
)

__all__ = ["MatchingPursuit", "matching_pursuit"]


def _mp_kernel():
    """The compiled batched Matching Pursuit (``_ext/_sae.pyx::batch_mp_gram``).

    The one MP kernel of the library: ``matching_pursuit`` calls it with the
    classical selection, the MP-SAE encoder of ``sparsecode.amortized`` with
    its signed selections, per-step trace and relative stop.  Imported
    lazily so that importing sparsecode loads no extension module.
    """
    from .._ext import _sae

    return _sae.batch_mp_gram

_MP_CONSTRAINTS = {
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), "array-like", None],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
}


def matching_pursuit(A, y, *, n_nonzero_coefs=None, tol=None, max_iter=None, n_jobs=None):
    r"""Matching Pursuit for one or many right-hand sides.

    At each iteration the atom most correlated with the residual gets the
    projection of the residual onto it added to its coefficient (atoms may be
    selected again).  The correlations are updated through the Gram matrix.

    Parameters
    ----------
    A : array-like of shape (n_measurements, n_features)
        Dictionary, atoms as columns; real or complex, dense (a
        scipy.sparse matrix raises a TypeError asking for ``A.toarray()``).
        Data are rescaled internally by powers of two (exactly), so the
        answer scales with the data over the whole floating-point range.
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Signal(s).
    n_nonzero_coefs : int, default=None
        Maximum number of distinct atoms; the pursuit stops before a new atom
        would exceed it. Default ``max(0.1 n_features, 1)`` if ``tol`` is None.
    tol : float or array-like of shape (n_targets,), default=None
        Stop when the squared residual norm falls to ``tol``.  With
        ``n_nonzero_coefs`` too, the pursuit stops at whichever limit comes
        first (scikit-learn's OMP lets ``tol`` override it); stopping at
        ``n_nonzero_coefs`` is a normal stop, hitting ``max_iter`` warns.
    max_iter : int, default=None
        Maximum number of iterations; default ``10 * n_nonzero_coefs`` (or
        ``n_measurements`` in pure error mode).
    n_jobs : int, default=None
        Threads over targets.

    Returns
    -------
    result : SolverResult
        ``coef`` ((n_features,) or (n_features, n_targets)), ``n_iter``,
        ``residual_norm2``, ``status``, ``converged``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import matching_pursuit
    >>> A = np.eye(4)
    >>> matching_pursuit(A, np.array([0.0, 3.0, 0.0, -1.0]), n_nonzero_coefs=2).coef
    array([ 0.,  3.,  0., -1.])
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         n_jobs=n_jobs), _MP_CONSTRAINTS, "matching_pursuit")
    A = check_matrix(A, "A", allow_complex=True)
    Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
    m, N = A.shape
    L = Y.shape[1]
    k = _default_k(n_nonzero_coefs, tol, N)
    kmax = N if k is None else check_n_nonzero_coefs(k, m, N)
    if max_iter is None:
        max_iter = 10 * kmax if k is not None else max(m, 10)
    eps = _check_tol(tol, L)
    out_dtype = np.result_type(A.dtype, Y.dtype)
    wdt = _work_dtype(out_dtype)
    _check_no_zero_columns(A)
    A_w = A.astype(wdt, copy=False)
    # exact power-of-two rescaling (see omp): A by one factor, each signal by its own
    s_A = _pow2_scale(A_w)
    s_y = _pow2_scale(Y, axis=0)
    if s_A != 1.0:
        A_w = A_w / s_A
    G = np.ascontiguousarray(A_w.conj().T @ A_w)
    dinv = _atom_dinv(A_w)
    error_mode = eps is not None
    eps_arr = eps / s_y / s_y if error_mode else np.zeros(L)
    codes = np.zeros((L, N), dtype=wdt)
    n_iter = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L)
    status = np.zeros(L, dtype=np.intc)
    n_threads = effective_n_jobs(n_jobs)
    for sl in iter_chunks(L, chunk_size(L, 16 * N)):
        Yc = Y[:, sl].astype(wdt, copy=False) / s_y[sl]
        AtY = np.ascontiguousarray((A_w.conj().T @ Yc).T)
        yn = np.sum(np.abs(Yc) ** 2, axis=0)
        with blas_limited(1):
            _mp_kernel()(G, AtY, dinv, yn, np.ascontiguousarray(eps_arr[sl]),
                         kmax, int(max_iter), error_mode, n_threads, codes[sl],
                         n_iter[sl], resid[sl], status[sl])
    if s_A != 1.0 or np.any(s_y != 1.0):
        codes = _rescale_rows(codes, s_y, s_A)
        resid = resid * s_y * s_y
    if error_mode:
        failed = status == 3
        if failed.any():
            warn_not_converged("Matching Pursuit", int(failed.sum()), L,
                               "squared residual", float(resid[failed].max()),
                               float(eps[failed].min()),
                               hint="Increase max_iter or n_nonzero_coefs.")
    codes = codes.astype(out_dtype, copy=False)
    coef = codes[0] if was_1d else codes.T
    sq = (lambda a: a[0]) if was_1d else (lambda a: a)
    return SolverResult(coef=coef, n_iter=sq(n_iter.astype(np.int64)),
                        residual_norm2=sq(resid), status=sq(status),
                        converged=bool(np.all(status != 3)))


class MatchingPursuit(MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""Matching Pursuit estimator (Mallat & Zhang 1993).

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Maximum number of distinct atoms. Default ``max(0.1 n_features, 1)``
        when ``tol`` is None.
    tol : float, default=None
        Squared residual norm at which to stop.
    max_iter : int, default=None
        Maximum number of iterations (default ``10 * n_nonzero_coefs``).
    fit_intercept : bool, default=False
        Centre the data and fit an intercept.  Constant columns (zero once
        centred) are never selected; without an intercept, neither are
        all-zero columns.
    n_jobs : int, default=None
        Threads over targets.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Intercept (zero unless ``fit_intercept``).
    support_ : ndarray of bool, same shape as ``coef_``
        Atoms used.
    n_iter_ : int or ndarray of shape (n_targets,)
        Iterations run.
    residual_norm_ : float or ndarray of shape (n_targets,)
        Final residual norm.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    OrthogonalMatchingPursuit : refits all coefficients at each step.

    Notes
    -----
    Each iteration costs :math:`O(N)` with the Gram update; the residual
    energy decreases monotonically but only linearly.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import MatchingPursuit
    >>> X = np.eye(5)
    >>> MatchingPursuit(n_nonzero_coefs=1).fit(X, [0, 0, 2.0, 0, 0.5]).coef_
    array([0., 0., 2., 0., 0.])
    """

    _parameter_constraints = {**_MP_CONSTRAINTS,
                              "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
                              "fit_intercept": ["boolean"]}

    def __init__(self, *, n_nonzero_coefs=None, tol=None, max_iter=None, fit_intercept=False,
                 n_jobs=None):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Dictionary / design matrix.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Target(s).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        X, y = validate_Xy(self, X, y, allow_complex=True)

        def solve(A, Y, k_eff):
            return matching_pursuit(A, Y, n_nonzero_coefs=k_eff, tol=self.tol,
                                    max_iter=self.max_iter, n_jobs=self.n_jobs)

        k = _default_k(self.n_nonzero_coefs, self.tol, X.shape[1])
        coef, n_iter, resid2, intercept = _fit_pursuit(solve, X, y, self.fit_intercept, k)
        self.coef_ = coef
        self.support_ = self.coef_ != 0
        self.n_iter_ = n_iter
        self.residual_norm_ = np.sqrt(resid2)
        self.intercept_ = intercept
        return self

    def predict(self, X):
        """Predict with the sparse linear model.

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
        X = validate_X(self, X, allow_complex=True)
        return X @ self.coef_.T + self.intercept_
