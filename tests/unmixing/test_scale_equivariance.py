"""Scale conventions of the penalised NMF unmixing estimators (issue 11, items 4 and 8).

Data-derived penalty weights (Qian's sparseness rule, ``lam=None``) are in
squared data units (``rule * max(Y)**2``), so the defaults of CorrentropyNMF
are scale-equivariant: ``model(c Y) = c model(Y)``.  Parameters stated in data
units convert exactly: fitting ``c Y`` with ``c**2 lam`` and ``c delta``
gives ``c`` times the model of ``Y``.  An l1 weight that would zero every
abundance (StructuredSparseNMF) is refused, naming the cause.
"""

import warnings

import numpy as np
import pytest

from sparsecode.unmixing import (CorrentropyNMF, L12NMF, RobustGuidedNMF, StructuredSparseNMF,
                                 pixel_graph, sparseness_lambda)


def _mixture():
    r = np.random.default_rng(3)
    bands = np.linspace(0, 1, 20)
    E = np.stack([1.2 + np.sin(2 * np.pi * (bands + k / 3.0)) for k in range(3)])
    A = np.vstack([np.eye(3), r.dirichlet(np.full(3, 0.7), 57)])
    return A @ E


def _model(est, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        T = est.fit_transform(Y)
    return np.asarray(T, np.float64) @ np.asarray(est.components_, np.float64)


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# powers of two: the internal rescaling (by a power of two near max Y) is then
# exact, so the iterates are the same up to rounding; other scales are checked
# at convergence (the solver's absolute floors act on the rescaled problem only
# transiently) in test_default_lam_rule_other_scale
SCALES = [2.0 ** -500, 2.0 ** -200, 2.0 ** -50, 2.0 ** 130, 2.0 ** 500]


@pytest.mark.parametrize("c", SCALES)
@pytest.mark.parametrize("make", [
    lambda: CorrentropyNMF(3, max_iter=60, tol=0),
    lambda: L12NMF(3, max_iter=60, tol=0, delta=0.0),
    lambda: RobustGuidedNMF(3, max_iter=40, tol=0, delta=0.0),
], ids=["CorrentropyNMF", "L12NMF", "RobustGuidedNMF"])
def test_default_lam_rule_is_equivariant(make, c):
    # lam=None: the sparseness rule scales as max(Y)**2 (was an absolute weight:
    # CorrentropyNMF's model 100 % off at c = 1e-15, L12NMF error 0.018 -> 0.20)
    Y = _mixture()
    est0, est = make(), make()
    M0, M = _model(est0, Y), _model(est, c * Y) / c
    assert _rel(M, M0) <= 1e-9
    assert est.lam_ / c / c == pytest.approx(est0.lam_, rel=1e-9)


@pytest.mark.parametrize("c", [3e-150, 3e-15, 7e140])
def test_default_lam_rule_other_scale(c):
    # CorrentropyNMF has no absolute-scale parameter by default
    Y = _mixture()
    M0 = _model(CorrentropyNMF(3, max_iter=400, tol=0), Y)
    M = _model(CorrentropyNMF(3, max_iter=400, tol=0), c * Y) / c
    assert _rel(M, M0) <= 1e-6


@pytest.mark.parametrize("c", [2.0 ** -50, 2.0 ** 130])
def test_data_unit_parameters_convert(c):
    # explicit lam (squared data units) and delta (data units) converted by hand
    Y = _mixture()
    M0 = _model(L12NMF(3, lam=0.05, delta=2.0, max_iter=60, tol=0), Y)
    M = _model(L12NMF(3, lam=0.05 * c * c, delta=2.0 * c, max_iter=60, tol=0), c * Y) / c
    assert _rel(M, M0) <= 1e-9
    M0 = _model(CorrentropyNMF(3, sigma=0.3, max_iter=40, tol=0), Y)
    M = _model(CorrentropyNMF(3, sigma=0.3 * c, lam=c * c * CorrentropyNMF(3).fit(Y).lam_,
                              max_iter=40, tol=0), c * Y) / c
    assert np.all(np.isfinite(M)) and _rel(M, M0) <= 1e-9


def test_default_fit_keeps_quality_at_small_scale():
    # L12NMF / RobustGuidedNMF defaults (delta in data units): scaling Y down makes
    # the sum-to-one row binding, never a worse reconstruction (was 0.018 -> 0.20)
    Y = _mixture()
    for make in (lambda: L12NMF(3, max_iter=100), lambda: RobustGuidedNMF(3, max_iter=60)):
        e0 = _rel(_model(make(), Y), Y)
        for c in (1e-15, 1e-150):
            assert _rel(_model(make(), c * Y) / c, Y) <= e0 + 0.01


def test_ssnmf_alpha_scaled_with_data():
    Y = _mixture()
    kw = dict(n_components=3, max_iter=40, tol=0, random_state=0)
    M0 = _model(StructuredSparseNMF(alpha=0.1, **kw), Y)
    c = 2.0 ** -50
    M = _model(StructuredSparseNMF(alpha=0.1 * c, **kw), c * Y) / c
    assert _rel(M, M0) <= 1e-9


def test_ssnmf_alpha_zeroing_everything_is_refused():
    # was: an all-zero model, silently, for Y scaled by 1e-15
    Y = 1e-15 * _mixture()
    with pytest.raises(ValueError, match=r"alpha=0\.1 .*Y"):
        StructuredSparseNMF(3, max_iter=5, random_state=0).fit(Y)
    # just below the threshold it fits
    ynorm = np.linalg.norm(Y, axis=1).max()
    StructuredSparseNMF(3, alpha=0.5 * ynorm, max_iter=5, tol=0, random_state=0).fit(Y)


@pytest.mark.parametrize("kind", ["knn", "heat", "correlation"])
def test_pixel_graph_scale_free(kind):
    cube = np.random.default_rng(0).uniform(0.1, 1, size=(8, 8, 6))
    W0 = pixel_graph(cube, kind=kind, window=1, n_clusters=2, random_state=0)
    W = pixel_graph(3e-160 * cube, kind=kind, window=1, n_clusters=2, random_state=0)
    assert abs(W - W0).max() <= 1e-12 * abs(W0).max()


def test_sparseness_lambda_scale_free():
    Y = _mixture()
    for c in (1e-170, 3e-15, 1e160):
        assert sparseness_lambda(c * Y) == pytest.approx(sparseness_lambda(Y), rel=1e-12)
