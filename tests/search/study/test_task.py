"""Tests for search.study.task: a study is a classification or a regression, says so once, and its
task scores, describes and draws what differs between the two."""

import warnings

import matplotlib.image
import numpy as np
import pytest
import yaml
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, log_loss, mean_poisson_deviance, mean_squared_error, r2_score

from estimators import MLPClassifier, MLPRegressor
from search.data import default_task, load_dataset
from search.data.preprocessing import with_estimator
from search.study.file import load_study
from search.study.task import TASKS, ClassificationTask, Predictions, RegressionTask, Task
from tests.search.study.test_file import refused, write

REGRESSION = {"name": "reg", "dataset": "diabetes", "space": {"activation": {"choices": ["relu", "tanh"]}}}


def study(tmp_path, **keys):
    return write(tmp_path, yaml.safe_dump({**REGRESSION, **keys}))


def test_each_task_names_its_estimator_and_objectives():
    assert TASKS["classification"].estimator is MLPClassifier and TASKS["regression"].estimator is MLPRegressor
    assert TASKS["regression"].metrics == {"val_r2": "maximize", "val_loss": "minimize"}
    assert TASKS["regression"].default_metric == "val_r2"
    assert TASKS["classification"].default_metric == "val_accuracy"
    assert "loss" in TASKS["regression"].params and "loss" not in TASKS["classification"].params
    assert not {"callbacks", "validation_scoring"} & TASKS["regression"].params  # the service's, never a study file's
    assert TASKS["classification"].metrics == {
        "val_accuracy": "maximize", "val_loss": "minimize", "val_balanced_accuracy": "maximize",
        "val_f1_macro": "maximize", "val_roc_auc": "maximize", "val_log_loss": "minimize"}


def test_diabetes_is_a_regression_and_everything_else_a_classification_by_default():
    assert default_task("diabetes") == "regression"
    assert {default_task(name) for name in ("digits", "mnist", "cifar10", "csv", "npz")} == {"classification"}


def test_a_diabetes_study_is_a_regression_maximizing_val_r2(tmp_path):
    spec = load_study(study(tmp_path, estimator={"loss": "poisson"}))
    assert (spec.task, spec.metric, spec.direction) == ("regression", "val_r2", "maximize")
    assert spec.estimator["loss"] == "poisson"  # the regressor's own parameter
    spec = load_study(study(tmp_path, objective="val_loss"))
    assert (spec.metric, spec.direction) == ("val_loss", "minimize")


def test_a_csv_study_says_task_regression(tmp_path):
    csv = {"name": "csv", "path": "data.csv"}
    assert load_study(study(tmp_path, dataset=csv)).task == "classification"
    spec = load_study(study(tmp_path, dataset=csv, task="regression"))
    assert (spec.task, spec.metric) == ("regression", "val_r2")


@pytest.mark.parametrize("keys, expected", [
    ({"objective": "val_accuracy"},
     "objective.metric: a regression study's objective is one of val_r2, val_loss, got 'val_accuracy' "
     "(val_accuracy is for classification; set task: classification)"),
    ({"dataset": "digits", "objective": "val_r2"},
     "objective.metric: a classification study's objective is one of val_accuracy, val_loss, "
     "val_balanced_accuracy, val_f1_macro, val_roc_auc, val_log_loss, got 'val_r2' "
     "(val_r2 is for regression; set task: regression)"),
    ({"task": "ranking"}, "task: must be one of classification, regression, got 'ranking'"),
    ({"task": ["regression"]}, "task: must be one of classification, regression, got ['regression']"),
    ({"task": "classification"}, "task: diabetes is a regression dataset; a classification study needs"),
    ({"dataset": "mnist", "task": "regression"}, "task: mnist is a classification dataset"),
    ({"estimator": {"loss": "hinge"}}, "estimator.loss: The 'loss' parameter of MLPRegressor must be"),
    ({"dataset": "digits", "estimator": {"loss": "squared_error"}}, "estimator.loss: unknown key"),
    ({"space": {"loss": {"choices": ["squared_error", "huber"]}}}, "space.loss: The 'loss' parameter of"),
], ids=["val_accuracy_for_regression", "val_r2_for_classification", "unknown_task", "task_not_a_string",
        "diabetes_as_classification", "mnist_as_regression", "bad_regressor_param", "loss_for_a_classifier",
        "bad_searched_regressor_param"])
def test_a_task_mismatch_is_one_line_naming_the_key(tmp_path, keys, expected):
    assert expected in refused(study(tmp_path, **keys))


# ----------------------------------------------------------------------------
# What each task scores, says and draws
# ----------------------------------------------------------------------------

