"""The shared fit driver: datafit x penalty x solver -> coefficients.

``penalized_fit`` validates the datafit/penalty/solver combination, prepares
the design once (centering, sample weights, Fortran order or CSC), runs the
solver for each target and summarises convergence in one warning.  The
named estimators and the path functions are thin layers over it (skglm's
``_glm_fit`` plays the same role).
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from .._scaling import max_exponent
from .._base import SolverResult, warn_not_converged
from . import _penalties as PEN
from . import _prox as P
from ._datafits import AbsoluteDeviation, Huber, Logistic, Quadratic, SqrtQuadratic
from ._solvers.cd import (_C, AndersonCD, _DualProjector, col_sqnorms, solve_generic,
                          solve_glm_builtin,
                         solve_quadratic_builtin)
from ._solvers.concomitant import ConcomitantCD, solve_sqrt_builtin
from ._solvers.lp import WorkingSetLP, _weighted_median, solve_lad_lp
from ._solvers.base import BaseSolver
from ._solvers.pdhg import PDHG, solve_pdhg

__all__ = ["penalized_fit", "alpha_max"]

_SOLVER_NAMES = {"cd": AndersonCD, "concomitant": ConcomitantCD, "lp": WorkingSetLP,
                 "pdhg": PDHG}


def datafit_kind(datafit):
    """The fit driver's route for a datafit: ``"quad"``, ``"sqrt"``, ``"lad"``,
    ``"huber"``, ``"logistic"`` (the built-in datafits, by their ``kind``
    attribute, or their names) or ``"generic"`` (a user datafit)."""
    if isinstance(datafit, str):
        key = {"quadratic": "quad", "quad": "quad", "lasso": "quad", "sqrt": "sqrt",
               "sqrt_quadratic": "sqrt",
               "sqrt_lasso": "sqrt", "lad": "lad", "absolute_deviation": "lad",
               "lad_lasso": "lad", "huber": "huber", "logistic": "logistic"}.get(datafit)
        if key is None:
            raise ValueError(f"datafit must be 'quadratic', 'sqrt', 'lad', 'huber' or "
                             f"'logistic' (or a datafit object); got {datafit!r}.")
        return key
    kind = {"quadratic": "quad", "sqrt": "sqrt", "lad": "lad", "huber": "huber",
            "logistic": "logistic"}.get(getattr(datafit, "kind", None), "generic")
    if kind != "generic":
        # the kind names a built-in reformulation: honoured only when the
        # class computes what the built-in one does (a subclass overriding a
        # method is a user datafit)
        base = _KIND_DATAFIT[kind]
        if any(getattr(type(datafit), m, None) is not v for m, v in vars(base).items()
               if callable(v) and not m.startswith("__")):
            return "generic"
    return kind


_KIND_DATAFIT = {"quad": Quadratic, "sqrt": SqrtQuadratic, "lad": AbsoluteDeviation,
                 "huber": Huber, "logistic": Logistic}
# the smooth per-sample datafits run by the compiled GLM coordinate descent
_GLM_KINDS = ("huber", "logistic")


def resolve_solver(solver, kind, penalty, *, tol=None, max_iter=None, verbose=0, datafit=None):
    """A solver instance for the datafit (``kind``, or the object ``datafit``) and
    the penalty, checked by the solver's own declared requirements
    (``BaseSolver.validate``)."""
    builtin = PEN.is_builtin(penalty)
    if solver is None or (isinstance(solver, str) and solver == "auto"):
        # a user penalty with the square-root or LAD datafit: the primal-dual
        # solver (the concomitant CD and the LP select built-in penalties)
        solver = {"quad": AndersonCD, "generic": AndersonCD, "huber": AndersonCD,
                  "logistic": AndersonCD,
                  "sqrt": ConcomitantCD if builtin else PDHG,
                  "lad": WorkingSetLP if builtin else PDHG}[kind]()
    elif isinstance(solver, str):
        if solver not in _SOLVER_NAMES:
            raise ValueError(f"solver must be 'auto', {', '.join(map(repr, _SOLVER_NAMES))} or "
                             f"a solver object; got {solver!r}.")
        solver = _SOLVER_NAMES[solver]()
    else:
        import copy

        solver = copy.copy(solver)
    if not isinstance(solver, BaseSolver):
        raise TypeError(f"solver must be one of AndersonCD, ConcomitantCD, WorkingSetLP, PDHG "
                        f"(a BaseSolver); got {type(solver).__name__}.")
    if tol is not None:
        solver.tol = tol
    if max_iter is not None:
        solver.max_iter = max_iter
    if verbose:
        solver.verbose = verbose
    df = datafit if datafit is not None and not isinstance(datafit, str) else \
        _KIND_DATAFIT.get(kind)
    if df is None:
        raise ValueError("a user datafit needs to be passed as an object.")
    solver.validate(df() if isinstance(df, type) else df, penalty)
    return solver


def _check_sample_weight(sample_weight, n, dtype):
    if sample_weight is None:
        return None
    sw = np.asarray(sample_weight, dtype=np.float64)
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    if sw.shape != (n,):
        raise ValueError(f"sample_weight must have shape ({n},); got {sw.shape}.")
    if not np.all(np.isfinite(sw)) or np.any(sw < 0):
        raise ValueError("sample_weight must be finite and >= 0.")
    if sw.sum() <= 0:
        raise ValueError("sample_weight: all weights are zero; at least one must be positive.")
    return sw * (n / sw.sum())


# CSR designs with more than this many features per sample stay CSR (measured:
# scipy's tocsc costs 0.65 ms at 5000 x 5000 / 0.5 %, 1.0 ms at 10000 x 2000 /
# 1 %, but 9.4 ms at 2000 x 20000 / 1 %; one working-set gather from CSR ~2 ms)
_CSR_KEEP_ASPECT = 2


def _csr_to_csc(X, row_scale=None, y=None):
    """``A = diag(row_scale) X`` (CSR) as a CSC matrix with sorted row indices, its
    squared column norms, ``A^T y`` (float64; zeros if ``y`` is None) and
    ``max |X|``, from the compiled two-pass conversion."""
    e = np.zeros(0)
    rs = e if row_scale is None else np.asarray(row_scale, dtype=np.float64)
    yv = e if y is None else np.ascontiguousarray(y, dtype=np.float64)
    indptr = X.indptr.astype(X.indices.dtype, copy=False)
    data, indices, cptr, sq, xty, amax = _C.csr_to_csc(X.data, X.indices, indptr,
                                                       X.shape[1], rs, yv)
    Xs = sp.csc_matrix((data, indices, cptr), shape=X.shape, copy=False)
    Xs.has_sorted_indices = True
    return Xs, sq, xty, amax


class Prepared:
    """The design and targets after centering / weighting, ready for a kernel."""

    def __init__(self, X, Y, kind, fit_intercept, sample_weight):
        n, N = X.shape
        self.n, self.N = n, N
        self.kind = kind
        self.fit_intercept = fit_intercept
        self.sw = sample_weight
        self.sparse = sp.issparse(X)
        dt = X.dtype
        self.dtype = dt
        Y = np.asarray(Y, dtype=np.float64)
        self.X_offset = np.zeros(N)
        self.Y_offset = np.zeros(Y.shape[1])
        self.icol = None
        if kind == "lad":
            self.X = X.tocsc() if self.sparse else np.asarray(X)
            self.Y = Y
            return
        if kind in _GLM_KINDS:
            # not centred (the intercept is a coordinate of the CD)
            if self.sparse:
                Xs = X.tocsc()
                if not Xs.has_sorted_indices:
                    Xs = Xs.sorted_indices()
                self.X = Xs
            else:
                self.X = np.asfortranarray(X, dtype=dt)
            self.Y = Y
            return
        sqw = None if sample_weight is None else np.sqrt(sample_weight)
        if self.sparse:
            if X.format == "csr" and kind == "quad" and N > _CSR_KEEP_ASPECT * n:
                # the least-squares CD gathers its working-set columns from
                # CSR itself: converting a wide design to CSC (an O(nnz)
                # scatter over many columns, the dominant cost there) is
                # skipped.  Designs with N <= _CSR_KEEP_ASPECT n are converted
                # once (a scatter over few columns, cheaper than one gather
                # of the working-set columns, which each outer iteration needs)
                Xs = X.astype(dt, copy=False)
                if sqw is not None:
                    Xs = sp.csr_matrix(sp.diags(sqw.astype(dt)) @ Xs)
                    Y = Y * sqw[:, None]
            elif X.format == "csr" and _C is not None and kind in ("quad", "sqrt"):
                # one compiled conversion (row weights applied) that also gives
                # the squared column norms: the Lipschitz constants of the CD
                if sqw is not None:
                    Y = Y * sqw[:, None]
                # (one target: X^T y too, the first gradient of the CD)
                Xs, sq, xty, self.max_abs_X = _csr_to_csc(
                    X, sqw, Y[:, 0] if Y.shape[1] == 1 else None)
                self.lips = sq / n
                if Y.shape[1] == 1:
                    self.xty = xty
            else:
                Xs = X.tocsc().astype(dt, copy=False)
                if sqw is not None:
                    Xs = sp.csc_matrix(sp.diags(sqw.astype(dt)) @ Xs)
                    Y = Y * sqw[:, None]
                if not Xs.has_sorted_indices:
                    Xs = Xs.sorted_indices()  # a copy: the input is never modified
            self.X = Xs
            self.Y = Y
            if fit_intercept:
                self.icol = np.ones(n) if sqw is None else sqw
            return
        Xd = np.asarray(X)
        if fit_intercept or sqw is not None:
            # centred / weighted straight into one Fortran-ordered copy (no
            # intermediate C-ordered array)
            Xf = np.empty(Xd.shape, dtype=dt, order="F")
            if fit_intercept:
                sw = np.ones(n) if sample_weight is None else sample_weight
                self.X_offset = (sw @ Xd) / n
                self.Y_offset = (sw @ Y) / n
                np.subtract(Xd, self.X_offset.astype(dt), out=Xf, casting="unsafe")
                Y = Y - self.Y_offset
            else:
                Xf[...] = Xd
            if sqw is not None:
                Xf *= sqw[:, None].astype(dt)
                Y = Y * sqw[:, None]
            self.X = Xf
        else:
            self.X = np.asfortranarray(Xd, dtype=dt)
        self.Y = Y


def _datafit_callbacks(datafit):
    """A user datafit's C callbacks (``_jit.datafit_callbacks``), or None when
    they do not compile (the jitclass kernel then runs it)."""
    from ._jit import datafit_callbacks

    try:
        return datafit_callbacks(datafit)
    except Exception:  # noqa: BLE001 - any failure: the generic path
        return None


def _user_lipschitz(datafit, X, y):
    """The coordinate-wise Lipschitz constants of a user datafit: its
    ``initialize(X, y)`` run on a copy (the user's object is not modified)."""
    import copy

    d = copy.copy(datafit)
    try:
        d.initialize(X, y)
    except Exception:  # noqa: BLE001 - an initialize written for dense arrays only
        if not sp.issparse(X):
            raise
        d.initialize(X.toarray(), y)
    lips = np.asarray(d.lipschitz, dtype=np.float64).ravel()
    if lips.shape != (X.shape[1],) or not np.all(np.isfinite(lips)) or np.any(lips < 0):
        raise ValueError(f"{type(datafit).__name__}.initialize must set lipschitz to "
                         f"{X.shape[1]} finite non-negative numbers; got shape {lips.shape}.")
    return lips


def _user_callbacks(penalty, X):
    """``(prox address, value address, parameters, keepalive)`` of a user
    penalty compiled to C callbacks for the built-in kernel, or None when the
    compiled extension is missing or the penalty does not compile that way
    (it then runs on the generic jitclass kernel)."""
    if _C is None or not hasattr(penalty, "params_to_dict"):
        return None
    from ._jit import penalty_callbacks

    try:
        return penalty_callbacks(penalty)
    except Exception:  # noqa: BLE001 - any typing failure: the generic path
        return None


def _penalty_kp(penalty, N, a2_default=None):
    kp = PEN.kernel_params(penalty, N)
    if kp[0] == 7 and kp[4].size == 0 and a2_default is not None:  # CEL0 curvature
        kp = kp[:4] + (np.asarray(a2_default, dtype=float),) + kp[5:]
    return kp


# Data whose largest entry is beyond 2**(+-_SCALE_EXP) is rescaled by powers of
# two (exact) before a fit: the kernels form squared norms and products of X
# and y, which overflow (NaN) or underflow (zeros) far from unit scale.
_SCALE_EXP = 100
# Beyond 2**(+-_X_LIMIT_EXP) a design that cannot be rescaled exactly (SCAD's
# gamma, a user penalty or datafit) is refused: X^T X is then out of range.
_X_LIMIT_EXP = 450


def _max_exp(A):
    """Binary exponent of max |A| (0 when A is zero, empty or not finite), as
    ``_scaling.max_exponent``, in one pass without a temporary for float arrays."""
    data = A.data if sp.issparse(A) else A
    if (_C is not None and isinstance(data, np.ndarray) and data.dtype in (np.float32, np.float64)
            and (data.flags.c_contiguous or data.flags.f_contiguous)):
        m = _C.max_abs(data.ravel(order="K"))
        return int(np.frexp(m)[1]) if 0.0 < m < np.inf else 0
    return max_exponent(A)


def _dense_prepared(X, Y, kind, fit_intercept, sample_weight, prepared):
    """``(prepared, exponent)`` for a dense Fortran-ordered float design fitted as
    given (least squares, no intercept, no sample weights): one pass gives the
    squared column norms (the CD's Lipschitz constants) and, for one target,
    ``X^T y`` (its first gradient), kept in the ``Prepared`` of the fit; the
    exponent of ``max |X|`` is decided from the column norms when they place
    it within the unscaled range (``max_j ||x_j|| / sqrt(n) <= max |X| <=
    max_j ||x_j||``), else None (``(None, None)`` where this does not apply)."""
    if (prepared is not None or _C is None or sp.issparse(X) or kind != "quad"
            or fit_intercept or sample_weight is not None or not isinstance(X, np.ndarray)
            or X.dtype not in (np.float32, np.float64) or not X.flags.f_contiguous
            or X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0):
        return None, None
    n, N = X.shape
    Yd = np.asarray(Y, dtype=np.float64)
    one = Yd.ndim == 2 and Yd.shape[1] == 1
    if one:
        sq, xty = np.empty(N), np.empty(N)
        _C.dense_col_stats(X, np.ascontiguousarray(Yd[:, 0]), sq, xty)
    else:
        sq = col_sqnorms(X)
    top = float(sq.max())
    if not (0.0 < top < np.inf):
        return None, None
    hi = int(np.frexp(np.sqrt(top))[1])
    lo = int(np.frexp(np.sqrt(top / n))[1])
    if max(abs(hi), abs(lo)) > _SCALE_EXP:  # near the limit: the exact exponent decides
        return None, None
    prep = Prepared(X, Y, kind, fit_intercept, sample_weight)
    if prep.X is not X:
        return None, hi
    prep.lips = sq / n
    if one:
        prep.xty = xty
    return prep, hi


def _ldexp(A, e):
    """``A * 2**e`` (exact), dense or sparse, keeping the dtype."""
    if e == 0:
        return A
    if sp.issparse(A):
        A = A.copy()
        A.data = np.ldexp(A.data, e).astype(A.dtype, copy=False)
        return A
    return np.ldexp(A, e).astype(A.dtype, copy=False)


def _rescaled_penalty(penalty, kind, ea, eb):
    """The penalty for the design ``X 2**-ea`` and targets ``y 2**-eb``
    (coefficients ``w~ = w 2**(ea - eb)``; the objective is ``2**(d eb)``
    times the rescaled one, ``d`` the datafit's degree), or None when no
    exact, representable form exists."""
    import copy

    t = type(penalty)
    d = 2 if kind == "quad" else 1  # homogeneity degree of the datafit
    new = copy.copy(penalty)
    alpha = float(penalty.alpha)
    tiny = np.finfo(np.float64).tiny

    def ok(v):
        return v == 0 or tiny <= abs(v) < np.inf

    with np.errstate(over="ignore", under="ignore"):
        if t in (PEN.L1, PEN.WeightedL1):
            # alpha (b/a)|w~| = b^d (alpha b^(1-d) / a) |w~|
            new.alpha = float(np.ldexp(alpha, (1 - d) * eb - ea))
        elif kind != "quad":
            return None
        elif t is PEN.ElasticNetPenalty:
            # alpha (l1 (b/a)|w~| + (1 - l1) (b/a)^2 |w~|^2 / 2)
            #   = b^2 (a1 |w~| + a2 |w~|^2 / 2),  a1 = alpha l1 / (a b),  a2 = alpha (1 - l1) / a^2
            l1 = float(penalty.l1_ratio)
            a1 = float(np.ldexp(alpha * l1, -ea - eb))
            a2 = float(np.ldexp(alpha * (1.0 - l1), -2 * ea))
            if not (ok(a1) and ok(a2)):
                return None
            tot = a1 + a2
            if tot > 0:
                new.alpha, new.l1_ratio = tot, a1 / tot
                # both parts must survive the (alpha, l1_ratio) form to rounding
                if abs(tot * new.l1_ratio - a1) > 1e-12 * a1 or \
                        abs(tot * (1.0 - new.l1_ratio) - a2) > 1e-12 * a2:
                    return None
            else:
                new.alpha = 0.0
        elif t is PEN.MCP:
            # MCP((b/a) t; alpha, gamma) = b^2 MCP(t; alpha / (a b), gamma a^2)
            new.alpha = float(np.ldexp(alpha, -ea - eb))
            new.gamma = float(np.ldexp(float(penalty.gamma), 2 * ea))
            if not (ok(new.gamma) and new.gamma > 0):
                return None
        elif t is PEN.SCAD:
            if ea != 0:
                return None  # gamma is relative to the threshold: no exact form
            new.alpha = float(np.ldexp(alpha, -eb))
        elif t is PEN.Lq:
            q = float(penalty.q)
            new.alpha = float(alpha * np.exp2((q - 2) * eb - q * ea))
        elif t is PEN.L0:
            new.alpha = float(np.ldexp(alpha, -2 * eb))
        elif t is PEN.CEL0:
            new.alpha = float(np.ldexp(alpha, -2 * eb))
            if penalty.a2 is not None:
                new.a2 = np.ldexp(np.asarray(penalty.a2, dtype=float), -2 * ea)
                if not all(ok(v) and v > 0 for v in new.a2):
                    return None
        else:
            return None
    if not ok(new.alpha):
        return None
    return new


def penalized_fit(X, Y, datafit, penalty, solver="auto", *, fit_intercept=True,
                  sample_weight=None, coef_init=None, intercept_init=None, tol=None,
                  max_iter=None, verbose=0, prepared=None, warn=True, owner="fit"):
    """Fit ``min_w F(y - Xw - b) + Omega(w)`` for each column of ``Y``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated design (float32 or float64).
    Y : ndarray of shape (n_samples, n_targets)
    datafit, penalty : objects
    solver : str or solver object
    coef_init : ndarray of shape (n_features, n_targets) or None

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features, n_targets), ``intercept`` (n_targets,),
        ``n_iter``, ``dual_gap`` (NaN for non-convex penalties), ``kkt``
        (the stopping figure), ``converged``.

    Notes
    -----
    Data far from unit scale (largest entry of X or Y beyond ``2**+-100``;
    any scale for the LAD datafit, whose LP solvers use absolute
    tolerances) is rescaled by powers of two, exactly, and the penalty parameters with
    it (the problem and its solution are equivariant: ``w = (b / a) w~``
    for ``X = a X~``, ``y = b y~``); results that do not fit in float64,
    and designs that cannot be rescaled exactly (SCAD, user penalties and
    datafits) at scales where ``X^T X`` leaves the float64 range, raise a
    ``ValueError`` naming the cause.
    """
    kind = datafit_kind(datafit)
    if prepared is not None:
        # a path's prepared design was brought to unit scale once, for every alpha
        # (no max |X| pass per fit)
        return _penalized_fit(X, Y, datafit, penalty, solver, fit_intercept=fit_intercept,
                              sample_weight=sample_weight, coef_init=coef_init,
                              intercept_init=intercept_init, tol=tol, max_iter=max_iter,
                              verbose=verbose, prepared=prepared, warn=warn, owner=owner)
    Yd = np.asarray(Y, dtype=np.float64)
    prep0 = None
    if (prepared is None and _C is not None and sp.issparse(X) and X.format == "csr"
            and kind in ("quad", "sqrt") and X.shape[1] <= _CSR_KEEP_ASPECT * X.shape[0]
            and PEN.is_builtin(penalty)):
        # the CSR -> CSC conversion reads every entry anyway: it gives max |X|
        # (no separate pass), and is kept for the fit at unit scale
        prep0 = Prepared(X, Y, kind, fit_intercept, sample_weight)
        m = prep0.max_abs_X
        ea = int(np.frexp(m)[1]) if 0.0 < m < np.inf else 0
    else:
        prep0, ea = (None, None)
        # (a user penalty's fit converts X to float64: the statistics of float64 X only)
        if PEN.is_builtin(penalty) or getattr(X, "dtype", None) == np.float64:
            prep0, ea = _dense_prepared(X, Y, kind, fit_intercept, sample_weight, prepared)
        if ea is None:
            ea = _max_exp(X)
    eb = _max_exp(Yd)
    # the LAD LPs (HiGHS, the IPM crossover) use absolute tolerances: their
    # data always go to unit scale
    limit = 0 if kind == "lad" else _SCALE_EXP
    # (the Huber and logistic losses have no exact rescaled form: run as given)
    if prepared is not None or kind in _GLM_KINDS or (abs(ea) <= limit and abs(eb) <= limit):
        return _penalized_fit(X, Y, datafit, penalty, solver, fit_intercept=fit_intercept,
                              sample_weight=sample_weight, coef_init=coef_init,
                              intercept_init=intercept_init, tol=tol, max_iter=max_iter,
                              verbose=verbose, prepared=prepared if prepared is not None
                              else prep0, warn=warn, owner=owner)
    penalty = PEN.validate_penalty(penalty, X.shape[1])
    new_pen = None
    if kind != "generic" and PEN.is_builtin(penalty):
        new_pen = _rescaled_penalty(penalty, kind, ea, eb)
        if new_pen is None:
            new_pen = _rescaled_penalty(penalty, kind, 0, eb)
            ea = 0
    else:
        ea = eb = 0
    if new_pen is None:
        new_pen, ea, eb = penalty, 0, 0
    ex = _max_exp(X)
    if abs(ex - ea) > _X_LIMIT_EXP:
        raise ValueError(
            f"X: its largest entry is 2**{ex} (~1e{ex * 0.30103:.0f}); "
            f"X^T X leaves the float64 range and this problem ({type(penalty).__name__} "
            f"penalty, {type(datafit).__name__ if not isinstance(datafit, str) else datafit} "
            f"datafit) has no exact rescaled form with representable parameters. Rescale X "
            f"(and the penalty parameters with it) to a moderate scale.")
    solver = resolve_solver(solver, kind, penalty, tol=tol, max_iter=max_iter, verbose=verbose,
                            datafit=datafit)
    if getattr(solver, "sigma_min", None) is not None and eb:
        import copy

        solver = copy.copy(solver)
        solver.sigma_min = float(np.ldexp(float(solver.sigma_min), -eb))
    w0 = None if coef_init is None else np.ldexp(np.asarray(coef_init, dtype=np.float64),
                                                 ea - eb)
    b0 = None if intercept_init is None else np.ldexp(
        np.asarray(intercept_init, dtype=np.float64), -eb)
    res = _penalized_fit(_ldexp(X, -ea), np.ldexp(Yd, -eb), datafit, new_pen, solver,
                         fit_intercept=fit_intercept, sample_weight=sample_weight,
                         coef_init=w0, intercept_init=b0, tol=None, max_iter=None,
                         verbose=verbose, warn=warn, owner=owner, _validated=True)
    d = 2 if kind == "quad" else 1
    with np.errstate(over="ignore"):
        res.coef = np.ldexp(res.coef, eb - ea)
        res.intercept = np.ldexp(res.intercept, eb)
        res.dual_gap = np.ldexp(res.dual_gap, d * eb)
        res.kkt = np.ldexp(res.kkt, d * eb if PEN.is_convex(penalty) else ea + eb)
        res.sigma = np.ldexp(res.sigma, eb)
    if not (np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.intercept))):
        raise ValueError(
            f"X and y: the coefficients (scale max|y| / max|X| ~ 2**{eb - ea}) or the "
            f"intercept overflow float64; rescale X or y.")
    return res


