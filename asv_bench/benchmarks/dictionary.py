"""Benchmarks of the dictionary family: K-SVD, MOD, online and masked DL, palm4MSA.

Problems: Lasso coding of unit-norm 8x8 patches over the overcomplete DCT
(``LassoCoding``); random 8x8 patches of scikit-learn's ``china.jpg`` (mean removed,
scaled to unit variance), 256 atoms, 5 non-zeros per patch while learning
(10,000 patches in the regular profile, 2,000 in fast), and the 32x32
Hadamard factorisation.  ``time_fit`` runs a fixed budget (3 K-SVD/MOD
iterations with the defaults -- the default ``subsample="auto"`` warm-up needs
at least 16,384 signals for 256 atoms and 5 non-zeros, so these fits run plain
K-SVD --, 5 K-SVD iterations with the warm-up from 1,024 signals
(``subsample=1024``, what ``"auto"`` takes on larger sets) and ``n_atom_iter=2``,
1 online epoch, 2 masked epochs); ``track_error`` reports the
relative error of 5-sparse Batch-OMP codes over the learned dictionary, so a
faster fit that learns less shows.  Setups run one small fit first so the
Numba compile stays out of the timings; ``DictionaryFirstCall`` measures it.
"""

import warnings

import numpy as np

import sparsecode as sc

from .common import Benchmark, first_call_seconds, scaled

_API = {name: getattr(sc, name) for name in
        ("KSVD", "MOD", "OnlineDictionaryLearning", "MaskedDictionaryLearning",
         "hierarchical_factorization", "image_patches", "sparse_encode")}

N_PATCHES = scaled(10_000, 2_000)


def _patches():
    from sklearn.datasets import load_sample_image

    grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
    P, _ = _API["image_patches"](grey, (8, 8), max_patches=N_PATCHES, random_state=0)
    return np.ascontiguousarray(P / P.std())


def _make(method):
    if method == "KSVD":
        return _API["KSVD"](256, n_nonzero_coefs=5, max_iter=3, tol=0.0, random_state=0)
    if method == "KSVDSubsample":
        return _API["KSVD"](256, n_nonzero_coefs=5, max_iter=5, tol=0.0, subsample=1024,
                            n_atom_iter=2, random_state=0)
    if method == "MOD":
        return _API["MOD"](256, n_nonzero_coefs=5, max_iter=3, tol=0.0, random_state=0)
    if method == "Online":
        return _API["OnlineDictionaryLearning"](256, n_nonzero_coefs=5, max_iter=1, tol=0.0,
                                                max_no_improvement=None, random_state=0)
    if method == "OnlineL1":
        return _API["OnlineDictionaryLearning"](256, fit_algorithm="lasso", alpha=0.15,
                                                max_iter=1, tol=0.0, max_no_improvement=None,
                                                random_state=0)
    return _API["MaskedDictionaryLearning"](256, n_nonzero_coefs=5, max_iter=2, tol=0.0,
                                            random_state=0)


METHODS = ("KSVD", "KSVDSubsample", "MOD", "Online", "OnlineL1", "Masked")


class DictionaryFit(Benchmark):
    """Time, peak memory and quality of learning 256 atoms from image patches."""

    param_names = ["method"]
    params = (list(METHODS),)

    def setup(self, method):
        warnings.simplefilter("ignore")
        self.P = _patches()
        _make(method).set_params(max_iter=1).fit(self.P[:300])  # compile outside timings
        self.est = _make(method)

    def time_fit(self, method):
        self.est.fit(self.P)

    def peakmem_fit(self, method):
        self.est.fit(self.P)

    def track_error(self, method):
        D = self.est.fit(self.P).components_
        code = _API["sparse_encode"](self.P, D, algorithm="omp", n_nonzero_coefs=5)
        return float(np.linalg.norm(self.P - code @ D) / np.linalg.norm(self.P))

    track_error.unit = "relative"


