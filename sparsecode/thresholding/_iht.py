"""Iterative hard thresholding: IHT (Blumensath & Davies 2009) and normalised
IHT (Blumensath & Davies 2010, step-size logic of the sparsify toolbox's
``hard_l0_Mterm.m``), spec section 4.5.
"""

import numbers

import numpy as np

from .._validation import Interval, Options, validate_params
from ._base import (
    COMMON_CONSTRAINTS,
    _ThresholdingRegressor,
    check_k,
    pack,
    prepare,
    resolve_max_iter,
    run_step_solver,
    summarise,
)
from ._linalg import top_s_mask

__all__ = ["IHT", "NIHT", "iht", "niht"]

_REFRESH = 25  # recompute R = Y - A X exactly every _REFRESH iterations (drift)


def _stalled(D, Xn, tol):
    # fixed point reached: the update is negligible relative to the iterate
    dn = np.linalg.norm(D, axis=0)
    xn = np.linalg.norm(Xn, axis=0)
    return dn <= 1e-3 * tol * np.maximum(xn, 1e-300)


class _IHTKernel:
    """x <- H_s(x + mu A^H (y - A x)); state X, R."""

    def __init__(self, op, *, s, mu, tol):
        self.op, self.s, self.mu, self.tol = op, s, mu, tol

    def init(self, Y):
        return {"X": np.zeros((self.op.shape[1], Y.shape[1]), dtype=self.op.wdt),
                "R": Y.copy()}

    def init_failed(self, st):
        return np.zeros(st["X"].shape[1], dtype=bool)

    def step(self, st, it):
        X = st["X"]
        V = X + self.mu * self.op.rmatmat(st["R"])
        Xn = V * top_s_mask(V, self.s)
        Rn = st["Y"] - self.op.matmat(Xn)
        # divergence guard (a step above 2/||A_S||^2): stop with the last
        # finite iterate instead of overflowing
        rn = np.linalg.norm(Rn, axis=0)
        diverged = ~np.isfinite(rn) | (rn > 1e4 * np.linalg.norm(st["Y"], axis=0))
        fixed = _stalled(Xn - X, Xn, self.tol) & ~diverged
        keep = ~diverged
        X[:, keep] = Xn[:, keep]
        st["R"][:, keep] = Rn[:, keep]
        return fixed, diverged


class _NIHTKernel:
    """Normalised IHT with the backtracking of Blumensath & Davies (2010)."""

    c = 0.01  # shrinkage safety: mu must stay below (1 - c) * omega
    max_backtrack = 50

    def __init__(self, op, *, s, tol):
        self.op, self.s, self.tol = op, s, tol

    def init(self, Y):
        return {"X": np.zeros((self.op.shape[1], Y.shape[1]), dtype=self.op.wdt),
                "R": Y.copy()}

    def init_failed(self, st):
        return np.zeros(st["X"].shape[1], dtype=bool)

    def step(self, st, it):
        op, s = self.op, self.s
        X, R = st["X"], st["R"]
        L = X.shape[1]
        G = op.rmatmat(R)
        # Gamma = supp(x), or the top-s of the gradient at x = 0
        zero = ~np.any(X != 0, axis=0)
        Gam = X != 0
        if zero.any():
            Gam[:, zero] = top_s_mask(G[:, zero], s)
        Gg = G * Gam
        AGg = op.matmat(Gg)
        num = np.sum(np.abs(Gg) ** 2, axis=0)
        den = np.sum(np.abs(AGg) ** 2, axis=0)
        mu = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        V = X + mu * G
        T = top_s_mask(V, s)
        Xn = V * T
        AD = mu * AGg  # A (x+ - x) when the support is unchanged
        changed = np.any(T != Gam, axis=0)
        idx = np.flatnonzero(changed)
        for _ in range(self.max_backtrack):
            if idx.size == 0:
                break
            D = Xn[:, idx] - X[:, idx]
            ADi = op.matmat(D)
            dn = np.sum(np.abs(D) ** 2, axis=0)
            adn = np.sum(np.abs(ADi) ** 2, axis=0)
            omega = (1 - self.c) * dn / np.where(adn > 0, adn, 1.0)
            ok = (mu[idx] <= omega) | (adn == 0)
            AD[:, idx[ok]] = ADi[:, ok]
            idx = idx[~ok]
            if idx.size:
                # mu <- mu / (kappa (1 - c)) with kappa (1 - c) = 2 (sparsify: halve)
                mu[idx] /= 2.0
                V = X[:, idx] + mu[idx] * G[:, idx]
                Xn[:, idx] = V * top_s_mask(V, s)
        if idx.size:  # backtracking budget exhausted: accept (rare), exact residual below
            AD[:, idx] = op.matmat(Xn[:, idx] - X[:, idx])
        if it % _REFRESH == 0:
            st["R"] = st["Y"] - op.matmat(Xn)
        else:
            st["R"] = R - AD
        fixed = _stalled(Xn - X, Xn, self.tol)
        st["X"] = Xn
        return fixed, np.zeros(L, dtype=bool)


