"""SS-NMF: structured sparse NMF (graph Laplacian over pixels + lasso).

Zhu, Wang, Xiang, Fan, Pan, "Structured sparse method for hyperspectral
unmixing", ISPRS J. Photogramm. Remote Sens. 88 (2014) 101-118; spec section A3
(verified against the first author's research code ``gnmf_sc_norm2.m``).
"""

import numbers

import numpy as np

from .._validation import Interval, Options
from ._graph import graph_laplacian_parts, pixel_graph
from ._nmf import _BaseUnmixing

__all__ = ["StructuredSparseNMF"]


class StructuredSparseNMF(_BaseUnmixing):
    """Structured sparse NMF unmixing: pixel-graph Laplacian and l1 on abundances.

    Parameters
    ----------
    n_components : int or "auto", default=3
        Number of endmembers; ``"auto"``: HySime's estimate
        (:func:`estimate_n_endmembers`), stored in ``n_components_``.
    lam : float, default=0.1
        Weight of the graph term ``(lam/2) tr(A L A^T)``: dimensionless (of the
        data term's degree), so it needs no change with the data's scale.
    alpha : float, default=0.1
        l1 (lasso) weight on the abundances, in the data's units (with unit-norm
        endmembers the abundances carry the data's scale: fitting ``c Y`` with
        ``c alpha`` gives the endmembers of ``Y`` and ``c`` times its
        abundances). A value at least the largest pixel norm of ``Y`` would
        make every abundance zero and is refused (``ValueError``).
    graph : {"auto", "correlation", "heat", "binary", "knn"}, default="auto"
        Pixel graph (see pixel_graph); "auto" is "correlation" when the image
        shape is known (cube or ``image_shape``) and "knn" otherwise.
    window : int, default=5
        Half-size of the window.
    percent : float, default=30.0
        Top percentage of same-cluster neighbours kept.
    rho_min : float, default=0.5
        Correlation floor.
    n_clusters : int, default=8
        k-means clusters of the correlation graph.
    image_shape : tuple (rows, cols) or None, default=None
        Image shape of row-major pixels when ``Y`` is a matrix.
    normalize_every : int, default=30
        Column-norm convention: every this many sweeps (and at exit) the
        endmembers are rescaled to unit l2 norm and the abundances rescaled
        back (0 disables; the penalties assume unit-norm endmembers).
    init : {"nfindr", "vca", "atgp", "ppi", "sisal", "nndsvd", "random", "custom"}, \
            default="nfindr"
        Initialisation (see NMFUnmixing): endmembers from an extraction method
        with FCLS abundances, NNDSVD, random, or ``W``/``H`` given to fit.
    delta : float, default=0.0
        Weight of the sum-to-one row (0: the authors' setting).
    max_iter : int, default=300
        Maximum number of sweeps.
    tol : float, default=1e-4
        Relative objective change over 10 sweeps (``0``: run exactly ``max_iter``
        sweeps, no warning).
    random_state : int, RandomState or None, default=None
        Seed of the random initialisations (``"vca"``, ``"ppi"``, ``"sisal"``,
        ``"random"``; the default ``"nfindr"`` is deterministic) and of k-means.
    verbose : int, default=0
        Print progress.
    n_jobs : int or None, default=None
        Threads of the OpenMP row kernels and of BLAS during ``fit`` (``-1``: all
        cores; ``None``: 1).
    solver : {"mu"}, default="mu"
        Multiplicative updates (the graph couples pixels).
    transform_method : {"model", "fcls"}, default="model"
        How ``transform`` computes abundances for the learned endmembers:
        "model" solves this estimator's abundance problem (same ``delta``,
        penalties and band weights; ``fit_transform(Y)`` equals
        ``fit(Y).transform(Y)``), "fcls" uses fully constrained least squares.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_bands)
        Endmembers (unit l2 norm with the column-norm convention).
    graph_ : scipy.sparse.csr_matrix of shape (n_pixels, n_pixels)
        The pixel affinity matrix used.
    n_components_ : int
        Number of endmembers.
    n_iter_ : int
        Sweeps run.
    reconstruction_err_ : float
        ``||Y - A M||_F``.
    objective_ : float
        Final objective.
    image_shape_ : tuple or None
        Image shape when a cube was fitted.
    n_features_in_ : int
        Number of bands.

    See Also
    --------
    pixel_graph : the graph construction.
    L12NMF : sparsity without spatial structure.

    Notes
    -----
    ``min 1/2 ||Y - M A||_F^2 + (lam/2) tr(A L A^T) + alpha ||A||_1`` with
    ``L = D - W``. MU: ``A <- A * (M^T Y + lam A W) / (M^T M A + lam A D + alpha)``,
    ``M <- M * Y A^T / (M A A^T)``. The product ``A W`` is sparse
    (O(K nnz(W))). With the column-norm convention the abundances do not sum to
    one: normalise each pixel for evaluation (``abundance_rmse(...,
    normalize=True)``); ``transform`` (FCLS) always returns sum-to-one
    abundances.

    References
    ----------
    .. [1] F. Zhu, Y. Wang, S. Xiang, B. Fan, C. Pan, "Structured sparse method
       for hyperspectral unmixing", ISPRS J. Photogramm. Remote Sens. 88,
       101-118, 2014.
    .. [2] D. Cai, X. He, J. Han, T. S. Huang, "Graph regularized nonnegative
       matrix factorization for data representation", IEEE TPAMI 33(8), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import StructuredSparseNMF
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 30))
    >>> cube = rng.dirichlet(np.ones(3) * 0.3, size=(12, 12)) @ E
    >>> est = StructuredSparseNMF(n_components=3, window=2, n_clusters=3, max_iter=60,
    ...                           tol=0, random_state=0).fit(cube)
    >>> est.graph_.shape
    (144, 144)
    """

    _supports_hals = False
    _extra_constraints = {
        "lam": [Interval(numbers.Real, 0, None, closed="left")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "graph": [Options("auto", "correlation", "heat", "binary", "knn")],
        "window": [Interval(numbers.Integral, 1, None, closed="left")],
        "percent": [Interval(numbers.Real, 0, 100, closed="right")],
        "rho_min": [Interval(numbers.Real, -1, 1, closed="both")],
        "n_clusters": [Interval(numbers.Integral, 1, None, closed="left")],
        "image_shape": [None, tuple, list],
        "normalize_every": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(self, n_components=3, *, lam=0.1, alpha=0.1, graph="auto", window=5,
                 percent=30.0, rho_min=0.5, n_clusters=8, image_shape=None,
                 normalize_every=30, init="nfindr", delta=0.0, max_iter=300, tol=1e-4,
                 random_state=None, verbose=0, n_jobs=None, solver="mu", transform_method="model"):
        self.n_components = n_components
        self.lam = lam
        self.alpha = alpha
        self.graph = graph
        self.window = window
        self.percent = percent
        self.rho_min = rho_min
        self.n_clusters = n_clusters
        self.image_shape = image_shape
        self.normalize_every = normalize_every
        self.init = init
        self.delta = delta
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.transform_method = transform_method
        self.solver = solver

    def _check_alpha(self, X):
        """Refuse an l1 weight that makes every abundance zero (Y's units).

        With unit-norm non-negative endmembers and no sum-to-one row, the
        gradient of the objective at ``A = 0`` is ``alpha - M^T y_n >= alpha -
        ||y_n||`` (the graph term is flat there) and the objective is convex
        in ``A``: ``alpha >= max_n ||y_n||`` makes ``A = 0`` the minimiser for
        any endmembers, a silently all-zero model.
        """
        alpha = float(self.alpha)
        if alpha <= 0 or float(self.delta) > 0 or self.normalize_every == 0 or X.size == 0:
            return
        m = float(np.max(X))
        if not (m > 0 and np.isfinite(m)):
            return
        ynorm = m * float(np.max(np.linalg.norm(X / m, axis=1)))  # no under/overflow
        if alpha >= ynorm:
            raise ValueError(
                f"alpha={alpha:g} is in Y's units (the l1 weight on abundances of unit-norm "
                f"endmembers) and is at least the largest pixel norm of Y ({ynorm:.3g}): "
                f"every abundance would be zero. Scale alpha with Y (fitting c * Y needs "
                f"c * alpha; the default 0.1 is meant for reflectances of order 1).")

    def _solver_kwargs(self, X, image_shape, K, fitting=True):
        shape = image_shape if image_shape is not None else self.image_shape
        if shape is not None and (len(shape) != 2 or any(int(v) < 1 for v in shape)):
            raise ValueError(f"image_shape must be (rows, cols); got {shape!r}.")
        if (not fitting and image_shape is None and shape is not None
                and int(shape[0]) * int(shape[1]) != X.shape[0]):
            shape = None  # new pixels of another image: k-NN graph
        kind = self.graph
        if kind == "auto":
            kind = "correlation" if shape is not None else "knn"
        Wg = pixel_graph(X, None if shape is None else tuple(shape), kind=kind,
                         window=self.window, percent=self.percent, rho_min=self.rho_min,
                         n_clusters=self.n_clusters, random_state=self.random_state)
        if fitting:
            self.graph_ = Wg
            self._check_alpha(X)
        S, d = graph_laplacian_parts(Wg)
        return {"lam": float(self.alpha), "graph": (S, d), "lam_graph": float(self.lam),
                    "norm_every": int(self.normalize_every)}
