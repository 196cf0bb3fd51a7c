"""Benchmarks of the matrix-free convex solvers and SPIRAL-TAP.

* ``FistaPartialDCT``: the Lasso on a partial orthonormal DCT
  (``n = 2^16``, ``m = 4000`` in the regular profile, ``m/40`` spikes,
  ``alpha = alpha_max/20``), FISTA with ``tol = 1e-6`` (relative duality
  gap); ``track_products`` counts products with ``A`` and ``A^T`` and
  ``track_rel_gap`` the certificate reached.
* ``PdhgLAD``: LAD-Lasso by PDHG on a dense 2000 x 500 Gaussian design with
  5 % gross outliers, ``tol = 1e-4``.
* ``SpiralTap``: the l1 photon-limited problem of the SPIRAL-TAP spec
  (Bernoulli(1/2) sensing scaled to mean count 15, 1.5 % non-zeros,
  ``tau = 0.1``), ``tol = 1e-8``; ``track_products`` counts the operator
  applications and ``track_products_vs_pg`` the ratio to a textbook
  projected gradient reaching the same objective (``1e-8`` relative).
* ``TVProx``: Condat's 1-D TV prox on 100 signals of length 10,000 and the
  2-D FGP prox on a 256 x 256 image.

The peer comparison (PyLops' FISTA) is in ``asv_bench/peers/convex_operators.py``.
"""

import warnings

import numpy as np

from sparsecode.convex._operator_solvers import fista, pdhg
from sparsecode.convex._spiral import _projected_gradient, spiral_tap
from sparsecode.convex._tv import tv1d_prox, tv2d_prox
from sparsecode.operators import PartialDCT

from .common import Benchmark, scaled


class FistaPartialDCT(Benchmark):
    def setup(self):
        n, m = scaled(2 ** 16, 2 ** 14), scaled(4000, 1000)
        rng = np.random.default_rng(0)
        self.A = PartialDCT(n, m, random_state=0)
        k = m // 40
        x0 = np.zeros(n)
        x0[rng.choice(n, k, replace=False)] = rng.choice([-1, 1], k) * rng.uniform(1, 2, k)
        self.y = self.A @ x0 + 0.01 * rng.standard_normal(m)
        self.alpha = np.abs(self.A.rmatvec(self.y)).max() / m / 20
        self.res = fista(self.A, self.y, alpha=self.alpha, tol=1e-6, max_iter=10000)

    def time_fista(self):
        fista(self.A, self.y, alpha=self.alpha, tol=1e-6, max_iter=10000)

    def track_products(self):
        return self.res[1]["n_matvec"] + self.res[1]["n_rmatvec"]

    def track_rel_gap(self):
        return self.res[1]["certificate"]


class PdhgLAD(Benchmark):
    def setup(self):
        rng = np.random.default_rng(0)
        m, n = scaled(2000, 400), scaled(500, 100)
        self.A = rng.standard_normal((m, n))
        x = np.zeros(n)
        x[:10] = rng.standard_normal(10)
        self.y = self.A @ x + 0.1 * rng.standard_normal(m)
        self.y[: m // 20] += 50.0
        self.res = pdhg(self.A, self.y, datafit="lad", alpha=0.01, tol=1e-4)

    def time_pdhg_lad(self):
        pdhg(self.A, self.y, datafit="lad", alpha=0.01, tol=1e-4)

    def track_rel_gap(self):
        return self.res[1]["certificate"]


class SpiralTap(Benchmark):
    def setup(self):
        n, m = scaled(2000, 1000), scaled(800, 400)
        rng = np.random.default_rng(0)
        A = rng.integers(0, 2, size=(m, n)).astype(float)
        f = np.zeros(n)
        k = int(0.015 * n)
        f[rng.choice(n, k, replace=False)] = rng.uniform(50, 150, k)
        A *= 15.0 / (A @ f).mean()
        self.A, self.y, self.tau = A, rng.poisson(A @ f).astype(float), 0.1
        self.res = spiral_tap(A, self.y, self.tau, tol=1e-8, max_iter=5000)

    def time_spiral_tap(self):
        spiral_tap(self.A, self.y, self.tau, tol=1e-8, max_iter=5000)

    def track_products(self):
        info = self.res[1]
        return info.n_matvec + info.n_rmatvec

    def track_products_vs_pg(self):
        info = self.res[1]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, pg = _projected_gradient(self.A, self.y, self.tau, target=info.objective,
                                        rtol=1e-8, max_iter=200000)
        return (pg["n_matvec"] + pg["n_rmatvec"]) / (info.n_matvec + info.n_rmatvec)


class TVProx(Benchmark):
    def setup(self):
        rng = np.random.default_rng(0)
        self.Y = np.cumsum(rng.standard_normal((scaled(10000, 2000), 100)), axis=0)
        side = scaled(256, 128)
        self.S = rng.standard_normal((side, side))

    def time_tv1d(self):
        tv1d_prox(self.Y, 1.0)

    def time_tv2d(self):
        tv2d_prox(self.S, 0.5, max_iter=100, tol=1e-5)
