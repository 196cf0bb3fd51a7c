"""scikit-learn's estimator checks over every public estimator.

Each family declares, in ``tests/<family>/_common_config.py``, the
instances to check (``INSTANCES``) and the checks expected to fail with a
written reason (``EXPECTED_FAILED_CHECKS``: class name -> {check: reason}).
The last test makes sure no public estimator is left out.
"""

import importlib
import pkgutil
from pathlib import Path

import pytest
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import sparsecode

HERE = Path(__file__).parent


def _configs():
    for sub in sorted(p for p in HERE.iterdir() if (p / "_common_config.py").exists()):
        spec = importlib.util.spec_from_file_location(f"_cfg_{sub.name}", sub / "_common_config.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod


INSTANCES = []
EXPECTED = {}
for _cfg in _configs():
    INSTANCES.extend(_cfg.INSTANCES)
    EXPECTED.update(getattr(_cfg, "EXPECTED_FAILED_CHECKS", {}))


def _expected_failed_checks(estimator):
    return EXPECTED.get(type(estimator).__name__, {})


@parametrize_with_checks(INSTANCES, expected_failed_checks=_expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_every_public_estimator_is_checked():
    public = {
        name
        for name in sparsecode.__all__
        if isinstance(getattr(sparsecode, name), type)
        and issubclass(getattr(sparsecode, name), BaseEstimator)
    }
    checked = {type(est).__name__ for est in INSTANCES}
    assert public - checked == set(), f"estimators missing from the common checks: {public - checked}"
