"""Regressions of the ``sparsecode`` command (issue 11, "Command line").

Library errors print one line and exit 2; ``--debug`` shows the traceback;
unmix reads .npy/.npz/.mat; ``--image-shape`` is validated; output paths are
checked before computing; demo rows stream; progress goes to stderr.
"""

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import sparsecode._registry as registry
import sparsecode.dictionary as dictionary_pkg
import sparsecode.unmixing as unmixing_pkg
from sparsecode.cli import build_parser, main
from sparsecode.datasets import make_hyperspectral_mixture
from sparsecode.metrics import match_components, spectral_angle_distance


def _err_lines(capsys):
    captured = capsys.readouterr()
    return captured.out, [line for line in captured.err.splitlines() if line.strip()]


@pytest.fixture
def coding_files(tmp_path):
    rng = np.random.default_rng(0)
    D = rng.standard_normal((12, 6))
    np.save(tmp_path / "X.npy", rng.standard_normal((5, 6)))
    np.save(tmp_path / "D.npy", D / np.linalg.norm(D, axis=1, keepdims=True))
    return tmp_path


@pytest.fixture
def scene(tmp_path):
    """A noiseless 3-endmember 6x5 scene with 20 bands: matrix (30, 20) and truth."""
    Y, M, A, _ = make_hyperspectral_mixture(3, 20, (6, 5), random_state=0)
    return tmp_path, Y, M, A


@pytest.fixture
def forbid_compute(monkeypatch):
    """Make any call of the expensive parts fail the test."""
    def boom(*args, **kwargs):
        raise AssertionError("computation started before the output paths were checked")

    monkeypatch.setattr(unmixing_pkg, "vca", boom)
    monkeypatch.setattr(unmixing_pkg, "fcls", boom)
    monkeypatch.setattr(dictionary_pkg, "sparse_encode", boom)


# ----------------------------------------------------------------------------
# 1. one line, exit 2; --debug re-raises
# ----------------------------------------------------------------------------
def test_library_error_is_one_line_and_exit_2(coding_files, capsys):
    d = coding_files
    rc = main(["encode", str(d / "X.npy"), "-D", str(d / "D.npy"), "-k", "2",
               "-a", "no_such_algorithm", "-o", str(d / "c.npz")])
    out, err = _err_lines(capsys)
    assert rc == 2 and out == ""
    assert len(err) == 1 and err[0].startswith("sparsecode: error: ")
    assert "no_such_algorithm" in err[0]


def test_missing_input_file_is_one_line(tmp_path, capsys):
    rc = main(["encode", str(tmp_path / "missing.npy"), "-D", str(tmp_path / "D.npy"),
               "-o", str(tmp_path / "c.npz")])
    _, err = _err_lines(capsys)
    assert rc == 2 and len(err) == 1
    assert "no such file" in err[0] and "missing.npy" in err[0]


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_exception(coding_files, where):
    d = coding_files
    args = ["encode", str(d / "X.npy"), "-D", str(d / "D.npy"), "-k", "2",
            "-a", "no_such_algorithm", "-o", str(d / "c.npz")]
    args = ["--debug"] + args if where == "before" else args + ["--debug"]
    with pytest.raises(ValueError, match="no_such_algorithm"):
        main(args)


def test_internal_error_is_one_line_exit_1(monkeypatch, capsys):
    def broken():
        raise RuntimeError("registry is broken")

    monkeypatch.setattr(registry, "available_encoders", broken)
    assert main(["algorithms"]) == 1
    _, err = _err_lines(capsys)
    assert len(err) == 1 and "internal error" in err[0] and "--debug" in err[0]
    with pytest.raises(RuntimeError, match="registry is broken"):
        main(["--debug", "algorithms"])


