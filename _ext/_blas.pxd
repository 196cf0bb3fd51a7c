# Header-only BLAS helpers shared by the kernels (found via include_path).
#
# ``cdef inline`` wrappers that dispatch on a fused type to
# scipy.linalg.cython_blas, so each kernel is written once for float64 and
# complex128.  Arrays are column-major (Fortran) as BLAS expects.
from scipy.linalg.cython_blas cimport dgemm, zgemm, dgemv, zgemv, dtrsv, ztrsv

ctypedef fused dtype:
    double
    double complex


cdef inline double abs2(dtype x) noexcept nogil:
    if dtype is double:
        return x * x
    else:
        return x.real * x.real + x.imag * x.imag


cdef inline dtype conj(dtype x) noexcept nogil:
    if dtype is double:
        return x
    else:
        return x.conjugate()


cdef inline double real(dtype x) noexcept nogil:
    if dtype is double:
        return x
    else:
        return x.real


# op codes for the wrappers below
cdef enum:
    OP_N = 0
    OP_C = 2


cdef inline void gemv(int op, int m, int n, dtype alpha, dtype* a, int lda,
                      dtype* x, dtype beta, dtype* y) noexcept nogil:
    """y <- alpha op(A) x + beta y, op = OP_N (A) or OP_C (A^H)."""
    cdef int one = 1
    cdef char trans = 78  # 'N'
    if op == OP_C:
        trans = 84 if dtype is double else 67  # 'T' for real, 'C' for complex
    if dtype is double:
        dgemv(&trans, &m, &n, &alpha, a, &lda, x, &one, &beta, y, &one)
    else:
        zgemv(&trans, &m, &n, &alpha, a, &lda, x, &one, &beta, y, &one)


cdef inline void trsv_lower(int op, int n, dtype* L, int ldl, dtype* x) noexcept nogil:
    """x <- op(L)^{-1} x for lower-triangular L, op = OP_N or OP_C (conjugate transpose)."""
    cdef int one = 1
    cdef char uplo = 76  # 'L'
    cdef char diag = 78  # 'N'
    cdef char trans = 78
    if op == OP_C:
        trans = 84 if dtype is double else 67
    if dtype is double:
        dtrsv(&uplo, &trans, &diag, &n, L, &ldl, x, &one)
    else:
        ztrsv(&uplo, &trans, &diag, &n, L, &ldl, x, &one)


cdef inline void gemm_nn(int m, int n, int k, dtype* a, int lda, dtype* b, int ldb,
                         dtype* c, int ldc) noexcept nogil:
    """C <- A B for column-major A (m x k), B (k x n), C (m x n)."""
    cdef char tr = 78  # 'N'
    cdef dtype one = 1.0
    cdef dtype zero = 0.0
    if dtype is double:
        dgemm(&tr, &tr, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc)
    else:
        zgemm(&tr, &tr, &m, &n, &k, &one, a, &lda, b, &ldb, &zero, c, &ldc)
