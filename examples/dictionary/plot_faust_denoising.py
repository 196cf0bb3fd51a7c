"""
=====================================================================
Fast-transform dictionaries: denoising PSNR against complexity
=====================================================================

The image-denoising experiment of Le Magoarou & Gribonval ("Learning
computationally efficient dictionaries and their implementation as fast
transforms"): a dictionary of 256 atoms for 8x8 patches is learned from the
noisy image as a **product of sparse factors**
(:class:`~sparsecode.FastTransformDictionary`), and compared with a dense
K-SVD dictionary learned on the same patches.  Every dictionary denoises with
the same error-constrained OMP and patch averaging (Elad & Aharon), so the
PSNR differences come from the dictionaries alone.

The x axis is the *relative complexity* of applying the dictionary,
``RC = (non-zeros of the factors) / (256 * 64)``: the dense dictionary has
RC = 1; a factorised one with RC = 0.2 is applied five times faster.  The
sparsity per row/column of the factors sets the RC.

Default: a 64x64 crop, 1,500 training patches and 4 outer iterations;
``SPARSECODE_FULL=1``: a 256x256 crop, 20,000 training patches and 10
iterations.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_sample_image

from sparsecode import (
    KSVD,
    FastTransformDictionary,
    image_patches,
    overcomplete_dct,
    patches_to_image,
    sparse_encode,
)
from sparsecode._base import ConvergenceWarning
from sparsecode.metrics import psnr

FULL = os.environ.get("SPARSECODE_FULL") == "1"
SIZE = 256 if FULL else 64
N_TRAIN = 20_000 if FULL else 1_500
N_ITER = 10 if FULL else 4
warnings.simplefilter("ignore", ConvergenceWarning)

grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
clean = grey[150:150 + SIZE, 250:250 + SIZE]
rng = np.random.default_rng(0)
n = 64


def denoise(noisy, D, sigma):
    """Error-constrained OMP on every patch, then averaging with the noisy image."""
    P, means = image_patches(noisy, (8, 8))
    code = sparse_encode(P, D, algorithm="omp", tol=n * (1.15 * sigma) ** 2,
                         n_nonzero_coefs=n // 2)
    return patches_to_image(code @ D, noisy.shape, means=means, noisy=noisy,
                            weight=30.0 / sigma)


# %%
# Learn the dense and the factorised dictionaries at two noise levels
# -------------------------------------------------------------------
sparsities = (2, 3, 4, 6, 8) if FULL else (2, 4, 6)
rows = []
for sigma in (15, 30):
    noisy = clean + sigma * rng.standard_normal(clean.shape)
    P, _ = image_patches(noisy, (8, 8), max_patches=N_TRAIN, random_state=0)
    ksvd = KSVD(256, n_nonzero_coefs=n // 2, coding_tol=n * (1.15 * sigma) ** 2,
                init=overcomplete_dct(n, 256), max_iter=N_ITER, random_state=0).fit(P)
    D = ksvd.components_ / np.linalg.norm(ksvd.components_, axis=1, keepdims=True)
    rows.append((sigma, "dense K-SVD", 1.0, psnr(clean, denoise(noisy, D, sigma), data_range=255)))
    for s in sparsities:
        ftd = FastTransformDictionary(
            256, n_nonzero_coefs=5, max_iter=N_ITER, init="odct", random_state=0,
            constraints=[("splin", s), ("splincol", s), ("splincol", s)]).fit(P)
        value = psnr(clean, denoise(noisy, ftd.components_, sigma), data_range=255)
        rows.append((sigma, f"factors, {s} per row/col", ftd.relative_complexity_, value))
    rows.append((sigma, "noisy", np.nan, psnr(clean, noisy, data_range=255)))

print(f"{'sigma':>5}  {'dictionary':<24} {'RC':>6}  {'PSNR (dB)':>9}")
for sigma, name, rc, value in rows:
    print(f"{sigma:>5}  {name:<24} {rc:>6.3f}  {value:>9.2f}")

# %%
# PSNR against relative complexity
# --------------------------------
# Each marker is one learned dictionary; the dashed line is the dense K-SVD
# dictionary (RC = 1) and the dotted one the noisy image.
fig, ax = plt.subplots(figsize=(6.5, 4))
for sigma, color in ((15, "tab:blue"), (30, "tab:red")):
    sel = [r for r in rows if r[0] == sigma]
    fac = [r for r in sel if r[1].startswith("factors")]
    ax.plot([r[2] for r in fac], [r[3] for r in fac], "o-", color=color,
            label=f"sparse factors, sigma = {sigma}")
    dense = next(r for r in sel if r[1] == "dense K-SVD")
    ax.axhline(dense[3], color=color, ls="--", lw=1, label=f"dense K-SVD, sigma = {sigma}")
    noisy_row = next(r for r in sel if r[1] == "noisy")
    ax.axhline(noisy_row[3], color=color, ls=":", lw=1)
ax.set_xlabel("relative complexity of the dictionary (dense = 1)")
ax.set_ylabel("PSNR of the denoised image (dB)")
ax.set_title(f"{SIZE}x{SIZE} crop, {N_TRAIN} training patches")
ax.legend(fontsize=7, loc="lower right")
fig.tight_layout()
plt.show()
