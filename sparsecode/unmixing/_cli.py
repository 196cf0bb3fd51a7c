"""``sparsecode unmix``: unmix a hyperspectral cube stored in a ``.npy``, ``.npz`` or ``.mat`` file.

    sparsecode unmix cube.npz --endmembers 4 --method cenmf -o result.npz --plot maps.png
    sparsecode unmix cube.npz --method sunsal --library usgs.npz -o result.npz

The input is a ``.npy`` array, or the array ``--key`` of an ``.npz`` / ``.mat``
file (by default the first of ``Y``, ``V``, ``X``, ``im``, or the file's only
array): a cube (rows, cols, bands), a matrix (n_pixels, n_bands) with
row-major pixels (give ``--image-shape`` for maps), or the layout of the
shipped data files (bands x pixels, MATLAB column-major order, with a
``shape`` or ``nRow``/``nCol`` entry). Ground truth (``M``, ``A`` in the
shipped layout) is scored when present. Results go to stdout, progress to
stderr; output paths are checked before the computation starts.
"""

import contextlib
import sys
import time

import numpy as np

from ..cli import CLIError, check_input_file, check_output_file, positive_int, read_npy

EXTRACTION = ("vca", "nfindr", "atgp", "ppi", "sisal")          # + FCLS abundances
NMF_METHODS = ("nmf", "l12", "cenmf", "rgnmf", "ssnmf")  # = _functions.NMF_ESTIMATORS
LIBRARY_METHODS = ("sunsal", "clsunsal", "sunsal_tv")          # need --library
METHODS = EXTRACTION + NMF_METHODS + LIBRARY_METHODS
_LIBRARY_KEYS = ("D", "library", "A", "M")
_DATA_KEYS = ("Y", "V", "X", "im")            # the keys the shipped layouts use
_ROW_KEYS = ("nRow", "lines", "nrow", "rows")
_COL_KEYS = ("nCol", "cols", "ncol", "columns")


def register(subparsers):
    """Add the ``unmix`` subcommand to the ``sparsecode`` parser."""
    p = subparsers.add_parser(
        "unmix", help="unmix a hyperspectral cube (extraction+FCLS, NMF, or library sparse "
                      "unmixing)",
        description=__doc__.split("\n\n")[0] + " Methods: vca, nfindr, atgp, ppi, sisal "
        "(endmember extraction + FCLS abundances), nmf, l12 (L1/2-NMF), cenmf (correntropy "
        "NMF), rgnmf (robust guided NMF), ssnmf (structured sparse NMF), and sparse unmixing "
        "over a spectral library given with --library: sunsal, clsunsal (row sparsity), "
        "sunsal_tv (total variation of the abundance maps).")
    p.add_argument("input", help=".npy, .npz or .mat file with the data")
    p.add_argument("--key", default=None,
                   help="array name in an .npz/.mat file (default: the first of Y, V, X, im, "
                        "or the only array)")
    p.add_argument("--endmembers", "-k", type=_n_endmembers, default=None,
                   help="number of endmembers, or 'auto' (HySime estimate); required except "
                        "for the library methods (there: how many abundance maps to plot, "
                        "default 6)")
    p.add_argument("--method", "-m", choices=METHODS, default="cenmf", help="default cenmf")
    p.add_argument("--max-iter", type=positive_int, default=300, help="sweeps (default 300)")
    p.add_argument("--library", default=None,
                   help="spectral library (.npy/.npz/.mat; in an .npz/.mat the array D, "
                        "library, A or M, or the only one) as (n_spectra, n_bands) or "
                        "(n_bands, n_spectra); needed by sunsal, clsunsal, sunsal_tv")
    p.add_argument("--alpha", type=_nonneg_float, default=None,
                   help="sparsity weight of the library methods in the rescaled objective "
                        "1/(2 mean(Y^2)) ||Y - X D||^2 + alpha R(X) (default: 1e-3 for sunsal "
                        "and sunsal_tv, 1e-2 for clsunsal)")
    p.add_argument("--alpha-tv", type=_nonneg_float, default=1e-3,
                   help="TV weight of sunsal_tv (default 1e-3)")
    p.add_argument("--init", default="nfindr",
                   choices=("vca", "nfindr", "atgp", "ppi", "sisal", "nndsvd", "random"),
                   help="initialisation (default nfindr, as the estimators)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--n-jobs", type=int, default=None, help="OpenMP threads")
    p.add_argument("--image-shape", type=positive_int, nargs=2, metavar=("ROWS", "COLS"),
                   help="image shape of a (n_pixels, n_bands) matrix, row-major pixels; "
                        "ROWS*COLS must equal n_pixels")
    p.add_argument("-o", "--output", default=None,
                   help="write endmembers/abundances to this .npz file")
    p.add_argument("--plot", default=None,
                   help="save abundance maps to this image (.png, .pdf, .svg, ...); needs a "
                        "cube or --image-shape")
    p.add_argument("--plot-endmembers", default=None,
                   help="save the endmember spectra (for the library methods: the library "
                        "spectra with the largest mean abundances) to this image")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=run)
    return p


