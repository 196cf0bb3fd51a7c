"""The EM sparse Bayesian learning kernel shared by SBL, M-SBL and T-MSBL.

One batched, vectorised implementation of spec sections 5.1, 5.3 and 5.4:

* ``groups`` problems are solved at once; each group has its own
  hyperparameters ``gamma`` (shape ``(n_groups, N)``) and noise variance,
  and ``R`` right-hand sides sharing them.  Independent single-measurement
  SBL problems are ``R = 1`` groups; M-SBL / T-MSBL is one group with
  ``R = L`` snapshots.
* The E-step works in the smaller of the two spaces.  With ``K`` active
  (unpruned) columns, the K-space form uses the symmetric matrix
  ``B = I + sigma^-2 Gamma^(1/2) A_K^H A_K Gamma^(1/2)`` (its eigenvalues are
  >= 1, and a zero gamma needs no inverse), so that
  ``Sigma = Gamma^(1/2) B^-1 Gamma^(1/2)``,
  ``mu = sigma^-2 Sigma A^H y`` and ``log|Sigma_y| = m log sigma^2 + log|B|``
  (determinant lemma).  The m-space form factors
  ``Sigma_y = sigma^2 I + A_K Gamma A_K^H`` (Woodbury's other side).  Both are
  batched Cholesky factorisations; columns pruned in every group of the batch
  are removed, and the Gram block ``A_K^H A_K`` is formed once, when ``K``
  first drops below ``m``, and then only sub-selected.
* Groups that meet the stopping rule are frozen and leave the batch.

The kernel takes arrays in the working precision and returns arrays and
status codes; validation and warnings live in the callers.
"""

import numpy as np
from scipy.linalg import blas, lapack, solve_triangular

from ._common import TINY, abs2, herm, noise_floor


def _cholesky(M):
    try:
        return np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        # Keep the factor SPD under round-off (spec 5.1 pitfalls): tiny jitter.
        n = M.shape[-1]
        tr = np.real(np.trace(M, axis1=-2, axis2=-1))[..., None, None]
        return np.linalg.cholesky(M + 1e-12 * tr / n * np.eye(n))


def _trsm_lower(L, B):
    """``L^{-1} B`` for a lower-triangular ``L``: BLAS ``trsm`` directly
    (what ``solve_triangular`` runs, without its wrapper's checks and
    copies, about 80 us per call on a 20 x 800 right-hand side)."""
    if L.dtype == B.dtype and L.dtype in (np.float64, np.complex128) \
            and np.all(np.isfinite(np.diagonal(L))) and np.all(np.diagonal(L) != 0):
        trsm = blas.ztrsm if L.dtype == np.complex128 else blas.dtrsm
        return trsm(1.0, L, B, lower=1)
    return solve_triangular(L, B, lower=True)


def _lapack(dtype, name):
    return getattr(lapack, ("z" if np.issubdtype(dtype, np.complexfloating) else "d") + name)


