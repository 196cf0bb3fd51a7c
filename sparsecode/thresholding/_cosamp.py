"""CoSaMP (Needell & Tropp 2009) and Subspace Pursuit (Dai & Milenkovic 2009),
spec section 4.5: support merging, least squares on the merged support, pruning.
"""

import numpy as np

from .._validation import validate_params
from ._base import (
    COMMON_CONSTRAINTS,
    _ThresholdingRegressor,
    check_k,
    pack,
    prepare,
    resolve_ls_solver,
    resolve_max_iter,
    run_step_solver,
    summarise,
)
from ._linalg import ls_on_support, top_s_mask

__all__ = ["CoSaMP", "SubspacePursuit", "cosamp", "subspace_pursuit"]


def _no_decrease(Rn, R):
    return np.linalg.norm(Rn, axis=0) >= np.linalg.norm(R, axis=0) * (1 - 1e-12)


class _CoSaMPKernel:
    """u = A^H r; T = supp H_2s(u) ∪ supp x; b = A_T^+ y; x = H_s(b).

    A step that does not decrease the residual is rejected and ends the
    target (the previous iterate is kept)."""

    def __init__(self, op, *, s, ls, cg_tol):
        self.op, self.s, self.ls, self.cg_tol = op, s, ls, cg_tol

    def init(self, Y):
        st = {"X": np.zeros((self.op.shape[1], Y.shape[1]), dtype=self.op.wdt),
              "R": Y.copy()}
        if self.ls == "cg":
            st["AhY"] = self.op.rmatmat(Y)
        return st

    def init_failed(self, st):
        return np.zeros(st["X"].shape[1], dtype=bool)

    def step(self, st, it):
        op, s = self.op, self.s
        X, R = st["X"], st["R"]
        U = op.rmatmat(R)
        T = top_s_mask(U, min(2 * s, op.shape[1])) | (X != 0)
        B, _ = ls_on_support(op, st["Y"], T, method=self.ls, Z0=X, AhY=st.get("AhY"),
                             cg_tol=self.cg_tol)
        Xn = B * top_s_mask(B, s)
        Rn = st["Y"] - op.matmat(Xn)
        worse = _no_decrease(Rn, R)
        good = ~worse
        X[:, good] = Xn[:, good]
        R[:, good] = Rn[:, good]
        return worse, np.zeros(X.shape[1], dtype=bool)


class _SPKernel:
    """T' = T ∪ supp H_s(A^H r); b = A_T'^+ y; T = supp H_s(b); x = A_T^+ y."""

    def __init__(self, op, *, s, ls, cg_tol):
        self.op, self.s, self.ls, self.cg_tol = op, s, ls, cg_tol

    def _ls(self, st, T, Z0):
        return ls_on_support(self.op, st["Y"], T, method=self.ls, Z0=Z0, AhY=st.get("AhY"),
                             cg_tol=self.cg_tol)

    def init(self, Y):
        AhY = self.op.rmatmat(Y)
        T = top_s_mask(AhY, self.s)
        st = {"Y": Y, "AhY": AhY, "T": T}
        st["X"], st["R"] = self._ls(st, T, None)
        return st

    def init_failed(self, st):
        return np.zeros(st["X"].shape[1], dtype=bool)

    def step(self, st, it):
        op, s = self.op, self.s
        X, R, T = st["X"], st["R"], st["T"]
        Tp = T | top_s_mask(op.rmatmat(R), s)
        B, _ = self._ls(st, Tp, X)
        Tn = top_s_mask(B, s)
        Xn, Rn = self._ls(st, Tn, B)
        worse = _no_decrease(Rn, R)
        good = ~worse
        X[:, good] = Xn[:, good]
        R[:, good] = Rn[:, good]
        T[:, good] = Tn[:, good]
        return worse, np.zeros(X.shape[1], dtype=bool)


