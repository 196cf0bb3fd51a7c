import numpy as np
import pytest


def gaussian_problem(m, N, s, *, seed, n_targets=None, complex_=False, amplitude="gauss"):
    """Column-normalised Gaussian A and s-sparse x (spec 0.3)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = A + 1j * rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    L = 1 if n_targets is None else n_targets
    X = np.zeros((N, L), dtype=A.dtype)
    for l in range(L):
        idx = rng.choice(N, s, replace=False)
        v = rng.standard_normal(s) if amplitude == "gauss" else rng.choice([-1.0, 1.0], s)
        if complex_:
            v = v + 1j * rng.standard_normal(s)
        X[idx, l] = v
    if n_targets is None:
        X = X[:, 0]
    return A, X, A @ X


def rel_err(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.fixture
def problem():
    return gaussian_problem
