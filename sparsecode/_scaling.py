"""Exact rescaling by powers of two, shared by every family.

Scale-equivariant solvers work on the data divided by a power of two near
its magnitude: the division is exact, so results at scale 1 are unchanged,
and no squared norm over- or underflows at data scales 1e-150 ... 1e200.
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["max_exponent", "nearest_pow2", "data_pow2"]


def max_exponent(A):
    """Binary exponent ``e`` of ``max|A|``: ``max|A| * 2**-e`` lies in [0.5, 1).

    0 when ``A`` is empty, zero or not finite. Dense arrays or scipy.sparse.

    >>> from sparsecode._scaling import max_exponent
    >>> max_exponent([[3.0, -0.5]]), max_exponent([0.0])
    (2, 0)
    """
    data = A.data if sp.issparse(A) else np.asarray(A)
    m = float(np.max(np.abs(data))) if data.size else 0.0
    return int(np.frexp(m)[1]) if 0.0 < m < np.inf else 0


def nearest_pow2(v):
    """The power of two nearest to each positive finite entry of ``v``, else 1.

    >>> from sparsecode._scaling import nearest_pow2
    >>> nearest_pow2([3.0, 0.3, 0.0, float("inf")]).tolist()
    [4.0, 0.25, 1.0, 1.0]
    """
    v = np.asarray(v, dtype=np.float64)
    ok = np.isfinite(v) & (v > 0)
    e = np.round(np.log2(np.where(ok, v, 1.0))).astype(np.int64)
    return np.where(ok, np.ldexp(1.0, e), 1.0)


def data_pow2(X):
    """The power of two nearest to ``max|X|`` as a float (1.0 for zero or non-finite data).

    >>> from sparsecode._scaling import data_pow2
    >>> data_pow2([[0.0, 3e-200]]) == 2.0 ** round(__import__("math").log2(3e-200))
    True
    """
    X = np.asarray(X)
    m = float(np.max(np.abs(X))) if X.size else 0.0
    return float(nearest_pow2(m))
