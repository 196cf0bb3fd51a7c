"""
===========================================================
Fast inference: a trained PSD encoder against OMP and lasso
===========================================================

Predictive sparse decomposition (Kavukcuoglu, Ranzato & LeCun) trains an
encoder ``F(y) = g * tanh(W y + b)`` to predict the sparse codes of its own
dictionary, so that coding a signal costs one matrix product instead of an
iterative solve.  Here one dictionary learned by
:class:`~sparsecode.amortized.PredictiveSparseDecomposition` on 8x8 image
patches codes held-out patches in several ways:

* the encoder alone (``inference="encoder"``),
* the encoder followed by a few FISTA steps (``inference="encoder+ista"``),
* the lasso codes of the dictionary (``inference="ista"``, which is
  :func:`~sparsecode.sparse_encode` with ``algorithm="lasso"``),
* OMP at several sparsity levels (``sparse_encode(algorithm="omp")``).

Coding time is plotted against the relative reconstruction error
``sum ||x - z D||^2 / sum ||x||^2``.  Then, as the k-sparse autoencoder
paper does on MNIST, a linear classifier (logistic regression) is trained
on the codes of scikit-learn's digits.

Patches are coded in float32 (models trained on float32 data compute in
float32).  The timings are whatever this machine gives when the documentation
is built, on one thread.  Default: 64 atoms, 2,000 test patches;
``SPARSECODE_FULL=1``: 256 atoms, 10,000 test patches (the encoding target
of the benchmarks).
"""

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_sample_image
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from sparsecode import image_patches, sparse_encode
from sparsecode.amortized import KSparseAutoencoder, PredictiveSparseDecomposition

FULL = os.environ.get("SPARSECODE_FULL") == "1"
N_ATOMS = 256 if FULL else 64
N_TRAIN = 40_000 if FULL else 6_000
N_TEST = 10_000 if FULL else 2_000
EPOCHS = 10 if FULL else 5
ALPHA = 1.0
warnings.simplefilter("ignore", ConvergenceWarning)


def timed(f, repeats=3):
    """Result and the best wall time of ``repeats`` calls (one for the slow solvers)."""
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        best = min(best, time.perf_counter() - t0)
    return out, best


# %%
# One dictionary and its encoder, learned on patches
# --------------------------------------------------
rng = np.random.default_rng(0)
grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
P, _ = image_patches(grey, (8, 8), max_patches=N_TRAIN + N_TEST, random_state=0)
P = (P[rng.permutation(len(P))] / P.std()).astype(np.float32)  # float32 in, float32 out
X_train, X_test = P[:N_TRAIN], P[N_TRAIN:]
psd = PredictiveSparseDecomposition(N_ATOMS, alpha=ALPHA, learning_rate=3e-3, max_iter=EPOCHS,
                                    batch_size=128, random_state=0).fit(X_train)
D = psd.components_
print(f"PSD: {N_ATOMS} atoms, predictor gap {psd.predictor_gap_:.3f}")

# %%
# Time against reconstruction error
# ---------------------------------
energy = np.sum(X_test ** 2)
points = {}
with threadpool_limits(1):
    def add(name, f, repeats=3):
        codes, secs = timed(f, repeats)
        err = np.sum((X_test - codes @ D) ** 2) / energy
        points[name] = (secs, err, np.count_nonzero(codes) / len(codes))

    add("PSD encoder", lambda: psd.transform(X_test, inference="encoder"))
    for n in (1, 3, 10):
        add(f"encoder + {n} FISTA", lambda n=n: psd.transform(X_test, inference="encoder+ista",
                                                              n_ista_steps=n))
    # inference="ista" is sparse_encode(X, D, algorithm="lasso", alpha=alpha)
    add("lasso (sparse_encode)", lambda: psd.transform(X_test, inference="ista"), repeats=1)
    for k in (2, 4, 8, 16):
        add(f"OMP k={k}", lambda k=k: sparse_encode(X_test, D, algorithm="omp",
                                                     n_nonzero_coefs=k))

t_enc = points["PSD encoder"][0]
print(f"{'codes':26s} {'time (s)':>9s} {'x encoder':>9s} {'rel. error':>10s} {'L0':>6s}")
for name, (secs, err, nnz) in points.items():
    print(f"{name:26s} {secs:9.4f} {secs / t_enc:9.1f} {err:10.4f} {nnz:6.1f}")

fig, ax = plt.subplots(figsize=(6.5, 4))
for name, (secs, err, _) in points.items():
    marker = "s" if name.startswith("OMP") else ("^" if name.startswith("lasso") else "o")
    ax.loglog(secs, err, marker, ms=8, label=name)
ax.set_xlabel(f"time to code {N_TEST} patches (s, one thread)")
ax.set_ylabel("relative reconstruction error")
ax.set_title(f"one dictionary of {N_ATOMS} atoms, alpha = {ALPHA}")
ax.legend(fontsize=7)
fig.tight_layout()

# %%
# A linear classifier on the codes of digits
# ------------------------------------------
# PSD and a k-sparse autoencoder (k = 10 in training, 3k = 30 latents kept
# at test time, as Makhzani & Frey do) are trained on the training digits
# (unsupervised); the classifier sees only the codes.  Raw pixels are the
# reference.
digits = load_digits()
order = rng.permutation(len(digits.data))
Xd, yd = digits.data[order], digits.target[order]
n_tr = 1300
scaler = StandardScaler().fit(Xd[:n_tr])
Xd = scaler.transform(Xd)
n_dig = 256 if FULL else 128
psd_d = PredictiveSparseDecomposition(n_dig, alpha=0.5, learning_rate=3e-3,
                                      max_iter=60 if FULL else 20, batch_size=64,
                                      random_state=0).fit(Xd[:n_tr])
ksae = KSparseAutoencoder(n_dig, 10, alpha_encode=3.0, learning_rate=3e-3, batch_size=64,
                          max_iter=60 if FULL else 20, random_state=0).fit(Xd[:n_tr])


def accuracy(F_train, F_test):
    clf = LogisticRegression(max_iter=2000).fit(F_train, yd[:n_tr])
    return clf.score(F_test, yd[n_tr:])


codings = {
    "raw pixels": lambda X: X,
    "PSD encoder": lambda X: psd_d.transform(X, inference="encoder"),
    "PSD encoder + 10 FISTA": lambda X: psd_d.transform(X, inference="encoder+ista",
                                                        n_ista_steps=10),
    "lasso codes": lambda X: psd_d.transform(X, inference="ista"),
    "OMP codes (k = 10)": lambda X: sparse_encode(X, psd_d.components_, algorithm="omp",
                                                  n_nonzero_coefs=10),
    "TopK SAE codes (3k = 30)": lambda X: ksae.transform(X),
}
accs = {}
for name, code in codings.items():
    accs[name] = accuracy(code(Xd[:n_tr]), code(Xd[n_tr:]))
    print(f"{name:24s} test accuracy {accs[name]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3))
ax.barh(list(accs), list(accs.values()))
ax.set_xlim(0.8, 1.0)
ax.set_xlabel(f"logistic-regression accuracy on {len(yd) - n_tr} held-out digits")
fig.tight_layout()
plt.show()
