"""Unmixing metrics: spectral angle distance, abundance RMSE, component matching.

Spec section A4.7 (Zhu et al.'s protocol: SAD in radians, RMSE per endmember
after per-pixel sum-to-one normalisation of the estimate; Hungarian matching by
default, the greedy matching of Zhu's code as an option), and section 5.7
(HySUPP's conventions: SRE in dB, aRMSE x100, AAD, SID, per-endmember SAD).
Every endmember metric matches the estimates to the reference with
``match_components`` (Hungarian on SAD by default); abundance metrics take the
resulting permutation as ``perm``.
"""

import numpy as np

__all__ = [
    "aad",
    "abundance_rmse",
    "armse",
    "match_components",
    "sad_per_endmember",
    "sid",
    "spectral_angle_distance",
    "sre",
]


def _rows(a, name):
    arr = np.asarray(a, dtype=float)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D or 2-D (n_endmembers, n_bands); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity.")
    return arr


def _unit(T):
    return T / np.maximum(np.linalg.norm(T, axis=-1, keepdims=True), 1e-300)


def spectral_angle_distance(endmembers_true, endmembers_pred, *, degrees=False,
                            multioutput="raw_values"):
    """Spectral angle between corresponding endmembers (rows).

    Parameters
    ----------
    endmembers_true : array-like of shape (K, n_bands) or (n_bands,)
        Reference spectra.
    endmembers_pred : array-like of the same shape
        Estimated spectra, already in the order of the reference (see
        match_components).
    degrees : bool, default=False
        Degrees instead of radians.
    multioutput : {"raw_values", "uniform_average"}, default="raw_values"
        Per-endmember angles or their mean.

    Returns
    -------
    sad : ndarray of shape (K,) or float
        Angles.

    See Also
    --------
    match_components : the permutation to apply first.
    abundance_rmse : the abundance error.

    Notes
    -----
    ``SAD(m, m_hat) = arccos(m^T m_hat / (||m|| ||m_hat||))``, the cosine
    clipped to [-1, 1]; invariant to the scale of either spectrum.

    References
    ----------
    .. [1] F. Zhu, "Hyperspectral unmixing: ground truth labeling, datasets,
       benchmark performances and survey", arXiv:1708.05125, 2017.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import spectral_angle_distance
    >>> spectral_angle_distance([[1.0, 0.0]], [[1.0, 1.0]], degrees=True)
    array([45.])
    """
    T = _rows(endmembers_true, "endmembers_true")
    E = _rows(endmembers_pred, "endmembers_pred")
    if T.shape != E.shape:
        raise ValueError(f"endmembers_true {T.shape} and endmembers_pred {E.shape} differ in shape.")
    sad = np.arccos(np.clip(np.sum(_unit(T) * _unit(E), axis=1), -1.0, 1.0))
    if degrees:
        sad = np.degrees(sad)
    return _reduce(sad, multioutput)


def _reduce(v, multioutput):
    if multioutput == "raw_values":
        return v
    if multioutput == "uniform_average":
        return float(np.mean(v))
    raise ValueError(f"multioutput must be 'raw_values' or 'uniform_average'; got {multioutput!r}.")


def abundance_rmse(abundances_true, abundances_pred, *, normalize=False, multioutput="raw_values"):
    """Root mean squared abundance error per endmember.

    Parameters
    ----------
    abundances_true : array-like of shape (n_pixels, K) or (rows, cols, K)
        Reference abundances.
    abundances_pred : array-like of the same shape
        Estimates, endmembers in the reference order.
    normalize : bool, default=False
        Divide each estimated pixel by its sum first (Zhu's protocol for
        methods that do not enforce sum-to-one).
    multioutput : {"raw_values", "uniform_average"}, default="raw_values"
        Per-endmember values or their mean.

    Returns
    -------
    rmse : ndarray of shape (K,) or float
        ``sqrt(mean_n (a_kn - a_hat_kn)^2)`` for each endmember k.

    See Also
    --------
    spectral_angle_distance : the endmember error.
    match_components : the permutation to apply first.

    Notes
    -----
    HySUPP's aRMSE is ``100 * sqrt(mean over all entries)``: a different
    averaging and a factor 100.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import abundance_rmse
    >>> abundance_rmse([[1.0, 0.0], [0.5, 0.5]], [[0.9, 0.1], [0.5, 0.5]])
    array([0.07071068, 0.07071068])
    """
    T = np.asarray(abundances_true, dtype=float)
    P = np.asarray(abundances_pred, dtype=float)
    if T.shape != P.shape:
        raise ValueError(f"abundances_true {T.shape} and abundances_pred {P.shape} differ in shape.")
    if T.ndim == 3:
        T, P = T.reshape(-1, T.shape[2]), P.reshape(-1, P.shape[2])
    if T.ndim != 2:
        raise ValueError(f"abundances must be (n_pixels, K) or (rows, cols, K); got {T.shape}.")
    if not (np.all(np.isfinite(T)) and np.all(np.isfinite(P))):
        raise ValueError("abundances contain NaN or infinity.")
    if normalize:
        P = P / np.maximum(P.sum(axis=1, keepdims=True), 1e-300)
    return _reduce(np.sqrt(np.mean((T - P) ** 2, axis=0)), multioutput)