_IHT_CONSTRAINTS = {
    **{k: v for k, v in COMMON_CONSTRAINTS.items() if k not in ("ls_solver", "cg_tol")},
    "step": [Options("auto"), Interval(numbers.Real, 0, None, closed="neither")],
}
_NIHT_CONSTRAINTS = {k: v for k, v in _IHT_CONSTRAINTS.items() if k != "step"}


def iht(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=1000, step="auto", n_jobs=None,
        verbose=0):
    r"""Iterative Hard Thresholding for one or many right-hand sides.

    Iterates :math:`x \leftarrow H_s(x + \mu A^H(y - Ax))`.

    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix, real or complex.
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements (two products per iteration for all targets).
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Stop a target when :math:`\|y - Ax\|_2 \le \mathrm{tol}\,\|y\|_2`, or
        when the update is below ``1e-3 tol`` relative to x (fixed point).
    max_iter : int, default=1000
        Iteration budget.
    step : "auto" or float, default="auto"
        :math:`\mu`; ``"auto"`` is :math:`1/\|A\|_2^2` (exact for small
        dense A, power iteration otherwise), the step that makes IHT a
        majorisation-minimisation method.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef``, ``n_iter``, ``residual_norm``, ``status`` (1: residual
        below tol, 2: fixed point, 3: diverged -- the last iterate with a
        residual below ``1e4 ||y||`` is returned, 4: max_iter), ``converged``,
        ``step``.

    See Also
    --------
    IHT : the estimator.
    niht : with the normalised (adaptive) step.

    Notes
    -----
    Cost per iteration: :math:`4mN` flops (one product with A and one with
    :math:`A^H`).  Recovers s-sparse x when :math:`\delta_{3s} < 1/\sqrt{32}`
    with :math:`\|A\|_2 < 1` [1]_; linear convergence, so many more iterations
    than HTP-type methods.  The default step :math:`1/\|A\|_2^2` makes the
    residual non-increasing, so IHT cannot diverge, but it may stop at a
    local fixed point (status 2, ``converged`` true) whose residual is above
    ``tol``: check ``residual_norm``, or use :func:`niht`, :func:`htp` or
    :func:`nst_ht_fb`, which recover far more often.  A larger fixed step
    (e.g. 1 on unit-norm columns, the setting of the RIP theorem) can
    diverge outside the RIP regime; that is reported (status 3 and a
    ``ConvergenceWarning``).  All solvers of the family are scale
    equivariant: A and y are rescaled internally by powers of two.

    References
    ----------
    .. [1] T. Blumensath, M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import iht
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 100)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(100); x[[3, 50]] = [1.0, -1.0]
    >>> res = iht(A, A @ x, n_nonzero_coefs=2)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x, atol=1e-5))
    ([3, 50], True)
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         step=step, n_jobs=n_jobs, verbose=verbose), _IHT_CONSTRAINTS, "iht")
    op, Y, was_1d, out_dtype = prepare(A, y, "iht")
    s = check_k(n_nonzero_coefs, op)
    if step == "auto":
        L2 = op.norm2_squared()
        mu = 1.0 / L2 if L2 > 0 else 1.0
    else:
        mu = float(step) * op.scale ** 2  # the solver sees A / op.scale
    kernel = _IHTKernel(op, s=s, mu=mu, tol=tol)
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, 1000), name="IHT",
        verbose=verbose, n_jobs=n_jobs)
    summarise("IHT", status, resid, np.linalg.norm(Y, axis=0), tol,
              extra_failed_msg="IHT diverged (residual above 1e4 ||y||): the step is too "
              "large for this matrix; use step='auto' (1/||A||^2) or NIHT.")
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=s,
                step=mu / op.scale ** 2)


def niht(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=1000, n_jobs=None, verbose=0):
    r"""Normalised Iterative Hard Thresholding (Blumensath & Davies 2010).

    IHT with the step :math:`\mu = \|g_\Gamma\|^2/\|A_\Gamma g_\Gamma\|^2`
    (exact line search on the current support Γ), shrunk by backtracking
    whenever the support changes, which makes it invariant to the scaling of
    A and guarantees a decrease of the residual.

    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix, real or complex.
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements.
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance (and fixed-point test as in :func:`iht`).
    max_iter : int, default=1000
        Iteration budget.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef``, ``n_iter``, ``residual_norm``, ``status``, ``converged``.

    See Also
    --------
    NIHT : the estimator.
    iht : fixed step.

    Notes
    -----
    With :math:`g = A^H(y - Ax)`, :math:`x^+ = H_s(x + \mu g)`; if
    :math:`\operatorname{supp}x^+ \ne \Gamma` and
    :math:`\mu > (1-c)\|x^+ - x\|^2/\|A(x^+ - x)\|^2` (c = 0.01), μ is halved
    and :math:`x^+` recomputed.  Two products per iteration (plus one per
    backtracking step), batched over targets.

    References
    ----------
    .. [1] T. Blumensath, M. E. Davies, "Normalized iterative hard thresholding:
       guaranteed stability and performance", IEEE J. Sel. Topics Signal
       Process. 4(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import niht
    >>> rng = np.random.default_rng(0)
    >>> A = 5.0 * rng.standard_normal((60, 100))
    >>> x = np.zeros(100); x[[3, 50]] = [1.0, -1.0]
    >>> res = niht(A, A @ x, n_nonzero_coefs=2)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x, atol=1e-5))
    ([3, 50], True)
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         n_jobs=n_jobs, verbose=verbose), _NIHT_CONSTRAINTS, "niht")
    op, Y, was_1d, out_dtype = prepare(A, y, "niht")
    s = check_k(n_nonzero_coefs, op)
    kernel = _NIHTKernel(op, s=s, tol=tol)
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, 1000), name="NIHT",
        verbose=verbose, n_jobs=n_jobs)
    # the residual was updated recursively: report the exact one
    resid = np.linalg.norm(Y - op.matmat(X), axis=0)
    summarise("NIHT", status, resid, np.linalg.norm(Y, axis=0), tol)
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=s)


