"""Benchmarks of the greedy family: Batch-OMP, sparse_encode(omp), OMP estimator, MP.

Problems (issue "Performance"): a 64x256 dictionary (8x8 patches) with
10,000 signals and 8 non-zeros, and a 256x1024 dictionary with 2,000 signals
and 20 non-zeros; unit-norm Gaussian atoms, Gaussian sparse codes, 1 %
noise.  Each method runs with 1 and 2 threads.  ``track_*`` report the
support recovery (fraction of the true supports found) and the relative
reconstruction error, so that a speed-up that changes the answer shows.
"""

import sparsecode as sc

from .common import (
    Benchmark,
    first_call_seconds,
    relative_error,
    scaled,
    sparse_coding_problem,
    support_recovery,
)

# (n_features, n_atoms, n_samples, n_nonzero_coefs)
PROBLEMS = {
    "64x256": (64, 256, scaled(10_000, 2_000), 8),
    "256x1024": (256, 1024, scaled(2_000, 400), 20),
}

METHODS = ("batch_omp", "sparse_encode_omp", "omp_estimator", "mp")

# Resolve the public names now: with asv's forkserver the (costly) import of
# every family happens once, in the server, not in each benchmark process.
_API = {name: getattr(sc, name) for name in
        ("batch_omp", "sparse_encode", "OrthogonalMatchingPursuit", "MatchingPursuit")}


def _make_runner(method, D, X, k, n_jobs):
    """A zero-argument callable returning codes (n_samples, n_atoms)."""
    if method == "batch_omp":
        gram = D @ D.T
        Aty = D @ X.T  # (n_atoms, n_samples): A^T y for every signal

        def run():
            return _API["batch_omp"](gram, Aty, n_nonzero_coefs=k, n_jobs=n_jobs).coef.T

    elif method == "sparse_encode_omp":

        def run():
            return _API["sparse_encode"](X, D, algorithm="omp", n_nonzero_coefs=k, n_jobs=n_jobs)

    elif method == "omp_estimator":
        A, Y = D.T, X.T  # regression layout: atoms as columns, one target per column

        def run():
            est = _API["OrthogonalMatchingPursuit"](n_nonzero_coefs=k, n_jobs=n_jobs).fit(A, Y)
            return est.coef_

    elif method == "mp":
        A, Y = D.T, X.T

        def run():
            est = _API["MatchingPursuit"](n_nonzero_coefs=k, n_jobs=n_jobs).fit(A, Y)
            return est.coef_

    else:  # pragma: no cover
        raise ValueError(method)
    return run


class GreedyCoding(Benchmark):
    """Time and peak memory of coding a batch of signals with each greedy method."""

    param_names = ["method", "problem", "n_jobs"]
    params = (list(METHODS), list(PROBLEMS), [1, 2])

    def setup(self, method, problem, n_jobs):
        n_features, n_atoms, n_samples, k = PROBLEMS[problem]
        self.D, self.codes_true, self.X = sparse_coding_problem(
            n_features, n_atoms, n_samples, k)
        self.run = _make_runner(method, self.D, self.X, k, n_jobs)
        self.codes = self.run()  # warm-up: first-call costs stay out of the timings

    def time_encode(self, method, problem, n_jobs):
        self.run()

    def peakmem_encode(self, method, problem, n_jobs):
        self.run()


class GreedyQuality(Benchmark):
    """Quality of the codes (identical for any ``n_jobs``, so measured with 1 thread)."""

    param_names = ["method", "problem"]
    params = (list(METHODS), list(PROBLEMS))

    def setup(self, method, problem):
        n_features, n_atoms, n_samples, k = PROBLEMS[problem]
        self.D, self.codes_true, self.X = sparse_coding_problem(
            n_features, n_atoms, n_samples, k)
        self.codes = _make_runner(method, self.D, self.X, k, 1)()

    def track_support_recovery(self, method, problem):
        return support_recovery(self.codes_true, self.codes)

    track_support_recovery.unit = "fraction"

    def track_relative_error(self, method, problem):
        return relative_error(self.X, self.codes, self.D)

    track_relative_error.unit = "relative"


class GreedyFirstCall(Benchmark):
    """Cost of the first call in a fresh interpreter (imports, extension load, JIT).

    ``positive=True`` goes through the Numba non-negative OMP kernel, whose
    compilation is cached on disk after the very first run.
    """

    param_names = ["positive"]
    params = ([False, True],)
    repeat = (1, 3, 60.0)

    def setup(self, positive):
        self.positive = positive

    def track_first_call_s(self, positive):
        setup = (
            "import numpy as np\n"
            "rng = np.random.default_rng(0)\n"
            "D = rng.standard_normal((256, 64)); D /= np.linalg.norm(D, axis=1, keepdims=True)\n"
            "X = np.abs(rng.standard_normal((100, 64)))"
        )
        code = (
            "from sparsecode import sparse_encode\n"
            f"sparse_encode(X, D, algorithm='omp', n_nonzero_coefs=8, positive={positive})"
        )
        return first_call_seconds(code, setup)

    track_first_call_s.unit = "seconds"


class GreedyChunked(Benchmark):
    """Batch-OMP on many short signals (chunking and scatter overheads).

    100,000 signals (20,000 in the fast profile) over a 16x32 dictionary with
    4 non-zeros: the per-signal work is tiny, so fixed costs show up.
    """

    param_names = ["n_jobs"]
    params = ([1, 2],)

    def setup(self, n_jobs):
        self.D, self.codes_true, self.X = sparse_coding_problem(16, 32, scaled(100_000), 4)
        encode = _API["sparse_encode"]
        self.encode = lambda: encode(self.X, self.D, n_nonzero_coefs=4, n_jobs=n_jobs)
        self.codes = self.encode()

    def time_encode(self, n_jobs):
        self.encode()

    def peakmem_encode(self, n_jobs):
        self.encode()


class SingleVectorOMP(Benchmark):
    """OMP on one signal, A (m, N) Gaussian with unit-norm columns, y = A x + 1 % noise.

    ``path``: ``"auto"`` (the cost model: Cholesky OMP without a Gram here,
    its selection screened in float32 from 6 iterations on; one real signal
    takes the one-call lane), ``"gram"`` (``precompute=True``,
    the Gram formed in the call) and ``"given_gram"`` (``batch_omp`` with
    the Gram precomputed outside the call).
    """

    param_names = ["shape", "path"]
    params = (["100x400_k5", "100x400_k25", "500x2000_k50", "500x2000_k125",
               "1000x4000_k250"],
              ["auto", "gram", "given_gram"])

    def setup(self, shape, path):
        import numpy as np

        dims, k = shape.split("_k")
        m, N = map(int, dims.split("x"))
        k = int(k)
        rng = np.random.default_rng(0)
        A = rng.standard_normal((m, N))
        A /= np.linalg.norm(A, axis=0)
        x = np.zeros(N)
        x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
        y = A @ x + 0.01 * rng.standard_normal(m)
        if path == "given_gram":
            G, Aty = A.T @ A, A.T @ y
            self.run = lambda: sc.batch_omp(G, Aty, n_nonzero_coefs=k)
        else:
            pre = "auto" if path == "auto" else True
            self.run = lambda: sc.omp(A, y, n_nonzero_coefs=k, precompute=pre)
        self.run()

    def time_omp(self, shape, path):
        self.run()
