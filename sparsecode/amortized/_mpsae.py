"""Matching-pursuit sparse autoencoder, MP-SAE (Costa et al. 2025; spec section 4).

The encoder is matching pursuit unrolled over the decoder's own dictionary
for ``n_steps`` steps: at each step every sample picks the atom most
correlated with its residual, adds the correlation to that atom's code and
removes the atom's contribution from the residual.  The reconstruction is
``x_hat = z W + b_pre = x - r^T``.  Training back-propagates through the
unrolled steps (the choices fixed, the coefficients and residuals depending
on the atoms), projects the atom gradients on the tangent of the unit
sphere and renormalises the atoms after every step.
"""

import numbers

import numpy as np
import scipy.sparse as sp

from .._parallel import blas_limited, effective_n_jobs
from .._registry import register_encoder
from .._validation import Interval, Options, validate_params
from ..greedy._mp import _mp_kernel
from ._base import BaseAmortizedEncoder

__all__ = ["MatchingPursuitAutoencoder"]

# --------------------------------------------------------------------------
# kernels (batch-vectorised; arrays in, arrays out)
# --------------------------------------------------------------------------
_SELECTION = {"abs": 0, "value": 1, "nonneg": 2}


def _mp_forward(R0, W, n_steps, selection, gram=None, residual_tol=None, n_threads=1):
    """Matching pursuit over the rows of ``W`` for every row of ``R0`` at once.

    The pursuit is the library's one compiled Matching Pursuit
    (``sparsecode.greedy``'s ``batch_mp_gram``, unit-weight atoms: the
    coefficient of a step is the plain correlation): correlations are kept
    through the Gram matrix (``c <- c - c_j G[j]``), so a step costs
    O(n_latents) per sample after the first product.

    With ``residual_tol``, a sample stops at the first step that would lower
    its squared residual by no more than ``residual_tol`` times its current
    value (``c_j^2 <= residual_tol ||r||^2``: the residual stopped
    decreasing), or by no more than machine epsilon times ``||r^0||^2``;
    that step and the later ones are inactive.

    Returns ``(idx, coef, RT)``: the atom chosen at each step
    (``(n_steps, batch)``), its coefficient (0 where the step was inactive:
    no positive correlation left under ``selection="nonneg"``, nothing left
    to remove, or stopped by ``residual_tol``) and the final residual
    ``r^T = r^0 - sum_t coef_t W[idx_t]``.
    """
    dt = np.result_type(R0.dtype, W.dtype)
    R0 = np.asarray(R0, dtype=dt)
    W = np.asarray(W, dtype=dt)
    B, n = R0.shape[0], W.shape[0]
    if gram is None:
        gram = W @ W.T
    gram = np.ascontiguousarray(gram, dtype=dt)
    Cr = np.ascontiguousarray(R0 @ W.T)
    idx = np.empty((B, n_steps), dtype=np.int64)
    coef = np.empty((B, n_steps), dtype=dt)
    E0 = np.einsum("ij,ij->i", R0, R0).astype(np.float64)
    _mp_kernel()(gram, Cr, np.ones(n), E0, np.zeros(B), n, int(n_steps), False, int(n_threads),
                 np.empty((0, n), dtype=dt), np.empty(B, dtype=np.intc), np.empty(B),
                 np.empty(B, dtype=np.intc), selection=_SELECTION[selection], idx_out=idx,
                 coef_out=coef, rel_tol=-1.0 if residual_tol is None else float(residual_tol))
    idx, coef = idx.T, coef.T
    RT = R0.copy()
    for t in range(n_steps):
        upd = W[idx[t]]
        upd *= coef[t][:, None]
        RT -= upd
    return idx, coef, RT


def _mp_codes(idx, coef, n_latents, dtype, sparse=False):
    """Sum the per-step coefficients into codes (dense or CSR), duplicates added."""
    T, B = idx.shape
    rows = np.broadcast_to(np.arange(B), (T, B)).ravel()
    Z = sp.csr_matrix((coef.ravel().astype(dtype, copy=False), (rows, idx.ravel())),
                      shape=(B, n_latents))
    Z.sum_duplicates()
    Z.eliminate_zeros()
    return Z if sparse else Z.toarray()


