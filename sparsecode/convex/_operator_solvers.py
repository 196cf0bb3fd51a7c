r"""Matrix-free first-order solvers: FISTA with adaptive restart and PDHG.

Both solve

.. math:: \min_x\; F(Ax) + G(x)

where ``A`` is a dense or sparse matrix or any
:class:`~scipy.sparse.linalg.LinearOperator` (real or complex) used only
through products with ``A`` and ``A^H``, ``F`` a datafit on the
measurements ``y`` and ``G`` a penalty with a cheap proximal operator.

Datafits (``m`` = number of measurements; complex residuals by modulus):

============  ===============================================  =========  =======
name          ``F(u)``                                         complex    smooth
============  ===============================================  =========  =======
"squared"     ``||u - y||^2 / (2m)``                           yes        yes
"huber"       ``sum h_delta(|u_i - y_i|) / m``                 yes        yes
"lad"         ``||u - y||_1 / m``                              yes        no
"poisson"     ``sum (u_i + b_i) - y_i log(u_i + b_i)``         no         locally
"logistic"    ``sum log(1 + exp(-y_i u_i)) / m``, ``y = +-1``  no         yes
============  ===============================================  =========  =======

Penalties (``alpha`` scales each): ``"l1"`` (``||x||_1``, modulus for complex
``x``), ``"l1_l2"`` (elastic net
``l1_ratio ||x||_1 + (1 - l1_ratio)/2 ||x||^2``), ``"group"``
(``sum_g w_g ||x_g||_2``), ``"nonneg_l1"`` (``sum x`` with ``x >= 0``),
``"tv1d"`` (``sum |x_{i+1} - x_i|``, exact prox by Condat's algorithm) and
``"tv2d"`` (anisotropic or isotropic TV of ``x`` seen as an image of
``shape``).  With ``datafit="squared"`` and ``penalty="l1"`` the objective
is scikit-learn's Lasso objective (without intercept).

Certificates: for every datafit with a computable conjugate and every
penalty except TV, the duality gap at the dual point ``z = grad F(Ax)``
(FISTA) or at PDHG's dual iterate (rescaled to be feasible); the reported
``certificate`` is the gap relative to the primal objective.  For TV the
certificate is the relative change of the iterate.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from scipy.special import expit, xlogy

from .._base import warn_not_converged
from .._validation import check_finite_scalar, check_operator
from ..operators import operator_norm
from ..operators._kronecker import KroneckerOperator
from ..operators._transforms import PartialDCT, PartialFFT, _TransposedPartial

try:  # the fused FISTA step of real L1 problems (compiled)
    from .._ext import _convex as _C
except ImportError:  # pragma: no cover - extension not built
    _C = None
from ._tv import _fgp, _tv1d_prox_fast

__all__ = ["fista", "pdhg", "solve_operator"]

_DATAFITS = ("squared", "huber", "lad", "poisson", "logistic")
_PENALTIES = ("l1", "l1_l2", "group", "nonneg_l1", "tv1d", "tv2d")
_REAL_ONLY_DATAFITS = ("poisson", "logistic")
_REAL_ONLY_PENALTIES = ("nonneg_l1", "tv1d", "tv2d")
_SMOOTH = ("squared", "huber", "poisson", "logistic")
_TINY = np.finfo(np.float64).tiny


# --------------------------------------------------------------------------
# operator wrapper: counts applications, batches right-hand sides
# --------------------------------------------------------------------------
class _Op:
    """Products with ``A`` and ``A^H`` on (n, k) / (m, k) blocks, counted per column."""

    def __init__(self, A):
        self.A = A
        self.shape = A.shape
        self.n_matvec = 0
        self.n_rmatvec = 0
        if isinstance(A, LinearOperator):
            self.kind = "operator"
            _check_has_adjoint(A)
        else:
            self.kind = "matrix"
            self.AH = A.conj().T if np.iscomplexobj(A) else A.T

    def mat(self, X):
        self.n_matvec += X.shape[1]
        if self.kind == "matrix":
            out = self.A @ X
            return np.asarray(out)
        if X.shape[1] == 1:
            return np.asarray(self.A.matvec(X[:, 0])).reshape(-1, 1)
        return np.asarray(self.A.matmat(X))

    def rmat(self, Z):
        self.n_rmatvec += Z.shape[1]
        if self.kind == "matrix":
            return np.asarray(self.AH @ Z)
        try:
            if Z.shape[1] == 1:
                return np.asarray(self.A.rmatvec(Z[:, 0])).reshape(-1, 1)
            return np.asarray(self.A.rmatmat(Z))
        except NotImplementedError:
            raise ValueError(_NO_ADJOINT) from None


_NO_ADJOINT = ("A is a LinearOperator without an adjoint (rmatvec/rmatmat); gradient and "
               "primal-dual solvers need products with A^H: build it with "
               "LinearOperator(shape, matvec=..., rmatvec=...).")


def _check_has_adjoint(A):
    impl = getattr(A, "_CustomLinearOperator__rmatvec_impl", "absent")
    if impl is None and getattr(A, "_CustomLinearOperator__rmatmat_impl", None) is None:
        raise ValueError(_NO_ADJOINT)
    cls = type(A)
    if impl == "absent" and cls._rmatvec is LinearOperator._rmatvec \
            and cls._rmatmat is LinearOperator._rmatmat \
            and cls._adjoint is LinearOperator._adjoint:
        raise ValueError(_NO_ADJOINT)


def _norm_is_exact(A):
    return isinstance(A, (PartialDCT, PartialFFT, _TransposedPartial, KroneckerOperator))


# --------------------------------------------------------------------------
# datafits: value, gradient, conjugate and prox of the conjugate on (m, k)
# --------------------------------------------------------------------------
def _colsum(M):
    return np.real(M).sum(axis=0) if not np.iscomplexobj(M) else M.real.sum(axis=0)


def _re_inner(Z, Y):
    """Column-wise Re <Z, Y> in float64."""
    return np.real(np.einsum("ij,ij->j", np.conj(Z), Y, dtype=np.result_type(Z, Y, np.float64)))


def _sqnorm(M):
    return np.einsum("ij,ij->j", M.real, M.real, dtype=np.float64) + (
        np.einsum("ij,ij->j", M.imag, M.imag, dtype=np.float64) if np.iscomplexobj(M) else 0.0)


def _project_modulus(Z, radius):
    mod = np.abs(Z)
    scale = np.minimum(1.0, radius / np.maximum(mod, _TINY))
    return Z * scale.astype(mod.dtype, copy=False)


class _Squared:
    smooth = True

    def __init__(self, Y):
        self.Y, self.m = Y, Y.shape[0]
        self.lip_factor = 1.0 / self.m

    def value(self, U):
        return _sqnorm(U - self.Y) / (2 * self.m)

    def grad(self, U):
        return (U - self.Y) / self.m

    def conj(self, Z):
        return _re_inner(Z, self.Y) + 0.5 * self.m * _sqnorm(Z)

    def prox_conj(self, Z, sigma):
        return (Z - sigma * self.Y) / (1.0 + sigma * self.m)


class _Huber(_Squared):
    def __init__(self, Y, delta):
        super().__init__(Y)
        self.delta = delta

    def value(self, U):
        r = np.abs(U - self.Y).astype(np.float64)
        d = self.delta
        return np.where(r <= d, 0.5 * r * r, d * r - 0.5 * d * d).sum(axis=0) / self.m

    def grad(self, U):
        R = U - self.Y
        mod = np.abs(R)
        fac = np.minimum(1.0, self.delta / np.maximum(mod, _TINY)).astype(mod.dtype, copy=False)
        return R * fac / self.m

    def conj(self, Z):
        out = super().conj(Z)
        bad = np.abs(Z).max(axis=0) > (self.delta / self.m) * (1 + 1e-10)
        return np.where(bad, np.inf, out)

    def prox_conj(self, Z, sigma):
        return _project_modulus(super().prox_conj(Z, sigma), self.delta / self.m)


class _LAD:
    smooth = False
    lip_factor = None

    def __init__(self, Y):
        self.Y, self.m = Y, Y.shape[0]

    def value(self, U):
        return np.abs(U - self.Y).astype(np.float64).sum(axis=0) / self.m

    def conj(self, Z):
        out = _re_inner(Z, self.Y)
        bad = np.abs(Z).max(axis=0) > (1.0 / self.m) * (1 + 1e-10)
        return np.where(bad, np.inf, out)

    def prox_conj(self, Z, sigma):
        return _project_modulus(Z - sigma * self.Y, 1.0 / self.m)


class _Poisson:
    smooth = True
    lip_factor = None

    def __init__(self, Y, offset):
        self.Y, self.m = Y, Y.shape[0]
        self.b = offset          # scalar or (m, 1)

    def value(self, U):
        W = U + self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            val = (W - xlogy(self.Y, W)).astype(np.float64).sum(axis=0)
        # the offset is part of the model: F(u) = sum (u + b) - y log(u + b)
        return np.where((W <= 0).any(axis=0), np.inf, val)

    def grad(self, U):
        return 1.0 - self.Y / (U + self.b)

    def conj(self, Z):
        S = np.asarray(Z, dtype=np.float64) - 1.0
        Y = self.Y.astype(np.float64)
        bad = ((S >= 0) & (Y > 0)).any(axis=0) | (S > 0).any(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            val = -Y - S * self.b + xlogy(Y, Y) - xlogy(Y, np.where(S < 0, -S, 1.0))
        # F(u) = sum (u + b) - ..., so F*(z) gains -sum(b) * 0: the b in (u + b) is
        # a constant shift: F*(z) = sup z u - (u + b) + y log(u + b)
        val = val.sum(axis=0) - (np.broadcast_to(self.b, Y.shape).sum(axis=0))
        return np.where(bad, np.inf, val)

    def prox_conj(self, Z, sigma):
        gamma = 1.0 / sigma
        V = Z / sigma
        a = V + self.b - gamma
        W = 0.5 * (a + np.sqrt(a * a + 4.0 * gamma * self.Y))
        return Z - sigma * (W - self.b)


class _Logistic:
    smooth = True

    def __init__(self, Y):
        self.Y, self.m = Y, Y.shape[0]
        self.lip_factor = 0.25 / self.m

    def value(self, U):
        return np.logaddexp(0.0, -self.Y * U).astype(np.float64).sum(axis=0) / self.m

    def grad(self, U):
        return -self.Y * expit(-self.Y * U) / self.m

    def conj(self, Z):
        P = -self.m * np.asarray(Z, dtype=np.float64) * self.Y
        bad = ((P < -1e-12) | (P > 1 + 1e-12)).any(axis=0)
        P = np.clip(P, 0.0, 1.0)
        return np.where(bad, np.inf, (xlogy(P, P) + xlogy(1 - P, 1 - P)).sum(axis=0) / self.m)


# --------------------------------------------------------------------------
# penalties: value, prox (step per column), dual scaling and conjugate
# --------------------------------------------------------------------------
def _soft(V, t):
    if np.iscomplexobj(V):
        mod = np.abs(V)
        fac = np.maximum(1.0 - t / np.maximum(mod, _TINY), 0.0)
        return V * fac.astype(mod.dtype, copy=False)
    return np.sign(V) * np.maximum(np.abs(V) - t, 0.0)


class _L1:
    has_gap = True

    def __init__(self, alpha):
        self.alpha = alpha

    def value(self, X):
        return self.alpha * np.abs(X).astype(np.float64).sum(axis=0)

    def prox(self, V, step, state=None):
        return _soft(V, self.alpha * step)

    def dual_scale(self, V):
        mx = np.abs(V).max(axis=0).astype(np.float64)
        return np.where(mx > self.alpha, self.alpha / np.maximum(mx, _TINY), 1.0)

    def conj(self, V):
        return np.zeros(V.shape[1])


class _ElasticNet(_L1):
    def __init__(self, alpha, l1_ratio):
        self.a1 = alpha * l1_ratio
        self.a2 = alpha * (1.0 - l1_ratio)
        super().__init__(self.a1)

    def value(self, X):
        return self.a1 * np.abs(X).astype(np.float64).sum(axis=0) + 0.5 * self.a2 * _sqnorm(X)

    def prox(self, V, step, state=None):
        return _soft(V, self.a1 * step) / (1.0 + self.a2 * step)

    def dual_scale(self, V):
        if self.a2 > 0:
            return np.ones(V.shape[1])
        return super().dual_scale(V)

    def conj(self, V):
        if self.a2 == 0:
            return np.zeros(V.shape[1])
        e = np.maximum(np.abs(V).astype(np.float64) - self.a1, 0.0)
        return (e * e).sum(axis=0) / (2.0 * self.a2)


class _Group:
    has_gap = True

    def __init__(self, alpha, labels, weights):
        self.alpha = alpha
        self.labels = labels
        n_groups = int(labels.max()) + 1
        self.M = sp.csr_matrix((np.ones(labels.size), (labels, np.arange(labels.size))),
                               shape=(n_groups, labels.size))
        self.w = weights

    def _norms(self, X):
        sq = (np.abs(X) ** 2).astype(np.float64)
        return np.sqrt(np.asarray(self.M @ sq))

    def value(self, X):
        return self.alpha * (self.w[:, None] * self._norms(X)).sum(axis=0)

    def prox(self, V, step, state=None):
        nrm = self._norms(V)
        fac = np.maximum(1.0 - self.alpha * self.w[:, None] * step / np.maximum(nrm, _TINY), 0.0)
        return V * fac[self.labels].astype(V.real.dtype, copy=False)

    def dual_scale(self, V):
        nrm = self._norms(V)
        lim = self.alpha * self.w[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(nrm > lim, lim / np.maximum(nrm, _TINY), 1.0)
        return ratio.min(axis=0)

    def conj(self, V):
        return np.zeros(V.shape[1])


class _NonnegL1(_L1):
    def value(self, X):
        val = self.alpha * X.astype(np.float64).sum(axis=0)
        return np.where((X < 0).any(axis=0), np.inf, val)

    def prox(self, V, step, state=None):
        return np.maximum(V - self.alpha * step, 0.0)

    def dual_scale(self, V):
        mx = V.max(axis=0).astype(np.float64)
        return np.where(mx > self.alpha, self.alpha / np.maximum(mx, _TINY), 1.0)


class _TV1D:
    has_gap = False

    def __init__(self, alpha):
        self.alpha = alpha

    def value(self, X):
        return self.alpha * np.abs(np.diff(X, axis=0)).astype(np.float64).sum(axis=0)

    def prox(self, V, step, state=None):
        lam = np.broadcast_to(np.asarray(self.alpha * step, dtype=np.float64).reshape(-1),
                              (V.shape[1],))
        return _tv1d_prox_fast(V, lam)


class _TV2D:
    has_gap = False

    def __init__(self, alpha, shape, isotropic, inner_max_iter=100, inner_tol=1e-7):
        self.alpha, self.shape, self.isotropic = alpha, shape, isotropic
        self.inner_max_iter, self.inner_tol = inner_max_iter, inner_tol
        self.duals = {}

    def value(self, X):
        r, c = self.shape
        out = np.empty(X.shape[1])
        for j in range(X.shape[1]):
            Im = X[:, j].reshape(r, c).astype(np.float64)
            P = Im[:-1, :] - Im[1:, :]
            Q = Im[:, :-1] - Im[:, 1:]
            if self.isotropic:
                Pf = np.zeros((r, c))
                Qf = np.zeros((r, c))
                Pf[:-1, :] = P
                Qf[:, :-1] = Q
                out[j] = np.sqrt(Pf * Pf + Qf * Qf).sum()
            else:
                out[j] = np.abs(P).sum() + np.abs(Q).sum()
        return self.alpha * out

    def prox(self, V, step, state=None):
        r, c = self.shape
        steps = np.broadcast_to(np.asarray(step, dtype=np.float64).reshape(-1), (V.shape[1],))
        out = np.empty_like(V)
        for j in range(V.shape[1]):
            lam = self.alpha * steps[j]
            S = V[:, j].reshape(r, c).astype(np.float64)
            if lam == 0:
                out[:, j] = S.reshape(-1)
                continue
            P, Q = self.duals.get(j, (np.zeros((r - 1, c)), np.zeros((r, c - 1))))
            X, P, Q, _, _, _ = _fgp(S, lam, -np.inf, np.inf, self.isotropic,
                                    self.inner_max_iter, self.inner_tol, P, Q)
            self.duals[j] = (P, Q)
            out[:, j] = X.reshape(-1)
        return out


# --------------------------------------------------------------------------
# validation and setup
# --------------------------------------------------------------------------
def _check_int(v, name, low):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < low:
        raise ValueError(f"{name} must be an int >= {low}; got {v!r}.")
    return int(v)


def _setup(A, y, *, datafit, penalty, alpha, l1_ratio, groups, group_weights, shape,
           isotropic, delta, offset, x0, max_iter, tol, owner):
    if datafit not in _DATAFITS:
        raise ValueError(f"datafit of {owner} must be one of {_DATAFITS}; got {datafit!r}.")
    if penalty not in _PENALTIES:
        raise ValueError(f"penalty of {owner} must be one of {_PENALTIES}; got {penalty!r}.")
    alpha = check_finite_scalar(alpha, "alpha", low=0.0)
    max_iter = _check_int(max_iter, "max_iter", 1)
    tol = check_finite_scalar(tol, "tol", low=0.0)
    if isinstance(A, LinearOperator):
        if len(A.shape) != 2 or min(A.shape) < 1:
            raise ValueError(f"A must have a 2-D non-empty shape; got {A.shape}.")
    elif A is None or isinstance(A, (str, bytes)):
        raise TypeError(
            f"A must be an array, a scipy.sparse matrix or a LinearOperator; got {type(A)}.")
    else:
        A = check_operator(A, "A", allow_complex=True)
        if sp.issparse(A):
            A = A.tocsr()
    m, n = A.shape
    y_arr = np.asarray(y)
    if sp.issparse(y):
        raise TypeError("y must be a dense array; got a scipy.sparse matrix: pass y.toarray().")
    if y_arr.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D; got an array of shape {y_arr.shape}.")
    if y_arr.dtype == object or not (np.issubdtype(y_arr.dtype, np.number)
                                     or y_arr.dtype == bool):
        raise ValueError(f"y must be numeric; got dtype {y_arr.dtype}.")
    if y_arr.shape[0] != m:
        raise ValueError(
            f"y has {y_arr.shape[0]} rows but A has {m} rows (measurements); they must agree.")
    if y_arr.size == 0:
        raise ValueError("y is empty; at least one right-hand side is needed.")
    if not np.all(np.isfinite(y_arr)):
        raise ValueError("Input y contains NaN or infinity.")
    was_1d = y_arr.ndim == 1
    op_dtype = np.dtype(A.dtype)
    is_complex = (np.issubdtype(op_dtype, np.complexfloating)
                  or np.issubdtype(y_arr.dtype, np.complexfloating))
    if is_complex and (datafit in _REAL_ONLY_DATAFITS or penalty in _REAL_ONLY_PENALTIES):
        which = (f"datafit={datafit!r}" if datafit in _REAL_ONLY_DATAFITS
                 else f"penalty={penalty!r}")
        raise ValueError(
            f"A or y is complex but {which} is defined for real data only; use a complex-ready "
            f"datafit ('squared', 'huber', 'lad') and penalty ('l1', 'l1_l2', 'group'), or "
            f"split real and imaginary parts.")
    single = (op_dtype in (np.float32, np.complex64)) and (
        y_arr.dtype in (np.float32, np.complex64))
    if is_complex:
        dtype = np.dtype(np.complex64 if single else np.complex128)
    else:
        dtype = np.dtype(np.float32 if single else np.float64)
    Y = np.array(y_arr.reshape(m, -1), dtype=dtype)   # a copy: inputs are never mutated

    # datafit
    if datafit == "squared":
        F = _Squared(Y)
    elif datafit == "huber":
        delta = check_finite_scalar(delta, "delta", low=0.0, low_inclusive=False)
        F = _Huber(Y, delta)
    elif datafit == "lad":
        F = _LAD(Y)
    elif datafit == "poisson":
        if np.any(Y < 0):
            raise ValueError(
                "y holds negative values; the Poisson datafit needs counts y >= 0.")
        b = np.asarray(offset, dtype=np.float64)
        if b.ndim == 0:
            b = check_finite_scalar(float(b), "offset", low=0.0, low_inclusive=False)
        else:
            if b.shape != (m,) or not np.all(np.isfinite(b)) or np.any(b <= 0):
                raise ValueError(
                    f"offset must be a positive float or an array of {m} positive values "
                    f"(one per measurement); got shape {b.shape}.")
            b = b.reshape(m, 1).astype(dtype)
        F = _Poisson(Y, b)
    else:
        if not np.all(np.isin(Y, (-1.0, 1.0))):
            raise ValueError("y must hold labels -1 and +1 for the logistic datafit.")
        F = _Logistic(Y)

    # penalty
    if penalty == "l1":
        G = _L1(alpha)
    elif penalty == "l1_l2":
        l1_ratio = check_finite_scalar(l1_ratio, "l1_ratio", low=0.0)
        if l1_ratio > 1:
            raise ValueError(f"l1_ratio must be in [0, 1]; got {l1_ratio!r}.")
        G = _ElasticNet(alpha, l1_ratio)
    elif penalty == "group":
        if groups is None:
            raise ValueError("penalty='group' needs groups: a group size (int dividing "
                             "n_features) or one group label per feature.")
        if isinstance(groups, numbers.Integral) and not isinstance(groups, (bool, np.bool_)):
            if groups < 1 or n % groups:
                raise ValueError(
                    f"groups, given as a group size, must divide n_features={n}; got {groups}.")
            labels = np.arange(n) // int(groups)
        else:
            lab = np.asarray(groups)
            if lab.shape != (n,) or not np.issubdtype(lab.dtype, np.integer):
                raise ValueError(
                    f"groups must be an int group size or {n} integer labels; got {groups!r}.")
            _, labels = np.unique(lab, return_inverse=True)
        n_groups = int(labels.max()) + 1
        if group_weights is None:
            w = np.ones(n_groups)
        else:
            w = np.asarray(group_weights, dtype=np.float64)
            if w.shape != (n_groups,) or not np.all(np.isfinite(w)) or np.any(w < 0):
                raise ValueError(
                    f"group_weights must hold {n_groups} finite non-negative values; "
                    f"got {group_weights!r}.")
        G = _Group(alpha, labels.astype(np.intp), w)
    elif penalty == "nonneg_l1":
        G = _NonnegL1(alpha)
    elif penalty == "tv1d":
        G = _TV1D(alpha)
    else:
        if shape is None or len(tuple(shape)) != 2 or int(np.prod(shape)) != n:
            raise ValueError(
                f"penalty='tv2d' needs shape=(rows, cols) with rows * cols = n_features = {n}; "
                f"got {shape!r}.")
        G = _TV2D(alpha, tuple(int(s) for s in shape), bool(isotropic))

    k = Y.shape[1]
    if x0 is None:
        X0 = np.zeros((n, k), dtype=dtype)
    else:
        x0a = np.asarray(x0)
        if x0a.shape not in ((n,), (n, k)) or (x0a.ndim == 1 and k != 1):
            raise ValueError(f"x0 must have shape ({n},) or ({n}, {k}); got {x0a.shape}.")
        if not np.all(np.isfinite(x0a)):
            raise ValueError("Input x0 contains NaN or infinity.")
        if np.iscomplexobj(x0a) and not is_complex:
            raise ValueError("x0 is complex but A and y are real.")
        X0 = np.array(x0a.reshape(n, k), dtype=dtype)
        if penalty == "nonneg_l1":
            np.maximum(X0, 0, out=X0)
    return _Op(A), Y, was_1d, dtype, F, G, max_iter, tol


def _lipschitz_norm2(op):
    A = op.A
    if isinstance(A, np.ndarray) and min(A.shape) <= 2000:
        nrm = np.linalg.norm(A, 2) if min(A.shape) <= 300 else operator_norm(A)
        return float(nrm) ** 2 * (1 + 1e-10 if min(A.shape) <= 300 else 1 + 1e-4)
    try:
        nrm = operator_norm(A)
    except NotImplementedError:
        raise ValueError(_NO_ADJOINT) from None
    return float(nrm) ** 2 * (1.0 if _norm_is_exact(A) else 1 + 1e-4)


def _gap(op, F, G, X, AX, Z, AHZ, P):
    """Duality gap per column at the dual candidate Z (with A^H Z given)."""
    V = -AHZ
    c = G.dual_scale(V)
    D = -F.conj(Z * c) - G.conj(V * c)
    return P - D


def _finish(name, X, was_1d, info, tol):
    k = X.shape[1]
    cert = np.asarray(info["certificate"], dtype=np.float64)
    n_failed = int(np.sum(~(cert <= tol)))
    info["converged"] = n_failed == 0
    warn_not_converged(name, n_failed, k, info["certificate_kind"].replace("_", " "),
                       float(np.nanmax(cert)), tol)
    if was_1d:
        X = X[:, 0]
        for key in ("objective", "certificate", "duality_gap"):
            if key in info and info[key] is not None:
                info[key] = float(np.asarray(info[key]).reshape(-1)[0])
    return X, info


def _rel_change(Xn, X):
    return np.sqrt(_sqnorm(Xn - X)) / np.maximum(np.sqrt(_sqnorm(Xn)), _TINY)


# --------------------------------------------------------------------------
# FISTA
# --------------------------------------------------------------------------
def _poisson_start(op, F, G, Y, dtype):
    # constant intensity whose mean prediction matches the mean count
    k = Y.shape[1]
    ones = np.ones((op.shape[1], 1), dtype=dtype)
    A1 = op.mat(ones)
    s = float(A1.sum())
    if s <= 0 or np.any(A1 + F.b <= 0):
        return np.zeros((op.shape[1], k), dtype=dtype)
    c = Y.astype(np.float64).sum(axis=0) / s
    return (ones * c[None, :]).astype(dtype)


def _polish(op, F, G, X, cols, max_cg=100, cg_tol=1e-9):
    """Exact minimiser on the current support and signs (CG on the normal equations).

    Columns whose support is empty or larger than ``m/4`` (where CG on the
    support would cost more than the FISTA steps it saves) are left out.
    For the squared datafit and an l1-type penalty, on the support ``S`` with
    signs ``s`` the objective is the quadratic
    ``||y - A_S v||^2/(2m) + a1 s^T v + a2/2 ||v||^2``, minimised by
    ``(A_S^T A_S + m a2 I) v = A_S^T y - m a1 s``, solved matrix-free by
    conjugate gradients warm-started at ``X_S``.
    """
    n, k = X.shape
    m = F.m
    a1 = G.a1 if isinstance(G, _ElasticNet) else G.alpha
    a2 = G.a2 if isinstance(G, _ElasticNet) else 0.0
    Xc = X.copy()
    done = np.zeros(k, dtype=bool)
    for j in np.flatnonzero(cols):
        S = np.flatnonzero(X[:, j])
        if S.size == 0 or S.size > m // 4:
            continue
        done[j] = True
        sgn = np.sign(X[S, j])
        z = np.zeros((n, 1), dtype=X.dtype)

        def M(v):
            z[:] = 0
            z[S, 0] = v
            return op.rmat(op.mat(z))[S, 0] + (m * a2) * v

        z[:] = 0
        rhs = op.rmat(F.Y[:, j:j + 1])[S, 0] - (m * a1) * sgn
        v = X[S, j].astype(np.float64)
        r = rhs - M(v)
        p = r.copy()
        rr = float(r @ r)
        rr0 = max(float(rhs @ rhs), _TINY)
        for _ in range(max_cg):
            if rr <= cg_tol ** 2 * rr0:
                break
            Mp = M(p)
            a = rr / float(p @ Mp)
            v += a * p
            r -= a * Mp
            rr_new = float(r @ r)
            p = r + (rr_new / rr) * p
            rr = rr_new
        Xc[:, j] = 0
        Xc[S, j] = v
    if not done.any():
        return None, None, done
    return Xc, op.mat(Xc), done


# greedy FISTA's first step factor (step gamma / L, gamma decreasing to 1)
_GREEDY_GAMMA = 1.3
# adaptive step of the squared datafit: L shrinks by _ADAPT_DOWN after each
# iteration and grows by _ADAPT_UP (up to the global constant) on a failed
# sufficient-decrease test
_ADAPT_DOWN, _ADAPT_UP = 0.9, 2.0


def _fista_core(op, F, G, X0, *, lipschitz, restart, max_iter, tol, check_every, verbose,
                polish=True, polish_every=10, momentum="greedy"):
    n, k = X0.shape
    backtrack = F.lip_factor is None or lipschitz == "backtracking"
    if isinstance(lipschitz, numbers.Real) and not isinstance(lipschitz, (bool, np.bool_)):
        L = np.full(k, check_finite_scalar(lipschitz, "lipschitz", low=0.0,
                                           low_inclusive=False))
    elif backtrack:
        L = np.ones(k)
    else:
        L = np.full(k, _lipschitz_norm2(op) * F.lip_factor)
    L = np.maximum(L, _TINY)
    # squared datafit with the global constant known: adaptive step (L decreased
    # after every iteration, increased while ||A d||^2/m > L ||d||^2, which is
    # the exact sufficient-decrease test of a quadratic datafit, d = x+ - y)
    # (double precision only: in single precision A d = Ax+ - Ay cancels too much)
    adaptive = (lipschitz is None and not backtrack and type(F) is _Squared
                and momentum == "greedy" and X0.real.dtype == np.float64)
    L_max = L.copy()
    X = X0
    AX = op.mat(X)
    if not np.all(np.isfinite(F.value(AX))):
        if X0.any():
            X = np.zeros_like(X0)
            AX = op.mat(X)
    Yk, AY = X, AX
    t = np.ones(k)
    kind = "relative_duality_gap" if (G.has_gap and hasattr(F, "conj")) else "relative_change"
    cert = np.full(k, np.inf)
    P = np.full(k, np.inf)
    D_best = np.full(k, -np.inf)
    gap_abs = None
    n_restart = 0
    n_polish = 0
    greedy = momentum == "greedy" and not backtrack and not adaptive
    gamma = np.full(k, _GREEDY_GAMMA if greedy else 1.0)
    first_step = None
    polish = (polish and isinstance(F, _Squared) and type(F) is _Squared
              and type(G) in (_L1, _NonnegL1, _ElasticNet) and not np.iscomplexobj(X0))
    prev_sig = np.zeros((n, k), dtype=np.int8)
    polished_sig = np.full((n, k), 2, dtype=np.int8)
    # real (non-negative) L1 with a fixed step: the proximal step, the greedy
    # and restart tests and the momentum step as two compiled passes over x
    fused = (_C is not None and not backtrack and type(G) in (_L1, _NonnegL1)
             and X0.dtype in (np.float32, np.float64))
    if fused:
        dn2 = np.zeros(k)
        rsv = np.zeros(k)
        dy2 = np.zeros(k) if adaptive else None
        spare = None
        X = np.ascontiguousarray(X)
        Yk = X
    it = 0
    for it in range(1, max_iter + 1):
        GU = F.grad(AY)
        grad = op.rmat(GU)
        if backtrack:
            fY = F.value(AY)
            L = np.maximum(L * 0.9, _TINY)
        while True:
            step = (gamma / L).astype(X.real.dtype)
            if fused:
                X = np.ascontiguousarray(X, dtype=X0.dtype)
                Yk = np.ascontiguousarray(Yk, dtype=X0.dtype)
                if adaptive:
                    # a separate buffer (a failed test steps again from Yk)
                    if (spare is None or spare.shape != X.shape or spare.dtype != X.dtype
                            or np.may_share_memory(spare, X)
                            or np.may_share_memory(spare, Yk)):
                        spare = np.empty_like(X)
                    Xn = spare
                else:
                    # the new iterate overwrites the extrapolated point in place (no
                    # fresh n-sized buffer per iteration), unless that is X itself
                    Xn = np.empty_like(X) if (Yk is X or np.may_share_memory(Yk, X)
                                              or not Yk.flags.writeable) else Yk
                _C.fista_l1_step(Yk, np.ascontiguousarray(grad, dtype=X.dtype), X,
                                 step.astype(np.float64), float(G.alpha),
                                 type(G) is _NonnegL1, Xn, dn2, rsv, dy2)
            else:
                Xn = G.prox(Yk - grad * step[None, :], step)
            AXn = op.mat(Xn)
            if adaptive:
                d2 = dy2 if fused else _sqnorm(Xn - Yk)
                bad = (_sqnorm(AXn - AY) / F.m > L * d2 * (1.0 + 1e-10)) & (L < L_max)
                if not bad.any():
                    break
                L = np.where(bad, np.minimum(_ADAPT_UP * L, L_max), L)
                continue
            if not backtrack:
                break
            Dlt = Xn - Yk
            fX = F.value(AXn)
            bound = fY + _re_inner(grad, Dlt) + 0.5 * L * _sqnorm(Dlt)
            bad = ~(fX <= bound + 1e-12 * np.abs(fY))
            if not bad.any() or np.all(L > 1e300):
                break
            L = np.where(bad, 2.0 * L, L)
        # O'Donoghue-Candes gradient restart: momentum against the descent direction
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        beta = (t - 1.0) / t_new
        if greedy:
            # Liang-Luo-Schonlieb greedy FISTA: momentum 1, step gamma/L, gamma -> 1
            # whenever the step length exceeds xi times the first one
            beta = np.ones(k)
            dn = np.sqrt(dn2) if fused else np.sqrt(_sqnorm(Xn - X))
            if first_step is None:
                first_step = np.maximum(dn, _TINY)
            shrink = dn >= 0.96 * first_step
            gamma = np.where(shrink, np.maximum(gamma * 0.96, 1.0), gamma)
        if restart:
            rs = (rsv > 0) if fused else (_re_inner(Yk - Xn, Xn - X) > 0)
            if rs.any():
                n_restart += int(rs.sum())
                beta = np.where(rs, 0.0, beta)
                t_new = np.where(rs, 1.0, t_new)
        if fused:
            b64 = beta.astype(np.float64)
            AXn = np.ascontiguousarray(AXn)
            AX = np.ascontiguousarray(AX, dtype=AXn.dtype)
            # the momentum step into X's buffer (X is not needed afterwards)
            Yk = X if (kind == "relative_duality_gap" and X.flags.writeable
                       and X.dtype == Xn.dtype and X.flags.c_contiguous
                       and not np.may_share_memory(X, Xn)) else np.empty_like(Xn)
            Yk_old = Yk
            _C.fista_extrapolate(Xn, X, b64, Yk)
            if adaptive:
                spare = Yk_old if (Yk_old.flags.writeable and Yk_old is not Yk
                                   and Yk_old is not Xn) else None
            AY = np.empty_like(AXn)
            _C.fista_extrapolate(AXn, AX, b64, AY)
        else:
            b = beta.astype(X.real.dtype)[None, :]
            Yk = Xn + b * (Xn - X)
            AY = AXn + b * (AXn - AX)
        if backtrack and not np.all(np.isfinite(F.value(AY))):
            # extrapolated point outside the datafit's domain: restart there
            bad = ~np.isfinite(F.value(AY))
            Yk = np.where(bad[None, :], Xn, Yk)
            AY = np.where(bad[None, :], AXn, AY)
            t_new = np.where(bad, 1.0, t_new)
        t = t_new
        if adaptive:
            L = L * _ADAPT_DOWN
        last = it == max_iter
        if polish and (it % polish_every == 0 or last):
            P = F.value(AXn) + G.value(Xn)
            sig = np.sign(Xn).astype(np.int8)
            # near-stable sign pattern (few changes since the last look) not yet polished
            n_changed = np.count_nonzero(sig != prev_sig, axis=0)
            n_supp = np.count_nonzero(sig, axis=0)
            stable = (n_changed <= np.maximum(2, 0.05 * n_supp)) \
                & ~np.all(sig == polished_sig, axis=0)
            prev_sig = sig
            if stable.any():
                polished_sig = np.where(stable[None, :], sig, polished_sig)
                Xc, AXc, done = _polish(op, F, G, Xn, stable)
                n_polish += int(done.sum())
                better = done & (F.value(AXc) + G.value(Xc) < P) if done.any() else done
                if better.any():
                    b2 = better[None, :]
                    Xn = np.where(b2, Xc, Xn)
                    AXn = np.where(b2, AXc, AXn)
                    Yk = np.where(b2, Xn, Yk)
                    AY = np.where(b2, AXn, AY)
                    t = np.where(better, 1.0, t)
        # (tol <= 0 runs max_iter iterations: the certificate is computed at the
        # end only, unless verbose prints it along the way)
        if last or (it % check_every == 0 and (tol > 0 or verbose)):
            P = F.value(AXn) + G.value(Xn)
            if kind == "relative_duality_gap":
                Z = F.grad(AXn)
                gap_now = _gap(op, F, G, Xn, AXn, Z, op.rmat(Z), P)
                # any earlier dual point still bounds P* from below
                D_best = np.maximum(D_best, P - gap_now)
                gap_abs = P - D_best
                cert = np.abs(gap_abs) / np.maximum(np.abs(P), _TINY)
            else:
                cert = _rel_change(Xn, X)
            if verbose:
                print(f"fista: iter {it}, objective {np.max(P):.10e}, "
                      f"{kind.replace('_', ' ')} {np.max(cert):.3e}")
        X, AX = Xn, AXn
        if np.all(cert <= tol):
            break
    info = {"n_iter": it, "objective": P, "certificate": cert, "certificate_kind": kind,
            "duality_gap": gap_abs, "lipschitz": L, "n_restarts": n_restart,
            "n_polish": n_polish, "n_matvec": op.n_matvec, "n_rmatvec": op.n_rmatvec}
    return X, info


_SHARED_DOC = """
    A : ndarray, sparse matrix or LinearOperator of shape (m, n)
        The forward operator, real or complex; used only through ``A @ X``
        and ``A^H @ Z`` (``matmat``/``rmatmat`` for several right-hand
        sides, ``matvec``/``rmatvec`` for one).
    y : array-like of shape (m,) or (m, k)
        Measurements; ``k`` columns are solved together.
    datafit : {"squared", "huber", "lad", "poisson", "logistic"}
        The datafit ``F`` (see the module description).
    penalty : {"l1", "l1_l2", "group", "nonneg_l1", "tv1d", "tv2d"}
        The penalty ``G``.
    alpha : float, default=1.0
        Penalty strength (``>= 0``).
    l1_ratio : float, default=0.5
        Elastic-net mixing for ``penalty="l1_l2"``.
    groups : int or array-like of shape (n,), optional
        For ``penalty="group"``: a group size (contiguous groups) or one
        integer label per feature.
    group_weights : array-like of shape (n_groups,), optional
        Weights ``w_g`` (default 1).
    shape : tuple (rows, cols), optional
        Image shape for ``penalty="tv2d"`` (``x`` is the row-major image).
    isotropic : bool, default=False
        Isotropic 2-D TV.
    delta : float, default=1.0
        Huber threshold.
    offset : float or array-like of shape (m,), default=1e-10
        Poisson offset ``b > 0`` (SPIRAL-TAP's ``beta``, or a known
        background per measurement).
    x0 : array-like of shape (n,) or (n, k), optional
        Starting point (default zeros; for the Poisson datafit a constant
        matching the mean count when ``A`` is non-negative).
    max_iter : int
        Iteration budget.
    tol : float, default=1e-6
        Stop when the certificate (relative duality gap, or relative change
        for TV) of every column is ``<= tol``.
    check_every : int, default=10
        Iterations between certificate evaluations (each costs one extra
        product with ``A^H`` when a gap is computed).
    verbose : int, default=0
        Print the objective and certificate at each check."""

_RETURNS_DOC = """
    Returns
    -------
    coef : ndarray of shape (n,) or (n, k)
        Solution (float32/complex64 kept when ``A`` and ``y`` are single
        precision).
    info : dict
        ``n_iter``, ``objective`` (float or per column), ``certificate``
        and ``certificate_kind`` (``"relative_duality_gap"`` or
        ``"relative_change"``), ``duality_gap`` (absolute, or None),
        ``converged``, ``n_matvec`` and ``n_rmatvec`` (products with ``A``
        and ``A^H``, counted per column) and solver-specific entries.

    Raises
    ------
    ValueError
        Unknown datafit or penalty; negative counts in ``y`` for the Poisson
        datafit; ``A`` without an adjoint; complex ``A`` or ``y`` with a
        real-only datafit or penalty (``"poisson"``, ``"logistic"``,
        ``"nonneg_l1"``, TV).

    Warns
    -----
    ConvergenceWarning
        When ``max_iter`` is reached first, with the certificate reached."""


def fista(A, y, *, datafit="squared", penalty="l1", alpha=1.0, l1_ratio=0.5, groups=None,
                group_weights=None, shape=None, isotropic=False, delta=1.0, offset=1e-10,
                lipschitz=None, restart=True, x0=None, max_iter=1000, tol=1e-6, check_every=10,
                verbose=0):
    op, Y, was_1d, dtype, F, G, max_iter, tol = _setup(
        A, y, datafit=datafit, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, groups=groups,
        group_weights=group_weights, shape=shape, isotropic=isotropic, delta=delta,
        offset=offset, x0=x0, max_iter=max_iter, tol=tol, owner="fista")
    if not F.smooth:
        raise ValueError(
            f"datafit={datafit!r} is not differentiable; FISTA needs a smooth datafit: use "
            f"pdhg (or solve_operator, which picks it).")
    if lipschitz is not None and not (lipschitz == "backtracking" or (
            isinstance(lipschitz, numbers.Real) and not isinstance(lipschitz, (bool, np.bool_)))):
        raise ValueError(
            f"lipschitz must be None, 'backtracking' or a positive float; got {lipschitz!r}.")
    check_every = _check_int(check_every, "check_every", 1)
    X0 = None if x0 is None else x0
    if X0 is None:
        X0 = (_poisson_start(op, F, G, Y, dtype) if datafit == "poisson"
              else np.zeros((op.shape[1], Y.shape[1]), dtype=dtype))
    else:
        X0 = np.array(np.asarray(x0).reshape(op.shape[1], Y.shape[1]), dtype=dtype)
    X, info = _fista_core(op, F, G, X0, lipschitz=lipschitz, restart=bool(restart),
                          max_iter=max_iter, tol=tol, check_every=check_every, verbose=verbose)
    info["solver"] = "fista"
    return _finish("fista", X, was_1d, info, tol)


# --------------------------------------------------------------------------
# PDHG (Chambolle-Pock) with residual balancing
# --------------------------------------------------------------------------
def pdhg(A, y, *, datafit="lad", penalty="l1", alpha=1.0, l1_ratio=0.5, groups=None,
               group_weights=None, shape=None, isotropic=False, delta=1.0, offset=1e-10,
               x0=None, step_ratio=None, max_iter=10000, tol=1e-6, check_every=10,
               verbose=0):
    op, Y, was_1d, dtype, F, G, max_iter, tol = _setup(
        A, y, datafit=datafit, penalty=penalty, alpha=alpha, l1_ratio=l1_ratio, groups=groups,
        group_weights=group_weights, shape=shape, isotropic=isotropic, delta=delta,
        offset=offset, x0=x0, max_iter=max_iter, tol=tol, owner="pdhg")
    if not hasattr(F, "prox_conj"):
        raise ValueError(f"datafit={datafit!r} has no conjugate prox; use fista.")
    check_every = _check_int(check_every, "check_every", 1)
    n, k = op.shape[1], Y.shape[1]
    X = (np.zeros((n, k), dtype=dtype) if x0 is None
         else np.array(np.asarray(x0).reshape(n, k), dtype=dtype))
    nrm = np.sqrt(_lipschitz_norm2(op))
    if nrm == 0:
        nrm = 1.0
    adaptive = isinstance(step_ratio, str) and step_ratio == "adaptive"
    if step_ratio is None or adaptive:
        # datafits normalised by 1/m have dual variables of size O(1/m): tau/sigma = m
        ratio = float(F.m) if not isinstance(F, _Poisson) else 1.0
    else:
        ratio = check_finite_scalar(step_ratio, "step_ratio", low=0.0, low_inclusive=False)
    rdt = X.real.dtype
    # steps in the working real dtype, so float32 in -> float32 out
    tau = np.full(k, 0.99 * ratio / nrm, dtype=rdt)
    sigma = np.full(k, 0.99 / (ratio * nrm), dtype=rdt)
    a_bal, eta_bal, Delta = 0.5, 0.95, 1.5
    AX = op.mat(X)
    Z = np.zeros_like(AX)
    AHZ = np.zeros_like(X)
    kind = "relative_duality_gap" if G.has_gap else "relative_change"
    cert = np.full(k, np.inf)
    P = np.full(k, np.inf)
    D_best = np.full(k, -np.inf)
    gap_abs = None
    it = 0
    for it in range(1, max_iter + 1):
        Xn = G.prox(X - tau[None, :] * AHZ, tau)
        AXn = op.mat(Xn)
        Zn = F.prox_conj(Z + sigma[None, :] * (2 * AXn - AX), sigma[None, :])
        AHZn = op.rmat(Zn)
        if adaptive:
            p = np.sqrt(_sqnorm((X - Xn) / tau[None, :] - (AHZ - AHZn)))
            d = np.sqrt(_sqnorm((Z - Zn) / sigma[None, :] - (AX - AXn)))
            up = p > Delta * d
            down = p < d / Delta
            fac = 1.0 - a_bal
            tau = np.where(up, tau / fac, np.where(down, tau * fac, tau)).astype(rdt)
            sigma = np.where(up, sigma * fac, np.where(down, sigma / fac, sigma)).astype(rdt)
            if (up | down).any():
                a_bal *= eta_bal
        last = it == max_iter
        if it % check_every == 0 or last:
            P = F.value(AXn) + G.value(Xn)
            if kind == "relative_duality_gap":
                gap_now = _gap(op, F, G, Xn, AXn, Zn, AHZn, P)
                if F.smooth:
                    Zs = F.grad(AXn)
                    gap_now = np.minimum(gap_now, _gap(op, F, G, Xn, AXn, Zs, op.rmat(Zs), P))
                D_best = np.maximum(D_best, P - gap_now)
                gap_abs = P - D_best
                cert = np.abs(gap_abs) / np.maximum(np.abs(P), _TINY)
            else:
                cert = np.maximum(_rel_change(Xn, X), _rel_change(Zn, Z))
            if verbose:
                print(f"pdhg: iter {it}, objective {np.max(P):.10e}, "
                      f"{kind.replace('_', ' ')} {np.max(cert):.3e}")
        X, AX, Z, AHZ = Xn, AXn, Zn, AHZn
        if np.all(cert <= tol):
            break
    info = {"n_iter": it, "objective": P, "certificate": cert, "certificate_kind": kind,
            "duality_gap": gap_abs, "dual_coef": Z[:, 0] if was_1d else Z,
            "n_matvec": op.n_matvec, "n_rmatvec": op.n_rmatvec, "solver": "pdhg"}
    return _finish("pdhg", X, was_1d, info, tol)


def solve_operator(A, y, *, datafit="squared", penalty="l1", alpha=1.0, solver="auto",
                   max_iter=None, tol=1e-6, verbose=0, **params):
    r"""Solve ``min_x F(Ax) + alpha G(x)`` matrix-free, picking FISTA or PDHG.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (m, n)
        Real or complex forward operator (needs ``rmatvec``).
    y : array-like of shape (m,) or (m, k)
        Measurements.
    datafit : {"squared", "huber", "lad", "poisson", "logistic"}, default="squared"
        Datafit (see :func:`fista`).
    penalty : {"l1", "l1_l2", "group", "nonneg_l1", "tv1d", "tv2d"}, default="l1"
        Penalty.
    alpha : float, default=1.0
        Penalty strength.
    solver : {"auto", "fista", "pdhg"}, default="auto"
        ``"auto"``: FISTA for smooth datafits, PDHG for ``"lad"``.
    max_iter : int, optional
        Default 1000 (FISTA) or 10000 (PDHG).
    tol : float, default=1e-6
        Certificate tolerance (relative duality gap, or relative change for TV).
    verbose : int, default=0
        Print progress.
    **params
        Passed on: ``l1_ratio``, ``groups``, ``group_weights``, ``shape``,
        ``isotropic``, ``delta``, ``offset``, ``x0``, ``check_every``,
        and ``lipschitz``/``restart`` (FISTA) or ``step_ratio`` (PDHG).

    Returns
    -------
    coef : ndarray of shape (n,) or (n, k)
        Solution.
    info : dict
        As for :func:`fista`; ``info["solver"]`` names the solver used.

    See Also
    --------
    fista, pdhg

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import solve_operator
    >>> from sparsecode.operators import PartialFFT
    >>> A = PartialFFT(128, 48, random_state=0)            # complex operator
    >>> x = np.zeros(128, dtype=complex); x[[3, 70]] = [1 + 1j, -2j]
    >>> coef, info = solve_operator(A, A @ x, alpha=1e-3, tol=1e-9)
    >>> info["solver"], sorted(np.flatnonzero(np.abs(coef) > 0.5).tolist())
    ('fista', [3, 70])
    """
    if solver not in ("auto", "fista", "pdhg"):
        raise ValueError(f"solver must be 'auto', 'fista' or 'pdhg'; got {solver!r}.")
    if solver == "auto":
        solver = "pdhg" if datafit == "lad" else "fista"
    fn = fista if solver == "fista" else pdhg
    if max_iter is None:
        max_iter = 1000 if solver == "fista" else 10000
    return fn(A, y, datafit=datafit, penalty=penalty, alpha=alpha, max_iter=max_iter, tol=tol,
              verbose=verbose, **params)


fista.__doc__ = r"""FISTA with adaptive restart for ``min_x F(Ax) + alpha G(x)``, matrix-free.

    Accelerated proximal gradient (Beck & Teboulle 2009) with the gradient
    restart of O'Donoghue & Candes (2015): momentum is reset whenever it
    points against the last proximal-gradient step, which recovers linear
    convergence on locally strongly convex problems (Lasso near its
    solution) without knowing the strong-convexity constant.  For the
    squared datafit in double precision with ``lipschitz=None`` the step
    adapts (Scheinberg, Goldfarb & Bai 2014): ``L`` starts at the global
    constant, shrinks by 0.9 after every iteration and doubles (up to the
    global constant) while the exact sufficient-decrease test of a quadratic,
    ``||A d||^2 / m <= L ||d||^2`` with ``d = x+ - y``, fails; the test reads
    the products already computed, so a failure costs one product with ``A``
    and a success none.  On a partial DCT with ``n = 2^16``, ``m = 4000`` this
    takes 35-50 % fewer products than the fixed step to the same objective,
    the curvature on the support being far below ``||A||^2``.  Otherwise, with a
    known Lipschitz constant (given, or single precision) the momentum is the
    "greedy" one of Liang, Luo & Schonlieb (2022): extrapolation weight 1 and
    step ``1.3/L``, shrunk towards ``1/L`` whenever a step is longer than 0.96
    times the first, with the same restart.  For the squared datafit with an l1-type penalty
    (real data), once the sign pattern changes little between two checks
    the reduced problem on the support (at most ``m/4`` entries) is solved
    by conjugate gradients and kept if it lowers the objective.  Each iteration
    costs one product with ``A`` and one with ``A^H`` (``A`` applied to the
    extrapolated point is combined from the last two products).  The step is
    ``1/L`` with ``L = ||A||_2^2 * lip(F)`` (``||A||_2`` exact for
    :class:`~sparsecode.operators.PartialDCT`, ``PartialFFT`` and Kronecker
    operators, Lanczos otherwise), or found by backtracking for the Poisson
    datafit, whose gradient is not globally Lipschitz.

    Parameters
    ----------{shared}
    lipschitz : None, "backtracking" or float, default=None
        ``None``: computed (adaptive step for the squared datafit in double
        precision, backtracking for the Poisson datafit); a float: the
        constant ``L`` of ``grad (F o A)``, used as a fixed step ``1/L``.
    restart : bool, default=True
        Gradient-based adaptive restart.
{returns}

    See Also
    --------
    pdhg : Primal-dual solver, also for non-smooth datafits.
    solve_operator : Picks the solver.

    References
    ----------
    .. [1] A. Beck and M. Teboulle, "A fast iterative shrinkage-thresholding
       algorithm for linear inverse problems", SIAM J. Imaging Sci. 2(1), 2009.
    .. [2] B. O'Donoghue and E. Candes, "Adaptive restart for accelerated
       gradient schemes", Found. Comput. Math. 15, 2015.
    .. [3] J. Liang, T. Luo and C.-B. Schonlieb, "Improving "fast iterative
       shrinkage-thresholding algorithm": faster, smarter, and greedier",
       SIAM J. Sci. Comput. 44(3), 2022.
    .. [4] K. Scheinberg, D. Goldfarb and X. Bai, "Fast first-order methods
       for composite convex optimization with backtracking", Found. Comput.
       Math. 14, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import fista
    >>> from sparsecode.operators import PartialDCT
    >>> A = PartialDCT(256, 64, random_state=0)
    >>> x = np.zeros(256); x[[5, 40, 100]] = [1.0, -2.0, 1.5]
    >>> coef, info = fista(A, A @ x, alpha=1e-4, tol=1e-10, max_iter=5000)
    >>> info["converged"], sorted(np.flatnonzero(np.abs(coef) > 0.1).tolist())
    (True, [5, 40, 100])
    """.format(shared=_SHARED_DOC, returns=_RETURNS_DOC)

pdhg.__doc__ = r"""Chambolle-Pock primal-dual solver for ``min_x F(Ax) + alpha G(x)``, matrix-free.

    Iterates (Chambolle & Pock 2011)

    ``x+ = prox_{{tau G}}(x - tau A^H z)``,
    ``z+ = prox_{{sigma F*}}(z + sigma A (2 x+ - x))``

    with ``tau sigma ||A||^2 = 0.99`` and ``tau / sigma = m`` by default
    (optionally rebalanced by the residual balancing of Goldstein, Li & Yuan
    2015, which rescales ``tau / sigma`` while keeping the product fixed).  Only proximal maps are needed, so
    non-smooth datafits (least absolute deviations) and TV work; each
    iteration costs one product with ``A`` and one with ``A^H``.

    Parameters
    ----------{shared}
    step_ratio : float or "adaptive", optional
        ``tau / sigma``.  Default: ``m`` for the datafits normalised by
        ``1/m`` (their dual variables are ``O(1/m)``), 1 for Poisson.
        ``"adaptive"``: start there and rebalance by the primal and dual
        residuals (Goldstein, Li & Yuan 2015).
{returns}
        ``info["dual_coef"]`` holds the final dual iterate ``z``.

    See Also
    --------
    fista : Faster for smooth datafits.

    References
    ----------
    .. [1] A. Chambolle and T. Pock, "A first-order primal-dual algorithm
       for convex problems with applications to imaging", J. Math. Imaging
       Vis. 40, 2011.
    .. [2] T. Goldstein, M. Li and X. Yuan, "Adaptive primal-dual splitting
       methods for statistical learning and image processing", NeurIPS 2015.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import pdhg
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((60, 20))
    >>> x = np.zeros(20); x[:3] = [2.0, -1.0, 1.0]
    >>> y = A @ x; y[:5] += 20.0                      # gross outliers
    >>> coef, info = pdhg(A, y, datafit="lad", alpha=0.01, tol=1e-8)
    >>> bool(np.abs(coef - x).max() < 0.1), info["converged"]
    (True, True)
    """.format(shared=_SHARED_DOC, returns=_RETURNS_DOC)
