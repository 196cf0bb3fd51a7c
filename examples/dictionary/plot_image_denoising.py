"""
===========================================================
Image denoising with learned patch dictionaries (K-SVD)
===========================================================

The K-SVD denoising experiment of Elad & Aharon (IEEE TIP 15(12), 2006): a
dictionary of 256 atoms for 8x8 patches is learned **from the noisy image
itself**, every overlapping patch is then coded with error-constrained OMP
(stop when :math:`\\|p - D x\\|_2 \\le \\sqrt{n}\\, 1.15\\, \\sigma`), and the
patch estimates are averaged together with the noisy image (weight
:math:`\\lambda = 30/\\sigma`).

We compare the dictionaries learned by :class:`~sparsecode.KSVD`,
:class:`~sparsecode.MOD`, :class:`~sparsecode.OnlineDictionaryLearning` and
scikit-learn's ``MiniBatchDictionaryLearning`` with the initial overcomplete
DCT, at noise levels :math:`\\sigma = 20` and :math:`50` (grey levels
0-255), on a crop of scikit-learn's bundled ``china.jpg``.  The same coding
and averaging are used for every dictionary, so the PSNR differences come
from the dictionaries alone.

Default: a 64x64 crop, 1,500 training patches, 5 iterations (one epoch for
scikit-learn, whose LARS coding dominates the run time); ``SPARSECODE_FULL=1``:
a 256x256 crop, 40,000 training patches and 20 iterations as in KSVD-Box.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image
from sklearn.decomposition import MiniBatchDictionaryLearning

from sparsecode import (
    KSVD,
    MOD,
    OnlineDictionaryLearning,
    image_patches,
    overcomplete_dct,
    patches_to_image,
    plot_dictionary,
    sparse_encode,
)
from sparsecode._base import ConvergenceWarning
from sparsecode.metrics import psnr

FULL = os.environ.get("SPARSECODE_FULL") == "1"
SIZE = 256 if FULL else 64
N_TRAIN = 40_000 if FULL else 1_500
N_ITER = 20 if FULL else 5
SK_EPOCHS = 20 if FULL else 1  # scikit-learn's LARS coding is slow: 1 epoch by default
warnings.simplefilter("ignore", ConvergenceWarning)

# %%
# The clean image and its noisy versions
# --------------------------------------
rgb = load_sample_image("china.jpg").astype(float)
grey = rgb.mean(axis=2)
r0, c0 = 150, 250  # a textured region (roof and trees)
clean = grey[r0:r0 + SIZE, c0:c0 + SIZE]
rng = np.random.default_rng(0)
n = 64  # 8x8 patches
odct = overcomplete_dct(n, 256)


def denoise(noisy, D, sigma):
    """Code every patch with error-constrained OMP and average (Elad & Aharon)."""
    P, means = image_patches(noisy, (8, 8))
    tol = n * (1.15 * sigma) ** 2  # squared residual norm per patch
    code = sparse_encode(P, D, algorithm="omp", tol=tol, n_nonzero_coefs=n // 2)
    return patches_to_image(code @ D, noisy.shape, means=means, noisy=noisy,
                            weight=30.0 / sigma)


def learners(sigma):
    tol = n * (1.15 * sigma) ** 2
    return {
        "K-SVD": KSVD(256, n_nonzero_coefs=n // 2, coding_tol=tol, init=odct,
                      max_iter=N_ITER, random_state=0),
        "MOD": MOD(256, n_nonzero_coefs=n // 2, coding_tol=tol, init=odct,
                   max_iter=N_ITER, random_state=0),
        "Online": OnlineDictionaryLearning(256, n_nonzero_coefs=4, init=odct, max_iter=N_ITER,
                                           random_state=0),
        "sklearn MiniBatch": MiniBatchDictionaryLearning(256, alpha=1.0, batch_size=256,
                                                         max_iter=SK_EPOCHS, random_state=0),
    }


results = {}
dicts = {}
images = {}
for sigma in (20, 50):
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    P, _ = image_patches(noisy, (8, 8), max_patches=N_TRAIN, random_state=0)
    results[sigma] = {"noisy": psnr(clean, noisy, data_range=255.0),
                      "ODCT": psnr(clean, denoise(noisy, odct, sigma), data_range=255.0)}
    for name, est in learners(sigma).items():
        if name.startswith("sklearn"):
            scale = P.std()  # scikit-learn's alpha is for unit-variance data
            est.fit(P / scale)
        else:
            est.fit(P)
        D = est.components_ / np.linalg.norm(est.components_, axis=1, keepdims=True)
        den = denoise(noisy, D, sigma)
        results[sigma][name] = psnr(clean, den, data_range=255.0)
        dicts[(sigma, name)] = D
        images[(sigma, name)] = den
    images[(sigma, "noisy")] = noisy
    print(f"sigma = {sigma}: " + ", ".join(f"{k} {v:.2f} dB" for k, v in results[sigma].items()))

# %%
# PSNR of each dictionary, the denoised images and the K-SVD atoms
# ----------------------------------------------------------------
methods = ["noisy", "ODCT", "K-SVD", "MOD", "Online", "sklearn MiniBatch"]
fig = plt.figure(figsize=(12, 7.5))
ax = fig.add_subplot(2, 3, 1)
w = 0.38
x = np.arange(len(methods))
for j, sigma in enumerate((20, 50)):
    ax.bar(x + (j - 0.5) * w, [results[sigma][m] for m in methods], w,
           label=f"$\\sigma$ = {sigma}")
ax.set_xticks(x, methods, rotation=35, ha="right")
ax.set_ylabel("PSNR (dB)")
ax.set_ylim(min(results[50].values()) - 2, max(results[20].values()) + 1)
ax.set_title("Denoising PSNR by dictionary")
ax.legend()
for k, (title, img) in enumerate([("clean", clean),
                                  ("noisy, $\\sigma$=20", images[(20, "noisy")]),
                                  (f"K-SVD, {results[20]['K-SVD']:.1f} dB",
                                   images[(20, "K-SVD")])]):
    a = fig.add_subplot(2, 3, 2 + k)
    a.imshow(img, cmap="gray", vmin=0, vmax=255)
    a.set_title(title)
    a.set_axis_off()
plot_dictionary(odct, (8, 8), ax=fig.add_subplot(2, 3, 5), title="initial ODCT atoms")
plot_dictionary(dicts[(20, "K-SVD")], (8, 8), ax=fig.add_subplot(2, 3, 6),
                title="K-SVD atoms learned at $\\sigma$ = 20")
fig.suptitle("K-SVD denoising (Elad & Aharon 2006) on a crop of china.jpg")
fig.tight_layout()