def test_exit_status_through_python_m(tmp_path):
    # the real process: exit status 2 and a single stderr line, no traceback
    np.save(tmp_path / "X.npy", np.ones((3, 4)))
    np.save(tmp_path / "D.npy", np.ones((5, 6)))
    res = subprocess.run([sys.executable, "-m", "sparsecode", "encode", str(tmp_path / "X.npy"),
                          "-D", str(tmp_path / "D.npy"), "-k", "1", "-o",
                          str(tmp_path / "c.npz")], capture_output=True, text=True)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert lines[0].startswith("sparsecode: error: -D/--dictionary must be (n_atoms, 4)")
    assert res.stdout == ""


def test_warnings_are_one_line(scene, monkeypatch, capsys):
    d, Y, _, _ = scene
    np.savez(d / "y.npz", Y=Y.reshape(6, 5, 20))

    def show(message, category, filename, lineno, file=None, line=None):
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    monkeypatch.setattr(warnings, "showwarning", show)   # what Python does outside pytest
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["unmix", str(d / "y.npz"), "-k", "3", "-m", "nmf", "--max-iter", "1",
                     "-q"]) == 0
    _, err = _err_lines(capsys)
    conv = [line for line in err if "ConvergenceWarning" in line]
    assert conv and all(line.startswith("sparsecode: warning: ") for line in conv)
    assert not any("warnings.warn" in line or ".py:" in line for line in err)


# ----------------------------------------------------------------------------
# --help of every command
# ----------------------------------------------------------------------------
def test_top_level_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--debug" in out and "unmix" in out


@pytest.mark.parametrize("command", sorted(
    build_parser()._subparsers._group_actions[0].choices))
def test_each_subcommand_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: sparsecode {command}") and "--debug" in out


