"""Regression tests of issue 11 ("no silent wrong answers"), convex family."""

import warnings

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.exceptions import ConvergenceWarning

from sparsecode import sparse_encode
from sparsecode.convex import (MCP, SCAD, LADLasso, Lasso, LossOMP, Lq, PenalizedRegression,
                               Quadratic, SqrtLasso, WeightedLasso, alpha_max, lasso_path,
                               penalized_path, weighted_lasso_path)
from sparsecode.datasets import make_sparse_coded_signal


# -- 1. LAD-Lasso encoder on float32 -------------------------------------------------------

def _lad_objective(Y, D, C, alpha):
    return np.abs(Y - C @ D).sum(axis=1) + alpha * np.abs(C).sum(axis=1)


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_lad_lasso_encoder_float32_matches_float64_objective(alpha):
    # the single-precision Newton matrix of the early IPM iterations lost
    # its definiteness on 9 of these 200 signals at alpha=0.01 (signal 1 at
    # alpha=0.1): LinAlgError.  Every signal is encoded in float32 (the
    # float32-rounded data are nearly degenerate and take the HiGHS
    # fallback, so this is the slow part); the float64 reference is the
    # same problem on the original data
    Y, D, _ = make_sparse_coded_signal(200, n_components=32, n_features=16,
                                       n_nonzero_coefs=3, random_state=0)
    rows = np.r_[1, 28, 56, 102, 157, 159, 162, 182, 185, 186] if alpha == 0.1 else \
        np.arange(200)
    Y = Y[rows]
    Y32, D32 = Y.astype(np.float32), D.astype(np.float32)
    c32 = sparse_encode(Y32, D32, algorithm="lad_lasso", alpha=alpha)
    assert c32.dtype == np.float32
    c64 = sparse_encode(Y, D, algorithm="lad_lasso", alpha=alpha)
    o32 = _lad_objective(Y, D, c32.astype(np.float64), alpha)
    o64 = _lad_objective(Y, D, c64, alpha)
    # within float32 rounding of the data and of the codes
    scale = np.abs(Y).sum(axis=1) + alpha * np.abs(c64).sum(axis=1)
    np.testing.assert_array_less(np.abs(o32 - o64), 1e-5 * scale)


# -- 2. square-root Lasso ---------------------------------------------------------------------

def test_sqrt_lasso_float32_converges_like_float64():
    # float32 stalled at a gap ~7e-3 for 100 alternations; float64 needs 4
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 40))
    w = rng.standard_normal(40) * (rng.random(40) < 0.3)
    y = X @ w + 1e-3 * rng.standard_normal(120)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m64 = SqrtLasso(alpha=0.01).fit(X, y)
        m32 = SqrtLasso(alpha=0.01).fit(X.astype(np.float32), y.astype(np.float32))
    assert m32.coef_.dtype == np.float32
    assert m32.n_iter_ <= m64.n_iter_ + 2
    assert m32.dual_gap_ <= 1e-4 * np.linalg.norm(y) / np.sqrt(120)
    np.testing.assert_allclose(m32.coef_, m64.coef_, atol=1e-4 * np.abs(m64.coef_).max())


def _basis_pursuit_value(D, x):
    A = D.T
    N = A.shape[1]
    res = linprog(np.ones(2 * N), A_eq=np.hstack([A, -A]), b_eq=x, bounds=(0, None),
                  method="highs")
    assert res.status == 0
    return res.fun


def test_sqrt_lasso_encoder_zero_residual_optimum_is_basis_pursuit():
    # with a small alpha the optimum interpolates the signal: the objective
    # is alpha * (basis-pursuit value); the concomitant CD stalled 12-75 %
    # above it, and C and F order gave different codes
    rng = np.random.default_rng(0)
    n, N = 20, 50
    D = rng.standard_normal((N, n))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((3, N))
    for i in range(3):
        C[i, rng.choice(N, 3, replace=False)] = rng.standard_normal(3)
    X = C @ D
    alpha = 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        codes = sparse_encode(X, D, algorithm="sqrt_lasso", alpha=alpha)
    codes_f = sparse_encode(np.asfortranarray(X), np.asfortranarray(D),
                            algorithm="sqrt_lasso", alpha=alpha)
    np.testing.assert_allclose(codes_f, codes, rtol=0, atol=1e-9)
    for i in range(3):
        obj = np.linalg.norm(X[i] - codes[i] @ D) + alpha * np.abs(codes[i]).sum()
        bp = alpha * _basis_pursuit_value(D, X[i])
        assert obj <= bp * (1 + 1e-7)
        # and no lower than the optimum (basis pursuit is optimal here:
        # the objective is >= alpha ||c||_1 >= alpha bp whenever r = 0, and
        # the returned code certifies r = 0)
        assert obj >= bp * (1 - 1e-7)


