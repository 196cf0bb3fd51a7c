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
    return jitclass(list(spec))(klass)


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
