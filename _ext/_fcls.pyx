# cython: language_level=3
"""Batched fully constrained least squares (FCLS), OpenMP over pixels.

For every pixel ``n`` solve (Heinz & Chang, IEEE TGRS 2001)

    min_a  1/2 ||y_n - E^T a||^2 + delta2/2 (1^T a - 1)^2   s.t.  a >= 0

which is non-negative least squares on the sum-to-one augmented system
``[E^T; delta 1^T] a ~ [y_n; delta]`` (``delta2 = inf`` gives the exact
equality constraint ``1^T a = 1``).  The solver is Lawson & Hanson's active set
method written on the Gram matrix ``G = E E^T`` and ``c_n = E y_n``.  On a
passive set ``P`` the augmented normal equations
``(G_PP + delta2 11^T) a_P = c_P + delta2 1`` are solved by Sherman-Morrison:
with ``u = G_PP^{-1} 1``, ``v = G_PP^{-1} c_P`` and ``s = 1^T u``,

    mu = delta2 (1 - 1^T v) / (1 + delta2 s),     a_P = v + mu u,

so only ``G_PP`` (never the ill-conditioned ``G_PP + delta2 11^T``) is
factored, ``mu`` (the multiplier of the sum-to-one row) stays finite for any
``delta2`` and the dual vector is ``w = c - G a + mu 1``.  Cost O(K^3) per
active-set change, K the number of endmembers (for K <= 10 the factors of
every ``G_PP`` are computed once, before the pixel loop).  ``fcls_gram(...,
warm=True)`` skips the pixels whose given starting point (the closed-form
equality-constrained solution) is non-negative and starts the others from it.
"""
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt, isinf, isnan
from libc.stdlib cimport malloc, free


cdef inline int _chol_solve(const double[:, ::1] G, int* idx, int m, double* L,
                            double* u, double* v, const double[:, :] C,
                            Py_ssize_t n, double ridge) noexcept nogil:
    """Cholesky of G[idx, idx] (+ridge if needed), then u = G^-1 1, v = G^-1 c."""
    cdef int i, j, k
    cdef double s
    for i in range(m):
        for j in range(i + 1):
            s = G[idx[i], idx[j]]
            if i == j:
                s = s + ridge
            for k in range(j):
                s = s - L[i * m + k] * L[j * m + k]
            if i == j:
                if s <= 0.0:
                    return -1
                L[i * m + i] = sqrt(s)
            else:
                L[i * m + j] = s / L[j * m + j]
    # forward substitution for both right-hand sides
    for i in range(m):
        s = 1.0
        for k in range(i):
            s = s - L[i * m + k] * u[k]
        u[i] = s / L[i * m + i]
        s = C[n, idx[i]]
        for k in range(i):
            s = s - L[i * m + k] * v[k]
        v[i] = s / L[i * m + i]
    # back substitution with L^T
    for i in range(m - 1, -1, -1):
        s = u[i]
        for k in range(i + 1, m):
            s = s - L[k * m + i] * u[k]
        u[i] = s / L[i * m + i]
        s = v[i]
        for k in range(i + 1, m):
            s = s - L[k * m + i] * v[k]
        v[i] = s / L[i * m + i]
    return 0


cdef inline double _solve_passive(const double[:, ::1] G, int* idx, int m, double* L,
                                  double* u, double* v, const double[:, :] C,
                                  Py_ssize_t n, double delta2, double scale,
                                  double* z) noexcept nogil:
    """z[:m] = solution on the passive set; returns mu (sum-to-one multiplier)."""
    cdef int i
    cdef double ridge = 0.0, s = 0.0, sv = 0.0, mu
    while _chol_solve(G, idx, m, L, u, v, C, n, ridge) != 0:
        # G_PP singular (e.g. repeated endmembers): tiny ridge, then retry
        ridge = 1e-12 * scale if ridge == 0.0 else ridge * 100.0
    for i in range(m):
        s = s + u[i]
        sv = sv + v[i]
    if isinf(delta2):
        mu = (1.0 - sv) / s
    else:
        mu = delta2 * (1.0 - sv) / (1.0 + delta2 * s)
    for i in range(m):
        z[i] = v[i] + mu * u[i]
    return mu


