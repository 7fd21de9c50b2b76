"""Joining a study (``python -m search worker``, search.service.join): a worker queues its share of the budget.

``run --n-trials N`` followed by workers runs exactly N and the workers' trials, on a journal file, SQLite
and PostgreSQL; a worker with nothing to do says why in one line and exits 0; the workers that ``run
--workers`` starts still take only the trials run queued.
"""

import os
import subprocess
import sys
import uuid

import optuna
import pytest
from optuna.trial import TrialState

from tests.conftest import REPO, postgres_url
from tests.search.test_scaleout import FAST, load, write

# End to end (subprocesses, MLflow stores, whole studies): `pytest -m "not slow"` leaves them out.
pytestmark = pytest.mark.slow

STAGES = [{"n_trials": 6}, {"n_trials": 4}]  # a budget of 10, in two stages as the quickstart's


@pytest.fixture(params=["journal", "sqlite", "postgresql"])
def storage(request, tmp_path):
    url = {"journal": f"journal:{tmp_path}/optuna.journal", "sqlite": f"sqlite:///{tmp_path}/optuna.db",
           "postgresql": None}[request.param]
    return url or postgres_url()


def search(folder, storage, *args, env=None):
    """``python -m search ARGS`` in ``folder`` (with ``env`` added to this process's), started (a Popen)."""
    command = [sys.executable, "-m", "search", *args, "--storage", storage,
               "--tracking-uri", f"sqlite:///{folder}/mlflow.db"]
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    environment.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(process):
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]
    return out


def complete(name, storage):
    return sum(t.state == TrialState.COMPLETE for t in load(name, storage).trials)


def test_run_2_then_two_workers_of_3_run_8_trials_then_the_rest_and_no_more(tmp_path, storage):
    name = f"join-{uuid.uuid4().hex[:8]}"
    path = write(tmp_path, name, **{**FAST, "n_trials": None, "stages": STAGES})
    finish(search(tmp_path, storage, "run", str(path), "--n-trials", "2"))
    assert complete(name, storage) == 2
    # The two-shell example: both workers at once, each with --n-trials 3.
    workers = [search(tmp_path, storage, "worker", "--study", name, "--n-trials", "3") for _ in range(2)]
    outs = [finish(worker) for worker in workers]
    assert complete(name, storage) == 2 + 3 + 3
    assert len(load(name, storage).trials) == 8  # nothing left queued
    for out in outs:  # each says its trials, and nothing else
        assert len(out.splitlines()) == 3 and all(line.startswith("trial ") for line in out.splitlines()), out

    out = finish(search(tmp_path, storage, "worker", "--study", name, "--n-trials", "5"))
    assert complete(name, storage) == 10  # never past the budget
    assert out.splitlines()[-1] == f"worker: study {name}: ran 2 trials: the study is finished: all 10 trials " \
                                   "of its budget ran"
    out = finish(search(tmp_path, storage, "worker", "--study", name))
    assert out.splitlines() == [f"worker: study {name}: nothing to do: the study is finished: all 10 trials of "
                                "its budget ran"]
    assert len(load(name, storage).trials) == 10
    if storage.startswith("postgresql"):
        optuna.delete_study(study_name=name, storage=storage)


def test_a_worker_without_n_trials_runs_the_rest_of_the_budget(tmp_path):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "rest", **FAST, n_trials=4)
    finish(search(tmp_path, storage, "run", str(path), "--n-trials", "1"))
    out = finish(search(tmp_path, storage, "worker", "--study", "rest"))
    assert complete("rest", storage) == 4
    assert out.splitlines()[-1] == "worker: study rest: ran 3 trials: the study is finished: all 4 trials of " \
                                   "its budget ran"


def test_the_workers_of_run_take_only_the_trials_run_queued(tmp_path):
    storage = f"journal:{tmp_path}/optuna.journal"
    path = write(tmp_path, "queued", **FAST, n_trials=10)
    out = finish(search(tmp_path, storage, "run", str(path), "--n-trials", "3", "--workers", "2"))
    trials = load("queued", storage).trials
    assert len(trials) == 3 and all(t.state == TrialState.COMPLETE for t in trials)
    assert "study queued: 3 trials" in out
