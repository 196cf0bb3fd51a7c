"""Regression tests (issue 11, item 13): where ``load_hyperspectral`` finds its files.

After a non-editable ``pip install .`` the default data home resolved inside
site-packages, and ``data_home=`` did not accept what ``SPARSECODE_DATA`` accepts
(a parent directory with a ``hyperspectral`` sub-directory, ``~``).
"""

import numpy as np
import pytest

from sparsecode.datasets import _hyperspectral as hs
from sparsecode.datasets import hyperspectral_data_home, load_hyperspectral


def _write_scene(directory):
    """A tiny scene in the shipped layout (bands x pixels, column-major, with truth)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    M = rng.uniform(0.1, 1.0, (5, 2))
    A = rng.dirichlet(np.ones(2), size=6).T
    np.savez(directory / "samson.npz", Y=(M @ A).astype(np.float32), M=M, A=A,
             shape=np.array([2, 3]))
    return M @ A


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """As after ``pip install .``: no source tree, no SPARSECODE_DATA, an empty home."""
    monkeypatch.setattr(hs, "_source_tree_home", lambda: None)
    monkeypatch.setattr(hs, "_package_home", lambda: tmp_path / "pkg" / "hyperspectral")
    monkeypatch.delenv("SPARSECODE_DATA", raising=False)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_installed_package_has_no_source_tree_home(tmp_path):
    # the old default was <site-packages>/../shared/data/hyperspectral
    fake = tmp_path / "lib" / "site-packages" / "sparsecode" / "datasets" / "_hyperspectral.py"
    assert hs._source_tree_home(fake) is None
    repo = tmp_path / "repo"
    (repo / "sparsecode" / "datasets").mkdir(parents=True)
    (repo / "pyproject.toml").write_text("")
    got = hs._source_tree_home(repo / "sparsecode" / "datasets" / "_hyperspectral.py")
    assert got == (tmp_path / "shared" / "data" / "hyperspectral").resolve()


def test_not_found_error_lists_where_it_looked(installed):
    with pytest.raises(FileNotFoundError) as exc:
        load_hyperspectral("samson")
    msg = str(exc.value)
    assert "SPARSECODE_DATA" in msg and "data_home" in msg
    assert str(installed / "sparsecode_data" / "hyperspectral" / "samson.npz") in msg
    assert "site-packages" not in msg


def test_user_data_directory_is_searched(installed):
    Y = _write_scene(installed / "sparsecode_data" / "hyperspectral")
    d = load_hyperspectral("samson")
    np.testing.assert_allclose(d.Y, Y.T.reshape(2, 3, 5, order="F").reshape(6, 5), rtol=1e-6)
    assert hyperspectral_data_home() == installed / "sparsecode_data" / "hyperspectral"


@pytest.mark.parametrize("sub", [True, False])
def test_data_home_accepts_what_the_environment_variable_accepts(installed, tmp_path,
                                                                 monkeypatch, sub):
    root = tmp_path / "data"
    _write_scene(root / "hyperspectral" if sub else root)
    monkeypatch.setenv("SPARSECODE_DATA", str(root))
    via_env = load_hyperspectral("samson")
    monkeypatch.delenv("SPARSECODE_DATA")
    via_arg = load_hyperspectral("samson", data_home=root)
    np.testing.assert_array_equal(via_env.Y, via_arg.Y)
    # '~' is expanded in both
    _write_scene(installed / "mine" / "hyperspectral" if sub else installed / "mine")
    assert load_hyperspectral("samson", data_home="~/mine").Y.shape == (6, 5)
    monkeypatch.setenv("SPARSECODE_DATA", "~/mine")
    assert load_hyperspectral("samson").Y.shape == (6, 5)


def test_environment_variable_comes_first(installed, tmp_path, monkeypatch):
    _write_scene(installed / "sparsecode_data" / "hyperspectral")
    env_dir = tmp_path / "env"
    Y_env = _write_scene(env_dir) * 2.0
    np.savez(env_dir / "samson.npz", Y=Y_env.astype(np.float32), shape=np.array([2, 3]))
    monkeypatch.setenv("SPARSECODE_DATA", str(env_dir))
    d = load_hyperspectral("samson")
    assert d.endmembers is None  # the file written last, in SPARSECODE_DATA


def test_explicit_data_home_is_not_mixed_with_defaults(installed, tmp_path):
    _write_scene(installed / "sparsecode_data" / "hyperspectral")
    with pytest.raises(FileNotFoundError, match="data_home"):
        load_hyperspectral("samson", data_home=tmp_path / "empty")


def test_scenes_installed_with_the_package_are_found(installed, tmp_path):
    # ``pip install .`` copies ../shared/data/hyperspectral into the package
    # (setup.py's build_py): found before the (empty) user data directory.
    Y = _write_scene(tmp_path / "pkg" / "hyperspectral")
    d = load_hyperspectral("samson")
    np.testing.assert_allclose(d.Y, Y.T.reshape(2, 3, 5, order="F").reshape(6, 5), rtol=1e-6)
    assert hyperspectral_data_home() == tmp_path / "pkg" / "hyperspectral"


def test_package_home_is_inside_the_package():
    assert hs._package_home().parts[-4:] == ("sparsecode", "datasets", "data", "hyperspectral")
