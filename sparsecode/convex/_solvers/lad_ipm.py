"""Primal-dual interior point method + crossover for the LAD-LASSO LP.

The restricted LAD-LASSO LP (features ``ws``, rows with positive weight)

    min  sum_i c_i (u_i + v_i) + sum_j lam_j (a_j + g_j)
    s.t. X_ws (a - g) + F f + u - v = y,    a, g, u, v >= 0,  f free

(``F``: the intercept column and the unpenalised features, ``g`` absent
when ``positive``) is solved by Mehrotra's predictor-corrector method.  The
Newton system ``[M F; F^T 0]`` with ``M = X_ws D_f X_ws^T + E`` (``D_f``,
``E`` diagonal) is reduced either to the n x n matrix ``M`` (bordered by
``F``) or, when ``|ws| + |F| < n``, to the ``(|ws| + |F|)``-square matrix
``K = G + Xe^T E^{-1} Xe`` (``Xe = [X_ws, F]``, ``G = diag(1/D_f, 0)``),
whichever is smaller; both are factored by Cholesky (LAPACK).

The IPM point is then polished to the exact optimal vertex (crossover):
the active features ``A`` and the zero residuals ``Z`` are read off the
complementarity pairs, the square system ``Xe_{Z,A} w_A = y_Z`` gives the
vertex and ``Xe_{Z,A}^T theta_Z = lam_A sign(w_A) - Xe_{R,A}^T theta_R`` its
dual point (``theta_R = c_R sign(r_R)``); the caller accepts the vertex
only when its duality gap is at rounding level.
"""

import numpy as np
import scipy.sparse as sp
from scipy.linalg import LinAlgError, lstsq
from scipy.linalg.blas import dsyrk, ssyrk
from scipy.linalg.lapack import dpotrf, dpotrs

__all__ = ["lad_ipm", "lad_crossover", "solve_restricted", "vertex_gap"]


def _chol(K, reg0):
    """Lower Cholesky factor (LAPACK ``potrf``) of a symmetric PSD matrix whose
    lower triangle is set; diagonal regularisation only on failure."""
    d = np.diag(K)
    scale = float(np.max(d)) if d.size else 1.0
    reg = reg0 * scale
    for _ in range(8):
        K2 = K
        if reg > 0:
            K2 = K.copy()
            K2.flat[::K.shape[0] + 1] += reg
        L, info = dpotrf(K2, lower=1, clean=0)
        if info == 0:
            return L
        reg = max(reg * 100.0, 1e-14 * scale)
    raise LinAlgError("IPM normal matrix is numerically singular")


def _syrk(A, trans, low):
    """``A A^T`` (``trans=0``) or ``A^T A`` (lower triangle), in single
    precision when ``low`` and every entry of ``A`` and of the product is
    representable there (else, or when not ``low``, in double precision)."""
    if low:
        amax = float(np.max(np.abs(A))) if A.size else 0.0
        # the product's entries are at most (inner dimension) * amax^2
        if 0.0 < amax and np.isfinite(amax) and amax * amax * A.shape[trans] < 1e37 \
                and amax > 1e-18:
            K = ssyrk(1.0, A.astype(np.float32), trans=trans, lower=1)
            if np.all(np.isfinite(K)):
                return K.astype(np.float64)
    return dsyrk(1.0, A, trans=trans, lower=1)


def _chol_or_none(K):
    """Lower Cholesky factor of ``K``, or None when ``K`` is not numerically
    positive definite or not finite (the caller then rebuilds it in double
    precision)."""
    if not np.all(np.isfinite(np.diag(K))):
        return None
    L, info = dpotrf(K, lower=1, clean=0)
    return L if info == 0 else None


def _cho_solve(L, b):
    x, info = dpotrs(L, b, lower=1)
    return x


