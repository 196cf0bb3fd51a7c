"""Synthetic sparse-coding and compressed-sensing problems (spec Section 0.3).

``make_sparse_coded_signal`` draws signals from a random dictionary with unit
atoms and exactly ``k`` active atoms per signal (scikit-learn's layout);
``make_compressed_sensing`` draws ``y = A x + e`` for the matrix ensembles
used by the acceptance tests of every family: Gaussian, Bernoulli, partial
DCT/DFT (matrix-free), column-correlated (AR(1)/Toeplitz), ill-conditioned
(prescribed condition number), low-rank products and non-zero-mean entries,
with Gaussian / Rademacher / uniform / Bernoulli-Gaussian amplitudes and
SNR-based or fixed-norm noise.
"""

import numbers

import numpy as np
from sklearn.utils import Bunch

from .._validation import Interval, Options, validate_params
from ..operators import PartialDCT, PartialFFT

__all__ = ["make_sparse_coded_signal", "make_compressed_sensing"]

_MATRICES = ("gaussian", "bernoulli", "partial_dct", "partial_fft", "toeplitz",
             "ill_conditioned", "low_rank", "nonzero_mean")
_AMPLITUDES = ("gaussian", "rademacher", "uniform", "bernoulli_gaussian")


def _rng(random_state):
    """A :class:`numpy.random.Generator` from an int, Generator, RandomState or None."""
    if isinstance(random_state, np.random.RandomState):
        # Draw the seed from the legacy generator so that passing the same
        # RandomState twice gives different (but reproducible) problems.
        return np.random.default_rng(random_state.randint(0, 2**31 - 1, size=4))
    return np.random.default_rng(random_state)


def _check_dtype(dtype, owner):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"The 'dtype' parameter of {owner} must be np.float32 or np.float64; got {dtype!r}."
        )
    return dt


def _normal(rng, shape, is_complex):
    """i.i.d. N(0, 1), or circular CN(0, 1) (unit variance) when complex."""
    if not is_complex:
        return rng.standard_normal(shape)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2.0)


def _amplitudes(rng, shape, amplitude, is_complex):
    """Values of the non-zero entries (spec 0.3)."""
    if amplitude in ("gaussian", "bernoulli_gaussian"):
        return _normal(rng, shape, is_complex)
    if amplitude == "rademacher":
        if is_complex:
            return np.exp(2j * np.pi * rng.random(shape))
        return rng.choice(np.array([-1.0, 1.0]), size=shape)
    # "uniform": magnitudes uniform on [1, 2], random sign / phase
    mag = rng.uniform(1.0, 2.0, size=shape)
    if is_complex:
        return mag * np.exp(2j * np.pi * rng.random(shape))
    return mag * rng.choice(np.array([-1.0, 1.0]), size=shape)


def _haar(rng, n, r, is_complex):
    """``n x r`` matrix with orthonormal columns, Haar-distributed (QR with sign fix)."""
    Q, R = np.linalg.qr(_normal(rng, (n, r), is_complex))
    d = np.diagonal(R).copy()
    d[d == 0] = 1.0
    return Q * (d / np.abs(d))


def _frobenius_rescale(A, n_features):
    # ||A||_F^2 = N: columns of unit norm on average (spec 0.3).
    return A * np.sqrt(n_features / np.sum(np.abs(A) ** 2))


def _unit_columns(A):
    norms = np.linalg.norm(A, axis=0)
    norms[norms == 0] = 1.0
    return A / norms


