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
    from scipy.linalg import eigvalsh_tridiagonal  # noqa: PLC0415

    n = A.shape[1]
    k = min(n_steps, min(A.shape))
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
        w = w - Q[:j + 1].T @ (Q[:j + 1].conj() @ w)  # full reorthogonalisation
        w = w - Q[:j + 1].T @ (Q[:j + 1].conj() @ w)
        lam = a if j == 0 else float(eigvalsh_tridiagonal(
            np.array(alpha), np.array(beta), select="i", select_range=(j, j))[0])
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


def center_data(X, Y, fit_intercept):
    """Centre the columns of ``X`` and ``Y`` when an intercept is fitted."""
    if not fit_intercept:
        return X, Y, None, None
    X_mean = X.mean(axis=0)
    Y_mean = Y.mean(axis=0)
    return X - X_mean, Y - Y_mean, X_mean, Y_mean


class LinearPredictMixin:
    """``predict`` for fitted linear models with ``coef_`` and ``intercept_``."""

    def predict(self, X):
        """Predict with the posterior-mean linear model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``X @ coef_.T + intercept_``.
        """
        check_is_fitted(self)
        X = validate_X(self, X, allow_complex=True)
        return X @ self.coef_.T + self.intercept_
