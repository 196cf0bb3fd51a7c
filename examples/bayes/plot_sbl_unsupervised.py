"""
Sparse Bayesian learning without tuning: learned noise, any conditioning
========================================================================

Sparse Bayesian learning needs no regularisation weight, no support size and
no noise level: ``SBL()`` and ``GGAMPSBL()`` learn the noise variance with
the prior variances.  Pruned atoms are re-admitted by Tipping and Faul's
addition test, so that an early, over-estimated noise variance cannot prune
true atoms for good; the defaults then track SBL given the true noise
variance and least squares on the true support.  Left: NMSE versus SNR
(A Gaussian with unit-norm columns, 20 % non-zeros).  Right: NMSE versus the
condition number of ``A`` (log-spaced singular values, Haar singular vectors,
m = 160, N = 640, 16 non-zeros, 40 dB): ``GGAMPSBL()`` switches from GAMP to
the VAMP E-step (one SVD of ``A``, then products with its singular vectors)
when the spectrum is far from that of an i.i.d. matrix.  scikit-learn's
``ARDRegression`` and orthogonal matching pursuit given the true number of
non-zeros are shown for reference.

Small by default; ``SPARSECODE_FULL=1`` runs m = 100, N = 200, 20 non-zeros
(m = 200, N = 800, 20 non-zeros for the condition numbers), more SNRs,
condition numbers up to 1e6 and 5 trials per point.
"""

import os
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import ARDRegression, OrthogonalMatchingPursuit

from sparsecode import GGAMPSBL, SBL

FULL = os.environ.get("SPARSECODE_FULL") == "1"
warnings.simplefilter("ignore")  # unconverged runs are part of the comparison
m, N, s = (100, 200, 20) if FULL else (50, 100, 10)
mk, Nk, sk = (200, 800, 20) if FULL else (160, 640, 16)  # condition-number sweep
trials = 5 if FULL else 2
snrs = [10, 20, 30, 40, 50, 60, 70, 80] if FULL else [10, 30, 50, 70]
kappas = [1, 1e1, 1e2, 1e3, 1e4, 1e6] if FULL else [1, 1e2, 1e4]


def nmse_db(c, x):
    return 10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2))


def problem(rng, snr, kappa=None):
    if kappa is None:
        m_, N_, s_ = m, N, s
        A = rng.standard_normal((m, N))
    else:
        m_, N_, s_ = mk, Nk, sk
        U, _ = np.linalg.qr(rng.standard_normal((m_, m_)))
        V, _ = np.linalg.qr(rng.standard_normal((N_, m_)))
        A = U @ np.diag(np.geomspace(1, 1 / kappa, m_)) @ V.T
    A /= np.linalg.norm(A, axis=0)
    x = np.zeros(N_)
    x[rng.choice(N_, s_, replace=False)] = rng.standard_normal(s_)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m_ * 10 ** (-snr / 10)
    return A, x, y0 + np.sqrt(s2) * rng.standard_normal(m_), s2


def methods(A, y, s2, x):
    supp = np.flatnonzero(x)
    s = supp.size
    ls = np.zeros(x.size)
    ls[supp] = np.linalg.lstsq(A[:, supp], y, rcond=None)[0]
    return {
        "SBL()": SBL().fit(A, y).coef_,
        "GGAMPSBL()": GGAMPSBL().fit(A, y).coef_,
        "SBL, true noise variance": SBL(noise_variance=s2).fit(A, y).coef_,
        "ARDRegression": ARDRegression(fit_intercept=False).fit(A, y).coef_,
        "OMP, true k": OrthogonalMatchingPursuit(n_nonzero_coefs=s,
                                                 fit_intercept=False).fit(A, y).coef_,
        "least squares, true support": ls,
    }


def sweep(values, make):
    rng = np.random.default_rng(0)
    out = {}
    for v in values:
        acc = {}
        for _ in range(trials):
            A, x, y, s2 = make(rng, v)
            for name, c in methods(A, y, s2, x).items():
                acc.setdefault(name, []).append(nmse_db(c, x))
        for name, vals in acc.items():
            out.setdefault(name, []).append(np.median(vals))
    return out


by_snr = sweep(snrs, lambda rng, v: problem(rng, v))
by_kappa = sweep(kappas, lambda rng, v: problem(rng, 40, kappa=v))

styles = {"SBL()": "o-", "GGAMPSBL()": "s-", "SBL, true noise variance": "k--",
          "ARDRegression": "^:", "OMP, true k": "v:", "least squares, true support": "k:"}
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
for name, vals in by_snr.items():
    ax1.plot(snrs, vals, styles[name], label=name)
ax1.set(xlabel="SNR (dB)", ylabel="median NMSE (dB)",
        title=f"Gaussian A {m} x {N}, {s} non-zeros, defaults")
ax1.grid(alpha=0.3)
for name, vals in by_kappa.items():
    ax2.semilogx(kappas, vals, styles[name], label=name)
ax2.set(xlabel="condition number of A", ylabel="median NMSE (dB)",
        title=f"A {mk} x {Nk}, {sk} non-zeros, 40 dB, defaults")
ax2.grid(alpha=0.3)
ax1.legend(fontsize=8)
fig.tight_layout()
plt.show()

for name in by_snr:
    print(f"{name:30s} SNR: " + " ".join(f"{v:6.1f}" for v in by_snr[name])
          + " | kappa: " + " ".join(f"{v:6.1f}" for v in by_kappa[name]))
