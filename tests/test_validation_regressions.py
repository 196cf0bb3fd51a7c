"""Shared input checks (issue 11): no arithmetic that under- or overflows."""

import warnings

import numpy as np
import pytest

from sparsecode import sparse_encode
from sparsecode._validation import check_dictionary


@pytest.mark.parametrize("scale", [1e-30, 1e30])
def test_float32_dictionary_at_extreme_scale_is_not_refused(scale):
    rng = np.random.default_rng(0)
    D = (scale * rng.standard_normal((60, 30))).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        check_dictionary(D)
        codes = sparse_encode(D[:1] * 2, D, algorithm="omp", n_nonzero_coefs=1)
    assert np.flatnonzero(codes).tolist() == [0]
    np.testing.assert_allclose(codes[0, 0], 2.0, rtol=1e-5)


def test_zero_atom_is_still_refused():
    D = np.eye(4)
    D[2] = 0.0
    with pytest.raises(ValueError, match=r"dictionary has 1 zero-norm atom.*index \[2\]"):
        check_dictionary(D)
