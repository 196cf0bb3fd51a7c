# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Batched Lawson-Hanson NNLS on a Gram matrix with incremental Cholesky, OpenMP over pixels.

For every row ``c`` of ``C`` solve ``min_a 1/2 a^T G a - c^T a`` s.t. ``a >= 0``
(the positive-l1 SUnSAL problem with ``c = L y - alpha``). The passive set's
Cholesky factor grows by one row per added index (O(m^2), BLAS trsv), and so
does ``Lc^{-1} c_P`` (each passive solve is then one back substitution); a
drop is a Givens downdate of the factor and of ``Lc^{-1} c_P`` (O(m^2)); the
dual vector ``w = c - G a`` is refreshed in O(K m) by one BLAS gemv on a
contiguous copy of the passive rows of ``G`` (kept beside the factor). Each
pixel starts from the passive set of its thread's previous pixel. Fused over
float32/float64 (one source; all arrays of one call share the dtype).
A column nearly dependent on the passive set (new pivot below ``dep_tol``
times its diagonal) or whose coefficient would not be positive is excluded for
that pixel (the classical anti-cycling guard).
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from scipy.linalg.cython_blas cimport dgemv, sgemv, dtrsv, strsv


cdef inline void _dual(Py_ssize_t K, Py_ssize_t m, const floating* GP, const floating* ap,
                       const floating* c, floating* w) noexcept nogil:
    """w = c - GP^T ap: GP holds the m passive rows of G (row-major m x K, i.e. the
    column-major K x m matrix G[:, idx]); one BLAS gemv."""
    cdef int Ki = <int> K, mi = <int> m, one = 1
    cdef char tr = 78  # 'N'
    cdef floating mone = -1.0, pone = 1.0
    memcpy(w, c, K * sizeof(floating))
    if m == 0:
        return
    if floating is double:
        dgemv(&tr, &Ki, &mi, &mone, <double*> GP, &Ki, <double*> ap, &one, &pone, w, &one)
    else:
        sgemv(&tr, &Ki, &mi, &mone, <float*> GP, &Ki, <float*> ap, &one, &pone, w, &one)


cdef inline Py_ssize_t _argmax_free(const floating* w, const char* state, Py_ssize_t K,
                                    floating tol) noexcept nogil:
    """First index k of the largest w[k] > tol with state[k] == 0 (free); -1 if none.

    Four independent chains (one chain is latency bound: the single-chain loop
    was ~45 % of the kernel time); the updates are rarely taken, hence well
    predicted. Ties keep the lowest index (chain c sees c, c+4, ... in order
    and the merge prefers lower indices)."""
    cdef Py_ssize_t k, K4 = K - K % 4
    cdef Py_ssize_t j0 = -1, j1 = -1, j2 = -1, j3 = -1
    cdef floating b0 = tol, b1 = tol, b2 = tol, b3 = tol
    for k in range(0, K4, 4):
        if w[k] > b0 and state[k] == 0:
            b0 = w[k]
            j0 = k
        if w[k + 1] > b1 and state[k + 1] == 0:
            b1 = w[k + 1]
            j1 = k + 1
        if w[k + 2] > b2 and state[k + 2] == 0:
            b2 = w[k + 2]
            j2 = k + 2
        if w[k + 3] > b3 and state[k + 3] == 0:
            b3 = w[k + 3]
            j3 = k + 3
    for k in range(K4, K):
        if w[k] > b0 and state[k] == 0:
            b0 = w[k]
            j0 = k
    if j1 >= 0 and (j0 < 0 or b1 > b0 or (b1 == b0 and j1 < j0)):
        b0 = b1
        j0 = j1
    if j2 >= 0 and (j0 < 0 or b2 > b0 or (b2 == b0 and j2 < j0)):
        b0 = b2
        j0 = j2
    if j3 >= 0 and (j0 < 0 or b3 > b0 or (b3 == b0 and j3 < j0)):
        b0 = b3
        j0 = j3
    return j0


