"""Benchmarks of the sparse multivariate methods: TruncatedPowerPCA, SparseCCA, OMPSelector.

Problems (issue "Sparse PCA by truncated power iterations, sparse CCA, and
greedy feature selection"):

- TruncatedPowerPCA: 5 components of a spiked data matrix (5 sparse spikes,
  theta = 8..4, disjoint supports of size k), 2,000 x 10,000 with k = 50
  (fast profile: 400 x 2,000, k = 10), from the data (products with X) and
  from the covariance (small size only);
- TruncatedPowerPCA on weak spikes: one spike of strength theta = 2 on 20 of
  5,000 features, n = 1,000 (fast profile: 300 x 1,500, k = 10), ten seeds:
  the share of exactly recovered supports, where the start's accuracy and
  the working-set iterations show;
- SparseCCA: two views sharing one factor on 10 coordinates, n = 200,
  p = q = 500, penalty 0.95 sqrt(10/500);
- OMPSelector: correlated synthetic regression, 10 of d features selected,
  n = 300, d = 50 and 500.

``track_*`` report the support F1 (spikes, canonical weights) and the
held-out canonical correlation, so that a speed-up that changes the answer shows.
"""

import numpy as np

import sparsecode as sc

from .common import Benchmark, scaled

_API = {name: getattr(sc, name) for name in ("TruncatedPowerPCA", "SparseCCA", "OMPSelector")}
THETAS = (8.0, 7.0, 6.0, 5.0, 4.0)


def _spiked5(n, p, k, seed=0):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(p)
    X = rng.standard_normal((n, p))
    V = np.zeros((len(THETAS), p))
    for c, th in enumerate(THETAS):
        V[c, perm[c * k:(c + 1) * k]] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
        X += np.sqrt(th) * rng.standard_normal((n, 1)) * V[c]
    return X, V


def _views(n, p, q, s=10, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, 1))
    X = rng.standard_normal((n, p))
    Y = rng.standard_normal((n, q))
    X[:, :s] += z
    Y[:, :s] += z
    return X, Y


def _f1(est, true):
    est, true = set(est), set(true)
    return 2 * len(est & true) / max(len(est) + len(true), 1)


TPOWER = {
    "large": (scaled(2000, 400), scaled(10_000, 2000), scaled(50, 10)),
    "small": (400, 2000, 10),
}


class TruncatedPowerPCABench(Benchmark):
    """Five sparse components of a spiked data matrix or its covariance."""

    param_names = ["problem", "input"]
    params = (list(TPOWER), ["data", "covariance"])
    timeout = 600.0

    def setup(self, problem, input):
        if problem == "large" and input == "covariance":
            raise NotImplementedError  # asv: skip (a 10,000 x 10,000 covariance)
        n, p, k = TPOWER[problem]
        self.X, self.V = _spiked5(n, p, k)
        self.k = k
        self.fit_input = np.cov(self.X.T) if input == "covariance" else self.X
        self.est = _API["TruncatedPowerPCA"](5, k=k, covariance=input == "covariance")
        self.est.fit(self.fit_input)

    def time_fit(self, problem, input):
        self.est.fit(self.fit_input)

    def peakmem_fit(self, problem, input):
        self.est.fit(self.fit_input)

    def track_support_f1(self, problem, input):
        C = self.est.components_
        cos = np.abs(C @ self.V.T)
        return float(np.mean([_f1(np.flatnonzero(C[i]), np.flatnonzero(self.V[np.argmax(cos[i])]))
                              for i in range(C.shape[0])]))

    track_support_f1.unit = "F1"


def _weak_spike(n, p, k, theta, seed):
    rng = np.random.default_rng(seed)
    support = np.sort(rng.choice(p, k, replace=False))
    v = np.zeros(p)
    v[support] = rng.choice([-1.0, 1.0], k) / np.sqrt(k)
    return rng.standard_normal((n, p)) + np.sqrt(theta) * rng.standard_normal((n, 1)) * v, support


class TruncatedPowerPCAWeakSpikeBench(Benchmark):
    """One weak spike (theta = 2): how often the default fit finds its support."""

    timeout = 600.0

    def setup(self):
        n, p, k = scaled(1000, 300), scaled(5000, 1500), scaled(20, 10)
        self.problems = [_weak_spike(n, p, k, 2.0, seed) for seed in range(10)]
        self.k = k
        self.est = _API["TruncatedPowerPCA"](1, k=k)

    def time_fit(self):
        self.est.fit(self.problems[0][0])

    def track_exact_supports(self):
        found = 0
        for X, support in self.problems:
            comp = self.est.fit(X).components_[0]
            found += np.array_equal(np.flatnonzero(comp), support)
        return found

    track_exact_supports.unit = "of 10"


class SparseCCABench(Benchmark):
    """PMD sparse CCA at n = 200, p = q = 500 (the issue's target)."""

    def setup(self):
        s, p = 10, 500
        self.X, self.Y = _views(200, p, p, s)
        self.Xt, self.Yt = _views(5000, p, p, s, seed=1)
        pen = 0.95 * np.sqrt(s / p)
        self.est = _API["SparseCCA"](penalty_x=pen, penalty_y=pen).fit(self.X, self.Y)

    def time_fit(self):
        self.est.fit(self.X, self.Y)

    def peakmem_fit(self):
        self.est.fit(self.X, self.Y)

    def track_heldout_correlation(self):
        xs, ys = self.est.transform(self.Xt, self.Yt)
        return float(abs(np.corrcoef(xs[:, 0], ys[:, 0])[0, 1]))

    track_heldout_correlation.unit = "correlation (population 0.909)"

    def track_support_f1(self):
        return min(_f1(np.flatnonzero(self.est.x_weights_[:, 0]), range(10)),
                   _f1(np.flatnonzero(self.est.y_weights_[:, 0]), range(10)))

    track_support_f1.unit = "F1"


class OMPSelectorBench(Benchmark):
    """OMP selection of 10 features from a correlated design."""

    param_names = ["n_features"]
    params = ([50, 500],)

    def setup(self, n_features):
        rng = np.random.default_rng(0)
        X = rng.standard_normal((300, n_features)) + 0.7 * rng.standard_normal((300, 1))
        w = np.zeros(n_features)
        self.true = rng.choice(n_features, 10, replace=False)
        w[self.true] = rng.uniform(0.5, 2.0, 10) * rng.choice([-1, 1], 10)
        self.X, self.y = X, X @ w + 0.5 * rng.standard_normal(300)
        self.est = _API["OMPSelector"](n_features_to_select=10).fit(self.X, self.y)

    def time_fit(self, n_features):
        self.est.fit(self.X, self.y)

    def track_support_f1(self, n_features):
        return _f1(self.est.selection_order_, self.true)

    track_support_f1.unit = "F1"
