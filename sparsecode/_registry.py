"""The algorithm registry behind :func:`sparsecode.sparse_encode` and ``SparseCoder``.

Each family registers the encoders it offers with :func:`register_encoder`
in its own module, so the hub never has to know them in advance.  An encoder
is called as ``func(X, dictionary, **params)`` with ``X`` of shape
(n_samples, n_features) and the dictionary of shape (n_atoms, n_features)
(atoms as rows, already validated), and returns codes of shape
(n_samples, n_atoms).
"""

import importlib

__all__ = ["register_encoder", "get_encoder", "available_encoders"]

_ENCODERS = {}

# Families that may register encoders; imported on demand so that asking for
# an algorithm loads only what it needs.
_FAMILIES = ("greedy", "convex", "thresholding", "bayes", "dictionary", "amortized")


def register_encoder(name, *, description, params=()):
    """Decorator registering ``func`` as the encoder ``name``.

    Parameters
    ----------
    name : str
        Algorithm name used in ``sparse_encode(algorithm=name)``.
    description : str
        One line shown in error messages and the docs.
    params : tuple of str
        The keyword arguments the encoder accepts (besides ``n_jobs``).
    """

    def deco(func):
        _ENCODERS[name] = (func, description, tuple(params))
        return func

    return deco


def _load_all():
    for fam in _FAMILIES:
        try:
            importlib.import_module(f"sparsecode.{fam}")
        except ImportError:  # pragma: no cover - a family may be absent
            pass


def get_encoder(name):
    """Return ``(func, description, params)`` for ``name`` or raise a clear error."""
    # import families one at a time and stop as soon as ``name`` is known
    for fam in _FAMILIES:
        if name in _ENCODERS:
            break
        importlib.import_module(f"sparsecode.{fam}")
    if name not in _ENCODERS:
        raise ValueError(
            f"Unknown algorithm {name!r}; available: {', '.join(available_encoders())}."
        )
    return _ENCODERS[name]


def available_encoders():
    """Sorted names of every registered encoder.

    Imports every family, so that each registers what it offers.

    Returns
    -------
    names : list of str
        The algorithm names accepted by :func:`sparsecode.sparse_encode`,
        :class:`sparsecode.SparseCoder` and ``sparsecode encode``.

    Examples
    --------
    >>> from sparsecode import available_encoders
    >>> {"omp", "mp"} <= set(available_encoders())
    True
    """
    _load_all()
    return sorted(_ENCODERS)