cdef inline void _trsv(char trans, Py_ssize_t m, const floating* Lc, Py_ssize_t ld,
                       floating* x) noexcept nogil:
    """x <- Lc^{-1} x (trans 'T') or Lc^{-T} x (trans 'N'), Lc lower triangular row-major
    (= the upper triangular column-major matrix Lc^T for BLAS); one BLAS trsv."""
    cdef char uplo = 85  # 'U'
    cdef char diag = 78  # 'N'
    cdef int mi = <int> m, ldi = <int> ld, one = 1
    if m == 0:
        return
    if floating is double:
        dtrsv(&uplo, &trans, &diag, &mi, <double*> Lc, &ldi, <double*> x, &one)
    else:
        strsv(&uplo, &trans, &diag, &mi, <float*> Lc, &ldi, <float*> x, &one)


cdef inline int _append(const floating* G, floating* GP, Py_ssize_t K, const Py_ssize_t* idx,
                        Py_ssize_t m, Py_ssize_t j, floating* Lc, const floating* c,
                        floating* y, floating dep_tol) noexcept nogil:
    """Add row m (index j) to the Cholesky factor of G[idx, idx], row j of G to GP (row m)
    and y[m] to y = Lc^{-1} c[idx] (the forward half of the passive solve, kept
    incrementally); 0 (nothing added) if nearly dependent."""
    cdef Py_ssize_t i
    cdef floating d2, t
    cdef const floating* gj = G + j * K          # G symmetric: row j = column j
    cdef floating* row = Lc + m * K
    for i in range(m):
        row[i] = gj[idx[i]]
    _trsv(84, m, Lc, K, row)                     # row = Lc^{-1} G[idx, j]
    d2 = gj[j]
    t = c[j]
    for i in range(m):
        d2 = d2 - row[i] * row[i]
        t = t - row[i] * y[i]
    if not d2 > dep_tol * gj[j]:
        return 0
    row[m] = sqrt(d2)
    y[m] = t / row[m]
    memcpy(GP + m * K, gj, K * sizeof(floating))
    return 1


cdef inline void _delete(floating* Lc, Py_ssize_t K, Py_ssize_t m, Py_ssize_t f,
                         floating* y) noexcept nogil:
    """Remove position f from the m x m factor Lc of G_PP and from y = Lc^{-1} c_P.

    The rows below f move up one place (the factor becomes lower Hessenberg from
    row f on); Givens rotations of the column pairs (r, r+1), r = f .. m-2,
    restore the triangle (``L Q Q^T L^T`` is unchanged), and the same rotations
    applied to ``y`` keep ``Lc y = c_P``. O((m - f)^2), instead of the
    O((m - f) m^2) of refactoring those rows."""
    cdef Py_ssize_t r, i
    cdef floating p, t, rho, cs, sn, u, v
    for r in range(f, m - 1):
        memcpy(Lc + r * K, Lc + (r + 1) * K, (r + 2) * sizeof(floating))
    for r in range(f, m - 1):
        p = Lc[r * K + r]
        t = Lc[r * K + r + 1]
        rho = sqrt(p * p + t * t)
        cs = p / rho
        sn = t / rho
        Lc[r * K + r] = rho
        Lc[r * K + r + 1] = 0.0
        for i in range(r + 1, m - 1):
            u = Lc[i * K + r]
            v = Lc[i * K + r + 1]
            Lc[i * K + r] = cs * u + sn * v
            Lc[i * K + r + 1] = cs * v - sn * u
        u = y[r]
        v = y[r + 1]
        y[r] = cs * u + sn * v
        y[r + 1] = cs * v - sn * u


