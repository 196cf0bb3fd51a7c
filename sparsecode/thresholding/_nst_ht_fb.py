"""Null space tuning with hard thresholding and feedback (NST+HT+FB) and its
adaptive variant (AdptNST+HT+FB / NST+HT+f-FB), spec sections 4.1-4.3.

NST+HT+FB (Li, Liu & Mi) iterates
``x~ = u + A^+(y - A u)`` (null space tuning: ``A x~ = y``),
``T = H_s(x~)`` (hard thresholding) and
``u_T = x~_T + (A_T^H A_T)^{-1} A_T^H A_{T^c} x~_{T^c}`` (feedback).  Because
``A x~ = y`` the feedback step equals the least-squares fit of y on the
columns T (spec 4.2 identity), so NST+HT+FB is HTP whose gradient step is
replaced by the preconditioned step ``u + A^+ (y - A u)``; both are computed
by the shared kernel of :mod:`._htp`.  ``A^+ = A^H (A A^H)^{-1}`` is applied
with a Cholesky factor of ``A A^H`` computed once (explicit matrices) or with
warm-started conjugate gradients (operators).

The adaptive variant needs no sparsity level: ``|T_k| = f(k)`` grows with the
iteration count, ``f(k) = c k`` or ``k^2`` (Han et al., f-FB), and the
iteration stops on the residual; it fails (with a warning) when ``f(k)``
reaches ``n_measurements``.
"""

import numbers
import warnings

import numpy as np

from .._base import ConvergenceWarning
from .._validation import Interval, Options, validate_params
from ._base import (
    COMMON_CONSTRAINTS,
    FAILED,
    _ThresholdingRegressor,
    check_k,
    pack,
    prepare,
    resolve_ls_solver,
    resolve_max_iter,
    run_step_solver,
    summarise,
)
from ._htp import _HTPKernel
from ._linalg import _NSTProjector, ls_on_support

__all__ = ["NSTHTFB", "AdaptiveNSTHTFB", "nst_ht_fb", "adaptive_nst_ht_fb"]

_CHOLESKY_MAX_M = 4096


_PROJ_CG_TOL = 1e-10  # spec 0.4: CG for (A A^H)^{-1}, relative tolerance 1e-10


def _make_projector(op, projection):
    if projection == "auto":
        projection = "cholesky" if op.explicit and op.shape[0] <= _CHOLESKY_MAX_M else "cg"
    if projection == "cholesky" and not op.explicit:
        raise ValueError(
            "projection='cholesky' needs an explicit matrix A (dense or scipy.sparse); for a "
            "LinearOperator use projection='cg' or 'auto'."
        )
    proj = _NSTProjector(op, projection, cg_tol=_PROJ_CG_TOL)
    m, N = op.shape
    if proj.rank_deficient and proj.rank < min(m, N):
        warnings.warn(
            f"A A^H is singular (numerical rank {proj.rank} < {min(m, N)}): A is rank "
            "deficient. The null-space-tuning step uses the pseudo-inverse of A A^H "
            "(eigenvalues below 1e-12 * max * n_measurements discarded) instead.",
            UserWarning,
            stacklevel=3,
        )
    return proj


def _warn_cg(proj, name):
    if proj.inconsistent:
        warnings.warn(
            f"{name}: the residual is not in the range of A, so A A^H is singular (A rank "
            "deficient); the null-space-tuning step used the least-squares "
            "(pseudo-inverse) solution instead of (A A^H)^-1.",
            UserWarning,
            stacklevel=3,
        )
    if proj.cg_failed:
        warnings.warn(
            f"{name}: conjugate gradients for A^+ = A^H (A A^H)^-1 did not reach their tolerance "
            f"{proj.cg_tol:.1e} in {proj.cg_failed} solve(s); A A^H may be singular or "
            "very ill-conditioned (A rank deficient).",
            ConvergenceWarning,
            stacklevel=3,
        )


