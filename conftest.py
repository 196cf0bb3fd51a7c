"""Test-session settings shared by the test suite and the doctests."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

# ``python -m sparsecode`` entry point: importing it would run the CLI.
collect_ignore = ["sparsecode/__main__.py", "setup.py", "asv_bench", "examples", "docs"]

try:
    from hypothesis import settings

    from hypothesis import HealthCheck

    # The README's test command must pass every time on a fresh clone: the
    # default profile is derandomised (the same examples on every run) and
    # keeps no example database between runs.  ``HYPOTHESIS_PROFILE=explore``
    # draws new examples for local bug hunting.
    settings.register_profile(
        "ci",
        deadline=None,
        print_blob=True,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.register_profile("explore", deadline=None, print_blob=True)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
except ImportError:  # pragma: no cover
    pass


def pytest_configure(config):
    # Docstring examples show plain numbers (``2.0``), as numpy < 2 printed
    # them and as scikit-learn's doctests do.
    import numpy as np

    np.set_printoptions(legacy="1.25")
