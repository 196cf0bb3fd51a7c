"""k-sparse / TopK sparse autoencoder (Makhzani & Frey 2014; Gao et al. 2024) and BatchTopK.

Forward model (one sample ``x``, spec section 3.1)::

    a = W_enc (x - b_pre) + b_enc ;  S = TopK_k(a) ;  z_S = ReLU(a_S) ;  x_hat = W_dec z + b_pre

Training minimises the normalised MSE ``s * mean((x - x_hat)^2)`` with
``s = 1 / mean((x - mean(x))^2)`` on a stats sample, plus ``aux_coef`` times
the AuxK loss: the ``k_aux`` largest pre-activations among the *dead*
latents (no activation above 1e-3 over the last ``dead_after_n_samples``
training samples) reconstruct the residual ``e = x - x_hat``.

Only the selected latents get gradient.  With ``g_bj = G_b . d_j``
(``G = dL/dx_hat``) for selected ``(b, j)`` with ``z_bj > 0``::

    dW_enc[j] = sum_b g_bj (x_b - b_pre)     db_enc[j] = sum_b g_bj
    dW_dec[j] = sum_b z_bj G_b               db_pre = sum_b G_b - W_enc^T db_enc

computed by the compiled kernels of ``sparsecode._ext._sae`` (sparse decode,
row dots and scatter-adds over the active latents only); the encoder forward
``(X - b_pre) W_enc^T`` is the only dense product (one BLAS GEMM).  Decoder
atoms are kept at unit norm: the gradient component along each atom is
removed, the optimiser steps, the atoms are renormalised.
"""

import math
import numbers

import numpy as np
import scipy.sparse as sp

from .._parallel import blas_limited, effective_n_jobs
from .._scaling import nearest_pow2
from .._registry import register_encoder
from .._validation import check_dictionary, check_matrix
from .._ext import _sae
from ._base import BaseAmortizedEncoder

__all__ = ["KSparseAutoencoder", "geometric_median", "topk_encode"]


def geometric_median(X, max_iter=100, tol=1e-5):
    """Geometric median of the rows of ``X`` by Weiszfeld's iteration.

    Starts at the mean; weights ``1 / max(||x_i - g||, 1e-12)``; stops when
    the step is below ``tol`` or after ``max_iter`` iterations.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    max_iter : int, default=100
    tol : float, default=1e-5

    Returns
    -------
    median : ndarray of shape (n_features,)

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [100.0, 100.0]])
    >>> np.round(geometric_median(X), 2)      # robust to the outlier, unlike the mean
    array([0.5, 0.5])
    """
    X = np.asarray(X, dtype=np.float64)
    g = X.mean(axis=0)
    for _ in range(max_iter):
        dist = np.linalg.norm(X - g, axis=1)
        w = 1.0 / np.maximum(dist, 1e-12)
        g_new = (w @ X) / w.sum()
        if np.linalg.norm(g_new - g) < tol:
            return g_new
        g = g_new
    return g


def _topk(A, k, n_threads, cols=None):
    """(values, indices) of the k largest entries of each row.

    The k entries of a row come in no particular order (heap / quickselect
    order); sort them where an order matters (``_to_csr`` does).
    """
    B = A.shape[0]
    idx = np.empty((B, k), dtype=np.int64)
    val = np.empty((B, k), dtype=A.dtype)
    _sae.topk_rows(A, k, idx, val, cols, n_threads)
    return val, idx


