"""The step-solver base of the thresholding family (spec section 4).

Every solver of the family (IHT, NIHT, HTP, CoSaMP, SP, NST+HT+FB and its
adaptive variant) is a *step kernel*: an object with ``init(state)`` and
``step(state, it)`` acting on a block of targets at once (arrays whose last
axis runs over targets).  :func:`run_step_solver` owns everything else:

* input preparation (dense / scipy.sparse / LinearOperator, real / complex,
  float32 -> float64 work precision -> float32 out),
* the per-target stopping rules -- relative residual
  ``||y - A x|| <= tol ||y||``, the kernel's own fixed-point test (support
  repeats, no decrease, no change), the kernel's failure stop -- and the
  active set (converged targets leave the batch: later products only involve
  the targets still running),
* ``n_iter``, status codes, and one summarising ``ConvergenceWarning``.

:class:`_ThresholdingRegressor` is the shared scikit-learn estimator shell.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from .._base import SolverResult, warn_not_converged
from .._parallel import blas_limited, effective_n_jobs
from .._validation import (
    Interval,
    Options,
    check_matrix,
    check_n_nonzero_coefs,
    check_operator,
    check_targets,
    validate_params,
)
from ._linalg import _Op, _work_dtype, pow2_scale, safe_col_norms

__all__ = []

# status codes per target
RUNNING, RESIDUAL, FIXED_POINT, FAILED, MAX_ITER = 0, 1, 2, 3, 4

COMMON_CONSTRAINTS = {
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "ls_solver": [Options("auto", "cholesky", "qr", "cg")],
    "cg_tol": [Interval(numbers.Real, 0, 1, closed="neither")],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
    "verbose": ["boolean", Interval(numbers.Integral, 0, None, closed="left")],
}


def default_n_nonzero_coefs(n_features):
    """Default sparsity level, as for OMP: ``max(int(0.1 n_features), 1)``."""
    return max(int(0.1 * n_features), 1)


def prepare(A, y, owner):
    """Validate ``(A, y)`` and wrap A.

    Returns
    -------
    op : _Op
    Y : ndarray (m, L) in the working precision
    was_1d : bool
    out_dtype : dtype
    """
    if A is None:
        raise ValueError(f"A of {owner} must be an array, a sparse matrix or a LinearOperator; "
                         "got None.")
    A = check_operator(A, "A", allow_complex=True)
    if isinstance(A, LinearOperator) and A.dtype is None:
        raise ValueError("A is a LinearOperator without a dtype; give it one (dtype=float).")
    Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
    a_dtype = np.dtype(A.dtype)
    if a_dtype.kind not in "fc":
        a_dtype = np.dtype(np.float64)
    out_dtype = np.result_type(a_dtype, Y.dtype)
    if out_dtype not in (np.float32, np.float64, np.complex64, np.complex128):
        out_dtype = np.dtype(np.float64)
    wdt = _work_dtype(a_dtype, Y.dtype)
    op = _Op(A, wdt)
    # Scale equivariance over the whole float range: the solvers see A divided
    # by a power of two (only when its entries are far from 1) and every
    # target divided by the power of two nearest its norm; both are exact, and
    # :func:`pack` undoes them (x = x' * y_scale / A_scale).
    op.equilibrate()
    Y = np.asarray(Y, dtype=wdt)
    op.y_scale = pow2_scale(safe_col_norms(Y))
    if np.any(op.y_scale != 1.0):
        Y = Y / op.y_scale
    return op, Y, was_1d, np.dtype(out_dtype)


def resolve_ls_solver(ls_solver, op):
    """``"auto"``: batched Cholesky (QR fallback) when columns can be gathered,
    CGLS for operators."""
    if ls_solver == "auto":
        return "cholesky" if op.explicit else "cg"
    if ls_solver in ("qr", "cholesky") and not op.explicit:
        raise ValueError(
            f"ls_solver={ls_solver!r} needs an explicit matrix A (dense or scipy.sparse); "
            "for a LinearOperator use ls_solver='cg' or 'auto'."
        )
    return ls_solver


def run_step_solver(kernel, op, Y, *, tol, max_iter, name, verbose=0, n_jobs=None):
    """Run ``kernel`` on every column of ``Y`` until each target stops.

    Returns
    -------
    X : ndarray (N, L)
    n_iter, status : ndarray (L,)
    resid : ndarray (L,)
        Final residual norms ``||y - A x||``.
    """
    m, L = Y.shape
    ynorm = np.linalg.norm(Y, axis=0)
    with blas_limited(effective_n_jobs(n_jobs)):
        state = kernel.init(Y)
        state.setdefault("Y", Y)
        rn = np.linalg.norm(state["R"], axis=0)
        status = np.where(rn <= tol * ynorm, RESIDUAL, RUNNING)
        status[kernel.init_failed(state)] = FAILED
        n_iter = np.zeros(L, dtype=np.int64)
        for it in range(1, max_iter + 1):
            act = np.flatnonzero(status == RUNNING)
            if act.size == 0:
                break
            full = act.size == L
            sub = state if full else {k: v[..., act] for k, v in state.items()}
            fixed, failed = kernel.step(sub, it)
            if not full:
                for k, v in sub.items():
                    state[k][..., act] = v
            n_iter[act] = it
            rn_a = np.linalg.norm(sub["R"], axis=0)
            rn[act] = rn_a
            st = np.full(act.size, RUNNING)
            st[fixed] = FIXED_POINT
            st[rn_a <= tol * ynorm[act]] = RESIDUAL
            st[failed] = FAILED
            status[act] = st
            if verbose:
                print(f"[{name}] iteration {it}: {np.count_nonzero(status == RUNNING)} of {L} "
                      f"targets running, worst relative residual "
                      f"{np.max(rn_a / np.maximum(ynorm[act], 1e-300)):.3e}", flush=True)
        status[status == RUNNING] = MAX_ITER
    return state["X"], n_iter, status, rn


def summarise(name, status, resid, ynorm, tol, *, extra_failed_msg=None):
    """One ``ConvergenceWarning`` per call (max_iter exhausted or failure stop)."""
    rel = resid / np.maximum(ynorm, 1e-300)
    n_max = int(np.count_nonzero(status == MAX_ITER))
    if n_max:
        warn_not_converged(name, n_max, status.size, "relative residual ||y - Ax||/||y||",
                           float(np.max(rel[status == MAX_ITER])), tol)
    n_fail = int(np.count_nonzero(status == FAILED))
    if n_fail:
        warn_not_converged(name, n_fail, status.size, "relative residual ||y - Ax||/||y||",
                           float(np.max(rel[status == FAILED])), tol, hint=extra_failed_msg)


def pack(op, X, n_iter, status, resid, was_1d, out_dtype, **extra):
    """The functional solvers' result record (undoes the scaling of :func:`prepare`)."""
    ys = getattr(op, "y_scale", None)
    if ys is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            f = ys / op.scale
            X = X * f if np.any(f != 1.0) else X
            resid = resid * ys
        if not np.all(np.isfinite(X)):
            raise OverflowError(
                "the coefficients overflow float64: ||y|| / ||A|| is beyond the float range "
                "(rescale y or A before the call).")
    coef = X[:, 0] if was_1d else X
    if not np.issubdtype(out_dtype, np.complexfloating) and np.iscomplexobj(coef):
        coef = coef.real
    coef = np.ascontiguousarray(coef, dtype=out_dtype) if was_1d else \
        np.asarray(coef, dtype=out_dtype)
    def sq(a):
        return a[0].item() if was_1d else a

    converged = (status == RESIDUAL) | (status == FIXED_POINT)
    out = SolverResult(
        coef=coef,
        n_iter=sq(n_iter),
        residual_norm=sq(resid),
        status=sq(status),
        converged=bool(np.all(converged)),
    )
    out.update({k: sq(v) if isinstance(v, np.ndarray) and v.shape[:1] == (X.shape[1],)
                else v for k, v in extra.items()})
    return out


