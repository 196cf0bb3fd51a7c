# cython: language_level=3
"""The compiled kernels of ``sparsecode.convex`` (one source, fused types).

Every built-in coordinate-descent kernel of the convex family lives here, once,
as Cython with fused ``floating`` (float32/float64) data and ``index_t``
(int32/int64) sparse indices: the working-set CD epochs with Anderson
extrapolation (``cd_inner``; built-in penalties selected by an integer code,
or a user penalty called through compiled C callbacks), the outer statistics
(``l1_outer_stats``, ``scores_all``), the Gram CD of the encoders and
multi-target fits (``gram_cd_one``, ``gram_cd_batch``), the block CD of the
multi-task and group Lasso, and the sparse-design helpers (column norms, the
CSR -> CSC conversion with the norms and ``X^T y``, the outer gradient over the
unscreened CSC columns, the working-set gather from CSR).  Numba compiles only
user code (a user penalty's prox and value, a user datafit).

Sizes and indices are ``Py_ssize_t`` (never a C ``int`` product), the 32-bit
BLAS lengths are fed in pieces of at most ``INT_MAX``, and every workspace is
a NumPy array allocated with the GIL held (an allocation failure raises
``MemoryError``; there is no ``malloc`` here).
"""

import numpy as np

from libc.limits cimport INT_MAX
from libc.math cimport acos, cbrt, cos, exp, expm1, fabs, isinf, log1p, pow, sqrt
from cython.parallel cimport prange
from libc.stdint cimport int32_t, int64_t
from scipy.linalg.cython_blas cimport daxpy, ddot
from scipy.linalg.cython_blas cimport saxpy, sdot

ctypedef fused floating:
    float
    double


cdef inline floating _fdot(Py_ssize_t m, const floating* x, const floating* y) noexcept nogil:
    cdef int one = 1, n
    cdef Py_ssize_t start = 0
    cdef double s = 0.0
    while start < m:
        n = <int> min(m - start, <Py_ssize_t> INT_MAX)
        if floating is float:
            s += sdot(&n, <float*> &x[start], &one, <float*> &y[start], &one)
        else:
            s += ddot(&n, <double*> &x[start], &one, <double*> &y[start], &one)
        start += n
    return <floating> s


cdef inline void _faxpy(Py_ssize_t m, floating a, const floating* x,
                        floating* y) noexcept nogil:
    cdef int one = 1, n
    cdef Py_ssize_t start = 0
    while start < m:
        n = <int> min(m - start, <Py_ssize_t> INT_MAX)
        if floating is float:
            saxpy(&n, &a, <float*> &x[start], &one, &y[start], &one)
        else:
            daxpy(&n, &a, <double*> &x[start], &one, &y[start], &one)
        start += n


ctypedef fused index_t:
    int32_t
    int64_t



cdef enum:
    L1 = 0
    WL1 = 1
    MCP = 2
    SCAD = 3
    L0 = 4
    LHALF = 5
    LTWOTHIRDS = 6
    CEL0 = 7
    ENET = 8
    USER = 9

# a user penalty compiled by Numba to C callbacks (``_jit.penalty_callbacks``):
# prox(x, step, j, params) and value(w, n_features, params)
ctypedef double (*uprox_t)(double, double, int64_t, double*) noexcept nogil
ctypedef double (*uvalue_t)(double*, int64_t, double*) noexcept nogil
# a user datafit's callbacks: raw_grad(y, z, n, out, params) writes d F / d z into out;
# value(y, z, n, w, n_features, params) returns F
ctypedef void (*ugrad_t)(double*, double*, int64_t, double*, double*) noexcept nogil
ctypedef double (*udfvalue_t)(double*, double*, int64_t, double*, int64_t, double*) noexcept nogil


cdef inline double user_score(uprox_t prox, double* par, Py_ssize_t j, double x, double g,
                              double lip) noexcept nogil:
    """Fixed-point residual ``lip |x - prox(x - g / lip, 1 / lip)|`` of a user penalty."""
    if lip <= 0.0:
        return 0.0
    return lip * fabs(x - prox(x - g / lip, 1.0 / lip, j, par))

cdef double INF = float("inf")


cdef inline double sgn(double x) noexcept nogil:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


cdef inline double st(double x, double u) noexcept nogil:
    if x > u:
        return x - u
    if x < -u:
        return x + u
    return 0.0


cdef inline double mcp_value(double x, double alpha, double gamma) noexcept nogil:
    cdef double a = fabs(x)
    if a <= gamma * alpha:
        return alpha * a - a * a / (2.0 * gamma)
    return gamma * alpha * alpha / 2.0


cdef inline double scad_value(double x, double alpha, double gamma) noexcept nogil:
    cdef double a = fabs(x)
    if a <= alpha:
        return alpha * a
    if a <= gamma * alpha:
        return (2.0 * gamma * alpha * a - a * a - alpha * alpha) / (2.0 * (gamma - 1.0))
    return alpha * alpha * (gamma + 1.0) / 2.0


cdef inline double cel0_value(double x, double alpha, double a2) noexcept nogil:
    cdef double a = sqrt(a2)
    cdef double thr = sqrt(2.0 * alpha) / a
    cdef double t = fabs(x)
    if t <= thr:
        return alpha - a2 / 2.0 * (t - thr) * (t - thr)
    return alpha


cdef inline double prox_mcp(double x, double step, double alpha, double gamma) noexcept nogil:
    cdef double a = fabs(x), t, f0, f1
    if gamma > step:
        if a <= step * alpha:
            return 0.0
        if a <= gamma * alpha:
            return sgn(x) * (a - step * alpha) / (1.0 - step / gamma)
        return x
    t = max(a, gamma * alpha)
    f0 = a * a / (2.0 * step)
    f1 = (t - a) * (t - a) / (2.0 * step) + gamma * alpha * alpha / 2.0
    return sgn(x) * t if f1 < f0 else 0.0


cdef inline double prox_scad(double x, double step, double alpha, double gamma) noexcept nogil:
    cdef double a = fabs(x), best_t, best_f, f, t
    cdef double cands[4]
    cdef int k
    if gamma > 1.0 + step:
        if a <= (1.0 + step) * alpha:
            return st(x, step * alpha)
        if a <= gamma * alpha:
            return ((gamma - 1.0) * x - sgn(x) * step * gamma * alpha) / (gamma - 1.0 - step)
        return x
    best_t = 0.0
    best_f = a * a / (2.0 * step)
    cands[0] = min(max(a - step * alpha, 0.0), alpha)
    cands[1] = alpha
    cands[2] = gamma * alpha
    cands[3] = max(a, gamma * alpha)
    for k in range(4):
        t = cands[k]
        f = (t - a) * (t - a) / (2.0 * step) + scad_value(t, alpha, gamma)
        if f < best_f:
            best_f = f
            best_t = t
    return sgn(x) * best_t


cdef inline double prox_l0(double x, double u) noexcept nogil:
    if x * x > 2.0 * u:
        return x
    return 0.0


cdef inline double prox_lhalf(double x, double u) noexcept nogil:
    cdef double a = fabs(x), c
    if u <= 0.0:
        return x
    if a <= 1.5 * pow(u, 2.0 / 3.0):
        return 0.0
    c = -pow(3.0, 1.5) / 4.0 * u * pow(a, -1.5)
    c = min(max(c, -1.0), 1.0)
    return 2.0 / 3.0 * x * (1.0 + cos(2.0 / 3.0 * acos(c)))


cdef inline double prox_ltwothirds(double x, double u) noexcept nogil:
    cdef double a = fabs(x), q, z, s, inner
    if u <= 0.0:
        return x
    if a <= 2.0 * pow(2.0 * u / 3.0, 0.75):
        return 0.0
    q = sqrt(max(pow(a, 4) / 256.0 - 8.0 * u * u * u / 729.0, 0.0))
    z = cbrt(a * a / 16.0 + q) + cbrt(a * a / 16.0 - q)
    s = sqrt(2.0 * z)
    inner = max(2.0 * a / s - 2.0 * z, 0.0)
    return sgn(x) * pow(s + sqrt(inner), 3) / 8.0


cdef inline double prox_cel0(double x, double step, double alpha, double a2) noexcept nogil:
    cdef double a = sqrt(a2), thr = sqrt(2.0 * alpha) / sqrt(a2), ax
    if a2 * step < 1.0 - 1e-12:
        ax = fabs(x)
        return sgn(x) * min(ax, max(ax - sqrt(2.0 * alpha) * a * step, 0.0) / (1.0 - a2 * step))
    if fabs(x) > thr:
        return x
    return 0.0


