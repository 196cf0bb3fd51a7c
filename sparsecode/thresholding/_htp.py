"""Hard Thresholding Pursuit (Foucart 2011) and the shared HTP step kernel.

One kernel serves HTP and the null-space-tuning family (spec 4.2): the
proposal is either a gradient step ``u + mu A^H (y - A u)`` (HTP) or the
preconditioned step ``u + A^+ (y - A u)`` (NST); then ``T = H_s`` of the
proposal and the least-squares fit on ``T`` (which *is* the feedback step of
NST+HT+FB, spec 4.2 identity).  The support size may follow a schedule
``|T_k| = f(k)`` (the adaptive variants, spec 4.3).
"""

import numbers

import numpy as np

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
from .._validation import Interval, Options, validate_params
from ._linalg import _SupportLS, ls_on_support, top_s_mask

__all__ = ["HTP", "htp"]

# Up to this many targets, the least squares on the support is updated per
# target from the previous iteration's (the supports change little); beyond,
# one batched refit for all targets (BLAS-3) is cheaper.
_INCREMENTAL_MAX_L = 16


class _HTPKernel:
    """State: X (N, L) iterate, R (m, L) residual, T (N, L) previous support,
    AhY (N, L) = A^H Y, W (m, L) = last (A A^H)^{-1} R (NST warm start) and,
    for few targets on a dense A, LS (L,): per-target :class:`_SupportLS`
    (the least squares of the previous support, updated)."""

    def __init__(self, op, *, s, ls, cg_tol, tol=0.0, step=1.0, projector=None,
                 schedule=None, max_support=None):
        self.op = op
        self.tol = tol
        self.s = s
        self.ls = ls
        self.cg_tol = cg_tol
        self.step_size = step
        self.projector = projector
        self.schedule = schedule  # callable k -> |T_k| (adaptive) or None (fixed s)
        self.max_support = max_support
        self.sizes = []

    def init(self, Y):
        N = self.op.shape[1]
        m, L = Y.shape
        st = {"X": np.zeros((N, L), dtype=self.op.wdt), "R": Y.copy(),
              "T": np.zeros((N, L), dtype=bool)}
        if self.ls == "cg" or self._incremental(L):
            st["AhY"] = self.op.rmatmat(Y)
        if self._incremental(L):
            st["LS"] = np.full(L, None, dtype=object)  # per-target _SupportLS
        if self.projector is not None:
            st["W"] = np.zeros((self.projector.warm_rows, L), dtype=self.op.wdt)
        return st

    def _incremental(self, L):
        # Few targets on an explicit dense A: least squares updated from the
        # previous support (_SupportLS) instead of refitted from scratch.
        return self.ls == "cholesky" and self.op.kind == "dense" and L <= _INCREMENTAL_MAX_L

    def _ls_incremental(self, st, T):
        Y = st["Y"]
        N, L = T.shape
        Xn = np.zeros((N, L), dtype=self.op.wdt)
        Rn = np.empty(Y.shape, dtype=self.op.wdt)
        caches = st["LS"]
        for j in range(L):
            c = caches[j]
            if c is None:
                c = caches[j] = _SupportLS(self.op, Y[:, j], st["AhY"][:, j])
            res = c.solve(np.flatnonzero(T[:, j]))
            if res is None:  # ill-conditioned restriction: QR, as the batched solver
                Xn[:, j:j + 1], Rn[:, j:j + 1] = ls_on_support(
                    self.op, Y[:, j:j + 1], T[:, j:j + 1], method=self.ls)
            else:
                Xn[:, j], Rn[:, j] = res
        return Xn, Rn

    def init_failed(self, state):
        return np.zeros(state["X"].shape[1], dtype=bool)

    def size(self, it):
        if self.schedule is None:
            return self.s
        return min(_check_schedule_value(self.schedule(it), it), self.op.shape[1] - 1)

    def step(self, st, it):
        L = st["X"].shape[1]
        s = self.size(it)
        if self.schedule is not None:
            if s > self.max_support:
                # f(k) beyond the identifiable size: the LS step would fit y
                # exactly with a wrong support (spec 4.3, failure stop).
                return np.zeros(L, dtype=bool), np.ones(L, dtype=bool)
            grown = s > self.size(it - 1) if it > 1 else True
        X, R = st["X"], st["R"]
        if self.projector is not None:
            # NST step (spec 4.1): x~ = u + A^H (A A^H)^{-1} (y - A u), so A x~ = y
            W, V = self.projector.solve(R, st["W"])
            st["W"] = W
            Xt = X + V
        else:
            Xt = X + self.step_size * self.op.rmatmat(R)
        T = top_s_mask(Xt, s)
        ls_tol = self.cg_tol
        if self.ls == "cg":
            # Inexact least squares while the support is still moving: CGLS to
            # 1 % of the current relative residual (never looser than 1e-3);
            # the full cg_tol is applied below before a target may stop on a
            # repeated support, so fixed points are exact LS solutions.
            rel = np.linalg.norm(R, axis=0) / np.maximum(np.linalg.norm(st["Y"], axis=0),
                                                         1e-300)
            ls_tol = np.clip(1e-2 * rel, self.cg_tol, 1e-3)
        if "LS" in st:
            Xn, Rn = self._ls_incremental(st, T)
        else:
            Xn, Rn = ls_on_support(self.op, st["Y"], T, method=self.ls, Z0=Xt,
                                   AhY=st.get("AhY"), cg_tol=ls_tol)
        fixed = np.all(T == st["T"], axis=0)
        if self.schedule is not None and grown:
            fixed[:] = False  # the support grows: no repeat test (spec 4.3)
        if self.ls == "cg":
            # about to stop (support repeated or residual small): make the
            # final iterate the LS solution to full cg_tol accuracy
            small = np.linalg.norm(Rn, axis=0) <= self.tol * np.linalg.norm(st["Y"], axis=0)
            polish = np.flatnonzero((fixed | small) & (ls_tol > self.cg_tol))
            if polish.size:
                AhY = st["AhY"][:, polish]
                Xn[:, polish], Rn[:, polish] = ls_on_support(
                    self.op, st["Y"][:, polish], T[:, polish], method="cg",
                    Z0=Xn[:, polish], AhY=AhY, cg_tol=self.cg_tol)
        st["X"], st["R"], st["T"] = Xn, Rn, T
        return fixed, np.zeros(L, dtype=bool)


