"""Tests for estimators.network: layer order, parameters, loss and gradients."""

import numpy as np
import pytest

from estimators.activations import ACTIVATIONS
from estimators.layers import BatchNorm, Dense, Dropout
from estimators.network import Network
from tests.estimators.test_layers import numeric_gradient

NAMES = [n for n in ACTIVATIONS if n != "logistic"]


def make_network(activation="relu", batch_norm=None, dropout=0.0, sizes=(5, 7, 6, 3),
                 output="softmax", slope=0.3, prelu_per="layer", seed=0, dtype=np.float64):
    rng = np.random.RandomState(seed)
    coefs = [(rng.normal(size=(a, b)) * 0.6).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:])]
    intercepts = [(rng.normal(size=b) * 0.2).astype(dtype) for b in sizes[1:]]
    noise = np.random.default_rng(seed + 1)
    net = Network(coefs, intercepts, output, activation, slope=slope, prelu_per=prelu_per,
                  batch_norm=batch_norm, dropout=dropout, rng=noise)
    return net, coefs, intercepts, noise


def data(n=16, n_features=5, n_classes=3, seed=0):
    rng = np.random.RandomState(seed)
    return rng.normal(size=(n, n_features)), np.eye(n_classes)[rng.randint(0, n_classes, n)]


def loss_of(result):
    """The loss from ``loss_and_gradients``, which may also return the count of rows right."""
    return result[0] if isinstance(result, tuple) else result


def layer_kinds(net):
    return [type(layer).__name__ for layer in net.layers]


@pytest.mark.parametrize("batch_norm, dropout, block", [
    (None, 0.0, ["Tanh"]),
    ("before", 0.0, ["BatchNorm", "Tanh"]),
    ("after", 0.0, ["Tanh", "BatchNorm"]),
    (None, 0.2, ["Tanh", "Dropout"]),
    ("before", 0.2, ["BatchNorm", "Tanh", "Dropout"]),
    ("after", 0.2, ["Tanh", "BatchNorm", "Dropout"]),
])
def test_layer_order(batch_norm, dropout, block):
    net, *_ = make_network("tanh", batch_norm, dropout)
    assert layer_kinds(net) == ["Dense", *block, "Dense", *block, "Dense"]
    assert [type(d) for d in net.dense] == [Dense] * 3
    assert not net.dense[0].input_grad and all(d.input_grad for d in net.dense[1:])


def test_network_trains_the_shared_arrays():
    net, coefs, intercepts, _ = make_network()
    assert all(d.coef is c for d, c in zip(net.dense, coefs))
    assert all(d.intercept is b for d, b in zip(net.dense, intercepts))
    assert len(net.params) == len(net.grads)
    assert all(p.shape == g.shape for p, g in zip(net.params, net.grads))


def test_intercepts_before_batch_norm_are_not_trained():
    net, coefs, intercepts, _ = make_network("relu", "before")
    assert np.all(intercepts[0] == 0) and np.all(intercepts[1] == 0)
    assert np.any(intercepts[2] != 0), "the output layer keeps its intercept"
    trained = {id(p) for p in net.params}
    assert id(intercepts[0]) not in trained and id(intercepts[1]) not in trained
    assert id(intercepts[2]) in trained
    # "after" keeps them
    net, _, intercepts, _ = make_network("relu", "after")
    assert all(id(b) in {id(p) for p in net.params} for b in intercepts)


def test_named_parameters():
    net, *_ = make_network("prelu", "after", prelu_per="unit")
    names = [name for name, _, _ in net.named_parameters()]
    assert names == ["coef_0", "intercept_0", "slope_0", "gamma_0", "beta_0",
                     "coef_1", "intercept_1", "slope_1", "gamma_1", "beta_1",
                     "coef_2", "intercept_2"]
    for name, param, grad in net.named_parameters():
        assert param.shape == grad.shape
    slopes = dict((n, p) for n, p, _ in net.named_parameters())
    assert slopes["slope_0"].shape == (7,) and slopes["slope_1"].shape == (6,)


def test_forward_gives_probabilities_and_keeps_input():
    net, *_ = make_network("gelu", "before", 0.5)
    X, _ = data()
    kept = X.copy()
    prob = net.forward(X)
    np.testing.assert_array_equal(X, kept)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.forward(X), prob), "inference is deterministic"


def test_logistic_output():
    net, *_ = make_network(sizes=(5, 4, 2), output="logistic")
    X, _ = data()
    prob = net.forward(X)
    assert prob.shape == (16, 2) and np.all((prob > 0) & (prob < 1))
    assert not np.allclose(prob.sum(axis=1), 1.0)


def test_loss_adds_sklearns_l2_penalty():
    net, coefs, *_ = make_network()
    X, Y = data()
    plain, _ = net.loss(X, Y)
    squared = sum(float((c**2).sum()) for c in coefs)
    assert net.squared_weight_norm() == pytest.approx(squared, rel=1e-12)
    assert net.loss(X, Y, alpha=0.3)[0] == pytest.approx(plain + 0.5 * 0.3 * squared / 16, rel=1e-12)
    w = np.linspace(0.5, 2.0, 16)
    weighted, _ = net.loss(X, Y, sample_weight=w)
    assert net.loss(X, Y, alpha=0.3, sample_weight=w)[0] == pytest.approx(
        weighted + 0.5 * 0.3 * squared / w.sum(), rel=1e-12)