cdef inline double value_scalar(int code, double x, double alpha, double gamma, double wj,
                                double a2) noexcept nogil:
    if code == L1:
        return alpha * fabs(x)
    if code == WL1:
        if wj == 0.0:
            return 0.0
        if isinf(wj):
            return 0.0 if x == 0.0 else INF
        return alpha * wj * fabs(x)
    if code == MCP:
        return mcp_value(x, alpha, gamma)
    if code == SCAD:
        return scad_value(x, alpha, gamma)
    if code == L0:
        return alpha if x != 0.0 else 0.0
    if code == LHALF:
        return alpha * sqrt(fabs(x))
    if code == LTWOTHIRDS:
        return alpha * pow(fabs(x), 2.0 / 3.0)
    if code == ENET:
        return alpha * fabs(x) + 0.5 * gamma * x * x
    return cel0_value(x, alpha, a2)


cdef inline double prox_scalar(int code, double x, double step, double alpha, double gamma,
                               double wj, double a2, bint positive) noexcept nogil:
    cdef double z
    if positive and x <= 0.0:
        return 0.0
    if code == L1:
        z = st(x, step * alpha)
    elif code == WL1:
        if isinf(wj):
            return 0.0
        z = st(x, step * alpha * wj)
    elif code == MCP:
        z = prox_mcp(x, step, alpha, gamma)
    elif code == SCAD:
        z = prox_scad(x, step, alpha, gamma)
    elif code == L0:
        z = prox_l0(x, step * alpha)
    elif code == LHALF:
        z = prox_lhalf(x, step * alpha)
    elif code == LTWOTHIRDS:
        z = prox_ltwothirds(x, step * alpha)
    elif code == ENET:
        z = st(x, step * alpha) / (1.0 + step * gamma)
    else:
        z = prox_cel0(x, step, alpha, a2)
    if positive and z < 0.0:
        return 0.0
    return z


cdef inline double score_scalar(int code, double x, double g, double lip, double alpha,
                                double gamma, double wj, double a2,
                                bint positive) noexcept nogil:
    cdef double t, z
    if code == L1 or code == WL1:
        t = alpha if code == L1 else alpha * wj
        if isinf(t):
            return 0.0
        if positive:
            if x == 0.0:
                return max(0.0, -g - t)
            return fabs(g + t)
        if x == 0.0:
            return max(0.0, fabs(g) - t)
        return fabs(g + t * sgn(x))
    if code == ENET:
        # distance of -(g + gamma x) to alpha d|x|
        g = g + gamma * x
        if positive:
            if x == 0.0:
                return max(0.0, -g - alpha)
            return fabs(g + alpha)
        if x == 0.0:
            return max(0.0, fabs(g) - alpha)
        return fabs(g + alpha * sgn(x))
    if lip <= 0.0:
        return 0.0
    z = prox_scalar(code, x - g / lip, 1.0 / lip, alpha, gamma, wj, a2, positive)
    return lip * fabs(x - z)


cdef inline double prox_any(int code, double x, double step, double alpha, double gamma,
                            double wj, double a2, bint positive, Py_ssize_t j, size_t uprox,
                            double* upar) noexcept nogil:
    """The penalty's scalar prox: built-in by ``code``, or a user penalty's compiled
    prox (``code == USER``, at address ``uprox`` with parameters ``upar``)."""
    if code == USER:
        return (<uprox_t> uprox)(x, step, j, upar)
    return prox_scalar(code, x, step, alpha, gamma, wj, a2, positive)


cdef inline double score_any(int code, double x, double g, double lip, double alpha,
                             double gamma, double wj, double a2, bint positive, Py_ssize_t j,
                             size_t uprox, double* upar) noexcept nogil:
    """The coordinate's optimality score: built-in by ``code``, or the fixed-point
    residual of a user penalty (``code == USER``)."""
    if code == USER:
        return user_score(<uprox_t> uprox, upar, j, x, g, lip)
    return score_scalar(code, x, g, lip, alpha, gamma, wj, a2, positive)


def scores_all(int code, const floating[::1] w, const floating[::1] grad,
               const floating[::1] lips, double alpha, double gamma,
               const floating[::1] weights, const floating[::1] a2s, bint positive,
               floating[::1] out, size_t uprox=0, double[::1] upar=None):
    """The optimality score of every coordinate, into ``out`` (float32 or float64).

    ``code == USER``: the fixed-point residual of the user penalty whose
    compiled prox is at address ``uprox`` (parameters ``upar``)."""
    cdef Py_ssize_t j, N = w.shape[0]
    cdef bint has_w = weights.shape[0] > 0, has_a2 = a2s.shape[0] > 0
    cdef double wj, a2
    cdef double* par = &upar[0] if upar is not None and upar.shape[0] > 0 else NULL
    if code == USER and uprox == 0:
        raise ValueError("code USER needs the compiled prox (uprox)")
    with nogil:
        for j in range(N):
            wj = weights[j] if has_w else 1.0
            a2 = a2s[j] if has_a2 else lips[j]
            out[j] = score_any(code, w[j], grad[j], lips[j], alpha, gamma, wj, a2, positive, j,
                               uprox, par)


def l1_outer_stats(const double[::1] corr, const double[::1] corr_gap, const floating[::1] w,
                   const double[::1] thr, bint positive, const unsigned char[::1] excluded,
                   double[::1] prio):
    """One pass over the features for the (weighted, non-negative) L1 problem.

    ``corr = X^T R / n``; ``corr_gap`` the same for the dual residual (after
    the projection for the unpenalised directions); ``thr = alpha w_j``.
    Writes the working-set priorities into ``prio`` (the subdifferential
    distance; ``inf`` for the support and the unpenalised features, ``-inf``
    for the excluded ones) and returns ``(max distance, penalty value,
    max_j c_j / thr_j, nnz)`` with ``c_j = max(corr_gap_j, 0)`` if
    ``positive`` else ``|corr_gap_j|`` (the dual scaling, over finite
    ``thr_j > 0``).
    """
    cdef Py_ssize_t j, N = corr.shape[0]
    cdef double max_score = 0.0, pen = 0.0, ratio = 0.0, t, cg, r, wj, c, s
    cdef Py_ssize_t nnz = 0
    with nogil:
        for j in range(N):
            t = thr[j]
            cg = corr_gap[j]
            cg = max(cg, 0.0) if positive else fabs(cg)
            if t > 0.0 and t < INF:
                r = cg / t
                if r > ratio:
                    ratio = r
            wj = w[j]
            if excluded[j] or t == INF:
                prio[j] = -INF
                continue
            c = corr[j]
            if wj != 0.0:
                nnz += 1
                pen += t * fabs(wj)
                if positive:
                    s = fabs(c - t)
                else:
                    s = fabs(c - t) if wj > 0.0 else fabs(c + t)
            else:
                s = max(0.0, c - t) if positive else max(0.0, fabs(c) - t)
            if s > max_score:
                max_score = s
            prio[j] = INF if (wj != 0.0 or t == 0.0) else s
    return max_score, pen, ratio, nnz


cdef inline double sparse_dot(const floating[::1] data, const index_t[::1] indices,
                              Py_ssize_t start, Py_ssize_t end,
                              const floating[::1] R) noexcept nogil:
    """``sum_p data[p] R[indices[p]]`` over ``start <= p < end`` in double precision,
    with four partial sums: the gathers of ``R`` overlap instead of waiting on one
    chain of additions."""
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t p = start
    while p + 4 <= end:
        s0 += <double> data[p] * R[indices[p]]
        s1 += <double> data[p + 1] * R[indices[p + 1]]
        s2 += <double> data[p + 2] * R[indices[p + 2]]
        s3 += <double> data[p + 3] * R[indices[p + 3]]
        p += 4
    while p < end:
        s0 += <double> data[p] * R[indices[p]]
        p += 1
    return (s0 + s1) + (s2 + s3)


cdef inline double col_dot(bint is_sparse, const floating[:, ::1] XT,
                           const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, Py_ssize_t j,
                           floating[::1] R) noexcept nogil:
    if is_sparse:
        return sparse_dot(data, indices, indptr[j], indptr[j + 1], R)
    # BLAS (32-bit lengths: columns longer than INT_MAX go in pieces)
    return _fdot(R.shape[0], &XT[j, 0], &R[0])


cdef inline void col_axpy(bint is_sparse, const floating[:, ::1] XT,
                          const floating[::1] data, const index_t[::1] indices,
                          const index_t[::1] indptr, Py_ssize_t j, double a,
                          floating[::1] R) noexcept nogil:
    cdef Py_ssize_t p
    if is_sparse:
        for p in range(indptr[j], indptr[j + 1]):
            R[indices[p]] += <floating> (a * data[p])
    else:
        _faxpy(R.shape[0], <floating> a, &XT[j, 0], &R[0])


