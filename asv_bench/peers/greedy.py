"""Batch OMP against scikit-learn and SPAMS (issue "Performance" of the greedy family).

Problems: unit-norm Gaussian dictionary ``D`` (atoms as rows), ``k``-sparse
Gaussian codes, signals ``X = codes @ D + 0.01 N(0, 1)``:

- D 64x256, 10,000 signals, 8 non-zeros (8x8 image patches, K-SVD setting);
- D 256x1024, 2,000 signals, 20 non-zeros.

``--full`` adds D 64x256 with 100,000 signals and takes more repeats.

Single-vector OMP (:func:`run_single`): ``sparsecode.omp(A, y)`` (no Gram,
the cost model's choice) and ``sparsecode.batch_omp(G, A^T y)`` (Gram given)
against ``spams.omp`` and scikit-learn's ``orthogonal_mp`` /
``orthogonal_mp_gram``, A from 100x400 to 2000x8000, k up to m/4.

Timing: one-thread rows take the CPU time of the calling thread
(``time.thread_time``; every library computes in that thread), which the
load of other processes on a shared machine does not inflate; two-thread
rows take the CPU time of the call's busiest thread (per-thread CPU times
from ``/proc/self/task/*/schedstat``: the call's wall clock on cores it
had to itself), their wall-clock times in the notes.

Ours: ``sparsecode.sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k,
n_jobs=t)`` (Batch-OMP in Cython, OpenMP over signals).  Peers, on the same
arrays: ``sklearn.decomposition.sparse_encode(algorithm="omp", n_jobs=t)``
(Gram OMP, a Python loop over signals; ``n_jobs=2`` splits the batch over
joblib workers) and ``spams.omp(X.T, D.T, L=k, numThreads=t)`` (C++ with
OpenMP; wants Fortran-ordered float64 signals as columns and unit-norm
dictionary columns, returns a sparse matrix; ``eps``/``lambda1`` are left
unset so it runs exactly ``L`` iterations like the others).  Our calls and
SPAMS' alternate (best of at least 5 rounds), so that both see the same load
on a shared machine; scikit-learn, 50-100 times slower, is timed on its own.  Note that
``spams.omp`` is *order-recursive* matching pursuit (ORMP, "optimised OMP"):
it selects the atom that most reduces the residual after the refit,
``|a_j' r| / ||P_S a_j||`` with ``P_S`` the projector orthogonal to the
selected atoms, not the largest correlation; its
supports therefore differ from OMP's on a few percent of the signals
(checked against a NumPy ORMP), with residuals of the same size.  BLAS is limited
to ``t`` threads around every call.  Each row reports, besides the times,
``support_agree`` (fraction of signals whose support equals ours) and
``max_coef_diff`` (largest absolute difference of the codes), our peak
memory (tracemalloc), the time of ``import sparsecode`` up to the first use
of ``sparse_encode`` (which imports every family) and our first (cold) call
after it.
"""

import numpy as np

from . import (
    best_times_interleaved,
    first_call,
    import_peer,
    missing_row,
    peak_memory_mib,
    peer_version,
    ratio,
    threads,
)

METHOD = "Batch-OMP: sparse_encode(algorithm='omp')"


def make_problem(n_features, n_atoms, n_samples, k, noise=0.01, seed=0):
    """``D`` (n_atoms, n_features) unit rows, ``codes`` k-sparse, ``X`` (n_samples, n_features)."""
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    support = np.argsort(rng.random((n_samples, n_atoms)), axis=1)[:, :k]
    codes = np.zeros((n_samples, n_atoms))
    np.put_along_axis(codes, support, rng.standard_normal(support.shape), axis=1)
    X = codes @ D + noise * rng.standard_normal((n_samples, n_features))
    return D, codes, X


def compare_codes(ours, theirs):
    """``(support_agree, max_coef_diff)``: fraction of equal supports, max |difference|."""
    same = np.all((ours != 0) == (theirs != 0), axis=1)
    return float(np.mean(same)), float(np.max(np.abs(ours - theirs)))


def rel_err(X, codes, D):
    """Relative reconstruction error ``||X - codes D||_F / ||X||_F``."""
    return float(np.linalg.norm(X - codes @ D) / np.linalg.norm(X))