_NST_CONSTRAINTS = {
    **COMMON_CONSTRAINTS,
    "projection": [Options("auto", "cholesky", "cg")],
}


def nst_ht_fb(A, y, *, n_nonzero_coefs=None, tol=1e-6, max_iter=None, projection="auto",
              ls_solver="auto", cg_tol=1e-12, n_jobs=None, verbose=0):
    r"""NST+HT+FB: null space tuning, hard thresholding and feedback (known s).

    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix with full row rank (``n_measurements < n_features``),
        real or complex; a ``LinearOperator`` is used matrix-free.
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements; all targets share the factorisation of :math:`AA^H`
        and each iteration applies A and :math:`A^H` once to all of them.
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``; at most
        ``n_measurements``.
    tol : float, default=1e-6
        Stop a target when :math:`\|y - Ax\|_2 \le \mathrm{tol}\,\|y\|_2`.
    max_iter : int, default=None
        Iteration budget; default ``n_measurements`` (the reference code's).
    projection : {"auto", "cholesky", "cg"}, default="auto"
        How :math:`(AA^H)^{-1}` is applied: a Cholesky factor computed once
        (explicit A with ``n_measurements <= 4096``) or warm-started conjugate
        gradients (operators, large m) with relative tolerance 1e-10.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least squares on the support (the feedback step): batched Cholesky
        with refinement and QR fallback, or stacked QR (explicit A), or
        warm-started batched CGLS (operators); ``"auto"`` picks Cholesky or
        CGLS.
    cg_tol : float, default=1e-12
        Relative tolerance of CGLS (normal-equation residual) in the
        least-squares step.
    n_jobs : int, default=None
        BLAS threads during the call.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef``, ``n_iter``, ``residual_norm``, ``status`` (1: residual
        below tol, 2: support repeated, 4: max_iter), ``converged``,
        ``n_nonzero_coefs``.

    See Also
    --------
    NSTHTFB : the estimator.
    adaptive_nst_ht_fb : the variant without knowledge of s.
    htp : the unpreconditioned iteration.

    Notes
    -----
    With :math:`A^+ = A^H(AA^H)^{-1}`, one iteration is

    .. math::

        \tilde x = u + A^+(y - Au),\quad T = \operatorname{supp} H_s(\tilde x),\quad
        u = \arg\min_{\operatorname{supp} z\subseteq T}\|y - Az\|_2,

    the last step being the feedback
    :math:`u_T = \tilde x_T + (A_T^HA_T)^{-1}A_T^HA_{T^c}\tilde x_{T^c}` (equal
    to the least-squares fit because :math:`A\tilde x = y`).  It stops when the
    residual test passes or T repeats.  The step is a unit gradient step on
    the preconditioned system :math:`(AA^H)^{-1/2}A`, whose rows are
    orthonormal, which makes the method insensitive to the conditioning of A
    [3]_.  Cost: :math:`m^2N + m^3/3` once, then per iteration
    :math:`2mN + 2m^2` (projection) and :math:`O(ms^2)` (least squares).
    Convergence in finitely many steps under a preconditioned RIP condition
    is proved in [1]_, [2]_.

    References
    ----------
    .. [1] S. Li, Y. Liu, T. Mi, "Fast thresholding algorithms with feedbacks for
       sparse signal recovery", arXiv:1204.3700.
    .. [2] "The finite steps of convergence of the fast thresholding algorithms
       with feedbacks", arXiv:1711.02359.
    .. [3] N. Cleju, I. Ciocoiu, "Null space tuning and preconditioning for
       ill-conditioned sparse recovery" (code: scebios-project/code_paper_NSTPrec).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import nst_ht_fb
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 120)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(120); x[[2, 40, 99]] = [1.0, -0.5, 2.0]
    >>> res = nst_ht_fb(A, A @ x, n_nonzero_coefs=3)
    >>> np.flatnonzero(res.coef).tolist(), bool(np.allclose(res.coef, x)), res.n_iter
    ([2, 40, 99], True, 1)
    """
    validate_params(dict(n_nonzero_coefs=n_nonzero_coefs, tol=tol, max_iter=max_iter,
                         projection=projection, ls_solver=ls_solver, cg_tol=cg_tol,
                         n_jobs=n_jobs, verbose=verbose), _NST_CONSTRAINTS, "nst_ht_fb")
    op, Y, was_1d, out_dtype = prepare(A, y, "nst_ht_fb")
    s = check_k(n_nonzero_coefs, op)
    ls = resolve_ls_solver(ls_solver, op)
    proj = _make_projector(op, projection)
    kernel = _HTPKernel(op, s=s, ls=ls, cg_tol=cg_tol, tol=tol, projector=proj)
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, op.shape[0]),
        name="NST+HT+FB", verbose=verbose, n_jobs=n_jobs)
    _warn_cg(proj, "NST+HT+FB")
    summarise("NST+HT+FB", status, resid, np.linalg.norm(Y, axis=0), tol)
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=s)


