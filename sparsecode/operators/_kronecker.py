"""Kronecker-product operator ``A_1 ⊗ A_2 ⊗ ... ⊗ A_d``, never formed.

Separable sensing (multi-dimensional signals, MIMO channels, the Kronecker
SBL of He & Joseph 2024, spec Section 5.6) uses dictionaries that are
Kronecker products of small factors.  With ``x`` reshaped (C order) to a
tensor ``X`` of shape ``(n_1, ..., n_d)``,

    (A_1 ⊗ ... ⊗ A_d) vec(X) = vec(X ×_1 A_1 ×_2 A_2 ... ×_d A_d),

i.e. factor ``A_i`` is applied along axis ``i`` (the ``d = 2`` case is
``A_1 X A_2^T``).  The cost is ``sum_i m_1..m_i n_i..n_d`` multiply-adds
instead of ``prod m_i * prod n_i`` for the dense product.
"""

import functools

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from .._validation import check_operator

__all__ = ["KroneckerOperator"]


def _apply_along_axis0(F, M):
    """``F @ M`` for a dense, sparse or LinearOperator factor, M 2-D."""
    if isinstance(F, LinearOperator):
        return F.matmat(M)
    return F @ M


def _adjoint_factor(F):
    if isinstance(F, LinearOperator):
        return F.H
    if sp.issparse(F):
        return F.conj().T.tocsr()
    return F.conj().T


def _dense(F):
    if isinstance(F, LinearOperator):
        if hasattr(F, "toarray"):
            return np.asarray(F.toarray())
        return np.asarray(F.matmat(np.eye(F.shape[1], dtype=F.dtype)))
    if sp.issparse(F):
        return F.toarray()
    return np.asarray(F)