cdef inline double _solve_cached(const double* L, const double* u, double su, int* idx,
                                 int m, double* v, const double[:, :] C, Py_ssize_t n,
                                 double delta2, double* z) noexcept nogil:
    """As _solve_passive with the factor L of G_PP and u = G_PP^-1 1 precomputed."""
    cdef int i, k
    cdef double s, sv = 0.0, mu
    for i in range(m):
        s = C[n, idx[i]]
        for k in range(i):
            s = s - L[i * m + k] * v[k]
        v[i] = s / L[i * m + i]
    for i in range(m - 1, -1, -1):
        s = v[i]
        for k in range(i + 1, m):
            s = s - L[k * m + i] * v[k]
        v[i] = s / L[i * m + i]
    for i in range(m):
        sv = sv + v[i]
    if isinf(delta2):
        mu = (1.0 - sv) / su
    else:
        mu = delta2 * (1.0 - sv) / (1.0 + delta2 * su)
    for i in range(m):
        z[i] = v[i] + mu * u[i]
    return mu


# passive-set factorizations are precomputed for every subset when K <= 10


def fcls_gram(const double[:, ::1] G, const double[:, :] C, double delta2,
              double[:, ::1] out, int max_iter, double tol, int n_threads=1, bint warm=False):
    """Solve every pixel's FCLS problem; returns the number of pixels that hit max_iter.

    ``G`` (K, K) = E E^T, ``C`` (N, K) = Y E^T; ``out`` (N, K) is overwritten.
    ``C`` may be strided (e.g. the transpose of a C-ordered (K, N) array).
    With ``warm=True``, ``out`` holds on entry every pixel's equality-constrained
    least-squares solution (no sign constraint): a non-negative row is optimal
    and kept as it is; for the others the passive set starts from the positive
    entries, shrunk (dropping the entries whose passive-set solution is not
    positive) until that solution is positive, else from the empty set; the
    result is the same optimum, reached in fewer active-set changes.
    For K <= 10 and N >= 2**K the Cholesky factor of ``G_PP`` and ``G_PP^-1 1``
    are computed once for every passive set ``P`` (same arithmetic as per pixel).
    ``tol`` (>= 0) is the absolute tolerance on the dual vector ``w``.
    Raises ValueError for inconsistent shapes or a negative/NaN ``tol`` or
    ``delta2``, MemoryError when a per-thread workspace cannot be allocated.
    """
    cdef Py_ssize_t N = C.shape[0]
    cdef Py_ssize_t K = G.shape[0]
    cdef Py_ssize_t n
    cdef int i, k, t, m, it, inner, n_failed = 0, failed, n_oom = 0, bad, w0, mask
    cdef int n_masks = 0, use_cache = 0
    cdef double* Lc = NULL
    cdef double* Uc = NULL
    cdef double* Sc = NULL
    cdef double ridge
    if G.shape[1] != K or C.shape[1] != K or out.shape[0] != N or out.shape[1] != K:
        raise ValueError(f"fcls_gram: G must be (K, K), C and out (N, K); got G "
                         f"{(G.shape[0], G.shape[1])}, C {(C.shape[0], C.shape[1])}, out "
                         f"{(out.shape[0], out.shape[1])}.")
    if K > 46340:  # K * K must fit the int indices of the Cholesky workspace
        raise ValueError(f"fcls_gram: too many endmembers ({K}).")
    if not tol >= 0.0:
        raise ValueError(f"tol must be a non-negative number; got {tol!r}.")
    if not delta2 >= 0.0:
        raise ValueError(f"delta2 must be a non-negative number (or inf); got {delta2!r}.")
    if max_iter < 1:
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}.")
    if N == 0 or K == 0:
        return 0
    cdef double mu, wbest, wk, alpha, ratio, scale = 0.0
    cdef int* idx
    cdef int* passive
    cdef double* a
    cdef double* z
    cdef double* u
    cdef double* v
    cdef double* L
    for k in range(K):
        if G[k, k] > scale:
            scale = G[k, k]
    if scale <= 0.0:
        scale = 1.0
    if K <= 10 and N >= (1 << K):
        # factor G_PP (same ridge rule as _solve_passive) and u = G_PP^-1 1 for every
        # passive set P once: per pixel only the solve for c_P remains
        n_masks = 1 << K
        Lc = <double*> malloc(n_masks * K * K * sizeof(double))
        Uc = <double*> malloc(n_masks * K * sizeof(double))
        Sc = <double*> malloc(n_masks * sizeof(double))
        idx = <int*> malloc(K * sizeof(int))
        v = <double*> malloc(K * sizeof(double))
        if Lc != NULL and Uc != NULL and Sc != NULL and idx != NULL and v != NULL:
            use_cache = 1
            for mask in range(1, n_masks):
                m = 0
                for k in range(K):
                    if mask & (1 << k):
                        idx[m] = k
                        m = m + 1
                ridge = 0.0
                while _chol_solve(G, idx, m, Lc + mask * K * K, Uc + mask * K, v, G, 0,
                                  ridge) != 0:
                    ridge = 1e-12 * scale if ridge == 0.0 else ridge * 100.0
                Sc[mask] = 0.0
                for i in range(m):
                    Sc[mask] = Sc[mask] + Uc[mask * K + i]
        free(idx)
        free(v)
        if not use_cache:
            free(Lc)
            free(Uc)
            free(Sc)
    with nogil, parallel(num_threads=n_threads):
        idx = <int*> malloc(K * sizeof(int))
        passive = <int*> malloc(K * sizeof(int))
        a = <double*> malloc(K * sizeof(double))
        z = <double*> malloc(K * sizeof(double))
        u = <double*> malloc(K * sizeof(double))
        v = <double*> malloc(K * sizeof(double))
        L = <double*> malloc(K * K * sizeof(double))
        # dynamic chunks: a thread that the OS preempts does not hold up the others
        for n in prange(N, schedule="dynamic", chunksize=64):
            if (idx == NULL or passive == NULL or a == NULL or z == NULL or u == NULL
                    or v == NULL or L == NULL):
                n_oom += 1  # reduction: pixels left unsolved for want of memory
                continue
            if warm:
                bad = 0
                for k in range(K):
                    if out[n, k] < 0.0:
                        bad = 1
                if bad == 0:
                    continue  # the unconstrained-sign solution is feasible: optimal
            for k in range(K):
                passive[k] = 0
                if warm and out[n, k] > 0.0:
                    passive[k] = 1
                a[k] = 0.0
            m = 0
            mu = delta2
            if warm:
                # warm start (Bro & de Jong): a feasible point a_P = z > 0 on the guessed set
                for w0 in range(K + 1):
                    m = 0
                    for k in range(K):
                        if passive[k]:
                            idx[m] = k
                            m = m + 1
                    if m == 0:
                        break
                    if use_cache:
                        mask = 0
                        for i in range(m):
                            mask = mask | (1 << idx[i])
                        mu = _solve_cached(Lc + mask * K * K, Uc + mask * K, Sc[mask], idx, m,
                                           v, C, n, delta2, z)
                    else:
                        mu = _solve_passive(G, idx, m, L, u, v, C, n, delta2, scale, z)
                    bad = 0
                    for i in range(m):
                        if z[i] <= 1e-14:
                            passive[idx[i]] = 0
                            bad = 1
                    if bad == 0:
                        for i in range(m):
                            a[idx[i]] = z[i]
                        break
                    m = 0
                if m == 0:
                    for k in range(K):
                        passive[k] = 0
                        a[k] = 0.0
                    mu = delta2
            failed = 1
            for it in range(max_iter):
                # dual vector w = c - G a + mu 1 on the active (zero) set
                t = -1
                wbest = tol
                for k in range(K):
                    if passive[k]:
                        continue
                    if m == 0 and isinf(delta2):
                        # w = c + inf for every k: start from the largest c_k
                        if t == -1 or C[n, k] > wbest:
                            t = k
                            wbest = C[n, k]
                        continue
                    if m == 0:
                        wk = C[n, k] + delta2  # a = 0: w = c + delta2 (1 - 0)
                        if wk > wbest:
                            wbest = wk
                            t = k
                        continue
                    wk = C[n, k] + mu
                    for i in range(K):
                        if a[i] != 0.0:
                            wk = wk - G[k, i] * a[i]
                    if wk > wbest:
                        wbest = wk
                        t = k
                if t == -1:
                    failed = 0
                    break
                passive[t] = 1
                for inner in range(3 * K + 3):
                    m = 0
                    for k in range(K):
                        if passive[k]:
                            idx[m] = k
                            m = m + 1
                    if use_cache:
                        mask = 0
                        for i in range(m):
                            mask = mask | (1 << idx[i])
                        mu = _solve_cached(Lc + mask * K * K, Uc + mask * K, Sc[mask], idx, m,
                                           v, C, n, delta2, z)
                    else:
                        mu = _solve_passive(G, idx, m, L, u, v, C, n, delta2, scale, z)
                    alpha = 2.0
                    for i in range(m):
                        if z[i] <= 0.0:
                            ratio = a[idx[i]] / (a[idx[i]] - z[i])
                            if ratio < alpha:
                                alpha = ratio
                    if alpha > 1.0:
                        for i in range(m):
                            a[idx[i]] = z[i]
                        break
                    # step back to the boundary and drop the variables that hit zero
                    t = -1
                    for i in range(m):
                        if z[i] <= 0.0 and a[idx[i]] / (a[idx[i]] - z[i]) <= alpha:
                            t = idx[i]
                        a[idx[i]] = a[idx[i]] + alpha * (z[i] - a[idx[i]])
                    if t >= 0:
                        a[t] = 0.0
                    for i in range(m):
                        if a[idx[i]] <= 1e-14:
                            a[idx[i]] = 0.0
                            passive[idx[i]] = 0
                m = 0
                for k in range(K):
                    if passive[k]:
                        m = m + 1
            if failed:
                n_failed += 1
            for k in range(K):
                out[n, k] = a[k]
        free(idx)
        free(passive)
        free(a)
        free(z)
        free(u)
        free(v)
        free(L)
    if use_cache:
        free(Lc)
        free(Uc)
        free(Sc)
    if n_oom:
        raise MemoryError(f"fcls_gram: could not allocate the per-thread workspace for {K} "
                          f"endmembers ({n_oom} pixels left unsolved).")
    return n_failed


