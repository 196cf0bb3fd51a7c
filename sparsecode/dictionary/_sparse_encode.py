"""The sparse-coding hub: :func:`sparse_encode` dispatches to registered encoders.

Encoders live with their families and register themselves with
:func:`sparsecode._registry.register_encoder`; this module owns the common
validation and the dask path.
"""

import numbers
import warnings

import numpy as np
import scipy.sparse as sp

from .._parallel import effective_n_jobs
from .._registry import available_encoders, get_encoder
from .._validation import (
    Interval,
    _is_complex,
    check_dictionary,
    check_matrix,
    validate_params,
)

__all__ = ["sparse_encode", "available_encoders", "complex_encoders"]

_SPARSE_CHUNK_BYTES = 64 << 20  # dense block of a scipy.sparse X encoded at a time
_CODE_CHUNK_BYTES = 64 << 20  # dense block of codes held at a time for output="csr"

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
    "output": [str],
}


def _is_dask(a):
    return type(a).__module__.startswith("dask.")


def sparse_encode(X, dictionary, *, algorithm="omp", n_nonzero_coefs=None, alpha=None,
                  tol=None, max_iter=None, positive=False, gram=None, n_jobs=None,
                  verbose=0, output="dense", **algorithm_params):
    r"""Sparse codes of the rows of ``X`` over a dictionary, with any registered solver.

    Parameters
    ----------
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features), or dask array
        Signals, one per row.  A scipy.sparse matrix is converted to CSR and
        encoded one dense block of rows at a time (at most ~64 MiB each), with
        the same numbers as ``X.toarray()``.  A dask array is encoded chunk by
        chunk (lazy result, the same numbers as the in-memory call).
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows (scikit-learn's ``components_``), no zero rows.
        Complex dictionaries (and complex ``X``) are accepted by the
        algorithms that support them (``"omp"``, ``"mp"``, the thresholding
        family, ``"sbl"``, ``"ggamp_sbl"``: see
        :func:`sparsecode.dictionary.complex_encoders`);
        the others raise a ``ValueError`` naming the algorithm.
    algorithm : str, default="omp"
        A registered encoder; see :func:`available_encoders`. The greedy
        family registers ``"omp"`` (Batch-OMP) and ``"mp"``; other families
        add theirs (``"lasso"``, ``"iht"``, ``"sbl"``, ...).
    n_nonzero_coefs : int, default=None
        Sparsity level, for the algorithms that take one.  When None (and
        ``tol`` is None) it is ``min(max(1, int(0.1 * n_atoms)), n_features)``:
        10 % of the atoms, clipped to what a signal of ``n_features``
        entries can identify.
    alpha, tol, max_iter, positive : optional
        Common solver parameters; an error is raised when the chosen
        algorithm does not use one that was given.
    gram : ndarray of shape (n_atoms, n_atoms), default=None
        Precomputed ``dictionary @ dictionary.T`` (conjugated for complex
        atoms), re-used across calls.  It must be finite and symmetric
        (Hermitian) with a positive diagonal (the squared atom norms);
        otherwise a ``ValueError`` naming ``gram`` is raised.
    n_jobs : int, default=None
        Threads over signals (None: 1, -1: all cores; 0 raises ``ValueError``).
    verbose : int, default=0
        Progress over chunks.
    output : {"dense", "csr"}, default="dense"
        ``"csr"`` returns a ``scipy.sparse.csr_array`` built block by block
        (each block of codes holds at most ~64 MiB dense), so the full dense
        code matrix never exists: use it when ``n_atoms`` is large.  With a
        dask ``X`` the blocks are encoded where dask runs them (threads, or
        the workers of an active ``distributed.Client``) and the CSR blocks
        are gathered into one matrix.  For the Gram-based encoders the Gram
        matrix is computed once and shared by all blocks.
    **algorithm_params
        Further parameters of the chosen algorithm.

    Returns
    -------
    code : ndarray or scipy.sparse.csr_array of shape (n_samples, n_atoms)
        Dense unless ``output="csr"``.  Its precision follows ``X``: float32 (or complex64) signals give
        float32 (complex64) codes even over a float64 dictionary; the codes
        are complex when ``X`` or the dictionary is.

    Raises
    ------
    ValueError
        On NaN or infinity in ``X``, ``dictionary`` or ``gram``, on complex
        data for an algorithm without complex support, on an invalid
        ``gram`` and on ``n_jobs=0``.

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
    >>> C = sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=2, output="csr")
    >>> C.format, C.nnz, np.allclose(C.toarray(), codes)
    ('csr', 4, True)
    """
    if output not in ("dense", "csr"):
        raise ValueError(f'output must be "dense" or "csr"; got {output!r}.')
    params = dict(n_nonzero_coefs=n_nonzero_coefs, alpha=alpha, tol=tol, max_iter=max_iter,
                  positive=positive)
    validate_params(dict(algorithm=algorithm, n_jobs=n_jobs, verbose=verbose, **params),
                    _CONSTRAINTS, "sparse_encode")
    effective_n_jobs(n_jobs)  # n_jobs=0 -> ValueError, before any work
    func, _, accepted = get_encoder(algorithm)
    allow_complex = "complex" in accepted
    accepted = tuple(a for a in accepted if a != "complex")  # a capability, not a parameter
    given = {k: v for k, v in params.items() if v is not None and v is not False}
    if gram is not None:
        given["gram"] = gram
    unused = [k for k in list(given) + list(algorithm_params) if k not in accepted]
    if unused:
        raise ValueError(
            f"algorithm={algorithm!r} does not use {', '.join(unused)}; its parameters are "
            f"{', '.join(accepted) or 'none'}."
        )
    check_complex_support(algorithm, allow_complex, dictionary=dictionary, X=X, gram=gram)
    D = check_dictionary(dictionary, "dictionary", allow_complex=allow_complex)
    kwargs = {**given, **algorithm_params, "n_jobs": n_jobs}
    if "verbose" in accepted:
        kwargs["verbose"] = verbose
    if ("n_nonzero_coefs" in accepted and n_nonzero_coefs is None and tol is None
            and "n_nonzero_coefs" not in algorithm_params):
        kwargs["n_nonzero_coefs"] = default_n_nonzero_coefs(*D.shape)
    if _is_dask(X):
        if kwargs.get("gram") is not None:
            kwargs["gram"] = _check_gram(kwargs["gram"], D, allow_complex)
        if output == "csr":
            _share_gram(kwargs, D, accepted)
            return _encode_dask_csr(X, D, func, kwargs, allow_complex)
        return _encode_dask(X, D, func, kwargs)
    streamed = isinstance(X, np.memmap) or (output == "csr" and not sp.issparse(X))
    if sp.issparse(X):
        X = _check_sparse_X(X, allow_complex)
    elif streamed:
        X = _check_streamed_X(X, allow_complex)
    else:
        X = check_matrix(X, "X", allow_complex=allow_complex)
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the dictionary atoms have {D.shape[1]}; "
            "they must agree (dictionary is (n_atoms, n_features))."
        )
    if "gram" in kwargs:
        kwargs["gram"] = _check_gram(kwargs["gram"], D, allow_complex)
    out_dtype = code_dtype(X.dtype, D.dtype)
    if output == "csr" or streamed:
        _share_gram(kwargs, D, accepted)
        return _encode_blocks(X, D, func, kwargs, out_dtype, output, allow_complex, verbose)
    if sp.issparse(X):
        return _encode_sparse(X, D, func, kwargs, out_dtype)
    codes = func(X, D, **kwargs)
    return codes.astype(out_dtype, copy=False)


