"""A regression study end to end, through the command line: its trials' scores and figures, its
champion, its experiment's columns, its report, and its bad input (each step's regression side is
tested with the task's, in tests/search/study/test_task.py)."""

import contextlib
import io
import json
from collections import namedtuple

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from sklearn.datasets import load_diabetes
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from estimators import MLPRegressor
from search import cli
from search.tracking.names import SHARED_VIEW_TAG, VIEW_KEY
from tests.search.test_bad_input import STORE_NAMES, csv_text
from tests.search.test_bad_input import test_bad_input_is_one_line_exit_2_and_writes_nothing as check_bad_input

STUDY = {
    "name": "reg",
    "dataset": {"name": "diabetes", "validation_fraction": 0.2},  # every test row: the loader's split
    "estimator": {"solver": "adam", "batch_size": 32, "learning_rate_init": 0.01},
    "space": {"activation": {"choices": ["relu", "leaky_relu"]},
              "lambda": {"low": "1e-5", "high": "1e-2", "log": True}},
    "epochs": 40,
    "sampler": {"name": "tpe", "seed": 0},
    "pruner": "none",
    "n_trials": 3,
    "register": {"name": "diabetes-mlp", "alias": "champion"},
}
Finished = namedtuple("Finished", "client uri parent trials output")


def raw_diabetes_test_rows():
    """The diabetes test split as ``load_diabetes`` returns it (raw float64), the loader's split."""
    X, y = load_diabetes(return_X_y=True, scaled=False)
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    return X_test, y_test


