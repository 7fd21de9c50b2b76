"""End to end: small real studies into temporary Optuna and MLflow stores."""

import json
import os
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path

import mlflow
import numpy as np
import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from search import cli, tracking
from search.service import load_data
from search.study.file import load_study
from tests.conftest import REPO, tiny_study_text

# End to end (subprocesses, MLflow stores, whole studies): `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow


def children(client, experiment_id, parent_run_id):
    return client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}'")


def open_study(name, folder=None):
    """The study in a finished_study folder (SQLite), or in the working folder's default journal."""
    storage = f"sqlite:///{folder}/optuna.db" if folder else JournalStorage(JournalFileBackend("optuna.journal"))
    return optuna.load_study(study_name=name, storage=storage)


Finished = namedtuple("Finished", "path stores folder client experiment parents")


@pytest.fixture(scope="module")
def finished_study(tmp_path_factory):
    """A two-stage study run once through the command line, shared by the tests that read it."""
    folder = tmp_path_factory.mktemp("e2e")
    study = yaml.safe_load(tiny_study_text("e2e"))
    study.update(stages=[{"n_trials": 3}, {"n_trials": 2}], register={"name": "e2e-model", "alias": "champion"})
    del study["n_trials"]
    path = folder / "e2e.yaml"
    path.write_text(yaml.safe_dump(study))
    stores = ["--storage", f"sqlite:///{folder}/optuna.db", "--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
    assert cli.main(["run", str(path), *stores]) == 0
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name("e2e")
    parents = client.search_runs([experiment.experiment_id], filter_string="tags.study = 'e2e'")
    return Finished(path, stores, folder, client, experiment.experiment_id, parents)


def test_each_trial_is_a_nested_run_with_params_metrics_and_plots(finished_study):
    client, experiment, parents = finished_study.client, finished_study.experiment, finished_study.parents
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    runs = children(client, experiment, parents[0].info.run_id)
    assert sorted(r.info.run_name for r in runs) == [f"trial-{n}" for n in range(5)]
    for run in runs:
        params = run.data.params
        assert params["hidden_layer_sizes"] == "24" and params["solver"] == "sgd"
        assert {"activation", "lambda", "alpha", "stage", "trial_number", "max_iter"} <= set(params)
        assert float(params["alpha"]) == pytest.approx(2 * 32 * float(params["lambda"]))
        assert run.data.tags["optuna.state"] == "COMPLETE" and run.info.status == "FINISHED"
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in history] == [1, 2, 3]  # one point per epoch: the objective has its own name
        for single in ("val_accuracy_mean", "val_accuracy_std", "test_accuracy", "train_seconds"):
            assert [m.step for m in client.get_metric_history(run.info.run_id, single)] == [0], single
        assert run.data.params["stage"] in {"1", "2"} and run.data.tags["stage"] == run.data.params["stage"]
        assert run.data.tags["mlflow.source.type"] == "LOCAL"  # the name: test_tracking
        if (REPO / ".git").exists():
            head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout
            assert run.data.tags["mlflow.source.git.commit"] == head.strip()
        assert {"train_loss", "val_loss", "learning_rate", "grad_norm_max_layer0", "test_accuracy"} <= set(run.data.metrics)
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert {"plots/curves.png", "plots/confusion_matrix.png", "plots/gradient_norms.png",
                "plots/top3_images.png"} <= artifacts


def test_the_experiment_opens_as_model_training_with_the_study_columns(finished_study):
    experiment = finished_study.client.get_experiment(finished_study.experiment)
    tags = experiment.tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"
    assert tags["mlflow.experiment.primaryMetric.name"] == "val_accuracy"
    assert tags["mlflow.experiment.primaryMetric.greaterIsBetter"] == "True"
    view = json.loads(tags["mlflow.sharedViewState.study"])
    assert view["selectedColumns"][0] == "metrics.`val_accuracy_mean`"
    assert {"params.`activation`", "params.`lambda`", "tags.`optuna.state`"} <= set(view["selectedColumns"])
    assert view["groupBy"]["groupByKeys"] == [{"mode": "param", "groupByData": "stage"}]