def default_n_nonzero_coefs(n_atoms, n_features):
    """Default sparsity of the hub: 10 % of the atoms, at least 1, at most ``n_features``.

    A code over ``n_features``-dimensional signals cannot use more than
    ``n_features`` linearly independent atoms, so the 10 % rule is clipped.

    Examples
    --------
    >>> from sparsecode.dictionary._sparse_encode import default_n_nonzero_coefs
    >>> default_n_nonzero_coefs(100, 20), default_n_nonzero_coefs(40, 3)
    (10, 3)
    >>> default_n_nonzero_coefs(5, 3)
    1
    """
    return int(min(max(1, int(0.1 * n_atoms)), n_features))


def code_dtype(x_dtype, d_dtype):
    """dtype of the codes: the precision of ``X``, complex when ``X`` or the dictionary is.

    float32 signals give float32 codes even over a float64 dictionary (and
    complex64 for a complex dictionary); float64 signals give float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.dictionary._sparse_encode import code_dtype
    >>> code_dtype(np.float32, np.float64), code_dtype(np.float64, np.complex64)
    (dtype('float32'), dtype('complex128'))
    """
    x_dtype, d_dtype = np.dtype(x_dtype), np.dtype(d_dtype)
    single = x_dtype in (np.float32, np.complex64)
    if np.issubdtype(x_dtype, np.complexfloating) or np.issubdtype(d_dtype, np.complexfloating):
        return np.dtype(np.complex64 if single else np.complex128)
    return np.dtype(np.float32 if single else np.float64)


