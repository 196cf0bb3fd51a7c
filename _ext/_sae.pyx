# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
# distutils: extra_compile_args = -fno-math-errno -fno-trapping-math
"""Kernels of the TopK sparse autoencoder (fused float32/float64, OpenMP over rows).

A batch's codes are kept as CSR triplets ``(indptr, indices, values)`` over
the latents (a fixed ``k`` per row is ``indptr = k * arange(B + 1)``):

``topk_rows``
    the ``k`` largest values of each row (ties: lowest index), optionally
    restricted to a subset of columns (AuxK on dead latents).  Float32 rows
    with k <= 64 and at least 4 G entries (G strided groups, a power of two
    >= 2k from 8 to 128): the k-th largest group maximum bounds the row's k-th
    value from below, one vectorised scan collects the ~1.4k entries at or
    above it and a quickselect keeps the k best (SSE2, or AVX-512 where the
    CPU has it).  Other rows: for k <= 16 a k-entry heap whose root is the
    running threshold, started from the maxima of short runs; above 16,
    entries over the running k-th best go to a 16k buffer that quickselect
    cuts back to k when full.  O(n) expected either way; no sort of the row.
``sparse_decode``
    ``out[b] = bias + sum_e values[e] * W[indices[e]]`` (k rows of W per sample).
``sparse_row_dots``
    ``out[e] = G[b] . W[indices[e]]`` for every stored entry of row ``b``.
``scatter_rows``
    ``out[j] += sum_{e: indices[e] = j} coef[e] * R[row(e)]`` -- the decoder
    gradient (``R`` = output gradient, ``coef`` = codes) and the encoder
    gradient (``R`` = centred inputs, ``coef`` = code gradients) touch only the
    active latents.  The entries are bucketed by latent (counting sort), then
    each thread owns whole latents, so no two threads write the same row.
``adam_update``
    fused, bias-corrected Adam step over a flat parameter array.
``encode_topk``
    the trained encoder's coding pass, fused per block of rows: one float32
    GEMM of the block into a cache-resident buffer pre-filled with the bias,
    the top-k scan of each row, the ReLU, and the codes written straight to
    the output (dense rows or index-sorted (index, value) pairs for CSR).
"""
from cython cimport floating
from cython.parallel cimport parallel, prange
from libc.math cimport fabs, sqrt
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from libc.stdint cimport INT32_MAX
from scipy.linalg.cython_blas cimport sgemm

import numpy as np
cimport numpy as cnp
from numpy cimport int64_t

cnp.import_array()



