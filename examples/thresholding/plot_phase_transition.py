"""
=====================================================================
Phase transitions of the thresholding family, OMP and NST+HT+FB
=====================================================================

Empirical phase transitions in the Donoho-Tanner plane: undersampling
``delta = m / N`` on the horizontal axis, sparsity ratio ``rho = s / m`` on
the vertical one; a cell is a success when ``||x_hat - x|| / ||x|| < 1e-4``.
Two matrix ensembles: Gaussian with unit-norm columns, and a partial DCT
(random rows of the orthonormal DCT-II, :class:`~sparsecode.operators.PartialDCT`,
used matrix-free by the thresholding solvers; OMP needs its explicit
matrix).  Non-zeros are N(0, 1).

Methods: NST+HT+FB (known s), adaptive NST+HT+FB (no s), OMP (s steps),
IHT (``mu = 1``, unit columns), HTP, CoSaMP and Subspace Pursuit.  The table
printed at the end gives, for each ``delta``, the ``rho`` at which the
success rate crosses 50 % (linear interpolation).

What to look for: the adaptive variant has the highest curve; HTP and SP
follow; NST+HT+FB matches HTP at ``delta >= 0.5`` but falls behind at small
``delta``: for a Gaussian matrix with unit columns ``A A^T ~ (N/m) I``, so the
preconditioned step ``A^+ r ~ (m/N) A^T r`` is a *short* gradient step there
(the method is designed for ill-conditioned matrices, see the conditioning
example).  IHT with a fixed step has the lowest curve.

Every cell solves all its trials in one batched call per method.  Default:
``N = 160``, a 3 x 5 grid, 3 trials per cell (seconds).  ``SPARSECODE_FULL=1``:
``N = 400``, a 9 x 12 grid and 20 trials per cell.
"""

# %%
import os
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np

import sparsecode as sc
from sparsecode.operators import PartialDCT

FULL = os.environ.get("SPARSECODE_FULL") == "1"
if FULL:
    N, DELTAS, RHOS, TRIALS = 400, np.linspace(0.1, 0.9, 9), np.linspace(0.05, 0.6, 12), 20
else:
    N, DELTAS, RHOS, TRIALS = 160, np.array([0.25, 0.5, 0.75]), np.linspace(0.1, 0.5, 5), 3


def run(name, A, Y, s):
    kw = dict(n_nonzero_coefs=s)
    if name == "NST+HT+FB":
        return sc.nst_ht_fb(A, Y, **kw).coef
    if name == "AdptNST+HT+FB":
        return sc.adaptive_nst_ht_fb(A, Y).coef
    if name == "OMP":
        D = A.toarray() if hasattr(A, "toarray") else A
        return sc.omp(D, Y, **kw).coef
    if name == "IHT":
        return sc.iht(A, Y, step=1.0, max_iter=300, **kw).coef
    if name == "HTP":
        return sc.htp(A, Y, **kw).coef
    if name == "CoSaMP":
        return sc.cosamp(A, Y, max_iter=100, **kw).coef
    return sc.subspace_pursuit(A, Y, max_iter=100, **kw).coef


METHODS = ["NST+HT+FB", "AdptNST+HT+FB", "OMP", "IHT", "HTP", "CoSaMP", "SP"]
ENSEMBLES = ["gaussian", "partial DCT"]
rng = np.random.default_rng(0)
rate = {(e, mth): np.zeros((len(RHOS), len(DELTAS))) for e in ENSEMBLES for mth in METHODS}
t0 = time.perf_counter()
for j, delta in enumerate(DELTAS):
    m = int(round(delta * N))
    for i, rho in enumerate(RHOS):
        s = max(1, int(round(rho * m)))
        for ens in ENSEMBLES:
            if ens == "gaussian":
                A = rng.standard_normal((m, N))
                A /= np.linalg.norm(A, axis=0)
            else:
                A = PartialDCT(N, m, scale=np.sqrt(N / m), random_state=rng)
            X = np.zeros((N, TRIALS))
            for t in range(TRIALS):
                X[rng.choice(N, s, replace=False), t] = rng.standard_normal(s)
            Y = A @ X
            for mth in METHODS:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # failures are the point here
                    Xh = run(mth, A, Y, s)
                err = np.linalg.norm(Xh - X, axis=0) / np.linalg.norm(X, axis=0)
                rate[ens, mth][i, j] = np.mean(err < 1e-4)
print(f"{len(DELTAS) * len(RHOS)} cells x {TRIALS} trials: {time.perf_counter() - t0:.1f} s")


def rho50(col):
    """rho where the success rate first drops below 50 % (linear interpolation)."""
    below = np.flatnonzero(col < 0.5)
    if below.size == 0:
        return RHOS[-1]
    k = below[0]
    if k == 0:
        return RHOS[0]
    r0, r1, p0, p1 = RHOS[k - 1], RHOS[k], col[k - 1], col[k]
    return r0 + (p0 - 0.5) / (p0 - p1) * (r1 - r0)


# %%
# 50 % success curves: rho_50(delta)
# ----------------------------------
for ens in ENSEMBLES:
    print(f"\n{ens}: rho at 50 % success")
    print("method          | " + " | ".join(f"d={d:.2f}" for d in DELTAS))
    for mth in METHODS:
        vals = [rho50(rate[ens, mth][:, j]) for j in range(len(DELTAS))]
        print(f"{mth:15s} | " + " | ".join(f"{v:6.3f}" for v in vals))

# %%
# Figure: the 50 % curves of every method, both ensembles
# -------------------------------------------------------
fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
for ax, ens in zip(axes, ENSEMBLES):
    for k, mth in enumerate(METHODS):
        curve = [rho50(rate[ens, mth][:, j]) for j in range(len(DELTAS))]
        ax.plot(DELTAS, curve, "o-", color=f"C{k}", label=mth)
    ax.set(xlabel="delta = m / N", title=f"{ens} (N = {N}, {TRIALS} trials/cell)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("rho = s / m at 50 % success")
axes[1].legend(loc="upper left", fontsize=8)
fig.suptitle("Empirical phase transitions (success: relative error < 1e-4)")
fig.tight_layout()
