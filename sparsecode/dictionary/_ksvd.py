"""K-SVD and MOD: alternating sparse coding (Batch-OMP) and dictionary updates.

* K-SVD: M. Aharon, M. Elad, A. Bruckstein, "K-SVD: an algorithm for designing
  overcomplete dictionaries for sparse representation", IEEE TSP 54(11), 2006;
  approximate atom update and Batch-OMP from R. Rubinstein, M. Zibulevsky,
  M. Elad, Technion TR CS-2008-08, 2008 (KSVD-Box defaults).
* MOD: K. Engan, S. O. Aase, J. H. Husoy, "Method of optimal directions for
  frame design", ICASSP 1999.
* Missing data: the coding and the updates weight each entry by the mask of
  observed entries (J. Mairal, M. Elad, G. Sapiro, "Sparse representation for
  color image restoration", IEEE TIP 17(1), 2008).
"""

import numbers

import numpy as np
import scipy.sparse as sp

from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, Options
from ._common import (
    _COMMON_CONSTRAINTS,
    _BaseDictionaryLearner,
    _omp_codes,
    _pow2_exponent,
    _rel_error,
    _replace_atoms,
    _rng,
    _validate_X_mask,
    _warn_budget,
    _with_threads,
)

__all__ = ["KSVD", "MOD"]

_RIDGE = 1e-10
# subsample="auto": _AUTO_LEVELS halvings (the warm-up starts from N / 16
# signals), only when that first subset gives at least about _AUTO_USERS users
# per atom; smaller training sets run plain K-SVD
_AUTO_USERS = 20
_AUTO_LEVELS = 4


