"""Planted-feature data for amortised sparse coding (flat supports; the MP-SAE hierarchy).

``make_planted_features`` draws signals from a known unit-norm dictionary
with ``k`` atoms per signal on i.i.d. uniform supports (non-negative
amplitudes by default, as TopK and matching-pursuit autoencoders code with
non-negative activations).  ``make_hierarchical_features`` draws the
hierarchical, conditionally orthogonal construction of the MP-SAE paper
(Costa et al. 2025): three parents with three children each and eight
singletons in 20 dimensions, with a tunable cosine between features of the
same level.
"""

import numbers

import numpy as np
from scipy.optimize import brentq

from .._validation import Interval, Options, validate_params
from ._generators import _check_dtype, _rng

__all__ = ["make_planted_features", "make_hierarchical_features"]

_FLAT_CONSTRAINTS = {
    "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_atoms": [Interval(numbers.Integral, 1, None, closed="left")],
    "k": [Interval(numbers.Integral, 1, None, closed="left")],
    "amplitude": [Options("uniform", "gaussian")],
    "nonnegative": ["boolean"],
    "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
    "offset": [Interval(numbers.Real, 0, None, closed="left")],
    "random_state": ["random_state"],
}


def make_planted_features(n_samples, n_features, n_atoms, k, *, amplitude="uniform",
                          nonnegative=True, noise_level=0.0, offset=0.0,
                          dtype=np.float64, random_state=None):
    r"""Signals made of ``k`` atoms of a known unit-norm dictionary (flat supports).

    Each row is ``x_i = sum_{j in S_i} c_ij d_j + b + e_i`` with a support
    ``S_i`` of exactly ``k`` atoms drawn uniformly without replacement,
    independently for every signal.  The planted atoms are the reference
    of :func:`sparsecode.metrics.mean_max_cosine` in recovery experiments.

    Parameters
    ----------
    n_samples : int
        Number of signals.
    n_features : int
        Dimension of each signal and atom.
    n_atoms : int
        Number of planted atoms (may exceed ``n_features``: overcomplete).
    k : int
        Active atoms per signal, in ``[1, n_atoms]``.
    amplitude : {"uniform", "gaussian"}, default="uniform"
        Magnitudes of the active codes: uniform on ``[0.5, 1.5]`` or
        ``|N(0, 1)|``.
    nonnegative : bool, default=True
        Keep the codes non-negative; ``False`` gives each a random sign.
    noise_level : float, default=0.0
        Standard deviation of the i.i.d. Gaussian noise ``e_i``.
    offset : float, default=0.0
        Euclidean norm of a constant offset ``b`` (random direction) added to
        every signal; a pre-encoder bias must learn it.
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the outputs.
    random_state : int, Generator, RandomState or None, default=None
        Seed; with a fixed int the output is reproducible.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The signals.
    dictionary : ndarray of shape (n_atoms, n_features)
        Gaussian atoms with unit Euclidean norm (rows).
    codes : ndarray of shape (n_samples, n_atoms)
        The planted codes, exactly ``k`` non-zeros per row.

    Raises
    ------
    ValueError
        Naming the argument, for non-positive sizes, ``k > n_atoms``,
        negative or non-finite ``noise_level`` or ``offset``, or an unknown
        ``amplitude`` or ``dtype``.

    See Also
    --------
    make_hierarchical_features : Parent/child features of the MP-SAE paper.
    make_sparse_coded_signal : Signed Gaussian codes, scikit-learn's layout.

    Examples
    --------
    >>> from sparsecode.datasets import make_planted_features
    >>> X, D, codes = make_planted_features(100, 16, 32, 3, random_state=0)
    >>> X.shape, D.shape, codes.shape
    ((100, 16), (32, 16), (100, 32))
    >>> bool((codes != 0).sum(axis=1).min() == 3)
    True
    """
    validate_params(dict(n_samples=n_samples, n_features=n_features, n_atoms=n_atoms, k=k,
                         amplitude=amplitude, nonnegative=nonnegative, noise_level=noise_level,
                         offset=offset, random_state=random_state),
                    _FLAT_CONSTRAINTS, "make_planted_features")
    if k > n_atoms:
        raise ValueError(f"k must be at most n_atoms={n_atoms}; got k={k}.")
    dt = _check_dtype(dtype, "make_planted_features")
    rng = _rng(random_state)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    # supports: the k smallest of i.i.d. uniform keys per row (vectorised)
    support = np.argpartition(rng.random((n_samples, n_atoms)), k - 1, axis=1)[:, :k]
    if amplitude == "uniform":
        vals = rng.uniform(0.5, 1.5, size=(n_samples, k))
    else:
        vals = np.abs(rng.standard_normal((n_samples, k)))
    if not nonnegative:
        vals *= rng.choice([-1.0, 1.0], size=vals.shape)
    codes = np.zeros((n_samples, n_atoms))
    np.put_along_axis(codes, support, vals, axis=1)
    X = codes @ D
    if offset > 0:
        b = rng.standard_normal(n_features)
        X += offset * b / np.linalg.norm(b)
    if noise_level > 0:
        X += noise_level * rng.standard_normal(X.shape)
    return X.astype(dt), D.astype(dt), codes.astype(dt)