def _penalized_fit(X, Y, datafit, penalty, solver="auto", *, fit_intercept=True,
                   sample_weight=None, coef_init=None, intercept_init=None, tol=None,
                   max_iter=None, verbose=0, prepared=None, warn=True, owner="fit",
                   _validated=False):
    """Fit ``min_w F(y - Xw - b) + Omega(w)`` for each column of ``Y``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features)
        Validated design (float32 or float64).
    Y : ndarray of shape (n_samples, n_targets)
    datafit, penalty : objects
    solver : str or solver object
    coef_init : ndarray of shape (n_features, n_targets) or None

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features, n_targets), ``intercept`` (n_targets,),
        ``n_iter``, ``dual_gap`` (NaN for non-convex penalties), ``kkt``
        (the stopping figure), ``converged``.
    """
    kind = datafit_kind(datafit)
    n, N = X.shape
    if not _validated:
        penalty = PEN.validate_penalty(penalty, N)
    solver = resolve_solver(solver, kind, penalty, tol=tol, max_iter=max_iter, verbose=verbose,
                            datafit=datafit)
    user = None
    if kind in _GLM_KINDS:
        if sample_weight is not None:
            raise ValueError(f"sample_weight is not supported with the {kind} datafit; pass "
                             f"sample_weight=None.")
        if kind == "logistic" and not np.all(np.isin(np.asarray(Y), (-1.0, 1.0))):
            raise ValueError("y must hold labels -1 and +1 for the logistic datafit.")
        if kind == "huber":
            d = getattr(datafit, "delta", 1.35)
            if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Real) or \
                    not (np.isfinite(d) and d > 0):
                raise ValueError(f"delta of Huber must be a positive finite number; got {d!r}.")
        kind_run = kind
        if not PEN.is_builtin(penalty):
            # a user penalty's prox compiled to a C callback for the GLM kernel
            user = _user_callbacks(penalty, X)
        if not PEN.is_builtin(penalty) and user is None:
            if fit_intercept:
                raise ValueError(f"fit_intercept=True with the {kind} datafit needs a "
                                 f"built-in penalty or one whose prox_1d compiles as a "
                                 f"function of its parameters; add a column of ones with an "
                                 f"unpenalised weight instead.")
            kind_run = "generic"
    elif kind == "quad" and not PEN.is_builtin(penalty):
        # a user penalty with the built-in least squares: its prox and value
        # are compiled to C callbacks and run in the built-in kernel (working
        # sets, Anderson, CSC/CSR, intercept), X in float64
        user = _user_callbacks(penalty, X)
        if user is not None:
            kind_run = "quad"
            if X.dtype != np.float64:
                X = X.astype(np.float64)
            if sp.issparse(X) and (X.indices.dtype != np.int32 or X.indptr.dtype != np.int32):
                X = X.copy()
                X.indices = X.indices.astype(np.int32)
                X.indptr = X.indptr.astype(np.int32)
        else:
            # not compilable as callbacks: the generic jitclass kernel on the
            # centred design (dense) -- the intercept stays exact
            if not hasattr(penalty, "get_spec"):
                raise TypeError(
                    f"penalty {type(penalty).__name__}: prox_1d and value do not compile with "
                    f"Numba as functions of the params_to_dict() values (scalars, 1-D arrays); "
                    f"fix them, or add get_spec() for a jitclass.")
            if fit_intercept and sp.issparse(X):
                raise ValueError("fit_intercept=True with this user penalty needs a dense X "
                                 "(or center the data and pass fit_intercept=False).")
            kind_run = "generic"
    else:
        kind_run = kind
    if kind == "generic" and fit_intercept:
        raise ValueError("fit_intercept=True needs a built-in datafit; add a column of ones "
                         "with an unpenalised weight instead.")
    df_user = None
    if kind == "generic" and isinstance(solver, AndersonCD) and sample_weight is None:
        # a user datafit: its raw_grad and value compiled to C callbacks
        # (disk-cached) for the compiled GLM coordinate descent (working sets,
        # CSC or dense), X in float64, with a built-in penalty or a user one
        # whose prox compiles to a callback too; else (or with sample weights,
        # which the generic kernel applies to the rows) the jitclass kernel
        if not PEN.is_builtin(penalty):
            user = _user_callbacks(penalty, X)
        if PEN.is_builtin(penalty) or user is not None:
            df_user = _datafit_callbacks(datafit)
        if df_user is not None:
            kind_run = "user"
            if X.dtype != np.float64:
                X = X.astype(np.float64)
    if kind_run == "generic" and not PEN.is_builtin(penalty) and not hasattr(penalty, "get_spec"):
        raise TypeError(f"penalty {type(penalty).__name__}: with a user datafit the penalty is "
                        f"compiled as a jitclass; add get_spec() (the Numba types of its "
                        f"attributes).")
    prep = prepared if prepared is not None else Prepared(
        X, Y, "huber" if kind_run == "user" else kind, fit_intercept, sample_weight)
    Yp = prep.Y
    L = Yp.shape[1]
    coefs = np.zeros((N, L))
    intercepts = np.zeros(L)
    n_iter = np.zeros(L, dtype=int)
    gaps = np.full(L, np.nan)
    crits = np.full(L, np.nan)
    conv = np.ones(L, dtype=bool)
    extra = {}
    is_convex = PEN.is_convex(penalty)
    weights = PEN.penalty_weights(penalty, N) if is_convex else np.ones(N)
    alpha = float(getattr(penalty, "alpha", 0.0))
    positive = bool(getattr(penalty, "positive", False))
    w0_all = None if coef_init is None else np.asarray(coef_init, dtype=np.float64).reshape(N, L)

    if isinstance(solver, PDHG):
        pd_user = None if PEN.is_builtin(penalty) else _user_callbacks(penalty, X)
        if pd_user is None and not PEN.is_builtin(penalty):
            raise ValueError(f"PDHG: the prox_1d and value of penalty {type(penalty).__name__} "
                             f"do not compile with Numba (scalar and 1-D array parameters "
                             f"from params_to_dict).")
        coefs, intercepts, n_iter, gaps, conv, crits = _fit_pdhg(
            prep, kind, alpha, weights, positive, solver, w0_all, user=pd_user)
    elif _batch_applies(prep, kind_run, penalty, solver, alpha, L):
        # many targets, one dense design: one batched Gram-CD call (Numba
        # prange over targets), never a Python loop per target
        coefs, n_iter, gaps, conv = _fit_quadratic_batch(prep, _penalty_kp(penalty, N), w0_all,
                                                         solver)
        crits = gaps.copy()
    else:
        # Per-target loop, kept only where the batched Gram kernel does not
        # apply: scipy.sparse X, a user-defined datafit/penalty, the
        # sqrt/LAD datafits (their own solvers), non-convex or alpha=0
        # penalties (fixed-point stop, not the gap), a single target, or a
        # wide design (see _batch_applies: the Gram kernel loses there).
        lips = getattr(prep, "lips", None)  # cached across a path
        if lips is None and kind in ("quad", "sqrt") and not (
                kind_run == "quad" and prep.sparse and prep.X.format == "csr"):
            # (a CSR least-squares solve gets them from its first pass over
            # the design and returns them)
            lips = col_sqnorms(prep.X) / n
            prep.lips = lips
        for t in range(L):
            y = np.ascontiguousarray(Yp[:, t])
            w0 = None if w0_all is None else w0_all[:, t]
            b0 = 0.0
            if intercept_init is not None and (prep.icol is not None or kind in _GLM_KINDS):
                b0 = float(np.ravel(intercept_init)[t])
            if kind_run in _GLM_KINDS or kind_run == "user":
                kp = _penalty_kp(penalty, N, a2_default=lips) if user is None else \
                    (P.USER, alpha, 0.0, np.zeros(0), np.zeros(0), False)
                if kind_run == "user":
                    res = solve_glm_builtin(prep.X, y, "user", 0.0, kp, w0=w0, b0=0.0,
                                            fit_intercept=False, solver=solver,
                                            convex=is_convex and user is None,
                                            lips=_user_lipschitz(datafit, prep.X, y),
                                            user=df_user, user_pen=user)
                else:
                    res = solve_glm_builtin(prep.X, y, kind,
                                            float(getattr(datafit, "delta", 1.35)), kp, w0=w0,
                                            b0=b0, fit_intercept=fit_intercept, solver=solver,
                                            convex=is_convex and user is None, user_pen=user)
            elif kind_run == "generic":
                Xg = prep.X
                crit_ref = float(np.max(np.abs(np.asarray(Xg.T @ y)))) / n or 1.0
                res = solve_generic(Xg, y, datafit, penalty, w0=w0, solver=solver,
                                    crit_ref=crit_ref)
            elif kind == "quad":
                kp = _penalty_kp(penalty, N, a2_default=lips) if user is None else \
                    (P.USER, alpha, 0.0, np.zeros(0), np.zeros(0), False)
                P0 = float(y @ y) / (2 * n)
                if prep.icol is not None:
                    c = prep.icol
                    yc = y - (c @ y) / (c @ c) * c
                    P0 = float(yc @ yc) / (2 * n)
                crit_ref = 1.0
                if not is_convex or alpha == 0 or user is not None:
                    crit_ref = float(np.max(np.abs(np.asarray(prep.X.T @ y)))) / n or 1.0
                # X^T R at the previous fit's solution on this design (a path's
                # warm start): the first outer check needs no product with X^T
                last = getattr(prep, "xtr_last", {}).get(t)
                res = solve_quadratic_builtin(prep.X, y, kp, w0=w0, b0=b0, icol=prep.icol,
                                              solver=solver, lips=lips,
                                              convex=is_convex and user is None, P0=P0,
                                              crit_ref=crit_ref, user=user,
                                              xty=getattr(prep, "xty", None), xtr0=last)
                if res.get("handover") is not None:
                    prep.__dict__.setdefault("xtr_last", {})[t] = res["handover"]
                elif last is not None:
                    prep.xtr_last.pop(t, None)
            elif kind == "sqrt":
                kp = _penalty_kp(penalty, N)
                res = solve_sqrt_builtin(prep.X, y, kp, w0=w0, b0=b0, icol=prep.icol,
                                         solver=solver, lips=lips)
                extra.setdefault("sigma", []).append(res["sigma"])
                extra.setdefault("sigma_floor", []).append(res["sigma_floor"])
            elif kind == "lad":
                res = solve_lad_lp(prep.X, y, alpha, weights, positive,
                                   fit_intercept=fit_intercept, sample_weight=prep.sw, w0=w0,
                                   solver=solver)
            if lips is None and res.get("lips") is not None:
                lips = prep.lips = res["lips"]
            coefs[:, t] = res["w"]
            intercepts[t] = res["b"]
            n_iter[t] = res["n_iter"]
            gaps[t] = res["gap"] if is_convex and user is None else np.nan
            crits[t] = res["crit"]
            conv[t] = res["converged"]
    if kind in ("quad", "sqrt") and not prep.sparse and fit_intercept:
        intercepts = prep.Y_offset - prep.X_offset @ coefs
    if kind in ("quad", "sqrt") and type(penalty) in (PEN.L1, PEN.WeightedL1) and alpha > 0 and (
            np.any(weights == 0) or (fit_intercept and prep.sparse)):
        # at alpha >= alpha_max the penalised coefficients are exactly 0 and
        # the unpenalised ones (and the intercept) the least-squares fit; the
        # iterative solvers reach that only to their tolerance (-3e-13 and
        # worse were returned at alpha = alpha_max): set it exactly
        for t in range(L):
            zs = _zero_solution(X, np.asarray(Y, dtype=np.float64)[:, t], kind, weights,
                                fit_intercept, sample_weight, positive, alpha)
            if zs is not None:
                coefs[:, t], intercepts[t] = zs
                gaps[t] = crits[t] = 0.0
                conv[t] = True
    if warn and not conv.all():
        figure = "duality gap" if is_convex and user is None else "fixed-point (KKT) residual"
        warn_not_converged(f"{owner} ({type(solver).__name__})", int((~conv).sum()), L, figure,
                           float(np.nanmax(crits)), float(solver.tol))
    if extra.get("sigma_floor") and any(extra["sigma_floor"]):
        warnings.warn("SqrtLasso: the noise-level estimate hit sigma_min; the smoothed "
                      "concomitant problem was solved (the exact square-root LASSO "
                      "interpolates the data at this alpha). Increase alpha.", UserWarning,
                      stacklevel=3)
    return SolverResult(coef=coefs, intercept=intercepts, n_iter=n_iter, dual_gap=gaps,
                        kkt=crits, converged=bool(conv.all()),
                        sigma=np.array(extra.get("sigma", [np.nan] * L)))


