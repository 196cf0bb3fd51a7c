"""Signal subspace and number of endmembers: HySime and HFC virtual dimensionality.

Spec sections 5.1 (HySime: Bioucas-Dias & Nascimento, IEEE TGRS 46(8), 2008) and
5.2 (HFC / NWHFC virtual dimensionality: Chang & Du, IEEE TGRS 42(3), 2004).
Both cost ``O(L^2 N + L^3)`` for ``N`` pixels and ``L`` bands: one Gram matrix
and one or two symmetric eigendecompositions.
"""

import numbers

import numpy as np

from ._checks import as_pixels

__all__ = ["estimate_n_endmembers", "estimate_noise", "hfc_vd", "hysime"]


def _pixels(Y, name="Y", return_dtype=False):
    X, _ = as_pixels(Y, name)
    dtype = X.dtype if X.dtype == np.float32 else np.float64
    X = np.asarray(X, dtype=np.float64)
    N, L = X.shape
    if N < 2 or L < 2:
        raise ValueError(f"{name} needs at least 2 pixels and 2 bands; got {N} pixels and {L} "
                         f"bands.")
    return (X, dtype) if return_dtype else X


def _gram_inverse(G):
    """``(G + eps I)^{-1}`` with a relative ridge (pysptools adds ``1e-6 I`` in
    absolute units; a relative one keeps the estimate scale-equivariant)."""
    L = G.shape[0]
    R = G.copy()
    R[np.diag_indices(L)] += 1e-10 * max(float(np.trace(G)) / L, np.finfo(float).tiny)
    Ri = np.linalg.inv(R)
    return 0.5 * (Ri + Ri.T)


def _additive_noise(X):
    """Multiple-regression noise of every band on all the others (spec 5.1).

    The regression of band ``i`` on the other bands through the inverse of
    ``R = X^T X + eps I`` with row/column ``i`` removed (pysptools' per-band
    downdate ``Ri - Ri[:, i] Ri[i, :] / Ri[i, i]``) has the closed form
    ``w_i = (X Ri)[:, i] / Ri[i, i]``: all bands from one inverse, one product.
    """
    Ri = _gram_inverse(X.T @ X)
    return (X @ Ri) / np.diag(Ri)


def _hysime_additive_gram(X):
    """HySime with the additive noise estimate from the Gram matrix alone.

    With ``G = X^T X``, ``Ri = (G + eps I)^{-1}`` and ``D = diag(Ri)``, the noise
    is ``W = X Ri D^{-1}`` and the signal ``S = X P`` with ``P = I - Ri D^{-1}``,
    so ``W^T W = D^{-1} Ri G Ri D^{-1}`` and ``S^T S = P^T G P``: one ``N L^2``
    product in all, the rest ``O(L^3)``.
    """
    N, L = X.shape
    G = X.T @ X
    Ri, d, wtw = _regression_noise_gram(G)
    P = np.eye(L) - Ri / d
    Rx = (P.T @ G @ P) / N
    return _subspace_from(G / N, Rx, np.diag(wtw / N))


def _regression_noise_gram(G):
    """``(Ri, diag(Ri), diag(W^T W))`` of the multiple-regression noise from ``G = X^T X``.

    ``W = X Ri D^{-1}`` (see :func:`_additive_noise`), so
    ``W^T W = D^{-1} Ri G Ri D^{-1}``: the per-band noise energy without forming ``W``.
    """
    Ri = _gram_inverse(G)
    d = np.diag(Ri)
    wtw = np.einsum("ij,ji->i", Ri @ G, Ri) / d ** 2
    return Ri, d, wtw


