"""The shared training loop (BaseAmortizedEncoder) through KSparseAutoencoder."""

import tracemalloc
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

from sparsecode.amortized import KSparseAutoencoder, TrainingDivergedError


def _data(n=600, d=8, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, d)).astype(dtype)


def _model(**kw):
    kw = {"n_latents": 16, "k": 3, "batch_size": 64, "max_iter": 2, "learning_rate": 1e-2,
          "random_state": 0, **kw}
    return KSparseAutoencoder(**kw)


def test_fit_records_steps_epochs_and_loss():
    X = _data()
    m = _model(max_iter=3).fit(X)
    assert m.n_iter_ == 3
    assert m.n_steps_ == 3 * int(np.ceil(600 / 64))
    assert len(m.loss_curve_) == 3 and np.isfinite(m.loss_curve_).all()
    np.testing.assert_allclose(np.linalg.norm(m.components_, axis=1), 1.0, rtol=1e-6)


def test_fit_is_deterministic_and_does_not_mutate_input():
    X = _data()
    X0 = X.copy()
    a = _model().fit(X)
    b = _model().fit(X)
    np.testing.assert_array_equal(a.components_, b.components_)
    np.testing.assert_array_equal(X, X0)


def test_partial_fit_continues_and_checks_width():
    X = _data()
    m = _model()
    m.partial_fit(X[:300])
    steps = m.n_steps_
    m.partial_fit(X[300:])
    assert m.n_steps_ == steps + int(np.ceil(300 / 64))
    with pytest.raises(ValueError, match="7 features.*expecting 8"):
        m.partial_fit(X[:, :7])


def test_divergence_names_step_and_learning_rate_and_keeps_atoms_finite():
    X = _data() * 1e3
    m = _model(optimizer="sgd", learning_rate=1e12, max_iter=5)
    with pytest.raises(TrainingDivergedError, match=r"step \d+.*learning_rate=1e\+12") as info:
        m.fit(X)
    assert isinstance(info.value, FloatingPointError) and isinstance(info.value, ValueError)
    assert np.isfinite(m.components_).all() and np.isfinite(m.encoder_weights_).all()


def test_tol_stops_early_or_warns():
    X = _data()
    with pytest.warns(ConvergenceWarning, match="max_iter=1"):
        _model(max_iter=1, tol=1e-12).fit(X)
    m = _model(max_iter=50, tol=10.0, n_iter_no_change=1)   # any epoch counts as no progress
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        m.fit(X)
    assert m.n_iter_ == 2


def test_csr_output_equals_dense_and_inverse_accepts_both():
    X = _data()
    m = _model(alpha_encode=2.0).fit(X)
    m._transform_chunk_rows = 100          # several chunks
    dense = m.transform(X)
    csr = m.transform(X, output="csr")
    assert sp.issparse(csr) and csr.format == "csr"
    np.testing.assert_array_equal(csr.toarray(), dense)
    assert (np.count_nonzero(dense, axis=1) <= 6).all()
    np.testing.assert_allclose(m.inverse_transform(csr), m.inverse_transform(dense), atol=1e-12)
    with pytest.raises(ValueError, match="output"):
        m.transform(X, output="coo")


def test_memmap_training_equals_in_memory_without_shuffle(tmp_path):
    X = _data(n=500)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=X.dtype, shape=X.shape)
    mm[:] = X
    mm.flush()
    a = _model(shuffle=False).fit(X)
    b = _model(shuffle=False)
    b._stream_chunk_bytes = 128 * 8 * 8     # chunks of 128 rows (2 batches each)
    b.fit(np.load(tmp_path / "x.npy", mmap_mode="r"))
    np.testing.assert_allclose(a.components_, b.components_, rtol=1e-10, atol=1e-12)


def test_memmap_non_finite_rows_rejected(tmp_path):
    X = _data(n=300)
    X[250, 3] = np.nan
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match="NaN"):
        _model().fit(np.load(tmp_path / "x.npy", mmap_mode="r"))


def _peak_fit(path, n_rows):
    m = _model(max_iter=1, batch_size=256, n_latents=8, k=2)
    m._stream_chunk_bytes = 1024 * 4 * 4     # 1024-row chunks
    m._init_sample_size = 512
    X = np.load(path, mmap_mode="r")[:n_rows]
    assert isinstance(X, np.memmap)
    tracemalloc.start()
    try:
        m.fit(X)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memmap_fit_streams_peak_independent_of_rows(tmp_path):
    n = 200_000
    rng = np.random.default_rng(0)
    mm = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32,
                                   shape=(n, 4))
    for s in range(0, n, 50_000):
        mm[s:s + 50_000] = rng.standard_normal((50_000, 4))
    mm.flush()
    del mm
    small = _peak_fit(tmp_path / "x.npy", 20_000)
    large = _peak_fit(tmp_path / "x.npy", 200_000)
    # ten times the rows: the peak grows only by the chunk-order array (8 bytes per chunk)
    assert large <= small * 1.05 + 4096, (small, large)
    assert large < 200_000 * 4 * 4 / 4      # far below a quarter of the data


