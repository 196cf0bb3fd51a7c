"""NMF unmixing cores: multiplicative updates (MU) and HALS, one shared driver.

Every estimator of the family (plain NMF, L1/2-NMF, CENMF, robust guided NMF,
SS-NMF) is the same alternating scheme with a different abundance step; the
driver ``_solve`` implements spec sections 0.3-0.5 once:

* data ``X`` (n_pixels, n_bands) ~ ``W`` (abundances, n_pixels x K) ``H``
  (endmembers, K x n_bands) -- scikit-learn's layout (spec: ``Y = M A`` with
  ``Y = X^T``, ``M = H^T``, ``A = W^T``);
* per-band weights ``omega`` (correntropy half-quadratic weights or the l2,1
  IRLS weights) enter the abundance step only; they cancel in the endmember step;
* the sum-to-one constraint by the ``delta`` augmentation (spec 0.4): ``delta**2``
  is added to every entry of ``H Omega H^T`` and ``X Omega H^T``;
* penalties on abundances: ``lam * sum_n sum_k W[n, k] ** p_n`` (l1 for p = 1,
  l1/2 for p = 1/2, per-pixel p for the guided model), graph Laplacian
  ``(lam_graph / 2) tr(W^T Lap W)``;
* per-band residual energies ``r_l = ||x_l - W h_l||^2`` are obtained from the
  ``K x L`` products already needed by the endmember step
  (``r_l = ||x_l||^2 - 2 (W^T X)_l . h_l + h_l^T (W^T W) h_l``), so neither
  ``W H`` nor the residual is ever formed (except with an entry mask).

The row kernels are ``sparsecode._ext._nmf.mu_rows`` / ``hals_rows`` (Cython,
OpenMP over rows); the O(N L K) products go to BLAS.
"""

import numbers
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._scaling import data_pow2
from .._base import ConvergenceWarning, warn_not_converged  # noqa: F401
from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, Options, check_matrix, validate_params
from ._checks import as_pixels, check_mask, check_n_endmembers, check_nonnegative
from ._fcls import _fcls_core, _is_dask, fcls
from ._vca import _vca_core

__all__ = ["NMFUnmixing", "nndsvd"]

EPS_DIV = 1e-9
# largest K * L for the fused sweep: its K x L factor and partial product (2 x
# 128 KiB at the limit) stay in the L2 cache while the data streams through
_FUSED_MAX_KL = 16384
_TINY = np.finfo(float).tiny


# --------------------------------------------------------------------------
# initialisation
# --------------------------------------------------------------------------
def nndsvd(X, n_components, *, fill="mean", random_state=None):
    """Non-negative double SVD initialisation (Boutsidis & Gallopoulos 2008).

    Parameters
    ----------
    X : array-like of shape (n_pixels, n_bands)
        Non-negative data.
    n_components : int
        Rank ``K``.
    fill : {"mean", "zero", "random"}, default="mean"
        What replaces the zeros of the factors ('nndsvda', 'nndsvd',
        'nndsvdar'); multiplicative updates cannot move exact zeros, so
        "mean" is the default here.
    random_state : int, RandomState or None, default=None
        Used by ``fill="random"``.

    Returns
    -------
    W : ndarray of shape (n_pixels, n_components)
    H : ndarray of shape (n_components, n_bands)

    See Also
    --------
    vca : the other data-driven initialisation.

    Notes
    -----
    From the rank-K truncated SVD ``X ~ sum_i s_i u_i v_i^T``: the first pair is
    ``sqrt(s_1) |u_1|``, ``sqrt(s_1) |v_1|``; for ``i >= 2`` each singular pair is
    split into positive and negative parts and the pair with the larger product of
    norms is kept, scaled by ``sqrt(s_i * that product)``.

    References
    ----------
    .. [1] C. Boutsidis and E. Gallopoulos, "SVD based initialization: a head
       start for nonnegative matrix factorization", Pattern Recognition 41(4), 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import nndsvd
    >>> X = np.random.default_rng(0).uniform(size=(30, 8))
    >>> W, H = nndsvd(X, 3)
    >>> W.shape, H.shape, bool((W >= 0).all() and (H >= 0).all())
    ((30, 3), (3, 8), True)
    """
    X = check_matrix(X, "X")
    check_nonnegative(X, "X")
    K = check_n_endmembers(n_components, X.shape[0], X.shape[1], "n_components")
    U, S, Vt = np.linalg.svd(np.asarray(X, dtype=float), full_matrices=False)
    W = np.zeros((X.shape[0], K))
    H = np.zeros((K, X.shape[1]))
    W[:, 0] = np.sqrt(S[0]) * np.abs(U[:, 0])
    H[0] = np.sqrt(S[0]) * np.abs(Vt[0])
    for j in range(1, K):
        x, y = U[:, j], Vt[j]
        xp, yp = np.maximum(x, 0), np.maximum(y, 0)
        xn, yn = np.abs(np.minimum(x, 0)), np.abs(np.minimum(y, 0))
        xpn, ypn = np.linalg.norm(xp), np.linalg.norm(yp)
        xnn, ynn = np.linalg.norm(xn), np.linalg.norm(yn)
        mp, mn = xpn * ypn, xnn * ynn
        if mp > mn:
            u, v, sigma = xp / max(xpn, _TINY), yp / max(ypn, _TINY), mp
        else:
            u, v, sigma = xn / max(xnn, _TINY), yn / max(ynn, _TINY), mn
        lbd = np.sqrt(S[j] * sigma)
        W[:, j] = lbd * u
        H[j] = lbd * v
    if fill == "mean":
        avg = X.mean()
        W[W == 0] = avg
        H[H == 0] = avg
    elif fill == "random":
        rng = check_random_state(random_state)
        avg = X.mean()
        W[W == 0] = abs(avg * rng.standard_normal(int((W == 0).sum())) / 100)
        H[H == 0] = abs(avg * rng.standard_normal(int((H == 0).sum())) / 100)
    elif fill != "zero":
        raise ValueError(f"fill must be 'mean', 'zero' or 'random'; got {fill!r}.")
    return W, H