def lad_ipm(Xk, F, y, lam, c, positive, tol=1e-10, max_iter=80, check=None, check_below=1e-5,
            drop=True, form="auto"):
    """Mehrotra predictor-corrector on the restricted LAD-LASSO LP.

    Parameters
    ----------
    Xk : ndarray (n, k), F-ordered, or scipy.sparse CSC
        Penalised columns of the working set (sparse: the Newton matrix is
        formed by a sparse product, then factored dense).
    F : ndarray (n, f)
        Free columns (intercept, unpenalised features).
    y : ndarray (n,)
    lam : ndarray (k,) > 0
        Penalty thresholds ``alpha * weights``.
    c : ndarray (n,) > 0
        Residual costs ``s_i / n``.
    positive : bool
    check : callable or None
        ``check(point) -> result or None``, called once the relative gap is
        below ``check_below`` (the crossover); a non-None result stops the
        iterations and is returned under ``"vertex"``.  The point carries
        ``idx``, the columns of ``Xk`` still in the problem.
    drop : bool
        Remove the columns whose dual constraint is clearly inactive
        (``|x_j^T theta| < 0.4 max`` once the gap is below 5 %, ``< 0.8 max``
        below 0.1 %): the later iterations factor a smaller matrix.  The
        caller re-checks every column on the returned point.
    form : {"auto", "n", "k"}
        Reduction of the Newton system (``"auto"``: the smaller one).

    Returns
    -------
    dict with the primal pieces ``a, g, u, v, f``, their dual slacks
    ``za, zg, zu, zv``, ``theta`` and the iteration count.
    """
    n, k = Xk.shape
    nf = F.shape[1]
    two = not positive  # a (x_j^+) and g (x_j^-) variables, else a only
    sparse = sp.issparse(Xk)
    ynorm = float(np.max(np.abs(y))) if n else 1.0
    ynorm = ynorm or 1.0
    # one stacked vector for the non-negative variables, x = [a, g, u, v]
    # (g absent when positive), its dual slacks z and its costs: every
    # element-wise operation of an iteration is a single NumPy call
    ones_n = np.ones(n)

    def stack(pa, pu):
        return np.concatenate((pa, -pa, pu, -pu) if two else (pa, pu, -pu))

    def layout(k):
        ng = k if two else 0
        return k, k + ng, k + ng + n, k + ng + 2 * n  # ends of a, g, u, v

    ka, kg, ku, kv = layout(k)
    x = np.concatenate((np.full(kg, 0.1 * ynorm), np.maximum(y, 0.0) + 0.5 * ynorm,
                        np.maximum(-y, 0.0) + 0.5 * ynorm))
    cost = np.concatenate((lam, lam, c, c) if two else (lam, c, c))
    z = cost.copy()
    f = np.zeros(nf)
    theta = np.zeros(n)
    nvar = x.size
    # scales of the stopping figures (relative, so that the iterations do not
    # depend on the units of X and y)
    cnorm = max(float(np.max(lam)) if k else 0.0, float(np.max(c)))
    oscale = float(c @ np.abs(y)) or 1.0
    idx = np.arange(k)
    stages = [(5e-2, 0.4), (1e-3, 0.8)] if drop else []
    it = 0
    n_fail = 0
    n_checks = 0

    def Ax(v_):
        wv = v_[:ka] - v_[ka:kg] if two else v_[:ka]
        out = Xk @ wv if k else np.zeros(n)
        return out + v_[kg:ku] - v_[ku:]

    def point():
        a, g = x[:ka], (x[ka:kg] if two else np.zeros(0))
        za, zg = z[:ka], (z[ka:kg] if two else np.zeros(0))
        return dict(a=a, g=g, u=x[kg:ku], v=x[ku:], f=f, za=za, zg=zg, zu=z[kg:ku], zv=z[ku:],
                    theta=theta, idx=idx)

    for it in range(1, max_iter + 1):
        use_k_form = (k + nf) < n if form == "auto" else form == "k"
        rp = y - Ax(x)
        if nf:
            rp -= F @ f
        XTt = Xk.T @ theta if k else np.zeros(0)
        rd = cost - stack(XTt, theta) - z
        rf = -(F.T @ theta) if nf else np.zeros(0)
        pobj = float(cost @ x)
        dobj = float(y @ theta)
        mu = float(x @ z) / nvar
        pinf = float(np.max(np.abs(rp))) / ynorm
        dinf = max(float(np.max(np.abs(rd))), float(np.max(np.abs(rf))) if nf else 0.0) / cnorm
        rgap = abs(pobj - dobj) / max(abs(pobj), oscale)
        if stages and rgap <= stages[0][0] and k > 0:
            thr = stages.pop(0)[1]
            ratio = (np.maximum(XTt, 0.0) if positive else np.abs(XTt)) / lam
            ind = x[:ka] / z[:ka]
            if two:
                ind = np.maximum(ind, x[ka:kg] / z[ka:kg])
            keep = (ratio >= thr * float(np.max(ratio))) | (ind >= 1e-2)
            if not np.all(keep):
                full = np.concatenate((keep, keep, ones_n > 0, ones_n > 0) if two
                                      else (keep, ones_n > 0, ones_n > 0))
                idx, Xk, lam, XTt = idx[keep], Xk[:, keep], lam[keep], XTt[keep]
                x, z, cost, rd = x[full], z[full], cost[full], rd[full]
                k = idx.size
                ka, kg, ku, kv = layout(k)
                nvar = x.size
                rp = y - Ax(x)
                if nf:
                    rp -= F @ f
                pobj = float(cost @ x)
                mu = float(x @ z) / nvar
                use_k_form = (k + nf) < n if form == "auto" else form == "k"
        if check is not None and rgap <= check_below and pinf <= 1e-6:
            pt = point()
            pt["rgap"] = rgap
            out = check(pt)
            if out is not None:
                return dict(vertex=out, n_iter=it, converged=True, idx=idx)
            n_fail += rgap <= 1e-11
            n_checks += 1
            if n_fail >= 4 or n_checks >= 8:
                # converged (or stalled near a degenerate optimum: nearly
                # dependent zero residuals, e.g. data rounded to float32) but
                # no exact vertex found: the caller falls back to the simplex
                break
        if pinf <= tol and dinf <= tol and rgap <= tol:
            break
        D = x / z
        Df = D[:ka] + D[ka:kg] if two else D[:ka]
        E = D[kg:ku] + D[ku:]
        # early iterations (rgap > 1e-2): an approximate Newton matrix is
        # enough (the residuals are recomputed exactly), single precision
        # halves the syrk
        low = rgap > 1e-2
        if use_k_form:
            Einv = 1.0 / E
            if sparse:
                Xe = sp.hstack([Xk, sp.csc_matrix(F)], format="csc") if nf else Xk
                Xs = sp.diags(np.sqrt(Einv)) @ Xe
                K = np.asfortranarray((Xs.T @ Xs).toarray())
            else:
                Xe = np.hstack([Xk, F]) if nf else Xk
                Xs = Xe * np.sqrt(Einv)[:, None]
                K = _syrk(Xs, 1, low)
            K.flat[:k * (k + nf) + k:k + nf + 1] += 1.0 / Df
            fac = _chol_or_none(K) if low and not sparse else _chol(K, 0.0)
            if fac is None:
                # the single-precision product overflowed or lost the
                # positive definiteness: redo it in double precision
                K = dsyrk(1.0, Xs, trans=1, lower=1)
                K.flat[:k * (k + nf) + k:k + nf + 1] += 1.0 / Df
                fac = _chol(K, 0.0)
        else:
            if not k:
                M = np.zeros((n, n))
            elif sparse:
                Xs = Xk @ sp.diags(np.sqrt(Df))
                M = np.asfortranarray((Xs @ Xs.T).toarray())
            else:
                M = _syrk(Xk * np.sqrt(Df), 0, low)
            M.flat[::n + 1] += E
            fac = _chol_or_none(M) if low and k and not sparse else _chol(M, 0.0)
            if fac is None:
                # single precision failed (overflow, or a lost definiteness):
                # redo the product in double precision
                M = dsyrk(1.0, Xk * np.sqrt(Df), lower=1)
                M.flat[::n + 1] += E
                fac = _chol(M, 0.0)
            if nf:
                MiF = _cho_solve(fac, F)
                S = F.T @ MiF
                facS = _chol(S, 0.0)

        def solve(h, rfv):
            # returns dtheta, d(free) and Xk^T dtheta twice: for the primal
            # step and for the dual step.  In the k form the primal one is
            # t / D_f, which keeps the primal residual identity exact despite
            # the large entries of E^{-1}, the dual one is recomputed
            if use_k_form:
                rhs = Xe.T @ (Einv * h)
                if nf:
                    rhs[k:] -= rfv
                te = _cho_solve(fac, rhs)
                dth = Einv * (h - Xe @ te)
                return dth, te[k:], te[:k] / Df, Xk.T @ dth
            Mh = _cho_solve(fac, h)
            if nf:
                df_ = _cho_solve(facS, F.T @ Mh - rfv)
                dth = Mh - MiF @ df_
            else:
                dth, df_ = Mh, np.zeros(0)
            XTd = Xk.T @ dth if k else np.zeros(0)
            return dth, df_, XTd, XTd

        def direction(rc):
            # dx = rc/z - D rd + D A^T dtheta ; h = rp - A (rc/z - D rd)
            pv = rc / z - D * rd
            dth, df_, XTp, XTd = solve(rp - Ax(pv), rf)
            return pv + D * stack(XTp, dth), df_, dth, rd - stack(XTd, dth)

        def maxstep(v_, dv):
            neg = dv < 0
            if not np.any(neg):
                return np.inf
            return float(np.min(v_[neg] / -dv[neg]))

        # predictor
        dx, df_, dth, dz = direction(-x * z)
        ap = min(1.0, maxstep(x, dx))
        ad = min(1.0, maxstep(z, dz))
        mu_aff = float((x + ap * dx) @ (z + ad * dz)) / nvar
        sigma = (mu_aff / mu) ** 3
        # corrector (same factorisation)
        dx, df_, dth, dz = direction(sigma * mu - x * z - dx * dz)
        eta = max(0.95, 1.0 - 10 * mu / (1.0 + abs(pobj))) if it > 1 else 0.95
        eta = min(eta, 0.99995)
        ap = min(1.0, eta * maxstep(x, dx))
        ad = min(1.0, eta * maxstep(z, dz))
        x = x + ap * dx
        f = f + ap * df_
        theta = theta + ad * dth
        z = z + ad * dz
    pt = point()
    pt.update(n_iter=it, rgap=0.0, converged=pinf <= tol and dinf <= tol and rgap <= tol)
    if check is not None:
        pt["vertex"] = check(pt)
    return pt


