"""ElasticNet and MultiTaskLasso (and their penalties): objectives against
scikit-learn, duality-gap certificates, float32, bad input."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import ElasticNet as SkElasticNet
from sklearn.linear_model import MultiTaskLasso as SkMultiTaskLasso

from sparsecode.convex import (L21, ElasticNet, ElasticNetPenalty, Lasso, MultiTaskLasso,
                               alpha_max)


def _problem(n=60, N=120, seed=0, intercept=2.0, T=None):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    if T is None:
        w = np.zeros(N)
        w[rng.choice(N, 8, replace=False)] = rng.standard_normal(8)
        return X, X @ w + 0.1 * rng.standard_normal(n) + intercept
    W = np.zeros((N, T))
    W[rng.choice(N, 6, replace=False)] = rng.standard_normal((6, T))
    return X, X @ W + 0.1 * rng.standard_normal((n, T)) + intercept


def _enet_obj(X, y, w, b, alpha, l1_ratio):
    n = X.shape[0]
    r = y - X @ w - b
    return (float(r @ r) / (2 * n) + alpha * l1_ratio * float(np.abs(w).sum())
            + 0.5 * alpha * (1 - l1_ratio) * float(w @ w))


def _enet_gap(X, y, w, alpha, l1_ratio):
    """scikit-learn's elastic-net duality gap (centred data), divided by n."""
    n = X.shape[0]
    a, b = alpha * l1_ratio, alpha * (1 - l1_ratio)
    r = y - X @ w
    xta = X.T @ r / n - b * w
    dn = np.max(np.abs(xta))
    c = a / dn if dn > a else 1.0
    primal = _enet_obj(X, y, w, 0.0, alpha, l1_ratio)
    dual = (c * (r @ y) - 0.5 * c * c * (r @ r)) / n - 0.5 * b * c * c * (w @ w)
    return primal - dual


def _mtl_obj(X, Y, W, b, alpha):
    n = X.shape[0]
    R = Y - X @ W.T - b
    return float((R * R).sum()) / (2 * n) + alpha * float(np.sqrt((W ** 2).sum(axis=0)).sum())


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
@pytest.mark.parametrize("l1_ratio", [0.2, 0.8])
def test_elasticnet_objective_equals_sklearn(fmt, fit_intercept, positive, l1_ratio):
    X, y = _problem()
    a = alpha_max(X, y, fit_intercept=fit_intercept) / 10 / l1_ratio
    Xf = X if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(X)
    ours = ElasticNet(alpha=a, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                      positive=positive, tol=1e-12, max_iter=200).fit(Xf, y)
    ref = SkElasticNet(alpha=a, l1_ratio=l1_ratio, fit_intercept=fit_intercept,
                       positive=positive, tol=1e-14, max_iter=100_000).fit(X, y)
    f_ours = _enet_obj(X, y, ours.coef_, ours.intercept_, a, l1_ratio)
    f_ref = _enet_obj(X, y, ref.coef_, ref.intercept_, a, l1_ratio)
    assert f_ours <= f_ref * (1 + 1e-8)
    assert abs(f_ours - f_ref) <= 1e-8 * abs(f_ref)
    if positive:
        assert ours.coef_.min() >= 0


@pytest.mark.parametrize("l1_ratio", [0.1, 0.5, 1.0])
def test_elasticnet_gap_certificate(l1_ratio):
    X, y = _problem(seed=1)
    X = X - X.mean(axis=0)
    y = y - y.mean()
    a = alpha_max(X, y, fit_intercept=False) / 20
    tol = 1e-6
    reg = ElasticNet(alpha=a, l1_ratio=l1_ratio, fit_intercept=False, tol=tol).fit(X, y)
    P0 = float(y @ y) / (2 * len(y))
    gap = _enet_gap(X, y, reg.coef_, a, l1_ratio)
    # the reported gap is the gap of the returned point, below the tolerance
    assert gap >= -1e-12 * P0
    np.testing.assert_allclose(reg.dual_gap_, gap, rtol=1e-6, atol=1e-12 * P0)
    assert reg.dual_gap_ <= tol * P0


