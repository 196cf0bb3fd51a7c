"""Non-negative OMP kernel (Numba), the ``positive=True`` branch of OMP.

Bruckstein, Elad & Zibulevsky (2008), "On the uniqueness of nonnegative
sparse solutions to underdetermined systems of equations", IEEE TIT: select
the atom of largest *positive* normalised correlation, then solve a
non-negative least-squares problem on the support (Lawson-Hanson active set
on the small Gram system ``G[S, S] z = A_S^T y``), dropping atoms whose
coefficient falls to zero.  One signal per ``prange`` iteration.
"""

import numpy as np
from numba import njit, prange

from .._parallel import blas_limited


@njit(cache=True, nogil=True)
def _nnls_gram(Q, b, tol):
    # Lawson-Hanson on min 1/2 z^T Q z - b^T z, z >= 0 (Q SPD, small).
    k = b.shape[0]
    x = np.zeros(k)
    passive = np.zeros(k, dtype=np.bool_)
    for _outer in range(3 * k + 3):
        w = b - Q @ x
        best = tol
        t = -1
        for i in range(k):
            if not passive[i] and w[i] > best:
                best = w[i]
                t = i
        if t < 0:
            break
        passive[t] = True
        for _inner in range(3 * k + 3):
            idx = np.flatnonzero(passive)
            s = np.zeros(k)
            if idx.size > 0:
                s[idx] = np.linalg.solve(Q[idx][:, idx], b[idx])
            if idx.size == 0 or np.all(s[idx] > 0):
                x = s
                break
            step = 1.0
            for i in idx:
                if s[i] <= 0:
                    r = x[i] / (x[i] - s[i])
                    if r < step:
                        step = r
            x = x + step * (s - x)
            for i in range(k):
                if passive[i] and x[i] <= tol:
                    passive[i] = False
                    x[i] = 0.0
    return x


@njit(cache=True, parallel=True)
def nnomp_gram(G, Aty, dinv, ynorm2, eps, kmax, error_mode, coef_out, nnz_out,
               resid_out, status_out):
    """Non-negative Batch-OMP over the rows of ``Aty`` (writes dense ``coef_out``)."""
    L, N = Aty.shape
    for i in prange(L):
        alpha0 = Aty[i]
        alpha = alpha0.copy()
        sel = np.empty(kmax, dtype=np.int64)
        n = 0
        z = np.zeros(0)
        E = ynorm2[i]
        status = 0
        y_ref = ynorm2[i]
        it = 0
        while n < kmax and it < 2 * kmax + 2:
            it += 1
            if error_mode and E <= eps[i]:
                break
            j = -1
            # relative threshold: ||y|| when known (ynorm2 > 0), otherwise the
            # norm of what is already explained (batch_omp without norms_squared)
            best = 1e-14 * np.sqrt(y_ref)
            for k in range(N):
                if alpha[k] > 0:
                    v = alpha[k] * np.sqrt(dinv[k])
                    if v > best:
                        in_s = False
                        for t in range(n):
                            if sel[t] == k:
                                in_s = True
                        if not in_s:
                            best = v
                            j = k
            if j < 0:
                status = 1
                break
            sel[n] = j
            n += 1
            S = sel[:n]
            Q = np.empty((n, n))
            for a in range(n):
                for b in range(n):
                    Q[a, b] = G[S[a], S[b]]
            z = _nnls_gram(Q, alpha0[S], 1e-12 * np.sqrt(max(y_ref, best * best)))
            # keep the atoms with a positive coefficient
            m = 0
            for t in range(n):
                if z[t] > 0:
                    sel[m] = sel[t]
                    z[m] = z[t]
                    m += 1
            n = m
            z = z[:n].copy()
            alpha[:] = alpha0
            proj = 0.0
            for t in range(n):
                alpha -= z[t] * G[:, sel[t]]
                proj += z[t] * alpha0[sel[t]]
            # ||r||^2 = ||y||^2 - 2 z^T A_S^T y + z^T G_SS z ; at the NNLS optimum on
            # the passive set z^T G z = z^T A_S^T y, so ||r||^2 = ||y||^2 - z^T alpha0_S.
            E = max(ynorm2[i] - proj, 0.0)
            if proj > y_ref:
                y_ref = proj
        if error_mode and E > eps[i] and status == 0:
            status = 3
        for t in range(n):
            coef_out[i, sel[t]] = z[t]
        nnz_out[i] = n
        resid_out[i] = E
        status_out[i] = status


def run_nnomp_gram(n_threads, *args):
    """:func:`nnomp_gram` on ``n_threads`` Numba threads with BLAS capped at one.

    The kernel solves small systems with LAPACK inside ``prange``: without the
    cap each of the ``n_threads`` threads would start a multithreaded BLAS.
    """
    import numba

    n = max(1, min(int(n_threads), numba.config.NUMBA_NUM_THREADS))
    old = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        with blas_limited(1):
            nnomp_gram(*args)
    finally:
        numba.set_num_threads(old)
