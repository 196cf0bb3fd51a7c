"""Fully constrained least squares (FCLS) abundance estimation.

Heinz & Chang, "Fully constrained least squares linear spectral mixture analysis
method for material quantification in hyperspectral imagery", IEEE TGRS 39(3), 2001.
The kernel (``_ext/_fcls.pyx``) is a batched Lawson-Hanson active-set solver on the
Gram matrix with OpenMP over pixels; it runs only on the pixels whose closed-form
equality-constrained solution has a negative entry, warm-started from that solution.
"""

import numbers

import numpy as np

from .._base import warn_not_converged
from .._parallel import blas_limited, effective_n_jobs
from .._validation import check_matrix
from ._checks import as_pixels

__all__ = ["fcls"]


def fcls(Y, endmembers, *, delta=None, max_iter=None, tol=None, n_jobs=None):
    """Fully constrained least squares abundances for every pixel at once.

    Solves, for each pixel ``y`` (a row of ``Y``),
    ``min_a ||y - endmembers.T @ a||^2`` subject to ``a >= 0`` and
    ``sum(a) = 1`` (exactly, or softly through the augmented row when
    ``delta`` is finite).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (a cube is flattened row-major). A dask array is processed
        chunk by chunk of pixels and a (lazy) dask array is returned.
    endmembers : array-like of shape (n_endmembers, n_bands)
        Endmember spectra as rows.
    delta : float or None, default=None
        Weight of the sum-to-one row ``delta * 1^T`` appended to the system
        (Heinz & Chang's augmented NNLS). ``None`` enforces the constraint
        exactly (the limit ``delta -> inf``). ``0`` gives plain NNLS.
    max_iter : int or None, default=None
        Active-set changes allowed per pixel; ``None`` means ``3 * n_endmembers``.
    tol : float or None, default=None
        Tolerance (>= 0) on the dual vector; ``None`` means ``1e-12`` times the
        largest diagonal entry of the Gram matrix.
    n_jobs : int or None, default=None
        OpenMP threads over pixels (``-1`` = all cores).

    Returns
    -------
    abundances : ndarray of shape (n_pixels, n_endmembers) or (rows, cols, n_endmembers)
        Non-negative abundances; same dtype as ``Y`` (float32 or float64).

    Raises
    ------
    ValueError
        Bad ``delta``, ``max_iter`` or ``tol``, or ``Y`` and ``endmembers`` so far
        apart in scale that ``Y @ endmembers.T`` overflows in float64.

    See Also
    --------
    vca : endmember extraction, the usual companion of FCLS.
    NMFUnmixing : learns endmembers and abundances together.

    Notes
    -----
    With ``E = endmembers`` (K x L), ``G = E E^T`` and ``c = E y``, the
    augmented problem ``min_{a >= 0} ||y - E^T a||^2 + delta^2 (1^T a - 1)^2``
    is solved with Lawson & Hanson's active-set method on the Gram matrix.
    On a passive set ``P``, with ``u = G_PP^{-1} 1``, ``v = G_PP^{-1} c_P``,
    ``s = 1^T u``, the solution is ``a_P = v + mu u`` with
    ``mu = delta^2 (1 - 1^T v) / (1 + delta^2 s)`` (Sherman-Morrison), so the
    ill-conditioned matrix ``G + delta^2 11^T`` is never factored and
    ``delta = inf`` (exact sum-to-one, ``mu = (1 - 1^T v) / s``) is allowed.
    The result equals :func:`scipy.optimize.nnls` on the augmented system
    (tested to 1e-8). The problem is solved after dividing ``Y`` and the
    endmembers by ``max |endmembers|`` (same solution), so scaling both by any
    factor in the float range gives the same abundances.

    Fast path: when ``G`` is well conditioned and ``max_iter > K``, the
    equality-constrained solution ``a = v + mu u`` (passive set = all
    endmembers) is computed for every pixel at once with one BLAS product
    ``C G^{-1}``; where it is non-negative it satisfies the KKT conditions and
    is the optimum. Only the other pixels go through the active-set kernel,
    which starts from the positive entries of that solution instead of the
    empty set. Same optimum (tested to 1e-10 against the cold-started kernel
    and the scipy loop). Cost: one ``N x L x K`` product plus ``O(K^3)`` per
    active-set change and remaining pixel; pixels run in parallel with OpenMP.

    References
    ----------
    .. [1] D. C. Heinz and C.-I Chang, "Fully constrained least squares linear
       spectral mixture analysis method for material quantification in
       hyperspectral imagery", IEEE TGRS 39(3), 529-545, 2001.
    .. [2] C. L. Lawson and R. J. Hanson, Solving Least Squares Problems,
       SIAM, 1995, chapter 23.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import fcls
    >>> E = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5]])
    >>> A = np.array([[0.3, 0.7], [1.0, 0.0]])
    >>> np.round(fcls(A @ E, E), 6)
    array([[0.3, 0.7],
           [1. , 0. ]])
    """
    if _is_dask(Y):
        return _fcls_dask(Y, endmembers, delta=delta, max_iter=max_iter, tol=tol, n_jobs=n_jobs)
    X, image_shape = as_pixels(Y, "Y", check_finite=False)  # the kernel's pass checks
    E = check_matrix(endmembers, "endmembers")
    if E.shape[1] != X.shape[1]:
        raise ValueError(
            f"endmembers has {E.shape[1]} bands but Y has {X.shape[1]}; they must agree."
        )
    if delta is None:
        delta2 = np.inf
    else:
        if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not delta >= 0:
            raise ValueError(f"delta must be a non-negative float or None; got {delta!r}.")
        delta2 = None  # passed as delta below: delta**2 may overflow, (delta / s)**2 not
    K = E.shape[0]
    if max_iter is None:
        max_iter = 3 * K + 5
    if (isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral)
            or max_iter < 1):
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}.")
    if tol is not None:
        if (isinstance(tol, bool) or not isinstance(tol, numbers.Real)
                or not 0 <= float(tol) < np.inf):
            raise ValueError(f"tol must be a finite non-negative float or None; got {tol!r}.")
        tol = float(tol)
    out_dtype = np.float32 if (X.dtype == np.float32 and E.dtype == np.float32) else np.float64
    abund = _fcls_core(np.asarray(X, dtype=np.float64), np.asarray(E, dtype=np.float64),
                       delta2, int(max_iter), tol, effective_n_jobs(n_jobs),
                       delta=None if delta is None else float(delta))
    abund = abund.astype(out_dtype, copy=False)
    if image_shape is not None:
        abund = abund.reshape(image_shape + (K,))
    return abund


