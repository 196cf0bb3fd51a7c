"""Benchmarks of the unmixing family: NMF cores (MU, HALS), robust variants, FCLS, VCA.

Problem (issue "Performance"): a synthetic scene of 200 bands x 10,000 pixels
(100 x 100), rank 5, 30 dB noise (``make_hyperspectral_mixture``); NMF runs a
fixed number of sweeps (``tol=0``) from the same start, so ``time_fit`` divided
by the sweeps is the cost per sweep.  ``track_*`` report the spectral angle of
the matched endmembers and the abundance RMSE, so that a speed-up that changes
the answer shows.
"""

import warnings
from functools import lru_cache

import numpy as np
from sklearn.base import clone

import sparsecode as sc

from .common import Benchmark, scaled

N_SIDE = scaled(100, 45)
N_BANDS, RANK = 200, 5
N_SWEEPS = scaled(200, 50)

ESTIMATORS = {
    "nmf_mu": lambda: sc.NMFUnmixing(RANK, solver="mu", init="custom", max_iter=N_SWEEPS, tol=0.0),
    "nmf_hals": lambda: sc.NMFUnmixing(RANK, solver="hals", init="custom", max_iter=N_SWEEPS,
                                       tol=0.0),
    "l12nmf": lambda: sc.L12NMF(RANK, init="custom", max_iter=N_SWEEPS, tol=0.0),
    "cenmf": lambda: sc.CorrentropyNMF(RANK, init="custom", max_iter=N_SWEEPS, tol=0.0),
    "rgnmf": lambda: sc.RobustGuidedNMF(RANK, init="custom", max_iter=N_SWEEPS, tol=0.0,
                                        image_shape=(N_SIDE, N_SIDE)),
    "ssnmf": lambda: sc.StructuredSparseNMF(RANK, init="custom", max_iter=N_SWEEPS, tol=0.0,
                                            image_shape=(N_SIDE, N_SIDE), random_state=0),
}


@lru_cache(maxsize=2)
def scene(seed=0):
    Y, M, A, _ = sc.datasets.make_hyperspectral_mixture(RANK, N_BANDS, (N_SIDE, N_SIDE), snr=30,
                                                        random_state=seed)
    rng = np.random.default_rng(seed)
    W0 = rng.dirichlet(np.ones(RANK), size=Y.shape[0])
    H0 = rng.uniform(0.1, 1.0, size=(RANK, N_BANDS))
    H0 *= Y.mean() / (W0 @ H0).mean()
    return Y, M, A, W0, H0


def _fit(est, Y, W0, H0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit_transform(Y, W=W0, H=H0)


class NMFUnmixingFit(Benchmark):
    """Time and peak memory of a fixed number of sweeps of each estimator."""

    param_names = ["estimator"]
    params = (list(ESTIMATORS),)

    def setup(self, estimator):
        self.Y, self.M, self.A, self.W0, self.H0 = scene()
        # warm-up (kernels loaded, caches filled): two sweeps on the same data
        _fit(ESTIMATORS[estimator]().set_params(max_iter=2), self.Y, self.W0, self.H0)

    def time_fit(self, estimator):
        _fit(ESTIMATORS[estimator](), self.Y, self.W0, self.H0)

    def peakmem_fit(self, estimator):
        _fit(ESTIMATORS[estimator](), self.Y, self.W0, self.H0)


class NMFUnmixingThreads(Benchmark):
    """MU and HALS sweeps at one and two threads (OpenMP row kernels, BLAS limited alike)."""

    param_names = ["solver", "n_jobs"]
    params = (["mu", "hals"], [1, 2])

    def setup(self, solver, n_jobs):
        self.Y, _, _, self.W0, self.H0 = scene()
        self.est = sc.NMFUnmixing(RANK, solver=solver, init="custom", max_iter=N_SWEEPS, tol=0.0,
                                  n_jobs=n_jobs)
        _fit(clone(self.est).set_params(max_iter=2), self.Y, self.W0, self.H0)

    def time_fit(self, solver, n_jobs):
        _fit(self.est, self.Y, self.W0, self.H0)


class NMFUnmixingQuality(Benchmark):
    """Spectral angle and abundance RMSE after the sweeps (VCA start, truth known)."""

    param_names = ["estimator"]
    params = (list(ESTIMATORS),)

    def setup(self, estimator):
        Y, self.M, self.A, _, _ = scene()
        est = ESTIMATORS[estimator]().set_params(init="vca", random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.Ahat = est.fit_transform(Y)
        self.E = est.components_

    def track_sad(self, estimator):
        perm = sc.match_components(self.M, self.E)
        return float(sc.spectral_angle_distance(self.M, self.E[perm]).mean())

    track_sad.unit = "radians"

    def track_abundance_rmse(self, estimator):
        perm = sc.match_components(self.M, self.E)
        return float(sc.abundance_rmse(self.A, self.Ahat[:, perm], normalize=True).mean())

    track_abundance_rmse.unit = "rmse"


class FCLS(Benchmark):
    """Batched FCLS of every pixel (OpenMP over pixels), exact and augmented."""

    param_names = ["delta", "n_jobs"]
    params = (["exact", "augmented"], [1, 2])

    def setup(self, delta, n_jobs):
        self.Y, self.M, self.A, _, _ = scene()
        self.delta = None if delta == "exact" else 1e3 * float(self.M.max())
        sc.fcls(self.Y[:10], self.M, delta=self.delta)

    def time_fcls(self, delta, n_jobs):
        sc.fcls(self.Y, self.M, delta=self.delta, n_jobs=n_jobs)

    def peakmem_fcls(self, delta, n_jobs):
        sc.fcls(self.Y, self.M, delta=self.delta, n_jobs=n_jobs)

    def track_rmse(self, delta, n_jobs):
        A = sc.fcls(self.Y, self.M, delta=self.delta, n_jobs=n_jobs)
        return float(np.sqrt(np.mean((A - self.A) ** 2)))

    track_rmse.unit = "rmse"


class FCLSScaling(Benchmark):
    """FCLS with 3 endmembers and 156 bands (Samson's sizes) from 1,000 to 100,000 pixels."""

    param_names = ["n_pixels", "n_jobs"]
    params = ([1_000, 3_000, 100_000], [1, 2])

    def setup(self, n_pixels, n_jobs):
        Y, M, _, _ = sc.datasets.make_hyperspectral_mixture(3, 156, (95, 95), snr=30,
                                                            random_state=0)
        self.Y = np.ascontiguousarray(np.resize(Y, (n_pixels, Y.shape[1])))
        self.M = M
        self.delta = 1e3 * float(M.max())
        sc.fcls(self.Y[:10], self.M, delta=self.delta)

    def time_fcls(self, n_pixels, n_jobs):
        sc.fcls(self.Y, self.M, delta=self.delta, n_jobs=n_jobs)


class VCA(Benchmark):
    """VCA endmember extraction on the scene."""

    def setup(self):
        self.Y, self.M, _, _, _ = scene()

    def time_vca(self):
        sc.vca(self.Y, RANK, random_state=0)

    def track_sad(self):
        E = sc.vca(self.Y, RANK, random_state=0)
        return float(sc.spectral_angle_distance(self.M, E[sc.match_components(self.M, E)]).mean())

    track_sad.unit = "radians"