def _initialize(X, K, init, rng, W0, H0, fixed_H, delta, n_threads, cols=None):
    """Initial (W, H), float64, strictly positive (zeros are absorbing in MU).

    ``cols``: bands usable for the FCLS abundances (the unmasked ones).
    """
    N, L = X.shape

    def _abund(H):
        return _fcls_abund(X, H, delta, n_threads, cols)

    if init == "custom":
        if H0 is None:
            raise ValueError("init='custom' needs the initial endmembers: pass H to fit.")
        H = check_matrix(H0, "H").astype(float, copy=True)
        if H.shape != (K, L):
            raise ValueError(f"H must have shape {(K, L)} (n_components, n_bands); got {H.shape}.")
        check_nonnegative(H, "H")
        zero = np.flatnonzero(~np.any(H > 0, axis=1))
        if zero.size:
            raise ValueError(
                f"H has {zero.size} all-zero endmember row(s) (e.g. row {zero[0]}): zeros are "
                f"fixed points of the updates; give every initial endmember a non-zero spectrum "
                f"(or use init='nfindr')."
            )
        if W0 is not None:
            W = check_matrix(W0, "W").astype(float, copy=True)
            if W.shape != (N, K):
                raise ValueError(f"W must have shape {(N, K)} (n_pixels, n_components); "
                                 f"got {W.shape}.")
            check_nonnegative(W, "W")
        else:
            W = _abund(H)
    elif init == "vca":
        idx, Yhat = _vca_core(X.T, K, rng)
        H = np.clip(Yhat[:, idx].T, 0, None)
        H = np.where(H > 0, H, 1e-6 * max(X.max(), _TINY))
    elif init in _EXTRACTION_INITS:
        H = _extraction_init(X, K, init, rng)
    elif init == "nndsvd":
        W, H = nndsvd(X, K)
    elif init == "random":
        W = rng.dirichlet(np.ones(K), size=N)
        H = rng.uniform(0.1, 1.0, size=(K, L))
        H *= X.mean() / max((W @ H).mean(), _TINY)
    else:  # pragma: no cover - validated before
        raise ValueError(init)
    if fixed_H is not None:
        H = _insert_fixed(H, fixed_H)
    if init == "vca" or init in _EXTRACTION_INITS or (fixed_H is not None and init != "custom"):
        W = _abund(H)
    scale = max(float(np.max(W)), 1.0) if W.size else 1.0
    W = np.maximum(W, 1e-6 * scale)
    H = np.maximum(H, 1e-6 * max(float(np.max(H)), _TINY))
    return np.ascontiguousarray(W), np.ascontiguousarray(H)


_EXTRACTION_INITS = ("nfindr", "atgp", "ppi", "sisal")
INIT_CHOICES = ("vca", "nfindr", "atgp", "ppi", "sisal", "nndsvd", "random", "custom")


def _extraction_init(X, K, init, rng):
    """Initial endmembers (K, L) from an extraction method, clipped at a small positive floor.

    N-FINDR, ATGP and PPI give their pixels projected on the K-dimensional
    signal subspace (as the VCA start does); SISAL its simplex vertices.
    """
    from . import _extraction as ex

    if init == "sisal":
        if K < 2:
            raise ValueError("init='sisal' needs n_components >= 2 (a simplex); use init='vca'.")
        H = ex._sisal_core(X, K, rng=rng, name="n_components")
    else:
        sig = None
        if init == "nfindr":  # as nfindr(X, K): MNF search space, projected pixels
            Xs, sig = ex._nfindr_search_space(X, "mnf")
            idx = ex._nfindr_indices(Xs, K, rng=rng, name="n_components")[0]
        elif init == "atgp":
            idx = ex._atgp_indices(X, K)
        else:
            counts = ex._ppi_counts(X, K, 10000, rng)
            idx = np.argsort(-counts, kind="stable")[:K]
        H = ex._picked(X, X, 1.0, idx, K, True, np.float64, sig)
    H = np.clip(H, 0, None)
    return np.where(H > 0, H, 1e-6 * max(float(X.max()), _TINY))


_data_scale = data_pow2  # a power of two near max|X|: dividing by it is exact


def _auto_lam(rule, X):
    """``(rule, max X)``: a data-derived penalty weight ``rule * max(X)**2``.

    The dimensionless rules (Qian's sparseness rule) are stated for data
    scaled to a maximum of 1; the weight they give is in squared data units,
    ``rule * max(X)**2``, so that fitting ``c X`` uses ``c**2`` times the
    weight (scale-equivariant).  The pair is kept (not the product, which
    overflows past 1e154) and converted to the rescaled problem by
    ``_BaseUnmixing._scaled_problem``.
    """
    m = float(np.max(X)) if X.size else 0.0
    if not (m > 0 and np.isfinite(m)):
        m = 1.0
    return float(rule), m


def _solver_data(X, X64, s, V):
    """The data divided by ``s`` for the sweeps: float32 data stays float32.

    The fused sweep reads float32 data as is and forms every product in
    float64, so the iterates are the float64 ones up to rounding with half the
    memory traffic. ``s`` is a power of two: the division is exact when it is
    a normal float32 and the quotients stay normal (else float64 is used).
    """
    if X.dtype == np.float32 and V is None and np.float32(s) == s and np.isfinite(
            np.float32(1.0) / np.float32(s)):
        X32 = np.ascontiguousarray(X, dtype=np.float32) / np.float32(s)
        if float(np.min(X32, where=X32 > 0, initial=np.inf)) >= np.finfo(np.float32).tiny:
            return X32
    return X64 / s


def _blas_threads(n_threads, V):
    """BLAS threads beside the OpenMP row kernels: one when these run threaded on
    unmasked data (the sweep's BLAS work is then K x K and K x L, or thin
    memory-bound products), else ``n_threads`` (the masked path's products)."""
    return 1 if (n_threads > 1 and V is None) else n_threads


def _fcls_abund(X, H, delta, n_threads, cols=None):
    """FCLS (``delta > 0``) or NNLS (``delta == 0``) abundances on the usable bands."""
    K = H.shape[0]
    if cols is not None and cols.sum() >= K:
        X, H = np.ascontiguousarray(X[:, cols]), np.ascontiguousarray(H[:, cols])
    return _fcls_core(X, H, np.inf if delta else 0.0, 3 * K + 5, None, n_threads, warn=False)


def _fcls_init(X, H, delta, n_threads, cols=None):
    """Strictly positive starting abundances for fixed endmembers ``H`` (see _initialize)."""
    W = _fcls_abund(X, H, delta, n_threads, cols)
    scale = max(float(np.max(W)), 1.0) if W.size else 1.0
    return np.ascontiguousarray(np.maximum(W, 1e-6 * scale))


