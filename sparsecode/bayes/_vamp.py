"""VAMP E-step for GGAMP-SBL (EM-VAMP with the SBL prior).

Vector approximate message passing (Rangan, Schniter and Fletcher 2019) for
the model ``y = A x + w``, ``x_i ~ N(0, gamma_i)``, ``w ~ N(0, sigma^2 I)``
(spec, poisson-gamp-unmixing-lars.md sections 2.3 and 2.4).  One economy
eigendecomposition of ``A A^H`` (or ``A^H A``) up front, ``A = U diag(s) V^H``;
each VAMP iteration then costs two products with ``V^H`` (``2 R N`` with
``R = rank A``) whatever the conditioning of ``A``.  An iteration alternates

* the LMMSE stage, prior ``N(r_1, 1/g_1)`` and likelihood ``N(y; A x,
  sigma^2)``, solved in the basis of the singular vectors;
* the Gaussian denoiser of the SBL prior, ``v_i = gamma_i / (1 + gamma_i
  g_2)``, ``x_i = v_i g_2 r_{2,i}``;

and exchanges the extrinsic means and precisions between them.  At a fixed
point ``x`` is the exact posterior mean ``(A^H A / sigma^2 +
Gamma^{-1})^{-1} A^H y / sigma^2`` for the current gamma (the two stages agree
on ``x`` and their precisions add up), for any ``A``; the variances ``v_i``
are approximations (exact in the large-system limit for right-rotationally
invariant ``A``).

The EM loop (``vamp_sbl``) uses VAMP while many atoms are active, where the
exact E-step costs ``m^2 K + m^3`` per iteration; once the active set is
small (``K <= HANDOFF * m``, or when the VAMP EM has settled) it hands the
hyperparameters over to the exact E-step of ``SBL`` in the space of the
active atoms (``K^3`` per iteration), which finishes the fit, re-admits
pruned atoms (Tipping and Faul's test) and makes the returned mean and
variances exact.
"""

import numpy as np
import scipy.sparse as sp

from ._common import TINY, abs2, herm, noise_floor
from ._em import AUTO_SNR, auto_prune_mask, em_sbl

#: precisions exchanged between the stages are clipped to [PREC_MIN, PREC_MAX]
#: (VampSlmOpt), relative to the scale of the problem (A and y are normalised
#: by the callers)
PREC_MIN, PREC_MAX = 1e-11, 1e11
#: damping of the denoiser output and of its extrinsic precision (spec 2.4:
#: measured with 0.9)
VAMP_DAMP = 0.9
#: singular values below this fraction of the largest are treated as zero
RANK_TOL = 1e-7
#: hand over to the exact E-step once every target keeps at most HANDOFF * m atoms
HANDOFF = 0.5
#: GGAMPSBL's VAMP route (prune="auto", EM) fits twice: with the pruning rule
#: of the exact EM in the VAMP phase and with its per-atom SNR threshold at this
#: fraction of AUTO_SNR, so that the VAMP phase, whose variances are
#: approximate (one precision for all atoms), prunes only atoms clearly below
#: the noise and the exact E-step that finishes the fit decides on the others;
#: per target the lower BIC of the type-II model is kept.  Measured (m x 4m,
#: condition numbers 1e4 and 1e6, 40 dB, means over 4 draws, GGAMPSBL() minus
#: SBL()): m = 1000 +1.66 / +2.41 dB with the one fit, +0.36 / +0.75 with the
#: two; m = 500 at 1e6 +0.62 -> -2.25; the Toeplitz(0.9) 192 x 256 cells of the
#: accuracy grid (VAMP too) within 0.6 dB of before, where the gentler rule
#: alone lost up to 6.7 dB; about 2.2 times the CPU time of the one fit
VAMP_GENTLE_PRUNE = 0.3
#: inexact inner loops while gamma moves (as GGAMP-SBL's GAMP E-steps)
EPS_FIRST, EPS_FACTOR = 1e-3, 1e-2


class SVDFactors:
    """Economy SVD ``A = U diag(s) Vh`` of a dense matrix, by the
    eigendecomposition of the smaller Gram matrix (``min(m, N)^2 max(m, N)``
    flops); directions with ``s < RANK_TOL * s_max`` are dropped."""

    def __init__(self, A):
        m, N = A.shape
        if m <= N:
            d, U = np.linalg.eigh(A @ herm(A))
            keep = d > (RANK_TOL ** 2) * max(d[-1], TINY)
            U, s = U[:, keep], np.sqrt(d[keep])
            Vh = (herm(U) @ A) / s[:, None]
        else:
            d, V = np.linalg.eigh(herm(A) @ A)
            keep = d > (RANK_TOL ** 2) * max(d[-1], TINY)
            V, s = V[:, keep], np.sqrt(d[keep])
            U = (A @ V) / s[None, :]
            Vh = herm(V)
        self.U, self.s, self.Vh = U, s, np.ascontiguousarray(Vh)
        self.V = np.ascontiguousarray(herm(self.Vh))
        self.shape = (m, N)


