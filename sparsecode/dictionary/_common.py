"""Pieces shared by the dictionary learners: validation, initialisation,
coding while learning, atom replacement and the transformer base class.

The learners work internally in float64 with atoms as rows (scikit-learn's
``components_`` convention, ``X ~ code @ components_``) and cast their
fitted dictionary to the dtype of the training data at the end.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .._scaling import max_exponent
from .._base import ConvergenceWarning
from .._parallel import effective_n_jobs
from .._registry import get_encoder
from .._validation import Interval, Options, check_dictionary, validate_params

__all__ = ["overcomplete_dct"]

_EPS_NORM = 1e-12


def _is_dask(a):
    return type(a).__module__.startswith("dask.")


# ---------------------------------------------------------------------------
# initial dictionaries
# ---------------------------------------------------------------------------
def overcomplete_dct(n_features, n_components):
    r"""Overcomplete DCT dictionary, the classical initialisation for image patches.

    For ``n_features = p**2`` (square patches) and ``n_components = q**2`` the
    dictionary is the separable (Kronecker) product of two 1-D overcomplete
    DCTs of size ``p x q``; otherwise a 1-D overcomplete DCT of size
    ``n_features x n_components`` is returned.

    Parameters
    ----------
    n_features : int
        Signal length (``p**2`` for ``p x p`` patches).
    n_components : int
        Number of atoms.

    Returns
    -------
    dictionary : ndarray of shape (n_components, n_features)
        Unit-norm atoms as rows.

    See Also
    --------
    KSVD : uses it with ``init="odct"``.

    Notes
    -----
    The 1-D atoms are :math:`v_k(i) = \cos(\pi i k / q)`, :math:`i < p`,
    :math:`k < q`, with the mean removed for :math:`k > 0`, normalised
    (Elad & Aharon 2006).  The 2-D atoms are :math:`v_k \otimes v_l`.

    References
    ----------
    .. [1] M. Elad and M. Aharon, "Image denoising via sparse and redundant
       representations over learned dictionaries", IEEE TIP 15(12), 2006.

    Examples
    --------
    >>> from sparsecode import overcomplete_dct
    >>> D = overcomplete_dct(64, 256)
    >>> D.shape
    (256, 64)
    >>> bool(abs((D ** 2).sum(axis=1) - 1).max() < 1e-12)
    True
    """
    for name, v in (("n_features", n_features), ("n_components", n_components)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"{name} must be a positive int; got {v!r}.")
    p, q = int(round(np.sqrt(n_features))), int(round(np.sqrt(n_components)))
    if p * p == n_features and q * q == n_components:
        v = _dct_1d(p, q)
        D = np.kron(v, v)
    else:
        D = _dct_1d(n_features, n_components)
    return D / np.linalg.norm(D, axis=1, keepdims=True)


def _dct_1d(p, q):
    i = np.arange(p)
    v = np.cos(np.pi * np.outer(np.arange(q), i) / q)  # (q, p)
    if p > 1:
        v[1:] -= v[1:].mean(axis=1, keepdims=True)
    nrm = np.linalg.norm(v, axis=1, keepdims=True)
    bad = nrm[:, 0] < 1e-12  # can only happen for degenerate sizes
    v[bad] = 1.0
    nrm[bad] = np.sqrt(p)
    return v / nrm


def _normalize_rows(D):
    nrm = np.linalg.norm(D, axis=1)
    return D / np.where(nrm > 0, nrm, 1.0)[:, None], nrm


def _data_init(X, n_atoms, rng, source=None):
    """``n_atoms`` distinct non-zero training signals, normalised; Gaussian fill-in.

    ``source = (norms, get_rows)`` replaces ``X`` for out-of-core data (dask):
    the same random draws pick the same rows.
    """
    if source is None:
        nrm = np.linalg.norm(X, axis=1)
        n_features = X.shape[1]

        def get_rows(idx):
            return X[idx]
    else:
        nrm, get_rows, n_features = source
    candidates = np.flatnonzero(nrm > _EPS_NORM * max(nrm.max(initial=0.0), 1e-300))
    take = rng.permutation(candidates)[:n_atoms]
    D = np.empty((n_atoms, n_features))
    if take.size:
        D[: take.size] = np.asarray(get_rows(take), dtype=np.float64) / nrm[take, None]
    if take.size < n_atoms:  # too few usable signals: random atoms for the rest
        G = rng.standard_normal((n_atoms - take.size, n_features))
        D[take.size:] = _normalize_rows(G)[0]
    return D


def _initial_dictionary(est, X, n_free, rng, source=None):
    """The free atoms at the start, (n_free, n_features), unit-norm rows."""
    n_features = est.n_features_in_
    init = est.init
    if isinstance(init, str):
        if init == "random":
            return _normalize_rows(rng.standard_normal((n_free, n_features)))[0]
        if init == "odct":
            return overcomplete_dct(n_features, n_free)
        # "data"
        return _data_init(X, n_free, rng, source)
    D = check_dictionary(init, "init")
    if D.shape != (n_free, n_features):
        raise ValueError(
            f"init must have shape (n_components - n_fixed_atoms, n_features) = "
            f"({n_free}, {n_features}); got {D.shape}."
        )
    return _normalize_rows(np.array(D, dtype=np.float64))[0]


def _check_fixed(fixed_atoms, n_features, n_components):
    if fixed_atoms is None:
        return np.zeros((0, n_features))
    F = check_dictionary(fixed_atoms, "fixed_atoms")
    if F.shape[1] != n_features:
        raise ValueError(
            f"fixed_atoms has {F.shape[1]} features but X has {n_features}."
        )
    if F.shape[0] >= n_components:
        raise ValueError(
            f"fixed_atoms has {F.shape[0]} atoms but n_components={n_components}: "
            "at least one atom must be left to learn."
        )
    return _normalize_rows(np.array(F, dtype=np.float64))[0]


# ---------------------------------------------------------------------------
# data and masks
# ---------------------------------------------------------------------------
def _check_mask(mask, shape, name="mask"):
    if mask is None:
        return None
    M = np.asarray(mask)
    if M.shape != shape:
        raise ValueError(f"{name} must have the shape of X {shape}; got {M.shape}.")
    if M.dtype != bool:
        if not np.all((M == 0) | (M == 1)):
            raise ValueError(f"{name} must be boolean (True = observed entry).")
        M = M.astype(bool)
    return M


def _validate_X_mask(est, X, mask, *, reset):
    """Validate X (and the mask of observed entries); unobserved entries may be NaN.

    Returns X as float64 work copy with unobserved entries zeroed, the
    mask (bool or None) and the input dtype.
    """
    if mask is None:
        X = validate_data(est, X, dtype=[np.float64, np.float32], reset=reset)
        return np.asarray(X, dtype=np.float64), None, X.dtype
    X = validate_data(est, X, dtype=[np.float64, np.float32], reset=reset,
                      ensure_all_finite="allow-nan")
    M = _check_mask(mask, X.shape)
    if not np.all(np.isfinite(X[M])):
        raise ValueError("Input X contains NaN or infinity at observed entries (mask True).")
    Xw = np.where(M, X, 0.0).astype(np.float64)
    return Xw, M, X.dtype


# ---------------------------------------------------------------------------
# coding while learning
# ---------------------------------------------------------------------------
_pow2_exponent = max_exponent  # e with max|X| * 2**-e in [0.5, 1) (0 for X = 0)


def _omp_codes(X, D, k, n_jobs, mask=None, tol2=None, gram=None):
    """Batch-OMP codes (N, K) in float64; the mask form runs the masked kernel.

    OMP is scale-equivariant: the signals are rescaled by an exact power of
    two to unit peak before coding (``tol2``, a squared norm, with them) and
    the codes scaled back, so that no squared norm over- or underflows at
    data scales 1e-150 ... 1e200.
    """
    e = _pow2_exponent(X)
    if e:
        X = np.ldexp(X, -e)
        tol2 = None if tol2 is None else float(np.ldexp(float(tol2), -2 * e))
    if mask is not None:
        from ._kernels import masked_omp

        out = np.zeros((X.shape[0], D.shape[0]))
        _with_threads(n_jobs, masked_omp, np.ascontiguousarray(D), np.ascontiguousarray(X),
                      mask.astype(np.float64), int(k),
                      0.0 if tol2 is None else float(tol2), tol2 is not None, out)
    else:
        from ..greedy._encoders import _encode_omp

        with warnings.catch_warnings():
            # Early stops are expected while learning (exact representations,
            # atoms about to be replaced): they are not the user's call.
            warnings.simplefilter("ignore", ConvergenceWarning)
            out = _encode_omp(X, D, n_nonzero_coefs=int(k), tol=tol2, gram=gram, n_jobs=n_jobs)
    return np.ldexp(out, e) if e else out


def _with_threads(n_jobs, func, *args):
    import numba

    n = min(effective_n_jobs(n_jobs), numba.config.NUMBA_NUM_THREADS)
    old = numba.get_num_threads()
    numba.set_num_threads(max(n, 1))
    try:
        return func(*args)
    finally:
        numba.set_num_threads(old)


def _encoder_kwargs(algorithm, n_nonzero_coefs, alpha, params):
    """Keyword arguments for ``sparse_encode``: only those the encoder accepts."""
    _, _, accepted = get_encoder(algorithm)
    kw = dict(params or {})
    if alpha is not None:
        kw["alpha"] = alpha
    if (n_nonzero_coefs is not None and "n_nonzero_coefs" in accepted
            and "n_nonzero_coefs" not in kw and "tol" not in kw
            and ("alpha" not in kw or "alpha" not in accepted)):
        kw["n_nonzero_coefs"] = n_nonzero_coefs
    return kw


def _replace_atoms(D, C, R, X, counts, free, rng, mask=None, use_thresh=1, mu_thresh=0.99,
                   n_nonzero_coefs=1, rel_floor=1e-20, err=None, xn2=None):
    """Dictionary clearing (KSVD-Box): replace rarely used and duplicated atoms.

    Mutates D, C and R.  ``C`` is the dense (N, K) code matrix or the
    row-stored codes ``(idx, val, nnz)`` of the Batch-OMP kernel (row i holds
    ``val[i, s]`` at atom ``idx[i, s]`` for ``s < nnz[i]``; a replaced atom's
    coefficients are set to 0).  ``err`` and ``xn2``, when given, are the
    squared row norms of R and X (computed otherwise).  Free atoms used by
    fewer than ``use_thresh``
    signals, and the second atom of every pair with ``|<d_i, d_j>| >
    mu_thresh``, are replaced by the normalised training signals with the
    largest residual, each signal used once; their codes are zeroed and the
    residual R = W * (X - C D) kept consistent.  Returns the number replaced.

    Replacement only happens where it helps, so that it does not thrash
    (overcomplete dictionaries with few samples are valid input):

    * the usage threshold is capped by the average usage
      ``n_samples * n_nonzero_coefs / n_atoms`` (at least 1): with fewer
      codes than atoms, only unused atoms count as rarely used;
    * a replacement is a training signal whose squared residual exceeds
      ``rel_floor`` times its squared norm (a signal already represented
      exactly gives nothing to learn) and that is not itself within
      ``mu_thresh`` of an atom (it would be a duplicate);
    * when no such signal is left the remaining atoms are kept as they are
      (no random atoms).

    The learners in addition stop clearing for the rest of a fit as soon as
    a replacement did not lower the error.
    """
    K = D.shape[0]
    N = X.shape[0]
    thresh = min(use_thresh, max(1, (N * int(n_nonzero_coefs)) // max(K, 1)))
    G = np.abs(D @ D.T)
    np.fill_diagonal(G, 0.0)
    dup = np.zeros(K, dtype=bool)
    iu = np.argwhere(np.triu(G > mu_thresh, 1))
    for i, j in iu:  # few pairs; replace the later one, once
        if not dup[i] and free[j]:
            dup[j] = True
    bad = np.flatnonzero(free & ((counts < thresh) | dup))
    if bad.size == 0:
        return 0
    if err is None:
        err = np.einsum("ij,ij->i", R, R)
    if xn2 is None:
        xn2 = np.einsum("ij,ij->i", X, X)
    usable = (err > rel_floor * xn2) & (xn2 > 0)
    order = np.flatnonzero(usable)
    order = order[np.argsort(-err[order], kind="stable")]
    n_rep = 0
    pos = 0
    for k in bad:
        new = None
        while pos < order.size:
            i = order[pos]
            cand = X[i] / np.sqrt(xn2[i])
            pos += 1
            others = np.abs(D @ cand)
            others[k] = 0.0
            if others.max(initial=0.0) <= mu_thresh:
                new = cand
                break
        if new is None:  # nothing left that would be a useful atom
            break
        if isinstance(C, tuple):  # row-stored codes (idx, val, nnz)
            idx, val, nnz = C
            users, slots = np.nonzero((idx == k) & (val != 0)
                                      & (np.arange(idx.shape[1]) < nnz[:, None]))
            coef = val[users, slots]
        else:
            users = np.flatnonzero(C[:, k])
            coef = C[users, k]
        if users.size:
            W = 1.0 if mask is None else mask[users]
            R[users] += W * np.outer(coef, D[k])
            if isinstance(C, tuple):
                val[users, slots] = 0.0
            else:
                C[users, k] = 0.0
        D[k] = new
        n_rep += 1
    return n_rep


def _rel_error(R, X):
    den = np.linalg.norm(X)
    return float(np.linalg.norm(R) / den) if den > 0 else float(np.linalg.norm(R))


# ---------------------------------------------------------------------------
# transformer base class
# ---------------------------------------------------------------------------
_COMMON_CONSTRAINTS = {
    "n_components": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "tol": [Interval(numbers.Real, 0, None, closed="left")],
    "init": [Options("data", "random", "odct"), "array-like"],
    "fixed_atoms": ["array-like", None],
    "transform_algorithm": [str],
    "transform_n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "transform_alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
    "transform_params": [dict, None],
    "random_state": ["random_state"],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
    "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
}


class _BaseDictionaryLearner(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Common ``transform``/``inverse_transform`` and fit preliminaries."""

    def _check_params(self):
        validate_params(self.get_params(deep=False), self._parameter_constraints,
                        type(self).__name__)
        effective_n_jobs(self.n_jobs)  # n_jobs=0 -> ValueError
        if self.transform_algorithm not in _available():
            raise ValueError(
                f"transform_algorithm={self.transform_algorithm!r} is not a registered "
                f"encoder; choose one of {_available()}."
            )

    def _resolve_sizes(self, n_samples, n_features):
        K = n_features if self.n_components is None else int(self.n_components)
        k = self.n_nonzero_coefs
        if k is None:
            k = max(1, int(round(0.1 * n_features)))
            k = min(k, K)
        if k > min(n_features, K):
            raise ValueError(
                f"n_nonzero_coefs={k} must be at most min(n_features, n_components) = "
                f"{min(n_features, K)}."
            )
        return K, int(k)

    def _start(self, X, rng, source=None):
        """Fixed atoms and initial free atoms stacked, float64 (K, n), and the free flags."""
        n_features = self.n_features_in_
        F = _check_fixed(self.fixed_atoms, n_features, self.n_components_)
        D0 = _initial_dictionary(self, X, self.n_components_ - F.shape[0], rng, source)
        D = np.ascontiguousarray(np.vstack([F, D0]))
        free = np.ones(D.shape[0], dtype=bool)
        free[: F.shape[0]] = False
        return D, free

    def _set_components(self, D, dtype):
        D = _normalize_rows(D)[0]
        self.components_ = D.astype(dtype, copy=False)

    def _report(self, it, err, extra=""):
        if self.verbose:
            print(f"[{type(self).__name__}] iteration {it}: relative error {err:.6e}{extra}",
                  flush=True)

    def _transform_kwargs(self):
        k = self.transform_n_nonzero_coefs
        if k is None and self.transform_alpha is None:
            k = min(self.n_nonzero_coefs_, self.n_components_)
        return _encoder_kwargs(self.transform_algorithm, k, self.transform_alpha,
                               self.transform_params)

    def transform(self, X, mask=None, output="dense"):
        """Sparse codes of ``X`` over the learned dictionary.

        Parameters
        ----------
        X : array-like or scipy.sparse matrix of shape (n_samples, n_features), or dask array
            Signals, one per row.  A dask array is encoded chunk by chunk, a
            sparse matrix one dense block of rows at a time.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True).  When given, each signal is coded over
            the atoms restricted to its observed entries with masked OMP
            (``transform_algorithm`` must be ``"omp"``); unobserved entries
            of ``X`` may hold NaN.
        output : {"dense", "csr"}, default="dense"
            ``"csr"`` returns a ``scipy.sparse.csr_array`` built block by
            block, without the dense code matrix (see :func:`sparse_encode`).

        Returns
        -------
        code : ndarray or scipy.sparse.csr_array of shape (n_samples, n_components)
            The codes (a lazy dask array for dask input with the default
            ``output``).
        """
        from ._sparse_encode import sparse_encode

        check_is_fitted(self)
        kw = self._transform_kwargs()
        if _is_dask(X):
            if mask is not None:
                raise ValueError("mask is not supported with dask input.")
            return sparse_encode(X, self.components_, algorithm=self.transform_algorithm,
                                 n_jobs=self.n_jobs, output=output, **kw)
        if mask is not None:
            if self.transform_algorithm != "omp":
                raise ValueError(
                    "transform with a mask runs masked OMP; set transform_algorithm='omp' "
                    f"(got {self.transform_algorithm!r})."
                )
            Xw, M, dtype = _validate_X_mask(self, X, mask, reset=False)
            k = kw.get("n_nonzero_coefs", min(self.n_nonzero_coefs_, self.n_components_))
            tol = kw.get("tol")
            codes = _omp_codes(Xw, np.asarray(self.components_, dtype=np.float64), k,
                               self.n_jobs, mask=M, tol2=tol)
            codes = codes.astype(dtype, copy=False)
            return sp.csr_array(codes) if output == "csr" else codes
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False,
                          accept_sparse="csr")
        e = 0
        if self.transform_algorithm == "omp":
            # scale-equivariant: code X scaled by an exact power of two to unit
            # peak (tol, a squared norm, with it) and scale the codes back
            e = _pow2_exponent(X.data if sp.issparse(X) else X)
            if e:
                if sp.issparse(X):
                    X = X.copy()
                    X.data = np.ldexp(X.data, -e)
                else:
                    X = np.ldexp(X, -e)
                if kw.get("tol") is not None:
                    kw["tol"] = float(np.ldexp(float(kw["tol"]), -2 * e))
        if output not in ("dense", "csr"):
            raise ValueError(f'output must be "dense" or "csr"; got {output!r}.')
        codes = sparse_encode(X, self.components_.astype(X.dtype, copy=False),
                              algorithm=self.transform_algorithm, n_jobs=self.n_jobs,
                              output=output, **kw)
        if not e:
            return codes
        if sp.issparse(codes):
            codes.data = np.ldexp(codes.data, e).astype(codes.dtype, copy=False)
            return codes
        return np.ldexp(codes, e).astype(codes.dtype, copy=False)

    def inverse_transform(self, code):
        """Signals rebuilt from codes, ``code @ components_``.

        Parameters
        ----------
        code : array-like of shape (n_samples, n_components)
            Codes.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Reconstructed signals.
        """
        check_is_fitted(self)
        code = check_array(code, dtype=[np.float64, np.float32], accept_sparse="csr")
        if code.shape[1] != self.components_.shape[0]:
            raise ValueError(
                f"code has {code.shape[1]} columns but the dictionary has "
                f"{self.components_.shape[0]} atoms."
            )
        return np.asarray(code @ self.components_)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


def _available():
    from .._registry import available_encoders

    return available_encoders()


def _warn_budget(est, figure, tol, what="relative decrease of the error", extra=""):
    warnings.warn(
        f"{type(est).__name__} did not converge in max_iter={est.max_iter} iterations: "
        f"{what} reached {figure:.3e} (tol={tol:.3e}){extra}. Increase max_iter or loosen tol.",
        ConvergenceWarning, stacklevel=3,
    )


def _rng(random_state):
    return check_random_state(random_state)