def _n_endmembers(text):
    if text == "auto":
        return "auto"
    return positive_int(text)


def _nonneg_float(text):
    import argparse

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative number, got {text!r}") from None
    if not 0 <= v < np.inf:
        raise argparse.ArgumentTypeError(f"expected a finite non-negative number, got {text!r}")
    return v


def _read_library(path, n_bands):
    """Library (n_spectra, n_bands) float64 and spectrum names (or None)."""
    p = check_input_file(path, "--library", (".npy", ".npz", ".mat"))
    names = None
    if p.suffix.lower() == ".npy":
        D = read_npy(p, "--library")
    else:
        if p.suffix.lower() == ".npz":
            d = read_npy(p, "--library")
        else:
            from scipy.io import loadmat

            try:
                d = {k: v for k, v in loadmat(p).items() if not k.startswith("__")}
            except Exception as exc:  # noqa: BLE001
                raise CLIError(f"--library: {path} is not a MATLAB file that scipy.io.loadmat "
                               f"can read ({type(exc).__name__}: {exc})") from exc
        key = next((k for k in _LIBRARY_KEYS if k in d), None)
        if key is None:
            arrays = [k for k, v in d.items() if np.asarray(v).ndim == 2]
            if len(arrays) != 1:
                raise CLIError(f"--library: {path} has no array named "
                               f"{', '.join(_LIBRARY_KEYS)} (it has {sorted(d)})")
            key = arrays[0]
        D = d[key]
        if "names" in d:
            names = [str(x).strip() for x in np.asarray(d["names"]).ravel()]
    D = np.asarray(D)
    if D.ndim != 2 or not np.issubdtype(D.dtype, np.number):
        raise CLIError(f"--library must be a 2-D numeric array; got shape {D.shape}, "
                       f"dtype {D.dtype}")
    if D.shape[1] != n_bands:
        if D.shape[0] == n_bands:
            D = D.T                                   # stored bands x spectra
        else:
            raise CLIError(f"--library has shape {D.shape} but the data have {n_bands} bands: "
                           f"neither dimension matches (resample the library to the sensor)")
    D = np.asarray(D, dtype=float)
    if not np.all(np.isfinite(D)):
        raise CLIError("--library has NaN or infinite values")
    if np.any(D < 0):
        raise CLIError(f"--library has {int(np.sum(D < 0))} negative entries: reflectance "
                       f"spectra cannot be negative")
    if names is not None and len(names) != D.shape[0]:
        names = None
    return D, names


def _extract(method, X, k, seed, n_jobs):
    from . import fcls, vca
    from ._extraction import atgp, nfindr, ppi, sisal

    if method == "vca":
        E = vca(X, k, random_state=seed)
    elif method == "nfindr":
        E = nfindr(X, k)[0]
    elif method == "atgp":
        E = atgp(X, k)[0]
    elif method == "ppi":
        E = ppi(X, k, random_state=seed)[0]
    else:
        E = np.maximum(sisal(X, k, random_state=seed), 0.0)
    return E, fcls(X, E, n_jobs=n_jobs)


def _load(path, key):
    """The data array, its name and the whole file as a dict (None for .npy)."""
    p = check_input_file(path, "input", (".npy", ".npz", ".mat"))
    suffix = p.suffix.lower()
    if suffix == ".npy":
        if key is not None:
            raise CLIError(f"--key applies to .npz and .mat files; {path} is a .npy file "
                           f"holding a single array")
        return read_npy(p, "input"), "the array", None
    if suffix == ".npz":
        d = read_npy(p, "input")
    else:
        from scipy.io import loadmat

        try:
            d = {k: v for k, v in loadmat(p).items() if not k.startswith("__")}
        except Exception as exc:  # noqa: BLE001 - scipy's MatReadError is no ValueError
            raise CLIError(f"input: {path} is not a MATLAB file that scipy.io.loadmat can read "
                           f"({type(exc).__name__}: {exc})") from exc
    if key is None:
        key = next((k for k in _DATA_KEYS if k in d), None)
        if key is None:
            if len(d) != 1:
                raise CLIError(f"input: {path} has no array named {', '.join(_DATA_KEYS)} "
                               f"(it has {sorted(d)}); choose one with --key")
            key = next(iter(d))
    if key not in d:
        raise CLIError(f"--key: no array {key!r} in {path} (it has {sorted(d)})")
    return np.asarray(d[key]), key, d


