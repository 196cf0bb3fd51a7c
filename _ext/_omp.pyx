# cython: language_level=3
"""Greedy pursuit kernels: Batch-OMP (Gram) and Cholesky OMP (no Gram).

References
----------
Rubinstein, Zibulevsky & Elad (2008), "Efficient implementation of the K-SVD
algorithm using Batch Orthogonal Matching Pursuit", Technion CS-2008-08.

Kernels take arrays and scalars and write into preallocated outputs; no
validation, no Python objects in the loops, no warnings: the status array
tells the caller what happened to each signal.  One OpenMP thread per signal
(``prange``), per-thread workspaces, each signal writes only its own output
row, so results do not depend on the number of threads.

Status codes (per signal)
    0  stopped on the sparsity level or the residual tolerance
    1  residual orthogonal to every remaining atom (y in the span)
    2  linear dependence in the dictionary: the next atom was in the span
       of the selected ones (the pursuit stopped early)
    3  error mode: every possible atom selected, tolerance not reached
"""
import numpy as np
from cython.parallel cimport parallel, prange
from libc.limits cimport INT_MAX
from libc.stdint cimport SIZE_MAX
from libc.math cimport sqrt, fabs, ldexp, ilogb, isfinite, INFINITY
from scipy.linalg.cython_blas cimport sgemv, dgemm, dsyrk
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from _blas cimport OP_N, OP_C, dtype, abs2, conj, real, gemm_nn, gemv, trsv_lower

