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
from libc.math cimport pow, sqrt


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


cdef inline double _lp_slope(double lam, double pn, double z) noexcept nogil:
    """``lam * pn * z**(pn - 1)``, the slope of ``lam * z**pn`` (``1/sqrt`` for pn = 1/2)."""
    if pn == 0.5:
        return 0.5 * lam / sqrt(z)
    return lam * pn * pow(z, pn - 1.0)


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
                        den = den + _lp_slope(lam, pn, z)
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


# --------------------------------------------------------------------------
# fused sweep: abundance step and the products of the endmember step in one
# pass over the data
# --------------------------------------------------------------------------
cdef extern from *:
    """
    #include <string.h>
    #define SC_R 4  /* rows per register block */
    #if defined(__GNUC__) && !defined(SC_NMF_SCALAR)
    /* GCC/clang: vector extensions (SSE2 baseline; an AVX2/FMA clone on x86-64 Linux) */
    #if !defined(__clang__)
    #pragma GCC diagnostic ignored "-Wpsabi"
    #endif
    #if !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SC_NMF_DISPATCH 1
    #else
    #define SC_NMF_DISPATCH 0
    #endif
    typedef double sc_v4 __attribute__((vector_size(32), aligned(8)));

    static inline sc_v4 sc_ld(const double* p) { sc_v4 v; memcpy(&v, p, sizeof v); return v; }
    static inline void sc_st(double* p, sc_v4 v) { memcpy(p, &v, sizeof v); }
    static inline double sc_hsum(sc_v4 v) { return (v[0] + v[1]) + (v[2] + v[3]); }
    /* four float32 entries widened to float64 (one vcvtps2pd with AVX) */
    static inline sc_v4 sc_ldf(const float* p) { sc_v4 v = {p[0], p[1], p[2], p[3]}; return v; }

    #define SC_T double
    #define SC_LD sc_ld
    #define SC_LINE_MASK 7
    #define SC_NAME(n) n
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_LINE_MASK
    #undef SC_NAME
    #define SC_T float
    #define SC_LD sc_ldf
    #define SC_LINE_MASK 15
    #define SC_NAME(n) n##_f
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_LINE_MASK
    #undef SC_NAME

    #if SC_NMF_DISPATCH
    __attribute__((target("avx2,fma"))) static void
    sc_dots_avx2(const double* xr, long ldx, int L, int K, const double* F, double* Q)
    { sc_dots(xr, ldx, L, K, F, Q); }
    __attribute__((target("avx2,fma"))) static void
    sc_accum_avx2(const double* xr, long ldx, int L, int K, const double* Wr, double* A)
    { sc_accum(xr, ldx, L, K, Wr, A); }
    __attribute__((target("avx2,fma"))) static void
    sc_dots_f_avx2(const float* xr, long ldx, int L, int K, const double* F, double* Q)
    { sc_dots_f(xr, ldx, L, K, F, Q); }
    __attribute__((target("avx2,fma"))) static void
    sc_accum_f_avx2(const float* xr, long ldx, int L, int K, const double* Wr, double* A)
    { sc_accum_f(xr, ldx, L, K, Wr, A); }
    #endif

    static int sc_nmf_use_avx2(void) {
    #if SC_NMF_DISPATCH
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    /* one entry point per kernel and data type: the AVX2/FMA clone when the CPU has it */
    static void sc_nmf_dots(int simd, const double* xr, long ldx, int L, int K, const double* F,
                            double* Q) {
    #if SC_NMF_DISPATCH
        if (simd) { sc_dots_avx2(xr, ldx, L, K, F, Q); return; }
    #endif
        sc_dots(xr, ldx, L, K, F, Q);
    }
    static void sc_nmf_accum(int simd, const double* xr, long ldx, int L, int K, const double* Wr,
                             double* A) {
    #if SC_NMF_DISPATCH
        if (simd) { sc_accum_avx2(xr, ldx, L, K, Wr, A); return; }
    #endif
        sc_accum(xr, ldx, L, K, Wr, A);
    }
    static void sc_nmf_dots_f(int simd, const float* xr, long ldx, int L, int K, const double* F,
                              double* Q) {
    #if SC_NMF_DISPATCH
        if (simd) { sc_dots_f_avx2(xr, ldx, L, K, F, Q); return; }
    #endif
        sc_dots_f(xr, ldx, L, K, F, Q);
    }
    static void sc_nmf_accum_f(int simd, const float* xr, long ldx, int L, int K, const double* Wr,
                               double* A) {
    #if SC_NMF_DISPATCH
        if (simd) { sc_accum_f_avx2(xr, ldx, L, K, Wr, A); return; }
    #endif
        sc_accum_f(xr, ldx, L, K, Wr, A);
    }
    #else  /* other compilers: plain loops, same results up to rounding */
    static int sc_nmf_use_avx2(void) { return 0; }
    #define SC_SCALAR_DOTS(NAME, T) \
    static void NAME(int simd, const T* xr, long ldx, int L, int K, const double* F, double* Q) { \
        int r, k, l; \
        for (r = 0; r < SC_R; r++) for (k = 0; k < K; k++) { \
            double s = 0.0; \
            for (l = 0; l < L; l++) s += xr[r * ldx + l] * F[(long)k * L + l]; \
            Q[r * K + k] = s; } }
    #define SC_SCALAR_ACCUM(NAME, T) \
    static void NAME(int simd, const T* xr, long ldx, int L, int K, const double* Wr, double* A) { \
        int r, k, l; \
        for (k = 0; k < K; k++) for (l = 0; l < L; l++) { \
            double s = A[(long)k * L + l]; \
            for (r = 0; r < SC_R; r++) s += Wr[r * K + k] * xr[r * ldx + l]; \
            A[(long)k * L + l] = s; } }
    SC_SCALAR_DOTS(sc_nmf_dots, double)
    SC_SCALAR_DOTS(sc_nmf_dots_f, float)
    SC_SCALAR_ACCUM(sc_nmf_accum, double)
    SC_SCALAR_ACCUM(sc_nmf_accum_f, float)
    #endif
    """
    int SC_R
    int sc_nmf_use_avx2() noexcept nogil
    void sc_nmf_dots(int simd, const double* xr, long ldx, int L, int K, const double* F,
                     double* Q) noexcept nogil
    void sc_nmf_accum(int simd, const double* xr, long ldx, int L, int K, const double* Wr,
                      double* A) noexcept nogil
    void sc_nmf_dots_f(int simd, const float* xr, long ldx, int L, int K, const double* F,
                       double* Q) noexcept nogil
    void sc_nmf_accum_f(int simd, const float* xr, long ldx, int L, int K, const double* Wr,
                        double* A) noexcept nogil


