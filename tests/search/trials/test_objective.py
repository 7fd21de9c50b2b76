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
