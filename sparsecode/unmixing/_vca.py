"""Vertex Component Analysis (VCA) endmember extraction.

Nascimento & Bioucas-Dias, "Vertex component analysis: a fast algorithm to unmix
hyperspectral data", IEEE TGRS 43(4), 2005 (algorithm of spec section A4.1).
"""


import numpy as np
from sklearn.utils import check_random_state
from .._scaling import data_pow2

from ._checks import as_pixels, check_n_endmembers, check_nonnegative

__all__ = ["vca"]


def vca(Y, n_endmembers, random_state=None, *, snr_input=None, return_indices=False):
    """Extract endmembers as vertices of the data simplex (VCA).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Non-negative pixels.
    n_endmembers : int
        Number of endmembers ``p`` (at most the number of bands).
    random_state : int, RandomState, Generator or None, default=None
        Seed of the random projection directions.
    snr_input : float or None, default=None
        Known SNR in dB; ``None`` estimates it from the data.
    return_indices : bool, default=False
        Also return the indices of the pixels chosen as vertices.

    Returns
    -------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        Estimated endmembers (the projected data at the chosen pixels,
        clipped at 0), dtype of ``Y``.
    indices : ndarray of shape (n_endmembers,)
        Only with ``return_indices=True``.

    See Also
    --------
    fcls : abundances for given endmembers.

    Notes
    -----
    With ``Y`` (L x N, bands by pixels), VCA projects the data on the
    ``p``-dimensional signal subspace (SVD), scales it projectively
    (``z_n = x_n / (u^T x_n)``) when the estimated SNR is high, or projects on
    ``p - 1`` dimensions and appends a constant row when it is low
    (``SNR < 15 + 10 log10 p`` dB). It then repeats ``p`` times: draw a
    random direction ``f`` orthogonal to the endmembers found so far, and
    take the pixel maximising ``|f^T z_n|``. Noiseless data with pure pixels
    are recovered exactly. Cost: one ``L x L`` eigendecomposition and
    ``p`` passes over the ``N`` pixels.

    References
    ----------
    .. [1] J. M. P. Nascimento and J. M. Bioucas-Dias, "Vertex component
       analysis: a fast algorithm to unmix hyperspectral data", IEEE TGRS
       43(4), 898-910, 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import vca
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=200)])
    >>> M = vca(A @ E, 3, random_state=0)
    >>> bool(np.allclose(np.sort(M[:, 0]), np.sort(E[:, 0])))
    True
    """
    X, _ = as_pixels(Y, "Y")
    check_nonnegative(X, "Y")
    p = check_n_endmembers(n_endmembers, X.shape[0], X.shape[1], "n_endmembers")
    rng = check_random_state(random_state) if not isinstance(random_state, np.random.Generator) \
        else random_state
    out_dtype = X.dtype
    idx, Yhat = _vca_core(np.asarray(X, dtype=np.float64).T, p, rng, snr_input)
    E = np.clip(Yhat[:, idx].T, 0, None).astype(out_dtype, copy=False)
    E = np.ascontiguousarray(E)
    return (E, idx) if return_indices else E


def _top_eigvecs(S, p):
    _w, V = np.linalg.eigh(S)
    return V[:, ::-1][:, :p]


def _uniform(rng, size):
    if isinstance(rng, np.random.Generator):
        return rng.uniform(size=size)
    return rng.rand(*size) if isinstance(size, tuple) else rng.rand(size)


def _vca_core(Y, p, rng, snr_input=None):
    """VCA on Y (L, N) float64; returns (indices, projected data Yhat (L, N)).

    Runs on ``Y / s`` with ``s`` a power of two near ``max Y`` (exact), so the
    covariance neither overflows nor underflows at any data scale.
    """
    s = data_pow2(Y)
    if s != 1.0:
        idx, Yhat = _vca_core(Y / s, p, rng, snr_input)
        return idx, Yhat * s
    L, N = Y.shape
    ybar = Y.mean(axis=1, keepdims=True)
    S = Y @ Y.T / N                      # one pass: the centred covariance is S - ybar ybar^T
    Up = _top_eigvecs(S - ybar @ ybar.T, p)
    Xp = Up.T @ Y - Up.T @ ybar
    if snr_input is None:
        Py = np.sum(Y ** 2) / N
        Px = np.sum(Xp ** 2) / N + np.sum(ybar ** 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            snr = 10 * np.log10((Px - p / L * Py) / (Py - Px))
    else:
        snr = float(snr_input)
    snr_th = 15 + 10 * np.log10(p)
    if np.isfinite(snr) and snr < snr_th and p > 1:
        d = p - 1
        X = Xp[:d]
        Yhat = Up[:, :d] @ X + ybar
        c = np.max(np.linalg.norm(X, axis=0))
        Z = np.vstack([X, np.full((1, N), c)])
    else:
        U = _top_eigvecs(S, p)
        X = U.T @ Y
        Yhat = U @ X
        u = X.mean(axis=1)
        denom = u @ X
        tiny = np.finfo(float).tiny
        denom = np.where(np.abs(denom) < tiny, tiny, denom)
        Z = X / denom
    idx = np.zeros(p, dtype=np.intp)
    B = np.zeros((p, p))
    B[p - 1, 0] = 1.0
    for i in range(p):
        w = _uniform(rng, p)
        f = w - B @ (np.linalg.pinv(B) @ w)
        nf = np.linalg.norm(f)
        if nf > 0:
            f /= nf
        v = f @ Z
        idx[i] = int(np.argmax(np.abs(v)))
        B[:, i] = Z[:, idx[i]]
    return idx, Yhat
