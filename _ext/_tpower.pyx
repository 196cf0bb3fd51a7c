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
    reads ``X``, ``q`` and ``shift`` only.  ``block_rows`` rows of ``X`` are
    kept in cache between the two products (choose about 512 KiB of rows).
    Both products of a block are BLAS matrix products with one column (on
    blocks of a dozen rows they run faster than the matrix-vector kernels).
    """
    cdef int n = X.shape[0]
    cdef int p = X.shape[1]
    cdef int r0 = 0, nr, i
    cdef int rb = <int> max(block_rows, 1)
    cdef floating beta = 0.0
    cdef floating* xp
    if n == 0 or p == 0:
        z[:] = 0
        return
    with nogil:
        while r0 < n:
            nr = min(rb, n - r0)
            # rows r0 .. r0 + nr of C-ordered X = the column-major (p, nr) matrix at &X[r0, 0]
            xp = <floating*> &X[r0, 0]
            _gemm(84, nr, 1, p, xp, p, <floating*> &q[0], p, 0.0, &y[r0], nr)  # y_r = X_r q
            for i in range(r0, r0 + nr):
                y[i] -= shift[i]
            _gemm(78, p, 1, nr, xp, p, &y[r0], nr, beta, &z[0], p)  # z += X_r^T y_r
            beta = 1.0
            r0 += nr


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
