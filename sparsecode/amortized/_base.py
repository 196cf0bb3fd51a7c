"""The mini-batch training loop shared by the amortised (learned) sparse encoders.

:class:`BaseAmortizedEncoder` owns everything that is not the model itself:
input checks, batching over NumPy, memory-mapped and dask arrays, shuffling,
the optimiser, the progress display, divergence checks, chunked ``transform``
(dense or CSR codes) and ``inverse_transform``.

A model subclasses it, declares its ``__init__`` parameters (scikit-learn
style, stored untouched) and implements four hooks:

``_init_params(self, X_sample, rng)``
    Create the fitted parameters from a sample of the data (at most
    ``_init_sample_size`` rows, float64 or float32 like the data).  Must set
    ``self.components_`` (n_latents, n_features) and any other parameter
    arrays.
``_parameters(self) -> list of ndarray``
    The arrays the optimiser updates, in a fixed order.
``_train_step(self, Xb) -> float``
    One optimiser step on the batch ``Xb`` (C-contiguous, model dtype):
    forward, backward, then ``self._apply_gradients(loss, grads)`` (which
    raises on a non-finite loss or update *before* touching any parameter and
    runs the optimiser), then any projection (renormalising atoms).  Returns
    the batch loss.
``_encode(self, X)``
    Codes of a chunk of rows: either ``(values, indices)`` arrays of shape
    (n_rows, k) (a fixed number of entries per row; zero values are dropped
    from CSR output), a ``scipy.sparse`` matrix, or a dense array
    (n_rows, n_latents).

Optional hooks: ``_decode(codes)`` (default ``codes @ components_`` plus
``decoder_bias_`` when the model has one), ``_on_epoch_end(epoch)``,
``_n_latents_out()`` (default ``components_.shape[0]``).

The loop reads these parameters of the subclass: ``batch_size``,
``max_iter`` (epochs), ``tol`` (None: run every epoch), ``n_iter_no_change``
(optional, default 3), ``learning_rate``, ``optimizer`` ("adam", "sgd" or
an instance of :class:`~sparsecode.amortized.SGD` /
:class:`~sparsecode.amortized.Adam`), ``lr_schedule`` (optional: None,
"constant", "linear", "cosine" or a callable), ``shuffle``,
``random_state`` and ``verbose``.  Subclasses give extra optimiser settings
through ``_optimizer_kwargs()``.
"""

import math
import numbers
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._parallel import blas_limited, effective_n_jobs
from .._scaling import data_pow2
from .._validation import validate_X
from ._optim import TrainingDivergedError, _check_lr, constant, cosine, linear_decay, make_optimizer

__all__ = ["BaseAmortizedEncoder"]


def _is_dask(X):
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "compute")


def _is_streamed(X):
    """Arrays read chunk by chunk instead of validated as a whole."""
    return isinstance(X, np.memmap) or _is_dask(X)