# MP-SAE toy tree (Costa et al. 2025): parents 0, 4, 8 with children 1-3, 5-7, 9-11; singletons 12-19.
_PARENTS = (0, 4, 8)
_CHILDREN = ((1, 2, 3), (5, 6, 7), (9, 10, 11))
_SINGLETONS = tuple(range(12, 20))


def _group_cosine(eps, m):
    """Cosine between two members of a group of ``m`` mixed basis vectors."""
    a, b = 1.0 - eps, eps / (m - 1)
    return (2 * a * b + (m - 2) * b * b) / (a * a + (m - 1) * b * b)


def _mixing_eps(cosine, m):
    """The mixing weight ``eps`` giving within-group ``cosine`` (0 <= cosine < 1)."""
    if cosine == 0:
        return 0.0
    # _group_cosine increases from 0 (eps = 0) to 1 (eps = (m-1)/m, all equal)
    return brentq(lambda e: _group_cosine(e, m) - cosine, 0.0, (m - 1) / m, xtol=1e-14)


def _mixed_group(Q, cosine):
    """Rows of ``Q`` (orthonormal) mixed so that every pair has ``cosine``; unit rows."""
    m = Q.shape[0]
    eps = _mixing_eps(cosine, m)
    M = (1 - eps) * np.eye(m) + (eps / (m - 1)) * (np.ones((m, m)) - np.eye(m))
    F = M @ Q
    return F / np.linalg.norm(F, axis=1, keepdims=True)


_HIER_CONSTRAINTS = {
    "n_samples": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_features": [Interval(numbers.Integral, 20, None, closed="left")],
    "intra_cosine": [Interval(numbers.Real, 0, 0.9, closed="both")],
    "parent_cosine": [Interval(numbers.Real, 0, 0.9, closed="both"), None],
    "amplitude_mean": [Interval(numbers.Real, 0, None, closed="neither")],
    "amplitude_std": [Interval(numbers.Real, 0, None, closed="left")],
    "noise_level": [Interval(numbers.Real, 0, None, closed="left")],
    "rotate": ["boolean"],
    "return_groups": ["boolean"],
    "random_state": ["random_state"],
}


