"""Compiled CSR -> CSC conversion and outer gradient of the sparse working-set CD."""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode.convex import Lasso
from sparsecode.convex._fit import Prepared, _csr_to_csc
from sparsecode.convex._solvers.cd import _C


def _design(n, N, dtype, idx, seed=0):
    rng = np.random.default_rng(seed)
    X = sp.random(n, N, density=0.05, format="csr", random_state=seed,
                  data_rvs=rng.standard_normal).astype(dtype)
    X.indices = X.indices.astype(idx)
    X.indptr = X.indptr.astype(idx)
    return X, rng.standard_normal(n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("idx", [np.int32, np.int64])
@pytest.mark.parametrize("scaled", [False, True])
def test_csr_to_csc_matches_scipy(dtype, idx, scaled):
    X, y = _design(40, 25, dtype, idx)
    rs = np.random.default_rng(1).uniform(0.5, 2.0, 40) if scaled else None
    before = (X.data.copy(), X.indices.copy(), X.indptr.copy())
    Xc, sq, xty, amax = _csr_to_csc(X, rs, y)
    assert amax == np.abs(X.data).max()
    ref = (sp.diags(rs.astype(dtype)) @ X if scaled else X).tocsc()
    ref.sort_indices()
    assert Xc.dtype == dtype
    np.testing.assert_array_equal(Xc.indptr, ref.indptr)
    np.testing.assert_array_equal(Xc.indices, ref.indices)
    np.testing.assert_allclose(Xc.data, ref.data, rtol=1e-6)
    R = ref.astype(np.float64)
    np.testing.assert_allclose(sq, np.asarray(R.multiply(R).sum(axis=0)).ravel(), rtol=1e-5)
    np.testing.assert_allclose(xty, R.T @ y, rtol=1e-5, atol=1e-6)
    # the input is not modified
    for a, b in zip(before, (X.data, X.indices, X.indptr)):
        np.testing.assert_array_equal(a, b)


def test_prepared_csr_keeps_lipschitz_and_xty():
    X, y = _design(60, 30, np.float64, np.int32)
    prep = Prepared(X, y[:, None], "quad", False, None)
    assert prep.X.format == "csc"
    np.testing.assert_allclose(prep.lips, np.asarray(X.multiply(X).sum(axis=0)).ravel() / 60)
    np.testing.assert_allclose(prep.xty, X.T @ y)


def test_csc_xtr_skips_columns():
    X, y = _design(50, 20, np.float64, np.int32)
    Xc = X.tocsc()
    skip = np.zeros(20, dtype=np.uint8)
    skip[::3] = 1
    out = np.full(20, np.nan)
    _C.csc_xtr(Xc.data, Xc.indices, Xc.indptr, y, skip, 0.5, out)
    ref = 0.5 * (Xc.T @ y)
    ref[::3] = 0.0
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_csr_lasso_same_as_dense(fit_intercept):
    X, y = _design(80, 40, np.float64, np.int32, seed=3)
    a = float(np.max(np.abs(X.T @ (y - y.mean())))) / 80 / 10
    sw = np.random.default_rng(2).uniform(0.5, 2.0, 80)
    m_s = Lasso(alpha=a, fit_intercept=fit_intercept, tol=1e-10).fit(X, y, sample_weight=sw)
    m_d = Lasso(alpha=a, fit_intercept=fit_intercept, tol=1e-10).fit(X.toarray(), y,
                                                                      sample_weight=sw)
    np.testing.assert_allclose(m_s.coef_, m_d.coef_, atol=1e-6)
    np.testing.assert_allclose(m_s.intercept_, m_d.intercept_, atol=1e-6)


def test_compiled_working_set_selection():
    """The ws_size largest priorities (inf first, zeros filling), sorted, ties in
    index order; against a NumPy reference on random priorities with ties."""
    rng = np.random.default_rng(0)
    for trial in range(100):
        N = int(rng.integers(5, 400))
        prio = np.zeros(N)
        prio[rng.choice(N, int(rng.integers(0, N // 3 + 1)), replace=False)] = np.inf
        m = int(rng.integers(0, N // 2 + 1))
        prio[rng.choice(N, m, replace=False)] = np.round(rng.random(m), 1)
        prio[rng.choice(N, N // 10, replace=False)] = -np.inf
        n_ok = int(np.count_nonzero(prio >= 0))
        ws_size = int(rng.integers(1, n_ok + 1))
        ws = _C.ws_select_prio(prio, ws_size)
        assert ws.dtype == np.int64 and ws.size == ws_size
        assert np.all(np.diff(ws) > 0)
        # reference: a stable sort by decreasing priority (ties by index)
        ref = np.sort(np.argsort(-prio, kind="stable")[:ws_size])
        np.testing.assert_array_equal(ws, ref)