# The Gram kernel costs n N^2 for G and ~N^2 per dense epoch; the
# working-set path costs ~n |ws| per epoch.  Measured (1 thread, 20 targets):
# batched 2.3x faster at (n, N) = (200, 500), 2.1x at (1000, 300), but 0.6x
# at (500, 1500), 0.27x at (200, 2000) and 0.02x at (100, 4000): wide designs
# keep the per-target working-set solver.
_BATCH_MAX_FEATURES = 1024
_BATCH_MAX_ASPECT = 3
# A single target takes the Gram route too when the design is tall and the
# Gram matrix cheap (N <= n, n N^2 <= 1e6, e.g. diabetes 442 x 10): one
# cached kernel call with the gap checked inside it, instead of a few
# working-set outer iterations whose fixed Python cost (~50 us each)
# dominates such small problems.
_SMALL_GRAM_FLOPS = 1e6


def _batch_applies(prep, kind_run, penalty, solver, alpha, L):
    """Whether a quadratic fit runs as one (batched) Gram-CD call."""
    if not (kind_run == "quad" and not prep.sparse and type(solver) is AndersonCD
            and type(penalty) in (PEN.L1, PEN.WeightedL1) and alpha > 0
            and prep.N <= min(_BATCH_MAX_FEATURES, _BATCH_MAX_ASPECT * prep.n)):
        return False
    return L > 1 or (prep.N <= prep.n and prep.n * prep.N * prep.N <= _SMALL_GRAM_FLOPS)


