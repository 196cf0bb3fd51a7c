"""EM sparse Bayesian learning: SBL (single measurement vector), M-SBL and T-MSBL.

Implements Wipf & Rao (2004) EM-SBL with Tipping's (2001) fixed-point
("MacKay") alternative, Wipf & Rao (2007) M-SBL for multiple measurement
vectors with a common support, and Zhang & Rao (2011) T-MSBL for
temporally correlated sources (spec sections 5.1, 5.3, 5.4).  The batched
E-step kernel is in ``_em.py``.
"""

import warnings

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin

from .._base import ConvergenceWarning, SolverResult, warn_not_converged
from .._validation import check_matrix, check_targets, validate_params, validate_Xy
from ._common import (
    SBL_CONSTRAINTS,
    LinearPredictMixin,
    center_data,
    initial_noise_variance,
    check_unscaled,
    dense_matrix,
    out_dtype,
    problem_scales,
    resolve_learn_noise,
    scale_operator,
    store_posterior,
    work_dtype,
)
from ._em import em_sbl

__all__ = ["SBL", "MSBL", "TSBL", "sbl"]


def report_status(name, status, delta, tol, n_iter):
    """One warning per call: non-convergence and divergence."""
    n_div = int(np.count_nonzero(status == 2))
    if n_div:
        warnings.warn(
            f"{name} diverged for {n_div} of {status.size} problem(s): non-finite values "
            f"appeared at iteration {int(np.max(n_iter[status == 2]))}; the last finite "
            "iterate is returned. Fix the noise variance, rescale A or lower the damping.",
            ConvergenceWarning, stacklevel=3)
    failed = status == 1
    if np.any(failed):
        warn_not_converged(name, int(np.count_nonzero(failed)), status.size,
                           "relative change of the posterior mean",
                           float(np.max(delta[failed])), tol,
                           hint="Increase max_iter or loosen tol (or use update='mackay').")


#: learned noise (update="em"): EM also runs from this multiple of the first
#: start var(y) / 100 (see select_by_evidence)
NOISE_START_RATIO = 10.0


#: ... and, one snapshot per target, from this multiple of it, ``var(y)``:
#: the noise variance of data that are all noise (SNR 0 dB, the largest the
#: noise can be; ARDRegression's start), when the result kept so far has more
#: than ``NOISE_TOP_ACTIVE * m`` active atoms (see more_noise_starts)
NOISE_TOP_RATIO = 100.0


#: ... and, last, from this multiple of it, ``var(y) / 10^4``, when the kept
#: result still has more than ``NOISE_TOP_ACTIVE * m`` atoms: at high SNR the
#: three higher starts can all end at an over-estimated noise variance (true
#: atoms pruned, others kept in their place); EM from below then descends to
#: the noise level (measured: Toeplitz 64 x 256, 19 non-zeros, 80 dB, the noise
#: variance 5e5 times the truth and -8.3 dB from the higher starts; -76.2 dB,
#: BIC -756 against -149, from this one).  Its result is judged by the same
#: criterion as the others: with each atom costing log N (START_UNDERSAMPLING),
#: the fits where atoms absorb the noise from below no longer have the lower
#: criterion (on the 16-draw accuracy grid of the benchmarks page, 1440 fits,
#: the low start replaced a fit with 1.7 or more times fewer atoms twice, and
#: was the better fit both times: Toeplitz 64 x 256, 19 non-zeros, 60 dB,
#: seed 11, -5.2 -> -54.1 dB, the noise variance 1.8e4 -> 0.69 times the truth)
NOISE_LOW_RATIO = 0.01


#: further noise starts run only when the result kept so far keeps more than
#: this fraction of m atoms: the signature of atoms absorbing the noise
NOISE_TOP_ACTIVE = 0.15


def more_noise_starts(gamma, m, axis):
    """Whether a further noise start runs: some target's kept result has more
    than ``NOISE_TOP_ACTIVE * m`` active atoms (``gamma`` > 0 along ``axis``)."""
    return bool(np.any(np.count_nonzero(gamma > 0, axis=axis) > NOISE_TOP_ACTIVE * m))


#: a later start replaces the result kept so far only when its BIC is lower
#: by more than this ("strong" evidence, Kass and Raftery 1995)
BIC_MARGIN = 6.0


def penalised_cost(cost, n_active, m, undersampling=1.0):
    """Type-II cost plus the BIC penalty ``(K + 1) log m`` of its ``K`` active
    prior variances and the noise variance (Schwarz 1978); with
    ``undersampling`` ``N / m`` above 1, each active prior variance also
    costs ``log(N / m)`` (see START_UNDERSAMPLING)."""
    return cost + (n_active + 1) * np.log(m) + n_active * np.log(max(undersampling, 1.0))


