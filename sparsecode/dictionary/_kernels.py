"""Numba kernels of the dictionary-learning family.

* :func:`ksvd_sweep` -- the atom loop of the approximate K-SVD (Rubinstein,
  Zibulevsky & Elad, Technion TR CS-2008-08), with an optional observation
  mask (weighted rank-1 alternation, Mairal et al. 2008 for inpainting).
* :func:`masked_omp` -- Batch-OMP where each signal sees only its observed
  coordinates: the atoms are restricted (and implicitly renormalised) per
  signal, the Gram columns are formed on the fly.
* :func:`bcd_update` -- one pass of block-coordinate descent on the
  dictionary from the sufficient statistics (Mairal et al., JMLR 2010, Alg. 2).

Kernels take arrays and scalars and return arrays: no validation, no
warnings.  Nothing is compiled at import (``cache=True`` compiles lazily).
"""

import numpy as np
from numba import njit, prange


@njit(cache=True)
def ksvd_sweep(R, C, D, free, W, use_mask, n_inner):  # pragma: no cover - jitted
    """One dictionary sweep of approximate K-SVD, in place on ``R``, ``C``, ``D``.

    Mutates R (N, n), the (masked) residual ``W * (Y - C @ D)``; C (N, K), the
    codes (supports kept, values refitted); D (K, n), the atoms (unit norm).

    For atom k with users omega (C[omega, k] != 0), the error without the
    atom is ``E = R[omega] + W[omega] * outer(g, d_k)`` and ``n_inner``
    alternating steps of the rank-1 fit ``E ~ outer(g, d)`` with ``|d| = 1``
    are run (TR CS-2008-08, Alg. 5: one step; many steps tend to the SVD).
    Each step minimises over d then over g, so the error never increases.

    Returns the number of users of each atom.
    """
    N, n = R.shape
    K = D.shape[0]
    counts = np.zeros(K, dtype=np.int64)
    for i in range(N):
        for k in range(K):
            if C[i, k] != 0.0:
                counts[k] += 1
    ptr = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        ptr[k + 1] = ptr[k] + counts[k]
    users = np.empty(ptr[K], dtype=np.int64)
    fill = ptr[:K].copy()
    for i in range(N):
        for k in range(K):
            if C[i, k] != 0.0:
                users[fill[k]] = i
                fill[k] += 1
    d_old = np.empty(n)
    d = np.empty(n)
    num = np.empty(n)
    den = np.empty(n)
    for k in range(K):
        m = counts[k]
        if m == 0 or not free[k]:
            continue
        om = users[ptr[k]:ptr[k + 1]]
        g_old = np.empty(m)
        g = np.empty(m)
        for a in range(m):
            g_old[a] = C[om[a], k]
            g[a] = g_old[a]
        for r in range(n):
            d_old[r] = D[k, r]
        ok = False
        for _ in range(n_inner):
            # d-step: minimise sum_i |w_i * (e_i - g_i d)|^2 over d, then normalise
            for r in range(n):
                num[r] = 0.0
                den[r] = 0.0
            for a in range(m):
                i = om[a]
                for r in range(n):
                    w = W[i, r] if use_mask else 1.0
                    e = R[i, r] + w * g_old[a] * d_old[r]
                    num[r] += g[a] * e
                    den[r] += w * g[a] * g[a]
            nrm = 0.0
            for r in range(n):
                if den[r] > 0.0:
                    d[r] = num[r] / den[r]
                else:  # never observed among the users: the loss ignores it
                    d[r] = d_old[r]
                nrm += d[r] * d[r]
            nrm = np.sqrt(nrm)
            if nrm == 0.0 or not np.isfinite(nrm):
                break
            for r in range(n):
                d[r] /= nrm
            ok = True
            # g-step: g_i = <w_i * e_i, d> / |w_i * d|^2
            for a in range(m):
                i = om[a]
                s = 0.0
                q = 0.0
                for r in range(n):
                    w = W[i, r] if use_mask else 1.0
                    e = R[i, r] + w * g_old[a] * d_old[r]
                    s += e * d[r]
                    q += w * d[r] * d[r]
                g[a] = s / q if q > 0.0 else 0.0
        if not ok:
            continue
        for a in range(m):
            i = om[a]
            for r in range(n):
                w = W[i, r] if use_mask else 1.0
                R[i, r] += w * (g_old[a] * d_old[r] - g[a] * d[r])
            C[i, k] = g[a]
        for r in range(n):
            D[k, r] = d[r]
    return counts


