"""Recovery metrics: NMSE, relative error, support recovery, coherence, PSNR.

Definitions follow the design specification (Section 0.1):
``NMSE = ||x_est - x||^2 / ||x||^2``, ``NMSE_dB = 10 log10(NMSE)``,
``rel_err = ||x_est - x|| / ||x||``.  The mutual coherence is the quantity
of the exact-recovery guarantee ``k < (1 + 1/mu) / 2`` for OMP and basis
pursuit (Tropp 2004; Donoho & Elad 2003).
"""

import numbers

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator
from sklearn.utils import Bunch

__all__ = ["nmse", "relative_error", "support_recovery", "mutual_coherence", "psnr"]


def _as_finite(a, name, owner):
    if sp.issparse(a):
        a = a.toarray()
    arr = np.asarray(a)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                   or arr.dtype == bool):
        raise ValueError(f"{name} of {owner} must be numeric; got dtype {arr.dtype}.")
    if arr.size == 0:
        raise ValueError(f"{name} of {owner} is empty (shape {arr.shape}).")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} of {owner} contains NaN or infinity.")
    # Work in double precision: integer (unsigned: wrap-around) and boolean
    # differences would otherwise be wrong, and float32 sums lose digits.
    return arr.astype(np.complex128 if np.iscomplexobj(arr) else np.float64, copy=False)


def _pair(x_true, x_est, owner, *, max_ndim=2):
    a = _as_finite(x_true, "x_true", owner)
    b = _as_finite(x_est, "x_est", owner)
    if a.shape != b.shape:
        raise ValueError(
            f"x_true and x_est of {owner} must have the same shape; "
            f"got {a.shape} and {b.shape}."
        )
    if a.ndim > max_ndim:
        raise ValueError(f"x_true of {owner} must be at most {max_ndim}-D; got shape {a.shape}.")
    return a, b


def _ratio(num, den):
    # num / den with 0/0 = 0 and c/0 = inf, silently (a zero reference).
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0),
                       np.where(num > 0, np.inf, 0.0))
    return out[()] if out.ndim == 0 else out


def nmse(x_true, x_est, *, axis=0, db=False):
    r"""Normalised mean squared error ``||x_est - x_true||^2 / ||x_true||^2``.

    Parameters
    ----------
    x_true : array-like
        Reference (real or complex).
    x_est : array-like of the same shape
        Estimate.
    axis : int or None, default=0
        Axis summed over.  For 2-D input the default gives one value per
        column (per target, in the ``(n_features, n_targets)`` layout);
        ``None`` sums over all entries (Frobenius).
    db : bool, default=False
        Return ``10 log10(NMSE)`` instead.

    Returns
    -------
    nmse : float or ndarray
        ``0`` when both are zero, ``inf`` (``+inf`` dB) when only
        ``x_true`` is zero (no warning).

    Raises
    ------
    ValueError
        If the shapes differ, or an input is empty or holds NaN/inf.

    See Also
    --------
    relative_error : The square root, ``||x_est - x_true|| / ||x_true||``.

    Notes
    -----
    ``NMSE = ||x̂ - x||_2^2 / ||x||_2^2`` and ``NMSE_dB = 10 log10(NMSE)``
    (spec Section 0.1).  It is invariant to a common scaling of ``x_true``
    and ``x_est``.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import nmse
    >>> nmse([1.0, 0.0, 2.0], [1.0, 1.0, 2.0])
    0.2
    >>> float(np.round(nmse([1.0, 0.0], [1.1, 0.0], db=True), 6))
    -20.0
    >>> nmse(np.eye(2), np.array([[1.0, 0.0], [0.0, 0.0]]))
    array([0., 1.])
    """
    a, b = _pair(x_true, x_est, "nmse")
    if axis is not None and not isinstance(axis, numbers.Integral):
        raise ValueError(f"axis of nmse must be an int or None; got {axis!r}.")
    num = np.sum(np.abs(b - a) ** 2, axis=axis)
    den = np.sum(np.abs(a) ** 2, axis=axis)
    out = _ratio(num, den)
    if db:
        with np.errstate(divide="ignore"):
            out = 10.0 * np.log10(out)
        out = out[()] if np.ndim(out) == 0 else out
    return float(out) if np.ndim(out) == 0 else out


def relative_error(x_true, x_est, *, axis=0):
    r"""Relative error ``||x_est - x_true||_2 / ||x_true||_2``.

    Parameters
    ----------
    x_true : array-like
        Reference (real or complex).
    x_est : array-like of the same shape
        Estimate.
    axis : int or None, default=0
        Axis of the norms: per column for 2-D input by default, ``None`` for
        the Frobenius norm of the whole array.

    Returns
    -------
    err : float or ndarray
        ``0`` when both are zero, ``inf`` when only ``x_true`` is zero.

    Raises
    ------
    ValueError
        If the shapes differ, or an input is empty or holds NaN/inf.

    See Also
    --------
    nmse : Its square, optionally in dB.

    Notes
    -----
    ``rel_err = sqrt(NMSE)`` (spec Section 0.1); the phase-transition
    experiments count a trial as a success when it is below ``1e-4``.

    Examples
    --------
    >>> from sparsecode.metrics import relative_error
    >>> relative_error([3.0, 4.0], [3.0, 4.5])
    0.1
    """
    out = nmse(x_true, x_est, axis=axis)
    return float(np.sqrt(out)) if np.ndim(out) == 0 else np.sqrt(out)


