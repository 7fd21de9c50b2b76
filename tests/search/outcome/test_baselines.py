"""The baselines beside the champion: fitted on the refit's rows in the study's preprocessing, scored on
the raw test rows, logged on the parent run, printed, and named in the description when they win."""

import json

import mlflow
import numpy as np
import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score

from search.context import StudyRun
from search.outcome import baselines
from search.outcome import champion as champion_module
from search.service import load_data
from search.study.file import load_study
from tests.conftest import tiny_study_text
from tests.search.outcome.test_champion import fake_best
from tests.search.test_regression import STUDY as REGRESSION


@pytest.fixture(scope="module")
def tracking_uri(tmp_path_factory):
    uri = f"sqlite:///{tmp_path_factory.mktemp('baselines')}/mlflow.db"
    MlflowClient(uri).create_experiment("baselines")
    return uri


def study_run(folder, uri, study):
    """A StudyRun of ``study`` (a mapping) with a new parent run in ``uri``'s 'baselines' experiment."""
    path = folder / f"{study['name']}.yaml"
    path.write_text(yaml.safe_dump(study))
    spec = load_study(path)
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("baselines").experiment_id
    parent = client.create_run(experiment).info.run_id
    return StudyRun(spec, load_data(spec), client, uri, "", experiment, parent)


@pytest.fixture(scope="module")
def digits(tmp_path_factory, tracking_uri):
    return study_run(tmp_path_factory.mktemp("digits"), tracking_uri, yaml.safe_load(tiny_study_text("digits")))


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory, tracking_uri):
    return study_run(tmp_path_factory.mktemp("diabetes"), tracking_uri, {**REGRESSION, "name": "diabetes"})


def compared(run, champion):
    return baselines.compare(run, *champion_module._train_and_validation(run.data), champion)


def test_each_classification_baseline_is_scored_and_logged_on_the_parent_run(digits):
    comparison = compared(digits, {"test_accuracy": 1.0, "test_loss": 0.01})
    assert [s.name for s in comparison.scored] == ["dummy", "linear", "hist_gradient_boosting"]
    metrics = digits.client.get_run(digits.parent).data.metrics
    for s in comparison.scored:
        assert metrics[f"baseline_{s.name}_test_accuracy"] == s.scores["test_accuracy"]
        assert metrics[f"baseline_{s.name}_test_loss"] == s.scores["test_loss"]
    scores = {s.name: s.scores["test_accuracy"] for s in comparison.scored}
    assert scores["dummy"] < 0.2 < 0.8 < scores["linear"] and scores["hist_gradient_boosting"] > 0.8
    assert comparison.lines == [  # a champion that wins gets one line, no loss
        f"baselines on the test rows: dummy {scores['dummy']:.4f}, linear {scores['linear']:.4f}, "
        f"hist_gradient_boosting {scores['hist_gradient_boosting']:.4f} (test accuracy); champion 1.0000"]
    assert comparison.loss == ""


def test_the_linear_baseline_is_logistic_regression_in_the_studys_preprocessing(digits):
    comparison = compared(digits, {"test_accuracy": 1.0, "test_loss": 0.01})
    linear = next(s for s in comparison.scored if s.name == "linear")
    X, y = champion_module._train_and_validation(digits.data)
    assert linear.fit_rows == len(X) == len(digits.data.X_train) + len(digits.data.X_val)
    expected = LogisticRegression(max_iter=1000, random_state=0).fit(X, y)
    raw = digits.data.X_test_raw  # as the user has them: the pipeline's preprocessing transforms them
    assert linear.model.predict(raw).tolist() == expected.predict(digits.data.preprocessing.transform(raw)).tolist()
    assert linear.model.steps[:-1] == digits.data.preprocessing.steps


def test_the_regression_baselines_are_scored_by_r2_on_the_raw_test_rows(diabetes):
    comparison = compared(diabetes, {"test_r2": 0.1, "test_loss": 2000.0, "test_mse": 4000.0})
    linear = next(s for s in comparison.scored if s.name == "linear")
    X, y = champion_module._train_and_validation(diabetes.data)
    ridge = RidgeCV().fit(X, y)
    expected = r2_score(diabetes.data.y_test, ridge.predict(diabetes.data.preprocessing.transform(
        diabetes.data.X_test_raw)))
    assert linear.scores["test_r2"] == pytest.approx(expected)
    metrics = diabetes.client.get_run(diabetes.parent).data.metrics
    assert {"baseline_dummy_test_r2", "baseline_linear_test_mse", "baseline_hist_gradient_boosting_test_loss"} <= set(
        metrics)
    assert metrics["baseline_dummy_test_r2"] < 0.0 < 0.3 < linear.scores["test_r2"]