def _band_noise_std(X):
    """Per-band noise standard deviation of ``X`` (N, L) by HySime's regression, or None.

    None when the estimate is not usable: fewer than ``2 L`` pixels (the
    regression of a band on the ``L - 1`` others then fits the noise too), or
    data without measurable noise (noiseless or of rank below ``L``).  Each
    band's relative variance is floored at ``1e-6`` times the median (a
    numerical guard: a band estimated as noiseless would otherwise dominate
    the whitening).  The regression runs on the bands divided by their RMS, so
    rescaling a band rescales its estimate by the same factor.
    """
    N, L = X.shape
    if L < 2 or N < 2 * L:
        return None
    # the regression runs on bands of unit RMS (its ridge is one scalar), so the
    # estimate is equivariant to rescaling each band
    rms = np.sqrt(np.einsum("ij,ij->j", X, X) / N)
    rms = np.where(rms > 0, rms, 1.0)
    Xn = X / rms
    _Ri, _d, wtw = _regression_noise_gram(Xn.T @ Xn)
    var = np.maximum(wtw / N, 0.0)
    med = float(np.median(var))
    if not med > 1e-12:  # relative to the unit band energy
        return None
    return rms * np.sqrt(np.maximum(var, 1e-6 * med))


def estimate_noise(Y, *, noise="additive"):
    """Noise of every pixel and band by multiple regression (HySime's first step).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (not centred).
    noise : {"additive", "poisson"}, default="additive"
        Noise model. "poisson" runs the regression on ``sqrt(max(Y, 0))`` and
        maps the residual back (``w = 2 sqrt(x) u``), as the reference code does.

    Returns
    -------
    W : ndarray of shape (n_pixels, n_bands)
        Estimated noise (rows of a cube are flattened row-major), float64.
    Rn : ndarray of shape (n_bands, n_bands)
        Diagonal noise correlation ``diag(W^T W / n_pixels)``.

    See Also
    --------
    hysime : the subspace built on this estimate.

    Notes
    -----
    Band ``i`` is regressed on the other ``L - 1`` bands. With
    ``R = Y^T Y + eps I`` and ``Ri = R^{-1}``, the residual of that regression is
    ``(Y Ri)[:, i] / Ri[i, i]`` (Schur complement identity), so all bands come
    from a single inverse: ``O(L^2 N + L^3)`` in all.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import estimate_noise
    >>> rng = np.random.default_rng(0)
    >>> S = rng.random((2000, 3)) @ rng.random((3, 20))
    >>> W, Rn = estimate_noise(S + 0.01 * rng.standard_normal(S.shape))
    >>> W.shape, round(float(np.sqrt(np.diag(Rn)).mean()), 2)
    ((2000, 20), 0.01)
    """
    X = _pixels(Y)
    return _estimate_noise(X, noise)


def _estimate_noise(X, noise):
    if noise == "additive":
        W = _additive_noise(X)
    elif noise == "poisson":
        sq = np.sqrt(np.maximum(X, 0.0))
        U = _additive_noise(sq)
        W = 2.0 * np.sqrt((sq - U) ** 2) * U
    else:
        raise ValueError(f"noise must be 'additive' or 'poisson'; got {noise!r}.")
    Rn = np.diag(np.einsum("ij,ij->j", W, W) / X.shape[0])
    return W, Rn


