"""Scale-out and faults, against real processes: workers, SIGKILL, SIGTERM, crashes, secrets.

PostgreSQL cases use $TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test)
and skip when no server answers there.
"""

import os
import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from tests.conftest import REPO, free_port, postgres_url, tiny_study_text

FAST = {"epochs": 1, "pruner": "none", "register": False, "artifacts": {"trial_plots": False},
        "dataset": {"name": "digits", "subset": 200, "validation_fraction": 0.25, "test_subset": 50},
        "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 50,
                      "hidden_layer_sizes": [8]}}
SLOW = {**FAST, "epochs": 40, "estimator": {**FAST["estimator"], "hidden_layer_sizes": [256, 256]},
        "dataset": {**FAST["dataset"], "subset": 1200}}


def start(folder, study_path, storage, *options, env=None):
    command = [sys.executable, "-m", "search", "run", str(study_path), "--storage", storage,
               "--tracking-uri", f"sqlite:///{folder}/mlflow.db", *options]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "SEARCH_HEARTBEAT_INTERVAL": "1",
                   "SEARCH_GRACE_PERIOD": "3", **(env or {})}
    environment.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def write(folder, name, **keys):
    path = folder / f"{name}.yaml"
    path.write_text(tiny_study_text(name, **keys))
    return path


def load(name, storage):
    if storage.startswith("journal:"):
        storage = JournalStorage(JournalFileBackend(storage.removeprefix("journal:")))
    return optuna.load_study(study_name=name, storage=storage)


def runs_of(folder, name):
    client = MlflowClient(f"sqlite:///{folder}/mlflow.db")
    experiment = client.get_experiment_by_name(name)
    return client, client.search_runs([experiment.experiment_id], max_results=5000)


def wait_for_running_trial(name, storage, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            running = load(name, storage).get_trials(states=(TrialState.RUNNING,))
        except Exception:  # the study may not exist yet
            running = []
        running = [t for t in running if "worker" in t.user_attrs and "mlflow_run_id" in t.user_attrs]
        if running:
            return running[0]
        time.sleep(0.2)
    raise AssertionError("no trial started")


@pytest.fixture(params=["journal", "postgresql"])
def storage(request, tmp_path):
    if request.param == "journal":
        return f"journal:{tmp_path}/optuna.journal"
    return postgres_url()


def test_four_workers_share_one_study_exactly(tmp_path, storage):
    name = f"workers-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, name, **FAST, n_trials=100)
    process = start(tmp_path, path, storage, "--workers", "4")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    assert "locked" not in err.lower()
    trials = load(name, storage).trials
    assert len(trials) == 100
    assert sorted(t.number for t in trials) == list(range(100))
    assert all(t.state == TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["worker"] for t in trials}) == 4
    client, runs = runs_of(tmp_path, name)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1
    assert sorted(r.info.run_name for r in children) == sorted(f"trial-{n}" for n in range(100))
    if not storage.startswith("journal:"):
        optuna.delete_study(study_name=name, storage=storage)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_a_stopped_worker_loses_only_its_trial_which_runs_again(tmp_path, how):
    name = f"stopped-{how.name.lower()}"
    storage = f"sqlite:///{tmp_path}/optuna.db"
    path = write(tmp_path, name, **SLOW, n_trials=4)
    process = start(tmp_path, path, storage, "--workers", "2")
    victim = wait_for_running_trial(name, storage)
    os.kill(int(victim.user_attrs["worker"].rpartition(":")[2]), how)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    study = load(name, storage)
    stopped = study.trials[victim.number]
    assert stopped.state == TrialState.FAIL
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == stopped.params
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 4
    client, runs = runs_of(tmp_path, name)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    expected = "KILLED" if how == signal.SIGTERM else "FAILED"
    assert client.get_run(victim.user_attrs["mlflow_run_id"]).info.status == expected