def test_sqrt_lasso_encoder_c_and_f_order_agree_noisy():
    rng = np.random.default_rng(1)
    D = rng.standard_normal((30, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((5, 12))
    a = sparse_encode(X, D, algorithm="sqrt_lasso", alpha=0.3)
    b = sparse_encode(np.asfortranarray(X), np.asfortranarray(D), algorithm="sqrt_lasso",
                      alpha=0.3)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)


# -- 3. scale -----------------------------------------------------------------------------------

def _scale_problem():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 20))
    w = np.zeros(20)
    w[:3] = [2.0, -1.0, 1.5]
    return X, X @ w + 0.1 * rng.standard_normal(50)


SCALES = [1e-150, 1e-60, 1e60, 1e150, 1e200]


@pytest.mark.parametrize("s", SCALES)
@pytest.mark.parametrize("make", [
    # penalty for targets y * s: every threshold scales with s (degree 1)
    lambda s: MCP(alpha=0.3 * s, gamma=3.0),
    lambda s: SCAD(alpha=0.3 * s, gamma=3.7),
    # Lq: alpha |w|^q against (1/2n)||r||^2 scales as s^(2 - q)
    lambda s: Lq(alpha=0.3 * s ** 1.5, q=0.5),
], ids=["mcp", "scad", "lq"])
def test_nonconvex_estimators_are_equivariant_in_y(make, s):
    X, y = _scale_problem()
    ref = PenalizedRegression(datafit=Quadratic(), penalty=make(1.0)).fit(X, y)
    est = PenalizedRegression(datafit=Quadratic(), penalty=make(s)).fit(X, y * s)
    assert np.all(np.isfinite(est.coef_))
    np.testing.assert_allclose(est.coef_ / s, ref.coef_, rtol=1e-6,
                               atol=1e-8 * np.abs(ref.coef_).max())
    np.testing.assert_allclose(est.intercept_ / s, ref.intercept_, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("s", [1e-150, 1e-60, 1e60, 1e150])
@pytest.mark.parametrize("make", [
    # X * s, y * s: w unchanged; alpha scales as s^2 (MCP also needs gamma / s^2)
    lambda s: Lq(alpha=0.3 * s ** 2, q=0.5),
    lambda s: MCP(alpha=0.3 * s ** 2, gamma=3.0),
], ids=["lq", "mcp"])
def test_nonconvex_estimators_with_x_and_y_scaled(make, s):
    X, y = _scale_problem()
    ref = PenalizedRegression(datafit=Quadratic(), penalty=make(1.0)).fit(X, y)
    pen = make(s)
    if isinstance(pen, MCP):
        # MCP's concavity 1/gamma competes with ||x_j||^2 / n: at X * s the
        # equivalent penalty has gamma / s^2, below the admissible 1 for s > 1
        if s > 1:
            pytest.skip("gamma / s^2 < 1 is not an admissible MCP")
        pen.gamma = 3.0 / s ** 2
    est = PenalizedRegression(datafit=Quadratic(), penalty=pen).fit(X * s, y * s)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-6,
                               atol=1e-8 * np.abs(ref.coef_).max())


@pytest.mark.parametrize("pen", [MCP(alpha=0.1), SCAD(alpha=0.1), Lq(alpha=0.1, q=0.5)],
                         ids=["mcp", "scad", "lq"])
@pytest.mark.parametrize("s", [1e-200, 1e200])
def test_nonconvex_at_extreme_scale_never_nan(pen, s):
    # X and y at 1e200 gave NaN coefficients: now finite answers or an error
    # naming the cause
    X, y = _scale_problem()
    try:
        est = PenalizedRegression(datafit=Quadratic(), penalty=pen).fit(X * s, y * s)
    except ValueError as exc:
        assert "X" in str(exc) and "float64" in str(exc)
    else:
        assert np.all(np.isfinite(est.coef_)) and np.isfinite(est.intercept_)


@pytest.mark.parametrize("s", [1e-150, 1e-60, 1e60, 1e150, 1e200])
def test_alpha_max_scales_with_y(s):
    X, y = _scale_problem()
    ref = alpha_max(X, y)
    np.testing.assert_allclose(alpha_max(X, y * s), ref * s, rtol=1e-12)
    for datafit in ("sqrt", "lad"):
        np.testing.assert_allclose(alpha_max(X, y * s, datafit=datafit),
                                   alpha_max(X, y, datafit=datafit), rtol=1e-10)


