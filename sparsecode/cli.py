"""The ``sparsecode`` command: ``demo``, ``encode`` and the families' subcommands.

Families add subcommands by shipping ``sparsecode/<family>/_cli.py`` with
``register(subparsers)`` (which sets ``func`` on its parser); they are
discovered here, so this file does not change when a family grows.
"""

import argparse
import importlib
import importlib.util
import sys
import time

import numpy as np

from . import __version__

_FAMILIES = ("greedy", "convex", "thresholding", "bayes", "unmixing", "dictionary")


def _progress(done, total, start, label, stream=None):
    stream = sys.stderr if stream is None else stream
    frac = done / max(total, 1)
    bar = "#" * int(30 * frac)
    elapsed = time.perf_counter() - start
    eta = elapsed / frac - elapsed if frac > 0 else float("nan")
    stream.write(f"\r{label} [{bar:<30}] {done}/{total}  {elapsed:6.1f}s  eta {eta:6.1f}s")
    if done >= total:
        stream.write("\n")
    stream.flush()


# --------------------------------------------------------------------------
# demo
# --------------------------------------------------------------------------
def _demo_params(name, accepted, problem):
    """Parameters for encoder ``name``: the true sparsity, or a theory-driven alpha."""
    m, N = problem.A.shape
    k = problem.k
    sigma = max(problem.noise_std, 1e-3)
    if "n_nonzero_coefs" in accepted:
        return {"n_nonzero_coefs": k}
    if "alpha" in accepted:
        # Scaled universal thresholds: the largest correlation of the noise
        # with an atom is about sqrt(2 log N) times its natural scale.  The
        # square-root and LAD losses are pivotal (no sigma needed); the
        # constants below 1 trade the theory's guarantee for less bias.
        universal = np.sqrt(2 * np.log(N))
        if name == "sqrt_lasso":  # ||r||_2 + alpha ||c||_1
            return {"alpha": 0.75 * universal / np.sqrt(m)}
        if name == "lad_lasso":  # ||r||_1 + alpha ||c||_1
            return {"alpha": 0.6 * universal}
        return {"alpha": 1.5 * sigma * np.sqrt(2 * np.log(2 * N))}  # 1/2||r||^2 + alpha||c||_1
    return {}


def run_demo(args):
    """Recover one batch of sparse signals with every registered encoder."""
    from ._registry import _ENCODERS, available_encoders
    from .datasets import make_compressed_sensing
    from .dictionary import sparse_encode
    from .metrics import nmse, support_recovery

    prob = make_compressed_sensing(args.n_measurements, args.n_features, args.n_nonzero_coefs,
                                   snr=args.snr, n_targets=args.n_signals,
                                   random_state=args.seed)
    prob.k = args.n_nonzero_coefs
    prob.noise_std = float(np.mean(np.atleast_1d(prob.noise_std)))
    X = np.ascontiguousarray(np.asarray(prob.y).T)  # signals as rows
    D = np.ascontiguousarray(np.asarray(prob.A).T)  # atoms as rows
    x_true = np.asarray(prob.x).T
    order = {fam: i for i, fam in enumerate(_FAMILIES)}
    names = sorted(available_encoders(),
                   key=lambda n: (order.get(_ENCODERS[n][0].__module__.split(".")[1], 99), n))
    print(f"sparsecode {__version__} demo: {args.n_signals} signals, A {args.n_measurements}x"
          f"{args.n_features} (Gaussian, unit columns), {args.n_nonzero_coefs} nonzeros, "
          f"SNR {args.snr} dB\n")
    header = f"{'family':<13}{'algorithm':<20}{'NMSE (dB)':>10}{'precision':>11}{'recall':>8}" \
             f"{'exact':>7}{'time (s)':>10}  parameters"
    print(header)
    print("-" * len(header))
    start = time.perf_counter()
    rows = []
    for i, name in enumerate(names):
        func, _, accepted = _ENCODERS[name]
        family = func.__module__.split(".")[1]
        params = _demo_params(name, accepted, prob)
        t0 = time.perf_counter()
        try:
            codes = sparse_encode(X, D, algorithm=name, **params)
        except Exception as exc:  # noqa: BLE001 - the demo reports and goes on
            rows.append(f"{family:<13}{name:<20}  failed: {exc}")
            continue
        dt = time.perf_counter() - t0
        err = float(np.mean(nmse(x_true.T, codes.T, db=True)))
        rec = [support_recovery(x_true[j], codes[j], n_nonzero_coefs=prob.k)
               for j in range(x_true.shape[0])]
        prec = np.mean([r["precision"] for r in rec])
        recall = np.mean([r["recall"] for r in rec])
        exact = np.mean([r["exact"] for r in rec])
        p = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                      for k, v in params.items())
        rows.append(f"{family:<13}{name:<20}{err:>10.1f}{prec:>11.2f}{recall:>8.2f}"
                    f"{exact:>7.2f}{dt:>10.3f}  {p}")
        if args.progress:
            _progress(i + 1, len(names), start, "demo")
    print("\n".join(rows))
    print("\nprecision/recall: of the k largest coefficients; exact: support found exactly "
          "(fraction of signals). Times include first-call compilation.")
    return 0


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------
def run_encode(args):
    """Encode the rows of a .npy file over a dictionary, in chunks with progress."""
    import scipy.sparse as sp

    from .dictionary import sparse_encode

    X = np.load(args.X, mmap_mode="r", allow_pickle=False)
    D = np.load(args.dictionary, allow_pickle=False)
    if X.ndim != 2:
        raise SystemExit(f"error: X must be a 2-D array (n_samples, n_features); got {X.shape}")
    if D.ndim != 2 or D.shape[1] != X.shape[1]:
        raise SystemExit(
            f"error: the dictionary must be (n_atoms, {X.shape[1]}); got {D.shape}")
    params = {}
    if args.n_nonzero_coefs is not None:
        params["n_nonzero_coefs"] = args.n_nonzero_coefs
    if args.alpha is not None:
        params["alpha"] = args.alpha
    if args.tol is not None:
        params["tol"] = args.tol
    if args.normalize:
        D = D / np.linalg.norm(D, axis=1, keepdims=True)
    n = X.shape[0]
    blocks = []
    start = time.perf_counter()
    step = max(args.chunk, 1)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        codes = sparse_encode(np.asarray(X[lo:hi]), D, algorithm=args.algorithm,
                              n_jobs=args.n_jobs, **params)
        blocks.append(sp.csr_matrix(codes))
        if not args.quiet:
            _progress(hi, n, start, f"encode ({args.algorithm})")
    codes = sp.vstack(blocks, format="csr") if blocks else sp.csr_matrix((0, D.shape[0]))
    sp.save_npz(args.output, codes)
    if not args.quiet:
        print(f"wrote {args.output}: {codes.shape[0]} codes over {codes.shape[1]} atoms, "
              f"{codes.nnz / max(codes.shape[0], 1):.2f} nonzeros per signal "
              f"(load with scipy.sparse.load_npz)", file=sys.stderr)
    return 0


