"""Kronecker-structured sparse Bayesian learning (AM-KroSBL and SVD-KroSBL).

Implements He & Joseph (2024), spec section 5.6: the dictionary
``A = A_1 kron ... kron A_I`` is given by its factors and never formed; the
hyperparameters are Kronecker-structured, ``gamma = gamma_1 kron ... kron
gamma_I``.  The E-step uses the eigendecompositions of the small matrices
``A_i Gamma_i A_i^H`` and mode products (authors' ``posterior_compute2.m``);
the M-step is alternating minimisation (AM) or a rank-one (SVD)
approximation of the EM statistics.
"""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import warn_not_converged
from .._validation import Interval, Options, check_matrix, check_targets, validate_params
from scipy.sparse.linalg import LinearOperator

from ._common import (
    A_SAFE_LOG2,
    SBL_CONSTRAINTS,
    TINY,
    abs2,
    check_unscaled,
    herm,
    noise_floor,
    out_dtype,
    problem_scales,
    work_dtype,
)

__all__ = ["KroneckerSBL"]


def mode_apply(mats, T):
    """Apply ``mats[i]`` along axis ``i`` of the tensor ``T`` (mode products).

    ``(M_1 kron ... kron M_I) vec(T) = vec(T x_1 M_1 ... x_I M_I)`` in C order.
    """
    for i, M in enumerate(mats):
        T = np.moveaxis(np.tensordot(M, T, axes=([1], [i])), 0, i)
    return T


def kron_vec(vecs):
    """``v_1 kron ... kron v_I`` as an I-way tensor (outer product)."""
    out = vecs[0]
    for v in vecs[1:]:
        out = np.multiply.outer(out, v)
    return out


def kron_estep(factors, gams, s2, Yt):
    """Posterior mean / variances under ``gamma = kron(gams)`` (spec 5.6).

    Returns mu (tensor n_1 x ... x n_I), d (same), cost, resid2, trace term.
    """
    Us, ps, Fs = [], [], []
    for A, g in zip(factors, gams):
        Ag = A * g[None, :]
        P, U = np.linalg.eigh(Ag @ herm(A))
        P = np.maximum(P, 0.0)
        Us.append(U)
        ps.append(P)
        Fs.append(herm(Ag) @ U)  # Gamma_i A_i^H U_i  (n_i x m_i)
    p = kron_vec(ps)
    Dinv = 1.0 / (s2 + p)
    z = mode_apply([herm(U) for U in Us], Yt)  # (kron U)^H y
    mu = mode_apply(Fs, Dinv * z)
    d = kron_vec(gams) - np.real(mode_apply([abs2(F) for F in Fs], Dinv))
    d = np.maximum(d, 0.0)
    cost = float(np.sum(np.log(s2 + p)) + np.sum(abs2(z) * Dinv))
    trace = float(np.sum(p * Dinv))  # sum_i (1 - d_i/gamma_i) = tr(Sigma_y^-1 A Gamma A^H)
    return mu, d, cost, trace


def am_mstep(Lam, gams, *, max_inner=100, inner_tol=1e-5):
    """Alternating minimisation of sum(log gamma + Lam/gamma) over gamma = kron(gams)."""
    I = len(gams)
    gams = [g.copy() for g in gams]
    shape = Lam.shape
    for _ in range(max_inner):
        old = kron_vec(gams)
        for i in range(I):
            others = [gams[j] if j != i else np.ones(shape[i]) for j in range(I)]
            denom = kron_vec(others)
            axes = tuple(j for j in range(I) if j != i)
            cnt = np.prod([shape[j] for j in axes]) if axes else 1
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(denom > 0, Lam / np.where(denom > 0, denom, 1.0), 0.0)
            gams[i] = np.sum(ratio, axis=axes) / cnt if axes else ratio.copy()
        # rescale: remove the scale ambiguity between factors
        norms = [np.linalg.norm(g) for g in gams[:-1]]
        if all(n > 0 for n in norms):
            for j in range(I - 1):
                gams[j] = gams[j] / norms[j]
            gams[-1] = gams[-1] * np.prod(norms)
        new = kron_vec(gams)
        if np.linalg.norm(new - old) <= inner_tol * max(np.linalg.norm(old), TINY):
            break
    return gams


