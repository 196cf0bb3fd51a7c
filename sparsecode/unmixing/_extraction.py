"""Endmember extraction: N-FINDR, ATGP, PPI and SISAL (spec sections 5.3 and 5.4).

All functions take pixels ``Y`` of shape (n_pixels, n_bands) or a cube
(rows, cols, n_bands) and return endmembers of shape (n_endmembers, n_bands)
(plus the indices of the chosen pixels for the pixel-picking methods; for a
cube the index of pixel ``(r, c)`` is ``r * cols + c``).  Every computation
runs in float64 on the data divided by a power of two near its maximum (exact:
the results do not depend on the data's scale, and nothing over- or
underflows); endmembers are returned in the input's dtype.
"""

import numpy as np
from sklearn.utils import check_random_state
from .._scaling import data_pow2

from ._checks import as_pixels, check_n_endmembers

__all__ = ["atgp", "nfindr", "ppi", "sisal"]


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------
_pow2_scale = data_pow2


def _prepare(Y, n_endmembers, name="n_endmembers"):
    """(X64 / s, s, original float array, dtype, p)."""
    X, _ = as_pixels(Y, "Y")  # refuses NaN / inf, sparse, wrong rank
    p = check_n_endmembers(n_endmembers, X.shape[0], X.shape[1], name)
    s = _pow2_scale(X)
    X64 = np.asarray(X, dtype=np.float64) / s
    return X64, s, X, X.dtype, p


def _rng(random_state):
    if isinstance(random_state, np.random.Generator):
        return random_state
    return check_random_state(random_state)


def _affine_pca(X, d):
    """Mean and the top ``d`` principal directions (L, d) of X (N, L), with eigenvalues."""
    mean = X.mean(axis=0)
    Xc = X - mean
    C = Xc.T @ Xc / X.shape[0]
    w, V = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    w, V = np.maximum(w[order], 0.0), V[:, order]
    return mean, V[:, :d], w


def _picked(X0, X, s, idx, p, projected, dtype, noise_std=None):
    """The chosen pixels, raw or projected on the p-dim signal subspace (as VCA does).

    With ``noise_std`` (per band), the subspace is that of the noise-whitened
    data ``X / noise_std`` (the minimum noise fraction components) and the
    projection is made there, then mapped back.
    """
    if not projected:
        return np.ascontiguousarray(X0[idx], dtype=dtype)
    Xs = X if noise_std is None else X / noise_std
    _w, U = np.linalg.eigh(Xs.T @ Xs / Xs.shape[0])
    U = U[:, ::-1][:, :p]
    M = (Xs[idx] @ U) @ U.T
    if noise_std is not None:
        M = M * noise_std
    return np.ascontiguousarray(M * s, dtype=dtype)


_REDUCTIONS = ("mnf", "pca")


def _nfindr_search_space(X, reduction):
    """``(data for the volume search, per-band noise std or None)``.

    ``"mnf"``: the bands divided by their noise standard deviation (HySime's
    regression estimate), so that the ``p - 1`` principal directions of the
    search are minimum noise fraction components; it falls back to PCA when
    the data have too few pixels or no measurable noise.
    """
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be 'mnf' or 'pca'; got {reduction!r}.")
    if reduction == "pca":
        return X, None
    from ._subspace import _band_noise_std

    sig = _band_noise_std(X)
    return (X, None) if sig is None else (X / sig, sig)


def _check_affine_rank(w, p, name="n_endmembers"):
    """Refuse ``p`` endmembers when the data span fewer than ``p - 1`` affine dimensions."""
    if p <= 1:
        return
    tol = w.size * np.finfo(float).eps * max(float(w[0]), np.finfo(float).tiny) * 10
    rank = int(np.sum(w > tol))
    if p - 1 > rank:
        raise ValueError(
            f"{name}={p} is larger than the data allow: the pixels span only {rank} affine "
            f"dimension(s), so at most {rank + 1} endmembers can be vertices of a simplex of "
            f"non-zero volume. Use {name} <= {rank + 1} (sparsecode.unmixing."
            f"estimate_n_endmembers gives a noise-aware estimate)."
        )