cdef double ws_objective(floating[::1] R, floating[::1] w, const int64_t[::1] ws, int code,
                         double alpha, double gamma, const floating[::1] weights,
                         const floating[::1] a2s, const floating[::1] lips,
                         double n, size_t uvalue, double* par) noexcept nogil:
    cdef Py_ssize_t i, jj, j
    cdef double s = 0.0, wj, a2
    for i in range(R.shape[0]):
        s += R[i] * R[i]
    s /= 2.0 * n
    if code == USER:
        # the whole penalty: the terms outside the working set are the same
        # in the two objectives compared
        if floating is double:
            return s + (<uvalue_t> uvalue)(&w[0], w.shape[0], par)
        return s
    for jj in range(ws.shape[0]):
        j = ws[jj]
        if w[j] != 0.0:
            wj = weights[j] if weights.shape[0] > 0 else 1.0
            a2 = a2s[j] if a2s.shape[0] > 0 else lips[j]
            s += value_scalar(code, w[j], alpha, gamma, wj, a2)
    return s


cdef bint solve_small(double[:, ::1] A, double[::1] b) noexcept nogil:
    """Gaussian elimination with partial pivoting in place (b <- A^-1 b)."""
    cdef Py_ssize_t k = A.shape[0], i, col, piv, t
    cdef double scale = 0.0, tmp, f, s
    for i in range(k):
        scale = max(scale, fabs(A[i, i]))
    if scale == 0.0:
        return False
    for col in range(k):
        piv = col
        for i in range(col + 1, k):
            if fabs(A[i, col]) > fabs(A[piv, col]):
                piv = i
        if fabs(A[piv, col]) <= 1e-14 * scale:
            return False
        if piv != col:
            for t in range(k):
                tmp = A[col, t]
                A[col, t] = A[piv, t]
                A[piv, t] = tmp
            tmp = b[col]
            b[col] = b[piv]
            b[piv] = tmp
        for i in range(col + 1, k):
            f = A[i, col] / A[col, col]
            for t in range(col, k):
                A[i, t] -= f * A[col, t]
            b[i] -= f * b[col]
    for i in range(k - 1, -1, -1):
        s = b[i]
        for t in range(i + 1, k):
            s -= A[i, t] * b[t]
        b[i] = s / A[i, i]
    return True


def cd_inner(bint is_sparse, const floating[:, ::1] XT, const floating[::1] data,
             const index_t[::1] indices, const index_t[::1] indptr, floating[::1] R,
             floating[::1] w, double[::1] b, const int64_t[::1] ws, const floating[::1] lips,
             int code, double alpha, double gamma, const floating[::1] weights,
             const floating[::1] a2s, bint positive, const floating[::1] icol,
             Py_ssize_t max_epochs, double tol_in, int K, double early=0.0, size_t uprox=0,
             size_t uvalue=0, double[::1] upar=None):
    """CD epochs on the working set ``ws`` with Anderson extrapolation; returns
    (epochs, crit).

    Modifies ``w``, ``R`` (= y - Xw - b icol) and ``b`` (1-element intercept)
    in place; objective ``||R||^2/(2n) + sum_j phi_j(w_j)``.  ``XT`` is X^T in
    C order (a free view of a Fortran-ordered X) for dense designs, or
    (``is_sparse``) ``data, indices, indptr`` a CSC matrix; float32 or
    float64, int32 or int64 indices.  Anderson extrapolation every K+1
    epochs is kept only when it decreases the working-set objective.  The
    exact check (the working-set score ``<= tol_in``) runs every 10 epochs.

    ``early > 0``: the exact check also runs (at most every 5 epochs) once an
    epoch's largest step ``L_j |dw_j|`` is ``<= early * tol_in``.
    ``code == USER``: a user penalty compiled to C callbacks (prox at address
    ``uprox``, value at ``uvalue``, parameters ``upar``).
    """
    cdef double* par = &upar[0] if upar is not None and upar.shape[0] > 0 else NULL
    if code == USER and (uprox == 0 or uvalue == 0):
        raise ValueError("code USER needs the compiled prox and value (uprox, uvalue)")
    if code == USER and floating is float:
        raise TypeError("a user penalty runs on float64 data")
    cdef Py_ssize_t n = R.shape[0], nws = ws.shape[0], i, jj, j, k, kk
    cdef bint has_icol = icol.shape[0] > 0, use_rhist = True, has_w = weights.shape[0] > 0
    cdef bint has_a2 = a2s.shape[0] > 0, ok, feasible
    cdef double icol_sq = 0.0, crit = INF, L, old, g, wj, a2, new, db, sz, b_acc, dw
    cdef double p_cur, p_acc, s, dmax
    cdef Py_ssize_t epoch = 0, nnz_ws = 0, next_check = 1
    cdef int n_stored = 0
    if has_icol:
        for i in range(n):
            icol_sq += icol[i] * icol[i]
    if is_sparse:
        for jj in range(nws):
            nnz_ws += indptr[ws[jj] + 1] - indptr[ws[jj]]
        use_rhist = nnz_ws > (2 * K + 1) * n
    rdt = np.float32 if floating is float else np.float64
    w_hist_a = np.zeros((K + 1, max(nws, 1)))
    R_hist_a = np.zeros((K + 1 if use_rhist else 1, n), dtype=rdt)
    b_hist_a = np.zeros(K + 1)
    U_a = np.empty((max(K, 1), max(nws, 1)))
    C_a = np.empty((max(K, 1), max(K, 1)))
    z_a = np.empty(max(K, 1))
    w_acc_a = np.empty(max(nws, 1))
    w_save_a = np.empty(max(nws, 1))
    R_acc_a = np.empty(n, dtype=rdt)
    cdef double[:, ::1] w_hist = w_hist_a, U = U_a, C = C_a
    cdef floating[:, ::1] R_hist = R_hist_a
    cdef double[::1] b_hist = b_hist_a, z = z_a, w_acc = w_acc_a, w_save = w_save_a
    cdef floating[::1] R_acc = R_acc_a
    with nogil:
        for epoch in range(1, max_epochs + 1):
            dmax = 0.0
            for jj in range(nws):
                j = ws[jj]
                L = lips[j]
                if L == 0.0:
                    continue
                old = w[j]
                g = -col_dot(is_sparse, XT, data, indices, indptr, j, R) / n
                wj = weights[j] if has_w else 1.0
                a2 = a2s[j] if has_a2 else L
                new = prox_any(code, old - g / L, 1.0 / L, alpha, gamma, wj, a2, positive, j,
                               uprox, par)
                if new != old:
                    w[j] = new
                    col_axpy(is_sparse, XT, data, indices, indptr, j, old - new, R)
                    dmax = max(dmax, L * fabs(new - old))
            if has_icol:
                db = 0.0
                for i in range(n):
                    db += icol[i] * R[i]
                db /= icol_sq
                b[0] += db
                for i in range(n):
                    R[i] -= db * icol[i]
            if K > 0:
                for jj in range(nws):
                    w_hist[n_stored, jj] = w[ws[jj]]
                if use_rhist:
                    for i in range(n):
                        R_hist[n_stored, i] = R[i]
                b_hist[n_stored] = b[0]
                n_stored += 1
                if n_stored == K + 1:
                    n_stored = 0
                    for k in range(K):
                        for jj in range(nws):
                            U[k, jj] = w_hist[k + 1, jj] - w_hist[k, jj]
                    for k in range(K):
                        for kk in range(K):
                            s = 0.0
                            for jj in range(nws):
                                s += U[k, jj] * U[kk, jj]
                            C[k, kk] = s
                        z[k] = 1.0
                    ok = solve_small(C, z)
                    sz = 0.0
                    for k in range(K):
                        sz += z[k]
                    if ok and sz != 0.0 and not isinf(sz) and sz == sz:
                        for jj in range(nws):
                            w_acc[jj] = 0.0
                        b_acc = 0.0
                        for k in range(K):
                            z[k] /= sz
                            for jj in range(nws):
                                w_acc[jj] += z[k] * w_hist[k + 1, jj]
                            b_acc += z[k] * b_hist[k + 1]
                        feasible = True
                        if positive:
                            for jj in range(nws):
                                if w_acc[jj] < 0.0:
                                    feasible = False
                        for jj in range(nws):
                            wj = weights[ws[jj]] if has_w else 1.0
                            if isinf(wj) and w_acc[jj] != 0.0:
                                feasible = False
                        if feasible:
                            if use_rhist:
                                for i in range(n):
                                    R_acc[i] = 0.0
                                for k in range(K):
                                    for i in range(n):
                                        R_acc[i] += z[k] * R_hist[k + 1, i]
                            else:
                                for i in range(n):
                                    R_acc[i] = R[i]
                                for jj in range(nws):
                                    dw = w_acc[jj] - w[ws[jj]]
                                    if dw != 0.0:
                                        col_axpy(is_sparse, XT, data, indices, indptr, ws[jj],
                                                 -dw, R_acc)
                                if has_icol:
                                    db = b_acc - b[0]
                                    for i in range(n):
                                        R_acc[i] -= db * icol[i]
                            p_cur = ws_objective(R, w, ws, code, alpha, gamma, weights, a2s,
                                                 lips, n, uvalue, par)
                            for jj in range(nws):
                                w_save[jj] = w[ws[jj]]
                                w[ws[jj]] = w_acc[jj]
                            p_acc = ws_objective(R_acc, w, ws, code, alpha, gamma, weights,
                                                 a2s, lips, n, uvalue, par)
                            if p_acc < p_cur:
                                for i in range(n):
                                    R[i] = R_acc[i]
                                b[0] = b_acc
                            else:
                                for jj in range(nws):
                                    w[ws[jj]] = w_save[jj]
            # exact check every 10 epochs, and early (at most every 5 epochs)
            # once the epoch's largest step L_j |dw_j| -- a free fixed-point
            # residual -- is below early * tol_in
            if epoch % 10 == 0 or (early > 0.0 and dmax <= early * tol_in
                                   and epoch >= next_check):
                next_check = epoch + 5
                crit = 0.0
                for jj in range(nws):
                    j = ws[jj]
                    g = -col_dot(is_sparse, XT, data, indices, indptr, j, R) / n
                    wj = weights[j] if has_w else 1.0
                    a2 = a2s[j] if has_a2 else lips[j]
                    s = score_any(code, w[j], g, lips[j], alpha, gamma, wj, a2, positive, j,
                                  uprox, par)
                    if s > crit:
                        crit = s
                if crit <= tol_in:
                    break
    return epoch, crit



