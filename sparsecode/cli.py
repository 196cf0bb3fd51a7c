"""The ``sparsecode`` command: ``demo``, ``encode`` and the families' subcommands.

Families add subcommands by shipping ``sparsecode/<family>/_cli.py`` with
``register(subparsers)`` (which sets ``func`` on its parser); they are
discovered here, so this file does not change when a family grows.

Conventions of every subcommand: results go to stdout, progress and status
messages to stderr; a mistake in the input (a missing file, a wrong shape, a
bad parameter) prints one line ``sparsecode: error: ...`` and exits with
status 2, an unexpected failure prints one line and exits with status 1, and
``--debug`` shows the full traceback instead. Output paths are checked before
any computation starts.
"""

import argparse
import contextlib
import importlib
import importlib.util
import os
import re
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

from . import __version__

_FAMILIES = ("greedy", "convex", "thresholding", "bayes", "unmixing", "dictionary")

# Exit statuses: 2 for mistakes in the input (as argparse does), 1 for failures
# that are not the user's (bugs, out of memory), 130 for Ctrl-C.
EXIT_USAGE = 2
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

# Exceptions that mean "the input was wrong": the library raises these, with a
# message naming the argument, for bad shapes, values, types and files.
# (numpy's LinAlgError is a ValueError.)  Anything else is treated as a bug.
_USER_ERRORS = (ValueError, TypeError, OSError)


class CLIError(ValueError):
    """A mistake in the command line or its files, reported in one line."""


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
# argument types and file checks (shared with the families' subcommands)
# --------------------------------------------------------------------------
def positive_int(text):
    """``argparse`` type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1; got {value}")
    return value


def positive_float(text):
    """``argparse`` type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0; got {text!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0; got {text}")
    return value


def finite_float(text):
    """``argparse`` type: a finite float."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number; got {text}")
    return value


def check_input_file(path, option, suffixes):
    """Raise :class:`CLIError` unless ``path`` is a readable file ending in ``suffixes``."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{option}: no such file: {path}")
    if p.is_dir():
        raise CLIError(f"{option}: {path} is a directory, not a file")
    if not os.access(p, os.R_OK):
        raise CLIError(f"{option}: {path} is not readable (permission denied)")
    if p.suffix.lower() not in suffixes:
        raise CLIError(f"{option}: {path} should be a {' or '.join(suffixes)} file; "
                       f"got {p.suffix or 'no extension'!r}")
    return p


