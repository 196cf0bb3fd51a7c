"""Lasso / WeightedLasso: objective vs scikit-learn, certificates, alpha_max, invariances."""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso as SkLasso

from sparsecode import Lasso, PenalizedRegression, WeightedLasso, alpha_max
from sparsecode.convex import L1, AndersonCD, Quadratic


def _problem(n=60, N=120, seed=0, intercept=3.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[rng.choice(N, 8, replace=False)] = rng.standard_normal(8)
    y = X @ w + 0.1 * rng.standard_normal(n) + intercept
    return X, y


def _obj(X, y, w, b, alpha, weights=None, sw=None):
    n = X.shape[0]
    sw = np.ones(n) if sw is None else sw * n / sw.sum()
    weights = np.ones(X.shape[1]) if weights is None else weights
    r = y - X @ w - b
    return float(sw @ r ** 2) / (2 * n) + alpha * float(np.sum(weights * np.abs(w)))


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("positive", [False, True])
def test_objective_equals_sklearn(fmt, fit_intercept, positive):
    X, y = _problem()
    a = alpha_max(X, y, fit_intercept=fit_intercept, positive=positive) / 10
    Xf = X if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(X)
    ours = Lasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=1e-10).fit(Xf, y)
    sk = SkLasso(alpha=a, fit_intercept=fit_intercept, positive=positive, tol=1e-14,
                 max_iter=100_000).fit(X, y)
    po = _obj(X, y, ours.coef_, ours.intercept_, a)
    ps = _obj(X, y, sk.coef_, sk.intercept_, a)
    assert po <= ps + 1e-10 * ps
    assert abs(po - ps) <= 1e-9 * ps
    np.testing.assert_allclose(ours.coef_, sk.coef_, atol=1e-6)
    # certificate at return: gap below the asked tolerance (relative to P(0))
    yc = y - y.mean() if fit_intercept else y
    assert 0 <= ours.dual_gap_ + 1e-15 and ours.dual_gap_ <= 1e-10 * (yc @ yc) / (2 * len(y))
    if positive:
        assert np.all(ours.coef_ >= 0)


def test_kkt_conditions():
    X, y = _problem(80, 200, seed=3)
    a = alpha_max(X, y) / 20
    reg = Lasso(alpha=a, tol=1e-12).fit(X, y)
    r = y - X @ reg.coef_ - reg.intercept_
    c = X.T @ r / len(y)
    S = reg.coef_ != 0
    np.testing.assert_allclose(c[S], a * np.sign(reg.coef_[S]), atol=1e-6 * a)
    assert np.all(np.abs(c[~S]) <= a * (1 + 1e-6))


def test_sample_weight_equals_sklearn():
    X, y = _problem(seed=1)
    sw = np.random.default_rng(1).uniform(0.2, 3.0, len(y))
    a = 0.05
    for Xf in (X, sp.csc_matrix(X)):
        ours = Lasso(alpha=a, tol=1e-10).fit(Xf, y, sample_weight=sw)
        sk = SkLasso(alpha=a, tol=1e-14, max_iter=100_000).fit(X, y, sample_weight=sw)
        np.testing.assert_allclose(_obj(X, y, ours.coef_, ours.intercept_, a, sw=sw),
                                   _obj(X, y, sk.coef_, sk.intercept_, a, sw=sw), rtol=1e-9)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_alpha_max_zero_and_nonzero(weighted, fit_intercept):
    X, y = _problem(seed=2)
    weights = np.random.default_rng(2).uniform(0.5, 2, X.shape[1]) if weighted else None
    a = alpha_max(X, y, weights=weights, fit_intercept=fit_intercept)
    est = WeightedLasso if weighted else Lasso
    kw = dict(weights=weights) if weighted else {}
    assert np.all(est(alpha=a, fit_intercept=fit_intercept, **kw).fit(X, y).coef_ == 0)
    assert np.any(est(alpha=0.99 * a, fit_intercept=fit_intercept, tol=1e-8, **kw)
                  .fit(X, y).coef_ != 0)


def test_weights_zero_unpenalised_inf_excluded():
    X, y = _problem(seed=4)
    N = X.shape[1]
    weights = np.ones(N)
    weights[:3] = 0.0
    weights[3:6] = np.inf
    big = 100 * alpha_max(X, y)
    reg = WeightedLasso(alpha=big, weights=weights, tol=1e-12).fit(X, y)
    # at a huge alpha only the unpenalised features are active: least squares on them
    B = np.c_[np.ones(len(y)), X[:, :3]]
    ls = np.linalg.lstsq(B, y, rcond=None)[0]
    np.testing.assert_allclose(reg.coef_[:3], ls[1:], rtol=1e-7)
    assert np.all(reg.coef_[3:] == 0)
    reg2 = WeightedLasso(alpha=0.01, weights=weights, tol=1e-10).fit(X, y)
    assert np.all(reg2.coef_[3:6] == 0)
    # alpha_max ignores the unpenalised and the excluded features
    a = alpha_max(X, y, weights=weights)
    assert np.all(WeightedLasso(alpha=a, weights=weights).fit(X, y).coef_[6:] == 0)


def test_weighted_equals_rescaled_lasso():
    # weights w: same as the Lasso on columns x_j / w_j, coefficients divided by w_j
    X, y = _problem(seed=5)
    w = np.random.default_rng(5).uniform(0.5, 2.0, X.shape[1])
    a = 0.05
    r1 = WeightedLasso(alpha=a, weights=w, tol=1e-12).fit(X, y)
    r2 = Lasso(alpha=a, tol=1e-12).fit(X / w, y)
    np.testing.assert_allclose(r1.coef_, r2.coef_ / w, atol=1e-7)