def _file_image_shape(d):
    """(rows, cols) stated by the file (``shape`` or nRow/nCol-like entries), or None."""
    if "shape" in d:
        v = np.asarray(d["shape"]).ravel()
        if v.size >= 2:
            return int(v[0]), int(v[1])
    rows = next((int(np.asarray(d[k]).ravel()[0]) for k in _ROW_KEYS if k in d), None)
    cols = next((int(np.asarray(d[k]).ravel()[0]) for k in _COL_KEYS if k in d), None)
    if rows is not None and cols is not None:
        return rows, cols
    return None


def _suggest_shape(n):
    """The factor pair of ``n`` closest to a square."""
    r = int(np.sqrt(n))
    while n % r:
        r -= 1
    return r, n // r


def _check_image_shape(image_shape, n_pixels, n_bands, name):
    rows, cols = image_shape
    if rows * cols == n_pixels:
        return
    r, c = _suggest_shape(n_pixels)
    msg = (f"--image-shape {rows} {cols} gives {rows * cols} pixels, but {name} is a "
           f"({n_pixels}, {n_bands}) matrix of {n_pixels} pixels x {n_bands} bands: ROWS*COLS "
           f"must equal {n_pixels} (for example --image-shape {r} {c})")
    if rows * cols == n_bands:
        msg += f"; if {name} is stored bands x pixels, save its transpose"
    raise CLIError(msg)


def _read(path, key, image_shape):
    """Return ``(data, truth)``: a cube (rows, cols, bands) or a matrix, and ground truth."""
    from ..datasets._hyperspectral import _from_dict

    Y, name, d = _load(path, key)
    if not (np.issubdtype(Y.dtype, np.number) or Y.dtype == bool) or \
            np.issubdtype(Y.dtype, np.complexfloating):
        raise CLIError(f"input: {name} must hold real numbers; got dtype {Y.dtype}")
    truth = None
    file_shape = _file_image_shape(d) if d is not None else None
    if Y.ndim == 2 and file_shape is not None and name == next(
            (k for k in _DATA_KEYS[:3] if k in d), None) \
            and Y.shape[1] == file_shape[0] * file_shape[1]:
        data = _from_dict(d)                           # shipped layout: bands x pixels, 'F'
        cube = data.cube
        if data.endmembers is not None and data.abundances is not None:
            truth = (data.endmembers, data.abundances)
        if image_shape is not None and tuple(image_shape) != cube.shape[:2]:
            raise CLIError(f"--image-shape {image_shape[0]} {image_shape[1]} contradicts the "
                           f"file, whose image is {cube.shape[0]}x{cube.shape[1]}; drop "
                           f"--image-shape")
    elif Y.ndim == 3:
        cube = Y
        if image_shape is not None and tuple(image_shape) != Y.shape[:2]:
            raise CLIError(f"--image-shape {image_shape[0]} {image_shape[1]} contradicts the "
                           f"cube {name} of shape {Y.shape} (rows, cols, bands); drop "
                           f"--image-shape")
    elif Y.ndim == 2:
        if image_shape is not None:
            _check_image_shape(image_shape, Y.shape[0], Y.shape[1], name)
            cube = Y.reshape(tuple(image_shape) + (Y.shape[1],))
        else:
            cube = Y
    else:
        raise CLIError(f"input: {name} must be a (n_pixels, n_bands) matrix or a (rows, cols, "
                       f"bands) cube; got shape {Y.shape}")
    cube = np.asarray(cube, dtype=float)
    if cube.size == 0:
        raise CLIError(f"input: {name} is empty (shape {Y.shape})")
    bad = int(np.count_nonzero(~np.isfinite(cube)))
    if bad:
        raise CLIError(f"input: {name} has {bad} NaN or infinite values; remove or fill them")
    return cube, truth


def _plot_formats():
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted("." + ext for ext in FigureCanvasBase.get_supported_filetypes()
                        if ext != "pgf"))           # pgf needs a LaTeX installation


