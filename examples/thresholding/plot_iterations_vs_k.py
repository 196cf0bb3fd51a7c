"""
==================================================
Iterations to exact recovery as the sparsity grows
==================================================

NST+HT+FB and HTP terminate in finitely many iterations (the support stops
changing and the least-squares step returns x exactly), with a count that
grows slowly with ``s`` (it depends on the dynamic range ``||x|| / min |x_j|``,
spec 4.4); IHT converges only linearly, so reaching a relative residual of
1e-6 takes one to two orders of magnitude more iterations.  NIHT's adaptive
step sits in between.

Setting: Gaussian 200 x 400 with unit-norm columns, N(0, 1) non-zeros,
noiseless; mean iterations over the trials that recover x (relative error
below 1e-4).  IHT is shown with ``mu = 1`` (the setting of its RIP theorem,
which diverges beyond small ``s``; no point is drawn where no trial
succeeded) and with the default majorisation step ``mu = 1 / ||A||^2``
(safe, slow).  Default: 3 signals per ``s``; ``SPARSECODE_FULL=1``: 20
signals and a finer grid.
"""

# %%
import os
import warnings

import matplotlib.pyplot as plt
import numpy as np

import sparsecode as sc

FULL = os.environ.get("SPARSECODE_FULL") == "1"
m, N = 200, 400
S_GRID = np.arange(5, 76, 5) if FULL else np.array([5, 10, 20, 35, 50])
TRIALS = 20 if FULL else 3

METHODS = {
    "NST+HT+FB": lambda A, Y, s: sc.nst_ht_fb(A, Y, n_nonzero_coefs=s),
    "HTP": lambda A, Y, s: sc.htp(A, Y, n_nonzero_coefs=s),
    "NIHT": lambda A, Y, s: sc.niht(A, Y, n_nonzero_coefs=s, max_iter=2000),
    "IHT (mu=1)": lambda A, Y, s: sc.iht(A, Y, n_nonzero_coefs=s, step=1.0, max_iter=2000),
    "IHT (mu=1/||A||^2)": lambda A, Y, s: sc.iht(A, Y, n_nonzero_coefs=s, max_iter=3000),
}
rng = np.random.default_rng(0)
mean_it = {name: [] for name in METHODS}
success = {name: [] for name in METHODS}
for s in S_GRID:
    A = rng.standard_normal((m, N))
    A /= np.linalg.norm(A, axis=0)
    X = np.zeros((N, TRIALS))
    for t in range(TRIALS):
        X[rng.choice(N, s, replace=False), t] = rng.standard_normal(s)
    Y = A @ X
    for name, solve in METHODS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = solve(A, Y, int(s))
        err = np.linalg.norm(res.coef - X, axis=0) / np.linalg.norm(X, axis=0)
        ok = err < 1e-4
        success[name].append(ok.mean())
        mean_it[name].append(np.mean(res.n_iter[ok]) if ok.any() else np.nan)

print("  s | " + " | ".join(f"{name:>16}" for name in METHODS))
for i, s in enumerate(S_GRID):
    print(f"{s:3d} | " + " | ".join(
        f"{mean_it[n][i]:7.1f} ({success[n][i]:.2f})" for n in METHODS))

# %%
fig, ax = plt.subplots(figsize=(6.5, 4.2))
for k, name in enumerate(METHODS):
    ax.semilogy(S_GRID, mean_it[name], "o-", color=f"C{k}", label=name)
ax.set(xlabel="sparsity s", ylabel="mean iterations to recovery (log)",
       title=f"Gaussian {m}x{N}, {TRIALS} trials per s")
ax.legend()
ax.grid(alpha=0.3, which="both")
fig.tight_layout()
