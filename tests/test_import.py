"""``import sparsecode`` is cheap: it loads no family, no Numba, no scikit-learn."""

import subprocess
import sys

import sparsecode


def test_import_loads_nothing_heavy():
    code = (
        "import sys, sparsecode\n"
        "heavy = [m for m in ('numba', 'sklearn', 'scipy.sparse.linalg', 'sparsecode.greedy',"
        " 'sparsecode._ext._omp') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""


def test_every_public_name_resolves():
    for name in sparsecode.__all__:
        assert getattr(sparsecode, name) is not None
    assert "OrthogonalMatchingPursuit" in dir(sparsecode)


def test_static_name_table_matches_subpackages():
    import importlib

    for sub, names in sparsecode._PUBLIC.items():
        mod = importlib.import_module(f"sparsecode.{sub}")
        assert set(names) == set(mod.__all__), f"sparsecode._PUBLIC[{sub!r}] is out of date"