def _dense_matrix(rng, kind, m, N, *, rho, kappa, rank, mean, normalize, is_complex):
    if kind == "gaussian":
        A = _normal(rng, (m, N), is_complex)
        return _unit_columns(A) if normalize else A / np.sqrt(m)
    if kind == "bernoulli":
        signs = rng.choice(np.array([-1.0, 1.0]), size=(m, N))
        if is_complex:
            signs = (signs + 1j * rng.choice(np.array([-1.0, 1.0]), size=(m, N))) / np.sqrt(2.0)
        return signs / np.sqrt(m)  # unit-norm columns in both cases
    if kind == "toeplitz":
        # Each row is a stationary AR(1) sequence over the column index:
        # a_{i,j+1} = rho a_{i,j} + sqrt(1 - rho^2) xi_{i,j}, so that
        # E[a_{ij} conj(a_{il})] = rho^{|j-l|} (Toeplitz column covariance).
        from scipy.signal import lfilter  # deferred: scipy.signal is slow to import

        xi = _normal(rng, (m, N), is_complex)
        A = np.empty_like(xi)
        A[:, 0] = xi[:, 0]
        if N > 1:
            zi = (rho * xi[:, 0])[:, None]
            A[:, 1:], _ = lfilter([np.sqrt(1.0 - rho**2)], [1.0, -rho], xi[:, 1:],
                                  axis=1, zi=zi)
        A = _frobenius_rescale(A, N)
    elif kind == "ill_conditioned":
        # A = U diag(sigma) V^H, U, V Haar, sigma geometric from 1 to 1/kappa.
        r = min(m, N)
        U = _haar(rng, m, r, is_complex)
        V = _haar(rng, N, r, is_complex)
        sigma = np.geomspace(1.0, 1.0 / kappa, r)
        A = _frobenius_rescale((U * sigma) @ V.conj().T, N)
    elif kind == "low_rank":
        B = _normal(rng, (m, rank), is_complex)
        C = _normal(rng, (rank, N), is_complex)
        A = _frobenius_rescale((B @ C) / N, N)
    else:  # nonzero_mean: entries i.i.d. N(mean, 1/m)
        A = mean + _normal(rng, (m, N), is_complex) / np.sqrt(m)
    return _unit_columns(A) if normalize else A


