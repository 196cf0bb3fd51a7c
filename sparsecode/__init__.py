"""sparsecode: classical sparse coding and sparse recovery.

Every public estimator and function of the subpackages is importable from
the top level (``from sparsecode import OrthogonalMatchingPursuit``).  The
subpackages are imported lazily on first access (PEP 562), so
``import sparsecode`` costs almost nothing and compiles nothing.
"""

import importlib

__version__ = "0.1.0.dev0"

# Subpackages whose ``__all__`` is re-exported at the top level.  A family
# registers its public names in its own ``__init__.py``; nothing here needs
# to change when a family grows.
_SUBPACKAGES = (
    "greedy",
    "convex",
    "thresholding",
    "bayes",
    "unmixing",
    "dictionary",
    "operators",
    "datasets",
    "metrics",
)
_MODULE_ONLY = ("datasets", "metrics", "operators", "plotting", "cli")

_name_to_module = None


def _index():
    global _name_to_module
    if _name_to_module is None:
        table = {}
        for sub in _SUBPACKAGES:
            mod = importlib.import_module(f"{__name__}.{sub}")
            for name in getattr(mod, "__all__", ()):
                table.setdefault(name, sub)
        _name_to_module = table
    return _name_to_module


def __getattr__(name):
    if name == "__all__":
        return sorted(_index()) + list(_SUBPACKAGES)
    if name in _SUBPACKAGES or name in _MODULE_ONLY:
        return importlib.import_module(f"{__name__}.{name}")
    if name.startswith("_"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    sub = _index().get(name)
    if sub is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{sub}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__getattr__("__all__")))