def run(full=False, problems=None):
    """Rows of the comparison (see ``asv_bench/peers/__init__.py``).

    ``problems`` (list of ``(n_features, n_atoms, n_samples, k)``) replaces the
    default problems, for quick checks of this script.
    """
    import time

    t0 = time.perf_counter()
    import sparsecode as sc

    encode = sc.sparse_encode  # the first attribute access imports every family
    t_import = time.perf_counter() - t0

    if problems is None:
        problems = [(64, 256, 10_000, 8), (256, 1024, 2_000, 20)]
        if full:
            problems.append((64, 256, 100_000, 8))
    rep_fast, rep_slow = (10, 3) if full else (5, 1)

    sklearn_decomposition = import_peer("sklearn.decomposition")
    spams = import_peer("spams")
    sk_name = peer_version(import_peer("sklearn"), "scikit-learn") if sklearn_decomposition \
        else "scikit-learn"
    spams_name = peer_version(spams, "spams-bin") if spams else "SPAMS"

    rows = []
    cold_done = False
    for n_features, n_atoms, n_samples, k in problems:
        problem = f"D {n_features}x{n_atoms}, {n_samples:,} signals, k={k}"
        D, codes_true, X = make_problem(n_features, n_atoms, n_samples, k)
        X_f = np.asfortranarray(X.T)  # signals as columns, Fortran: no copy of X's memory
        D_f = np.asfortranarray(D.T)  # atoms as unit-norm columns
        for t in (1, 2):
            def ours():
                return encode(X, D, algorithm="omp", n_nonzero_coefs=k, n_jobs=t)

            def sp():
                return spams.omp(X_f, D_f, L=k, numThreads=t)

            with threads(t):
                t_cold = None
                if not cold_done:  # the very first call loads the compiled kernel
                    t_cold, _ = first_call(ours)
                    cold_done = True
                # one thread: CPU time of the calling thread (every library
                # computes there), which other processes' load does not
                # inflate; two threads: wall-clock time
                # two threads: the busiest thread's CPU time (wall clock
                # where /proc/self/task is missing), wall clock in the notes
                interleaved, timing = (best_cpu_times_interleaved, "thread CPU time") \
                    if t == 1 else busiest_thread_interleaved()
                walls = {}
                if spams is None:
                    (t_ours,), (codes_ours,) = interleaved([ours], repeat=rep_fast,
                                                           min_time=0.5, walls=walls)
                else:  # ours and SPAMS alternate, so both see the same machine load
                    sp()
                    (t_ours, t_sp), (codes_ours, codes_sp) = interleaved(
                        [ours, sp], repeat=rep_fast, min_time=1.0, walls=walls)
                mem = peak_memory_mib(ours)
            base = dict(problem=problem, method=METHOD, threads=t, timing=timing)
            ours_extra = dict(peak_mem_ours_MiB=round(mem, 1))
            if t_cold is not None:
                ours_extra["import_ours_s"] = t_import
                ours_extra["first_call_ours_s"] = t_cold
            err_ours = rel_err(X, codes_ours, D)

            # scikit-learn
            if sklearn_decomposition is None:
                rows.append(missing_row(peer=sk_name, t_ours_s=t_ours, **base, **ours_extra))
            else:
                def sk():
                    return sklearn_decomposition.sparse_encode(
                        X, D, algorithm="omp", n_nonzero_coefs=k,
                        n_jobs=None if t == 1 else t)

                # two threads: joblib's workers are processes, out of reach of
                # the per-thread CPU times, so this row compares wall clocks
                sk_timer, sk_base, t_ours_sk = interleaved, base, t_ours
                if t > 1 and walls.get("best"):
                    sk_timer, sk_base = best_times_interleaved, dict(base, timing="wall clock")
                    t_ours_sk = walls["best"][0]
                with threads(t):
                    sk()  # first call: imports, joblib workers
                    (t_sk,), (codes_sk,) = sk_timer([sk], repeat=rep_slow)
                agree, diff = compare_codes(codes_ours, codes_sk)
                rows.append(dict(sk_base, peer=sk_name, t_ours_s=t_ours_sk, t_peer_s=t_sk,
                                 ratio=ratio(t_sk, t_ours_sk), support_agree=agree,
                                 max_coef_diff=diff, rel_err_ours=err_ours,
                                 rel_err_peer=rel_err(X, codes_sk, D), **ours_extra))

            # SPAMS
            if spams is None:
                rows.append(missing_row(peer=spams_name, t_ours_s=t_ours, **base))
            else:
                codes_sp = codes_sp.T.toarray()
                agree, diff = compare_codes(codes_ours, codes_sp)
                row = dict(base, peer=spams_name, t_ours_s=t_ours, t_peer_s=t_sp,
                           ratio=ratio(t_sp, t_ours), support_agree=agree,
                           max_coef_diff=diff, rel_err_ours=err_ours,
                           rel_err_peer=rel_err(X, codes_sp, D),
                           peak_mem_ours_MiB=round(mem, 1))
                if timing != "thread CPU time" and len(walls.get("best", ())) == 2:
                    w_ours, w_sp = walls["best"]
                    row["note"] = (f"wall clock: ours {w_ours * 1e3:.3g} ms, SPAMS "
                                   f"{w_sp * 1e3:.3g} ms (ratio {w_sp / w_ours:.2f})")
                rows.append(row)
    rows += run_single()
    return rows