def lad_crossover(Xk, F, y, lam, c, positive, pt, lsq=False, n_more=0, snap=True):
    """Exact optimal vertex from an IPM point (see the module docstring).

    Active features: ``x/z > 1`` on one of their two variables; zero
    residuals: ``x/z < 1`` on both residual variables.  ``lsq=False``: the
    ``|A| + nf`` most-zero rows form a square system (LU).  ``lsq=True``
    (degenerate vertices, more zero residuals than active columns, or a
    rank-deficient design such as a column-centred one): ``w_A`` is the
    least-squares solution over all zero rows (exact when the system is
    consistent) and ``theta_Z`` the projection of the IPM multipliers onto
    ``{Xe_{Z,A}^T theta_Z = rhs}`` (both minimum-norm when the columns are
    dependent); ``n_more`` inactive features of largest
    ``x/z`` join ``A`` (a basic variable at a tiny value the IPM has not
    separated yet).  Zero residuals outside ``Z`` belong to basic residual
    variables at zero: ``snap=True`` puts their multiplier on the nearest
    bound ``+-c_i`` (the vertex's dual), ``snap=False`` keeps the IPM's.

    Returns ``(w, f, theta)`` (``theta`` not rescaled) or ``None`` when the
    identified system is singular or the signs are inconsistent.
    """
    n, k = Xk.shape
    nf = F.shape[1]
    a, za, u, zu, v, zv = pt["a"], pt["za"], pt["u"], pt["zu"], pt["v"], pt["zv"]
    ind = a / za
    if not positive:
        ind = np.maximum(ind, pt["g"] / pt["zg"])
    loc = np.flatnonzero(ind > 1.0)
    if n_more:
        cand = np.flatnonzero(ind <= 1.0)
        loc = np.concatenate([loc, cand[np.argsort(-ind[cand])[:n_more]]])
    act = pt["idx"][loc]
    n_act = act.size
    m = n_act + nf
    rind = np.maximum(u / zu, v / zv)
    if lsq:
        # all the zero rows; also when they are fewer than the active columns
        # (duplicated or dependent columns: the minimum-norm split between
        # them has the same objective)
        Z = np.flatnonzero(rind < 1.0)
        if Z.size == 0 or Z.size == m:
            return None
    else:
        if m > n:
            return None
        if m:
            Z = np.argpartition(rind, m - 1)[:m] if m < n else np.arange(n)
        else:
            Z = np.zeros(0, dtype=np.int64)
    cols = Xk[:, act]
    if sp.issparse(cols):
        cols = cols.toarray()
    if nf:
        cols = np.hstack([cols, F])
    w = np.zeros(k)
    f = np.zeros(nf)
    if m:
        B = cols[Z]
        try:
            if lsq:
                sol = lstsq(B, y[Z], lapack_driver="gelsy", check_finite=False)[0]
            else:
                sol = np.linalg.solve(B, y[Z])
        except (np.linalg.LinAlgError, LinAlgError, ValueError):
            return None
        if not np.all(np.isfinite(sol)):
            return None
        w[act] = sol[:n_act]
        f = sol[n_act:]
    r = y - Xk @ w - (F @ f if nf else 0.0)
    r[Z] = 0.0
    if positive and np.any(w < 0):
        w = np.maximum(w, 0.0)
    s = np.sign(w[act])
    if n_act and np.any(s == 0):
        return None
    theta = c * np.sign(r)
    # degenerate vertex: more zero residuals than |A| + nf; those outside Z
    # keep the IPM's (clipped) multipliers
    extra = rind < 1.0
    extra[Z] = False
    if np.any(extra):
        te = pt["theta"][extra]
        theta[extra] = np.where(te >= 0, c[extra], -c[extra]) if snap and not lsq else \
            np.clip(te, -c[extra], c[extra])
    if m:
        R = np.ones(n, dtype=bool)
        R[Z] = False
        rhs = np.concatenate([lam[act] * s, np.zeros(nf)]) - cols[R].T @ theta[R]
        try:
            if lsq:
                t0 = np.clip(pt["theta"][Z], -c[Z], c[Z])
                corr = lstsq(B.T, rhs - B.T @ t0, lapack_driver="gelsy", check_finite=False)[0]
                theta[Z] = t0 + corr
            else:
                theta[Z] = np.linalg.solve(B.T, rhs)
        except (np.linalg.LinAlgError, LinAlgError, ValueError):
            return None
    return w, f, theta