def _exact_quadratic_gaps(X, Y, W, alpha, wts, positive, proj):
    """``quadratic_gap`` for every target at once (W of shape (L, N)); -> (gaps, primals).

    ``proj``: the ``_DualProjector`` of the unpenalised features (or None).
    """
    n = X.shape[0]
    R = Y - X @ W.T
    corr = (X.T @ R) / n
    thr = alpha * wts
    with np.errstate(invalid="ignore"):
        pen = np.where(W != 0, np.abs(W) * thr, 0.0).sum(axis=1)
    primal = np.einsum("ij,ij->j", R, R) / (2 * n) + pen
    if proj is not None and proj.positive:
        # one-sided constraints: the projection depends on each target's
        # active unpenalised features (a certificate computed once per
        # round of the batched solve, not a per-target solve)
        R = R.copy()
        corr = corr.copy()
        for t in range(R.shape[1]):
            R[:, t], corr[:, t] = proj.project(R[:, t], corr[:, t], W[t])
    elif proj is not None:
        coefQ = proj.Q.T @ R
        R = R - proj.Q @ coefQ
        corr = corr - (proj.XtQ @ coefQ) / n
    mask = np.isfinite(thr) & (thr > 0)
    c = corr[mask]
    c = np.maximum(c, 0.0) if positive else np.abs(c)
    s = np.maximum(1.0, (c / thr[mask][:, None]).max(axis=0)) if c.size else np.ones(W.shape[0])
    D = Y - R / s
    dual = (np.einsum("ij,ij->j", Y, Y) - np.einsum("ij,ij->j", D, D)) / (2 * n)
    return primal - dual, primal


