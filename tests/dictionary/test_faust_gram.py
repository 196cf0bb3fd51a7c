"""The dictionary step of FastTransformDictionary through C'C and C'X: the same iterates as
palm4MSA on the data with the codes as a constant leftmost factor."""

import numpy as np
import pytest

from sparsecode.dictionary._faust import _palm4msa_gram, _power_spec2, palm4msa


@pytest.mark.parametrize("seed", [0, 1])
def test_gram_form_equals_palm4msa_with_constant_codes(seed):
    rng = np.random.default_rng(seed)
    N, K, n = 300, 24, 12
    C = rng.standard_normal((N, K)) * (rng.random((N, K)) < 0.25)
    X = rng.standard_normal((N, n))
    cons = [("splin", 3), ("splincol", 3), ("splincol", 4)]
    f0 = [np.eye(K, n)] + [np.eye(n) for _ in range(2)]
    ref = palm4msa(X, [("const", C)] + cons, n_iter=8, init_factors=[C] + f0,
                   init_lambda=1.0, inner_dims=[K, n, n])
    S, lam, errs = _palm4msa_gram(C.T @ C, C.T @ X, float(np.sum(X * X)), cons, f0, 1.0, 8,
                                  norms="exact")
    for a, b in zip(ref.factors[1:], S):
        np.testing.assert_allclose(b, a, atol=1e-10)
    assert lam == pytest.approx(ref.lambda_, rel=1e-10)
    np.testing.assert_allclose(errs, ref.error, atol=1e-10)
    # power-iteration step sizes: the same objective to a few digits
    S2, lam2, errs2 = _palm4msa_gram(C.T @ C, C.T @ X, float(np.sum(X * X)), cons, f0, 1.0, 8,
                                     norms="power")
    assert errs2[-1] == pytest.approx(ref.error[-1], rel=1e-4)


def test_power_iteration_matches_largest_eigenvalue():
    rng = np.random.default_rng(2)
    B = rng.standard_normal((30, 30))
    M = B @ B.T
    val, v = _power_spec2(M, np.ones(30) / np.sqrt(30), tol=1e-12, max_iter=5000)
    assert val == pytest.approx(np.linalg.eigvalsh(M)[-1], rel=1e-8)
    assert _power_spec2(np.zeros((3, 3)), np.ones(3))[0] == 0.0


def test_default_norms_reproduce_palm4msa_exactly_at_small_sizes():
    rng = np.random.default_rng(5)
    C = rng.standard_normal((200, 16)) * (rng.random((200, 16)) < 0.3)
    X = rng.standard_normal((200, 8))
    cons = [("splin", 3), ("splincol", 3)]
    f0 = [np.eye(16, 8), np.eye(8)]
    ref = palm4msa(X, [("const", C)] + cons, n_iter=6, init_factors=[C] + f0,
                   init_lambda=1.0, inner_dims=[16, 8])
    _, _, errs = _palm4msa_gram(C.T @ C, C.T @ X, float(np.sum(X * X)), cons, f0, 1.0, 6)
    np.testing.assert_allclose(errs, ref.error, atol=1e-10)
