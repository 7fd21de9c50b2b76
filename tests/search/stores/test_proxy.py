"""Tests for search.stores.proxy: grpc:// URLs, what the proxy refuses, and its lock, heartbeat and take.

The unit tests serve an SQLite storage from a proxy in this process; the slow ones start
``python -m search storage-proxy`` over a PostgreSQL database of their own and run a study through it,
one with a worker SIGKILLed mid-trial.
"""

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager

import optuna
import pytest
from optuna.trial import TrialState

from search.cli import main
from search.stores import proxy
from search.stores.budget import BudgetSpent, Share, fill
from search.stores.locks import study_lock
from search.stores.storage import StorageError, check_url, describe, open_storage, proxied_storage
from search.trials.recovery import HEARTBEAT_STOPPED
from tests.conftest import REPO, free_port, postgres_url, tiny_study_text
from tests.search.test_join import finish, search
from tests.search.test_scaleout import FAST, HOLD, held, runs_of, write


@pytest.mark.parametrize("url, where", [("grpc://127.0.0.1:13000", ("127.0.0.1", 13000)),
                                        ("grpc://workers.lan:9/", ("workers.lan", 9))])
def test_a_proxy_url_is_a_host_and_a_port(url, where):
    assert proxy.is_proxy(url) and proxy.address(url) == where


@pytest.mark.parametrize("url, words", [
    ("grpc://127.0.0.1", "not a proxy address (give grpc://host:port)"),
    ("grpc://127.0.0.1:13000/optuna", "not a proxy address"),
    ("grpc://127.0.0.1:13000?tls=1", "not a proxy address"),
    ("grpc://127.0.0.1:port", "not a proxy address"),
    ("grpc://me:s3cret@127.0.0.1:13000", "has no authentication"),
])
def test_a_proxy_url_with_more_or_less_than_an_address_is_refused(url, words):
    with pytest.raises(proxy.ProxyError) as info:
        proxy.address(url)
    assert words in str(info.value) and "s3cret" not in str(info.value)


def test_a_proxy_that_does_not_answer_is_refused_before_anything_is_written():
    with pytest.raises(StorageError, match="no proxy answers there"):
        check_url(f"grpc://127.0.0.1:{free_port()}")


@pytest.mark.parametrize("url, words", [
    ("journal:optuna.journal", "cannot serve a journal (Optuna's proxy does not serve JournalStorage"),
    ("grpc://127.0.0.1:13000", "cannot serve another proxy"),
    (None, "no storage to serve: give --storage"),
])
def test_the_proxy_serves_an_rdb_storage_only(url, words):
    with pytest.raises(StorageError) as info:
        proxied_storage(url)
    assert words in str(info.value)


@pytest.mark.parametrize("args, words", [
    (["--storage", "journal:optuna.journal"], "cannot serve a journal"),
    (["--storage", "sqlite:///optuna.db", "--port", "70000"], "must be a port number (1 to 65535), got 70000"),
    (["--storage", "sqlite:///optuna.db", "--host", "192.0.2.1"], "cannot listen on 192.0.2.1:13000"),
])
def test_storage_proxy_bad_input_is_one_line_exit_2_and_writes_nothing(workdir, capsys, monkeypatch, args, words):
    monkeypatch.delenv("OPTUNA_STORAGE", raising=False)
    try:
        code = main(["storage-proxy", *args])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code
    lines = capsys.readouterr().err.splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and words in lines[0], lines
    assert list(workdir.iterdir()) == []


@pytest.fixture
def served(tmp_path):
    """``grpc://127.0.0.1:PORT`` of a proxy in this process over an SQLite file."""
    url = f"sqlite:///{tmp_path}/optuna.db"
    port = free_port()
    server = proxy.make_server(proxied_storage(url), {"storage": describe(url)}, "127.0.0.1", port)
    server.start()
    yield f"grpc://127.0.0.1:{port}"
    server.stop(grace=None)


def test_a_worker_takes_a_queued_trial_through_the_proxy_once_and_makes_none(served):
    study = optuna.create_study(study_name="s", storage=open_storage(served, queue_only=True))
    assert proxy.describe_proxy(served)["storage"].startswith("sqlite:///")
    assert fill(study, total=1) == 1
    waiting = study.get_trials(deepcopy=False)[0]._trial_id
    other = open_storage(served, queue_only=True)
    assert study._storage.set_trial_state_values(waiting, TrialState.RUNNING) is True
    assert other.set_trial_state_values(waiting, TrialState.RUNNING) is False  # taken already
    with pytest.raises(BudgetSpent):
        study.ask()  # nothing queued: no trial past the budget


def test_the_proxy_keeps_the_heartbeat_of_a_running_trial(served):
    storage = open_storage(served, heartbeat_interval=7)
    study = optuna.create_study(study_name="h", storage=storage)
    trial = study.ask()
    storage.record_heartbeat(trial._trial_id)
    assert optuna.storages._heartbeat.is_heartbeat_enabled(storage)
    assert storage.get_heartbeat_interval() == 7
    assert storage._get_stale_trial_ids(study._study_id) == []  # beaten just now, grace 20 s


