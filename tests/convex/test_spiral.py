"""SPIRAL-TAP: objective against a certified reference, operator counts, safeguards, input."""

import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from sklearn.exceptions import ConvergenceWarning

from sparsecode.convex._operator_solvers import fista
from sparsecode.convex._spiral import SPIRALTAP, _projected_gradient, spiral_tap


class Counting(LinearOperator):
    """Wraps a matrix and counts products with A and A^T."""

    def __init__(self, A):
        super().__init__(dtype=A.dtype, shape=A.shape)
        self.M = A
        self.n_mv = 0
        self.n_rmv = 0

    def _matvec(self, x):
        self.n_mv += 1
        return self.M @ x

    def _rmatvec(self, y):
        self.n_rmv += 1
        return self.M.T @ y


def _photon_problem(n=400, m=160, k=6, seed=0, mean_count=15.0):
    rng = np.random.default_rng(seed)
    A = rng.integers(0, 2, size=(m, n)).astype(float)
    f = np.zeros(n)
    f[rng.choice(n, k, replace=False)] = rng.uniform(50, 150, k)
    A *= mean_count / (A @ f).mean()
    return A, f, rng.poisson(A @ f).astype(float)


@pytest.fixture(scope="module")
def problem():
    A, f, y = _photon_problem()
    tau = 0.1
    # certified reference: FISTA on the same objective with a duality gap
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, info = fista(A, y, datafit="poisson", penalty="nonneg_l1", alpha=tau, tol=1e-12,
                        max_iter=20000)
    # fista's Poisson objective counts sum(b) (b = 1e-10 per row) on top of SPIRAL's
    ref = info["objective"] - A.shape[0] * 1e-10
    return A, y, tau, ref, info["duality_gap"]


def test_objective_matches_reference_in_fewer_operator_calls(problem):
    A, y, tau, ref, gap = problem
    assert gap <= 1e-10 * abs(ref)
    op = Counting(A)
    f, info = spiral_tap(op, y, tau, tol=1e-8)
    assert info.converged
    assert abs(info.objective - ref) <= 1e-8 * abs(ref)
    n_ours = op.n_mv + op.n_rmv
    assert n_ours == info.n_matvec + info.n_rmatvec
    # textbook projected gradient with backtracking to the same objective
    op_pg = Counting(A)
    _, pg = _projected_gradient(op_pg, y, tau, target=ref, rtol=1e-8, max_iter=50000)
    assert pg["reached"]
    assert op_pg.n_mv + op_pg.n_rmv >= 5 * n_ours


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_nonneg_kkt_and_window_acceptance(problem):
    A, y, tau, ref, _ = problem
    f, info = spiral_tap(A, y, tau, tol=1e-9, accept_past=10)
    assert f.min() >= 0
    g0 = np.abs(A.T @ (1 - y / (A @ spiral_tap(A, y, tau, max_iter=1, min_iter=0)[0]
                                 + 1e-10))).max()
    assert info.convergence <= 1e-5 * g0
    h = info.objective_history
    for k in range(1, h.size):
        assert h[k] <= h[max(0, k - 11):k].max() + 1e-12 * abs(h[k])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dense_and_operator_give_same_iterates(problem):
    A, y, tau, _, _ = problem
    f1, i1 = spiral_tap(A, y, tau, max_iter=30, min_iter=30)
    f2, i2 = spiral_tap(aslinearoperator(A), y, tau, max_iter=30, min_iter=30)
    np.testing.assert_allclose(f1, f2, rtol=1e-12, atol=1e-12)
    assert i1.n_rejected == i2.n_rejected


def test_tv_safeguarded_not_worse_than_raw_steps():
    rng = np.random.default_rng(1)
    r = c = 16
    img = np.full((r, c), 5.0)
    img[4:12, 3:9] = 40.0
    img[9:14, 10:15] = 20.0
    # 3x3 box blur as a non-negative matrix
    n = r * c
    B = np.zeros((n, n))
    for i in range(r):
        for j in range(c):
            for di in (-1, 0, 1):
                for dj in (-1, 0, 1):
                    ii, jj = i + di, j + dj
                    if 0 <= ii < r and 0 <= jj < c:
                        B[i * c + j, ii * c + jj] = 1 / 9
    y = rng.poisson(B @ img.ravel()).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, mono = spiral_tap(B, y, 0.05, penalty="tv", image_shape=(r, c), max_iter=100,
                             min_iter=100)
        _, raw = spiral_tap(B, y, 0.05, penalty="tv", image_shape=(r, c), max_iter=100,
                            min_iter=100, monotone=False)
    assert mono.objective <= raw.objective + 1e-9 * abs(raw.objective)
    assert mono.objective < mono.objective_history[0]


