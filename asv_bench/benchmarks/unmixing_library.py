"""Benchmarks of library sparse unmixing: SUnSAL (active set and ADMM), CLSUnSAL, SUnSAL-TV.

Problem (issue 16 target): mixtures of 5 spectra of the bundled USGS library
(498 spectra x 224 bands) at 30 dB SNR, 10,000 pixels (2,000 in the fast
profile); ``track_objective_gap`` is the relative objective gap of ADMM to the
exact active-set solution, so that a speed-up that changes the answer shows.
"""

import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sparsecode.unmixing import clsunsal, library_objective, sunsal, sunsal_tv

from .common import Benchmark, scaled

N_PIXELS = scaled(10000, 2000)
TV_SIDE = scaled(64, 32)
ALPHA = 1e-3


def _library():
    env = os.environ.get("SPARSECODE_DATA")
    here = Path(env) if env else Path(__file__).resolve().parents[2] / ".." / "shared" / "data" \
        / "hyperspectral"
    return np.load(here / "usgs_library_aviris224.npz")["D"].T.astype(float)


@lru_cache(maxsize=2)
def scene(n_pixels, seed=0):
    L = _library()
    rng = np.random.default_rng(seed)
    X = np.zeros((n_pixels, L.shape[0]))
    X[:, rng.choice(L.shape[0], 5, replace=False)] = rng.dirichlet(np.ones(5), size=n_pixels)
    Y0 = X @ L
    Y = Y0 + np.sqrt(np.mean(Y0**2) / 1e3) * rng.standard_normal(Y0.shape)
    return Y, L


class SUnSAL(Benchmark):
    params = [["active_set", "admm"], [0.0, ALPHA]]
    param_names = ["solver", "alpha"]

    def setup(self, solver, alpha):
        self.Y, self.L = scene(N_PIXELS)
        warnings.simplefilter("ignore", ConvergenceWarning)

    def time_sunsal(self, solver, alpha):
        sunsal(self.Y, self.L, alpha=alpha, solver=solver, n_jobs=1)

    def track_objective_gap(self, solver, alpha):
        A = sunsal(self.Y, self.L, alpha=alpha, solver=solver, n_jobs=1)
        ref = sunsal(self.Y, self.L, alpha=alpha, solver="active_set", n_jobs=1)
        f, f_ref = (library_objective(self.Y, self.L, Z, alpha=alpha) for Z in (A, ref))
        return (f - f_ref) / f_ref


class CLSUnSALandTV(Benchmark):
    def setup(self):
        self.Y, self.L = scene(TV_SIDE * TV_SIDE)
        self.cube = self.Y.reshape(TV_SIDE, TV_SIDE, -1)
        warnings.simplefilter("ignore", ConvergenceWarning)

    def time_clsunsal(self):
        clsunsal(self.Y, self.L)

    def time_sunsal_tv(self):
        sunsal_tv(self.cube, self.L)


class SUnSALFloat32(Benchmark):
    """float32 inputs: promoted to float64 on the USGS library (cond(L L^T) ~ 1e20)."""

    def setup(self):
        Y, L = scene(N_PIXELS)
        self.Y, self.L = Y.astype(np.float32), L.astype(np.float32)

    def time_sunsal_float32(self):
        sunsal(self.Y, self.L, alpha=0.0, n_jobs=1)
