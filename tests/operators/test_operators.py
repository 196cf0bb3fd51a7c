"""Operators against their dense matrices (closed forms and np.kron)."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import LinearOperator, aslinearoperator
from sklearn.exceptions import ConvergenceWarning

from sparsecode.operators import (
    KroneckerOperator,
    PartialDCT,
    PartialFFT,
    as_operator,
    operator_norm,
)


def dct_matrix(n):
    """Orthonormal DCT-II from its closed form (independent of scipy.fft)."""
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    C = np.sqrt(2.0 / n) * np.cos(np.pi * k * (2 * j + 1) / (2 * n))
    C[0] /= np.sqrt(2.0)
    return C


def dft_matrix(n):
    k = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    return np.exp(-2j * np.pi * k * j / n) / np.sqrt(n)


def _check_against_dense(op, M, rng, tol=1e-12):
    m, n = M.shape
    is_c = np.iscomplexobj(M)
    x = rng.standard_normal(n) + (1j * rng.standard_normal(n) if is_c else 0)
    y = rng.standard_normal(m) + (1j * rng.standard_normal(m) if is_c else 0)
    X = rng.standard_normal((n, 3))
    Y = rng.standard_normal((m, 3))
    np.testing.assert_allclose(op.matvec(x), M @ x, atol=tol)
    np.testing.assert_allclose(op.rmatvec(y), M.conj().T @ y, atol=tol)
    np.testing.assert_allclose(op.matmat(X), M @ X, atol=tol)
    np.testing.assert_allclose(op.rmatmat(Y), M.conj().T @ Y, atol=tol)
    np.testing.assert_allclose(op @ X, M @ X, atol=tol)
    np.testing.assert_allclose(op.H @ Y, M.conj().T @ Y, atol=tol)
    np.testing.assert_allclose(op.T @ Y, M.T @ Y, atol=tol)
    # adjoint identity <A x, y> = <x, A^H y>
    lhs = np.vdot(y, op.matvec(x))
    rhs = np.vdot(op.rmatvec(y), x)
    assert abs(lhs - rhs) <= tol * (1 + abs(lhs))
    np.testing.assert_allclose(op.toarray(), M, atol=tol)


@pytest.mark.parametrize("n", [1, 7, 16, 33])
def test_partial_dct_matches_closed_form(n):
    rng = np.random.default_rng(n)
    rows = rng.permutation(n)[: max(1, n // 2)]  # unsorted rows keep their order
    op = PartialDCT(n, rows)
    M = dct_matrix(n)[rows]
    assert op.shape == M.shape and op.dtype == np.float64
    _check_against_dense(op, M, rng)


def test_partial_dct_scale_and_complex_input():
    rng = np.random.default_rng(0)
    op = PartialDCT(20, [1, 4, 9, 19], scale=2.5)
    M = 2.5 * dct_matrix(20)[[1, 4, 9, 19]]
    _check_against_dense(op, M, rng)
    z = rng.standard_normal(20) + 1j * rng.standard_normal(20)
    np.testing.assert_allclose(op @ z, M @ z, atol=1e-12)


def test_partial_dct_rows_orthonormal():
    op = PartialDCT(64, 20, random_state=3)
    M = op.toarray()
    np.testing.assert_allclose(M @ M.T, np.eye(20), atol=1e-12)
    # the full transform is orthogonal
    F = PartialDCT(32, np.arange(32)).toarray()
    np.testing.assert_allclose(F.T @ F, np.eye(32), atol=1e-12)


def test_partial_dct_rows_forms_and_reproducibility():
    a = PartialDCT(50, 10, random_state=7)
    b = PartialDCT(50, 10, random_state=7)
    np.testing.assert_array_equal(a.rows, b.rows)
    assert np.all(np.diff(a.rows) > 0) and a.rows.size == 10
    mask = np.zeros(50, bool)
    mask[[2, 5, 11]] = True
    np.testing.assert_array_equal(PartialDCT(50, mask).rows, [2, 5, 11])


@pytest.mark.parametrize("n", [1, 8, 15])
def test_partial_fft_matches_closed_form(n):
    rng = np.random.default_rng(n)
    rows = rng.permutation(n)[: max(1, (2 * n) // 3)]
    op = PartialFFT(n, rows, scale=1.5)
    M = 1.5 * dft_matrix(n)[rows]
    assert op.dtype == np.complex128
    _check_against_dense(op, M, rng)
    # real input gives the complex result
    x = rng.standard_normal(n)
    np.testing.assert_allclose(op @ x, M @ x, atol=1e-12)


def test_partial_fft_unit_columns_with_scale():
    n, m = 32, 8
    op = PartialFFT(n, m, scale=np.sqrt(n / m), random_state=0)
    np.testing.assert_allclose(np.linalg.norm(op.toarray(), axis=0), 1.0, atol=1e-12)


@pytest.mark.parametrize("cls, dt, dt_out", [(PartialDCT, np.float32, np.float32),
                                             (PartialFFT, np.complex64, np.complex64),
                                             (PartialFFT, np.float32, np.complex64)])
def test_single_precision(cls, dt, dt_out):
    rng = np.random.default_rng(0)
    op = cls(40, 10, dtype=dt, random_state=0)
    assert op.dtype == dt_out
    x = rng.standard_normal(40).astype(np.float32)
    X = rng.standard_normal((40, 4)).astype(np.float32)
    y = rng.standard_normal(10).astype(np.float32)
    assert op.matvec(x).dtype == dt_out
    assert op.matmat(X).dtype == dt_out
    assert op.rmatvec(y).dtype == dt_out
    ref = cls(40, op.rows).toarray()
    np.testing.assert_allclose(op.matmat(X), ref @ X, atol=1e-5)
    # float64 input is not truncated to single precision
    assert op.matvec(x.astype(np.float64)).dtype == np.result_type(dt_out, np.float64)


def test_partial_transform_does_not_modify_input():
    rng = np.random.default_rng(1)
    op = PartialDCT(16, 5, random_state=0)
    x = rng.standard_normal(16)
    y = rng.standard_normal(5)
    x0, y0 = x.copy(), y.copy()
    x.flags.writeable = False
    y.flags.writeable = False
    op.matvec(x)
    op.rmatvec(y)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_partial_transform_pickles():
    op = PartialDCT(16, 5, random_state=0)
    op2 = pickle.loads(pickle.dumps(op))
    x = np.arange(16.0)
    np.testing.assert_array_equal(op @ x, op2 @ x)


@pytest.mark.parametrize("cls", [PartialDCT, PartialFFT])
def test_partial_transform_bad_input(cls):
    with pytest.raises(ValueError, match="n must be"):
        cls(0, [0])
    with pytest.raises(ValueError, match="rows"):
        cls(8, [0, 8])
    with pytest.raises(ValueError, match="rows"):
        cls(8, [1, 1])
    with pytest.raises(ValueError, match="rows"):
        cls(8, [])
    with pytest.raises(ValueError, match="rows"):
        cls(8, 9)
    with pytest.raises(ValueError, match="rows"):
        cls(8, [0.5, 1.0])
    with pytest.raises(ValueError, match="rows"):
        cls(8, np.ones(7, bool))
    with pytest.raises(ValueError, match="scale"):
        cls(8, [0], scale=-1.0)
    with pytest.raises(ValueError, match="scale"):
        cls(8, [0], scale=np.nan)
    with pytest.raises(ValueError, match="dtype"):
        cls(8, [0], dtype=np.int64)
    with pytest.raises(ValueError, match="dimension mismatch"):
        cls(8, [0, 1]).matvec(np.ones(7))


# --------------------------------------------------------------------------
# Kronecker
# --------------------------------------------------------------------------
@pytest.mark.parametrize("complex_", [False, True])
@pytest.mark.parametrize("shapes", [[(3, 4)], [(3, 4), (2, 5)], [(2, 3), (4, 2), (3, 3)]])
def test_kronecker_matches_np_kron(shapes, complex_):
    rng = np.random.default_rng(len(shapes))
    factors = []
    for m, n in shapes:
        F = rng.standard_normal((m, n))
        if complex_:
            F = F + 1j * rng.standard_normal((m, n))
        factors.append(F)
    M = factors[0]
    for F in factors[1:]:
        M = np.kron(M, F)
    op = KroneckerOperator(factors)
    assert op.shape == M.shape
    assert op.dtype == M.dtype
    _check_against_dense(op, M, rng)
    # the adjoint is again a Kronecker operator of the adjoint factors
    assert isinstance(op.H, KroneckerOperator)
    np.testing.assert_allclose(op.H.toarray(), M.conj().T, atol=1e-12)


def test_kronecker_mixed_factor_kinds():
    rng = np.random.default_rng(5)
    A1 = rng.standard_normal((3, 4))
    A2 = sp.random(4, 6, density=0.5, random_state=1, format="csc")
    A3 = PartialDCT(8, [0, 2, 7])
    op = KroneckerOperator([A1, A2, A3])
    M = np.kron(np.kron(A1, A2.toarray()), A3.toarray())
    _check_against_dense(op, M, rng)
    op_lin = KroneckerOperator([aslinearoperator(A1), A3])
    _check_against_dense(op_lin, np.kron(A1, A3.toarray()), rng)


def test_kronecker_bad_input():
    with pytest.raises(ValueError, match="at least one"):
        KroneckerOperator([])
    with pytest.raises(TypeError, match="sequence"):
        KroneckerOperator(np.eye(3))
    with pytest.raises(ValueError, match=r"factors\[1\]"):
        KroneckerOperator([np.eye(2), np.array([[1.0, np.nan]])])
    with pytest.raises(ValueError, match=r"factors\[0\]"):
        KroneckerOperator([np.ones(3)])


# --------------------------------------------------------------------------
# operator_norm and as_operator
# --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["lanczos", "power"])
@pytest.mark.parametrize("shape", [(30, 20), (80, 120), (7, 3)])
@pytest.mark.parametrize("kind", ["dense", "sparse", "linop", "complex", "float32"])
def test_operator_norm_matches_svd(kind, shape, method):
    rng = np.random.default_rng(0)
    A = rng.standard_normal(shape)
    if kind == "complex":
        A = A + 1j * rng.standard_normal(shape)
    ref = np.linalg.norm(A, 2)
    if kind == "float32":
        A = A.astype(np.float32)
        ref = np.linalg.norm(A.astype(np.float64), 2)
    arg = {"sparse": sp.csr_matrix, "linop": aslinearoperator}.get(kind, np.asarray)(A)
    if method == "power":
        est = operator_norm(arg, n_iter=5000, tol=1e-13, method="power")
    else:
        est = operator_norm(arg)  # default budget and tolerance
    rtol = 1e-5 if kind == "float32" else (1e-9 if method == "lanczos" else 1e-6)
    assert est <= ref * (1 + rtol)
    np.testing.assert_allclose(est, ref, rtol=rtol)


def test_operator_norm_lanczos_beats_power_on_gaussian():
    # sigma_2 / sigma_1 close to 1: 100 power iterations stay visibly low
    A = np.random.default_rng(0).standard_normal((300, 1200))
    ref = np.linalg.norm(A, 2)
    np.testing.assert_allclose(operator_norm(A), ref, rtol=1e-9)
    with pytest.warns(ConvergenceWarning):
        low = operator_norm(A, method="power")
    assert low < ref


def test_operator_norm_fast_paths():
    op = PartialDCT(128, 30, scale=1.7, random_state=0)
    assert operator_norm(op) == 1.7
    assert operator_norm(op.H) == 1.7
    assert operator_norm(PartialFFT(64, 10, random_state=0)) == 1.0
    np.testing.assert_allclose(np.linalg.norm(op.toarray(), 2), 1.7, rtol=1e-12)
    rng = np.random.default_rng(1)
    A1, A2 = rng.standard_normal((4, 25)), rng.standard_normal((30, 26))
    K = KroneckerOperator([A1, A2])
    np.testing.assert_allclose(operator_norm(K), np.linalg.norm(K.toarray(), 2), rtol=1e-9)


@pytest.mark.parametrize("shape", [(4, 3), (40, 60)])
@pytest.mark.parametrize("method", ["lanczos", "power"])
def test_operator_norm_zero_and_default_reproducible(shape, method):
    assert operator_norm(np.zeros(shape), method=method) == 0.0
    A = np.random.default_rng(2).standard_normal(shape)
    assert operator_norm(A, method=method) == operator_norm(A, method=method)


def test_operator_norm_warns_when_budget_exhausted():
    # sigma_2 / sigma_1 = 0.999: two power iterations cannot reach tol=1e-12
    A = np.diag(np.r_[1.0, 0.999, np.full(30, 0.5)])
    with pytest.warns(ConvergenceWarning, match="operator_norm did not converge"):
        est = operator_norm(A, n_iter=2, tol=1e-12, method="power")
    assert est <= 1.0 + 1e-12
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        operator_norm(A, n_iter=100, tol=1e-2, method="power")
    # clustered top of the spectrum: one Lanczos restart is not enough
    D = np.diag(np.r_[np.linspace(1.0, 0.99999, 1000)])
    with pytest.warns(ConvergenceWarning, match="Lanczos"):
        est = operator_norm(D, n_iter=1, tol=1e-14)
    assert 0.999 < est <= 1.0 + 1e-12


def test_operator_norm_bad_params():
    with pytest.raises(ValueError, match="n_iter"):
        operator_norm(np.eye(2), n_iter=0)
    with pytest.raises(ValueError, match="tol"):
        operator_norm(np.eye(2), tol=-1.0)
    with pytest.raises(ValueError, match="method"):
        operator_norm(np.eye(2), method="svd")
    with pytest.raises(ValueError, match="A"):
        operator_norm(np.array([[np.inf, 1.0]]))


def test_as_operator():
    A = np.arange(6.0).reshape(2, 3)
    op = as_operator(A)
    assert isinstance(op, LinearOperator)
    np.testing.assert_allclose(op.matmat(np.eye(3)), A)
    S = sp.csr_matrix(A)
    np.testing.assert_allclose(as_operator(S).rmatvec(np.ones(2)), A.T @ np.ones(2))
    P = PartialDCT(8, [1, 2])
    assert as_operator(P) is P
    with pytest.raises(ValueError, match="A"):
        as_operator(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="B"):
        as_operator(sp.csr_matrix(np.array([[np.nan, 1.0]])), name="B")


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 64), frac=st.floats(0.05, 1.0), seed=st.integers(0, 2**32 - 1),
       scale=st.floats(0.1, 10.0))
def test_partial_dct_properties(n, frac, seed, scale):
    m = max(1, int(frac * n))
    op = PartialDCT(n, m, scale=scale, random_state=seed)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n)
    y = rng.standard_normal(m)
    # A A^T = scale^2 I  and  <A x, y> = <x, A^T y>
    np.testing.assert_allclose(op.matvec(op.rmatvec(y)), scale**2 * y, rtol=1e-10, atol=1e-12)
    lhs, rhs = np.dot(op.matvec(x), y), np.dot(x, op.rmatvec(y))
    assert abs(lhs - rhs) <= 1e-10 * scale * np.linalg.norm(x) * np.linalg.norm(y)
    np.testing.assert_allclose(op.matvec(x), scale * dct_matrix(n)[op.rows] @ x,
                               atol=1e-10 * scale * np.linalg.norm(x))


@settings(max_examples=20, deadline=None)
@given(dims=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=3),
       seed=st.integers(0, 2**32 - 1), complex_=st.booleans(), k=st.integers(1, 3))
def test_kronecker_property(dims, seed, complex_, k):
    rng = np.random.default_rng(seed)
    factors = [rng.standard_normal(d) + (1j * rng.standard_normal(d) if complex_ else 0)
               for d in dims]
    M = factors[0]
    for F in factors[1:]:
        M = np.kron(M, F)
    op = KroneckerOperator(factors)
    X = rng.standard_normal((M.shape[1], k))
    Y = rng.standard_normal((M.shape[0], k))
    np.testing.assert_allclose(op.matmat(X), M @ X, atol=1e-12)
    np.testing.assert_allclose(op.rmatmat(Y), M.conj().T @ Y, atol=1e-12)


def test_partial_dct_with_scipy_solvers():
    # lsqr on a row-orthonormal operator returns the least-norm solution A^T y / scale^2
    from scipy.sparse.linalg import lsqr

    op = PartialDCT(256, 40, scale=2.0, random_state=0)
    y = np.random.default_rng(0).standard_normal(40)
    x = lsqr(op, y, atol=1e-14, btol=1e-14)[0]
    np.testing.assert_allclose(x, op.rmatvec(y) / 4.0, atol=1e-10)
    np.testing.assert_allclose(op @ x, y, atol=1e-10)
