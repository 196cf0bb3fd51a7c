r"""Proximal operators of the total variation in 1-D (exact) and 2-D (iterative).

* :func:`tv1d_prox` solves ``min_x 1/2 ||x - y||^2 + lam * sum_i |x_{i+1} - x_i|``
  exactly with Condat's direct algorithm (compiled, ``sparsecode._ext._tv``),
  column by column.
* :func:`tv2d_prox` solves ``min_{l <= X <= u} 1/2 ||X - S||_F^2 + lam * TV(X)``
  for an image ``S`` by Beck and Teboulle's fast gradient projection (FGP) on
  the dual, anisotropic (``|dx| + |dy|``) or isotropic
  (``sqrt(dx^2 + dy^2)``) TV, with bounds and a warm start of the dual.

The discrete gradient is the forward difference with nothing beyond the
border: ``p_ij = X_ij - X_{i+1,j}`` (``i < r - 1``) and
``q_ij = X_ij - X_{i,j+1}`` (``j < c - 1``).
"""

import numbers

import numpy as np

from .._base import warn_not_converged
from .._validation import check_finite_scalar

__all__ = ["tv1d_prox", "tv2d_prox", "tv_norm"]


def _check_lam(lam, name="lam"):
    return check_finite_scalar(lam, name, low=0.0)


def tv1d_prox(y, lam, *, n_threads=1):
    r"""Exact proximal operator of the 1-D total variation (Condat 2013).

    Solves, for every column of ``y``,

    .. math:: \min_x \tfrac12 \|x - y\|_2^2 + \lambda \sum_{i} |x_{i+1} - x_i|.

    Parameters
    ----------
    y : array-like of shape (n,) or (n, n_signals)
        Real signal(s), one per column.
    lam : float or array-like of shape (n_signals,)
        Non-negative penalty (one per signal allowed).
    n_threads : int, default=1
        OpenMP threads over signals.

    Returns
    -------
    x : ndarray, same shape and dtype as ``y`` (float32 kept, else float64)
        The piecewise-constant solution.

    Notes
    -----
    Condat's direct algorithm scans the signal once, keeping the interval of
    values the current segment may still take and the dual variable at its
    ends; when the interval empties, the segment is closed at its bound and
    the scan restarts after it.  The result is exact (no tolerance); the
    cost is linear in ``n`` in practice (quadratic in the worst case).

    References
    ----------
    .. [1] L. Condat, "A direct algorithm for 1-D total variation
       denoising", IEEE Signal Processing Letters 20(11), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import tv1d_prox
    >>> tv1d_prox(np.array([0.0, 0.1, 3.0, 3.2]), 0.5)
    array([0.3 , 0.3 , 2.85, 2.85])
    """
    from .._ext._tv import tv1d_prox_columns

    arr = np.asarray(y)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("y must be real for the total-variation prox; got complex data.")
    if arr.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D; got shape {arr.shape}.")
    if arr.size and not np.all(np.isfinite(arr)):
        raise ValueError("Input y contains NaN or infinity.")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    Yt = np.ascontiguousarray((arr.reshape(-1, 1) if arr.ndim == 1 else arr).T, dtype=dtype)
    lam_arr = np.asarray(lam, dtype=np.float64)
    if lam_arr.ndim == 0:
        _check_lam(float(lam_arr))
        lam_arr = np.full(Yt.shape[0], float(lam_arr))
    elif lam_arr.shape != (Yt.shape[0],) or not np.all(np.isfinite(lam_arr)) \
            or np.any(lam_arr < 0):
        raise ValueError(
            f"lam must be a non-negative float or one per signal (shape ({Yt.shape[0]},)); "
            f"got {lam!r}."
        )
    if isinstance(n_threads, (bool, np.bool_)) or not isinstance(n_threads, numbers.Integral):
        raise ValueError(f"n_threads must be an int; got {n_threads!r}.")
    Xt = np.empty_like(Yt)
    tv1d_prox_columns(Yt, Xt, np.ascontiguousarray(lam_arr), int(n_threads))
    return Xt[0].copy() if arr.ndim == 1 else np.ascontiguousarray(Xt.T)


def _tv1d_prox_fast(V, lam):
    """Unvalidated column-wise 1-D TV prox (V of shape (n, k), lam of shape (k,))."""
    from .._ext._tv import tv1d_prox_columns

    dtype = np.float32 if V.dtype == np.float32 else np.float64
    Yt = np.ascontiguousarray(V.T, dtype=dtype)
    Xt = np.empty_like(Yt)
    tv1d_prox_columns(Yt, Xt, np.ascontiguousarray(lam, dtype=np.float64), 1)
    return Xt.T.astype(V.dtype, copy=False)