# --------------------------------------------------------------------------
# adaptive schedule
# --------------------------------------------------------------------------
def _growth_auto(m):
    # f(k) = c k with c = m / 50 (10 at the authors' m = 500, the best
    # success/iterations trade-off of our reproduction of their table; see
    # examples/thresholding/plot_nst_success_table.py).
    return max(1, int(round(m / 50)))


def _make_schedule(schedule, growth, m):
    if callable(schedule):
        return schedule, "callable"
    if schedule == "quadratic":
        return (lambda k: k * k), "k^2"
    c = _growth_auto(m) if growth == "auto" else growth
    return (lambda k: int(np.ceil(c * k))), f"{c}k"


_ADPT_CONSTRAINTS = {
    **{k: v for k, v in _NST_CONSTRAINTS.items() if k != "n_nonzero_coefs"},
    "schedule": [Options("linear", "quadratic"), "callable"],
    "growth": [Options("auto"), Interval(numbers.Real, 0, None, closed="neither")],
    "prune_tol": [Interval(numbers.Real, 0, 1, closed="left")],
}


def adaptive_nst_ht_fb(A, y, *, schedule="linear", growth="auto", tol=1e-6, max_iter=None,
                       projection="auto", ls_solver="auto", cg_tol=1e-12, prune_tol=1e-8,
                       n_jobs=None, verbose=0):
    r"""Adaptive NST+HT+FB (AdptNST+HT+FB / NST+HT+f-FB): no sparsity level needed.

    Same iteration as :func:`nst_ht_fb` but the thresholded support grows,
    :math:`|T_k| = \min(f(k), N - 1)`, until the residual test passes.

    Parameters
    ----------
    A : {array-like, sparse matrix, LinearOperator} of shape (n_measurements, n_features)
        Sensing matrix (full row rank), real or complex.
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements.
    schedule : {"linear", "quadratic"} or callable, default="linear"
        :math:`f(k) = \lceil c\,k\rceil` (``"linear"``), :math:`k^2`
        (``"quadratic"``), or a callable ``f(k) -> int`` (k = 1, 2, ...)
        returning support sizes >= 1; a value <= 0, NaN or a non-number
        raises ``ValueError`` / ``TypeError``.
    growth : "auto" or float, default="auto"
        The slope c of the linear schedule; ``"auto"`` is
        ``max(1, round(n_measurements / 50))`` (c = 10 at m = 500).
    tol : float, default=1e-6
        Stop when :math:`\|y - Ax\|_2 \le \mathrm{tol}\,\|y\|_2`. For noisy
        data use the noise level (discrepancy principle).
    max_iter : int, default=None
        Iteration budget; default ``n_measurements``.
    projection : {"auto", "cholesky", "cg"}, default="auto"
        How :math:`(AA^H)^{-1}` is applied, as in :func:`nst_ht_fb`.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least-squares solver on the support, as in :func:`nst_ht_fb`.
    cg_tol : float, default=1e-12
        Relative tolerance of CGLS in the least-squares step.
    prune_tol : float, default=1e-8
        After convergence, coefficients below ``prune_tol * max|x|`` are
        dropped and the rest refitted, if the residual test still passes
        (the support :math:`T_k \supseteq \operatorname{supp} x` carries exact
        zeros up to rounding). 0 disables it.
    n_jobs : int, default=None
        BLAS threads during the call.
    verbose : bool or int, default=0
        Print progress per iteration.

    Returns
    -------
    result : SolverResult
        ``coef``, ``n_iter``, ``residual_norm``, ``status`` (1: residual
        below tol, 3: :math:`f(k) \ge` n_measurements without success, 4:
        max_iter), ``converged``, ``n_nonzero_coefs`` (estimated sparsity per
        target) and ``schedule`` (a description of f).

    See Also
    --------
    AdaptiveNSTHTFB : the estimator.
    nst_ht_fb : the known-sparsity version.

    Notes
    -----
    Once :math:`T_k \supseteq \operatorname{supp}(x)` with :math:`A_{T_k}` of
    full column rank, the least-squares step returns x exactly (noiseless
    case), so the residual test fires.  When :math:`f(k) \ge m` the least
    squares would fit y exactly on a wrong support, so the iteration stops
    as a failure (status 3, ``ConvergenceWarning``); the reference MATLAB
    code silently produces NaNs there.  The growth rate trades iterations
    for success rate: at m = 500, N = 1000 the authors report 50 % success
    at s = 255 / 252 / 248 / 237 for f = 6k / 10k / 14k / k^2 with 17.6 /
    11.2 / 8.5 / 11.6 iterations at s = 101 [1]_.

    References
    ----------
    .. [1] N. Han, S. Li, J. Lu, "The finite steps of convergence of the fast
       thresholding algorithms with f-feedbacks in compressed sensing",
       Numerical Algorithms (2022), doi:10.1007/s11075-021-01227-1 (code:
       hansanfei/NSTHTfFB).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import adaptive_nst_ht_fb
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 120)); A /= np.linalg.norm(A, axis=0)
    >>> x = np.zeros(120); x[[2, 40, 99]] = [1.0, -0.5, 2.0]
    >>> res = adaptive_nst_ht_fb(A, A @ x)
    >>> res.n_nonzero_coefs, bool(np.allclose(res.coef, x))
    (3, True)
    """
    validate_params(dict(schedule=schedule, growth=growth, tol=tol, max_iter=max_iter,
                         projection=projection, ls_solver=ls_solver, cg_tol=cg_tol,
                         prune_tol=prune_tol, n_jobs=n_jobs, verbose=verbose),
                    _ADPT_CONSTRAINTS, "adaptive_nst_ht_fb")
    op, Y, was_1d, out_dtype = prepare(A, y, "adaptive_nst_ht_fb")
    m, N = op.shape
    ls = resolve_ls_solver(ls_solver, op)
    f, desc = _make_schedule(schedule, growth, m)
    proj = _make_projector(op, projection)
    kernel = _HTPKernel(op, s=None, ls=ls, cg_tol=cg_tol, tol=tol, projector=proj, schedule=f,
                        max_support=m - 1)
    X, n_iter, status, resid = run_step_solver(
        kernel, op, Y, tol=tol, max_iter=resolve_max_iter(max_iter, m),
        name="AdptNST+HT+FB", verbose=verbose, n_jobs=n_jobs)
    ynorm = np.linalg.norm(Y, axis=0)
    if prune_tol > 0:
        X, resid = _prune(op, Y, X, resid, ynorm, tol, prune_tol, ls, cg_tol,
                          status != FAILED)
    _warn_cg(proj, "AdptNST+HT+FB")
    summarise("AdptNST+HT+FB", status, resid, ynorm, tol,
              extra_failed_msg=f"The support size f(k) = {desc} reached n_measurements = {m} "
              "before the residual test passed: the signal is not sparse enough for this "
              "schedule (try a slower growth) or tol is below the noise level.")
    nnz = np.count_nonzero(X, axis=0)
    return pack(op, X, n_iter, status, resid, was_1d, out_dtype, n_nonzero_coefs=nnz,
                schedule=desc)


