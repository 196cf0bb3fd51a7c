"""Greedy sparse recovery: Matching Pursuit and Orthogonal Matching Pursuit."""

from . import _encoders  # noqa: F401  (registers "omp" and "mp")
from ._mp import MatchingPursuit, matching_pursuit
from ._omp import OrthogonalMatchingPursuit, OrthogonalMatchingPursuitCV, batch_omp, omp

__all__ = [
    "MatchingPursuit",
    "OrthogonalMatchingPursuit",
    "OrthogonalMatchingPursuitCV",
    "batch_omp",
    "matching_pursuit",
    "omp",
]
