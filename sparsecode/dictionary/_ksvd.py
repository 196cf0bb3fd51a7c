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
from .._validation import Interval
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
        with blas_limited(effective_n_jobs(self.n_jobs)):
            return self._fit_loop(X, mask)

    def _fit_loop(self, X, mask):
        """The alternating loop; returns the codes of the returned model (data scale)."""
        from ._kernels import sparse_residual

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
        K = D.shape[0]
        W = M.astype(np.float64) if M is not None else np.zeros((1, 1))
        C = np.zeros((N, K))
        R = Xw.copy()  # residual of the zero code (already masked)
        f_prev = _rel_error(R, Xw)
        history, replaced = [], []
        tol2 = None if self.coding_tol is None else float(np.ldexp(self.coding_tol, -2 * e))
        converged = False
        decrease = np.inf
        n_rep = 0  # atoms replaced at the end of the previous iteration
        clearing, f_before_rep = self.clear_dict, f_prev
        for it in range(1, self.max_iter + 1):
            # -- sparse coding stage (Batch-OMP, or masked OMP)
            Cn = _omp_codes(Xw, D, self.n_nonzero_coefs_, self.n_jobs, mask=M, tol2=tol2)
            Rn = np.empty_like(Xw)
            _with_threads(self.n_jobs, sparse_residual, Cn, Xw, D, Rn)
            if M is not None:
                Rn *= W
            # keep a signal's previous code when OMP (greedy) does worse: the
            # objective can then only go down from one iteration to the next
            worse = np.einsum("ij,ij->i", Rn, Rn) > np.einsum("ij,ij->i", R, R)
            if worse.any():
                Cn[worse] = C[worse]
                Rn[worse] = R[worse]
            C, R = Cn, Rn
            # -- dictionary update stage
            counts = self._update(Xw, M, W, R, C, D, free)
            # the error of the model (C, D) as it stands: the one returned if we stop here
            f = _rel_error(R, Xw)
            history.append(f)
            decrease = (f_prev - f) / f_prev if f_prev > 0 else 0.0
            f_prev = f
            if f <= 1e-12 or (n_rep == 0 and decrease < self.tol):
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
                n_rep = _replace_atoms(D, C, R, Xw, counts, free, rng,
                                       mask=W if M is not None else None,
                                       use_thresh=self._use_thresh,
                                       n_nonzero_coefs=self.n_nonzero_coefs_)
        if not converged:
            _warn_budget(self, decrease, self.tol,
                         extra=f"; {replaced[-1]} atom(s) were replaced before the last "
                         "iteration" if replaced[-1] else "")
        self.n_iter_ = it
        self.error_ = np.asarray(history)
        self.n_replaced_ = np.asarray(replaced, dtype=np.intp)
        self.reconstruction_err_ = history[-1]
        self._set_components(D, dtype)
        return np.ldexp(C, e) if e else C

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


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
    and :math:`O(n N T_0)` for the atom sweep (a Numba kernel).

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
    }
    _use_thresh = 4

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, max_iter=10, tol=1e-4,
                 init="data", fixed_atoms=None, coding_tol=None, clear_dict=True,
                 n_atom_iter=1, transform_algorithm="omp", transform_n_nonzero_coefs=None,
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
        self.n_atom_iter = n_atom_iter
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _update(self, X, M, W, R, C, D, free):
        from ._kernels import ksvd_sweep

        return ksvd_sweep(R, C, D, free, W, M is not None, int(self.n_atom_iter))


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

    def _update(self, X, M, W, R, C, D, free):
        """Least-squares update of the free atoms; mutates R, C, D; returns usage."""
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