cdef extern from *:
    """
    #include <stdint.h>
    #include <math.h>
    #if defined(__SSE2__) && defined(__GNUC__)
    #include <emmintrin.h>
    #define SAE_SSE2 1
    #endif
    #if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    #include <immintrin.h>
    #define SAE_AVX512 1
    #endif

    /* the heap order of every top-k kernel here (float and double; the Cython kernels
       call these): entries compared by (value desc, index asc); a heap of k entries
       keeps the worst at the root */
    #define SAE_HEAP_FUNCS(T, S)                                                        \
    static inline int sae_better_##S(T va, int64_t ia, T vb, int64_t ib) {              \
        return va > vb || (va == vb && ia < ib);                                        \
    }                                                                                   \
    static inline void sae_sift_down_##S(T* hv, int64_t* hi, Py_ssize_t k) {           \
        Py_ssize_t pos = 0, child, worst;                                               \
        T tv; int64_t ti;                                                               \
        for (;;) {                                                                      \
            child = 2 * pos + 1;                                                        \
            if (child >= k) break;                                                      \
            worst = child;                                                              \
            if (child + 1 < k                                                           \
                    && sae_better_##S(hv[child], hi[child], hv[child + 1], hi[child + 1])) \
                worst = child + 1;                                                      \
            if (sae_better_##S(hv[pos], hi[pos], hv[worst], hi[worst])) {               \
                tv = hv[pos]; hv[pos] = hv[worst]; hv[worst] = tv;                      \
                ti = hi[pos]; hi[pos] = hi[worst]; hi[worst] = ti;                      \
                pos = worst;                                                            \
            } else break;                                                               \
        }                                                                               \
    }
    SAE_HEAP_FUNCS(float, f)
    SAE_HEAP_FUNCS(double, d)

    /* Dot product with eight partial sums in a fixed order (s[l] gathers the terms
       t = l mod 8 of the whole blocks, the tail goes to s[0]): the same rounding on
       every CPU.  Compiled for AVX-512F, AVX2 and the baseline, the best chosen at load
       time (the eight sums are one vector); no fused multiply-add contraction. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SAE_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), \
                                      optimize("fp-contract=off")))
    #else
    #define SAE_CLONES
    #endif
    #define SAE_DOT_FUNC(T, S)                                                          \
    SAE_CLONES T sae_dot_##S(const T* x, const T* y, Py_ssize_t d) {                    \
        T s[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                              \
        Py_ssize_t t = 0;                                                               \
        int l;                                                                          \
        for (; t + 8 <= d; t += 8)                                                      \
            for (l = 0; l < 8; l++) s[l] = s[l] + x[t + l] * y[t + l];                  \
        for (; t < d; t++) s[0] = s[0] + x[t] * y[t];                                   \
        return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));      \
    }
    SAE_DOT_FUNC(float, f)
    SAE_DOT_FUNC(double, d)

    /* Quickselect on (value desc, index asc) pairs: rearranges v/ix[0:m] so that the
       first k (1 <= k <= m) are the k best, in no particular order. */
    #define SAE_SELECT_FUNC(T, S)                                                       \
    static void sae_select_best_##S(T* v, int64_t* ix, Py_ssize_t m, Py_ssize_t k) {    \
        Py_ssize_t lo = 0, hi = m - 1, i, j, mid, target = k - 1;                       \
        T pv, tv; int64_t pi, ti;                                                       \
        while (lo < hi) {                                                               \
            mid = lo + (hi - lo) / 2;                                                   \
            if (sae_better_##S(v[mid], ix[mid], v[lo], ix[lo])) {                       \
                tv = v[mid]; v[mid] = v[lo]; v[lo] = tv;                                \
                ti = ix[mid]; ix[mid] = ix[lo]; ix[lo] = ti; }                          \
            if (sae_better_##S(v[hi], ix[hi], v[lo], ix[lo])) {                         \
                tv = v[hi]; v[hi] = v[lo]; v[lo] = tv;                                  \
                ti = ix[hi]; ix[hi] = ix[lo]; ix[lo] = ti; }                            \
            if (sae_better_##S(v[hi], ix[hi], v[mid], ix[mid])) {                       \
                tv = v[hi]; v[hi] = v[mid]; v[mid] = tv;                                \
                ti = ix[hi]; ix[hi] = ix[mid]; ix[mid] = ti; }                          \
            pv = v[mid]; pi = ix[mid];                                                  \
            i = lo; j = hi;                                                             \
            while (i <= j) {                                                            \
                while (sae_better_##S(v[i], ix[i], pv, pi)) i++;                        \
                while (sae_better_##S(pv, pi, v[j], ix[j])) j--;                        \
                if (i <= j) {                                                           \
                    tv = v[i]; v[i] = v[j]; v[j] = tv;                                  \
                    ti = ix[i]; ix[i] = ix[j]; ix[j] = ti;                              \
                    i++; j--; }                                                         \
            }                                                                           \
            if (target <= j) hi = j;                                                    \
            else if (target >= i) lo = i;                                               \
            else break;                                                                 \
        }                                                                               \
    }
    SAE_SELECT_FUNC(float, f)
    SAE_SELECT_FUNC(double, d)

    /* Number of strided groups of the float32 top-k below: a power of two >= 2k, 8 to
       128 (about 1.4 k entries of a row then reach the k-th largest group maximum).
       The kernel applies when 1 <= k <= 64 and n >= 4 * groups. */
    static inline Py_ssize_t sae_topk_groups(Py_ssize_t k) {
        Py_ssize_t G = 8;
        while (G < 2 * k && G < 128) G *= 2;
        return G;
    }
    static inline int sae_topk_f32_applies(Py_ssize_t n, Py_ssize_t k) {
        Py_ssize_t G = sae_topk_groups(k);
        return k >= 1 && k <= 64 && n >= 4 * G && n < INT32_MAX;
    }

    /* The k largest entries of a[0:n] (ties: lowest index), in no particular order, for
       sae_topk_f32_applies(n, k).  The maxima of the G strided groups {j : j mod G = g}
       come from one vectorised pass; t, their k-th largest (found by counting, branch-free),
       bounds the row's k-th largest value from below (k distinct entries are >= t) and
       tightly (about k + k/2 entries are >= t on continuous data).  One vectorised scan
       copies the entries >= t into cv/ci (room for n + 16), and a quickselect on those few
       pairs keeps the k best.  Returns 1, with nothing written, when a group maximum is
       NaN (the caller then runs the plain heap on the row). */
    static int sae_topk_f32_sse(const float* a, Py_ssize_t n, Py_ssize_t k, float* hv,
                                int64_t* hi, float* cv, int64_t* ci) {
        float gm[128];
        int32_t cnts[128];
        /* maxima over L >= 32 strided lanes (eight or more independent registers), then
           folded into the G groups (G divides L) */
        Py_ssize_t G = sae_topk_groups(k), L = G < 32 ? 32 : G, g, c, e, m = 0, i;
        Py_ssize_t full = (n / L) * L;
        float t, v;
        
    #ifdef SAE_SSE2
        __m128 mm[32];
        Py_ssize_t G4 = G / 4, L4 = L / 4;
        for (g = 0; g < L4; g++) mm[g] = _mm_loadu_ps(a + 4 * g);
        for (c = L; c < full; c += L)
            for (g = 0; g < L4; g++) mm[g] = _mm_max_ps(mm[g], _mm_loadu_ps(a + c + 4 * g));
        for (g = 0; g < L4; g++) _mm_storeu_ps(gm + 4 * g, mm[g]);
    #else
        for (g = 0; g < L; g++) gm[g] = a[g];
        for (c = L; c < full; c += L)
            for (g = 0; g < L; g++) gm[g] = a[c + g] > gm[g] ? a[c + g] : gm[g];
    #endif
        for (c = full; c < n; c++) if (a[c] > gm[c - full]) gm[c - full] = a[c];
        for (c = G; c < L; c += G)
            for (g = 0; g < G; g++) gm[g] = gm[c + g] > gm[g] ? gm[c + g] : gm[g];
    #ifdef SAE_SSE2
        for (g = 0; g < G4; g++) mm[g] = _mm_loadu_ps(gm + 4 * g);
    #endif
        for (g = 0; g < G; g++)
            if (gm[g] != gm[g]) return 1;
        /* t = the smallest maximum with fewer than k maxima above it = the k-th largest
           maximum (branch-free counting: G x G / 4 vector compares) */
    #ifdef SAE_SSE2
        for (g = 0; g < G; g += 4) {  /* four maxima at a time: independent counts */
            __m128 v0 = _mm_set1_ps(gm[g]), v1 = _mm_set1_ps(gm[g + 1]);
            __m128 v2 = _mm_set1_ps(gm[g + 2]), v3 = _mm_set1_ps(gm[g + 3]), x;
            __m128i a0 = _mm_setzero_si128(), a1 = a0, a2 = a0, a3 = a0;
            int c4[16], j;
            for (i = 0; i < G4; i++) {
                x = mm[i];
                a0 = _mm_sub_epi32(a0, _mm_castps_si128(_mm_cmpgt_ps(x, v0)));
                a1 = _mm_sub_epi32(a1, _mm_castps_si128(_mm_cmpgt_ps(x, v1)));
                a2 = _mm_sub_epi32(a2, _mm_castps_si128(_mm_cmpgt_ps(x, v2)));
                a3 = _mm_sub_epi32(a3, _mm_castps_si128(_mm_cmpgt_ps(x, v3)));
            }
            _mm_storeu_si128((__m128i*) c4, a0);
            _mm_storeu_si128((__m128i*) (c4 + 4), a1);
            _mm_storeu_si128((__m128i*) (c4 + 8), a2);
            _mm_storeu_si128((__m128i*) (c4 + 12), a3);
            for (j = 0; j < 4; j++)
                cnts[g + j] = c4[4 * j] + c4[4 * j + 1] + c4[4 * j + 2] + c4[4 * j + 3];
        }
        {   /* masked minimum of the maxima with fewer than k above them (no branch) */
            __m128 best = _mm_set1_ps(INFINITY), keep;
            __m128i kk = _mm_set1_epi32((int) k);
            float b4[4];
            for (g = 0; g < G; g += 4) {
                keep = _mm_castsi128_ps(_mm_cmplt_epi32(
                    _mm_loadu_si128((const __m128i*) (cnts + g)), kk));
                best = _mm_min_ps(best, _mm_or_ps(_mm_and_ps(keep, _mm_loadu_ps(gm + g)),
                                                  _mm_andnot_ps(keep, _mm_set1_ps(INFINITY))));
            }
            _mm_storeu_ps(b4, best);
            t = b4[0] < b4[1] ? b4[0] : b4[1];
            t = b4[2] < t ? b4[2] : t;
            t = b4[3] < t ? b4[3] : t;
        }
    #else
        int cnt;
        t = gm[0];
        for (g = 1; g < G; g++) t = gm[g] > t ? gm[g] : t;
        for (g = 0; g < G; g++) {
            v = gm[g];
            cnt = 0;
            for (i = 0; i < G; i++) cnt += gm[i] > v;
            t = (cnt < k && v < t) ? v : t;
        }
    #endif
    #ifdef SAE_SSE2
        {
            __m128 tv = _mm_set1_ps(t);
            int mask;
            for (c = 0; c + 16 <= n; c += 16) {
                mask = _mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(a + c), tv))
                     | (_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(a + c + 4), tv)) << 4)
                     | (_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(a + c + 8), tv)) << 8)
                     | (_mm_movemask_ps(_mm_cmpge_ps(_mm_loadu_ps(a + c + 12), tv)) << 12);
                while (mask) {
                    e = __builtin_ctz(mask);
                    mask &= mask - 1;
                    cv[m] = a[c + e]; ci[m] = c + e; m++;
                }
            }
        }
    #else
        c = 0;
    #endif
        for (; c < n; c++)
            if (a[c] >= t) { cv[m] = a[c]; ci[m] = c; m++; }
        if (m < k) return 1;  /* cannot happen without NaN; the caller falls back */
        if (m > 32) {
            sae_select_best_f(cv, ci, m, k);
            for (e = 0; e < k; e++) { hv[e] = cv[e]; hi[e] = ci[e]; }
        } else {
            /* few candidates: keep those with fewer than k better ones (ranks by
               vectorised counts; candidates are in increasing index order, so an equal
               value earlier in the list is better: counted only when a tie exists) */
            Py_ssize_t r, q, w = 0;
            float kv[32];
            int64_t ki[32];
    #ifdef SAE_SSE2
            for (e = m; e < ((m + 3) & ~(Py_ssize_t) 3); e++) cv[e] = -INFINITY;
    #endif
            for (e = 0; e < m; e++) {
                v = cv[e];
    #ifdef SAE_SSE2
                {
                    __m128 vv = _mm_set1_ps(v);
                    __m128i agt = _mm_setzero_si128(), aeq = _mm_setzero_si128();
                    int g4[4], e4[4];
                    __m128 x;
                    for (i = 0; i < m; i += 4) {
                        x = _mm_loadu_ps(cv + i);
                        agt = _mm_sub_epi32(agt, _mm_castps_si128(_mm_cmpgt_ps(x, vv)));
                        aeq = _mm_sub_epi32(aeq, _mm_castps_si128(_mm_cmpeq_ps(x, vv)));
                    }
                    _mm_storeu_si128((__m128i*) g4, agt);
                    _mm_storeu_si128((__m128i*) e4, aeq);
                    r = g4[0] + g4[1] + g4[2] + g4[3];
                    q = e4[0] + e4[1] + e4[2] + e4[3];
                }
    #else
                r = 0; q = 0;
                for (i = 0; i < m; i++) { r += cv[i] > v; q += cv[i] == v; }
    #endif
                if (q > 1) {  /* a tie (or -inf padding): count the equal ones before e */
                    r = 0;
                    for (i = 0; i < m; i++) r += (cv[i] > v) | ((cv[i] == v) & (i < e));
                }
                kv[w] = v; ki[w] = ci[e];  /* w <= e < m <= 32 */
                w += r < k;
            }
            for (e = 0; e < k; e++) { hv[e] = kv[e]; hi[e] = ki[e]; }
        }
        return 0;
    }

    /* The same selection with 16-lane AVX-512 vectors (chosen at run time when the CPU
       has AVX-512F): the mask of a compare gives counts by popcount, and a compress
       packs the candidates.  Indices are packed as int32 in ci's storage and widened
       when a quickselect needs them.  Needs n >= 2 * max(G, 64). */
    #ifdef SAE_AVX512
    __attribute__((target("avx512f,popcnt")))
    static int sae_topk_f32_avx512(const float* a, Py_ssize_t n, Py_ssize_t k, float* hv,
                                   int64_t* hi, float* cv, int64_t* ci) {
        float gm[128] __attribute__((aligned(64)));
        int32_t cnts[128] __attribute__((aligned(64)));
        Py_ssize_t G = sae_topk_groups(k), L = G < 64 ? 64 : G, L16 = L / 16;
        Py_ssize_t G16 = G < 16 ? 1 : G / 16, g, c, e, m = 0, i, w = 0, r, q;
        Py_ssize_t full = (n / L) * L;
        int32_t* ci32 = (int32_t*) ci;
        float t, v;
        int cnt;
        __m512 mm[8], vv, x;
        __mmask16 mk;
        for (g = 0; g < L16; g++) mm[g] = _mm512_loadu_ps(a + 16 * g);
        for (c = L; c < full; c += L)
            for (g = 0; g < L16; g++) mm[g] = _mm512_max_ps(mm[g], _mm512_loadu_ps(a + c + 16 * g));
        for (g = 0; g < L16; g++) _mm512_store_ps(gm + 16 * g, mm[g]);
        for (c = full; c < n; c++) if (a[c] > gm[c - full]) gm[c - full] = a[c];
        for (c = G; c < L; c += G)
            for (g = 0; g < G; g++) gm[g] = gm[c + g] > gm[g] ? gm[c + g] : gm[g];
        for (g = 0; g < G; g++)
            if (gm[g] != gm[g]) return 1;
        for (g = G; g < 16; g++) gm[g] = -INFINITY;  /* G = 8: pad the one vector */
        for (g = 0; g < G16; g++) mm[g] = _mm512_load_ps(gm + 16 * g);
        /* t = the smallest maximum with fewer than k maxima above it: the counts first
           (independent, no branch), then one masked minimum */
        for (g = 0; g < G; g++) {
            vv = _mm512_set1_ps(gm[g]);
            cnt = 0;
            for (i = 0; i < G16; i++)
                cnt += __builtin_popcount(_mm512_cmp_ps_mask(mm[i], vv, _CMP_GT_OQ));
            cnts[g] = cnt;
        }
        {
            __m512 best = _mm512_set1_ps(INFINITY);
            __m512i kk = _mm512_set1_epi32((int) k);
            __mmask16 valid = G < 16 ? (__mmask16) ((1u << G) - 1u) : (__mmask16) 0xFFFF;
            for (i = 0; i < G16; i++) {
                __mmask16 ok = _mm512_mask_cmplt_epi32_mask(
                    valid, _mm512_load_si512((const void*) (cnts + 16 * i)), kk);
                best = _mm512_mask_min_ps(best, ok, best, mm[i]);
            }
            t = _mm512_reduce_min_ps(best);
        }
        {
            __m512 tv = _mm512_set1_ps(t);
            __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                                            14, 15);
            __m512i step = _mm512_set1_epi32(16);
            for (c = 0; c + 16 <= n; c += 16) {
                x = _mm512_loadu_ps(a + c);
                mk = _mm512_cmp_ps_mask(x, tv, _CMP_GE_OQ);
                if (mk) {  /* register compress, then a plain store (room: n + 16) */
                    _mm512_storeu_ps(cv + m, _mm512_maskz_compress_ps(mk, x));
                    _mm512_storeu_si512((void*) (ci32 + m), _mm512_maskz_compress_epi32(mk, idx));
                    m += __builtin_popcount(mk);
                }
                idx = _mm512_add_epi32(idx, step);
            }
        }
        for (; c < n; c++)
            if (a[c] >= t) { cv[m] = a[c]; ci32[m] = (int32_t) c; m++; }
        if (m < k) return 1;
        if (m > 32) {
            for (e = m - 1; e >= 0; e--) ci[e] = (int64_t) ci32[e];  /* widen in place */
            sae_select_best_f(cv, ci, m, k);
            for (e = 0; e < k; e++) { hv[e] = cv[e]; hi[e] = ci[e]; }
            return 0;
        }
        {
            /* ranks by two masked compares per candidate (candidates in increasing index
               order: an equal value earlier in the list is better) */
            float kv[32];
            int32_t ki[32];
            __m512 c0, c1;
            for (e = m; e < 32; e++) cv[e] = -INFINITY;
            c0 = _mm512_loadu_ps(cv);
            c1 = _mm512_loadu_ps(cv + 16);
            for (e = 0; e < m; e++) {
                v = cv[e];
                vv = _mm512_set1_ps(v);
                r = __builtin_popcount(_mm512_cmp_ps_mask(c0, vv, _CMP_GT_OQ))
                    + __builtin_popcount(_mm512_cmp_ps_mask(c1, vv, _CMP_GT_OQ));
                q = __builtin_popcount(_mm512_cmp_ps_mask(c0, vv, _CMP_EQ_OQ))
                    + __builtin_popcount(_mm512_cmp_ps_mask(c1, vv, _CMP_EQ_OQ));
                if (q > 1) {  /* a tie (or -inf padding): count the equal ones before e */
                    r = 0;
                    for (i = 0; i < m; i++) r += (cv[i] > v) | ((cv[i] == v) & (i < e));
                }
                kv[w] = v; ki[w] = ci32[e];  /* w <= e < m <= 32 */
                w += r < k;
            }
            for (e = 0; e < k; e++) { hv[e] = kv[e]; hi[e] = (int64_t) ki[e]; }
        }
        return 0;
    }

    static int sae_simd_level = -1;  /* 0: SSE2 path, 1: AVX-512 path; -1: not probed */
    static inline int sae_use_avx512(void) {
        if (sae_simd_level < 0) {
            __builtin_cpu_init();
            sae_simd_level = __builtin_cpu_supports("avx512f") ? 1 : 0;
        }
        return sae_simd_level;
    }
    #endif

    /* The k largest entries of a[0:n] (ties: lowest index), in no particular order, for
       sae_topk_f32_applies(n, k): the AVX-512 kernel where the CPU has it and the row is
       long enough, else the SSE2 one.  Returns 1 (nothing written) on a NaN row. */
    static int sae_topk_f32(const float* a, Py_ssize_t n, Py_ssize_t k, float* hv,
                            int64_t* hi, float* cv, int64_t* ci) {
    #ifdef SAE_AVX512
        Py_ssize_t G = sae_topk_groups(k);
        if (n >= 2 * (G < 64 ? 64 : G) && sae_use_avx512())
            return sae_topk_f32_avx512(a, n, k, hv, hi, cv, ci);
    #endif
        return sae_topk_f32_sse(a, n, k, hv, hi, cv, ci);
    }

    /* For the tests: 0 forces the SSE2 kernel, 1 the AVX-512 one where the CPU has it;
       returns the level in use. */
    static int sae_set_simd_level(int level) {
    #ifdef SAE_AVX512
        if (level == 0) sae_simd_level = 0;
        else { sae_simd_level = -1; sae_use_avx512(); }
        return sae_simd_level;
    #else
        (void) level;
        return 0;
    #endif
    }

    /* The first index of the largest entry of a[0:n] (of |a| when absval), n >= 1, finite
       data: the maximum from a vectorised pass (SSE2, four registers of W lanes), then the
       first entry equal to it. */
    #ifdef SAE_SSE2
    static inline __m128 sae_mask_f(int absval) {
        return _mm_castsi128_ps(_mm_set1_epi32(absval ? 0x7fffffff : -1));
    }
    static inline __m128d sae_mask_d(int absval) {
        return _mm_castsi128_pd(_mm_set1_epi64x(absval ? 0x7fffffffffffffffLL : -1LL));
    }
    #define SAE_ARGMAX_SIMD(T, V, W, S, SFX)                                              \
        if (n >= 4 * W) {                                                                 \
            V am = sae_mask_##S(absval);                                                  \
            V m0 = _mm_and_##SFX(_mm_loadu_##SFX(a), am);                                 \
            V m1 = _mm_and_##SFX(_mm_loadu_##SFX(a + W), am);                             \
            V m2 = _mm_and_##SFX(_mm_loadu_##SFX(a + 2 * W), am);                         \
            V m3 = _mm_and_##SFX(_mm_loadu_##SFX(a + 3 * W), am);                         \
            T t[W];                                                                       \
            int l;                                                                        \
            for (k = 4 * W; k + 4 * W <= n; k += 4 * W) {                                 \
                m0 = _mm_max_##SFX(m0, _mm_and_##SFX(_mm_loadu_##SFX(a + k), am));        \
                m1 = _mm_max_##SFX(m1, _mm_and_##SFX(_mm_loadu_##SFX(a + k + W), am));    \
                m2 = _mm_max_##SFX(m2, _mm_and_##SFX(_mm_loadu_##SFX(a + k + 2 * W), am)); \
                m3 = _mm_max_##SFX(m3, _mm_and_##SFX(_mm_loadu_##SFX(a + k + 3 * W), am)); \
            }                                                                             \
            _mm_storeu_##SFX(t, _mm_max_##SFX(_mm_max_##SFX(m0, m1), _mm_max_##SFX(m2, m3))); \
            m = t[0];                                                                     \
            for (l = 1; l < W; l++) m = t[l] > m ? t[l] : m;                              \
        }
    #else
    #define SAE_ARGMAX_SIMD(T, V, W, S, SFX)
    #endif
    #define SAE_ARGMAX_FUNC(T, S, ABSF, V, W, SFX)                                        \
    static Py_ssize_t sae_argmax_##S(const T* a, Py_ssize_t n, int absval) {              \
        Py_ssize_t k = 0;                                                                 \
        T m = absval ? ABSF(a[0]) : a[0], v;                                              \
        SAE_ARGMAX_SIMD(T, V, W, S, SFX)                                                  \
        for (; k < n; k++) {                                                              \
            v = absval ? ABSF(a[k]) : a[k];                                               \
            m = v > m ? v : m;                                                            \
        }                                                                                 \
        for (k = 0; k < n; k++)                                                           \
            if ((absval ? ABSF(a[k]) : a[k]) == m) return k;                              \
        return 0;                                                                         \
    }
    SAE_ARGMAX_FUNC(float, f, fabsf, __m128, 4, ps)
    SAE_ARGMAX_FUNC(double, d, fabs, __m128d, 2, pd)
    """
    Py_ssize_t sae_argmax_f(const float* a, Py_ssize_t n, int absval) noexcept nogil
    Py_ssize_t sae_argmax_d(const double* a, Py_ssize_t n, int absval) noexcept nogil
    int sae_topk_f32(const float* a, Py_ssize_t n, Py_ssize_t k, float* hv,
                      int64_t* hi, float* cv, int64_t* ci) noexcept nogil
    bint sae_topk_f32_applies(Py_ssize_t n, Py_ssize_t k) noexcept nogil
    int sae_set_simd_level(int level) noexcept nogil
    float sae_dot_f(const float* x, const float* y, Py_ssize_t d) noexcept nogil
    double sae_dot_d(const double* x, const double* y, Py_ssize_t d) noexcept nogil
    void sae_select_best_f(float* v, int64_t* ix, Py_ssize_t m, Py_ssize_t k) noexcept nogil
    void sae_select_best_d(double* v, int64_t* ix, Py_ssize_t m, Py_ssize_t k) noexcept nogil
    bint sae_better_f(float va, int64_t ia, float vb, int64_t ib) noexcept nogil
    bint sae_better_d(double va, int64_t ia, double vb, int64_t ib) noexcept nogil
    void sae_sift_down_f(float* hv, int64_t* hi, Py_ssize_t k) noexcept nogil
    void sae_sift_down_d(double* hv, int64_t* hi, Py_ssize_t k) noexcept nogil


