"""The registered champion: a whole pipeline that predicts from the user's raw rows,
guarded against a bad refit, registered only when something changed, and served."""

import contextlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import namedtuple
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.trial import create_trial
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from estimators import MLPRegressor
from search import cli
from search.context import StudyRun
from search.outcome import champion as champion_module
from search.service import load_data
from search.study.task import TASKS
from search.study.file import load_study
from tests.conftest import free_port, tiny_study_text
from tests.search.test_regression import STUDY as REGRESSION

Finished = namedtuple("Finished", "path stores folder client uri parent output")


def raw_digits_test_rows():
    """The digits test split as ``load_digits`` returns it (float64 0..16), the loader's split."""
    X, y = load_digits(return_X_y=True)
    _, X_test, _, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    return X_test, y_test


def write_study(folder, name, register_name, **keys):
    study = yaml.safe_load(tiny_study_text(name, **keys))
    study["dataset"] = {"name": "digits", "validation_fraction": 0.2}  # every test row: load_digits' split
    study["register"] = {"name": register_name, "alias": "champion"}
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def run_study(path, stores, capsys):
    assert cli.main(["run", str(path), *stores]) == 0
    return capsys.readouterr().out


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A small digits study run through the command line; its champion registered as 'digits-mlp'."""
    folder = tmp_path_factory.mktemp("champion")
    path = write_study(folder, "champ", "digits-mlp")
    uri = f"sqlite:///{folder}/mlflow.db"
    stores = ["--storage", f"sqlite:///{folder}/optuna.db", "--tracking-uri", uri]
    out = io.StringIO()  # module scope: capsys is per test, so stdout is read here
    with contextlib.redirect_stdout(out):
        assert cli.main(["run", str(path), *stores]) == 0
    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("champ")
    parent = client.search_runs([experiment.experiment_id], filter_string="tags.study = 'champ'")[0]
    return Finished(path, stores, folder, client, uri, parent, out.getvalue())


@pytest.mark.slow
def test_the_champion_predicts_raw_digits_in_any_dtype_with_the_logged_test_accuracy(champion):
    mlflow.set_tracking_uri(champion.uri)
    model = mlflow.pyfunc.load_model("models:/digits-mlp@champion")
    X_test, y_test = raw_digits_test_rows()
    logged = champion.parent.data.metrics["test_accuracy"]
    for rows in (X_test, X_test.astype(np.int64), X_test.astype(np.float32), X_test.astype(np.uint8),
                 pd.DataFrame(X_test.astype(np.int64), columns=[f"pixel{i}" for i in range(64)])):
        predicted = model.predict(rows)
        assert predicted.dtype.kind == "i"  # labels as in the data
        assert np.mean(predicted == y_test) == logged
    assert logged > 0.5  # a trained model, not chance (0.1)


@pytest.mark.slow
def test_the_sklearn_flavor_is_the_whole_pipeline_with_probabilities(champion):
    mlflow.set_tracking_uri(champion.uri)
    pipeline = mlflow.sklearn.load_model("models:/digits-mlp@champion")
    assert isinstance(pipeline, Pipeline)
    assert [name for name, _ in pipeline.steps] == ["rows", "scale", "mlp"]
    X_test, y_test = raw_digits_test_rows()
    proba = pipeline.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(pipeline.classes_[proba.argmax(axis=1)], pipeline.predict(X_test))
    # 8x8 images as arrays work too: the first step flattens them
    np.testing.assert_array_equal(pipeline.predict(X_test.reshape(-1, 8, 8)), pipeline.predict(X_test))
    raw = mlflow.pyfunc.load_model("models:/digits-mlp@champion").get_raw_model()
    np.testing.assert_array_equal(raw.predict_proba(X_test), proba)


@pytest.mark.slow
def test_the_model_carries_a_signature_and_a_raw_input_example(champion, tmp_path):
    mlflow.set_tracking_uri(champion.uri)
    info = mlflow.models.get_model_info("models:/digits-mlp@champion")
    assert info.signature.inputs is None and info.metadata["input"].startswith("8x8 images")  # any dtype, any shape
    folder = Path(mlflow.artifacts.download_artifacts("models:/digits-mlp@champion", dst_path=str(tmp_path)))
    example = json.loads((folder / "serving_input_example.json").read_text())
    images = np.array(example["inputs"])
    assert images.shape == (5, 8, 8) and images.dtype.kind == "i" and images.max() <= 16  # raw digits


@pytest.mark.slow
def test_the_registered_version_says_what_it_is(champion):
    client = champion.client
    version = client.get_model_version_by_alias("digits-mlp", "champion")
    best = json.loads(Path(mlflow.artifacts.download_artifacts(
        run_id=champion.parent.info.run_id, artifact_path="study/best_params.json",
        tracking_uri=champion.uri)).read_text())
    tags = version.tags
    assert tags["study"] == "champ" and tags["parent_run_id"] == champion.parent.info.run_id
    assert float(tags["objective_value"]) == pytest.approx(best["value"])
    assert len(tags["data_fingerprint"]) == 16 and tags["source"] in ("refit", f"trial-{tags['trial']}")
    data = load_data(load_study(champion.path))
    assert tags["data_fingerprint"] == data.fingerprint
    assert f"trial {tags['trial']}" in version.description and "StandardScaler" in version.description
    assert f"registered digits-mlp version {version.version}; champion moved to it" in champion.output


@pytest.mark.slow
def test_the_baselines_are_printed_and_logged_beside_the_champion(champion):
    metrics = champion.client.get_run(champion.parent.info.run_id).data.metrics
    scores = [f"{name} {metrics[f'baseline_{name}_test_accuracy']:.4f}"
              for name in ("dummy", "linear", "hist_gradient_boosting")]
    line = (f"baselines on the test rows: {', '.join(scores)} (test accuracy); "
            f"champion {metrics['test_accuracy']:.4f}")
    assert line in champion.output.splitlines()
    assert ("the champion loses to the linear baseline" in champion.output) == (
        metrics["test_accuracy"] < metrics["baseline_linear_test_accuracy"])


@pytest.mark.slow
def test_mlflow_evaluate_scores_the_champion_as_we_do_and_draws_its_figures(champion):
    metrics = champion.client.get_run(champion.parent.info.run_id).data.metrics
    assert metrics["test_accuracy_score"] == pytest.approx(metrics["test_accuracy"], abs=1e-12)
    assert metrics["test_log_loss"] == pytest.approx(metrics["test_loss"], rel=1e-6)
    assert metrics["test_example_count"] == 450
    assert {"test_f1_score", "test_roc_auc", "test_precision_score", "test_recall_score"} <= set(metrics)
    artifacts = {a.path for a in champion.client.list_artifacts(champion.parent.info.run_id)}
    assert {"test_confusion_matrix.png", "test_roc_curve_plot.png", "per_class_metrics.csv"} <= artifacts


@pytest.mark.slow
def test_the_parent_and_every_trial_run_have_the_splits_as_dataset_inputs(champion):
    experiment = champion.client.get_experiment_by_name("champ").experiment_id
    trials = champion.client.search_runs([experiment], f"tags.`mlflow.parentRunId` = '{champion.parent.info.run_id}'")
    assert len(trials) == 3
    for run in [champion.client.get_run(champion.parent.info.run_id), *trials]:
        inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
        assert {context: d.name for context, d in inputs.items()} == {
            "training": "digits-training", "validation": "digits-validation", "test": "digits-test"}, run.info.run_name
        assert '"features_shape": [450, 64]' in inputs["test"].profile  # the raw test rows, all of them


@pytest.mark.slow
def test_running_a_finished_study_again_registers_nothing_new(champion, capsys):
    before = champion.client.search_model_versions("name = 'digits-mlp'")
    output = run_study(champion.path, champion.stores, capsys)
    after = champion.client.search_model_versions("name = 'digits-mlp'")
    assert len(after) == len(before)
    assert "nothing changed since digits-mlp version" in output and "no new version" in output


@pytest.mark.slow
def test_a_worse_model_is_registered_but_does_not_take_the_alias(champion, capsys):
    """Another study under the same registered name, trained far too briefly to compete."""
    champion_before = champion.client.get_model_version_by_alias("digits-mlp", "champion")
    path = write_study(champion.folder, "weak", "digits-mlp", epochs=1, n_trials=1,
                       estimator={"solver": "sgd", "learning_rate_init": 1e-5, "batch_size": 32,
                                  "hidden_layer_sizes": [4]})
    output = run_study(path, champion.stores, capsys)
    versions = champion.client.search_model_versions("name = 'digits-mlp'")
    weak = max(versions, key=lambda v: int(v.version))
    assert weak.tags["study"] == "weak" and weak.version != champion_before.version
    assert champion.client.get_model_version_by_alias("digits-mlp", "champion").version == champion_before.version
    assert f"registered digits-mlp version {weak.version}; champion stays" in output


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A study spec and its data, for the guard alone."""
    path = tmp_path_factory.mktemp("guard") / "guard.yaml"
    path.write_text(tiny_study_text("guard"))
    spec = load_study(path)
    return spec, load_data(spec)


