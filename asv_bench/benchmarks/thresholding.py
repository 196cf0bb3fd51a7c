"""Benchmarks of the thresholding family: NST+HT+FB, its adaptive variant,
HTP, NIHT, CoSaMP, SP.

Problems (noiseless ``y = A x``, N(0, 1) non-zeros):

- ``gaussian``: Gaussian 500 x 2000 with unit-norm columns, k = 50, one
  target (the dense case of the issue), and 20 targets solved in one batch;
- ``dct``: matrix-free partial DCT with n = 2^14 (``fast`` profile: 2^12),
  m = n / 4, k = m / 10.

``NSTvsOMP``: Gaussian 500 x 1000, s = 150 (issue 17), NST+HT+FB and OMP.

``time_solve`` / ``peakmem_solve`` time one call; ``track_rel_error``
reports ``||x_hat - x|| / ||x||`` and ``track_n_iter`` the iterations, so a
speed-up that changes the answer shows.  The first call (imports) happens in
``setup``.
"""

import numpy as np

import sparsecode as sc

from .common import Benchmark, scaled

_API = {name: getattr(sc, name) for name in
        ("nst_ht_fb", "adaptive_nst_ht_fb", "htp", "niht", "cosamp", "subspace_pursuit")}
_OPS = sc.operators


def _problem(kind, n_targets, seed=0):
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        m, n, k = 500, 2000, 50
        A = rng.standard_normal((m, n))
        A /= np.linalg.norm(A, axis=0)
    else:
        n = scaled(2**14, 2**12)
        m, k = n // 4, n // 40
        A = _OPS.PartialDCT(n, m, scale=np.sqrt(n / m), random_state=seed)
    X = np.zeros((n, n_targets))
    for j in range(n_targets):
        X[rng.choice(n, k, replace=False), j] = rng.standard_normal(k)
    return A, X, A @ X, k


class ThresholdingSolvers(Benchmark):
    """One call of each solver on the dense and the matrix-free problem."""

    param_names = ["problem", "solver"]
    params = (["gaussian", "gaussian_batch20", "dct"],
              ["nst_ht_fb", "adaptive_nst_ht_fb", "htp", "niht", "cosamp", "subspace_pursuit"])

    def setup(self, problem, solver):
        kind = "dct" if problem == "dct" else "gaussian"
        n_targets = 20 if problem == "gaussian_batch20" else 1
        self.A, self.X, self.Y, k = _problem(kind, n_targets)
        kw = {} if solver == "adaptive_nst_ht_fb" else {"n_nonzero_coefs": k}
        if solver == "niht":
            kw["max_iter"] = 500
        func = _API[solver]

        def call():
            return func(self.A, self.Y, tol=1e-8, **kw)

        self.call = call
        self.result = call()  # warm-up: imports, first-call costs

    def time_solve(self, problem, solver):
        self.call()

    def peakmem_solve(self, problem, solver):
        self.call()

    def track_rel_error(self, problem, solver):
        return float(np.linalg.norm(self.result.coef - self.X) / np.linalg.norm(self.X))

    def track_n_iter(self, problem, solver):
        return float(np.mean(self.result.n_iter))


class NSTvsOMP(Benchmark):
    """NST+HT+FB and OMP on the problem where both recover x: Gaussian 500 x 1000, s = 150."""

    param_names = ["solver"]
    params = (["nst_ht_fb", "omp"],)

    def setup(self, solver):
        rng = np.random.default_rng(0)
        m, n, s = 500, 1000, 150
        A = rng.standard_normal((m, n))
        A /= np.linalg.norm(A, axis=0)
        x = np.zeros(n)
        x[rng.choice(n, s, replace=False)] = rng.standard_normal(s)
        y = A @ x
        if solver == "nst_ht_fb":
            self.call = lambda: _API["nst_ht_fb"](A, y, n_nonzero_coefs=s, tol=1e-8)
        else:
            self.call = lambda: sc.omp(A, y, n_nonzero_coefs=s)
        self.call()

    def time_solve(self, solver):
        self.call()
