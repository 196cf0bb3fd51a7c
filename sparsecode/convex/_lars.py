"""Lasso coding by a batched LARS-homotopy over the Gram matrix.

Each signal's Lasso path is followed from the penalty at which the first
atom enters down to ``alpha`` (Efron et al. 2004, with the Lasso
modification), in a compiled kernel (``sparsecode._ext._lars``): the
Cholesky factor of the active Gram block is updated and downdated as atoms
join and leave, the last piece of the path is cut exactly at ``alpha``, and
the coefficients are refitted on the final support from the normal
equations.  Signals run in parallel (OpenMP, one signal per thread), after
one GEMM for all the correlations.  The cost per signal is
``O(K s^2 + s^3)`` for ``s`` path steps over ``K`` atoms, with no
tolerance: the result is the exact minimiser up to rounding.
"""

import warnings

import numpy as np

from .._base import ConvergenceWarning
from .._parallel import blas_limited, effective_n_jobs
from .._validation import check_matrix

__all__ = ["lasso_lars_gram"]


def lasso_lars_gram(X, dictionary, alpha, *, positive=False, gram=None, max_nonzeros=None,
                    n_jobs=None):
    r"""Lasso codes by the LARS homotopy on the Gram matrix, one path per signal.

    For each row ``x`` of ``X`` returns

    .. math:: \arg\min_c \tfrac12 \|x - D^T c\|_2^2 + \alpha \|c\|_1
              \quad (c \ge 0 \text{ when } positive),

    the objective of ``sparse_encode(..., algorithm="lasso")`` (unnormalised:
    scikit-learn's ``lasso_lars`` encoder divides its ``alpha`` by
    ``n_features``; this one does not).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Signals, one per row.
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows (any norms; atoms in the span of others are skipped
        with a warning).
    alpha : float
        Penalty, ``>= 0``.
    positive : bool, default=False
        Non-negative codes.
    gram : array-like of shape (n_atoms, n_atoms), default=None
        Precomputed ``dictionary @ dictionary.T`` (trusted as given).
    max_nonzeros : int, default=None
        Largest active set (``min(n_features, n_atoms)`` when None).  A
        signal whose path needs more atoms before reaching ``alpha`` stops
        where the ``max_nonzeros + 1``-th atom would join: its code is the
        Lasso solution at that larger penalty, and a
        :class:`~sklearn.exceptions.ConvergenceWarning` says how many signals
        stopped there.
    n_jobs : int, default=None
        Threads (signals run in parallel); None means 1, -1 all cores.

    Returns
    -------
    codes : ndarray of shape (n_samples, n_atoms)
        float32 when ``X`` and ``dictionary`` are float32, else float64.

    Notes
    -----
    At the solution the correlations ``c = D (x - D^T code)`` satisfy
    ``|c_j| <= alpha`` for every atom, with ``c_j = alpha \operatorname{sign}
    (code_j)`` on the support (``c_j \le alpha`` and ``c_j = alpha`` on the
    support when positive), to rounding.  Steps of the path are capped at
    ``8 max_nonzeros + 16`` per signal; a signal that needs more (rare: each
    step adds or removes one atom) keeps the point reached and a
    :class:`~sklearn.exceptions.ConvergenceWarning` says how many.

    References
    ----------
    .. [1] B. Efron, T. Hastie, I. Johnstone and R. Tibshirani, "Least angle
       regression", Ann. Statist. 32(2), 2004.
    .. [2] J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online learning for
       matrix factorization and sparse coding", JMLR 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.convex import lasso_lars_gram
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((20, 8))
    >>> D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> X = rng.standard_normal((5, 8))
    >>> code = lasso_lars_gram(X, D, alpha=0.5)
    >>> corr = (X - code @ D) @ D.T
    >>> bool(np.all(np.abs(corr) <= 0.5 + 1e-10))
    True
    """
    X = check_matrix(X, "X")
    D = check_matrix(dictionary, "dictionary")
    if D.shape[1] != X.shape[1]:
        raise ValueError(
            f"dictionary has {D.shape[1]} features but X has {X.shape[1]}; the atoms are "
            "the rows of the dictionary (shape (n_atoms, n_features)).")
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.number)):
        raise TypeError(f"alpha must be a real number >= 0; got {alpha!r}.")
    alpha = float(alpha)
    if not np.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be a finite number >= 0; got {alpha!r}.")
    K, n = D.shape
    if max_nonzeros is None:
        kmax = min(n, K)
    else:
        if isinstance(max_nonzeros, (bool, np.bool_)) or not isinstance(
                max_nonzeros, (int, np.integer)):
            raise TypeError(f"max_nonzeros must be an int; got {max_nonzeros!r}.")
        kmax = int(max_nonzeros)
        if not 1 <= kmax <= K:
            raise ValueError(f"max_nonzeros must be in [1, n_atoms={K}]; got {kmax}.")
    dtype = np.float32 if (X.dtype == np.float32 and D.dtype == np.float32) else np.float64
    Dw = np.ascontiguousarray(D, dtype=dtype)
    Xw = np.ascontiguousarray(X, dtype=dtype)
    n_threads = effective_n_jobs(n_jobs)
    with blas_limited(n_threads):
        if gram is None:
            G = Dw @ Dw.T
        else:
            G = check_matrix(gram, "gram")
            if G.shape != (K, K):
                raise ValueError(
                    f"gram must have shape (n_atoms, n_atoms) = ({K}, {K}); got {G.shape}.")
            G = np.ascontiguousarray(G, dtype=dtype)
        cor = Xw @ Dw.T
    _warn_parallel_atoms(G)
    return _lars_codes(Xw, Dw, G, alpha, bool(positive), kmax, n_threads, cor=cor)


