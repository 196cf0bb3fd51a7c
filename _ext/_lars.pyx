# cython: language_level=3
"""Batched LARS-homotopy (LARS with the Lasso modification) over a Gram matrix.

References
----------
Efron, Hastie, Johnstone & Tibshirani (2004), "Least angle regression",
Ann. Statist. 32(2) (the path and its Lasso modification); Mairal, Bach,
Ponce & Sapiro (2010), JMLR 11 (LARS-Lasso as the coding step of online
dictionary learning).

For each signal (row ``i`` of ``Cor`` = correlations ``D y_i`` with the atoms,
``G`` = Gram matrix ``D D^T``) the piecewise-linear Lasso path is followed
from ``lambda = max_j |c_j|`` down to the target ``lam``, with the Cholesky
factor of the active Gram block updated (append: one forward substitution)
and downdated (Givens rotations) as atoms join and leave.  The last piece is
capped at ``lam`` exactly, and the coefficients are then refitted on the
final support from the normal equations ``G_AA x = c0_A - lam sign`` (two
triangular solves), so the codes carry no error accumulated along the path.

Kernels take arrays and scalars and write into preallocated outputs; no
validation, no Python objects in the loops, no warnings: the status array
tells the caller what happened to each signal.  One OpenMP thread per signal
(``prange``), per-thread workspaces, each signal writes only its own output
row, so results do not depend on the number of threads.

Status (per signal): ``status & 3``
    0  the path reached ``lam``
    1  stopped when the active set reached ``kmax`` atoms (the code is the
       path point at a larger penalty, where the ``kmax + 1``-th atom joins)
    2  step budget exhausted before ``lam`` (the code is the path point
       reached)
``status & 4``: at least one atom was skipped because it lies (to working
precision) in the span of the active atoms (duplicated or dependent atoms).
"""
from cython.parallel cimport parallel, prange
from libc.limits cimport INT_MAX
from libc.math cimport sqrt, fabs, hypot, HUGE_VAL
from libc.stdint cimport SIZE_MAX
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memmove
from scipy.linalg.cython_blas cimport dgemv, sgemv, dtrsv

ctypedef fused floating:
    float
    double

# A candidate atom is dependent on the active ones when its Cholesky pivot
# G_jj - ||L^{-1} G_Aj||^2 falls below DEP_REL * G_jj.
DEF DEP_REL = 1e-10


cdef inline void* _xmalloc(size_t count, size_t elsize) noexcept nogil:
    if elsize != 0 and count > SIZE_MAX / elsize:
        return NULL
    return malloc(count * elsize if count > 0 else 1)


cdef inline void _trsv_l(const double* L, int ld, int n, double* x) noexcept nogil:
    """x <- L^{-1} x for lower-triangular L stored row-major (leading dimension ld)."""
    # row-major lower L is column-major upper U = L^T: L x = b is U^T x = b
    cdef char uplo = 85, trans = 84, diag = 78  # 'U', 'T', 'N'
    cdef int inc = 1
    if n > 0:
        dtrsv(&uplo, &trans, &diag, &n, <double*> L, &ld, x, &inc)


cdef inline void _trsv_lt(const double* L, int ld, int n, double* x) noexcept nogil:
    """x <- L^{-T} x for lower-triangular L stored row-major (leading dimension ld)."""
    cdef char uplo = 85, trans = 78, diag = 78  # 'U', 'N', 'N'
    cdef int inc = 1
    if n > 0:
        dtrsv(&uplo, &trans, &diag, &n, <double*> L, &ld, x, &inc)


cdef inline void _chol_delete(double* L, int ld, int n, int t) noexcept nogil:
    """Remove row and column t from the n x n factor L (L L^T = G_AA), in place.

    Rows below t move up one; the resulting lower-Hessenberg block is made
    triangular again by Givens rotations of neighbouring columns (O(n^2)).
    """
    cdef int r, q
    cdef double a, b, h, cs, sn, x1, x2
    for r in range(t, n - 1):
        for q in range(r + 2):
            L[r * ld + q] = L[(r + 1) * ld + q]
    for r in range(t, n - 1):
        a = L[r * ld + r]
        b = L[r * ld + r + 1]
        h = hypot(a, b)
        if h == 0.0:
            continue
        cs = a / h
        sn = b / h
        for q in range(r, n - 1):
            x1 = L[q * ld + r]
            x2 = L[q * ld + r + 1]
            L[q * ld + r] = cs * x1 + sn * x2
            L[q * ld + r + 1] = cs * x2 - sn * x1
        L[r * ld + r + 1] = 0.0
        if L[r * ld + r] < 0.0:
            for q in range(r, n - 1):
                L[q * ld + r] = -L[q * ld + r]