def check_k(n_nonzero_coefs, op):
    m, N = op.shape
    k = default_n_nonzero_coefs(N) if n_nonzero_coefs is None else n_nonzero_coefs
    return check_n_nonzero_coefs(k, m, N)


def resolve_max_iter(max_iter, default):
    return int(default) if max_iter is None else int(max_iter)


# --------------------------------------------------------------------------
# estimator shell
# --------------------------------------------------------------------------
class _ThresholdingRegressor(MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Shared ``fit``/``predict`` of the thresholding estimators.

    Subclasses define ``_parameter_constraints`` and ``_solve(A, y)``
    returning a :class:`SolverResult`.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def _validate_fit_data(self, X, y):
        if isinstance(X, LinearOperator):
            A = check_operator(X, "X")
            Y, _ = check_targets(y, A.shape[0], "y", allow_complex=True)
            self.n_features_in_ = A.shape[1]
            return A, (Y[:, 0] if np.ndim(y) == 1 else Y)
        if _iscomplex(X) or _iscomplex(y):
            A = check_matrix(X, "X", allow_complex=True, accept_sparse=("csc", "csr"))
            Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
            self.n_features_in_ = A.shape[1]
            return A, (Y[:, 0] if was_1d else Y)
        return validate_data(self, X, y, y_numeric=True, multi_output=True,
                             accept_sparse=("csc", "csr"), dtype=[np.float64, np.float32])

    def fit(self, X, y):
        """Recover the sparse coefficients.

        Parameters
        ----------
        X : {array-like, sparse matrix, LinearOperator} of shape (n_samples, n_features)
            Sensing matrix / dictionary ``A`` (atoms as columns); a
            ``scipy.sparse.linalg.LinearOperator`` is used matrix-free.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Measurements; several targets are solved in one batch.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        validate_params(self.get_params(), self._parameter_constraints, type(self).__name__)
        A, y = self._validate_fit_data(X, y)
        res = self._solve(A, y)
        coef = res.coef
        self.coef_ = coef.T.copy() if coef.ndim == 2 else coef
        self.n_iter_ = res.n_iter
        self.residual_norm_ = res.residual_norm
        self.converged_ = res.converged
        self.support_ = self.coef_ != 0
        self.intercept_ = 0.0 if coef.ndim == 1 else np.zeros(coef.shape[1], dtype=coef.dtype)
        self._store_extra(res)
        return self

    def _store_extra(self, res):
        pass

    def predict(self, X):
        """Predict ``X @ coef_.T``.

        Parameters
        ----------
        X : {array-like, sparse matrix, LinearOperator} of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            Predictions.
        """
        check_is_fitted(self)
        if isinstance(X, LinearOperator):
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                                 f"is expecting {self.n_features_in_} features as input.")
            C = self.coef_.T if self.coef_.ndim == 2 else self.coef_[:, None]
            out = X.matmat(C)
            return out[:, 0] if self.coef_.ndim == 1 else out
        if _iscomplex(X):
            X = check_matrix(X, "X", allow_complex=True, accept_sparse=("csc", "csr"))
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                                 f"is expecting {self.n_features_in_} features as input.")
        else:
            X = validate_data(self, X, reset=False, accept_sparse=("csc", "csr"),
                              dtype=[np.float64, np.float32])
        return X @ self.coef_.T + self.intercept_


def _iscomplex(a):
    if sp.issparse(a):
        return np.issubdtype(a.dtype, np.complexfloating)
    dt = getattr(a, "dtype", None)
    if dt is None and isinstance(a, (list, tuple)):
        dt = np.asarray(a).dtype
    return dt is not None and np.issubdtype(dt, np.complexfloating)