def test_no_command_is_an_error(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "a command is required" in captured.err


@pytest.mark.parametrize("argv", [["demo", "-k", "0"], ["demo", "--n-signals", "-3"],
                                  ["demo", "--snr", "nan"]])
def test_demo_bad_numbers_are_usage_errors(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "expected" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# 2. unmix reads .npy (matrix and cube), .npz and .mat
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["matrix", "cube"])
def test_unmix_reads_npy(scene, layout, capsys):
    d, Y, M, _ = scene
    data = Y if layout == "matrix" else Y.reshape(6, 5, 20)
    np.save(d / "y.npy", data)
    rc = main(["unmix", str(d / "y.npy"), "-k", "3", "-m", "vca", "-q", "-o", str(d / "r.npz")])
    assert rc == 0
    res = np.load(d / "r.npz")
    E = res["endmembers"]
    assert spectral_angle_distance(M, E[match_components(M, E)]).max() < 1e-6
    assert res["abundances"].shape == ((30, 3) if layout == "matrix" else (6, 5, 3))


def test_unmix_reads_mat_in_shipped_layout(scene, capsys):
    scipy_io = pytest.importorskip("scipy.io")
    d, Y, M, A = scene
    cube = Y.reshape(6, 5, 20)
    # MATLAB layout: bands x pixels in column-major pixel order, truth M (bands x K), A (K x N)
    Yf = cube.reshape(30, 20, order="F").T
    Af = A.reshape(6, 5, 3).reshape(30, 3, order="F").T
    scipy_io.savemat(d / "scene.mat", {"Y": Yf, "nRow": 6, "nCol": 5, "M": M.T, "A": Af})
    rc = main(["unmix", str(d / "scene.mat"), "-k", "3", "-m", "vca", "-q",
               "-o", str(d / "r.npz")])
    out = capsys.readouterr().out
    assert rc == 0 and "SAD per endmember" in out
    assert np.load(d / "r.npz")["abundances"].shape == (6, 5, 3)
    mean_sad = float(out.split("mean ")[1].split()[0])
    assert mean_sad < 1e-4


def test_unmix_npz_without_known_key_names_the_arrays(tmp_path, capsys):
    np.savez(tmp_path / "two.npz", a=np.ones((4, 3)), b=np.ones((4, 3)))
    assert main(["unmix", str(tmp_path / "two.npz"), "-k", "2"]) == 2
    _, err = _err_lines(capsys)
    assert len(err) == 1 and "--key" in err[0] and "'a'" in err[0]


# ----------------------------------------------------------------------------
# 3. --image-shape
# ----------------------------------------------------------------------------
def test_wrong_image_shape_says_what_is_expected(scene, capsys):
    d, Y, _, _ = scene
    np.savez(d / "y.npz", Y=Y)
    rc = main(["unmix", str(d / "y.npz"), "-k", "3", "-m", "vca", "--image-shape", "7", "7"])
    _, err = _err_lines(capsys)
    assert rc == 2 and len(err) == 1
    assert "ROWS*COLS must equal 30" in err[0] and "49 pixels" in err[0]


def test_image_shape_contradicting_a_cube_is_refused(scene, capsys):
    d, Y, _, _ = scene
    np.savez(d / "c.npz", Y=Y.reshape(6, 5, 20))
    assert main(["unmix", str(d / "c.npz"), "-k", "3", "-m", "vca",
                 "--image-shape", "5", "6"]) == 2
    assert "contradicts" in capsys.readouterr().err


def test_right_image_shape_gives_maps(scene, capsys):
    d, Y, _, _ = scene
    np.save(d / "y.npy", Y)
    assert main(["unmix", str(d / "y.npy"), "-k", "3", "-m", "vca", "-q", "--image-shape", "6",
                 "5", "-o", str(d / "r.npz")]) == 0
    assert np.load(d / "r.npz")["abundances"].shape == (6, 5, 3)


def test_nonfinite_input_is_refused(scene, capsys):
    d, Y, _, _ = scene
    Y = Y.copy()
    Y[3, 4] = np.nan
    np.save(d / "y.npy", Y)
    assert main(["unmix", str(d / "y.npy"), "-k", "3", "-m", "vca"]) == 2
    assert "1 NaN or infinite" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# 4. output paths are checked before computing
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("option,path,expected", [
    ("-o", "nodir/r.npz", "does not exist"),
    ("-o", "r.txt", "must end in .npz"),
    ("-o", "r", "no extension"),
    ("--plot", "nodir/maps.png", "does not exist"),
    ("--plot", "maps.xyz", "must end in"),
    ("--plot", "adir.png", "is a directory"),
    ("-o", "cube.npz", "overwrite the input"),
])
def test_unmix_output_checked_before_computing(scene, forbid_compute, option, path, expected,
                                               capsys):
    d, Y, _, _ = scene
    np.savez(d / "cube.npz", Y=Y.reshape(6, 5, 20))
    (d / "adir.png").mkdir()
    rc = main(["unmix", str(d / "cube.npz"), "-k", "3", "-m", "vca", option, str(d / path)])
    _, err = _err_lines(capsys)
    assert rc == 2 and len(err) == 1 and expected in err[0], err


def test_plot_of_a_matrix_is_refused_before_computing(scene, forbid_compute, capsys):
    d, Y, _, _ = scene
    np.savez(d / "y.npz", Y=Y)
    rc = main(["unmix", str(d / "y.npz"), "-k", "3", "-m", "vca", "--plot", str(d / "m.png")])
    assert rc == 2 and "--image-shape" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="permissions do not bind root")
def test_readonly_output_refused_before_computing(coding_files, forbid_compute, capsys):
    d = coding_files
    ro = d / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        rc = main(["encode", str(d / "X.npy"), "-D", str(d / "D.npy"), "-k", "2",
                   "-o", str(ro / "c.npz")])
    finally:
        ro.chmod(0o700)
    assert rc == 2 and "cannot write" in capsys.readouterr().err


def test_encode_output_checked_before_computing(coding_files, forbid_compute, capsys):
    d = coding_files
    rc = main(["encode", str(d / "X.npy"), "-D", str(d / "D.npy"), "-k", "2",
               "-o", str(d / "nodir" / "c.npz")])
    _, err = _err_lines(capsys)
    assert rc == 2 and len(err) == 1 and "does not exist" in err[0]
    rc = main(["encode", str(d / "X.npy"), "-D", str(d / "D.npy"), "-k", "2",
               "-o", str(d / "codes.npy")])
    assert rc == 2 and "must end in .npz" in capsys.readouterr().err


