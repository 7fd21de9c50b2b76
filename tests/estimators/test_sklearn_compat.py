"""MLPClassifier as a scikit-learn estimator, and as a drop-in for sklearn's MLPClassifier."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score
from scipy import sparse
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.neural_network import MLPRegressor as SklearnRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from estimators import MLPClassifier, MLPRegressor
from estimators.layers import init_weights

SAMPLE_WEIGHT_REASON = (
    "mini-batch SGD and Adam: repeating a sample changes the batches, so weights equal "
    "repeats only in expectation (sklearn runs this check on lbfgs only)"
)


@parametrize_with_checks(
    [
        MLPClassifier(),
        MLPClassifier(solver="lbfgs", dtype=None),  # float32 rounding is above 1e-7 checks
        MLPClassifier(activation="prelu", prelu_per="unit", batch_norm="after"),
        MLPClassifier(activation="leaky_relu", slope=-0.5, dropout=0.2, batch_norm="before"),
        MLPClassifier(activation="lecun_tanh", solver="adam", learning_rate="cyclic"),
    ],
    expected_failed_checks=lambda est: {
        "check_classifiers_multilabel_output_format_predict_proba":
            "lbfgs fits the check's data until probabilities round to exactly 1.0 (sklearn's "
            "MLPClassifier(solver='lbfgs') fails it the same way)"
    } if est.solver == "lbfgs" else {
        "check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON,
        "check_sample_weight_equivalence_on_sparse_data": SAMPLE_WEIGHT_REASON,
    },
)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------ drop-in: params


def test_every_sklearn_parameter_with_the_same_default():
    ours, theirs = MLPClassifier().get_params(), SklearnMLP().get_params()
    assert set(theirs) <= set(ours), set(theirs) - set(ours)
    for name, value in theirs.items():
        assert ours[name] == value, (name, ours[name], value)
        assert type(ours[name]) is type(value), name


def test_positional_arguments_as_sklearn():
    # sklearn takes hidden_layer_sizes and activation positionally, the rest by keyword.
    clf = MLPClassifier((7, 3), "tanh")
    assert clf.hidden_layer_sizes == (7, 3) and clf.activation == "tanh"
    with pytest.raises(TypeError):
        MLPClassifier((7,), "tanh", "sgd")


def test_added_parameters_and_defaults():
    params = MLPClassifier().get_params()
    assert {k: params[k] for k in ("slope", "prelu_per", "batch_norm", "dropout", "jitter",
                                   "cyclic_bounds", "cyclic_step_size", "weight_init", "dtype",
                                   "callbacks")} == {
        "slope": 0.01, "prelu_per": "layer", "batch_norm": None, "dropout": 0.0, "jitter": 0.0,
        "cyclic_bounds": (1e-5, 1e-1), "cyclic_step_size": 500,
        "weight_init": "glorot_uniform", "dtype": "float32", "callbacks": None}


def test_sklearn_attributes_after_fit(small_digits):
    X, y = small_digits
    kw = dict(hidden_layer_sizes=(9,), max_iter=3, random_state=0)
    ours, theirs = MLPClassifier(**kw).fit(X, y), SklearnMLP(**kw).fit(X, y)
    for name in ("classes_", "n_iter_", "t_", "n_layers_", "n_outputs_", "out_activation_",
                 "n_features_in_", "best_loss_", "validation_scores_", "best_validation_score_"):
        a, b = getattr(ours, name), getattr(theirs, name)
        if name == "best_loss_":
            assert np.isfinite(a) and np.isfinite(b)
        elif isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b, name
    assert len(ours.loss_curve_) == len(theirs.loss_curve_) == 3
    assert ours.loss_ == ours.loss_curve_[-1]
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert is_classifier(ours)


# ------------------------------------------------------ drop-in: same numbers


def _pair(**params):
    """Ours (float64) and sklearn's, with the same deterministic setting."""
    base = dict(hidden_layer_sizes=(16,), shuffle=False, random_state=0, max_iter=5, batch_size=64)
    base.update(params)
    return MLPClassifier(dtype="float64", **base), SklearnMLP(**base)


