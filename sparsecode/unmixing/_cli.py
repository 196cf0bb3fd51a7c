"""``sparsecode unmix``: unmix a hyperspectral cube stored in an ``.npz`` file.

    sparsecode unmix cube.npz --endmembers 4 --method cenmf -o result.npz --plot maps.png

The input holds ``Y`` (or ``--key``): a cube (rows, cols, bands), a matrix
(n_pixels, n_bands), or the layout of the shipped data files (bands x pixels,
MATLAB column-major order, with a ``shape`` entry). Ground truth (``M``, ``A``
in the shipped layout) is scored when present.
"""

import sys
import time

import numpy as np

METHODS = ("vca", "nmf", "l12", "cenmf", "rgnmf", "ssnmf")


def register(subparsers):
    """Add the ``unmix`` subcommand to the ``sparsecode`` parser."""
    p = subparsers.add_parser(
        "unmix", help="unmix a hyperspectral cube (VCA+FCLS or an NMF variant)",
        description=__doc__.split("\n\n")[0] + " Methods: vca (VCA + FCLS), nmf, l12 "
        "(L1/2-NMF), cenmf (correntropy NMF), rgnmf (robust guided NMF), ssnmf "
        "(structured sparse NMF).")
    p.add_argument("input", help=".npz file with the data")
    p.add_argument("--key", default="Y", help="array name in the .npz (default Y)")
    p.add_argument("--endmembers", "-k", type=int, required=True, help="number of endmembers")
    p.add_argument("--method", "-m", choices=METHODS, default="cenmf", help="default cenmf")
    p.add_argument("--max-iter", type=int, default=300, help="sweeps (default 300)")
    p.add_argument("--init", default="vca", choices=("vca", "nndsvd", "random"),
                   help="initialisation (default vca)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--n-jobs", type=int, default=None, help="OpenMP threads")
    p.add_argument("--image-shape", type=int, nargs=2, metavar=("ROWS", "COLS"),
                   help="image shape of a (n_pixels, n_bands) matrix, row-major pixels")
    p.add_argument("-o", "--output", default=None, help="write endmembers/abundances (.npz)")
    p.add_argument("--plot", default=None, help="save abundance maps (and spectra) to this image")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=run)
    return p


def _read(path, key, image_shape):
    from ..datasets._hyperspectral import _from_dict

    with np.load(path, allow_pickle=False) as f:
        d = {k: f[k] for k in f.files}
    if key not in d:
        raise SystemExit(f"sparsecode unmix: no array {key!r} in {path} (has {sorted(d)}).")
    Y = np.asarray(d[key])
    truth = None
    if Y.ndim == 2 and "shape" in d and key == "Y" and \
            Y.shape[1] == int(np.prod(np.asarray(d["shape"]))):
        data = _from_dict(d)                           # shipped layout: bands x pixels, 'F'
        cube = data.cube
        if data.endmembers is not None and data.abundances is not None:
            truth = (data.endmembers, data.abundances)
    elif Y.ndim == 3:
        cube = Y
    elif Y.ndim == 2:
        if image_shape is not None:
            cube = Y.reshape(tuple(image_shape) + (Y.shape[1],))
        else:
            cube = Y
    else:
        raise SystemExit(f"sparsecode unmix: {key} must be 2-D or 3-D; got shape {Y.shape}.")
    return np.asarray(cube, dtype=float), truth


def _estimator(method, K, args):
    from . import (
        L12NMF,
        CorrentropyNMF,
        NMFUnmixing,
        RobustGuidedNMF,
        StructuredSparseNMF,
    )

    common = {"n_components": K, "max_iter": args.max_iter, "init": args.init,
                  "random_state": args.seed, "n_jobs": args.n_jobs, "verbose": 0 if args.quiet else 1}
    return {"nmf": NMFUnmixing, "l12": L12NMF, "cenmf": CorrentropyNMF,
            "rgnmf": RobustGuidedNMF, "ssnmf": StructuredSparseNMF}[method](**common)


def run(args):
    """Run the ``unmix`` subcommand; returns the exit status."""
    from ..metrics import abundance_rmse, match_components, spectral_angle_distance
    from . import fcls, vca

    cube, truth = _read(args.input, args.key, args.image_shape)
    out = sys.stderr
    t0 = time.perf_counter()
    is_cube = cube.ndim == 3
    X = cube.reshape(-1, cube.shape[-1])
    if not args.quiet:
        shape = "x".join(map(str, cube.shape))
        out.write(f"unmix: {shape} data, {args.endmembers} endmembers, method {args.method}\n")
    extra = {}
    if args.method == "vca":
        E = vca(X, args.endmembers, random_state=args.seed)
        A = fcls(X, E, n_jobs=args.n_jobs)
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
        print(f"abundance RMSE per endmember: {np.round(rmse, 4).tolist()}  mean {rmse.mean():.4f}")
    maps = A.reshape(cube.shape[:2] + (args.endmembers,)) if is_cube else A
    if args.output:
        np.savez_compressed(args.output, endmembers=E, abundances=maps, method=args.method,
                            time_s=elapsed, **extra)
        if not args.quiet:
            out.write(f"unmix: wrote {args.output}\n")
    if args.plot:
        if not is_cube:
            raise SystemExit("sparsecode unmix: --plot needs a cube or --image-shape.")
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from ._plotting import plot_abundance_maps

        fig = plot_abundance_maps(A_sum.reshape(cube.shape[:2] + (-1,)))
        fig.suptitle(f"{args.method}: abundance maps")
        fig.savefig(args.plot, dpi=100)
        plt.close(fig)
        if not args.quiet:
            out.write(f"unmix: wrote {args.plot}\n")
    return 0