from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from cython cimport floating
from cython.parallel cimport parallel

cdef int _SIMD = sc_nmf_use_avx2()


def simd_enabled():
    """True when the fused sweep runs its AVX2/FMA code path on this CPU."""
    return bool(_SIMD)


cdef inline void _row_update(double* z, const double* q, const double[:, ::1] G, Py_ssize_t K,
                             double delta2, int hals, double lam, double pn, int has_p,
                             double tau, double eps, const double* l1row,
                             double* tmp, int has_L1=0) noexcept nogil:
    """One row of ``mu_rows`` (into tmp, then copied) or of ``hals_rows`` (in place)."""
    cdef Py_ssize_t k, j
    cdef double den, num, zk, grad, hess, v
    if hals:
        for k in range(K):
            hess = G[k, k] + delta2
            if hess <= 0.0:
                continue
            grad = -q[k] - delta2
            for j in range(K):
                grad = grad + (G[k, j] + delta2) * z[j]
            grad = grad + l1row[k]
            v = z[k] - grad / hess
            if v < 0.0:
                v = 0.0
            z[k] = v
        return
    for k in range(K):
        zk = z[k]
        den = 0.0
        for j in range(K):
            den = den + z[j] * (G[j, k] + delta2)
        if has_L1:
            den = den + l1row[k]
        elif lam > 0.0:
            if not has_p or pn >= 1.0:
                den = den + lam
            elif zk > tau and zk > 0.0:
                den = den + _lp_slope(lam, pn, zk)
        num = q[k] + delta2
        if num < 0.0:
            num = 0.0
        if den < eps:
            den = eps
        tmp[k] = zk * num / den
    for k in range(K):
        z[k] = tmp[k]