def match_components(endmembers_true, endmembers_pred, *, method="hungarian", metric="sad"):
    """Order the estimated endmembers like the reference ones.

    Parameters
    ----------
    endmembers_true : array-like of shape (K, n_bands)
        Reference spectra.
    endmembers_pred : array-like of shape (J, n_bands), J >= K
        Estimated spectra in any order.
    method : {"hungarian", "greedy"}, default="hungarian"
        Optimal assignment (scipy's linear_sum_assignment) or Zhu's greedy
        protocol (repeatedly take the globally closest pair).
    metric : {"sad", "euclidean"}, default="sad"
        Cost: spectral angle, or Euclidean distance of unit-norm spectra
        (Zhu's code; monotone in the angle).

    Returns
    -------
    perm : ndarray of shape (K,)
        ``endmembers_pred[perm]`` is matched to ``endmembers_true``; apply the
        same permutation to the abundance columns (``A_pred[:, perm]``).

    See Also
    --------
    spectral_angle_distance : score after matching.

    Notes
    -----
    Cost matrix ``C_kj = SAD(m_k, m_hat_j)``; the Hungarian method minimises
    the total cost, the greedy one can differ when two estimates compete for
    the same reference.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.metrics import match_components
    >>> T = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> match_components(T, T[::-1] * 3)
    array([1, 0])
    """
    from scipy.optimize import linear_sum_assignment

    T = _rows(endmembers_true, "endmembers_true")
    E = _rows(endmembers_pred, "endmembers_pred")
    if T.shape[1] != E.shape[1]:
        raise ValueError(f"endmembers_true has {T.shape[1]} bands, endmembers_pred {E.shape[1]}.")
    if E.shape[0] < T.shape[0]:
        raise ValueError(f"endmembers_pred has {E.shape[0]} rows, fewer than the {T.shape[0]} "
                         f"reference endmembers.")
    Tn, En = _unit(T), _unit(E)
    if metric == "sad":
        C = np.arccos(np.clip(Tn @ En.T, -1.0, 1.0))
    elif metric == "euclidean":
        C = np.linalg.norm(Tn[:, None, :] - En[None, :, :], axis=2)
    else:
        raise ValueError(f"metric must be 'sad' or 'euclidean'; got {metric!r}.")
    if method == "hungarian":
        rows, cols = linear_sum_assignment(C)
        perm = np.empty(T.shape[0], dtype=np.intp)
        perm[rows] = cols
        return perm
    if method != "greedy":
        raise ValueError(f"method must be 'hungarian' or 'greedy'; got {method!r}.")
    C = C.copy()
    perm = np.empty(T.shape[0], dtype=np.intp)
    for _ in range(T.shape[0]):
        k, j = np.unravel_index(np.argmin(C), C.shape)
        perm[k] = j
        C[k, :] = np.inf
        C[:, j] = np.inf
    return perm


def _matched(endmembers_true, endmembers_pred, match):
    """Reference and estimated endmembers, the estimates in the reference order."""
    T = _rows(endmembers_true, "endmembers_true")
    E = _rows(endmembers_pred, "endmembers_pred")
    if match is None:
        if T.shape != E.shape:
            raise ValueError(f"endmembers_true {T.shape} and endmembers_pred {E.shape} differ in "
                             f"shape; pass match='hungarian' to pick the matching estimates.")
        return T, E
    if match not in ("hungarian", "greedy"):
        raise ValueError(f"match must be 'hungarian', 'greedy' or None; got {match!r}.")
    return T, E[match_components(T, E, method=match)]