def make_hierarchical_features(n_samples, *, n_features=20, intra_cosine=0.4,
                               parent_cosine=None, amplitude_mean=1.5, amplitude_std=0.25,
                               noise_level=0.0, rotate=False, return_groups=False,
                               dtype=np.float64, random_state=None):
    r"""Hierarchical, conditionally orthogonal features of the MP-SAE paper (Costa et al. 2025).

    Twenty unit features: parents 0, 4 and 8, their children 1-3, 5-7 and
    9-11, and singletons 12-19.  Each signal has exactly one root-level
    feature (each parent with probability 0.2, each singleton 0.05); an
    active parent switches on one of its three children with probability
    0.2 each, or none (0.4).  Mean L0 is 1.36.  Every active feature gets
    the amplitude ``amplitude_mean + amplitude_std * N(0, 1)``.

    Geometry: from orthonormal ``q_1, ..., q_20``, the eleven root-level
    features (parents and singletons) are mixed among themselves, and each
    sibling triple among itself, by
    ``f_i ∝ (1 - eps) q_i + eps / (m - 1) sum_{j != i} q_j`` with ``eps``
    solved so that two members of a group have cosine ``intra_cosine``
    (the paper's table: 0.1 l for l = 0..8).  Parents are exactly
    orthogonal to every child: removing the parent's contribution from a
    signal leaves the child ("conditional orthogonality").

    Parameters
    ----------
    n_samples : int
        Number of signals.
    n_features : int, default=20
        Ambient dimension, at least 20; the features span 20 of them.
    intra_cosine : float, default=0.4
        Cosine between two siblings and between two root-level features,
        in ``[0, 0.9]``.
    parent_cosine : float or None, default=None
        Cosine among root-level features if it should differ from
        ``intra_cosine``.
    amplitude_mean, amplitude_std : float, default=1.5, 0.25
        Gaussian amplitude of each active feature.
    noise_level : float, default=0.0
        Standard deviation of i.i.d. Gaussian noise (the paper has none).
    rotate : bool, default=False
        Use a random orthonormal ``q`` (Haar) instead of the first 20
        coordinate vectors.
    return_groups : bool, default=False
        Also return a dict with the indices ``"parents"``, ``"children"``
        (a list of three triples) and ``"singletons"``.
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the outputs.
    random_state : int, Generator, RandomState or None, default=None
        Seed; with a fixed int the output is reproducible.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The signals ``codes @ dictionary + noise``.
    dictionary : ndarray of shape (20, n_features)
        The unit features (rows).
    codes : ndarray of shape (n_samples, 20)
        Non-negative amplitudes of the active features.
    groups : dict
        Only with ``return_groups=True``.

    Raises
    ------
    ValueError
        Naming the argument, for ``n_features < 20``, a cosine outside
        ``[0, 0.9]``, non-positive sizes or an unknown ``dtype``.

    See Also
    --------
    make_planted_features : Flat i.i.d. supports.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.datasets import make_hierarchical_features
    >>> X, D, codes = make_hierarchical_features(2000, intra_cosine=0.4, random_state=0)
    >>> round(float(D[1] @ D[2]), 6), round(float(D[0] @ D[1]), 6)  # siblings, parent-child
    (0.4, 0.0)
    >>> 1.2 < float((codes > 0).sum(axis=1).mean()) < 1.5
    True
    """
    validate_params(dict(n_samples=n_samples, n_features=n_features, intra_cosine=intra_cosine,
                         parent_cosine=parent_cosine, amplitude_mean=amplitude_mean,
                         amplitude_std=amplitude_std, noise_level=noise_level, rotate=rotate,
                         return_groups=return_groups, random_state=random_state),
                    _HIER_CONSTRAINTS, "make_hierarchical_features")
    dt = _check_dtype(dtype, "make_hierarchical_features")
    rng = _rng(random_state)
    if rotate:
        Q, R = np.linalg.qr(rng.standard_normal((n_features, 20)))
        Q = (Q * np.sign(np.diag(R))).T  # (20, n_features), Haar
    else:
        Q = np.eye(20, n_features)
    pc = intra_cosine if parent_cosine is None else parent_cosine
    D = np.zeros((20, n_features))
    roots = list(_PARENTS) + list(_SINGLETONS)
    D[roots] = _mixed_group(Q[roots], pc)
    for triple in _CHILDREN:
        D[list(triple)] = _mixed_group(Q[list(triple)], intra_cosine)
    # exactly one root-level feature per signal
    root_p = np.array([0.2] * len(_PARENTS) + [0.05] * len(_SINGLETONS))
    root = rng.choice(len(roots), size=n_samples, p=root_p)
    codes = np.zeros((n_samples, 20))
    rows = np.arange(n_samples)
    amp = amplitude_mean + amplitude_std * rng.standard_normal((n_samples, 2))
    codes[rows, np.asarray(roots)[root]] = amp[:, 0]
    # an active parent switches on child 0, 1, 2 (0.2 each) or none (0.4)
    child_choice = rng.choice(4, size=n_samples, p=[0.2, 0.2, 0.2, 0.4])
    children = np.asarray(_CHILDREN)
    has_child = (root < len(_PARENTS)) & (child_choice < 3)
    ci = children[root[has_child], child_choice[has_child]]
    codes[rows[has_child], ci] = amp[has_child, 1]
    X = codes @ D
    if noise_level > 0:
        X += noise_level * rng.standard_normal(X.shape)
    out = (X.astype(dt), D.astype(dt), codes.astype(dt))
    if return_groups:
        groups = {"parents": list(_PARENTS), "children": [list(t) for t in _CHILDREN],
                  "singletons": list(_SINGLETONS)}
        return out + (groups,)
    return out