class KSVDPlantedRecovery(Benchmark):
    """Fraction of a planted dictionary's atoms that K-SVD recovers (a learned
    atom with ``|cos| > 0.99``), mean over data and K-SVD seeds 0-5, noiseless
    signals and signals at 20 dB SNR.  Setups: 48 atoms in R^32 with 2 per
    signal and 30 iterations (tests/dictionary), 50 atoms in R^20 with 3 per
    signal and 40 iterations (the recovery gallery example), both with
    coefficient magnitudes in [1, 2] and ``tol=0``; ``subsample`` is the
    default ``"auto"`` (which warms up on 20,000 signals, not on 4,000) or
    None (plain K-SVD)."""

    param_names = ["setup", "n_samples", "subsample"]
    params = (["48x32k2", "50x20k3"], [4000, 20000], ["auto", None])
    timeout = 300

    def track_recovered(self, setup, n_samples, subsample):
        from sparsecode.datasets import make_sparse_coded_signal

        warnings.simplefilter("ignore")
        K, n, k, iters = {"48x32k2": (48, 32, 2, 30), "50x20k3": (50, 20, 3, 40)}[setup]
        rec = []
        for seed in range(6):
            Xc, D, _ = make_sparse_coded_signal(n_samples, n_components=K, n_features=n,
                                                n_nonzero_coefs=k, amplitude="uniform",
                                                random_state=seed)
            sigma = np.sqrt(np.mean(Xc**2) / 10**2)  # 20 dB
            noisy = Xc + sigma * np.random.default_rng(seed).standard_normal(Xc.shape)
            for X in (Xc, noisy):
                est = _API["KSVD"](K, n_nonzero_coefs=k, max_iter=iters, tol=0.0,
                                   subsample=subsample, random_state=seed).fit(X)
                rec.append(sc.metrics.mean_max_cosine(est.components_, D, threshold=0.99)[1])
        return float(np.mean(rec))

    track_recovered.unit = "fraction"


class LassoCoding(Benchmark):
    """Lasso codes of 4,900 unit-norm 8x8 patches over the 256-atom overcomplete
    DCT by the LARS homotopy (``lasso_lars_gram``), at penalties giving about
    1, 13, 38 and 57 non-zeros per patch."""

    param_names = ["alpha"]
    params = ([0.5, 0.15, 0.05, 0.01],)

    def setup(self, alpha):
        from sparsecode.convex._lars import lasso_lars_gram
        from sparsecode.dictionary._common import overcomplete_dct

        P = _patches()[:scaled(4_900, 1_000)]
        P = P - P.mean(axis=1, keepdims=True)
        self.P = np.ascontiguousarray(P / np.maximum(np.linalg.norm(P, axis=1,
                                                                    keepdims=True), 1e-12))
        D = overcomplete_dct(64, 256)
        self.D = np.ascontiguousarray(D / np.linalg.norm(D, axis=1, keepdims=True))
        self.code = lasso_lars_gram
        self.code(self.P[:50], self.D, alpha)

    def time_lasso_lars_gram(self, alpha):
        self.code(self.P, self.D, alpha)

    def track_mean_nonzeros(self, alpha):
        return float(np.mean(np.count_nonzero(self.code(self.P, self.D, alpha), axis=1)))

    track_mean_nonzeros.unit = "non-zeros"


class HadamardFactorisation(Benchmark):
    """Hierarchical palm4MSA on the Hadamard matrix (exact butterfly factorisation)."""

    param_names = ["n"]
    params = ([32, 64],)

    def setup(self, n):
        from scipy.linalg import hadamard

        self.H = hadamard(n).astype(float)
        m = int(np.log2(n))
        self.fc = [("splincol", 2)] * (m - 1)
        self.rc = [("splincol", n // 2**j) for j in range(1, m)]

    def time_factorise(self, n):
        _API["hierarchical_factorization"](self.H, self.fc, self.rc)

    def track_relative_error(self, n):
        return float(_API["hierarchical_factorization"](self.H, self.fc, self.rc).error)

    track_relative_error.unit = "relative"


class DictionaryFirstCall(Benchmark):
    """First K-SVD fit in a fresh interpreter (imports and the Numba kernels, cached on disk)."""

    repeat = (1, 3, 60.0)

    def track_first_call_s(self):
        setup = "import numpy as np\nX = np.random.default_rng(0).standard_normal((200, 16))"
        code = ("from sparsecode import KSVD\n"
                "KSVD(20, n_nonzero_coefs=2, max_iter=2).fit(X)")
        return first_call_seconds(code, setup)

    track_first_call_s.unit = "seconds"
