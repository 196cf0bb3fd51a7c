"""Matrix-free partial orthonormal transforms: partial DCT-II and partial DFT.

A *partial* transform keeps ``m`` selected rows of an ``n x n`` orthonormal
(unitary) transform ``F``: ``A = scale * F[rows, :]``.  Products with ``A``
and its adjoint cost ``O(n log n)`` through :mod:`scipy.fft` and never form
the ``m x n`` matrix, which is how compressed-sensing experiments with
``n = 2^16`` or more stay within memory (Candès, Romberg & Tao 2006; Donoho
& Tanner 2009 use partial Fourier/DCT ensembles).

Because the rows of ``F`` are orthonormal, ``A A^H = scale^2 I_m`` and
``||A||_2 = |scale|`` exactly; :func:`sparsecode.operators.operator_norm` uses
this instead of a power iteration.
"""

import numbers

import numpy as np
import scipy.fft as sfft
from scipy.sparse.linalg import LinearOperator

__all__ = ["PartialDCT", "PartialFFT"]


def _check_int(value, name, low):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int; got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be >= {low}; got {value!r}.")
    return int(value)


def _check_rows(n, rows, random_state, owner):
    """Resolve ``rows`` (indices, boolean mask or a count) to an int array."""
    if isinstance(rows, numbers.Integral) and not isinstance(rows, (bool, np.bool_)):
        m = int(rows)
        if not 1 <= m <= n:
            raise ValueError(
                f"rows of {owner}, given as a number of rows, must be in [1, n={n}]; got {m}."
            )
        rng = np.random.default_rng(random_state)
        return np.sort(rng.choice(n, size=m, replace=False)).astype(np.intp)
    arr = np.asarray(rows)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise ValueError(
                f"rows of {owner}, given as a boolean mask, must have shape ({n},); "
                f"got {arr.shape}."
            )
        arr = np.flatnonzero(arr)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"rows of {owner} must be a non-empty 1-D array of row indices; got shape {arr.shape}."
        )
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"rows of {owner} must hold integers; got dtype {arr.dtype}.")
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(
            f"rows of {owner} must lie in [0, n-1] = [0, {n - 1}]; "
            f"got values in [{arr.min()}, {arr.max()}]."
        )
    if np.unique(arr).size != arr.size:
        raise ValueError(f"rows of {owner} must not repeat an index.")
    return arr.astype(np.intp, copy=True)


def _check_scale(scale, owner):
    if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
        raise ValueError(f"scale of {owner} must be a positive real number; got {scale!r}.")
    scale = float(scale)
    if not np.isfinite(scale) or scale <= 0:
        raise ValueError(f"scale of {owner} must be a positive finite number; got {scale!r}.")
    return scale


def _work_dtype(op_dtype, x_dtype):
    # Promote like numpy, but integers/bools compute in the operator's precision.
    if not (np.issubdtype(x_dtype, np.floating) or np.issubdtype(x_dtype, np.complexfloating)):
        x_dtype = op_dtype
    return np.result_type(op_dtype, x_dtype)


class _PartialTransform(LinearOperator):
    """Common machinery: row selection, scaling, scatter for the adjoint."""

    _real_dtypes = ()

    def __init__(self, n, rows, *, scale, dtype, workers, random_state):
        owner = type(self).__name__
        self.n = _check_int(n, "n", 1)
        self.rows = _check_rows(self.n, rows, random_state, owner)
        self.scale = _check_scale(scale, owner)
        self.workers = workers
        super().__init__(dtype=self._resolve_dtype(dtype), shape=(self.rows.size, self.n))

    # subclasses: _forward(X) = F @ X along axis 0; _backward(Z) = F^H @ Z along axis 0
    def _matmat(self, X):
        X = np.asarray(X)
        dt = _work_dtype(self.dtype, X.dtype)
        full = self._forward(X.astype(dt, copy=False))
        out = full[self.rows]
        if self.scale != 1.0:
            out *= self.scale
        return out

    def _rmatmat(self, Y):
        Y = np.asarray(Y)
        dt = _work_dtype(self.dtype, Y.dtype)
        Z = np.zeros((self.n,) + Y.shape[1:], dtype=dt)
        Z[self.rows] = Y
        out = self._backward(Z)
        if self.scale != 1.0:
            out *= self.scale
        return out

    def _matvec(self, x):
        return self._matmat(np.asarray(x).reshape(-1))

    def _rmatvec(self, y):
        return self._rmatmat(np.asarray(y).reshape(-1))

    def toarray(self):
        """Return the dense ``(m, n)`` matrix (for tests and small sizes).

        Returns
        -------
        A : ndarray of shape (m, n)
        """
        return self._matmat(np.eye(self.n, dtype=self.dtype))

    def __repr__(self):
        return (
            f"<{self.shape[0]}x{self.shape[1]} {type(self).__name__} with "
            f"dtype={np.dtype(self.dtype).name}, scale={self.scale:g}>"
        )