cdef inline double _family(double C, double Aa, double ck, double ak, double sgn,
                           double eps_den, bint positive) noexcept nogil:
    """Step at which c_k reaches sgn * C (sgn = +1 or -1); +inf when it does not."""
    cdef double den
    if sgn < 0 and positive:
        return HUGE_VAL
    den = Aa - sgn * ak
    if den > eps_den:
        return (C - sgn * ck) / den
    return HUGE_VAL


cdef inline int _argmin(const double* g, int K, double* best) noexcept nogil:
    """First index of the minimum of g[0:K] (four independent chains)."""
    cdef int k, K4 = K - K % 4
    cdef int j0 = -1, j1 = -1, j2 = -1, j3 = -1
    cdef double m0 = HUGE_VAL, m1 = HUGE_VAL, m2 = HUGE_VAL, m3 = HUGE_VAL
    for k in range(0, K4, 4):
        if g[k] < m0:
            m0 = g[k]
            j0 = k
        if g[k + 1] < m1:
            m1 = g[k + 1]
            j1 = k + 1
        if g[k + 2] < m2:
            m2 = g[k + 2]
            j2 = k + 2
        if g[k + 3] < m3:
            m3 = g[k + 3]
            j3 = k + 3
    for k in range(K4, K):
        if g[k] < m0:
            m0 = g[k]
            j0 = k
    if m1 < m0 or (m1 == m0 and j1 >= 0 and (j0 < 0 or j1 < j0)):
        m0 = m1
        j0 = j1
    if m3 < m2 or (m3 == m2 and j3 >= 0 and (j2 < 0 or j3 < j2)):
        m2 = m3
        j2 = j3
    if m2 < m0 or (m2 == m0 and j2 >= 0 and (j0 < 0 or j2 < j0)):
        m0 = m2
        j0 = j2
    best[0] = m0
    return j0


