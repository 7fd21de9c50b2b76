"""A study across hosts: network namespaces on a bridge (``deploy/netns.py``), and faults.

PostgreSQL on one host (a private instance), ``mlflow server`` with proxied artifacts
on another, three worker hosts with a folder and a copy of the data each, a client that
knows only the server's address. The hosts are made once for the module; each test runs
a study of its own on them. Faults: every process of a worker host killed mid-trial; a
worker host's cable pulled past the grace period, then plugged back; the MLflow server
and PostgreSQL restarted mid-study. After each, nothing is lost and nothing doubled:
the budget is met exactly, each trial has one MLflow run, and one run is COMPLETE per
COMPLETE trial.

A trial is held in training by the test hook (``tests/search/hold``) until the test has
done its fault: no step depends on timing. Needs root (``ip netns``); skips, saying why,
where namespaces cannot be made.
"""

import json
import os
import signal
import time
import uuid
import warnings

import numpy as np
import optuna
import pytest
import yaml
from mlflow.tracking import MlflowClient
from optuna.storages import RDBStorage
from optuna.trial import TrialState
from sklearn.datasets import load_digits

from deploy import netns
from search.stores.budget import counted, retried_number
from tests.search.test_scaleout import HOLD

pytestmark = pytest.mark.slow

GRACE = 4  # seconds without a heartbeat after which a trial counts as dead
HEARTBEAT = {"SEARCH_HEARTBEAT_INTERVAL": "1", "SEARCH_GRACE_PERIOD": str(GRACE)}
WAIT = 300  # bound of every wait, in seconds (a loaded 2-core machine)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """The hosts, made once; removed at the end whatever happened."""
    reason = netns.unavailable()
    if reason:
        pytest.skip(f"network namespaces cannot be made here: {reason}")
    netns.remove_stale()
    hosts = netns.Cluster(tmp_path_factory.mktemp("hosts"))
    try:
        digits = load_digits()
        rows = np.column_stack([digits.data.astype(int), digits.target])
        for host in hosts.workers:  # a copy of the data on each worker host, read from its own folder
            np.savetxt(hosts.folder_of(host) / "digits.csv", rows, fmt="%d", delimiter=",")
        yield hosts
    finally:
        hosts.close()


def study_file(cluster, name, n_trials, **keys):
    """A tiny study on the workers' ``digits.csv``, written into w1's folder (where ``run`` starts)."""
    study = {
        "name": name,
        "dataset": {"name": "csv", "path": "digits.csv", "subset": 300, "validation_fraction": 0.25,
                    "test_subset": 100},
        "estimator": {"solver": "sgd", "learning_rate_init": 0.05, "batch_size": 32, "hidden_layer_sizes": [16]},
        "space": {"lambda": {"low": 1e-5, "high": 1e-2, "log": True},
                  "activation": {"choices": ["relu", "tanh"]}},
        "epochs": 3, "sampler": {"name": "tpe", "seed": 0}, "pruner": "none", "n_trials": n_trials,
        "register": False, "artifacts": {"trial_plots": False}, "baselines": False, **keys,
    }
    path = cluster.folder_of(cluster.workers[0]) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(study))
    return path.name


def search(cluster, host, *args, hold=False):
    """``python -m search ARGS`` on ``host``; with ``hold``, its first trial waits in training (see ``held``)."""
    env = dict(HEARTBEAT)
    if hold:
        folder = cluster.folder_of(host)
        for mark in ("held", "claimed"):
            (folder / mark).unlink(missing_ok=True)
        env.update(PYTHONPATH=f"{HOLD}{os.pathsep}{netns.REPO}", SEARCH_TEST_HOLD=str(folder))
    return cluster.search(host, *args, env=env)


def ended(process, code=0):
    """Wait for ``process``; its output, once it ended with ``code`` (None: any)."""
    out, err = process.communicate(timeout=WAIT * 2)
    assert code is None or process.returncode == code, (process.returncode, out[-3000:], err[-3000:])
    return out + err


def held(cluster, host):
    """``(pid, trial number)`` of the trial held in training on ``host``, once it is."""
    path = cluster.folder_of(host) / "held"
    netns.wait_until(path.exists, f"a trial held on {host.name}", WAIT)
    pid, number = path.read_text().split()
    return int(pid), int(number)