def check_output_file(path, option, suffixes, *, inputs=()):
    """Check, before any work, that ``path`` can be written with one of ``suffixes``.

    Raises :class:`CLIError` when the extension is not one of ``suffixes``, the
    directory does not exist or is not writable, the path is a directory, an
    existing file is read-only, or the path is one of ``inputs``.
    """
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        got = repr(p.suffix) if p.suffix else "no extension"
        shown = " or ".join(suffixes) if len(suffixes) <= 3 else \
            f"one of {', '.join(suffixes)}"
        raise CLIError(f"{option}: {path} must end in {shown}; got {got}")
    if p.is_dir():
        raise CLIError(f"{option}: {path} is a directory; give a file name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.exists():
        raise CLIError(f"{option}: directory {parent} does not exist; create it first "
                       f"(mkdir -p {parent})")
    if not parent.is_dir():
        raise CLIError(f"{option}: {parent} is not a directory")
    for other in inputs:
        with contextlib.suppress(OSError):
            if p.exists() and Path(other).exists() and p.samefile(other):
                raise CLIError(f"{option}: {path} is also an input file; writing it would "
                               f"overwrite the input")
    if p.exists():
        if not os.access(p, os.W_OK):
            raise CLIError(f"{option}: {path} exists and is not writable")
    else:
        try:  # a real write, which also catches read-only file systems
            with tempfile.TemporaryFile(dir=parent):
                pass
        except OSError as exc:
            raise CLIError(f"{option}: cannot write in directory {parent} "
                           f"({exc.strerror or exc})") from None
    return p


def read_npy(path, option, *, mmap_mode=None):
    """The array of a ``.npy`` file, or a dict of the arrays of an ``.npz`` file.

    Pickles are refused; a bad file raises :class:`CLIError` naming ``option``.
    """
    try:
        data = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data as f:
                data = {k: f[k] for k in f.files}
        return data
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        # numpy reads anything without its header as a pickle, and refuses it
        if "Object arrays" in str(exc):
            raise CLIError(f"{option}: {path} holds Python objects (dtype=object), which are "
                           f"not loaded; save a numeric array") from exc
        why = "no NumPy header" if "pickle" in str(exc) else _one_line(exc)
        raise CLIError(f"{option}: {path} is not a {Path(path).suffix} file written by "
                       f"numpy.save/savez ({why})") from exc


def load_array(path, option, *, key=None, mmap_mode=None):
    """Load one array from a ``.npy`` file, or the array ``key`` of an ``.npz`` file.

    Without ``key``, an ``.npz`` file must hold exactly one array.
    """
    p = check_input_file(path, option, (".npy", ".npz"))
    if p.suffix.lower() == ".npy":
        return read_npy(p, option, mmap_mode=mmap_mode)
    arrays = read_npy(p, option)
    names = list(arrays)
    if key is None:
        if len(names) != 1:
            raise CLIError(f"{option}: {path} holds {len(names)} arrays {names}; save the "
                           f"one array in a .npy file")
        key = names[0]
    if key not in names:
        raise CLIError(f"{option}: no array {key!r} in {path} (it has {names})")
    return arrays[key]


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


def _one_line(text):
    """``text`` with its line breaks folded into spaces."""
    return re.sub(r"\s*\n\s*", " ", str(text)).strip()


def run_demo(args):
    """Recover one batch of sparse signals with every registered encoder.

    Each row of the table is written (and flushed) as soon as its encoder has
    finished; the optional progress bar goes to stderr.
    """
    from ._registry import _ENCODERS, available_encoders
    from .datasets import make_compressed_sensing
    from .dictionary import sparse_encode
    from .metrics import nmse, support_recovery

    if args.n_nonzero_coefs > args.n_features:
        raise CLIError(f"-k/--n-nonzero-coefs ({args.n_nonzero_coefs}) must not exceed "
                       f"--n-features ({args.n_features})")
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
    out = sys.stdout
    print(f"sparsecode {__version__} demo: {args.n_signals} signals, A {args.n_measurements}x"
          f"{args.n_features} (Gaussian, unit columns), {args.n_nonzero_coefs} nonzeros, "
          f"SNR {args.snr:g} dB\n", file=out)
    header = f"{'family':<13}{'algorithm':<20}{'NMSE (dB)':>10}{'precision':>11}{'recall':>8}" \
             f"{'exact':>7}{'time (s)':>10}  parameters"
    print(header, file=out)
    print("-" * len(header), file=out, flush=True)
    start = time.perf_counter()
    progress = args.progress
    if progress:
        _progress(0, len(names), start, "demo")
    n_failed = 0
    for i, name in enumerate(names):
        func, _, accepted = _ENCODERS[name]
        family = func.__module__.split(".")[1]
        params = _demo_params(name, accepted, prob)
        t0 = time.perf_counter()
        try:
            codes = sparse_encode(X, D, algorithm=name, **params)
        except Exception as exc:  # noqa: BLE001 - the demo reports and goes on
            if args.debug:
                raise
            n_failed += 1
            row = f"{family:<13}{name:<20}  failed: {type(exc).__name__}: {_one_line(exc)}"
        else:
            dt = time.perf_counter() - t0
            err = float(np.mean(nmse(x_true.T, codes.T, db=True)))
            rec = [support_recovery(x_true[j], codes[j], n_nonzero_coefs=prob.k)
                   for j in range(x_true.shape[0])]
            prec = np.mean([r["precision"] for r in rec])
            recall = np.mean([r["recall"] for r in rec])
            exact = np.mean([r["exact"] for r in rec])
            p = ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in params.items())
            row = (f"{family:<13}{name:<20}{err:>10.1f}{prec:>11.2f}{recall:>8.2f}"
                   f"{exact:>7.2f}{dt:>10.3f}  {p}").rstrip()
        if progress:  # erase the bar so that a terminal shows the row on a clean line
            sys.stderr.write("\r" + " " * 79 + "\r")
            sys.stderr.flush()
        print(row, file=out, flush=True)
        if progress:
            _progress(i + 1, len(names), start, "demo")
    print("\nprecision/recall: of the k largest coefficients; exact: support found exactly "
          "(fraction of signals). Times include first-call compilation.", file=out, flush=True)
    if n_failed:
        print(f"sparsecode: warning: {n_failed} of {len(names)} algorithms failed "
              f"(rerun with --debug for the traceback)", file=sys.stderr)
        return EXIT_FAILURE
    return 0


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------
def run_encode(args):
    """Encode the rows of a .npy file over a dictionary, in chunks with progress."""
    import scipy.sparse as sp

    from .dictionary import sparse_encode

    check_output_file(args.output, "-o/--output", (".npz",))
    X = load_array(args.X, "X", mmap_mode="r")
    D = np.asarray(load_array(args.dictionary, "-D/--dictionary"))
    if X.ndim != 2:
        raise CLIError(f"X must be a 2-D array (n_samples, n_features); got shape {X.shape}")
    if D.ndim != 2 or D.shape[1] != X.shape[1]:
        raise CLIError(f"-D/--dictionary must be (n_atoms, {X.shape[1]}) to match X "
                       f"{X.shape}; got shape {D.shape}")
    params = {}
    if args.n_nonzero_coefs is not None:
        params["n_nonzero_coefs"] = args.n_nonzero_coefs
    if args.alpha is not None:
        params["alpha"] = args.alpha
    if args.tol is not None:
        params["tol"] = args.tol
    if args.normalize:
        norms = np.linalg.norm(D, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise CLIError(f"--normalize: the dictionary has {int(np.sum(norms == 0))} "
                           f"all-zero atoms, which cannot be scaled to unit norm")
        D = D / norms
    n = X.shape[0]
    blocks = []
    start = time.perf_counter()
    step = args.chunk
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
_DEBUG_HELP = "on an error, show the full Python traceback instead of one line"


def build_parser():
    """The argument parser (also used by the docs)."""
    parser = argparse.ArgumentParser(
        prog="sparsecode",
        description="Sparse coding and sparse recovery from the command line. Results go to "
                    "stdout, progress to stderr; a bad input prints one error line and exits "
                    "with status 2.",
    )
    parser.add_argument("--version", action="version", version=f"sparsecode {__version__}")
    parser.add_argument("--debug", action="store_true", default=False, help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="recover sparse signals with every available solver and print a table",
        description="Draw a Gaussian compressed-sensing problem and recover it with every "
                    "registered encoder (greedy, convex, thresholding, Bayesian ...); print "
                    "NMSE, support recovery and time for each, one row as each finishes.")
    demo.add_argument("--n-measurements", type=positive_int, default=128,
                      help="rows of A (default 128)")
    demo.add_argument("--n-features", type=positive_int, default=512,
                      help="columns of A (default 512)")
    demo.add_argument("-k", "--n-nonzero-coefs", type=positive_int, default=10,
                      help="nonzeros per signal (default 10)")
    demo.add_argument("--n-signals", type=positive_int, default=50, help="signals (default 50)")
    demo.add_argument("--snr", type=finite_float, default=40.0, help="SNR in dB (default 40)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--progress", action="store_true", help="show a progress bar (stderr)")
    demo.set_defaults(func=run_demo)

    enc = sub.add_parser(
        "encode", help="sparse-code the rows of a .npy file over a dictionary",
        description="Encode X (n_samples, n_features) from a .npy file over a dictionary "
                    "(n_atoms, n_features) and save the codes as a scipy.sparse CSR .npz. "
                    "X is memory-mapped and processed in chunks, with progress on stderr.")
    enc.add_argument("X", help="signals, .npy of shape (n_samples, n_features)")
    enc.add_argument("--dictionary", "-D", required=True,
                     help="atoms as rows, .npy of shape (n_atoms, n_features)")
    enc.add_argument("-k", "--n-nonzero-coefs", type=positive_int, default=None,
                     help="nonzeros per code (greedy and thresholding algorithms)")
    enc.add_argument("--alpha", type=positive_float, default=None,
                     help="penalty (convex algorithms)")
    enc.add_argument("--tol", type=positive_float, default=None,
                     help="squared residual tolerance (greedy) or solver tolerance")
    enc.add_argument("--algorithm", "-a", default="omp",
                     help="registered encoder (default omp); see `sparsecode algorithms`")
    enc.add_argument("--n-jobs", "-j", type=int, default=None, help="threads (-1: all cores)")
    enc.add_argument("--chunk", type=positive_int, default=50_000,
                     help="signals per chunk (default 50000)")
    enc.add_argument("--normalize", action="store_true", help="scale atoms to unit norm first")
    enc.add_argument("-o", "--output", required=True,
                     help="output .npz (scipy.sparse CSR); checked before encoding")
    enc.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    enc.set_defaults(func=run_encode)

    alg = sub.add_parser("algorithms", help="list the registered encoders",
                         description="List every algorithm usable in sparse_encode / "
                                     "SparseCoder / `sparsecode encode`, with its parameters.")
    alg.set_defaults(func=run_algorithms)

    for fam in _FAMILIES:
        # Look for <family>/_cli.py without importing the family package
        # (find_spec of a submodule would import its parent).
        spec = importlib.util.find_spec(f"sparsecode.{fam}")
        locations = getattr(spec, "submodule_search_locations", None) or ()
        if any(Path(loc, "_cli.py").is_file() for loc in locations):
            importlib.import_module(f"sparsecode.{fam}._cli").register(sub)

    # ``--debug`` is accepted after the subcommand too (SUPPRESS keeps the
    # top-level value when it is not given there).
    for subparser in sub.choices.values():
        with contextlib.suppress(argparse.ArgumentError):
            subparser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                                   help=_DEBUG_HELP)
    return parser


