"""Orthogonal Matching Pursuit: single signal, batch (Gram) and non-negative.

Implements Cholesky OMP (Pati et al. 1993; spec section 1.4) and Batch-OMP
(Rubinstein, Zibulevsky & Elad 2008; spec section 1.6) through the Cython
kernels of ``sparsecode._ext._omp``, and non-negative OMP (Bruckstein, Elad &
Zibulevsky 2008) through a Numba kernel.
"""

import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import ConvergenceWarning, SolverResult
from .._parallel import blas_limited, chunk_size, effective_n_jobs, iter_chunks
from .._validation import (
    Interval,
    Options,
    check_matrix,
    check_n_nonzero_coefs,
    check_targets,
    validate_params,
    validate_X,
    validate_Xy,
)

__all__ = ["OrthogonalMatchingPursuit", "omp", "batch_omp"]

_DEP_TOL = 1e-10  # Cholesky pivot d <= _DEP_TOL * G_jj means linear dependence


def _kernels():
    # Imported lazily so that importing sparsecode loads no extension module.
    from .._ext import _omp

    return _omp


def _work_dtype(dtype):
    # Accumulate in double precision (spec 1.8: a float32 Gram loses
    # orthogonality after ~20 atoms); float32 results are cast back.
    return np.dtype(np.complex128 if np.issubdtype(dtype, np.complexfloating) else np.float64)


def _default_k(n_nonzero_coefs, tol, n_features):
    if n_nonzero_coefs is None and tol is None:
        return max(int(0.1 * n_features), 1)
    return n_nonzero_coefs


def _check_tol(tol, n_targets, name="tol"):
    """Scalar or per-target squared-residual tolerance -> float64 array or None."""
    if tol is None:
        return None
    t = np.asarray(tol, dtype=np.float64)
    if t.ndim == 0:
        t = np.full(n_targets, float(t))
    if t.shape != (n_targets,):
        raise ValueError(
            f"{name} must be a scalar or have one value per target ({n_targets}); "
            f"got shape {t.shape}."
        )
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError(f"{name} must be finite and >= 0 (a squared residual norm); got {tol!r}.")
    return t


def _summarise_status(status, resid, eps, solver):
    """One warning per call, summarising the per-signal status codes."""
    n_dep = int(np.count_nonzero(status == 2))
    n_tol = int(np.count_nonzero(status == 3))
    total = status.size
    if n_dep:
        warnings.warn(
            f"{solver} stopped early for {n_dep} of {total} signals because of linear "
            "dependence in the dictionary: the next atom lies in the span of the selected "
            "ones. The requested sparsity/precision might not have been met; remove "
            "duplicated atoms or lower n_nonzero_coefs.",
            ConvergenceWarning,
            stacklevel=3,
        )
    if n_tol:
        worst = float(np.max(resid[status == 3] - eps[status == 3])) if eps is not None else 0.0
        warnings.warn(
            f"{solver} could not reach tol for {n_tol} of {total} signals: all available "
            f"atoms were used; the squared residual exceeds tol by up to {worst:.3e}.",
            ConvergenceWarning,
            stacklevel=3,
        )


def _gram_pursuit(G, AtY, ynorm2, *, kmax, eps, positive, n_threads, out_dtype=None,
                  out=None, dinv=None):
    """Run (non-negative) Batch-OMP on the rows of ``AtY`` (L, N).

    ``G`` must already be C-contiguous in the working dtype (float64 or
    complex128).  Codes are scattered into ``out`` (a zeroed (L, N) array,
    allocated when None).  Returns ``out``, the number of atoms, the squared
    residuals and the status codes (all per signal).
    """
    L, N = AtY.shape
    wdt = G.dtype
    if dinv is None:
        dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    error_mode = eps is not None
    if out is None:
        out = np.zeros((L, N), dtype=out_dtype)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L, dtype=np.float64)
    status = np.zeros(L, dtype=np.intc)
    aty = np.ascontiguousarray(AtY, dtype=wdt)
    yn = np.ascontiguousarray(ynorm2, dtype=np.float64)
    ep = np.ascontiguousarray(eps if error_mode else np.zeros(L), dtype=np.float64)
    if positive:
        from ._nnomp import nnomp_gram

        block = np.zeros((L, N), dtype=np.float64)
        nnomp_gram(G, aty, dinv, yn, ep, kmax, error_mode, block, nnz, resid, status)
        out[...] = block
        return out, nnz, resid, status
    idx = np.empty((L, max(kmax, 1)), dtype=np.intc)
    val = np.empty((L, max(kmax, 1)), dtype=wdt)
    # The kernel writes straight into ``out`` when dtype and layout allow.
    direct = out.dtype == wdt and out.flags.c_contiguous
    dense = out if direct else np.zeros((1, 1), dtype=wdt)
    # The Batch-OMP kernel calls no BLAS (hand loops), so no thread cap is needed.
    _kernels().batch_omp_gram(G, aty, dinv, yn, ep, kmax, error_mode, _DEP_TOL,
                              n_threads, idx, val, nnz, resid, status, dense, direct)
    if not direct:
        # scatter the sparse (idx, val) rows into the dense block, vectorised
        keep = np.arange(idx.shape[1])[None, :] < nnz[:, None]
        out[np.repeat(np.arange(L), nnz), idx[keep]] = val[keep]
    return out, nnz, resid, status