def svd_mstep(Lam):
    """Rank-one (sequential SVD) Kronecker approximation of the EM statistics."""
    I = Lam.ndim
    gams = []
    rest = Lam
    for i in range(I - 1):
        M = rest.reshape(rest.shape[0], -1)
        U, S, Vt = np.linalg.svd(M, full_matrices=False)
        gams.append(np.abs(U[:, 0]))
        rest = (S[0] * np.abs(Vt[0])).reshape(rest.shape[1:])
    gams.append(np.abs(rest.reshape(-1)))
    return gams


def kron_sbl(factors, y, *, s2, learn_noise, method, prune, max_iter, tol, verbose=0):
    """The KroSBL outer loop (EM with Kronecker M-step and per-factor pruning)."""
    I = len(factors)
    n = [A.shape[1] for A in factors]
    mshape = tuple(A.shape[0] for A in factors)
    Yt = y.reshape(mshape)
    m_tot = y.size
    floor = float(noise_floor(np.sum(abs2(y)) / m_tot))
    s2 = max(float(s2), floor)
    if not np.any(y):
        # y = 0: the posterior mean is zero for every gamma and the evidence
        # log|Sigma_y| is maximised at gamma = 0 (sigma^2 at its floor); EM
        # only halves gamma at each step towards that limit, never meeting
        # the relative-change test (it stayed 0.5).  Return the exact answer.
        return dict(mu=np.zeros(int(np.prod(n)), dtype=y.dtype), d=np.zeros(int(np.prod(n))),
                    gammas=[np.zeros(k) for k in n], sigma2=s2, n_iter=0, status=0, delta=0.0,
                    objective=np.zeros(0), support=[np.zeros(0, dtype=np.intp) for _ in n])
    keep = [np.arange(k) for k in n]
    gams = [np.ones(k) for k in n]
    facs = list(factors)
    objective = []
    status, delta = 1, np.inf
    for it in range(1, max_iter + 1):
        mu, d, cost, trace = kron_estep(facs, gams, s2, Yt)
        objective.append(cost)
        if not np.isfinite(cost) or not np.all(np.isfinite(mu)):
            status = 2
            break
        Lam = abs2(mu) + d
        old = kron_vec(gams)
        if I == 1:
            new_g = [Lam.copy()]
        elif method == "am":
            new_g = am_mstep(Lam, gams)
        else:
            new_g = svd_mstep(Lam)
        if learn_noise:
            r = Yt - mode_apply(facs, mu)
            s2 = max((float(np.sum(abs2(r))) + s2 * trace) / m_tot, floor)
        # stop on the relative change of the (full) gamma, before pruning
        new = kron_vec(new_g)
        delta = float(np.linalg.norm(new - old) / max(np.linalg.norm(old), TINY))
        gams = new_g
        # prune per factor: gamma_i[j] < prune * max gamma_i
        for i in range(I):
            gi = gams[i]
            ok = gi >= prune * np.max(gi) if np.max(gi) > 0 else np.zeros(gi.size, bool)
            ok &= gi > 0
            if not np.all(ok):
                if not np.any(ok):
                    ok[np.argmax(gi)] = True
                keep[i] = keep[i][ok]
                gams[i] = gi[ok]
                facs[i] = facs[i][:, ok]
        if verbose:
            print(f"[KroneckerSBL] iter {it}: rel. change {delta:.3e}, active "
                  f"{[k.size for k in keep]}, cost {cost:.6e}", flush=True)
        if delta < tol:
            status = 0
            break
    # final re-estimation of mu with the last gamma
    mu, d, cost, _ = kron_estep(facs, gams, s2, Yt)
    full_mu = np.zeros(tuple(n), dtype=mu.dtype)
    full_d = np.zeros(tuple(n))
    ix = np.ix_(*keep)
    full_mu[ix] = mu
    full_d[ix] = d
    full_g = []
    for i in range(I):
        g = np.zeros(n[i])
        g[keep[i]] = gams[i]
        full_g.append(g)
    return dict(mu=full_mu.reshape(-1), d=full_d.reshape(-1), gammas=full_g, sigma2=s2,
                n_iter=it, status=status, delta=delta, objective=np.asarray(objective),
                support=keep)


