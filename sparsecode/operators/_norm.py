"""Spectral norm by power iteration, and conversion of matrices to operators.

Step sizes of gradient-type solvers (IHT, ISTA/FISTA, PDHG, SPIRAL-TAP)
need the Lipschitz constant ``||A||_2^2``.  For an explicit matrix or a
generic :class:`~scipy.sparse.linalg.LinearOperator` we run Lanczos (ARPACK)
or the power iteration of spec Section 0.2 item 7 on ``A^H A``, through
products only; structured operators
take exact shortcuts (partial orthonormal transforms: ``scale``; Kronecker
products: the product of the factor norms).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import (
    ArpackError,
    ArpackNoConvergence,
    LinearOperator,
    aslinearoperator,
    eigsh,
)

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


def _check_params(n_iter, tol, method):
    if isinstance(n_iter, (bool, np.bool_)) or not isinstance(n_iter, numbers.Integral) \
            or n_iter < 1:
        raise ValueError(f"n_iter of operator_norm must be an int >= 1; got {n_iter!r}.")
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) \
            or not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol of operator_norm must be a finite float >= 0; got {tol!r}.")
    if method not in ("lanczos", "power"):
        raise ValueError(
            f"method of operator_norm must be 'lanczos' or 'power'; got {method!r}."
        )


# Lanczos basis size; below this dimension the Gram matrix is formed explicitly.
_NCV = 20


def operator_norm(A, n_iter=100, tol=1e-6, random_state=0, *, method="lanczos"):
    r"""Spectral norm ``||A||_2`` (largest singular value), matrix-free.

    Parameters
    ----------
    A : array-like, sparse matrix or LinearOperator of shape (m, n)
        Real or complex.
    n_iter : int, default=100
        Iteration budget: the number of power iterations (each one product
        with ``A`` and one with ``A^H``) for ``method="power"``; the number
        of restarts of the implicitly restarted Lanczos method (each at most
        20 such products) for ``method="lanczos"``.
    tol : float, default=1e-6
        Relative accuracy asked for ``||A||_2^2``: the relative change
        between two power iterations, or ARPACK's Ritz-value tolerance.
    random_state : int, Generator or None, default=0
        Seed of the random start vector (fixed by default so that results,
        and the step sizes derived from them, are reproducible).
    method : {"lanczos", "power"}, default="lanczos"
        ``"power"`` is the plain power iteration of spec Section 0.2 item 7;
        ``"lanczos"`` runs ARPACK's Lanczos on the same Gram operator, which
        converges in a few dozen products even when ``sigma_2 / sigma_1`` is
        close to 1 (Gaussian matrices), where the power iteration stalls.

    Returns
    -------
    norm : float
        The estimate of ``||A||_2``.  Exact (no iteration) for
        :class:`PartialDCT` and :class:`PartialFFT` (``scale``) and their
        adjoints; for :class:`KroneckerOperator` the product of the factor
        norms; from the explicit Gram matrix when ``min(m, n) <= 21``.

    Warns
    -----
    ConvergenceWarning
        If the tolerance is not reached within ``n_iter`` (the estimate is
        then a lower bound that may be a little small: scale step sizes with
        a safety factor).

    See Also
    --------
    as_operator : Wraps arrays and sparse matrices as operators.
    PartialDCT : Partial orthonormal transform, whose norm is known.

    Notes
    -----
    Both methods work on ``B = A^H A`` (or ``A A^H`` when ``m < n``: shorter
    vectors, same largest eigenvalue ``sigma_1^2``) through products only.
    The power iteration is ``w_t = B v_{t-1}``, ``lambda_t = ||w_t||_2``,
    ``v_t = w_t / lambda_t`` from a Gaussian unit vector ``v_0``; ``lambda_t``
    increases to ``sigma_1^2`` at the rate ``(sigma_2 / sigma_1)^{2t}``.
    Lanczos (ARPACK ``eigsh``, 20 basis vectors, same start vector) has the
    faster rate governed by the square root of the relative gap.  For a
    500 x 2000 Gaussian matrix, 100 power iterations are still 0.2 % low,
    while Lanczos is exact to 1e-12 after 61 products.

    References
    ----------
    .. [1] G. H. Golub and C. F. Van Loan, "Matrix Computations", 4th ed.,
       Sections 8.2.1 (power method) and 10.1 (Lanczos), 2013.
    .. [2] R. B. Lehoucq, D. C. Sorensen and C. Yang, "ARPACK Users' Guide",
       SIAM, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import operator_norm, PartialDCT
    >>> A = np.diag([3.0, 1.0, 0.5])
    >>> round(operator_norm(A), 6)
    3.0
    >>> B = np.random.default_rng(0).standard_normal((100, 300))
    >>> bool(np.isclose(operator_norm(B), np.linalg.norm(B, 2), rtol=1e-6))
    True
    >>> operator_norm(PartialDCT(64, 16, scale=2.0, random_state=0))
    2.0
    """
    _check_params(n_iter, tol, method)
    if isinstance(A, (PartialDCT, PartialFFT, _TransposedPartial)):
        return float(A.scale)
    if isinstance(A, KroneckerOperator):
        out = 1.0
        for F in A.factors:
            out *= operator_norm(F, n_iter=n_iter, tol=tol, random_state=random_state,
                                 method=method)
        return float(out)
    op = as_operator(A)
    m, n = op.shape
    if m < n:
        fwd, bwd, dim = op.rmatvec, op.matvec, m   # B = A A^H
    else:
        fwd, bwd, dim = op.matvec, op.rmatvec, n   # B = A^H A
    is_complex = np.issubdtype(np.dtype(op.dtype), np.complexfloating)
    work = np.complex128 if is_complex else np.float64

    def gram(v):
        return np.asarray(bwd(fwd(np.asarray(v, dtype=work).reshape(-1)))).reshape(-1)

    if dim <= _NCV + 1:
        # Small side: form B from dim products and take its top eigenvalue.
        B = np.column_stack([gram(e) for e in np.eye(dim, dtype=work)])
        lam = float(np.linalg.eigvalsh((B + B.conj().T) / 2)[-1])
        return float(np.sqrt(max(lam, 0.0)))
    rng = np.random.default_rng(random_state)
    v0 = rng.standard_normal(dim)
    if is_complex:
        v0 = v0 + 1j * rng.standard_normal(dim)
    if method == "lanczos":
        return _lanczos(gram, dim, work, v0, n_iter, tol)
    return _power(gram, v0 / np.linalg.norm(v0), n_iter, tol)


def _lanczos(gram, dim, work, v0, n_iter, tol):
    B = LinearOperator((dim, dim), matvec=gram, dtype=work)
    try:
        lam = eigsh(B, k=1, which="LA", v0=v0, ncv=_NCV, maxiter=n_iter, tol=tol,
                    return_eigenvectors=False)[0]
    except ArpackNoConvergence as exc:
        found = np.asarray(exc.eigenvalues).real
        lam = float(found.max()) if found.size else np.nan
        if not np.isfinite(lam):
            # nothing usable: a short power iteration gives a valid lower bound
            return _power(gram, v0 / np.linalg.norm(v0), 30, tol, warn=False,
                          warn_lanczos=(n_iter, tol))
        warn_not_converged("operator_norm (Lanczos)", 1, 1, "Ritz value", np.sqrt(lam), tol,
                           hint="Increase n_iter; the estimate is a lower bound.")
    except ArpackError:
        # e.g. B v0 = 0 (A = 0 or v0 in the null space): the power iteration
        # handles these cases (it returns 0 for the zero operator).
        return _power(gram, v0 / np.linalg.norm(v0), n_iter, tol)
    return float(np.sqrt(max(float(np.real(lam)), 0.0)))


def _power(gram, v, n_iter, tol, warn=True, warn_lanczos=None):
    lam = 0.0
    change = np.inf
    for _ in range(n_iter):
        w = gram(v)
        lam_new = float(np.linalg.norm(w))
        if lam_new == 0.0:
            # v lies in the null space: with a Gaussian start this means A = 0.
            return 0.0
        change = abs(lam_new - lam) / lam_new
        lam = lam_new
        v = w / lam
        if change <= tol:
            break
    if warn_lanczos is not None:
        warn_not_converged("operator_norm (Lanczos)", 1, 1, "power-iteration estimate",
                           np.sqrt(lam), warn_lanczos[1],
                           hint="Increase n_iter; the estimate is a lower bound.")
    elif warn and change > tol:
        warn_not_converged("operator_norm", 1, 1, "relative change", change, tol,
                           hint="Increase n_iter; the estimate is a lower bound.")
    return float(np.sqrt(lam))