def _support_mask(v, tol, rtol):
    """Entries counted as non-zero: |v| > tol, or > rtol * max|v| per column."""
    mag = np.abs(v)
    if tol is not None:
        return mag > tol
    ref = mag.max(axis=0, keepdims=True) if v.ndim == 2 else mag.max()
    return mag > rtol * ref


def _top_k_mask(v, k):
    # k largest magnitudes per column, ties broken towards the lowest index.
    mag = np.abs(v)
    order = np.argsort(-mag, axis=0, kind="stable")[:k]
    mask = np.zeros(v.shape, dtype=bool)
    np.put_along_axis(mask, order, True, axis=0)
    return mask


def support_recovery(x_true, x_est, *, tol=None, rtol=1e-6, n_nonzero_coefs=None):
    r"""Compare the supports (non-zero positions) of a reference and an estimate.

    Parameters
    ----------
    x_true : array-like of shape (n_features,) or (n_features, n_targets)
        Reference coefficients.
    x_est : array-like of the same shape
        Estimated coefficients.
    tol : float, default=None
        Absolute threshold: an entry is non-zero when ``|v| > tol``.  When
        ``None`` the relative rule ``|v| > rtol * max|v|`` is used, per
        vector (per column for 2-D input), so that numerically tiny entries
        of an estimate (round-off, an inexact solver) do not count.
    rtol : float, default=1e-6
        Relative threshold used when ``tol`` is None.
    n_nonzero_coefs : int, default=None
        If given, the estimated support is the ``n_nonzero_coefs`` entries of
        ``x_est`` of largest magnitude (per column; ties to the lowest index)
        instead of a threshold.  The true support always uses the threshold.

    Returns
    -------
    result : sklearn.utils.Bunch
        With keys ``precision`` (correct / estimated non-zeros; 1.0 when
        nothing is estimated), ``recall`` (correct / true non-zeros; 1.0
        when the truth is zero), ``f1`` (harmonic mean), ``exact`` (bool,
        the supports are equal), ``n_true``, ``n_estimated``, ``n_correct``
        (ints, pooled over columns), ``true_support`` and
        ``estimated_support`` (boolean masks of the input's shape).

    Raises
    ------
    ValueError
        If the shapes differ, an input is empty, holds NaN/inf or has more
        than two dimensions, or ``tol``/``rtol``/``n_nonzero_coefs`` are out
        of range.

    See Also
    --------
    nmse : Error on the values rather than on the support.

    Notes
    -----
    With ``S`` the true and ``Ŝ`` the estimated support,
    ``precision = |S ∩ Ŝ| / |Ŝ|``, ``recall = |S ∩ Ŝ| / |S|`` and
    ``exact = (S == Ŝ)``.  For 2-D input the counts are pooled over the
    columns and ``exact`` requires every column to match.

    Examples
    --------
    >>> from sparsecode.metrics import support_recovery
    >>> r = support_recovery([0.0, 1.0, 0.0, -2.0], [0.1, 0.9, 0.0, -2.1])
    >>> r.precision, r.recall, r.exact
    (0.6666666666666666, 1.0, False)
    >>> support_recovery([0.0, 1.0, 0.0, -2.0], [0.1, 0.9, 0.0, -2.1],
    ...                  n_nonzero_coefs=2).exact
    True
    >>> support_recovery([0.0, 1.0], [1e-12, 1.0]).exact
    True
    """
    owner = "support_recovery"
    a, b = _pair(x_true, x_est, owner)
    if tol is not None:
        if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, numbers.Real) \
                or not np.isfinite(tol) or tol < 0:
            raise ValueError(f"tol of {owner} must be a finite float >= 0 or None; got {tol!r}.")
    if isinstance(rtol, (bool, np.bool_)) or not isinstance(rtol, numbers.Real) \
            or not np.isfinite(rtol) or not 0 <= rtol < 1:
        raise ValueError(f"rtol of {owner} must be a float in [0, 1); got {rtol!r}.")
    true_mask = _support_mask(a, tol, rtol)
    if n_nonzero_coefs is None:
        est_mask = _support_mask(b, tol, rtol)
    else:
        n = a.shape[0]
        if isinstance(n_nonzero_coefs, (bool, np.bool_)) \
                or not isinstance(n_nonzero_coefs, numbers.Integral) \
                or not 0 <= n_nonzero_coefs <= n:
            raise ValueError(
                f"n_nonzero_coefs of {owner} must be an int in [0, {n}]; "
                f"got {n_nonzero_coefs!r}."
            )
        est_mask = _top_k_mask(b, int(n_nonzero_coefs))
    n_true = int(true_mask.sum())
    n_est = int(est_mask.sum())
    n_correct = int((true_mask & est_mask).sum())
    precision = n_correct / n_est if n_est else 1.0
    recall = n_correct / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Bunch(precision=precision, recall=recall, f1=f1,
                 exact=bool(np.array_equal(true_mask, est_mask)),
                 n_true=n_true, n_estimated=n_est, n_correct=n_correct,
                 true_support=true_mask, estimated_support=est_mask)


