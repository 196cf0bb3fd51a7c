"""asv benchmarks of sparsecode, one module per family (see common.py)."""

import sys
from pathlib import Path

# Benchmark the working tree: with asv's "existing" environment the package
# is not installed, only built in place (``python setup.py build_ext -i``).
# Put the repository first on sys.path when its compiled kernels are there.
_ROOT = Path(__file__).resolve().parents[2]
if list((_ROOT / "sparsecode" / "_ext").glob("_omp*.so")) or list(
    (_ROOT / "sparsecode" / "_ext").glob("_omp*.pyd")
):
    sys.path.insert(0, str(_ROOT))
