"""Lazy, memoized compilation of datafits and penalties into Numba jitclasses.

The pattern is skglm's (``skglm/utils/jit_compilation.py``): datafits and
penalties are plain Python classes that describe their attributes with
``get_spec()`` and their constructor arguments with ``params_to_dict()``.
They are compiled to a jitclass only when a generic (user-extensible) solver
needs them, once per (class, spec, precision): importing sparsecode compiles
nothing.  A float32 twin is derived from the float64 spec.

A user penalty is compiled instead to two C callbacks (``penalty_callbacks``:
its prox and value) that the compiled kernels call, and a user datafit to two
more (``datafit_callbacks``: its raw gradient and value, for the compiled
coordinate descent of the smooth datafits).  Their machine code is cached on
disk twice: by Numba (a generated module with ``cache=True`` functions) and as
a native object file beside it, which a new process links with llvmlite alone,
without initialising Numba's compiler context.  The jitclasses remain for
methods that do not compile as functions of their parameters.
"""

import threading
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
    # Python class.  Inherited members count: a user datafit may subclass a
    # built-in one and override a single method.
    members = {}
    for base in reversed(klass.__mro__[:-1]):  # (without ``object``)
        members.update({k: v for k, v in vars(base).items()
                        if callable(v) or isinstance(v, property) or k == "__doc__"})
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
_CFUNC_DF_GRAD = "types.void(types.CPointer(types.float64), types.CPointer(types.float64), " \
    "types.int64, types.CPointer(types.float64), types.CPointer(types.float64))"
_CFUNC_DF_VALUE = "types.float64(types.CPointer(types.float64), types.CPointer(types.float64), " \
    "types.int64, types.CPointer(types.float64), types.int64, types.CPointer(types.float64))"

# The two callbacks of each role: the class's methods, compiled as functions of
# the parameters' named tuple, and the C signatures the compiled kernels call:
# a penalty's prox(x, step, j, params) and value(w, N, params); a datafit's
# raw_grad(y, z, n, out, params) (writes d F / d z into out) and
# value(y, z, n, w, N, params).
_ROLES = {
    "penalty": (("prox_1d", "value"), (
        f"@_sc_cfunc({_CFUNC_PROX.replace('types.', '_sc_types.')}, cache=True)\n"
        "def _sc_cb0(x, step, j, p):\n"
        "    return _sc_m0(_sc_build(p), x, step, j)\n\n\n"
        f"@_sc_cfunc({_CFUNC_VALUE.replace('types.', '_sc_types.')}, cache=True)\n"
        "def _sc_cb1(wp, n, p):\n"
        "    return _sc_m1(_sc_build(p), _sc_carray(wp, (n,)))\n")),
    "datafit": (("raw_grad", "value"), (
        f"@_sc_cfunc({_CFUNC_DF_GRAD.replace('types.', '_sc_types.')}, cache=True)\n"
        "def _sc_cb0(yp, zp, n, op, p):\n"
        "    g = _sc_m0(_sc_build(p), _sc_carray(yp, (n,)), _sc_carray(zp, (n,)))\n"
        "    o = _sc_carray(op, (n,))\n"
        "    for i in range(n):\n"
        "        o[i] = g[i]\n\n\n"
        f"@_sc_cfunc({_CFUNC_DF_VALUE.replace('types.', '_sc_types.')}, cache=True)\n"
        "def _sc_cb1(yp, zp, n, wp, m, p):\n"
        "    return _sc_m1(_sc_build(p), _sc_carray(yp, (n,)), _sc_carray(wp, (m,)),\n"
        "                  _sc_carray(zp, (n,)))\n")),
}


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


def _globals_digest(klass, methods=("prox_1d", "value")):
    """The module-level functions (their sources) and scalar constants that
    the compiled methods read: part of the cache key, so that editing a
    helper or a constant gives a new module instead of stale machine code."""
    import inspect
    import numbers

    out = []
    for meth in (getattr(klass, m) for m in methods):
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