def test_background_known_beats_ignored():
    A, f, _ = _photon_problem(seed=3, n=200, m=120, k=4)
    rng = np.random.default_rng(5)
    b = 5.0
    y = rng.poisson(A @ f + b).astype(float)
    f_known, _ = spiral_tap(A, y, 0.1, background=b, tol=1e-7)
    f_ign, _ = spiral_tap(A, y, 0.1, tol=1e-7)
    assert np.linalg.norm(f_known - f) < np.linalg.norm(f_ign - f)


def test_estimator_and_bad_input():
    A, f, y = _photon_problem(n=100, m=60, k=3, seed=2)
    est = SPIRALTAP(tau=0.1, tol=1e-8).fit(Counting(A), y)
    assert est.coef_.min() >= 0 and est.n_operator_calls_ > 0
    np.testing.assert_allclose(est.predict(A), A @ est.coef_)
    with pytest.raises(ValueError, match="y holds negative"):
        spiral_tap(A, y - 100, 0.1)
    with pytest.raises(ValueError, match="Negative values in data passed to A"):
        spiral_tap(-A, y, 0.1)
    no_adj = LinearOperator(A.shape, matvec=lambda v: A @ v, dtype=np.float64)
    with pytest.raises(ValueError, match="A is a LinearOperator without an adjoint"):
        spiral_tap(no_adj, y, 0.1)
    with pytest.raises(ValueError, match="complex"):
        spiral_tap(A, y + 1j, 0.1)
    with pytest.raises(ValueError, match="image_shape"):
        spiral_tap(A, y, 0.1, penalty="tv", image_shape=(3, 3))
    with pytest.warns(ConvergenceWarning, match="relative step reached"):
        spiral_tap(A, y, 0.1, max_iter=6, tol=1e-14)


def test_tv_sub_solves_do_not_emit_tv2d_prox_warnings():
    # the inexact inner TV prox is part of SPIRAL-TAP: a short sub-solve budget must not
    # surface tv2d_prox's own max_iter warning (only SPIRAL-TAP's outer figure may warn)
    rng = np.random.default_rng(7)
    r = c = 6
    B = rng.integers(0, 2, size=(24, r * c)).astype(float)
    y = rng.poisson(B @ np.full(r * c, 3.0)).astype(float)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        spiral_tap(B, y, 0.1, penalty="tv", image_shape=(r, c), max_iter=5, sub_max_iter=2,
                   sub_tol=1e-14)
    assert not [w for w in rec if "tv2d_prox" in str(w.message)]


def test_spiral_tap_default_tau_and_nan_y_named_before_sign_of_A():
    """tau defaults to 1.0 as in SPIRALTAP; a NaN in y is reported as y even when A
    also breaks the model (negative entries)."""
    import inspect

    import pytest as _pytest

    from sparsecode.convex import SPIRALTAP, spiral_tap

    assert inspect.signature(spiral_tap).parameters["tau"].default == \
        SPIRALTAP().get_params()["tau"]
    rng = np.random.default_rng(0)
    A = rng.standard_normal((6, 4))
    y = np.ones(6)
    y[0] = np.nan
    with _pytest.raises(ValueError, match=r"\by\b"):
        spiral_tap(A, y)
    with _pytest.raises(ValueError, match=r"\bA\b"):
        spiral_tap(A, np.ones(6))


def test_spiraltap_is_a_regressor_of_nonnegative_data_keeping_float32():
    """SPIRALTAP is a scikit-learn regressor (fit(A, y) / predict(A) / score) that
    declares its non-negative model, keeps float32 and names y when it is missing."""
    from sklearn.base import is_regressor

    from sparsecode.convex import SPIRALTAP

    est = SPIRALTAP()
    assert is_regressor(est)
    assert est.__sklearn_tags__().input_tags.positive_only
    rng = np.random.default_rng(0)
    A = np.abs(rng.standard_normal((20, 8)))
    y = A @ np.r_[1.0, 0, 0, 2.0, 0, 0, 0, 0]
    assert est.fit(A.astype(np.float32), y).coef_.dtype == np.float32
    assert est.fit(A, y).coef_.dtype == np.float64
    assert np.isfinite(est.score(A, y))
    with pytest.raises(ValueError, match="target y is None"):
        SPIRALTAP().fit(A, None)
    with pytest.raises(ValueError, match="X has 3 features.*expecting 8"):
        est.predict(A[:, :3])