# ----------------------------------------------------------------------------
# 5. + 6. demo rows stream as they finish; progress on stderr, results on stdout
# ----------------------------------------------------------------------------
class _Recorder:
    """A stdout that remembers what had been flushed."""

    def __init__(self):
        self.text, self.flushed = "", ""

    def write(self, s):
        self.text += s
        return len(s)

    def flush(self):
        self.flushed = self.text

    def isatty(self):
        return False


def test_demo_rows_stream_and_progress_goes_to_stderr(monkeypatch, capsys):
    names = ["mp", "omp", "htp"]
    monkeypatch.setattr(registry, "available_encoders", lambda: list(names))
    real_encode = dictionary_pkg.sparse_encode
    seen = []

    def encode(X, D, algorithm, **kw):
        seen.append((algorithm, stdout.flushed))
        return real_encode(X, D, algorithm=algorithm, **kw)

    monkeypatch.setattr(dictionary_pkg, "sparse_encode", encode)
    stdout = _Recorder()
    monkeypatch.setattr(sys, "stdout", stdout)
    rc = main(["demo", "--n-measurements", "24", "--n-features", "48", "-k", "2",
               "--n-signals", "3", "--progress"])
    assert rc == 0
    ordered = [a for a, _ in seen]
    assert sorted(ordered) == sorted(names)
    for i, (_, flushed) in enumerate(seen):
        # every earlier algorithm's row reached the terminal before this one started
        done = [ln.split()[1] for ln in flushed.splitlines()
                if ln.split()[:1] and ln.split()[0] in ("greedy", "thresholding")]
        assert done == ordered[:i]
    assert stdout.flushed == stdout.text            # nothing left in a buffer at the end
    err = capsys.readouterr().err
    assert "demo [" in err and "eta" in err         # the progress bar: stderr ...
    assert "eta" not in stdout.text and "\r" not in stdout.text   # ... never stdout


def test_demo_reports_a_failing_algorithm(monkeypatch, capsys):
    monkeypatch.setattr(registry, "available_encoders", lambda: ["mp", "omp"])
    real_encode = dictionary_pkg.sparse_encode

    def encode(X, D, algorithm, **kw):
        if algorithm == "mp":
            raise FloatingPointError("broken\nacross lines")
        return real_encode(X, D, algorithm=algorithm, **kw)

    monkeypatch.setattr(dictionary_pkg, "sparse_encode", encode)
    rc = main(["demo", "--n-measurements", "24", "--n-features", "48", "-k", "2",
               "--n-signals", "3"])
    captured = capsys.readouterr()
    assert rc == 1
    assert "failed: FloatingPointError: broken across lines" in captured.out
    assert "1 of 2 algorithms failed" in captured.err


def test_unmix_progress_goes_to_stderr(scene, capsys):
    d, Y, _, _ = scene
    np.savez(d / "c.npz", Y=Y.reshape(6, 5, 20))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["unmix", str(d / "c.npz"), "-k", "3", "-m", "nmf", "--max-iter", "20"])
    captured = capsys.readouterr()
    assert rc == 0
    assert captured.out == ""                       # no ground truth: no results to print
    assert "iter" in captured.err and "unmix: done" in captured.err


@pytest.mark.parametrize("kind", ["text.npy", "text.npz", "text.mat", "object.npy", "object.npz"])
def test_unreadable_files_are_one_line(tmp_path, kind, capsys):
    pytest.importorskip("scipy.io")
    path = tmp_path / kind
    if kind.startswith("text"):
        path.write_text("not an array\n")
    elif kind.endswith(".npy"):
        np.save(path, np.array([1, "a", None], dtype=object))
    else:
        np.savez(path, Y=np.array([1, "a", None], dtype=object))
    assert main(["unmix", str(path), "-k", "2"]) == 2
    _, err = _err_lines(capsys)
    assert len(err) == 1 and err[0].startswith("sparsecode: error: input: ")
    assert "allow_pickle" not in err[0]            # no advice to load untrusted pickles