def topk_encode(X, dictionary, *, n_nonzero_coefs, positive=False, n_jobs=None):
    """Codes by keeping the ``n_nonzero_coefs`` largest correlations ``X @ D.T`` of each row.

    With ``positive=True`` the largest *values* are kept and negative ones
    zeroed: exactly the tied encoder of a TopK sparse autoencoder with zero
    biases.  With ``positive=False`` the largest magnitudes are kept, signs
    and values unchanged (one step of hard thresholding).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Real, finite signals as rows.
    dictionary : array-like of shape (n_atoms, n_features)
        Atoms as rows (unit norm for the codes to be correlations); real,
        finite, no zero atom.
    n_nonzero_coefs : int
        Entries kept per row, in ``[1, n_atoms]``.
    positive : bool, default=False
    n_jobs : int or None
        Threads of the selection kernel.

    Returns
    -------
    codes : ndarray of shape (n_samples, n_atoms)
        float32 when both inputs are float32, else float64.

    Raises
    ------
    ValueError
        When ``X`` or ``dictionary`` is not 2-D, complex or not finite, when
        their widths differ, or when ``n_nonzero_coefs`` is not an integer in
        ``[1, n_atoms]``.

    Examples
    --------
    >>> import numpy as np
    >>> D = np.eye(3)
    >>> topk_encode(np.array([[0.5, -2.0, 1.0]]), D, n_nonzero_coefs=2)
    array([[ 0., -2.,  1.]])
    >>> topk_encode(np.array([[0.5, -2.0, 1.0]]), D, n_nonzero_coefs=2, positive=True)
    array([[0.5, 0. , 1. ]])
    """
    X = check_matrix(X, "X")
    D = check_dictionary(dictionary, "dictionary")
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features but the dictionary atoms have {D.shape[1]}; "
            "they must agree (dictionary is (n_atoms, n_features))."
        )
    return _topk_codes(X, D, n_nonzero_coefs, positive, n_jobs)


def _check_topk_k(n_nonzero_coefs, n_atoms):
    """``n_nonzero_coefs`` as an int in ``[1, n_atoms]`` (no array pass)."""
    if not _is_int(n_nonzero_coefs):
        raise ValueError(f"n_nonzero_coefs must be an integer, got {n_nonzero_coefs!r}.")
    k = int(n_nonzero_coefs)
    if not 1 <= k <= n_atoms:
        raise ValueError(f"n_nonzero_coefs must be in [1, n_atoms={n_atoms}], got {k}; "
                         "keep at most as many entries as there are atoms.")
    return k


def _topk_codes(X, D, n_nonzero_coefs, positive, n_jobs):
    """TopK codes of validated 2-D real finite ``X`` and ``D`` of matching widths."""
    k = _check_topk_k(n_nonzero_coefs, D.shape[0])
    dtype = np.result_type(X.dtype, D.dtype, np.float32)
    C = np.ascontiguousarray(X.astype(dtype, copy=False) @ D.astype(dtype, copy=False).T)
    nt = effective_n_jobs(n_jobs)
    if positive:
        val, idx = _topk(C, k, nt)
        np.maximum(val, 0, out=val)
    else:
        _, idx = _topk(np.ascontiguousarray(np.abs(C)), k, nt)
        val = np.take_along_axis(C, idx, axis=1)
    out = np.zeros_like(C)
    np.put_along_axis(out, idx, val, axis=1)
    return out


@register_encoder(
    "topk",
    description="TopK of the correlations X @ D.T (one product; the tied encoder of a TopK SAE "
                "with positive=True)",
    params=("n_nonzero_coefs", "positive"),
)
def _encode_topk(X, D, *, n_nonzero_coefs, positive=False, n_jobs=None):
    # sparse_encode has already checked X and D (2-D, real, finite, same width)
    return _topk_codes(X, D, n_nonzero_coefs, positive, n_jobs)


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