# ----------------------------------------------------------------------------
# A regression study end to end, through the command line
# ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A small diabetes study run through the command line; its champion registered as 'diabetes-mlp'."""
    folder = tmp_path_factory.mktemp("regression")
    path = folder / "reg.yaml"
    path.write_text(yaml.safe_dump(STUDY))
    uri = f"sqlite:///{folder}/mlflow.db"
    out = io.StringIO()  # module scope: capsys is per test, so stdout is read here
    with contextlib.redirect_stdout(out), pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        assert cli.main(["run", str(path), "--storage", f"sqlite:///{folder}/optuna.db", "--tracking-uri", uri]) == 0
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("reg").experiment_id
    parent = client.search_runs([experiment], filter_string="tags.study = 'reg'")[0]
    trials = client.search_runs([experiment], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return Finished(client, uri, parent, trials, out.getvalue())


@pytest.mark.slow
def test_the_champion_predicts_raw_diabetes_rows_with_the_logged_test_r2(champion):
    mlflow.set_tracking_uri(champion.uri)
    model = mlflow.pyfunc.load_model("models:/diabetes-mlp@champion")
    X_test, y_test = raw_diabetes_test_rows()
    logged = champion.parent.data.metrics["test_r2"]
    for rows in (X_test, X_test.astype(np.float32), pd.DataFrame(X_test, columns=load_diabetes().feature_names)):
        predicted = np.asarray(model.predict(rows))
        assert predicted.shape == (len(y_test),) and predicted.dtype.kind == "f"  # values, not labels
        assert r2_score(y_test, predicted) == pytest.approx(logged, abs=1e-6)
    assert mean_squared_error(y_test, predicted) == pytest.approx(champion.parent.data.metrics["test_mse"], rel=1e-5)
    assert logged > 0.2  # a trained model: predicting the mean scores about 0
    version = champion.client.get_model_version_by_alias("diabetes-mlp", "champion")
    assert float(version.tags["test_r2"]) == pytest.approx(logged, abs=1e-6)
    assert version.tags["objective"] == "val_r2" and "Predicts values from raw rows" in version.description
    assert f"test R^2 {logged:.4g}" in champion.output
    # mlflow.models.evaluate(model_type="regressor") of the logged pipeline gives the same numbers
    assert champion.parent.data.metrics["test_r2_score"] == pytest.approx(logged, abs=1e-9)
    assert champion.parent.data.metrics["test_mean_squared_error"] == pytest.approx(
        champion.parent.data.metrics["test_mse"], rel=1e-9)
    assert "(R^2 on the training and validation rows: refit " in champion.output  # guarded by val_r2


@pytest.mark.slow
def test_the_champion_is_the_whole_pipeline_with_a_regressor(champion):
    mlflow.set_tracking_uri(champion.uri)
    pipeline = mlflow.sklearn.load_model("models:/diabetes-mlp@champion")
    assert isinstance(pipeline, Pipeline) and [name for name, _ in pipeline.steps] == ["rows", "scale", "mlp"]
    assert isinstance(pipeline[-1], MLPRegressor)
    X_test, _ = raw_diabetes_test_rows()
    np.testing.assert_array_equal(pipeline.predict(X_test[:5]),
                                  mlflow.pyfunc.load_model("models:/diabetes-mlp@champion").predict(X_test[:5]))


@pytest.mark.slow
def test_trials_log_regression_scores_and_figures(champion):
    assert len(champion.trials) == STUDY["n_trials"]
    for run in champion.trials:
        metrics = run.data.metrics
        assert {"val_r2", "val_loss", "test_r2", "test_loss", "test_mse"} <= set(metrics)
        assert "test_accuracy" not in metrics and "val_accuracy" not in metrics
        plots = {a.path for a in champion.client.list_artifacts(run.info.run_id, "plots")}
        assert plots == {"plots/curves.png", "plots/gradient_norms.png", "plots/predictions.png"}
    best = {a.path for a in champion.client.list_artifacts(champion.parent.info.run_id, "best")}
    assert best == {"best/refit_curves.png", "best/test_predictions.png"}
    assert champion.parent.data.metrics["best_val_r2"] == max(r.data.metrics["val_r2"] for r in champion.trials)


@pytest.mark.slow
def test_the_runs_table_shows_the_test_r2_not_a_test_accuracy(champion):
    experiment = champion.client.get_experiment(champion.parent.info.experiment_id)
    columns = json.loads(experiment.tags[SHARED_VIEW_TAG + VIEW_KEY])["selectedColumns"]
    assert columns[:2] == ["metrics.`val_r2_mean`", "metrics.`test_r2`"]
    assert not any("accuracy" in column for column in columns)


# ----------------------------------------------------------------------------
# Bad input: one line, exit 2, nothing written
# ----------------------------------------------------------------------------

def csv_target_rows(bad_target=None):
    rng = np.random.default_rng(0)
    rows = [[f"{v:.4f}" for v in rng.random(3)] + [f"{rng.normal(100, 20):.2f}"] for _ in range(40)]
    if bad_target is not None:
        rows[11][-1] = bad_target
    return csv_text(rows)


REGRESSION_STUDY = {**STUDY, "epochs": 1, "n_trials": 1, "register": False}
CSV_REGRESSION = {**REGRESSION_STUDY, "task": "regression", "dataset": {"name": "csv", "path": "data.csv"}}


@pytest.mark.parametrize("study, files, expect", [
    ({**REGRESSION_STUDY, "objective": "val_accuracy"}, {},
     "a regression study's objective is one of val_r2, val_loss, got 'val_accuracy'"),
    (CSV_REGRESSION, {"data.csv": csv_target_rows("n/a")}, "data.csv line 12: target 'n/a' is not a finite number"),
    (CSV_REGRESSION, {"data.csv": csv_target_rows("inf")}, "data.csv line 12: target 'inf' is not a finite number"),
    ({**REGRESSION_STUDY, "dataset": "digits", "objective": "val_r2"}, {}, "set task: regression"),
], ids=["val_accuracy_for_regression", "text_target", "infinite_target", "val_r2_for_classification"])
def test_bad_regression_input_is_one_line_exit_2_and_writes_nothing(workdir, capsys, study, files, expect):
    check_bad_input(workdir, capsys, yaml.safe_dump(study), [], files, None, expect)
    assert not [name for name in STORE_NAMES if (workdir / name).exists()]


@pytest.mark.slow
def test_the_report_of_a_regression_study_scores_r2_not_accuracy(champion, tmp_path):
    from search.reporting import report

    text = report.report("reg", tracking_uri=champion.uri, out_dir=tmp_path).read_text()
    header = text.split("## Trials")[0]
    assert "test accuracy" not in text
    assert "test R^2" in text.split("## Trials")[1].split("\n\n")[1]  # the trial table's column
    which = ("best refit on train + validation" if champion.parent.data.tags["champion_source"] == "refit"
             else f"registered model ({champion.parent.data.tags['champion_source']})")
    assert f"- {which} (run `{champion.parent.info.run_id}`): test R^2 " in header
