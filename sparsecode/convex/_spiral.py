r"""SPIRAL-TAP: sparse Poisson intensity reconstruction (Harmany, Marcia & Willett 2012).

Minimises, over non-negative intensities ``f``,

.. math:: \Phi(f) = 1^T A f - \sum_i y_i \log((Af)_i + b_i) + \tau\,\mathrm{pen}(f),
   \qquad f \ge 0,

with ``pen = ||f||_1`` or the (anisotropic or isotropic) total variation of
``f`` seen as an image, ``b_i`` a known background (or the offset
``beta = 1e-10`` where there is none).  Each iteration minimises the
separable quadratic model ``grad F(f_k)^T (f - f_k) + alpha_k/2 ||f - f_k||^2
+ tau pen(f)`` on ``f >= 0`` (closed form for ``l1``, warm-started dual FGP
for TV), with the curvature ``alpha_k`` of Barzilai-Borwein type and the
non-monotone acceptance test of the authors' code (spec Section 1 of
``poisson-gamp-unmixing-lars.md``).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from scipy.special import xlogy
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import warn_not_converged
from .._validation import check_finite_scalar, check_operator
from ._operator_solvers import _NO_ADJOINT, _check_has_adjoint
from ._tv import _fgp

__all__ = ["SPIRALTAP", "spiral_tap"]


class _Counted:
    """Products with A / A^T on 1-D vectors, counted."""

    def __init__(self, A):
        self.A = A
        self.n_matvec = 0
        self.n_rmatvec = 0
        if isinstance(A, LinearOperator):
            _check_has_adjoint(A)
            self._mv, self._rmv = A.matvec, A.rmatvec
        else:
            AT = A.T
            self._mv = lambda v: A @ v
            self._rmv = lambda v: AT @ v

    def mv(self, v):
        self.n_matvec += 1
        return np.asarray(self._mv(v), dtype=np.float64).reshape(-1)

    def rmv(self, v):
        self.n_rmatvec += 1
        try:
            return np.asarray(self._rmv(v), dtype=np.float64).reshape(-1)
        except NotImplementedError:
            raise ValueError(_NO_ADJOINT) from None


def _check_int(v, name, low):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"{name} must be an int >= {low}; got {v!r}.")
    return int(v)


def _validate(A, y, background, beta):
    if isinstance(A, LinearOperator):
        if len(A.shape) != 2 or min(A.shape) < 1:
            raise ValueError(f"A must have a 2-D non-empty shape; got {A.shape}.")
        if np.issubdtype(np.dtype(A.dtype), np.complexfloating):
            raise ValueError("A is complex; the Poisson model needs a real, non-negative A.")
    else:
        if (sp.issparse(A) or isinstance(A, np.ndarray)) and \
                np.issubdtype(A.dtype, np.complexfloating):
            raise ValueError("Complex data not supported: A is complex; the Poisson model "
                             "needs a real, non-negative A.")
        A = check_operator(A, "A", allow_complex=False)
        data = A.data if sp.issparse(A) else A
        y_early = np.asarray(y)
        if y_early.dtype.kind in "fiub" and not np.all(np.isfinite(y_early)):
            # a NaN in y is named before A's sign is judged
            raise ValueError("Input y contains NaN or infinity.")
        if np.any(data < 0):
            raise ValueError(
                "Negative values in data passed to A: the Poisson model needs a non-negative "
                "sensing matrix (intensities are mapped to non-negative expected counts).")
    m, n = A.shape
    y_arr = np.asarray(y)
    if np.issubdtype(y_arr.dtype, np.complexfloating):
        raise ValueError("y is complex; Poisson counts must be real.")
    if y_arr.ndim != 1 or y_arr.shape[0] != m:
        raise ValueError(f"y must be 1-D with {m} counts (one per row of A); "
                         f"got shape {y_arr.shape}.")
    y64 = np.array(y_arr, dtype=np.float64)
    if not np.all(np.isfinite(y64)):
        raise ValueError("Input y contains NaN or infinity.")
    if np.any(y64 < 0):
        raise ValueError("y holds negative values; Poisson counts must be >= 0.")
    beta = check_finite_scalar(beta, "beta", low=0.0, low_inclusive=False)
    if background is None:
        b = np.full(m, beta)
    else:
        b = np.array(background, dtype=np.float64).reshape(-1) if np.ndim(background) \
            else np.full(m, float(background))
        if b.shape != (m,) or not np.all(np.isfinite(b)) or np.any(b < 0):
            raise ValueError(
                f"background must be a non-negative float or {m} non-negative values; "
                f"got {background!r}.")
        b = np.where(b > 0, b, beta)
    return A, y64, b


def _objective(f, Af, y, b, tau, pen_value):
    with np.errstate(divide="ignore", invalid="ignore"):
        W = Af + b
        if np.any((W <= 0) & (y > 0)):
            return np.inf
        return float(Af.sum() - xlogy(y, W).sum() + tau * pen_value(f))


def spiral_tap(A, y, tau=1.0, *, penalty="l1", image_shape=None, isotropic=False,
               background=None, beta=1e-10, monotone=True, accept_past=10,
               accept_decrease=0.1, accept_mult=2.0, alpha_init=1.0, alpha_min=1e-30,
               alpha_max=1e30, alpha_accept_max=None, x0=None, max_iter=1000, min_iter=5,
               tol=1e-6, sub_max_iter=200, sub_tol=1e-7, verbose=0):
    r"""SPIRAL-TAP for Poisson data: sparse or piecewise-constant non-negative intensities.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (m, n)
        Non-negative sensing matrix (checked for arrays; an operator must
        map non-negative vectors to non-negative ones and have ``rmatvec``).
    y : array-like of shape (m,)
        Photon counts, ``>= 0``.
    tau : float, default=1.0
        Penalty weight ``>= 0`` (not scale-free: it multiplies the intensity
        scale).
    penalty : {"l1", "tv"}, default="l1"
        ``||f||_1`` or the total variation of ``f`` as an image.
    image_shape : tuple (rows, cols), optional
        Required for ``penalty="tv"`` (``f`` is the row-major image).
    isotropic : bool, default=False
        Isotropic TV (default anisotropic, as in the authors' code).
    background : float or array-like of shape (m,), optional
        Known background ``b`` (dark counts): ``y ~ Poisson(Af + b)``.
    beta : float, default=1e-10
        Offset in the logarithm where there is no background.
    monotone : bool, default=True
        Safeguarded (non-monotone window) acceptance; ``False`` takes the
        raw Barzilai-Borwein step without test (may diverge).
    accept_past : int, default=10
        Window ``M``: compare with the largest objective of the last
        ``M + 1`` iterates.
    accept_decrease : float, default=0.1
        Sufficient decrease ``sigma``.
    accept_mult : float, default=2.0
        Curvature multiplier ``eta`` after a rejection.
    alpha_init : float, default=1.0
        First curvature.
    alpha_min, alpha_max : float, default=1e-30, 1e30
        Safeguards of the curvature.
    alpha_accept_max : float, optional
        Accept unconditionally once ``alpha`` reaches it (default
        ``alpha_max``).
    x0 : array-like of shape (n,), optional
        Start.  Default: the demos' mean-matched
        ``f0 = (sum(y) n / (sum(A^T y) sum(A^T 1))) A^T y``.
    max_iter : int, default=1000
        Iteration budget.
    min_iter : int, default=5
        Iterations done before the stopping rule is tested.
    tol : float, default=1e-6
        Stop when ``||f_{k+1} - f_k|| / ||f_{k+1}|| <= tol``.
    sub_max_iter : int, default=200
        FGP iterations per TV sub-problem (warm-started from the previous
        dual).  The authors' code uses 50 with ``sub_tol=1e-5``; such
        inexact sub-solutions stall the acceptance test (on a 32 x 32 image
        under a Bernoulli sensing matrix: 400 iterations and 508 rejected
        trials without reaching ``tol=1e-7``, against 93 iterations and 25
        rejections with 200 / 1e-7).
    sub_tol : float, default=1e-7
        FGP stopping tolerance.
    verbose : int, default=0
        Print the objective every iteration.

    Returns
    -------
    f : ndarray of shape (n,)
        Non-negative intensity estimate (float64).
    info : SolverResult
        ``n_iter``, ``objective`` (``Phi``), ``objective_history`` and
        ``products_history`` (``Phi`` and the cumulative number of products
        with ``A`` and ``A^T`` after each iteration, start included),
        ``n_rejected`` (rejected trial steps), ``convergence`` (the KKT
        residual ``max(||(g + tau)_S||_inf, ||min(g + tau, 0)_{S^c}||_inf)``
        for ``l1``, ``g = grad F``; the relative step for TV),
        ``relative_step``, ``converged``, ``n_matvec``, ``n_rmatvec``.

    Raises
    ------
    ValueError
        Negative counts in ``y``; negative entries in ``A``; complex data;
        an operator ``A`` without ``rmatvec``.

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached before the stopping rule.

    See Also
    --------
    SPIRALTAP : Estimator interface.
    fista : Also solves the l1 problem (``datafit="poisson"``,
        ``penalty="nonneg_l1"``) with a duality-gap certificate.

    Notes
    -----
    Per accepted iteration: one product with ``A^T`` (the gradient
    ``A^T (1 - y / (Af + b))``) and one with ``A`` (the new ``Af``), plus one
    ``A`` product per rejected trial.  The curvature after a step
    ``delta`` is ``||sqrt(y) (A delta) / (Af + b)||^2 / ||delta||^2``, the
    curvature of ``F`` along the step at the new point, clipped to
    ``[alpha_min, alpha_max]``.  A trial is accepted when
    ``Phi(f+) <= max_{j in window} Phi(f_j) - sigma/2 alpha ||f+ - f||^2``;
    otherwise ``alpha <- eta alpha``.

    References
    ----------
    .. [1] Z. T. Harmany, R. F. Marcia and R. M. Willett, "This is
       SPIRAL-TAP: Sparse Poisson Intensity Reconstruction ALgorithms -
       Theory and Practice", IEEE Trans. Image Processing 21(3), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import spiral_tap
    >>> rng = np.random.default_rng(0)
    >>> A = rng.integers(0, 2, size=(120, 300)) / 20.0
    >>> f_true = np.zeros(300); f_true[[10, 50, 200]] = [100.0, 80.0, 120.0]
    >>> y = rng.poisson(A @ f_true)
    >>> f, info = spiral_tap(A, y, tau=0.5, tol=1e-8)
    >>> bool(f.min() >= 0), sorted(np.argsort(f)[-3:].tolist())
    (True, [10, 50, 200])
    """
    from .._base import SolverResult

    if penalty not in ("l1", "tv"):
        raise ValueError(f"penalty must be 'l1' or 'tv'; got {penalty!r}.")
    tau = check_finite_scalar(tau, "tau", low=0.0)
    A, y, b = _validate(A, y, background, beta)
    m, n = A.shape
    accept_past = _check_int(accept_past, "accept_past", 0)
    max_iter = _check_int(max_iter, "max_iter", 1)
    min_iter = _check_int(min_iter, "min_iter", 0)
    sub_max_iter = _check_int(sub_max_iter, "sub_max_iter", 1)
    sigma = check_finite_scalar(accept_decrease, "accept_decrease", low=0.0)
    eta = check_finite_scalar(accept_mult, "accept_mult", low=1.0, low_inclusive=False)
    a_min = check_finite_scalar(alpha_min, "alpha_min", low=0.0, low_inclusive=False)
    a_max = check_finite_scalar(alpha_max, "alpha_max", low=a_min)
    alpha = check_finite_scalar(alpha_init, "alpha_init", low=0.0, low_inclusive=False)
    a_acc = a_max if alpha_accept_max is None else check_finite_scalar(
        alpha_accept_max, "alpha_accept_max", low=0.0, low_inclusive=False)
    tol = check_finite_scalar(tol, "tol", low=0.0)
    sub_tol = check_finite_scalar(sub_tol, "sub_tol", low=0.0)
    if penalty == "tv":
        if image_shape is None or len(tuple(image_shape)) != 2 \
                or int(np.prod(image_shape)) != n:
            raise ValueError(
                f"penalty='tv' needs image_shape=(rows, cols) with rows * cols = n = {n}; "
                f"got {image_shape!r}.")
        r, c = (int(s) for s in image_shape)

        def pen_value(f):
            Im = f.reshape(r, c)
            P = Im[:-1, :] - Im[1:, :]
            Q = Im[:, :-1] - Im[:, 1:]
            if not isotropic:
                return np.abs(P).sum() + np.abs(Q).sum()
            Pf = np.zeros((r, c))
            Qf = np.zeros((r, c))
            Pf[:-1, :] = P
            Qf[:, :-1] = Q
            return np.sqrt(Pf * Pf + Qf * Qf).sum()

        dual = [np.zeros((r - 1, c)), np.zeros((r, c - 1))]
        n_inner = [0]

        def subsolve(s, t):
            if t == 0:
                return np.maximum(s, 0.0)
            X, P, Q, it, _, _ = _fgp(s.reshape(r, c), t, 0.0, np.inf, bool(isotropic),
                                     sub_max_iter, sub_tol, dual[0], dual[1])
            dual[0], dual[1] = P, Q
            n_inner[0] += it
            return X.reshape(-1)
    else:
        def pen_value(f):
            return f.sum()

        n_inner = [0]

        def subsolve(s, t):
            return np.maximum(s - t, 0.0)

    op = _Counted(A)
    if x0 is None:
        Aty = op.rmv(y)
        At1 = op.rmv(np.ones(m))
        den = Aty.sum() * At1.sum()
        f = (y.sum() * n / den) * Aty if den > 0 else np.zeros(n)
    else:
        f = np.array(x0, dtype=np.float64).reshape(-1)
        if f.shape != (n,) or not np.all(np.isfinite(f)):
            raise ValueError(f"x0 must hold {n} finite values; got shape {np.shape(x0)}.")
        f = np.maximum(f, 0.0)
    Af = op.mv(f)
    phi = _objective(f, Af, y, b, tau, pen_value)
    history = [phi]
    grad = op.rmv(1.0 - y / (Af + b))
    products = [op.n_matvec + op.n_rmatvec]
    n_rejected = 0
    converged = False
    rel_step = np.inf
    it = 0
    while it < min_iter or (it < max_iter and not converged):
        it += 1
        while True:
            f_new = subsolve(f - grad / alpha, tau / alpha)
            delta = f_new - f
            Af_new = op.mv(f_new)
            if not monotone:
                phi_new = _objective(f_new, Af_new, y, b, tau, pen_value)
                break
            phi_new = _objective(f_new, Af_new, y, b, tau, pen_value)
            ref = max(history[-(accept_past + 1):])
            if phi_new <= ref - 0.5 * sigma * alpha * float(delta @ delta) \
                    or alpha >= a_acc:
                break
            alpha *= eta
            n_rejected += 1
        A_delta = Af_new - Af
        f, Af, phi = f_new, Af_new, phi_new
        history.append(phi)
        grad = op.rmv(1.0 - y / (Af + b))
        products.append(op.n_matvec + op.n_rmatvec)
        dd = float(delta @ delta)
        num = float(np.sum(y * (A_delta / (Af + b)) ** 2))
        alpha = a_min if num == 0 or dd == 0 else min(max(num / dd, a_min), a_max)
        ff = float(f @ f)
        rel_step = np.sqrt(dd / ff) if ff > 0 else (0.0 if dd == 0 else np.inf)
        converged = rel_step <= tol
        if verbose:
            print(f"spiral_tap: iter {it}, objective {phi:.12e}, relative step {rel_step:.3e}, "
                  f"alpha {alpha:.3e}")
    if penalty == "l1":
        g = grad + tau
        on = f > 0
        kkt = max(np.abs(g[on]).max(initial=0.0), np.abs(np.minimum(g[~on], 0)).max(initial=0.0))
        convergence = float(kkt)
    else:
        convergence = float(rel_step)
    warn_not_converged("spiral_tap", 0 if converged else 1, 1, "relative step", rel_step, tol)
    info = SolverResult(
        coef=f, n_iter=it, objective=phi, objective_history=np.array(history),
        products_history=np.array(products),
        n_rejected=n_rejected, convergence=convergence, relative_step=float(rel_step),
        converged=bool(converged), n_matvec=op.n_matvec, n_rmatvec=op.n_rmatvec,
        n_inner_iter=n_inner[0])
    return f, info


class SPIRALTAP(RegressorMixin, BaseEstimator):
    r"""SPIRAL-TAP estimator: non-negative intensities from Poisson counts.

    Fits ``f >= 0`` minimising ``1^T A f - sum y log(A f + b) + tau pen(f)``
    with ``pen`` the l1 norm or the total variation (see :func:`spiral_tap`).

    Parameters
    ----------
    tau : float, default=1.0
        Penalty weight (not scale-free).
    penalty : {"l1", "tv"}, default="l1"
        Sparsity in the canonical basis or piecewise-constant images.
    image_shape : tuple (rows, cols), optional
        Required for ``penalty="tv"``.
    isotropic : bool, default=False
        Isotropic TV.
    background : float or array-like of shape (n_measurements,), optional
        Known background counts per measurement.
    monotone : bool, default=True
        Safeguarded non-monotone acceptance (the authors' default).
    accept_past : int, default=10
        Acceptance window.
    accept_decrease : float, default=0.1
        Sufficient-decrease constant.
    accept_mult : float, default=2.0
        Curvature multiplier after a rejection.
    max_iter : int, default=1000
        Iteration budget.
    min_iter : int, default=5
        Minimum number of iterations.
    tol : float, default=1e-6
        Relative-step tolerance.
    sub_max_iter : int, default=200
        FGP iterations per TV sub-problem.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Estimated intensity.
    n_iter_ : int
        Iterations run.
    objective_ : float
        Final objective.
    convergence_ : float
        KKT residual (l1) or relative step (TV).
    n_rejected_ : int
        Rejected trial steps.
    n_operator_calls_ : int
        Products with ``A`` and ``A^T``.
    n_features_in_ : int
        Number of intensities.

    See Also
    --------
    spiral_tap : Function interface.

    References
    ----------
    .. [1] Z. T. Harmany, R. F. Marcia and R. M. Willett, IEEE TIP 21(3), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import SPIRALTAP
    >>> rng = np.random.default_rng(0)
    >>> A = rng.integers(0, 2, size=(120, 300)) / 20.0
    >>> f_true = np.zeros(300); f_true[[10, 50, 200]] = [100.0, 80.0, 120.0]
    >>> est = SPIRALTAP(tau=0.5, tol=1e-8).fit(A, rng.poisson(A @ f_true))
    >>> sorted(np.argsort(est.coef_)[-3:].tolist())
    [10, 50, 200]
    """

    def __init__(self, tau=1.0, *, penalty="l1", image_shape=None, isotropic=False,
                 background=None, monotone=True, accept_past=10, accept_decrease=0.1,
                 accept_mult=2.0, max_iter=1000, min_iter=5, tol=1e-6, sub_max_iter=200):
        self.tau = tau
        self.penalty = penalty
        self.image_shape = image_shape
        self.isotropic = isotropic
        self.background = background
        self.monotone = monotone
        self.accept_past = accept_past
        self.accept_decrease = accept_decrease
        self.accept_mult = accept_mult
        self.max_iter = max_iter
        self.min_iter = min_iter
        self.tol = tol
        self.sub_max_iter = sub_max_iter

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # the Poisson model: a non-negative sensing matrix, counts y >= 0
        tags.input_tags.positive_only = True
        tags.input_tags.sparse = True
        tags.target_tags.positive_only = True
        return tags

    def fit(self, A, y):
        """Fit the intensity from the sensing matrix ``A`` and the counts ``y``.

        Parameters
        ----------
        A : ndarray, sparse matrix or LinearOperator of shape (n_measurements, n_features)
            Non-negative sensing matrix or operator.
        y : array-like of shape (n_measurements,)
            Photon counts.

        Returns
        -------
        self : SPIRALTAP
            Fitted estimator.
        """
        if y is None:
            raise ValueError("SPIRALTAP requires y to be passed, but the target y is None "
                             "(pass the photon counts).")
        f, info = spiral_tap(
            A, y, self.tau, penalty=self.penalty, image_shape=self.image_shape,
            isotropic=self.isotropic, background=self.background, monotone=self.monotone,
            accept_past=self.accept_past, accept_decrease=self.accept_decrease,
            accept_mult=self.accept_mult, max_iter=self.max_iter, min_iter=self.min_iter,
            tol=self.tol, sub_max_iter=self.sub_max_iter)
        dt = getattr(A, "dtype", None)
        # float32 in -> float32 out (the iterations run in float64)
        self.coef_ = f.astype(np.float32) if dt == np.float32 else f
        self.n_iter_ = info.n_iter
        self.objective_ = info.objective
        self.convergence_ = info.convergence
        self.n_rejected_ = info.n_rejected
        self.n_operator_calls_ = info.n_matvec + info.n_rmatvec
        self.n_features_in_ = f.shape[0]
        return self

    def predict(self, A):
        """Expected counts ``A coef_`` (without background) for a sensing matrix ``A``.

        Parameters
        ----------
        A : ndarray, sparse matrix or LinearOperator of shape (n_measurements, n_features)
            Sensing matrix.

        Returns
        -------
        y_mean : ndarray of shape (n_measurements,)
            Expected counts.
        """
        check_is_fitted(self)
        if not isinstance(A, LinearOperator):
            A = check_operator(A, "A", allow_complex=False)
        if A.shape[1] != self.n_features_in_:
            raise ValueError(f"A: X has {A.shape[1]} features, but SPIRALTAP is expecting "
                             f"{self.n_features_in_} features as input (A needs one column "
                             f"per intensity).")
        return np.asarray(A @ self.coef_).reshape(-1)


def _projected_gradient(A, y, tau, *, background=None, beta=1e-10, x0=None, max_iter=20000,
                        target=None, rtol=1e-8, grow=1.0):
    """Reference: projected gradient with backtracking for the l1 SPIRAL objective.

    ``f+ = max(f - s (grad F + tau), 0)`` with the step ``s`` found by
    backtracking on the quadratic upper bound (halved on failure; multiplied
    by ``grow`` after each accepted step: ``grow=1`` is the textbook
    non-increasing step, ``grow=2`` lets it recover).  Stops after ``max_iter`` steps or, with a
    ``target`` objective, as soon as ``|Phi - target| <= rtol |target|``.
    Returns ``(f, info)`` with ``n_matvec``/``n_rmatvec`` counts.
    """
    A, y, b = _validate(A, y, background, beta)
    m, n = A.shape
    op = _Counted(A)

    def pen(f):
        return f.sum()

    if x0 is None:
        Aty = op.rmv(y)
        At1 = op.rmv(np.ones(m))
        f = (y.sum() * n / (Aty.sum() * At1.sum())) * Aty
    else:
        f = np.maximum(np.array(x0, dtype=np.float64), 0.0)
    Af = op.mv(f)
    phi = _objective(f, Af, y, b, tau, pen)
    s = 1.0
    it = 0
    reached = False
    hist, prods = [phi], [op.n_matvec + op.n_rmatvec]
    for it in range(1, max_iter + 1):
        g = op.rmv(1.0 - y / (Af + b)) + tau
        while True:
            f_new = np.maximum(f - s * g, 0.0)
            d = f_new - f
            Af_new = op.mv(f_new)
            phi_new = _objective(f_new, Af_new, y, b, tau, pen)
            if phi_new <= phi + float(g @ d) + float(d @ d) / (2 * s) or s < 1e-300:
                break
            s *= 0.5
        f, Af, phi = f_new, Af_new, phi_new
        hist.append(phi)
        prods.append(op.n_matvec + op.n_rmatvec)
        s *= grow
        if target is not None and abs(phi - target) <= rtol * abs(target):
            reached = True
            break
    return f, {"objective": phi, "n_iter": it, "n_matvec": op.n_matvec,
               "n_rmatvec": op.n_rmatvec, "reached": reached,
               "objective_history": np.array(hist), "products_history": np.array(prods)}
