"""TopK sparse autoencoder against the same model in PyTorch (CPU); encoder against OMP.

Rows:

* **training step** -- one TopK SAE step (d = 512, 4096 latents, k = 32,
  batch 1024, float32, AuxK on, Adam) at 1 and 2 threads.  Ours:
  ``KSparseAutoencoder._train_step`` (one BLAS GEMM for the encoder, compiled
  top-k, sparse decode and sparse backward over the active latents only,
  fused Adam; ``n_jobs`` and BLAS both at the thread count).  Peer: the same
  model written in PyTorch (``torch.set_num_threads``), in two ways: the
  usual dense recipe (``topk`` values scattered into a dense code matrix,
  ``codes @ W_dec``, autograd) and a sparse decoder through
  ``F.embedding_bag`` (gathers k atoms per sample; autograd still forms the
  dense encoder gradient).  Same initial parameters, same batches; the loss
  curves of 50 steps are compared (``max_rel_loss_diff``).  The encoder GEMM
  alone is timed too: ``gemm_fraction`` is its share of our step.
* **encoding** -- 10,000 8x8 patches of ``china.jpg`` coded by a trained
  encoder (``KSparseAutoencoder(n_latents=256, k=k)`` for k = 5, 10, 16, 20,
  defaults otherwise, trained on 30,000 other patches) against Batch-OMP
  (``sparse_encode(algorithm="omp")``, k non-zeros) over the same dictionary
  (the SAE's decoder): time and relative reconstruction error of each (one
  thread); ``gemm_fraction`` is the encoder's float32 product ``X W_enc^T``
  alone over our whole ``transform``.
* **planted features** -- quality only: d = 64, 256 planted unit atoms, 5
  active per sample (uniform 0.5-1.5), 50,000 samples; TopK SAE, PSD and
  MP-SAE with their defaults (``n_latents=256``, ``k=5`` / ``n_steps=5``):
  share of atoms recovered at cosine >= 0.95, dead fraction (TopK: with AuxK).
* **memory-mapped fit** -- tracemalloc peak of ``fit`` over an ``np.memmap`` of
  100,000 and 1,000,000 rows (d = 32, one epoch).
"""

import os
import tempfile
import time
import tracemalloc

import numpy as np

from . import best_times_interleaved, import_peer, missing_row, peer_version, ratio, threads

D, N_LAT, K, BATCH = 512, 4096, 32, 1024
N_STEPS_CURVE = 50
REPEAT = 5


def _stream(n_batches, seed=0, d=D, n_feat=N_LAT, k_true=K):
    """Batches of synthetic activations: sparse sums of planted directions plus noise."""
    rng = np.random.default_rng(seed)
    F = rng.standard_normal((n_feat, d)).astype(np.float32)
    F /= np.linalg.norm(F, axis=1, keepdims=True)
    out = []
    for _ in range(n_batches):
        idx = np.argpartition(rng.random((BATCH, n_feat)), k_true, axis=1)[:, :k_true]
        Z = np.zeros((BATCH, n_feat), np.float32)
        np.put_along_axis(Z, idx, rng.uniform(0.5, 1.5, (BATCH, k_true)).astype(np.float32), 1)
        out.append(np.ascontiguousarray(Z @ F + 0.05 * rng.standard_normal((BATCH, d)),
                                        dtype=np.float32))
    return out


def _ours(batches, n_threads):
    from sparsecode.amortized import KSparseAutoencoder

    m = KSparseAutoencoder(n_latents=N_LAT, k=K, batch_size=BATCH, learning_rate=1e-3,
                           dead_after_n_samples=8 * BATCH, n_jobs=n_threads, random_state=0)
    m._check_common_params()
    X0 = np.concatenate(batches[:4])
    m._check_X_fit(X0, reset=True)
    m._initialise(X0)
    return m


