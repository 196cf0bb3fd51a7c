"""Hyperspectral unmixing data: synthetic mixtures and loaders of the usual files.

``make_hyperspectral_mixture`` follows spec section A5.4 (smooth spectra or a
user library, Dirichlet abundances, pure pixels, 'measured' Gaussian noise at a
given SNR, corrupted bands). ``load_hyperspectral`` reads the converted ``.npz``
files (found through ``data_home``, the ``SPARSECODE_DATA`` environment
variable, ``../shared/data/hyperspectral`` next to a source checkout or
``~/sparsecode_data``) and the usual MATLAB layouts of Samson / Jasper Ridge /
Urban / Moffett. ``load_hyperspectral_file`` reads users' own ``.mat`` (v7.3
through h5py), ``.npz`` and ENVI files (through the ``spectral`` package) or
URLs, caching the parsed cube as ``.npz`` (spec section 5, issue 16).
"""

import hashlib
import os
import warnings
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch, check_random_state

__all__ = [
    "hyperspectral_data_home",
    "load_hyperspectral",
    "load_hyperspectral_file",
    "make_hyperspectral_mixture",
]

_NAMES = {
    "samson": ("samson.npz", ["soil", "tree", "water"]),
    "jasper_ridge": ("jasper_ridge.npz", ["tree", "water", "dirt", "road"]),
    "jasper": ("jasper_ridge.npz", ["tree", "water", "dirt", "road"]),
    "moffett": ("moffett.npz", None),
    "urban_subimage": ("urban_subimage_nogt.npz", None),
}


def make_hyperspectral_mixture(n_endmembers=4, n_bands=100, image_shape=(32, 32), *,
                               library=None, dirichlet_alpha=0.5, smooth=0, pure_pixels=True,
                               snr=None, n_corrupted_bands=0, corruption_scale=2.0,
                               random_state=None):
    """Synthetic linear-mixing scene ``Y = A M + noise`` with known truth.

    Parameters
    ----------
    n_endmembers : int, default=4
        Number of endmembers ``K``.
    n_bands : int, default=100
        Number of bands (ignored when ``library`` is given).
    image_shape : tuple (rows, cols), default=(32, 32)
        Image size; pixels are row-major.
    library : array-like of shape (n_spectra, n_bands), default=None
        Spectral library (rows); ``K`` of its spectra are drawn at random.
        ``None`` builds smooth spectra (3 to 5 Gaussian bumps, values in [0.05, 0.9]).
    dirichlet_alpha : float, default=0.5
        Concentration of the Dirichlet abundances.
    smooth : int, default=0
        Half-size of a box filter applied to the abundance maps (then
        renormalised): spatial structure for graph methods.
    pure_pixels : bool, default=True
        Make one pixel per endmember pure (needed by VCA).
    snr : float or None, default=None
        SNR in dB of 'measured' Gaussian noise (``sigma^2 = mean(Y^2) / 10^(snr/10)``),
        result clipped at 0; ``None``: noiseless.
    n_corrupted_bands : int, default=0
        Bands replaced by ``|Y_band + N(0, (corruption_scale * rms(Y_band))^2)|``.
    corruption_scale : float, default=2.0
        Noise level of the corrupted bands relative to their RMS.
    random_state : int, RandomState or None, default=None
        Seed.

    Returns
    -------
    Y : ndarray of shape (n_pixels, n_bands)
        Observed pixels (non-negative).
    endmembers : ndarray of shape (K, n_bands)
        True endmembers.
    abundances : ndarray of shape (n_pixels, K)
        True abundances (non-negative, rows sum to one).
    corrupted_bands : ndarray of int
        Indices of the corrupted bands (empty when none).

    See Also
    --------
    load_hyperspectral : real scenes with ground truth.

    Examples
    --------
    >>> from sparsecode.datasets import make_hyperspectral_mixture
    >>> Y, M, A, bad = make_hyperspectral_mixture(3, 50, (8, 8), random_state=0)
    >>> Y.shape, M.shape, A.shape, bad.size
    ((64, 50), (3, 50), (64, 3), 0)
    """
    rng = check_random_state(random_state)
    K = int(n_endmembers)
    if K < 1:
        raise ValueError(f"n_endmembers must be >= 1; got {n_endmembers!r}.")
    rows, cols = (int(v) for v in image_shape)
    N = rows * cols
    if N < K:
        raise ValueError(f"image_shape {image_shape} has fewer pixels than endmembers ({K}).")
    if library is not None:
        lib = np.asarray(library, dtype=float)
        if lib.ndim != 2 or lib.shape[0] < K:
            raise ValueError(f"library must be (n_spectra >= {K}, n_bands); got {lib.shape}.")
        if np.any(lib < 0) or not np.all(np.isfinite(lib)):
            raise ValueError("library must be finite and non-negative.")
        M = lib[rng.choice(lib.shape[0], K, replace=False)].copy()
        L = M.shape[1]
    else:
        L = int(n_bands)
        if L < 1:
            raise ValueError(f"n_bands must be >= 1; got {n_bands!r}.")
        x = np.linspace(0, 1, L)
        M = np.empty((K, L))
        for k in range(K):
            n_b = rng.randint(3, 6)
            s = sum(rng.uniform(0.3, 1.0) * np.exp(-(x - rng.uniform(0, 1)) ** 2
                                                  / (2 * rng.uniform(0.03, 0.15) ** 2))
                    for _ in range(n_b))
            s = (s - s.min()) / max(s.max() - s.min(), 1e-12)
            M[k] = 0.05 + 0.85 * s
    A = rng.dirichlet(np.full(K, float(dirichlet_alpha)), size=N)
    if smooth:
        from scipy.ndimage import uniform_filter

        maps = A.reshape(rows, cols, K)
        maps = uniform_filter(maps, size=(2 * int(smooth) + 1, 2 * int(smooth) + 1, 1),
                              mode="reflect")
        A = (maps / maps.sum(axis=2, keepdims=True)).reshape(N, K)
    if pure_pixels:
        where = rng.choice(N, K, replace=False)
        A[where] = np.eye(K)
    Y = A @ M
    if snr is not None:
        sigma2 = np.mean(Y ** 2) / 10 ** (float(snr) / 10)
        Y = np.maximum(Y + np.sqrt(sigma2) * rng.standard_normal(Y.shape), 0.0)
    bad = np.array([], dtype=int)
    if n_corrupted_bands:
        bad = np.sort(rng.choice(L, int(n_corrupted_bands), replace=False))
        rms = np.sqrt(np.mean(Y[:, bad] ** 2, axis=0))
        Y[:, bad] = np.abs(Y[:, bad] + corruption_scale * rms * rng.standard_normal((N, bad.size)))
    return Y, M, A, bad


