"""GGAMP-SBL: sparse Bayesian learning with a damped Gaussian GAMP E-step.

Implements Al-Shoukairi, Schniter & Rao (2018) GGAMP-SBL (spec section 5.2):
the EM iterations of SBL where the posterior moments are produced by damped
generalised approximate message passing (GAMP) with the Gaussian prior
``N(0, gamma)`` and a Gaussian likelihood.  Each GAMP iteration costs four
products (``A x``, ``A^H s``, ``|A|^2 tau_x``, ``|A^H|^2 tau_s``), O(mN), and
only needs ``A`` through products, so a LinearOperator is accepted (with
scalar variances, spec 5.2).  The engine ``gamp_estep`` is shared with
GGAMP-TSBL (``_tsbl_gamp.py``), which plugs in a Kalman smoother as denoiser.
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from .._base import ConvergenceWarning, SolverResult, warn_not_converged
from .._validation import (
    Interval,
    Options,
    check_operator,
    check_targets,
    validate_params,
    validate_Xy,
)
from ._common import (
    DENSIFY_MAX_ENTRIES,
    HUGE,
    SBL_CONSTRAINTS,
    TINY,
    LinearPredictMixin,
    abs2,
    center_data,
    check_unscaled,
    column_norms2,
    dense_matrix,
    frobenius_norm2,
    herm,
    initial_noise_variance,
    matmat,
    noise_floor,
    out_dtype,
    problem_scales,
    resolve_learn_noise,
    rmatmat,
    scale_operator,
    spectral_norm,
    store_posterior,
    work_dtype,
)
from ._em import (
    AUTO_SNR,
    BIC_ATOMS,
    MAX_READMIT,
    auto_prune_mask,
    bic_keep,
    em_sbl,
    readmit,
    type2_cost,
)
from ._sbl import (NOISE_LOW_RATIO, NOISE_START_RATIO, NOISE_TOP_RATIO, more_noise_starts,
                   penalised_cost, replaces, start_undersampling)

# inexact E-steps (see ggamp_sbl_kernel): the first one, from x = 0, to 1e-3
# (the M-step that follows moves gamma by about 25 %), the next ones to 1e-2
# of the last relative change of gamma; the final one to gamp_tol
EPS_FIRST = 1e-3
EPS_FACTOR = 1e-2
DIV_PATIENCE = 5  # as _gamp_kernels.DIV_PATIENCE (kept apart: that module imports numba)

__all__ = ["GGAMPSBL", "ggamp_sbl", "auto_damping"]

GAMP_CONSTRAINTS = {
    **SBL_CONSTRAINTS,
    "damping": [Interval(numbers.Real, 0, 1, closed="right"), Options("auto")],
    "max_gamp_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "gamp_tol": [Interval(numbers.Real, 0, None, closed="left")],
    "variances": [Options("auto", "vector", "scalar")],
}


def auto_damping(A, *, fro2=None, spec=None):
    r"""The default GAMP damping factor of spec 5.2.

    The positive root of :math:`a\theta^2 + b\theta + c = 0` with
    :math:`a = 1.1\,mN\|A\|_2^2/\|A\|_F^2`, :math:`b = 2(N - m)`,
    :math:`c = -4N`, capped at 1.

    Parameters
    ----------
    A : ndarray, sparse matrix or LinearOperator of shape (m, N)
        The sensing matrix.
    fro2, spec : float, optional
        Precomputed :math:`\|A\|_F^2` and :math:`\|A\|_2`.

    Returns
    -------
    theta : float
        Damping factor in (0, 1].

    See Also
    --------
    GGAMPSBL : uses it when ``damping="auto"``.

    Notes
    -----
    Ill-conditioned matrices have a large :math:`\|A\|_2^2/\|A\|_F^2` and get
    a small factor (about 0.59 at condition number :math:`10^2` and 0.44 at
    :math:`10^4` for 100 x 200 matrices); the rule comes from the FastSBL
    re-implementation of GGAMP-SBL, whose attribution to the paper we could
    not verify.

    References
    ----------
    .. [1] M. Al-Shoukairi, P. Schniter and B. D. Rao, "A GAMP-based low
       complexity sparse Bayesian learning algorithm", IEEE Trans. Signal
       Process. 66(2), 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.bayes import auto_damping
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((100, 100)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((200, 100)))
    >>> A = U @ np.diag(np.geomspace(1, 1e-2, 100)) @ V.T
    >>> round(auto_damping(A), 2)
    0.59
    """
    m, N = A.shape
    fro2 = frobenius_norm2(A) if fro2 is None else fro2
    spec = spectral_norm(A, tol=1e-3) if spec is None else spec
    if fro2 <= 0 or spec <= 0:
        return 1.0
    a = 1.1 * m * N * spec ** 2 / fro2
    b = 2.0 * (N - m)
    c = -4.0 * N
    theta = (-b + np.sqrt(b * b - 4 * a * c)) / (2 * a)
    return float(min(max(theta, 1e-3), 1.0))


class _Sq:
    """Products with the element-wise squared modulus ``S = |A|^2``.

    Dense and sparse matrices store S (vector variances); a LinearOperator
    uses the scalar approximation ``S ~ (||A||_F^2 / mN) 1 1^T`` (spec 5.2).
    """

    def __init__(self, A, mode, fro2):
        m, N = A.shape
        self.scalar = mode == "scalar" or (mode == "auto" and isinstance(A, LinearOperator))
        if not self.scalar and isinstance(A, LinearOperator):
            raise ValueError("variances='vector' needs an explicit matrix A; a LinearOperator "
                             "only supports variances='scalar' (or 'auto').")
        self.c = fro2 / (m * N)
        self.m, self.N = m, N
        if not self.scalar:
            if sp.issparse(A):
                S = A.copy()
                S.data = abs2(S.data)
                self.S = S.tocsr()
                self.St = S.T.tocsr()
            else:
                self.S = abs2(A)
                self.St = self.S.T

    def mv(self, tx):  # (N, L) -> (m, L)
        if self.scalar:
            return np.broadcast_to(self.c * np.sum(tx, axis=0), (self.m, tx.shape[1]))
        return self.S @ tx

    def rmv(self, ts):  # (m, L) -> (N, L)
        if self.scalar:
            return np.broadcast_to(self.c * np.sum(ts, axis=0), (self.N, ts.shape[1]))
        return self.St @ ts


def gamp_estep(A, Sq, Y, s2, state, denoise, theta, max_iter, eps):
    """Damped Gaussian-output GAMP (spec 5.2 inner loop), warm-started.

    ``state`` = dict(x, s, tx) is updated in place (documented mutation:
    the warm start of the next EM iteration).  ``denoise(r, tau_r)`` returns
    ``(x_new, tau_x)``.

    Returns
    -------
    n_iter : int
    delta : float  final relative change of x
    diverged : bool
    tau_r, r : (N, L) the last pseudo-measurements (for the callers' M-steps)
    """
    x, s, tx = state["x"], state["s"], state["tx"]
    ynorm = np.sqrt(np.sum(abs2(Y)))
    delta = np.inf
    r = tr = None
    bad = 0
    for k in range(1, max_iter + 1):
        tp = np.clip(Sq.mv(tx), TINY, HUGE)
        Ax = matmat(A, x)
        p = Ax - tp * s
        s_new = (Y - p) / (tp + s2)
        s = (1.0 - theta) * s + theta * s_new
        ts = 1.0 / (tp + s2)
        tr = 1.0 / np.clip(Sq.rmv(ts), TINY, HUGE)
        r = x + tr * rmatmat(A, s)
        x_new, tx = denoise(r, tr)
        x_prev = x
        x = (1.0 - theta) * x + theta * x_new
        num = np.sqrt(np.sum(abs2(x - x_prev)))
        den = np.sqrt(np.sum(abs2(x)))
        delta = num / den if den > 0 else 0.0
        res = np.sqrt(np.sum(abs2(Y - Ax)))
        if not (np.isfinite(delta) and np.all(np.isfinite(tx)) and res <= 1e8 * (ynorm + TINY)):
            return k, delta, True, tr, r
        # sustained blow-up (see _gamp_kernels): steps larger than the iterate
        # while the residual exceeds that of x = 0
        bad = bad + 1 if (delta > 1.0 and res > ynorm) else 0
        if bad >= DIV_PATIENCE:
            return k, delta, True, tr, r
        if delta < eps:
            break
    else:  # budget spent: never hand on an oscillating or exploded iterate
        if delta > 1.0 or res > ynorm:
            return k, delta, True, tr, r
    state["x"], state["s"], state["tx"] = x, s, tx
    return k, delta, False, tr, r


def damped_estep(A, Sq, Y, s2, state, denoise, theta, adapt, max_iter, eps):
    """``gamp_estep`` with the divergence safeguard of ``damping="auto"``.

    When GAMP blows up and the damping was chosen automatically, the warm
    start is restored and the E-step is retried with half the damping
    (down to 1e-3), in the spirit of the adaptive damping of Vila et al.
    (2015); a user-given damping is never changed, so the divergence is
    reported instead.

    Returns ``(n_iter, delta, diverged, theta)``.
    """
    def run(theta):
        k, delta, diverged, _, _ = gamp_estep(A, Sq, Y, s2, state, denoise, theta, max_iter,
                                              eps)
        return k, delta, diverged

    return _halving(run, state, theta, adapt)


def _halving(run, state, theta, adapt):
    """Run one E-step ``run(theta) -> (n_iter, delta, diverged)``; on
    divergence restore ``state`` and halve ``theta`` (when ``adapt``)."""
    total = 0
    while True:
        saved = dict(state)
        k, delta, diverged = run(theta)
        total += k
        if not diverged or not adapt or theta <= 1e-3:
            return total, delta, diverged, theta
        state.update(saved)
        theta = max(theta / 2.0, 1e-3)


def _fast_estep(Ac, At, Y, s2, state, gam, theta, max_iter, eps, c):
    """One damped GAMP E-step by the compiled kernel (dense A, one column).

    Works on copies of the warm start, so that a diverged attempt leaves
    ``state`` untouched; returns ``(n_iter, delta, diverged)``.
    """
    from ._gamp_kernels import gamp_loop  # noqa: PLC0415 (numba: imported on first use)

    x = np.ascontiguousarray(state["x"][:, 0])
    s = np.ascontiguousarray(state["s"][:, 0])
    tx = np.ascontiguousarray(state["tx"][:, 0], dtype=np.float64)
    x, s, tx = x.copy(), s.copy(), tx.copy()
    k, delta, status = gamp_loop(Ac, At, np.ascontiguousarray(Y[:, 0]),
                                 np.ascontiguousarray(gam[:, 0], dtype=np.float64),
                                 float(s2[0]), x, s, tx, float(theta), int(max_iter),
                                 float(eps), float(c))
    if status:
        return k, delta, True
    state["x"], state["s"], state["tx"] = x[:, None], s[:, None], tx[:, None]
    return k, delta, False


#: run the EM iterations of a dense one-column problem in the compiled
#: ``_gamp_kernels.em_segment`` (False: the NumPy loop, same operations)
EM_SEGMENT = True

#: GGAMPSBL init="auto": exact-E-step warm start up to this many rows
INIT_MAX_ROWS = 128
#: number of exact EM-SBL iterations of the warm start
INIT_N_ITER = 10


def _warm_start(A, Y, s2, learn, init, argname, cache):
    """Initial gamma (N, L) and noise variance: None and s2 for the plain
    start, else those after INIT_N_ITER exact EM-SBL iterations (on
    ``_dense(A, cache)``, the fit's one dense copy of a sparse ``A``)."""
    dense = isinstance(A, np.ndarray) or sp.issparse(A)
    if init == "sbl" and not dense:
        raise ValueError(f"init='sbl' needs an array or sparse matrix {argname} (the exact "
                         "E-step); use init='ones' for a LinearOperator.")
    if not (init == "sbl" or (init == "auto" and dense and A.shape[0] <= INIT_MAX_ROWS
                              and Y.shape[1] == 1)):
        return None, s2
    L = Y.shape[1]
    s2v = np.broadcast_to(np.asarray(s2, dtype=np.float64), (L,)).copy()
    warm = em_sbl(_dense(A, cache), Y, shared=False, gamma0=np.ones((L, A.shape[1])), sigma2=s2v,
                  learn_noise=learn, update="em", prune=1e-8, max_iter=INIT_N_ITER, tol=0.0)
    g = np.real(warm["gamma"])
    if not (np.all(np.isfinite(g)) and np.all(np.any(g > 0, axis=1))):
        return None, s2
    if learn:
        s2 = np.asarray(warm["sigma2"], dtype=np.float64)
    return np.maximum(g, 0.0).T, s2


def _readmit_gamp(A, Y, idx, gam, s2, state, theta, caches=None, bic_m=None):
    """Tipping & Faul's addition test (``_em.readmit``) after a GAMP EM run.

    ``A`` is the full matrix, ``idx`` the columns kept in the compacted
    state.  An explicit dense matrix gets the exact test; a sparse matrix or
    a LinearOperator GAMP's own estimates ``q_i = a_i^H (y - A x) / sigma^2``
    (exact at a GAMP fixed point) and ``s_i ~ 1 / tau_{r,i}`` with the
    scalar variances.  Returns one ``(columns, gamma)`` pair per target.
    """
    m, N = A.shape
    L = Y.shape[1]
    out = []
    found = False
    x = np.zeros((N, L), dtype=Y.dtype)
    x[idx] = state["x"]
    g = np.zeros((N, L))
    g[idx] = gam
    for j in range(L):
        if isinstance(A, np.ndarray):
            cols, gadd = readmit(A, Y[:, j:j + 1], g[:, j], float(s2[j]), x[:, j:j + 1],
                                 None if caches is None else caches.setdefault(j, {}), bic_m)
        else:
            resid = Y[:, j] - matmat(A, x[:, j:j + 1])[:, 0]
            q = np.asarray(rmatmat(A, resid[:, None]))[:, 0] / s2[j]
            tx = np.zeros(N)
            tx[idx] = state["tx"][:, j]
            fro2 = frobenius_norm2(A)
            c = fro2 / (m * N)
            tp = c * np.sum(tx)
            S = c * m / (tp + s2[j])
            cn = fro2 / N
            gnew = np.maximum(abs2(q) - S, 0.0) / S ** 2
            sel = (g[:, j] <= 0) & (abs2(q) > S) & (gnew * cn / s2[j] >= AUTO_SNR)
            if bic_m is not None:  # as _em.readmit
                t = np.where(sel, abs2(q) / S, 2.0)
                sel &= (t - 1.0 - np.log(t)) > np.log(bic_m)
            cols, gadd = np.flatnonzero(sel), gnew[sel]
        found = found or cols.size > 0
        out.append((cols, gadd))
    return out if found else []


def moment_gamma(Y, s2, fro2):
    """The common prior variance whose predicted data power matches the
    measured one, ``||y||^2 = gamma ||A||_F^2 + m sigma^2`` (per target;
    ``||y||^2 / ||A||_F^2`` when the noise start exceeds the data power)."""
    m = Y.shape[0]
    y2 = np.sum(abs2(Y), axis=0)
    return np.maximum(np.where(y2 > m * s2, y2 - m * s2, y2) / fro2, TINY)


#: the compiled EM loop works without a copy of A^H (gamp_loop_rows) while
#: the active part of A has at least this many entries; smaller ones get the
#: C-ordered adjoint that gamp_loop reads
ROWS_MIN_ENTRIES = 32768


def _adjoint(Ac, segment):
    """``conj(Ac).T`` in C order, or, in the compiled loop on a large active
    part, an empty placeholder (the E-step then reads ``Ac`` only)."""
    if segment and Ac.size >= ROWS_MIN_ENTRIES:
        return np.empty((0, Ac.shape[0]), dtype=Ac.dtype)
    return np.ascontiguousarray(herm(Ac))


def _em_iteration_estep(estep, theta, gamp_tol, delta):
    """The E-step of one GGAMP-SBL EM iteration: inexact while gamma still
    moves a lot (the GAMP tolerance follows the outer progress, 1e-2 of the
    last relative change of gamma, never tighter than ``gamp_tol``); the
    final E-step is exact."""
    eps = max(gamp_tol, EPS_FIRST if not np.isfinite(delta) else EPS_FACTOR * delta)
    return estep(theta, eps)


def _em_iteration_mstep(state, gam, s2, Y, A, m, update, learn_noise, auto, prune, cnorm2,
                        floor):
    """Gamma and noise updates, pruning and the relative change of gamma of
    one GGAMP-SBL EM iteration; returns ``(gamma, s2, delta)``."""
    x, tx = state["x"], state["tx"]
    gam_old = gam
    if update == "em":
        gam = abs2(x) + tx
    else:
        gam = abs2(x) / np.maximum(1.0 - tx / np.where(gam_old > 0, gam_old, 1.0), TINY)
    gam = np.where(gam_old > 0, gam, 0.0)
    if learn_noise:
        resid = Y - matmat(A, x)
        rho = np.where(gam_old > 0, 1.0 - tx / np.where(gam_old > 0, gam_old, 1.0), 0.0)
        s2 = np.maximum((np.sum(abs2(resid), axis=0) + s2 * np.sum(rho, axis=0)) / m, floor)
    if auto:
        rho_a = np.clip(1.0 - tx / np.where(gam_old > 0, gam_old, 1.0), 0.0, 1.0)
        drop = auto_prune_mask(gam_old.T, gam.T, abs2(x).T, rho_a.T, cnorm2, s2).T
        gam = np.where(drop, 0.0, gam)
    else:
        gam = np.where(gam < prune * np.max(gam, axis=0, keepdims=True), 0.0, gam)
    nrm = np.sqrt(np.sum(gam_old ** 2))
    delta = np.sqrt(np.sum((gam - gam_old) ** 2)) / nrm if nrm > 0 else 0.0
    return gam, s2, delta


def ggamp_sbl_kernel(A, Y, *, s2, learn_noise, update, prune, theta, max_iter, tol,
                     max_gamp_iter, gamp_tol, variances, fro2, adapt=False, verbose=0,
                     name="GGAMP-SBL", gamma0=None):
    """EM loop of GGAMP-SBL over the columns of Y (independent hyperparameters)."""
    m, N = A.shape
    L = Y.shape[1]
    # one column and an explicit dense matrix: the compiled GAMP loop
    # (_gamp_kernels.gamp_loop, same iterates); otherwise NumPy products
    fast = isinstance(A, np.ndarray) and L == 1
    c_scalar = fro2 / (m * N)
    segment = fast and not verbose and EM_SEGMENT
    if fast:
        scalar = variances == "scalar"
        Ac = np.ascontiguousarray(A)
        At = _adjoint(Ac, segment)
        Sq = None
    else:
        Sq = _Sq(A, variances, fro2)
    floor = noise_floor(np.sum(abs2(Y), axis=0) / m)
    s2 = np.maximum(np.asarray(s2, dtype=np.float64), floor)
    if gamma0 is None:
        gam = np.ones((N, L))
    elif isinstance(gamma0, str):  # "moment": see moment_gamma
        gam = np.ones((N, L)) * moment_gamma(Y, s2, fro2)[None, :]
    else:
        gam = np.array(gamma0, dtype=np.float64).reshape(N, L)
    state = dict(x=np.zeros((N, L), dtype=Y.dtype), s=np.zeros((m, L), dtype=Y.dtype),
                 tx=np.ones((N, L)))
    status, delta, n_gamp = 1, np.inf, 0
    # Explicit matrices are compacted to the unpruned columns (exactly the same
    # iterates: a pruned column has x = tau_x = 0), so the GAMP products cost
    # O(mK) once most gammas have vanished; a LinearOperator keeps all columns.
    compact = isinstance(A, np.ndarray) or sp.issparse(A)
    idx = np.arange(N)
    auto = isinstance(prune, str) and update == "em"  # see auto_prune_mask
    if isinstance(prune, str) and not auto:
        prune = 1e-8
    if auto:  # ||a_i||^2 for the noise-relative rule (fro2 / N for an operator)
        if isinstance(A, np.ndarray):
            cnorm2 = column_norms2(A)
        elif sp.issparse(A):
            cnorm2 = np.asarray(abs(A).power(2).sum(axis=0)).ravel()
        else:
            cnorm2 = np.full(N, fro2 / N)

    def denoise(r, tr):
        den = gam + tr
        return gam * r / den, gam * tr / den

    def estep(theta, eps):
        if fast:
            At_ = At if At.shape[0] == Ac.shape[1] else np.ascontiguousarray(herm(Ac))

            def run(th):
                return _fast_estep(Ac, At_, Y, s2, state, gam, th, max_gamp_iter, eps,
                                   c_scalar if scalar else 0.0)
            return _halving(run, state, theta, adapt)
        return damped_estep(A, Sq, Y, s2, state, denoise, theta, adapt, max_gamp_iter, eps)

    A0, n_readmit = A, 0
    bic = auto and learn_noise and BIC_ATOMS
    rcache = {}  # per target: Gram columns of the re-admission tests
    if auto and L == 1 and isinstance(A, np.ndarray) and not np.iscomplexobj(A):
        rcache[0] = {"cn": cnorm2}  # readmit's column norms (the same einsum)
    if auto:
        cnorm2_0 = cnorm2
    if fast:
        Ac0, At0 = Ac, At
    else:
        Sq0 = Sq
    # one column, dense A, no progress printing: the EM iterations between two
    # events (convergence, pruning enough columns to compact, divergence, the
    # end of the budget) run in one compiled call (_gamp_kernels.em_segment,
    # the same operations as the loop body below)
    if segment:
        from ._gamp_kernels import EV_DIVERGED, EV_EXHAUSTED, em_segment  # noqa: PLC0415
    it = 0
    k_ref = N  # columns the compaction rule counts (see the re-admission step)
    while it < max_iter:
        it += 1
        if segment:
            x1 = np.ascontiguousarray(state["x"][:, 0])
            s1 = np.ascontiguousarray(state["s"][:, 0])
            tx1 = np.ascontiguousarray(state["tx"][:, 0], dtype=np.float64)
            g1 = np.array(gam[:, 0], dtype=np.float64)
            ev, it, s2f, delta, theta, k = em_segment(
                Ac, At, np.ascontiguousarray(Y[:, 0]), g1, float(s2[0]), x1, s1, tx1,
                float(theta), bool(adapt), int(max_gamp_iter), float(gamp_tol),
                float(c_scalar if scalar else 0.0), update == "em", bool(learn_noise), auto,
                cnorm2 if auto else np.zeros(1), float(0.0 if auto else prune),
                float(floor[0]), float(tol), float(delta), it, int(max_iter), int(k_ref))
            n_gamp += k
            state["x"], state["s"], state["tx"] = x1[:, None], s1[:, None], tx1[:, None]
            if ev == EV_DIVERGED:
                status = 2
                break
            gam = g1[:, None]
            s2 = np.array([s2f])
            if ev == EV_EXHAUSTED:
                break
        else:
            k, dgamp, diverged, theta = _em_iteration_estep(estep, theta, gamp_tol, delta)
            n_gamp += k
            if diverged:
                status = 2
                break
            gam, s2, delta = _em_iteration_mstep(state, gam, s2, Y, A, m, update, learn_noise,
                                                 auto, prune, cnorm2 if auto else None, floor)
            if verbose:
                print(f"[{name}] EM iter {it}: {k} GAMP iterations, rel. change of gamma "
                      f"{delta:.3e}, active {int(np.count_nonzero(gam))}", flush=True)
        if delta < tol:
            status = 0
            if bic and n_readmit < MAX_READMIT:
                # atoms whose likelihood gain does not pay the BIC cost
                # (_em.bic_keep, with GAMP's mean and variances)
                x, tx = state["x"], state["tx"]
                pos = gam > 0
                rho_b = np.where(pos, 1.0 - tx / np.where(pos, gam, 1.0), 0.0)
                drop = np.zeros(gam.shape, dtype=bool)
                for j in range(L):
                    drop[:, j] = ~bic_keep(x[:, j], gam[:, j], np.clip(rho_b[:, j], 0, 1), m)
                if np.any(drop):
                    n_readmit += 1
                    gam = np.where(drop, 0.0, gam)
                    status, delta = 1, np.inf
                    continue
            add = _readmit_gamp(A0, Y, idx, gam, s2, state, theta, rcache,
                                m if bic else None) \
                if auto and n_readmit < MAX_READMIT else []
            if not len(add):
                break
            # pruning is reversible (see readmit): restore the full matrix
            n_readmit += 1
            status, delta = 1, np.inf
            gfull = np.zeros((N, L))
            gfull[idx] = gam
            for j, (cols, gadd) in enumerate(add):
                gfull[cols, j] = gadd
            x_full = np.zeros((N, L), dtype=Y.dtype)
            tx_full = np.zeros((N, L))
            x_full[idx], tx_full[idx] = state["x"], state["tx"]
            tx_full = np.where((gfull > 0) & (tx_full == 0), gfull, tx_full)
            idx, gam, A = np.arange(N), gfull, A0
            state["x"], state["tx"] = x_full, tx_full
            if auto:
                cnorm2 = cnorm2_0
            if fast:
                Ac, At = Ac0, At0
                # columns with gamma = x = tau_x = 0 add exact zeros to every
                # GAMP sum and stay zero: leave them out at once (the compaction
                # rule below still counts the whole matrix, k_ref, so that the
                # same columns are dropped at the same iterations)
                live = (gam[:, 0] > 0) | (state["x"][:, 0] != 0) | (state["tx"][:, 0] != 0)
                idx = np.flatnonzero(live)
                A = Ac = A0.compress(live, axis=1)
                At = _adjoint(Ac, segment)
                gam, state["x"], state["tx"] = gam[live], x_full[live], tx_full[live]
                if auto:
                    cnorm2 = cnorm2_0[live]
                k_ref = N
            elif compact:
                Sq = Sq0
            continue
        keep = np.any(gam > 0, axis=1)
        if not np.any(keep):  # every atom pruned: the empty model, x = 0
            status, delta = 0, 0.0
            break
        if compact and keep.sum() < 0.9 * max(k_ref, keep.size):
            idx = idx[keep]
            k_ref = idx.size
            # compress: C order (A[:, keep] is an F-ordered gather, 20x slower to
            # bring back to C order at 200 x 800)
            A = A.compress(keep, axis=1) if fast else A[:, keep]
            gam = gam[keep]
            if auto:
                cnorm2 = cnorm2[keep]
            state["x"], state["tx"] = state["x"][keep], state["tx"][keep]
            if fast:  # a row gather of the adjoint (no transposed copy)
                Ac = A
                At = At[keep] if At.shape[0] == keep.size and not (
                    segment and Ac.size >= ROWS_MIN_ENTRIES) else _adjoint(Ac, segment)
            else:
                Sq = _Sq(A, variances, c_scalar * m * idx.size)
    # final E-step at the returned gamma so that coef is its posterior mean
    if status != 2 and np.any(gam > 0):
        k, _, diverged, theta = estep(theta, gamp_tol)
        n_gamp += k
        if diverged:
            status = 2
    x = np.zeros((N, L), dtype=Y.dtype)
    tx = np.zeros((N, L))
    gfull = np.zeros((N, L))
    x[idx] = np.where(gam > 0, state["x"], 0)
    tx[idx] = np.where(gam > 0, state["tx"], 0)
    gfull[idx] = gam
    return dict(x=x, tx=tx, gamma=gfull, sigma2=s2, n_iter=it, n_gamp=n_gamp, status=status,
                delta=delta, theta=theta)


def _report(name, status, delta, tol, n_iter, e_step="gamp"):
    if status == 2:
        import warnings

        if e_step == "vamp":
            warnings.warn(
                f"{name} diverged: VAMP produced non-finite or exploding values in EM "
                f"iteration {n_iter}; the last finite iterate is returned. Use a smaller "
                "damping, damping='auto' or e_step='exact' (or 'auto', which falls back to "
                "it).", ConvergenceWarning, stacklevel=3)
            return
        warnings.warn(
            f"{name} diverged: GAMP produced non-finite or exploding values in EM iteration "
            f"{n_iter}; the last finite iterate is returned. Use a smaller damping factor "
            "(damping < current value) or damping='auto'.", ConvergenceWarning, stacklevel=3)
    elif status == 1:
        what = "relative change of gamma" if e_step == "gamp" else \
            "relative change of the posterior mean"  # the exact E-step's rule (SBL)
        warn_not_converged(name, 1, 1, what, float(delta), tol)


def _scaled(A, Y):
    """``A / a`` and ``Y / b`` (powers of two, b per column; see
    ``problem_scales``) and the factor ``b / a`` that maps x back."""
    a, b = problem_scales(A, Y, shared=False)
    return scale_operator(A, a), Y / b, (a, b)


def _unscale(res, ab):
    """Map the kernel's estimates for ``(A / a, Y / b)`` back to ``(A, Y)``."""
    a, b = ab
    with np.errstate(over="ignore", invalid="ignore"):
        f = b / a
    with np.errstate(over="ignore", invalid="ignore"):
        res["x"] = res["x"] * f
        res["tx"] = res["tx"] * f ** 2
        res["gamma"] = res["gamma"] * f ** 2
        res["sigma2"] = np.asarray(res["sigma2"]) * b ** 2
    check_unscaled(res["x"], res["tx"], res["gamma"], res["sigma2"])


def _prepare(A, Y, noise_variance, learn_noise, damping, variances, argname="A", info=None):
    wdt = work_dtype(np.dtype(A.dtype), Y.dtype)
    if isinstance(A, np.ndarray):
        A = A.astype(wdt, copy=False)
    elif sp.issparse(A):
        A = A.astype(wdt)
    Y = Y.astype(wdt, copy=False)
    fro2 = frobenius_norm2(A)
    if fro2 == 0:
        raise ValueError(f"{argname} is zero (its Frobenius norm is 0); nothing can be "
                         "recovered.")
    spec = None
    if damping == "auto" or info is not None:
        spec = spectral_norm(A, tol=1e-3)
    if info is not None:
        info["spread"] = spec ** 2 * min(A.shape) / fro2
    theta = auto_damping(A, fro2=fro2, spec=spec) if damping == "auto" else float(damping)
    learn = resolve_learn_noise(learn_noise, noise_variance)
    s2 = initial_noise_variance(Y, noise_variance)
    return A, Y, fro2, theta, learn, s2


#: e_step="auto": VAMP (or the exact E-step, see EXACT_MAX_ROWS) when
#: ||A||_2^2 min(m, N) / ||A||_F^2 exceeds this (1 for orthogonal rows, about 2.2
#: for Gaussian 200 x 800, 9 / 13 / 18 / 26 for log-spaced singular values with
#: condition number 1e2 / 1e3 / 1e4 / 1e6)
SPREAD_MAX = 12.0


def _exact_solve(A, Y, *, s2, learn_noise, update, prune, max_iter, tol, theta):
    """The exact (EM-SBL) E-step for GGAMP-SBL, result in the kernel's format."""
    L = Y.shape[1]
    Ad = A.toarray() if sp.issparse(A) else A
    res = em_sbl(Ad, Y, shared=False, gamma0=np.ones((L, A.shape[1])),
                 sigma2=np.broadcast_to(np.asarray(s2, dtype=np.float64), (L,)).copy(),
                 learn_noise=learn_noise, update=update, prune=prune, max_iter=max_iter,
                 tol=tol)
    st = res["status"]
    status = 2 if np.any(st == 2) else (1 if np.any(st == 1) else 0)
    return dict(x=res["mu"][:, :, 0].T, tx=res["d"].T, gamma=res["gamma"].T,
                sigma2=res["sigma2"], n_iter=int(np.max(res["n_iter"])), n_gamp=0,
                status=status, delta=float(np.max(res["delta"])), theta=theta,
                e_step="exact")


#: init="auto" above INIT_MAX_ROWS: the moment-matched start (moment_gamma)
#: when ||A||_2^2 min(m, N) / ||A||_F^2 is at most this, the largest value for
#: an i.i.d. matrix ((1 + sqrt(min/max))^2 <= 4, Marchenko and Pastur), else
#: gamma = 1 (measured at condition number 1e2, 1000 x 4000: -26 dB from the
#: moment start against -46 dB from ones)
IID_SPREAD = 4.0


#: e_step="auto" on a matrix far from i.i.d.: the exact E-step up to this many
#: rows (its m^2 N + m^3 flops per EM iteration are no more than the 2 m N of
#: each of the VAMP iterations of one E-step), VAMP above
EXACT_MAX_ROWS = 128


#: e_step="auto": a GAMP EM that ends at max_iter without converging is
#: solved again with the exact E-step when A has at most EXACT_MAX_ROWS rows
#: (where the exact E-step costs no more than GAMP's iterations), and that
#: result is kept when it converges.  Measured on Gaussian 64 x 256, 19
#: non-zeros, 20 dB, seed 0: GAMP from var(y)/100 stops at 2000 iterations
#: with 34 atoms; the exact E-step converges in 1092 to SBL()'s 25-atom fit
#: (-18.3 dB; the kept result was -8.1 dB, at 6 times the true noise variance)
GAMP_UNCONVERGED_EXACT = True


#: e_step="auto" on an explicit A with at most EXACT_MAX_ROWS rows: the
#: further noise starts (run only while the kept result keeps more than
#: NOISE_TOP_ACTIVE * m atoms, where s/m is high enough for GAMP to reach a
#: fixed point that is not the type-II optimum) take the exact E-step, which
#: costs no more than GAMP's iterations there; the first start stays GAMP.
#: Measured on the accuracy grid of the benchmarks page, 16 draws: on
#: Gaussian 64 x 256 with 19 non-zeros at 40 / 60 / 80 dB, seed 7, every GAMP
#: start ended at 20 atoms with the noise variance 2e2 / 2e4 / 2e6 times the
#: truth (-6.2 dB); from var(y)/10 the exact E-step reaches -61.5 dB at 60 dB,
#: type-II cost plus BIC -529 against -67 (cell mean over 16 draws at 60 dB
#: -59.4 -> -62.9 dB; SBL given the noise -61.6).  The other cell means at
#: m <= 128 moved by at most 1.4 dB either way, except Toeplitz 64 x 256, 19
#: non-zeros, 40 to 80 dB, where GAMP's starts were 3 to 5.6 dB better than
#: EM's and now give EM's result (within 1.5 dB of SBL given the noise)
NOISE_STARTS_EXACT = True


def _exact_affordable(A):
    """Whether the exact E-step is the cheap one for ``A``: an array or
    sparse matrix that may be densified, with at most EXACT_MAX_ROWS rows
    (the rule behind the exact route for far-from-i.i.d. matrices,
    GAMP_UNCONVERGED_EXACT and NOISE_STARTS_EXACT)."""
    return ((isinstance(A, np.ndarray) or sp.issparse(A))
            and A.shape[0] <= EXACT_MAX_ROWS and A.shape[0] * A.shape[1] <= DENSIFY_MAX_ENTRIES)


def _solve(A, Yw, *, s2, learn, update, two_starts=False, **kw):
    """GGAMP-SBL (``_solve_one``); with ``two_starts`` (learned noise, explicit
    matrix), while the result kept so far keeps more than
    ``NOISE_TOP_ACTIVE * m`` atoms, EM also runs from ``NOISE_START_RATIO``
    ``NOISE_TOP_RATIO`` (``var(y)``) and ``NOISE_LOW_RATIO`` times the noise
    start and, per
    target, a later result replaces the kept one when its exact type-II cost
    plus BIC penalty, at its final gamma and noise variance, is lower by more
    than ``BIC_MARGIN`` (``_sbl.select_by_evidence``)."""
    # one dense copy of a sparse A and one SVD of A per fit, shared by its
    # noise starts and VAMP fits (_dense, _vamp_solve)
    kw["cache"] = {}
    res = _solve_one(A, Yw, s2=s2, learn=learn, update=update, **kw)
    if not (two_starts and learn and update == "em"
            and (isinstance(A, np.ndarray) or sp.issparse(A))):
        return res
    # the noise-absorbing optimum keeps many atoms: further starts only while
    # the kept result has more than NOISE_TOP_ACTIVE * m of them (a rule
    # that keeps GGAMPSBL() at its O(mN) speed on sparse, well-measured problems)
    m = Yw.shape[0]
    kw2 = dict(kw, init="flat") if kw["init"] == "auto" else kw
    if NOISE_STARTS_EXACT and kw["e_step"] == "auto" and _exact_affordable(A):
        kw2 = dict(kw2, e_step="exact")
    costs = None
    for ratio in (NOISE_START_RATIO, NOISE_TOP_RATIO, NOISE_LOW_RATIO):
        if not more_noise_starts(res["gamma"], m, axis=0):
            break
        res2 = _solve_one(A, Yw, s2=ratio * np.asarray(s2, dtype=np.float64),
                          learn=learn, update=update, **kw2)
        res, costs = _keep_lower_bic(_dense(A, kw["cache"]), Yw, res, res2, costs,
                                     start_undersampling(A.shape[1], m))
    return res


def _dense(A, cache):
    """``A`` as an array (a sparse matrix densified once per ``cache``)."""
    if "A" not in cache:
        cache["A"] = A.toarray() if sp.issparse(A) else A
    return cache["A"]


def _bic_costs(Ad, Yw, r, undersampling=1.0):
    """Per target, the exact type-II cost plus the BIC penalty of result ``r``
    at its final gamma and noise variance (``inf`` for a divergence);
    ``undersampling`` as in ``penalised_cost``."""
    if r["status"] == 2:
        return np.full(Yw.shape[1], np.inf)
    out = np.empty(Yw.shape[1])
    for j in range(Yw.shape[1]):
        g = r["gamma"][:, j]
        out[j] = penalised_cost(type2_cost(Ad, Yw[:, j:j + 1], g, float(r["sigma2"][j])),
                                np.count_nonzero(g > 0), Ad.shape[0], undersampling)
    return out


def _keep_lower_bic(Ad, Yw, res, res2, costs=None, undersampling=1.0):
    """Per target, whether ``res2`` replaces ``res`` by ``_sbl.replaces`` on
    their criteria (``_bic_costs`` with ``undersampling``); ``Ad`` the dense
    matrix.  ``costs``: those of ``res`` when already known (same
    ``undersampling``).  Returns the kept result and its costs."""
    if costs is None:
        costs = _bic_costs(Ad, Yw, res, undersampling)
    costs2 = _bic_costs(Ad, Yw, res2, undersampling)
    pick2 = replaces(costs, costs2)
    if not np.any(pick2):
        return res, costs
    costs = np.where(pick2, costs2, costs)
    if np.all(pick2):
        return res2, costs
    out = dict(res)
    for key in ("x", "tx", "gamma"):
        out[key] = np.where(pick2[None, :], res2[key], res[key])
    out["sigma2"] = np.where(pick2, res2["sigma2"], res["sigma2"])
    out["n_iter"] = max(res["n_iter"], res2["n_iter"])
    out["status"] = max(res["status"], res2["status"])
    out["delta"] = max(res["delta"], res2["delta"])
    return out, costs


def _solve_one(A, Yw, *, s2, learn, update, prune, theta, max_iter, tol, max_gamp_iter,
               gamp_tol, variances, fro2, adapt, verbose, name, init, e_step, spread, argname,
               cache):
    """GGAMP-SBL with the E-step chosen by ``e_step`` (see ``GGAMPSBL``);
    ``cache`` a dict for what is computed once per fit from ``A`` (its
    dense copy and SVD, see ``_vamp_solve``)."""
    explicit = isinstance(A, np.ndarray) or sp.issparse(A)
    if e_step == "exact" and not explicit:
        raise ValueError(f"e_step='exact' needs an array or sparse matrix {argname}; a "
                         "LinearOperator only supports e_step='gamp' (or 'auto').")
    if e_step == "vamp" and not explicit:
        raise ValueError(f"e_step='vamp' needs an array or sparse matrix {argname} (one "
                         "SVD of it); a LinearOperator only supports e_step='gamp' (or "
                         "'auto').")
    exact_ok = explicit and A.shape[0] * A.shape[1] <= DENSIFY_MAX_ENTRIES
    if e_step == "exact":
        return _exact_solve(_dense(A, cache), Yw, s2=s2, learn_noise=learn, update=update,
                            prune=prune, max_iter=max_iter, tol=tol, theta=theta)
    far = e_step == "auto" and exact_ok and spread is not None and spread > SPREAD_MAX
    if far and _exact_affordable(A):
        return _exact_solve(_dense(A, cache), Yw, s2=s2, learn_noise=learn, update=update,
                            prune=prune, max_iter=max_iter, tol=tol, theta=theta)
    if e_step == "vamp" or far:
        return _vamp_solve(A, Yw, s2=s2, learn=learn, update=update, prune=prune,
                           max_iter=max_iter, tol=tol, max_gamp_iter=max_gamp_iter,
                           gamp_tol=gamp_tol, verbose=verbose, name=name, theta=theta,
                           fallback=e_step == "auto", adapt=adapt, cache=cache)
    gamma0, s2w = _warm_start(A, Yw, s2, learn, init, argname, cache)
    if (gamma0 is None and init in ("auto", "flat") and spread is not None
            and spread <= IID_SPREAD):
        gamma0 = "moment"  # equal gammas predicting the measured data power
    res = ggamp_sbl_kernel(A, Yw, s2=s2w, learn_noise=learn, update=update, prune=prune,
                           theta=theta, max_iter=max_iter, tol=tol,
                           max_gamp_iter=max_gamp_iter, gamp_tol=gamp_tol,
                           variances=variances, fro2=fro2, adapt=adapt, verbose=verbose,
                           name=name, gamma0=gamma0)
    res["e_step"] = "gamp"
    if res["status"] == 1 and e_step == "auto" and GAMP_UNCONVERGED_EXACT and _exact_affordable(A):
        # GAMP's EM used up max_iter where the exact E-step costs no more
        # than its iterations (see GAMP_UNCONVERGED_EXACT)
        exact = _exact_solve(_dense(A, cache), Yw, s2=s2, learn_noise=learn, update=update,
                             prune=prune, max_iter=max_iter, tol=tol, theta=theta)
        if exact["status"] == 0:
            return exact
    if res["status"] == 2 and e_step == "auto" and exact_ok:
        # GAMP diverged even with the halved damping: the VAMP E-step
        return _vamp_solve(A, Yw, s2=s2, learn=learn, update=update, prune=prune,
                           max_iter=max_iter, tol=tol, max_gamp_iter=max_gamp_iter,
                           gamp_tol=gamp_tol, verbose=verbose, name=name, theta=res["theta"],
                           fallback=True, adapt=adapt, cache=cache)
    return res


def _vamp_solve(A, Yw, *, s2, learn, update, prune, max_iter, tol, max_gamp_iter, gamp_tol,
                verbose, name, theta, fallback, adapt=True, cache=None):
    """EM with the VAMP E-step finished by the exact one (``_vamp.vamp_sbl``);
    with ``fallback``, a VAMP divergence hands over to the exact E-step.
    ``cache``: a dict where the dense ``A`` and its ``SVDFactors`` are kept
    for later calls on the same matrix (computed on the first).
    The VAMP damping is ``VAMP_DAMP`` when the damping is automatic
    (``adapt``), else the given ``theta``."""
    from ._vamp import VAMP_DAMP, VAMP_GENTLE_PRUNE, SVDFactors, vamp_sbl  # noqa: PLC0415

    damp = VAMP_DAMP if adapt else theta
    cache = {} if cache is None else cache
    Ad = _dense(A, cache)
    if "svd" not in cache:
        cache["svd"] = SVDFactors(Ad)

    def run(prune_snr):
        return vamp_sbl(Ad, Yw, s2=np.broadcast_to(np.asarray(s2, dtype=np.float64),
                                                   (Yw.shape[1],)).copy(),
                        learn_noise=learn, update=update, prune=prune, max_iter=max_iter,
                        tol=tol, max_inner=max_gamp_iter, inner_tol=gamp_tol, verbose=verbose,
                        name=name, damp=damp, prune_snr=prune_snr, factors=cache["svd"])

    res = run(AUTO_SNR)
    if res["status"] == 2 and fallback:
        return _exact_solve(Ad, Yw, s2=s2, learn_noise=learn, update=update, prune=prune,
                            max_iter=max_iter, tol=tol, theta=theta)
    if res["status"] != 2 and isinstance(prune, str) and update == "em":
        # a second fit whose VAMP phase prunes only atoms clearly below the
        # noise; per target the lower BIC is kept (see VAMP_GENTLE_PRUNE)
        res, _ = _keep_lower_bic(Ad, Yw, res, run(VAMP_GENTLE_PRUNE * AUTO_SNR))
    res["theta"] = damp
    res["e_step"] = "vamp"
    return res


class GGAMPSBL(LinearPredictMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    r"""GGAMP-SBL: sparse Bayesian learning with a damped GAMP E-step.

    The EM iterations of ``SBL`` in which the posterior moments come from
    damped Gaussian generalised approximate message passing instead of a
    matrix inversion: O(mN) per GAMP iteration, only products with ``A`` and
    ``A^H``, robust to ill-conditioned and non-i.i.d. matrices thanks to the
    damping.

    Parameters
    ----------
    noise_variance : float > 0, default=None
        Noise variance; None: learned.  With ``update="em"`` and an array or
        sparse matrix, EM runs from ``var(y)/100`` and, when that result
        keeps more than ``0.15 m`` atoms (the signature of atoms absorbing
        the noise), also from ``var(y)/10`` (without the exact-EM warm
        start) and, while the result kept so far still has more than
        ``0.15 m`` atoms, from ``var(y)`` and then ``var(y)/10^4``, and
        keeps, per target,
        the result with the lowest exact type-II cost plus the BIC penalty
        ``(K + 1) log m``, each atom costing ``log N`` when ``N > m`` (see
        ``SBL``); otherwise it starts from ``var(y)/100``.  At ``m <= 128``
        the starts after the first take the exact E-step, and a first start
        whose GAMP iterations reach ``max_iter`` is solved again with it,
        kept when that converges.
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    update : {"em", "mackay"}, default="em"
        M-step rule (see ``SBL``).
    damping : float in (0, 1] or "auto", default="auto"
        GAMP damping factor :math:`\theta` (applied to the output and input
        means); "auto" is the rule of ``auto_damping``.  Use smaller
        values for worse-conditioned matrices.  With "auto", an E-step that
        diverges is restarted with half the damping (down to 1e-3); a given
        float is never changed.  The VAMP E-step (see ``e_step``) damps its
        denoiser output and precision by 0.9 with "auto" and by the given
        float otherwise.
    prune : "auto" or float in [0, 1), default="auto"
        Pruning rule (see ``SBL``); with "auto", :math:`\Sigma_{ii}` is
        GAMP's :math:`\tau_{x,i}` and a LinearOperator uses
        :math:`\|A\|_F^2/N` for the atom norms.
    max_iter : int, default=2000
        Maximum number of EM iterations.
    tol : float, default=1e-6
        Stop when :math:`\|\gamma - \gamma_{old}\|/\|\gamma_{old}\| < \mathrm{tol}`
        (gamma-based: with heavy damping the mean moves slowly and a rule on
        it fires too early, spec 5.2).
    max_gamp_iter : int, default=1000
        Maximum number of GAMP iterations per E-step (warm-started).
    gamp_tol : float, default=1e-6
        Relative change of the GAMP mean that ends an E-step.
    variances : {"auto", "vector", "scalar"}, default="auto"
        GAMP variance form: "vector" uses :math:`|A|^2`; "scalar" uses
        :math:`\|A\|_F^2/(mN)` (needed for LinearOperators, "auto" picks it
        for those; half the products with NumPy, no faster in the compiled
        path of a dense matrix and one target, see Notes).
    fit_intercept : bool, default=False
        Centre the data and fit an intercept.
    init : {"auto", "ones", "sbl"}, default="auto"
        Initial gamma.  "ones": all ones.  "sbl": the gamma (and the noise
        variance when it is learned) after 10 EM iterations of ``SBL`` with
        the exact E-step (not for a LinearOperator).  "auto": "sbl" for one
        target when ``X`` is an array or sparse matrix with at most 128 rows
        (cost :math:`10(m^2N+m^3)`); else, with ``e_step="auto"`` and an
        array whose spectrum is that of an i.i.d. matrix (:math:`\|A\|_2^2\min(m,N)/\|A\|_F^2 \le
        4`), every gamma equal to the value whose prior predicts the
        measured data power, :math:`(\|y\|^2 - m\sigma_0^2)/\|A\|_F^2` with
        the starting noise variance :math:`\sigma_0^2` (the noise-fitting
        gammas then start near their scale instead of decaying from 1 over
        tens of EM iterations), and "ones" otherwise (for many targets the
        exact E-steps, one per target, would cost more than the GAMP EM).  On ill-conditioned matrices
        GAMP's posterior variances can be orders of magnitude too small and
        lead the EM from gamma = 1 into a poor local optimum; the warm start
        avoids it.
    e_step : {"auto", "gamp", "vamp", "exact"}, default="auto"
        How the posterior moments are computed.  "gamp": damped GAMP.
        "vamp": vector approximate message passing (Rangan, Schniter and
        Fletcher 2019) with the SBL prior: one eigendecomposition of the
        smaller Gram matrix of ``X`` up front, then two products with the
        ``R x n_features`` right singular vectors per VAMP iteration
        (``R = rank X``), whatever the conditioning; once every target keeps
        at most ``n_samples / 2`` atoms (or the VAMP EM settles) the fit is
        finished by the exact E-step on the active atoms (``K^3`` per EM
        iteration), which also re-admits pruned atoms; the returned mean and
        variances are then exact.  "exact": the E-step of ``SBL`` (Cholesky
        factorisation; the whole fit is then ``SBL``'s).  "auto": for an
        explicit matrix whose spectrum is far from that of an i.i.d. matrix,
        :math:`\|A\|_2^2\min(m, N)/\|A\|_F^2 > 12` (1 for orthonormal rows,
        about 2.2 for a Gaussian 200 x 800 matrix, 8 for Toeplitz(0.9)
        correlated columns, 9 / 13 / 18 / 26 for log-spaced singular values
        with condition number 1e2 / 1e3 / 1e4 / 1e6, and large for a matrix
        with a non-zero mean), where GAMP's variances are unreliable: "exact"
        up to 128 rows (there its cost per EM iteration is no more than one
        VAMP E-step's) and "vamp" above; also "vamp" when GAMP diverges with
        the halved damping, and "exact" when VAMP produces non-finite values,
        or, up to 128 rows, when GAMP's EM reaches ``max_iter`` and the exact
        E-step converges or when a further noise start is kept (see
        ``noise_variance``); "gamp" otherwise.  The spectral norm is the one the
        damping rule computes anyway (Lanczos, a few products).  A
        LinearOperator always uses GAMP.
    verbose : int, default=0
        Print progress every EM iteration.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_targets, n_features)
        Posterior mean at the final gamma.
    posterior_variance_ : ndarray, same shape as ``coef_``
        GAMP's (approximate) posterior variances.
    gamma_ : ndarray, same shape as ``coef_``
        Learned prior variances.
    noise_variance_ : float or ndarray of shape (n_targets,)
        Noise variance used at the end.
    damping_ : float
        Damping factor used at the end (GAMP's or VAMP's; unused by the
        exact E-step).
    e_step_ : {"gamp", "vamp", "exact"}
        The E-step that produced the estimate (see ``e_step``).
    n_iter_ : int
        Number of EM iterations.
    n_gamp_iter_ : int
        Total number of GAMP iterations.
    delta_ : float
        Final relative change of gamma (the convergence figure).
    converged_ : bool
        Whether the stopping rule was met.
    intercept_ : float or ndarray of shape (n_targets,)
        Zero unless ``fit_intercept``.
    active_ : ndarray of int, or list of them (one per target)
        Indices of the atoms with :math:`\gamma_i > 0`.
    sigma_ : ndarray of shape (n_active, n_active), list of them, or None
        Exact posterior covariance on the active atoms at the returned
        hyperparameters (one :math:`K\times K` factorisation after the
        fit; GAMP's own variances are ``posterior_variance_``); None for a
        LinearOperator ``X``.  Used by ``predict(X, return_std=True)``.
    n_features_in_ : int
        Number of features seen in ``fit``.

    See Also
    --------
    SBL : EM-SBL with an exact E-step.
    ggamp_sbl : the functional interface (accepts a LinearOperator).
    GGAMPTSBL : temporally correlated multiple measurement vectors.

    Notes
    -----
    GAMP iteration (variance form, :math:`S = |A|^2`):
    :math:`\tau_p = S\tau_x`, :math:`p = A\hat x - \tau_p\hat s`,
    :math:`\hat s \leftarrow (1-\theta)\hat s + \theta(y - p)/(\tau_p + \sigma^2)`,
    :math:`\tau_r = 1/(S^T(1/(\tau_p + \sigma^2)))`,
    :math:`r = \hat x + \tau_r A^H\hat s`,
    :math:`\tau_x = \gamma\tau_r/(\gamma + \tau_r)`,
    :math:`\hat x \leftarrow (1-\theta)\hat x + \theta\gamma r/(\gamma + \tau_r)`.
    At a fixed point :math:`\hat x` is the exact posterior mean
    :math:`(A^HA + \sigma^2\Gamma^{-1})^{-1}A^Hy` for the current gamma;
    the variances are approximations.  M-step as in ``SBL`` with
    :math:`\Sigma_{ii}` replaced by :math:`\tau_{x,i}`.  Several targets share
    the GAMP iterations (matrix products) but have their own gamma; the
    stopping rule is applied to all of them jointly.  Divergence (non-finite
    values, a residual above :math:`10^8\|y\|`, or five consecutive GAMP
    steps larger than the iterate itself while the residual exceeds
    :math:`\|y\|`) is detected, reported by a ``ConvergenceWarning`` and the
    last finite iterate is returned (with ``damping="auto"`` the E-step is
    first retried with half the damping).  A dense matrix and a single
    target run the EM iterations (with the whole GAMP loop) in one compiled
    function (Numba), which computes :math:`A\hat x` with :math:`S\tau_x`
    and :math:`A^H\hat s` with :math:`S^T\tau_s` in one sweep over the
    matrix each; other inputs use NumPy products (the same iterates).

    References
    ----------
    .. [1] M. Al-Shoukairi, P. Schniter and B. D. Rao, "A GAMP-based low
       complexity sparse Bayesian learning algorithm", IEEE Trans. Signal
       Process. 66(2), 2018.
    .. [2] S. Rangan, P. Schniter and A. Fletcher, "On the convergence of
       approximate message passing with arbitrary matrices", ISIT 2014.
    .. [3] S. Rangan, P. Schniter and A. K. Fletcher, "Vector approximate
       message passing", IEEE Trans. Inf. Theory 65(10), 2019.
    .. [4] A. K. Fletcher, M. Sahraee-Ardakan, S. Rangan and P. Schniter,
       "Learning and free energies for vector approximate message passing",
       ICASSP 2017 (EM-VAMP: the prior and noise parameters learned inside
       VAMP).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import GGAMPSBL
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 100)) / np.sqrt(50)
    >>> x = np.zeros(100); x[[7, 33, 80]] = [1.0, -2.0, 1.5]
    >>> est = GGAMPSBL(noise_variance=1e-6).fit(A, A @ x)
    >>> np.flatnonzero(np.abs(est.coef_) > 1e-2).tolist()
    [7, 33, 80]
    """

    _parameter_constraints = dict(GAMP_CONSTRAINTS)
    _parameter_constraints["init"] = [Options("auto", "ones", "sbl")]
    _parameter_constraints["e_step"] = [Options("auto", "gamp", "vamp", "exact")]

    def __init__(self, *, noise_variance=None, learn_noise="auto", update="em", damping="auto",
                 prune="auto", max_iter=2000, tol=1e-6, max_gamp_iter=1000, gamp_tol=1e-6,
                 variances="auto", fit_intercept=False, init="auto", e_step="auto",
                 verbose=0):
        self.noise_variance = noise_variance
        self.learn_noise = learn_noise
        self.update = update
        self.damping = damping
        self.prune = prune
        self.max_iter = max_iter
        self.tol = tol
        self.max_gamp_iter = max_gamp_iter
        self.gamp_tol = gamp_tol
        self.variances = variances
        self.fit_intercept = fit_intercept
        self.init = init
        self.e_step = e_step
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True
        return tags

    def _validate_fit_data(self, X, y, name):
        if isinstance(X, LinearOperator) or sp.issparse(X):
            if self.fit_intercept:
                if isinstance(X, LinearOperator):
                    raise ValueError(
                        "fit_intercept=True centres the columns of X, which needs an explicit "
                        "matrix; a LinearOperator X needs fit_intercept=False (centre y and "
                        "the operator yourself).")
                # centring makes the matrix dense anyway
                return validate_Xy(self, dense_matrix(X, "X", name), y, allow_complex=True)
            A = check_operator(X, "X")
            if A.dtype is None:
                raise ValueError("X is a LinearOperator without a dtype; give it one "
                                 "(dtype=float).")
            Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
            self.n_features_in_ = A.shape[1]
            return A, (Y[:, 0] if was_1d else Y)
        return validate_Xy(self, X, y, allow_complex=True)

    def fit(self, X, y):
        """Fit the model.

        Parameters
        ----------
        X : {array-like, sparse matrix, LinearOperator} of shape (n_samples, n_features)
            Sensing matrix ``A`` (real or complex).  A scipy.sparse matrix is
            used as such (products and, for vector variances, the sparse
            ``|A|^2``); a ``scipy.sparse.linalg.LinearOperator`` matrix-free
            (scalar variances, ``fit_intercept=False``).
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Measurement(s).

        Returns
        -------
        self : object
            Fitted estimator.
        """
        name = type(self).__name__
        validate_params(self.get_params(), self._parameter_constraints, name)
        X, y = self._validate_fit_data(X, y, name)
        odt = out_dtype(np.dtype(X.dtype), y.dtype)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        A, Y, X_mean, Y_mean = center_data(X, Y, self.fit_intercept)
        A_fit = A
        A, Ys, ab = _scaled(A, Y)
        info = {} if (self.e_step == "auto" and isinstance(A, np.ndarray)) else None
        A, Yw, fro2, theta, learn, s2 = _prepare(A, Ys, self.noise_variance, self.learn_noise,
                                                  self.damping, self.variances, argname="X",
                                                  info=info)
        if self.noise_variance is not None:
            s2 = s2 / ab[1] ** 2
        res = _solve(A, Yw, s2=s2, learn=learn, update=self.update, prune=self.prune,
                     theta=theta, max_iter=self.max_iter, tol=self.tol,
                     max_gamp_iter=self.max_gamp_iter, gamp_tol=self.gamp_tol,
                     variances=self.variances, fro2=fro2, adapt=self.damping == "auto",
                     verbose=self.verbose, name=name, init=self.init, e_step=self.e_step,
                     spread=None if info is None else info["spread"], argname="X",
                     two_starts=self.noise_variance is None)
        self.e_step_ = res["e_step"]
        _report(name, res["status"], res["delta"], self.tol, res["n_iter"], res["e_step"])
        _unscale(res, ab)
        one = y.ndim == 1
        coef = res["x"].T
        pick = (lambda a: a[0]) if one else (lambda a: a)
        self.coef_ = pick(coef).astype(odt, copy=True)
        self.gamma_ = pick(res["gamma"].T)
        self.posterior_variance_ = pick(res["tx"].T)
        self.noise_variance_ = float(res["sigma2"][0]) if one else res["sigma2"]
        self.damping_ = res["theta"]
        self.n_iter_ = res["n_iter"]
        self.n_gamp_iter_ = res["n_gamp"]
        self.delta_ = float(res["delta"])
        self.converged_ = res["status"] == 0
        g = res["gamma"].T
        store_posterior(self, A_fit, g[0] if one else g, res["sigma2"], one=one, shared=False)
        if self.fit_intercept:
            icpt = Y_mean - coef @ X_mean
            self.intercept_ = icpt[0] if one else icpt.astype(odt)
        else:
            self.intercept_ = 0.0 if one else np.zeros(Y.shape[1], dtype=odt)
        return self

    def predict(self, X, return_std=False):
        """Predict with the posterior-mean linear model.

        Parameters
        ----------
        X : {array-like, sparse matrix, LinearOperator} of shape (n_samples, n_features)
            Samples (a LinearOperator is applied to ``coef_``).
        return_std : bool, default=False
            Also return the posterior predictive standard deviation (see
            ``SBL.predict``; arrays and sparse matrices only).

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_targets)
            ``X @ coef_.T + intercept_``.
        y_std : ndarray, same shape as ``y_pred``
            Only with ``return_std=True``.
        """
        if return_std:
            if isinstance(X, LinearOperator):
                raise ValueError("predict(X, return_std=True) needs an array or sparse "
                                 "matrix X, not a LinearOperator.")
            return super().predict(X, return_std=True)
        if isinstance(X, LinearOperator):
            check_is_fitted(self)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} "
                                 f"is expecting {self.n_features_in_} features as input.")
            C = self.coef_.T if self.coef_.ndim == 2 else self.coef_[:, None]
            out = np.asarray(X.matmat(C)) + self.intercept_
            return out[:, 0] if self.coef_.ndim == 1 else out
        return super().predict(X)


def ggamp_sbl(A, y, *, noise_variance=None, learn_noise="auto", update="em", damping="auto",
              prune="auto", max_iter=2000, tol=1e-6, max_gamp_iter=1000, gamp_tol=1e-6,
              variances="auto", init="auto", e_step="auto", verbose=0):
    r"""GGAMP-SBL for a dense matrix, a sparse matrix or a LinearOperator.

    Parameters
    ----------
    A : ndarray, scipy.sparse matrix or LinearOperator of shape (n_measurements, n_features)
        Sensing matrix (only products with ``A`` and ``A^H`` are used for a
        LinearOperator, which then needs ``rmatvec``/``rmatmat``).
    y : array-like of shape (n_measurements,) or (n_measurements, n_targets)
        Measurements; each column has its own hyperparameters.
    noise_variance : float > 0, default=None
        Noise variance; None: learned.
    learn_noise : bool or "auto", default="auto"
        Learn the noise variance ("auto": when ``noise_variance`` is None).
    update : {"em", "mackay"}, default="em"
        M-step rule.
    damping : float in (0, 1] or "auto", default="auto"
        GAMP (and VAMP) damping factor.
    prune : "auto" or float in [0, 1), default="auto"
        Pruning rule (see ``SBL``); with "auto", :math:`\Sigma_{ii}` is
        GAMP's :math:`\tau_{x,i}` and a LinearOperator uses
        :math:`\|A\|_F^2/N` for the atom norms.
    max_iter : int, default=2000
        Maximum number of EM iterations.
    tol : float, default=1e-6
        Relative change of gamma to stop.
    max_gamp_iter : int, default=1000
        Maximum number of GAMP iterations per E-step.
    gamp_tol : float, default=1e-6
        Relative change of the GAMP mean that ends an E-step.
    variances : {"auto", "vector", "scalar"}, default="auto"
        GAMP variance form.
    init : {"auto", "ones", "sbl"}, default="auto"
        Initial gamma (see ``GGAMPSBL``).
    e_step : {"auto", "gamp", "vamp", "exact"}, default="auto"
        E-step (see ``GGAMPSBL``).
    verbose : int, default=0
        Print progress.

    Returns
    -------
    result : SolverResult
        ``coef``, ``gamma``, ``posterior_variance`` of shape (n_features,) or
        (n_features, n_targets); ``noise_variance``; ``damping``; ``n_iter``;
        ``n_gamp_iter``; ``converged``; ``delta``; ``e_step`` ("gamp",
        "vamp" or "exact").

    See Also
    --------
    GGAMPSBL : the estimator, with the algorithm in its Notes.
    sbl : EM-SBL with an exact E-step.

    Notes
    -----
    See ``GGAMPSBL``.

    References
    ----------
    .. [1] M. Al-Shoukairi, P. Schniter and B. D. Rao, "A GAMP-based low
       complexity sparse Bayesian learning algorithm", IEEE Trans. Signal
       Process. 66(2), 2018.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.sparse.linalg import aslinearoperator
    >>> from sparsecode import ggamp_sbl
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((50, 100)) / np.sqrt(50)
    >>> x = np.zeros(100); x[[7, 33, 80]] = [1.0, -2.0, 1.5]
    >>> res = ggamp_sbl(aslinearoperator(A), A @ x, noise_variance=1e-6)
    >>> np.flatnonzero(np.abs(res.coef) > 1e-2).tolist()
    [7, 33, 80]
    """
    validate_params(dict(noise_variance=noise_variance, learn_noise=learn_noise, update=update,
                         damping=damping, prune=prune, max_iter=max_iter, tol=tol,
                         max_gamp_iter=max_gamp_iter, gamp_tol=gamp_tol, variances=variances,
                         init=init, e_step=e_step, verbose=verbose),
                    {**GAMP_CONSTRAINTS, "init": [Options("auto", "ones", "sbl")],
                     "e_step": [Options("auto", "gamp", "vamp", "exact")]}, "ggamp_sbl")
    A = check_operator(A, "A")
    Y, was_1d = check_targets(y, A.shape[0], "y", allow_complex=True)
    odt = out_dtype(np.dtype(A.dtype), Y.dtype)
    A, Ys, ab = _scaled(A, Y)
    info = {} if (e_step == "auto" and isinstance(A, np.ndarray)) else None
    A, Yw, fro2, theta, learn, s2 = _prepare(A, Ys, noise_variance, learn_noise, damping,
                                              variances, info=info)
    if noise_variance is not None:
        s2 = s2 / ab[1] ** 2
    res = _solve(A, Yw, s2=s2, learn=learn, update=update, prune=prune, theta=theta,
                 max_iter=max_iter, tol=tol, max_gamp_iter=max_gamp_iter, gamp_tol=gamp_tol,
                 variances=variances, fro2=fro2, adapt=damping == "auto", verbose=verbose,
                 name="ggamp_sbl", init=init, e_step=e_step,
                 spread=None if info is None else info["spread"], argname="A",
                 two_starts=noise_variance is None)
    _report("ggamp_sbl", res["status"], res["delta"], tol, res["n_iter"], res["e_step"])
    _unscale(res, ab)
    pick = (lambda a: a[:, 0]) if was_1d else (lambda a: a)
    return SolverResult(
        coef=pick(res["x"]).astype(odt), gamma=pick(res["gamma"]),
        posterior_variance=pick(res["tx"]),
        noise_variance=float(res["sigma2"][0]) if was_1d else res["sigma2"],
        damping=res["theta"], n_iter=res["n_iter"], n_gamp_iter=res["n_gamp"],
        converged=res["status"] == 0, delta=res["delta"], e_step=res["e_step"])