SAME = dict(rtol=1e-10, atol=1e-10)  # float64, the same operations: sklearn's numbers


def assert_same_state(ours, theirs, X):
    """The fitted attributes and predictions of ours equal sklearn's (to 1e-10)."""
    assert ours.n_iter_ == theirs.n_iter_
    if theirs.solver != "lbfgs":
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **SAME)
        assert ours.t_ == theirs.t_
    np.testing.assert_allclose(ours.loss_, theirs.loss_, **SAME)
    if theirs.solver == "lbfgs":
        pass  # sklearn's lbfgs keeps no validation scores
    elif theirs.validation_scores_ is None:
        assert ours.validation_scores_ is None
    else:
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, **SAME)
        assert ours.best_validation_score_ == pytest.approx(theirs.best_validation_score_, rel=1e-10, abs=1e-10)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, **SAME)
    if hasattr(theirs, "predict_proba"):
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), **SAME)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X)) if hasattr(theirs, "classes_") \
        else np.testing.assert_allclose(ours.predict(X), theirs.predict(X), **SAME)


def assert_same_fit(ours, theirs, X, y, sample_weight=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y, sample_weight=sample_weight)
        theirs.fit(X, y, sample_weight=sample_weight)
    assert_same_state(ours, theirs, X)


@pytest.mark.parametrize("learning_rate", ["constant", "invscaling", "adaptive"])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_training_as_sklearn(solver, activation, learning_rate, small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver=solver, activation=activation, learning_rate=learning_rate,
                         learning_rate_init=0.05 if solver == "sgd" else 0.01, alpha=0.01)
    assert_same_fit(ours, theirs, X, y)


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
def test_same_initial_weights_as_sklearn(activation):
    theirs = SklearnMLP(activation=activation)
    theirs._random_state = np.random.RandomState(7)
    rng = np.random.RandomState(7)
    for fan_in, fan_out in [(64, 16), (16, 10)]:
        coef, intercept = init_weights(rng, fan_in, fan_out, "glorot_uniform", activation, np.float64)
        ref_coef, ref_intercept = theirs._init_coef(fan_in, fan_out, np.float64)
        np.testing.assert_array_equal(coef, ref_coef)
        np.testing.assert_array_equal(intercept, ref_intercept)


def test_same_predictions_after_one_epoch(small_digits):
    X, y = small_digits
    ours, theirs = _pair(max_iter=1, hidden_layer_sizes=(20, 10), learning_rate_init=1e-9,
                         solver="sgd", momentum=0.0)
    assert_same_fit(ours, theirs, X, y)  # essentially the initial weights


@pytest.mark.parametrize("alpha", [0.0, 1e-4, 0.5, 10.0])
@pytest.mark.parametrize("batch_size", [32, 300])
def test_same_l2_scaling_as_sklearn(alpha, batch_size, small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver="sgd", learning_rate_init=0.02, alpha=alpha, batch_size=batch_size)
    assert_same_fit(ours, theirs, X, y)


def test_alpha_changes_the_loss_as_sklearn(small_digits):
    X, y = small_digits
    curves = []
    for alpha in (0.0, 5.0):
        ours, theirs = _pair(solver="sgd", learning_rate_init=0.02, alpha=alpha, max_iter=2)
        assert_same_fit(ours, theirs, X, y)
        curves.append(ours.loss_curve_[0])
    assert curves[1] > curves[0] + 0.1, "the penalty is part of the reported loss"


