"""Benchmarks of the amortised encoders: a TopK SAE training step, encoding, a fit.

``TopKStep`` times one training step of ``KSparseAutoencoder`` (d = 512,
4096 latents, k = 32, float32, AuxK on) at batch 1024 (256 in the fast
profile), at 1 and 2 threads, and the encoder GEMM alone (the cost floor);
``TopKEncode`` codes 10,000 8x8 patches (2,000 fast) with a trained encoder
(256 latents, k = 5), next to its float32 encoder product alone (the floor)
and Batch-OMP over the same dictionary, and tracks the relative
reconstruction error;
``TopKFit`` fits planted flat features (d = 64, 256 atoms, k = 5) and tracks
the share of atoms recovered at cosine >= 0.95.  The PyTorch comparison is
in ``asv_bench/peers/amortized.py``.
"""

import numpy as np

import sparsecode as sc
from sparsecode._parallel import blas_limited

from .common import Benchmark, scaled

D, N_LAT, K = 512, 4096, 32
BATCH = scaled(1024, 256)


def _batch(seed=0):
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((N_LAT, D)).astype(np.float32)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    idx = np.argpartition(rng.random((BATCH, N_LAT)), K, axis=1)[:, :K]
    Z = np.zeros((BATCH, N_LAT), np.float32)
    np.put_along_axis(Z, idx, rng.uniform(0.5, 1.5, (BATCH, K)).astype(np.float32), 1)
    return np.ascontiguousarray(Z @ F, dtype=np.float32)


class TopKStep(Benchmark):
    params = [[1, 2]]
    param_names = ["threads"]

    def setup(self, threads):
        self.X = _batch()
        m = sc.KSparseAutoencoder(n_latents=N_LAT, k=K, batch_size=BATCH, learning_rate=1e-3,
                                  dead_after_n_samples=4 * BATCH, n_jobs=threads,
                                  random_state=0)
        m.partial_fit(self.X)
        self.m = m
        self.Wt = np.ascontiguousarray(m.encoder_weights_.T)
        self.threads = threads
        with blas_limited(threads):
            m._train_step(self.X)

    def time_step(self, threads):
        with blas_limited(threads):
            self.m._train_step(self.X)

    def time_encoder_gemm(self, threads):
        with blas_limited(threads):
            (self.X - self.m.decoder_bias_) @ self.Wt


def _patches(n, seed):
    from sklearn.datasets import load_sample_image

    grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
    P, _ = sc.image_patches(grey, (8, 8), max_patches=n, random_state=seed)
    return np.ascontiguousarray(P / P.std())


class TopKEncode(Benchmark):
    def setup(self):
        self.P = _patches(scaled(10_000, 2_000), seed=2)
        train = _patches(scaled(30_000, 6_000), seed=1)
        self.m = sc.KSparseAutoencoder(n_latents=256, k=5, batch_size=256, max_iter=3,
                                       learning_rate=2e-3, random_state=0).fit(train)
        self.m.transform(self.P[:10])
        self.P32 = self.P.astype(np.float32)
        self.W32 = np.ascontiguousarray(self.m.encoder_weights_.T, dtype=np.float32)

    def time_transform(self):
        self.m.transform(self.P)

    def time_transform_csr(self):
        self.m.transform(self.P, output="csr")

    def time_encoder_gemm_float32(self):
        # the floor of transform: its one product, in float32
        self.P32 @ self.W32

    def time_omp_same_dictionary(self):
        sc.sparse_encode(self.P, self.m.components_, algorithm="omp", n_nonzero_coefs=5)

    def track_relative_error(self):
        P = self.P
        return float(np.linalg.norm(P - self.m.inverse_transform(self.m.transform(P)))
                     / np.linalg.norm(P))


class TopKFit(Benchmark):
    def setup(self):
        rng = np.random.default_rng(0)
        n = scaled(20_000, 5_000)
        Dp = rng.standard_normal((256, 64))
        Dp /= np.linalg.norm(Dp, axis=1, keepdims=True)
        idx = np.argpartition(rng.random((n, 256)), 5, axis=1)[:, :5]
        Z = np.zeros((n, 256))
        np.put_along_axis(Z, idx, rng.uniform(0.5, 1.5, (n, 5)), 1)
        self.X, self.Dp = Z @ Dp, Dp

    def _fit(self):
        return sc.KSparseAutoencoder(n_latents=256, k=5, batch_size=1024, max_iter=10,
                                     learning_rate=3e-3, random_state=0).fit(self.X)

    def time_fit(self):
        self._fit()

    def track_recovered_at_095(self):
        return sc.metrics.mean_max_cosine(self._fit().components_, self.Dp, threshold=0.95)[1]