def vamp_estep(F, ty, gam, s2, state, max_iter, eps, damp=VAMP_DAMP):
    """VAMP for the Gaussian SBL prior at fixed ``gam`` (N, L) and ``s2`` (L,).

    ``F`` the SVD factors, ``ty = U^H Y`` (R, L); ``state`` (updated in place:
    the warm start of the next EM iteration) holds ``r1`` (N, L), ``g1`` (L,)
    and, after the first call, the damped ``x2`` and ``g2``.  Divergence: a
    non-finite value, or ``||U^H y - diag(s) V^H r_1|| > 1e8 ||U^H y||``
    (then ``state`` keeps the last accepted E-step).  Returns
    ``(n_iter, delta, diverged)``; ``state["x2"]``, ``state["v2"]`` are the
    posterior mean and variances, ``state["x1"]`` the LMMSE mean.
    """
    m, N = F.shape
    s = F.s[:, None]
    d2 = s * s
    R = F.s.size
    gw = 1.0 / s2[None, :]
    r1, g1 = state["r1"], state["g1"]
    x2p, g2p = state.get("x2"), state.get("g2")
    active = np.any(gam > 0, axis=0)
    delta = np.inf
    ynorm = np.sqrt(np.sum(abs2(ty)))
    for k in range(1, max_iter + 1):
        # LMMSE stage (basis of the singular vectors)
        z = F.Vh @ r1
        # blow-up: the extrinsic mean r1 fits the data 1e8 times worse than 0
        if np.sqrt(np.sum(abs2(ty - s * z))) > 1e8 * (ynorm + TINY):
            return k, delta, True
        den = gw * d2 + g1[None, :]
        x1 = r1 + F.V @ (gw * s * (ty - s * z) / den)
        a1 = ((N - R) + np.sum(g1[None, :] / den, axis=0)) / N
        a1 = np.clip(a1, 1e-300, 1.0 - 1e-15)
        eta1 = g1 / a1
        g2 = np.clip(eta1 - g1, PREC_MIN, PREC_MAX)
        r2 = (eta1[None, :] * x1 - g1[None, :] * r1) / g2[None, :]
        if g2p is not None:
            g2 = damp * g2 + (1.0 - damp) * g2p
        # denoiser stage (Gaussian prior N(0, gamma_i))
        v2 = gam / (1.0 + gam * g2[None, :])
        x2 = v2 * g2[None, :] * r2
        if x2p is not None:
            x2 = damp * x2 + (1.0 - damp) * x2p
        mv = np.mean(v2, axis=0)
        eta2 = np.where(mv > 0, 1.0 / np.where(mv > 0, mv, 1.0), PREC_MAX)
        g1n = np.clip(eta2 - g2, PREC_MIN, PREC_MAX)
        r1n = (eta2[None, :] * x2 - g2[None, :] * r2) / g1n[None, :]
        num = np.sqrt(np.sum(abs2(x2 - x2p))) if x2p is not None else np.inf
        nx = np.sqrt(np.sum(abs2(x2)))
        delta = num / nx if nx > 0 else (0.0 if num == 0 else np.inf)
        if not (np.all(np.isfinite(r1n)) and np.all(np.isfinite(x2))
                and np.all(np.isfinite(g1n))):
            return k, delta, True
        r1, g1, x2p, g2p = r1n, g1n, x2, g2
        if delta < eps:
            break
    state.update(r1=r1, g1=g1, x2=np.where(active[None, :], x2p, 0.0), g2=g2p, v2=v2, x1=x1,
                 eta1=eta1)
    return k, delta, False