def _check_streamed(X, name="X"):
    if len(X.shape) != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got shape {X.shape}.")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"{name} is empty (shape {X.shape}); pass at least one sample and "
                         "feature.")
    if not np.issubdtype(np.dtype(X.dtype), np.number) or np.issubdtype(np.dtype(X.dtype),
                                                                           np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {X.dtype}.")


def _model_dtype(dtype):
    return np.float32 if np.dtype(dtype) == np.float32 else np.float64


class _Progress:
    """tqdm bar when tqdm is installed, else one plain line per epoch."""

    def __init__(self, verbose, total, name):
        self.verbose = verbose
        self.bar = None
        self.name = name
        self.total = total
        self.t0 = time.perf_counter()
        if verbose:
            try:
                from tqdm.auto import tqdm
                self.bar = tqdm(total=total, desc=name, unit="step", file=sys.stderr)
            except ImportError:
                self.bar = None

    def step(self, loss):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}", refresh=False)

    def epoch(self, epoch, n_epochs, loss, n_steps):
        if self.verbose and self.bar is None:
            print(f"[{self.name}] epoch {epoch + 1}/{n_epochs}  steps {n_steps}  "
                  f"loss {loss:.6g}  {time.perf_counter() - self.t0:.1f}s", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class BaseAmortizedEncoder(TransformerMixin, BaseEstimator):
    """Base class of the trained sparse encoders (see the module docstring for the hooks)."""

    # rows read at once from a memory-mapped or dask array (at least batch_size);
    # set on an instance to change it
    _stream_chunk_bytes = 1 << 22
    _init_sample_size = 32768
    _transform_chunk_rows = 4096
    # fitted attributes in data units (divided by ``_x_scale_`` while training: the
    # optimiser's steps, like its learning rate, are then independent of the data scale)
    _data_unit_attrs = ()
    # False: train on X as given
    _rescale_training = True
    # max_iter="auto" (accepted when set): enough epochs for at least this many optimiser
    # steps, and never fewer than _auto_min_epochs
    _auto_min_steps = None
    _auto_min_epochs = 10

    # ------------------------------------------------------------------ hooks
    def _init_params(self, X_sample, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def _parameters(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _train_step(self, Xb):  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode(self, X):  # pragma: no cover - abstract
        raise NotImplementedError

    def _validate_params_extra(self, n_features):
        """Check model-specific parameters once ``n_features`` is known."""

    def _on_epoch_end(self, epoch):
        """Called after each epoch (and each ``partial_fit``)."""

    def _optimizer_kwargs(self):
        return {}

    def _n_latents_out(self):
        return self.components_.shape[0]

    def _decode(self, codes):
        out = codes @ self.components_
        out = np.asarray(out)
        bias = getattr(self, "decoder_bias_", None)
        if bias is not None:
            out = out + bias
        return out

    # --------------------------------------------------------------- helpers
    def _unit_powers(self):
        """``(attribute, p)``: the attribute scales as ``scale**p`` with the data."""
        return [(name, 1) for name in self._data_unit_attrs]

    def _rescale_state(self, factor):
        """Multiply each data-unit attribute by ``factor**p`` (a power of two: exact)."""
        for name, p in self._unit_powers():
            f = float(factor) ** p
            v = getattr(self, name, None)
            if isinstance(v, np.ndarray):
                v *= v.dtype.type(f)  # in place: the optimiser updates these arrays
            elif v is not None:
                setattr(self, name, type(v)(v * f))

    def _apply_gradients(self, loss, grads, params=None):
        """Check ``loss`` and run the optimiser on ``params`` (default ``_parameters()``).

        Raises :class:`TrainingDivergedError` (a FloatingPointError and a
        ValueError) naming the step and the learning rate when the loss or
        the update is not finite; parameters are then left unchanged.
        """
        opt = self._optimizer_
        if not math.isfinite(loss):
            raise TrainingDivergedError(
                f"{type(self).__name__}: the loss became {loss} at step {self.n_steps_} "
                f"(learning_rate={opt.current_lr():g}); training stopped, parameters "
                "kept from the previous step. Lower learning_rate."
            )
        try:
            opt.step(self._parameters() if params is None else params, grads)
        except TrainingDivergedError as exc:
            raise TrainingDivergedError(
                f"{type(self).__name__}: the update diverged at step {self.n_steps_} "
                f"(learning_rate={opt.current_lr():g}); training stopped, parameters "
                f"kept from the previous step. Lower learning_rate. ({exc})"
            ) from None

    def _schedule(self, total_steps):
        s = getattr(self, "lr_schedule", None)
        if s is None or s == "constant":
            return None if s is None else constant
        if s == "linear":
            return linear_decay(max(total_steps, 1))
        if s == "cosine":
            return cosine(max(total_steps, 1))
        if callable(s):
            return s
        raise ValueError(f"lr_schedule must be None, 'constant', 'linear', 'cosine' or a callable "
                         f"step -> multiplier, got {s!r}.")

    def _check_common_params(self):
        bs = self.batch_size
        if isinstance(bs, bool) or not isinstance(bs, numbers.Integral) or bs < 1:
            raise ValueError(f"batch_size must be an integer >= 1, got {bs!r}.")
        mi = self.max_iter
        if self._auto_min_steps and isinstance(mi, str) and mi == "auto":
            pass
        elif isinstance(mi, bool) or not isinstance(mi, numbers.Integral) or mi < 1:
            allowed = " or 'auto'" if self._auto_min_steps else ""
            raise ValueError(f"max_iter (epochs) must be an integer >= 1{allowed}, got {mi!r}.")
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in ("adam", "sgd"):
            from ._optim import _Optimizer
            if not isinstance(self.optimizer, _Optimizer):
                raise ValueError(f"optimizer must be 'adam', 'sgd' or an SGD/Adam instance, "
                                 f"got {self.optimizer!r}.")
        if isinstance(self.optimizer, str):
            _check_lr(self._resolved_lr())
        tol = getattr(self, "tol", None)
        if tol is not None and not (isinstance(tol, numbers.Real) and tol >= 0):
            raise ValueError(f"tol must be None or a number >= 0, got {tol!r}.")

    def _resolved_epochs(self, n_samples):
        """Epochs of ``fit``: ``max_iter``, or for "auto" enough for ``_auto_min_steps`` steps."""
        if isinstance(self.max_iter, str):
            per_epoch = max(1, math.ceil(n_samples / self.batch_size))
            return max(self._auto_min_epochs, math.ceil(self._auto_min_steps / per_epoch))
        return int(self.max_iter)

    def _resolved_lr(self):
        """Learning rate actually used (subclasses may resolve 'auto')."""
        return self.learning_rate

    def _check_X_fit(self, X, reset):
        if _is_streamed(X):
            _check_streamed(X)
            if reset:
                self.n_features_in_ = X.shape[1]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input (the width it was fitted "
                    "with); pass data of the same width."
                )
            return X
        if not reset and hasattr(self, "n_features_in_"):
            width = np.shape(X)[1] if np.ndim(X) == 2 else None
            if width is not None and width != self.n_features_in_:
                raise ValueError(
                    f"X has {width} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input (the width it was fitted "
                    "with); partial_fit needs data of the same width."
                )
        return validate_X(self, X, reset=reset)

    def _chunk_rows(self, X):
        itemsize = np.dtype(X.dtype).itemsize
        rows = max(int(self._stream_chunk_bytes // max(X.shape[1] * itemsize, 1)), 1)
        bs = self.batch_size
        return max(bs, (rows // bs) * bs)

    def _read(self, X, start, stop, dtype, name="X"):
        """Rows ``start:stop`` of a (possibly streamed) array as a finite C array of ``dtype``."""
        block = X[start:stop]
        if _is_dask(block):
            block = block.compute()
        narrowed = np.dtype(block.dtype).itemsize > np.dtype(dtype).itemsize
        block = np.ascontiguousarray(block, dtype=dtype)
        if (_is_streamed(X) or narrowed) and not np.isfinite(block.sum(dtype=np.float64)):
            if not np.isfinite(block).all():
                beyond = (f" after conversion to the model's {np.dtype(dtype).name} (values "
                          f"beyond +-{np.finfo(dtype).max:.3g} overflow)") if narrowed else ""
                raise ValueError(f"{name} contains NaN or infinity{beyond} (rows "
                                 f"{start}:{stop}); remove, impute or rescale them.")
        return block

    def _sample(self, X, rng, dtype):
        n = X.shape[0]
        m = min(n, self._init_sample_size)
        if m == n:
            return self._read(X, 0, n, dtype)
        # m distinct rows without an O(n) permutation (streamed data stay O(chunk))
        picked = np.unique(rng.randint(0, n, size=m + m // 4 + 16))
        while picked.size < m:
            picked = np.union1d(picked, rng.randint(0, n, size=m))
        idx = np.sort(rng.permutation(picked)[:m])
        block = X[idx]
        if _is_dask(block):
            block = block.compute()
        block = np.ascontiguousarray(block, dtype=dtype)
        if not np.isfinite(block).all():
            raise ValueError("X contains NaN or infinity; remove or impute them before fitting.")
        return block

    def _batches(self, X, rng, dtype):
        """Yield shuffled mini-batches (C-contiguous, ``dtype``) covering ``X`` once."""
        n = X.shape[0]
        bs = self.batch_size
        shuffle = getattr(self, "shuffle", True)
        if not _is_streamed(X):
            order = rng.permutation(n) if shuffle else None
            for start in range(0, n, bs):
                if order is None:
                    yield np.ascontiguousarray(X[start:start + bs], dtype=dtype)
                else:
                    yield np.ascontiguousarray(X[np.sort(order[start:start + bs])], dtype=dtype)
            return
        chunk = self._chunk_rows(X)
        starts = np.arange(0, n, chunk)
        if shuffle:
            rng.shuffle(starts)
        for s in starts:
            block = self._read(X, int(s), int(min(s + chunk, n)), dtype)
            if shuffle:
                block = block[rng.permutation(block.shape[0])]
            for b in range(0, block.shape[0], bs):
                yield np.ascontiguousarray(block[b:b + bs])
            del block

    # ------------------------------------------------------------------- fit
    def fit(self, X, y=None):
        """Train the encoder and decoder on ``X`` by mini-batch gradient steps.

        Parameters
        ----------
        X : array-like, np.memmap or dask array of shape (n_samples, n_features)
            Training data.  Memory-mapped and dask arrays are read one chunk
            at a time (never loaded whole).
        y : Ignored

        Returns
        -------
        self : object
        """
        self._check_common_params()
        X = self._check_X_fit(X, reset=True)
        self._initialise(X)
        return self._run(X, self._n_epochs_, early_stop=True)

    def partial_fit(self, X, y=None):
        """One pass over ``X`` in mini-batches, continuing from the current state.

        The first call initialises the model from ``X``.

        Parameters
        ----------
        X : array-like, np.memmap or dask array of shape (n_samples, n_features)
        y : Ignored

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "_optimizer_")
        if first:
            self._check_common_params()
        X = self._check_X_fit(X, reset=first)
        if first:
            self._initialise(X)
        return self._run(X, 1, early_stop=False)

    def _initialise(self, X):
        self._rng_ = check_random_state(self.random_state)
        dtype = _model_dtype(X.dtype)
        self._dtype_ = dtype
        self._validate_params_extra(X.shape[1])
        sample = self._sample(X, self._rng_, dtype)
        # training runs on X / 2**e, 2**e nearest max|sample|: exact, and the model learnt
        # from c X is the one learnt from X, scaled by c (c a power of two)
        scale = data_pow2(sample) if self._rescale_training else 1.0
        # subnormal data: keep 1 / scale finite in the model dtype
        self._x_scale_ = max(scale, 2.0 ** (2 - np.finfo(dtype).maxexp))
        sample = sample * np.dtype(dtype).type(1.0 / self._x_scale_)
        self._n_epochs_ = self._resolved_epochs(X.shape[0])
        self._planned_steps_ = self._n_epochs_ * max(1, math.ceil(X.shape[0] / self.batch_size))
        self._n_samples_hint_ = X.shape[0]
        self._init_params(sample, self._rng_)
        self._rescale_state(self._x_scale_)
        kw = dict(self._optimizer_kwargs())
        if isinstance(self.optimizer, str):
            kw.setdefault("schedule", self._schedule(self._planned_steps_))
            opt = make_optimizer(self.optimizer, self._resolved_lr(), self._planned_steps_, **kw)
        else:
            opt = make_optimizer(self.optimizer, None)
        self._optimizer_ = opt
        self.loss_curve_ = []
        self.n_iter_ = 0
        self.n_steps_ = 0

    def _run(self, X, n_epochs, early_stop):
        tol = getattr(self, "tol", None)
        patience = getattr(self, "n_iter_no_change", 3)
        steps_per_epoch = max(1, math.ceil(X.shape[0] / self.batch_size))
        progress = _Progress(self.verbose, n_epochs * steps_per_epoch, type(self).__name__)
        scale = getattr(self, "_x_scale_", 1.0)
        self._rescale_state(1.0 / scale)
        try:
            with blas_limited(self._n_threads()):
                self._epochs(X, n_epochs, early_stop, progress, tol, patience)
        finally:
            self._rescale_state(scale)
            progress.close()
        return self

    def _n_threads(self):
        """Threads of kernels and BLAS during training and coding (``n_jobs``, default 1)."""
        return effective_n_jobs(getattr(self, "n_jobs", None))

    def _epochs(self, X, n_epochs, early_stop, progress, tol, patience):
        best = np.inf
        stall = 0
        converged = False
        for epoch in range(n_epochs):
            total, count = 0.0, 0
            inv = np.dtype(self._dtype_).type(1.0 / getattr(self, "_x_scale_", 1.0))
            for Xb in self._batches(X, self._rng_, self._dtype_):
                if inv != 1:
                    Xb = Xb * inv  # exact (power of two); Xb may be a view of X
                with np.errstate(over="ignore", invalid="ignore"):
                    # a non-finite loss raises TrainingDivergedError in _apply_gradients
                    loss = float(self._train_step(Xb))
                self.n_steps_ += 1
                total += loss * Xb.shape[0]
                count += Xb.shape[0]
                progress.step(loss)
            epoch_loss = total / max(count, 1)
            self.loss_curve_.append(epoch_loss)
            self.n_iter_ += 1
            self._on_epoch_end(epoch)
            progress.epoch(epoch, n_epochs, epoch_loss, self.n_steps_)
            if early_stop and tol is not None:
                if epoch_loss > best - tol * abs(best):
                    stall += 1
                else:
                    stall = 0
                best = min(best, epoch_loss)
                if stall >= patience:
                    converged = True
                    break
        if early_stop and tol is not None and not converged:
            warnings.warn(
                f"{type(self).__name__} stopped at max_iter={self.max_iter} "
                f"({self.n_iter_} epochs) with the "
                f"training loss still improving by more than tol={tol} (last epoch loss "
                f"{self.loss_curve_[-1]:.6g}); raise max_iter or tol.",
                ConvergenceWarning,
                stacklevel=4,
            )

    # ------------------------------------------------------------- transform
    def _check_X_transform(self, X):
        check_is_fitted(self, "components_")
        if _is_streamed(X):
            _check_streamed(X)
            if X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is "
                                 f"expecting {self.n_features_in_} features as input.")
            return X
        return validate_X(self, X, reset=False)

    def transform(self, X, output="dense"):
        """Codes of ``X`` given by the trained encoder.

        Parameters
        ----------
        X : array-like, np.memmap or dask array of shape (n_samples, n_features)
        output : {"dense", "csr"}, default="dense"
            ``"csr"`` returns a ``scipy.sparse.csr_matrix`` built chunk by
            chunk, never holding a dense (n_samples, n_latents) array.

        Returns
        -------
        codes : ndarray or csr_matrix of shape (n_samples, n_latents)
            Same floating dtype as the model (float32 in, float32 out).
        """
        if output not in ("dense", "csr"):
            raise ValueError(f"output must be 'dense' or 'csr', got {output!r}.")
        X = self._check_X_transform(X)
        with blas_limited(self._n_threads()):
            return self._transform(X, output)

    def _transform(self, X, output):
        dtype = self.components_.dtype
        n = X.shape[0]
        n_lat = self._n_latents_out()
        # rows per chunk: the encoder's dense pre-activations of a chunk stay within 64 MiB
        budget = (64 << 20) // max(n_lat * np.dtype(dtype).itemsize, 1)
        step = max(1, min(self._transform_chunk_rows, budget))
        if output == "dense":
            out = np.zeros((n, n_lat), dtype=dtype)
            for s in range(0, n, step):
                Xc = self._read(X, s, min(s + step, n), dtype)
                enc = self._encode(Xc)
                if isinstance(enc, tuple):
                    vals, idx = enc
                    np.put_along_axis(out[s:s + Xc.shape[0]], idx, vals.astype(dtype, copy=False),
                                      axis=1)
                elif sp.issparse(enc):
                    out[s:s + Xc.shape[0]] = enc.toarray()
                else:
                    out[s:s + Xc.shape[0]] = enc
            return out
        parts = []
        for s in range(0, n, step):
            Xc = self._read(X, s, min(s + step, n), dtype)
            parts.append(self._to_csr(self._encode(Xc), Xc.shape[0], n_lat, dtype))
        return sp.vstack(parts, format="csr") if len(parts) > 1 else parts[0]

    @staticmethod
    def _to_csr(enc, n_rows, n_lat, dtype):
        if isinstance(enc, tuple):
            vals, idx = enc
            vals = np.asarray(vals, dtype=dtype)
            order = np.argsort(idx, axis=1, kind="stable")
            idx = np.take_along_axis(idx, order, axis=1)
            vals = np.take_along_axis(vals, order, axis=1)
            keep = vals != 0
            counts = keep.sum(axis=1)
            indptr = np.zeros(n_rows + 1, dtype=np.int64)
            np.cumsum(counts, out=indptr[1:])
            m = sp.csr_matrix((vals[keep], idx[keep].astype(np.int64), indptr),
                              shape=(n_rows, n_lat))
            return m
        if sp.issparse(enc):
            m = sp.csr_matrix(enc, dtype=dtype)
        else:
            m = sp.csr_matrix(np.asarray(enc, dtype=dtype))
        m.eliminate_zeros()
        return m

    def inverse_transform(self, codes):
        """Reconstruct data from codes (dense or sparse) through the decoder.

        Parameters
        ----------
        codes : ndarray or sparse matrix of shape (n_samples, n_latents)

        Returns
        -------
        X_hat : ndarray of shape (n_samples, n_features)
        """
        check_is_fitted(self, "components_")
        n_lat = self._n_latents_out()
        dtype = self.components_.dtype
        if sp.issparse(codes):
            codes = sp.csr_matrix(codes)
            if not np.isfinite(codes.data).all():
                raise ValueError("codes contain NaN or infinity.")
            codes = codes.astype(dtype)
        else:
            codes = np.asarray(codes)
            if codes.ndim != 2:
                raise ValueError(f"codes must be 2-D (n_samples, n_latents), got shape "
                                 f"{codes.shape}.")
            if not np.isfinite(codes).all():
                raise ValueError("codes contain NaN or infinity.")
            codes = codes.astype(dtype, copy=False)
        if codes.shape[1] != n_lat:
            raise ValueError(f"codes have {codes.shape[1]} columns, but the model has {n_lat} "
                             "latents.")
        return np.asarray(self._decode(codes), dtype=dtype)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