class KSparseAutoencoder(BaseAmortizedEncoder):
    """TopK sparse autoencoder (k-sparse autoencoder) with AuxK and optional BatchTopK.

    The TopK SAE of Gao et al. (2024): pre-encoder bias ``b_pre`` (geometric
    median of a sample at initialisation) subtracted before the encoder and
    added back after the decoder, a ReLU on the ``k`` largest
    pre-activations, unit-norm decoder atoms, decoder initialised as the
    encoder's transpose, normalised-MSE loss and the AuxK loss reviving dead
    latents.  Options give the k-sparse autoencoder of Makhzani & Frey (2014):
    a ``k`` schedule from ``k_start`` down to ``k`` during training, ``alpha_encode
    * k`` latents kept at test time, tied weights, no ReLU.  ``batch_topk=True``
    trains BatchTopK (Bussmann et al. 2024): the ``k * batch`` largest
    activations of the whole batch are kept (``k`` on average per sample); at
    inference a latent is active when its pre-activation exceeds
    ``threshold_``, estimated during training.

    Training steps run compiled kernels that use the sparsity: the backward
    pass touches only the active latents of each sample.  The encoder forward
    product is the one dense GEMM.  Use :meth:`transform` (``output="csr"`` for
    many latents) to code with the trained encoder; ``components_`` (the
    decoder atoms) also serve :func:`sparsecode.sparse_encode` /
    :class:`sparsecode.SparseCoder` with any registered algorithm, e.g.
    ``algorithm="topk"`` (the tied encoder over the decoder) or ``"omp"``.

    Parameters
    ----------
    n_latents : int, default=512
        Number of latents (decoder atoms).
    k : int, default=32
        Active latents per sample (mean per sample with ``batch_topk``); must
        be below ``n_latents``.
    k_aux : int or "auto", default="auto"
        Dead latents used by the AuxK loss; "auto" is ``n_features // 2``,
        always capped at the number of dead latents.
    aux_coef : float, default=1/32
        Weight of the AuxK loss (0 switches it off).
    dead_after_n_samples : int or "auto", default="auto"
        A latent is dead after this many training samples without an
        activation above 1e-3.  "auto": ``min(10_000_000, n_samples)`` of the
        data given to the first ``fit`` / ``partial_fit``.
    aux_scale_by_dead : bool, default=False
        Scale the AuxK loss by ``min(n_dead / k_aux, 1)``.
    batch_topk : bool, default=False
        Train with BatchTopK and code with the estimated threshold.
    k_start : int or None, default=None
        Start the k schedule here (Makhzani & Frey): ``k`` decreases linearly
        from ``k_start`` to ``k`` over the first ``k_schedule_fraction`` of
        the planned steps.
    k_schedule_fraction : float, default=0.5
    alpha_encode : float, default=1.0
        At :meth:`transform`, keep ``round(alpha_encode * k)`` latents
        (Makhzani & Frey use 3); ignored with ``batch_topk``.
    tied : bool, default=False
        One matrix for encoder and decoder (``W_enc = W_dec``).
    relu : bool, default=True
        ReLU on the selected pre-activations (False: signed values kept, as
        in the k-sparse autoencoder).
    normalize_decoder : bool, default=True
        Keep decoder atoms at unit norm.
    optimizer : {"adam", "sgd"} or Adam or SGD, default="adam"
        Adam defaults to ``betas=(0.9, 0.999), eps=6.25e-10``.
    learning_rate : float or "auto", default="auto"
        "auto": ``2e-4 / sqrt(n_latents / 2**14)`` (the size rule of the
        reference implementations).
        Training runs on ``X / 2**e``, ``2**e`` the power of two nearest
        ``max|X|`` of the initial sample (an exact division), so the learning
        rate does not depend on the data scale.
    lr_schedule : None, "constant", "linear", "cosine" or callable, default=None
    batch_size : int, default=1024
    max_iter : int or "auto", default="auto"
        Epochs (passes over the data).  "auto": enough epochs for at least
        2048 optimiser steps, and at least 10 (``max(10, ceil(2048 /
        ceil(n_samples / batch_size)))``): 42 epochs for 50,000 samples,
        10 from 210,000 samples up.  Adam needs on the order of two
        thousand steps whatever the data size; on planted features (d = 64,
        256 atoms, 5 active, 50,000 samples) the 10 epochs (490 steps) of a
        fixed budget recover 82 % of the atoms at cosine >= 0.95, 2048 steps
        98 %.
    tol : float or None, default=None
        Stop when the epoch loss improves by less than ``tol`` (relative) for
        ``n_iter_no_change`` epochs; None runs every epoch.
    n_iter_no_change : int, default=3
    shuffle : bool, default=True
    n_jobs : int or None, default=None
        Threads of the compiled kernels (BLAS keeps its own setting).
    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
        Progress bar (tqdm when installed, else one line per epoch).

    Attributes
    ----------
    components_ : ndarray of shape (n_latents, n_features)
        Decoder atoms (unit-norm rows).
    encoder_weights_ : ndarray of shape (n_latents, n_features)
        ``W_enc`` (the same array as ``components_`` when ``tied``).
    encoder_bias_ : ndarray of shape (n_latents,)
    decoder_bias_ : ndarray of shape (n_features,)
        ``b_pre``.
    threshold_ : float or None
        Inference threshold of BatchTopK.
    loss_curve_ : list of float
        Mean training loss per epoch (the squared error divided by the data
        variance: the same at every data scale).
    dead_fraction_ : float
        Share of latents dead at the end of training.
    n_iter_, n_steps_ : int
        Epochs and optimiser steps run.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from sparsecode.amortized import KSparseAutoencoder
    >>> rng = np.random.default_rng(0)
    >>> D = rng.standard_normal((32, 16)); D /= np.linalg.norm(D, axis=1, keepdims=True)
    >>> Z = np.zeros((2000, 32))
    >>> for z in Z: z[rng.choice(32, 2, replace=False)] = rng.uniform(1, 2, 2)
    >>> sae = KSparseAutoencoder(n_latents=32, k=2, learning_rate=3e-3, batch_size=64,
    ...                          max_iter=20, random_state=0).fit(Z @ D)
    >>> codes = sae.transform(Z @ D, output="csr")
    >>> codes.shape, codes.getnnz(axis=1).max() <= 2
    ((2000, 32), True)
    """

    _data_unit_attrs = ("encoder_bias_", "decoder_bias_", "threshold_")
    _auto_min_steps = 2048

    def __init__(self, n_latents=512, k=32, *, k_aux="auto", aux_coef=1 / 32,
                 dead_after_n_samples="auto", aux_scale_by_dead=False, batch_topk=False,
                 k_start=None, k_schedule_fraction=0.5, alpha_encode=1.0, tied=False,
                 relu=True, normalize_decoder=True, optimizer="adam", learning_rate="auto",
                 lr_schedule=None, batch_size=1024, max_iter="auto", tol=None,
                 n_iter_no_change=3, shuffle=True, n_jobs=None, random_state=None, verbose=0):
        self.n_latents = n_latents
        self.k = k
        self.k_aux = k_aux
        self.aux_coef = aux_coef
        self.dead_after_n_samples = dead_after_n_samples
        self.aux_scale_by_dead = aux_scale_by_dead
        self.batch_topk = batch_topk
        self.k_start = k_start
        self.k_schedule_fraction = k_schedule_fraction
        self.alpha_encode = alpha_encode
        self.tied = tied
        self.relu = relu
        self.normalize_decoder = normalize_decoder
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    # ---------------------------------------------------------- parameters
    def _resolved_lr(self):
        if isinstance(self.learning_rate, str) and self.learning_rate == "auto":
            n = self.n_latents if _is_int(self.n_latents) and self.n_latents > 0 else 2 ** 14
            return 2e-4 / math.sqrt(n / 2 ** 14)
        return self.learning_rate

    def _optimizer_kwargs(self):
        if isinstance(self.optimizer, str) and self.optimizer.lower() == "adam":
            return {"betas": (0.9, 0.999), "eps": 6.25e-10}
        return {}

    def _validate_params_extra(self, n_features):
        n, k = self.n_latents, self.k
        if not _is_int(n) or n < 2:
            raise ValueError(f"n_latents must be an integer >= 2, got {n!r}.")
        if not _is_int(k) or not 1 <= k < n:
            raise ValueError(f"k must be an integer with 1 <= k < n_latents={n}, got {k!r}; "
                             "lower k or raise n_latents.")
        if self.k_start is not None and (not _is_int(self.k_start)
                                         or not k <= self.k_start <= n):
            raise ValueError(f"k_start must be None or an integer in [k={k}, n_latents={n}], "
                             f"got {self.k_start!r}.")
        if not 0.0 <= self.k_schedule_fraction <= 1.0:
            raise ValueError(f"k_schedule_fraction must be in [0, 1], got "
                             f"{self.k_schedule_fraction!r}.")
        if not (isinstance(self.alpha_encode, numbers.Real) and self.alpha_encode >= 1.0):
            raise ValueError(f"alpha_encode must be a number >= 1, got {self.alpha_encode!r}.")
        if not (self.k_aux == "auto" or (_is_int(self.k_aux) and self.k_aux >= 1)):
            raise ValueError(f"k_aux must be 'auto' or an integer >= 1, got {self.k_aux!r}.")
        if not (isinstance(self.aux_coef, numbers.Real) and self.aux_coef >= 0):
            raise ValueError(f"aux_coef must be a number >= 0, got {self.aux_coef!r}.")
        da = self.dead_after_n_samples
        if not (da == "auto" or (_is_int(da) and da >= 1)):
            raise ValueError(f"dead_after_n_samples must be 'auto' or an integer >= 1, got "
                             f"{da!r}.")
        lr = self.learning_rate
        if not (lr == "auto" or isinstance(lr, numbers.Real)):
            raise ValueError(f"learning_rate must be 'auto' or a number > 0, got {lr!r}.")

    def _init_params(self, X_sample, rng):
        self._ws = None  # buffers of a previous fit may have another n_latents or width
        dtype = X_sample.dtype
        n, d = self.n_latents, X_sample.shape[1]
        self._nt = self._n_threads()
        b_pre = geometric_median(X_sample).astype(dtype)
        var = float(np.mean((X_sample - X_sample.mean(axis=0)) ** 2))
        self._loss_scale = 1.0 / var if var > 0 else 1.0
        bound = 1.0 / math.sqrt(d)
        W = rng.uniform(-bound, bound, size=(n, d)).astype(dtype)
        W_dec = W.copy()
        if self.normalize_decoder:
            W_dec /= np.maximum(np.linalg.norm(W_dec, axis=1, keepdims=True), 1e-12)
        self.components_ = W_dec
        self.encoder_weights_ = W_dec if self.tied else W
        self.encoder_bias_ = np.zeros(n, dtype=dtype)
        self.decoder_bias_ = b_pre
        self.threshold_ = None
        self._thr_sum, self._thr_count = 0.0, 0
        self._since_fired = np.zeros(n, dtype=np.int64)
        da = self.dead_after_n_samples
        self._dead_after = (min(10_000_000, max(self._n_samples_hint_, 1)) if da == "auto"
                            else int(da))
        self._k_aux = d // 2 if self.k_aux == "auto" else int(self.k_aux)
        self.dead_fraction_ = 0.0

    def _parameters(self):
        if self.tied:
            return [self.components_, self.encoder_bias_, self.decoder_bias_]
        return [self.encoder_weights_, self.encoder_bias_, self.components_, self.decoder_bias_]

    def _current_k(self):
        k = self.k
        if self.k_start is None or self.k_start == k:
            return k
        horizon = self.k_schedule_fraction * self._planned_steps_
        if horizon <= 0 or self.n_steps_ >= horizon:
            return k
        t = self.n_steps_ / horizon
        return int(round(self.k_start + (k - self.k_start) * t))

    # ------------------------------------------------------------- forward
    def _preacts(self, X, ws=None):
        if ws is None:
            # coding: one GEMM, the pre-encoder bias folded into the latent bias
            W = self.encoder_weights_
            A = X @ W.T
            A += self.encoder_bias_ - W @ self.decoder_bias_
            return None, A
        else:
            B = X.shape[0]
            Xc = np.subtract(X, self.decoder_bias_, out=ws["Xc"][:B])
            A = np.matmul(Xc, self.encoder_weights_.T, out=ws["A"][:B])
        A += self.encoder_bias_
        return Xc, A

    def _workspace(self, B, d, dtype):
        """Buffers reused from step to step (no fresh pages per step)."""
        ws = getattr(self, "_ws", None)
        n = self.n_latents
        if (ws is None or ws["A"].shape[0] < B or ws["A"].dtype != dtype
                or ws["A"].shape[1] != n or ws["Xc"].shape[1] != d
                or ws["dW_dec"].shape != (n, d)):
            ws = {"A": np.empty((B, n), dtype=dtype),
                  **{key: np.empty((B, d), dtype=dtype)
                     for key in ("Xc", "Xhat", "E", "Ehat", "G", "Ga", "S")},
                  "dW_dec": np.zeros((n, d), dtype=dtype),
                  "dW_enc": np.zeros((n, d), dtype=dtype)}
            self._ws = ws
        return ws

    def _select_batch_topk(self, A, k, update_state=True):
        """CSR triplets of the k*B largest (positive) entries of the whole batch."""
        B, n = A.shape
        m = min(k * B, B * n)
        flat = A.ravel()
        theta = np.partition(flat, flat.size - m)[flat.size - m]
        mask = (A >= theta) & (A > 0) if self.relu else A >= theta
        rows, cols = np.nonzero(mask)
        vals = A[rows, cols]
        indptr = np.zeros(B + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=B), out=indptr[1:])
        if vals.size and update_state:
            pos = vals[vals > 0] if self.relu else vals
            if pos.size:
                self._thr_sum += float(pos.min())
                self._thr_count += 1
        return indptr, cols.astype(np.int64), np.ascontiguousarray(vals)

    def _train_step(self, Xb):
        loss, grads = self._loss_and_grads(Xb)
        nt = self._nt
        if self.normalize_decoder:
            # remove the gradient component along each (unit) atom
            _sae.project_rows(grads[0] if self.tied else grads[2], self.components_, nt)
        self._optimizer_.n_threads = nt
        self._apply_gradients(loss, grads)
        if self.normalize_decoder:
            _sae.normalize_rows(self.components_, nt)
        return loss

    def _loss_and_grads(self, Xb, update_state=True, aux_target=None):
        """Loss of the batch and its gradients, in the order of ``_parameters()``.

        Only the selected latents (and the AuxK latents) get gradient; the
        selection itself is held fixed, and so is the AuxK target (the
        residual ``e``, or ``aux_target`` when given: finite-difference checks
        hold it fixed).  With ``update_state=False`` the dead-latent counters
        are left unchanged.
        """
        nt = self._nt
        dtype = Xb.dtype
        B, d = Xb.shape
        n = self.n_latents
        W_dec = self.components_
        W_enc = self.encoder_weights_
        k = self._current_k()
        ws = self._workspace(B, d, dtype)
        Xc, A = self._preacts(Xb, ws)
        if self.batch_topk:
            indptr, idx, val = self._select_batch_topk(A, k, update_state)
        else:
            val, idx = _topk(A, k, nt)
            idx = idx.ravel()
            val = val.ravel()
            indptr = np.arange(0, B * k + 1, k, dtype=np.int64)
        z = np.maximum(val, 0) if self.relu else val
        Xhat = ws["Xhat"][:B]
        _sae.sparse_decode(indptr, idx, z, W_dec, self.decoder_bias_, Xhat, nt)
        E = np.subtract(Xb, Xhat, out=ws["E"][:B])
        s = self._loss_scale
        # (products into the step's buffers: no fresh pages per step)
        loss = s * float(np.mean(np.multiply(E, E, out=ws["S"][:B])))
        G = np.multiply(E, dtype.type(-2.0 * s / (B * d)), out=ws["G"][:B])
        gz = np.empty_like(z)
        _sae.sparse_row_dots(indptr, idx, G, W_dec, gz, nt)
        if self.relu:
            gz *= val > 0
        dW_dec = ws["dW_dec"]
        dW_dec.fill(0)
        _sae.scatter_rows(indptr, idx, z, G, dW_dec, nt)
        dW_enc = dW_dec if self.tied else ws["dW_enc"]
        if not self.tied:
            dW_enc.fill(0)
        _sae.scatter_rows(indptr, idx, gz, Xc, dW_enc, nt)
        db_enc = np.bincount(idx, weights=gz, minlength=n).astype(dtype)
        # dead-latent bookkeeping (samples since the last activation above 1e-3)
        fired = np.zeros(n, dtype=bool)
        fired[idx[z > 1e-3]] = True
        since = self._since_fired + B
        since[fired] = 0
        if update_state:
            self._since_fired = since
        dead = np.flatnonzero(since >= self._dead_after)
        if self.aux_coef > 0 and dead.size and self._k_aux > 0:
            k_aux = min(self._k_aux, dead.size)
            Et = E if aux_target is None else aux_target
            Dv = np.subtract(Et, Et.mean(axis=0), out=ws["S"][:B])
            e_var = float(np.mean(np.multiply(Dv, Dv, out=Dv)))
            if e_var > 0:
                va, ia = _topk(A, k_aux, nt, cols=dead)
                ia = ia.ravel()
                va = va.ravel()
                za = np.maximum(va, 0)
                ip_a = np.arange(0, B * k_aux + 1, k_aux, dtype=np.int64)
                Ehat = ws["Ehat"][:B]
                _sae.sparse_decode(ip_a, ia, za, W_dec, None, Ehat, nt)
                Ra = np.subtract(Ehat, Et, out=Ehat)
                coef = self.aux_coef
                if self.aux_scale_by_dead:
                    coef *= min(dead.size / self._k_aux, 1.0)
                aux = float(np.mean(np.multiply(Ra, Ra, out=ws["S"][:B]))) / e_var
                loss += coef * aux
                Ga = np.multiply(Ra, dtype.type(2.0 * coef / (B * d * e_var)), out=ws["Ga"][:B])
                ga = np.empty_like(za)
                _sae.sparse_row_dots(ip_a, ia, Ga, W_dec, ga, nt)
                ga *= va > 0
                _sae.scatter_rows(ip_a, ia, za, Ga, dW_dec, nt)
                _sae.scatter_rows(ip_a, ia, ga, Xc, dW_enc, nt)
                db_enc += np.bincount(ia, weights=ga, minlength=n).astype(dtype)
        db_pre = G.sum(axis=0) - W_enc.T @ db_enc
        if self.tied:
            return loss, [dW_dec, db_enc, db_pre]
        return loss, [dW_enc, db_enc, dW_dec, db_pre]

    def _on_epoch_end(self, epoch):
        seen = min(self._dead_after, max(self.n_steps_ * self.batch_size, 1))
        self.dead_fraction_ = float(np.mean(self._since_fired >= seen))
        if self.batch_topk and self._thr_count:
            self.threshold_ = self._thr_sum / self._thr_count

    # ------------------------------------------------------------- encoding
    _encode_block_rows = 256
    _encode_chunk_rows = 65536

    def _transform(self, X, output):
        if self.batch_topk:
            return super()._transform(X, output)
        # one fused kernel per chunk: float32 GEMM of a block of rows into a cache-sized
        # buffer, top-k, bias and ReLU there; the codes go straight to the output (dense
        # rows, or (index, value) pairs for CSR: no dense intermediate)
        dtype = self.components_.dtype
        W = np.ascontiguousarray(self.encoder_weights_, dtype=dtype)
        b = np.ascontiguousarray(self.encoder_bias_ - W @ self.decoder_bias_, dtype=dtype)
        W32 = np.ascontiguousarray(W, dtype=np.float32)
        n, n_lat = X.shape[0], W.shape[0]
        k = min(int(round(self.alpha_encode * self.k)), n_lat)
        nt = effective_n_jobs(self.n_jobs)
        dense = output == "dense"
        if dense:
            out = np.zeros((n, n_lat), dtype=dtype)
        else:
            idx = np.empty((n, k), dtype=np.int64)
            val = np.empty((n, k), dtype=dtype)
        step = self._encode_chunk_rows
        R = self._encode_block_rows
        with np.errstate(over="ignore"):  # out of the float32 range: coded again below
            b32 = b.astype(np.float32)
        b_max = float(np.abs(b).max()) if b.size else 0.0
        with blas_limited(1):  # the kernel's threads each run a one-thread GEMM
            for s in range(0, n, step):
                e = min(s + step, n)
                Xc = self._read(X, s, e, dtype)
                args = (None, None, out[s:e]) if dense else (idx[s:e], val[s:e], None)
                # float64 data select through float32; the kernel reports the largest |x|
                # of each block as it converts them, and a chunk outside the float32
                # range is coded again at a power-of-two scale (exact) that keeps the
                # pre-activations inside it
                absmax = np.zeros(-(-(e - s) // R)) if dtype == np.float64 else None
                _sae.encode_topk(Xc, W32, W, b32, b, k, self.relu, *args, 1.0, R, nt, absmax)
                if absmax is not None and Xc.size:
                    m = max(float(absmax.max()), b_max)
                    if m > 0 and not 2.0 ** -60 <= m <= 2.0 ** 60:
                        xs = 1.0 / max(float(nearest_pow2(m)), 2.0 ** -1000)
                        if dense:
                            out[s:e] = 0
                        _sae.encode_topk(Xc, W32, W, (b * xs).astype(np.float32), b, k,
                                         self.relu, *args, xs, R, nt)
        if dense:
            return out
        keep = val != 0
        if keep.all():
            indptr = np.arange(0, n * k + 1, k, dtype=np.int64)
            return sp.csr_matrix((val.ravel(), idx.ravel(), indptr), shape=(n, n_lat))
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=indptr[1:])
        return sp.csr_matrix((val[keep], idx[keep], indptr), shape=(n, n_lat))

    def _encode(self, X):
        _, A = self._preacts(X)
        A = np.ascontiguousarray(A)
        if self.batch_topk:
            thr = self.threshold_ if self.threshold_ is not None else 0.0
            A[A <= thr] = 0
            return sp.csr_matrix(A)
        k = min(int(round(self.alpha_encode * self.k)), self.n_latents)
        val, idx = _topk(A, k, effective_n_jobs(self.n_jobs))
        if self.relu:
            np.maximum(val, 0, out=val)
        return val, idx
