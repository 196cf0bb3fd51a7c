"""The ``sparsecode`` command line."""

import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from sparsecode import sparse_encode
from sparsecode.cli import build_parser, main


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for cmd in ("demo", "encode", "algorithms"):
        assert cmd in out


def test_encode_roundtrip(tmp_path, capsys):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((40, 16))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((25, 16))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "D.npy", D)
    out = tmp_path / "codes.npz"
    assert main(["encode", str(tmp_path / "X.npy"), "--dictionary", str(tmp_path / "D.npy"),
                 "-k", "3", "-o", str(out), "--chunk", "7"]) == 0
    codes = sp.load_npz(out).toarray()
    np.testing.assert_allclose(codes, sparse_encode(X, D, n_nonzero_coefs=3))
    assert "encode (omp)" in capsys.readouterr().err


def test_encode_rejects_mismatched_dictionary(tmp_path, capsys):
    np.save(tmp_path / "X.npy", np.ones((3, 4)))
    np.save(tmp_path / "D.npy", np.ones((5, 6)))
    assert main(["encode", str(tmp_path / "X.npy"), "-D", str(tmp_path / "D.npy"), "-k", "1",
                 "-o", str(tmp_path / "c.npz")]) == 2
    assert "dictionary must be (n_atoms, 4)" in capsys.readouterr().err
    assert not (tmp_path / "c.npz").exists()


def test_demo_table(capsys):
    assert main(["demo", "--n-measurements", "32", "--n-features", "64", "-k", "3",
                 "--n-signals", "4"]) == 0
    out = capsys.readouterr().out
    assert "omp" in out and "NMSE" in out
    # every registered algorithm ran (no "failed" row)
    assert "failed" not in out


def test_algorithms_and_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "sparsecode", "algorithms"],
                         capture_output=True, text=True, check=True)
    assert "omp" in res.stdout
    assert build_parser().prog == "sparsecode"
