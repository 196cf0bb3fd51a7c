# cython: language_level=3
"""Kernel of the truncated power method's Lanczos start (sparsecode.decomposition._tpower).

``gram_matvec`` forms ``y = X q - shift`` and ``z = X^T y`` in one pass over
the rows of a C-ordered ``X``: each block of rows is multiplied by ``q`` and,
while it is still in cache, its transpose by its part of ``y`` is added to
``z``.  ``X^T (X q)`` by two matrix-vector products reads ``X`` from memory
twice; this reads it once (the products are memory-bound).  ``shift`` is the
low-rank part of a centred or deflated operator, ``U (B q)``, computed by the
caller.  ``gram_matmat`` does the same for several vectors at once (two
BLAS matrix products per block: one pass for all of them).
``rmatvec_gather`` forms ``X^T y`` and gathers columns of ``X`` in the same
pass.  float32 and float64 from one source (``floating``).
"""
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm


cdef inline void _gemm(char ta, int m, int n, int k, floating* a, int lda, floating* b,
                       int ldb, floating beta, floating* c, int ldc) noexcept nogil:
    """C <- op(A) B + beta C for column-major A, B (m, n), C (m, n); op(A) = A or A^T."""
    cdef char tb = 78  # 'N'
    cdef floating alpha = 1.0
    if floating is float:
        sgemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&ta, &tb, &m, &n, &k, &alpha, a, &lda, b, &ldb, &beta, c, &ldc)


def gram_matvec(const floating[:, ::1] X, const floating[::1] q, const floating[::1] shift,
                floating[::1] y, floating[::1] z, Py_ssize_t block_rows):
    """``y <- X q - shift`` and ``z <- X^T y``, reading ``X`` once.

    Writes ``y`` (length n_samples) and ``z`` (length n_features) in place;
    reads ``X``, ``q`` and ``shift`` only: :func:`gram_matmat` for one vector
    (each block of ``block_rows`` rows, about 512 KiB, multiplied by ``q`` and,
    while in cache, its transpose by its part of ``y``; BLAS matrix products
    with one column run faster on blocks of a dozen rows than the
    matrix-vector kernels).
    """
    gram_matmat(X, q[None, :], shift[None, :], y[None, :], z[None, :], block_rows)


def gram_matmat(const floating[:, ::1] X, const floating[:, ::1] Q,
                const floating[:, ::1] shift, floating[:, ::1] Y, floating[:, ::1] Z,
                Py_ssize_t block_rows):
    """``Y <- Q X^T - shift`` and ``Z <- Y X`` for ``b`` vectors at once, reading ``X`` once.

    ``Q`` (b, n_features) holds the vectors as rows; writes ``Y``
    (b, n_samples) = ``(X Q^T)^T - shift`` and ``Z`` (b, n_features) =
    ``Y X`` in place (``gram_matvec`` for ``b`` vectors).  Each block of
    ``block_rows`` rows of ``X`` is multiplied by the ``b`` vectors and, while
    in cache, its transpose by its part of ``Y`` (two BLAS matrix products
    with ``b`` columns): one pass over ``X`` for the ``b`` products.
    """
    cdef int n = X.shape[0]
    cdef int p = X.shape[1]
    cdef int b = Q.shape[0]
    cdef int r0 = 0, nr, i, l
    cdef int rb = <int> max(block_rows, 1)
    cdef floating beta = 0.0
    cdef floating* xp
    if (Q.shape[1] != p or Y.shape[0] != b or Y.shape[1] != n or Z.shape[0] != b
            or Z.shape[1] != p or shift.shape[0] != b or shift.shape[1] != n):
        raise ValueError("gram_matmat: Q, shift, Y, Z must have shapes (b, p), (b, n), "
                         "(b, n), (b, p).")
    if b == 0:
        return
    if n == 0 or p == 0:
        Z[:, :] = 0
        return
    with nogil:
        while r0 < n:
            nr = min(rb, n - r0)
            xp = <floating*> &X[r0, 0]  # rows r0 .. r0 + nr: column-major (p, nr)
            # Y[:, r0:r0+nr] (column-major (nr, b), ld n) = X_r Q^T
            _gemm(84, nr, b, p, xp, p, <floating*> &Q[0, 0], p, 0.0, &Y[0, r0], n)
            for l in range(b):
                for i in range(r0, r0 + nr):
                    Y[l, i] -= shift[l, i]
            # Z (column-major (p, b)) += X_r^T Y_r
            _gemm(78, p, b, nr, xp, p, &Y[0, r0], n, beta, &Z[0, 0], p)
            beta = 1.0
            r0 += nr