cdef Py_ssize_t _gram_cd(const double[:, ::1] G, const double[::1] aty, double ynorm2, int code,
                   double alpha, double gamma, const double[::1] weights, bint positive,
                   bint sqrt_mode, Py_ssize_t max_iter, double tol, double[::1] w, double[::1] c,
                   double* crit_out) noexcept nogil:
    cdef Py_ssize_t N = G.shape[0], j, k
    cdef bint convex = code == L1 or code == WL1, has_w = weights.shape[0] > 0
    cdef double sigma = 1.0, ref = 0.0, crit = INF, L, wj, old, new, d, r2, pen, smax, t, cj
    cdef double yr, nr, denom, dual, s, z
    cdef Py_ssize_t epoch
    for j in range(N):
        if w[j] != 0.0:
            for k in range(N):
                c[k] -= G[k, j] * w[j]
    for j in range(N):
        ref = max(ref, fabs(aty[j]))
    if sqrt_mode:
        sigma = max(sqrt(ynorm2), 1e-300)
    for epoch in range(1, max_iter + 1):
        for j in range(N):
            L = G[j, j]
            if L <= 0.0:
                continue
            wj = weights[j] if has_w else 1.0
            old = w[j]
            new = prox_scalar(code, old + c[j] / L, 1.0 / L, alpha * sigma, gamma, wj, L,
                              positive)
            if new != old:
                d = new - old
                w[j] = new
                for k in range(N):
                    c[k] -= G[k, j] * d
        r2 = ynorm2
        for j in range(N):
            r2 -= w[j] * (aty[j] + c[j])
        r2 = max(r2, 0.0)
        if sqrt_mode:
            sigma = max(sqrt(r2), 1e-8 * sqrt(ynorm2))
        if convex:
            pen = 0.0
            smax = 0.0
            for j in range(N):
                wj = weights[j] if has_w else 1.0
                t = alpha * wj
                if w[j] != 0.0:
                    pen += t * fabs(w[j])
                if t > 0.0 and not isinf(t):
                    cj = max(c[j], 0.0) if positive else fabs(c[j])
                    smax = max(smax, cj / t)
            yr = ynorm2
            for j in range(N):
                yr -= w[j] * aty[j]
            if sqrt_mode:
                nr = sqrt(r2)
                denom = max(nr, smax)
                dual = yr / denom if denom > 0 else 0.0
                crit = nr + pen - dual
                if crit <= tol * sqrt(ynorm2):
                    crit_out[0] = crit
                    return epoch
            else:
                s = max(1.0, smax)
                dual = yr / s - r2 / (2.0 * s * s)
                crit = 0.5 * r2 + pen - dual
                if crit <= tol * 0.5 * ynorm2:
                    crit_out[0] = crit
                    return epoch
        else:
            crit = 0.0
            for j in range(N):
                L = G[j, j]
                if L > 0.0:
                    z = prox_scalar(code, w[j] + c[j] / L, 1.0 / L, alpha, gamma, 1.0, L,
                                    positive)
                    crit = max(crit, L * fabs(w[j] - z))
            if crit <= tol * ref:
                crit_out[0] = crit
                return epoch
    crit_out[0] = crit
    return max_iter


def gram_cd_one(const double[:, ::1] G, const double[::1] aty, double ynorm2, int code,
                double alpha, double gamma, const double[::1] weights, bint positive,
                bint sqrt_mode, Py_ssize_t max_iter, double tol, double[::1] w):
    """``_encoders._gram_cd_one`` (float64): cyclic Gram CD for one signal.

    ``w`` in/out; returns ``(n_epochs, crit)`` -- the duality gap for the
    convex codes, the fixed-point residual otherwise.  ``c = A^T y - G w``
    is maintained.
    """
    cdef double crit = INF
    cdef Py_ssize_t e
    c_a = np.array(aty, dtype=np.float64)
    cdef double[::1] c = c_a
    with nogil:
        e = _gram_cd(G, aty, ynorm2, code, alpha, gamma, weights, positive, sqrt_mode,
                     max_iter, tol, w, c, &crit)
    return e, crit


# ---------------------------------------------------------------------------
# multi-task (L2,1) block coordinate descent: one kernel, float32 and float64
# ---------------------------------------------------------------------------
def mtl_cd_inner(const floating[:, ::1] XT, floating[:, ::1] RT, floating[:, ::1] W,
                 const int64_t[::1] ws, const floating[::1] lips, double alpha,
                 Py_ssize_t max_epochs, double tol_in):
    """Block CD epochs of ``||R||_F^2 / (2n) + alpha sum_j ||W_j||_2`` on ``ws``.

    ``XT`` is X^T (rows = columns of X), ``RT`` the residual transposed
    (``T x n``, kept equal to ``(Y - X W)^T`` in place), ``W`` of shape
    ``(n_features, T)``.  Every 10 epochs the working-set score (the
    distance of the gradient to the subdifferential, in gradient units) is
    computed; stops when it is ``<= tol_in``.  Returns (epochs, score).
    """
    cdef Py_ssize_t n = RT.shape[1], T = RT.shape[0], nws = ws.shape[0]
    cdef Py_ssize_t epoch = 0, jj, j, t
    cdef double L, nrm, scale, crit = INF, s, d, gn
    g_a = np.empty(T, dtype=np.float64)
    cdef double[::1] g = g_a
    with nogil:
        for epoch in range(1, max_epochs + 1):
            for jj in range(nws):
                j = ws[jj]
                L = lips[j]
                if L == 0.0:
                    continue
                nrm = 0.0
                for t in range(T):
                    g[t] = W[j, t] + _fdot(n, &XT[j, 0], &RT[t, 0]) / (n * L)
                    nrm += g[t] * g[t]
                nrm = sqrt(nrm)
                scale = max(0.0, 1.0 - alpha / (L * nrm)) if nrm > 0.0 else 0.0
                for t in range(T):
                    d = scale * g[t] - W[j, t]
                    if d != 0.0:
                        W[j, t] = <floating> (scale * g[t])
                        _faxpy(n, <floating> (-d), &XT[j, 0], &RT[t, 0])
            if epoch % 10 == 0:
                crit = 0.0
                for jj in range(nws):
                    j = ws[jj]
                    if lips[j] == 0.0:
                        continue
                    nrm = 0.0
                    for t in range(T):
                        g[t] = _fdot(n, &XT[j, 0], &RT[t, 0]) / n
                        nrm += W[j, t] * W[j, t]
                    nrm = sqrt(nrm)
                    s = 0.0
                    if nrm == 0.0:
                        gn = 0.0
                        for t in range(T):
                            gn += g[t] * g[t]
                        s = max(0.0, sqrt(gn) - alpha)
                    else:
                        for t in range(T):
                            d = g[t] - alpha * W[j, t] / nrm
                            s += d * d
                        s = sqrt(s)
                    if s > crit:
                        crit = s
                if crit <= tol_in:
                    break
    return epoch, crit


