"""Tests for estimators.classifier.MLPClassifier: the additions to sklearn's estimator."""

import pickle
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.validation import check_is_fitted

from estimators import DivergenceError, MLPClassifier

MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist.npz"


def quick(**params):
    """A small, fast, reproducible classifier."""
    defaults = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    defaults.update(params)
    return MLPClassifier(**defaults)


# ------------------------------------------------------- leaky relu slopes


@pytest.mark.parametrize("solver", ["sgd", "adam"])
@pytest.mark.parametrize("batch_norm", [None, "before"])
def test_leaky_relu_with_slope_one_is_the_identity(solver, batch_norm, small_digits):
    X, y = small_digits
    params = dict(hidden_layer_sizes=(16, 8), solver=solver, batch_norm=batch_norm,
                  learning_rate_init=0.01, max_iter=5, random_state=3)
    leaky = MLPClassifier(activation="leaky_relu", slope=1.0, **params).fit(X, y)
    identity = MLPClassifier(activation="identity", **params).fit(X, y)
    np.testing.assert_allclose(leaky.predict_proba(X), identity.predict_proba(X), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(leaky.predict(X), identity.predict(X))
    np.testing.assert_allclose(leaky.loss_curve_, identity.loss_curve_, rtol=1e-5)


def test_relu_is_leaky_relu_with_slope_zero(small_digits):
    X, y = small_digits
    relu = quick(activation="relu").fit(X, y)
    leaky = quick(activation="leaky_relu", slope=0.0).fit(X, y)
    np.testing.assert_allclose(relu.predict_proba(X), leaky.predict_proba(X), rtol=1e-6, atol=1e-8)


def test_the_slope_changes_the_model(small_digits):
    X, y = small_digits
    a = quick(activation="leaky_relu", slope=-0.5).fit(X, y)
    b = quick(activation="leaky_relu", slope=0.5).fit(X, y)
    assert not np.allclose(a.predict_proba(X), b.predict_proba(X))


def test_negative_slope_learns_digits(digits):
    X, y = digits
    clf = MLPClassifier((64,), activation="leaky_relu", slope=-0.5, batch_norm="before",
                        max_iter=20, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95


# --------------------------------------------------------------- divergence


def test_divergence_raises_and_leaves_the_estimator_unfitted(digits):
    X, y = digits
    clf = MLPClassifier((32,), activation="leaky_relu", slope=5.0, solver="sgd",
                        learning_rate_init=10.0, max_iter=20, random_state=0)
    with pytest.raises(DivergenceError) as info:
        clf.fit(X, y)
    error = info.value
    assert isinstance(error, ArithmeticError)
    message = str(error)
    assert re.search(r"epoch \d+", message), message
    assert "leaky_relu" in message
    assert "slope=5" in message
    assert "learning_rate_init=10" in message
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    assert not [name for name in vars(clf) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        clf.predict(X)
    # The parameters are untouched and a sane setting fits afterwards.
    assert clf.get_params()["slope"] == 5.0
    clf.set_params(slope=0.01, learning_rate_init=0.01, max_iter=3).fit(X, y)
    check_is_fitted(clf)


def test_divergence_after_a_successful_fit_unfits_too(digits):
    X, y = digits
    clf = MLPClassifier((32,), solver="sgd", max_iter=2, random_state=0).fit(X, y)
    check_is_fitted(clf)
    clf.set_params(activation="leaky_relu", slope=5.0, learning_rate_init=10.0, max_iter=30)
    with pytest.raises(DivergenceError):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)


def test_divergence_during_warm_start_unfits(digits):
    X, y = digits
    clf = MLPClassifier((32,), solver="sgd", max_iter=2, random_state=0, warm_start=True).fit(X, y)
    clf.set_params(learning_rate_init=1e39)  # the new optimizer takes the new rate
    with pytest.raises(DivergenceError):
        clf.fit(X, y)
    with pytest.raises(NotFittedError):
        check_is_fitted(clf)
    assert not hasattr(clf, "_network")


def test_divergence_message_names_the_epoch_of_the_history(digits):
    X, y = digits
    clf = MLPClassifier((32,), activation="leaky_relu", slope=5.0, solver="sgd",
                        learning_rate_init=10.0, max_iter=20, random_state=0)
    with pytest.raises(DivergenceError) as info:
        clf.fit(X, y)
    history = getattr(info.value, "history", None)
    if history is None:
        pytest.skip("DivergenceError carries no history")
    assert f"epoch {len(history) + 1}:" in str(info.value)
    assert [r["epoch"] for r in history] == list(range(1, len(history) + 1))


def test_divergence_in_the_first_epoch_is_reported_as_epoch_one(digits):
    X, y = digits
    # 100 samples: one batch, one update per epoch; a rate this large overflows that update.
    clf = MLPClassifier((32,), solver="sgd", learning_rate_init=1e39, max_iter=5, random_state=0)
    with pytest.raises(DivergenceError, match="no longer finite") as info:
        clf.fit(X[:100], y[:100])
    assert "epoch 1:" in str(info.value), str(info.value)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("param, value", [
    ("slope", float("nan")),
    ("slope", float("inf")),
    ("solver", "newton"),
    ("max_fun", 0),
    ("batch_norm", "middle"),
    ("dropout", 1.0),
    ("dropout", -0.1),
    ("activation", "nope"),
    ("prelu_per", "x"),
    ("weight_init", "x"),
    ("cyclic_bounds", (1, 0.1)),
    ("cyclic_bounds", (0.0, 0.1)),
    ("cyclic_bounds", (0.1,)),
    ("cyclic_step_size", 0),
    ("jitter", -1),
    ("dtype", "float16"),
    ("callbacks", "not a list"),
    ("validation_scoring", ["not", "a dict"]),
])
def test_invalid_parameters_are_rejected_by_name(param, value, tiny):
    X, y = tiny
    clf = MLPClassifier(max_iter=1, **{param: value})  # no validation in __init__
    assert clf.get_params()[param] is value
    with pytest.raises(InvalidParameterError, match=param):
        clf.fit(X, y)
    with pytest.raises(InvalidParameterError, match=param):
        clone(clf).partial_fit(X, y, classes=np.unique(y))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_input_is_a_value_error(bad, tiny):
    X, y = tiny
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError):
        quick().fit(X, y)
    fitted = quick(max_iter=1).fit(tiny[0], y)
    with pytest.raises(ValueError):
        fitted.predict(X)
    with pytest.raises(ValueError):
        fitted.predict_proba(X)


def test_wrong_number_of_features_at_predict(tiny):
    X, y = tiny
    clf = quick(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="features"):
        clf.predict_proba(np.hstack([X, X]))


def test_single_sample(tiny):
    X, y = tiny
    clf = quick(max_iter=2).fit(X, y)
    assert clf.predict(X[:1]).shape == (1,)
    assert clf.predict_proba(X[:1]).shape == (1, 3)
    with pytest.raises(ValueError, match="2D"):
        clf.predict(X[0])
    # Fitting on one sample works (as in sklearn) and predicts its class.
    one = quick(max_iter=3).fit(X[:1], ["only"])
    assert list(one.predict(X[:4])) == ["only"] * 4


def test_unknown_label_in_validation_data(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="not seen"):
        quick().fit(X, y, validation_data=(X, y + 10))


def test_partial_fit_with_early_stopping_is_refused(tiny):
    X, y = tiny
    with pytest.raises(ValueError, match="early_stopping"):
        quick(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_batch_size_larger_than_the_data_is_clipped_with_a_warning(tiny):
    X, y = tiny
    with pytest.warns(UserWarning, match="clipped"):
        clf = quick(batch_size=1000, max_iter=1).fit(X, y)
    assert clf.n_iter_ == 1


def test_fit_and_predict_do_not_modify_the_input(small_digits):
    X, y = small_digits
    X = X.copy()  # float64, as the estimator's float64 dtype: no conversion copy
    kept = X.copy()
    clf = quick(dtype="float64", jitter=0.5, dropout=0.3, batch_norm="after",
                activation="tanh").fit(X, y)
    clf.predict_proba(X)
    clf.partial_fit(X, y)
    np.testing.assert_array_equal(X, kept)


# ------------------------------------------------------------------ history


def test_history_records(small_digits):
    X, y = small_digits
    clf = quick(hidden_layer_sizes=(16, 8), activation="prelu", max_iter=4).fit(X, y)
    assert len(clf.history_) == clf.n_iter_ == 4
    required = {"epoch", "train_loss", "learning_rate", "grad_norm_mean", "grad_norm_max",
                "prelu_slopes", "seconds"}
    for i, record in enumerate(clf.history_, start=1):
        assert required <= set(record), set(record)
        assert "val_loss" not in record and "val_accuracy" not in record
        assert record["epoch"] == i
        assert len(record["grad_norm_mean"]) == len(record["grad_norm_max"]) == 3
        assert all(0 < m <= M for m, M in zip(record["grad_norm_mean"], record["grad_norm_max"]))
        assert len(record["prelu_slopes"]) == 2 and len(record["prelu_slopes"][0]) == 1
        assert record["seconds"] >= 0
        assert record["learning_rate"] == 0.001
        if "train_accuracy" in record:
            assert 0 <= record["train_accuracy"] <= 1
    assert [r["train_loss"] for r in clf.history_] == clf.loss_curve_
    np.testing.assert_allclose(clf.history_[-1]["prelu_slopes"][0], clf.prelu_slopes_[0])
    pickle.dumps(clf.history_)  # plain data, loggable anywhere


def test_history_with_validation_data(digits):
    X, y = digits
    X_train, y_train, X_val, y_val = X[:1200], y[:1200], X[1200:], y[1200:]
    clf = quick(max_iter=4, learning_rate_init=0.01)
    clf.fit(X_train, y_train, validation_data=(X_val, y_val))
    for record in clf.history_:
        assert {"val_loss", "val_accuracy"} <= set(record)
        assert record["val_loss"] > 0 and 0 <= record["val_accuracy"] <= 1
    assert clf.history_[-1]["val_accuracy"] == pytest.approx(clf.score(X_val, y_val))
    prob = clf.predict_proba(X_val)
    expected = -np.mean(np.log(prob[np.arange(len(y_val)), y_val]))
    assert clf.history_[-1]["val_loss"] == pytest.approx(expected, rel=1e-4)
    assert clf.validation_scores_ == [r["val_accuracy"] for r in clf.history_]
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.n_iter_ == 4, "validation data alone does not stop training early"
    assert clf.history_[-1]["val_accuracy"] > clf.history_[0]["val_accuracy"]


def test_cyclic_learning_rate_in_history(small_digits):
    X, y = small_digits
    # 300 samples / 64 = 5 updates per epoch; a half cycle of 3 updates.
    clf = quick(solver="sgd", learning_rate="cyclic", cyclic_bounds=(0.001, 0.1),
                cyclic_step_size=3, batch_size=64, max_iter=6).fit(X, y)
    rates = [r["learning_rate"] for r in clf.history_]
    assert len(set(rates)) > 2, rates
    assert all(0.001 - 1e-12 <= r <= 0.1 + 1e-12 for r in rates)
    constant = quick(solver="sgd", learning_rate_init=0.02, max_iter=3).fit(X, y)
    assert [r["learning_rate"] for r in constant.history_] == [0.02] * 3


def test_cosine_learning_rate_anneals_over_max_iter(small_digits):
    X, y = small_digits
    clf = quick(solver="sgd", learning_rate="cosine", learning_rate_init=0.1, max_iter=4).fit(X, y)
    rates = [r["learning_rate"] for r in clf.history_]
    np.testing.assert_allclose(rates, 0.05 * (1 + np.cos(np.pi * np.arange(4) / 4)))
    clf.partial_fit(X, y)  # past max_iter: the last rate
    assert clf.history_[-1]["learning_rate"] == pytest.approx(rates[-1])


def test_invscaling_learning_rate_in_history(small_digits):
    X, y = small_digits
    clf = quick(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                max_iter=3).fit(X, y)
    rates = [r["learning_rate"] for r in clf.history_]
    assert rates[0] == 0.5
    assert rates[1] == pytest.approx(0.5 / 301**0.5)
    assert rates[2] == pytest.approx(0.5 / 601**0.5)


class StopAt:
    """A callback object: records the epochs it saw and stops at ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch
        self.seen = []

    def __call__(self, estimator, record):
        self.seen.append(record["epoch"])
        return record["epoch"] >= self.epoch


def test_callbacks_are_called_once_per_epoch(small_digits):
    X, y = small_digits
    calls = []

    def spy(estimator, record):
        calls.append((estimator, record))
        assert record is estimator.history_[-1]
        assert estimator.n_iter_ == record["epoch"]

    clf = quick(max_iter=4, callbacks=[spy]).fit(X, y)
    assert len(calls) == 4
    assert all(est is clf for est, _ in calls)
    assert [record["epoch"] for _, record in calls] == [1, 2, 3, 4]


def test_a_callback_returning_true_stops_training(small_digits):
    X, y = small_digits
    other = []
    stopper = StopAt(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopping is not a failure to converge
        clf = quick(max_iter=50, callbacks=[stopper, lambda est, rec: other.append(rec["epoch"])])
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.history_) == 3
    assert stopper.seen == [1, 2, 3]
    assert other == [1, 2, 3], "every callback runs, even after one asked to stop"


def test_callback_object_survives_clone_and_pickle(small_digits):
    X, y = small_digits
    clf = quick(max_iter=50, callbacks=[StopAt(2)]).fit(X, y)
    twin = clone(clf)
    assert isinstance(twin.callbacks[0], StopAt) and twin.callbacks[0].epoch == 2
    twin.fit(X, y)
    assert twin.n_iter_ == 2

    restored = pickle.loads(pickle.dumps(clf))
    assert isinstance(restored.callbacks[0], StopAt)
    assert restored.callbacks[0].seen == [1, 2]
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    fresh = clone(restored).fit(X, y)
    assert fresh.n_iter_ == 2


def test_validation_scoring_scores_the_epoch_probabilities_into_history(small_digits):
    from sklearn.metrics import f1_score, log_loss

    X, y = small_digits
    labels = np.array(list("abcdefghij"))[y]  # labels as given reach the score, strings too
    seen = []
    scoring = {"val_f1": lambda t, p: f1_score(t, np.unique(labels)[p.argmax(axis=1)], average="macro"),
               "val_log_loss": lambda t, p: seen.append((t, p)) or log_loss(t, p)}
    clf = quick(max_iter=3, validation_scoring=scoring, callbacks=[lambda est, rec: seen.append(rec["val_f1"])])
    clf.fit(X[:200], labels[:200], validation_data=(X[200:], labels[200:]))
    last = clf.history_[-1]
    proba = clf.predict_proba(X[200:])
    assert last["val_f1"] == pytest.approx(f1_score(labels[200:], clf.predict(X[200:]), average="macro"))
    assert last["val_log_loss"] == pytest.approx(log_loss(labels[200:], proba), rel=1e-5)
    assert last["val_log_loss"] == pytest.approx(last["val_loss"], rel=1e-5)  # val_loss has no L2 term
    np.testing.assert_array_equal(seen[-2][0], labels[200:])
    np.testing.assert_allclose(seen[-2][1], proba, rtol=1e-6)
    assert seen[-1] == last["val_f1"], "callbacks see the scores"
    assert "val_f1" not in quick(max_iter=1).fit(X, y, validation_data=(X, y)).history_[-1]


def positive_roc_auc(y_true, proba):
    """A picklable score: the ROC AUC of the second column."""
    from sklearn.metrics import roc_auc_score

    return roc_auc_score(y_true, proba[:, 1])


def test_validation_scoring_of_a_binary_classifier_gets_both_columns(small_digits):
    from sklearn.metrics import roc_auc_score

    X, y = small_digits
    binary = y % 2
    clf = quick(max_iter=2, validation_scoring={"val_roc_auc": positive_roc_auc})
    clf.fit(X[:200], binary[:200], validation_data=(X[200:], binary[200:]))
    assert clf.history_[-1]["val_roc_auc"] == pytest.approx(
        roc_auc_score(binary[200:], clf.predict_proba(X[200:])[:, 1]))
    restored = pickle.loads(pickle.dumps(clf))
    assert set(restored.get_params()["validation_scoring"]) == {"val_roc_auc"}


def test_validation_scoring_is_nan_for_non_finite_probabilities():
    clf = MLPClassifier(validation_scoring={"val_x": lambda t, p: 1.0})
    assert np.isnan(clf._scored(np.array([0, 1]), np.array([[np.nan, 1.0], [0.5, 0.5]]))["val_x"])
    assert clf._scored(np.array([0, 1]), np.array([[0.0, 1.0], [0.5, 0.5]])) == {"val_x": 1.0}


def test_verbose_prints_the_loss(small_digits, capsys):
    X, y = small_digits
    quick(max_iter=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Iteration 1, loss = " in out and "Iteration 2, loss = " in out


def test_convergence_warning_at_max_iter(small_digits):
    X, y = small_digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        quick(max_iter=2).fit(X, y)


def test_training_stops_when_the_loss_stops_improving(small_digits):
    X, y = small_digits
    clf = quick(max_iter=100, tol=100.0, n_iter_no_change=3).fit(X, y)
    # The first epoch improves on an infinite best loss; then sklearn stops once more
    # than n_iter_no_change epochs in a row failed to improve by tol.
    assert clf.n_iter_ == 5


# -------------------------------------------------------- dtype and weights


def test_default_dtype_is_float32(small_digits):
    X, y = small_digits
    clf = quick(max_iter=1).fit(X, y)
    assert all(c.dtype == np.float32 for c in clf.coefs_)
    assert all(b.dtype == np.float32 for b in clf.intercepts_)
    assert clf.predict_proba(X).dtype == np.float32


@pytest.mark.parametrize("dtype", ["float64", np.float64])
def test_float64(dtype, small_digits):
    X, y = small_digits
    clf = quick(max_iter=1, dtype=dtype).fit(X.astype(np.float32), y)
    assert all(c.dtype == np.float64 for c in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X).dtype == np.float64


def test_float32_and_float64_agree(small_digits):
    X, y = small_digits
    single = quick(solver="sgd", learning_rate_init=0.05, shuffle=False).fit(X, y)
    double = quick(solver="sgd", learning_rate_init=0.05, shuffle=False, dtype="float64").fit(X, y)
    np.testing.assert_allclose(single.loss_curve_, double.loss_curve_, rtol=1e-4)


@pytest.mark.parametrize("per, shapes", [("layer", [(1,), (1,)]), ("unit", [(16,), (8,)])])
def test_prelu_slopes_shape_and_learning(per, shapes, small_digits):
    X, y = small_digits
    clf = quick(hidden_layer_sizes=(16, 8), activation="prelu", prelu_per=per, slope=0.2,
                solver="sgd", learning_rate_init=0.1, max_iter=3).fit(X, y)
    slopes = clf.prelu_slopes_
    assert [s.shape for s in slopes] == shapes
    assert all(s.dtype == np.float32 for s in slopes)
    assert all(np.max(np.abs(s - 0.2)) > 1e-3 for s in slopes), "the slopes are learned"
    slopes[0][...] = 99.0
    assert not np.any(clf.prelu_slopes_[0] == 99.0), "prelu_slopes_ is a copy"


def test_prelu_slopes_empty_without_prelu(small_digits):
    X, y = small_digits
    clf = quick(max_iter=1).fit(X, y)
    assert clf.prelu_slopes_ == []
    with pytest.raises(NotFittedError):
        MLPClassifier().prelu_slopes_


def test_dropout_does_not_make_predict_random(small_digits):
    X, y = small_digits
    clf = quick(dropout=0.5).fit(X, y)
    first = clf.predict_proba(X)
    np.testing.assert_array_equal(clf.predict_proba(X), first)
    np.testing.assert_array_equal(clf.predict(X), clf.predict(X))
    # and training with dropout is reproducible with a random_state
    np.testing.assert_array_equal(quick(dropout=0.5).fit(X, y).predict_proba(X), first)
    # and it does change training
    assert not np.allclose(quick().fit(X, y).predict_proba(X), first)


def test_jitter_changes_training_but_not_predict(small_digits):
    X, y = small_digits
    plain = quick(solver="sgd", learning_rate_init=0.05).fit(X, y)
    noisy = quick(solver="sgd", learning_rate_init=0.05, jitter=0.3).fit(X, y)
    assert not np.allclose(plain.coefs_[0], noisy.coefs_[0])
    assert noisy.loss_curve_ != plain.loss_curve_
    np.testing.assert_array_equal(noisy.predict_proba(X), noisy.predict_proba(X))
    np.testing.assert_array_equal(
        quick(solver="sgd", learning_rate_init=0.05, jitter=0.3).fit(X, y).predict_proba(X),
        noisy.predict_proba(X))


@pytest.mark.parametrize("method, gain", [("he_normal", 2.0), ("lecun_normal", 1.0)])
def test_weight_init_through_the_estimator(method, gain):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 400)), np.arange(40) % 2
    # a negligible learning rate keeps the weights where they started
    clf = MLPClassifier((500,), weight_init=method, solver="sgd", momentum=0.0,
                        learning_rate_init=1e-12, max_iter=1, random_state=0).fit(X, y)
    assert clf.coefs_[0].std() == pytest.approx(np.sqrt(gain / 400), rel=0.02)
    assert clf.coefs_[1].std() == pytest.approx(np.sqrt(gain / 500), rel=0.1)
    assert np.abs(clf.intercepts_[0]).max() < 1e-6


def test_random_state_reproducibility(small_digits):
    X, y = small_digits
    a = quick(batch_norm="before", dropout=0.2, jitter=0.1).fit(X, y)
    b = quick(batch_norm="before", dropout=0.2, jitter=0.1).fit(X, y)
    c = quick(batch_norm="before", dropout=0.2, jitter=0.1, random_state=1).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert not np.allclose(a.predict_proba(X), c.predict_proba(X))


def test_hidden_layer_sizes_as_int_and_deep(small_digits):
    X, y = small_digits
    assert [c.shape for c in quick(hidden_layer_sizes=7, max_iter=1).fit(X, y).coefs_] == [(64, 7), (7, 10)]
    deep = quick(hidden_layer_sizes=[12, 11, 9], max_iter=1).fit(X, y)
    assert [c.shape for c in deep.coefs_] == [(64, 12), (12, 11), (11, 9), (9, 10)]
    assert deep.n_layers_ == 5 and deep.n_outputs_ == 10 and deep.out_activation_ == "softmax"


def test_batch_norm_variants_learn(small_digits):
    X, y = small_digits
    for batch_norm in (None, "before", "after"):
        clf = quick(batch_norm=batch_norm, max_iter=15, learning_rate_init=0.01).fit(X, y)
        assert clf.score(X, y) > 0.8, batch_norm
        assert clf.loss_curve_[-1] < 0.5 * clf.loss_curve_[0], batch_norm


def test_predict_log_proba(small_digits):
    X, y = small_digits
    clf = quick(max_iter=2).fit(X, y)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(clf.predict_proba(X)), rtol=1e-6)


# -------------------------------------------------------------------- MNIST


def test_mnist_784_128_10_sgd():
    if not MNIST.exists():
        pytest.skip(f"MNIST not available: no file at {MNIST} (put mnist.npz with x_train, "
                    "y_train, x_test, y_test there to run this test)")
    with np.load(MNIST) as data:
        X_train = data["x_train"][:5000].reshape(5000, -1) / 255.0
        y_train = data["y_train"][:5000]
        X_test = data["x_test"][:2000].reshape(2000, -1) / 255.0
        y_test = data["y_test"][:2000]
    clf = MLPClassifier((128,), solver="sgd", learning_rate_init=0.3, momentum=0.9,
                        batch_size=200, max_iter=5, random_state=0)
    clf.fit(X_train, y_train)
    assert [c.shape for c in clf.coefs_] == [(784, 128), (128, 10)]
    assert clf.n_iter_ == 5
    assert clf.score(X_test, y_test) > 0.9


# ------------------------------------------------------- sklearn's semantics


def test_n_iter_counts_the_epochs_of_each_call(small_digits):
    X, y = small_digits
    clf = quick(max_iter=3, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
        clf.fit(X, y)
    assert clf.n_iter_ == 3 and len(clf.history_) == 6
    clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and clf.history_[-1]["epoch"] == 7


def test_assigned_coefs_and_intercepts_take_effect(small_digits):
    X, y = small_digits
    clf = quick(max_iter=2, dtype="float64").fit(X, y)
    clf.coefs_[-1] = np.zeros_like(clf.coefs_[-1])  # an element of the list
    clf.intercepts_[-1] = np.log(np.arange(1, 11, dtype=float))
    expected = np.arange(1, 11) / np.arange(1, 11).sum()
    np.testing.assert_allclose(clf.predict_proba(X[:3]), np.tile(expected, (3, 1)), rtol=1e-12)
    rng = np.random.default_rng(0)
    first = rng.normal(size=(64, 4))
    clf.coefs_ = [first, np.zeros((4, 10))]  # the whole list, another layout
    clf.intercepts_ = [np.zeros(4), np.zeros(10)]
    np.testing.assert_allclose(clf.predict_proba(X[:2]), 0.1)
    clf.partial_fit(X, y)  # trains the assigned weights
    assert clf.coefs_[0].shape == (64, 4) and np.any(clf.coefs_[1] != 0)
    assert np.abs(clf.coefs_[0] - first).max() < 0.1, "from the assigned weights"


def test_assigning_weights_keeps_batch_norm_statistics(small_digits):
    X, y = small_digits
    clf = quick(max_iter=2, batch_norm="before", dtype="float64").fit(X, y)
    before = clf.predict_proba(X)
    clf.coefs_ = [c.copy() for c in clf.coefs_]
    clf.intercepts_ = [b.copy() for b in clf.intercepts_]
    np.testing.assert_array_equal(clf.predict_proba(X), before)


def test_verbose_says_why_training_stops(small_digits, capsys):
    X, y = small_digits
    quick(max_iter=100, tol=100.0, n_iter_no_change=2, verbose=True).fit(X, y)
    out = capsys.readouterr().out
    assert ("Training loss did not improve more than tol=100.000000 for 2 consecutive epochs. "
            "Stopping.") in out
    quick(max_iter=100, tol=100.0, n_iter_no_change=2, verbose=True, early_stopping=True).fit(X, y)
    out = capsys.readouterr().out
    assert "Validation score: " in out
    assert "Validation score did not improve more than tol=100.000000 for 2 consecutive" in out


@pytest.mark.parametrize("given, expected", [
    (np.float32, np.float32), (np.float64, np.float64), (np.int64, np.float64)])
def test_dtype_none_follows_the_input(given, expected, small_digits):
    X, y = small_digits
    clf = quick(max_iter=1, dtype=None).fit((X * 16).astype(given), y)
    assert all(a.dtype == expected for a in clf.coefs_ + clf.intercepts_)
    assert clf.predict_proba(X.astype(given)).dtype == expected


# ------------------------------------------------------------ sparse input


@pytest.mark.parametrize("sparse_format", ["csr", "csc"])
@pytest.mark.parametrize("solver", ["sgd", "adam", "lbfgs"])
def test_sparse_input_gives_the_dense_results(solver, sparse_format, small_digits):
    X, y = small_digits
    Xs = sparse.csr_matrix(X).asformat(sparse_format)
    kw = dict(max_iter=4, dtype="float64", solver=solver, batch_norm="after", activation="prelu")
    dense, sparse_fit = quick(**kw), quick(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        dense.fit(X, y)
        sparse_fit.fit(Xs, y)
    np.testing.assert_allclose(sparse_fit.loss_curve_, dense.loss_curve_, rtol=1e-10)
    np.testing.assert_allclose(sparse_fit.predict_proba(Xs), dense.predict_proba(X), rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(sparse_fit.predict(Xs), dense.predict(X))
    if solver != "lbfgs":
        sparse_fit.partial_fit(Xs, y)
        dense.partial_fit(X, y)
        np.testing.assert_allclose(sparse_fit.predict_proba(X), dense.predict_proba(X), rtol=1e-9)


def test_sparse_input_with_jitter_is_refused(small_digits):
    X, y = small_digits
    with pytest.raises(ValueError, match="jitter=0.1 adds dense noise"):
        quick(jitter=0.1).fit(sparse.csr_matrix(X), y)


def test_partial_fit_goes_on_from_an_optimizer_pickled_before_it_held_weight_decay(small_digits):
    """Weight decay moved from the network into the solver's step (estimators.kernels): an
    optimizer pickled before has no ``decayed`` and must still decay the same weights."""
    X, y = small_digits
    current = MLPClassifier((16,), solver="sgd", alpha=0.5, max_iter=2, random_state=0).fit(X, y)
    older = pickle.loads(pickle.dumps(current))
    del older._optimizer.decayed
    current.partial_fit(X, y)
    older.partial_fit(X, y)
    assert older._optimizer.decayed == current._optimizer.decayed == (0, 2)
    for ours, theirs in zip(older.coefs_, current.coefs_):
        np.testing.assert_array_equal(ours, theirs)