def fake_best(spec, value, **params):
    """A finished trial with ``value`` as its objective."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    params = {"activation": "relu", "lambda": 1e-4, **params}
    return create_trial(value=value, params=params, distributions={
        "activation": CategoricalDistribution(["relu", "leaky_relu"]),
        "lambda": FloatDistribution(1e-5, 1e-2, log=True)})


def guarded(spec, data, number=0, value=0.5, **refit_params):
    """``_guarded_refit`` for a trial of 'relu' and lambda 1e-4, its refit given ``refit_params``."""
    best = fake_best(spec, value=value)
    best.number = number
    X, _ = champion_module._train_and_validation(data)
    params = {**champion_module.params_of_trial(best, spec, len(X)), **refit_params}
    return champion_module._guarded_refit(StudyRun(spec, data, None, "", ""), best, params)


def compared(reason):
    """The refit's and the trial's scores from the guard's 'refit a, trial n's own model b'."""
    return [float(part.split()[-1]) for part in reason.split(": ", 1)[1].split(", ")]


def test_a_refit_worse_than_the_best_trials_own_model_is_replaced_by_it(tiny):
    spec, data = tiny
    model, source, reason = guarded(spec, data, number=7, learning_rate_init=1e-7)  # a refit that barely moves
    refit, own = compared(reason)
    assert source == "trial-7" and refit < own
    assert model.learning_rate_init == 0.05 and model.t_ == len(data.X_train) * model.n_iter_  # the trial's


def test_a_refit_better_than_the_best_trials_own_model_is_kept(tiny):
    spec, data = tiny
    X, _ = champion_module._train_and_validation(data)
    model, source, reason = guarded(spec, data, max_iter=30)  # ten times the trial's epochs
    refit, own = compared(reason)
    assert source == "refit" and refit >= own and model.t_ == len(X) * model.n_iter_  # trained on X


def test_a_diverging_refit_is_replaced_by_the_trials_own_model(tiny):
    spec, data = tiny
    model, source, reason = guarded(spec, data, number=3, learning_rate_init=1e6)
    assert source == "trial-3" and "the refit diverged" in reason
    assert model.learning_rate_init == 0.05  # the trial's own configuration


def test_a_model_this_process_kept_is_the_guard_s_own_model_not_trained_again(tiny, monkeypatch):
    spec, data = tiny
    best = fake_best(spec, value=0.5)
    best.number = 5
    X, _ = champion_module._train_and_validation(data)
    params = {**champion_module.params_of_trial(best, spec, len(X)), "learning_rate_init": 1e-7}  # a worse refit
    own = champion_module._fit(StudyRun(spec, data, None, "", ""),
                               champion_module.params_of_trial(best, spec, len(data.X_train)),
                               data.X_train, data.y_train)
    run = StudyRun(spec, data, None, "", "")
    run.keep(4, 0.9, "trial 4's model")
    run.keep(5, 0.95, own)  # the best kept so far replaces the other
    run.keep(6, 0.2, "a worse trial's model")
    fits, fit = [], champion_module._fit
    monkeypatch.setattr(champion_module, "_fit", lambda *args: fits.append(args[1]) or fit(*args))
    model, source, _ = champion_module._guarded_refit(run, best, params)
    assert model is own and source == "trial-5" and run.kept_model(4) is None
    assert [p["learning_rate_init"] for p in fits] == [1e-7]  # the refit alone was trained


def test_with_folds_the_guard_is_fold_0s_model_and_the_refit_trains_on_every_training_row(tmp_path):
    path = tmp_path / "folds.yaml"
    path.write_text(tiny_study_text("folds", dataset={"name": "digits", "subset": 500, "validation": {"folds": 3}}))
    spec = load_study(path)
    data = load_data(spec)
    fold_rows = len(data.folds[0][0])
    model, source, reason = guarded(spec, data, number=2, learning_rate_init=1e-7)  # a refit that barely moves
    assert source == "trial-2" and model.t_ == fold_rows * model.n_iter_  # fold 0's training rows only
    model, source, _ = guarded(spec, data, max_iter=30)
    assert source == "refit" and model.t_ == len(data.X_train) * model.n_iter_ and len(data.X_val) == 0


def test_a_regressions_guard_compares_by_the_regression_objective(tmp_path):
    path = tmp_path / "guard.yaml"
    path.write_text(yaml.safe_dump({**REGRESSION, "epochs": 10, "objective": "val_loss"}))
    spec = load_study(path)
    data = load_data(spec)
    model, source, reason = guarded(spec, data, number=4, value=2000.0, learning_rate_init=1e-7)
    refit, own = compared(reason)
    assert reason.startswith("loss on the training and validation rows") and isinstance(model, MLPRegressor)
    assert source == "trial-4" and refit > own  # val_loss is minimised: the higher loss loses
    X, y = champion_module._train_and_validation(data)
    assert own == pytest.approx(TASKS["regression"].objective_on(model, X, y, "val_loss"))


def test_the_refit_trains_what_the_trial_trained(tiny):
    spec, data = tiny
    best = fake_best(spec, value=0.5, activation="leaky_relu", **{"lambda": 1e-3})
    params = champion_module.params_of_trial(best, spec, len(data.X_train))
    batch = min(spec.estimator["batch_size"], len(data.X_train))
    assert params == {**spec.estimator, "activation": "leaky_relu", "alpha": pytest.approx(2 * batch * 1e-3),
                      "max_iter": spec.epochs}


def wait_until_ready(process, url, deadline_s=180):
    """Poll ``url`` until it answers 200, the server exits, or the deadline passes."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mlflow models serve exited with {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow models serve did not answer {url} within {deadline_s} s")


