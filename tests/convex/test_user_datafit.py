"""User datafits on the compiled GLM coordinate descent through C callbacks.

A user datafit (``raw_grad``, ``value``, ``initialize``) with a built-in
penalty runs on the compiled working-set CD, its methods compiled to C
callbacks and cached on disk (Numba's cache and a native object file linked
by llvmlite alone in a later process); otherwise the jitclass kernel.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode.convex import L1, AndersonCD, Lasso, PenalizedRegression, Quadratic
from sparsecode.convex import _fit, _jit

from .test_object_cache import ObjL1, run_twice


class PseudoHuber(Quadratic):
    """``sum_i d^2 (sqrt(1 + (r_i / d)^2) - 1) / n``, r = y - Xw: smooth, curvature <= 1."""

    kind = "pseudo_huber"

    def __init__(self, delta=1.0):
        self.delta = delta
        self.lipschitz = np.zeros(0)

    def get_spec(self):
        from numba import float64

        return (("delta", float64), ("lipschitz", float64[:]))

    def params_to_dict(self):
        return dict(delta=self.delta)

    def value(self, y, w, Xw):
        r = (y - Xw) / self.delta
        return self.delta ** 2 * np.sum(np.sqrt(1.0 + r * r) - 1.0) / y.shape[0]

    def raw_grad(self, y, Xw):
        r = (y - Xw) / self.delta
        return -self.delta * r / np.sqrt(1.0 + r * r) / y.shape[0]

    def gradient_scalar(self, X, y, w, Xw, j):
        return X[:, j] @ self.raw_grad(y, Xw)


class HalfQuadratic(Quadratic):
    """``Quadratic`` with its own ``value``: a user datafit."""

    def value(self, y, w, Xw):
        return np.sum((y - Xw) ** 2) / (2.0 * y.shape[0])


def _problem(n=60, N=90, seed=0, outliers=True):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[:6] = rng.choice([-2.0, 2.0], 6)
    y = X @ w + 0.1 * rng.standard_normal(n)
    if outliers:
        y[:4] += 30.0
    return X, y


def _kkt(X, y, w, df, alpha):
    """Largest violation of the L1 optimality conditions (subgradient)."""
    g = X.T @ df.raw_grad(y, X @ w)
    viol = np.where(w != 0, np.abs(g + alpha * np.sign(w)), np.maximum(np.abs(g) - alpha, 0))
    return float(viol.max())


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSECODE_CACHE_DIR", str(tmp_path))
    _jit._CALLBACKS.clear()
    yield tmp_path
    _jit._CALLBACKS.clear()


def test_user_datafit_runs_on_the_compiled_kernel_and_meets_kkt(cache_dir):
    X, y = _problem()
    df = PseudoHuber(1.0)
    m = PenalizedRegression(df, L1(0.05), AndersonCD(tol=1e-10), fit_intercept=False).fit(X, y)
    key = (PseudoHuber, _jit._flatten_params(df.params_to_dict())[1], "datafit")
    assert _jit.callback_origin[key] == "compiled"
    assert m.kkt_violation_ <= 1e-8 * np.max(np.abs(X.T @ df.raw_grad(y, 0 * y)))
    assert _kkt(X, y, m.coef_, df, 0.05) <= 1e-7
    assert df.lipschitz.size == 0  # the user's object is not modified
    # the true support (first 6 features) is kept, and the four outliers pull
    # fewer false features in than they do into least squares
    lasso = Lasso(alpha=0.05, fit_intercept=False).fit(X, y)
    assert np.count_nonzero(m.coef_[:6]) == 6
    assert np.abs(m.coef_[6:]).sum() < np.abs(lasso.coef_[6:]).sum()


def test_callback_route_equals_jitclass_route(cache_dir, monkeypatch):
    X, y = _problem(seed=1)
    fast = PenalizedRegression(PseudoHuber(0.5), L1(0.05), AndersonCD(tol=1e-12),
                               fit_intercept=False).fit(X, y)
    monkeypatch.setattr(_fit, "_datafit_callbacks", lambda datafit: None)
    slow = PenalizedRegression(PseudoHuber(0.5), L1(0.05), AndersonCD(tol=1e-12),
                               fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(fast.coef_, slow.coef_, atol=1e-6)


def test_user_quadratic_equals_lasso_dense_sparse_and_float32(cache_dir):
    X, y = _problem(seed=2, outliers=False)
    ref = Lasso(alpha=0.05, fit_intercept=False, tol=1e-12).fit(X, y).coef_
    for Xin in (X, sp.csc_matrix(X), sp.csr_matrix(X), X.astype(np.float32)):
        m = PenalizedRegression(HalfQuadratic(), L1(0.05), AndersonCD(tol=1e-10),
                                fit_intercept=False).fit(Xin, y)
        atol = 1e-4 if getattr(Xin, "dtype", None) == np.float32 else 1e-6
        np.testing.assert_allclose(m.coef_, ref, atol=atol)


def test_datafit_without_compilable_callbacks_uses_the_jitclass_kernel(cache_dir):
    class ReadsLipschitz(PseudoHuber):  # reads an attribute outside params_to_dict
        def raw_grad(self, y, Xw):
            r = (y - Xw) / self.delta
            return -self.delta * r / np.sqrt(1.0 + r * r) / y.shape[0] + 0 * self.lipschitz[0]

    assert _jit.datafit_callbacks(ReadsLipschitz(1.0)) is None
    X, y = _problem(seed=3)
    m = PenalizedRegression(ReadsLipschitz(1.0), L1(0.05), AndersonCD(tol=1e-10),
                            fit_intercept=False).fit(X, y)
    assert _kkt(X, y, m.coef_, PseudoHuber(1.0), 0.05) <= 1e-7


def test_bad_lipschitz_from_initialize_is_an_error(cache_dir):
    class BadInit(PseudoHuber):
        def initialize(self, X, y):
            self.lipschitz = np.ones(3)

    X, y = _problem()
    with pytest.raises(ValueError, match="lipschitz"):
        PenalizedRegression(BadInit(), L1(0.05), fit_intercept=False).fit(X, y)


_DATAFITS = '''
import numpy as np
from sparsecode.convex import Quadratic


class LogCosh(Quadratic):
    """sum_i log(cosh(r_i)) / n: smooth, curvature <= 1."""

    def params_to_dict(self):
        return dict()

    def value(self, y, w, Xw):
        r = y - Xw
        a = np.abs(r)
        return np.sum(a + np.log1p(np.exp(-2.0 * a)) - np.log(2.0)) / y.shape[0]

    def raw_grad(self, y, Xw):
        return -np.tanh(y - Xw) / y.shape[0]
'''

_SCRIPT = '''
import json, time
import numpy as np
from numba.core.registry import cpu_target
from sparsecode.convex import L1, AndersonCD, PenalizedRegression, _jit
import user_datafits as ud

rng = np.random.default_rng(0)
X = rng.standard_normal((80, 120))
y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(80)
t = time.perf_counter()
m = PenalizedRegression(ud.LogCosh(), L1(0.02), AndersonCD(tol=1e-10),
                        fit_intercept=False).fit(X, y)
print(json.dumps({"coef": m.coef_.tolist(), "origin": sorted(_jit.callback_origin.values()),
                  "registries": len(cpu_target.target_context._registries),
                  "seconds": time.perf_counter() - t}))
'''


def test_second_process_links_the_datafit_without_numba_context(tmp_path):
    first, second = run_twice(tmp_path, "user_datafits", _DATAFITS, _SCRIPT, timeout=180)
    assert first["origin"] == ["compiled"] and second["origin"] == ["object"]
    assert first["registries"] > 0 and second["registries"] == 0
    assert second["coef"] == first["coef"]
    assert np.count_nonzero(second["coef"][:5]) == 5


# a user L1 penalty (compiled to callbacks: prox_1d and value), the one of
# the object-cache tests
UserL1 = ObjL1


@pytest.mark.parametrize("make", ["pseudo_huber", "huber", "logistic"])
def test_user_penalty_on_the_glm_kernel_equals_the_builtin(make, cache_dir, monkeypatch):
    from sparsecode.convex import Huber, Logistic

    X, y = _problem(seed=4)
    datafit = {"pseudo_huber": PseudoHuber(1.0), "huber": Huber(1.0), "logistic": Logistic()}[make]
    if make == "logistic":
        y = np.where(y > np.median(y), 1.0, -1.0)
    ref = PenalizedRegression(datafit, L1(0.02), AndersonCD(tol=1e-12),
                              fit_intercept=False).fit(X, y)
    monkeypatch.setattr(_fit, "solve_generic", None)  # the jitclass kernel must not run
    user = PenalizedRegression(datafit, UserL1(0.02), AndersonCD(tol=1e-12),
                               fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(user.coef_, ref.coef_, atol=1e-6)


def test_user_penalty_with_huber_and_an_intercept(cache_dir, monkeypatch):
    from sparsecode.convex import Huber

    X, y = _problem(seed=5)
    y = y + 3.0
    ref = PenalizedRegression(Huber(1.0), L1(0.02), AndersonCD(tol=1e-12)).fit(X, y)
    monkeypatch.setattr(_fit, "solve_generic", None)
    user = PenalizedRegression(Huber(1.0), UserL1(0.02), AndersonCD(tol=1e-12)).fit(X, y)
    np.testing.assert_allclose(user.coef_, ref.coef_, atol=1e-6)
    assert user.intercept_ == pytest.approx(ref.intercept_, abs=1e-6)


def test_sample_weights_with_a_user_datafit_keep_the_row_weighting(cache_dir):
    # the rows weighted by sqrt(sample_weight), as before: the same fit as the
    # duplicated rows for a quadratic user datafit
    X, y = _problem(seed=6, outliers=False)
    sw = np.ones(len(y))
    sw[:10] = 2.0
    m = PenalizedRegression(HalfQuadratic(), L1(0.05), AndersonCD(tol=1e-12),
                            fit_intercept=False).fit(X, y, sample_weight=sw)
    ref = Lasso(alpha=0.05, fit_intercept=False, tol=1e-12).fit(X, y, sample_weight=sw)
    np.testing.assert_allclose(m.coef_, ref.coef_, atol=1e-6)
