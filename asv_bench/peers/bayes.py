"""Sparse Bayesian learning against scikit-learn's ARDRegression (issue "Performance").

Problems (spec 0.3 conventions): ``A`` with i.i.d. N(0, 1/m) entries,
``x`` with ``k`` N(0, 1) non-zeros on a random support, SNR 30 dB
(``sigma^2 = ||Ax||^2 / (m 10^3)``):

- A 200 x 800, k = 20;
- A 500 x 2000, k = 50.

Every method learns the noise variance (as ``ARDRegression`` does) and fits
no intercept.  Ours: ``SBL()`` and ``GGAMPSBL()`` with their defaults, and
the tuned settings ``prune=1e-3`` (the pruning threshold of Zhang's SBL
codes; removes the atoms that only fit noise) with ``variances="scalar"``
for GGAMP-SBL (half the products; accurate for i.i.d.-like ``A``).  Peer:
``sklearn.linear_model.ARDRegression(fit_intercept=False)`` with its
defaults.  Both sides run on the same arrays in this process with one BLAS
thread; times are the best of ``repeat`` calls.  Quality columns:
``err_ours``/``err_peer`` = NMSE in dB, ``nnz_ours``/``nnz_peer`` = number
of non-zero coefficients (k true).
"""

import warnings

import numpy as np

from . import best_time, import_peer, missing_row, peer_version, ratio, threads

PROBLEMS = {"A 200x800, k=20, SNR 30 dB": (200, 800, 20),
            "A 500x2000, k=50, SNR 30 dB": (500, 2000, 50)}


def make_problem(m, N, k, snr_db=30.0, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, N)) / np.sqrt(m)
    x = np.zeros(N)
    x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
    y0 = A @ x
    s2 = np.sum(y0 ** 2) / m / 10 ** (snr_db / 10)
    return A, x, y0 + np.sqrt(s2) * rng.standard_normal(m)


def _nmse_db(c, x):
    return float(10 * np.log10(np.sum((c - x) ** 2) / np.sum(x ** 2)))


def run(full=False):
    import sparsecode as sc

    sk = import_peer("sklearn.linear_model")
    ours = {
        "SBL() (EM, defaults)": lambda: sc.SBL(),
        "SBL(prune=1e-3)": lambda: sc.SBL(prune=1e-3),
        "GGAMPSBL() (defaults)": lambda: sc.GGAMPSBL(),
        "GGAMPSBL(prune=1e-3, variances='scalar')":
            lambda: sc.GGAMPSBL(prune=1e-3, variances="scalar"),
    }
    rows = []
    for problem, (m, N, k) in PROBLEMS.items():
        A, x, y = make_problem(m, N, k)
        repeat = (5 if full else 3) if m <= 200 else (3 if full else 1)
        with threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if sk is None:
                t_peer, err_peer, nnz_peer = None, None, None
            else:
                t_peer, ard = best_time(
                    lambda: sk.ARDRegression(fit_intercept=False).fit(A, y), repeat=repeat)
                err_peer, nnz_peer = _nmse_db(ard.coef_, x), int(np.count_nonzero(ard.coef_))
            for method, make in ours.items():
                make().fit(A[:20], y[:20])  # first call (imports, caches) excluded
                t_ours, est = best_time(lambda: make().fit(A, y), repeat=repeat)
                row = dict(problem=problem, method=method,
                           peer="ARDRegression (" + (peer_version(sk, "scikit-learn")
                                                     if sk else "missing") + ")",
                           t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                           err_ours=_nmse_db(est.coef_, x), err_peer=err_peer,
                           nnz_ours=int(np.count_nonzero(est.coef_)), nnz_peer=nnz_peer,
                           threads=1)
                rows.append(row if sk else missing_row(problem, method, "ARDRegression",
                                                       t_ours, err_ours=row["err_ours"]))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(full="--full" in sys.argv):
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
