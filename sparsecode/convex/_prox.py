"""Scalar proximal operators, penalty values and optimality scores (Numba, cached).

Each built-in penalty has an integer code so that the cached coordinate-descent
kernels can branch on it without jitclass arguments (jitclass-typed functions
cannot be cached on disk, which costs seconds per process; skglm #106, #232).
The same scalar functions back the jitclass methods of ``_penalties.py``.

Formulas: spec section 7.1 (recovery-algorithms.md); every closed form is
tested against grid minimisation in ``tests/convex/test_penalties.py``.
Convention: ``prox(v) = argmin_z (z - v)^2 / (2 step) + phi(z)`` where ``phi``
already contains ``alpha`` (and ``gamma``, the weight or the curvature ``a2``).
"""

import numpy as np
from numba import njit

L1, WL1, MCP, SCAD, L0, LHALF, LTWOTHIRDS, CEL0, ENET, USER = range(10)
CONVEX_CODES = (L1, WL1)  # the L1-type codes (the Gram kernels' gap)


@njit(cache=True, nogil=True)
def st(x, u):
    """Soft thresholding ``sign(x) max(|x| - u, 0)``."""
    if x > u:
        return x - u
    if x < -u:
        return x + u
    return 0.0 * x


@njit(cache=True, nogil=True)
def mcp_value(x, alpha, gamma):
    a = abs(x)
    if a <= gamma * alpha:
        return alpha * a - a * a / (2.0 * gamma)
    return gamma * alpha * alpha / 2.0


@njit(cache=True, nogil=True)
def scad_value(x, alpha, gamma):
    a = abs(x)
    if a <= alpha:
        return alpha * a
    if a <= gamma * alpha:
        return (2.0 * gamma * alpha * a - a * a - alpha * alpha) / (2.0 * (gamma - 1.0))
    return alpha * alpha * (gamma + 1.0) / 2.0


@njit(cache=True, nogil=True)
def cel0_value(x, alpha, a2):
    a = np.sqrt(a2)
    thr = np.sqrt(2.0 * alpha) / a
    t = abs(x)
    if t <= thr:
        return alpha - a2 / 2.0 * (t - thr) ** 2
    return alpha


@njit(cache=True, nogil=True)
def prox_mcp(x, step, alpha, gamma):
    # spec 7.1; closed form needs gamma > step, otherwise the 1-D problem is
    # concave on [0, gamma alpha] and the minimiser is 0 or max(|x|, gamma alpha).
    a = abs(x)
    if gamma > step:
        if a <= step * alpha:
            return 0.0
        if a <= gamma * alpha:
            return np.sign(x) * (a - step * alpha) / (1.0 - step / gamma)
        return x
    t = max(a, gamma * alpha)
    f0 = a * a / (2.0 * step)
    f1 = (t - a) ** 2 / (2.0 * step) + gamma * alpha * alpha / 2.0
    return np.sign(x) * t if f1 < f0 else 0.0


@njit(cache=True, nogil=True)
def prox_scad(x, step, alpha, gamma):
    a = abs(x)
    if gamma > 1.0 + step:
        if a <= (1.0 + step) * alpha:
            return st(x, step * alpha)
        if a <= gamma * alpha:
            return ((gamma - 1.0) * x - np.sign(x) * step * gamma * alpha) / (gamma - 1.0 - step)
        return x
    # general case: compare the candidate minimisers of each piece
    best_t = 0.0
    best_f = a * a / (2.0 * step)
    c1 = min(max(a - step * alpha, 0.0), alpha)
    c3 = max(a, gamma * alpha)
    cands = (c1, alpha, gamma * alpha, c3)
    for t in cands:
        f = (t - a) ** 2 / (2.0 * step) + scad_value(t, alpha, gamma)
        if f < best_f:
            best_f = f
            best_t = t
    return np.sign(x) * best_t


@njit(cache=True, nogil=True)
def prox_l0(x, u):
    # hard thresholding at sqrt(2u); at equality both are minimisers, return 0
    if x * x > 2.0 * u:
        return x
    return 0.0


@njit(cache=True, nogil=True)
def prox_lhalf(x, u):
    # l_{1/2} (Xu et al. 2012, Cao et al. 2013) for phi = |t|^{1/2}, u = step alpha
    a = abs(x)
    if u <= 0.0:
        return x
    if a <= 1.5 * u ** (2.0 / 3.0):
        return 0.0
    c = -(3.0 ** 1.5) / 4.0 * u * a ** (-1.5)
    c = min(max(c, -1.0), 1.0)
    return 2.0 / 3.0 * x * (1.0 + np.cos(2.0 / 3.0 * np.arccos(c)))


@njit(cache=True, nogil=True)
def prox_ltwothirds(x, u):
    # l_{2/3} closed form (Cao, Sun & Xu 2013), phi = |t|^{2/3}, u = step alpha
    a = abs(x)
    if u <= 0.0:
        return x
    if a <= 2.0 * (2.0 * u / 3.0) ** 0.75:
        return 0.0
    q = np.sqrt(max(a ** 4 / 256.0 - 8.0 * u ** 3 / 729.0, 0.0))
    z = np.cbrt(a * a / 16.0 + q) + np.cbrt(a * a / 16.0 - q)
    s = np.sqrt(2.0 * z)
    inner = max(2.0 * a / s - 2.0 * z, 0.0)
    return np.sign(x) * (s + np.sqrt(inner)) ** 3 / 8.0