def _fit_quadratic_batch(prep, kp, W0, solver):
    """Quadratic datafit x (weighted) L1, dense design, all targets in one Gram-CD call.

    The estimators' objective ``||y - Xw||^2 / (2n) + alpha sum_j w_j |w_j|``
    is ``1/n`` times the encoder kernel's ``1/2 ||y - Xw||^2 + (n alpha) sum
    w_j|w_j|``, so its stop ``gap_enc <= tol ||y||^2 / 2`` is the estimator's
    ``gap <= tol P(0)`` (P(0) = ||y||^2 / (2n) on the centred, sqrt-weighted
    targets that ``Prepared`` built).  The gap reported (and accepted) is then
    recomputed exactly per target as ``quadratic_gap`` does -- with the
    projection that makes the dual point feasible for unpenalised (weight 0)
    features (one-sided with ``positive``), which the kernel's in-loop gap
    ignores; targets whose exact gap
    is still above ``tol P(0)`` are resumed (warm start) for a doubling
    number of epochs until it is not or the budget is spent.  ``n_iter`` counts Gram-CD epochs.

    Returns (coefs (N, L), n_iter (L,), gaps (L,), converged (L,)).
    """
    from ._encoders import _gram_cd_batch, _gram_cd_one

    if prep.Y.shape[1] == 1:
        return _fit_quadratic_gram_one(prep, kp, W0, solver)
    code, alpha, _, weights, _, positive = kp
    n, N = prep.n, prep.N
    X = np.asarray(prep.X, dtype=np.float64, order="F")
    Y = np.asarray(prep.Y, dtype=np.float64)
    L = Y.shape[1]
    G = getattr(prep, "gram", None)  # cached across a path
    if G is None:
        G = X.T @ X
        prep.gram = G
    ATY = np.ascontiguousarray((X.T @ Y).T)
    ynorm2 = np.einsum("ij,ij->j", Y, Y)
    P0 = ynorm2 / (2 * n)
    wts = np.asarray(weights, dtype=np.float64) if code == P.WL1 else np.ones(N)
    kw = wts if code == P.WL1 else np.zeros(0)
    W = np.zeros((L, N)) if W0 is None else np.array(np.asarray(W0).T, dtype=np.float64)
    W[:, np.isinf(wts) | (np.diag(G) <= 0)] = 0.0
    forced = wts == 0
    proj = None
    if forced.any():
        proj = _DualProjector(X, None, np.flatnonzero(forced), positive, n)
    tol = float(solver.tol)
    if prep.dtype == np.float32:
        tol = max(tol, 1e-5)  # as the per-target path (spec 3.4)
    budget = int(solver.max_iter) * int(solver.max_epochs)
    epochs_total = np.zeros(L, dtype=np.int64)
    active = np.arange(L)
    gaps = np.full(L, np.inf)
    chunk = 0  # first round: the kernel's own gap stop
    while active.size:
        remaining = budget - int(epochs_total[active].max())
        if remaining <= 0:
            break
        # later rounds (the exact gap still above tol: unpenalised features
        # make the kernel's in-loop gap optimistic, or rounding) run a fixed,
        # doubling number of epochs (kernel tol < 0 never stops early)
        tol_k, n_ep = (tol, remaining) if chunk == 0 else (-1.0, min(chunk, remaining))
        Wa = np.ascontiguousarray(W[active])
        crits = np.zeros(active.size)
        epochs = np.zeros(active.size, dtype=np.int64)
        if active.size == 1:
            # one target: the serial kernel (no parallel-region launch)
            t0 = active[0]
            epochs[0], crits[0] = _gram_cd_one(G, ATY[t0], ynorm2[t0], code, float(n * alpha),
                                               0.0, kw, bool(positive), False, n_ep, tol_k,
                                               Wa[0])
        else:
            _gram_cd_batch(G, np.ascontiguousarray(ATY[active]), ynorm2[active], code,
                           float(n * alpha), 0.0, kw, bool(positive), False, n_ep, tol_k,
                           Wa, crits, epochs)
        W[active] = Wa
        epochs_total[active] += epochs
        gaps[active] = _exact_quadratic_gaps(X, Y[:, active], Wa, alpha, wts, positive,
                                             proj)[0]
        if solver.verbose:
            print(f"[AndersonCD batched] {active.size} targets, max gap {gaps.max():.3e}, "
                  f"epochs {int(epochs_total.max())}")
        active = active[(gaps[active] > tol * P0[active]) & (epochs_total[active] < budget)]
        chunk = 8 if chunk == 0 else 2 * chunk
    conv = gaps <= tol * P0
    return W.T.copy(), epochs_total.astype(int), gaps, conv