#: between noise starts, each active atom costs ``log N`` instead of the BIC's
#: ``log m`` (``penalised_cost`` with ``undersampling=N/m``): the noise-absorbing
#: fit keeps atoms that are the best of the N columns at fitting the noise,
#: and the largest type-II gain of a pure-noise column among N exceeds log m
#: when N >> m (about 6 for N = 256 against log 64 = 4.2).  The correction
#: vanishes at m = N.  Measured on the accuracy grid of the benchmarks page
#: (90 cells, 4-draw means): Gaussian 64 x 256 with 6 non-zeros at 10 dB
#: SBL() -10.5 -> -12.4 dB, GGAMPSBL() -8.8 -> -12.4 dB (SBL given the noise
#: -13.4); no cell fell more than 1.5 dB behind SBL given the noise or
#: behind ARD.  False: the plain BIC.
START_UNDERSAMPLING = True


def start_undersampling(N, m):
    """The ``undersampling`` of ``penalised_cost`` between noise starts:
    ``N / m`` with START_UNDERSAMPLING, else 1 (the plain BIC)."""
    return N / m if START_UNDERSAMPLING else 1.0


def replaces(cost1, cost2):
    """Per problem, whether a later result (criterion ``cost2``) replaces
    the kept one (``cost1``): its criterion is lower by more than
    ``BIC_MARGIN``.  The one rule of the noise starts of SBL and GGAMP-SBL
    and of GGAMP-SBL's two VAMP fits."""
    return np.asarray(cost2) < np.asarray(cost1) - BIC_MARGIN


def _final_costs(res, m, undersampling):
    out = []
    for obj, st, gam in zip(res["objective"], res["status"], res["gamma"]):
        out.append(np.inf if (not len(obj) or st == 2) else
                   penalised_cost(float(obj[-1]), np.count_nonzero(gam > 0), m, undersampling))
    return np.array(out)


def select_by_evidence(res1, res2, shared, m, undersampling=1.0):
    """Per problem, the EM result with the lower penalised type-II cost.

    With the noise variance learned, the type-II likelihood has several
    local optima.  At low SNR, EM started from ``var(y) / 100`` ends where
    many atoms absorb the noise and ``sigma^2`` is 1/100 to 1/20 of the
    truth; its likelihood is the larger one (it grows without bound as
    atoms interpolate ``y``), so the plain evidence cannot choose.  The
    Bayesian information criterion (Schwarz 1978) on the type-II model,
    the cost ``-2 log p(y | gamma, sigma^2)`` plus ``(K + 1) log m`` for the
    ``K`` active prior variances and the noise variance, picks the start
    from ``NOISE_START_RATIO`` times higher at low SNR and the small start
    at high SNR, where the larger one can stay at an over-estimated noise.
    At 10 dB on correlated (Toeplitz) matrices both of these starts can end
    in the noise-absorbing optimum; EM from ``var(y)`` (``NOISE_TOP_RATIO``)
    descends to the noise level from above and is the third candidate;
    EM from ``NOISE_LOW_RATIO`` times the first start, the fourth, descends
    to it from below where the higher three stop at an over-estimated noise
    variance at high SNR.
    A later start replaces the result kept so far only when its criterion
    is lower by more than ``BIC_MARGIN`` (strong evidence, Kass and Raftery
    1995): at high SNR both ends can be equally good fits that differ by one
    atom (the rule is ``replaces``).  ``m``
    is the number of samples (``m L`` for M-SBL), ``undersampling`` as in
    ``penalised_cost`` (``N / m`` with ``START_UNDERSAMPLING``: each active
    atom costs ``log N``).
    """
    g = len(res1["objective"])
    pick2 = replaces(_final_costs(res1, m, undersampling), _final_costs(res2, m, undersampling))
    if not np.any(pick2):
        return res1
    if np.all(pick2) or shared:
        return res2
    out = dict(res1)
    for key in ("mu", "gamma", "d", "sigma2", "n_iter", "status", "delta"):
        out[key] = np.where(pick2.reshape((g,) + (1,) * (res1[key].ndim - 1)),
                            res2[key], res1[key])
    out["objective"] = [res2["objective"][gi] if pick2[gi] else res1["objective"][gi]
                        for gi in range(g)]
    return out


