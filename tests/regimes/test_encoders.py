"""Every registered encoder of ``sparse_encode`` through the regime matrix.

The encoders are discovered with :func:`sparsecode.available_encoders`; what
each declares in the registry (``n_nonzero_coefs``, ``alpha``, ``complex``)
decides how it is called and which oracle judges it:

* ``n_nonzero_coefs`` (greedy, thresholding): the exact sparse solution of a
  noiseless, well-conditioned problem (s = 3 of 60 atoms in 30 dimensions,
  magnitudes in [1, 2]; scikit-learn's OMP recovers it, checked first); MP
  against a plain-numpy matching pursuit with the documented stopping rule.
* ``alpha`` (convex): the minimiser of the encoder's documented objective,
  computed independently (scikit-learn's Lasso, the concomitant alternation for
  the square-root Lasso, an LP for LAD); MCP, unbiased above gamma*alpha, must
  return the exact solution at a small alpha.
* neither (SBL, adaptive NST+HT+FB): the exact sparse solution.

Scale regimes check equivariance: codes(c X) = c codes(X) and
codes(X, c D) = codes(X, D) / c, with ``alpha`` scaled as the objective's
homogeneity requires.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode import available_encoders, sparse_encode

from . import _oracles as O
from .conftest import (CONDS, SCALES, SCALES32, SNRS, L, N, S, add_noise, all_finite, check,
                       conditioned_dictionary, encoder_params, gaussian_dictionary, rel, rng,
                       run_cell, sid, sparse_codes, support)

ENCODERS = available_encoders()

# Datafit of the alpha-encoders as their registry descriptions state it; this
# fixes the oracle and how alpha scales with the signal.
_DATAFIT = {"lasso": "quad", "weighted_lasso": "quad", "mcp": "mcp", "sqrt_lasso": "sqrt",
            "lad_lasso": "lad"}


# Methods without a recovery guarantee at these sizes (IHT needs delta_3s < 1/sqrt(32),
# far from what 30 x 60 Gaussian gives): judged as converged fixed points, i.e.
# least-squares optimal on their own support and no worse than the zero code.
_LOCAL = {"iht"}

# Tied (amortised) encoders: not recovery algorithms.  Their codes are correlations with
# the atoms (no least-squares fit), so they cannot recover exact sparse codes over a
# coherent dictionary, and codes(X, c D) = c codes(X, D) by definition (not / c).  The
# exact / dictionary-scale / conditioning / SNR promises do not apply; test_tied_encoders
# checks what they do promise instead.
_TIED = {
    "topk": "tied encoder: codes are the top-k correlations X @ D.T, not least-squares "
            "coefficients",
    "mp_sae": "MP-SAE encoder: n_nonzero_coefs plain-correlation pursuit steps over unit "
              "atoms, no recovery guarantee; codes scale with the atoms",
}


def skip_tied(name):
    if name in _TIED:
        pytest.skip(f"not a recovery method: {_TIED[name]}")


def kind(name):
    p = encoder_params(name)
    if "n_nonzero_coefs" in p:
        return "sparsity"
    if "alpha" in p:
        return _DATAFIT.get(name, "convex")
    return "free"


def declares_complex(name):
    return "complex" in encoder_params(name)


def alpha_degree(name):
    """alpha -> c**deg alpha keeps codes(c X) = c codes(X)."""
    return 0 if kind(name) in ("sqrt", "lad") else 1


# ---------------------------------------------------------------- problems
def problem(dtype=np.float64, complex_=False, seed=0):
    r = rng(seed)
    D = gaussian_dictionary(r=r, complex_=complex_)
    C = sparse_codes(L, N, S, r, dtype=np.complex128 if complex_ else np.float64)
    X = C @ D
    if not complex_:
        D, X, C = D.astype(dtype), X.astype(dtype), C.astype(dtype)
    return X, D, C


def base_alpha(name, X, D):
    X = np.asarray(X, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    corr = np.abs(X @ D.T)  # (L, N)
    k = kind(name)
    if k == "sqrt":
        return 0.3 * np.min(corr.max(1) / np.linalg.norm(X, axis=1))
    if k == "lad":
        return 0.3 * np.min(np.abs(np.sign(X) @ D.T).max(1))
    if k == "mcp":
        return 0.01 * np.min(corr.max(1))
    return 0.05 * np.min(corr.max(1))


def kwargs_for(name, X, D, alpha_scale=1.0):
    k = kind(name)
    if k == "sparsity":
        return {"n_nonzero_coefs": S}
    if k == "free":
        return {}
    return {"alpha": base_alpha(name, X, D) * alpha_scale}


def encode(name, X, D, alpha_scale=1.0, alpha_from=None, **extra):
    src = (X, D) if alpha_from is None else alpha_from
    kw = kwargs_for(name, *src, alpha_scale=alpha_scale)
    kw.update(extra)
    return sparse_encode(X, D, algorithm=name, **kw)


# ---------------------------------------------------------------- oracles
def oracle_codes(name, X, D, alpha):
    """Reference codes for the convex encoders, row by row (float64)."""
    X = np.asarray(X, dtype=np.float64)
    A = np.asarray(D, dtype=np.float64).T
    out = np.zeros((X.shape[0], A.shape[1]))
    for i, x in enumerate(X):
        k = kind(name)
        if k == "quad":
            out[i] = O.lasso_ref(A, x, alpha / A.shape[0])
        elif k == "lad":
            out[i] = O.lad_ref(A, x, alpha)
    return out


def objective(name, X, D, codes, alpha):
    A = np.asarray(D, dtype=np.float64).T
    k = kind(name)
    vals = []
    for x, c in zip(np.asarray(X, np.float64), np.asarray(codes, np.float64)):
        if k == "quad":
            vals.append(O.quad_objective(A, x, c, alpha / A.shape[0]) * A.shape[0])
        elif k == "sqrt":
            vals.append(O.sqrt_objective(A, x, c, alpha))
        elif k == "lad":
            vals.append(O.lad_objective(A, x, c, alpha))
        else:
            vals.append(0.5 * np.sum((x - A @ c) ** 2) + alpha * np.abs(c).sum())
    return np.array(vals)


def verify_against_oracle(name, X, D, codes, truth, *, rtol, alpha=None):
    """The answer is right for this encoder's problem (see the module docstring)."""
    codes = np.asarray(codes)
    assert codes.shape == (X.shape[0], D.shape[0]), codes.shape
    assert all_finite(codes), "non-finite codes"
    k = kind(name)
    if name in _LOCAL:
        A = np.asarray(D).T
        for x, c in zip(X, codes):
            S_ = np.flatnonzero(c)
            assert S_.size <= S, f"{S_.size} nonzeros for n_nonzero_coefs={S}"
            r = x - A @ c
            g = np.linalg.norm(A[:, S_].conj().T @ r) / np.linalg.norm(A.conj().T @ x)
            assert g <= max(1e-5, rtol), f"not least-squares optimal on its support: {g:.2e}"
            assert np.linalg.norm(r) <= np.linalg.norm(x) * (1 + 1e-6), "residual above ||x||"
    elif k == "sparsity" and name == "mp":
        ref = np.array([O.mp_ref(D.T.astype(codes.dtype), x, S) for x in X])
        assert rel(codes, ref) <= rtol, f"MP differs from the reference MP: {rel(codes, ref):.2e}"
    elif k in ("sparsity", "free", "mcp"):
        assert rel(codes, truth) <= rtol, \
            f"not the exact sparse solution: rel {rel(codes, truth):.2e}"
    elif k == "sqrt":
        A = np.asarray(D, np.float64).T
        gap = sqrt_gap(A, X, codes, alpha)
        assert gap <= max(1e-5, rtol), f"relative duality gap {gap:.2e} to a certified bound"
    elif k in ("quad", "lad"):
        ref = oracle_codes(name, X, D, alpha)
        f, fref = objective(name, X, D, codes, alpha), objective(name, X, D, ref, alpha)
        gap = np.max((f - fref) / np.maximum(fref, 1e-300))
        assert gap <= max(rtol, 1e-6), f"objective {gap:.2e} above the oracle's"
        assert rel(codes, ref) <= max(1e-3, 10 * rtol), \
            f"codes differ from the oracle: {rel(codes, ref):.2e}"
    else:  # an alpha-encoder without a stated objective: no worse than the zero code
        f0 = 0.5 * np.sum(np.abs(X) ** 2, 1)
        assert np.all(objective(name, X, D, codes, alpha) <= f0 * (1 + 1e-9)), "worse than zero"


