"""Amortised (learned) sparse encoders: models trained so that coding costs one product.

:class:`BaseAmortizedEncoder` is the shared mini-batch training loop
(NumPy, memory-mapped and dask inputs, progress display, divergence checks,
dense or CSR codes); :class:`SGD` and :class:`Adam` with the schedules
:func:`constant`, :func:`linear_decay`, :func:`cosine` and :func:`warmup`
are the optimisers it runs.  ``BaseAmortizedEncoder`` is importable from here
for models built on it, but is not a public estimator (it has no model).
"""

from ._base import BaseAmortizedEncoder
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
    "SGD",
    "TrainingDivergedError",
    "constant",
    "cosine",
    "linear_decay",
    "make_optimizer",
    "warmup",
]
