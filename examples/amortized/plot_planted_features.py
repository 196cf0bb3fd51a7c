"""
======================================================================
Recovering planted features: TopK, MP-SAE, PSD and dictionary learning
======================================================================

Data are drawn from a known dictionary, and each method learns a
dictionary of the same size from the data alone.  A planted atom counts as
recovered when some learned atom has absolute cosine above a threshold with
it; the score of a run is the mean over planted atoms of the best absolute
cosine (MMC) or the share above 0.95.

Two constructions (:mod:`sparsecode.datasets`):

* **flat**: :func:`~sparsecode.datasets.make_planted_features`, ``k``
  atoms drawn uniformly per signal with amplitudes in [0.5, 1.5];
* **hierarchical**: :func:`~sparsecode.datasets.make_hierarchical_features`,
  the construction of the MP-SAE paper (Costa et al. 2025): three parents
  with three children each and eight singletons in 20 dimensions, a child
  active only with its parent, features of the same level at cosine
  ``rho`` and parents orthogonal to children.

Methods: :class:`~sparsecode.amortized.KSparseAutoencoder` (TopK SAE with
AuxK), :class:`~sparsecode.amortized.MatchingPursuitAutoencoder` (MP-SAE),
:class:`~sparsecode.amortized.PredictiveSparseDecomposition` (PSD) and
:class:`~sparsecode.dictionary.OnlineDictionaryLearning` with OMP coding
(classical baseline).

Default: small sizes (well under a minute).  ``SPARSECODE_FULL=1``: the flat problem of
the quality target (d = 64, 256 atoms, k = 5, 50,000 samples) and the
hierarchical problem at rho = 0.1, 0.4 and 0.7 with 3 seeds and 6,000 steps
of 200 samples, as in the MP-SAE paper's toy experiment.
"""

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sparsecode.amortized import (
    Adam,
    KSparseAutoencoder,
    MatchingPursuitAutoencoder,
    PredictiveSparseDecomposition,
    linear_decay,
    warmup,
)
from sparsecode.datasets import make_hierarchical_features, make_planted_features
from sparsecode.dictionary import OnlineDictionaryLearning

FULL = os.environ.get("SPARSECODE_FULL") == "1"
warnings.simplefilter("ignore", ConvergenceWarning)


def best_cosines(planted, learned):
    """Best absolute cosine of each planted atom with a learned atom."""
    P = planted / np.linalg.norm(planted, axis=1, keepdims=True)
    L = learned / np.maximum(np.linalg.norm(learned, axis=1, keepdims=True), 1e-12)
    return np.abs(P @ L.T).max(axis=1)


def toy_adam(n_steps, lr=3e-2):
    """The MP-SAE toy recipe: Adam(0.5, 0.9375), 100 warm-up steps, decay to 0.1x."""
    return Adam(lr=lr, betas=(0.5, 0.9375),
                schedule=warmup(100, then=linear_decay(max(n_steps - 100, 1), 0.1)))


def make_models(n_atoms, k, n_steps, batch_size, seed):
    """The four learners at the same dictionary size, sparsity and number of steps.

    TopK and MP-SAE use the optimiser of the MP-SAE paper's toy code (Adam
    with betas (0.5, 0.9375), warm-up, linear decay); TopK at 3e-3,
    MP-SAE at 3e-2.  MP-SAE runs ``k``
    pursuit steps, so both codes have at most ``k`` non-zeros.
    """
    epochs = dict(batch_size=batch_size, random_state=seed)
    return {
        "TopK SAE": KSparseAutoencoder(n_atoms, k, optimizer=toy_adam(n_steps, 3e-3), **epochs),
        "MP-SAE": MatchingPursuitAutoencoder(n_atoms, n_steps=k, fit_pre_bias=False,
                                             optimizer=toy_adam(n_steps), **epochs),
        "PSD": PredictiveSparseDecomposition(n_atoms, alpha=0.05, learning_rate=1e-2,
                                             lr_schedule="linear", **epochs),
        "ODL + OMP": OnlineDictionaryLearning(n_atoms, n_nonzero_coefs=k,
                                              batch_size=batch_size, tol=0,
                                              max_no_improvement=None, random_state=seed),
    }


def train(model, X, n_epochs):
    model.set_params(max_iter=n_epochs)
    t0 = time.perf_counter()
    model.fit(X)
    return model, time.perf_counter() - t0


# %%
# Flat supports
# -------------
# Every atom is used by ``k / n_atoms`` of the signals, independently.
if FULL:
    n_samples, d, n_atoms, k, epochs, batch = 50_000, 64, 256, 5, 10, 256
