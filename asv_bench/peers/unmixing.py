"""NMF unmixing and FCLS against scikit-learn and SciPy (issue "Performance" of unmixing).

Problems (synthetic ``make_hyperspectral_mixture``: smooth spectra, Dirichlet
abundances with pure pixels, 30 dB noise):

- NMF, 200 bands x 10,000 pixels, rank 5, 200 sweeps (``tol=0``), the same
  initial ``(W, H)`` for everybody (``init='custom'``).  Ours:
  ``NMFUnmixing(solver='mu')`` vs ``sklearn.decomposition.NMF(solver='mu')``
  and ``NMFUnmixing(solver='hals')`` vs ``NMF(solver='cd', shuffle=False)``;
  times are per sweep (total / ``n_iter_``).  ``CorrentropyNMF`` (band
  re-weighting every sweep, l1/2 sparsity) is compared with our plain MU core
  (target: at most 1.5x its time per sweep, i.e. ratio >= 0.67).
  The same two rows at two threads (``n_jobs=2``; scikit-learn with two BLAS
  threads), and the GEMM bound: the two products of a sweep alone
  (``X @ H.T`` and ``W.T @ X`` by NumPy/BLAS) against our whole sweep.
- FCLS on 10,000 pixels, 200 bands, 5 endmembers: ``fcls(Y, E, delta=d)``
  vs a Python loop of ``scipy.optimize.nnls`` on the augmented system
  ``[E^T; d 1^T]`` (the same problem; ``d = 1e3 max E``), and our exact
  ``delta=None`` mode.
- FCLS on the Samson scene (156 bands, its 3 reference endmembers; the
  95 x 95 pixels repeated up to 100,000) at 1,000, 3,000 and 100,000 pixels,
  same comparison, one thread; 100,000 pixels also at two threads.  Without
  the shipped data file, a synthetic scene of the same size.

``--full`` repeats more.  One thread unless a row says otherwise
(``OMP_NUM_THREADS=1``, BLAS limited).
"""

import numpy as np

from . import (best_time, best_times_interleaved, import_peer, missing_row, peer_version,
               ratio, threads)

N_BANDS, N_PIXELS, RANK, N_ITER = 200, 10_000, 5, 200


def make_problem(seed=0):
    from sparsecode.datasets import make_hyperspectral_mixture

    Y, M, A, _ = make_hyperspectral_mixture(RANK, N_BANDS, (100, 100), snr=30,
                                            random_state=seed)
    rng = np.random.default_rng(seed)
    W0 = rng.dirichlet(np.ones(RANK), size=N_PIXELS)
    H0 = rng.uniform(0.1, 1.0, size=(RANK, N_BANDS))
    H0 *= Y.mean() / (W0 @ H0).mean()
    return Y, M, A, W0, H0


