from sparsecode import (
    HTP,
    IHT,
    NIHT,
    NSTHTFB,
    AdaptiveNSTHTFB,
    CoSaMP,
    SubspacePursuit,
)

INSTANCES = [
    NSTHTFB(),
    AdaptiveNSTHTFB(),
    IHT(),
    NIHT(),
    HTP(),
    CoSaMP(),
    SubspacePursuit(),
]

_complex = {"check_complex_data": "complex data is supported on purpose (radar, channel estimation)"}
EXPECTED_FAILED_CHECKS = {type(e).__name__: dict(_complex) for e in INSTANCES}