cdef inline double _dot4(const double* x, const double* y, Py_ssize_t n) noexcept nogil:
    # four partial sums: the compiler keeps them in vector registers
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    cdef Py_ssize_t t = 0
    while t + 4 <= n:
        s0 = s0 + x[t] * y[t]
        s1 = s1 + x[t + 1] * y[t + 1]
        s2 = s2 + x[t + 2] * y[t + 2]
        s3 = s3 + x[t + 3] * y[t + 3]
        t += 4
    while t < n:
        s0 = s0 + x[t] * y[t]
        t += 1
    return (s0 + s1) + (s2 + s3)


def fcls_correlations(const double[:, ::1] X, const double[:, ::1] Ec, double[:, ::1] C,
                      const double[:, ::1] Ginv, const double[::1] u, double den,
                      double[:, ::1] out, int n_threads=1, bint closed=True):
    """The pixels' correlations and equality-constrained solutions, one pass over ``X``.

    ``C[n] = Ec X[n]`` (``Ec`` (K, L): the scaled endmembers) and, with
    ``closed``, ``out[n] = v + mu u`` with ``v = Ginv C[n]`` and
    ``mu = (1 - 1^T v) / den`` (``den = 1 / delta2 + 1^T u``; ``inf``: plain
    least squares, ``mu = 0``): the starting point of ``fcls_gram(...,
    warm=True)``.  OpenMP over pixels, no BLAS: the pass over the data, which
    bounds FCLS, is shared by the threads.
    """
    cdef Py_ssize_t N = X.shape[0], L = X.shape[1], K = Ec.shape[0], n, k, j
    cdef double s, mu
    if Ec.shape[1] != L or C.shape[0] != N or C.shape[1] != K:
        raise ValueError("fcls_correlations: X (N, L), Ec (K, L) and C (N, K) disagree.")
    if closed and (Ginv.shape[0] != K or Ginv.shape[1] != K or u.shape[0] != K
                   or out.shape[0] != N or out.shape[1] != K):
        raise ValueError("fcls_correlations: Ginv (K, K), u (K,) and out (N, K) disagree.")
    if N == 0 or K == 0:
        return
    with nogil:
        for n in prange(N, schedule="static", num_threads=n_threads):
            for k in range(K):
                C[n, k] = _dot4(&X[n, 0], &Ec[k, 0], L)
            if closed:
                s = 0.0
                for k in range(K):
                    out[n, k] = 0.0
                    for j in range(K):
                        out[n, k] = out[n, k] + Ginv[k, j] * C[n, j]
                    s = s + out[n, k]
                if not isinf(den):
                    mu = (1.0 - s) / den
                    for k in range(K):
                        out[n, k] = out[n, k] + mu * u[k]
