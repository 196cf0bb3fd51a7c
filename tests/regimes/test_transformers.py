"""Every public transformer through the regime matrix: the coder (a fixed
dictionary), the dictionary learners and the unmixing (NMF-type) estimators.

Discovered from ``sparsecode.__all__`` (``TransformerMixin``); grouped by what
the library declares: a required ``dictionary`` argument (coder), the
``positive_only`` input tag (unmixing), otherwise a dictionary learner.
float32 preservation is required where ``preserves_dtype`` declares it.

Oracles: a coder must return the exact sparse code (as ``sparse_encode``);
a learner must return unit-norm atoms and codes no worse than zero; unmixing
of a noiseless mixture with pure pixels (VCA identifies the endmembers) must
reconstruct the data and find the endmembers.  Scale: learners without an
absolute-scale parameter (a learning rate) and unmixing estimators without a
fixed penalty weight must be equivariant; the others must stay as good.
"""

import inspect

import numpy as np
import pytest
from sklearn.linear_model import orthogonal_mp

from sparsecode import sparse_encode

from .conftest import (SCALES32, S, all_finite, check, constructor_params, gaussian_dictionary,
                       rel, rng, run_cell, sid, sparse_codes, transformers)

TRANSFORMERS = transformers()

# Amortised learners (sparsecode.amortized): capabilities the checks below rely on.
# * max_iter counts epochs: the 5 the matrix allows are 5 gradient steps on its 60
#   samples, an untrained encoder; they get the epochs that train at these sizes.
_AMORTIZED_EPOCHS = {"KSparseAutoencoder": 200}
# * affine models: the reconstruction is inverse_transform(codes) = codes @ components_
#   + decoder_bias_, not codes @ components_.
_AFFINE = {"KSparseAutoencoder", "MatchingPursuitAutoencoder"}
# * the default codes are a learned predictor's output (no per-sample guarantee); the
#   codes with the "no worse than zero" guarantee are the lasso codes of these options.
_GUARANTEED_CODES = {"PredictiveSparseDecomposition": {"inference": "ista"}}
# * an absolute l1 weight: fitting c X with alpha is fitting X with alpha / c (codes times
#   c), which tests/amortized/test_psd.py checks exactly; "as good at every scale" with a
#   fixed alpha does not apply (at 1e-150 the lasso codes are zero), and its default
#   codes after the matrix's 5 gradient steps are an untrained predictor's.
_ABSOLUTE_ALPHA = {"PredictiveSparseDecomposition":
                   "alpha is an absolute l1 weight: codes(c X, alpha) = c codes(X, alpha / c), "
                   "checked in tests/amortized/test_psd.py"}


def reconstruction(name, est, T, W):
    if name in _AFFINE:
        return np.asarray(est.inverse_transform(T), np.float64)
    return np.asarray(T, np.float64) @ np.asarray(W, np.float64)


def _tags(cls):
    try:
        return _instance(cls).__sklearn_tags__()
    except Exception:
        return None


def group(name):
    cls = TRANSFORMERS[name]
    sig = inspect.signature(cls).parameters
    if "dictionary" in sig and sig["dictionary"].default is inspect.Parameter.empty:
        return "coder"
    if _positive_only(cls):
        return "unmixing"
    return "learner"


def _positive_only(cls):
    """The ``positive_only`` input tag (unmixing), read from a default instance."""
    for kw in ({}, {"library": _endmembers()}):
        try:
            return bool(cls(**kw).__sklearn_tags__().input_tags.positive_only)
        except Exception:
            continue
    return False


def _instance(cls, **over):
    p = constructor_params(cls)
    unmixing = _positive_only(cls)
    kw = {}
    if "dictionary" in p:
        kw["dictionary"] = gaussian_dictionary(n_atoms=40, n_features=30, r=rng(5))
    if "library" in p:  # sparse unmixing over a fixed spectral library: the true endmembers
        kw["library"] = _endmembers()
    if "n_components" in p:
        kw["n_components"] = 3 if unmixing else 12
    if "n_nonzero_coefs" in p:
        kw["n_nonzero_coefs"] = S if "dictionary" in p else 2
    if "random_state" in p:
        kw["random_state"] = 0
    if "max_iter" in p and "dictionary" not in p:
        default = inspect.signature(cls).parameters["max_iter"].default
        if isinstance(default, int) and not unmixing:
            kw["max_iter"] = _AMORTIZED_EPOCHS.get(cls.__name__, min(default, 5))
    kw.update(over)
    return cls(**kw)


def preserves32(name):
    t = _tags(TRANSFORMERS[name])
    return t is not None and "float32" in (t.transformer_tags.preserves_dtype or [])