def test_multitarget_float32_warm_start():
    X, y = _problem(seed=6)
    Y = np.c_[y, 2 * y - 1]
    reg = Lasso(alpha=0.05, tol=1e-10).fit(X, Y)
    assert reg.coef_.shape == (2, X.shape[1]) and reg.dual_gap_.shape == (2,)
    np.testing.assert_allclose(reg.coef_[0], Lasso(alpha=0.05, tol=1e-10).fit(X, y).coef_,
                               atol=1e-8)
    r32 = Lasso(alpha=0.05, tol=1e-6).fit(X.astype(np.float32), y.astype(np.float32))
    assert r32.coef_.dtype == np.float32
    np.testing.assert_allclose(r32.coef_, reg.coef_[0], atol=1e-3)
    ws = Lasso(alpha=0.05, tol=1e-10, warm_start=True).fit(X, y)
    ws.set_params(alpha=0.04).fit(X, y)
    np.testing.assert_allclose(ws.coef_, Lasso(alpha=0.04, tol=1e-10).fit(X, y).coef_,
                               atol=1e-7)


def test_convergence_warning_reports_gap():
    X, y = _problem(100, 300, seed=7)
    with pytest.warns(Warning, match="duality gap reached"):
        Lasso(alpha=alpha_max(X, y) / 200, tol=1e-14, max_iter=1).fit(X, y)


def test_inputs_not_modified_and_generic_path_agrees():
    X, y = _problem(40, 30, seed=8, intercept=0.0)
    X0, y0 = X.copy(), y.copy()

    class MyL1:
        # a user penalty: plain class, compiled by the generic solver
        def __init__(self, alpha):
            self.alpha = alpha

        def get_spec(self):
            from numba import float64
            return (("alpha", float64),)

        def params_to_dict(self):
            return dict(alpha=self.alpha)

        def value(self, w):
            return self.alpha * np.sum(np.abs(w))

        def prox_1d(self, value, stepsize, j):
            return np.sign(value) * max(abs(value) - stepsize * self.alpha, 0.0)

    class MyQuadratic(Quadratic):
        pass

    a = 0.05
    # the user penalty stops on the fixed-point (KKT) residual: tol 1e-8 for 1e-5 agreement
    r_user = PenalizedRegression(MyQuadratic(), MyL1(a), AndersonCD(tol=1e-8),
                                 fit_intercept=False).fit(X, y)
    r_ref = Lasso(alpha=a, fit_intercept=False, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(r_user.coef_, r_ref.coef_, atol=1e-5)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.1, 10.0))
def test_scaling_and_permutation_invariance(seed, scale):
    X, y = _problem(30, 40, seed=seed)
    a = alpha_max(X, y) / 5
    ref = Lasso(alpha=a, tol=1e-12).fit(X, y)
    # y -> s y, alpha -> s alpha gives w -> s w
    r1 = Lasso(alpha=scale * a, tol=1e-12).fit(X, scale * y)
    np.testing.assert_allclose(r1.coef_, scale * ref.coef_, atol=1e-6 * max(1, scale))
    # permuting the features permutes the solution
    perm = np.random.default_rng(seed).permutation(X.shape[1])
    r2 = Lasso(alpha=a, tol=1e-12).fit(X[:, perm], y)
    np.testing.assert_allclose(r2.coef_, ref.coef_[perm], atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), c=st.floats(0.2, 5.0))
def test_zero_weight_feature_unpenalised_hypothesis(seed, c):
    # a zero-weight feature is fitted as in least squares on the active set:
    # its KKT row is x_j^T r = 0 whatever alpha
    X, y = _problem(30, 20, seed=seed)
    w = np.ones(20)
    j = seed % 20
    w[j] = 0
    reg = WeightedLasso(alpha=c * alpha_max(X, y), weights=w, tol=1e-12).fit(X, y)
    r = y - X @ reg.coef_ - reg.intercept_
    assert abs(X[:, j] @ r) <= 1e-6 * np.linalg.norm(X[:, j]) * max(np.linalg.norm(y), 1)
    assert reg.coef_[j] != 0 or abs(X[:, j] @ (y - y.mean())) < 1e-12


@pytest.mark.parametrize("c", [1e-150, 1e150])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_elasticnet_joint_scale_equivariance(c, fit_intercept):
    """ElasticNet's objective is homogeneous under (c X, c y, c^2 alpha) at fixed
    l1_ratio: the coefficients are unchanged, at any data scale (exact power-of-two
    rescaling of the mixed penalty, as for the Lasso)."""
    from sparsecode import ElasticNet

    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 60))
    w = np.zeros(60)
    w[[3, 10, 40]] = [1.5, -1.2, 1.8]
    y = X @ w
    a = 0.05 * np.abs(X.T @ y).max() / 30
    ref = ElasticNet(alpha=a, fit_intercept=fit_intercept, tol=1e-10).fit(X, y).coef_
    got = ElasticNet(alpha=a * c * c, fit_intercept=fit_intercept,
                     tol=1e-10).fit(X * c, y * c).coef_
    assert np.all(np.isfinite(got))
    assert np.linalg.norm(got - ref) <= 1e-8 * np.linalg.norm(ref)
