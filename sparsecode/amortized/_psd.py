"""Predictive Sparse Decomposition (Kavukcuoglu, Ranzato & LeCun 2008; spec section 1).

A dictionary ``B`` (unit-norm atoms, the rows of ``components_``) and an
encoder ``F(y) = G tanh(W y + b)`` are trained jointly on

    1/2 ||y - B z||^2 + alpha ||z||_1 + (prediction_weight / 2) ||z - F(y)||^2.

Each training step infers ``z*`` for the whole mini-batch by a few FISTA steps
warm-started from ``F(y)`` (one BLAS product ``Z @ (B^T B)`` per step), then
takes one optimiser step on the dictionary (gradient projected on the tangent
of the unit sphere, atoms renormalised) and one on the encoder (``z*``
held fixed).  At test time the encoder alone codes with one matrix product.
"""

import numbers
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from .._validation import Interval, Options, validate_params
from ._base import BaseAmortizedEncoder

__all__ = ["PredictiveSparseDecomposition"]

# --------------------------------------------------------------------------
# kernels (arrays in, arrays out; batch-vectorised)
# --------------------------------------------------------------------------
def _tanh_inplace(S):
    """``tanh`` in place; float64 as ``1 - 2 / (exp(2s) + 1)`` (vectorised ``exp``).

    NumPy's float64 ``tanh`` is not SIMD-vectorised on common builds and
    costs about as much as the encoder product; this form is about twice as
    fast, with an absolute error below 4e-16.  float32 keeps ``np.tanh``.
    """
    if S.dtype != np.float64:
        return np.tanh(S, out=S)
    np.clip(S, -20.0, 20.0, out=S)  # tanh(20) = 1 - 8e-18: 1.0 in float64
    S *= 2.0
    np.exp(S, out=S)
    S += 1.0
    np.divide(2.0, S, out=S)
    np.subtract(1.0, S, out=S)
    return S


def _predict(X, W, b, g, encoder):
    """Encoder output ``P`` and what its gradient needs.

    ``"tanh"``: ``P = g tanh(s)``, returns ``H = tanh(s)``; ``"tanh_shrink"``:
    ``P = g (s - tanh(s))``, returns ``(s - tanh(s), tanh(s))``; ``"linear"``:
    ``P = s``; with ``s = X W^T + b``.
    """
    S = X @ W.T
    S += b
    if encoder == "linear":
        return S, S
    if encoder == "tanh_shrink":
        T = _tanh_inplace(S.copy())
        H = np.subtract(S, T, out=S)
        return H * g, (H, T)
    H = _tanh_inplace(S)
    return H * g, H


def _gram_or_dict(C):
    """What :func:`_fista` multiplies by: ``C C^T`` or, when cheaper, ``C`` itself."""
    n, d = C.shape
    return C if n > 2 * d else C @ C.T


def _lipschitz(C, prediction_weight):
    """Lipschitz constant of the smooth part: ``||C||_2^2 + alpha``."""
    n, d = C.shape
    M = C @ C.T if n <= d else C.T @ C
    return float(np.linalg.eigvalsh(M.astype(np.float64))[-1]) + prediction_weight


def _soft(v, t):
    """Soft threshold ``sign(v) max(|v| - t, 0)`` (new array; two passes)."""
    return v - np.clip(v, -t, t)


def _convex_kernels():
    # sparsecode.convex's compiled FISTA momentum step (imported lazily: importing
    # sparsecode loads no extension module)
    from .._ext import _convex

    return _convex


