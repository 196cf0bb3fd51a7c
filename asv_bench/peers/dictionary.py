"""Dictionary learning against scikit-learn and SPAMS: time to the same error.

Lasso coding (``run_lasso_coding``): 4,900 random 8x8 patches of
``china.jpg`` (mean removed, unit norm) over the 256-atom overcomplete DCT,
``sparsecode.convex._lars.lasso_lars_gram`` against SPAMS ``lasso`` (LARS,
mode 2) at penalties from 0.5 to 0.002 (1 to ~62 non-zeros per patch of 64),
timed interleaved, one thread; both solve 1/2||x - D^T c||^2 + lambda||c||_1.

l1 dictionary learning (``run_online_l1``): 20,000 such unit-norm patches,
256 atoms, lambda = 0.15: ``OnlineDictionaryLearning(fit_algorithm="lasso")``
against SPAMS ``trainDL`` (mode 2, LARS coding) and scikit-learn's
``MiniBatchDictionaryLearning(alpha=0.15)``, mini-batches of 256, epochs 1
and 2; every dictionary is scored by the mean Lasso objective of exact
(LARS) codes at lambda over the 20,000 patches, and each learner's time is
its first point at or below the worst of the best objectives.

OMP-coded learners: 20,000 random 8x8
patches of scikit-learn's bundled ``china.jpg`` (grey levels, each patch's
mean removed, the whole set divided by its standard deviation), 256 atoms.
Every learned dictionary is scored the same way: the relative error
``||P - code @ D||_F / ||P||_F`` of Batch-OMP codes with 5 non-zeros per
patch over the (normalised) dictionary.

Each learner is run with a growing budget and its (time, error) curve is
recorded; the target is the worst of the best errors reached (an error
every learner reaches), and each learner's time is the first point of its
curve at or below the target.  Ours: ``OnlineDictionaryLearning``
(Batch-OMP coding with 5 non-zeros, mini-batches of 256, epochs through
``partial_fit``) and ``KSVD`` with its defaults (5 non-zeros; the default
``subsample="auto"`` warms up on nested subsets at this size), 1, 2 and 5
iterations (10 with ``--full``).  Peers: scikit-learn's ``MiniBatchDictionaryLearning`` (LARS
lasso coding, ``alpha=1``, mini-batches of 256 through ``partial_fit``; its
training coder cannot be OMP), SPAMS ``trainDL`` in mode 3 (OMP coding with
``lambda1 = 5`` non-zeros, the same problem as ours, mini-batches of 256)
and, with ``--full`` only, scikit-learn's batch ``DictionaryLearning``
(too slow at this size for the regular run).  SPAMS is run for 1/8, 2/8,
..., 1 and 2 epochs (``iter`` = that many mini-batches, each run from
scratch): the online rows compare whole epochs with whole epochs, the K-SVD
rows use every point (SPAMS's time to the target to within 1/8 epoch).
One thread, and the K-SVD rows again with two (``n_jobs=2``,
``numThreads=2``, SPAMS up to one epoch).  First calls are made before timing; the online, K-SVD
and SPAMS curves are measured three times, interleaved, keeping the best
time of each point (the machine is shared); scikit-learn, which takes
minutes, is measured once.
"""

import time

import numpy as np

from . import import_peer, missing_row, peer_version, ratio, threads

N_PATCHES = 20_000
N_ATOMS = 256
K = 5
BATCH = 256
REPEAT = 3


def make_patches(n_patches=N_PATCHES, seed=0):
    from sklearn.datasets import load_sample_image

    from sparsecode import image_patches

    grey = load_sample_image("china.jpg").astype(float).mean(axis=2)
    P, _ = image_patches(grey, (8, 8), max_patches=n_patches, random_state=seed)
    return np.ascontiguousarray(P / P.std())


