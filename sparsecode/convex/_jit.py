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


def _cache_dir():
    """Directory of the generated, disk-cached penalty modules (created on use):
    ``$SPARSECODE_CACHE_DIR``, else ``~/.cache/sparsecode/penalties``, else the
    temporary directory."""
    import os
    import tempfile

    for base in (os.environ.get("SPARSECODE_CACHE_DIR"),
                 os.path.join(os.path.expanduser("~"), ".cache", "sparsecode", "penalties"),
                 os.path.join(tempfile.gettempdir(), "sparsecode-penalties")):
        if not base:
            continue
        try:
            os.makedirs(base, exist_ok=True)
            if os.access(base, os.W_OK):
                return base
        except OSError:
            continue
    return None


def _method_source(func):
    """The dedented source of a method, decorators removed (None if unavailable)."""
    import inspect
    import textwrap

    try:
        src = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    lines = src.splitlines()
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)
    if not lines or not lines[0].startswith("def "):
        return None
    return "\n".join(lines) + "\n"


_CFUNC_PROX = "types.float64(types.float64, types.float64, types.int64, " \
    "types.CPointer(types.float64))"
_CFUNC_VALUE = "types.float64(types.CPointer(types.float64), types.int64, " \
    "types.CPointer(types.float64))"


def _param_parts(layout):
    """Source expressions reading each parameter from the packed array ``a``."""
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
    return parts


def _build_source(fields, layout, total):
    parts = _param_parts(layout)
    return (f"    a = _sc_carray(p, ({total},))\n"
            f"    return _ScParams({', '.join(parts)}{',' if len(parts) == 1 else ''})\n")


def _globals_digest(klass):
    """The module-level functions (their sources) and scalar constants that
    ``prox_1d`` and ``value`` read: part of the cache key, so that editing a
    helper or a constant gives a new module instead of stale machine code."""
    import inspect
    import numbers

    out = []
    for meth in (klass.prox_1d, klass.value):
        g = getattr(meth, "__globals__", {})
        for name in sorted(set(meth.__code__.co_names)):
            v = g.get(name)
            f = getattr(v, "py_func", v)  # a Numba dispatcher: its Python function
            if inspect.isfunction(f):
                try:
                    out.append(inspect.getsource(f))
                except (OSError, TypeError):
                    out.append(repr(f.__code__.co_code))
            elif isinstance(v, (numbers.Number, str, bytes)):
                out.append(f"{name}={v!r}")
    return "\n".join(out)


def _disk_cached_callbacks(klass, layout):
    """The callbacks from a generated module written to the cache directory, every
    function compiled with ``cache=True``: a second process loads the machine
    code from Numba's on-disk cache instead of compiling.  The module holds the
    class's ``prox_1d`` and ``value`` sources (its file name is a hash of them
    and of the parameter layout, so an edited method gets a new module); the
    globals of the user's module are visible to them.  Returns None when the
    sources are not available (classes defined interactively) or the cache
    directory is not writable."""
    import hashlib
    import os
    import sys
    import types as pytypes

    import numba

    prox_src = _method_source(klass.prox_1d)
    value_src = _method_source(klass.value)
    base = _cache_dir()
    if prox_src is None or value_src is None or base is None:
        return None
    fields = [k for k, *_ in layout]
    total = sum(size for *_, size in layout) + 1
    src = ("# generated by sparsecode.convex._jit: the prox_1d and value of "
           f"{klass.__module__}.{klass.__qualname__} as cached C callbacks\n"
           "import numpy as _sc_np\n"
           "from collections import namedtuple as _sc_namedtuple\n"
           "from numba import carray as _sc_carray, cfunc as _sc_cfunc, njit as _sc_njit\n"
           "from numba import types as _sc_types\n"
           "np = globals().get('np', _sc_np)\n"
           f"_ScParams = _sc_namedtuple('{klass.__name__}Params', {fields!r})\n\n\n"
           "@_sc_njit(cache=True)\n"
           "def _sc_build(p):\n" + _build_source(fields, layout, total) + "\n\n"
           + prox_src + "\n\n" + value_src + "\n\n"
           "_sc_prox = _sc_njit(cache=True)(prox_1d)\n"
           "_sc_value = _sc_njit(cache=True)(value)\n\n\n"
           f"@_sc_cfunc({_CFUNC_PROX.replace('types.', '_sc_types.')}, cache=True)\n"
           "def _sc_c_prox(x, step, j, p):\n"
           "    return _sc_prox(_sc_build(p), x, step, j)\n\n\n"
           f"@_sc_cfunc({_CFUNC_VALUE.replace('types.', '_sc_types.')}, cache=True)\n"
           "def _sc_c_value(wp, n, p):\n"
           "    return _sc_value(_sc_build(p), _sc_carray(wp, (n,)))\n")
    key = hashlib.sha256((src + numba.__version__ + _globals_digest(klass)).encode()
                         ).hexdigest()[:20]
    name = f"sparsecode_penalty_{klass.__name__}_{key}"
    path = os.path.join(base, name + ".py")
    try:
        if not os.path.exists(path):
            tmp = f"{path}.{os.getpid()}.tmp"
            with open(tmp, "w") as fh:
                fh.write(src)
            os.replace(tmp, path)  # atomic: concurrent processes see a whole file
    except OSError:
        return None
    mod = sys.modules.get(name)
    if mod is None:
        mod = pytypes.ModuleType(name)
        mod.__file__ = path
        user_globals = getattr(klass.prox_1d, "__globals__", {})
        mod.__dict__.update({k: v for k, v in user_globals.items()
                             if not k.startswith("__")})
        sys.modules[name] = mod  # (the cache's pickles name the Params type by module)
        try:
            with open(path) as fh:
                code = compile(fh.read(), path, "exec")
            exec(code, mod.__dict__)  # noqa: S102 - the generated file above
        except Exception:
            del sys.modules[name]
            raise
    return mod._sc_c_prox, mod._sc_c_value


@lru_cache(maxsize=None)
def _callbacks(klass, layout):
    """C callbacks ``prox(x, step, j, params)`` and ``value(w, N, params)`` of a
    penalty class, compiled once per (class, parameter layout): from the
    disk-cached generated module when the class's sources are available, else
    compiled in memory."""
    try:
        out = _disk_cached_callbacks(klass, layout)
    except Exception:  # noqa: BLE001 - any failure: the in-memory compilation
        out = None
    if out is not None:
        return out
    from collections import namedtuple

    from numba import carray, cfunc, njit, types

    fields = [k for k, *_ in layout]
    Params = namedtuple(f"{klass.__name__}Params", fields)
    total = sum(size for *_, size in layout) + 1
    parts = _param_parts(layout)
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
    works; the compiled kernel calls them through function pointers.  The
    machine code is cached on disk (a generated module in
    ``$SPARSECODE_CACHE_DIR`` or ``~/.cache/sparsecode/penalties``, keyed by a
    hash of the two methods' sources): a new process loads it instead of
    compiling.  Global values the methods read are frozen at their first
    compilation; a class without retrievable sources (defined
    interactively) is compiled in memory in each process.

    Returns
    -------
    (prox_address, value_address, params, keepalive)
        ``params`` is the float64 parameter vector to pass with the
        addresses; ``keepalive`` must outlive the kernel call.
    """
    params, layout = _flatten_params(penalty.params_to_dict())
    c_prox, c_value = _callbacks(type(penalty), layout)
    return c_prox.address, c_value.address, params, (c_prox, c_value)