def start(cluster, name, n_trials):
    """The study created by ``run --n-trials 1`` on w1 (its first trial run, summarised); its file's name."""
    path = study_file(cluster, name, n_trials)
    ended(search(cluster, cluster.workers[0], "run", path, "--n-trials", "1"))
    return path


def workers(cluster, name, hosts, *args):
    return [search(cluster, host, "worker", "--study", name, *args) for host in hosts]


def storage(cluster):
    """The study's storage as the workers see it (the same grace period), read from the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # stable since 2.8
        return RDBStorage(cluster.storage, heartbeat_interval=1, grace_period=GRACE)


def wait_stale(cluster, name, number):
    """Until trial ``number``'s heartbeat is older than the grace period (as a worker would find it)."""
    rdb = storage(cluster)
    study_id = rdb.get_study_id_from_name(name)
    trial_id = rdb.get_trial_id_from_study_id_trial_number(study_id, number)
    netns.wait_until(lambda: trial_id in rdb._get_stale_trial_ids(study_id), f"trial {number} stale", WAIT)


def trials(cluster, name):
    return optuna.load_study(study_name=name, storage=cluster.storage).trials


def runs(cluster, name):
    client = MlflowClient(cluster.mlflow.url)
    experiment = client.get_experiment_by_name(name).experiment_id
    return client, client.search_runs([experiment], max_results=1000)


def assert_nothing_lost_nothing_doubled(cluster, name, budget):
    """The budget met exactly; one run per trial; a COMPLETE run for each COMPLETE trial and no other."""
    found = trials(cluster, name)
    assert len(counted(found)) == budget
    assert all(t.state in (TrialState.COMPLETE, TrialState.FAIL) for t in found)
    assert all(t.user_attrs.get("fail_reason") for t in found if t.state == TrialState.FAIL)
    complete = [t for t in found if t.state == TrialState.COMPLETE]
    client, all_runs = runs(cluster, name)
    children = {r.info.run_id: r for r in all_runs if "mlflow.parentRunId" in r.data.tags}
    assert sorted(t.user_attrs["mlflow_run_id"] for t in found) == sorted(children)
    assert not [r for r in all_runs if r.info.status == "RUNNING"]
    done = [r for r in children.values() if r.data.tags.get("optuna.state") == "COMPLETE"]
    assert sorted(r.info.run_id for r in done) == sorted(t.user_attrs["mlflow_run_id"] for t in complete)
    for trial in complete:
        run = children[trial.user_attrs["mlflow_run_id"]]
        assert run.info.status == "FINISHED"
        assert run.data.metrics["val_accuracy_mean"] == pytest.approx(trial.value)
        assert run.info.artifact_uri.startswith("mlflow-artifacts:")  # through the server, no shared folder
    return found


def test_three_hosts_meet_the_budget_and_the_client_predicts_over_http(cluster):
    name = f"hosts-{uuid.uuid4().hex[:6]}"
    path = study_file(cluster, name, 7, artifacts={}, register={"name": name, "alias": "champion"})
    ended(search(cluster, cluster.workers[0], "run", path, "--n-trials", "1"))
    for worker in workers(cluster, name, cluster.workers, "--n-trials", "2"):  # 1 + 3 x 2: the budget
        ended(worker)
    out = ended(search(cluster, cluster.workers[0], "run", path))  # the summary and the champion
    assert f"models:/{name}@champion" in out
    found = assert_nothing_lost_nothing_doubled(cluster, name, 7)
    assert all(t.state == TrialState.COMPLETE for t in found)
    assert sorted(t.user_attrs["worker"].split(":")[0] for t in found) == ["w1"] * 3 + ["w2"] * 2 + ["w3"] * 2
    client, _ = runs(cluster, name)
    for trial in found:  # every trial's figures went to the server over HTTP
        listed = {a.path for a in client.list_artifacts(trial.user_attrs["mlflow_run_id"], "plots")}
        assert "plots/curves.png" in listed, listed
    for host in cluster.workers:
        assert not {"mlruns", "mlartifacts", "mlflow.db"} & {p.name for p in cluster.folder_of(host).iterdir()}

    version, accuracy = client_predictions(cluster, name)
    assert version == client.get_model_version_by_alias(name, "champion").version
    assert accuracy > 0.5  # ten classes: a model, not a guess


