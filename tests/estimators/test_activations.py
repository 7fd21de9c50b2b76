"""Tests for estimators.activations: formulas, derivatives, the registry."""

import copy
import pickle

import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm
from sklearn.base import clone

from estimators import MLPClassifier
from estimators.activations import (
    ACTIVATIONS,
    Activation,
    FusedActivation,
    LeakyReLU,
    PReLU,
    ReLU,
    Sigmoid,
    make_activation,
    register_activation,
)
from estimators.layers import Dense

BUILTIN = ["identity", "relu", "leaky_relu", "prelu", "sigmoid", "logistic", "tanh",
           "lecun_tanh", "elu", "gelu", "swish"]

# A grid that avoids the kink at 0 (so finite differences are clean) but
# includes values close to it on both sides.
GRID = np.concatenate([np.linspace(-4, -0.01, 23), np.linspace(0.01, 4, 23)]).reshape(2, 23)


def formula(name, x, slope):
    """The textbook definition of each activation, written independently of the code."""
    return {
        "identity": lambda: x,
        "relu": lambda: np.maximum(x, 0),
        "leaky_relu": lambda: np.where(x >= 0, x, slope * x),
        "prelu": lambda: np.where(x >= 0, x, slope * x),
        "sigmoid": lambda: 1 / (1 + np.exp(-x)),
        "logistic": lambda: 1 / (1 + np.exp(-x)),
        "tanh": lambda: np.tanh(x),
        "lecun_tanh": lambda: 1.7159 * np.tanh(2 * x / 3) + 0.01 * x,
        "elu": lambda: np.where(x > 0, x, np.exp(x) - 1),
        "gelu": lambda: x * norm.cdf(x),
        "swish": lambda: x / (1 + np.exp(-x)),
    }[name]()


def forward(name, x, slope=0.01, per="layer", training=True):
    layer = make_activation(name, slope=slope, prelu_per=per)
    layer.build(x.shape[1], x.dtype)
    return layer, layer.forward(x.copy(), training)


def test_registry_holds_the_builtin_names():
    assert set(BUILTIN) <= set(ACTIVATIONS)
    assert all(issubclass(cls, Activation) for cls in ACTIVATIONS.values())
    assert ACTIVATIONS["logistic"] is ACTIVATIONS["sigmoid"]


@pytest.mark.parametrize("name", [n for n in BUILTIN if n not in ("leaky_relu", "prelu")])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
def test_forward_matches_formula(name, dtype, rtol, each_path):
    x = GRID.astype(dtype)
    _, y = forward(name, x)
    assert y.dtype == dtype, "the float32 path must stay float32"
    np.testing.assert_allclose(y, formula(name, GRID, 0.01), rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", ["leaky_relu", "prelu"])
@pytest.mark.parametrize("slope", [-0.5, 0.0, 1.0, 3.0])
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)])
def test_leaky_and_prelu_forward_for_any_slope(name, slope, dtype, rtol, each_path):
    x = GRID.astype(dtype)
    _, y = forward(name, x, slope=slope)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, formula(name, GRID, slope), rtol=rtol, atol=rtol)


def test_leaky_relu_with_slope_one_is_exactly_the_identity():
    x = GRID.copy()
    layer, y = forward("leaky_relu", x, slope=1.0)
    np.testing.assert_array_equal(y, x)
    grad = np.random.default_rng(0).normal(size=x.shape)
    np.testing.assert_array_equal(layer.backward(grad.copy()), grad)