@pytest.mark.parametrize("target", ["binary", "multilabel", "strings"])
def test_same_training_as_sklearn_for_other_targets(target, small_digits):
    X, y = small_digits
    y = {"binary": y % 2,
         "multilabel": np.stack([y % 2, y > 4, y % 3 == 0], axis=1).astype(int),
         "strings": np.array(list("abcdefghij"))[y]}[target]
    ours, theirs = _pair(solver="sgd", hidden_layer_sizes=(16, 8), learning_rate_init=0.05)
    assert_same_fit(ours, theirs, X, y)


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_same_training_as_sklearn_with_sample_weight(solver, small_digits):
    X, y = small_digits
    weights = np.random.RandomState(0).uniform(0.1, 3.0, len(y))
    ours, theirs = _pair(solver=solver, learning_rate_init=0.05, alpha=0.1)
    assert_same_fit(ours, theirs, X, y, sample_weight=weights)


@pytest.mark.parametrize("params", [
    dict(nesterovs_momentum=False),
    dict(momentum=0.0),
    dict(momentum=0.5, power_t=0.25, learning_rate="invscaling", learning_rate_init=0.5),
    dict(learning_rate="adaptive", tol=0.5, n_iter_no_change=1, max_iter=12),  # plateaus
    dict(tol=100.0, n_iter_no_change=2, max_iter=50),  # stops early
    dict(batch_size=7),  # a short last batch
    dict(batch_size="auto"),
])
def test_same_training_as_sklearn_other_settings(params, small_digits):
    X, y = small_digits
    kw = dict(solver="sgd", learning_rate_init=0.05)
    kw.update(params)
    ours, theirs = _pair(**kw)
    assert_same_fit(ours, theirs, X, y)


def test_same_adam_settings_as_sklearn(small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver="adam", beta_1=0.8, beta_2=0.99, epsilon=1e-6,
                         learning_rate_init=0.02, hidden_layer_sizes=(12, 12))
    assert_same_fit(ours, theirs, X, y)


def test_same_partial_fit_as_sklearn(small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver="sgd", learning_rate_init=0.05)
    for _ in range(3):
        ours.partial_fit(X, y, classes=np.arange(10))
        theirs.partial_fit(X, y, classes=np.arange(10))
    assert_same_state(ours, theirs, X)


def test_warm_start_with_a_new_activation_as_sklearn(small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver="sgd", learning_rate_init=0.05, max_iter=2, warm_start=True)
    for est in (ours, theirs):
        est.fit(X, y)
        est.set_params(activation="tanh")
        est.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **SAME)


def test_warm_start_with_a_new_alpha_as_sklearn(small_digits):
    X, y = small_digits
    ours, theirs = _pair(solver="sgd", learning_rate_init=0.05, max_iter=2, warm_start=True)
    for est in (ours, theirs):
        est.fit(X, y)
        est.set_params(alpha=5.0, learning_rate_init=0.01)
        est.fit(X, y)
    assert len(ours.loss_curve_) == 4
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, **SAME)


def _targets(kind, y):
    return {"multiclass": y,
            "binary": y % 2,
            "multilabel": np.stack([y % 2, y > 4, y % 3 == 0], axis=1).astype(int),
            "regression": (y - 4.5) / 3.0,
            "multioutput": np.stack([(y - 4.5) / 3.0, np.sin(y)], axis=1)}[kind]


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression", "multioutput"])
def test_same_numbers_as_sklearn(kind, solver, early_stopping, shuffle, small_digits):
    """Same params and seed, float64: sklearn's initial weights, batch order (each epoch
    shuffles the previous order again), early-stopping split (stratified for one output
    column only), and no extra draw from the random state."""
    X, y = small_digits
    y = _targets(kind, y)
    params = dict(hidden_layer_sizes=(12, 7), solver=solver, early_stopping=early_stopping,
                  shuffle=shuffle, random_state=3, max_iter=12, batch_size=50, alpha=1e-3,
                  learning_rate_init=0.05 if solver == "sgd" else 0.01, validation_fraction=0.2)
    if kind in ("regression", "multioutput"):
        ours, theirs = MLPRegressor(dtype="float64", **params), SklearnRegressor(**params)
    else:
        ours, theirs = MLPClassifier(dtype="float64", **params), SklearnMLP(**params)
    assert_same_fit(ours, theirs, X, y)