def hysime(Y, *, noise="auto"):
    """HySime: signal subspace of minimum mean-squared projection error.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (not centred: the subspace of the linear mixing model contains
        the mean).
    noise : {"auto", "additive", "poisson"} or array-like of shape (n_pixels, n_bands), default="auto"
        Noise model for the regression estimate (see ``estimate_noise``):
        "auto" is "poisson" for non-negative integer data (photon counts) and
        "additive" otherwise. An array is taken as the noise itself.

    Returns
    -------
    k : int
        Estimated subspace dimension (for the linear mixing model with
        sum-to-one abundances: the number of endmembers).
    E : ndarray of shape (n_bands, k)
        Orthonormal basis of the signal subspace (columns), in increasing
        order of the criterion (most significant first); float32 for float32
        ``Y``, else float64.

    Raises
    ------
    ValueError
        ``Y`` not a matrix or cube, NaN or infinite entries, fewer than two
        pixels or bands, or a bad ``noise``.

    See Also
    --------
    estimate_noise : the first step.
    hfc_vd : virtual dimensionality by the Neyman-Pearson eigenvalue test.
    estimate_n_endmembers : either one, as an int.

    Notes
    -----
    With ``W`` the noise estimate, ``X = Y - W``, the correlation matrices
    ``Ry = Y^T Y / N`` and ``Rx = X^T X / N``, eigenvectors ``e_i`` of ``Rx`` and
    ``Rn = diag(W^T W / N) + tr(Rx) / (L 1e5) I``, each direction costs
    ``delta_i = -e_i^T Ry e_i + 2 e_i^T Rn e_i`` (projection error minus
    twice the noise power it brings); the subspace keeps the directions with
    ``delta_i < 0``.

    References
    ----------
    .. [1] J. M. Bioucas-Dias and J. M. P. Nascimento, "Hyperspectral subspace
       identification", IEEE TGRS 46(8), 2435-2445, 2008.

    Examples
    --------
    >>> from sparsecode.datasets import make_hyperspectral_mixture
    >>> from sparsecode.unmixing import hysime
    >>> Y, M, A, _ = make_hyperspectral_mixture(4, 60, (40, 40), snr=40, random_state=0)
    >>> k, E = hysime(Y)
    >>> k, E.shape
    (4, (60, 4))
    """
    X, dtype = _pixels(Y, return_dtype=True)
    N, L = X.shape
    if isinstance(noise, str):
        if noise == "auto":
            integer = bool(np.all(X >= 0) and np.all(X == np.round(X)))
            noise = "poisson" if integer else "additive"
        if noise == "additive":
            k, E = _hysime_additive_gram(X)
            return k, E.astype(dtype, copy=False)
        W, Rn = _estimate_noise(X, noise)
    else:
        W = np.asarray(noise, dtype=np.float64)
        if W.shape != X.shape and W.ndim == 3:
            W = W.reshape(-1, W.shape[-1])
        if W.shape != X.shape:
            raise ValueError(f"noise must be a str or an array shaped like Y {X.shape}; got "
                             f"{np.shape(noise)}.")
        if not np.all(np.isfinite(W)):
            raise ValueError("noise contains NaN or infinity.")
        Rn = np.diag(np.einsum("ij,ij->j", W, W) / N)
    k, E = _hysime_core(X, W, Rn)
    return k, E.astype(dtype, copy=False)


def _hysime_core(X, W, Rn):
    N = X.shape[0]
    S = X - W
    return _subspace_from((X.T @ X) / N, (S.T @ S) / N, Rn)


def _subspace_from(Ry, Rx, Rn):
    """The minimum-MSE subspace from the data, signal and noise correlations."""
    L = Ry.shape[0]
    _, E = np.linalg.eigh(0.5 * (Rx + Rx.T))
    E = E[:, ::-1]
    Rn = Rn + (np.trace(Rx) / (L * 1e5)) * np.eye(L)
    py = np.einsum("ij,ij->j", E, Ry @ E)
    pn = np.einsum("ij,ij->j", E, Rn @ E)
    cost = -py + 2.0 * pn
    k = int(np.sum(cost < 0))
    order = np.argsort(cost, kind="stable")
    return k, np.ascontiguousarray(E[:, order[:k]])


def _check_far(far):
    vals = np.atleast_1d(np.asarray(far, dtype=float))
    if vals.ndim != 1 or vals.size == 0 or np.any(~(vals > 0)) or np.any(vals >= 1):
        raise ValueError(f"far must be a probability in (0, 1) or a list of them; got {far!r}.")
    return vals


