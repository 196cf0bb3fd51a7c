"""OnlineDictionaryLearning with l1 coding (fit_algorithm="lasso"): mini-batches
are coded by the LARS homotopy (exact Lasso codes at alpha)."""

import numpy as np

from sparsecode import OnlineDictionaryLearning
from sparsecode.convex._lars import lasso_lars_gram


def _data(seed=0):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((24, 12))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    C = np.zeros((400, 24))
    for i in range(400):
        C[i, rng.choice(24, 3, replace=False)] = rng.standard_normal(3)
    return C @ D + 0.01 * rng.standard_normal((400, 12))


def test_minibatch_codes_are_exact_lasso_solutions():
    X = _data()
    alpha = 0.1
    est = OnlineDictionaryLearning(24, fit_algorithm="lasso", alpha=alpha, batch_size=50,
                                   max_iter=1, tol=0.0, random_state=0).fit(X)
    codes = est._code(X[:50])
    D = est._D
    corr = (X[:50] - codes @ D) @ D.T
    sup = codes != 0
    # KKT of 1/2||x - D^T c||^2 + alpha||c||_1 to rounding (the Gram CD
    # encoder stops at a duality-gap tolerance and does not meet this)
    assert np.abs(corr).max() <= alpha + 1e-10
    np.testing.assert_allclose(corr[sup], alpha * np.sign(codes[sup]), atol=1e-10)
    np.testing.assert_allclose(codes, lasso_lars_gram(X[:50], D, alpha), atol=1e-12)


def test_l1_learning_lowers_the_objective():
    X = _data(1)
    alpha = 0.05

    def objective(D):
        C = lasso_lars_gram(X, D, alpha)
        return np.mean(0.5 * ((X - C @ D) ** 2).sum(1) + alpha * np.abs(C).sum(1))

    est = OnlineDictionaryLearning(24, fit_algorithm="lasso", alpha=alpha, batch_size=50,
                                   max_iter=1, init="random", random_state=0,
                                   tol=0.0, max_no_improvement=None)
    est.partial_fit(X)
    first = objective(est.components_)
    for _ in range(4):
        est.partial_fit(X)
    assert objective(est.components_) < first
    assert np.all(np.isfinite(est.components_))


def test_float32_input():
    X = _data(2).astype(np.float32)
    est = OnlineDictionaryLearning(24, fit_algorithm="lasso", alpha=0.1, batch_size=100,
                                   max_iter=1, tol=0.0, random_state=0).fit(X)
    assert est.components_.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(est.components_, axis=1), 1.0, rtol=1e-5)
