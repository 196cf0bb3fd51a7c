"""Greedy sparse recovery: Matching Pursuit and Orthogonal Matching Pursuit."""

from ._mp import MatchingPursuit, matching_pursuit
from ._omp import OrthogonalMatchingPursuit, batch_omp, omp

__all__ = [
    "MatchingPursuit",
    "OrthogonalMatchingPursuit",
    "batch_omp",
    "matching_pursuit",
    "omp",
]