CLIENT = """
import json, mlflow
from sklearn.datasets import load_digits
X, y = load_digits(return_X_y=True)
model = mlflow.pyfunc.load_model("models:/{name}@champion")
version = mlflow.MlflowClient().get_model_version_by_alias("{name}", "champion").version
print(json.dumps([version, float((model.predict(X) == y).mean())]))
"""


def client_predictions(cluster, name):
    """The champion's version and its accuracy on every digit, as the client host finds them, knowing only the
    tracking server's address (its folder is empty: the model comes through the server)."""
    done = cluster.on_client(CLIENT.format(name=name))
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_a_worker_host_killed_mid_trial_has_its_trial_run_elsewhere(cluster):
    name = f"killed-{uuid.uuid4().hex[:6]}"
    path = start(cluster, name, 5)
    w1, w2, w3 = cluster.workers
    victim = search(cluster, w3, "worker", "--study", name, hold=True)
    _, number = held(cluster, w3)
    cluster.workers[2].kill()  # kill -9, every process of the host
    assert victim.wait(timeout=WAIT) == -signal.SIGKILL
    wait_stale(cluster, name, number)
    for worker in workers(cluster, name, [w1, w2]):
        ended(worker)
    ended(search(cluster, w1, "run", path))
    found = assert_nothing_lost_nothing_doubled(cluster, name, 5)
    assert found[number].state == TrialState.FAIL
    (retry,) = [t for t in found if retried_number(t) == number]
    assert retry.state == TrialState.COMPLETE and retry.user_attrs["worker"].split(":")[0] in ("w1", "w2")


def test_a_worker_host_cut_off_past_the_grace_period_writes_no_second_complete(cluster):
    name = f"cut-{uuid.uuid4().hex[:6]}"
    path = start(cluster, name, 4)
    w1, w2, w3 = cluster.workers
    late = search(cluster, w3, "worker", "--study", name, "--n-trials", "1", hold=True)
    pid, number = held(cluster, w3)
    w3.set_link(False)
    try:
        wait_stale(cluster, name, number)
        ended(workers(cluster, name, [w1])[0])  # fails the cut-off trial, queues it again, runs the rest
    finally:
        w3.set_link(True)
    os.kill(pid, signal.SIGUSR1)  # the held trial trains on, and tries to end as COMPLETE
    out = ended(late, None)
    assert "Traceback" not in out, out
    ended(search(cluster, w1, "run", path))
    found = assert_nothing_lost_nothing_doubled(cluster, name, 4)
    assert found[number].state == TrialState.FAIL
    (retry,) = [t for t in found if retried_number(t) == number]
    assert retry.state == TrialState.COMPLETE


def test_the_tracking_server_restarted_mid_study_fails_the_trial_with_its_reason_and_a_resume_ends(cluster):
    name = f"mlflow-{uuid.uuid4().hex[:6]}"
    path = start(cluster, name, 4)
    w1, w2, w3 = cluster.workers
    worker = search(cluster, w2, "worker", "--study", name, "--n-trials", "1", hold=True)
    pid, number = held(cluster, w2)
    cluster.mlflow.stop()
    os.kill(pid, signal.SIGUSR1)  # its writes find no server
    out = ended(worker, 1)
    assert "could not log to MLflow run" in out and "run the same command to resume" in out
    cluster.mlflow.start()
    ended(search(cluster, w1, "run", path))  # the resume
    found = assert_nothing_lost_nothing_doubled(cluster, name, 4)
    assert found[number].state == TrialState.FAIL
    assert "could not log to MLflow run" in found[number].user_attrs["fail_reason"]


def test_postgresql_restarted_mid_study_loses_no_trial(cluster):
    name = f"pg-{uuid.uuid4().hex[:6]}"
    path = start(cluster, name, 4)
    w1, w2, w3 = cluster.workers
    worker = search(cluster, w2, "worker", "--study", name, "--n-trials", "1", hold=True)
    pid, number = held(cluster, w2)
    cluster.postgres.stop()
    time.sleep(2)  # an outage of two heartbeats, shorter than the grace period: it must not cost the trial
    cluster.postgres.start()
    os.kill(pid, signal.SIGUSR1)
    ended(worker)
    for process in workers(cluster, name, [w1, w3]):
        ended(process)
    ended(search(cluster, w1, "run", path))
    found = assert_nothing_lost_nothing_doubled(cluster, name, 4)
    assert all(t.state == TrialState.COMPLETE for t in found)