def test_dask_input_trains_chunk_by_chunk():
    da = pytest.importorskip("dask.array")
    X = _data(n=400)
    m = _model(shuffle=False)
    m._stream_chunk_bytes = 128 * 8 * 8
    m.fit(da.from_array(X, chunks=(100, 8)))
    ref = _model(shuffle=False).fit(X)
    np.testing.assert_allclose(m.components_, ref.components_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(m.transform(da.from_array(X, chunks=(100, 8))), ref.transform(X))


def test_verbose_prints_progress(capsys):
    import importlib.util

    _model(max_iter=1, verbose=1).fit(_data(n=100))
    out = capsys.readouterr()
    text = out.out + out.err
    if importlib.util.find_spec("tqdm") is None:
        assert "epoch 1/1" in text
    else:
        assert "KSparseAutoencoder" in text


def test_optimizer_instance_and_schedule_are_used_not_mutated():
    from sparsecode.amortized import SGD, cosine

    X = _data(n=256)
    proto = SGD(lr=0.05, momentum=0.9)
    m = _model(optimizer=proto, max_iter=1).fit(X)
    assert proto.t == 0 and m._optimizer_ is not proto and m._optimizer_.t == m.n_steps_
    sched = _model(lr_schedule="cosine", max_iter=1).fit(X)
    assert isinstance(sched._optimizer_.schedule, cosine)
    assert sched._optimizer_.current_lr() == pytest.approx(0.0, abs=1e-12)   # decayed to 0
    with pytest.raises(ValueError, match="lr_schedule"):
        _model(lr_schedule="step").fit(X)


def test_csr_transform_never_holds_dense_codes():
    X = _data(n=200, d=8)
    m = _model(n_latents=512, k=2, max_iter=1).fit(X)
    m._transform_chunk_rows = 1000
    big = np.random.default_rng(1).standard_normal((20_000, 8))
    tracemalloc.start()
    try:
        codes = m.transform(big, output="csr")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    dense_bytes = 20_000 * 512 * 8
    assert codes.shape == (20_000, 512) and codes.nnz <= 40_000
    assert peak < dense_bytes / 4, (peak, dense_bytes)


@pytest.mark.parametrize("cls,kw", [
    ("KSparseAutoencoder", {"n_latents": 16, "k": 3}),
    ("MatchingPursuitAutoencoder", {"n_latents": 16, "n_steps": 3}),
])
@pytest.mark.parametrize("c", [2.0 ** -500, 2.0 ** -40, 2.0 ** 60, 2.0 ** 400])
def test_training_is_scale_equivariant(cls, kw, c):
    """Training runs on X / 2**e (the learning rate is independent of the data scale):
    fitting c X, c a power of two, gives the same atoms, biases and codes scaled by c,
    and a partial_fit continues at the data's scale."""
    import sparsecode.amortized as am

    rs = np.random.RandomState(0)
    X = rs.standard_normal((96, 8)) @ rs.standard_normal((8, 8))
    Est = getattr(am, cls)
    m1 = Est(**kw, max_iter=3, batch_size=32, random_state=0).fit(X)
    mc = Est(**kw, max_iter=3, batch_size=32, random_state=0).fit(X * c)
    np.testing.assert_array_equal(mc.components_, m1.components_)
    np.testing.assert_array_equal(mc.decoder_bias_, m1.decoder_bias_ * c)
    np.testing.assert_array_equal(mc.transform(X * c), m1.transform(X) * c)
    m1.partial_fit(X)
    mc.partial_fit(X * c)
    np.testing.assert_array_equal(mc.components_, m1.components_)
    np.testing.assert_array_equal(mc.inverse_transform(mc.transform(X * c)),
                                  m1.inverse_transform(m1.transform(X)) * c)


@pytest.mark.parametrize("dtype,c", [(np.float32, 1e-41), (np.float64, 1e-310)])
def test_subnormal_data_give_a_finite_model(dtype, c):
    """The training scale is capped so that 1 / scale stays finite in the model dtype."""
    from sparsecode.amortized import MatchingPursuitAutoencoder

    X = (np.random.RandomState(0).standard_normal((64, 8)) * c).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        m = MatchingPursuitAutoencoder(8, n_steps=2, max_iter=2, random_state=0).fit(X)
    codes = m.transform(X)
    assert codes.dtype == dtype
    assert np.isfinite(codes).all() and np.isfinite(m.components_).all()
    assert np.isfinite(m.decoder_bias_).all()
