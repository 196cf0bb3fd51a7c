"""Single-target Lasso / WeightedLasso on small tall designs: the Gram route.

When ``N <= n`` and ``n N^2 <= 1e6`` a single target is solved by one call
of the cached Gram coordinate-descent kernel (``_fit_quadratic_gram_one``)
instead of the working-set outer loop.  References: scikit-learn's Lasso,
the working-set path (forced by disabling the route), the duality gap
recomputed here, and the exact BVLS solution for the non-negative case with
unpenalised features.
"""

import warnings

import numpy as np
import pytest
from scipy.optimize import lsq_linear
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import Lasso as SkLasso

from sparsecode import Lasso, WeightedLasso, alpha_max
from sparsecode.convex import _fit


@pytest.fixture
def spy(monkeypatch):
    calls = []
    real = _fit._fit_quadratic_gram_one

    def wrapped(prep, *a, **k):
        calls.append(prep.Y.shape)
        return real(prep, *a, **k)

    monkeypatch.setattr(_fit, "_fit_quadratic_gram_one", wrapped)
    return calls


def _obj(X, y, w, b, alpha, weights=None, sw=None):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    weights = np.ones(X.shape[1]) if weights is None else weights
    r = y - X @ w - b
    with np.errstate(invalid="ignore"):
        pen = np.where(w != 0, weights * np.abs(w), 0.0).sum()
    return float(sw @ r ** 2) / (2 * n) + alpha * float(pen)


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
def test_diabetes_equals_sklearn_and_working_set(spy, monkeypatch, fit_intercept, positive):
    X, y = load_diabetes(return_X_y=True)
    n = X.shape[0]
    a = alpha_max(X, y, fit_intercept=fit_intercept, positive=positive) / 100
    tol = 1e-10
    g = Lasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=tol).fit(X, y)
    assert spy == [(n, 1)]
    sk = SkLasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=1e-14,
                 max_iter=100_000).fit(X, y)
    monkeypatch.setattr(_fit, "_SMALL_GRAM_FLOPS", 0)  # the working-set path
    ws = Lasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=tol).fit(X, y)
    assert spy == [(n, 1)]
    pg, ps = _obj(X, y, g.coef_, g.intercept_, a), _obj(X, y, sk.coef_, sk.intercept_, a)
    assert pg <= ps + 1e-10 * ps
    np.testing.assert_allclose(g.coef_, ws.coef_, atol=1e-6 * np.abs(ws.coef_).max())
    np.testing.assert_allclose(g.intercept_, ws.intercept_, rtol=1e-8)
    # certificate: the reported gap is the exact one and below tol P(0)
    yc = y - y.mean() if fit_intercept else y
    P0 = yc @ yc / (2 * n)
    assert 0 <= g.dual_gap_ + 1e-15 * P0 and g.dual_gap_ <= tol * P0
    r = yc - (X - X.mean(0) if fit_intercept else X) @ g.coef_
    c = (X - X.mean(0) if fit_intercept else X).T @ r / n
    c = np.maximum(c, 0) if positive else np.abs(c)
    s = max(1.0, c.max() / a)
    d = yc - r / s
    gap = _obj(X, y, g.coef_, g.intercept_, a) - (yc @ yc - d @ d) / (2 * n)
    np.testing.assert_allclose(g.dual_gap_, gap, atol=1e-9 * P0)
    if positive:
        assert np.all(g.coef_ >= 0)


def test_weights_positive_unpenalised_and_sample_weight(spy, monkeypatch):
    rng = np.random.default_rng(0)
    n, N = 60, 8
    X = rng.standard_normal((n, N))
    y = X @ np.array([1.5, -2.0, 0.0, 0.7, 0.0, 0.0, -1.0, 0.3]) + 0.3 * rng.standard_normal(n)
    weights = np.array([1.0, 0.0, 1.0, 0.0, np.inf, 2.0, 1.0, 0.5])
    a = alpha_max(X, y, weights=weights, positive=True) / 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = WeightedLasso(alpha=a, weights=weights, positive=True, tol=1e-12).fit(X, y)
    assert spy == [(n, 1)]
    # exact reference (BVLS on the centred problem; the excluded column dropped)
    keep = np.isfinite(weights)
    Xc, yc = X[:, keep] - X[:, keep].mean(0), y - y.mean()
    A = Xc / np.sqrt(n)
    z = A @ np.linalg.solve(A.T @ A, Xc.T @ yc / n - a * weights[keep])
    ref = lsq_linear(A, z, bounds=(0, np.inf), method="bvls", tol=1e-15).x
    np.testing.assert_allclose(m.coef_[keep], ref, atol=1e-8)
    assert m.coef_[4] == 0
    # sample weights (and no sign constraint): the same objective as the
    # working-set path, to the tolerance
    sw = rng.uniform(0.2, 3.0, n)
    mw = WeightedLasso(alpha=a, weights=weights, tol=1e-12).fit(X, y, sample_weight=sw)
    assert len(spy) == 2
    monkeypatch.setattr(_fit, "_SMALL_GRAM_FLOPS", 0)
    ws = WeightedLasso(alpha=a, weights=weights, tol=1e-12).fit(X, y, sample_weight=sw)
    assert len(spy) == 2
    po, pw = _obj(X, y, mw.coef_, mw.intercept_, a, weights, sw), \
        _obj(X, y, ws.coef_, ws.intercept_, a, weights, sw)
    assert abs(po - pw) <= 1e-10 * pw
    np.testing.assert_allclose(mw.coef_, ws.coef_, atol=1e-7)


def test_warm_start_and_float32(spy):
    X, y = load_diabetes(return_X_y=True)
    a = alpha_max(X, y) / 50
    reg = Lasso(alpha=a, tol=1e-10, warm_start=True).fit(X, y)
    first = reg.coef_.copy()
    reg.fit(X, y)
    np.testing.assert_allclose(reg.coef_, first, atol=1e-10 * np.abs(first).max())
    m32 = Lasso(alpha=a, tol=1e-8).fit(X.astype(np.float32), y.astype(np.float32))
    assert m32.coef_.dtype == np.float32
    np.testing.assert_allclose(m32.coef_, first, atol=1e-3 * np.abs(first).max())
    assert len(spy) == 3


def test_route_not_taken_for_wide_or_large(spy):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((30, 60))  # wide
    y = rng.standard_normal(30)
    Lasso(alpha=0.1).fit(X, y)
    X = rng.standard_normal((2000, 40))  # n N^2 = 3.2e6 > 1e6
    y = X[:, 0] + rng.standard_normal(2000)
    Lasso(alpha=0.1).fit(X, y)
    assert spy == []