def test_the_parent_run_holds_the_study_summary_and_the_registered_model(finished_study):
    client, parent = finished_study.client, finished_study.parents[0]
    study_files = {a.path for a in client.list_artifacts(parent.info.run_id, "study")}
    assert {"study/trials.csv", "study/best_params.json", "study/optimization_history.png",
            "study/slice.png", "study/stages.json"} <= study_files
    local = client.download_artifacts(parent.info.run_id, "study/stages.json", str(finished_study.folder))
    stages = json.loads(Path(local).read_text())
    assert [row["stage"] for row in stages] == [1, 2] and [row["trials"] for row in stages] == [3, 2]
    assert {"test_accuracy", "test_loss", "best_val_accuracy"} <= set(parent.data.metrics)
    version = client.get_model_version_by_alias("e2e-model", "champion")
    assert version.run_id == parent.info.run_id
    mlflow.set_tracking_uri(f"sqlite:///{finished_study.folder}/mlflow.db")
    loaded = mlflow.pyfunc.load_model("models:/e2e-model@champion")
    spec = load_study(finished_study.path)
    data = load_data(spec)
    predictions = loaded.predict(data.X_test_raw)  # raw rows: the model holds the scaling
    native = mlflow.sklearn.load_model("models:/e2e-model@champion")
    np.testing.assert_array_equal(predictions, native.predict(data.X_test_raw))
    assert np.mean(predictions == data.y_test) == pytest.approx(parent.data.metrics["test_accuracy"])


def test_later_stages_search_ranges_narrowed_around_the_best(finished_study):
    study = open_study("e2e", finished_study.folder)
    stage_two = [t for t in study.trials if t.user_attrs["stage"] == 2]  # stages count from 1
    assert len(stage_two) == 2
    full = study.trials[0].user_attrs["ranges"]["lambda"]
    assert full == "float[1e-05, 0.01] log"
    for trial in stage_two:
        narrowed = trial.user_attrs["ranges"]["lambda"]
        low, high = (float(x) for x in narrowed.split("[")[1].split("]")[0].split(","))
        assert high / low <= 100.0 + 1e-9 and low <= trial.params["lambda"] <= high


def test_running_again_resumes_without_repeating_trials(finished_study):
    before = [(t.number, t.params) for t in open_study("e2e", finished_study.folder).trials]
    assert cli.main(["run", str(finished_study.path), *finished_study.stores]) == 0
    after = [(t.number, t.params) for t in open_study("e2e", finished_study.folder).trials]
    assert after == before  # the budget was spent: nothing ran again


def test_a_partial_run_is_continued_by_the_same_command(write_study):
    path = write_study("partial", n_trials=4, register=False)
    assert cli.main(["run", str(path), "--n-trials", "2"]) == 0
    assert len(open_study("partial").trials) == 2
    assert cli.main(["run", str(path)]) == 0
    trials = open_study("partial").trials
    assert [t.number for t in trials] == [0, 1, 2, 3]
    assert all(t.state == TrialState.COMPLETE for t in trials)
    # the seeded sampler does not start over: the second invocation tries new points
    assert len({t.params["lambda"] for t in trials}) == 4


def test_a_diverging_trial_is_recorded_as_failed_and_the_study_goes_on(write_study):
    path = write_study("diverge", space={"slope": {"choices": [0.5, 5.0]}}, n_trials=2,
                       sampler="grid", estimator={"solver": "sgd", "learning_rate_init": 0.05,
                                                  "batch_size": 32, "hidden_layer_sizes": [32, 32],
                                                  "activation": "leaky_relu"}, register=False)
    assert cli.main(["run", str(path)]) == 0
    trials = {t.params["slope"]: t for t in open_study("diverge").trials}
    assert trials[0.5].state == TrialState.COMPLETE
    failed = trials[5.0]
    assert failed.state == TrialState.FAIL
    assert "diverged" in failed.user_attrs["fail_reason"] and "slope=5.0" in failed.user_attrs["fail_reason"]
    run = MlflowClient(tracking.resolve_uri()).get_run(failed.user_attrs["mlflow_run_id"])
    assert run.info.status == "FAILED"
    assert run.data.tags["optuna.state"] == "FAIL" and "diverged" in run.data.tags["fail_reason"]


