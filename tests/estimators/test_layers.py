"""Tests for estimators.layers: Dense and its initial weights, BatchNorm, Dropout and the output losses."""

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.neural_network._base import binary_log_loss, log_loss

from estimators.layers import (
    BatchNorm,
    Buffers,
    Dense,
    Dropout,
    SigmoidCrossEntropy,
    SoftmaxCrossEntropy,
    init_weights,
)


def numeric_gradient(f, array, h=1e-6):
    """Central differences of the scalar ``f()`` with respect to every entry of ``array``."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f()
        flat[i] = saved - h
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * h)
    return grad


@pytest.fixture
def rng():
    return np.random.default_rng(0)


# ------------------------------------------------------------------ Buffers


def test_buffers_reuse_and_reallocate():
    buffers = Buffers()
    a = buffers.get("x", (3, 4), np.float32)
    assert a.shape == (3, 4) and a.dtype == np.float32
    assert buffers.get("x", (3, 4), np.float32) is a
    assert buffers.get("x", (2, 4), np.float32) is not a
    assert buffers.get("x", (2, 4), np.float64).dtype == np.float64
    buffers.clear()
    assert buffers._arrays == {}


# -------------------------------------------------------------------- Dense


def test_dense_forward_and_backward(rng):
    x = rng.normal(size=(6, 4))
    coef, intercept = rng.normal(size=(4, 3)), rng.normal(size=3)
    dense = Dense(coef, intercept)
    out = dense.forward(x, training=True)
    np.testing.assert_allclose(out, x @ coef + intercept, rtol=1e-12)
    np.testing.assert_allclose(dense.forward(x, training=False), x @ coef + intercept, rtol=1e-12)

    grad = rng.normal(size=(6, 3))
    dense.forward(x, training=True)
    grad_x = dense.backward(grad)
    np.testing.assert_allclose(dense.coef_grad, x.T @ grad, rtol=1e-12)
    np.testing.assert_allclose(dense.intercept_grad, grad.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(grad_x, grad @ coef.T, rtol=1e-12)
    assert dense.params[0] is coef and dense.params[1] is intercept
    assert dense.grads == (dense.coef_grad, dense.intercept_grad)
    assert dense.param_names == ("coef", "intercept")


def test_dense_without_input_gradient_returns_none(rng):
    dense = Dense(rng.normal(size=(4, 3)), rng.normal(size=3), input_grad=False)
    dense.forward(rng.normal(size=(5, 4)), training=True)
    assert dense.backward(rng.normal(size=(5, 3))) is None
    assert np.any(dense.coef_grad != 0)


def test_dense_without_trained_intercept(rng):
    intercept = rng.normal(size=3)
    dense = Dense(rng.normal(size=(4, 3)), intercept, train_intercept=False)
    assert np.all(intercept == 0), "the shared intercept array is zeroed in place"
    assert dense.param_names == ("coef",) and len(dense.params) == len(dense.grads) == 1


def test_dense_inference_output_is_not_a_training_buffer(rng):
    x = rng.normal(size=(5, 4))
    dense = Dense(rng.normal(size=(4, 3)), rng.normal(size=3))
    train_out = dense.forward(x, training=True)
    assert dense.forward(x, training=True) is train_out, "training reuses its buffer"
    predicted = dense.forward(x, training=False)
    kept = predicted.copy()
    dense.forward(rng.normal(size=(5, 4)), training=True)
    np.testing.assert_array_equal(predicted, kept)


def test_dense_keeps_float32(rng):
    dense = Dense(rng.normal(size=(4, 3)).astype(np.float32), np.zeros(3, np.float32))
    x = rng.normal(size=(5, 4)).astype(np.float32)
    assert dense.forward(x, training=True).dtype == np.float32
    assert dense.backward(np.ones((5, 3), np.float32)).dtype == np.float32


# ---------------------------------------------------------------- BatchNorm


def test_batchnorm_training_normalises_and_tracks_running_stats(rng):
    x = rng.normal(loc=3.0, scale=2.0, size=(50, 4))
    bn = BatchNorm(4, np.float64)
    bn.gamma[:] = [1.0, 2.0, 0.5, -1.0]
    bn.beta[:] = [0.0, 1.0, -1.0, 3.0]
    out = bn.forward(x, training=True)
    x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)
    np.testing.assert_allclose(out, x_hat * bn.gamma + bn.beta, rtol=1e-10)
    # running averages: momentum 0.9 is the weight of the old value
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * x.var(axis=0), rtol=1e-12)
    assert bn.state == (bn.running_mean, bn.running_var)


def test_batchnorm_inference_uses_running_stats(rng):
    bn = BatchNorm(3, np.float64)
    for _ in range(200):
        bn.forward(rng.normal(loc=5.0, scale=3.0, size=(64, 3)), training=True)
    np.testing.assert_allclose(bn.running_mean, 5.0, atol=0.3)
    np.testing.assert_allclose(bn.running_var, 9.0, rtol=0.15)
    x = rng.normal(size=(4, 3))
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + 1e-5) * bn.gamma + bn.beta
    before = bn.running_mean.copy()
    np.testing.assert_allclose(bn.forward(x, training=False), expected, rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean, before)
    # Inference on a single sample is well defined (no batch statistics).
    assert np.all(np.isfinite(bn.forward(x[:1], training=False)))


def test_batchnorm_backward_matches_finite_differences(rng):
    x = rng.normal(size=(7, 3))
    upstream = rng.normal(size=(7, 3))
    bn = BatchNorm(3, np.float64)
    bn.gamma[:] = rng.normal(size=3)
    bn.beta[:] = rng.normal(size=3)

    def objective():
        return float((bn.forward(x, training=True) * upstream).sum())

    bn.forward(x, training=True)
    grad_x = bn.backward(upstream.copy())
    analytic = {"x": grad_x, "gamma": bn.gamma_grad.copy(), "beta": bn.beta_grad.copy()}
    numeric = {"x": numeric_gradient(objective, x),
               "gamma": numeric_gradient(objective, bn.gamma),
               "beta": numeric_gradient(objective, bn.beta)}
    for name in analytic:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=1e-8,
                                   err_msg=name)


# ------------------------------------------------------------------ Dropout


def test_dropout_is_identity_at_inference(rng):
    layer = Dropout(0.5, np.random.default_rng(0))
    x = rng.normal(size=(10, 10))
    np.testing.assert_array_equal(layer.forward(x.copy(), training=False), x)
    assert layer.params == layer.grads == layer.param_names == ()


def test_dropout_training_drops_and_rescales(rng):
    rate = 0.3
    layer = Dropout(rate, np.random.default_rng(0))
    x = np.ones((200, 100))
    y = layer.forward(x.copy(), training=True)
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-12)
    assert abs(y.mean() - 1) < 0.03, "inverted dropout keeps the expectation"
    grad = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(grad == 0, y == 0)
    np.testing.assert_allclose(grad[grad != 0], 2 / (1 - rate))


def test_dropout_masks_differ_between_batches():
    layer = Dropout(0.5, np.random.default_rng(0))
    # a training output lives in the layer's buffer until its next forward pass
    first = layer.forward(np.ones((20, 20)), training=True).copy()
    second = layer.forward(np.ones((20, 20)), training=True)
    assert not np.array_equal(first, second)


def test_dropout_keeps_float32():
    layer = Dropout(0.5, np.random.default_rng(0))
    assert layer.forward(np.ones((4, 4), np.float32), training=True).dtype == np.float32


# ------------------------------------------------------------------- losses


def test_softmax_forward_and_loss_match_sklearn(rng):
    z = rng.normal(scale=3, size=(8, 4))
    labels = rng.integers(0, 4, 8)
    Y = np.eye(4)[labels]
    out = SoftmaxCrossEntropy()
    prob = out.forward(z.copy())
    np.testing.assert_allclose(prob, softmax(z, axis=1), rtol=1e-12)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)
    assert out.loss(prob, Y) == pytest.approx(log_loss(Y, prob), rel=1e-12)
    w = rng.uniform(0.1, 2.0, 8)
    assert out.loss(prob, Y, w) == pytest.approx(log_loss(Y, prob, w), rel=1e-12)


def test_softmax_is_stable_for_large_logits():
    prob = SoftmaxCrossEntropy().forward(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(prob, [[1.0, 0.0, 0.0]])
    loss = SoftmaxCrossEntropy().loss(prob, np.array([[0.0, 0.0, 1.0]]))
    assert np.isfinite(loss) and loss > 30


def test_softmax_backward(rng):
    prob = softmax(rng.normal(size=(5, 3)), axis=1)
    Y = np.eye(3)[[0, 1, 2, 0, 1]]
    w = rng.uniform(0.5, 2, 5)
    expected = (prob - Y) * w[:, None] / w.sum()
    grad = SoftmaxCrossEntropy().backward(prob.copy(), Y, w, w.sum())
    np.testing.assert_allclose(grad, expected, rtol=1e-12)
    grad = SoftmaxCrossEntropy().backward(prob.copy(), Y, None, 5)
    np.testing.assert_allclose(grad, (prob - Y) / 5, rtol=1e-12)


@pytest.mark.parametrize("n_outputs", [1, 3])
def test_sigmoid_loss_matches_sklearn(rng, n_outputs):
    z = rng.normal(scale=2, size=(9, n_outputs))
    Y = rng.integers(0, 2, size=(9, n_outputs)).astype(float)
    out = SigmoidCrossEntropy()
    prob = out.forward(z.copy())
    np.testing.assert_allclose(prob, expit(z), rtol=1e-12)
    assert out.loss(prob, Y) == pytest.approx(binary_log_loss(Y, prob), rel=1e-12)
    w = rng.uniform(0.1, 2.0, 9)
    assert out.loss(prob, Y, w) == pytest.approx(binary_log_loss(Y, prob, w), rel=1e-12)
    grad = out.backward(prob.copy(), Y, w, w.sum())
    np.testing.assert_allclose(grad, (prob - Y) * w[:, None] / w.sum(), rtol=1e-12)
    assert (out.name, SoftmaxCrossEntropy.name) == ("logistic", "softmax")


def test_softmax_gradient_is_the_derivative_of_the_loss(rng):
    z = rng.normal(size=(4, 3))
    Y = np.eye(3)[[2, 0, 1, 1]]
    out = SoftmaxCrossEntropy()

    def objective():
        return out.loss(out.forward(z.copy()), Y)

    analytic = out.backward(out.forward(z.copy()), Y, None, 4)
    np.testing.assert_allclose(analytic, numeric_gradient(objective, z), rtol=1e-6, atol=1e-9)


def test_correct_counts_rows_predicted_right():
    prob = np.array([[0.7, 0.2, 0.1], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    Y = np.eye(3)[[0, 0, 1]]
    assert SoftmaxCrossEntropy().correct(prob, Y) == 2
    # binary: one column; multilabel: a row counts only when every label is right
    assert SigmoidCrossEntropy().correct(np.array([[0.9], [0.2], [0.6]]),
                                         np.array([[1.0], [1.0], [1.0]])) == 2
    assert SigmoidCrossEntropy().correct(np.array([[0.9, 0.1], [0.9, 0.9]]),
                                         np.array([[1.0, 0.0], [1.0, 0.0]])) == 1


@pytest.mark.parametrize("method, gain", [("he_normal", 2.0), ("lecun_normal", 1.0)])
def test_normal_weight_init_scale(method, gain):
    rng = np.random.RandomState(0)
    fan_in, fan_out = 400, 500
    coef, intercept = init_weights(rng, fan_in, fan_out, method, "relu", np.float32)
    assert coef.shape == (fan_in, fan_out) and coef.dtype == np.float32
    assert coef.std() == pytest.approx(np.sqrt(gain / fan_in), rel=0.02)
    assert abs(coef.mean()) < 0.01 * np.sqrt(gain / fan_in) * 10
    np.testing.assert_array_equal(intercept, 0)


def test_glorot_uniform_bound():
    coef, intercept = init_weights(np.random.RandomState(0), 300, 200, "glorot_uniform",
                                   "relu", np.float64)
    bound = np.sqrt(6 / 500)
    assert np.abs(coef).max() <= bound and np.abs(coef).max() > 0.99 * bound
    assert np.abs(intercept).max() <= bound and np.abs(intercept).std() > 0
    sig, _ = init_weights(np.random.RandomState(0), 300, 200, "glorot_uniform", "sigmoid", np.float64)
    np.testing.assert_allclose(sig, coef * np.sqrt(2 / 6), rtol=1e-9)
