"""MLflow runs ended however a trial or an invocation is interrupted (the rest runs end to end
in test_service)."""

import pytest

# End to end (subprocesses, MLflow stores, whole studies): `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

@pytest.mark.parametrize("whose", ["parent", "trial"])
def test_an_interrupt_while_params_are_logged_ends_the_run_as_killed(write_study, monkeypatch, whose):
    from mlflow.tracking import MlflowClient

    from search import cli, tracking

    log_batch = tracking.log_batch

    def interrupted(client, run_id, metrics=(), params=(), tags=()):
        if params and (whose == "trial") == any(p.key == "trial_number" for p in params):
            raise KeyboardInterrupt  # Ctrl-C just after the run was created
        return log_batch(client, run_id, metrics, params, tags)

    monkeypatch.setattr(tracking, "log_batch", interrupted)
    path = write_study("interrupted", n_trials=1, register=False)
    uri = f"sqlite:///{path.parent}/mlflow.db"  # absolute: MLflow caches its stores by URI
    assert cli.main(["run", str(path), "--tracking-uri", uri]) == 130
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("interrupted").experiment_id])
    assert {r.info.status for r in runs} == {"KILLED"}
    assert len(runs) == (2 if whose == "trial" else 1)


def test_a_pruned_trial_is_a_killed_run_with_its_reason(write_study, monkeypatch):
    """Pruned trials stand out in MLflow's runs list: status KILLED, the reason as tag and note."""
    import optuna
    from mlflow.tracking import MlflowClient

    from search import cli

    monkeypatch.setattr(optuna.trial.Trial, "should_prune", lambda trial: trial.number == 1)
    path = write_study("pruned", n_trials=2, register=False, pruner="median",
                       artifacts={"trial_plots": False})
    uri = f"sqlite:///{path.parent}/mlflow.db"
    assert cli.main(["run", str(path), "--tracking-uri", uri]) == 0
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("pruned").experiment_id],
                              "tags.`mlflow.parentRunId` != ''")
    by_name = {r.info.run_name: r for r in runs}
    assert by_name["trial-0"].info.status == "FINISHED"
    pruned = by_name["trial-1"]
    assert pruned.info.status == "KILLED" and pruned.data.tags["optuna.state"] == "PRUNED"
    assert pruned.data.tags["prune_reason"].startswith("pruned at epoch 1: val_accuracy=")
    assert pruned.data.tags["mlflow.note.content"] == "PRUNED: " + pruned.data.tags["prune_reason"]


def test_with_folds_the_objective_is_the_mean_of_the_folds_each_logged_and_reported(write_study):
    """validation: {folds: 3}: each fold's final value on the trial's run, their mean Optuna's value, every
    epoch of every fold a pruning step, and the champion refit on all the training rows."""
    import optuna
    from mlflow.tracking import MlflowClient

    from search import cli

    dataset = {"name": "digits", "subset": 300, "test_subset": 100, "validation": {"folds": 3}}
    path = write_study("folds", dataset=dataset, n_trials=2, pruner="median", baselines=False,
                       artifacts={"trial_plots": False})
    uri = f"sqlite:///{path.parent}/mlflow.db"
    storage = f"sqlite:///{path.parent}/optuna.db"
    assert cli.main(["run", str(path), "--tracking-uri", uri, "--storage", storage]) == 0

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("folds").experiment_id
    trials = optuna.load_study(study_name="folds", storage=storage).trials
    for trial in trials:
        metrics = client.get_run(trial.user_attrs["mlflow_run_id"]).data.metrics
        folds = [metrics[f"val_accuracy_fold{k}"] for k in range(3)]
        assert "val_accuracy_fold3" not in metrics and len(set(folds)) > 1  # three folds, three sets of rows
        assert metrics["val_accuracy_mean"] == pytest.approx(sum(folds) / 3) == trial.value
        assert sorted(trial.intermediate_values) == list(range(1, 10))  # 3 folds x 3 epochs
        assert trial.intermediate_values[9] == pytest.approx(folds[2])  # the last step: fold 2's final value
    (parent,) = [run for run in client.search_runs([experiment]) if "mlflow.parentRunId" not in run.data.tags]
    assert parent.data.tags["champion_source"] in {"refit", f"trial-{trials[0].number}", f"trial-{trials[1].number}"}
    assert client.get_registered_model("folds").aliases == {"champion": 1}
