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
from pathlib import Path
from urllib.parse import quote

import optuna
import pytest
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
from sqlalchemy.engine import make_url

from tests.conftest import REPO, free_port, postgres_url, tiny_study_text

# End to end (subprocesses, MLflow stores, whole studies): `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

FAST = {"epochs": 1, "pruner": "none", "register": False, "artifacts": {"trial_plots": False},
        "dataset": {"name": "digits", "subset": 200, "validation_fraction": 0.25, "test_subset": 50},
        "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 50,
                      "hidden_layer_sizes": [8]}}
SLOW = {**FAST, "epochs": 40, "estimator": {**FAST["estimator"], "hidden_layer_sizes": [256, 256]},
        "dataset": {**FAST["dataset"], "subset": 1200}}

SPECIAL_PASSWORD = "s3#cr/et?"  # SQLAlchemy reads all of it as the password; urlsplit stops at '#'


HOLD = Path(__file__).parent / "hold"  # sitecustomize: holds one trial in training for a signal


def start(folder, study_path, storage, *options, env=None, hold=False, session=False):
    """``run`` in a process; with ``hold``, one trial waits in training for the test's signal (see :func:`held`)."""
    command = [sys.executable, "-m", "search", "run", str(study_path), "--storage", storage,
               "--tracking-uri", f"sqlite:///{folder}/mlflow.db", *options]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "SEARCH_HEARTBEAT_INTERVAL": "1",
                   "SEARCH_GRACE_PERIOD": "3", **(env or {})}
    if hold:
        environment.update(PYTHONPATH=f"{HOLD}{os.pathsep}{REPO}", SEARCH_TEST_HOLD=str(folder))
    environment.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=session)


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


def held(folder, process, timeout=300):
    """``(pid, trial number)`` of the trial the hold hook keeps in training, once it is there."""
    deadline = time.monotonic() + timeout
    while not (folder / "held").exists():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "no trial was held"
        time.sleep(0.1)
    pid, number = (folder / "held").read_text().split()
    return int(pid), int(number)


