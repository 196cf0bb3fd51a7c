"""SGD / Adam updates and learning-rate schedules of sparsecode.amortized."""

import numpy as np
import pytest

from sparsecode.amortized import (
    SGD,
    Adam,
    TrainingDivergedError,
    constant,
    cosine,
    linear_decay,
    make_optimizer,
    warmup,
)


def _adam_reference(p, grads, lr, b1, b2, eps):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    return p


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_adam_matches_reference_and_updates_in_place(dtype):
    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((6, 5)).astype(dtype)
    grads = [rng.standard_normal((6, 5)).astype(dtype) for _ in range(4)]
    p = p0.copy()
    ident = id(p)
    opt = Adam(lr=0.01, betas=(0.8, 0.99), eps=1e-6)
    for g in grads:
        opt.step([p], [g])
    ref = _adam_reference(p0.astype(np.float64), [g.astype(np.float64) for g in grads],
                          0.01, 0.8, 0.99, 1e-6)
    assert id(p) == ident and p.dtype == dtype
    np.testing.assert_allclose(p, ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6)


def test_adam_numpy_path_for_non_contiguous_equals_kernel():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((8, 6))
    g = rng.standard_normal((8, 6))
    a = base.copy()
    b = np.asfortranarray(base.copy())           # not C-contiguous: NumPy path
    oa, ob = Adam(lr=0.1), Adam(lr=0.1)
    for _ in range(3):
        oa.step([a], [g])
        ob.step([b], [np.asfortranarray(g)])
    np.testing.assert_allclose(a, b, rtol=1e-12)


def test_sgd_momentum():
    p = np.array([1.0])
    opt = SGD(lr=0.5, momentum=0.5)
    opt.step([p], [np.array([1.0])])     # v = 1, p = 0.5
    opt.step([p], [np.array([1.0])])     # v = 1.5, p = -0.25
    assert p[0] == pytest.approx(-0.25)
    opt.reset()
    assert opt.t == 0


def test_schedules():
    assert constant(7) == 1.0
    assert linear_decay(4)(2) == pytest.approx(0.5)
    assert linear_decay(4)(100) == 0.0
    assert cosine(4)(4) == pytest.approx(0.0)
    w = warmup(2, then=linear_decay(2))
    assert [w(i) for i in range(5)] == pytest.approx([0.5, 1.0, 1.0, 0.5, 0.0])
    opt = SGD(lr=1.0, schedule=linear_decay(2))
    p = np.zeros(1)
    opt.step([p], [np.ones(1)])
    opt.step([p], [np.ones(1)])
    assert p[0] == pytest.approx(-1.5)


@pytest.mark.parametrize("lr", [0, -1e-3, float("nan"), float("inf")])
def test_bad_learning_rate_names_it(lr):
    with pytest.raises(ValueError, match="learning_rate"):
        SGD(lr=lr)
    with pytest.raises(ValueError, match="learning_rate"):
        Adam(lr=lr)
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer("adam", lr, 10)


def test_make_optimizer():
    assert isinstance(make_optimizer("ADAM", 1e-3, 5), Adam)
    assert isinstance(make_optimizer("sgd", 1e-3, 5), SGD)
    proto = SGD(lr=0.1, momentum=0.9)
    proto.step([np.zeros(2)], [np.ones(2)])
    opt = make_optimizer(proto, None)
    assert opt is not proto and opt.t == 0 and opt.momentum == 0.9 and proto.t == 1
    with pytest.raises(ValueError, match="optimizer"):
        make_optimizer("rmsprop", 1e-3, 5)


def test_non_finite_update_leaves_parameters_unchanged():
    p = np.array([1.0, 2.0])
    q = np.array([3.0])
    with pytest.raises(TrainingDivergedError, match="learning_rate"):
        SGD(lr=1e308).step([q, p], [np.array([1.0]), np.array([1e308, 0.0])])
    np.testing.assert_array_equal(p, [1.0, 2.0])
    np.testing.assert_array_equal(q, [3.0])
    with pytest.raises(FloatingPointError):
        Adam(lr=0.1).step([p], [np.array([np.nan, 0.0])])
    np.testing.assert_array_equal(p, [1.0, 2.0])