def _check_outputs(args):
    """Check -o and --plot before any work (and that matplotlib is there for --plot)."""
    if args.output is not None:
        check_output_file(args.output, "-o/--output", (".npz",), inputs=(args.input,))
    if args.plot is not None:
        try:
            formats = _plot_formats()
        except ImportError:
            raise CLIError("--plot needs matplotlib: pip install matplotlib") from None
        check_output_file(args.plot, "--plot", formats, inputs=(args.input,))
        if args.output is not None and args.plot == args.output:
            raise CLIError("--plot and -o/--output name the same file")
    if args.plot_endmembers is not None:
        try:
            formats = _plot_formats()
        except ImportError:
            raise CLIError("--plot-endmembers needs matplotlib: pip install matplotlib") from None
        check_output_file(args.plot_endmembers, "--plot-endmembers", formats,
                          inputs=(args.input,))
        if args.plot_endmembers in (args.output, args.plot):
            raise CLIError("--plot-endmembers names the same file as -o/--output or --plot")


def _save_endmember_plot(path, E, truth, names, title, quiet):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ._plotting import plot_endmembers

    ax = plot_endmembers(E, truth=truth, names=names)
    ax.set_title(title)
    try:
        ax.figure.savefig(path, dpi=100)
    finally:
        plt.close(ax.figure)
    if not quiet:
        sys.stderr.write(f"unmix: wrote {path}\n")


def _estimator(method, K, args):
    from ._functions import nmf_estimator_class

    common = {"n_components": K, "max_iter": args.max_iter, "init": args.init,
              "random_state": args.seed, "n_jobs": args.n_jobs, "verbose": 0 if args.quiet else 1}
    return nmf_estimator_class(method)(**common)