def descendants(pid):
    """Pids of the processes below ``pid``, from /proc."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] == "Z"


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
    path = write(tmp_path, name, **FAST, n_trials=4)
    process = start(tmp_path, path, storage, "--workers", "2", hold=True)
    pid, number = held(tmp_path, process)  # a worker's trial, in training: the signal lands there
    os.kill(pid, how)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    study = load(name, storage)
    stopped = study.trials[number]
    assert stopped.state == TrialState.FAIL
    assert stopped.user_attrs["fail_reason"]
    retries = [t for t in study.trials if t.system_attrs.get("failed_trial") == number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE
    assert retries[0].params == stopped.params
    assert sum(t.state == TrialState.COMPLETE for t in study.trials) == 4
    assert len(study.trials) == 5
    client, runs = runs_of(tmp_path, name)
    assert not [r for r in runs if r.info.status == "RUNNING"]
    expected = "KILLED" if how == signal.SIGTERM else "FAILED"
    assert client.get_run(stopped.user_attrs["mlflow_run_id"]).info.status == expected
    assert f"study {name}: 4 trials" in out  # the failed original is not counted


def test_four_workers_meet_a_budget_of_20_exactly(tmp_path):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "twenty", **FAST, n_trials=20)
    process = start(tmp_path, path, storage, "--workers", "4")
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    trials = load("twenty", storage).trials
    assert len(trials) == 20 and all(t.state == TrialState.COMPLETE for t in trials)


def test_a_killed_process_leaves_no_figure_process_or_resource_tracker_behind(tmp_path):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "orphans", **{**FAST, "artifacts": {}}, n_trials=3)
    process = start(tmp_path, path, storage, hold=True, env={"SEARCH_TEST_HOLD_AFTER": "1"})
    held(tmp_path, process)  # a trial has completed (its figures went to the figure process); the next trains
    below = descendants(process.pid)
    assert below, "the figure process and the resource tracker run below the command"
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 60  # they watch for their parent's end; give a loaded machine time
    while not all(gone(pid) for pid in below) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert all(gone(pid) for pid in below), [Path(f"/proc/{p}/cmdline").read_bytes() for p in below if not gone(p)]


@pytest.mark.parametrize("where, says", [
    ("trial", "interrupted: trial 1 was recorded as failed and queued again; run the same command to resume"),
    ("refit", "interrupted: every trial was recorded; the summary or the refit was stopped and nothing was "
              "registered; run the same command to resume"),
])
def test_ctrl_c_prints_one_true_line(tmp_path, where, says):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "ctrlc", **{**FAST, "artifacts": {}, "register": True}, n_trials=2)
    env = {"SEARCH_TEST_HOLD_AFTER": "1"} if where == "trial" else {"SEARCH_TEST_HOLD_REFIT": "1"}
    process = start(tmp_path, path, storage, hold=True, env=env, session=True)
    try:
        held(tmp_path, process)  # trial 1 trains (trial 0's figures are being drawn), or the refit runs
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole process group
        out, err = process.communicate(timeout=300)
    finally:
        process.kill()  # a command that ignored Ctrl-C must not outlive the test
    assert process.returncode == 130
    assert [line for line in err.splitlines() if "interrupt" in line.lower()] == [says], err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    client, runs = runs_of(tmp_path, "ctrlc")
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.status for r in parents] == ["KILLED"]
    assert not [r for r in runs if r.info.status == "RUNNING"]


def test_a_diverging_trial_is_one_line_not_a_traceback(tmp_path):
    path = write(tmp_path, "diverge", space={"slope": {"choices": [0.5, 5.0]}}, n_trials=2, sampler="grid",
                 estimator={"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 32,
                            "hidden_layer_sizes": [32, 32], "activation": "leaky_relu"}, register=False,
                 artifacts={"trial_plots": False})  # as test_service's diverging study
    process = start(tmp_path, path, f"journal:{tmp_path}/optuna.journal")
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "failed with" not in err, err
    failed = [line for line in out.splitlines() if " FAIL " in line]
    assert len(failed) == 1 and "diverged" in failed[0], out


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
    secret = SPECIAL_PASSWORD + "x"
    uri = f"http://search:{secret}@127.0.0.1:{free_port()}"
    result = subprocess.run([sys.executable, "-m", "search", "run", str(path), "--tracking-uri", uri],
                            cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "search:***@127.0.0.1" in lines[0] and "not reachable" in lines[0]
    assert secret not in result.stdout + result.stderr
    assert not (tmp_path / "optuna.journal").exists()


def every_byte_written(folder, out, err, postgres=None):
    """stdout, stderr, every file under ``folder`` (SQLite files, journal, artifacts) and a PostgreSQL dump."""
    chunks = [out.encode(), err.encode()]
    chunks += [file.read_bytes() for file in folder.rglob("*") if file.is_file()]
    if postgres is not None:
        url = make_url(postgres)
        chunks.append(subprocess.run(
            ["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username,
             url.database], capture_output=True, check=True, env={**os.environ, "PGPASSWORD": ""}).stdout)
    return b"\n".join(chunks)


def test_passwords_never_reach_what_is_written(tmp_path, mlflow_server):
    url = postgres_url()
    secret = SPECIAL_PASSWORD + uuid.uuid4().hex[:6]
    with_password = url.replace("postgres@", f"postgres:{secret}@", 1)
    if with_password == url:
        pytest.skip(f"cannot put a password into {url}")
    http_secret = "h77p-" + uuid.uuid4().hex[:6]
    port = free_port()
    server = mlflow_server(port)
    name = f"secret-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, name, **{**FAST, "artifacts": {}, "register": True}, n_trials=2)
    command = [sys.executable, "-m", "search", "run", str(path), "--storage", with_password,
               "--tracking-uri", f"http://search:{http_secret}@127.0.0.1:{port}", "--workers", "2"]
    try:
        result = subprocess.run(command, cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(REPO)},
                                capture_output=True, text=True, timeout=600)
    finally:
        stop_server(server)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "search:***@127.0.0.1" in result.stdout  # the URI is shown, masked
    written = every_byte_written(tmp_path, result.stdout, result.stderr, url)
    for form in (secret, quote(secret, safe=""), http_secret):
        assert form.encode() not in written, form
    optuna.delete_study(study_name=name, storage=url)


@pytest.fixture
def mlflow_server(tmp_path):
    """``mlflow_server(port)`` starts ``mlflow server`` (SQLite backend in tmp_path) once it answers.

    Its whole process group (uvicorn, the job runner, huey consumers) is killed
    at teardown too, whatever the test did, so no server outlives a failed test.
    """
    servers = []

    def start(port):
        command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", "1", "--backend-store-uri", f"sqlite:///{tmp_path}/server.db",
                   "--artifacts-destination", str(tmp_path / "artifacts")]
        server = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, start_new_session=True)
        servers.append(server)
        client = MlflowClient(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                client.search_experiments(max_results=1)
                return server
            except Exception:
                time.sleep(0.5)
        raise AssertionError("mlflow server did not start in 120 s")

    yield start
    for server in servers:
        stop_server(server)


def stop_server(server):
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # already stopped by the test
    server.wait()


def test_a_tracking_server_lost_mid_study_fails_the_trial_with_its_reason(tmp_path, mlflow_server):
    port, storage = free_port(), f"journal:{tmp_path}/optuna.journal"
    secret = "pw-" + uuid.uuid4().hex[:8]  # the server takes no password: it must only never be shown
    uri = f"http://search:{secret}@127.0.0.1:{port}"
    # Long enough that the kill lands while the first trial trains, not between two trials.
    path = write(tmp_path, "lost", **{**SLOW, "epochs": 30}, n_trials=3)
    server = mlflow_server(port)
    command = [sys.executable, "-m", "search", "run", str(path), "--storage", storage, "--tracking-uri", uri]
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_for_running_trial("lost", storage)
        stop_server(server)  # the server dies while a trial trains
        out, err = process.communicate(timeout=600)
    finally:
        process.kill()
    assert process.returncode == 1, err[-3000:]
    assert "could not log to MLflow run" in err and "run the same command to resume" in err
    failed = load("lost", storage).get_trials(states=(TrialState.FAIL,))
    assert len(failed) == 1 and "could not log to MLflow run" in failed[0].user_attrs["fail_reason"]
    assert secret.encode() not in every_byte_written(tmp_path, out, err)

    mlflow_server(port)
    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert secret.encode() not in every_byte_written(tmp_path, result.stdout, result.stderr)
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("lost").experiment_id])
    assert len(load("lost", storage).trials) == 3
    assert not [r for r in runs if r.info.status == "RUNNING"]
    lost = [r for r in runs if r.info.run_id == failed[0].user_attrs["mlflow_run_id"]]
    assert lost and lost[0].info.status == "FAILED"