def _kron_scaled(facs, y):
    """Factors and y divided by powers of two (``problem_scales`` applied to
    the Kronecker operator; a far-off factor is first brought to unit RMS
    column norm).  Returns ``facs', y', lf, lb`` with
    ``x = 2^lf x'`` and ``y = 2^lb y'``."""
    facs = list(facs)
    la = 0
    for i, F in enumerate(facs):
        amax = float(np.max(np.abs(F)))
        rms = amax * float(np.sqrt(np.sum(abs2(F / amax)) / F.shape[1])) if amax > 0 else 0.0
        e = int(np.round(np.log2(rms))) if rms > 0 and np.isfinite(rms) else 0
        if abs(e) > A_SAFE_LOG2:
            facs[i] = np.ldexp(F, -e) if not np.iscomplexobj(F) else F * np.ldexp(1.0, -e)
            la += e
    n = tuple(F.shape[1] for F in facs)
    mshape = tuple(F.shape[0] for F in facs)
    H = [herm(F) for F in facs]
    op = LinearOperator(
        (int(np.prod(mshape)), int(np.prod(n))), dtype=np.result_type(*facs, y),
        matvec=lambda v: mode_apply(facs, np.asarray(v).reshape(n)).reshape(-1),
        rmatvec=lambda v: mode_apply(H, np.asarray(v).reshape(mshape)).reshape(-1))
    a2, b = problem_scales(op, y[:, None], shared=False)
    ea, eb = int(np.round(np.log2(a2))), int(np.round(np.log2(b[0])))
    if ea:
        facs[0] = facs[0] * np.ldexp(1.0, -ea)
    if eb:
        y = y * np.ldexp(1.0, -eb)
    la += ea
    return facs, y, eb - la, eb


def _factors_of(X, allow_complex=True, single=None):
    """A list of factor matrices from a list/tuple, a KroneckerOperator or one matrix."""
    if isinstance(X, (list, tuple)) and (
            len(X) == 0 or all(getattr(F, "ndim", np.ndim(F)) == 2 for F in X)):
        if len(X) == 0:
            raise ValueError("X must hold at least one factor matrix; got an empty list.")
        return [check_matrix(F, f"X[{i}]", allow_complex=allow_complex) for i, F in enumerate(X)]
    facs = getattr(X, "factors", None)
    if facs is not None and not isinstance(X, np.ndarray):
        return [check_matrix(F, f"X.factors[{i}]", allow_complex=allow_complex)
                for i, F in enumerate(facs)]
    if single is not None:
        return [single(X)]
    return [check_matrix(X, "X", allow_complex=allow_complex)]


