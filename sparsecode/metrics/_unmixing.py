"""Unmixing metrics: spectral angle distance, abundance RMSE, component matching.

Spec section A4.7 (Zhu et al.'s protocol: SAD in radians, RMSE per endmember
after per-pixel sum-to-one normalisation of the estimate; Hungarian matching by
default, the greedy matching of Zhu's code as an option).
"""

import numpy as np

__all__ = ["abundance_rmse", "match_components", "spectral_angle_distance"]


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