def rmatvec_gather(const floating[:, ::1] X, const floating[::1] y, floating[::1] z,
                   const Py_ssize_t[::1] cols, floating[:, ::1] out, Py_ssize_t block_rows):
    """``z <- X^T y`` and ``out <- X[:, cols]``, reading ``X`` once.

    Writes ``z`` (length n_features) and ``out`` (n_samples, len(cols)) in
    place; reads ``X``, ``y`` and ``cols`` (valid column indices) only.  Each
    block of ``block_rows`` rows adds its transpose times its part of ``y``
    to ``z`` (a BLAS product) and, while in cache, gives its entries in the
    columns ``cols`` to ``out``: a gather of columns of a row-major matrix
    reads every row (a pass over ``X``), here shared with the product.
    """
    cdef int n = X.shape[0]
    cdef int p = X.shape[1]
    cdef Py_ssize_t m = cols.shape[0], i, t
    cdef int r0 = 0, nr
    cdef int rb = <int> max(block_rows, 1)
    cdef floating beta = 0.0
    cdef floating* xp
    cdef const floating* xr
    cdef floating* o
    if y.shape[0] != n or z.shape[0] != p or out.shape[0] != n or out.shape[1] != m:
        raise ValueError("rmatvec_gather: y, z, out must have shapes (n,), (p,), (n, len(cols)).")
    for t in range(m):
        if cols[t] < 0 or cols[t] >= p:
            raise ValueError("rmatvec_gather: column index out of range.")
    if p == 0:
        return
    if n == 0:
        z[:] = 0
        return
    with nogil:
        while r0 < n:
            nr = min(rb, n - r0)
            xp = <floating*> &X[r0, 0]  # rows r0 .. r0 + nr: column-major (p, nr)
            _gemm(78, p, 1, nr, xp, p, <floating*> &y[r0], nr, beta, &z[0], p)  # z += X_r^T y_r
            for i in range(r0, r0 + nr):
                xr = &X[i, 0]
                o = &out[i, 0]
                for t in range(m):
                    o[t] = xr[cols[t]]
            beta = 1.0
            r0 += nr


def column_stats(const floating[:, ::1] X, double[::1] sums, double[::1] sumsq,
                 float[:, ::1] copy):
    """Column sums and sums of squares of a C-ordered ``X``, and its single-precision copy.

    One pass over ``X`` (read only): ``sums[j] = sum_i X[i, j]`` and
    ``sumsq[j] = sum_i X[i, j]^2`` accumulated in double precision, four rows
    at a time, and ``copy[i, j] = float(X[i, j])``
    when ``copy`` has the shape of ``X`` (pass a ``(0, 0)`` array for no copy).
    A NaN or an infinity in ``X`` makes its column's sums non-finite.
    """
    cdef Py_ssize_t n = X.shape[0]
    cdef Py_ssize_t p = X.shape[1]
    cdef Py_ssize_t i, j, r, nr
    cdef double a, b, c, d
    cdef bint do_copy = copy.shape[0] == n and copy.shape[1] == p
    cdef double* s = &sums[0]
    cdef double* sq = &sumsq[0]
    cdef const floating* x0
    cdef const floating* x1
    cdef const floating* x2
    cdef const floating* x3
    cdef float* cr
    with nogil:
        for j in range(p):
            s[j] = 0.0
            sq[j] = 0.0
        i = 0
        while i < n:  # four rows per sweep: a quarter of the accumulator updates
            nr = min(4, n - i)
            if nr == 4:
                x0, x1, x2, x3 = &X[i, 0], &X[i + 1, 0], &X[i + 2, 0], &X[i + 3, 0]
                for j in range(p):
                    a, b, c, d = x0[j], x1[j], x2[j], x3[j]
                    s[j] += (a + b) + (c + d)
                    sq[j] += (a * a + b * b) + (c * c + d * d)
            else:
                for r in range(i, i + nr):
                    x0 = &X[r, 0]
                    for j in range(p):
                        a = x0[j]
                        s[j] += a
                        sq[j] += a * a
            if do_copy:
                for r in range(i, i + nr):
                    x0 = &X[r, 0]
                    cr = &copy[r, 0]
                    for j in range(p):
                        cr[j] = <float> x0[j]
            i += nr