def _thread_cpu_ns():
    """CPU time (ns) of every thread of this process, from /proc/self/task/*/schedstat.

    The calling thread's entry is read last, so that the reading itself
    hardly counts.  None where the files are missing (not Linux).
    """
    import os
    import threading

    me = str(threading.get_native_id())
    out = {}
    try:
        tids = os.listdir("/proc/self/task")
        for tid in sorted(tids, key=lambda x: x == me):
            with open(f"/proc/self/task/{tid}/schedstat") as f:
                out[tid] = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return out


def busiest_thread_interleaved():
    """``(timer, timing label)`` for multi-threaded rows.

    :func:`best_busiest_thread_times_interleaved` where the per-thread CPU
    times are readable, else wall clock (:func:`best_times_interleaved`).
    """
    if _thread_cpu_ns() is None:
        def wall(funcs, repeat=5, min_time=0.0, walls=None):
            best, outs = best_times_interleaved(funcs, repeat=repeat, min_time=min_time)
            return best, outs

        return wall, "wall clock"
    return best_busiest_thread_times_interleaved, "busiest thread's CPU time"


def best_busiest_thread_times_interleaved(funcs, repeat=5, min_time=0.0, walls=None):
    """Interleaved rounds timed by the CPU time of the busiest thread of the call.

    For multi-threaded calls on a shared machine: the wall clock of a call
    depends on how many cores other processes leave it, the CPU time each of
    its threads (OpenMP workers, BLAS workers, the caller) received does much
    less.  The busiest thread's CPU time is the call's wall clock on cores
    it had to itself.  Its threads' spinning, if any, counts (it occupies a
    core).  ``walls`` (a dict), when given, receives the best wall-clock
    times under ``"best"``.
    """
    import time

    best = [float("inf")] * len(funcs)
    best_wall = [float("inf")] * len(funcs)
    outs = [None] * len(funcs)
    spent, n = 0.0, 0
    while n < repeat or spent < min_time:
        for i, f in enumerate(funcs):
            c0 = _thread_cpu_ns()
            t0 = time.perf_counter()
            outs[i] = f()
            dt = time.perf_counter() - t0
            c1 = _thread_cpu_ns()
            busiest = max(c1[t] - c0.get(t, 0) for t in c1) * 1e-9
            best[i] = min(best[i], busiest)
            best_wall[i] = min(best_wall[i], dt)
            spent += dt
        n += 1
        if n >= 2000:
            break
    if walls is not None:
        walls["best"] = best_wall
    return best, outs


def best_cpu_times_interleaved(funcs, repeat=5, min_time=0.0, walls=None):
    """:func:`best_times_interleaved` on the CPU time of the calling thread.

    For one-thread runs only (every library then computes in the calling
    thread): other processes on a shared machine delay a call's wall-clock
    time but not its thread CPU time, so the ratios do not depend on the load.
    """
    import time

    best = [float("inf")] * len(funcs)
    outs = [None] * len(funcs)
    spent, n = 0.0, 0
    while n < repeat or spent < min_time:
        for i, f in enumerate(funcs):
            t0 = time.thread_time()
            outs[i] = f()
            dt = time.thread_time() - t0
            best[i] = min(best[i], dt)
            spent += dt
        n += 1
        if n >= 2000:
            break
    return best, outs


