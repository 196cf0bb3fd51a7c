"""FISTA's compiled proximal/extrapolation step (real L1 and non-negative L1)."""

import numpy as np
import pytest

from sparsecode.convex import _operator_solvers as OS
from sparsecode.convex import fista


def _problem(dtype, k):
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 100)).astype(dtype)
    X0 = np.zeros((100, k))
    X0[:4] = rng.uniform(1, 2, (4, k))
    Y = (A @ X0 + 0.01 * rng.standard_normal((40, k))).astype(dtype)
    return A, Y if k > 1 else Y[:, 0]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("penalty", ["l1", "nonneg_l1"])
@pytest.mark.parametrize("k", [1, 3])
def test_fused_step_same_iterates_as_numpy(monkeypatch, dtype, penalty, k):
    A, Y = _problem(dtype, k)
    kw = dict(penalty=penalty, alpha=0.05, tol=0.0, max_iter=37)
    Xf, inf_f = fista(A, Y, **kw)
    monkeypatch.setattr(OS, "_C", None)
    Xn, inf_n = fista(A, Y, **kw)
    assert Xf.dtype == Xn.dtype == dtype
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(Xf, Xn, atol=tol)
    assert inf_f["n_restarts"] == inf_n["n_restarts"]
    assert inf_f["n_matvec"] == inf_n["n_matvec"]


def test_fused_kernel_values():
    rng = np.random.default_rng(1)
    Yk, G, X = (rng.standard_normal((50, 2)) for _ in range(3))
    step = np.array([0.3, 0.7])
    Xn = np.empty_like(X)
    dn2, rs = np.zeros(2), np.zeros(2)
    OS._C.fista_l1_step(Yk, G, X, step, 0.4, False, Xn, dn2, rs)
    V = Yk - G * step
    ref = np.sign(V) * np.maximum(np.abs(V) - 0.4 * step, 0.0)
    np.testing.assert_allclose(Xn, ref, atol=1e-15)
    np.testing.assert_allclose(dn2, ((ref - X) ** 2).sum(0))
    np.testing.assert_allclose(rs, ((Yk - ref) * (ref - X)).sum(0))
    out = np.empty_like(X)
    OS._C.fista_extrapolate(Xn, X, np.array([0.5, 1.0]), out)
    np.testing.assert_allclose(out, Xn + np.array([0.5, 1.0]) * (Xn - X))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_fixed_iterations_skip_intermediate_certificates():
    """tol=0 (run max_iter iterations): the duality gap, one product with A^T, is
    computed at the end only; the iterates are the same as with checks."""
    A, y = _problem(np.float64, 1)
    X0, i0 = fista(A, y, alpha=0.05, tol=0.0, max_iter=35)
    X1, i1 = fista(A, y, alpha=0.05, tol=1e-300, max_iter=35)
    np.testing.assert_array_equal(X0, X1)
    assert i1["n_rmatvec"] - i0["n_rmatvec"] == 3  # the checks at 10, 20, 30
    assert i0["n_matvec"] == i1["n_matvec"]
    # (fewer dual points seen: a certificate at least as large)
    assert np.isfinite(i0["certificate"]) and i0["certificate"] >= i1["certificate"]