class PartialDCT(_PartialTransform):
    r"""Selected rows of the orthonormal DCT-II as a matrix-free operator.

    ``A = scale * C[rows, :]`` where ``C`` is the ``n x n`` orthonormal
    DCT-II matrix.  Products with ``A`` and ``A^T`` cost ``O(n log n)``
    (:func:`scipy.fft.dct`); the matrix is never formed.

    Parameters
    ----------
    n : int
        Signal length (number of columns).
    rows : int or array-like of int or of bool
        The kept rows: distinct indices in ``[0, n)`` (their order is kept:
        row ``i`` of ``A`` is row ``rows[i]`` of ``C``), a boolean mask of
        length ``n``, or an int ``m``: that many distinct rows drawn at
        random (sorted) with ``random_state``.
    scale : float, default=1.0
        Positive factor applied to every entry.  ``scale=sqrt(n / m)`` gives
        columns of unit norm on average (``||A||_F^2 = n``).
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the products (real inputs; complex inputs are
        transformed as real and imaginary parts, the DCT being real).
    workers : int, default=None
        Passed to :mod:`scipy.fft` (threads over right-hand sides).
    random_state : int, Generator or None, default=None
        Used only when ``rows`` is a count.

    Attributes
    ----------
    n : int
        Number of columns.
    rows : ndarray of shape (m,)
        Indices of the kept rows.
    scale : float
        Entry scaling.
    shape : tuple
        ``(m, n)``.
    dtype : numpy.dtype
        Precision of the products.

    See Also
    --------
    PartialFFT : Complex counterpart (rows of the unitary DFT).
    KroneckerOperator : Separable operators built from small factors.
    operator_norm : Returns ``scale`` for this operator without iterating.

    Notes
    -----
    The orthonormal DCT-II matrix is

    .. math::

        C_{kj} = \sqrt{2/n}\, c_k \cos\left(\frac{\pi k (2j + 1)}{2n}\right),
        \quad c_0 = 1/\sqrt{2},\ c_k = 1\ (k \ge 1),

    so ``C C^T = I``.  Then ``A x = scale * dct(x, norm="ortho")[rows]`` and
    ``A^T y = scale * idct(z, norm="ortho")`` with ``z`` the zero-filled
    scatter of ``y`` onto ``rows``.  As ``A A^T = scale^2 I_m``, the operator
    norm is exactly ``scale`` and ``A^T`` is ``scale^2`` times the
    pseudo-inverse of ``A``.  ``matmat`` transforms all columns at once.

    References
    ----------
    .. [1] E. J. Candès, J. Romberg and T. Tao, "Robust uncertainty
       principles: exact signal reconstruction from highly incomplete
       frequency information", IEEE Trans. Inf. Theory 52(2), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import PartialDCT
    >>> A = PartialDCT(8, [0, 3, 5])
    >>> A.shape
    (3, 8)
    >>> x = np.arange(8.0)
    >>> np.allclose(A @ x, A.toarray() @ x)
    True
    >>> np.allclose(A.toarray() @ A.toarray().T, np.eye(3))
    True
    >>> A.rmatvec(np.ones(3)).shape
    (8,)
    """

    def __init__(self, n, rows, *, scale=1.0, dtype=np.float64, workers=None,
                 random_state=None):
        super().__init__(n, rows, scale=scale, dtype=dtype, workers=workers,
                         random_state=random_state)

    def _resolve_dtype(self, dtype):
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise ValueError(f"dtype of PartialDCT must be float32 or float64; got {dt}.")
        return dt

    def _forward(self, X):
        return sfft.dct(X, type=2, norm="ortho", axis=0, workers=self.workers)

    def _backward(self, Z):
        # The transpose of the orthonormal DCT-II is the orthonormal DCT-III.
        return sfft.idct(Z, type=2, norm="ortho", axis=0, workers=self.workers,
                         overwrite_x=True)

    def _adjoint(self):
        return _TransposedPartial(self)

    _transpose = _adjoint