def _check_schedule_value(v, k):
    """A schedule's support size ``f(k)``: a finite number >= 1 (truncated to int)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"schedule({k}) returned {v!r}: the 'schedule' callable must return "
                        "a positive integer support size f(k) >= 1 for k = 1, 2, ...") from None
    if not np.isfinite(f) or f < 1:
        raise ValueError(f"schedule({k}) returned {v!r}: the 'schedule' callable must return "
                         "a positive integer support size f(k) >= 1 for k = 1, 2, ... (a size "
                         "<= 0 would select no atom and return x = 0).")
    return int(f)


def _resolve_step(step, op):
    if step == "auto":
        # Foucart's mu = 1 for unit-norm columns, made scale invariant
        c = op.mean_col_norm2()
        return 1.0 / c if c > 0 else 1.0
    return float(step) * op.scale ** 2  # the solver sees A / op.scale


_HTP_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "step": [Options("auto"), Interval(numbers.Real, 0, None, closed="neither")],
}


def htp(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=None, step="auto",
        ls_solver="auto", cg_tol=1e-12, n_jobs=None, verbose=0):
    r"""Hard Thresholding Pursuit for one or many right-hand sides.

    Iterates :math:`T^{k+1} = \operatorname{supp} H_s(x^k + \mu A^H(y - Ax^k))`,
    :math:`x^{k+1} = \arg\min_{\operatorname{supp} z \subseteq T^{k+1}} \|y - Az\|_2`.

    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix, real or complex; a ``LinearOperator`` is used
        matrix-free (products with A and A^H only).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements; all targets are solved together (one product with A and
        one with A^H per iteration for all of them).
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``. Must not
        exceed ``n_measurements``.
    tol : float, default=1e-6
        Stop a target when :math:`\|y - Ax\|_2 \le \mathrm{tol}\,\|y\|_2`.
    max_iter : int, default=None
        Iteration budget per target; default ``n_measurements`` (Foucart's
        code stops at 500; HTP terminates in finitely many steps anyway).
    step : "auto" or float, default="auto"
        :math:`\mu`. ``"auto"`` is :math:`N/\|A\|_F^2`, i.e. Foucart's
        :math:`\mu = 1` for unit-norm columns, scale invariant otherwise.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least squares on the support: for explicit matrices ``"cholesky"``
        (batched normal equations with one refinement step, Householder QR
        for targets whose restriction has ``cond^2 > 1e10``) or ``"qr"``
        (stacked Householder QR); ``"cg"``: warm-started batched CGLS
        (operators).  ``"auto"``: ``"cholesky"`` or ``"cg"``.
    cg_tol : float, default=1e-12
        Relative tolerance of CGLS (normal-equation residual).
    n_jobs : int, default=None
        BLAS threads used during the call.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) or (n_features, n_targets), ``n_iter``,
        ``residual_norm`` (:math:`\|y - Ax\|_2`), ``status`` (1: residual
        below tol, 2: support repeated, 4: max_iter reached) and
        ``converged``.

    See Also
    --------
    HTP : the estimator.
    nst_ht_fb : the preconditioned variant (robust to ill-conditioned A).

    Notes
    -----
    Stops when the residual test passes or the support repeats (then the
    iterate is a fixed point).  Under :math:`\delta_{3s} < 1/\sqrt{3}` every
    s-sparse x is recovered in finitely many iterations [1]_.  Cost per
    iteration: :math:`4mN` for the two products plus :math:`O(ms^2)` for the
    least squares (QR) or a few products per CGLS step.

    References
    ----------
    .. [1] S. Foucart, "Hard thresholding pursuit: an algorithm for compressive
       sensing", SIAM J. Numer. Anal. 49(6), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import htp
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((40, 100)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(100); x[[3, 50, 77]] = [1.0, -2.0, 0.5]
    >>> res = htp(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x))
    ([3, 50, 77], True)
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         step=step, ls_solver=ls_solver, cg_tol=cg_tol, n_jobs=n_jobs,
                         verbose=verbose), _HTP_CONSTRAINTS, "htp")
    op, Y, was_1d, out_dtype = prepare(A, y, "htp")
    s = check_k(n_nonzero_coefs, op)
    ls = resolve_ls_solver(ls_solver, op)
    kernel = _HTPKernel(op, s=s, ls=ls, cg_tol=cg_tol, tol=tol, step=_resolve_step(step, op))
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, op.shape[0]),
        name="HTP", verbose=verbose, n_jobs=n_jobs)
    summarise("HTP", status, resid, np.linalg.norm(Y, axis=0), tol)
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=s)