class _AlternatingLearner(_BaseDictionaryLearner):
    """Driver shared by K-SVD and MOD: code, update, clear, repeat."""

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "coding_tol": [Interval(numbers.Real, 0, None, closed="left"), None],
        "clear_dict": ["boolean"],
    }

    def fit(self, X, y=None, mask=None):
        """Learn the dictionary from the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals.
        y : Ignored
            Not used, present for API consistency.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True); the loss only counts those and
            unobserved entries of ``X`` may hold NaN.

        Returns
        -------
        self : object
            The fitted learner.
        """
        self._fit(X, mask)
        return self

    def fit_transform(self, X, y=None, mask=None):
        """Learn the dictionary and return the codes of the training signals.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals.
        y : Ignored
            Not used, present for API consistency.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True).

        Returns
        -------
        code : ndarray of shape (n_samples, n_components)
            Codes of ``X`` over the learned dictionary, by ``transform``.
        """
        self._fit(X, mask)
        return self.transform(X, mask=mask)

    def _fit(self, X, mask):
        self._check_params()
        # the row-code path runs its GEMMs inside the coding kernel's threads
        n_blas = 1 if mask is None and self._row_codes else effective_n_jobs(self.n_jobs)
        with blas_limited(n_blas):
            self._fit_loop(X, mask, return_codes=False)

    def _fit_loop(self, X, mask, return_codes=True):
        """The alternating loop; returns the codes of the returned model (data scale)."""
        Xw, M, dtype = _validate_X_mask(self, X, mask, reset=True)
        N, n = Xw.shape
        self.n_components_, self.n_nonzero_coefs_ = self._resolve_sizes(N, n)
        # K-SVD and MOD are scale-equivariant: learn on X scaled by an exact power
        # of two to unit peak, so that no squared norm over- or underflows
        # (1e-150 ... 1e200); the atoms are unit-norm and the codes scale back.
        e = _pow2_exponent(Xw)
        if e:
            Xw = np.ldexp(Xw, -e)
        rng = _rng(self.random_state)
        D, free = self._start(Xw, rng)
        tol2 = None if self.coding_tol is None else float(np.ldexp(self.coding_tol, -2 * e))
        sizes = self._warmup_sizes(N, M is None)
        perm = None
        if M is None and self._row_codes:
            if sizes[0] < N:
                # nested random subsets are prefixes of the shuffled signals
                perm = rng.permutation(N)
                Xw = Xw[perm]
            codes = _RowCodes(Xw, D.shape[0], self.n_nonzero_coefs_, tol2, self.n_jobs)
        else:
            codes = _DenseCodes(Xw, M, D.shape[0], self.n_nonzero_coefs_, tol2, self.n_jobs)
        f_prev = codes.initial_error()
        history, replaced = [], []
        converged = False
        decrease = np.inf
        n_rep = 0  # atoms replaced at the end of the previous iteration
        clearing, f_before_rep = self.clear_dict, f_prev
        for it in range(1, self.max_iter + 1):
            # -- sparse coding stage (Batch-OMP, or masked OMP); a signal keeps
            # its previous code when OMP (greedy) does worse: the objective can
            # then only go down from one iteration to the next
            size = sizes[min(it, len(sizes)) - 1]
            codes.code(D, size)
            # -- dictionary update stage
            counts = self._update(Xw, M, codes, D, free, size)
            # the error of the model (C, D) as it stands: the one returned if we stop here
            f = codes.rel_error()
            history.append(f)
            decrease = (f_prev - f) / f_prev if f_prev > 0 else 0.0
            f_prev = f
            if size == N and (f <= 1e-12 or (n_rep == 0 and decrease < self.tol)):
                converged = True
            if n_rep and f >= f_before_rep:
                clearing = False  # that replacement did not pay off: stop clearing
            replaced.append(n_rep)
            self._report(it, f, f" ({n_rep} atom(s) replaced before this iteration)"
                         if n_rep else "")
            if converged:
                break
            # -- dictionary clearing, for the next iteration only (never after the
            # last: the returned dictionary is the one error_[-1] describes)
            n_rep = 0
            f_before_rep = f
            if clearing and it < self.max_iter:
                n_rep = _replace_atoms(D, codes.C, codes.R, Xw, counts, free, rng,
                                       mask=codes.W if M is not None else None,
                                       use_thresh=self._use_thresh,
                                       n_nonzero_coefs=self.n_nonzero_coefs_,
                                       err=codes.row_errors(), xn2=codes.x2)
                if n_rep:
                    codes.replaced()
        if not converged:
            _warn_budget(self, decrease, self.tol,
                         extra=f"; {replaced[-1]} atom(s) were replaced before the last "
                         "iteration" if replaced[-1] else "")
        self.n_iter_ = it
        self.error_ = np.asarray(history)
        self.n_replaced_ = np.asarray(replaced, dtype=np.intp)
        self.reconstruction_err_ = history[-1]
        self._set_components(D, dtype)
        if not return_codes:
            return None
        C = codes.dense()
        if perm is not None:
            C[perm] = C.copy()
        return np.ldexp(C, e) if e else C

    def _warmup_sizes(self, N, unmasked):
        """Signals used by the first iterations (the last entry is N, used from then on)."""
        sub = getattr(self, "subsample", None)
        if sub is None or not (unmasked and self._row_codes):
            return [N]
        if sub == "auto":
            # the codes' sparsity is not known in advance with coding_tol
            n0 = -(-_AUTO_USERS * self.n_components_ // self.n_nonzero_coefs_)
            if self.coding_tol is not None or N >> _AUTO_LEVELS < n0:
                return [N]
            L = min(_AUTO_LEVELS, self.max_iter - 1)
        else:
            L = 0
            while L < self.max_iter - 1 and N >> (L + 1) >= int(sub):
                L += 1
        return [N >> (L - t) for t in range(L)] + [N]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class _DenseCodes:
    """Codes as a dense (N, K) matrix: the masked path and MOD."""

    def __init__(self, X, M, K, k, tol2, n_jobs):
        self.X, self.M, self.k, self.tol2, self.n_jobs = X, M, k, tol2, n_jobs
        self.W = M.astype(np.float64) if M is not None else np.zeros((1, 1))
        self.C = np.zeros((X.shape[0], K))
        self.R = X.copy()  # residual of the zero code (already masked)

    def code(self, D, size):
        from ._kernels import sparse_residual

        X, M = self.X, self.M
        Cn = _omp_codes(X, D, self.k, self.n_jobs, mask=M, tol2=self.tol2)
        Rn = np.empty_like(X)
        _with_threads(self.n_jobs, sparse_residual, Cn, X, D, Rn)
        if M is not None:
            Rn *= self.W
        worse = np.einsum("ij,ij->i", Rn, Rn) > np.einsum("ij,ij->i", self.R, self.R)
        if worse.any():
            Cn[worse] = self.C[worse]
            Rn[worse] = self.R[worse]
        self.C, self.R = Cn, Rn

    x2 = None

    def initial_error(self):
        return 1.0 if np.any(self.R) else 0.0  # R = X: the relative error of zero codes

    def rel_error(self):
        return _rel_error(self.R, self.X)

    def row_errors(self):
        return None

    def replaced(self):
        pass

    def dense(self):
        return self.C


class _RowCodes:
    """Codes stored by row as the Batch-OMP kernel writes them (no N x K array).

    Row i holds ``val[i, s]`` at atom ``idx[i, s]`` for ``s < nnz[i]``.  The
    coding stage calls the Batch-OMP kernel straight on the (power-of-two
    scaled) signals and the unit-norm atoms: correlations by a one-thread
    GEMM per block of signals, the pursuit on the Gram matrix.
    """

    W = None

    def __init__(self, X, K, k, tol2, n_jobs):
        X = np.ascontiguousarray(X)  # the kernel reads rows
        N = X.shape[0]
        self.X, self.K, self.k, self.tol2 = X, K, k, tol2
        self.n_jobs = n_jobs
        self.n_threads = min(effective_n_jobs(n_jobs), max(N // 64, 1))
        self.idx = np.zeros((N, k), dtype=np.intc)
        self.val = np.zeros((N, k))
        self.nnz = np.zeros(N, dtype=np.intc)
        self.R = X.copy()
        self.rn2 = np.einsum("ij,ij->i", X, X)
        # the second buffer starts equal to the first: rows not coded yet (zero
        # codes, R = X) are the same in both and are never written
        self._new = (np.zeros((N, k), dtype=np.intc), np.zeros((N, k)),
                     np.zeros(N, dtype=np.intc), X.copy(), self.rn2.copy())
        self._resid = np.empty(N)
        self._status = np.empty(N, dtype=np.intc)
        self._eps = np.full(N, 0.0 if tol2 is None else tol2)
        self.x2 = self.rn2.copy()  # squared norms of the signals
        self._x2 = float(self.rn2.sum())
        self.size = N

    @property
    def C(self):
        return (self.idx, self.val, self.nnz)

    def code(self, D, size):
        """Code the first ``size`` signals (the others keep their zero codes)."""
        from ..greedy._encoders import _corr_block
        from ..greedy._omp import _DEP_TOL, _kernels
        from ._kernels import codes_residual

        self.size = size
        X = self.X[:size]
        full = self._new
        idx, val, nnz, R, rn2 = (a[:size] for a in full)
        G = D @ D.T
        dinv = 1.0 / np.diag(G)
        DT = np.ascontiguousarray(D.T)
        # (the caller caps BLAS at one thread: the GEMMs run inside the kernel's
        # threads, on blocks of signals sized as sparse_encode sizes them)
        _kernels().batch_omp_encode(X, DT, G, dinv, self._eps[:size], self.k,
                                    self.tol2 is not None, _DEP_TOL, self.n_threads,
                                    _corr_block(DT.shape, size), idx, val, nnz,
                                    self._resid[:size], self._status[:size], np.zeros((1, 1)),
                                    False)
        _with_threads(self.n_jobs, codes_residual, idx, val, nnz, X, D, R, rn2)
        worse = rn2 > self.rn2[:size]
        if worse.any():
            idx[worse] = self.idx[:size][worse]
            val[worse] = self.val[:size][worse]
            nnz[worse] = self.nnz[:size][worse]
            R[worse] = self.R[:size][worse]
            rn2[worse] = self.rn2[:size][worse]
        self._new = (self.idx, self.val, self.nnz, self.R, self.rn2)
        self.idx, self.val, self.nnz, self.R, self.rn2 = full

    def initial_error(self):
        return 1.0 if self._x2 > 0 else 0.0

    def rel_error(self):
        # the sweep updated the rows of the coded signals in place: recompute
        # their norms (the others still hold |x_i|^2)
        self._row_norms()
        ss = float(self.rn2.sum())
        return float(np.sqrt(ss / self._x2)) if self._x2 > 0 else float(np.sqrt(ss))

    def _row_norms(self):
        R = self.R[:self.size]
        np.einsum("ij,ij->i", R, R, out=self.rn2[:self.size])

    def row_errors(self):
        if self.size == self.X.shape[0]:
            return self.rn2
        # during the warm-up only the signals coded so far are candidates for
        # replacing atoms (an uncoded signal's residual is the signal itself)
        err = self.rn2.copy()
        err[self.size:] = 0.0
        return err

    def replaced(self):
        self._row_norms()

    def dense(self):
        N = self.X.shape[0]
        C = np.zeros((N, self.K))
        keep = np.arange(self.k)[None, :] < self.nnz[:, None]
        C[np.repeat(np.arange(N), self.nnz), self.idx[keep]] = self.val[keep]
        return C


_DOC_COMMON = """
    n_components : int, default=None
        Number of atoms (``n_features`` when None), fixed atoms included.
    n_nonzero_coefs : int, default=None
        Atoms per signal in the sparse-coding stage (10% of ``n_features``
        when None).
    max_iter : int, default=10
        Outer iterations (coding + dictionary update).
    tol : float, default=1e-4
        Stop when the relative decrease of the relative error
        ``||X - code @ D||_F / ||X||_F`` over one iteration is below ``tol``
        (and no atom was replaced before it), or when the error is below
        1e-12.  A ``ConvergenceWarning`` with the figure reached is raised
        when ``max_iter`` comes first.
    init : {"data", "random", "odct"} or ndarray, default="data"
        Initial free atoms: distinct normalised training signals, Gaussian
        atoms, the overcomplete DCT (:func:`overcomplete_dct`), or an array
        of shape (n_components - n_fixed_atoms, n_features) without zero rows.
    fixed_atoms : array-like of shape (n_fixed_atoms, n_features), default=None
        Atoms held fixed (normalised); they are the first rows of
        ``components_`` and are never updated or replaced.
    coding_tol : float, default=None
        If given, the coding stage is error-constrained: OMP stops when the
        squared residual norm of a signal is at most ``coding_tol``
        (``n_nonzero_coefs`` is then a cap), as in K-SVD denoising.
    clear_dict : bool, default=True
        Between iterations, replace rarely used atoms (K-SVD: fewer than 4
        users, MOD: unused; the threshold is capped by the average usage
        ``n_samples * n_nonzero_coefs / n_components``, so that with fewer
        codes than atoms only unused atoms count) and one atom of every pair
        with ``|<d_i, d_j>| > 0.99`` by the worst-represented training
        signals.  A signal replaces an atom only when it has a residual and
        is not itself a near-duplicate of an atom; clearing stops for
        the rest of the fit as soon as a replacement did not lower the error
        (so it never thrashes).  Nothing is replaced after the last
        iteration, so the returned dictionary is the model
        ``reconstruction_err_`` describes.
    transform_algorithm : str, default="omp"
        Encoder of :func:`sparse_encode` used by ``transform``.
    transform_n_nonzero_coefs : int, default=None
        Sparsity of ``transform`` (``n_nonzero_coefs_`` when None and no
        ``transform_alpha``), passed when the encoder accepts it.
    transform_alpha : float, default=None
        Penalty of penalised encoders in ``transform``.
    transform_params : dict, default=None
        Further parameters of the encoder in ``transform``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial atoms and the atom replacements.
    n_jobs : int, default=None
        Threads of the coding kernels.
    verbose : int or bool, default=0
        Print the error after each iteration."""

_ATTR_COMMON = """
    components_ : ndarray of shape (n_components, n_features)
        The dictionary, unit-norm atoms as rows (dtype of the training data).
    n_components_ : int
        Number of atoms.
    n_nonzero_coefs_ : int
        Sparsity used while learning.
    n_iter_ : int
        Outer iterations run.
    error_ : ndarray of shape (n_iter_,)
        Relative error ``||W * (X - code @ D)||_F / ||W * X||_F`` of the
        model (codes and dictionary) at the end of each iteration, before any
        atom replacement (W: the mask, if any).
    n_replaced_ : ndarray of shape (n_iter_,)
        Atoms replaced before the coding stage of each iteration (between
        iterations; the first entry is 0).  The error can only rise in an
        iteration with ``n_replaced_ > 0``.
    reconstruction_err_ : float
        The last entry of ``error_``: the relative error of the returned
        ``components_`` with the codes found while learning.
    n_features_in_ : int
        Number of features seen in ``fit``."""


class KSVD(_AlternatingLearner):
    __doc__ = r"""Approximate K-SVD dictionary learning with Batch-OMP coding.

    Alternates sparse coding of every training signal with at most
    ``n_nonzero_coefs`` atoms (Batch-OMP) and a sweep over the atoms that
    refits each atom together with the coefficients that use it.

    Parameters
    ----------""" + _DOC_COMMON + r"""
    n_atom_iter : int, default=1
        Alternating rank-1 steps per atom: 1 is the approximate K-SVD of
        KSVD-Box; more steps tend to the exact K-SVD (leading singular pair).
    subsample : "auto", int or None, default="auto"
        Warm-up on nested random subsets of the training signals (without a
        mask): the first iterations code and update only the first
        ``N / 2**L``, ``N / 2**(L - 1)``, ..., ``N / 2`` signals of one random
        permutation, doubling each iteration, and every later iteration uses
        all ``N``.  ``"auto"``: ``L = 4`` (the warm-up starts from ``N / 16``
        signals) when ``N / 16`` signals give about 20 users per atom or more
        (``N >= 16 * ceil(20 * n_components / n_nonzero_coefs)``) and the
        coding is sparsity-constrained (``coding_tol=None``); otherwise no
        warm-up (plain K-SVD).  An int: ``L`` is the largest number of
        halvings that keeps the smallest subset at or above ``subsample``
        signals.  ``L`` is also kept below ``max_iter``, so the last
        iteration always uses every signal.  The warm-up iterations count in
        ``max_iter``, together cost less than one full iteration and start
        the full ones from a much better dictionary.
        Signals not yet used keep a zero code, so ``error_`` (the error on
        all signals) still never increases in an iteration without atom
        replacement, atoms are replaced only by signals already used, and no
        convergence test is made before all signals are in.  None: every
        iteration uses all signals (plain K-SVD).  On 20,000 8x8 image
        patches with 256 atoms and 5 non-zeros, 5 iterations with the
        warm-up reach a lower error than 5 iterations of plain K-SVD
        (0.4823 against 0.4834) in 42 % of the time.

    Attributes
    ----------""" + _ATTR_COMMON + r"""

    See Also
    --------
    MOD : the same coding stage with a least-squares dictionary update.
    OnlineDictionaryLearning : mini-batch learning for large or streamed data.
    SparseCoder : coding over a fixed dictionary.

    Notes
    -----
    K-SVD solves

    .. math::
        \min_{D, C} \|X - C D\|_F^2 \quad \text{s.t.}\quad \|c_i\|_0 \le T_0,
        \ \|d_k\|_2 = 1,

    with signals as rows of :math:`X` and atoms as rows of :math:`D`.  In the
    update of atom :math:`k` with users :math:`\omega = \{i: C_{ik} \ne 0\}`
    and :math:`E = X_\omega - C_\omega D + C_{\omega k} d_k^T` (the error
    without atom :math:`k`), one approximate step is
    :math:`d \leftarrow E^T g / \|E^T g\|`, :math:`g \leftarrow E d` with
    :math:`g = C_{\omega k}`: supports are kept, values refitted in place, and
    later atoms see the new residual.  Each step is a minimisation, and the
    coding stage keeps a signal's previous code when OMP does worse, so the
    recorded error never increases between iterations in which no atom is
    replaced.  With a mask :math:`W` the residual is :math:`W \odot (X - CD)`
    and the rank-1 steps are the weighted least-squares ones.

    Cost per iteration: :math:`O(N(nK + T_0 K + T_0^3) + nK^2)` for Batch-OMP
    and :math:`O(n N T_0)` for the atom sweep.  Without a mask the codes are
    kept as the Batch-OMP kernel writes them (:math:`T_0` atom indices and
    values per signal, no :math:`N \times K` array) and the sweep (a Numba
    kernel) reads only the residual rows of each atom's users, computing
    :math:`E^T g = R_\omega^T g + (g_{old} \cdot g)\, d_k` and
    :math:`E d = R_\omega d + g_{old} \langle d_k, d\rangle` without forming
    :math:`E`.  With ``subsample`` the first iterations see nested subsets of
    the signals (see the parameter), which together cost about one full
    iteration.

    References
    ----------
    .. [1] M. Aharon, M. Elad and A. Bruckstein, "K-SVD: An algorithm for
       designing overcomplete dictionaries for sparse representation", IEEE
       Trans. Signal Process. 54(11), 2006.
    .. [2] R. Rubinstein, M. Zibulevsky and M. Elad, "Efficient implementation
       of the K-SVD algorithm using batch orthogonal matching pursuit",
       Technion CS-2008-08, 2008.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import KSVD
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((12, 8)); D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> code = np.zeros((300, 12))
    >>> for i in range(300):
    ...     code[i, rng.choice(12, 2, replace=False)] = rng.uniform(1, 2, 2)
    >>> est = KSVD(n_components=12, n_nonzero_coefs=2, max_iter=30, random_state=0).fit(code @ D)
    >>> est.components_.shape
    (12, 8)
    >>> bool(est.error_[-1] < est.error_[0])
    True
    """

    _parameter_constraints = {
        **_AlternatingLearner._parameter_constraints,
        "n_atom_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "subsample": [Options("auto"), Interval(numbers.Integral, 1, None, closed="left"), None],
    }
    _use_thresh = 4
    _row_codes = True

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, max_iter=10, tol=1e-4,
                 init="data", fixed_atoms=None, coding_tol=None, clear_dict=True,
                 n_atom_iter=1, subsample="auto", transform_algorithm="omp",
                 transform_n_nonzero_coefs=None, transform_alpha=None, transform_params=None,
                 random_state=None, n_jobs=None, verbose=0):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.fixed_atoms = fixed_atoms
        self.coding_tol = coding_tol
        self.clear_dict = clear_dict
        self.n_atom_iter = n_atom_iter
        self.subsample = subsample
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _update(self, X, M, codes, D, free, size):
        from ._kernels import ksvd_sweep, ksvd_sweep_codes

        if isinstance(codes, _RowCodes):
            return ksvd_sweep_codes(codes.R[:size], codes.idx[:size], codes.val[:size],
                                    codes.nnz[:size], D, free, int(self.n_atom_iter))
        return ksvd_sweep(codes.R, codes.C, D, free, codes.W, M is not None,
                          int(self.n_atom_iter))


class MOD(_AlternatingLearner):
    __doc__ = r"""Method of Optimal Directions: Batch-OMP coding and a least-squares dictionary.

    Alternates sparse coding (Batch-OMP) with the global least-squares
    dictionary for the current codes, then renormalises the atoms.

    Parameters
    ----------""" + _DOC_COMMON + r"""

    Attributes
    ----------""" + _ATTR_COMMON + r"""

    See Also
    --------
    KSVD : atom-by-atom update that also refits the coefficients.
    OnlineDictionaryLearning : mini-batch learning for large or streamed data.

    Notes
    -----
    Dictionary stage (rows convention, :math:`X \approx C D`):

    .. math::
        D \leftarrow (C^T C + \epsilon I)^{-1} C^T X,\qquad
        d_k \leftarrow d_k/\|d_k\|,\quad c^k \leftarrow \|d_k\| c^k

    with :math:`\epsilon = 10^{-10}\,\mathrm{tr}(C^TC)/K` (a Cholesky solve);
    fixed atoms are moved to the right-hand side.  With a mask each feature
    :math:`r` has its own normal equations
    :math:`(C^T W_r C) d^{(r)} = C^T W_r x^{(r)}`.  Cost :math:`O(nNK + K^3)`
    per iteration plus the coding.  The coding stage keeps a signal's
    previous code when OMP does worse, so the error does not increase between
    iterations without atom replacement.

    References
    ----------
    .. [1] K. Engan, S. O. Aase and J. H. Husoy, "Method of optimal directions
       for frame design", ICASSP 1999.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import MOD
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 10))
    >>> est = MOD(n_components=15, n_nonzero_coefs=3, max_iter=5, tol=0.0, random_state=0)
    >>> import warnings; warnings.simplefilter("ignore")
    >>> code = est.fit_transform(X)
    >>> code.shape, bool(np.all(np.diff(est.error_) <= 1e-12))
    ((200, 15), True)
    """

    _use_thresh = 1
    _row_codes = False

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, max_iter=10, tol=1e-4,
                 init="data", fixed_atoms=None, coding_tol=None, clear_dict=True,
                 transform_algorithm="omp", transform_n_nonzero_coefs=None,
                 transform_alpha=None, transform_params=None, random_state=None, n_jobs=None,
                 verbose=0):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.fixed_atoms = fixed_atoms
        self.coding_tol = coding_tol
        self.clear_dict = clear_dict
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _update(self, X, M, codes, D, free, size):
        """Least-squares update of the free atoms; mutates R, C, D; returns usage."""
        W, R, C = codes.W, codes.R, codes.C
        fr = np.flatnonzero(free)
        fx = np.flatnonzero(~free)
        Cf = C[:, fr]
        T = X - C[:, fx] @ D[fx] if fx.size else X
        counts = np.count_nonzero(C, axis=0)
        if M is None:
            A = Cf.T @ Cf
            A[np.diag_indices_from(A)] += _RIDGE * max(np.trace(A) / max(len(fr), 1), 1e-300)
            Df = _spd_solve(A, Cf.T @ T)
        else:
            Cs = sp.csr_matrix(Cf)
            n = X.shape[1]
            A = np.empty((n, len(fr), len(fr)))
            B = np.empty((n, len(fr)))
            for r in range(n):  # one K x K system per feature (few features)
                Cw = Cs.multiply(W[:, [r]]).tocsr()
                A[r] = (Cw.T @ Cs).toarray()
                B[r] = Cw.T @ T[:, r]
                A[r][np.diag_indices(len(fr))] += _RIDGE * max(np.trace(A[r]) / len(fr), 1e-300)
            Df = np.linalg.solve(A, B[..., None])[..., 0].T  # (K_free, n)
        nrm = np.linalg.norm(Df, axis=1)
        keep = nrm > 1e-12 * max(nrm.max(initial=0.0), 1e-300)
        # unused atoms (all-zero codes) keep their old direction until cleared
        idx = fr[keep]
        C[:, idx] *= nrm[keep]
        D[idx] = Df[keep] / nrm[keep, None]
        R[:] = X - C @ D
        if M is not None:
            R *= W
        return counts


def _spd_solve(A, B):
    from scipy.linalg import LinAlgError, cho_factor, cho_solve

    try:
        return cho_solve(cho_factor(A, lower=True, check_finite=False), B, check_finite=False)
    except LinAlgError:  # pragma: no cover - ridge makes this very unlikely
        return np.linalg.lstsq(A, B, rcond=None)[0]