def _fit_quadratic_gram_one(prep, kp, w0, solver):
    """``_fit_quadratic_batch`` for a single target (small designs), lean.

    Same stop and the same exact-gap check and resumption, with the serial
    kernel and the single-target gap of the working-set solver.
    """
    from ._encoders import _gram_cd_one
    from ._solvers.cd import _C, quadratic_gap

    if _C is not None:  # the compiled twin: no Numba start-up on a first fit
        _gram_cd_one = _C.gram_cd_one  # noqa: F811

    code, alpha, _, weights, _, positive = kp
    n, N = prep.n, prep.N
    X = np.asarray(prep.X, dtype=np.float64, order="F")
    y = np.ascontiguousarray(prep.Y[:, 0], dtype=np.float64)
    G = getattr(prep, "gram", None)  # cached across a path
    if G is None:
        G = prep.gram = X.T @ X
    aty = X.T @ y
    yn = float(y @ y)
    P0 = yn / (2 * n)
    if code == P.WL1:
        wts = np.asarray(weights, dtype=np.float64)
        kw = wts
    else:
        wts = np.ones(N)
        kw = np.zeros(0)
    w = np.zeros(N) if w0 is None else np.array(np.ravel(w0), dtype=np.float64)
    if code == P.WL1 or w0 is not None:
        w[np.isinf(wts) | (np.diag(G) <= 0)] = 0.0
    forced = np.flatnonzero(wts == 0)
    proj = _DualProjector(X, None, forced, positive, n) if forced.size else None
    tol = float(solver.tol)
    if prep.dtype == np.float32:
        tol = max(tol, 1e-5)  # as the per-target path (spec 3.4)
    budget = int(solver.max_iter) * int(solver.max_epochs)
    total = 0
    chunk = 0
    gap = np.inf
    thr_ok = tol * P0
    while total < budget:
        tol_k, n_ep = (tol, budget - total) if chunk == 0 else (-1.0, min(chunk, budget - total))
        e, _ = _gram_cd_one(G, aty, yn, code, float(n * alpha), 0.0, kw, bool(positive),
                            False, n_ep, tol_k, w)
        total += int(e)
        R = y - X @ w
        nz = w != 0
        pen = alpha * float(np.sum(wts[nz] * np.abs(w[nz])))
        gap = quadratic_gap(y, R, w, X.T @ R / n, pen, code, alpha, wts, positive, n, proj)[0]
        if solver.verbose:
            print(f"[AndersonCD Gram] gap {gap:.3e}, epochs {total}")
        if gap <= thr_ok:
            break
        chunk = 8 if chunk == 0 else 2 * chunk
    return (w[:, None], np.array([total]), np.array([gap]), np.array([gap <= thr_ok]))


