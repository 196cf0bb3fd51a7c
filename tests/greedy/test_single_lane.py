"""The lean single-signal lanes of omp(A, y) and batch_omp(G, A^T y): one compiled
call with the checks inside; same answers, warnings and errors as the general path."""

import warnings

import numpy as np
import pytest

from sparsecode import batch_omp, omp
from sparsecode._base import ConvergenceWarning
from sparsecode.greedy import _omp as omp_mod


def _problem(m, N, k, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N)) * rng.uniform(0.5, 2.0, N)
    x = np.zeros(N)
    x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
    return A, A @ x + 0.01 * rng.standard_normal(m)


def _same(lean, general, atol=1e-12):
    # general: the (N, 1) result of the same signal given as a column
    assert set(lean) == set(general)
    np.testing.assert_array_equal(lean.coef != 0, general.coef[:, 0] != 0)
    np.testing.assert_allclose(lean.coef, general.coef[:, 0], rtol=0, atol=atol)
    assert lean.n_iter == general.n_iter[0] and type(lean.n_iter) is np.int64
    assert lean.status == general.status[0] and lean.converged == general.converged
    np.testing.assert_allclose(lean.residual_norm2, general.residual_norm2[0], rtol=1e-9,
                               atol=1e-14, equal_nan=True)


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("m, N, k", [(100, 400, 5), (100, 400, 25), (30, 31, 30), (17, 40, 3)])
def test_omp_lane_equals_general_path(order, m, N, k):
    A, y = _problem(m, N, k, seed=m + k)
    A = np.asarray(A, order=order)
    lean = omp(A, y, n_nonzero_coefs=k, precompute=False)
    _same(lean, omp(A, y[:, None], n_nonzero_coefs=k, precompute=False))
    # and the least-squares fit on the support it selected
    S = np.flatnonzero(lean.coef)
    ls, *_ = np.linalg.lstsq(A[:, S], y, rcond=None)
    np.testing.assert_allclose(lean.coef[S], ls, rtol=0, atol=1e-10)
    # the cost model's choice (either path) gives the same atoms
    auto = omp(A, y, n_nonzero_coefs=k)
    np.testing.assert_array_equal(auto.coef != 0, lean.coef != 0)
    np.testing.assert_allclose(auto.coef, lean.coef, rtol=0, atol=1e-10)


def test_omp_lane_leaves_inputs_alone():
    A, y = _problem(20, 50, 4, seed=3)
    A0, y0 = A.copy(), y.copy()
    A.setflags(write=False)
    y.setflags(write=False)
    omp(A, y, n_nonzero_coefs=4)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("scale", [1e-30, 1e30, 2.0**-70, 2.0**70])
def test_omp_lane_hands_out_of_range_data_to_the_rescaling(scale):
    # the lane refuses data the general path rescales; the answer scales with A
    A, y = _problem(25, 60, 4, seed=4)
    ref = omp(A, y, n_nonzero_coefs=4)
    res = omp(A * scale, y, n_nonzero_coefs=4)
    np.testing.assert_array_equal(res.coef != 0, ref.coef != 0)
    np.testing.assert_allclose(res.coef * scale, ref.coef, rtol=1e-10)
    # (the lane itself hands these data over)
    assert omp_mod._kernels().omp_single(A * scale, True, y, 4, 1e-10, False) is None


def test_omp_lane_refusals_name_the_argument():
    A, y = _problem(20, 40, 3, seed=5)
    for bad, arg in ((np.nan, "A"), (np.inf, "A")):
        Ab = A.copy()
        Ab[3, 7] = bad
        with pytest.raises(ValueError, match=arg):
            omp(Ab, y, n_nonzero_coefs=3)
    yb = y.copy()
    for bad in (np.inf, np.nan):
        yb[2] = bad
        with pytest.raises(ValueError, match="y"):
            omp(A, yb, n_nonzero_coefs=3)
    Ab = A.copy()
    Ab[:, [0, 39]] = np.nan  # NaN in the first and the last atom
    with pytest.raises(ValueError, match="A"):
        omp(Ab, y, n_nonzero_coefs=3)
    Az = A.copy()
    Az[:, 9] = 0.0
    with pytest.raises(ValueError, match="zero"):
        omp(Az, y, n_nonzero_coefs=3)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        omp(A, y, n_nonzero_coefs=21)