def test_elasticnet_l1_ratio_one_is_lasso():
    X, y = _problem(seed=2)
    a = alpha_max(X, y) / 7
    e = ElasticNet(alpha=a, l1_ratio=1.0, tol=1e-12).fit(X, y)
    la = Lasso(alpha=a, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(e.coef_, la.coef_, atol=1e-8)


def test_elasticnet_ridge_limit():
    # l1_ratio = 0: the ridge solution (X^T X / n + alpha I) w = X^T y / n
    X, y = _problem(n=80, N=30, seed=3)
    X = X - X.mean(axis=0)
    y = y - y.mean()
    a = 0.3
    e = ElasticNet(alpha=a, l1_ratio=0.0, fit_intercept=False, tol=1e-12, max_iter=500).fit(X, y)
    n = X.shape[0]
    w = np.linalg.solve(X.T @ X / n + a * np.eye(X.shape[1]), X.T @ y / n)
    np.testing.assert_allclose(e.coef_, w, atol=1e-7)


def test_elasticnet_float32():
    X, y = _problem(seed=4)
    a = alpha_max(X, y) / 10
    r32 = ElasticNet(alpha=a, l1_ratio=0.5, tol=1e-6).fit(X.astype(np.float32),
                                                          y.astype(np.float32))
    r64 = ElasticNet(alpha=a, l1_ratio=0.5, tol=1e-10).fit(X, y)
    assert r32.coef_.dtype == np.float32
    f32 = _enet_obj(X, y, r32.coef_.astype(float), float(r32.intercept_), a, 0.5)
    f64 = _enet_obj(X, y, r64.coef_, r64.intercept_, a, 0.5)
    assert abs(f32 - f64) <= 1e-4 * f64


def test_elasticnet_bad_l1_ratio():
    X, y = _problem()
    with pytest.raises(ValueError, match="l1_ratio"):
        ElasticNet(alpha=0.1, l1_ratio=1.5).fit(X, y)


def test_elasticnet_penalty_prox_is_argmin():
    pen = ElasticNetPenalty(alpha=0.7, l1_ratio=0.4)
    z = np.linspace(-6, 6, 240_001)
    for v in (-3.0, -0.1, 0.2, 2.5):
        for step in (0.3, 1.0, 2.0):
            f = (z - v) ** 2 / (2 * step) + 0.7 * (0.4 * np.abs(z) + 0.3 * z * z)
            assert abs(pen.prox_1d(v, step, 0) - z[np.argmin(f)]) <= 1e-4


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_multitask_objective_equals_sklearn(fit_intercept):
    X, Y = _problem(T=4, seed=5)
    Yc = Y - Y.mean(axis=0) if fit_intercept else Y
    Xc = X - X.mean(axis=0) if fit_intercept else X
    amax = np.sqrt(((Xc.T @ Yc) ** 2).sum(axis=1)).max() / X.shape[0]
    a = amax / 10
    ours = MultiTaskLasso(alpha=a, fit_intercept=fit_intercept, tol=1e-12, max_iter=200).fit(X, Y)
    ref = SkMultiTaskLasso(alpha=a, fit_intercept=fit_intercept, tol=1e-14,
                           max_iter=100_000).fit(X, Y)
    f_ours = _mtl_obj(X, Y, ours.coef_, ours.intercept_, a)
    f_ref = _mtl_obj(X, Y, ref.coef_, ref.intercept_, a)
    assert abs(f_ours - f_ref) <= 1e-8 * f_ref
    assert ours.coef_.shape == (4, X.shape[1])
    np.testing.assert_allclose(ours.predict(X[:3]), X[:3] @ ours.coef_.T + ours.intercept_)


def test_multitask_gap_certificate_and_zero():
    X, Y = _problem(T=3, seed=6)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    n = X.shape[0]
    amax = np.sqrt(((X.T @ Y) ** 2).sum(axis=1)).max() / n
    reg = MultiTaskLasso(alpha=amax * 1.0001, fit_intercept=False).fit(X, Y)
    assert not reg.coef_.any()
    a = amax / 5
    reg = MultiTaskLasso(alpha=a, fit_intercept=False, tol=1e-8).fit(X, Y)
    W = reg.coef_.T
    R = Y - X @ W
    G = X.T @ R / n
    dn = np.sqrt((G ** 2).sum(axis=1)).max()
    c = min(1.0, a / dn)
    primal = _mtl_obj(X, Y, reg.coef_, 0.0, a)
    dual = (c * (R * Y).sum() - 0.5 * c * c * (R * R).sum()) / n
    assert -1e-12 <= primal - dual <= 1e-8 * (Y * Y).sum() / (2 * n)
    # the optimality conditions row by row
    nz = np.linalg.norm(W, axis=1) > 0
    np.testing.assert_allclose(G[nz], a * W[nz] / np.linalg.norm(W[nz], axis=1)[:, None],
                               atol=1e-5 * a)
    assert np.all(np.linalg.norm(G[~nz], axis=1) <= a * (1 + 1e-6))


def test_multitask_float32_and_errors():
    X, Y = _problem(T=3, seed=7)
    a = 0.05
    r32 = MultiTaskLasso(alpha=a, tol=1e-6).fit(X.astype(np.float32), Y.astype(np.float32))
    r64 = MultiTaskLasso(alpha=a, tol=1e-10).fit(X, Y)
    assert r32.coef_.dtype == np.float32 and r32.intercept_.dtype == np.float32
    f32 = _mtl_obj(X, Y, r32.coef_.astype(float), r32.intercept_.astype(float), a)
    f64 = _mtl_obj(X, Y, r64.coef_, r64.intercept_, a)
    assert abs(f32 - f64) <= 1e-4 * f64
    with pytest.raises(ValueError, match="two-dimensional"):
        MultiTaskLasso(alpha=a).fit(X, Y[:, 0])
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError):
        MultiTaskLasso(alpha=a).fit(Xn, Y)


