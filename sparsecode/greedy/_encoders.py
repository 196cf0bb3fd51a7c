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
    from ._omp import _default_k, _summarise_status, _work_dtype

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
    DwH = Dw.T.conj() if np.iscomplexobj(Dw) else Dw.T
    G = np.ascontiguousarray(DwH.T @ DwH if gram is None else gram, dtype=wdt)
    dinv = 1.0 / np.real(np.diag(G)).astype(np.float64)
    out = np.zeros((n_samples, n_atoms), dtype=np.result_type(X.dtype, D.dtype))
    status = np.zeros(n_samples, dtype=np.intc)
    resid = np.zeros(n_samples)
    eps_all = None if tol is None else np.full(n_samples, float(tol))
    # Threads only pay off on enough signals; BLAS (the per-chunk GEMM) gets
    # the same number of threads as the kernel, so the two never compete.
    n_threads = min(effective_n_jobs(n_jobs), max(n_samples // 64, 1))
    # Chunks of a few MB: the correlations of a chunk stay in cache between
    # the GEMM that makes them and the kernel that reads them, and the work
    # memory stays bounded for any number of signals.
    size = max(256 * n_threads, (4 << 20) // (16 * max(n_atoms, 1)))
    with blas_limited(n_threads):
        _encode_chunks(X, DwH, G, dinv, out, status, resid, eps_all, kmax, positive,
                       n_threads, size, verbose)
    _summarise_status(status, resid, eps_all, "OMP")
    return out


def _encode_chunks(X, DwH, G, dinv, out, status, resid, eps_all, kmax, positive, n_threads,
                   size, verbose):
    from ._omp import _gram_pursuit

    n_samples = X.shape[0]
    wdt = G.dtype
    n_chunks = -(-n_samples // size)
    for i, sl in enumerate(iter_chunks(n_samples, size)):
        Xc = X[sl].astype(wdt, copy=False)
        AtY = Xc @ DwH  # rows: A^H y for each signal (one GEMM per chunk)
        ynorm2 = np.einsum("ij,ij->i", Xc, Xc.conj()).real if np.iscomplexobj(Xc) \
            else np.einsum("ij,ij->i", Xc, Xc)
        _, _, resid[sl], status[sl] = _gram_pursuit(
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