def _run(kernel_cls, name, A, y, n_nonzero_coefs, tol, max_iter, ls_solver, cg_tol, n_jobs,
         verbose):
    op, Y, was_1d, out_dtype = prepare(A, y, name)
    s = check_k(n_nonzero_coefs, op)
    ls = resolve_ls_solver(ls_solver, op)
    kernel = kernel_cls(op, s=s, ls=ls, cg_tol=cg_tol)
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, max(op.shape[0], 100)),
        name=name, verbose=verbose, n_jobs=n_jobs)
    summarise(name, status, resid, np.linalg.norm(Y, axis=0), tol)
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=s)


_CONSTRAINTS = dict(COMMON_CONSTRAINTS)

_FUNC_PARAMS = r"""
    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix, real or complex; a ``LinearOperator`` is used
        matrix-free (least squares by CGLS).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements; all targets are solved together.
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Stop a target when :math:`\|y - Ax\|_2 \le \mathrm{tol}\,\|y\|_2`.
    max_iter : int, default=None
        Iteration budget; default ``max(n_measurements, 100)``.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least squares on the merged support: batched Cholesky with
        refinement and QR fallback, or stacked QR (explicit A), or
        warm-started batched CGLS (operators); ``"auto"`` picks Cholesky or
        CGLS.
    cg_tol : float, default=1e-12
        Relative tolerance of CGLS.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef``, ``n_iter``, ``residual_norm``, ``status`` (1: residual
        below tol, 2: no decrease -- previous iterate kept, 4: max_iter),
        ``converged``."""


def cosamp(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=None, ls_solver="auto",
           cg_tol=1e-12, n_jobs=None, verbose=0):
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         ls_solver=ls_solver, cg_tol=cg_tol, n_jobs=n_jobs, verbose=verbose),
                    _CONSTRAINTS, "cosamp")
    return _run(_CoSaMPKernel, "CoSaMP", A, y, n_nonzero_coefs, tol, max_iter, ls_solver,
                cg_tol, n_jobs, verbose)


cosamp.__doc__ = r"""Compressive Sampling Matching Pursuit (CoSaMP).
""" + _FUNC_PARAMS + r"""

    See Also
    --------
    CoSaMP : the estimator.
    subspace_pursuit : merges s instead of 2s candidates.

    Notes
    -----
    One iteration: :math:`u = A^H r`, :math:`T = \operatorname{supp}H_{2s}(u)
    \cup \operatorname{supp}x`, :math:`b = A_T^+ y`, :math:`x = H_s(b)`,
    :math:`r = y - Ax`.  A step that does not decrease :math:`\|r\|` ends the
    target with the previous iterate.  Cost :math:`4mN + O(m(3s)^2)`.
    Guarantee: :math:`\delta_{4s} \le 0.1` [1]_.  When :math:`3s > m` the
    least squares are under-determined and the minimum-norm solution is used.

    References
    ----------
    .. [1] D. Needell, J. A. Tropp, "CoSaMP: iterative signal recovery from
       incomplete and inaccurate samples", Appl. Comput. Harmon. Anal. 26(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import cosamp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 100)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(100); x[[3, 50, 77]] = [1.0, -2.0, 0.5]
    >>> res = cosamp(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x))
    ([3, 50, 77], True)
    """


def subspace_pursuit(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=None,
                     ls_solver="auto", cg_tol=1e-12, n_jobs=None, verbose=0):
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         ls_solver=ls_solver, cg_tol=cg_tol, n_jobs=n_jobs, verbose=verbose),
                    _CONSTRAINTS, "subspace_pursuit")
    return _run(_SPKernel, "SubspacePursuit", A, y, n_nonzero_coefs, tol, max_iter,
                ls_solver, cg_tol, n_jobs, verbose)


