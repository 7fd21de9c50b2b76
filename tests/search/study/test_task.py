"""Tests for search.study.task: a study is a classification or a regression, and says so once."""

import pytest
import yaml

from estimators import MLPClassifier, MLPRegressor
from search.data import default_task
from search.study.file import load_study
from search.study.task import TASKS
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
    assert "callbacks" not in TASKS["regression"].params  # the service's, never a study file's


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
     "objective.metric: a classification study's objective is one of val_accuracy, val_loss, got 'val_r2' "
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