def _generated_module(klass, layout, role="penalty"):
    """``(source, module name, path)`` of the generated module holding the
    callbacks of ``klass`` (a penalty's or a datafit's, ``role``), or None when
    the class's sources are not available (classes defined interactively) or
    no cache directory is writable.  The name ends in a hash of the source, of
    the Numba version and of the globals the methods read."""
    import hashlib
    import os

    import numba

    methods, cfuncs = _ROLES[role]
    srcs = [_method_source(getattr(klass, m)) for m in methods]
    base = _cache_dir()
    if any(src is None for src in srcs) or base is None:
        return None
    fields = [k for k, *_ in layout]
    total = sum(size for *_, size in layout) + 1
    src = ("# generated by sparsecode.convex._jit: the " + " and ".join(methods) + " of "
           f"{klass.__module__}.{klass.__qualname__} as cached C callbacks\n"
           "import numpy as _sc_np\n"
           "from collections import namedtuple as _sc_namedtuple\n"
           "from numba import carray as _sc_carray, cfunc as _sc_cfunc, njit as _sc_njit\n"
           "from numba import types as _sc_types\n"
           "np = globals().get('np', _sc_np)\n"
           f"_ScParams = _sc_namedtuple('{klass.__name__}Params', {fields!r})\n\n\n"
           "@_sc_njit(cache=True)\n"
           "def _sc_build(p):\n" + _build_source(fields, layout, total) + "\n\n"
           + "\n\n".join(srcs) + "\n\n"
           + "".join(f"_sc_m{i} = _sc_njit(cache=True)({m})\n" for i, m in enumerate(methods))
           + "\n\n" + cfuncs)
    key = hashlib.sha256((src + numba.__version__ + _globals_digest(klass, methods)).encode()
                         ).hexdigest()[:20]
    name = f"sparsecode_{role}_{klass.__name__}_{key}"
    return src, name, os.path.join(base, name + ".py")


def _disk_cached_callbacks(klass, layout, generated=None, role="penalty"):
    """The two cfuncs of a generated module written to the cache directory, every
    function compiled with ``cache=True``: a second process loads the machine
    code from Numba's on-disk cache instead of compiling.  The module holds the
    sources of the role's two methods (a penalty's ``prox_1d`` and ``value``, a
    datafit's ``raw_grad`` and ``value``; its file name is a hash of them and of
    the parameter layout, so an edited method gets a new module); the globals
    of the user's module are visible to them.  Returns None when the
    sources are not available (classes defined interactively) or the cache
    directory is not writable."""
    import os
    import sys
    import types as pytypes

    if generated is None:
        generated = _generated_module(klass, layout, role)
    if generated is None:
        return None
    src, name, path = generated
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
        user_globals = getattr(getattr(klass, _ROLES[role][0][0]), "__globals__", {})
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
    return mod._sc_cb0, mod._sc_cb1


# ---------------------------------------------------------------------------
# the callbacks' machine code as a native object file, loaded by llvmlite alone
# ---------------------------------------------------------------------------
# Numba hands out a function from its own disk cache only after initialising
# its whole typing and target context (about 0.1-0.2 s).  The object file
# beside the generated module holds the finished callbacks' relocatable
# machine code; a later process links it with llvmlite's MCJIT (about 3 ms)
# without that context.  Any mismatch or failure falls back to Numba.
_OBJ_MAGIC = b"sparsecode-callbacks-object\x001\n"
_OBJ_LOCK = threading.RLock()
_ENGINES = []  # execution engines of the loaded objects: alive for the process
_SYMBOLS = []  # set once the runtime symbols are installed
#: (class, parameter layout) -> where its callbacks came from: "object" (the
#: native object file), "numba-cache" (Numba's disk cache; the object file is
#: then written from it), "compiled" (compiled in this process; the object
#: file written) or "memory" (no sources: compiled in memory, not cached)
callback_origin = {}
_CALLBACKS = {}


def _object_key(name):
    """What the object file must match: the generated module (its hash covers
    the sources, the globals they read and Numba's version), the CPU the code
    was generated for (Numba's ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES`` or the
    host's), llvmlite, Numba, the interpreter and the optimisation level."""
    import platform
    import sys

    import llvmlite
    import llvmlite.binding as ll
    import numba
    from numba.core import config

    cpu = config.CPU_NAME or ll.get_host_cpu_name()
    features = config.CPU_FEATURES
    if features is None:
        from numba.core.codegen import get_host_cpu_features

        features = get_host_cpu_features()
    return "|".join((name, cpu, features, "llvmlite " + llvmlite.__version__,
                     "numba " + numba.__version__, sys.implementation.cache_tag,
                     platform.machine(), f"opt {int(config.OPT)}"))