@pytest.mark.parametrize("s", [1e-150, 1e-60, 1e60, 1e150, 1e200])
def test_alpha_max_with_x_and_y_scaled(s):
    X, y = _scale_problem()
    ref = alpha_max(X, y)
    if ref * s * s == np.inf or ref * s * s < np.finfo(float).tiny:
        # the answer is not a float64: an error naming the cause, not NaN
        with pytest.raises(ValueError, match="alpha_max.*float64 range"):
            alpha_max(X * s, y * s)
    else:
        np.testing.assert_allclose(alpha_max(X * s, y * s), ref * s * s, rtol=1e-12)
    np.testing.assert_allclose(alpha_max(X * s, y * s, datafit="sqrt"),
                               alpha_max(X, y, datafit="sqrt") * s, rtol=1e-10)


@pytest.mark.parametrize("s", [1e-150, 1e150, 1e200])
def test_lasso_equivariant_in_y(s):
    X, y = _scale_problem()
    a = 0.1 * alpha_max(X, y)
    ref = Lasso(alpha=a, tol=1e-10).fit(X, y)
    est = Lasso(alpha=a * s, tol=1e-10).fit(X, y * s)
    np.testing.assert_allclose(est.coef_ / s, ref.coef_, rtol=1e-7,
                               atol=1e-10 * np.abs(ref.coef_).max())


# -- 4. paths at y = 0 and X = 0 ----------------------------------------------------------------

@pytest.mark.parametrize("case", ["y0", "X0"])
@pytest.mark.parametrize("path", ["lasso", "weighted", "penalized"])
def test_paths_without_signal_have_zero_gaps(case, path):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 5)), rng.standard_normal(20)
    if case == "y0":
        y = np.zeros_like(y)
    else:
        X = np.zeros_like(X)
    if path == "lasso":
        alphas, coefs, gaps = lasso_path(X, y, n_alphas=5)
    elif path == "weighted":
        alphas, coefs, gaps = weighted_lasso_path(X, y, np.ones(5), n_alphas=5)
    else:
        alphas, coefs, gaps = penalized_path(X, y, n_alphas=5)
    for arr in (alphas, coefs, gaps):
        assert not np.any(np.isnan(arr))
    assert np.all(coefs == 0)
    np.testing.assert_allclose(gaps, 0.0, atol=1e-12)


def test_lad_alpha_zero_with_zero_column_does_not_raise():
    # the IPM's Newton matrix is singular there: HiGHS takes over
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 4)), rng.standard_normal(20)
    X[:, 1] = 0.0
    coef = LADLasso(alpha=0.0).fit(X, y).coef_
    assert coef[1] == 0.0 and np.all(np.isfinite(coef))


# -- 5. WeightedLasso at alpha_max with unpenalised columns --------------------------------

@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("seed", [0, 3])
def test_weighted_lasso_at_alpha_max_is_exactly_zero(seed, fit_intercept):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((40, 10))
    y = X[:, :4] @ np.array([1.0, 2.0, -1.0, 3.0]) + rng.standard_normal(40)
    w = np.ones(10)
    w[:2] = 0.0
    am = alpha_max(X, y, weights=w, fit_intercept=fit_intercept)
    est = WeightedLasso(alpha=am, weights=w, fit_intercept=fit_intercept).fit(X, y)
    assert np.all(est.coef_[2:] == 0.0)
    # the unpenalised part is the least-squares fit on those columns
    B = np.hstack([X[:, :2], np.ones((40, 1))]) if fit_intercept else X[:, :2]
    sol = np.linalg.lstsq(B, y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_[:2], sol[:2], rtol=1e-10)
    if fit_intercept:
        np.testing.assert_allclose(est.intercept_, sol[2], rtol=1e-10, atol=1e-12)
    # just below alpha_max a penalised coefficient enters
    below = WeightedLasso(alpha=0.99 * am, weights=w, fit_intercept=fit_intercept,
                          tol=1e-10).fit(X, y)
    assert np.any(below.coef_[2:] != 0)


# -- 6. LossOMP with k > n_features -----------------------------------------------------------

def test_loss_omp_rejects_k_above_n_features():
    from sparsecode.convex import loss_omp

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 8)), rng.standard_normal(30)
    with pytest.raises(ValueError, match="n_nonzero_coefs=12 exceeds n_features=8"):
        LossOMP(n_nonzero_coefs=12).fit(X, y)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        loss_omp(X, y, n_nonzero_coefs=9)
    assert np.count_nonzero(LossOMP(n_nonzero_coefs=8).fit(X, y).coef_) <= 8


