/* The fused-sweep kernels of _nmf.pyx, written once for every data type and vector width.
 *
 * Included by _nmf.pyx once per (data type, vector width) with
 *   SC_T     the data type (double or float; arithmetic is double in both),
 *   SC_V     the double vector type and SC_W its number of lanes (2 baseline, 4 in the
 *            AVX2 clones, 8 in the AVX-512 ones),
 *   SC_LD    loads SC_W entries of SC_T as an SC_V (float32 entries widened),
 *   SC_KG    the most endmembers one pass over a block's rows serves (a register budget:
 *            4 SC_KG accumulators or broadcast weights, plus the 4 rows),
 *   SC_SQRT4 the square roots of an sc_v4 (one instruction where the clone has it),
 *   SC_TARGET the clone's target attribute (empty for the baseline),
 *   SC_NAME  the names' suffix.
 * A block is SC_R = 4 consecutive rows; per-block values of the rows are stored
 * transposed, four lanes per endmember: Qt[k * 4 + r].
 */

/* the loops over a group's G endmembers unrolled before vectorisation (their values
 * then stay in registers) */
#if defined(__GNUC__) && !defined(__clang__)
#define SC_UNROLL _Pragma("GCC unroll 8")
#else
#define SC_UNROLL
#endif

#ifndef SC_PFD
#define SC_PFD 8  /* software prefetch distance in rows (2 blocks; 8 and 16 measured alike) */
#endif
/* Qt[g * 4 + r] = x_r . F_g for the G (a constant after inlining) rows of F at F. */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_dots_grp)(const SC_T* xr, long ldx, int L, const double* F, double* Qt, const int G,
                     const int pf)
{
    const SC_T *x0 = xr, *x1 = xr + ldx, *x2 = xr + 2 * ldx, *x3 = xr + 3 * ldx;
    SC_V a0[SC_KG], a1[SC_KG], a2[SC_KG], a3[SC_KG];
    int g, l;
    SC_UNROLL
    for (g = 0; g < G; g++) {
        a0[g] = (SC_V){0}; a1[g] = a0[g]; a2[g] = a0[g]; a3[g] = a0[g];
    }
    for (l = 0; l + SC_W <= L; l += SC_W) {
        SC_V v0 = SC_LD(x0 + l), v1 = SC_LD(x1 + l), v2 = SC_LD(x2 + l), v3 = SC_LD(x3 + l);
#if SC_PFD > 0
        if (pf && ((l * sizeof(SC_T)) & 63) == 0) {  /* the rows SC_PFD ahead, a line at a time */
            __builtin_prefetch(x0 + SC_PFD * ldx + l); __builtin_prefetch(x1 + SC_PFD * ldx + l);
            __builtin_prefetch(x2 + SC_PFD * ldx + l); __builtin_prefetch(x3 + SC_PFD * ldx + l);
        }
#endif
        SC_UNROLL
        for (g = 0; g < G; g++) {
            SC_V f = SC_LDD(F + (long)g * L + l);
            a0[g] += v0 * f; a1[g] += v1 * f; a2[g] += v2 * f; a3[g] += v3 * f;
        }
    }
    SC_UNROLL
    for (g = 0; g < G; g++) {
        const double* f = F + (long)g * L;
        sc_v4 s = SC_RED(a0[g], a1[g], a2[g], a3[g]);  /* the four rows' sums, one per lane */
        double s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
        int m;
        for (m = l; m < L; m++) {
            s0 += x0[m] * f[m]; s1 += x1[m] * f[m]; s2 += x2[m] * f[m]; s3 += x3[m] * f[m];
        }
        Qt[4 * g] = s0; Qt[4 * g + 1] = s1; Qt[4 * g + 2] = s2; Qt[4 * g + 3] = s3;
    }
}

/* Qt[k * 4 + r] = x_r . F_k for the 4 rows at xr (stride ldx), F (K, L) row-major. */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_dots)(const SC_T* xr, long ldx, int L, int K, const double* F, double* Qt)
{
    int k = 0;
    for (; k + SC_KG <= K; k += SC_KG)
        SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, SC_KG, k == 0);
    switch (K - k) {  /* the last K mod SC_KG endmembers */
#if SC_KG > 5
    case 5: SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, 5, k == 0); break;
