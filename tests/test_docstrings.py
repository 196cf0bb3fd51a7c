"""numpydoc validation of every public docstring (like scikit-learn's test_docstrings).

Every name of ``sparsecode.__all__`` (subpackage names excepted) and every
public method that a sparsecode class defines itself (``fit``, ``transform``,
``predict``, ...; methods inherited from scikit-learn are not ours to check)
is validated with :func:`numpydoc.validate.validate`.  The test fails on a
focused set of error codes:

========  ===========================================================
GL08      the object has no docstring
SS01      no one-line summary
PR01      a parameter of the signature is not documented
PR02      a documented parameter is not in the signature
RT01      a function or method returning a value has no Returns section
EX01      a top-level public name has no Examples section
========  ===========================================================

Each object is its own test case, so a failure names it.
"""

import importlib
import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import sparsecode  # noqa: E402

CHECKED = {"GL08", "SS01", "PR01", "PR02", "RT01"}
TOP_LEVEL_ONLY = {"EX01"}


def _public_names():
    return sorted(n for n in sparsecode.__all__ if n not in sparsecode._SUBPACKAGES)


def _own_public_methods(cls):
    """Public methods defined by ``cls`` or a sparsecode base class."""
    seen = {}
    for klass in reversed(cls.__mro__):
        if not (klass.__module__ or "").startswith("sparsecode"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if inspect.isfunction(attr):
                seen[name] = attr
    return sorted(seen)


def _objects():
    """``(import_path, is_top_level)`` for every object to validate."""
    out = []
    for name in _public_names():
        out.append((f"sparsecode.{name}", True))
        obj = getattr(sparsecode, name)
        if inspect.isclass(obj):
            out.extend((f"sparsecode.{name}.{m}", False) for m in _own_public_methods(obj))
    return out


OBJECTS = _objects()


def _resolve(path):
    """Import ``sparsecode.Name[.method]`` (numpydoc imports by dotted path)."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


@pytest.mark.parametrize("path, top_level", OBJECTS, ids=[p for p, _ in OBJECTS])
def test_docstring(path, top_level):
    obj = _resolve(path)
    # numpydoc resolves the dotted path with getattr, which goes through the
    # lazy top-level __getattr__ of sparsecode.
    result = numpydoc_validate.validate(path)
    codes = CHECKED | (TOP_LEVEL_ONLY if top_level else set())
    errors = [(code, msg) for code, msg in result["errors"] if code in codes]
    if errors:
        listing = "\n".join(f"  {code}: {msg}" for code, msg in errors)
        where = getattr(obj, "__module__", "?")
        pytest.fail(f"{path} (defined in {where}) has docstring errors:\n{listing}")


def test_every_public_name_is_checked():
    """The parametrisation covers every public name (nothing silently skipped)."""
    checked = {p for p, top in OBJECTS if top}
    assert checked == {f"sparsecode.{n}" for n in _public_names()}
    assert checked, "no public names found"