def test_lecun_tanh_constants():
    # 1.7159 * tanh(2/3) + 0.01: about 1.0 at x = 1 (LeCun's unit gain).
    _, y = forward("lecun_tanh", np.array([[1.0, -1.0, 0.0]]))
    np.testing.assert_allclose(y[0], [1.7159 * np.tanh(2 / 3) + 0.01,
                                      -1.7159 * np.tanh(2 / 3) - 0.01, 0.0], rtol=1e-14)
    assert abs(y[0, 0] - 1.0) < 0.02


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("slope", [-0.3, 0.01, 2.0])
def test_backward_matches_numeric_derivative(name, slope, each_path):
    h = 1e-6
    layer, _ = forward(name, GRID, slope=slope)
    upstream = np.random.default_rng(1).normal(size=GRID.shape)
    analytic = layer.backward(upstream.copy())
    numeric = (forward(name, GRID + h, slope=slope)[1]
               - forward(name, GRID - h, slope=slope)[1]) / (2 * h)
    np.testing.assert_allclose(analytic, upstream * numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("per, shape", [("layer", (1,)), ("unit", (23,))])
def test_prelu_slope_gradient(per, shape, each_path):
    layer, _ = forward("prelu", GRID, slope=0.2, per=per)
    assert layer.slopes.shape == shape
    assert layer.param_names == ("slope",)
    assert layer.params[0] is layer.slopes and layer.grads[0] is layer.slopes_grad
    upstream = np.random.default_rng(2).normal(size=GRID.shape)
    layer.backward(upstream.copy())
    per_unit = (upstream * np.minimum(GRID, 0)).sum(axis=0)
    expected = per_unit if per == "unit" else [per_unit.sum()]
    np.testing.assert_allclose(layer.slopes_grad, expected, rtol=1e-12)


def biased(name, dtype=np.float64, slope=-0.3, per="unit"):
    """An activation that adds (and differentiates) the bias of a Dense layer, as the network sets it."""
    rng = np.random.default_rng(3)
    dense = Dense(rng.normal(size=(2, GRID.shape[1])).astype(dtype), rng.normal(size=GRID.shape[1]).astype(dtype))
    layer = make_activation(name, slope=slope, prelu_per=per)
    layer.build(GRID.shape[1], dtype)
    if name != "identity":
        layer.bias_of, dense.bias_later = dense, True
    return layer, dense


def forward_and_backward(name, dtype, training):
    """Everything one batch's passes produce: output, input gradient, bias and slope gradients."""
    layer, dense = biased(name, dtype)
    y = layer.forward(GRID.astype(dtype), training)
    if not training:
        return [y]
    grad = layer.backward(np.random.default_rng(4).normal(size=GRID.shape).astype(dtype))
    return [y, grad, dense.intercept_grad.copy()] + [g.copy() for g in layer.grads]


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-10), (np.float32, 1e-5)])
def test_each_activation_gives_the_same_numbers_on_both_paths(name, training, dtype, tolerance, both_paths):
    ours, numpys = both_paths(lambda: forward_and_backward(name, dtype, training))
    for a, b in zip(ours, numpys, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("name", [n for n in BUILTIN if n != "identity"])
def test_the_bias_added_in_the_activation_is_the_bias_added_before_it(name, each_path):
    layer, dense = biased(name)
    upstream = np.random.default_rng(5).normal(size=GRID.shape)
    y = layer.forward(GRID.copy(), training=True)
    grad = layer.backward(upstream.copy())
    plain = make_activation(name, slope=-0.3, prelu_per="unit")
    plain.build(GRID.shape[1], np.float64)
    np.testing.assert_allclose(y, plain.forward(GRID + dense.intercept), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(grad, plain.backward(upstream.copy()), rtol=1e-15, atol=1e-15)
    np.testing.assert_allclose(dense.intercept_grad, grad.sum(axis=0), rtol=1e-13)
    # inference: the Dense layer adds its bias, the activation none
    np.testing.assert_allclose(layer.forward(GRID + dense.intercept, training=False), y, rtol=1e-15)


def test_the_network_hands_a_bias_to_the_activation_right_after_its_dense_layer(small_digits):
    X, y = small_digits
    for batch_norm, fused in ((None, True), ("after", True), ("before", False)):
        network = MLPClassifier((8, 6), activation="tanh", batch_norm=batch_norm, max_iter=1).fit(X, y)._network
        activations = [layer for layer in network.layers if isinstance(layer, Activation)]
        assert [d.bias_later for d in network.dense] == [fused, fused, False]
        assert [a.bias_of for a in activations] == (network.dense[:2] if fused else [None, None])


def test_an_activation_without_kernels_leaves_the_bias_to_the_dense_layer(softsign_registered, small_digits):
    X, y = small_digits
    network = MLPClassifier((8,), activation=softsign_registered, max_iter=1).fit(X, y)._network
    assert not any(d.bias_later for d in network.dense)
    assert not isinstance(network.layers[1], FusedActivation)


@pytest.mark.parametrize("name", BUILTIN)
def test_a_whole_fit_is_the_same_on_both_paths(name, both_paths, small_digits):
    X, y = small_digits

    def fit():
        model = MLPClassifier((12, 8), activation=name, slope=-0.2, dtype="float64", solver="sgd",
                              learning_rate_init=0.05, max_iter=3, batch_size=50, random_state=0).fit(X, y)
        return model.coefs_ + model.intercepts_ + model.prelu_slopes_

    for ours, numpys in zip(*both_paths(fit), strict=True):
        np.testing.assert_allclose(ours, numpys, rtol=1e-10, atol=1e-10)


def test_prelu_per_unit_uses_each_units_slope():
    layer = make_activation("prelu", slope=0.5, prelu_per="unit")
    layer.build(3, np.float64)
    layer.slopes[:] = [0.5, -1.0, 2.0]
    y = layer.forward(np.array([[-1.0, -1.0, -1.0], [1.0, 2.0, 3.0]]))
    np.testing.assert_array_equal(y, [[-0.5, 1.0, -2.0], [1.0, 2.0, 3.0]])


def test_relu_and_sigmoid_classes():
    assert isinstance(make_activation("relu", slope=0.7), ReLU)
    _, y = forward("relu", GRID, slope=0.7)  # relu ignores slope
    np.testing.assert_array_equal(y, np.maximum(GRID, 0))
    assert isinstance(make_activation("logistic"), Sigmoid)
    np.testing.assert_allclose(forward("logistic", GRID)[1], expit(GRID), rtol=1e-15)


def test_make_activation_passes_slope_and_per():
    leaky = make_activation("leaky_relu", slope=-0.25)
    assert isinstance(leaky, LeakyReLU) and leaky.slope == -0.25
    prelu = make_activation("prelu", slope=0.3, prelu_per="unit")
    assert isinstance(prelu, PReLU) and (prelu.slope, prelu.per) == (0.3, "unit")


def test_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        make_activation("no_such_activation")


def test_base_class_needs_function_and_derivative():
    with pytest.raises(NotImplementedError):
        Activation().forward(np.ones((2, 2)))
    with pytest.raises(NotImplementedError):
        Activation().derivative(np.ones(2), np.ones(2))


# ----------------------------------------------------------- registration


class Softsign(Activation):
    """Module level, so that estimators using it can be pickled."""

    def function(self, x):
        return x / (1 + np.abs(x))

    def derivative(self, x, y):
        return 1 / (1 + np.abs(x)) ** 2


class Counting(Activation):
    """An activation with state: counts its forward calls."""

    def __init__(self):
        self.calls = 0

    def function(self, x):
        self.calls += 1
        return np.tanh(x)

    def derivative(self, x, y):
        return 1 - y**2


@pytest.fixture
def softsign_registered():
    name = "test_softsign"
    register_activation(name, Softsign)
    yield name
    ACTIVATIONS.pop(name, None)


def test_register_activation_by_name_works_in_the_estimator(softsign_registered, small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), activation=softsign_registered, max_iter=3, random_state=0)
    clf.fit(X, y)
    assert clf.n_iter_ == 3
    assert isinstance(clf._network.layers[1], Softsign)
    # The registered function is really what the network computes.
    hidden = np.asarray(X @ clf.coefs_[0] + clf.intercepts_[0], dtype=np.float64)
    logits = (hidden / (1 + np.abs(hidden))) @ clf.coefs_[1] + clf.intercepts_[1]
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(clf.predict_proba(X), prob, rtol=1e-4, atol=1e-6)

    twin = clone(clf).fit(X, y)
    assert twin.activation == softsign_registered
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_register_activation_rejects_bad_input():
    with pytest.raises(TypeError):
        register_activation("not_an_activation", dict)
    with pytest.raises(TypeError):
        register_activation("an_instance", Softsign())
    with pytest.raises(TypeError):
        register_activation("a_function", np.tanh)
    with pytest.raises(ValueError):
        register_activation("", Softsign)
    with pytest.raises(ValueError):
        register_activation(None, Softsign)
    assert not {"not_an_activation", "an_instance", "a_function", ""} & set(ACTIVATIONS)


def test_make_activation_deep_copies_instances():
    original = PReLU(slope=0.2, per="unit")
    first, second = make_activation(original), make_activation(original)
    assert first is not original and second is not first
    first.build(4, np.float64)
    second.build(4, np.float64)
    first.slopes[:] = 9.0
    assert np.all(second.slopes == 0.2)
    assert not hasattr(original, "slopes"), "building a copy must not touch the user's instance"


def test_instance_activation_layers_do_not_share_state(small_digits):
    X, y = small_digits
    user = Counting()
    clf = MLPClassifier((8, 8, 8), activation=user, max_iter=2, random_state=0).fit(X, y)
    hidden = [layer for layer in clf._network.layers if isinstance(layer, Counting)]
    assert len(hidden) == 3
    assert len({id(layer) for layer in hidden}) == 3
    assert all(layer is not user for layer in hidden)
    assert user.calls == 0, "the estimator must not run the user's own instance"
    assert all(layer.calls > 0 for layer in hidden)
    # An instance parameter survives clone (as a copy) and still fits.
    twin = clone(clf)
    assert isinstance(twin.activation, Counting) and twin.activation is not user
    twin.fit(X, y)
    np.testing.assert_allclose(twin.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_deepcopy_of_built_prelu_is_independent():
    layer = make_activation("prelu", slope=0.1, prelu_per="unit")
    layer.build(3, np.float32)
    twin = copy.deepcopy(layer)
    twin.slopes += 1
    np.testing.assert_array_equal(layer.slopes, np.full(3, 0.1, np.float32))


def test_a_prelu_pickled_with_its_old_alpha_name_loads_as_slopes():
    # Models registered before the rename stored PReLU's learned slopes as 'alpha'.
    layer = make_activation("prelu", slope=0.1, prelu_per="unit")
    layer.build(3, np.float64)
    state = dict(layer.__dict__)
    state["alpha"], state["alpha_grad"] = state.pop("slopes"), state.pop("slopes_grad")
    state["alpha"][:] = [0.5, -1.0, 2.0]
    old = object.__new__(type(layer))
    old.__setstate__(state)
    assert not hasattr(old, "alpha")
    np.testing.assert_array_equal(old.slopes, [0.5, -1.0, 2.0])
    assert old.params[0] is old.slopes and old.grads[0] is old.slopes_grad
    out = old.forward(np.array([[-1.0, -1.0, -1.0]]))
    np.testing.assert_array_equal(out, [[-0.5, 1.0, -2.0]])
