"""Tests for search.trials.recovery: stale, dead and interrupted trials are failed with their reason,
their MLflow runs closed, and queued again once; runs left RUNNING by a dead invocation are closed."""

import os
import socket
import sqlite3
import subprocess
import sys
import uuid

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from search import cli, service, tracking
from search.context import StudyRun
from search.stores import budget
from search.stores.budget import retried_number
from search.stores.storage import open_storage
from search.study.file import load_study
from search.tracking import names
from search.trials import objective, recovery
from search.trials.recovery import Interrupted, alive_here, worker_id


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory):
    """An SQLite MLflow store shared by the module's tests (each uses an experiment of its own)."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"
    return tracking.connect(uri), uri


def experiment_of(client):
    return client.create_experiment(f"recovery-{uuid.uuid4().hex[:8]}")


def running_trial(study, client, worker):
    """A queued trial taken by ``worker``, with its MLflow run, as the objective leaves it while it trains."""
    study.add_trial(create_trial(state=TrialState.WAITING))
    trial = study.ask()
    run_id = client.create_run(experiment_of(client)).info.run_id
    trial.set_user_attr(names.WORKER, worker)
    trial.set_user_attr(names.MLFLOW_RUN_ID, run_id)
    return trial, run_id


def ended_process(code=0):
    process = subprocess.Popen([sys.executable, "-c", f"raise SystemExit({code})"])
    process.wait()
    return process


def retries_of(study, number):
    return [t for t in study.get_trials() if retried_number(t) == number]


def assert_failed_run(client, run_id, reason):
    run = client.get_run(run_id)
    assert run.info.status == "FAILED"
    assert run.data.tags[names.OPTUNA_STATE] == "FAIL" and run.data.tags[names.FAIL_REASON] == reason


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used with Study.optimize")
def test_a_stale_trial_is_failed_with_its_reason_its_run_closed_and_queued_again(tmp_path, mlflow_store):
    client, uri = mlflow_store
    storage = open_storage(f"sqlite:///{tmp_path}/optuna.db", heartbeat_interval=1, grace_period=1,
                           stale_trial_callback=recovery.stale_trial_callback(uri), queue_only=True)
    study = optuna.create_study(study_name="stale", storage=storage)
    trial, run_id = running_trial(study, client, "elsewhere:1")
    study._storage.record_heartbeat(trial._trial_id)
    with sqlite3.connect(tmp_path / "optuna.db") as db:  # its worker fell silent long ago
        db.execute("update trial_heartbeats set heartbeat = '2000-01-01 00:00:00'")
    recovery.fail_stale(study)
    recovery.fail_stale(study)  # found once: the trial is no longer RUNNING
    failed = study.get_trials()[trial.number]
    assert failed.state == TrialState.FAIL and failed.user_attrs[names.FAIL_REASON] == recovery.HEARTBEAT_STOPPED
    assert [t.state for t in retries_of(study, trial.number)] == [TrialState.WAITING]
    assert_failed_run(client, run_id, recovery.HEARTBEAT_STOPPED)


def test_a_dead_workers_trial_is_failed_and_queued_again_exactly_once(tmp_path, mlflow_store):
    client, _ = mlflow_store
    study = optuna.create_study(study_name="dead", storage=open_storage(f"journal:{tmp_path}/o.journal",
                                                                         queue_only=True))
    worker = worker_id(ended_process().pid)
    trial, run_id = running_trial(study, client, worker)
    recovery.recover_dead_trials(study, client)
    recovery.recover_dead_trials(study, client)  # a second command after the crash finds nothing more
    failed = study.get_trials()[trial.number]
    assert failed.state == TrialState.FAIL and failed.user_attrs[names.FAIL_REASON] == f"its worker {worker} is gone"
    assert len(retries_of(study, trial.number)) == 1 and len(study.get_trials()) == 2
    assert_failed_run(client, run_id, f"its worker {worker} is gone")


def test_only_a_worker_process_that_ended_badly_has_its_trials_queued_again(tmp_path, mlflow_store):
    client, _ = mlflow_store
    study = optuna.create_study(study_name="ended", storage=open_storage(f"journal:{tmp_path}/o.journal",
                                                                          queue_only=True))
    crashed, finished = ended_process(3), ended_process(0)
    lost, _ = running_trial(study, client, worker_id(crashed.pid))
    kept, _ = running_trial(study, client, worker_id(finished.pid))
    for process in (crashed, finished):
        recovery.recover_dead_worker(study, client, process)
    trials = study.get_trials()
    assert trials[lost.number].user_attrs[names.FAIL_REASON] == f"worker {crashed.pid} ended with code 3"
    assert len(retries_of(study, lost.number)) == 1
    assert trials[kept.number].state == TrialState.RUNNING and not retries_of(study, kept.number)


def interrupted_run(write_study, mlflow_store, tmp_path):
    """A StudyRun of a tiny study with two queued trials on a journal storage; the study."""
    client, uri = mlflow_store
    spec = load_study(write_study("stopped", n_trials=2, register=False))
    storage_url = f"journal:{tmp_path}/optuna.journal"
    study = service.open_study(spec, storage_url, uri, create=True)
    experiment = experiment_of(client)
    run = StudyRun(spec, service.load_data(spec), client, uri, storage_url, experiment,
                   client.create_run(experiment).info.run_id)
    budget.fill(study, run.plan.total)
    return run, study


def test_a_trial_interrupted_in_training_is_failed_its_run_killed_and_queued_again(write_study, mlflow_store,
                                                                                    tmp_path, monkeypatch):
    def fit(self, trial, *args, **kwargs):
        raise KeyboardInterrupt  # Ctrl-C while the first trial trains

    monkeypatch.setattr(objective.Objective, "fit", fit)
    run, study = interrupted_run(write_study, mlflow_store, tmp_path)
    with pytest.raises(Interrupted) as stopped:
        service.work(run, study)
    assert stopped.value.what == "trial 0 was recorded as failed and queued again"
    trials = study.get_trials()
    assert trials[0].state == TrialState.FAIL and trials[0].user_attrs[names.FAIL_REASON] == "KeyboardInterrupt: "
    assert [(t.number, t.state) for t in retries_of(study, 0)] == [(2, TrialState.WAITING)]
    assert run.client.get_run(trials[0].user_attrs[names.MLFLOW_RUN_ID]).info.status == "KILLED"
    # Asked again (a second Ctrl-C on the way out), the trial is not queued a second time.
    assert recovery.interrupted(study, 0, KeyboardInterrupt()).what == "no trial was running"
    assert len(retries_of(study, 0)) == 1


def test_an_interrupt_before_any_trial_or_already_explained_queues_nothing():
    assert recovery.interrupted(None, None, KeyboardInterrupt()).what == "no trial was running"
    said = Interrupted("the workers' running trials were recorded as failed and queued again")
    assert recovery.interrupted(None, 3, said) is said


def test_runs_left_running_by_a_dead_invocation_are_closed(mlflow_store):
    client, _ = mlflow_store
    experiment = experiment_of(client)

    def parent(worker):
        return client.create_run(experiment, tags={names.STUDY: "orphans", names.WORKER: worker}).info.run_id

    def child(parent_run_id):
        return client.create_run(experiment, tags={names.PARENT_RUN: parent_run_id}).info.run_id

    dead, elsewhere = parent(worker_id(ended_process().pid)), parent("another-host:1")
    orphan, remote = child(dead), child(elsewhere)
    recovery.close_dead_parents(client, experiment, "orphans")
    assert client.get_run(dead).info.status == "KILLED"
    assert_failed_run(client, orphan, recovery.WORKER_STOPPED)
    assert {client.get_run(r).info.status for r in (elsewhere, remote)} == {"RUNNING"}  # may still run


def test_only_runs_whose_trial_no_longer_runs_are_orphans(mlflow_store):
    client, _ = mlflow_store
    experiment = experiment_of(client)
    parent = client.create_run(experiment).info.run_id
    gone, running = (client.create_run(experiment, tags={names.PARENT_RUN: parent}).info.run_id for _ in range(2))
    assert recovery.close_orphan_runs(client, experiment, parent, {running}) == [gone]
    assert_failed_run(client, gone, recovery.WORKER_STOPPED)
    assert client.get_run(running).info.status == "RUNNING"


def test_a_worker_is_named_by_its_host_and_process():
    assert worker_id() == f"{socket.gethostname()}:{os.getpid()}"
    assert worker_id(12) == f"{socket.gethostname()}:12"


def test_only_a_gone_process_of_this_host_counts_as_dead(monkeypatch):
    monkeypatch.setattr(recovery, "_alive", lambda pid: pid == 7)
    assert alive_here(worker_id(7))
    assert not alive_here(worker_id(8))
    assert alive_here("another-host:8")  # another machine's worker: its own command recovers it
    assert alive_here("") and alive_here("host:not-a-pid")


def test_a_process_that_ended_is_not_alive():
    assert not recovery._alive(ended_process().pid)


@pytest.mark.slow
def test_a_dead_running_trial_is_recovered_with_its_reason_when_the_budget_looks_spent(write_study, workdir,
                                                                                      monkeypatch):
    monkeypatch.setenv("SEARCH_HEARTBEAT_INTERVAL", "1")
    monkeypatch.setenv("SEARCH_GRACE_PERIOD", "60")
    storage = f"sqlite:///{workdir}/optuna.db"
    path = write_study("dead", n_trials=3, register=False)
    assert cli.main(["run", str(path), "--storage", storage, "--n-trials", "2"]) == 0
    # A worker on another machine took the third trial, then died: its heartbeat is an hour old.
    rdb = optuna.storages.RDBStorage(storage, heartbeat_interval=1, grace_period=60)
    study = optuna.load_study(study_name="dead", storage=rdb)
    waiting = study.get_trials(states=(TrialState.WAITING,))
    trial = optuna.Trial(study, waiting[0]._trial_id if waiting else study._storage.create_new_trial(study._study_id))
    if waiting:
        rdb.set_trial_state_values(waiting[0]._trial_id, TrialState.RUNNING)
    trial.set_user_attr("worker", "elsewhere:1")
    rdb.record_heartbeat(trial._trial_id)
    rdb.engine.dispose()
    with sqlite3.connect(workdir / "optuna.db") as db:
        db.execute("update trial_heartbeats set heartbeat = '2000-01-01 00:00:00'")
    assert cli.main(["run", str(path), "--storage", storage]) == 0
    trials = optuna.load_study(study_name="dead", storage=storage).trials
    assert trials[trial.number].state == TrialState.FAIL
    assert "heartbeats" in trials[trial.number].user_attrs["fail_reason"]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3


@pytest.mark.parametrize("kind", ["sqlite", "journal"])
def test_a_trial_failed_elsewhere_while_it_trained_is_dropped_not_completed(write_study, mlflow_store, tmp_path,
                                                                           monkeypatch, capsys, kind):
    client, uri = mlflow_store
    spec = load_study(write_study("cutoff", n_trials=2, register=False, artifacts={"trial_plots": False}))
    storage_url = {"sqlite": f"sqlite:///{tmp_path}/optuna.db", "journal": f"journal:{tmp_path}/o.journal"}[kind]
    study = service.open_study(spec, storage_url, uri, create=True)
    experiment = experiment_of(client)
    run = StudyRun(spec, service.load_data(spec), client, uri, storage_url, experiment,
                   client.create_run(experiment).info.run_id)
    budget.fill(study, run.plan.total)
    fit = objective.Objective.fit

    def cut_off_fit(self, trial, *args, **kwargs):
        # Another worker finds this trial's heartbeat stopped: it fails it, ends its run, queues it again.
        elsewhere = service.open_study(spec, storage_url, uri)
        recovery.fail_and_retry(elsewhere, client, elsewhere.trials[trial.number], recovery.HEARTBEAT_STOPPED)
        return fit(self, trial, *args, **kwargs)  # this worker did not notice, and trains on

    monkeypatch.setattr(objective.Objective, "fit", cut_off_fit)
    assert service.work(run, study, n_trials=1) == 1
    assert "trial 0: its results are dropped" in capsys.readouterr().out
    trials = service.open_study(spec, storage_url, uri).trials
    assert trials[0].state == TrialState.FAIL and trials[0].user_attrs[names.FAIL_REASON] == recovery.HEARTBEAT_STOPPED
    assert [t.state for t in retries_of(study, 0)] == [TrialState.WAITING]
    assert_failed_run(client, trials[0].user_attrs[names.MLFLOW_RUN_ID], recovery.HEARTBEAT_STOPPED)
    assert "val_accuracy_mean" not in client.get_run(trials[0].user_attrs[names.MLFLOW_RUN_ID]).data.metrics


def test_a_failed_trials_run_left_running_is_closed_with_its_reason(tmp_path, mlflow_store):
    client, _ = mlflow_store
    study = optuna.create_study(study_name="lost", storage=open_storage(f"journal:{tmp_path}/o.journal",
                                                                        queue_only=True))
    failed, failed_run = running_trial(study, client, "elsewhere:1")
    experiment = client.get_run(failed_run).info.experiment_id
    study._storage.set_trial_user_attr(failed._trial_id, names.FAIL_REASON, "could not log to MLflow run")
    study.tell(failed.number, state=TrialState.FAIL)
    study.add_trial(create_trial(state=TrialState.WAITING))
    running = study.ask()
    running_run = client.create_run(experiment).info.run_id
    running.set_user_attr(names.MLFLOW_RUN_ID, running_run)
    recovery.close_failed_runs(client, experiment, study)
    assert_failed_run(client, failed_run, "could not log to MLflow run")
    assert client.get_run(running_run).info.status == "RUNNING"  # its trial may still end
