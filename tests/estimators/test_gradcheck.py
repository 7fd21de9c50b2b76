"""Tests for estimators.check_gradients: every configuration's gradients, and a negative control."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.utils.validation import check_is_fitted
from sklearn.exceptions import NotFittedError

from estimators import Activation, MLPClassifier, MLPRegressor, check_gradients, register_activation
from estimators.activations import ACTIVATIONS
from estimators.gradcheck import relative_error

# Taken at import, before any test registers its own: every built-in but the alias.
ACTIVATION_NAMES = [name for name in ACTIVATIONS if name != "logistic"]
TOL = 1e-6


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 4))
    y = np.arange(20) % 3
    return X, y


def test_every_builtin_is_checked():
    assert {"identity", "relu", "leaky_relu", "prelu", "sigmoid", "tanh", "lecun_tanh",
            "elu", "gelu", "swish"} <= set(ACTIVATION_NAMES)


@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
def test_gradients_of_every_activation_and_batch_norm(activation, batch_norm, batch, each_path):
    # each_path: the numba kernels and their NumPy path both give the gradient of the function
    X, y = batch
    est = MLPClassifier((6, 5), activation=activation, batch_norm=batch_norm, alpha=0.1,
                        slope=-0.3)
    errors = check_gradients(est, X, y)
    assert {"coef_0", "coef_1", "coef_2"} <= set(errors)
    if batch_norm:
        assert {"gamma_0", "beta_0", "gamma_1", "beta_1"} <= set(errors)
    else:
        assert not any(name.startswith(("gamma", "beta")) for name in errors)
    if activation == "prelu":
        assert {"slope_0", "slope_1"} <= set(errors)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("per", ["layer", "unit"])
@pytest.mark.parametrize("batch_norm", [None, "after"])
def test_prelu_slopes(per, batch_norm, batch, each_path):
    X, y = batch
    est = MLPClassifier((6, 5), activation="prelu", prelu_per=per, slope=0.25,
                        batch_norm=batch_norm, alpha=0.1)
    errors = check_gradients(est, X, y)
    assert {"slope_0", "slope_1"} <= set(errors)
    assert "slope_2" not in errors, "no PReLU after the output layer"
    assert max(errors.values()) < TOL, errors


def test_batch_norm_parameter_names(batch):
    X, y = batch
    for batch_norm in ("before", "after"):
        errors = check_gradients(MLPClassifier((4, 3, 5), batch_norm=batch_norm), X, y)
        assert {f"{p}_{i}" for p in ("gamma", "beta") for i in range(3)} <= set(errors)
        assert "gamma_3" not in errors


def test_intercept_names_follow_their_layer(batch):
    X, y = batch
    errors = check_gradients(MLPClassifier((4, 3), batch_norm="before"), X, y)
    assert "intercept_2" in errors and "intercept_0" not in errors


@pytest.mark.parametrize("activation", ["relu", "tanh", "prelu"])
@pytest.mark.parametrize("batch_norm", [None, "before"])
def test_sample_weight(activation, batch_norm, batch):
    X, y = batch
    weights = np.random.default_rng(1).uniform(0.1, 3.0, len(y))
    est = MLPClassifier((6,), activation=activation, batch_norm=batch_norm, alpha=0.1, slope=-0.3)
    errors = check_gradients(est, X, y, sample_weight=weights)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("activation", ["leaky_relu", "gelu"])
@pytest.mark.parametrize("target", ["binary", "multilabel", "strings"])
def test_binary_and_multilabel_targets(activation, target, batch):
    X, y = batch
    y = {"binary": y % 2,
         "multilabel": np.stack([y % 2, (y + 1) % 2, y == 2], axis=1).astype(int),
         "strings": np.array(["cat", "dog", "eel"])[y]}[target]
    est = MLPClassifier((6,), activation=activation, slope=-0.3, alpha=0.1, batch_norm="after")
    errors = check_gradients(est, X, y)
    assert max(errors.values()) < TOL, errors


def test_dropout_and_jitter_are_switched_off_and_estimator_untouched(batch):
    X, y = batch
    est = MLPClassifier((6,), activation="tanh", dropout=0.5, jitter=1.0, dtype="float32")
    errors = check_gradients(est, X, y)
    assert max(errors.values()) < TOL, errors
    assert (est.dropout, est.jitter, est.dtype) == (0.5, 1.0, "float32")
    with pytest.raises(NotFittedError):
        check_is_fitted(est)


def test_results_are_reproducible_and_random_state_matters(batch):
    X, y = batch
    est = MLPClassifier((6,), activation="swish", alpha=0.1)
    assert check_gradients(est, X, y) == check_gradients(est, X, y)
    assert check_gradients(est, X, y, random_state=1) != check_gradients(est, X, y)


def test_max_entries_bounds_the_work(batch, monkeypatch):
    X, y = batch
    import estimators.gradcheck as gc

    calls = []
    original = gc._central_difference

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(gc, "_central_difference", counting)
    check_gradients(MLPClassifier((50,)), X, y, max_entries=3)
    # coef_0 (200 entries), intercept_0 (50), coef_1 (150), intercept_1 (3): 3 each
    assert len(calls) == 12


# ------------------------------------------------------------ negative control


class WrongTanh(Activation):
    """tanh with a derivative that is off by a factor of 2: the check must notice."""

    def function(self, x):
        return np.tanh(x)

    def derivative(self, x, y):
        return 2 * (1 - y**2)


class SignFlippedLeaky(Activation):
    """Leaky ReLU whose negative-side derivative has the wrong sign."""

    def function(self, x):
        return np.where(x > 0, x, 0.5 * x)

    def derivative(self, x, y):
        return np.where(x > 0, 1.0, -0.5)


@pytest.fixture
def wrong_activations():
    register_activation("test_wrong_tanh", WrongTanh)
    register_activation("test_sign_flipped_leaky", SignFlippedLeaky)
    yield "test_wrong_tanh", "test_sign_flipped_leaky"
    ACTIVATIONS.pop("test_wrong_tanh", None)
    ACTIVATIONS.pop("test_sign_flipped_leaky", None)


def test_a_wrong_derivative_is_caught(wrong_activations, batch):
    X, y = batch
    for name in wrong_activations:
        for batch_norm in (None, "after"):
            errors = check_gradients(MLPClassifier((6,), activation=name, batch_norm=batch_norm),
                                     X, y)
            assert errors["coef_0"] > 1e-3, (name, batch_norm, errors)
            # The output layer's gradient does not go through the activation's derivative.
            assert errors["coef_1"] < TOL


def test_relative_error():
    a = np.array([1.0, -2.0, 3.0])
    assert relative_error(a, a) == 0.0
    assert relative_error(a, -a) == pytest.approx(1.0)
    assert relative_error(a, 2 * a) == pytest.approx(1 / 3)
    assert relative_error(np.full(3, 1e-10), np.full(3, -1e-10)) == 0.0  # both zero by structure
    assert relative_error(np.zeros(3), np.full(3, 1e-3)) == pytest.approx(1.0)


# --------------------------------------------------- regression and sparse input


@pytest.mark.parametrize("n_outputs", [1, 3])
@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("batch_norm", [None, "before", "after"])
@pytest.mark.parametrize("activation", ["identity", "relu", "prelu", "tanh", "gelu"])
def test_regressor_gradients(activation, batch_norm, loss, n_outputs):
    if activation == "identity" and batch_norm == "after":
        # Each batch norm removes the shifts before it: those gradients are zero by structure,
        # and the Poisson loss is large enough that central differences only resolve round-off.
        pytest.skip("structurally zero gradients below the finite differences' round-off")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 4))
    y = np.abs(rng.normal(size=(20, n_outputs))).squeeze()  # Poisson needs y >= 0
    est = MLPRegressor(loss=loss, hidden_layer_sizes=(6, 5), activation=activation,
                       batch_norm=batch_norm, alpha=0.1, slope=-0.3)
    errors = check_gradients(est, X, y)
    assert {"coef_0", "coef_1", "coef_2"} <= set(errors)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("batch_norm", [None, "before"])
@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
def test_gradients_with_sparse_input(sparse_format, batch_norm, batch):
    X, y = batch
    X = sparse.random(20, 4, density=0.4, format=sparse_format, random_state=0) + 0 * X[0, 0]
    errors = check_gradients(MLPClassifier((6,), batch_norm=batch_norm, alpha=0.1), X, y)
    assert "coef_0" in errors and max(errors.values()) < TOL, errors
