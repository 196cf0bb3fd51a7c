"""Regression tests (issue 11): adaptive NST schedules returning sizes <= 0
are refused with an error naming ``schedule`` (before: x = 0 returned,
marked converged, or a bare ``int()`` error)."""

import numpy as np
import pytest

import sparsecode as sc

from .conftest import gaussian_problem


@pytest.mark.parametrize("bad", [0, -1, -2.5, 0.5, float("nan"), float("-inf")])
def test_schedule_nonpositive_raises(bad):
    A, x, y = gaussian_problem(30, 60, 2, seed=0)
    with pytest.raises(ValueError, match="schedule"):
        sc.adaptive_nst_ht_fb(A, y, schedule=lambda k: bad)
    with pytest.raises(ValueError, match="schedule"):
        sc.AdaptiveNSTHTFB(schedule=lambda k: bad).fit(A, y)


def test_schedule_later_nonpositive_raises():
    # f(1) = 1 is fine, f(2) = 0 is not: the error names the k
    A, x, y = gaussian_problem(40, 100, 6, seed=1)
    with pytest.raises(ValueError, match=r"schedule\(2\) returned 0"):
        sc.adaptive_nst_ht_fb(A, y, schedule=lambda k: 1 if k == 1 else 0)


def test_schedule_non_number_raises():
    A, x, y = gaussian_problem(30, 60, 2, seed=0)
    with pytest.raises(TypeError, match="schedule"):
        sc.adaptive_nst_ht_fb(A, y, schedule=lambda k: None)
    with pytest.raises(ValueError, match="schedule"):
        sc.adaptive_nst_ht_fb(A, y, schedule=np.array([1, 2, 3]))


def test_valid_callable_schedule_still_recovers():
    A, x, y = gaussian_problem(40, 100, 3, seed=2)
    res = sc.adaptive_nst_ht_fb(A, y, schedule=lambda k: np.int64(2 * k))
    assert set(np.flatnonzero(res.coef)) == set(np.flatnonzero(x))