cdef inline bint _better(floating va, int64_t ia, floating vb, int64_t ib) noexcept nogil:
    # (value desc, index asc): is a strictly better than b?  (one source: the C helpers)
    if floating is float:
        return sae_better_f(va, ia, vb, ib)
    else:
        return sae_better_d(va, ia, vb, ib)


cdef inline void _select_best(floating* bv, int64_t* bi, Py_ssize_t m,
                              Py_ssize_t k) noexcept nogil:
    """Rearrange bv/bi[:m] so that the first k are the k best (one source: the C helper)."""
    if floating is float:
        sae_select_best_f(bv, bi, m, k)
    else:
        sae_select_best_d(bv, bi, m, k)


cdef inline void _sift_down(floating* hv, int64_t* hi, Py_ssize_t k) noexcept nogil:
    # heap with the worst kept entry at the root (one source: the C helpers)
    if floating is float:
        sae_sift_down_f(hv, hi, k)
    else:
        sae_sift_down_d(hv, hi, k)


cdef void _topk_heap(const floating* a, Py_ssize_t n, const int64_t* cols, Py_ssize_t n_cols,
                     bint use_cols, Py_ssize_t k, floating* hv, int64_t* hi) noexcept nogil:
    # small k: a k-entry heap; the scan compares each entry with the root only
    cdef Py_ssize_t c
    cdef int64_t col
    cdef floating val, thr
    for c in range(k):
        col = cols[c] if use_cols else c
        _heap_push(hv, hi, c, a[col], col)
    thr = hv[0]
    if use_cols:
        for c in range(k, n_cols):
            val = a[cols[c]]
            if val > thr:
                hv[0] = val
                hi[0] = cols[c]
                _sift_down(hv, hi, k)
                thr = hv[0]
    else:
        for c in range(k, n):
            val = a[c]
            if val > thr:
                hv[0] = val
                hi[0] = c
                _sift_down(hv, hi, k)
                thr = hv[0]


