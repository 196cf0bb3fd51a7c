"""
==============================================================
Loss-function OMP: recovery error along the iterations
==============================================================

Compressive sensing with a Gaussian matrix (Mohammad-Taheri & Brugiapaglia
2023, experiment IV of spec section 2.7): m = 100 measurements, N = 200,
s = 15, noise of norm 1e-3, and for the LAD loss 5% of the measurements
grossly corrupted.  Plain OMP (lambda = 0) keeps adding atoms and its error
grows once the support is found; the loss-based variants with a suitable
lambda stop improving at the level of the corresponding convex solution and
then stay flat (their gain rule stagnates).  Horizontal lines: the convex
LASSO / SR-LASSO / LAD-LASSO solutions with the same lambda (solved by
``Lasso``, ``SqrtLasso`` and ``LADLasso`` with the normalisation of spec 0.1).
"""

import os

import matplotlib.pyplot as plt
import numpy as np

from sparsecode import LADLasso, Lasso, SqrtLasso, loss_omp

FULL = os.environ.get("SPARSECODE_FULL") == "1"
n_trials = 30 if FULL else 3
m, N, s, eta = 100, 200, 15, 1e-3
n_iter = 150 if FULL else 60
rng = np.random.default_rng(0)

# (loss, paper lambda of the greedy method, paper lambda of the convex reference,
#  convex estimator, map lambda -> alpha)
settings = [
    ("lasso", 1e-5, 1.78e-4, Lasso, lambda lam: lam / (2 * m)),
    ("sqrt_lasso", 0.158, 0.126, SqrtLasso, lambda lam: lam / np.sqrt(m)),
    ("lad_lasso", 1.0, 1.0, LADLasso, lambda lam: lam / m),
]
curves = {k[0]: [] for k in settings}
omp_curves = {k[0]: [] for k in settings}
convex_err = {k[0]: [] for k in settings}
for t in range(n_trials):
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N)
    x[rng.choice(N, s, replace=False)] = rng.standard_normal(s)
    e = rng.standard_normal(m)
    y_clean = A @ x + eta * e / np.linalg.norm(e)
    for loss, lam, lam_cvx, est, to_alpha in settings:
        y = y_clean.copy()
        if loss == "lad_lasso":
            bad = rng.choice(m, int(0.05 * m), replace=False)
            y[bad] += 100 * rng.standard_normal(bad.size)
        err = lambda c: np.linalg.norm(c - x) / np.linalg.norm(x)  # noqa: E731
        res = loss_omp(A, y, loss=loss, alpha=to_alpha(lam), n_nonzero_coefs=n_iter,
                       return_path=True)
        path = [err(c) for c in res.path]
        path += [path[-1]] * (n_iter - len(path))  # stagnation: the iterate repeats
        curves[loss].append(path)
        omp = loss_omp(A, y, loss="lasso", alpha=0.0, n_nonzero_coefs=n_iter,
                       return_path=True)
        p0 = [err(c) for c in omp.path]
        p0 += [p0[-1]] * (n_iter - len(p0))
        omp_curves[loss].append(p0)
        cvx = est(alpha=to_alpha(lam_cvx), fit_intercept=False, tol=1e-8).fit(A, y)
        convex_err[loss].append(err(cvx.coef_))

fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
titles = {"lasso": "LASSO-$\\ell_1$ loss", "sqrt_lasso": "SR-LASSO-$\\ell_1$ loss",
          "lad_lasso": "LAD-LASSO-$\\ell_1$ loss (5% corrupted)"}
it = np.arange(1, n_iter + 1)
for ax, (loss, lam, lam_cvx, _, _) in zip(axes, settings):
    for data, label, color in [(curves[loss], f"greedy, $\\lambda$={lam:g}", "C0"),
                               (omp_curves[loss], "OMP ($\\lambda$=0)", "C3")]:
        L = np.log10(np.array(data))
        mu, sd = L.mean(0), L.std(0)
        ax.plot(it, mu, color=color, label=label)
        ax.fill_between(it, mu - sd, mu + sd, color=color, alpha=0.2)
    ax.axhline(np.mean(np.log10(convex_err[loss])), color="k", ls="--",
               label=f"convex, $\\lambda$={lam_cvx:g}")
    ax.set_title(titles[loss])
    ax.set_xlabel("iteration")
    ax.legend(fontsize=8)
axes[0].set_ylabel("log10 relative error (mean $\\pm$ 1 std)")
fig.suptitle(f"Gaussian CS, m={m}, N={N}, s={s}, {n_trials} trials")
fig.tight_layout()