# ---------------------------------------------------------------------------
# Half-precision copy for the Lanczos start (AVX-512 machines).
#
# The start's ~30 products X'(X q) are memory-bound passes; over a
# half-precision copy of the centred data (columns scaled by powers of two to
# the float16 range) each pass reads half the bytes of the single-precision
# copy.  The conversions run on the CPU's float16 instructions (vcvtph2ps);
# products accumulate in single precision.  Where the CPU lacks AVX-512
# (F, BW, VL) the start keeps the single-precision copy.
# ---------------------------------------------------------------------------
cdef extern from *:
    """
    #include <stdint.h>
    #if defined(__x86_64__) && defined(__GNUC__)
    #include <immintrin.h>
    #define TP_HALF 1
    #define TP_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,f16c,fma")))

    static int tp_half_level = -1;
    static int tp_half_supported(void) {
        if (tp_half_level < 0) {
            __builtin_cpu_init();
            tp_half_level = (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
                             && __builtin_cpu_supports("avx512vl")) ? 1 : 0;
        }
        return tp_half_level;
    }

    /* H[i, j] = half((X[i, j] - mean[j]) * scale[j]), round to nearest even. */
    TP_TARGET static void tp_half_copy(const float* X, Py_ssize_t n, Py_ssize_t p,
                                       const float* mean, const float* scale, uint16_t* H) {
        Py_ssize_t i, j;
        for (i = 0; i < n; i++) {
            const float* x = X + i * p;
            uint16_t* h = H + i * p;
            for (j = 0; j + 16 <= p; j += 16) {
                __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + j),
                                                       _mm512_loadu_ps(mean + j)),
                                         _mm512_loadu_ps(scale + j));
                _mm256_storeu_si256((__m256i*) (h + j),
                                    _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            }
            if (j < p) {
                __mmask16 m = (__mmask16) ((1u << (p - j)) - 1u);
                __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j),
                                                       _mm512_maskz_loadu_ps(m, mean + j)),
                                         _mm512_maskz_loadu_ps(m, scale + j));
                _mm256_mask_storeu_epi16((void*) (h + j), m,
                    _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            }
        }
    }

    #define TP_R 8  /* rows per block: kept in cache between the two products */

    TP_TARGET static inline __m512 tp_ldm(const uint16_t* h, Py_ssize_t j, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const void*) (h + j)));
    }

    /* y = H v + shift (every entry) and z = H' y (single-precision accumulation),
       reading each block of TP_R rows of H from memory once.  The last chunk of 16
       columns is read and written under a mask. */
    TP_TARGET static void tp_half_gram(const uint16_t* H, Py_ssize_t n, Py_ssize_t p,
                                       const float* v, float shift, float* y, float* z) {
        Py_ssize_t i0, j, r, nr;
        Py_ssize_t pt = p - p % 16;
        __mmask16 mt = (__mmask16) ((1u << (p - pt)) - 1u), m;
        for (j = 0; j < p; j++) z[j] = 0.0f;
        for (i0 = 0; i0 < n; i0 += TP_R) {
            const uint16_t* h = H + i0 * p;
            const uint16_t* hn = h + TP_R * p;  /* the next block */
            int ahead = i0 + 2 * TP_R <= n;
            __m512 a[TP_R], b[TP_R];
            nr = n - i0 < TP_R ? n - i0 : TP_R;
            for (r = 0; r < TP_R; r++) a[r] = _mm512_setzero_ps();
            if (nr == TP_R) {
                for (j = 0; j < p; j += 16) {
                    __m512 w;
                    m = j < pt ? (__mmask16) 0xffff : mt;
                    w = _mm512_maskz_loadu_ps(m, v + j);
                    #pragma GCC unroll 8
                    for (r = 0; r < TP_R; r++)
                        a[r] = _mm512_fmadd_ps(tp_ldm(h + r * p, j, m), w, a[r]);
                }
            } else {
                for (r = 0; r < nr; r++)
                    for (j = 0; j < p; j += 16) {
                        m = j < pt ? (__mmask16) 0xffff : mt;
                        a[r] = _mm512_fmadd_ps(tp_ldm(h + r * p, j, m),
                                               _mm512_maskz_loadu_ps(m, v + j), a[r]);
                    }
            }
            for (r = 0; r < TP_R; r++) {
                if (r < nr) y[i0 + r] = _mm512_reduce_add_ps(a[r]) + shift;
                b[r] = _mm512_set1_ps(r < nr ? y[i0 + r] : 0.0f);
            }
            if (nr == TP_R) {
                for (j = 0; j < p; j += 16) {
                    __m512 acc0, acc1;
                    m = j < pt ? (__mmask16) 0xffff : mt;
                    /* the next block's rows are fetched while this one is multiplied
                       from cache: the memory works during the second product too */
                    if (ahead && !(j & 16)) {
                        #pragma GCC unroll 8
                        for (r = 0; r < TP_R; r++)
                            _mm_prefetch((const char*) (hn + r * p + j), _MM_HINT_T1);
                    }
                    acc0 = _mm512_mul_ps(tp_ldm(h, j, m), b[0]);
                    acc1 = _mm512_mul_ps(tp_ldm(h + p, j, m), b[1]);
                    #pragma GCC unroll 8
                    for (r = 2; r < TP_R; r += 2) {
                        acc0 = _mm512_fmadd_ps(tp_ldm(h + r * p, j, m), b[r], acc0);
                        acc1 = _mm512_fmadd_ps(tp_ldm(h + (r + 1) * p, j, m), b[r + 1], acc1);
                    }
                    _mm512_mask_storeu_ps(z + j, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, z + j),
                                                                  _mm512_add_ps(acc0, acc1)));
                }
            } else {
                for (r = 0; r < nr; r++)
                    for (j = 0; j < p; j += 16) {
                        m = j < pt ? (__mmask16) 0xffff : mt;
                        _mm512_mask_storeu_ps(z + j, m, _mm512_fmadd_ps(
                            tp_ldm(h + r * p, j, m), b[r], _mm512_maskz_loadu_ps(m, z + j)));
                    }
            }
        }
    }
    /* Column sums and sums of squares of the float64 X (double accumulation, four rows
       at a time), its single-precision copy F and the half copy
       H = half((F - c) * s) in one pass over X.  Returns the largest |(F - c) * s|
       (float16 overflows from 65520). */
    TP_TARGET static double tp_stats_half(const double* X, Py_ssize_t n, Py_ssize_t p,
                                          double* sums, double* sumsq, float* F,
                                          const float* c, const float* s, uint16_t* H) {
        Py_ssize_t i, j, r, nr;
        Py_ssize_t pt = p - p % 16;
        __mmask16 mt = (__mmask16) ((1u << (p - pt)) - 1u);
        __mmask8 mlo = (__mmask8) (mt & 0xff), mhi = (__mmask8) (mt >> 8);
        __m512 big = _mm512_setzero_ps();
        for (j = 0; j < p; j++) { sums[j] = 0.0; sumsq[j] = 0.0; }
        for (i = 0; i < n; i += 4) {
            nr = n - i < 4 ? n - i : 4;
            for (j = 0; j < p; j += 16) {
                __mmask16 m = j < pt ? (__mmask16) 0xffff : mt;
                __mmask8 ml = j < pt ? (__mmask8) 0xff : mlo, mh = j < pt ? (__mmask8) 0xff : mhi;
                __m512d s0 = _mm512_maskz_loadu_pd(ml, sums + j);
                __m512d s1 = _mm512_maskz_loadu_pd(mh, sums + j + 8);
                __m512d q0 = _mm512_maskz_loadu_pd(ml, sumsq + j);
                __m512d q1 = _mm512_maskz_loadu_pd(mh, sumsq + j + 8);
                __m512 cc = _mm512_maskz_loadu_ps(m, c + j), ss = _mm512_maskz_loadu_ps(m, s + j);
                for (r = 0; r < nr; r++) {
                    const double* x = X + (i + r) * p + j;
                    __m512d a = _mm512_maskz_loadu_pd(ml, x), b = _mm512_maskz_loadu_pd(mh, x + 8);
                    __m512 f;
                    s0 = _mm512_add_pd(s0, a); s1 = _mm512_add_pd(s1, b);
                    q0 = _mm512_fmadd_pd(a, a, q0); q1 = _mm512_fmadd_pd(b, b, q1);
                    f = _mm512_castpd_ps(_mm512_insertf64x4(
                        _mm512_castps_pd(_mm512_castps256_ps512(_mm512_cvtpd_ps(a))),
                        _mm256_castps_pd(_mm512_cvtpd_ps(b)), 1));
                    _mm512_mask_storeu_ps(F + (i + r) * p + j, m, f);
                    f = _mm512_mul_ps(_mm512_sub_ps(f, cc), ss);
                    big = _mm512_mask_max_ps(big, m, big, _mm512_abs_ps(f));
                    _mm256_mask_storeu_epi16((void*) (H + (i + r) * p + j), m,
                        _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
                }
                _mm512_mask_storeu_pd(sums + j, ml, s0); _mm512_mask_storeu_pd(sums + j + 8, mh, s1);
                _mm512_mask_storeu_pd(sumsq + j, ml, q0);
                _mm512_mask_storeu_pd(sumsq + j + 8, mh, q1);
            }
        }
        return (double) _mm512_reduce_max_ps(big);
    }
    #else
    static double tp_stats_half(const double* X, Py_ssize_t n, Py_ssize_t p, double* sums,
                                double* sumsq, float* F, const float* c, const float* s,
                                uint16_t* H) { return 0.0; }
    static int tp_half_supported(void) { return 0; }
    static void tp_half_copy(const float* X, Py_ssize_t n, Py_ssize_t p, const float* mean,
                             const float* scale, uint16_t* H) {}
    static void tp_half_gram(const uint16_t* H, Py_ssize_t n, Py_ssize_t p, const float* v,
                             float shift, float* y, float* z) {}
    #endif
    """
    int tp_half_supported() nogil
    void tp_half_copy(const float* X, Py_ssize_t n, Py_ssize_t p, const float* mean,
                      const float* scale, unsigned short* H) nogil
    void tp_half_gram(const unsigned short* H, Py_ssize_t n, Py_ssize_t p, const float* v,
                      float shift, float* y, float* z) nogil
    double tp_stats_half(const double* X, Py_ssize_t n, Py_ssize_t p, double* sums,
                         double* sumsq, float* F, const float* c, const float* s,
                         unsigned short* H) nogil