def complex_encoders():
    """Names of the registered encoders that accept complex data.

    Returns
    -------
    names : list of str
        The algorithms of :func:`sparse_encode` and ``SparseCoder`` that take
        a complex dictionary or complex signals.

    Examples
    --------
    >>> from sparsecode.dictionary import complex_encoders
    >>> {"omp", "sbl"} <= set(complex_encoders()), "lasso" in complex_encoders()
    (True, False)
    """
    from .._registry import _ENCODERS

    available_encoders()
    return sorted(name for name, (_, _, p) in _ENCODERS.items() if "complex" in p)


def check_complex_support(algorithm, allow_complex, **arrays):
    """Refuse complex arrays for an encoder that does not declare complex support."""
    if allow_complex:
        return
    for name, a in arrays.items():
        if a is not None and _is_complex(a):
            raise ValueError(
                f"algorithm={algorithm!r} does not support complex data ({name} is "
                f"{np.asarray(a).dtype if not hasattr(a, 'dtype') else a.dtype}); use one of "
                f"the complex-capable algorithms {complex_encoders()} or pass real data."
            )


def _check_gram(gram, D, allow_complex):
    G = check_matrix(gram, "gram", allow_complex=allow_complex)
    K = D.shape[0]
    if G.shape != (K, K):
        raise ValueError(f"gram must be ({K}, {K}) = dictionary @ dictionary.T; got {G.shape}.")
    diag = np.diag(G)
    if np.any(np.abs(np.imag(diag)) > 0) or not np.all(np.real(diag) > 0):
        bad = np.flatnonzero(~(np.real(diag) > 0) | (np.imag(diag) != 0))
        raise ValueError(
            f"gram must be dictionary @ dictionary.T (conjugated for complex atoms): its "
            f"diagonal holds the squared atom norms and must be real and > 0, but entries "
            f"{bad[:5].tolist()}{'...' if bad.size > 5 else ''} are "
            f"{diag[bad[:5]].tolist()}; recompute it or pass gram=None."
        )
    scale = float(np.max(np.abs(diag)))
    if np.max(np.abs(G - G.conj().T), initial=0.0) > 1e-4 * scale:
        raise ValueError(
            "gram must be dictionary @ dictionary.T, which is symmetric (Hermitian for complex "
            "atoms); the one given is not. Recompute it or pass gram=None."
        )
    return G


def _check_sparse_X(X, allow_complex):
    """A scipy.sparse X as finite CSR of a floating (or, when allowed, complex) dtype."""
    X = sp.csr_matrix(X) if not sp.isspmatrix_csr(X) and not isinstance(X, sp.csr_array) \
        else X
    if X.ndim != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D matrix; got shape {X.shape}.")
    kind = X.dtype
    if np.issubdtype(kind, np.complexfloating):
        if not allow_complex:
            raise ValueError(f"X is complex ({kind}); this solver needs real data.")
        target = np.complex64 if kind == np.complex64 else np.complex128
    else:
        target = np.float32 if kind == np.float32 else np.float64
    X = X.astype(target, copy=False)
    if not np.all(np.isfinite(X.data)):
        raise ValueError("Input X contains NaN or infinity.")
    return X


