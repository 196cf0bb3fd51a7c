"""Proximal operators against grid minimisation; penalty validation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode import Lasso, PenalizedRegression, WeightedLasso
from sparsecode.convex import CEL0, L0, L1, MCP, SCAD, Lq, Quadratic, WeightedL1
from sparsecode.convex import _prox as P

GRID = np.linspace(-8, 8, 40_001)  # step 4e-4


def _phi(pen, t):
    if isinstance(pen, L1):
        return pen.alpha * np.abs(t)
    if isinstance(pen, MCP):
        a, g = pen.alpha, pen.gamma
        return np.where(np.abs(t) <= g * a, a * np.abs(t) - t ** 2 / (2 * g), g * a * a / 2)
    if isinstance(pen, SCAD):
        a, g = pen.alpha, pen.gamma
        at = np.abs(t)
        return np.where(at <= a, a * at, np.where(at <= g * a,
                        (2 * g * a * at - at ** 2 - a * a) / (2 * (g - 1)), a * a * (g + 1) / 2))
    if isinstance(pen, L0):
        return pen.alpha * (t != 0)
    if isinstance(pen, Lq):
        return pen.alpha * np.abs(t) ** pen.q
    if isinstance(pen, CEL0):
        a2 = pen.a2[0]
        thr = np.sqrt(2 * pen.alpha / a2)
        return np.where(np.abs(t) <= thr, pen.alpha - a2 / 2 * (np.abs(t) - thr) ** 2, pen.alpha)
    raise AssertionError


def _grid_prox(pen, v, step):
    obj = (GRID - v) ** 2 / (2 * step) + _phi(pen, GRID)
    k = np.argmin(obj)
    return GRID[k], obj[k]


PENALTIES = [L1(0.7), MCP(0.7, gamma=3.0), MCP(0.5, gamma=0.8), SCAD(0.6, gamma=3.7),
             SCAD(0.6, gamma=2.2), L0(0.8), Lq(0.9, q=0.5), Lq(0.9, q=2 / 3),
             CEL0(0.8, a2=np.array([0.7]))]


@pytest.mark.parametrize("pen", PENALTIES, ids=lambda p: f"{type(p).__name__}")
@pytest.mark.parametrize("step", [0.5, 1.0, 1.3])
def test_prox_matches_grid_minimisation(pen, step):
    # the closed forms of spec 7.1 must attain the grid minimum of the 1-D problem
    # prox = argmin: the closed form must do at least as well as the best grid
    # point (which is within ~1e-8 of the true minimum), i.e. be a minimiser
    for v in np.linspace(-5, 5, 27):
        z = pen.prox_1d(v, step, 0)
        zg, fg = _grid_prox(pen, v, step)
        fz = (z - v) ** 2 / (2 * step) + float(_phi(pen, np.array(z)))
        assert fz <= fg + 1e-9, (v, z, zg)


@settings(max_examples=30, deadline=None)
@given(v=st.floats(-20, 20), u=st.floats(0.01, 5))
def test_lq_thresholds_closed_form(v, u):
    # zero exactly below the closed-form thresholds, non-zero above (Xu 2012, Cao 2013)
    zh = P.prox_lhalf(v, u)
    assert (zh == 0) == (abs(v) <= 1.5 * u ** (2 / 3))
    z23 = P.prox_ltwothirds(v, u)
    assert (z23 == 0) == (abs(v) <= 2 * (2 * u / 3) ** 0.75)
    # first-order condition of the non-zero branch: z - v + u q sign(z)|z|^{q-1} = 0
    if zh != 0:
        assert abs(zh - v + u * 0.5 * np.sign(zh) * abs(zh) ** -0.5) < 1e-8 * max(1, abs(v))
    if z23 != 0:
        assert abs(z23 - v + u * (2 / 3) * np.sign(z23) * abs(z23) ** (-1 / 3)) < 1e-7 * max(
            1, abs(v))


def test_weighted_l1_zero_and_inf_weights():
    pen = WeightedL1(2.0, np.array([0.0, 1.0, np.inf]))
    assert pen.prox_1d(1.0, 1.0, 0) == 1.0  # unpenalised
    assert pen.prox_1d(3.0, 1.0, 1) == 1.0
    assert pen.prox_1d(100.0, 1.0, 2) == 0.0  # excluded
    assert pen.alpha_max(np.array([5.0, 3.0, 100.0])) == 3.0


def test_positive_prox_clips():
    for pen in [L1(0.1, positive=True), MCP(0.1, positive=True), L0(0.1, positive=True)]:
        assert pen.prox_1d(-3.0, 1.0, 0) == 0.0
        assert pen.prox_1d(3.0, 1.0, 0) > 0


@pytest.mark.parametrize("pen, match", [
    (L1(-1.0), "alpha of L1"), (MCP(0.1, gamma=0.5), "gamma of MCP"),
    (SCAD(0.1, gamma=1.5), "gamma of SCAD"), (Lq(0.1, q=0.3), "q of Lq"),
    (Lq(0.1, q=1.5), "q of Lq"), (WeightedL1(0.1, np.ones(3)), r"weights must have shape \(5,\)"),
    (WeightedL1(0.1, -np.ones(5)), "weights must be >= 0"),
])
def test_bad_penalty_parameters(pen, match):
    X, y = np.random.default_rng(0).standard_normal((10, 5)), np.ones(10)
    with pytest.raises(ValueError, match=match):
        PenalizedRegression(Quadratic(), pen).fit(X, y)


def test_bad_estimator_inputs():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((10, 5)), rng.standard_normal(10)
    with pytest.raises(ValueError, match="alpha"):
        Lasso(alpha=-1).fit(X, y)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        WeightedLasso(weights=[1, 1, -1, 1, 1]).fit(X, y)
    with pytest.raises(ValueError, match=r"weights must have shape \(5,\)"):
        WeightedLasso(weights=[1, 1]).fit(X, y)
    with pytest.raises(ValueError, match="X"):
        Lasso().fit(np.full((10, 5), np.nan), y)
    with pytest.raises(ValueError, match="sample_weight"):
        Lasso().fit(X, y, sample_weight=-np.ones(10))


def test_float32_twin_spec():
    # the float32 twin of a jitclass is derived from the float64 spec
    from numba import float32

    from sparsecode.convex._jit import spec_to_float32

    spec = dict(WeightedL1(0.1, np.ones(3)).get_spec())
    s32 = dict(spec_to_float32(tuple(spec.items())))
    assert s32["alpha"] == float32 and s32["weights"].dtype == float32
    assert s32["positive"] == spec["positive"]
