"""User penalties: compiled callbacks cached on disk (a second process loads them)."""

import sys

import numpy as np

from sparsecode.convex import AndersonCD, L1, PenalizedRegression, Quadratic
from sparsecode.convex import _jit


class CachedL1:
    """A user L1 penalty (its sources are in this file, so it is disk-cached)."""

    is_convex = True

    def __init__(self, alpha):
        self.alpha = alpha

    def params_to_dict(self):
        return dict(alpha=self.alpha)

    def value(self, w):
        return self.alpha * np.sum(np.abs(w))

    def prox_1d(self, value, stepsize, j):
        t = stepsize * self.alpha
        if value > t:
            return value - t
        if value < -t:
            return value + t
        return 0.0


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 60))
    return X, X[:, :3] @ np.ones(3) + 0.1 * rng.standard_normal(40)


def test_callbacks_reloaded_from_the_disk_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSECODE_CACHE_DIR", str(tmp_path))
    _jit._CALLBACKS.clear()
    layout = _jit._flatten_params(CachedL1(0.1).params_to_dict())[1]
    c_prox, _ = _jit._disk_cached_callbacks(CachedL1, layout)
    files = sorted(p.name for p in tmp_path.glob("*.py"))
    assert len(files) == 1 and files[0].startswith("sparsecode_penalty_CachedL1_")
    assert list((tmp_path / "__pycache__").glob("*.nbi"))  # Numba's cache index
    # a new process: the generated module is executed again and its cfuncs
    # come from the on-disk machine code, not from a compilation
    for name in [m for m in sys.modules if m.startswith("sparsecode_penalty_CachedL1_")]:
        del sys.modules[name]
    c_prox2, c_value2 = _jit._disk_cached_callbacks(CachedL1, layout)
    assert c_prox2 is not c_prox
    assert c_prox2.cache_hits == 1 and c_value2.cache_hits == 1
    _jit._CALLBACKS.clear()
    # and the fit with it equals the built-in L1's
    X, y = _data()
    a = 0.05
    mu = PenalizedRegression(Quadratic(), CachedL1(a), AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    mb = PenalizedRegression(Quadratic(), L1(a), AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(mu.coef_, mb.coef_, atol=1e-9)
    _jit._CALLBACKS.clear()


def test_class_without_sources_compiled_in_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSECODE_CACHE_DIR", str(tmp_path))
    ns = {"np": np}
    exec(  # noqa: S102 - a class whose source inspect cannot retrieve
        "class ExecL1:\n"
        "    is_convex = True\n"
        "    def __init__(self, alpha):\n"
        "        self.alpha = alpha\n"
        "    def params_to_dict(self):\n"
        "        return dict(alpha=self.alpha)\n"
        "    def value(self, w):\n"
        "        return self.alpha * np.sum(np.abs(w))\n"
        "    def prox_1d(self, value, stepsize, j):\n"
        "        t = stepsize * self.alpha\n"
        "        return value - t if value > t else (value + t if value < -t else 0.0)\n", ns)
    layout = _jit._flatten_params({"alpha": 0.1})[1]
    assert _jit._disk_cached_callbacks(ns["ExecL1"], layout) is None
    X, y = _data()
    m = PenalizedRegression(Quadratic(), ns["ExecL1"](0.05), AndersonCD(tol=1e-10),
                            fit_intercept=False).fit(X, y)
    mb = PenalizedRegression(Quadratic(), L1(0.05), AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(m.coef_, mb.coef_, atol=1e-9)
    assert not list(tmp_path.glob("*.py"))


_SCALE = 1.0


def _shrink(value, t):
    return max(abs(value) - t, 0.0) * (1.0 if value > 0 else -1.0)


class ScaledL1(CachedL1):
    def prox_1d(self, value, stepsize, j):
        return _shrink(value, _SCALE * stepsize * self.alpha)


def test_cache_key_follows_the_globals_read(monkeypatch):
    d0 = _jit._globals_digest(ScaledL1)
    assert "_SCALE=1.0" in d0 and "def _shrink" in d0
    monkeypatch.setattr(sys.modules[__name__], "_SCALE", 2.0)
    assert _jit._globals_digest(ScaledL1) != d0


class HalfQuadratic(Quadratic):
    """A user datafit overriding one method of a built-in one."""

    def value(self, y, w, Xw):
        return np.sum((y - Xw) ** 2) / (4.0 * y.shape[0])


def test_compiled_clone_keeps_inherited_methods():
    # the jitclass is built from the whole class hierarchy: the inherited
    # __init__ and gradients, the overridden value
    jc = _jit._jit_class(HalfQuadratic, tuple(HalfQuadratic().get_spec()), False)
    methods = jc.class_type.methods
    assert {"__init__", "initialize", "raw_grad", "gradient_scalar"} <= set(methods)
    assert methods["value"] is HalfQuadratic.value
    X, y = _data()
    w = np.zeros(X.shape[1])
    w[:3] = 1.0
    Xw = X @ w
    np.testing.assert_allclose(_jit.compiled_clone(HalfQuadratic()).value(y, w, Xw),
                               np.sum((y - Xw) ** 2) / (4 * X.shape[0]), rtol=1e-14)
