"""Dictionaries as products of sparse factors: palm4MSA and the hierarchical
factorisation (Le Magoarou & Gribonval, "Learning computationally efficient
dictionaries and their implementation as fast transforms", arXiv:1406.5388;
"Flexible multilayer sparse approximations of matrices and applications",
IEEE JSTSP 10(4), 2016), following the FAuST reference implementation's
defaults (initialisation, 1.001 Lipschitz factor, closed-form lambda).
"""

import numbers
from functools import reduce

import numpy as np
import scipy.sparse as sp

from .._base import SolverResult
from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, check_finite_scalar, check_matrix
from ._common import (
    _COMMON_CONSTRAINTS,
    _BaseDictionaryLearner,
    _normalize_rows,
    _omp_codes,
    _pow2_exponent,
    _rng,
    _validate_X_mask,
    _warn_budget,
)

__all__ = ["palm4msa", "hierarchical_factorization", "FastTransformDictionary"]

_NAMES = ("sp", "spcol", "splin", "splincol", "normcol", "const")


# ---------------------------------------------------------------------------
# constraint sets and their projections
# ---------------------------------------------------------------------------
def _check_constraint(c, name="constraints"):
    if not (isinstance(c, tuple) and len(c) == 2 and c[0] in _NAMES):
        raise ValueError(
            f"{name} entries must be (kind, value) with kind in {_NAMES}; got {c!r}."
        )
    kind, val = c
    if kind == "const":
        return kind, np.asarray(val, dtype=np.float64)
    if kind == "normcol":
        return kind, float(val)
    if isinstance(val, (bool, np.bool_)) or not isinstance(val, numbers.Integral) or val < 1:
        raise ValueError(f"{name}: the value of {kind!r} must be a positive int; got {val!r}.")
    return kind, int(val)


def _top_mask(A, s, axis):
    """Support of the s largest |entries| along ``axis`` (None: globally); ties
    broken by the lowest index (stable sort), as Hadamard-like matrices need."""
    if axis is None:
        flat = np.argsort(-np.abs(A).ravel(), kind="stable")[: min(s, A.size)]
        m = np.zeros(A.size, dtype=bool)
        m[flat] = True
        return m.reshape(A.shape)
    order = np.argsort(-np.abs(A), axis=axis, kind="stable")
    keep = np.take(order, np.arange(min(s, A.shape[axis])), axis=axis)
    m = np.zeros(A.shape, dtype=bool)
    np.put_along_axis(m, keep, True, axis=axis)
    return m


def project(A, constraint, normalize=True):
    """Projection of ``A`` onto a FAuST constraint set (then unit Frobenius norm).

    Parameters
    ----------
    A : ndarray of shape (m, n)
        Matrix to project.
    constraint : tuple
        ``("sp", s)`` s largest entries; ``("spcol", s)`` / ``("splin", s)``
        s largest per column / row; ``("splincol", s)`` the union of the
        row-wise and column-wise supports; ``("normcol", v)`` columns of
        norm v; ``("const", M)`` the matrix M.
    normalize : bool, default=True
        Scale the result to unit Frobenius norm (not for "normcol"/"const").

    Returns
    -------
    P : ndarray of shape (m, n)
    """
    kind, val = _check_constraint(constraint)
    if kind == "const":
        return val.copy()
    if kind == "normcol":
        nrm = np.linalg.norm(A, axis=0)
        return A / np.where(nrm > 0, nrm, 1.0) * val
    if kind == "sp":
        m = _top_mask(A, val, None)
    elif kind == "spcol":
        m = _top_mask(A, val, 0)
    elif kind == "splin":
        m = _top_mask(A, val, 1)
    else:
        m = _top_mask(A, val, 0) | _top_mask(A, val, 1)
    P = np.where(m, A, 0.0)
    if normalize:
        f = np.linalg.norm(P)
        if f > 0:
            P /= f
    return P


def _prod(mats, size):
    return reduce(np.matmul, mats) if mats else np.eye(size)


def _spec2(A):
    return float(np.linalg.norm(A, 2)) ** 2 if A.size else 0.0