cdef void _topk_one(const floating* a, Py_ssize_t n, const int64_t* cols, Py_ssize_t n_cols,
                    bint use_cols, Py_ssize_t k, floating* bv, int64_t* bi, Py_ssize_t cap,
                    floating* out_v, int64_t* out_i) noexcept nogil:
    # Candidates above the current k-th best go to a buffer of ``cap`` >= 2k
    # entries; a full buffer is cut back to its k best by quickselect, which
    # raises the threshold.  Columns are scanned in increasing order, so an
    # entry equal to the threshold never displaces it (ties: lowest index).
    cdef Py_ssize_t c, m = 0, total
    cdef int64_t col
    cdef floating val, thr = 0
    cdef bint have_thr = False
    cdef Py_ssize_t blk, t, cnt
    if use_cols:
        for c in range(n_cols):
            col = cols[c]
            val = a[col]
            # branch-free append: always write, advance only for a candidate
            bv[m] = val
            bi[m] = col
            m += (not have_thr) or (val > thr)
            if m == cap:
                _select_best(bv, bi, m, k)
                m = k
                thr = bv[k - 1]
                have_thr = True
    else:
        blk = 0
        while blk < n:
            total = min(blk + 32, n)
            if have_thr:
                # branch-free count first (vectorised): most blocks have no candidate
                cnt = 0
                for t in range(blk, total):
                    cnt = cnt + (a[t] > thr)
                if cnt == 0:
                    blk = total
                    continue
            for c in range(blk, total):
                val = a[c]
                bv[m] = val
                bi[m] = c
                m += (not have_thr) or (val > thr)
                if m == cap:
                    _select_best(bv, bi, m, k)
                    m = k
                    thr = bv[k - 1]
                    have_thr = True
            blk = total
    if m > k:
        _select_best(bv, bi, m, k)
    for c in range(k):
        out_v[c] = bv[c]
        out_i[c] = bi[c]