def half_supported():
    """Whether the half-precision kernels run here (x86-64 with AVX-512 F, BW and VL)."""
    return bool(tp_half_supported())


def half_copy(const float[:, ::1] X, const float[::1] mean, const float[::1] scale,
              unsigned short[:, ::1] H):
    """``H <- float16((X - mean) * scale)`` (bit patterns as uint16), one pass over ``X``.

    Rounds to nearest even, as NumPy's ``astype(np.float16)``.  Requires
    :func:`half_supported`.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1]
    if not tp_half_supported():
        raise RuntimeError("half_copy: this CPU lacks AVX-512 (F, BW, VL).")
    if mean.shape[0] != p or scale.shape[0] != p or H.shape[0] != n or H.shape[1] != p:
        raise ValueError("half_copy: mean, scale must have length n_features and H the "
                         "shape of X.")
    if n == 0 or p == 0:
        return
    with nogil:
        tp_half_copy(&X[0, 0], n, p, &mean[0], &scale[0], &H[0, 0])


def half_gram_matvec(const unsigned short[:, ::1] H, const float[::1] v, float shift,
                     float[::1] y, float[::1] z):
    """``y <- H v + shift`` and ``z <- H^T y`` for the float16 matrix ``H`` (uint16 bit patterns).

    Single-precision accumulation; each block of 8 rows of ``H`` is read from
    memory once for both products.  Requires :func:`half_supported`.
    """
    cdef Py_ssize_t n = H.shape[0], p = H.shape[1]
    if not tp_half_supported():
        raise RuntimeError("half_gram_matvec: this CPU lacks AVX-512 (F, BW, VL).")
    if v.shape[0] != p or y.shape[0] != n or z.shape[0] != p:
        raise ValueError("half_gram_matvec: v, y, z must have lengths n_features, n_samples, "
                         "n_features.")
    if p == 0:
        return
    if n == 0:
        z[:] = 0
        return
    with nogil:
        tp_half_gram(&H[0, 0], n, p, &v[0], shift, &y[0], &z[0])


def column_stats_half(const double[:, ::1] X, double[::1] sums, double[::1] sumsq,
                      float[:, ::1] F, const float[::1] centre, const float[::1] scale,
                      unsigned short[:, ::1] H):
    """:func:`column_stats` (float64 ``X``, with the copy ``F``) and ``H`` in the same pass.

    ``H = float16((F - centre) * scale)`` as :func:`half_copy` makes it from
    ``F``.  Returns the largest ``|(F - centre) * scale|``: from 65520 some
    entries of ``H`` are infinite.  Requires :func:`half_supported`.
    """
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1]
    cdef double big
    if not tp_half_supported():
        raise RuntimeError("column_stats_half: this CPU lacks AVX-512 (F, BW, VL).")
    if (sums.shape[0] != p or sumsq.shape[0] != p or centre.shape[0] != p
            or scale.shape[0] != p or F.shape[0] != n or F.shape[1] != p
            or H.shape[0] != n or H.shape[1] != p):
        raise ValueError("column_stats_half: sums, sumsq, centre, scale must have length "
                         "n_features and F, H the shape of X.")
    if p == 0:
        return 0.0
    with nogil:
        big = tp_stats_half(&X[0, 0], n, p, &sums[0], &sumsq[0], &F[0, 0], &centre[0],
                            &scale[0], &H[0, 0])
    return big