# ---------------------------------------------------------------------------
# palm4MSA
# ---------------------------------------------------------------------------
def palm4msa(X, constraints, *, n_iter=30, init_factors=None, init_lambda=1.0,
             inner_dims=None, update_order="left-to-right", tol=0.0):
    r"""Approximate a matrix by a scaled product of sparse factors (palm4MSA).

    Solves :math:`\min_{\lambda, S_j} \tfrac12\|X - \lambda S_1 S_2 \cdots
    S_J\|_F^2` with each :math:`S_j` in its constraint set, by proximal
    alternating linearised minimisation.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Matrix to factorise.
    constraints : list of tuple
        One constraint per factor, left to right (see :func:`project`), e.g.
        ``[("splincol", 2)] * 5``.
    n_iter : int, default=30
        Sweeps over the factors.
    init_factors : list of ndarray, default=None
        Starting factors, left to right.  By default (FAuST's) the first
        factor to be updated is zero and the others are identities.
    init_lambda : float, default=1.0
        Starting scale.
    inner_dims : list of int, default=None
        Inner dimensions (``J - 1`` values); ``m`` for all by default.
    update_order : {"left-to-right", "right-to-left"}, default="left-to-right"
        Order of the factor updates within a sweep (FAuST's default).
    tol : float, default=0.0
        Stop when the relative error changes by less than ``tol``.

    Returns
    -------
    result : SolverResult
        ``factors`` (list of ndarray, left to right), ``lambda_``,
        ``error`` (relative Frobenius error history), ``n_iter``,
        ``converged``, ``coef`` (the product ``lambda_ * S_1 ... S_J``).

    See Also
    --------
    hierarchical_factorization : palm4msa applied factor by factor.
    FastTransformDictionary : dictionary learning with factorised atoms.

    Notes
    -----
    For factor :math:`j` with :math:`L` the product on its left and
    :math:`R` on its right, the step is
    :math:`S_j \leftarrow P_{E_j}(S_j - \tfrac{\lambda}{c} L^T(\lambda L S_j R - X)R^T)`,
    :math:`c = 1.001\,\lambda^2\|L\|_2^2\|R\|_2^2`; after each sweep
    :math:`\lambda = \mathrm{tr}(X^T \hat X)/\|\hat X\|_F^2` with
    :math:`\hat X = S_1\cdots S_J`.  Every projection normalises its factor
    to unit Frobenius norm, so the scale lives in :math:`\lambda`.

    References
    ----------
    .. [1] L. Le Magoarou and R. Gribonval, "Flexible multilayer sparse
       approximations of matrices and applications", IEEE JSTSP 10(4), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import palm4msa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 8))
    >>> res = palm4msa(X, [("splin", 4), ("splin", 4)], n_iter=50)
    >>> [int(np.count_nonzero(f)) for f in res.factors]
    [32, 32]
    >>> bool(res.error[-1] < res.error[0] < 1)
    True
    """
    X = check_matrix(X, "X", dtype=np.float64)
    cons = [_check_constraint(c) for c in constraints]
    J = len(cons)
    if J < 1:
        raise ValueError("constraints must list at least one factor.")
    m, n = X.shape
    dims = [m] + (list(inner_dims) if inner_dims is not None else [m] * (J - 1)) + [n]
    if len(dims) != J + 1:
        raise ValueError(f"inner_dims must have {J - 1} values; got {len(dims) - 2}.")
    if update_order not in ("right-to-left", "left-to-right"):
        raise ValueError(
            f"update_order must be 'right-to-left' or 'left-to-right'; got {update_order!r}."
        )
    order = list(range(J - 1, -1, -1)) if update_order == "right-to-left" else list(range(J))
    if init_factors is None:
        S = [np.eye(dims[j], dims[j + 1]) for j in range(J)]
        S[order[0]] = np.zeros((dims[order[0]], dims[order[0] + 1]))
    else:
        S = [np.array(f, dtype=np.float64) for f in init_factors]
        if len(S) != J or any(S[j].shape != (dims[j], dims[j + 1]) for j in range(J)):
            raise ValueError(
                "init_factors must match constraints in number and chain shapes "
                f"{[(dims[j], dims[j + 1]) for j in range(J)]}."
            )
        for j, f in enumerate(S):
            if not np.all(np.isfinite(f)):
                raise ValueError(f"init_factors[{j}] contains NaN or infinity.")
    for j, (kind, val) in enumerate(cons):
        if kind == "const":
            if not np.all(np.isfinite(val)):
                raise ValueError(f"constraints[{j}] ('const') contains NaN or infinity.")
            S[j] = val.copy()
    lam = check_finite_scalar(init_lambda, "init_lambda")
    xn = np.linalg.norm(X)
    errors = []
    converged = False
    it = 0
    for it in range(1, n_iter + 1):
        for j in order:
            if cons[j][0] == "const":
                continue
            L = _prod(S[:j], dims[0])
            R = _prod(S[j + 1:], dims[j + 1])
            c = (1.0 + 1e-3) * lam * lam * _spec2(L) * _spec2(R)
            if c <= 0:
                c = 1.0
            grad = lam * L.T @ (lam * (L @ S[j] @ R) - X) @ R.T
            S[j] = project(S[j] - grad / c, cons[j])
        Xh = _prod(S, dims[0])
        den = float(np.sum(Xh * Xh))
        lam = float(np.sum(X * Xh)) / den if den > 0 else 0.0
        errors.append(float(np.linalg.norm(X - lam * Xh) / xn) if xn > 0 else 0.0)
        if tol > 0 and it > 1 and abs(errors[-2] - errors[-1]) < tol * max(errors[-2], 1e-300):
            converged = True
            break
    return SolverResult(factors=S, lambda_=lam, error=np.asarray(errors), n_iter=it,
                        converged=converged or tol == 0, coef=lam * _prod(S, dims[0]))


