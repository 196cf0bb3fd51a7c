# cython: language_level=3
"""Row-parallel NMF kernels: multiplicative updates (MU) and HALS sweeps.

Both kernels solve, for every row ``z_n`` of ``Z`` independently, one step of

    min_{z >= 0}  1/2 z^T (G + delta2 11^T) z - (q_n + delta2 1)^T z + penalty(z)

which is the abundance sub-problem of ``X ~ W H`` (``Z = W``, ``q_n = (X Omega H^T)_n``,
``G = H Omega H^T``) and, transposed, the endmember sub-problem (``Z = H^T``,
``G = W^T W``).  ``delta2 = delta**2`` is the sum-to-one augmentation of
Heinz & Chang / Qian et al. ("delta trick", spec section 0.4): adding ``delta2`` to
every entry of ``G`` and ``q`` is the same as appending the row ``delta 1^T`` to
the data and to the endmember matrix, without building either.

Rows are independent given ``G`` and ``Q``, so the loops run OpenMP over rows;
each row writes only its own output and the result does not depend on the
thread count.  The callers validate the data; the kernels check only the
shapes they index without bounds checks (sizes and indices are Py_ssize_t, no
heap workspace is allocated).
"""
from cython.parallel cimport prange
from libc.math cimport pow


cdef _check_shapes(const double[:, ::1] Z, const double[:, ::1] Q, const double[:, ::1] G,
                   const unsigned char[::1] update):
    """Shapes the kernels index without bounds checks: Q like Z, G (K, K), update (K,)."""
    cdef Py_ssize_t K = Z.shape[1]
    if Q.shape[0] != Z.shape[0] or Q.shape[1] != K:
        raise ValueError(f"Q must have the shape of Z {(Z.shape[0], Z.shape[1])}; "
                         f"got {(Q.shape[0], Q.shape[1])}.")
    if G.shape[0] != K or G.shape[1] != K:
        raise ValueError(f"G must be ({K}, {K}); got {(G.shape[0], G.shape[1])}.")
    if update is not None and update.shape[0] != K:
        raise ValueError(f"update must have {K} entries; got {update.shape[0]}.")


def mu_rows(const double[:, ::1] Z, const double[:, ::1] Q, const double[:, ::1] G,
            double delta2, double[:, ::1] out, const double[:, ::1] P_extra=None,
            const double[::1] dvec=None, double lam=0.0, const double[::1] p=None,
            double tau=0.0, double eps=1e-9, const unsigned char[::1] update=None,
            int n_threads=1):
    """One multiplicative step, ``out = Z * num / max(den, eps)`` row by row.

    ``num = Q + delta2`` and
    ``den = Z (G + delta2) + P_extra + dvec * Z + lam * p * Z**(p - 1)``
    (the last term only where ``Z > tau``; for ``p = 1`` it is ``lam``).
    ``Z`` is read only; ``out`` is written (it must not alias ``Z``).
    Columns with ``update[k] == 0`` are copied unchanged.
    """
    cdef Py_ssize_t n_rows = Z.shape[0], K = Z.shape[1]
    cdef Py_ssize_t n, k, j
    cdef double den, num, z, pn
    cdef bint has_extra = P_extra is not None
    cdef bint has_d = dvec is not None
    cdef bint has_p = p is not None
    cdef bint has_upd = update is not None
    cdef bint has_pen = lam > 0.0
    _check_shapes(Z, Q, G, update)
    if out.shape[0] != n_rows or out.shape[1] != K:
        raise ValueError("mu_rows: out must have the shape of Z.")
    if has_extra and (P_extra.shape[0] != n_rows or P_extra.shape[1] != K):
        raise ValueError("mu_rows: P_extra must have the shape of Z.")
    if (has_d and dvec.shape[0] != n_rows) or (has_p and p.shape[0] != n_rows):
        raise ValueError("mu_rows: dvec and p must have one entry per row of Z.")
    with nogil:
        for n in prange(n_rows, schedule="static", num_threads=n_threads):
            for k in range(K):
                z = Z[n, k]
                if has_upd and update[k] == 0:
                    out[n, k] = z
                    continue
                den = 0.0
                for j in range(K):
                    den = den + Z[n, j] * (G[j, k] + delta2)
                if has_extra:
                    den = den + P_extra[n, k]
                if has_d:
                    den = den + dvec[n] * z
                if has_pen:
                    pn = p[n] if has_p else 1.0
                    if pn >= 1.0:
                        den = den + lam
                    elif z > tau and z > 0.0:
                        den = den + lam * pn * pow(z, pn - 1.0)
                num = Q[n, k] + delta2
                if num < 0.0:
                    num = 0.0
                if den < eps:
                    den = eps
                out[n, k] = z * num / den
    return out


def hals_rows(double[:, ::1] Z, const double[:, ::1] Q, const double[:, ::1] G,
              double delta2, double l1=0.0, const double[:, ::1] L1=None,
              double floor=0.0, const unsigned char[::1] update=None, int n_threads=1):
    """One HALS (exact coordinate descent) sweep over the columns, in place.

    For each row and each ``k`` in turn:
    ``z_k <- max(floor, z_k - (sum_j (G[k, j] + delta2) z_j - Q[k] - delta2 + l1_k)
    / (G[k, k] + delta2))``, the exact minimiser of the row objective in ``z_k``
    (Cichocki et al. 2007, Gillis & Glineur 2012).  ``l1_k`` is ``l1`` or
    ``L1[n, k]`` (a weighted l1 term, e.g. the tangent of a concave penalty).
    ``Z`` is modified in place.
    """
    cdef Py_ssize_t n_rows = Z.shape[0], K = Z.shape[1]
    cdef Py_ssize_t n, k, j
    cdef double grad, hess, v
    cdef bint has_L1 = L1 is not None
    cdef bint has_upd = update is not None
    _check_shapes(Z, Q, G, update)
    if has_L1 and (L1.shape[0] != n_rows or L1.shape[1] != K):
        raise ValueError("hals_rows: L1 must have the shape of Z.")
    with nogil:
        for n in prange(n_rows, schedule="static", num_threads=n_threads):
            for k in range(K):
                if has_upd and update[k] == 0:
                    continue
                hess = G[k, k] + delta2
                if hess <= 0.0:
                    continue
                grad = -Q[n, k] - delta2
                for j in range(K):
                    grad = grad + (G[k, j] + delta2) * Z[n, j]
                if has_L1:
                    grad = grad + L1[n, k]
                else:
                    grad = grad + l1
                v = Z[n, k] - grad / hess
                if v < floor:
                    v = floor
                Z[n, k] = v
