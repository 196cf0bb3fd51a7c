/* The fused-sweep kernels of _nmf.pyx, written once for both data types.
 *
 * Included twice by _nmf.pyx: with SC_T double (SC_LD = sc_ld, names sc_dots /
 * sc_accum) and with SC_T float (SC_LD = sc_ldf, widening four entries to double;
 * names sc_dots_f / sc_accum_f).  Arithmetic is double in both.  SC_LINE_MASK is
 * the number of SC_T entries in a 64-byte cache line minus one (prefetch stride).
 */
/* Q[r][k] = x_r . F_k for the SC_R rows at xr (stride ldx), F (K, L) row-major. */
static inline __attribute__((always_inline)) void
SC_NAME(sc_dots)(const SC_T* xr, long ldx, int L, int K, const double* F, double* Q)
{
    const SC_T *x0 = xr, *x1 = xr + ldx, *x2 = xr + 2 * ldx, *x3 = xr + 3 * ldx;
    int k = 0, l;
    for (; k + 1 < K; k += 2) {
        const double *f0 = F + (long)k * L, *f1 = f0 + L;
        sc_v4 a00 = {0, 0, 0, 0}, a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00,
              a30 = a00, a31 = a00;
        for (l = 0; l + 4 <= L; l += 4) {
            sc_v4 g0 = sc_ld(f0 + l), g1 = sc_ld(f1 + l), v;
            if (k == 0 && (l & SC_LINE_MASK) == 0) {  /* the rows two blocks ahead, a line at a time */
                __builtin_prefetch(x0 + 8 * ldx + l); __builtin_prefetch(x1 + 8 * ldx + l);
                __builtin_prefetch(x2 + 8 * ldx + l); __builtin_prefetch(x3 + 8 * ldx + l);
            }
            v = SC_LD(x0 + l); a00 += v * g0; a01 += v * g1;
            v = SC_LD(x1 + l); a10 += v * g0; a11 += v * g1;
            v = SC_LD(x2 + l); a20 += v * g0; a21 += v * g1;
            v = SC_LD(x3 + l); a30 += v * g0; a31 += v * g1;
        }
        double s00 = sc_hsum(a00), s01 = sc_hsum(a01), s10 = sc_hsum(a10), s11 = sc_hsum(a11),
               s20 = sc_hsum(a20), s21 = sc_hsum(a21), s30 = sc_hsum(a30), s31 = sc_hsum(a31);
        for (; l < L; l++) {
            s00 += x0[l] * f0[l]; s01 += x0[l] * f1[l];
            s10 += x1[l] * f0[l]; s11 += x1[l] * f1[l];
            s20 += x2[l] * f0[l]; s21 += x2[l] * f1[l];
            s30 += x3[l] * f0[l]; s31 += x3[l] * f1[l];
        }
        Q[k] = s00; Q[k + 1] = s01;
        Q[K + k] = s10; Q[K + k + 1] = s11;
        Q[2 * K + k] = s20; Q[2 * K + k + 1] = s21;
        Q[3 * K + k] = s30; Q[3 * K + k + 1] = s31;
    }
    for (; k < K; k++) {
        const double* f0 = F + (long)k * L;
        sc_v4 a0 = {0, 0, 0, 0}, a1 = a0, a2 = a0, a3 = a0;
        for (l = 0; l + 4 <= L; l += 4) {
            sc_v4 g0 = sc_ld(f0 + l);
            a0 += SC_LD(x0 + l) * g0; a1 += SC_LD(x1 + l) * g0;
            a2 += SC_LD(x2 + l) * g0; a3 += SC_LD(x3 + l) * g0;
        }
        double s0 = sc_hsum(a0), s1 = sc_hsum(a1), s2 = sc_hsum(a2), s3 = sc_hsum(a3);
        for (; l < L; l++) {
            s0 += x0[l] * f0[l]; s1 += x1[l] * f0[l];
            s2 += x2[l] * f0[l]; s3 += x3[l] * f0[l];
        }
        Q[k] = s0; Q[K + k] = s1; Q[2 * K + k] = s2; Q[3 * K + k] = s3;
    }
}

/* A[k, :] += sum_r w_r[k] x_r for the SC_R rows (A (K, L) row-major). */
static inline __attribute__((always_inline)) void
SC_NAME(sc_accum)(const SC_T* xr, long ldx, int L, int K, const double* Wr, double* A)
{
    const SC_T *x0 = xr, *x1 = xr + ldx, *x2 = xr + 2 * ldx, *x3 = xr + 3 * ldx;
    int k = 0, l;
    for (; k + 1 < K; k += 2) {  /* two endmembers per pass: the rows are loaded once */
        double *a = A + (long)k * L, *b = a + L;
        const double w0 = Wr[k], w1 = Wr[K + k], w2 = Wr[2 * K + k], w3 = Wr[3 * K + k];
        const double u0 = Wr[k + 1], u1 = Wr[K + k + 1], u2 = Wr[2 * K + k + 1],
                     u3 = Wr[3 * K + k + 1];
        sc_v4 c0 = {w0, w0, w0, w0}, c1 = {w1, w1, w1, w1}, c2 = {w2, w2, w2, w2},
              c3 = {w3, w3, w3, w3}, d0 = {u0, u0, u0, u0}, d1 = {u1, u1, u1, u1},
              d2 = {u2, u2, u2, u2}, d3 = {u3, u3, u3, u3};
        for (l = 0; l + 4 <= L; l += 4) {
            sc_v4 v0 = SC_LD(x0 + l), v1 = SC_LD(x1 + l), v2 = SC_LD(x2 + l),
                  v3 = SC_LD(x3 + l);
            sc_v4 s = sc_ld(a + l), t = sc_ld(b + l);
            s += c0 * v0; t += d0 * v0;
            s += c1 * v1; t += d1 * v1;
            s += c2 * v2; t += d2 * v2;
            s += c3 * v3; t += d3 * v3;
            sc_st(a + l, s);
            sc_st(b + l, t);
        }
        for (; l < L; l++) {
            a[l] = a[l] + w0 * x0[l] + w1 * x1[l] + w2 * x2[l] + w3 * x3[l];
            b[l] = b[l] + u0 * x0[l] + u1 * x1[l] + u2 * x2[l] + u3 * x3[l];
        }
    }
    for (; k < K; k++) {
        double* a = A + (long)k * L;
        const double w0 = Wr[k], w1 = Wr[K + k], w2 = Wr[2 * K + k], w3 = Wr[3 * K + k];
        sc_v4 c0 = {w0, w0, w0, w0}, c1 = {w1, w1, w1, w1}, c2 = {w2, w2, w2, w2},
              c3 = {w3, w3, w3, w3};
        for (l = 0; l + 4 <= L; l += 4) {
            sc_v4 s = sc_ld(a + l);
            s += c0 * SC_LD(x0 + l);
            s += c1 * SC_LD(x1 + l);
            s += c2 * SC_LD(x2 + l);
            s += c3 * SC_LD(x3 + l);
            sc_st(a + l, s);
        }
        for (; l < L; l++)
            a[l] = a[l] + w0 * x0[l] + w1 * x1[l] + w2 * x2[l] + w3 * x3[l];
    }
}