# --------------------------------------------------------------------------
# 2-D: dual FGP (Beck & Teboulle 2009)
# --------------------------------------------------------------------------
def _grad_T(X):
    """L^T(X) = (X_ij - X_{i+1,j}, X_ij - X_{i,j+1}): the forward differences."""
    return X[:-1, :] - X[1:, :], X[:, :-1] - X[:, 1:]


def _grad_adj(P, Q, shape):
    """L(p, q)_ij = p_ij + q_ij - p_{i-1,j} - q_{i,j-1} (zero outside)."""
    out = np.zeros(shape, dtype=P.dtype)
    out[:-1, :] += P
    out[1:, :] -= P
    out[:, :-1] += Q
    out[:, 1:] -= Q
    return out


def tv_norm(X, *, isotropic=False):
    """Total variation of a signal (1-D) or an image (2-D).

    Parameters
    ----------
    X : array-like of shape (n,) or (r, c)
        Real signal or image.
    isotropic : bool, default=False
        For images: ``sum sqrt(dx^2 + dy^2)`` instead of ``sum |dx| + |dy|``.

    Returns
    -------
    tv : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import tv_norm
    >>> tv_norm(np.array([0.0, 1.0, 1.0, -1.0]))
    3.0
    >>> tv_norm(np.array([[0.0, 1.0], [0.0, 1.0]]))
    2.0
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        return float(np.abs(np.diff(X)).sum())
    if X.ndim != 2:
        raise ValueError(f"X must be 1-D or 2-D; got shape {X.shape}.")
    P, Q = _grad_T(X)
    if not isotropic:
        return float(np.abs(P).sum() + np.abs(Q).sum())
    Pf = np.zeros(X.shape)
    Qf = np.zeros(X.shape)
    Pf[:-1, :] = P
    Qf[:, :-1] = Q
    return float(np.sqrt(Pf * Pf + Qf * Qf).sum())


def _project_dual(P, Q, isotropic):
    if not isotropic:
        np.clip(P, -1.0, 1.0, out=P)
        np.clip(Q, -1.0, 1.0, out=Q)
        return
    r, c = P.shape[0] + 1, Q.shape[1] + 1
    Pf = np.zeros((r, c), dtype=P.dtype)
    Qf = np.zeros((r, c), dtype=P.dtype)
    Pf[:-1, :] = P
    Qf[:, :-1] = Q
    nrm = np.maximum(np.sqrt(Pf * Pf + Qf * Qf), 1.0)
    P /= nrm[:-1, :]
    Q /= nrm[:, :-1]


def _fgp(S, lam, lower, upper, isotropic, max_iter, tol, P, Q):
    """FGP on the dual of the bounded TV denoising problem.

    Returns ``X, P, Q, n_iter, rel, converged``: ``rel`` is the last relative
    change of the primal image (``inf`` before two iterates exist) and
    ``converged`` whether the stopping test (5 consecutive changes below
    ``tol``) was met before ``max_iter``.
    """
    shape = S.shape
    R, Rq = P.copy(), Q.copy()
    t = 1.0
    D_old = None
    n_small = 0
    it = 0
    rel = np.inf
    for it in range(1, max_iter + 1):
        X = np.clip(S - lam * _grad_adj(R, Rq, shape), lower, upper)
        gp, gq = _grad_T(X)
        P_old, Q_old = P, Q
        P = R + gp / (8.0 * lam)
        Q = Rq + gq / (8.0 * lam)
        _project_dual(P, Q, isotropic)
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        w = (t - 1.0) / t_new
        R = P + w * (P - P_old)
        Rq = Q + w * (Q - Q_old)
        t = t_new
        if D_old is not None:
            # einsum, not BLAS: small reductions stay single-threaded
            nd = np.sqrt(np.einsum("ij,ij->", X, X))
            E = X - D_old
            rel = np.sqrt(np.einsum("ij,ij->", E, E)) / nd if nd > 0 else 0.0
            n_small = n_small + 1 if rel < tol else 0
            if n_small >= 5:
                break
        D_old = X
    # final primal point from the last dual iterate (feasible, consistent with P, Q)
    X = np.clip(S - lam * _grad_adj(P, Q, shape), lower, upper)
    return X, P, Q, it, float(rel), n_small >= 5


def tv2d_prox(S, lam, *, isotropic=False, lower=-np.inf, upper=np.inf, max_iter=200,
              tol=1e-5, dual_init=None, return_dual=False):
    r"""Proximal operator of the 2-D total variation with bounds (dual FGP).

    Solves

    .. math:: \min_{l \le X \le u} \tfrac12 \|X - S\|_F^2 + \lambda\,\mathrm{TV}(X)

    with the anisotropic ``TV(X) = sum |p_ij| + |q_ij|`` or the isotropic
    ``sum sqrt(p_ij^2 + q_ij^2)`` (forward differences, see :func:`tv_norm`).

    Parameters
    ----------
    S : array-like of shape (r, c)
        Real image.
    lam : float
        Non-negative penalty.
    isotropic : bool, default=False
        Isotropic instead of anisotropic TV.
    lower, upper : float, default=-inf, inf
        Bounds on the solution (``lower=0`` for intensities).
    max_iter : int, default=200
        FGP iterations.  Stopping at ``max_iter`` before the ``tol`` test is
        met emits a :class:`~sklearn.exceptions.ConvergenceWarning` with the
        last relative change.
    tol : float, default=1e-5
        Stop after 5 consecutive iterations whose relative change of the
        primal image is below ``tol``.
    dual_init : tuple (P, Q), optional
        Warm start of the dual variables, shapes ``(r-1, c)`` and ``(r, c-1)``
        (the ``dual`` returned by a previous call).
    return_dual : bool, default=False
        Also return ``(P, Q)`` and the number of iterations.

    Returns
    -------
    X : ndarray of shape (r, c)
        The denoised image (float32 kept, else float64).
    dual : tuple (P, Q), only if ``return_dual``
        Final dual variables (for warm starts).
    n_iter : int, only if ``return_dual``

    Notes
    -----
    FGP (Beck & Teboulle 2009) is accelerated projected gradient on the dual
    ``(P, Q)`` with ``|P|, |Q| <= 1`` entry-wise (anisotropic) or
    ``P_ij^2 + Q_ij^2 <= 1`` (isotropic); the primal image is
    ``X = Proj_[l,u](S - lam L(P, Q))``; step ``1/(8 lam)``
    (``||L||^2 <= 8``).  The dual iterates converge at rate ``O(1/k^2)``.

    References
    ----------
    .. [1] A. Beck and M. Teboulle, "Fast gradient-based algorithms for
       constrained total variation image denoising and deblurring problems",
       IEEE Trans. Image Processing 18(11), 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import tv2d_prox, tv_norm
    >>> S = np.zeros((8, 8)); S[2:6, 2:6] = 1.0
    >>> S_noisy = S + 0.1 * np.random.default_rng(0).standard_normal(S.shape)
    >>> X = tv2d_prox(S_noisy, 0.1, max_iter=1000, tol=1e-8)
    >>> bool(tv_norm(X) < tv_norm(S_noisy))
    True
    """
    arr = np.asarray(S)
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError("S must be real for the total-variation prox; got complex data.")
    if arr.ndim != 2 or min(arr.shape) < 1:
        raise ValueError(f"S must be a non-empty 2-D image; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("Input S contains NaN or infinity.")
    lam = _check_lam(lam)
    if isinstance(max_iter, (bool, np.bool_)) or not isinstance(max_iter, numbers.Integral) \
            or max_iter < 1:
        raise ValueError(f"max_iter must be an int >= 1; got {max_iter!r}.")
    tol = check_finite_scalar(tol, "tol", low=0.0)
    lower = float(lower)
    upper = float(upper)
    if not lower <= upper:
        raise ValueError(f"lower must be <= upper; got lower={lower}, upper={upper}.")
    dtype = np.float32 if arr.dtype == np.float32 else np.float64
    S64 = np.asarray(arr, dtype=np.float64)
    r, c = S64.shape
    if dual_init is None:
        P, Q = np.zeros((r - 1, c)), np.zeros((r, c - 1))
    else:
        P, Q = (np.array(d, dtype=np.float64) for d in dual_init)
        if P.shape != (r - 1, c) or Q.shape != (r, c - 1):
            raise ValueError(
                f"dual_init must be (P, Q) of shapes ({r - 1}, {c}) and ({r}, {c - 1}); "
                f"got {P.shape} and {Q.shape}."
            )
    if lam == 0.0:
        X, n_it = np.clip(S64, lower, upper), 0
    else:
        X, P, Q, n_it, rel, converged = _fgp(S64, lam, lower, upper, bool(isotropic),
                                             int(max_iter), tol, P, Q)
        if not converged:
            warn_not_converged(
                "tv2d_prox", 1, 1, "relative change of the image", rel, tol,
                hint=(f"It stopped at max_iter={int(max_iter)} before 5 consecutive "
                      f"changes below tol; raise max_iter (or loosen tol), or pass the "
                      f"returned dual as dual_init to continue (return_dual=True)."))
    X = X.astype(dtype, copy=False)
    if return_dual:
        return X, (P, Q), n_it
    return X
