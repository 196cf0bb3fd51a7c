from sparsecode import MatchingPursuit, OrthogonalMatchingPursuit, OrthogonalMatchingPursuitCV

INSTANCES = [
    OrthogonalMatchingPursuit(),
    OrthogonalMatchingPursuit(precompute=False),
    OrthogonalMatchingPursuit(positive=True),
    MatchingPursuit(),
    OrthogonalMatchingPursuitCV(cv=3),
]

_complex = {"check_complex_data": "complex data is supported on purpose (radar, channel estimation)"}
EXPECTED_FAILED_CHECKS = {
    "OrthogonalMatchingPursuit": dict(_complex),
    "MatchingPursuit": dict(_complex),
}