cdef int _lars_one(const floating* G, int K, const floating* c0, double lam, bint positive,
                   int kmax, int max_steps, floating* c, floating* a, floating* Gact,
                   floating* uf, char* mask, double* pen, double* gs,
                   double* L, double* xa, double* u, double* sg, double* w, double* zs,
                   int* act, floating* out, int* nnz_out, int* steps_out) noexcept nogil:
    """LARS-Lasso path for one signal down to ``lam`` (Gram form).

    ``c0`` (K) correlations D y; ``out`` (K) dense code row, zero on entry.
    Workspaces: c, a, pen, gs (K), mask (K: 0 inactive, 1 active, 2 skipped;
    pen = +inf where mask != 0), Gact (K x kmax, the active Gram columns), L
    (kmax x kmax, row-major Cholesky factor of G_AA), xa, u, sg, w, zs
    (= L^{-1} sg), uf (kmax), act (kmax).
    """
    cdef int k, t, q, n = 0, j, jn, td, kind, skip_p = -1, skip_m = -1, status = 0, steps = 0
    cdef double C, Aa, s, g, gj, gd, gl, gam, den, ck, ak, d, Gjj
    cdef double eps_den, jsg = 1.0, g2
    cdef floating fg
    cdef const floating* Gr
    cdef char trans_n = 78  # 'N'
    cdef int inc = 1
    cdef double one_d = 1.0, zero_d = 0.0
    cdef float one_s = 1.0, zero_s = 0.0
    for k in range(K):
        c[k] = c0[k]
        mask[k] = 0
        pen[k] = 0.0
    # first atom: the largest correlation (first index on ties)
    C = -1.0
    j = -1
    for k in range(K):
        ck = c[k] if positive else fabs(c[k])
        if ck > C:
            C = ck
            j = k
    if j < 0 or C <= lam:
        nnz_out[0] = 0
        steps_out[0] = 0
        return 0
    jsg = 1.0 if (positive or c[j] > 0) else -1.0
    while True:
        # ---- append atom j (Cholesky update) unless dependent
        if j >= 0:
            Gr = G + <Py_ssize_t> j * K
            Gjj = Gr[j]
            for q in range(n):
                w[q] = Gr[act[q]]
            _trsv_l(L, kmax, n, w)
            d = Gjj
            for q in range(n):
                d -= w[q] * w[q]
            if Gjj <= 0.0 or d <= DEP_REL * Gjj:
                mask[j] = 2
                pen[j] = HUGE_VAL
                status |= 4
            else:
                for q in range(n):
                    L[n * kmax + q] = w[q]
                L[n * kmax + n] = sqrt(d)
                sg[n] = jsg
                s = sg[n]
                for q in range(n):
                    s -= w[q] * zs[q]
                zs[n] = s / L[n * kmax + n]
                act[n] = j
                memcpy(Gact + <Py_ssize_t> n * K, Gr, K * sizeof(floating))
                xa[n] = 0.0
                mask[j] = 1
                pen[j] = HUGE_VAL
                n += 1
        if n == 0:
            # only dependent atoms so far (e.g. zero atoms): pick the next one
            j = -1
            gj = -1.0
            for k in range(K):
                if mask[k] == 0:
                    ck = c[k] if positive else fabs(c[k])
                    if ck > gj:
                        gj = ck
                        j = k
            if j < 0 or gj <= lam:
                break
            jsg = 1.0 if (positive or c[j] > 0) else -1.0
            C = gj
            continue
        if steps >= max_steps:
            status |= 2
            break
        steps += 1
        # ---- equiangular direction: G_AA w = sg, Aa = (sg^T w)^{-1/2}, u = Aa w
        s = 0.0
        for t in range(n):
            s += zs[t] * zs[t]
            w[t] = zs[t]
        _trsv_lt(L, kmax, n, w)
        if not s > 0.0:
            status |= 2
            break
        Aa = 1.0 / sqrt(s)
        for t in range(n):
            u[t] = Aa * w[t]
        # ---- a = G[:, A] u (the dominant cost: K x n)
        for t in range(n):
            uf[t] = <floating> u[t]
        if floating is double:
            dgemv(&trans_n, &K, &n, &one_d, Gact, &K, uf, &inc, &zero_d, a, &inc)
        else:
            sgemv(&trans_n, &K, &n, &one_s, Gact, &K, uf, &inc, &zero_s, a, &inc)
        # ---- step lengths: to lam, to the next join, to the next sign change
        gl = (C - lam) / Aa
        if gl < 0.0:
            gl = 0.0
        eps_den = 1e-12 * Aa
        # join step of every atom: min over the families (C -+ c_k)/(Aa -+ a_k)
        # with a positive denominator; written without branches so that the
        # compiler vectorises it (the divisions of rejected families are
        # computed and discarded); pen[k] = +inf for active/skipped atoms
        if positive:
            for k in range(K):
                ak = a[k]
                den = Aa - ak
                g = (C - c[k]) / den
                g = g if den > eps_den else HUGE_VAL
                gs[k] = g + pen[k]
        else:
            for k in range(K):
                ck = c[k]
                ak = a[k]
                den = Aa - ak
                g = (C - ck) / den
                g = g if den > eps_den else HUGE_VAL
                den = Aa + ak
                g2 = (C + ck) / den
                g2 = g2 if den > eps_den else HUGE_VAL
                g = g if g <= g2 else g2
                gs[k] = g + pen[k]
        # a dropped atom cannot rejoin with its old sign in the step right
        # after its drop (a zero step, from rounding); with the opposite sign
        # it can (its correlation may cross to the other side at once)
        if skip_p >= 0:
            gs[skip_p] = _family(C, Aa, c[skip_p], a[skip_p], -1.0, eps_den, positive)
        if skip_m >= 0:
            gs[skip_m] = _family(C, Aa, c[skip_m], a[skip_m], 1.0, eps_den, positive)
        jn = _argmin(gs, K, &gj)
        if jn >= 0 and gj < HUGE_VAL:
            g = HUGE_VAL if jn == skip_p else _family(C, Aa, c[jn], a[jn], 1.0, eps_den,
                                                      positive)
            jsg = 1.0 if g <= gj else -1.0
        else:
            gj = HUGE_VAL
            jn = -1
        skip_p = -1
        skip_m = -1
        if gj < 0.0:
            gj = 0.0
        gd = HUGE_VAL
        td = -1
        for t in range(n):
            if u[t] * xa[t] < 0.0:
                g = -xa[t] / u[t]
                if g < gd:
                    gd = g
                    td = t
        # ---- move
        if gl <= gj and gl <= gd:
            gam = gl
            kind = 0
        elif gd <= gj:
            gam = gd
            kind = 1
        else:
            gam = gj
            kind = 2
        for t in range(n):
            xa[t] += gam * u[t]
        fg = <floating> gam
        for k in range(K):
            c[k] -= fg * a[k]
        C -= gam * Aa
        if kind == 0:
            C = lam
            break
        if kind == 1:
            # the coefficient of act[td] crossed zero: it leaves the active set
            j = act[td]
            mask[j] = 0
            pen[j] = 0.0
            if sg[td] > 0:
                skip_p = j
            else:
                skip_m = j
            _chol_delete(L, kmax, n, td)
            if td < n - 1:
                memmove(Gact + <Py_ssize_t> td * K, Gact + <Py_ssize_t> (td + 1) * K,
                        <size_t> (n - 1 - td) * K * sizeof(floating))
            for t in range(td, n - 1):
                act[t] = act[t + 1]
                xa[t] = xa[t + 1]
                sg[t] = sg[t + 1]
            n -= 1
            for t in range(n):
                zs[t] = sg[t]
            _trsv_l(L, kmax, n, zs)
            j = -1
            continue
        if n >= kmax:
            status |= 1
            break
        j = jn
    # ---- refit on the final support: G_AA x = c0_A - C sg (exact on the path piece)
    for t in range(n):
        u[t] = c0[act[t]] - C * sg[t]
    _trsv_l(L, kmax, n, u)
    _trsv_lt(L, kmax, n, u)
    for t in range(n):
        w[t] = u[t]
    q = 0
    for t in range(n):
        if w[t] * sg[t] > 0.0:
            out[act[t]] = <floating> w[t]
            q += 1
    nnz_out[0] = q
    steps_out[0] = steps
    return status