cdef inline floating _run_max(const floating* a, Py_ssize_t m) noexcept nogil:
    # eight independent running maxima (ILP / vectorisable), m >= 1
    cdef floating m0, m1, m2, m3, m4, m5, m6, m7, v
    cdef Py_ssize_t t = 8
    if m < 8:
        m0 = a[0]
        for t in range(1, m):
            m0 = a[t] if a[t] > m0 else m0
        return m0
    m0 = a[0]; m1 = a[1]; m2 = a[2]; m3 = a[3]; m4 = a[4]; m5 = a[5]; m6 = a[6]; m7 = a[7]
    while t + 8 <= m:
        m0 = a[t] if a[t] > m0 else m0
        m1 = a[t + 1] if a[t + 1] > m1 else m1
        m2 = a[t + 2] if a[t + 2] > m2 else m2
        m3 = a[t + 3] if a[t + 3] > m3 else m3
        m4 = a[t + 4] if a[t + 4] > m4 else m4
        m5 = a[t + 5] if a[t + 5] > m5 else m5
        m6 = a[t + 6] if a[t + 6] > m6 else m6
        m7 = a[t + 7] if a[t + 7] > m7 else m7
        t += 8
    while t < m:
        m0 = a[t] if a[t] > m0 else m0
        t += 1
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m4 = m5 if m5 > m4 else m4
    m6 = m7 if m7 > m6 else m6
    m0 = m2 if m2 > m0 else m0
    m4 = m6 if m6 > m4 else m4
    return m4 if m4 > m0 else m0


cdef inline void _heap_push(floating* hv, int64_t* hi, Py_ssize_t i, floating v,
                            int64_t c) noexcept nogil:
    # insert (v, c) at slot i of a heap of i entries (worst at the root)
    cdef Py_ssize_t j
    cdef floating tv
    cdef int64_t ti
    hv[i] = v
    hi[i] = c
    while i > 0:
        j = (i - 1) // 2
        if _better(hv[j], hi[j], hv[i], hi[i]):
            tv = hv[i]; hv[i] = hv[j]; hv[j] = tv
            ti = hi[i]; hi[i] = hi[j]; hi[j] = ti
            i = j
        else:
            break


cdef inline floating _scan_insert(const floating* a, Py_ssize_t lo, Py_ssize_t end,
                                  Py_ssize_t skip, Py_ssize_t k, floating* hv, int64_t* hi,
                                  floating thr) noexcept nogil:
    # heap-insert the entries of a[lo:end] better than the root (entry ``skip`` is in the
    # heap already); blocks of 16 without an entry >= thr are skipped after a count
    cdef Py_ssize_t blk = lo, bend, c
    cdef int cnt
    cdef floating val
    while blk < end:
        bend = min(blk + 16, end)
        cnt = 0
        for c in range(blk, bend):
            cnt = cnt + (a[c] >= thr)
        if cnt:
            for c in range(blk, bend):
                val = a[c]
                if val >= thr and c != skip and _better(val, c, hv[0], hi[0]):
                    hv[0] = val
                    hi[0] = c
                    _sift_down(hv, hi, k)
                    thr = hv[0]
        blk = bend
    return thr


cdef void _topk_bounded(const floating* a, Py_ssize_t n, Py_ssize_t k, floating* hv,
                        int64_t* hi) noexcept nogil:
    # k <= 16.  The row is cut into G = min(4k, n) runs; their maxima come from one
    # vectorisable pass.  The heap (worst kept entry at the root) starts from the k
    # largest run maxima (first occurrences): k distinct entries, so its root is at once
    # a lower bound of the row's k-th largest value, and a tight one.  The scan then
    # inserts only the few entries above it, skipping (after a vectorised count) the
    # blocks holding none; an entry evicted from the heap can never re-enter.
    cdef Py_ssize_t c, g, G = min(4 * k, n), sz, lo
    cdef floating thr
    cdef floating rm[64]
    cdef int64_t sk[64]
    sz = n // G
    for g in range(G):
        rm[g] = _run_max(&a[g * sz], sz)
        sk[g] = -1
    # k best run maxima, ordered (value desc, run asc) = (value desc, index asc)
    for g in range(k):
        _heap_push(hv, hi, g, rm[g], g)
    for g in range(k, G):
        if _better(rm[g], g, hv[0], hi[0]):
            hv[0] = rm[g]
            hi[0] = g
            _sift_down(hv, hi, k)
    # run -> index of its first maximum (monotone: the heap order is unchanged)
    for c in range(k):
        g = hi[c]
        lo = g * sz
        while lo < (g + 1) * sz - 1 and a[lo] != hv[c]:
            lo += 1
        hi[c] = lo
        sk[g] = lo
    thr = hv[0]
    for g in range(G):
        thr = _scan_insert(a, g * sz, (g + 1) * sz, sk[g], k, hv, hi, thr)
    _scan_insert(a, G * sz, n, -1, k, hv, hi, thr)


cdef inline floating _dot(const floating* x, const floating* y, Py_ssize_t d) noexcept nogil:
    # eight partial sums in a fixed order, vectorised for the CPU (one source: the C helper)
    if floating is float:
        return sae_dot_f(x, y, d)
    else:
        return sae_dot_d(x, y, d)


def _set_simd_level(int level):
    """Test hook: 0 runs the SSE2 top-k kernel, 1 the AVX-512 one where the CPU has
    AVX-512F; returns the level now in use."""
    return sae_set_simd_level(level)


def topk_rows(const floating[:, ::1] A, int k, int64_t[:, ::1] idx_out,
              floating[:, ::1] val_out, const int64_t[::1] cols=None, int n_threads=1):
    """Write the ``k`` largest entries of each row of ``A`` (or of ``A[:, cols]``).

    Ties go to the lowest column index; the ``k`` entries of a row come in no
    particular order.  Raises ValueError when ``k`` exceeds the number of
    candidate columns or the outputs are not ``(n_rows, k)``, MemoryError when
    a per-thread buffer cannot be allocated.
    """
    cdef Py_ssize_t B = A.shape[0], n = A.shape[1], b
    cdef bint use_cols = cols is not None
    cdef Py_ssize_t n_cols = cols.shape[0] if use_cols else n
    cdef const int64_t* cp = &cols[0] if (use_cols and n_cols > 0) else NULL
    # float32 rows: the grouped-maxima kernel (candidate buffer of n + 16 entries)
    cdef bint fast = floating is float and not use_cols and sae_topk_f32_applies(n, k)
    cdef Py_ssize_t cap = n + 16 if fast else 16 * <Py_ssize_t> k
    cdef floating* bv
    cdef int64_t* bi
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False
    if k <= 0 or B == 0:
        return
    if k > n_cols:
        raise ValueError(f"k={k} exceeds the {n_cols} candidate columns; "
                         f"k must be at most {n_cols}.")
    if use_cols:
        for b in range(n_cols):
            if cols[b] < 0 or cols[b] >= n:
                raise ValueError(f"cols[{b}]={cols[b]} is outside [0, {n}).")
    if (idx_out.shape[0] != B or val_out.shape[0] != B or idx_out.shape[1] < k
            or val_out.shape[1] < k):
        raise ValueError(f"idx_out and val_out must have shape ({B}, {k}), got "
                         f"({idx_out.shape[0]}, {idx_out.shape[1]}) and "
                         f"({val_out.shape[0]}, {val_out.shape[1]}).")
    with nogil, parallel(num_threads=n_threads):
        bv = NULL
        bi = NULL
        if fast or k > 16:
            bv = <floating*> malloc(cap * sizeof(floating))
            bi = <int64_t*> malloc(cap * sizeof(int64_t))
        ok = (k <= 16 and not fast) or (bv != NULL and bi != NULL)
        if not ok:
            failed[0] = 1
        for b in prange(B, schedule="static"):
            if not ok:
                continue
            if fast:
                if floating is float:
                    if sae_topk_f32(&A[b, 0], n, k, &val_out[b, 0], &idx_out[b, 0], bv, bi):
                        _topk_heap(&A[b, 0], n, cp, n_cols, use_cols, k, &val_out[b, 0],
                                   &idx_out[b, 0])
            elif k <= 16 and not use_cols:
                _topk_bounded(&A[b, 0], n, k, &val_out[b, 0], &idx_out[b, 0])
            elif k <= 16:
                _topk_heap(&A[b, 0], n, cp, n_cols, use_cols, k, &val_out[b, 0],
                           &idx_out[b, 0])
            else:
                _topk_one(&A[b, 0], n, cp, n_cols, use_cols, k, bv, bi, cap,
                          &val_out[b, 0], &idx_out[b, 0])
        free(bv)
        free(bi)
    if failed_flag:
        raise MemoryError(f"topk_rows could not allocate its per-thread buffers "
                          f"(2 x {cap} entries); lower k or n_threads.")