def test_omp_lane_dependence_goes_to_the_orthogonalisation():
    # duplicated atoms: the Cholesky pivot vanishes, the general path decides
    A, _ = _problem(12, 20, 1, seed=6)
    A[:, 5] = A[:, 2]
    y = A[:, 2] + 0.5 * A[:, 7] + 0.25 * A[:, 11] + 0.1 * A[:, 3]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        lean = omp(A, y, n_nonzero_coefs=12)
        general = omp(A, y[:, None], n_nonzero_coefs=12)
    _same(lean, general, atol=1e-10)


@pytest.mark.parametrize("m, N, k", [(100, 400, 5), (40, 33, 30), (30, 90, 12)])
def test_batch_omp_lane_equals_general_path(m, N, k):
    A, y = _problem(m, N, k, seed=N)
    G, aty = A.T @ A, A.T @ y
    for ns in (None, float(y @ y)):
        lean = batch_omp(G, aty, n_nonzero_coefs=k, norms_squared=ns)
        general = batch_omp(G, aty[:, None], n_nonzero_coefs=k,
                            norms_squared=None if ns is None else [ns])
        _same(lean, general)
        assert np.isnan(lean.residual_norm2) == (ns is None)
    S = np.flatnonzero(lean.coef)
    ls, *_ = np.linalg.lstsq(A[:, S], y, rcond=None)
    np.testing.assert_allclose(lean.coef[S], ls, rtol=0, atol=1e-10)


def test_batch_omp_lane_refusals_and_warnings():
    A, y = _problem(20, 40, 3, seed=7)
    G, aty = A.T @ A, A.T @ y
    Gb = G.copy()
    Gb[5, 30] = np.nan  # an entry the pursuit never reads
    with pytest.raises(ValueError, match="gram"):
        batch_omp(Gb, aty, n_nonzero_coefs=3)
    Gz = G.copy()
    Gz[4, 4] = 0.0
    with pytest.raises(ValueError, match="non-positive diagonal"):
        batch_omp(Gz, aty, n_nonzero_coefs=3)
    ab = aty.copy()
    for bad in (-np.inf, np.nan):
        ab[0] = bad
        with pytest.raises(ValueError, match="Aty"):
            batch_omp(G, ab, n_nonzero_coefs=3)
    # huge data: rescaled by the general path, same atoms
    big = batch_omp(G * 1e80, aty * 1e40, n_nonzero_coefs=3)
    ref = batch_omp(G, aty, n_nonzero_coefs=3)
    np.testing.assert_array_equal(big.coef != 0, ref.coef != 0)
    np.testing.assert_allclose(big.coef * 1e40, ref.coef, rtol=1e-10)  # A' = 1e40 A
    # a rank-5 dictionary and y outside its span: the rank is reached before
    # k atoms, warned once, as by the general path
    rng = np.random.default_rng(8)
    A = rng.standard_normal((20, 5)) @ rng.standard_normal((5, 40))
    y = rng.standard_normal(20)
    G, aty = A.T @ A, A.T @ y
    with pytest.warns(ConvergenceWarning, match="linear dependence"):
        res = batch_omp(G, aty, n_nonzero_coefs=10, norms_squared=float(y @ y))
    assert res.status == 2 and not res.converged and res.n_iter == 5
    with pytest.warns(ConvergenceWarning, match="linear dependence"):
        general = batch_omp(G, aty[:, None], n_nonzero_coefs=10, norms_squared=[float(y @ y)])
    _same(res, general)
