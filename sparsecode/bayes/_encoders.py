"""Sparse Bayesian learning encoders for ``sparse_encode`` / ``SparseCoder``.

Registered names: "sbl" (EM-SBL, batched over signals: stacked Cholesky
factorisations, no Python loop per signal) and "ggamp_sbl" (GGAMP-SBL, all
signals share the GAMP matrix products).  Both take the dictionary with
atoms as rows and return codes of shape (n_samples, n_atoms).
"""

import numpy as np

from .._parallel import blas_limited, chunk_size, effective_n_jobs, iter_chunks
from .._registry import register_encoder
from .._validation import validate_params
from ._common import SBL_CONSTRAINTS


@register_encoder(
    "sbl",
    description="EM sparse Bayesian learning (posterior mean; hyperparameters per signal)",
    params=("tol", "max_iter", "verbose", "noise_variance", "learn_noise", "update", "prune",
            "complex"),
)
def _encode_sbl(X, D, *, tol=1e-6, max_iter=1000, verbose=0, noise_variance=None,
                learn_noise="auto", update="em", prune="auto", n_jobs=None):
    from ._sbl import _run_em

    validate_params(dict(noise_variance=noise_variance, learn_noise=learn_noise, update=update,
                         prune=prune), SBL_CONSTRAINTS, "sparse_encode(algorithm='sbl')")
    n_samples, n_features = X.shape
    n_atoms = D.shape[0]
    # a chunk's stacked E-step matrices (m x m, m x K, K x K per signal) stay bounded
    size = chunk_size(n_samples, 16 * (n_features ** 2 + 2 * n_features * n_atoms + n_atoms ** 2))
    out = np.empty((n_samples, n_atoms), dtype=np.result_type(X.dtype, D.dtype, np.float64))
    with blas_limited(effective_n_jobs(n_jobs)):
        for sl in iter_chunks(n_samples, size):
            res = _run_em(D.T, X[sl].T, shared=False, noise_variance=noise_variance,
                          learn_noise=learn_noise, update=update, prune=prune,
                          max_iter=max_iter, tol=tol, verbose=verbose,
                          name="sparse_encode(algorithm='sbl')")
            out[sl] = res["mu"][:, :, 0]
    return out


@register_encoder(
    "ggamp_sbl",
    description="GGAMP-SBL: SBL with a damped GAMP E-step, O(n_atoms n_features) per iteration",
    params=("tol", "max_iter", "verbose", "noise_variance", "learn_noise", "update", "damping",
            "prune", "max_gamp_iter", "gamp_tol", "complex"),
)
def _encode_ggamp_sbl(X, D, *, tol=1e-6, max_iter=2000, verbose=0, noise_variance=None,
                      learn_noise="auto", update="em", damping="auto", prune="auto",
                      max_gamp_iter=1000, gamp_tol=1e-6, n_jobs=None):
    from ._gamp import ggamp_sbl

    with blas_limited(effective_n_jobs(n_jobs)):
        res = ggamp_sbl(D.T, X.T, noise_variance=noise_variance, learn_noise=learn_noise,
                        update=update, damping=damping, prune=prune, max_iter=max_iter, tol=tol,
                        max_gamp_iter=max_gamp_iter, gamp_tol=gamp_tol, verbose=verbose)
    coef = res.coef
    return (coef[:, None] if coef.ndim == 1 else coef).T
