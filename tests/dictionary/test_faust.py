"""palm4MSA, the hierarchical factorisation and FastTransformDictionary."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard

from sparsecode import FastTransformDictionary, hierarchical_factorization, palm4msa
from sparsecode._base import ConvergenceWarning
from sparsecode.dictionary._faust import project


@pytest.mark.parametrize("n", [32, 64])
def test_hadamard_exact_butterfly_factorisation(n):
    # spec B3.4 / FAuST demo: log2(n) factors with 2 non-zeros per row and column
    H = hadamard(n).astype(float)
    M = int(np.log2(n))
    res = hierarchical_factorization(
        H, [("splincol", 2)] * (M - 1), [("splincol", n // 2**j) for j in range(1, M)])
    assert res.error < 1e-6
    assert len(res.factors) == M
    assert sum(f.nnz for f in res.factors) == 2 * n * M  # 320 for n = 32
    assert res.relative_complexity == pytest.approx(2 * M / n)  # 0.3125 for n = 32
    for f in res.factors:
        assert np.all(f.getnnz(axis=0) == 2) and np.all(f.getnnz(axis=1) == 2)
    prod = res.lambda_ * np.linalg.multi_dot([f.toarray() for f in res.factors])
    np.testing.assert_allclose(prod, H, atol=1e-8)


def test_palm4msa_error_decreases_and_lambda_is_optimal():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 16))
    res = palm4msa(X, [("sp", 80), ("sp", 80)], n_iter=40)
    e = res.error
    assert e[-1] < e[0]
    assert np.all(np.diff(e) <= 1e-10)  # PALM with the 1.001 Lipschitz margin descends
    Xh = res.factors[0] @ res.factors[1]
    lam = np.sum(X * Xh) / np.sum(Xh * Xh)  # closed-form scale
    assert res.lambda_ == pytest.approx(lam)
    for f in res.factors:
        assert np.count_nonzero(f) <= 80
        assert np.linalg.norm(f) == pytest.approx(1.0)


def test_palm4msa_full_support_is_exact():
    X = np.random.default_rng(1).standard_normal((6, 9))
    res = palm4msa(X, [("sp", 36), ("sp", 54)], n_iter=200)
    assert res.error[-1] < 1e-6
    np.testing.assert_allclose(res.coef, X, atol=1e-5)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), s=st.integers(1, 5),
       kind=st.sampled_from(["sp", "spcol", "splin", "splincol"]))
def test_projections(seed, s, kind):
    A = np.random.default_rng(seed).standard_normal((6, 7))
    P = project(A, (kind, s))
    assert np.linalg.norm(P) == pytest.approx(1.0)
    nz = P != 0
    # kept entries are the input's, rescaled
    scale = np.linalg.norm(np.where(nz, A, 0.0))
    np.testing.assert_allclose(P[nz] * scale, A[nz])
    absA = np.abs(A)
    if kind == "sp":
        assert nz.sum() == s
        assert absA[nz].min() >= absA[~nz].max() - 1e-15
    if kind in ("spcol", "splincol"):
        top = np.sort(absA, axis=0)[-s:]
        for j in range(7):
            assert np.all(np.isin(top[:, j], absA[nz[:, j], j]))
    if kind == "spcol":
        assert np.all(nz.sum(axis=0) == s)
    if kind == "splin":
        assert np.all(nz.sum(axis=1) == s)


def test_bad_constraints():
    with pytest.raises(ValueError, match="constraints entries"):
        palm4msa(np.eye(3), [("nope", 2)])
    with pytest.raises(ValueError, match="positive int"):
        palm4msa(np.eye(3), [("sp", 0)])
    with pytest.raises(ValueError, match="same length"):
        hierarchical_factorization(np.eye(4), [("sp", 2)], [])
    with pytest.raises(ValueError, match="NaN"):
        palm4msa(np.full((3, 3), np.nan), [("sp", 2)])


def test_fast_transform_dictionary_apply_and_complexity():
    rng = np.random.default_rng(0)
    # signals from a dictionary that is itself a product of sparse factors
    H = hadamard(16).astype(float) / 4.0
    code = np.zeros((600, 16))
    for i in range(600):
        code[i, rng.choice(16, 2, replace=False)] = rng.uniform(1, 2, 2)
    X = code @ H
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = FastTransformDictionary(16, n_nonzero_coefs=2, max_iter=8, random_state=0,
                                      constraints=[("splin", 4), ("splin", 4)]).fit(X)
    assert est.error_[-1] < est.error_[0]
    assert est.relative_complexity_ == pytest.approx(
        sum(f.nnz for f in est.factors_) / (16 * 16))
    assert est.relative_complexity_ <= 0.5
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0)
    c = est.transform(X[:20])
    np.testing.assert_allclose(est.apply(c), c @ est.components_, atol=1e-12)
    np.testing.assert_allclose(est.apply_transpose(X[:20]), X[:20] @ est.components_.T,
                               atol=1e-12)
    dense = est.scale_[:, None] * np.linalg.multi_dot([f.toarray() for f in est.factors_])
    np.testing.assert_allclose(dense, est.components_, atol=1e-12)