cdef extern from *:
    """
    #include <string.h>
    #if defined(__GNUC__)
    #pragma GCC diagnostic ignored "-Wpsabi"
    #endif
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SC_OMP_DISPATCH 1
    #else
    #define SC_OMP_DISPATCH 0
    #endif
    typedef double sc_omp_v4 __attribute__((vector_size(32), aligned(8)));
    typedef long long sc_omp_i4 __attribute__((vector_size(32), aligned(8)));

    static inline sc_omp_v4 sc_omp_ld(const double* p) { sc_omp_v4 v; memcpy(&v, p, sizeof v); return v; }
    static inline void sc_omp_st(double* p, sc_omp_v4 v) { memcpy(p, &v, sizeof v); }

    /* keep (value, index) of the lanes where s > best (strict: first maximum per lane) */
    #define SC_OMP_KEEP(sv, iv) do { \
        sc_omp_i4 m_ = (sv) > bestv; \
        bestv = (sc_omp_v4)(((sc_omp_i4)(sv) & m_) | ((sc_omp_i4)bestv & ~m_)); \
        besti = ((iv) & m_) | (besti & ~m_); } while (0)

    /* One Batch-OMP step for real data, fused with the next selection:
         bn    = (g - B[:, :nc] w) / sd      (the new column of B, nc columns before it;
                                             times 1 / sd)
         alpha = asrc - bn zn                (the correlations A^T r; asrc: their
                                             previous values, alpha itself or A^T y)
         score = alpha^2 dinvm               (never stored)
       and returns the first index of the largest score (ties: lowest index;
       NaN never selected), its score in *best (-1 and -1 when none is > -1).
       B is stored in panels of SC_OMP_P rows: entry (k, t) at
       B[(k / P) * P * ldb + t * P + k % P] (ldb column slots per panel), so
       that one pass reads B as one sequential stream (the columns of a panel
       are contiguous) and the new column bn = B[:, nc] lands in the same
       panels.  One pass over N, 32 entries at a time. */
    #define SC_OMP_P 32
    static inline __attribute__((always_inline)) int
    sc_omp_step(const double* g, double* B, long ldb, long N, int nc, const double* w, double sd,
                double zn, const double* asrc, double* alpha, const double* dinvm,
                double* best)
    {
        long k = 0;
        int t;
        sc_omp_v4 bestv = {-1.0, -1.0, -1.0, -1.0};
        sc_omp_i4 besti = {-1, -1, -1, -1};
        sc_omp_i4 lane = {0, 1, 2, 3};
        const double isd = 1.0 / sd;
        const sc_omp_v4 visd = {isd, isd, isd, isd}, vzn = {zn, zn, zn, zn};
        const long pstride = (long)SC_OMP_P * ldb;
        double* Bp = B;
        for (k = 0; k < 128 && k < N; k += 8) __builtin_prefetch(g + k, 0, 0);
        k = 0;
        for (; k + 32 <= N; k += 32, Bp += pstride) {
            /* 8 accumulators: enough independent FMA chains to hide their latency */
            sc_omp_v4 a[8];
            int q;
            /* the Gram row comes from L3 or memory: fetch four panels ahead */
            __builtin_prefetch(g + k + 128, 0, 0);
            __builtin_prefetch(g + k + 136, 0, 0);
            __builtin_prefetch(g + k + 144, 0, 0);
            __builtin_prefetch(g + k + 152, 0, 0);
            for (q = 0; q < 8; q++) a[q] = sc_omp_ld(g + k + 4 * q);
            for (t = 0; t < nc; t++) {
                const double* bt = Bp + (long)t * SC_OMP_P;
                const double wt = w[t];
                const sc_omp_v4 c = {wt, wt, wt, wt};
                for (q = 0; q < 8; q++) a[q] -= sc_omp_ld(bt + 4 * q) * c;
            }
            sc_omp_i4 i0 = lane + k;
            double* bn = Bp + (long)nc * SC_OMP_P;
            for (q = 0; q < 8; q++) {
                sc_omp_v4 v = a[q] * visd;
                sc_omp_st(bn + 4 * q, v);
                sc_omp_v4 r = sc_omp_ld(asrc + k + 4 * q) - v * vzn;
                sc_omp_st(alpha + k + 4 * q, r);
                sc_omp_v4 sv = r * r * sc_omp_ld(dinvm + k + 4 * q);
                SC_OMP_KEEP(sv, i0 + 4 * q);
            }
        }
        /* the last, partial panel (k is a multiple of SC_OMP_P here) */
        const long k0 = k;
        for (; k + 4 <= N; k += 4) {
            sc_omp_v4 a0 = sc_omp_ld(g + k);
            for (t = 0; t < nc; t++) {
                const double wt = w[t];
                const sc_omp_v4 c = {wt, wt, wt, wt};
                a0 -= sc_omp_ld(Bp + (long)t * SC_OMP_P + (k - k0)) * c;
            }
            a0 *= visd;
            sc_omp_st(Bp + (long)nc * SC_OMP_P + (k - k0), a0);
            sc_omp_v4 r0 = sc_omp_ld(asrc + k) - a0 * vzn;
            sc_omp_st(alpha + k, r0);
            sc_omp_v4 s0 = r0 * r0 * sc_omp_ld(dinvm + k);
            SC_OMP_KEEP(s0, lane + k);
        }
        /* merge the lanes: largest value, lowest index among equal values */
        double b = -1.0;
        long j = -1;
        for (t = 0; t < 4; t++) {
            if (besti[t] >= 0 && (bestv[t] > b || (bestv[t] == b && (j < 0 || besti[t] < j)))) {
                b = bestv[t];
                j = besti[t];
            }
        }
        /* the tail: indices above every lane's, so a strict '>' keeps the first maximum */
        for (; k < N; k++) {
            double a = g[k];
            for (t = 0; t < nc; t++)
                a -= Bp[(long)t * SC_OMP_P + (k - k0)] * w[t];
            a *= isd;
            Bp[(long)nc * SC_OMP_P + (k - k0)] = a;
            double r = asrc[k] - a * zn;
            alpha[k] = r;
            double sc = r * r * dinvm[k];
            if (sc > b) { b = sc; j = k; }
        }
        *best = b;
        return (int)j;
    }

    /* the first selection: first index of the largest a0^2 dinv (as sc_omp_step) */
    static inline __attribute__((always_inline)) int
    sc_omp_first(const double* a0, const double* dinv, long N, double* best)
    {
        long k = 0;
        int t;
        sc_omp_v4 bestv = {-1.0, -1.0, -1.0, -1.0};
        sc_omp_i4 besti = {-1, -1, -1, -1};
        sc_omp_i4 lane = {0, 1, 2, 3};
        for (; k + 4 <= N; k += 4) {
            sc_omp_v4 a = sc_omp_ld(a0 + k);
            sc_omp_v4 sv = a * a * sc_omp_ld(dinv + k);
            SC_OMP_KEEP(sv, lane + k);
        }
        double b = -1.0;
        long j = -1;
        for (t = 0; t < 4; t++) {
            if (besti[t] >= 0 && (bestv[t] > b || (bestv[t] == b && (j < 0 || besti[t] < j)))) {
                b = bestv[t];
                j = besti[t];
            }
        }
        for (; k < N; k++) {
            double sc = a0[k] * a0[k] * dinv[k];
            if (sc > b) { b = sc; j = k; }
        }
        *best = b;
        return (int)j;
    }

    #if SC_OMP_DISPATCH
    __attribute__((target("avx2,fma"))) static int
    sc_omp_step_avx2(const double* g, double* B, long ldb, long N, int nc, const double* w,
                     double sd, double zn, const double* asrc, double* alpha,
                     const double* dinvm, double* best)
    { return sc_omp_step(g, B, ldb, N, nc, w, sd, zn, asrc, alpha, dinvm, best); }
    __attribute__((target("avx2,fma"))) static int
    sc_omp_first_avx2(const double* a0, const double* dinv, long N, double* best)
    { return sc_omp_first(a0, dinv, N, best); }
    #endif
    static int sc_omp_step_generic(const double* g, double* B, long ldb, long N, int nc,
                                   const double* w, double sd, double zn, const double* asrc,
                                   double* alpha, const double* dinvm, double* best)
    { return sc_omp_step(g, B, ldb, N, nc, w, sd, zn, asrc, alpha, dinvm, best); }
    static int sc_omp_first_generic(const double* a0, const double* dinv, long N, double* best)
    { return sc_omp_first(a0, dinv, N, best); }
    static int sc_omp_first_real(int simd, const double* a0, const double* dinv, long N,
                                 double* best) {
    #if SC_OMP_DISPATCH
        if (simd) return sc_omp_first_avx2(a0, dinv, N, best);
    #endif
        return sc_omp_first_generic(a0, dinv, N, best);
    }

    /* sum of n doubles in 16 lanes (a finiteness test: any NaN or infinity
       makes it non-finite); the AVX2 clone when the CPU has it */
    static inline __attribute__((always_inline)) double sc_omp_sum(const double* p, long n) {
        sc_omp_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        long i = 0;
        for (; i + 16 <= n; i += 16) {
            a0 += sc_omp_ld(p + i);
            a1 += sc_omp_ld(p + i + 4);
            a2 += sc_omp_ld(p + i + 8);
            a3 += sc_omp_ld(p + i + 12);
        }
        a0 += a1 + a2 + a3;
        double s = a0[0] + a0[1] + a0[2] + a0[3];
        for (; i < n; i++) s += p[i];
        return s;
    }
    /* sum of squares, same lanes */
    static inline __attribute__((always_inline)) double sc_omp_sumsq(const double* p, long n) {
        sc_omp_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        long i = 0;
        for (; i + 16 <= n; i += 16) {
            sc_omp_v4 x0 = sc_omp_ld(p + i), x1 = sc_omp_ld(p + i + 4);
            sc_omp_v4 x2 = sc_omp_ld(p + i + 8), x3 = sc_omp_ld(p + i + 12);
            a0 += x0 * x0;
            a1 += x1 * x1;
            a2 += x2 * x2;
            a3 += x3 * x3;
        }
        a0 += a1 + a2 + a3;
        double s = a0[0] + a0[1] + a0[2] + a0[3];
        for (; i < n; i++) s += p[i] * p[i];
        return s;
    }
    #if SC_OMP_DISPATCH
    __attribute__((target("avx2,fma"))) static double sc_omp_sum_avx2(const double* p, long n)
    { return sc_omp_sum(p, n); }
    __attribute__((target("avx2,fma"))) static double sc_omp_sumsq_avx2(const double* p, long n)
    { return sc_omp_sumsq(p, n); }
    #endif
    static double sc_omp_sum_generic(const double* p, long n) { return sc_omp_sum(p, n); }
    static double sc_omp_sumsq_generic(const double* p, long n) { return sc_omp_sumsq(p, n); }
    static double sc_omp_sum_real(int simd, const double* p, long n) {
    #if SC_OMP_DISPATCH
        if (simd) return sc_omp_sum_avx2(p, n);
    #endif
        return sc_omp_sum_generic(p, n);
    }
    static double sc_omp_sumsq_real(int simd, const double* p, long n) {
    #if SC_OMP_DISPATCH
        if (simd) return sc_omp_sumsq_avx2(p, n);
    #endif
        return sc_omp_sumsq_generic(p, n);
    }

    static int sc_omp_use_avx2(void) {
    #if SC_OMP_DISPATCH
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    /* the AVX2/FMA clone when the CPU has it */
    static int sc_omp_step_real(int simd, const double* g, double* B, long ldb, long N, int nc,
                                const double* w, double sd, double zn, const double* asrc,
                                double* alpha, const double* dinvm, double* best) {
    #if SC_OMP_DISPATCH
        if (simd) return sc_omp_step_avx2(g, B, ldb, N, nc, w, sd, zn, asrc, alpha, dinvm, best);
    #endif
        return sc_omp_step_generic(g, B, ldb, N, nc, w, sd, zn, asrc, alpha, dinvm, best);
    }
    """
    int sc_omp_use_avx2() noexcept nogil
    int sc_omp_step_real(int simd, const double* g, double* B, long ldb, long N, int nc,
                         const double* w, double sd, double zn, const double* asrc,
                         double* alpha, const double* dinvm, double* best) noexcept nogil
    int sc_omp_first_real(int simd, const double* a0, const double* dinv, long N,
                          double* best) noexcept nogil
    double sc_omp_sum_real(int simd, const double* p, long n) noexcept nogil
    double sc_omp_sumsq_real(int simd, const double* p, long n) noexcept nogil


# AVX2/FMA code paths of the fused Batch-OMP step, decided once at import
cdef int _SIMD = sc_omp_use_avx2()


# Sizes and every product of sizes are Py_ssize_t (a 64-bit int on 64-bit
# platforms): ``kmax * kmax`` or ``N * kmax`` overflow a C int past 2**31.
# BLAS (LP64) takes C ints, so the Python wrappers refuse dimensions above
# INT_MAX with a ValueError before any kernel runs.
#
# Workspaces are allocated per thread inside the parallel region; a failed
# malloc sets a shared flag (written through a pointer, so that it is not
# privatised), the thread skips its signals, and the wrapper raises
# MemoryError after the region.

# A residual below this fraction of ||y||^2 is "zero" (y is represented):
# the Gram kernel's ||r||^2 = ||y||^2 - ||z||^2 carries a cancellation error
# of a few ulps of ||y||^2.
DEF RESID_REL = 1e-12


