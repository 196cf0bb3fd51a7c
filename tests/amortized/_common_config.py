from sparsecode import KSparseAutoencoder, MatchingPursuitAutoencoder, PredictiveSparseDecomposition

INSTANCES = [
    KSparseAutoencoder(n_latents=4, k=2, batch_size=16, max_iter=2, learning_rate=1e-2,
                       random_state=0),
    KSparseAutoencoder(n_latents=4, k=1, batch_topk=True, tied=True, batch_size=16,
                       max_iter=2, learning_rate=1e-2, random_state=0),
    PredictiveSparseDecomposition(4, max_iter=2, batch_size=16, random_state=0),
    MatchingPursuitAutoencoder(4, n_steps=2, max_iter=2, batch_size=16, random_state=0),
]

EXPECTED_FAILED_CHECKS = {}
