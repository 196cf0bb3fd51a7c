"""L1/2-NMF (Qian, Jia, Zhou, Robles-Kelly, IEEE TGRS 49(11), 2011), spec A4.4."""

import numbers

import numpy as np

from .._scaling import data_pow2
from .._validation import Interval, check_matrix
from ._nmf import _BaseUnmixing, _auto_lam

__all__ = ["L12NMF", "sparseness_lambda"]


def sparseness_lambda(X):
    """Qian et al.'s rule for the l1/2 weight: mean Hoyer sparseness of the bands.

    Parameters
    ----------
    X : array-like of shape (n_pixels, n_bands)
        Data (finite: NaN or infinity raise ``ValueError``).

    Returns
    -------
    lam : float
        ``(1/sqrt(L)) sum_l (sqrt(N) - ||y^l||_1/||y^l||_2) / (sqrt(N) - 1)``
        with ``y^l`` the l-th band image (a column of ``X``).

    See Also
    --------
    L12NMF : uses it when ``lam=None``.

    References
    ----------
    .. [1] Y. Qian, S. Jia, J. Zhou, A. Robles-Kelly, IEEE TGRS 49(11), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import sparseness_lambda
    >>> round(sparseness_lambda(np.ones((100, 4))), 6)  # flat bands: not sparse
    0.0
    """
    X = np.asarray(check_matrix(X, "X"), dtype=float)
    N, L = X.shape
    if N < 2:
        return 0.0
    # scale-free: computed on X / 2**round(log2 max|X|) (exact), so that no
    # band norm under- or overflows at extreme data scales
    X = X / data_pow2(X)
    n1 = np.abs(X).sum(axis=0)
    n2 = np.maximum(np.linalg.norm(X, axis=0), 1e-300)
    return float(np.sum((np.sqrt(N) - n1 / n2) / (np.sqrt(N) - 1)) / np.sqrt(L))


class L12NMF(_BaseUnmixing):
    """NMF unmixing with the l1/2 sparsity prior on abundances (L1/2-NMF).

    Parameters
    ----------
    n_components : int or "auto", default=3
        Number of endmembers; ``"auto"``: HySime's estimate
        (:func:`estimate_n_endmembers`), stored in ``n_components_``.
    lam : float or None, default=None
        Weight of ``sum A**(1/2)``, in squared data units (fitting ``c Y``
        needs ``c**2 lam``); ``None`` uses Qian et al.'s sparseness rule times
        ``lam_scale``, stated for data scaled to a maximum of 1, i.e.
        ``lam_ = lam_scale * sparseness_lambda(Y) * max(Y)**2`` (scale-equivariant).
    lam_scale : float, default=1.0
        Factor applied to the rule (ignored when ``lam`` is given).
    tau : float, default=1e-3
        Guard: the penalty gradient is switched off where an abundance is below
        ``tau`` (Zhu's implementation); 0 gives the exact MM step.
    init : {"nfindr", "vca", "atgp", "ppi", "sisal", "nndsvd", "random", "custom"}, \
            default="nfindr"
        Initialisation (see NMFUnmixing).
    solver : {"mu", "hals"}, default="mu"
        Multiplicative updates (the paper's) or HALS on the tangent majoriser.
    delta : float, default=15.0
        Weight of the sum-to-one row (Qian et al.), in the data's units: fitting
        ``c Y`` with ``delta`` is fitting ``Y`` with ``delta / c``.
    max_iter : int, default=1000
        Maximum number of sweeps.
    tol : float, default=1e-4
        Relative objective change over 10 sweeps (``0``: run exactly ``max_iter``
        sweeps, no warning).
    random_state : int, RandomState or None, default=None
        Seed of the random initialisations (``"vca"``, ``"ppi"``, ``"sisal"``,
        ``"random"``; the default ``"nfindr"`` is deterministic).
    verbose : int, default=0
        Print progress.
    n_jobs : int or None, default=None
        Threads of the OpenMP row kernels and of BLAS during ``fit`` (``-1``: all
        cores; ``None``: 1).
    transform_method : {"model", "fcls"}, default="model"
        How ``transform`` computes abundances for the learned endmembers:
        "model" solves this estimator's abundance problem (same ``delta``,
        penalties and band weights; ``fit_transform(Y)`` equals
        ``fit(Y).transform(Y)``), "fcls" uses fully constrained least squares.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_bands)
        Endmembers.
    lam_ : float
        The l1/2 weight used (squared data units).
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
    NMFUnmixing : without the prior.
    CorrentropyNMF : l1/2 prior with band weights.

    Notes
    -----
    ``min 1/2 ||X - W H||_F^2 + delta^2/2 ||W 1 - 1||^2 + lam sum_{n,k} W_nk^(1/2)``;
    MU: ``W <- W * (X H^T + delta^2) / (W (H H^T + delta^2) + lam/2 W^(-1/2))``,
    ``H <- H * W^T X / (W^T W H)``. With ``tau = 0`` each step minimises a
    majoriser (the tangent of the concave ``a^(1/2)``), so the objective never
    increases.

    References
    ----------
    .. [1] Y. Qian, S. Jia, J. Zhou, A. Robles-Kelly, "Hyperspectral unmixing
       via L1/2 sparsity-constrained nonnegative matrix factorization",
       IEEE TGRS 49(11), 4282-4297, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import L12NMF
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 30))
    >>> A = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=100)])
    >>> est = L12NMF(n_components=3, lam=0.01, max_iter=50, tol=0, random_state=0)
    >>> est.fit_transform(A @ E).shape
    (103, 3)
    """

    _extra_constraints = {
        "lam": [None, Interval(numbers.Real, 0, None, closed="left")],
        "lam_scale": [Interval(numbers.Real, 0, None, closed="left")],
        "tau": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, n_components=3, *, lam=None, lam_scale=1.0, tau=1e-3, init="nfindr",
                 solver="mu", delta=15.0, max_iter=1000, tol=1e-4, random_state=None,
                 verbose=0, n_jobs=None, transform_method="model"):
        self.n_components = n_components
        self.lam = lam
        self.lam_scale = lam_scale
        self.tau = tau
        self.init = init
        self.solver = solver
        self.delta = delta
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.transform_method = transform_method

    def _solver_kwargs(self, X, image_shape, K, fitting=True):
        if fitting:
            if self.lam is None:
                self._lam_ref = _auto_lam(self.lam_scale * sparseness_lambda(X), X)
                self.lam_ = self._lam_ref[0] * self._lam_ref[1] ** 2
            else:
                self._lam_ref = None
                self.lam_ = float(self.lam)
        return {"lam": self.lam_, "lam_ref": getattr(self, "_lam_ref", None),
                "p": np.full(X.shape[0], 0.5), "tau": float(self.tau)}
