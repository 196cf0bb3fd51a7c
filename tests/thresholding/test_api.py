"""Bad input, warnings, estimators, encoders (spec 0.4, 4.3, 4.6)."""

import re
import warnings

import numpy as np
import pytest
from scipy.sparse.linalg import LinearOperator, aslinearoperator

import sparsecode as sc
from sparsecode._base import ConvergenceWarning

from .conftest import gaussian_problem, rel_err

FUNCS = [sc.nst_ht_fb, sc.htp, sc.cosamp, sc.subspace_pursuit, sc.iht, sc.niht]
ESTIMATORS = [sc.NSTHTFB, sc.HTP, sc.CoSaMP, sc.SubspacePursuit, sc.IHT, sc.NIHT]


@pytest.mark.parametrize("f", FUNCS)
def test_k_larger_than_m(f):
    A, x, y = gaussian_problem(20, 50, 3, seed=0)
    with pytest.raises(ValueError, match="n_nonzero_coefs=21 is larger than the number of "
                                         "measurements"):
        f(A, y, n_nonzero_coefs=21)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        f(A, y, n_nonzero_coefs=0)


@pytest.mark.parametrize("f", FUNCS + [sc.adaptive_nst_ht_fb])
def test_operator_shape_mismatch(f):
    A, x, y = gaussian_problem(20, 50, 3, seed=0)
    with pytest.raises(ValueError, match="y has 19 rows but the matrix has 20 rows"):
        f(aslinearoperator(A), y[:19])
    with pytest.raises(ValueError, match="y has 19 rows"):
        f(A, y[:19])


@pytest.mark.parametrize("f", FUNCS)
def test_nan_inf_rejected(f):
    A, x, y = gaussian_problem(20, 50, 3, seed=0)
    A2 = A.copy()
    A2[0, 0] = np.nan
    with pytest.raises(ValueError, match="A.*NaN|NaN.*A"):
        f(A2, y)
    y2 = y.copy()
    y2[0] = np.inf
    with pytest.raises(ValueError, match="y.*(NaN|infinity)|(NaN|infinity).*y"):
        f(A, y2)


def test_bad_parameters_named():
    A, x, y = gaussian_problem(20, 50, 3, seed=0)
    with pytest.raises(ValueError, match="'tol' parameter of nst_ht_fb"):
        sc.nst_ht_fb(A, y, tol=-1.0)
    with pytest.raises(ValueError, match="'projection' parameter"):
        sc.nst_ht_fb(A, y, projection="svd")
    with pytest.raises(ValueError, match="'schedule' parameter"):
        sc.adaptive_nst_ht_fb(A, y, schedule="cubic")
    with pytest.raises(ValueError, match="'growth' parameter"):
        sc.adaptive_nst_ht_fb(A, y, growth=0)
    with pytest.raises(ValueError, match="'step' parameter of iht"):
        sc.iht(A, y, step=-1.0)
    with pytest.raises(ValueError, match="ls_solver='qr' needs an explicit matrix"):
        sc.htp(aslinearoperator(A), y, ls_solver="qr")
    with pytest.raises(ValueError, match="projection='cholesky' needs an explicit matrix"):
        sc.nst_ht_fb(aslinearoperator(A), y, projection="cholesky")
    with pytest.raises(ValueError, match="NSTHTFB must be"):
        sc.NSTHTFB(max_iter=0).fit(A, y)


def test_singular_AAt_falls_back_with_warning():
    # duplicated rows: A A^T singular (rank 30 < m = 40).  Documented fallback:
    # the pseudo-inverse of A A^T, announced by a warning; recovery still works
    # (the duplicated measurements carry no new information).
    A, x, y = gaussian_problem(30, 80, 3, seed=1)
    A2 = np.vstack([A, A[:10]])
    y2 = A2 @ x
    with pytest.warns(UserWarning, match=r"A A\^H is singular \(numerical rank 30 < 40\)"):
        r = sc.nst_ht_fb(A2, y2, n_nonzero_coefs=3)
    assert rel_err(r.coef, x) < 1e-9
    with pytest.warns(UserWarning, match="singular"):
        sc.NSTHTFB(n_nonzero_coefs=3).fit(A2, y2)


