"""Working-set growth and the early inner stop of AndersonCD (large supports).

References: scikit-learn ``Lasso`` objective and the duality gap computed
here from the returned coefficients; the Numba kernel for the compiled one
(iterate for iterate); an orthogonal design, on which one CD epoch solves the
working-set problem exactly (so the early check must stop at epoch 2).
"""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import Lasso as SkLasso

from sparsecode.convex import Lasso
from sparsecode.convex import _prox as P
from sparsecode.convex._solvers import cd

try:
    from sparsecode._ext import _convex as C
except ImportError:  # pragma: no cover - extension not built
    C = None


def _objective(X, y, w, alpha):
    r = y - X @ w
    return r @ r / (2 * len(y)) + alpha * np.abs(w).sum()


def _rel_gap(X, y, w, alpha):
    n = len(y)
    r = y - X @ w
    primal = r @ r / (2 * n) + alpha * np.abs(w).sum()
    s = max(n, float(np.max(np.abs(X.T @ r))) / alpha)
    d = y - n * r / s
    return (primal - (y @ y - d @ d) / (2 * n)) / (y @ y / (2 * n))


def _large_support(seed, n=300, N=400, density=0.05, fmt="csr"):
    """A sparse design whose solution at alpha_max/100 has a support of ~n/3."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, N, density=density, format=fmt, random_state=seed,
                  data_rvs=rng.standard_normal)
    w = np.zeros(N)
    w[rng.choice(N, 40, replace=False)] = rng.standard_normal(40)
    y = X @ w + 0.1 * rng.standard_normal(n)
    y -= y.mean()
    alpha = float(np.max(np.abs(X.T @ y))) / n / 100
    return X, y, alpha


def test_grown_size_rule():
    # saturated (nnz >= 0.75 of the last working set): grow 4x the support
    assert cd._grown_size(80, 100) == 4 * 80
    assert cd._grown_size(100, 100) == 400
    # not saturated, or the first round: the doubling rule alone
    assert cd._grown_size(50, 100) == 0
    assert cd._grown_size(80, 0) == 0
    prio = np.arange(20.0)
    excluded = np.zeros(20, dtype=bool)
    # p0 = 2, nnz = 3 of a last working set of 4 (saturated): 12 features,
    # the 12 of highest priority
    ws = cd._ws_select_prio(prio.copy(), 3, 0, excluded, 2, 20, prev_size=4)
    np.testing.assert_array_equal(ws, np.arange(8, 20))
    ws = cd._ws_select_prio(prio.copy(), 3, 0, excluded, 2, 20, prev_size=10)
    np.testing.assert_array_equal(ws, np.arange(14, 20))  # 2 nnz


@pytest.mark.parametrize("fmt", ["csr", "csc", "dense"])
def test_large_support_matches_sklearn(fmt):
    X, y, alpha = _large_support(0, fmt="csr" if fmt == "dense" else fmt)
    if fmt == "dense":
        X = np.asfortranarray(X.toarray())
    ours = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=200).fit(X, y)
    ref = SkLasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=200_000).fit(X, y)
    nnz = np.count_nonzero(ours.coef_)
    assert nnz > 60  # a large support: the saturation growth is exercised
    f_o = _objective(X, y, ours.coef_, alpha)
    f_r = _objective(X, y, ref.coef_, alpha)
    assert f_o <= f_r + 1e-9 * (y @ y / (2 * len(y)))
    assert _rel_gap(X, y, ours.coef_, alpha) <= 1e-9
    assert ours.dual_gap_ <= 1e-10 * (y @ y / (2 * len(y))) * 1.0001


def test_growth_rule_same_solution(monkeypatch):
    X, y, alpha = _large_support(3)
    a = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=200).fit(X, y)
    monkeypatch.setattr(cd, "_WS_GROW", 0)  # doubling only, as before
    monkeypatch.setattr(cd, "_EARLY", 0.0)  # no early inner stop
    b = Lasso(alpha=alpha, fit_intercept=False, tol=1e-10, max_iter=200).fit(X, y)
    np.testing.assert_allclose(_objective(X, y, a.coef_, alpha),
                               _objective(X, y, b.coef_, alpha), rtol=1e-9)
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2 ** 31 - 1), intercept=st.booleans(), positive=st.booleans(),
       int64=st.booleans())
def test_large_support_gap_property(seed, intercept, positive, int64):
    """Any seed, with/without intercept and sign constraint, int32 (compiled
    kernel) or int64 (Numba kernel) indices: the returned gap is below tol and
    the objective is scikit-learn's."""
    X, y, alpha = _large_support(seed, n=150, N=200, density=0.08)
    y = y + 3.0
    if int64:
        X = sp.csr_matrix((X.data, X.indices.astype(np.int64), X.indptr.astype(np.int64)),
                          shape=X.shape)
    ours = Lasso(alpha=alpha, fit_intercept=intercept, positive=positive, tol=1e-9,
                 max_iter=200).fit(X, y)
    ref = SkLasso(alpha=alpha, fit_intercept=intercept, positive=positive, tol=1e-12,
                  max_iter=200_000).fit(X, y)
    yc = y - y.mean() if intercept else y

    def obj(m):
        r = y - X @ m.coef_ - m.intercept_
        return r @ r / (2 * len(y)) + alpha * np.abs(m.coef_).sum()

    assert obj(ours) <= obj(ref) + 2e-9 * (yc @ yc / (2 * len(y)))
    assert ours.dual_gap_ <= 1e-9 * (yc @ yc / (2 * len(y))) * 1.0001


