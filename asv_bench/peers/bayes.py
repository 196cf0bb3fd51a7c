"""Sparse Bayesian learning against scikit-learn's ARDRegression (issue "Performance").

Problems (spec 0.3 conventions): ``A`` with i.i.d. N(0, 1/m) entries,
``x`` with ``k`` N(0, 1) non-zeros on a random support, SNR 30 dB
(``sigma^2 = ||Ax||^2 / (m 10^3)``):

- A 200 x 800, k = 20;
- A 500 x 2000, k = 50.

Every method learns the noise variance (as ``ARDRegression`` does) and fits
no intercept.  Ours: ``SBL()`` and ``GGAMPSBL()`` with their defaults
(``prune="auto"``: the noise-relative pruning rule), ``GGAMPSBL`` with
``variances="scalar"`` (half the GAMP products with NumPy; in the compiled
path of a dense matrix and one target, the one used here, the products with
``A`` and ``|A|^2`` share a sweep and it gains little), and, for the record, the
previous defaults ``prune=1e-8`` (numerical pruning only).  Peer:
``sklearn.linear_model.ARDRegression(fit_intercept=False)`` with its
defaults.  Both sides run on the same arrays in this process with one BLAS
thread; the calls are interleaved (peer, ours, peer, ours, ...: the machine
is shared and its load drifts) and times are the best of ``repeat`` rounds.
Quality columns: ``err_ours``/``err_peer`` = NMSE in dB,
``nnz_ours``/``nnz_peer`` = number of non-zero coefficients (k true),
``recall`` = fraction of the true support among our non-zeros.
"""

import warnings

import numpy as np

from . import (
    best_times_interleaved,
    import_peer,
    missing_row,
    peer_version,
    ratio,
    threads,
)

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
        "SBL() (defaults)": lambda: sc.SBL(),
        "GGAMPSBL() (defaults)": lambda: sc.GGAMPSBL(),
        "GGAMPSBL(variances='scalar')": lambda: sc.GGAMPSBL(variances="scalar"),
        "SBL(prune=1e-8) (previous default)": lambda: sc.SBL(prune=1e-8),
        "GGAMPSBL(prune=1e-8) (previous default)": lambda: sc.GGAMPSBL(prune=1e-8),
    }
    rows = []
    for problem, (m, N, k) in PROBLEMS.items():
        A, x, y = make_problem(m, N, k)
        repeat = (5 if full else 3) if m <= 200 else (3 if full else 1)
        with threads(1), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for make in ours.values():
                make().fit(A[:20], y[:20])  # first call (imports, caches) excluded
            funcs = [(lambda make=make: make().fit(A, y)) for make in ours.values()]
            if sk is not None:
                funcs.append(lambda: sk.ARDRegression(fit_intercept=False).fit(A, y))
            times, ests = best_times_interleaved(funcs, repeat=repeat)
        if sk is not None:
            t_peer, ard = times[-1], ests[-1]
            err_peer, nnz_peer = _nmse_db(ard.coef_, x), int(np.count_nonzero(ard.coef_))
        supp = set(np.flatnonzero(x))
        for j, method in enumerate(ours):
            t_ours, est = times[j], ests[j]
            err = _nmse_db(est.coef_, x)
            if sk is None:
                rows.append(missing_row(problem, method, "ARDRegression", t_ours, err_ours=err))
                continue
            nz = set(np.flatnonzero(est.coef_))
            rows.append(dict(problem=problem, method=method,
                             peer="ARDRegression (" + peer_version(sk, "scikit-learn") + ")",
                             t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                             err_ours=err, err_peer=err_peer, nnz_ours=len(nz),
                             nnz_peer=nnz_peer, recall=len(nz & supp) / len(supp), threads=1))
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys

    for r in run(full="--full" in sys.argv):
        print({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