def _mp_backward(G_out, idx, coef, RT, W):
    """Gradients through the unrolled pursuit (argmax choices fixed).

    ``G_out = dL/dr^T``.  Walks the steps backwards, rebuilding
    ``r^{t-1} = r^t + c_t w_t``; with ``w = W[j_t]``::

        dW[j_t] += -(g.w) r^{t-1} - c_t g ;   g <- g - (g.w) w

    (inactive steps, ``c_t = 0`` under ``"nonneg"``, contribute nothing).
    The per-step rows are scattered onto ``W`` with one sparse product.
    Returns ``(dW, dR0)``.
    """
    T, B = idx.shape
    g = G_out.copy()
    r = RT.copy()
    M = np.empty((T, B, W.shape[1]), dtype=W.dtype)
    for t in range(T - 1, -1, -1):
        w = W[idx[t]]
        c = coef[t]
        r += c[:, None] * w  # r^{t-1}
        gw = np.einsum("ij,ij->i", g, w)
        gw[c == 0] = 0.0
        M[t] = -gw[:, None] * r - c[:, None] * g
        g -= gw[:, None] * w
    S = sp.csr_matrix((np.ones(T * B, dtype=W.dtype), (idx.ravel(), np.arange(T * B))),
                      shape=(W.shape[0], T * B))
    dW = np.asarray(S @ M.reshape(T * B, -1))
    return dW, g


def _aux_dead(E, Wd, k_aux, selection):
    """AuxK-style term: dead atoms' best ``k_aux``-term fit of the residual ``E`` (constant).

    ``z = (E Wd^T)`` kept on the ``k_aux`` largest entries of each row (by
    value, ReLU'd, or by magnitude for ``selection="abs"``);
    ``L = mean_b ||z_b Wd - e_b||^2``.  Returns ``(L, dWd)`` with
    ``dL/dw_j = sum_b z_bj g_b + (g_b . w_j) e_b`` over the kept pairs,
    ``g = 2 (z Wd - E) / B``.
    """
    B = E.shape[0]
    A = E @ Wd.T
    key = np.abs(A) if selection == "abs" else A
    nd = Wd.shape[0]
    mask = np.ones_like(A, dtype=bool)
    if k_aux < nd:
        top = np.argpartition(-key, k_aux - 1, axis=1)[:, :k_aux]
        mask = np.zeros_like(A, dtype=bool)
        np.put_along_axis(mask, top, True, axis=1)
    if selection != "abs":
        mask &= A > 0
    Z = np.where(mask, A, 0)
    R = Z @ Wd - E
    loss = float(np.einsum("ij,ij->", R, R)) / B
    G = (2.0 / B) * R
    dWd = Z.T @ G + (mask * (G @ Wd.T)).T @ E
    return loss, dWd


@register_encoder(
    "mp_sae",
    description="matching pursuit with n_nonzero_coefs steps over unit atoms, the encoder of "
                "a MatchingPursuitAutoencoder (selection='nonneg': non-negative codes)",
    params=("n_nonzero_coefs", "selection"),
)
def _encode_mp_sae(X, D, *, n_nonzero_coefs, selection="nonneg", n_jobs=None):
    """Codes of ``X`` by ``n_nonzero_coefs`` matching-pursuit steps over the rows of ``D``.

    The atoms should have unit norm (the coefficient of a step is the plain
    correlation, as in the autoencoder); an atom may be chosen twice, so a
    code has at most ``n_nonzero_coefs`` non-zeros.
    """
    T = n_nonzero_coefs
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1:
        raise ValueError(f"n_nonzero_coefs must be an integer >= 1, got {T!r}.")
    if selection not in ("nonneg", "value", "abs"):
        raise ValueError(f"selection must be 'nonneg', 'value' or 'abs', got {selection!r}.")
    X = np.asarray(X)
    D = np.asarray(D)
    dtype = np.result_type(X.dtype, D.dtype, np.float32)
    X = X.astype(dtype, copy=False)
    D = D.astype(dtype, copy=False)
    n_threads = effective_n_jobs(n_jobs)
    with blas_limited(n_threads):
        out = np.zeros((X.shape[0], D.shape[0]), dtype=dtype)
        G = D @ D.T
        step = 4096
        for s in range(0, X.shape[0], step):
            idx, coef, _ = _mp_forward(X[s:s + step], D, int(T), selection, gram=G,
                                       n_threads=n_threads)
            out[s:s + step] = _mp_codes(idx, coef, D.shape[0], dtype)
    return out


