"""Every public regressor (``fit(A, y)`` -> ``coef_``) through the regime matrix.

Regressors are discovered from ``sparsecode.__all__`` (``RegressorMixin``);
capabilities come from the library's declarations: complex support from the
family's common-check config / ``fit`` docstring, sparse input from the
``input_tags.sparse`` tag.  The constructor signature decides the call:
``n_nonzero_coefs`` -> the sparsity s; ``alpha`` -> a fraction of the
objective's ``alpha_max``; ``n_alphas`` (CV) -> a short grid; ``fit_intercept``
-> False (the oracles solve the problem without intercept).

Oracles: the exact sparse solution of a noiseless well-conditioned problem
(30 x 60, s = 3; scikit-learn's OMP recovers it) for sparsity and Bayesian
methods, a plain-numpy MP for matching pursuit, scikit-learn's Lasso for the
quadratic datafit, a certified dual bound for the square-root Lasso and an LP
for LAD; CV estimators must find the true support.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from . import _oracles as O
from .conftest import (CONDS, SCALES32, M, N, S, add_noise, all_finite, check,
                       conditioned_dictionary, constructor_params, declares_complex,
                       declares_sparse, gaussian_dictionary, regressors, rel, rng, run_cell, sid,
                       sparse_codes, support)

REGRESSORS = regressors()


def _positive_only(cls):
    """The ``positive_only`` input tag: a model of non-negative data (Poisson counts)."""
    try:
        return bool(cls().__sklearn_tags__().input_tags.positive_only)
    except Exception:
        return False


# Restricted models (non-negative A and y: SPIRALTAP's Poisson model) are outside the
# Gaussian cells (their data has negative entries, which such a model must refuse): they
# run through the Poisson cells at the end of this file (KKT certificate, y = 0, refusals).
POSITIVE_ONLY = sorted(n for n, c in REGRESSORS.items() if _positive_only(c))
NAMES = sorted(n for n in REGRESSORS if n not in POSITIVE_ONLY)

# Datafit of the alpha-estimators as their docstrings state it.
_DATAFIT = {"SqrtLasso": "sqrt", "LADLasso": "lad", "SqrtLassoCV": "sqrt", "LADLassoCV": "lad"}
# No recovery guarantee at these sizes (IHT: delta_3s < 1/sqrt(32)): judged as fixed points.
_LOCAL = {"IHT"}
# Quadratic datafit plus a squared-l2 term (alpha (1 - l1_ratio) ||w||^2 / 2): judged
# against scikit-learn's ElasticNet at the estimator's default l1_ratio, not the Lasso.
# Not homogeneous: under y -> c y (or A -> c A) no rescaling of alpha alone keeps the
# solution (the l1 and l2 terms scale by different powers of c), so the single-factor
# scale cells do not apply; the joint (c A, c y, c^2 alpha) equivariance at 1e+-150 is
# tested in tests/convex/test_lasso.py.
_ENET = {"ElasticNet"}


def _quad_ref(name, A, y, a, positive=False):
    if name in _ENET:
        return O.enet_ref(A, y, a, REGRESSORS[name]().l1_ratio, positive=positive)
    return O.lasso_ref(A, y, a, positive=positive)


def _quad_obj(name, A, y, c, a):
    if name in _ENET:
        return O.enet_objective(A, y, c, a, REGRESSORS[name]().l1_ratio)
    return O.quad_objective(A, y, c, a)


def params(name):
    return constructor_params(REGRESSORS[name])


def kind(name):
    p = params(name)
    if "n_alphas" in p:
        return "cv"
    if "n_nonzero_coefs" in p:
        return "sparsity"
    if "alpha" in p or "penalty" in p:
        return _DATAFIT.get(name, "quad")
    return "free"


def alpha_degree_y(name):
    return 0 if kind(name) in ("sqrt", "lad") else 1


def problem(dtype=np.float64, complex_=False, seed=0):
    r = rng(seed)
    A = gaussian_dictionary(r=r, complex_=complex_).T  # (M, N), unit columns
    x = sparse_codes(1, N, S, r, dtype=np.complex128 if complex_ else np.float64)[0]
    y = A @ x
    if not complex_:
        A, y, x = A.astype(dtype), y.astype(dtype), x.astype(dtype)
    return A, y, x


def base_alpha(name, A, y):
    A = np.asarray(A, np.float64)
    y = np.asarray(y, np.float64)
    m = A.shape[0]
    k = kind(name)
    if k == "sqrt":
        return 0.3 * np.abs(A.T @ y).max() / (np.sqrt(m) * np.linalg.norm(y))
    if k == "lad":
        return 0.3 * np.abs(A.T @ np.sign(y)).max() / m
    return 0.05 * np.abs(A.T @ y).max() / m


def make(name, alpha=None, **extra):
    cls = REGRESSORS[name]
    p = params(name)
    kw = dict(extra)
    if "n_nonzero_coefs" in p:
        kw["n_nonzero_coefs"] = S
    if "fit_intercept" in p:
        kw["fit_intercept"] = False
    if "n_alphas" in p:
        kw.update(n_alphas=5, cv=3)
    if "alpha" in p and alpha is not None and kind(name) != "sparsity":
        kw["alpha"] = alpha
    elif "penalty" in p and alpha is not None and kind(name) != "sparsity":
        from sparsecode.convex import L1

        kw["penalty"] = L1(alpha=alpha)
    return cls(**kw)


def fit_coef(name, A, y, alpha_scale=1.0, alpha_from=None, **extra):
    src = (A, y) if alpha_from is None else alpha_from
    alpha = base_alpha(name, *src) * alpha_scale
    est = make(name, alpha, **extra)
    est.fit(A, y)
    return np.asarray(est.coef_).reshape(-1) if np.ndim(y) == 1 else est.coef_


def verify(name, A, y, coef, truth, *, rtol, alpha=None):
    A = np.asarray(A.toarray() if sp.issparse(A) else A)
    assert coef.shape == (A.shape[1],), coef.shape
    assert all_finite(coef), "non-finite coef_"
    k = kind(name)
    m = A.shape[0]
    if name in _LOCAL:
        S_ = np.flatnonzero(coef)
        r = y - A @ coef
        g = np.linalg.norm(A[:, S_].conj().T @ r) / np.linalg.norm(A.conj().T @ y)
        assert S_.size <= S and g <= max(1e-5, rtol), f"not a fixed point: {g:.2e}"
        assert np.linalg.norm(r) <= np.linalg.norm(y) * (1 + 1e-6), "residual above ||y||"
    elif name == "MatchingPursuit":
        ref = O.mp_ref(A, y, S)
        assert rel(coef, ref) <= rtol, f"MP differs from the reference MP: {rel(coef, ref):.2e}"
    elif k in ("sparsity", "free"):
        assert rel(coef, truth) <= rtol, f"not the exact sparse solution: {rel(coef, truth):.2e}"
    elif k == "cv":
        assert support(coef, S) == support(truth, S), "CV lost the true support"
    elif k == "quad" and np.iscomplexobj(A) and name not in _ENET:
        gap = O.lasso_rel_gap(A, y, coef, alpha)
        assert gap <= max(1e-5, rtol), f"relative gap {gap:.2e} to a certified bound"
    elif k == "quad":
        ref = _quad_ref(name, A, y, alpha)
        f, fref = _quad_obj(name, A, y, coef, alpha), _quad_obj(name, A, y, ref, alpha)
        assert (f - fref) / fref <= max(1e-6, rtol), \
            f"objective {(f - fref) / fref:.2e} above sklearn's"
    elif k == "sqrt":
        gap = O.sqrt_lasso_gap(A, y, coef, alpha, np.sqrt(m))
        assert gap <= max(1e-5, rtol), f"relative gap {gap:.2e} to a certified bound"
    elif k == "lad":
        ref = O.lad_ref(A, y, alpha, m)
        f, fref = O.lad_objective(A, y, coef, alpha, m), O.lad_objective(A, y, ref, alpha, m)
        assert (f - fref) / fref <= max(1e-6, rtol), \
            f"objective {(f - fref) / fref:.2e} above the LP's"


_BASE = {}


def base_coef(name, dtype=np.float64):
    key = (name, np.dtype(dtype).name)
    if key not in _BASE:
        A, y, _ = problem(dtype)
        _BASE[key] = run_cell(lambda: fit_coef(name, A, y))
    return _BASE[key]


ARGS = ("X", "y", "A", "n_nonzero_coefs", "alpha")


def _rtol(name, dtype=np.float64):
    """Iterative methods stop at a relative tolerance: the answer is right to about
    that (the estimator's default ``tol``, at least 1e-5), not to rounding."""
    r = 1e-5 if dtype == np.float64 else 2e-3
    if kind(name) == "free":
        return max(r, 1e-3)
    tol = REGRESSORS[name]().get_params().get("tol")
    if kind(name) in ("quad", "sqrt", "lad") and isinstance(tol, float):
        r = max(r, 2 * tol)
    return r


def _eqtol(name, dtype):
    """Equivariance tolerance: rounding for direct methods; iterative ones may stop one
    iteration apart, so their stopping tolerance."""
    if dtype != np.float64:
        return 1e-3
    return 1e-6 if kind(name) == "sparsity" and name not in _LOCAL else _rtol(name) * 10


# Fewer points than the encoders: the estimators are slower (the Bayesian family).
SCALES_EST = [1e-150, 1e-60, 1e60, 1e150]
SNRS_EST = [20, 40, 80]  # 10 dB: the encoders (the same solvers)


# ------------------------------------------------------------------ cells
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_exact(name, dtype):
    A, y, x = problem(dtype)
    out = run_cell(lambda: fit_coef(name, A, y))

    def v(coef):
        assert coef.dtype == dtype, f"{np.dtype(dtype).name} in, {coef.dtype} coef_ out"
        verify(name, A.astype(np.float64), y.astype(np.float64), coef.astype(np.float64),
               x.astype(np.float64), rtol=_rtol(name, dtype), alpha=base_alpha(name, A, y))

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("name", NAMES)
def test_complex(name):
    A, y, x = problem(complex_=True)
    out = run_cell(lambda: fit_coef(name, A, y, alpha_from=problem()[:2]))
    if not declares_complex(REGRESSORS[name]):
        assert out.error is not None, "complex input accepted without being declared"
        check(out, ARGS + ("complex",), lambda v: None)
        return
    check(out, ARGS, lambda coef: verify(name, A, y, coef, x, rtol=_rtol(name),
                                         alpha=base_alpha(name, *problem()[:2])))


@pytest.mark.parametrize("name", NAMES)
def test_fortran_order(name):
    A, y, _ = problem()
    ref = base_coef(name)
    out = run_cell(lambda: fit_coef(name, np.asfortranarray(A), y))

    def v(coef):
        assert ref.error is None, f"C order refused: {ref.error}"
        assert rel(coef, ref.value) <= 1e-9, f"F and C order differ: {rel(coef, ref.value):.2e}"

    check(out, ARGS, v, quiet=True)


def _scale_cases():
    for name in NAMES:
        for dtype, scales in ((np.float64, SCALES_EST), (np.float32, SCALES32)):
            for c in scales:
                yield pytest.param(name, dtype, c, id=f"{name}-{np.dtype(dtype).name}-{sid(c)}")


@pytest.mark.parametrize("name,dtype,c", list(_scale_cases()))
def test_scale_y(name, dtype, c):
    """coef(A, c y) = c coef(A, y) (alpha scaled by c for a quadratic datafit)."""
    if name in _ENET:
        pytest.skip("not homogeneous in y at fixed l1_ratio (see _ENET)")
    A, y, _ = problem(dtype)
    ref = base_coef(name, dtype)
    yc = (y.astype(np.float64) * c).astype(dtype)
    out = run_cell(lambda: fit_coef(name, A, yc, alpha_scale=c ** alpha_degree_y(name),
                                    alpha_from=(A, y)))
    tol = _eqtol(name, dtype)

    def v(coef):
        assert ref.error is None, f"scale 1 refused: {ref.error}"
        assert all_finite(coef), "non-finite coef_"
        got = coef.astype(np.float64) / c
        assert rel(got, ref.value) <= tol, f"coef(cy)/c differs: {rel(got, ref.value):.2e}"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("name,dtype,c", list(_scale_cases()))
def test_scale_A(name, dtype, c):
    """coef(c A, y) = coef(A, y) / c (alpha scaled by c)."""
    if name in _ENET:
        pytest.skip("not homogeneous in A at fixed l1_ratio (see _ENET)")
    A, y, _ = problem(dtype)
    ref = base_coef(name, dtype)
    Ac = (A.astype(np.float64) * c).astype(dtype)
    out = run_cell(lambda: fit_coef(name, Ac, y, alpha_scale=c, alpha_from=(A, y)))
    tol = _eqtol(name, dtype)

    def v(coef):
        assert ref.error is None, f"scale 1 refused: {ref.error}"
        assert all_finite(coef), "non-finite coef_"
        got = coef.astype(np.float64) * c
        assert rel(got, ref.value) <= tol, f"c coef(cA) differs: {rel(got, ref.value):.2e}"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("cond", CONDS, ids=sid)
@pytest.mark.parametrize("name", NAMES)
def test_conditioning(name, cond):
    r = rng(1)
    A = conditioned_dictionary(cond, r=r).T
    x = sparse_codes(1, N, S, r)[0]
    y = A @ x
    out = run_cell(lambda: fit_coef(name, A, y))

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        k = kind(name)
        if k in ("sparsity", "free"):
            assert np.linalg.norm(y - A @ coef) <= np.linalg.norm(y) * (1 + 1e-6), \
                "residual above ||y||"
        elif k in ("quad", "sqrt", "lad"):
            a, m = base_alpha(name, A, y), A.shape[0]
            f = {"quad": lambda c: O.quad_objective(A, y, c, a),
                 "sqrt": lambda c: O.sqrt_objective(A, y, c, a, np.sqrt(m)),
                 "lad": lambda c: O.lad_objective(A, y, c, a, m)}[k]
            assert f(coef) <= f(np.zeros_like(coef)) * (1 + 1e-9), "objective above its value at 0"

    assert out.error is not None or all_finite(out.value), "NaN/inf returned"
    check(out, ARGS, v, warning_excuses=cond > 1e3)


@pytest.mark.parametrize("snr", SNRS_EST, ids=lambda v: f"{v}dB")
@pytest.mark.parametrize("name", NAMES)
def test_snr(name, snr):
    r = rng(2)
    A = gaussian_dictionary(r=r).T
    x = sparse_codes(1, N, S, r)[0]
    y = add_noise(A @ x, snr, r)
    out = run_cell(lambda: fit_coef(name, A, y))
    k = kind(name)

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        if k in ("quad", "sqrt", "lad"):
            verify(name, A, y, coef, x, rtol=_rtol(name), alpha=base_alpha(name, A, y))
            return
        if snr >= 40 and name not in _LOCAL and name != "MatchingPursuit":
            assert support(coef, S) == support(x, S), "support lost at high SNR"
            if k != "cv":
                assert rel(coef, x) <= 10 * 10 ** (-snr / 20), \
                    f"error {rel(coef, x):.2e} at {snr} dB"
        if k in ("sparsity", "free"):
            assert np.linalg.norm(y - A @ coef) <= np.linalg.norm(y) * (1 + 1e-6), \
                "residual above ||y||"

    assert out.error is not None or all_finite(out.value), "NaN/inf returned"
    check(out, ARGS, v, warning_excuses=snr <= 20)


@pytest.mark.parametrize("name", NAMES)
def test_zero_y(name):
    A, y, _ = problem()
    out = run_cell(lambda: fit_coef(name, A, np.zeros_like(y), alpha_from=(A, y)))

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        assert np.all(coef == 0), f"y = 0 gave a nonzero coef_ ({np.abs(coef).max():.2e})"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("name", NAMES)
def test_duplicated_column(name):
    A, y, x = problem()
    j = int(np.flatnonzero(x)[0])
    A2 = np.hstack([A, A[:, [j]]])
    out = run_cell(lambda: fit_coef(name, A2, y, alpha_from=(A, y)))
    k = kind(name)

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        a = base_alpha(name, A, y)
        m = A.shape[0]
        if k == "quad":
            f = _quad_obj(name, A2, y, coef, a)
            fref = _quad_obj(name, A, y, _quad_ref(name, A, y, a), a)
            assert (f - fref) / fref <= 1e-6, "objective above sklearn's"
        elif k == "lad":
            f = O.lad_objective(A2, y, coef, a, m)
            fref = O.lad_objective(A, y, O.lad_ref(A, y, a, m), a, m)
            assert (f - fref) / fref <= 1e-6, "objective above the LP's"
        elif k == "sqrt":
            gap = O.sqrt_lasso_gap(A2, y, coef, a, np.sqrt(m))
            assert gap <= _rtol(name), f"relative gap {gap:.2e} to a certified bound"
        elif name == "OrthogonalMatchingPursuit" or k in ("free", "cv"):
            assert rel(A2 @ coef, y) <= (1e-2 if k == "cv" else 1e-6), \
                f"fit {rel(A2 @ coef, y):.2e}"
        else:
            assert np.count_nonzero(coef) <= S, "more nonzeros than n_nonzero_coefs"
            assert np.linalg.norm(y - A2 @ coef) <= np.linalg.norm(y) * (1 + 1e-6), \
                "residual above ||y||"

    check(out, ARGS, v, warning_excuses=True)


@pytest.mark.parametrize("where", ["nan-X", "inf-X", "nan-y", "inf-y"])
@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_refused(name, where):
    A, y, _ = problem()
    A, y = A.copy(), y.copy()
    bad = np.nan if where.startswith("nan") else np.inf
    if where.endswith("X"):
        A[0, 0] = bad
    else:
        y[0] = bad
    out = run_cell(lambda: fit_coef(name, A, y, alpha_from=problem()[:2]))
    assert out.error is not None, f"{where} accepted"
    check(out, ("X", "A") if where.endswith("X") else ("y",), lambda v: None)


@pytest.mark.parametrize("name", NAMES)
def test_sparse_input(name):
    A, y, _ = problem()
    ref = base_coef(name)
    out = run_cell(lambda: fit_coef(name, sp.csr_matrix(A), y, alpha_from=(A, y)))
    if declares_sparse(REGRESSORS[name]):
        assert out.error is None, f"sparse input declared but refused: {out.error}"

    def v(coef):
        coef = coef.toarray().ravel() if sp.issparse(coef) else coef
        assert rel(coef, ref.value) <= 1e-8, \
            f"sparse and dense X differ: {rel(coef, ref.value):.2e}"

    check(out, ("X", "sparse"), v)


_POSITIVE = [n for n in NAMES if "positive" in params(n)]


@pytest.mark.parametrize("truth", ["nonnegative", "mixed-sign"])
@pytest.mark.parametrize("name", _POSITIVE)
def test_positive(name, truth):
    """positive=True: coef_ never negative; with a nonnegative truth, the right answer."""
    A, y, x = problem()
    if truth == "nonnegative":
        x = np.abs(x)
        y = A @ x
    out = run_cell(lambda: fit_coef(name, A, y, positive=True))
    k = kind(name)

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        assert coef.min() >= 0, f"negative coef_ {coef.min():.2e} with positive=True"
        if truth != "nonnegative":
            return
        a = base_alpha(name, A, y)
        m = A.shape[0]
        if k in ("sparsity", "free"):
            assert rel(coef, x) <= _rtol(name), \
                f"not the exact nonnegative solution: {rel(coef, x):.2e}"
        elif k == "cv":
            assert support(coef, S) == support(x, S), "CV lost the true support"
        elif k == "quad":
            ref = _quad_ref(name, A, y, a, positive=True)
            f, fref = _quad_obj(name, A, y, coef, a), _quad_obj(name, A, y, ref, a)
            assert (f - fref) / fref <= _rtol(name), \
                f"objective {(f - fref) / fref:.2e} above sklearn's"
        elif k == "lad":
            ref = O.lad_ref(A, y, a, m, positive=True)
            f, fref = O.lad_objective(A, y, coef, a, m), O.lad_objective(A, y, ref, a, m)
            assert (f - fref) / fref <= _rtol(name), \
                f"objective {(f - fref) / fref:.2e} above the LP's"

    check(out, ARGS + ("positive",), v)


def _overdetermined(cond, r):
    U, _ = np.linalg.qr(r.standard_normal((40, 10)))
    V, _ = np.linalg.qr(r.standard_normal((10, 10)))
    return (U * np.logspace(0, -np.log10(cond), 10)) @ V.T


@pytest.mark.parametrize("cond", CONDS, ids=sid)
@pytest.mark.parametrize("name", [n for n in NAMES if kind(n) == "sparsity"])
def test_overdetermined_lstsq(name, cond):
    """k = n_features on a full-rank overdetermined system: scipy's lstsq solution (with a
    consistent y, the exact x, to the accuracy the conditioning allows)."""
    from scipy.linalg import lstsq

    r = rng(9)
    A = _overdetermined(cond, r)
    x = r.uniform(1, 2, 10) * r.choice([-1.0, 1.0], 10)
    y = A @ x
    ref = lstsq(A, y)[0]
    est = REGRESSORS[name](**{"n_nonzero_coefs": 10,
                              **({"fit_intercept": False} if "fit_intercept" in params(name)
                                 else {})})
    out = run_cell(lambda: np.asarray(est.fit(A, y).coef_).reshape(-1))
    tol = max(1e-8, cond * 1e-11)

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        if name == "MatchingPursuit":  # MP does not project: residual only
            assert np.linalg.norm(y - A @ coef) <= np.linalg.norm(y) * (1 + 1e-6)
            return
        assert rel(coef, ref) <= tol, f"differs from lstsq by {rel(coef, ref):.2e} (cond {cond:.0e})"

    check(out, ARGS, v, warning_excuses=cond > 1e3)


# ------------------------------------------------------------------ Poisson cells
def _poisson_problem(dtype=np.float64):
    """Non-negative unit-norm columns, a non-negative 3-sparse intensity, y = A x >= 0."""
    r = rng(3)
    A = np.abs(gaussian_dictionary(r=r)).T
    x = np.abs(sparse_codes(1, N, S, r)[0])
    return A.astype(dtype), (A @ x).astype(dtype), x


def _poisson_kkt(A, y, f, tau):
    """Largest KKT violation of min sum(Af) - y log(Af) + tau |f|_1 s.t. f >= 0,
    relative to max_j sum_i A_ij + tau (the gradient's scale)."""
    W = A @ f
    with np.errstate(divide="ignore", invalid="ignore"):
        g = A.T @ (1.0 - np.where(y > 0, y / W, 0.0)) + tau
    viol = np.where(f > 0, np.abs(g), np.maximum(-g, 0.0))
    return float(viol.max() / (A.sum(axis=0).max() + tau))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", POSITIVE_ONLY)
def test_poisson_kkt(name, dtype):
    A, y, _ = _poisson_problem(dtype)
    est = REGRESSORS[name]()
    out = run_cell(lambda: np.asarray(est.fit(A, y).coef_))
    tol = 1e-5 if dtype == np.float64 else 1e-3

    def v(coef):
        assert coef.dtype == dtype, f"{np.dtype(dtype).name} in, {coef.dtype} coef_ out"
        assert all_finite(coef) and coef.min() >= 0, "coef_ not finite and non-negative"
        kkt = _poisson_kkt(A.astype(np.float64), y.astype(np.float64), coef.astype(np.float64),
                           est.get_params()["tau"])
        assert kkt <= tol, f"KKT violation {kkt:.2e}"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("name", POSITIVE_ONLY)
def test_poisson_zero_y(name):
    A, y, _ = _poisson_problem()
    out = run_cell(lambda: np.asarray(REGRESSORS[name]().fit(A, np.zeros_like(y)).coef_))

    def v(coef):
        assert all_finite(coef), "non-finite coef_"
        assert np.all(coef == 0), f"y = 0 gave a nonzero coef_ ({np.abs(coef).max():.2e})"

    check(out, ARGS, v, quiet=True)


@pytest.mark.parametrize("where", ["negative-A", "negative-y", "nan-A", "nan-y"])
@pytest.mark.parametrize("name", POSITIVE_ONLY)
def test_poisson_out_of_model_refused(name, where):
    A, y, _ = _poisson_problem()
    A, y = A.copy(), y.copy()
    if where == "negative-A":
        A = problem()[0]  # the Gaussian design of the cells above
    elif where == "negative-y":
        y[0] = -1.0
    else:
        (A if where == "nan-A" else y)[0, ...] = np.nan
    out = run_cell(lambda: REGRESSORS[name]().fit(A, y).coef_)
    assert out.error is not None, f"{where} accepted"
    check(out, ("A", "X") if where.endswith("A") else ("y",), lambda v: None)