def _fit_pdhg(prep, kind, alpha, weights, positive, solver, W0, user=None):
    n, N = prep.n, prep.N
    X = prep.X
    wts = np.asarray(weights, dtype=np.float64)
    add_col = None
    if prep.fit_intercept and (kind == "lad" or prep.sparse):
        add_col = np.ones(n) if (kind == "lad" or prep.icol is None) else prep.icol
    if add_col is not None:
        X = sp.hstack([X, sp.csc_matrix(add_col[:, None])], format="csc") if sp.issparse(X) \
            else np.hstack([np.asarray(X, dtype=np.float64), add_col[:, None]])
        wts = np.append(wts, 0.0)
        if W0 is not None:
            W0 = np.vstack([W0, np.zeros((1, W0.shape[1]))])
    if kind == "sqrt":
        box = 1.0 / np.sqrt(n)
    else:
        box = (np.ones(n) if prep.sw is None else prep.sw) / n
    Xf = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    crit_ref = 1.0
    if user is not None:
        crit_ref = float(np.max(np.abs(np.asarray(Xf.T @ prep.Y)))) or 1.0
    res = solve_pdhg(Xf, prep.Y, kind, alpha, wts, positive, box=box, solver=solver, W0=W0,
                     user=user, n_pen=N, crit_ref=crit_ref)
    W = res["W"]
    L = prep.Y.shape[1]
    b = np.zeros(L)
    if add_col is not None:
        b = W[-1].copy()
        W = W[:-1]
    crits = res["gap"].copy() if user is None else np.full(L, res["crit"])
    return W, b, np.full(L, res["n_iter"]), res["gap"], np.full(L, res["converged"]), crits


