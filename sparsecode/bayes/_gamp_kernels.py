"""Numba kernel of the damped Gaussian GAMP E-step (one measurement vector).

The same recursion as ``_gamp.gamp_estep`` (spec 5.2) with the Gaussian
denoiser ``x = gamma r / (gamma + tau_r)``, for an explicit dense matrix and
a single column ``y``: the whole inner loop runs in one compiled call, so
that the per-iteration cost is the two sweeps over ``A`` and nothing else
(in Python, the twenty-odd NumPy calls of one iteration cost more than the
products themselves on a 200 x 800 matrix).

Each sweep computes two products at once, reading every entry of the matrix
a single time: ``A x`` with ``|A|^2 tau_x`` (rows of ``A``), then
``A^H s`` with ``|A^H|^2 tau_s`` (rows of ``At = A^H``, stored contiguous);
``|A|^2`` is never stored.  With ``c > 0`` the scalar variances
``tau_p = c sum(tau_x)`` and ``tau_r = 1 / (c sum(tau_s))`` are used instead
(spec 5.2).  Real and complex matrices share the code.

Divergence (reported as ``status = 1``; the caller restores its warm start
and may retry with a smaller damping):

* a non-finite value, or the residual ``||y - A x||`` above ``1e8 ||y||``
  (the rule of the NumPy path);
* or a sustained blow-up: the relative change of ``x`` above 1 (the step is
  larger than the iterate) while the residual exceeds ``||y||`` (the
  posterior mean never fits worse than ``x = 0``), for ``DIV_PATIENCE``
  consecutive iterations.  An undamped GAMP that oscillates with a growing
  amplitude meets it after a few dozen iterations where the first rule
  needs about two hundred;
* or, when the iteration budget is spent, a last step larger than the
  iterate or a residual above ``||y||`` (an E-step that ends oscillating
  must not become the warm start of the next one: GGAMP-TSBL at 16 x 50 once
  accepted such a state, with a residual of ``4e7 ||y||``, after which every
  E-step diverged whatever the damping).
"""

import numpy as np
from numba import njit

TINY = 1e-300
HUGE = 1e300
DIV_PATIENCE = 5
# reassociation lets LLVM vectorise the dot products; no "nnan"/"ninf", so
# that the finiteness checks keep their meaning
_FLAGS = {"reassoc", "contract", "nsz"}


@njit(cache=True, inline="always", fastmath=_FLAGS)
def _abs2(z):
    return z.real * z.real + z.imag * z.imag


@njit(cache=True, inline="always", fastmath=_FLAGS)
def _output_sweep(A, y, x, s, tx, ts, theta, s2, c):
    """Sweep 1 of both loops: ``tau_p = |A|^2 tau_x``, ``p = A x - tau_p s`` and
    the damped output step, in place on ``s`` and ``ts``; returns ``||y - A x||^2``."""
    m, K = A.shape
    res2 = 0.0
    tpc = 1.0
    if c > 0.0:
        sx = 0.0
        for j in range(K):
            sx += tx[j]
        tpc = min(max(c * sx, TINY), HUGE)
    for i in range(m):
        ax = 0.0 * y[i]
        if c > 0.0:
            for j in range(K):
                ax += A[i, j] * x[j]
            tp = tpc
        else:
            tp = 0.0
            for j in range(K):
                a = A[i, j]
                ax += a * x[j]
                tp += _abs2(a) * tx[j]
            tp = min(max(tp, TINY), HUGE)
        e = y[i] - ax
        res2 += _abs2(e)
        inv = 1.0 / (tp + s2)
        s[i] = (1.0 - theta) * s[i] + theta * (e + tp * s[i]) * inv
        ts[i] = inv
    return res2


@njit(cache=True, inline="always", fastmath=_FLAGS)
def _input_step(j, g, tr, x, tx, gam, theta):
    """The damped input step of coordinate ``j`` from ``g = (A^H s)_j`` and
    ``tau_r``: ``x[j]``, ``tx[j]`` in place; returns the change and the new
    value's squared magnitudes (for the relative change of ``x``)."""
    r = x[j] + tr * g
    gj = gam[j]
    d = gj + tr
    xn = (1.0 - theta) * x[j] + theta * (gj * r / d)
    dn = _abs2(xn - x[j])
    dd = _abs2(xn)
    x[j] = xn
    tx[j] = gj * tr / d
    return dn, dd


@njit(cache=True, inline="always")
def _step_status(delta, res, ynorm, finite, bad, eps):
    """``(status, bad)``: status 1 diverged (see the module docstring), 0
    converged, -1 go on; ``bad`` counts the consecutive blow-up steps."""
    if not (finite and np.isfinite(delta) and res <= 1e8 * (ynorm + TINY)):
        return 1, bad
    if delta > 1.0 and res > ynorm:
        bad += 1
        if bad >= DIV_PATIENCE:
            return 1, bad
    else:
        bad = 0
    if delta < eps:
        return 0, bad
    return -1, bad


