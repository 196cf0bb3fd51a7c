"""OMP paths chosen for speed give the same answer: memory layout, cost model, fast checks."""

import warnings

import numpy as np
import pytest

from sparsecode import batch_omp, omp
from sparsecode.greedy import _omp as omp_mod


def _problem(m, N, k, L=1, seed=0, complex_=False, noise=0.01):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N))
    if complex_:
        A = A + 1j * rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    X = np.zeros((N, L), dtype=A.dtype)
    for i in range(L):
        X[rng.choice(N, k, replace=False), i] = rng.standard_normal(k)
    return A, A @ X + noise * rng.standard_normal((m, L))


@pytest.mark.parametrize("complex_", [False, True])
def test_row_major_kernel_equals_column_major(complex_):
    # the kernel reads a C-ordered A in place; same iterates as on a Fortran copy
    A, Y = _problem(40, 120, 6, L=5, seed=3, complex_=complex_)
    a = omp(np.ascontiguousarray(A), Y, n_nonzero_coefs=10, precompute=False)
    b = omp(np.asfortranarray(A), Y, n_nonzero_coefs=10, precompute=False)
    np.testing.assert_array_equal(a.coef != 0, b.coef != 0)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(a.residual_norm2, b.residual_norm2, rtol=1e-10, atol=1e-14)


def test_row_major_kernel_does_not_touch_input():
    A, Y = _problem(30, 90, 4, L=3, seed=1)
    A0, Y0 = A.copy(), Y.copy()
    A.setflags(write=False)
    omp(A, Y, n_nonzero_coefs=6, precompute=False)
    np.testing.assert_array_equal(A, A0)
    np.testing.assert_array_equal(Y, Y0)


@pytest.mark.parametrize("shape", [(100, 400, 25, 1), (60, 200, 15, 40), (200, 50, 10, 1)])
def test_cost_model_paths_identical(shape):
    # whichever path the cost model picks, both give the same supports and codes
    m, N, k, L = shape
    A, Y = _problem(m, N, k, L=L, seed=2)
    gram = omp(A, Y, n_nonzero_coefs=k, precompute=True)
    nogram = omp(A, Y, n_nonzero_coefs=k, precompute=False)
    auto = omp(A, Y, n_nonzero_coefs=k)
    np.testing.assert_array_equal(gram.coef != 0, nogram.coef != 0)
    np.testing.assert_allclose(gram.coef, nogram.coef, rtol=0, atol=1e-9)
    np.testing.assert_allclose(auto.coef, nogram.coef, rtol=0, atol=1e-9)