def score(P, D):
    """Relative error of 5-sparse Batch-OMP codes over the normalised dictionary."""
    from sparsecode import sparse_encode

    D = np.asarray(D, dtype=np.float64)
    nrm = np.linalg.norm(D, axis=1)
    D = D[nrm > 0] / nrm[nrm > 0, None]
    code = sparse_encode(P, D, algorithm="omp", n_nonzero_coefs=K)
    return float(np.linalg.norm(P - code @ D) / np.linalg.norm(P))


def _curve_online_ours(P, epochs, scored=True):
    from sparsecode import OnlineDictionaryLearning

    est = OnlineDictionaryLearning(N_ATOMS, n_nonzero_coefs=K, batch_size=BATCH, random_state=0)
    rng = np.random.default_rng(0)
    out, t = [], 0.0
    for _ in range(epochs):
        Pe = P[rng.permutation(len(P))]
        t0 = time.perf_counter()
        est.partial_fit(Pe)
        t += time.perf_counter() - t0
        out.append((t, score(P, est.components_) if scored else np.nan))
    return out


KSVD_PARAMS = {}  # settings beyond the defaults (none: the row runs the defaults)
SPAMS_EPOCHS = (0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 2)


def _curve_ksvd(P, iters, n_jobs=1, scored=True):
    import warnings

    from sparsecode import KSVD
    from sparsecode._base import ConvergenceWarning

    out = []
    for it in iters:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            est = KSVD(N_ATOMS, n_nonzero_coefs=K, max_iter=it, tol=0.0, random_state=0,
                       n_jobs=n_jobs, **KSVD_PARAMS).fit(P)
            t = time.perf_counter() - t0
        out.append((t, score(P, est.components_) if scored else np.nan))
    return out


def _curve_sklearn_minibatch(P, epochs):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    est = MiniBatchDictionaryLearning(N_ATOMS, alpha=1.0, batch_size=BATCH, random_state=0)
    rng = np.random.default_rng(0)
    out, t = [], 0.0
    for _ in range(epochs):
        Pe = P[rng.permutation(len(P))]
        t0 = time.perf_counter()
        for s in range(0, len(Pe), BATCH):
            est.partial_fit(Pe[s:s + BATCH])
        t += time.perf_counter() - t0
        out.append((t, score(P, est.components_)))
    return out


def _curve_sklearn_batch(P, iters):
    import warnings

    from sklearn.decomposition import DictionaryLearning

    out = []
    for it in iters:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            est = DictionaryLearning(N_ATOMS, alpha=1.0, max_iter=it, fit_algorithm="cd",
                                     transform_algorithm="omp", random_state=0).fit(P)
            t = time.perf_counter() - t0
        out.append((t, score(P, est.components_)))
    return out


def _curve_spams(spams, P, epochs, n_threads=1, scored=True):
    Xf = np.asfortranarray(P.T)
    steps = len(P) // BATCH
    out = []
    for e in epochs:
        t0 = time.perf_counter()
        D = spams.trainDL(Xf, K=N_ATOMS, lambda1=K, mode=3, iter=max(int(round(e * steps)), 1),
                          batchsize=BATCH, numThreads=n_threads, verbose=False)
        t = time.perf_counter() - t0
        out.append((t, score(P, np.asarray(D).T) if scored else np.nan))
    return out


def _best(curves):
    """Point-wise best time of repeated (time, error) curves.

    The errors are deterministic: only the first curve is scored.
    """
    return [(min(c[i][0] for c in curves), curves[0][i][1]) for i in range(len(curves[0]))]


def _time_to(curve, target):
    for t, e in curve:
        if e <= target * (1 + 1e-3):
            return t, e
    return None, curve[-1][1]


# ---------------------------------------------------------------- l1 (Lasso) rows
# Lasso coding and l1 dictionary learning use unit-norm patches (mean removed),
# the setting of SPAMS's examples, where lambda = 0.15 ~ 1.2 / sqrt(64).
LAMBDA = 0.15
CODING_PATCHES = 4_900
CODING_LAMBDAS = (0.5, 0.15, 0.05, 0.01, 0.002)  # mean non-zeros ~ 1 to 62 of 64