@njit(cache=True, inline="always", fastmath=_FLAGS)
def _adjoint_sweep(A, At, rows, s, ts, c, gv, qv):
    """``gv = A^H s`` and, for vector variances (``c == 0``), ``qv = |A^H|^2 ts``:
    from the copy ``At = conj(A).T`` (one dot product per column), or with
    ``rows`` from ``A`` itself, accumulated row by row (axpy form, ``At``
    unused; the same sums in another order)."""
    m, K = A.shape
    if rows:
        for j in range(K):
            gv[j] = 0.0
            qv[j] = 0.0
        for i in range(m):
            si = s[i]
            if c > 0.0:
                for j in range(K):
                    gv[j] += np.conj(A[i, j]) * si
            else:
                ti = ts[i]
                for j in range(K):
                    a = A[i, j]
                    gv[j] += np.conj(a) * si
                    qv[j] += _abs2(a) * ti
    else:
        for j in range(K):
            g = 0.0 * gv[j]
            q = 0.0
            if c > 0.0:
                for i in range(m):
                    g += At[j, i] * s[i]
            else:
                for i in range(m):
                    a = At[j, i]
                    g += a * s[i]
                    q += _abs2(a) * ts[i]
            gv[j] = g
            qv[j] = q


@njit(cache=True, fastmath=_FLAGS)
def _gamp_iterations(A, At, rows, y, gam, s2, x, s, tx, theta, max_iter, eps, c):
    """The GAMP recursion of ``gamp_loop`` (``rows``: without ``A^H``, see
    ``gamp_loop_rows``)."""
    m, K = A.shape
    ynorm = 0.0
    for i in range(m):
        ynorm += _abs2(y[i])
    ynorm = np.sqrt(ynorm)
    ts = np.empty(m)
    gv = np.zeros(K, dtype=x.dtype)
    qv = np.zeros(K)
    res = 0.0
    delta = np.inf
    bad = 0
    k = 0
    trc = 1.0
    for k in range(1, max_iter + 1):
        res2 = _output_sweep(A, y, x, s, tx, ts, theta, s2, c)
        # sweep 2: tau_r = 1 / (|A^H|^2 tau_s), r = x + tau_r A^H s, input step
        if c > 0.0:
            st = 0.0
            for i in range(m):
                st += ts[i]
            trc = 1.0 / min(max(c * st, TINY), HUGE)
        _adjoint_sweep(A, At, rows, s, ts, c, gv, qv)
        num = 0.0
        den = 0.0
        finite = True
        for j in range(K):
            if c > 0.0:
                tr = trc
            else:
                tr = 1.0 / min(max(qv[j], TINY), HUGE)
            dn, dd = _input_step(j, gv[j], tr, x, tx, gam, theta)
            num += dn
            den += dd
            if not np.isfinite(tx[j]):
                finite = False
        delta = np.sqrt(num / den) if den > 0 else 0.0
        res = np.sqrt(res2)
        status, bad = _step_status(delta, res, ynorm, finite, bad, eps)
        if status >= 0:
            return k, delta, status
    # budget spent: never hand on an oscillating or exploded iterate
    if delta > 1.0 or res > ynorm:
        return k, delta, 1
    return k, delta, 0


@njit(cache=True, fastmath=_FLAGS)
def gamp_loop(A, At, y, gam, s2, x, s, tx, theta, max_iter, eps, c):
    """Run damped GAMP to convergence; ``x``, ``s``, ``tx`` updated in place.

    Parameters
    ----------
    A : (m, K) C-contiguous; At : (K, m) C-contiguous, ``conj(A).T``.
    y : (m,); gam : (K,) prior variances; s2 : noise variance.
    x : (K,), s : (m,), tx : (K,) warm start, overwritten.
    theta : damping; max_iter, eps : GAMP budget and tolerance.
    c : scalar-variance constant ``||A||_F^2 / (m N)``, or 0 for the
        vector variances.

    Returns
    -------
    n_iter, delta, status (0 converged or budget spent, 1 diverged),
    the final tau_r is not needed by the callers.
    """
    return _gamp_iterations(A, At, False, y, gam, s2, x, s, tx, theta, max_iter, eps, c)


@njit(cache=True, fastmath=_FLAGS)
def gamp_loop_rows(A, y, gam, s2, x, s, tx, theta, max_iter, eps, c):
    """``gamp_loop`` reading only ``A`` (no copy of ``A^H``): the second
    sweep accumulates ``A^H s`` and ``|A^H|^2 tau_s`` row by row (axpy form).
    The same recursion, the sums over the rows in another order (rounding);
    about 6 % slower per iteration at 200 x 800 than ``gamp_loop``, which
    needs the ``A^H`` copy (a fresh 1.3 MB array costs as much as 10
    iterations there, page faults included)."""
    return _gamp_iterations(A, A, True, y, gam, s2, x, s, tx, theta, max_iter, eps, c)


AUTO_SNR = 10.0  # as _em.AUTO_SNR (kept apart: _em does not import numba)
EPS_FIRST = 1e-3  # as _gamp.EPS_FIRST / EPS_FACTOR
EPS_FACTOR = 1e-2