def fit(task, data, seed=0, epochs=5, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = TASKS[task].estimator(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=epochs,
                                      random_state=seed, **params)
        return model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", subset=400, validation_fraction=0.25, test_subset=150)


@pytest.fixture(scope="module")
def diabetes():
    return load_dataset("diabetes", task="regression", validation_fraction=0.2)


@pytest.fixture(scope="module")
def fitted(digits, diabetes):
    """Two repeats (seeds 0 and 1) of each task's estimator on its dataset."""
    return {"classification": (digits, [fit("classification", digits, seed) for seed in (0, 1)]),
            "regression": (diabetes, [fit("regression", diabetes, seed) for seed in (0, 1)])}


def test_tasks_are_keyed_by_name_and_say_what_each_objective_and_test_score_is_called():
    assert {name: type(task) for name, task in TASKS.items()} == {
        "classification": ClassificationTask, "regression": RegressionTask}
    for task in TASKS.values():
        assert isinstance(task, Task) and set(task.objective_words) == set(task.metrics)
        assert task.test_metric in task.test_words and "test_loss" in task.test_words
    assert TASKS["classification"].objective_words == {
        "val_accuracy": "accuracy", "val_loss": "log loss", "val_balanced_accuracy": "balanced accuracy",
        "val_f1_macro": "macro F1", "val_roc_auc": "ROC AUC", "val_log_loss": "log loss"}
    assert TASKS["regression"].objective_words == {"val_r2": "R^2", "val_loss": "loss"}
    assert (TASKS["classification"].test_metric, TASKS["regression"].test_metric) == ("test_accuracy", "test_r2")
    with pytest.raises(TypeError):
        Task()  # abstract: a task says how it scores and draws


def test_a_classifications_objective_is_accuracy_or_log_loss_on_the_rows_given(fitted):
    data, (model, _) = fitted["classification"]
    task = TASKS["classification"]
    assert task.objective_on(model, data.X_val, data.y_val, "val_accuracy") == pytest.approx(
        accuracy_score(data.y_val, model.predict(data.X_val)))
    assert task.objective_on(model, data.X_train, data.y_train, "val_loss") == pytest.approx(
        log_loss(data.y_train, model.predict_proba(data.X_train), labels=model.classes_))
    assert task.objective_on(model, data.X_val, data.y_val, "val_accuracy") == pytest.approx(
        model.history_[-1]["val_accuracy"])


def test_a_regressions_objective_is_what_val_r2_and_val_loss_measure_on_the_validation_rows(fitted):
    data, (model, _) = fitted["regression"]
    task = TASKS["regression"]
    predicted = model.predict(data.X_val)
    assert task.objective_on(model, data.X_val, data.y_val, "val_r2") == pytest.approx(r2_score(data.y_val, predicted))
    assert task.objective_on(model, data.X_val, data.y_val, "val_loss") == pytest.approx(
        mean_squared_error(data.y_val, predicted) / 2)
    assert task.objective_on(model, data.X_val, data.y_val, "val_r2") == pytest.approx(
        model.history_[-1]["val_r2"], rel=1e-5)
    assert task.objective_on(model, data.X_val, data.y_val, "val_loss") == pytest.approx(
        model.history_[-1]["val_loss"], rel=1e-5)


def test_regression_scores_are_r2_the_estimators_own_loss_and_the_mse():
    y, predicted = np.array([1.0, 2.0, 4.0, 3.0]), np.array([1.5, 2.0, 3.0, 3.5])
    task = TASKS["regression"]
    assert task.scores(MLPRegressor(), y, predicted) == {
        "test_r2": pytest.approx(r2_score(y, predicted)),
        "test_loss": pytest.approx(mean_squared_error(y, predicted) / 2),
        "test_mse": pytest.approx(mean_squared_error(y, predicted))}
    poisson = task.scores(MLPRegressor(loss="poisson"), y, predicted)
    assert poisson["test_loss"] == pytest.approx(mean_poisson_deviance(y, predicted) / 2)


def test_a_regressor_predicting_nan_scores_nan():
    nan = TASKS["regression"].scores(MLPRegressor(), np.ones(3), np.array([1.0, np.nan, 1.0]))
    assert list(nan) == ["test_r2", "test_loss", "test_mse"] and all(np.isnan(v) for v in nan.values())


def test_a_classification_trials_test_scores_are_the_mean_over_its_repeats(fitted):
    data, models = fitted["classification"]
    accuracy = [accuracy_score(data.y_test, m.predict(data.X_test)) for m in models]
    loss = [log_loss(data.y_test, m.predict_proba(data.X_test), labels=m.classes_) for m in models]
    assert accuracy[0] != accuracy[1] or loss[0] != loss[1]  # two repeats that differ: a mean to take
    assert TASKS["classification"].trial_scores(models, data) == {
        "test_accuracy": pytest.approx(np.mean(accuracy)), "test_loss": pytest.approx(np.mean(loss))}


def test_a_regression_trials_test_scores_are_the_mean_over_its_repeats(fitted):
    data, models = fitted["regression"]
    predicted = [m.predict(data.X_test) for m in models]
    assert not np.allclose(*predicted)
    assert TASKS["regression"].trial_scores(models, data) == {
        "test_r2": pytest.approx(np.mean([r2_score(data.y_test, p) for p in predicted])),
        "test_loss": pytest.approx(np.mean([mean_squared_error(data.y_test, p) / 2 for p in predicted])),
        "test_mse": pytest.approx(np.mean([mean_squared_error(data.y_test, p) for p in predicted]))}


@pytest.mark.parametrize("name", ["classification", "regression"])
def test_the_champions_test_scores_are_the_pipelines_on_the_raw_test_rows(fitted, name):
    data, (model, _) = fitted[name]
    pipeline = with_estimator(data.preprocessing, model)
    scores, predictions = TASKS[name].test_scores(pipeline, data)
    predicted = model.predict(data.X_test)  # the scaled rows give what the pipeline gives the raw ones
    np.testing.assert_allclose(predictions.predicted, predicted, rtol=1e-5)
    if name == "classification":
        proba = model.predict_proba(data.X_test)
        np.testing.assert_allclose(predictions.proba, proba, rtol=1e-5)
        assert scores == {"test_accuracy": pytest.approx(accuracy_score(data.y_test, predicted)),
                          "test_loss": pytest.approx(log_loss(data.y_test, proba, labels=model.classes_))}
    else:
        assert predictions.proba is None
        assert scores == {"test_r2": pytest.approx(r2_score(data.y_test, predicted)),
                          "test_loss": pytest.approx(mean_squared_error(data.y_test, predicted) / 2),
                          "test_mse": pytest.approx(mean_squared_error(data.y_test, predicted))}


def test_score_text_gives_each_tasks_test_scores_in_its_words():
    assert TASKS["classification"].score_text({"test_accuracy": 0.91234, "test_loss": 0.3}) == (
        "test accuracy 0.9123, test loss 0.3000")
    assert TASKS["regression"].score_text({"test_r2": 0.45123, "test_loss": 1450.24, "test_mse": 2900.48}) == (
        "test R^2 0.4512, test loss 1450, test MSE 2900")


def test_a_classification_trials_figure_payload(fitted, digits):
    data, (model, _) = fitted["classification"]
    task = TASKS["classification"]
    payload = task.trial_payload(model, data, "trial 3")
    assert set(payload) == {"task", "title", "history", "y_true", "y_pred", "top", "image_shape"}
    assert (payload["task"], payload["title"], payload["image_shape"]) == ("classification", "trial 3", (8, 8))
    assert payload["history"] is model.history_
    np.testing.assert_array_equal(payload["y_pred"], model.predict(data.X_val))
    np.testing.assert_array_equal(payload["y_true"], data.y_val)
    assert "top" not in task.trial_payload(model, data, "trial 3", images=False)
    no_validation = load_dataset("digits", subset=200, validation_fraction=0)
    assert set(task.trial_payload(model, no_validation, "trial 3")) == {"task", "title", "history"}


def test_a_regression_trials_figure_payload(fitted):
    data, (model, _) = fitted["regression"]
    payload = TASKS["regression"].trial_payload(model, data, "trial 0")
    assert set(payload) == {"task", "title", "history", "y_true", "y_pred"} and payload["task"] == "regression"
    np.testing.assert_array_equal(payload["y_pred"], model.predict(data.X_val))


def drawn(folder):
    written = sorted(p.name for p in folder.glob("*.png"))
    for path in folder.glob("*.png"):
        image = matplotlib.image.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01  # drawn, not blank
    return written


@pytest.mark.parametrize("name, files", [
    ("classification", ["refit_curves.png", "test_confusion_matrix.png", "test_top3_images.png"]),
    ("regression", ["refit_curves.png", "test_predictions.png"]),
])
def test_the_champions_figures(fitted, tmp_path, name, files):
    data, (model, _) = fitted[name]
    _, predictions = TASKS[name].test_scores(with_estimator(data.preprocessing, model), data)
    TASKS[name].champion_figures(tmp_path, model, data, predictions)
    assert drawn(tmp_path) == files


def test_a_diverged_regressors_nan_predictions_still_draw(fitted, tmp_path):
    data, (model, _) = fitted["regression"]
    predicted = model.predict(data.X_test)
    predicted[[1, 3]] = [np.nan, np.inf]
    TASKS["regression"].champion_figures(tmp_path, model, data, Predictions(predicted))
    assert drawn(tmp_path) == ["refit_curves.png", "test_predictions.png"]