@pytest.mark.parametrize("estimators", [(MLPClassifier, SklearnMLP), (MLPRegressor, SklearnRegressor)])
def test_same_numbers_as_sklearn_in_float32_input_with_dtype_none(estimators, small_digits):
    X, y = small_digits
    ours_cls, theirs_cls = estimators
    params = dict(hidden_layer_sizes=(9,), random_state=0, max_iter=4, solver="sgd")
    ours, theirs = ours_cls(dtype=None, **params), theirs_cls(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X.astype(np.float32), y), theirs.fit(X.astype(np.float32), y)
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-5)


@pytest.mark.parametrize("solver", ["sgd", "lbfgs"])
def test_same_numbers_as_sklearn_on_sparse_input(solver, small_digits):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(10,), solver=solver, random_state=0, max_iter=8,
                  learning_rate_init=0.05)
    ours, theirs = MLPClassifier(dtype="float64", **params), SklearnMLP(**params)
    assert_same_fit(ours, theirs, sparse.csr_matrix(X), y)


def test_same_warm_start_and_partial_fit_with_shuffling_as_sklearn(small_digits):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(8,), solver="sgd", random_state=1, max_iter=3,
                  learning_rate_init=0.05, warm_start=True)
    ours, theirs = MLPClassifier(dtype="float64", **params), SklearnMLP(**params)
    for _ in range(2):
        assert_same_fit(ours, theirs, X, y)
    for _ in range(3):
        ours.partial_fit(X, y), theirs.partial_fit(X, y)
        assert_same_state(ours, theirs, X)


# ------------------------------------------------------ the sklearn ecosystem


def test_grid_search_over_activation_batch_norm_and_slope(digits):
    X, y = digits
    grid = {
        "activation": ["leaky_relu", "prelu"],
        "batch_norm": [None, "before", "after"],
        "slope": [-0.5, 0.0, 0.2, 1.0],
    }
    search = GridSearchCV(
        MLPClassifier((32,), max_iter=8, learning_rate_init=0.01, random_state=0), grid, cv=2)
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 24
    assert search.best_score_ > 0.8
    assert set(search.best_params_) == set(grid)
    assert search.best_estimator_.get_params()["slope"] == search.best_params_["slope"]
    assert search.score(X, y) > 0.85
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.ptp(scores) > 0, "the grid is really explored"


def test_pipeline_with_standard_scaler(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPClassifier((32,), activation="elu", max_iter=10,
                                                         learning_rate_init=0.01, random_state=0))
    pipe.fit(X[:1200], y[:1200])
    assert pipe.score(X[1200:], y[1200:]) > 0.85
    assert pipe.predict_proba(X[:5]).shape == (5, 10)
    pipe.set_params(mlpclassifier__slope=0.3, mlpclassifier__activation="leaky_relu")
    assert pipe.named_steps["mlpclassifier"].slope == 0.3
    scores = cross_val_score(pipe.set_params(mlpclassifier__max_iter=3), X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0.5)


def test_clone_keeps_params_and_drops_the_fit(small_digits):
    X, y = small_digits
    clf = MLPClassifier((8, 4), activation="prelu", slope=0.3, batch_norm="after", dropout=0.1,
                        cyclic_bounds=(0.01, 0.2), learning_rate="cyclic", dtype="float64",
                        max_iter=2, random_state=0).fit(X, y)
    twin = clone(clf)
    assert twin.get_params() == clf.get_params()
    assert not hasattr(twin, "coefs_")
    twin.fit(X, y)
    np.testing.assert_array_equal(twin.predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize("params", [
    dict(),
    dict(activation="prelu", prelu_per="unit", batch_norm="before", dropout=0.3),
    dict(activation="swish", batch_norm="after", dtype="float64", solver="sgd"),
])
def test_pickle_round_trip(params, small_digits):
    X, y = small_digits
    clf = MLPClassifier((12,), max_iter=3, random_state=0, **params).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    assert restored.get_params() == clf.get_params()
    assert restored.history_ == clf.history_
    # the restored model keeps training from where it was
    restored.partial_fit(X, y)
    clf.partial_fit(X, y)
    np.testing.assert_allclose(restored.predict_proba(X), clf.predict_proba(X), rtol=1e-6)


def test_pickle_stays_small(small_digits):
    X, y = small_digits
    clf = MLPClassifier((12,), max_iter=2, random_state=0, batch_norm="before").fit(X, y)
    size = len(pickle.dumps(clf))
    weights = sum(a.nbytes for a in clf.coefs_ + clf.intercepts_)
    assert size < 4 * weights + 20_000, "per-batch caches must not be pickled"


def test_string_class_labels(small_digits):
    X, y = small_digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                      "nine"])
    clf = MLPClassifier((16,), max_iter=10, learning_rate_init=0.01, random_state=0)
    clf.fit(X, names[y])
    assert list(clf.classes_) == sorted(names)
    predicted = clf.predict(X)
    assert predicted.dtype.kind == "U" and set(predicted) <= set(names)
    assert np.mean(predicted == names[y]) > 0.8
    np.testing.assert_array_equal(clf.classes_[clf.predict_proba(X).argmax(axis=1)], predicted)