@njit(cache=True, parallel=True)
def masked_omp(D, Y, W, kmax, tol2, use_tol, out):  # pragma: no cover - jitted
    """OMP of each row of ``Y`` over the atoms restricted to its observed entries.

    Mutates ``out`` (N, K), which must be zero on entry.

    For signal i with weights w (0/1 mask), the problem is
    ``min |w * (y - D^T x)|^2  s.t. |x|_0 <= kmax`` (or the squared residual
    ``<= tol2``).  Selection uses correlations normalised by the restricted
    atom norms ``|w * d_j|`` (the atoms as the signal sees them); the
    restricted Gram columns ``D diag(w) d_j`` are built as atoms are chosen
    and a Cholesky factor of ``G[S, S]`` is grown (Batch-OMP, TR CS-2008-08).
    Atoms whose restricted norm is below 1e-10 are never chosen.
    Returns the squared residual of each signal.
    """
    N, n = Y.shape
    K = D.shape[0]
    res = np.zeros(N)
    for i in prange(N):
        yw = np.empty(n)
        yy = 0.0
        for r in range(n):
            yw[r] = W[i, r] * Y[i, r]
            yy += yw[r] * yw[r]
        alpha0 = np.zeros(K)
        nrm2 = np.zeros(K)
        for k in range(K):
            s = 0.0
            q = 0.0
            for r in range(n):
                s += D[k, r] * yw[r]
                q += W[i, r] * D[k, r] * D[k, r]
            alpha0[k] = s
            nrm2[k] = q
        alpha = alpha0.copy()
        sel = np.zeros(K, dtype=np.bool_)
        S = np.empty(kmax, dtype=np.int64)
        Gc = np.zeros((kmax, K))  # Gc[t] = D diag(w) d_{S[t]}
        L = np.zeros((kmax, kmax))
        x = np.zeros(kmax)
        v = np.empty(kmax)
        t = 0
        r2 = yy
        while t < kmax:
            if use_tol and r2 <= tol2:
                break
            best = -1.0
            j = -1
            for k in range(K):
                if sel[k] or nrm2[k] <= 1e-10:
                    continue
                c = abs(alpha[k]) / np.sqrt(nrm2[k])
                if c > best:
                    best = c
                    j = k
            if j < 0 or best <= 1e-14 * np.sqrt(yy + 1e-300):
                break
            for k in range(K):
                s = 0.0
                for r in range(n):
                    s += D[k, r] * W[i, r] * D[j, r]
                Gc[t, k] = s
            # Cholesky update: L[t, :t] solves L[:t, :t] v = G[S, j]
            for a in range(t):
                s = Gc[a, j]
                for b in range(a):
                    s -= L[a, b] * v[b]
                v[a] = s / L[a, a]
            dd = nrm2[j]
            for a in range(t):
                dd -= v[a] * v[a]
            if dd <= 1e-10 * nrm2[j]:
                break  # j is (numerically) in the span of the chosen atoms
            for a in range(t):
                L[t, a] = v[a]
            L[t, t] = np.sqrt(dd)
            S[t] = j
            sel[j] = True
            t += 1
            # x = G[S, S]^{-1} alpha0[S] through L L^T
            for a in range(t):
                s = alpha0[S[a]]
                for b in range(a):
                    s -= L[a, b] * v[b]
                v[a] = s / L[a, a]
            for a in range(t - 1, -1, -1):
                s = v[a]
                for b in range(a + 1, t):
                    s -= L[b, a] * x[b]
                x[a] = s / L[a, a]
            r2 = yy
            for a in range(t):
                r2 -= x[a] * alpha0[S[a]]
            if r2 < 0.0:
                r2 = 0.0
            for k in range(K):
                s = alpha0[k]
                for a in range(t):
                    s -= Gc[a, k] * x[a]
                alpha[k] = s
        for a in range(t):
            out[i, S[a]] = x[a]
        res[i] = r2
    return res