class KroneckerOperator(LinearOperator):
    r"""Matrix-free Kronecker product of factor matrices, ``A_1 ⊗ A_2 ⊗ ⋯ ⊗ A_d``.

    Products are computed by applying each factor along one axis of the
    reshaped input (tensor contractions); the ``prod(m_i) x prod(n_i)``
    matrix is never formed.

    Parameters
    ----------
    factors : sequence of array-like, sparse matrix or LinearOperator
        The factors ``A_i`` of shapes ``(m_i, n_i)``, outermost first (same
        order as ``np.kron(A_1, np.kron(A_2, ...))``).  Real or complex.
        Arrays are validated (finite) and not copied when already suitable.

    Attributes
    ----------
    factors : list
        The validated factors.
    in_shape : tuple of int
        ``(n_1, ..., n_d)``: the tensor shape of an input vector (C order).
    out_shape : tuple of int
        ``(m_1, ..., m_d)``: the tensor shape of an output vector.
    shape : tuple
        ``(prod(m_i), prod(n_i))``.
    dtype : numpy.dtype
        Result dtype of the factors.

    See Also
    --------
    PartialDCT : Matrix-free partial transform.
    operator_norm : For this operator, the product of the factor norms.

    Notes
    -----
    With ``x = vec(X)`` (C order) and ``X`` of shape ``(n_1, ..., n_d)``,
    ``y = (A_1 ⊗ ... ⊗ A_d) x`` is ``vec(Y)`` with

    .. math::

        Y_{i_1 \dots i_d} = \sum_{j_1, \dots, j_d}
        (A_1)_{i_1 j_1} \cdots (A_d)_{i_d j_d} X_{j_1 \dots j_d},

    evaluated one axis at a time.  The adjoint is the Kronecker product of
    the adjoints, ``(A_1 ⊗ ... ⊗ A_d)^H = A_1^H ⊗ ... ⊗ A_d^H``, and the
    spectral norm is the product of the factors' spectral norms.
    ``matmat`` treats the right-hand sides as one extra trailing axis.

    References
    ----------
    .. [1] C. F. Van Loan, "The ubiquitous Kronecker product", J. Comput.
       Appl. Math. 123, 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import KroneckerOperator
    >>> rng = np.random.default_rng(0)
    >>> A1, A2 = rng.standard_normal((3, 4)), rng.standard_normal((2, 5))
    >>> K = KroneckerOperator([A1, A2])
    >>> K.shape
    (6, 20)
    >>> x = rng.standard_normal(20)
    >>> np.allclose(K @ x, np.kron(A1, A2) @ x)
    True
    >>> np.allclose(K @ x, (A1 @ x.reshape(4, 5) @ A2.T).ravel())
    True
    """

    def __init__(self, factors):
        if isinstance(factors, (np.ndarray, LinearOperator)) or sp.issparse(factors):
            raise TypeError(
                "factors of KroneckerOperator must be a sequence of matrices "
                "(e.g. [A1, A2]); got a single matrix."
            )
        try:
            factors = list(factors)
        except TypeError:
            raise TypeError(
                f"factors of KroneckerOperator must be a sequence of matrices; "
                f"got {type(factors).__name__}."
            ) from None
        if not factors:
            raise ValueError("factors of KroneckerOperator must contain at least one matrix.")
        checked = []
        for i, F in enumerate(factors):
            name = f"factors[{i}]"
            if sp.issparse(F):
                # check_operator refuses complex sparse input; check by hand.
                if F.ndim != 2 or min(F.shape) < 1:
                    raise ValueError(f"{name} must be a non-empty 2-D matrix; got shape {F.shape}.")
                F = F.tocsr()
                if not np.all(np.isfinite(F.data)):
                    raise ValueError(f"Input {name} contains NaN or infinity.")
            else:
                F = check_operator(F, name=name, allow_complex=True)
            checked.append(F)
        self.factors = checked
        self.in_shape = tuple(int(F.shape[1]) for F in checked)
        self.out_shape = tuple(int(F.shape[0]) for F in checked)
        dtype = np.result_type(*[np.dtype(F.dtype) for F in checked])
        if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.complexfloating)):
            dtype = np.dtype(np.float64)
        shape = (int(np.prod(self.out_shape)), int(np.prod(self.in_shape)))
        super().__init__(dtype=dtype, shape=shape)

    def _apply(self, factors, X, in_shape):
        # X: (N, k) -> tensor (n_1, ..., n_d, k); factor i acts on axis i.
        k = X.shape[1]
        T = X.reshape(in_shape + (k,))
        for i, F in enumerate(factors):
            T = np.moveaxis(T, i, 0)
            rest = T.shape[1:]
            M = _apply_along_axis0(F, T.reshape(T.shape[0], -1))
            M = np.asarray(M)
            T = np.moveaxis(M.reshape((M.shape[0],) + rest), 0, i)
        return np.ascontiguousarray(T).reshape(-1, k)

    def _matmat(self, X):
        return self._apply(self.factors, np.asarray(X), self.in_shape)

    def _rmatmat(self, Y):
        adj = [_adjoint_factor(F) for F in self.factors]
        return self._apply(adj, np.asarray(Y), self.out_shape)

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1, 1))[:, 0]

    def _rmatvec(self, y):
        return self._rmatmat(np.asarray(y).reshape(-1, 1))[:, 0]

    def _adjoint(self):
        return KroneckerOperator([_adjoint_factor(F) for F in self.factors])

    def _transpose(self):
        return KroneckerOperator([F.T for F in self.factors])

    def toarray(self):
        """Return the dense Kronecker product (for tests and small sizes).

        Returns
        -------
        A : ndarray of shape (prod(m_i), prod(n_i))
        """
        return functools.reduce(np.kron, [_dense(F) for F in self.factors])

    def __repr__(self):
        dims = " ⊗ ".join(f"{m}x{n}" for m, n in zip(self.out_shape, self.in_shape))
        return (
            f"<{self.shape[0]}x{self.shape[1]} KroneckerOperator ({dims}) "
            f"with dtype={np.dtype(self.dtype).name}>"
        )