def _gram_pursuit_chunked(G, AtY, ynorm2, *, kmax, eps, positive, n_threads, out_dtype):
    """:func:`_gram_pursuit` over chunks of signals (bounded work memory)."""
    L, N = AtY.shape
    G = np.ascontiguousarray(G, dtype=_work_dtype(AtY.dtype))
    dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    out = np.zeros((L, N), dtype=out_dtype)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L)
    status = np.zeros(L, dtype=np.intc)
    for sl in iter_chunks(L, chunk_size(L, bytes_per_item=16 * (N + 2 * kmax))):
        _, nnz[sl], resid[sl], status[sl] = _gram_pursuit(
            G, AtY[sl], ynorm2[sl], kmax=kmax, eps=None if eps is None else eps[sl],
            positive=positive, n_threads=n_threads, out=out[sl], dinv=dinv)
    return out, nnz, resid, status


def _nogram_pursuit(A, Y, *, kmax, eps, n_threads, out_dtype):
    """Cholesky OMP (no Gram) on the columns of ``Y`` (m, L)."""
    m, N = A.shape
    L = Y.shape[1]
    wdt = _work_dtype(A.dtype)
    A_f = np.asfortranarray(A, dtype=wdt)
    Y_f = np.asfortranarray(Y, dtype=wdt)
    dinv = 1.0 / np.sum(np.abs(A_f) ** 2, axis=0)
    error_mode = eps is not None
    eps_arr = eps if error_mode else np.zeros(L)
    idx = np.zeros((L, max(kmax, 1)), dtype=np.intc)
    val = np.zeros((L, max(kmax, 1)), dtype=wdt)
    nnz = np.zeros(L, dtype=np.intc)
    resid = np.zeros(L, dtype=np.float64)
    status = np.zeros(L, dtype=np.intc)
    with blas_limited(1):
        _kernels().omp_nogram(A_f, Y_f, dinv, np.ascontiguousarray(eps_arr), kmax,
                              error_mode, _DEP_TOL, n_threads, idx, val, nnz, resid, status)
    codes = np.zeros((L, N), dtype=out_dtype)
    rows = np.repeat(np.arange(L), nnz)
    cols_mask = np.arange(idx.shape[1])[None, :] < nnz[:, None]
    codes[rows, idx[cols_mask]] = val[cols_mask]
    return codes, nnz, resid, status


def _resolve_precompute(precompute, n_measurements, n_features, n_targets, kmax):
    if precompute == "auto":
        # The Gram pays for itself once ~N/(2s) signals share it (spec 1.6),
        # or when the system is tall.
        return n_targets * 2 * max(kmax, 1) >= n_features or n_measurements > n_features
    return bool(precompute)


_OMP_CONSTRAINTS = {
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), "array-like", None],
    "precompute": [Options("auto", True, False)],
    "positive": ["boolean"],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
}