def _resolve_home(path):
    """A directory given as data_home or SPARSECODE_DATA: ``~`` expanded, and its
    ``hyperspectral`` sub-directory when it has one."""
    p = Path(os.path.expandvars(os.path.expanduser(os.fspath(path))))
    return p / "hyperspectral" if (p / "hyperspectral").is_dir() else p


def _source_tree_home(module_file=__file__):
    """``<repository>/../shared/data/hyperspectral`` when running from a source
    checkout (a ``pyproject.toml`` or ``setup.py`` next to the package), else None
    (an installed package lives in site-packages: no repository around it)."""
    root = Path(module_file).resolve().parents[2]
    if (root / "sparsecode").is_dir() and any((root / f).is_file()
                                             for f in ("pyproject.toml", "setup.py")):
        return (root / ".." / "shared" / "data" / "hyperspectral").resolve()
    return None


def _package_home(module_file=__file__):
    """The scenes copied into an installed package by ``pip install .``
    (``sparsecode/datasets/data/hyperspectral``; absent in a source checkout)."""
    return Path(module_file).resolve().parent / "data" / "hyperspectral"


def _user_home():
    """The per-user data directory, ``~/sparsecode_data/hyperspectral``."""
    return Path(os.path.expanduser("~")) / "sparsecode_data" / "hyperspectral"


def _candidate_homes(data_home=None):
    """Where the named files are looked for, in order, as (label, path) pairs."""
    if data_home is not None:
        return [("data_home", _resolve_home(data_home))]
    out = []
    env = os.environ.get("SPARSECODE_DATA")
    if env:
        out.append(("SPARSECODE_DATA", _resolve_home(env)))
    src = _source_tree_home()
    if src is not None:
        out.append(("source tree", src))
    out.append(("installed package", _package_home()))
    out.append(("user data directory", _user_home()))
    return out