class TorchTopK:
    """The TopK SAE of ``KSparseAutoencoder`` in PyTorch (same loss, AuxK, Adam, unit atoms)."""

    def __init__(self, torch, model, sparse_decoder, k_aux, dead_after):
        self.t = torch
        self.F = torch.nn.functional
        P = lambda a: torch.nn.Parameter(torch.from_numpy(np.array(a, copy=True)))  # noqa: E731
        self.W_enc = P(model.encoder_weights_)
        self.b_enc = P(model.encoder_bias_)
        self.W_dec = P(model.components_)
        self.b_pre = P(model.decoder_bias_)
        self.scale = float(model._loss_scale)
        self.sparse = sparse_decoder
        self.k_aux = k_aux
        self.dead_after = dead_after
        self.since = torch.zeros(N_LAT, dtype=torch.int64)
        self.opt = torch.optim.Adam([self.W_enc, self.b_enc, self.W_dec, self.b_pre], lr=1e-3,
                                    betas=(0.9, 0.999), eps=6.25e-10)

    def _decode(self, idx, z, bias):
        if self.sparse:
            out = self.F.embedding_bag(idx, self.W_dec, per_sample_weights=z, mode="sum")
        else:
            dense = self.t.zeros(idx.shape[0], N_LAT, dtype=z.dtype).scatter(1, idx, z)
            out = dense @ self.W_dec
        return out + bias if bias is not None else out

    def step(self, xb):
        t = self.t
        x = t.from_numpy(xb)
        xc = x - self.b_pre
        a = xc @ self.W_enc.T + self.b_enc
        vals, idx = a.topk(K, dim=1, sorted=False)
        z = t.relu(vals)
        xhat = self._decode(idx, z, self.b_pre)
        e = x - xhat
        loss = self.scale * (e * e).mean()
        with t.no_grad():
            fired = t.zeros(N_LAT, dtype=t.bool)
            fired[idx[z > 1e-3]] = True
            self.since += x.shape[0]
            self.since[fired] = 0
            dead = self.since >= self.dead_after
        n_dead = int(dead.sum())
        if n_dead:
            ka = min(self.k_aux, n_dead)
            masked = a.masked_fill(~dead, float("-inf"))
            va, ia = masked.topk(ka, dim=1, sorted=False)
            za = t.relu(va)
            ehat = self._decode(ia, za, None)
            target = e.detach()
            var = ((target - target.mean(0)) ** 2).mean()
            if float(var) > 0:
                loss = loss + (1 / 32) * ((ehat - target) ** 2).mean() / var
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        with t.no_grad():
            W, g = self.W_dec, self.W_dec.grad
            g -= (g * W).sum(1, keepdim=True) * W
        self.opt.step()
        with t.no_grad():
            self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return float(loss.detach())


def _training_rows(torch, full):
    from sparsecode._parallel import blas_limited

    batches = _stream(N_STEPS_CURVE + 4)
    rows = []
    for n_threads in (1, 2):
        torch.set_num_threads(n_threads)
        ours = _ours(batches, n_threads)
        peers = {name: TorchTopK(torch, ours, sparse, ours._k_aux, ours._dead_after)
                 for name, sparse in (("torch dense decode", False),
                                      ("torch embedding_bag decode", True))}
        # loss curves over the same 50 batches from the same start
        curves = {"ours": []}
        curves.update({name: [] for name in peers})
        with threads(n_threads), blas_limited(n_threads):
            for xb in batches[:N_STEPS_CURVE]:
                curves["ours"].append(float(ours._train_step(xb)))
                ours.n_steps_ += 1
                for name, p in peers.items():
                    curves[name].append(p.step(xb))
            xb = batches[-1]
            Wt = np.ascontiguousarray(ours.encoder_weights_.T)
            # the encoder GEMM alone, interleaved with the steps (same load)
            funcs = ([lambda: ours._train_step(xb), lambda: (xb - ours.decoder_bias_) @ Wt]
                     + [lambda p=p: p.step(xb) for p in peers.values()])
            times, _ = best_times_interleaved(funcs, repeat=REPEAT)
            t_gemm = times.pop(1)
        c0 = np.array(curves["ours"])
        for (name, p), t_peer in zip(peers.items(), times[1:]):
            cp = np.array(curves[name])
            rows.append(dict(
                problem=f"TopK SAE step d={D} n={N_LAT} k={K} B={BATCH} float32",
                method="KSparseAutoencoder step", peer=f"{peer_version(torch)} ({name})",
                t_ours_s=times[0], t_peer_s=t_peer, ratio=ratio(t_peer, times[0]),
                threads=n_threads, gemm_fraction=round(t_gemm / times[0], 3),
                loss_ours_step50=round(c0[-1], 5), loss_peer_step50=round(cp[-1], 5),
                max_rel_loss_diff=float(np.max(np.abs(cp - c0) / np.abs(c0)))))
    return rows


def _patches(n=10_000, seed=0):
    from sklearn.datasets import load_sample_image

    from sparsecode import image_patches

    grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
    P, _ = image_patches(grey, (8, 8), max_patches=n, random_state=seed)
    return np.ascontiguousarray(P / P.std())


ENCODE_KS = (5, 10, 16, 20)


