"""Sparse unmixing with a spectral library: SUnSAL, CLSUnSAL, SUnSAL-TV.

Iordache, Bioucas-Dias & Plaza, IEEE TGRS 49(6) 2011 (SUnSAL), 50(11) 2012
(SUnSAL-TV), 52(1) 2014 (CLSUnSAL); the ADMM ("split augmented Lagrangian")
follows Bioucas-Dias's ``sunsal.m`` (v2) and ``sunsal_tv.m`` (spec section 5.5).

All pixels are solved at once (matrix ADMM): one ``N x K x K`` product (BLAS)
per iteration, the ``K x K`` inverse built once from an eigendecomposition of
the library Gram matrix (and rebuilt in ``O(K^3)`` when ``mu`` changes).

Units. With ``s^2 = mean(Y**2)`` (over all entries) every solver minimises

    1/(2 s^2) ||Y - X L||_F^2 + alpha * R(X)        (+ X >= 0, + X 1 = 1)

over the abundances ``X`` (n_pixels, n_spectra), ``L`` the library
(n_spectra, n_bands) and ``R`` the penalty (``||X||_1``, ``sum_k ||X[:, k]||_2``
or ``||X||_1`` plus ``alpha_tv / alpha`` times the TV of the abundance maps).
This is the objective of ``sunsal.m`` v2 after its rescaling ``Y, L <- Y/s,
L/s``: ``alpha`` does not change when ``Y`` and the library are scaled together
(reflectance in [0, 1] or in percent give the same abundances), and the
published values of ``lambda`` apply. In the unscaled objective
``1/2 ||Y - X L||_F^2 + lam ||X||_1`` the weight is ``lam = alpha * s^2``.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from .._base import warn_not_converged
from .._validation import check_matrix
from ._checks import as_pixels

__all__ = ["LibraryUnmixing", "clsunsal", "sunsal", "sunsal_tv", "library_objective"]

_METHODS = ("sunsal", "clsunsal", "sunsal_tv")


# --------------------------------------------------------------------------- checks
def _check_library(library, n_bands=None, name="library"):
    D = check_matrix(library, name)
    if np.any(D < 0):
        i, j = np.argwhere(D < 0)[0]
        raise ValueError(
            f"{name} has {int(np.sum(D < 0))} negative entries (e.g. {name}[{i}, {j}] = "
            f"{D[i, j]!r}); a spectral library holds reflectance spectra as rows "
            f"(n_spectra, n_bands), which cannot be negative. Clip or remove those spectra.")
    if n_bands is not None and D.shape[1] != n_bands:
        msg = (f"{name} has {D.shape[1]} bands (shape {D.shape}, spectra as rows) but Y has "
               f"{n_bands}; they must agree (resample the library to the sensor's bands).")
        if D.shape[0] == n_bands:
            msg += f" The library looks transposed: pass {name}.T."
        raise ValueError(msg)
    return D


def _check_nonneg_real(value, name, *, allow_array=False, n=None):
    if allow_array and not np.isscalar(value) and value is not None:
        arr = np.asarray(value, dtype=float)
        if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
            raise ValueError(f"{name} must be a non-negative float or an array of one value per "
                             f"pixel (shape ({n},)); got shape {arr.shape}.")
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError(f"{name} must be finite and non-negative; got negative, NaN or "
                             f"infinite entries.")
        return arr
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not 0 <= float(value) < np.inf:
        raise ValueError(f"{name} must be a finite non-negative float; got {value!r}.")
    return float(value)


def _check_pos_int(value, name):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive int; got {value!r}.")
    return int(value)


def _check_pos_real(value, name, *, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not 0 < float(value) < np.inf:
        raise ValueError(f"{name} must be a finite positive float"
                         f"{' or None' if allow_none else ''}; got {value!r}.")
    return float(value)


def _prepare(Y, library, image_shape=None):
    """Validated float64 pixels (N, L), library (K, L), cube shape, out dtype, scale s."""
    X, cube_shape = as_pixels(Y, "Y")
    D = _check_library(library, X.shape[1])
    out_dtype = np.float32 if (X.dtype == np.float32 and D.dtype == np.float32) else np.float64
    X = np.asarray(X, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    s = float(np.sqrt(np.mean(X * X)))
    if not 0 < s < np.inf:            # all-zero data: the solution is X = 0 anyway
        s = max(float(np.max(D)), 1.0) if D.size else 1.0
    return X, D, cube_shape, out_dtype, s


def _blas_threads(n_pixels, n_spectra):
    """One BLAS thread for small ADMM products (threads cost more than they save there:
    measured 9.3 s -> 1.0 s for CLSUnSAL on 256 pixels x 240 spectra on a loaded 2-core
    machine); the BLAS default for large ones."""
    import contextlib

    from .._parallel import blas_limited

    if n_pixels * n_spectra * n_spectra < 2e8:
        return blas_limited(1)
    return contextlib.nullcontext()


def _finish(A, cube_shape, out_dtype):
    A = A.astype(out_dtype, copy=False)
    if cube_shape is not None:
        A = A.reshape(tuple(cube_shape) + (A.shape[1],))
    return A


# --------------------------------------------------------------------------- proxes
def _prox_l1(T, thr, positive, out):
    """prox of thr*||.||_1 (+ indicator of X >= 0); thr scalar or (N, 1)."""
    if positive:
        np.subtract(T, thr, out=out)
        np.maximum(out, 0.0, out=out)
    else:
        np.abs(T, out=out)
        out -= thr
        np.maximum(out, 0.0, out=out)
        out *= np.sign(T)
    return out


def _prox_l21(T, thr, positive, out):
    """prox of thr * sum_k ||T[:, k]||_2 (+ X >= 0): column (= library row) shrinkage.

    With positivity the prox of the sum is the shrinkage of ``max(T, 0)``
    (the group norm is sign-invariant and monotone on the orthant).
    """
    if positive:
        np.maximum(T, 0.0, out=out)
    else:
        out[...] = T
    norms = np.sqrt(np.einsum("nk,nk->k", out, out))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(norms > thr, 1.0 - thr / np.where(norms > 0, norms, 1.0), 0.0)
    out *= f
    return out


# --------------------------------------------------------------------------- objective
def _tv_value(A, image_shape, isotropic):
    rows, cols = image_shape
    M = A.reshape(rows, cols, -1)
    h = np.roll(M, -1, axis=1) - M
    v = np.roll(M, -1, axis=0) - M
    if isotropic:
        return float(np.sum(np.sqrt(h * h + v * v)))
    return float(np.sum(np.abs(h)) + np.sum(np.abs(v)))


def library_objective(Y, library, abundances, *, alpha=0.0, penalty="l1", alpha_tv=0.0,
                      image_shape=None, tv="anisotropic"):
    """Objective minimised by :func:`sunsal`, :func:`clsunsal` and :func:`sunsal_tv`.

    ``1/(2 s^2) ||Y - A L||_F^2 + alpha R(A) + alpha_tv TV(A)`` with
    ``s^2 = mean(Y**2)``, ``R = ||A||_1`` (``penalty="l1"``) or
    ``sum_k ||A[:, k]||_2`` (``penalty="l21"``) and ``TV`` the cyclic total
    variation of the abundance maps (needs an image: a cube or ``image_shape``).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
    library : array-like of shape (n_spectra, n_bands)
    abundances : array-like of shape (n_pixels, n_spectra) or (rows, cols, n_spectra)
    alpha, alpha_tv : float, default=0
    penalty : {"l1", "l21"}, default="l1"
    image_shape : (int, int) or None
    tv : {"anisotropic", "isotropic"}

    Returns
    -------
    value : float

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import library_objective
    >>> L = np.eye(2)
    >>> library_objective(np.ones((1, 2)), L, np.ones((1, 2)), alpha=0.5)
    1.0
    """
    X, D, cube_shape, _, s = _prepare(Y, library)
    A = np.asarray(abundances, dtype=np.float64).reshape(X.shape[0], -1)
    R = X - A @ D
    val = 0.5 * float(np.sum(R * R)) / s**2
    if alpha:
        val += alpha * (float(np.sum(np.abs(A))) if penalty == "l1"
                        else float(np.sum(np.sqrt(np.sum(A * A, axis=0)))))
    if alpha_tv:
        shape = cube_shape if cube_shape is not None else image_shape
        val += alpha_tv * _tv_value(A, shape, tv == "isotropic")
    return val


# --------------------------------------------------------------------------- core ADMM
class _Inverse:
    """(G + c I)^{-1} from the eigenpairs of G, with the sum-to-one correction."""

    def __init__(self, G, asc):
        self.s, self.V = np.linalg.eigh(G)
        self.s = np.maximum(self.s, 0.0)
        self.asc = asc
        self.K = G.shape[0]

    def build(self, c):
        IF = (self.V / (self.s + c)) @ self.V.T
        if not self.asc:
            return IF, None
        one = np.ones(self.K)
        IF1 = IF @ one
        aux = IF1 / IF1.sum()
        return IF - np.outer(aux, IF1), aux      # IF symmetric: 1^T IF = (IF 1)^T


def _admm_split(X, D, lam, prox, positive, asc, mu, adaptive_mu, max_iter, tol, name):
    """min 1/2 ||X - A D||^2 + lam R(A) (+ A >= 0, + ASC) by the split A = Z.

    X (N, L) and D (K, L) already rescaled; ``prox(T, thr, positive, out)``.
    Returns (Z, n_iter, converged, res).
    """
    N, K = X.shape[0], D.shape[0]
    G = D @ D.T
    B = X @ D.T                                         # D^T Y in the spec's layout
    inv = _Inverse(G, asc)
    lam_mean = float(np.mean(lam))
    if mu is None:
        mu = 10.0 * lam_mean + 0.01
    IF, aux = inv.build(mu)
    C0 = B @ IF                                         # IF symmetric (IF1 is not: IF1^T used)
    M = mu * (IF.T)
    if aux is not None:
        C0 += aux
    A = C0.copy()                                       # X = IF D^T Y (+ aux)
    Z = A.copy()
    Dm = np.zeros_like(A)
    W = np.empty_like(A)
    Z0 = np.empty_like(A)
    thr_vec = None if np.isscalar(lam) else np.asarray(lam)[:, None]
    tol_abs = np.sqrt(N * K) * tol
    res_p = res_d = np.inf
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        check = it % 10 == 1 or it == max_iter
        if check:
            Z0[...] = Z
        np.subtract(A, Dm, out=W)
        thr = (lam / mu) if thr_vec is None else thr_vec / mu
        prox(W, thr, positive, Z)
        np.add(Z, Dm, out=W)
        np.matmul(W, M, out=A)
        A += C0
        Dm -= A
        Dm += Z
        if check:
            np.subtract(A, Z, out=W)
            res_p = float(np.linalg.norm(W))
            np.subtract(Z, Z0, out=W)
            res_d = mu * float(np.linalg.norm(W))
            if res_p <= tol_abs and res_d <= tol_abs:
                converged = True
                break
            if adaptive_mu:
                factor = 2.0 if res_p > 10 * res_d else 0.5 if res_d > 10 * res_p else 1.0
                if factor != 1.0:
                    mu *= factor
                    Dm /= factor
                    IF, aux = inv.build(mu)
                    C0 = B @ IF
                    if aux is not None:
                        C0 += aux
                    M = mu * IF.T
    return Z, it, converged, max(res_p, res_d) / np.sqrt(N * K)


def _run_split(Y, library, alpha, prox, positive, sum_to_one, mu, adaptive_mu, max_iter, tol,
               return_n_iter, name):
    X, D, cube_shape, out_dtype, s = _prepare(Y, library)
    N = X.shape[0]
    alpha = _check_nonneg_real(alpha, "alpha", allow_array=(prox is _prox_l1), n=N)
    max_iter = _check_pos_int(max_iter, "max_iter")
    tol = _check_pos_real(tol, "tol")
    mu = _check_pos_real(mu, "mu", allow_none=True)
    Xs, Ds = X / s, D / s
    with _blas_threads(N, D.shape[0]):
        Z, n_iter, conv, res = _admm_split(Xs, Ds, alpha, prox, bool(positive),
                                           bool(sum_to_one), mu, bool(adaptive_mu), max_iter,
                                           tol, name)
    if not conv:
        warn_not_converged(name, 1, 1, "scaled ADMM residual", res, tol,
                           hint="Increase max_iter (or loosen tol).")
    out = _finish(Z, cube_shape, out_dtype)
    return (out, n_iter) if return_n_iter else out


def sunsal(Y, library, *, alpha=1e-3, positive=True, sum_to_one=False, solver="auto", mu=None,
           adaptive_mu=True, max_iter=1000, tol=1e-4, n_jobs=None, return_n_iter=False):
    """Sparse unmixing by variable splitting and augmented Lagrangian (SUnSAL).

    Solves, for all pixels at once,

        min_X  1/(2 s^2) ||Y - X @ library||_F^2 + alpha ||X||_1
               (+ X >= 0) (+ X.sum(axis=1) == 1)

    with ``s^2 = mean(Y**2)`` (the rescaling of ``sunsal.m`` v2, so ``alpha``
    is unchanged when ``Y`` and ``library`` are scaled together).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels as rows (a cube is flattened row-major and the abundances are
        returned as a cube).
    library : array-like of shape (n_spectra, n_bands)
        Spectral library, one non-negative reflectance spectrum per row, on the
        bands of ``Y``.
    alpha : float or array of shape (n_pixels,), default=1e-3
        Weight of the l1 penalty in the rescaled objective (per pixel when an
        array). The default is the best value of the spec's measured
        reproduction (section 5.6: 5 of 240 USGS spectra, 30 and 40 dB SNR);
        the unscaled weight is ``alpha * mean(Y**2)``. ``0`` gives
        non-negative least squares.
    positive : bool, default=True
        Enforce ``X >= 0`` (the abundance non-negativity constraint).
    sum_to_one : bool, default=False
        Enforce the abundance sum-to-one constraint. With ``positive`` too,
        ``||X||_1 = n_pixels`` and ``alpha`` has no effect.
    solver : {"auto", "admm", "active_set"}, default="auto"
        ``"admm"``: the ADMM of ``sunsal.m`` over all pixels at once.
        ``"active_set"`` (needs ``positive=True``): the exact minimiser, by a
        batched Lawson-Hanson active-set kernel on the Gram matrix with an
        incremental Cholesky factor (the positive l1 problem is a
        non-negative least squares problem with the linear term shifted by
        ``alpha``); with ``sum_to_one`` the kernel of :func:`fcls`.
        ``"auto"`` uses ``"active_set"`` when ``positive`` and ``"admm"``
        otherwise: on real libraries (condition number ~1e9) ADMM needs
        thousands of iterations to reach the objective of per-pixel solvers
        to 1e-4, the active set reaches it exactly.
    mu : float or None, default=None
        Initial ADMM penalty; ``None`` means ``10 * mean(alpha) + 0.01``.
    adaptive_mu : bool, default=True
        Residual balancing every 10 iterations (double ``mu`` when the primal
        residual is 10 times the dual one, halve it in the opposite case).
    max_iter : int, default=1000
        ADMM iterations.
    tol : float, default=1e-4
        ADMM stopping rule of ``sunsal.m`` (and its default): stop when the
        primal and dual residuals, in Frobenius norm, are below
        ``sqrt(n_pixels * n_spectra) * tol``.
    n_jobs : int or None, default=None
        OpenMP threads over pixels (active set; ``-1`` = all cores).
    return_n_iter : bool, default=False
        Also return the number of iterations run.

    Returns
    -------
    abundances : ndarray of shape (n_pixels, n_spectra) or (rows, cols, n_spectra)
        Same dtype as ``Y`` (float32 when both inputs are float32; see
        Notes for the precision the solvers work in).
    n_iter : int
        Only when ``return_n_iter`` (ADMM iterations; 0 for the active set).

    Raises
    ------
    ValueError
        A library whose number of bands differs from ``Y``'s, negative library
        entries, NaN or infinite values, ``alpha < 0``.

    See Also
    --------
    clsunsal : row (collaborative) sparsity.
    sunsal_tv : adds total variation of the abundance maps.
    LibraryUnmixing : the estimator.

    Notes
    -----
    ADMM on the split ``X = Z``: ``Z`` gets the prox of the penalty (soft
    threshold then clip at 0), ``X`` solves the ridge system with
    ``(L L^T + mu I)^{-1}`` built from one eigendecomposition of the Gram
    matrix (with the sum-to-one correction of ``sunsal.m``), and ``mu`` is
    balanced every 10 iterations. ``Z`` is returned (exactly sparse and
    non-negative). Cost ``O(K^2 N)`` per iteration (one BLAS product).

    Precision with float32 inputs. The active-set kernel is compiled for
    float32 and float64; float32 data and library are solved in float32 only
    when the library's Gram matrix ``L L^T`` has condition number at most
    ``1e4`` (checked by one ``K x K`` eigendecomposition): measured there,
    the objective is within 1e-8 relative of the float64 solution per pixel.
    Real spectral libraries are far worse conditioned (the bundled USGS
    library: ``cond(L L^T) ~ 3e20``), where a float32 Cholesky factor of the
    passive set is not accurate (measured: objective up to 1.6e-2 above the
    float64 solution on a pixel, 1.5 % of the support entries wrong), so
    float32 inputs are promoted and solved in float64, and the abundances are
    returned as float32. ADMM and the sum-to-one kernel always work in
    float64.

    References
    ----------
    .. [1] M.-D. Iordache, J. M. Bioucas-Dias and A. Plaza, "Sparse unmixing of
       hyperspectral data", IEEE TGRS 49(6), 2014-2039, 2011.
    .. [2] J. M. Bioucas-Dias and M. A. T. Figueiredo, "Alternating direction
       algorithms for constrained sparse regression: application to
       hyperspectral unmixing", WHISPERS 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import sunsal
    >>> rng = np.random.default_rng(0)
    >>> library = rng.uniform(size=(6, 20))
    >>> X = np.zeros((3, 6)); X[:, 1] = 0.6; X[:, 4] = 0.4
    >>> A = sunsal(X @ library, library, alpha=0.0)
    >>> np.round(A, 3)
    array([[0. , 0.6, 0. , 0. , 0.4, 0. ],
           [0. , 0.6, 0. , 0. , 0.4, 0. ],
           [0. , 0.6, 0. , 0. , 0.4, 0. ]])
    """
    if solver not in ("auto", "admm", "active_set"):
        raise ValueError(f"solver must be 'auto', 'admm' or 'active_set'; got {solver!r}.")
    if solver == "active_set" and not positive:
        raise ValueError("solver='active_set' needs positive=True; use solver='admm'.")
    if solver == "admm" or not positive:
        return _run_split(Y, library, alpha, _prox_l1, positive, sum_to_one, mu, adaptive_mu,
                          max_iter, tol, return_n_iter, "sunsal")
    return _sunsal_active_set(Y, library, alpha, sum_to_one, n_jobs, return_n_iter)


# float32 active set: used only when the Gram matrix's condition number is at most
# _F32_MAX_COND (measured, 2,000 pixels of 5-spectrum mixtures at 30 dB: random
# libraries with cond(G) 1.4e2 and 8.4e2 gave a total objective 6e-11 and 1.2e-10 above
# the float64 kernel's, per pixel at most 6.5e-9, and 0.01-0.03 % of the support entries
# differing (coefficients at the rounding level); on the USGS library, cond(G) = 2.7e20,
# the float32 kernel was 1.8e-3 above in total, up to 1.6e-2 on a pixel, with 1.5 % of
# the support entries differing: there float32 data are solved in float64).
_F32_MAX_COND = 1e4
_F32_TOL = 1e-6          # dual tolerance relative to max(diag(G))
_F32_DEP_TOL = 1e-5      # relative pivot below which a column counts as dependent


def _float32_accurate(G):
    """True when the float32 NNLS kernel is accurate on the Gram matrix G (float64)."""
    ev = np.linalg.eigvalsh(G)
    return bool(ev[0] > 0 and ev[-1] <= _F32_MAX_COND * ev[0])


def _sunsal_active_set(Y, library, alpha, sum_to_one, n_jobs, return_n_iter):
    """Positive SUnSAL exactly: min 1/2 a^T G a - (c - alpha) ^T a, a >= 0 (+ 1^T a = 1)."""
    from .._ext._fcls import fcls_gram
    from .._ext._sunsal import nnls_gram
    from .._parallel import blas_limited, effective_n_jobs

    X, D, cube_shape, out_dtype, s = _prepare(Y, library)
    N, K = X.shape[0], D.shape[0]
    alpha = _check_nonneg_real(alpha, "alpha", allow_array=True, n=N)
    Xs, Ds = X / s, D / s
    G = np.ascontiguousarray(Ds @ Ds.T)
    C = Xs @ Ds.T
    C -= alpha if np.isscalar(alpha) else alpha[:, None]
    C = np.ascontiguousarray(C)
    max_changes = 3 * K + 5
    gmax = max(float(np.max(np.diag(G))), np.finfo(float).tiny) if K else 1.0
    tol = 1e-12 * gmax
    dep_tol = 1e-14
    if out_dtype == np.float32 and not sum_to_one and _float32_accurate(G):
        # well-conditioned library: the float32 kernel (factor and dual vector in float32)
        G, C = G.astype(np.float32), C.astype(np.float32)
        tol, dep_tol = _F32_TOL * gmax, _F32_DEP_TOL
    out = np.empty((N, K), dtype=G.dtype)
    with blas_limited(1):
        if sum_to_one:          # exact equality constraint: FCLS's Sherman-Morrison kernel
            n_failed = fcls_gram(G, C, np.inf, out, max_changes, tol, effective_n_jobs(n_jobs))
        else:                   # incremental-Cholesky Lawson-Hanson
            max_changes = 10 * K + 10
            n_failed = nnls_gram(G, C, out, max_changes, tol, dep_tol, effective_n_jobs(n_jobs))
    if n_failed:
        warn_not_converged("sunsal (active set)", n_failed, N, "active-set changes",
                           max_changes, tol, hint="Use solver='admm'.")
    out = _finish(out, cube_shape, out_dtype)
    return (out, 0) if return_n_iter else out


def clsunsal(Y, library, *, alpha=1e-2, positive=True, sum_to_one=False, mu=None,
             adaptive_mu=True, max_iter=1000, tol=1e-4, return_n_iter=False):
    """Collaborative sparse unmixing (CLSUnSAL): row sparsity by the l2,1 norm.

    Solves

        min_X  1/(2 s^2) ||Y - X @ library||_F^2 + alpha sum_k ||X[:, k]||_2
               (+ X >= 0) (+ X.sum(axis=1) == 1)

    with ``s^2 = mean(Y**2)``: every pixel selects from the same few library
    spectra (the columns of ``X``, rows of the spec's ``X``).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels as rows.
    library : array-like of shape (n_spectra, n_bands)
        Spectral library, non-negative spectra as rows.
    alpha : float, default=1e-2
        Weight of the l2,1 penalty (rescaled objective). The default is the
        spec's measured best at 30 dB (section 5.6).
    positive, sum_to_one, mu, adaptive_mu, max_iter, tol, return_n_iter
        As in :func:`sunsal`.

    Returns
    -------
    abundances : ndarray of shape (n_pixels, n_spectra) or (rows, cols, n_spectra)
    n_iter : int
        Only when ``return_n_iter``.

    See Also
    --------
    sunsal, sunsal_tv, LibraryUnmixing

    Notes
    -----
    The author's ``clsunsal.m`` splits ``X = V1`` (row shrinkage) and
    ``X = V2`` (positivity). Here one split ``X = Z`` carries both: the prox
    of ``alpha ||.||_{2,1}`` plus the indicator of ``X >= 0`` is the row
    shrinkage of ``max(T, 0)`` (exact: the group norm is sign-invariant and
    monotone on the non-negative orthant), so the minimiser is the same with
    half the variables. Stopping and ``mu`` balancing as in :func:`sunsal`.

    References
    ----------
    .. [1] M.-D. Iordache, J. M. Bioucas-Dias and A. Plaza, "Collaborative
       sparse regression for hyperspectral unmixing", IEEE TGRS 52(1),
       341-354, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import clsunsal
    >>> rng = np.random.default_rng(0)
    >>> library = rng.uniform(size=(6, 20))
    >>> X = np.zeros((4, 6)); X[:, 1] = rng.uniform(size=4); X[:, 4] = 1 - X[:, 1]
    >>> A = clsunsal(X @ library, library, alpha=1e-3)
    >>> np.flatnonzero(A.max(axis=0) > 1e-2)
    array([1, 4])
    """
    alpha = _check_nonneg_real(alpha, "alpha")
    return _run_split(Y, library, alpha, _prox_l21, positive, sum_to_one, mu, adaptive_mu,
                      max_iter, tol, return_n_iter, "clsunsal")


# --------------------------------------------------------------------------- SUnSAL-TV
def _tv_symbol(rows, cols):
    fr = 2.0 - 2.0 * np.cos(2 * np.pi * np.arange(rows) / rows)
    fc = 2.0 - 2.0 * np.cos(2 * np.pi * np.arange(cols // 2 + 1) / cols)
    return 1.0 / (fr[:, None] + fc[None, :] + 1.0)


def _dh(M):
    return np.roll(M, -1, axis=1) - M


def _dv(M):
    return np.roll(M, -1, axis=0) - M


def _dht(G):
    return np.roll(G, 1, axis=1) - G


def _dvt(G):
    return np.roll(G, 1, axis=0) - G


def _shrink_tv(h, v, thr, isotropic):
    if isotropic:
        n = np.sqrt(h * h + v * v)
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(n > thr, 1.0 - thr / np.where(n > 0, n, 1.0), 0.0)
        return h * f, v * f
    return (np.sign(h) * np.maximum(np.abs(h) - thr, 0.0),
            np.sign(v) * np.maximum(np.abs(v) - thr, 0.0))


def sunsal_tv(Y, library, *, alpha=1e-3, alpha_tv=1e-3, image_shape=None, tv="anisotropic",
              positive=True, sum_to_one=False, mu=None, adaptive_mu=True, max_iter=1000,
              tol=1e-4, return_n_iter=False):
    """Sparse unmixing with total variation of the abundance maps (SUnSAL-TV).

    Solves

        min_X  1/(2 s^2) ||Y - X @ library||_F^2 + alpha ||X||_1 + alpha_tv TV(X)
               (+ X >= 0) (+ X.sum(axis=1) == 1)

    with ``s^2 = mean(Y**2)`` and ``TV`` the sum over the abundance maps of
    their horizontal and vertical differences with a **cyclic** boundary (the
    image wraps around: the last column is compared with the first, as in
    ``sunsal_tv.m``); anisotropic (``|h| + |v|``) or isotropic
    (``sqrt(h^2 + v^2)``).

    Parameters
    ----------
    Y : array-like of shape (rows, cols, n_bands) or (n_pixels, n_bands)
        A cube, or a matrix of row-major pixels with ``image_shape``.
    library : array-like of shape (n_spectra, n_bands)
        Spectral library, non-negative spectra as rows.
    alpha : float, default=1e-3
        l1 weight (rescaled objective, as in :func:`sunsal`).
    alpha_tv : float, default=1e-3
        TV weight (rescaled objective). ``0`` gives :func:`sunsal`'s minimiser.
    image_shape : (int, int) or None
        ``(rows, cols)`` of a matrix ``Y``; ignored for a cube.
    tv : {"anisotropic", "isotropic"}, default="anisotropic"
    positive, sum_to_one, max_iter, tol, return_n_iter
        As in :func:`sunsal`.
    mu : float or None, default=None
        ADMM penalty; ``None`` means ``10 * (alpha + alpha_tv) + 0.01``.
    adaptive_mu : bool, default=True
        Residual balancing every 10 iterations. ``sunsal_tv.m`` keeps ``mu``
        fixed; with it fixed the iteration count depends strongly on ``mu``.

    Returns
    -------
    abundances : ndarray of shape (rows, cols, n_spectra) or (n_pixels, n_spectra)
    n_iter : int
        Only when ``return_n_iter``.

    See Also
    --------
    sunsal, clsunsal, LibraryUnmixing

    Notes
    -----
    Splitting of ``sunsal_tv.m``: ``V1 = X L`` (data term), ``V2 = X`` (l1 and
    positivity, one exact prox), ``V3 = X`` (sum-to-one, when asked),
    ``V4 = X`` and ``V5 = (Dh V4, Dv V4)`` (TV). The ``X`` update uses
    ``(L L^T + n I)^{-1}`` (``n`` = number of ``X = V`` splits, independent of
    ``mu``: built once), the ``V4`` update is solved by FFT
    (``(Dh^T Dh + Dv^T Dv + I)`` is circulant), ``V5`` is a soft threshold.
    Cost ``O(K^2 N + K N log N)`` per iteration.

    References
    ----------
    .. [1] M.-D. Iordache, J. M. Bioucas-Dias and A. Plaza, "Total variation
       spatial regularization for sparse hyperspectral unmixing", IEEE TGRS
       50(11), 4484-4502, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import sunsal_tv
    >>> rng = np.random.default_rng(0)
    >>> library = rng.uniform(size=(6, 20))
    >>> X = np.zeros((4, 4, 6)); X[:, :2, 1] = 1.0; X[:, 2:, 4] = 1.0
    >>> A = sunsal_tv(X @ library, library, alpha=1e-4, alpha_tv=1e-4)
    >>> A.shape
    (4, 4, 6)
    >>> np.round(A[0, 0, [1, 4]], 2), np.round(A[0, 3, [1, 4]], 2)
    (array([1., 0.]), array([0., 1.]))
    """
    X, D, cube_shape, out_dtype, s = _prepare(Y, library)
    N, K = X.shape[0], D.shape[0]
    if cube_shape is None:
        if image_shape is None:
            raise ValueError("image_shape is required when Y is a (n_pixels, n_bands) matrix: "
                             "sunsal_tv regularises the abundance maps; pass "
                             "image_shape=(rows, cols) or a (rows, cols, bands) cube.")
        if (len(tuple(image_shape)) != 2 or any(int(v) < 1 for v in image_shape)
                or int(image_shape[0]) * int(image_shape[1]) != N):
            raise ValueError(f"image_shape must be (rows, cols) with rows * cols == n_pixels "
                             f"({N}); got {image_shape!r}.")
        shape = (int(image_shape[0]), int(image_shape[1]))
    else:
        shape = cube_shape
    alpha = _check_nonneg_real(alpha, "alpha")
    alpha_tv = _check_nonneg_real(alpha_tv, "alpha_tv")
    if tv not in ("anisotropic", "isotropic"):
        raise ValueError(f"tv must be 'anisotropic' or 'isotropic'; got {tv!r}.")
    max_iter = _check_pos_int(max_iter, "max_iter")
    tol = _check_pos_real(tol, "tol")
    mu = _check_pos_real(mu, "mu", allow_none=True)
    iso = tv == "isotropic"
    Xs, Ds = X / s, D / s
    with _blas_threads(N, K):
        A, n_iter, conv, res = _admm_tv(Xs, Ds, shape, alpha, alpha_tv, iso, bool(positive),
                                        bool(sum_to_one), mu, bool(adaptive_mu), max_iter, tol)
    if not conv:
        warn_not_converged("sunsal_tv", 1, 1, "scaled ADMM residual", res, tol,
                           hint="Increase max_iter (or loosen tol).")
    if cube_shape is None and image_shape is not None:
        out = A.astype(out_dtype, copy=False)
    else:
        out = _finish(A, cube_shape, out_dtype)
    return (out, n_iter) if return_n_iter else out


def _admm_tv(X, D, shape, lam, lam_tv, iso, positive, asc, mu, adaptive_mu, max_iter, tol):
    N, K = X.shape[0], D.shape[0]
    rows, cols = shape
    use_l1 = positive or lam > 0
    use_tv = lam_tv > 0
    n_split = int(use_l1) + int(asc) + int(use_tv)
    G = D @ D.T
    s_, V = np.linalg.eigh(G)
    s_ = np.maximum(s_, 0.0)
    IFn = (V / (s_ + max(n_split, 0))) @ V.T if n_split else None
    if mu is None:
        mu = 10.0 * (lam + lam_tv) + 0.01
    # start: ridge solution (L L^T + n I)^{-1} L Y^T  (pinv when no split)
    B = X @ D.T
    U = B @ IFn if n_split else B @ np.linalg.pinv(G)
    if n_split == 0:
        return U, 0, True, 0.0
    V1 = U @ D
    D1 = np.zeros_like(V1)
    splits = []                                   # [V, Dmul] pairs for X = V splits
    if use_l1:
        splits.append(("l1", U.copy(), np.zeros_like(U)))
    if asc:
        splits.append(("asc", U.copy(), np.zeros_like(U)))
    if use_tv:
        IL = _tv_symbol(rows, cols)
        V4 = U.copy()
        D4 = np.zeros_like(U)
        M = V4.reshape(rows, cols, K)
        V5h, V5v = _dh(M), _dv(M)
        D5h = np.zeros_like(V5h)
        D5v = np.zeros_like(V5v)
        splits.append(("tv", V4, D4))
    tol_abs = np.sqrt(N * K) * tol
    converged = False
    res_p = res_d = np.inf
    it = 0
    for it in range(1, max_iter + 1):
        check = it % 10 == 1 or it == max_iter
        U_old = U
        rhs = (V1 + D1) @ D.T
        for _, Vj, Dj in splits:
            rhs += Vj
            rhs += Dj
        U = rhs @ IFn
        DU = U @ D
        V1 = (X + mu * (DU - D1)) / (1.0 + mu)
        for name, Vj, Dj in splits:
            T = U - Dj
            if name == "l1":
                _prox_l1(T, lam / mu, positive, Vj)
            elif name == "asc":
                Vj[...] = T + ((1.0 - T.sum(axis=1)) / K)[:, None]
            else:
                T3 = T.reshape(rows, cols, K)
                rhs_tv = _dht(V5h + D5h) + _dvt(V5v + D5v) + T3
                sol = np.fft.irfft2(IL[:, :, None] * np.fft.rfft2(rhs_tv, axes=(0, 1)),
                                    s=(rows, cols), axes=(0, 1))
                Vj[...] = sol.reshape(N, K)
                h, v = _dh(sol), _dv(sol)
                V5h, V5v = _shrink_tv(h - D5h, v - D5v, lam_tv / mu, iso)
                D5h -= h - V5h
                D5v -= v - V5v
            Dj -= U - Vj
        D1 -= DU - V1
        if check:
            rp2 = float(np.sum((DU - V1) ** 2))
            for name, Vj, Dj in splits:
                rp2 += float(np.sum((U - Vj) ** 2))
            res_p = np.sqrt(rp2)
            res_d = mu * float(np.linalg.norm(U - U_old))
            if res_p <= tol_abs and res_d <= tol_abs:
                converged = True
                break
            if adaptive_mu:
                factor = 2.0 if res_p > 10 * res_d else 0.5 if res_d > 10 * res_p else 1.0
                if factor != 1.0:
                    mu *= factor
                    D1 /= factor
                    for _, Vj, Dj in splits:
                        Dj /= factor
                    if use_tv:
                        D5h /= factor
                        D5v /= factor
    # the l1/positivity split is feasible and sparse: return it
    for name, Vj, _ in splits:
        if name == "l1":
            return Vj, it, converged, max(res_p, res_d) / np.sqrt(N * K)
    return U, it, converged, max(res_p, res_d) / np.sqrt(N * K)


# --------------------------------------------------------------------------- estimator
class LibraryUnmixing(TransformerMixin, BaseEstimator):
    """Sparse unmixing over a spectral library (SUnSAL, CLSUnSAL or SUnSAL-TV).

    ``fit`` only validates the library (nothing is learned); ``transform``
    returns the abundances of every library spectrum in every pixel.

    Parameters
    ----------
    library : array-like of shape (n_spectra, n_bands)
        Spectral library, non-negative reflectance spectra as rows.
    method : {"sunsal", "clsunsal", "sunsal_tv"}, default="sunsal"
    alpha : float or None, default=None
        Sparsity weight in the rescaled objective (see :func:`sunsal`);
        ``None`` means each function's default (1e-3 for SUnSAL and
        SUnSAL-TV, 1e-2 for CLSUnSAL).
    alpha_tv : float, default=1e-3
        TV weight (``method="sunsal_tv"`` only).
    tv : {"anisotropic", "isotropic"}, default="anisotropic"
    image_shape : (int, int) or None
        Image shape of matrix inputs (``sunsal_tv`` only; a cube gives it).
    positive : bool, default=True
    sum_to_one : bool, default=False
    max_iter : int, default=1000
    tol : float, default=1e-5

    Attributes
    ----------
    components_ : ndarray of shape (n_spectra, n_bands)
        The validated library.
    n_features_in_ : int
    abundances_ : ndarray
        Abundances of the data given to ``fit_transform`` (a cube for a cube).
    n_iter_ : int
        ADMM iterations of the last ``transform``.

    See Also
    --------
    sunsal, clsunsal, sunsal_tv

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import LibraryUnmixing
    >>> rng = np.random.default_rng(0)
    >>> library = rng.uniform(size=(8, 30))
    >>> X = np.zeros((5, 8)); X[:, 2] = 0.7; X[:, 5] = 0.3
    >>> A = LibraryUnmixing(library, alpha=1e-4).fit_transform(X @ library)
    >>> np.round(A[0], 2)
    array([0. , 0. , 0.7, 0. , 0. , 0.3, 0. , 0. ])
    """

    def __init__(self, library, method="sunsal", *, alpha=None, alpha_tv=1e-3,
                 tv="anisotropic", image_shape=None, positive=True, sum_to_one=False,
                 max_iter=1000, tol=1e-4):
        self.library = library
        self.method = method
        self.alpha = alpha
        self.alpha_tv = alpha_tv
        self.tv = tv
        self.image_shape = image_shape
        self.positive = positive
        self.sum_to_one = sum_to_one
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, Y=None, y=None):
        """Validate the library (and the bands of ``Y`` when given); learns nothing.

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands), default=None
            Data whose bands must match the library's.
        y : None
            Ignored.

        Returns
        -------
        self : LibraryUnmixing
        """
        if self.method not in _METHODS:
            raise ValueError(f"method must be one of {_METHODS}; got {self.method!r}.")
        D = _check_library(self.library)
        if Y is not None:
            X, _ = as_pixels(Y, "Y")
            D = _check_library(self.library, X.shape[1])
        self.components_ = D
        self.n_features_in_ = D.shape[1]
        return self

    def transform(self, Y):
        """Abundances of every library spectrum in every pixel.

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Pixels.

        Returns
        -------
        abundances : ndarray of shape (n_pixels, n_spectra) or (rows, cols, n_spectra)
        """
        check_is_fitted(self, "components_")
        kw = {"positive": self.positive, "sum_to_one": self.sum_to_one,
              "max_iter": self.max_iter, "tol": self.tol, "return_n_iter": True}
        if self.alpha is not None:
            kw["alpha"] = self.alpha
        if self.method == "sunsal":
            A, self.n_iter_ = sunsal(Y, self.components_, **kw)
        elif self.method == "clsunsal":
            A, self.n_iter_ = clsunsal(Y, self.components_, **kw)
        else:
            A, self.n_iter_ = sunsal_tv(Y, self.components_, alpha_tv=self.alpha_tv, tv=self.tv,
                                        image_shape=self.image_shape, **kw)
        return A

    def fit_transform(self, Y, y=None):
        """Validate the library and return the abundances of ``Y`` (kept in ``abundances_``).

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Pixels.
        y : None
            Ignored.

        Returns
        -------
        abundances : ndarray of shape (n_pixels, n_spectra) or (rows, cols, n_spectra)
        """
        self.fit(Y)
        self.abundances_ = self.transform(Y)
        return self.abundances_