def _fista(XC, Gram, Z0, P, lam, prediction_weight, L, n_steps, tol=None):
    """FISTA on ``1/2 ||x - z C||^2 + lam ||z||_1 + (a/2) ||z - p||^2`` for a whole batch.

    ``XC = X C^T`` and ``Gram`` are precomputed; the gradient at ``Y`` is
    ``Y Gram - XC + a (Y - P)``: one BLAS product per step over the batch.
    ``Gram`` is ``C C^T``, or the dictionary ``C`` itself (``n_latents >
    2 n_features``), in which case ``(Y C) C^T`` costs ``2 B n d`` instead of
    ``B n^2``.  The momentum step is ``sparsecode.convex``'s compiled FISTA
    kernel (``fista_extrapolate``), run on the whole batch as one vector.
    Returns ``(Z, n_iter, converged)``; with ``tol`` the loop stops when the
    largest relative change of a code row falls below ``tol``.
    """
    extrapolate = _convex_kernels().fista_extrapolate
    a = prediction_weight
    dt = np.result_type(XC.dtype, Z0.dtype)
    lin = XC if (a == 0 or P is None) else XC + a * P
    Z = np.array(Z0, dtype=dt, order="C")
    Y = Z.copy()
    b = np.zeros(1)
    t = 1.0
    thr = lam / L
    converged = tol is None
    it = 0
    square = Gram.shape[0] == Gram.shape[1] and Gram.shape[0] == XC.shape[1]
    for it in range(1, n_steps + 1):
        grad = Y @ Gram if square else (Y @ Gram) @ Gram.T
        grad -= lin
        if a:
            grad += a * Y
        grad /= -L
        grad += Y
        Zn = np.ascontiguousarray(_soft(grad, thr), dtype=dt)
        t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
        b[0] = (t - 1.0) / t_new
        check = tol is not None and (it % 10 == 0 or it == n_steps)
        if check:
            diff = Zn - Z
        # Y = Zn + ((t - 1) / t_new) (Zn - Z)
        extrapolate(Zn.reshape(-1, 1), Z.reshape(-1, 1), b, Y.reshape(-1, 1))
        Z, t = Zn, t_new
        if check:
            dn = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            zn = np.sqrt(np.einsum("ij,ij->i", Z, Z))
            if np.all(dn <= tol * np.maximum(zn, 1e-12)):
                converged = True
                break
    return Z, it, converged


def _psd_objective(X, Z, C, P, lam, prediction_weight):
    """Per-sample ``1/2||x - zC||^2 + lam||z||_1 + (a/2)||z - p||^2`` (vector)."""
    R = X - Z @ C
    out = 0.5 * np.einsum("ij,ij->i", R, R) + lam * np.abs(Z).sum(axis=1)
    if prediction_weight and P is not None:
        E = Z - P
        out += 0.5 * prediction_weight * np.einsum("ij,ij->i", E, E)
    return out


def _psd_gradients(X, Z, C, W, b, g, prediction_weight, encoder):
    """Gradients of the batch mean of ``1/2||x - zC||^2 + (a/2)||z - F(x)||^2`` (``Z`` fixed).

    Returns ``(dC, dW, db, dg)`` (``dg`` is zeros for the linear encoder).
    """
    B = X.shape[0]
    R = X - Z @ C
    dC = -(Z.T @ R) / B
    P, H = _predict(X, W, b, g, encoder)
    E = P - Z  # dL/dP up to the factor a
    a = prediction_weight
    if encoder == "linear":
        delta = (a / B) * E
        dg = np.zeros_like(g)
    elif encoder == "tanh_shrink":
        H, T = H  # s - tanh(s), tanh(s); d(s - tanh s)/ds = tanh(s)^2
        dg = (a / B) * np.einsum("ij,ij->j", E, H)
        delta = (a / B) * E * g * (T * T)
    else:
        dg = (a / B) * np.einsum("ij,ij->j", E, H)
        delta = (a / B) * E * g * (1.0 - H * H)
    dW = delta.T @ X
    db = delta.sum(axis=0)
    return dC, dW, db, dg


def _lasso_objective(X, Z, C, lam):
    """Per-sample ``E(z) = 1/2 ||x - z C||^2 + lam ||z||_1``."""
    return _psd_objective(X, Z, C, None, lam, 0.0)