def make_unit_patches(n_patches, seed=0):
    P = make_patches(n_patches, seed)
    P = P - P.mean(axis=1, keepdims=True)
    nrm = np.linalg.norm(P, axis=1, keepdims=True)
    return np.ascontiguousarray(P / np.maximum(nrm, 1e-12))


def lasso_objective(P, D, lam):
    """Mean of 1/2||p - D^T c||^2 + lam ||c||_1 with exact Lasso codes (LARS)."""
    from sparsecode.convex._lars import lasso_lars_gram

    D = np.asarray(D, dtype=np.float64)
    nrm = np.linalg.norm(D, axis=1)
    D = D[nrm > 0] / nrm[nrm > 0, None]
    C = lasso_lars_gram(P, D, lam)
    R = P - C @ D
    return float(np.mean(0.5 * np.einsum("ij,ij->i", R, R) + lam * np.abs(C).sum(axis=1)))


def run_lasso_coding(repeat=5):
    """Lasso coding over the 256-atom overcomplete DCT, one thread: ours
    (``lasso_lars_gram``) against SPAMS ``lasso`` (LARS, mode 2), timed
    interleaved, at penalties giving 1 to ~62 non-zeros per patch."""
    from sparsecode.convex._lars import lasso_lars_gram
    from sparsecode.dictionary._common import overcomplete_dct

    from . import best_times_interleaved

    spams = import_peer("spams")
    P = make_unit_patches(CODING_PATCHES)
    D = overcomplete_dct(P.shape[1], N_ATOMS)
    D = np.ascontiguousarray(D / np.linalg.norm(D, axis=1, keepdims=True))
    Xf, Df = np.asfortranarray(P.T), np.asfortranarray(D.T)

    def obj(C, lam):
        R = P - C @ D
        return float(0.5 * np.einsum("ij,ij->", R, R) + lam * np.abs(C).sum())

    rows = []
    with threads(1):
        lasso_lars_gram(P[:64], D, LAMBDA)
        for lam in CODING_LAMBDAS:
            ours = lambda: lasso_lars_gram(P, D, lam)  # noqa: E731
            problem = (f"Lasso coding, {len(P)} unit-norm 8x8 patches, ODCT {N_ATOMS} atoms, "
                       f"lambda={lam}")
            method = "lasso_lars_gram (LARS homotopy, Gram)"
            if spams is None:
                (t_ours,), (C,) = best_times_interleaved([ours], repeat)
                rows.append(missing_row(problem, method, "SPAMS lasso", t_ours))
                continue
            peer = lambda: spams.lasso(Xf, D=Df, lambda1=lam, mode=2, numThreads=1)  # noqa: E731
            (t_ours, t_peer), (C, S) = best_times_interleaved([ours, peer], repeat)
            S = np.asarray(S.todense()).T
            f_ours, f_peer = obj(C, lam), obj(S, lam)
            rows.append(dict(problem=problem, method=method,
                             peer=f"SPAMS lasso mode 2 [{peer_version(spams, 'spams-bin')}]",
                             t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                             threads=1, nnz_ours=float(np.mean(np.count_nonzero(C, axis=1))),
                             nnz_peer=float(np.mean(np.count_nonzero(S, axis=1))),
                             obj_rel_diff=(f_ours - f_peer) / f_peer))
    return rows


def _curve_online_l1(P, epochs):
    from sparsecode import OnlineDictionaryLearning

    est = OnlineDictionaryLearning(N_ATOMS, fit_algorithm="lasso", alpha=LAMBDA,
                                   batch_size=BATCH, tol=0.0, max_no_improvement=None,
                                   random_state=0)
    rng = np.random.default_rng(0)
    out, t = [], 0.0
    for _ in range(epochs):
        Pe = P[rng.permutation(len(P))]
        t0 = time.perf_counter()
        est.partial_fit(Pe)
        t += time.perf_counter() - t0
        out.append((t, lasso_objective(P, est.components_, LAMBDA)))
    return out