def scale_free(name):
    """No parameter fixes an absolute scale: a learning rate, a fixed penalty weight, a
    weight ``delta`` of the sum-to-one row appended to the data."""
    est = _instance(TRANSFORMERS[name])
    pr = est.get_params()
    if "learning_rate" in pr:
        return False
    for k in ("alpha", "lam", "delta"):
        if isinstance(pr.get(k), (int, float)) and not isinstance(pr.get(k), bool) and pr[k] != 0:
            return False
    return True


NAMES = sorted(TRANSFORMERS)


# ---------------------------------------------------------------- data
def data(name, dtype=np.float64):
    g = group(name)
    r = rng(3)
    if g == "coder":
        D = _instance(TRANSFORMERS[name]).dictionary
        C = sparse_codes(5, D.shape[0], S, r)
        # precondition: scikit-learn's OMP recovers these codes
        assert np.allclose(orthogonal_mp(D.T, (C @ D).T, n_nonzero_coefs=S).T, C, atol=1e-10)
        return (C @ D).astype(dtype), C
    if g == "learner":
        D = gaussian_dictionary(n_atoms=12, n_features=16, r=r)
        C = sparse_codes(60, 12, 2, r)
        return (C @ D).astype(dtype), D
    # unmixing: 3 smooth nonnegative endmembers, Dirichlet abundances + pure pixels
    E = _endmembers()
    Aab = r.dirichlet(np.full(3, 0.7), 97)
    Aab = np.vstack([np.eye(3), Aab])
    return (Aab @ E).astype(dtype), E


def _endmembers():
    bands = np.linspace(0, 1, 20)
    return np.stack([1.2 + np.sin(2 * np.pi * (bands + k / 3.0)) for k in range(3)])


def fit_out(name, X, **over):
    est = _instance(TRANSFORMERS[name], **over)
    T = est.fit_transform(X)
    return est, T


def sad(E_true, E_est):
    """Largest spectral angle after the best matching (3 endmembers: all permutations)."""
    import itertools

    def ang(a, b):
        return np.arccos(np.clip(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)), -1, 1))

    best = np.inf
    for perm in itertools.permutations(range(len(E_true))):
        best = min(best, max(ang(E_true[i], E_est[j]) for i, j in enumerate(perm)))
    return best


def verify_fit(name, X, truth, est, T, dtype=np.float64):
    g = group(name)
    X = np.asarray(X, np.float64)
    T = np.asarray(T)
    assert all_finite(T), "non-finite output"
    W = est.components_ if g != "coder" else est.dictionary
    assert all_finite(W), "non-finite components_"
    if dtype == np.float32 and preserves32(name):
        assert T.dtype == np.float32, \
            f"float32 in, {T.dtype} out (preserves_dtype declares float32)"
    T64, W64 = T.astype(np.float64), np.asarray(W, np.float64)
    if g == "coder":
        tol = 1e-5 if dtype == np.float64 else 2e-3
        assert rel(T64, truth) <= tol, f"not the exact sparse code: {rel(T64, truth):.2e}"
    elif g == "learner":
        norms = np.linalg.norm(W64, axis=1)
        assert np.allclose(norms, 1, atol=1e-4), \
            f"atoms not unit norm: {norms.min():.3g}..{norms.max():.3g}"
        if name in _GUARANTEED_CODES:
            T = est.transform(X.astype(dtype), **_GUARANTEED_CODES[name])
        res = np.linalg.norm(X - reconstruction(name, est, T, W64))
        assert res <= np.linalg.norm(X) * (1 + 1e-6), "codes worse than zero"
    else:
        assert T64.min() >= -1e-8 and W64.min() >= -1e-8, "negative abundances/endmembers"
        err = rel(T64 @ W64, X)
        assert err <= 0.05, f"reconstruction error {err:.3f} on a noiseless mixture"
        assert sad(truth, W64) <= 0.1, f"endmembers off by {sad(truth, W64):.3f} rad"


NAMES_ARGS = ("X", "Y", "dictionary", "n_components", "n_nonzero_coefs")

_BASE = {}


def base(name, dtype=np.float64):
    key = (name, np.dtype(dtype).name)
    if key not in _BASE:
        X, _ = data(name, dtype)
        _BASE[key] = run_cell(lambda: fit_out(name, X))
    return _BASE[key]


# ------------------------------------------------------------------ cells
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name", NAMES)
def test_fit(name, dtype):
    X, truth = data(name, dtype)
    out = base(name, dtype)
    check(out, NAMES_ARGS, lambda v: verify_fit(name, X, truth, *v, dtype=dtype))


@pytest.mark.parametrize("name", NAMES)
def test_fortran_order(name):
    X, _ = data(name)
    ref = base(name)
    out = run_cell(lambda: fit_out(name, np.asfortranarray(X)))

    def v(res):
        assert ref.error is None, f"C order refused: {ref.error}"
        assert rel(res[1], ref.value[1]) <= 1e-9, \
            f"F and C order differ: {rel(res[1], ref.value[1]):.2e}"

    check(out, NAMES_ARGS, v)


SCALES_T = [1e-150, 1e-60, 1e60, 1e150]