def test_a_crashed_study_resumes_with_the_same_command(tmp_path):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "crash", **SLOW, n_trials=3)
    process = start(tmp_path, path, storage)
    victim = wait_for_running_trial("crash", storage)
    process.kill()
    process.communicate(timeout=60)
    process = start(tmp_path, path, storage)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    trials = load("crash", storage).trials
    assert trials[victim.number].state == TrialState.FAIL
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 3
    assert len({t.number for t in complete}) == 3
    _, runs = runs_of(tmp_path, "crash")
    assert not [r for r in runs if r.info.status == "RUNNING"]


def test_an_unreachable_tracking_server_stops_the_start_in_one_line(tmp_path):
    path = write(tmp_path, "offline", **FAST, n_trials=1)
    uri = f"http://127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "search", "run", str(path), "--tracking-uri", uri],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and uri in lines[0] and "not reachable" in lines[0]
    assert not (tmp_path / "optuna.journal").exists()


def test_passwords_never_reach_what_is_written(tmp_path):
    url = postgres_url()
    secret = "s3cr3t-pw-" + uuid.uuid4().hex[:6]
    with_password = url.replace("postgres@", f"postgres:{secret}@", 1)
    if with_password == url:
        pytest.skip(f"cannot put a password into {url}")
    name = f"secret-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, name, **{**FAST, "artifacts": {}, "register": True}, n_trials=2)
    process = start(tmp_path, path, with_password, "--workers", "2")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    assert secret not in out + err
    for file in tmp_path.rglob("*"):
        if file.is_file():
            assert secret.encode() not in file.read_bytes(), file
    study = load(name, url)
    written = [study.user_attrs] + [
        (t.user_attrs, t.system_attrs, t.params) for t in study.trials]
    assert secret not in repr(written)
    optuna.delete_study(study_name=name, storage=url)


def start_mlflow_server(folder, port):
    """``mlflow server`` on 127.0.0.1 with a SQLite backend in ``folder``, once it answers."""
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "1", "--backend-store-uri", f"sqlite:///{folder}/server.db",
               "--artifacts-destination", str(folder / "artifacts")]
    server = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    client = MlflowClient(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            client.search_experiments(max_results=1)
            return server
        except Exception:
            time.sleep(0.5)
    os.killpg(server.pid, signal.SIGKILL)
    raise AssertionError("mlflow server did not start in 120 s")


def test_a_tracking_server_lost_mid_study_fails_the_trial_with_its_reason(tmp_path):
    port, storage = free_port(), f"journal:{tmp_path}/optuna.journal"
    uri = f"http://127.0.0.1:{port}"
    # Long enough that the kill lands while the first trial trains, not between two trials.
    path = write(tmp_path, "lost", **{**SLOW, "epochs": 30}, n_trials=3)
    server = start_mlflow_server(tmp_path, port)
    command = [sys.executable, "-m", "search", "run", str(path), "--storage", storage, "--tracking-uri", uri]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_running_trial("lost", storage)
        os.killpg(server.pid, signal.SIGKILL)  # the server dies while a trial trains
        server.wait()
        out, err = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 1, err[-3000:]
    assert "could not log to MLflow run" in err and "run the same command to resume" in err
    failed = load("lost", storage).get_trials(states=(TrialState.FAIL,))
    assert len(failed) == 1 and "could not log to MLflow run" in failed[0].user_attrs["fail_reason"]

    server = start_mlflow_server(tmp_path, port)
    try:
        result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
        client = MlflowClient(uri)
        runs = client.search_runs([client.get_experiment_by_name("lost").experiment_id])
    finally:
        os.killpg(server.pid, signal.SIGKILL)
    assert len(load("lost", storage).trials) == 3
    assert not [r for r in runs if r.info.status == "RUNNING"]
    lost = [r for r in runs if r.info.run_id == failed[0].user_attrs["mlflow_run_id"]]
    assert lost and lost[0].info.status == "FAILED"
