"""Online dictionary learning (Mairal, Bach, Ponce & Sapiro, ICML 2009; JMLR 11, 2010).

Mini-batches are coded (Batch-OMP by default, the LARS homotopy for
``fit_algorithm="lasso"``, or any registered encoder),
the sufficient statistics ``A = sum x x^T`` and ``B = sum x y^T`` are
accumulated with scikit-learn's forgetting rule, and the dictionary is
refined by one pass of block-coordinate descent warm-started at the current
atoms.  Memory is O(K^2 + nK), independent of the number of signals; dask
arrays are consumed chunk by chunk.
"""

import numbers

import numpy as np

from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, check_matrix
from ._common import (
    _COMMON_CONSTRAINTS,
    _BaseDictionaryLearner,
    _encoder_kwargs,
    _is_dask,
    _normalize_rows,
    _omp_codes,
    _pow2_exponent,
    _rng,
    _validate_X_mask,
    _warn_budget,
)

__all__ = ["OnlineDictionaryLearning"]


class OnlineDictionaryLearning(_BaseDictionaryLearner):
    r"""Online (mini-batch) dictionary learning with sufficient statistics.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms (``n_features`` when None), fixed atoms included.
    n_nonzero_coefs : int, default=None
        Atoms per signal when coding mini-batches with ``fit_algorithm``
        (10% of ``n_features`` when None).
    alpha : float, default=None
        Penalty passed to penalised encoders; when given, ``n_nonzero_coefs``
        is not passed to encoders that take ``alpha``.  With
        ``fit_algorithm="lasso"`` each mini-batch is coded by the LARS
        homotopy on the Gram matrix: exact minimisers of
        ``1/2 ||x - D^T c||^2 + alpha ||c||_1`` (the l1 learner of Mairal et
        al.).
    fit_algorithm : str, default="omp"
        Encoder of :func:`sparse_encode` used on each mini-batch.
    batch_size : int, default=256
        Signals per mini-batch.
    max_iter : int, default=20
        Passes (epochs) over the data in ``fit``.
    tol : float, default=1e-3
        Early stop when ``||D_new - D_old||_F / n_components <= tol`` after a
        mini-batch (scikit-learn's rule); 0 disables it.
    max_no_improvement : int or None, default=10
        Early stop after this many mini-batches without improvement of the
        smoothed mini-batch cost; None disables it.
    shuffle : bool, default=True
        Shuffle the signals at each epoch (numpy input), or the order of the
        chunks and the signals inside each chunk (dask input).
    init : {"data", "random", "odct"} or ndarray, default="data"
        Initial free atoms (see :class:`KSVD`).
    fixed_atoms : array-like of shape (n_fixed_atoms, n_features), default=None
        Atoms held fixed; the first rows of ``components_``.
    transform_algorithm : str, default="omp"
        Encoder of ``transform``.
    transform_n_nonzero_coefs : int, default=None
        Sparsity of ``transform`` (``n_nonzero_coefs_`` when None).
    transform_alpha : float, default=None
        Penalty of penalised encoders in ``transform``.
    transform_params : dict, default=None
        Further parameters of the encoder in ``transform``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial atoms, the shuffling and dead-atom resampling.
    n_jobs : int, default=None
        Threads of the coding kernels.
    verbose : int or bool, default=0
        Print progress after each epoch (and each chunk of a dask array).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The dictionary, unit-norm rows.
    A_ : ndarray of shape (n_components, n_components)
        Sufficient statistic ``sum beta_t x x^T`` (codes of the stored atoms'
        scale); of shape (n_features, n_components, n_components), one per
        feature, when trained with a mask.
    B_ : ndarray of shape (n_components, n_features)
        Sufficient statistic ``sum beta_t x y^T``.
    scale_exponent_ : int
        With OMP coding (``fit_algorithm="omp"``, ``alpha=None``), which is
        scale-equivariant, the signals are divided by ``2**scale_exponent_``
        (exact; the peak of the training data, or of the first
        ``partial_fit`` chunk, is brought to [0.5, 1)) so that nothing over-
        or underflows from 1e-150 to 1e200; ``A_`` and ``B_`` hold the
        statistics of the scaled signals.  0 for penalised coding, whose
        ``alpha`` is not scale-free.
    n_components_ : int
        Number of atoms.
    n_nonzero_coefs_ : int
        Sparsity used while learning.
    n_iter_ : int
        Epochs run (a started epoch counts).
    n_steps_ : int
        Mini-batches processed, over all ``fit``/``partial_fit`` calls.
    error_ : ndarray of shape (n_steps_,)
        Relative error ``||Y_b - X_b D||_F / ||Y_b||_F`` of each mini-batch
        with the dictionary before its update.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    KSVD : batch learning with Batch-OMP.
    MOD : batch learning with a least-squares dictionary.

    Notes
    -----
    Mairal et al. minimise :math:`\mathbb{E}_y[\tfrac12\|y - D^T x(y)\|^2]` over
    :math:`\{D: \|d_j\| \le 1\}`.  After coding mini-batch :math:`t`
    (:math:`\eta` signals, rows :math:`Y_t` and codes :math:`X_t`):

    .. math::
        A \leftarrow \beta_t A + X_t^T X_t/\eta,\qquad
        B \leftarrow \beta_t B + X_t^T Y_t/\eta,

    with scikit-learn's forgetting factor :math:`\beta_t = (\theta + 1 -
    \eta)/(\theta + 1)`, :math:`\theta = (t+1)\eta` for :math:`t < \eta - 1`
    and :math:`\eta^2 + t + 1 - \eta` after.  Then for every free atom
    :math:`u = d_j + (b_j - A_j D)/A_{jj}`, :math:`d_j = u/\max(\|u\|, 1)`
    (Algorithm 2 of the JMLR paper, a Numba kernel).  Atoms with
    :math:`A_{jj} < 10^{-6}` are resampled from the mini-batch plus 1% noise.
    ``components_`` holds the atoms normalised to unit norm.

    With missing entries (``mask``), a mini-batch is coded by masked OMP and
    each feature :math:`r` keeps its own :math:`A_r = \sum_i w_{ir} x_i x_i^T`;
    the update of atom :math:`j` is then the exact minimiser of the separable
    quadratic :math:`\sum_r \tfrac12 A_{r,jj} d_r^2 - g_r d_r` on the unit
    ball, :math:`d_r = g_r/(A_{r,jj} + \mu)` with the smallest
    :math:`\mu \ge 0` that satisfies the constraint (it reduces to the update
    above when nothing is missing).  Cost per
    mini-batch: coding :math:`O(\eta(nK + KT_0 + T_0^3))`, statistics
    :math:`O(\eta T_0 (T_0 + n))` with sparse codes, update :math:`O(nK^2)`.

    ``partial_fit`` processes its input in order in mini-batches of
    ``batch_size``: over chunks whose sizes are multiples of ``batch_size``
    it gives exactly ``fit(..., max_iter=1, shuffle=False)`` on their
    concatenation with the same ``init``.  A dask array given to ``fit`` is
    read one chunk at a time (rows left over at the end of a chunk start the
    next mini-batch), so with ``shuffle=False`` the result equals the numpy
    fit on the computed array.

    References
    ----------
    .. [1] J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online dictionary
       learning for sparse coding", ICML 2009.
    .. [2] J. Mairal, F. Bach, J. Ponce and G. Sapiro, "Online learning for
       matrix factorization and sparse coding", JMLR 11, 2010.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import OnlineDictionaryLearning
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((1000, 16))
    >>> est = OnlineDictionaryLearning(32, n_nonzero_coefs=3, batch_size=100,
    ...                                max_iter=2, random_state=0)
    >>> code = est.fit(X).transform(X)
    >>> code.shape, est.n_steps_ > 0
    ((1000, 32), True)
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "alpha": [Interval(numbers.Real, 0, None, closed="left"), None],
        "fit_algorithm": [str],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_no_improvement": [Interval(numbers.Integral, 0, None, closed="left"), None],
        "shuffle": ["boolean"],
    }

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, alpha=None,
                 fit_algorithm="omp", batch_size=256, max_iter=20, tol=1e-3,
                 max_no_improvement=10, shuffle=True, init="data", fixed_atoms=None,
                 transform_algorithm="omp", transform_n_nonzero_coefs=None,
                 transform_alpha=None, transform_params=None, random_state=None, n_jobs=None,
                 verbose=0):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.alpha = alpha
        self.fit_algorithm = fit_algorithm
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.shuffle = shuffle
        self.init = init
        self.fixed_atoms = fixed_atoms
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ------------------------------------------------------------------ setup
    def _check_params(self):
        super()._check_params()
        from ._common import _available

        if self.fit_algorithm not in _available():
            raise ValueError(
                f"fit_algorithm={self.fit_algorithm!r} is not a registered encoder; choose "
                f"one of {_available()}."
            )

    def _reset(self, X_init, n_features, rng, source=None, masked=False):
        """Sizes, initial dictionary and zero statistics."""
        self.n_components_, self.n_nonzero_coefs_ = self._resolve_sizes(0, n_features)
        self._D, self._free = self._start(X_init, rng, source)
        K = self.n_components_
        self._masked = masked
        if masked and (self.fit_algorithm != "omp" or self.alpha is not None):
            raise ValueError(
                "with a mask, mini-batches are coded by masked OMP: use fit_algorithm='omp' "
                "and alpha=None."
            )
        self.A_ = np.zeros((n_features, K, K)) if masked else np.zeros((K, K))
        self.B_ = np.zeros((K, n_features))
        self.n_steps_ = 0
        self._errors = []
        self._rng_state = rng
        self._ewa = None
        self._ewa_min = np.inf
        self._no_improve = 0

    def _dtype_in(self, dtype):
        self._dtype = np.dtype(dtype)

    def _equivariant(self):
        return self.fit_algorithm == "omp" and self.alpha is None

    # ------------------------------------------------------------------- core
    def _code(self, Xb):
        D = self._D
        if self.fit_algorithm == "omp" and self.alpha is None:
            return _omp_codes(Xb, D, self.n_nonzero_coefs_, self.n_jobs, gram=D @ D.T)
        if self.fit_algorithm == "lasso" and self.alpha is not None:
            # l1 coding: the LARS homotopy on the Gram matrix (exact at alpha,
            # no tolerance; the fastest coder for the small supports of
            # dictionary learning)
            from ..convex._lars import _lars_codes

            n_threads = effective_n_jobs(self.n_jobs)
            with blas_limited(n_threads):
                G = D @ D.T
            Xb = np.ascontiguousarray(Xb, dtype=D.dtype)
            return _lars_codes(Xb, D, G, float(self.alpha), False, min(D.shape), n_threads)
        from ._sparse_encode import sparse_encode

        kw = _encoder_kwargs(self.fit_algorithm, self.n_nonzero_coefs_, self.alpha, None)
        return np.asarray(sparse_encode(Xb, D, algorithm=self.fit_algorithm,
                                        n_jobs=self.n_jobs, **kw), dtype=np.float64)

    def _step(self, Xb, Wb=None):
        """One mini-batch: code, update the statistics, one BCD pass.  Returns
        whether the early-stopping rule is met.  ``Wb``: 0/1 mask (masked mode)."""
        from ._kernels import bcd_update, bcd_update_masked, online_stats, online_stats_masked

        rng = self._rng_state
        D = self._D
        eta = Xb.shape[0]
        Xb = np.ascontiguousarray(Xb)
        # scikit-learn's forgetting rule (MiniBatchDictionaryLearning._update_inner_stats)
        s = self.n_steps_
        theta = (s + 1) * eta if s < eta - 1 else eta**2 + s + 1 - eta
        beta = (theta + 1 - eta) / (theta + 1)
        if self._masked:
            Wb = np.ascontiguousarray(Wb, dtype=np.float64)
            codes = _omp_codes(Xb, D, self.n_nonzero_coefs_, self.n_jobs, mask=Wb > 0)
            ss = online_stats_masked(codes, Xb, Wb, D, self.A_, self.B_, beta, 1.0 / eta)
            den = float(np.einsum("ij,ij->", Wb * Xb, Xb))
            diag = np.einsum("rjj->j", self.A_) / self.A_.shape[0]
        else:
            codes = np.ascontiguousarray(self._code(Xb))
            ss = online_stats(codes, Xb, D, self.A_, self.B_, beta, 1.0 / eta)
            den = float(np.einsum("ij,ij->", Xb, Xb))
            diag = np.diag(self.A_)
        err = float(np.sqrt(ss / den)) if den > 0 else float(np.sqrt(ss))
        self._errors.append(err)
        # dead atoms: resample from the mini-batch (scikit-learn's _update_dict)
        dead = np.flatnonzero(self._free & (diag < 1e-6))
        for j in dead:
            x = Xb[rng.randint(eta)]
            noise = 0.01 * (x.std() or 1.0)
            new = x + noise * rng.standard_normal(x.shape)
            nrm = np.linalg.norm(new)
            D[j] = new / nrm if nrm > 0 else _normalize_rows(rng.standard_normal((1, D.shape[1])))[0]
        old = D.copy()
        if self._masked:
            bcd_update_masked(D, self.A_, self.B_, self._free, 1e-12)
        else:
            bcd_update(D, self.A_, self.B_, self._free, 1e-12)
        self.n_steps_ += 1
        # scikit-learn's stopping figures: dictionary change and smoothed cost
        cost = 0.5 * ss / eta
        a = min(eta / (self._n_total + 1), 1.0)
        self._ewa = cost if self._ewa is None else self._ewa * (1 - a) + cost * a
        if self._ewa < self._ewa_min:
            self._ewa_min = self._ewa
            self._no_improve = 0
        else:
            self._no_improve += 1
        change = np.linalg.norm(D - old) / D.shape[0]
        self._last_change = change
        small = self.tol > 0 and s > 0 and change <= self.tol
        stalled = (self.max_no_improvement is not None
                   and self._no_improve >= self.max_no_improvement)
        return small or stalled

    def _batches(self, blocks):
        """Yield mini-batches of ``batch_size`` rows from a stream of row blocks
        (arrays, or ``(X, W)`` pairs in masked mode)."""
        buf = None
        bs = self.batch_size
        for blk in blocks:
            if isinstance(blk, tuple):
                blk = np.hstack(blk)
            buf = blk if buf is None or buf.shape[0] == 0 else np.vstack([buf, blk])
            while buf.shape[0] >= bs:
                yield self._split(buf[:bs])
                buf = buf[bs:]
        if buf is not None and buf.shape[0]:
            yield self._split(buf)

    def _split(self, b):
        if self._masked:
            n = self.n_features_in_
            return b[:, :n], b[:, n:]
        return b, None

    def _finish(self):
        self.error_ = np.asarray(self._errors)
        self._set_components(self._D, self._dtype)

    # -------------------------------------------------------------------- API
    def fit(self, X, y=None, mask=None):
        """Learn the dictionary from the rows of ``X``, in mini-batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or dask array
            Training signals; a dask array is computed one chunk at a time.
        y : Ignored
            Not used, present for API consistency.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True; numpy input only).  Mini-batches are then
            coded by masked OMP and the statistics are kept per feature
            (``A_`` of shape (n_features, n_components, n_components)).

        Returns
        -------
        self : object
            The fitted learner.
        """
        self._check_params()
        rng = _rng(self.random_state)
        if _is_dask(X):
            if mask is not None:
                raise ValueError("mask is not supported with dask input.")
            blocks, N, n = self._dask_setup(X, rng)
        else:
            Xw, M, dtype = _validate_X_mask(self, X, mask, reset=True)
            self._dtype_in(dtype)
            self.scale_exponent_ = _pow2_exponent(Xw) if self._equivariant() else 0
            Xw = np.ldexp(Xw, -self.scale_exponent_)
            N, n = Xw.shape
            self._reset(Xw, n, rng, masked=M is not None)
            W = M.astype(np.float64) if M is not None else None
        self._n_total = N
        converged = False
        with blas_limited(effective_n_jobs(self.n_jobs)):
            for epoch in range(1, self.max_iter + 1):
                if _is_dask(X):
                    stream = blocks(rng)
                else:
                    order = rng.permutation(N) if self.shuffle else np.arange(N)
                    stream = [(Xw[order], W[order]) if W is not None else Xw[order]]
                for Xb, Wb in self._batches(stream):
                    if self._step(Xb, Wb):
                        converged = True
                        break
                if self.verbose:
                    print(f"[OnlineDictionaryLearning] epoch {epoch}: mini-batch error "
                          f"{self._errors[-1]:.6e}", flush=True)
                if converged:
                    break
        if not converged and self.tol > 0:
            _warn_budget(self, getattr(self, "_last_change", np.inf), self.tol,
                         what="the dictionary change per mini-batch")
        self.n_iter_ = epoch
        self._finish()
        return self

    def _dask_setup(self, X, rng):
        import dask.array as da

        if X.ndim != 2:
            raise ValueError(f"X must be 2-D; got a dask array of shape {X.shape}.")
        X = X.rechunk({1: -1})
        N, n = X.shape
        self.n_features_in_ = n
        self._dtype_in(np.float32 if X.dtype == np.float32 else np.float64)
        e = 0
        if self._equivariant():
            amax = float(abs(X).max().compute())
            if not np.isfinite(amax):
                raise ValueError("Input X contains NaN or infinity.")
            e = _pow2_exponent(np.array([amax]))
            if e:  # an exact power of two: the blocks, norms and rows all see X / 2**e
                X = X * np.ldexp(1.0, -e)
        self.scale_exponent_ = e
        source = None
        if isinstance(self.init, str) and self.init == "data":
            # the same draws as the in-memory path: the norms, then the chosen rows
            nrm = da.linalg.norm(X, axis=1).compute()

            def get_rows(idx):
                order = np.argsort(idx)
                rows = np.asarray(X[idx[order]].compute())
                out = np.empty_like(rows)
                out[order] = rows
                return out

            source = (nrm, get_rows, n)
        self._reset(None, n, rng, source)
        n_blocks = len(X.chunks[0])

        def blocks(rng):
            order = rng.permutation(n_blocks) if self.shuffle else range(n_blocks)
            for b in order:
                blk = check_matrix(X.blocks[int(b)].compute(), "X", min_samples=0)
                blk = np.asarray(blk, dtype=np.float64)
                if self.shuffle:
                    blk = blk[rng.permutation(blk.shape[0])]
                if self.verbose:
                    print(f"[OnlineDictionaryLearning] chunk {b}: {blk.shape[0]} signals",
                          flush=True)
                yield blk

        return blocks, N, n

    def partial_fit(self, X, y=None, mask=None):
        """Update the dictionary with the rows of ``X``, in order, in mini-batches.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            New signals (one chunk of a stream).
        y : Ignored
            Not used, present for API consistency.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True).  A learner started with a mask keeps
            per-feature statistics; later chunks without a mask count as
            fully observed.

        Returns
        -------
        self : object
            The updated learner.
        """
        first = not hasattr(self, "_D")
        if first:
            self._check_params()
        Xw, M, dtype = _validate_X_mask(self, X, mask, reset=first)
        if first:
            self._dtype_in(dtype)
            self.scale_exponent_ = _pow2_exponent(Xw) if self._equivariant() else 0
        Xw = np.ldexp(Xw, -self.scale_exponent_)
        if first:
            self._reset(Xw, Xw.shape[1], _rng(self.random_state), masked=M is not None)
        elif M is not None and not self._masked:
            raise ValueError(
                "mask given to partial_fit, but this learner was started without one "
                "(its statistics are not per feature); start a new learner with a mask."
            )
        W = None
        if self._masked:
            W = M.astype(np.float64) if M is not None else np.ones_like(Xw)
        self._n_total = max(getattr(self, "_n_seen", 0) + Xw.shape[0], 1)
        self._n_seen = self._n_total
        with blas_limited(effective_n_jobs(self.n_jobs)):
            for Xb, Wb in self._batches([(Xw, W)] if self._masked else [Xw]):
                self._step(Xb, Wb)
        self.n_iter_ = 1 if first else self.n_iter_
        self._finish()
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        return tags