def vamp_sbl(A, Y, *, s2, learn_noise, update, prune, max_iter, tol, max_inner=500,
             inner_tol=1e-6, verbose=0, name="GGAMP-SBL", handoff=HANDOFF, damp=VAMP_DAMP,
             prune_snr=AUTO_SNR, factors=None):
    """EM-SBL with VAMP E-steps, finished with the exact E-step.

    ``A`` dense (m, N) (a sparse matrix is densified by the caller), ``Y``
    (m, L), ``s2`` (L,) initial noise variances, ``damp`` the damping of
    ``vamp_estep``, ``prune_snr`` the per-atom SNR threshold of the
    ``prune="auto"`` rule in the VAMP phase (the exact finish uses
    ``AUTO_SNR``), ``factors`` the ``SVDFactors`` of ``A`` when already
    computed (else computed here).  Returns the dict of
    ``ggamp_sbl_kernel`` (keys x, tx, gamma, sigma2, n_iter, n_gamp, status,
    delta) plus ``n_vamp`` (VAMP iterations) and ``n_vamp_em`` (EM
    iterations with the VAMP E-step).
    """
    if sp.issparse(A):
        A = A.toarray()
    m, N = A.shape
    L = Y.shape[1]
    F = SVDFactors(A) if factors is None else factors
    ty = herm(F.U) @ Y
    # ||y||^2 outside the range of A: a constant part of every residual
    out2 = np.maximum(np.sum(abs2(Y), axis=0) - np.sum(abs2(ty), axis=0), 0.0)
    floor = noise_floor(np.sum(abs2(Y), axis=0) / m)
    s2 = np.maximum(np.asarray(s2, dtype=np.float64).copy(), floor)
    gam = np.ones((N, L))
    state = dict(r1=np.zeros((N, L), dtype=Y.dtype), g1=np.ones(L))
    cnorm2 = np.sum(abs2(A), axis=0)
    auto = isinstance(prune, str) and update == "em"
    thr = 1e-8 if isinstance(prune, str) else prune
    status, delta, n_vamp, it = 1, np.inf, 0, 0
    for it in range(1, max_iter + 1):
        eps = max(inner_tol, EPS_FIRST if not np.isfinite(delta) else EPS_FACTOR * delta)
        k, _, diverged = vamp_estep(F, ty, gam, s2, state, max_inner, eps, damp)
        n_vamp += k
        if diverged:
            status = 2
            break
        x, v = state["x2"], state["v2"]
        gam_old = gam
        pos = gam_old > 0
        rho = np.where(pos, 1.0 - v / np.where(pos, gam_old, 1.0), 0.0)
        if update == "em":
            gam = abs2(x) + v
        else:
            gam = abs2(x) / np.maximum(rho, TINY)
        gam = np.where(pos, gam, 0.0)
        if learn_noise:
            res2 = np.sum(abs2(ty - F.s[:, None] * (F.Vh @ x)), axis=0) + out2
            if update == "em":
                s2 = (res2 + s2 * np.sum(rho, axis=0)) / m
            else:
                s2 = res2 / np.maximum(m - np.sum(rho, axis=0), 1.0)
            s2 = np.maximum(s2, floor)
        if auto:
            drop = auto_prune_mask(gam_old.T, gam.T, abs2(x).T, np.clip(rho, 0, 1).T, cnorm2,
                                   s2, snr_min=prune_snr).T
            gam = np.where(drop, 0.0, gam)
        else:
            gam = np.where(gam < thr * np.max(gam, axis=0, keepdims=True), 0.0, gam)
        if not np.all(np.isfinite(gam)):
            gam = gam_old
            status = 2
            break
        nrm = np.sqrt(np.sum(gam_old ** 2))
        delta = np.sqrt(np.sum((gam - gam_old) ** 2)) / nrm if nrm > 0 else 0.0
        n_act = np.count_nonzero(gam > 0, axis=0)
        if verbose:
            print(f"[{name}] VAMP EM iter {it}: {k} VAMP iterations, rel. change of gamma "
                  f"{delta:.3e}, active {int(np.max(n_act))}", flush=True)
        if delta < tol or np.all(n_act <= handoff * m):
            break
    n_vamp_em = it
    if status == 2 or not np.all(np.any(gam > 0, axis=0)):
        if status != 2:
            status = 0
        zero = np.zeros((N, L), dtype=Y.dtype)  # no finite E-step yet: x = 0
        x = np.where(gam > 0, state.get("x2", zero), 0.0)
        v = np.where(gam > 0, state.get("v2", zero.real), 0.0)
        return dict(x=x, tx=v, gamma=gam, sigma2=s2,
                    n_iter=it, n_gamp=n_vamp, status=status, delta=delta,
                    n_vamp=n_vamp, n_vamp_em=n_vamp_em)
    # exact E-step on the (small) active set: SBL's EM from the VAMP hyperparameters
    res = em_sbl(A, Y, shared=False, gamma0=gam.T, sigma2=s2, learn_noise=learn_noise,
                 update=update, prune=prune, max_iter=max(max_iter - it, 1), tol=tol)
    st = res["status"]
    return dict(x=res["mu"][:, :, 0].T, tx=res["d"].T, gamma=res["gamma"].T,
                sigma2=res["sigma2"], n_iter=it + int(np.max(res["n_iter"])), n_gamp=n_vamp,
                status=2 if np.any(st == 2) else (1 if np.any(st == 1) else 0),
                delta=float(np.max(res["delta"])), n_vamp=n_vamp, n_vamp_em=n_vamp_em)