class KroneckerSBL(RegressorMixin, BaseEstimator):
    r"""Kronecker-structured sparse Bayesian learning (AM-KroSBL / SVD-KroSBL).

    Recovers a sparse ``x`` from ``y = (A_1 kron ... kron A_I) x + n`` when the
    support is a Kronecker product of supports (multi-dimensional channels:
    IRS-MIMO, MIMO radar, multi-way arrays).  The dictionary is given by its
    factors and never formed; the prior variances are constrained to
    ``gamma_1 kron ... kron gamma_I``, which cuts the number of
    hyperparameters from :math:`\prod n_i` to :math:`\sum n_i`.

    Parameters
    ----------
    method : {"svd", "am"}, default="svd"
        M-step: "am" alternating minimisation (closed-form block updates,
        converges to a stationary point), "svd" rank-one approximation of the
        EM statistics (faster; empirically more accurate per the paper).
    noise_variance : float > 0, default=None
        Noise variance; None: learned (starting from ``var(y)/100``).
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    prune : float in [0, 1) or None, default=None
        Per-factor relative pruning threshold (index j of factor i goes when
        :math:`\gamma_i[j] < \mathrm{prune}\max\gamma_i`); None: the authors'
        values, 1e-2 for "am" and 1e-3 for "svd".
    max_iter : int, default=150
        Maximum number of EM iterations.
    tol : float, default=1e-4
        Stop when :math:`\|\gamma - \gamma_{old}\|/\|\gamma_{old}\| < \mathrm{tol}`.
    verbose : int, default=0
        Print progress.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
        Posterior mean, ``n_features = prod(n_i)``, C order (the last factor's
        index varies fastest, as in ``np.kron``).
    posterior_variance_ : ndarray of shape (n_features,)
        Diagonal of the posterior covariance.
    gammas_ : list of ndarray
        The factor hyperparameters :math:`\gamma_i` (zero where pruned).
    gamma_ : ndarray of shape (n_features,)
        Their Kronecker product.
    support_ : list of ndarray
        Indices kept in each factor.
    noise_variance_ : float
        Noise variance used at the end.
    n_iter_ : int
        Number of EM iterations.
    delta_ : float
        Final relative change of gamma.
    converged_ : bool
        Whether the stopping rule was met.
    objective_ : ndarray
        Type-II cost :math:`\log|\Sigma_y| + y^H\Sigma_y^{-1}y` per iteration.
    n_features_in_ : int
        Number of columns of the Kronecker dictionary.

    See Also
    --------
    SBL : unstructured SBL (the flattened problem).

    Notes
    -----
    ``fit(X, y)`` takes ``X`` as a list of factor matrices
    ``[A_1, ..., A_I]`` (``A_i`` of shape ``(m_i, n_i)``), an object with a
    ``factors`` attribute (a Kronecker operator), or one matrix (then this is
    plain EM-SBL).  E-step: with eigendecompositions
    :math:`A_i\Gamma_iA_i^H = U_iP_iU_i^H`,
    :math:`\Sigma_y = (\otimes U_i)(\sigma^2 I + \otimes P_i)(\otimes U_i)^H`,
    :math:`F_i = \Gamma_iA_i^HU_i`, :math:`\mu = (\otimes F_i)\,D\,(\otimes U_i)^Hy`
    and :math:`\mathrm{diag}\,\Sigma = \gamma - (\otimes|F_i|^2)\,\mathrm{diag}(D)`,
    :math:`D = (\sigma^2I + \otimes P_i)^{-1}`, all by mode products:
    :math:`O(\sum_i m_i^3 + \prod_i n_i\sum_i m_i)` per iteration instead of
    :math:`O((\prod m_i)^2\prod n_i)`.  M-step: minimise
    :math:`\sum_k \log\gamma_k + \Lambda_k/\gamma_k` over Kronecker
    :math:`\gamma`, :math:`\Lambda = |\mu|^2 + \mathrm{diag}\,\Sigma`.

    References
    ----------
    .. [1] Y. He and G. Joseph, "Bayesian algorithms for Kronecker-structured
       sparse vector recovery with application to IRS-MIMO channel
       estimation", IEEE Trans. Signal Process., 2024 (arXiv:2307.14719).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import KroneckerSBL
    >>> rng = np.random.default_rng(0)
    >>> A1, A2 = rng.standard_normal((8, 12)), rng.standard_normal((9, 12))
    >>> x1 = np.zeros(12); x1[[2, 7]] = [1.0, -1.5]
    >>> x2 = np.zeros(12); x2[[0, 5]] = [2.0, 1.0]
    >>> y = np.kron(A1, A2) @ np.kron(x1, x2)
    >>> est = KroneckerSBL(noise_variance=1e-8).fit([A1, A2], y)
    >>> [s.tolist() for s in est.support_]
    [[2, 7], [0, 5]]
    """

    _parameter_constraints = {
        **{k: SBL_CONSTRAINTS[k] for k in ("noise_variance", "learn_noise", "max_iter", "tol",
                                           "verbose")},
        "method": [Options("am", "svd")],
        "prune": [Interval(numbers.Real, 0, 1, closed="left"), None],
    }

    def __init__(self, *, method="svd", noise_variance=None, learn_noise="auto", prune=None,
                 max_iter=150, tol=1e-4, verbose=0):
        self.method = method
        self.noise_variance = noise_variance
        self.learn_noise = learn_noise
        self.prune = prune
        self.max_iter = max_iter
        self.tol = tol
        self.verbose = verbose

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : list of array-like, Kronecker operator or array-like
            The factors ``[A_1, ..., A_I]`` of the dictionary (or one matrix).
        y : array-like of shape (prod(m_i),)
            Measurements (C order, as ``np.kron(A_1, A_2) @ x``).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        from ._common import initial_noise_variance, resolve_learn_noise

        name = type(self).__name__
        validate_params(self.get_params(), self._parameter_constraints, name)
        box = {"y": y}

        def single(M):
            M, box["y"] = self._validate_single(M, y)
            return M

        facs = _factors_of(X, single=single)
        y = box["y"]
        m_tot = int(np.prod([F.shape[0] for F in facs]))
        if y is None:
            raise ValueError(f"{name} requires y to be passed, but the target y is None.")
        Y, was_1d = check_targets(y, m_tot, "y", allow_complex=True)
        if not was_1d and Y.shape[1] != 1:
            raise ValueError(f"{name} fits one measurement vector; y has shape {Y.shape}.")
        dts = [F.dtype for F in facs] + [Y.dtype]
        wdt = work_dtype(*dts)
        odt = out_dtype(*dts)
        facs_w = [F.astype(wdt, copy=False) for F in facs]
        yv = Y[:, 0].astype(wdt, copy=False)
        for i, F in enumerate(facs_w):
            if not np.any(F):
                raise ValueError(f"factor {i} of X is zero; nothing can be recovered.")
        learn = resolve_learn_noise(self.learn_noise, self.noise_variance)
        # scale equivariance over the float range (see problem_scales): solve
        # for factors and y divided by powers of two, then unscale
        facs_w, yv, lf, lb = _kron_scaled(facs_w, yv)
        s2 = initial_noise_variance(yv[:, None], self.noise_variance)[0]
        if self.noise_variance is not None:
            s2 = float(np.ldexp(s2, -2 * lb))
        prune = self.prune if self.prune is not None else (1e-2 if self.method == "am" else 1e-3)
        res = kron_sbl(facs_w, yv, s2=s2, learn_noise=learn, method=self.method, prune=prune,
                       max_iter=self.max_iter, tol=self.tol, verbose=self.verbose)
        with np.errstate(over="ignore", invalid="ignore"):
            res["mu"] = np.ldexp(1.0, lf) * res["mu"]
            res["d"] = np.ldexp(res["d"], 2 * lf)
            res["gammas"] = [np.ldexp(res["gammas"][0], 2 * lf)] + list(res["gammas"][1:])
            res["sigma2"] = float(np.ldexp(res["sigma2"], 2 * lb))
            res["objective"] = res["objective"] + m_tot * 2.0 * lb * np.log(2.0)
        check_unscaled(res["mu"], res["d"], res["gammas"][0], res["sigma2"])
        if res["status"] == 2:
            import warnings

            from .._base import ConvergenceWarning

            warnings.warn(f"{name} diverged: non-finite values at iteration {res['n_iter']}; "
                          "rescale the factors or fix the noise variance.", ConvergenceWarning,
                          stacklevel=2)
        elif res["status"] == 1:
            warn_not_converged(name, 1, 1, "relative change of gamma", res["delta"], self.tol)
        self.factor_shapes_ = [F.shape for F in facs]
        self.n_features_in_ = int(np.prod([F.shape[1] for F in facs]))
        self.coef_ = res["mu"].astype(odt)
        self.posterior_variance_ = res["d"]
        self.gammas_ = res["gammas"]
        self.gamma_ = kron_vec(res["gammas"]).reshape(-1)
        self.support_ = res["support"]
        self.noise_variance_ = float(res["sigma2"])
        self.n_iter_ = int(res["n_iter"])
        self.delta_ = float(res["delta"])
        self.converged_ = res["status"] == 0
        self.objective_ = res["objective"]
        self.intercept_ = 0.0
        return self

    def _validate_single(self, X, y):
        # one dense matrix: scikit-learn's validation (feature names, y checks, warnings)
        from sklearn.utils.validation import validate_data

        from .._validation import _is_complex

        if _is_complex(X) or _is_complex(y) or y is None:
            return check_matrix(X, "X", allow_complex=True), y
        return validate_data(self, X, y, y_numeric=True, dtype=[np.float64, np.float32])

    def predict(self, X):
        """Apply the Kronecker dictionary to the posterior mean.

        Parameters
        ----------
        X : list of array-like, Kronecker operator or array-like
            Factors (or one matrix) with ``prod(n_i) = n_features_in_`` columns.

        Returns
        -------
        y_pred : ndarray of shape (prod(m_i),)
            ``(A_1 kron ... kron A_I) coef_``.
        """
        check_is_fitted(self)
        from .._validation import validate_X

        facs = _factors_of(X, single=lambda M: validate_X(self, M, allow_complex=True))
        n = [F.shape[1] for F in facs]
        if int(np.prod(n)) != self.n_features_in_:
            raise ValueError(f"X has {int(np.prod(n))} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return mode_apply(facs, self.coef_.reshape(n)).reshape(-1)