# --------------------------------------------------------------------------
# estimator
# --------------------------------------------------------------------------
_MP_CONSTRAINTS = {
    "n_latents": [Interval(numbers.Integral, 1, None, closed="left")],
    "n_steps": [Interval(numbers.Integral, 1, None, closed="left")],
    "selection": [Options("nonneg", "value", "abs")],
    "fit_pre_bias": ["boolean"],
    "aux_coef": [Interval(numbers.Real, 0, None, closed="left")],
    "k_aux": [Interval(numbers.Integral, 1, None, closed="left"), Options("auto")],
    "dead_after_n_samples": [Interval(numbers.Integral, 1, None, closed="left"),
                             Options("auto")],
    "residual_tol": [Interval(numbers.Real, 0, 1, closed="left"), None],
}


class MatchingPursuitAutoencoder(BaseAmortizedEncoder):
    r"""Sparse autoencoder whose encoder is matching pursuit over its own dictionary (MP-SAE).

    With unit atoms ``w_j`` (rows of ``components_``) and a pre-encoder
    bias ``b_pre``, a sample is coded by ``n_steps`` residual-guided steps::

        r = x - b_pre ; z = 0
        repeat n_steps times:
            c = W r ; j = argmax c ; z_j += c_j ; r -= c_j w_j
        x_hat = z W + b_pre            (= x - r)

    Each step removes the chosen atom's component from the residual, so
    ``||r||`` never increases and the next atom is chosen on what the
    previous ones left ("conditional orthogonality"): a child feature
    hidden under a correlated parent becomes visible once the parent is
    removed, which one-shot encoders (TopK) miss.  Training minimises
    ``mean ||x - x_hat||^2`` by back-propagating through the unrolled steps.

    Parameters
    ----------
    n_latents : int, default=64
        Number of atoms.
    n_steps : int, default=4
        Pursuit steps (an atom may be chosen more than once, so at most
        ``n_steps`` non-zeros per code).
    selection : {"nonneg", "value", "abs"}, default="nonneg"
        Atom choice: largest positive correlation (codes non-negative; a
        sample with no positive correlation left stops), largest signed
        correlation, or largest magnitude (classical matching pursuit).
    fit_pre_bias : bool, default=True
        Learn ``b_pre`` (initialised at the sample mean); ``False`` keeps it
        at zero.
    aux_coef : float, default=1/32
        Weight of the AuxK-style revival term: atoms not chosen for
        ``dead_after_n_samples`` samples are fitted, ``k_aux`` at a time
        per sample, to the final residual (``mean ||z_dead W_dead - r||^2``),
        which gives them a gradient towards what the live atoms miss.
        0 switches it off.
    k_aux : int or "auto", default="auto"
        Dead atoms per sample in the revival term (``"auto"``:
        ``n_features // 2``), capped at the number of dead atoms.
    dead_after_n_samples : int or "auto", default="auto"
        An atom is dead after this many training samples without being
        chosen with a coefficient above 1e-3 in magnitude; ``"auto"``:
        ``min(10_000_000, n_samples)`` of the first ``fit`` /
        ``partial_fit`` data.
    n_inference_steps : int or None, default=None
        Steps used by :meth:`transform` (``None``: ``n_steps``); the
        pursuit can run longer at test time than in training.
    residual_tol : float in [0, 1) or None, default=None
        Early stop of the pursuit, per sample, in training and coding: a
        sample stops at the first step that would lower its squared
        residual by no more than ``residual_tol`` times its current value
        (``c_j^2 <= residual_tol ||r||^2``: the residual has stopped
        decreasing); its later steps add nothing.  Codes then have as many
        non-zeros as each sample needs, up to ``n_steps``.  ``None`` runs
        every step (the paper's fixed ``n_steps``).
    batch_size : int, default=256
        Samples per optimiser step.
    max_iter : int, default=10
        Epochs.
    tol : float or None, default=None
        Early stop on the relative epoch-loss improvement (see
        :class:`PredictiveSparseDecomposition`); ``None`` runs every epoch.
    n_iter_no_change : int, default=3
        Patience of the early stop.
    learning_rate : float, default=1e-3
        Base learning rate.
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
        Atoms (unit rows), used by the encoder and the decoder.
    decoder_bias_ : ndarray of shape (n_features,)
        ``b_pre``, subtracted before encoding and added after decoding.
    dead_fraction_ : float
        Share of atoms dead at the end of the last epoch.
    loss_curve_ : list of float
        Mean training loss ``||x - x_hat||^2`` per epoch (plus
        ``aux_coef`` times the revival term while atoms are dead), of the
        training data ``X / 2**e`` (see ``learning_rate``).
    n_iter_ : int
        Epochs run.
    n_steps_ : int
        Optimiser steps taken.
    n_features_in_ : int
        Number of features seen during ``fit``.

    See Also
    --------
    KSparseAutoencoder : One-shot TopK encoder.
    PredictiveSparseDecomposition : Dictionary and a tanh encoder trained jointly.
    sparsecode.matching_pursuit : The same pursuit over a fixed dictionary.

    Notes
    -----
    The correlations are updated through the Gram matrix ``W W^T``
    (``c <- c - c_j W W^T[:, j]``): one ``O(B n d)`` product then
    ``O(B n)`` per step.  The backward pass walks the steps in reverse,
    rebuilding each residual from the last one, and touches only the atoms
    chosen (``O(n_steps B d)``), scattered with one sparse product.

    References
    ----------
    V. Costa, T. Fel, E. S. Lubana, B. Tolooshams, D. Ba, "From flat to
    hierarchical: extracting sparse representations with matching pursuit",
    arXiv:2506.03093 (2025).

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.amortized import MatchingPursuitAutoencoder
    >>> from sparsecode.datasets import make_hierarchical_features
    >>> X, D, _ = make_hierarchical_features(2000, random_state=0)
    >>> mp = MatchingPursuitAutoencoder(n_latents=20, n_steps=2, max_iter=2,
    ...                                 random_state=0).fit(X)
    >>> codes = mp.transform(X[:4])
    >>> codes.shape, bool((codes >= 0).all())
    ((4, 20), True)
    """

    _data_unit_attrs = ("decoder_bias_",)

    def __init__(self, n_latents=64, *, n_steps=4, selection="nonneg", fit_pre_bias=True,
                 aux_coef=1 / 32, k_aux="auto", dead_after_n_samples="auto",
                 n_inference_steps=None, residual_tol=None, batch_size=256, max_iter=10,
                 tol=None, n_iter_no_change=3, learning_rate=1e-3, optimizer="adam",
                 lr_schedule=None, shuffle=True, random_state=None, n_jobs=None, verbose=0):
        self.n_latents = n_latents
        self.n_steps = n_steps
        self.selection = selection
        self.fit_pre_bias = fit_pre_bias
        self.aux_coef = aux_coef
        self.k_aux = k_aux
        self.dead_after_n_samples = dead_after_n_samples
        self.n_inference_steps = n_inference_steps
        self.residual_tol = residual_tol
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

    def _validate_params_extra(self, n_features):
        validate_params({k: getattr(self, k) for k in _MP_CONSTRAINTS}, _MP_CONSTRAINTS,
                        type(self).__name__)
        _check_inference_steps(self.n_inference_steps)

    def _init_params(self, X_sample, rng):
        dt = X_sample.dtype
        W = rng.standard_normal((self.n_latents, X_sample.shape[1]))
        W /= np.linalg.norm(W, axis=1, keepdims=True)
        self.components_ = W.astype(dt)
        if self.fit_pre_bias:
            self.decoder_bias_ = X_sample.mean(axis=0).astype(dt)
        else:
            self.decoder_bias_ = np.zeros(X_sample.shape[1], dtype=dt)
        da = self.dead_after_n_samples
        self._dead_after = (min(10_000_000, max(self._n_samples_hint_, 1)) if da == "auto"
                            else int(da))
        self._k_aux = X_sample.shape[1] // 2 if self.k_aux == "auto" else int(self.k_aux)
        self._since_fired = np.zeros(self.n_latents, dtype=np.int64)
        self.dead_fraction_ = 0.0

    def _parameters(self):
        if self.fit_pre_bias:
            return [self.components_, self.decoder_bias_]
        return [self.components_]

    def _train_step(self, Xb):
        W = self.components_
        B = Xb.shape[0]
        R0 = Xb - self.decoder_bias_
        idx, coef, RT = _mp_forward(R0, W, int(self.n_steps), self.selection,
                                    residual_tol=self.residual_tol,
                                    n_threads=self._n_threads())
        loss = float(np.einsum("ij,ij->", RT, RT)) / B
        dW, dR0 = _mp_backward((2.0 / B) * RT, idx, coef, RT, W)
        fired = np.zeros(W.shape[0], dtype=bool)
        fired[idx[np.abs(coef) > 1e-3]] = True
        since = self._since_fired + B
        since[fired] = 0
        dead = np.flatnonzero(since >= self._dead_after)
        if self.aux_coef > 0 and dead.size and self._k_aux > 0:
            aux, dWd = _aux_dead(RT, W[dead], min(self._k_aux, dead.size), self.selection)
            loss += float(self.aux_coef) * aux
            dW[dead] += float(self.aux_coef) * dWd
        dW -= np.einsum("ij,ij->i", dW, W)[:, None] * W
        grads = [dW, -dR0.sum(axis=0)] if self.fit_pre_bias else [dW]
        self._apply_gradients(loss, grads)
        self._since_fired = since
        W /= np.maximum(np.linalg.norm(W, axis=1, keepdims=True), 1e-12)
        return loss

    def _on_epoch_end(self, epoch):
        seen = min(self._dead_after, max(self.n_steps_ * self.batch_size, 1))
        self.dead_fraction_ = float(np.mean(self._since_fired >= seen))

    def _encode(self, X):
        T = self.n_steps if self._T is None else self._T
        idx, coef, _ = _mp_forward(X - self.decoder_bias_, self.components_, int(T),
                                   self.selection, residual_tol=self.residual_tol,
                                   n_threads=self._n_threads())
        return _mp_codes(idx, coef, self.components_.shape[0], X.dtype, sparse=True)

    def transform(self, X, output="dense", *, n_steps=None):
        """Codes of ``X`` by matching pursuit over the learned atoms.

        Parameters
        ----------
        X : array-like, np.memmap or dask array of shape (n_samples, n_features)
        output : {"dense", "csr"}, default="dense"
            ``"csr"`` returns a sparse matrix built chunk by chunk.
        n_steps : int or None, default=None
            Pursuit steps (default: ``n_inference_steps``, else the training
            ``n_steps``).

        Returns
        -------
        codes : ndarray or csr_matrix of shape (n_samples, n_latents)
        """
        T = self.n_inference_steps if n_steps is None else n_steps
        _check_inference_steps(T, "n_steps" if n_steps is not None else "n_inference_steps")
        self._T = T
        try:
            return super().transform(X, output=output)
        finally:
            del self._T


def _check_inference_steps(T, name="n_inference_steps"):
    if T is not None and (isinstance(T, bool) or not isinstance(T, numbers.Integral) or T < 1):
        raise ValueError(f"{name} must be None or an integer >= 1, got {T!r}.")