class PartialFFT(_PartialTransform):
    r"""Selected rows of the unitary DFT as a matrix-free operator.

    ``A = scale * F[rows, :]`` with ``F_{kj} = exp(-2 i pi k j / n) / sqrt(n)``.
    Products with ``A`` and ``A^H`` cost ``O(n log n)`` (:func:`scipy.fft.fft`).

    Parameters
    ----------
    n : int
        Signal length (number of columns).
    rows : int or array-like of int or of bool
        The kept frequencies: distinct indices in ``[0, n)``, a boolean mask
        of length ``n``, or an int ``m``: that many distinct rows drawn at
        random (sorted) with ``random_state``.
    scale : float, default=1.0
        Positive factor applied to every entry.  Every column of ``F[rows]``
        has norm ``sqrt(m / n)`` exactly, so ``scale=sqrt(n / m)`` gives
        unit-norm columns.
    dtype : {np.complex128, np.complex64}, default=np.complex128
        Precision of the products (``float64``/``float32`` are mapped to
        ``complex128``/``complex64``).
    workers : int, default=None
        Passed to :mod:`scipy.fft`.
    random_state : int, Generator or None, default=None
        Used only when ``rows`` is a count.

    Attributes
    ----------
    n : int
        Number of columns.
    rows : ndarray of shape (m,)
        Indices of the kept rows (frequencies).
    scale : float
        Entry scaling.
    shape : tuple
        ``(m, n)``.
    dtype : numpy.dtype
        Complex precision of the products.

    See Also
    --------
    PartialDCT : Real counterpart.
    KroneckerOperator : Separable operators built from small factors.
    operator_norm : Returns ``scale`` for this operator without iterating.

    Notes
    -----
    ``A x = scale * fft(x, norm="ortho")[rows]`` and
    ``A^H y = scale * ifft(z, norm="ortho")`` with ``z`` the zero-filled
    scatter of ``y`` onto ``rows``; ``A A^H = scale^2 I_m``.

    References
    ----------
    .. [1] E. J. Candès, J. Romberg and T. Tao, "Robust uncertainty
       principles: exact signal reconstruction from highly incomplete
       frequency information", IEEE Trans. Inf. Theory 52(2), 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.operators import PartialFFT
    >>> A = PartialFFT(16, 4, random_state=0)
    >>> A.shape, A.dtype
    ((4, 16), dtype('complex128'))
    >>> M = A.toarray()
    >>> np.allclose(M @ M.conj().T, np.eye(4))
    True
    >>> np.allclose(np.linalg.norm(M, axis=0), np.sqrt(4 / 16))
    True
    """

    def __init__(self, n, rows, *, scale=1.0, dtype=np.complex128, workers=None,
                 random_state=None):
        super().__init__(n, rows, scale=scale, dtype=dtype, workers=workers,
                         random_state=random_state)

    def _resolve_dtype(self, dtype):
        dt = np.dtype(dtype)
        mapping = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128,
                   np.dtype(np.complex64): np.complex64, np.dtype(np.complex128): np.complex128}
        if dt not in mapping:
            raise ValueError(
                f"dtype of PartialFFT must be complex64 or complex128; got {dt}."
            )
        return np.dtype(mapping[dt])

    def _forward(self, X):
        return sfft.fft(X, norm="ortho", axis=0, workers=self.workers)

    def _backward(self, Z):
        return sfft.ifft(Z, norm="ortho", axis=0, workers=self.workers, overwrite_x=True)

    def _adjoint(self):
        return _TransposedPartial(self)

    def _transpose(self):
        # A^T x = conj(A^H conj(x)); scipy's default does exactly this.
        return LinearOperator._transpose(self)


class _TransposedPartial(LinearOperator):
    """``A^H`` of a partial transform, keeping the fast paths (matmat, norm)."""

    def __init__(self, parent):
        self.parent = parent
        self.scale = parent.scale
        super().__init__(dtype=parent.dtype, shape=(parent.shape[1], parent.shape[0]))

    def _matmat(self, X):
        return self.parent._rmatmat(X)

    def _rmatmat(self, X):
        return self.parent._matmat(X)

    def _matvec(self, x):
        return self.parent._rmatvec(x)

    def _rmatvec(self, x):
        return self.parent._matvec(x)

    def _adjoint(self):
        return self.parent

    def toarray(self):
        """Return the dense ``(n, m)`` matrix."""
        return self.parent.toarray().conj().T
