"""Amortised (learned) sparse encoders: models trained so that coding costs one product.

:class:`BaseAmortizedEncoder` is the shared mini-batch training loop
(NumPy, memory-mapped and dask inputs, progress display, divergence checks,
dense or CSR codes); :class:`SGD` and :class:`Adam` with the schedules
:func:`constant`, :func:`linear_decay`, :func:`cosine` and :func:`warmup`
are the optimisers it runs.  Models: :class:`KSparseAutoencoder` (TopK /
k-sparse autoencoder, AuxK, BatchTopK), :class:`PredictiveSparseDecomposition`
and :class:`MatchingPursuitAutoencoder`.  ``BaseAmortizedEncoder`` is importable from here
for models built on it, but is not a public estimator (it has no model).
"""

from ._base import BaseAmortizedEncoder
from ._mpsae import MatchingPursuitAutoencoder
from ._psd import PredictiveSparseDecomposition
from ._topk import KSparseAutoencoder, geometric_median, topk_encode
from ._optim import (
    SGD,
    Adam,
    TrainingDivergedError,
    constant,
    cosine,
    linear_decay,
    make_optimizer,
    warmup,
)

__all__ = [
    "Adam",
    "KSparseAutoencoder",
    "MatchingPursuitAutoencoder",
    "PredictiveSparseDecomposition",
    "SGD",
    "TrainingDivergedError",
    "constant",
    "cosine",
    "geometric_median",
    "linear_decay",
    "make_optimizer",
    "topk_encode",
    "warmup",
]
