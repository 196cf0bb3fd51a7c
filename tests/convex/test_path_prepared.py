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