def test_mlflow_run_from_another_folder_keeps_the_study_in_its_experiment(workdir, monkeypatch):
    """`mlflow run <project>` from elsewhere, then `python -m search run` resumes the same study."""
    store, elsewhere = workdir / "store", workdir / "elsewhere"
    store.mkdir(), elsewhere.mkdir()
    tracking_uri = f"sqlite:///{store}/mlflow.db"
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MLFLOW_TRACKING_URI": tracking_uri}
    env.pop("OPTUNA_STORAGE", None)
    result = subprocess.run(  # the study file is resolved against the project, not this folder
        ["mlflow", "run", str(REPO), "-e", "search", "--env-manager", "local",
         "-P", "study=studies/quickstart.yaml", "-P", "n_trials=1"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (store / "optuna.journal").exists() and not list(elsewhere.iterdir())
    monkeypatch.delenv("OPTUNA_STORAGE", raising=False)
    assert cli.main(["run", str(REPO / "studies" / "quickstart.yaml"), "--n-trials", "1",
                     "--tracking-uri", tracking_uri]) == 0
    study = optuna.load_study(study_name="quickstart",
                              storage=JournalStorage(JournalFileBackend(str(store / "optuna.journal"))))
    assert [t.number for t in study.trials] == [0, 1]  # the second command resumed the first's study
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name("quickstart").experiment_id
    parents = client.search_runs([experiment], filter_string="tags.study = 'quickstart'",
                                 order_by=["attributes.start_time ASC"])
    assert len(parents) == 2 and all(p.info.run_name.startswith("quickstart-") for p in parents)
    assert all(p.info.status == "FINISHED" for p in parents)
    trials = [r for p in parents for r in children(client, experiment, p.info.run_id)]
    assert sorted(r.info.run_name for r in trials) == ["trial-0", "trial-1"]
    launcher = client.get_run(parents[0].data.tags["launcher_run_id"])  # MLflow's own run, linked
    assert launcher.data.tags["mlflow.project.entryPoint"] == "search"
    assert launcher.data.tags["study_parent_run_id"] == parents[0].info.run_id
    assert launcher.info.run_name == f"{parents[0].info.run_name}-launcher"


# The interpreter's exit after the command's last line (the clock starts with the process, imports counted),
# with a loaded machine's slack: a bound, not a speed.
AFTER_THE_CLOCK = 15.0


def run_for_20_seconds(workdir, study_file):
    """``run STUDY_FILE --time-budget 20``: its output, its wall seconds less nothing, its parent run, the
    client; the command exited 0."""
    tracking_uri = f"sqlite:///{workdir}/mlflow.db"
    command = [sys.executable, "-m", "search", "run", str(study_file), "--time-budget", "20",
               "--tracking-uri", tracking_uri, "--storage", f"journal:{workdir}/optuna.journal"]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("OPTUNA_STORAGE", None)
    started = time.monotonic()
    result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    client = MlflowClient(tracking_uri)
    name = yaml.safe_load(Path(study_file).read_text())["name"]
    parent = client.search_runs([client.get_experiment_by_name(name).experiment_id],
                                filter_string=f"tags.study = '{name}'")[0]
    return result, wall, parent, client


def test_a_20_second_budget_on_digits_ends_in_time_with_a_champion(workdir):
    """The whole command, refit and registration included, within its budget + 5%: by its own clock, which
    starts with the process, and by the wall clock, less the interpreter's exit."""
    result, wall, parent, client = run_for_20_seconds(workdir, REPO / "studies" / "quickstart.yaml")
    spent = parent.data.metrics["spent_seconds"]
    assert spent <= 20 * 1.05, result.stdout
    assert wall <= 20 * 1.05 + AFTER_THE_CLOCK, result.stdout
    champion = client.get_model_version_by_alias("quickstart", "champion")
    assert champion.run_id == parent.info.run_id and parent.data.metrics["test_accuracy"] > 0.5
    assert parent.data.params["time_budget"] == "20.0" and parent.data.metrics["plan_epochs"] >= 1
    assert {"time_plan", "time_spent"} <= set(parent.data.tags)
    assert "time plan for 20 s" in result.stdout and "time spent" in result.stdout
    assert "refit best on train+validation" in result.stdout or "the refit was worse" in result.stdout


def test_a_budget_short_of_the_study_s_epochs_registers_the_best_trial_s_own_model_without_a_refit(workdir):
    """A twentieth of the rows for validation (the refit would add few) and 3000 epochs that no 20 s holds: the
    plan gives the refit's time to stage 2, and the champion is the best stage-2 trial's model as trained."""
    study = yaml.safe_load((REPO / "studies" / "quickstart.yaml").read_text())
    study.update(name="short", epochs=3000, register={"name": "short", "alias": "champion"},
                 dataset={**study["dataset"], "validation_fraction": 0.05})
    path = Path(workdir) / "short.yaml"
    path.write_text(yaml.safe_dump(study))
    result, _, parent, client = run_for_20_seconds(workdir, path)
    assert "no refit (its time went to stage 2's epochs)" in parent.data.tags["time_plan"]
    best = client.get_run(client.get_model_version_by_alias("short", "champion").run_id)
    source = parent.data.tags["champion_source"]
    assert best.info.run_id == parent.info.run_id and source.startswith("trial-"), result.stdout
    assert f"the model is trial {source[6:]}'s own (no refit: the time plan gave" in result.stdout
    assert "refit_epochs" not in parent.data.metrics and parent.data.metrics["spent_seconds"] <= 20 * 1.05