def _run_em(A, Y, *, shared, noise_variance, learn_noise, update, prune, max_iter, tol,
            learn_correlation=False, verbose=0, name="SBL"):
    """Validated arrays in, SolverResult out (working precision, warnings emitted)."""
    wdt = work_dtype(A.dtype, Y.dtype)
    Aw = np.asarray(A, dtype=wdt)
    Yw = np.asarray(Y, dtype=wdt)
    m, N = Aw.shape
    L = Yw.shape[1]
    g = 1 if shared else L
    # solve for A / a and Y / b (powers of two), unscale below: the estimates
    # are scale equivariant over the whole float range
    a, b = problem_scales(Aw, Yw, shared=shared)
    Aw = scale_operator(Aw, a)
    Yw = Yw / (b if not shared else b[0])
    learn = resolve_learn_noise(learn_noise, noise_variance)
    s2 = initial_noise_variance(Yw, noise_variance)
    if noise_variance is not None:
        s2 = s2 / (b ** 2 if not shared else b[0] ** 2)
    if noise_variance is None and update == "mackay":
        # Tipping's noise rule collapses from a small start when N > m (the
        # model first interpolates y); start from var(y) as ARD does.
        s2 = 100.0 * s2
    if shared:
        s2 = np.array([np.mean(s2)])
    def run(s2):
        return em_sbl(Aw, Yw, shared=shared, gamma0=np.ones((g, N)), sigma2=s2,
                      learn_noise=learn, update=update, prune=prune, max_iter=max_iter,
                      tol=tol, learn_correlation=learn_correlation, verbose=verbose, name=name)

    res = run(s2)
    if learn and noise_variance is None and update == "em":
        # two starts of the noise variance, the one with the lower type-II cost
        # plus BIC penalty kept (see select_by_evidence)
        sel = dict(m=m * (L if shared else 1),
                   undersampling=start_undersampling(N, m))
        res = select_by_evidence(res, run(NOISE_START_RATIO * s2), shared, **sel)
        if not shared and more_noise_starts(res["gamma"], m, axis=1):
            # a third, from var(y), while atoms absorb the noise: EM then
            # descends to the noise level from above (see SBL, noise_variance)
            res = select_by_evidence(res, run(NOISE_TOP_RATIO * s2), shared, **sel)
        if not shared and more_noise_starts(res["gamma"], m, axis=1):
            # and from below, when the kept result still keeps many atoms
            res = select_by_evidence(res, run(NOISE_LOW_RATIO * s2), shared, **sel)
    report_status(name, res["status"], res["delta"], tol, res["n_iter"])
    with np.errstate(over="ignore", invalid="ignore"):
        f = b / a  # (g,): x = x' b / a
        res["mu"] = res["mu"] * f[:, None, None]
        res["gamma"] = res["gamma"] * (f ** 2)[:, None]
        res["d"] = res["d"] * (f ** 2)[:, None]
        res["sigma2"] = res["sigma2"] * b ** 2
        R = 1 if not shared else L
        res["objective"] = [o + R * m * 2.0 * np.log(bg) for o, bg in zip(res["objective"], b)]
    check_unscaled(res["mu"], res["gamma"], res["d"], res["sigma2"])
    return res