def mutual_coherence(A):
    r"""Mutual coherence: largest normalised inner product between two columns.

    Parameters
    ----------
    A : array-like, sparse matrix or LinearOperator of shape (m, N)
        Columns are the atoms (real or complex).  A ``LinearOperator`` is
        materialised column by column (``A @ I``), so keep it small.

    Returns
    -------
    mu : float
        ``max_{i != j} |<a_i, a_j>| / (||a_i|| ||a_j||)`` in ``[0, 1]``;
        ``0.0`` for a single column.

    Raises
    ------
    ValueError
        If ``A`` is not 2-D, is empty, holds NaN/inf or has a zero column.

    See Also
    --------
    support_recovery : Checks the recovered support.

    Notes
    -----
    With ``mu = mu(A)``, OMP and basis pursuit recover every ``k``-sparse
    ``x`` from ``y = A x`` exactly when ``k < (1 + 1/mu) / 2`` (Tropp 2004;
    Donoho & Elad 2003).  Computed from the normalised Gram matrix in
    ``O(m N^2)``.  For any ``m x N`` matrix with ``N > m``,
    ``mu >= sqrt((N - m) / (m (N - 1)))`` (Welch bound).

    References
    ----------
    .. [1] J. A. Tropp, "Greed is good: algorithmic results for sparse
       approximation", IEEE Trans. Inf. Theory 50(10), 2004.
    .. [2] D. L. Donoho and M. Elad, "Optimally sparse representation in
       general (nonorthogonal) dictionaries via l1 minimization", PNAS
       100(5), 2003.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import mutual_coherence
    >>> mutual_coherence(np.eye(3))
    0.0
    >>> A = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> round(mutual_coherence(A), 6)
    0.707107
    """
    owner = "mutual_coherence"
    if isinstance(A, LinearOperator):
        A = np.asarray(A.matmat(np.eye(A.shape[1], dtype=A.dtype)))
    A = _as_finite(A, "A", owner)
    if A.ndim != 2:
        raise ValueError(f"A of {owner} must be 2-D; got shape {A.shape}.")
    A = A.astype(np.result_type(A.dtype, np.float64), copy=False)
    norms = np.linalg.norm(A, axis=0)
    zero = np.flatnonzero(norms == 0)
    if zero.size:
        raise ValueError(
            f"A of {owner} has zero-norm column(s) {zero[:5].tolist()}; "
            f"the coherence is undefined."
        )
    if A.shape[1] == 1:
        return 0.0
    An = A / norms
    G = np.abs(An.conj().T @ An)
    np.fill_diagonal(G, 0.0)
    return float(min(G.max(), 1.0))


def psnr(ref, est, data_range=None):
    r"""Peak signal-to-noise ratio ``10 log10(data_range^2 / MSE)`` in dB.

    Parameters
    ----------
    ref : array-like
        Reference image or signal (real).
    est : array-like of the same shape
        Estimate.
    data_range : float, default=None
        Peak-to-peak range of the data; ``None`` uses
        ``ref.max() - ref.min()``.

    Returns
    -------
    psnr : float
        In dB; ``inf`` when ``est == ref``.

    Raises
    ------
    ValueError
        If the shapes differ, an input is empty, complex or holds NaN/inf,
        ``data_range`` is not positive, or ``ref`` is constant and
        ``data_range`` is not given.

    See Also
    --------
    nmse : Error normalised by the signal energy instead of its peak.

    Notes
    -----
    ``MSE = mean((est - ref)^2)``.  The images of the V1 sparse-coding and
    inpainting examples are compared this way.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import psnr
    >>> ref = np.array([0.0, 1.0, 0.5, 0.25])
    >>> round(psnr(ref, ref + 0.1), 6)
    20.0
    """
    owner = "psnr"
    a = _as_finite(ref, "ref", owner)
    b = _as_finite(est, "est", owner)
    if a.shape != b.shape:
        raise ValueError(
            f"ref and est of {owner} must have the same shape; got {a.shape} and {b.shape}."
        )
    if np.iscomplexobj(a) or np.iscomplexobj(b):
        raise ValueError(f"ref and est of {owner} must be real.")
    a = a.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    if data_range is None:
        data_range = float(a.max() - a.min())
        if data_range == 0:
            raise ValueError(
                f"ref of {owner} is constant; give data_range explicitly."
            )
    elif isinstance(data_range, (bool, np.bool_)) or not isinstance(data_range, numbers.Real) \
            or not np.isfinite(data_range) or data_range <= 0:
        raise ValueError(f"data_range of {owner} must be a positive float; got {data_range!r}.")
    mse = float(np.mean((b - a) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(float(data_range) ** 2 / mse))
