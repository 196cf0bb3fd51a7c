"""Regression tests for issue 11 ("no silent wrong answers"), NMF/unmixing part.

Each test failed on the code before the fix:
* penalised NMF had no scale convention (alpha=1: endmember norms ~25x the truth,
  abundances summing to 0.04; CorrentropyNMF(lam=1): norms ~350x);
  RobustGuidedNMF ran without the sum-to-one constraint of its paper;
* ``fit_transform(Y)`` and ``fit(Y).transform(Y)`` differed (FCLS in transform);
* ``fcls`` returned NaN at scale 1e200 and accepted ``tol=-1``; the NMF-type
  estimators returned wrong abundances at scale 1e-150 and failed at 1e200;
* all-False masks, all-zero custom ``H``, ``W``/``H`` ignored silently,
  ``sparseness_lambda`` on NaN, no ``get_feature_names_out``/``set_output``.
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode import (
    L12NMF,
    CorrentropyNMF,
    NMFUnmixing,
    RobustGuidedNMF,
    StructuredSparseNMF,
)
from sparsecode.datasets import load_hyperspectral, make_hyperspectral_mixture
from sparsecode.metrics import match_components, spectral_angle_distance
from sparsecode.unmixing import fcls, sparseness_lambda

ALL = [NMFUnmixing, L12NMF, CorrentropyNMF, RobustGuidedNMF, StructuredSparseNMF]
SMALL = {StructuredSparseNMF: {"window": 2, "n_clusters": 3}}


@pytest.fixture(scope="module")
def mixture():
    # 3 endmembers, 40 bands, 12 x 12 pixels with pure pixels, 40 dB noise
    return make_hyperspectral_mixture(3, 40, (12, 12), snr=40, random_state=0)[:3]


def _fit(est, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        A = est.fit_transform(Y)
    return A


def _norm_ratio(est, M):
    perm = match_components(M, est.components_)
    return np.linalg.norm(est.components_[perm], axis=1) / np.linalg.norm(M, axis=1), perm


# --------------------------------------------------------------------------
# 1. scale convention of penalised fits
# --------------------------------------------------------------------------
@pytest.mark.parametrize("est", [
    NMFUnmixing(3, alpha=1.0, max_iter=200, random_state=0),
    NMFUnmixing(3, alpha=0.1, solver="hals", max_iter=200, random_state=0),
    CorrentropyNMF(3, lam=1.0, max_iter=200, random_state=0),
    L12NMF(3, lam=1.0, delta=0.0, max_iter=200, random_state=0),
], ids=["nmf-l1", "nmf-l1-hals", "cenmf", "l12-no-asc"])
def test_penalised_fits_keep_endmembers_on_the_data_scale(est, mixture):
    Y, M, _A = mixture
    A = _fit(est, Y)
    ratio, perm = _norm_ratio(est, M)
    # before: ratios 23-27 (NMF, alpha=1) and 250-430 (CENMF, lam=1)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    # the penalty shrinks the abundances a little, it cannot send them to 0
    assert 0.7 < A.sum(axis=1).mean() < 1.3
    assert spectral_angle_distance(M, est.components_[perm]).mean() < 0.25


@pytest.mark.parametrize("est", [
    NMFUnmixing(3, alpha=1.0, delta=15.0, max_iter=200, random_state=0),
    L12NMF(3, lam=1.0, max_iter=200, random_state=0),
    RobustGuidedNMF(3, max_iter=100, random_state=0),
], ids=["nmf-l1-asc", "l12", "rgnmf-default"])
def test_sum_to_one_constraint_gives_abundances_summing_to_one(est, mixture):
    Y, M, _A = mixture
    A = _fit(est, Y)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=0.03)
    ratio, perm = _norm_ratio(est, M)
    assert np.all((ratio > 0.7) & (ratio < 1.4)), ratio
    assert spectral_angle_distance(M, est.components_[perm]).mean() < 0.15


def test_robust_guided_nmf_defaults_to_the_sum_to_one_constraint():
    # the paper's model (spec A2: asc=True, delta=15)
    assert RobustGuidedNMF().delta == 15.0


def test_penalised_nmf_on_samson_stays_on_the_data_scale(real_data_dir):
    d = load_hyperspectral("samson", data_home=real_data_dir)
    Y = d.Y[::4]  # every 4th pixel: fast, the same scene
    pixel_norm = np.linalg.norm(Y, axis=1).max()
    for delta in (0.0, 15.0):
        est = NMFUnmixing(3, alpha=1.0, delta=delta, max_iter=60, random_state=0)
        A = _fit(est, Y)
        # before (delta=0): norms 226 / 55 / 64 while no pixel has a norm above 6.7
        assert np.linalg.norm(est.components_, axis=1).max() < 1.5 * pixel_norm
        if delta:
            np.testing.assert_allclose(A.sum(axis=1), 1.0, atol=0.03)
        else:
            # the bright (soil, tree) pixels keep abundances summing to about one; the
            # l1 penalty may zero the dark water pixels, whose signal is below alpha
            bright = np.linalg.norm(Y, axis=1) > np.median(np.linalg.norm(Y, axis=1))
            assert 0.7 < np.median(A[bright].sum(axis=1)) < 1.3


# --------------------------------------------------------------------------
# 2. fit_transform(Y) == fit(Y).transform(Y)
# --------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ALL)
@pytest.mark.parametrize("cube", [False, True])
def test_fit_transform_equals_fit_then_transform(Est, cube, mixture):
    Y, _M, _A = mixture
    X = Y.reshape(12, 12, -1) if cube else Y
    est = Est(3, max_iter=40, random_state=0, **SMALL.get(Est, {}))
    A1 = _fit(est, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        A2 = est.transform(X)
    # before: max difference 0.2 to 1.0 (transform was FCLS)
    np.testing.assert_allclose(A1, A2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("Est", ALL)
def test_fcls_transform_stays_available(Est, mixture):
    Y, _M, _A = mixture
    est = Est(3, max_iter=20, random_state=0, transform_method="fcls", **SMALL.get(Est, {}))
    A1 = _fit(est, Y)
    np.testing.assert_allclose(A1, fcls(Y, est.components_), atol=1e-10)
    np.testing.assert_allclose(est.transform(Y), A1, atol=1e-12)


UNPENALISED = [
    (NMFUnmixing, {}),
    (L12NMF, {"lam": 0.0, "delta": 0.0}),
    (CorrentropyNMF, {"sparsity": None}),
    (RobustGuidedNMF, {"lam": 0.0, "delta": 0.0}),
    (StructuredSparseNMF, {"lam": 0.0, "alpha": 0.0, "window": 2, "n_clusters": 3}),
]


@pytest.mark.parametrize("Est,kw", UNPENALISED, ids=[e.__name__ for e, _ in UNPENALISED])
def test_unpenalised_fits_are_scale_equivariant(Est, kw):
    # with no penalty and no sum-to-one row the model is scale-free: data times c
    # gives the same abundances and endmembers times c (unit-norm endmembers and
    # abundances times c with StructuredSparseNMF's column-norm convention).
    # Before: abundances off by 1.0 at 1e-150 and a LinAlgError at 1e200.
    Y, *_ = make_hyperspectral_mixture(3, 20, (8, 8), snr=30, random_state=0)
    params = {"n_components": 3, "max_iter": 20, "tol": 0.0, "random_state": 0, **kw}
    ref = Est(**params)
    A0 = _fit(ref, Y)
    col_norm = Est is StructuredSparseNMF
    for c in (1e-150, 1e200):
        est = Est(**params)
        A = _fit(est, c * Y)
        assert np.all(np.isfinite(A)) and np.all(np.isfinite(est.components_))
        np.testing.assert_allclose(A / c if col_norm else A, A0, rtol=1e-8,
                                   atol=1e-10 * A0.max())
        np.testing.assert_allclose(est.components_ if col_norm else est.components_ / c,
                                   ref.components_, rtol=1e-8,
                                   atol=1e-10 * ref.components_.max())
        np.testing.assert_allclose(est.transform(c * Y), A, rtol=1e-9, atol=1e-12 * A.max())


def test_vca_is_scale_equivariant():
    # before: LinAlgError ("Eigenvalues did not converge") at 1e200
    from sparsecode.unmixing import vca

    Y, *_ = make_hyperspectral_mixture(3, 20, (8, 8), snr=30, random_state=0)
    E0, idx0 = vca(Y, 3, random_state=0, return_indices=True)
    for c in (1e-150, 1e-100, 1e100, 1e200):
        E, idx = vca(c * Y, 3, random_state=0, return_indices=True)
        np.testing.assert_array_equal(idx, idx0)
        np.testing.assert_allclose(E / c, E0, rtol=1e-10, atol=1e-12 * E0.max())


# --------------------------------------------------------------------------
# 3. fcls: scale, tol
# --------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [1e-150, 1e-100, 1e100, 1e200, 1e300])
@pytest.mark.parametrize("delta", [None, 3.0, 0.0])
def test_fcls_is_scale_equivariant(scale, delta):
    rng = np.random.default_rng(0)
    E = rng.uniform(0.1, 1.0, (3, 20))
    Y = rng.dirichlet(np.ones(3), size=10) @ E + 0.01 * rng.uniform(size=(10, 20))
    ref = fcls(Y, E, delta=delta)
    got = fcls(scale * Y, scale * E, delta=None if delta is None else scale * delta)
    assert np.all(np.isfinite(got))  # before: NaN at 1e200
    np.testing.assert_allclose(got, ref, atol=1e-12)


def test_fcls_overflow_is_an_error_naming_the_cause():
    E = np.array([[1e-10, 0.0], [0.0, 1e-10]])
    with pytest.raises(ValueError, match="overflow"):
        fcls(np.full((2, 2), 1e300), E)


@pytest.mark.parametrize("tol", [-1, -1e-30, float("nan"), float("inf"), True])
def test_fcls_rejects_a_bad_tol(tol):
    E = np.eye(2)
    with pytest.raises(ValueError, match="tol"):
        fcls(np.ones((3, 2)), E, tol=tol)


def test_fcls_kernel_checks_its_arguments():
    from sparsecode._ext._fcls import fcls_gram

    G, C, out = np.eye(3), np.ones((4, 3)), np.empty((4, 3))
    with pytest.raises(ValueError, match="tol"):
        fcls_gram(G, C, 1.0, out, 5, -1.0)
    with pytest.raises(ValueError, match="shape|must be"):
        fcls_gram(G, np.ones((4, 2)), 1.0, out, 5, 0.0)
    with pytest.raises(ValueError, match="max_iter"):
        fcls_gram(G, C, 1.0, out, 0, 0.0)
    assert fcls_gram(G, C, np.inf, out, 20, 0.0) == 0
    np.testing.assert_allclose(out, 1.0 / 3.0)


def test_nmf_kernels_check_shapes():
    from sparsecode._ext._nmf import hals_rows, mu_rows

    Z, G = np.ones((4, 3)), np.eye(3)
    with pytest.raises(ValueError, match="Q"):
        mu_rows(Z, np.ones((4, 2)), G, 0.0, np.empty((4, 3)))
    with pytest.raises(ValueError, match="G"):
        hals_rows(Z.copy(), np.ones((4, 3)), np.eye(2), 0.0)
    with pytest.raises(ValueError, match="out"):
        mu_rows(Z, np.ones((4, 3)), G, 0.0, np.empty((3, 3)))


# --------------------------------------------------------------------------
# 5. inputs refused with an error naming the argument
# --------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["mu", "hals"])
def test_all_false_mask_is_refused(solver, mixture):
    Y, _M, _A = mixture
    # before (HALS): the initial values came back, marked converged
    with pytest.raises(ValueError, match="mask"):
        NMFUnmixing(3, solver=solver).fit(Y, mask=np.zeros(Y.shape, bool))


def test_all_zero_custom_H_is_refused(mixture):
    Y, _M, _A = mixture
    with pytest.raises(ValueError, match="H has"):
        NMFUnmixing(3, init="custom").fit(Y, H=np.zeros((3, Y.shape[1])))
    H = np.ones((3, Y.shape[1]))
    H[1] = 0.0
    with pytest.raises(ValueError, match="row 1"):
        NMFUnmixing(3, init="custom").fit(Y, H=H)


def test_W_H_without_custom_init_warn_and_are_ignored(mixture):
    Y, _M, _A = mixture
    H = np.ones((3, Y.shape[1]))
    kw = {"n_components": 3, "max_iter": 10, "tol": 0.0, "random_state": 0}
    with pytest.warns(UserWarning, match="init='custom'"):
        a = NMFUnmixing(**kw).fit(Y, H=H)
    b = NMFUnmixing(**kw).fit(Y)
    np.testing.assert_array_equal(a.components_, b.components_)


def test_sparseness_lambda_rejects_nan():
    X = np.ones((5, 3))
    X[2, 1] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        sparseness_lambda(X)


# --------------------------------------------------------------------------
# 6-7. scikit-learn parity, dtypes, non-finite input
# --------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ALL)
def test_feature_names_and_pandas_output(Est, mixture):
    pd = pytest.importorskip("pandas")
    Y, _M, _A = mixture
    est = Est(3, max_iter=10, tol=0.0, random_state=0, **SMALL.get(Est, {}))
    est.set_output(transform="pandas")
    out = _fit(est, Y)
    names = [f"{Est.__name__.lower()}{k}" for k in range(3)]
    assert list(est.get_feature_names_out()) == names
    assert isinstance(out, pd.DataFrame) and list(out.columns) == names
    assert isinstance(est.transform(Y), pd.DataFrame)


@pytest.mark.parametrize("Est", ALL)
def test_sparse_input_is_a_clear_type_error(Est, mixture):
    Y, _M, _A = mixture
    est = Est(3, max_iter=5, random_state=0, **SMALL.get(Est, {}))
    with pytest.raises(TypeError, match="toarray"):
        est.fit(sp.csr_matrix(Y))
    _fit(est, Y)
    with pytest.raises(TypeError, match="toarray"):
        est.transform(sp.csr_matrix(Y))


@pytest.mark.parametrize("Est", ALL)
def test_float32_in_float32_out(Est, mixture):
    Y, _M, _A = mixture
    Y32 = Y.astype(np.float32)
    est = Est(3, max_iter=10, tol=0.0, random_state=0, **SMALL.get(Est, {}))
    A = _fit(est, Y32)
    assert A.dtype == np.float32 and est.components_.dtype == np.float32
    assert est.transform(Y32).dtype == np.float32
    assert est.transform(Y32.reshape(12, 12, -1)).dtype == np.float32
    assert est.transform(Y).dtype == np.float64


@pytest.mark.parametrize("Est", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input_is_refused(Est, bad, mixture):
    Y, _M, _A = mixture
    Yb = Y.copy()
    Yb[3, 4] = bad
    est = Est(3, max_iter=5, random_state=0, **SMALL.get(Est, {}))
    with pytest.raises(ValueError, match="Y contains|NaN|infinity"):
        est.fit(Yb)
    _fit(est, Y)
    with pytest.raises(ValueError, match="Y contains|NaN|infinity"):
        est.transform(Yb)
