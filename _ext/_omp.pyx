# cython: language_level=3
"""Greedy pursuit kernels: Batch-OMP (Gram), Cholesky OMP (no Gram), Matching Pursuit.

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
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport malloc, free
from libc.string cimport memset

from _blas cimport OP_N, OP_C, dtype, abs2, conj, real, gemv, trsv_lower


cdef inline int _argmax_inactive(const dtype* c, const double* dinv, const char* mask,
                                 int N, double* best) noexcept nogil:
    # Selection rule |c_k|^2 / G_kk over the inactive atoms; strict '>' keeps
    # the first maximal index (deterministic ties).
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


cdef int _batch_omp_one(const dtype* G, const dtype* alpha0, const double* dinv, int N,
                        int kmax, bint error_mode, double eps, double ynorm2,
                        double dep_tol, double tiny,
                        dtype* L, dtype* Gsel, dtype* alpha, dtype* gamma, dtype* w,
                        char* mask, int* idx_out, dtype* val_out, int* nnz_out,
                        double* resid_out) noexcept nogil:
    """Batch-OMP for one signal (RZE 2008, Algorithm 3).

    In-place: writes L (kmax x kmax, column-major; L L^H = G[I, I]),
    Gsel (N x kmax, column t = G[:, I_t]), alpha (current correlations
    A^H r = alpha0 - G[:, I] gamma), gamma, w, mask, and the outputs.
    """
    cdef int n = 0, j = -1, t, k, status = 0
    cdef double best, d, E = ynorm2, proj
    cdef const dtype* Grow
    memset(mask, 0, N)
    for k in range(N):
        alpha[k] = alpha0[k]
    if error_mode and E <= eps:
        nnz_out[0] = 0
        resid_out[0] = E
        return 0
    while n < kmax:
        j = _argmax_inactive(alpha, dinv, mask, N, &best)
        if j < 0 or best <= tiny:
            status = 1
            break
        # G[:, j] = conj(G[j, :]) (Hermitian); row j is contiguous.
        Grow = G + <Py_ssize_t> j * N
        for k in range(N):
            Gsel[<Py_ssize_t> n * N + k] = conj(Grow[k])
        if n > 0:
            # w = L^{-1} G[I, j];  d = G_jj - w^H w   (Cholesky append, spec 0.2-1)
            for t in range(n):
                w[t] = Gsel[<Py_ssize_t> n * N + idx_out[t]]
            trsv_lower(OP_N, n, L, kmax, w)
            d = real(Grow[j])
            for t in range(n):
                d -= abs2(w[t])
            if d <= dep_tol * real(Grow[j]):
                status = 2
                break
            for t in range(n):
                L[n + t * kmax] = conj(w[t])
            L[n + n * kmax] = sqrt(d)
        else:
            L[0] = sqrt(real(Grow[j]))
        idx_out[n] = j
        mask[j] = 1
        n += 1
        # gamma = (L L^H)^{-1} alpha0[I]
        for t in range(n):
            gamma[t] = alpha0[idx_out[t]]
        trsv_lower(OP_N, n, L, kmax, gamma)
        trsv_lower(OP_C, n, L, kmax, gamma)
        # alpha = alpha0 - G[:, I] gamma  (the dominant N x n GEMV)
        for k in range(N):
            alpha[k] = alpha0[k]
        gemv(OP_N, N, n, -1.0, Gsel, N, gamma, 1.0, alpha)
        if error_mode:
            # ||r||^2 = ||y||^2 - Re(alpha0_I^H gamma), computed directly (no drift)
            proj = 0.0
            for t in range(n):
                proj = proj + real(conj(alpha0[idx_out[t]]) * gamma[t])
            E = ynorm2 - proj
            if E < 0.0:
                E = 0.0
            if E <= eps:
                break
    if error_mode and E > eps and status == 0:
        status = 3
    if not error_mode:
        proj = 0.0
        for t in range(n):
            proj = proj + real(conj(alpha0[idx_out[t]]) * gamma[t])
        E = ynorm2 - proj
        if E < 0.0:
            E = 0.0
    for t in range(n):
        val_out[t] = gamma[t]
    nnz_out[0] = n
    resid_out[0] = E
    return status


def batch_omp_gram(const dtype[:, ::1] G, const dtype[:, ::1] Aty, const double[::1] dinv,
                   const double[::1] ynorm2, const double[::1] eps, int kmax,
                   bint error_mode, double dep_tol, int n_threads,
                   int[:, ::1] idx_out, dtype[:, ::1] val_out, int[::1] nnz_out,
                   double[::1] resid_out, int[::1] status_out):
    """Batch-OMP over the rows of ``Aty`` (one signal per row).

    ``G`` is the (N, N) Gram matrix A^H A, ``Aty`` the (L, N) correlations
    (row i = A^H y_i), ``ynorm2`` the squared norms of the signals (used for
    the residual), ``eps`` per-signal squared-residual targets (error mode).
    Outputs: the first ``nnz_out[i]`` entries of ``idx_out[i]``/``val_out[i]``.
    """
    cdef Py_ssize_t L_sig = Aty.shape[0]
    cdef int N = <int> G.shape[0]
    cdef Py_ssize_t i
    cdef dtype* Lbuf
    cdef dtype* Gsel
    cdef dtype* alpha
    cdef dtype* gamma
    cdef dtype* w
    cdef char* mask
    cdef double tiny = 1e-28
    if L_sig == 0 or kmax == 0:
        for i in range(L_sig):
            nnz_out[i] = 0
            resid_out[i] = ynorm2[i]
            status_out[i] = 0
        return
    with nogil, parallel(num_threads=n_threads):
        Lbuf = <dtype*> malloc(sizeof(dtype) * kmax * kmax)
        Gsel = <dtype*> malloc(sizeof(dtype) * N * kmax)
        alpha = <dtype*> malloc(sizeof(dtype) * N)
        gamma = <dtype*> malloc(sizeof(dtype) * kmax)
        w = <dtype*> malloc(sizeof(dtype) * kmax)
        mask = <char*> malloc(N)
        for i in prange(L_sig, schedule="static"):
            status_out[i] = _batch_omp_one(
                &G[0, 0], &Aty[i, 0], &dinv[0], N, kmax, error_mode, eps[i], ynorm2[i],
                dep_tol, tiny * ynorm2[i], Lbuf, Gsel, alpha, gamma, w, mask,
                &idx_out[i, 0], &val_out[i, 0], &nnz_out[i], &resid_out[i])
        free(Lbuf)
        free(Gsel)
        free(alpha)
        free(gamma)
        free(w)
        free(mask)


cdef int _omp_one(const dtype* A, int m, int N, const dtype* y, const double* dinv,
                  int kmax, bint error_mode, double eps, double dep_tol, double tiny,
                  dtype* L, dtype* As, dtype* r, dtype* c, dtype* z, dtype* w,
                  char* mask, int* idx_out, dtype* val_out, int* nnz_out,
                  double* resid_out) noexcept nogil:
    """Cholesky OMP for one signal without a Gram matrix (spec 1.4).

    A is (m, N) column-major.  In-place: L (kmax x kmax, L L^H = A_S^H A_S),
    As (m x kmax, the selected columns), r (residual), c (A^H r), z, w.
    """
    cdef int n = 0, j, t, k, status = 0
    cdef double best, d, E = 0.0, ajn
    cdef const dtype* aj
    memset(mask, 0, N)
    for k in range(m):
        r[k] = y[k]
        E += abs2(y[k])
    if error_mode and E <= eps:
        nnz_out[0] = 0
        resid_out[0] = E
        return 0
    while n < kmax:
        gemv(OP_C, m, N, 1.0, <dtype*> A, m, r, 0.0, c)
        j = _argmax_inactive(c, dinv, mask, N, &best)
        if j < 0 or best <= tiny:
            status = 1
            break
        aj = A + <Py_ssize_t> j * m
        ajn = 1.0 / dinv[j]
        if n > 0:
            # w = L^{-1} A_S^H a_j ; d = ||a_j||^2 - ||w||^2
            gemv(OP_C, m, n, 1.0, As, m, <dtype*> aj, 0.0, w)
            trsv_lower(OP_N, n, L, kmax, w)
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
        for k in range(m):
            As[<Py_ssize_t> n * m + k] = aj[k]
        idx_out[n] = j
        mask[j] = 1
        n += 1
        # z = (L L^H)^{-1} A_S^H y
        gemv(OP_C, m, n, 1.0, As, m, <dtype*> y, 0.0, z)
        trsv_lower(OP_N, n, L, kmax, z)
        trsv_lower(OP_C, n, L, kmax, z)
        # r = y - A_S z
        for k in range(m):
            r[k] = y[k]
        gemv(OP_N, m, n, -1.0, As, m, z, 1.0, r)
        E = 0.0
        for k in range(m):
            E += abs2(r[k])
        if error_mode and E <= eps:
            break
    if error_mode and E > eps and status == 0:
        status = 3
    for t in range(n):
        val_out[t] = z[t]
    nnz_out[0] = n
    resid_out[0] = E
    return status


def omp_nogram(const dtype[::1, :] A, const dtype[::1, :] Y, const double[::1] dinv,
               const double[::1] eps, int kmax, bint error_mode, double dep_tol,
               int n_threads, int[:, ::1] idx_out, dtype[:, ::1] val_out,
               int[::1] nnz_out, double[::1] resid_out, int[::1] status_out):
    """Cholesky OMP over the columns of ``Y`` (m, L), dictionary ``A`` (m, N), both Fortran."""
    cdef int m = <int> A.shape[0]
    cdef int N = <int> A.shape[1]
    cdef Py_ssize_t L_sig = Y.shape[1]
    cdef Py_ssize_t i
    cdef dtype* Lbuf
    cdef dtype* As
    cdef dtype* r
    cdef dtype* c
    cdef dtype* z
    cdef dtype* w
    cdef char* mask
    cdef double ynorm2
    cdef int k
    if L_sig == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        Lbuf = <dtype*> malloc(sizeof(dtype) * (kmax * kmax + 1))
        As = <dtype*> malloc(sizeof(dtype) * (m * kmax + 1))
        r = <dtype*> malloc(sizeof(dtype) * m)
        c = <dtype*> malloc(sizeof(dtype) * N)
        z = <dtype*> malloc(sizeof(dtype) * (kmax + 1))
        w = <dtype*> malloc(sizeof(dtype) * (kmax + 1))
        mask = <char*> malloc(N)
        for i in prange(L_sig, schedule="static"):
            ynorm2 = 0.0
            for k in range(m):
                ynorm2 = ynorm2 + abs2(Y[k, i])
            status_out[i] = _omp_one(
                &A[0, 0], m, N, &Y[0, i], &dinv[0], kmax, error_mode, eps[i], dep_tol,
                1e-28 * ynorm2, Lbuf, As, r, c, z, w, mask, &idx_out[i, 0], &val_out[i, 0],
                &nnz_out[i], &resid_out[i])
        free(Lbuf)
        free(As)
        free(r)
        free(c)
        free(z)
        free(w)
        free(mask)


cdef int _mp_one(const dtype* G, const dtype* alpha0, const double* dinv, int N,
                 int kmax, int max_iter, bint error_mode, double eps, double ynorm2,
                 double tiny, dtype* c, char* mask, dtype* x, int* n_iter_out,
                 double* resid_out) noexcept nogil:
    """Matching Pursuit for one signal with the Gram update (spec 1.2).

    In-place: c (correlations A^H r), mask (support), x (dense code, length N).
    """
    cdef int it = 0, j, k, n_sup = 0, status = 0
    cdef double best, E = ynorm2
    cdef dtype tj
    cdef const dtype* Grow
    memset(mask, 0, N)
    for k in range(N):
        c[k] = alpha0[k]
        x[k] = 0.0
    while it < max_iter:
        if error_mode and E <= eps:
            break
        # argmax over all atoms (MP may re-select), normalised by ||a_k||
        best = -1.0
        j = -1
        for k in range(N):
            if abs2(c[k]) * dinv[k] > best:
                best = abs2(c[k]) * dinv[k]
                j = k
        if best <= tiny:
            status = 1
            break
        if mask[j] == 0:
            if n_sup >= kmax:
                break
            mask[j] = 1
            n_sup += 1
        tj = c[j] * dinv[j]
        x[j] = x[j] + tj
        Grow = G + <Py_ssize_t> j * N
        for k in range(N):
            c[k] = c[k] - tj * conj(Grow[k])
        E -= abs2(tj) / dinv[j]
        if E < 0.0:
            E = 0.0
        it += 1
    if error_mode and E > eps and status == 0:
        status = 3
    n_iter_out[0] = it
    resid_out[0] = E
    return status


def batch_mp_gram(const dtype[:, ::1] G, const dtype[:, ::1] Aty, const double[::1] dinv,
                  const double[::1] ynorm2, const double[::1] eps, int kmax, int max_iter,
                  bint error_mode, int n_threads, dtype[:, ::1] x_out, int[::1] n_iter_out,
                  double[::1] resid_out, int[::1] status_out):
    """Matching Pursuit over the rows of ``Aty``; writes dense codes into ``x_out``."""
    cdef Py_ssize_t L_sig = Aty.shape[0]
    cdef int N = <int> G.shape[0]
    cdef Py_ssize_t i
    cdef dtype* c
    cdef char* mask
    if L_sig == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        c = <dtype*> malloc(sizeof(dtype) * N)
        mask = <char*> malloc(N)
        for i in prange(L_sig, schedule="static"):
            status_out[i] = _mp_one(
                &G[0, 0], &Aty[i, 0], &dinv[0], N, kmax, max_iter, error_mode, eps[i],
                ynorm2[i], 1e-28 * ynorm2[i], c, mask, &x_out[i, 0], &n_iter_out[i],
                &resid_out[i])
        free(c)
        free(mask)