def test_cost_model_choices():
    t_ng, t_g = omp_mod._omp_costs(500, 2000, 1, 50)
    assert t_ng < t_g  # one signal, wide A: the Gram (m N^2) does not pay
    t_ng, t_g = omp_mod._omp_costs(64, 256, 10_000, 8)
    assert t_g < t_ng  # many signals share one Gram
    # the model grows with every size in the right direction
    assert omp_mod._omp_costs(500, 2000, 1, 100)[0] > omp_mod._omp_costs(500, 2000, 1, 50)[0]
    assert omp_mod._omp_costs(500, 4000, 1, 50)[1] > omp_mod._omp_costs(500, 2000, 1, 50)[1]
    assert not omp_mod._resolve_precompute("auto", 500, 2000, 1, 50)
    assert omp_mod._resolve_precompute(True, 500, 2000, 1, 50)
    assert not omp_mod._resolve_precompute(False, 64, 256, 10_000, 8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_and_layouts(dtype):
    A, Y = _problem(50, 150, 5, L=2, seed=4)
    ref = omp(A, Y, n_nonzero_coefs=5, precompute=False).coef
    for Ad in (A.astype(dtype), np.asfortranarray(A.astype(dtype)), A.astype(dtype)[:, ::1]):
        res = omp(Ad, Y.astype(dtype), n_nonzero_coefs=5, precompute=False)
        assert res.coef.dtype == dtype
        np.testing.assert_array_equal(res.coef != 0, ref != 0)
    # a non-contiguous view goes through a copy, same answer
    big = np.zeros((50, 300))
    big[:, ::2] = A
    res = omp(big[:, ::2], Y, n_nonzero_coefs=5, precompute=False)
    np.testing.assert_allclose(res.coef, ref, rtol=0, atol=1e-12)


def test_fast_checks_still_refuse_bad_input():
    A, Y = _problem(20, 40, 2, L=1, seed=5)
    for bad in (np.nan, np.inf, -np.inf):
        B = A.copy()
        B[3, 7] = bad
        with pytest.raises(ValueError, match="A"):
            omp(B, Y, n_nonzero_coefs=2)
        y = Y[:, 0].copy()
        y[2] = bad
        with pytest.raises(ValueError, match="y"):
            omp(A, y, n_nonzero_coefs=2)
    B = A.copy()
    B[:, 5] = 0.0
    with pytest.raises(ValueError, match="zero-norm column"):
        omp(B, Y, n_nonzero_coefs=2)
    with pytest.raises(ValueError, match="rows"):
        omp(A, Y[:-1], n_nonzero_coefs=2)
    # finite entries whose sum overflows are valid data (the slow check decides,
    # without a warning from the fast one)
    C = np.abs(A) * 1e307
    with np.errstate(over="ignore"):
        assert not np.isfinite(np.sum(C))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert omp_mod._fast_matrix(C, "A", allow_complex=False) is C
    with np.errstate(over="ignore"):  # ||r||^2 itself overflows at this scale
        res = omp(C, C[:, [3]], n_nonzero_coefs=1)
    assert np.flatnonzero(res.coef).tolist() == [3]


def test_column_norm_scale_matches_pow2_scale():
    # the one-pass scale decision agrees with the full one on safe and unsafe data
    rng = np.random.default_rng(6)
    A = rng.standard_normal((30, 60))
    for factor in (1.0, 2.0**60, 2.0**-60, 2.0**70, 2.0**-70, 1e-300, 1e300):
        B = A * factor
        s_A, dinv = omp_mod._dictionary_scale(B)
        assert s_A == omp_mod._pow2_scale(B)
        if dinv is not None:
            np.testing.assert_allclose(dinv, 1.0 / np.sum(B**2, axis=0), rtol=1e-12)


@pytest.mark.parametrize("N", [7, 32, 45, 100, 257])
def test_fused_real_step_equals_scalar_complex_step(N):
    # real data take the fused SIMD update (blocks of 32 and 4, scalar tail);
    # the same data as complex numbers take the scalar loops: same pursuit
    rng = np.random.default_rng(N)
    m, L = 24, 30
    k = min(8, N - 1)
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    Y = rng.standard_normal((m, L))
    G = A.T @ A
    real = batch_omp(G, A.T @ Y, n_nonzero_coefs=k, norms_squared=np.sum(Y**2, axis=0))
    cplx = batch_omp(G.astype(complex), (A.T @ Y).astype(complex), n_nonzero_coefs=k,
                     norms_squared=np.sum(Y**2, axis=0))
    np.testing.assert_array_equal(real.coef != 0, cplx.coef != 0)
    np.testing.assert_allclose(real.coef, cplx.coef.real, rtol=0, atol=1e-10)
    np.testing.assert_allclose(real.residual_norm2, cplx.residual_norm2, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("dup", [(3, 40), (35, 70), (0, 1)])
def test_fused_step_ties_go_to_the_lowest_index(dup):
    # an atom repeated at a higher index is never chosen before its first copy,
    # whichever SIMD lane or block the two copies fall in
    rng = np.random.default_rng(7)
    m, N = 20, 80
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    lo, hi = dup
    A[:, hi] = A[:, lo]
    y = A[:, lo] * 3.0 + 0.5 * A[:, 11] + 0.4 * A[:, 60]
    res = batch_omp(A.T @ A, A.T @ y, n_nonzero_coefs=3)
    assert res.coef[hi] == 0 and res.coef[lo] != 0


def test_sparse_encode_float32_and_threads():
    from sparsecode import sparse_encode

    rng = np.random.default_rng(8)
    D = rng.standard_normal((70, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((300, 16))
    c64 = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5, n_jobs=1)
    c64b = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=5, n_jobs=2)
    np.testing.assert_array_equal(c64, c64b)
    c32 = sparse_encode(X.astype(np.float32), D.astype(np.float32), algorithm="omp",
                        n_nonzero_coefs=5)
    assert c32.dtype == np.float32
    same = np.all((c32 != 0) == (c64 != 0), axis=1)
    assert same.mean() > 0.95  # float32 inputs differ from the float64 data by rounding


def test_plain_params_fast_lane_matches_validation():
    # values the fast lane accepts are valid; others still get the full check
    assert omp_mod._plain_params(5, None, "auto", False, None, False)
    assert omp_mod._plain_params(None, 0.5, True, True, -1, True)
    for bad in [dict(n_nonzero_coefs=0), dict(n_nonzero_coefs=2.0), dict(tol=-1.0),
                dict(precompute="yes"), dict(positive=1), dict(n_jobs=0),
                dict(n_nonzero_coefs=np.int64(3))]:
        args = dict(n_nonzero_coefs=5, tol=None, precompute="auto", positive=False,
                    n_jobs=None, return_path=False)
        args.update(bad)
        assert not omp_mod._plain_params(*args.values())
    A, Y = _problem(20, 40, 2, L=1, seed=9)
    with pytest.raises(ValueError, match="precompute"):
        omp(A, Y, n_nonzero_coefs=2, precompute="yes")
    with pytest.raises(ValueError, match="n_jobs"):
        omp(A, Y, n_nonzero_coefs=2, n_jobs=0)
    # numpy integers go through the full check and are accepted
    res = omp(A, Y[:, 0], n_nonzero_coefs=np.int64(2))
    assert np.count_nonzero(res.coef) == 2


def test_pow2_scale_shortcut_agrees_with_the_rule():
    rng = np.random.default_rng(10)
    Y = rng.standard_normal((12, 6))
    Y[:, 1] *= 2.0**70
    Y[:, 2] *= 2.0**-70
    Y[:, 3] = 0.0
    s = omp_mod._pow2_scale(Y, axis=0)
    e = np.frexp(np.max(np.abs(Y), axis=0))[1] - 1
    np.testing.assert_array_equal(s, np.where(np.abs(e) > 64, np.ldexp(1.0, e), 1.0))
    np.testing.assert_array_equal(omp_mod._pow2_scale(Y[:, [0, 4, 5]], axis=0), 1.0)


def _kernel_run(A, Y, k, A32):
    K = omp_mod._kernels()
    L = Y.shape[1]
    idx = np.zeros((L, k), np.intc)
    val = np.zeros((L, k))
    nnz = np.zeros(L, np.intc)
    res = np.zeros(L)
    st = np.zeros(L, np.intc)
    dinv = 1.0 / np.sum(A**2, axis=0)
    f = K.omp_nogram_rowmajor if A.flags.c_contiguous else K.omp_nogram
    f(A, np.asfortranarray(Y), dinv, np.zeros(L), k, False, 1e-10, 1, idx, val, nnz, res, st,
      A32)
    return idx, val, nnz, res, st


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("seed", [0, 1])
def test_float32_screen_selects_what_double_selects(order, seed):
    # the screened selection (float32 products + exact recheck) follows the
    # float64 pursuit atom for atom, also on near-ties and tiny residuals
    rng = np.random.default_rng(seed)
    m, N, k, L = 64, 300, 20, 6
    A = rng.standard_normal((m, N)) * rng.uniform(0.5, 2.0, N)  # unequal norms
    # a near-duplicate pair: a near-tie (1e-9 apart: far below float32's
    # resolution, far above float64 rounding), which the recheck resolves
    A[:, 10] = A[:, 3] + 1e-9 * rng.standard_normal(m)
    A[:, 200] = A[:, 3]  # an exact duplicate at a higher index: an exact tie
    A = np.asarray(A, order=order)
    Y = rng.standard_normal((m, L))
    Y[:, 0] = A[:, 3] * 2.0 + A[:, 50] + 1e-7 * Y[:, 0]  # small residual after 2 atoms
    Y[:, 1] = 1e-150 * Y[:, 1]  # tiny data
    Y[:, 2] = A[:, 7] - 0.5 * A[:, 90]  # exactly 2-sparse
    ref = _kernel_run(A, Y, k, None)
    A32 = A.astype(np.float32, order="K").ravel(order="K")
    scr = _kernel_run(A, Y, k, A32)
    # the exactly sparse signal: same two atoms; past them the residual is
    # rounding noise, whose "correlations" legitimately differ between paths
    np.testing.assert_array_equal(np.sort(ref[0][2, :2]), [7, 90])
    np.testing.assert_array_equal(np.sort(scr[0][2, :2]), [7, 90])
    assert scr[3][2] < 1e-20 and ref[3][2] < 1e-20
    keep = [0, 1, 3, 4, 5]
    ref = tuple(a[keep] for a in ref)
    scr = tuple(a[keep] for a in scr)
    L = len(keep)
    np.testing.assert_array_equal(ref[2], scr[2])  # atoms selected
    np.testing.assert_array_equal(ref[4], scr[4])  # status
    np.testing.assert_allclose(ref[3], scr[3], rtol=1e-6, atol=0)  # squared residuals
    for i in range(L):
        n = ref[2][i]
        np.testing.assert_array_equal(ref[0][i, :n], scr[0][i, :n])
        np.testing.assert_allclose(ref[1][i, :n], scr[1][i, :n], rtol=1e-9, atol=0)
    assert 200 not in scr[0][0, : scr[2][0]]


def test_float32_screen_through_omp_equals_sklearn():
    from sklearn.linear_model import orthogonal_mp

    A, Y = _problem(200, 800, 30, L=3, seed=11)
    ours = omp(A, Y, n_nonzero_coefs=40, precompute=False).coef  # screened (k L >= 6)
    ref = orthogonal_mp(A, Y, n_nonzero_coefs=40)
    np.testing.assert_array_equal(ours != 0, ref != 0)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-10)


def test_batch_omp_fast_checks_still_refuse_bad_input():
    A, Y = _problem(20, 40, 2, L=2, seed=12)
    G, Aty = A.T @ A, A.T @ Y
    Gb = G.copy()
    Gb[1, 2] = np.nan
    with pytest.raises(ValueError, match="gram"):
        batch_omp(Gb, Aty, n_nonzero_coefs=2)
    Ab = Aty.copy()
    Ab[0, 1] = np.inf
    with pytest.raises(ValueError, match="Aty"):
        batch_omp(G, Ab, n_nonzero_coefs=2)
    Gz = G.copy()
    Gz[3, 3] = 0.0
    with pytest.raises(ValueError, match="non-positive diagonal"):
        batch_omp(Gz, Aty, n_nonzero_coefs=2)
    # lists still work (the full checks convert them)
    res = batch_omp(G.tolist(), Aty[:, 0].tolist(), n_nonzero_coefs=2)
    np.testing.assert_allclose(res.coef, batch_omp(G, Aty[:, 0], n_nonzero_coefs=2).coef)