def nnls_gram(const floating[:, ::1] G, const floating[:, ::1] C, floating[:, ::1] out,
              int max_iter, double tol, double dep_tol, int n_threads=1):
    """Solve every row's NNLS problem in Gram form; returns the number that hit max_iter.

    ``G`` (K, K) symmetric positive semi-definite, ``C`` (N, K), ``out`` (N, K)
    overwritten, all float64 or all float32 (fused: the float32 kernel works
    in float32 throughout, Cholesky factor and dual vector included; see
    ``sparsecode.unmixing.sunsal`` for when it is used). ``tol`` (>= 0):
    absolute tolerance on the dual vector.
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
    cdef Py_ssize_t n, i, j, k, m, jbest, q, it, imin
    cdef int n_failed = 0, n_oom = 0, done
    cdef floating step, ratio
    cdef floating ftol = <floating> tol, fdep = <floating> dep_tol
    cdef const floating* Gp = &G[0, 0]
    cdef const floating* c
    cdef Py_ssize_t* idx
    cdef Py_ssize_t* prev     # per thread: prev[0] = size of the last support, then its indices
    cdef char* state          # 0 free, 1 passive, 2 excluded
    cdef floating* a
    cdef floating* w
    cdef floating* z
    cdef floating* b
    cdef floating* y          # Lc^{-1} c[idx], grown with the factor
    cdef floating* Lc
    cdef floating* GP         # rows of G on the passive set, slot q holding row gidx[q]
    cdef Py_ssize_t* gidx
    cdef Py_ssize_t* slot_of  # slot of a passive index in GP
    with nogil, parallel(num_threads=n_threads):
        idx = <Py_ssize_t*> malloc(K * sizeof(Py_ssize_t))
        prev = <Py_ssize_t*> malloc((K + 1) * sizeof(Py_ssize_t))
        if prev != NULL:
            prev[0] = 0
        state = <char*> malloc(K * sizeof(char))
        a = <floating*> malloc(K * sizeof(floating))
        w = <floating*> malloc(K * sizeof(floating))
        z = <floating*> malloc(K * sizeof(floating))
        b = <floating*> malloc(K * sizeof(floating))
        y = <floating*> malloc(K * sizeof(floating))
        Lc = <floating*> malloc(K * K * sizeof(floating))
        GP = <floating*> malloc(K * K * sizeof(floating))
        gidx = <Py_ssize_t*> malloc(K * sizeof(Py_ssize_t))
        slot_of = <Py_ssize_t*> malloc(K * sizeof(Py_ssize_t))
        for n in prange(N, schedule="dynamic"):
            if (idx == NULL or prev == NULL or state == NULL or a == NULL or w == NULL or z == NULL
                    or b == NULL or y == NULL or Lc == NULL or GP == NULL or gidx == NULL
                    or slot_of == NULL):
                n_oom += 1
                continue
            c = &C[n, 0]
            for k in range(K):
                state[k] = 0
                a[k] = 0.0
            memcpy(w, c, K * sizeof(floating))
            m = 0
            done = 0
            # warm start: the passive set of this thread's previous pixel (a = 0 on it; the
            # inner loop drops the blocking indices one by one, then the outer loop goes on)
            for i in range(prev[0]):
                if _append(Gp, GP, K, idx, m, prev[i + 1], Lc, c, y, fdep):
                    idx[m] = prev[i + 1]
                    gidx[m] = idx[m]
                    slot_of[idx[m]] = m
                    state[idx[m]] = 1
                    m = m + 1
            for it in range(max_iter):
                if it > 0 or m == 0:
                    jbest = _argmax_free(w, state, K, ftol)
                    if jbest < 0:
                        done = 1
                        break
                    if _append(Gp, GP, K, idx, m, jbest, Lc, c, y, fdep) == 0:
                        state[jbest] = 2
                        continue
                    idx[m] = jbest
                    gidx[m] = jbest
                    slot_of[jbest] = m
                    state[jbest] = 1
                    m = m + 1
                else:
                    jbest = -1
                # inner loop: move towards the unconstrained solution on the passive set
                while True:
                    memcpy(z, y, m * sizeof(floating))
                    _trsv(78, m, Lc, K, z)               # z = Lc^{-T} y = G_PP^{-1} c_P
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
                    # drop the indices that reached zero (imin included): Givens downdate
                    # of the factor and of y, from the last position down so that the
                    # positions still to visit do not move
                    for i in range(m - 1, -1, -1):
                        if i == imin or not (a[idx[i]] > 0.0 or z[i] > 0.0):
                            j = idx[i]
                            state[j] = 0
                            a[j] = 0.0
                            _delete(Lc, K, m, i, y)
                            for k in range(i, m - 1):
                                idx[k] = idx[k + 1]
                            # GP: the last slot's row fills the freed slot
                            q = slot_of[j]
                            if q != m - 1:
                                memcpy(GP + q * K, GP + (m - 1) * K, K * sizeof(floating))
                                gidx[q] = gidx[m - 1]
                                slot_of[gidx[q]] = q
                            m = m - 1
                    if m == 0:
                        break
                # dual vector w = c - G a (one gemv on the passive rows)
                for i in range(m):
                    b[i] = a[gidx[i]]
                _dual(K, m, GP, b, c, w)
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
        free(y)
        free(Lc)
        free(GP)
        free(gidx)
        free(slot_of)
    if n_oom:
        raise MemoryError(f"nnls_gram: no workspace for {n_oom} pixels (K = {K}).")
    return n_failed