def test_binary(small_digits):
    X, y = small_digits
    target = np.where(y < 5, "low", "high")
    clf = MLPClassifier((16,), max_iter=10, learning_rate_init=0.01, random_state=0).fit(X, target)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 1
    assert clf.coefs_[-1].shape == (16, 1)
    prob = clf.predict_proba(X)
    assert prob.shape == (300, 2)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.classes_[prob.argmax(axis=1)], clf.predict(X))
    assert clf.score(X, target) > 0.8


def test_multiclass(small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), max_iter=20, learning_rate_init=0.02, random_state=0).fit(X, y)
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 10
    prob = clf.predict_proba(X)
    np.testing.assert_allclose(prob.sum(axis=1), 1.0, rtol=1e-5)
    assert clf.score(X, y) > 0.8


def test_multilabel(small_digits):
    X, y = small_digits
    Y = np.stack([y % 2 == 0, y > 4, y == 0], axis=1).astype(int)
    clf = MLPClassifier((32,), max_iter=20, learning_rate_init=0.01, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    prob = clf.predict_proba(X)
    assert prob.shape == (300, 3) and not np.allclose(prob.sum(axis=1), 1.0)
    predicted = clf.predict(X)
    assert predicted.shape == (300, 3)
    np.testing.assert_array_equal(predicted, (prob > 0.5).astype(int))
    assert np.mean(predicted == Y) > 0.8
    clf.fit(X, Y, validation_data=(X[:50], Y[:50]))
    # subset accuracy, as sklearn's score: a row counts only with all its labels right
    assert clf.history_[-1]["val_accuracy"] == pytest.approx(clf.score(X[:50], Y[:50]))
    assert clf.score(X[:50], Y[:50]) < np.mean(clf.predict(X[:50]) == Y[:50])


def test_partial_fit_with_classes(small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), learning_rate_init=0.01, random_state=0)
    clf.partial_fit(X[:100], y[:100], classes=np.arange(12))  # classes not all seen yet
    assert list(clf.classes_) == list(range(12))
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    for start in range(100, 300, 100):
        clf.partial_fit(X[start:start + 100], y[start:start + 100])
    # as sklearn: n_iter_ counts the epochs of the last call; the curve keeps them all
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 3
    assert clf.predict_proba(X).shape == (300, 12)
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf.score(X, y) > 0.8
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X[:5], np.full(5, 20))


def test_partial_fit_needs_classes_on_the_first_call(small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,))
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y)
    clf.partial_fit(X, y, classes=np.unique(y))
    check_is_fitted(clf)
    with pytest.raises(ValueError, match="classes"):
        clf.partial_fit(X, y, classes=np.arange(3))  # different classes later