@pytest.mark.parametrize("c", SCALES_T + SCALES32, ids=sid)
@pytest.mark.parametrize("name", NAMES)
def test_scale(name, c):
    if name in _ABSOLUTE_ALPHA:
        pytest.skip(_ABSOLUTE_ALPHA[name])
    dtype = np.float32 if c in SCALES32 else np.float64
    X, truth = data(name, dtype)
    ref = base(name, dtype)
    Xc = (X.astype(np.float64) * c).astype(dtype)
    out = run_cell(lambda: fit_out(name, Xc))
    g = group(name)
    # direct coding: rounding; iterative learners stop at tol=1e-4 (NMF: relative
    # objective change), so their models may differ by about 10 tol
    tol = 1e-3 if dtype == np.float32 else (1e-6 if g == "coder" else 1e-3)

    def v(res):
        assert ref.error is None, f"scale 1 refused: {ref.error}"
        est, T = res
        assert all_finite(T), "non-finite output"
        W = est.components_ if g != "coder" else est.dictionary
        assert all_finite(W), "non-finite components_"
        est0, T0 = ref.value
        W0 = est0.components_ if g != "coder" else est0.dictionary
        recon = reconstruction(name, est, T, W) / c
        recon0 = reconstruction(name, est0, T0, W0)
        if scale_free(name):
            assert rel(recon, recon0) <= tol, \
                f"model(cX)/c differs from model(X): {rel(recon, recon0):.2e}"
        else:
            X64 = X.astype(np.float64)
            assert rel(recon, X64) <= rel(recon0, X64) + 0.01, "quality lost at this scale"

    check(out, NAMES_ARGS, v)


@pytest.mark.parametrize("name", NAMES)
def test_zero_input(name):
    X, _ = data(name)
    out = run_cell(lambda: fit_out(name, np.zeros_like(X)))
    if group(name) == "coder":
        check(out, NAMES_ARGS, lambda v: np.all(v[1] == 0) or pytest.fail("nonzero code for X = 0"))
    else:
        check(out, NAMES_ARGS, lambda v: all_finite(v[1], v[0].components_) or pytest.fail("NaN"))


_BAD = [pytest.param(n, w, id=f"{n}-{w}") for n in NAMES for w in ("nan", "inf", "negative")
        if w != "negative" or group(n) == "unmixing"]  # negative data is valid elsewhere


@pytest.mark.parametrize("name,where", _BAD)
def test_bad_input_refused(name, where):
    X, _ = data(name)
    X = X.copy()
    X[0, 0] = {"nan": np.nan, "inf": np.inf, "negative": -1.0}[where]
    out = run_cell(lambda: fit_out(name, X))
    assert out.error is not None, f"{where} accepted"
    check(out, NAMES_ARGS + ("negative",), lambda v: None)


@pytest.mark.parametrize("name", [n for n in NAMES if group(n) == "unmixing"])
def test_fit_transform_matches_transform(name):
    """In a Pipeline training and test features must come from the same map."""
    X, _ = data(name)
    out = base(name)

    def v(res):
        est, T = res
        T2 = est.transform(X)
        assert np.abs(T - T2).max() <= 1e-3, \
            f"fit_transform and transform differ by {np.abs(T - T2).max():.3f}"

    check(out, NAMES_ARGS, v)


@pytest.mark.parametrize("name", [n for n in NAMES if group(n) == "coder"])
def test_coder_agrees_with_sparse_encode(name):
    """Complex dictionaries and float32 signals: the coder does what sparse_encode does."""
    r = rng(4)
    D = gaussian_dictionary(n_atoms=40, n_features=20, r=r, complex_=True)
    C = sparse_codes(3, 40, S, r, dtype=np.complex128)
    X = C @ D
    est = TRANSFORMERS[name]
    a = run_cell(lambda: sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=S))
    b = run_cell(lambda: est(D, algorithm="omp", n_nonzero_coefs=S).fit_transform(X))
    assert (a.error is None) == (b.error is None), f"sparse_encode: {a.error!r}; coder: {b.error!r}"
    if a.error is None:
        assert rel(b.value, a.value) <= 1e-10
    X32 = data(name)[0].astype(np.float32)
    out = run_cell(lambda: _instance(est).fit_transform(X32))
    check(out, NAMES_ARGS,
          lambda T: T.dtype == np.float32 or pytest.fail(f"float32 X -> {T.dtype}"))


@pytest.mark.parametrize("name", [n for n in NAMES if group(n) == "coder"])
def test_coder_defaults_small_dictionary(name):
    """Defaults must work on a dictionary with few features (10 % of the atoms > n_features)."""
    r = rng(6)
    est = TRANSFORMERS[name](r.random((40, 3)))
    out = run_cell(lambda: est.fit_transform(r.random((5, 3))))
    assert out.error is None, f"defaults raise: {out.error!r}"
    assert all_finite(out.value)
