"""Helpers shared by the sparse Bayesian learning estimators.

Working precision, conjugate transposes, the matrix norms used by the GAMP
damping rule (power iteration for the spectral norm, Hutchinson probes for
the Frobenius norm of a matrix-free operator) and the prediction mixin.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from sklearn.utils.validation import check_is_fitted

from .._scaling import nearest_pow2
from .._validation import Interval, Options, validate_X

# Parameter constraints common to every SBL estimator.
SBL_CONSTRAINTS = {
    "noise_variance": [Interval(numbers.Real, 0, None, closed="neither"), None],
    "learn_noise": ["boolean", Options("auto")],
    "update": [Options("em", "mackay")],
    "prune": [Interval(numbers.Real, 0, 1, closed="left"), Options("auto")],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "fit_intercept": ["boolean"],
    "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
}

TINY = 1e-300
HUGE = 1e300


def work_dtype(*dtypes):
    """Double precision working dtype (complex when any input is complex)."""
    if any(np.issubdtype(d, np.complexfloating) for d in dtypes):
        return np.dtype(np.complex128)
    return np.dtype(np.float64)


def out_dtype(*dtypes):
    """Output dtype: single precision only when every input is single."""
    cplx = any(np.issubdtype(d, np.complexfloating) for d in dtypes)
    single = all(d in (np.float32, np.complex64) for d in dtypes)
    if cplx:
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def herm(A):
    """Conjugate transpose (a plain transpose for real arrays, no copy)."""
    return A.conj().T if np.iscomplexobj(A) else A.T


def abs2(z):
    """Element-wise squared modulus, real output."""
    if np.iscomplexobj(z):
        return z.real ** 2 + z.imag ** 2
    return z * z


def resolve_learn_noise(learn_noise, noise_variance):
    """``"auto"`` learns the noise variance exactly when none is given."""
    if learn_noise == "auto":
        return noise_variance is None
    return bool(learn_noise)


def initial_noise_variance(Y, noise_variance):
    """Given value, or var(y)/100 per column (spec 5.1), floored away from 0."""
    m = Y.shape[0]
    power = np.sum(abs2(Y), axis=0) / m
    if noise_variance is not None:
        return np.full(Y.shape[1], float(noise_variance))
    var = np.var(Y, axis=0) if not np.iscomplexobj(Y) else np.mean(abs2(Y - Y.mean(0)), axis=0)
    s2 = var / 100.0
    return np.maximum(s2, noise_floor(power))


def noise_floor(power):
    """The floor ``sigma^2 >= 1e-12 ||y||^2 / m`` of spec 5.1 (and never 0)."""
    return np.maximum(1e-12 * np.asarray(power, dtype=np.float64), 1e-300)


# --------------------------------------------------------------------------
# operators and norms
# --------------------------------------------------------------------------
def spectral_norm(A, *, n_iter=100, tol=1e-6, seed=0):
    """Largest singular value by power iteration on ``A^H A`` (spec 0.2 item 7).

    Small dense arrays (at most 20000 entries) go to LAPACK's SVD; larger
    ones, sparse matrices and LinearOperators to the Lanczos iteration of
    ``sparsecode.operators.operator_norm`` with relative tolerance ``tol``
    (a full SVD of a 200 x 800 matrix costs as much as 100 GAMP iterations;
    the damping rule only needs a few digits).
    """
    if isinstance(A, np.ndarray):
        if A.size <= 20000:
            return float(np.linalg.norm(A, 2))
        return dense_lanczos_norm(A, tol=tol, seed=seed)
    try:  # the operators family provides the same routine; prefer it when present
        from ..operators import operator_norm  # noqa: PLC0415
    except ImportError:
        operator_norm = None
    if operator_norm is not None:
        try:
            return float(operator_norm(A, tol=tol))
        except Exception:  # pragma: no cover - fall back to our own iteration
            pass
    rng = np.random.default_rng(seed)
    n = A.shape[1]
    cplx = np.issubdtype(np.dtype(A.dtype), np.complexfloating)
    v = rng.standard_normal(n) + (1j * rng.standard_normal(n) if cplx else 0)
    v /= np.linalg.norm(v)
    s_old = 0.0
    for _ in range(n_iter):
        w = rmatvec(A, matvec(A, v))
        s = np.linalg.norm(w)
        if s == 0:
            return 0.0
        v = w / s
        if abs(s - s_old) <= tol * s:
            break
        s_old = s
    return float(np.sqrt(s))


def dense_lanczos_norm(A, *, n_steps=40, tol=1e-3, seed=0):
    """``||A||_2`` of a dense array by Lanczos on ``A^H A`` (full
    reorthogonalisation), stopped when the largest Ritz value changes by
    less than ``tol`` (relative).

    A Ritz value never exceeds the true eigenvalue, so the result is a lower
    bound that is exact after ``min(m, N)`` steps; on Gaussian matrices
    (where the power iteration stalls) 10 to 20 steps give three digits.
    ARPACK's restarted version costs about as much as 50 GAMP iterations on
    a 200 x 800 matrix; this one about 15.
    """
    n = A.shape[1]
    k = min(n_steps, min(A.shape))
    T = np.zeros((k, k))
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(n).astype(A.dtype)
    if np.iscomplexobj(A):
        q = q + 1j * rng.standard_normal(n)
    q /= np.linalg.norm(q)
    AH = herm(A)
    Q = np.zeros((k, n), dtype=q.dtype)
    alpha, beta = [], []
    lam_old = 0.0
    lam = 0.0
    for j in range(k):
        Q[j] = q
        w = AH @ (A @ q)
        a = float(np.real(np.vdot(q, w)))
        alpha.append(a)
        T[j, j] = a
        w = w - Q[:j + 1].T @ (Q[:j + 1].conj() @ w)  # full reorthogonalisation
        w = w - Q[:j + 1].T @ (Q[:j + 1].conj() @ w)
        if j == 0:
            lam = a
        else:  # largest Ritz value; LAPACK on the (j+1)-square tridiagonal
            # matrix costs a few microseconds (scipy's eigvalsh_tridiagonal
            # wrapper about 100 per call)
            T[j, j - 1] = T[j - 1, j] = beta[-1]
            lam = float(np.linalg.eigvalsh(T[:j + 1, :j + 1])[-1])
        b = float(np.linalg.norm(w))
        if b <= 1e-12 * max(lam, 1e-300) or abs(lam - lam_old) <= tol * lam:
            break
        beta.append(b)
        q = w / b
        lam_old = lam
    return float(np.sqrt(max(lam, 0.0)))


def column_norms2(A):
    """Squared column norms of a dense array, without a temporary copy."""
    if np.iscomplexobj(A):
        return np.einsum("ij,ij->j", A.real, A.real) + np.einsum("ij,ij->j", A.imag, A.imag)
    return np.einsum("ij,ij->j", A, A)


def frobenius_norm2(A, *, n_probes=30, seed=0):
    """Squared Frobenius norm; Hutchinson estimate for a LinearOperator.

    ``E ||A z||^2 = ||A||_F^2`` for Rademacher ``z``; only the GAMP damping
    and scalar variances use it, and GAMP's fixed-point mean does not
    depend on it (spec 5.2).
    """
    if isinstance(A, np.ndarray):
        return float(np.sum(column_norms2(A)))
    if sp.issparse(A):
        return float(np.sum(abs2(A.data)))
    rng = np.random.default_rng(seed)
    Z = rng.choice([-1.0, 1.0], size=(A.shape[1], n_probes))
    AZ = matmat(A, Z)
    return float(np.sum(abs2(AZ)) / n_probes)


def matvec(A, x):
    return A @ x if not isinstance(A, LinearOperator) else A.matvec(x)


def rmatvec(A, x):
    if isinstance(A, LinearOperator):
        return A.rmatvec(x)
    return herm(A) @ x


def matmat(A, X):
    return A @ X if not isinstance(A, LinearOperator) else A.matmat(X)


def rmatmat(A, X):
    if isinstance(A, LinearOperator):
        return A.rmatmat(X)
    return herm(A) @ X


# --------------------------------------------------------------------------
# scale equivariance
# --------------------------------------------------------------------------
_pow2 = nearest_pow2  # nearest power of two of each positive finite entry, else 1


def _safe_norms(V, axis=0):
    """2-norms along ``axis`` without underflow or overflow of the squares."""
    V = np.asarray(V)
    if V.size == 0:
        return np.zeros(np.delete(V.shape, axis))
    a = np.max(np.abs(V), axis=axis, keepdims=True).astype(np.float64)
    d = np.where(a > 0, a, 1.0)
    return np.squeeze(a, axis=axis) * np.linalg.norm(V / d, axis=axis)


# A is rescaled only when its RMS column norm is beyond 2^+-A_SAFE_LOG2; the
# targets only when the coefficient scale is beyond 2^+-X_SAFE_LOG2 (16): in
# between the problem is solved exactly as given.
A_SAFE_LOG2 = 20
X_SAFE_LOG2 = 4


def _abs_max(A):
    """``max |a_ij|`` of a dense array without an ``|A|`` temporary (real)."""
    if A.size == 0:
        return 0.0
    if np.iscomplexobj(A):
        return float(np.max(np.abs(A)))
    return float(max(np.max(A), -np.min(A)))


def problem_scales(A, Y, *, shared):
    """Powers of two ``a`` (for A) and ``b`` (per column of Y, or one for all
    columns when ``shared``) for solving with ``A / a`` and ``Y / b``.

    SBL's model is scale equivariant (y -> c y gives x -> c x, gamma -> c^2
    gamma, sigma^2 -> c^2 sigma^2) but its fixed start gamma = 1 (spec 5.1)
    and the absolute floors of the arithmetic are not: before, SBL lost
    every atom at ``y -> 1000 y`` and returned zeros at 1e+-60 (relative
    error 0.8 - 1.0).  The start gamma = 1 presumes coefficients of order 1,
    so the coefficient scale is estimated by the largest matched-filter
    coefficient ``c = max_i |a_i^H y| / rms(||a_i||)^2``: when ``c`` is beyond
    a factor 16 of 1, the targets are divided so that it becomes ~1; when A's
    RMS column norm is beyond 2^+-20, A is divided too.  Powers of two make
    both exact; the caller unscales (``x = x' b / a``).  Data of ordinary
    scale are solved exactly as given (``a = b = 1``).  A LinearOperator is
    probed with one product (``E ||A z||^2 = ||A||_F^2`` for a sign vector z).
    """
    m, N = A.shape
    L = Y.shape[1]
    dense_safe = False
    if isinstance(A, np.ndarray):
        amax = _abs_max(A)
        # entries of moderate size: sums of squares without a scaled copy of A
        dense_safe = 1e-100 < amax < 1e100
        if dense_safe:
            rms = float(np.sqrt(np.sum(column_norms2(A)) / max(N, 1)))
        else:
            rms = amax * float(np.sqrt(np.mean(abs2(A / amax)) * m)) if amax > 0 else 0.0
    elif sp.issparse(A):
        d = A.data
        amax = float(np.max(np.abs(d))) if d.size else 0.0
        rms = amax * float(np.sqrt(np.sum(abs2(d / amax)) / max(N, 1))) if amax > 0 else 0.0
    else:
        z = np.where(np.arange(N) % 2 == 0, 1.0, -1.0)
        rms = float(_safe_norms(np.asarray(matvec(A, z)).reshape(-1))) / np.sqrt(max(N, 1))
    a0 = float(_pow2(rms))
    if shared:
        b0 = np.full(L, float(_pow2(_safe_norms(Y.reshape(-1)) / np.sqrt(max(Y.size, 1)))))
    else:
        b0 = _pow2(_safe_norms(Y, axis=0) / np.sqrt(max(m, 1)))
    # matched-filter coefficient scale, computed on O(1) data (no overflow)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        if dense_safe:  # (A^H (Y / b0)) / a0: the same, without a copy of A / a0
            C = (herm(A) @ (Y / b0)) / a0
        else:
            C = rmatmat(scale_operator(A, a0), Y / b0)
        r2 = (rms / a0) ** 2 if rms > 0 else 1.0
        c0 = np.max(np.abs(np.asarray(C)), axis=0) / r2  # per column, in units b0/a0
    if shared:
        c0 = np.full(L, np.max(c0))
    a = a0 if abs(np.log2(a0)) > A_SAFE_LOG2 else 1.0
    # log2 of the coefficient scale in user units: log2(c0) + log2(b0) - log2(a0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lc = np.log2(np.where(c0 > 0, c0, 1.0)) + np.log2(b0) - np.log2(a0)
    lc = np.where(np.isfinite(lc) & (c0 > 0), lc, 0.0)
    far = np.abs(lc) > X_SAFE_LOG2
    b = a * np.where(far, np.ldexp(1.0, np.round(lc).astype(np.int64)), 1.0)
    return a, (b[:1] if shared else b)


def scale_operator(A, a):
    """``A / a`` (a power of two; the same object when a == 1)."""
    if a == 1.0:
        return A
    if isinstance(A, LinearOperator):
        return A * (1.0 / a)
    return A / a


def check_unscaled(*arrays):
    """Raise when an unscaled estimate left the float range."""
    for arr in arrays:
        if not np.all(np.isfinite(arr)):
            raise OverflowError(
                "the estimates overflow float64: ||y|| / ||A|| is beyond the float range "
                "(rescale y or A before the call).")


def center_data(X, Y, fit_intercept):
    """Centre the columns of ``X`` and ``Y`` when an intercept is fitted."""
    if not fit_intercept:
        return X, Y, None, None
    X_mean = X.mean(axis=0)
    Y_mean = Y.mean(axis=0)
    return X - X_mean, Y - Y_mean, X_mean, Y_mean


# Dense-required solvers (the exact E-step of SBL / M-SBL / T-SBL) convert a
# scipy.sparse input up to this many entries (1 GiB in float64).
DENSIFY_MAX_ENTRIES = 2**27


def dense_matrix(X, name, owner):
    """``X`` for a solver that needs a dense matrix.

    A scipy.sparse matrix is converted when it has at most
    ``DENSIFY_MAX_ENTRIES`` entries, else refused with a TypeError saying to
    call ``.toarray()``; a LinearOperator is refused (use GGAMPSBL).
    """
    if isinstance(X, LinearOperator):
        raise TypeError(
            f"{name} is a LinearOperator; {owner} needs an explicit matrix (its exact E-step "
            "factorises it). Use GGAMPSBL, which works matrix-free, or pass a dense array.")
    if sp.issparse(X):
        n = int(X.shape[0]) * int(X.shape[1])
        if n > DENSIFY_MAX_ENTRIES:
            raise TypeError(
                f"{name} is a scipy.sparse matrix of shape {X.shape}; {owner} needs a dense "
                f"array and converts sparse input only up to {DENSIFY_MAX_ENTRIES} entries. "
                f"Pass {name}.toarray() if it fits in memory, or use GGAMPSBL, which works "
                "with sparse matrices directly.")
        return X.toarray()
    return X


#: posterior covariance stored on the active set up to this many atoms
SIGMA_MAX_ACTIVE = 4096


def posterior_covariance(A, gamma, s2):
    """Posterior covariance of the SBL model on the active set.

    ``A`` (m, N) the matrix the model was fitted on (after centring),
    ``gamma`` (N,) the learned prior variances, ``s2`` the noise variance.
    Returns ``(active, Sigma)``: the indices with ``gamma > 0`` and
    ``Sigma = (A_K^H A_K / s2 + Gamma_K^-1)^-1``, computed as
    ``Gamma^1/2 (I + Gamma^1/2 A_K^H A_K Gamma^1/2 / s2)^-1 Gamma^1/2`` (no
    inverse of a small gamma).  None for both when ``A`` is a LinearOperator
    or more than ``SIGMA_MAX_ACTIVE`` atoms are active.
    """
    gamma = np.real(np.asarray(gamma, dtype=np.float64))
    active = np.flatnonzero(gamma > 0)
    if isinstance(A, LinearOperator) or active.size > SIGMA_MAX_ACTIVE:
        return None, None
    A_K = A[:, active]
    if sp.issparse(A_K):
        A_K = A_K.toarray()
    A_K = np.asarray(A_K)
    K = active.size
    sq = np.sqrt(gamma[active])
    G = herm(A_K) @ A_K
    B = (sq[:, None] * G * sq[None, :]) / s2
    B[np.diag_indices(K)] += 1.0
    Binv = np.linalg.inv(B)
    Sigma = sq[:, None] * Binv * sq[None, :]
    Sigma = 0.5 * (Sigma + herm(Sigma))
    return active, Sigma


def store_posterior(est, A, gamma, s2, *, one, shared):
    """Set ``active_`` and ``sigma_`` (see ``posterior_covariance``) on ``est``.

    One target (or a model whose targets share gamma, M-SBL / T-MSBL):
    arrays; several independent targets: lists with one entry per target.
    """
    if one or shared:
        g = gamma if gamma.ndim == 1 else gamma[0]
        s = float(np.ravel(s2)[0])
        est.active_, est.sigma_ = posterior_covariance(A, g, s)
        return
    pairs = [posterior_covariance(A, g, float(s)) for g, s in zip(gamma, np.ravel(s2))]
    est.active_ = [p[0] for p in pairs]
    est.sigma_ = [p[1] for p in pairs]


def _predictive_std(X, active, Sigma, s2):
    """``sqrt(diag(X_K Sigma X_K^H) + s2)`` for the rows of X."""
    X_K = X[:, active]
    if sp.issparse(X_K):
        X_K = X_K.toarray()
    var = np.real(np.sum((X_K @ Sigma) * np.conj(X_K), axis=1))
    return np.sqrt(np.maximum(var, 0.0) + s2)


class LinearPredictMixin:
    """``predict`` for fitted linear models with ``coef_`` and ``intercept_``."""

    def predict(self, X, return_std=False):
        """Predict with the posterior-mean linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples.
        return_std : bool, default=False
            Also return the standard deviation of the posterior predictive
            distribution, ``sqrt(x_K^H sigma_ x_K + noise_variance_)`` per
            sample (as :class:`sklearn.linear_model.ARDRegression`: the
            posterior covariance on the active atoms plus the noise).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``X @ coef_.T + intercept_``.
        y_std : ndarray, same shape as ``y_pred`` (real)
            Only with ``return_std=True``.
        """
        check_is_fitted(self)
        X = validate_X(self, X, allow_complex=True, accept_sparse=("csr", "csc"))
        y = X @ self.coef_.T + self.intercept_
        if not return_std:
            return y
        if getattr(self, "sigma_", None) is None or (
                isinstance(self.sigma_, list) and any(S is None for S in self.sigma_)):
            raise ValueError(
                f"{type(self).__name__} has no posterior covariance (sigma_ is None: a "
                "LinearOperator fit, more than 4096 active atoms, or a model without one); "
                "predict(X, return_std=True) is not available.")
        s2 = self.noise_variance_
        if isinstance(self.sigma_, list):
            cols = [_predictive_std(X, a, S, float(v))
                    for a, S, v in zip(self.active_, self.sigma_, np.ravel(s2))]
            return y, np.stack(cols, axis=1)
        std = _predictive_std(X, self.active_, self.sigma_, float(np.ravel(s2)[0]))
        if y.ndim == 2:
            std = np.repeat(std[:, None], y.shape[1], axis=1)
        return y, std