def test_overdetermined_uses_pseudo_inverse_silently():
    # m > N of full column rank: A A^T is singular by construction; the NST
    # step becomes the least-squares solution (documented, no warning)
    rng = np.random.default_rng(0)
    A = rng.standard_normal((60, 20))
    x = np.zeros(20)
    x[[1, 5]] = [1.0, -2.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sc.nst_ht_fb(A, A @ x, n_nonzero_coefs=2)
    assert rel_err(r.coef, x) < 1e-10


def test_operator_singular_warns():
    A, x, y = gaussian_problem(30, 80, 3, seed=1)
    A2 = np.vstack([A, A[:10]])
    op = aslinearoperator(A2)
    # consistent data: CGLS gives A^+ r and recovery works without complaint
    r = sc.nst_ht_fb(op, A2 @ x, n_nonzero_coefs=3)
    assert rel_err(r.coef, x) < 1e-9
    # inconsistent data (y not in range(A)): the pseudo-inverse step, announced
    y_bad = A2 @ x + np.r_[np.zeros(30), np.ones(10)]
    with pytest.warns(UserWarning, match=r"not in the range of A, so A A\^H is singular"):
        r = sc.nst_ht_fb(op, y_bad, n_nonzero_coefs=3, max_iter=3)
    assert np.all(np.isfinite(r.coef))


def test_max_iter_warning_reports_figure():
    A, x, y = gaussian_problem(40, 100, 14, seed=0)
    with pytest.warns(ConvergenceWarning, match=r"IHT did not converge: relative residual "
                                                r"\|\|y - Ax\|\|/\|\|y\|\| reached \d"):
        r = sc.iht(A, y, n_nonzero_coefs=14, max_iter=2)
    assert not r.converged and r.status == 4 and r.n_iter == 2
    # one warning per call, even with many targets
    Y = np.column_stack([y] * 5)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sc.iht(A, Y, n_nonzero_coefs=14, max_iter=2)
    msgs = [w for w in rec if issubclass(w.category, ConvergenceWarning)]
    assert len(msgs) == 1 and "for 5 of 5 problems" in str(msgs[0].message)


def test_adaptive_failure_stop():
    # far too dense for m = 30: f(k) reaches m without the residual test passing
    A, x, y = gaussian_problem(30, 60, 25, seed=0)
    with pytest.warns(ConvergenceWarning, match="reached n_measurements = 30"):
        r = sc.adaptive_nst_ht_fb(A, y, growth=4)
    assert r.status == 3 and not r.converged
    assert r.n_iter == 8  # f(8) = 32 > 29 stops at iteration 8


def test_fixed_point_is_reported_not_warned():
    # HTP's support repeats without recovery (too dense): a fixed point, status 2
    A, x, y = gaussian_problem(30, 60, 14, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = sc.htp(A, y, n_nonzero_coefs=14)
    assert r.status in (1, 2)
    if r.status == 2:
        assert r.residual_norm > 1e-6 * np.linalg.norm(y)


# --------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------
@pytest.mark.parametrize("Est", ESTIMATORS)
def test_estimator_matches_function(Est):
    A, X, Y = gaussian_problem(100, 200, 5, seed=3, n_targets=3)
    kw = {"step": 1.0} if Est is sc.IHT else {}
    est = Est(n_nonzero_coefs=5, **kw).fit(A, Y)
    assert est.coef_.shape == (3, 200)
    assert rel_err(est.coef_.T, X) < 1e-4
    assert est.n_iter_.shape == (3,) and est.n_nonzero_coefs_ == 5
    np.testing.assert_allclose(est.predict(A), Y, atol=1e-4 * np.abs(Y).max())
    # LinearOperator as X, and predict with an operator
    est2 = Est(n_nonzero_coefs=5, **kw).fit(aslinearoperator(A), Y[:, 0])
    assert rel_err(est2.coef_, X[:, 0]) < 1e-4
    assert est2.predict(aslinearoperator(A)).shape == (100,)
    assert isinstance(est2.n_iter_, int)


def test_estimator_complex_and_score():
    A, x, y = gaussian_problem(60, 120, 4, seed=9, complex_=True)
    est = sc.NSTHTFB(n_nonzero_coefs=4).fit(A, y)
    assert est.coef_.dtype == np.complex128 and rel_err(est.coef_, x) < 1e-10
    assert np.allclose(est.predict(A), y)


def test_estimator_default_sparsity():
    A, x, y = gaussian_problem(60, 120, 4, seed=9)
    assert sc.HTP().fit(A, y).n_nonzero_coefs_ == 12


def test_verbose(capsys):
    A, x, y = gaussian_problem(60, 120, 4, seed=9)
    sc.nst_ht_fb(A, y, n_nonzero_coefs=4, verbose=1)
    out = capsys.readouterr().out
    assert re.search(r"\[NST\+HT\+FB\] iteration 1: 1 of 1 targets running, worst relative "
                     r"residual \d", out)
    assert "0 of 1 targets running" in out.splitlines()[-1]


# --------------------------------------------------------------------------
# sparse_encode / SparseCoder registration
# --------------------------------------------------------------------------
@pytest.mark.parametrize("name,func", [
    ("iht", sc.iht), ("niht", sc.niht), ("htp", sc.htp), ("cosamp", sc.cosamp),
    ("sp", sc.subspace_pursuit), ("nst_ht_fb", sc.nst_ht_fb),
])
def test_registered_encoders(name, func):
    A, X, Y = gaussian_problem(60, 120, 5, seed=3, n_targets=4)
    D = A.T  # atoms as rows
    codes = sc.sparse_encode(Y.T, D, algorithm=name, n_nonzero_coefs=5)
    np.testing.assert_allclose(codes, func(A, Y, n_nonzero_coefs=5).coef.T, atol=1e-12)
    assert codes.shape == (4, 120)


def test_adaptive_encoder_and_sparse_coder():
    A, X, Y = gaussian_problem(60, 120, 5, seed=3, n_targets=4)
    codes = sc.sparse_encode(Y.T, A.T, algorithm="adaptive_nst_ht_fb", growth=2)
    assert rel_err(codes, X.T) < 1e-9
    coder = sc.SparseCoder(A.T, algorithm="nst_ht_fb", n_nonzero_coefs=5)
    assert rel_err(coder.transform(Y.T), X.T) < 1e-9
    with pytest.raises(ValueError, match="does not use n_nonzero_coefs"):
        sc.sparse_encode(Y.T, A.T, algorithm="adaptive_nst_ht_fb", n_nonzero_coefs=5)
    assert {"iht", "niht", "htp", "cosamp", "sp", "nst_ht_fb",
            "adaptive_nst_ht_fb"} <= set(sc.available_encoders())


def test_bare_operator_needs_dtype():
    A, x, y = gaussian_problem(20, 50, 3, seed=0)
    op = LinearOperator(A.shape, matvec=lambda v: A @ v, rmatvec=lambda v: A.T @ v,
                        dtype=np.float64)
    assert sc.htp(op, y, n_nonzero_coefs=3).coef.shape == (50,)


def test_iht_divergence_guard():
    # mu = 1 on a matrix with ||A||^2 ~ 40: IHT diverges; the guard stops it
    # with a finite iterate, status 3 and a warning naming the cause
    A, x, y = gaussian_problem(30, 200, 10, seed=0)
    with pytest.warns(ConvergenceWarning, match="IHT diverged"):
        r = sc.iht(10 * A, 10 * y, n_nonzero_coefs=10, step=1.0)
    assert r.status == 3 and np.all(np.isfinite(r.coef))
    assert r.residual_norm <= 1e4 * np.linalg.norm(10 * y)
