"""nmf_unmix: the function layer over the NMF unmixing estimators."""

import numpy as np
import pytest

from sparsecode.unmixing import (
    L12NMF,
    CorrentropyNMF,
    NMFUnmixing,
    RobustGuidedNMF,
    StructuredSparseNMF,
    nmf_unmix,
)

CLASSES = {"nmf": NMFUnmixing, "l12": L12NMF, "cenmf": CorrentropyNMF,
           "rgnmf": RobustGuidedNMF, "ssnmf": StructuredSparseNMF}


def _cube(rows=8, cols=9, L=20, p=3, seed=0):
    rng = np.random.default_rng(seed)
    E = rng.uniform(0.1, 1.0, size=(p, L))
    A = rng.dirichlet(np.ones(p), size=rows * cols)
    Y = A @ E + 0.001 * rng.random((rows * cols, L))
    return Y.reshape(rows, cols, L)


@pytest.mark.parametrize("method", sorted(CLASSES))
def test_same_result_as_the_estimator(method):
    Y = _cube()
    kw = dict(max_iter=20, random_state=0)
    A, M, n_iter = nmf_unmix(Y, 3, method=method, **kw)
    est = CLASSES[method](3, **kw)
    A_ref = est.fit_transform(Y)
    np.testing.assert_array_equal(A, A_ref)
    np.testing.assert_array_equal(M, est.components_)
    assert n_iter == est.n_iter_
    assert A.shape == (8, 9, 3) and M.shape == (3, 20)


def test_custom_start_and_fixed_components():
    Y = _cube().reshape(-1, 20)
    rng = np.random.default_rng(1)
    known = rng.uniform(0.1, 1.0, size=(1, 20))
    _A, M, _ = nmf_unmix(Y, 3, method="nmf", fixed_components=known, max_iter=10)
    np.testing.assert_allclose(M[0], known[0])
    H = rng.uniform(0.1, 1.0, size=(3, 20))
    W = np.full((Y.shape[0], 3), 1.0 / 3)
    A1, M1, _ = nmf_unmix(Y, 3, method="nmf", init="custom", W=W, H=H, max_iter=10)
    est = NMFUnmixing(3, init="custom", max_iter=10)
    np.testing.assert_array_equal(A1, est.fit_transform(Y, W=W, H=H))


def test_bad_method_and_parameter():
    Y = _cube()
    with pytest.raises(ValueError, match="method must be one of"):
        nmf_unmix(Y, 3, method="kmeans")
    with pytest.raises(TypeError, match="parameters of NMFUnmixing"):
        nmf_unmix(Y, 3, method="nmf", lam=0.1)