# --------------------------------------------------------------------------
# ATGP
# --------------------------------------------------------------------------
def _atgp_indices(X, p):
    """ATGP on X (N, L) float64: indices of ``p`` pixels (orthogonal-subspace energies)."""
    N, L = X.shape
    full = np.einsum("ij,ij->i", X, X)
    e = full.copy()
    idx = np.empty(p, dtype=np.intp)
    Q = np.zeros((L, 0))
    chosen = np.zeros(N, dtype=bool)
    for j in range(p):
        if j and j % 10 == 0:  # exact residual energies against cancellation
            R = X - (X @ Q) @ Q.T
            e = np.einsum("ij,ij->i", R, R)
        cand = np.where(chosen, -np.inf, e)
        i = int(np.argmax(cand))
        idx[j] = i
        chosen[i] = True
        if Q.shape[1] >= L:
            continue
        q = X[i].copy()
        for _ in range(2):  # Gram-Schmidt with re-orthogonalisation
            q -= Q @ (Q.T @ q)
        nq = np.linalg.norm(q)
        if nq <= 1e-12 * np.sqrt(max(full[i], np.finfo(float).tiny)) or nq == 0:
            continue  # the pixel adds no new direction (data of lower rank)
        q /= nq
        Q = np.column_stack([Q, q])
        e = np.maximum(e - (X @ q) ** 2, 0.0)
    return idx


def atgp(Y, n_endmembers, *, projected=True):
    """Automatic target generation process (ATGP) endmember extraction.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (finite).
    n_endmembers : int
        Number of endmembers to pick (at most ``min(n_pixels, n_bands)``).
    projected : bool, default=True
        Return the chosen pixels projected on the ``n_endmembers``-dimensional
        signal subspace (top eigenvectors of the band correlation matrix), as
        :func:`vca` does: this removes the noise outside the subspace (lower
        SAD on real scenes; on noiseless data the pixels themselves);
        ``False``: the raw pixels ``Y[indices]``.

    Returns
    -------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        The chosen pixels, projected or raw (dtype of ``Y``).
    indices : ndarray of shape (n_endmembers,)
        Their row indices in ``Y`` (row-major pixel index for a cube).

    See Also
    --------
    nfindr : maximum-volume simplex (ATGP is its default start).
    vca : vertex component analysis.

    Notes
    -----
    The first endmember is the pixel of largest energy ``||y_i||^2``; each next
    one is the pixel of largest energy in the orthogonal complement of those
    chosen so far, ``||P_U^perp y_i||^2``. Instead of forming the ``L x L``
    projector each time (``O(L^2 N)`` per endmember) an orthonormal basis is
    kept (Gram-Schmidt, re-orthogonalised) and the residual energies are
    downdated, ``e_i <- e_i - (q^T y_i)^2``: ``O(L N)`` per endmember, with an
    exact recomputation every 10 endmembers. On noiseless data with pure pixels
    the pure pixels are found exactly (each vertex is extreme in the energy of
    its orthogonal complement).

    References
    ----------
    .. [1] A. Plaza and C.-I Chang, "Impact of initialization on design of
       endmember extraction algorithms", IEEE TGRS 44(11), 3397-3407, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import atgp
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = np.vstack([rng.dirichlet(np.ones(3), size=200), np.eye(3)])
    >>> M, idx = atgp(A @ E, 3)
    >>> sorted(idx.tolist())
    [200, 201, 202]
    """
    X, s, X0, dtype, p = _prepare(Y, n_endmembers)
    idx = _atgp_indices(X, p)
    return _picked(X0, X, s, idx, p, projected, dtype), idx