@njit(cache=True, fastmath=True)
def bcd_update(D, A, B, free, ridge):  # pragma: no cover - jitted
    """One block-coordinate pass over the atoms (Mairal et al., JMLR 2010, Alg. 2).

    Mutates D (K, n).  Row convention: ``A = sum x x^T`` (K, K) and
    ``B = sum x y^T`` (K, n).  For atom j:
    ``u = d_j + (b_j - A[j] @ D) / A[j, j]``, ``d_j = u / max(|u|, 1)``.
    Atoms with ``A[j, j] <= ridge`` or held fixed are skipped.  The inner
    loops run over contiguous rows of D (one axpy per non-zero of A[j]).
    """
    K, n = D.shape
    u = np.empty(n)
    for j in range(K):
        ajj = A[j, j]
        if not free[j] or ajj <= ridge:
            continue
        for r in range(n):
            u[r] = B[j, r]
        for k in range(K):
            a = A[j, k]
            if a != 0.0:
                for r in range(n):
                    u[r] -= a * D[k, r]
        nrm = 0.0
        for r in range(n):
            u[r] = D[j, r] + u[r] / ajj
            nrm += u[r] * u[r]
        nrm = max(np.sqrt(nrm), 1.0)
        for r in range(n):
            D[j, r] = u[r] / nrm


@njit(cache=True, fastmath=True)
def online_stats(codes, X, D, A, B, beta, inv_eta):  # pragma: no cover - jitted
    """Sufficient statistics of a mini-batch with sparse codes, in place on A and B.

    ``A <- beta A + codes^T codes / eta``, ``B <- beta B + codes^T X / eta``
    touching only the non-zeros of each code (O(eta (T0^2 + T0 n)) instead of
    dense products), and returns ``||X - codes D||_F^2`` computed the same way.
    """
    N, K = codes.shape
    n = X.shape[1]
    for a in range(K):
        for b in range(K):
            A[a, b] *= beta
        for r in range(n):
            B[a, r] *= beta
    idx = np.empty(K, dtype=np.int64)
    res = np.empty(n)
    ss = 0.0
    for i in range(N):
        m = 0
        for k in range(K):
            if codes[i, k] != 0.0:
                idx[m] = k
                m += 1
        for r in range(n):
            res[r] = X[i, r]
        for p in range(m):
            kp = idx[p]
            cp = codes[i, kp]
            for q in range(m):
                A[kp, idx[q]] += cp * codes[i, idx[q]] * inv_eta
            for r in range(n):
                B[kp, r] += cp * X[i, r] * inv_eta
                res[r] -= cp * D[kp, r]
        for r in range(n):
            ss += res[r] * res[r]
    return ss


@njit(cache=True, parallel=True, fastmath=True)
def sparse_residual(C, X, D, R):  # pragma: no cover - jitted
    """``R = X - C @ D`` for sparse rows of C (mutates R), O(N T0 n) instead of O(N K n)."""
    N, K = C.shape
    n = X.shape[1]
    for i in prange(N):
        for r in range(n):
            R[i, r] = X[i, r]
        for k in range(K):
            c = C[i, k]
            if c != 0.0:
                for r in range(n):
                    R[i, r] -= c * D[k, r]


@njit(cache=True, fastmath=True)
def online_stats_masked(codes, X, W, D, A, B, beta, inv_eta):  # pragma: no cover - jitted
    """Per-feature statistics with missing entries, in place on A (n, K, K) and B (K, n).

    ``A[r] <- beta A[r] + sum_i w_ir c_i c_i^T / eta``, ``B <- beta B + sum_i
    c_i (w_i * x_i)^T / eta``; returns ``||W * (X - codes D)||_F^2``.
    """
    N, K = codes.shape
    n = X.shape[1]
    for r in range(n):
        for a in range(K):
            for b in range(K):
                A[r, a, b] *= beta
    for a in range(K):
        for r in range(n):
            B[a, r] *= beta
    idx = np.empty(K, dtype=np.int64)
    ss = 0.0
    for i in range(N):
        m = 0
        for k in range(K):
            if codes[i, k] != 0.0:
                idx[m] = k
                m += 1
        for r in range(n):
            w = W[i, r]
            if w == 0.0:
                continue
            res = X[i, r]
            for p in range(m):
                kp = idx[p]
                cp = codes[i, kp]
                res -= cp * D[kp, r]
                B[kp, r] += cp * X[i, r] * inv_eta
                for q in range(m):
                    A[r, kp, idx[q]] += cp * codes[i, idx[q]] * inv_eta
            ss += res * res
    return ss


