"""The README's test command draws the same hypothesis examples on every run."""

from hypothesis import settings


def test_default_profile_is_derandomised():
    assert settings.default.derandomize is True
    assert settings.default.database is None