def fused_sweep(const floating[:, ::1] X, double[:, ::1] W, const double[:, ::1] F,
                const double[:, ::1] G, double delta2, bint hals, double[:, ::1] WtX,
                double[:, ::1] WtW, double lam=0.0, const double[::1] p=None, double tau=0.0,
                double eps=1e-9, const double[:, ::1] L1=None, int n_threads=1):
    """Abundance step of one sweep and the products of the endmember step, one pass.

    For every row ``n`` (in place in ``W``): ``q_n = F x_n`` (``F`` (K, L) is
    ``(Omega H^T)^T``), then the ``mu_rows`` step (``hals=False``, with ``lam``,
    ``p``, ``tau``, ``eps`` as there) or the ``hals_rows`` sweep (``hals=True``,
    l1 weight ``L1[n, k]`` or ``lam``) on ``G`` and ``delta2``; then, with the
    row still in cache, ``WtX += w_n x_n^T`` and ``WtW += w_n w_n^T`` for the
    updated ``w_n``.  On return ``WtX`` (K, L) ``= W^T X`` and ``WtW`` (K, K)
    ``= W^T W`` of the new ``W``: the data is read once per sweep instead of
    twice (``X H^T`` and ``W^T X`` as separate products).

    ``X`` may be float32 (the float32 data the caller was given, read as is:
    every product is still formed in float64, so the result is the float64
    one up to rounding, with half the memory traffic).

    Rows are split into fixed chunks (their size depends on ``N``, ``K`` and
    ``L`` only), each
    chunk summed by one thread in row order and the chunks added in order, so
    the result does not depend on ``n_threads``.
    """
    cdef Py_ssize_t N = X.shape[0], L = X.shape[1], K = W.shape[1]
    cdef Py_ssize_t ch, n_chunks, max_chunks, chunk, c, n0, n1, n, r, nr, k, j, l, i
    cdef bint has_p = p is not None
    cdef bint has_L1 = L1 is not None
    cdef int simd = _SIMD, n_oom = 0
    cdef double* part
    cdef floating* xb
    cdef double* wb
    cdef double* qb
    cdef double* tmp
    cdef double* l1b
    cdef double* pa
    cdef double* pg
    cdef const floating* xr
    cdef long ldx
    if W.shape[0] != N or F.shape[0] != K or F.shape[1] != L:
        raise ValueError(f"fused_sweep: X (N, L), W (N, K) and F (K, L) disagree: "
                         f"{(N, L)}, {(W.shape[0], W.shape[1])}, {(F.shape[0], F.shape[1])}.")
    if G.shape[0] != K or G.shape[1] != K or WtW.shape[0] != K or WtW.shape[1] != K:
        raise ValueError("fused_sweep: G and WtW must be (K, K).")
    if WtX.shape[0] != K or WtX.shape[1] != L:
        raise ValueError("fused_sweep: WtX must be (K, L).")
    if has_p and p.shape[0] != N:
        raise ValueError("fused_sweep: p must have one entry per row of X.")
    if has_L1 and (L1.shape[0] != N or L1.shape[1] != K):
        raise ValueError("fused_sweep: L1 must have the shape of W.")
    if K == 0:
        return
    # fixed chunks (a function of N, K and L only, never of the threads): at least
    # 256 rows, at most 64 chunks and 2**22 doubles of partial sums
    max_chunks = max(1, min(64, (1 << 22) // (K * (L + K))))
    ch = max(256, (N + max_chunks - 1) // max_chunks)
    n_chunks = (N + ch - 1) // ch if N > 0 else 0
    if n_threads > n_chunks:
        n_threads = max(<int> n_chunks, 1)  # no idle thread to wait for
    part = <double*> malloc(max(n_chunks, 1) * K * (L + K) * sizeof(double))
    if part == NULL:
        raise MemoryError("fused_sweep: no memory for the per-chunk partial products.")
    memset(part, 0, max(n_chunks, 1) * K * (L + K) * sizeof(double))
    xb = wb = qb = tmp = l1b = NULL
    with nogil, parallel(num_threads=n_threads):
        xb = <floating*> malloc(SC_R * (L + 4) * sizeof(floating))
        wb = <double*> malloc(SC_R * K * sizeof(double))
        qb = <double*> malloc(SC_R * K * sizeof(double))
        tmp = <double*> malloc(K * sizeof(double))
        l1b = <double*> malloc(K * sizeof(double))
        for chunk in prange(n_chunks, schedule="dynamic"):
            if xb == NULL or wb == NULL or qb == NULL or tmp == NULL or l1b == NULL:
                n_oom += 1
                continue
            pa = part + chunk * K * (L + K)
            pg = pa + K * L
            n0 = chunk * ch
            n1 = min(n0 + ch, N)
            n = n0
            while n < n1:
                nr = min(<Py_ssize_t> SC_R, n1 - n)
                if nr == SC_R:
                    xr = &X[n, 0]
                    ldx = L
                else:  # tail: zero-padded copy of the last rows
                    memset(xb, 0, SC_R * L * sizeof(floating))
                    for r in range(nr):
                        memcpy(xb + r * L, &X[n + r, 0], L * sizeof(floating))
                    xr = xb
                    ldx = L
                if floating is double:
                    sc_nmf_dots(simd, xr, ldx, <int> L, <int> K, &F[0, 0], qb)
                else:
                    sc_nmf_dots_f(simd, xr, ldx, <int> L, <int> K, &F[0, 0], qb)
                memset(wb, 0, SC_R * K * sizeof(double))
                for r in range(nr):
                    for k in range(K):
                        wb[r * K + k] = W[n + r, k]
                        if has_L1:
                            l1b[k] = L1[n + r, k]
                        else:
                            l1b[k] = lam
                    _row_update(wb + r * K, qb + r * K, G, K, delta2, hals, lam,
                                p[n + r] if has_p else 1.0, has_p, tau, eps, l1b, tmp, has_L1)
                    for k in range(K):
                        W[n + r, k] = wb[r * K + k]
                        for j in range(K):
                            pg[k * K + j] += wb[r * K + k] * wb[r * K + j]
                if floating is double:
                    sc_nmf_accum(simd, xr, ldx, <int> L, <int> K, wb, pa)
                else:
                    sc_nmf_accum_f(simd, xr, ldx, <int> L, <int> K, wb, pa)
                n = n + nr
        free(xb)
        free(wb)
        free(qb)
        free(tmp)
        free(l1b)
    if n_oom:
        free(part)
        raise MemoryError("fused_sweep: no memory for the per-thread workspace.")
    for k in range(K):
        for l in range(L):
            WtX[k, l] = 0.0
        for j in range(K):
            WtW[k, j] = 0.0
    for c in range(n_chunks):
        pa = part + c * K * (L + K)
        pg = pa + K * L
        for i in range(K * L):
            (&WtX[0, 0])[i] += pa[i]
        for i in range(K * K):
            (&WtW[0, 0])[i] += pg[i]
    free(part)