def make_compressed_sensing(n_measurements, n_features, n_nonzero_coefs, *,
                            matrix="gaussian", rho=0.6, kappa=100.0, rank=None, mean=0.5,
                            amplitude="gaussian", snr=None, noise_norm=None, n_targets=1,
                            shared_support=True, complex=False, normalize=True,
                            dtype=np.float64, random_state=None):
    """Generate a compressed-sensing problem ``y = A x + e`` with sparse ``x``.

    The matrix ensembles, signal amplitudes and noise models are those of the
    design specification (Section 0.3), used by the acceptance tests of all
    families.

    Parameters
    ----------
    n_measurements : int
        Number of rows ``m`` of ``A`` (length of ``y``).
    n_features : int
        Number of columns ``N`` of ``A`` (length of ``x``).
    n_nonzero_coefs : int
        Sparsity ``k`` of ``x`` (per target), at most ``n_features``.  For
        ``amplitude="bernoulli_gaussian"`` it is the *expected* number of
        non-zeros (each entry is active with probability ``k / N``).
    matrix : {"gaussian", "bernoulli", "partial_dct", "partial_fft", \
"toeplitz", "ill_conditioned", "low_rank", "nonzero_mean"}, default="gaussian"
        The ensemble of ``A``:

        - ``"gaussian"``: i.i.d. N(0, 1) entries (CN(0, 1) if complex).
        - ``"bernoulli"``: i.i.d. ±1 entries divided by ``sqrt(m)``
          (``(±1 ± i) / sqrt(2m)`` if complex); columns have unit norm.
        - ``"partial_dct"``: ``m`` distinct rows, drawn at random, of the
          orthonormal DCT-II, returned as a matrix-free :class:`PartialDCT`
          (``m <= N``).
        - ``"partial_fft"``: the same with the unitary DFT
          (:class:`PartialFFT`); needs ``complex=True``.
        - ``"toeplitz"``: each row a stationary AR(1) sequence with
          correlation ``rho`` over the column index (column covariance
          ``rho^{|j-l|}``), rescaled to ``||A||_F^2 = N``.
        - ``"ill_conditioned"``: ``U diag(sigma) V^H`` with Haar ``U``, ``V``
          and ``sigma`` geometric from 1 to ``1/kappa``, rescaled to
          ``||A||_F^2 = N``; ``cond(A) = kappa`` when ``normalize=False``.
        - ``"low_rank"``: ``B C / N`` with Gaussian ``B`` (m x rank), ``C``
          (rank x N), rescaled to ``||A||_F^2 = N``.
        - ``"nonzero_mean"``: i.i.d. N(mean, 1/m) entries.

    rho : float, default=0.6
        AR(1) correlation for ``matrix="toeplitz"``, in (-1, 1).
    kappa : float, default=100.0
        Condition number for ``matrix="ill_conditioned"``, >= 1.
    rank : int, default=None
        Rank for ``matrix="low_rank"``; ``None`` means ``max(1, min(m, N) // 2)``.
    mean : float, default=0.5
        Mean of the entries for ``matrix="nonzero_mean"``.
    amplitude : {"gaussian", "rademacher", "uniform", "bernoulli_gaussian"}, \
default="gaussian"
        Distribution of the non-zero entries of ``x``: N(0, 1) (CN(0, 1) if
        complex); ±1 (unit modulus with uniform phase if complex); magnitude
        uniform on [1, 2] with random sign/phase (bounded away from zero);
        Bernoulli-Gaussian (random support size, N(0, 1) values).
    snr : float, default=None
        Signal-to-noise ratio in dB: Gaussian noise of variance
        ``sigma^2 = ||A x||^2 / (m 10^{snr/10})`` per target (spec 0.3).
        Any finite value, negative included.
    noise_norm : float, default=None
        Fixed-norm noise: ``e = noise_norm * xi / ||xi||`` with Gaussian
        ``xi``, so ``||e||_2 = noise_norm`` exactly (per target).  At most
        one of ``snr`` and ``noise_norm`` may be given; with neither the
        problem is noiseless.
    n_targets : int, default=1
        Number of right-hand sides (columns of ``x`` and ``y``).
    shared_support : bool, default=True
        With ``n_targets > 1``: whether all targets share one support (the
        multiple-measurement-vector model) or each has its own.
    complex : bool, default=False
        Complex ``A`` (except for ``partial_dct``, which is real), ``x`` and
        noise (circular Gaussian).
    normalize : bool, default=True
        Divide each column of a dense ``A`` by its norm (unit-norm atoms).
        With ``False`` the raw scaling of each ensemble is kept
        (``"gaussian"``: divided by ``sqrt(m)``; Frobenius-rescaled kinds:
        ``||A||_F^2 = N``; ``"nonzero_mean"``: as drawn).  For
        ``"partial_dct"``/``"partial_fft"``, ``True`` sets
        ``scale = sqrt(N / m)`` (columns of unit norm on average, exactly for
        the DFT) and ``False`` keeps orthonormal rows (``scale = 1``).
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the outputs (``complex64``/``complex128`` when
        ``complex=True``).
    random_state : int, Generator, RandomState or None, default=None
        Seed; with a fixed int the problem is reproducible.

    Returns
    -------
    data : sklearn.utils.Bunch
        With keys:

        - ``A`` : ndarray of shape (m, N), or a ``PartialDCT``/``PartialFFT``
          operator for the partial transforms.
        - ``x`` : ndarray of shape (N,) or (N, n_targets).
        - ``y`` : ndarray of shape (m,) or (m, n_targets), ``A x + noise``.
        - ``support`` : sorted int ndarray of the non-zero rows of ``x``
          (shared support), or a list of such arrays, one per target.
        - ``noise`` : ndarray shaped like ``y``.
        - ``noise_std`` : float (or ndarray of shape (n_targets,)), the
          per-entry noise standard deviation (``noise_norm / sqrt(m)`` for
          fixed-norm noise, 0 when noiseless).

    Raises
    ------
    ValueError
        Naming the argument: unknown ``matrix`` or ``amplitude``,
        ``n_nonzero_coefs > n_features``, non-finite ``snr``, both ``snr``
        and ``noise_norm``, ``partial_*`` with ``m > N``, ``partial_fft``
        without ``complex=True``, ``rank`` out of range.

    See Also
    --------
    make_sparse_coded_signal : Signals from a random dictionary (coding layout).
    PartialDCT : The matrix-free operator returned for ``matrix="partial_dct"``.
    nmse : Error measure for the recovered ``x``.
    support_recovery : Support precision/recall of the recovered ``x``.

    Notes
    -----
    The model is ``y = A x + e``, ``A`` of shape ``(m, N)``.  Draw order (for
    reproducibility): the matrix, the support(s) (uniform without
    replacement), the amplitudes, the noise.  For the ill-conditioned kind,
    ``U`` and ``V`` are Haar distributed (QR of Gaussian matrices with the
    signs of ``diag(R)`` absorbed), ``sigma_i = kappa^{-(i-1)/(r-1)}``,
    ``r = min(m, N)``; column normalisation (``normalize=True``) changes the
    condition number slightly (typically by less than 15 %).  The SNR noise
    level ``sigma^2 = ||A x||^2 / (m 10^{snr/10})`` makes the expected SNR
    ``E||A x||^2 / E||e||^2`` equal to ``snr`` dB.

    References
    ----------
    .. [1] D. L. Donoho and J. Tanner, "Observed universality of phase
       transitions in high-dimensional geometry", Phil. Trans. R. Soc. A 367,
       2009.
    .. [2] M. Al-Shoukairi, P. Schniter and B. D. Rao, "A GAMP-based low
       complexity sparse Bayesian learning algorithm", IEEE Trans. Signal
       Process. 66(2), 2018 (the matrix "difficulty" families).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.datasets import make_compressed_sensing
    >>> data = make_compressed_sensing(50, 200, 5, snr=30.0, random_state=0)
    >>> data.A.shape, data.x.shape, data.y.shape
    ((50, 200), (200,), (50,))
    >>> int(np.count_nonzero(data.x)), data.support.shape
    (5, (5,))
    >>> np.allclose(np.linalg.norm(data.A, axis=0), 1.0)
    True
    >>> np.allclose(data.y, data.A @ data.x + data.noise)
    True
    >>> dct = make_compressed_sensing(256, 1024, 10, matrix="partial_dct", random_state=0)
    >>> type(dct.A).__name__, dct.A.shape
    ('PartialDCT', (256, 1024))
    """
    owner = "make_compressed_sensing"
    params = dict(n_measurements=n_measurements, n_features=n_features,
                  n_nonzero_coefs=n_nonzero_coefs, matrix=matrix, rho=rho, kappa=kappa,
                  rank=rank, mean=mean, amplitude=amplitude, snr=snr, noise_norm=noise_norm,
                  n_targets=n_targets, shared_support=shared_support, complex=complex,
                  normalize=normalize, random_state=random_state)
    validate_params(params, {
        "n_measurements": [Interval(numbers.Integral, 1, None)],
        "n_features": [Interval(numbers.Integral, 1, None)],
        "n_nonzero_coefs": [Interval(numbers.Integral, 1, None)],
        "matrix": [Options(*_MATRICES)],
        "rho": [Interval(numbers.Real, -1, 1, closed="neither")],
        "kappa": [Interval(numbers.Real, 1, None, closed="left")],
        "rank": [None, Interval(numbers.Integral, 1, None)],
        "mean": [Interval(numbers.Real, None, None)],
        "amplitude": [Options(*_AMPLITUDES)],
        "snr": [None, Interval(numbers.Real, None, None)],
        "noise_norm": [None, Interval(numbers.Real, 0, None)],
        "n_targets": [Interval(numbers.Integral, 1, None)],
        "shared_support": ["boolean"],
        "complex": ["boolean"],
        "normalize": ["boolean"],
        "random_state": ["random_state"],
    }, owner)
    dt = _check_dtype(dtype, owner)
    m, N, k, T = int(n_measurements), int(n_features), int(n_nonzero_coefs), int(n_targets)
    if k > N:
        raise ValueError(
            f"The 'n_nonzero_coefs' parameter of {owner} ({k}) must not exceed "
            f"n_features ({N})."
        )
    if snr is not None and noise_norm is not None:
        raise ValueError(f"Give at most one of 'snr' and 'noise_norm' to {owner}; got both.")
    if matrix in ("partial_dct", "partial_fft") and m > N:
        raise ValueError(
            f"The 'n_measurements' parameter of {owner} ({m}) must not exceed n_features "
            f"({N}) for matrix={matrix!r} (rows of an N x N transform)."
        )
    if matrix == "partial_fft" and not complex:
        raise ValueError(
            f"matrix='partial_fft' is complex; set the 'complex' parameter of {owner} to True "
            f"(or use matrix='partial_dct' for real data)."
        )
    if rank is None:
        rank = max(1, min(m, N) // 2)
    elif matrix == "low_rank" and rank > min(m, N):
        raise ValueError(
            f"The 'rank' parameter of {owner} ({rank}) must not exceed "
            f"min(n_measurements, n_features) = {min(m, N)}."
        )
    is_complex = bool(complex)
    out_dt = np.dtype(np.complex64 if dt == np.float32 else np.complex128) if is_complex else dt
    rng = _rng(random_state)

    # 1. the matrix
    if matrix == "partial_dct":
        A = PartialDCT(N, m, scale=np.sqrt(N / m) if normalize else 1.0, dtype=dt,
                       random_state=rng)
    elif matrix == "partial_fft":
        A = PartialFFT(N, m, scale=np.sqrt(N / m) if normalize else 1.0, dtype=out_dt,
                       random_state=rng)
    else:
        A = _dense_matrix(rng, matrix, m, N, rho=float(rho), kappa=float(kappa),
                          rank=int(rank), mean=float(mean), normalize=normalize,
                          is_complex=is_complex).astype(out_dt, copy=False)

    # 2. supports, 3. amplitudes
    n_groups = 1 if shared_support else T
    masks = np.zeros((N, n_groups), dtype=bool)
    for g in range(n_groups):  # k-subset draws; n_groups is small (targets)
        if amplitude == "bernoulli_gaussian":
            masks[:, g] = rng.random(N) < k / N
        else:
            masks[rng.choice(N, size=k, replace=False), g] = True
    mask = np.broadcast_to(masks, (N, T)) if shared_support else masks
    X = np.zeros((N, T), dtype=out_dt)
    vals = _amplitudes(rng, (int(mask.sum()),), amplitude, is_complex)
    X[mask] = vals
    support = [np.flatnonzero(masks[:, g]) for g in range(n_groups)]
    support = support[0] if shared_support else support

    # 4. noise
    Y_clean = np.asarray(A @ X).reshape(m, T).astype(out_dt, copy=False)
    if snr is not None:
        power = np.sum(np.abs(Y_clean.astype(np.result_type(out_dt, np.float64))) ** 2, axis=0)
        std = np.sqrt(power / (m * 10.0 ** (float(snr) / 10.0)))
        E = _normal(rng, (m, T), is_complex) * std
    elif noise_norm is not None:
        xi = _normal(rng, (m, T), is_complex)
        E = float(noise_norm) * xi / np.linalg.norm(xi, axis=0)
        std = np.full(T, float(noise_norm) / np.sqrt(m))
    else:
        E = np.zeros((m, T))
        std = np.zeros(T)
    E = E.astype(out_dt, copy=False)
    Y = Y_clean + E

    if T == 1:
        X, Y, E, std = X[:, 0], Y[:, 0], E[:, 0], float(std[0])
    return Bunch(A=A, x=X, y=Y, support=support, noise=E, noise_std=std)


def make_sparse_coded_signal(n_samples, *, n_components, n_features, n_nonzero_coefs,
                             noise_level=0.0, amplitude="gaussian", dtype=np.float64,
                             random_state=None):
    r"""Generate signals as sparse combinations of random unit-norm atoms.

    Returns ``X = code @ dictionary + noise`` in scikit-learn's layout (the
    same as :func:`sklearn.datasets.make_sparse_coded_signal`): signals and
    atoms are rows.

    Parameters
    ----------
    n_samples : int
        Number of signals.
    n_components : int
        Number of atoms in the dictionary.
    n_features : int
        Dimension of each signal and atom.
    n_nonzero_coefs : int
        Exact number of active atoms per signal, in ``[1, n_components]``.
    noise_level : float, default=0.0
        Standard deviation of the i.i.d. Gaussian noise added to ``X``.
    amplitude : {"gaussian", "rademacher", "uniform"}, default="gaussian"
        Distribution of the non-zero codes: N(0, 1); ±1; magnitude uniform
        on [1, 2] with a random sign.
    dtype : {np.float64, np.float32}, default=np.float64
        Precision of the outputs.
    random_state : int, Generator, RandomState or None, default=None
        Seed; with a fixed int the output is reproducible.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        The signals ``code @ dictionary + noise``.
    dictionary : ndarray of shape (n_components, n_features)
        Gaussian atoms normalised to unit Euclidean norm (rows).
    code : ndarray of shape (n_samples, n_components)
        Sparse codes, exactly ``n_nonzero_coefs`` non-zeros per row, on a
        support drawn uniformly without replacement.

    Raises
    ------
    ValueError
        Naming the argument, for non-positive sizes,
        ``n_nonzero_coefs > n_components``, negative or non-finite
        ``noise_level``, unknown ``amplitude`` or ``dtype``.

    See Also
    --------
    make_compressed_sensing : Single-signal recovery problems ``y = A x + e``.
    sparse_encode : Recovers ``code`` from ``X`` and ``dictionary``.

    Notes
    -----
    Each row ``x_i`` of ``X`` is ``x_i = sum_{j in S_i} c_{ij} d_j + e_i``
    with ``|S_i| = n_nonzero_coefs``, ``||d_j||_2 = 1`` and
    ``e_i ~ N(0, noise_level^2 I)``.  Supports are drawn for all signals at
    once (the ``k`` smallest of i.i.d. uniform keys per row), so generation
    is vectorised.

    References
    ----------
    .. [1] M. Aharon, M. Elad and A. Bruckstein, "K-SVD: An algorithm for
       designing overcomplete dictionaries for sparse representation", IEEE
       Trans. Signal Process. 54(11), 2006 (the synthetic experiment).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.datasets import make_sparse_coded_signal
    >>> X, D, code = make_sparse_coded_signal(
    ...     100, n_components=30, n_features=20, n_nonzero_coefs=3, random_state=0)
    >>> X.shape, D.shape, code.shape
    ((100, 20), (30, 20), (100, 30))
    >>> np.allclose(np.linalg.norm(D, axis=1), 1.0)
    True
    >>> np.count_nonzero(code, axis=1).tolist() == [3] * 100
    True
    >>> np.allclose(X, code @ D)
    True
    """
    owner = "make_sparse_coded_signal"
    validate_params(dict(n_samples=n_samples, n_components=n_components,
                         n_features=n_features, n_nonzero_coefs=n_nonzero_coefs,
                         noise_level=noise_level, amplitude=amplitude,
                         random_state=random_state), {
        "n_samples": [Interval(numbers.Integral, 1, None)],
        "n_components": [Interval(numbers.Integral, 1, None)],
        "n_features": [Interval(numbers.Integral, 1, None)],
        "n_nonzero_coefs": [Interval(numbers.Integral, 1, None)],
        "noise_level": [Interval(numbers.Real, 0, None)],
        "amplitude": [Options("gaussian", "rademacher", "uniform")],
        "random_state": ["random_state"],
    }, owner)
    dt = _check_dtype(dtype, owner)
    if n_nonzero_coefs > n_components:
        raise ValueError(
            f"The 'n_nonzero_coefs' parameter of {owner} ({n_nonzero_coefs}) must not exceed "
            f"n_components ({n_components})."
        )
    rng = _rng(random_state)
    D = rng.standard_normal((n_components, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    # k-subsets for all rows at once: the indices of the k smallest keys.
    keys = rng.random((n_samples, n_components))
    idx = np.argpartition(keys, n_nonzero_coefs - 1, axis=1)[:, :n_nonzero_coefs]
    code = np.zeros((n_samples, n_components))
    np.put_along_axis(code, idx, _amplitudes(rng, idx.shape, amplitude, False), axis=1)
    X = code @ D
    if noise_level > 0:
        X += noise_level * rng.standard_normal(X.shape)
    return X.astype(dt, copy=False), D.astype(dt, copy=False), code.astype(dt, copy=False)