# --------------------------------------------------------------------------
# estimator
# --------------------------------------------------------------------------
_PSD_CONSTRAINTS = {
    "n_latents": [Interval(numbers.Integral, 1, None, closed="left")],
    "alpha": [Interval(numbers.Real, 0, None, closed="neither")],
    "prediction_weight": [Interval(numbers.Real, 0, None, closed="left")],
    "encoder": [Options("tanh", "tanh_shrink", "linear")],
    "coupling": [Options("joint", "decoupled")],
    "n_ista_steps": [Interval(numbers.Integral, 0, None, closed="left")],
    "warm_start_ista": ["boolean"],
    "inference": [Options("encoder", "encoder+ista", "ista")],
    "ista_max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
    "ista_tol": [Interval(numbers.Real, 0, None, closed="left")],
}


class PredictiveSparseDecomposition(BaseAmortizedEncoder):
    r"""Predictive Sparse Decomposition: a dictionary and a fast encoder trained together.

    Learns a dictionary ``B`` (rows of ``components_``, unit norm) and an
    encoder ``F(y) = g * tanh(W y + b)`` that predicts the sparse codes, by
    minimising over mini-batches

    .. math::

        \frac12 \|y - B z\|_2^2 + \alpha \|z\|_1
        + \frac{\beta}{2} \|z - F(y)\|_2^2

    with ``alpha`` the sparsity weight and ``beta = prediction_weight``.
    Each step infers the codes ``z*`` of the batch by ``n_ista_steps`` FISTA
    iterations (warm-started from ``F(y)``; the prediction term enters the
    inference only with ``coupling="joint"``), then takes one optimiser step
    on ``B`` (gradient ``-(y - B z*) z*^T``, projected on the tangent of the
    unit sphere, atoms renormalised) and one on ``(W, b, g)`` (regression of
    ``z*`` by ``F``).  After training, ``transform`` codes with the encoder
    alone (one matrix product), optionally refined by FISTA steps.

    Parameters
    ----------
    n_latents : int, default=64
        Number of atoms (and encoder outputs).
    alpha : float, default=0.1
        Weight of the l1 penalty (``lambda`` of the paper with the ``1/2``
        convention: the reference code's ``lambda_ref = 2 alpha``).
    prediction_weight : float, default=1.0
        Weight ``beta`` of the prediction term ``(beta/2) ||z - F(y)||^2``;
        0 trains the dictionary as plain sparse coding (the encoder still
        learns to predict the codes).
    encoder : {"tanh", "linear"}, default="tanh"
        ``g * tanh(W y + b)`` (the paper) or ``W y + b`` (the reference
        demo's default).
    coupling : {"decoupled", "joint"}, default="decoupled"
        ``"decoupled"``: training inference minimises reconstruction + l1
        only (the reference implementation); ``"joint"``: the full energy,
        codes pulled towards the prediction (the paper's energy).  On
        planted atoms (16 dimensions, 24 atoms, 2 active) the decoupled
        rule recovers every atom at cosine > 0.95 and the joint rule none
        within the same budget (the prediction biases the early codes).
    n_ista_steps : int, default=30
        FISTA iterations per training batch, and the default number of
        refinement steps of ``inference="encoder+ista"``.
    warm_start_ista : bool, default=True
        Start the training inference from the prediction (``False``: from
        zero, as the reference code does).
    inference : {"encoder", "encoder+ista", "ista"}, default="encoder"
        Default coding mode of :meth:`transform`.
    ista_max_iter : int, default=1000
        Sweep cap of the lasso codes of ``inference="ista"`` and
        ``predictor_gap_`` beyond 8192 atoms (below, the codes are exact).
    ista_tol : float, default=1e-5
        Tolerance of those lasso codes beyond 8192 atoms.  The codes come
        from :func:`sparsecode.sparse_encode` with ``algorithm="lasso"``
        over ``components_``: the exact LARS homotopy on the Gram matrix up
        to 8192 atoms, Gram coordinate descent beyond.
    batch_size : int, default=256
        Samples per optimiser step.
    max_iter : int, default=10
        Epochs (passes over the data).
    tol : float or None, default=None
        Stop early when the epoch loss improves by less than ``tol``
        (relative) ``n_iter_no_change`` times in a row; ``None`` runs every
        epoch.
    n_iter_no_change : int, default=3
        Patience of the early stop.
    learning_rate : float, default=1e-3
        Base learning rate of the optimiser (shared by dictionary and encoder).
        Training runs on ``X / 2**e``, ``2**e`` the power of two nearest
        ``max|X|`` of the initial sample (an exact division), so the learning
        rate does not depend on the data scale.
    optimizer : {"adam", "sgd"} or SGD or Adam, default="adam"
        The optimiser.
    lr_schedule : None, "constant", "linear", "cosine" or callable, default=None
        Learning-rate multiplier per step.
    shuffle : bool, default=True
        Shuffle the samples at every epoch.
    random_state : int, RandomState or None, default=None
        Seed of the initialisation and the shuffling.
    n_jobs : int or None, default=None
        BLAS threads during training and coding (None: 1).
    verbose : int, default=0
        Progress display.

    Attributes
    ----------
    components_ : ndarray of shape (n_latents, n_features)
        Dictionary atoms (unit rows).
    encoder_weights_ : ndarray of shape (n_latents, n_features)
        ``W``.
    encoder_bias_ : ndarray of shape (n_latents,)
        ``b``.
    encoder_gain_ : ndarray of shape (n_latents,)
        ``g`` (ones and unused with ``encoder="linear"``).
    predictor_gap_ : float
        On a sample of the training data drawn at initialisation (up to 256 rows):
        ``sum (E(F(y)) - E(z*)) / sum (E(0) - E(z*))`` (ratio of the sums, so
        that nearly empty signals do not dominate) with
        ``E(z) = 1/2||y - Bz||^2 + alpha||z||_1`` and ``z*`` the lasso
        codes: 0 when the encoder is optimal, 1 when it is no better than
        zero codes.  Updated after every epoch.
    loss_curve_ : list of float
        Mean training objective per epoch, of the training data ``X / 2**e``
        with ``alpha / 2**e`` (see ``learning_rate``): fitting ``c X`` with
        ``alpha`` is fitting ``X`` with ``alpha / c``, codes times ``c``.
    n_iter_ : int
        Epochs run.
    n_steps_ : int
        Optimiser steps taken.
    n_features_in_ : int
        Number of features seen during ``fit``.

    See Also
    --------
    KSparseAutoencoder : TopK sparse autoencoder.
    MatchingPursuitAutoencoder : Matching pursuit unrolled as the encoder.
    sparsecode.dictionary.OnlineDictionaryLearning : Dictionary alone, codes by a solver.

    Notes
    -----
    Cost per step: ``O(B n d)`` for the prediction,
    ``O(n_ista_steps B n min(n, 2d))`` for the batched FISTA (through the Gram
    matrix ``B^T B``, formed once per step, or through ``B`` twice when
    ``n > 2d``) and ``O(B n d)`` for the gradients.  ``tanh`` gives no exact
    zeros: judge the encoder by ``predictor_gap_`` or refine its output
    with ``inference="encoder+ista"``.

    References
    ----------
    K. Kavukcuoglu, M. Ranzato, Y. LeCun, "Fast inference in sparse coding
    algorithms with applications to object recognition", arXiv:1010.3467.

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.amortized import PredictiveSparseDecomposition
    >>> from sparsecode.datasets import make_planted_features
    >>> X, D, _ = make_planted_features(2000, 16, 24, 3, random_state=0)
    >>> psd = PredictiveSparseDecomposition(n_latents=24, alpha=0.05, max_iter=3,
    ...                                     random_state=0).fit(X)
    >>> psd.components_.shape
    (24, 16)
    >>> codes = psd.transform(X[:5], inference="encoder+ista")
    >>> codes.shape
    (5, 24)
    """

    def _unit_powers(self):
        # tanh encoder g tanh(W x + b): W ~ 1/scale, g ~ scale; linear W x + b: b ~ scale
        if self.encoder == "linear":
            return [("encoder_bias_", 1)]
        return [("encoder_weights_", -1), ("encoder_gain_", 1)]

    def _train_alpha(self):
        """``alpha`` for the training data X / 2**e (codes scale as the data)."""
        return float(self.alpha) / getattr(self, "_x_scale_", 1.0)

    def __init__(self, n_latents=64, *, alpha=0.1, prediction_weight=1.0, encoder="tanh",
                 coupling="decoupled", n_ista_steps=30, warm_start_ista=True, inference="encoder",
                 ista_max_iter=1000, ista_tol=1e-5, batch_size=256, max_iter=10, tol=None,
                 n_iter_no_change=3, learning_rate=1e-3, optimizer="adam", lr_schedule=None,
                 shuffle=True, random_state=None, n_jobs=None, verbose=0):
        self.n_latents = n_latents
        self.alpha = alpha
        self.prediction_weight = prediction_weight
        self.encoder = encoder
        self.coupling = coupling
        self.n_ista_steps = n_ista_steps
        self.warm_start_ista = warm_start_ista
        self.inference = inference
        self.ista_max_iter = ista_max_iter
        self.ista_tol = ista_tol
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.lr_schedule = lr_schedule
        self.shuffle = shuffle
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # ---------------------------------------------------------------- hooks
    def _validate_params_extra(self, n_features):
        validate_params({k: getattr(self, k) for k in _PSD_CONSTRAINTS}, _PSD_CONSTRAINTS,
                        type(self).__name__)

    def _init_params(self, X_sample, rng):
        dt = X_sample.dtype
        n, d = self.n_latents, X_sample.shape[1]
        C = rng.standard_normal((n, d))
        C /= np.linalg.norm(C, axis=1, keepdims=True)
        self.components_ = C.astype(dt)
        # encoder starts tied to the dictionary (F(y) = tanh(B^T y))
        self.encoder_weights_ = self.components_.copy()
        self.encoder_bias_ = np.zeros(n, dtype=dt)
        self.encoder_gain_ = np.ones(n, dtype=dt)
        # held-out rows for predictor_gap_
        m = min(256, X_sample.shape[0])
        self._gap_sample_ = X_sample[rng.choice(X_sample.shape[0], size=m, replace=False)]

    def _parameters(self):
        return [self.components_, self.encoder_weights_, self.encoder_bias_, self.encoder_gain_]

    def _predict(self, X):
        return _predict(X, self.encoder_weights_, self.encoder_bias_, self.encoder_gain_,
                        self.encoder)

    def _train_step(self, Xb):
        C = self.components_
        beta = float(self.prediction_weight)
        P, _ = self._predict(Xb)
        a_inf = beta if self.coupling == "joint" else 0.0
        Gram = _gram_or_dict(C)
        L = _lipschitz(C, a_inf)
        Z0 = P if self.warm_start_ista else np.zeros_like(P)
        alpha = self._train_alpha()
        Z, _, _ = _fista(Xb @ C.T, Gram, Z0, P, alpha, a_inf, L, int(self.n_ista_steps))
        loss = float(np.mean(_psd_objective(Xb, Z, C, P, alpha, beta)))
        dC, dW, db, dg = _psd_gradients(Xb, Z, C, self.encoder_weights_, self.encoder_bias_,
                                        self.encoder_gain_, beta, self.encoder)
        # tangent projection of the atom gradients (unit-norm constraint)
        dC -= np.einsum("ij,ij->i", dC, C)[:, None] * C
        self._apply_gradients(loss, [dC, dW, db, dg])
        nrm = np.linalg.norm(C, axis=1, keepdims=True)
        if not np.isfinite(nrm).all():  # a huge (finite) step: the norm overflows
            C /= np.maximum(np.abs(C).max(axis=1, keepdims=True), np.finfo(C.dtype).tiny)
            nrm = np.linalg.norm(C, axis=1, keepdims=True)
        C /= np.maximum(nrm, 1e-12)
        return loss

    def _on_epoch_end(self, epoch):
        self.predictor_gap_ = self._predictor_gap(self._gap_sample_)

    def _predictor_gap(self, X):
        # X: training rows (divided by 2**e), the parameters in training units
        lam = self._train_alpha()
        C = self.components_
        P, _ = self._predict(X)
        with warnings.catch_warnings():
            # a diagnostic: a lasso path stopped short (alpha near 0) is no user's concern
            warnings.simplefilter("ignore", ConvergenceWarning)
            Zs = self._lasso_codes(X, lam)
        e_star = _lasso_objective(X, Zs, C, lam)
        e_pred = _lasso_objective(X, P, C, lam)
        e_zero = 0.5 * np.einsum("ij,ij->i", X, X)
        den = float(np.sum(e_zero - e_star))
        if not den > 1e-12 * float(np.sum(e_zero)):
            return 0.0
        return float(np.sum(e_pred - e_star)) / den

    def _lasso_codes(self, X, alpha):
        """Lasso codes over the dictionary by the library's lasso coder.

        ``sparse_encode(algorithm="lasso")``: the exact LARS homotopy on the
        Gram matrix up to 8192 atoms, Gram coordinate descent to
        ``ista_tol`` (at most ``ista_max_iter`` sweeps) beyond.
        """
        from ..dictionary import sparse_encode

        return sparse_encode(X, self.components_, algorithm="lasso", alpha=float(alpha),
                             tol=float(self.ista_tol), max_iter=int(self.ista_max_iter),
                             n_jobs=self.n_jobs)

    def _fista_steps(self, X, Z0, n_steps):
        C = self.components_
        Z, _, _ = _fista(X @ C.T, _gram_or_dict(C), Z0, None, float(self.alpha), 0.0,
                         _lipschitz(C, 0.0), int(n_steps))
        return Z

    def _encode(self, X):
        mode = self._mode
        if mode == "ista":
            return self._lasso_codes(X, float(self.alpha))
        P, _ = self._predict(X)
        if mode == "encoder":
            return P
        return self._fista_steps(X, P, self._n_steps)

    # ------------------------------------------------------------ transform
    def transform(self, X, output="dense", *, inference=None, n_ista_steps=None):
        """Codes of ``X``.

        Parameters
        ----------
        X : array-like, np.memmap or dask array of shape (n_samples, n_features)
        output : {"dense", "csr"}, default="dense"
            ``"csr"`` returns a sparse matrix (the encoder's tanh output
            has few exact zeros; the FISTA modes have many).
        inference : {"encoder", "encoder+ista", "ista"} or None, default=None
            ``"encoder"``: ``F(y)`` (one matrix product); ``"encoder+ista"``:
            ``n_ista_steps`` FISTA steps on ``1/2||y - Bz||^2 + alpha||z||_1``
            started from ``F(y)``; ``"ista"``: the lasso codes of that
            objective (``sparse_encode(X, components_, algorithm="lasso",
            alpha=alpha)``: exact up to 8192 atoms).  ``None`` uses the
            ``inference`` parameter.
        n_ista_steps : int or None, default=None
            Refinement steps of ``"encoder+ista"`` (default: the
            ``n_ista_steps`` parameter).

        Returns
        -------
        codes : ndarray or csr_matrix of shape (n_samples, n_latents)
        """
        mode = self.inference if inference is None else inference
        if mode not in ("encoder", "encoder+ista", "ista"):
            raise ValueError(f"inference must be 'encoder', 'encoder+ista' or 'ista', got "
                             f"{mode!r}.")
        steps = self.n_ista_steps if n_ista_steps is None else n_ista_steps
        if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
            raise ValueError(f"n_ista_steps must be an integer >= 0, got {steps!r}.")
        self._mode, self._n_steps = mode, int(steps)
        try:
            return super().transform(X, output=output)
        finally:
            del self._mode, self._n_steps