# --------------------------------------------------------------------------
# parser
# --------------------------------------------------------------------------
def build_parser():
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(
        prog="sparsecode",
        description="Sparse coding and sparse recovery from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"sparsecode {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="recover sparse signals with every available solver and print a table",
        description="Draw a Gaussian compressed-sensing problem and recover it with every "
                    "registered encoder (greedy, convex, thresholding, Bayesian ...); print "
                    "NMSE, support recovery and time for each.")
    demo.add_argument("--n-measurements", type=int, default=128, help="rows of A (default 128)")
    demo.add_argument("--n-features", type=int, default=512, help="columns of A (default 512)")
    demo.add_argument("-k", "--n-nonzero-coefs", type=int, default=10,
                      help="nonzeros per signal (default 10)")
    demo.add_argument("--n-signals", type=int, default=50, help="signals (default 50)")
    demo.add_argument("--snr", type=float, default=40.0, help="SNR in dB (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--progress", action="store_true", help="show a progress bar")
    demo.set_defaults(func=run_demo)

    enc = sub.add_parser(
        "encode", help="sparse-code the rows of a .npy file over a dictionary",
        description="Encode X (n_samples, n_features) from a .npy file over a dictionary "
                    "(n_atoms, n_features) and save the codes as a scipy.sparse CSR .npz. "
                    "X is memory-mapped and processed in chunks, with progress.")
    enc.add_argument("X", help="signals, .npy of shape (n_samples, n_features)")
    enc.add_argument("--dictionary", "-D", required=True,
                     help="atoms as rows, .npy of shape (n_atoms, n_features)")
    enc.add_argument("-k", "--n-nonzero-coefs", type=int, default=None,
                     help="nonzeros per code (greedy and thresholding algorithms)")
    enc.add_argument("--alpha", type=float, default=None, help="penalty (convex algorithms)")
    enc.add_argument("--tol", type=float, default=None,
                     help="squared residual tolerance (greedy) or solver tolerance")
    enc.add_argument("--algorithm", "-a", default="omp",
                     help="registered encoder (default omp); see `sparsecode algorithms`")
    enc.add_argument("--n-jobs", "-j", type=int, default=None, help="threads (-1: all cores)")
    enc.add_argument("--chunk", type=int, default=50_000, help="signals per chunk (default 50000)")
    enc.add_argument("--normalize", action="store_true", help="scale atoms to unit norm first")
    enc.add_argument("-o", "--output", required=True, help="output .npz (scipy.sparse CSR)")
    enc.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    enc.set_defaults(func=run_encode)

    alg = sub.add_parser("algorithms", help="list the registered encoders",
                         description="List every algorithm usable in sparse_encode / "
                                     "SparseCoder / `sparsecode encode`, with its parameters.")
    alg.set_defaults(func=run_algorithms)

    for fam in _FAMILIES:
        name = f"sparsecode.{fam}._cli"
        if importlib.util.find_spec(f"sparsecode.{fam}") and \
                importlib.util.find_spec(name) is not None:
            importlib.import_module(name).register(sub)
    return parser


def run_algorithms(args):
    """Print the registered encoders."""
    from ._registry import _ENCODERS, available_encoders

    for name in available_encoders():
        func, desc, params = _ENCODERS[name]
        shown = ", ".join(p for p in params if p != "complex")
        print(f"{name:<20} {desc}\n{'':<20} parameters: {shown}")
    return 0


def main(argv=None):
    """Entry point of the ``sparsecode`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