@njit(cache=True, nogil=True)
def prox_cel0(x, step, alpha, a2):
    # spec 7.1 (Soubies et al. 2015), needs a2 * step < 1; at a2 * step >= 1
    # (coordinate descent uses step = 1 / a2 exactly) the minimiser is the
    # hard threshold at sqrt(2 alpha) / a (the quadratic terms cancel).
    a = np.sqrt(a2)
    thr = np.sqrt(2.0 * alpha) / a
    if a2 * step < 1.0 - 1e-12:
        ax = abs(x)
        return np.sign(x) * min(ax, max(ax - np.sqrt(2.0 * alpha) * a * step, 0.0)
                                / (1.0 - a2 * step))
    if abs(x) > thr:
        return x
    return 0.0


@njit(cache=True, nogil=True)
def value_scalar(code, x, alpha, gamma, wj, a2):
    """Penalty value of one coordinate."""
    if code == L1:
        return alpha * abs(x)
    if code == WL1:
        if wj == 0.0:
            return 0.0
        if np.isinf(wj):
            return 0.0 if x == 0.0 else np.inf
        return alpha * wj * abs(x)
    if code == MCP:
        return mcp_value(x, alpha, gamma)
    if code == SCAD:
        return scad_value(x, alpha, gamma)
    if code == L0:
        return alpha if x != 0.0 else 0.0
    if code == LHALF:
        return alpha * np.sqrt(abs(x))
    if code == LTWOTHIRDS:
        return alpha * abs(x) ** (2.0 / 3.0)
    if code == ENET:
        return alpha * abs(x) + 0.5 * gamma * x * x
    return cel0_value(x, alpha, a2)


@njit(cache=True, nogil=True)
def prox_scalar(code, x, step, alpha, gamma, wj, a2, positive):
    """Prox of ``step * phi_j`` at ``x`` (non-negativity: clip at 0, valid because
    every built-in ``phi`` is even and non-decreasing in ``|t|``)."""
    if positive and x <= 0.0:
        return 0.0
    if code == L1:
        z = st(x, step * alpha)
    elif code == WL1:
        if np.isinf(wj):
            return 0.0
        z = st(x, step * alpha * wj)
    elif code == MCP:
        z = prox_mcp(x, step, alpha, gamma)
    elif code == SCAD:
        z = prox_scad(x, step, alpha, gamma)
    elif code == L0:
        z = prox_l0(x, step * alpha)
    elif code == LHALF:
        z = prox_lhalf(x, step * alpha)
    elif code == LTWOTHIRDS:
        z = prox_ltwothirds(x, step * alpha)
    elif code == ENET:
        z = st(x, step * alpha) / (1.0 + step * gamma)
    else:
        z = prox_cel0(x, step, alpha, a2)
    if positive and z < 0.0:
        return 0.0
    return z


@njit(cache=True, nogil=True)
def score_scalar(code, x, g, lip, alpha, gamma, wj, a2, positive):
    """Optimality violation of one coordinate, in gradient units.

    Convex penalties: distance of ``-g`` to the subdifferential (skglm's
    ``subdiff_distance``).  Others: fixed-point residual
    ``lip * |x - prox(x - g / lip, 1 / lip)|`` (zero iff x is a fixed point
    of the coordinate-wise proximal step, i.e. a coordinate-wise minimiser).
    """
    if code == L1 or code == WL1:
        t = alpha if code == L1 else alpha * wj
        if np.isinf(t):
            return 0.0
        if positive:
            if x == 0.0:
                return max(0.0, -g - t)
            return abs(g + t)
        if x == 0.0:
            return max(0.0, abs(g) - t)
        return abs(g + t * np.sign(x))
    if code == ENET:
        # distance of -(g + gamma x) to alpha d|x|
        g = g + gamma * x
        if positive:
            if x == 0.0:
                return max(0.0, -g - alpha)
            return abs(g + alpha)
        if x == 0.0:
            return max(0.0, abs(g) - alpha)
        return abs(g + alpha * np.sign(x))
    if lip <= 0.0:
        return 0.0
    z = prox_scalar(code, x - g / lip, 1.0 / lip, alpha, gamma, wj, a2, positive)
    return lip * abs(x - z)


@njit(cache=True, nogil=True)
def scores_all(code, w, grad, lips, alpha, gamma, weights, a2s, positive, out):
    """Vector of ``score_scalar`` (in place into ``out``)."""
    for j in range(w.shape[0]):
        wj = weights[j] if weights.shape[0] > 0 else 1.0
        a2 = a2s[j] if a2s.shape[0] > 0 else lips[j]
        out[j] = score_scalar(code, w[j], grad[j], lips[j], alpha, gamma, wj, a2, positive)
    return out


@njit(cache=True, nogil=True)
def penalty_value_all(code, w, alpha, gamma, weights, a2s, lips):
    s = 0.0
    for j in range(w.shape[0]):
        wj = weights[j] if weights.shape[0] > 0 else 1.0
        a2 = a2s[j] if a2s.shape[0] > 0 else lips[j]
        if w[j] != 0.0 or code == CEL0 or code == WL1:
            s += value_scalar(code, w[j], alpha, gamma, wj, a2)
    return s