def test_multitask_warm_start_and_input_unchanged():
    X, Y = _problem(T=2, seed=8)
    X0, Y0 = X.copy(), Y.copy()
    reg = MultiTaskLasso(alpha=0.05, tol=1e-10, warm_start=True).fit(X, Y)
    c0 = reg.coef_.copy()
    reg.fit(X, Y)
    np.testing.assert_allclose(reg.coef_, c0, atol=1e-7)
    assert reg.n_iter_ <= 2
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(Y, Y0)


def test_multitask_single_task_equals_lasso_and_input_unchanged():
    # one task: the L2,1 penalty is the L1 penalty (regression: the residual
    # aliased y for a single task, which the kernel then overwrote)
    X, y = _problem(seed=9)
    Y = y[:, None].copy()
    Y0 = Y.copy()
    m = MultiTaskLasso(alpha=0.05, tol=1e-10, fit_intercept=False).fit(X, Y)
    np.testing.assert_array_equal(Y, Y0)
    la = Lasso(alpha=0.05, tol=1e-10, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(m.coef_[0], la.coef_, atol=1e-6)


def test_l21_prox_block():
    pen = L21(alpha=0.5)
    v = np.array([0.3, -0.4])
    assert not pen.prox_block(v, 1.0).any()  # ||v|| = 0.5 <= 0.5
    z = pen.prox_block(np.array([3.0, 4.0]), 2.0)
    np.testing.assert_allclose(z, 0.8 * np.array([3.0, 4.0]))
    assert pen.value(np.array([[3.0, 4.0], [0.0, 0.0]])) == 2.5
