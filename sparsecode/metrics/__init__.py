"""Quality measures for sparse recovery and coding.

:func:`nmse` (also in dB), :func:`relative_error`, :func:`support_recovery`
(precision, recall, exact), :func:`mutual_coherence` and :func:`psnr`.
Unmixing metrics live in ``_unmixing`` (unmixing family): :func:`sre`,
:func:`armse` (HySUPP, x100), :func:`aad`, :func:`sid`, :func:`sad_per_endmember`,
all matching endmembers through :func:`match_components`.
"""

from . import _unmixing
from ._recovery import mutual_coherence, nmse, psnr, relative_error, support_recovery
from ._unmixing import *  # noqa: F401,F403

__all__ = ["nmse", "relative_error", "support_recovery", "mutual_coherence", "psnr"]
__all__ += list(_unmixing.__all__)