def group_cd_inner(bint is_sparse, const floating[:, ::1] XT, const floating[::1] data,
                   const index_t[::1] indices, const index_t[::1] indptr, floating[::1] R,
                   floating[::1] w, double[::1] b, const int64_t[::1] gptr,
                   const int64_t[::1] ws, const double[::1] lips, const double[::1] gweights,
                   double alpha, bint fit_b, Py_ssize_t max_epochs, double tol_in):
    """Block CD epochs of ``||R||^2 / (2n) + alpha sum_g gweights_g ||w_g||_2`` on the groups ``ws``.

    The features are ordered group by group: group ``g`` is the columns
    ``gptr[g]:gptr[g + 1]`` of X (rows of ``XT`` = X^T in C order for a dense
    design, or ``is_sparse``: ``data, indices, indptr`` a CSC matrix) and
    the same entries of ``w``; ``R`` is kept equal to ``y - X w - b`` in
    place; ``lips[g] = ||X_g||_2^2 / n``.  Block update ``w_g <- BST(w_g +
    X_g^T R / (n L_g), alpha gweights_g / L_g)``; ``fit_b``: the intercept
    ``b[0]`` is an unpenalised coordinate updated after every epoch.  Every
    10 epochs the working-set score (the distance of ``X_g^T R / n`` to the
    subdifferential, maximised over ``ws``) is computed; stops when it is
    ``<= tol_in``.  Returns (epochs, score).
    """
    cdef Py_ssize_t n = R.shape[0], nws = ws.shape[0], G = gptr.shape[0] - 1
    cdef Py_ssize_t epoch = 0, gg, g, i, j, k, s0, s1, gmax = 0
    cdef double L, nrm, scale, crit = INF, s, d, gn, thr
    for g in range(G):
        if gptr[g + 1] - gptr[g] > gmax:
            gmax = gptr[g + 1] - gptr[g]
    buf_a = np.empty(max(gmax, 1), dtype=np.float64)
    cdef double[::1] buf = buf_a
    with nogil:
        for epoch in range(1, max_epochs + 1):
            for gg in range(nws):
                g = ws[gg]
                L = lips[g]
                if L == 0.0:
                    continue
                s0 = gptr[g]
                s1 = gptr[g + 1]
                nrm = 0.0
                for j in range(s0, s1):
                    k = j - s0
                    buf[k] = w[j] + col_dot(is_sparse, XT, data, indices, indptr, j, R) / (n * L)
                    nrm += buf[k] * buf[k]
                nrm = sqrt(nrm)
                thr = alpha * gweights[g] / L
                scale = max(0.0, 1.0 - thr / nrm) if nrm > 0.0 else 0.0
                for j in range(s0, s1):
                    d = scale * buf[j - s0] - w[j]
                    if d != 0.0:
                        w[j] = <floating> (scale * buf[j - s0])
                        col_axpy(is_sparse, XT, data, indices, indptr, j, -d, R)
            if fit_b:
                s = 0.0
                for i in range(n):
                    s += R[i]
                s /= n
                if s != 0.0:
                    b[0] += s
                    for i in range(n):
                        R[i] -= <floating> s
            if epoch % 10 == 0:
                crit = 0.0
                for gg in range(nws):
                    g = ws[gg]
                    if lips[g] == 0.0:
                        continue
                    s0 = gptr[g]
                    s1 = gptr[g + 1]
                    nrm = 0.0
                    gn = 0.0
                    for j in range(s0, s1):
                        k = j - s0
                        buf[k] = col_dot(is_sparse, XT, data, indices, indptr, j, R) / n
                        nrm += <double> w[j] * w[j]
                        gn += buf[k] * buf[k]
                    nrm = sqrt(nrm)
                    thr = alpha * gweights[g]
                    if nrm == 0.0:
                        s = max(0.0, sqrt(gn) - thr)
                    else:
                        s = 0.0
                        for j in range(s0, s1):
                            d = buf[j - s0] - thr * w[j] / nrm
                            s += d * d
                        s = sqrt(s)
                    if s > crit:
                        crit = s
                if crit <= tol_in:
                    break
    return epoch, crit

def max_abs(const floating[::1] a):
    """``max |a_i|`` in one pass (NaN if any entry is NaN; 0 for an empty array)."""
    cdef Py_ssize_t i, m = a.shape[0]
    cdef double best = 0.0, v
    cdef bint nan = False
    with nogil:
        for i in range(m):
            v = fabs(a[i])
            if v > best:
                best = v
            elif v != v:
                nan = True
    return float("nan") if nan else best


cdef extern from *:
    """
    /* ||x||^2 and x^T y of one column (n entries): vectorised reductions (omp simd) */
    #define SC_COLSTATS(T, NAME)                                                     \
    static void NAME(const T* x, const double* y, Py_ssize_t n, double* sq,         \
                     double* xty) {                                                 \
        double s = 0.0, d = 0.0;                                                    \
        Py_ssize_t i;                                                               \
        if (y != NULL) {                                                            \
            _Pragma("omp simd reduction(+:s,d)")                                    \
            for (i = 0; i < n; i++) {                                               \
                double v = (double) x[i];                                           \
                s += v * v;                                                         \
                d += v * y[i];                                                      \
            }                                                                       \
            *xty = d;                                                               \
        } else {                                                                    \
            _Pragma("omp simd reduction(+:s)")                                      \
            for (i = 0; i < n; i++) {                                               \
                double v = (double) x[i];                                           \
                s += v * v;                                                         \
            }                                                                       \
        }                                                                           \
        *sq = s;                                                                    \
    }
    SC_COLSTATS(double, sc_colstats_d)
    SC_COLSTATS(float, sc_colstats_f)
    """
    void sc_colstats_d(const double* x, const double* y, Py_ssize_t n, double* sq,
                       double* xty) nogil
    void sc_colstats_f(const float* x, const double* y, Py_ssize_t n, double* sq,
                       double* xty) nogil


def dense_col_stats(const floating[::1, :] X, const double[::1] y, double[::1] sq,
                    double[::1] xty):
    """One pass over a Fortran-ordered ``X``: ``sq[j] = ||x_j||^2`` and, when ``y``
    is not empty, ``xty[j] = x_j^T y`` (double accumulation; vectorised, so the
    summation order is the compiler's)."""
    cdef Py_ssize_t n = X.shape[0], p = X.shape[1], j
    cdef bint has_y = y.shape[0] > 0
    cdef const double* yp = &y[0] if has_y else NULL
    cdef double dummy = 0.0
    if sq.shape[0] != p or (has_y and (y.shape[0] != n or xty.shape[0] != p)):
        raise ValueError("dense_col_stats: sq (and xty) must have length n_features, "
                         "y length n_samples.")
    if n == 0:
        sq[:] = 0.0
        if has_y:
            xty[:] = 0.0
        return
    with nogil:
        for j in range(p):
            if floating is double:
                sc_colstats_d(&X[0, j], yp, n, &sq[j], &xty[j] if has_y else &dummy)
            else:
                sc_colstats_f(&X[0, j], yp, n, &sq[j], &xty[j] if has_y else &dummy)


def user_prox_all(size_t uprox, double[::1] upar, const double[:, ::1] V, double step,
                  Py_ssize_t n_pen, double[:, ::1] out):
    """``out[j, :] = prox(V[j, :], step, j)`` of a user penalty (compiled prox at
    ``uprox``) for the rows ``j < n_pen``; the other rows are copied."""
    cdef Py_ssize_t j, t, N = V.shape[0], L = V.shape[1]
    cdef double* par = &upar[0] if upar.shape[0] > 0 else NULL
    cdef uprox_t prox = <uprox_t> uprox
    if uprox == 0:
        raise ValueError("user_prox_all needs the compiled prox (uprox)")
    with nogil:
        for j in range(N):
            for t in range(L):
                out[j, t] = prox(V[j, t], step, j, par) if j < n_pen else V[j, t]


# ---------------------------------------------------------------------------
# sparse-design helpers (float32/float64 data, int32/int64 indices)
# ---------------------------------------------------------------------------
def sparse_col_sqnorms(const floating[::1] data, const index_t[::1] indices,
                       const index_t[::1] indptr, Py_ssize_t n_cols, bint by_row):
    """Squared column norms (float64) of a CSC (``by_row=False``) or CSR (``True``) matrix."""
    out_a = np.zeros(n_cols)
    cdef double[::1] out = out_a
    cdef Py_ssize_t j, p, nnz = indptr[indptr.shape[0] - 1]
    cdef double s
    with nogil:
        if by_row:
            for p in range(nnz):
                out[indices[p]] += <double> data[p] * data[p]
        else:
            for j in range(n_cols):
                s = 0.0
                for p in range(indptr[j], indptr[j + 1]):
                    s += <double> data[p] * data[p]
                out[j] = s
    return out_a


