"""The sparse-coding hub: :func:`sparse_encode` dispatches to registered encoders.

Encoders live with their families and register themselves with
:func:`sparsecode._registry.register_encoder`; this module owns the common
validation and the dask path.
"""

import numbers

import numpy as np

from .._registry import available_encoders, get_encoder
from .._validation import Interval, check_dictionary, check_matrix, validate_params

__all__ = ["sparse_encode", "available_encoders"]

_COMMON = ("n_nonzero_coefs", "alpha", "tol", "max_iter", "positive", "gram")

_CONSTRAINTS = {
    "algorithm": [str],
    "n_nonzero_coefs": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
    "tol": [Interval(numbers.Real, 0, None, closed="left"), None],
    "max_iter": [Interval(numbers.Integral, 1, None, closed="left"), None],
    "positive": ["boolean"],
    "n_jobs": [Interval(numbers.Integral, None, None), None],
    "verbose": [Interval(numbers.Integral, 0, None, closed="left"), "boolean"],
}


def _is_dask(a):
    return type(a).__module__.startswith("dask.")


def sparse_encode(X, dictionary, *, algorithm="omp", n_nonzero_coefs=None, alpha=None,
                  tol=None, max_iter=None, positive=False, gram=None, n_jobs=None,
                  verbose=0, **algorithm_params):
    r"""Sparse codes of the rows of ``X`` over a dictionary, with any registered solver.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features) or dask array
        Signals, one per row.  A dask array is encoded chunk by chunk (lazy
        result, the same numbers as the in-memory call).
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows (scikit-learn's ``components_``), no zero rows.
    algorithm : str, default="omp"
        A registered encoder; see :func:`available_encoders`. The greedy
        family registers ``"omp"`` (Batch-OMP) and ``"mp"``; other families
        add theirs (``"lasso"``, ``"iht"``, ``"sbl"``, ...).
    n_nonzero_coefs, alpha, tol, max_iter, positive : optional
        Common solver parameters; an error is raised when the chosen
        algorithm does not use one that was given.
    gram : ndarray of shape (n_atoms, n_atoms), default=None
        Precomputed ``dictionary @ dictionary.T`` (re-used across calls).
    n_jobs : int, default=None
        Threads over signals.
    verbose : int, default=0
        Progress over chunks.
    **algorithm_params
        Further parameters of the chosen algorithm.

    Returns
    -------
    code : ndarray of shape (n_samples, n_atoms)
        Same dtype as ``X`` (float32 stays float32).

    See Also
    --------
    SparseCoder : the transformer wrapping this function.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import sparse_encode
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((50, 20)); D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> codes = np.zeros((3, 50)); codes[0, [1, 4]] = 1.0; codes[1, 9] = -2.0; codes[2, 30] = 0.5
    >>> X = codes @ D
    >>> np.allclose(sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=2), codes)
    True
    """
    params = dict(n_nonzero_coefs=n_nonzero_coefs, alpha=alpha, tol=tol, max_iter=max_iter,
                  positive=positive)
    validate_params(dict(algorithm=algorithm, n_jobs=n_jobs, verbose=verbose, **params),
                    _CONSTRAINTS, "sparse_encode")
    func, _, accepted = get_encoder(algorithm)
    given = {k: v for k, v in params.items() if v is not None and v is not False}
    if gram is not None:
        given["gram"] = gram
    unused = [k for k in list(given) + list(algorithm_params) if k not in accepted]
    if unused:
        raise ValueError(
            f"algorithm={algorithm!r} does not use {', '.join(unused)}; its parameters are "
            f"{', '.join(accepted) or 'none'}."
        )
    allow_complex = "complex" in accepted
    D = check_dictionary(dictionary, "dictionary", allow_complex=allow_complex)
    kwargs = {**given, **algorithm_params, "n_jobs": n_jobs}
    if "verbose" in accepted:
        kwargs["verbose"] = verbose
    if _is_dask(X):
        return _encode_dask(X, D, func, kwargs)
    X = check_matrix(X, "X", allow_complex=allow_complex)
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the dictionary atoms have {D.shape[1]}; "
            "they must agree (dictionary is (n_atoms, n_features))."
        )
    if "gram" in kwargs:
        g = check_matrix(kwargs["gram"], "gram", allow_complex=allow_complex)
        if g.shape != (D.shape[0],) * 2:
            raise ValueError(
                f"gram must be ({D.shape[0]}, {D.shape[0]}) = dictionary @ dictionary.T; "
                f"got {g.shape}."
            )
        kwargs["gram"] = g
    codes = func(X, D, **kwargs)
    return codes.astype(np.result_type(X.dtype, D.dtype), copy=False)


def _encode_dask(X, D, func, kwargs):
    import dask.array as da

    if X.ndim != 2 or X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X must be 2-D with {D.shape[1]} features (the dictionary's); got shape {X.shape}."
        )
    X = X.rechunk({1: -1})  # each block holds whole signals
    out_dtype = np.result_type(X.dtype, D.dtype)

    def block(b):
        b = check_matrix(b, "X", allow_complex=np.iscomplexobj(D), min_samples=0)
        if b.shape[0] == 0:
            return np.zeros((0, D.shape[0]), dtype=out_dtype)
        return func(b, D, **kwargs).astype(out_dtype, copy=False)

    return da.map_blocks(block, X, chunks=(X.chunks[0], (D.shape[0],)), dtype=out_dtype)