# --------------------------------------------------------------------------
# N-FINDR
# --------------------------------------------------------------------------
def _nfindr_indices(X, p, init_idx=None, max_sweeps=None, rng=None, rule="best",
                    name="n_endmembers"):
    """Rank-one N-FINDR on X (N, L) float64; returns (indices, log volume, sweeps)."""
    N, _L = X.shape
    if p == 1:
        return _atgp_indices(X, 1), 0.0, 0
    mean, V, w = _affine_pca(X, p - 1)
    _check_affine_rank(w, p, name)
    T = (X - mean) @ V                       # (N, p-1)
    T = T / np.sqrt(max(w[0], np.finfo(float).tiny))  # unit scale: a volume ratio of O(1)
    Z = np.vstack([np.ones((1, N)), T.T])    # (p, N)
    idx = np.array(_atgp_indices(X, p) if init_idx is None else init_idx, dtype=np.intp)
    E = Z[:, idx]
    sign, logdet = np.linalg.slogdet(E)
    tries = 0
    while sign == 0 or logdet < np.log(np.finfo(float).eps) * p:
        # a degenerate start (e.g. repeated pixels): random restarts
        if rng is None:
            rng = np.random.default_rng(0)
        idx = rng.choice(N, size=p, replace=False) if isinstance(rng, np.random.Generator) \
            else rng.choice(N, size=p, replace=False)
        E = Z[:, idx]
        sign, logdet = np.linalg.slogdet(E)
        tries += 1
        if tries > 100:
            raise ValueError("N-FINDR found no starting simplex of non-zero volume; check that "
                             "the data are not (numerically) of lower dimension than "
                             "n_endmembers - 1.")
    max_sweeps = 10 * p if max_sweeps is None else max_sweeps
    thresh = 1.0 + 1e-12
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):  # noqa: B007
        Einv = np.linalg.inv(E)              # re-inverted every sweep against drift
        changed = False
        for k in range(p):
            ratio = np.abs(Einv[k] @ Z)      # volume ratio of every candidate for vertex k
            if rule == "best":
                i = int(np.argmax(ratio))
            else:  # Winter's first improving pixel
                better = np.flatnonzero(ratio > thresh)
                i = int(better[0]) if better.size else int(np.argmax(ratio))
            if ratio[i] > thresh:
                u = Z[:, i] - E[:, k]
                wv = Einv @ u
                Einv -= np.outer(wv, Einv[k]) / (1.0 + wv[k])   # Sherman-Morrison
                E[:, k] = Z[:, i]
                idx[k] = i
                logdet += np.log(ratio[i])
                changed = True
        if not changed:
            break
    return idx, float(np.linalg.slogdet(E)[1]), sweeps


