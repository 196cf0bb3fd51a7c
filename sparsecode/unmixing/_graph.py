"""Pixel graphs for spatially regularised unmixing (SS-NMF, guided sparsity).

Spec section A3.2 (Zhu et al., structured sparse NMF, research code
``get_GraphWeightMatrix.m`` / ``mexWeightCorr_cluster.cpp``): correlation weights
inside a window, restricted to pixels of the same k-means cluster, keeping the top
``percent`` of each centre's neighbours. Built as a ``scipy.sparse`` matrix from
vectorised per-offset products: never a dense pixels x pixels matrix.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from .._scaling import nearest_pow2

from ._checks import as_pixels

__all__ = ["graph_laplacian_parts", "pixel_graph"]


def pixel_graph(Y, image_shape=None, *, kind="correlation", window=5, percent=30.0,
                rho_min=0.5, n_clusters=8, n_neighbors=5, random_state=None):
    """Sparse symmetric pixel-affinity matrix ``W`` (n_pixels x n_pixels).

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Pixels, row-major over the image when ``image_shape`` is given.
    image_shape : tuple (rows, cols) or None, default=None
        Needed by the window-based kinds (taken from a cube).
    kind : {"correlation", "heat", "binary", "knn"}, default="correlation"
        "correlation": Pearson correlation within the window and the same
        k-means cluster, top ``percent`` per centre, at least ``rho_min``
        (Zhu et al. type 7); "heat": ``exp(-||y_i - y_j||^2 / s)`` over the
        window with ``s`` the mean squared distance; "binary": 1 over the
        window; "knn": heat kernel on the ``n_neighbors`` nearest spectra
        (GNMF, Cai et al. 2011), no image needed.
    window : int, default=5
        Half-size ``w`` of the (2w+1) x (2w+1) window.
    percent : float, default=30.0
        Percentage of same-cluster neighbours kept per centre.
    rho_min : float, default=0.5
        Correlation floor.
    n_clusters : int, default=8
        k-means clusters (cosine geometry) for "correlation".
    n_neighbors : int, default=5
        Neighbours for "knn".
    random_state : int, RandomState or None, default=None
        Seed of k-means.

    Returns
    -------
    W : scipy.sparse.csr_matrix of shape (n_pixels, n_pixels)
        Symmetric, non-negative.

    See Also
    --------
    StructuredSparseNMF : uses this graph.

    Notes
    -----
    "correlation" follows the authors' code exactly: only pixels at least
    ``window`` away from the image border are centres; for each centre ``m``
    the kept neighbours ``j`` (``m`` itself included) add ``rho`` to both
    ``W[m, j]`` and ``W[j, m]`` (duplicates summed). Cost O(N (2w+1)^2 L).

    References
    ----------
    .. [1] F. Zhu, Y. Wang, S. Xiang, B. Fan, C. Pan, "Structured sparse
       method for hyperspectral unmixing", ISPRS J. Photogramm. Remote Sens.
       88, 101-118, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import pixel_graph
    >>> cube = np.random.default_rng(0).uniform(size=(6, 7, 5))
    >>> W = pixel_graph(cube, kind="binary", window=1)
    >>> W.shape, int(W[0].nnz), bool(abs(W - W.T).max() == 0)
    ((42, 42), 3, True)
    """
    X, shp = as_pixels(Y, "Y")
    if image_shape is None:
        image_shape = shp
    X = np.asarray(X, dtype=float)
    N = X.shape[0]
    # every kind is scale-free: work on X / 2**round(log2 max|X|) (exact), so
    # that squared distances and norms neither under- nor overflow
    # (max and min instead of max|X|: no |X| temporary; X itself when the power is 1)
    c = float(nearest_pow2(max(float(X.max()), -float(X.min())))) if X.size else 1.0
    if c != 1.0:
        X = X / c
    if kind == "knn":
        return _knn_graph(X, n_neighbors)
    if kind not in ("correlation", "heat", "binary"):
        raise ValueError(f"kind must be 'correlation', 'heat', 'binary' or 'knn'; got {kind!r}.")
    if image_shape is None:
        raise ValueError(f"kind={kind!r} needs the image shape: pass a cube or image_shape.")
    rows, cols = (int(v) for v in image_shape)
    if rows * cols != N:
        raise ValueError(f"image_shape {image_shape} does not match the {N} pixels of Y.")
    if not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"window must be a positive int; got {window!r}.")
    w = int(window)
    if kind != "correlation":
        return _stencil_graph(X.reshape(rows, cols, -1), w, kind)
    offs = [(dr, dc) for dr in range(-w, w + 1) for dc in range(-w, w + 1)]
    rr, cc = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
    rr, cc = rr.ravel(), cc.ravel()
    if kind == "correlation":
        Z = X - X.mean(axis=1, keepdims=True)
        Z /= np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-300)
        labels = _cosine_kmeans(X, n_clusters, random_state)
        centre = (rr >= w) & (rr < rows - w) & (cc >= w) & (cc < cols - w)
        cidx = np.flatnonzero(centre)
        if cidx.size == 0:
            return sp.csr_matrix((N, N))
        R = np.full((cidx.size, len(offs)), -np.inf)
        NB = np.empty((cidx.size, len(offs)), dtype=np.intp)
        for o, (dr, dc) in enumerate(offs):
            nb = (rr[cidx] + dr) * cols + (cc[cidx] + dc)
            NB[:, o] = nb
            same = labels[nb] == labels[cidx]
            rho = np.einsum("ij,ij->i", Z[cidx], Z[nb])
            R[:, o] = np.where(same, rho, -np.inf)
        n_same = np.isfinite(R).sum(axis=1)
        kth = np.maximum(np.ceil(percent / 100.0 * n_same).astype(int), 1)
        Rs = -np.sort(-R, axis=1)
        thr = Rs[np.arange(cidx.size), kth - 1]
        keep = np.isfinite(R) & (R >= np.maximum(thr, rho_min)[:, None])
        ci, oi = np.nonzero(keep)
        i, j, v = cidx[ci], NB[ci, oi], R[ci, oi]
        W = sp.coo_matrix((np.r_[v, v], (np.r_[i, j], np.r_[j, i])), shape=(N, N))
        return W.tocsr()


def _stencil_graph(Xc, w, kind):
    """Window graph of an image cube ``Xc`` (rows, cols, L) built from slices.

    For every offset of the (2w+1) x (2w+1) window (the centre excluded) the
    squared distances of all pixel pairs at that offset are one vectorised slice
    difference of the cube; the opposite offset reuses them (``d(i, j) =
    d(j, i)``).  The CSR matrix is assembled directly, each row's entries in
    window (row-major offset) order, as ``coo -> csr`` of the per-offset lists
    gives.  Cost O(N (2w+1)^2 L / 2), no gathered copies of the pixels.
    """
    rows, cols, _ = Xc.shape
    N = rows * cols
    offs = [(dr, dc) for dr in range(-w, w + 1) for dc in range(-w, w + 1)
            if (dr, dc) != (0, 0)]
    n_off = len(offs)
    # VAL[r, c, o]: weight of pixel (r, c) to its neighbour at offset o (NaN: outside)
    VAL = np.full((rows, cols, n_off), np.nan)
    idx = {o: t for t, o in enumerate(offs)}
    for t, (dr, dc) in enumerate(offs):
        if (dr, dc) < (0, 0):
            continue  # filled with its opposite offset
        r0, r1 = max(0, -dr), min(rows, rows - dr)
        c0, c1 = max(0, -dc), min(cols, cols - dc)
        if r1 <= r0 or c1 <= c0:
            continue
        if kind == "heat":
            D = Xc[r0:r1, c0:c1] - Xc[r0 + dr:r1 + dr, c0 + dc:c1 + dc]
            v = np.einsum("rcl,rcl->rc", D, D)
        else:
            v = np.ones((r1 - r0, c1 - c0))
        VAL[r0:r1, c0:c1, t] = v
        VAL[r0 + dr:r1 + dr, c0 + dc:c1 + dc, idx[(-dr, -dc)]] = v
    VAL = VAL.reshape(N, n_off)
    ok = ~np.isnan(VAL)
    step = np.array([dr * cols + dc for dr, dc in offs])
    I, O = np.nonzero(ok)           # row-major: by pixel, then by offset
    J = I + step[O]
    V = VAL[I, O]
    if kind == "heat":
        s = max(float(V.mean()), 1e-300)
        V = np.exp(-V / s)
    indptr = np.zeros(N + 1, dtype=np.int64)
    np.cumsum(ok.sum(axis=1), out=indptr[1:])
    idx_dtype = np.int32 if max(N, V.size) < 2**31 - 1 else np.int64
    return sp.csr_matrix((V, J.astype(idx_dtype), indptr.astype(idx_dtype)), shape=(N, N))


def _cosine_kmeans(X, n_clusters, random_state):
    from sklearn.cluster import KMeans

    Xn = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-300)
    k = int(min(n_clusters, X.shape[0]))
    km = KMeans(n_clusters=k, n_init=3, random_state=random_state)
    return km.fit_predict(Xn)


def _knn_graph(X, n_neighbors):
    from sklearn.neighbors import NearestNeighbors

    k = int(min(n_neighbors, X.shape[0] - 1))
    if k < 1:
        return sp.csr_matrix((X.shape[0], X.shape[0]))
    nn = NearestNeighbors(n_neighbors=k + 1).fit(X)
    dist, ind = nn.kneighbors(X)
    dist2 = dist[:, 1:] ** 2
    t = max(float(dist2.mean()), 1e-300)
    N = X.shape[0]
    W = sp.coo_matrix((np.exp(-dist2 / t).ravel(), (np.repeat(np.arange(N), k), ind[:, 1:].ravel())),
                      shape=(N, N)).tocsr()
    return W.maximum(W.T).tocsr()


def graph_laplacian_parts(W):
    """Return ``(W_csr, degrees)`` so that the Laplacian is ``diag(degrees) - W``."""
    W = sp.csr_matrix(W)
    return W, np.asarray(W.sum(axis=1)).ravel()