def _lars_codes(X, D, G, alpha, positive, kmax, n_threads, cor=None):
    """The kernel call behind :func:`lasso_lars_gram`, without validation.

    ``X`` (N, n), ``D`` (K, n), ``G`` (K, K) C-contiguous arrays of one float
    dtype; ``cor`` = ``X @ D.T`` when already formed.  For callers that code
    many mini-batches (the online learner).
    """
    from .._ext._lars import lars_gram

    if cor is None:
        with blas_limited(n_threads):
            cor = X @ D.T
    N, K = cor.shape
    out = np.zeros((N, K), dtype=G.dtype)
    nnz = np.zeros(N, dtype=np.intc)
    steps = np.zeros(N, dtype=np.intc)
    status = np.zeros(N, dtype=np.intc)
    max_steps = 8 * kmax + 16
    lars_gram(G, np.ascontiguousarray(cor), alpha, positive, kmax, max_steps, n_threads, out,
              nnz, steps, status)
    n_dep = int(np.count_nonzero(status & 4))
    if n_dep:
        warnings.warn(
            f"lasso_lars_gram: for {n_dep} of {N} signals an atom in the span of the active "
            "atoms (a duplicated or linearly dependent atom) was skipped; remove duplicated "
            "atoms from the dictionary.", RuntimeWarning, stacklevel=3)
    n_kmax = int(np.count_nonzero((status & 3) == 1))
    if n_kmax:
        warnings.warn(
            f"lasso_lars_gram: {n_kmax} of {N} signals stopped at max_nonzeros={kmax} active "
            f"atoms before reaching alpha={alpha:g}; their codes are Lasso solutions at a "
            "larger penalty (where one more atom would join).  Raise max_nonzeros (at most "
            f"n_atoms={K}) for the solution at alpha, or raise alpha for sparser codes.",
            ConvergenceWarning, stacklevel=3)
    n_cap = int(np.count_nonzero((status & 3) == 2))
    if n_cap:
        warnings.warn(
            f"lasso_lars_gram did not reach alpha for {n_cap} of {N} signals within "
            f"{max_steps} path steps (their codes are the path points reached); raise "
            "max_nonzeros.", ConvergenceWarning, stacklevel=3)
    return out

def _warn_parallel_atoms(G, max_atoms=8192):
    """Warn once when two atoms are parallel (duplicated up to scale or sign).

    Parallel atoms tie on every correlation: the path uses the first one and
    the other stays at zero (the KKT conditions hold for both), but the user
    most likely did not mean to pass them.  Skipped above ``max_atoms`` atoms
    (a K x K scan).
    """
    K = G.shape[0]
    if K < 2 or K > max_atoms:
        return
    d = np.sqrt(np.maximum(np.diag(G).astype(np.float64), 0.0))
    tol = 1e-6 if G.dtype == np.float32 else 1e-10
    hit = None
    rows = max(1, (8 << 20) // (8 * K))  # blocks of rows: temporaries of ~8 MiB, not K x K
    for start in range(0, K, rows):
        stop = min(start + rows, K)
        C = np.abs(G[start:stop]) >= (1.0 - tol) * np.outer(d[start:stop], d)
        C[np.arange(stop - start), np.arange(start, stop)] = False
        C &= (d[start:stop, None] > 0) & (d[None, :] > 0)
        if C.any():
            i, j = np.argwhere(C)[0]
            hit = (start + i, j)
            break
    if hit is not None:
        i, j = hit
        warnings.warn(
            f"lasso_lars_gram: atoms {i} and {j} of the dictionary are parallel (duplicated "
            "up to scale); only one of each such group can be used.  Remove duplicated "
            "atoms.", RuntimeWarning, stacklevel=3)