def _potrf(M):
    """Lower Cholesky factor of one SPD matrix, with jitter on failure."""
    potrf = _lapack(M.dtype, "potrf")
    c, info = potrf(M, lower=1, clean=1)
    if info != 0:
        n = M.shape[0]
        c, info = potrf(M + 1e-12 * np.real(np.trace(M)) / n * np.eye(n), lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError("Cholesky factorisation failed")
    return c


def _estep_single(A_K, G_KK, gam, s2, y, Aty, ynorm2, work=None):
    """One group, one or several right-hand sides: direct LAPACK calls (low overhead).

    ``work`` (a dict, optional) keeps the m-space buffers between calls of
    one solve: ``(N, m)`` row-major arrays whose leading rows are the
    Fortran-ordered ``m x K`` operands of syrk and trtrs, and the ``m x m``
    factor, so that the iterations allocate (and page-fault) no new large
    array.
    """
    m, K = A_K.shape
    if G_KK is not None:
        sq = np.sqrt(gam)
        B = (sq[:, None] * G_KK * sq[None, :]) / s2
        B[np.diag_indices(K)] += 1.0
        L = _potrf(B)
        logdet = m * np.log(s2) + 2.0 * np.sum(np.log(np.real(np.diagonal(L))))
        Binv, _ = _lapack(B.dtype, "potri")(L, lower=1)
        Binv = np.tril(Binv) + herm(np.tril(Binv, -1))
        binv_diag = np.real(np.diagonal(Binv))
        mu = sq[:, None] * (Binv @ (sq[:, None] * Aty)) / s2
        d = gam * binv_diag
        rho = np.clip(1.0 - binv_diag, 0.0, 1.0)
        quad = (ynorm2 - np.sum(np.real(np.conj(Aty) * mu))) / s2
        return mu, d, rho, logdet, quad
    # Sigma_y = sigma^2 I + (A_K Gamma^1/2)(A_K Gamma^1/2)^H: one rank-K update
    # (syrk/herk fills the lower triangle, all potrf reads): half a GEMM.
    # A_K arrives Fortran-ordered (a view of the row-major A^T that em_sbl keeps),
    # so that neither syrk nor trtrs copies or transposes it.
    cplx = np.iscomplexobj(A_K)
    dt = np.complex128 if cplx else np.float64
    if work is None:
        work = {}
    if work.get("dtype") != dt or work["BhT"].shape[0] < K or work["C"].shape[0] != m:
        # sized for the first (largest) active set; later, smaller sets use leading rows
        work.update(dtype=dt, BhT=np.empty((K, m), dtype=dt), WT=np.empty((K, m), dtype=dt),
                    C=np.empty((m, m), dtype=dt, order="F"))
    BhT = work["BhT"][:K]
    np.multiply(A_K.T, np.sqrt(gam)[:, None], out=BhT)  # rows of A_K^T scaled
    Cw = work["C"]
    if cplx:
        C = blas.zherk(1.0, BhT.T, beta=0.0, c=Cw, lower=1, overwrite_c=1)
    else:
        C = blas.dsyrk(1.0, BhT.T, beta=0.0, c=Cw, lower=1, overwrite_c=1)
    C[np.diag_indices(m)] += s2
    L = _potrf(C)
    logdet = 2.0 * np.sum(np.log(np.real(np.diagonal(L))))
    trtrs = _lapack(C.dtype, "trtrs")
    WT = work["WT"][:K]
    np.copyto(WT, A_K.T)
    W, _ = trtrs(L, WT.T, lower=1, overwrite_b=1)               # L^-1 A_K (in place)
    u, _ = trtrs(L, y.astype(L.dtype, copy=False), lower=1)      # L^-1 y
    if np.iscomplexobj(W):                                       # a_i^H Sigma_y^-1 a_i
        q = np.einsum("ij,ij->j", W.real, W.real) + np.einsum("ij,ij->j", W.imag, W.imag)
    else:
        q = np.einsum("ij,ij->j", W, W)
    mu = gam[:, None] * (herm(W) @ u)
    d = np.maximum(gam - gam * gam * q, 0.0)
    rho = np.clip(gam * q, 0.0, 1.0)
    quad = np.sum(abs2(u))
    return mu, d, rho, logdet, quad


def estep(A_K, G_KK, gam, s2, Yb, AtY, ynorm2, work=None):
    """Posterior moments of the SBL model for a batch of groups.

    Parameters
    ----------
    A_K : (m, K) active columns.
    G_KK : (K, K) or None
        ``A_K^H A_K`` (K-space form); None selects the m-space form.
    gam : (g, K) prior variances (zeros allowed).
    s2 : (g,) noise variances.
    Yb : (g, m, R) right-hand sides.
    AtY : (g, K, R) ``A_K^H Y``.
    ynorm2 : (g,) ``||Y||_F^2`` per group.
    work : dict or None
        Buffers reused across the iterations of one solve (one group only).

    Returns
    -------
    mu : (g, K, R) posterior means.
    d : (g, K) posterior variances ``diag Sigma``.
    rho : (g, K) ``1 - d/gamma`` (``gamma a^H Sigma_y^-1 a``), in [0, 1].
    logdet : (g,) ``log|Sigma_y|``.
    quad : (g,) ``tr(Y^H Sigma_y^-1 Y)``.
    """
    m = A_K.shape[0]
    K = A_K.shape[1]
    g, _, R = Yb.shape
    if K == 0:  # every column pruned: Sigma_y = sigma^2 I
        z = np.zeros((g, 0))
        return np.zeros((g, 0, R), dtype=Yb.dtype), z, z, m * np.log(s2), ynorm2 / s2
    if g == 1:
        mu, d, rho, logdet, quad = _estep_single(A_K, G_KK, gam[0], s2[0], Yb[0], AtY[0],
                                                 ynorm2[0], work)
        return mu[None], d[None], rho[None], np.array([logdet]), np.array([quad])
    if G_KK is not None:
        sq = np.sqrt(gam)
        B = (sq[:, :, None] * G_KK[None] * sq[:, None, :]) / s2[:, None, None]
        B[:, np.arange(K), np.arange(K)] += 1.0
        L = _cholesky(B)
        logdet = m * np.log(s2) + 2.0 * np.sum(np.log(np.real(np.diagonal(L, axis1=1, axis2=2))),
                                               axis=1)
        Binv = np.linalg.inv(B)
        binv_diag = np.real(np.diagonal(Binv, axis1=1, axis2=2))
        mu = sq[:, :, None] * np.matmul(Binv, sq[:, :, None] * AtY) / s2[:, None, None]
        d = gam * binv_diag
        rho = np.clip(1.0 - binv_diag, 0.0, 1.0)
        quad = (ynorm2 - np.sum(np.real(np.conj(AtY) * mu), axis=(1, 2))) / s2
        return mu, d, rho, logdet, quad
    # m-space: Sigma_y = sigma^2 I + A_K Gamma A_K^H
    AH = herm(A_K)
    C = np.matmul(A_K[None] * gam[:, None, :], AH[None])
    C[:, np.arange(m), np.arange(m)] += s2[:, None]
    L = _cholesky(C)
    logdet = 2.0 * np.sum(np.log(np.real(np.diagonal(L, axis1=1, axis2=2))), axis=1)
    W = solve_triangular(L, np.broadcast_to(A_K.astype(L.dtype), (g,) + A_K.shape), lower=True)
    u = solve_triangular(L, Yb.astype(L.dtype, copy=False), lower=True)
    q = np.sum(abs2(W), axis=1)  # a_i^H Sigma_y^-1 a_i
    mu = gam[:, :, None] * np.matmul(np.conj(np.swapaxes(W, 1, 2)), u)
    d = np.maximum(gam - gam * gam * q, 0.0)
    rho = np.clip(gam * q, 0.0, 1.0)
    quad = np.sum(abs2(u), axis=(1, 2))
    return mu, d, rho, logdet, quad


AUTO_SNR = 10.0  # prune="auto": per-atom SNR below which an atom is noise


def type2_cost(A, Y, gam, s2):
    """The type-II cost ``R log|Sigma_y| + tr(Y^H Sigma_y^-1 Y)`` of one problem.

    ``Sigma_y = sigma^2 I + A Gamma A^H``; ``A`` (m, N) dense, ``Y`` (m, R),
    ``gam`` (N,), ``s2`` a scalar.  Minus twice the log marginal likelihood
    (up to ``R m log(2 pi)``), computed in the space of the active atoms.
    """
    m = A.shape[0]
    act = np.flatnonzero(gam > 0)
    ynorm2 = float(np.sum(abs2(Y)))
    if act.size == 0:
        return Y.shape[1] * m * np.log(s2) + ynorm2 / s2
    A_K = np.asfortranarray(A[:, act])
    G = herm(A_K) @ A_K if act.size <= m else None
    AtY = herm(A_K) @ Y
    _, _, _, logdet, quad = _estep_single(A_K, G, gam[act], float(s2), Y, AtY, ynorm2)
    return Y.shape[1] * logdet + quad


def auto_prune_mask(gam, gnew, musq, rho, cnorm2, s2, snr_min=AUTO_SNR):
    """The ``prune="auto"`` rule: atoms indistinguishable from noise.

    Atom ``i`` is removed when both

    * its signal-to-noise ratio ``gamma_i ||a_i||^2 / sigma^2`` (with the new
      gamma and the current noise variance) is below ``snr_min``
      (``AUTO_SNR``), and
    * the type-II cost, as a function of ``gamma_i`` alone (the others
      fixed), is minimised at ``gamma_i = 0`` (Tipping & Faul 2003:
      ``q_i^2 <= s_i``, which in terms of the E-step moments reads
      ``|mu_i|^2 <= gamma_i rho_i (1 - rho_i)``).

    The threshold scales with the noise variance, so that it is the same at
    30 dB and at 60 dB, and with the atom norms (no dependence on the scale
    of ``A`` or of ``x``).  It is used with the EM rule only: one step of
    the fixed-point rule can shrink a true gamma by orders of magnitude
    during the first iterations (measured: M-SBL at 16 x 50 lost true rows),
    so ``update="mackay"`` keeps the numerical relative threshold 1e-8.
    Shapes: gam, gnew, musq, rho ``(g, K)``;
    cnorm2 ``(K,)``; s2 ``(g,)``.
    """
    snr = gnew * cnorm2[None, :] / s2[:, None]
    return (snr < snr_min) & (musq <= gam * rho * (1.0 - rho))


#: prune="auto": at most this many re-admission rounds per problem (see readmit)
MAX_READMIT = 50


def _gram_columns(A, act, cache):
    """``A^H A[:, act]`` (N, K), kept in ``cache`` between the calls of one
    solve: only the columns of atoms not seen before are computed (the
    re-admission rounds of one fit add a few atoms at a time)."""
    have = cache.get("idx")
    if have is None:
        cache["idx"], cache["AhA"] = act.copy(), herm(A) @ A[:, act]
    else:
        new = act[~np.isin(act, have)]
        if new.size:
            cache["idx"] = np.concatenate([have, new])
            cache["AhA"] = np.concatenate([cache["AhA"], herm(A) @ A[:, new]], axis=1)
    order = np.argsort(cache["idx"], kind="stable")
    pos = order[np.searchsorted(cache["idx"], act, sorter=order)]
    return cache["AhA"][:, pos]


def _sparsity_factors(A, act, out, gam, s2, cn, m, cache):
    """Tipping and Faul's sparsity factors ``S_i = a_i^H C^{-1} a_i`` of the
    columns ``out`` (``C`` the data covariance of the active atoms ``act``)."""
    K = act.size
    if K == 0:
        return cn / s2
    if K <= m:
        sq = np.sqrt(gam[act])
        if cache is not None:
            AhA = _gram_columns(A, act, cache)  # (N, K): a_i^H a_k
            G, C = AhA[act], herm(AhA[out])
        else:
            A_K = A[:, act]
            G, C = herm(A_K) @ A_K, herm(A_K) @ A[:, out]
        B = (sq[:, None] * G * sq[None, :]) / s2
        B[np.diag_indices(K)] += 1.0
        L = _potrf(B)
        W = _trsm_lower(L, sq[:, None] * C)
        return cn / s2 - np.sum(abs2(W), axis=0) / s2 ** 2
    A_K = A[:, act]
    C = (A_K * gam[act][None, :]) @ herm(A_K)
    C[np.diag_indices(m)] += s2
    L = _potrf(C)
    W = solve_triangular(L, A[:, out], lower=True)
    return np.sum(abs2(W), axis=0)


def readmit(A, y, gam, s2, mu, cache=None, bic_m=None):
    """Tipping & Faul's addition test for the pruned atoms of one problem.

    ``A`` (m, N), ``y`` (m, R), ``gam`` (N,) with zeros on the pruned atoms,
    ``s2`` the current noise variance, ``mu`` (N, R) the posterior mean at
    ``gam``.  For a pruned atom ``i`` the type-II cost as a function of
    ``gamma_i`` alone (the others fixed) is

        ``l(gamma_i) = log(1 + gamma_i s_i) - |q_i|^2 gamma_i / (1 + gamma_i s_i)``

    (per snapshot, ``|q_i|^2`` averaged over them) with
    ``s_i = a_i^H Sigma_y^-1 a_i`` and ``q_i = a_i^H Sigma_y^-1 y``, minimised
    at ``gamma_i = (|q_i|^2 - s_i) / s_i^2`` when ``|q_i|^2 > s_i`` and at 0
    otherwise (Tipping & Faul 2003, the "add" action of their fast marginal
    likelihood algorithm).  Returns the indices of the atoms that the cost
    wants back and their gamma.  ``Sigma_y^-1 y = (y - A mu) / sigma^2``
    exactly, so ``q`` costs one product; ``s`` is computed in the space of the
    K active atoms (``K m N``; with a ``cache`` dict, reused between the calls
    of one solve, only the Gram columns of newly active atoms are computed)
    or, when ``K > m``, of the m measurements.
    """
    m, N = A.shape
    R = y.shape[1]
    act = np.flatnonzero(gam > 0)
    out = np.flatnonzero(gam <= 0)
    if out.size == 0:
        return out, np.zeros(0)
    resid = y - A[:, act] @ mu[act] if act.size else y
    # products with the whole of A (no copy of its pruned columns)
    Q = (herm(A) @ resid)[out] / s2
    q2 = np.sum(abs2(Q), axis=1) / R
    if cache is not None and "cn" in cache:
        cn_all = cache["cn"]
    else:
        cn_all = np.real(np.einsum("ij,ij->j", np.conj(A), A))
        if cache is not None:
            cache["cn"] = cn_all
    cn = cn_all[out]
    # s2 = 0 (y = 0, or y explained exactly): S is infinite and nothing is
    # re-admitted (below), without a division warning
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        S = _sparsity_factors(A, act, out, gam, s2, cn, m, cache)
    S = np.maximum(S, 1e-150)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        gnew = np.where(q2 > S, (q2 - S) / S / S, 0.0)
        gnew = np.where(np.isfinite(gnew), gnew, 0.0)
        # symmetric with auto_prune_mask: only atoms that the rule would keep
        add = (q2 > S) & (gnew * cn / s2 >= AUTO_SNR)
    if bic_m is not None:  # and with bic_keep: a gain above the BIC cost
        t = np.where(add, q2 / S, 2.0)
        add &= (t - 1.0 - np.log(t)) > np.log(bic_m)
    return out[add], gnew[add]


def bic_keep(mu, gam, rho, m):
    """The active atoms minus the one whose likelihood gain pays least for
    its parameter, when that gain is below the BIC cost.

    For an active atom, Tipping and Faul's (2003) deletion change of the
    type-II log likelihood, written with the E-step moments
    (``s_i = rho_i / (gamma_i (1 - rho_i))``, ``q_i = mu_i / (gamma_i (1 -
    rho_i))``), is ``-(|mu_i|^2 / (gamma_i (1 - rho_i)) + log(1 - rho_i)) / 2``.
    The atom with the smallest loss is removed when twice the loss is below
    ``log m``, the BIC cost of its prior variance (Schwarz 1978; the
    criterion that also chooses between the two noise starts).  One atom at
    a time, as the single actions of Tipping and Faul, so that the learned
    noise variance follows each deletion.  At the optimal gamma_i the same
    quantity is the gain of re-admitting a pruned atom (``readmit(bic_m=m)``:
    ``t - 1 - log t > log m`` with ``t = q_i^2 / s_i``), so that deletion and
    re-admission cannot undo each other.  ``mu``, ``gam``, ``rho`` (K,);
    returns a boolean mask (True: kept; pruned atoms stay as they are).
    """
    keep = np.ones(gam.shape, dtype=bool)
    act = np.flatnonzero((gam > 0) & (rho < 1.0))
    if act.size == 0:
        return keep
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gain2 = abs2(mu[act]) / (gam[act] * (1.0 - rho[act])) + np.log1p(-rho[act])
    gain2 = np.where(np.isnan(gain2), np.inf, gain2)
    i = int(np.argmin(gain2))
    if gain2[i] < np.log(m):
        keep[act[i]] = False
    return keep


#: learned noise, prune="auto", one snapshot: atoms are kept or re-admitted
#: only when their likelihood gain pays the BIC cost (bic_keep)
BIC_ATOMS = True


def em_sbl(A, Y, *, shared, gamma0, sigma2, learn_noise, update, prune, max_iter, tol,
           learn_correlation=False, gamma_tol=1e-8, verbose=0, name="SBL"):
    """EM / fixed-point sparse Bayesian learning (spec 5.1, 5.3, 5.4).

    Parameters
    ----------
    A : (m, N) working dtype.
    Y : (m, L) working dtype.
    shared : bool
        One gamma for all columns of Y (M-SBL) or one per column (SBL).
    gamma0 : (g, N) initial gamma.
    sigma2 : (g,) initial noise variance.
    learn_noise : bool
    update : {"em", "mackay"}
    prune : float or "auto"
        Relative pruning threshold on gamma (``gamma < prune * max gamma``),
        or "auto" for the noise-relative rule of ``auto_prune_mask``.
    max_iter, tol : stopping rule (relative change of mu; or max |delta
        gamma| < gamma_tol * max gamma).
    learn_correlation : bool
        T-MSBL: learn the snapshot correlation B (AR(1)-regularised).

    Returns
    -------
    dict with mu (g, N, R), gamma (g, N), d (g, N), sigma2 (g,), n_iter (g,),
    converged (g,), delta (g,) final relative change, objective (list of
    per-group arrays), B (R, R) and beta when learning the correlation,
    status (g,) 0 = converged, 1 = max_iter, 2 = non-finite values.
    """
    m, N = A.shape
    if shared:
        Yb = Y[None]
    else:
        Yb = np.ascontiguousarray(Y.T)[:, :, None]
    g, _, R = Yb.shape
    AtY_full = np.matmul(herm(A)[None], Yb) if shared else herm(A) @ Y
    if not shared:
        AtY_full = np.ascontiguousarray(AtY_full.T)[:, :, None]
    ynorm2 = np.sum(abs2(Yb), axis=(1, 2))
    floor = noise_floor(ynorm2 / (m * R))
    auto = isinstance(prune, str) and update == "em"  # "auto": noise-relative rule
    if isinstance(prune, str) and not auto:
        prune = 1e-8
    if auto:
        cnorm2 = np.sum(abs2(A), axis=0)  # ||a_i||^2

    gam = np.array(gamma0, dtype=np.float64)
    s2 = np.maximum(np.array(sigma2, dtype=np.float64), floor)
    mu_full = np.zeros((g, N, R), dtype=A.dtype)
    d_full = np.zeros((g, N))
    n_iter = np.zeros(g, dtype=np.intp)
    status = np.ones(g, dtype=np.intp)
    delta = np.full(g, np.inf)
    objective = [[] for _ in range(g)]
    Bcorr = np.eye(R)
    Binv = None
    beta = 0.0

    active_g = np.arange(g)
    idx = np.arange(N)  # union of unpruned columns over the active groups
    # row-major A^T: its row subsets are the Fortran-ordered column subsets
    # A_K that BLAS/LAPACK read without a copy (and no copy at all while no
    # column is pruned)
    AT = np.ascontiguousarray(A.T)
    work = {}  # m-space E-step buffers, reused while the active set shrinks
    G_KK, G_idx = None, None
    n_readmit = np.zeros(g, dtype=np.intp)
    bic = auto and learn_noise and R == 1 and BIC_ATOMS
    rcache = {}  # per group: Gram columns of the re-admission tests (readmit)
    grown = False
    for it in range(1, max_iter + 1):
        if grown:  # atoms re-admitted: the union of the active columns grows back
            idx = np.flatnonzero(np.any(gam[active_g] > 0, axis=0))
            if G_idx is not None and not np.all(np.isin(idx, G_idx)):
                G_KK, G_idx = None, None
            grown = False
        gam_a = gam[np.ix_(active_g, idx)]
        keep = np.any(gam_a > 0, axis=0)
        if not np.all(keep):
            idx = idx[keep]
            gam_a = gam_a[:, keep]
        K = idx.size
        A_K = (AT if K == N else AT[idx]).T
        if K <= m:
            if G_KK is None:
                G_KK, G_idx = herm(A_K) @ A_K, idx
            elif G_idx.size != K:
                pos = np.searchsorted(G_idx, idx)
                G_KK, G_idx = G_KK[np.ix_(pos, pos)], idx
            G_use = G_KK
        else:
            G_use = None
        s2_a = s2[active_g]
        AtY = AtY_full[np.ix_(active_g, idx, np.arange(R))]
        mu, d, rho, logdet, quad = estep(A_K, G_use, gam_a, s2_a, Yb[active_g], AtY,
                                         ynorm2[active_g], work)
        obj = R * logdet + quad
        finite = (np.all(np.isfinite(mu), axis=(1, 2)) & np.isfinite(obj)
                  & np.all(np.isfinite(d), axis=1))
        # convergence test on the posterior mean computed at the current gamma
        prev = mu_full[np.ix_(active_g, idx, np.arange(R))]
        num = np.sqrt(np.sum(abs2(mu - prev), axis=(1, 2)))
        den = np.sqrt(np.sum(abs2(mu), axis=(1, 2)))
        dmu = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        for j, gi in enumerate(active_g):
            if finite[j]:
                objective[gi].append(obj[j])
        n_iter[active_g] = it
        # store the moments (the returned mean is the posterior at the returned gamma)
        ok = active_g[finite]
        mu_full[ok] = 0
        d_full[ok] = 0
        mu_full[np.ix_(ok, idx, np.arange(R))] = mu[finite]
        d_full[np.ix_(ok, idx)] = d[finite]
        status[active_g[~finite]] = 2
        if it > 1:
            dgam = last_dgam
            done = finite & ((dmu < tol) | (dgam <= gamma_tol * np.max(gam_a, axis=1, initial=0.0)))
        else:
            done = ~finite
        pending = []
        pending_del = []
        if auto and np.any(done & finite):
            # pruning is reversible: a problem that meets the stopping rule is
            # tested for atoms the cost wants back (readmit); while the noise
            # variance was over-estimated, true atoms can have been pruned
            for j in np.flatnonzero(done & finite):
                gi = active_g[j]
                if n_readmit[gi] >= MAX_READMIT:
                    continue
                if bic:
                    # with the noise learned, atoms that fit noise lower sigma^2,
                    # which keeps them: the BIC test cuts the loop (bic_keep)
                    drop = ~bic_keep(mu[j, :, 0], gam_a[j], rho[j], m)
                    if np.any(drop):
                        n_readmit[gi] += 1
                        done[j] = False
                        pending_del.append((gi, idx[drop]))
                        continue
                add, gadd = readmit(A, Yb[gi], gam[gi], s2[gi], mu_full[gi],
                                    rcache.setdefault(gi, {}), m if bic else None)
                if add.size:
                    n_readmit[gi] += 1
                    done[j] = False
                    pending.append((gi, add, gadd))
        delta[active_g[finite]] = dmu[finite]
        status[active_g[done & finite]] = 0
        if verbose:
            print(f"[{name}] iter {it}: active atoms {K}, max rel. change {np.max(dmu):.3e}, "
                  f"cost {np.nanmean(obj):.6e}", flush=True)
        go = ~done
        if not np.any(go) or it == max_iter:
            break
        # ---------------- M-step (on the groups still running) ----------------
        mu, d, rho, gam_a, s2_a = mu[go], d[go], rho[go], gam_a[go], s2_a[go]
        active_g = active_g[go]
        if learn_correlation and R > 1:
            # T-MSBL (spec 5.4): B = sum_i mu_i^H mu_i / gamma_i, normalised, AR(1)-regularised
            w = np.where(gam_a > 0, 1.0 / np.where(gam_a > 0, gam_a, 1.0), 0.0)
            M0 = mu[0]
            Braw = np.real(herm(M0) @ (M0 * w[0][:, None])) if np.iscomplexobj(M0) else \
                M0.T @ (M0 * w[0][:, None])
            nb = np.linalg.norm(Braw)
            if nb > 0 and np.all(np.isfinite(Braw)):
                Braw = Braw / nb
                dg = np.mean(np.diag(Braw))
                sup = np.mean(np.diag(Braw, 1))
                beta = float(np.clip(sup / dg, -0.99, 0.99)) if dg > 0 else 0.0
                k = np.arange(R)
                Bcorr = beta ** np.abs(k[:, None] - k[None, :])
            # Zhang's reference T-MSBL (v1.11) weights with B^-1 only while more
            # atoms than measurements are active, and with B = I afterwards:
            # the E-step ignores B, so the rows of noise-fitting atoms are white
            # in time and B^-1 inflates their gamma by (1 + beta^2)/(1 - beta^2)
            # (measured: 3 dB worse than M-SBL at beta = 0.9 without it)
            Binv = np.linalg.inv(Bcorr) if K > m else None
        if Binv is not None:
            musq = np.real(np.einsum("gkr,rs,gks->gk", mu, Binv, np.conj(mu))) / R
        else:
            musq = np.sum(abs2(mu), axis=2) / R
        if update == "em":
            gnew = musq + d
        else:  # MacKay / Tipping fixed point
            gnew = musq / np.maximum(rho, TINY)
        gnew = np.where(gam_a > 0, gnew, 0.0)
        if learn_noise:
            resid = Yb[active_g] - np.matmul(A_K[None], mu)
            r2 = np.sum(abs2(resid), axis=(1, 2))
            if update == "em":  # EM rule (spec 5.1): monotone with the EM gamma rule
                s2_a = (r2 / R + s2_a * np.sum(rho, axis=1)) / m
            else:  # Tipping's (MacKay) fixed point: ||r||^2 / (m - sum_i rho_i)
                s2_a = r2 / R / np.maximum(m - np.sum(rho, axis=1), 1.0)
            s2[active_g] = np.maximum(s2_a, floor[active_g])
        if auto:
            gnew = np.where(auto_prune_mask(gam_a, gnew, musq, rho, cnorm2[idx], s2[active_g]),
                            0.0, gnew)
        else:
            gmax = np.max(gnew, axis=1, keepdims=True, initial=0.0)
            gnew = np.where(gnew < prune * gmax, 0.0, gnew)
        # a non-finite gamma is a divergence: reported (status 2) with the
        # last finite iterate, never pruned silently
        bad = ~np.all(np.isfinite(gnew), axis=1)
        if np.any(bad):
            gnew[bad] = gam_a[bad]
            status[active_g[bad]] = 2
        last_dgam = np.max(np.abs(gnew - gam_a), axis=1, initial=0.0)
        gam[np.ix_(active_g, idx)] = gnew
        for gi, add, gadd in pending:
            gam[gi, add] = gadd
            grown = True
        for gi, dels in pending_del:
            gam[gi, dels] = 0.0
        if np.any(bad):
            active_g, last_dgam = active_g[~bad], last_dgam[~bad]
            grown = True  # recompute the union of the active columns
            if active_g.size == 0:
                break
    out = dict(mu=mu_full, gamma=gam, d=d_full, sigma2=s2, n_iter=n_iter, status=status,
               delta=delta, objective=[np.asarray(o) for o in objective])
    if learn_correlation:
        out["B"] = Bcorr
        out["beta"] = beta
    return out