def run(full=False):
    """Rows of the comparison (see ``asv_bench/peers/__init__.py``)."""
    import warnings

    import sparsecode as sc

    repeat = 3 if full else 1
    rows = []
    Y, M, A, W0, H0 = make_problem()
    problem = f"NMF {N_BANDS} bands x {N_PIXELS:,} pixels, rank {RANK}, {N_ITER} sweeps"
    nrm = np.linalg.norm(Y)
    sk_dec = import_peer("sklearn.decomposition")
    sk_name = peer_version(import_peer("sklearn"), "scikit-learn") if sk_dec else "scikit-learn"

    def fit_ours(est):
        def f():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                est.fit(Y, W=W0, H=H0)
            return est
        return f

    per_sweep = {}
    rounds = 6 if full else 5  # best of several alternations: single fits vary by 2x on a shared machine
    with threads(1):
        for solver, sk_solver in (("mu", "mu"), ("hals", "cd")):
            ours = sc.NMFUnmixing(RANK, solver=solver, init="custom", max_iter=N_ITER, tol=0.0)
            fit_ours(ours)()  # warm-up (loads the kernels)
            method = f"NMFUnmixing(solver='{solver}') per sweep"
            if sk_dec is None:
                t_ours, est = best_time(fit_ours(ours), repeat=repeat)
                per_sweep[solver] = t_ours / est.n_iter_
                rows.append(missing_row(problem, method, sk_name, per_sweep[solver]))
                continue
            kw = {"shuffle": False} if sk_solver == "cd" else {}
            sk = sk_dec.NMF(RANK, solver=sk_solver, init="custom", max_iter=N_ITER, tol=0.0, **kw)

            def fit_sk(sk=sk):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sk.fit(Y, W=W0.copy(), H=H0.copy())
                return sk

            fit_sk()
            (t_ours, t_sk), (est, skest) = best_times_interleaved(
                [fit_ours(ours), fit_sk], repeat=rounds)
            t_ours /= est.n_iter_
            t_sk /= skest.n_iter_
            per_sweep[solver] = t_ours
            rows.append({"problem": problem, "method": method,
                         "peer": f"{sk_name} NMF(solver='{sk_solver}')", "t_ours_s": t_ours,
                         "t_peer_s": t_sk, "ratio": ratio(t_sk, t_ours), "threads": 1,
                         "err_ours": est.reconstruction_err_ / nrm,
                         "err_peer": skest.reconstruction_err_ / nrm,
                         "n_iter_ours": est.n_iter_, "n_iter_peer": skest.n_iter_})
        # float32 data: read as is by our sweep (products in float64), scikit-learn
        # computes in float32
        if sk_dec is not None:
            Y32 = Y.astype(np.float32)
            ours = sc.NMFUnmixing(RANK, solver="mu", init="custom", max_iter=N_ITER, tol=0.0)
            sk = sk_dec.NMF(RANK, solver="mu", init="custom", max_iter=N_ITER, tol=0.0)

            def fit_ours32():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    ours.fit(Y32, W=W0, H=H0)
                return ours

            def fit_sk32():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    sk.fit(Y32, W=W0.astype(np.float32), H=H0.astype(np.float32))
                return sk

            fit_ours32()
            fit_sk32()
            (t_ours, t_sk), (est, skest) = best_times_interleaved(
                [fit_ours32, fit_sk32], repeat=rounds)
            rows.append({"problem": problem,
                         "method": "NMFUnmixing(solver='mu') per sweep, float32 data",
                         "peer": f"{sk_name} NMF(solver='mu'), float32 data",
                         "t_ours_s": t_ours / est.n_iter_, "t_peer_s": t_sk / skest.n_iter_,
                         "ratio": ratio(t_sk / skest.n_iter_, t_ours / est.n_iter_),
                         "threads": 1, "err_ours": est.reconstruction_err_ / nrm,
                         "err_peer": skest.reconstruction_err_ / nrm,
                         "note": "ours: float64 arithmetic on the float32 data"})
        # the GEMM bound of a sweep: its two products with the data and nothing
        # else, N_ITER times, timed in alternation with the fits
        Ht0 = np.ascontiguousarray(H0.T)

        def gemm_only():
            for _ in range(N_ITER):
                Y @ Ht0
                W0.T @ Y

        for solver in ("mu", "hals"):
            ours = sc.NMFUnmixing(RANK, solver=solver, init="custom", max_iter=N_ITER, tol=0.0)
            (t_ours, t_gemm), (est, _) = best_times_interleaved(
                [fit_ours(ours), gemm_only], repeat=rounds)
            rows.append({"problem": problem,
                         "method": f"NMFUnmixing(solver='{solver}') per sweep",
                         "peer": "GEMM bound: X @ H.T and W.T @ X alone (NumPy/BLAS)",
                         "t_ours_s": t_ours / est.n_iter_, "t_peer_s": t_gemm / N_ITER,
                         "ratio": ratio(t_gemm, t_ours), "threads": 1,
                         "note": "above 1: a whole sweep is faster than its two products"})
        plain = sc.NMFUnmixing(RANK, solver="mu", init="custom", max_iter=N_ITER, tol=0.0)
        # correntropy re-weighting cost against our plain MU core
        for name, est in (("CorrentropyNMF(l1/2) per sweep",
                           sc.CorrentropyNMF(RANK, init="custom", max_iter=N_ITER, tol=0.0)),
                          ("RobustGuidedNMF per sweep (incl. pixel-graph build)",
                           sc.RobustGuidedNMF(RANK, init="custom", max_iter=N_ITER, tol=0.0,
                                              image_shape=(100, 100)))):
            fit_ours(est)()
            (t, t_plain), (e, _) = best_times_interleaved(
                [fit_ours(est), fit_ours(plain)], repeat=rounds)
            t /= e.n_iter_
            t_plain /= N_ITER
            rows.append({"problem": problem, "method": name,
                         "peer": "sparsecode NMFUnmixing(solver='mu')", "t_ours_s": t,
                         "t_peer_s": t_plain, "ratio": ratio(t_plain, t), "threads": 1,
                         "err_ours": e.reconstruction_err_ / nrm,
                         "note": "target ratio >= 0.67 (within 1.5x of plain MU)"})

    # two threads: our OpenMP row kernels against scikit-learn's BLAS threads
    if sk_dec is not None:
        with threads(2):
            for solver, sk_solver in (("mu", "mu"), ("hals", "cd")):
                # 50 sweeps (times are per sweep): two threads on a shared machine
                # are slow to time
                ours = sc.NMFUnmixing(RANK, solver=solver, init="custom", max_iter=N_ITER // 4,
                                      tol=0.0, n_jobs=2)
                kw = {"shuffle": False} if sk_solver == "cd" else {}
                sk = sk_dec.NMF(RANK, solver=sk_solver, init="custom", max_iter=N_ITER // 4,
                                tol=0.0, **kw)

                def fit_sk(sk=sk):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        sk.fit(Y, W=W0.copy(), H=H0.copy())
                    return sk

                fit_ours(ours)()
                fit_sk()
                (t_ours, t_sk), (est, skest) = best_times_interleaved(
                    [fit_ours(ours), fit_sk], repeat=rounds, pause=0.5)
                rows.append({"problem": problem,
                             "method": f"NMFUnmixing(solver='{solver}', n_jobs=2) per sweep",
                             "peer": f"{sk_name} NMF(solver='{sk_solver}'), 2 BLAS threads",
                             "t_ours_s": t_ours / est.n_iter_, "t_peer_s": t_sk / skest.n_iter_,
                             "ratio": ratio(t_sk / skest.n_iter_, t_ours / est.n_iter_),
                             "threads": 2, "err_ours": est.reconstruction_err_ / nrm,
                             "err_peer": skest.reconstruction_err_ / nrm,
                             "note": f"speed-up of ours over its one-thread row: "
                                     f"{per_sweep[solver] * est.n_iter_ / t_ours:.2f}"})

    with threads(1):
        # FCLS
        problem = f"FCLS {N_PIXELS:,} pixels, {N_BANDS} bands, {RANK} endmembers"
        delta = 1e3 * float(M.max())
        sc.fcls(Y[:10], M, delta=delta)
        t_ours, A_ours = best_time(lambda: sc.fcls(Y, M, delta=delta), repeat=3 * repeat,
                                   min_time=0.5)
        t_exact, A_exact = best_time(lambda: sc.fcls(Y, M), repeat=3 * repeat, min_time=0.5)
        scipy_opt = import_peer("scipy.optimize")
        s_name = peer_version(import_peer("scipy"))
        Ea = np.vstack([M.T, delta * np.ones(RANK)])

        def loop():
            out = np.empty((N_PIXELS, RANK))
            for n in range(N_PIXELS):
                out[n] = scipy_opt.nnls(Ea, np.r_[Y[n], delta])[0]
            return out

        t_sp, A_sp = best_time(loop, repeat=repeat)
        rows.append({"problem": problem, "method": "fcls(delta=1e3 max E)",
                         "peer": f"{s_name} nnls loop (augmented row)", "t_ours_s": t_ours,
                         "t_peer_s": t_sp, "ratio": ratio(t_sp, t_ours), "threads": 1,
                         "max_coef_diff": float(np.abs(A_ours - A_sp).max()),
                         "err_ours": float(np.sqrt(np.mean((A_ours - A) ** 2))),
                         "note": "target ratio >= 20"})
        rows.append({"problem": problem, "method": "fcls(delta=None, exact)",
                         "peer": f"{s_name} nnls loop (augmented row)", "t_ours_s": t_exact,
                         "t_peer_s": t_sp, "ratio": ratio(t_sp, t_exact), "threads": 1,
                         "max_coef_diff": float(np.abs(A_exact - A_sp).max()),
                         "err_ours": float(np.sqrt(np.mean((A_exact - A) ** 2)))})
        rows += _fcls_samson_rows(sc, scipy_opt, s_name, repeat)
    return rows