def _object_path(module_path, key):
    import hashlib

    return f"{module_path[:-3]}.{hashlib.sha256(key.encode()).hexdigest()[:16]}.o"


def _write_object(path, key, entries):
    """Write ``entries`` (``[(symbol, object bytes), ...]``, the last one
    ``("", pickled environments)``) with ``key`` in the header, atomically (a
    concurrent reader sees no file or a whole one)."""
    import hashlib
    import json
    import os

    header = json.dumps({"key": key,
                         "symbols": [s for s, _ in entries],
                         "sizes": [len(o) for _, o in entries],
                         "sha256": [hashlib.sha256(o).hexdigest() for _, o in entries]}
                        ).encode()
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as fh:
            fh.write(_OBJ_MAGIC + len(header).to_bytes(8, "little") + header)
            for _, obj in entries:
                fh.write(obj)
        os.replace(tmp, path)
    except OSError:
        try:
            os.remove(tmp)
        except OSError:
            pass


def _read_object(path, key):
    """``[(symbol, object bytes), ...]`` from ``path`` if it is whole and was
    written for ``key`` (header key, sizes and SHA-256 digests checked), else
    None."""
    import hashlib
    import json

    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    m = len(_OBJ_MAGIC)
    if data[:m] != _OBJ_MAGIC or len(data) < m + 8:
        return None
    hlen = int.from_bytes(data[m:m + 8], "little")
    header = json.loads(data[m + 8:m + 8 + hlen].decode())
    if header.get("key") != key:
        return None
    pos = m + 8 + hlen
    entries = []
    for sym, size, digest in zip(header["symbols"], header["sizes"], header["sha256"],
                                 strict=True):
        obj = data[pos:pos + size]
        if len(obj) != size or hashlib.sha256(obj).hexdigest() != digest:
            return None
        entries.append((sym, obj))
        pos += size
    return entries if pos == len(data) else None


