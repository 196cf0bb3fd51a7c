from sparsecode import GGAMPSBL, GGAMPTSBL, MSBL, SBL, TSBL, KroneckerSBL

INSTANCES = [
    SBL(max_iter=100),
    SBL(update="mackay", noise_variance=0.1, fit_intercept=True, max_iter=100),
    GGAMPSBL(max_iter=30, max_gamp_iter=50, tol=1e-4),
    MSBL(max_iter=100),
    TSBL(max_iter=100),
    GGAMPTSBL(max_iter=30, max_gamp_iter=50, tol=1e-4),
    KroneckerSBL(max_iter=50),
]

_complex = {"check_complex_data": "complex data is supported on purpose (complex Gaussian priors "
                                  "for channel estimation and radar)"}
EXPECTED_FAILED_CHECKS = {
    "SBL": dict(_complex),
    "GGAMPSBL": dict(_complex),
    "MSBL": dict(_complex),
    "TSBL": dict(_complex),
    "GGAMPTSBL": dict(_complex),
    "KroneckerSBL": dict(_complex),
}