def run(args):
    """Run the ``unmix`` subcommand; returns the exit status."""
    from ..metrics import abundance_rmse, match_components, spectral_angle_distance
    _check_outputs(args)
    library_method = args.method in LIBRARY_METHODS
    if library_method and args.library is None:
        raise CLIError(f"--method {args.method} needs a spectral library: give --library FILE")
    if not library_method and args.library is not None:
        raise CLIError(f"--library is used only by {', '.join(LIBRARY_METHODS)}; "
                       f"--method {args.method} learns its own endmembers")
    if not library_method and args.endmembers is None:
        raise CLIError(f"--method {args.method} needs the number of endmembers: give "
                       f"-k/--endmembers K (or 'auto')")
    cube, truth = _read(args.input, args.key, args.image_shape)
    is_cube = cube.ndim == 3
    if args.method == "sunsal_tv" and not is_cube:
        raise CLIError("--method sunsal_tv regularises the abundance maps and needs an image: "
                       "give a cube or --image-shape ROWS COLS")
    if library_method:
        return _run_library(args, cube, truth)
    if args.endmembers == "auto":
        from ._subspace import estimate_n_endmembers

        args.endmembers = int(estimate_n_endmembers(cube.reshape(-1, cube.shape[-1])))
        if not args.quiet:
            sys.stderr.write(f"unmix: {args.endmembers} endmembers (HySime estimate)\n")
    if args.plot is not None and not is_cube:
        raise CLIError(f"--plot needs an image: the input is a ({cube.shape[0]}, "
                       f"{cube.shape[1]}) matrix; give --image-shape ROWS COLS")
    out = sys.stderr
    t0 = time.perf_counter()
    X = cube.reshape(-1, cube.shape[-1])
    if not args.quiet:
        shape = "x".join(map(str, cube.shape))
        out.write(f"unmix: {shape} data, {args.endmembers} endmembers, method {args.method}\n")
        out.flush()
    extra = {}
    # The estimators' verbose lines are progress: send them to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        if args.method in EXTRACTION:
            E, A = _extract(args.method, X, args.endmembers, args.seed, args.n_jobs)
        else:
            est = _estimator(args.method, args.endmembers, args)
            A = est.fit_transform(cube if is_cube else X).reshape(-1, args.endmembers)
            E = est.components_
            extra = {"n_iter": est.n_iter_, "reconstruction_err": est.reconstruction_err_}
            if hasattr(est, "band_weights_"):
                extra["band_weights"] = est.band_weights_
            if hasattr(est, "guidance_map_"):
                extra["guidance_map"] = est.guidance_map_
    elapsed = time.perf_counter() - t0
    A_sum = A / np.maximum(A.sum(axis=1, keepdims=True), 1e-300)
    if not args.quiet:
        out.write(f"unmix: done in {elapsed:.2f} s\n")
    if truth is not None:
        M, At = truth
        perm = match_components(M, E)
        sad = spectral_angle_distance(M, E[perm])
        rmse = abundance_rmse(At, A_sum[:, perm])
        print(f"SAD per endmember (rad): {np.round(sad, 4).tolist()}  mean {sad.mean():.4f}")
        print(f"abundance RMSE per endmember: {np.round(rmse, 4).tolist()}  mean {rmse.mean():.4f}",
              flush=True)
    maps = A.reshape(cube.shape[:2] + (args.endmembers,)) if is_cube else A
    if args.output:
        np.savez_compressed(args.output, endmembers=E, abundances=maps, method=args.method,
                            time_s=elapsed, **extra)
        if not args.quiet:
            out.write(f"unmix: wrote {args.output}\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ._plotting import plot_abundance_maps

        fig = plot_abundance_maps(A_sum.reshape(cube.shape[:2] + (-1,)))
        fig.suptitle(f"{args.method}: abundance maps")
        try:
            fig.savefig(args.plot, dpi=100)
        finally:
            plt.close(fig)
        if not args.quiet:
            out.write(f"unmix: wrote {args.plot}\n")
    if args.plot_endmembers:
        same_k = truth is not None and truth[0].shape == E.shape
        _save_endmember_plot(args.plot_endmembers, E, truth[0] if same_k else None, None,
                             f"{args.method}: endmembers", args.quiet)
    return 0


def _run_library(args, cube, truth):
    """``--method sunsal | clsunsal | sunsal_tv`` with ``--library``."""
    from ._sunsal import LibraryUnmixing

    X = cube.reshape(-1, cube.shape[-1])
    D, names = _read_library(args.library, X.shape[1])
    out = sys.stderr
    if not args.quiet:
        out.write(f"unmix: {'x'.join(map(str, cube.shape))} data, library of {D.shape[0]} "
                  f"spectra, method {args.method}\n")
        out.flush()
    t0 = time.perf_counter()
    est = LibraryUnmixing(D, method=args.method, alpha=args.alpha, alpha_tv=args.alpha_tv,
                          max_iter=max(args.max_iter, 1000))
    try:
        maps = est.fit_transform(cube)
    except ValueError as exc:
        raise CLIError(str(exc)) from exc
    elapsed = time.perf_counter() - t0
    A = maps.reshape(-1, D.shape[0])
    mean_ab = A.mean(axis=0)
    order = np.argsort(mean_ab)[::-1]
    used = int(np.count_nonzero(A.max(axis=0) > 1e-3))
    if not args.quiet:
        out.write(f"unmix: done in {elapsed:.2f} s\n")
    top = order[: min(6, used)]
    label = (lambda k: f"{k} ({names[k]})") if names is not None else str
    print(f"library spectra used (max abundance > 1e-3): {used} of {D.shape[0]}")
    print("largest mean abundances: "
          + ", ".join(f"{label(k)}: {mean_ab[k]:.4f}" for k in top))
    if truth is not None:
        _, At = truth
        if At.shape[1] == D.shape[0]:
            from ..metrics import sre

            print(f"SRE (dB): {sre(At, A):.2f}", flush=True)
        else:
            out.write(f"unmix: ground truth has {At.shape[1]} endmembers, not the "
                      f"{D.shape[0]} library spectra: not scored\n")
    if args.output:
        extra = {} if names is None else {"names": np.asarray(names)}
        np.savez_compressed(args.output, abundances=maps, library=D, method=args.method,
                            time_s=elapsed, n_iter=est.n_iter_, **extra)
        if not args.quiet:
            out.write(f"unmix: wrote {args.output}\n")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ._plotting import plot_abundance_maps

        n_show = args.endmembers if isinstance(args.endmembers, int) else 6
        show = order[: max(1, min(n_show, D.shape[0]))]
        fig = plot_abundance_maps(maps.reshape(cube.shape[:2] + (-1,))[:, :, show])
        fig.suptitle(f"{args.method}: largest abundance maps "
                     f"(library spectra {', '.join(map(str, show.tolist()))})")
        try:
            fig.savefig(args.plot, dpi=100)
        finally:
            plt.close(fig)
        if not args.quiet:
            out.write(f"unmix: wrote {args.plot}\n")
    if args.plot_endmembers:
        n_show = args.endmembers if isinstance(args.endmembers, int) else 6
        show = order[: max(1, min(n_show, D.shape[0]))]
        _save_endmember_plot(args.plot_endmembers, D[show], None,
                             [label(k) for k in show], f"{args.method}: library spectra with "
                             f"the largest mean abundances", args.quiet)
    return 0