def sad_per_endmember(endmembers_true, endmembers_pred, *, match="hungarian", degrees=False):
    """Spectral angle of each reference endmember to its matched estimate.

    Parameters
    ----------
    endmembers_true : array-like of shape (K, n_bands)
        Reference spectra.
    endmembers_pred : array-like of shape (J, n_bands), J >= K
        Estimated spectra, in any order.
    match : {"hungarian", "greedy"} or None, default="hungarian"
        Matching of estimates to references (``match_components``, cost =
        spectral angle); None takes the rows in the given order (then J = K).
    degrees : bool, default=False
        Degrees (HySUPP's unit) instead of radians.

    Returns
    -------
    sad : ndarray of shape (K,)
        ``arccos`` of the cosine of each matched pair, the cosine clipped to
        [-1, 1] (HySUPP does not clip: NaN for rounding past 1).

    See Also
    --------
    match_components : the shared matching.
    spectral_angle_distance : the same angle without matching.
    sid : spectral information divergence.

    Examples
    --------
    >>> from sparsecode.metrics import sad_per_endmember
    >>> T = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
    >>> sad_per_endmember(T, [[0.0, 2.0, 0.0], [1.0, 0.0, 1.0]], degrees=True)
    array([45.,  0.])
    """
    T, E = _matched(endmembers_true, endmembers_pred, match)
    return spectral_angle_distance(T, E, degrees=degrees)


def sid(endmembers_true, endmembers_pred, *, match="hungarian", multioutput="raw_values"):
    """Spectral information divergence (symmetric Kullback-Leibler) per endmember.

    Parameters
    ----------
    endmembers_true : array-like of shape (K, n_bands)
        Reference spectra (non-negative).
    endmembers_pred : array-like of shape (J, n_bands), J >= K
        Estimated spectra (non-negative), in any order.
    match : {"hungarian", "greedy"} or None, default="hungarian"
        Matching (``match_components`` on the spectral angle); None takes the
        rows in the given order.
    multioutput : {"raw_values", "uniform_average"}, default="raw_values"
        Per-endmember values or their mean.

    Returns
    -------
    sid : ndarray of shape (K,) or float
        ``sum p log(p / q) + sum q log(q / p)`` with ``p = m / 1^T m`` and
        ``q = m_hat / 1^T m_hat``, each floored at machine epsilon.

    Raises
    ------
    ValueError
        A negative entry or a spectrum summing to zero.

    See Also
    --------
    sad_per_endmember : the angle.

    Notes
    -----
    C.-I Chang, "An information-theoretic approach to spectral variability,
    similarity, and discrimination", IEEE TIT 46(5), 2000. Invariant to the
    scale of either spectrum; 0 iff the normalised spectra agree.

    Examples
    --------
    >>> from sparsecode.metrics import sid
    >>> round(float(sid([[1.0, 1.0]], [[1.0, 3.0]])[0]), 6)  # = log(3) / 4
    0.274653
    """
    T, E = _matched(endmembers_true, endmembers_pred, match)
    for name, X in (("endmembers_true", T), ("endmembers_pred", E)):
        if np.any(X < 0):
            raise ValueError(f"{name} has negative entries; SID needs non-negative spectra "
                             f"(clip them first).")
        if np.any(X.sum(axis=1) <= 0):
            raise ValueError(f"{name} has a spectrum summing to zero; SID is undefined.")
    eps = np.finfo(float).eps
    P = np.maximum(T / T.sum(axis=1, keepdims=True), eps)
    Q = np.maximum(E / E.sum(axis=1, keepdims=True), eps)
    lr = np.log(P) - np.log(Q)
    return _reduce(np.sum((P - Q) * lr, axis=1), multioutput)


def _abundance_pair(abundances_true, abundances_pred, perm, names=("abundances_true",
                                                                   "abundances_pred")):
    T = np.asarray(abundances_true, dtype=float)
    P = np.asarray(abundances_pred, dtype=float)
    if T.ndim == 3:
        T = T.reshape(-1, T.shape[2])
    if P.ndim == 3:
        P = P.reshape(-1, P.shape[2])
    for name, X in zip(names, (T, P)):
        if X.ndim != 2:
            raise ValueError(f"{name} must be (n_pixels, K) or (rows, cols, K); got {X.shape}.")
        if not np.all(np.isfinite(X)):
            raise ValueError(f"{name} contains NaN or infinity.")
    if perm is not None:
        perm = np.asarray(perm)
        if perm.ndim != 1 or perm.size != T.shape[1]:
            raise ValueError(f"perm must have one entry per reference column ({T.shape[1]}); got "
                             f"shape {perm.shape}.")
        P = P[:, perm]
    if T.shape != P.shape:
        raise ValueError(f"{names[0]} {T.shape} and {names[1]} {P.shape} differ in shape (after "
                         f"perm).")
    return T, P


