"""KSparseAutoencoder (TopK SAE, AuxK, BatchTopK, k-sparse options) and its kernels."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sparsecode import sparse_encode
from sparsecode._ext import _sae
from sparsecode.amortized import KSparseAutoencoder, topk_encode
from sparsecode.datasets import make_planted_features
from sparsecode.metrics import mean_max_cosine, normalized_mse


# ----------------------------------------------------------------- kernels
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 5, 40])
def test_topk_rows_equals_argpartition(dtype, k):
    rng = np.random.default_rng(k)
    A = rng.standard_normal((50, 300)).astype(dtype)
    A[3] = np.sort(A[3])                 # worst case for the running threshold
    A[4] = 0.0                           # all ties: lowest indices win
    idx = np.empty((50, k), np.int64)
    val = np.empty((50, k), dtype)
    _sae.topk_rows(A, k, idx, val, None, 2)
    ref = np.sort(np.argpartition(-A, k - 1, axis=1, kind="introselect")[:, :k], axis=1)
    got = np.sort(idx, axis=1)
    np.testing.assert_array_equal(got[[0, 1, 2, 3]], ref[[0, 1, 2, 3]])
    np.testing.assert_array_equal(got[4], np.arange(k))
    np.testing.assert_array_equal(val, np.take_along_axis(A, idx, axis=1))
    # the selected values are the k largest of each row
    np.testing.assert_array_equal(np.sort(val, axis=1), np.sort(A, axis=1)[:, -k:])


def test_topk_rows_restricted_to_columns():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((20, 100))
    cols = np.sort(rng.choice(100, 30, replace=False)).astype(np.int64)
    idx = np.empty((20, 4), np.int64)
    val = np.empty((20, 4))
    _sae.topk_rows(A, 4, idx, val, cols, 1)
    sub = A[:, cols]
    ref = cols[np.argsort(-sub, axis=1)[:, :4]]
    np.testing.assert_array_equal(np.sort(idx, axis=1), np.sort(ref, axis=1))


def _csr_dense(indptr, indices, values, n):
    return sp.csr_matrix((values, indices, indptr), shape=(len(indptr) - 1, n)).toarray()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sparse_kernels_equal_dense_references(dtype):
    rng = np.random.default_rng(1)
    B, n, d, k = 30, 25, 7, 4
    idx = np.array([rng.choice(n, k, replace=False) for _ in range(B)], dtype=np.int64)
    indptr = np.arange(0, B * k + 1, k, dtype=np.int64)
    ind = idx.ravel()
    vals = rng.standard_normal(B * k).astype(dtype)
    W = rng.standard_normal((n, d)).astype(dtype)
    G = rng.standard_normal((B, d)).astype(dtype)
    bias = rng.standard_normal(d).astype(dtype)
    Z = _csr_dense(indptr, ind, vals, n)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    out = np.empty((B, d), dtype)
    _sae.sparse_decode(indptr, ind, vals, W, bias, out, 2)
    np.testing.assert_allclose(out, Z @ W + bias, rtol=tol, atol=tol)
    dots = np.empty(B * k, dtype)
    _sae.sparse_row_dots(indptr, ind, G, W, dots, 2)
    np.testing.assert_allclose(dots, (G @ W.T)[np.repeat(np.arange(B), k), ind], rtol=tol,
                               atol=tol)
    acc = np.ones((n, d), dtype)
    active = _sae.scatter_rows(indptr, ind, vals, G, acc, 2)
    np.testing.assert_allclose(acc, 1 + Z.T @ G, rtol=tol, atol=tol)
    np.testing.assert_array_equal(active, np.unique(ind))


# -------------------------------------------------------------- gradients
def _fitted(X, **kw):
    kw = {"n_latents": 12, "k": 3, "batch_size": 40, "max_iter": 1, "learning_rate": 1e-2,
          "random_state": 0, **kw}
    m = KSparseAutoencoder(**kw)
    m.partial_fit(X)
    return m


def _fd_check(m, Xb, n_probe=6, eps=1e-6, aux_target=None):
    loss, grads = m._loss_and_grads(Xb, update_state=False, aux_target=aux_target)
    rng = np.random.default_rng(0)
    for p, g in zip(m._parameters(), grads):
        g = g.copy()
        for flat in rng.choice(p.size, min(n_probe, p.size), replace=False):
            i = np.unravel_index(flat, p.shape)
            old = p[i]
            p[i] = old + eps
            lp, _ = m._loss_and_grads(Xb, update_state=False, aux_target=aux_target)
            p[i] = old - eps
            lm, _ = m._loss_and_grads(Xb, update_state=False, aux_target=aux_target)
            p[i] = old
            fd = (lp - lm) / (2 * eps)
            assert fd == pytest.approx(g[i], rel=1e-5, abs=1e-8), (p.shape, i)
    return loss


@pytest.mark.parametrize("options", [{}, {"tied": True}, {"relu": False},
                                     {"batch_topk": True}])
def test_gradients_match_finite_differences(options):
    X = np.random.default_rng(2).standard_normal((40, 6)) + 0.3
    # without AuxK: its target is detached (constant in the gradient, not in a finite
    # difference); test_auxk_gradients_match_finite_differences holds it fixed
    m = _fitted(X, aux_coef=0.0, **options)
    _fd_check(m, X)


def test_auxk_gradients_match_finite_differences():
    X = np.random.default_rng(3).standard_normal((10, 6))
    kw = dict(n_latents=30, k=1, batch_size=10, dead_after_n_samples=1, k_aux=3)
    m = _fitted(X, **kw)        # at most 10 of the 30 latents fire: the others are dead
    # the AuxK target e = x - x_hat is a constant of the gradient (detached): hold it fixed
    residual = X - m.inverse_transform(m.transform(X))
    loss_aux = _fd_check(m, X, aux_target=residual)
    m0 = _fitted(X, aux_coef=0.0, **kw)
    loss_main, _ = m0._loss_and_grads(X, update_state=False)
    assert loss_aux > loss_main                    # the AuxK term is in the loss


def _dense_reference(m, X):
    """Loss and gradients of the TopK SAE written with dense masked matrices."""
    W_enc, b_enc, W_dec, b_pre = (m.encoder_weights_, m.encoder_bias_, m.components_,
                                  m.decoder_bias_)
    B, d = X.shape
    Xc = X - b_pre
    A = Xc @ W_enc.T + b_enc
    thr = np.sort(A, axis=1)[:, -m.k][:, None]
    mask = (A >= thr) & (A > 0)
    Z = np.where(mask, A, 0.0)
    E = X - (Z @ W_dec + b_pre)
    s = m._loss_scale
    G = -2 * s * E / (B * d)
    gA = (G @ W_dec.T) * mask
    return (s * np.mean(E ** 2), [gA.T @ Xc, gA.sum(0), Z.T @ G, G.sum(0) - W_enc.T @ gA.sum(0)])


def test_sparse_backward_equals_dense_reference():
    X = np.random.default_rng(4).standard_normal((40, 6))
    m = _fitted(X, aux_coef=0.0)
    loss, grads = m._loss_and_grads(X, update_state=False)
    ref_loss, ref = _dense_reference(m, X)
    assert loss == pytest.approx(ref_loss, rel=1e-12)
    for g, r in zip(grads, ref):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- model
def _planted(d, m, k, n, seed):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((m, d))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    Z = np.zeros((n, m))
    for row in Z:
        row[rng.choice(m, k, replace=False)] = rng.uniform(0.5, 1.5, k)
    return Z @ D, D


def test_planted_flat_features_recovered_and_auxk_revives_dead_latents():
    X, D = _planted(32, 64, 3, 4000, seed=0)
    kw = dict(n_latents=64, k=3, batch_size=256, max_iter=30, learning_rate=7e-3,
              dead_after_n_samples=1000, random_state=0)
    m = KSparseAutoencoder(**kw).fit(X)
    mmc, recovered = mean_max_cosine(m.components_, D, threshold=0.95)
    assert recovered >= 0.85 and mmc >= 0.95          # measured: 1.0 and 0.998
    assert m.dead_fraction_ <= 0.02                   # measured: 0
    assert normalized_mse(X, m.inverse_transform(m.transform(X))) < 0.15
    no_aux = KSparseAutoencoder(aux_coef=0.0, **kw).fit(X)
    assert no_aux.dead_fraction_ > m.dead_fraction_   # measured: 0.11 without AuxK


def test_float32_in_float32_out():
    X = np.random.default_rng(5).standard_normal((200, 6)).astype(np.float32)
    m = _fitted(X)
    assert m.components_.dtype == np.float32 and m.encoder_weights_.dtype == np.float32
    assert m.transform(X).dtype == np.float32
    assert m.transform(X, output="csr").dtype == np.float32
    assert m.inverse_transform(m.transform(X)).dtype == np.float32


def test_sklearn_api_clone_params_pipeline():
    X = np.random.default_rng(6).standard_normal((120, 6))
    m = KSparseAutoencoder(n_latents=10, k=2, batch_size=32, max_iter=2, random_state=0)
    assert clone(m).get_params() == m.get_params()
    pipe = make_pipeline(StandardScaler(), m).fit(X)
    codes = pipe.transform(X)
    assert codes.shape == (120, 10)
    assert (np.count_nonzero(codes, axis=1) <= 2).all()
    assert not hasattr(m, "components_") or m is pipe[-1]


@pytest.mark.parametrize("bad, match", [
    ({"k": 12}, "k must be"),
    ({"k": 0}, "k must be"),
    ({"learning_rate": 0.0}, "learning_rate"),
    ({"learning_rate": -1e-3}, "learning_rate"),
    ({"k_start": 2}, "k_start"),
    ({"alpha_encode": 0.5}, "alpha_encode"),
    ({"batch_size": 0}, "batch_size"),
])
def test_bad_parameters(bad, match):
    X = np.random.default_rng(7).standard_normal((50, 6))
    with pytest.raises(ValueError, match=match):
        KSparseAutoencoder(**{"n_latents": 12, "k": 3, **bad}).fit(X)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_data_rejected(value):
    X = np.random.default_rng(8).standard_normal((50, 6))
    X[7, 2] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        KSparseAutoencoder(n_latents=12, k=3).fit(X)


def test_k_schedule_and_alpha_encode():
    X = np.random.default_rng(9).standard_normal((400, 6))
    m = KSparseAutoencoder(n_latents=20, k=2, k_start=10, k_schedule_fraction=0.5,
                           alpha_encode=3.0, batch_size=40, max_iter=2, random_state=0)
    ks = []
    orig = m._current_k

    def spy():
        ks.append(orig())
        return ks[-1]

    m._current_k = spy
    m.fit(X)
    assert ks[0] == 10 and ks[-1] == 2 and all(a >= b for a, b in zip(ks, ks[1:]))
    assert ks.index(2) <= 10            # reached by half of the 20 planned steps
    codes = m.transform(X)
    assert np.count_nonzero(codes, axis=1).max() <= 6
    assert np.count_nonzero(codes, axis=1).max() > 2


def test_tied_weights_share_one_matrix():
    X = np.random.default_rng(10).standard_normal((100, 6))
    m = _fitted(X, tied=True)
    assert m.encoder_weights_ is m.components_
    assert len(m._parameters()) == 3


def test_batch_topk_mean_l0_and_threshold():
    X = np.random.default_rng(11).standard_normal((400, 6))
    m = KSparseAutoencoder(n_latents=20, k=3, batch_topk=True, batch_size=50, max_iter=3,
                           learning_rate=1e-2, random_state=0).fit(X)
    assert m.threshold_ is not None and m.threshold_ > 0
    _, A = m._preacts(X[:50])
    indptr, idx, val = m._select_batch_topk(np.ascontiguousarray(A), 3, update_state=False)
    assert indptr[-1] == 150                         # k * batch entries in all
    codes = m.transform(X, output="csr")
    assert (codes.data > m.threshold_).all()
    np.testing.assert_array_equal(codes.toarray(), m.transform(X))


def test_topk_encoder_registered_with_sparse_encode():
    rng = np.random.default_rng(12)
    D = rng.standard_normal((15, 8))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    X = rng.standard_normal((9, 8))
    codes = sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=3)
    C = X @ D.T
    ref = np.where(np.abs(C) >= np.sort(np.abs(C), axis=1)[:, [-3]], C, 0.0)
    np.testing.assert_allclose(codes, ref)
    pos = sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=3, positive=True)
    refp = np.where(C >= np.sort(C, axis=1)[:, [-3]], np.maximum(C, 0), 0.0)
    np.testing.assert_allclose(pos, refp)
    csr = sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=3, output="csr")
    np.testing.assert_allclose(csr.toarray(), codes)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        topk_encode(X, D, n_nonzero_coefs=16)


def test_tied_sae_encoder_equals_topk_encoder_over_its_decoder():
    X = np.random.default_rng(13).standard_normal((60, 6))
    m = _fitted(X, tied=True)
    m.encoder_bias_[:] = 0
    m.decoder_bias_[:] = 0
    np.testing.assert_allclose(
        m.transform(X), sparse_encode(X, m.components_, algorithm="topk", n_nonzero_coefs=3,
                                      positive=True))


def test_kernels_give_identical_results_at_one_and_two_threads():
    rng = np.random.default_rng(14)
    B, n, d, k = 64, 300, 24, 7
    A = rng.standard_normal((B, n))
    W = rng.standard_normal((n, d))
    G = rng.standard_normal((B, d))
    outs = []
    for nt in (1, 2):
        idx = np.empty((B, k), np.int64)
        val = np.empty((B, k))
        _sae.topk_rows(A, k, idx, val, None, nt)
        ip = np.arange(0, B * k + 1, k, dtype=np.int64)
        dec = np.empty((B, d))
        _sae.sparse_decode(ip, idx.ravel(), val.ravel(), W, None, dec, nt)
        acc = np.zeros((n, d))
        _sae.scatter_rows(ip, idx.ravel(), val.ravel(), G, acc, nt)
        p = W.ravel().copy()
        _sae.adam_update(p, G.ravel().repeat(12)[:p.size].copy(), np.zeros_like(p),
                         np.zeros_like(p), 1e-3, 0.9, 0.999, 1e-8, 0.1, 1e-3, nt)
        outs.append((idx, dec, acc, p))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------- refit and validation
def test_refit_after_n_latents_change_and_with_another_width():
    rng = np.random.default_rng(15)
    X10 = rng.standard_normal((80, 10))
    m = KSparseAutoencoder(n_latents=8, k=2, batch_size=20, max_iter=1, random_state=0)
    m.fit(X10)
    m.set_params(n_latents=16)                   # larger: the old buffers are too narrow
    m.fit(X10)
    assert m.components_.shape == (16, 10) and m.transform(X10).shape == (80, 16)
    m.set_params(n_latents=6)                    # smaller
    m.fit(X10)
    assert m.components_.shape == (6, 10)
    X12 = rng.standard_normal((80, 12))          # another width, same model
    m.fit(X12)
    assert m.components_.shape == (6, 12) and m.decoder_bias_.shape == (12,)
    assert np.isfinite(m.loss_curve_).all()
    # a refit is the fit of a fresh model: no state of the previous fit leaks in
    fresh = KSparseAutoencoder(n_latents=6, k=2, batch_size=20, max_iter=1,
                               random_state=0).fit(X12)
    np.testing.assert_array_equal(m.components_, fresh.components_)


@pytest.mark.parametrize("X, D, k, match", [
    ([[np.nan, 1.0, 0.0]], np.eye(3), 2, "X.*NaN|NaN.*X"),
    ([[np.inf, 1.0, 0.0]], np.eye(3), 2, "X.*infinity|infinity.*X"),
    ([[1.0, 1.0, 0.0]], np.full((3, 3), np.inf), 2, "dictionary"),
    ([[1.0, 1.0, 0.0]], np.full((3, 3), np.nan), 2, "dictionary"),
    ([[1.0 + 1j, 1.0, 0.0]], np.eye(3), 2, "X is complex"),
    ([[1.0, 1.0, 0.0]], np.eye(3) * (1 + 1j), 2, "dictionary is complex"),
    ([1.0, 1.0, 0.0], np.eye(3), 2, "X.*2D|X.*2-D"),
    ([[1.0, 1.0, 0.0]], np.ones(3), 1, "dictionary.*2D|dictionary.*2-D"),
    ([[1.0, 1.0]], np.eye(3), 2, "X has 2 features but the dictionary atoms have 3"),
    ([[1.0, 1.0, 0.0]], np.eye(3), 2.7, "n_nonzero_coefs must be an integer"),
    ([[1.0, 1.0, 0.0]], np.eye(3), 2.0, "n_nonzero_coefs must be an integer"),
    ([[1.0, 1.0, 0.0]], np.eye(3), True, "n_nonzero_coefs must be an integer"),
    ([[1.0, 1.0, 0.0]], np.eye(3), 0, r"n_nonzero_coefs must be in \[1, n_atoms=3\]"),
    ([[1.0, 1.0, 0.0]], np.eye(3), 4, r"n_nonzero_coefs must be in \[1, n_atoms=3\]"),
])
def test_topk_encode_rejects_bad_input(X, D, k, match):
    with pytest.raises(ValueError, match=match):
        topk_encode(np.asarray(X), D, n_nonzero_coefs=k)


def test_topk_encode_accepts_lists_ints_and_numpy_integers():
    D = np.eye(3)
    ref = np.array([[0.0, -2.0, 1.0]])
    np.testing.assert_array_equal(
        topk_encode([[0.5, -2.0, 1.0]], D.tolist(), n_nonzero_coefs=np.int64(2)), ref)
    np.testing.assert_array_equal(
        topk_encode(np.array([[1, -4, 2]]), np.eye(3, dtype=int), n_nonzero_coefs=2),
        [[0.0, -4.0, 2.0]])
    X32 = np.array([[0.5, -2.0, 1.0]], np.float32)
    assert topk_encode(X32, D.astype(np.float32), n_nonzero_coefs=2).dtype == np.float32


def test_sparse_encode_topk_validates_once_and_keeps_its_errors(monkeypatch):
    from sparsecode.amortized import _topk as topk_mod
    rng = np.random.default_rng(16)
    D = rng.standard_normal((10, 5))
    X = rng.standard_normal((4, 5))
    calls = []
    orig = topk_mod.check_matrix
    monkeypatch.setattr(topk_mod, "check_matrix",
                        lambda *a, **kw: calls.append(a[1:2]) or orig(*a, **kw))
    codes = sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=3)
    assert calls == []                          # the hub's checks are not repeated
    np.testing.assert_array_equal(np.count_nonzero(codes, axis=1), 3)
    X[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        sparse_encode(X, D, algorithm="topk", n_nonzero_coefs=3)
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        sparse_encode(X[:1] * 0 + 1, D, algorithm="topk", n_nonzero_coefs=11)


@pytest.mark.parametrize("k", [3, 40])
def test_topk_rows_refuses_k_above_the_candidates(k):
    A = np.random.default_rng(17).standard_normal((5, 30))
    idx = np.empty((5, k), np.int64)
    val = np.empty((5, k))
    with pytest.raises(ValueError, match="exceeds the 2 candidate columns"):
        _sae.topk_rows(A, k, idx, val, np.array([4, 9], np.int64), 2)
    with pytest.raises(ValueError, match="exceeds the 0 candidate columns"):
        _sae.topk_rows(A, k, idx, val, np.array([], np.int64), 1)
    if k > 30:
        with pytest.raises(ValueError, match="exceeds the 30 candidate columns"):
            _sae.topk_rows(A, k, idx, val, None, 1)
    with pytest.raises(ValueError, match="outside"):
        _sae.topk_rows(A, 2, idx[:, :2].copy(), val[:, :2].copy(),
                       np.array([4, 30], np.int64), 1)
    with pytest.raises(ValueError, match="must have shape"):
        _sae.topk_rows(A, 2, idx[:4, :2].copy(), val[:4, :2].copy(), None, 1)


def test_topk_rows_allocation_failure_raises_memory_error():
    # Under an address-space limit the per-thread buffers (2 x 16k entries)
    # cannot be allocated: a MemoryError, not a crash.
    import subprocess
    import sys
    import textwrap
    code = textwrap.dedent("""
        import resource
        import numpy as np
        from sparsecode._ext import _sae
        n = 2_000_000
        A = np.zeros((2, n), np.float32)
        idx = np.empty((2, n), np.int64)
        val = np.empty((2, n), np.float32)
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        with open("/proc/self/status") as f:
            vm = [int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize")][0]
        # room for 1/4 of one thread's buffers: 16 * n * (4 + 8) bytes
        resource.setrlimit(resource.RLIMIT_AS, (vm + 48 * n, hard))
        try:
            _sae.topk_rows(A, n, idx, val, None, 1)
        except MemoryError as exc:
            print("MemoryError", exc)
        else:
            print("no error")
    """)
    env = {**__import__("os").environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.startswith("MemoryError"), res.stdout + res.stderr[-2000:]
    assert "per-thread buffers" in res.stdout


def test_default_epochs_from_data_size_recover_planted_atoms():
    # max_iter="auto": max(10, ceil(2048 / steps per epoch)) epochs; 6000 samples in
    # batches of 1024 give 6 steps per epoch, 342 epochs.  max_iter=10 (60 Adam
    # steps) leaves every atom below cosine 0.95 (measured: recovered 0.0)
    X, D, _ = make_planted_features(6000, 24, 64, 3, random_state=0)
    m = KSparseAutoencoder(64, 3, random_state=0).fit(X)
    assert m.n_iter_ == 342 and m.n_steps_ == 342 * 6
    mmc, recovered = mean_max_cosine(m.components_, D, threshold=0.95)
    assert recovered >= 0.9 and mmc >= 0.97          # measured: 0.969 and 0.992
    assert m.dead_fraction_ < 0.02                   # measured: 0


def test_auto_epochs_rule_and_bad_max_iter():
    X = np.random.default_rng(0).standard_normal((10, 2))
    m = KSparseAutoencoder(4, 1, batch_size=1024)
    assert m._resolved_epochs(300_000) == 10         # 293 steps per epoch: the floor of 10
    assert m._resolved_epochs(50_000) == 42
    assert m._resolved_epochs(1) == 2048
    with pytest.raises(ValueError, match="max_iter .* or 'auto'"):
        KSparseAutoencoder(4, 1, max_iter="many").fit(X)


def _reference_codes(m, X, k):
    W = m.encoder_weights_.astype(np.float64)
    A = (X.astype(np.float64) - m.decoder_bias_) @ W.T + m.encoder_bias_
    idx = np.argsort(-A, axis=1, kind="stable")[:, :k]
    vals = np.take_along_axis(A, idx, axis=1)
    if m.relu:
        vals = np.maximum(vals, 0)
    out = np.zeros_like(A)
    np.put_along_axis(out, idx, vals, axis=1)
    return out


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kw", [{"k": 3}, {"k": 20}, {"k": 3, "relu": False},
                                {"k": 2, "alpha_encode": 3.0, "n_jobs": 2}])
def test_fused_encoder_matches_the_forward_pass(dtype, kw):
    # transform = one fused kernel (float32 GEMM per block of rows, top-k, bias, ReLU,
    # codes written straight to the output); float64 values are recomputed exactly
    rng = np.random.default_rng(1)
    X = (rng.standard_normal((700, 12)) @ rng.standard_normal((12, 12))).astype(dtype)
    m = KSparseAutoencoder(40, max_iter=2, batch_size=64, learning_rate=1e-2, random_state=0,
                           **kw)
    m._encode_block_rows = 64       # several blocks, a partial last one
    m._encode_chunk_rows = 300      # several chunks
    m.fit(X)
    k = int(round(m.alpha_encode * m.k))
    ref = _reference_codes(m, X, k)
    dense = m.transform(X)
    csr = m.transform(X, output="csr")
    assert dense.dtype == dtype and csr.dtype == dtype
    assert csr.has_canonical_format
    np.testing.assert_array_equal(csr.toarray(), dense)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(dense, ref, rtol=tol, atol=tol * np.abs(ref).max())
    assert (np.count_nonzero(dense, axis=1) <= k).all()


def test_fused_encoder_selects_at_any_data_scale():
    # the float32 selection of float64 data runs at a power-of-two scale of the chunk
    rng = np.random.default_rng(2)
    X = rng.standard_normal((300, 8))
    m = KSparseAutoencoder(16, 3, max_iter=2, batch_size=64, random_state=0).fit(X)
    for c in (2.0 ** -600, 2.0 ** 600):
        mc = clone(m).fit(X * c)
        np.testing.assert_array_equal(mc.transform(X * c), m.transform(X) * c)
        assert np.count_nonzero(mc.transform(X * c)) > 0
        # the CSR output takes the same rescaled second pass (dense rows are zeroed first)
        np.testing.assert_array_equal(mc.transform(X * c, output="csr").toarray(),
                                      m.transform(X) * c)


@pytest.fixture(params=[0, 1], ids=["sse2", "avx512"])
def simd_level(request):
    # the float32 top-k has an SSE2 kernel and, on CPUs with AVX-512F, a 16-lane one
    got = _sae._set_simd_level(request.param)
    if got != request.param:
        pytest.skip("this CPU has no AVX-512F")
    yield got
    _sae._set_simd_level(1)  # back to the automatic choice


@pytest.mark.parametrize("n", [64, 70, 97, 256, 600])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_topk_rows_with_ties_matches_a_stable_sort(n, dtype, simd_level):
    # float32 rows with k <= 64 and enough entries take the vectorised path (strided group
    # maxima bound the k-th value, a compare mask collects the entries above it, ranks or
    # a quickselect keep the k best); ties go to the lowest index
    rng = np.random.default_rng(n)
    A = np.round(rng.standard_normal((300, n)) * 2).astype(dtype)
    A[:50] = 1.0                                       # all tied
    A[50:100] = -np.abs(A[50:100])                     # non-positive, many ties at 0
    A[100:150] = rng.standard_normal((50, n))          # continuous: few candidates
    for k in (1, 5, 16, 20, 33, 64):
        idx = np.empty((300, k), np.int64)
        val = np.empty((300, k), dtype)
        _sae.topk_rows(np.ascontiguousarray(A), k, idx, val, None, 1)
        ref = np.lexsort((np.broadcast_to(np.arange(n), A.shape), -A), axis=1)[:, :k]
        np.testing.assert_array_equal(np.sort(idx, axis=1), np.sort(ref, axis=1))
        np.testing.assert_array_equal(val, np.take_along_axis(A, idx, axis=1))


def test_float32_topk_rows_with_nan_returns_valid_indices(simd_level):
    # the bounded float32 scan (rows of >= 64 entries) must never hand out its
    # sentinel index: a NaN row falls back to the plain heap
    from sparsecode._ext import _sae

    for n, k in ((100, 3), (300, 3), (300, 20)):
        A = np.full((3, n), np.nan, np.float32)
        A[0, 5] = 1.0
        A[1] = np.arange(n, dtype=np.float32)
        A[1, ::7] = np.nan
        A[2, 40:] = -np.inf
        A[2, :40] = np.nan
        idx = np.empty((3, k), np.int64)
        val = np.empty((3, k), np.float32)
        _sae.topk_rows(A, k, idx, val)
        # NaN has no order: only the indices' validity is promised (no NaN reaches the
        # kernel through the estimators, whose inputs are checked)
        assert ((idx >= 0) & (idx < n)).all()
        assert all(len(set(row)) == k for row in idx)


def test_float64_input_overflowing_a_float32_model_is_refused():
    rng = np.random.RandomState(0)
    X = rng.randn(500, 16).astype(np.float32)
    model = KSparseAutoencoder(n_latents=128, k=4, max_iter=2, random_state=0).fit(X)
    Xt = rng.randn(3, 16)
    Xt[:, :8] = 1e39
    for output in ("dense", "csr"):
        with pytest.raises(ValueError, match="overflow"):
            model.transform(Xt, output=output)