@njit(cache=True, fastmath=True)
def bcd_update_masked(D, A, B, free, ridge):  # pragma: no cover - jitted
    """Exact block minimisation of each atom with per-feature curvatures (mutates D).

    For atom j the objective is separable over features,
    ``sum_r a_r d_r^2 / 2 - g_r d_r`` with ``a_r = A[r, j, j]`` and
    ``g_r = B[j, r] - sum_{k != j} A[r, j, k] D[k, r]``, under ``|d| <= 1``:
    ``d_r = g_r / (a_r + mu)`` with the smallest ``mu >= 0`` giving
    ``|d| <= 1`` (bisection on the monotone secular equation).  Without
    missing entries all ``a_r`` are equal and this is Mairal et al.'s update.
    Features with ``a_r <= ridge`` (never observed with the atom) keep their
    value.
    """
    n, K, _ = A.shape
    g = np.empty(n)
    a = np.empty(n)
    for j in range(K):
        if not free[j]:
            continue
        amax = 0.0
        for r in range(n):
            a[r] = A[r, j, j]
            amax = max(amax, a[r])
        if amax <= ridge:
            continue
        for r in range(n):
            s = B[j, r]
            for k in range(K):
                if k != j:
                    s -= A[r, j, k] * D[k, r]
            g[r] = s
        # norm of the features that are fitted, plus those kept
        kept = 0.0
        gn = 0.0
        amin = np.inf
        for r in range(n):
            if a[r] <= ridge:
                kept += D[j, r] * D[j, r]
            else:
                gn += g[r] * g[r]
                amin = min(amin, a[r])
        budget = max(1.0 - kept, 0.0)

        def norm2(mu):
            s = 0.0
            for r in range(n):
                if a[r] > ridge:
                    v = g[r] / (a[r] + mu)
                    s += v * v
            return s

        mu = 0.0
        if norm2(0.0) > budget:
            lo, hi = 0.0, np.sqrt(gn / max(budget, 1e-300)) + 1.0
            for _ in range(100):
                mid = 0.5 * (lo + hi)
                if norm2(mid) > budget:
                    lo = mid
                else:
                    hi = mid
            mu = hi
        for r in range(n):
            if a[r] > ridge:
                D[j, r] = g[r] / (a[r] + mu)


@njit(cache=True)
def code_users(idx, val, nnz, K):  # pragma: no cover - jitted
    """Users of each atom in the sparse codes ``(idx, val, nnz)`` (CSC lists).

    Row i of the codes holds ``val[i, s]`` at atom ``idx[i, s]`` for
    ``s < nnz[i]``; zero values are not users.  Returns ``counts`` (K,),
    ``ptr`` (K + 1,) and, for the users of atom k at ``ptr[k]:ptr[k + 1]``,
    their signal ``rows`` and ``slots`` (position in the code row).
    """
    N = idx.shape[0]
    counts = np.zeros(K, dtype=np.int64)
    for i in range(N):
        for s in range(nnz[i]):
            if val[i, s] != 0.0:
                counts[idx[i, s]] += 1
    ptr = np.zeros(K + 1, dtype=np.int64)
    for k in range(K):
        ptr[k + 1] = ptr[k] + counts[k]
    rows = np.empty(ptr[K], dtype=np.int64)
    slots = np.empty(ptr[K], dtype=np.int64)
    fill = ptr[:K].copy()
    for i in range(N):
        for s in range(nnz[i]):
            if val[i, s] != 0.0:
                k = idx[i, s]
                rows[fill[k]] = i
                slots[fill[k]] = s
                fill[k] += 1
    return counts, ptr, rows, slots


# reassociation (SIMD reductions) without assuming finite values
_FAST = {"reassoc", "contract", "nsz", "arcp"}


