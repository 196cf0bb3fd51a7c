"""Masked dictionary learning: "Hiding Data Helps" (Chidambaram, Wu, Cheng & Ge, ICML 2023).

The code of each signal is computed from a random subset of its coordinates
and the reconstruction loss is measured on the complementary subset, so that
spare atoms of an over-realised dictionary cannot fit the noise.  The
encoder is one thresholding step (top-k or soft threshold), whose gradient
is closed-form; the dictionary is trained by Adam with atoms renormalised
after every step (spec B2.2, a reconstruction of the paper's method).
"""

import numbers

import numpy as np
from sklearn.utils.validation import validate_data  # noqa: F401 (used via _validate_X_mask)

from .._parallel import blas_limited, effective_n_jobs
from .._validation import Interval, Options
from ._common import (
    _COMMON_CONSTRAINTS,
    _BaseDictionaryLearner,
    _normalize_rows,
    _pow2_exponent,
    _rng,
    _validate_X_mask,
    _warn_budget,
)

__all__ = ["MaskedDictionaryLearning"]


def _encode(Z, encoder, k, tau):
    """One-step encoder on pre-activations Z (B, K); returns codes and the active set."""
    if encoder == "topk":
        idx = np.argpartition(-np.abs(Z), k - 1, axis=1)[:, :k]
        act = np.zeros(Z.shape, dtype=bool)
        np.put_along_axis(act, idx, True, axis=1)
        return np.where(act, Z, 0.0), act
    act = np.abs(Z) > tau
    return np.where(act, Z - tau * np.sign(Z), 0.0), act


def masked_loss_grad(D, X, S, H, encoder="topk", k=1, tau=0.0):
    """Masked objective of a batch and its gradient with respect to ``D``.

    Parameters
    ----------
    D : ndarray (K, n)
    X : ndarray (B, n)
    S, H : ndarray (B, n) of float
        Visible (encoder) and held-out (loss) coordinates, 0/1.
    encoder : {"topk", "soft"}
    k : int
    tau : float

    Returns
    -------
    loss : float
        ``sum_b ||H_b * (x_b - D^T enc(D, S_b * x_b))||^2 / B``.
    grad : ndarray (K, n)
    """
    B, n = X.shape
    nvis = S.sum(axis=1)
    c = np.where(nvis > 0, n / np.maximum(nvis, 1), 0.0)  # rescale: E[c S x] = x
    V = S * X
    Z = c[:, None] * (V @ D.T)
    code, act = _encode(Z, encoder, k, tau)
    R = H * (X - code @ D)
    loss = float(np.sum(R * R)) / B
    # chain rule through the (piecewise linear) encoder, active set held fixed
    G = (-2.0 / B) * (R @ D.T) * act  # dL/dZ
    grad = (-2.0 / B) * (code.T @ R) + (G * c[:, None]).T @ V
    return loss, grad