def _curve_spams_l1(spams, P, epochs):
    Xf = np.asfortranarray(P.T)
    steps = len(P) // BATCH
    out = []
    for e in epochs:
        t0 = time.perf_counter()
        D = spams.trainDL(Xf, K=N_ATOMS, lambda1=LAMBDA, mode=2, iter=e * steps,
                          batchsize=BATCH, numThreads=1, verbose=False)
        t = time.perf_counter() - t0
        out.append((t, lasso_objective(P, np.asarray(D).T, LAMBDA)))
    return out


def _curve_sklearn_l1(P, epochs):
    from sklearn.decomposition import MiniBatchDictionaryLearning

    est = MiniBatchDictionaryLearning(N_ATOMS, alpha=LAMBDA, batch_size=BATCH, random_state=0)
    rng = np.random.default_rng(0)
    out, t = [], 0.0
    for _ in range(epochs):
        Pe = P[rng.permutation(len(P))]
        t0 = time.perf_counter()
        for s in range(0, len(Pe), BATCH):
            est.partial_fit(Pe[s:s + BATCH])
        t += time.perf_counter() - t0
        out.append((t, lasso_objective(P, est.components_, LAMBDA)))
    return out


def run_online_l1(epochs=2, repeat=REPEAT, with_sklearn=True):
    """l1 online dictionary learning, time to the same Lasso objective."""
    P = make_unit_patches(N_PATCHES)
    problem = (f"l1 dictionary learning, china.jpg {len(P)} unit-norm 8x8 patches, "
               f"{N_ATOMS} atoms, lambda={LAMBDA}, mean Lasso objective")
    with threads(1):
        spams = import_peer("spams")
        sk = import_peer("sklearn")
        _curve_online_l1(P[:1024], 1)
        ours, sp = [], []
        for _ in range(repeat):
            ours.append(_curve_online_l1(P, epochs))
            if spams is not None:
                sp.append(_curve_spams_l1(spams, P, list(range(1, epochs + 1))))
        ours = _best(ours)
        peers = {}
        if spams is not None:
            peers["SPAMS trainDL (mode 2, LARS)"] = (peer_version(spams, "spams-bin"), _best(sp))
        if sk is not None and with_sklearn:
            peers["sklearn MiniBatchDictionaryLearning (LARS)"] = (
                peer_version(sk, "scikit-learn"), _curve_sklearn_l1(P, epochs))
    target = max([min(e for _, e in ours)] + [min(e for _, e in c) for _, c in peers.values()])
    method = "OnlineDictionaryLearning (fit_algorithm='lasso', LARS coding)"
    t_ours, e_ours = _time_to(ours, target)
    rows = []
    for peer, (version, curve) in peers.items():
        t_peer, e_peer = _time_to(curve, target)
        rows.append(dict(problem=problem, method=method, peer=f"{peer} [{version}]",
                         t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                         threads=1, target_obj=target, obj_ours=e_ours, obj_peer=e_peer))
    if not peers:
        rows.append(missing_row(problem, method, "SPAMS / scikit-learn", t_ours))
    return rows


def run(full=False):
    """Rows of the comparison (see ``asv_bench/peers/__init__.py``)."""
    rows = run_lasso_coding() + run_online_l1()
    return rows + _run_omp_rows(full)