#: em_segment return events
EV_CONVERGED, EV_EXHAUSTED, EV_DIVERGED, EV_COMPACT, EV_EMPTY = 0, 1, 2, 3, 4


@njit(cache=True, fastmath=_FLAGS)
def em_segment(A, At, y, gam, s2, x, s, tx, theta, adapt, max_gamp_iter, gamp_tol, c,
               update_em, learn_noise, auto, cnorm2, prune, floor, tol, delta, it,
               max_iter, k_ref):
    """EM iterations ``it, it + 1, ...`` of GGAMP-SBL (one column, dense A)
    in one compiled call: the E-step by ``gamp_loop`` (with the damping
    halved after a divergence when ``adapt``), the gamma and noise updates,
    the pruning rule and the convergence test of ``_gamp.ggamp_sbl_kernel``
    (the same operations in the same order), until an event the caller
    handles in Python:

    * ``EV_CONVERGED``: relative change of gamma below ``tol``;
    * ``EV_EXHAUSTED``: iteration ``max_iter`` done;
    * ``EV_DIVERGED``: the E-step diverged (``x``, ``s``, ``tx`` keep the
      last accepted iterate, ``gam`` its gamma);
    * ``EV_COMPACT``: fewer than 90 % of the columns (of ``max(k_ref, K)``)
      keep a positive gamma;
    * ``EV_EMPTY``: every gamma vanished.

    ``At`` is ``conj(A).T`` (C order) or an empty placeholder (then the
    E-step is ``gamp_loop_rows``).  ``gam``, ``x``, ``s``, ``tx`` are
    updated in place.  Returns ``(event,
    it, s2, delta, theta, n_gamp)``, ``it`` being the last iteration run.
    """
    m, K = A.shape
    rows = At.shape[0] != K  # no adjoint given: gamp_loop_rows
    xb = np.empty_like(x)
    sb = np.empty_like(s)
    txb = np.empty_like(tx)
    gold = np.empty(K)
    n_gamp = 0
    while True:
        eps = EPS_FIRST if not np.isfinite(delta) else EPS_FACTOR * delta
        eps = max(gamp_tol, eps)
        # E-step (see _gamp._halving: a diverged attempt leaves the state)
        while True:
            xb[:] = x
            sb[:] = s
            txb[:] = tx
            if rows:
                k, dg, status = gamp_loop_rows(A, y, gam, s2, xb, sb, txb, theta,
                                               max_gamp_iter, eps, c)
            else:
                k, dg, status = gamp_loop(A, At, y, gam, s2, xb, sb, txb, theta,
                                          max_gamp_iter, eps, c)
            n_gamp += k
            if status == 0 or not adapt or theta <= 1e-3:
                break
            theta = max(theta / 2.0, 1e-3)
        if status != 0:
            return EV_DIVERGED, it, s2, delta, theta, n_gamp
        x[:] = xb
        s[:] = sb
        tx[:] = txb
        # M-step
        gold[:] = gam
        for j in range(K):
            g = gold[j]
            if g > 0:
                if update_em:
                    gam[j] = _abs2(x[j]) + tx[j]
                else:
                    gam[j] = _abs2(x[j]) / max(1.0 - tx[j] / g, TINY)
            else:
                gam[j] = 0.0
        if learn_noise:
            r2 = 0.0
            for i in range(m):
                ax = 0.0 * y[i]
                for j in range(K):
                    ax += A[i, j] * x[j]
                r2 += _abs2(y[i] - ax)
            srho = 0.0
            for j in range(K):
                if gold[j] > 0:
                    srho += 1.0 - tx[j] / gold[j]
            s2 = max((r2 + s2 * srho) / m, floor)
        if auto:
            for j in range(K):
                g = gold[j]
                rho = 1.0 - tx[j] / (g if g > 0 else 1.0)
                rho = min(max(rho, 0.0), 1.0)
                if gam[j] * cnorm2[j] / s2 < AUTO_SNR and _abs2(x[j]) <= g * rho * (1.0 - rho):
                    gam[j] = 0.0
        else:
            gmax = 0.0
            for j in range(K):
                gmax = max(gmax, gam[j])
            for j in range(K):
                if gam[j] < prune * gmax:
                    gam[j] = 0.0
        nrm = 0.0
        dif = 0.0
        n_keep = 0
        for j in range(K):
            nrm += gold[j] * gold[j]
            dif += (gam[j] - gold[j]) ** 2
            if gam[j] > 0:
                n_keep += 1
        delta = np.sqrt(dif) / np.sqrt(nrm) if nrm > 0 else 0.0
        if delta < tol:
            return EV_CONVERGED, it, s2, delta, theta, n_gamp
        if n_keep == 0:
            return EV_EMPTY, it, s2, delta, theta, n_gamp
        if n_keep < 0.9 * max(k_ref, K):
            return EV_COMPACT, it, s2, delta, theta, n_gamp
        if it >= max_iter:
            return EV_EXHAUSTED, it, s2, delta, theta, n_gamp
        it += 1
