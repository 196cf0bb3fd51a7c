"""The Lasso path reads the design's scale once, not once per alpha."""

import numpy as np

from sparsecode import lasso_path
from sparsecode.convex import _fit, _path


def test_path_scale_pass_once(monkeypatch):
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((40, 80)))
    y = X[:, :3] @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(40)
    calls = []
    orig = _fit._max_exp

    def counting(A):
        calls.append(A.shape)
        return orig(A)

    monkeypatch.setattr(_fit, "_max_exp", counting)
    monkeypatch.setattr(_path, "_max_exp", counting)
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=12, tol=1e-8)
    # once for X and once for y (the path's unit-scale check), none per alpha
    assert calls.count(X.shape) == 1
    assert len(calls) == 2
    # same solutions as independent fits at each alpha
    from sparsecode import Lasso
    for k in (0, 5, 11):
        w = Lasso(alpha=alphas[k], fit_intercept=False, tol=1e-10).fit(X, y).coef_
        np.testing.assert_allclose(coefs[:, k], w, atol=1e-5)


def test_path_far_from_unit_scale_still_rescaled():
    # the per-alpha fits skip the scale pass: a design at 2**200 must still be
    # brought to unit scale once by the path (equivariance w(aX, by) = b/a w(X, y))
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 50))
    y = X[:, :2] @ np.array([1.0, -1.0]) + 0.05 * rng.standard_normal(30)
    al, c1, _ = lasso_path(X, y, n_alphas=8, tol=1e-10)
    al2, c2, _ = lasso_path(np.ldexp(X, 200), np.ldexp(y, 120), n_alphas=8, tol=1e-10)
    np.testing.assert_allclose(al2, np.ldexp(al, 200 + 120), rtol=1e-12)
    np.testing.assert_allclose(np.ldexp(c2, 80), c1, atol=1e-8)


def test_path_reuses_the_last_correlations(monkeypatch):
    # a fit that ends unscreened hands X^T R at its solution to the next alpha's
    # first check; that vector is exactly X^T (y - X w) at the returned w
    from sparsecode.convex._solvers import cd

    rng = np.random.default_rng(2)
    X = np.asfortranarray(rng.standard_normal((60, 90)))
    y = X[:, :4] @ np.array([1.0, -2.0, 0.5, 1.5]) + 0.2 * rng.standard_normal(60)
    seen = []
    orig = cd.solve_quadratic_builtin

    def spy(*a, **k):
        out = orig(*a, **k)
        seen.append((k.get("xtr0"), k.get("w0"), out))
        return out

    monkeypatch.setattr(_fit, "solve_quadratic_builtin", spy)
    alphas, coefs, gaps = lasso_path(X, y, n_alphas=15, eps=1e-2, tol=1e-9)
    used = 0
    for xtr0, w0, out in seen:
        if out["xtr"] is not None:
            ref = X.T @ (y - X @ out["w"])
            np.testing.assert_allclose(out["xtr"], ref, atol=1e-9 * np.abs(ref).max())
        if xtr0 is not None and w0 is not None and np.array_equal(xtr0[0], w0):
            used += 1
    assert used >= 1
    from sparsecode import Lasso
    for k in range(0, 15, 3):
        w = Lasso(alpha=alphas[k], fit_intercept=False, tol=1e-11).fit(X, y).coef_
        np.testing.assert_allclose(coefs[:, k], w, atol=1e-5)


def test_stale_correlations_ignored():
    # X^T R handed over for another start point is not used
    from sparsecode.convex._solvers import cd
    from sparsecode.convex import AndersonCD
    from sparsecode.convex._fit import _penalty_kp
    from sparsecode.convex import L1

    rng = np.random.default_rng(3)
    X = np.asfortranarray(rng.standard_normal((50, 70)))
    y = rng.standard_normal(50)
    a = np.abs(X.T @ y).max() / 50 / 5
    kp = _penalty_kp(L1(a), 70)
    kw = dict(solver=AndersonCD(tol=1e-10), convex=True, P0=float(y @ y) / 100,
              crit_ref=1.0)
    w0 = np.zeros(70)
    w0[0] = 0.3
    ref = cd.solve_quadratic_builtin(X, y, kp, w0=w0, **kw)
    # another start point, garbage X^T R and residual
    bad = (np.ones(70), 0.0, np.full(70, 1e3), np.full(50, 7.0), 0)
    out = cd.solve_quadratic_builtin(X, y, kp, w0=w0, xtr0=bad, **kw)
    np.testing.assert_array_equal(out["w"], ref["w"])
    # the hand-over of the reference fit restarts from its own solution: the
    # first check already certifies it (one round, same solution)
    again = cd.solve_quadratic_builtin(X, y, kp, w0=ref["w"], xtr0=ref["handover"], **kw)
    assert again["n_iter"] == 1 and again["converged"]
    np.testing.assert_array_equal(again["w"], ref["w"])


def test_handed_residual_is_the_residual(monkeypatch):
    # every fit of a path hands over R = y - X w at its solution
    from sparsecode.convex._solvers import cd

    rng = np.random.default_rng(4)
    X = np.asfortranarray(rng.standard_normal((50, 120)))
    y = X[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(50)
    outs = []
    orig = cd.solve_quadratic_builtin

    def spy(*a, **k):
        out = orig(*a, **k)
        outs.append(out)
        return out

    monkeypatch.setattr(_fit, "solve_quadratic_builtin", spy)
    lasso_path(X, y, n_alphas=30, eps=1e-3, tol=1e-10)
    chained = [o["handover"][4] for o in outs]
    assert max(chained) == cd._MAX_CHAIN and min(chained[1:]) >= 0
    for o in outs:
        w, b, _, R, _ = o["handover"]
        np.testing.assert_allclose(R, y - X @ w, atol=1e-12 * np.abs(y).max())
