"""CENMF: correntropy-based robust NMF unmixing (half-quadratic re-weighting).

Wang, Pan, Xiang, Zhu, "Robust hyperspectral unmixing with correntropy-based
metric", IEEE TIP 2015 (arXiv:1305.7311); algorithm of spec section A1 ([R]:
reconstructed from the abstract, every knob exposed).
"""

import numbers

import numpy as np

from .._validation import Interval, Options
from ._l12nmf import sparseness_lambda
from ._nmf import _BaseUnmixing, _auto_lam

__all__ = ["CorrentropyNMF"]


class CorrentropyNMF(_BaseUnmixing):
    """Correntropy-based robust NMF unmixing (CENMF): noisy bands get small weights.

    Parameters
    ----------
    n_components : int or "auto", default=3
        Number of endmembers; ``"auto"``: HySime's estimate
        (:func:`estimate_n_endmembers`), stored in ``n_components_``.
    theta : float, default=0.5
        Kernel width factor: ``sigma^2 = theta * mean_l r_l`` recomputed every
        sweep from the band residual energies ``r_l`` (large ``theta``: plain NMF).
    sigma : float or None, default=None
        Fixed kernel width, in the data's units, instead of the adaptive rule (weights are then not
        renormalised and the objective below never increases).
    sparsity : {"l1/2", "l1"} or None, default="l1/2"
        Sparsity term on the abundances.
    lam : float or None, default=None
        Its weight, in squared data units (fitting ``c Y`` needs ``c**2 lam``);
        ``None`` means ``0.01`` times Qian's sparseness rule (spec A1.3: larger
        values interact badly with the band weights), stated for data scaled
        to a maximum of 1: ``lam_ = 0.01 * sparseness_lambda(Y) * max(Y)**2``,
        so the defaults are scale-equivariant.
    tau : float, default=1e-3
        l1/2 gradient guard (see L12NMF).
    init : {"nfindr", "vca", "atgp", "ppi", "sisal", "nndsvd", "random", "custom"}, \
            default="nfindr"
        Initialisation (see NMFUnmixing): endmembers from an extraction method
        with FCLS abundances, NNDSVD, random, or ``W``/``H`` given to fit.
    solver : {"mu", "hals"}, default="mu"
        Multiplicative updates or HALS (both on the weighted majoriser).
    delta : float, default=0.0
        Weight of the sum-to-one row (weight 1 in the band weighting), in the
        data's units (fitting ``c Y`` with ``delta`` is fitting ``Y`` with ``delta / c``); 0
        disables it (best on Samson, whose labelled abundances are not on the
        data's scale).
    max_iter : int, default=500
        Maximum number of sweeps (one half-quadratic re-weighting each).
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
    band_weights_ : ndarray of shape (n_bands,)
        Final half-quadratic weights (mean 1 in adaptive mode); small for noisy bands.
    lam_ : float
        Sparsity weight used (squared data units).
    n_components_ : int
        Number of endmembers.
    n_iter_ : int
        Sweeps run.
    reconstruction_err_ : float
        ``||Y - A M||_F`` (unweighted).
    objective_ : float
        Final objective.
    image_shape_ : tuple or None
        Image shape when a cube was fitted.
    n_features_in_ : int
        Number of bands.

    See Also
    --------
    RobustGuidedNMF : l2,1 robust loss with a learned sparsity map.
    NMFUnmixing : the unweighted model.

    Notes
    -----
    Correntropy is measured per band: with ``r_l = ||y^l - m^l A||^2``,
    ``min sum_l sigma^2 (1 - exp(-r_l / (2 sigma^2))) + lam S(A)``. Half-quadratic
    optimisation alternates ``w_l = exp(-r_l / (2 sigma^2))`` and one MU (or HALS)
    sweep on ``1/2 sum_l w_l r_l + lam S(A)`` (an MM scheme: the Welsch loss is
    concave in ``r``). The weights enter the abundance step only
    (``W <- W * (X Omega H^T + delta^2) / (W (H Omega H^T + delta^2) + lam dS)``);
    they cancel in the endmember step. Band residuals come from the K x L
    products of the endmember step, so a sweep costs the same O(N L K) as
    plain NMF.

    References
    ----------
    .. [1] Y. Wang, C. Pan, S. Xiang, F. Zhu, "Robust hyperspectral unmixing
       with correntropy-based metric", IEEE TIP 24(11), 2015; arXiv:1305.7311.
    .. [2] R. He, W.-S. Zheng, B.-G. Hu, "Maximum correntropy criterion for
       robust face recognition", IEEE TPAMI 33(8), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.datasets import make_hyperspectral_mixture
    >>> from sparsecode.unmixing import CorrentropyNMF
    >>> Y, M, A, bad = make_hyperspectral_mixture(3, 40, (10, 10), n_corrupted_bands=4,
    ...                                           random_state=0)
    >>> est = CorrentropyNMF(n_components=3, sparsity=None, max_iter=100, tol=0,
    ...                      random_state=0).fit(Y)
    >>> bad.tolist(), np.sort(np.argsort(est.band_weights_)[:4]).tolist()
    ([11, 30, 37, 38], [11, 30, 37, 38])
    """

    _extra_constraints = {
        "theta": [Interval(numbers.Real, 0, None, closed="neither")],
        "sigma": [None, Interval(numbers.Real, 0, None, closed="neither")],
        "sparsity": [Options("l1/2", "l1", None)],
        "lam": [None, Interval(numbers.Real, 0, None, closed="left")],
        "tau": [Interval(numbers.Real, 0, None, closed="left")],
    }

    def __init__(self, n_components=3, *, theta=0.5, sigma=None, sparsity="l1/2", lam=None,
                 tau=1e-3, init="nfindr", solver="mu", delta=0.0, max_iter=500, tol=1e-4,
                 random_state=None, verbose=0, n_jobs=None, transform_method="model"):
        self.n_components = n_components
        self.theta = theta
        self.sigma = sigma
        self.sparsity = sparsity
        self.lam = lam
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
            self._lam_ref = None
            if self.sparsity is None:
                self.lam_ = 0.0
            elif self.lam is not None:
                self.lam_ = float(self.lam)
            else:
                self._lam_ref = _auto_lam(0.01 * sparseness_lambda(X), X)
                self.lam_ = self._lam_ref[0] * self._lam_ref[1] ** 2
        lam = self.lam_
        p = None
        if self.sparsity == "l1/2" and lam > 0:
            p = np.full(X.shape[0], 0.5)
        return {"weighting": "correntropy", "theta": float(self.theta), "sigma": self.sigma,
                "lam": self.lam_, "lam_ref": getattr(self, "_lam_ref", None), "p": p,
                "tau": float(self.tau)}

    def _store_extra(self, res, X, image_shape):
        self.band_weights_ = np.asarray(res["band_weights"], dtype=float).copy()