def samson():
    """Samson pixels (N, 156) and its 3 reference endmembers, or a synthetic stand-in."""
    try:
        from sparsecode.datasets import load_hyperspectral

        d = load_hyperspectral("samson")
        Y = np.ascontiguousarray(np.asarray(d["Y"], dtype=float).reshape(-1, 156))
        E = np.asarray(d["endmembers"], dtype=float)
        E = E if E.shape[1] == Y.shape[1] else E.T
        return Y, np.ascontiguousarray(E), "Samson"
    except Exception:  # noqa: BLE001 - data file not shipped: same sizes, synthetic
        from sparsecode.datasets import make_hyperspectral_mixture

        Y, M, _, _ = make_hyperspectral_mixture(3, 156, (95, 95), snr=30, random_state=0)
        return Y, M, "synthetic (Samson sizes)"


def _fcls_samson_rows(sc, scipy_opt, s_name, repeat):
    """FCLS on Samson's bands and endmembers from 1,000 to 100,000 pixels."""
    Ys, E, name = samson()
    K = E.shape[0]
    delta = 1e3 * float(E.max())
    Ea = np.vstack([E.T, delta * np.ones(K)])
    rows = []
    for n_pix, n_jobs in ((1_000, 1), (3_000, 1), (100_000, 1), (100_000, 2)):
        Yn = np.ascontiguousarray(np.resize(Ys, (n_pix, Ys.shape[1])))
        with threads(n_jobs):
            sc.fcls(Yn[:10], E, delta=delta, n_jobs=n_jobs)
            t_ours, A_ours = best_time(lambda: sc.fcls(Yn, E, delta=delta, n_jobs=n_jobs),
                                       repeat=5 * repeat, min_time=0.5)
        n_loop = min(n_pix, 10_000)  # the loop's time is linear in the pixels

        def loop():
            out = np.empty((n_loop, K))
            for n in range(n_loop):
                out[n] = scipy_opt.nnls(Ea, np.r_[Yn[n], delta])[0]
            return out

        with threads(1):
            t_loop, A_sp = best_time(loop, repeat=repeat)
        t_sp = t_loop * n_pix / n_loop
        note = "target ratio >= 20" if n_jobs == 1 else "target: near-linear in threads"
        if n_loop < n_pix:
            note += f"; loop timed on the first {n_loop:,} pixels, scaled"
        rows.append({"problem": f"FCLS {name}, {n_pix:,} pixels, {Ys.shape[1]} bands, "
                                f"{K} endmembers",
                     "method": f"fcls(delta=1e3 max E{', n_jobs=2' if n_jobs == 2 else ''})",
                     "peer": f"{s_name} nnls loop (augmented row)", "t_ours_s": t_ours,
                     "t_peer_s": t_sp, "ratio": ratio(t_sp, t_ours), "threads": n_jobs,
                     "max_coef_diff": float(np.abs(A_ours[:n_loop] - A_sp).max()),
                     "note": note})
    return rows


if __name__ == "__main__":  # python -m peers.unmixing (from asv_bench/)
    for row in run():
        print(row)