def nfindr(Y, n_endmembers, *, init="atgp", max_sweeps=None, rule="best", projected=True,
           reduction="mnf", random_state=None):
    """N-FINDR endmember extraction with rank-one volume updates.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (finite).
    n_endmembers : int
        Number of endmembers ``p``; the pixels must span at least ``p - 1``
        affine dimensions (else ``ValueError``).
    init : {"atgp", "random"} or array-like of int, default="atgp"
        Starting vertices: the ATGP pixels, ``p`` random pixels, or given
        pixel indices.
    max_sweeps : int or None, default=None
        Maximum number of sweeps over the vertices (``10 p`` if None); it stops
        earlier when a sweep changes nothing.
    rule : {"best", "first"}, default="best"
        Replace a vertex by the pixel giving the largest volume ("best") or by
        the first pixel that increases it (Winter's original rule).
    projected : bool, default=True
        Return the chosen pixels projected on the ``n_endmembers``-dimensional
        signal subspace (top eigenvectors of the band correlation matrix), as
        :func:`vca` does: this removes the noise outside the subspace (lower
        SAD on real scenes; on noiseless data the pixels themselves);
        ``False``: the raw pixels ``Y[indices]``.
    reduction : {"mnf", "pca"}, default="mnf"
        The ``p - 1`` dimensions of the volume search: ``"mnf"``, minimum
        noise fraction (principal components of the bands divided by their
        noise standard deviation, estimated by HySime's regression of each
        band on the others, see :func:`estimate_noise`; the projection of
        ``projected=True`` is then made in the same whitened space), or
        ``"pca"``, plain principal components. MNF ranks directions by
        signal-to-noise ratio instead of variance, so that noisy bands do not
        steer the simplex; it falls back to PCA when there are fewer than
        ``2 n_bands`` pixels or no measurable noise (noiseless data).
    random_state : int, RandomState, Generator or None, default=None
        Seed of ``init="random"`` (and of restarts from a degenerate start).

    Returns
    -------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        The vertex pixels, projected or raw (dtype of ``Y``).
    indices : ndarray of shape (n_endmembers,)
        Their row indices in ``Y`` (row-major pixel index for a cube).

    See Also
    --------
    atgp, vca : other pure-pixel methods.
    sisal : minimum-volume simplex for data without pure pixels.

    Notes
    -----
    The data are reduced to ``p - 1`` dimensions by MNF (or PCA), ``T`` (p-1 x N), and
    ``Z = [1^T; T]``. The simplex of vertex pixels ``E = Z[:, idx]`` has volume
    ``|det E| / (p - 1)!``. Replacing vertex ``k`` by pixel ``z_i`` multiplies
    ``det E`` by ``(E^{-1} z_i)_k``, so the volume ratios of all ``N``
    candidates for vertex ``k`` are one vector-matrix product ``E^{-1}[k] Z``
    (``O(p N)``), and the inverse is updated by Sherman-Morrison (``O(p^2)``)
    after a replacement: ``O(p^2 N)`` per sweep instead of the ``O(p^4 N)`` of
    a determinant per candidate. ``E`` is re-inverted at the start of every
    sweep. The volume never decreases; the result is a local maximum (no
    single replacement increases it).

    References
    ----------
    .. [1] M. E. Winter, "N-FINDR: an algorithm for fast autonomous spectral
       end-member determination in hyperspectral data", Proc. SPIE 3753,
       266-275, 1999.
    .. [2] A. A. Green, M. Berman, P. Switzer and M. D. Craig, "A
       transformation for ordering multispectral data in terms of image
       quality with implications for noise removal", IEEE TGRS 26(1), 65-74,
       1988 (minimum noise fraction).
    .. [3] J. M. Bioucas-Dias and J. M. P. Nascimento, "Hyperspectral
       subspace identification", IEEE TGRS 46(8), 2435-2445, 2008 (the
       regression noise estimate).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import nfindr
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = np.vstack([rng.dirichlet(np.ones(3), size=200), np.eye(3)])
    >>> M, idx = nfindr(A @ E, 3)
    >>> sorted(idx.tolist())
    [200, 201, 202]
    """
    X, s, X0, dtype, p = _prepare(Y, n_endmembers)
    if rule not in ("best", "first"):
        raise ValueError(f"rule must be 'best' or 'first'; got {rule!r}.")
    if max_sweeps is not None and (isinstance(max_sweeps, bool) or int(max_sweeps) != max_sweeps
                                   or max_sweeps < 1):
        raise ValueError(f"max_sweeps must be a positive int or None; got {max_sweeps!r}.")
    rng = _rng(random_state)
    N = X.shape[0]
    if isinstance(init, str):
        if init == "atgp":
            init_idx = None
        elif init == "random":
            init_idx = rng.choice(N, size=p, replace=False)
        else:
            raise ValueError(f"init must be 'atgp', 'random' or an array of {p} pixel indices; "
                             f"got {init!r}.")
    else:
        init_idx = np.asarray(init)
        if init_idx.shape != (p,) or not np.issubdtype(init_idx.dtype, np.integer) \
                or init_idx.min() < 0 or init_idx.max() >= N:
            raise ValueError(f"init must be 'atgp', 'random' or {p} pixel indices in "
                             f"[0, {N}); got {init!r}.")
    Xs, sig = _nfindr_search_space(X, reduction)
    idx, _logvol, _sweeps = _nfindr_indices(Xs, p, init_idx, max_sweeps, rng, rule)
    return _picked(X0, X, s, idx, p, projected, dtype, sig), idx


