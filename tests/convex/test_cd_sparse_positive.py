"""AndersonCD: CSR designs solved without a CSC copy, and the one-sided dual
point of non-negative fits with unpenalised (weight-0) features.

References: an exact bound-constrained least-squares solve (scipy
``lsq_linear``, BVLS) of the non-negative weighted Lasso, the KKT conditions,
the duality gap recomputed here from the returned coefficients, and the same
fit on the dense / CSC form of the design.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import lsq_linear
from sklearn.exceptions import ConvergenceWarning

from sparsecode import Lasso, WeightedLasso, alpha_max
from sparsecode.convex import _fit
from sparsecode.convex._solvers import cd


# ---------------------------------------------------------------------------
# positive=True with unpenalised features (issue 3, item 4)
# ---------------------------------------------------------------------------
def _positive_problem(seed=0, n=40, N=8):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, N))
    w = np.array([1.5, -2.0, 0.0, 0.7, 0.0, 0.0, -1.0, 0.3])[:N]
    y = X @ w + 0.3 * rng.standard_normal(n) + 1.0
    weights = np.ones(N)
    weights[[1, 3]] = 0.0  # unpenalised; feature 1 would like a negative coefficient
    return X, y, weights


def _bvls_reference(X, y, alpha, weights, fit_intercept):
    """Exact solution of min ||y - Xw - b||^2/(2n) + alpha sum_j weights_j w_j, w >= 0.

    On w >= 0 the penalty is linear, so with A = X/sqrt(n) (full column rank)
    the objective is ||A w - z||^2 / 2 + const with A^T z = X^T y / n - alpha
    weights: a bound-constrained least-squares problem that BVLS solves
    exactly (finite active-set method).
    """
    n = X.shape[0]
    xm = X.mean(0) if fit_intercept else np.zeros(X.shape[1])
    ym = y.mean() if fit_intercept else 0.0
    Xc, yc = X - xm, y - ym
    A = Xc / np.sqrt(n)
    z = A @ np.linalg.solve(A.T @ A, Xc.T @ yc / n - alpha * weights)
    w = lsq_linear(A, z, bounds=(0, np.inf), method="bvls", tol=1e-15).x
    return w, ym - xm @ w


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_positive_with_unpenalised_features_closes_the_gap(fmt, fit_intercept):
    X, y, weights = _positive_problem()
    n = X.shape[0]
    a = alpha_max(X, y, weights=weights, positive=True, fit_intercept=fit_intercept) / 5
    Xf = X if fmt == "dense" else getattr(sp, f"{fmt}_matrix")(X)
    tol = 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m = WeightedLasso(alpha=a, weights=weights, positive=True, tol=tol,
                          fit_intercept=fit_intercept).fit(Xf, y)
    ref_w, ref_b = _bvls_reference(X, y, a, weights, fit_intercept)
    np.testing.assert_allclose(m.coef_, ref_w, atol=1e-8)
    assert abs(m.intercept_ - ref_b) <= 1e-8 * max(1.0, abs(ref_b))
    yc = y - y.mean() if fit_intercept else y
    P0 = yc @ yc / (2 * n)
    assert 0 <= m.dual_gap_ + 1e-15 * P0 and m.dual_gap_ <= tol * P0
    # the case the old certificate got wrong: an unpenalised feature held at
    # its bound w_j = 0 with x_j^T r < 0 strictly (its constraint inactive)
    r = y - X @ m.coef_ - m.intercept_
    c = X.T @ r / n
    assert m.coef_[1] == 0 and c[1] < -1e-3
    # KKT of the non-negative weighted Lasso
    thr = a * weights
    S = m.coef_ > 0
    np.testing.assert_allclose(c[S], thr[S], atol=1e-8)
    assert np.all(c[~S] <= thr[~S] + 1e-8)


def test_positive_unpenalised_dual_point_is_feasible():
    """The projected dual point satisfies the one-sided constraints."""
    X, y, weights = _positive_problem(seed=3)
    n = X.shape[0]
    rng = np.random.default_rng(0)
    proj = cd._DualProjector(X, None, np.flatnonzero(weights == 0), True, n)
    for _ in range(20):  # arbitrary (non-optimal) iterates
        w = np.maximum(rng.standard_normal(X.shape[1]), 0.0)
        R = y - X @ w
        Rp, cp = proj.project(R, X.T @ R / n, w)
        np.testing.assert_allclose(cp, X.T @ Rp / n, atol=1e-12)
        free = np.flatnonzero(weights == 0)
        assert np.all(X[:, free].T @ Rp <= 1e-10)
        active = free[w[free] > 0]
        np.testing.assert_allclose(X[:, active].T @ Rp, 0.0, atol=1e-10)


# ---------------------------------------------------------------------------
# CSR designs
# ---------------------------------------------------------------------------
def _sparse_problem(n=80, N=300, density=0.05, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, N, density=density, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(N)
    w[rng.choice(N, 8, replace=False)] = rng.standard_normal(8)
    y = X @ w + 0.05 * rng.standard_normal(n) + 0.5
    return X, y


def _lasso_gap(X, y, w, alpha):
    """Gap of ||y - Xw||^2/(2n) + alpha ||w||_1 from scratch (no intercept)."""
    n = X.shape[0]
    r = y - X @ w
    primal = r @ r / (2 * n) + alpha * np.abs(w).sum()
    s = max(n, float(np.max(np.abs(X.T @ r))) / alpha)
    d = y - n * r / s
    return primal - (y @ y - d @ d) / (2 * n), y @ y / (2 * n)


def test_csr_design_is_not_converted_to_csc():
    X, y = _sparse_problem()
    prep = _fit.Prepared(X, y[:, None], "quad", True, None)
    assert prep.X.format == "csr"


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("sample_weight", [False, True])
def test_csr_equals_csc_and_dense(fit_intercept, sample_weight):
    X, y = _sparse_problem()
    N = X.shape[1]
    weights = np.random.default_rng(1).uniform(0.5, 2.0, N)
    weights[[0, 5]] = 0.0
    weights[[2, 9]] = np.inf
    sw = np.random.default_rng(2).uniform(0.2, 3.0, X.shape[0]) if sample_weight else None
    a = alpha_max(X, y, weights=weights, fit_intercept=fit_intercept, sample_weight=sw) / 10
    fits = {}
    for name, Xf in (("csr", X), ("csc", X.tocsc()), ("dense", X.toarray())):
        fits[name] = WeightedLasso(alpha=a, weights=weights, tol=1e-12,
                                   fit_intercept=fit_intercept).fit(Xf, y, sample_weight=sw)
    for name in ("csc", "dense"):
        np.testing.assert_allclose(fits["csr"].coef_, fits[name].coef_, atol=1e-8)
        np.testing.assert_allclose(fits["csr"].intercept_, fits[name].intercept_, atol=1e-8)
    assert np.all(fits["csr"].coef_[[2, 9]] == 0)


def test_csr_gap_recomputed_from_scratch():
    X, y = _sparse_problem(n=200, N=2000, density=0.01, seed=4)
    y = y - y.mean()
    a = float(np.max(np.abs(X.T @ y))) / X.shape[0] / 20
    m = Lasso(alpha=a, fit_intercept=False, tol=1e-10).fit(X, y)
    gap, P0 = _lasso_gap(X, y, m.coef_, a)
    assert gap <= 1e-10 * P0 * (1 + 1e-6) + 1e-15
    np.testing.assert_allclose(m.dual_gap_, gap, atol=1e-12 * P0)


def test_noncanonical_csr_and_input_untouched():
    X, y = _sparse_problem(seed=5)
    # duplicate entries (summed by scipy) and unsorted column indices: each
    # row holds its entries twice, halved, the first copy in reverse order
    data, ind, ptr = [], [], [0]
    for i in range(X.shape[0]):
        sl = slice(X.indptr[i], X.indptr[i + 1])
        d, j = X.data[sl], X.indices[sl]
        data += list(0.5 * d[::-1]) + list(0.5 * d)
        ind += list(j[::-1]) + list(j)
        ptr.append(len(data))
    Xnc = sp.csr_matrix((np.array(data), np.array(ind, dtype=np.int32),
                         np.array(ptr, dtype=np.int32)), shape=X.shape)
    assert not Xnc.has_canonical_format
    before = (Xnc.data.copy(), Xnc.indices.copy(), Xnc.indptr.copy())
    a = alpha_max(X, y) / 10
    ref = Lasso(alpha=a, tol=1e-12).fit(X, y)
    got = Lasso(alpha=a, tol=1e-12).fit(Xnc, y)
    np.testing.assert_allclose(got.coef_, ref.coef_, atol=1e-8)
    np.testing.assert_allclose(got.intercept_, ref.intercept_, atol=1e-8)
    for arr, old in zip((Xnc.data, Xnc.indices, Xnc.indptr), before):
        np.testing.assert_array_equal(arr, old)


def test_csr_float32():
    X, y = _sparse_problem(seed=6)
    a = alpha_max(X, y) / 10
    m64 = Lasso(alpha=a, tol=1e-10).fit(X, y)
    m32 = Lasso(alpha=a, tol=1e-8).fit(X.astype(np.float32), y.astype(np.float32))
    assert m32.coef_.dtype == np.float32
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=2e-3)


def test_col_sqnorms_all_formats():
    X, _ = _sparse_problem(n=30, N=60, density=0.05, seed=7)  # has empty columns
    ref = (X.toarray() ** 2).sum(0)
    assert np.any(ref == 0)
    for Xf in (X, X.tocsc(), X.tocoo(), X.toarray()):
        np.testing.assert_allclose(cd.col_sqnorms(Xf), ref, rtol=1e-14)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), div=st.sampled_from([2.0, 5.0, 30.0]),
       positive=st.booleans())
def test_csr_objective_equals_dense_property(seed, div, positive):
    X, y = _sparse_problem(n=40, N=120, density=0.08, seed=seed)
    a = alpha_max(X, y, positive=positive) / div
    if a == 0:
        return
    ms = Lasso(alpha=a, positive=positive, tol=1e-12).fit(X, y)
    md = Lasso(alpha=a, positive=positive, tol=1e-12).fit(X.toarray(), y)

    def obj(m):
        r = y - X @ m.coef_ - m.intercept_
        return r @ r / (2 * len(y)) + a * np.abs(m.coef_).sum()

    assert abs(obj(ms) - obj(md)) <= 1e-9 * obj(md)
