"""GroupLasso: reference solutions, optimality conditions, gap certificate, input checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from sparsecode import Lasso
from sparsecode.convex import GroupLasso
from sparsecode.convex._group import solve_group_lasso


def _problem(n=40, N=24, seed=0, active=(0, 1, 2, 7)):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.zeros(N)
    w[list(active)] = rng.standard_normal(len(active)) + 1.0
    return X, X @ w + 0.1 * rng.standard_normal(n)


def _random_groups(N, rng):
    perm = rng.permutation(N)
    cuts = np.sort(rng.choice(np.arange(1, N), size=min(5, N - 1), replace=False))
    return [np.sort(g) for g in np.split(perm, cuts)]


def _alpha_max(X, y, groups, weights):
    r = y - y.mean()
    Xc = X - X.mean(axis=0)
    return max(np.linalg.norm(Xc[:, g].T @ r) / len(y) / wg for g, wg in zip(groups, weights))


def _kkt_violation(X, y, coef, intercept, groups, weights, alpha):
    """Largest distance of ``X_g^T r / n`` to ``alpha weight_g d||w_g||``."""
    n = len(y)
    r = y - X @ coef - intercept
    worst = 0.0
    for g, wg in zip(groups, weights):
        c = X[:, g].T @ r / n
        wn = np.linalg.norm(coef[g])
        if wn == 0:
            worst = max(worst, np.linalg.norm(c) - alpha * wg)
        else:
            worst = max(worst, np.linalg.norm(c - alpha * wg * coef[g] / wn))
    return worst


def _objective(X, y, coef, intercept, groups, weights, alpha):
    r = y - X @ coef - intercept
    return r @ r / (2 * len(y)) + alpha * sum(
        wg * np.linalg.norm(coef[g]) for g, wg in zip(groups, weights))


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_singleton_groups_equal_lasso(fit_intercept):
    X, y = _problem()
    for alpha in (0.3, 0.05):
        gl = GroupLasso(alpha=alpha, groups=1, fit_intercept=fit_intercept, tol=1e-14).fit(X, y)
        la = Lasso(alpha=alpha, fit_intercept=fit_intercept, tol=1e-14).fit(X, y)
        np.testing.assert_allclose(gl.coef_, la.coef_, atol=1e-8, rtol=0)
        assert abs(gl.intercept_ - la.intercept_) < 1e-8


@pytest.mark.parametrize("n, N", [(30, 6), (300, 150)])  # 150: the Lanczos Lipschitz path
def test_one_group_orthonormal_closed_form(n, N):
    rng = np.random.default_rng(1)
    X = np.linalg.qr(rng.standard_normal((n, N)))[0]  # X^T X = I
    y = rng.standard_normal(n)
    xty = X.T @ y
    for alpha in (0.01, 0.05, np.linalg.norm(xty) / (n * np.sqrt(N)) * 1.01):
        gl = GroupLasso(alpha=alpha, groups=[np.arange(N)], fit_intercept=False,
                        tol=1e-14).fit(X, y)
        expected = max(0.0, 1.0 - alpha * n * np.sqrt(N) / np.linalg.norm(xty)) * xty
        np.testing.assert_allclose(gl.coef_, expected, atol=1e-10)
    assert not gl.coef_.any()  # alpha above the threshold: the group is zero


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_kkt_conditions_and_gap_certificate(seed):
    X, y = _problem(n=50, N=30, seed=seed)
    rng = np.random.default_rng(seed)
    groups = _random_groups(30, rng)
    weights = np.sqrt([len(g) for g in groups])
    alpha = 0.2 * _alpha_max(X, y, groups, weights)
    tol = 1e-10
    gl = GroupLasso(alpha=alpha, groups=groups, tol=tol).fit(X, y)
    assert 0 < np.count_nonzero(gl.coef_) < 30
    assert _kkt_violation(X, y, gl.coef_, gl.intercept_, groups, weights, alpha) < 1e-6
    # certificate: the reported gap is below tol * P(0) and bounds the suboptimality
    yc = y - y.mean()
    assert 0 <= gl.dual_gap_ <= tol * (yc @ yc) / (2 * len(y))
    ref = GroupLasso(alpha=alpha, groups=groups, tol=1e-15, max_iter=200).fit(X, y)
    p = _objective(X, y, gl.coef_, gl.intercept_, groups, weights, alpha)
    p_ref = _objective(X, y, ref.coef_, ref.intercept_, groups, weights, alpha)
    assert p - p_ref <= gl.dual_gap_ + 1e-12
    # an independent dual point: the rescaled residual is feasible and its value matches
    n = len(y)
    Xc = X - X.mean(axis=0)
    r = yc - Xc @ gl.coef_
    dn = max(np.linalg.norm(Xc[:, g].T @ r) / n / wg for g, wg in zip(groups, weights))
    c = min(1.0, alpha / dn)
    dual = (c * (r @ yc) - 0.5 * c * c * (r @ r)) / n
    assert p - dual == pytest.approx(gl.dual_gap_, abs=1e-12)


def test_weights_enter_the_penalty():
    X, y = _problem(n=40, N=12)
    groups = [np.arange(4 * k, 4 * k + 4) for k in range(3)]
    weights = np.array([0.5, 3.0, 1.0])
    alpha = 0.05
    gl = GroupLasso(alpha=alpha, groups=groups, weights=weights, tol=1e-12).fit(X, y)
    assert _kkt_violation(X, y, gl.coef_, gl.intercept_, groups, weights, alpha) < 1e-6


@settings(max_examples=10)
@given(seed=st.integers(0, 10**6), frac=st.floats(0.05, 0.9))
def test_invariant_to_group_order_and_feature_order(seed, frac):
    rng = np.random.default_rng(seed)
    n, N = 25, 14
    X = rng.standard_normal((n, N))
    y = X[:, :3] @ np.ones(3) + 0.3 * rng.standard_normal(n)
    groups = _random_groups(N, rng)
    weights = np.sqrt([len(g) for g in groups])
    alpha = frac * _alpha_max(X, y, groups, weights)
    a = GroupLasso(alpha=alpha, groups=groups, tol=1e-14).fit(X, y)
    order = rng.permutation(len(groups))
    shuffled = [rng.permutation(groups[k]) for k in order]
    b = GroupLasso(alpha=alpha, groups=shuffled, tol=1e-14).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
    # permuting the columns of X with the groups relabelled permutes the solution
    cols = rng.permutation(N)
    inv = np.argsort(cols)
    c = GroupLasso(alpha=alpha, groups=[inv[g] for g in groups], tol=1e-14).fit(X[:, cols], y)
    np.testing.assert_allclose(c.coef_[inv], a.coef_, atol=1e-7)


def test_screening_does_not_change_the_solution():
    X, y = _problem(n=60, N=80, seed=3)
    groups = [np.arange(4 * k, 4 * k + 4) for k in range(20)]
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    alpha = 0.3 * _alpha_max(X, y, groups, np.full(20, 2.0))
    on = solve_group_lasso(Xc, yc, groups, alpha, tol=1e-12, screening=True)
    off = solve_group_lasso(Xc, yc, groups, alpha, tol=1e-12, screening=False)
    assert on["converged"] and off["converged"]
    assert on["n_screened"] > 0
    np.testing.assert_allclose(on["w"], off["w"], atol=1e-8)


def test_float32_in_float32_out():
    X, y = _problem(n=50, N=20, seed=4)
    groups = 4
    alpha = 0.05
    g64 = GroupLasso(alpha=alpha, groups=groups, tol=1e-10).fit(X, y)
    g32 = GroupLasso(alpha=alpha, groups=groups, tol=1e-6).fit(X.astype(np.float32),
                                                               y.astype(np.float32))
    assert g32.coef_.dtype == np.float32
    assert np.asarray(g32.intercept_).dtype == np.float32
    assert g32.predict(X.astype(np.float32)).dtype == np.float32
    np.testing.assert_allclose(g32.coef_, g64.coef_, atol=2e-3)


def test_warm_start_and_int_group_size_remainder():
    X, y = _problem(n=40, N=11)
    gl = GroupLasso(alpha=0.05, groups=4, tol=1e-12, warm_start=True).fit(X, y)
    first = gl.coef_.copy()
    gl.fit(X, y)
    assert gl.n_iter_ == 1  # already optimal: certified at the first gap check
    np.testing.assert_allclose(gl.coef_, first, atol=1e-10)
    explicit = [np.arange(0, 4), np.arange(4, 8), np.arange(8, 11)]
    ref = GroupLasso(alpha=0.05, groups=explicit, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(first, ref.coef_, atol=1e-10)


def test_convergence_warning_reports_the_gap():
    X, y = _problem(n=60, N=40, seed=5)
    with pytest.warns(ConvergenceWarning, match="GroupLasso did not converge: duality gap "
                                                 "reached"):
        gl = GroupLasso(alpha=0.01, groups=2, tol=1e-15, max_iter=1).fit(X, y)
    assert gl.dual_gap_ > 0


def test_inputs_not_mutated():
    X, y = _problem()
    X0, y0 = X.copy(), y.copy()
    groups = [np.arange(12), np.arange(12, 24)]
    GroupLasso(alpha=0.1, groups=groups).fit(X, y)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    np.testing.assert_array_equal(groups[0], np.arange(12))


@pytest.mark.parametrize("kwargs, match", [
    (dict(groups=[np.arange(5), np.arange(4, 8)]), "groups overlap"),
    (dict(groups=[np.arange(5), np.arange(5, 7)]), "groups do not cover"),
    (dict(groups=[np.arange(5), np.arange(5, 9)]), r"groups\[1\] holds indices outside"),
    (dict(groups=[np.arange(8), []]), r"groups\[1\] must be a non-empty"),
    (dict(groups=[np.arange(8.0)]), r"groups\[0\] must be a non-empty 1-D array of integer"),
    (dict(groups=0), "'groups' parameter"),
    (dict(alpha=-1.0), "'alpha' parameter"),
    (dict(groups=4, weights=[1.0]), "weights must have one entry per group"),
    (dict(groups=4, weights=[1.0, -1.0]), "weights must be positive"),
])
def test_bad_input_names_the_argument(kwargs, match):
    X, y = _problem(n=20, N=8)
    with pytest.raises(ValueError, match=match):
        GroupLasso(**kwargs).fit(X, y)


def test_non_finite_X_rejected():
    X, y = _problem(n=20, N=8)
    X[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        GroupLasso(groups=2).fit(X, y)


@pytest.mark.parametrize("fmt", ["csc", "csr"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_sparse_design_equals_dense(fmt, fit_intercept):
    import scipy.sparse as sp

    rng = np.random.default_rng(6)
    X = sp.random(80, 40, density=0.3, random_state=6, format=fmt)
    w = np.zeros(40)
    w[:8] = rng.standard_normal(8)
    y = X @ w + 0.05 * rng.standard_normal(80) + 1.0
    kw = dict(alpha=0.01, groups=4, tol=1e-13, fit_intercept=fit_intercept)
    a = GroupLasso(**kw).fit(X, y)
    b = GroupLasso(**kw).fit(X.toarray(), y)
    assert 0 < np.count_nonzero(a.coef_) < 40
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-8)
    assert abs(a.intercept_ - b.intercept_) < 1e-8
    np.testing.assert_allclose(a.predict(X), b.predict(X.toarray()), atol=1e-8)
    c = GroupLasso(**kw).fit(X.astype(np.float32), y.astype(np.float32))
    assert c.coef_.dtype == np.float32 and np.asarray(c.intercept_).dtype == np.float32
    np.testing.assert_allclose(c.coef_, b.coef_, atol=1e-3)


def test_groups_as_labels():
    X, y = _problem(n=40, N=12)
    labels = np.repeat([7, 3, 5], 4)  # groups in the order of the sorted labels
    a = GroupLasso(alpha=0.05, groups=labels, tol=1e-13).fit(X, y)
    b = GroupLasso(alpha=0.05, groups=4, tol=1e-13).fit(X, y)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-10)
    with pytest.raises(ValueError, match="groups, given as one integer label per feature"):
        GroupLasso(groups=np.zeros(5, dtype=int)).fit(X, y)
