"""Regression tests for issue 11 ("no silent wrong answers"), dictionary part.

Each test failed on the code before the fix: complex dictionaries in
``SparseCoder``, the error reported by K-SVD/MOD, the default sparsity of the
hub, data scale, ``gram`` and ``n_jobs`` validation, scikit-learn parity
(feature names, ``set_output``, CSR input, dtype) and NaN/inf refusal.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode import (
    KSVD,
    MOD,
    FastTransformDictionary,
    MaskedDictionaryLearning,
    OnlineDictionaryLearning,
    SparseCoder,
    sparse_encode,
)
from sparsecode._base import ConvergenceWarning
from sparsecode._parallel import effective_n_jobs
from sparsecode.dictionary import (
    complex_encoders,
    hierarchical_factorization,
    image_patches,
    palm4msa,
    patches_to_image,
)
from sparsecode.dictionary import _sparse_encode as _hub


def _unit_rows(A):
    return A / np.linalg.norm(A, axis=1, keepdims=True)


def _complex_problem(seed=0, n_features=40, n_atoms=100):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n_features, n_atoms)) + 1j * rng.standard_normal((n_features, n_atoms))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(n_atoms, dtype=complex)
    x[[3, n_atoms // 2, (3 * n_atoms) // 4 + 2]] = [1 + 1j, -2.0, 0.5j]  # 3, 50, 77
    return A.T.copy(), x, A @ x  # dictionary (atoms as rows), code, signal


# ----------------------------------------------------------------- 1. complex
def test_sparse_coder_complex_omp_is_exact():
    # before: SparseCoder refused complex dictionaries ("this solver needs real data");
    # the OMP encoder's Gram got its conjugate in greedy/_encoders.py (dbb3e69)
    D, x, y = _complex_problem()
    code = SparseCoder(D, n_nonzero_coefs=3).fit_transform(y[None])
    assert code.dtype == np.complex128
    # 3 atoms of 40-dim complex Gaussians, mutual coherence well below 1/5: exact
    np.testing.assert_allclose(code[0], x, atol=1e-10)


@pytest.mark.parametrize("algorithm, kw", [
    ("omp", dict(n_nonzero_coefs=3)),
    ("mp", dict(n_nonzero_coefs=3)),
    ("sbl", dict(max_iter=50)),
])
def test_sparse_coder_and_sparse_encode_agree_on_complex(algorithm, kw):
    D, _, y = _complex_problem(n_features=20, n_atoms=30)
    Y = np.vstack([y, 1j * y])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a = SparseCoder(D, algorithm=algorithm, algorithm_params=None, **kw).fit_transform(Y)
        b = sparse_encode(Y, D, algorithm=algorithm, **kw)
    assert np.iscomplexobj(a) and a.shape == (2, 30)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("where", ["dictionary", "X"])
def test_complex_refused_with_the_algorithm_named(where):
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((12, 6)))
    X = rng.standard_normal((3, 6))
    if where == "dictionary":
        D = D + 1j * D[::-1]
    else:
        X = X + 1j
    msg = "algorithm='lasso' does not support complex data"
    with pytest.raises(ValueError, match=msg):
        sparse_encode(X, D, algorithm="lasso", alpha=0.1)
    with pytest.raises(ValueError, match=msg):
        SparseCoder(D, algorithm="lasso", alpha=0.1).fit_transform(X)
    assert "omp" in complex_encoders() and "lasso" not in complex_encoders()


# ------------------------------------------------------------------ 2. KSVD/MOD error
@pytest.mark.parametrize("cls", [KSVD, MOD])
def test_overcomplete_few_samples_reports_the_returned_model(cls):
    # before: error_ all 1.0 (measured after replacing every atom), 12 atoms
    # replaced each iteration, ConvergenceWarning always; transform error 1.6e-16
    X = np.random.default_rng(0).standard_normal((10, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning is informative here
        est = cls(12, random_state=0).fit(X)
    assert est.error_[-1] < 1e-8  # MOD's ridge (1e-10 relative) leaves ~1e-10
    assert est.n_replaced_.sum() == 0
    code = est.transform(X)
    assert np.linalg.norm(X - code @ est.components_) < 1e-10 * np.linalg.norm(X)


@pytest.mark.parametrize("cls", [KSVD, MOD])
@pytest.mark.parametrize("shape, n_components, k", [
    ((30, 4), 20, 2),    # overcomplete, n_atoms > n_samples * k / 4
    ((200, 2), 20, 1),   # n_atoms >> n_features: near-duplicates unavoidable
    ((60, 16), 30, 3),
])
def test_error_describes_returned_dictionary_and_clearing_settles(cls, shape, n_components, k):
    X = np.random.default_rng(1).standard_normal(shape)
    est = cls(n_components, n_nonzero_coefs=k, max_iter=15, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        C = est._fit_loop(X, None)  # the codes found while learning
    err = np.linalg.norm(X - C @ est.components_) / np.linalg.norm(X)
    assert abs(err - est.reconstruction_err_) <= 1e-12
    assert est.reconstruction_err_ == est.error_[-1]
    # nothing replaced before the first iteration; the error rises only after
    # a replacement, and a replacement that does not pay off ends clearing
    rep = est.n_replaced_
    assert rep[0] == 0
    rising = np.flatnonzero(np.diff(est.error_) > 1e-12 * est.error_[:-1]) + 1
    assert np.all(rep[rising] > 0)
    for i in rising:
        assert rep[i + 1:].sum() == 0
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-12)


def test_budget_warning_only_when_informative():
    # the exact-representation case converges silently; a real shortfall warns
    X = np.random.default_rng(0).standard_normal((100, 8))
    with pytest.warns(ConvergenceWarning, match=r"did not converge in max_iter=2.*reached"):
        KSVD(12, n_nonzero_coefs=2, max_iter=2, tol=1e-12, random_state=0).fit(X)


# ------------------------------------------------------------ 3. default sparsity
@pytest.mark.parametrize("algorithm", ["omp", "mp", "iht"])
def test_default_sparsity_clipped_to_n_features(algorithm):
    # before: SparseCoder(rand(40, 3)).fit_transform(rand(5, 3)) raised
    # "n_nonzero_coefs=4 is larger than min(n_features, n_atoms) = 3"
    rng = np.random.default_rng(0)
    D, X = rng.random((40, 3)), rng.random((5, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        code = SparseCoder(D, algorithm=algorithm).fit_transform(X)
        code2 = sparse_encode(X, D, algorithm=algorithm)
    assert code.shape == (5, 40)
    assert np.count_nonzero(code, axis=1).max() <= 3
    np.testing.assert_array_equal(code, code2)


def test_default_sparsity_rule():
    assert _hub.default_n_nonzero_coefs(40, 3) == 3
    assert _hub.default_n_nonzero_coefs(100, 50) == 10
    assert _hub.default_n_nonzero_coefs(5, 3) == 1


# ----------------------------------------------------------------------- 4. scale
@pytest.fixture(scope="module")
def coded():
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((12, 8)))
    code = np.zeros((100, 12))
    for i in range(100):
        code[i, rng.choice(12, 2, replace=False)] = rng.uniform(1, 2, 2)
    return code @ D


@pytest.mark.parametrize("cls", [KSVD, MOD])
@pytest.mark.parametrize("scale", [1e-150, 1e-100, 1e100, 1e150, 1e200])
def test_scale_equivariance(cls, scale, coded):
    # before: NaN error_ and zero codes at 1e200 (squared norms overflow)
    kw = dict(n_components=12, n_nonzero_coefs=2, max_iter=5, tol=0.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ref = cls(**kw)
        c_ref = ref.fit_transform(coded)
        est = cls(**kw)
        with np.errstate(over="raise", invalid="raise"):
            code = est.fit_transform(coded * scale)
    assert np.all(np.isfinite(est.components_)) and np.all(np.isfinite(est.error_))
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(est.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(est.error_, ref.error_, rtol=1e-8, atol=1e-14)
    np.testing.assert_allclose(code / scale, c_ref, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("cls, kw", [
    (OnlineDictionaryLearning, dict(batch_size=16, max_iter=2)),
    (MaskedDictionaryLearning, dict(encoder="topk", max_iter=3)),
    (MaskedDictionaryLearning, dict(encoder="soft", alpha=0.1, max_iter=3)),
    (FastTransformDictionary, dict(max_iter=2, constraints=[("splin", 4), ("splincol", 4)])),
])
@pytest.mark.parametrize("log2_scale", [-500, 664])  # ~1e-150, ~1e200
def test_other_learners_scale_equivariant(cls, kw, log2_scale, coded):
    # before: NaN dictionaries at 1e200 ("Input dictionary contains NaN"), no
    # learning at all at 1e-150 (Adam's epsilon, absolute dead-atom threshold).
    # A power-of-two scale is exact: the same learner, the codes scaled.
    s = 2.0 ** log2_scale
    ref = cls(12, n_nonzero_coefs=2, random_state=0, **kw)
    kws = {k: (v * s if k == "alpha" else v) for k, v in kw.items()}  # alpha: units of X
    est = cls(12, n_nonzero_coefs=2, random_state=0, **kws)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        c_ref = ref.fit(coded).transform(coded)
        code = est.fit(coded * s).transform(coded * s)
    np.testing.assert_allclose(est.components_, ref.components_, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(est.error_, ref.error_, rtol=1e-12)
    np.testing.assert_allclose(code / s, c_ref, rtol=1e-12, atol=1e-14)


# -------------------------------------------------------- 5. gram and n_jobs
@pytest.mark.parametrize("make_gram", [
    lambda D: np.zeros((D.shape[0],) * 2),
    lambda D: -D @ D.T,
    lambda D: np.diag(np.r_[-1.0, np.ones(D.shape[0] - 1)]),
    lambda D: D @ D.T + np.triu(np.ones((D.shape[0],) * 2), 1),  # not symmetric
])
def test_invalid_gram_refused(make_gram):
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((10, 5)))
    X = rng.standard_normal((2, 5))
    with pytest.raises(ValueError, match="gram"):
        sparse_encode(X, D, gram=make_gram(D), n_nonzero_coefs=2)
    # a valid gram gives the same codes as none
    np.testing.assert_allclose(sparse_encode(X, D, gram=D @ D.T, n_nonzero_coefs=2),
                               sparse_encode(X, D, n_nonzero_coefs=2), atol=1e-12)


def test_n_jobs_zero_refused():
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((10, 5)))
    X = rng.standard_normal((20, 5))
    with pytest.raises(ValueError, match="n_jobs=0"):
        effective_n_jobs(0)
    with pytest.raises(ValueError, match="n_jobs=0"):
        sparse_encode(X, D, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs=0"):
        sparse_encode(X, D, algorithm="lasso", alpha=0.1, n_jobs=0)
    with pytest.raises(ValueError, match="n_jobs=0"):
        SparseCoder(D, n_jobs=0).fit(X)
    for cls in (KSVD, MOD, OnlineDictionaryLearning, MaskedDictionaryLearning):
        with pytest.raises(ValueError, match="n_jobs=0"):
            cls(4, n_jobs=0, max_iter=1).fit(X)
    assert effective_n_jobs(None) == 1 and effective_n_jobs(1) == 1
    assert effective_n_jobs(-1) >= 1


# -------------------------------------------------------- 6. scikit-learn parity
def test_feature_names_and_set_output():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((6, 4)))
    X = rng.standard_normal((5, 4))
    sc = SparseCoder(D, n_nonzero_coefs=2)
    assert list(sc.fit(X).get_feature_names_out()) == [f"sparsecoder{i}" for i in range(6)]
    out = SparseCoder(D, n_nonzero_coefs=2).set_output(transform="pandas").fit_transform(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns)[0] == "sparsecoder0"
    np.testing.assert_array_equal(out.to_numpy(), sc.transform(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for cls in (KSVD, MOD, OnlineDictionaryLearning):
            est = cls(3, n_nonzero_coefs=1, max_iter=2, random_state=0)
            df = est.set_output(transform="pandas").fit(X).transform(X)
            name = cls.__name__.lower()
            assert list(df.columns) == [f"{name}{i}" for i in range(3)]


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo"])
def test_sparse_input_equals_dense(fmt, monkeypatch):
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((30, 12)))
    Xd = rng.standard_normal((50, 12)) * (rng.random((50, 12)) < 0.3)
    Xd[0] = 0.0  # an all-zero signal
    Xs = sp.random(50, 12, density=0, format=fmt) + sp.csr_matrix(Xd).asformat(fmt)
    ref = sparse_encode(Xd, D, n_nonzero_coefs=3)
    np.testing.assert_array_equal(sparse_encode(Xs, D, n_nonzero_coefs=3), ref)
    sc = SparseCoder(D, n_nonzero_coefs=3).fit(Xs)
    np.testing.assert_array_equal(sc.transform(Xs), ref)
    # several dense blocks: the same numbers
    monkeypatch.setattr(_hub, "_SPARSE_CHUNK_BYTES", 8 * 12 * 7)
    np.testing.assert_array_equal(sparse_encode(Xs, D, n_nonzero_coefs=3), ref)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = KSVD(30, n_nonzero_coefs=3, max_iter=2, random_state=0).fit(Xd)
    np.testing.assert_array_equal(est.transform(Xs), est.transform(Xd))


def test_learner_fit_on_sparse_says_toarray():
    Xs = sp.random(20, 6, density=0.5, format="csr", random_state=0)
    with pytest.raises(TypeError, match=r"toarray"):
        KSVD(4, max_iter=1).fit(Xs)


def test_sparse_input_nan_refused():
    D = _unit_rows(np.random.default_rng(0).standard_normal((6, 4)))
    Xs = sp.csr_matrix(np.array([[0.0, np.nan, 0.0, 1.0]]))
    with pytest.raises(ValueError, match="NaN"):
        sparse_encode(Xs, D)
    with pytest.raises(ValueError, match="NaN"):
        SparseCoder(D).fit(Xs[:, :4]).transform(Xs)


@pytest.mark.parametrize("algorithm, kw", [("omp", dict(n_nonzero_coefs=2)),
                                           ("lasso", dict(alpha=0.01))])
def test_codes_follow_the_dtype_of_X(algorithm, kw):
    # before: float64 dictionary + float32 X gave float64 codes
    rng = np.random.default_rng(0)
    D = _unit_rows(rng.standard_normal((10, 6)))
    X = rng.standard_normal((4, 6)).astype(np.float32)
    a = SparseCoder(D, algorithm=algorithm, **kw).fit_transform(X)
    b = sparse_encode(X, D, algorithm=algorithm, **kw)
    assert a.dtype == np.float32 and b.dtype == np.float32
    c64 = sparse_encode(X.astype(np.float64), D.astype(np.float32), algorithm=algorithm, **kw)
    assert c64.dtype == np.float64
    np.testing.assert_allclose(a, c64, rtol=1e-3, atol=1e-4)


# ---------------------------------------------------------------- 7. NaN / inf
def _poison(a, v):
    a = np.array(a, dtype=float)
    a.flat[0] = v
    return a


_RNG = np.random.default_rng(0)
_X = _RNG.standard_normal((30, 16))
_D = _unit_rows(_RNG.standard_normal((20, 16)))
_FTD = dict(constraints=[("splin", 2), ("splincol", 2)])


def _fitted(cls):
    kw = dict(n_components=16, n_nonzero_coefs=2, max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return cls(**kw, **(_FTD if cls is FastTransformDictionary else {})).fit(_X)


_LEARNERS = [KSVD, MOD, OnlineDictionaryLearning, MaskedDictionaryLearning,
             FastTransformDictionary]

_CALLS = {
    "sparse_encode X": lambda v: sparse_encode(_poison(_X, v), _D),
    "sparse_encode dictionary": lambda v: sparse_encode(_X, _poison(_D, v)),
    "sparse_encode gram": lambda v: sparse_encode(_X, _D, gram=_poison(_D @ _D.T, v)),
    "SparseCoder dictionary": lambda v: SparseCoder(_poison(_D, v)).fit_transform(_X),
    "SparseCoder fit X": lambda v: SparseCoder(_D).fit(_poison(_X, v)),
    "SparseCoder transform X": lambda v: SparseCoder(_D).fit(_X).transform(_poison(_X, v)),
    "SparseCoder inverse_transform": lambda v: SparseCoder(_D).fit(_X).inverse_transform(
        _poison(np.zeros((2, 20)), v)),
    "OnlineDictionaryLearning.partial_fit": lambda v: OnlineDictionaryLearning(4).partial_fit(
        _poison(_X, v)),
    "FastTransformDictionary.apply": lambda v: _fitted(FastTransformDictionary).apply(
        _poison(np.zeros((2, 16)), v)),
    "FastTransformDictionary.apply_transpose": lambda v: _fitted(
        FastTransformDictionary).apply_transpose(_poison(_X, v)),
    "palm4msa X": lambda v: palm4msa(_poison(_X, v), [("splincol", 4)] * 2),
    "palm4msa init_lambda": lambda v: palm4msa(_X, [("splincol", 4)] * 2, init_lambda=v),
    "palm4msa init_factors": lambda v: palm4msa(_X, [("splincol", 4)] * 2, init_factors=[
        _poison(np.eye(30), v), np.eye(30, 16)]),
    "hierarchical_factorization X": lambda v: hierarchical_factorization(
        _poison(_X[:16], v), [("splincol", 4)], [("splincol", 4)]),
    "image_patches": lambda v: image_patches(_poison(np.ones((10, 10)), v), (3, 3)),
    "patches_to_image patches": lambda v: patches_to_image(_poison(np.zeros((64, 9)), v),
                                                           (10, 10)),
    "patches_to_image means": lambda v: patches_to_image(np.zeros((64, 9)), (10, 10),
                                                         means=_poison(np.zeros(64), v)),
    "patches_to_image noisy": lambda v: patches_to_image(
        np.zeros((64, 9)), (10, 10), noisy=_poison(np.zeros((10, 10)), v), weight=1.0),
}
for _cls in _LEARNERS:
    _n = _cls.__name__
    _extra = _FTD if _cls is FastTransformDictionary else {}
    _CALLS[f"{_n}.fit X"] = lambda v, c=_cls, e=_extra: c(4, max_iter=1, **e).fit(_poison(_X, v))
    _CALLS[f"{_n}.transform X"] = lambda v, c=_cls: _fitted(c).transform(_poison(_X, v))
    _CALLS[f"{_n}.inverse_transform"] = lambda v, c=_cls: _fitted(c).inverse_transform(
        _poison(np.zeros((2, 16)), v))
    _CALLS[f"{_n} init"] = lambda v, c=_cls, e=_extra: c(
        4, max_iter=1, init=_poison(_unit_rows(_RNG.standard_normal((4, 16))), v), **e).fit(_X)
for _cls in (KSVD, MOD, OnlineDictionaryLearning):
    _CALLS[f"{_cls.__name__} fixed_atoms"] = lambda v, c=_cls: c(
        4, max_iter=1, fixed_atoms=_poison(_unit_rows(_RNG.standard_normal((2, 16))), v)).fit(_X)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("call", sorted(_CALLS))
def test_nan_inf_refused(call, value):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        with pytest.raises(ValueError, match="(?i)nan|inf|finite"):
            _CALLS[call](value)