class _BaseEMSBL(LinearPredictMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    _parameter_constraints = dict(SBL_CONSTRAINTS)
    _shared = False
    _correlated = False

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # converted to dense (see dense_matrix)
        return tags

    def fit(self, X, y):
        """Fit the model by type-II maximum likelihood.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Dictionary / sensing matrix ``A`` (real or complex).  The exact
            E-step needs a dense matrix: a scipy.sparse ``X`` is converted
            (up to 2**27 entries; larger ones raise a TypeError asking for
            ``X.toarray()``); use :class:`GGAMPSBL` for large sparse
            matrices and LinearOperators.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Measurement(s).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        name = type(self).__name__
        validate_params(self.get_params(), self._parameter_constraints, name)
        X = dense_matrix(X, "X", name)
        X, y = validate_Xy(self, X, y, allow_complex=True)
        odt = out_dtype(X.dtype, y.dtype)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        A, Y, X_mean, Y_mean = center_data(X, Y, self.fit_intercept)
        res = _run_em(A, Y, shared=self._shared, noise_variance=self.noise_variance,
                      learn_noise=self.learn_noise, update=self.update, prune=self.prune,
                      max_iter=self.max_iter, tol=self.tol,
                      learn_correlation=self._correlated, verbose=self.verbose, name=name)
        one = y.ndim == 1
        if self._shared:
            coef = res["mu"][0].T  # (L, N)
            self.gamma_ = res["gamma"][0]
            self.posterior_variance_ = res["d"][0]
            self.noise_variance_ = float(res["sigma2"][0])
            self.n_iter_ = int(res["n_iter"][0])
            self.delta_ = float(res["delta"][0])
            self.objective_ = res["objective"][0]
            self.converged_ = bool(res["status"][0] == 0)
        else:
            coef = res["mu"][:, :, 0]
            self.gamma_ = res["gamma"][0] if one else res["gamma"]
            self.posterior_variance_ = res["d"][0] if one else res["d"]
            self.noise_variance_ = float(res["sigma2"][0]) if one else res["sigma2"]
            self.n_iter_ = int(res["n_iter"][0]) if one else res["n_iter"]
            self.delta_ = float(res["delta"][0]) if one else res["delta"]
            self.objective_ = res["objective"][0] if one else res["objective"]
            self.converged_ = bool(res["status"][0] == 0) if one else res["status"] == 0
        if self._correlated:
            self.correlation_ = res["B"]
            self.beta_ = float(res["beta"])
        self.coef_ = (coef[0] if one else coef).astype(odt, copy=True)
        gam = res["gamma"]
        store_posterior(self, np.asarray(A, dtype=work_dtype(A.dtype, Y.dtype)), gam,
                        res["sigma2"], one=one, shared=self._shared)
        if self.fit_intercept:
            self.intercept_ = (Y_mean - coef @ X_mean)
            self.intercept_ = self.intercept_[0] if one else self.intercept_.astype(odt)
        else:
            self.intercept_ = 0.0 if one else np.zeros(Y.shape[1], dtype=odt)
        return self


class SBL(_BaseEMSBL):
    r"""Sparse Bayesian learning by expectation-maximisation (EM-SBL).

    Type-II maximum likelihood for the sparse linear model
    :math:`y = Ax + e`: every coefficient gets its own zero-mean Gaussian
    prior of variance :math:`\gamma_i`, the variances (and optionally the
    noise variance) are learned from the data, and most of them go to zero,
    which prunes the corresponding atoms.  The estimate is the posterior
    mean.  Several targets are solved independently in one batched call.

    Parameters
    ----------
    noise_variance : float > 0, default=None
        Noise variance :math:`\sigma^2`.  None: learned; with ``update="em"``
        EM runs from ``var(y) / 100`` and from ``var(y) / 10`` and, with one
        measurement vector per target, while the result kept so far has more
        than ``0.15 m`` active atoms (atoms absorbing the noise), from
        ``var(y)`` (the noise variance of data that are all noise) and then
        ``var(y) / 10^4`` (the noise at high SNR), and keeps,
        per target, the result with the lowest type-II cost plus the BIC
        penalty ``(K + 1) log m`` with each of the K active atoms costing
        ``log N`` instead of ``log m`` when ``N > m`` (the atoms were
        chosen among N columns; a later start must be lower by more than
        6); with ``update="mackay"`` it
        starts from ``var(y)``.  Given: kept fixed unless ``learn_noise=True``
        (then it is the starting value).
    learn_noise : bool or "auto", default="auto"
        Learn :math:`\sigma^2` by EM; "auto" learns it exactly when
        ``noise_variance`` is None.
    update : {"em", "mackay"}, default="em"
        M-step rule: "em" (:math:`\gamma_i \leftarrow \mu_i^2 + \Sigma_{ii}`,
        monotone decrease of the cost) or "mackay" (Tipping's fixed point
        :math:`\gamma_i \leftarrow \mu_i^2 / (1 - \Sigma_{ii}/\gamma_i)`,
        usually much faster, not monotone).
    prune : "auto" or float in [0, 1), default="auto"
        Pruning rule.  "auto": an atom is removed when its signal-to-noise
        ratio :math:`\gamma_i\|a_i\|^2/\sigma^2` (current noise variance)
        is below 10 *and* the cost as a function of :math:`\gamma_i` alone
        is minimised at 0 (Tipping & Faul's :math:`q_i^2 \le s_i`): such an
        atom cannot be told apart from noise.  The threshold follows the
        noise level, so it is as safe at 60 dB as at 30 dB, and it gives the
        sparse estimates (and the speed) of aggressive pruning.  Pruning is
        reversible: when the iterations meet the stopping rule, every pruned
        atom is tested with Tipping & Faul's addition test (the cost as a
        function of :math:`\gamma_i` alone is minimised at
        :math:`\gamma_i = (q_i^2 - s_i)/s_i^2 > 0`, and the atom would pass
        the signal-to-noise test above) and put back with that
        :math:`\gamma_i`; the iterations resume until no atom returns (at
        most 50 rounds).  This is what keeps a learned noise variance from
        feeding back into pruning: an early, over-estimated
        :math:`\sigma^2` prunes true atoms, and they return once the
        estimate has come down (see Notes).  With the noise variance
        learned and one measurement vector per target, the other direction
        is cut as well: atoms that fit the noise lower :math:`\sigma^2`,
        which keeps them, so when the iterations settle the active atom
        whose type-II log-likelihood gain
        :math:`(|\mu_i|^2/(\gamma_i(1-\rho_i)) + \log(1-\rho_i))/2`
        (:math:`\rho_i = 1 - \Sigma_{ii}/\gamma_i`; Tipping & Faul's
        deletion change) is smallest is removed when that gain is below
        :math:`\frac12\log m`, the BIC cost of its prior variance, one
        atom per round (deletion and re-admission rounds together at most
        50), and a pruned atom is re-admitted only when its gain exceeds
        it.  A float:
        relative threshold, :math:`\gamma_i < \mathrm{prune}\cdot
        \max_j \gamma_j` is set to zero (1e-8: numerical pruning only, the
        plain EM iterates; 1e-4 to 1e-3 as in Zhang's SBL codes, which can
        prune true atoms at very high SNR).
    max_iter : int, default=3000
        Maximum number of EM iterations (per noise start).  EM with the noise
        learned can take over 1000 iterations on correlated columns (Toeplitz(0.9),
        192 x 256, 58 non-zeros, 20 dB: 1250 to 2480; stopped at 1000, the
        mean error over 4 draws is -6.3 dB instead of -10.2 dB).
    tol : float, default=1e-6
        Stop when :math:`\|\mu - \mu_{old}\|/\|\mu\| < \mathrm{tol}` or when
        :math:`\max_i|\Delta\gamma_i| \le 10^{-8}\max_i\gamma_i`.
    fit_intercept : bool, default=False
        Centre ``X`` and ``y`` and fit an (unpenalised) intercept.
    verbose : int, default=0
        Print progress every iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Posterior mean (zero on pruned atoms).
    posterior_variance_ : ndarray, same shape as ``coef_`` (real)
        Diagonal of the posterior covariance.
    gamma_ : ndarray, same shape as ``coef_``
        Learned prior variances.
    noise_variance_ : float or ndarray of shape (n_targets,)
        Noise variance used at the end (learned or given).
    n_iter_ : int or ndarray of shape (n_targets,)
        Number of EM iterations.
    delta_ : float or ndarray of shape (n_targets,)
        Final relative change of the posterior mean (the convergence figure).
    converged_ : bool or ndarray of bool
        Whether the stopping rule was met.
    objective_ : ndarray or list of ndarray
        Type-II cost :math:`\log|\Sigma_y| + y^H\Sigma_y^{-1}y` at every
        iteration.
    intercept_ : float or ndarray of shape (n_targets,)
        Zero unless ``fit_intercept``.
    active_ : ndarray of int, or list of them (one per target)
        Indices of the atoms with :math:`\gamma_i > 0`.
    sigma_ : ndarray of shape (n_active, n_active), or list of them
        Posterior covariance :math:`(A_K^HA_K/\sigma^2 + \Gamma_K^{-1})^{-1}`
        on the active atoms at the returned hyperparameters (as
        ``ARDRegression.sigma_``; its diagonal is ``posterior_variance_`` on
        ``active_``); one per target for independent targets.  Used by
        ``predict(X, return_std=True)``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    GGAMPSBL : the same model with a matrix-free, O(mN) GAMP E-step.
    MSBL : common support over several measurement vectors.
    sbl : the functional interface.

    Notes
    -----
    Model: :math:`y = Ax + e`, :math:`e \sim N(0, \sigma^2 I)`,
    :math:`x_i \sim N(0, \gamma_i)` (circular complex Gaussians for complex
    data).  The hyperparameters minimise the type-II cost
    :math:`\log|\Sigma_y| + y^H \Sigma_y^{-1} y` with
    :math:`\Sigma_y = \sigma^2 I + A\Gamma A^H`.  E-step:
    :math:`\Sigma = (\sigma^{-2}A^HA + \Gamma^{-1})^{-1}`,
    :math:`\mu = \sigma^{-2}\Sigma A^H y`; M-step as in ``update``; noise
    :math:`\sigma^2 \leftarrow (\|y - A\mu\|^2 + \sigma^2\sum_i\rho_i)/m`
    with :math:`\rho_i = 1 - \Sigma_{ii}/\gamma_i` (EM), or Tipping's
    :math:`\sigma^2 \leftarrow \|y - A\mu\|^2/(m - \sum_i\rho_i)` with
    ``update="mackay"``.  Learning the noise without over-pruning: an
    over-estimated :math:`\sigma^2` prunes true atoms, the residual grows
    and so does the next :math:`\sigma^2`.  To break that loop, with
    ``prune="auto"`` the pruned atoms are re-admitted by Tipping & Faul's
    addition test [3]_ at the current :math:`\sigma^2` whenever the EM
    iterations settle, so the pair (support, noise) can only stop where no
    pruned atom would lower the type-II cost: the learned
    :math:`\sigma^2` is then within about 10 % of the truth (100 x 200
    Gaussian matrices, 20 non-zeros) and the estimate matches SBL given the
    true noise variance (about -46 dB at
    40 dB SNR, -66 dB at 60 dB).  An atom returns only if it would also
    pass the signal-to-noise test of the pruning rule, so that a noise
    variance that is still too small does not re-admit noise atoms (which
    would drive the estimate to the interpolating solution,
    :math:`\sigma^2 \to 0`).  The E-step is done in the smaller of the
    m-space (Cholesky of :math:`\Sigma_y`, :math:`m^2K + m^3/3` flops) and the
    K-space of the K unpruned atoms (Cholesky of
    :math:`I + \sigma^{-2}\Gamma^{1/2}A_K^HA_K\Gamma^{1/2}`, :math:`K^3/3`
    flops), the two sides of Woodbury's identity.  With ``update="em"`` and
    numerical pruning (``prune=1e-8`` or 0) the cost decreases monotonically
    (EM); the ``"auto"`` rule only removes an atom whose coordinate-wise
    optimum is :math:`\gamma_i = 0`.

    References
    ----------
    .. [1] M. E. Tipping, "Sparse Bayesian learning and the relevance vector
       machine", JMLR 1, 2001.
    .. [2] D. P. Wipf and B. D. Rao, "Sparse Bayesian learning for basis
       selection", IEEE Trans. Signal Process. 52(8), 2004.
    .. [3] M. E. Tipping and A. C. Faul, "Fast marginal likelihood
       maximisation for sparse Bayesian models", AISTATS 2003 (the
       :math:`q_i^2 \le s_i` test of ``prune="auto"``).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import SBL
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((30, 60))
    >>> x = np.zeros(60); x[[3, 17, 42]] = [1.5, -2.0, 1.0]
    >>> y = A @ x + 1e-3 * rng.standard_normal(30)
    >>> est = SBL(noise_variance=1e-6, update="mackay").fit(A, y)
    >>> np.flatnonzero(np.abs(est.coef_) > 1e-2).tolist()
    [3, 17, 42]
    """

    def __init__(self, *, noise_variance=None, learn_noise="auto", update="em", prune="auto",
                 max_iter=3000, tol=1e-6, fit_intercept=False, verbose=0):
        self.noise_variance = noise_variance
        self.learn_noise = learn_noise
        self.update = update
        self.prune = prune
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.verbose = verbose


class MSBL(_BaseEMSBL):
    r"""M-SBL: sparse Bayesian learning for multiple measurement vectors.

    The columns of ``Y`` share one support: row :math:`i` of the
    coefficient matrix has prior :math:`N(0, \gamma_i I_L)`, so one vector of
    hyperparameters is learned from all snapshots (joint sparsity).

    Parameters
    ----------
    noise_variance : float > 0, default=None
        Noise variance; None: learned.
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    update : {"em", "mackay"}, default="em"
        M-step rule (EM, monotone; or the fixed point of Wipf & Rao).
    prune : "auto" or float in [0, 1), default="auto"
        Relative pruning threshold on gamma, or the noise-relative rule
        "auto" (see ``SBL``).
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Relative change of the posterior mean (or of gamma) to stop.
    fit_intercept : bool, default=False
        Centre the data and fit an intercept per column.
    verbose : int, default=0
        Print progress.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features) or (n_features,)
        Posterior mean, one row per measurement vector, common support.
    posterior_variance_ : ndarray of shape (n_features,)
        Posterior variance of each row (the same for every snapshot).
    gamma_ : ndarray of shape (n_features,)
        Learned row variances.
    noise_variance_ : float
        Noise variance used at the end.
    n_iter_ : int
        Number of iterations.
    delta_ : float
        Final relative change of the posterior mean.
    converged_ : bool
        Whether the stopping rule was met.
    objective_ : ndarray
        Cost :math:`L\log|\Sigma_y| + \mathrm{tr}(Y^H\Sigma_y^{-1}Y)` per iteration.
    intercept_ : float or ndarray of shape (n_targets,)
        Zero unless ``fit_intercept``.
    active_ : ndarray of int, or list of them (one per target)
        Indices of the atoms with :math:`\gamma_i > 0`.
    sigma_ : ndarray of shape (n_active, n_active), or list of them
        Posterior covariance :math:`(A_K^HA_K/\sigma^2 + \Gamma_K^{-1})^{-1}`
        on the active atoms at the returned hyperparameters (as
        ``ARDRegression.sigma_``; its diagonal is ``posterior_variance_`` on
        ``active_``); one per target for independent targets.  Used by
        ``predict(X, return_std=True)``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    SBL : independent supports.
    TSBL : temporally correlated snapshots.

    Notes
    -----
    :math:`Y = AX + V`; E-step :math:`M = \Gamma A^H\Sigma_y^{-1}Y`,
    :math:`d = \mathrm{diag}(\Gamma - \Gamma A^H\Sigma_y^{-1}A\Gamma)`;
    M-step :math:`\gamma_i \leftarrow \|M_{i\cdot}\|^2/L + d_i` (EM) or
    :math:`(\|M_{i\cdot}\|^2/L)/(1 - d_i/\gamma_i)`; noise
    :math:`\sigma^2 \leftarrow (\|Y - AM\|_F^2/L + \sigma^2\sum_i(1 - d_i/\gamma_i))/m`.
    Cost :math:`2m^2N + 2mNL` per iteration (less after pruning).

    References
    ----------
    .. [1] D. P. Wipf and B. D. Rao, "An empirical Bayesian strategy for
       solving the simultaneous sparse approximation problem", IEEE Trans.
       Signal Process. 55(7), 2007.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import MSBL
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 50))
    >>> X = np.zeros((50, 4)); X[[2, 30]] = rng.standard_normal((2, 4))
    >>> est = MSBL(noise_variance=1e-6, update="mackay").fit(A, A @ X)
    >>> np.flatnonzero(est.gamma_ > 1e-3 * est.gamma_.max()).tolist()
    [2, 30]
    """

    _shared = True

    def __init__(self, *, noise_variance=None, learn_noise="auto", update="em", prune="auto",
                 max_iter=1000, tol=1e-6, fit_intercept=False, verbose=0):
        self.noise_variance = noise_variance
        self.learn_noise = learn_noise
        self.update = update
        self.prune = prune
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.verbose = verbose


class TSBL(_BaseEMSBL):
    r"""T-MSBL: sparse Bayesian learning with temporally correlated sources.

    Multiple measurement vectors with a common support whose non-zero rows
    are correlated across snapshots: row :math:`i` has prior
    :math:`N(0, \gamma_i B)` with an :math:`L\times L` correlation matrix
    :math:`B` learned from the data and regularised to the AR(1) form
    :math:`B_{kl} = \beta^{|k-l|}`.

    Parameters
    ----------
    noise_variance : float > 0, default=None
        Noise variance; None: learned.
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    update : {"em", "mackay"}, default="em"
        Gamma rule: EM (as Zhang's reference code) or the fixed point of
        the T-MSBL paper.
    prune : float in [0, 1) or "auto", default="auto"
        The noise-relative rule "auto" (see ``SBL``; EM rule only, the
        fixed point uses 1e-8), or a relative pruning threshold on gamma.
    max_iter : int, default=1000
        Maximum number of iterations.
    tol : float, default=1e-6
        Relative change of the posterior mean (or of gamma) to stop.
    fit_intercept : bool, default=False
        Centre the data and fit an intercept per column.
    verbose : int, default=0
        Print progress.

    Attributes
    ----------
    coef_ : ndarray of shape (n_targets, n_features) or (n_features,)
        Posterior mean, one row per snapshot.
    correlation_ : ndarray of shape (n_targets, n_targets)
        Learned AR(1) correlation matrix :math:`B`.
    beta_ : float
        Learned AR(1) coefficient.
    posterior_variance_ : ndarray of shape (n_features,)
        Posterior variances of the E-step.
    gamma_ : ndarray of shape (n_features,)
        Learned row variances.
    noise_variance_ : float
        Noise variance used at the end.
    n_iter_ : int
        Number of iterations.
    delta_ : float
        Final relative change of the posterior mean.
    converged_ : bool
        Whether the stopping rule was met.
    objective_ : ndarray
        M-SBL cost per iteration (not monotone for T-MSBL).
    intercept_ : float or ndarray of shape (n_targets,)
        Zero unless ``fit_intercept``.
    active_ : ndarray of int, or list of them (one per target)
        Indices of the atoms with :math:`\gamma_i > 0`.
    sigma_ : ndarray of shape (n_active, n_active), or list of them
        Posterior covariance :math:`(A_K^HA_K/\sigma^2 + \Gamma_K^{-1})^{-1}`
        on the active atoms at the returned hyperparameters (as
        ``ARDRegression.sigma_``; its diagonal is ``posterior_variance_`` on
        ``active_``); one per target for independent targets.  Used by
        ``predict(X, return_std=True)``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    MSBL : uncorrelated snapshots.
    GGAMPTSBL : AR(1) sources with a GAMP/Kalman E-step.

    Notes
    -----
    T-MSBL (Zhang & Rao 2011) approximates the exact :math:`mL\times NL`
    T-SBL model in the m-dimensional space: E-step as M-SBL; M-step
    :math:`\gamma_i \leftarrow M_{i\cdot}B^{-1}M_{i\cdot}^H/L + d_i` (EM; the
    paper's fixed point divides the first term by :math:`1 - d_i/\gamma_i`
    instead), :math:`B \leftarrow \sum_i M_{i\cdot}^H M_{i\cdot}/\gamma_i`,
    normalised to unit Frobenius norm and replaced by the AR(1) Toeplitz
    matrix with
    :math:`\beta = \mathrm{mean}(\mathrm{superdiag}\,B)/\mathrm{mean}(\mathrm{diag}\,B)`,
    :math:`|\beta| \le 0.99`.  As in Zhang's reference code (version 1.11),
    the weighting by :math:`B^{-1}` is used only while more atoms than
    measurements are active (``correlation_`` and ``beta_`` still report
    the learned :math:`B`): the approximate E-step ignores :math:`B`, so the
    rows of noise-fitting atoms are white in time and :math:`B^{-1}`
    inflates their :math:`\gamma` by :math:`(1+\beta^2)/(1-\beta^2)`; with
    the weighting kept to the end T-MSBL was 3 dB worse than M-SBL at
    :math:`\beta = 0.9` (16 x 50, 6 rows, 6 snapshots, 25 dB), and with it
    T-MSBL is within 0.5 dB of M-SBL there and 6 dB better at
    :math:`\beta = 0.95` (mean NMSE of 30 trials).  With the defaults
    (learned noise) on 25 x 125 Gaussian matrices, 7 non-zero rows, 4
    snapshots, 25 dB, 30 trials: median NMSE -28.3 / -28.1 / -27.6 dB for
    T-MSBL against -28.5 / -28.2 / -27.1 dB for M-SBL at
    :math:`\beta` = 0.9 / 0.95 / 0.99 (means -28.4 / -28.2 / -26.6 against
    -28.2 / -26.8 / -24.6): on typical trials the two are within 0.2 dB at
    :math:`\beta \le 0.95` and T-MSBL is ahead at 0.99; its gain is on the
    poor trials.  Differences from Zhang's reference code: the gamma rule
    is EM by default (the reference offers both), pruning is the
    noise-relative rule with re-admission (see ``SBL``) instead of the
    fixed relative threshold, and the noise variance is learned by the EM
    rule of ``SBL`` instead of the reference's regularised rule.  Cost as
    M-SBL plus :math:`O(NL^2 + L^3)`.

    References
    ----------
    .. [1] Z. Zhang and B. D. Rao, "Sparse signal recovery with temporally
       correlated source vectors using sparse Bayesian learning", IEEE J.
       Sel. Topics Signal Process. 5(5), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import TSBL
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((20, 50))
    >>> X = np.zeros((50, 5)); X[[4, 40]] = np.cumsum(rng.standard_normal((2, 5)), axis=1)
    >>> est = TSBL(noise_variance=1e-6).fit(A, A @ X)
    >>> np.flatnonzero(est.gamma_ > 1e-3 * est.gamma_.max()).tolist()
    [4, 40]
    """

    _shared = True
    _correlated = True

    def __init__(self, *, noise_variance=None, learn_noise="auto", update="em",
                 prune="auto", max_iter=1000, tol=1e-6, fit_intercept=False, verbose=0):
        self.noise_variance = noise_variance
        self.learn_noise = learn_noise
        self.update = update
        self.prune = prune
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.verbose = verbose


def sbl(A, y, *, noise_variance=None, learn_noise="auto", update="em", prune="auto",
        max_iter=3000, tol=1e-6, verbose=0):
    r"""Sparse Bayesian learning (EM-SBL) of one or several independent targets.

    Parameters
    ----------
    A : {array-like, sparse matrix} of shape (n_measurements, n_features)
        Dictionary / sensing matrix (real or complex); a scipy.sparse
        matrix is converted to dense (up to 2**27 entries, else TypeError:
        call ``A.toarray()`` or use :func:`ggamp_sbl`).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements; each column gets its own hyperparameters.
    noise_variance : float > 0, default=None
        Noise variance; None: learned (see ``learn_noise``).
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    update : {"em", "mackay"}, default="em"
        M-step rule.
    prune : "auto" or float in [0, 1), default="auto"
        Pruning rule (see ``SBL``).
    max_iter : int, default=3000
        Maximum number of iterations.
    tol : float, default=1e-6
        Relative change of the posterior mean to stop.
    verbose : int, default=0
        Print progress.

    Returns
    -------
    result : SolverResult
        ``coef`` (n_features,) or (n_features, n_targets) posterior mean;
        ``gamma`` and ``posterior_variance`` of the same shape; ``noise_variance``;
        ``n_iter``; ``converged``; ``objective`` (cost per iteration).

    See Also
    --------
    SBL : the estimator.
    ggamp_sbl : the GAMP-based variant.

    Notes
    -----
    See ``SBL``.  Independent targets are solved in one batched
    computation (stacked Cholesky factorisations), not a loop.

    References
    ----------
    .. [1] D. P. Wipf and B. D. Rao, "Sparse Bayesian learning for basis
       selection", IEEE Trans. Signal Process. 52(8), 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import sbl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((25, 40))
    >>> x = np.zeros(40); x[[1, 20]] = [1.0, -1.0]
    >>> res = sbl(A, A @ x, noise_variance=1e-8, update="mackay")
    >>> np.round(res.coef[[1, 20]], 3)
    array([ 1., -1.])
    """
    validate_params(dict(noise_variance=noise_variance, learn_noise=learn_noise, update=update,
                         prune=prune, max_iter=max_iter, tol=tol, verbose=verbose),
                    SBL_CONSTRAINTS, "sbl")
    A = check_matrix(dense_matrix(A, "A", "sbl"), "A", allow_complex=True)
    Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
    odt = out_dtype(A.dtype, Y.dtype)
    res = _run_em(A, Y, shared=False, noise_variance=noise_variance, learn_noise=learn_noise,
                  update=update, prune=prune, max_iter=max_iter, tol=tol, verbose=verbose,
                  name="sbl")
    coef = res["mu"][:, :, 0].T
    pick = (lambda a: a[..., 0]) if was_1d else (lambda a: a)
    return SolverResult(
        coef=pick(coef).astype(odt), gamma=pick(res["gamma"].T),
        posterior_variance=pick(res["d"].T), noise_variance=pick(res["sigma2"]),
        n_iter=pick(res["n_iter"]), converged=pick(res["status"] == 0),
        objective=res["objective"][0] if was_1d else res["objective"])
