"""User-penalty callbacks linked from the native object file (no Numba context).

A first process compiles a user penalty and writes the object file beside the
generated module; a later process links it with llvmlite alone.  The linked
callbacks must be the compiled ones (same values, same NaNs, same exceptions),
and any damaged or foreign file must fall back to Numba's cache.
"""

import ctypes
import json
import os
import subprocess
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

from sparsecode.convex import L1, AndersonCD, PenalizedRegression, Quadratic
from sparsecode.convex import _jit

PROX_T = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double, ctypes.c_int64,
                          ctypes.POINTER(ctypes.c_double))
VALUE_T = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.POINTER(ctypes.c_double), ctypes.c_int64,
                           ctypes.POINTER(ctypes.c_double))
DPTR = ctypes.POINTER(ctypes.c_double)


class ObjL1:
    """A user L1 penalty; ``value`` makes array temporaries (NRT allocations)."""

    is_convex = True

    def __init__(self, alpha):
        self.alpha = alpha

    def params_to_dict(self):
        return dict(alpha=self.alpha)

    def value(self, w):
        return self.alpha * np.sum(np.abs(w))

    def prox_1d(self, value, stepsize, j):
        return np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)


class NaNProxL1(ObjL1):
    def prox_1d(self, value, stepsize, j):
        if j == 3:
            return np.nan
        return np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)


class RaisingProxL1(ObjL1):
    def prox_1d(self, value, stepsize, j):
        if j == 3:
            raise ValueError("prox_1d refuses feature 3")
        return np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARSECODE_CACHE_DIR", str(tmp_path))
    _jit._CALLBACKS.clear()
    yield tmp_path
    _jit._CALLBACKS.clear()


def _new_process(klass):
    """Forget the callbacks of ``klass`` as a new process would not have them."""
    _jit._CALLBACKS.clear()
    for name in [m for m in sys.modules if m.startswith(f"sparsecode_penalty_{klass.__name__}_")]:
        del sys.modules[name]


def _origin(pen):
    layout = _jit._flatten_params(pen.params_to_dict())[1]
    return _jit.callback_origin[(type(pen), layout)]


def _object_file(pen):
    layout = _jit._flatten_params(pen.params_to_dict())[1]
    _, name, path = _jit._generated_module(type(pen), layout)
    key = _jit._object_key(name)
    return _jit._object_path(path, key), key


def _data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 60))
    return X, X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(40)


def _prox_values(addr, params):
    f = PROX_T(addr)
    p = params.ctypes.data_as(DPTR)
    return np.array([f(x, s, j, p) for x in (-2.5, -0.05, 0.0, 0.3, 4.0)
                     for s in (0.5, 2.0) for j in (0, 3)])


def _run_fit(pen):
    X, y = _data()
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        m = PenalizedRegression(Quadratic(), pen, AndersonCD(tol=1e-10, max_iter=8),
                                fit_intercept=False).fit(X, y)
    return m.coef_, sorted({type(w.message).__name__ for w in rec})