def sqrt_gap(A, X, codes, alpha):
    """Largest relative gap between the square-root Lasso objective reached and a
    certified dual lower bound (the optimum may interpolate: no KKT shortcut)."""
    out = 0.0
    for x, c in zip(np.asarray(X, np.float64), np.asarray(codes, np.float64)):
        out = max(out, O.sqrt_lasso_gap(A, x, c, alpha))
    return out


_BASE = {}


def base_codes(name, dtype=np.float64):
    """The encoder's answer on the base problem (itself checked by test_exact)."""
    key = (name, np.dtype(dtype).name)
    if key not in _BASE:
        X, D, _ = problem(dtype)
        _BASE[key] = run_cell(lambda: encode(name, X, D))
    return _BASE[key]


NAMES = ("X", "dictionary", "n_nonzero_coefs", "alpha", "algorithm")


# ------------------------------------------------------------------ cells
def test_problem_is_recoverable():
    """Precondition of the exact cells: scikit-learn's OMP recovers the base problem."""
    X, D, C = problem()
    for x, c in zip(X, C):
        np.testing.assert_allclose(O.omp_ref(D.T, x, S), c, atol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", ENCODERS)
def test_exact(name, dtype):
    skip_tied(name)
    X, D, C = problem(dtype)
    out = run_cell(lambda: encode(name, X, D))
    # iterative methods stop at a relative tolerance (1e-6 by default)
    rtol = 1e-5 if dtype == np.float64 else 2e-3
    if kind(name) in ("free", "mcp"):
        rtol = max(rtol, 1e-3)

    def verify(codes):
        assert codes.dtype == dtype, f"{np.dtype(dtype).name} in, {codes.dtype} out"
        verify_against_oracle(name, X.astype(np.float64), D.astype(np.float64),
                              codes.astype(np.float64), C.astype(np.float64), rtol=rtol,
                              alpha=base_alpha(name, X, D))

    check(out, NAMES, verify, quiet=True)


@pytest.mark.parametrize("name", ENCODERS)
def test_fortran_order(name):
    X, D, _ = problem()
    ref = base_codes(name)
    out = run_cell(lambda: encode(name, np.asfortranarray(X), np.asfortranarray(D)))

    def verify(codes):
        assert ref.error is None, f"C order refused: {ref.error}"
        assert rel(codes, ref.value) <= 1e-9, f"F and C order differ: {rel(codes, ref.value):.2e}"

    check(out, NAMES, verify, quiet=True)


@pytest.mark.parametrize("name", ENCODERS)
def test_complex(name):
    X, D, C = problem(complex_=True)
    out = run_cell(lambda: encode(name, X, D))
    if not declares_complex(name):
        assert out.error is not None, \
            "complex input accepted by an encoder that does not declare it"
        check(out, NAMES + ("complex",), lambda v: None)
        return

    def verify(codes):
        assert np.iscomplexobj(codes), f"complex in, {codes.dtype} out"
        rtol = 1e-3 if kind(name) == "free" else 1e-6
        verify_against_oracle(name, X, D, codes, C, rtol=rtol)

    check(out, NAMES, verify)


def _scale_cases(dtypes_scales):
    for name in ENCODERS:
        for dtype, scales in dtypes_scales:
            for c in scales:
                yield pytest.param(name, dtype, c, id=f"{name}-{np.dtype(dtype).name}-{sid(c)}")


_SCALE_CASES = list(_scale_cases([(np.float64, SCALES), (np.float32, SCALES32)]))


@pytest.mark.parametrize("name,dtype,c", _SCALE_CASES)
def test_scale_signal(name, dtype, c):
    """codes(c X) = c codes(X) (alpha scaled by c for a quadratic datafit)."""
    X, D, _ = problem(dtype)
    ref = base_codes(name, dtype)
    Xc = (X.astype(np.float64) * c).astype(dtype)
    out = run_cell(lambda: encode(name, Xc, D, alpha_scale=c ** alpha_degree(name),
                                  alpha_from=(X, D)))
    tol = 1e-6 if dtype == np.float64 else 1e-3

    def verify(codes):
        assert ref.error is None, f"scale 1 refused: {ref.error}"
        assert all_finite(codes), "non-finite codes"
        got = codes.astype(np.float64) / c
        assert rel(got, ref.value) <= tol, \
            f"codes(cX)/c differ from codes(X): {rel(got, ref.value):.2e}"

    check(out, NAMES, verify, quiet=True)


_DSCALE_CASES = [p for p in _SCALE_CASES if kind(p.values[0]) != "mcp"]
# MCP is not equivariant under D -> cD with its parameters: gamma would have to become gamma/c^2.


@pytest.mark.parametrize("name,dtype,c", _DSCALE_CASES)
def test_scale_dictionary(name, dtype, c):
    """codes(X, c D) = codes(X, D) / c (alpha scaled by c)."""
    skip_tied(name)
    X, D, _ = problem(dtype)
    ref = base_codes(name, dtype)
    Dc = (D.astype(np.float64) * c).astype(dtype)
    out = run_cell(lambda: encode(name, X, Dc, alpha_scale=c, alpha_from=(X, D)))
    tol = 1e-6 if dtype == np.float64 else 1e-3

    def verify(codes):
        assert ref.error is None, f"scale 1 refused: {ref.error}"
        assert all_finite(codes), "non-finite codes"
        got = codes.astype(np.float64) * c
        assert rel(got, ref.value) <= tol, \
            f"c codes(X, cD) differ from codes(X, D): {rel(got, ref.value):.2e}"

    check(out, NAMES, verify, quiet=True)


@pytest.mark.parametrize("cond", CONDS, ids=sid)
@pytest.mark.parametrize("name", ENCODERS)
def test_conditioning(name, cond):
    """Ill-conditioned dictionaries: a finite code that does not do worse than the zero code,
    or a warning / a clear error."""
    skip_tied(name)
    r = rng(1)
    D = conditioned_dictionary(cond, r=r)
    C = sparse_codes(L, N, S, r)
    X = C @ D
    out = run_cell(lambda: encode(name, X, D))

    def verify(codes):
        assert all_finite(codes), "non-finite codes"
        if kind(name) in ("sparsity", "free"):
            res = np.linalg.norm(X - codes @ D, axis=1)
            assert np.all(res <= np.linalg.norm(X, axis=1) * (1 + 1e-6)), "residual above ||x||"
        else:
            a = base_alpha(name, X, D)
            f = objective(name, X, D, codes, a)
            f0 = objective(name, X, D, np.zeros_like(codes), a)
            assert np.all(f <= f0 * (1 + 1e-9)), "objective above its value at zero"

    assert out.error is not None or all_finite(out.value), "NaN/inf returned"
    check(out, NAMES, verify, warning_excuses=cond > 1e3)


@pytest.mark.parametrize("snr", SNRS, ids=lambda v: f"{v}dB")
@pytest.mark.parametrize("name", ENCODERS)
def test_snr(name, snr):
    skip_tied(name)
    r = rng(2)
    D = gaussian_dictionary(r=r)
    C = sparse_codes(L, N, S, r)
    X = add_noise(C @ D, snr, r)
    out = run_cell(lambda: encode(name, X, D))
    k = kind(name)

    def verify(codes):
        assert all_finite(codes), "non-finite codes"
        if k in ("quad", "sqrt", "lad"):
            verify_against_oracle(name, X, D, codes, C, rtol=1e-6, alpha=base_alpha(name, X, D))
            return
        if snr >= 40 and name != "mp":
            assert support(codes, S) == support(C, S), "support lost at high SNR"
            assert rel(codes, C) <= 10 * 10 ** (-snr / 20), f"error {rel(codes, C):.2e} at {snr} dB"
        if k in ("sparsity", "free"):
            res = np.linalg.norm(X - codes @ D, axis=1)
            assert np.all(res <= np.linalg.norm(X, axis=1) * (1 + 1e-6)), "residual above ||x||"

    assert out.error is not None or all_finite(out.value), "NaN/inf returned"
    check(out, NAMES, verify, warning_excuses=snr <= 20)


@pytest.mark.parametrize("name", ENCODERS)
def test_zero_signal(name):
    """y = 0 -> the zero code, also when mixed with nonzero signals."""
    X, D, _ = problem()
    X = X.copy()
    X[1] = 0.0
    out = run_cell(lambda: encode(name, X, D, alpha_from=problem()[:2]))
    out0 = run_cell(lambda: encode(name, np.zeros_like(X), D, alpha_from=problem()[:2]))

    def verify(codes):
        assert all_finite(codes), "non-finite codes"
        assert np.all(codes[1] == 0), \
            f"nonzero code for a zero signal: {np.abs(codes[1]).max():.2e}"

    check(out, NAMES, verify, quiet=True)
    check(out0, NAMES, lambda codes: (all_finite(codes) or pytest.fail("non-finite codes"),
                                      np.all(codes == 0) or pytest.fail("nonzero code for X = 0")))


@pytest.mark.parametrize("name", ENCODERS)
def test_duplicated_atom(name):
    """An exact copy of an atom that the signals use: a valid answer, never NaN."""
    X, D, C = problem()
    j = int(np.flatnonzero(C[0])[0])
    D2 = np.vstack([D, D[j]])
    out = run_cell(lambda: encode(name, X, D2, alpha_from=(X, D)))
    k = kind(name)

    def verify(codes):
        assert all_finite(codes), "non-finite codes"
        merged = codes[:, :N].copy()
        merged[:, j] += codes[:, N]
        if k == "sqrt":
            gap = sqrt_gap(D2.T, X, codes, base_alpha(name, X, D))
            assert gap <= 1e-5, f"relative duality gap {gap:.2e} to a certified bound"
        elif k in ("quad", "lad"):
            # the fitted values (and objective) are unique; split coefficients are not
            a = base_alpha(name, X, D)
            ref = oracle_codes(name, X, D, a)
            f, fref = objective(name, X, D2, codes, a), objective(name, X, D, ref, a)
            assert np.max((f - fref) / fref) <= 1e-6, "objective above the oracle's"
        elif name != "omp" and k == "sparsity":
            # no recovery guarantee without RIP (a copy makes delta_2 = 1): a valid answer
            assert np.all((codes != 0).sum(1) <= S), "more nonzeros than n_nonzero_coefs"
            res = np.linalg.norm(X - codes @ D2, axis=1)
            assert np.all(res <= np.linalg.norm(X, axis=1) * (1 + 1e-6)), "residual above ||x||"
        else:
            assert rel(codes @ D2, X) <= 1e-6, f"reconstruction {rel(codes @ D2, X):.2e}"

    check(out, NAMES, verify, warning_excuses=True)


@pytest.mark.parametrize("where", ["nan-X", "inf-X", "nan-dictionary", "inf-dictionary"])
@pytest.mark.parametrize("name", ENCODERS)
def test_nonfinite_refused(name, where):
    X, D, _ = problem()
    X, D = X.copy(), D.copy()
    bad = np.nan if where.startswith("nan") else np.inf
    (X if where.endswith("X") else D)[0, 0] = bad
    out = run_cell(lambda: encode(name, X, D, alpha_from=problem()[:2]))
    assert out.error is not None, f"{where} accepted: returned {out.value!r:.80}"
    check(out, ("X",) if where.endswith("X") else ("dictionary",), lambda v: None)


@pytest.mark.parametrize("name", ENCODERS)
def test_sparse_input(name):
    """CSR signals: the dense answer, or a clear TypeError (no encoder declares sparse X)."""
    X, D, _ = problem()
    ref = base_codes(name)
    out = run_cell(lambda: encode(name, sp.csr_matrix(X), D, alpha_from=(X, D)))

    def verify(codes):
        codes = codes.toarray() if sp.issparse(codes) else codes
        assert rel(codes, ref.value) <= 1e-9, "sparse and dense X give different codes"

    check(out, ("X", "sparse"), verify)


_POSITIVE = [n for n in ENCODERS if "positive" in encoder_params(n)]


@pytest.mark.parametrize("truth", ["nonnegative", "mixed-sign"])
@pytest.mark.parametrize("name", _POSITIVE)
def test_positive(name, truth):
    """positive=True: codes are never negative; with a nonnegative truth, the right answer
    (exact for pursuits, the nonnegative oracle for convex encoders)."""
    X, D, C = problem()
    if truth == "nonnegative":
        C = np.abs(C)
        X = C @ D
    out = run_cell(lambda: encode(name, X, D, positive=True))
    k = kind(name)

    def verify(codes):
        assert all_finite(codes), "non-finite codes"
        assert codes.min() >= 0, f"negative code {codes.min():.2e} with positive=True"
        if truth != "nonnegative" or name in _TIED:  # tied: see test_tied_encoders
            return
        a = base_alpha(name, X, D)
        A = D.T
        if k in ("sparsity", "free", "mcp"):
            assert rel(codes, C) <= 1e-5, f"not the exact nonnegative solution: {rel(codes, C):.2e}"
        elif k in ("quad", "lad"):
            for x, c in zip(X, codes):
                if k == "quad":
                    ref = O.lasso_ref(A, x, a / A.shape[0], positive=True)
                    f, fref = O.quad_objective(A, x, c, a), O.quad_objective(A, x, ref, a)
                else:
                    ref = O.lad_ref(A, x, a, positive=True)
                    f, fref = O.lad_objective(A, x, c, a), O.lad_objective(A, x, ref, a)
                assert (f - fref) / fref <= 1e-6, \
                    f"objective {(f - fref) / fref:.2e} above the oracle's"
        else:
            f = objective(name, X, D, codes, a)
            assert np.all(f <= objective(name, X, D, np.zeros_like(codes), a)), "worse than zero"

    check(out, NAMES + ("positive",), verify)


# ------------------------------------------------------- tied encoders (_TIED)
def _mp_steps_ref(D, x, T, selection):
    """T matching-pursuit steps, coefficient = plain correlation (unit atoms), re-selection
    allowed; selection "nonneg": largest correlation, an inactive step when it is <= 0."""
    r = np.array(x, dtype=np.float64)
    c = np.zeros(D.shape[0])
    for _ in range(T):
        corr = D @ r
        j = int(np.argmax(np.abs(corr) if selection == "abs" else corr))
        a = corr[j] if selection != "nonneg" else max(corr[j], 0.0)
        c[j] += a
        r = r - a * D[j]
    return c


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", sorted(set(_TIED) & set(ENCODERS)))
def test_tied_encoders(name, dtype):
    """What the tied encoders promise instead of recovery.  TopK: the top-k correlations
    X @ D.T, and codes(X, c D) = c codes(X, D).  MP-SAE (defined for unit atoms): the
    pursuit it documents, at most n_nonzero_coefs nonzeros, a residual no larger than ||x||."""
    X, D, _ = problem(dtype)
    X64, D64 = X.astype(np.float64), D.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    if name == "topk":
        for positive in (False, True):
            codes = sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=S, positive=positive)
            assert codes.dtype == dtype
            corr = X64 @ D64.T
            key = corr if positive else np.abs(corr)
            ref = np.zeros_like(corr)
            top = np.argsort(-key, axis=1)[:, :S]
            np.put_along_axis(ref, top, np.take_along_axis(corr, top, 1), axis=1)
            if positive:
                ref = np.maximum(ref, 0)
            assert rel(codes.astype(np.float64), ref) <= 10 * tol
            for c in (2.0 ** -60, 1e-20, 1e20):
                Dc = (D64 * c).astype(dtype)
                got = sparse_encode(X, Dc, algorithm="topk", n_nonzero_coefs=S,
                                    positive=positive).astype(np.float64)
                assert all_finite(got)
                assert rel(got / c, codes.astype(np.float64)) <= 10 * tol, \
                    f"codes(X, cD) != c codes(X, D) at c={c:g}"
    else:
        for selection in ("nonneg", "value", "abs"):
            codes = sparse_encode(X, D, algorithm="mp_sae", n_nonzero_coefs=S,
                                  selection=selection)
            assert codes.dtype == dtype
            ref = np.array([_mp_steps_ref(D64, x, S, selection) for x in X64])
            assert rel(codes.astype(np.float64), ref) <= 100 * tol
            assert np.all((codes != 0).sum(1) <= S)
            res = np.linalg.norm(X64 - codes.astype(np.float64) @ D64, axis=1)
            assert np.all(res <= np.linalg.norm(X64, axis=1) * (1 + 1e-6)), "residual above ||x||"