SINGLE_PROBLEMS = [(100, 400, 5), (100, 400, 25), (500, 2000, 50), (500, 2000, 125),
                   (2000, 8000, 100), (2000, 8000, 500)]
GRAM_MAX_FEATURES = 2000  # the precomputed-Gram rows up to this size (G is N x N)


def run_single(problems=None, repeat=5):
    """Single-vector OMP rows: ``sparsecode.omp`` (no Gram; the cost model's
    choice) and ``sparsecode.batch_omp`` from a precomputed Gram against
    ``spams.omp`` and scikit-learn's ``orthogonal_mp`` / ``orthogonal_mp_gram``.

    A (m, N) Gaussian with unit-norm columns, y = A x + 0.01 noise with k
    Gaussian non-zeros; one thread; ``k`` iterations for everybody.  Each
    row's times are the best CPU times of the calling thread over interleaved
    rounds (:func:`best_cpu_times_interleaved`).
    """
    import sparsecode as sc

    spams = import_peer("spams")
    lm = import_peer("sklearn.linear_model")
    sk_name = peer_version(import_peer("sklearn"), "scikit-learn") if lm else "scikit-learn"
    spams_name = peer_version(spams, "spams-bin") if spams else "SPAMS"
    rows = []
    rng = np.random.default_rng(0)
    for m, N, k in problems or SINGLE_PROBLEMS:
        A = rng.standard_normal((m, N))
        A /= np.linalg.norm(A, axis=0)
        x = np.zeros(N)
        x[rng.choice(N, k, replace=False)] = rng.standard_normal(k)
        y = A @ x + 0.01 * rng.standard_normal(m)
        A_f, y_f = np.asfortranarray(A), np.asfortranarray(y[:, None])
        problem = f"one vector, A {m}x{N}, k={k}"
        reps = repeat if m * N <= 4_000_000 else 3
        calls = {"ours": lambda: sc.omp(A, y, n_nonzero_coefs=k).coef}
        if spams is not None:
            calls["spams"] = lambda: np.asarray(
                spams.omp(y_f, A_f, L=k, numThreads=1).todense()).ravel()
        if lm is not None:
            calls["sk"] = lambda: lm.orthogonal_mp(A, y, n_nonzero_coefs=k)
        gram = N <= GRAM_MAX_FEATURES
        if gram:
            G, Aty = A.T @ A, A.T @ y
            calls["ours_gram"] = lambda: sc.batch_omp(G, Aty, n_nonzero_coefs=k).coef
            if lm is not None:
                calls["sk_gram"] = lambda: lm.orthogonal_mp_gram(G, Aty, n_nonzero_coefs=k)
        names = list(calls)
        with threads(1):
            for f in calls.values():
                f()  # first calls excluded
            times, outs = best_cpu_times_interleaved(list(calls.values()), repeat=reps,
                                                     min_time=0.5)
        t = dict(zip(names, times))
        out = dict(zip(names, outs))

        def agree(a, b):
            return bool(np.array_equal(a != 0, b != 0))

        for meth, ours_key in (("omp(A, y) (no Gram: cost model)", "ours"),
                               ("batch_omp(G, A^T y) (Gram given)", "ours_gram")):
            if ours_key not in t:
                continue
            base = dict(problem=problem, method=meth, threads=1,
                        timing="thread CPU time")
            if spams is None:
                rows.append(missing_row(peer=spams_name, t_ours_s=t[ours_key], **base))
            else:
                rows.append(dict(base, peer=f"{spams_name} omp (from A)",
                                 t_ours_s=t[ours_key], t_peer_s=t["spams"],
                                 ratio=ratio(t["spams"], t[ours_key]),
                                 support_agree=agree(out[ours_key], out["spams"])))
            sk_key = "sk" if ours_key == "ours" else "sk_gram"
            if lm is None:
                rows.append(missing_row(peer=sk_name, t_ours_s=t[ours_key], **base))
            else:
                rows.append(dict(base, peer=f"{sk_name} {'orthogonal_mp' if sk_key == 'sk' else 'orthogonal_mp_gram'}",
                                 t_ours_s=t[ours_key], t_peer_s=t[sk_key],
                                 ratio=ratio(t[sk_key], t[ours_key]),
                                 support_agree=agree(out[ours_key], out[sk_key]),
                                 max_coef_diff=float(np.max(np.abs(out[ours_key]
                                                                   - out[sk_key])))))
    return rows