def test_object_file_written_then_linked(cache_dir):
    pen = ObjL1(0.1)
    prox_c, value_c, params, _ = _jit.penalty_callbacks(pen)
    assert _origin(pen) == "compiled"
    path, key = _object_file(pen)
    assert os.path.exists(path) and _jit._read_object(path, key) is not None
    ref_prox = _prox_values(prox_c, params)
    _new_process(ObjL1)
    prox_o, value_o, params, keep = _jit.penalty_callbacks(pen)
    assert _origin(pen) == "object"
    assert prox_o != prox_c
    np.testing.assert_array_equal(_prox_values(prox_o, params), ref_prox)
    # value with array temporaries: the right sum, every allocation freed
    from numba.core.runtime import _nrt_python

    w = np.random.default_rng(1).standard_normal(1000)
    f = VALUE_T(value_o)
    was_on = _nrt_python.memsys_stats_enabled()
    _nrt_python.memsys_enable_stats()
    try:
        a0, f0 = _nrt_python.memsys_get_stats_alloc(), _nrt_python.memsys_get_stats_free()
        vals = [f(w.ctypes.data_as(DPTR), w.size, params.ctypes.data_as(DPTR)) for _ in range(50)]
        a1, f1 = _nrt_python.memsys_get_stats_alloc(), _nrt_python.memsys_get_stats_free()
    finally:
        if not was_on:
            _nrt_python.memsys_disable_stats()
    assert a1 - a0 >= 50 and a1 - a0 == f1 - f0
    np.testing.assert_allclose(vals, 0.1 * np.abs(w).sum(), rtol=1e-13)
    # and the fit with the linked callbacks is the built-in L1's
    X, y = _data()
    mu = PenalizedRegression(Quadratic(), pen, AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    mb = PenalizedRegression(Quadratic(), L1(0.1), AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(mu.coef_, mb.coef_, atol=1e-9)


def _truncate(path, key):
    data = open(path, "rb").read()
    open(path, "wb").write(data[:len(data) // 2])


def _flip_last_object_byte(path, key):
    entries = _jit._read_object(path, key)
    data = bytearray(open(path, "rb").read())
    data[-len(entries[-1][1]) - 10] ^= 0xFF  # inside the value callback's object
    open(path, "wb").write(bytes(data))


def _garbage(path, key):
    open(path, "wb").write(b"not an object file\n")


def _other_key(path, key):
    _jit._write_object(path, key.replace("numba ", "numba 0.0.0+"), _jit._read_object(path, key))


def _missing_symbol(path, key):
    entries = _jit._read_object(path, key)
    _jit._write_object(path, key, [("cfunc.no_such_symbol_" + entries[0][0], entries[0][1])]
                       + entries[1:])


@pytest.mark.parametrize("damage", [_truncate, _flip_last_object_byte, _garbage, _other_key,
                                    _missing_symbol])
def test_damaged_object_file_falls_back_and_is_rewritten(cache_dir, damage):
    pen = ObjL1(0.05)
    _jit.penalty_callbacks(pen)
    path, key = _object_file(pen)
    damage(path, key)
    _new_process(ObjL1)
    coef, _ = _run_fit(pen)
    assert _origin(pen) == "numba-cache"
    X, y = _data()
    mb = PenalizedRegression(Quadratic(), L1(0.05), AndersonCD(tol=1e-10),
                             fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(coef, mb.coef_, atol=1e-8)
    # the file was rewritten from Numba's cache: the next process links it
    assert _jit._read_object(path, key) is not None
    _new_process(ObjL1)
    _jit.penalty_callbacks(pen)
    assert _origin(pen) == "object"


def test_foreign_cpu_key_is_not_loaded(cache_dir, monkeypatch):
    pen = ObjL1(0.05)
    _jit.penalty_callbacks(pen)
    path, key = _object_file(pen)
    from numba.core import config

    # another CPU name: another file name and key, so a miss (Numba's cache)
    monkeypatch.setattr(config, "CPU_NAME", "generic")
    path2, key2 = _object_file(pen)
    assert path2 != path and key2 != key
    _new_process(ObjL1)
    _jit.penalty_callbacks(pen)
    assert _origin(pen) != "object"


@pytest.mark.parametrize("klass", [NaNProxL1, RaisingProxL1])
def test_nan_or_raising_prox_as_compiled(cache_dir, klass, monkeypatch):
    caught = []
    monkeypatch.setattr(sys, "unraisablehook",
                        lambda u: caught.append(f"{type(u.exc_value).__name__}: {u.exc_value}"))
    pen = klass(0.05)
    prox_c, _, params, _ = _jit.penalty_callbacks(pen)
    assert _origin(pen) == "compiled"
    ref = _prox_values(prox_c, params)
    ref_fit = _run_fit(pen)
    n_compiled = len(caught)
    _new_process(klass)
    prox_o, _, params, _ = _jit.penalty_callbacks(pen)
    assert _origin(pen) == "object"
    np.testing.assert_array_equal(_prox_values(prox_o, params), ref)  # NaN where it was
    coef, warns = _run_fit(pen)
    np.testing.assert_array_equal(coef, ref_fit[0])
    assert warns == ref_fit[1]
    assert caught[n_compiled:] == caught[:n_compiled]
    if klass is RaisingProxL1:
        assert caught and set(caught) == {"ValueError: prox_1d refuses feature 3"}
    else:
        assert not caught and np.isnan(ref).any()


def test_concurrent_first_calls_link_once(cache_dir):
    pen = ObjL1(0.2)
    _jit.penalty_callbacks(pen)
    _new_process(ObjL1)
    n_engines = len(_jit._ENGINES)
    out = []
    threads = [threading.Thread(target=lambda: out.append(_jit.penalty_callbacks(pen)[:2]))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(out)) == 1 and len(_jit._ENGINES) == n_engines + 1


_PENALTIES = '''
import numpy as np


class BoxL1:
    is_convex = True

    def __init__(self, alpha, c):
        self.alpha, self.c = alpha, c

    def params_to_dict(self):
        return dict(alpha=self.alpha, c=self.c)

    def value(self, w):
        return self.alpha * np.sum(np.abs(w))

    def prox_1d(self, value, stepsize, j):
        z = np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)
        return min(max(z, -self.c), self.c)


class LoudValueL1(BoxL1):
    def value(self, w):
        s = np.sum(np.abs(w))
        if s > 0.5:
            raise ValueError("value refuses", s)
        return self.alpha * s
'''

_SCRIPT = '''
import json, sys, warnings
import numpy as np
from numba.core.registry import cpu_target
from sparsecode.convex import AndersonCD, PenalizedRegression, Quadratic, _jit
import user_penalties as up

caught = []
sys.unraisablehook = lambda u: caught.append(f"{type(u.exc_value).__name__}: {u.exc_value}")
rng = np.random.default_rng(0)
X = rng.standard_normal((40, 60))
y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(40)
box = PenalizedRegression(Quadratic(), up.BoxL1(0.1, 1.0), AndersonCD(tol=1e-8)).fit(X, y)
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    loud = PenalizedRegression(Quadratic(), up.LoudValueL1(0.05, 10.0),
                               AndersonCD(max_iter=5)).fit(X, y)
print(json.dumps({"box": box.coef_.tolist(), "loud": loud.coef_.tolist(), "caught": caught,
                  "origin": sorted(_jit.callback_origin.values()),
                  "registries": len(cpu_target.target_context._registries)}))
'''


def run_twice(tmp_path, module, source, script, timeout=120):
    """Run ``script`` (with ``module``.py holding ``source`` importable) in
    two fresh processes sharing one cache directory; the last JSON line each
    printed."""
    (tmp_path / f"{module}.py").write_text(source)
    (tmp_path / "run.py").write_text(textwrap.dedent(script))
    env = dict(os.environ, SPARSECODE_CACHE_DIR=str(tmp_path / "cache"),
               PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path),
               OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    runs = []
    for _ in range(2):
        r = subprocess.run([sys.executable, str(tmp_path / "run.py")], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, r.stderr
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    return runs


def test_second_process_links_without_numba_context(tmp_path):
    first, second = run_twice(tmp_path, "user_penalties", _PENALTIES, _SCRIPT)
    assert first["origin"] == ["compiled", "compiled"]
    assert second["origin"] == ["object", "object"]
    # Numba's typing and target registries were never loaded in the second process
    assert first["registries"] > 0 and second["registries"] == 0
    assert second["box"] == first["box"] and second["loud"] == first["loud"]
    # the exception raised in value (run-time arguments: boxed through the
    # function's environment) is reported the same way, and the fit goes on
    assert first["caught"] and second["caught"] == first["caught"]
    assert all(c.startswith("ValueError: ('value refuses'") for c in first["caught"])
