"""search.study.metrics: the probability objectives are sklearn's metrics, recorded each epoch."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, f1_score, log_loss, roc_auc_score

from estimators import MLPClassifier
from search.study.metrics import PROBA_METRICS, best, better, validation_scoring
from search.study.task import TASKS

CLASSES = np.array(["a", "b", "c"])


@pytest.fixture(scope="module")
def multiclass():
    """Labels of three classes, one never predicted, and probabilities that rank them imperfectly."""
    rng = np.random.default_rng(0)
    y = CLASSES[rng.integers(0, 3, 60)]
    proba = rng.dirichlet([1, 1, 1], 60).astype(np.float32)
    proba[np.arange(60), np.searchsorted(CLASSES, y)] += 0.4  # better than chance
    proba[:, 2] *= 0.1  # 'c' is never the most probable
    return y, proba / proba.sum(axis=1, keepdims=True)


def sklearn_value(name, y, proba, classes):
    predicted = classes[proba.argmax(axis=1)]
    return {"val_balanced_accuracy": lambda: balanced_accuracy_score(y, predicted),
            "val_f1_macro": lambda: f1_score(y, predicted, average="macro"),
            "val_roc_auc": lambda: roc_auc_score(y, proba, multi_class="ovr", labels=classes),
            "val_log_loss": lambda: log_loss(y, proba, labels=classes)}[name]()


@pytest.mark.parametrize("name, direction", [
    ("val_balanced_accuracy", "maximize"), ("val_f1_macro", "maximize"), ("val_roc_auc", "maximize"),
    ("val_log_loss", "minimize")])
def test_each_metric_has_its_direction_and_is_sklearns_value(multiclass, name, direction):
    y, proba = multiclass
    assert PROBA_METRICS[name].direction == direction == TASKS["classification"].metrics[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # f1_score's warning for 'c', never predicted
        expected = sklearn_value(name, y, proba, CLASSES)
    assert PROBA_METRICS[name].score(y, proba, CLASSES) == pytest.approx(expected, rel=1e-12)


def test_a_label_never_predicted_counts_zero_in_macro_f1(multiclass):
    y, proba = multiclass
    per_label = f1_score(y, CLASSES[proba.argmax(axis=1)], average=None, labels=CLASSES, zero_division=0.0)
    assert per_label[2] == 0
    assert PROBA_METRICS["val_f1_macro"].score(y, proba, CLASSES) == pytest.approx(per_label.mean())


def test_binary_roc_auc_scores_the_greater_label_with_string_labels():
    y = np.array(["no", "yes", "yes", "no", "yes", "no"])
    yes = np.array([0.2, 0.9, 0.4, 0.5, 0.7, 0.1])
    proba = np.column_stack([1 - yes, yes])
    score = PROBA_METRICS["val_roc_auc"].score(y, proba, np.array(["no", "yes"]))
    assert score == pytest.approx(roc_auc_score(y == "yes", yes)) == pytest.approx(8 / 9)


def test_only_probability_metrics_get_a_validation_scoring():
    assert validation_scoring("val_accuracy", CLASSES) is None and validation_scoring("val_loss", CLASSES) is None
    assert TASKS["regression"].validation_scoring("val_r2", None) is None
    scoring = validation_scoring("val_roc_auc", CLASSES)
    assert list(scoring) == ["val_roc_auc"]
    assert pickle.loads(pickle.dumps(scoring))["val_roc_auc"].keywords["classes"].tolist() == ["a", "b", "c"]


@pytest.fixture(scope="module")
def fitted():
    """A classifier of digits' parity labels ('even', 'odd') with val_roc_auc recorded each epoch."""
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X, y = X[:400] / 16, np.where(y[:400] % 2, "odd", "even")
    classes = np.unique(y[:300])
    model = MLPClassifier((16,), max_iter=3, random_state=0,
                          validation_scoring=TASKS["classification"].validation_scoring("val_roc_auc", classes))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X[:300], y[:300], validation_data=(X[300:], y[300:])), X[300:], y[300:]


def test_the_estimator_records_the_objective_every_epoch_as_sklearn_scores_its_predictions(fitted):
    model, X_val, y_val = fitted
    assert [r["epoch"] for r in model.history_ if "val_roc_auc" in r] == [1, 2, 3]
    expected = roc_auc_score(y_val == "odd", model.predict_proba(X_val)[:, 1])
    assert model.history_[-1]["val_roc_auc"] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", list(PROBA_METRICS))
def test_the_refit_guard_measures_the_same_on_the_validation_rows(fitted, name):
    model, X_val, y_val = fitted
    measured = TASKS["classification"].objective_on(model, X_val, y_val, name)
    assert measured == pytest.approx(PROBA_METRICS[name].score(y_val, model.predict_proba(X_val), model.classes_))
    if name == "val_roc_auc":
        assert measured == pytest.approx(model.history_[-1]["val_roc_auc"], rel=1e-6)
    if name == "val_log_loss":  # val_loss is the same negative log-likelihood, without an L2 term
        assert measured == pytest.approx(model.history_[-1]["val_loss"], rel=1e-5)


@pytest.mark.parametrize("direction, winner", [("maximize", 0.9), ("minimize", 0.1)])
def test_better_and_best_follow_the_direction(direction, winner):
    loser = 0.5
    assert better(winner, loser, direction) and not better(loser, winner, direction)
    assert not better(loser, loser, direction)  # a tie does not win
    assert not better(float("nan"), loser, direction) and not better(loser, float("nan"), direction)
    trials = [type("Trial", (), {"value": v})() for v in (loser, winner, 0.5)]
    assert best(trials, direction).value == winner
    assert best([{"score": loser}, {"score": winner}], direction, lambda row: row["score"])["score"] == winner
    assert best([], direction) is None

