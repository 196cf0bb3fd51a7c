import os
from pathlib import Path

import numpy as np
import pytest

from sparsecode.datasets import make_hyperspectral_mixture


def data_dir():
    env = os.environ.get("SPARSECODE_DATA")
    if env:
        p = Path(env)
        return p / "hyperspectral" if (p / "hyperspectral").is_dir() else p
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "hyperspectral"


@pytest.fixture
def real_data_dir():
    d = data_dir()
    if not (d / "samson.npz").exists():
        pytest.skip(f"hyperspectral data not found in {d}")
    return d


@pytest.fixture
def scene():
    """Noiseless 4-endmember scene with pure pixels, 12 x 12 pixels, 40 bands."""
    Y, M, A, _ = make_hyperspectral_mixture(4, 40, (12, 12), random_state=0)
    return Y, M, A


def rel_change(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)