_EST_ATTRS = r"""
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
        Whether every target stopped by the residual or the fixed-point test.
    n_nonzero_coefs_ : int
        Sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``."""


class IHT(_ThresholdingRegressor):
    __doc__ = r"""Iterative Hard Thresholding estimator.

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance.
    max_iter : int, default=1000
        Iteration budget.
    step : "auto" or float, default="auto"
        Gradient step; ``"auto"`` = :math:`1/\|X\|_2^2`.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Progress output.

    Attributes
    ----------""" + _EST_ATTRS + r"""

    See Also
    --------
    iht : the functional interface.
    NIHT : normalised step.

    Notes
    -----
    Solves :math:`\min\|y - Xw\|_2` s.t. :math:`\|w\|_0 \le s` by projected
    gradient :math:`w \leftarrow H_s(w + \mu X^H(y - Xw))`.

    References
    ----------
    .. [1] T. Blumensath, M. E. Davies, "Iterative hard thresholding for
       compressed sensing", Appl. Comput. Harmon. Anal. 27(3), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import IHT
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> np.flatnonzero(IHT(n_nonzero_coefs=2).fit(X, X @ w).coef_).tolist()
    [5, 60]
    """

    _parameter_constraints = _IHT_CONSTRAINTS

    def __init__(self, n_nonzero_coefs=None, *, tol=1e-6, max_iter=1000, step="auto",
                 n_jobs=None, verbose=0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.step = step
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return iht(A, y, n_nonzero_coefs=self.n_nonzero_coefs, tol=self.tol,
                   max_iter=self.max_iter, step=self.step, n_jobs=self.n_jobs,
                   verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs


class NIHT(_ThresholdingRegressor):
    __doc__ = r"""Normalised Iterative Hard Thresholding estimator.

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance.
    max_iter : int, default=1000
        Iteration budget.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Progress output.

    Attributes
    ----------""" + _EST_ATTRS + r"""

    See Also
    --------
    niht : the functional interface (step-size rule).
    IHT : fixed step.

    Notes
    -----
    Same problem as :class:`IHT`; the step is chosen by exact line search on
    the current support with backtracking, so no norm of X is needed.

    References
    ----------
    .. [1] T. Blumensath, M. E. Davies, "Normalized iterative hard thresholding:
       guaranteed stability and performance", IEEE J. Sel. Topics Signal
       Process. 4(2), 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import NIHT
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((60, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> np.flatnonzero(NIHT(n_nonzero_coefs=2).fit(X, X @ w).coef_).tolist()
    [5, 60]
    """

    _parameter_constraints = _NIHT_CONSTRAINTS

    def __init__(self, n_nonzero_coefs=None, *, tol=1e-6, max_iter=1000, n_jobs=None,
                 verbose=0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return niht(A, y, n_nonzero_coefs=self.n_nonzero_coefs, tol=self.tol,
                    max_iter=self.max_iter, n_jobs=self.n_jobs, verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs
