"""The public solver functions ``f(A, y, ...)`` (recovery and paths) and the
unmixing function ``fcls`` through the degenerate and extreme regimes.

Discovered from ``sparsecode.__all__``: every function whose first two
parameters are ``(A, y)`` or ``(X, y)``.  Each output array (``coef`` of a
result record, the arrays of a path, a scalar) must be finite; y = 0 gives a
zero ``coef``; NaN input is refused naming the argument; at scale 1e+-150 the
answer of a scale-equivariant solver is the scaled answer.
"""

import inspect

import numpy as np
import pytest

import sparsecode

from .conftest import (S, all_finite, check, gaussian_dictionary, public_objects, rel, rng,
                       run_cell, sid, sparse_codes)


def _solver_functions():
    out = {}
    for name, obj in public_objects().items():
        if isinstance(obj, type) or not callable(obj) or not inspect.isfunction(obj):
            continue
        ps = list(inspect.signature(obj).parameters)
        if len(ps) >= 2 and ps[0] in ("A", "X") and ps[1] == "y":
            out[name] = obj
    return out


FUNCS = _solver_functions()
NAMES = sorted(FUNCS)


def call(name, A, y):
    f = FUNCS[name]
    p = inspect.signature(f).parameters
    kw = {}
    if "n_nonzero_coefs" in p:
        kw["n_nonzero_coefs"] = S
    if "weights" in p and p["weights"].default is inspect.Parameter.empty:
        kw["weights"] = np.ones(A.shape[1])
    if "n_alphas" in p:
        kw["n_alphas"] = 5
    return f(A, y, **kw)


def arrays(value):
    """The numeric arrays of an output (result record, tuple, scalar)."""
    if hasattr(value, "keys"):
        return [np.asarray(value[k]) for k in value.keys()
                if np.asarray(value[k]).dtype.kind in "fc"]
    if isinstance(value, tuple):
        return [np.asarray(v) for v in value if np.asarray(v).dtype.kind in "fc"]
    return [np.asarray(value)]


def coef(value):
    return np.asarray(value["coef"]) if hasattr(value, "keys") and "coef" in value.keys() else None


def problem():
    r = rng(7)
    A = gaussian_dictionary(r=r).T
    x = sparse_codes(1, A.shape[1], S, r)[0]
    return A, A @ x, x


ARGS = ("A", "X", "y")


def _finite(value):
    bad = [i for i, a in enumerate(arrays(value)) if not np.all(np.isfinite(a))]
    assert not bad, f"non-finite output(s) at position {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_zero_y(name):
    A, y, _ = problem()
    out = run_cell(lambda: call(name, A, np.zeros_like(y)))

    def v(value):
        _finite(value)
        c = coef(value)
        assert c is None or np.all(c == 0), "y = 0 gave a nonzero coef"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("name", NAMES)
def test_zero_A(name):
    A, y, _ = problem()
    out = run_cell(lambda: call(name, np.zeros_like(A), y))
    check(out, ARGS + ("zero",), _finite)


@pytest.mark.parametrize("where", ["nan-A", "nan-y"])
@pytest.mark.parametrize("name", NAMES)
def test_nan_refused(name, where):
    A, y, _ = problem()
    A, y = A.copy(), y.copy()
    (A if where == "nan-A" else y)[0] = np.nan
    out = run_cell(lambda: call(name, A, y))
    assert out.error is not None, f"{where} accepted"
    check(out, ("A", "X") if where == "nan-A" else ("y",), lambda v: None)


# Solvers whose penalty weight is absolute (documented as such), not relative to
# alpha_max: under (c A, c y) the problem itself changes (the datafit grows by c^2, the
# penalty not), and at c = 1e150 the optimum sits at the rounding floor of the
# residual, where no relative duality gap can be certified.  Their scale cells check
# finite output and allow the (truthful) ConvergenceWarning.
_ABSOLUTE_ALPHA = {
    "fista": "alpha is absolute (convex, matrix-free)",
    "pdhg": "alpha is absolute (convex, matrix-free)",
    "solve_operator": "alpha is absolute (convex, matrix-free)",
    "spiral_tap": "tau is absolute (convex, Poisson)",
}


@pytest.mark.parametrize("c", [1e-150, 1e150], ids=sid)
@pytest.mark.parametrize("name", NAMES)
def test_scale_A_and_y(name, c):
    """Scaling A and y together leaves every scale-free solver's coef unchanged
    (alpha-type parameters are relative to alpha_max, which scales with them)."""
    A, y, _ = problem()
    ref = run_cell(lambda: call(name, A, y))
    out = run_cell(lambda: call(name, A * c, y * c))

    def v(value):
        _finite(value)
        c0, c1 = coef(ref.value) if ref.error is None else None, coef(value)
        if c0 is not None and c1 is not None:
            assert rel(c1, c0) <= 1e-4, f"coef changed under (cA, cy): {rel(c1, c0):.2e}"

    if name in _ABSOLUTE_ALPHA:
        check(out, ARGS, _finite)
        return
    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("c", [1e-150, 1e-60, 1e60, 1e150], ids=sid)
def test_fcls_scale(c):
    """FCLS abundances of (c Y, c E) equal those of (Y, E): the exact mixture."""
    r = rng(8)
    E = np.abs(r.standard_normal((3, 20))) + 0.1
    Ab = r.dirichlet(np.ones(3), 10)
    Y = Ab @ E
    out = run_cell(lambda: sparsecode.fcls(Y * c, E * c))
    check(out, ("Y", "endmembers"), lambda Aest: (
        all_finite(Aest) or pytest.fail("non-finite abundances"),
        rel(Aest, Ab) <= 1e-4 or pytest.fail(f"abundances off by {rel(Aest, Ab):.2e}")))
