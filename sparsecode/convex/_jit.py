"""Lazy, memoized compilation of datafits and penalties into Numba jitclasses.

The pattern is skglm's (``skglm/utils/jit_compilation.py``): datafits and
penalties are plain Python classes that describe their attributes with
``get_spec()`` and their constructor arguments with ``params_to_dict()``.
They are compiled to a jitclass only when a generic (user-extensible) solver
needs them, once per (class, spec, precision): importing sparsecode compiles
nothing.  A float32 twin is derived from the float64 spec.
"""

from functools import lru_cache

import numpy as np

__all__ = ["spec_to_float32", "compiled_clone"]


def spec_to_float32(spec):
    """Replace every float64 scalar or array type of a jitclass spec by float32."""
    from numba import float32, float64
    from numba.core.types.npytypes import Array

    out = []
    for name, dtype in spec:
        if dtype == float64:
            dtype = float32
        elif isinstance(dtype, Array) and dtype.dtype == float64:
            dtype = dtype.copy(dtype=float32)
        out.append((name, dtype))
    return tuple(out)


@lru_cache(maxsize=None)
def _jit_class(klass, spec, to_float32):
    from numba.experimental import jitclass

    if to_float32:
        spec = spec_to_float32(spec)
    # jitclass compiles methods and properties only: plain class attributes
    # (``is_convex = True`` declares convexity to the solvers) stay on the
    # Python class
    members = {k: v for k, v in vars(klass).items()
               if callable(v) or isinstance(v, property) or k == "__doc__"}
    members.pop("get_spec", None)
    members.pop("params_to_dict", None)
    shim = type(klass.__name__, (), members)
    shim.__module__ = klass.__module__
    shim.__qualname__ = klass.__qualname__
    return jitclass(list(spec))(shim)


def compiled_clone(instance, to_float32=False):
    """Compile ``instance`` (a datafit or penalty) to a jitclass instance.

    Parameters
    ----------
    instance : object
        An object with ``get_spec()`` and ``params_to_dict()``.
    to_float32 : bool, default=False
        Build the float32 twin.

    Returns
    -------
    jitted : jitclass instance
        Same attributes; the compiled class is memoized per spec.
    """
    params = instance.params_to_dict()
    dt = np.float32 if to_float32 else np.float64
    params = {k: (np.asarray(v, dtype=dt) if isinstance(v, np.ndarray) and v.dtype.kind == "f"
                  else (dt(v) if isinstance(v, float) else v)) for k, v in params.items()}
    return _jit_class(type(instance), tuple(instance.get_spec()), bool(to_float32))(**params)


# ---------------------------------------------------------------------------
# a user penalty as C callbacks for the compiled coordinate-descent kernel
# ---------------------------------------------------------------------------
def _flatten_params(params):
    """``params_to_dict()`` -> (float64 vector, field layout) for the callbacks.

    Scalars (float, int, bool) take one slot, 1-D arrays their length."""
    import numbers

    flat, layout = [], []
    for k, v in params.items():
        if isinstance(v, (bool, np.bool_)):
            layout.append((k, "b", len(flat), 1))
            flat.append(float(v))
        elif isinstance(v, numbers.Integral):
            layout.append((k, "i", len(flat), 1))
            flat.append(float(v))
        elif isinstance(v, numbers.Real):
            layout.append((k, "f", len(flat), 1))
            flat.append(float(v))
        elif isinstance(v, np.ndarray) and v.ndim == 1 and v.dtype.kind in "fiub":
            layout.append((k, "a", len(flat), v.size))
            flat.extend(np.asarray(v, dtype=np.float64).tolist())
        else:
            raise TypeError(f"parameter {k!r} of type {type(v).__name__}: the compiled "
                            f"callbacks take scalars and 1-D arrays")
    return np.array(flat + [0.0], dtype=np.float64), tuple(layout)


@lru_cache(maxsize=None)
def _callbacks(klass, layout):
    """C callbacks ``prox(x, step, j, params)`` and ``value(w, N, params)`` of a
    penalty class, compiled once per (class, parameter layout)."""
    from collections import namedtuple

    from numba import carray, cfunc, njit, types

    fields = [k for k, *_ in layout]
    Params = namedtuple(f"{klass.__name__}Params", fields)
    total = sum(size for *_, size in layout) + 1
    parts = []
    for _, kind, off, size in layout:
        if kind == "f":
            parts.append(f"a[{off}]")
        elif kind == "i":
            parts.append(f"np.int64(a[{off}])")
        elif kind == "b":
            parts.append(f"a[{off}] != 0.0")
        else:
            parts.append(f"a[{off}:{off + size}]")
    src = (f"def build(p):\n"
           f"    a = carray(p, ({total},))\n"
           f"    return Params({', '.join(parts)}{',' if len(parts) == 1 else ''})\n")
    ns = {"carray": carray, "Params": Params, "np": np}
    exec(src, ns)  # noqa: S102 - generated from the parameter names only
    build = njit(ns["build"])
    prox = njit(klass.prox_1d)
    value = njit(klass.value)

    @cfunc(types.float64(types.float64, types.float64, types.int64, types.CPointer(types.float64)))
    def c_prox(x, step, j, p):
        return prox(build(p), x, step, j)

    @cfunc(types.float64(types.CPointer(types.float64), types.int64,
                         types.CPointer(types.float64)))
    def c_value(wp, n, p):
        return value(build(p), carray(wp, (n,)))

    return c_prox, c_value


def penalty_callbacks(penalty):
    """Compile a user penalty's ``prox_1d`` and ``value`` to C callbacks.

    The methods are compiled as functions of a named tuple of the
    ``params_to_dict()`` values (attribute access reads the same), so any
    method body that Numba compiles and that reads only those attributes
    works; the compiled kernel calls them through function pointers.

    Returns
    -------
    (prox_address, value_address, params, keepalive)
        ``params`` is the float64 parameter vector to pass with the
        addresses; ``keepalive`` must outlive the kernel call.
    """
    params, layout = _flatten_params(penalty.params_to_dict())
    c_prox, c_value = _callbacks(type(penalty), layout)
    return c_prox.address, c_value.address, params, (c_prox, c_value)