def hfc_vd(Y, *, far=1e-3, variant="paper", whiten=False):
    """Virtual dimensionality by the Harsanyi-Farrand-Chang test.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels.
    far : float or sequence of float, default=1e-3
        False-alarm probability ``P_F`` of the Neyman-Pearson test (the usual
        list is 1e-3, 1e-4, 1e-5).
    variant : {"paper", "pysptools"}, default="paper"
        "paper": eigenvalues of the sample correlation ``Y^T Y / N`` against
        those of the covariance, ``sigma_l^2 = 2 (lhat_l^2 + l_l^2) / N``.
        "pysptools": that package's port (correlation-coefficient matrix,
        ``sigma_l^2 = 2 l_l / N + 2 lhat_l / N + 2 l_l lhat_l / N``).
    whiten : bool, default=False
        Noise-whitened HFC (NWHFC): whiten the bands by the HySime noise
        estimate ``Rn^{-1/2}`` first; use it for band-dependent (coloured) noise.

    Returns
    -------
    vd : int or list of int
        Number of eigenvalue pairs declared signal; a list when ``far`` is a
        sequence.

    See Also
    --------
    hysime : the default estimator of the subspace dimension.

    Notes
    -----
    Under the null hypothesis (a noise component, zero mean) the correlation
    and covariance eigenvalues agree, ``lhat_l - l_l = 0``; a component counts
    as signal when ``lhat_l - l_l > Phi^{-1}(1 - P_F) sigma_l``. The test only
    sees sources with a non-zero mean, so it can miss a component that
    averages out.

    References
    ----------
    .. [1] C.-I Chang and Q. Du, "Estimation of number of spectrally distinct
       signal sources in hyperspectral imagery", IEEE TGRS 42(3), 608-619, 2004.

    Examples
    --------
    >>> from sparsecode.datasets import make_hyperspectral_mixture
    >>> from sparsecode.unmixing import hfc_vd
    >>> Y, M, A, _ = make_hyperspectral_mixture(4, 60, (40, 40), snr=40, random_state=0)
    >>> hfc_vd(Y, far=[1e-3, 1e-5])
    [4, 4]
    """
    from scipy.stats import norm

    vals = _check_far(far)
    if variant not in ("paper", "pysptools"):
        raise ValueError(f"variant must be 'paper' or 'pysptools'; got {variant!r}.")
    X = _pixels(Y)
    N, L = X.shape
    if whiten:
        _, Rn = _estimate_noise(X, "additive")
        d = np.diag(Rn)
        d = np.maximum(d, 1e-12 * max(float(d.max()), np.finfo(float).tiny))
        X = X / np.sqrt(d)
    mu = X.mean(axis=0)
    Xc = X - mu
    K = (Xc.T @ Xc) / N  # same normalisation as R: R = K + mu mu^T exactly
    if variant == "paper":
        R = (X.T @ X) / N
        lam = np.linalg.eigvalsh(K)[::-1]
        lhat = np.linalg.eigvalsh(R)[::-1]
        sigma = np.sqrt(2.0 * (lhat ** 2 + lam ** 2) / N)
    else:
        sd = np.sqrt(np.maximum(np.diag(K), np.finfo(float).tiny))
        C = K / np.outer(sd, sd)
        lam = np.linalg.eigvalsh(K)[::-1]
        lhat = np.linalg.eigvalsh(C)[::-1]
        sigma = np.sqrt(np.maximum(2.0 * lam / N + 2.0 * lhat / N + 2.0 * lam * lhat / N, 0.0))
    diff = lhat - lam
    out = [int(np.sum(diff > norm.isf(p) * sigma)) for p in vals]
    if np.ndim(far) == 0:
        return out[0]
    return out


def estimate_n_endmembers(Y, method="hysime", **kwargs):
    """Number of endmembers of a scene.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels.
    method : {"hysime", "hfc", "nwhfc"}, default="hysime"
        HySime subspace dimension, HFC virtual dimensionality, or its
        noise-whitened form.
    **kwargs
        Passed on: ``noise`` for HySime, ``far`` (a float) and ``variant``
        for HFC.

    Returns
    -------
    k : int
        At least 1.

    See Also
    --------
    hysime, hfc_vd : the estimators.

    Examples
    --------
    >>> from sparsecode.datasets import make_hyperspectral_mixture
    >>> from sparsecode.unmixing import estimate_n_endmembers
    >>> Y, M, A, _ = make_hyperspectral_mixture(3, 50, (30, 30), snr=40, random_state=1)
    >>> estimate_n_endmembers(Y)
    3
    """
    if method == "hysime":
        k = hysime(Y, **kwargs)[0]
    elif method in ("hfc", "nwhfc"):
        far = kwargs.pop("far", 1e-3)
        if not isinstance(far, numbers.Real):
            raise ValueError(f"far must be one probability here; got {far!r}.")
        k = hfc_vd(Y, far=far, whiten=(method == "nwhfc"), **kwargs)
    else:
        raise ValueError(f"method must be 'hysime', 'hfc' or 'nwhfc'; got {method!r}.")
    return max(int(k), 1)