def sparse_decode(const int64_t[::1] indptr, const int64_t[::1] indices,
                  const floating[::1] values, const floating[:, ::1] W,
                  const floating[::1] bias, floating[:, ::1] out, int n_threads=1):
    """``out[b] = bias + sum_e values[e] * W[indices[e]]`` (bias may be None: zero)."""
    cdef Py_ssize_t B = out.shape[0], d = out.shape[1], b, e, t
    cdef bint has_bias = bias is not None
    cdef floating v
    cdef floating* o
    cdef const floating* w
    with nogil:
        for b in prange(B, schedule="static", num_threads=n_threads):
            o = &out[b, 0]
            if has_bias:
                for t in range(d):
                    o[t] = bias[t]
            else:
                for t in range(d):
                    o[t] = 0
            for e in range(indptr[b], indptr[b + 1]):
                v = values[e]
                if v != 0:
                    w = &W[indices[e], 0]
                    for t in range(d):
                        o[t] = o[t] + v * w[t]


def sparse_row_dots(const int64_t[::1] indptr, const int64_t[::1] indices,
                    const floating[:, ::1] G, const floating[:, ::1] W, floating[::1] out,
                    int n_threads=1):
    """``out[e] = G[b] . W[indices[e]]`` for the entries ``e`` of each row ``b``."""
    cdef Py_ssize_t B = G.shape[0], d = G.shape[1], b, e, t
    cdef floating s
    cdef const floating* g
    cdef const floating* w
    with nogil:
        for b in prange(B, schedule="static", num_threads=n_threads):
            g = &G[b, 0]
            for e in range(indptr[b], indptr[b + 1]):
                out[e] = _dot(g, &W[indices[e], 0], d)


def scatter_rows(const int64_t[::1] indptr, const int64_t[::1] indices,
                 const floating[::1] coef, const floating[:, ::1] R, floating[:, ::1] out,
                 int n_threads=1):
    """``out[j] += sum over entries e with indices[e] = j of coef[e] * R[row(e)]``.

    Returns the array of latents that received at least one entry.
    """
    cdef Py_ssize_t B = R.shape[0], d = R.shape[1], n = out.shape[0]
    cdef Py_ssize_t nnz = indices.shape[0], b, e, j, p, t, q
    cdef int64_t[::1] start = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t[::1] fill = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] erow = np.empty(max(nnz, 1), dtype=np.int64)
    cdef int64_t[::1] epos = np.empty(max(nnz, 1), dtype=np.int64)
    cdef Py_ssize_t n_active = 0
    cdef floating c
    cdef floating* o
    cdef const floating* r
    with nogil:
        for e in range(nnz):
            start[indices[e] + 1] += 1
        for j in range(n):
            if start[j + 1] > 0:
                n_active += 1
            start[j + 1] += start[j]
            fill[j] = start[j]
        for b in range(B):
            for e in range(indptr[b], indptr[b + 1]):
                j = indices[e]
                p = fill[j]
                erow[p] = b
                epos[p] = e
                fill[j] = p + 1
    active = np.empty(n_active, dtype=np.int64)
    cdef int64_t[::1] act = active
    q = 0
    for j in range(n):
        if start[j + 1] > start[j]:
            act[q] = j
            q += 1
    with nogil:
        for q in prange(n_active, schedule="dynamic", chunksize=8, num_threads=n_threads):
            j = act[q]
            o = &out[j, 0]
            for p in range(start[j], start[j + 1]):
                c = coef[epos[p]]
                if c != 0:
                    r = &R[erow[p], 0]
                    for t in range(d):
                        o[t] = o[t] + c * r[t]
    return active


cdef void _adam_block(floating* p, const floating* g, floating* m, floating* v,
                      Py_ssize_t lo, Py_ssize_t hi, floating b1, floating b2, floating c1,
                      floating c2, floating step, floating ibc2, floating eps) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating gi, mi, vi
    for i in range(lo, hi):
        gi = g[i]
        mi = b1 * m[i] + c1 * gi
        vi = b2 * v[i] + c2 * gi * gi
        m[i] = mi
        v[i] = vi
        p[i] = p[i] - step * mi / (sqrt(vi * ibc2) + eps)


def adam_update(floating[::1] p, const floating[::1] g, floating[::1] m, floating[::1] v,
                double lr, double b1, double b2, double eps, double bc1, double bc2,
                int n_threads=1):
    """One bias-corrected Adam step, in place on ``p``, ``m`` and ``v``."""
    cdef Py_ssize_t n = p.shape[0], blk, n_blk
    cdef floating fb1 = <floating>b1, fb2 = <floating>b2
    cdef floating c1 = <floating>(1.0 - b1), c2 = <floating>(1.0 - b2)
    cdef floating step = <floating>(lr / bc1), ibc2 = <floating>(1.0 / bc2)
    cdef floating feps = <floating>eps
    n_blk = (n + 4095) // 4096
    if n == 0:
        return
    with nogil:
        for blk in prange(n_blk, schedule="static", num_threads=n_threads):
            _adam_block(&p[0], &g[0], &m[0], &v[0], blk * 4096, min(n, (blk + 1) * 4096),
                        fb1, fb2, c1, c2, step, ibc2, feps)


def project_rows(floating[:, ::1] G, const floating[:, ::1] W, int n_threads=1):
    """``G[j] -= (G[j] . W[j]) W[j]`` for every row (tangent step of unit-norm rows)."""
    cdef Py_ssize_t n = G.shape[0], d = G.shape[1], j, t
    cdef floating c
    cdef floating* g
    cdef const floating* w
    with nogil:
        for j in prange(n, schedule="static", num_threads=n_threads):
            g = &G[j, 0]
            w = &W[j, 0]
            c = _dot(g, w, d)
            if c != 0:
                for t in range(d):
                    g[t] = g[t] - c * w[t]


def normalize_rows(floating[:, ::1] W, int n_threads=1):
    """Scale every row of ``W`` to unit Euclidean norm (zero rows left unchanged)."""
    cdef Py_ssize_t n = W.shape[0], d = W.shape[1], j, t
    cdef floating c
    cdef floating* w
    with nogil:
        for j in prange(n, schedule="static", num_threads=n_threads):
            w = &W[j, 0]
            c = _dot(w, w, d)
            if c > 0:
                c = 1 / sqrt(c)
                for t in range(d):
                    w[t] = w[t] * c