def _prune(op, Y, X, resid, ynorm, tol, prune_tol, ls, cg_tol, which):
    """Drop rounding-level coefficients and refit, where the residual test still passes."""
    amax = np.max(np.abs(X), axis=0)
    keep = np.abs(X) > prune_tol * amax
    change = which & np.any((X != 0) & ~keep, axis=0)
    if not change.any():
        return X, resid
    c = np.flatnonzero(change)
    Xc, Rc = ls_on_support(op, Y[:, c], keep[:, c], method=ls, Z0=X[:, c], cg_tol=cg_tol)
    rn = np.linalg.norm(Rc, axis=0)
    ok = rn <= np.maximum(tol * ynorm[c], resid[c] * (1 + 1e-6))
    X = X.copy()
    resid = resid.copy()
    X[:, c[ok]] = Xc[:, ok]
    resid[c[ok]] = rn[ok]
    return X, resid


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------
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
        Whether every target stopped by the residual or the fixed-point test."""


class NSTHTFB(_ThresholdingRegressor):
    __doc__ = r"""NST+HT+FB estimator: null space tuning + hard thresholding + feedback.

    HTP preconditioned by :math:`(XX^H)^{-1}`: recovers s-sparse vectors in
    a few iterations, also when X is ill-conditioned.

    Parameters
    ----------
    n_nonzero_coefs : int, default=None
        Sparsity level s; default ``max(int(0.1 n_features), 1)``.
    tol : float, default=1e-6
        Relative residual tolerance.
    max_iter : int, default=None
        Iteration budget; default ``n_samples``.
    projection : {"auto", "cholesky", "cg"}, default="auto"
        How :math:`(XX^H)^{-1}` is applied (Cholesky factor computed once, or
        warm-started CG for operators).
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least squares on the support (the feedback step).
    cg_tol : float, default=1e-12
        Tolerance of CGLS in the least-squares step.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Progress output.

    Attributes
    ----------""" + _EST_ATTRS + r"""
    n_nonzero_coefs_ : int
        Sparsity level used.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    nst_ht_fb : the functional interface (iteration, cost, references).
    AdaptiveNSTHTFB : without knowledge of s.
    HTP : the unpreconditioned iteration.

    Notes
    -----
    Solves :math:`\min\|y - Xw\|_2` s.t. :math:`\|w\|_0\le s` for
    underdetermined X of full row rank; for ``n_samples >= n_features`` (or a
    rank-deficient X) the projection uses the pseudo-inverse of
    :math:`XX^H` (a warning is emitted when X is rank deficient).

    References
    ----------
    .. [1] S. Li, Y. Liu, T. Mi, "Fast thresholding algorithms with feedbacks for
       sparse signal recovery", arXiv:1204.3700.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import NSTHTFB
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 60]] = [1.0, -1.0]
    >>> est = NSTHTFB(n_nonzero_coefs=2).fit(X, X @ w)
    >>> np.flatnonzero(est.coef_).tolist(), est.n_iter_
    ([5, 60], 1)
    """

    _parameter_constraints = _NST_CONSTRAINTS

    def __init__(self, n_nonzero_coefs=None, *, tol=1e-6, max_iter=None, projection="auto",
                 ls_solver="auto", cg_tol=1e-12, n_jobs=None, verbose=0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.max_iter = max_iter
        self.projection = projection
        self.ls_solver = ls_solver
        self.cg_tol = cg_tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return nst_ht_fb(A, y, n_nonzero_coefs=self.n_nonzero_coefs, tol=self.tol,
                         max_iter=self.max_iter, projection=self.projection,
                         ls_solver=self.ls_solver, cg_tol=self.cg_tol, n_jobs=self.n_jobs,
                         verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs


class AdaptiveNSTHTFB(_ThresholdingRegressor):
    __doc__ = r"""Adaptive NST+HT+FB estimator: sparse recovery without a sparsity level.

    The thresholded support grows as :math:`f(k)` (``c k`` or ``k^2``) until
    the residual test passes; the sparsity is then read off the solution.

    Parameters
    ----------
    schedule : {"linear", "quadratic"} or callable, default="linear"
        Support-size schedule :math:`f(k)`; a callable must return sizes
        >= 1 (``ValueError`` otherwise).
    growth : "auto" or float, default="auto"
        Slope c of the linear schedule; ``"auto"`` = ``max(1, round(n_samples / 50))``.
    tol : float, default=1e-6
        Relative residual tolerance (use the noise level for noisy data).
    max_iter : int, default=None
        Iteration budget; default ``n_samples``.
    projection : {"auto", "cholesky", "cg"}, default="auto"
        How :math:`(XX^H)^{-1}` is applied.
    ls_solver : {"auto", "cholesky", "qr", "cg"}, default="auto"
        Least squares on the support.
    cg_tol : float, default=1e-12
        Tolerance of CGLS in the least-squares step.
    prune_tol : float, default=1e-8
        Relative magnitude below which coefficients are dropped at the end.
    n_jobs : int, default=None
        BLAS threads.
    verbose : bool or int, default=0
        Progress output.

    Attributes
    ----------""" + _EST_ATTRS + r"""
    n_nonzero_coefs_ : int or ndarray of shape (n_targets,)
        Estimated sparsity per target.
    schedule_ : str
        The schedule used (e.g. ``"10k"``).
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    adaptive_nst_ht_fb : the functional interface.
    NSTHTFB : with a known sparsity level.

    Notes
    -----
    See :func:`adaptive_nst_ht_fb` for the iteration and its failure stop.

    References
    ----------
    .. [1] N. Han, S. Li, J. Lu, "The finite steps of convergence of the fast
       thresholding algorithms with f-feedbacks in compressed sensing",
       Numerical Algorithms (2022).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import AdaptiveNSTHTFB
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> w = np.zeros(100); w[[5, 60, 70]] = [1.0, -1.0, 2.0]
    >>> est = AdaptiveNSTHTFB().fit(X, X @ w)
    >>> est.n_nonzero_coefs_, np.flatnonzero(est.coef_).tolist()
    (3, [5, 60, 70])
    """

    _parameter_constraints = _ADPT_CONSTRAINTS

    def __init__(self, *, schedule="linear", growth="auto", tol=1e-6, max_iter=None,
                 projection="auto", ls_solver="auto", cg_tol=1e-12, prune_tol=1e-8,
                 n_jobs=None, verbose=0):
        self.schedule = schedule
        self.growth = growth
        self.tol = tol
        self.max_iter = max_iter
        self.projection = projection
        self.ls_solver = ls_solver
        self.cg_tol = cg_tol
        self.prune_tol = prune_tol
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _solve(self, A, y):
        return adaptive_nst_ht_fb(A, y, schedule=self.schedule, growth=self.growth,
                                  tol=self.tol, max_iter=self.max_iter,
                                  projection=self.projection, ls_solver=self.ls_solver,
                                  cg_tol=self.cg_tol, prune_tol=self.prune_tol,
                                  n_jobs=self.n_jobs, verbose=self.verbose)

    def _store_extra(self, res):
        self.n_nonzero_coefs_ = res.n_nonzero_coefs
        self.schedule_ = res.schedule
