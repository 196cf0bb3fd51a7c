"""Loss-function OMP: gains against brute-force 1-D minimisation, OMP limit, stopping."""

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from sklearn.linear_model import orthogonal_mp

from sparsecode import LossOMP, loss_omp
from sparsecode.convex._loss_omp import _gains, _local_fit


def _G(loss, penalty, A, y, z, lam, w):
    r = A @ z - y
    fit = {"lasso": r @ r, "sqrt_lasso": np.linalg.norm(r), "lad_lasso": np.abs(r).sum()}[loss]
    if penalty == "l1":
        return fit + lam * np.sum(w * np.abs(z))
    return fit + lam * np.sum(w[z != 0] ** 2)


def _brute_gain(loss, penalty, A, y, x, lam, w, j):
    G0 = _G(loss, penalty, A, y, x, lam, w)

    def f(t):
        z = x.copy()
        z[j] = x[j] + t
        return _G(loss, penalty, A, y, z, lam, w)

    scale = 10 * (np.abs(A[:, j] @ (y - A @ x)) + abs(x[j]) + 1)
    best = min(f(0.0), f(-x[j]))  # the l0 kink: removal
    # dense scan then local refinement (the 1-D function is piecewise smooth)
    ts = np.linspace(-scale, scale, 1201)
    vals = np.array([f(t) for t in ts])
    k = int(np.argmin(vals))
    lo, hi = ts[max(k - 1, 0)], ts[min(k + 1, len(ts) - 1)]
    res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
    best = min(best, vals[k], res.fun)
    # t = c_j type candidates (exact minimisers of the smooth pieces) by golden search
    return max(G0 - best, 0.0)


@pytest.mark.parametrize("loss", ["lasso", "sqrt_lasso", "lad_lasso"])
@pytest.mark.parametrize("penalty", ["l1", "l0"])
def test_gains_match_brute_force(loss, penalty):
    rng = np.random.default_rng(0)
    m, N = 12, 8
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    y = rng.standard_normal(m)
    w = rng.uniform(0.3, 1.5, N)
    for trial in range(2):
        S = sorted(rng.choice(N, 3, replace=False).tolist())
        x = np.zeros(N)
        x[S] = _local_fit(loss, A[:, S], y)
        in_S = np.zeros(N, dtype=bool)
        in_S[S] = True
        r = y - A @ x
        lam = {"lasso": 0.3, "sqrt_lasso": 0.2, "lad_lasso": 0.5}[loss] * (trial + 1) / 2
        g = _gains(loss, penalty, A, r, x, in_S, lam * w, lam * w ** 2)
        for j in range(N):
            gb = _brute_gain(loss, penalty, A, y, x, lam, w, j)
            assert abs(g[j] - gb) <= 1e-5 * max(1.0, gb), (loss, penalty, j, g[j], gb)


def test_alpha_zero_is_omp():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((50, 100))
    A /= np.linalg.norm(A, axis=0)  # the paper's setting: unit-norm columns
    y = A[:, :4] @ rng.standard_normal(4) + 0.01 * rng.standard_normal(50)
    for loss in ["lasso", "sqrt_lasso"]:
        for pen in ["l1", "l0"]:
            res = loss_omp(A, y, loss=loss, penalty=pen, alpha=0.0, n_nonzero_coefs=10,
                           return_path=True)
            for k in range(1, 11):
                np.testing.assert_allclose(res.path[k - 1], orthogonal_mp(A, y, n_nonzero_coefs=k),
                                           atol=1e-10)


def test_lasso_l1_implicit_stopping_rule():
    # spec 2.3 (derived): with unit weights, atoms are added while ||A^T r||_inf > lambda
    rng = np.random.default_rng(2)
    m, N = 80, 160
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[:6] = rng.choice([-1, 1], 6) * rng.uniform(1, 2, 6)
    e = rng.standard_normal(m)
    y = A @ x + 1e-2 * e / np.linalg.norm(e)
    alpha = 5e-5
    res = loss_omp(A, y, loss="lasso", alpha=alpha, n_nonzero_coefs=40)
    lam = 2 * m * alpha
    assert res.stop_reason in ("support_stagnation", "zero_gain")
    r = y - A @ res.coef
    assert np.max(np.abs(A.T @ r)) <= lam + 1e-12
    assert np.linalg.norm(res.coef - x) / np.linalg.norm(x) < 5e-3


def test_lad_recovers_under_corruption_where_omp_fails():
    rng = np.random.default_rng(3)
    m, N, s = 100, 200, 5
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    y = A @ x
    y[rng.choice(m, 5, replace=False)] += 100 * rng.standard_normal(5)
    lad = LossOMP(loss="lad_lasso", alpha=1.0 / m, n_nonzero_coefs=15).fit(A, y)
    omp = LossOMP(loss="lasso", alpha=0.0, n_nonzero_coefs=15).fit(A, y)
    err = lambda c: np.linalg.norm(c - x) / np.linalg.norm(x)  # noqa: E731
    assert err(lad.coef_) < 1e-2
    assert err(omp.coef_) > 0.5


def test_bad_inputs():
    X = np.random.default_rng(0).standard_normal((10, 5))
    y = np.ones(10)
    with pytest.raises(ValueError, match="loss"):
        LossOMP(loss="huber").fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        LossOMP(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="weights"):
        LossOMP(weights=np.ones(3)).fit(X, y)
    with pytest.raises(ValueError, match="positive and finite"):
        LossOMP(weights=np.zeros(5)).fit(X, y)
