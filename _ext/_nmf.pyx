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
                        den = den + sc_lp_slope(lam, pn, z)
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
    #include <math.h>
    #define SC_R 4  /* rows per block */
    #if defined(__GNUC__)
    #define SC_INLINE static inline __attribute__((always_inline))
    #else
    #define SC_INLINE static inline
    #endif
    #if defined(__GNUC__) && !defined(SC_NMF_SCALAR)
    #define SC_HALF_SLOPES 1  /* the p = 1/2 slopes by sc_half_slopes (vector code) */
    #else
    #define SC_HALF_SLOPES 0
    #endif
    /* lam * pn * z**(pn - 1), the slope of lam * z**pn (1/sqrt for pn = 1/2); also
       mu_rows' */
    static inline double sc_lp_slope(double lam, double pn, double z) {
        if (pn == 0.5) return 0.5 * lam / sqrt(z);
        return lam * pn * pow(z, pn - 1.0);
    }
    /* The block's rows (w, row stride ldw; nr of the 4 real, the others zero), transposed
       into Zt, and each entry's additive term into At: the l1 weight l1 (row stride ldl1)
       if given, else lam (HALS; MU with p absent or p >= 1), else MU's l_p slope
       lam p z^(p - 1) at the current z where z > tau (zero elsewhere and for lam = 0).
       Returns the bit mask of the rows with p = 1/2, whose slopes are left to the caller
       (sc_half_slopes, four at once); 0 when sc_half_slopes is not available. */
    SC_INLINE int
    sc_gather(int K, int nr, int hals, const double* w, long ldw, const double* l1, long ldl1,
              double lam, const double* p, double tau, double* Zt, double* At)
    {
        int r, k, half = 0;
        for (r = 0; r < SC_R; r++) {
            double pn = (p != NULL && r < nr) ? p[r] : 1.0;
            int defer = SC_HALF_SLOPES && l1 == NULL && !hals && lam > 0.0 && pn == 0.5;
            half |= defer << r;
            for (k = 0; k < K; k++) {
                double z = 0.0, s = 0.0;
                if (r < nr) {
                    z = w[r * ldw + k];
                    if (l1 != NULL)
                        s = l1[r * ldl1 + k];
                    else if (hals || (lam > 0.0 && (p == NULL || pn >= 1.0)))
                        s = lam;
                    else if (!defer && lam > 0.0 && z > tau && z > 0.0)
                        s = sc_lp_slope(lam, pn, z);
                }
                Zt[k * SC_R + r] = z;
                At[k * SC_R + r] = s;
            }
        }
        return half;
    }
    /* the updated rows back into w; the lanes of the rows past the end zeroed */
    SC_INLINE void
    sc_scatter(int K, int nr, double* w, long ldw, double* Zt)
    {
        int r, k;
        for (r = 0; r < SC_R; r++)
            for (k = 0; k < K; k++) {
                if (r < nr)
                    w[r * ldw + k] = Zt[k * SC_R + r];
                else
                    Zt[k * SC_R + r] = 0.0;
            }
    }

    #if defined(__GNUC__) && !defined(SC_NMF_SCALAR)
    /* GCC/clang: vector extensions (SSE2 baseline; AVX2/FMA and AVX-512 clones on x86-64
       Linux, chosen at run time) */
    #if !defined(__clang__)
    #pragma GCC diagnostic ignored "-Wpsabi"
    #endif
    #if !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SC_NMF_DISPATCH 1
    #else
    #define SC_NMF_DISPATCH 0
    #endif
    #define SC_AI __attribute__((always_inline))  /* no call passes a vector */
    typedef double sc_v4 __attribute__((vector_size(32), aligned(8)));
    typedef double sc_v2 __attribute__((vector_size(16), aligned(8)));
    typedef double sc_v8 __attribute__((vector_size(64), aligned(8)));
    typedef long long sc_l4 __attribute__((vector_size(32), aligned(8)));
    #if SC_NMF_DISPATCH
    #include <immintrin.h>  /* broadcasts in the clones (their own target attributes) */
    #endif
    #define SC_AVX2 __attribute__((target("avx2,fma")))
    #define SC_AVX512 __attribute__((target("avx2,fma,avx512f,avx512vl,avx512dq")))
    #if defined(__clang__)
    #define SC_SHUF(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
    #else
    #define SC_SHUF(a, b, i, j, k, l) __builtin_shuffle(a, b, (sc_l4){i, j, k, l})
    #endif

    static inline SC_AI sc_v4 sc_ld(const double* p) { sc_v4 v; memcpy(&v, p, sizeof v); return v; }
    static inline SC_AI void sc_st(double* p, sc_v4 v) { memcpy(p, &v, sizeof v); }
    static inline SC_AI sc_v8 sc_ld8(const double* p) { sc_v8 v; memcpy(&v, p, sizeof v); return v; }
    static inline SC_AI void sc_st8(double* p, sc_v8 v) { memcpy(p, &v, sizeof v); }
    /* float32 entries widened to float64 (one vcvtps2pd) */
    static inline SC_AI sc_v4 sc_ldf(const float* p) { sc_v4 v = {p[0], p[1], p[2], p[3]}; return v; }
    static inline SC_AI sc_v8 sc_ldf8(const float* p) {
        sc_v8 v = {p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]}; return v; }
    static inline SC_AI sc_v2 sc_ld2(const double* p) { sc_v2 v; memcpy(&v, p, sizeof v); return v; }
    static inline SC_AI void sc_st2(double* p, sc_v2 v) { memcpy(p, &v, sizeof v); }
    static inline SC_AI sc_v2 sc_ldf2(const float* p) { sc_v2 v = {p[0], p[1]}; return v; }
    static inline SC_AI sc_v2 sc_bc2(double x) { return x - (sc_v2){0}; }
    static inline SC_AI sc_v4 sc_red2(sc_v2 a0, sc_v2 a1, sc_v2 a2, sc_v2 a3) {
        sc_v4 v = {a0[0] + a0[1], a1[0] + a1[1], a2[0] + a2[1], a3[0] + a3[1]}; return v; }
    static inline SC_AI sc_v4 sc_sqrt4(sc_v4 v) {
        sc_v4 r = {sqrt(v[0]), sqrt(v[1]), sqrt(v[2]), sqrt(v[3])}; return r; }
    /* x in every lane: x - 0 is x (also -0) and compiles to one broadcast, where an
       initialiser {x, x, ...} may become a masked insert per lane */
    static inline SC_AI sc_v4 sc_bc4(double x) { return x - (sc_v4){0}; }
    /* (sum a0, sum a1, sum a2, sum a3), each sum as (v[0] + v[1]) + (v[2] + v[3]) */
    static inline __attribute__((always_inline)) sc_v4
    sc_red4(sc_v4 a0, sc_v4 a1, sc_v4 a2, sc_v4 a3) {
        sc_v4 lo = SC_SHUF(a0, a1, 0, 4, 2, 6) + SC_SHUF(a0, a1, 1, 5, 3, 7);
        sc_v4 hi = SC_SHUF(a2, a3, 0, 4, 2, 6) + SC_SHUF(a2, a3, 1, 5, 3, 7);
        return SC_SHUF(lo, hi, 0, 1, 4, 5) + SC_SHUF(lo, hi, 2, 3, 6, 7);
    }
    /* the same for 8 lanes: v[0:4] + v[4:8] first */
    static inline __attribute__((always_inline)) sc_v4 sc_fold8(sc_v8 a) {
        sc_v4 lo, hi; memcpy(&lo, &a, sizeof lo); memcpy(&hi, (const char*)&a + 32, sizeof hi);
        return lo + hi;
    }
    static inline __attribute__((always_inline)) sc_v4
    sc_red8(sc_v8 a0, sc_v8 a1, sc_v8 a2, sc_v8 a3) {
        return sc_red4(sc_fold8(a0), sc_fold8(a1), sc_fold8(a2), sc_fold8(a3));
    }
    static inline SC_AI sc_v4 sc_zero_below(sc_v4 v, sc_v4 t) {  /* v < t ? 0 : v, lane by lane */
        return (sc_v4)((sc_l4)v & ~(v < t)); }

    /* The row steps of the block's 4 rows at once (lanes: rows), in place in Zt (K x 4;
       Qt, At alike): mu_rows (hals = 0; At the additive term of the denominator) or
       hals_rows (At the l1 weights) on Gd = G + delta2; Tt is K x 4 scratch. */
    static inline __attribute__((always_inline)) void
    sc_update_body(int hals, int K, const double* Gd, double delta2, double eps,
                   const double* Qt, const double* At, double* Zt, double* Tt)
    {
        const sc_v4 zero = {0.0, 0.0, 0.0, 0.0}, ev = sc_bc4(eps);
        int k, j;
        if (hals) {
            for (k = 0; k < K; k++) {
                double hess = Gd[(long)k * K + k];
                sc_v4 g;
                if (hess <= 0.0)
                    continue;
                g = -sc_ld(Qt + 4 * k) - delta2;
                for (j = 0; j < K; j++)
                    g += Gd[(long)k * K + j] * sc_ld(Zt + 4 * j);
                g += sc_ld(At + 4 * k);
                sc_st(Zt + 4 * k, sc_zero_below(sc_ld(Zt + 4 * k) - g / hess, zero));
            }
            return;
        }
        for (k = 0; k < K; k++) {
            sc_v4 den = zero, num, m;
            for (j = 0; j < K; j++)
                den += sc_ld(Zt + 4 * j) * Gd[(long)j * K + k];
            den += sc_ld(At + 4 * k);
            num = sc_zero_below(sc_ld(Qt + 4 * k) + delta2, zero);
            m = (sc_v4)(den < ev);
            den = (sc_v4)(((sc_l4)den & ~(sc_l4)m) | ((sc_l4)ev & (sc_l4)m));
            sc_st(Tt + 4 * k, sc_ld(Zt + 4 * k) * num / den);
        }
        memcpy(Zt, Tt, 4 * (size_t)K * sizeof(double));
    }


    /* 2-lane vectors (SSE2 / NEON width: the baseline) */
    #define SC_TARGET
    #define SC_SQRT4 sc_sqrt4
    #define SC_V sc_v2
    #define SC_W 2
    #define SC_LDD sc_ld2
    #define SC_STD sc_st2
    #define SC_BCASTP(p) sc_bc2(*(p))
    #define SC_RED sc_red2
    #define SC_KG 2
    #define SC_T double
    #define SC_LD sc_ld2
    #define SC_NAME(n) n
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #define SC_T float
    #define SC_LD sc_ldf2
    #define SC_NAME(n) n##_f
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #undef SC_V
    #undef SC_W
    #undef SC_LDD
    #undef SC_STD
    #undef SC_BCASTP
    #undef SC_RED
    #undef SC_KG
    #undef SC_TARGET
    #undef SC_SQRT4

    #if SC_NMF_DISPATCH
    /* 4-lane vectors (the AVX2 clones) */
    #define SC_TARGET SC_AVX2
    #define SC_SQRT4 __builtin_ia32_sqrtpd256
    #define SC_V sc_v4
    #define SC_W 4
    #define SC_LDD sc_ld
    #define SC_STD sc_st
    #define SC_BCASTP(p) _mm256_broadcast_sd(p)
    #define SC_RED sc_red4
    #define SC_KG 2
    #define SC_T double
    #define SC_LD sc_ld
    #define SC_NAME(n) n##_4
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #define SC_T float
    #define SC_LD sc_ldf
    #define SC_NAME(n) n##_f4
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #undef SC_V
    #undef SC_W
    #undef SC_LDD
    #undef SC_STD
    #undef SC_BCASTP
    #undef SC_RED
    #undef SC_KG
    #undef SC_TARGET
    #undef SC_SQRT4
    #endif

    #define SC_ROWS_ARGS long nrows, int L, int K, const double* F, const double* Gd, \
        double delta2, double eps, int hals, double* w, long ldw, const double* l1, long ldl1, \
        double lam, const double* p, double tau, double* ws
    #define SC_ROWS_CALL (xr, ldx, nrows, L, K, F, Gd, delta2, eps, hals, w, ldw, l1, ldl1, \
                          lam, p, tau, ws, xb, A, Pg)

    #if SC_NMF_DISPATCH
    /* 8-lane vectors, one cache line per load (the AVX-512 clones) */
    #define SC_TARGET SC_AVX512
    #define SC_SQRT4 __builtin_ia32_sqrtpd256
    #define SC_V sc_v8
    #define SC_W 8
    #define SC_LDD sc_ld8
    #define SC_STD sc_st8
    #define SC_BCASTP(p) _mm512_broadcastsd_pd(_mm_load_sd(p))
    #define SC_RED sc_red8
    #define SC_KG 6
    #define SC_T double
    #define SC_LD sc_ld8
    #define SC_NAME(n) n##_8
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #define SC_T float
    #define SC_LD sc_ldf8
    #define SC_NAME(n) n##_f8
    #include "_nmf_sweep.h"
    #undef SC_T
    #undef SC_LD
    #undef SC_NAME
    #undef SC_V
    #undef SC_W
    #undef SC_LDD
    #undef SC_STD
    #undef SC_BCASTP
    #undef SC_RED
    #undef SC_KG
    #undef SC_TARGET
    #undef SC_SQRT4

    SC_AVX2 static void sc_rows_avx2(const double* xr, long ldx, SC_ROWS_ARGS, double* xb,
                                     double* A, double* Pg)
    { sc_rows_4 SC_ROWS_CALL; }
    SC_AVX2 static void sc_rows_f_avx2(const float* xr, long ldx, SC_ROWS_ARGS, float* xb,
                                       double* A, double* Pg)
    { sc_rows_f4 SC_ROWS_CALL; }
    SC_AVX512 static void sc_rows_avx512(const double* xr, long ldx, SC_ROWS_ARGS, double* xb,
                                         double* A, double* Pg)
    { sc_rows_8 SC_ROWS_CALL; }
    SC_AVX512 static void sc_rows_f_avx512(const float* xr, long ldx, SC_ROWS_ARGS, float* xb,
                                           double* A, double* Pg)
    { sc_rows_f8 SC_ROWS_CALL; }
    #endif

    /* the widest instruction set of the CPU: 2 AVX-512 (F, VL, DQ), 1 AVX2 and FMA, 0 none */
    static int sc_nmf_simd_level(void) {
    #if SC_NMF_DISPATCH
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")
                && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx2")
                && __builtin_cpu_supports("fma"))
            return 2;
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    #else
        return 0;
    #endif
    }
    /* one entry point per data type: the clone of instruction set level simd */
    static void sc_nmf_rows(int simd, const double* xr, long ldx, SC_ROWS_ARGS, double* xb,
                            double* A, double* Pg) {
    #if SC_NMF_DISPATCH
        if (simd >= 2) { sc_rows_avx512 SC_ROWS_CALL; return; }
        if (simd == 1) { sc_rows_avx2 SC_ROWS_CALL; return; }
    #endif
        sc_rows SC_ROWS_CALL;
    }
    static void sc_nmf_rows_f(int simd, const float* xr, long ldx, SC_ROWS_ARGS, float* xb,
                              double* A, double* Pg) {
    #if SC_NMF_DISPATCH
        if (simd >= 2) { sc_rows_f_avx512 SC_ROWS_CALL; return; }
        if (simd == 1) { sc_rows_f_avx2 SC_ROWS_CALL; return; }
    #endif
        sc_rows_f SC_ROWS_CALL;
    }
    #else  /* other compilers: plain loops, same results up to rounding */
    static int sc_nmf_simd_level(void) { return 0; }
    static void sc_update_rows(int hals, int K, const double* Gd, double delta2, double eps,
                               const double* Qt, const double* At, double* Zt, double* Tt) {
        int r, k, j;
        for (r = 0; r < SC_R; r++) {
            if (hals) {
                for (k = 0; k < K; k++) {
                    double hess = Gd[(long)k * K + k], g, v;
                    if (hess <= 0.0) continue;
                    g = -Qt[k * SC_R + r] - delta2;
                    for (j = 0; j < K; j++) g += Gd[(long)k * K + j] * Zt[j * SC_R + r];
                    g += At[k * SC_R + r];
                    v = Zt[k * SC_R + r] - g / hess;
                    Zt[k * SC_R + r] = v < 0.0 ? 0.0 : v;
                }
                continue;
            }
            for (k = 0; k < K; k++) {
                double den = 0.0, num;
                for (j = 0; j < K; j++) den += Zt[j * SC_R + r] * Gd[(long)j * K + k];
                den += At[k * SC_R + r];
                num = Qt[k * SC_R + r] + delta2;
                if (num < 0.0) num = 0.0;
                if (den < eps) den = eps;
                Tt[k * SC_R + r] = Zt[k * SC_R + r] * num / den;
            }
            for (k = 0; k < K; k++) Zt[k * SC_R + r] = Tt[k * SC_R + r];
        }
    }
    /* one block of 4 rows, as sc_block; then the rows by blocks, as sc_rows */
    #define SC_SCALAR_ROWS(NAME, T) \
    static void NAME##_block(const T* xr, long ldx, int L, int K, const double* F, \
                             const double* Gd, double delta2, double eps, int hals, double* w, \
                             long ldw, int nr, const double* l1, long ldl1, double lam, \
                             const double* p, double tau, double* ws, double* A, double* Pg) { \
        double *Qt = ws, *Zt = ws + 4 * K, *At = Zt + 4 * K, *Tt = At + 4 * K; \
        int r, k, j, l; \
        for (r = 0; r < SC_R; r++) for (k = 0; k < K; k++) { \
            double s = 0.0; \
            for (l = 0; l < L; l++) s += xr[r * ldx + l] * F[(long)k * L + l]; \
            Qt[k * SC_R + r] = s; } \
        (void)sc_gather(K, nr, hals, w, ldw, l1, ldl1, lam, p, tau, Zt, At); \
        sc_update_rows(hals, K, Gd, delta2, eps, Qt, At, Zt, Tt); \
        sc_scatter(K, nr, w, ldw, Zt); \
        for (k = 0; k < K; k++) for (l = 0; l < L; l++) { \
            double s = A[(long)k * L + l]; \
            for (r = 0; r < SC_R; r++) s += Zt[k * SC_R + r] * xr[r * ldx + l]; \
            A[(long)k * L + l] = s; } \
        for (k = 0; k < K; k++) for (j = k; j < K; j++) for (r = 0; r < SC_R; r++) \
            Pg[((long)k * K + j) * SC_R + r] += Zt[k * SC_R + r] * Zt[j * SC_R + r]; } \
    static void NAME(int simd, const T* xr, long ldx, long nrows, int L, int K, \
                     const double* F, const double* Gd, double delta2, double eps, int hals, \
                     double* w, long ldw, const double* l1, long ldl1, double lam, \
                     const double* p, double tau, double* ws, T* xb, double* A, double* Pg) { \
        long n; int r, nr; \
        for (n = 0; n < nrows; n += SC_R) { \
            const T* xn = xr + n * ldx; long ld = ldx; \
            nr = nrows - n < SC_R ? (int)(nrows - n) : SC_R; \
            if (nr < SC_R) { \
                memset(xb, 0, SC_R * (size_t)L * sizeof(T)); \
                for (r = 0; r < nr; r++) \
                    memcpy(xb + (long)r * L, xn + r * ldx, (size_t)L * sizeof(T)); \
                xn = xb; ld = L; } \
            NAME##_block(xn, ld, L, K, F, Gd, delta2, eps, hals, w + n * ldw, ldw, nr, \
                         l1 != NULL ? l1 + n * ldl1 : NULL, ldl1, lam, \
                         p != NULL ? p + n : NULL, tau, ws, A, Pg); } }
    SC_SCALAR_ROWS(sc_nmf_rows, double)
    SC_SCALAR_ROWS(sc_nmf_rows_f, float)
    #endif
    """
    int SC_R
    double sc_lp_slope(double lam, double pn, double z) noexcept nogil
    int sc_nmf_simd_level() noexcept nogil
    void sc_nmf_rows(int simd, const double* xr, long ldx, long nrows, int L, int K,
                     const double* F, const double* Gd, double delta2, double eps, int hals,
                     double* w, long ldw, const double* l1, long ldl1, double lam,
                     const double* p, double tau, double* ws, double* xb, double* A,
                     double* Pg) noexcept nogil
    void sc_nmf_rows_f(int simd, const float* xr, long ldx, long nrows, int L, int K,
                       const double* F, const double* Gd, double delta2, double eps, int hals,
                       double* w, long ldw, const double* l1, long ldl1, double lam,
                       const double* p, double tau, double* ws, float* xb, double* A,
                       double* Pg) noexcept nogil

from libc.stdlib cimport malloc, free
from libc.string cimport memset
from cython cimport floating
from cython.parallel cimport parallel

cdef int _SIMD_MAX = sc_nmf_simd_level()
cdef int _SIMD = _SIMD_MAX


def simd_level():
    """Instruction set of the fused sweep: 2 AVX-512, 1 AVX2/FMA, 0 baseline vectors."""
    return int(_SIMD)


def simd_enabled():
    """True when the fused sweep runs an AVX2/FMA or AVX-512 code path on this CPU."""
    return _SIMD > 0


def _set_simd_level(level=None):
    """Test hook: run the fused sweep with instruction set ``level`` (at most the CPU's;
    None restores the widest).  Returns the level now in use."""
    global _SIMD
    _SIMD = _SIMD_MAX if level is None else max(0, min(int(level), _SIMD_MAX))
    return int(_SIMD)


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

    The rows go in blocks of four, the row steps of a block computed together
    (one vector lane per row).  Rows are split into fixed chunks (their size
    depends on ``N``, ``K`` and ``L`` only), each chunk summed by one thread in
    row order and the chunks added in order, so the result does not depend on
    ``n_threads``.
    """
    cdef Py_ssize_t N = X.shape[0], L = X.shape[1], K = W.shape[1]
    cdef Py_ssize_t ch, n_chunks, max_chunks, chunk, c, n0, n1, k, j, l, i
    cdef Py_ssize_t stride
    cdef bint has_p = p is not None
    cdef bint has_L1 = L1 is not None
    cdef int simd = _SIMD, n_oom = 0
    cdef double* part
    cdef double* Gd
    cdef floating* xb
    cdef double* ws
    cdef double* pa
    cdef double* pg
    cdef const double* l1r
    cdef const double* pr
    cdef long ldx, ldw, ldl1
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
    ldx = L  # C-contiguous arrays (the memoryviews require it)
    ldw = K
    ldl1 = K
    # fixed chunks (a function of N, K and L only, never of the threads): at least
    # 256 rows, at most 64 chunks and 2**22 doubles of partial sums
    max_chunks = max(1, min(64, (1 << 22) // (K * (L + SC_R * K))))
    ch = max(256, (N + max_chunks - 1) // max_chunks)
    n_chunks = (N + ch - 1) // ch if N > 0 else 0
    if n_threads > n_chunks:
        n_threads = max(<int> n_chunks, 1)  # no idle thread to wait for
    # per chunk: W^T X (K, L), then W^T W with one lane per row of a block (K, K, 4)
    stride = K * (L + SC_R * K)
    part = <double*> malloc((max(n_chunks, 1) * stride + K * K) * sizeof(double))
    if part == NULL:
        raise MemoryError("fused_sweep: no memory for the per-chunk partial products.")
    memset(part, 0, max(n_chunks, 1) * stride * sizeof(double))
    Gd = part + max(n_chunks, 1) * stride
    for k in range(K):
        for j in range(K):
            Gd[k * K + j] = G[k, j] + delta2
    xb = NULL
    ws = NULL
    with nogil, parallel(num_threads=n_threads):
        xb = <floating*> malloc(SC_R * (L + 4) * sizeof(floating))
        ws = <double*> malloc(4 * SC_R * K * sizeof(double))
        for chunk in prange(n_chunks, schedule="dynamic"):
            if xb == NULL or ws == NULL:
                n_oom += 1
                continue
            pa = part + chunk * stride
            n0 = chunk * ch
            n1 = min(n0 + ch, N)
            l1r = &L1[n0, 0] if has_L1 else NULL
            pr = &p[n0] if has_p else NULL
            if floating is double:
                sc_nmf_rows(simd, &X[n0, 0], ldx, n1 - n0, <int> L, <int> K, &F[0, 0], Gd,
                            delta2, eps, hals, &W[n0, 0], ldw, l1r, ldl1, lam, pr, tau, ws,
                            xb, pa, pa + K * L)
            else:
                sc_nmf_rows_f(simd, &X[n0, 0], ldx, n1 - n0, <int> L, <int> K, &F[0, 0], Gd,
                              delta2, eps, hals, &W[n0, 0], ldw, l1r, ldl1, lam, pr, tau, ws,
                              xb, pa, pa + K * L)
        free(xb)
        free(ws)
    if n_oom:
        free(part)
        raise MemoryError("fused_sweep: no memory for the per-thread workspace.")
    for k in range(K):
        for l in range(L):
            WtX[k, l] = 0.0
        for j in range(K):
            WtW[k, j] = 0.0
    for c in range(n_chunks):
        pa = part + c * stride
        pg = pa + K * L
        for k in range(K):
            for l in range(L):
                WtX[k, l] += pa[k * L + l]
            for j in range(k, K):  # the upper triangle; W^T W is symmetric
                i = SC_R * (k * K + j)
                WtW[k, j] += (pg[i] + pg[i + 1]) + (pg[i + 2] + pg[i + 3])
    for k in range(K):
        for j in range(k):
            WtW[k, j] = WtW[j, k]
    free(part)