def _encoding_rows():
    from sparsecode import sparse_encode
    from sparsecode.amortized import KSparseAutoencoder

    P = _patches(30_000, seed=1)
    Xt = _patches(10_000, seed=2)
    X32 = Xt.astype(np.float32)
    nrm = np.linalg.norm(Xt)
    rows = []
    for k in ENCODE_KS:
        sae = KSparseAutoencoder(n_latents=256, k=k, random_state=0).fit(P)
        D = sae.components_
        W32 = sae.encoder_weights_.astype(np.float32)
        with threads(1):
            (t_ours, t_omp, t_gemm), (codes, omp_codes, _) = best_times_interleaved(
                [lambda: sae.transform(Xt),
                 lambda: sparse_encode(Xt, D, algorithm="omp", n_nonzero_coefs=k),
                 lambda: X32 @ W32.T], repeat=REPEAT)
        err_ours = float(np.linalg.norm(Xt - sae.inverse_transform(codes)) / nrm)
        err_omp = float(np.linalg.norm(Xt - omp_codes @ D) / nrm)
        rows.append(dict(problem=f"encode 10,000 8x8 patches, 256 atoms, L0 <= {k}",
                         method=f"trained encoder (k={k})",
                         peer="sparsecode batch OMP (same dictionary)", t_ours_s=t_ours,
                         t_peer_s=t_omp, ratio=ratio(t_omp, t_ours), threads=1,
                         l0_ours=round(float(np.count_nonzero(codes) / len(Xt)), 2),
                         l0_peer=round(float(np.count_nonzero(omp_codes) / len(Xt)), 2),
                         err_ours=round(err_ours, 4), err_peer=round(err_omp, 4),
                         err_ratio=round(err_ours / err_omp, 3),
                         gemm_fraction=round(t_gemm / t_ours, 3)))
    return rows


def planted(d=64, m=256, k=5, n=50_000, seed=0):
    rng = np.random.default_rng(seed)
    Dp = rng.standard_normal((m, d))
    Dp /= np.linalg.norm(Dp, axis=1, keepdims=True)
    idx = np.argpartition(rng.random((n, m)), k, axis=1)[:, :k]
    Z = np.zeros((n, m))
    np.put_along_axis(Z, idx, rng.uniform(0.5, 1.5, (n, k)), 1)
    return Z @ Dp, Dp


def _planted_rows():
    from sparsecode.amortized import (KSparseAutoencoder, MatchingPursuitAutoencoder,
                                      PredictiveSparseDecomposition)
    from sparsecode.metrics import mean_max_cosine

    X, Dp = planted()
    rows = []
    for name, model in [
            ("KSparseAutoencoder (AuxK)", KSparseAutoencoder(n_latents=256, k=5, random_state=0)),
            ("PredictiveSparseDecomposition",
             PredictiveSparseDecomposition(n_latents=256, random_state=0)),
            ("MatchingPursuitAutoencoder",
             MatchingPursuitAutoencoder(n_latents=256, n_steps=5, random_state=0))]:
        t0 = time.perf_counter()
        model.fit(X)
        t_fit = time.perf_counter() - t0
        mmc, rec = mean_max_cosine(model.components_, Dp, threshold=0.95)
        dead = getattr(model, "dead_fraction_", None)
        rows.append(dict(problem="planted flat features d=64, 256 atoms, k=5, 50,000 samples",
                         method=name, peer="(quality only)", t_ours_s=t_fit, t_peer_s=None,
                         ratio=None, threads=1, recovered_095=round(rec, 3),
                         mmc=round(mmc, 4),
                         dead_fraction=None if dead is None else round(dead, 4)))
    return rows


def _memmap_rows():
    from sparsecode.amortized import KSparseAutoencoder

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "x.npy")
        n_max, d = 1_000_000, 32
        mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n_max, d))
        rng = np.random.default_rng(0)
        for s in range(0, n_max, 100_000):
            mm[s:s + 100_000] = rng.standard_normal((100_000, d))
        mm.flush()
        del mm
        for n in (100_000, 1_000_000):
            X = np.load(path, mmap_mode="r")[:n]
            m = KSparseAutoencoder(n_latents=128, k=4, batch_size=1024, max_iter=1,
                                   learning_rate=1e-3, random_state=0)
            tracemalloc.start()
            t0 = time.perf_counter()
            m.fit(X)
            dt = time.perf_counter() - t0
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            rows.append(dict(problem=f"fit over np.memmap {n:,} x {d} float32 (1 epoch)",
                             method="KSparseAutoencoder.fit", peer="(memory only)", t_ours_s=dt,
                             t_peer_s=None, ratio=None, threads=1,
                             peak_mem_ours_MiB=round(peak / 2 ** 20, 2),
                             data_MiB=round(n * d * 4 / 2 ** 20, 1)))
    return rows


def run(full=False):
    rows = []
    torch = import_peer("torch")
    if torch is None:
        rows.append(missing_row(f"TopK SAE step d={D} n={N_LAT} k={K} B={BATCH}",
                                "KSparseAutoencoder step", "torch"))
    else:
        rows += _training_rows(torch, full)
    rows += _encoding_rows()
    rows += _planted_rows()
    rows += _memmap_rows()
    return rows


if __name__ == "__main__":  # pragma: no cover
    import json
    import sys

    parts = sys.argv[1:] or ["train", "encode", "planted", "memmap"]
    out = []
    if "train" in parts:
        out += _training_rows(import_peer("torch"), False)
    if "encode" in parts:
        out += _encoding_rows()
    if "planted" in parts:
        out += _planted_rows()
    if "memmap" in parts:
        out += _memmap_rows()
    for r in out:
        print(json.dumps(r, default=str))
