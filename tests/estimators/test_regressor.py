"""MLPRegressor: sklearn's parameters and attributes, and the classifier's additions."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_diabetes
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from sklearn.preprocessing import scale
from sklearn.utils.estimator_checks import parametrize_with_checks

from estimators import MLPRegressor

SAMPLE_WEIGHT_REASON = (
    "mini-batch SGD and Adam: repeating a sample changes the batches, so weights equal "
    "repeats only in expectation (sklearn runs this check on lbfgs only)"
)


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return scale(X), scale(y)


@parametrize_with_checks(
    [
        MLPRegressor(),
        MLPRegressor(solver="lbfgs", dtype=None),  # float32 rounding is above the check's 1e-7
        MLPRegressor(activation="prelu", prelu_per="unit", batch_norm="after"),
        MLPRegressor(activation="leaky_relu", slope=-0.5, dropout=0.2, batch_norm="before",
                     jitter=0.05),
        MLPRegressor(activation="lecun_tanh", solver="sgd", learning_rate="cyclic"),
    ],
    expected_failed_checks=lambda est: {} if est.solver == "lbfgs" else {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_REASON,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def test_every_sklearn_parameter_with_the_same_default():
    ours, theirs = MLPRegressor().get_params(), SklearnRegressor().get_params()
    assert set(theirs) <= set(ours), set(theirs) - set(ours)
    for name, value in theirs.items():
        assert ours[name] == value and type(ours[name]) is type(value), name
    # sklearn's positional order: loss, hidden_layer_sizes, activation
    reg = MLPRegressor("poisson", (7,), "tanh")
    assert (reg.loss, reg.hidden_layer_sizes, reg.activation) == ("poisson", (7,), "tanh")
    with pytest.raises(TypeError):
        MLPRegressor("poisson", (7,), "tanh", "sgd")


def test_sklearn_attributes_after_fit(diabetes):
    X, y = diabetes
    kw = dict(hidden_layer_sizes=(9,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours, theirs = MLPRegressor(**kw).fit(X, y), SklearnRegressor(**kw).fit(X, y)
    for name in ("n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_", "n_features_in_",
                 "validation_scores_", "best_validation_score_"):
        assert getattr(ours, name) == getattr(theirs, name), name
    assert ours.predict(X).shape == theirs.predict(X).shape == (len(X),)
    assert MLPRegressor(loss="poisson", max_iter=2).fit(X, np.abs(y)).out_activation_ == "exp"


@pytest.mark.parametrize("params", [
    dict(activation="relu"),
    dict(activation="leaky_relu", slope=-0.3),
    dict(activation="prelu", prelu_per="unit"),
    dict(activation="elu", batch_norm="before"),
    dict(activation="gelu", batch_norm="after"),
    dict(activation="swish", dropout=0.1),
    dict(activation="tanh", jitter=0.05),
    dict(activation="relu", solver="sgd", learning_rate="cyclic", cyclic_bounds=(1e-3, 5e-2),
         cyclic_step_size=20),
    dict(activation="lecun_tanh", weight_init="lecun_normal"),
])
def test_the_classifier_additions_learn_a_regression(params, diabetes):
    X, y = diabetes
    reg = MLPRegressor(hidden_layer_sizes=(32,), max_iter=60, learning_rate_init=0.01,
                       random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:350], y[:350], validation_data=(X[350:], y[350:]))
    assert reg.score(X[:350], y[:350]) > 0.45
    record = reg.history_[-1]
    assert {"train_loss", "val_loss", "val_r2", "learning_rate", "grad_norm_mean"} <= set(record)
    assert "train_accuracy" not in record and "val_accuracy" not in record
    assert record["val_r2"] == pytest.approx(reg.score(X[350:], y[350:]), rel=1e-4)
    assert reg.validation_scores_ == [r["val_r2"] for r in reg.history_]


def test_multioutput_and_float_dtypes(diabetes):
    X, y = diabetes
    Y = np.stack([y, -y, y ** 2], axis=1)
    reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    assert reg.n_outputs_ == 3 and reg.predict(X).shape == (len(X), 3)
    assert reg.predict(X).dtype == np.float32, "float32 is the default"
    reg64 = MLPRegressor(hidden_layer_sizes=(16,), max_iter=2, dtype=None).fit(X, y)
    assert reg64.predict(X).dtype == np.float64, "dtype=None follows the input"


def test_early_stopping_scores_r2_on_an_unstratified_split(diabetes):
    X, y = diabetes
    reg = MLPRegressor(hidden_layer_sizes=(16,), early_stopping=True, max_iter=300,
                       learning_rate_init=0.01, random_state=0).fit(X, y)
    assert reg.n_iter_ < 300 and reg.best_loss_ is None
    assert reg.best_validation_score_ == max(reg.validation_scores_)


def test_divergence_with_early_stopping_keeps_the_best_weights():
    X = np.linspace(-3, 3, 60)[:, None]
    y = 10 * X.ravel()
    reg = MLPRegressor(hidden_layer_sizes=(8,), activation="identity", solver="sgd",
                       learning_rate_init=1.0, early_stopping=True, random_state=0, max_iter=20)
    with pytest.warns(ConvergenceWarning, match="diverged"):
        reg.fit(X, y)
    assert np.isnan(reg.validation_scores_[-1])
    assert all(np.isfinite(c).all() for c in reg.coefs_)
    assert np.isfinite(reg.predict(X)).all()


def test_validation_scoring_gets_the_predictions_of_each_epoch(diabetes):
    from sklearn.metrics import mean_absolute_error

    X, y = diabetes
    reg = MLPRegressor(hidden_layer_sizes=(8,), max_iter=3, random_state=0,
                       validation_scoring={"val_mae": mean_absolute_error})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X[:300], y[:300], validation_data=(X[300:], y[300:]))
    assert [r["epoch"] for r in reg.history_ if "val_mae" in r] == [1, 2, 3]
    assert reg.history_[-1]["val_mae"] == pytest.approx(mean_absolute_error(y[300:], reg.predict(X[300:])), rel=1e-5)
