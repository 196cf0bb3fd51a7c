"""Metrics of learned sparse features (sparse autoencoders, dictionary learning).

:func:`normalized_mse` (fraction of variance unexplained), :func:`l0_norm`,
:func:`dead_fraction` and :func:`mean_max_cosine` (with the share of planted
atoms recovered above a cosine threshold).
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["dead_fraction", "l0_norm", "mean_max_cosine", "normalized_mse"]


def _dense_2d(a, name):
    """``a`` as a 2-D float64 array (a sparse matrix kept), refusing NaN and infinity."""
    a = np.asarray(a, dtype=np.float64) if not sp.issparse(a) else a
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got shape {a.shape}.")
    values = a.data if sp.issparse(a) else a
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite; it contains NaN or infinity "
                         "(remove or impute those entries).")
    return a


def normalized_mse(X, X_hat):
    """Fraction of variance unexplained: ``sum ||x_i - x_hat_i||^2 / sum ||x_i - mean(x)||^2``.

    What Gao et al. call the normalised MSE: the reconstruction error
    relative to predicting every sample by the data mean (0 is perfect, 1 is
    no better than the mean).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    X_hat : array-like of shape (n_samples, n_features)

    Returns
    -------
    fvu : float
        ``inf`` when ``X`` has zero variance and the error is not zero
        (0 when both are zero).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[1.0, 0.0], [3.0, 2.0]])
    >>> normalized_mse(X, X), normalized_mse(X, np.tile(X.mean(axis=0), (2, 1)))
    (0.0, 1.0)
    """
    X = _dense_2d(X, "X")
    X_hat = _dense_2d(X_hat, "X_hat")
    if X.shape != X_hat.shape:
        raise ValueError(f"X and X_hat must have the same shape, got {X.shape} and {X_hat.shape}.")
    err = float(np.sum((X - X_hat) ** 2))
    var = float(np.sum((X - X.mean(axis=0)) ** 2))
    if var == 0:
        return 0.0 if err == 0 else float("inf")
    return err / var


def l0_norm(codes):
    """Mean number of non-zero entries per sample (dense or sparse codes).

    Parameters
    ----------
    codes : array-like or sparse matrix of shape (n_samples, n_latents)

    Returns
    -------
    l0 : float

    Examples
    --------
    >>> import numpy as np
    >>> l0_norm(np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 3.0]]))
    1.5
    """
    if sp.issparse(codes):
        c = sp.csr_matrix(_dense_2d(codes, "codes"), copy=True)
        c.eliminate_zeros()
        return c.nnz / max(c.shape[0], 1)
    codes = _dense_2d(codes, "codes")
    return float(np.count_nonzero(codes)) / max(codes.shape[0], 1)


def dead_fraction(codes, threshold=1e-3):
    """Share of latents that never exceed ``threshold`` in absolute value over ``codes``.

    Parameters
    ----------
    codes : array-like or sparse matrix of shape (n_samples, n_latents)
        Codes of a held-out set (or of the last training samples).
    threshold : float, default=1e-3
        Activation level above which a latent counts as alive.

    Returns
    -------
    fraction : float

    Examples
    --------
    >>> import numpy as np
    >>> dead_fraction(np.array([[0.0, 1.0, 0.0, 1e-4], [0.0, 0.5, 2.0, 0.0]]))
    0.5
    """
    if sp.issparse(codes):
        c = sp.csc_matrix(_dense_2d(codes, "codes"))
        alive = np.zeros(c.shape[1], dtype=bool)
        big = np.abs(c.data) > threshold
        cols = np.repeat(np.arange(c.shape[1]), np.diff(c.indptr))
        alive[cols[big]] = True
        return float(1.0 - alive.mean()) if c.shape[1] else 0.0
    codes = _dense_2d(codes, "codes")
    if codes.shape[1] == 0:
        return 0.0
    return float(1.0 - (np.abs(codes) > threshold).any(axis=0).mean())


def mean_max_cosine(learned, planted, threshold=None):
    """Mean over planted atoms of the best absolute cosine with a learned atom.

    ``(1/m) sum_i max_j |<d*_i, d_j>| / (||d*_i|| ||d_j||)``; with
    ``threshold`` also the share of planted atoms whose best cosine is at
    least ``threshold`` (recovered).

    Parameters
    ----------
    learned : array-like of shape (n_learned, n_features)
        Learned atoms as rows (e.g. ``model.components_``).
    planted : array-like of shape (n_planted, n_features)
        Ground-truth atoms as rows.
    threshold : float or None, default=None
        Cosine above which a planted atom counts as recovered.

    Returns
    -------
    mmc : float
        Or ``(mmc, fraction_recovered)`` when ``threshold`` is given.

    Examples
    --------
    >>> import numpy as np
    >>> planted = np.eye(3)
    >>> learned = np.array([[2.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 1.0, 1.0]])
    >>> mmc, rec = mean_max_cosine(learned, planted, threshold=0.95)
    >>> round(mmc, 4), round(rec, 4)
    (0.9024, 0.6667)
    """
    L = _dense_2d(learned, "learned")
    P = _dense_2d(planted, "planted")
    if L.shape[1] != P.shape[1]:
        raise ValueError(f"learned and planted atoms must have the same length, got "
                         f"{L.shape[1]} and {P.shape[1]}.")
    if not (np.isfinite(L).all() and np.isfinite(P).all()):
        raise ValueError("learned and planted must be finite.")
    Ln = np.linalg.norm(L, axis=1)
    Pn = np.linalg.norm(P, axis=1)
    if (Pn == 0).any():
        raise ValueError("planted contains a zero atom; every planted atom needs a direction.")
    Ln = np.where(Ln == 0, 1.0, Ln)
    C = np.abs(P @ L.T) / Pn[:, None] / Ln[None, :]
    best = C.max(axis=1)
    mmc = float(best.mean())
    if threshold is None:
        return mmc
    return mmc, float(np.mean(best >= threshold))