def omp(A, y, *, n_nonzero_coefs=None, tol=None, precompute="auto", positive=False,
        n_jobs=None):
    r"""Orthogonal Matching Pursuit for one or many right-hand sides.

    Solves, greedily, :math:`\min_x \|y - Ax\|_2` s.t. :math:`\|x\|_0 \le k`
    (sparsity mode) or :math:`\min_x \|x\|_0` s.t. :math:`\|y - Ax\|_2^2 \le
    \mathrm{tol}` (error mode).

    Parameters
    ----------
    A : array-like of shape (n_measurements, n_features)
        Dictionary / sensing matrix, atoms as columns (scikit-learn's ``X``).
        Real or complex.  Columns need not be normalised (selection uses the
        normalised correlation :math:`|a_j^H r| / \|a_j\|`).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Signal(s).
    n_nonzero_coefs : int, default=None
        Maximum number of atoms per signal. Default ``max(0.1 n_features, 1)``
        when ``tol`` is None too, otherwise ``min(n_measurements, n_features)``.
    tol : float or array-like of shape (n_targets,), default=None
        Target squared residual norm :math:`\|r\|_2^2` (error mode). When both
        are given the pursuit stops at whichever comes first.
    precompute : {"auto", True, False}, default="auto"
        Use the Gram matrix (Batch-OMP) or correlations with the residual.
    positive : bool, default=False
        Non-negative OMP (real data only).
    n_jobs : int, default=None
        Threads over the right-hand sides (OpenMP). Results do not depend on it.

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) or (n_features, n_targets) (scikit-learn's
        layout), ``n_iter`` (atoms selected), ``residual_norm2`` (squared
        residual norms), ``status`` (per-target kernel codes), ``converged``.

    See Also
    --------
    batch_omp : OMP from a precomputed Gram matrix.
    OrthogonalMatchingPursuit : the estimator.

    Notes
    -----
    Cholesky OMP costs :math:`2mNk + 2mk^2 + k^3` flops per signal; Batch-OMP
    :math:`2mN + Nk^2 + k^3` per signal plus the one-off Gram :math:`mN^2`.

    References
    ----------
    .. [1] Pati, Rezaiifar & Krishnaprasad (1993), "Orthogonal matching pursuit".
    .. [2] Rubinstein, Zibulevsky & Elad (2008), "Efficient implementation of the
       K-SVD algorithm using Batch Orthogonal Matching Pursuit".

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import omp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 60)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(60); x[[3, 17, 40]] = [1.0, -2.0, 1.5]
    >>> res = omp(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x))
    ([3, 17, 40], True)
    """
    validate_params(
        dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, precompute=precompute,
             positive=positive, n_jobs=n_jobs), _OMP_CONSTRAINTS, "omp")
    A = check_matrix(A, "A", allow_complex=not positive)
    Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=not positive)
    m, N = A.shape
    L = Y.shape[1]
    _check_no_zero_columns(A)
    k = _default_k(n_nonzero_coefs, tol, N)
    kmax = min(m, N) if k is None else check_n_nonzero_coefs(k, m, N)
    eps = _check_tol(tol, L)
    out_dtype = np.result_type(A.dtype, Y.dtype)
    n_threads = effective_n_jobs(n_jobs)
    if positive or _resolve_precompute(precompute, m, N, L, kmax):
        wdt = _work_dtype(out_dtype)
        A_w = A.astype(wdt, copy=False)
        Y_w = Y.astype(wdt, copy=False)
        G = A_w.conj().T @ A_w
        AtY = (A_w.conj().T @ Y_w).T
        ynorm2 = np.sum(np.abs(Y_w) ** 2, axis=0)
        codes, nnz, resid, status = _gram_pursuit_chunked(
            G, AtY, ynorm2, kmax=kmax, eps=eps, positive=positive, n_threads=n_threads,
            out_dtype=out_dtype)
    else:
        codes, nnz, resid, status = _nogram_pursuit(
            A, Y, kmax=kmax, eps=eps, n_threads=n_threads, out_dtype=out_dtype)
    _summarise_status(status, resid, eps, "OMP")
    return _pack(codes, nnz, resid, status, was_1d)


def _check_no_zero_columns(A, name="A"):
    bad = np.flatnonzero(~np.any(A != 0, axis=0))
    if bad.size:
        raise ValueError(
            f"{name} has {bad.size} zero-norm column(s) (atoms) at {bad[:5].tolist()}; "
            "remove them: a zero atom can never be selected."
        )


def _pack(codes, nnz, resid, status, was_1d):
    coef = codes[0] if was_1d else codes.T
    squeeze = (lambda a: a[0]) if was_1d else (lambda a: a)
    return SolverResult(
        coef=coef,
        n_iter=squeeze(nnz.astype(np.int64)),
        residual_norm2=squeeze(resid),
        status=squeeze(status),
        converged=bool(np.all((status == 0) | (status == 1))),
    )