# --------------------------------------------------------------------------
# PPI
# --------------------------------------------------------------------------
def _ppi_counts(X, p, n_skewers, rng, n_components=None):
    N = X.shape[0]
    d = max(p - 1, 1) if n_components is None else int(n_components)
    d = min(d, X.shape[1])
    mean, V, _w = _affine_pca(X, d)
    Tt = np.ascontiguousarray(((X - mean) @ V).T)     # (d, N)
    counts = np.zeros(N, dtype=np.int64)
    chunk = max(1, min(n_skewers, (1 << 20) // max(N, 1)))
    done = 0
    while done < n_skewers:
        m = min(chunk, n_skewers - done)
        S = rng.standard_normal((m, d))               # isotropic skewers
        P = S @ Tt                                    # (m, N): one row per skewer
        counts += np.bincount(np.argmax(P, axis=1), minlength=N)
        counts += np.bincount(np.argmin(P, axis=1), minlength=N)
        done += m
    return counts


def ppi(Y, n_endmembers, *, n_skewers=10000, n_components=None, projected=True,
        random_state=None):
    """Pixel purity index (PPI) endmember extraction.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (finite).
    n_endmembers : int
        Number of endmembers: the pixels with most votes.
    n_skewers : int, default=10000
        Number of random projection directions.
    n_components : int or None, default=None
        Dimension of the PCA-reduced data the skewers live in (``n_endmembers
        - 1`` if None, at least 1).
    projected : bool, default=True
        Return the chosen pixels projected on the ``n_endmembers``-dimensional
        signal subspace (top eigenvectors of the band correlation matrix), as
        :func:`vca` does: this removes the noise outside the subspace (lower
        SAD on real scenes; on noiseless data the pixels themselves);
        ``False``: the raw pixels ``Y[indices]``.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the skewers.

    Returns
    -------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        The most voted pixels, projected or raw (dtype of ``Y``), by decreasing votes.
    indices : ndarray of shape (n_endmembers,)
        Their row indices in ``Y``.

    See Also
    --------
    nfindr, atgp : deterministic pure-pixel methods.

    Notes
    -----
    The mean-removed data are projected on ``n_components`` principal
    directions, then on ``n_skewers`` isotropic (normalised Gaussian) random
    directions; each skewer votes for the pixel at both extremes of the
    projection (Boardman's standard PPI; pysptools' variant draws uniform
    skewers and counts one extreme). Ties in the votes go to the lower index.
    The skewers are processed in blocks (one matrix product each):
    ``O(n_skewers N d)``. A vertex of the data simplex wins every skewer whose
    direction lies in its normal cone, so with enough skewers the pure pixels
    of noiseless data are the most voted; several pixels near one vertex can
    share its votes on noisy data (use :func:`nfindr` or :func:`atgp` there).

    References
    ----------
    .. [1] J. W. Boardman, F. A. Kruse and R. O. Green, "Mapping target
       signatures via partial unmixing of AVIRIS data", JPL Summaries of the
       Fifth Annual JPL Airborne Earth Science Workshop, 1995.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import ppi
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = np.vstack([rng.dirichlet(np.ones(3), size=200), np.eye(3)])
    >>> M, idx = ppi(A @ E, 3, n_skewers=500, random_state=0)
    >>> sorted(idx.tolist())
    [200, 201, 202]
    """
    X, s, X0, dtype, p = _prepare(Y, n_endmembers)
    if isinstance(n_skewers, bool) or int(n_skewers) != n_skewers or n_skewers < 1:
        raise ValueError(f"n_skewers must be a positive int; got {n_skewers!r}.")
    if n_components is not None and (isinstance(n_components, bool) or n_components < 1
                                     or int(n_components) != n_components):
        raise ValueError(f"n_components must be a positive int or None; got {n_components!r}.")
    counts = _ppi_counts(X, p, int(n_skewers), _rng(random_state), n_components)
    idx = np.argsort(-counts, kind="stable")[:p].astype(np.intp)
    return _picked(X0, X, s, idx, p, projected, dtype), idx


# --------------------------------------------------------------------------
# SISAL
# --------------------------------------------------------------------------
def _soft_neg(v, t):
    """Prox of ``t * hinge`` with ``hinge(v) = max(-v, 0)``, entry-wise."""
    return np.where(v >= 0, v, np.where(v < -t, v + t, 0.0))


def _sisal_core(X, p, tau=1.0, mu=None, mm_iters=80, spherize=True, rng=None,
                name="n_endmembers"):
    """SISAL on X (N, L) float64; returns the endmembers (p, L)."""
    from ._vca import _vca_core

    N, L = X.shape
    Y = X.T                                            # (L, N)
    my = Y.mean(axis=1)
    mean, Vp, w = _affine_pca(X, p - 1)
    _check_affine_rank(w, p, name)
    sing = w[: p - 1]
    my_ortho = my - Vp @ (Vp.T @ my)
    no = np.linalg.norm(my_ortho)
    if spherize:
        C = 1.0 / np.sqrt(sing + 1e-8)
        Yp = np.vstack([C[:, None] * (Vp.T @ (Y - my[:, None])), np.ones((1, N))]) / np.sqrt(p)
    else:
        if no <= 1e-12 * max(np.linalg.norm(my), 1e-300):
            raise ValueError("SISAL with spherize=False needs data whose mean is not in the span "
                             "of its principal directions.")
        Up = np.column_stack([Vp, my_ortho / no])
        Yc = Vp @ (Vp.T @ (Y - my[:, None])) + my[:, None]
        Yp = Up.T @ Yc
    # initial simplex: VCA, inflated about its centroid so that it contains the data
    idx, _ = _vca_core(Yp, p, rng)
    M = Yp[:, idx].copy()
    M = M + p * (M - M.mean(axis=1, keepdims=True))
    if np.linalg.matrix_rank(M) < p:
        raise ValueError("SISAL: the VCA start is a degenerate simplex; the data look of lower "
                         "dimension than n_endmembers - 1 (reduce n_endmembers).")
    Q = np.linalg.inv(M)
    YYt = Yp @ Yp.T
    mu = 1000.0 * p / N if mu is None else float(mu)
    lam_quad = 1e-6
    H = lam_quad * np.eye(p * p)
    F = H + mu * np.kron(YYt, np.eye(p))
    IF = np.linalg.inv(F)
    B = np.kron(np.eye(p), np.ones((1, p)))           # B q = Q^T 1 (q = vec(Q), column-major)
    qm = np.linalg.solve(YYt, Yp.sum(axis=1))
    Gt = IF @ B.T @ np.linalg.inv(B @ IF @ B.T)
    qm_aux = Gt @ qm
    G = IF - Gt @ B @ IF

    def f_true(Qm):
        return -np.linalg.slogdet(Qm)[1] + tau * np.sum(np.maximum(-(Qm @ Yp), 0.0))

    Z = Q @ Yp
    Bk = np.zeros_like(Z)
    for k in range(mm_iters):
        IQ = np.linalg.inv(Q)
        g = -IQ.T.reshape(-1, order="F")
        q0 = Q.reshape(-1, order="F")
        Q0 = Q
        baux = H @ q0 - g
        al_iters = 100 if k == mm_iters - 1 else 4
        f0_val = f_true(Q0)
        f0_quad = f0_val
        for _ in range(1, al_iters):
            dtz_b = ((Z + Bk) @ Yp.T).reshape(-1, order="F")
            q = G @ (baux + mu * dtz_b) + qm_aux
            Q = q.reshape(p, p, order="F")
            QY = Q @ Yp
            Z = _soft_neg(QY - Bk, tau / mu)
            Bk = Bk - (QY - Z)
        dq = q - q0
        f_quad = dq @ g + 0.5 * dq @ (H @ dq) + tau * np.sum(np.maximum(-(Q @ Yp), 0.0))
        if f0_quad >= f_quad:  # quadratic model decreased: backtrack on the true objective
            for _ in range(60):
                fq = f_true(Q)
                if np.isfinite(fq) and fq <= f0_val:
                    break
                Q = 0.5 * (Q + Q0)
    M = np.linalg.inv(Q)
    if spherize:
        M = M * np.sqrt(p)
        M = Vp @ (M[: p - 1] / C[:, None]) + my[:, None]
    else:
        M = Up @ M
    return M.T


def sisal(Y, n_endmembers, *, tau=1.0, mu=None, max_iter=80, spherize=True, random_state=None):
    """Simplex identification via split augmented Lagrangian (SISAL).

    A minimum-volume simplex method: it does not need pure pixels.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels (finite).
    n_endmembers : int
        Number of endmembers ``p`` (the pixels must span at least ``p - 1``
        affine dimensions).
    tau : float, default=1.0
        Weight of the hinge penalty on negative abundances (larger: harder
        non-negativity, less tolerance of noise and outliers; lower it on noisy
        data).
    mu : float or None, default=None
        Augmented-Lagrangian weight (``1000 p / n_pixels`` if None).
    max_iter : int, default=80
        Majorise-minimise iterations (always all run, as in ``sisal.m``).
    spherize : bool, default=True
        Whiten the data in the signal subspace first.
    random_state : int, RandomState, Generator or None, default=None
        Seed of the VCA start.

    Returns
    -------
    endmembers : ndarray of shape (n_endmembers, n_bands)
        Vertices of the estimated simplex (dtype of ``Y``). They are not data
        pixels and may have small negative entries on noisy data.

    See Also
    --------
    nfindr : maximum-volume simplex of data pixels (needs pure pixels).
    fcls : abundances for the endmembers.

    Notes
    -----
    In the ``p``-dimensional affine data subspace (coordinates ``Yp``, whitened
    when ``spherize``), SISAL finds ``Q = M^{-1}`` minimising
    ``-log|det Q| + tau * sum(hinge(Q Yp))`` subject to ``1^T Q = q_m^T``
    (abundances ``Q Yp`` sum to one in the least-squares sense),
    ``hinge(t) = max(-t, 0)``. Each of the ``max_iter`` majorise-minimise
    steps linearises ``-log|det Q|`` and solves the quadratic-plus-hinge model
    by ADMM with the split ``Z = Q Yp`` (3 passes; 99 on the last step),
    backtracking to keep the true objective from increasing. Cost: a
    ``p^2 x p^2`` inverse once, then ``O(p^2 N + p^4)`` per ADMM pass. The start
    is VCA's simplex inflated about its centroid. Port of Bioucas-Dias's
    ``sisal.m`` (spec section 5.4).

    References
    ----------
    .. [1] J. M. Bioucas-Dias, "A variable splitting augmented Lagrangian
       approach to linear spectral unmixing", WHISPERS 2009 (arXiv:0904.4635).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import sisal
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 20))
    >>> A = rng.dirichlet(np.ones(3), size=2000)
    >>> A = A[A.max(axis=1) < 0.8]              # no pixel is nearly pure
    >>> M = sisal(A @ E, 3, random_state=0)
    >>> from sparsecode.metrics import match_components, spectral_angle_distance
    >>> sad = spectral_angle_distance(E, M[match_components(E, M)])
    >>> bool(np.all(sad < 0.05))
    True
    """
    X, s, _X0, dtype, p = _prepare(Y, n_endmembers)
    if p < 2:
        raise ValueError(f"n_endmembers must be at least 2 for SISAL; got {p}.")
    if not (np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau must be a positive finite float; got {tau!r}.")
    if mu is not None and not (np.isfinite(mu) and mu > 0):
        raise ValueError(f"mu must be a positive finite float or None; got {mu!r}.")
    if isinstance(max_iter, bool) or int(max_iter) != max_iter or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int; got {max_iter!r}.")
    M = _sisal_core(X, p, float(tau), mu, int(max_iter), bool(spherize), _rng(random_state))
    return np.ascontiguousarray(M * s, dtype=dtype)