def test_warm_start_continues(small_digits):
    X, y = small_digits
    clf = MLPClassifier((16,), max_iter=3, warm_start=True, random_state=0, solver="sgd",
                        learning_rate_init=0.05)
    clf.fit(X, y)
    first = [c.copy() for c in clf.coefs_]
    curve = list(clf.loss_curve_)
    clf.fit(X, y)
    assert clf.n_iter_ == 3, "as sklearn: the epochs of this call"
    assert len(clf.loss_curve_) == len(clf.history_) == 6
    assert clf.loss_curve_[:3] == curve
    assert clf.loss_curve_[3] < curve[0], "it continued from the trained weights"
    assert [r["epoch"] for r in clf.history_] == [1, 2, 3, 4, 5, 6]
    assert not np.allclose(clf.coefs_[0], first[0])
    with pytest.raises(ValueError, match="classes"):
        clf.fit(X[y < 5], y[y < 5])

    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    cold.fit(X, y)
    assert cold.n_iter_ == 3 and len(cold.loss_curve_) == 3


def test_early_stopping_on_an_easy_task(digits):
    X, y = digits
    keep = y < 2  # zeros against ones
    clf = MLPClassifier((16,), early_stopping=True, max_iter=500, learning_rate_init=0.01,
                        random_state=0).fit(X[keep], y[keep])
    assert clf.n_iter_ < 500
    assert clf.validation_scores_ and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_validation_score_ > 0.95
    assert clf.best_loss_ is None  # as sklearn, with early stopping


def test_early_stopping_restores_the_best_weights(digits):
    X, y = digits
    validation = (X[1500:], y[1500:])

    class Recorder:
        def __init__(self):
            self.snapshots = []

        def __call__(self, est, record):
            self.snapshots.append(est.predict_proba(validation[0]))

    recorder = Recorder()
    clf = MLPClassifier((16,), early_stopping=True, n_iter_no_change=2, max_iter=200,
                        solver="sgd", learning_rate_init=0.5, random_state=0,
                        callbacks=[recorder])
    clf.fit(X[:1500], y[:1500], validation_data=validation)
    best_epoch = int(np.argmax(clf.validation_scores_))
    np.testing.assert_allclose(clf.predict_proba(validation[0]), recorder.snapshots[best_epoch],
                               rtol=1e-6)
    assert clf.score(*validation) == pytest.approx(clf.best_validation_score_)


def test_early_stopping_validation_split(digits):
    X, y = digits
    clf = MLPClassifier((8,), early_stopping=True, validation_fraction=0.2, max_iter=2,
                        random_state=0).fit(X, y)
    assert len(clf.validation_scores_) == 2
    # stratified: sklearn's splitter refuses a test set smaller than the number of classes
    with pytest.raises(ValueError):
        MLPClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:20], y[:20] % 2)
    # multilabel is not stratified: one validation row is refused by the estimator itself
    Y = np.stack([y[:20] % 2, y[:20] > 4], axis=1)
    with pytest.raises(ValueError, match="too small"):
        MLPClassifier(early_stopping=True, validation_fraction=0.01).fit(X[:20], Y)


def test_warm_start_early_stopping_restores_the_best_weights(digits):
    X, y = digits
    validation = (X[1500:], y[1500:])
    clf = MLPClassifier((16,), early_stopping=True, warm_start=True, n_iter_no_change=2,
                        max_iter=200, solver="sgd", learning_rate_init=0.5, random_state=0)
    clf.fit(X[:1500], y[:1500], validation_data=validation)
    assert clf.score(*validation) == pytest.approx(clf.best_validation_score_)
    best = clf.best_validation_score_
    # A far too large rate: this fit only gets worse than the first one's best.
    clf.set_params(learning_rate_init=2.0).fit(X[:1500], y[:1500], validation_data=validation)
    assert clf.best_validation_score_ == best
    assert clf.score(*validation) == pytest.approx(best)


def test_early_stopping_with_a_binary_target(digits):
    X, y = digits
    clf = MLPClassifier((8,), early_stopping=True, max_iter=30, learning_rate_init=0.01,
                        random_state=0).fit(X, y % 2)
    assert clf.validation_scores_ and clf.best_validation_score_ > 0.7
