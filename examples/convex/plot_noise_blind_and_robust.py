"""
==================================================================
Noise-blind tuning of SR-LASSO and fault tolerance of LAD-LASSO
==================================================================

Experiment I of Mohammad-Taheri & Brugiapaglia (2023) (spec section 2.7):
Gaussian CS with m = 150, N = 300, s = 10, 3s iterations.  Left: median
recovery error of the greedy LASSO-l1 and SR-LASSO-l1 OMP against lambda for
three noise levels: the best lambda of the LASSO loss moves with the noise
level, the best lambda of the square-root loss does not (it only sees the
direction of the residual).  Right: with corrupted measurements (gross
errors of size 100) OMP fails while LAD-LASSO-l1 OMP stays accurate over a
range of lambda.  lambda is the paper's (unnormalised) parameter.
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from sparsecode import loss_omp

FULL = os.environ.get("SPARSECODE_FULL") == "1"
n_trials = 30 if FULL else 2
m, N, s = 150, 300, 10
K = 3 * s
rng = np.random.default_rng(1)


def problem(eta, n_bad=0):
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    e = rng.standard_normal(m)
    y = A @ x + eta * e / np.linalg.norm(e)
    if n_bad:
        y[rng.integers(0, m, n_bad)] += 100 * rng.standard_normal(n_bad)
    return A, x, y


def median_error(loss, lams, eta, n_bad=0):
    errs = np.zeros((n_trials, len(lams)))
    scale = {"lasso": 2 * m, "sqrt_lasso": np.sqrt(m), "lad_lasso": m}[loss]
    for t in range(n_trials):
        A, x, y = problem(eta, n_bad)
        for k, lam in enumerate(lams):
            c = loss_omp(A, y, loss=loss, alpha=lam / scale, n_nonzero_coefs=K).coef
            errs[t, k] = np.linalg.norm(c - x) / np.linalg.norm(x)
    return np.median(errs, axis=0)


step = 0.25 if FULL else 1.0
lams_l2 = 10.0 ** np.arange(-8, 2 + 1e-9, step)
lams_lad = 10.0 ** np.arange(-3, 2 + 1e-9, step)
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for eta, color in zip([1e-3, 1e-2, 1e-1], ["C0", "C1", "C2"]):
    for ax, loss in zip(axes[:2], ["lasso", "sqrt_lasso"]):
        med = median_error(loss, lams_l2, eta)
        ax.loglog(lams_l2, med, "o-", ms=3, color=color, label=f"$\\eta$={eta:g}")
        ax.plot(lams_l2[np.argmin(med)], med.min(), "k*", ms=10)
for ax, loss in zip(axes[:2], ["LASSO-$\\ell_1$", "SR-LASSO-$\\ell_1$"]):
    ax.set_xlabel("$\\lambda$ (paper's scaling)")
    ax.set_ylabel("median relative error")
    ax.set_title(f"{loss} OMP (star: best $\\lambda$)")
    ax.legend()
n_bad = int(0.1 * m)
med_lad = median_error("lad_lasso", lams_lad, 1e-3, n_bad)
med_omp = median_error("lasso", np.array([0.0]), 1e-3, n_bad)
axes[2].loglog(lams_lad, med_lad, "o-", ms=3, label="LAD-LASSO-$\\ell_1$ OMP")
axes[2].axhline(med_omp[0], color="C3", ls="--", label="OMP")
axes[2].set_xlabel("$\\lambda$ (paper's scaling)")
axes[2].set_ylabel("median relative error")
axes[2].set_title(f"{n_bad} of {m} measurements corrupted")
axes[2].legend()
fig.suptitle(f"Gaussian CS, m={m}, N={N}, s={s}, {K} iterations, {n_trials} trials")
fig.tight_layout()
