"""Dense least-squares fits without intercept: one pass gives the column norms and X^T y."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sparsecode.convex import ElasticNet, Lasso, _fit
from sparsecode._ext._convex import dense_col_stats


@settings(max_examples=20)
@given(n=st.integers(1, 40), p=st.integers(1, 12), dtype=st.sampled_from([np.float32, np.float64]),
       with_y=st.booleans(), seed=st.integers(0, 1000))
def test_dense_col_stats_is_norms_and_products(n, p, dtype, with_y, seed):
    rng = np.random.default_rng(seed)
    X = np.asfortranarray(rng.standard_normal((n, p)).astype(dtype))
    y = rng.standard_normal(n) if with_y else np.zeros(0)
    sq, xty = np.empty(p), np.empty(p if with_y else 0)
    dense_col_stats(X, y, sq, xty)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(sq, (X64 ** 2).sum(0), rtol=1e-12)
    if with_y:
        np.testing.assert_allclose(xty, X64.T @ y, rtol=1e-10, atol=1e-12 * np.abs(X64).sum())


@pytest.mark.parametrize("est", [Lasso(alpha=0.05, fit_intercept=False, tol=1e-10),
                                 ElasticNet(alpha=0.1, l1_ratio=0.5, fit_intercept=False,
                                            tol=1e-10)])
def test_fit_from_the_one_pass_statistics_equals_the_plain_fit(est, monkeypatch):
    rng = np.random.default_rng(0)
    X = np.asfortranarray(rng.standard_normal((80, 150)))
    y = X[:, :5] @ np.ones(5) + 0.1 * rng.standard_normal(80)
    calls = []
    real = _fit._dense_prepared
    monkeypatch.setattr(_fit, "_dense_prepared",
                        lambda *a: calls.append(1) or real(*a))
    fast = est.fit(X, y).coef_.copy()
    assert calls and _fit._dense_prepared(X, y[:, None], "quad", False, None, None)[0] is not None
    monkeypatch.setattr(_fit, "_dense_prepared", lambda *a: (None, None))
    plain = est.fit(X, y).coef_
    np.testing.assert_allclose(fast, plain, atol=1e-9)


def test_extreme_scales_take_the_exact_exponent():
    rng = np.random.default_rng(1)
    X = np.asfortranarray(rng.standard_normal((30, 20)) * 2.0 ** 120)  # beyond 2^100
    y = X[:, 0] + X[:, 1]
    assert _fit._dense_prepared(X, y[:, None], "quad", False, None, None) == (None, None)
    m = Lasso(alpha=1e-3 * np.abs(X.T @ y).max() / 30, fit_intercept=False).fit(X, y)
    assert np.all(np.isfinite(m.coef_)) and np.count_nonzero(m.coef_[:2]) == 2