@njit(cache=True, fastmath=_FAST)
def ksvd_sweep_codes(R, idx, val, nnz, D, free, n_inner):  # pragma: no cover - jitted
    """Approximate K-SVD sweep on sparse codes, in place on ``R``, ``val`` and ``D``.

    The unmasked twin of :func:`ksvd_sweep` for codes stored by row as
    ``(idx, val, nnz)`` (the Batch-OMP output): nothing of size
    ``n_samples x n_atoms`` is read.  For atom k with users omega and codes
    g_old, the error without the atom is ``E = R[omega] + outer(g_old, d_k)``
    and each of the ``n_inner`` alternating steps is

    * ``d = E^T g / |E^T g|`` computed as ``R[omega]^T g + (g_old . g) d_k``,
    * ``g = E d`` computed as ``R[omega] d + g_old <d_k, d>``,

    so E is never formed: two passes over ``R[omega]`` per step, the last
    g-step updating each row of R as soon as its g is known.  Each step minimises ``|E - outer(g, d)|_F`` over d (unit norm)
    then over g, so the error never increases.  Atoms are visited in order;
    later atoms see the updated residual.  Returns the users of each atom
    before the sweep.
    """
    N, n = R.shape
    K = D.shape[0]
    counts, ptr, rows, slots = code_users(idx, val, nnz, K)
    mmax = 0
    for k in range(K):
        mmax = max(mmax, counts[k])
    g_old = np.empty(mmax)
    g = np.empty(mmax)
    d_old = np.empty(n)
    d = np.empty(n)
    num = np.empty(n)
    for k in range(K):
        m = counts[k]
        if m == 0 or not free[k]:
            continue
        p0 = ptr[k]
        for a in range(m):
            g_old[a] = val[rows[p0 + a], slots[p0 + a]]
            g[a] = g_old[a]
        for r in range(n):
            d_old[r] = D[k, r]
        ok = False
        applied = False
        for step in range(n_inner):
            gg = 0.0
            for a in range(m):
                gg += g_old[a] * g[a]
            for r in range(n):
                num[r] = gg * d_old[r]
            for a in range(m):
                i = rows[p0 + a]
                ga = g[a]
                for r in range(n):
                    num[r] += ga * R[i, r]
            nrm = 0.0
            for r in range(n):
                nrm += num[r] * num[r]
            nrm = np.sqrt(nrm)
            if nrm == 0.0 or not np.isfinite(nrm):
                break
            c = 0.0
            for r in range(n):
                d[r] = num[r] / nrm
                c += d_old[r] * d[r]
            ok = True
            last = step == n_inner - 1
            for a in range(m):
                i = rows[p0 + a]
                s = 0.0
                for r in range(n):
                    s += R[i, r] * d[r]
                ga = s + g_old[a] * c
                g[a] = ga
                if last:  # the row's update needs only its own g: same pass
                    go = g_old[a]
                    for r in range(n):
                        R[i, r] += go * d_old[r] - ga * d[r]
                    val[i, slots[p0 + a]] = ga
            applied = last
        if not ok:
            continue
        if not applied:  # a later step broke off: apply the last completed one
            for a in range(m):
                i = rows[p0 + a]
                go = g_old[a]
                ga = g[a]
                for r in range(n):
                    R[i, r] += go * d_old[r] - ga * d[r]
                val[i, slots[p0 + a]] = ga
        for r in range(n):
            D[k, r] = d[r]
    return counts


@njit(cache=True, parallel=True, fastmath=_FAST)
def codes_residual(idx, val, nnz, X, D, R, rn2):  # pragma: no cover - jitted
    """``R = X - codes @ D`` for row-stored sparse codes, and ``rn2[i] = |R[i]|^2``."""
    N, n = X.shape
    for i in prange(N):
        for r in range(n):
            R[i, r] = X[i, r]
        for s in range(nnz[i]):
            c = val[i, s]
            if c != 0.0:
                k = idx[i, s]
                for r in range(n):
                    R[i, r] -= c * D[k, r]
        q = 0.0
        for r in range(n):
            q += R[i, r] * R[i, r]
        rn2[i] = q