def _power_spec2(M, v, tol=1e-6, max_iter=200):
    """Largest eigenvalue of the symmetric PSD ``M`` by power iterations from ``v``.

    Returns ``(value, v)``; ``v`` (updated) warm-starts the next call, so that a
    factor whose neighbours changed little costs a few products.
    """
    if M.size == 0:
        return 0.0, v
    val = 0.0
    for _ in range(max_iter):
        w = M @ v
        nrm = float(np.linalg.norm(w))
        if nrm == 0.0:
            return 0.0, np.ones_like(v) / np.sqrt(v.size)
        v = w / nrm
        if abs(nrm - val) <= tol * nrm:
            val = nrm
            break
        val = nrm
    return val, v


def _palm4msa_gram(CtC, CtX, x2, cons, factors, lam, n_iter, norms="auto"):
    r"""palm4MSA for :math:`\min \tfrac12\|X - \lambda C S_1 \cdots S_J\|_F^2` with the
    codes ``C`` fixed, through ``CtC = C'C`` and ``CtX = C'X`` only.

    The same iterates as :func:`palm4msa` on ``X`` with ``("const", C)`` as the
    leftmost factor (left-to-right order), at a cost free of the number of
    signals: with :math:`L = S_1 \cdots S_{j-1}` and :math:`R = S_{j+1} \cdots
    S_J`, the gradient is :math:`\lambda L^T(\lambda C'C L S_j R - C'X)R^T` and
    the Lipschitz constant :math:`1.001\lambda^2 \|L^T C'C L\|_2 \|R R^T\|_2`.
    Left products are extended as the sweep goes, right products are formed
    once per sweep (the factors on the right are not updated yet), and the
    spectral norms are exact (``eigvalsh``) for matrices up to 512 x 512 --
    the Lipschitz constants must not be underestimated -- and come from
    power iterations warm-started across sweeps above that (``norms="auto"``;
    ``"exact"`` or ``"power"`` force one).  ``C'C``'s norm is computed once.  Returns
    ``(factors, lam, errors)`` with the relative errors
    :math:`\|X - \lambda C P\|_F / \|X\|_F` after each sweep.
    """
    S = [np.array(f, dtype=np.float64) for f in factors]
    J = len(S)
    K = CtC.shape[0]
    vl = [np.ones(f.shape[0]) / np.sqrt(f.shape[0]) for f in S]
    vr = [np.ones(f.shape[1]) / np.sqrt(f.shape[1]) for f in S]

    def spec(M, vs, j):
        if M.size == 0:
            return 0.0
        if norms == "exact" or (norms == "auto" and M.shape[0] <= 512):
            return float(np.linalg.eigvalsh(0.5 * (M + M.T))[-1])
        val, vs[j] = _power_spec2(M, vs[j])
        return (1.0 + 1e-3) * val  # power iterations approach the norm from below

    ctc_norm = spec(CtC, [np.ones(K) / np.sqrt(K)], 0)

    errors = []
    xn2 = max(x2, 1e-300)
    for _ in range(n_iter):
        Rs = [None] * J
        acc = np.eye(S[-1].shape[1])
        for j in range(J - 1, -1, -1):
            Rs[j] = acc
            acc = S[j] @ acc
        Lp = np.eye(K)
        GL = CtC  # C'C L
        for j in range(J):
            R = Rs[j]
            if cons[j][0] != "const":
                lnorm = ctc_norm if j == 0 else spec(Lp.T @ GL, vl, j)
                rnorm = spec(R @ R.T, vr, j)
                c = (1.0 + 1e-3) * lam * lam * lnorm * rnorm
                if c <= 0:
                    c = 1.0
                grad = lam * Lp.T @ (lam * (GL @ (S[j] @ R)) - CtX) @ R.T
                S[j] = project(S[j] - grad / c, cons[j])
            Lp = Lp @ S[j]
            GL = CtC @ Lp
        P = Lp  # S_1 ... S_J
        cross = float(np.sum(CtX * P))
        den = float(np.sum(P * (CtC @ P)))
        lam = cross / den if den > 0 else 0.0
        err2 = max(x2 - 2.0 * lam * cross + lam * lam * den, 0.0)
        errors.append(float(np.sqrt(err2 / xn2)) if x2 > 0 else 0.0)
    return S, lam, errors