def _insert_fixed(H, F):
    """Put the fixed endmembers F first; drop the initial rows most similar to them."""
    from scipy.optimize import linear_sum_assignment

    n_fixed = F.shape[0]
    Hn = H / np.maximum(np.linalg.norm(H, axis=1, keepdims=True), _TINY)
    Fn = F / np.maximum(np.linalg.norm(F, axis=1, keepdims=True), _TINY)
    cost = np.arccos(np.clip(Fn @ Hn.T, -1, 1))
    _, cols = linear_sum_assignment(cost)
    rest = np.setdiff1d(np.arange(H.shape[0]), cols)
    return np.vstack([F, H[rest][: H.shape[0] - n_fixed]])


# --------------------------------------------------------------------------
# the driver
# --------------------------------------------------------------------------
def _band_residuals(xnorm2, WtX, WtW, H):
    """r_l = ||x_l - W h_l||^2 from K x L products (clipped at 0)."""
    r = xnorm2 - 2.0 * np.einsum("kl,kl->l", WtX, H) + np.einsum("kl,kl->l", H, WtW @ H)
    return np.maximum(r, 0.0)


def _asc_rescale(W, Ht, upd=None):
    """Sum-to-one scale convention, in place: ``W <- W diag(c)``, ``Ht <- Ht / c``.

    ``c = argmin_{c >= 0} ||W c - 1||_2`` over the free endmembers (fixed ones
    keep ``c = 1``); ``W H`` is unchanged.  Unused endmembers (``c = 0``) keep 1.
    """
    from .._ext._fcls import fcls_gram

    free = np.ones(W.shape[1], bool) if upd is None else upd.astype(bool)
    if not free.any():
        return
    target = 1.0 - W[:, ~free].sum(axis=1)
    Wf = W[:, free]
    s = max(float(np.max(Wf)), _TINY) if Wf.size else 1.0
    # NNLS on the k x k normal equations (the active-set FCLS kernel with no
    # sum-to-one row): O(N k^2) for the Gram matrix instead of a tall NNLS
    Ws = Wf / s
    G = np.ascontiguousarray(Ws.T @ Ws)
    b = np.ascontiguousarray((target @ Ws)[None, :])
    c = np.empty((1, Wf.shape[1]))
    fcls_gram(G, b, 0.0, c, 50 * Wf.shape[1], 1e-12 * max(float(np.max(np.diag(G))), _TINY))
    c = c[0] / s
    c = np.where((c > 0) & np.isfinite(c), c, 1.0)
    cf = np.ones(W.shape[1])
    cf[free] = c
    W *= cf
    Ht /= cf


def _hals_l1(W, lam, p_arr, tau):
    """Per-entry l1 weights of a HALS abundance sweep for an l_p penalty (p < 1), or None.

    The tangent of the concave ``a**p`` at the current point (an MM step);
    exact zeros stay zero (infinite slope) unless the tau guard is on.
    """
    if not (lam > 0 and p_arr is not None and np.any(p_arr < 1)):
        return None
    with np.errstate(divide="ignore"):
        L1 = lam * p_arr[:, None] * np.where(W > tau, W, 1.0) ** (p_arr[:, None] - 1)
    L1 = np.where(W > tau, L1, 0.0 if tau > 0 else 1e300)
    return np.ascontiguousarray(np.where(p_arr[:, None] >= 1, lam, L1))


def _l21_floor(r):
    """Floor of the band residual norms in the l2,1 weights (spec A2.2 eps_res)."""
    return 1e-8 * np.sqrt(max(float(np.sum(r)), _TINY) / r.size) + _TINY