class HTP(_ThresholdingRegressor):
    r"""Hard Thresholding Pursuit (HTP) estimator.

    Gradient step, hard thresholding to the s largest entries, then a
    least-squares fit on that support; stops when the support repeats or the
    residual is small.

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance :math:`\|y - Xw\| \le \mathrm{tol}\|y\|`.
    max_iter : int, default=None
        Iteration budget; default ``n_samples``.
    step : "auto" or float, default="auto"
        Gradient step; ``"auto"`` = ``n_features / ||X||_F^2``.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least-squares solver on the support.
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
        Whether every target stopped by the residual or fixed-point test.
    n_nonzero_coefs_ : int
        Sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    htp : the functional interface.
    NSTHTFB : HTP with the null-space-tuning (preconditioned) step.

    Notes
    -----
    Solves :math:`\min \|y - Xw\|_2` s.t. :math:`\|w\|_0 \le s` (see
    :func:`htp` for the iteration and its guarantee).

    References
    ----------
    .. [1] S. Foucart, "Hard thresholding pursuit: an algorithm for compressive
       sensing", SIAM J. Numer. Anal. 49(6), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import HTP
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> np.flatnonzero(HTP(n_nonzero_coefs=2).fit(X, X @ w).coef_).tolist()
    [5, 60]
    """

    _parameter_constraints = _HTP_CONSTRAINTS

    def __init__(self, n_nonzero_coefs=None, *, tol=1e-6, max_iter=None, step="auto",
                 ls_solver="auto", cg_tol=1e-12, n_jobs=None, verbose=0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.step = step
        self.ls_solver = ls_solver
        self.cg_tol = cg_tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return htp(A, y, n_nonzero_coefs=self.n_nonzero_coefs, tol=self.tol,
                   max_iter=self.max_iter, step=self.step, ls_solver=self.ls_solver,
                   cg_tol=self.cg_tol, n_jobs=self.n_jobs, verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs
