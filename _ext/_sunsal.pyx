# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batched Lawson-Hanson NNLS on a Gram matrix with incremental Cholesky, OpenMP over pixels.

For every row ``c`` of ``C`` solve ``min_a 1/2 a^T G a - c^T a`` s.t. ``a >= 0``
(the positive-l1 SUnSAL problem with ``c = L y - alpha``). The passive set's
Cholesky factor grows by one row per added index (O(m^2)); a drop rebuilds it
(O(m^3), rare); the dual vector ``w = c - G a`` is refreshed in O(K m).
A column nearly dependent on the passive set (new pivot below ``dep_tol``
times its diagonal) or whose coefficient would not be positive is excluded for
that pixel (the classical anti-cycling guard).
"""
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport malloc, free


cdef inline void _solve(const double* Lc, Py_ssize_t ld, Py_ssize_t m, const double* b,
                        double* x) noexcept nogil:
    """x = (Lc Lc^T)^{-1} b, Lc lower triangular (row-major, leading dimension ld)."""
    cdef Py_ssize_t i, k
    cdef double s
    for i in range(m):
        s = b[i]
        for k in range(i):
            s = s - Lc[i * ld + k] * x[k]
        x[i] = s / Lc[i * ld + i]
    for i in range(m - 1, -1, -1):
        s = x[i]
        for k in range(i + 1, m):
            s = s - Lc[k * ld + i] * x[k]
        x[i] = s / Lc[i * ld + i]


cdef inline int _append(const double[:, ::1] G, const Py_ssize_t* idx, Py_ssize_t m,
                        Py_ssize_t j, double* Lc, Py_ssize_t ld, double dep_tol) noexcept nogil:
    """Add row m (index j) to the Cholesky factor of G[idx, idx]; 0 if nearly dependent."""
    cdef Py_ssize_t i, k
    cdef double s, d2
    for i in range(m):
        s = G[idx[i], j]
        for k in range(i):
            s = s - Lc[i * ld + k] * Lc[m * ld + k]
        Lc[m * ld + i] = s / Lc[i * ld + i]
    d2 = G[j, j]
    for k in range(m):
        d2 = d2 - Lc[m * ld + k] * Lc[m * ld + k]
    if not d2 > dep_tol * G[j, j]:
        return 0
    Lc[m * ld + m] = sqrt(d2)
    return 1


def nnls_gram(const double[:, ::1] G, const double[:, ::1] C, double[:, ::1] out,
              int max_iter, double tol, double dep_tol, int n_threads=1):
    """Solve every row's NNLS problem in Gram form; returns the number that hit max_iter.

    ``G`` (K, K) symmetric positive semi-definite, ``C`` (N, K), ``out`` (N, K)
    overwritten. ``tol`` (>= 0): absolute tolerance on the dual vector.
    Raises ValueError for inconsistent shapes, MemoryError when a per-thread
    workspace cannot be allocated.
    """
    cdef Py_ssize_t N = C.shape[0]
    cdef Py_ssize_t K = G.shape[0]
    if G.shape[1] != K or C.shape[1] != K or out.shape[0] != N or out.shape[1] != K:
        raise ValueError("nnls_gram: G must be (K, K), C and out (N, K).")
    if not tol >= 0.0 or not dep_tol >= 0.0 or max_iter < 1:
        raise ValueError("nnls_gram: tol and dep_tol must be >= 0 and max_iter >= 1.")
    if N == 0 or K == 0:
        return 0
    cdef Py_ssize_t n, i, k, m, jbest, q, it, imin
    cdef int n_failed = 0, n_oom = 0, done
    cdef double wbest, s, step, ratio
    cdef Py_ssize_t* idx
    cdef Py_ssize_t* prev     # per thread: prev[0] = size of the last support, then its indices
    cdef char* state          # 0 free, 1 passive, 2 excluded
    cdef double* a
    cdef double* w
    cdef double* z
    cdef double* b
    cdef double* Lc
    with nogil, parallel(num_threads=n_threads):
        idx = <Py_ssize_t*> malloc(K * sizeof(Py_ssize_t))
        prev = <Py_ssize_t*> malloc((K + 1) * sizeof(Py_ssize_t))
        if prev != NULL:
            prev[0] = 0
        state = <char*> malloc(K * sizeof(char))
        a = <double*> malloc(K * sizeof(double))
        w = <double*> malloc(K * sizeof(double))
        z = <double*> malloc(K * sizeof(double))
        b = <double*> malloc(K * sizeof(double))
        Lc = <double*> malloc(K * K * sizeof(double))
        for n in prange(N, schedule="dynamic"):
            if (idx == NULL or prev == NULL or state == NULL or a == NULL or w == NULL or z == NULL
                    or b == NULL or Lc == NULL):
                n_oom += 1
                continue
            for k in range(K):
                state[k] = 0
                a[k] = 0.0
                w[k] = C[n, k]
            m = 0
            done = 0
            # warm start: the passive set of this thread's previous pixel (a = 0 on it; the
            # inner loop drops the blocking indices one by one, then the outer loop goes on)
            for i in range(prev[0]):
                if _append(G, idx, m, prev[i + 1], Lc, K, dep_tol):
                    idx[m] = prev[i + 1]
                    state[idx[m]] = 1
                    m = m + 1
            for it in range(max_iter):
                if it > 0 or m == 0:
                    jbest = -1
                    wbest = tol
                    for k in range(K):
                        if state[k] == 0 and w[k] > wbest:
                            wbest = w[k]
                            jbest = k
                    if jbest < 0:
                        done = 1
                        break
                    if _append(G, idx, m, jbest, Lc, K, dep_tol) == 0:
                        state[jbest] = 2
                        continue
                    idx[m] = jbest
                    state[jbest] = 1
                    m = m + 1
                else:
                    jbest = -1
                # inner loop: move towards the unconstrained solution on the passive set
                while True:
                    for i in range(m):
                        b[i] = C[n, idx[i]]
                    _solve(Lc, K, m, b, z)
                    if jbest >= 0 and z[m - 1] <= 0.0 and idx[m - 1] == jbest:
                        # the new index would not enter: exclude it (anti-cycling)
                        state[jbest] = 2
                        m = m - 1
                        jbest = -1
                        break
                    jbest = -1
                    imin = -1
                    step = 1.0
                    for i in range(m):
                        if z[i] <= 0.0:
                            ratio = a[idx[i]] / (a[idx[i]] - z[i])
                            if imin < 0 or ratio < step:
                                step = ratio
                                imin = i
                    if imin < 0:
                        for i in range(m):
                            a[idx[i]] = z[i]
                        break
                    for i in range(m):
                        a[idx[i]] = a[idx[i]] + step * (z[i] - a[idx[i]])
                    a[idx[imin]] = 0.0
                    # drop the indices that reached zero and rebuild the factor
                    q = 0
                    for i in range(m):
                        if i != imin and (a[idx[i]] > 0.0 or z[i] > 0.0):
                            idx[q] = idx[i]
                            q = q + 1
                        else:
                            state[idx[i]] = 0
                            a[idx[i]] = 0.0
                    m = 0
                    for i in range(q):
                        if _append(G, idx, m, idx[i], Lc, K, dep_tol):
                            idx[m] = idx[i]
                            m = m + 1
                        else:
                            state[idx[i]] = 2
                            a[idx[i]] = 0.0
                    if m == 0:
                        break
                # dual vector w = c - G a
                for k in range(K):
                    w[k] = C[n, k]
                for i in range(m):               # G symmetric: rows are contiguous
                    s = a[idx[i]]
                    for k in range(K):
                        w[k] = w[k] - G[idx[i], k] * s
            if not done:
                n_failed += 1
            prev[0] = m
            for i in range(m):
                prev[i + 1] = idx[i]
            for k in range(K):
                out[n, k] = a[k]
        free(idx)
        free(prev)
        free(state)
        free(a)
        free(w)
        free(z)
        free(b)
        free(Lc)
    if n_oom:
        raise MemoryError(f"nnls_gram: no workspace for {n_oom} pixels (K = {K}).")
    return n_failed
