"""Hard thresholding with feedback: NST+HT+FB, its adaptive variant, IHT, NIHT,
HTP, CoSaMP and Subspace Pursuit (spec section 4).

Every solver accepts a dense array, a scipy.sparse matrix or a
``LinearOperator``, real or complex data, float32 or float64, and several
right-hand sides at once.  The solvers are also registered as
``sparse_encode`` algorithms ("iht", "niht", "htp", "cosamp", "sp",
"nst_ht_fb", "adaptive_nst_ht_fb").
"""

from . import _encoders  # noqa: F401  (registers the encoders)
from ._cosamp import CoSaMP, SubspacePursuit, cosamp, subspace_pursuit
from ._htp import HTP, htp
from ._iht import IHT, NIHT, iht, niht
from ._nst_ht_fb import AdaptiveNSTHTFB, NSTHTFB, adaptive_nst_ht_fb, nst_ht_fb

__all__ = [
    "AdaptiveNSTHTFB",
    "CoSaMP",
    "HTP",
    "IHT",
    "NIHT",
    "NSTHTFB",
    "SubspacePursuit",
    "adaptive_nst_ht_fb",
    "cosamp",
    "htp",
    "iht",
    "niht",
    "nst_ht_fb",
    "subspace_pursuit",
]