def test_the_study_lock_has_one_holder_through_the_proxy(served):
    study = optuna.create_study(study_name="l", storage=open_storage(served))
    other = open_storage(served)
    with study_lock(study):
        assert next(other._hold(str(study._study_id).encode())) == proxy.BUSY
    with other.study_lock(study._study_id):  # waits for the release, however long the proxy takes
        pass


def test_workers_that_queue_their_own_trials_through_the_proxy_meet_the_budget_exactly(served):
    optuna.create_study(study_name="b", storage=open_storage(served))
    ran = []

    def join():  # what 'python -m search worker' does, each with a connection of its own
        study = optuna.load_study(study_name="b", storage=open_storage(served, queue_only=True))
        share = Share(total=12)
        while share.ready(study):
            try:
                trial = study.ask()
            except BudgetSpent:
                continue  # another worker took the queued one
            share.took()
            study.tell(trial, 1.0)
            ran.append(trial.number)

    workers = [threading.Thread(target=join) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    trials = optuna.load_study(study_name="b", storage=open_storage(served)).get_trials(deepcopy=False)
    assert sorted(ran) == list(range(12)) and [t.state for t in trials] == [TrialState.COMPLETE] * 12


@pytest.fixture
def database():
    """A fresh PostgreSQL database: its URL; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(postgres_url())
    name = f"proxy_{uuid.uuid4().hex[:12]}"
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'create database "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'drop database "{name}" with (force)')


@contextmanager
def serving(database, **env):
    """``python -m search storage-proxy`` over ``database`` (with ``env`` added): its ``grpc://`` URL.

    The proxy must stop cleanly on SIGTERM, saying nothing on stderr.
    """
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "search", "storage-proxy", "--storage", database,
                               "--port", str(port)], env={**os.environ, "PYTHONPATH": str(REPO), **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith(f"storage-proxy: serving {describe(database)} on grpc://127.0.0.1:{port}"), line
        yield f"grpc://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0 and err == "", err


@pytest.mark.slow
def test_a_study_through_the_proxy_meets_its_budget_with_2_workers(tmp_path, database):
    (tmp_path / "tiny.yaml").write_text(tiny_study_text("tiny", n_trials=4, epochs=1, register=False,
                                                              baselines=False))
    with serving(database) as url:
        finish(search(tmp_path, url, "run", "tiny.yaml", "--workers", "2"))
    trials = optuna.load_study(study_name="tiny", storage=database).get_trials(deepcopy=False)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4


GRACE = 5  # the proxy's: seconds without a heartbeat (the workers beat every second) before a trial is dead


def wait_until_stale(url, name, number, timeout=300):
    """Until the proxy counts trial ``number`` of study ``name`` dead (its grace period past its last beat)."""
    storage = open_storage(url)
    study = optuna.load_study(study_name=name, storage=storage)
    trial = study.get_trials(deepcopy=False)[number]
    deadline = time.monotonic() + timeout
    while trial._trial_id not in storage._get_stale_trial_ids(study._study_id):
        assert study.get_trials(deepcopy=False)[number].state == TrialState.RUNNING  # nothing else ended it
        assert time.monotonic() < deadline, f"trial {number} never became stale"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_worker_killed_mid_trial_through_the_proxy_loses_only_its_trial(tmp_path, database):
    name = f"killed-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, name, **FAST, n_trials=4)
    beat = {"SEARCH_HEARTBEAT_INTERVAL": "1"}
    held_worker = {**beat, "PYTHONPATH": f"{HOLD}{os.pathsep}{REPO}", "SEARCH_TEST_HOLD": str(tmp_path)}
    with serving(database, SEARCH_GRACE_PERIOD=str(GRACE)) as url:
        finish(search(tmp_path, url, "run", str(path), "--n-trials", "1"))
        killed = search(tmp_path, url, "worker", "--study", name, env=held_worker)
        pid, number = held(tmp_path, killed)  # its trial, in training: SIGKILL lands there
        assert pid == killed.pid
        os.kill(pid, signal.SIGKILL)
        killed.communicate(timeout=60)
        wait_until_stale(url, name, number)  # no process of this study is left to see it die
        out = finish(search(tmp_path, url, "worker", "--study", name, env=beat))
    assert out.splitlines()[-1] == f"worker: study {name}: ran 3 trials: the study is finished: all 4 trials " \
                                   "of its budget ran"
    trials = optuna.load_study(study_name=name, storage=database).trials
    lost = trials[number]
    assert lost.state == TrialState.FAIL and lost.user_attrs["fail_reason"] == HEARTBEAT_STOPPED
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == number]
    assert len(retries) == 1 and retries[0].state == TrialState.COMPLETE and retries[0].params == lost.params
    assert [t.state for t in trials if t.number != number] == [TrialState.COMPLETE] * 4  # the budget, exactly
    client, runs = runs_of(tmp_path, name)
    assert client.get_run(lost.user_attrs["mlflow_run_id"]).info.status == "FAILED"
    assert not [r for r in runs if r.info.status == "RUNNING"]