def csr_first_pass(const floating[::1] data, const index_t[::1] indices,
                   const index_t[::1] indptr, const floating[::1] R, Py_ssize_t n_cols):
    """One pass over a CSR matrix: ``(X^T R, squared column norms, column counts)``
    (float64, float64, int64)."""
    xtr_a = np.zeros(n_cols)
    sq_a = np.zeros(n_cols)
    cnt_a = np.zeros(n_cols, dtype=np.int64)
    cdef double[::1] xtr = xtr_a, sq = sq_a
    cdef int64_t[::1] cnt = cnt_a
    cdef Py_ssize_t i, p, j, n = indptr.shape[0] - 1
    cdef double r, v
    with nogil:
        for i in range(n):
            r = R[i]
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                v = data[p]
                xtr[j] += v * r
                sq[j] += v * v
                cnt[j] += 1
    return xtr_a, sq_a, cnt_a


def csr_extract_columns(const floating[::1] data, const index_t[::1] indices,
                        const index_t[::1] indptr, const int64_t[::1] slot,
                        const index_t[::1] sub_indptr, floating[::1] sub_data,
                        index_t[::1] sub_indices):
    """Columns ``slot[j] >= 0`` of a CSR matrix into a CSC block, in one pass over
    the nonzeros (``sub_indptr`` given from the column counts; the row indices
    come out sorted because the rows are scanned in order)."""
    cdef Py_ssize_t n_sub = sub_indptr.shape[0] - 1, i, p, q, s
    cdef Py_ssize_t n = indptr.shape[0] - 1
    pos_a = np.empty(max(n_sub, 1), dtype=np.int64)
    cdef int64_t[::1] pos = pos_a
    with nogil:
        for s in range(n_sub):
            pos[s] = sub_indptr[s]
        for i in range(n):
            for p in range(indptr[i], indptr[i + 1]):
                s = slot[indices[p]]
                if s >= 0:
                    q = pos[s]
                    sub_data[q] = data[p]
                    sub_indices[q] = <index_t> i
                    pos[s] = q + 1


def gram_cd_batch(const double[:, ::1] G, const double[:, ::1] ATY, const double[::1] ynorm2,
                  int code, double alpha, double gamma, const double[::1] weights,
                  bint positive, bint sqrt_mode, Py_ssize_t max_iter, double tol,
                  double[:, ::1] W, double[::1] crits, int64_t[::1] epochs, int n_threads=1):
    """``gram_cd_one`` for every row of ``ATY`` / ``W`` (one signal per OpenMP
    task, each writing only its own row): the batched Gram CD of the encoders
    and of multi-target fits."""
    cdef Py_ssize_t i, m = ATY.shape[0]
    c_a = np.array(ATY, dtype=np.float64, order="C")
    cdef double[:, ::1] c = c_a
    with nogil:
        for i in prange(m, num_threads=max(n_threads, 1), schedule="dynamic"):
            epochs[i] = _gram_cd(G, ATY[i], ynorm2[i], code, alpha, gamma, weights, positive,
                                 sqrt_mode, max_iter, tol, W[i], c[i], &crits[i])


def csc_xtr(const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
            const floating[::1] R, const unsigned char[::1] skip, double scale,
            double[::1] out):
    """``out[j] = scale * x_j^T R`` for the columns of a CSC matrix with ``skip[j] == 0``
    (``out[j] = 0`` for the others; ``skip`` may be empty: no column skipped).

    The outer gradient of the working-set CD: the screened features are
    never read again, and no ``X.T`` object is built per call."""
    cdef Py_ssize_t j, N = indptr.shape[0] - 1
    cdef bint has_skip = skip.shape[0] > 0
    with nogil:
        for j in range(N):
            if has_skip and skip[j]:
                out[j] = 0.0
                continue
            out[j] = scale * sparse_dot(data, indices, indptr[j], indptr[j + 1], R)


def csr_to_csc(const floating[::1] data, const index_t[::1] indices, const index_t[::1] indptr,
               Py_ssize_t n_cols, const double[::1] row_scale, const double[::1] y):
    """A CSR matrix ``A = diag(row_scale) X`` (``X`` if ``row_scale`` is empty) as CSC,
    with its squared column norms and ``A^T y`` (zeros if ``y`` is empty), in two
    passes over the nonzeros (the counts, the norms and ``max |X|``, then the
    scatter).  Returns ``(data, indices, indptr, sqnorms, A^T y, max |X|)`` with
    the row indices of every column sorted, the index dtype kept."""
    cdef Py_ssize_t i, p, j, n = indptr.shape[0] - 1, nnz = indptr[n]
    cdef index_t q
    cdef bint has_scale = row_scale.shape[0] > 0, has_y = y.shape[0] > 0
    cdef floating v
    cdef double yi, amax = 0.0, av
    idt = np.int32 if index_t is int32_t else np.int64
    ddt = np.float32 if floating is float else np.float64
    cdata_a = np.empty(nnz, dtype=ddt)
    cind_a = np.empty(nnz, dtype=idt)
    cptr_a = np.zeros(n_cols + 1, dtype=idt)
    sq_a = np.zeros(n_cols)
    xty_a = np.zeros(n_cols)
    pos_a = np.empty(max(n_cols, 1), dtype=idt)
    cdef floating[::1] cdata = cdata_a
    cdef index_t[::1] cind = cind_a, cptr = cptr_a, pos = pos_a
    cdef double[::1] sq = sq_a, xty = xty_a
    with nogil:
        if not has_scale:
            for p in range(nnz):
                j = indices[p]
                cptr[j + 1] += 1
                av = fabs(data[p])
                if av > amax:
                    amax = av
                sq[j] += av * av
        else:
            for i in range(n):
                for p in range(indptr[i], indptr[i + 1]):
                    j = indices[p]
                    cptr[j + 1] += 1
                    av = fabs(data[p])
                    if av > amax:
                        amax = av
                    v = <floating> (data[p] * row_scale[i])
                    sq[j] += <double> v * v
        for j in range(n_cols):
            cptr[j + 1] += cptr[j]
            pos[j] = cptr[j]
        for i in range(n):
            yi = y[i] if has_y else 0.0
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                q = pos[j]
                pos[j] = q + 1
                if has_scale:
                    v = <floating> (data[p] * row_scale[i])
                else:
                    v = data[p]
                cdata[q] = v
                cind[q] = <index_t> i
                if has_y:
                    xty[j] += <double> v * yi
    return cdata_a, cind_a, cptr_a, sq_a, xty_a, amax


# ---------------------------------------------------------------------------
# smooth GLM datafits (Huber, logistic, a user's) by coordinate descent
# ---------------------------------------------------------------------------
cdef enum:
    DF_HUBER = 0
    DF_LOGISTIC = 1
    DF_USER = 2  # the gradient with respect to z from the user's callback (float64)


def user_datafit_grad(size_t grad, const double[::1] y, const double[::1] Z, double[::1] out,
                      const double[::1] par):
    """``out <- raw_grad(y, Z)`` through a user datafit's C callback (its address)."""
    if y.shape[0] != Z.shape[0] or out.shape[0] != Z.shape[0] or par.shape[0] == 0:
        raise ValueError("user_datafit_grad: y, Z, out must have one length; par non-empty.")
    with nogil:
        (<ugrad_t> grad)(<double*> &y[0], <double*> &Z[0], Z.shape[0], &out[0],
                         <double*> &par[0])


def user_datafit_value(size_t value, const double[::1] y, const double[::1] Z,
                       const double[::1] w, const double[::1] par):
    """``value(y, w, Z)`` through a user datafit's C callback (its address)."""
    cdef double v
    if y.shape[0] != Z.shape[0] or w.shape[0] == 0 or par.shape[0] == 0:
        raise ValueError("user_datafit_value: y, Z must have one length; w, par non-empty.")
    with nogil:
        v = (<udfvalue_t> value)(<double*> &y[0], <double*> &Z[0], Z.shape[0],
                                 <double*> &w[0], w.shape[0], <double*> &par[0])
    return v


cdef inline double glm_deriv(int df, double z, double yi, double delta) noexcept nogil:
    """Derivative in ``z`` of one sample's loss: Huber ``h_delta(y - z)``, logistic
    ``log(1 + exp(-y z))``."""
    cdef double r, t
    if df == DF_HUBER:
        r = yi - z
        if r > delta:
            return -delta
        if r < -delta:
            return delta
        return -r
    t = yi * z
    if t > 0.0:
        t = exp(-t)
        return -yi * t / (1.0 + t)
    return -yi / (1.0 + exp(t))


