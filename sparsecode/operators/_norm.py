"""Spectral norm by power iteration, and conversion of matrices to operators.

Step sizes of gradient-type solvers (IHT, ISTA/FISTA, PDHG, SPIRAL-TAP)
need the Lipschitz constant ``||A||_2^2``.  For an explicit matrix or a
generic :class:`~scipy.sparse.linalg.LinearOperator` we run the power
iteration of spec Section 0.2 item 7 on ``A^H A``; structured operators
take exact shortcuts (partial orthonormal transforms: ``scale``; Kronecker
products: the product of the factor norms).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator, aslinearoperator

from .._base import warn_not_converged
from .._validation import check_operator
from ._kronecker import KroneckerOperator
from ._transforms import PartialDCT, PartialFFT, _TransposedPartial

__all__ = ["operator_norm", "as_operator"]


def as_operator(A, name="A"):
    """Return ``A`` as a :class:`~scipy.sparse.linalg.LinearOperator`.

    Dense arrays and scipy.sparse matrices are validated (2-D, non-empty,
    finite, numeric) and wrapped without copying; a ``LinearOperator`` is
    returned unchanged after a shape check.

    Parameters
    ----------
    A : array-like, sparse matrix or LinearOperator of shape (m, n)
        The matrix or operator.
    name : str, default="A"
        Name used in error messages.

    Returns
    -------
    op : LinearOperator of shape (m, n)
        Supports ``matvec``, ``rmatvec``, ``matmat``, ``rmatmat`` and ``.H``.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, is empty or holds NaN/inf.

    See Also
    --------
    operator_norm : Spectral norm of the same kinds of input.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import as_operator
    >>> op = as_operator(np.array([[1.0, 2.0], [3.0, 4.0]]))
    >>> op.matvec(np.array([1.0, 1.0]))
    array([3., 7.])
    >>> op.rmatvec(np.array([1.0, 0.0]))
    array([1., 2.])
    """
    if isinstance(A, LinearOperator):
        return check_operator(A, name)
    if sp.issparse(A):
        if A.ndim != 2 or min(A.shape) < 1:
            raise ValueError(f"{name} must be a non-empty 2-D matrix; got shape {A.shape}.")
        if not np.all(np.isfinite(A.data)):
            raise ValueError(f"Input {name} contains NaN or infinity.")
        return aslinearoperator(A)
    return aslinearoperator(check_operator(A, name))


def _check_params(n_iter, tol):
    if isinstance(n_iter, (bool, np.bool_)) or not isinstance(n_iter, numbers.Integral) \
            or n_iter < 1:
        raise ValueError(f"n_iter of operator_norm must be an int >= 1; got {n_iter!r}.")
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) \
            or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol of operator_norm must be a finite float >= 0; got {tol!r}.")


def operator_norm(A, n_iter=100, tol=1e-6, random_state=0):
    r"""Spectral norm ``||A||_2`` (largest singular value) by power iteration.

    Parameters
    ----------
    A : array-like, sparse matrix or LinearOperator of shape (m, n)
        Real or complex.
    n_iter : int, default=100
        Maximum number of power iterations (each costs one product with
        ``A`` and one with ``A^H``).
    tol : float, default=1e-6
        Stop when the relative change of the estimate of ``||A||_2^2``
        between two iterations is at most ``tol``.
    random_state : int, Generator or None, default=0
        Seed of the random start vector (fixed by default so that results,
        and the step sizes derived from them, are reproducible).

    Returns
    -------
    norm : float
        The estimate of ``||A||_2``.  Exact (no iteration) for
        :class:`PartialDCT` and :class:`PartialFFT` (``scale``) and their
        adjoints; for :class:`KroneckerOperator` the product of the factor
        norms.

    Warns
    -----
    ConvergenceWarning
        If the relative change is still above ``tol`` after ``n_iter``
        iterations (the estimate is then a lower bound that may be a little
        small: scale step sizes with a safety factor).

    See Also
    --------
    as_operator : Wraps arrays and sparse matrices as operators.
    PartialDCT : Partial orthonormal transform, whose norm is known.

    Notes
    -----
    The iteration is ``w_t = A^H A v_{t-1}``, ``lambda_t = ||w_t||_2``,
    ``v_t = w_t / lambda_t`` from a Gaussian start ``v_0`` with unit norm;
    ``lambda_t`` increases to ``sigma_1^2`` at the rate
    ``(sigma_2 / sigma_1)^{2t}`` (spec Section 0.2, item 7).  The returned
    value is ``sqrt(lambda_t)``.  For ``m < n`` the same iteration is run on
    ``A A^H`` (shorter vectors, same eigenvalue).

    References
    ----------
    .. [1] G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed.,
       Section 8.2.1 (the power method), 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import operator_norm, PartialDCT
    >>> A = np.diag([3.0, 1.0, 0.5])
    >>> round(operator_norm(A), 6)
    3.0
    >>> operator_norm(PartialDCT(64, 16, scale=2.0, random_state=0))
    2.0
    """
    _check_params(n_iter, tol)
    if isinstance(A, (PartialDCT, PartialFFT, _TransposedPartial)):
        return float(A.scale)
    if isinstance(A, KroneckerOperator):
        out = 1.0
        for F in A.factors:
            out *= operator_norm(F, n_iter=n_iter, tol=tol, random_state=random_state)
        return float(out)
    op = as_operator(A)
    m, n = op.shape
    if m < n:
        fwd, bwd, dim = op.rmatvec, op.matvec, m   # iterate on A A^H
    else:
        fwd, bwd, dim = op.matvec, op.rmatvec, n   # iterate on A^H A
    rng = np.random.default_rng(random_state)
    is_complex = np.issubdtype(np.dtype(op.dtype), np.complexfloating)
    v = rng.standard_normal(dim)
    if is_complex:
        v = v + 1j * rng.standard_normal(dim)
    v /= np.linalg.norm(v)
    lam = 0.0
    change = np.inf
    for _ in range(n_iter):
        w = np.asarray(bwd(fwd(v))).reshape(-1)
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            # v lies in the null space: with a Gaussian start this means A = 0.
            return 0.0
        change = abs(lam_new - lam) / lam_new
        lam = lam_new
        v = w / lam
        if change <= tol:
            break
    else:
        if change > tol:
            warn_not_converged("operator_norm", 1, 1, "relative change", change, tol,
                               hint="Increase n_iter; the estimate is a lower bound.")
    return float(np.sqrt(lam))
