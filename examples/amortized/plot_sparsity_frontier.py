"""
================================================================
The reconstruction-sparsity frontier on image patches and digits
================================================================

How well does each learned dictionary reconstruct held-out data at a given
number of active atoms?  For every method the sparsity knob is swept and
the normalised MSE (fraction of variance unexplained,
``sum ||x - x_hat||^2 / sum ||x - mean||^2``) is plotted against the mean
number of non-zeros per code (L0), on

* 8x8 patches of the two sample images bundled with scikit-learn
  (``china.jpg`` and ``flower.jpg``, grey levels, each patch's mean removed),
* scikit-learn's handwritten digits (8x8 images, 1,797 samples).

Methods and their knob: :class:`~sparsecode.amortized.KSparseAutoencoder`
(TopK SAE, ``k``), :class:`~sparsecode.amortized.MatchingPursuitAutoencoder`
(MP-SAE, pursuit steps), :class:`~sparsecode.amortized.PredictiveSparseDecomposition`
(PSD, penalty ``alpha``; codes by the lasso over the learned dictionary) and
:class:`~sparsecode.dictionary.OnlineDictionaryLearning` with OMP coding
(the classical baseline, ``n_nonzero_coefs``).  All learn the same number of
atoms; the digits, a smaller set, get four times as many epochs.

Default: 64 atoms, 6,000 training patches, three sparsity levels (seconds).
``SPARSECODE_FULL=1``: 256 atoms, 20,000 training patches, four levels.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_sample_image
from sklearn.exceptions import ConvergenceWarning

from sparsecode import image_patches
from sparsecode.amortized import (
    KSparseAutoencoder,
    MatchingPursuitAutoencoder,
    PredictiveSparseDecomposition,
)
from sparsecode.dictionary import OnlineDictionaryLearning
from sparsecode.metrics import l0_norm, normalized_mse

FULL = os.environ.get("SPARSECODE_FULL") == "1"
N_ATOMS = 256 if FULL else 64
N_TRAIN = 20_000 if FULL else 6_000
N_TEST = 10_000 if FULL else 2_000
EPOCHS = 5
KS = (2, 4, 8, 16) if FULL else (2, 4, 8)
# lasso penalties of PSD per data set, chosen to span about the same L0 range
ALPHAS = {
    "image patches": (4.0, 2.0, 1.0, 0.5) if FULL else (4.0, 2.0, 1.0),
    "digits": (2.0, 1.0, 0.5, 0.25) if FULL else (2.0, 1.0, 0.5),
}
warnings.simplefilter("ignore", ConvergenceWarning)


# %%
# Data
# ----
# Patches of both images, each without its mean, scaled to unit variance
# overall; digits centred and scaled the same way.
rng = np.random.default_rng(0)
patches = []
for name in ("china.jpg", "flower.jpg"):
    grey = load_sample_image(name).astype(float).mean(axis=2)
    P, _ = image_patches(grey, (8, 8), max_patches=(N_TRAIN + N_TEST) // 2, random_state=0)
    patches.append(P)
P = np.vstack(patches)[rng.permutation(N_TRAIN + N_TEST)]
P /= P.std()
digits = load_digits().data
digits = digits[rng.permutation(len(digits))]
n_dig_train = 1300
digits = (digits - digits[:n_dig_train].mean(axis=0)) / digits[:n_dig_train].std()
# (train, test, epochs): digits get more epochs for about as many steps
datasets = {
    "image patches": (P[:N_TRAIN], P[N_TRAIN:], EPOCHS),
    "digits": (digits[:n_dig_train], digits[n_dig_train:], 4 * EPOCHS),
}


# %%
# Sweep each method's sparsity knob
# ---------------------------------
def frontier(X_train, X_test, epochs, alphas):
    common = dict(max_iter=epochs, batch_size=128, random_state=0)
    out = {}
    for k in KS:
        runs = {
            "TopK SAE": KSparseAutoencoder(N_ATOMS, k, learning_rate=3e-3, **common),
            "MP-SAE": MatchingPursuitAutoencoder(N_ATOMS, n_steps=k, selection="abs",
                                                 learning_rate=3e-3, **common),
            "ODL + OMP": OnlineDictionaryLearning(N_ATOMS, n_nonzero_coefs=k, batch_size=128,
                                                  max_iter=epochs, tol=0,
                                                  max_no_improvement=None, random_state=0),
        }
        for name, model in runs.items():
            codes = model.fit(X_train).transform(X_test)
            out.setdefault(name, []).append(
                (l0_norm(codes), normalized_mse(X_test, model.inverse_transform(codes))))
    for alpha in alphas:
        psd = PredictiveSparseDecomposition(N_ATOMS, alpha=alpha, learning_rate=3e-3, **common)
        codes = psd.fit(X_train).transform(X_test, inference="ista")
        out.setdefault("PSD (lasso codes)", []).append(
            (l0_norm(codes), normalized_mse(X_test, psd.inverse_transform(codes))))
    return out


results = {name: frontier(*data, ALPHAS[name]) for name, data in datasets.items()}
for dname, res in results.items():
    print(dname)
    for method, pts in res.items():
        print(f"  {method:18s} " + "  ".join(f"L0 {a:5.2f} FVU {b:.3f}" for a, b in pts))

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, (dname, res) in zip(axes, results.items()):
    for method, pts in res.items():
        a = np.array(sorted(pts))
        ax.plot(a[:, 0], a[:, 1], "o-", label=method)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("L0 (mean non-zeros per code)")
    ax.set_ylabel("normalised MSE (FVU)")
    ax.set_title(f"{dname}, {N_ATOMS} atoms")
axes[0].legend()
fig.tight_layout()
plt.show()
