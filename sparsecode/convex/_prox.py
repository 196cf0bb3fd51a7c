"""Scalar proximal operators, penalty values and optimality scores of the built-in
penalties, from their one compiled source.

The formulas live once, in ``_ext/_convex.pyx`` (``prox_scalar``,
``value_scalar``, ``score_scalar``, which the coordinate-descent kernels
inline), exported as C functions (``c_prox_scalar``, ``c_value_scalar``,
``c_score_scalar`` in the module's ``__pyx_capi__``).  This module calls them
from Python through ``ctypes`` and registers Numba implementations
(``numba.extending.overload``) that call the same C functions, so the
jitclass methods of ``_penalties.py`` -- compiled only when a user datafit
runs in the generic kernel -- use them too.  Numba compiles nothing at
import.

Each built-in penalty has an integer code (the kernels branch on it).
Formulas: spec section 7.1 (recovery-algorithms.md); every closed form is
tested against grid minimisation in ``tests/convex/test_penalties.py``.
Convention: ``prox(v) = argmin_z (z - v)^2 / (2 step) + phi(z)`` where ``phi``
already contains ``alpha`` (and ``gamma``, the weight or the curvature ``a2``).
"""

import ctypes

import numpy as np
from numba.extending import get_cython_function_address, overload

L1, WL1, MCP, SCAD, L0, LHALF, LTWOTHIRDS, CEL0, ENET, USER = range(10)
CONVEX_CODES = (L1, WL1)  # the L1-type codes (the Gram kernels' gap)

_D, _I = ctypes.c_double, ctypes.c_int


def _cfunc(name, *argtypes):
    addr = get_cython_function_address("sparsecode._ext._convex", name)
    return ctypes.CFUNCTYPE(_D, *argtypes)(addr)


_c_prox = _cfunc("c_prox_scalar", _I, _D, _D, _D, _D, _D, _D, _I)
_c_value = _cfunc("c_value_scalar", _I, _D, _D, _D, _D, _D)
_c_score = _cfunc("c_score_scalar", _I, _D, _D, _D, _D, _D, _D, _D, _I)


def prox_scalar(code, x, step, alpha, gamma, wj, a2, positive):
    """``argmin_z (z - x)^2 / (2 step) + phi_code(z)`` (``z >= 0`` if ``positive``)."""
    return _c_prox(int(code), float(x), float(step), float(alpha), float(gamma), float(wj),
                   float(a2), int(bool(positive)))


def value_scalar(code, x, alpha, gamma, wj, a2):
    """``phi_code(x)`` (weight ``wj``, CEL0 curvature ``a2``)."""
    return _c_value(int(code), float(x), float(alpha), float(gamma), float(wj), float(a2))


def score_scalar(code, x, g, lip, alpha, gamma, wj, a2, positive):
    """Optimality score of one coordinate with partial gradient ``g``: the
    subdifferential distance (L1, weighted L1, elastic net), else the
    fixed-point residual ``lip |x - prox(x - g / lip, 1 / lip)|``."""
    return _c_score(int(code), float(x), float(g), float(lip), float(alpha), float(gamma),
                    float(wj), float(a2), int(bool(positive)))


@overload(prox_scalar)
def _prox_scalar_nb(code, x, step, alpha, gamma, wj, a2, positive):
    f = _c_prox

    def impl(code, x, step, alpha, gamma, wj, a2, positive):
        return f(np.int32(code), float(x), float(step), float(alpha), float(gamma),
                 float(wj), float(a2), np.int32(1 if positive else 0))
    return impl


@overload(value_scalar)
def _value_scalar_nb(code, x, alpha, gamma, wj, a2):
    f = _c_value

    def impl(code, x, alpha, gamma, wj, a2):
        return f(np.int32(code), float(x), float(alpha), float(gamma), float(wj), float(a2))
    return impl


@overload(score_scalar)
def _score_scalar_nb(code, x, g, lip, alpha, gamma, wj, a2, positive):
    f = _c_score

    def impl(code, x, g, lip, alpha, gamma, wj, a2, positive):
        return f(np.int32(code), float(x), float(g), float(lip), float(alpha), float(gamma),
                 float(wj), float(a2), np.int32(1 if positive else 0))
    return impl


# the single-penalty forms used by the penalties' ``value`` methods and tests
def mcp_value(x, alpha, gamma):
    """MCP value ``alpha |x| - x^2 / (2 gamma)`` below ``gamma alpha``, ``gamma alpha^2 / 2`` above."""
    return value_scalar(MCP, x, alpha, gamma, 1.0, 1.0)


def scad_value(x, alpha, gamma):
    """SCAD value (Fan & Li 2001)."""
    return value_scalar(SCAD, x, alpha, gamma, 1.0, 1.0)


def cel0_value(x, alpha, a2):
    """CEL0 value with curvature ``a2 = ||x_j||^2``."""
    return value_scalar(CEL0, x, alpha, 0.0, 1.0, a2)


def prox_mcp(x, step, alpha, gamma):
    """Proximal operator of MCP."""
    return prox_scalar(MCP, x, step, alpha, gamma, 1.0, 1.0, False)


def prox_lhalf(x, u):
    """Proximal operator of ``u |z|^(1/2)`` (Xu et al. 2012, closed form)."""
    return prox_scalar(LHALF, x, 1.0, u, 0.0, 1.0, 1.0, False)


def prox_ltwothirds(x, u):
    """Proximal operator of ``u |z|^(2/3)`` (closed form)."""
    return prox_scalar(LTWOTHIRDS, x, 1.0, u, 0.0, 1.0, 1.0, False)


@overload(mcp_value)
def _mcp_value_nb(x, alpha, gamma):
    f = _c_value

    def impl(x, alpha, gamma):
        return f(np.int32(2), float(x), float(alpha), float(gamma), 1.0, 1.0)
    return impl


@overload(scad_value)
def _scad_value_nb(x, alpha, gamma):
    f = _c_value

    def impl(x, alpha, gamma):
        return f(np.int32(3), float(x), float(alpha), float(gamma), 1.0, 1.0)
    return impl


@overload(cel0_value)
def _cel0_value_nb(x, alpha, a2):
    f = _c_value

    def impl(x, alpha, a2):
        return f(np.int32(7), float(x), float(alpha), 0.0, 1.0, float(a2))
    return impl
