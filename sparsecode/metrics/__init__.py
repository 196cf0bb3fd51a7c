"""Quality measures for sparse recovery and coding.

:func:`nmse` (also in dB), :func:`relative_error`, :func:`support_recovery`
(precision, recall, exact), :func:`mutual_coherence` and :func:`psnr`.
Unmixing metrics live in ``_unmixing`` (unmixing family): :func:`sre`,
:func:`armse` (HySUPP, x100), :func:`aad`, :func:`sid`, :func:`sad_per_endmember`,
all matching endmembers through :func:`match_components`.
Learned-feature metrics (``_features``): :func:`normalized_mse` (fraction of
variance unexplained), :func:`l0_norm`, :func:`dead_fraction`,
:func:`mean_max_cosine`.
"""

from . import _unmixing
from ._features import dead_fraction, l0_norm, mean_max_cosine, normalized_mse
from ._recovery import mutual_coherence, nmse, psnr, relative_error, support_recovery
from ._unmixing import *  # noqa: F401,F403

__all__ = ["nmse", "relative_error", "support_recovery", "mutual_coherence", "psnr"]
__all__ += list(_unmixing.__all__)
__all__ += ["normalized_mse", "l0_norm", "dead_fraction", "mean_max_cosine"]