def _is_dask(a):
    return type(a).__module__.split(".")[0] == "dask"


def _fcls_dask(Y, endmembers, **kw):
    """FCLS of a dask array, chunk by chunk of pixels (lazy; call ``.compute()``)."""
    E = check_matrix(endmembers, "endmembers")
    if Y.ndim not in (2, 3):
        raise ValueError(f"Y must be a matrix (n_pixels, n_bands) or a cube (rows, cols, bands); "
                         f"got a dask array of shape {Y.shape}.")
    if Y.shape[-1] != E.shape[1]:
        raise ValueError(
            f"endmembers has {E.shape[1]} bands but Y has {Y.shape[-1]}; they must agree."
        )
    K = E.shape[0]
    Yc = Y.rechunk({Y.ndim - 1: -1})
    dtype = np.float32 if (Y.dtype == np.float32 and E.dtype == np.float32) else np.float64
    return Yc.map_blocks(lambda b: fcls(b, E, **kw), dtype=dtype,
                         chunks=Yc.chunks[:-1] + ((K,),))


def _fcls_fused(X, E, s, delta2, max_iter, tol, n_threads, warn, delta):
    """``_fcls_core`` for data of ordinary scale: correlations and closed-form start
    in one OpenMP pass over the pixels (``fcls_correlations``), then the active-set
    kernel on the pixels whose start has a negative entry; no BLAS call on the data."""
    from .._ext._fcls import fcls_correlations, fcls_gram

    K, N = E.shape[0], X.shape[0]
    Es, G, delta2, tol = _scaled_problem(E, s, delta2, tol, delta)
    Ec = np.ascontiguousarray(Es / s)  # c = (E / s^2) y: the 1/s of y folded in
    if tol is None:
        tol = 1e-12 * max(float(np.max(np.diag(G))), np.finfo(float).tiny)
    inv = _gram_inverse_parts(G, float(delta2)) if (N and K < max_iter) else None
    closed = inv is not None
    Ginv, u, den = inv if closed else (np.zeros((K, K)), np.zeros(K), np.inf)
    C = np.empty((N, K))
    out = np.empty((N, K))
    # a thread per 2,048 pixels at most: below that, starting a thread costs more
    # than its share of the work (the result does not depend on the threads)
    n_threads = max(1, min(int(n_threads), N // 2048))
    fcls_correlations(X, Ec, C, Ginv, u, den, out, n_threads, closed)
    if not np.isfinite(C.sum()):
        # NaN or infinity in a pixel makes its correlations non-finite (inf * 0 and
        # NaN * 0 are NaN): the data are checked here, on this path only
        _check_finite_pixels(X)
        if not np.all(np.isfinite(C)):
            raise ValueError(
                "fcls: the products Y @ endmembers.T overflow in float64 (Y is about "
                f"{float(np.max(np.abs(X))):.1e} and the endmembers about {s:.1e}); rescale Y "
                "and the endmembers by the same factor (the abundances do not change).")
    if closed and not np.isfinite(out.sum()):
        closed = False  # the kernel, which regularises its systems, does every pixel
    n_failed = fcls_gram(G, C, float(delta2), out, int(max_iter), float(tol), n_threads,
                         closed)
    if warn and n_failed:
        warn_not_converged("fcls", n_failed, X.shape[0], "active-set changes", max_iter, tol,
                           hint="Increase max_iter (endmembers may be nearly collinear).")
    return out


def _scaled_problem(E, s, delta2, tol, delta):
    """``(E / s, G = (E / s)(E / s)^T, delta2 / s^2, tol / s^2)``: the problem for
    ``X / s`` and ``E / s``, which has the same solution (``delta``, finite and
    >= 0, when given, replaces ``delta2``)."""
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        Es = E / s
        G = np.ascontiguousarray(Es @ Es.T)
        if delta is not None:
            delta2 = float(np.float64(delta / s) ** 2)  # inf (exact constraint) past 1e308
        elif np.isfinite(delta2) and delta2 > 0:
            delta2 = (np.sqrt(delta2) / s) ** 2
        if tol is not None:
            tol = (tol / s) / s
    return Es, G, delta2, tol


def _check_finite_pixels(X):
    if not np.isfinite(X.sum()) and not np.all(np.isfinite(X)):
        raise ValueError("Input Y contains NaN or infinity; FCLS needs finite pixels "
                         "(mask or impute the bad ones).")


def _gram_inverse_parts(G, delta2):
    """``(G^{-1}, u = G^{-1} 1, den = 1 / delta2 + 1^T u)`` or None when ``G`` is not
    safely positive definite (see :func:`_closed_form`)."""
    try:
        w = np.linalg.eigvalsh(G)
    except np.linalg.LinAlgError:  # pragma: no cover - G is finite and symmetric
        return None
    if not w[0] > 1e-10 * w[-1]:
        return None
    Ginv = np.linalg.inv(G)
    Ginv = np.ascontiguousarray(0.5 * (Ginv + Ginv.T))
    u = np.linalg.solve(G, np.ones(G.shape[0]))
    with np.errstate(divide="ignore"):
        den = 1.0 / delta2 + float(u.sum()) if delta2 > 0 else np.inf
    if not np.all(np.isfinite(Ginv)):
        return None
    return Ginv, np.ascontiguousarray(u), float(den)


def _closed_form(G, C, delta2):
    """Unconstrained-sign solution ``A`` (N, K, C-ordered) of every pixel, or None.

    ``a = v + mu u`` with ``v = G^{-1} c``, ``u = G^{-1} 1`` and the
    multiplier ``mu = (1 - 1^T v) / (1 / delta2 + 1^T u)`` (Sherman-Morrison
    as in the kernel; ``delta2 = inf`` is the exact sum-to-one, ``0`` plain
    least squares), for all pixels with one BLAS-3 product ``C G^{-1}``. None
    when ``G`` is not safely positive definite (duplicated or nearly collinear
    endmembers): the kernel, which regularises its passive-set systems, then
    does all the pixels.
    """
    parts = _gram_inverse_parts(G, delta2)
    if parts is None:
        return None
    Ginv, u, den = parts
    A = C @ Ginv
    if den != np.inf:  # else delta = 0: plain least squares, mu = 0
        mu = (1.0 - A @ np.ones(A.shape[1])) / den  # BLAS: faster than A.sum(axis=1)
        A += np.multiply.outer(mu, u)
    if not (A.flags.c_contiguous and np.all(np.isfinite(A))):
        return None
    return A


def _fcls_core(X, E, delta2, max_iter, tol, n_threads, warn=True, delta=None):
    """FCLS on validated float64 arrays (X (N, L), E (K, L)); returns (N, K).

    The problem is solved for ``X / s`` and ``E / s`` with ``s = max |E|`` (and
    ``delta2 / s**2``, ``tol / s**2``), which has the same solution: the Gram
    products then neither overflow nor underflow for data scaled anywhere in the
    float range (``Y`` and ``endmembers`` scaled together by ``c`` give the
    same abundances).  ``delta`` (finite, >= 0), when given, replaces ``delta2``.
    """
    from .._ext._fcls import fcls_gram

    s = float(np.max(np.abs(E))) if E.size else 1.0
    if not 0.0 < s < np.inf:
        s = 1.0
    if 1e-100 <= s <= 1e100 and X.flags.c_contiguous and E.shape[0] > 0:
        return _fcls_fused(X, E, s, delta2, max_iter, tol, n_threads, warn, delta)
    _check_finite_pixels(X)
    Es, G, delta2, tol = _scaled_problem(E, s, delta2, tol, delta)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # C^T = E_s X_s^T (K, N): this orientation is the fast one for BLAS with
        # few endmembers; the 1/s of X is folded into E_s where that cannot underflow
        if 1e-100 <= s <= 1e100:
            CT = (Es / s) @ X.T
        else:
            CT = Es @ (X / s).T
    if not (np.all(np.isfinite(CT)) and np.all(np.isfinite(G))):
        raise ValueError(
            "fcls: the products Y @ endmembers.T overflow in float64 (Y is about "
            f"{float(np.max(np.abs(X))):.1e} and the endmembers about {s:.1e}); rescale Y "
            "and the endmembers by the same factor (the abundances do not change)."
        )
    if tol is None:
        tol = 1e-12 * max(float(np.max(np.diag(G))), np.finfo(float).tiny)
    K, N = CT.shape
    C = CT.T  # (N, K) view; the kernel takes strided C
    A0 = _closed_form(G, C, float(delta2)) if (N and 0 < K < max_iter) else None
    # with A0: pixels whose equality-constrained optimum is non-negative are solved
    # (KKT holds with an empty active set) and the kernel skips them; the others
    # start from the positive entries of A0 (warm start)
    out = np.empty((N, K)) if A0 is None else A0
    # a thread per 2,048 pixels at most: below that, starting a thread costs more
    # than its share of the solves (the result does not depend on the threads)
    n_threads = max(1, min(int(n_threads), N // 2048))
    with blas_limited(1):
        n_failed = fcls_gram(G, C, float(delta2), out, int(max_iter), float(tol),
                             n_threads, A0 is not None)
    if warn and n_failed:
        warn_not_converged("fcls", n_failed, X.shape[0], "active-set changes", max_iter, tol,
                           hint="Increase max_iter (endmembers may be nearly collinear).")
    return out
