"""``sparsecode unmix --method``: extraction + FCLS, and library sparse unmixing (--library)."""

import numpy as np
import pytest

from sparsecode.cli import main
from sparsecode.unmixing import sunsal


@pytest.fixture
def library_scene(tmp_path):
    rng = np.random.default_rng(0)
    lib = rng.uniform(0.05, 1.0, size=(10, 30))          # (n_spectra, n_bands)
    A = np.zeros((36, 10))
    A[:, [1, 4, 7]] = rng.dirichlet(np.ones(3), size=36)
    cube = (A @ lib).reshape(6, 6, 30)
    np.savez(tmp_path / "cube.npz", Y=cube)
    np.savez(tmp_path / "lib.npz", D=lib.T, names=np.array([f"s{i}" for i in range(10)]))
    np.save(tmp_path / "lib.npy", lib)
    return tmp_path, cube, lib, A


@pytest.mark.parametrize("method", ["sunsal", "clsunsal", "sunsal_tv"])
def test_library_methods_write_abundance_cubes(library_scene, method, capsys):
    d, cube, lib, A = library_scene
    out = d / f"{method}.npz"
    rc = main(["unmix", str(d / "cube.npz"), "-m", method, "--library", str(d / "lib.npz"),
               "--alpha", "1e-5", "--alpha-tv", "1e-5", "-q", "-o", str(out)])
    assert rc == 0
    r = np.load(out)
    assert r["abundances"].shape == (6, 6, 10)
    np.testing.assert_allclose(r["library"], lib)          # bands x spectra file transposed
    est = r["abundances"].reshape(36, 10)
    assert np.abs(est - A).max() < 0.05                    # noiseless data, tiny penalty
    stdout = capsys.readouterr().out
    assert "s1" in stdout and "library spectra used" in stdout


def test_sunsal_cli_equals_function(library_scene):
    d, cube, lib, _ = library_scene
    out = d / "r.npz"
    assert main(["unmix", str(d / "cube.npz"), "-m", "sunsal", "--library", str(d / "lib.npy"),
                 "--alpha", "0.01", "-q", "-o", str(out)]) == 0
    np.testing.assert_allclose(np.load(out)["abundances"], sunsal(cube, lib, alpha=0.01))


def test_library_method_errors(library_scene, capsys):
    d, cube, lib, _ = library_scene
    assert main(["unmix", str(d / "cube.npz"), "-m", "sunsal"]) == 2
    assert "--library" in capsys.readouterr().err
    np.save(d / "bad.npy", lib[:, :20])
    assert main(["unmix", str(d / "cube.npz"), "-m", "sunsal", "--library",
                 str(d / "bad.npy")]) == 2
    assert "--library" in capsys.readouterr().err
    neg = lib.copy()
    neg[0, 0] = -1.0
    np.save(d / "neg.npy", neg)
    assert main(["unmix", str(d / "cube.npz"), "-m", "sunsal", "--library",
                 str(d / "neg.npy")]) == 2
    assert "negative" in capsys.readouterr().err
    assert main(["unmix", str(d / "cube.npz"), "-m", "vca", "--library",
                 str(d / "lib.npy")]) == 2
    assert "--library" in capsys.readouterr().err
    assert main(["unmix", str(d / "cube.npz"), "-m", "vca"]) == 2
    assert "-k" in capsys.readouterr().err
    np.savez(d / "mat.npz", Y=cube.reshape(36, 30))
    assert main(["unmix", str(d / "mat.npz"), "-m", "sunsal_tv", "--library",
                 str(d / "lib.npy")]) == 2
    assert "image" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["vca", "nfindr", "atgp", "ppi", "sisal"])
def test_extraction_methods_with_fcls(tmp_path, method):
    rng = np.random.default_rng(1)
    E = rng.uniform(0.1, 1.0, size=(3, 25))
    A = rng.dirichlet(np.ones(3) * 0.5, size=64)
    A[:3] = np.eye(3)                                      # pure pixels
    np.savez(tmp_path / "c.npz", Y=(A @ E).reshape(8, 8, 25))
    out = tmp_path / "r.npz"
    assert main(["unmix", str(tmp_path / "c.npz"), "-m", method, "-k", "3", "-q",
                 "-o", str(out)]) == 0
    r = np.load(out)
    assert r["endmembers"].shape == (3, 25)
    ab = r["abundances"]
    assert ab.shape == (8, 8, 3)
    np.testing.assert_allclose(ab.sum(axis=-1), 1.0, atol=1e-6)   # FCLS
    assert ab.min() >= 0


def test_auto_endmembers_uses_the_subspace_estimate(tmp_path):
    from sparsecode.unmixing import estimate_n_endmembers

    rng = np.random.default_rng(2)
    E = rng.uniform(0.1, 1.0, size=(3, 25))
    Y = rng.dirichlet(np.ones(3), size=400) @ E + 1e-3 * rng.standard_normal((400, 25))
    np.savez(tmp_path / "c.npz", Y=Y.reshape(20, 20, 25))
    out = tmp_path / "r.npz"
    assert main(["unmix", str(tmp_path / "c.npz"), "-m", "vca", "-k", "auto", "-q",
                 "-o", str(out)]) == 0
    assert np.load(out)["endmembers"].shape[0] == estimate_n_endmembers(Y)


@pytest.mark.parametrize("method", ["vca", "sunsal"])
def test_plot_endmembers(library_scene, method):
    pytest.importorskip("matplotlib")
    d, cube, lib, _ = library_scene
    extra = ["--library", str(d / "lib.npz")] if method == "sunsal" else ["-k", "3"]
    png = d / f"e_{method}.png"
    assert main(["unmix", str(d / "cube.npz"), "-m", method, "-q", "--plot-endmembers",
                 str(png), "--plot", str(d / f"m_{method}.png"), *extra]) == 0
    assert png.stat().st_size > 0 and (d / f"m_{method}.png").stat().st_size > 0
    assert main(["unmix", str(d / "cube.npz"), "-m", method, "-q", "--plot-endmembers",
                 str(d / "x.png"), "--plot", str(d / "x.png"), *extra]) == 2