def hyperspectral_data_home(data_home=None):
    """Directory of the hyperspectral files.

    ``data_home`` if given; otherwise the first existing directory among: the
    ``SPARSECODE_DATA`` environment variable, ``<repository>/../shared/data/hyperspectral``
    (only when running from a source checkout), the scenes that ``pip install .``
    copied into the package (``sparsecode/datasets/data/hyperspectral``), and the
    user data directory
    ``~/sparsecode_data/hyperspectral`` (returned when none exists). ``data_home``
    and ``SPARSECODE_DATA`` accept the same values: a directory holding the
    files or one with a ``hyperspectral`` sub-directory, ``~`` expanded.

    Parameters
    ----------
    data_home : str or Path, default=None
        Explicit directory.

    Returns
    -------
    path : pathlib.Path
        The directory (not checked for existence when ``data_home`` is given).

    See Also
    --------
    load_hyperspectral : reads files from there.

    Examples
    --------
    >>> from sparsecode.datasets import hyperspectral_data_home
    >>> hyperspectral_data_home("/tmp").name
    'tmp'
    """
    homes = _candidate_homes(data_home)
    if data_home is not None:
        return homes[0][1]
    for _, p in homes:
        if p.is_dir():
            return p
    return homes[-1][1]


def load_hyperspectral(name, *, data_home=None):
    """Load a hyperspectral scene (cube, ground-truth endmembers and abundances).

    Parameters
    ----------
    name : str or path
        "samson", "jasper_ridge", "moffett", "urban_subimage" (converted
        ``.npz`` files, see ``hyperspectral_data_home``), or the path of an
        ``.npz`` or MATLAB ``.mat`` file in one of the usual layouts: ``Y``/``V``
        (bands x pixels) with ``nRow``/``nCol`` or ``lines``/``cols``, ground truth
        ``M`` (bands x K) and ``A`` (K x pixels), or ``GT`` (K x bands) and
        ``S_GT`` (rows x cols x K), or a cube ``im``; integer data with
        ``maxValue`` are divided by it. Pixel order is MATLAB column-major.
    data_home : str or Path, default=None
        Directory of the named files (same values as ``SPARSECODE_DATA``: the
        directory or its parent with a ``hyperspectral`` sub-directory). None
        searches ``SPARSECODE_DATA``, then ``../shared/data`` next to a source
        checkout, then the scenes installed with the package, then
        ``~/sparsecode_data`` (see ``hyperspectral_data_home``).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``cube`` (rows, cols, bands), ``Y`` (n_pixels, bands) row-major,
        ``image_shape``, ``endmembers`` (K, bands) or None, ``abundances``
        (n_pixels, K) row-major or None, ``names`` (list or None), and
        ``wavelengths`` when known.

    See Also
    --------
    make_hyperspectral_mixture : synthetic scenes.

    Notes
    -----
    The Samson ground-truth endmembers are max-normalised per column: compare
    them with scale-invariant metrics (spectral angle).

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, os
    >>> from sparsecode.datasets import load_hyperspectral
    >>> d = tempfile.mkdtemp()
    >>> scipy.io.savemat(os.path.join(d, "s.mat"), {"Y": np.ones((5, 6)), "nRow": 2, "nCol": 3})
    >>> load_hyperspectral(os.path.join(d, "s.mat")).cube.shape
    (2, 3, 5)
    """
    key = str(name).lower()
    if key in _NAMES:
        fname, names = _NAMES[key]
        homes = _candidate_homes(data_home)
        path = next((p / fname for _, p in homes if (p / fname).is_file()), None)
        if path is None:
            looked = "; ".join(f"{label}: {p / fname}" for label, p in homes)
            raise FileNotFoundError(
                f"{fname} ({name!r}) not found. Looked in {looked}. Put the converted "
                f"hyperspectral files in one of these, set the SPARSECODE_DATA environment "
                f"variable to their directory, or pass data_home=."
            )
    else:
        path, names = Path(name), None
        if not path.exists():
            raise FileNotFoundError(f"{path} not found (and {name!r} is not a known scene: "
                                    f"{sorted(_NAMES)}).")
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            d = {k: f[k] for k in f.files}
    elif path.suffix == ".mat":
        from scipy.io import loadmat

        d = {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    else:
        raise ValueError(f"unsupported file type {path.suffix!r}; expected .npz or .mat.")
    return _from_dict(d, names)


def _scalar(d, *keys):
    for k in keys:
        if k in d:
            return int(np.asarray(d[k]).ravel()[0])
    return None


def _from_dict(d, names=None):
    if "im" in d and np.asarray(d["im"]).ndim == 3:
        cube = np.asarray(d["im"], dtype=float)
        rows, cols, L = cube.shape
        Yf = cube.reshape(rows * cols, L, order="F").T
    else:
        ykey = next((k for k in ("Y", "V", "X") if k in d), None)
        if ykey is None:
            raise ValueError(f"no data matrix found (looked for Y, V, X, im); keys: {sorted(d)}.")
        Yf = np.asarray(d[ykey])
        if np.issubdtype(Yf.dtype, np.integer):
            Yf = Yf.astype(float) / float(np.asarray(d.get("maxValue", Yf.max())).ravel()[0])
        Yf = np.asarray(Yf, dtype=float)
        L, N = Yf.shape
        if "shape" in d:
            rows, cols = (int(v) for v in np.asarray(d["shape"]).ravel()[:2])
        else:
            rows = _scalar(d, "nRow", "lines", "nrow", "rows")
            cols = _scalar(d, "nCol", "cols", "ncol", "columns")
            if rows is None and cols is None and "S_GT" in d:
                rows, cols = np.asarray(d["S_GT"]).shape[:2]
            if rows is None or cols is None:
                side = round(np.sqrt(N))
                if side * side != N:
                    raise ValueError("image size unknown: the file has no nRow/nCol/lines/cols and "
                                     f"{N} pixels is not a square.")
                rows = cols = side
        if rows * cols != N:
            raise ValueError(f"image size {rows}x{cols} does not match {N} pixels.")
    # ground truth
    M = A = None
    if "M" in d and np.asarray(d["M"]).shape[0] == L:
        M = np.asarray(d["M"], dtype=float).T
    elif "GT" in d:
        GT = np.asarray(d["GT"], dtype=float)
        M = GT if GT.shape[1] == L else GT.T
    if "A" in d:
        Af = np.asarray(d["A"], dtype=float)
        A = Af.T.reshape(rows, cols, -1, order="F").reshape(rows * cols, -1)
    elif "S_GT" in d:
        S = np.asarray(d["S_GT"], dtype=float)
        A = S.reshape(rows * cols, -1)
    if names is None and "names" in d and M is not None and len(d["names"]) == M.shape[0]:
        names = [str(s) for s in d["names"]]
    cube = Yf.T.reshape(rows, cols, L, order="F")
    out = Bunch(cube=cube, Y=cube.reshape(rows * cols, L), image_shape=(rows, cols),
                endmembers=M, abundances=A, names=names if M is not None else None)
    if "wavelength_um" in d:
        out.wavelengths = np.asarray(d["wavelength_um"])
    return out


_ENVI_SUFFIXES = (".hdr", ".img", ".dat", ".raw", ".bsq", ".bil", ".bip", ".bin", "")


def _cache_dir(data_home=None):
    """``<data_home>/cache``, else ``$SPARSECODE_DATA/cache``, else
    ``~/sparsecode_data/cache`` (never the shipped data directory)."""
    if data_home is not None:
        base = Path(os.path.expandvars(os.path.expanduser(os.fspath(data_home))))
    elif os.environ.get("SPARSECODE_DATA"):
        base = Path(os.path.expandvars(os.path.expanduser(os.environ["SPARSECODE_DATA"])))
    else:
        base = Path(os.path.expanduser("~")) / "sparsecode_data"
    return base / "cache"


def _cache_key(path):
    st = path.stat()
    h = hashlib.sha1(f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()
    return f"{path.stem}-{h[:12]}.npz"


def _is_url(name):
    return isinstance(name, str) and "://" in name


def _fetch(url, data_home):
    """Download ``url`` once into the cache directory (``file://`` works too)."""
    from urllib.parse import urlparse
    from urllib.request import urlopen

    base = os.path.basename(urlparse(url).path) or "download"
    tag = hashlib.sha1(url.encode()).hexdigest()[:12]
    dest = _cache_dir(data_home) / "downloads" / f"{tag}-{base}"
    if not dest.is_file():
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        with urlopen(url) as r, open(tmp, "wb") as f:  # noqa: S310 (the user's own URL)
            while True:
                chunk = r.read(1 << 20)
                if not chunk:
                    break
                f.write(chunk)
        os.replace(tmp, dest)
    return dest


def _loadmat_any(path):
    """All arrays of a MATLAB file as a dict; v7.3 (HDF5) through h5py."""
    from scipy.io import loadmat

    try:
        return {k: v for k, v in loadmat(path).items() if not k.startswith("__")}
    except NotImplementedError:  # scipy: "Please use HDF reader for matlab v7.3 files"
        pass
    try:
        import h5py
    except ImportError:
        raise ImportError(
            f"{path} is a MATLAB v7.3 (HDF5) file; reading it needs h5py: `pip install h5py` "
            f"(or save it again in MATLAB with save(..., '-v7'))."
        ) from None
    out = {}
    with h5py.File(path, "r") as f:
        for k, v in f.items():
            if isinstance(v, h5py.Dataset) and not k.startswith("#"):
                out[k] = np.asarray(v[()]).T  # HDF5 stores MATLAB arrays transposed
    return out


def _largest_cube(d, variable):
    if variable is not None:
        if variable not in d:
            raise ValueError(f"variable {variable!r} not in the file; it holds {sorted(d)}.")
        cube = np.asarray(d[variable])
        if cube.ndim != 3:
            raise ValueError(f"variable {variable!r} has shape {cube.shape}; expected a cube "
                             f"(rows, cols, bands).")
        return cube
    cubes = {k: np.asarray(v) for k, v in d.items()
             if np.asarray(v).ndim == 3 and np.issubdtype(np.asarray(v).dtype, np.number)}
    if not cubes:
        raise ValueError(f"no cube (rows, cols, bands) and no known layout (Y/V/X matrix, im) in "
                         f"the file; it holds {sorted(d)}. Pass variable=.")
    return cubes[max(cubes, key=lambda k: cubes[k].size)]


def _cube_bunch(cube, wavelengths=None, **extra):
    cube = np.asarray(cube)
    dtype = np.float32 if cube.dtype == np.float32 else np.float64
    cube = np.ascontiguousarray(cube, dtype=dtype)
    rows, cols, L = cube.shape
    if wavelengths is not None:
        wavelengths = np.asarray(wavelengths, dtype=float).ravel()
        if wavelengths.size != L:
            wavelengths = None
    out = Bunch(cube=cube, Y=cube.reshape(rows * cols, L), image_shape=(rows, cols),
                wavelengths=wavelengths, endmembers=None, abundances=None, names=None)
    out.update(extra)
    return out


def _read_envi(path):
    try:
        from spectral import envi
    except ImportError:
        raise ImportError(
            f"reading the ENVI file {path} needs the 'spectral' package: `pip install spectral` "
            f"(or convert it to .mat / .npz)."
        ) from None
    if path.suffix.lower() == ".hdr":
        hdr = path
        image = next((path.with_suffix(s) for s in _ENVI_SUFFIXES[1:]
                      if path.with_suffix(s).is_file() and s != ".hdr"), None)
    else:
        hdr = next((p for p in (path.with_suffix(".hdr"), Path(str(path) + ".hdr"))
                    if p.is_file()), None)
        image = path
        if hdr is None:
            raise FileNotFoundError(f"no ENVI header ({path.with_suffix('.hdr').name}) next to "
                                    f"{path}.")
    img = envi.open(str(hdr), None if image is None else str(image))
    cube = np.asarray(img.load())
    wl = getattr(getattr(img, "bands", None), "centers", None)
    if wl is None:
        wl = img.metadata.get("wavelength")
    return _cube_bunch(cube, wl)


def _read_file(path, variable):
    suffix = path.suffix.lower()
    if suffix in (".mat", ".npz"):
        if suffix == ".mat":
            d = _loadmat_any(path)
        else:
            with np.load(path, allow_pickle=False) as f:
                d = {k: f[k] for k in f.files}
        wl = next((d[k] for k in ("wavelengths", "wavelength", "wavelength_um", "wavelength_nm")
                   if k in d), None)
        if variable is None:
            try:
                out = _from_dict(d)
            except ValueError as exc:
                if "no data matrix found" not in str(exc):
                    raise
            else:
                out.setdefault("wavelengths", None if wl is None else np.asarray(wl).ravel())
                return out
        return _cube_bunch(_largest_cube(d, variable), wl)
    if suffix in _ENVI_SUFFIXES:
        return _read_envi(path)
    raise ValueError(f"unsupported file type {path.suffix!r}: expected .mat, .npz or ENVI "
                     f"(.hdr with its binary file).")


def load_hyperspectral_file(path, *, cache=True, data_home=None, variable=None):
    """Load a user's hyperspectral cube: MATLAB, NumPy or ENVI file, or a URL.

    Parameters
    ----------
    path : str or Path
        A ``.mat`` file (v7.3 / HDF5 ones need ``h5py``), an ``.npz`` file, an
        ENVI image (its ``.hdr`` header or the binary file beside it; needs
        the ``spectral`` package), or a URL (``http(s)://``, ``file://``) of
        one of these, downloaded once into the cache directory. The usual
        unmixing layouts (see ``load_hyperspectral``) are recognised;
        otherwise the largest 3-D array is the cube, ``(rows, cols, bands)``.
    cache : bool, default=True
        Keep the parsed cube of a ``.mat`` or ENVI file as ``.npz`` in the
        cache directory, keyed by the file's absolute path, size and
        modification time; later calls read that copy. ``.npz`` files are
        read directly.
    data_home : str or Path, default=None
        The cache lives in ``<data_home>/cache``; None uses
        ``$SPARSECODE_DATA/cache`` or ``~/sparsecode_data/cache``.
    variable : str, default=None
        Name of the cube in a ``.mat`` / ``.npz`` file (when it holds several
        or a non-standard layout).

    Returns
    -------
    data : sklearn.utils.Bunch
        ``cube`` (rows, cols, bands), ``Y`` (n_pixels, bands), a row-major
        view of the cube, ``image_shape``, ``wavelengths`` (or None),
        ``endmembers``, ``abundances`` and ``names`` (ground truth when the
        file has it, else None), ``source`` (the file read) and ``cache_file``
        (the cached copy or None).

    Raises
    ------
    ImportError
        An ENVI file without ``spectral`` installed, or a MATLAB v7.3 file
        without ``h5py``; the message says what to install.
    FileNotFoundError
        ``path`` (or an ENVI header) does not exist.
    ValueError
        Unknown file type, or no cube in the file.

    See Also
    --------
    load_hyperspectral : the bundled scenes by name.

    Examples
    --------
    >>> import numpy as np, scipy.io, tempfile, os
    >>> from sparsecode.datasets import load_hyperspectral_file
    >>> d = tempfile.mkdtemp()
    >>> cube = np.arange(24.0).reshape(2, 3, 4)
    >>> scipy.io.savemat(os.path.join(d, "scene.mat"), {"paviaU": cube})
    >>> data = load_hyperspectral_file(os.path.join(d, "scene.mat"), data_home=d)
    >>> data.cube.shape, data.image_shape, bool(np.array_equal(data.cube, cube))
    ((2, 3, 4), (2, 3), True)
    >>> data.cache_file is not None
    True
    """
    if _is_url(path):
        path = _fetch(str(path), data_home)
    path = Path(os.path.expanduser(os.fspath(path)))
    if not path.exists():
        raise FileNotFoundError(f"{path} not found.")
    if path.suffix.lower() == ".npz" or not cache:
        out = _read_file(path, variable)
        out.source, out.cache_file = str(path), None
        return out
    cfile = _cache_dir(data_home) / (_cache_key(path) if variable is None
                                      else _cache_key(path)[:-4] + f"-{variable}.npz")
    if cfile.is_file():
        with np.load(cfile, allow_pickle=False) as f:
            d = {k: f[k] for k in f.files}
        extra = {k: d.get(k) for k in ("endmembers", "abundances")}
        if "names" in d:
            extra["names"] = [str(v) for v in d["names"]]
        out = _cube_bunch(d["cube"], d.get("wavelengths"), **extra)
        out.source, out.cache_file = str(path), str(cfile)
        return out
    out = _read_file(path, variable)
    keep = {k: np.asarray(out[k]) for k in ("cube", "wavelengths", "endmembers", "abundances",
                                            "names") if out.get(k) is not None}
    try:
        cfile.parent.mkdir(parents=True, exist_ok=True)
        tmp = cfile.with_name(cfile.stem + ".part.npz")
        np.savez(tmp, **keep)
        os.replace(tmp, cfile)
        out.cache_file = str(cfile)
    except OSError as exc:
        warnings.warn(f"could not write the cache file {cfile} ({exc}); reading from {path} "
                      f"each time.", UserWarning, stacklevel=2)
        out.cache_file = None
    out.source = str(path)
    return out