def post(url, payload):
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["predictions"]


def mlflow_command(*args):
    return [str(Path(sys.executable).parent / "mlflow"), *args]


def serve_env(champion):
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "MLFLOW_TRACKING_URI": champion.uri, "PATH": path}


@pytest.mark.slow
def test_mlflow_models_serve_answers_raw_rows_with_labels(champion):
    X_test, y_test = raw_digits_test_rows()
    rows = X_test[:40].astype(int)
    mlflow.set_tracking_uri(champion.uri)
    expected = mlflow.sklearn.load_model("models:/digits-mlp@champion").predict(rows).tolist()
    port = free_port()
    process = subprocess.Popen(
        mlflow_command("models", "serve", "-m", "models:/digits-mlp@champion", "--env-manager", "local",
                       "-h", "127.0.0.1", "-p", str(port)),
        env=serve_env(champion), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_ready(process, f"http://127.0.0.1:{port}/ping")
        url = f"http://127.0.0.1:{port}/invocations"
        split = post(url, {"dataframe_split": {"columns": [f"pixel{i}" for i in range(64)],
                                               "data": rows.tolist()}})
        inputs = post(url, {"inputs": rows.tolist()})
        floats = post(url, {"inputs": X_test[:40].tolist()})  # float64 0.0..16.0, as load_digits has them
    finally:
        process.terminate()
        process.wait(timeout=60)
    assert split == inputs == floats == expected
    assert np.mean(np.array(split) == y_test[:40]) > 0.5


@pytest.mark.slow
def test_mlflow_models_predict_reads_a_csv_of_raw_rows(champion, tmp_path):
    X_test, y_test = raw_digits_test_rows()
    csv = tmp_path / "rows.csv"
    pd.DataFrame(X_test.astype(int), columns=[f"pixel{i}" for i in range(64)]).to_csv(csv, index=False)
    out = tmp_path / "predictions.json"
    result = subprocess.run(
        mlflow_command("models", "predict", "-m", "models:/digits-mlp@champion", "-i", str(csv),
                       "-t", "csv", "-o", str(out), "--env-manager", "local"),
        env=serve_env(champion), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    predicted = np.array(json.loads(out.read_text())["predictions"])
    assert np.mean(predicted == y_test) == champion.parent.data.metrics["test_accuracy"]