def _orthogonal_args(sparse):
    rng = np.random.default_rng(0)
    n, N = 60, 20
    Q, _ = np.linalg.qr(rng.standard_normal((n, N)))
    Xd = Q * np.sqrt(n)
    y = Xd[:, :5] @ rng.standard_normal(5) + 0.1 * rng.standard_normal(n)
    if sparse:
        X = sp.csc_matrix(Xd)
        XT = np.zeros((1, 1))
        data, ind, ptr = X.data, X.indices.astype(np.int32), X.indptr.astype(np.int32)
    else:
        XT = np.ascontiguousarray(Xd.T)
        data, ind, ptr = np.zeros(1), np.zeros(1, np.int32), np.zeros(2, np.int32)
    lips = (Xd ** 2).sum(0) / n
    alpha = 0.1 * float(np.max(np.abs(Xd.T @ y))) / n
    ws = np.arange(N, dtype=np.int64)
    args = [sparse, XT, data, ind, ptr, y.copy(), np.zeros(N), np.zeros(1), ws, lips, P.L1,
            alpha, 0.0, np.zeros(0), np.zeros(0), False, np.zeros(0)]
    return args, Xd, y


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("index_dtype", [np.int32, np.int64])
def test_early_inner_stop(sparse, index_dtype):
    kern = C.cd_inner
    args, Xd, y = _orthogonal_args(sparse)
    args[3], args[4] = args[3].astype(index_dtype), args[4].astype(index_dtype)
    # orthogonal columns: epoch 1 solves the problem, epoch 2 moves nothing,
    # so the early exact check runs (and passes) at epoch 2
    e, crit = kern(*args, 1000, 1e-10, 5, 0.1)
    assert e == 2
    assert crit <= 1e-10
    n = len(y)
    R, w = args[5], args[6]
    np.testing.assert_allclose(R, y - Xd @ w, atol=1e-10)
    g = -(Xd.T @ R) / n
    alpha = args[11]
    # the exact optimality conditions hold
    assert np.all(np.abs(g[w != 0] + alpha * np.sign(w[w != 0])) <= 1e-9)
    assert np.all(np.abs(g[w == 0]) <= alpha + 1e-12)
    # disabled: only the 10-epoch check
    args, _, _ = _orthogonal_args(sparse)
    e, _ = kern(*args, 1000, 1e-10, 5, 0.0)
    assert e == 10


@pytest.mark.parametrize("code", [P.L1, P.WL1, P.MCP])
def test_early_same_iterates_dense_and_sparse(code):
    from tests.convex.test_compiled_kernels import _args, _problem

    for positive in (False, True):
        for K in (0, 5):
            X, Xd, y = _problem(code)
            Xs = sp.csc_matrix(Xd)
            Xs.sort_indices()
            a_d = _args(X, Xd, y, code, positive, True, K, code)
            a_s = _args(Xs, Xd, y, code, positive, True, K, code)
            e1, c1 = C.cd_inner(*a_d, 500, 1e-7, K, 0.1)
            e2, c2 = C.cd_inner(*a_s, 500, 1e-7, K, 0.1)
            assert e1 == e2
            np.testing.assert_allclose(c2, c1, rtol=1e-7, atol=1e-9)  # rounding-noise level
            for i in (5, 6, 7):
                np.testing.assert_allclose(a_s[i], a_d[i], rtol=1e-7, atol=1e-9)