def vertex_gap(Xk, F, y, lam, c, positive, w, f, theta):
    """Duality gap and primal value of ``(w, f)`` with ``theta`` rescaled feasible.

    Returns ``(gap, primal)``; ``gap = inf`` when ``F^T theta != 0`` (the
    free columns' dual equalities cannot be restored by a rescaling).
    """
    r = y - Xk @ w
    if F.shape[1]:
        r = r - F @ f
        Ft = F.T @ theta
        if np.max(np.abs(Ft)) > 1e-9 * (np.abs(F).T @ np.abs(theta)).max() + 1e-300:
            return np.inf, np.inf
    primal = float(c @ np.abs(r)) + float(lam @ np.abs(w))
    corr = Xk.T @ theta
    cc = np.maximum(corr, 0.0) if positive else np.abs(corr)
    s = 1.0
    if lam.size:
        s = max(s, float(np.max(cc / lam)))
    pos = c > 0
    s = max(s, float(np.max(np.abs(theta[pos]) / c[pos])))
    return primal - float(y @ theta) / s, primal


def solve_restricted(Xk, F, y, lam, c, positive, xtol, max_iter=50, **ipm_kw):
    """Exact vertex of the restricted LP by IPM + crossover.

    Columns dropped by the IPM (see ``lad_ipm``) are not checked here: the
    caller prices every column on ``theta``.
    Returns ``(w, f, theta, n_iter, kept)`` (``kept``: the columns the IPM
    did not drop), or ``None`` when the crossover never
    produced a vertex with a relative gap ``<= xtol`` (the caller then
    falls back to the simplex).
    """
    scale = [None]

    def surplus(pt):
        ind = pt["a"] / pt["za"]
        if not positive:
            ind = np.maximum(ind, pt["g"] / pt["zg"])
        n_zero = np.count_nonzero(np.maximum(pt["u"] / pt["zu"], pt["v"] / pt["zv"]) < 1.0)
        return n_zero > np.count_nonzero(ind > 1.0) + F.shape[1]

    def check(pt):
        for lsq, n_more, snap in ((False, 0, True), (False, 0, False), (True, 0, False),
                                  (True, 1, False), (True, 2, False)):
            if lsq and pt["rgap"] > 1e-8:
                break  # the least-squares variants only on an accurate point
            if not snap and not lsq and not surplus(pt):
                continue  # no surplus zero row: same system as the first variant
            out = lad_crossover(Xk, F, y, lam, c, positive, pt, lsq, n_more, snap)
            if out is None:
                continue
            w, f, theta = out
            idx = pt["idx"]
            gap, primal = vertex_gap(Xk[:, idx], F, y, lam[idx], c, positive, w[idx], f,
                                     theta)
            if scale[0] is None:
                scale[0] = float(c @ np.abs(y))
            if np.isfinite(gap) and gap <= xtol * max(primal, scale[0]):
                return out
        return None

    res = lad_ipm(Xk, F, y, lam, c, positive, max_iter=max_iter, check=check, **ipm_kw)
    if res.get("vertex") is None:
        return None
    w, f, theta = res["vertex"]
    return w, f, theta, res["n_iter"], res["idx"]
