"""Function layer over the NMF unmixing estimators (as scikit-learn's
``non_negative_factorization`` is over ``NMF``)."""

import importlib

__all__ = ["nmf_unmix"]

# method name (the ``sparsecode unmix --method`` names) -> (module, estimator class)
NMF_ESTIMATORS = {
    "nmf": ("._nmf", "NMFUnmixing"),
    "l12": ("._l12nmf", "L12NMF"),
    "cenmf": ("._cenmf", "CorrentropyNMF"),
    "rgnmf": ("._rgnmf", "RobustGuidedNMF"),
    "ssnmf": ("._ssnmf", "StructuredSparseNMF"),
}


def nmf_estimator_class(method):
    """The estimator class of an NMF method name (``ValueError`` naming the choices)."""
    if not isinstance(method, str) or method not in NMF_ESTIMATORS:
        raise ValueError(f"method must be one of {sorted(NMF_ESTIMATORS)}; got {method!r}.")
    module, name = NMF_ESTIMATORS[method]
    return getattr(importlib.import_module(module, __package__), name)


def nmf_unmix(Y, n_components=3, *, method="cenmf", W=None, H=None, fixed_components=None,
              mask=None, **params):
    """Unmix pixels by one of the NMF estimators; returns abundances and endmembers.

    The function form of :class:`NMFUnmixing`, :class:`L12NMF`,
    :class:`CorrentropyNMF`, :class:`RobustGuidedNMF` and
    :class:`StructuredSparseNMF`: it builds the estimator, fits it and
    returns what scikit-learn's ``non_negative_factorization`` returns.

    Parameters
    ----------
    Y : array-like of shape (n_pixels, n_bands) or (rows, cols, n_bands)
        Non-negative data (a cube is unmixed as an image: the graph-based
        methods use its pixel grid).
    n_components : int or "auto", default=3
        Number of endmembers (``"auto"``: HySime's estimate).
    method : {"cenmf", "nmf", "l12", "rgnmf", "ssnmf"}, default="cenmf"
        ``"cenmf"``: :class:`CorrentropyNMF`; ``"nmf"``: :class:`NMFUnmixing`;
        ``"l12"``: :class:`L12NMF`; ``"rgnmf"``: :class:`RobustGuidedNMF`;
        ``"ssnmf"``: :class:`StructuredSparseNMF` (the names of
        ``sparsecode unmix --method``).
    W, H : array-like or None, default=None
        Initial abundances and endmembers with ``init="custom"``.
    fixed_components : array-like of shape (n_fixed, n_bands) or None, default=None
        Known endmembers held fixed: the first rows of ``endmembers``.
    mask : array-like or None, default=None
        Observed entries (see the estimators' ``fit``).
    **params
        Any other parameter of the chosen estimator (``init``, ``max_iter``,
        ``tol``, ``random_state``, penalties, ...), with its defaults otherwise.

    Returns
    -------
    abundances : ndarray of shape (n_pixels, n_components) or (rows, cols, n_components)
        The abundances of the pixels (layout and dtype of ``Y``).
    endmembers : ndarray of shape (n_components, n_bands)
        The endmembers (the estimator's ``components_``).
    n_iter : int
        Number of sweeps run.

    Raises
    ------
    ValueError
        For an unknown ``method``; ``TypeError`` for a parameter the chosen
        estimator does not have.

    See Also
    --------
    nfindr, vca, fcls : extraction then abundances, without a factorisation.
    sunsal : sparse unmixing over a known spectral library.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.unmixing import nmf_unmix
    >>> rng = np.random.default_rng(0)
    >>> E = rng.uniform(0.1, 1.0, size=(3, 30))
    >>> A = np.vstack([rng.dirichlet(np.ones(3), size=400), np.eye(3)])
    >>> abundances, endmembers, n_iter = nmf_unmix(A @ E, 3, method="nmf", max_iter=50)
    >>> abundances.shape, endmembers.shape
    ((403, 3), (3, 30))
    """
    cls = nmf_estimator_class(method)
    try:
        est = cls(n_components=n_components, **params)
    except TypeError as exc:
        raise TypeError(f"nmf_unmix(method={method!r}): {exc}; the parameters of "
                        f"{cls.__name__} are {sorted(cls().get_params())}.") from None
    abundances = est.fit_transform(Y, W=W, H=H, fixed_components=fixed_components, mask=mask)
    return abundances, est.components_, int(est.n_iter_)