def encode_topk(const floating[:, ::1] X, const float[:, ::1] W32, const floating[:, ::1] W,
                const float[::1] b32, const floating[::1] b, int k, bint relu,
                int64_t[:, ::1] idx_out, floating[:, ::1] val_out, floating[:, ::1] dense_out,
                double x_scale=1.0, int block_rows=256, int n_threads=1,
                double[::1] block_absmax=None):
    """Codes ``TopK_k(X W^T + b)`` (ReLU on the kept values when ``relu``).

    The pre-activations of a block of ``block_rows`` rows are one float32
    GEMM (``W32``, ``b32``: float32 copies of ``W``, ``b``) into a per-thread
    buffer; the ``k`` largest of each row are selected there (ties: lowest
    index).  For float64 ``X`` the kept values are then recomputed exactly in
    float64 (``X[i] . W[j] + b[j]``, k dot products per row), so only the
    choice of the k latents is made at float32 precision; float64 ``X`` is
    multiplied by ``x_scale`` (a power of two, with ``b32`` scaled alike by
    the caller) on its way to float32, so that data far outside the float32
    range select the same latents.  ``block_absmax`` (float64 ``X``; length
    the number of blocks), when given, receives the largest ``|X|`` of each
    block, read during the conversion, so that the caller can check the
    scale without another pass over the data.  With
    ``dense_out`` (zeros, shape (n_rows, n_latents)) the values are written
    into it; otherwise ``idx_out`` / ``val_out`` get each row's k
    (index, value) pairs sorted by index.
    """
    cdef Py_ssize_t n = X.shape[0], d = X.shape[1], n_lat = W32.shape[0]
    cdef Py_ssize_t R = max(1, block_rows), n_blk, blk, r0, nr, r, c, t, e
    cdef bint fast = sae_topk_f32_applies(n_lat, k)
    cdef Py_ssize_t cap = n_lat + 16 if fast else 16 * <Py_ssize_t> k
    cdef bint dense = dense_out is not None
    cdef bint exact = floating is double
    cdef bint has_absmax = block_absmax is not None
    cdef double am, xa, xv
    cdef float* xb
    cdef float* A
    cdef float* hv
    cdef int64_t* hi
    cdef float* bv
    cdef int64_t* bi
    cdef const float* xsrc
    cdef floating v
    cdef int64_t ti
    cdef int m_, n_, k_, lda, ldb, ldc
    cdef float one = 1.0
    cdef char tr = b'T'
    cdef char nt = b'N'
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok
    if n == 0:
        return
    if W32.shape[1] != d or W.shape[0] != n_lat or W.shape[1] != d:
        raise ValueError(f"W32 and W must have shape ({n_lat}, {d}).")
    if b32.shape[0] != n_lat or b.shape[0] != n_lat:
        raise ValueError(f"b32 and b must have {n_lat} entries.")
    if not 1 <= k <= n_lat:
        raise ValueError(f"k={k} must be in [1, n_latents={n_lat}].")
    if dense:
        if dense_out.shape[0] != n or dense_out.shape[1] != n_lat:
            raise ValueError(f"dense_out must have shape ({n}, {n_lat}).")
    elif (idx_out.shape[0] != n or val_out.shape[0] != n or idx_out.shape[1] != k
            or val_out.shape[1] != k):
        raise ValueError(f"idx_out and val_out must have shape ({n}, {k}).")
    n_blk = (n + R - 1) // R
    if has_absmax and block_absmax.shape[0] < n_blk:
        raise ValueError(f"block_absmax must have at least {n_blk} entries.")
    m_ = <int> n_lat
    k_ = <int> d
    lda = <int> d
    ldb = <int> d
    ldc = <int> n_lat
    with nogil, parallel(num_threads=n_threads):
        xb = NULL
        if floating is double:
            xb = <float*> malloc(R * d * sizeof(float))
        A = <float*> malloc(R * n_lat * sizeof(float))
        hv = <float*> malloc(k * sizeof(float))
        hi = <int64_t*> malloc(k * sizeof(int64_t))
        bv = NULL
        bi = NULL
        if fast or k > 16:
            bv = <float*> malloc(cap * sizeof(float))
            bi = <int64_t*> malloc(cap * sizeof(int64_t))
        ok = (A != NULL and hv != NULL and hi != NULL and (floating is float or xb != NULL)
              and ((k <= 16 and not fast) or (bv != NULL and bi != NULL)))
        if not ok:
            failed[0] = 1
        for blk in prange(n_blk, schedule="dynamic"):
            if not ok:
                continue
            r0 = blk * R
            nr = min(R, n - r0)
            n_ = <int> nr
            if floating is double:
                am = 0.0
                for r in range(nr):
                    for t in range(d):
                        xv = X[r0 + r, t]
                        xa = fabs(xv)
                        am = xa if xa > am else am
                        xb[r * d + t] = <float> (xv * x_scale)
                if has_absmax:
                    block_absmax[blk] = am
                xsrc = xb
            else:
                xsrc = <const float*> &X[r0, 0]
            for r in range(nr):
                memcpy(&A[r * n_lat], &b32[0], n_lat * sizeof(float))
            # column-major view: A^T (n_lat x nr) = W32 (as d x n_lat, transposed) * xb^T
            sgemm(&tr, &nt, &m_, &n_, &k_, &one, <float*> &W32[0, 0], &lda, <float*> xsrc,
                  &ldb, &one, A, &ldc)
            for r in range(nr):
                if fast:
                    if sae_topk_f32(&A[r * n_lat], n_lat, k, hv, hi, bv, bi):
                        _topk_heap(&A[r * n_lat], n_lat, NULL, n_lat, False, k, hv, hi)
                elif k <= 16:
                    _topk_bounded(&A[r * n_lat], n_lat, k, hv, hi)
                else:
                    _topk_one(&A[r * n_lat], n_lat, NULL, n_lat, False, k, bv, bi, cap, hv, hi)
                if not dense:
                    # insertion sort by index (k small)
                    for e in range(1, k):
                        ti = hi[e]
                        v = hv[e]
                        c = e - 1
                        while c >= 0 and hi[c] > ti:
                            hi[c + 1] = hi[c]
                            hv[c + 1] = hv[c]
                            c = c - 1
                        hi[c + 1] = ti
                        hv[c + 1] = <float> v
                for e in range(k):
                    if floating is double:
                        v = _dot(&X[r0 + r, 0], &W[hi[e], 0], d) + b[hi[e]]
                    else:
                        v = hv[e]
                    if relu and v < 0:
                        v = 0
                    if dense:
                        dense_out[r0 + r, hi[e]] = v
                    else:
                        idx_out[r0 + r, e] = hi[e]
                        val_out[r0 + r, e] = v
        free(xb)
        free(A)
        free(hv)
        free(hi)
        free(bv)
        free(bi)
    if failed_flag:
        raise MemoryError(f"encode_topk could not allocate its per-thread buffers "
                          f"({R} x {n_lat} floats); lower block_rows or n_threads.")


# ---------------------------------------------------------------------------
# Matching Pursuit with the Gram update, batched over signals: the one MP kernel
# of the library (sparsecode.greedy.matching_pursuit and the MP-SAE encoder of
# sparsecode.amortized both call it).

ctypedef fused mptype:
    float
    double
    double complex


cdef inline double _mp_abs2(mptype x) noexcept nogil:
    if mptype is float:
        return (<double> x) * x
    elif mptype is double:
        return x * x
    else:
        return x.real * x.real + x.imag * x.imag


cdef inline mptype _mp_conj(mptype x) noexcept nogil:
    if mptype is float or mptype is double:
        return x
    else:
        return x.conjugate()


cdef inline double _mp_real(mptype x) noexcept nogil:
    if mptype is float or mptype is double:
        return x
    else:
        return x.real


