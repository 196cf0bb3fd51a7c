"""Benchmarks of the unmixing toolbox (issue 16): FCLS against a per-pixel scipy ``nnls``
loop, and HySime / HFC subspace estimation.

FCLS target (issue 16): 10,000 pixels at least 20x faster than a loop of
``scipy.optimize.nnls`` on the system augmented with the sum-to-one row
``delta * 1^T`` (Heinz & Chang), one thread. ``time_fcls`` and ``time_nnls_loop``
run on the same scene (Jasper Ridge ground-truth endmembers when the data files
are found, else a synthetic scene of the same size) under a one-thread BLAS limit;
``track_speedup`` is their ratio (minimum of 5 and 3 runs), ``track_max_abs_diff``
the largest abundance difference (both solve the same augmented problem).
"""

import time
import warnings
from functools import lru_cache

import numpy as np

import sparsecode as sc

from .common import Benchmark, scaled

N_SIDE = scaled(100, 45)
DELTA = 1e3


@lru_cache(maxsize=4)
def fcls_scene(n_endmembers):
    """(Y, endmembers): Jasper Ridge (K = 4) when available, else synthetic, 200 bands."""
    if n_endmembers == 4:
        try:
            d = sc.datasets.load_hyperspectral("jasper_ridge")
            Y = np.ascontiguousarray(d.Y[: N_SIDE * N_SIDE], dtype=float)
            return Y, np.asarray(d.endmembers, dtype=float)
        except FileNotFoundError:
            pass
    Y, M, _, _ = sc.datasets.make_hyperspectral_mixture(n_endmembers, 200, (N_SIDE, N_SIDE),
                                                        snr=30, random_state=0)
    return Y, M


def nnls_loop(Y, E, delta=DELTA):
    """The per-pixel reference: scipy nnls on ``[E^T; delta 1^T] a = [y; delta]``."""
    from scipy.optimize import nnls

    K, L = E.shape
    aug = np.vstack([E.T, delta * np.ones((1, K))])
    b = np.empty(L + 1)
    b[L] = delta
    out = np.empty((Y.shape[0], K))
    for n in range(Y.shape[0]):
        b[:L] = Y[n]
        out[n] = nnls(aug, b)[0]
    return out


def _one_thread():
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


class FCLSvsNNLSLoop(Benchmark):
    """FCLS (exact and augmented sum-to-one) against the scipy nnls loop, one thread."""

    param_names = ["n_endmembers"]
    params = ([4, 6, 10],)
    repeat = (1, 3, 60.0)

    def setup(self, n_endmembers):
        self.Y, self.M = fcls_scene(n_endmembers)
        self._limit = _one_thread()
        sc.fcls(self.Y[:10], self.M, n_jobs=1)

    def teardown(self, n_endmembers):
        self._limit.restore_original_limits()

    def time_fcls_exact(self, n_endmembers):
        sc.fcls(self.Y, self.M, n_jobs=1)

    def time_fcls_delta(self, n_endmembers):
        sc.fcls(self.Y, self.M, delta=DELTA, n_jobs=1)

    def time_nnls_loop(self, n_endmembers):
        nnls_loop(self.Y, self.M)

    def track_speedup(self, n_endmembers):
        def best(f, r):
            ts = []
            for _ in range(r):
                t = time.perf_counter()
                f()
                ts.append(time.perf_counter() - t)
            return min(ts)

        t_ref = best(lambda: nnls_loop(self.Y, self.M), 3)
        t_fcls = best(lambda: sc.fcls(self.Y, self.M, delta=DELTA, n_jobs=1), 5)
        return t_ref / t_fcls

    track_speedup.unit = "x"

    def track_max_abs_diff(self, n_endmembers):
        A = sc.fcls(self.Y, self.M, delta=DELTA, n_jobs=1)
        return float(np.max(np.abs(A - nnls_loop(self.Y, self.M))))

    track_max_abs_diff.unit = "abundance"


@lru_cache(maxsize=4)
def subspace_scene(n_endmembers, n_bands):
    Y, _, _, _ = sc.datasets.make_hyperspectral_mixture(n_endmembers, n_bands, (N_SIDE, N_SIDE),
                                                        snr=30, random_state=0)
    return Y


class SubspaceEstimation(Benchmark):
    """HySime (one Gram inverse for every band's regression) and HFC / NWHFC."""

    param_names = ["n_bands"]
    params = ([100, 200],)

    def setup(self, n_bands):
        self.Y = subspace_scene(6, n_bands)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sc.hysime(self.Y[:50])

    def time_hysime(self, n_bands):
        sc.hysime(self.Y)

    def time_hfc(self, n_bands):
        sc.hfc_vd(self.Y)

    def time_nwhfc(self, n_bands):
        sc.hfc_vd(self.Y, whiten=True)

    def peakmem_hysime(self, n_bands):
        sc.hysime(self.Y)

    def track_hysime_k(self, n_bands):
        return sc.hysime(self.Y)[0]

    track_hysime_k.unit = "endmembers (truth 6)"
