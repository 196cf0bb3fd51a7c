"""``load_hyperspectral_file`` (issue 16): users' own .mat / .npz / ENVI files and URLs,
cube in and cube out, with a cache directory."""

import builtins
import os

import numpy as np
import pytest
import scipy.io

from sparsecode.datasets import load_hyperspectral_file


@pytest.fixture
def cube():
    return np.random.default_rng(0).uniform(0, 1, (3, 4, 5))


def test_mat_round_trip_and_cache(tmp_path, cube):
    f = tmp_path / "scene.mat"
    scipy.io.savemat(f, {"indian_pines": cube, "small": np.ones((2, 2, 2)),
                         "wavelengths": np.linspace(0.4, 2.5, 5)})
    home = tmp_path / "home"
    d = load_hyperspectral_file(f, data_home=home)
    np.testing.assert_array_equal(d.cube, cube)
    assert d.image_shape == (3, 4)
    np.testing.assert_array_equal(d.Y, cube.reshape(12, 5))
    np.testing.assert_allclose(d.wavelengths, np.linspace(0.4, 2.5, 5))
    assert d.cache_file is not None and os.path.dirname(d.cache_file) == str(home / "cache")
    # the second call reads the cache, not the file: make the file unreadable by scipy
    mtime = f.stat().st_mtime_ns
    d2 = load_hyperspectral_file(f, data_home=home)
    assert d2.cache_file == d.cache_file
    np.testing.assert_array_equal(d2.cube, cube)
    np.testing.assert_allclose(d2.wavelengths, d.wavelengths)
    # a changed file gets a new cache entry
    scipy.io.savemat(f, {"indian_pines": 2 * cube})
    os.utime(f, ns=(mtime + 10**9, mtime + 10**9))
    d3 = load_hyperspectral_file(f, data_home=home)
    assert d3.cache_file != d.cache_file
    np.testing.assert_array_equal(d3.cube, 2 * cube)
    assert d3.wavelengths is None


def test_cache_is_used(tmp_path, cube, monkeypatch):
    f = tmp_path / "scene.mat"
    scipy.io.savemat(f, {"cube": cube})
    load_hyperspectral_file(f, data_home=tmp_path)

    def boom(*a, **k):
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(scipy.io, "loadmat", boom)
    np.testing.assert_array_equal(load_hyperspectral_file(f, data_home=tmp_path).cube, cube)
    with pytest.raises(AssertionError, match="parsed again"):
        load_hyperspectral_file(f, data_home=tmp_path, cache=False)


def test_mat_known_layout_with_ground_truth(tmp_path):
    rng = np.random.default_rng(1)
    M = rng.uniform(0.1, 1, (5, 2))
    A = rng.dirichlet(np.ones(2), size=6).T
    f = tmp_path / "gt.mat"
    scipy.io.savemat(f, {"Y": M @ A, "M": M, "A": A, "nRow": 2, "nCol": 3})
    d = load_hyperspectral_file(f, data_home=tmp_path)
    assert d.cube.shape == (2, 3, 5)
    np.testing.assert_allclose(d.endmembers, M.T)
    np.testing.assert_allclose(d.Y, d.abundances @ d.endmembers, atol=1e-12)
    again = load_hyperspectral_file(f, data_home=tmp_path)  # from the cache
    np.testing.assert_allclose(again.abundances, d.abundances)


def test_npz_and_variable(tmp_path, cube):
    f = tmp_path / "scene.npz"
    np.savez(f, a=cube, b=cube[:, :, :2].astype(np.float32))
    d = load_hyperspectral_file(f)
    np.testing.assert_array_equal(d.cube, cube)
    assert d.cache_file is None
    b = load_hyperspectral_file(f, variable="b")
    assert b.cube.dtype == np.float32 and b.cube.shape == (3, 4, 2)
    with pytest.raises(ValueError, match="variable 'zz' not in the file"):
        load_hyperspectral_file(f, variable="zz")


def test_file_url_is_fetched_into_the_cache(tmp_path, cube):
    f = tmp_path / "remote.npz"
    np.savez(f, cube=cube)
    d = load_hyperspectral_file(f.as_uri(), data_home=tmp_path / "h")
    np.testing.assert_array_equal(d.cube, cube)
    assert (tmp_path / "h" / "cache" / "downloads").is_dir()


def test_v73_mat_without_h5py_says_what_to_install(tmp_path, monkeypatch):
    # a MATLAB 7.3 header: scipy refuses it and points to an HDF5 reader
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    f = tmp_path / "v73.mat"
    f.write_bytes(head.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM" + b"\x00" * 384)
    real_import = builtins.__import__

    def no_h5py(name, *a, **k):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match="pip install h5py"):
        load_hyperspectral_file(f, cache=False)


def test_v73_mat_round_trip_with_h5py(tmp_path, cube):
    h5py = pytest.importorskip("h5py")
    f = tmp_path / "v73.mat"
    with h5py.File(f, "w", userblock_size=512) as h:
        # MATLAB stores arrays column-major: HDF5 sees the dimensions reversed
        h["pavia"] = cube.T
        h["wavelengths"] = np.linspace(0.4, 0.8, 5)[None, :].T
    head = b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 2024 HDF5"
    with open(f, "r+b") as fh:
        fh.write(head.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM")
    d = load_hyperspectral_file(f, data_home=tmp_path)
    np.testing.assert_array_equal(d.cube, cube)
    np.testing.assert_allclose(d.wavelengths, np.linspace(0.4, 0.8, 5))


def _write_envi(tmp_path, cube):
    rows, cols, bands = cube.shape
    hdr = tmp_path / "scene.hdr"
    hdr.write_text(
        "ENVI\n"
        f"samples = {cols}\nlines = {rows}\nbands = {bands}\nheader offset = 0\n"
        "file type = ENVI Standard\ndata type = 4\ninterleave = bsq\nbyte order = 0\n"
        "wavelength = {" + ", ".join(str(w) for w in np.arange(bands) * 10.0 + 400) + "}\n"
    )
    # band sequential, little-endian float32
    np.ascontiguousarray(cube.transpose(2, 0, 1), dtype="<f4").tofile(tmp_path / "scene.img")
    return hdr


def test_envi_round_trip(tmp_path, cube):
    pytest.importorskip("spectral")
    hdr = _write_envi(tmp_path, cube)
    for p in (hdr, tmp_path / "scene.img"):
        d = load_hyperspectral_file(p, data_home=tmp_path / "h")
        np.testing.assert_allclose(d.cube, cube.astype(np.float32))
        np.testing.assert_allclose(d.wavelengths, np.arange(5) * 10.0 + 400)
        assert d.image_shape == (3, 4)


def test_envi_without_spectral_says_pip_install_spectral(tmp_path, cube, monkeypatch):
    hdr = _write_envi(tmp_path, cube)
    monkeypatch.setitem(__import__("sys").modules, "spectral", None)  # import -> ImportError
    with pytest.raises(ImportError, match="pip install spectral"):
        load_hyperspectral_file(hdr, cache=False)


def test_bad_inputs(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_hyperspectral_file(tmp_path / "missing.mat")
    f = tmp_path / "x.csv"
    f.write_text("1,2")
    with pytest.raises(ValueError, match="unsupported file type"):
        load_hyperspectral_file(f)
    g = tmp_path / "flat.npz"
    np.savez(g, q=np.ones((3, 3)))
    with pytest.raises(ValueError, match="no cube"):
        load_hyperspectral_file(g)