def _solve(X, W, H, *, solver="mu", delta=0.0, max_iter=200, tol=1e-4, check_every=10,
           weighting=None, theta=0.5, sigma=None, lam=0.0, p=None, tau=0.0,
           graph=None, lam_graph=0.0, guidance=None, guidance_every=10, norm_every=0,
           V=None, fixed=None, eps=EPS_DIV, n_threads=1, verbose=0, history=False,
           name="NMF", fixed_weights=None, asc_every=0, lam_ref=None):
    """Alternating NMF with optional band weights, ASC, penalties, graph, mask.

    Parameters are C-contiguous ``X`` (N, L; float64, or float32 read as is by the
    fused sweep, every product in float64), float64 ``W`` (N, K), ``H`` (K, L);
    ``W``/``H`` are updated in place (callers pass copies).  ``weighting`` is
    None, "correntropy" (Welsch half-quadratic weights) or "l21" (IRLS weights of
    the sum of band residual norms, mean 1).  ``p`` is None (l1 when lam > 0) or an array
    of per-pixel exponents.  ``graph`` is (S, d): sparse symmetric weights and
    degrees.  ``V`` (N, L) is an observation weight (0 = masked entry) or None.
    ``fixed`` (K,) bool marks endmembers that are not updated (all True: the
    abundance problem for fixed endmembers, the endmember step is skipped).
    ``fixed_weights`` (L,): band weights held fixed (``weighting`` is then
    ignored; the data term is ``1/2 sum_l w_l r_l``).  ``asc_every`` > 0: the
    sum-to-one scale convention of penalised fits without the ASC row -- every
    ``asc_every`` sweeps and at exit each endmember/abundance pair is rescaled,
    ``W <- W diag(c)``, ``H <- diag(c)^-1 H`` with ``c = argmin_{c >= 0}
    ||W c - 1||`` (``W H`` unchanged; exact sum-to-one abundances satisfy it).
    Returns a dict.
    """
    from .._ext._nmf import fused_sweep, hals_rows, mu_rows

    N, L = X.shape
    K = W.shape[1]
    delta2 = float(delta) ** 2
    masked = V is not None
    if masked:
        VX = V * X
        xnorm2 = None
    else:
        xnorm2 = np.einsum("nl,nl->l", X, X, dtype=np.float64)
    upd = None
    if fixed is not None and np.any(fixed):
        upd = np.ascontiguousarray((~np.asarray(fixed)).astype(np.uint8))
    update_H = upd is None or bool(upd.any())
    if fixed_weights is not None:
        weighting = "fixed"
    S = d = None
    if graph is not None and lam_graph > 0:
        S, d = graph
        d = np.ascontiguousarray(lam_graph * d)
    p_arr = None if p is None else np.ascontiguousarray(np.broadcast_to(p, (N,)), dtype=float)
    omega = (np.ones(L) if fixed_weights is None
             else np.ascontiguousarray(fixed_weights, dtype=float))
    sigma2 = np.inf
    Wbuf = np.empty_like(W)
    Htbuf = np.empty((L, K))
    Ht = np.ascontiguousarray(H.T)
    # fused sweep: the abundance step and the products W^T X, W^T W of the
    # endmember step in one pass over X (row blocks kept in cache), instead of
    # the two passes of X H^T and W^T X
    # (when F = (Omega H^T)^T and the partial W^T X stay in cache; else BLAS)
    fused = not masked and S is None and update_H and K * L <= _FUSED_MAX_KL
    if fused:
        WtX = np.empty((K, L))
        Gh = np.empty((K, K))

    def residuals(W, Ht):
        if masked:
            R = V * (X - W @ Ht.T)
            return np.einsum("nl,nl->l", R, R)
        WtX = (X.T @ W).T
        return _band_residuals(xnorm2, WtX, W.T @ W, Ht.T)

    def weights_from(r):
        nonlocal sigma2
        if weighting == "correntropy":
            if sigma is None:
                sigma2 = max(theta * float(np.mean(r)), _TINY)
                w = np.exp(-(r - r.min()) / (2 * sigma2))
                return w / max(w.mean(), _TINY)
            sigma2 = float(sigma) ** 2
            return np.maximum(np.exp(-r / (2 * sigma2)), 1e-300)
        if weighting == "l21":
            # IRLS weights of the l2,1 majoriser, normalised to mean 1 (as the
            # correntropy ones): their overall scale only sets the balance against
            # delta^2 and lam, which then keep their meaning in the unweighted
            # problem 1/2 ||X - W H||_F^2
            w = 1.0 / np.maximum(np.sqrt(r), _l21_floor(r))
            return w / w.mean()
        return omega

    def objective(W, Ht, r):
        if weighting == "correntropy":
            s2 = sigma2 if np.isfinite(sigma2) else None
            data = (0.5 * r.sum() if s2 is None
                    else float(np.sum(s2 * -np.expm1(-r / (2 * s2)))))
        elif weighting == "l21":
            # sum_l ||e^l|| times half the harmonic mean of the band norms: degree 2
            # in the data like the delta and lam terms, 1/2 ||E||_F^2 when every
            # band has the same residual norm
            rt = np.sqrt(r)
            data = 0.5 * float(rt.sum()) / float(np.mean(1.0 / np.maximum(rt, _l21_floor(r))))
        elif weighting == "fixed":
            data = 0.5 * float(omega @ r)
        else:
            data = 0.5 * float(r.sum())
        f = data
        if delta2 > 0:
            f += 0.5 * delta2 * float(np.sum((W.sum(axis=1) - 1.0) ** 2))
        if lam > 0:
            if p_arr is None:
                f += lam * float(W.sum())
            else:
                f += lam * float(np.sum(W ** p_arr[:, None]))
        if S is not None:
            f += 0.5 * float(np.einsum("nk,n,nk->", W, d, W) - np.sum(W * (S @ W)) * lam_graph)
        return f

    r = residuals(W, Ht)
    if weighting is not None:
        omega = weights_from(r)
    const_QG = None
    f_prev = f_first = objective(W, Ht, r)
    f_hist = [f_prev] if history else None
    converged = False
    rel = np.inf
    n_iter = 0
    t0 = time.perf_counter()
    for it in range(1, max_iter + 1):
        n_iter = it
        # ---- abundance step (weights and penalties live here) -------------
        Hw = Ht if weighting is None else Ht * omega[:, None]  # (L, K) = Omega H^T
        if fused:
            G = np.ascontiguousarray(Ht.T @ Hw)
            L1 = None
            pk = p_arr
            if solver == "hals":
                L1 = _hals_l1(W, lam, p_arr, tau)
            elif lam > 0 and p_arr is not None and not np.all((p_arr == 0.5) | (p_arr >= 1)):
                # NumPy slopes only for exponents other than 1/2 (the kernel computes
                # the l1/2 slopes itself, vectorised); W^(p-1) as exp((p-1) log W),
                # whose NumPy loops are vectorised (power's are not)
                P = p_arr[:, None]
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    L1 = np.log(W)  # (in place from here: one temporary)
                    L1 *= P - 1.0
                    np.exp(L1, out=L1)
                    L1 *= lam * P
                L1[W <= max(tau, 0.0)] = 0.0
                L1[p_arr >= 1] = lam
                pk = None
            fused_sweep(X, W, np.ascontiguousarray(Hw.T), G, delta2, solver == "hals", WtX, Gh,
                        lam=lam, p=None if solver == "hals" else pk, tau=tau, eps=eps,
                        L1=L1, n_threads=n_threads)
            Qh = np.ascontiguousarray(WtX.T)  # (L, K)
            Ph = None
        elif masked:
            Q = VX @ Hw
            Pex = np.ascontiguousarray((V * (W @ Ht.T)) @ Hw)
            G = np.zeros((K, K))
        elif const_QG is not None:  # fixed endmembers and weights: Q, G never change
            Q, G = const_QG
            Pex = None
        else:
            Q = X @ Hw
            Pex = None
            G = np.ascontiguousarray(Ht.T @ Hw)
            if not update_H and weighting in (None, "fixed") and S is None:
                const_QG = (Q, G)
        if fused:
            pass
        elif solver == "mu":
            if S is not None:
                Q += lam_graph * (S @ W)
            Q = np.ascontiguousarray(Q)
            mu_rows(W, Q, G, delta2, Wbuf, P_extra=Pex, dvec=d, lam=lam, p=p_arr, tau=tau,
                    eps=eps, n_threads=n_threads)
            W, Wbuf = Wbuf, W
        else:
            if S is not None:
                Q += lam_graph * (S @ W)
            Q = np.ascontiguousarray(Q)
            hals_rows(W, Q, G, delta2, l1=lam, L1=_hals_l1(W, lam, p_arr, tau), floor=0.0,
                      n_threads=n_threads)
        # ---- endmember step (plain Lee-Seung / HALS; weights cancel) ------
        if not update_H or fused:
            pass
        elif masked:
            Qh = np.ascontiguousarray(VX.T @ W)
            Ph = np.ascontiguousarray((V * (W @ Ht.T)).T @ W)
            Gh = np.zeros((K, K))
        else:
            Qh = np.ascontiguousarray((W.T @ X).T)    # (L, K); W^T X streams X row-major
            Ph = None
            Gh = np.ascontiguousarray(W.T @ W)
        if not update_H:
            pass
        elif solver == "mu":
            # O(L K^2): one thread (a parallel region would cost more than it saves)
            mu_rows(Ht, Qh, Gh, 0.0, Htbuf, P_extra=Ph, eps=eps, update=upd, n_threads=1)
            Ht, Htbuf = Htbuf, Ht
        else:
            hals_rows(Ht, Qh, Gh, 0.0, floor=0.0, update=upd, n_threads=1)
            dead = np.flatnonzero(Ht.max(axis=0) <= 0)
            if dead.size:
                Ht[:, dead] = 1e-16 * max(float(Ht.max()), _TINY)
        # ---- residuals for the weights and the stopping test (cheap: K x L
        # products); W H, hence r, is unchanged by the column normalisation
        # the objective is only needed for the stopping test (tol > 0), verbose
        # output and the history; the adaptive band weights need r every sweep
        check = ((tol > 0 or verbose) and it % check_every == 0) or it == max_iter
        adaptive = weighting not in (None, "fixed")
        if adaptive or history or check:
            if masked or not update_H:
                r = residuals(W, Ht)
            else:
                r = _band_residuals(xnorm2, Qh.T, Gh, Ht.T)
        if guidance is not None and it % guidance_every == 0:
            p_arr = np.ascontiguousarray(guidance(W), dtype=float)
        if norm_every and it % norm_every == 0:
            nrm = np.maximum(np.linalg.norm(Ht, axis=0), _TINY)
            if upd is not None:
                nrm = np.where(upd.astype(bool), nrm, 1.0)
            Ht /= nrm
            W *= nrm
        if asc_every and it % asc_every == 0:
            _asc_rescale(W, Ht, upd)
        if adaptive:
            omega = weights_from(r)
        if history or check:
            f = objective(W, Ht, r)
            if history:
                f_hist.append(f)
            if check:
                rel = abs(f_prev - f) / max(abs(f_prev), _TINY)
                if f <= 1e-12 * f_first:  # exact fit: the relative change need not fall
                    rel = 0.0
                if verbose:
                    print(f"[{name}] iter {it:5d}  objective {f:.6e}  rel. change {rel:.2e}  "
                          f"({time.perf_counter() - t0:.2f} s)")
                f_prev = f
                if rel < tol:
                    converged = True
                    break
    if norm_every:
        nrm = np.maximum(np.linalg.norm(Ht, axis=0), _TINY)
        if upd is not None:
            nrm = np.where(upd.astype(bool), nrm, 1.0)
        Ht /= nrm
        W *= nrm
    if asc_every:
        _asc_rescale(W, Ht, upd)
    return {"W": np.ascontiguousarray(W), "H": np.ascontiguousarray(Ht.T), "n_iter": n_iter,
                "converged": converged, "rel_change": rel, "residuals": r, "band_weights": omega,
                "objective": objective(W, Ht, r), "history": f_hist, "p": p_arr}