#endif
#if SC_KG > 4
    case 4: SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, 4, k == 0); break;
#endif
#if SC_KG > 3
    case 3: SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, 3, k == 0); break;
#endif
#if SC_KG > 2
    case 2: SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, 2, k == 0); break;
#endif
    case 1: SC_NAME(sc_dots_grp)(xr, ldx, L, F + (long)k * L, Qt + 4 * k, 1, k == 0); break;
    default: break;
    }
}

/* A[g, :] += sum_r Zt[g * 4 + r] x_r for the G (constant) rows of A at A. */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_accum_grp)(const SC_T* xr, long ldx, int L, const double* Zt, double* A, const int G)
{
    const SC_T *x0 = xr, *x1 = xr + ldx, *x2 = xr + 2 * ldx, *x3 = xr + 3 * ldx;
    SC_V c0[SC_KG], c1[SC_KG], c2[SC_KG], c3[SC_KG];
    int g, l;
    SC_UNROLL
    for (g = 0; g < G; g++) {  /* the weights, one broadcast each (SC_BCASTP: from memory) */
        c0[g] = SC_BCASTP(Zt + 4 * g); c1[g] = SC_BCASTP(Zt + 4 * g + 1);
        c2[g] = SC_BCASTP(Zt + 4 * g + 2); c3[g] = SC_BCASTP(Zt + 4 * g + 3);
    }
    for (l = 0; l + SC_W <= L; l += SC_W) {
        SC_V v0 = SC_LD(x0 + l), v1 = SC_LD(x1 + l), v2 = SC_LD(x2 + l), v3 = SC_LD(x3 + l);
        SC_UNROLL
        for (g = 0; g < G; g++) {
            double* a = A + (long)g * L + l;
            SC_V s = SC_LDD(a);
            s += c0[g] * v0;
            s += c1[g] * v1;
            s += c2[g] * v2;
            s += c3[g] * v3;
            SC_STD(a, s);
        }
    }
    for (; l < L; l++)
        SC_UNROLL
        for (g = 0; g < G; g++) {
            double* a = A + (long)g * L;
            a[l] = a[l] + Zt[4 * g] * x0[l] + Zt[4 * g + 1] * x1[l] + Zt[4 * g + 2] * x2[l]
                   + Zt[4 * g + 3] * x3[l];
        }
}

/* A[k, :] += sum_r Zt[k * 4 + r] x_r for the 4 rows (A (K, L) row-major), and
 * Pg[(k * K + j) * 4 + r] += Zt[k * 4 + r] Zt[j * 4 + r] for j >= k (W^T W, one lane per
 * row). */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_accum)(const SC_T* xr, long ldx, int L, int K, const double* Zt, double* A,
                  double* Pg)
{
    int k = 0, j;
    for (; k + SC_KG <= K; k += SC_KG)
        SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, SC_KG);
    switch (K - k) {
#if SC_KG > 5
    case 5: SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, 5); break;
#endif
#if SC_KG > 4
    case 4: SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, 4); break;
#endif
#if SC_KG > 3
    case 3: SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, 3); break;
#endif
#if SC_KG > 2
    case 2: SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, 2); break;
#endif
    case 1: SC_NAME(sc_accum_grp)(xr, ldx, L, Zt + 4 * k, A + (long)k * L, 1); break;
    default: break;
    }
    for (k = 0; k < K; k++) {
        sc_v4 zk = sc_ld(Zt + 4 * k);
        for (j = k; j < K; j++) {  /* the upper triangle (the caller mirrors it) */
            double* p = Pg + ((long)k * K + j) * 4;
            sc_st(p, sc_ld(p) + zk * sc_ld(Zt + 4 * j));
        }
    }
}

