"""The matrix leaves no public estimator or registered encoder out."""

from sparsecode import available_encoders

from .conftest import public_estimators, regressors, transformers
from .test_encoders import ENCODERS


def test_every_public_estimator_is_in_the_matrix():
    covered = set(regressors()) | set(transformers())
    missing = set(public_estimators()) - covered
    assert not missing, f"public estimators outside the regime matrix: {sorted(missing)}"


def test_every_registered_encoder_is_in_the_matrix():
    assert set(available_encoders()) == set(ENCODERS)