# ---------------------------------------------------------------------------
# alpha_max
# ---------------------------------------------------------------------------
def alpha_max(X, y, *, datafit="quadratic", weights=None, fit_intercept=True,
              sample_weight=None, positive=False):
    r"""Smallest alpha for which the (weighted) LASSO variant has the zero solution.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
        Design.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        Targets (the maximum over targets is returned).
    datafit : {"quadratic", "sqrt", "lad"} or datafit object, default="quadratic"
        The datafit (normalised as in ``Lasso``, ``SqrtLasso``, ``LADLasso``).
    weights : array-like of shape (n_features,), default=None
        Penalty weights (0 = unpenalised, inf = excluded).
    fit_intercept : bool, default=True
        Whether an unpenalised intercept is fitted.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.
    positive : bool, default=False
        Non-negativity constraint.

    Returns
    -------
    alpha_max : float
        For every ``alpha >= alpha_max`` all penalised coefficients are 0.

    See Also
    --------
    lasso_path, penalized_path

    Notes
    -----
    With ``r0`` the residual of y after fitting the unpenalised features and
    the intercept by the same loss (spec 3.1):

    * quadratic: ``max_j |x_j^T r0| / (n w_j)``;
    * square root: ``max_j |x_j^T r0| / (sqrt(n) ||r0|| w_j)``;
    * LAD: ``min_{u in d||.||_1(r0)/n} max_j |x_j^T u| / w_j``, a small LP over
      the subgradient entries of the zero residuals (closed form
      ``max_j |x_j^T sign(r0)| / (n w_j)`` when no residual is zero).

    Non-negative: ``|.|`` is replaced by the positive part.

    References
    ----------
    .. [1] Fercoq, O., Gramfort, A. & Salmon, J. (2015). Mind the duality gap:
       safer rules for the Lasso. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import alpha_max, Lasso
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 10)), rng.standard_normal(30)
    >>> a = alpha_max(X, y)
    >>> bool(np.all(Lasso(alpha=a).fit(X, y).coef_ == 0))
    True
    """
    from .._validation import check_matrix, check_targets

    X = check_matrix(X, "X", accept_sparse=("csc", "csr"))
    Y, _ = check_targets(y, X.shape[0], "y", dtype=np.float64)
    n, N = X.shape
    kind = datafit_kind(datafit)
    if kind == "generic":
        raise ValueError("alpha_max has closed forms for the built-in datafits only.")
    wts = np.ones(N) if weights is None else PEN.check_weights(weights, N)
    sw = _check_sample_weight(sample_weight, n, X.dtype)
    # computed on X 2**-ea and Y 2**-eb (exact), then scaled back: the
    # products X^T y do not overflow or underflow whatever the data's scale
    ea, eb = _max_exp(X), _max_exp(Y)
    Xd = _ldexp(X.astype(np.float64), -ea)
    Yd = np.ldexp(Y, -eb)
    am = max(_alpha_max_one(Xd, Yd[:, t], kind, wts, fit_intercept, sw, positive)
             for t in range(Y.shape[1]))
    e = ea + eb if kind == "quad" else ea
    with np.errstate(over="ignore", under="ignore"):
        out = float(np.ldexp(am, e))
    if am > 0 and not (np.finfo(np.float64).tiny <= out < np.inf):
        raise ValueError(
            f"alpha_max = {am:.6g} * 2**{e} is outside the float64 range: X and y "
            f"(largest entries ~1e{ea * 0.30103:.0f} and ~1e{eb * 0.30103:.0f}) are too "
            f"{'large' if e > 0 else 'small'}; rescale them.")
    return out


def _zero_solution(X, y, kind, wts, fit_intercept, sw, positive, alpha):
    """``(w, b)`` when ``alpha >= alpha_max`` (to rounding) for the quadratic
    or square-root datafit: penalised coefficients 0, the unpenalised ones
    and the intercept the (weighted) least-squares fit; else None."""
    n, N = X.shape
    unpen = np.flatnonzero(wts == 0)
    pen = np.flatnonzero((wts > 0) & np.isfinite(wts))
    Xd = X if sp.issparse(X) else np.asarray(X, dtype=np.float64)
    am = _alpha_max_one(Xd, y, kind, wts, fit_intercept, sw, positive) if pen.size else 0.0
    if not alpha >= am * (1 - 1e-12):
        return None
    sqw = np.ones(n) if sw is None else np.sqrt(sw)
    cols = []
    if unpen.size:
        U = Xd[:, unpen]
        U = U.toarray() if sp.issparse(U) else U
        cols.append(U * sqw[:, None])
    if fit_intercept:
        cols.append(sqw[:, None])
    w = np.zeros(N)
    b = 0.0
    if cols:
        B = np.hstack(cols)
        sol = np.linalg.lstsq(B, y * sqw, rcond=None)[0]
        w[unpen] = sol[:unpen.size]
        if fit_intercept:
            b = float(sol[-1])
    return w, b


def _alpha_max_one(X, y, kind, wts, fit_intercept, sw, positive):
    n, N = X.shape
    unpen = np.flatnonzero(wts == 0)
    pen = np.flatnonzero((wts > 0) & np.isfinite(wts))
    if pen.size == 0:
        return 0.0
    if kind in ("quad", "sqrt"):
        sqw = np.ones(n) if sw is None else np.sqrt(sw)
        Xw = sp.diags(sqw) @ X if sp.issparse(X) else X * sqw[:, None]
        yw = y * sqw
        cols = []
        if fit_intercept:
            cols.append(sqw[:, None])
        if unpen.size:
            U = Xw[:, unpen]
            cols.append(U.toarray() if sp.issparse(U) else U)
        r0 = yw
        if cols:
            B = np.hstack(cols)
            r0 = yw - B @ np.linalg.lstsq(B, yw, rcond=None)[0]
        corr = np.asarray(Xw[:, pen].T @ r0).ravel()
        corr = np.maximum(corr, 0.0) if positive else np.abs(corr)
        if kind == "quad":
            return float(np.max(corr / wts[pen])) / n
        nr = float(np.linalg.norm(r0))
        if nr == 0:
            return 0.0
        return float(np.max(corr / wts[pen])) / (np.sqrt(n) * nr)
    # LAD
    s = np.ones(n) if sw is None else sw
    if unpen.size:
        res = solve_lad_lp(X[:, unpen], y, 0.0, np.zeros(unpen.size), False,
                           fit_intercept=fit_intercept, sample_weight=sw, w0=None,
                           solver=WorkingSetLP(tol=1e-12))
        r0 = y - np.asarray(X[:, unpen] @ res["w"]).ravel() - res["b"]
    else:
        r0 = y - (_weighted_median(y, s) if fit_intercept else 0.0)
    scale = max(np.max(np.abs(y)), 1.0)
    zero = np.abs(r0) <= 1e-10 * scale
    u_fixed = np.where(zero, 0.0, np.sign(r0)) * s / n
    Xp = X[:, pen]
    Xp = Xp.toarray() if sp.issparse(Xp) else Xp
    base = Xp.T @ u_fixed
    eq_cols = []
    if fit_intercept:
        eq_cols.append(np.ones(n))
    for j in unpen:
        col = X[:, j]
        eq_cols.append(np.asarray(col.toarray()).ravel() if sp.issparse(col) else col)
    Z = np.flatnonzero(zero)
    if Z.size == 0:
        g = np.maximum(base, 0.0) if positive else np.abs(base)
        return float(np.max(g / wts[pen]))
    # LP in (v_Z, t): u_Z = s_Z v_Z / n, v in [-1, 1]; min t
    Mz = Xp[Z].T * (s[Z] / n)  # (|pen|, |Z|)
    wp = wts[pen]
    # x_j^T u - t w_j <= 0  and (unless positive) -x_j^T u - t w_j <= 0
    A_ub = [np.hstack([Mz, -wp[:, None]])]
    b_ub = [-base]
    if not positive:
        A_ub.append(np.hstack([-Mz, -wp[:, None]]))
        b_ub.append(base)
    A_eq = b_eq = None
    if eq_cols:
        E = np.vstack(eq_cols)  # (k, n)
        A_eq = np.hstack([E[:, Z] * (s[Z] / n), np.zeros((E.shape[0], 1))])
        b_eq = -(E @ u_fixed)
    bounds = [(-1, 1)] * Z.size + [(0, None)]
    c = np.zeros(Z.size + 1)
    c[-1] = 1.0
    res = linprog(c, A_ub=np.vstack(A_ub), b_ub=np.concatenate(b_ub), A_eq=A_eq, b_eq=b_eq,
                  bounds=bounds, method="highs")
    if res.status == 0:
        return float(res.x[-1])
    g = np.maximum(base, 0.0) if positive else np.abs(base)  # valid upper bound
    return float(np.max(g / wts[pen]))