def _encode_sparse(X, D, func, kwargs, out_dtype):
    """Encode a CSR ``X`` one dense chunk at a time (a chunk holds at most ~64 MiB)."""
    n_samples, n_features = X.shape
    rows = max(1, _SPARSE_CHUNK_BYTES // (X.dtype.itemsize * max(n_features, 1)))
    out = np.empty((n_samples, D.shape[0]), dtype=out_dtype)
    if rows >= n_samples:
        out[:] = func(X.toarray(), D, **kwargs)
        return out
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for start in range(0, n_samples, rows):
            sl = slice(start, min(start + rows, n_samples))
            out[sl] = func(X[sl].toarray(), D, **kwargs)
    _reissue(caught)
    return out


def _share_gram(kwargs, D, accepted):
    """Compute the Gram matrix once for all blocks when the encoder takes one.

    It is formed in double precision, the precision the Gram-based kernels
    accumulate in, so that no block converts (copies) it again.
    """
    if "gram" in accepted and kwargs.get("gram") is None:
        Dw = D.astype(np.complex128 if np.iscomplexobj(D) else np.float64, copy=False)
        kwargs["gram"] = Dw @ Dw.conj().T


def _check_streamed_X(X, allow_complex):
    """Shape and dtype checks of an array read block by block (values checked per block)."""
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        X = np.asarray(X)
    if len(X.shape) != 2 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must be a non-empty 2-D array; got shape {X.shape}.")
    kind = np.dtype(X.dtype)
    if np.issubdtype(kind, np.complexfloating) and not allow_complex:
        raise ValueError(f"X is complex ({kind}); this solver needs real data.")
    if not (np.issubdtype(kind, np.number) or kind == np.bool_):
        raise ValueError(f"X must hold numbers; got dtype {kind}.")
    return X


def _block_rows(n_features, n_atoms, itemsize):
    """Rows per block: a dense block of signals or of codes holds at most ~64 MiB."""
    width = max(n_features, n_atoms, 1)
    return max(1, min(_CODE_CHUNK_BYTES, _SPARSE_CHUNK_BYTES) // (itemsize * width))


def _dense_block(X, sl, allow_complex):
    block = X[sl]
    if sp.issparse(block):
        return block.toarray()
    return check_matrix(np.asarray(block), "X", allow_complex=allow_complex, min_samples=0)


def _encode_blocks(X, D, func, kwargs, out_dtype, output, allow_complex, verbose):
    """Encode ``X`` one block of rows at a time, into a dense array or a CSR matrix.

    Each block of ``X`` is read (a memory map is paged in block by block),
    checked for NaN/inf, encoded and, for ``output="csr"``, compressed before
    the next block is read.  Distinct warnings are re-issued once for the call.
    """
    n_samples, n_features = X.shape
    rows = _block_rows(n_features, D.shape[0], np.dtype(out_dtype).itemsize)
    dense = None if output == "csr" else np.empty((n_samples, D.shape[0]), dtype=out_dtype)
    parts = []
    n_blocks = -(-n_samples // rows)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, start in enumerate(range(0, n_samples, rows)):
            sl = slice(start, min(start + rows, n_samples))
            codes = func(_dense_block(X, sl, allow_complex), D, **kwargs)
            codes = np.asarray(codes).astype(out_dtype, copy=False)
            if dense is not None:
                dense[sl] = codes
            else:
                parts.append(sp.csr_array(codes))
            if verbose:
                print(f"[sparse_encode] block {i + 1}/{n_blocks}: rows {sl.start}-{sl.stop}",
                      flush=True)
    _reissue(caught)
    if dense is not None:
        return dense
    return _stack_csr(parts, D.shape[0], out_dtype)


def _stack_csr(parts, n_atoms, dtype):
    if not parts:
        return sp.csr_array((0, n_atoms), dtype=dtype)
    out = sp.vstack(parts, format="csr", dtype=dtype)
    return sp.csr_array(out)


def _reissue(caught):
    seen = set()
    for w in caught:  # one copy of each distinct warning for the whole call
        key = (w.category, str(w.message))
        if key not in seen:
            seen.add(key)
            warnings.warn(w.message, w.category, stacklevel=4)


def _encode_dask_csr(X, D, func, kwargs, allow_complex):
    """Encode each dask block to CSR where dask runs it, then stack the blocks."""
    import dask

    if X.ndim != 2 or X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X must be 2-D with {D.shape[1]} features (the dictionary's); got shape {X.shape}."
        )
    X = X.rechunk({1: -1})
    out_dtype = code_dtype(X.dtype, D.dtype)

    def block(b):
        b = check_matrix(np.asarray(b), "X", allow_complex=allow_complex, min_samples=0)
        if b.shape[0] == 0:
            return sp.csr_array((0, D.shape[0]), dtype=out_dtype)
        return sp.csr_array(np.asarray(func(b, D, **kwargs)).astype(out_dtype, copy=False))

    blocks = X.to_delayed().ravel()
    parts = dask.compute(*[dask.delayed(block)(b) for b in blocks])
    return _stack_csr(list(parts), D.shape[0], out_dtype)


def _encode_dask(X, D, func, kwargs):
    import dask.array as da

    if X.ndim != 2 or X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X must be 2-D with {D.shape[1]} features (the dictionary's); got shape {X.shape}."
        )
    X = X.rechunk({1: -1})  # each block holds whole signals
    out_dtype = code_dtype(X.dtype, D.dtype)

    def block(b):
        b = check_matrix(b, "X", allow_complex=np.iscomplexobj(D), min_samples=0)
        if b.shape[0] == 0:
            return np.zeros((0, D.shape[0]), dtype=out_dtype)
        return func(b, D, **kwargs).astype(out_dtype, copy=False)

    return da.map_blocks(block, X, chunks=(X.chunks[0], (D.shape[0],)), dtype=out_dtype)