cdef inline double sample_deriv(int df, double z, double yi, double delta,
                                const double[::1] S, Py_ssize_t i) noexcept nogil:
    """One sample's term of a Huber or user-datafit coordinate gradient."""
    if df == DF_USER:
        return S[i]
    return glm_deriv(df, z, yi, delta)


cdef inline double logistic_sigma(double z, double yi) noexcept nogil:
    """``sigma(-y z)``: minus the derivative of the loss is ``y sigma(-y z)``."""
    cdef double t = -yi * z, e
    if t >= 0.0:
        return 1.0 / (1.0 + exp(-t))
    e = exp(t)
    return e / (1.0 + e)


cdef double glm_coord_step(bint is_sparse, const floating[:, ::1] XT,
                           const floating[::1] data, const index_t[::1] indices,
                           const index_t[::1] indptr, Py_ssize_t j,
                           const floating[::1] y, const floating[::1] Z, const double[::1] S,
                           int df, double delta, double old, double L, int code, double alpha,
                           double gamma, double wj, double a2, bint positive, double cube,
                           double* g_out, size_t uprox, double* upar) noexcept nogil:
    """The new value of coordinate ``j`` (``j < 0``: the intercept, a column of
    ones, unpenalised).  Huber: the proximal step with the Lipschitz constant
    ``L``.  Logistic: the proximal Newton step with the coordinate's exact
    curvature, kept when it decreases the objective along the coordinate,
    else the (always decreasing) step with ``L``.  ``S[i] = sigma(-y_i Z_i)``
    (logistic) is kept up to date by the caller.  ``cube`` bounds the third
    derivative along the coordinate (``max |sigma''| sum_i |x_ij|^3 / n``): when
    the Newton model plus that cubic term already decreases, the step is kept
    without evaluating the losses."""
    cdef Py_ssize_t n = Z.shape[0], i, p, p0 = 0, p1 = 0
    cdef double g = 0.0, h = 0.0, x, sg, new, dv, d, zi
    cdef bint ones = j < 0
    if not ones and is_sparse:
        p0 = indptr[j]
        p1 = indptr[j + 1]
    if df == DF_HUBER or df == DF_USER:
        # per-sample derivatives: Huber's, or the user's raw gradient held in S
        # (already divided by n)
        if ones:
            for i in range(n):
                g += sample_deriv(df, Z[i], y[i], delta, S, i)
        elif is_sparse:
            for p in range(p0, p1):
                i = indices[p]
                g += data[p] * sample_deriv(df, Z[i], y[i], delta, S, i)
        else:
            for i in range(n):
                g += XT[j, i] * sample_deriv(df, Z[i], y[i], delta, S, i)
        if df == DF_HUBER:
            g /= n
        g_out[0] = g
        if ones:
            return old - g / L
        return prox_any(code, old - g / L, 1.0 / L, alpha, gamma, wj, a2, positive, j,
                        uprox, upar)
    # logistic: gradient and curvature in one pass (sigma cached in S)
    if ones or not is_sparse:
        for i in range(n):
            x = 1.0 if ones else XT[j, i]
            sg = S[i]
            g -= x * y[i] * sg
            h += x * x * sg * (1.0 - sg)
    else:
        for p in range(p0, p1):
            i = indices[p]
            x = data[p]
            sg = S[i]
            g -= x * y[i] * sg
            h += x * x * sg * (1.0 - sg)
    g /= n
    h /= n
    g_out[0] = g
    if h > 1e-12 * L and h < L and code != USER:  # (a user penalty: the step with L)
        if ones:
            new = old - g / h
        else:
            new = prox_scalar(code, old - g / h, 1.0 / h, alpha, gamma, wj, a2, positive)
        d = new - old
        if d == 0.0:
            return new
        dv = g * d + 0.5 * h * d * d + fabs(d) * d * d * cube / 6.0
        if not ones:
            dv += value_scalar(code, new, alpha, gamma, wj, a2) - \
                value_scalar(code, old, alpha, gamma, wj, a2)
        if dv < 0.0:
            return new  # certified decrease (upper bound)
        # objective change along the coordinate: with S = sigma(-y z),
        # loss(z + t) - loss(z) = log1p(S (exp(-y t) - 1))
        dv = 0.0
        if ones or not is_sparse:
            for i in range(n):
                x = 1.0 if ones else XT[j, i]
                if x != 0.0:
                    dv += log1p(S[i] * expm1(-y[i] * d * x))
        else:
            for p in range(p0, p1):
                i = indices[p]
                dv += log1p(S[i] * expm1(-y[i] * d * data[p]))
        dv /= n
        if not ones:
            dv += value_scalar(code, new, alpha, gamma, wj, a2) - \
                value_scalar(code, old, alpha, gamma, wj, a2)
        if dv < 0.0:
            return new
    if ones:
        return old - g / L
    return prox_any(code, old - g / L, 1.0 / L, alpha, gamma, wj, a2, positive, j,
                        uprox, upar)


def glm_cd_inner(bint is_sparse, const floating[:, ::1] XT, const floating[::1] data,
                 const index_t[::1] indices, const index_t[::1] indptr,
                 const floating[::1] y, floating[::1] Z, floating[::1] w, double[::1] b,
                 const int64_t[::1] ws, const floating[::1] lips, int df, double delta,
                 int code, double alpha, double gamma, const floating[::1] weights,
                 const floating[::1] a2s, bint positive, bint fit_b, double lip_b,
                 Py_ssize_t max_epochs, double tol_in, double[::1] S,
                 const double[::1] cubes=None, size_t ugrad=0, const double[::1] upar=None,
                 size_t uprox=0, const double[::1] ppar=None):
    """CD epochs on the working set ``ws`` for a smooth GLM datafit
    ``sum_i loss(y_i, z_i) / n`` (``df``: 0 Huber with ``delta``, 1 logistic,
    labels +-1) with a built-in penalty; returns (epochs, crit).

    ``Z = Xw + b`` (the linear predictor) is kept up to date in place, with
    ``w`` and ``b`` (1-element intercept, updated when ``fit_b``).  Huber
    coordinates take a proximal step with the coordinate-wise Lipschitz
    constant ``lips[j]`` (``||x_j||^2 / n``; ``lip_b`` for the intercept);
    logistic ones a proximal Newton step with their exact curvature when it
    decreases the objective, else the step with ``lips[j]`` (``||x_j||^2 /
    (4 n)``).  The working-set score (subdifferential distance, the
    intercept's gradient included) is the figure checked every epoch.  ``S``
    (logistic: length ``n``, set here and kept equal to ``sigma(-y Z)``) caches
    the sigmoid so that a coordinate that does not move costs no ``exp``;
    ``cubes`` (logistic, optional: length ``n_features + 1``, the last entry for
    the intercept) the third-derivative bounds of ``glm_coord_step``.
    ``df`` 2: a user datafit (float64), ``ugrad`` the address of its
    ``raw_grad`` callback and ``upar`` its parameters; ``S`` (length ``n``)
    then holds ``raw_grad(y, Z)``, refreshed after every coordinate that
    moves, and each coordinate takes the proximal step with ``lips[j]``.
    ``code`` USER: a user penalty, its compiled prox at ``uprox`` with the
    parameters ``ppar`` (logistic coordinates then take the step with
    ``lips[j]``, not the Newton step).
    """
    cdef Py_ssize_t n = Z.shape[0], nws = ws.shape[0], i, jj, j, p, epoch = 0
    cdef bint has_w = weights.shape[0] > 0, has_a2 = a2s.shape[0] > 0
    cdef double crit = INF, L, old, new, g, wj, a2, s, dz
    cdef bint logit = df == DF_LOGISTIC
    cdef bint user = df == DF_USER
    cdef bint has_cube = cubes is not None and cubes.shape[0] == lips.shape[0] + 1
    cdef Py_ssize_t N = lips.shape[0]
    cdef double* up = NULL
    cdef double* pp = NULL
    if code == USER:
        if uprox == 0 or ppar is None or ppar.shape[0] == 0:
            raise ValueError("code USER needs the compiled prox (uprox) and its parameters")
        pp = <double*> &ppar[0]
    if logit and S.shape[0] != n:
        raise ValueError("the logistic datafit needs the sigmoid cache S of length n")
    if user:
        if floating is not double or S.shape[0] != n or ugrad == 0 or upar is None \
                or upar.shape[0] == 0 or n == 0:
            raise ValueError("a user datafit needs float64 data, its raw_grad callback, "
                             "its parameters and the gradient buffer S of length n")
        up = <double*> &upar[0]
    with nogil:
        if logit:
            for i in range(n):
                S[i] = logistic_sigma(Z[i], y[i])
        if user:
            (<ugrad_t> ugrad)(<double*> &y[0], <double*> &Z[0], n, &S[0], up)
        for epoch in range(1, max_epochs + 1):
            crit = 0.0
            for jj in range(nws):
                j = ws[jj]
                L = lips[j]
                if L == 0.0:
                    continue
                old = w[j]
                wj = weights[j] if has_w else 1.0
                a2 = a2s[j] if has_a2 else L
                new = glm_coord_step(is_sparse, XT, data, indices, indptr, j, y, Z, S, df,
                                     delta, old, L, code, alpha, gamma, wj, a2, positive,
                                     cubes[j] if has_cube else INF, &g, uprox, pp)
                # the score at the start of the coordinate's update: its
                # maximum over an epoch is the figure checked
                s = score_any(code, old, g, L, alpha, gamma, wj, a2, positive, j, uprox, pp)
                if s > crit:
                    crit = s
                if new != old:
                    w[j] = new
                    dz = new - old
                    if is_sparse:
                        for p in range(indptr[j], indptr[j + 1]):
                            i = indices[p]
                            Z[i] += <floating> (dz * data[p])
                            if logit:
                                S[i] = logistic_sigma(Z[i], y[i])
                    else:
                        for i in range(n):
                            Z[i] += <floating> (dz * XT[j, i])
                            if logit:
                                S[i] = logistic_sigma(Z[i], y[i])
                    if user:
                        (<ugrad_t> ugrad)(<double*> &y[0], <double*> &Z[0], n, &S[0], up)
            if fit_b:
                old = b[0]
                new = glm_coord_step(is_sparse, XT, data, indices, indptr, -1, y, Z, S, df,
                                     delta, old, lip_b, code, alpha, gamma, 1.0, 1.0, False,
                                     cubes[N] if has_cube else INF, &g, uprox, pp)
                if fabs(g) > crit:
                    crit = fabs(g)
                if new != old:
                    b[0] = new
                    dz = new - old
                    for i in range(n):
                        Z[i] += <floating> dz
                        if logit:
                            S[i] = logistic_sigma(Z[i], y[i])
                    if user:
                        (<ugrad_t> ugrad)(<double*> &y[0], <double*> &Z[0], n, &S[0], up)
            if crit <= tol_in:
                break
    return epoch, crit