else:
    n_samples, d, n_atoms, k, epochs, batch = 8_000, 16, 32, 2, 8, 128
X, D, _ = make_planted_features(n_samples, d, n_atoms, k, random_state=0)
n_steps = epochs * (n_samples // batch)
flat = {}
for name, model in make_models(n_atoms, k, n_steps, batch, seed=0).items():
    model, secs = train(model, X, epochs)
    cos = best_cosines(D, model.components_)
    flat[name] = cos
    print(f"flat  {name:10s} recovered@0.95 {np.mean(cos > 0.95):.3f}  MMC {cos.mean():.3f}  "
          f"({secs:.1f} s)")

fig, ax = plt.subplots(figsize=(6, 3.5))
for name, cos in flat.items():
    ax.plot(np.sort(cos)[::-1], label=name)
ax.axhline(0.95, color="grey", lw=0.8, ls=":")
ax.set_xlabel("planted atom (sorted)")
ax.set_ylabel("best |cosine| with a learned atom")
ax.set_title(f"flat: d={d}, {n_atoms} atoms, k={k}, {n_samples} samples")
ax.legend()
fig.tight_layout()

# %%
# Hierarchical, conditionally orthogonal features
# -----------------------------------------------
# TopK codes a sample in one shot from the correlations ``W x``: a child
# correlated with its siblings and always seen together with its parent is
# easily absorbed into a mixture.  Matching pursuit removes the parent
# first; the residual is then the child alone (parents are orthogonal to
# children), which the next step picks.  20 latents, L0 = 1.36 on average.
if FULL:
    rhos, seeds, n_samples, epochs = (0.1, 0.4, 0.7), (0, 1, 2), 30_000, 40
else:
    rhos, seeds, n_samples, epochs = (0.1, 0.4, 0.7), (1,), 8_000, 12
n_steps = epochs * (n_samples // 200)
results = {}  # (method, rho) -> list of per-feature best cosines, one per seed
for rho in rhos:
    for seed in seeds:
        X, D, _, groups = make_hierarchical_features(n_samples, intra_cosine=rho,
                                                     return_groups=True, random_state=seed)
        for name, model in make_models(20, 2, n_steps, 200, seed).items():
            model, _ = train(model, X, epochs)
            results.setdefault((name, rho), []).append(best_cosines(D, model.components_))
            if FULL:
                print(f"rho {rho} seed {seed} {name}: {results[(name, rho)][-1].mean():.3f}",
                      flush=True)

children = [c for t in groups["children"] for c in t]
parents = groups["parents"]
names = list(make_models(20, 2, 1, 200, 0))
print(f"{'rho':>4s} " + " ".join(f"{n:>22s}" for n in names))
print(f"{'':>4s} " + " ".join(f"{'all / parents / child':>22s}" for _ in names))
for rho in rhos:
    row = []
    for name in names:
        c = np.mean(results[(name, rho)], axis=0)
        row.append(f"{c.mean():.3f} / {c[parents].mean():.3f} / {c[children].mean():.3f}")
    print(f"{rho:4.1f} " + " ".join(f"{r:>22s}" for r in row))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for name in names:
    axes[0].plot(rhos, [np.mean(results[(name, r)]) for r in rhos], "o-", label=name)
    axes[1].plot(rhos, [np.mean(np.asarray(results[(name, r)])[:, children]) for r in rhos],
                 "o-", label=name)
axes[0].set_title("all 20 features")
axes[1].set_title("the 9 child features")
for ax in axes:
    ax.set_xlabel("cosine between features of the same level")
    ax.set_ylabel("mean best |cosine|")
axes[0].legend()
fig.tight_layout()

# %%
# Feature by feature at a moderate correlation
# ---------------------------------------------
rho = 0.4 if 0.4 in rhos else rhos[len(rhos) // 2]
fig, ax = plt.subplots(figsize=(9, 3.2))
width = 0.4
for i, name in enumerate(["TopK SAE", "MP-SAE"]):
    c = np.mean(results[(name, rho)], axis=0)
    ax.bar(np.arange(20) + (i - 0.5) * width, c, width, label=name)
for p in parents:
    ax.axvspan(p - 0.5, p + 3.5, color="grey", alpha=0.08)
ax.set_xticks(np.arange(20))
ax.set_xlabel("feature (shaded: a parent and its three children; 12-19 singletons)")
ax.set_ylabel("best |cosine|")
ax.set_ylim(0.4, 1.02)
ax.set_title(f"intra-level cosine {rho}")
ax.legend()
fig.tight_layout()
plt.show()