/* At[k * 4 + r] = 0.5 lam / sqrt(z) (the slope of lam z^(1/2), as sc_lp_slope) at
 * z = Zt[k * 4 + r] > max(tau, 0) on the lanes r of the bit mask lanes, four lanes at once. */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_half_slopes)(int K, int lanes, double lam, double tau, const double* Zt, double* At)
{
    const sc_v4 zero = {0.0, 0.0, 0.0, 0.0}, one = sc_bc4(1.0), tv = sc_bc4(tau);
    const sc_l4 on = {-(long long)(lanes & 1), -(long long)((lanes >> 1) & 1),
                      -(long long)((lanes >> 2) & 1), -(long long)((lanes >> 3) & 1)};
    const double hl = 0.5 * lam;
    int k;
    for (k = 0; k < K; k++) {
        sc_v4 z = sc_ld(Zt + 4 * k), s;
        sc_l4 m = (z > tv) & (z > zero) & on;
        z = (sc_v4)(((sc_l4)z & m) | ((sc_l4)one & ~m));  /* 1 where masked: no NaN */
        s = hl / SC_SQRT4(z);
        sc_st(At + 4 * k, (sc_v4)(((sc_l4)s & m) | ((sc_l4)sc_ld(At + 4 * k) & ~m)));
    }
}

/* One block of 4 rows (nr of them real; the others zero): q = F x_r, the row steps
 * (sc_update_body) in place in w (row stride ldw), then A += W_blk^T X_blk and the lanes of
 * W_blk^T W_blk into Pg.  ws: 16 K doubles of scratch. */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_block)(const SC_T* xr, long ldx, int L, int K, const double* F, const double* Gd,
                  double delta2, double eps, int hals, double* w, long ldw, int nr,
                  const double* l1, long ldl1, double lam, const double* p, double tau,
                  double* ws, double* A, double* Pg)
{
    double *Qt = ws, *Zt = ws + 4 * K, *At = Zt + 4 * K, *Tt = At + 4 * K;
    int half;
    SC_NAME(sc_dots)(xr, ldx, L, K, F, Qt);
    half = sc_gather(K, nr, hals, w, ldw, l1, ldl1, lam, p, tau, Zt, At);
    if (half)
        SC_NAME(sc_half_slopes)(K, half, lam, tau, Zt, At);
    sc_update_body(hals, K, Gd, delta2, eps, Qt, At, Zt, Tt);
    sc_scatter(K, nr, w, ldw, Zt);
    SC_NAME(sc_accum)(xr, ldx, L, K, Zt, A, Pg);
}

/* The rows [0, nrows) at xr (stride ldx) and w (stride ldw; l1 and p alike when given), by
 * blocks of 4; the last, short block from a zero-padded copy in xb (4 L entries). */
SC_TARGET static inline __attribute__((always_inline)) void
SC_NAME(sc_rows)(const SC_T* xr, long ldx, long nrows, int L, int K, const double* F,
                 const double* Gd, double delta2, double eps, int hals, double* w, long ldw,
                 const double* l1, long ldl1, double lam, const double* p, double tau,
                 double* ws, SC_T* xb, double* A, double* Pg)
{
    long n = 0;
    int r, nr;
    for (; n + SC_R <= nrows; n += SC_R)
        SC_NAME(sc_block)(xr + n * ldx, ldx, L, K, F, Gd, delta2, eps, hals, w + n * ldw, ldw,
                          SC_R, l1 != NULL ? l1 + n * ldl1 : NULL, ldl1, lam,
                          p != NULL ? p + n : NULL, tau, ws, A, Pg);
    if (n == nrows)
        return;
    nr = (int)(nrows - n);
    memset(xb, 0, SC_R * (size_t)L * sizeof(SC_T));
    for (r = 0; r < nr; r++)
        memcpy(xb + (long)r * L, xr + (n + r) * ldx, (size_t)L * sizeof(SC_T));
    SC_NAME(sc_block)(xb, L, L, K, F, Gd, delta2, eps, hals, w + n * ldw, ldw, nr,
                      l1 != NULL ? l1 + n * ldl1 : NULL, ldl1, lam, p != NULL ? p + n : NULL,
                      tau, ws, A, Pg);
}