# -- 7. LADLasso default alpha ------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lad_lasso_default_alpha_selects_the_support_on_standardised_data(seed):
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(seed)
    n, p = 100, 20
    X = StandardScaler().fit_transform(rng.standard_normal((n, p)) * rng.uniform(0.1, 10, p))
    w = np.zeros(p)
    w[:3] = [2.0, -1.5, 1.0]
    y = X @ w + 0.5 * rng.standard_normal(n)
    est = LADLasso().fit(X, y)
    assert 0 < est.alpha_ < alpha_max(X, y, datafit="lad")
    # strong effects (>= 2 noise levels, n = 100) enter
    assert set(np.flatnonzero(est.coef_)) >= {0, 1, 2}
    # the default follows the scale of X (alpha has the units of X)
    assert LADLasso().fit(3 * X, y).alpha_ == pytest.approx(3 * est.alpha_, rel=1e-12)
    assert LADLasso().fit(X, 5 * y).alpha_ == est.alpha_


def test_lad_lasso_explicit_alpha_kept():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    assert LADLasso(alpha=0.2).fit(X, y).alpha_ == 0.2


# -- 8. compiled kernels: size types ------------------------------------------------------------

def test_convex_extension_uses_size_types():
    # lengths and indices must not pass through a C int (overflow past 2**31):
    # BLAS lengths are chunked, loop indices are Py_ssize_t, no unchecked malloc
    import pathlib
    import re

    src = (pathlib.Path(__file__).resolve().parents[2] / "_ext" / "_convex.pyx")
    if not src.exists():
        pytest.skip("source tree not available")
    text = src.read_text()
    assert "malloc(" not in text or "MemoryError" in text
    assert not re.search(r"<int>\s*\w+\.shape", text)
    assert not re.search(r"cdef (int|long) [^\n]*\b(p|i|j|epoch|nnz_ws)\b", text)
    assert re.search(r"\bcdef long\b", text) is None


# -- 3b. LAD at any scale (the LP solvers use absolute tolerances) ----------------------------

@pytest.mark.parametrize("s", [1e-150, 1e-20, 1e20, 1e150])
def test_lad_lasso_encoder_scale_equivariant(s):
    # codes below 1e-14 were zeroed (an absolute threshold) and HiGHS failed
    # ("Model error", "unbounded") on badly scaled LPs
    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 20))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((3, 40))
    for i in range(3):
        C[i, rng.choice(40, 3, replace=False)] = rng.uniform(1, 2, 3)
    X = C @ D
    ref = sparse_encode(X, D, algorithm="lad_lasso", alpha=0.3)
    assert np.any(ref != 0)
    np.testing.assert_allclose(sparse_encode(X * s, D, algorithm="lad_lasso", alpha=0.3) / s,
                               ref, rtol=1e-9, atol=1e-12)
    # dictionary scaled: codes / s with alpha * s
    np.testing.assert_allclose(
        sparse_encode(X, D * s, algorithm="lad_lasso", alpha=0.3 * s) * s, ref, rtol=1e-9,
        atol=1e-12)


@pytest.mark.parametrize("s", [1e-15, 1e-60, 1e60])
def test_lad_lasso_estimator_scale_equivariant_in_y(s):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 10))
    y = X[:, :3] @ np.array([2.0, -1.0, 1.5]) + 0.1 * rng.standard_normal(40)
    ref = LADLasso(alpha=0.05).fit(X, y)
    est = LADLasso(alpha=0.05).fit(X, y * s)
    np.testing.assert_allclose(est.coef_ / s, ref.coef_, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(est.intercept_ / s, ref.intercept_, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("s", [1e-150, 1e-60, 1e60, 1e200])
@pytest.mark.parametrize("path", ["lasso", "lad"])
def test_paths_scale_with_y(path, s):
    # the paths bypassed the rescaling of the fits: NaN (lasso, 1e200) and
    # HiGHS "Model error" / "unbounded" (LAD) far from unit scale
    from sparsecode.convex import lad_lasso_path

    X, y = _scale_problem()
    f = lasso_path if path == "lasso" else lad_lasso_path
    a0, c0, _ = f(X, y, n_alphas=4)
    a1, c1, g1 = f(X, y * s, n_alphas=4)
    d = 1 if path == "lasso" else 0  # alpha scales as y (quadratic) or not at all (LAD)
    np.testing.assert_allclose(a1, a0 * s ** d, rtol=1e-10)
    np.testing.assert_allclose(c1 / s, c0, rtol=1e-6, atol=1e-9 * np.abs(c0).max())
    assert not np.any(np.isnan(g1))
    # the gaps are in the objective's units (y^2 for the quadratic datafit):
    # finite wherever the objective itself is
    if path == "lad" or s <= 1e150:
        assert np.all(np.isfinite(g1))