def run_algorithms(args):
    """Print the registered encoders."""
    from ._registry import _ENCODERS, available_encoders

    for name in available_encoders():
        func, desc, params = _ENCODERS[name]
        shown = ", ".join(p for p in params if p != "complex")
        print(f"{name:<20} {desc}\n{'':<20} parameters: {shown}")
    return 0


def _error_message(exc):
    """One line describing ``exc`` for the user."""
    if isinstance(exc, OSError) and exc.strerror and exc.filename is not None:
        return f"{exc.strerror}: {exc.filename}"
    return _one_line(exc) or type(exc).__name__


def _format_warning(message, category, filename, lineno, line=None):
    return f"sparsecode: warning: {category.__name__}: {_one_line(message)}\n"


def main(argv=None):
    """Entry point of the ``sparsecode`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments (``sys.argv[1:]`` when None).

    Returns
    -------
    status : int
        0 on success, 2 for a mistake in the input (one line on stderr), 1
        for any other failure (one line on stderr; ``--debug`` re-raises it
        with its traceback), 130 when interrupted.

    Examples
    --------
    >>> from sparsecode.cli import main
    >>> main(["encode", "missing.npy", "-D", "D.npy", "-o", "codes.npz"])  # one line on stderr
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help(sys.stderr)
        print("sparsecode: error: a command is required", file=sys.stderr)
        return EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    args.debug = debug
    if debug:
        return args.func(args)
    original_format = warnings.formatwarning
    warnings.formatwarning = _format_warning   # warnings in one line, like errors
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("\nsparsecode: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `sparsecode demo | head`: stop quietly
        with contextlib.suppress(Exception):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILURE
    except _USER_ERRORS as exc:
        print(f"sparsecode: error: {_error_message(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError as exc:
        print(f"sparsecode: error: out of memory ({_error_message(exc)}); try a smaller "
              f"--chunk or fewer signals", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - a bug: one line, --debug for the traceback
        print(f"sparsecode: internal error: {type(exc).__name__}: {_one_line(exc)} "
              f"(rerun with --debug for the traceback, and please report it)", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        warnings.formatwarning = original_format


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