def batch_omp(gram, Aty, *, n_nonzero_coefs=None, tol=None, norms_squared=None,
              positive=False, n_jobs=None, copy_gram=True):
    r"""Batch-OMP from a precomputed Gram matrix (Rubinstein, Zibulevsky & Elad).

    Never forms a residual: correlations are updated as
    :math:`\alpha = A^H y - G_{:,I}\gamma_I` with a Cholesky factor of
    :math:`G_{I,I}` grown by one row per iteration.  The loop over signals
    runs in compiled code with OpenMP (``n_jobs`` threads) and in chunks, so
    memory stays bounded for millions of signals.

    Parameters
    ----------
    gram : array-like of shape (n_features, n_features)
        :math:`G = A^H A` (Hermitian positive semi-definite).
    Aty : array-like of shape (n_features,) or (n_features, n_targets)
        :math:`A^H y` for each signal (scikit-learn's ``Xy``).
    n_nonzero_coefs : int, default=None
        Atoms per signal; default ``max(0.1 n_features, 1)`` when ``tol`` is None.
    tol : float or array-like of shape (n_targets,), default=None
        Squared residual target (error mode); needs ``norms_squared``.
    norms_squared : array-like of shape (n_targets,), default=None
        :math:`\|y\|_2^2` per signal. Required for ``tol``; when given, the
        squared residuals are also returned.
    positive : bool, default=False
        Non-negative OMP (real data only).
    n_jobs : int, default=None
        Threads over signals. Results are identical for any value.
    copy_gram : bool, default=True
        Accepted for scikit-learn compatibility; ``gram`` is never modified.

    Returns
    -------
    result : SolverResult
        ``coef`` of shape (n_features,) or (n_features, n_targets), ``n_iter``,
        ``residual_norm2`` (NaN where ``norms_squared`` was not given),
        ``status``, ``converged``.

    See Also
    --------
    omp : OMP from the dictionary itself.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import batch_omp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 50)); A /= np.linalg.norm(A, axis=0)
    >>> X = np.zeros((50, 4)); X[[1, 7], :] = 1.0
    >>> Y = A @ X
    >>> res = batch_omp(A.T @ A, A.T @ Y, n_nonzero_coefs=2)
    >>> res.coef.shape, bool(np.allclose(res.coef, X))
    ((50, 4), True)
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, positive=positive,
                         n_jobs=n_jobs), _OMP_CONSTRAINTS, "batch_omp")
    G = check_matrix(gram, "gram", allow_complex=not positive)
    N = G.shape[0]
    if G.shape != (N, N):
        raise ValueError(f"gram must be square; got shape {G.shape}.")
    if np.any(np.real(np.diag(G)) <= 0):
        bad = np.flatnonzero(np.real(np.diag(G)) <= 0)[:5].tolist()
        raise ValueError(
            f"gram has non-positive diagonal entries at {bad}: zero-norm atoms cannot be "
            "selected; remove them from the dictionary."
        )
    was_1d = np.ndim(Aty) == 1
    Aty_arr = check_matrix(np.asarray(Aty).reshape(-1, 1) if was_1d else Aty,
                           "Aty", allow_complex=not positive)
    if Aty_arr.shape[0] != N:
        raise ValueError(
            f"Aty has {Aty_arr.shape[0]} rows but gram is {N}x{N}; Aty must be A^H y with "
            "one row per atom."
        )
    L = Aty_arr.shape[1]
    if norms_squared is not None:
        ynorm2 = np.asarray(norms_squared, dtype=np.float64).reshape(-1)
        if ynorm2.shape != (L,) or not np.all(np.isfinite(ynorm2)) or np.any(ynorm2 < 0):
            raise ValueError(
                f"norms_squared must hold {L} finite non-negative values (one per signal); "
                f"got shape {ynorm2.shape}."
            )
    elif tol is not None:
        raise ValueError("batch_omp in error mode (tol given) needs norms_squared=||y||^2.")
    else:
        ynorm2 = None
    k = _default_k(n_nonzero_coefs, tol, N)
    if k is not None and k > N:
        raise ValueError(f"n_nonzero_coefs={k} is larger than the number of atoms ({N}).")
    kmax = N if k is None else int(k)
    eps = _check_tol(tol, L)
    out_dtype = np.result_type(G.dtype, Aty_arr.dtype)
    yn = ynorm2 if ynorm2 is not None else np.zeros(L)
    codes, nnz, resid, status = _gram_pursuit_chunked(
        G, Aty_arr.T, yn, kmax=kmax, eps=eps, positive=positive,
        n_threads=effective_n_jobs(n_jobs), out_dtype=out_dtype)
    if ynorm2 is None:
        resid = np.full(L, np.nan)
    _summarise_status(status, resid, eps, "Batch-OMP")
    return _pack(codes, nnz, resid, status, was_1d)


def _center(A, Y, fit_intercept):
    if not fit_intercept:
        return A, Y, None, None
    A_mean = A.mean(axis=0)
    Y_mean = Y.mean(axis=0)
    return A - A_mean, Y - Y_mean, A_mean, Y_mean


class OrthogonalMatchingPursuit(MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""Orthogonal Matching Pursuit (OMP) estimator.

    Greedy sparse recovery: at each step the atom most correlated with the
    residual joins the support and all coefficients on the support are
    refitted by least squares (Cholesky rank-1 updates).  Many targets are
    solved in one compiled batch call (Batch-OMP when the Gram pays off).

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Desired number of nonzero coefficients per target. Default
        ``max(0.1 n_features, 1)`` when ``tol`` is None.
    tol : float, default=None
        Maximum squared residual norm (error mode); overrides nothing: the
        pursuit stops when either criterion is met.
    fit_intercept : bool, default=False
        Centre ``X`` and ``y`` before the pursuit and fit an intercept.
    precompute : {"auto", True, False}, default="auto"
        Use the Gram matrix (Batch-OMP).
    positive : bool, default=False
        Non-negative OMP.
    n_jobs : int, default=None
        Threads over targets.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Sparse coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Zero when ``fit_intercept=False``.
    support_ : ndarray of bool, same shape as ``coef_``
        Selected atoms.
    n_iter_ : int or ndarray of shape (n_targets,)
        Number of atoms selected per target.
    residual_norm_ : float or ndarray of shape (n_targets,)
        Final :math:`\|y - Ax\|_2` per target.
    n_nonzero_coefs_ : int or None
        The sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    omp, batch_omp : the functional interface.
    MatchingPursuit : the cheaper, non-orthogonal pursuit.

    Notes
    -----
    Problems solved: :math:`\min \|y - Xw\|_2` s.t. :math:`\|w\|_0 \le k`, or
    :math:`\min \|w\|_0` s.t. :math:`\|y - Xw\|_2^2 \le \mathrm{tol}`.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import OrthogonalMatchingPursuit
    >>> rng = np.random.default_rng(1)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 50, 90]] = [2.0, -1.0, 3.0]
    >>> est = OrthogonalMatchingPursuit(n_nonzero_coefs=3).fit(X, X @ w)
    >>> np.flatnonzero(est.coef_).tolist()
    [5, 50, 90]
    """

    _parameter_constraints = {
        **_OMP_CONSTRAINTS,
        "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "fit_intercept": ["boolean"],
    }

    def __init__(self, *, n_nonzero_coefs=None, tol=None, fit_intercept=False,
                 precompute="auto", positive=False, n_jobs=None):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.precompute = precompute
        self.positive = positive
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
        X, y = validate_Xy(self, X, y, allow_complex=not self.positive)
        A, Y, A_mean, Y_mean = _center(X, y, self.fit_intercept)
        k = _default_k(self.n_nonzero_coefs, self.tol, X.shape[1])
        if k is not None:
            check_n_nonzero_coefs(k, X.shape[0], X.shape[1])
        res = omp(A, Y, n_nonzero_coefs=k, tol=self.tol, precompute=self.precompute,
                  positive=self.positive, n_jobs=self.n_jobs)
        self.n_nonzero_coefs_ = k
        self.coef_ = res.coef.T.copy() if y.ndim == 2 else res.coef
        self.support_ = self.coef_ != 0
        self.n_iter_ = res.n_iter
        self.residual_norm_ = np.sqrt(res.residual_norm2)
        if self.fit_intercept:
            self.intercept_ = Y_mean - self.coef_ @ A_mean
        else:
            self.intercept_ = 0.0 if y.ndim == 1 else np.zeros(y.shape[1], dtype=X.dtype)
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
            Predictions ``X @ coef_.T + intercept_``.
        """
        check_is_fitted(self)
        X = validate_X(self, X, allow_complex=True)
        return X @ self.coef_.T + self.intercept_