# ---------------------------------------------------------------------------
# FISTA: the proximal step and the extrapolation of real L1 problems, fused
# ---------------------------------------------------------------------------
def fista_l1_step(const floating[:, ::1] Yk, const floating[:, ::1] grad,
                  const floating[:, ::1] X, const double[::1] step, double alpha,
                  bint nonneg, floating[:, ::1] Xn, double[::1] dn2, double[::1] rs,
                  double[::1] dy2=None):
    """``Xn = prox_{alpha step ||.||_1}(Yk - step grad)`` (soft thresholding, or its
    non-negative version) for every column, in one pass that also gives
    ``dn2 = ||Xn - X||^2`` and ``rs = <Yk - Xn, Xn - X>`` per column (the
    greedy step-length and gradient-restart tests), and, when ``dy2`` is
    given, ``dy2 = ||Xn - Yk||^2`` (the adaptive step's sufficient-decrease
    test).  ``Xn`` may be ``Yk``'s buffer (element-wise in place), never
    ``X``'s."""
    cdef Py_ssize_t i, c, n = Yk.shape[0], k = Yk.shape[1], q
    cdef double v, t, z, d, yk, sc, a_dn, a_rs, a_dy
    cdef bint want_dy = dy2 is not None
    cdef const floating* py = &Yk[0, 0] if n > 0 else NULL
    cdef const floating* pg = &grad[0, 0] if n > 0 else NULL
    cdef const floating* px = &X[0, 0] if n > 0 else NULL
    cdef floating* pn = &Xn[0, 0] if n > 0 else NULL
    with nogil:
        for c in range(k):
            sc = step[c]
            t = alpha * sc
            a_dn = 0.0
            a_rs = 0.0
            a_dy = 0.0
            q = c
            for i in range(n):
                yk = py[q]  # (read first: Xn may be Yk's buffer, written in place)
                v = yk - sc * pg[q]
                if v > t:
                    z = v - t
                elif v < -t and not nonneg:
                    z = v + t
                else:
                    z = 0.0
                pn[q] = <floating> z
                if floating is float:
                    z = pn[q]  # (the float32 value stored)
                d = z - px[q]
                a_dn += d * d
                a_rs += (yk - z) * d
                if want_dy:
                    a_dy += (z - yk) * (z - yk)
                q += k
            dn2[c] = a_dn
            rs[c] = a_rs
            if want_dy:
                dy2[c] = a_dy


def fista_extrapolate(const floating[:, ::1] Xn, const floating[:, ::1] X,
                      const double[::1] b, floating[:, ::1] out):
    """``out = Xn + b (Xn - X)`` column-wise (the momentum step); ``out`` may be
    ``X``'s buffer (element-wise in place)."""
    cdef Py_ssize_t i, c, n = Xn.shape[0], k = Xn.shape[1], q
    cdef double bc
    cdef const floating* pn = &Xn[0, 0] if n > 0 else NULL
    cdef const floating* px = &X[0, 0] if n > 0 else NULL
    cdef floating* po = &out[0, 0] if n > 0 else NULL
    with nogil:
        for c in range(k):
            bc = b[c]
            if k == 1:
                for i in range(n):
                    po[i] = <floating> (pn[i] + bc * (pn[i] - px[i]))
            else:
                q = c
                for i in range(n):
                    po[q] = <floating> (pn[q] + bc * (pn[q] - px[q]))
                    q += k


# ---------------------------------------------------------------------------
# the scalar formulas exported as C functions (``__pyx_capi__``): the Python
# and Numba entry points of ``sparsecode.convex._prox`` call these, so every
# proximal operator, value and score of a built-in penalty has one source
# ---------------------------------------------------------------------------
cdef api double c_prox_scalar(int code, double x, double step, double alpha, double gamma,
                              double wj, double a2, int positive) noexcept nogil:
    return prox_scalar(code, x, step, alpha, gamma, wj, a2, positive != 0)


cdef api double c_value_scalar(int code, double x, double alpha, double gamma, double wj,
                               double a2) noexcept nogil:
    return value_scalar(code, x, alpha, gamma, wj, a2)


cdef api double c_score_scalar(int code, double x, double g, double lip, double alpha,
                               double gamma, double wj, double a2,
                               int positive) noexcept nogil:
    return score_scalar(code, x, g, lip, alpha, gamma, wj, a2, positive != 0)


cdef double _kth_largest(double* a, Py_ssize_t m, Py_ssize_t k) noexcept nogil:
    """The ``k``-th largest (``k >= 1``) of ``a[:m]`` (reordered in place; quickselect)."""
    cdef Py_ssize_t lo = 0, hi = m - 1, i, j, target = k - 1
    cdef double pivot, tmp
    while lo < hi:
        pivot = a[(lo + hi) // 2]
        i = lo
        j = hi
        while i <= j:
            while a[i] > pivot:
                i += 1
            while a[j] < pivot:
                j -= 1
            if i <= j:
                tmp = a[i]
                a[i] = a[j]
                a[j] = tmp
                i += 1
                j -= 1
        if target <= j:
            hi = j
        elif target >= i:
            lo = i
        else:
            return a[target]
    return a[target]


def ws_select_prio(const double[::1] prio, Py_ssize_t ws_size):
    """The working set from the priorities (``inf``: support / unpenalised,
    ``-inf``: excluded): the ``ws_size`` features of largest priority, the ties
    at the threshold (and the zeros, which fill the set when fewer features
    have a positive priority) taken in index order; returned sorted (int64)."""
    cdef Py_ssize_t N = prio.shape[0], j, npos = 0, cnt = 0, take
    cdef double thr = 0.0
    buf_a = np.empty(max(N, 1))
    cdef double[::1] buf = buf_a
    out_a = np.empty(ws_size, dtype=np.int64)
    cdef int64_t[::1] out = out_a
    with nogil:
        for j in range(N):
            if prio[j] > 0.0:
                buf[npos] = prio[j]
                npos += 1
        if npos > ws_size:
            thr = _kth_largest(&buf[0], npos, ws_size)
            # strictly above the threshold first, then ties at it in index order
            take = 0
            for j in range(N):
                if prio[j] > thr:
                    take += 1
            take = ws_size - take
            for j in range(N):
                if prio[j] > thr or (prio[j] == thr and take > 0):
                    if prio[j] == thr:
                        take -= 1
                    out[cnt] = j
                    cnt += 1
        else:
            take = ws_size - npos
            for j in range(N):
                if prio[j] > 0.0 or (prio[j] == 0.0 and take > 0):
                    if prio[j] == 0.0:
                        take -= 1
                    out[cnt] = j
                    cnt += 1
    return out_a[:cnt]
