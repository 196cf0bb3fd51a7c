"""Naive single-target reference implementations, written from the papers'
pseudo-code (spec 4.2, 4.5) with no batching, no warm starts and no shared
code with the library.  The tests require the library's batched solvers to
produce the same iterates.

NST+HT+FB uses the *literal* feedback formula
``u_T = x~_T + (A_T^T A_T)^{-1} A_T^T A_{T^c} x~_{T^c}`` (Li, Liu & Mi), not
the least-squares identity the library relies on, so agreement checks that
identity too.
"""

import numpy as np


def top(v, s):
    # s largest |v|, ties to the lowest index (stable sort on -|v|)
    return np.sort(np.argsort(-np.abs(v), kind="stable")[:s])


def ls(A, y, T):
    z = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    z[T] = np.linalg.lstsq(A[:, T], y, rcond=None)[0]
    return z


def nst_ht_fb(A, y, s, n_iter):
    Ap = A.conj().T @ np.linalg.inv(A @ A.conj().T)
    u = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    for _ in range(n_iter):
        xt = u + Ap @ (y - A @ u)
        T = top(xt, s)
        Tc = np.setdiff1d(np.arange(A.shape[1]), T)
        AT = A[:, T]
        u = np.zeros_like(u)
        u[T] = xt[T] + np.linalg.solve(AT.conj().T @ AT, AT.conj().T @ (A[:, Tc] @ xt[Tc]))
    return u


def htp(A, y, s, n_iter, mu=1.0):
    x = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    for _ in range(n_iter):
        T = top(x + mu * A.conj().T @ (y - A @ x), s)
        x = ls(A, y, T)
    return x


def iht(A, y, s, n_iter, mu):
    x = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    for _ in range(n_iter):
        v = x + mu * A.conj().T @ (y - A @ x)
        x = np.zeros_like(x)
        T = top(v, s)
        x[T] = v[T]
    return x


def niht(A, y, s, n_iter, c=0.01):
    # Blumensath & Davies (2010), halving as in sparsify's hard_l0_Mterm.m
    x = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    for _ in range(n_iter):
        g = A.conj().T @ (y - A @ x)
        G = np.flatnonzero(x) if np.any(x) else top(g, s)
        gG = np.zeros_like(g)
        gG[G] = g[G]
        mu = np.linalg.norm(gG) ** 2 / np.linalg.norm(A @ gG) ** 2
        while True:
            v = x + mu * g
            T = top(v, s)
            xn = np.zeros_like(x)
            xn[T] = v[T]
            if set(T) == set(G):
                break
            d = xn - x
            omega = (1 - c) * np.linalg.norm(d) ** 2 / np.linalg.norm(A @ d) ** 2
            if mu <= omega:
                break
            mu /= 2.0
        x = xn
    return x


def cosamp(A, y, s, n_iter):
    x = np.zeros(A.shape[1], dtype=np.result_type(A, y))
    r = y.copy()
    for _ in range(n_iter):
        T = np.union1d(top(A.conj().T @ r, 2 * s), np.flatnonzero(x))
        b = ls(A, y, T)
        xn = np.zeros_like(x)
        keep = top(b, s)
        xn[keep] = b[keep]
        rn = y - A @ xn
        if np.linalg.norm(rn) >= np.linalg.norm(r):
            break
        x, r = xn, rn
    return x


def subspace_pursuit(A, y, s, n_iter):
    T = top(A.conj().T @ y, s)
    x = ls(A, y, T)
    r = y - A @ x
    for _ in range(n_iter):
        Tp = np.union1d(T, top(A.conj().T @ r, s))
        b = ls(A, y, Tp)
        Tn = top(b, s)
        xn = ls(A, y, Tn)
        rn = y - A @ xn
        if np.linalg.norm(rn) >= np.linalg.norm(r):
            break
        x, r, T = xn, rn, Tn
    return x
