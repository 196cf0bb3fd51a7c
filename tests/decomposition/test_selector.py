"""OMPSelector: order = OMP on standardised columns, residual path, SelectorMixin API, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LinearRegression, orthogonal_mp

from sparsecode import OMPSelector, omp


def _regression(n=80, d=30, k=5, n_targets=1, seed=0, noise=0.1, corr=0.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.2, 5.0, d) + rng.uniform(-3, 3, d)
    if corr:
        X += corr * rng.standard_normal((n, 1)) * X.std(0)
    W = np.zeros((d, n_targets))
    for t in range(n_targets):
        W[rng.choice(d, k, replace=False), t] = rng.standard_normal(k) * 2
    Y = X @ W + noise * rng.standard_normal((n, n_targets)) + 1.5
    return X, (Y[:, 0] if n_targets == 1 else Y)


def _standardised(X):
    Xc = X - X.mean(0)
    return Xc / np.linalg.norm(Xc, axis=0)


def _order_from_path(path):
    order = []
    for s in range(path.shape[-1]):
        new = [j for j in np.flatnonzero(path[:, s]) if j not in order]
        order.extend(new)
    return order


def _lstsq_rss(X, Y, S):
    if not S:
        return float(np.sum(Y ** 2))
    sol = np.linalg.lstsq(X[:, S], Y, rcond=None)[0]
    return float(np.sum((Y - X[:, S] @ sol) ** 2))


@pytest.mark.parametrize("seed", range(4))
def test_order_equals_sklearn_omp_on_standardised_columns(seed):
    X, y = _regression(seed=seed, corr=0.5)
    k = 8
    sel = OMPSelector(n_features_to_select=k).fit(X, y)
    A, yc = _standardised(X), y - y.mean()
    path = orthogonal_mp(A, yc, n_nonzero_coefs=k, return_path=True)
    assert sel.selection_order_.tolist() == _order_from_path(path)
    # and the library's own OMP picks the same support
    assert set(np.flatnonzero(omp(A, yc, n_nonzero_coefs=k).coef)) == set(sel.selection_order_)


def test_rss_path_coef_and_intercept_are_least_squares():
    X, y = _regression(seed=1)
    sel = OMPSelector(n_features_to_select=6).fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    order = sel.selection_order_.tolist()
    expected = [_lstsq_rss(Xc, yc, order[:i]) for i in range(len(order) + 1)]
    np.testing.assert_allclose(sel.rss_path_, expected, rtol=1e-9)
    assert np.all(np.diff(sel.rss_path_) <= 1e-9 * sel.rss_path_[0])
    lr = LinearRegression().fit(X[:, order], y)
    np.testing.assert_allclose(sel.coef_[order], lr.coef_, rtol=1e-8)
    assert sel.intercept_ == pytest.approx(lr.intercept_)
    assert np.count_nonzero(sel.coef_) == 6


def test_multi_output_is_simultaneous_omp():
    X, Y = _regression(n=60, d=25, k=3, n_targets=3, seed=2)
    sel = OMPSelector(n_features_to_select=7).fit(X, Y)
    A, Yc = _standardised(X), Y - Y.mean(0)
    order = []
    for _ in range(7):  # reference: residual by least squares, argmax ||a_i' R||_2
        R = Yc - (A[:, order] @ np.linalg.lstsq(A[:, order], Yc, rcond=None)[0] if order else 0)
        score = np.linalg.norm(A.T @ R, axis=1)
        score[order] = -1
        order.append(int(np.argmax(score)))
    assert sel.selection_order_.tolist() == order
    assert sel.coef_.shape == (3, 25) and sel.intercept_.shape == (3,)


def test_ols_criterion_is_forward_regression():
    X, y = _regression(seed=3, corr=0.8)
    sel = OMPSelector(n_features_to_select=6, criterion="ols").fit(X, y)
    Xc, yc = X - X.mean(0), y - y.mean()
    order = []
    for _ in range(6):  # reference: the largest RSS drop by brute force
        cands = [j for j in range(X.shape[1]) if j not in order]
        order.append(min(cands, key=lambda j: _lstsq_rss(Xc, yc, order + [j])))
    assert sel.selection_order_.tolist() == order


def test_selector_api():
    X, y = _regression(d=10, seed=4)
    sel = OMPSelector(n_features_to_select=3).fit(X, y)
    mask = sel.get_support()
    assert mask.sum() == 3 and sel.n_features_to_select_ == 3
    np.testing.assert_array_equal(sel.get_support(indices=True), np.sort(sel.selection_order_))
    np.testing.assert_array_equal(sel.transform(X), X[:, mask])
    assert sel.get_feature_names_out().tolist() == [f"x{j}" for j in np.flatnonzero(mask)]
    assert OMPSelector().fit(X, y).n_features_to_select_ == 5  # 'auto': half
    assert OMPSelector(n_features_to_select=0.3).fit(X, y).n_features_to_select_ == 3


def test_auto_with_tol_stops_at_the_signal():
    # 5 features, tiny noise: after them every gain in R^2 is of order
    # noise^2 / var(y) ~ 1e-8, far below tol, while the 5th still explains > 1e-4.
    X, y = _regression(n=200, d=30, k=5, seed=5, noise=1e-3)
    sel = OMPSelector(tol=1e-6).fit(X, y)
    assert sel.n_features_to_select_ == 5
    gains = -np.diff(sel.rss_path_) / sel.rss_path_[0]
    assert gains[-1] >= 1e-6


def test_constant_columns_never_selected_and_float32():
    X, y = _regression(d=8, seed=6)
    X[:, 2] = 4.0
    X = X.astype(np.float32)
    X0 = X.copy()
    sel = OMPSelector(n_features_to_select=7).fit(X, y)
    assert 2 not in sel.selection_order_
    np.testing.assert_array_equal(X, X0)
    assert sel.transform(X).dtype == np.float32


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_features_to_select=31), "larger than the number of features"),
        (dict(n_features_to_select=3, tol=0.1), "tol is only used"),
        (dict(n_features_to_select=1.5), "n_features_to_select"),
        (dict(criterion="lars"), "criterion"),
    ],
)
def test_bad_input(kwargs, match):
    X, y = _regression()
    with pytest.raises(ValueError, match=match):
        OMPSelector(**kwargs).fit(X, y)


def test_nan_and_mismatched_rows_rejected():
    X, y = _regression()
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        OMPSelector().fit(X, y[:-1])
    X[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        OMPSelector().fit(X, y)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000))
def test_invariant_to_column_scaling_shift_and_permutation(seed):
    rng = np.random.default_rng(seed)
    X, y = _regression(n=40, d=12, seed=seed)
    perm = rng.permutation(12)
    scale = rng.uniform(0.1, 10, 12) * rng.choice([-1, 1], 12)
    a = OMPSelector(n_features_to_select=4).fit(X, y)
    b = OMPSelector(n_features_to_select=4).fit((X * scale + 7.0)[:, perm], y)
    assert perm[b.selection_order_].tolist() == a.selection_order_.tolist()