cdef inline void* _xmalloc(size_t count, size_t elsize) noexcept nogil:
    # NULL when count * elsize overflows size_t; malloc(0) may return NULL
    # legitimately, so always ask for at least 1 byte.
    if elsize != 0 and count > SIZE_MAX / elsize:
        return NULL
    return malloc(count * elsize if count > 0 else 1)


cdef inline int _argmax_inactive(const dtype* c, const double* dinv, const char* mask,
                                 int N, double* best) noexcept nogil:
    # Selection rule |c_k|^2 / G_kk over the inactive atoms; strict '>' keeps
    # the first maximal index (deterministic ties).  C ints in the argmax
    # loops: 64-bit indices made Batch-OMP 25 % slower (N <= INT_MAX is
    # checked by the Python-level wrappers).
    cdef int k, j = -1
    cdef double v, b = -1.0
    for k in range(N):
        if mask[k] == 0:
            v = abs2(c[k]) * dinv[k]
            if v > b:
                b = v
                j = k
    best[0] = b
    return j


cdef inline int _argmax_scores(const double* score, int N, double* best) noexcept nogil:
    # First index of the maximum.  Four independent chains give the CPU
    # instruction-level parallelism (one chain is latency bound and was half
    # of the Batch-OMP time); the update branches are rarely taken, hence
    # well predicted.  Ties keep the lowest index: chain c sees indices
    # c, c+4, ... in increasing order, and the merge prefers lower indices.
    cdef int k, N4 = N - N % 4
    cdef int j0 = -1, j1 = -1, j2 = -1, j3 = -1
    cdef double m0 = -1.0, m1 = -1.0, m2 = -1.0, m3 = -1.0
    for k in range(0, N4, 4):
        if score[k] > m0:
            m0 = score[k]
            j0 = k
        if score[k + 1] > m1:
            m1 = score[k + 1]
            j1 = k + 1
        if score[k + 2] > m2:
            m2 = score[k + 2]
            j2 = k + 2
        if score[k + 3] > m3:
            m3 = score[k + 3]
            j3 = k + 3
    for k in range(N4, N):
        if score[k] > m0:
            m0 = score[k]
            j0 = k
    if m1 > m0 or (m1 == m0 and j1 < j0):
        m0 = m1
        j0 = j1
    if m3 > m2 or (m3 == m2 and j3 < j2):
        m2 = m3
        j2 = j3
    if m2 > m0 or (m2 == m0 and j2 < j0):
        m0 = m2
        j0 = j2
    best[0] = m0
    return j0