def _elf_symbols(obj):
    """``(undefined, defined)`` global symbol names of a little-endian ELF64
    relocatable object, or None for any other format (the object path is then
    not used)."""
    import struct

    if obj[:4] != b"\x7fELF" or obj[4] != 2 or obj[5] != 1:
        return None
    shoff, = struct.unpack_from("<Q", obj, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", obj, 0x3A)
    sections = [struct.unpack_from("<IIQQQQIIQQ", obj, shoff + i * shentsize)
                for i in range(shnum)]
    undefined, defined = set(), set()
    for sh in sections:
        if sh[1] != 2:  # SHT_SYMTAB
            continue
        str_off = sections[sh[6]][4]
        for k in range(sh[5] // 24):
            st_name, st_info, _, st_shndx, _, _ = struct.unpack_from(
                "<IBBHQQ", obj, sh[4] + k * 24)
            if not st_name or (st_info >> 4) not in (1, 2):  # GLOBAL, WEAK only
                continue
            end = obj.index(b"\0", str_off + st_name)
            name = obj[str_off + st_name:end].decode()
            (undefined if st_shndx == 0 else defined).add(name)
    return undefined, defined


_ENV_PREFIX = "_ZN08NumbaEnv"


def _environments(entries, modname, known):
    """Numba's environments of the functions in the objects (their module
    names and constants, which boxing reads when an exception with run-time
    arguments is raised), as pickled bytes, from ``known`` (name ->
    environment) or Numba's live ones; None when one is not found.  Two kinds
    are rebuilt empty: the cfuncs' own (not kept by Numba; their bodies,
    generated here, only call the user's methods) and those of array
    expressions (``<dynamic>``: Numba never caches them, they box nothing)."""
    import pickle

    from numba.core.environment import lookup_environment

    own = {_ENV_PREFIX + sym[len("cfunc._ZN"):] for sym, _ in entries
           if sym.startswith("cfunc._ZN")}
    envs = {}
    for _, obj in entries:
        for name in _elf_symbols(obj)[1]:
            if not name.startswith(_ENV_PREFIX) or name in envs:
                continue
            env = known.get(name) or lookup_environment(name)
            if env is not None:
                envs[name] = (env.globals.get("__name__"), list(env.consts))
            elif name in own:
                envs[name] = (modname, [])
            elif name.startswith(_ENV_PREFIX + "13_3cdynamic_3e"):
                envs[name] = ("<dynamic>", [])
            else:
                return None
    return pickle.dumps(envs, protocol=4)


def _install_symbols():
    """The symbols Numba's generated code refers to, installed as Numba does
    (``numba.core.base._load_global_helpers`` and ``nrt.py``): its C helpers as
    ``numba_<name>``, the built-in exception classes as ``PyExc_<name>`` (the
    objects themselves), ``_Py_NoneStruct`` and the runtime's ``NRT_<name>``.
    The runtime's allocator is set when ``numba.core.runtime.nrt`` is imported."""
    if _SYMBOLS:
        return
    import builtins

    import llvmlite.binding as ll
    from numba import _dynfunc, _helperlib
    from numba.core.runtime import _nrt_python, nrt  # noqa: F401 - sets the allocator

    if hasattr(_nrt_python, "memsys_set_atomic_inc_dec"):
        # (older Numba: the runtime's atomics are compiled by Numba's context)
        raise RuntimeError("this Numba's runtime needs its compiler context")
    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    ll.add_symbol("_Py_NoneStruct", id(None))
    for helpers in (_helperlib.c_helpers, _dynfunc.c_helpers):
        for name, address in helpers.items():
            ll.add_symbol("numba_" + name, address)
    for obj in builtins.__dict__.values():
        if isinstance(obj, type) and issubclass(obj, BaseException):
            ll.add_symbol("PyExc_" + obj.__name__, id(obj))
    for name, address in _nrt_python.c_helpers.items():
        ll.add_symbol(name if name.startswith("_") else "NRT_" + name, address)
    _SYMBOLS.append(True)


def _load_object(entries, envs):
    """Link the objects with llvmlite's MCJIT and point their environment
    globals at rebuilt environments: ``(addresses, keepalive)``, or None when a
    symbol they need does not resolve or one they define is missing."""
    import ctypes
    import sys

    import llvmlite.binding as ll
    from numba.core.environment import Environment

    _install_symbols()
    env_names = set()
    for _, obj in entries:
        symbols = _elf_symbols(obj)
        if symbols is None or any(ll.address_of_symbol(s) is None for s in symbols[0]):
            return None
        env_names |= {s for s in symbols[1] if s.startswith(_ENV_PREFIX)}
    if not env_names <= set(envs):
        return None
    tm = ll.Target.from_default_triple().create_target_machine(codemodel="jitdefault",
                                                               jit=True)
    engine = ll.create_mcjit_compiler(ll.parse_assembly(""), tm)
    for _, obj in entries:
        engine.add_object_file(ll.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    addresses = [engine.get_function_address(sym) for sym, _ in entries]
    if not all(addresses):
        return None
    environments = []
    for name in sorted(env_names):
        address = engine.get_global_value_address(name)
        if not address:
            return None
        modname, consts = envs[name]
        mod = sys.modules.get(modname)
        env = Environment(mod.__dict__ if mod is not None else {"__name__": modname})
        env.consts[:] = consts
        env.env_name = name
        environments.append(env)
        ctypes.c_void_p.from_address(address).value = id(env)
    return addresses, (engine, environments)


def _compiled_objects(cfuncs, modname):
    """``[(symbol, object bytes), ..., ("", pickled environments)]`` of
    Numba-compiled cfuncs: the object Numba generated in this process, else
    the one in Numba's disk cache (read back through its index, with the
    environments saved there); None when neither or an environment is not
    available."""
    from numba.core.environment import Environment

    out = []
    known = {}

    def collect(x):
        if isinstance(x, Environment):
            known[x.env_name] = x
        elif isinstance(x, (tuple, list)):
            for y in x:
                collect(y)

    for cf in cfuncs:
        lib = cf._library
        try:
            obj = lib._get_compiled_object()
        except Exception:  # noqa: BLE001 - loaded from Numba's cache: read it there
            from numba.core.registry import cpu_target

            cache = cf._cache
            data = cache._cache_file.load(cache._index_key(cf._sig,
                                                           cpu_target.target_context.codegen()))
            name, kind, payload = data[0]
            if kind != "object":
                return None
            obj = payload[0]
            collect(data)
        if not isinstance(obj, bytes):
            return None
        out.append((cf.native_name, obj))
    envs = _environments(out, modname, known)
    return None if envs is None else out + [("", envs)]


def _from_object(generated):
    """The callbacks from the object file of the generated module, or None."""
    import pickle

    key = _object_key(generated[1])
    entries = _read_object(_object_path(generated[2], key), key)
    if (entries is None or len(entries) != 3 or entries[2][0] != ""
            or not all(generated[1] in sym for sym, _ in entries[:2])):
        return None
    envs = pickle.loads(entries[2][1])  # noqa: S301 - our file, checked against its digest
    loaded = _load_object(entries[:2], envs)
    if loaded is None:
        return None
    (prox, value), keepalive = loaded
    _ENGINES.append(keepalive)
    return prox, value, keepalive


def _callbacks(klass, layout, role="penalty"):
    """Addresses of the two C callbacks of a penalty or datafit class
    (``_ROLES``) and the object to keep alive with them, once per (class,
    parameter layout, role): from the native object file when the class's
    sources are available and the file matches, else from the disk-cached
    generated module (the object file is then written), else (penalties)
    compiled in memory; None for a datafit that does not compile."""
    k = (klass, layout) if role == "penalty" else (klass, layout, role)
    with _OBJ_LOCK:
        if k not in _CALLBACKS:
            _CALLBACKS[k] = _callbacks_uncached(klass, layout, role, k)
        return _CALLBACKS[k]


def _callbacks_uncached(klass, layout, role, k):
    try:
        generated = _generated_module(klass, layout, role)
    except Exception:  # noqa: BLE001 - the in-memory compilation below
        generated = None
    if generated is not None:
        try:
            out = _from_object(generated)
        except Exception:  # noqa: BLE001 - any failure: Numba's path
            out = None
        if out is not None:
            callback_origin[k] = "object"
            return out
        try:
            cfuncs = _disk_cached_callbacks(klass, layout, generated, role)
        except Exception:  # noqa: BLE001 - any failure: the in-memory compilation
            cfuncs = None
        if cfuncs is not None:
            c0, c1 = cfuncs
            hit = c0.cache_hits and c1.cache_hits
            callback_origin[k] = "numba-cache" if hit else "compiled"
            try:
                entries = _compiled_objects(cfuncs, generated[1])
                if entries is not None:
                    key = _object_key(generated[1])
                    _write_object(_object_path(generated[2], key), key, entries)
            except Exception:  # noqa: BLE001 - no object file: Numba's cache next time
                pass
            return c0.address, c1.address, cfuncs
    if role != "penalty":  # (a datafit without sources: its jitclass kernel instead)
        return None
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

    callback_origin[k] = "memory"
    return c_prox.address, c_value.address, (c_prox, c_value)


def penalty_callbacks(penalty):
    """Compile a user penalty's ``prox_1d`` and ``value`` to C callbacks.

    The methods are compiled as functions of a named tuple of the
    ``params_to_dict()`` values (attribute access reads the same), so any
    method body that Numba compiles and that reads only those attributes
    works; the compiled kernel calls them through function pointers.  The
    machine code is cached on disk (a generated module in
    ``$SPARSECODE_CACHE_DIR`` or ``~/.cache/sparsecode/penalties``, keyed by a
    hash of the two methods' sources and of the globals they read, with
    Numba's cache and a native object file ``<module>.<hash>.o`` beside it):
    a new process links the object file (a few milliseconds) instead of
    compiling (about a second) or loading Numba's cache (which first
    initialises Numba's compiler context, 0.1-0.2 s).  The object file is
    used only when it was written for this CPU, llvmlite, Numba and Python
    and is whole (SHA-256 checked); otherwise Numba's cache is used and the
    file rewritten.  Global values the methods read are frozen at their
    first compilation; a class without retrievable sources (defined
    interactively) is compiled in memory in each process.

    Returns
    -------
    (prox_address, value_address, params, keepalive)
        ``params`` is the float64 parameter vector to pass with the
        addresses; ``keepalive`` must outlive the kernel call.

    Examples
    --------
    >>> import ctypes
    >>> import numpy as np
    >>> from sparsecode.convex._jit import penalty_callbacks
    >>> class HalfL1:
    ...     def __init__(self, alpha):
    ...         self.alpha = alpha
    ...     def params_to_dict(self):
    ...         return dict(alpha=self.alpha)
    ...     def value(self, w):
    ...         return 0.5 * self.alpha * np.sum(np.abs(w))
    ...     def prox_1d(self, value, stepsize, j):
    ...         return np.sign(value) * max(abs(value) - 0.5 * stepsize * self.alpha, 0.0)
    >>> prox, value, params, keepalive = penalty_callbacks(HalfL1(2.0))
    >>> dptr = ctypes.POINTER(ctypes.c_double)
    >>> c_prox = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double,
    ...                           ctypes.c_int64, dptr)(prox)
    >>> c_prox(3.0, 1.0, 0, params.ctypes.data_as(dptr))
    2.0
    >>> c_value = ctypes.CFUNCTYPE(ctypes.c_double, dptr, ctypes.c_int64, dptr)(value)
    >>> w = np.array([1.0, -2.0])
    >>> c_value(w.ctypes.data_as(dptr), 2, params.ctypes.data_as(dptr))
    3.0
    """
    params, layout = _flatten_params(penalty.params_to_dict())
    prox, value, keepalive = _callbacks(type(penalty), layout)
    return prox, value, params, keepalive


def datafit_callbacks(datafit):
    """Compile a user datafit's ``raw_grad`` and ``value`` to C callbacks, or None.

    As :func:`penalty_callbacks`: the methods are compiled as functions of a
    named tuple of the ``params_to_dict()`` values, cached on disk (Numba's
    cache and a native object file linked by llvmlite alone in a later
    process).  The compiled GLM coordinate descent calls ``raw_grad(y, z, n,
    out, params)`` (writes ``d F / d z`` into ``out``) and ``value(y, z, n, w,
    n_features, params)``.  None when the class's sources are not available
    (defined interactively) or the methods do not compile that way (they read
    attributes other than the parameters, for instance): the datafit then runs
    on the jitclass kernel, compiled in each process.

    Returns
    -------
    (grad_address, value_address, params, keepalive) or None

    Examples
    --------
    >>> import ctypes
    >>> import numpy as np
    >>> from sparsecode.convex import Quadratic
    >>> from sparsecode.convex._jit import datafit_callbacks
    >>> class Scaled(Quadratic):
    ...     def __init__(self, scale=2.0):
    ...         self.scale = scale
    ...     def params_to_dict(self):
    ...         return dict(scale=self.scale)
    ...     def raw_grad(self, y, Xw):
    ...         return self.scale * (Xw - y) / y.shape[0]
    ...     def value(self, y, w, Xw):
    ...         return self.scale * np.sum((y - Xw) ** 2) / (2.0 * y.shape[0])
    >>> grad, value, params, keepalive = datafit_callbacks(Scaled())
    >>> dptr = ctypes.POINTER(ctypes.c_double)
    >>> c_grad = ctypes.CFUNCTYPE(None, dptr, dptr, ctypes.c_int64, dptr, dptr)(grad)
    >>> y, z, out = np.array([1.0, 3.0]), np.zeros(2), np.empty(2)
    >>> c_grad(y.ctypes.data_as(dptr), z.ctypes.data_as(dptr), 2, out.ctypes.data_as(dptr),
    ...        params.ctypes.data_as(dptr))
    >>> out
    array([-1., -3.])
    """
    try:
        params, layout = _flatten_params(datafit.params_to_dict())
    except TypeError:
        return None
    out = _callbacks(type(datafit), layout, "datafit")
    if out is None:
        return None
    grad, value, keepalive = out
    return grad, value, params, keepalive