def hierarchical_factorization(X, factor_constraints, residual_constraints, *, n_iter_split=30,
                               n_iter_global=30, update_order="left-to-right"):
    r"""Hierarchical factorisation of a matrix into sparse factors (FAuST).

    Peels sparse factors from the right one at a time: the current residual
    is split into (residual, sparse factor) by a two-factor palm4MSA, then
    all factors found so far are refitted to ``X`` by a global palm4MSA.

    Parameters
    ----------
    X : array-like of shape (m, n)
        Matrix to factorise.
    factor_constraints : list of tuple
        Constraints of the ``J - 1`` factors peeled off, rightmost first.
    residual_constraints : list of tuple
        Constraints of the residual at each level (``J - 1`` entries); the
        last residual becomes the leftmost factor.
    n_iter_split, n_iter_global : int, default=30
        palm4MSA sweeps of the split and of the global refit.
    update_order : {"left-to-right", "right-to-left"}, default="left-to-right"
        Factor update order of palm4MSA.

    Returns
    -------
    result : SolverResult
        ``factors`` (list of scipy.sparse CSR matrices, left to right),
        ``lambda_``, ``error`` (relative Frobenius error),
        ``relative_complexity`` (total non-zeros / (m n)), ``coef``.

    See Also
    --------
    palm4msa : the building block.

    Notes
    -----
    With :math:`T_0 = X`, level :math:`l` solves
    :math:`T_{l-1} \approx \lambda' F_2 F_1` with :math:`F_1 \in E_l`,
    :math:`F_2 \in \tilde E_l`, then :math:`X \approx \lambda F_2 S_l \cdots
    S_1` from the current factors, and :math:`T_l = F_2`.  The Hadamard
    matrix of size :math:`2^M` is recovered exactly with ``splincol(2)``
    factors and ``splincol(n/2^l)`` residuals (relative complexity
    :math:`2M/n`).

    References
    ----------
    .. [1] L. Le Magoarou and R. Gribonval, "Flexible multilayer sparse
       approximations of matrices and applications", IEEE JSTSP 10(4), 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.linalg import hadamard
    >>> from sparsecode import hierarchical_factorization
    >>> H = hadamard(8).astype(float)
    >>> res = hierarchical_factorization(H, [("splincol", 2)] * 2,
    ...                                  [("splincol", 4), ("splincol", 2)])
    >>> bool(res.error < 1e-8), sum(f.nnz for f in res.factors)
    (True, 48)
    """
    X = check_matrix(X, "X", dtype=np.float64)
    if len(factor_constraints) != len(residual_constraints) or not factor_constraints:
        raise ValueError(
            "factor_constraints and residual_constraints must be non-empty and of the same "
            f"length; got {len(factor_constraints)} and {len(residual_constraints)}."
        )
    m, n = X.shape
    T = X
    right = []  # S_l ... S_1, left to right
    lam = 1.0
    for l, (fc, rc) in enumerate(zip(factor_constraints, residual_constraints)):
        split = palm4msa(T, [rc, fc], n_iter=n_iter_split, update_order=update_order,
                         inner_dims=[m])
        F2, F1 = split.factors
        glob = palm4msa(X, [rc, fc] + [c for c in reversed(factor_constraints[:l])],
                        n_iter=n_iter_global, init_factors=[F2, F1] + right,
                        init_lambda=lam * split.lambda_, update_order=update_order,
                        inner_dims=[m] * (l + 1))
        lam = glob.lambda_
        T = glob.factors[0]
        right = glob.factors[1:]
    factors = [T] + right
    Xh = lam * _prod(factors, m)
    err = float(np.linalg.norm(X - Xh) / max(np.linalg.norm(X), 1e-300))
    sparse_factors = [sp.csr_matrix(f) for f in factors]
    nnz = sum(f.nnz for f in sparse_factors)
    return SolverResult(factors=sparse_factors, lambda_=lam, error=err,
                        relative_complexity=nnz / float(m * n), coef=Xh, n_iter=len(factors),
                        converged=True)