cdef int _mp_one(const mptype* G, const mptype* alpha0, const double* dinv, const double* sdinv,
                 Py_ssize_t N, Py_ssize_t kmax, Py_ssize_t max_iter, bint error_mode,
                 double eps, double ynorm2, double tiny, int selection, bint unit,
                 double rel_tol, double floor, mptype* c, char* mask, mptype* x, int64_t* idx_tr,
                 mptype* coef_tr, int* n_iter_out, double* resid_out) noexcept nogil:
    """Matching Pursuit for one signal with the Gram update (spec 1.2).

    In-place: c (correlations A^H r), mask (support), x (dense code, length N,
    or NULL), idx_tr / coef_tr (atom and coefficient of every step, or NULL).
    """
    cdef Py_ssize_t it = 0, j, k, n_sup = 0
    cdef int status = 0
    cdef double best, v, dec, E = ynorm2
    cdef bint hit_k = False
    cdef mptype tj
    cdef const mptype* Grow
    memset(mask, 0, N)
    for k in range(N):
        c[k] = alpha0[k]
    if x != NULL:
        for k in range(N):
            x[k] = 0.0
    while it < max_iter:
        if error_mode and E <= eps:
            break
        j = 0
        if mptype is float or mptype is double:
            if unit:
                # unit-weight atoms (MP-SAE): compare in the data's precision, no weights
                if mptype is float:
                    j = sae_argmax_f(c, N, selection == 0)
                else:
                    j = sae_argmax_d(c, N, selection == 0)
                if selection == 2 and c[j] <= 0:
                    status = 1  # no positive correlation left
                    break
                dec = _mp_abs2(c[j])
        if unit and (mptype is float or mptype is double):
            pass
        elif selection == 0:
            # argmax over all atoms (MP may re-select), normalised by ||a_k||
            best = -1.0
            j = -1
            for k in range(N):
                v = _mp_abs2(c[k]) * dinv[k]
                if v > best:
                    best = v
                    j = k
            dec = best
        else:
            # largest signed (normalised) correlation; real data only
            best = _mp_real(c[0]) * sdinv[0]
            for k in range(1, N):
                v = _mp_real(c[k]) * sdinv[k]
                if v > best:
                    best = v
                    j = k
            if selection == 2 and best <= 0.0:
                status = 1  # no positive correlation left
                break
            dec = _mp_abs2(c[j]) * dinv[j]
        if dec <= tiny:
            status = 1
            break
        if rel_tol >= 0.0 and (dec <= rel_tol * E or dec <= floor):
            status = 1  # the residual stopped decreasing
            break
        if mask[j] == 0:
            if n_sup >= kmax:
                hit_k = True  # the user's sparsity level: a normal stop
                break
            mask[j] = 1
            n_sup += 1
        tj = c[j] * <mptype> dinv[j]
        if x != NULL:
            x[j] = x[j] + tj
        if idx_tr != NULL:
            idx_tr[it] = j
            coef_tr[it] = tj
        Grow = G + j * N
        for k in range(N):
            c[k] = c[k] - tj * _mp_conj(Grow[k])
        E -= _mp_abs2(tj) / dinv[j]
        if E < 0.0:
            E = 0.0
        it += 1
    if idx_tr != NULL:
        for k in range(it, max_iter):
            idx_tr[k] = 0
            coef_tr[k] = 0.0
    if error_mode and E > eps and status == 0 and not hit_k:
        status = 3
    n_iter_out[0] = <int> it
    resid_out[0] = E
    return status


def batch_mp_gram(const mptype[:, ::1] G, const mptype[:, ::1] Aty, const double[::1] dinv,
                  const double[::1] ynorm2, const double[::1] eps, Py_ssize_t kmax,
                  Py_ssize_t max_iter, bint error_mode, int n_threads, mptype[:, ::1] x_out,
                  int[::1] n_iter_out, double[::1] resid_out, int[::1] status_out,
                  int selection=0, int64_t[:, ::1] idx_out=None, mptype[:, ::1] coef_out=None,
                  double rel_tol=-1.0):
    """Matching Pursuit over the rows of ``Aty`` (correlations ``A^H y``), Gram ``G``.

    Writes dense codes into ``x_out`` (skipped when it has no rows),
    iterations, final squared residuals (``ynorm2`` minus the energy removed,
    accumulated in double) and statuses (0 ok / 1 nothing left to remove /
    3 ``eps`` not reached).  ``dinv = 1 / ||a_k||^2``.

    selection
        0: ``argmax |c_k|^2 dinv_k`` (Mallat & Zhang); 1: ``argmax c_k /
        ||a_k||`` (signed, real data); 2: as 1, the pursuit ending when no
        positive correlation is left.
    idx_out, coef_out
        ``(n_signals, max_iter)``: the atom and coefficient of every step
        (0 for the steps not run), when given.
    rel_tol
        ``>= 0``: a signal stops at the first step whose energy decrease
        ``|c_j|^2 dinv_j`` is ``<= rel_tol E`` (``E`` its current squared
        residual) or ``<= machine epsilon * ynorm2``; that step is not taken.
    """
    cdef Py_ssize_t L_sig = Aty.shape[0]
    cdef Py_ssize_t N = G.shape[0]
    cdef Py_ssize_t i
    cdef mptype* c
    cdef char* mask
    cdef double* sdinv = NULL
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False, want_x, want_tr, unit = True
    cdef double meps = 1.1920928955078125e-07 if mptype is float else 2.220446049250313e-16
    if G.shape[1] != N or Aty.shape[1] != N or dinv.shape[0] != N:
        raise ValueError("G must be (N, N) with Aty (n_signals, N) and dinv (N,).")
    if (ynorm2.shape[0] != L_sig or eps.shape[0] != L_sig or n_iter_out.shape[0] != L_sig
            or resid_out.shape[0] != L_sig or status_out.shape[0] != L_sig):
        raise ValueError("ynorm2, eps and the outputs need one entry per signal.")
    if selection not in (0, 1, 2):
        raise ValueError(f"selection must be 0, 1 or 2, got {selection}.")
    if mptype is not float and mptype is not double:
        if selection != 0:
            raise ValueError("signed selections (1, 2) need real data.")
    want_x = x_out is not None and x_out.shape[0] > 0
    if want_x and (x_out.shape[0] != L_sig or x_out.shape[1] != N):
        raise ValueError("x_out must be (n_signals, N).")
    want_tr = idx_out is not None and coef_out is not None
    if max_iter > INT32_MAX:
        max_iter = INT32_MAX  # n_iter_out holds C ints
    if want_tr and (idx_out.shape[0] != L_sig or coef_out.shape[0] != L_sig
                    or idx_out.shape[1] < max_iter or coef_out.shape[1] < max_iter):
        raise ValueError("idx_out and coef_out must be (n_signals, max_iter).")
    if L_sig == 0:
        return
    for i in range(N):
        if dinv[i] != 1.0:
            unit = False
            break
    if selection != 0:
        sdinv = <double*> malloc(<size_t> N * sizeof(double))
        if sdinv == NULL:
            raise MemoryError("Matching Pursuit could not allocate its workspace.")
        for i in range(N):
            sdinv[i] = sqrt(dinv[i])
    with nogil, parallel(num_threads=n_threads):
        c = <mptype*> malloc(<size_t> N * sizeof(mptype))
        mask = <char*> malloc(<size_t> N)
        ok = c != NULL and mask != NULL
        if not ok:
            failed[0] = 1
        for i in prange(L_sig, schedule="dynamic", chunksize=16):
            if ok:
                status_out[i] = _mp_one(
                    &G[0, 0], &Aty[i, 0], &dinv[0], sdinv, N, kmax, max_iter, error_mode,
                    eps[i], ynorm2[i], 1e-28 * ynorm2[i], selection, unit, rel_tol,
                    meps * ynorm2[i], c, mask, &x_out[i, 0] if want_x else NULL,
                    &idx_out[i, 0] if want_tr else NULL, &coef_out[i, 0] if want_tr else NULL,
                    &n_iter_out[i], &resid_out[i])
        free(c)
        free(mask)
    free(sdinv)
    if failed_flag:
        raise MemoryError(
            f"Matching Pursuit could not allocate its per-thread workspace ({N} atoms); "
            "lower n_jobs.")