class MaskedDictionaryLearning(_BaseDictionaryLearner):
    r"""Dictionary learning with the masking objective of "Hiding Data Helps".

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms (``n_features`` when None); may exceed the number of
        atoms that generated the data (over-realised setting).
    n_nonzero_coefs : int, default=None
        ``k`` of the top-k encoder (10% of ``n_features`` when None); also
        the default sparsity of ``transform``.
    mask_fraction : float, default=0.5
        Fraction of coordinates hidden from the encoder and used for the
        loss (drawn afresh for each signal at every step); 0 gives the
        standard objective (encoder and loss on all coordinates).
    encoder : {"soft", "topk"}, default="soft"
        One-step encoder on ``c * D_S y_S``: soft-threshold at ``alpha``, or
        keep the ``n_nonzero_coefs`` largest magnitudes.  The soft encoder
        can use any number of atoms, which is where the standard objective
        over-fits noise with spare atoms and masking helps.
    alpha : float, default=1.0
        Threshold of the soft encoder, in the units of the data (the codes
        of unit-norm atoms).
    learning_rate : float, default=0.005
        Adam step size.
    batch_size : int, default=256
        Signals per step.
    max_iter : int, default=50
        Epochs.
    tol : float, default=1e-4
        Stop when the relative change of the epoch loss is below ``tol``.
    init : {"data", "random", "odct"} or ndarray, default="random"
        Initial free atoms (see :class:`KSVD`).
    fixed_atoms : array-like of shape (n_fixed_atoms, n_features), default=None
        Atoms held fixed (no gradient step).
    transform_algorithm : str, default="omp"
        Encoder of ``transform`` (full coordinates, as in the paper).
    transform_n_nonzero_coefs : int, default=None
        Sparsity of ``transform``.
    transform_alpha : float, default=None
        Penalty of penalised encoders in ``transform``.
    transform_params : dict, default=None
        Further parameters of the encoder in ``transform``.
    random_state : int, RandomState instance or None, default=None
        Seeds the initial atoms, the order of the signals and the masks.
    n_jobs : int, default=None
        BLAS threads.
    verbose : int or bool, default=0
        Print the loss after each epoch.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        Unit-norm atoms as rows.
    n_components_ : int
        Number of atoms.
    n_nonzero_coefs_ : int
        ``k`` of the encoder.
    n_iter_ : int
        Epochs run.
    error_ : ndarray of shape (n_iter_,)
        Relative held-out error of each epoch,
        ``sqrt(sum ||H * (y - D^T x)||^2 / sum ||H * y||^2)``.
    n_features_in_ : int
        Number of features.

    See Also
    --------
    KSVD : the standard reconstruction objective with OMP coding.

    Notes
    -----
    With :math:`S` a random set of :math:`n - m` visible coordinates and
    :math:`\bar S` its complement, the masked objective is

    .. math::
        L(D) = \mathbb{E}_y\,\mathbb{E}_S \|y_{\bar S} - D_{\bar S}^T
        \,\mathrm{enc}(c\, D_S y_S)\|_2^2,\qquad c = n/|S|,

    (atoms as rows of :math:`D`).  Noise on the hidden coordinates is
    independent of the code, so extra atoms cannot lower the loss by fitting
    it: with an over-realised dictionary the masked objective recovers the
    generating atoms where the standard one spends spare atoms on noise.
    The gradient goes through the encoder with its active set held fixed
    (exact almost everywhere for these piecewise linear encoders).  Cost per
    step: :math:`O(B n K)`.  The paper trains with autodiff through unrolled
    encoders; this one-step closed-form version follows spec section B2.2.

    References
    ----------
    .. [1] M. Chidambaram, C. Wu, Y. Cheng and R. Ge, "Hiding Data Helps: On
       the Benefits of Masking for Sparse Coding", ICML 2023, arXiv:2302.12715.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode import MaskedDictionaryLearning
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 16))
    >>> est = MaskedDictionaryLearning(24, n_nonzero_coefs=2, max_iter=3, random_state=0)
    >>> est.fit(X).components_.shape
    (24, 16)
    """

    _parameter_constraints = {
        **_COMMON_CONSTRAINTS,
        "mask_fraction": [Interval(numbers.Real, 0, 1, closed="left")],
        "encoder": [Options("topk", "soft")],
        "alpha": [Interval(numbers.Real, 0, None, closed="left")],
        "learning_rate": [Interval(numbers.Real, 0, None, closed="neither")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, n_components=None, *, n_nonzero_coefs=None, mask_fraction=0.5,
                 encoder="soft", alpha=1.0, learning_rate=0.005, batch_size=256, max_iter=50,
                 tol=1e-4, init="random", fixed_atoms=None, transform_algorithm="omp",
                 transform_n_nonzero_coefs=None, transform_alpha=None, transform_params=None,
                 random_state=None, n_jobs=None, verbose=0):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.mask_fraction = mask_fraction
        self.encoder = encoder
        self.alpha = alpha
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.init = init
        self.fixed_atoms = fixed_atoms
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.transform_params = transform_params
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def fit(self, X, y=None, mask=None):
        """Learn the dictionary by minimising the masked objective.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training signals.
        y : Ignored
            Not used, present for API consistency.
        mask : array-like of bool, shape (n_samples, n_features), default=None
            Observed entries (True): unobserved entries are neither shown to
            the encoder nor counted in the loss.

        Returns
        -------
        self : object
            The fitted learner.
        """
        self._check_params()
        Xw, M, dtype = _validate_X_mask(self, X, mask, reset=True)
        # The objective is scale-equivariant (top-k codes scale with X, the
        # soft threshold alpha is in the units of X): learn on X / 2**e with
        # unit peak (exact) and alpha / 2**e, the same problem, where neither
        # squared norms nor Adam's epsilon depend on the data scale.
        e = _pow2_exponent(Xw)
        Xw = np.ldexp(Xw, -e)
        tau = None if self.alpha is None else float(np.ldexp(float(self.alpha), -e))
        N, n = Xw.shape
        self.n_components_, self.n_nonzero_coefs_ = self._resolve_sizes(N, n)
        rng = _rng(self.random_state)
        D, free = self._start(Xw, rng)
        k = min(self.n_nonzero_coefs_, D.shape[0])
        m_hide = int(round(self.mask_fraction * n))
        if self.mask_fraction > 0 and (m_hide < 1 or m_hide >= n):
            raise ValueError(
                f"mask_fraction={self.mask_fraction} hides {m_hide} of n_features={n} coordinates; at "
                "least one must be hidden and one visible (or use mask_fraction=0)."
            )
        # Adam state (Kingma & Ba 2015), defaults beta1=0.9, beta2=0.999
        mom = np.zeros_like(D)
        vel = np.zeros_like(D)
        t = 0
        lr = float(self.learning_rate)
        history = []
        prev = np.inf
        converged = False
        change = np.inf
        with blas_limited(effective_n_jobs(self.n_jobs)):
            for epoch in range(1, self.max_iter + 1):
                order = rng.permutation(N)
                tot_loss = 0.0
                tot_ref = 0.0
                for start in range(0, N, self.batch_size):
                    idx = order[start:start + self.batch_size]
                    Xb = Xw[idx]
                    if m_hide:
                        keys = rng.random_sample(Xb.shape)
                        kth = np.partition(keys, m_hide - 1, axis=1)[:, [m_hide - 1]]
                        H = (keys <= kth).astype(np.float64)
                        S = 1.0 - H
                    else:
                        S = np.ones_like(Xb)
                        H = S
                    if M is not None:
                        obs = M[idx].astype(np.float64)
                        S = S * obs
                        H = H * obs
                    loss, grad = masked_loss_grad(D, Xb, S, H, self.encoder, k, tau)
                    tot_loss += loss * Xb.shape[0]
                    tot_ref += float(np.sum((H * Xb) ** 2))
                    grad[~free] = 0.0
                    t += 1
                    mom = 0.9 * mom + 0.1 * grad
                    vel = 0.999 * vel + 0.001 * grad * grad
                    step = lr * (mom / (1 - 0.9**t)) / (np.sqrt(vel / (1 - 0.999**t)) + 1e-8)
                    D -= step
                    D[free] = _normalize_rows(D[free])[0]
                    bad = np.linalg.norm(D, axis=1) == 0
                    if np.any(bad):  # pragma: no cover - needs an exact cancellation
                        D[bad] = _normalize_rows(rng.standard_normal((bad.sum(), n)))[0]
                err = np.sqrt(tot_loss / max(tot_ref, 1e-300))
                history.append(err)
                self._report(epoch, err, " (held-out)" if m_hide else "")
                change = abs(prev - err) / max(err, 1e-300)
                prev = err
                if change < self.tol:
                    converged = True
                    break
        if not converged:
            _warn_budget(self, change, self.tol, what="relative change of the epoch loss")
        self.n_iter_ = epoch
        self.error_ = np.asarray(history)
        self.reconstruction_err_ = history[-1]
        self._set_components(D, dtype)
        return self