# ---------------------------------------------------------------------------
# the estimator
# ---------------------------------------------------------------------------
class FastTransformDictionary(_BaseDictionaryLearner):
    r"""Dictionary learning with the dictionary constrained to a product of sparse factors.

    ``components_ = diag(scale_) @ F_1 @ F_2 @ ... @ F_J`` with sparse
    factors, so that the dictionary and its transpose are applied at a cost
    proportional to the total number of non-zeros (a "fast transform").
    Learning alternates Batch-OMP coding with palm4MSA sweeps on the
    factors, the codes entering as a fixed leftmost factor.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms (``n_features`` when None).
    n_nonzero_coefs : int, default=None
        Atoms per signal while learning (10% of ``n_features`` when None).
    constraints : list of tuple, default=None
        Constraint of each factor, left to right (see :func:`palm4msa`);
        ``F_1`` is (n_components, n_features) and the others
        (n_features, n_features).  Default:
        ``[("splin", 4), ("splincol", 4), ("splincol", 4)]``.
    max_iter : int, default=10
        Outer iterations (coding + factor update).
    n_iter_palm : int, default=20
        palm4MSA sweeps per outer iteration (50 for the initial fit of the
        factors to ``init``).
    tol : float, default=1e-4
        Stop when the relative decrease of the error is below ``tol``.
    init : {"data", "random", "odct"} or ndarray, default="data"
        Dense dictionary the factors are first fitted to.
    transform_algorithm : str, default="omp"
        Encoder of ``transform`` (on the dense ``components_``).
    transform_n_nonzero_coefs : int, default=None
        Sparsity of ``transform``.
    transform_alpha : float, default=None
        Penalty of penalised encoders in ``transform``.
    transform_params : dict, default=None
        Further parameters of the encoder in ``transform``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial dictionary.
    n_jobs : int, default=None
        Threads of the coding kernels.
    verbose : int or bool, default=0
        Print the error after each iteration.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The dense dictionary (unit-norm rows) equal to the factorised one.
    factors_ : list of scipy.sparse.csr_matrix
        ``F_1, ..., F_J``, left to right.
    scale_ : ndarray of shape (n_components,)
        Row scaling that makes the atoms unit-norm.
    relative_complexity_ : float
        Total non-zeros of the factors over ``n_components * n_features``
        (the cost of applying the factorised dictionary relative to the
        dense one).
    n_components_ : int
        Number of atoms.
    n_nonzero_coefs_ : int
        Sparsity used while learning.
    n_iter_ : int
        Outer iterations run.
    error_ : ndarray of shape (n_iter_,)
        Relative error ``||X - code @ components_||_F / ||X||_F``.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    palm4msa : the factor update.
    hierarchical_factorization : factorising a given matrix.
    KSVD : dense dictionaries.

    Notes
    -----
    The problem is

    .. math::
        \min_{C, \lambda, F_j} \|X - \lambda\, C F_1 \cdots F_J\|_F^2
        \quad\text{s.t. } \|c_i\|_0 \le T_0,\ F_j \in E_j,

    solved by alternating OMP on the codes (the dense dictionary rescaled
    to unit atoms) with palm4MSA on :math:`(\lambda, F_j)` where :math:`C`
    is a constant factor.  Applying the dictionary costs
    :math:`O(\sum_j \|F_j\|_0 + K)` per signal instead of :math:`O(nK)`.

    References
    ----------
    .. [1] L. Le Magoarou and R. Gribonval, "Learning computationally
       efficient dictionaries and their implementation as fast transforms",
       arXiv:1406.5388, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import FastTransformDictionary
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 16))
    >>> est = FastTransformDictionary(32, n_nonzero_coefs=3, max_iter=2, random_state=0)
    >>> est = est.fit(X)
    >>> code = est.transform(X)
    >>> np.allclose(est.apply(code), code @ est.components_)
    True
    >>> bool(est.relative_complexity_ < 1)
    True
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "constraints": [list, None],
        "n_iter_palm": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, constraints=None,
                 max_iter=10, n_iter_palm=20, tol=1e-4, init="data",
                 transform_algorithm="omp", transform_n_nonzero_coefs=None,
                 transform_alpha=None, transform_params=None, random_state=None, n_jobs=None,
                 verbose=0):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.constraints = constraints
        self.max_iter = max_iter
        self.n_iter_palm = n_iter_palm
        self.tol = tol
        self.init = init
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    fixed_atoms = None

    def fit(self, X, y=None):
        """Learn the factorised dictionary from the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals.
        y : Ignored
            Not used, present for API consistency.

        Returns
        -------
        self : object
            The fitted learner.
        """
        self._check_params()
        Xw, _, dtype = _validate_X_mask(self, X, None, reset=True)
        # scale-equivariant: learn on X / 2**e (exact, unit peak) so that no
        # squared norm over- or underflows; the atoms are unit-norm
        Xw = np.ldexp(Xw, -_pow2_exponent(Xw))
        N, n = Xw.shape
        self.n_components_, self.n_nonzero_coefs_ = self._resolve_sizes(N, n)
        K = self.n_components_
        cons = self.constraints
        if cons is None:
            cons = [("splin", 4), ("splincol", 4), ("splincol", 4)]
        cons = [_check_constraint(tuple(c) if isinstance(c, list) else c, "constraints")
                for c in cons]
        if not cons:
            raise ValueError("constraints must list at least one factor.")
        rng = _rng(self.random_state)
        with blas_limited(effective_n_jobs(self.n_jobs)):
            D0, _ = self._start(Xw, rng)
            inner = [n] * (len(cons) - 1)
            res = palm4msa(D0, cons, n_iter=max(50, self.n_iter_palm), inner_dims=inner)
            factors, lam = res.factors, res.lambda_
            x2 = float(np.sum(Xw * Xw))
            history = []
            f_prev = np.inf
            converged = False
            decrease = np.inf
            for it in range(1, self.max_iter + 1):
                D = lam * _prod(factors, K)
                Dn, nrm = _normalize_rows(D)
                C = _omp_codes(Xw, Dn, self.n_nonzero_coefs_, self.n_jobs)
                Cs = C / np.where(nrm > 0, nrm, 1.0)  # codes of the unnormalised D
                # the dictionary step never touches the N x K codes again: C'C, C'X
                CtC = Cs.T @ Cs
                CtX = Cs.T @ Xw
                factors, lam, errs = _palm4msa_gram(CtC, CtX, x2, cons, factors, lam,
                                                    self.n_iter_palm)
                f = float(errs[-1])
                history.append(f)
                self._report(it, f)
                decrease = (f_prev - f) / f_prev if np.isfinite(f_prev) and f_prev > 0 else np.inf
                f_prev = f
                if f <= 1e-12 or decrease < self.tol:
                    converged = True
                    break
        if not converged:
            _warn_budget(self, decrease, self.tol)
        D = lam * _prod(factors, K)
        nrm = np.linalg.norm(D, axis=1)
        nrm = np.where(nrm > 0, nrm, 1.0)
        self.factors_ = [sp.csr_matrix(f) for f in factors]
        self.scale_ = lam / nrm
        self.relative_complexity_ = sum(f.nnz for f in self.factors_) / float(K * n)
        self.n_iter_ = it
        self.error_ = np.asarray(history)
        self.reconstruction_err_ = history[-1]
        self.components_ = (D / nrm[:, None]).astype(dtype, copy=False)
        return self

    def apply(self, code):
        """``code @ components_`` through the sparse factors.

        Parameters
        ----------
        code : array-like of shape (n_samples, n_components)
            Codes.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            The signals, at cost O(total non-zeros) per signal.
        """
        code = check_matrix(code, "code")
        out = code * self.scale_
        for f in self.factors_:
            out = (f.T @ out.T).T
        return np.asarray(out, dtype=code.dtype)

    def apply_transpose(self, X):
        """``X @ components_.T`` through the sparse factors.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Signals.

        Returns
        -------
        corr : ndarray of shape (n_samples, n_components)
            Correlations with the atoms.
        """
        X = check_matrix(X, "X")
        out = X
        for f in reversed(self.factors_):
            out = (f @ out.T).T
        return np.asarray(out * self.scale_, dtype=X.dtype)
