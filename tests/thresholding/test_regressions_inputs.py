"""Issue 11, "no silent wrong answers": every public function and estimator of
the thresholding family refuses NaN/inf in A and y with a ValueError naming
the argument, returns zero coefficients for y = 0, and neither crashes nor
returns NaN on a dictionary with duplicated atoms."""

import warnings

import numpy as np
import pytest

import sparsecode as sc

from .conftest import gaussian_problem

FUNCS = [sc.iht, sc.niht, sc.htp, sc.cosamp, sc.subspace_pursuit, sc.nst_ht_fb,
         sc.adaptive_nst_ht_fb]
ESTS = [sc.IHT, sc.NIHT, sc.HTP, sc.CoSaMP, sc.SubspacePursuit, sc.NSTHTFB, sc.AdaptiveNSTHTFB]


def _kw(f):
    return {} if f in (sc.adaptive_nst_ht_fb, sc.AdaptiveNSTHTFB) else {"n_nonzero_coefs": 2}


@pytest.mark.parametrize("f", FUNCS, ids=lambda f: f.__name__)
def test_functions_inputs(f):
    A, x, y = gaussian_problem(20, 40, 2, seed=0)
    for bad in (np.nan, np.inf):
        An = A.copy()
        An[3, 4] = bad
        with pytest.raises(ValueError, match=r"\bA\b"):
            f(An, y, **_kw(f))
        yn = y.copy()
        yn[2] = bad
        with pytest.raises(ValueError, match=r"\by\b"):
            f(A, yn, **_kw(f))
    res = f(A, np.zeros(20), **_kw(f))
    assert np.all(res.coef == 0) and res.converged
    # duplicated atoms: no NaN, no crash, and a recovery that succeeds
    # without the duplicates still succeeds with them (before, CoSaMP split
    # the coefficient of atom 1 between its two copies -- the minimum-norm
    # least squares -- then pruned one copy: residual 0.5 ||a_1||, "converged")
    y2 = A[:, [1, 7]] @ np.array([1.0, -2.0])
    Ad = np.hstack([A, A[:, :5]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a rank-deficient warning is allowed
        plain = f(A, y2, **_kw(f))
        res = f(Ad, y2, **_kw(f))
    assert np.all(np.isfinite(res.coef))
    if np.linalg.norm(A @ plain.coef - y2) < 1e-6:
        assert np.linalg.norm(Ad @ res.coef - y2) < 1e-6


@pytest.mark.parametrize("cls", ESTS, ids=lambda c: c.__name__)
def test_estimators_inputs(cls):
    A, x, y = gaussian_problem(20, 40, 2, seed=1)
    An = A.copy()
    An[0, 0] = np.nan
    with pytest.raises(ValueError, match="X"):
        cls(**_kw(cls)).fit(An, y)
    yn = y.copy()
    yn[0] = np.inf
    with pytest.raises(ValueError, match="y"):
        cls(**_kw(cls)).fit(A, yn)
    est = cls(**_kw(cls)).fit(A, np.zeros(20))
    assert np.all(est.coef_ == 0)