subspace_pursuit.__doc__ = r"""Subspace Pursuit (SP).
""" + _FUNC_PARAMS + r"""

    See Also
    --------
    SubspacePursuit : the estimator.
    cosamp : merges 2s candidates.

    Notes
    -----
    Start with :math:`T = \operatorname{supp}H_s(A^Hy)`, :math:`x = A_T^+y`;
    then :math:`T' = T \cup \operatorname{supp}H_s(A^Hr)`,
    :math:`b = A_{T'}^+y`, :math:`T = \operatorname{supp}H_s(b)`,
    :math:`x = A_T^+y`; stop when :math:`\|r\|` no longer decreases (the
    previous iterate is returned).  Cost :math:`4mN + O(m(2s)^2)` per
    iteration.  Guarantee: :math:`\delta_{3s} < 0.165` [1]_.

    References
    ----------
    .. [1] W. Dai, O. Milenkovic, "Subspace pursuit for compressive sensing
       signal reconstruction", IEEE Trans. Inf. Theory 55(5), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import subspace_pursuit
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 100)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(100); x[[3, 50, 77]] = [1.0, -2.0, 0.5]
    >>> res = subspace_pursuit(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x))
    ([3, 50, 77], True)
    """


_EST_DOC = r"""
    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance.
    max_iter : int, default=None
        Iteration budget; default ``max(n_samples, 100)``.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least-squares solver on the merged support.
    cg_tol : float, default=1e-12
        CGLS relative tolerance.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Progress output.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Recovered coefficients.
    intercept_ : float or ndarray of shape (n_targets,)
        Always zero (no intercept is fitted).
    support_ : ndarray of bool, same shape as ``coef_``
        Non-zero pattern.
    n_iter_ : int or ndarray of shape (n_targets,)
        Iterations per target.
    residual_norm_ : float or ndarray of shape (n_targets,)
        Final :math:`\|y - Xw\|_2`.
    converged_ : bool
        Whether every target stopped by the residual or no-decrease test.
    n_nonzero_coefs_ : int
        Sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``."""


class _MergeEstimator(_ThresholdingRegressor):
    _parameter_constraints = _CONSTRAINTS

    def __init__(self, n_nonzero_coefs=None, *, tol=1e-6, max_iter=None, ls_solver="auto",
                 cg_tol=1e-12, n_jobs=None, verbose=0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.ls_solver = ls_solver
        self.cg_tol = cg_tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return self._func(A, y, n_nonzero_coefs=self.n_nonzero_coefs, tol=self.tol,
                          max_iter=self.max_iter, ls_solver=self.ls_solver,
                          cg_tol=self.cg_tol, n_jobs=self.n_jobs, verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs


class CoSaMP(_MergeEstimator):
    _func = staticmethod(cosamp)


CoSaMP.__doc__ = r"""Compressive Sampling Matching Pursuit (CoSaMP) estimator.
""" + _EST_DOC + r"""

    See Also
    --------
    cosamp : the functional interface (iteration, cost, guarantee).
    SubspacePursuit : a close relative.

    Notes
    -----
    Solves :math:`\min\|y - Xw\|_2` s.t. :math:`\|w\|_0 \le s`.

    References
    ----------
    .. [1] D. Needell, J. A. Tropp, "CoSaMP: iterative signal recovery from
       incomplete and inaccurate samples", Appl. Comput. Harmon. Anal. 26(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import CoSaMP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> np.flatnonzero(CoSaMP(n_nonzero_coefs=2).fit(X, X @ w).coef_).tolist()
    [5, 60]
    """


class SubspacePursuit(_MergeEstimator):
    _func = staticmethod(subspace_pursuit)


SubspacePursuit.__doc__ = r"""Subspace Pursuit (SP) estimator.
""" + _EST_DOC + r"""

    See Also
    --------
    subspace_pursuit : the functional interface (iteration, cost, guarantee).
    CoSaMP : a close relative.

    Notes
    -----
    Solves :math:`\min\|y - Xw\|_2` s.t. :math:`\|w\|_0 \le s`.

    References
    ----------
    .. [1] W. Dai, O. Milenkovic, "Subspace pursuit for compressive sensing
       signal reconstruction", IEEE Trans. Inf. Theory 55(5), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SubspacePursuit
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> np.flatnonzero(SubspacePursuit(n_nonzero_coefs=2).fit(X, X @ w).coef_).tolist()
    [5, 60]
    """