def test_a_champion_that_loses_to_the_linear_baseline_is_told_so(diabetes):
    comparison = compared(diabetes, {"test_r2": 0.1, "test_loss": 2000.0, "test_mse": 4000.0})
    linear = next(s for s in comparison.scored if s.name == "linear").scores["test_r2"]
    loss = f"the champion loses to the linear baseline by {linear - 0.1:.4g} test R^2"
    assert comparison.lines[0].endswith("(test R^2); champion 0.1") and comparison.lines[1] == loss
    assert comparison.loss == loss
    description = baselines.description(diabetes.task, comparison)
    assert description.startswith(" Baselines on the same rows and preprocessing: dummy ")
    assert description.endswith(f" T{loss[1:]}.")
    assert baselines.description(diabetes.task, None) == ""


def test_a_diverged_champion_loses_to_the_linear_baseline(diabetes):
    nan = float("nan")
    comparison = compared(diabetes, {"test_r2": nan, "test_loss": nan, "test_mse": nan})
    assert comparison.loss == "the champion loses to the linear baseline: its test R^2 is NaN"


def test_the_baselines_artifact_holds_every_score_and_the_rows_fitted(digits):
    comparison = compared(digits, {"test_accuracy": 0.5, "test_loss": 1.0})
    path = mlflow.artifacts.download_artifacts(run_id=digits.parent, artifact_path="study/baselines.json",
                                               tracking_uri=digits.tracking_uri)
    record = json.loads(open(path).read())
    assert record["test_metric"] == "test_accuracy" and record["champion"] == {"test_accuracy": 0.5, "test_loss": 1.0}
    assert {name: entry["scores"] for name, entry in record["baselines"].items()} == {
        s.name: s.scores for s in comparison.scored}
    assert record["baselines"]["linear"]["model"] == "LogisticRegression(max_iter=1000, random_state=0)"
    assert {entry["fit_rows"] for entry in record["baselines"].values()} == {500}


def test_a_subsample_keeps_each_class_in_proportion_and_small_data_whole():
    X, y = np.arange(300).reshape(100, 3), np.repeat([0, 1], [80, 20])
    Xs, ys = baselines.subsample(X, y, 50, classes=True, seed=0)
    assert len(Xs) == 50 and np.bincount(ys).tolist() == [40, 10]
    assert baselines.subsample(X, y, 100, classes=True, seed=0)[0] is X
    assert baselines.subsample(X, y, None, classes=False, seed=0)[0] is X


def test_a_baseline_fitted_on_a_subsample_is_named_in_the_line(digits, monkeypatch):
    few = baselines.Baseline(baselines.BASELINES["classification"]["hist_gradient_boosting"].make, max_rows=200)
    monkeypatch.setitem(baselines.BASELINES["classification"], "hist_gradient_boosting", few)
    comparison = compared(digits, {"test_accuracy": 1.0, "test_loss": 0.01})
    assert comparison.scored[-1].fit_rows == 200
    assert comparison.lines[0].endswith("; champion 1.0000; hist_gradient_boosting fitted on 200 of the 500 rows")


def refit(run, monkeypatch, worse):
    """refit_and_register on a study whose best trial is ``fake_best``; ``worse``: the champion's
    test scores replaced by a champion that cannot beat a linear model."""
    study = optuna.create_study(direction="maximize")
    study.add_trial(fake_best(run.spec, value=0.9))
    if worse:
        def stub(run, refit, pipeline):
            return {"test_accuracy": 0.05, "test_loss": 5.0}
        monkeypatch.setattr(champion_module, "_score_and_draw", stub)
    mlflow.set_tracking_uri(run.tracking_uri)
    return champion_module.refit_and_register(run, study)


def test_the_registered_version_says_that_its_champion_loses_to_the_linear_baseline(tmp_path, tracking_uri,
                                                                                   monkeypatch):
    study = yaml.safe_load(tiny_study_text("loser", register={"name": "loser", "alias": "champion"}))
    run = study_run(tmp_path, tracking_uri, study)
    champion = refit(run, monkeypatch, worse=True)
    linear = champion.baselines.scored[1].scores["test_accuracy"]
    loss = f"the champion loses to the linear baseline by {linear - 0.05:.4f} test accuracy"
    assert champion.lines[1].startswith("baselines on the test rows: dummy ") and champion.lines[2] == loss
    assert champion.lines[3].startswith("registered loser version 1")
    version = run.client.get_model_version("loser", "1")
    assert version.description.endswith(f" T{loss[1:]}.")


def test_baselines_false_fits_and_logs_none(tmp_path, tracking_uri, monkeypatch):
    study = yaml.safe_load(tiny_study_text("without", register=False, baselines=False))
    run = study_run(tmp_path, tracking_uri, study)
    champion = refit(run, monkeypatch, worse=True)
    assert champion.baselines is None and not any(line.startswith("baselines") for line in champion.lines)
    assert not any("loses" in line for line in champion.lines)
    assert not any(k.startswith("baseline_") for k in run.client.get_run(run.parent).data.metrics)
