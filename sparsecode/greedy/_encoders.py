"""Greedy encoders registered in :func:`sparsecode.sparse_encode`: ``"omp"`` and ``"mp"``."""

import numpy as np

from .._parallel import blas_limited, effective_n_jobs, iter_chunks
from .._registry import register_encoder

@register_encoder(
    "omp",
    description="Batch Orthogonal Matching Pursuit (Cython, OpenMP over signals)",
    params=("n_nonzero_coefs", "tol", "positive", "gram", "verbose", "complex"),
)
def _encode_omp(X, D, *, n_nonzero_coefs=None, tol=None, positive=False, gram=None,
                n_jobs=None, verbose=0):
    from ._omp import (
        _SAFE_EXP,
        _default_k,
        _pow2_scale,
        _rescale_rows,
        _summarise_status,
        _user_k_reached,
        _work_dtype,
    )

    n_samples, n_features = X.shape
    n_atoms = D.shape[0]
    k = _default_k(n_nonzero_coefs, tol, n_atoms)
    if k is not None and k > min(n_features, n_atoms):
        raise ValueError(
            f"n_nonzero_coefs={k} is larger than min(n_features, n_atoms) = "
            f"{min(n_features, n_atoms)}."
        )
    kmax = min(n_features, n_atoms) if k is None else int(k)
    wdt = _work_dtype(np.result_type(X.dtype, D.dtype))
    Dw = D.astype(wdt, copy=False)
    # Exact power-of-two rescaling of the dictionary (the signals are
    # rescaled row by row below): the kernels square correlations, which
    # over/underflow for data beyond ~1e+-77.  A user Gram is rescaled alike.
    if gram is None:
        s_D = _pow2_scale(Dw)
    else:
        e_G = int(np.frexp(np.max(np.real(np.diag(np.asarray(gram)))))[1]) - 1
        e_G -= e_G % 2
        s_D = float(np.ldexp(1.0, e_G // 2)) if abs(e_G) > 2 * _SAFE_EXP else 1.0
    if s_D != 1.0:
        Dw = Dw / s_D
    # Row i of X @ DwH is (A^H x_i)^T with A = D^T: DwH = conj(D^T) = conj(A).
    DwH = Dw.T.conj() if np.iscomplexobj(Dw) else Dw.T
    # Threads only pay off on enough signals.
    n_threads = min(effective_n_jobs(n_jobs), max(n_samples // 64, 1))
    if gram is None:
        G = _gram(Dw, DwH, n_threads)  # A^H A
    else:
        G = np.asarray(gram, dtype=wdt)  # no copy of a float64 Gram (it may be GiBs)
        if s_D != 1.0:
            G = G / (s_D * s_D)
    G = np.ascontiguousarray(G, dtype=wdt)
    dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    s_x = np.ones(n_samples)
    for sl in iter_chunks(n_samples, 1 << 16):  # bounded temporaries for huge X
        s_x[sl] = _row_scales(np.asarray(X[sl]), _pow2_scale)
    scaled = s_D != 1.0 or bool(np.any(s_x != 1.0))
    out = np.zeros((n_samples, n_atoms), dtype=np.result_type(X.dtype, D.dtype))
    status = np.zeros(n_samples, dtype=np.intc)
    resid = np.zeros(n_samples)
    eps_all = None if tol is None else np.full(n_samples, float(tol)) / s_x / s_x
    nnz = np.zeros(n_samples, dtype=np.intc)
    if positive:
        # Chunks of a few MB keep the correlations of a chunk in cache between
        # the GEMM that makes them and the kernel that reads them.
        size = max(256 * n_threads, (4 << 20) // (16 * max(n_atoms, 1)))
        with blas_limited(n_threads):
            _encode_chunks(X, DwH, G, dinv, out, status, resid, eps_all, kmax, positive,
                           n_threads, size, verbose, s_x, nnz)
    else:
        _encode_fused(X, DwH, G, dinv, out, status, resid, eps_all, kmax, n_threads, verbose,
                      s_x, nnz)
        bad = np.flatnonzero(status == 2)
        if bad.size:
            # "dependence" may be ill-conditioning the Cholesky update cannot
            # resolve: redo those signals by explicit orthogonalisation
            from ._omp import _redo_dependent

            Yb = (np.asarray(X[bad]).astype(wdt) / s_x[bad, None]).T
            sub = (out[bad], nnz[bad], resid[bad], status[bad])
            _redo_dependent(Dw.T, Yb, dinv, kmax, None if eps_all is None else eps_all[bad],
                            *sub)
            out[bad], nnz[bad], resid[bad], status[bad] = sub
    if scaled:
        out = _rescale_rows(out, s_x, s_D)
        resid = resid * s_x * s_x
    eps_user = None if tol is None else np.full(n_samples, float(tol))
    status = _user_k_reached(status, nnz, kmax, n_nonzero_coefs, eps_user)
    _summarise_status(status, resid, eps_user, "OMP")
    return out


def _row_scales(Xc, pow2_scale):
    """``pow2_scale(Xc, axis=1)`` (the rows' power-of-two factors), one pass in the common case.

    The factor of a row is 1 when its largest entry lies in [2^-64, 2^65);
    ``max|x_ij|`` lies in ``[||x_i|| / sqrt(m), ||x_i||]``, so squared row
    norms in ``[m 2^-128, 2^130)`` settle every row at once (one product, no
    temporary of X's size).  Other data (zero, tiny or huge rows, complex
    or non-finite entries) get the exact rule.
    """
    if Xc.dtype.kind == "f" and Xc.ndim == 2 and Xc.shape[0] and Xc.shape[1]:
        n2 = np.einsum("ij,ij->i", Xc, Xc)
        if float(n2.max()) < 2.0**130 and float(n2.min()) >= Xc.shape[1] * 2.0**-128:
            return np.ones(Xc.shape[0])
    return pow2_scale(Xc, axis=1)


_GRAM_TILE = 256


def _gram(Dw, DwH, n_threads):
    """``A^H A`` (A = DwH) with one-thread BLAS calls inside OpenMP threads.

    Real C-ordered dictionaries: tiles of the lower triangle shared out over
    the threads (``gram_real``), each a one-thread BLAS call; a threaded BLAS
    call would leave its worker threads spinning beside the pursuit's OpenMP
    threads.
    """
    if Dw.dtype == np.float64 and Dw.flags.c_contiguous and Dw.shape[0] > 0:
        from ._omp import _kernels

        N = Dw.shape[0]
        G = np.empty((N, N))
        with blas_limited(1):
            # tiles of a size fixed by N alone: the same G for any n_threads
            _kernels().gram_real(Dw, G, n_threads, _GRAM_TILE)
        return G
    # complex or non-contiguous dictionaries: one (threaded) BLAS product
    return DwH.T @ DwH.conj() if np.iscomplexobj(Dw) else DwH.T @ DwH


def _corr_block(dh_shape, n_signals):
    """Signals per block of the fused encoder (one GEMM for their correlations).

    Each GEMM call repacks the dictionary (m x N), so blocks grow with it:
    32 signals per 16,384 dictionary entries (32 for 64 x 256, 512 for
    256 x 1024), at most 512, at most 8 MiB of correlations per thread, and
    at least eight blocks for the dynamic schedule.  Independent of
    ``n_threads``: the GEMM's rounding may depend on the block, the codes
    must not depend on the threads.
    """
    m, N = dh_shape
    block = min(512, max(32, 32 * (m * N) // 16384), (8 << 20) // (8 * max(N, 1)))
    return int(max(16, min(block, -(-n_signals // 8))))


def _encode_fused(X, DwH, G, dinv, out, status, resid, eps_all, kmax, n_threads, verbose,
                  s_x, nnz_all):
    """Correlations + Batch-OMP in one compiled parallel region per chunk.

    The chunks only bound the memory of the working-precision copy of ``X``
    (and of the sparse outputs) for huge batches; inside a chunk each thread
    forms the correlations of a small block of signals with a one-thread
    GEMM and runs the pursuit on them while they are in cache.
    """
    from ._omp import _DEP_TOL, _kernels

    n_samples, n_atoms = out.shape
    wdt = G.dtype
    DH = np.ascontiguousarray(DwH, dtype=wdt)
    direct = out.dtype == wdt
    big = max(4096, (64 << 20) // (16 * max(X.shape[1] + n_atoms, 1)))
    n_chunks = -(-n_samples // big)
    with blas_limited(1):  # BLAS runs inside the OpenMP threads
        for i, sl in enumerate(iter_chunks(n_samples, big)):
            Xc = np.ascontiguousarray(X[sl], dtype=wdt)
            if np.any(s_x[sl] != 1.0):
                Xc = Xc / s_x[sl, None]
            L = Xc.shape[0]
            idx = np.empty((L, max(kmax, 1)), dtype=np.intc)
            val = np.empty((L, max(kmax, 1)), dtype=wdt)
            nnz = nnz_all[sl]
            eps = np.zeros(L) if eps_all is None else np.ascontiguousarray(eps_all[sl])
            dense = out[sl] if direct else np.zeros((1, 1), dtype=wdt)
            _kernels().batch_omp_encode(Xc, DH, G, dinv, eps, kmax, eps_all is not None,
                                        _DEP_TOL, n_threads, _corr_block(DH.shape, L),
                                        idx, val, nnz, resid[sl], status[sl], dense, direct)
            if not direct:
                keep = np.arange(idx.shape[1])[None, :] < nnz[:, None]
                out[sl][np.repeat(np.arange(L), nnz), idx[keep]] = val[keep]
            if verbose and (i + 1) % max(n_chunks // 10, 1) == 0:
                print(f"[sparse_encode omp] {sl.stop}/{n_samples} signals", flush=True)


def _encode_chunks(X, DwH, G, dinv, out, status, resid, eps_all, kmax, positive, n_threads,
                   size, verbose, s_x, nnz_all):
    from ._omp import _gram_pursuit

    n_samples = X.shape[0]
    wdt = G.dtype
    n_chunks = -(-n_samples // size)
    for i, sl in enumerate(iter_chunks(n_samples, size)):
        Xc = X[sl].astype(wdt, copy=False)
        if np.any(s_x[sl] != 1.0):
            Xc = Xc / s_x[sl, None]
        AtY = Xc @ DwH  # rows: A^H y for each signal (one GEMM per chunk)
        ynorm2 = np.einsum("ij,ij->i", Xc, Xc.conj()).real if np.iscomplexobj(Xc) \
            else np.einsum("ij,ij->i", Xc, Xc)
        _, nnz_all[sl], resid[sl], status[sl] = _gram_pursuit(
            G, AtY, ynorm2, kmax=kmax, eps=None if eps_all is None else eps_all[sl],
            positive=positive, n_threads=n_threads, out=out[sl], dinv=dinv)
        if verbose and (i + 1) % max(n_chunks // 10, 1) == 0:
            print(f"[sparse_encode omp] {sl.stop}/{n_samples} signals", flush=True)


@register_encoder(
    "mp",
    description="Matching Pursuit (Gram updates, OpenMP over signals)",
    params=("n_nonzero_coefs", "tol", "max_iter", "complex"),
)
def _encode_mp(X, D, *, n_nonzero_coefs=None, tol=None, max_iter=None, n_jobs=None):
    from ._mp import matching_pursuit

    res = matching_pursuit(D.T, X.T, n_nonzero_coefs=n_nonzero_coefs, tol=tol,
                           max_iter=max_iter, n_jobs=n_jobs)
    return res.coef.T