def _run_omp_rows(full=False):
    """Rows of the OMP-coded learners (time to the same OMP-5 error)."""
    P = make_patches()
    problem = f"china.jpg {len(P)} 8x8 patches, {N_ATOMS} atoms, OMP-{K} error"
    epochs = 4 if full else 2
    spams_epochs = SPAMS_EPOCHS + ((3, 4) if full else ())
    ksvd_iters = [1, 2, 5, 10] if full else [1, 2, 5]
    whole = [i for i, e in enumerate(spams_epochs) if e == int(e)]
    with threads(1):
        spams = import_peer("spams")
        sk = import_peer("sklearn")
        # first calls (Numba kernels loaded from the disk cache, imports) stay out
        _curve_online_ours(P[:2048], 1)
        _curve_ksvd(P[:2048], [1, 2], n_jobs=2)
        if spams is not None:
            _curve_spams(spams, P[:2048], [1], n_threads=2)
        # the fast curves are measured REPEAT times, interleaved, and the best
        # time of each point is kept (the machine is shared)
        online, ksvd, ksvd2, spams_curve, spams2 = [], [], [], [], []
        for r in range(REPEAT):
            sc = r == 0  # the errors are deterministic: score the first round only
            online.append(_curve_online_ours(P, epochs, scored=sc))
            ksvd.append(_curve_ksvd(P, ksvd_iters, scored=sc))
            ksvd2.append(_curve_ksvd(P, ksvd_iters, n_jobs=2, scored=sc))
            if spams is not None:
                spams_curve.append(_curve_spams(spams, P, spams_epochs, scored=sc))
                # (two threads: up to one epoch, the K-SVD targets lie below it)
                spams2.append(_curve_spams(spams, P, [e for e in spams_epochs if e <= 1],
                                           n_threads=2, scored=sc))
        curves = {"online": _best(online), "ksvd": _best(ksvd), "ksvd2": _best(ksvd2)}
        peers = {}
        if sk is not None:
            peers["sklearn MiniBatchDictionaryLearning"] = (
                peer_version(sk, "scikit-learn"), _curve_sklearn_minibatch(P, epochs))
            if full:
                peers["sklearn DictionaryLearning"] = (
                    peer_version(sk, "scikit-learn"), _curve_sklearn_batch(P, [1, 2, 5]))
        spams_fine = spams_fine2 = None
        if spams is not None:
            spams_fine, spams_fine2 = _best(spams_curve), _best(spams2)
            peers["SPAMS trainDL (mode 3, OMP)"] = (peer_version(spams, "spams-bin"),
                                                    [spams_fine[i] for i in whole])
    best = [min(e for _, e in c) for c in curves.values()]
    best += [min(e for _, e in c) for _, c in peers.values()]
    if spams_fine is not None:
        best.append(min(e for _, e in spams_fine))
    target = max(best)
    rows = []
    ksvd_method = ("KSVD (defaults, Batch-OMP, 5 nnz"
                   + "".join(f", {k}={v!r}" for k, v in KSVD_PARAMS.items()) + ")")
    for ours_key, method in (("online", "OnlineDictionaryLearning (Batch-OMP, 5 nnz)"),
                             ("ksvd", ksvd_method)):
        t_ours, e_ours = _time_to(curves[ours_key], target)
        for peer, (version, curve) in peers.items():
            label = peer
            if ours_key == "ksvd" and peer.startswith("SPAMS"):
                curve, label = spams_fine, peer + ", 1/8-epoch points"
            t_peer, e_peer = _time_to(curve, target)
            rows.append(dict(problem=problem, method=method, peer=f"{label} [{version}]",
                             t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                             threads=1, target_err=target, err_ours=e_ours, err_peer=e_peer))
        if not peers:
            rows.append(missing_row(problem, method, "scikit-learn / SPAMS", t_ours))
    if spams_fine2 is not None:
        t_ours, e_ours = _time_to(curves["ksvd2"], target)
        t_peer, e_peer = _time_to(spams_fine2, target)
        rows.append(dict(problem=problem, method=ksvd_method[:-1] + ", n_jobs=2)",
                         peer=(f"SPAMS trainDL (mode 3, OMP, numThreads=2), 1/8-epoch points "
                               f"[{peer_version(spams, 'spams-bin')}]"),
                         t_ours_s=t_ours, t_peer_s=t_peer, ratio=ratio(t_peer, t_ours),
                         threads=2, target_err=target, err_ours=e_ours, err_peer=e_peer))
    return rows


if __name__ == "__main__":  # pragma: no cover - manual runs
    import argparse
    import json

    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--part", choices=("all", "coding", "online_l1", "omp"), default="all")
    args = ap.parse_args()
    part = {"all": lambda: run(full=args.full), "coding": run_lasso_coding,
            "online_l1": run_online_l1, "omp": lambda: _run_omp_rows(args.full)}[args.part]
    for row in part():
        print(json.dumps(row))