# --------------------------------------------------------------------------
# the estimators' common base
# --------------------------------------------------------------------------
class _BaseUnmixing(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Shared fit/transform logic; subclasses define ``_solver_kwargs``."""

    _parameter_constraints = {
        "n_components": [Interval(numbers.Integral, 1, None, closed="left"), Options("auto")],
        "init": [Options(*INIT_CHOICES)],
        "solver": [Options("mu", "hals")],
        "delta": [Interval(numbers.Real, 0, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
        "n_jobs": [None, Interval(numbers.Integral, None, None)],
        "transform_method": [Options("model", "fcls")],
    }
    _supports_hals = True
    # homogeneity degree of the data term in the data scale (2: least squares,
    # correntropy; 1: the l2,1 loss of RobustGuidedNMF)
    _data_degree = 2

    def __init_subclass__(cls, **kwargs):
        # the complete constraint table of each estimator (base + its own knobs)
        super().__init_subclass__(**kwargs)
        cls._parameter_constraints = {**_BaseUnmixing._parameter_constraints,
                                      **getattr(cls, "_extra_constraints", {})}

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        """Number of output features (one per endmember), for get_feature_names_out."""
        return self.components_.shape[0]

    # -- hooks ----------------------------------------------------------------
    def _solver_kwargs(self, X, image_shape, K, fitting=True):  # pragma: no cover - abstract
        return {}

    def _store_extra(self, res, X, image_shape):
        pass

    # -- API --------------------------------------------------------------------
    def _validate(self):
        validate_params(self.get_params(deep=False), type(self)._parameter_constraints,
                        type(self).__name__)

    def _prepare(self, Y, mask, reset=True):
        if sp.issparse(Y):
            raise TypeError(
                f"Y is a scipy.sparse matrix; {type(self).__name__} works on dense pixels "
                f"(hyperspectral data are dense): pass Y.toarray()."
            )
        arr = Y if hasattr(Y, "ndim") else np.asarray(Y)
        if getattr(arr, "ndim", 2) == 3 or mask is not None:
            X, image_shape = as_pixels(arr, "Y", allow_nan=mask is not None)
            if reset:
                self.n_features_in_ = X.shape[1]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
        else:
            if getattr(arr, "ndim", 2) != 2:
                as_pixels(arr, "Y")  # raises the rank error naming Y
            X = validate_data(self, Y, reset=reset, dtype=[np.float64, np.float32],
                              ensure_all_finite=False)
            if not np.all(np.isfinite(X)):
                bad = "NaN" if np.any(np.isnan(X)) else "infinity"
                raise ValueError(f"Y contains {bad}: unmixing needs finite data (mark missing "
                                 f"entries with fit's mask= instead).")
            image_shape = None
        return X, image_shape

    def fit(self, Y, y=None, *, W=None, H=None, fixed_components=None, mask=None):
        """Learn endmembers (``components_``) and abundances from ``Y``.

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Non-negative, finite data (float32 or float64); a cube is flattened
            row-major. Sparse matrices are refused (``TypeError``): pass
            ``Y.toarray()``.
        y : Ignored
            Not used, present for API consistency.
        W : array-like of shape (n_pixels, n_components), default=None
            Initial abundances with ``init='custom'`` (FCLS on ``H`` if None);
            ignored with a warning for other ``init``.
        H : array-like of shape (n_components, n_bands), default=None
            Initial endmembers with ``init='custom'`` (no all-zero row);
            ignored with a warning for other ``init``.
        fixed_components : array-like of shape (n_fixed, n_bands), default=None
            Known endmembers held fixed; they become the first rows of
            ``components_`` and the other ``n_components - n_fixed`` are learned.
        mask : array-like of bool, default=None
            True marks bad or missing entries that the fit ignores: shape
            ``(n_pixels, n_bands)`` (or the cube's), ``(n_bands,)`` for bad bands
            or ``(n_pixels,)`` for bad pixels. Masked entries may be NaN. A mask
            with no True entry is refused (pass ``mask=None``).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._fit(Y, W=W, H=H, fixed_components=fixed_components, mask=mask)
        return self

    def fit_transform(self, Y, y=None, *, W=None, H=None, fixed_components=None, mask=None):
        """Fit, then return the abundances of the training pixels.

        The abundances are those ``transform`` returns for ``Y`` with the
        learned endmembers (``fit(Y).transform(Y)``): with
        ``transform_method="model"`` the fit's own abundance problem (same
        ``delta``, penalties and band weights) solved for the final endmembers.

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Non-negative data.
        y : Ignored
            Not used, present for API consistency.
        W, H, fixed_components, mask : see ``fit``.

        Returns
        -------
        abundances : ndarray of shape (n_pixels, n_components) or (rows, cols, n_components)
            Abundances (same layout and dtype as ``Y``).
        """
        X64, V, cols, image_shape, out_dtype = self._fit(
            Y, W=W, H=H, fixed_components=fixed_components, mask=mask)
        A = self._abundances(X64, V, cols, image_shape)
        return self._shape_out(A.astype(out_dtype, copy=False), image_shape)

    def _shape_out(self, A, image_shape):
        if image_shape is not None:
            A = A.reshape(tuple(image_shape) + (self.n_components_,))
        return A

    def _scaled_problem(self, kw, delta, s):
        """Solver settings for the data ``X / s`` with the same minimiser.

        Every fit and transform runs on ``X / s`` (``s`` a power of two near
        ``max X``), so that no product over- or underflows whatever the data's
        scale: the minimiser is ``(W, H / s)``, or ``(W / s, H)`` with the
        column-norm convention, when the weights are converted as below.
        """
        kw = dict(kw)
        d = self._data_degree
        # a data-derived weight rule * m**d (see _auto_lam): converted without
        # forming m**d, which over- or underflows at extreme scales
        lam_ref = kw.pop("lam_ref", None)

        def div(v, power):  # v / s**power without an intermediate overflow
            for _ in range(int(power)):
                v = v / s
            return v

        if kw.get("norm_every"):
            # unit-norm endmembers: the abundances carry the scale (W / s); l1 on W
            # is of degree 1, the graph term of degree 2 like the data
            kw["lam"] = (div(kw.get("lam", 0.0), d - 1) if lam_ref is None
                         else lam_ref[0] * (lam_ref[1] / s) ** (d - 1))
            kw["lam_graph"] = div(kw.get("lam_graph", 0.0), d - 2)
            if "tau" in kw:
                kw["tau"] = kw["tau"] / s
        else:
            if lam_ref is not None:
                kw["lam"] = lam_ref[0] * (lam_ref[1] / s) ** d
            else:
                kw["lam"] = div(kw.get("lam", 0.0), d)
            kw["lam_graph"] = div(kw.get("lam_graph", 0.0), d)
            delta = delta / s if d == 2 else delta / np.sqrt(s)
        if kw.get("sigma") is not None:
            kw["sigma"] = kw["sigma"] / s
        if kw.get("fixed_weights") is not None and d == 1:
            kw["fixed_weights"] = kw["fixed_weights"] * s
        return kw, delta

    def _abundances(self, X64, V, cols, image_shape):
        """Abundances of ``X64`` for the fitted endmembers (no attribute is changed)."""
        K = self.n_components_
        H = np.ascontiguousarray(self.components_, dtype=np.float64)
        n_threads = effective_n_jobs(self.n_jobs)
        delta = float(self.delta)
        with blas_limited(_blas_threads(n_threads, V)):
            if self.transform_method == "fcls":
                Xf, Hf = X64, H
                if cols is not None:
                    Xf, Hf = np.ascontiguousarray(X64[:, cols]), np.ascontiguousarray(H[:, cols])
                return _fcls_core(Xf, Hf, np.inf, 3 * K + 5, None, n_threads)
            kw = self._solver_kwargs(X64, image_shape, K, fitting=False)
            col_norm = bool(kw.get("norm_every"))
            weights = getattr(self, "band_weights_", None)
            if V is not None:
                # fully masked bands drop out; a mask of bad bands only is then no mask
                keep = V.max(axis=0) > 0
                X64, H, V = (np.ascontiguousarray(a[:, keep]) for a in (X64, H, V))
                weights = None if weights is None else weights[keep]
                if V.min() > 0:
                    V = cols = None
                else:
                    cols = cols[keep]
            if weights is not None:
                for key in ("weighting", "theta", "sigma"):
                    kw.pop(key, None)
                kw["fixed_weights"] = weights
            s = _data_scale(X64)
            kw, delta = self._scaled_problem(kw, delta, s)
            kw.pop("norm_every", None)
            Xs = X64 / s
            if not col_norm:
                H = H / s
            # HALS solves the (fixed-endmember) abundance problem exactly per
            # coordinate; the graph term and entry masks need MU
            solver = "hals" if (V is None and kw.get("graph") is None) else "mu"
            W0 = _fcls_init(Xs, H, delta, n_threads, cols)
            # a fixed number of sweeps (max_iter), no stopping test on the batch's
            # objective: each pixel's abundances do not depend on the other pixels
            # of the batch (except through the graph term of StructuredSparseNMF)
            res = _solve(Xs, W0, np.array(H), solver=solver, delta=delta,
                         max_iter=self.max_iter, tol=0.0, V=V, fixed=np.ones(K, dtype=bool),
                         n_threads=n_threads, name=f"{type(self).__name__}.transform", **kw)
        return res["W"] * s if col_norm else res["W"]

    def _n_components(self, X, N, L):
        """``n_components``, or HySime's estimate for ``"auto"`` (at least 1)."""
        if isinstance(self.n_components, str):  # "auto" (validated)
            from ._subspace import estimate_n_endmembers

            with np.errstate(invalid="ignore"):
                Xf = np.where(np.isfinite(X), X, np.nanmean(X, axis=0, keepdims=True))
            k = int(estimate_n_endmembers(Xf))
            return check_n_endmembers(max(k, 1), N, L)
        return check_n_endmembers(self.n_components, N, L)

    def _fit(self, Y, *, W=None, H=None, fixed_components=None, mask=None):
        self._validate()
        X, image_shape = self._prepare(Y, mask)
        out_dtype = X.dtype
        N, L = X.shape
        K = self._n_components(X, N, L)
        if (W is not None or H is not None) and self.init != "custom":
            warnings.warn(
                f"init={self.init!r}: the W and H passed to fit are ignored; set "
                f"init='custom' to use them as the initialisation.", UserWarning, stacklevel=3)
            W = H = None
        V = None
        if mask is not None:
            m = check_mask(mask, X.shape, image_shape)
            if not m.any():
                raise ValueError(
                    "mask marks no entry (all False): nothing to ignore; pass mask=None "
                    "(True marks the entries the fit must ignore)."
                )
            with np.errstate(invalid="ignore"):
                if np.any(np.isnan(X) & ~m):
                    raise ValueError("Y contains NaN outside the entries marked by mask.")
            V = (~m).astype(float)
            X = np.where(m, 0.0, X)
            if np.any(np.isinf(X)):
                raise ValueError("Y contains infinity.")
            if self.solver == "hals":
                raise ValueError("mask needs solver='mu' (HALS works on the full Gram matrices).")
        check_nonnegative(X, "Y")
        if not self._supports_hals and self.solver == "hals":
            raise ValueError(f"{type(self).__name__} supports solver='mu' only; got 'hals'.")
        X64 = np.ascontiguousarray(X, dtype=np.float64)
        if V is not None:
            # masked entries replaced by their band's mean, for the initialisation only
            col_mean = (X64 * V).sum(axis=0) / np.maximum(V.sum(axis=0), 1)
            X_init = np.where(V > 0, X64, col_mean[None, :])
        else:
            X_init = X64
        fixed_H = None
        fixed = None
        if fixed_components is not None:
            fixed_H = check_matrix(fixed_components, "fixed_components").astype(float)
            if fixed_H.shape[1] != L or fixed_H.shape[0] > K:
                raise ValueError(
                    f"fixed_components must have shape (n_fixed <= {K}, {L}); got {fixed_H.shape}."
                )
            check_nonnegative(fixed_H, "fixed_components")
            fixed = np.zeros(K, dtype=bool)
            fixed[: fixed_H.shape[0]] = True
        rng = check_random_state(self.random_state)
        n_threads = effective_n_jobs(self.n_jobs)
        delta = float(self.delta)
        cols = None if V is None else V.min(axis=0) > 0
        # n_jobs threads for the row kernels; BLAS at one thread whenever they run
        # threaded: an OpenBLAS worker keeps spinning for a while after each call
        # and would take the core a kernel thread needs (two threads were slower
        # than one otherwise)
        with blas_limited(_blas_threads(n_threads, V)):
            kw = self._solver_kwargs(X_init, image_shape, K)
            col_norm = bool(kw.get("norm_every"))
            # the problem is solved for X / s (same minimiser, see _scaled_problem)
            s = _data_scale(X_init)
            kw, delta_s = self._scaled_problem(kw, delta, s)
            if W is not None and col_norm:
                W = check_matrix(W, "W") / s
            if H is not None and not col_norm:
                H = check_matrix(H, "H") / s
            if fixed_H is not None and not col_norm:
                fixed_H = fixed_H / s
            W0, H0 = _initialize(X_init / s, K, self.init, rng, W, H, fixed_H, delta, n_threads,
                                 cols)
            if fixed_H is not None and self.init == "custom":
                H0[: fixed_H.shape[0]] = fixed_H
            # scale convention: with the sum-to-one row off and no column-norm
            # convention, rescale to the least-squares sum-to-one scale (keeps the
            # endmembers on the data's scale; penalties on W then cannot shrink W
            # towards 0 while H grows without bound)
            asc_every = 10 if (delta == 0 and not col_norm) else 0
            res = _solve(_solver_data(X, X64, s, V), W0, H0, solver=self.solver, delta=delta_s,
                         max_iter=self.max_iter, tol=self.tol, V=V, fixed=fixed,
                         n_threads=n_threads, verbose=self.verbose, name=type(self).__name__,
                         asc_every=asc_every, **kw)
        d = self._data_degree
        if d == 1:
            res["band_weights"] = res["band_weights"] / s
        self.components_ = (res["H"] if col_norm else res["H"] * s).astype(out_dtype)
        self.n_components_ = K
        self.n_iter_ = res["n_iter"]
        self.reconstruction_err_ = float(np.sqrt(np.sum(res["residuals"]))) * s
        obj = float(res["objective"])
        for _ in range(d):  # back to the data's units (degree d in the scale)
            obj *= s
        self.objective_ = obj
        self.image_shape_ = image_shape
        self._store_extra(res, X64, image_shape)
        if not res["converged"] and self.max_iter > 0 and self.tol > 0:
            warn_not_converged(type(self).__name__, 1, 1, "relative objective change",
                               res["rel_change"], self.tol)
        return X64, V, cols, image_shape, out_dtype

    def transform(self, Y):
        """Abundances of (new) pixels for the learned endmembers.

        With ``transform_method="model"`` (default) the fit's abundance problem
        is solved with the endmembers fixed: same ``delta`` (sum-to-one row),
        penalties and band weights (``band_weights_``), started from FCLS and
        run for ``max_iter`` sweeps (HALS, or MU with a graph or a mask), so
        ``fit(Y).transform(Y)`` equals ``fit_transform(Y)`` and each pixel's
        abundances do not depend on the other pixels passed. With
        ``transform_method="fcls"``: fully constrained least squares (exact
        sum-to-one, no penalty, unweighted), as :func:`fcls`.

        Parameters
        ----------
        Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Non-negative, finite pixels (float32 or float64); a dask array is
            unmixed chunk by chunk of pixels (lazily). Sparse matrices are
            refused (``TypeError``): pass ``Y.toarray()``.

        Returns
        -------
        abundances : ndarray of shape (n_pixels, n_components) or (rows, cols, n_components)
            Non-negative abundances, same dtype as ``Y`` (a dask array for dask input).
        """
        check_is_fitted(self)
        if _is_dask(Y):
            if self.transform_method == "fcls":
                return fcls(Y, self.components_, n_jobs=self.n_jobs)
            Yc = Y.rechunk({Y.ndim - 1: -1})
            dtype = np.float32 if Y.dtype == np.float32 else np.float64
            return Yc.map_blocks(lambda b: self.transform(b), dtype=dtype,
                                 chunks=Yc.chunks[:-1] + ((self.n_components_,),))
        self._validate()
        X, image_shape = self._prepare(Y, None, reset=False)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"Y has {X.shape[1]} bands but {type(self).__name__} was fitted "
                             f"with {self.n_features_in_}.")
        check_nonnegative(X, "Y")
        A = self._abundances(np.ascontiguousarray(X, dtype=np.float64), None, None, image_shape)
        return self._shape_out(A.astype(X.dtype, copy=False), image_shape)

    def inverse_transform(self, A):
        """Pixels reconstructed from abundances, ``A @ components_``.

        Parameters
        ----------
        A : array-like of shape (n_pixels, n_components) or (rows, cols, n_components)
            Abundances.

        Returns
        -------
        Y : ndarray of shape (n_pixels, n_bands) or (rows, cols, n_bands)
            Reconstructed pixels.
        """
        check_is_fitted(self)
        arr = np.asarray(A)
        Xa, image_shape = as_pixels(arr, "A")
        if Xa.shape[1] != self.n_components_:
            raise ValueError(f"A has {Xa.shape[1]} columns; expected {self.n_components_}.")
        out = Xa @ self.components_
        return out.reshape(image_shape + (-1,)) if image_shape is not None else out


class NMFUnmixing(_BaseUnmixing):
    """Plain NMF unmixing (Lee-Seung MU or HALS) with the sum-to-one constraint.

    Baseline of the family: ``min ||Y - A M||_F^2`` over non-negative
    abundances ``A`` and endmembers ``M``, the sum-to-one constraint (ASC)
    added softly through the augmented row ``delta 1^T``.

    Parameters
    ----------
    n_components : int or "auto", default=3
        Number of endmembers; ``"auto"``: HySime's estimate of the signal
        subspace dimension (:func:`estimate_n_endmembers`), stored in
        ``n_components_``.
    init : {"nfindr", "vca", "atgp", "ppi", "sisal", "nndsvd", "random", "custom"}, \
            default="nfindr"
        Initialisation: endmembers from an extraction method (:func:`nfindr`,
        :func:`vca`, :func:`atgp`, :func:`ppi`: the chosen pixels projected
        on the signal subspace; :func:`sisal`: its simplex vertices; negative
        entries clipped) with FCLS abundances (NNLS when ``delta = 0``), NNDSVD
        (zeros filled with the mean), random (Dirichlet abundances), or
        ``W``/``H`` given to fit. The default, N-FINDR started from the ATGP
        pixels, is deterministic; VCA depends on ``random_state`` and on
        Jasper Ridge misses the road endmember on 3 of 5 seeds, which the NMF
        (a local method) keeps (see the unmixing benchmarks).
    solver : {"mu", "hals"}, default="mu"
        Multiplicative updates or HALS (exact coordinate descent).
    delta : float, default=0.0
        Weight of the sum-to-one row ``delta 1^T`` (0 disables the constraint,
        the usual NMF baseline; abundances are then normalised per pixel for
        evaluation).
    alpha : float, default=0.0
        l1 penalty on the abundances. With ``delta=0`` the scale is fixed by the
        sum-to-one scale convention (see Notes), so the endmembers stay on the
        data's scale.
    max_iter : int, default=200
        Maximum number of alternating sweeps.
    tol : float, default=1e-4
        Stop when the relative objective change over 10 sweeps is below ``tol``
        or the objective fell below 1e-12 of its initial value (``0``: run exactly
        ``max_iter`` sweeps, no warning).
    random_state : int, RandomState or None, default=None
        Seed of the random initialisations (``"vca"``, ``"ppi"``, ``"sisal"``,
        ``"random"``; ``"nfindr"`` and ``"atgp"`` are deterministic).
    verbose : int, default=0
        Print the objective every 10 sweeps.
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
    n_components_ : int
        Number of endmembers.
    n_iter_ : int
        Sweeps run.
    reconstruction_err_ : float
        ``||Y - A M||_F`` at the end (masked entries excluded).
    objective_ : float
        Final value of the objective.
    image_shape_ : tuple or None
        ``(rows, cols)`` when a cube was fitted.
    n_features_in_ : int
        Number of bands.

    See Also
    --------
    L12NMF : with the l1/2 sparsity prior.
    CorrentropyNMF : robust to noisy bands.
    fcls : abundances for known endmembers.

    Notes
    -----
    Objective, with ``W`` = abundances (pixels x K), ``H`` = endmembers:
    ``1/2 ||X - W H||_F^2 + delta^2/2 ||W 1 - 1||^2 + alpha ||W||_1``.
    MU: ``W <- W * (X H^T + delta^2) / (W (H H^T + delta^2) + alpha)``,
    ``H <- H * (W^T X) / (W^T W H)``; HALS updates one column at a time
    exactly. Both never increase the objective. Cost per sweep O(N L K).

    Scale: ``W H = (W S)(S^-1 H)`` for any positive diagonal ``S``, so the
    penalty needs a convention. With ``delta > 0`` the sum-to-one row fixes
    it; with ``delta = 0`` every 10 sweeps and at the end each pair is
    rescaled by ``c = argmin_{c >= 0} ||W c - 1||`` (``W H`` unchanged), a
    condition that exactly sum-to-one abundances satisfy: the endmembers keep
    the data's scale instead of growing while the penalised abundances shrink.

    References
    ----------
    .. [1] D. D. Lee and H. S. Seung, "Algorithms for non-negative matrix
       factorization", NIPS 13, 2000.
    .. [2] N. Gillis and F. Glineur, "Accelerated multiplicative updates and
       hierarchical ALS algorithms for nonnegative matrix factorization",
       Neural Computation 24(4), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import NMFUnmixing
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 30))
    >>> A = np.vstack([np.eye(3), rng.dirichlet(np.ones(3), size=100)])
    >>> est = NMFUnmixing(n_components=3, max_iter=100, tol=0, random_state=0).fit(A @ E)
    >>> est.components_.shape
    (3, 30)
    """

    _extra_constraints = {"alpha": [Interval(numbers.Real, 0, None, closed="left")]}

    def __init__(self, n_components=3, *, init="nfindr", solver="mu", delta=0.0, alpha=0.0,
                 max_iter=200, tol=1e-4, random_state=None, verbose=0, n_jobs=None, transform_method="model"):
        self.n_components = n_components
        self.init = init
        self.solver = solver
        self.delta = delta
        self.alpha = alpha
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.n_jobs = n_jobs
        self.transform_method = transform_method

    def _solver_kwargs(self, X, image_shape, K, fitting=True):
        return {"lam": float(self.alpha)}
