"""Shared pieces of the asv benchmarks (after scikit-learn's asv_benchmarks/common.py).

Profiles
--------
``SPARSECODE_BENCH_PROFILE`` chooses the problem sizes:

- ``regular`` (default): the sizes of the published tables (for instance
  Batch-OMP on 10,000 signals over a 64x256 dictionary);
- ``fast``: the same problems with about a fifth of the signals, for a quick
  sanity run (``asv run --python=same --quick``) on a busy machine.

A family module defines classes deriving from :class:`Benchmark` with asv's
``params`` / ``param_names``, a ``setup`` that builds (cached) data and makes
one warm-up call (so compile and first-call costs stay out of ``time_*``),
``time_*``, ``peakmem_*`` and ``track_*`` quality figures.
"""

import os
import subprocess
import sys
import time
from functools import lru_cache

import numpy as np

PROFILES = ("fast", "regular")


def get_profile():
    """Current profile name from ``SPARSECODE_BENCH_PROFILE`` (default ``regular``)."""
    profile = os.environ.get("SPARSECODE_BENCH_PROFILE", "regular")
    if profile not in PROFILES:
        raise ValueError(
            f"SPARSECODE_BENCH_PROFILE must be one of {PROFILES}; got {profile!r}."
        )
    return profile


def scaled(n_regular, n_fast=None):
    """``n_regular`` in the regular profile, ``n_fast`` (default a fifth) in fast."""
    if get_profile() == "regular":
        return n_regular
    return n_fast if n_fast is not None else max(n_regular // 5, 1)


class Benchmark:
    """Base class of every sparsecode benchmark.

    Timing defaults suit kernels that run from milliseconds to a second:
    few repeats, a generous timeout, wall-clock time (the kernels are
    multi-threaded, so process time would add the threads up).
    """

    timer = time.perf_counter
    processes = 1
    number = 1
    repeat = (1, 5, 20.0)
    warmup_time = 0.0
    timeout = 300.0
    profile = get_profile()


# ---------------------------------------------------------------------------
# problems
# ---------------------------------------------------------------------------
@lru_cache(maxsize=8)
def sparse_coding_problem(n_features, n_atoms, n_samples, n_nonzero_coefs, noise=0.01,
                          seed=0):
    """Unit-norm Gaussian dictionary, ``k``-sparse codes and noisy signals.

    Returns ``(D, codes, X)`` with ``D`` of shape (n_atoms, n_features)
    (atoms as rows), ``codes`` (n_samples, n_atoms) with exactly
    ``n_nonzero_coefs`` non-zeros per row (Gaussian amplitudes) and
    ``X = codes @ D + noise * N(0, 1)``.  Cached: arrays are read-only.
    """
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    support = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :n_nonzero_coefs]
    codes = np.zeros((n_samples, n_atoms))
    np.put_along_axis(codes, support, rng.standard_normal(support.shape), axis=1)
    X = codes @ D + noise * rng.standard_normal((n_samples, n_features))
    for a in (D, codes, X):
        a.flags.writeable = False
    return D, codes, X


# ---------------------------------------------------------------------------
# quality figures
# ---------------------------------------------------------------------------
def support_recovery(codes_true, codes_est):
    """Mean fraction of each true support found in the estimated one (recall)."""
    true = codes_true != 0
    found = np.logical_and(true, codes_est != 0).sum(axis=1)
    return float(np.mean(found / np.maximum(true.sum(axis=1), 1)))


def relative_error(X, codes, D):
    """``||X - codes @ D||_F / ||X||_F``."""
    return float(np.linalg.norm(X - codes @ D) / np.linalg.norm(X))


def first_call_seconds(code, setup="pass"):
    """Seconds taken by the first execution of ``code`` in a fresh interpreter.

    ``setup`` runs first (untimed, e.g. building data); imports of sparsecode
    made by ``code`` itself are part of the measured first call.
    """
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(root)!r})\n"
        f"{setup}\n"
        "t0 = time.perf_counter()\n"
        f"{code}\n"
        "print(time.perf_counter() - t0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True)
    return float(out.stdout.strip().splitlines()[-1])