def flop_bound(problems=None, repeat=7):
    """Batch-OMP against its flop-count bound at one thread (printed by ``--bound``).

    Flops of ``sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k)``
    (D: N atoms of dimension m, L signals): the Gram ``m N^2`` (SYRK), the
    correlations ``2 m N L`` (GEMM) and, per signal, the k - 1 updates of
    Batch-OMP, ``N (k - 1)(k - 2)`` for the new columns of
    ``G[:, I] L^-T`` and ``5 N (k - 1)`` for the correlations, scores and
    selections.  The bound is that count at the one-thread DGEMM rate of the
    machine (a 2000 x 256 by 256 x 2000 product).  Returns one dict per
    problem: flop counts, the bound, the measured times of each part (best
    thread CPU time of ``repeat`` calls) and the fraction of the bound
    reached.
    """
    import time

    from sparsecode.greedy._omp import _DEP_TOL, _kernels

    K = _kernels()

    def best(f):
        b = float("inf")
        for _ in range(repeat):
            t0 = time.thread_time()
            f()
            b = min(b, time.thread_time() - t0)
        return b

    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2000, 256)), rng.standard_normal((256, 2000))
    with threads(1):
        rate = 2 * 2000 * 256 * 2000 / best(lambda: a @ b)
        out = []
        for m, N, L, k in problems or [(64, 256, 10_000, 8), (256, 1024, 2_000, 20)]:
            D, _, X = make_problem(m, N, L, k)
            import sparsecode as sc

            G = np.empty((N, N))
            DH = np.ascontiguousarray(D.T)
            t_gram = best(lambda: K.gram_real(D, G, 1, 256))
            t_corr = best(lambda: X @ DH)
            C, dinv, yn = X @ DH, 1.0 / np.diag(G), np.einsum("ij,ij->i", X, X)

            def pursuit():
                K.batch_omp_gram(G, C, dinv, yn, np.zeros(L), k, False, _DEP_TOL, 1,
                                 np.empty((L, k), np.intc), np.empty((L, k)),
                                 np.zeros(L, np.intc), np.zeros(L), np.zeros(L, np.intc),
                                 np.zeros((1, 1)), False)

            t_pursuit = best(pursuit)
            t_all = best(lambda: sc.sparse_encode(X, D, algorithm="omp", n_nonzero_coefs=k,
                                                  n_jobs=1))
            f_gram, f_corr = m * N * N, 2 * m * N * L
            f_pursuit = L * (N * (k - 1) * (k - 2) + 5 * N * (k - 1))
            total = f_gram + f_corr + f_pursuit
            out.append(dict(problem=f"D {m}x{N}, {L:,} signals, k={k}",
                            dgemm_gflops=rate / 1e9, gflop=total / 1e9,
                            bound_ms=total / rate * 1e3, ours_ms=t_all * 1e3,
                            fraction=total / rate / t_all,
                            gram=(f_gram / 1e9, t_gram * 1e3), corr=(f_corr / 1e9, t_corr * 1e3),
                            pursuit=(f_pursuit / 1e9, t_pursuit * 1e3)))
    return out


if __name__ == "__main__":  # python -m peers.greedy [--bound] (from asv_bench/)
    import sys

    if "--bound" in sys.argv:
        for r in flop_bound():
            print(f"{r['problem']}: {r['gflop']:.3f} GFLOP, bound {r['bound_ms']:.1f} ms at "
                  f"{r['dgemm_gflops']:.1f} GFLOP/s; ours {r['ours_ms']:.1f} ms = "
                  f"{100 * r['fraction']:.0f} % of the bound")
            for part in ("gram", "corr", "pursuit"):
                g, t = r[part]
                print(f"    {part}: {g:.3f} GFLOP in {t:.1f} ms ({g / t * 1e3:.1f} GFLOP/s)")
    else:
        for row in run():
            print(row)