def _fixed_noise_gradient_errors(net, noise, X, Y, alpha=0.0, sample_weight=None, h=1e-6):
    """Relative error per parameter, replaying the same dropout masks for every loss."""
    state = noise.bit_generator.state

    def loss():
        noise.bit_generator.state = state
        return net.loss(X, Y, alpha, sample_weight)[0]

    noise.bit_generator.state = state
    net.loss_and_gradients(X, Y, alpha, sample_weight)
    errors = {}
    for name, param, grad in net.named_parameters():
        analytic = grad.reshape(-1).copy()
        numeric = numeric_gradient(loss, param, h).reshape(-1)
        if max(np.abs(analytic).max(), np.abs(numeric).max()) < 1e-8:
            errors[name] = 0.0  # zero by structure
        else:
            errors[name] = float(np.linalg.norm(analytic - numeric)
                                 / (np.linalg.norm(analytic) + np.linalg.norm(numeric)))
    return errors


@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
@pytest.mark.parametrize("activation", NAMES)
def test_gradients_without_dropout(activation, batch_norm):
    net, _, _, noise = make_network(activation, batch_norm, sizes=(5, 4, 3, 3))
    X, Y = data()
    w = np.linspace(0.2, 2.0, 16)
    errors = _fixed_noise_gradient_errors(net, noise, X, Y, alpha=0.2, sample_weight=w)
    assert max(errors.values()) < 1e-6, errors


def _dropout_cases():
    # Sigmoid, tanh, elu and swish keep their output for the backward pass:
    # dropout after them must not scale it in place.
    for activation in NAMES:
        for batch_norm in (None, "before", "after"):
            yield pytest.param(activation, batch_norm, id=f"{activation}-{batch_norm}")


@pytest.mark.parametrize("activation, batch_norm", list(_dropout_cases()))
def test_gradients_with_dropout(activation, batch_norm):
    """With the masks held fixed, dropout is a fixed linear map: gradients must still be exact."""
    net, _, _, noise = make_network(activation, batch_norm, dropout=0.5, sizes=(5, 4, 3, 3))
    X, Y = data()
    errors = _fixed_noise_gradient_errors(net, noise, X, Y, alpha=0.1)
    assert max(errors.values()) < 1e-6, errors


def test_loss_and_gradients_returns_the_loss_and_rows_right():
    net, *_ = make_network("tanh", "after")
    X, Y = data()
    expected, prob = net.loss(X, Y, alpha=0.2)
    right = int((prob.argmax(axis=1) == Y.argmax(axis=1)).sum())
    result = net.loss_and_gradients(X, Y, alpha=0.2)
    assert loss_of(result) == pytest.approx(expected, rel=1e-12)
    if isinstance(result, tuple):
        assert result[1] == right


def test_prelu_slopes():
    net, *_ = make_network("prelu", prelu_per="unit")
    slopes = net.prelu_slopes()
    assert [s.shape for s in slopes] == [(7,), (6,)]
    slopes[0][:] = 42.0
    assert not np.any(net.prelu_slopes()[0] == 42.0), "prelu_slopes returns copies"


def test_snapshot_restore_and_is_finite():
    net, coefs, *_ = make_network("relu", "before")
    X, Y = data()
    net.loss_and_gradients(X, Y)  # moves the running statistics
    saved = net.snapshot()
    assert len(saved) == len(net.params) + 4  # + running mean and var of 2 BN layers
    prob = net.forward(X)
    coefs[0] += 1.0
    bn = [layer for layer in net.layers if isinstance(layer, BatchNorm)][0]
    bn.running_mean += 3.0
    assert not np.allclose(net.forward(X), prob)
    net.restore(saved)
    np.testing.assert_array_equal(net.forward(X), prob)
    assert net.is_finite()
    coefs[1][0, 0] = np.nan
    assert not net.is_finite()
    net.restore(saved)
    bn.running_var[0] = np.inf
    assert not net.is_finite()


def test_release_buffers_drops_caches_and_keeps_working():
    net, *_ = make_network("leaky_relu", "after", dropout=0.3)
    X, Y = data()
    net.loss_and_gradients(X, Y)
    net.release_buffers()
    for layer in net.layers:
        assert not [name for name in vars(layer) if name.startswith("_")], layer
        if isinstance(layer, Dense):
            assert layer.buffers._arrays == {}
    assert np.isfinite(loss_of(net.loss_and_gradients(X, Y)))
    assert any(isinstance(layer, Dropout) for layer in net.layers)


def test_float32_network_stays_float32():
    net, *_ = make_network("swish", "before", 0.2, dtype=np.float32)
    X, Y = data()
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    net.loss_and_gradients(X, Y, alpha=0.1)
    assert all(g.dtype == np.float32 for g in net.grads)
    assert net.forward(X).dtype == np.float32