cdef int _batch_omp_one(const dtype* G, const dtype* alpha0, const double* dinv, int N,
                        int kmax, bint error_mode, double eps, double ynorm2,
                        double dep_tol, double tiny_rel,
                        dtype* L, dtype* B, dtype* alpha, dtype* z, dtype* w,
                        double* score, double* dinvm, int* idx_out, dtype* val_out,
                        int* nnz_out, double* resid_out) noexcept nogil:
    """Batch-OMP for one signal (Rubinstein, Zibulevsky & Elad 2008).

    Same iterates as RZE's Algorithm 3, organised so that each iteration
    reads ONE row of the Gram matrix: with the Cholesky factor L L^H = G[I, I]
    keep B = G[:, I] L^{-H} (= A^H Q, Q an orthonormal basis of span A_I) and
    z = L^{-1} alpha0[I] (= Q^H y).  Then, for a new atom j,
        w   = L^{-1} G[I, j] = conj(B[j, :])        (no triangular solve)
        d   = G_jj - ||w||^2                          (Cholesky pivot)
        b   = (G[:, j] - B w) / sqrt(d)               (new column of B)
        z_n = (alpha0_j - w^H z) / sqrt(d)
        alpha <- alpha - b z_n                        (= A^H r)
        ||r||^2 = ||y||^2 - ||z||^2
    and at the end gamma = L^{-H} z.  RZE's form re-reads n rows of G per
    iteration; when G does not fit in L2 (N = 256 already does not on small
    caches) those reads dominate.  B lives in a per-thread buffer.

    The selection stops when the best score falls to ``tiny_rel`` times
    max(||y||^2, ||z||^2): relative, so that it also works when ``ynorm2``
    is unknown (passed as 0; ||z||^2 is then the energy explained so far).

    In-place: L (row-major kmax x kmax), B (N x (kmax - 1): for real data in
    panels of 32 rows, each panel's columns contiguous (``sc_omp_step``), so
    that an update reads B as one sequential stream; column-major otherwise),
    alpha, z, w, score (selection scores), dinvm (1/G_kk, zeroed for
    selected atoms so they are never selected again) and the outputs.  For
    real data, dinvm must equal dinv on entry and is restored on exit (no
    copy per signal), and the update, the scores and the selection are one
    fused SIMD pass (``sc_omp_step``).
    """
    # C ints in the loops (N <= INT_MAX is checked by the callers); every
    # product of sizes is formed in Py_ssize_t
    cdef int n = 0, j = -1, t, i, k, status = 0
    cdef double best, d, sd, E = ynorm2, znorm2 = 0.0, ref
    cdef dtype s, s2, zn
    cdef const dtype* Grow
    cdef dtype* bn
    cdef dtype* bt
    cdef dtype* bt2
    if dtype is double:
        # dinvm holds dinv on entry (restored below); alpha is first written
        # by the first update, from alpha0
        if error_mode and E <= eps:
            nnz_out[0] = 0
            resid_out[0] = E
            return 0
        j = sc_omp_first_real(_SIMD, alpha0, dinv, N, &best)
    else:
        for k in range(N):
            alpha[k] = alpha0[k]
            dinvm[k] = dinv[k]
            score[k] = abs2(alpha0[k]) * dinv[k]
        if error_mode and E <= eps:
            nnz_out[0] = 0
            resid_out[0] = E
            return 0
        j = _argmax_scores(score, N, &best)
    while n < kmax:
        # selection: |alpha_k|^2 / G_kk over inactive atoms, first maximum wins
        # (j and best come from the previous update, fused with it)
        ref = ynorm2 if ynorm2 > znorm2 else znorm2
        if j < 0 or best <= tiny_rel * ref:
            status = 1
            break
        Grow = G + <Py_ssize_t> j * N
        d = real(Grow[j])
        if dtype is double:
            # B in panels (sc_omp_step): row j is contiguous in its panel
            bt = B + <Py_ssize_t> (j // 32) * 32 * (kmax - 1) + j % 32
            for t in range(n):
                w[t] = bt[<Py_ssize_t> t * 32]
                d -= w[t] * w[t]
        else:
            for t in range(n):
                w[t] = conj(B[<Py_ssize_t> t * N + j])
                d -= abs2(w[t])
        if d <= dep_tol * real(Grow[j]):
            status = 2
            break
        sd = sqrt(d)
        for t in range(n):
            L[<Py_ssize_t> n * kmax + t] = conj(w[t])
        L[<Py_ssize_t> n * kmax + n] = sd
        s = alpha0[j]
        for t in range(n):
            s = s - conj(w[t]) * z[t]
        zn = s / sd
        z[n] = zn
        znorm2 += abs2(zn)
        idx_out[n] = j
        dinvm[j] = 0.0
        n += 1
        E = ynorm2 - znorm2
        if E < 0.0:
            E = 0.0
        if (error_mode and E <= eps) or n == kmax:
            break  # no further selection: B and alpha are not needed
        # b = (conj(G[j, :]) - B w) / sqrt(d): one Gram row, n axpys on the hot B
        bn = B + <Py_ssize_t> (n - 1) * N
        if dtype is double:
            # one fused pass (SIMD), which also selects the next atom
            j = sc_omp_step_real(_SIMD, Grow, B, kmax - 1, N, n - 1, w, sd, zn,
                                 alpha0 if n == 1 else alpha, alpha, dinvm, &best)
            continue
        # (columns two at a time: half the loads/stores of bn)
        t = 0
        if n - 1 >= 2:
            bt = B
            bt2 = B + N
            s = w[0]
            s2 = w[1]
            for k in range(N):
                bn[k] = conj(Grow[k]) - bt[k] * s - bt2[k] * s2
            t = 2
        else:
            for k in range(N):
                bn[k] = conj(Grow[k])
        while t + 1 < n - 1:
            bt = B + <Py_ssize_t> t * N
            bt2 = bt + N
            s = w[t]
            s2 = w[t + 1]
            for k in range(N):
                bn[k] = bn[k] - bt[k] * s - bt2[k] * s2
            t += 2
        if t < n - 1:
            bt = B + <Py_ssize_t> t * N
            s = w[t]
            for k in range(N):
                bn[k] = bn[k] - bt[k] * s
        for k in range(N):
            bn[k] = bn[k] / sd
            alpha[k] = alpha[k] - bn[k] * zn
            score[k] = abs2(alpha[k]) * dinvm[k]
        j = _argmax_scores(score, N, &best)
    if status == 1 and E > RESID_REL * ynorm2:
        # the residual is orthogonal to every remaining atom but not zero:
        # they all lie in the span of the selected ones (rank reached)
        status = 2
    if error_mode and E > eps and status == 0:
        status = 3
    if dtype is double:
        for t in range(n):
            dinvm[idx_out[t]] = dinv[idx_out[t]]
    # gamma = L^{-H} z (backward substitution), written to val_out
    for i in range(n - 1, -1, -1):
        s = z[i]
        for t in range(i + 1, n):
            s = s - conj(L[<Py_ssize_t> t * kmax + i]) * val_out[t]
        val_out[i] = s / L[<Py_ssize_t> i * kmax + i]
    nnz_out[0] = n
    resid_out[0] = E
    return status


cdef int _check_dims(Py_ssize_t a, Py_ssize_t b, Py_ssize_t kmax=0) except -1:
    if kmax < 0 or kmax > b:
        raise ValueError(f"kmax={kmax} must be in [0, n_atoms={b}].")
    if a > INT_MAX or b > INT_MAX:
        raise ValueError(
            f"array dimensions ({a}, {b}) exceed the 32-bit BLAS limit ({INT_MAX}); "
            "split the problem.")
    return 0


def batch_omp_gram(const dtype[:, ::1] G, const dtype[:, ::1] Aty, const double[::1] dinv,
                   const double[::1] ynorm2, const double[::1] eps, Py_ssize_t kmax,
                   bint error_mode, double dep_tol, int n_threads,
                   int[:, ::1] idx_out, dtype[:, ::1] val_out, int[::1] nnz_out,
                   double[::1] resid_out, int[::1] status_out, dtype[:, ::1] dense_out,
                   bint to_dense):
    """Batch-OMP over the rows of ``Aty`` (one signal per row).

    ``G`` is the (N, N) Gram matrix A^H A, ``Aty`` the (L, N) correlations
    (row i = A^H y_i), ``ynorm2`` the squared norms of the signals (used for
    the residual; 0 when unknown), ``eps`` per-signal squared-residual
    targets (error mode).  Outputs: the first ``nnz_out[i]`` entries of
    ``idx_out[i]``/``val_out[i]``; when ``to_dense``, also scattered into
    row i of ``dense_out`` (zeroed by the caller), which saves a pass in
    Python.  Raises MemoryError when a workspace cannot be allocated.
    """
    cdef Py_ssize_t t, q
    cdef Py_ssize_t L_sig = Aty.shape[0]
    cdef Py_ssize_t N = G.shape[0]
    cdef Py_ssize_t i
    cdef dtype* Lbuf
    cdef dtype* B
    cdef dtype* alpha
    cdef dtype* gamma
    cdef dtype* w
    cdef double* score
    cdef double* dinvm
    cdef double tiny_rel = 1e-28
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False
    _check_dims(N, N, kmax)
    if L_sig == 0 or kmax == 0:
        for i in range(L_sig):
            nnz_out[i] = 0
            resid_out[i] = ynorm2[i]
            status_out[i] = 0
        return
    with nogil, parallel(num_threads=n_threads):
        Lbuf = <dtype*> _xmalloc(<size_t> (kmax * kmax), sizeof(dtype))
        B = <dtype*> _xmalloc(<size_t> (((N + 31) // 32) * 32 * (kmax - 1)), sizeof(dtype))
        alpha = <dtype*> _xmalloc(<size_t> N, sizeof(dtype))
        gamma = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        w = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        score = <double*> _xmalloc(<size_t> N, sizeof(double))
        dinvm = <double*> _xmalloc(<size_t> N, sizeof(double))
        ok = (Lbuf != NULL and B != NULL and alpha != NULL and gamma != NULL and w != NULL
              and score != NULL and dinvm != NULL)
        if not ok:
            failed[0] = 1
        else:
            for q in range(N):
                dinvm[q] = dinv[q]  # the kernel restores the entries it zeroes
        for i in prange(L_sig, schedule="dynamic", chunksize=16):
            if ok:
                status_out[i] = _batch_omp_one(
                    &G[0, 0], &Aty[i, 0], &dinv[0], <int> N, <int> kmax, error_mode, eps[i],
                    ynorm2[i],
                    dep_tol, tiny_rel, Lbuf, B, alpha, gamma, w, score, dinvm,
                    &idx_out[i, 0], &val_out[i, 0], &nnz_out[i], &resid_out[i])
                if to_dense:
                    for t in range(nnz_out[i]):
                        dense_out[i, idx_out[i, t]] = val_out[i, t]
        free(Lbuf)
        free(B)
        free(alpha)
        free(gamma)
        free(w)
        free(score)
        free(dinvm)
    if failed_flag:
        raise MemoryError(
            f"Batch-OMP could not allocate its per-thread workspace ({N} atoms, "
            f"{kmax} coefficients); lower n_nonzero_coefs or n_jobs.")


def batch_omp_encode(const dtype[:, ::1] X, const dtype[:, ::1] DH, const dtype[:, ::1] G,
                     const double[::1] dinv, const double[::1] eps, Py_ssize_t kmax,
                     bint error_mode, double dep_tol, int n_threads, Py_ssize_t block,
                     int[:, ::1] idx_out, dtype[:, ::1] val_out, int[::1] nnz_out,
                     double[::1] resid_out, int[::1] status_out, dtype[:, ::1] dense_out,
                     bint to_dense):
    """Batch-OMP straight from the signals: correlations and pursuit in one parallel region.

    ``X`` (L, m) holds the signals as rows, ``DH`` (m, N) is conj(A)
    (row-major, so that row i of X @ DH is (A^H x_i)^T), ``G`` = A^H A.
    Each thread takes a block of ``block`` signals, forms their correlations
    with one single-threaded GEMM into its own buffer (hot in cache for the
    pursuit that follows) and runs Batch-OMP on them.  Doing the GEMM inside
    the region, instead of one multithreaded BLAS call per chunk, keeps BLAS
    threads from fighting the OpenMP threads (the caller caps BLAS at one
    thread).  Outputs as in :func:`batch_omp_gram`.
    """
    cdef Py_ssize_t L_sig = X.shape[0]
    cdef Py_ssize_t m = X.shape[1]
    cdef Py_ssize_t N = G.shape[0]
    cdef Py_ssize_t n_blocks
    cdef Py_ssize_t b, i, start, r, nb, t, f, q
    cdef double ynorm2
    cdef dtype* Lbuf
    cdef dtype* B
    cdef dtype* alpha
    cdef dtype* gamma
    cdef dtype* w
    cdef dtype* C
    cdef double* score
    cdef double* dinvm
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False
    _check_dims(m, N, kmax)
    if block < 1 or block > INT_MAX:
        raise ValueError(f"block must be in [1, {INT_MAX}]; got {block}.")
    if L_sig == 0:
        return
    if kmax == 0:
        for i in range(L_sig):
            nnz_out[i] = 0
            resid_out[i] = 0.0
            for f in range(m):
                resid_out[i] += abs2(X[i, f])
            status_out[i] = 0
        return
    n_blocks = (L_sig + block - 1) // block
    with nogil, parallel(num_threads=n_threads):
        Lbuf = <dtype*> _xmalloc(<size_t> (kmax * kmax), sizeof(dtype))
        B = <dtype*> _xmalloc(<size_t> (((N + 31) // 32) * 32 * (kmax - 1)), sizeof(dtype))
        alpha = <dtype*> _xmalloc(<size_t> N, sizeof(dtype))
        gamma = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        w = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        C = <dtype*> _xmalloc(<size_t> (N * block), sizeof(dtype))
        score = <double*> _xmalloc(<size_t> N, sizeof(double))
        dinvm = <double*> _xmalloc(<size_t> N, sizeof(double))
        ok = (Lbuf != NULL and B != NULL and alpha != NULL and gamma != NULL and w != NULL
              and C != NULL and score != NULL and dinvm != NULL)
        if not ok:
            failed[0] = 1
        else:
            for q in range(N):
                dinvm[q] = dinv[q]  # the kernel restores the entries it zeroes
        for b in prange(n_blocks, schedule="dynamic"):
            if ok:
                start = b * block
                nb = L_sig - start if L_sig - start < block else block
                # row-major C (nb x N) = X[start:start+nb] (nb x m) @ DH (m x N),
                # i.e. column-major C^T = DH^T X_blk^T
                gemm_nn(<int> N, <int> nb, <int> m, <dtype*> &DH[0, 0], <int> N,
                        <dtype*> &X[start, 0], <int> m, C, <int> N)
                for r in range(nb):
                    i = start + r
                    ynorm2 = 0.0
                    for f in range(m):
                        ynorm2 = ynorm2 + abs2(X[i, f])
                    status_out[i] = _batch_omp_one(
                        &G[0, 0], C + r * N, &dinv[0], <int> N, <int> kmax, error_mode, eps[i],
                        ynorm2, dep_tol, 1e-28, Lbuf, B, alpha, gamma, w, score, dinvm,
                        &idx_out[i, 0], &val_out[i, 0], &nnz_out[i], &resid_out[i])
                    if to_dense:
                        for t in range(nnz_out[i]):
                            dense_out[i, idx_out[i, t]] = val_out[i, t]
        free(Lbuf)
        free(B)
        free(alpha)
        free(gamma)
        free(w)
        free(C)
        free(score)
        free(dinvm)
    if failed_flag:
        raise MemoryError(
            f"Batch-OMP could not allocate its per-thread workspace ({N} atoms, "
            f"{kmax} coefficients, blocks of {block} signals); lower n_nonzero_coefs "
            "or n_jobs.")


cdef int _select_double(const dtype* A, Py_ssize_t m, Py_ssize_t N, bint rowmajor, dtype* r,
                        dtype* c, const double* dinv, const char* mask,
                        double* best) noexcept nogil:
    """The OMP selection from c = A^H r in working precision (one gemv)."""
    cdef int im = <int> m, iN = <int> N
    cdef Py_ssize_t k
    if not rowmajor:
        gemv(OP_C, im, iN, 1.0, <dtype*> A, im, r, 0.0, c)
    elif dtype is double:
        gemv(OP_N, iN, im, 1.0, <dtype*> A, iN, r, 0.0, c)
    else:
        # A^H r = conj(A^T conj(r)); r is restored afterwards
        for k in range(m):
            r[k] = conj(r[k])
        gemv(OP_N, iN, im, 1.0, <dtype*> A, iN, r, 0.0, c)
        for k in range(m):
            r[k] = conj(r[k])
        for k in range(N):
            c[k] = conj(c[k])
    return _argmax_inactive(c, dinv, mask, iN, best)


cdef int _screened_select(const double* A, const float* A32, Py_ssize_t m, Py_ssize_t N,
                          bint rowmajor, const double* r, double E, const double* dinv,
                          double sdinv_max, const char* mask, float* r32, float* c32,
                          double gamma, double* best) noexcept nogil:
    """The OMP selection from single-precision correlations, made exact.

    c32 = A32^T r32 (a float32 copy of A and of the residual scaled by a
    power of two: half the memory traffic of the double product, which
    bounds Cholesky OMP once A leaves the L2 cache) approximates the
    normalised correlations |a_j^T r| / ||a_j|| within
    Delta = gamma ||r32|| + (underflow term), gamma = (m + 4) u32 / (1 -
    (m + 4) u32) (the a-priori bound of a dot product of m terms, any
    summation order, plus the roundings of A and r to float32).  Every atom
    within 2 Delta of the largest approximate value is a candidate; their
    correlations are recomputed in double and the largest (first index on
    ties) wins: the atom the double product would select, up to the rounding
    of the two double evaluations.

    Returns the atom, -1 when every atom is selected, -2 when the screen
    cannot decide (residual at rounding level, too many candidates): the
    caller then uses the double product.
    """
    cdef Py_ssize_t i, k
    cdef double rmax = 0.0, rs, v, smax = -1.0, thr, delta, cj, sc, b = -1.0
    cdef int j = -1, ncand = 0
    cdef int im = <int> m, iN = <int> N, one = 1
    cdef float fone = 1.0, fzero = 0.0
    cdef char tr
    for i in range(m):
        if fabs(r[i]) > rmax:
            rmax = fabs(r[i])
    if not (rmax > 0.0 and isfinite(rmax)):
        return -2
    rs = ldexp(1.0, -ilogb(rmax))  # max |r_i| rs in [1, 2)
    for i in range(m):
        r32[i] = <float> (r[i] * rs)
    if rowmajor:
        tr = 78  # 'N' on the (N, m) column-major view of a C-ordered A
        sgemv(&tr, &iN, &im, &fone, <float*> A32, &iN, r32, &one, &fzero, c32, &one)
    else:
        tr = 84  # 'T'
        sgemv(&tr, &im, &iN, &fone, <float*> A32, &im, r32, &one, &fzero, c32, &one)
    # ||r32|| <= ||r|| rs (1 + u32); underflow of float32 products: < 2^-149 each
    delta = gamma * sqrt(E) * rs * 1.0000002 + ldexp(<double> m, -140) * sdinv_max
    for k in range(N):
        if mask[k] == 0:
            v = c32[k]
            v = v * v * dinv[k]
            if v > smax:
                smax = v
    if smax < 0.0:
        return -1
    thr = sqrt(smax) - 2.0 * delta
    if thr <= 0.0:
        return -2
    thr = thr * thr
    for k in range(N):
        if mask[k] == 0:
            v = c32[k]
            v = v * v * dinv[k]
            if v >= thr:
                ncand += 1
                if ncand > 64:
                    return -2
                cj = 0.0
                if rowmajor:
                    for i in range(m):
                        cj += A[i * N + k] * r[i]
                else:
                    for i in range(m):
                        cj += A[k * m + i] * r[i]
                sc = cj * cj * dinv[k]
                if sc > b:
                    b = sc
                    j = <int> k
    best[0] = b
    return j


cdef int _omp_one(const dtype* A, Py_ssize_t m, Py_ssize_t N, bint rowmajor, const dtype* y,
                  const double* dinv, Py_ssize_t kmax, bint error_mode, double eps,
                  double dep_tol, double tiny, double ynorm2,
                  dtype* L, dtype* As, dtype* r, dtype* c, dtype* z, dtype* w, dtype* z1,
                  char* mask, int* idx_out, dtype* val_out, int* nnz_out,
                  double* resid_out, const float* A32, float* r32, float* c32,
                  double gamma, double sdinv_max) noexcept nogil:
    """Cholesky OMP for one signal without a Gram matrix (spec 1.4).

    A is (m, N), column-major, or row-major when ``rowmajor`` (the memory of
    a C-ordered array: the caller need not copy it; A^H r is then one
    non-transposed gemv on A^T, conjugating r and the result for complex
    data).  In-place: L (kmax x kmax, L L^H = A_S^H A_S), As (m x (kmax + 1),
    the selected columns, the candidate in the last one), r (residual),
    c (A^H r), z, w, z1 (L^{-1} A_S^H y, one entry more per iteration).  With ``A32`` (a float32 copy of real A, same layout;
    NULL otherwise) the selection is screened in single precision
    (:func:`_screened_select`).
    """
    cdef Py_ssize_t n = 0, j, t, k
    cdef int status = 0
    cdef int im = <int> m, iN = <int> N, ik = <int> kmax
    cdef double best, d, E = 0.0, ajn
    cdef dtype* aj
    cdef dtype acc
    memset(mask, 0, N)
    for k in range(m):
        r[k] = y[k]
        E += abs2(y[k])
    if error_mode and E <= eps:
        nnz_out[0] = 0
        resid_out[0] = E
        return 0
    while n < kmax:
        j = -2
        if dtype is double:
            if A32 != NULL:
                j = _screened_select(A, A32, m, N, rowmajor, r, E, dinv, sdinv_max, mask,
                                     r32, c32, gamma, &best)
        if j == -2:
            j = _select_double(A, m, N, rowmajor, r, c, dinv, mask, &best)
        if j < 0 or best <= tiny:
            status = 1
            break
        # the candidate column goes to slot n of As (kept when it is accepted)
        aj = As + n * m
        if rowmajor:
            for k in range(m):
                aj[k] = A[k * N + j]
        else:
            for k in range(m):
                aj[k] = A[j * m + k]
        ajn = 1.0 / dinv[j]
        if n > 0:
            # w = L^{-1} A_S^H a_j ; d = ||a_j||^2 - ||w||^2
            gemv(OP_C, im, <int> n, 1.0, As, im, aj, 0.0, w)
            trsv_lower(OP_N, <int> n, L, ik, w)
            d = ajn
            for t in range(n):
                d -= abs2(w[t])
            if d <= dep_tol * ajn:
                status = 2
                break
            for t in range(n):
                L[n + t * kmax] = conj(w[t])
            L[n + n * kmax] = sqrt(d)
        else:
            L[0] = sqrt(ajn)
        idx_out[n] = <int> j
        mask[j] = 1
        n += 1
        # z = (L L^H)^{-1} A_S^H y: z1 = L^{-1} A_S^H y gains one entry
        # (forward substitution with the new row of L), then z = L^{-H} z1
        acc = 0.0
        for k in range(m):
            acc = acc + conj(aj[k]) * y[k]
        for t in range(n - 1):
            acc = acc - L[(n - 1) + t * kmax] * z1[t]
        z1[n - 1] = acc / L[(n - 1) + (n - 1) * kmax]
        for t in range(n):
            z[t] = z1[t]
        trsv_lower(OP_C, <int> n, L, ik, z)
        # r = y - A_S z
        for k in range(m):
            r[k] = y[k]
        gemv(OP_N, im, <int> n, -1.0, As, im, z, 1.0, r)
        E = 0.0
        for k in range(m):
            E += abs2(r[k])
        if error_mode and E <= eps:
            break
    if status == 1 and E > RESID_REL * ynorm2:
        status = 2  # residual orthogonal to the remaining atoms but not zero: rank reached
    if error_mode and E > eps and status == 0:
        status = 3
    for t in range(n):
        val_out[t] = z[t]
    nnz_out[0] = <int> n
    resid_out[0] = E
    return status


def omp_nogram(const dtype[::1, :] A, const dtype[::1, :] Y, const double[::1] dinv,
               const double[::1] eps, Py_ssize_t kmax, bint error_mode, double dep_tol,
               int n_threads, int[:, ::1] idx_out, dtype[:, ::1] val_out,
               int[::1] nnz_out, double[::1] resid_out, int[::1] status_out,
               const float[::1] A32=None):
    """Cholesky OMP over the columns of ``Y`` (m, L), dictionary ``A`` (m, N), both Fortran.

    ``A32``: optionally, ``A`` in float32 (same layout, raveled), for the
    screened selection of real data (:func:`_screened_select`).
    """
    _omp_nogram(&A[0, 0], A.shape[0], A.shape[1], False, Y, dinv, eps, kmax, error_mode,
                dep_tol, n_threads, idx_out, val_out, nnz_out, resid_out, status_out, A32)


def omp_nogram_rowmajor(const dtype[:, ::1] A, const dtype[::1, :] Y, const double[::1] dinv,
                        const double[::1] eps, Py_ssize_t kmax, bint error_mode,
                        double dep_tol, int n_threads, int[:, ::1] idx_out,
                        dtype[:, ::1] val_out, int[::1] nnz_out, double[::1] resid_out,
                        int[::1] status_out, const float[::1] A32=None):
    """:func:`omp_nogram` with a C-ordered dictionary ``A`` (m, N): no copy of A."""
    _omp_nogram(&A[0, 0], A.shape[0], A.shape[1], True, Y, dinv, eps, kmax, error_mode,
                dep_tol, n_threads, idx_out, val_out, nnz_out, resid_out, status_out, A32)


cdef _omp_nogram(const dtype* Aptr, Py_ssize_t m, Py_ssize_t N, bint rowmajor,
                 const dtype[::1, :] Y, const double[::1] dinv,
                 const double[::1] eps, Py_ssize_t kmax, bint error_mode, double dep_tol,
                 int n_threads, int[:, ::1] idx_out, dtype[:, ::1] val_out,
                 int[::1] nnz_out, double[::1] resid_out, int[::1] status_out,
                 const float[::1] A32):
    cdef Py_ssize_t L_sig = Y.shape[1]
    cdef Py_ssize_t i, k
    cdef dtype* Lbuf
    cdef dtype* As
    cdef dtype* r
    cdef dtype* c
    cdef dtype* z
    cdef dtype* w
    cdef dtype* z1
    cdef char* mask
    cdef float* r32
    cdef float* c32
    cdef const float* a32 = NULL
    cdef double ynorm2, gamma = 0.0, sdinv_max = 0.0, u32 = 5.9604644775390625e-08
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False
    _check_dims(m, N, kmax)
    if L_sig == 0:
        return
    if kmax == 0:
        for i in range(L_sig):
            nnz_out[i] = 0
            resid_out[i] = 0.0
            for k in range(m):
                resid_out[i] += abs2(Y[k, i])
            status_out[i] = 0
        return
    if dtype is double:
        if A32 is not None and (m + 4) * u32 < 1e-3:
            if A32.shape[0] != m * N:
                raise ValueError(f"A32 must hold the {m * N} entries of A; got {A32.shape[0]}.")
            a32 = &A32[0]
            gamma = (m + 4) * u32 / (1.0 - (m + 4) * u32) * 1.01
            for k in range(N):
                if sqrt(dinv[k]) > sdinv_max:
                    sdinv_max = sqrt(dinv[k])
    with nogil, parallel(num_threads=n_threads):
        r32 = NULL
        c32 = NULL
        if a32 != NULL:
            r32 = <float*> _xmalloc(<size_t> m, sizeof(float))
            c32 = <float*> _xmalloc(<size_t> N, sizeof(float))
        Lbuf = <dtype*> _xmalloc(<size_t> (kmax * kmax), sizeof(dtype))
        As = <dtype*> _xmalloc(<size_t> (m * (kmax + 1)), sizeof(dtype))
        r = <dtype*> _xmalloc(<size_t> m, sizeof(dtype))
        c = <dtype*> _xmalloc(<size_t> N, sizeof(dtype))
        z = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        w = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        z1 = <dtype*> _xmalloc(<size_t> kmax, sizeof(dtype))
        mask = <char*> _xmalloc(<size_t> N, 1)
        ok = (Lbuf != NULL and As != NULL and r != NULL and c != NULL and z != NULL
              and w != NULL and z1 != NULL and mask != NULL
              and (a32 == NULL or (r32 != NULL and c32 != NULL)))
        if not ok:
            failed[0] = 1
        for i in prange(L_sig, schedule="dynamic", chunksize=16):
            if ok:
                ynorm2 = 0.0
                for k in range(m):
                    ynorm2 = ynorm2 + abs2(Y[k, i])
                status_out[i] = _omp_one(
                    Aptr, m, N, rowmajor, &Y[0, i], &dinv[0], kmax, error_mode, eps[i], dep_tol,
                    1e-28 * ynorm2, ynorm2, Lbuf, As, r, c, z, w, z1, mask, &idx_out[i, 0],
                    &val_out[i, 0], &nnz_out[i], &resid_out[i], a32, r32, c32, gamma,
                    sdinv_max)
        free(r32)
        free(c32)
        free(Lbuf)
        free(As)
        free(r)
        free(c)
        free(z)
        free(w)
        free(z1)
        free(mask)
    if failed_flag:
        raise MemoryError(
            f"OMP could not allocate its per-thread workspace ({m} measurements, {N} atoms, "
            f"{kmax} coefficients); lower n_nonzero_coefs or n_jobs.")


# ---------------------------------------------------------------------------
# One real signal, float64, with every check in one compiled call: the lean
# path of ``omp(A, y)`` and ``batch_omp(G, A^T y)`` for a single vector, where
# the Python-level checks, conversions and dispatch would cost more than the
# pursuit on small problems.  They return None whenever the general path must
# decide (non-finite or out-of-range data, zero atoms, dependence), which
# then gives the same answer or the same error as always.

# Data whose largest entry lies in [2^-64, 2^65) are left unscaled by the
# Python-level rescaling (``_pow2_scale``): the lean paths handle those only.
DEF SAFE_LO = 5.421010862427522e-20   # 2^-64
DEF SAFE_HI = 3.6893488147419103e+19  # 2^65


def omp_single(const double[:, ::1] A, bint rowmajor, const double[::1] y, Py_ssize_t kmax,
               double dep_tol, bint screen):
    """Cholesky OMP for one real float64 signal, checks included.

    ``A`` is the dictionary's memory as a C-contiguous array: (m, N) when
    ``rowmajor``, else the (N, m) transpose of a Fortran-ordered (m, N)
    dictionary.  One pass over A gives the squared column norms, which are
    finite and non-zero exactly when A is finite, has no zero column and
    needs no rescaling (the rule of ``_dictionary_scale``).  ``screen``: the
    float32 screening of the selection (same atoms, see
    :func:`_screened_select`).  Returns ``(coef, n_atoms, residual_norm2,
    status)`` or None (the general path decides).
    """
    cdef Py_ssize_t m, N, i, j
    cdef double big = 0.0, small = INFINITY, s, ymax = 0.0, ynorm2 = 0.0
    cdef double gamma = 0.0, sdinv_max = 0.0, u32 = 5.9604644775390625e-08
    cdef int status
    if rowmajor:
        m, N = A.shape[0], A.shape[1]
    else:
        N, m = A.shape[0], A.shape[1]
    if y.shape[0] != m or kmax < 1 or kmax > m or kmax > N or m > INT_MAX or N > INT_MAX:
        return None
    dinv_arr = np.empty(N)
    cdef double[::1] dinv = dinv_arr
    coef = np.zeros(N)
    cdef double[::1] cf = coef
    cdef int nnz = 0
    cdef double resid = 0.0
    cdef double* work = NULL
    cdef float* w32 = NULL
    cdef int* idx = NULL
    cdef char* mask = NULL
    cdef const double* Ap = &A[0, 0]
    with nogil:
        # squared column norms (NaN or inf whenever A holds one)
        if rowmajor:
            for j in range(N):
                dinv[j] = 0.0
            for i in range(m):
                for j in range(N):
                    dinv[j] += Ap[i * N + j] * Ap[i * N + j]
        else:
            for j in range(N):
                dinv[j] = sc_omp_sumsq_real(_SIMD, Ap + j * m, m)
        for j in range(N):
            s = dinv[j]
            if s > big or s != s:
                big = s   # NaN stays, refused below
            if s < small:
                small = s
        for i in range(m):
            ynorm2 += y[i] * y[i]
            if fabs(y[i]) > ymax or y[i] != y[i]:
                ymax = fabs(y[i])
    if not (isfinite(big) and small > 0.0 and sqrt(big) < SAFE_HI
            and sqrt(big / m) >= SAFE_LO and ymax >= SAFE_LO and ymax < SAFE_HI
            and isfinite(ynorm2)):
        return None
    if screen and (m + 4) * u32 >= 1e-3:
        screen = False
    work = <double*> _xmalloc(<size_t> (kmax * kmax + m * (kmax + 1) + m + N + 4 * kmax),
                              sizeof(double))
    idx = <int*> _xmalloc(<size_t> kmax, sizeof(int))
    mask = <char*> _xmalloc(<size_t> N, 1)
    if screen:
        w32 = <float*> _xmalloc(<size_t> (m * N + m + N), sizeof(float))
    if work == NULL or idx == NULL or mask == NULL or (screen and w32 == NULL):
        free(work)
        free(idx)
        free(mask)
        free(w32)
        raise MemoryError(f"OMP could not allocate its workspace ({m} measurements, {N} atoms).")
    cdef double* Lb = work
    cdef double* As = Lb + kmax * kmax
    cdef double* r = As + m * (kmax + 1)
    cdef double* c = r + m
    cdef double* z = c + N
    cdef double* w = z + kmax
    cdef double* z1 = w + kmax
    cdef double* val = z1 + kmax
    with nogil:
        for j in range(N):
            dinv[j] = 1.0 / dinv[j]
        if screen:
            gamma = (m + 4) * u32 / (1.0 - (m + 4) * u32) * 1.01
            for j in range(N):
                if sqrt(dinv[j]) > sdinv_max:
                    sdinv_max = sqrt(dinv[j])
            for i in range(m * N):
                w32[i] = <float> Ap[i]
        status = _omp_one(Ap, m, N, rowmajor, &y[0], &dinv[0], kmax, False, 0.0, dep_tol,
                          1e-28 * ynorm2, ynorm2, Lb, As, r, c, z, w, z1, mask, idx, val, &nnz,
                          &resid, w32, w32 + m * N if screen else NULL,
                          w32 + m * N + m if screen else NULL, gamma, sdinv_max)
        if status != 2:
            for j in range(nnz):
                cf[idx[j]] = val[j]
    free(work)
    free(idx)
    free(mask)
    free(w32)
    if status == 2:
        return None
    return coef, nnz, resid, status


def batch_omp_single(const double[:, ::1] G, const double[::1] aty, Py_ssize_t kmax,
                     double ynorm2, double dep_tol):
    """Batch-OMP for one real float64 signal from a C-ordered Gram, checks included.

    One pass over G checks that it is finite with a positive diagonal in the
    range the Python-level rescaling leaves alone; ``aty`` likewise.
    ``ynorm2``: ||y||^2, or 0 when unknown.  Returns ``(coef, n_atoms,
    residual_norm2, status)`` or None (the general path decides).
    """
    cdef Py_ssize_t N = G.shape[0], i, j
    cdef double s0 = 0.0, dmax = 0.0, dmin = INFINITY
    cdef double amax = 0.0, d
    cdef const double* Gp = &G[0, 0]
    cdef int status, nnz = 0
    cdef double resid = 0.0
    if (G.shape[1] != N or aty.shape[0] != N or kmax < 1 or kmax > N or N > INT_MAX
            or not isfinite(ynorm2) or ynorm2 < 0.0):
        return None
    with nogil:
        # finite: a NaN or an infinity anywhere makes the sums non-finite (and
        # huge finite entries merely send the data to the general path)
        s0 = sc_omp_sum_real(_SIMD, Gp, N * N)
        for i in range(N):
            d = Gp[i * N + i]
            if d > dmax or d != d:
                dmax = d
            if d < dmin:
                dmin = d
        for i in range(N):
            if fabs(aty[i]) > amax or aty[i] != aty[i]:
                amax = fabs(aty[i])
    # the diagonal: G_jj = ||a_j||^2 in [2^-128, 2^130) keeps e_G within the
    # unscaled range of batch_omp's rule (|e_G| <= 128)
    if not (isfinite(s0) and dmin > 0.0 and dmax < SAFE_HI * SAFE_HI
            and dmax >= SAFE_LO * SAFE_LO and amax >= SAFE_LO and amax < SAFE_HI):
        return None
    coef = np.zeros(N)
    cdef double[::1] cf = coef
    cdef Py_ssize_t nb = ((N + 31) // 32) * 32 * (kmax - 1)
    cdef double* work = <double*> _xmalloc(<size_t> (kmax * kmax + nb + 3 * N + 3 * kmax),
                                           sizeof(double))
    cdef int* idx = <int*> _xmalloc(<size_t> kmax, sizeof(int))
    if work == NULL or idx == NULL:
        free(work)
        free(idx)
        raise MemoryError(f"Batch-OMP could not allocate its workspace ({N} atoms).")
    cdef double* Lb = work
    cdef double* B = Lb + kmax * kmax
    cdef double* alpha = B + nb
    cdef double* dinv = alpha + N
    cdef double* dinvm = dinv + N
    cdef double* z = dinvm + N
    cdef double* w = z + kmax
    cdef double* val = w + kmax
    with nogil:
        for j in range(N):
            dinv[j] = 1.0 / Gp[j * N + j]
            dinvm[j] = dinv[j]
        status = _batch_omp_one(Gp, &aty[0], dinv, <int> N, <int> kmax, False, 0.0, ynorm2,
                                dep_tol, 1e-28, Lb, B, alpha, z, w, NULL, dinvm, idx, val,
                                &nnz, &resid)
        for j in range(nnz):
            cf[idx[j]] = val[j]
    free(work)
    free(idx)
    return coef, nnz, resid, status


def gram_real(const double[:, ::1] D, double[:, ::1] G, int n_threads, Py_ssize_t tile):
    """G = D D^T for a real C-ordered ``D`` (N, m), in tiles over OpenMP threads.

    The lower triangle in ``tile`` x ``tile`` blocks (SYRK on the diagonal,
    GEMM below it), shared out dynamically, then mirrored.  BLAS runs inside
    the threads: the caller caps it at one thread.  Sparing a threaded BLAS
    call also spares its worker threads, which spin after a call and would
    compete with the pursuit's OpenMP threads for the cores.
    """
    cdef Py_ssize_t N = D.shape[0], m = D.shape[1]
    cdef Py_ssize_t nt, n_tiles, q, a, b, i, j, i0, j0
    cdef int ni, nj, im = <int> m, iN = <int> N
    cdef double one = 1.0, zero = 0.0
    cdef char tT = 84, tN = 78, up = 76  # 'T', 'N', 'L'
    if G.shape[0] != N or G.shape[1] != N:
        raise ValueError(f"G must be {N}x{N}; got {G.shape[0]}x{G.shape[1]}.")
    _check_dims(m, N)
    if N == 0:
        return
    if m == 0:
        G[:, :] = 0.0
        return
    if tile < 1:
        tile = N
    nt = (N + tile - 1) // tile
    n_tiles = nt * (nt + 1) // 2
    # G, read as column-major, is (M^T M) with M = D^T (m x N, ld m): its
    # lower triangle (i >= j) is entry i + j N, i.e. D's row-major upper one
    if n_threads > n_tiles:
        n_threads = <int> n_tiles  # idle threads would only wait at the barrier
    with nogil, parallel(num_threads=n_threads):
        for q in prange(n_tiles, schedule="dynamic", chunksize=1):
            # tile q -> (a, b), b <= a, row by row of the lower triangle
            a = <Py_ssize_t> ((sqrt(8.0 * q + 1.0) - 1.0) / 2.0)
            while a * (a + 1) // 2 > q:
                a = a - 1
            while (a + 1) * (a + 2) // 2 <= q:
                a = a + 1
            b = q - a * (a + 1) // 2
            i0 = a * tile
            j0 = b * tile
            ni = <int> (N - i0 if N - i0 < tile else tile)
            nj = <int> (N - j0 if N - j0 < tile else tile)
            if a == b:
                dsyrk(&up, &tT, &ni, &im, &one, <double*> &D[i0, 0], &im, &zero,
                      &G[i0, i0], &iN)
            else:
                dgemm(&tT, &tN, &ni, &nj, &im, &one, <double*> &D[i0, 0], &im,
                      <double*> &D[j0, 0], &im, &zero, &G[j0, i0], &iN)
        # mirror (same parallel region, after the tiles' barrier): the
        # column-major lower triangle is row-major G[j, i] with i >= j
        for i in prange(N, schedule="static"):
            for j in range(i):
                G[i, j] = G[j, i]