def sre(abundances_true, abundances_pred, *, perm=None):
    """Signal-to-reconstruction error in dB.

    Parameters
    ----------
    abundances_true : array-like of shape (n_pixels, K) or (rows, cols, K)
        Reference abundances (or any coefficient matrix, e.g. library
        abundances).
    abundances_pred : array-like
        Estimates; same shape, or more columns when ``perm`` selects them.
    perm : array-like of int, default=None
        Columns of the estimate matched to the reference columns
        (``match_components`` on the endmembers); None: same order.

    Returns
    -------
    sre : float
        ``20 log10(||X||_F / ||X - X_hat||_F)``; ``inf`` for an exact estimate.

    See Also
    --------
    armse : abundance RMSE (HySUPP, x100).

    Notes
    -----
    Equals ``10 log10(E||x||^2 / E||x - x_hat||^2)`` of Iordache et al.
    (HySUPP's ``SRE``). Library methods compare the rows directly.

    Examples
    --------
    >>> from sparsecode.metrics import sre
    >>> sre([[1.0, 0.0], [0.0, 1.0]], [[0.9, 0.0], [0.0, 1.1]])
    20.0
    """
    T, P = _abundance_pair(abundances_true, abundances_pred, perm)
    num = np.linalg.norm(T)
    den = np.linalg.norm(T - P)
    if den == 0:
        return float("inf")
    if num == 0:
        return float("-inf")
    return float(20.0 * np.log10(num / den))


def armse(abundances_true, abundances_pred, *, perm=None, percent=True):
    """Abundance RMSE over all entries, HySUPP convention (x100).

    Parameters
    ----------
    abundances_true : array-like of shape (n_pixels, K) or (rows, cols, K)
        Reference abundances.
    abundances_pred : array-like
        Estimates; same shape, or more columns when ``perm`` selects them.
    perm : array-like of int, default=None
        Estimated columns matched to the reference ones; None: same order.
    percent : bool, default=True
        Multiply by 100 (HySUPP's ``aRMSE``). False gives the plain RMSE.

    Returns
    -------
    armse : float
        ``100 sqrt(mean over all K N entries of (A - A_hat)^2)``.

    See Also
    --------
    abundance_rmse : per-endmember RMSE without the factor 100 (spec A4.7).

    Examples
    --------
    >>> from sparsecode.metrics import armse
    >>> round(armse([[1.0, 0.0], [0.5, 0.5]], [[0.9, 0.1], [0.5, 0.5]]), 4)
    7.0711
    """
    T, P = _abundance_pair(abundances_true, abundances_pred, perm)
    v = float(np.sqrt(np.mean((T - P) ** 2)))
    return 100.0 * v if percent else v


def aad(abundances_true, abundances_pred, *, perm=None, degrees=False, return_n_skipped=False):
    """Abundance angle distance: mean angle between true and estimated pixels.

    Parameters
    ----------
    abundances_true : array-like of shape (n_pixels, K) or (rows, cols, K)
        Reference abundances.
    abundances_pred : array-like
        Estimates; same shape, or more columns when ``perm`` selects them.
    perm : array-like of int, default=None
        Estimated columns matched to the reference ones; None: same order.
    degrees : bool, default=False
        Degrees instead of radians.
    return_n_skipped : bool, default=False
        Also return the number of pixels skipped (an all-zero abundance
        vector, true or estimated: the angle is undefined).

    Returns
    -------
    aad : float
        Mean over the pixels of ``arccos(a^T a_hat / (||a|| ||a_hat||))``
        (cosine clipped to [-1, 1]); NaN when every pixel is skipped.
    n_skipped : int
        Only with ``return_n_skipped``.

    See Also
    --------
    sad_per_endmember : the same angle between endmembers.

    Examples
    --------
    >>> from sparsecode.metrics import aad
    >>> aad([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]], [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]],
    ...     degrees=True, return_n_skipped=True)
    (22.5, 1)
    """
    T, P = _abundance_pair(abundances_true, abundances_pred, perm)
    nt = np.linalg.norm(T, axis=1)
    npred = np.linalg.norm(P, axis=1)
    ok = (nt > 0) & (npred > 0)
    n_skipped = int(np.sum(~ok))
    if not np.any(ok):
        val = float("nan")
    else:
        c = np.sum(T[ok] * P[ok], axis=1) / (nt[ok] * npred[ok])
        ang = np.arccos(np.clip(c, -1.0, 1.0))
        val = float(np.mean(np.degrees(ang) if degrees else ang))
    return (val, n_skipped) if return_n_skipped else val