def lars_gram(const floating[:, ::1] G, const floating[:, ::1] Cor, double lam,
              bint positive, Py_ssize_t kmax, Py_ssize_t max_steps, int n_threads,
              floating[:, ::1] out, int[::1] nnz_out, int[::1] steps_out,
              int[::1] status_out):
    """LARS-Lasso over the rows of ``Cor`` (row i = D y_i), Gram ``G`` = D D^T.

    Writes the codes into ``out`` (zeroed by the caller), the number of
    non-zeros, the path steps taken and the status of each signal.  Raises
    MemoryError when a per-thread workspace cannot be allocated.
    """
    cdef Py_ssize_t N_sig = Cor.shape[0]
    cdef Py_ssize_t K = G.shape[0]
    cdef Py_ssize_t i
    cdef floating* c
    cdef floating* a
    cdef floating* Gact
    cdef floating* uf
    cdef char* mask
    cdef double* pen
    cdef double* gs
    cdef double* L
    cdef double* xa
    cdef double* u
    cdef double* sg
    cdef double* w
    cdef double* zs
    cdef int* act
    cdef int failed_flag = 0
    cdef int* failed = &failed_flag
    cdef bint ok = False
    if K > INT_MAX or kmax > INT_MAX or max_steps > INT_MAX:
        raise ValueError(f"dimensions ({K} atoms) exceed the 32-bit limit ({INT_MAX}).")
    if kmax < 1 or kmax > K:
        raise ValueError(f"kmax={kmax} must be in [1, n_atoms={K}].")
    if N_sig == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        c = <floating*> _xmalloc(<size_t> K, sizeof(floating))
        a = <floating*> _xmalloc(<size_t> K, sizeof(floating))
        Gact = <floating*> _xmalloc(<size_t> (K * kmax), sizeof(floating))
        uf = <floating*> _xmalloc(<size_t> kmax, sizeof(floating))
        mask = <char*> _xmalloc(<size_t> K, 1)
        pen = <double*> _xmalloc(<size_t> K, sizeof(double))
        gs = <double*> _xmalloc(<size_t> K, sizeof(double))
        L = <double*> _xmalloc(<size_t> (kmax * kmax), sizeof(double))
        xa = <double*> _xmalloc(<size_t> kmax, sizeof(double))
        u = <double*> _xmalloc(<size_t> kmax, sizeof(double))
        sg = <double*> _xmalloc(<size_t> kmax, sizeof(double))
        w = <double*> _xmalloc(<size_t> kmax, sizeof(double))
        zs = <double*> _xmalloc(<size_t> kmax, sizeof(double))
        act = <int*> _xmalloc(<size_t> kmax, sizeof(int))
        ok = (c != NULL and a != NULL and Gact != NULL and uf != NULL and mask != NULL
              and pen != NULL and gs != NULL and L != NULL and xa != NULL and u != NULL
              and sg != NULL and w != NULL and zs != NULL and act != NULL)
        if not ok:
            failed[0] = 1
        for i in prange(N_sig, schedule="dynamic", chunksize=16):
            if ok:
                status_out[i] = _lars_one(
                    &G[0, 0], <int> K, &Cor[i, 0], lam, positive, <int> kmax,
                    <int> max_steps, c, a, Gact, uf, mask, pen, gs, L, xa, u, sg, w, zs, act,
                    &out[i, 0], &nnz_out[i], &steps_out[i])
        free(c)
        free(a)
        free(Gact)
        free(uf)
        free(mask)
        free(pen)
        free(gs)
        free(L)
        free(xa)
        free(u)
        free(sg)
        free(w)
        free(zs)
        free(act)
    if failed_flag:
        raise MemoryError(
            f"LARS could not allocate its per-thread workspace ({K} atoms, {kmax} "
            "coefficients); lower max_nonzeros or n_jobs.")
